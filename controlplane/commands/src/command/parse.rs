//! Parsing a line against [`SYNTAX`]: resolving its command words, walking and checking
//! its arguments, and building the typed [`Command`]. The walk also tells completion what
//! may follow, and the suggestions ("did you mean") are shared with it.

use super::help::topic;
use super::syntax::{Param, Syntax, Value, CONDITIONS, METHODS, SYNTAX};
use super::{error, Command, FlowQuery, LogLevel, ParseError, Show, LEVEL_ERROR};
use splicer_config::{
    ClassEdit, CookieMatch, Edit, HeaderMatch, Kind, Method, Mode, Predictor, Rule, ServiceState,
};
use std::net::{Ipv4Addr, SocketAddrV4};

/// The words that may follow `prefix` (distinct, in table order).
pub(super) fn words_after(prefix: &[&str]) -> Vec<&'static str> {
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
pub(super) fn distance(a: &str, b: &str) -> usize {
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
pub(super) fn suggestion<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
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
pub(super) fn resolve(tokens: &[String]) -> Result<(&'static Syntax, &[String]), ParseError> {
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
pub(super) enum Got {
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
pub(super) struct Args {
    positional: Vec<Vec<Got>>,
    keys: Vec<(&'static str, Vec<Got>)>,
}

impl Args {
    pub(super) fn values(&self, i: usize) -> &[Got] {
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

    pub(super) fn opt_text(&self, i: usize) -> Option<String> {
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
    pub(super) fn word(&self) -> Option<&'static str> {
        match self {
            Got::Word(w) => Some(w),
            _ => None,
        }
    }
}

/// What may come after the tokens walked: a value of a parameter (shown as `label`),
/// or a keyword parameter not given yet.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Next {
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
pub(super) struct Walk {
    pub(super) args: Args,
    /// What may follow.
    pub(super) next: Vec<Next>,
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
pub(super) fn walk(syntax: &Syntax, tokens: &[String]) -> Result<Walk, ParseError> {
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
        ["show", "announce"] => Ok(Command::Show(Show::Announce)),
        ["drain"] if a.has("status") => Ok(Command::DrainStatus),
        ["drain"] => Ok(Command::Drain),
        ["undrain"] => Ok(Command::Undrain),
        ["show", "cluster"] => Ok(Command::Show(Show::Cluster)),
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
        ["reload"] => Ok(Command::Reload),
        ["clear", "stats"] => Ok(Command::ClearStats),
        ["log", "reopen"] => Ok(Command::LogReopen),
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
            rule: a.key("rule").and_then(|v| v.first().and_then(Got::text)),
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
            let cookie = a.key("cookie").and_then(|v| match v {
                [Got::Text(name), Got::Text(value)] => Some(CookieMatch {
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
                cookie,
                ..Rule::new(a.text(1), bind)
            };
            edit(Edit::RuleAdd {
                virtual_id: a.text(0),
                rule: Box::new(rule),
                at: number(a.key("at")),
            })
        }
        ["rule", "del"] => edit(Edit::RuleDel {
            virtual_id: a.text(0),
            rule: a.text(1),
        }),
        ["rule", "class"] => edit(Edit::Class(ClassEdit::Rule {
            virtual_id: a.text(0),
            rule: a.text(1),
            priority: number(a.key("priority")).map(Some),
            cost: number(a.key("cost")).map(Some),
        })),
        ["tier"] => edit(Edit::Class(ClassEdit::Tier {
            id: a.text(0),
            tier: first(1).and_then(Got::number).unwrap_or_default(),
        })),
        ["queue"] => edit(Edit::Class(ClassEdit::Queue {
            virtual_id: a.text(0),
            size: number(a.key("size")),
            priority: number(a.key("priority")),
            cost: number(a.key("cost")),
        })),
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
