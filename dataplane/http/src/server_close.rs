//! A client's `Connection: close` kept off the pooled server connection
//! (`virtual.server_close`, HAProxy's `http-server-close`).
//!
//! A client that asks `close` ends its own connection after the response; its server
//! connection is Splicer's, pooled, and need not end with it. Forwarded as written, the
//! `close` token makes the server close after each response: the pool loses the
//! connection, and the server's FIN goes out right behind the response, two segments
//! outstanding, so that its tail loss probe fires (2 × SRTT, its SRTT being the
//! sub-millisecond handshake with Splicer) before the client's ACK has come back
//! through Splicer (perf/results/2026-12-06-e2e-haproxy.md: 12,000+ server
//! retransmissions per `wrk -H 'Connection: close'` run). So:
//!
//! * the request head goes to the server without the `close` token ([`strip_close`]):
//!   a `Connection` line with no other token is removed, one with others keeps them;
//!   the bytes removed shift the server leg's sequence space as `forward_for`'s do;
//! * the response still tells the client `close`: the response framer finds the
//!   `keep-alive` token of the response's `Connection` field and Splicer writes
//!   [`CLOSE_IN_PLACE`] over it, same length (trailing whitespace is optional
//!   whitespace, RFC 9110 §5.6.3; before a comma, the list's OWS, §5.6.1), so the
//!   response keeps its sequence space ([`crate::ResponseFramer::close_mark`]);
//! * only HTTP/1.1 requests: an HTTP/1.0 client that says `close` says what HTTP/1.0
//!   does anyway, a server answers it as such whatever its `Connection` field holds,
//!   and pooling it would need `Keep-Alive` inserted as well as `close` removed; it is
//!   forwarded as before (HTTP/1.0 requests without `close` already get `Keep-Alive`,
//!   [`crate::rewrite`]).
//!
//! The parser has refused obs-fold, bare CR or LF and whitespace before a colon
//! (`request`), so each field is one `name:value` line ending in CRLF.

/// `virtual.server_close`: what a client's `Connection: close` does to the server
/// connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ServerClose {
    /// The server gets the head without `close` and its connection stays in the pool;
    /// the client gets `Connection: close` in the response when the server wrote
    /// `Connection: keep-alive`, and its connection ends after the response.
    #[default]
    Keep,
    /// The head goes to the server as the client wrote it (the server closes).
    Pass,
}

/// What Splicer writes over the 10 bytes of a response's `keep-alive` token.
pub const CLOSE_IN_PLACE: &[u8; 10] = b"close     ";

/// Whether an HTTP/`1.minor` request whose `Connection` field says `close` (or not:
/// `close`) gets its `close` token removed under `policy`.
pub fn strips_close(policy: ServerClose, minor: u8, close: bool) -> bool {
    policy == ServerClose::Keep && minor == 1 && close
}

/// Removes every `close` token (ASCII case-insensitive) from the `Connection` lines of
/// the validated request head at the start of `buf` (leading empty lines allowed, as
/// the parser does), in place; a line left without tokens goes whole. What follows
/// the head in `buf` (body bytes) moves up. Returns the bytes removed.
pub fn strip_close(buf: &mut Vec<u8>) -> usize {
    let before = buf.len();
    let mut at = 0;
    while buf[at..].starts_with(b"\r\n") {
        at += 2;
    }
    // Past the request line.
    match buf[at..].windows(2).position(|w| w == b"\r\n") {
        Some(end) => at += end + 2,
        None => return 0,
    }
    while let Some(rest) = buf.get(at..) {
        let Some(end) = rest.windows(2).position(|w| w == b"\r\n") else {
            break;
        };
        if end == 0 {
            // The blank line: the head's end.
            break;
        }
        let line = at..at + end + 2;
        let colon = rest[..end].iter().position(|&b| b == b':');
        let Some(colon) = colon else { break };
        if !rest[..colon].eq_ignore_ascii_case(b"connection") {
            at = line.end;
            continue;
        }
        let value = &buf[at + colon + 1..at + end];
        let is_close = |t: &[u8]| t.eq_ignore_ascii_case(b"close");
        if !crate::request::list_elements(value).any(is_close) {
            at = line.end;
            continue;
        }
        if crate::request::list_elements(value).all(is_close) {
            // The common case, `Connection: close` alone: the line goes, no copy.
            buf.drain(line);
            continue;
        }
        let mut new_line = buf[at..at + colon + 1].to_vec();
        for (i, t) in crate::request::list_elements(value)
            .filter(|t| !is_close(t))
            .enumerate()
        {
            new_line.extend_from_slice(if i > 0 { b", " } else { b" " });
            new_line.extend_from_slice(t);
        }
        new_line.extend_from_slice(b"\r\n");
        let n = new_line.len();
        buf.splice(line, new_line);
        at += n;
    }
    before - buf.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{parse_head, HeadStatus, RequestHead};

    fn head(buf: &[u8]) -> RequestHead {
        match parse_head(buf, 65536) {
            HeadStatus::Complete(h) => h,
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(buf)),
        }
    }

    /// The head as its server gets it, the bytes removed; the result parses, is one
    /// head, and no longer asks `close`.
    fn stripped(req: &[u8]) -> (String, usize) {
        let h = head(req);
        let mut out = req.to_vec();
        let n = strip_close(&mut out);
        assert_eq!(out.len() + n, req.len());
        let again = head(&out);
        assert!(
            !again.connection_close(),
            "{}",
            String::from_utf8_lossy(&out)
        );
        assert_eq!(again.host(), h.host());
        assert_eq!(again.body(), h.body());
        (String::from_utf8(out).unwrap(), n)
    }

    #[test]
    fn close_alone_removes_the_line() {
        let (out, n) =
            stripped(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nAccept: */*\r\n\r\n");
        assert_eq!(out, "GET / HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n");
        assert_eq!(n, "Connection: close\r\n".len());
        assert!(head(out.as_bytes()).keep_alive());
    }

    #[test]
    fn other_tokens_are_kept() {
        let (out, _) =
            stripped(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close, foo\r\nfoo: 1\r\n\r\n");
        assert_eq!(
            out,
            "GET / HTTP/1.1\r\nHost: a\r\nConnection: foo\r\nfoo: 1\r\n\r\n"
        );
        let (out, _) =
            stripped(b"GET / HTTP/1.1\r\nHost: a\r\nconnection:TE ,CLOSE,, x-y \r\n\r\n");
        assert_eq!(
            out,
            "GET / HTTP/1.1\r\nHost: a\r\nconnection: TE, x-y\r\n\r\n"
        );
    }

    /// Several `Connection` lines (RFC 9110 §5.3: one list): every `close` goes, from
    /// each, the last line of the head included; a line without one is untouched.
    #[test]
    fn duplicated_connection_fields() {
        let (out, n) = stripped(
            b"GET / HTTP/1.1\r\nConnection: close\r\nHost: a\r\nConnection: keep-alive\r\nCONNECTION: Close\r\n\r\n",
        );
        assert_eq!(
            out,
            "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n"
        );
        assert_eq!(n, 19 + 19);
    }

    #[test]
    fn lookalikes_and_values_elsewhere_are_kept() {
        let req = b"GET /close HTTP/1.1\r\nHost: close\r\nX-Connection: close\r\nProxy-Connection: close\r\nConnection: closed, enclose\r\n\r\n";
        head(req);
        let mut out = req.to_vec();
        assert_eq!(strip_close(&mut out), 0);
        assert_eq!(out, req);
    }

    #[test]
    fn body_and_pipelined_bytes_move_up() {
        let req = b"\r\nPOST /f HTTP/1.1\r\nConnection: close\r\nContent-Length: 4\r\nHost: a\r\n\r\nBODYGET / HTTP/1.1\r\n";
        head(req);
        let mut out = req.to_vec();
        let n = strip_close(&mut out);
        assert_eq!(n, 19);
        assert_eq!(
            out,
            b"\r\nPOST /f HTTP/1.1\r\nContent-Length: 4\r\nHost: a\r\n\r\nBODYGET / HTTP/1.1\r\n"
        );
    }

    /// Obs-fold never reaches it: the parser refuses a folded `Connection` line, so no
    /// `close` can hide on a continuation line.
    #[test]
    fn obs_fold_is_refused_before() {
        let req = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive,\r\n close\r\n\r\n";
        assert!(matches!(parse_head(req, 65536), HeadStatus::Rejected(_)));
    }

    #[test]
    fn policy() {
        assert!(strips_close(ServerClose::Keep, 1, true));
        assert!(!strips_close(ServerClose::Keep, 1, false));
        assert!(!strips_close(ServerClose::Keep, 0, true));
        assert!(!strips_close(ServerClose::Pass, 1, true));
        assert_eq!(ServerClose::default(), ServerClose::Keep);
        assert_eq!(CLOSE_IN_PLACE.len(), b"keep-alive".len());
    }
}
