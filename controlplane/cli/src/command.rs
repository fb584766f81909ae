//! The command grammar: parsing, help texts, completion candidates.
//!
//! Every command is described once in [`SYNTAX`] (its words, its argument, its help);
//! [`parse`], [`help`], [`complete`] and [`next_words`] all read that table, so they
//! cannot disagree. Keywords are case-insensitive; names are matched as written.

use std::fmt;

/// A parsed command, ready for the control core to execute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `show ...`: read-only views of the running appliance.
    Show(Show),
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
    /// `show virtual [name]`: every virtual, or the one named.
    Virtual(Option<String>),
    /// `show real [name]`: every real, or the one named.
    Real(Option<String>),
    /// `show pools [real]`: the server connection pools of every real, or of the one
    /// named.
    Pools(Option<String>),
    /// `show config`: the running configuration as TOML.
    Config,
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

/// What a command takes after its words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    /// Nothing.
    None,
    /// An optional virtual name.
    Virtual,
    /// An optional real name.
    Real,
    /// An optional port name.
    Port,
    /// A log level (required).
    Level,
    /// Optional command words (for `help`).
    Topic,
}

/// One command of the grammar.
#[derive(Debug)]
pub struct Syntax {
    /// The keywords that select it, like `["show", "virtual"]`.
    pub words: &'static [&'static str],
    /// Its argument.
    pub arg: Arg,
    /// The argument as shown in usage lines (`"[name]"`), or `""`.
    pub usage: &'static str,
    /// One line for the command list.
    pub summary: &'static str,
    /// The full help text.
    pub help: &'static str,
}

impl Syntax {
    /// `show virtual [name]`.
    pub fn usage_line(&self) -> String {
        let words = self.words.join(" ");
        if self.usage.is_empty() {
            words
        } else {
            format!("{words} {}", self.usage)
        }
    }
}

/// Every command, in the order `help` lists them.
pub const SYNTAX: &[Syntax] = &[
    Syntax {
        words: &["show", "stats"],
        arg: Arg::None,
        usage: "",
        summary: "counters and gauges: total, per worker, per port (with the NIC's), mempool",
        help: "Shows every counter as a table with a column for the total, one per worker and \
one per port (the workers' counts on that port), grouped by what they count (packets, \
ARP/ICMP, client connections, requests, splicing, pools, responses, server connections, \
drains, drops), then the NICs' own counters, the workers' \
gauges (flows, half_open, neighbours) and the mempool. Counters count from start-up or from \
the last 'clear stats'; gauges are current levels. --json gives the same as an object: \
total, workers[], ports[], mempool.",
    },
    Syntax {
        words: &["show", "ports"],
        arg: Arg::Port,
        usage: "[name]",
        summary: "ports: DPDK id, driver, MAC, address, gateway, link, NIC packets",
        help: "Lists every port (or the one named): its DPDK port id, driver, MAC address, \
address/prefix, gateway, link state and the packets the NIC received and sent (since \
start-up or the last 'clear stats').",
    },
    Syntax {
        words: &["show", "workers"],
        arg: Arg::None,
        usage: "",
        summary: "workers: lcore, queue, packets, flows, half-open, neighbours",
        help: "Lists every worker: its lcore, the RX/TX queue it polls on every port, the \
packets it received and sent (since start-up or the last 'clear stats'), and its gauges: \
client connections in its flow table (flows), those still half-open, neighbour entries.",
    },
    Syntax {
        words: &["show", "virtual"],
        arg: Arg::Virtual,
        usage: "[name]",
        summary: "virtual servers: address, port, max_request_head, routing (bind, rules)",
        help: "Lists every virtual server (or the one named): its address (VIP:port), the \
port that answers ARP for the VIP, max_request_head, mode, predictor and bind (the reals \
for requests no rule matches; '-' when none: such requests are answered 503). Then a \
table of the content rules, in the order they are tried: virtual, rule name, what it \
matches (every condition must hold: path_prefix, path_suffix, host, method, header) and \
the reals it binds. --json gives one object per virtual, its rules as in the \
configuration.",
    },
    Syntax {
        words: &["show", "real"],
        arg: Arg::Real,
        usage: "[name]",
        summary: "real servers: address, weight, pool, maxconns, what binds them",
        help: "Lists every real server (or the one named): its address, weight, pool and \
maxconns (both per worker), and what binds it: 'www' for the bind list of virtual www, \
'www/img' for its rule img ('-' when nothing does: the real takes no request). --json \
gives bound_by as a list of {virtual, rule} (rule null for the bind list).",
    },
    Syntax {
        words: &["show", "pools"],
        arg: Arg::Real,
        usage: "[real]",
        summary: "connection pools per real and worker: free, busy, opening, conns, waiting",
        help: "Shows the server connection pools of every real (or of the one named): one \
row per real and worker, and with several workers a total row per real. free (idle connections ready for a request), \
busy (carrying a request or draining a response), opening (in the handshake), conns \
(every connection to the real, closing ones included) and waiting (requests waiting for \
a connection), as each worker last published them (every millisecond). pool and \
maxconns are the configured limits per worker; on the total row, for all workers \
together. These are levels: 'clear stats' does not change them.",
    },
    Syntax {
        words: &["show", "config"],
        arg: Arg::None,
        usage: "",
        summary: "the running configuration, as TOML",
        help: "Prints the running configuration as TOML, with every default filled in. \
Saved to a file, it loads with 'splicer run --config' to the same configuration.",
    },
    Syntax {
        words: &["clear", "stats"],
        arg: Arg::None,
        usage: "",
        summary: "counters shown from now on start at 0",
        help: "Counters shown by 'show stats', 'show ports', 'show workers' and the \
periodic 'stats' log lines start again from 0. The workers' own counters are not touched: \
the control core keeps the values at the time of the clear and subtracts them, so the \
Prometheus metrics (which must only grow) keep counting from start-up. Gauges and the \
mempool are levels and are not affected.",
    },
    Syntax {
        words: &["log", "level"],
        arg: Arg::Level,
        usage: "<error|warn|info|debug|trace>",
        summary: "change the log level at runtime",
        help: "Sets the log filter to the given level for the whole process, from now on \
(it replaces a filter given with RUST_LOG or --log-level). Not saved: a restart uses the \
configured level again.",
    },
    Syntax {
        words: &["help"],
        arg: Arg::Topic,
        usage: "[command]",
        summary: "the list of commands, or the help of one",
        help: "'help' lists every command; 'help show' the commands starting with 'show'; \
'help show virtual' that command's full help. In the shell, a line ending with '?' lists \
what can follow, and Tab completes command words and names.",
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

/// Parses one line of command text.
pub fn parse(line: &str) -> Result<Command, ParseError> {
    let tokens: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    if tokens.is_empty() {
        return error("empty command; type 'help' for the list of commands");
    }
    let (syntax, args) = resolve(&tokens)?;
    let name = syntax.words.join(" ");
    let too_many = |allowed: usize| -> Result<(), ParseError> {
        if args.len() > allowed {
            let takes = match allowed {
                0 => "no argument".to_string(),
                _ => format!("at most one argument ({})", syntax.usage),
            };
            error(format!(
                "too many arguments: '{name}' takes {takes}, got '{}'",
                args.join(" ")
            ))
        } else {
            Ok(())
        }
    };
    let optional_name = |args: &[String]| args.first().cloned();
    match syntax.arg {
        Arg::None => too_many(0)?,
        Arg::Virtual | Arg::Real | Arg::Port => too_many(1)?,
        Arg::Level => {
            let Some(level) = args.first() else {
                return error(LEVEL_ERROR);
            };
            let wanted = level.to_ascii_lowercase();
            let Some(level) = LogLevel::ALL.into_iter().find(|l| l.as_str() == wanted) else {
                return error(format!("{LEVEL_ERROR}, got '{level}'"));
            };
            too_many(1)?;
            return Ok(Command::LogLevel(level));
        }
        Arg::Topic => {
            if !args.is_empty() {
                // The topic must name commands: `help shwo` gets the same hint as `shwo`.
                let words: Vec<String> = args.iter().map(|a| a.to_ascii_lowercase()).collect();
                topic(&words)?;
                return Ok(Command::Help(words));
            }
            return Ok(Command::Help(Vec::new()));
        }
    }
    Ok(match syntax.words {
        ["show", "stats"] => Command::Show(Show::Stats),
        ["show", "ports"] => Command::Show(Show::Ports(optional_name(args))),
        ["show", "workers"] => Command::Show(Show::Workers),
        ["show", "virtual"] => Command::Show(Show::Virtual(optional_name(args))),
        ["show", "real"] => Command::Show(Show::Real(optional_name(args))),
        ["show", "pools"] => Command::Show(Show::Pools(optional_name(args))),
        ["show", "config"] => Command::Show(Show::Config),
        ["clear", "stats"] => Command::ClearStats,
        other => unreachable!("SYNTAX entry {other:?} has no Command"),
    })
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

/// The help for `topic` (`[]` for the list of every command).
pub fn help(topic_words: &[String]) -> Result<String, ParseError> {
    let list = |entries: &[&Syntax]| {
        let width = entries
            .iter()
            .map(|s| s.usage_line().len())
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        for s in entries {
            out.push_str(&format!("  {:width$}  {}\n", s.usage_line(), s.summary));
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
        return Ok(format!("{}\n\n{}", one.usage_line(), wrap(one.help, 78)));
    }
    Ok(list(&entries).trim_end().to_string())
}

fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
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
}

/// What may come after the complete words `done`: `(word, description)` pairs. Names and
/// levels are listed as words; an argument without known values as `<name>`.
fn candidates(done: &[String], names: &Names) -> Vec<(String, String)> {
    let lower: Vec<String> = done.iter().map(|w| w.to_ascii_lowercase()).collect();
    let refs: Vec<&str> = lower.iter().map(String::as_str).collect();
    // Still inside the keywords?
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
    let args = &refs[syntax.words.len()..];
    let named = |list: &[String], what: &str| {
        if args.is_empty() {
            list.iter()
                .map(|n| (n.clone(), format!("{what} {n}")))
                .collect()
        } else {
            Vec::new()
        }
    };
    match syntax.arg {
        Arg::None => Vec::new(),
        Arg::Virtual => named(&names.virtuals, "virtual"),
        Arg::Real => named(&names.reals, "real"),
        Arg::Port => named(&names.ports, "port"),
        Arg::Level if args.is_empty() => LogLevel::ALL
            .iter()
            .map(|l| (l.as_str().to_string(), format!("log level {l}")))
            .collect(),
        Arg::Level => Vec::new(),
        Arg::Topic => {
            let topic: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            candidates(&topic, &Names::default())
                .into_iter()
                .filter(|(w, _)| !w.starts_with('<'))
                .collect()
        }
    }
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
    let words = candidates(&done, names)
        .into_iter()
        .map(|(w, _)| w)
        .filter(|w| w.to_ascii_lowercase().starts_with(&partial))
        .collect();
    (start, words)
}

/// The `?` listing: what can follow `line` (a partial last word filters the list), one
/// per line with its description, or a note that the command is complete.
pub fn next_words(line: &str, names: &Names) -> String {
    let (start, _) = complete(line, names);
    let partial = line[start..].to_ascii_lowercase();
    let done: Vec<String> = line[..start]
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let mut list: Vec<(String, String)> = candidates(&done, names)
        .into_iter()
        .filter(|(w, _)| w.to_ascii_lowercase().starts_with(&partial))
        .collect();
    // An argument whose values are not known (no virtuals or reals configured) is still
    // shown.
    if list.is_empty() && partial.is_empty() {
        let lower: Vec<&str> = done.iter().map(String::as_str).collect();
        if let Some(s) = SYNTAX.iter().find(|s| s.words == lower.as_slice()) {
            if !s.usage.is_empty() {
                list.push((s.usage.to_string(), s.summary.to_string()));
            }
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
            "unknown command 'show everything'; 'show' is followed by one of: stats, ports, workers, virtual, real, pools, config"
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
            "unknown command 'show server'; 'show' is followed by one of: stats, ports, workers, virtual, real, pools, config"
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
            "'show' needs one of: stats, ports, workers, virtual, real, pools, config"
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
                vec!["show".into(), "clear".into(), "log".into(), "help".into()]
            )
        );
        assert_eq!(complete("sh", &n), (0, vec!["show".into()]));
        assert_eq!(complete("show st", &n), (5, vec!["stats".into()]));
        assert_eq!(
            complete("show ", &n).1,
            vec!["stats", "ports", "workers", "virtual", "real", "pools", "config"]
        );
        assert_eq!(complete("show p", &n).1, vec!["ports", "pools"]);
        assert_eq!(complete("show po", &n).1, vec!["ports", "pools"]);
        assert_eq!(complete("show poo", &n).1, vec!["pools"]);
        assert_eq!(complete("show r", &n), (5, vec!["real".into()]));
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
        assert!(complete("show pools s1 ", &n).1.is_empty());
        assert_eq!(complete("help show r", &n).1, vec!["real".to_string()]);
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
}
