//! The control language's grammar (`splicer_commands::command`): what `splicer ctl`,
//! `splicer shell` and the control socket parse, complete and explain, on arbitrary
//! lines, and the control protocol's response lines. Applying the edits it accepts to a
//! configuration is `control_edit`'s target.
//!
//! Input: one line of text (the first, if there are several: lines do not affect each
//! other here, so one per run explores as much for a sixteenth of the work), parsed,
//! completed (tab completion and the `?` listing, against the demo configuration's
//! names), looked up in the help, and read as a response line.
//!
//! Checks: nothing panics; a completion starts at a character boundary inside the line;
//! a refusal says what is wrong; a parsed command's debug form can be written.

#![no_main]

use libfuzzer_sys::fuzz_target;
use splicer_commands::command::{self, Names};
use splicer_commands::Response;
use splicer_config::Config;
use std::sync::OnceLock;

const DEMO: &str = include_str!("../../configs/demo.toml");

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The names completion offers: the demo configuration's, loaded once.
    static NAMES: OnceLock<Names> = OnceLock::new();
    let names = NAMES.get_or_init(|| {
        let config = Config::from_toml_str(DEMO).expect("the demo configuration loads");
        Names::from_config(&config)
    });
    let line = text.split('\n').next().unwrap_or_default();
    let (start, _words) = command::complete(line, names);
    assert!(start <= line.len() && line.is_char_boundary(start));
    let _ = command::next_words(line, names);
    let _ = Response::from_line(line);
    let words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
    let _ = command::help(&words);
    match command::parse(line) {
        Ok(command) => {
            let _ = format!("{command:?}");
        }
        Err(e) => {
            assert!(!e.0.is_empty(), "an error says what is wrong");
        }
    }
});
