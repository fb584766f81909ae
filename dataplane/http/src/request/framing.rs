//! The framing rules of a request head: which spellings of `Content-Length` and
//! `Transfer-Encoding` Splicer forwards, and which related fields it refuses.
//!
//! Splicer forwards the head bytes as received, so "the server reads the same length"
//! only holds if the bytes leave no room for interpretation. These rules therefore look
//! at the field values *as sent* (between the colon and the CRLF), not at httparse's
//! trimmed view, and accept exactly one spelling of each framing field: the one every
//! mainstream client sends. Everything else that RFC 9112 would let a lenient server
//! accept is refused, because some server behind a load balancer reads it differently
//! (the `TE.TE` and `CL.CL` families of request smuggling).

use super::{trim_ows, Method, Refusal};
use crate::body::is_tchar;

/// The largest body length accepted: servers keep lengths in a signed 64-bit `off_t`
/// and refuse larger ones, while Splicer would wait for the body.
pub(super) const MAX_CONTENT_LENGTH: u64 = i64::MAX as u64;

/// The value of the field whose name ends at `name_end` (the colon's offset), as sent:
/// everything between the colon and the CRLF, whitespace included. httparse has already
/// refused a CR that is not followed by LF, so the first CR ends the line.
pub(super) fn raw_value(head: &[u8], name_end: usize) -> &[u8] {
    let start = (name_end + 1).min(head.len());
    let rest = &head[start..];
    let end = rest.iter().position(|&b| b == b'\r').unwrap_or(rest.len());
    &rest[..end]
}

/// Strips the one space that conventionally follows a colon.
fn after_colon_space(raw: &[u8]) -> &[u8] {
    raw.strip_prefix(b" ").unwrap_or(raw)
}

/// 1*DIGIT without a sign, spaces or hex, fitting in `u64`.
pub(super) fn parse_decimal(v: &[u8]) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &b in v {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(n)
}

/// One `Content-Length` field, as sent. Accepted: an optional single space, then a
/// decimal number without leading zeros (`0` itself is fine) up to
/// [`MAX_CONTENT_LENGTH`], then the line end.
///
/// A list (`5, 5`) is refused even when its values agree ([`Refusal::DuplicateContentLength`]):
/// RFC 9110 §8.6 lets a recipient either accept or reject it, so servers differ, and
/// Splicer cannot collapse it to one value without rewriting the head. Leading zeros,
/// signs, tabs and trailing whitespace are all read as the same number by some parsers
/// and refused by others.
pub(super) fn content_length(raw: &[u8]) -> Result<u64, Refusal> {
    let v = after_colon_space(raw);
    if v.contains(&b',') {
        // Tell a repeated value from conflicting ones, for the operator's benefit.
        let mut first = None;
        for element in v.split(|&b| b == b',') {
            let n = parse_decimal(trim_ows(element)).ok_or(Refusal::InvalidContentLength)?;
            match first {
                None => first = Some(n),
                Some(f) if f != n => return Err(Refusal::ConflictingContentLength),
                Some(_) => {}
            }
        }
        return Err(Refusal::DuplicateContentLength);
    }
    if v.len() > 1 && v[0] == b'0' {
        return Err(Refusal::InvalidContentLength);
    }
    match parse_decimal(v) {
        Some(n) if n <= MAX_CONTENT_LENGTH => Ok(n),
        _ => Err(Refusal::InvalidContentLength),
    }
}

/// What one `Transfer-Encoding` field, as sent, asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TransferEncoding {
    /// Exactly `chunked`: the only spelling forwarded.
    Chunked,
    /// A well-formed list of codings ending in a single `chunked` (`gzip, chunked`):
    /// framed unambiguously, but a coding servers rarely implement for requests.
    CodingsThenChunked,
}

/// One `Transfer-Encoding` field, as sent. Accepted: an optional single space and then
/// `chunked` in lower case, nothing else on the line. Refused with 400: other letter
/// cases (`Chunked`, `CHUNKED`), tabs, trailing whitespace or commas (`chunked,`), a last
/// coding that is not `chunked` (`chunked, identity`, `xchunked`), `chunked` twice, an
/// empty value. RFC 9112 §7 makes coding names case-insensitive and lets empty list
/// elements be ignored, but each of those spellings has been read as "no chunked
/// coding" by some server (the TE.TE obfuscations); every client sends `chunked`.
pub(super) fn transfer_encoding(raw: &[u8]) -> Result<TransferEncoding, Refusal> {
    let v = after_colon_space(raw);
    if v == b"chunked" {
        return Ok(TransferEncoding::Chunked);
    }
    let mut elements = 0;
    let mut chunked = 0;
    let mut last_chunked = false;
    for element in v.split(|&b| b == b',') {
        let element = element.strip_prefix(b" ").unwrap_or(element);
        if element.is_empty() || !element.iter().all(|&b| is_tchar(b)) {
            return Err(Refusal::InvalidTransferEncoding);
        }
        elements += 1;
        last_chunked = element == b"chunked";
        chunked += usize::from(element.eq_ignore_ascii_case(b"chunked"));
    }
    if last_chunked && chunked == 1 && elements > 1 {
        Ok(TransferEncoding::CodingsThenChunked)
    } else {
        Err(Refusal::InvalidTransferEncoding)
    }
}

/// Header names that a CGI-style gateway (RFC 3875 §4.1.18 maps `-` to `_`) or a lenient
/// parser would take for a framing field: `Content_Length`, `Transfer_Encoding`.
pub(super) fn framing_lookalike(name: &str) -> bool {
    if !name.contains('_') {
        return false;
    }
    ["content-length", "transfer-encoding"].iter().any(|f| {
        f.len() == name.len()
            && f.bytes()
                .zip(name.bytes())
                .all(|(a, b)| a == b.to_ascii_lowercase() || (a == b'-' && b == b'_'))
    })
}

/// A `Connection` option naming a field that frames or routes the request. RFC 9110
/// §7.6.1 forbids a sender to list a field meant for every recipient; a proxy between
/// Splicer and the server that honours the option would delete the field and read the
/// body (or the host) differently from Splicer.
pub(super) fn hop_by_hop_framing(token: &[u8]) -> bool {
    ["content-length", "transfer-encoding", "host"]
        .iter()
        .any(|f| token.eq_ignore_ascii_case(f.as_bytes()))
}

/// Methods whose requests may not carry a body here. RFC 9110 §9.3.1 (GET) and §9.3.2
/// (HEAD) say content in them "might lead some implementations to reject the request and
/// close the connection because of its potential as a request smuggling attack"; a
/// server that ignores their body instead (the `CL.0` desync) reads it as the next
/// request on a pooled connection. §9.3.8 forbids content in TRACE outright.
pub(super) fn forbids_body(method: Method) -> bool {
    matches!(method, Method::Get | Method::Head | Method::Trace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_value_is_the_line_as_sent() {
        let head = b"X:\t 5 \r\nY: 1\r\n\r\n";
        assert_eq!(raw_value(head, 1), b"\t 5 ");
        assert_eq!(raw_value(b"X:\r\n", 1), b"");
    }

    #[test]
    fn content_length_spellings() {
        for (raw, n) in [
            (&b" 5"[..], 5),
            (b"5", 5),
            (b" 0", 0),
            (b" 9223372036854775807", i64::MAX as u64),
        ] {
            assert_eq!(content_length(raw), Ok(n), "{raw:?}");
        }
        for raw in [
            &b" 05"[..],
            b" 00",
            b" +5",
            b" -1",
            b"  5",
            b"\t5",
            b" 5 ",
            b" 5\t",
            b"",
            b" ",
            b" 9223372036854775808",
            b" 18446744073709551616",
            b" 0x5",
            b" 5a",
            b" 5 5",
        ] {
            assert_eq!(
                content_length(raw),
                Err(Refusal::InvalidContentLength),
                "{raw:?}"
            );
        }
        assert_eq!(
            content_length(b" 5, 5"),
            Err(Refusal::DuplicateContentLength)
        );
        assert_eq!(
            content_length(b" 5,5"),
            Err(Refusal::DuplicateContentLength)
        );
        assert_eq!(
            content_length(b" 5, 6"),
            Err(Refusal::ConflictingContentLength)
        );
        assert_eq!(content_length(b" 5,"), Err(Refusal::InvalidContentLength));
    }

    #[test]
    fn transfer_encoding_spellings() {
        assert_eq!(
            transfer_encoding(b" chunked"),
            Ok(TransferEncoding::Chunked)
        );
        assert_eq!(transfer_encoding(b"chunked"), Ok(TransferEncoding::Chunked));
        assert_eq!(
            transfer_encoding(b" gzip, chunked"),
            Ok(TransferEncoding::CodingsThenChunked)
        );
        for raw in [
            &b" Chunked"[..],
            b" CHUNKED",
            b"\tchunked",
            b"  chunked",
            b" chunked ",
            b" chunked,",
            b" ,chunked",
            b" chunked, identity",
            b" xchunked",
            b" chunked, chunked",
            b" gzip, Chunked",
            b" identity",
            b"",
            b" chunked;q=1",
            b" \"chunked\"",
        ] {
            assert_eq!(
                transfer_encoding(raw),
                Err(Refusal::InvalidTransferEncoding),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn lookalikes_and_hop_by_hop() {
        for name in [
            "Content_Length",
            "content_length",
            "Transfer_Encoding",
            "transfer_encoding",
        ] {
            assert!(framing_lookalike(name), "{name}");
        }
        for name in [
            "Content-Length",
            "X_Content_Length",
            "Hostname",
            "X_Y",
            "Host",
        ] {
            assert!(!framing_lookalike(name), "{name}");
        }
        assert!(hop_by_hop_framing(b"Content-Length"));
        assert!(hop_by_hop_framing(b"transfer-encoding"));
        assert!(hop_by_hop_framing(b"HOST"));
        assert!(!hop_by_hop_framing(b"keep-alive"));
        assert!(!hop_by_hop_framing(b"TE"));
    }
}
