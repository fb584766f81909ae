//! The impairment stage: seeded loss, duplication, reordering and delay of received
//! frames, for tests of the appliance on a lossy link where the kernel has no `netem`.
//!
//! It sits between a port's RX queue and the pipeline, one [`Impairment`] per worker and
//! impaired port (each worker impairs what its own queue receives). Off unless a port is
//! configured with it: the worker then takes one branch per burst and nothing else.
//!
//! For every frame, in this order, with a seeded generator (the same seed and the same
//! arrival sequence give the same decisions):
//!
//! 1. with probability `loss` the frame is dropped (`impair_dropped`);
//! 2. else, with probability `duplicate`, a copy is made (`impair_duplicated`); the copy
//!    takes step 3 of its own;
//! 3. the frame is held for `delay` plus a uniform share of `jitter`, and, with
//!    probability `reorder`, for `reorder_delay` more so that the frames behind it
//!    overtake it (`impair_reordered`; otherwise, when it is held at all,
//!    `impair_delayed`). A frame with no hold time and nothing held goes on at once.
//!
//! Held frames wait in a bounded queue per port, ordered by release time, and go on to
//! the pipeline when the worker loop finds them due ([`Impairment::release`],
//! `impair_released`). A frame that should be held while the queue is full goes on at
//! once and is counted (`impair_queue_full`): nothing is lost silently. A copy the
//! mempool cannot supply is counted as `drop_alloc_failed`.
//!
//! Accounting, per impaired port, once the queue is empty: `impair_packets` frames
//! examined; `impair_packets - impair_dropped + impair_duplicated` frames given to the
//! pipeline; `impair_delayed + impair_reordered = impair_released`.

use crate::counters::{Counter, WorkerCounters};
use crate::packet::{PacketBuf, Sink};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Probabilities are in parts per million: 10_000 is 1 %.
pub const PPM: u32 = 1_000_000;

/// What one port's impairment does, times in the worker's clock ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImpairSettings {
    /// Probability that a frame is dropped, in parts per million.
    pub loss: u32,
    /// Probability that a frame is duplicated, in parts per million.
    pub duplicate: u32,
    /// Probability that a frame is held back by `reorder_delay`, in parts per million.
    pub reorder: u32,
    /// Extra hold of a reordered frame, in ticks.
    pub reorder_delay: u64,
    /// Hold of every frame, in ticks.
    pub delay: u64,
    /// Uniform extra hold of every frame, 0..=jitter ticks.
    pub jitter: u64,
    /// Frames the port's queue may hold.
    pub queue: usize,
    /// Seed of the generator (mixed with the worker and port, so that workers differ).
    pub seed: u64,
}

/// The fate of one frame, as the generator decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Drop the frame.
    pub drop: bool,
    /// Hold of the frame in ticks (0: none) and whether it is a reordering hold.
    pub hold: (u64, bool),
    /// Make a copy, held for this long (and whether that is a reordering hold).
    pub copy: Option<(u64, bool)>,
}

/// SplitMix64: small, fast, and every seed (zero included) gives a full-period stream.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// True with probability `ppm` / 1,000,000.
    fn chance(&mut self, ppm: u32) -> bool {
        ppm > 0 && ((self.next() >> 32) * u64::from(PPM)) >> 32 < u64::from(ppm)
    }

    /// Uniform in 0..=max.
    fn upto(&mut self, max: u64) -> u64 {
        if max == 0 {
            0
        } else {
            self.next() % (max + 1)
        }
    }
}

/// A held frame; ordered by release time, then arrival, so that frames with the same
/// release time keep their order.
struct Held<P> {
    at: u64,
    seq: u64,
    pkt: P,
}

impl<P> PartialEq for Held<P> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl<P> Eq for Held<P> {}
impl<P> PartialOrd for Held<P> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<P> Ord for Held<P> {
    // Reversed: BinaryHeap is a max-heap and the earliest release must come out first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// One port's impairment on one worker.
pub struct Impairment<P> {
    port: u16,
    settings: ImpairSettings,
    rng: Rng,
    held: BinaryHeap<Held<P>>,
    seq: u64,
}

impl<P: PacketBuf> Impairment<P> {
    /// The impairment of `port` on `worker`. The queue is allocated here, never later.
    pub fn new(port: u16, worker: usize, settings: ImpairSettings) -> Self {
        let mut mix = Rng(settings.seed ^ ((worker as u64) << 32) ^ u64::from(port));
        let state = mix.next();
        Impairment {
            port,
            settings,
            rng: Rng(state),
            held: BinaryHeap::with_capacity(settings.queue),
            seq: 0,
        }
    }

    /// The settings in use.
    pub fn settings(&self) -> &ImpairSettings {
        &self.settings
    }

    /// Frames held now.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// The next frame's fate (advances the generator).
    pub fn decide(&mut self) -> Decision {
        let s = self.settings;
        if self.rng.chance(s.loss) {
            return Decision {
                drop: true,
                hold: (0, false),
                copy: None,
            };
        }
        let duplicate = self.rng.chance(s.duplicate);
        let hold = self.hold_time();
        let copy = duplicate.then(|| self.hold_time());
        Decision {
            drop: false,
            hold,
            copy,
        }
    }

    fn hold_time(&mut self) -> (u64, bool) {
        let s = self.settings;
        let base = s.delay + self.rng.upto(s.jitter);
        if self.rng.chance(s.reorder) {
            (base + s.reorder_delay, true)
        } else {
            (base, false)
        }
    }

    /// A frame received on the port at `now`: dropped, passed to `deliver` (at once or
    /// later through [`Impairment::release`]), perhaps with a copy.
    pub fn admit<S: Sink<P>>(
        &mut self,
        pkt: P,
        now: u64,
        counters: &WorkerCounters,
        sink: &mut S,
        mut deliver: impl FnMut(P, &mut S),
    ) {
        counters.inc(self.port, Counter::ImpairPackets);
        let d = self.decide();
        if d.drop {
            counters.inc(self.port, Counter::ImpairDropped);
            return sink.discard(pkt);
        }
        let copy = match (d.copy, d.copy.and_then(|_| sink.alloc())) {
            (None, _) => None,
            (Some(hold), Some(mut c)) => {
                if c.resize(pkt.data().len()) {
                    c.data_mut().copy_from_slice(pkt.data());
                    counters.inc(self.port, Counter::ImpairDuplicated);
                    Some((c, hold))
                } else {
                    counters.inc(self.port, Counter::DropAllocFailed);
                    sink.discard(c);
                    None
                }
            }
            (Some(_), None) => {
                counters.inc(self.port, Counter::DropAllocFailed);
                None
            }
        };
        self.hold_or_deliver(pkt, d.hold, now, counters, sink, &mut deliver);
        if let Some((c, hold)) = copy {
            self.hold_or_deliver(c, hold, now, counters, sink, &mut deliver);
        }
    }

    fn hold_or_deliver<S: Sink<P>>(
        &mut self,
        pkt: P,
        (hold, reorder): (u64, bool),
        now: u64,
        counters: &WorkerCounters,
        sink: &mut S,
        deliver: &mut impl FnMut(P, &mut S),
    ) {
        // A frame with no hold goes on at once, ahead of the held ones: with only
        // `reorder` set, that is how the frames behind a held one overtake it.
        if hold == 0 {
            return deliver(pkt, sink);
        }
        if self.held.len() >= self.settings.queue {
            counters.inc(self.port, Counter::ImpairQueueFull);
            return deliver(pkt, sink);
        }
        counters.inc(
            self.port,
            if reorder {
                Counter::ImpairReordered
            } else {
                Counter::ImpairDelayed
            },
        );
        self.seq += 1;
        self.held.push(Held {
            at: now.saturating_add(hold),
            seq: self.seq,
            pkt,
        });
    }

    /// The next held frame due at `now`, if any (counted as released).
    pub fn release(&mut self, now: u64, counters: &WorkerCounters) -> Option<P> {
        if self.held.peek()?.at > now {
            return None;
        }
        counters.inc(self.port, Counter::ImpairReleased);
        self.held.pop().map(|h| h.pkt)
    }

    /// The next held frame whatever its release time (the worker stops), in release
    /// order (counted as released).
    pub fn release_all(&mut self, counters: &WorkerCounters) -> Option<P> {
        let h = self.held.pop()?;
        counters.inc(self.port, Counter::ImpairReleased);
        Some(h.pkt)
    }
}

#[cfg(test)]
mod tests;
