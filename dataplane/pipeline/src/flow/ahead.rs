//! Response bytes forwarded past a gap: when a server's segments of a spliced response
//! arrive out of order (reordered on the way, or one before them lost), a segment
//! whose bytes the response framer would only count, never read (the rest of a
//! `Content-Length` body, of a chunk's data, of a close-delimited body: its "data
//! run"), is forwarded to the client at once, translated, like any router would; the
//! client's TCP reorders it and SACKs it, and the server retransmits only what was
//! really lost. Splicer keeps no payload, only where these bytes were
//! ([`Ahead`], a few ranges per leg); when the in-order bytes reach a range, the framer
//! counts it without its content ([`splicer_http::ResponseFramer::skip`]).
//!
//! A segment out of order that holds bytes the framer must read (the response head, a
//! chunk-size line, a trailer, bytes past the response's end) is still dropped,
//! counted (`drop_server_out_of_order`), and the server told with a duplicate ACK:
//! holding it would cost a mempool buffer per reordered segment per connection for
//! the rare segments that hold framing, and the server resends it within a round
//! trip. A leg whose response is held behind a pipelined one keeps its own bounded
//! hold (`pipelined`, `held_out_of_order`); a promoted leg with held segments past a
//! gap (`held_rest`) is not forwarded ahead, so that held bytes and forwarded ones
//! never overlap.

use super::leg::Leg;
use splicer_http::ResponseFramer;
use splicer_wire::tcp::SeqNumber;

/// Most disjoint ranges one leg tracks; a segment that would open one more is dropped
/// (counted) and retransmitted, as before this forwarding existed.
pub(crate) const AHEAD_RANGES: usize = 4;

/// Ranges of server bytes (server leg's space, `[start, end)`) forwarded to the client
/// past the next in-order byte.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub(crate) struct Ahead {
    ranges: [(SeqNumber, SeqNumber); AHEAD_RANGES],
    len: u8,
}

impl Ahead {
    /// Whether no bytes were forwarded ahead.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Notes `[start, end)` as forwarded, merged with ranges it touches. False (nothing
    /// noted) when it would be one range too many.
    pub(crate) fn insert(&mut self, mut start: SeqNumber, mut end: SeqNumber) -> bool {
        let mut kept = [(SeqNumber(0), SeqNumber(0)); AHEAD_RANGES];
        let mut n = 0;
        for &(s, e) in &self.ranges[..usize::from(self.len)] {
            if s <= end && start <= e {
                start = start.min(s);
                end = end.max(e);
            } else {
                kept[n] = (s, e);
                n += 1;
            }
        }
        if n == AHEAD_RANGES {
            return false;
        }
        kept[n] = (start, end);
        self.ranges = kept;
        self.len = (n + 1) as u8;
        true
    }

    /// The in-order stream has reached `next`: forgets ranges wholly before it and
    /// returns the end of the one `next` falls in (where in-order bytes now continue).
    fn take_at(&mut self, next: SeqNumber) -> Option<SeqNumber> {
        let mut found = None;
        let mut n = 0;
        for i in 0..usize::from(self.len) {
            let (s, e) = self.ranges[i];
            if e <= next {
                continue;
            }
            if s <= next {
                found = Some(found.unwrap_or(e).max(e));
                continue;
            }
            self.ranges[n] = (s, e);
            n += 1;
        }
        self.len = n as u8;
        found
    }
}

/// Whether a server segment `[seq, seq + len)` past the next in-order byte of `leg`
/// can be forwarded now: the framer would count every byte from the gap to its end
/// without reading it, and the leg can note one more range. Notes it if so.
pub(super) fn forward_ahead(
    leg: &mut Leg,
    framer: &ResponseFramer,
    seq: SeqNumber,
    len: usize,
) -> bool {
    if len == 0 || leg.response_end.is_some() || leg.spoiled || leg.held_rest {
        return false;
    }
    let reach = u64::from((seq + len).0.wrapping_sub(leg.down_next.0));
    reach <= framer.data_run() && leg.ahead.insert(seq, seq + len)
}

/// After in-order bytes moved `leg.down_next`: steps it over the ranges already
/// forwarded that it reached, counting them in the framer. True when the response
/// ended there.
pub(super) fn catch_up(leg: &mut Leg, framer: &mut ResponseFramer) -> bool {
    if leg.ahead.is_empty() {
        return false;
    }
    while let Some(end) = leg.ahead.take_at(leg.down_next) {
        let n = u64::from(end.0.wrapping_sub(leg.down_next.0));
        let f = framer.skip(n);
        leg.down_next += f.consumed;
        if f.complete {
            leg.ahead = Ahead::default();
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u32) -> SeqNumber {
        SeqNumber(n)
    }

    #[test]
    fn ranges_merge_and_are_bounded() {
        let mut a = Ahead::default();
        assert!(a.insert(s(10), s(20)));
        assert!(a.insert(s(20), s(30)));
        assert_eq!(a.len, 1);
        assert!(a.insert(s(40), s(50)));
        assert!(a.insert(s(60), s(70)));
        assert!(a.insert(s(80), s(90)));
        assert!(!a.insert(s(100), s(110)), "a fifth range is refused");
        // One touching two ranges merges them, which makes room.
        assert!(a.insert(s(30), s(40)));
        assert_eq!(a.len, 3);
        assert!(a.insert(s(100), s(110)));
    }

    #[test]
    fn take_at_steps_over_reached_ranges_only() {
        let mut a = Ahead::default();
        a.insert(s(10), s(20));
        a.insert(s(30), s(40));
        assert_eq!(a.take_at(s(5)), None);
        assert_eq!(a.take_at(s(10)), Some(s(20)));
        assert_eq!(a.take_at(s(20)), None);
        // A retransmission that covered part of the range.
        assert_eq!(a.take_at(s(35)), Some(s(40)));
        assert!(a.is_empty());
    }

    #[test]
    fn wraps_around_the_sequence_space() {
        let mut a = Ahead::default();
        a.insert(s(u32::MAX - 5), s(4));
        assert_eq!(a.take_at(s(u32::MAX - 5)), Some(s(4)));
    }
}
