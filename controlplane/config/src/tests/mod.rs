//! Whole-file tests: the demo configuration, defaults, the round trip, and every
//! error message, by topic. The documents and helpers here are shared by the topics.

mod control;
mod farm;
mod forward_for;
mod handoff;
mod health;
mod local;
mod predictors;
mod readme;
mod redirect;
mod routing;
mod server_close;
mod sticky;
mod tcp;
mod toml_errors;
mod valid;
mod validate;

use super::*;
use splicer_http::Rule as HttpRule;
use splicer_pipeline::balance::{self, Farm, Route, RuleRoute, VirtualPolicy};
use std::net::Ipv4Addr;
use std::time::Duration;

const DEMO: &str = include_str!("../../../../configs/demo.toml");

use crate::fixtures::{PORTS, REALS};

const WWW: &str = r#"
[[virtual]]
name = "www"
address = "198.18.0.100:80"
"#;

/// A file with 3 lcores, `dataplane_keys` in `[dataplane]`, then `rest`.
fn doc(dataplane_keys: &str, rest: &str) -> String {
    crate::fixtures::config(dataplane_keys, rest)
}

/// The `[dataplane]` key assignment `dataplane_key` with the standard ports and VIP.
fn dp(dataplane_key: &str) -> String {
    doc(dataplane_key, &format!("{PORTS}{WWW}"))
}

fn ok(s: &str) -> Config {
    match Config::from_toml_str(s) {
        Ok(c) => c,
        Err(e) => panic!("unexpected error: {e}\n--- in ---\n{s}"),
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

fn round_trip(c: &Config) {
    let text = toml::to_string(c).expect("serializes");
    let back = Config::from_toml_str(&text).unwrap_or_else(|e| panic!("{e}\n--- in ---\n{text}"));
    assert_eq!(&back, c, "--- written ---\n{text}");
}

/// A TOML (shape) error: keeps the line/column and contains `key` (as quoted).
fn toml_err(s: &str, key: &str, line: usize) -> String {
    let e = Config::from_toml_str(s).unwrap_err();
    assert!(matches!(e, ConfigError::Parse { .. }), "{e:?}");
    assert_eq!(e.key(), None);
    let m = e.to_string();
    assert!(
        m.starts_with(&format!("TOML parse error at line {line}, column")),
        "{m}"
    );
    assert!(m.contains(key), "{m}");
    // The first line alone (what a log line or a script sees) carries the message.
    let first = m.lines().next().unwrap_or_default();
    assert!(first.ends_with(e.message().trim_end()), "{m}");
    m
}

/// A validation error: returns `<key>: <message>` after checking `key()`.
fn invalid(s: &str, key: &str) -> String {
    let e = Config::from_toml_str(s).unwrap_err();
    assert_eq!(e.key(), Some(key), "{e}");
    let m = e.to_string();
    assert_eq!(m, format!("{key}: {}", e.message()));
    // `splicer check` and a reload (which list every problem) refuse it too, naming
    // the same key: a check added to the loader alone would fail here.
    let problems = crate::check(s).expect_err("check() accepted what loading refuses");
    assert!(
        problems.iter().any(|p| p.key.as_deref() == Some(key)),
        "check() did not name {key}: {problems:?}"
    );
    m
}

fn virtuals(virtuals: &str) -> String {
    doc("", &format!("{PORTS}{virtuals}"))
}

fn vip(name: &str, address: &str, port: Option<&str>) -> String {
    let port = port
        .map(|p| format!("port = \"{p}\"\n"))
        .unwrap_or_default();
    format!("[[virtual]]\nname = \"{name}\"\naddress = \"{address}\"\n{port}")
}

/// The standard ports and the three reals, then `rest`.
fn with_reals(rest: &str) -> String {
    doc("", &format!("{PORTS}{REALS}{rest}"))
}

/// The standard ports, the three reals and virtual `www` with `keys` appended to it
/// (more keys, then `[[virtual.rule]]` tables).
fn www(keys: &str) -> String {
    with_reals(&format!("{WWW}{keys}\n"))
}

/// The standard ports, one `[[real]]` with `keys`, and virtual `www`.
fn one_real(keys: &str) -> String {
    doc("", &format!("{PORTS}[[real]]\n{keys}\n{WWW}"))
}

/// Virtual `www` (bound to s1) with one `[[virtual.rule]]` of `keys`.
fn rule(keys: &str) -> String {
    www(&format!("bind = [\"s1\"]\n[[virtual.rule]]\n{keys}"))
}

/// Every new key of the redirect set-up of Cisco's "Server load balancing method and
/// system" (US 7,099,915), most of them away from their default.
fn redirect() -> String {
    crate::fixtures::with_ports("", REDIRECT_OBJECTS)
}

/// The objects of [`redirect`], after the ports.
const REDIRECT_OBJECTS: &str = r#"
[[real]]
name = "coyote-srv"
address = "198.19.0.11:80"
state = "sticky"
backup = "acme"

[[real]]
name = "roadrunner-srv"
address = "198.19.0.12:8080"
weight = 3
backup = "book"

[[real]]
name = "spare"
address = "198.19.0.13:80"
state = "in-service"

[[virtual]]
name = "acme"
address = "198.18.0.100:80"
mode = "redirect"
bind = ["coyote", "roadrunner"]
state = "maintenance"
backup = "book"

[[virtual.rule]]
name = "old"
path_prefix = "/old/"
bind = ["book"]

[[virtual]]
name = "direct"
address = "198.18.0.100:8080"
bind = ["coyote-srv", "spare"]
state = "failed"
backup = "spare"

[[url]]
name = "coyote"
url = "http://coyote.acme.example/%d"
link = "198.19.0.11"

[[url]]
name = "roadrunner"
url = "https://%h:%s/rr/%d?x=%%"
code = 307
weight = 0
link = "acme"
state = "oos"

[[url]]
name = "book"
url = "http://www.book.example"
code = 301

[[dip]]
address = "198.19.0.11"
port = "outside"

[[dip]]
address = "198.19.0.12"
port = "inside"
"#;
