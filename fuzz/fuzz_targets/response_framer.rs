//! The streaming response framer (`splicer_http::ResponseFramer`) on arbitrary server
//! output cut into arbitrary packets.
//!
//! Input: one flag byte (bit 0: the request was HEAD), then 8 bytes giving the packet
//! lengths (1 to 256, used in turn), then the stream. Checks: the result (where each response ends, its
//! status, body kind, reusability, or the error) is the same whatever the packet
//! boundaries, one byte at a time included; `consumed` never exceeds the payload; after
//! completion nothing more is consumed; `finish` agrees with `needs_close`. Pipelined
//! responses are framed one after the other, as a pooled connection would.

#![no_main]

use libfuzzer_sys::fuzz_target;
use splicer_http::{FramingError, ResponseFramer};

/// What framing one response of the stream found.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// Complete after this many bytes of the stream (from the response's start).
    Complete {
        len: usize,
        status: Option<u16>,
        reusable: bool,
        body: Option<splicer_http::ResponseBody>,
    },
    /// The stream ended first; what `finish` (the server closing) says then.
    Open {
        head_complete: bool,
        finish: Result<(), FramingError>,
    },
    Failed(FramingError),
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 9 {
        return;
    }
    let head_request = data[0] & 1 == 1;
    let cuts: Vec<usize> = data[1..9].iter().map(|&c| usize::from(c) + 1).collect();
    let stream = &data[9..];

    let whole = frame_all(stream, head_request, &[usize::MAX]);
    let cut = frame_all(stream, head_request, &cuts);
    assert_eq!(whole, cut, "packet boundaries changed the framing");
    if stream.len() <= 512 {
        let bytewise = frame_all(stream, head_request, &[1]);
        assert_eq!(whole, bytewise, "byte-at-a-time framing differs");
    }
});

/// Frames every response in `stream`, fed in pieces whose lengths cycle through
/// `cuts`. Stops at the first error or at the end of the stream.
fn frame_all(stream: &[u8], head_request: bool, cuts: &[usize]) -> Vec<Outcome> {
    let mut out = Vec::new();
    let mut framer = ResponseFramer::new(head_request);
    let mut start = 0; // where the current response began
    let mut pos = 0; // stream bytes fed so far
    let mut cut = 0;
    while pos < stream.len() {
        let n = cuts[cut % cuts.len()].min(stream.len() - pos);
        cut += 1;
        let mut piece = &stream[pos..pos + n];
        // A piece can end one response and start the next.
        loop {
            match framer.feed(piece) {
                Ok(f) => {
                    assert!(f.consumed <= piece.len());
                    pos += f.consumed;
                    if !f.complete {
                        assert_eq!(f.consumed, piece.len(), "incomplete yet bytes left");
                        break;
                    }
                    assert!(framer.is_complete() && framer.head_complete());
                    // Complete: feeding more consumes nothing.
                    let again = framer
                        .feed(&piece[f.consumed..])
                        .expect("complete stays ok");
                    assert!(again.complete && again.consumed == 0);
                    if framer.needs_close() {
                        // Only a close ends these; `feed` cannot complete them.
                        panic!("close-delimited response completed by feed");
                    }
                    out.push(Outcome::Complete {
                        len: pos - start,
                        status: framer.status(),
                        reusable: framer.reusable(),
                        body: framer.body(),
                    });
                    assert!(pos - start > 0, "an empty response");
                    start = pos;
                    piece = &piece[f.consumed..];
                    if !framer.reusable() {
                        // Nothing after a non-persistent response is framed.
                        return out;
                    }
                    framer.reset(head_request);
                    if piece.is_empty() {
                        break;
                    }
                }
                Err(e) => {
                    assert_eq!(framer.error(), Some(e));
                    assert!(!framer.reusable());
                    assert_eq!(framer.feed(b"x"), Err(e), "errors repeat");
                    out.push(Outcome::Failed(e));
                    return out;
                }
            }
        }
    }
    if start < stream.len() {
        let head_complete = framer.head_complete();
        let needs_close = framer.needs_close();
        let finish = framer.finish();
        if needs_close {
            assert_eq!(finish, Ok(()), "a close-delimited body ends at close");
        }
        out.push(Outcome::Open {
            head_complete,
            finish,
        });
    }
    let _ = (framer.status_class(), framer.version());
    out
}
