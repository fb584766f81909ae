//! `help`: the list of every command and the full help of one, drawn from [`SYNTAX`],
//! filled to the terminal's width.

use super::parse::resolve;
use super::syntax::{meaning, Param, Syntax, Value, SYNTAX};
use super::ParseError;

/// The commands a help topic covers: the commands whose words start with `words`, or the
/// one command `words` starts with (extra words are its arguments: `help show virtual www`).
pub(super) fn topic(words: &[String]) -> Result<Vec<&'static Syntax>, ParseError> {
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
