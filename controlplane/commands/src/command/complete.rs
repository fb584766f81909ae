//! Tab completion and the `?` listing: what may follow a partial line, from [`SYNTAX`]
//! and the [`Names`] that exist in the running appliance.

use super::parse::{parse, walk, words_after, Args, Got, Next};
use super::syntax::{meaning, Pool, Value, METHODS, SYNTAX};
use super::LogLevel;

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
    // After the last whitespace character, which may take more than one byte (U+0085
    // and U+00A0 are whitespace too).
    let start = before_cursor
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_whitespace())
        .map_or(0, |(i, c)| i + c.len_utf8());
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
