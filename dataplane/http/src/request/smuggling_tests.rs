//! One test per request smuggling vector of the table in `docs/SMUGGLING.md` (same names,
//! same order): the request head's answer, and for chunked bodies where the request
//! framer ends the body or what it refuses. The end-to-end test `t_smuggling.sh` sends
//! the same vectors to a running Splicer.

use super::tests::{complete, refused, show, MAX};
use super::*;
use crate::body::{BodyFramer, FramingError};

/// A refused head: refused the same way when complete, and no prefix of it is ever
/// accepted (a refusal must not depend on where the segments were cut).
fn assert_refused(req: &[u8], want: Refusal) {
    assert_eq!(refused(req), want, "{:?}", show(req));
    for cut in 0..req.len() {
        match parse_head(&req[..cut], MAX) {
            HeadStatus::Partial => {}
            HeadStatus::Rejected(r) => assert_eq!(r, want, "prefix {cut} of {:?}", show(req)),
            HeadStatus::Complete(_) => panic!("prefix {cut} of {:?} accepted", show(req)),
        }
    }
}

/// A head forwarded unchanged: complete, with this body length, and its bytes are the
/// bytes received.
fn assert_forwarded(req: &[u8], want: BodyLength) -> RequestHead {
    let h = complete(req);
    assert_eq!(h.body(), want, "{:?}", show(req));
    assert_eq!(h.raw(), &req[..h.head_len()]);
    h
}

const CHUNKED_HEAD: &[u8] = b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";

/// A chunked request body after [`CHUNKED_HEAD`]: fed whole and a byte at a time, the
/// framer gives the same answer: `Ok(n)` when the body ends after `n` bytes, or the error.
fn chunked_body(body: &[u8]) -> Result<usize, FramingError> {
    let mut req = CHUNKED_HEAD.to_vec();
    req.extend_from_slice(body);
    let h = assert_forwarded(&req, BodyLength::Chunked);
    let rest = &req[h.head_len()..];
    let whole = {
        let mut f = BodyFramer::for_request(h.body());
        f.feed(rest).map(|feed| {
            if feed.complete {
                feed.consumed
            } else {
                usize::MAX
            }
        })
    };
    let bytewise = {
        let mut f = BodyFramer::for_request(h.body());
        let mut out = Ok(usize::MAX);
        for (i, b) in rest.iter().enumerate() {
            match f.feed(core::slice::from_ref(b)) {
                Ok(feed) if feed.complete => {
                    out = Ok(i + feed.consumed);
                    break;
                }
                Ok(_) => {}
                Err(e) => {
                    out = Err(e);
                    break;
                }
            }
        }
        out
    };
    assert_eq!(whole, bytewise, "{:?}", show(body));
    whole
}

macro_rules! refused {
    ($($name:ident: $req:expr => $want:expr;)*) => {$(
        #[test]
        fn $name() {
            assert_refused($req, $want);
        }
    )*};
}

macro_rules! forwarded {
    ($($name:ident: $req:expr => $want:expr;)*) => {$(
        #[test]
        fn $name() {
            assert_forwarded($req, $want);
        }
    )*};
}

macro_rules! body {
    ($($name:ident: $body:expr => $want:expr;)*) => {$(
        #[test]
        fn $name() {
            assert_eq!(chunked_body($body), $want);
        }
    )*};
}

use Refusal::*;

// CL.TE, TE.CL and the Transfer-Encoding obfuscations (TE.TE).
refused! {
    cl_te: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG" => ContentLengthAndTransferEncoding;
    te_cl: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n5c\r\n" => ContentLengthAndTransferEncoding;
    te_cl_zero: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n" => ContentLengthAndTransferEncoding;
    te_obfuscated_cl: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: xchunked\r\n\r\n" => ContentLengthAndTransferEncoding;
    te_space_before_colon: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n" => Malformed;
    te_xchunked: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n" => InvalidTransferEncoding;
    te_chunked_identity: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n" => InvalidTransferEncoding;
    te_identity_chunked: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity, chunked\r\n\r\n" => UnsupportedTransferCoding;
    te_gzip_chunked: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n" => UnsupportedTransferCoding;
    te_gzip: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n" => InvalidTransferEncoding;
    te_tab: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\r\n\r\n" => InvalidTransferEncoding;
    te_vertical_tab: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\x0bchunked\r\n\r\n" => Malformed;
    te_upper: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n" => InvalidTransferEncoding;
    te_capitalised: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n" => InvalidTransferEncoding;
    te_twice: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n" => InvalidTransferEncoding;
    te_twice_identity: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n" => InvalidTransferEncoding;
    te_twice_empty: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\nTransfer-Encoding: chunked\r\n\r\n" => InvalidTransferEncoding;
    te_chunked_chunked: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n" => InvalidTransferEncoding;
    te_obs_fold: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n" => Malformed;
    te_obs_fold_after_other: b"POST / HTTP/1.1\r\nHost: a\r\nX: y\r\n Transfer-Encoding: chunked\r\n\r\n" => Malformed;
    te_trailing_comma: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked,\r\n\r\n" => InvalidTransferEncoding;
    te_leading_comma: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,chunked\r\n\r\n" => InvalidTransferEncoding;
    te_quoted: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n" => InvalidTransferEncoding;
    te_trailing_space: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked \r\n\r\n" => InvalidTransferEncoding;
    te_two_spaces: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:  chunked\r\n\r\n" => InvalidTransferEncoding;
    te_parameter: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n" => InvalidTransferEncoding;
    te_empty: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n" => InvalidTransferEncoding;
    te_nul: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\x00\r\n\r\n" => Malformed;
    te_underscore: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer_Encoding: chunked\r\nContent-Length: 3\r\n\r\n" => FramingFieldLookalike;
    te_space_first_header: b"POST / HTTP/1.1\r\n Transfer-Encoding: chunked\r\nHost: a\r\n\r\n" => Malformed;
    te_http10: b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n" => InvalidTransferEncoding;
    te_http10_with_cl: b"POST / HTTP/1.0\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" => ContentLengthAndTransferEncoding;
}

forwarded! {
    te_canonical: CHUNKED_HEAD => BodyLength::Chunked;
    te_lowercase_name: b"POST / HTTP/1.1\r\nHost: a\r\ntransfer-encoding: chunked\r\n\r\n" => BodyLength::Chunked;
    te_no_space: b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:chunked\r\n\r\n" => BodyLength::Chunked;
}

// Content-Length spellings (CL.CL).
refused! {
    cl_list_equal: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello" => DuplicateContentLength;
    cl_list_differ: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\nhello" => ConflictingContentLength;
    cl_twice_equal: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello" => DuplicateContentLength;
    cl_twice_differ: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello" => ConflictingContentLength;
    cl_leading_zeros: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 005\r\n\r\nhello" => InvalidContentLength;
    cl_double_zero: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 00\r\n\r\n" => InvalidContentLength;
    cl_plus: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello" => InvalidContentLength;
    cl_minus: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n" => InvalidContentLength;
    cl_spaces: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:  5 \r\n\r\nhello" => InvalidContentLength;
    cl_tab: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\t5\r\n\r\nhello" => InvalidContentLength;
    cl_inner_space: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 0\r\n\r\nhello" => InvalidContentLength;
    cl_hex: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\nhello" => InvalidContentLength;
    cl_huge: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n" => InvalidContentLength;
    cl_above_i64: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775808\r\n\r\n" => InvalidContentLength;
    cl_empty: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n" => InvalidContentLength;
    cl_underscore: b"POST / HTTP/1.1\r\nHost: a\r\nContent_Length: 5\r\n\r\nhello" => FramingFieldLookalike;
    cl_space_before_colon: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\nhello" => Malformed;
    cl_obs_fold: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n 5\r\n\r\nhello" => Malformed;
}

forwarded! {
    cl_canonical: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello" => BodyLength::Fixed(5);
    cl_no_space: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length:5\r\n\r\nhello" => BodyLength::Fixed(5);
    cl_zero: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n" => BodyLength::None;
    cl_http10: b"POST / HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello" => BodyLength::Fixed(5);
    cl_max: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775807\r\n\r\n" => BodyLength::Fixed(i64::MAX as u64);
}

// Line ends, control bytes and field syntax.
refused! {
    bare_lf_line_end: b"GET / HTTP/1.1\r\nHost: a\nX-Smuggled: 1\r\n\r\n" => Malformed;
    bare_lf_request_line: b"GET / HTTP/1.1\nHost: a\r\n\r\n" => Malformed;
    bare_lf_head_end: b"GET / HTTP/1.1\r\nHost: a\r\n\n" => Malformed;
    bare_cr_in_value: b"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n" => Malformed;
    bare_cr_line_end: b"GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n" => Malformed;
    bare_cr_request_line: b"GET / HTTP/1.1\rHost: a\r\n\r\n" => Malformed;
    nul_in_value: b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n" => Malformed;
    nul_in_name: b"GET / HTTP/1.1\r\nHost: a\r\nX\x00Y: b\r\n\r\n" => Malformed;
    nul_in_target: b"GET /a\x00b HTTP/1.1\r\nHost: a\r\n\r\n" => Malformed;
    obs_fold: b"GET / HTTP/1.1\r\nHost: a\r\nX: one\r\n two\r\n\r\n" => Malformed;
    obs_fold_tab: b"GET / HTTP/1.1\r\nHost: a\r\nX: one\r\n\ttwo\r\n\r\n" => Malformed;
    space_before_colon: b"GET / HTTP/1.1\r\nHost : a\r\n\r\n" => Malformed;
    tab_before_colon: b"GET / HTTP/1.1\r\nHost: a\r\nX\t: b\r\n\r\n" => Malformed;
    name_with_space: b"POST / HTTP/1.1\r\nHost: a\r\nContent Length: 5\r\n\r\nhello" => Malformed;
    name_invalid_char: b"GET / HTTP/1.1\r\nHost: a\r\nX[1]: b\r\n\r\n" => Malformed;
    name_non_ascii: b"GET / HTTP/1.1\r\nHost: a\r\nCaf\xe9: b\r\n\r\n" => Malformed;
    name_empty: b"GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n" => Malformed;
}

// Host and the request-target.
refused! {
    host_twice_equal: b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n" => BadHost;
    host_twice_differ: b"GET / HTTP/1.1\r\nHost: a\r\nhost: evil\r\n\r\n" => BadHost;
    host_userinfo: b"GET / HTTP/1.1\r\nHost: user@a\r\n\r\n" => BadHost;
    host_port_junk: b"GET / HTTP/1.1\r\nHost: a:80x\r\n\r\n" => BadHost;
    host_two_ports: b"GET / HTTP/1.1\r\nHost: a:80:81\r\n\r\n" => BadHost;
    host_list: b"GET / HTTP/1.1\r\nHost: a, evil\r\n\r\n" => BadHost;
    host_empty: b"GET / HTTP/1.1\r\nHost:\r\n\r\n" => BadHost;
    host_missing: b"GET / HTTP/1.1\r\n\r\n" => MissingHost;
    absolute_other_host: b"GET http://evil/ HTTP/1.1\r\nHost: a\r\n\r\n" => BadHost;
    absolute_other_port: b"GET http://a:8080/ HTTP/1.1\r\nHost: a\r\n\r\n" => BadHost;
    absolute_userinfo: b"GET http://a@evil/ HTTP/1.1\r\nHost: evil\r\n\r\n" => BadHost;
    absolute_no_host: b"GET http://a/ HTTP/1.1\r\n\r\n" => MissingHost;
    target_fragment: b"GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n" => BadTarget;
    target_relative: b"GET a/b HTTP/1.1\r\nHost: a\r\n\r\n" => BadTarget;
}

forwarded! {
    absolute_same_host: b"GET http://a:8080/p HTTP/1.1\r\nHost: A:8080\r\n\r\n" => BodyLength::None;
}

// The request line.
refused! {
    line_double_space: b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n" => Malformed;
    line_trailing_space: b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n" => Malformed;
    line_tab: b"GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n" => Malformed;
    line_lowercase_version: b"GET / http/1.1\r\nHost: a\r\n\r\n" => Malformed;
    line_http09: b"GET /\r\n\r\n" => Malformed;
    line_version_12: b"GET / HTTP/1.2\r\nHost: a\r\n\r\n" => UnsupportedVersion;
    line_leading_bare_lf: b"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n" => Malformed;
}

#[test]
fn line_leading_empty_line() {
    // RFC 9112 §2.2: a server SHOULD ignore empty lines before the request line; old
    // clients send one after a POST body. Forwarded as received.
    let h = assert_forwarded(b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", BodyLength::None);
    assert_eq!(h.path(), "/");
}

// Bodies on methods that have none, and Connection options naming framing fields.
refused! {
    get_with_body: b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 33\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n" => BodyNotAllowed;
    get_chunked: b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" => BodyNotAllowed;
    head_with_body: b"HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello" => BodyNotAllowed;
    trace_with_body: b"TRACE / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello" => BodyNotAllowed;
    connection_content_length: b"POST / HTTP/1.1\r\nHost: a\r\nConnection: Content-Length\r\nContent-Length: 5\r\n\r\nhello" => HopByHopFraming;
    connection_transfer_encoding: b"POST / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n" => HopByHopFraming;
    connection_host: b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close, Host\r\n\r\n" => HopByHopFraming;
}

forwarded! {
    get_cl_zero: b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n" => BodyLength::None;
    post_with_body: b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello" => BodyLength::Fixed(5);
    delete_with_body: b"DELETE /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}" => BodyLength::Fixed(2);
}

// Chunked bodies (after a canonical `Transfer-Encoding: chunked` head).
body! {
    chunk_canonical: b"5\r\nhello\r\n0\r\n\r\n" => Ok(15);
    chunk_size_17_digits: b"10000000000000000\r\n" => Err(FramingError::ChunkSizeOverflow);
    chunk_size_overflow: b"fffffffffffffffff5\r\n" => Err(FramingError::ChunkSizeOverflow);
    chunk_size_leading_zeros_17: b"00000000000000005\r\nhello\r\n0\r\n\r\n" => Err(FramingError::ChunkSizeOverflow);
    chunk_size_leading_zeros_16: b"0000000000000005\r\nhello\r\n0\r\n\r\n" => Ok(30);
    chunk_size_above_i64: b"8000000000000000\r\n" => Err(FramingError::ChunkSizeOverflow);
    chunk_size_space_after: b"5 \r\nhello\r\n0\r\n\r\n" => Err(FramingError::InvalidChunkSize);
    chunk_size_space_before: b" 5\r\nhello\r\n0\r\n\r\n" => Err(FramingError::InvalidChunkSize);
    chunk_size_tab_before_ext: b"5\t;a=b\r\nhello\r\n0\r\n\r\n" => Err(FramingError::InvalidChunkSize);
    chunk_size_hex_prefix: b"0x5\r\nhello\r\n0\r\n\r\n" => Err(FramingError::InvalidChunkSize);
    chunk_size_negative: b"-5\r\nhello\r\n0\r\n\r\n" => Err(FramingError::InvalidChunkSize);
    chunk_size_empty: b"\r\nhello\r\n0\r\n\r\n" => Err(FramingError::InvalidChunkSize);
    chunk_size_bare_lf: b"5\nhello\r\n0\r\n\r\n" => Err(FramingError::InvalidChunkSize);
    chunk_ext: b"5;name=value\r\nhello\r\n0\r\n\r\n" => Ok(26);
    chunk_ext_quoted: b"5;a=\"b c;d\"\r\nhello\r\n0\r\n\r\n" => Ok(25);
    chunk_ext_bare_lf: b"5;a\nhello\r\n0\r\n\r\n" => Err(FramingError::InvalidChunkExtension);
    chunk_ext_bare_cr: b"5;a\rb\r\nhello\r\n0\r\n\r\n" => Err(FramingError::InvalidLineEnd);
    chunk_ext_control: b"5;a\x01\r\nhello\r\n0\r\n\r\n" => Err(FramingError::InvalidChunkExtension);
    chunk_ext_overlong: &[b"5;".as_slice(), &[b'a'; 5000]].concat() => Err(FramingError::ChunkLineTooLong);
    chunk_data_bare_lf: b"5\r\nhello\n0\r\n\r\n" => Err(FramingError::InvalidLineEnd);
    chunk_data_longer_than_size: b"5\r\nhelloGET /smuggled HTTP/1.1\r\n\r\n" => Err(FramingError::InvalidLineEnd);
    last_chunk_bare_lf: b"0\n\n" => Err(FramingError::InvalidChunkSize);
    last_chunk_final_bare_lf: b"0\r\n\n" => Err(FramingError::InvalidTrailer);
    trailer: b"0\r\nX-Sum: 1\r\n\r\n" => Ok(15);
    trailer_content_length: b"0\r\nContent-Length: 40\r\n\r\n" => Err(FramingError::InvalidTrailer);
    trailer_transfer_encoding: b"0\r\nTransfer-Encoding: chunked\r\n\r\n" => Err(FramingError::InvalidTrailer);
    trailer_host: b"0\r\nhost: evil\r\n\r\n" => Err(FramingError::InvalidTrailer);
    trailer_content_length_underscore: b"0\r\nContent_Length: 40\r\n\r\n" => Err(FramingError::InvalidTrailer);
    trailer_obs_fold: b"0\r\nX: a\r\n b\r\n\r\n" => Err(FramingError::InvalidTrailer);
    trailer_space_before_colon: b"0\r\nX : a\r\n\r\n" => Err(FramingError::InvalidTrailer);
    trailer_bare_lf: b"0\r\nX: a\nY: b\r\n\r\n" => Err(FramingError::InvalidTrailer);
    trailer_nul: b"0\r\nX: a\x00\r\n\r\n" => Err(FramingError::InvalidTrailer);
}

#[test]
fn data_after_last_chunk() {
    // What follows the last chunk is framed as a request of its own (pipelining): it is
    // routed, and refused or forwarded, like any first request.
    let body = b"0\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n";
    assert_eq!(chunked_body(body), Ok(5));
    assert_eq!(complete(&body[5..]).path(), "/next");
    let garbage = b"0\r\n\r\nhello";
    assert_eq!(chunked_body(garbage), Ok(5));
    assert_eq!(parse_head(b"hello", MAX), HeadStatus::Partial);
    assert_eq!(refused(b"hello\r\n\r\n"), Malformed);
}

#[test]
fn chunk_size_17_digits_late() {
    // The bad size arrives in a later segment than the head: the head alone is forwarded
    // (the engine then resets the server connection on the framer's error).
    let h = assert_forwarded(CHUNKED_HEAD, BodyLength::Chunked);
    let mut f = BodyFramer::for_request(h.body());
    assert_eq!(f.feed(b"").map(|feed| feed.complete), Ok(false));
    assert_eq!(
        f.feed(b"10000000000000000\r\n"),
        Err(FramingError::ChunkSizeOverflow)
    );
}
