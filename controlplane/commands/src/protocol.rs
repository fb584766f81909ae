//! The control socket's protocol.
//!
//! A client connects to the Unix socket, writes one line of command text (UTF-8, at most
//! [`MAX_REQUEST`] bytes, ending with `\n`), and reads one [`Response`]: a JSON object on
//! one line, ending with `\n`. Then the server closes the connection: one command per
//! connection keeps the server a simple poll loop that never waits on a slow client for
//! long (see `splicer-control`).
//!
//! ```text
//! > show virtual www
//! < {"ok":true,"text":"name  address ...","data":[{"name":"www",...}]}
//! > show virtual www2
//! < {"ok":false,"text":"virtual www2 does not exist","data":null}
//! ```
//!
//! `text` is what a person reads (the shell and `splicer ctl` print it); `data` is the same
//! information for programs (`splicer ctl --json` prints it), `null` when there is none.

use serde::{Deserialize, Serialize};

/// Longest request line the server reads, newline included.
pub const MAX_REQUEST: usize = 4096;

/// The answer to one command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// Whether the command succeeded. A failed command changed nothing.
    pub ok: bool,
    /// For people: the result, or the error message when `ok` is false.
    pub text: String,
    /// For programs: the result as JSON (`null` for commands without data, and on error).
    #[serde(default)]
    pub data: serde_json::Value,
}

impl Response {
    /// A success with text only.
    pub fn text(text: impl Into<String>) -> Self {
        Response {
            ok: true,
            text: text.into(),
            data: serde_json::Value::Null,
        }
    }

    /// A success with text and data.
    pub fn with_data(text: impl Into<String>, data: serde_json::Value) -> Self {
        Response {
            ok: true,
            text: text.into(),
            data,
        }
    }

    /// A failure; `message` says what is wrong.
    pub fn error(message: impl Into<String>) -> Self {
        Response {
            ok: false,
            text: message.into(),
            data: serde_json::Value::Null,
        }
    }

    /// The response as it goes on the wire: one line of JSON and `\n`.
    pub fn to_line(&self) -> String {
        // Serializing a struct of a bool, a string and a Value cannot fail, and JSON
        // escapes every newline inside strings, so the result is one line.
        let mut line = serde_json::to_string(self).unwrap_or_else(|e| {
            format!(r#"{{"ok":false,"text":"cannot encode the response: {e}","data":null}}"#)
        });
        line.push('\n');
        line
    }

    /// Parses a response line.
    pub fn from_line(line: &str) -> Result<Self, String> {
        serde_json::from_str(line.trim_end()).map_err(|e| format!("malformed response: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_round_trip() {
        let r = Response::with_data(
            "a\nb \"quoted\"",
            serde_json::json!({"x": [1, 2], "s": "line\nbreak"}),
        );
        let line = r.to_line();
        assert!(line.ends_with('\n'));
        assert_eq!(line.matches('\n').count(), 1, "{line}");
        assert_eq!(Response::from_line(&line).unwrap(), r);
        let e = Response::error("virtual www2 does not exist");
        assert_eq!(
            e.to_line(),
            "{\"ok\":false,\"text\":\"virtual www2 does not exist\",\"data\":null}\n"
        );
        assert_eq!(
            Response::from_line(r#"{"ok":true,"text":"hi"}"#).unwrap(),
            Response::text("hi")
        );
        assert!(Response::from_line("nope")
            .unwrap_err()
            .starts_with("malformed response: "));
    }
}
