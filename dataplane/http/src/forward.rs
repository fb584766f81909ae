//! The client's address to the servers: `X-Forwarded-For` and `X-Forwarded-Proto`
//! written into each request head Splicer forwards (`virtual.forward_for = "header"`).
//!
//! A spliced server connection comes from Splicer's inside address, and a pooled one
//! carries many clients' requests one after the other, so the only per-request place
//! for the client's address is the request head. Splicer already owns every head it
//! forwards: it reads the head whole, acknowledges it to the client itself and sends
//! its own copy on the server leg, so a rewritten head changes only the length of
//! what Splicer sends; the splice's translation starts after it (the "Bytes Added" of
//! NetScaler's *Internet client-server multiplexer*, WO 00/28433, here possibly
//! negative when incoming lines are removed).
//!
//! What is written:
//! * the new lines go right after the request line (and after `Connection:
//!   Keep-Alive` when that is inserted too): a known position that needs no search;
//! * [`Incoming::Replace`] (the default) removes every incoming `X-Forwarded-For` and
//!   `X-Forwarded-Proto` line (names compared ASCII case-insensitively) and writes
//!   `X-Forwarded-For: <client>` and `X-Forwarded-Proto: http`. A client can write
//!   anything into those headers; an application that trusts the first address of the
//!   list (many do) would otherwise log, rate-limit or allow-list by a forged one;
//! * [`Incoming::Append`] is for a virtual whose clients are trusted proxies: the
//!   values of every incoming `X-Forwarded-For` line are kept, in order, and the
//!   client's address is appended, in one line (`X-Forwarded-For: a, b, <client>`):
//!   RFC 9110 §5.3 makes repeated lines equal to one comma-joined line, but
//!   applications that read only the first line would miss the address Splicer
//!   adds. Incoming `X-Forwarded-Proto` lines are kept as sent (the proxy in front
//!   knows the scheme its client used); `X-Forwarded-Proto: http` is added only when
//!   there is none.
//!
//! The parser has already refused what could make a line ambiguous (obs-fold, bare CR
//! or LF, whitespace before the colon), so each field is exactly one line.

use crate::request::RequestHead;
use crate::rewrite::{Insertion, KEEP_ALIVE_LINE};
use std::net::Ipv4Addr;
use std::ops::Range;

/// The header that carries the client's address.
pub const XFF: &str = "X-Forwarded-For";
/// The header that carries the scheme the client used.
pub const XFP: &str = "X-Forwarded-Proto";

/// What happens to the `X-Forwarded-For` a client sends (`virtual.forward_for_incoming`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Incoming {
    /// Every incoming `X-Forwarded-For` / `X-Forwarded-Proto` line is removed; the
    /// server sees only the address Splicer saw.
    #[default]
    Replace,
    /// The client's address is appended to the incoming list (trusted proxies in front).
    Append,
}

/// Whether and how a virtual tells its servers the client's address
/// (`virtual.forward_for`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ForwardFor {
    /// Heads are forwarded as received.
    #[default]
    Off,
    /// `X-Forwarded-For` and `X-Forwarded-Proto` are written into every head.
    Header(Incoming),
    /// A PROXY protocol version 2 header starts each server connection (only for
    /// connections passed through unread, whose server connection is their own); heads
    /// are forwarded as received.
    ProxyV2,
}

/// What [`forwarded_head`] did with the incoming lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Outcome {
    /// Incoming `X-Forwarded-For` / `X-Forwarded-Proto` lines removed (with
    /// [`Incoming::Append`]: the `X-Forwarded-For` lines merged into the new one).
    pub removed: usize,
    /// Incoming `X-Forwarded-For` values kept before the client's address.
    pub appended: usize,
}

/// Writes `head` as its server gets it into `out` (cleared first): see
/// [`write_forwarded`], with the Keep-Alive `insertion` if given (it is always placed
/// after the request line, see [`crate::rewrite`]).
pub fn forwarded_head(
    head: &RequestHead,
    keep_alive: Option<Insertion>,
    client: Ipv4Addr,
    incoming: Incoming,
    out: &mut Vec<u8>,
) -> Outcome {
    out.clear();
    if let Some(ins) = keep_alive {
        debug_assert_eq!(ins.offset(), head.request_line_len());
    }
    let line_end = head.request_line_len();
    write_forwarded(
        head.raw(),
        line_end,
        keep_alive.is_some(),
        client,
        incoming,
        out,
    )
}

/// Appends to `out` the request head `raw` (exactly a head that [`crate::parse_head`]
/// accepted, its request line `request_line_len` bytes long, leading empty lines
/// included) as its server gets it: the request line, `Connection: Keep-Alive` if
/// `keep_alive`, the forwarding lines for `client` per `incoming`, then the other
/// header lines and the blank line as received. Only the head: body bytes that follow
/// it in the receive buffer are the caller's.
///
/// It works on the bytes rather than a parsed head so that Splicer can write the head
/// straight onto the server leg when it sends it, keeping no copy meanwhile: the
/// parser's checks make every field one `name:value` line ending in CRLF.
pub fn write_forwarded(
    raw: &[u8],
    request_line_len: usize,
    keep_alive: bool,
    client: Ipv4Addr,
    incoming: Incoming,
    out: &mut Vec<u8>,
) -> Outcome {
    // Room for the two lines (at most 40 + 25 bytes without incoming values).
    out.reserve(raw.len() + 80);
    out.extend_from_slice(&raw[..request_line_len]);
    if keep_alive {
        out.extend_from_slice(KEEP_ALIVE_LINE);
    }
    let mut outcome = Outcome::default();
    out.extend_from_slice(XFF.as_bytes());
    out.extend_from_slice(b": ");
    let mut has_proto = false;
    if incoming == Incoming::Append {
        for (name, line) in field_lines(raw, request_line_len) {
            if name.eq_ignore_ascii_case(XFP.as_bytes()) {
                has_proto = true;
            }
            if !name.eq_ignore_ascii_case(XFF.as_bytes()) {
                continue;
            }
            // The value: after the colon, without the CRLF and surrounding whitespace.
            let value = raw[line.start + name.len() + 1..line.end - 2].trim_ascii();
            if !value.is_empty() {
                out.extend_from_slice(value);
                out.extend_from_slice(b", ");
                outcome.appended += 1;
            }
        }
    }
    write_ipv4(client, out);
    out.extend_from_slice(b"\r\n");
    if !has_proto {
        out.extend_from_slice(XFP.as_bytes());
        out.extend_from_slice(b": http\r\n");
    }
    // The header lines as received, less those the new lines replace.
    let mut copied = request_line_len;
    for (name, line) in field_lines(raw, request_line_len) {
        let drop = name.eq_ignore_ascii_case(XFF.as_bytes())
            || (incoming == Incoming::Replace && name.eq_ignore_ascii_case(XFP.as_bytes()));
        if drop {
            out.extend_from_slice(&raw[copied..line.start]);
            copied = line.end;
            outcome.removed += 1;
        }
    }
    out.extend_from_slice(&raw[copied..]);
    outcome
}

/// The header fields of a validated head `raw` from `from` on: (name, the whole line
/// with its CRLF), up to the blank line.
fn field_lines(raw: &[u8], from: usize) -> impl Iterator<Item = (&[u8], Range<usize>)> {
    let mut at = from;
    std::iter::from_fn(move || {
        let rest = raw.get(at..)?;
        let end = rest.windows(2).position(|w| w == b"\r\n")?;
        let colon = rest[..end].iter().position(|&b| b == b':')?;
        let line = at..at + end + 2;
        at = line.end;
        Some((&rest[..colon], line))
    })
}

/// `ip` in dotted decimal, without the formatting machinery (once per request).
fn write_ipv4(ip: Ipv4Addr, out: &mut Vec<u8>) {
    for (i, o) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            out.push(b'.');
        }
        if o >= 100 {
            out.push(b'0' + o / 100);
        }
        if o >= 10 {
            out.push(b'0' + o / 10 % 10);
        }
        out.push(b'0' + o % 10);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{parse_head, HeadStatus};
    use crate::rewrite::keep_alive_insertion;

    const CLIENT: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);

    fn head(buf: &[u8]) -> RequestHead {
        match parse_head(buf, 65536) {
            HeadStatus::Complete(h) => h,
            other => panic!("{other:?}"),
        }
    }

    fn forwarded(req: &[u8], incoming: Incoming) -> (Vec<u8>, Outcome) {
        let h = head(req);
        let mut out = b"stale bytes".to_vec();
        let o = forwarded_head(
            &h,
            keep_alive_insertion(&h, req),
            CLIENT,
            incoming,
            &mut out,
        );
        (out, o)
    }

    fn text(b: &[u8]) -> &str {
        std::str::from_utf8(b).unwrap()
    }

    /// The rewritten head parses, and every XFF / XFP value in it, in order.
    fn values(out: &[u8]) -> (Vec<String>, Vec<String>) {
        let h = head(out);
        assert_eq!(h.head_len(), out.len(), "exactly one head: {}", text(out));
        let get = |n: &str| {
            h.header_values(n)
                .map(|v| text(v).to_string())
                .collect::<Vec<_>>()
        };
        (get(XFF), get(XFP))
    }

    #[test]
    fn addresses_written_as_display_writes_them() {
        for ip in [
            Ipv4Addr::new(0, 0, 0, 0),
            Ipv4Addr::new(255, 255, 255, 255),
            Ipv4Addr::new(198, 18, 0, 2),
            Ipv4Addr::new(10, 100, 9, 250),
            Ipv4Addr::new(1, 20, 105, 99),
        ] {
            let mut out = Vec::new();
            write_ipv4(ip, &mut out);
            assert_eq!(text(&out), ip.to_string());
        }
    }

    #[test]
    fn inserted_after_the_request_line() {
        let req = b"GET /a?b HTTP/1.1\r\nHost: www\r\nAccept: */*\r\n\r\n";
        let (out, o) = forwarded(req, Incoming::Replace);
        assert_eq!(
            text(&out),
            "GET /a?b HTTP/1.1\r\nX-Forwarded-For: 198.18.0.2\r\nX-Forwarded-Proto: http\r\n\
             Host: www\r\nAccept: */*\r\n\r\n"
        );
        assert_eq!(o, Outcome::default());
        assert_eq!(out.len(), req.len() + 29 + 25);
        let h = head(&out);
        assert_eq!(h.host(), "www");
        assert_eq!(h.path_and_query(), "/a?b");
    }

    #[test]
    fn replace_removes_one_two_and_odd_case_incoming_lines() {
        for (req, removed) in [
            (&b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"[..], 0),
            (b"GET / HTTP/1.1\r\nX-Forwarded-For: 6.6.6.6\r\nHost: a\r\n\r\n", 1),
            (
                b"GET / HTTP/1.1\r\nx-forwarded-for: 6.6.6.6\r\nHost: a\r\nX-FORWARDED-FOR:7.7.7.7, 8.8.8.8\r\n\r\n",
                2,
            ),
            (
                b"GET / HTTP/1.1\r\nHost: a\r\nx-FoRwArDeD-pRoTo: https\r\nX-Forwarded-For: 1.1.1.1 \r\nX-Forwarded-Proto:  https\r\n\r\n",
                3,
            ),
            // Last line of the head, and an empty value.
            (b"GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For:\r\n\r\n", 1),
        ] {
            let (out, o) = forwarded(req, Incoming::Replace);
            assert_eq!(o.removed, removed, "{}", text(req));
            assert_eq!(o.appended, 0);
            let (xff, xfp) = values(&out);
            assert_eq!(xff, ["198.18.0.2"], "{}", text(&out));
            assert_eq!(xfp, ["http"], "{}", text(&out));
            assert_eq!(head(&out).host(), "a");
            // Nothing else removed: the other lines all still there, in order.
            let others = |b: &[u8]| {
                head(b)
                    .headers()
                    .filter(|(n, _)| {
                        !n.eq_ignore_ascii_case(XFF) && !n.eq_ignore_ascii_case(XFP)
                    })
                    .map(|(n, v)| (n.to_string(), v.to_vec()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(others(&out), others(req));
            assert!(!text(&out).contains("6.6.6.6") && !text(&out).contains("https"));
        }
    }

    #[test]
    fn lookalike_names_are_kept() {
        let req = b"GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-Fore: x\r\nX-Forwarded-For-Real: y\r\nForwarded: for=6.6.6.6\r\nX-Forwarded-Host: h\r\n\r\n";
        let (out, o) = forwarded(req, Incoming::Replace);
        assert_eq!(o.removed, 0);
        let t = text(&out);
        for kept in [
            "X-Forwarded-Fore: x\r\n",
            "X-Forwarded-For-Real: y\r\n",
            "Forwarded: for=6.6.6.6\r\n",
            "X-Forwarded-Host: h\r\n",
        ] {
            assert!(t.contains(kept), "{t}");
        }
    }

    #[test]
    fn append_keeps_incoming_values_in_order() {
        let req = b"GET / HTTP/1.1\r\nX-Forwarded-For: 10.0.0.1, 10.0.0.2\r\nHost: a\r\nx-forwarded-for:  10.0.0.3 \r\nX-Forwarded-For:\r\n\r\n";
        let (out, o) = forwarded(req, Incoming::Append);
        assert_eq!(o.removed, 3);
        assert_eq!(o.appended, 2);
        let (xff, xfp) = values(&out);
        assert_eq!(xff, ["10.0.0.1, 10.0.0.2, 10.0.0.3, 198.18.0.2"]);
        assert_eq!(xfp, ["http"]);
        // Without any incoming value it is the plain header.
        let (out, o) = forwarded(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", Incoming::Append);
        assert_eq!(o, Outcome::default());
        assert_eq!(
            values(&out),
            (vec!["198.18.0.2".into()], vec!["http".into()])
        );
    }

    #[test]
    fn append_keeps_the_incoming_proto() {
        let req = b"GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-Proto: https\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n";
        let (out, _) = forwarded(req, Incoming::Append);
        let (xff, xfp) = values(&out);
        assert_eq!(xff, ["10.0.0.1, 198.18.0.2"]);
        assert_eq!(xfp, ["https"]);
    }

    #[test]
    fn with_keep_alive_insertion() {
        let req = b"GET / HTTP/1.0\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n";
        let (out, o) = forwarded(req, Incoming::Replace);
        assert_eq!(o.removed, 1);
        assert_eq!(
            text(&out),
            "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\nX-Forwarded-For: 198.18.0.2\r\n\
             X-Forwarded-Proto: http\r\n\r\n"
        );
        assert!(head(&out).keep_alive());
    }

    #[test]
    fn leading_empty_line_and_framing_fields_kept() {
        let req = b"\r\nPOST /f HTTP/1.1\r\nX-Forwarded-For: 6.6.6.6\r\nContent-Length: 4\r\nHost: a\r\n\r\nBODY";
        let h = head(req);
        let mut out = Vec::new();
        forwarded_head(&h, None, CLIENT, Incoming::Replace, &mut out);
        // The body is not the head's: the caller copies it.
        assert!(out.ends_with(b"Host: a\r\n\r\n"));
        assert!(out.starts_with(b"\r\nPOST /f HTTP/1.1\r\nX-Forwarded-For: 198.18.0.2\r\n"));
        let again = head(&out);
        assert_eq!(again.body(), crate::request::BodyLength::Fixed(4));
        assert_eq!(again.head_len(), h.head_len() - 26 + 54);
    }

    /// A head at the parser's limit grows past it: the rewritten head is still exact
    /// (Splicer's limit is on what clients send; the server leg segments what it sends).
    #[test]
    fn huge_head_near_the_limit() {
        let limit = 65536;
        let mut req = b"GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 6.6.6.6\r\n".to_vec();
        let tail = b"x-forwarded-for: 7.7.7.7\r\n\r\n";
        // Few long lines: the parser takes at most 96 fields.
        for i in 0..90 {
            let room = limit - req.len() - tail.len();
            if room == 0 {
                break;
            }
            let line = if room <= 1600 { room } else { 800 };
            let name = format!("X-Filler-{i:02}: ");
            req.extend_from_slice(name.as_bytes());
            req.resize(req.len() + line - name.len() - 2, b'f');
            req.extend_from_slice(b"\r\n");
        }
        req.extend_from_slice(tail);
        assert_eq!(req.len(), limit);
        let h = match parse_head(&req, limit) {
            HeadStatus::Complete(h) => h,
            other => panic!("{other:?}"),
        };
        let mut out = Vec::new();
        let o = forwarded_head(&h, None, CLIENT, Incoming::Replace, &mut out);
        assert_eq!(o.removed, 2);
        assert_eq!(
            out.len(),
            req.len() - "X-Forwarded-For: 6.6.6.6\r\n".len() - "x-forwarded-for: 7.7.7.7\r\n".len()
                + 54
        );
        let big = match parse_head(&out, 2 * limit) {
            HeadStatus::Complete(h) => h,
            other => panic!("{other:?}"),
        };
        assert_eq!(big.header_values(XFF).collect::<Vec<_>>(), [b"198.18.0.2"]);
        assert_eq!(big.headers().count(), h.headers().count());
        // Append with the same head: the two values first.
        let o = forwarded_head(&h, None, CLIENT, Incoming::Append, &mut out);
        assert_eq!((o.removed, o.appended), (2, 2));
        assert!(out.starts_with(
            b"GET / HTTP/1.1\r\nX-Forwarded-For: 6.6.6.6, 7.7.7.7, 198.18.0.2\r\nX-Forwarded-Proto: http\r\nHost: a\r\n"
        ));
    }
}
