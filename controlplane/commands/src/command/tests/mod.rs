//! Tests of the command grammar, by topic; the helpers here are shared by all of them.

mod complete;
mod edits;
mod help;
mod level;
mod parse;

use super::*;
use std::net::SocketAddrV4;

fn err(line: &str) -> String {
    parse(line).unwrap_err().0
}

fn names() -> Names {
    Names {
        virtuals: vec!["www".into(), "www-tls".into(), "api".into()],
        reals: vec!["s1".into(), "s2".into(), "img.1".into()],
        ports: vec!["outside".into(), "inside".into()],
        urls: vec!["moved".into(), "maint".into()],
        dips: vec!["198.19.0.11".into()],
        rules: vec![
            ("www".into(), "img".into()),
            ("www".into(), "api".into()),
            ("api".into(), "v1".into()),
        ],
    }
}

fn edit(line: &str) -> Edit {
    match parse(line) {
        Ok(Command::Edit(e)) => e,
        other => panic!("{line}: {other:?}"),
    }
}

fn addr(s: &str) -> SocketAddrV4 {
    s.parse().unwrap()
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}
