//! Where a leg's response bytes forwarded past a gap are ([`Ahead`]): the few ranges
//! the `ahead` module notes and steps over. A leaf of its own, because every leg carries
//! one (`leg`) while the forwarding itself works on legs.

use splicer_wire::tcp::SeqNumber;

/// Most disjoint ranges one leg tracks; bytes forwarded past more holes are counted
/// when the client acknowledges them.
pub(crate) const AHEAD_RANGES: usize = 4;

/// A leg's response bytes forwarded past a gap, out of line: none (8 bytes in the
/// leg) until bytes are forwarded ahead, which takes a loss on the server leg, instead
/// of 40 bytes in every leg (issue 12: state per spliced flow). Bytes were forwarded
/// ahead exactly while there is a box: [`Ahead::clear`] drops it once the in-order
/// bytes have passed them.
#[derive(Clone, Default, Debug, PartialEq, Eq)]
pub(crate) struct Ahead(Option<Box<AheadRanges>>);

impl Ahead {
    /// Whether bytes forwarded ahead are still past the in-order ones.
    #[inline]
    pub(crate) fn is_active(&self) -> bool {
        self.0.is_some()
    }

    /// The end of the furthest bytes forwarded ahead, while there are some.
    pub(super) fn furthest(&self) -> Option<SeqNumber> {
        self.0.as_ref().map(|a| a.furthest)
    }

    /// Notes `[start, end)` as forwarded: in a range if there is room (else only the
    /// client's acknowledgement steps over it, the `ahead` module's `ack_catch_up`).
    pub(super) fn note(&mut self, start: SeqNumber, end: SeqNumber) {
        match &mut self.0 {
            Some(a) => {
                if end > a.furthest {
                    a.furthest = end;
                }
                a.insert(start, end);
            }
            None => {
                let mut a = AheadRanges {
                    furthest: end,
                    ..AheadRanges::default()
                };
                a.insert(start, end);
                self.0 = Some(Box::new(a));
            }
        }
    }

    /// See [`AheadRanges::take_at`]; nothing when no bytes were forwarded ahead.
    pub(super) fn take_at(&mut self, next: SeqNumber) -> Option<SeqNumber> {
        self.0.as_mut()?.take_at(next)
    }

    /// The in-order bytes passed all that was forwarded ahead (or the response ended).
    pub(super) fn clear(&mut self) {
        self.0 = None;
    }
}

/// Ranges of server bytes (server leg's space, `[start, end)`) forwarded to the client
/// past the next in-order byte, up to `furthest` (some perhaps in no range: more than
/// [`AHEAD_RANGES`] holes).
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub(crate) struct AheadRanges {
    ranges: [(SeqNumber, SeqNumber); AHEAD_RANGES],
    len: u8,
    furthest: SeqNumber,
}

impl AheadRanges {
    /// Notes `[start, end)` as forwarded, merged with ranges it touches. False (nothing
    /// noted) when it would be one range too many.
    pub(super) fn insert(&mut self, mut start: SeqNumber, mut end: SeqNumber) -> bool {
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
    pub(super) fn take_at(&mut self, next: SeqNumber) -> Option<SeqNumber> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn s(n: u32) -> SeqNumber {
        SeqNumber(n)
    }

    #[test]
    fn ranges_merge_and_are_bounded() {
        let mut a = AheadRanges::default();
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
        let mut a = AheadRanges::default();
        a.insert(s(10), s(20));
        a.insert(s(30), s(40));
        assert_eq!(a.take_at(s(5)), None);
        assert_eq!(a.take_at(s(10)), Some(s(20)));
        assert_eq!(a.take_at(s(20)), None);
        // A retransmission that covered part of the range.
        assert_eq!(a.take_at(s(35)), Some(s(40)));
        assert_eq!(a.len, 0);
    }

    #[test]
    fn a_leg_carries_a_pointer_until_bytes_go_ahead() {
        // Out of line: 8 bytes in each leg (40 inline).
        assert_eq!(std::mem::size_of::<Ahead>(), 8);
        let mut a = Ahead::default();
        assert!(!a.is_active());
        assert_eq!((a.take_at(s(10)), a.furthest()), (None, None));
        a.note(s(30), s(40));
        a.note(s(10), s(20));
        assert!(a.is_active());
        assert_eq!(a.furthest(), Some(s(40)), "the furthest, not the latest");
        assert_eq!(a.take_at(s(10)), Some(s(20)));
        a.clear();
        assert!(!a.is_active());
        assert_eq!(a, Ahead::default());
    }

    #[test]
    fn wraps_around_the_sequence_space() {
        let mut a = AheadRanges::default();
        a.insert(s(u32::MAX - 5), s(4));
        assert_eq!(a.take_at(s(u32::MAX - 5)), Some(s(4)));
    }
}
