//! Unit tests of the response framer.

use super::*;
use crate::body::tests::random_pieces;
use rand::rngs::StdRng;
use rand::SeedableRng;

/// Feeds `stream` in `pieces`; returns where the response ended, if it did.
fn end_in(
    head: bool,
    stream: &[u8],
    pieces: &[(usize, usize)],
) -> (ResponseFramer, Result<Option<usize>, FramingError>) {
    let mut f = ResponseFramer::new(head);
    for &(a, b) in pieces {
        match f.feed(&stream[a..b]) {
            Ok(feed) if feed.complete => return (f, Ok(Some(a + feed.consumed))),
            Ok(feed) => assert_eq!(
                feed.consumed,
                b - a,
                "an incomplete feed consumes everything"
            ),
            Err(e) => return (f, Err(e)),
        }
    }
    (f, Ok(None))
}

fn end(head: bool, stream: &[u8]) -> (ResponseFramer, Result<Option<usize>, FramingError>) {
    end_in(head, stream, &[(0, stream.len())])
}

/// Checks that `response` (followed by junk that belongs to the next response) ends
/// exactly after `response` whole, byte by byte, at every split point and in random
/// splits; returns the framer that read it whole.
fn check_all_splits(head: bool, response: &[u8]) -> ResponseFramer {
    let mut stream = response.to_vec();
    stream.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
    let want = Ok(Some(response.len()));
    let (whole, got) = end(head, &stream);
    assert_eq!(got, want, "whole {:?}", String::from_utf8_lossy(response));
    let bytewise: Vec<_> = (0..stream.len()).map(|i| (i, i + 1)).collect();
    let (f, got) = end_in(head, &stream, &bytewise);
    assert_eq!(got, want, "bytewise");
    assert_eq!(f, whole, "the split does not change the outcome");
    for cut in 0..stream.len() {
        let (_, got) = end_in(head, &stream, &[(0, cut), (cut, stream.len())]);
        assert_eq!(got, want, "cut {cut}");
    }
    let mut rng = StdRng::seed_from_u64(0xC0FF_EE00 ^ response.len() as u64);
    for _ in 0..300 {
        let pieces = random_pieces(&mut rng, stream.len(), 7);
        let (f, got) = end_in(head, &stream, &pieces);
        assert_eq!(got, want, "random split {pieces:?}");
        assert_eq!(f, whole);
    }
    whole
}

#[test]
fn content_length() {
    let r = b"HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 12\r\nContent-Type: text/plain\r\n\r\nhello world!";
    let f = check_all_splits(false, r);
    assert_eq!(f.status(), Some(200));
    assert_eq!(f.status_class(), Some(StatusClass::Success));
    assert_eq!(f.version(), Some(1));
    assert_eq!(f.body(), Some(ResponseBody::Fixed(12)));
    assert!(f.is_complete());
    assert!(f.reusable());
    assert!(!f.needs_close());
}

#[test]
fn content_length_zero_and_repeats() {
    let f = check_all_splits(
        false,
        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(f.body(), Some(ResponseBody::None));
    assert_eq!(f.status_class(), Some(StatusClass::ClientError));
    let f = check_all_splits(false, b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\ncontent-length:3\r\nContent-Length: 3 , 3\r\n\r\nabc");
    assert_eq!(f.body(), Some(ResponseBody::Fixed(3)));
}

#[test]
fn chunked_with_extensions_and_trailers() {
    let r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n4;ext=1\r\nWiki\r\n6 ; a=\"b\"\r\npedia \r\nE\r\nin \r\n\r\nchunks.\r\n0;last\r\nX-Sum: 1\r\nX-Other: 2\r\n\r\n";
    let f = check_all_splits(false, r);
    assert_eq!(f.body(), Some(ResponseBody::Chunked));
    assert!(f.reusable());
}

#[test]
fn chunked_after_other_codings() {
    let f = check_all_splits(false, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: Chunked\r\n\r\n1\r\nz\r\n0\r\n\r\n");
    assert_eq!(f.body(), Some(ResponseBody::Chunked));
    let f = check_all_splits(
        false,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    );
    assert_eq!(f.body(), Some(ResponseBody::Chunked));
}

#[test]
fn head_response_has_no_body() {
    let f = check_all_splits(true, b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n");
    assert_eq!(f.body(), Some(ResponseBody::None));
    assert!(f.reusable());
    let f = check_all_splits(
        true,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    assert_eq!(f.body(), Some(ResponseBody::None));
    // Not even close-delimited.
    let f = check_all_splits(true, b"HTTP/1.1 200 OK\r\n\r\n");
    assert!(!f.needs_close());
}

#[test]
fn no_content_and_not_modified() {
    let f = check_all_splits(false, b"HTTP/1.1 204 No Content\r\nDate: x\r\n\r\n");
    assert_eq!(f.status(), Some(204));
    assert_eq!(f.body(), Some(ResponseBody::None));
    assert!(f.reusable());
    let f = check_all_splits(
        false,
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\nETag: \"x\"\r\n\r\n",
    );
    assert_eq!(f.status(), Some(304));
    assert_eq!(f.status_class(), Some(StatusClass::Redirection));
    assert_eq!(f.body(), Some(ResponseBody::None));
}

#[test]
fn continue_then_final() {
    let r = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
    let f = check_all_splits(false, r);
    assert_eq!(f.status(), Some(201));
    assert_eq!(f.body(), Some(ResponseBody::Fixed(2)));
    // After only the interim response, the exchange is not over.
    let (f, got) = end(false, b"HTTP/1.1 100 Continue\r\n\r\n");
    assert_eq!(got, Ok(None));
    assert_eq!(f.status(), None);
    assert!(!f.head_complete());
    assert!(!f.reusable());
}

#[test]
fn switching_protocols_runs_to_close() {
    let mut f = ResponseFramer::new(false);
    let feed = f.feed(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello").unwrap();
    assert!(!feed.complete);
    assert_eq!(f.status(), Some(101));
    assert_eq!(f.status_class(), Some(StatusClass::Informational));
    assert!(f.needs_close());
    assert!(!f.reusable());
    assert_eq!(f.finish(), Ok(()));
    assert!(f.is_complete());
}

#[test]
fn close_delimited() {
    let r = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html>all of it</html>";
    for split in [1, 3, r.len()] {
        let mut f = ResponseFramer::new(false);
        for piece in r.chunks(split) {
            assert_eq!(
                f.feed(piece),
                Ok(Feed {
                    consumed: piece.len(),
                    complete: false
                })
            );
        }
        assert!(f.needs_close());
        assert!(!f.reusable());
        assert_eq!(f.body(), Some(ResponseBody::UntilClose));
        assert!(!f.is_complete());
        assert_eq!(f.finish(), Ok(()));
        assert!(f.is_complete());
        assert_eq!(
            f.feed(b"x"),
            Ok(Feed {
                consumed: 0,
                complete: true
            })
        );
    }
    // A last coding other than chunked also runs to close.
    let (f, got) = end(
        false,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxx",
    );
    assert_eq!(got, Ok(None));
    assert!(f.needs_close());
}

#[test]
fn truncated() {
    let mut f = ResponseFramer::new(false);
    f.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        .unwrap();
    assert_eq!(f.finish(), Err(FramingError::Truncated));
    assert_eq!(f.error(), Some(FramingError::Truncated));
    assert!(!f.reusable());
    let mut f = ResponseFramer::new(false);
    f.feed(b"HTTP/1.1 200 OK\r\nContent-Le").unwrap();
    assert_eq!(f.finish(), Err(FramingError::Truncated));
    let mut f = ResponseFramer::new(false);
    f.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab")
        .unwrap();
    assert_eq!(f.finish(), Err(FramingError::Truncated));
}

fn reusable(r: &[u8]) -> bool {
    let (f, got) = end(false, r);
    assert!(matches!(got, Ok(Some(_))), "{got:?}");
    f.reusable()
}

#[test]
fn connection_tokens_and_versions() {
    assert!(reusable(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
    assert!(!reusable(
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    ));
    assert!(!reusable(
        b"HTTP/1.1 200 OK\r\nconnection: CLOSE\r\nContent-Length: 0\r\n\r\n"
    ));
    assert!(!reusable(
        b"HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n"
    ));
    assert!(!reusable(b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nConnection:close\r\nContent-Length: 0\r\n\r\n"));
    assert!(!reusable(
        b"HTTP/1.1 200 OK\r\nConnection: te,close ,x\r\nContent-Length: 0\r\n\r\n"
    ));
    assert!(reusable(
        b"HTTP/1.1 200 OK\r\nConnection: closed\r\nContent-Length: 0\r\n\r\n"
    ));
    assert!(reusable(
        b"HTTP/1.1 200 OK\r\nConnection: clos\r\nContent-Length: 0\r\n\r\n"
    ));
    assert!(reusable(
        b"HTTP/1.1 200 OK\r\nConnection: c lose\r\nContent-Length: 0\r\n\r\n"
    ));
    assert!(reusable(
        b"HTTP/1.1 200 OK\r\nX-Connection: close\r\nContent-Length: 0\r\n\r\n"
    ));
    assert!(reusable(
        b"HTTP/1.1 200 OK\r\nConnection-X: close\r\nContent-Length: 0\r\n\r\n"
    ));
    assert!(!reusable(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"));
    assert!(reusable(
        b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n"
    ));
    assert!(reusable(
        b"HTTP/1.0 200 OK\r\nConnection: foo, keep-alive\r\nContent-Length: 0\r\n\r\n"
    ));
    assert!(!reusable(
        b"HTTP/1.0 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n"
    ));
    assert!(!reusable(
        b"HTTP/1.0 200 OK\r\nConnection: keep-alive-ish\r\nContent-Length: 0\r\n\r\n"
    ));
    // A future 1.x is treated as 1.1.
    let (f, _) = end(false, b"HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(f.version(), Some(1));
    assert!(f.reusable());
    let (f, _) = end(false, b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(f.version(), Some(0));
}

#[test]
fn lenient_line_ends_and_folding() {
    let f = check_all_splits(false, b"HTTP/1.1 200 OK\nContent-Length: 2\nX: y\n\nhi");
    assert_eq!(f.body(), Some(ResponseBody::Fixed(2)));
    let f = check_all_splits(false, b"HTTP/1.1 200\r\nContent-Length: 1\r\n\r\nx");
    assert_eq!(f.status(), Some(200));
    let f = check_all_splits(false, b"HTTP/1.1 200 \r\nContent-Length: 1\r\n\r\nx");
    assert_eq!(f.status(), Some(200));
    // obs-fold on a header that does not matter for framing is skipped.
    let f = check_all_splits(
        false,
        b"HTTP/1.1 200 OK\r\nX-Long: a\r\n b\r\n\tc\r\nContent-Length: 1\r\n\r\nx",
    );
    assert_eq!(f.body(), Some(ResponseBody::Fixed(1)));
}

#[test]
fn framing_errors() {
    let cases: [(&[u8], FramingError); 22] = [
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            FramingError::ContentLengthAndTransferEncoding,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
            FramingError::ContentLengthAndTransferEncoding,
        ),
        (
            b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            FramingError::TransferEncodingInHttp10,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
            FramingError::ConflictingContentLength,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\n",
            FramingError::ConflictingContentLength,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 3x\r\n\r\n",
            FramingError::InvalidContentLength,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: -3\r\n\r\n",
            FramingError::InvalidContentLength,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 3 4\r\n\r\n",
            FramingError::InvalidContentLength,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
            FramingError::InvalidContentLength,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n",
            FramingError::InvalidContentLength,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: \r\n\r\n",
            FramingError::InvalidHeader,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length : 3\r\n\r\n",
            FramingError::InvalidHeader,
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n 2\r\n\r\n",
            FramingError::InvalidHeader,
        ),
        (
            b"HTTP/1.1 200 OK\r\n X: y\r\n\r\n",
            FramingError::InvalidHeader,
        ),
        (
            b"HTTP/1.1 200 OK\r\nX: y\rZ\r\n\r\n",
            FramingError::InvalidHeader,
        ),
        (
            b"HTTP/1.1 200 OK\r\n\x01: y\r\n\r\n",
            FramingError::InvalidHeader,
        ),
        (b"HTTP/2 200\r\n\r\n", FramingError::InvalidStatusLine),
        (b"HTTP/1.1 20 OK\r\n\r\n", FramingError::InvalidStatusLine),
        (b"HTTP/1.1 099 OK\r\n\r\n", FramingError::InvalidStatusLine),
        (b"HTTP/1.1 2000 OK\r\n\r\n", FramingError::InvalidStatusLine),
        (b"http/1.1 200 OK\r\n\r\n", FramingError::InvalidStatusLine),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nz\r\n",
            FramingError::InvalidChunkSize,
        ),
    ];
    for (r, want) in cases {
        let (f, got) = end(false, r);
        assert_eq!(got, Err(want), "{:?}", String::from_utf8_lossy(r));
        assert_eq!(f.error(), Some(want));
        assert!(!f.reusable());
        let bytewise: Vec<_> = (0..r.len()).map(|i| (i, i + 1)).collect();
        assert_eq!(end_in(false, r, &bytewise).1, Err(want));
    }
    // The error sticks.
    let mut f = ResponseFramer::new(false);
    assert!(f.feed(b"XTTP").is_err());
    assert_eq!(
        f.feed(b"HTTP/1.1 200 OK\r\n\r\n"),
        Err(FramingError::InvalidStatusLine)
    );
    assert_eq!(f.finish(), Err(FramingError::InvalidStatusLine));
}

#[test]
fn head_too_large() {
    let mut r = b"HTTP/1.1 200 OK\r\n".to_vec();
    while r.len() <= MAX_RESPONSE_HEAD as usize {
        r.extend_from_slice(b"X-Pad: 0123456789012345678901234567890123456789\r\n");
    }
    assert_eq!(end(false, &r).1, Err(FramingError::HeadTooLarge));
}

#[test]
fn invalid_chunk_sizes_in_response() {
    for (body, want) in [
        (
            &b"10000000000000000\r\n"[..],
            FramingError::ChunkSizeOverflow,
        ),
        (b"\r\n", FramingError::InvalidChunkSize),
        (b"0x5\r\n", FramingError::InvalidChunkSize),
        (b"5\r\nabcdefg", FramingError::InvalidLineEnd),
    ] {
        let mut r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        r.extend_from_slice(body);
        assert_eq!(end(false, &r).1, Err(want), "{body:?}");
    }
}

#[test]
fn pipelined_responses() {
    let first = &b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"[..];
    let second = &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"[..];
    let third = &b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"[..];
    let stream = [first, second, third].concat();
    let mut f = ResponseFramer::new(false);
    let mut at = 0;
    let mut ends = Vec::new();
    for head in [false, false, true] {
        f.reset(head);
        let feed = f.feed(&stream[at..]).unwrap();
        assert!(feed.complete);
        at += feed.consumed;
        ends.push(at);
        // Completed: nothing more is taken.
        assert_eq!(
            f.feed(&stream[at..]).unwrap(),
            Feed {
                consumed: 0,
                complete: true
            }
        );
    }
    assert_eq!(
        ends,
        [first.len(), first.len() + second.len(), stream.len()]
    );
}

#[test]
fn line_end_finds_the_first_cr_or_lf() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for _ in 0..20_000 {
        let len = rng.gen_range(0..40);
        let buf: Vec<u8> = (0..len)
            .map(|_| match rng.gen_range(0..10) {
                0 => b'\r',
                1 => b'\n',
                // Bytes one off CR/LF and high bytes: where borrows could mislead.
                2 => b'\r' + 1,
                3 => b'\n' - 1,
                4 => 0x8d,
                _ => rng.gen(),
            })
            .collect();
        let naive = buf
            .iter()
            .position(|&b| b == b'\r' || b == b'\n')
            .unwrap_or(buf.len());
        assert_eq!(super::line_end(&buf), naive, "{buf:?}");
    }
}

#[test]
fn head_end_agrees_with_httparse() {
    // The scanner's head length must be httparse's for well-formed heads.
    let heads: [&[u8]; 5] = [
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
            b"HTTP/1.1 204 No Content\r\nX-A: b\r\nX-C: d e f\r\n\r\n",
            b"HTTP/1.0 304 Not Modified\r\nConnection: keep-alive\r\n\r\n",
            b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nServer: s\r\nSet-Cookie: a=b; Path=/\r\n\r\n",
            b"HTTP/1.1 200 OK\nContent-Length: 0\n\n",
        ];
    for h in heads {
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut resp = httparse::Response::new(&mut headers);
        let status = resp.parse(h).unwrap();
        let (f, got) = end(false, h);
        assert_eq!(got, Ok(Some(status.unwrap())));
        assert_eq!(f.status(), resp.code);
    }
}

#[test]
fn status_classes() {
    for (s, c) in [
        (100, StatusClass::Informational),
        (200, StatusClass::Success),
        (302, StatusClass::Redirection),
        (404, StatusClass::ClientError),
        (503, StatusClass::ServerError),
        (799, StatusClass::Other),
    ] {
        assert_eq!(StatusClass::of(s), c);
    }
    let f = check_all_splits(
        false,
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 1\r\n\r\nx",
    );
    assert_eq!(f.status_class(), Some(StatusClass::ServerError));
}

#[test]
fn framer_is_small() {
    // Kept per pooled server connection: it must stay a few words, not a buffer.
    assert!(
        core::mem::size_of::<ResponseFramer>() <= 160,
        "{}",
        core::mem::size_of::<ResponseFramer>()
    );
}

/// Bytes a splicer forwarded past a gap are counted by `skip` as `feed` would count
/// them, only inside the data run: never a head, chunk-size line or trailer byte.
#[test]
fn skip_counts_only_the_data_run() {
    let mut f = ResponseFramer::new(false);
    assert_eq!(f.data_run(), 0);
    f.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab")
        .unwrap();
    assert_eq!(f.data_run(), 8);
    let s = f.skip(5);
    assert_eq!((s.consumed, s.complete), (5, false));
    // Past the body's end: capped at the run, and the response is complete.
    let s = f.skip(9);
    assert_eq!((s.consumed, s.complete), (3, true));
    assert!(f.is_complete());
    assert_eq!(f.data_run(), 0);

    let mut f = ResponseFramer::new(false);
    f.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab")
        .unwrap();
    assert_eq!(f.data_run(), 3);
    assert_eq!(f.skip(10).consumed, 3);
    // The CRLF after the chunk is read again, not skipped.
    assert_eq!(f.data_run(), 0);
    assert_eq!(f.skip(2).consumed, 0);
    let fed = f.feed(b"\r\n0\r\n\r\n").unwrap();
    assert!(fed.complete);

    let mut f = ResponseFramer::new(false);
    f.feed(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
        .unwrap();
    assert_eq!(f.data_run(), u64::MAX);
    assert_eq!(f.skip(1 << 20).consumed, 1 << 20);
    assert!(!f.is_complete());
}

/// Feeds `stream` in `pieces` to a framer that wants the close mark; the mark at the
/// end.
fn mark_in(stream: &[u8], pieces: &[(usize, usize)]) -> Option<u32> {
    let mut f = ResponseFramer::new(false);
    f.want_close_mark();
    for &(a, b) in pieces {
        f.feed(&stream[a..b]).unwrap();
    }
    f.close_mark()
}

/// `server_close`: the `keep-alive` token's offset, whatever the split, and the head
/// with `close     ` written over it reads as `close` to this framer and to httparse.
#[test]
fn close_mark_finds_the_keep_alive_token() {
    for resp in [
        &b"HTTP/1.1 200 OK\r\nServer: nginx\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok"[..],
        b"HTTP/1.1 200 OK\r\nconnection:Keep-Alive\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nConnection: foo, KEEP-ALIVE , bar\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection:  keep-alive\r\n\r\nok",
        b"HTTP/1.1 100 Continue\r\nConnection: x\r\n\r\nHTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
    ] {
        let want = resp
            .windows(10)
            .position(|w| w.eq_ignore_ascii_case(b"keep-alive"))
            .unwrap() as u32;
        assert_eq!(mark_in(resp, &[(0, resp.len())]), Some(want));
        for cut in 0..resp.len() {
            assert_eq!(
                mark_in(resp, &[(0, cut), (cut, resp.len())]),
                Some(want),
                "cut {cut}"
            );
        }
        // Known once the token's element ends (the comma, or the LF of its line), before the
        // head does.
        let delim = want as usize
            + 10
            + resp[want as usize + 10..]
                .iter()
                .position(|&b| b == b',' || b == b'\n')
                .unwrap();
        let mut f = ResponseFramer::new(false);
        f.want_close_mark();
        f.feed(&resp[..delim]).unwrap();
        assert_eq!(f.close_mark(), None);
        f.feed(&resp[delim..delim + 1]).unwrap();
        assert_eq!(f.close_mark(), Some(want));

        let mut out = resp.to_vec();
        out[want as usize..want as usize + 10].copy_from_slice(crate::CLOSE_IN_PLACE);
        let (f, end) = end(false, &out);
        assert_eq!(end, Ok(Some(out.len())));
        assert!(!f.reusable(), "{}", String::from_utf8_lossy(&out));
        let final_head = &out[out.windows(8).rposition(|w| w == b"HTTP/1.1").unwrap()..];
        let mut headers = [httparse::EMPTY_HEADER; 8];
        let mut r = httparse::Response::new(&mut headers);
        assert!(r.parse(final_head).unwrap().is_complete());
        let conn = r
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("connection"))
            .unwrap();
        let value = std::str::from_utf8(conn.value).unwrap();
        assert!(
            value
                .split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("close")),
            "{value:?}"
        );
    }
}

#[test]
fn close_mark_absent_or_not_wanted() {
    for resp in [
        &b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"[..],
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nConnection: keep-alives\r\nX-A: keep-alive\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.1 200 OK\r\nConnection: keep alive\r\nContent-Length: 2\r\n\r\nok",
        // Only in an interim head: not the one the client decides reuse from.
        b"HTTP/1.1 100 Continue\r\nConnection: keep-alive\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    ] {
        assert_eq!(
            mark_in(resp, &[(0, resp.len())]),
            None,
            "{}",
            String::from_utf8_lossy(resp)
        );
    }
    let resp = b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok";
    let mut f = ResponseFramer::new(false);
    f.feed(resp).unwrap();
    assert_eq!(f.close_mark(), None, "not wanted");
    let mut f = ResponseFramer::new(false);
    f.want_close_mark();
    f.feed(resp).unwrap();
    assert!(f.close_mark().is_some());
    f.cancel_close_mark();
    assert_eq!(f.close_mark(), None);
    f.reset(false);
    assert!(!f.wants_close_mark());
    // The first of two is the one found.
    let two = b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nConnection: keep-alive\r\n\r\n";
    assert_eq!(mark_in(two, &[(0, two.len())]), Some(29));
}
