//! Every problem of a configuration file at once, each with its line and column: what
//! `splicer check` and a reload report, so that one round of fixes is enough.
//!
//! [`Config::load`] stops at the first problem (a running appliance only needs to know
//! that the file is wrong). Here the raw tables are converted entry by entry and the
//! validation runs section by section, collecting each failure; the key path of each
//! (`port[1].address`) is then looked up in the parsed document for its position.

use crate::{raw, validate, Config, ConfigError};
use std::fmt;
use std::ops::Range;
use toml_edit::{ImDocument, Item, Table, Value};

/// One problem of a configuration file, where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line of the offending key (or of the table that misses it).
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// The key path, like `port[1].address`; `None` for syntax and shape errors.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.line, self.column)?;
        if let Some(key) = &self.key {
            write!(f, "{key}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Parses and validates `text`, collecting every problem that one pass can find: a
/// syntax or shape error (TOML stops there), else every entry that fails to convert,
/// else every section of the validation that fails (the cross-references between
/// sections are checked only once the sections themselves are valid).
pub fn check(text: &str) -> Result<Config, Vec<Problem>> {
    let raw: raw::RawConfig = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            let (line, column) = position(text, e.span().map_or(0, |s| s.start));
            return Err(vec![Problem {
                line,
                column,
                key: None,
                message: e.message().trim_end().to_string(),
            }]);
        }
    };
    let errors = match raw::convert_all(raw) {
        Ok(config) => {
            let errors = validate::validate_all(&config);
            if errors.is_empty() {
                return Ok(config);
            }
            errors
        }
        Err(errors) => errors,
    };
    // toml parsed the text above, so toml_edit does too; without a document every
    // problem points at the start of the file rather than being lost.
    let doc = ImDocument::parse(text).ok();
    let mut problems: Vec<Problem> = errors
        .into_iter()
        .map(|e| {
            let key = e.key().map(str::to_string);
            let at = match (&doc, &key) {
                (Some(doc), Some(key)) => span_of(doc, key).map_or(0, |s| s.start),
                _ => 0,
            };
            let (line, column) = position(text, at);
            Problem {
                line,
                column,
                key,
                message: match e {
                    ConfigError::Invalid { message, .. } => message,
                    other => other.to_string(),
                },
            }
        })
        .collect();
    // In file order, as a compiler lists them.
    problems.sort_by_key(|p| (p.line, p.column));
    Err(problems)
}

/// The 1-based line and column (in characters) of byte `offset` of `text`.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..text.floor_char_boundary_compat(offset)];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

trait FloorCharBoundary {
    fn floor_char_boundary_compat(&self, i: usize) -> usize;
}

impl FloorCharBoundary for str {
    // `str::floor_char_boundary` is not stable yet.
    fn floor_char_boundary_compat(&self, i: usize) -> usize {
        let mut i = i.min(self.len());
        while !self.is_char_boundary(i) {
            i -= 1;
        }
        i
    }
}

/// A node of the parsed document on the way down a key path.
#[derive(Clone, Copy)]
enum Node<'a> {
    Item(&'a Item),
    Table(&'a Table),
    Value(&'a Value),
}

impl<'a> Node<'a> {
    fn span(self) -> Option<Range<usize>> {
        match self {
            Node::Item(i) => i.span(),
            Node::Table(t) => t.span(),
            Node::Value(v) => v.span(),
        }
    }

    fn get(self, name: &str) -> Option<Node<'a>> {
        match self {
            Node::Table(t) => t.get(name).map(Node::Item),
            Node::Item(Item::Table(t)) => t.get(name).map(Node::Item),
            Node::Item(Item::Value(Value::InlineTable(t))) | Node::Value(Value::InlineTable(t)) => {
                t.get(name).map(Node::Value)
            }
            _ => None,
        }
    }

    fn index(self, i: usize) -> Option<Node<'a>> {
        match self {
            Node::Item(Item::ArrayOfTables(a)) => a.get(i).map(Node::Table),
            Node::Item(Item::Value(Value::Array(a))) | Node::Value(Value::Array(a)) => {
                a.get(i).map(Node::Value)
            }
            _ => None,
        }
    }
}

/// Where `key` (`virtual[0].rule[2].path_prefix`) is in `doc`: the span of the deepest
/// part of the path that the file has (a missing key points at its table).
fn span_of(doc: &ImDocument<&str>, key: &str) -> Option<Range<usize>> {
    let mut node = Node::Table(doc.as_table());
    let mut best = None;
    for part in key.split('.') {
        let (name, indexes) = match part.find('[') {
            Some(at) => (&part[..at], &part[at..]),
            None => (part, ""),
        };
        let Some(next) = node.get(name) else { break };
        node = next;
        best = node.span().or(best);
        let mut lost = false;
        for index in indexes.split(['[', ']']).filter(|s| !s.is_empty()) {
            match index.parse().ok().and_then(|i| node.index(i)) {
                Some(next) => {
                    node = next;
                    best = node.span().or(best);
                }
                None => {
                    lost = true;
                    break;
                }
            }
        }
        if lost {
            break;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{with_ports, REALS};

    fn problems(text: &str) -> Vec<String> {
        check(text)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_valid_file_is_its_config() {
        let text = with_ports("", REALS);
        assert_eq!(check(&text).unwrap(), Config::from_toml_str(&text).unwrap());
    }

    #[test]
    fn every_bad_entry_is_listed_with_its_line_and_column() {
        // Line 1 [dataplane], 2 eal, 3 workers; the ports start at line 5.
        let text = with_ports(
            "workers = 0",
            r#"
[[real]]
name = "s1"
address = "198.19.0.11:99999"

[[real]]
name = "s2"
address = "198.19.0.12:80"
weight = "heavy"
"#,
        );
        let got = problems(&text);
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got[0].starts_with("3:11: dataplane.workers: "), "{got:?}");
        assert!(got[1].starts_with("15:11: real[0].address: "), "{got:?}");
        assert!(got[2].starts_with("20:10: real[1].weight: "), "{got:?}");
    }

    #[test]
    fn sections_that_fail_are_each_reported() {
        // A bad port subnet and a duplicate name: two sections, two problems.
        let text = format!(
            "[dataplane]\neal = [\"-l\", \"0-1\"]\nmempool_size = 10\n\n[[port]]\nname = \"a\"\naddress = \"198.18.0.0/24\"\n{REALS}\n[[url]]\nname = \"s1\"\nurl = \"http://x/\"\n"
        );
        let got = problems(&text);
        assert!(got.len() >= 3, "{got:?}");
        assert!(
            got[0].starts_with("3:16: dataplane.mempool_size: "),
            "{got:?}"
        );
        assert!(got[1].starts_with("7:11: port[0].address: "), "{got:?}");
        assert!(got.iter().any(|p| p.contains("s1")), "{got:?}");
    }

    #[test]
    fn a_missing_key_points_at_its_table_and_a_syntax_error_at_itself() {
        let text = with_ports("", "\n[[real]]\nname = \"s1\"\n");
        let got = problems(&text);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(
            got[0].starts_with("13:1: real[0].address: missing"),
            "{got:?}"
        );
        let got = problems("[dataplane]\neal = [\"-l\"\nworkers = 1\n");
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].starts_with("3:1: "), "{got:?}");
    }

    #[test]
    fn positions_count_characters() {
        assert_eq!(position("ab\n\u{e9}x", 5), (2, 2));
        assert_eq!(position("ab", 99), (1, 3));
        assert_eq!(position("\u{e9}", 1), (1, 1));
    }
}
