//! Tab completion, the `?` listing and the names completion offers.

use super::*;
use splicer_config::{Predictor, ServiceState};

#[test]
fn completion_of_words_and_names() {
    let n = names();
    assert_eq!(
        complete("", &n),
        (
            0,
            [
                "show",
                "virtual",
                "no",
                "real",
                "url",
                "bind",
                "dip",
                "link",
                "backup",
                "in-service",
                "out-of-service",
                "weight",
                "predictor",
                "tier",
                "queue",
                "rule",
                "drain",
                "undrain",
                "save",
                "reload",
                "clear",
                "log",
                "help"
            ]
            .map(String::from)
            .to_vec()
        )
    );
    assert_eq!(complete("sh", &n), (0, vec!["show".into()]));
    assert_eq!(complete("show st", &n), (5, vec!["stats".into()]));
    assert_eq!(
        complete("show ", &n).1,
        vec![
            "stats", "ports", "workers", "virtual", "real", "url", "rule", "pools", "flows",
            "config", "cluster", "announce"
        ]
    );
    assert_eq!(complete("show p", &n).1, vec!["ports", "pools"]);
    assert_eq!(complete("show po", &n).1, vec!["ports", "pools"]);
    assert_eq!(complete("show poo", &n).1, vec!["pools"]);
    assert_eq!(
        complete("show r", &n),
        (5, vec!["real".into(), "rule".into()])
    );
    assert_eq!(complete("show re", &n), (5, vec!["real".into()]));
    assert_eq!(complete("show real ", &n).1, vec!["s1", "s2", "img.1"]);
    assert_eq!(
        complete("show real s", &n),
        (10, vec!["s1".into(), "s2".into()])
    );
    assert_eq!(complete("show pools ", &n).1, vec!["s1", "s2", "img.1"]);
    assert_eq!(complete("show pools i", &n), (11, vec!["img.1".into()]));
    assert_eq!(complete("SHOW POOLS s2", &n).1, vec!["s2".to_string()]);
    // Reals complete only where a real is expected.
    assert!(complete("show virtual s", &n).1.is_empty());
    // Virtuals complete with the DIPs, which 'show virtual' lists too.
    assert_eq!(
        complete("show virtual ", &n).1,
        vec!["www", "www-tls", "api", "198.19.0.11"]
    );
    assert!(complete("show pools s1 ", &n).1.is_empty());
    assert_eq!(complete("help show r", &n).1, vec!["real", "rule"]);
    assert_eq!(complete("help show po", &n).1, vec!["ports", "pools"]);
    assert_eq!(
        complete("show virtual w", &n),
        (13, vec!["www".into(), "www-tls".into()])
    );
    assert_eq!(
        complete("show ports ", &n).1,
        vec!["outside".to_string(), "inside".to_string()]
    );
    assert_eq!(complete("show ports in", &n).1, vec!["inside".to_string()]);
    assert_eq!(complete("log level d", &n).1, vec!["debug".to_string()]);
    assert_eq!(complete("help sh", &n).1, vec!["show".to_string()]);
    assert_eq!(
        complete("help show c", &n).1,
        vec!["config".to_string(), "cluster".to_string()]
    );
    assert!(complete("show stats ", &n).1.is_empty());
    assert!(complete("show virtual www ", &n).1.is_empty());
    assert!(complete("bogus ", &n).1.is_empty());
    assert_eq!(complete("SHOW ST", &n).1, vec!["stats".to_string()]);
}

#[test]
fn question_mark_listing() {
    let n = names();
    let top = next_words("", &n);
    assert!(top.contains("show") && top.contains("log"), "{top}");
    let show = next_words("show ", &n);
    assert!(show.contains("virtual") && show.contains("the running configuration"));
    assert_eq!(next_words("show v", &n).lines().count(), 1);
    let www = next_words("show virtual ", &n);
    assert!(www.contains("www-tls"), "{www}");
    let none = next_words("show virtual ", &Names::default());
    assert!(none.contains("[name]"), "{none}");
    let reals = next_words("show real ", &n);
    assert!(reals.contains("real img.1"), "{reals}");
    assert_eq!(reals.lines().count(), 3, "{reals}");
    let pools = next_words("show pools s", &n);
    assert_eq!(pools.lines().count(), 2, "{pools}");
    let no_reals = next_words("show pools ", &Names::default());
    assert!(no_reals.contains("[real]"), "{no_reals}");
    assert_eq!(
        next_words("show pools s1 ", &n),
        "<Enter>  the command is complete"
    );
    assert_eq!(
        next_words("show stats ", &n),
        "<Enter>  the command is complete"
    );
    assert_eq!(
        next_words("shwo ", &n),
        "unknown command 'shwo'; did you mean 'show'?"
    );
}

#[test]
fn completion_of_new_commands() {
    let n = names();
    let c = |line: &str| complete(line, &n).1;
    assert_eq!(c("n"), vec!["no"]);
    assert_eq!(
        c("no "),
        vec!["virtual", "real", "url", "bind", "dip", "link", "backup"]
    );
    assert_eq!(c("rule "), vec!["add", "del", "class", "list"]);
    assert_eq!(c("queue www "), vec!["size", "priority", "cost"]);
    assert_eq!(c("rule class www img "), vec!["priority", "cost"]);
    assert_eq!(c("in"), vec!["in-service"]);
    assert_eq!(c("out-of-service "), vec!["virtual", "real", "url"]);
    assert_eq!(c("out-of-service real "), vec!["s1", "s2", "img.1"]);
    assert_eq!(c("out-of-service url "), vec!["moved", "maint"]);
    assert_eq!(
        c("out-of-service virtual "),
        vec!["www", "www-tls", "api", "198.19.0.11"]
    );
    assert_eq!(
        c("out-of-service real s1 "),
        vec!["oos", "maintenance", "sticky", "failed", "all"]
    );
    assert_eq!(c("out-of-service real s1 m"), vec!["maintenance"]);
    assert_eq!(c("out-of-service real s1 sticky "), vec!["all"]);
    assert!(c("out-of-service real s1 sticky all ").is_empty());
    assert_eq!(c("in-service real s1 "), vec!["all"]);
    assert_eq!(c("virtual w"), vec!["www", "www-tls"]);
    // Free values complete to nothing; their label is for '?' only.
    assert!(c("virtual www ").is_empty());
    assert_eq!(c("virtual www 198.18.0.100:80 "), vec!["mode", "predictor"]);
    assert_eq!(
        c("virtual www 198.18.0.100:80 mode "),
        vec!["splice", "redirect", "tcp", "handoff"]
    );
    assert_eq!(c("virtual www 198.18.0.100:80 mode r"), vec!["redirect"]);
    assert_eq!(
        c("virtual www 198.18.0.100:80 mode redirect "),
        vec!["predictor"]
    );
    assert_eq!(
        c("virtual www 198.18.0.100:80 predictor "),
        Predictor::NAMES.to_vec()
    );
    assert_eq!(c("predictor www "), Predictor::NAMES.to_vec());
    assert_eq!(
        c("real s1 198.19.0.11:80 "),
        vec!["weight", "pool", "maxconns"]
    );
    assert_eq!(
        c("real s1 198.19.0.11:80 weight 3 "),
        vec!["pool", "maxconns"]
    );
    assert!(c("real s1 198.19.0.11:80 weight ").is_empty());
    assert_eq!(c("bind www "), vec!["s1", "s2", "img.1", "moved", "maint"]);
    assert_eq!(c("bind www s1 m"), vec!["moved", "maint"]);
    assert_eq!(c("weight "), vec!["s1", "s2", "img.1", "moved", "maint"]);
    assert_eq!(
        c("link moved "),
        vec!["www", "www-tls", "api", "198.19.0.11"]
    );
    assert_eq!(c("link "), vec!["moved", "maint"]);
    assert_eq!(c("no dip "), vec!["198.19.0.11"]);
    assert!(c("dip ").is_empty());
    assert_eq!(c("dip 198.19.0.11 "), vec!["port"]);
    assert_eq!(c("dip 198.19.0.11 port "), vec!["outside", "inside"]);
    assert_eq!(
        c("backup www "),
        vec!["s1", "s2", "img.1", "www", "www-tls", "api", "moved", "maint"]
    );
    assert_eq!(c("rule del www "), vec!["img", "api"]);
    assert_eq!(c("rule del api "), vec!["v1"]);
    assert!(c("rule del nothing ").is_empty());
    assert_eq!(c("rule list "), vec!["www", "www-tls", "api"]);
    assert!(c("rule add www ").is_empty());
    assert_eq!(
        c("rule add www img "),
        vec![
            "path_prefix",
            "path_suffix",
            "host",
            "method",
            "header",
            "cookie",
            "bind",
            "at"
        ]
    );
    assert_eq!(c("rule add www img p"), vec!["path_prefix", "path_suffix"]);
    assert_eq!(c("rule add www img method "), METHODS.to_vec());
    assert_eq!(c("rule add www img method P"), vec!["POST", "PUT", "PATCH"]);
    assert_eq!(
        c("rule add www img host a bind s2 "),
        vec![
            "s1",
            "s2",
            "img.1",
            "moved",
            "maint",
            "path_prefix",
            "path_suffix",
            "method",
            "header",
            "cookie",
            "at"
        ]
    );
    assert!(c("rule add www img host a bind s2 at ").is_empty());
    assert_eq!(c("show flows "), vec!["virtual", "real", "client", "limit"]);
    assert_eq!(
        c("show flows virtual "),
        vec!["www", "www-tls", "api", "198.19.0.11"]
    );
    assert_eq!(c("show flows virtual www r"), vec!["real"]);
    assert_eq!(c("show flows real "), vec!["s1", "s2", "img.1"]);
    assert_eq!(c("show url "), vec!["moved", "maint"]);
    assert_eq!(c("show rule "), vec!["www", "www-tls", "api"]);
    assert!(c("save ").is_empty());
    // A wrong token before the cursor: nothing completes.
    assert!(c("weight s1 x ").is_empty());
    assert_eq!(
        c("help no "),
        vec!["virtual", "real", "url", "bind", "dip", "link", "backup"]
    );
    assert_eq!(c("help rule a"), vec!["add"]);
}

#[test]
fn question_mark_on_new_commands() {
    let n = names();
    assert_eq!(
        next_words("virtual www ", &n),
        "  <ip:port>  an address like 198.18.0.100:80"
    );
    assert_eq!(
        next_words("weight s1 ", &n),
        "  <N>  weight: a whole number"
    );
    let states = next_words("out-of-service real s1 ", &n);
    assert!(
        states.contains("maintenance  state maintenance: as oos"),
        "{states}"
    );
    assert!(states.contains("all          [all]: every one"), "{states}");
    let conditions = next_words("rule add www img ", &n);
    assert!(
        conditions.contains("header       [header <name> <value>]"),
        "{conditions}"
    );
    assert!(
        conditions.contains("bind         bind <member>..."),
        "{conditions}"
    );
    assert_eq!(
        next_words("rule del www-tls ", &n),
        "  <name>  the name of a rule"
    );
    assert_eq!(
        next_words("show url ", &Names::default()),
        "  [name]  the name of a url"
    );
    assert_eq!(next_words("save ", &n), "  [file]  a word, as written");
    assert_eq!(
        next_words("out-of-service real s1 failed all ", &n),
        "<Enter>  the command is complete"
    );
    assert_eq!(
        next_words("out-of-service real s1 x ", &n),
        "unknown state x; one of oos, maintenance, sticky, failed"
    );
}

#[test]
fn names_from_the_configuration() {
    let mut config = splicer_config::Config::from_toml_str(&splicer_config::fixtures::with_ports(
        "",
        r#"
[[real]]
name = "s1"
address = "198.19.0.11:80"
[[virtual]]
name = "www"
address = "198.18.0.100:80"
bind = ["s1"]
[[virtual.rule]]
name = "img"
path_prefix = "/img/"
bind = ["s1"]
[[virtual]]
name = "api"
address = "198.18.0.101:80"
"#,
    ))
    .unwrap();
    config.urls.push(splicer_config::Url {
        name: "moved".into(),
        url: "http://%h/new/%d".into(),
        code: 302,
        weight: 1,
        link: None,
        state: ServiceState::InService,
    });
    config.dips.push(splicer_config::Dip {
        address: Ipv4Addr::new(198, 19, 0, 11),
        port: "outside".into(),
    });
    assert_eq!(
        Names::from_config(&config),
        Names {
            virtuals: strings(&["www", "api"]),
            reals: strings(&["s1"]),
            ports: strings(&["outside", "inside"]),
            urls: strings(&["moved"]),
            dips: strings(&["198.19.0.11"]),
            rules: vec![("www".into(), "img".into())],
        }
    );
    assert_eq!(
        Names::from_config_json(&serde_json::Value::Null),
        Names::default()
    );
}

/// Whitespace of more than one byte (U+0085, U+00A0, U+3000) ends a word like a space:
/// completion and the `?` listing start after it instead of inside it (found by the
/// `control_command` fuzz target: `splicer shell` panicked there on tab or `?`).
#[test]
fn multibyte_whitespace_ends_a_word() {
    let n = names();
    for ws in ['\u{85}', '\u{a0}', '\u{3000}'] {
        let line = format!("show{ws}st");
        let (start, words) = complete(&line, &n);
        assert_eq!(start, "show".len() + ws.len_utf8(), "{ws:?}");
        assert_eq!(words, ["stats"], "{ws:?}");
        let _ = next_words(&line, &n);
    }
    let crash = "ceca\u{85}e1)1e)1a\u{8a}e1)1e)1";
    let (start, _) = complete(crash, &n);
    assert!(crash.is_char_boundary(start));
    let _ = next_words(crash, &n);
}
