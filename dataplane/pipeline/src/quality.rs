//! The per-real measurements a worker publishes for the control core (`show real`, the
//! metrics endpoint): requests in flight and queued, moving averages of the response
//! times, the loss rate, requests per second and a response-time histogram. The worker
//! writes them with relaxed stores from its timer poll (about once a millisecond, not
//! per request or packet); the control core reads them whenever it likes, a field at a
//! time (a reading may mix two publications, never tears a value).

use crate::balance::load::{Measure, BUCKETS_US};
use crate::counters::WorkerCounters;
use std::sync::atomic::{AtomicU64, Ordering};

/// Fields before the histogram in a published row.
const HEAD: usize = 12;
/// Cells in a published row: the fields, then the histogram's buckets.
pub(crate) const CELLS: usize = HEAD + BUCKETS_US.len() + 1;

/// One real as one worker last published it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RealQuality {
    /// Requests on its connections (until their responses are acknowledged).
    pub in_flight: u64,
    /// Requests waiting for one of its connections.
    pub queue: u64,
    /// Moving average of request sent → first response byte, in microseconds.
    pub ttfb_us: u64,
    /// Moving average of request sent → last response byte, in microseconds.
    pub total_us: u64,
    /// Moving share of lossy requests (a retransmission, gap or reset seen on the
    /// server leg, or a failed request), in parts per million.
    pub loss_ppm: u64,
    /// Requests ended per second, over the last whole second.
    pub per_second: u64,
    /// Responses measured (the histogram's count).
    pub count: u64,
    /// Sum of the measured response times, in microseconds.
    pub sum_us: u64,
    /// Responses per bucket of [`BUCKETS_US`] (not cumulative), the last beyond them.
    pub buckets: [u64; BUCKETS_US.len() + 1],
    /// Its handoff agent (`real.agent`): [`AGENT_NONE`], [`AGENT_DOWN`] or
    /// [`AGENT_UP`].
    pub agent: u64,
    /// Round-trip time of the agent's latest answered heartbeat, in microseconds.
    pub agent_rtt_us: u64,
    /// The agent's epoch (its process's), 0 before its first answer.
    pub agent_epoch: u64,
    /// Handed-off connections the agent said it holds (its latest heartbeat answer).
    pub agent_connections: u64,
}

/// [`RealQuality::agent`]: the real has no agent.
pub const AGENT_NONE: u64 = 0;
/// [`RealQuality::agent`]: no answer yet, or none for `agent_dead_time`.
pub const AGENT_DOWN: u64 = 1;
/// [`RealQuality::agent`]: answering.
pub const AGENT_UP: u64 = 2;

impl RealQuality {
    /// The figures of `measure` with `in_flight` and `queue` requests and
    /// `per_second` requests ended per second.
    pub fn of(measure: &Measure, in_flight: u64, queue: u64, per_second: u64) -> Self {
        RealQuality {
            in_flight,
            queue,
            ttfb_us: u64::from(measure.ttfb_us),
            total_us: u64::from(measure.total_us),
            loss_ppm: u64::from(measure.loss_ppm),
            per_second,
            count: measure.histogram.iter().sum(),
            sum_us: measure.total_sum_us,
            buckets: measure.histogram,
            ..RealQuality::default()
        }
    }

    /// The figures of several workers together: levels, rates and histograms added,
    /// moving averages weighted by each worker's measured responses.
    pub fn merge(workers: &[RealQuality]) -> RealQuality {
        let mut t = RealQuality::default();
        let (mut ttfb, mut total, mut loss, mut n) = (0u128, 0u128, 0u128, 0u128);
        for w in workers {
            t.in_flight += w.in_flight;
            t.queue += w.queue;
            t.per_second += w.per_second;
            t.count += w.count;
            t.sum_us += w.sum_us;
            for (a, b) in t.buckets.iter_mut().zip(&w.buckets) {
                *a += b;
            }
            let k = u128::from(w.count.max(1));
            ttfb += u128::from(w.ttfb_us) * k;
            total += u128::from(w.total_us) * k;
            loss += u128::from(w.loss_ppm) * k;
            n += k;
            // The agent as the workers see it (each runs its own channel to it, with
            // its own heartbeats): up when one worker has it up.
            if w.agent > t.agent || (w.agent == t.agent && w.agent_epoch != 0) {
                t.agent = w.agent;
                t.agent_rtt_us = t.agent_rtt_us.max(w.agent_rtt_us);
                t.agent_epoch = w.agent_epoch;
                t.agent_connections = t.agent_connections.max(w.agent_connections);
            }
        }
        let avg = |sum: u128| sum.checked_div(n).map_or(0, |v| v as u64);
        t.ttfb_us = avg(ttfb);
        t.total_us = avg(total);
        t.loss_ppm = avg(loss);
        t
    }

    fn to_cells(self) -> [u64; CELLS] {
        let mut c = [0; CELLS];
        c[..HEAD].copy_from_slice(&[
            self.in_flight,
            self.queue,
            self.ttfb_us,
            self.total_us,
            self.loss_ppm,
            self.per_second,
            self.count,
            self.sum_us,
            self.agent,
            self.agent_rtt_us,
            self.agent_epoch,
            self.agent_connections,
        ]);
        c[HEAD..].copy_from_slice(&self.buckets);
        c
    }

    fn from_cells(c: [u64; CELLS]) -> Self {
        let mut buckets = [0; BUCKETS_US.len() + 1];
        buckets.copy_from_slice(&c[HEAD..]);
        RealQuality {
            in_flight: c[0],
            queue: c[1],
            ttfb_us: c[2],
            total_us: c[3],
            loss_ppm: c[4],
            per_second: c[5],
            count: c[6],
            sum_us: c[7],
            agent: c[8],
            agent_rtt_us: c[9],
            agent_epoch: c[10],
            agent_connections: c[11],
            buckets,
        }
    }
}

/// Rows of published cells, one per real.
pub(crate) fn rows(reals: usize) -> Vec<[AtomicU64; CELLS]> {
    (0..reals)
        .map(|_| std::array::from_fn(|_| AtomicU64::new(0)))
        .collect()
}

impl WorkerCounters {
    /// Publishes the figures of `real`. Only the owning worker may call this.
    pub fn set_quality(&self, real: usize, q: &RealQuality) {
        if let Some(row) = self.quality.get(real) {
            for (cell, v) in row.iter().zip(q.to_cells()) {
                cell.store(v, Ordering::Relaxed);
            }
        }
    }

    /// The figures of `real` last published (zero for an unknown real).
    pub fn quality(&self, real: usize) -> RealQuality {
        self.quality
            .get(real)
            .map_or_else(RealQuality::default, |row| {
                RealQuality::from_cells(std::array::from_fn(|i| row[i].load(Ordering::Relaxed)))
            })
    }
}

/// A worker's requests-per-second figure of one real: requests ended over the last
/// whole second.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Rate {
    since: u64,
    base: u64,
    per_second: u64,
}

impl Rate {
    /// The figure with `ended` requests ended so far at `now`; a new one once a second
    /// has passed since the last.
    pub(crate) fn update(&mut self, ended: u64, now: u64, ticks_per_ms: u64) -> u64 {
        let second = 1000 * ticks_per_ms.max(1);
        let elapsed = now.saturating_sub(self.since);
        if elapsed >= second {
            self.per_second = (ended - self.base) * second / elapsed;
            self.base = ended;
            self.since = now;
        }
        self.per_second
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_figures_read_back_and_merge() {
        let mut m = Measure::default();
        m.first_byte(2_000);
        m.response_end(4_000, false);
        m.response_end(400_000, true);
        let q = RealQuality::of(&m, 3, 1, 50);
        let c = WorkerCounters::with_reals(1, 2);
        c.set_quality(1, &q);
        c.set_quality(5, &q);
        assert_eq!(c.quality(1), q);
        assert_eq!(c.quality(0), RealQuality::default());
        assert_eq!(c.quality(5), RealQuality::default());
        assert_eq!((q.count, q.sum_us, q.ttfb_us), (2, 404_000, 2_000));
        let other = RealQuality {
            ttfb_us: 8_000,
            count: 6,
            in_flight: 1,
            ..Default::default()
        };
        let t = RealQuality::merge(&[q, other]);
        assert_eq!((t.in_flight, t.queue, t.count, t.per_second), (4, 1, 8, 50));
        assert_eq!(t.ttfb_us, (2_000 * 2 + 8_000 * 6) / 8);
        assert_eq!(RealQuality::merge(&[]), RealQuality::default());
    }

    #[test]
    fn rate_is_per_whole_second() {
        let mut r = Rate::default();
        assert_eq!(r.update(0, 1000, 1), 0);
        assert_eq!(r.update(30, 1500, 1), 0);
        assert_eq!(r.update(100, 2000, 1), 100);
        assert_eq!(r.update(150, 2999, 1), 100);
        assert_eq!(r.update(300, 4000, 1), 100);
    }
}
