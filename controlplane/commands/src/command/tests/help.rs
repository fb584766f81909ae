//! Help texts.

use super::*;

#[test]
fn help_texts() {
    let all = help(&[]).unwrap();
    for s in SYNTAX {
        assert!(all.contains(&s.usage_line()), "{all}");
        assert!(all.contains(s.summary), "{all}");
        assert!(!s.help.is_empty());
    }
    let show = help(&["show".into()]).unwrap();
    assert!(show.contains("show virtual [name]"), "{show}");
    assert!(!show.contains("clear stats"), "{show}");
    let one = help(&["show".into(), "virtual".into()]).unwrap();
    assert!(one.starts_with("show virtual [name]\n\n"), "{one}");
    assert!(one.contains("max_request_head"), "{one}");
    assert!(
        one.contains("max_pipeline") && one.contains("max_held"),
        "{one}"
    );
    for form in ["show real [name]", "show pools [real]"] {
        assert!(show.contains(form), "{show}");
    }
    let real = help(&["show".into(), "real".into()]).unwrap();
    assert!(real.starts_with("show real [name]\n\n"), "{real}");
    assert!(real.contains("maxconns"), "{real}");
    let pools = help(&["show".into(), "pools".into(), "s1".into()]).unwrap();
    assert!(pools.starts_with("show pools [real]\n\n"), "{pools}");
    assert!(pools.contains("inflight"), "{pools}");
    let clear = help(&["clear".into()]).unwrap();
    assert!(clear.starts_with("clear stats\n\n"), "{clear}");
    let with_arg = help(&["log".into(), "level".into(), "debug".into()]).unwrap();
    assert!(with_arg.starts_with("log level <"), "{with_arg}");
    assert_eq!(
        help(&["shwo".into()]).unwrap_err().0,
        "unknown command 'shwo'; did you mean 'show'?"
    );
    assert_eq!(
        err("help shwo"),
        "unknown command 'shwo'; did you mean 'show'?"
    );
    assert_eq!(
        err("help show stat"),
        "unknown command 'show stat'; did you mean 'show stats'?"
    );
}

#[test]
fn help_of_every_command() {
    for s in SYNTAX {
        let words: Vec<String> = s.words.iter().map(|w| w.to_string()).collect();
        let text = help(&words).unwrap();
        // 'help no' and 'help rule' list several; the full words give one.
        assert!(
            text.starts_with(&format!("{}\n\n", s.usage_line())),
            "{text}"
        );
        if !s.example.is_empty() {
            assert!(text.ends_with(&format!("Example: {}", s.example)), "{text}");
        }
        assert!(text.lines().all(|l| l.len() <= 78), "{text}");
    }
    let oos = help(&strings(&["out-of-service"])).unwrap();
    for state in [
        "state oos",
        "state maintenance",
        "state sticky",
        "state failed",
    ] {
        assert!(oos.contains(state), "{oos}");
    }
    assert!(oos.contains("idle pooled connections are closed"), "{oos}");
    assert!(oos.contains("the real is gone"), "{oos}");
    let url = help(&strings(&["url"])).unwrap();
    for macro_line in [
        "%h  the request's host",
        "%s  the port",
        "%d  the requested document",
        "%%  a %",
    ] {
        assert!(url.contains(macro_line), "{url}");
    }
    assert!(url.contains("default 302"), "{url}");
    let rule = help(&strings(&["rule", "add"])).unwrap();
    for c in [
        "path_prefix <p>",
        "path_suffix <s>",
        "host <h>",
        "method <M>",
        "header <name> <value>",
    ] {
        assert!(rule.contains(c), "{rule}");
    }
    let virtual_help = help(&strings(&["virtual"])).unwrap();
    assert!(virtual_help.contains("mode redirect"), "{virtual_help}");
    let no = help(&strings(&["no"])).unwrap();
    assert_eq!(no.lines().count(), 7, "{no}");
    let all = help(&[]).unwrap();
    for s in SYNTAX {
        assert!(
            all.contains(&s.usage_line()) && all.contains(s.summary),
            "{all}"
        );
    }
    assert!(all.lines().all(|l| l.len() <= 130), "{all}");
}

/// The help of `real` and `weight` states the ranges and defaults the configuration
/// declares (`splicer_config::keys`): the shell cannot promise other bounds than the
/// validator's.
#[test]
fn help_states_the_declared_ranges() {
    use splicer_config::keys::{IntKey, REAL_MAXCONNS, REAL_POOL, REAL_WEIGHT, URL_WEIGHT};
    let help_of = |words: &[&str]| {
        let s = SYNTAX.iter().find(|s| s.words == words).unwrap();
        s.help.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    let real = help_of(&["real"]);
    let stated = |k: &IntKey<u16>, field: &str| {
        format!("{field} ({} to {}, default {}", k.min, k.max, k.default)
    };
    for (key, field) in [
        (&REAL_WEIGHT, "weight"),
        (&REAL_POOL, "pool"),
        (&REAL_MAXCONNS, "maxconns"),
    ] {
        let want = stated(key, field);
        assert!(real.contains(&want), "{want:?} not in {real:?}");
    }
    let weight = help_of(&["weight"]);
    for k in [REAL_WEIGHT, URL_WEIGHT] {
        let want = format!("weight ({} to {})", k.min, k.max);
        assert!(weight.contains(&want), "{want:?} not in {weight:?}");
    }
}
