//! Piecewise translation of one direction's sequence space onto the other leg's.
//!
//! NetScaler's "Internet client-server multiplexer" (WO 00/28433) gives one formula per
//! direction, `out = in - in_start + out_start + bytes_added`. A spliced stream needs it
//! in pieces, because the constant changes at points in the stream:
//!
//! * Splicer inserts bytes (`Connection: Keep-Alive` into an HTTP/1.0 request): bytes
//!   after the insertion point move forward by the inserted length, bytes before it
//!   do not;
//! * a keep-alive client's next request is spliced onto another server connection,
//!   or the same connection after others used it: from that request on, client bytes
//!   land in a different place, possibly in a different server connection's space.
//!
//! Peers retransmit, and a retransmission of an older range must be translated the
//! way that range was first translated, not with the current constant (the patent's
//! one constant per direction does not cover retransmissions). A [`SeqMap`] therefore
//! keeps every piece that may still be retransmitted, as a [`Segment`]
//! `(from, delta)`: input numbers from `from` up to the next segment's `from` map to
//! `input + delta` (modulo 2^32). Segments are released once the receiver has
//! acknowledged all of their bytes.
//!
//! Which way a map points (see the table in [`crate::rewrite`]): its *input* is the
//! data sender's sequence space, its *output* the data receiver's. Data sequence
//! numbers go through [`SeqMap::map`]; acknowledgement numbers and SACK edges, which
//! travel the other way and are in the receiver's space, come back through
//! [`SeqMap::unmap`].
//!
//! # Legs
//!
//! When a client's requests go to several server connections, the upstream map's
//! output is several unrelated sequence spaces. Each segment carries a `leg` tag
//! naming the output space it maps into (the caller's own numbering, say the server
//! connection's slot); [`SeqMap::lookup`] reports it so that a data segment is sent on
//! the right connection, and [`SeqMap::unmap_leg`] inverts within one leg only, since
//! an acknowledgement number from one server means nothing in another's space. A map
//! whose output is a single connection leaves every leg at 0.
//!
//! The same structure serves the downstream of such a client when built the other
//! way round (input = client space, one leg per server): the caller then translates
//! server data with `unmap_leg` and client acks with `map`.

use core::fmt;
use splicer_wire::tcp::SeqNumber;

/// How many segments a [`SeqMap`] holds. A segment lives from the event that starts
/// it (an insertion, a new splice) until the peer acknowledges past the next one, so
/// a handful covers a pipelined keep-alive connection with some requests in flight.
pub const CAPACITY: usize = 8;

/// One piece of a [`SeqMap`]: input numbers from `from` (up to the next segment's
/// `from`) map to `input + delta` on leg `leg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Segment {
    /// First input sequence number the segment applies to.
    pub from: SeqNumber,
    /// Added to an input number, modulo 2^32, to give the output number.
    pub delta: u32,
    /// The output sequence space (connection) the segment maps into.
    pub leg: u16,
}

impl Segment {
    /// `seq` translated by this segment, whether or not the segment covers it.
    #[inline]
    pub fn map(&self, seq: SeqNumber) -> SeqNumber {
        SeqNumber(seq.0.wrapping_add(self.delta))
    }

    /// The output number of the segment's first byte.
    #[inline]
    pub fn out_start(&self) -> SeqNumber {
        self.map(self.from)
    }

    #[inline]
    fn unmap(&self, out: SeqNumber) -> SeqNumber {
        SeqNumber(out.0.wrapping_sub(self.delta))
    }
}

/// The `delta` that makes `in_start` map to `out_start`: the `out_start - in_start` of
/// WO 00/28433, modulo 2^32.
#[inline]
pub fn delta(in_start: SeqNumber, out_start: SeqNumber) -> u32 {
    out_start.0.wrapping_sub(in_start.0)
}

/// The segment that translates a looked-up number, and where its range ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Lookup {
    /// The segment that applies.
    pub segment: Segment,
    /// The next segment's `from`, where this one stops applying; `None` for the
    /// newest segment, which is open-ended.
    pub end: Option<SeqNumber>,
}

impl Lookup {
    /// `seq` translated by the segment.
    #[inline]
    pub fn map(&self, seq: SeqNumber) -> SeqNumber {
        self.segment.map(seq)
    }

    /// How many bytes from `seq` on the segment still covers, `None` if unbounded.
    ///
    /// A data segment that reaches past this must be split or trimmed by the caller:
    /// its tail belongs to a later piece, which maps elsewhere (possibly to another
    /// leg).
    #[inline]
    pub fn room(&self, seq: SeqNumber) -> Option<usize> {
        self.end.map(|e| e.0.wrapping_sub(seq.0) as usize)
    }
}

/// Why [`SeqMap::push`] refused a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeqMapError {
    /// [`CAPACITY`] segments are in use and none can be released yet. The caller
    /// counts it and resets the splice: guessing a mapping would corrupt the stream.
    Full,
    /// The new segment would start before the newest one, rewriting how bytes that
    /// may already have been forwarded are translated; or the map is empty where a
    /// segment to extend was needed.
    OutOfOrder,
}

impl fmt::Display for SeqMapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SeqMapError::Full => "sequence map full: too many unacknowledged splice points",
            SeqMapError::OutOfOrder => {
                "sequence map segment out of order: it would start before the newest one"
            }
        })
    }
}

impl std::error::Error for SeqMapError {}

/// Fixed-capacity, ordered list of [`Segment`]s translating one direction of a
/// splice; see the [module documentation](self).
///
/// Segments are kept in serial order of `from`, oldest first; the newest one is
/// open-ended. All numbers a map handles at a time must lie within 2^31 of each other
/// (serial-number arithmetic), which a TCP window always does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SeqMap {
    segs: [Segment; CAPACITY],
    len: u8,
}

impl SeqMap {
    /// An empty map: it translates nothing until a segment is pushed.
    pub const fn new() -> SeqMap {
        SeqMap {
            segs: [Segment {
                from: SeqNumber(0),
                delta: 0,
                leg: 0,
            }; CAPACITY],
            len: 0,
        }
    }

    /// A map with one segment, on leg 0, that sends `in_start` to `out_start`: the
    /// formula of WO 00/28433 before any bytes are added.
    pub fn start(in_start: SeqNumber, out_start: SeqNumber) -> SeqMap {
        let mut m = SeqMap::new();
        m.segs[0] = Segment {
            from: in_start,
            delta: delta(in_start, out_start),
            leg: 0,
        };
        m.len = 1;
        m
    }

    /// Number of segments held.
    #[inline]
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether the map has no segment (and so translates nothing).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The segments, oldest first.
    #[inline]
    pub fn segments(&self) -> &[Segment] {
        &self.segs[..self.len()]
    }

    /// The newest (open-ended) segment.
    #[inline]
    pub fn newest(&self) -> Option<Segment> {
        self.segments().last().copied()
    }

    /// Forgets every segment.
    #[inline]
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Starts a new segment at `from` on the newest segment's leg (leg 0 if the map
    /// is empty); see [`SeqMap::push_leg`].
    #[inline]
    pub fn push(&mut self, from: SeqNumber, delta: u32) -> Result<(), SeqMapError> {
        let leg = self.newest().map_or(0, |s| s.leg);
        self.push_leg(from, delta, leg)
    }

    /// Starts a new segment: input numbers from `from` on map to `input + delta` on
    /// leg `leg`; earlier numbers keep their mapping.
    ///
    /// `from` must not precede the newest segment's `from` ([`SeqMapError::OutOfOrder`]),
    /// and should not precede any byte already forwarded through the map, since a
    /// retransmission of that byte would then be translated differently from the
    /// original. A segment pushed at the newest one's own `from` replaces it: the
    /// newest segment covers no forwarded byte yet in that case.
    pub fn push_leg(&mut self, from: SeqNumber, delta: u32, leg: u16) -> Result<(), SeqMapError> {
        let seg = Segment { from, delta, leg };
        let Some(newest) = self.newest() else {
            self.segs[0] = seg;
            self.len = 1;
            return Ok(());
        };
        if from == newest.from {
            self.segs[self.len() - 1] = seg;
            return Ok(());
        }
        // Only strictly later is accepted: a number 2^31 away is unordered, neither
        // before nor after, and lookups could not place a segment starting there.
        if from.partial_cmp(&newest.from) != Some(core::cmp::Ordering::Greater) {
            return Err(SeqMapError::OutOfOrder);
        }
        if self.len() == CAPACITY {
            return Err(SeqMapError::Full);
        }
        self.segs[self.len()] = seg;
        self.len += 1;
        Ok(())
    }

    /// Records `n` bytes inserted by Splicer into the output just before input number
    /// `at` (the "Bytes Added" of WO 00/28433): bytes from `at` on move `n` further, on
    /// the same leg. The number of the first byte of the segment carrying the insertion
    /// is unaffected, as the patent notes; it is every later byte that shifts.
    pub fn add_bytes(&mut self, at: SeqNumber, n: u32) -> Result<(), SeqMapError> {
        // The mapping in force at `at` is the newest segment's whenever the push can
        // succeed; at the newest's own `from` (a second insertion at one point) it is
        // the one being replaced, so the two insertions add up.
        let cur = self.lookup(at).ok_or(SeqMapError::OutOfOrder)?.segment;
        self.push_leg(at, cur.delta.wrapping_add(n), cur.leg)
    }

    /// The segment that applies to input number `seq`: the newest one whose `from` is
    /// serially at or before `seq`. `None` if `seq` precedes every segment: the bytes
    /// were released as acknowledged (a stale retransmission), or precede the splice.
    #[inline]
    pub fn lookup(&self, seq: SeqNumber) -> Option<Lookup> {
        let segs = self.segments();
        let i = segs.iter().rposition(|s| s.from <= seq)?;
        Some(Lookup {
            segment: segs[i],
            end: segs.get(i + 1).map(|s| s.from),
        })
    }

    /// Translates input number `seq` (a data segment's sequence number, or a FIN's)
    /// into the output space, with the mapping that was in force for that range. See
    /// [`SeqMap::lookup`] for `None` and for which leg the result belongs to.
    #[inline]
    pub fn map(&self, seq: SeqNumber) -> Option<SeqNumber> {
        self.lookup(seq).map(|l| l.map(seq))
    }

    /// [`SeqMap::unmap_leg`] on the newest segment's leg: the inverse of
    /// [`SeqMap::map`] for a map with a single output connection.
    #[inline]
    pub fn unmap(&self, out: SeqNumber) -> Option<SeqNumber> {
        let leg = self.newest()?.leg;
        self.unmap_leg(leg, out)
    }

    /// Translates an output number of leg `leg` (the receiver's acknowledgement
    /// number, or a SACK edge it sent) back into the input space.
    ///
    /// Uses the newest segment of that leg whose output start is at or before `out`.
    /// An output number inside bytes Splicer inserted (or past the end of a segment
    /// whose successor went to another leg) has no input byte of its own; it is
    /// clamped to the next segment's `from`, so an ack that covers only part of an
    /// insertion acknowledges exactly the sender's bytes before it, and never one it
    /// has not sent. `None` if `out` precedes every segment of the leg.
    ///
    /// For every input number `x` at or after the newest segment's start, and for
    /// older ones while the output ranges stay disjoint (insertions only),
    /// `unmap_leg(leg, map(x)) == x`.
    pub fn unmap_leg(&self, leg: u16, out: SeqNumber) -> Option<SeqNumber> {
        let segs = self.segments();
        let i = segs
            .iter()
            .rposition(|s| s.leg == leg && s.out_start() <= out)?;
        let x = segs[i].unmap(out);
        Some(match segs.get(i + 1) {
            Some(next) if x > next.from => next.from,
            _ => x,
        })
    }

    /// Drops the segments whose every byte lies before input number `acked`, keeping
    /// the newest; returns how many were dropped.
    ///
    /// `acked` must be a number below which the receiver has acknowledged every byte
    /// (the cumulative ack, unmapped into input space). With several legs, every leg
    /// must have acknowledged it: the ack Splicer last forwarded to the sender is the
    /// safe choice. A later retransmission of a released range gets `None` from
    /// [`SeqMap::map`]: the receiver has those bytes already.
    pub fn release_before(&mut self, acked: SeqNumber) -> usize {
        let len = self.len();
        let drop = (1..len).take_while(|&i| self.segs[i].from <= acked).count();
        if drop > 0 {
            self.segs.copy_within(drop..len, 0);
            self.len -= drop as u8;
        }
        drop
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn s(n: u32) -> SeqNumber {
        SeqNumber(n)
    }

    /// WO 00/28433, FIG. 6A: client C1 (ISN 2000) spliced onto a fresh connection to
    /// server S (Splicer's ISN 1950, server's ISN 6000); Splicer's ISN towards C1 is
    /// 4000.
    #[test]
    fn seed_fig_6a() {
        // C1's GET: seq 2001, 49 bytes; Splicer's SYN to S used 1950, so the GET's
        // first byte is 1951 on the server leg.
        let up = SeqMap::start(s(2001), s(1951));
        // S's first data byte is 6001; C1 expects Splicer's 4001.
        let down = SeqMap::start(s(6001), s(4001));

        // 608: the GET forwarded to S.
        assert_eq!(up.map(s(2001)), Some(s(1951)));
        // 610 → 612A: RESP 6001,2000(999) from S becomes 4001,2050 for C1.
        assert_eq!(down.map(s(6001)), Some(s(4001)));
        assert_eq!(up.unmap(s(2000)), Some(s(2050)), "S acks all 49 bytes");
        // 612B → 612C: C1 acks 5000 (4001 + 999), which S sees as 7000.
        assert_eq!(down.unmap(s(5000)), Some(s(7000)));
    }

    /// WO 00/28433, FIG. 6B: client C2 (ISN 999, Splicer's ISN 4999) reuses the server
    /// connection, which resumes at seq 2000 / ack 7000 (flow 620).
    #[test]
    fn seed_fig_6b() {
        let up = SeqMap::start(s(1000), s(2000));
        let down = SeqMap::start(s(7000), s(5000));
        // 618 → 620: GET 1000(50) becomes 2000 on the pooled connection.
        assert_eq!(up.map(s(1000)), Some(s(2000)));
        assert_eq!(up.map(s(1050)), Some(s(2050)));
        // 622 → 624A: RESP 7000,2050(500) becomes 5000,1050.
        assert_eq!(down.map(s(7000)), Some(s(5000)));
        assert_eq!(up.unmap(s(2050)), Some(s(1050)));
        // 624B → 624C: C2 acks 5500, S sees 7500.
        assert_eq!(down.unmap(s(5500)), Some(s(7500)));
    }

    /// The "Bytes Added" of WO 00/28433: C1's HTTP/1.0 GET of FIG. 6A (2001, 49
    /// bytes) gets `Connection: Keep-Alive\r\n` (24 bytes) inserted before its final
    /// CRLF.
    #[test]
    fn seed_bytes_added() {
        let mut up = SeqMap::start(s(2001), s(1951));
        let insert_at = s(2001 + 47);
        up.add_bytes(insert_at, 24).unwrap();

        // The GET's own seq is unaffected; it now carries 73 bytes.
        assert_eq!(up.map(s(2001)), Some(s(1951)));
        assert_eq!(up.map(insert_at), Some(s(1951 + 47 + 24)));
        // Subsequent client packets get Bytes Added on their seq.
        assert_eq!(up.map(s(2050)), Some(s(2024)));
        // S acks 1951 + 73: the client sees exactly its 49 bytes acknowledged.
        assert_eq!(up.unmap(s(2024)), Some(s(2050)));
        // Acks inside the inserted bytes cover the client's 47 bytes before them, no
        // more and no less.
        for out in 1998..=2022 {
            assert_eq!(up.unmap(s(out)), Some(insert_at), "ack {out}");
        }
        assert_eq!(up.unmap(s(1997)), Some(s(2047)));
        // A retransmission of the GET is translated as the original was.
        let l = up.lookup(s(2001)).unwrap();
        assert_eq!(l.map(s(2001)), s(1951));
        assert_eq!(
            l.room(s(2001)),
            Some(47),
            "caller must split at the insertion"
        );
        assert_eq!(up.lookup(s(2050)).unwrap().room(s(2050)), None);
    }

    #[test]
    fn retransmission_of_old_range_uses_old_delta() {
        // Request 1 at client 100..200 → server 5000; then request 2 from client 200
        // goes to the same connection after others used it, at server 9000.
        let mut up = SeqMap::start(s(100), s(5000));
        up.push(s(200), delta(s(200), s(9000))).unwrap();
        assert_eq!(up.map(s(150)), Some(s(5050)), "old range, old delta");
        assert_eq!(up.map(s(199)), Some(s(5099)));
        assert_eq!(up.map(s(200)), Some(s(9000)));
        assert_eq!(up.map(s(250)), Some(s(9050)));
        assert_eq!(up.map(s(99)), None, "before the splice");
        assert_eq!(up.unmap(s(5050)), Some(s(150)));
        assert_eq!(up.unmap(s(9050)), Some(s(250)));
        // Between the two ranges nothing of this client was sent: clamp.
        assert_eq!(up.unmap(s(7000)), Some(s(200)));
        assert_eq!(up.unmap(s(4999)), None);
    }

    #[test]
    fn wraparound_near_2_pow_32() {
        let top = u32::MAX - 9;
        let mut up = SeqMap::start(s(top), s(20));
        assert_eq!(up.map(s(top)), Some(s(20)));
        assert_eq!(up.map(s(u32::MAX)), Some(s(29)));
        assert_eq!(up.map(s(0)), Some(s(30)));
        assert_eq!(up.map(s(5)), Some(s(35)));
        // Insert 3 bytes at input 2 (after the wrap) and check both sides of it.
        up.add_bytes(s(2), 3).unwrap();
        assert_eq!(up.map(s(1)), Some(s(31)));
        assert_eq!(up.map(s(2)), Some(s(35)));
        assert_eq!(up.map(s(u32::MAX - 1)), Some(s(28)), "before the wrap");
        assert_eq!(up.map(s(top - 1)), None);
        // Output wraps too.
        let mut down = SeqMap::start(s(100), s(u32::MAX - 4));
        assert_eq!(down.map(s(104)), Some(s(u32::MAX)));
        assert_eq!(down.map(s(105)), Some(s(0)));
        assert_eq!(down.unmap(s(3)), Some(s(108)));
        down.add_bytes(s(106), 10).unwrap();
        assert_eq!(down.unmap(s(5)), Some(s(106)), "inside the insertion");
        assert_eq!(down.unmap(s(11)), Some(s(106)));
        assert_eq!(down.unmap(s(12)), Some(s(107)));
        assert_eq!(down.unmap(s(u32::MAX)), Some(s(104)));
        assert_eq!(up.release_before(s(3)), 1);
        assert_eq!(up.map(s(u32::MAX)), None, "released across the wrap");
    }

    #[test]
    fn push_order_capacity_and_replacement() {
        let mut m = SeqMap::new();
        assert!(m.is_empty());
        assert_eq!(m.map(s(1)), None);
        assert_eq!(m.unmap(s(1)), None);
        assert_eq!(m.add_bytes(s(1), 1), Err(SeqMapError::OutOfOrder));
        m.push(s(1000), 5).unwrap();
        for i in 1..CAPACITY as u32 {
            m.push(s(1000 + 10 * i), 5 + i).unwrap();
        }
        assert_eq!(m.len(), CAPACITY);
        assert_eq!(m.push(s(2000), 0), Err(SeqMapError::Full));
        assert_eq!(m.push(s(1000), 0), Err(SeqMapError::OutOfOrder));
        assert_eq!(
            m.push(s(1070 + 0x8000_0000), 0),
            Err(SeqMapError::OutOfOrder),
            "unordered"
        );
        // Same start as the newest: replaced, even when full.
        let last = s(1000 + 10 * (CAPACITY as u32 - 1));
        m.push_leg(last, 77, 3).unwrap();
        assert_eq!(
            m.newest(),
            Some(Segment {
                from: last,
                delta: 77,
                leg: 3
            })
        );
        assert_eq!(m.len(), CAPACITY);
        let before = m;
        assert!(m.push(s(5000), 1).is_err());
        assert_eq!(m, before, "a refused push changes nothing");
        // Two insertions at one point add up.
        let mut m = SeqMap::start(s(0), s(0));
        m.add_bytes(s(10), 4).unwrap();
        m.add_bytes(s(10), 6).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m.map(s(10)), Some(s(20)));
        assert_eq!(m.map(s(9)), Some(s(9)));
        m.clear();
        assert!(m.is_empty());
    }

    #[test]
    fn release_keeps_what_may_be_retransmitted() {
        let mut m = SeqMap::start(s(100), s(1100));
        m.add_bytes(s(150), 10).unwrap();
        m.add_bytes(s(180), 10).unwrap();
        m.add_bytes(s(220), 10).unwrap();
        assert_eq!(m.release_before(s(149)), 0, "segment 0 still has 149");
        assert_eq!(m.release_before(s(150)), 1);
        assert_eq!(m.map(s(149)), None);
        assert_eq!(m.map(s(150)), Some(s(1160)));
        assert_eq!(m.release_before(s(250)), 2, "the newest is never dropped");
        assert_eq!(m.len(), 1);
        assert_eq!(m.map(s(220)), Some(s(1250)));
        assert_eq!(m.map(s(300)), Some(s(1330)));
        assert_eq!(m.release_before(s(1_000_000)), 0);
        assert_eq!(m.release_before(s(0)), 0);
    }

    #[test]
    fn legs_keep_unrelated_output_spaces_apart() {
        // Client request 1 (100..150) to server A (leg 1) at 7000; request 2 (from
        // 150) to server B (leg 2) at 40; request 3 (from 200) back to A, which
        // continues at 7050.
        let mut up = SeqMap::new();
        up.push_leg(s(100), delta(s(100), s(7000)), 1).unwrap();
        up.push_leg(s(150), delta(s(150), s(40)), 2).unwrap();
        up.push_leg(s(200), delta(s(200), s(7050)), 1).unwrap();
        let l = up.lookup(s(170)).unwrap();
        assert_eq!(
            (l.segment.leg, l.map(s(170)), l.room(s(170))),
            (2, s(60), Some(30))
        );
        assert_eq!(up.lookup(s(120)).unwrap().segment.leg, 1);
        assert_eq!(up.lookup(s(260)).unwrap().segment.leg, 1);
        // B's ack of 60 is B's space: 20 bytes into request 2.
        assert_eq!(up.unmap_leg(2, s(60)), Some(s(170)));
        assert_eq!(
            up.unmap_leg(2, s(90)),
            Some(s(200)),
            "B's range ends at 200"
        );
        assert_eq!(up.unmap_leg(2, s(39)), None);
        // A's acks: request 1 and request 3.
        assert_eq!(up.unmap_leg(1, s(7020)), Some(s(120)));
        assert_eq!(up.unmap_leg(1, s(7050)), Some(s(200)));
        assert_eq!(up.unmap_leg(1, s(7060)), Some(s(210)));
        assert_eq!(up.unmap(s(7060)), Some(s(210)), "newest leg is A");
        assert_eq!(up.unmap_leg(3, s(7060)), None, "unknown leg");
        // The same push without a leg stays on the newest leg.
        up.push(s(300), 0).unwrap();
        assert_eq!(up.newest().unwrap().leg, 1);
    }

    #[test]
    fn unmap_inverts_map_with_random_insertions() {
        let mut rng = StdRng::seed_from_u64(0x5e9_3a9);
        for round in 0..2000 {
            let start = s(rng.gen::<u32>());
            let out_start = s(rng.gen::<u32>());
            let mut m = SeqMap::start(start, out_start);
            // Up to CAPACITY - 1 insertions at increasing points.
            let mut at = start;
            let mut points = [start; CAPACITY];
            let n = rng.gen_range(0..CAPACITY);
            for p in points.iter_mut().skip(1).take(n) {
                at += rng.gen_range(1..=3000);
                m.add_bytes(at, rng.gen_range(1..=2000)).unwrap();
                *p = at;
            }
            assert_eq!(m.len(), n + 1);
            let span = (at - start) as usize + 3000;
            for _ in 0..50 {
                let x = start + rng.gen_range(0..span);
                let y = m.map(x).unwrap();
                assert_eq!(m.unmap(y), Some(x), "round {round}: {x} -> {y}");
                // Bytes only ever move forward relative to the first mapping.
                assert!(y - out_start >= x - start, "round {round}");
            }
            assert_eq!(m.map(start - 1), None, "round {round}");
            // Releasing up to an insertion point keeps every later number's mapping.
            let cut = points[rng.gen_range(0..=n)];
            let probe = cut + rng.gen_range(0..5000);
            let before = m.map(probe);
            m.release_before(cut);
            assert_eq!(m.map(probe), before, "round {round}");
            assert_eq!(m.segments()[0].from, cut, "round {round}");
        }
    }
}
