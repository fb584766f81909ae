//! The strict request-head parser (`splicer_http::parse_head_with`) on arbitrary bytes,
//! with the content rules and the HTTP/1.0 keep-alive insertion that act on its result.
//!
//! The first input byte picks the head limit and whether `Upgrade` is allowed; the rest
//! is what the client sent. Checks: a complete head lies within the limit and the
//! buffer, `raw()` is exactly its bytes, every accessor works and is consistent (path
//! inside path-and-query, header values found by name); the same head parses the same
//! on its own and with any following bytes changed; a refusal carries a client-error or
//! server-error status; the keep-alive insertion yields a head that parses as
//! keep-alive with the same request; content rules never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use splicer_http::request::BodyLength;
use splicer_http::{
    apply, first_match, keep_alive_insertion, parse_head_with, HeadStatus, Matcher, Method,
    ParseOptions, Refusal, Rule,
};
use std::sync::OnceLock;

fn rules() -> &'static [Rule] {
    static RULES: OnceLock<Vec<Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        vec![
            Rule::new(vec![Matcher::PathPrefix("/api/".into())]),
            Rule::new(vec![Matcher::PathSuffix(".jpg".into())]),
            Rule::new(vec![
                Matcher::Host("shop.example".into()),
                Matcher::Method(Method::Post),
            ]),
            Rule::new(vec![Matcher::Header {
                name: "x-tier".into(),
                value: "gold".into(),
            }]),
            Rule::new(vec![Matcher::Cookie {
                name: "session".into(),
                value: "blue".into(),
            }]),
            Rule::new(vec![Matcher::Host("[::1]:80".into())]),
            Rule::default(),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, buf)) = data.split_first() else {
        return;
    };
    let opts = ParseOptions {
        max_head: [8192, 64, 1024, 16 * 1024][usize::from(sel & 3)],
        allow_upgrade: sel & 4 != 0,
    };
    match parse_head_with(buf, &opts) {
        HeadStatus::Partial => {
            assert!(buf.len() < opts.max_head, "partial at or past the limit");
        }
        HeadStatus::Rejected(r) => {
            assert!((400..600).contains(&r.status()), "{r:?}");
            let _ = (r.reason(), r.counter_name(), r.detail(), r.to_string());
        }
        HeadStatus::Complete(head) => check_head(buf, &opts, &head),
    }
});

fn check_head(buf: &[u8], opts: &ParseOptions, head: &splicer_http::RequestHead) {
    let len = head.head_len();
    assert!(len <= buf.len() && len <= opts.max_head, "{len}");
    assert_eq!(head.raw(), &buf[..len]);
    assert!(head.raw().ends_with(b"\n"));
    assert!(head.request_line_len() <= len);
    assert!(head.version() <= 1);
    if head.upgrade() {
        assert!(
            opts.allow_upgrade,
            "Upgrade accepted while refused by the options"
        );
    }
    let _ = (head.method(), head.method_str(), head.target(), head.host());
    let _ = (
        head.keep_alive(),
        head.connection_close(),
        head.has_connection_header(),
    );
    let _ = (head.expect_continue(), head.query());
    let pq = head.path_and_query();
    assert!(pq.starts_with(head.path()), "{pq:?} vs {:?}", head.path());
    if let BodyLength::Fixed(n) = head.body() {
        assert!(n > 0, "Content-Length: 0 is no body");
    }
    for (name, value) in head.headers() {
        let found = head.header(name).expect("a listed header is found by name");
        let _ = found;
        assert!(head.header_values(name).any(|v| v == value));
    }
    let _ = first_match(rules(), head);

    // The head alone parses to the same head, and so it does with the bytes after it
    // changed: nothing after the blank line decides anything about the head.
    let alone = parse_head_with(&buf[..len], opts);
    assert_eq!(
        alone,
        HeadStatus::Complete(head.clone()),
        "head alone differs"
    );
    if len < buf.len() {
        let mut other = buf.to_vec();
        for b in &mut other[len..] {
            *b = b.wrapping_add(1);
        }
        assert_eq!(
            parse_head_with(&other, opts),
            HeadStatus::Complete(head.clone()),
            "bytes after the head changed the head"
        );
    }

    // An HTTP/1.0 request forwarded on a pooled connection gets `Connection:
    // Keep-Alive`: the rewritten head is still the same request, now keep-alive.
    if let Some(ins) = keep_alive_insertion(head, buf) {
        assert_eq!(head.version(), 0);
        let mut out = vec![0u8; ins.output_len(len)];
        let n = apply(&ins, &buf[..len], &mut out);
        assert_eq!(n, out.len());
        let bigger = ParseOptions {
            max_head: opts.max_head + ins.bytes_added(),
            ..*opts
        };
        match parse_head_with(&out, &bigger) {
            HeadStatus::Complete(h2) => {
                assert_eq!(h2.head_len(), len + ins.bytes_added());
                assert!(h2.keep_alive(), "inserted Keep-Alive not seen");
                assert_eq!(
                    (
                        h2.method_str(),
                        h2.target(),
                        h2.host(),
                        h2.body(),
                        h2.version()
                    ),
                    (
                        head.method_str(),
                        head.target(),
                        head.host(),
                        head.body(),
                        head.version()
                    )
                );
            }
            // The inserted line can be one field too many for Splicer's own limit; the
            // rewritten head goes to a server, whose limit is its own.
            HeadStatus::Rejected(Refusal::TooManyHeaders) => {}
            other => panic!("rewritten head does not parse: {other:?}"),
        }
    }
}
