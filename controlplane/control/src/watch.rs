//! The exhaustion watch: when a worker reaches one of its limits (flow table, half-open
//! table, mempool, hand-off ring, TX queue, local ports, a farm at `maxconns`), the
//! counter of the refusal moves, and the control core says so in the log, at most once
//! per [`LOG_INTERVAL`] per limit, with how many were refused since it last said so and
//! the key that sets the limit. The workers only count (a log call on the fast path
//! would slow the very flood it reports); the control core reads the counters once a
//! second.

use splicer_pipeline::{Counter, WorkerCounters};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the control core reads the counters.
pub(crate) const CHECK_INTERVAL: Duration = Duration::from_secs(1);
/// Shortest interval between two log lines about one limit.
pub(crate) const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The limits watched: the counter of what was refused at it, and what it means.
const WATCHED: &[(Counter, &str)] = &[
    (
        Counter::DropFlowTableFull,
        "flow table full (dataplane.max_flows per worker): new connections dropped",
    ),
    (
        Counter::DropSynFlood,
        "half-open table full (dataplane.max_half_open per worker): SYNs dropped",
    ),
    (
        Counter::DropAllocFailed,
        "packet buffers exhausted (dataplane.mempool_size): packets dropped",
    ),
    (
        Counter::DropHandoffFull,
        "hand-off ring full (dataplane.handoff_ring_size): packets dropped",
    ),
    (
        Counter::DropTxFull,
        "TX queue full (dataplane.tx_descriptors): packets dropped",
    ),
    (
        Counter::DropNoLocalPort,
        "no free local port towards a real: server connections not opened",
    ),
    (
        Counter::QueueTimeouts,
        "requests found no server connection within dataplane.queue_timeout (reals at maxconns): answered 503",
    ),
];

struct Limit {
    /// The total at the last check.
    seen: u64,
    /// The total when a line was last logged (or at start).
    logged: u64,
    logged_at: Option<Instant>,
}

/// What the watch remembers between checks.
pub(crate) struct Watch {
    limits: Vec<Limit>,
    next_check: Instant,
}

impl Watch {
    /// A watch that counts from the current totals (nothing before start-up is news).
    pub(crate) fn new(workers: &[Arc<WorkerCounters>], now: Instant) -> Self {
        let limits = watched_totals(workers)
            .into_iter()
            .map(|t| Limit {
                seen: t,
                logged: t,
                logged_at: None,
            })
            .collect();
        Watch {
            limits,
            next_check: now + CHECK_INTERVAL,
        }
    }

    /// Reads the counters when a check is due and logs what moved.
    pub(crate) fn poll(&mut self, workers: &[Arc<WorkerCounters>], now: Instant) {
        if now < self.next_check {
            return;
        }
        self.next_check = now + CHECK_INTERVAL;
        for line in self.check(&watched_totals(workers), now) {
            tracing::warn!(target: "splicer::limits", "{line}");
        }
    }

    /// The log lines due for `totals` (one per watched counter, in [`WATCHED`] order).
    fn check(&mut self, totals: &[u64], now: Instant) -> Vec<String> {
        let mut lines = Vec::new();
        for ((limit, &t), &(counter, what)) in self.limits.iter_mut().zip(totals).zip(WATCHED) {
            // `clear stats` does not touch the raw counters; a smaller value would be a
            // worker restarted: start again from it.
            if t < limit.seen {
                limit.logged = t;
            }
            limit.seen = t;
            let new = t - limit.logged.min(t);
            let due = limit
                .logged_at
                .is_none_or(|at| now.duration_since(at) >= LOG_INTERVAL);
            if new > 0 && due {
                lines.push(format!(
                    "{what}: {new} since {} ({}={t})",
                    if limit.logged_at.is_some() {
                        "the last report"
                    } else {
                        "start"
                    },
                    counter.name()
                ));
                limit.logged = t;
                limit.logged_at = Some(now);
            }
        }
        lines
    }
}

/// The watched counters summed over every worker and port, in [`WATCHED`] order: one
/// snapshot of each worker.
fn watched_totals(workers: &[Arc<WorkerCounters>]) -> Vec<u64> {
    let snapshots: Vec<_> = workers.iter().map(|w| w.snapshot()).collect();
    WATCHED
        .iter()
        .map(|&(c, _)| snapshots.iter().map(|s| s.get(c)).sum())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(flow_full: u64) -> Vec<u64> {
        let mut t = vec![0; WATCHED.len()];
        t[0] = flow_full;
        t
    }

    #[test]
    fn a_limit_reached_is_logged_at_once_then_at_most_every_interval() {
        let t0 = Instant::now();
        let mut w = Watch::new(&[], t0);
        assert!(w.check(&totals(0), t0).is_empty());
        let lines = w.check(&totals(5), t0 + Duration::from_secs(1));
        assert_eq!(lines.len(), 1);
        assert!(lines[0].starts_with("flow table full"), "{}", lines[0]);
        assert!(
            lines[0].ends_with(": 5 since start (drop_flow_table_full=5)"),
            "{}",
            lines[0]
        );
        // More within the interval: counted, not logged.
        assert!(w.check(&totals(9), t0 + Duration::from_secs(2)).is_empty());
        assert!(w.check(&totals(12), t0 + Duration::from_secs(5)).is_empty());
        // Once the interval has passed: everything since the last line.
        let lines = w.check(&totals(12), t0 + Duration::from_secs(11));
        assert_eq!(lines.len(), 1);
        assert!(
            lines[0].ends_with(": 7 since the last report (drop_flow_table_full=12)"),
            "{}",
            lines[0]
        );
        // Nothing new: nothing said.
        assert!(w
            .check(&totals(12), t0 + Duration::from_secs(30))
            .is_empty());
    }

    #[test]
    fn every_watched_counter_names_its_limit() {
        for (c, what) in WATCHED {
            assert!(
                what.contains("dataplane.") || what.contains("real"),
                "{}",
                c.name()
            );
            // The key named is one the configuration declares (not a renamed one).
            if let Some((_, rest)) = what.split_once("dataplane.") {
                let key = rest.split([' ', ')']).next().unwrap();
                let key = format!("dataplane.{key}");
                assert!(
                    splicer_config::keys::KEYS.iter().any(|k| k.name() == key),
                    "{}: no key {key}",
                    c.name()
                );
            }
        }
    }
}
