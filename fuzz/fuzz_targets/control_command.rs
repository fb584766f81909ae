//! The control language (`splicer_cli::command`): what `splicer ctl`, `splicer shell`
//! and the control socket accept, on arbitrary lines, applied as live edits.
//!
//! Input: lines of text. Each line is parsed; an edit command (`real`, `bind`,
//! `out-of-service`, `rule add` ...) is applied to the running configuration (the demo
//! configuration to start with) the way the control core applies it, and, when it is
//! accepted, becomes the running configuration for the next line. Help, tab completion
//! and the `?` listing run on every line too, and the response line parser on it.
//!
//! Checks: nothing panics; an accepted edit yields a configuration that validates,
//! saves and loads back equal, and plans a farm that keeps the indexes of the reals and
//! virtuals that remain (live reconfiguration depends on it); a completion starts at a
//! character boundary inside the line.

#![no_main]

use libfuzzer_sys::fuzz_target;
use splicer_cli::command::{self, Names};
use splicer_cli::{Command, Response};
use splicer_config::{Config, FarmIds};
use std::sync::OnceLock;

const DEMO: &str = include_str!("../../configs/demo.toml");

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Loaded once: every run starts from the same running configuration.
    static START: OnceLock<(Config, FarmIds, Names)> = OnceLock::new();
    let (config, ids, names) = START.get_or_init(|| {
        let config = Config::from_toml_str(DEMO).expect("the demo configuration loads");
        let mut ids = FarmIds::default();
        let _ = config.plan(&mut ids);
        let names = Names::from_config(&config);
        (config, ids, names)
    });
    let (mut config, mut ids, mut names) = (config.clone(), ids.clone(), names.clone());
    for line in text.split('\n').take(16) {
        let (start, words) = command::complete(line, &names);
        assert!(start <= line.len() && line.is_char_boundary(start));
        let _ = words;
        let _ = command::next_words(line, &names);
        let _ = Response::from_line(line);
        let words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        let _ = command::help(&words);
        match command::parse(line) {
            Ok(Command::Edit(edit)) => {
                let Ok(next) = config.edited(&edit) else {
                    continue;
                };
                next.validate().expect("an accepted edit validates");
                let saved = next.to_toml();
                let again = Config::from_toml_str(&saved)
                    .unwrap_or_else(|e| panic!("saved configuration does not load: {e}\n{saved}"));
                assert_eq!(again, next, "save/load changed the configuration\n{saved}");
                let before = ids.clone();
                let plan = next.plan(&mut ids);
                // A real that is still there keeps its index.
                for (i, r) in next.reals.iter().enumerate() {
                    if let Some(old) = before.real(&r.name, r.address) {
                        assert_eq!(plan.farm.reals[usize::from(old)].name, r.name, "real {i}");
                    }
                }
                config = next;
                names = Names::from_config(&config);
            }
            Ok(other) => {
                let _ = format!("{other:?}");
            }
            Err(e) => {
                assert!(!e.0.is_empty(), "an error says what is wrong");
            }
        }
    }
});
