//! `--workers N`: the figures of a run of several workers, and how one invocation's runs
//! are compared (issue 12's "2 workers" row).
//!
//! A scenario that can run on several workers runs three times in the invocation, in
//! this order: on one worker; on N workers with every frame on its owner's queue (a NIC
//! steering by Splicer's own hash: no hand-off); and on N workers with a fraction of
//! the connection directions on another worker's queue (`--handoff-fraction`, by
//! default 1 − 1/N: what a NIC hashing with a key unrelated to Splicer's gives), so
//! that those packets go through the owner's hand-off ring. [`Layout`] is one of these
//! runs; [`Compare`] fills in `scaling` (Mpps over the one-worker run's) and the
//! hand-off's cost per handed-off packet (the busy cycles per packet of the hand-off run
//! less those of the run without, over the fraction handed off; the handing and the
//! owning worker together).

use crate::driver::WorkerSnapshot;
use crate::report::{round, Report};
use serde::Serialize;

/// How many workers a run has and how the generator steers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Layout {
    /// Workers of the run.
    pub workers: usize,
    /// Fraction of connection directions sent to a worker that does not own them.
    pub handoff: f64,
}

impl Layout {
    /// One worker.
    pub const ONE: Layout = Layout {
        workers: 1,
        handoff: 0.0,
    };

    /// The runs of an invocation with `workers` workers and `handoff` (the fraction of
    /// the hand-off run): one run of one worker when `workers` is 1.
    pub fn runs(workers: usize, handoff: f64) -> Vec<Layout> {
        if workers <= 1 {
            return vec![Layout::ONE];
        }
        vec![
            Layout::ONE,
            Layout {
                workers,
                handoff: 0.0,
            },
            Layout { workers, handoff },
        ]
    }
}

/// One worker's figures over the measured interval (`per_worker` in the JSON line).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkerFigures {
    /// The worker's index (its queue; lcore index + 1).
    pub worker: usize,
    /// Packets it received from the generator.
    pub packets: u64,
    /// Packets other workers handed to it.
    pub handed_in: u64,
    /// Packets it handed to their owners.
    pub handed_out: u64,
    /// Millions of packets per second it took in (received and handed in).
    pub mpps: f64,
    /// Its busy cycles per packet taken in (received and handed in), as `show workers`
    /// counts them.
    pub cycles_per_packet: f64,
    /// Fraction of the interval its polls were busy.
    pub busy: f64,
    /// The cycles from taking a burst off its hand-off ring to the pipeline being done
    /// with it, per packet handed in: what the owning worker spends on a handed-in
    /// packet (its tx not included); absent when none was handed in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handed_in_cycles_per_packet: Option<f64>,
}

/// Each worker's figures from its counters over `seconds` (TSC at `tsc_hz`).
pub fn figures(per_worker: &[WorkerSnapshot], seconds: f64, tsc_hz: u64) -> Vec<WorkerFigures> {
    let total = seconds * tsc_hz as f64;
    per_worker
        .iter()
        .enumerate()
        .map(|(w, s)| {
            let taken = s.packets + s.handed_in;
            WorkerFigures {
                worker: w,
                packets: s.packets,
                handed_in: s.handed_in,
                handed_out: s.handed_out,
                mpps: round(
                    if seconds > 0.0 {
                        taken as f64 / seconds / 1e6
                    } else {
                        0.0
                    },
                    3,
                ),
                cycles_per_packet: round(
                    if taken > 0 {
                        s.busy_cycles as f64 / taken as f64
                    } else {
                        0.0
                    },
                    1,
                ),
                busy: round(
                    if total > 0.0 {
                        (s.busy_cycles as f64 / total).min(1.0)
                    } else {
                        0.0
                    },
                    3,
                ),
                handed_in_cycles_per_packet: (s.handed_in > 0)
                    .then(|| round(s.handed_in_cycles as f64 / s.handed_in as f64, 1)),
            }
        })
        .collect()
}

/// Adds a run's layout and its workers' figures to its report.
pub fn describe(r: &mut Report, layout: Layout, per_worker: &[WorkerSnapshot], tsc_hz: u64) {
    let all = WorkerSnapshot::sum(per_worker);
    let figures = figures(per_worker, r.seconds, tsc_hz);
    r.workers = Some(layout.workers);
    r.handoff_fraction = Some(layout.handoff);
    r.handed_off = Some(if all.packets > 0 {
        round(all.handed_in as f64 / all.packets as f64, 4)
    } else {
        0.0
    });
    if !figures.is_empty() {
        r.worker_busy = round(
            figures.iter().map(|f| f.busy).sum::<f64>() / figures.len() as f64,
            3,
        );
    }
    r.per_worker = Some(figures);
}

/// What the runs of one invocation are compared against: the one-worker run and the
/// several-worker run without hand-offs, per scenario.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Compare {
    one_worker_mpps: Option<f64>,
    no_handoff_cycles: Option<f64>,
}

impl Compare {
    /// Fills in `r`'s `scaling` and hand-off cost from the earlier runs, and remembers
    /// what the later ones need.
    pub fn apply(&mut self, r: &mut Report, layout: Layout) {
        if layout.workers == 1 {
            self.one_worker_mpps = Some(r.mpps);
            self.no_handoff_cycles = None;
        } else if let Some(one) = self.one_worker_mpps.filter(|&m| m > 0.0) {
            r.scaling = Some(round(r.mpps / one, 3));
        }
        if layout.workers > 1 && layout.handoff == 0.0 {
            self.no_handoff_cycles = Some(r.cycles_per_packet);
        } else if layout.workers > 1 {
            if let Some(c0) = self.no_handoff_cycles {
                r.no_handoff_cycles_per_packet = Some(c0);
                r.handoff_cycles_per_packet = r
                    .handed_off
                    .filter(|&h| h > 0.0)
                    .map(|h| round((r.cycles_per_packet - c0) / h, 1));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::Measurement;
    use crate::report::{Context, Extras};

    fn report(mpps: f64, cycles: f64) -> Report {
        let packets = (mpps * 1e6) as u64;
        let m = Measurement {
            packets,
            seconds: 1.0,
            worker: WorkerSnapshot {
                packets,
                busy_cycles: (cycles * packets as f64) as u64,
                ..WorkerSnapshot::default()
            },
            verified_total: packets,
        };
        let ctx = Context {
            flows: 1,
            burst: 32,
            frame_bytes: 60,
            inflight: 1,
            hugepages: false,
            tsc_hz: 1_000_000_000,
            dpdk: String::new(),
            cpu: String::new(),
        };
        Report::new("established", &m, &ctx, Some(1.0), &Extras::default())
    }

    #[test]
    fn runs_of_an_invocation() {
        assert_eq!(Layout::runs(1, 0.5), vec![Layout::ONE]);
        let r = Layout::runs(2, 0.5);
        assert_eq!(r.len(), 3);
        assert_eq!((r[1].workers, r[1].handoff), (2, 0.0));
        assert_eq!((r[2].workers, r[2].handoff), (2, 0.5));
    }

    #[test]
    fn scaling_and_handoff_cost_come_from_the_same_invocation() {
        let mut c = Compare::default();
        let mut one = report(1.0, 1000.0);
        c.apply(&mut one, Layout::ONE);
        assert_eq!(one.scaling, None);
        let two = Layout {
            workers: 2,
            handoff: 0.0,
        };
        let steered = [
            WorkerSnapshot {
                packets: 900_000,
                busy_cycles: 900_000_000,
                ..Default::default()
            },
            WorkerSnapshot {
                packets: 900_000,
                busy_cycles: 450_000_000,
                ..Default::default()
            },
        ];
        let mut r0 = report(1.8, 750.0);
        describe(&mut r0, two, &steered, 1_000_000_000);
        c.apply(&mut r0, two);
        assert_eq!(r0.scaling, Some(1.8));
        assert_eq!(r0.handed_off, Some(0.0));
        assert_eq!(r0.handoff_cycles_per_packet, None);
        let f = r0.per_worker.as_ref().unwrap();
        assert_eq!(
            (f[0].cycles_per_packet, f[0].busy, f[1].busy),
            (1000.0, 0.9, 0.45)
        );
        assert_eq!(r0.worker_busy, 0.675);
        assert_eq!(f[0].handed_in_cycles_per_packet, None);
        // Half the packets handed over; 950 cycles a packet against 750 without:
        // 200 more per packet, 400 per handed-off packet.
        let away = Layout {
            workers: 2,
            handoff: 0.5,
        };
        let handed = [
            WorkerSnapshot {
                packets: 800_000,
                busy_cycles: 800_000_000,
                handed_in: 400_000,
                handed_out: 400_000,
                handed_in_cycles: 200_000_000,
                ..Default::default()
            },
            WorkerSnapshot {
                packets: 800_000,
                busy_cycles: 720_000_000,
                handed_in: 400_000,
                handed_out: 400_000,
                ..Default::default()
            },
        ];
        let mut r1 = report(1.6, 950.0);
        describe(&mut r1, away, &handed, 1_000_000_000);
        c.apply(&mut r1, away);
        assert_eq!(r1.handed_off, Some(0.5));
        assert_eq!(r1.scaling, Some(1.6));
        assert_eq!(r1.no_handoff_cycles_per_packet, Some(750.0));
        assert_eq!(r1.handoff_cycles_per_packet, Some(400.0));
        let f = r1.per_worker.as_ref().unwrap();
        assert_eq!(f[0].mpps, 1.2);
        assert_eq!(f[0].handed_in_cycles_per_packet, Some(500.0));
        assert_eq!(f[1].handed_in_cycles_per_packet, Some(0.0));
        let line = r1.json();
        for field in [
            "\"workers\":2",
            "\"scaling\":1.6",
            "\"handoff_cycles_per_packet\":400.0",
        ] {
            assert!(line.contains(field), "{line}");
        }
        // A one-worker invocation's line has none of these fields.
        assert!(!one.json().contains("workers"));
    }
}
