//! The clients of the control socket: `splicer ctl` (one command) and `splicer shell`
//! (interactive, with history and completion).

use crate::command::{self, Names};
use crate::protocol::Response;
use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{Config as EditorConfig, Context, Editor, Helper};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a client waits for the appliance to answer.
const TIMEOUT: Duration = Duration::from_secs(5);
/// Entries kept in the shell's history file.
const HISTORY_MAX: usize = 1000;

/// Sends one command line and reads the response. The error says what failed and, when
/// the socket is missing or refuses, what to check.
pub fn request(socket: &Path, line: &str) -> Result<Response, String> {
    let shown = socket.display();
    let mut stream = UnixStream::connect(socket).map_err(|e| {
        format!("cannot connect to {shown}: {e} (is splicer running, with this dataplane.control_socket?)")
    })?;
    let io = |e: std::io::Error| format!("{shown}: {e}");
    stream.set_read_timeout(Some(TIMEOUT)).map_err(io)?;
    stream.set_write_timeout(Some(TIMEOUT)).map_err(io)?;
    let mut text = line.replace(['\n', '\r'], " ");
    text.push('\n');
    stream.write_all(text.as_bytes()).map_err(io)?;
    let mut answer = String::new();
    BufReader::new(stream)
        .read_line(&mut answer)
        .map_err(|e| format!("{shown}: no answer: {e}"))?;
    if answer.is_empty() {
        return Err(format!(
            "{shown}: the appliance closed the connection without an answer"
        ));
    }
    Response::from_line(&answer)
}

/// `splicer ctl`: runs one command, prints its text (or its data with `json`) on stdout,
/// or the error on stderr. Returns whether it succeeded.
pub fn ctl(socket: &Path, words: &[String], json: bool) -> bool {
    match request(socket, &words.join(" ")) {
        Ok(r) if r.ok => {
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&r.data).unwrap_or_else(|_| "null".into())
                );
            } else if !r.text.is_empty() {
                println!("{}", r.text);
            }
            true
        }
        Ok(r) => {
            eprintln!("splicer: error: {}", r.text);
            false
        }
        Err(e) => {
            eprintln!("splicer: error: {e}");
            false
        }
    }
}

/// The names of the running appliance, for completion (empty when it does not answer):
/// one `show config` gives them all, URLs, DIPs and rules included.
fn fetch_names(socket: &Path) -> Names {
    match request(socket, "show config") {
        Ok(r) if r.ok => Names::from_config_json(&r.data),
        _ => Names::default(),
    }
}

struct ShellHelper {
    names: Names,
}

impl Completer for ShellHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let (start, mut words) = command::complete(&line[..pos], &self.names);
        // A single candidate is completed with a space, ready for the next word.
        if let [only] = words.as_mut_slice() {
            only.push(' ');
        }
        Ok((start, words))
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}
impl Highlighter for ShellHelper {}
impl Validator for ShellHelper {}
impl Helper for ShellHelper {}

/// Where the shell keeps its history: `$HOME/.splicer_history`, or under `/root`.
pub fn history_file() -> PathBuf {
    let home = std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map_or_else(|| PathBuf::from("/root"), PathBuf::from);
    home.join(".splicer_history")
}

/// `splicer shell`: reads commands until `exit`, `quit` or end of input. A line ending
/// with `?` lists what can follow and comes back for editing; Tab completes.
pub fn shell(socket: &Path) -> Result<(), String> {
    // Fail early, with the same message as ctl, when the appliance is not there.
    request(socket, "help")?;
    let config = EditorConfig::builder()
        .max_history_size(HISTORY_MAX)
        .map_err(|e| e.to_string())?
        .auto_add_history(false)
        .completion_type(rustyline::CompletionType::List)
        .build();
    let mut editor: Editor<ShellHelper, DefaultHistory> =
        Editor::with_config(config).map_err(|e| e.to_string())?;
    editor.set_helper(Some(ShellHelper {
        names: fetch_names(socket),
    }));
    let history = history_file();
    // A missing history file is the normal first run.
    let _ = editor.load_history(&history);
    println!(
        "Splicer shell on {}: 'help' lists the commands, Tab completes, '?' lists what can follow, 'exit' leaves.",
        socket.display()
    );
    let mut initial = String::new();
    loop {
        let read = editor.readline_with_initial("splicer> ", (&initial, ""));
        initial.clear();
        let line = match read {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.to_string()),
        };
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if matches!(trimmed, "exit" | "quit") {
            break;
        }
        if let Some(partial) = line.trim_end().strip_suffix('?') {
            let names = editor.helper().map(|h| h.names.clone()).unwrap_or_default();
            println!("{}", command::next_words(partial, &names));
            initial = partial.to_string();
            continue;
        }
        let _ = editor.add_history_entry(trimmed);
        match request(socket, trimmed) {
            Ok(r) if r.ok => {
                if !r.text.is_empty() {
                    println!("{}", r.text);
                }
            }
            Ok(r) => println!("error: {}", r.text),
            Err(e) => println!("error: {e}"),
        }
        // Names change with the commands that edit the configuration.
        if let Some(h) = editor.helper_mut() {
            h.names = fetch_names(socket);
        }
    }
    if let Err(e) = editor.save_history(&history) {
        eprintln!(
            "splicer: warning: cannot save the history to {}: {e}",
            history.display()
        );
    }
    Ok(())
}
