//! Unit tests of the request-head parser (the smuggling vectors are in `smuggling_tests`).

use super::*;

pub(super) const MAX: usize = 8192;

pub(super) fn complete(req: &[u8]) -> RequestHead {
    match parse_head(req, MAX) {
        HeadStatus::Complete(h) => h,
        other => panic!(
            "expected a complete head for {:?}, got {other:?}",
            show(req)
        ),
    }
}

pub(super) fn refused(req: &[u8]) -> Refusal {
    match parse_head(req, MAX) {
        HeadStatus::Rejected(r) => r,
        other => panic!("expected a refusal for {:?}, got {other:?}", show(req)),
    }
}

pub(super) fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn with_headers(version: &str, headers: &str) -> Vec<u8> {
    format!("POST /x HTTP/{version}\r\nHost: a\r\n{headers}\r\n").into_bytes()
}

#[test]
fn simple_get() {
    let req = b"GET /images/logo.gif?size=2&x=1 HTTP/1.1\r\nHost: WWW.Acme.COM:8080\r\nUser-Agent: t\r\n\r\n";
    let h = complete(req);
    assert_eq!(h.method(), Method::Get);
    assert_eq!(h.method_str(), "GET");
    assert_eq!(h.target(), "/images/logo.gif?size=2&x=1");
    assert_eq!(h.path(), "/images/logo.gif");
    assert_eq!(h.path_and_query(), "/images/logo.gif?size=2&x=1");
    assert_eq!(h.query(), Some("size=2&x=1"));
    assert_eq!(h.host(), "www.acme.com");
    assert_eq!(h.version(), 1);
    assert_eq!(h.head_len(), req.len());
    assert_eq!(h.raw(), &req[..]);
    assert_eq!(
        h.request_line_len(),
        "GET /images/logo.gif?size=2&x=1 HTTP/1.1\r\n".len()
    );
    assert_eq!(h.body(), BodyLength::None);
    assert!(h.keep_alive());
    assert!(!h.expect_continue());
    assert!(!h.upgrade());
    assert!(!h.has_connection_header());
}

#[test]
fn path_without_query() {
    let h = complete(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(h.path(), "/");
    assert_eq!(h.query(), None);
    let h = complete(b"GET /p? HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(h.path(), "/p");
    assert_eq!(h.query(), Some(""));
    // No percent-decoding.
    let h = complete(b"GET /%61dmin/../x HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(h.path(), "/%61dmin/../x");
}

#[test]
fn methods() {
    for (token, m) in [
        ("GET", Method::Get),
        ("HEAD", Method::Head),
        ("POST", Method::Post),
        ("PUT", Method::Put),
        ("DELETE", Method::Delete),
        ("OPTIONS", Method::Options),
        ("PATCH", Method::Patch),
        ("TRACE", Method::Trace),
        ("PROPFIND", Method::Other),
        ("get", Method::Other),
    ] {
        let req = format!("{token} / HTTP/1.1\r\nHost: a\r\n\r\n");
        let h = complete(req.as_bytes());
        assert_eq!(h.method(), m, "{token}");
        assert_eq!(h.method_str(), token);
        assert_eq!(Method::from_token(token), m);
        if m != Method::Other {
            assert_eq!(m.as_str(), Some(token));
        }
    }
    assert_eq!(Method::Other.as_str(), None);
}

#[test]
fn pipelined_bytes_after_head() {
    let first = b"POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n";
    let mut buf = first.to_vec();
    buf.extend_from_slice(b"hello");
    buf.extend_from_slice(b"GET /b HTTP/1.1\r\nHost: a\r\n\r\n");
    let h = complete(&buf);
    assert_eq!(h.head_len(), first.len());
    assert_eq!(h.body(), BodyLength::Fixed(5));
    let next = &buf[h.head_len() + 5..];
    let h2 = complete(next);
    assert_eq!(h2.path(), "/b");
    assert_eq!(h2.head_len(), next.len());
}

#[test]
fn every_split_point() {
    let requests: [&[u8]; 4] = [
        b"GET /a/b?c=d HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n",
        b"POST /up HTTP/1.1\r\nHost: h:81\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
        b"GET / HTTP/1.0\r\n\r\n",
        b"\r\nOPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
    ];
    for req in requests {
        let whole = complete(req);
        for cut in 0..req.len() {
            assert_eq!(
                parse_head(&req[..cut], MAX),
                HeadStatus::Partial,
                "cut {cut} of {:?}",
                show(req)
            );
        }
        // Feeding prefixes until complete, as a connection receiving byte by byte.
        let mut done = None;
        for end in 1..=req.len() {
            if let HeadStatus::Complete(h) = parse_head(&req[..end], MAX) {
                done = Some((end, h));
                break;
            }
        }
        let (end, h) = done.expect("completes");
        assert_eq!(end, req.len());
        assert_eq!(h, whole);
    }
}

#[test]
fn refusals_at_every_prefix_never_become_partial_again() {
    // A refusal decided on a prefix must not depend on the split: the full request
    // is refused the same way.
    let req =
        b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert_eq!(refused(req), Refusal::ContentLengthAndTransferEncoding);
    for cut in 0..req.len() {
        assert_eq!(parse_head(&req[..cut], MAX), HeadStatus::Partial);
    }
}

#[test]
fn malformed() {
    for req in [
        &b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n"[..],
        b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
        b"GET /\r\n\r\n",
        b"GET / http/1.1\r\nHost: a\r\n\r\n",
        b"G@T / HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\n: empty-name\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nX: \x00\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    ] {
        assert_eq!(refused(req), Refusal::Malformed, "{:?}", show(req));
    }
}

#[test]
fn bare_lf_refused() {
    assert_eq!(refused(b"GET / HTTP/1.1\nHost: a\n\n"), Refusal::Malformed);
    assert_eq!(
        refused(b"GET / HTTP/1.1\r\nHost: a\n\r\n"),
        Refusal::Malformed
    );
    assert_eq!(
        refused(b"GET / HTTP/1.1\r\nHost: a\r\n\n"),
        Refusal::Malformed
    );
    assert_eq!(
        refused(b"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
        Refusal::Malformed
    );
}

#[test]
fn obs_fold_refused() {
    assert_eq!(
        refused(b"GET / HTTP/1.1\r\nHost: a\r\nX-Long: one\r\n two\r\n\r\n"),
        Refusal::Malformed
    );
    assert_eq!(
        refused(b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\tchunked\r\n\r\n"),
        Refusal::Malformed
    );
}

#[test]
fn whitespace_before_colon_refused() {
    assert_eq!(
        refused(b"GET / HTTP/1.1\r\nHost : a\r\n\r\n"),
        Refusal::Malformed
    );
    assert_eq!(
        refused(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length\t: 3\r\n\r\nabc"),
        Refusal::Malformed
    );
}

#[test]
fn leading_empty_lines_skipped() {
    let req = b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
    let h = complete(req);
    assert_eq!(h.head_len(), req.len());
    assert_eq!(h.request_line_len(), 4 + "GET / HTTP/1.1\r\n".len());
}

#[test]
fn content_length() {
    assert_eq!(
        complete(&with_headers("1.1", "Content-Length: 42\r\n")).body(),
        BodyLength::Fixed(42)
    );
    assert_eq!(
        complete(&with_headers("1.1", "Content-Length: 0\r\n")).body(),
        BodyLength::None
    );
    assert_eq!(
        complete(&with_headers("1.1", "content-length:7\r\n")).body(),
        BodyLength::Fixed(7)
    );
    assert_eq!(
        complete(&with_headers(
            "1.1",
            "Content-Length: 9223372036854775807\r\n"
        ))
        .body(),
        BodyLength::Fixed(i64::MAX as u64)
    );
    assert_eq!(
        complete(&with_headers("1.0", "Content-Length: 3\r\n")).body(),
        BodyLength::Fixed(3)
    );
}

#[test]
fn content_length_refusals() {
    for v in [
        "-1",
        "+1",
        "abc",
        "1a",
        "0x10",
        "1 2",
        "1.5",
        "007",
        "9223372036854775808",
        "18446744073709551616",
        "99999999999999999999999",
        "5,",
        ",5",
        "5,,5",
    ] {
        let req = with_headers("1.1", &format!("Content-Length: {v}\r\n"));
        assert_eq!(refused(&req), Refusal::InvalidContentLength, "{v:?}");
        assert_eq!(refused(&req).status(), 400);
        assert_eq!(refused(&req).counter_name(), "refused_smuggling");
    }
    assert_eq!(
        refused(&with_headers("1.1", "Content-Length:\r\n")),
        Refusal::InvalidContentLength
    );
    for hs in [
        "Content-Length: 5\r\nContent-Length: 6\r\n",
        "Content-Length: 5, 6\r\n",
        "Content-Length: 0\r\nContent-Length: 1\r\n",
    ] {
        assert_eq!(
            refused(&with_headers("1.1", hs)),
            Refusal::ConflictingContentLength,
            "{hs:?}"
        );
    }
    for hs in [
        "Content-Length: 5\r\nContent-Length: 5\r\n",
        "content-length: 5, 5\r\n",
    ] {
        assert_eq!(
            refused(&with_headers("1.1", hs)),
            Refusal::DuplicateContentLength,
            "{hs:?}"
        );
    }
}

#[test]
fn transfer_encoding() {
    for v in ["chunked", " chunked"] {
        let req = with_headers("1.1", &format!("Transfer-Encoding:{v}\r\n"));
        assert_eq!(complete(&req).body(), BodyLength::Chunked, "{v:?}");
    }
    let req = with_headers("1.1", "transfer-encoding: chunked\r\n");
    assert_eq!(complete(&req).body(), BodyLength::Chunked);
}

#[test]
fn transfer_encoding_refusals() {
    let cases: [(&str, Refusal); 16] = [
        (
            "Transfer-Encoding: gzip\r\n",
            Refusal::InvalidTransferEncoding,
        ),
        (
            "Transfer-Encoding: chunked, gzip\r\n",
            Refusal::InvalidTransferEncoding,
        ),
        (
            "Transfer-Encoding: chunked, chunked\r\n",
            Refusal::InvalidTransferEncoding,
        ),
        (
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
            Refusal::InvalidTransferEncoding,
        ),
        (
            "Transfer-Encoding: chunked;q=1\r\n",
            Refusal::InvalidTransferEncoding,
        ),
        (
            "Transfer-Encoding: xchunked\r\n",
            Refusal::InvalidTransferEncoding,
        ),
        ("Transfer-Encoding:\r\n", Refusal::InvalidTransferEncoding),
        (
            "Transfer-Encoding: Chunked\r\n",
            Refusal::InvalidTransferEncoding,
        ),
        (
            "Transfer-Encoding: CHUNKED\r\n",
            Refusal::InvalidTransferEncoding,
        ),
        (
            "Transfer-Encoding: chunked \r\n",
            Refusal::InvalidTransferEncoding,
        ),
        (
            "Transfer-Encoding: chunked,\r\n",
            Refusal::InvalidTransferEncoding,
        ),
        (
            "Transfer-Encoding:\tchunked\r\n",
            Refusal::InvalidTransferEncoding,
        ),
        (
            "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",
            Refusal::InvalidTransferEncoding,
        ),
        (
            "Transfer-Encoding: gzip, chunked\r\n",
            Refusal::UnsupportedTransferCoding,
        ),
        (
            "Transfer-Encoding: gzip,chunked\r\n",
            Refusal::UnsupportedTransferCoding,
        ),
        (
            "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n",
            Refusal::ContentLengthAndTransferEncoding,
        ),
    ];
    for (hs, want) in cases {
        assert_eq!(refused(&with_headers("1.1", hs)), want, "{hs:?}");
    }
    assert_eq!(Refusal::UnsupportedTransferCoding.status(), 501);
    assert_eq!(Refusal::InvalidTransferEncoding.status(), 400);
    // Any Transfer-Encoding in HTTP/1.0 is faulty framing (RFC 9112 §6.1).
    assert_eq!(
        refused(&with_headers("1.0", "Transfer-Encoding: chunked\r\n")),
        Refusal::InvalidTransferEncoding
    );
    // The order of CL and TE does not matter, nor the spelling of either.
    for hs in [
        "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n",
        "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n",
        "Transfer-Encoding: xchunked\r\nContent-Length: 3\r\n",
    ] {
        assert_eq!(
            refused(&with_headers("1.1", hs)),
            Refusal::ContentLengthAndTransferEncoding,
            "{hs:?}"
        );
    }
}

#[test]
fn host_rules() {
    assert_eq!(refused(b"GET / HTTP/1.1\r\n\r\n"), Refusal::MissingHost);
    assert_eq!(
        refused(b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"),
        Refusal::BadHost
    );
    assert_eq!(
        refused(b"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"),
        Refusal::BadHost
    );
    for bad in [
        "", "a b", "a/b", "a@b", "a:80x", "a:123456", ":80", "[::1", "[zz]", "[::1]x",
    ] {
        let req = format!("GET / HTTP/1.1\r\nHost: {bad}\r\n\r\n");
        assert_eq!(refused(req.as_bytes()), Refusal::BadHost, "{bad:?}");
    }
    for (good, host) in [
        ("a", "a"),
        ("A.Example.COM", "a.example.com"),
        ("a.example:8080", "a.example"),
        ("a:", "a"),
        ("[::1]:8080", "[::1]"),
        ("[2001:DB8::1]", "[2001:db8::1]"),
        ("198.18.0.1:80", "198.18.0.1"),
    ] {
        let req = format!("GET / HTTP/1.1\r\nHost: {good}\r\n\r\n");
        assert_eq!(complete(req.as_bytes()).host(), host, "{good:?}");
    }
    // HTTP/1.0 needs no Host.
    let h = complete(b"GET / HTTP/1.0\r\n\r\n");
    assert_eq!(h.host(), "");
    assert_eq!(h.version(), 0);
}

#[test]
fn absolute_form() {
    let h =
        complete(b"GET http://Example.com:8080/a/b?q=1 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n");
    assert_eq!(h.host(), "example.com");
    assert_eq!(h.path(), "/a/b");
    assert_eq!(h.query(), Some("q=1"));
    assert_eq!(h.path_and_query(), "/a/b?q=1");
    assert_eq!(h.target(), "http://Example.com:8080/a/b?q=1");

    let h = complete(b"GET HTTPS://h HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(h.path(), "/");
    assert_eq!(h.path_and_query(), "/");
    let h = complete(b"GET http://h?x HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(h.path(), "/");
    assert_eq!(h.query(), Some("x"));
    // HTTP/1.0 may omit Host with an absolute target.
    assert_eq!(complete(b"GET http://h/p HTTP/1.0\r\n\r\n").host(), "h");

    assert_eq!(
        refused(b"GET http://a/ HTTP/1.1\r\nHost: b\r\n\r\n"),
        Refusal::BadHost
    );
    assert_eq!(
        refused(b"GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n"),
        Refusal::BadHost
    );
    assert_eq!(
        refused(b"GET http://a/ HTTP/1.1\r\n\r\n"),
        Refusal::MissingHost
    );
    assert_eq!(
        refused(b"GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n"),
        Refusal::BadTarget
    );
    assert_eq!(
        refused(b"GET ftp://a/x HTTP/1.1\r\nHost: a\r\n\r\n"),
        Refusal::BadTarget
    );
}

#[test]
fn target_forms() {
    let h = complete(b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
    assert_eq!(h.path(), "*");
    assert_eq!(
        refused(b"GET * HTTP/1.1\r\nHost: a\r\n\r\n"),
        Refusal::BadTarget
    );
    assert_eq!(
        refused(b"GET x/y HTTP/1.1\r\nHost: a\r\n\r\n"),
        Refusal::BadTarget
    );
    assert_eq!(
        refused(b"GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n"),
        Refusal::BadTarget
    );
    assert_eq!(Refusal::BadTarget.status(), 400);
}

#[test]
fn head_too_large() {
    let mut req = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
    while req.len() < 300 {
        req.extend_from_slice(b"X-Pad: aaaaaaaaaaaaaaaaaaaa\r\n");
    }
    // Unfinished and at the limit.
    assert_eq!(
        parse_head(&req, 300),
        HeadStatus::Rejected(Refusal::HeadTooLarge)
    );
    assert_eq!(parse_head(&req[..299], 300), HeadStatus::Partial);
    // Finished, but longer than the limit.
    req.extend_from_slice(b"\r\n");
    assert_eq!(
        parse_head(&req, 300),
        HeadStatus::Rejected(Refusal::HeadTooLarge)
    );
    assert!(matches!(
        parse_head(&req, req.len()),
        HeadStatus::Complete(_)
    ));
    assert_eq!(
        parse_head(&req, req.len() - 1),
        HeadStatus::Rejected(Refusal::HeadTooLarge)
    );
    assert_eq!(Refusal::HeadTooLarge.status(), 431);
    assert_eq!(
        Refusal::HeadTooLarge.counter_name(),
        "refused_head_too_large"
    );
}

#[test]
fn too_many_headers() {
    let mut req = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
    for i in 0..MAX_HEADERS - 1 {
        req.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    let mut ok = req.clone();
    ok.extend_from_slice(b"\r\n");
    assert_eq!(complete(&ok).headers().count(), MAX_HEADERS);
    req.extend_from_slice(b"X-last: v\r\n\r\n");
    assert_eq!(refused(&req), Refusal::TooManyHeaders);
    assert_eq!(Refusal::TooManyHeaders.status(), 431);
}

#[test]
fn connect_and_upgrade() {
    assert_eq!(
        refused(b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n"),
        Refusal::Connect
    );
    let ws = b"GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: x\r\nSec-WebSocket-Version: 13\r\n\r\n";
    assert_eq!(refused(ws), Refusal::Upgrade);
    let h2c = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n";
    assert_eq!(refused(h2c), Refusal::Upgrade);
    assert_eq!(
        refused(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n"),
        Refusal::Upgrade
    );
    assert_eq!(
        refused(b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\n\r\n"),
        Refusal::Upgrade
    );
    for r in [Refusal::Connect, Refusal::Upgrade] {
        assert_eq!(r.status(), 501);
        assert_eq!(r.counter_name(), "refused_not_implemented");
    }
    let opts = ParseOptions {
        max_head: MAX,
        allow_upgrade: true,
    };
    match parse_head_with(ws, &opts) {
        HeadStatus::Complete(h) => assert!(h.upgrade()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn versions() {
    let preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    assert_eq!(refused(preface), Refusal::Http2Preface);
    // Decided as soon as the version is visible, without waiting for the line end.
    assert_eq!(
        parse_head(&preface[..12], MAX),
        HeadStatus::Rejected(Refusal::Http2Preface)
    );
    assert_eq!(
        refused(b"GET / HTTP/2.0\r\nHost: a\r\n\r\n"),
        Refusal::UnsupportedVersion
    );
    assert_eq!(
        refused(b"GET / HTTP/1.2\r\nHost: a\r\n\r\n"),
        Refusal::UnsupportedVersion
    );
    assert_eq!(refused(b"GET / HTTP/3"), Refusal::UnsupportedVersion);
    assert_eq!(
        refused(b"GET / HTTP/0.9\r\n\r\n"),
        Refusal::UnsupportedVersion
    );
    assert_eq!(refused(b"GET / HTTP/x.1\r\n\r\n"), Refusal::Malformed);
    for r in [Refusal::Http2Preface, Refusal::UnsupportedVersion] {
        assert_eq!(r.status(), 505);
        assert_eq!(r.counter_name(), "refused_version");
        assert_eq!(r.reason(), "HTTP Version Not Supported");
    }
}

#[test]
fn expect() {
    let h = complete(
        b"PUT /f HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\nExpect: 100-Continue\r\n\r\n",
    );
    assert!(h.expect_continue());
    let r = refused(b"PUT /f HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\n\r\n");
    assert_eq!(r, Refusal::UnsupportedExpectation);
    assert_eq!(r.status(), 417);
    assert_eq!(r.counter_name(), "refused_expectation");
    // Ignored in HTTP/1.0 (RFC 9110 §10.1.1).
    let h = complete(b"PUT /f HTTP/1.0\r\nExpect: 100-continue\r\n\r\n");
    assert!(!h.expect_continue());
}

fn conn(version: &str, connection: &[&str]) -> RequestHead {
    let mut req = format!("GET / HTTP/{version}\r\nHost: a\r\n");
    for c in connection {
        req.push_str(&format!("Connection: {c}\r\n"));
    }
    req.push_str("\r\n");
    complete(req.as_bytes())
}

#[test]
fn connection_tokens() {
    assert!(conn("1.1", &[]).keep_alive());
    assert!(!conn("1.0", &[]).keep_alive());
    assert!(!conn("1.1", &["close"]).keep_alive());
    assert!(!conn("1.1", &["Close"]).keep_alive());
    assert!(!conn("1.1", &["TE, close"]).keep_alive());
    assert!(!conn("1.1", &["keep-alive", "close"]).keep_alive());
    assert!(!conn("1.1", &["keep-alive, CLOSE"]).keep_alive());
    assert!(conn("1.1", &["closed"]).keep_alive());
    assert!(conn("1.1", &["keep-alive"]).keep_alive());
    assert!(conn("1.0", &["keep-alive"]).keep_alive());
    assert!(conn("1.0", &["Keep-Alive"]).keep_alive());
    assert!(conn("1.0", &["TE,Keep-Alive"]).keep_alive());
    assert!(conn("1.0", &["TE", " keep-alive "]).keep_alive());
    assert!(!conn("1.0", &["keep-alive, close"]).keep_alive());
    assert!(!conn("1.0", &["keepalive"]).keep_alive());
    assert!(!conn("1.0", &["TE"]).keep_alive());
    assert!(conn("1.0", &["close"]).connection_close());
    assert!(!conn("1.0", &["TE"]).connection_close());
    assert!(conn("1.0", &["TE"]).has_connection_header());
}

#[test]
fn header_lookup() {
    let h = complete(
        b"GET / HTTP/1.1\r\nHost: a\r\nX-Tenant:  blue \r\nx-tenant: green\r\nCookie: a=1\r\n\r\n",
    );
    assert_eq!(h.header("x-TENANT"), Some(&b"blue"[..]));
    let all: Vec<&[u8]> = h.header_values("X-Tenant").collect();
    assert_eq!(all, vec![&b"blue"[..], &b"green"[..]]);
    assert_eq!(h.header("cookie"), Some(&b"a=1"[..]));
    assert_eq!(h.header("missing"), None);
    let names: Vec<&str> = h.headers().map(|(n, _)| n).collect();
    assert_eq!(names, ["Host", "X-Tenant", "x-tenant", "Cookie"]);
}

#[test]
fn empty_header_value() {
    let h = complete(b"GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Blank:   \r\n\r\n");
    assert_eq!(h.header("x-empty"), Some(&b""[..]));
    assert_eq!(h.header("x-blank"), Some(&b""[..]));
}

#[test]
fn non_utf8_header_value_kept() {
    let h = complete(b"GET / HTTP/1.1\r\nHost: a\r\nX-Bin: caf\xe9\r\n\r\n");
    assert_eq!(h.header("x-bin"), Some(&b"caf\xe9"[..]));
}

#[test]
fn refusal_table() {
    let all = [
        (Refusal::Malformed, 400, "refused_bad_request"),
        (Refusal::BadTarget, 400, "refused_bad_request"),
        (Refusal::MissingHost, 400, "refused_bad_request"),
        (Refusal::BadHost, 400, "refused_bad_request"),
        (Refusal::HeadTooLarge, 431, "refused_head_too_large"),
        (Refusal::TooManyHeaders, 431, "refused_head_too_large"),
        (
            Refusal::ContentLengthAndTransferEncoding,
            400,
            "refused_smuggling",
        ),
        (Refusal::InvalidContentLength, 400, "refused_smuggling"),
        (Refusal::ConflictingContentLength, 400, "refused_smuggling"),
        (Refusal::DuplicateContentLength, 400, "refused_smuggling"),
        (Refusal::FramingFieldLookalike, 400, "refused_smuggling"),
        (Refusal::HopByHopFraming, 400, "refused_smuggling"),
        (Refusal::BodyNotAllowed, 400, "refused_smuggling"),
        (Refusal::InvalidTransferEncoding, 400, "refused_smuggling"),
        (
            Refusal::UnsupportedTransferCoding,
            501,
            "refused_not_implemented",
        ),
        (Refusal::Connect, 501, "refused_not_implemented"),
        (Refusal::Upgrade, 501, "refused_not_implemented"),
        (Refusal::UnsupportedExpectation, 417, "refused_expectation"),
        (Refusal::Http2Preface, 505, "refused_version"),
        (Refusal::UnsupportedVersion, 505, "refused_version"),
    ];
    for (r, status, counter) in all {
        assert_eq!(r.status(), status, "{r:?}");
        assert_eq!(r.counter_name(), counter, "{r:?}");
        assert_ne!(r.reason(), "Unknown", "{r:?}");
        assert!(r.to_string().starts_with(&status.to_string()));
    }
    assert_eq!(Refusal::Malformed.reason(), "Bad Request");
    assert_eq!(
        Refusal::TooManyHeaders.reason(),
        "Request Header Fields Too Large"
    );
    assert_eq!(Refusal::Connect.reason(), "Not Implemented");
}
