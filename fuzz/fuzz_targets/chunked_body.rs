//! The chunked-body parser (`splicer_http::ChunkedParser`, strict for requests and
//! lenient for responses) and the request `BodyFramer` on arbitrary bytes cut into
//! arbitrary packets.
//!
//! Input: one byte of flags, 8 bytes of packet lengths (1 to 256, used in turn), the
//! body stream. Checks: the outcome (where the body ends, or the error) does not depend
//! on packet boundaries, byte-at-a-time included; `consumed` stays within the payload
//! and covers it all until the end; nothing is consumed once done; whatever the strict
//! parser accepts the lenient one accepts identically (strict is the stricter reading,
//! never a different one); a `Content-Length` framer ends exactly at its length.

#![no_main]

use libfuzzer_sys::fuzz_target;
use splicer_http::request::BodyLength;
use splicer_http::{BodyFramer, ChunkedParser, FramingError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Done(usize),
    Open(Result<(), FramingError>),
    Failed(FramingError),
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 9 {
        return;
    }
    let cuts: Vec<usize> = data[1..9].iter().map(|&c| usize::from(c) + 1).collect();
    let stream = &data[9..];

    let mut results = [Outcome::Open(Ok(())); 2];
    for (strict, result) in [true, false].into_iter().zip(results.iter_mut()) {
        let whole = run(stream, strict, &[usize::MAX]);
        let cut = run(stream, strict, &cuts);
        assert_eq!(
            whole, cut,
            "packet boundaries changed the framing (strict {strict})"
        );
        if stream.len() <= 1024 {
            assert_eq!(
                whole,
                run(stream, strict, &[1]),
                "byte at a time (strict {strict})"
            );
        }
        *result = whole;
    }
    let [strict, lenient] = results;
    if let Outcome::Done(n) = strict {
        assert_eq!(
            lenient,
            Outcome::Done(n),
            "strict accepted what lenient reads otherwise"
        );
    }

    // The request framer drives the same strict parser for a chunked body...
    let framed = run_framer(BodyFramer::for_request(BodyLength::Chunked), stream, &cuts);
    assert_eq!(framed, strict, "BodyFramer differs from its ChunkedParser");
    // ... and counts a Content-Length body.
    let n = u64::from(data[0]);
    let fixed = run_framer(
        BodyFramer::for_request(BodyLength::Fixed(n.max(1))),
        stream,
        &cuts,
    );
    let want = if stream.len() as u64 >= n.max(1) {
        Outcome::Done(n.max(1) as usize)
    } else {
        Outcome::Open(Err(FramingError::Truncated))
    };
    assert_eq!(fixed, want);
    let none = run_framer(BodyFramer::for_request(BodyLength::None), stream, &cuts);
    assert_eq!(none, Outcome::Done(0));
});

fn run(stream: &[u8], strict: bool, cuts: &[usize]) -> Outcome {
    let mut p = ChunkedParser::new(strict);
    let mut pos = 0;
    let mut cut = 0;
    while pos < stream.len() {
        let n = cuts[cut % cuts.len()].min(stream.len() - pos);
        cut += 1;
        let piece = &stream[pos..pos + n];
        match p.feed(piece) {
            Ok(f) => {
                assert!(f.consumed <= piece.len());
                assert_eq!(f.complete, p.is_done());
                pos += f.consumed;
                if f.complete {
                    let again = p.feed(&piece[f.consumed..]).expect("done stays ok");
                    assert_eq!((again.consumed, again.complete), (0, true));
                    return Outcome::Done(pos);
                }
                assert_eq!(f.consumed, piece.len(), "not done yet bytes left");
            }
            Err(e) => return Outcome::Failed(e),
        }
    }
    if p.is_done() {
        // Only an empty stream can be done without a feed, and no stream is.
        return Outcome::Done(pos);
    }
    Outcome::Open(Err(FramingError::Truncated))
}

fn run_framer(mut f: BodyFramer, stream: &[u8], cuts: &[usize]) -> Outcome {
    let mut pos = 0;
    let mut cut = 0;
    if f.is_complete() {
        assert_eq!(f.finish(), Ok(()));
        return Outcome::Done(0);
    }
    while pos < stream.len() {
        let n = cuts[cut % cuts.len()].min(stream.len() - pos);
        cut += 1;
        let piece = &stream[pos..pos + n];
        match f.feed(piece) {
            Ok(feed) => {
                assert!(feed.consumed <= piece.len());
                pos += feed.consumed;
                if feed.complete {
                    assert!(f.is_complete());
                    assert_eq!(f.finish(), Ok(()));
                    return Outcome::Done(pos);
                }
            }
            Err(e) => return Outcome::Failed(e),
        }
    }
    Outcome::Open(f.finish())
}
