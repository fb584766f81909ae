//! What a worker's loop measures of itself, so that an operator sees its headroom
//! (`show workers`; VPP's `show runtime` is the model): how many rounds it polled, how
//! many of them found work, the packets it processed and the TSC cycles it spent, busy
//! and in all.
//!
//! The worker keeps a [`Runtime`] in a local variable, adds each round to it with
//! [`Runtime::round`] and publishes it with [`RuntimeCells::publish`] once per timer poll
//! (about every millisecond), so the loop writes no shared cache line per round. The
//! control core reads the cells at any time without stopping the worker; a reading is at
//! most a timer interval old, each figure never torn (the five are read one by one, so a
//! reading may mix two publications: the ratios below saturate rather than mislead).
//!
//! The cycles are TSC ticks: on a CPU with an invariant TSC (every x86 server CPU since
//! Nehalem) they tick at a constant rate whatever the core's frequency, so
//! `busy_cycles / cycles` is the fraction of wall time the worker spent doing work.

use std::sync::atomic::{AtomicU64, Ordering};

/// A worker loop's figures since it started, or between two readings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Runtime {
    /// Rounds of the loop: one RX burst from every port, the hand-off ring, the inbox,
    /// the timers when due, one TX flush.
    pub polls: u64,
    /// Rounds that found work: packets received or handed in, neighbour updates,
    /// control messages, or the timers' poll.
    pub busy_polls: u64,
    /// Packets the rounds took in: received from the worker's queue of every port and
    /// handed in by other workers (those it then handed out are counted too: passing
    /// them on is the work done on them).
    pub packets: u64,
    /// TSC cycles of all rounds, idle rounds and `idle_sleep` included: the loop's wall
    /// time.
    pub cycles: u64,
    /// TSC cycles of the rounds that found work, from the start of each such round to
    /// its end (its RX polls, the packets' processing, the timers, the TX flush).
    pub busy_cycles: u64,
}

impl Runtime {
    /// The figures' names, in the order of [`Runtime::values`]: the keys of `show
    /// workers`' JSON and of docs/COUNTERS.md.
    pub const NAMES: [&'static str; 5] =
        ["polls", "busy_polls", "packets", "cycles", "busy_cycles"];

    /// The figures in the order of [`Runtime::NAMES`].
    pub fn values(&self) -> [u64; 5] {
        [
            self.polls,
            self.busy_polls,
            self.packets,
            self.cycles,
            self.busy_cycles,
        ]
    }

    /// The figures from values in the order of [`Runtime::NAMES`].
    pub fn from_values(v: [u64; 5]) -> Runtime {
        Runtime {
            polls: v[0],
            busy_polls: v[1],
            packets: v[2],
            cycles: v[3],
            busy_cycles: v[4],
        }
    }

    /// Adds one round that started at TSC `start`, finished its work at `end` and was
    /// followed by the next round at `next` (later than `end` by the `idle_sleep` of an
    /// idle round); it gave `packets` packets to the pipeline and did work (`busy`) or
    /// not. A clock that went backwards adds nothing rather than wrapping.
    #[inline]
    pub fn round(&mut self, start: u64, end: u64, next: u64, packets: u64, busy: bool) {
        self.polls += 1;
        self.packets += packets;
        self.cycles += next.saturating_sub(start);
        if busy {
            self.busy_polls += 1;
            self.busy_cycles += end.saturating_sub(start);
        }
    }

    /// `self - earlier`, figure by figure (0 rather than wrapping when `earlier` is not
    /// earlier).
    pub fn since(&self, earlier: &Runtime) -> Runtime {
        let (a, b) = (self.values(), earlier.values());
        Runtime::from_values(std::array::from_fn(|i| a[i].saturating_sub(b[i])))
    }

    /// The fraction of the loop's time spent in rounds that found work, 0.0 to 1.0;
    /// `None` before any cycle was counted.
    pub fn busy_fraction(&self) -> Option<f64> {
        (self.cycles > 0).then(|| (self.busy_cycles as f64 / self.cycles as f64).min(1.0))
    }

    /// Busy cycles per packet: what a packet costs, timers and control work spread over
    /// the packets; `None` when no packet was processed.
    pub fn cycles_per_packet(&self) -> Option<f64> {
        (self.packets > 0).then(|| self.busy_cycles as f64 / self.packets as f64)
    }
}

/// A worker's published [`Runtime`]: written by the worker only, read by the control core.
#[derive(Debug, Default)]
pub struct RuntimeCells([AtomicU64; 5]);

impl RuntimeCells {
    /// Publishes the worker's figures. Only the owning worker may call this.
    pub fn publish(&self, r: &Runtime) {
        for (cell, v) in self.0.iter().zip(r.values()) {
            cell.store(v, Ordering::Relaxed);
        }
    }

    /// The figures last published (all zero before the first publication).
    pub fn read(&self) -> Runtime {
        Runtime::from_values(std::array::from_fn(|i| self.0[i].load(Ordering::Relaxed)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_add_busy_and_idle_time() {
        let mut r = Runtime::default();
        // A busy round of 300 cycles, then 20 cycles of loop overhead.
        r.round(1_000, 1_300, 1_320, 32, true);
        // An idle round of 50 cycles followed by 950 cycles of idle_sleep.
        r.round(1_320, 1_370, 2_320, 0, false);
        // The timers' poll: busy without packets.
        r.round(2_320, 2_420, 2_420, 0, true);
        assert_eq!(
            r,
            Runtime {
                polls: 3,
                busy_polls: 2,
                packets: 32,
                cycles: 1_420,
                busy_cycles: 400,
            }
        );
        assert!((r.busy_fraction().unwrap() - 400.0 / 1_420.0).abs() < 1e-12);
        assert!((r.cycles_per_packet().unwrap() - 12.5).abs() < 1e-12);
        // A clock that goes backwards adds no cycles.
        r.round(5_000, 4_000, 3_000, 1, true);
        assert_eq!((r.cycles, r.busy_cycles, r.polls), (1_420, 400, 4));
    }

    #[test]
    fn ratios_need_something_to_divide_by() {
        let r = Runtime::default();
        assert_eq!((r.busy_fraction(), r.cycles_per_packet()), (None, None));
        // A reading that mixes two publications never shows more than 100 % busy.
        let mixed = Runtime {
            cycles: 100,
            busy_cycles: 150,
            ..Runtime::default()
        };
        assert_eq!(mixed.busy_fraction(), Some(1.0));
    }

    #[test]
    fn since_subtracts_and_saturates() {
        let a = Runtime::from_values([10, 4, 100, 1_000, 400]);
        let b = Runtime::from_values([4, 1, 40, 300, 100]);
        assert_eq!(a.since(&b).values(), [6, 3, 60, 700, 300]);
        assert_eq!(b.since(&a), Runtime::default());
        assert_eq!(Runtime::from_values(a.values()), a);
    }

    #[test]
    fn cells_publish_what_the_worker_counted() {
        let cells = RuntimeCells::default();
        assert_eq!(cells.read(), Runtime::default());
        let r = Runtime::from_values([1, 2, 3, 4, 5]);
        cells.publish(&r);
        assert_eq!(cells.read(), r);
    }

    /// docs/COUNTERS.md documents every figure in its section on the worker loop.
    #[test]
    fn counters_doc_documents_every_figure() {
        let doc = include_str!("../../../docs/COUNTERS.md");
        let start = doc
            .find("## Worker loop")
            .expect("docs/COUNTERS.md section on the worker loop");
        let rest = &doc[start..];
        let section = &rest[..rest[1..].find("\n## ").map_or(rest.len(), |i| i + 1)];
        for name in Runtime::NAMES {
            assert!(
                section.contains(&format!("| `{name}` |")),
                "docs/COUNTERS.md lacks a row for {name}"
            );
        }
    }
}
