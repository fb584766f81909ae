//! The table of every command ([`SYNTAX`]) and the types it is written in: a command's
//! words, its parameters ([`Param`]) and the kind of [`Value`] each takes, its help and
//! example. Parsing, help and completion all read this table.

use splicer_config::{Mode, Predictor, ServiceState};

/// A list of existing names that completion offers (see [`Names`](super::Names)).
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
    pub(super) fn what(self) -> &'static str {
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
    pub(super) fn word(&self) -> Option<&'static str> {
        match self {
            Param::Key(w, _) | Param::Flag(w) | Param::KeyMany(w, _, _) => Some(w),
            _ => None,
        }
    }

    pub(super) fn is_positional(&self) -> bool {
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
    Param::Key(
        "cookie",
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
    ("cookie", "the Cookie header carries cookie <name> with exactly <value>"),
    ("bind", "the reals (or URLs) of matching requests"),
    ("at", "the rule's 1-based position (default: last)"),
    ("all", "every one of that kind on the same IP address"),
];

pub(super) fn meaning(word: &str) -> Option<&'static str> {
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
    pub(super) fn keyword(&self, word: &str) -> Option<&'static Param> {
        self.params.iter().find_map(|p| match p {
            Param::Conditions => CONDITIONS.iter().find(|c| c.word() == Some(word)),
            _ if p.word() == Some(word) => Some(p),
            _ => None,
        })
    }

    pub(super) fn is_keyword(&self, token: &str) -> bool {
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
        summary: "workers: lcore, queue, packets, flows, half-open, neighbours, busy %",
        help: "Lists every worker: its lcore, the RX/TX queue it polls on every port, the \
packets it received and sent (since start-up or the last 'clear stats'), and its gauges: \
client connections in its flow table (flows), those still half-open, neighbour entries. Then \
how busy its loop was since start-up or the last 'clear stats' (as VPP's 'show runtime'): \
rounds polled, rounds that found work, packets taken in, TSC cycles of the busy rounds, \
cycles per packet, and busy % (busy cycles over all the loop's cycles; the rest is headroom).",
        example: "",
    },
    Syntax {
        words: &["show", "virtual"],
        params: &[Param::Opt("name", VIRTUAL_OR_DIP)],
        summary: "virtual servers and DIPs: address, port, mode, state, backup, bind, rules",
        help: "Lists every virtual server (or the one named): its kind (virtual, or dip for \
a DIP, named by its address and bound to its real), address (VIP:port), the port that \
answers ARP for the VIP (for a DIP, the port it is reached through), max_request_head, \
max_pipeline and max_held (the head buffer and pipelining limits; '-' for a DIP, which \
takes their defaults), mode, predictor, state, backup ('-': none) and bind (the reals or URLs for \
requests no rule matches; '-' when none: such requests are answered 503), queue_size, \
priority and cost (the bind list's; '-' for a DIP) and queued (requests waiting now, over all \
workers, because every real of their set is at maxconns). Then a table of \
the content rules, in the order they are tried: virtual, rule name, what it matches (every \
condition must hold: path_prefix, path_suffix, host, method, header, cookie) and what it binds. \
--json gives one object per virtual, its rules as in the configuration.",
        example: "show virtual www",
    },
    Syntax {
        words: &["show", "real"],
        params: &[Param::Opt("name", REAL)],
        summary: "real servers: address, weight, pool, maxconns, state, backup, what binds them",
        help: "Lists every real server (or the one named): its address, weight, pool and \
maxconns (both per worker), state, backup ('-': none) and what binds it: 'www' for the bind \
list of virtual www, 'www/img' for its rule img ('-' when nothing does: the real takes no \
request), its tier (1: origin; higher: a mirror that serves while the lower tiers are full) \
and inflight (the cost of the requests in flight on it now, over all workers; maxconns bounds \
it per worker). --json gives bound_by as a list of {virtual, rule} (rule null for the bind list).",
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
        summary: "connection pools per real and worker: free, busy, opening, conns, inflight",
        help: "Shows the server connection pools of every real (or of the one named): one \
row per real and worker, and with several workers a total row per real. free (idle connections ready for a request), \
busy (carrying a request or draining a response), opening (in the handshake), conns \
(every connection to the real, closing ones included) and inflight (the cost of the \
requests in flight on the real, which maxconns bounds), as each worker last published them (every millisecond). pool and \
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
        words: &["show", "cluster"],
        params: &[],
        summary: "cluster: peers, live or dead, last heartbeat, strays sent on and dropped",
        help: "Lists this appliance's [cluster] (docs/SCALE-OUT.md): its name and heartbeat \
address, then every peer: its dataplane address, heartbeat address, state (live or dead: no heartbeat for dead_time), since when, how long ago its last heartbeat came and how \
many did. Then the strays (segments of connections another appliance owns) sent on to the \
live peers and those a peer sent that were dropped, summed over the workers.",
        example: "",
    },
    Syntax {
        words: &["virtual"],
        params: &[
            Param::Req("<name>", VIRTUAL),
            Param::Req("<ip:port>", Value::Address),
            Param::Key("mode", &[("splice|redirect|tcp", Value::Choice("mode", Mode::NAMES))]),
            Param::Key("predictor", &[("<p>", Value::Choice("predictor", Predictor::NAMES))]),
        ],
        summary: "add a virtual server, or change its address, mode or predictor",
        help: "Adds a virtual server listening on <ip:port>, or changes the address, mode or \
predictor of the one with that name. mode splice (the default) splices requests to bound \
reals; mode redirect answers them with a redirect to a bound URL; mode tcp passes each \
connection through to a bound real without reading HTTP (TLS, SMTP, SSH: no rules). The port whose subnet \
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
65535, default 64, at least pool) its high-water mark: the most requests (counted by their \
cost) each worker has in flight on it; beyond it requests go to another real of their set or \
wait in their virtual's queue.",
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
            Param::Key("rule", &[("<rule>", Value::Text)]),
        ],
        summary: "change how a virtual (or one of its rules) chooses among its members",
        help: "Sets the virtual's predictor: how a member is chosen inside the set a request \
selects (rules without their own predictor follow it); with rule <rule>, that rule's own \
predictor. Takes effect for the next request.",
        example: "predictor www leastconns rule img",
    },
    Syntax {
        words: &["tier"],
        params: &[
            Param::Req("<real>", REAL),
            Param::Req("<N>", Value::Number("tier")),
        ],
        summary: "change a real's tier (1: origin, 2 and up: mirrors)",
        help: "Sets the tier (1 to 16, default 1) of a real: within a set, a real of a higher \
number takes requests only while every real of a lower number is at its maxconns or cannot \
take requests (a mirror absorbs the overflow of its origin). Takes effect for the next \
request.",
        example: "tier s3 2",
    },
    Syntax {
        words: &["queue"],
        params: &[
            Param::Req("<virtual>", VIRTUAL),
            Param::Key("size", &[("<N>", Value::Number("size"))]),
            Param::Key("priority", &[("<N>", Value::Number("priority"))]),
            Param::Key("cost", &[("<N>", Value::Number("cost"))]),
        ],
        summary: "change a virtual's queue size and its bind list's priority and cost",
        help: "Sets the virtual's queue_size (size, 0 to 65535, default 256: the requests \
each worker keeps waiting while every real of their set is at its maxconns; beyond it 503 \
with Retry-After) and the priority (0 to 7, default 4) and cost (1 to 1000, default 1: \
slots of a real's maxconns a request takes) of requests no rule matches and of rules that \
set none. A freed slot goes to the waiting request of the highest priority, raised by one \
per 250 ms waited. Takes effect for the next request.",
        example: "queue www size 64 priority 3 cost 1",
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
cookie <name> <value>  the Cookie header carries cookie <name> (case-sensitive) with exactly <value>\n\
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
        words: &["rule", "class"],
        params: &[
            Param::Req("<virtual>", VIRTUAL),
            Param::Req("<name>", Value::Name(&[Pool::Rules])),
            Param::Key("priority", &[("<N>", Value::Number("priority"))]),
            Param::Key("cost", &[("<N>", Value::Number("cost"))]),
        ],
        summary: "change a content rule's queueing priority and cost",
        help: "Sets the priority (0 to 7) and cost (1 to 1000) of the requests rule <name> \
matches, in place of the virtual's (see 'queue'): the order in which they take freed slots \
when they wait, and the slots of a real's maxconns each takes while in flight.",
        example: "rule class www media priority 1 cost 4",
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
        words: &["show", "announce"],
        params: &[],
        summary: "the VIPs announced to the routers (BGP through BIRD) and BIRD's last answer",
        help: "Lists every VIP with [announce] on: the next hop announced for it (the \
address of the port that owns it), its state (announced; held down: fit to announce, \
waiting for hold_down; withdrawn), since when, and why it is not announced (no healthy \
real in service, port down, drained, stopping). Then BIRD's control socket and the \
routes file, BIRD's last answer to 'configure' and when, the configures it confirmed and \
the exchanges that failed (each is retried), and whether the routes last written are in \
effect. An error when [announce] is off.",
        example: "",
    },
    Syntax {
        words: &["drain"],
        params: &[Param::Flag("status")],
        summary: "withdraw every VIP from the routers for maintenance; 'drain status': flows left",
        help: "Withdraws every VIP from the routers at once (with [announce]): the routers \
send new connections to the other appliances, and the flows open here go on. The answer, \
and 'drain status' (read-only) later, say how many flows are left; the log says when none \
is. The appliance then can be stopped or updated without resetting a connection. \
'undrain' announces the VIPs again. Not saved: a restart starts undrained.",
        example: "drain",
    },
    Syntax {
        words: &["undrain"],
        params: &[],
        summary: "announce the VIPs again after 'drain'",
        help: "Ends 'drain': every VIP fit to announce (a healthy real, its port up) for \
hold_down already is announced again at once, the others once they have been fit for \
hold_down.",
        example: "",
    },
    Syntax {
        words: &["save"],
        params: &[Param::Opt("file", Value::Text)],
        summary: "write the running configuration as TOML",
        help: "Writes the running configuration, every live change included, as TOML that \
'splicer run --config' loads to the same configuration: to file, or by default to the \
file 'splicer run' was started with. Only what changed is edited into the file (file \
if it exists, else the one Splicer was started with): its comments, key order and left-out \
defaults stay; when that cannot be done (the file does not load, an order changed) the \
whole configuration is written and the answer says why. Changes made with commands are \
lost at a restart unless saved.",
        example: "save /etc/splicer/splicer.toml",
    },
    Syntax {
        words: &["reload"],
        params: &[],
        summary: "read the configuration file again and apply it live (as SIGHUP)",
        help: "Reads the file 'splicer run' was started with, checks all of it, and applies \
what differs from the running configuration live, as the commands above do: reals, \
virtuals, rules, URLs, DIPs and the ejection policy. An invalid file changes nothing and \
the answer lists every problem as file:line:column. Keys read only at start-up (the rest \
of [dataplane]: EAL, workers, queues, pools, timeouts, control socket, metrics; and the \
ports) are named as needing a restart and keep their running values while the rest is \
applied. Changes made with commands and not saved are replaced by the file's. The answer \
says which virtuals, reals, URLs and DIPs were added, removed or changed.",
        example: "reload",
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
        words: &["log", "reopen"],
        params: &[],
        summary: "reopen the access log's file (logrotate)",
        help: "Closes the access log's file and opens its path again, creating it if it \
is gone: after logrotate (or anyone) moved the file, new lines go to a fresh file at the \
configured path, and none is lost (lines written before go to the moved file). SIGUSR1 \
does the same. An error when the access log is off or writes to syslog is not a file \
(syslog needs no reopen).",
        example: "log reopen",
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
