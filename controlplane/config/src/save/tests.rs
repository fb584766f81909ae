use super::Saved;
use crate::{Config, Real, Rule, ServiceState};
use std::time::Duration;

/// A file as a person writes it: comments at the top, inline, between tables and inside
/// them, defaults left out, a duration spelled "10s", keys in their own order.
const FILE: &str = r#"# Top comment: the lab's balancer.
# Second line of the top comment.

[dataplane]
# EAL first.
eal = ["-l", "0-2", "--no-huge"]
stats_interval = "10s"   # every ten seconds

[[port]]
name = "outside"             # clients' side
address = "198.18.0.1/24"

[[port]]
name = "inside"
address = "198.19.0.1/24"

# --- the servers ---
[[real]]
name = "s1"
address = "198.19.0.11:80"
weight = 3                   # the big one

# s2 is the spare: about to go.
[[real]]
address = "198.19.0.12:80"   # address before name, on purpose
name = "s2"

[[real]]
name = "s3"
address = "198.19.0.13:80"

# The one virtual service.
[[virtual]]
name = "www"
address = "198.18.0.100:80"
bind = ["s1", "s3"]          # not s2

[[virtual.rule]]
name = "img"                 # images
path_prefix = "/img/"
bind = ["s3"]
"#;

fn file_config() -> Config {
    Config::from_toml_str(FILE).expect("the test file loads")
}

/// `config` over FILE, which must merge (not fall back), and load back to `config`.
fn merged(config: &Config) -> String {
    match config.to_toml_over(FILE) {
        Saved::Merged(text) => {
            assert_eq!(&Config::from_toml_str(&text).unwrap(), config);
            text
        }
        Saved::Full { reason, .. } => panic!("fell back to the full form: {reason}"),
    }
}

/// The lines of `b` that are not in `a` and those of `a` not in `b`, in order.
fn diff(a: &str, b: &str) -> (Vec<String>, Vec<String>) {
    let (al, bl): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let added = bl
        .iter()
        .filter(|l| !al.contains(l))
        .map(|l| l.to_string())
        .collect();
    let removed = al
        .iter()
        .filter(|l| !bl.contains(l))
        .map(|l| l.to_string())
        .collect();
    (added, removed)
}

#[test]
fn unchanged_configuration_writes_the_file_byte_for_byte() {
    assert_eq!(merged(&file_config()), FILE);
}

#[test]
fn changed_weight_changes_only_that_line_and_keeps_its_comment() {
    let mut c = file_config();
    c.reals[0].weight = 7;
    let text = merged(&c);
    let (added, removed) = diff(FILE, &text);
    assert_eq!(removed, ["weight = 3                   # the big one"]);
    assert_eq!(added, ["weight = 7                   # the big one"]);
    assert_eq!(text.lines().count(), FILE.lines().count());
}

#[test]
fn changed_default_left_out_of_the_file_is_added_to_its_table() {
    let mut c = file_config();
    c.reals[2].maxconns = 9;
    let text = merged(&c);
    let (added, removed) = diff(FILE, &text);
    assert!(removed.is_empty(), "{removed:?}");
    assert_eq!(added, ["maxconns = 9"]);
    // In s3's table, not elsewhere.
    let s3 = text.find("\"198.19.0.13:80\"").unwrap();
    let m = text.find("maxconns = 9").unwrap();
    let virt = text.find("[[virtual]]").unwrap();
    assert!(s3 < m && m < virt, "{text}");
}

#[test]
fn removed_real_removes_its_table_and_its_comment() {
    let mut c = file_config();
    c.reals.retain(|r| r.name != "s2");
    let text = merged(&c);
    let (added, removed) = diff(FILE, &text);
    assert!(added.is_empty(), "{added:?}");
    assert_eq!(
        removed,
        [
            "# s2 is the spare: about to go.",
            "address = \"198.19.0.12:80\"   # address before name, on purpose",
            "name = \"s2\"",
        ]
    );
    // Every other comment is still there.
    for keep in [
        "# Top comment",
        "# --- the servers ---",
        "# The one virtual",
        "# images",
    ] {
        assert!(text.contains(keep), "{keep} lost:\n{text}");
    }
}

#[test]
fn added_real_is_appended_after_the_last_real() {
    let mut c = file_config();
    c.reals
        .push(Real::new("s4", "198.19.0.14:80".parse().unwrap()));
    let text = merged(&c);
    assert!(text.starts_with(
        &FILE[..FILE.find("# The one virtual").unwrap()]
            .trim_end()
            .to_string()
    ));
    let s4 = text.find("name = \"s4\"").expect("s4 written");
    assert!(
        s4 < text.find("[[virtual]]").unwrap(),
        "s4 not among the reals:\n{text}"
    );
    assert!(text.contains("# The one virtual service."));
    // Written as a person would: its keys at their defaults left out.
    let s4_table =
        &text[text[..s4].rfind("[[real]]").unwrap()..text.find("# The one virtual").unwrap()];
    assert_eq!(
        s4_table.trim_end(),
        "[[real]]\nname = \"s4\"\naddress = \"198.19.0.14:80\""
    );
}

#[test]
fn state_change_bind_change_and_new_rule_keep_the_comments() {
    let mut c = file_config();
    c.reals[1].state = ServiceState::OutOfService;
    c.virtuals[0].bind.push("s2".into());
    let mut rule: Rule = c.virtuals[0].rules[0].clone();
    rule.name = "css".into();
    rule.path_prefix = Some("/css/".into());
    c.virtuals[0].rules.push(rule);
    c.reals
        .push(Real::new("s4", "198.19.0.14:80".parse().unwrap()));
    let text = merged(&c);
    assert!(
        text.contains("bind = [\"s1\", \"s3\", \"s2\"]          # not s2"),
        "{text}"
    );
    assert!(text.contains("name = \"img\"                 # images"));
    assert!(text.contains("state = \"oos\""));
    assert!(text.find("\"/css/\"").unwrap() > text.find("\"/img/\"").unwrap());
}

#[test]
fn dataplane_value_in_another_spelling_is_kept_when_unchanged_and_replaced_when_changed() {
    // "10s" stays "10s" (the canonical form may spell it otherwise).
    let mut c = file_config();
    c.dataplane.workers = 2;
    let text = merged(&c);
    assert!(text.contains("stats_interval = \"10s\"   # every ten seconds"));
    assert!(text.contains("workers = 2"));
    c.dataplane.stats_interval = Some(Duration::from_secs(30));
    let text = merged(&c);
    let (added, _) = diff(FILE, &text);
    assert!(
        added
            .iter()
            .any(|l| l.starts_with("stats_interval = ") && l.ends_with("# every ten seconds")),
        "{added:?}"
    );
}

#[test]
fn a_file_that_does_not_load_gives_the_full_form_and_says_why() {
    let c = file_config();
    match c.to_toml_over("[dataplane\n") {
        Saved::Full { text, reason } => {
            assert_eq!(text, c.to_toml());
            assert!(reason.contains("does not load"), "{reason}");
        }
        Saved::Merged(_) => panic!("merged over a broken file"),
    }
}

#[test]
fn reordered_ports_fall_back_to_the_full_form() {
    // Port order is DPDK port-id order: the merge keeps the file's table order, so it
    // cannot express a swap in place, sees that the result differs, and writes in full.
    let mut c = file_config();
    c.ports.swap(0, 1);
    match c.to_toml_over(FILE) {
        Saved::Full { text, reason } => {
            assert_eq!(Config::from_toml_str(&text).unwrap(), c);
            assert!(reason.contains("order"), "{reason}");
        }
        Saved::Merged(text) => panic!("merged a port swap in place:\n{text}"),
    }
}

/// The shipped examples (configs/demo.toml, and configs/splicer.toml, the package's
/// /etc/splicer/splicer.toml, saved over by `splicer ctl save`): unchanged, they are
/// written back identically; a weight set on a real whose table leaves it out adds one
/// line and changes nothing else.
#[test]
fn shipped_examples_round_trip_with_their_comments() {
    for (name, text) in [
        ("demo.toml", include_str!("../../../../configs/demo.toml")),
        (
            "splicer.toml",
            include_str!("../../../../configs/splicer.toml"),
        ),
    ] {
        let mut c = Config::from_toml_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            c.to_toml_over(text),
            Saved::Merged(text.to_string()),
            "{name}"
        );
        c.reals[0].weight = 5;
        let Saved::Merged(saved) = c.to_toml_over(text) else {
            panic!("{name}: not merged");
        };
        let (added, removed) = diff(text, &saved);
        assert_eq!(
            (added, removed),
            (vec!["weight = 5".to_string()], vec![]),
            "{name}"
        );
        assert_eq!(Config::from_toml_str(&saved).unwrap(), c, "{name}");
    }
}

/// An inline table (a real's `check`) stays inline: a changed field is edited inside it,
/// the other fields and the comment after it stay.
#[test]
fn inline_check_table_is_edited_in_place() {
    let file = FILE.replace(
        "address = \"198.19.0.13:80\"\n",
        "address = \"198.19.0.13:80\"\ncheck = { kind = \"http\", path = \"/health\", interval = \"2s\" }   # probe\n",
    );
    let mut c = Config::from_toml_str(&file).unwrap();
    let check = c.reals[2].check.as_mut().expect("s3 has a check");
    check.interval = Duration::from_secs(5);
    let Saved::Merged(text) = c.to_toml_over(&file) else {
        panic!("not merged");
    };
    assert_eq!(Config::from_toml_str(&text).unwrap(), c);
    let (added, removed) = diff(&file, &text);
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert_eq!(added.len(), 1, "{added:?}");
    let line = &added[0];
    assert!(
        line.starts_with("check = { kind = \"http\", path = \"/health\", interval = "),
        "{line}"
    );
    assert!(
        line.contains("\"5s\"") && line.ends_with("}   # probe"),
        "{line}"
    );
}

/// `rule add ... at 1` puts a rule before the file's first: the merge appends, sees the
/// order differ from the running one, and writes the whole configuration instead.
#[test]
fn rule_inserted_first_falls_back_to_the_full_form() {
    let mut c = file_config();
    let mut rule: Rule = c.virtuals[0].rules[0].clone();
    rule.name = "first".into();
    rule.path_prefix = Some("/first/".into());
    c.virtuals[0].rules.insert(0, rule);
    let Saved::Full { text, reason } = c.to_toml_over(FILE) else {
        panic!("merged a rule inserted first");
    };
    assert!(reason.contains("order"), "{reason}");
    assert_eq!(Config::from_toml_str(&text).unwrap(), c);
}

/// A removed virtual takes its rules and the comment above it along; the reals stay.
#[test]
fn removed_virtual_removes_its_rules_and_comment() {
    let mut c = file_config();
    c.virtuals.clear();
    let text = merged(&c);
    assert!(!text.contains("[[virtual"), "{text}");
    assert!(!text.contains("# The one virtual service.") && !text.contains("# images"));
    assert!(text.starts_with(FILE[..FILE.find("# The one virtual").unwrap()].trim_end()));
}
