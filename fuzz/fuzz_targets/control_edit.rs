//! Live edits in the control language: what `splicer ctl`, `splicer shell` and the
//! control socket change in the running configuration (`Config::edited`), on arbitrary
//! lines. The grammar alone is `control_command`'s target; this one follows the edits it
//! accepts through the configuration, which costs a TOML round trip per accepted edit.
//!
//! Input: lines of text. Each line is parsed; an edit command (`real`, `bind`,
//! `out-of-service`, `rule add` ...) is applied to the running configuration (the demo
//! configuration to start with) the way the control core applies it, and, when it is
//! accepted, becomes the running configuration for the next line.
//!
//! Checks: nothing panics; an accepted edit yields a configuration that validates,
//! saves and loads back equal, and plans a farm that keeps the indexes of the reals and
//! virtuals that remain (live reconfiguration depends on it).

#![no_main]

use libfuzzer_sys::fuzz_target;
use splicer_commands::command;
use splicer_commands::Command;
use splicer_config::{Config, FarmIds};
use std::sync::OnceLock;

const DEMO: &str = include_str!("../../configs/demo.toml");

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Loaded once: every run starts from the same running configuration.
    static START: OnceLock<(Config, FarmIds)> = OnceLock::new();
    let (config, ids) = START.get_or_init(|| {
        let config = Config::from_toml_str(DEMO).expect("the demo configuration loads");
        let mut ids = FarmIds::default();
        let _ = config.plan(&mut ids);
        (config, ids)
    });
    let (mut config, mut ids) = (config.clone(), ids.clone());
    for line in text.split('\n').take(16) {
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
            }
            Ok(_) | Err(_) => {}
        }
    }
});
