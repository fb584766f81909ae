//! Every command has an access level, and the read-only socket's list is the one meant.

use super::*;

/// The commands a read-only socket serves, by their words in [`SYNTAX`].
const READ_ONLY: &[&str] = &[
    "show stats",
    "show ports",
    "show workers",
    "show virtual",
    "show real",
    "show url",
    "show rule",
    "show pools",
    "show flows",
    "show config",
    "show announce",
    "show cluster",
    "rule list",
    "help",
];

/// The commands only the admin socket serves.
const ADMIN: &[&str] = &[
    "virtual",
    "no virtual",
    "real",
    "no real",
    "url",
    "no url",
    "bind",
    "no bind",
    "dip",
    "no dip",
    "link",
    "no link",
    "backup",
    "no backup",
    "in-service",
    "out-of-service",
    "weight",
    "predictor",
    "tier",
    "queue",
    "rule add",
    "rule del",
    "rule class",
    "save",
    "clear stats",
    "log level",
    "log reopen",
    "reload",
    "drain",
    "undrain",
];

/// A command added to the grammar without being put in one of the lists above fails
/// here, and so does one whose parsed form has another level than its list says.
#[test]
fn every_command_has_its_level() {
    for s in SYNTAX {
        let words = s.words.join(" ");
        let want = match (
            READ_ONLY.contains(&words.as_str()),
            ADMIN.contains(&words.as_str()),
        ) {
            (true, false) => Level::ReadOnly,
            (false, true) => Level::Admin,
            (false, false) => panic!("{words}: no access level: add it to READ_ONLY or ADMIN"),
            (true, true) => panic!("{words}: in both lists"),
        };
        let line = if s.example.is_empty() {
            words.clone()
        } else {
            s.example.to_string()
        };
        let cmd = parse(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(cmd.level(), want, "{line}");
    }
    // The lists name only commands that exist.
    for w in READ_ONLY.iter().chain(ADMIN) {
        assert!(SYNTAX.iter().any(|s| s.words.join(" ") == *w), "{w}");
    }
}

#[test]
fn level_of_some_lines() {
    for (line, level) in [
        ("show real s1", Level::ReadOnly),
        ("SHOW STATS", Level::ReadOnly),
        ("help out-of-service", Level::ReadOnly),
        ("rule list www", Level::ReadOnly),
        ("out-of-service real s1", Level::Admin),
        ("clear stats", Level::Admin),
        ("log level debug", Level::Admin),
        ("save /tmp/x.toml", Level::Admin),
        ("no real s1", Level::Admin),
        ("drain", Level::Admin),
        ("drain status", Level::ReadOnly),
        ("undrain", Level::Admin),
    ] {
        assert_eq!(parse(line).unwrap().level(), level, "{line}");
    }
    assert_eq!(Level::ReadOnly.name(), "read-only");
}
