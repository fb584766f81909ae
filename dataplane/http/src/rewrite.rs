//! Keep-alive insertion (case 3 of NetScaler's "Internet client-server multiplexer",
//! WO 00/28433): an HTTP/1.0 request without `Connection: Keep-Alive` forwarded on a
//! pooled, persistent server connection.
//!
//! Without the header an HTTP/1.0 server closes its connection after the response, and
//! the pool loses it. Splicer inserts `Connection: Keep-Alive\r\n` into the head it
//! forwards and records the bytes added, so that the server leg's sequence numbers are
//! shifted by that amount from then on (`out = in - in_start + out_start + bytes_added`,
//! acks inversely) and the client never sees the extra bytes acknowledged.
//!
//! The simplest correct approach is taken:
//! * the line goes right after the request line: the position is known without looking
//!   at any header, and it lands in the first segment Splicer sends;
//! * only a request with no `close` token is rewritten. A request that says
//!   `Connection: close` would then carry both `close` and `Keep-Alive`, which servers
//!   resolve differently; replacing the value in place would mean editing the middle of
//!   the head for a rare case. Such a request is forwarded unchanged and its server
//!   connection is not reused (the response framer reports it not reusable once the
//!   server answers with `Connection: close` or closes).
//! * other `Connection` tokens (`TE`, header names) are kept: a second `Connection` line
//!   adds to the list, which is how HTTP combines repeated list headers.
//!
//! The client still gets its HTTP/1.0 semantics: Splicer closes the client connection
//! once the response is complete, since [`crate::request::RequestHead::keep_alive`] is
//! false.

use crate::request::RequestHead;

/// The header line inserted.
pub const KEEP_ALIVE_LINE: &[u8] = b"Connection: Keep-Alive\r\n";

/// Where to insert [`KEEP_ALIVE_LINE`] into a buffered request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Insertion {
    offset: usize,
}

impl Insertion {
    /// The byte offset in the request buffer before which the line goes.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The bytes inserted.
    pub fn bytes(&self) -> &'static [u8] {
        KEEP_ALIVE_LINE
    }

    /// The "Bytes Added" to the server leg of the connection.
    pub fn bytes_added(&self) -> usize {
        KEEP_ALIVE_LINE.len()
    }

    /// The length of the rewritten buffer for a source of `src_len` bytes.
    pub fn output_len(&self, src_len: usize) -> usize {
        src_len + self.bytes_added()
    }
}

/// Whether (and where) to insert `Connection: Keep-Alive` into the request `buf` whose
/// parsed head is `head`: only for an HTTP/1.0 request that did not ask for keep-alive
/// and did not say `close`. `None` also when `buf` does not hold the head it was parsed
/// from.
pub fn keep_alive_insertion(head: &RequestHead, buf: &[u8]) -> Option<Insertion> {
    if head.version() != 0 || head.keep_alive() || head.connection_close() {
        return None;
    }
    let offset = head.request_line_len();
    if buf.len() < head.head_len() || buf[..head.head_len()] != *head.raw() {
        return None;
    }
    if offset < 2 || &buf[offset - 2..offset] != b"\r\n" {
        return None;
    }
    Some(Insertion { offset })
}

/// Writes `src` with the insertion applied into `dst` and returns the bytes written, or
/// 0 (writing nothing) when `dst` is shorter than [`Insertion::output_len`] or the
/// offset lies beyond `src`.
pub fn apply(insertion: &Insertion, src: &[u8], dst: &mut [u8]) -> usize {
    let out = insertion.output_len(src.len());
    if dst.len() < out || insertion.offset > src.len() {
        return 0;
    }
    let (before, after) = src.split_at(insertion.offset);
    let line = insertion.bytes();
    dst[..before.len()].copy_from_slice(before);
    dst[before.len()..before.len() + line.len()].copy_from_slice(line);
    dst[before.len() + line.len()..out].copy_from_slice(after);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{parse_head, HeadStatus};

    fn head(buf: &[u8]) -> RequestHead {
        match parse_head(buf, 8192) {
            HeadStatus::Complete(h) => h,
            other => panic!("{other:?}"),
        }
    }

    fn rewritten(buf: &[u8]) -> (Insertion, Vec<u8>) {
        let h = head(buf);
        let ins = keep_alive_insertion(&h, buf).expect("an insertion");
        let mut dst = vec![0u8; ins.output_len(buf.len())];
        let n = apply(&ins, buf, &mut dst);
        assert_eq!(n, buf.len() + ins.bytes_added());
        (ins, dst)
    }

    #[test]
    fn http10_without_keep_alive() {
        let req = b"GET /index.html HTTP/1.0\r\nUser-Agent: Mozilla/4.5 [en] (WinNT;U)\r\nHost: www.acme.com\r\n\r\n";
        let (ins, out) = rewritten(req);
        assert_eq!(ins.offset(), "GET /index.html HTTP/1.0\r\n".len());
        assert_eq!(ins.bytes_added(), 24);
        assert_eq!(ins.bytes(), b"Connection: Keep-Alive\r\n");
        assert!(
            out.starts_with(b"GET /index.html HTTP/1.0\r\nConnection: Keep-Alive\r\nUser-Agent:")
        );

        // It parses with httparse, carries the header, and asks for keep-alive.
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut r = httparse::Request::new(&mut headers);
        assert_eq!(
            r.parse(&out).unwrap(),
            httparse::Status::Complete(out.len())
        );
        assert_eq!(r.path, Some("/index.html"));
        assert!(r
            .headers
            .iter()
            .any(|h| h.name == "Connection" && h.value == b"Keep-Alive"));
        let again = head(&out);
        assert!(again.keep_alive());
        assert_eq!(again.host(), "www.acme.com");
        assert_eq!(again.head_len(), req.len() + 24);
    }

    #[test]
    fn body_and_pipelined_bytes_are_kept() {
        let mut buf = b"POST /f HTTP/1.0\r\nContent-Length: 4\r\n\r\n".to_vec();
        let head_len = buf.len();
        buf.extend_from_slice(b"BODY");
        let (ins, out) = rewritten(&buf);
        assert_eq!(&out[head_len + ins.bytes_added()..], b"BODY");
        let again = head(&out);
        assert_eq!(again.body(), crate::request::BodyLength::Fixed(4));
    }

    #[test]
    fn other_connection_tokens_kept() {
        let (_, out) = rewritten(b"GET / HTTP/1.0\r\nConnection: TE\r\nTE: trailers\r\n\r\n");
        let h = head(&out);
        assert!(h.keep_alive());
        let values: Vec<&[u8]> = h.header_values("connection").collect();
        assert_eq!(values, vec![&b"Keep-Alive"[..], &b"TE"[..]]);
    }

    #[test]
    fn leading_empty_line() {
        let (ins, out) = rewritten(b"\r\nGET / HTTP/1.0\r\n\r\n");
        assert_eq!(ins.offset(), 2 + "GET / HTTP/1.0\r\n".len());
        assert_eq!(out, b"\r\nGET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
    }

    #[test]
    fn not_needed_or_not_safe() {
        for req in [
            &b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"[..],
            b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
            b"GET / HTTP/1.0\r\nConnection: Keep-Alive, TE\r\n\r\n",
            b"GET / HTTP/1.0\r\nConnection: close\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        ] {
            assert_eq!(
                keep_alive_insertion(&head(req), req),
                None,
                "{:?}",
                String::from_utf8_lossy(req)
            );
        }
    }

    #[test]
    fn buffer_must_hold_the_parsed_head() {
        let req = b"GET /a HTTP/1.0\r\n\r\n";
        let h = head(req);
        assert_eq!(keep_alive_insertion(&h, &req[..10]), None);
        assert_eq!(keep_alive_insertion(&h, b"GET /b HTTP/1.0\r\n\r\n"), None);
    }

    #[test]
    fn apply_refuses_a_short_destination() {
        let req = b"GET / HTTP/1.0\r\n\r\n";
        let ins = keep_alive_insertion(&head(req), req).unwrap();
        let mut small = vec![0u8; req.len() + 23];
        assert_eq!(apply(&ins, req, &mut small), 0);
        let mut big = vec![0u8; 100];
        let n = apply(&ins, req, &mut big);
        assert_eq!(
            &big[..n],
            b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"
        );
        assert_eq!(apply(&ins, &req[..3], &mut big), 0);
    }
}
