//! Parsing: every command, keywords, errors and suggestions.

use super::*;
use crate::command::parse::{distance, suggestion};

#[test]
fn every_command_parses() {
    assert_eq!(parse("show stats"), Ok(Command::Show(Show::Stats)));
    assert_eq!(parse("show ports"), Ok(Command::Show(Show::Ports(None))));
    assert_eq!(
        parse("show ports outside"),
        Ok(Command::Show(Show::Ports(Some("outside".into()))))
    );
    assert_eq!(parse("show workers"), Ok(Command::Show(Show::Workers)));
    assert_eq!(
        parse("show virtual"),
        Ok(Command::Show(Show::Virtual(None)))
    );
    assert_eq!(
        parse("show virtual www"),
        Ok(Command::Show(Show::Virtual(Some("www".into()))))
    );
    assert_eq!(parse("show real"), Ok(Command::Show(Show::Real(None))));
    assert_eq!(
        parse("show real s1"),
        Ok(Command::Show(Show::Real(Some("s1".into()))))
    );
    assert_eq!(parse("show pools"), Ok(Command::Show(Show::Pools(None))));
    assert_eq!(
        parse("show pools img.1"),
        Ok(Command::Show(Show::Pools(Some("img.1".into()))))
    );
    assert_eq!(parse("show config"), Ok(Command::Show(Show::Config)));
    assert_eq!(parse("clear stats"), Ok(Command::ClearStats));
    for level in LogLevel::ALL {
        assert_eq!(
            parse(&format!("log level {level}")),
            Ok(Command::LogLevel(level))
        );
    }
    assert_eq!(parse("help"), Ok(Command::Help(vec![])));
    assert_eq!(
        parse("help show virtual"),
        Ok(Command::Help(vec!["show".into(), "virtual".into()]))
    );
}

#[test]
fn keywords_are_case_insensitive_and_spacing_is_free() {
    assert_eq!(parse("  SHOW   Stats "), Ok(Command::Show(Show::Stats)));
    assert_eq!(
        parse("Log Level DEBUG"),
        Ok(Command::LogLevel(LogLevel::Debug))
    );
    // Names are kept as written.
    assert_eq!(
        parse("show virtual WWW"),
        Ok(Command::Show(Show::Virtual(Some("WWW".into()))))
    );
    assert_eq!(
        parse("SHOW Real S1"),
        Ok(Command::Show(Show::Real(Some("S1".into()))))
    );
    assert_eq!(
        parse("show POOLS  S1 "),
        Ok(Command::Show(Show::Pools(Some("S1".into()))))
    );
}

#[test]
fn unknown_commands_suggest_the_nearest() {
    assert_eq!(err("shwo"), "unknown command 'shwo'; did you mean 'show'?");
    assert_eq!(
        err("sh stats"),
        "unknown command 'sh'; did you mean 'show'?"
    );
    assert_eq!(
        err("frobnicate"),
        "unknown command 'frobnicate'; type 'help' for the list of commands"
    );
    assert_eq!(
        err("show stat"),
        "unknown command 'show stat'; did you mean 'show stats'?"
    );
    assert_eq!(
        err("show virtuals"),
        "unknown command 'show virtuals'; did you mean 'show virtual'?"
    );
    assert_eq!(
            err("show everything"),
            "unknown command 'show everything'; 'show' is followed by one of: stats, ports, workers, virtual, real, url, rule, pools, flows, config, cluster, announce"
        );
    assert_eq!(
        err("show reals"),
        "unknown command 'show reals'; did you mean 'show real'?"
    );
    assert_eq!(
        err("show pool s1"),
        "unknown command 'show pool'; did you mean 'show pools'?"
    );
    assert_eq!(
        err("show poolz"),
        "unknown command 'show poolz'; did you mean 'show pools'?"
    );
    assert_eq!(
            err("show server s1"),
            "unknown command 'show server'; 'show' is followed by one of: stats, ports, workers, virtual, real, url, rule, pools, flows, config, cluster, announce"
        );
    assert_eq!(
        err("clear counters"),
        "unknown command 'clear counters'; 'clear' is followed by one of: stats"
    );
    assert_eq!(
        err("log lvl debug"),
        "unknown command 'log lvl'; did you mean 'log level'?"
    );
}

#[test]
fn missing_words() {
    assert_eq!(
        err(""),
        "empty command; type 'help' for the list of commands"
    );
    assert_eq!(
        err("   "),
        "empty command; type 'help' for the list of commands"
    );
    assert_eq!(
            err("show"),
            "'show' needs one of: stats, ports, workers, virtual, real, url, rule, pools, flows, config, cluster, announce"
        );
    assert_eq!(err("clear"), "'clear' needs one of: stats");
    assert_eq!(err("log"), "'log' needs one of: level, reopen");
}

#[test]
fn log_level_errors() {
    assert_eq!(err("log level"), LEVEL_ERROR);
    assert_eq!(
        err("log level"),
        "log level must be one of error, warn, info, debug, trace"
    );
    assert_eq!(
        err("log level loud"),
        "log level must be one of error, warn, info, debug, trace, got 'loud'"
    );
    assert_eq!(
            err("log level info extra"),
            "too many arguments: 'log level' takes at most one argument (<error|warn|info|debug|trace>), got 'info extra'"
        );
}

#[test]
fn too_many_arguments() {
    assert_eq!(
        err("show stats now"),
        "too many arguments: 'show stats' takes no argument, got 'now'"
    );
    assert_eq!(
        err("show workers 0"),
        "too many arguments: 'show workers' takes no argument, got '0'"
    );
    assert_eq!(
        err("show config all"),
        "too many arguments: 'show config' takes no argument, got 'all'"
    );
    assert_eq!(
        err("clear stats please"),
        "too many arguments: 'clear stats' takes no argument, got 'please'"
    );
    assert_eq!(
        err("show virtual www api"),
        "too many arguments: 'show virtual' takes at most one argument ([name]), got 'www api'"
    );
    assert_eq!(
        err("show ports a b"),
        "too many arguments: 'show ports' takes at most one argument ([name]), got 'a b'"
    );
    assert_eq!(
        err("show real s1 s2"),
        "too many arguments: 'show real' takes at most one argument ([name]), got 's1 s2'"
    );
    assert_eq!(
        err("show pools s1 worker0"),
        "too many arguments: 'show pools' takes at most one argument ([real]), got 's1 worker0'"
    );
}

#[test]
fn suggestions() {
    assert_eq!(
        suggestion("wrokers", &["workers", "stats"]),
        Some("workers")
    );
    assert_eq!(suggestion("zzzzzz", &["workers", "stats"]), None);
    assert_eq!(distance("kitten", "sitting"), 3);
    assert_eq!(distance("", "abc"), 3);
}
