//! A one-direction link that carries Ethernet frames and misbehaves on purpose.
//!
//! Every decision (lose, duplicate, hold back, how long to delay) is drawn from the
//! link's own seeded generator in the order frames are sent, so a run with the same seed
//! and the same traffic makes the same decisions.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// What a link does to the frames it carries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Impairments {
    /// Probability that a frame is lost.
    pub loss: f64,
    /// Probability that a frame that was not lost arrives twice (the copy is delayed
    /// independently, so it may arrive first).
    pub duplicate: f64,
    /// Probability that a frame is held back by an extra delay of 1 to
    /// [`Impairments::reorder_hold_max`] ticks, so that frames sent after it overtake it.
    pub reorder: f64,
    /// Delay of every frame, in ticks.
    pub delay_ticks: u64,
    /// Extra delay drawn uniformly from `0..=jitter_ticks` per frame. Jitter alone
    /// already reorders frames sent close together.
    pub jitter_ticks: u64,
}

impl Impairments {
    /// A perfect link: no loss, no duplication, in order, delivered on the next tick.
    pub const NONE: Impairments = Impairments {
        loss: 0.0,
        duplicate: 0.0,
        reorder: 0.0,
        delay_ticks: 0,
        jitter_ticks: 0,
    };

    /// A bad but usable link: 2 % loss, 1 % duplication, 3 % held back, 0.2–0.3 ms delay.
    /// Over a transfer of a few hundred segments every kind of impairment happens many
    /// times, and TCP still finishes in well under a simulated second per megabyte.
    pub const LOSSY: Impairments = Impairments {
        loss: 0.02,
        duplicate: 0.01,
        reorder: 0.03,
        delay_ticks: 2,
        jitter_ticks: 1,
    };

    /// Longest extra delay of a held-back frame: long enough to be overtaken by a whole
    /// burst sent after it, short enough not to look like a loss to TCP.
    pub fn reorder_hold_max(&self) -> u64 {
        (2 * self.delay_ticks + self.jitter_ticks).max(4)
    }

    fn check(&self) {
        for (name, p) in [
            ("loss", self.loss),
            ("duplicate", self.duplicate),
            ("reorder", self.reorder),
        ] {
            assert!(
                (0.0..=1.0).contains(&p),
                "{name} probability {p} out of 0..=1"
            );
        }
    }
}

impl Default for Impairments {
    fn default() -> Self {
        Impairments::NONE
    }
}

/// What a link did, frame by frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Frames offered to the link.
    pub sent: u64,
    /// Frames that came out of it (duplicates included).
    pub delivered: u64,
    /// Frames lost at random.
    pub lost: u64,
    /// Frames dropped by the drop filter.
    pub filtered: u64,
    /// Extra copies made.
    pub duplicated: u64,
    /// Frames held back to be overtaken.
    pub held_back: u64,
    /// Frames that came out after a frame sent later than them: the reordering that
    /// actually happened, from jitter and holding back together.
    pub out_of_order: u64,
}

impl std::ops::AddAssign for LinkStats {
    fn add_assign(&mut self, o: LinkStats) {
        self.sent += o.sent;
        self.delivered += o.delivered;
        self.lost += o.lost;
        self.filtered += o.filtered;
        self.duplicated += o.duplicated;
        self.held_back += o.held_back;
        self.out_of_order += o.out_of_order;
    }
}

struct InFlight {
    at: u64,
    /// Insertion order: breaks ties so that frames due in the same tick leave in the
    /// order they were queued, and the heap never compares frames.
    seq: u64,
    /// Position of the original frame in send order; a duplicate shares its original's.
    origin: u64,
    frame: Vec<u8>,
}

impl PartialEq for InFlight {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for InFlight {}
impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for InFlight {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap and the earliest frame must come out first.
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// A predicate over frames; a frame it returns true for is dropped.
pub type DropFilter = Box<dyn FnMut(&[u8]) -> bool>;

/// A one-direction impaired link.
pub struct Link {
    impairments: Impairments,
    rng: StdRng,
    queue: BinaryHeap<InFlight>,
    next_seq: u64,
    next_origin: u64,
    newest_delivered: Option<u64>,
    filter: Option<DropFilter>,
    stats: LinkStats,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Link")
            .field("impairments", &self.impairments)
            .field("in_flight", &self.queue.len())
            .field("stats", &self.stats)
            .finish()
    }
}

impl Link {
    /// A link with `impairments` whose random decisions follow from `seed`.
    pub fn new(impairments: Impairments, seed: u64) -> Self {
        impairments.check();
        Link {
            impairments,
            rng: StdRng::seed_from_u64(seed),
            queue: BinaryHeap::new(),
            next_seq: 0,
            next_origin: 0,
            newest_delivered: None,
            filter: None,
            stats: LinkStats::default(),
        }
    }

    /// The link's impairments.
    pub fn impairments(&self) -> Impairments {
        self.impairments
    }

    /// Changes the impairments for frames sent from now on (frames in flight keep their
    /// fate), e.g. to cut a link and heal it later.
    pub fn set_impairments(&mut self, impairments: Impairments) {
        impairments.check();
        self.impairments = impairments;
    }

    /// Drops every frame `filter` returns true for, before any random decision, to aim a
    /// loss at one packet ("lose the first SYN-ACK"). `None` removes the filter.
    pub fn set_drop_filter(&mut self, filter: Option<DropFilter>) {
        self.filter = filter;
    }

    /// What the link did so far.
    pub fn stats(&self) -> LinkStats {
        self.stats
    }

    /// Frames in flight.
    pub fn in_flight(&self) -> usize {
        self.queue.len()
    }

    /// Offers `frame` to the link at tick `now`.
    pub fn send(&mut self, frame: Vec<u8>, now: u64) {
        self.stats.sent += 1;
        let origin = self.next_origin;
        self.next_origin += 1;
        if let Some(filter) = &mut self.filter {
            if filter(&frame) {
                self.stats.filtered += 1;
                return;
            }
        }
        let imp = self.impairments;
        // Every draw is made for every frame, whatever the probabilities, so changing one
        // probability does not shift the random sequence behind the others.
        let lost = self.rng.gen_bool(imp.loss);
        let dup = self.rng.gen_bool(imp.duplicate);
        if lost {
            self.stats.lost += 1;
            return;
        }
        if dup {
            self.stats.duplicated += 1;
            let copy = frame.clone();
            self.enqueue(copy, origin, now);
        }
        self.enqueue(frame, origin, now);
    }

    fn enqueue(&mut self, frame: Vec<u8>, origin: u64, now: u64) {
        let imp = self.impairments;
        let jitter = self.rng.gen_range(0..=imp.jitter_ticks);
        let held = self.rng.gen_bool(imp.reorder);
        let hold = self.rng.gen_range(1..=imp.reorder_hold_max());
        let mut at = now + imp.delay_ticks + jitter;
        if held {
            self.stats.held_back += 1;
            at += hold;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.queue.push(InFlight {
            at,
            seq,
            origin,
            frame,
        });
    }

    /// The next frame due at tick `now`, if any. A frame sent at tick `t` with no delay
    /// is due at `t + 1`: the network moves frames before hosts send new ones, so "no
    /// delay" still means "next tick".
    pub fn recv(&mut self, now: u64) -> Option<Vec<u8>> {
        if self.queue.peek()?.at >= now {
            return None;
        }
        let f = self.queue.pop()?;
        self.stats.delivered += 1;
        match self.newest_delivered {
            Some(newest) if f.origin < newest => self.stats.out_of_order += 1,
            _ => self.newest_delivered = Some(f.origin),
        }
        Some(f.frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(link: &mut Link, until: u64) -> Vec<(u64, Vec<u8>)> {
        let mut out = vec![];
        for t in 0..=until {
            while let Some(f) = link.recv(t) {
                out.push((t, f));
            }
        }
        out
    }

    #[test]
    fn perfect_link_is_fifo_with_one_tick_latency() {
        let mut l = Link::new(Impairments::NONE, 1);
        for i in 0..10u8 {
            l.send(vec![i], 5);
        }
        let out = drain(&mut l, 10);
        assert_eq!(out.len(), 10);
        assert!(out.iter().all(|(t, _)| *t == 6));
        let frames: Vec<u8> = out.iter().map(|(_, f)| f[0]).collect();
        assert_eq!(frames, (0..10).collect::<Vec<_>>());
        assert_eq!(l.stats().out_of_order, 0);
    }

    #[test]
    fn delay_is_applied() {
        let mut l = Link::new(
            Impairments {
                delay_ticks: 7,
                ..Impairments::NONE
            },
            1,
        );
        l.send(vec![1], 0);
        assert_eq!(drain(&mut l, 20)[0].0, 8);
    }

    #[test]
    fn lossy_link_does_every_impairment_and_is_reproducible() {
        let run = |seed| {
            let mut l = Link::new(Impairments::LOSSY, seed);
            for i in 0..10_000u32 {
                l.send(i.to_be_bytes().to_vec(), u64::from(i / 8));
            }
            let out = drain(&mut l, 10_000);
            (l.stats(), out)
        };
        let (s, out) = run(42);
        assert_eq!(s.sent, 10_000);
        assert_eq!(s.delivered, s.sent - s.lost + s.duplicated);
        assert_eq!(out.len() as u64, s.delivered);
        // 2 % of 10 000 is 200; the bounds are loose enough for any seed.
        assert!((100..300).contains(&s.lost), "{s:?}");
        assert!((40..200).contains(&s.duplicated), "{s:?}");
        assert!((150..450).contains(&s.held_back), "{s:?}");
        assert!(s.out_of_order > s.held_back, "jitter reorders too: {s:?}");
        assert_eq!(run(42), (s, out.clone()));
        assert_ne!(run(43).1, out);
    }

    #[test]
    fn drop_filter_aims_a_loss() {
        let mut l = Link::new(Impairments::NONE, 1);
        let mut first = true;
        l.set_drop_filter(Some(Box::new(move |f: &[u8]| {
            let hit = first && f[0] == 2;
            first &= !hit;
            hit
        })));
        for i in [1u8, 2, 2, 3] {
            l.send(vec![i], 0);
        }
        let frames: Vec<u8> = drain(&mut l, 2).iter().map(|(_, f)| f[0]).collect();
        assert_eq!(frames, vec![1, 2, 3]);
        assert_eq!(l.stats().filtered, 1);
    }
}
