//! The command grammar: parsing, help texts, completion candidates.
//!
//! Every command is described once in [`SYNTAX`]: its words, its parameters (a list of
//! [`Param`]s, each with the kind of [`Value`] it takes), its help and an example.
//! [`parse`], [`help`], [`complete`] and [`next_words`] all read that table, so usage
//! lines, error messages, help and completion cannot disagree. Keywords are
//! case-insensitive; names and values are taken as written.
//!
//! The grammar checks the form of a command (addresses, numbers, keywords); whether the
//! names exist and the numbers are in range is checked where the command is executed
//! (`Config::edited` for the commands that change the configuration).

use splicer_config::{Edit, HeaderMatch, Kind, Method, Mode, Predictor, Rule, ServiceState};
use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};

/// A parsed command, ready for the control core to execute.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `show ...`: read-only views of the running appliance.
    Show(Show),
    /// `virtual`, `real`, `url`, `bind`, `dip`, `link`, `backup`, `in-service`,
    /// `out-of-service`, `weight`, `predictor`, `rule add|del` and their `no` forms: a
    /// change to the running configuration, applied live.
    Edit(Edit),
    /// `save [file]`: write the running configuration as TOML, to `file` or (`None`)
    /// to the file `splicer run` was started with.
    Save(Option<String>),
    /// `clear stats`: counters shown from now on start at 0.
    ClearStats,
    /// `log level <level>`: change the log filter at runtime.
    LogLevel(LogLevel),
    /// `help [command]`: the command list, or one command's (or word's) help.
    Help(Vec<String>),
}

/// What `show` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Show {
    /// `show stats`: counters and gauges, total, per worker, per port, mempool.
    Stats,
    /// `show ports [name]`: every port, or the one named.
    Ports(Option<String>),
    /// `show workers`: every worker.
    Workers,
    /// `show virtual [name]`: every virtual (DIPs included), or the one named.
    Virtual(Option<String>),
    /// `show real [name]`: every real, or the one named.
    Real(Option<String>),
    /// `show url [name]`: every URL, or the one named.
    Url(Option<String>),
    /// `show rule [virtual]` (and `rule list <virtual>`): the content rules of every
    /// virtual, or of the one named.
    Rule(Option<String>),
    /// `show pools [real]`: the server connection pools of every real, or of the one
    /// named.
    Pools(Option<String>),
    /// `show flows [virtual V] [real R] [client IP] [limit N]`: the open client
    /// connections.
    Flows(FlowQuery),
    /// `show config`: the running configuration as TOML.
    Config,
}

/// Which client connections `show flows` lists: those matching every filter given, at
/// most `limit` of them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FlowQuery {
    /// `virtual V`: connections to this virtual (a name, or a DIP's address).
    #[serde(rename = "virtual")]
    pub virtual_id: Option<String>,
    /// `real R`: connections spliced to this real.
    pub real: Option<String>,
    /// `client IP`: connections from this address.
    pub client: Option<Ipv4Addr>,
    /// `limit N` ([`FlowQuery::DEFAULT_LIMIT`], 1..=[`FlowQuery::MAX_LIMIT`]): the most
    /// rows shown.
    pub limit: u32,
}

impl FlowQuery {
    /// `limit` when none is given.
    pub const DEFAULT_LIMIT: u32 = 100;
    /// The largest `limit`.
    pub const MAX_LIMIT: u32 = 10_000;
}

impl Default for FlowQuery {
    fn default() -> Self {
        FlowQuery {
            virtual_id: None,
            real: None,
            client: None,
            limit: Self::DEFAULT_LIMIT,
        }
    }
}

/// A level of `log level`, from the least to the most verbose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Warnings and errors.
    Warn,
    /// The default: start-up, statistics, warnings, errors.
    Info,
    /// Per-event detail.
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    /// Every level, least verbose first.
    pub const ALL: [LogLevel; 5] = [
        LogLevel::Error,
        LogLevel::Warn,
        LogLevel::Info,
        LogLevel::Debug,
        LogLevel::Trace,
    ];

    /// The keyword, which is also a valid `tracing` filter directive.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A list of existing names that completion offers (see [`Names`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pool {
    /// Virtual names.
    Virtuals,
    /// Real names.
    Reals,
    /// URL names.
    Urls,
    /// DIP addresses.
    Dips,
    /// Port names.
    Ports,
    /// The rule names of the virtual given first in the command.
    Rules,
}

impl Pool {
    /// What one of its names is, for descriptions.
    fn what(self) -> &'static str {
        match self {
            Pool::Virtuals => "virtual",
            Pool::Reals => "real",
            Pool::Urls => "url",
            Pool::Dips => "dip",
            Pool::Ports => "port",
            Pool::Rules => "rule",
        }
    }
}

/// What one value of a command is: how it is checked and what completes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// A name, taken as written; completion offers the existing names of the pools.
    Name(&'static [Pool]),
    /// The name of a virtual (or DIP), real or URL, as the kind word given first says
    /// (`in-service real s1`).
    OfKind,
    /// Text taken as written: a URL, a path, a header, a file.
    Text,
    /// `a.b.c.d:port`.
    Address,
    /// `a.b.c.d`; completion offers the DIPs when `dips`.
    Ip {
        /// Whether completion offers the DIPs' addresses.
        dips: bool,
    },
    /// A whole number (`u32`), called by the name given in errors.
    Number(&'static str),
    /// One of these keywords (case-insensitive), called by the name given in errors.
    Choice(&'static str, &'static [&'static str]),
    /// An HTTP method a rule can match (case-sensitive, like `GET`).
    Method,
    /// A log level.
    Level,
    /// Command words (`help`'s topic).
    Topic,
}

/// One parameter of a command. Labels are written as usage lines show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// Required, in its place: `<virtual>`.
    Req(&'static str, Value),
    /// Optional, after the required ones: `[name]` (the label is shown in brackets).
    Opt(&'static str, Value),
    /// One or more, up to the next keyword of the command: `<member>...`.
    Many(&'static str, Value),
    /// An optional keyword and its values, in any order after the positional
    /// parameters: `[weight <N>]`.
    Key(&'static str, &'static [(&'static str, Value)]),
    /// An optional keyword alone: `[all]`.
    Flag(&'static str),
    /// A required keyword and one or more values: `bind <member>...`.
    KeyMany(&'static str, &'static str, Value),
    /// One or more of the rule conditions of [`CONDITIONS`], each at most once.
    Conditions,
}

impl Param {
    /// The parameter as usage lines show it.
    pub fn usage(&self) -> String {
        match self {
            Param::Req(label, _) => label.to_string(),
            Param::Opt(label, _) => format!("[{label}]"),
            Param::Many(label, _) => format!("{label}..."),
            Param::Key(word, slots) => {
                let labels: Vec<&str> = slots.iter().map(|(l, _)| *l).collect();
                format!("[{word} {}]", labels.join(" "))
            }
            Param::Flag(word) => format!("[{word}]"),
            Param::KeyMany(word, label, _) => format!("{word} {label}..."),
            Param::Conditions => "<condition>...".to_string(),
        }
    }

    /// The keyword that starts it, for the keyword parameters.
    fn word(&self) -> Option<&'static str> {
        match self {
            Param::Key(w, _) | Param::Flag(w) | Param::KeyMany(w, _, _) => Some(w),
            _ => None,
        }
    }

    fn is_positional(&self) -> bool {
        matches!(self, Param::Req(..) | Param::Opt(..) | Param::Many(..))
    }
}

/// The conditions of `rule add`: all must hold for a request to match (see the
/// configuration reference, `[[virtual.rule]]`).
pub const CONDITIONS: &[Param] = &[
    Param::Key("path_prefix", &[("<p>", Value::Text)]),
    Param::Key("path_suffix", &[("<s>", Value::Text)]),
    Param::Key("host", &[("<h>", Value::Text)]),
    Param::Key("method", &[("<M>", Value::Method)]),
    Param::Key(
        "header",
        &[("<name>", Value::Text), ("<value>", Value::Text)],
    ),
];

/// The methods a rule can match (`CONNECT` is refused by the server's validation).
pub const METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE",
];

/// The kinds of `in-service` / `out-of-service`.
pub const KINDS: &[&str] = &["virtual", "real", "url"];

/// The states of `out-of-service`: every [`ServiceState`] but `in-service`.
pub const OUT_OF_SERVICE_STATES: &[&str] = match ServiceState::NAMES.split_first() {
    Some((_, rest)) => rest,
    None => &[],
};

/// What a keyword or a keyword value means, for help and the `?` listing. The states'
/// texts are those of [`ServiceState`]'s documentation.
const MEANINGS: &[(&str, &str)] = &[
    ("oos", "requests in flight finish; a client connection's next request is routed afresh; a real's idle pooled connections stay open (back in service at once)"),
    ("maintenance", "as oos, and the real's idle pooled connections are closed and not reopened, so that the server can be taken down once its last request ends"),
    ("sticky", "new client connections go elsewhere, but a client connection whose previous request this real served keeps sending its requests here (keep-alive affinity for sessions), while the real is in its request's set"),
    ("failed", "the real is gone: client connections spliced to it are reset now, and its server connections, idle and busy, are reset and closed"),
    ("splice", "splice the client connection onto a pooled server connection; binds reals"),
    ("redirect", "answer each request with a redirect to a bound URL; binds URLs"),
    ("roundrobin", "weighted round robin, spread smoothly"),
    ("path_prefix", "the path (without the query) starts with <p>"),
    ("path_suffix", "the path (without the query) ends with <s>"),
    ("host", "the request's host is <h> (case-insensitive, port ignored)"),
    ("method", "the method is <M> (case-sensitive: GET, POST...)"),
    ("header", "some header field <name> has exactly <value>"),
    ("bind", "the reals (or URLs) of matching requests"),
    ("at", "the rule's 1-based position (default: last)"),
    ("all", "every one of that kind on the same IP address"),
];

fn meaning(word: &str) -> Option<&'static str> {
    MEANINGS.iter().find(|(w, _)| *w == word).map(|(_, m)| *m)
}

/// One command of the grammar.
#[derive(Debug)]
pub struct Syntax {
    /// The keywords that select it, like `["show", "virtual"]`.
    pub words: &'static [&'static str],
    /// What follows the words.
    pub params: &'static [Param],
    /// One line for the command list.
    pub summary: &'static str,
    /// The full help text; a `\n` starts a new line.
    pub help: &'static str,
    /// A complete example, or `""`.
    pub example: &'static str,
}

impl Syntax {
    /// The parameters as usage lines show them: `[name]`, or `""`.
    pub fn usage(&self) -> String {
        let parts: Vec<String> = self.params.iter().map(Param::usage).collect();
        parts.join(" ")
    }

    /// `show virtual [name]`.
    pub fn usage_line(&self) -> String {
        let words = self.words.join(" ");
        let usage = self.usage();
        if usage.is_empty() {
            words
        } else {
            format!("{words} {usage}")
        }
    }

    /// The keyword parameter started by `word` (lower case), conditions included.
    fn keyword(&self, word: &str) -> Option<&'static Param> {
        self.params.iter().find_map(|p| match p {
            Param::Conditions => CONDITIONS.iter().find(|c| c.word() == Some(word)),
            _ if p.word() == Some(word) => Some(p),
            _ => None,
        })
    }

    fn is_keyword(&self, token: &str) -> bool {
        self.keyword(&token.to_ascii_lowercase()).is_some()
    }
}

const MEMBER: Value = Value::Name(&[Pool::Reals, Pool::Urls]);
const VIRTUAL: Value = Value::Name(&[Pool::Virtuals]);
const REAL: Value = Value::Name(&[Pool::Reals]);
const URL: Value = Value::Name(&[Pool::Urls]);
const VIRTUAL_OR_DIP: Value = Value::Name(&[Pool::Virtuals, Pool::Dips]);

/// Every command, in the order `help` lists them.
pub const SYNTAX: &[Syntax] = &[
    Syntax {
        words: &["show", "stats"],
        params: &[],
        summary: "counters: total, per worker/port (with the NIC's), per virtual/real/rule; gauges",
        help: "Shows every counter as a table with a column for the total, one per worker and \
one per port (the workers' counts on that port), grouped by what they count (packets, \
ARP/ICMP, client connections, requests, splicing, pools, responses, server connections, \
drains, drops), then the NICs' own counters, the workers' \
gauges (flows, half_open, neighbours), a table per virtual (requests, spliced, redirects, \
no_server, refused), per real (requests, responses by class, server_errors) and per content \
rule (hits; 'bind' when no rule matched), summed over the workers, and the mempool. \
Counters count from start-up or from the last 'clear stats'; gauges are current levels. \
--json gives the same as an object: total, workers[], ports[], mempool, virtuals[], reals[], \
rules[].",
        example: "",
    },
    Syntax {
        words: &["show", "ports"],
        params: &[Param::Opt("name", Value::Name(&[Pool::Ports]))],
        summary: "ports: DPDK id, driver, MAC, address, gateway, link, NIC packets",
        help: "Lists every port (or the one named): its DPDK port id, driver, MAC address, \
address/prefix, gateway, link state and the packets the NIC received and sent (since \
start-up or the last 'clear stats').",
        example: "",
    },
    Syntax {
        words: &["show", "workers"],
        params: &[],
        summary: "workers: lcore, queue, packets, flows, half-open, neighbours",
        help: "Lists every worker: its lcore, the RX/TX queue it polls on every port, the \
packets it received and sent (since start-up or the last 'clear stats'), and its gauges: \
client connections in its flow table (flows), those still half-open, neighbour entries.",
        example: "",
    },
    Syntax {
        words: &["show", "virtual"],
        params: &[Param::Opt("name", VIRTUAL_OR_DIP)],
        summary: "virtual servers and DIPs: address, port, mode, state, backup, bind, rules",
        help: "Lists every virtual server (or the one named): its kind (virtual, or dip for \
a DIP, named by its address and bound to its real), address (VIP:port), the port that \
answers ARP for the VIP (for a DIP, the port it is reached through), max_request_head, \
mode, predictor, state, backup ('-': none) and bind (the reals or URLs for requests no \
rule matches; '-' when none: such requests are answered 503). Then a table of the content \
rules, in the order they are tried: virtual, rule name, what it matches (every condition \
must hold: path_prefix, path_suffix, host, method, header) and what it binds. --json gives \
one object per virtual, its rules as in the configuration.",
        example: "show virtual www",
    },
    Syntax {
        words: &["show", "real"],
        params: &[Param::Opt("name", REAL)],
        summary: "real servers: address, weight, pool, maxconns, state, backup, what binds them",
        help: "Lists every real server (or the one named): its address, weight, pool and \
maxconns (both per worker), state, backup ('-': none) and what binds it: 'www' for the bind \
list of virtual www, 'www/img' for its rule img ('-' when nothing does: the real takes no \
request). --json gives bound_by as a list of {virtual, rule} (rule null for the bind list).",
        example: "show real s1",
    },
    Syntax {
        words: &["show", "url"],
        params: &[Param::Opt("name", URL)],
        summary: "URLs: template, code, weight, link, state, effective state, what binds them",
        help: "Lists every URL (or the one named): its template, redirect code, weight, link \
(the virtual or DIP whose state it inherits), its own state, its effective state (its own \
unless that is in-service, else the linked virtual's or DIP real's) and the virtuals that \
bind it. --json adds effective_weight (a URL linked to a DIP takes the DIP real's weight).",
        example: "show url moved",
    },
    Syntax {
        words: &["show", "rule"],
        params: &[Param::Opt("virtual", VIRTUAL)],
        summary: "content rules of every virtual (or one): position, name, match, bind",
        help: "Lists the content rules of every virtual (or of the one named), in the order \
they are tried: virtual, position (for 'rule add ... at N'), name, what the rule matches \
(every condition must hold) and what it binds. 'rule list <virtual>' is the same.",
        example: "show rule www",
    },
    Syntax {
        words: &["show", "pools"],
        params: &[Param::Opt("real", REAL)],
        summary: "connection pools per real and worker: free, busy, opening, conns, waiting",
        help: "Shows the server connection pools of every real (or of the one named): one \
row per real and worker, and with several workers a total row per real. free (idle connections ready for a request), \
busy (carrying a request or draining a response), opening (in the handshake), conns \
(every connection to the real, closing ones included) and waiting (requests waiting for \
a connection), as each worker last published them (every millisecond). pool and \
maxconns are the configured limits per worker; on the total row, for all workers \
together. These are levels: 'clear stats' does not change them.",
        example: "",
    },
    Syntax {
        words: &["show", "flows"],
        params: &[
            Param::Key("virtual", &[("<V>", VIRTUAL_OR_DIP)]),
            Param::Key("real", &[("<R>", REAL)]),
            Param::Key("client", &[("<IP>", Value::Ip { dips: false })]),
            Param::Key("limit", &[("<N>", Value::Number("limit"))]),
        ],
        summary: "open client connections: worker, client, virtual, state, real, requests, idle",
        help: "Lists the open client connections that match every filter given (to virtual \
V, spliced to real R, from client address IP): the worker that owns it, the client's \
address and port, the VIP and virtual, its state, the real it is spliced to and the local \
address of that server connection ('-': none now), the requests it carried and how long it \
has been idle. At most N rows (default 100, 1 to 10000); when more match, a last line says \
'showing N of M matching flows'.",
        example: "show flows virtual www client 203.0.113.7 limit 20",
    },
    Syntax {
        words: &["show", "config"],
        params: &[],
        summary: "the running configuration, as TOML",
        help: "Prints the running configuration as TOML, with every default filled in and \
every live change applied. Saved to a file, it loads with 'splicer run --config' to the \
same configuration ('save' does that).",
        example: "",
    },
    Syntax {
        words: &["virtual"],
        params: &[
            Param::Req("<name>", VIRTUAL),
            Param::Req("<ip:port>", Value::Address),
            Param::Key("mode", &[("splice|redirect", Value::Choice("mode", Mode::NAMES))]),
            Param::Key("predictor", &[("<p>", Value::Choice("predictor", Predictor::NAMES))]),
        ],
        summary: "add a virtual server, or change its address, mode or predictor",
        help: "Adds a virtual server listening on <ip:port>, or changes the address, mode or \
predictor of the one with that name. mode splice (the default) splices requests to bound \
reals; mode redirect answers them with a redirect to a bound URL. The port whose subnet \
holds the address answers ARP for it. Bind members with 'bind'.",
        example: "virtual www 198.18.0.100:80 mode splice predictor roundrobin",
    },
    Syntax {
        words: &["no", "virtual"],
        params: &[Param::Req("<name>", VIRTUAL)],
        summary: "remove a virtual server",
        help: "Removes the virtual server: it takes no new connection; its open client \
connections finish their current request. Fails while a URL links to it or something \
has it as backup.",
        example: "no virtual www",
    },
    Syntax {
        words: &["real"],
        params: &[
            Param::Req("<name>", REAL),
            Param::Req("<ip:port>", Value::Address),
            Param::Key("weight", &[("<N>", Value::Number("weight"))]),
            Param::Key("pool", &[("<N>", Value::Number("pool"))]),
            Param::Key("maxconns", &[("<N>", Value::Number("maxconns"))]),
        ],
        summary: "add a real server, or change its address, weight, pool or maxconns",
        help: "Adds a real server at <ip:port>, or changes the one with that name. weight \
(0 to 1000, default 1) is its share of the requests of a set it is in (0: none); pool \
(0 to 1024, default 4) the idle connections each worker keeps open to it; maxconns (1 to \
65535, default 64, at least pool) the most connections each worker opens to it.",
        example: "real s1 198.19.0.11:80 weight 5 pool 4 maxconns 64",
    },
    Syntax {
        words: &["no", "real"],
        params: &[Param::Req("<name>", REAL)],
        summary: "remove a real server",
        help: "Removes the real server. Fails while a virtual or rule binds it, a DIP is \
made for it, or something has it as backup: 'no bind' it first.",
        example: "no real s1",
    },
    Syntax {
        words: &["url"],
        params: &[
            Param::Req("<url_id>", URL),
            Param::Req("<url_string>", Value::Text),
            Param::Opt("code", Value::Number("code")),
        ],
        summary: "add a redirect URL (for redirect virtuals and backups), or change one",
        help: "Adds the URL <url_id>, or changes it: <url_string> (http:// or https://, no \
spaces) is where redirects send clients, code (301, 302, 303, 307 or 308; default 302) \
their status. Macros in <url_string> keep parts of the request:\n\
%h  the request's host\n\
%s  the port the client connected to\n\
%d  the requested document (path and query, without the leading /)\n\
%%  a %\n\
A redirect virtual binds URLs; a URL may also be a backup.",
        example: "url moved http://%h:8080/new/%d 301",
    },
    Syntax {
        words: &["no", "url"],
        params: &[Param::Req("<url_id>", URL)],
        summary: "remove a URL",
        help: "Removes the URL. Fails while a virtual binds it or something has it as \
backup.",
        example: "no url moved",
    },
    Syntax {
        words: &["bind"],
        params: &[
            Param::Req("<virtual>", VIRTUAL),
            Param::Many("<real|url>", MEMBER),
        ],
        summary: "add reals (splice mode) or URLs (redirect mode) to a virtual's bind list",
        help: "Appends the reals (to a splice virtual) or URLs (to a redirect virtual) to the \
virtual's bind list: the members for requests no content rule matches. New connections \
use the new list at once.",
        example: "bind www s1 s2",
    },
    Syntax {
        words: &["no", "bind"],
        params: &[
            Param::Req("<virtual>", VIRTUAL),
            Param::Many("<real|url>", MEMBER),
        ],
        summary: "remove reals or URLs from a virtual's bind list",
        help: "Removes the members from the virtual's bind list. Requests in flight to them \
finish; with an empty list, requests no rule matches are answered 503.",
        example: "no bind www s2",
    },
    Syntax {
        words: &["dip"],
        params: &[
            Param::Req("<ip>", Value::Ip { dips: false }),
            Param::Key("port", &[("<name>", Value::Name(&[Pool::Ports]))]),
        ],
        summary: "make a directed IP: a virtual with a real's address, spliced 1:1 to it",
        help: "Makes a DIP for the one real whose address is <ip>: a virtual with the same \
address, listening on the real's TCP port, bound 1:1 to that real; it shares the real's \
weight, state and backup. port names the port clients reach it through (default: the \
port that owns the first virtual). 'show virtual' lists it as kind dip, named by <ip>.",
        example: "dip 198.19.0.11 port outside",
    },
    Syntax {
        words: &["no", "dip"],
        params: &[Param::Req("<ip>", Value::Ip { dips: true })],
        summary: "remove a DIP",
        help: "Removes the DIP with that address (the real stays). Fails while a URL links \
to it.",
        example: "no dip 198.19.0.11",
    },
    Syntax {
        words: &["link"],
        params: &[
            Param::Req("<url_id>", URL),
            Param::Req("<virtual|dip>", VIRTUAL_OR_DIP),
        ],
        summary: "make a URL inherit a virtual's (or DIP's) state",
        help: "Links the URL to a virtual (by name) or a DIP (by address): the URL takes no \
redirect while that is out of service, and a URL linked to a DIP takes the weight of the \
DIP's real.",
        example: "link moved www",
    },
    Syntax {
        words: &["no", "link"],
        params: &[Param::Req("<url_id>", URL)],
        summary: "unlink a URL",
        help: "Removes the URL's link: it keeps its own state and weight only.",
        example: "no link moved",
    },
    Syntax {
        words: &["backup"],
        params: &[
            Param::Req("<real|virtual>", Value::Name(&[Pool::Reals, Pool::Virtuals])),
            Param::Req(
                "<real|virtual|url>",
                Value::Name(&[Pool::Reals, Pool::Virtuals, Pool::Urls]),
            ),
        ],
        summary: "where new connections go while a real or virtual is out of service",
        help: "Sets the backup of a real (for its DIP) or virtual: while it is out of \
service, or none of its members can take a connection, new connections go to the backup \
(a real, a virtual, or a URL that answers with a redirect).",
        example: "backup www moved",
    },
    Syntax {
        words: &["no", "backup"],
        params: &[Param::Req(
            "<real|virtual>",
            Value::Name(&[Pool::Reals, Pool::Virtuals]),
        )],
        summary: "remove a real's or virtual's backup",
        help: "Removes the backup: while out of service, new connections are refused.",
        example: "no backup www",
    },
    Syntax {
        words: &["in-service"],
        params: &[
            Param::Req("virtual|real|url", Value::Choice("kind", KINDS)),
            Param::Req("<id>", Value::OfKind),
            Param::Flag("all"),
        ],
        summary: "put a virtual, real or URL back in service",
        help: "Puts the virtual (or DIP, by its address), real or URL back in service: it \
takes new requests at once. With all: every virtual or real with the same IP address \
(not for URLs).",
        example: "in-service real s1",
    },
    Syntax {
        words: &["out-of-service"],
        params: &[
            Param::Req("virtual|real|url", Value::Choice("kind", KINDS)),
            Param::Req("<id>", Value::OfKind),
            Param::Opt(
                "oos|maintenance|sticky|failed",
                Value::Choice("state", OUT_OF_SERVICE_STATES),
            ),
            Param::Flag("all"),
        ],
        summary: "take a virtual, real or URL out of service (oos, maintenance, sticky, failed)",
        help: "Takes the virtual (or DIP, by its address), real or URL out of service: it \
gets no new request (new connections go to its backup, if any). The state (default oos) \
says what happens to the work it already has. With all: every virtual or real with the \
same IP address (not for URLs).",
        example: "out-of-service real s1 maintenance",
    },
    Syntax {
        words: &["weight"],
        params: &[
            Param::Req("<real|url>", MEMBER),
            Param::Req("<N>", Value::Number("weight")),
        ],
        summary: "change a real's (or unlinked URL's) weight",
        help: "Sets the weight (0 to 1000) of a real, or of a URL not linked to a DIP: its \
share of the requests (or redirects) of a set it is in; 0 takes none. Takes effect for \
the next request.",
        example: "weight s1 5",
    },
    Syntax {
        words: &["predictor"],
        params: &[
            Param::Req("<virtual>", VIRTUAL),
            Param::Req("<p>", Value::Choice("predictor", Predictor::NAMES)),
        ],
        summary: "change how a virtual chooses among its members",
        help: "Sets the virtual's predictor: how a member is chosen inside the set a request \
selects.",
        example: "predictor www roundrobin",
    },
    Syntax {
        words: &["rule", "add"],
        params: &[
            Param::Req("<virtual>", VIRTUAL),
            Param::Req("<name>", Value::Text),
            Param::Conditions,
            Param::KeyMany("bind", "<member>", MEMBER),
            Param::Key("at", &[("<N>", Value::Number("at"))]),
        ],
        summary: "add a content rule to a virtual",
        help: "Adds the content rule <name> to the virtual, last or at 1-based position N: \
requests that meet every condition go to its bind members (reals for a splice virtual, \
URLs for a redirect one). Conditions, each at most once:\n\
path_prefix <p>        the path (without the query) starts with <p> (which starts with /)\n\
path_suffix <s>        the path (without the query) ends with <s>\n\
host <h>               the request's host is <h> (case-insensitive, a port ignored)\n\
method <M>             the method is <M> (case-sensitive: GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH, TRACE)\n\
header <name> <value>  some header field <name> has exactly <value>\n\
Values are single words; the bind list ends at 'at'.",
        example: "rule add www img path_prefix /img/ method GET bind s2 s3 at 1",
    },
    Syntax {
        words: &["rule", "del"],
        params: &[
            Param::Req("<virtual>", VIRTUAL),
            Param::Req("<name>", Value::Name(&[Pool::Rules])),
        ],
        summary: "remove a content rule from a virtual",
        help: "Removes the virtual's content rule <name>; the rules after it move up.",
        example: "rule del www img",
    },
    Syntax {
        words: &["rule", "list"],
        params: &[Param::Req("<virtual>", VIRTUAL)],
        summary: "the content rules of a virtual (as 'show rule <virtual>')",
        help: "Lists the virtual's content rules in the order they are tried: position, \
name, what each matches and what it binds. The same as 'show rule <virtual>'.",
        example: "rule list www",
    },
    Syntax {
        words: &["save"],
        params: &[Param::Opt("file", Value::Text)],
        summary: "write the running configuration as TOML",
        help: "Writes the running configuration, every live change included, as TOML that \
'splicer run --config' loads to the same configuration: to file, or by default to the \
file 'splicer run' was started with. Changes made with commands are lost at a restart \
unless saved.",
        example: "save /etc/splicer/splicer.toml",
    },
    Syntax {
        words: &["clear", "stats"],
        params: &[],
        summary: "counters shown from now on start at 0",
        help: "Counters shown by 'show stats', 'show ports', 'show workers' and the \
periodic 'stats' log lines start again from 0. The workers' own counters are not touched: \
the control core keeps the values at the time of the clear and subtracts them, so the \
Prometheus metrics (which must only grow) keep counting from start-up. Gauges and the \
mempool are levels and are not affected.",
        example: "",
    },
    Syntax {
        words: &["log", "level"],
        params: &[Param::Req("<error|warn|info|debug|trace>", Value::Level)],
        summary: "change the log level at runtime",
        help: "Sets the log filter to the given level for the whole process, from now on \
(it replaces a filter given with RUST_LOG or --log-level). Not saved: a restart uses the \
configured level again.",
        example: "log level debug",
    },
    Syntax {
        words: &["help"],
        params: &[Param::Opt("command", Value::Topic)],
        summary: "the list of commands, or the help of one",
        help: "'help' lists every command; 'help show' the commands starting with 'show'; \
'help show virtual' that command's full help. In the shell, a line ending with '?' lists \
what can follow, and Tab completes command words, keywords and names.",
        example: "",
    },
];

/// Why a line is not a valid command. The message names what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

fn error<T>(message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(message.into()))
}

/// The message for `log level` with a missing or unknown level.
pub const LEVEL_ERROR: &str = "log level must be one of error, warn, info, debug, trace";

/// The words that may follow `prefix` (distinct, in table order).
fn words_after(prefix: &[&str]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for s in SYNTAX {
        if s.words.len() > prefix.len() && s.words[..prefix.len()] == *prefix {
            let w = s.words[prefix.len()];
            if !out.contains(&w) {
                out.push(w);
            }
        }
    }
    out
}

/// Edit distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

/// The closest candidate: a unique prefix match, or the nearest within 2 edits.
fn suggestion<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let prefixed: Vec<_> = candidates
        .iter()
        .filter(|c| !word.is_empty() && c.starts_with(word))
        .collect();
    if let [only] = prefixed.as_slice() {
        return Some(only);
    }
    candidates
        .iter()
        .map(|c| (distance(word, c), *c))
        .filter(|&(d, _)| d <= 2)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

fn one_of(words: &[&str]) -> String {
    words.join(", ")
}

/// Resolves the keywords at the start of `tokens` to a command of [`SYNTAX`], returning
/// it and the tokens after its words.
fn resolve(tokens: &[String]) -> Result<(&'static Syntax, &[String]), ParseError> {
    let mut prefix: Vec<&'static str> = Vec::new();
    loop {
        if let Some(s) = SYNTAX.iter().find(|s| s.words == prefix.as_slice()) {
            return Ok((s, &tokens[prefix.len()..]));
        }
        let next = words_after(&prefix);
        let Some(token) = tokens.get(prefix.len()) else {
            return error(format!(
                "'{}' needs one of: {}",
                prefix.join(" "),
                one_of(&next)
            ));
        };
        let word = token.to_ascii_lowercase();
        match next.iter().find(|w| **w == word) {
            Some(w) => prefix.push(w),
            None => {
                let written = tokens[..=prefix.len()].join(" ");
                let hint = match suggestion(&word, &next) {
                    Some(s) => {
                        let mut fixed = prefix.clone();
                        fixed.push(s);
                        format!("did you mean '{}'?", fixed.join(" "))
                    }
                    None if prefix.is_empty() => "type 'help' for the list of commands".to_string(),
                    None => format!(
                        "'{}' is followed by one of: {}",
                        prefix.join(" "),
                        one_of(&next)
                    ),
                };
                return error(format!("unknown command '{written}'; {hint}"));
            }
        }
    }
}

/// One value of a command, checked.
#[derive(Debug, Clone, PartialEq)]
enum Got {
    Text(String),
    Address(SocketAddrV4),
    Ip(Ipv4Addr),
    Number(u32),
    /// A keyword of a [`Value::Choice`], as the table spells it.
    Word(&'static str),
    Method(Method),
    Level(LogLevel),
}

/// The checked arguments of a command: the positional parameters' values, in order,
/// and the keywords given with their values.
#[derive(Debug, Default)]
struct Args {
    positional: Vec<Vec<Got>>,
    keys: Vec<(&'static str, Vec<Got>)>,
}

impl Args {
    fn values(&self, i: usize) -> &[Got] {
        self.positional.get(i).map_or(&[], Vec::as_slice)
    }

    fn key(&self, word: &str) -> Option<&[Got]> {
        self.keys
            .iter()
            .find(|(w, _)| *w == word)
            .map(|(_, v)| v.as_slice())
    }

    fn has(&self, word: &str) -> bool {
        self.key(word).is_some()
    }

    fn text(&self, i: usize) -> String {
        self.opt_text(i).unwrap_or_default()
    }

    fn opt_text(&self, i: usize) -> Option<String> {
        self.values(i).first().and_then(Got::text)
    }

    fn texts(&self, i: usize) -> Vec<String> {
        self.values(i).iter().filter_map(Got::text).collect()
    }

    fn key_text(&self, word: &str) -> Option<String> {
        self.key(word).and_then(|v| v.first()).and_then(Got::text)
    }
}

impl Got {
    fn text(&self) -> Option<String> {
        match self {
            Got::Text(t) => Some(t.clone()),
            _ => None,
        }
    }
    fn address(&self) -> Option<SocketAddrV4> {
        match self {
            Got::Address(a) => Some(*a),
            _ => None,
        }
    }
    fn ip(&self) -> Option<Ipv4Addr> {
        match self {
            Got::Ip(a) => Some(*a),
            _ => None,
        }
    }
    fn number(&self) -> Option<u32> {
        match self {
            Got::Number(n) => Some(*n),
            _ => None,
        }
    }
    fn word(&self) -> Option<&'static str> {
        match self {
            Got::Word(w) => Some(w),
            _ => None,
        }
    }
}

/// What may come after the tokens walked: a value of a parameter (shown as `label`),
/// or a keyword parameter not given yet.
#[derive(Debug, Clone, PartialEq)]
enum Next {
    Value(String, Value),
    Keyword(&'static Param),
}

/// What a command still needs after the tokens walked.
#[derive(Debug, Clone, PartialEq)]
enum Missing {
    /// A positional value.
    Value(&'static str, Value),
    /// The value `label` of keyword `word`.
    After(&'static str, &'static str),
    /// A required keyword parameter.
    Keyword(&'static Param),
    /// A rule condition.
    Condition,
}

/// The arguments of a command walked, all of them well-formed.
#[derive(Debug)]
struct Walk {
    args: Args,
    /// What may follow.
    next: Vec<Next>,
    /// What must still follow, if anything.
    missing: Option<Missing>,
}

/// Checks one value.
fn value(syntax: &Syntax, v: Value, token: &str) -> Result<Got, ParseError> {
    match v {
        Value::Name(_) | Value::OfKind | Value::Text | Value::Topic => {
            Ok(Got::Text(token.to_string()))
        }
        Value::Address => match token.parse() {
            Ok(a) => Ok(Got::Address(a)),
            Err(_) => error(format!(
                "expected an address like 198.18.0.100:80, got {token}"
            )),
        },
        Value::Ip { .. } => match token.parse() {
            Ok(a) => Ok(Got::Ip(a)),
            Err(_) => error(format!(
                "expected an IP address like 198.19.0.11, got {token}"
            )),
        },
        Value::Number(noun) => match token.parse::<u32>() {
            Ok(n) => Ok(Got::Number(n)),
            Err(e) if *e.kind() == std::num::IntErrorKind::PosOverflow => error(format!(
                "{noun} {token} is too large (at most {})",
                u32::MAX
            )),
            Err(_) => error(format!(
                "{noun} must be a whole number, like {}",
                syntax.example
            )),
        },
        Value::Choice(noun, names) => {
            let lower = token.to_ascii_lowercase();
            match names.iter().find(|n| **n == lower) {
                Some(n) => Ok(Got::Word(n)),
                None => error(format!("unknown {noun} {token}; one of {}", one_of(names))),
            }
        }
        Value::Method => match Method::from_token(token) {
            Method::Other => error(format!(
                "unknown method {token}; one of {} (methods are case-sensitive)",
                one_of(METHODS)
            )),
            m => Ok(Got::Method(m)),
        },
        Value::Level => {
            let wanted = token.to_ascii_lowercase();
            match LogLevel::ALL.into_iter().find(|l| l.as_str() == wanted) {
                Some(l) => Ok(Got::Level(l)),
                None => error(format!("{LEVEL_ERROR}, got '{token}'")),
            }
        }
    }
}

/// The keyword parameters of `syntax` not in `used`, conditions included.
fn unused_keywords(syntax: &Syntax, used: &[&str]) -> Vec<Next> {
    let mut out = Vec::new();
    for p in syntax.params {
        let group: &'static [Param] = match p {
            Param::Conditions => CONDITIONS,
            _ => std::slice::from_ref(p),
        };
        for k in group {
            if k.word().is_some_and(|w| !used.contains(&w)) {
                out.push(Next::Keyword(k));
            }
        }
    }
    out
}

/// Walks the arguments of `syntax`: checks every token, and says what may and what must
/// follow. Fails on the first token that is wrong.
fn walk(syntax: &Syntax, tokens: &[String]) -> Result<Walk, ParseError> {
    let mut args = Args::default();
    let mut i = 0;
    // Values that may continue a list the tokens ended in.
    let mut open: Vec<Next> = Vec::new();
    let done = |args: Args, next: Vec<Next>, missing: Missing| {
        Ok(Walk {
            args,
            next,
            missing: Some(missing),
        })
    };
    for p in syntax.params.iter().filter(|p| p.is_positional()) {
        match *p {
            Param::Req(label, v) => match tokens.get(i) {
                Some(t) if !syntax.is_keyword(t) => {
                    args.positional.push(vec![value(syntax, v, t)?]);
                    i += 1;
                }
                _ => {
                    let next = vec![Next::Value(label.to_string(), v)];
                    if i == tokens.len() {
                        return done(args, next, Missing::Value(label, v));
                    }
                    return error(missing_message(syntax, &Missing::Value(label, v)));
                }
            },
            Param::Many(label, v) => {
                let mut got = Vec::new();
                while let Some(t) = tokens.get(i).filter(|t| !syntax.is_keyword(t)) {
                    got.push(value(syntax, v, t)?);
                    i += 1;
                }
                if got.is_empty() {
                    if i == tokens.len() {
                        let next = vec![Next::Value(label.to_string(), v)];
                        return done(args, next, Missing::Value(label, v));
                    }
                    return error(missing_message(syntax, &Missing::Value(label, v)));
                }
                args.positional.push(got);
                if i == tokens.len() {
                    open.push(Next::Value(label.to_string(), v));
                }
            }
            Param::Opt(label, v) => match tokens.get(i) {
                Some(t) if !syntax.is_keyword(t) => {
                    args.positional.push(vec![value(syntax, v, t)?]);
                    i += 1;
                }
                other => {
                    args.positional.push(Vec::new());
                    if other.is_none() {
                        open.push(Next::Value(format!("[{label}]"), v));
                    }
                }
            },
            _ => {}
        }
    }
    let mut used: Vec<&'static str> = Vec::new();
    while let Some(token) = tokens.get(i) {
        let word = token.to_ascii_lowercase();
        let Some(param) = syntax.keyword(&word) else {
            return error(unexpected(syntax, &tokens[i..], tokens));
        };
        let word = param.word().unwrap_or_default();
        if used.contains(&word) {
            return error(format!("'{word}' is given twice"));
        }
        used.push(word);
        i += 1;
        let mut got = Vec::new();
        match *param {
            Param::Key(_, slots) => {
                for &(label, v) in slots {
                    match tokens.get(i) {
                        Some(t) if !syntax.is_keyword(t) => got.push(value(syntax, v, t)?),
                        Some(_) => {
                            return error(missing_message(syntax, &Missing::After(word, label)))
                        }
                        None => {
                            let next = vec![Next::Value(label.to_string(), v)];
                            return done(args, next, Missing::After(word, label));
                        }
                    }
                    i += 1;
                }
            }
            Param::KeyMany(_, label, v) => {
                while let Some(t) = tokens.get(i).filter(|t| !syntax.is_keyword(t)) {
                    got.push(value(syntax, v, t)?);
                    i += 1;
                }
                if i == tokens.len() {
                    let next = vec![Next::Value(label.to_string(), v)];
                    if got.is_empty() {
                        return done(args, next, Missing::After(word, label));
                    }
                    open = next;
                } else if got.is_empty() {
                    return error(missing_message(syntax, &Missing::After(word, label)));
                }
            }
            _ => {}
        }
        if i < tokens.len() {
            open.clear();
        }
        args.keys.push((word, got));
    }
    let missing = syntax.params.iter().find_map(|p| match p {
        Param::KeyMany(w, ..) if !used.contains(w) => Some(Missing::Keyword(p)),
        Param::Conditions
            if !CONDITIONS
                .iter()
                .any(|c| c.word().is_some_and(|w| used.contains(&w))) =>
        {
            Some(Missing::Condition)
        }
        _ => None,
    });
    let mut next = open;
    next.extend(unused_keywords(syntax, &used));
    Ok(Walk {
        args,
        next,
        missing,
    })
}

/// The message for tokens the command does not take (`rest`, the last of `all`).
fn unexpected(syntax: &Syntax, rest: &[String], all: &[String]) -> String {
    let name = syntax.words.join(" ");
    match syntax.params {
        [] => format!(
            "too many arguments: '{name}' takes no argument, got '{}'",
            all.join(" ")
        ),
        [Param::Req(..) | Param::Opt(..)] => format!(
            "too many arguments: '{name}' takes at most one argument ({}), got '{}'",
            syntax.usage(),
            all.join(" ")
        ),
        _ => format!(
            "unexpected '{}'; usage: {}",
            rest.first().map_or("", String::as_str),
            syntax.usage_line()
        ),
    }
}

fn missing_message(syntax: &Syntax, missing: &Missing) -> String {
    let usage = syntax.usage_line();
    match missing {
        Missing::Value(_, Value::Level) => LEVEL_ERROR.to_string(),
        Missing::Value(label, _) => format!("missing {label}; usage: {usage}"),
        Missing::After(word, label) => {
            format!("missing {label} after '{word}'; usage: {usage}")
        }
        Missing::Keyword(p) => format!("missing {}; usage: {usage}", p.usage()),
        Missing::Condition => {
            let conditions: Vec<String> = CONDITIONS
                .iter()
                .map(|c| c.usage().trim_matches(['[', ']']).to_string())
                .collect();
            format!(
                "missing a condition ({}); usage: {usage}",
                conditions.join(", ")
            )
        }
    }
}

/// Parses one line of command text.
pub fn parse(line: &str) -> Result<Command, ParseError> {
    let tokens: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    if tokens.is_empty() {
        return error("empty command; type 'help' for the list of commands");
    }
    let (syntax, rest) = resolve(&tokens)?;
    if syntax.words == ["help"] {
        // The topic must name commands: `help shwo` gets the same hint as `shwo`.
        let words: Vec<String> = rest.iter().map(|a| a.to_ascii_lowercase()).collect();
        if !words.is_empty() {
            topic(&words)?;
        }
        return Ok(Command::Help(words));
    }
    let walked = walk(syntax, rest)?;
    if let Some(missing) = &walked.missing {
        return error(missing_message(syntax, missing));
    }
    build(syntax, walked.args)
}

/// The command of `syntax` with its checked arguments.
fn build(syntax: &Syntax, a: Args) -> Result<Command, ParseError> {
    let first = |i: usize| a.values(i).first();
    let number = |v: Option<&[Got]>| v.and_then(|v| v.first()).and_then(Got::number);
    let kind = || match first(0).and_then(Got::word) {
        Some("real") => Kind::Real,
        Some("url") => Kind::Url,
        _ => Kind::Virtual,
    };
    let edit = |e: Edit| Ok(Command::Edit(e));
    match syntax.words {
        ["show", "stats"] => Ok(Command::Show(Show::Stats)),
        ["show", "ports"] => Ok(Command::Show(Show::Ports(a.opt_text(0)))),
        ["show", "workers"] => Ok(Command::Show(Show::Workers)),
        ["show", "virtual"] => Ok(Command::Show(Show::Virtual(a.opt_text(0)))),
        ["show", "real"] => Ok(Command::Show(Show::Real(a.opt_text(0)))),
        ["show", "url"] => Ok(Command::Show(Show::Url(a.opt_text(0)))),
        ["show", "rule"] => Ok(Command::Show(Show::Rule(a.opt_text(0)))),
        ["rule", "list"] => Ok(Command::Show(Show::Rule(a.opt_text(0)))),
        ["show", "pools"] => Ok(Command::Show(Show::Pools(a.opt_text(0)))),
        ["show", "config"] => Ok(Command::Show(Show::Config)),
        ["show", "flows"] => {
            let limit = number(a.key("limit")).unwrap_or(FlowQuery::DEFAULT_LIMIT);
            if !(1..=FlowQuery::MAX_LIMIT).contains(&limit) {
                return error(format!(
                    "limit must be 1 to {}, got {limit}",
                    FlowQuery::MAX_LIMIT
                ));
            }
            Ok(Command::Show(Show::Flows(FlowQuery {
                virtual_id: a.key_text("virtual"),
                real: a.key_text("real"),
                client: a.key("client").and_then(|v| v.first()).and_then(Got::ip),
                limit,
            })))
        }
        ["save"] => Ok(Command::Save(a.opt_text(0))),
        ["clear", "stats"] => Ok(Command::ClearStats),
        ["log", "level"] => match first(0) {
            Some(Got::Level(l)) => Ok(Command::LogLevel(*l)),
            _ => error(LEVEL_ERROR),
        },
        ["virtual"] => edit(Edit::Virtual {
            name: a.text(0),
            address: address(first(1)),
            mode: a
                .key("mode")
                .and_then(|v| v.first()?.word())
                .and_then(Mode::from_name),
            predictor: a
                .key("predictor")
                .and_then(|v| v.first()?.word())
                .and_then(Predictor::from_name),
        }),
        ["no", "virtual"] => edit(Edit::NoVirtual { id: a.text(0) }),
        ["real"] => edit(Edit::Real {
            name: a.text(0),
            address: address(first(1)),
            weight: number(a.key("weight")),
            pool: number(a.key("pool")),
            maxconns: number(a.key("maxconns")),
        }),
        ["no", "real"] => edit(Edit::NoReal { id: a.text(0) }),
        ["url"] => edit(Edit::Url {
            name: a.text(0),
            url: a.text(1),
            code: first(2).and_then(Got::number),
        }),
        ["no", "url"] => edit(Edit::NoUrl { id: a.text(0) }),
        ["bind"] => edit(Edit::Bind {
            virtual_id: a.text(0),
            members: a.texts(1),
        }),
        ["no", "bind"] => edit(Edit::NoBind {
            virtual_id: a.text(0),
            members: a.texts(1),
        }),
        ["dip"] => edit(Edit::Dip {
            address: ip(first(0)),
            port: a.key_text("port"),
        }),
        ["no", "dip"] => edit(Edit::NoDip {
            address: ip(first(0)),
        }),
        ["link"] => edit(Edit::Link {
            url: a.text(0),
            target: a.text(1),
        }),
        ["no", "link"] => edit(Edit::NoLink { url: a.text(0) }),
        ["backup"] => edit(Edit::Backup {
            id: a.text(0),
            backup: a.text(1),
        }),
        ["no", "backup"] => edit(Edit::NoBackup { id: a.text(0) }),
        ["in-service"] => edit(Edit::InService {
            kind: kind(),
            id: a.text(1),
            all: a.has("all"),
        }),
        ["out-of-service"] => edit(Edit::OutOfService {
            kind: kind(),
            id: a.text(1),
            state: first(2)
                .and_then(Got::word)
                .and_then(ServiceState::from_name)
                .unwrap_or(ServiceState::OutOfService),
            all: a.has("all"),
        }),
        ["weight"] => edit(Edit::Weight {
            id: a.text(0),
            weight: first(1).and_then(Got::number).unwrap_or_default(),
        }),
        ["predictor"] => edit(Edit::Predictor {
            virtual_id: a.text(0),
            predictor: first(1)
                .and_then(Got::word)
                .and_then(Predictor::from_name)
                .unwrap_or_default(),
        }),
        ["rule", "add"] => {
            let bind = a
                .key("bind")
                .unwrap_or_default()
                .iter()
                .filter_map(Got::text)
                .collect();
            let text = |word: &str| a.key_text(word);
            let header = a.key("header").and_then(|v| match v {
                [Got::Text(name), Got::Text(value)] => Some(HeaderMatch {
                    name: name.clone(),
                    value: value.clone(),
                }),
                _ => None,
            });
            let rule = Rule {
                path_prefix: text("path_prefix"),
                path_suffix: text("path_suffix"),
                host: text("host"),
                method: a.key("method").and_then(|v| match v.first() {
                    Some(Got::Method(m)) => Some(*m),
                    _ => None,
                }),
                header,
                ..Rule::new(a.text(1), bind)
            };
            edit(Edit::RuleAdd {
                virtual_id: a.text(0),
                rule,
                at: number(a.key("at")),
            })
        }
        ["rule", "del"] => edit(Edit::RuleDel {
            virtual_id: a.text(0),
            rule: a.text(1),
        }),
        other => error(format!("'{}' is not a command", other.join(" "))),
    }
}

// A checked address or IP is always there: these only stand in for a table mistake,
// which the tests of every command would catch.
fn address(got: Option<&Got>) -> SocketAddrV4 {
    got.and_then(Got::address)
        .unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))
}

fn ip(got: Option<&Got>) -> Ipv4Addr {
    got.and_then(Got::ip).unwrap_or(Ipv4Addr::UNSPECIFIED)
}

/// The commands a help topic covers: the commands whose words start with `words`, or the
/// one command `words` starts with (extra words are its arguments: `help show virtual www`).
fn topic(words: &[String]) -> Result<Vec<&'static Syntax>, ParseError> {
    let matching: Vec<_> = SYNTAX
        .iter()
        .filter(|s| s.words.len() >= words.len() && s.words.iter().zip(words).all(|(a, b)| *a == b))
        .collect();
    if !matching.is_empty() {
        return Ok(matching);
    }
    let (syntax, _) = resolve(words)?;
    Ok(vec![syntax])
}

/// The full help of one command: usage, text, what its keyword values mean, example.
fn one_help(s: &Syntax) -> String {
    let mut out = format!("{}\n\n{}", s.usage_line(), wrap(s.help, 78));
    let mut values: Vec<(String, &str)> = Vec::new();
    for p in s.params {
        let choices = match p {
            Param::Req(_, Value::Choice(noun, names))
            | Param::Opt(_, Value::Choice(noun, names)) => Some((*noun, *names)),
            Param::Key(_, [(_, Value::Choice(noun, names))]) => Some((*noun, *names)),
            _ => None,
        };
        for (noun, names) in choices.into_iter() {
            for name in names {
                if let Some(m) = meaning(name) {
                    values.push((format!("{noun} {name}"), m));
                }
            }
        }
        if let Param::Flag(w) = p {
            if let Some(m) = meaning(w) {
                values.push((w.to_string(), m));
            }
        }
    }
    if !values.is_empty() {
        let width = values.iter().map(|(v, _)| v.len()).max().unwrap_or(0);
        out.push('\n');
        for (v, m) in values {
            let line = format!("{v:width$}  {m}");
            out.push('\n');
            out.push_str(&wrap_indented(&line, 78, width + 2));
        }
    }
    if !s.example.is_empty() {
        out.push_str(&format!("\n\nExample: {}", s.example));
    }
    out
}

/// The help for `topic` (`[]` for the list of every command).
pub fn help(topic_words: &[String]) -> Result<String, ParseError> {
    // A usage line longer than LIST_WIDTH has its summary on the next line.
    const LIST_WIDTH: usize = 40;
    let list = |entries: &[&Syntax]| {
        let width = entries
            .iter()
            .map(|s| s.usage_line().len())
            .filter(|&w| w <= LIST_WIDTH)
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        for s in entries {
            let usage = s.usage_line();
            if usage.len() > width {
                out.push_str(&format!("  {usage}\n  {:width$}  {}\n", "", s.summary));
            } else {
                out.push_str(&format!("  {usage:width$}  {}\n", s.summary));
            }
        }
        out
    };
    if topic_words.is_empty() {
        let all: Vec<_> = SYNTAX.iter().collect();
        return Ok(format!(
            "Commands:\n{}\n'help <command>' explains one; in the shell, Tab completes and '?' lists what can follow.",
            list(&all)
        ));
    }
    let entries = topic(topic_words)?;
    if let [one] = entries.as_slice() {
        return Ok(one_help(one));
    }
    Ok(list(&entries).trim_end().to_string())
}

/// Fills `text` to `width` columns; a `\n` in it starts a new line, whose continuation
/// lines are indented under its second column when it has one (two spaces apart).
fn wrap(text: &str, width: usize) -> String {
    text.split('\n')
        .map(|line| {
            let indent = line.find("  ").map_or(0, |i| {
                i + line[i..].chars().take_while(|c| *c == ' ').count()
            });
            wrap_indented(line, width, indent)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Fills one line to `width` columns, continuation lines indented by `indent`.
fn wrap_indented(text: &str, width: usize, indent: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    // Keep the spacing of the first column (`%h  the request's host`).
    let (head, body) = match text.find("  ") {
        Some(_) if indent > 0 && indent < text.len() => text.split_at(indent),
        _ => ("", text),
    };
    line.push_str(head);
    let mut fresh = true;
    for word in body.split_whitespace() {
        if !fresh && line.len() + 1 + word.len() > width {
            out.push_str(line.trim_end());
            out.push('\n');
            line = " ".repeat(indent);
            fresh = true;
        }
        if !fresh {
            line.push(' ');
        }
        line.push_str(word);
        fresh = false;
    }
    out.push_str(line.trim_end());
    out
}

/// Names that exist in the running appliance, for completion.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names {
    /// Virtual server names.
    pub virtuals: Vec<String>,
    /// Real server names.
    pub reals: Vec<String>,
    /// Port names.
    pub ports: Vec<String>,
    /// URL names.
    pub urls: Vec<String>,
    /// DIP addresses.
    pub dips: Vec<String>,
    /// Content rules, as `(virtual, rule)`.
    pub rules: Vec<(String, String)>,
}

impl Names {
    /// The names in a configuration as JSON: the `data` of `show config` (keys `port`,
    /// `real`, `virtual` with its `rule`s, `url`, `dip`). What is missing or malformed
    /// is left out.
    pub fn from_config_json(config: &serde_json::Value) -> Names {
        let list = |key: &str, field: &str| -> Vec<String> {
            config[key]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|item| item[field].as_str().map(str::to_string))
                .collect()
        };
        let rules = config["virtual"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|v| {
                let name = v["name"].as_str().unwrap_or_default().to_string();
                v["rule"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(move |r| Some((name.clone(), r["name"].as_str()?.to_string())))
            })
            .collect();
        Names {
            virtuals: list("virtual", "name"),
            reals: list("real", "name"),
            ports: list("port", "name"),
            urls: list("url", "name"),
            dips: list("dip", "address"),
            rules,
        }
    }

    /// The names of a configuration.
    pub fn from_config(config: &splicer_config::Config) -> Names {
        Names::from_config_json(&serde_json::to_value(config).unwrap_or_default())
    }

    fn pool(&self, pool: Pool, args: &Args) -> Vec<String> {
        match pool {
            Pool::Virtuals => self.virtuals.clone(),
            Pool::Reals => self.reals.clone(),
            Pool::Urls => self.urls.clone(),
            Pool::Dips => self.dips.clone(),
            Pool::Ports => self.ports.clone(),
            Pool::Rules => {
                let virtual_name = args.opt_text(0).unwrap_or_default();
                self.rules
                    .iter()
                    .filter(|(v, _)| *v == virtual_name)
                    .map(|(_, r)| r.clone())
                    .collect()
            }
        }
    }
}

/// The candidates for one value: the names or keywords it can be, or else its label.
fn value_candidates(label: &str, v: Value, names: &Names, args: &Args) -> Vec<(String, String)> {
    let named = |pools: &[Pool]| -> Vec<(String, String)> {
        pools
            .iter()
            .flat_map(|&p| {
                names
                    .pool(p, args)
                    .into_iter()
                    .map(move |n| (n.clone(), format!("{} {n}", p.what())))
            })
            .collect()
    };
    let words = |noun: &str, list: &[&str]| -> Vec<(String, String)> {
        list.iter()
            .map(|w| {
                let description = match meaning(w) {
                    Some(m) => format!("{noun} {w}: {m}"),
                    None => format!("{noun} {w}"),
                };
                (w.to_string(), description)
            })
            .collect()
    };
    let list = match v {
        Value::Name(pools) => named(pools),
        Value::OfKind => match args.values(0).first().and_then(Got::word) {
            Some("real") => named(&[Pool::Reals]),
            Some("url") => named(&[Pool::Urls]),
            _ => named(&[Pool::Virtuals, Pool::Dips]),
        },
        Value::Ip { dips: true } => named(&[Pool::Dips]),
        Value::Choice(noun, list) => words(noun, list),
        Value::Method => words("method", METHODS),
        Value::Level => LogLevel::ALL
            .iter()
            .map(|l| (l.as_str().to_string(), format!("log level {l}")))
            .collect(),
        _ => Vec::new(),
    };
    if !list.is_empty() {
        return list;
    }
    let what = match v {
        Value::Name(pools) => {
            let kinds: Vec<&str> = pools.iter().map(|p| p.what()).collect();
            format!("the name of a {}", kinds.join(" or "))
        }
        Value::OfKind => "its name".to_string(),
        Value::Address => "an address like 198.18.0.100:80".to_string(),
        Value::Ip { .. } => "an IP address like 198.19.0.11".to_string(),
        Value::Number(noun) => format!("{noun}: a whole number"),
        _ => "a word, as written".to_string(),
    };
    vec![(label.to_string(), what)]
}

/// What may come after the complete words `done`: `(word, description)` pairs. Names,
/// keywords and levels are listed as words; a value without known names by its label
/// (`<ip:port>`, `[name]`), which completion leaves out.
fn candidates(done: &[String], names: &Names) -> Vec<(String, String)> {
    let lower: Vec<String> = done.iter().map(|w| w.to_ascii_lowercase()).collect();
    let refs: Vec<&str> = lower.iter().map(String::as_str).collect();
    // Still inside the command words?
    let next = words_after(&refs);
    if !next.is_empty() {
        return next
            .iter()
            .map(|w| {
                let mut words = refs.clone();
                words.push(w);
                let summary = SYNTAX
                    .iter()
                    .find(|s| s.words == words.as_slice())
                    .map_or_else(
                        || format!("'{}' commands", words.join(" ")),
                        |s| s.summary.to_string(),
                    );
                (w.to_string(), summary)
            })
            .collect();
    }
    let Some(syntax) = SYNTAX
        .iter()
        .find(|s| s.words.len() <= refs.len() && s.words == &refs[..s.words.len()])
    else {
        return Vec::new();
    };
    let args = &done[syntax.words.len()..];
    if syntax.words == ["help"] {
        return candidates(&lower[1..], &Names::default())
            .into_iter()
            .filter(|(w, _)| !is_label(w))
            .collect();
    }
    let Ok(walked) = walk(syntax, args) else {
        return Vec::new();
    };
    walked
        .next
        .iter()
        .flat_map(|n| match n {
            Next::Value(label, v) => value_candidates(label, *v, names, &walked.args),
            Next::Keyword(p) => {
                let word = p.word().unwrap_or_default();
                let description = match meaning(word) {
                    Some(m) => format!("{}: {m}", p.usage()),
                    None => p.usage(),
                };
                vec![(word.to_string(), description)]
            }
        })
        .collect()
}

/// Whether a candidate is a value's label rather than a word to type.
fn is_label(word: &str) -> bool {
    word.starts_with(['<', '['])
}

/// Tab completion of the line up to the cursor: the byte offset where the word being
/// completed starts, and the words that complete it.
pub fn complete(before_cursor: &str, names: &Names) -> (usize, Vec<String>) {
    let start = before_cursor
        .rfind(char::is_whitespace)
        .map_or(0, |i| i + 1);
    let partial = before_cursor[start..].to_ascii_lowercase();
    let done: Vec<String> = before_cursor[..start]
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let mut words: Vec<String> = Vec::new();
    for (w, _) in candidates(&done, names) {
        if !is_label(&w) && w.to_ascii_lowercase().starts_with(&partial) && !words.contains(&w) {
            words.push(w);
        }
    }
    (start, words)
}

/// The `?` listing: what can follow `line` (a partial last word filters the list), one
/// per line with its description, or a note that the command is complete, or what is
/// wrong with it.
pub fn next_words(line: &str, names: &Names) -> String {
    let (start, _) = complete(line, names);
    let partial = line[start..].to_ascii_lowercase();
    let done: Vec<String> = line[..start]
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let mut list: Vec<(String, String)> = Vec::new();
    for (w, d) in candidates(&done, names) {
        let shown = (is_label(&w) && partial.is_empty())
            || (!is_label(&w) && w.to_ascii_lowercase().starts_with(&partial));
        if shown && !list.iter().any(|(l, _)| *l == w) {
            list.push((w, d));
        }
    }
    if list.is_empty() {
        return match parse(line) {
            Ok(_) => "<Enter>  the command is complete".to_string(),
            Err(e) => e.0,
        };
    }
    let width = list.iter().map(|(w, _)| w.len()).max().unwrap_or(0);
    list.iter()
        .map(|(w, d)| format!("  {w:width$}  {d}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(line: &str) -> String {
        parse(line).unwrap_err().0
    }

    fn names() -> Names {
        Names {
            virtuals: vec!["www".into(), "www-tls".into(), "api".into()],
            reals: vec!["s1".into(), "s2".into(), "img.1".into()],
            ports: vec!["outside".into(), "inside".into()],
            urls: vec!["moved".into(), "maint".into()],
            dips: vec!["198.19.0.11".into()],
            rules: vec![
                ("www".into(), "img".into()),
                ("www".into(), "api".into()),
                ("api".into(), "v1".into()),
            ],
        }
    }

    #[test]
    fn every_command_parses() {
        assert_eq!(parse("show stats"), Ok(Command::Show(Show::Stats)));
        assert_eq!(parse("show ports"), Ok(Command::Show(Show::Ports(None))));
        assert_eq!(
            parse("show ports outside"),
            Ok(Command::Show(Show::Ports(Some("outside".into()))))
        );
        assert_eq!(parse("show workers"), Ok(Command::Show(Show::Workers)));
        assert_eq!(
            parse("show virtual"),
            Ok(Command::Show(Show::Virtual(None)))
        );
        assert_eq!(
            parse("show virtual www"),
            Ok(Command::Show(Show::Virtual(Some("www".into()))))
        );
        assert_eq!(parse("show real"), Ok(Command::Show(Show::Real(None))));
        assert_eq!(
            parse("show real s1"),
            Ok(Command::Show(Show::Real(Some("s1".into()))))
        );
        assert_eq!(parse("show pools"), Ok(Command::Show(Show::Pools(None))));
        assert_eq!(
            parse("show pools img.1"),
            Ok(Command::Show(Show::Pools(Some("img.1".into()))))
        );
        assert_eq!(parse("show config"), Ok(Command::Show(Show::Config)));
        assert_eq!(parse("clear stats"), Ok(Command::ClearStats));
        for level in LogLevel::ALL {
            assert_eq!(
                parse(&format!("log level {level}")),
                Ok(Command::LogLevel(level))
            );
        }
        assert_eq!(parse("help"), Ok(Command::Help(vec![])));
        assert_eq!(
            parse("help show virtual"),
            Ok(Command::Help(vec!["show".into(), "virtual".into()]))
        );
    }

    #[test]
    fn keywords_are_case_insensitive_and_spacing_is_free() {
        assert_eq!(parse("  SHOW   Stats "), Ok(Command::Show(Show::Stats)));
        assert_eq!(
            parse("Log Level DEBUG"),
            Ok(Command::LogLevel(LogLevel::Debug))
        );
        // Names are kept as written.
        assert_eq!(
            parse("show virtual WWW"),
            Ok(Command::Show(Show::Virtual(Some("WWW".into()))))
        );
        assert_eq!(
            parse("SHOW Real S1"),
            Ok(Command::Show(Show::Real(Some("S1".into()))))
        );
        assert_eq!(
            parse("show POOLS  S1 "),
            Ok(Command::Show(Show::Pools(Some("S1".into()))))
        );
    }

    #[test]
    fn unknown_commands_suggest_the_nearest() {
        assert_eq!(err("shwo"), "unknown command 'shwo'; did you mean 'show'?");
        assert_eq!(
            err("sh stats"),
            "unknown command 'sh'; did you mean 'show'?"
        );
        assert_eq!(
            err("frobnicate"),
            "unknown command 'frobnicate'; type 'help' for the list of commands"
        );
        assert_eq!(
            err("show stat"),
            "unknown command 'show stat'; did you mean 'show stats'?"
        );
        assert_eq!(
            err("show virtuals"),
            "unknown command 'show virtuals'; did you mean 'show virtual'?"
        );
        assert_eq!(
            err("show everything"),
            "unknown command 'show everything'; 'show' is followed by one of: stats, ports, workers, virtual, real, url, rule, pools, flows, config"
        );
        assert_eq!(
            err("show reals"),
            "unknown command 'show reals'; did you mean 'show real'?"
        );
        assert_eq!(
            err("show pool s1"),
            "unknown command 'show pool'; did you mean 'show pools'?"
        );
        assert_eq!(
            err("show poolz"),
            "unknown command 'show poolz'; did you mean 'show pools'?"
        );
        assert_eq!(
            err("show server s1"),
            "unknown command 'show server'; 'show' is followed by one of: stats, ports, workers, virtual, real, url, rule, pools, flows, config"
        );
        assert_eq!(
            err("clear counters"),
            "unknown command 'clear counters'; 'clear' is followed by one of: stats"
        );
        assert_eq!(
            err("log lvl debug"),
            "unknown command 'log lvl'; did you mean 'log level'?"
        );
    }

    #[test]
    fn missing_words() {
        assert_eq!(
            err(""),
            "empty command; type 'help' for the list of commands"
        );
        assert_eq!(
            err("   "),
            "empty command; type 'help' for the list of commands"
        );
        assert_eq!(
            err("show"),
            "'show' needs one of: stats, ports, workers, virtual, real, url, rule, pools, flows, config"
        );
        assert_eq!(err("clear"), "'clear' needs one of: stats");
        assert_eq!(err("log"), "'log' needs one of: level");
    }

    #[test]
    fn log_level_errors() {
        assert_eq!(err("log level"), LEVEL_ERROR);
        assert_eq!(
            err("log level"),
            "log level must be one of error, warn, info, debug, trace"
        );
        assert_eq!(
            err("log level loud"),
            "log level must be one of error, warn, info, debug, trace, got 'loud'"
        );
        assert_eq!(
            err("log level info extra"),
            "too many arguments: 'log level' takes at most one argument (<error|warn|info|debug|trace>), got 'info extra'"
        );
    }

    #[test]
    fn too_many_arguments() {
        assert_eq!(
            err("show stats now"),
            "too many arguments: 'show stats' takes no argument, got 'now'"
        );
        assert_eq!(
            err("show workers 0"),
            "too many arguments: 'show workers' takes no argument, got '0'"
        );
        assert_eq!(
            err("show config all"),
            "too many arguments: 'show config' takes no argument, got 'all'"
        );
        assert_eq!(
            err("clear stats please"),
            "too many arguments: 'clear stats' takes no argument, got 'please'"
        );
        assert_eq!(
            err("show virtual www api"),
            "too many arguments: 'show virtual' takes at most one argument ([name]), got 'www api'"
        );
        assert_eq!(
            err("show ports a b"),
            "too many arguments: 'show ports' takes at most one argument ([name]), got 'a b'"
        );
        assert_eq!(
            err("show real s1 s2"),
            "too many arguments: 'show real' takes at most one argument ([name]), got 's1 s2'"
        );
        assert_eq!(
            err("show pools s1 worker0"),
            "too many arguments: 'show pools' takes at most one argument ([real]), got 's1 worker0'"
        );
    }

    #[test]
    fn help_texts() {
        let all = help(&[]).unwrap();
        for s in SYNTAX {
            assert!(all.contains(&s.usage_line()), "{all}");
            assert!(all.contains(s.summary), "{all}");
            assert!(!s.help.is_empty());
        }
        let show = help(&["show".into()]).unwrap();
        assert!(show.contains("show virtual [name]"), "{show}");
        assert!(!show.contains("clear stats"), "{show}");
        let one = help(&["show".into(), "virtual".into()]).unwrap();
        assert!(one.starts_with("show virtual [name]\n\n"), "{one}");
        assert!(one.contains("max_request_head"), "{one}");
        for form in ["show real [name]", "show pools [real]"] {
            assert!(show.contains(form), "{show}");
        }
        let real = help(&["show".into(), "real".into()]).unwrap();
        assert!(real.starts_with("show real [name]\n\n"), "{real}");
        assert!(real.contains("maxconns"), "{real}");
        let pools = help(&["show".into(), "pools".into(), "s1".into()]).unwrap();
        assert!(pools.starts_with("show pools [real]\n\n"), "{pools}");
        assert!(pools.contains("waiting"), "{pools}");
        let clear = help(&["clear".into()]).unwrap();
        assert!(clear.starts_with("clear stats\n\n"), "{clear}");
        let with_arg = help(&["log".into(), "level".into(), "debug".into()]).unwrap();
        assert!(with_arg.starts_with("log level <"), "{with_arg}");
        assert_eq!(
            help(&["shwo".into()]).unwrap_err().0,
            "unknown command 'shwo'; did you mean 'show'?"
        );
        assert_eq!(
            err("help shwo"),
            "unknown command 'shwo'; did you mean 'show'?"
        );
        assert_eq!(
            err("help show stat"),
            "unknown command 'show stat'; did you mean 'show stats'?"
        );
    }

    #[test]
    fn completion_of_words_and_names() {
        let n = names();
        assert_eq!(
            complete("", &n),
            (
                0,
                [
                    "show",
                    "virtual",
                    "no",
                    "real",
                    "url",
                    "bind",
                    "dip",
                    "link",
                    "backup",
                    "in-service",
                    "out-of-service",
                    "weight",
                    "predictor",
                    "rule",
                    "save",
                    "clear",
                    "log",
                    "help"
                ]
                .map(String::from)
                .to_vec()
            )
        );
        assert_eq!(complete("sh", &n), (0, vec!["show".into()]));
        assert_eq!(complete("show st", &n), (5, vec!["stats".into()]));
        assert_eq!(
            complete("show ", &n).1,
            vec![
                "stats", "ports", "workers", "virtual", "real", "url", "rule", "pools", "flows",
                "config"
            ]
        );
        assert_eq!(complete("show p", &n).1, vec!["ports", "pools"]);
        assert_eq!(complete("show po", &n).1, vec!["ports", "pools"]);
        assert_eq!(complete("show poo", &n).1, vec!["pools"]);
        assert_eq!(
            complete("show r", &n),
            (5, vec!["real".into(), "rule".into()])
        );
        assert_eq!(complete("show re", &n), (5, vec!["real".into()]));
        assert_eq!(complete("show real ", &n).1, vec!["s1", "s2", "img.1"]);
        assert_eq!(
            complete("show real s", &n),
            (10, vec!["s1".into(), "s2".into()])
        );
        assert_eq!(complete("show pools ", &n).1, vec!["s1", "s2", "img.1"]);
        assert_eq!(complete("show pools i", &n), (11, vec!["img.1".into()]));
        assert_eq!(complete("SHOW POOLS s2", &n).1, vec!["s2".to_string()]);
        // Reals complete only where a real is expected.
        assert!(complete("show virtual s", &n).1.is_empty());
        // Virtuals complete with the DIPs, which 'show virtual' lists too.
        assert_eq!(
            complete("show virtual ", &n).1,
            vec!["www", "www-tls", "api", "198.19.0.11"]
        );
        assert!(complete("show pools s1 ", &n).1.is_empty());
        assert_eq!(complete("help show r", &n).1, vec!["real", "rule"]);
        assert_eq!(complete("help show po", &n).1, vec!["ports", "pools"]);
        assert_eq!(
            complete("show virtual w", &n),
            (13, vec!["www".into(), "www-tls".into()])
        );
        assert_eq!(
            complete("show ports ", &n).1,
            vec!["outside".to_string(), "inside".to_string()]
        );
        assert_eq!(complete("show ports in", &n).1, vec!["inside".to_string()]);
        assert_eq!(complete("log level d", &n).1, vec!["debug".to_string()]);
        assert_eq!(complete("help sh", &n).1, vec!["show".to_string()]);
        assert_eq!(complete("help show c", &n).1, vec!["config".to_string()]);
        assert!(complete("show stats ", &n).1.is_empty());
        assert!(complete("show virtual www ", &n).1.is_empty());
        assert!(complete("bogus ", &n).1.is_empty());
        assert_eq!(complete("SHOW ST", &n).1, vec!["stats".to_string()]);
    }

    #[test]
    fn question_mark_listing() {
        let n = names();
        let top = next_words("", &n);
        assert!(top.contains("show") && top.contains("log"), "{top}");
        let show = next_words("show ", &n);
        assert!(show.contains("virtual") && show.contains("the running configuration"));
        assert_eq!(next_words("show v", &n).lines().count(), 1);
        let www = next_words("show virtual ", &n);
        assert!(www.contains("www-tls"), "{www}");
        let none = next_words("show virtual ", &Names::default());
        assert!(none.contains("[name]"), "{none}");
        let reals = next_words("show real ", &n);
        assert!(reals.contains("real img.1"), "{reals}");
        assert_eq!(reals.lines().count(), 3, "{reals}");
        let pools = next_words("show pools s", &n);
        assert_eq!(pools.lines().count(), 2, "{pools}");
        let no_reals = next_words("show pools ", &Names::default());
        assert!(no_reals.contains("[real]"), "{no_reals}");
        assert_eq!(
            next_words("show pools s1 ", &n),
            "<Enter>  the command is complete"
        );
        assert_eq!(
            next_words("show stats ", &n),
            "<Enter>  the command is complete"
        );
        assert_eq!(
            next_words("shwo ", &n),
            "unknown command 'shwo'; did you mean 'show'?"
        );
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            suggestion("wrokers", &["workers", "stats"]),
            Some("workers")
        );
        assert_eq!(suggestion("zzzzzz", &["workers", "stats"]), None);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
    }

    fn edit(line: &str) -> Edit {
        match parse(line) {
            Ok(Command::Edit(e)) => e,
            other => panic!("{line}: {other:?}"),
        }
    }

    fn addr(s: &str) -> SocketAddrV4 {
        s.parse().unwrap()
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn edits_parse() {
        assert_eq!(
            edit("virtual www 198.18.0.100:80"),
            Edit::Virtual {
                name: "www".into(),
                address: addr("198.18.0.100:80"),
                mode: None,
                predictor: None,
            }
        );
        assert_eq!(
            edit("VIRTUAL www 198.18.0.100:80 predictor RoundRobin MODE redirect"),
            Edit::Virtual {
                name: "www".into(),
                address: addr("198.18.0.100:80"),
                mode: Some(Mode::Redirect),
                predictor: Some(Predictor::RoundRobin),
            }
        );
        assert_eq!(
            edit("virtual www 198.18.0.100:80 mode splice"),
            Edit::Virtual {
                name: "www".into(),
                address: addr("198.18.0.100:80"),
                mode: Some(Mode::Splice),
                predictor: None,
            }
        );
        assert_eq!(edit("no virtual www"), Edit::NoVirtual { id: "www".into() });
        assert_eq!(
            edit("real s1 198.19.0.11:80"),
            Edit::Real {
                name: "s1".into(),
                address: addr("198.19.0.11:80"),
                weight: None,
                pool: None,
                maxconns: None,
            }
        );
        // Numbers pass as written: ranges are Config::edited's.
        assert_eq!(
            edit("real s1 198.19.0.11:80 maxconns 70000 weight 5 pool 0"),
            Edit::Real {
                name: "s1".into(),
                address: addr("198.19.0.11:80"),
                weight: Some(5),
                pool: Some(0),
                maxconns: Some(70000),
            }
        );
        assert_eq!(edit("no real s1"), Edit::NoReal { id: "s1".into() });
        assert_eq!(
            edit("url moved http://%h/new/%d"),
            Edit::Url {
                name: "moved".into(),
                url: "http://%h/new/%d".into(),
                code: None,
            }
        );
        assert_eq!(
            edit("url moved HTTP://Example.com/%d 301"),
            Edit::Url {
                name: "moved".into(),
                url: "HTTP://Example.com/%d".into(),
                code: Some(301),
            }
        );
        assert_eq!(edit("no url moved"), Edit::NoUrl { id: "moved".into() });
        assert_eq!(
            edit("bind www s1 s2 moved"),
            Edit::Bind {
                virtual_id: "www".into(),
                members: strings(&["s1", "s2", "moved"]),
            }
        );
        assert_eq!(
            edit("no bind www s2"),
            Edit::NoBind {
                virtual_id: "www".into(),
                members: strings(&["s2"]),
            }
        );
        assert_eq!(
            edit("dip 198.19.0.11"),
            Edit::Dip {
                address: Ipv4Addr::new(198, 19, 0, 11),
                port: None,
            }
        );
        assert_eq!(
            edit("dip 198.19.0.11 port outside"),
            Edit::Dip {
                address: Ipv4Addr::new(198, 19, 0, 11),
                port: Some("outside".into()),
            }
        );
        assert_eq!(
            edit("no dip 198.19.0.11"),
            Edit::NoDip {
                address: Ipv4Addr::new(198, 19, 0, 11),
            }
        );
        assert_eq!(
            edit("link moved www"),
            Edit::Link {
                url: "moved".into(),
                target: "www".into(),
            }
        );
        assert_eq!(
            edit("link moved 198.19.0.11"),
            Edit::Link {
                url: "moved".into(),
                target: "198.19.0.11".into(),
            }
        );
        assert_eq!(
            edit("no link moved"),
            Edit::NoLink {
                url: "moved".into()
            }
        );
        assert_eq!(
            edit("backup www moved"),
            Edit::Backup {
                id: "www".into(),
                backup: "moved".into(),
            }
        );
        assert_eq!(edit("no backup s1"), Edit::NoBackup { id: "s1".into() });
        assert_eq!(
            edit("weight s1 5"),
            Edit::Weight {
                id: "s1".into(),
                weight: 5,
            }
        );
        assert_eq!(
            edit("predictor www roundrobin"),
            Edit::Predictor {
                virtual_id: "www".into(),
                predictor: Predictor::RoundRobin,
            }
        );
    }

    #[test]
    fn service_states_parse() {
        assert_eq!(
            edit("in-service real s1"),
            Edit::InService {
                kind: Kind::Real,
                id: "s1".into(),
                all: false,
            }
        );
        assert_eq!(
            edit("in-service VIRTUAL 198.19.0.11 all"),
            Edit::InService {
                kind: Kind::Virtual,
                id: "198.19.0.11".into(),
                all: true,
            }
        );
        assert_eq!(
            edit("out-of-service url moved"),
            Edit::OutOfService {
                kind: Kind::Url,
                id: "moved".into(),
                state: ServiceState::OutOfService,
                all: false,
            }
        );
        assert_eq!(
            edit("out-of-service real s1 all"),
            Edit::OutOfService {
                kind: Kind::Real,
                id: "s1".into(),
                state: ServiceState::OutOfService,
                all: true,
            }
        );
        for (word, state) in [
            ("oos", ServiceState::OutOfService),
            ("maintenance", ServiceState::Maintenance),
            ("Sticky", ServiceState::Sticky),
            ("failed", ServiceState::Failed),
        ] {
            assert_eq!(
                edit(&format!("out-of-service virtual www {word} all")),
                Edit::OutOfService {
                    kind: Kind::Virtual,
                    id: "www".into(),
                    state,
                    all: true,
                }
            );
        }
        assert_eq!(
            OUT_OF_SERVICE_STATES,
            ["oos", "maintenance", "sticky", "failed"]
        );
    }

    #[test]
    fn rules_parse() {
        let Edit::RuleAdd {
            virtual_id,
            rule,
            at,
        } = edit("rule add www img path_prefix /img/ path_suffix .jpg host Example.com method POST header X-Tenant blue bind s2 s3 at 1")
        else {
            panic!()
        };
        assert_eq!(virtual_id, "www");
        assert_eq!(at, Some(1));
        assert_eq!(
            rule,
            Rule {
                path_prefix: Some("/img/".into()),
                path_suffix: Some(".jpg".into()),
                host: Some("Example.com".into()),
                method: Some(Method::Post),
                header: Some(HeaderMatch {
                    name: "X-Tenant".into(),
                    value: "blue".into(),
                }),
                ..Rule::new("img", strings(&["s2", "s3"]))
            }
        );
        // Keywords in any order after the name; the bind list ends at a keyword.
        assert_eq!(
            edit("rule add api v1 bind s1 HOST api.example.com"),
            Edit::RuleAdd {
                virtual_id: "api".into(),
                rule: Rule {
                    host: Some("api.example.com".into()),
                    ..Rule::new("v1", strings(&["s1"]))
                },
                at: None,
            }
        );
        assert_eq!(
            edit("rule del www img"),
            Edit::RuleDel {
                virtual_id: "www".into(),
                rule: "img".into(),
            }
        );
        assert_eq!(
            parse("rule list www"),
            Ok(Command::Show(Show::Rule(Some("www".into()))))
        );
    }

    #[test]
    fn new_shows_and_save_parse() {
        assert_eq!(parse("show url"), Ok(Command::Show(Show::Url(None))));
        assert_eq!(
            parse("show url moved"),
            Ok(Command::Show(Show::Url(Some("moved".into()))))
        );
        assert_eq!(parse("show rule"), Ok(Command::Show(Show::Rule(None))));
        assert_eq!(
            parse("show rule www"),
            Ok(Command::Show(Show::Rule(Some("www".into()))))
        );
        assert_eq!(
            parse("show flows"),
            Ok(Command::Show(Show::Flows(FlowQuery::default())))
        );
        assert_eq!(FlowQuery::default().limit, 100);
        assert_eq!(
            parse("show flows limit 10000 client 203.0.113.7 real s1 virtual www"),
            Ok(Command::Show(Show::Flows(FlowQuery {
                virtual_id: Some("www".into()),
                real: Some("s1".into()),
                client: Some(Ipv4Addr::new(203, 0, 113, 7)),
                limit: 10000,
            })))
        );
        assert_eq!(parse("save"), Ok(Command::Save(None)));
        assert_eq!(
            parse("save /etc/splicer/Live.toml"),
            Ok(Command::Save(Some("/etc/splicer/Live.toml".into())))
        );
        // Every command of the table parses from its example.
        for s in SYNTAX.iter().filter(|s| !s.example.is_empty()) {
            assert!(parse(s.example).is_ok(), "{}", s.example);
            assert!(s.example.starts_with(&s.words.join(" ")), "{}", s.example);
        }
    }

    #[test]
    fn edit_errors() {
        for (line, message) in [
            ("weight s1 x", "weight must be a whole number, like weight s1 5"),
            ("weight s1 -1", "weight must be a whole number, like weight s1 5"),
            ("weight s1 4294967296", "weight 4294967296 is too large (at most 4294967295)"),
            ("weight s1", "missing <N>; usage: weight <real|url> <N>"),
            ("weight", "missing <real|url>; usage: weight <real|url> <N>"),
            ("weight s1 5 6", "unexpected '6'; usage: weight <real|url> <N>"),
            ("virtual www 198.18.0.1000:80", "expected an address like 198.18.0.100:80, got 198.18.0.1000:80"),
            ("virtual www 198.18.0.100", "expected an address like 198.18.0.100:80, got 198.18.0.100"),
            ("virtual www", "missing <ip:port>; usage: virtual <name> <ip:port> [mode splice|redirect] [predictor <p>]"),
            ("virtual www 198.18.0.100:80 mode fast", "unknown mode fast; one of splice, redirect"),
            ("virtual www 198.18.0.100:80 mode", "missing splice|redirect after 'mode'; usage: virtual <name> <ip:port> [mode splice|redirect] [predictor <p>]"),
            ("virtual www 198.18.0.100:80 mode splice mode redirect", "'mode' is given twice"),
            ("virtual www 198.18.0.100:80 fast", "unexpected 'fast'; usage: virtual <name> <ip:port> [mode splice|redirect] [predictor <p>]"),
            ("predictor www random", "unknown predictor random; one of roundrobin"),
            ("real s1 198.19.0.11:80 pool many", "pool must be a whole number, like real s1 198.19.0.11:80 weight 5 pool 4 maxconns 64"),
            ("url moved http://x/ abc", "code must be a whole number, like url moved http://%h:8080/new/%d 301"),
            ("url moved", "missing <url_string>; usage: url <url_id> <url_string> [code]"),
            ("bind www", "missing <real|url>; usage: bind <virtual> <real|url>..."),
            ("no bind", "missing <virtual>; usage: no bind <virtual> <real|url>..."),
            ("dip 198.19.0", "expected an IP address like 198.19.0.11, got 198.19.0"),
            ("dip 198.19.0.11 port", "missing <name> after 'port'; usage: dip <ip> [port <name>]"),
            ("no dip www", "expected an IP address like 198.19.0.11, got www"),
            ("link moved", "missing <virtual|dip>; usage: link <url_id> <virtual|dip>"),
            ("backup www", "missing <real|virtual|url>; usage: backup <real|virtual> <real|virtual|url>"),
            ("no virtual www api", "too many arguments: 'no virtual' takes at most one argument (<name>), got 'www api'"),
            ("in-service server s1", "unknown kind server; one of virtual, real, url"),
            ("in-service real", "missing <id>; usage: in-service virtual|real|url <id> [all]"),
            ("in-service real all", "missing <id>; usage: in-service virtual|real|url <id> [all]"),
            ("in-service real s1 oos", "unexpected 'oos'; usage: in-service virtual|real|url <id> [all]"),
            ("out-of-service real s1 x", "unknown state x; one of oos, maintenance, sticky, failed"),
            ("out-of-service real s1 in-service", "unknown state in-service; one of oos, maintenance, sticky, failed"),
            ("out-of-service real s1 all all", "'all' is given twice"),
            ("out-of-service real s1 all failed", "unexpected 'failed'; usage: out-of-service virtual|real|url <id> [oos|maintenance|sticky|failed] [all]"),
            ("rule add www img bind s1", "missing a condition (path_prefix <p>, path_suffix <s>, host <h>, method <M>, header <name> <value>); usage: rule add <virtual> <name> <condition>... bind <member>... [at <N>]"),
            ("rule add www img host a.example", "missing bind <member>...; usage: rule add <virtual> <name> <condition>... bind <member>... [at <N>]"),
            ("rule add www img host a.example bind", "missing <member> after 'bind'; usage: rule add <virtual> <name> <condition>... bind <member>... [at <N>]"),
            ("rule add www img host a.example bind at 1", "missing <member> after 'bind'; usage: rule add <virtual> <name> <condition>... bind <member>... [at <N>]"),
            ("rule add www host a.example bind s1", "missing <name>; usage: rule add <virtual> <name> <condition>... bind <member>... [at <N>]"),
            ("rule add www img method get bind s1", "unknown method get; one of GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH, TRACE (methods are case-sensitive)"),
            ("rule add www img method FETCH bind s1", "unknown method FETCH; one of GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH, TRACE (methods are case-sensitive)"),
            ("rule add www img header X-A bind s1", "missing <value> after 'header'; usage: rule add <virtual> <name> <condition>... bind <member>... [at <N>]"),
            ("rule add www img header X-A", "missing <value> after 'header'; usage: rule add <virtual> <name> <condition>... bind <member>... [at <N>]"),
            ("rule add www img host a host b bind s1", "'host' is given twice"),
            ("rule add www img host a bind s1 at first", "at must be a whole number, like rule add www img path_prefix /img/ method GET bind s2 s3 at 1"),
            ("rule del www", "missing <name>; usage: rule del <virtual> <name>"),
            ("rule list", "missing <virtual>; usage: rule list <virtual>"),
            ("rule", "'rule' needs one of: add, del, list"),
            ("rule remove www img", "unknown command 'rule remove'; 'rule' is followed by one of: add, del, list"),
            ("no", "'no' needs one of: virtual, real, url, bind, dip, link, backup"),
            ("no weight s1", "unknown command 'no weight'; 'no' is followed by one of: virtual, real, url, bind, dip, link, backup"),
            ("out-of-servise real s1", "unknown command 'out-of-servise'; did you mean 'out-of-service'?"),
            ("show flows limit 0", "limit must be 1 to 10000, got 0"),
            ("show flows limit 10001", "limit must be 1 to 10000, got 10001"),
            ("show flows limit lots", "limit must be a whole number, like show flows virtual www client 203.0.113.7 limit 20"),
            ("show flows client 203.0.113", "expected an IP address like 198.19.0.11, got 203.0.113"),
            ("show flows www", "unexpected 'www'; usage: show flows [virtual <V>] [real <R>] [client <IP>] [limit <N>]"),
            ("show url a b", "too many arguments: 'show url' takes at most one argument ([name]), got 'a b'"),
            ("save a b", "too many arguments: 'save' takes at most one argument ([file]), got 'a b'"),
        ] {
            assert_eq!(err(line), message, "{line}");
        }
    }

    #[test]
    fn help_of_every_command() {
        for s in SYNTAX {
            let words: Vec<String> = s.words.iter().map(|w| w.to_string()).collect();
            let text = help(&words).unwrap();
            // 'help no' and 'help rule' list several; the full words give one.
            assert!(
                text.starts_with(&format!("{}\n\n", s.usage_line())),
                "{text}"
            );
            if !s.example.is_empty() {
                assert!(text.ends_with(&format!("Example: {}", s.example)), "{text}");
            }
            assert!(text.lines().all(|l| l.len() <= 78), "{text}");
        }
        let oos = help(&strings(&["out-of-service"])).unwrap();
        for state in [
            "state oos",
            "state maintenance",
            "state sticky",
            "state failed",
        ] {
            assert!(oos.contains(state), "{oos}");
        }
        assert!(oos.contains("idle pooled connections are closed"), "{oos}");
        assert!(oos.contains("the real is gone"), "{oos}");
        let url = help(&strings(&["url"])).unwrap();
        for macro_line in [
            "%h  the request's host",
            "%s  the port",
            "%d  the requested document",
            "%%  a %",
        ] {
            assert!(url.contains(macro_line), "{url}");
        }
        assert!(url.contains("default 302"), "{url}");
        let rule = help(&strings(&["rule", "add"])).unwrap();
        for c in [
            "path_prefix <p>",
            "path_suffix <s>",
            "host <h>",
            "method <M>",
            "header <name> <value>",
        ] {
            assert!(rule.contains(c), "{rule}");
        }
        let virtual_help = help(&strings(&["virtual"])).unwrap();
        assert!(virtual_help.contains("mode redirect"), "{virtual_help}");
        let no = help(&strings(&["no"])).unwrap();
        assert_eq!(no.lines().count(), 7, "{no}");
        let all = help(&[]).unwrap();
        for s in SYNTAX {
            assert!(
                all.contains(&s.usage_line()) && all.contains(s.summary),
                "{all}"
            );
        }
        assert!(all.lines().all(|l| l.len() <= 130), "{all}");
    }

    #[test]
    fn completion_of_new_commands() {
        let n = names();
        let c = |line: &str| complete(line, &n).1;
        assert_eq!(c("n"), vec!["no"]);
        assert_eq!(
            c("no "),
            vec!["virtual", "real", "url", "bind", "dip", "link", "backup"]
        );
        assert_eq!(c("rule "), vec!["add", "del", "list"]);
        assert_eq!(c("in"), vec!["in-service"]);
        assert_eq!(c("out-of-service "), vec!["virtual", "real", "url"]);
        assert_eq!(c("out-of-service real "), vec!["s1", "s2", "img.1"]);
        assert_eq!(c("out-of-service url "), vec!["moved", "maint"]);
        assert_eq!(
            c("out-of-service virtual "),
            vec!["www", "www-tls", "api", "198.19.0.11"]
        );
        assert_eq!(
            c("out-of-service real s1 "),
            vec!["oos", "maintenance", "sticky", "failed", "all"]
        );
        assert_eq!(c("out-of-service real s1 m"), vec!["maintenance"]);
        assert_eq!(c("out-of-service real s1 sticky "), vec!["all"]);
        assert!(c("out-of-service real s1 sticky all ").is_empty());
        assert_eq!(c("in-service real s1 "), vec!["all"]);
        assert_eq!(c("virtual w"), vec!["www", "www-tls"]);
        // Free values complete to nothing; their label is for '?' only.
        assert!(c("virtual www ").is_empty());
        assert_eq!(c("virtual www 198.18.0.100:80 "), vec!["mode", "predictor"]);
        assert_eq!(
            c("virtual www 198.18.0.100:80 mode "),
            vec!["splice", "redirect"]
        );
        assert_eq!(c("virtual www 198.18.0.100:80 mode r"), vec!["redirect"]);
        assert_eq!(
            c("virtual www 198.18.0.100:80 mode redirect "),
            vec!["predictor"]
        );
        assert_eq!(
            c("virtual www 198.18.0.100:80 predictor "),
            Predictor::NAMES.to_vec()
        );
        assert_eq!(c("predictor www "), Predictor::NAMES.to_vec());
        assert_eq!(
            c("real s1 198.19.0.11:80 "),
            vec!["weight", "pool", "maxconns"]
        );
        assert_eq!(
            c("real s1 198.19.0.11:80 weight 3 "),
            vec!["pool", "maxconns"]
        );
        assert!(c("real s1 198.19.0.11:80 weight ").is_empty());
        assert_eq!(c("bind www "), vec!["s1", "s2", "img.1", "moved", "maint"]);
        assert_eq!(c("bind www s1 m"), vec!["moved", "maint"]);
        assert_eq!(c("weight "), vec!["s1", "s2", "img.1", "moved", "maint"]);
        assert_eq!(
            c("link moved "),
            vec!["www", "www-tls", "api", "198.19.0.11"]
        );
        assert_eq!(c("link "), vec!["moved", "maint"]);
        assert_eq!(c("no dip "), vec!["198.19.0.11"]);
        assert!(c("dip ").is_empty());
        assert_eq!(c("dip 198.19.0.11 "), vec!["port"]);
        assert_eq!(c("dip 198.19.0.11 port "), vec!["outside", "inside"]);
        assert_eq!(
            c("backup www "),
            vec!["s1", "s2", "img.1", "www", "www-tls", "api", "moved", "maint"]
        );
        assert_eq!(c("rule del www "), vec!["img", "api"]);
        assert_eq!(c("rule del api "), vec!["v1"]);
        assert!(c("rule del nothing ").is_empty());
        assert_eq!(c("rule list "), vec!["www", "www-tls", "api"]);
        assert!(c("rule add www ").is_empty());
        assert_eq!(
            c("rule add www img "),
            vec![
                "path_prefix",
                "path_suffix",
                "host",
                "method",
                "header",
                "bind",
                "at"
            ]
        );
        assert_eq!(c("rule add www img p"), vec!["path_prefix", "path_suffix"]);
        assert_eq!(c("rule add www img method "), METHODS.to_vec());
        assert_eq!(c("rule add www img method P"), vec!["POST", "PUT", "PATCH"]);
        assert_eq!(
            c("rule add www img host a bind s2 "),
            vec![
                "s1",
                "s2",
                "img.1",
                "moved",
                "maint",
                "path_prefix",
                "path_suffix",
                "method",
                "header",
                "at"
            ]
        );
        assert!(c("rule add www img host a bind s2 at ").is_empty());
        assert_eq!(c("show flows "), vec!["virtual", "real", "client", "limit"]);
        assert_eq!(
            c("show flows virtual "),
            vec!["www", "www-tls", "api", "198.19.0.11"]
        );
        assert_eq!(c("show flows virtual www r"), vec!["real"]);
        assert_eq!(c("show flows real "), vec!["s1", "s2", "img.1"]);
        assert_eq!(c("show url "), vec!["moved", "maint"]);
        assert_eq!(c("show rule "), vec!["www", "www-tls", "api"]);
        assert!(c("save ").is_empty());
        // A wrong token before the cursor: nothing completes.
        assert!(c("weight s1 x ").is_empty());
        assert_eq!(
            c("help no "),
            vec!["virtual", "real", "url", "bind", "dip", "link", "backup"]
        );
        assert_eq!(c("help rule a"), vec!["add"]);
    }

    #[test]
    fn question_mark_on_new_commands() {
        let n = names();
        assert_eq!(
            next_words("virtual www ", &n),
            "  <ip:port>  an address like 198.18.0.100:80"
        );
        assert_eq!(
            next_words("weight s1 ", &n),
            "  <N>  weight: a whole number"
        );
        let states = next_words("out-of-service real s1 ", &n);
        assert!(
            states.contains("maintenance  state maintenance: as oos"),
            "{states}"
        );
        assert!(states.contains("all          [all]: every one"), "{states}");
        let conditions = next_words("rule add www img ", &n);
        assert!(
            conditions.contains("header       [header <name> <value>]"),
            "{conditions}"
        );
        assert!(
            conditions.contains("bind         bind <member>..."),
            "{conditions}"
        );
        assert_eq!(
            next_words("rule del www-tls ", &n),
            "  <name>  the name of a rule"
        );
        assert_eq!(
            next_words("show url ", &Names::default()),
            "  [name]  the name of a url"
        );
        assert_eq!(next_words("save ", &n), "  [file]  a word, as written");
        assert_eq!(
            next_words("out-of-service real s1 failed all ", &n),
            "<Enter>  the command is complete"
        );
        assert_eq!(
            next_words("out-of-service real s1 x ", &n),
            "unknown state x; one of oos, maintenance, sticky, failed"
        );
    }

    #[test]
    fn names_from_the_configuration() {
        let mut config = splicer_config::Config::from_toml_str(
            r#"
[dataplane]
eal = ["-l", "0-1"]
[[port]]
name = "outside"
address = "198.18.0.1/24"
[[port]]
name = "inside"
address = "198.19.0.1/24"
[[real]]
name = "s1"
address = "198.19.0.11:80"
[[virtual]]
name = "www"
address = "198.18.0.100:80"
bind = ["s1"]
[[virtual.rule]]
name = "img"
path_prefix = "/img/"
bind = ["s1"]
[[virtual]]
name = "api"
address = "198.18.0.101:80"
"#,
        )
        .unwrap();
        config.urls.push(splicer_config::Url {
            name: "moved".into(),
            url: "http://%h/new/%d".into(),
            code: 302,
            weight: 1,
            link: None,
            state: ServiceState::InService,
        });
        config.dips.push(splicer_config::Dip {
            address: Ipv4Addr::new(198, 19, 0, 11),
            port: "outside".into(),
        });
        assert_eq!(
            Names::from_config(&config),
            Names {
                virtuals: strings(&["www", "api"]),
                reals: strings(&["s1"]),
                ports: strings(&["outside", "inside"]),
                urls: strings(&["moved"]),
                dips: strings(&["198.19.0.11"]),
                rules: vec![("www".into(), "img".into())],
            }
        );
        assert_eq!(
            Names::from_config_json(&serde_json::Value::Null),
            Names::default()
        );
    }
}
