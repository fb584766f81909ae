//! Client retransmissions checked against the bytes the request framer read.
//!
//! Splicer forwards a client's body bytes without keeping them (zero copy). When some
//! never reach the server (lost on the inside network, or dropped by the server's
//! TCP), the client retransmits them and Splicer forwards the retransmission, which
//! its framer has already been past. A client may put other bytes there the second
//! time. In a `Content-Length` body that is harmless: Splicer and the server both count
//! bytes. In a chunked body the size lines, CRLFs and trailers decide where the body
//! ends; other bytes there would have the server find another end than Splicer did, and
//! read a request of the client's choosing out of the body (a desync, the root of
//! request smuggling). So for a chunked body Splicer keeps those framing bytes, with
//! their sequence numbers, until the server acknowledges them, and a retransmission
//! must carry the same bytes at those places. Chunk data is not kept: it cannot move
//! the end.

use splicer_http::{BodyFramer, FramingError};
use splicer_wire::tcp::SeqNumber;
use std::collections::VecDeque;

/// Framing bytes kept per client connection at most: past it, Splicer takes no more
/// body bytes until the server acknowledges some (the client holds them, as for a
/// closed window). Bodies with chunks of a few hundred bytes or more never come near
/// it; a body of 1-byte chunks moves this many framing bytes per round trip to the
/// server.
pub(super) const KEPT_MAX: usize = 1024;

/// The framing bytes of a chunked request body that the server has not acknowledged.
#[derive(Debug, Default)]
pub(crate) struct FramingBytes {
    kept: VecDeque<(SeqNumber, u8)>,
}

/// What [`feed`] took of the bytes offered.
pub(super) struct Fed {
    /// Bytes the framer consumed (the body's end stops it).
    pub consumed: usize,
    /// Whether it stopped because [`KEPT_MAX`] bytes are kept.
    pub held: bool,
}

impl FramingBytes {
    /// Forgets what the server has acknowledged: client bytes before `acked`.
    pub(super) fn forget_before(&mut self, acked: SeqNumber) {
        while self.kept.front().is_some_and(|&(seq, _)| seq < acked) {
            self.kept.pop_front();
        }
    }

    /// Whether `payload`, client bytes from `seq` on, holds the framing bytes kept for
    /// the sequence numbers it covers.
    pub(super) fn matches(&self, seq: SeqNumber, payload: &[u8]) -> bool {
        let end = seq + payload.len();
        self.kept
            .iter()
            .skip_while(|&&(at, _)| at < seq)
            .take_while(|&&(at, _)| at < end)
            .all(|&(at, b)| payload[(at - seq) as usize] == b)
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.kept.len()
    }
}

/// Feeds `bytes` (client bytes from `seq` on) to a request body framer. A chunked
/// body's framing bytes are fed one at a time and kept in `kept`, its data in runs;
/// other bodies are fed whole (the splice feeds those directly).
pub(super) fn feed(
    body: &mut BodyFramer,
    bytes: &[u8],
    seq: SeqNumber,
    kept: &mut FramingBytes,
) -> Result<Fed, FramingError> {
    if !body.reads_content() {
        let consumed = body.feed(bytes)?.consumed;
        return Ok(Fed {
            consumed,
            held: false,
        });
    }
    let mut at = 0;
    while at < bytes.len() && !body.is_complete() {
        let run = usize::try_from(body.data_run()).unwrap_or(usize::MAX);
        if run > 0 {
            at += body
                .feed(&bytes[at..at + run.min(bytes.len() - at)])?
                .consumed;
            continue;
        }
        if kept.kept.len() >= KEPT_MAX {
            return Ok(Fed {
                consumed: at,
                held: true,
            });
        }
        let n = body.feed(&bytes[at..at + 1])?.consumed;
        if n == 0 {
            break;
        }
        kept.kept.push_back((seq + at, bytes[at]));
        at += 1;
    }
    Ok(Fed {
        consumed: at,
        held: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use splicer_http::request::BodyLength;

    const BODY: &[u8] = b"5\r\nhello\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n";

    fn framing_positions() -> Vec<usize> {
        let data: Vec<usize> = (3..8).chain(17..20).collect();
        (0..BODY.len()).filter(|i| !data.contains(i)).collect()
    }

    #[test]
    fn keeps_exactly_the_framing_bytes_whatever_the_pieces() {
        for cut in 0..BODY.len() {
            let mut body = BodyFramer::for_request(BodyLength::Chunked);
            let mut kept = FramingBytes::default();
            let start = SeqNumber(u32::MAX - 10);
            let a = feed(&mut body, &BODY[..cut], start, &mut kept).unwrap();
            let b = feed(&mut body, &BODY[cut..], start + cut, &mut kept).unwrap();
            assert_eq!(a.consumed + b.consumed, BODY.len(), "cut {cut}");
            assert!(body.is_complete());
            let want: Vec<(SeqNumber, u8)> = framing_positions()
                .into_iter()
                .map(|i| (start + i, BODY[i]))
                .collect();
            assert_eq!(kept.kept.iter().copied().collect::<Vec<_>>(), want);
            assert!(kept.matches(start, BODY));
        }
    }

    #[test]
    fn a_retransmission_must_repeat_the_framing_bytes_not_the_data() {
        let start = SeqNumber(1000);
        let mut body = BodyFramer::for_request(BodyLength::Chunked);
        let mut kept = FramingBytes::default();
        feed(&mut body, BODY, start, &mut kept).unwrap();
        // Other data bytes: the same end, accepted.
        let mut other = BODY.to_vec();
        other[4] = b'X';
        assert!(kept.matches(start, &other));
        // Another size ("3" → "9"), seen in a retransmission from the middle on.
        let mut other = BODY.to_vec();
        other[10] = b'9';
        assert!(!kept.matches(start + 8, &other[8..]));
        assert!(kept.matches(start + 11, &other[11..]), "past the change");
        // Once the server acknowledged it, that byte is no longer checked.
        kept.forget_before(start + 11);
        assert!(kept.matches(start + 8, &other[8..]));
    }

    #[test]
    fn stops_at_the_bound_and_goes_on_once_bytes_are_acknowledged() {
        let one_byte_chunks: Vec<u8> = b"1\r\nx\r\n".repeat(KEPT_MAX);
        let mut body = BodyFramer::for_request(BodyLength::Chunked);
        let mut kept = FramingBytes::default();
        let start = SeqNumber(7);
        let fed = feed(&mut body, &one_byte_chunks, start, &mut kept).unwrap();
        assert!(fed.held);
        assert_eq!(kept.len(), KEPT_MAX);
        assert!(fed.consumed < one_byte_chunks.len());
        // Each acknowledgement lets the next bytes in, until all are taken.
        let (mut at, mut rounds) = (fed.consumed, 1);
        while at < one_byte_chunks.len() {
            kept.forget_before(start + at);
            let fed = feed(&mut body, &one_byte_chunks[at..], start + at, &mut kept).unwrap();
            assert!(fed.consumed > 0);
            at += fed.consumed;
            rounds += 1;
        }
        // 5 framing bytes in each 6-byte chunk.
        assert_eq!(rounds, (5 * KEPT_MAX).div_ceil(KEPT_MAX));
        // A Content-Length body keeps nothing.
        let mut body = BodyFramer::for_request(BodyLength::Fixed(5));
        let mut kept = FramingBytes::default();
        assert_eq!(
            feed(&mut body, b"hello!", start, &mut kept)
                .unwrap()
                .consumed,
            5
        );
        assert_eq!(kept.len(), 0);
    }
}
