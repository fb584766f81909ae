//! The generator's loop for the splice scenarios, on the main lcore while the pipeline
//! runs on the worker lcore.
//!
//! Unlike the baseline's closed loop (one packet back, one packet out), a peer may answer
//! a frame with none, one or several: the loop verifies each received frame with
//! [`SpliceTraffic::receive`], writes the answers into mbufs (the received ones first,
//! fresh ones from the pool after), and sends them; what the ring has no room for waits
//! in order for the next round, so the generator never blocks while the worker may be
//! waiting for it to read. The phases: set-up (until the traffic says the measured
//! traffic runs), warm-up, measurement, drain (nothing new starts; everything
//! outstanding must come back).
//!
//! With several workers, the loop polls every worker's queue and puts each frame it
//! sends on the queue [`Steer`] chooses, as a NIC's RSS would; a frame the queue's ring
//! has no room for waits, in order, with the others of its queue.

use super::peers::{Emit, Progress, SpliceTraffic};
use super::steer::Steer;
use crate::driver::{
    self, GenConfig, IdleWatch, Length, Measurement, WorkerShared, WorkerSnapshot,
};
use crate::BenchError;
use dpdk_bindings::mempool::Mempool;
use dpdk_bindings::{eal, Mbuf, Port};
use std::sync::Arc;
use std::time::Duration;

/// Received mbufs kept for the next answers; more are freed.
const MAX_SPARE: usize = 256;

/// Mbufs for the generator's frames: received ones reused, fresh ones from the pool.
struct MbufOut<'a> {
    pool: &'a Mempool,
    spare: Vec<Mbuf>,
    tx: Vec<Mbuf>,
}

impl Emit for MbufOut<'_> {
    #[inline]
    fn frame(&mut self, len: usize) -> Result<&mut [u8], BenchError> {
        let mut m = match self.spare.pop() {
            Some(m) => m,
            None => self.pool.alloc().ok_or_else(|| {
                BenchError::Setup(format!(
                    "the mempool is exhausted ({} in use): more packets in flight than the bed was sized for",
                    self.pool.in_use()
                ))
            })?,
        };
        let have = m.data_len();
        let ok = if have > len {
            m.trim(have - len)
        } else if have < len {
            m.append(len - have).is_some()
        } else {
            true
        };
        if !ok || !m.is_writable() {
            return Err(BenchError::Setup(format!(
                "cannot make a writable {len}-byte frame from an mbuf"
            )));
        }
        self.tx.push(m);
        Ok(self.tx.last_mut().expect("just pushed").data_mut())
    }
}

/// Moves the frames of `tx` to the queues [`Steer`] chooses; frames of no flow (ARP) to
/// `arp_queue`.
fn route(tx: &mut Vec<Mbuf>, pending: &mut [Vec<Mbuf>], steer: Steer, arp_queue: usize) {
    for m in tx.drain(..) {
        let q = steer.queue(m.data()).unwrap_or(arp_queue);
        pending[q].push(m);
    }
}

/// What a splice run measured besides the [`Measurement`].
#[derive(Debug, Clone, PartialEq)]
pub struct SpliceMeasurement {
    /// Packets, worker counters and interval, as for the baseline (with several
    /// workers: their counters summed).
    pub measurement: Measurement,
    /// Each worker's counters over the measured interval.
    pub per_worker: Vec<WorkerSnapshot>,
    /// Requests completed in the measured interval.
    pub requests: u64,
    /// From the start to the measured traffic running (flows spliced, clients started).
    pub setup_seconds: f64,
    /// What `at_setup` returned when the set-up was done.
    pub at_setup: u64,
    /// The longest time either lcore was away or busy at once, over the whole run.
    pub longest_stall_ms: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Setup,
    Warmup,
    Measure,
    Drain,
}

/// Runs `traffic` on `port` until the measurement is over and everything outstanding is
/// back. `at_setup` is called once, the moment the set-up is done (the scenario reads
/// the process's resident memory there).
/// `workers` are the counters of every worker (one per queue of `port`); `steer`
/// chooses each frame's queue.
pub fn generate(
    port: Port,
    pool: &Mempool,
    traffic: &mut SpliceTraffic,
    cfg: &GenConfig,
    workers: &[Arc<WorkerShared>],
    steer: Steer,
    at_setup: impl FnMut() -> u64,
) -> Result<SpliceMeasurement, BenchError> {
    let mut longest = 0u64;
    let all = Workers(workers);
    let r = run(
        port,
        pool,
        traffic,
        cfg,
        &all,
        steer,
        at_setup,
        &mut longest,
    );
    if r.is_err() {
        // Whatever failed, how much the machine interfered.
        eprintln!(
            "splicer-bench: longest lcore stall before the failure: {:.1} ms",
            longest.max(all.longest_gap()) as f64 * 1e3 / eal::tsc_hz() as f64
        );
    }
    r
}

/// The workers' counters together.
struct Workers<'a>(&'a [Arc<WorkerShared>]);

impl Workers<'_> {
    fn each(&self) -> Vec<WorkerSnapshot> {
        self.0.iter().map(|w| w.snapshot()).collect()
    }

    fn snapshot(&self) -> WorkerSnapshot {
        WorkerSnapshot::sum(&self.each())
    }

    fn longest_gap(&self) -> u64 {
        self.0.iter().map(|w| w.longest_gap()).max().unwrap_or(0)
    }

    /// Changes when any worker polled.
    fn polls(&self) -> u64 {
        self.0.iter().map(|w| w.polls()).sum()
    }
}

#[allow(clippy::too_many_arguments)]
fn run(
    port: Port,
    pool: &Mempool,
    traffic: &mut SpliceTraffic,
    cfg: &GenConfig,
    worker: &Workers<'_>,
    steer: Steer,
    mut at_setup: impl FnMut() -> u64,
    longest_gap: &mut u64,
) -> Result<SpliceMeasurement, BenchError> {
    let hz = eal::tsc_hz();
    let ticks = |d: Duration| (d.as_secs_f64() * hz as f64) as u64;
    let idle = ticks(cfg.idle_timeout);
    let per_ms = (hz / 1000).max(1);
    let mut out = MbufOut {
        pool,
        spare: Vec::with_capacity(MAX_SPARE + cfg.burst),
        tx: Vec::with_capacity(4096),
    };
    let mut rx: Vec<Mbuf> = Vec::with_capacity(cfg.burst);
    let queues = steer.workers();
    // Frames waiting for room on each worker's queue, in order.
    let yield_idle = worker.0.iter().any(|w| w.yields());
    let mut pending: Vec<Vec<Mbuf>> = (0..queues).map(|_| Vec::with_capacity(4096)).collect();
    let start = eal::rdtsc();
    let mut phase = Phase::Setup;
    let (mut setup_seconds, mut setup_value) = (0.0, 0);
    let mut warm_end = u64::MAX;
    let mut deadline = u64::MAX;
    let (mut t0, mut p0, mut w0) = (start, Progress::default(), Vec::new());
    let (mut t1, mut p1, mut w1) = (start, Progress::default(), Vec::new());
    let mut watch = IdleWatch::new(idle, hz, start);
    let mut prev = start;
    loop {
        let now = eal::rdtsc();
        // How long either lcore was away at once (preempted, on a shared machine):
        // the peers accept Splicer's retransmissions only after a stall that explains
        // them (`SpliceTraffic::retransmits_seen`).
        *longest_gap = (*longest_gap).max(now.wrapping_sub(prev));
        prev = now;
        traffic.set_stall((*longest_gap).max(worker.longest_gap()) / per_ms);
        traffic.tick(now.wrapping_sub(start) / per_ms, &mut out)?;
        traffic.pump(&mut out)?;
        if queues > 1 {
            // What the peers originated (ARP requests, new connections' first segments).
            route(&mut out.tx, &mut pending, steer, 0);
        }
        let mut n = 0;
        for q in 0..queues {
            let got = port.rx_burst(q as u16, &mut rx, cfg.burst);
            if got > 0 {
                n += got;
                watch.progress(now);
                driver::touch(&rx);
                for m in rx.drain(..) {
                    traffic.receive(m.data(), &mut out)?;
                    out.spare.push(m);
                }
                out.spare.truncate(MAX_SPARE);
                if queues > 1 {
                    // The answers: an ARP reply to the worker that asked.
                    route(&mut out.tx, &mut pending, steer, q);
                }
            }
        }
        if queues == 1 {
            if !out.tx.is_empty() && port.tx_burst(0, &mut out.tx) > 0 {
                watch.progress(now);
            }
        } else {
            for (q, p) in pending.iter_mut().enumerate() {
                if !p.is_empty() && port.tx_burst(q as u16, p) > 0 {
                    watch.progress(now);
                }
            }
        }
        match phase {
            Phase::Setup if traffic.setup_done() => {
                setup_seconds = now.wrapping_sub(start) as f64 / hz as f64;
                setup_value = at_setup();
                warm_end = eal::rdtsc().saturating_add(ticks(cfg.warmup));
                phase = Phase::Warmup;
            }
            Phase::Warmup if now >= warm_end => {
                (t0, p0, w0) = (now, traffic.progress(), worker.each());
                if let Length::Seconds(s) = cfg.length {
                    deadline = now.saturating_add((s * hz as f64) as u64);
                }
                phase = Phase::Measure;
            }
            Phase::Measure => {
                let p = traffic.progress();
                let done = match cfg.length {
                    Length::Seconds(_) => now >= deadline,
                    Length::Packets(n) => p.verified - p0.verified >= n,
                };
                if done {
                    (t1, p1, w1) = (now, p, worker.each());
                    traffic.stop();
                    phase = Phase::Drain;
                }
            }
            Phase::Drain
                if traffic.finished() && out.tx.is_empty() && pending.iter().all(Vec::is_empty) =>
            {
                break
            }
            _ => {}
        }
        if n == 0 && yield_idle && out.tx.is_empty() && pending.iter().all(Vec::is_empty) {
            // A worker shares this CPU (`WorkerShared::sharing`).
            std::thread::yield_now();
        }
        if n == 0 && watch.expired(now, worker.polls()) {
            let w = worker.snapshot();
            return Err(BenchError::Lost(format!(
                "nothing came back for {:?} of both lcores running ({:.1} s in all; {:?} phase): {}; the worker received {} packets; longest lcore stall {:.1} ms",
                cfg.idle_timeout,
                watch.waited(now).0 as f64 / hz as f64,
                phase,
                traffic.outstanding(),
                w.packets,
                (*longest_gap).max(worker.longest_gap()) as f64 / per_ms as f64
            )));
        }
    }
    let per_worker: Vec<WorkerSnapshot> = w1.iter().zip(&w0).map(|(b, a)| b.since(a)).collect();
    Ok(SpliceMeasurement {
        measurement: Measurement {
            packets: p1.verified - p0.verified,
            seconds: t1.wrapping_sub(t0) as f64 / hz as f64,
            worker: WorkerSnapshot::sum(&per_worker),
            verified_total: traffic.progress().verified,
        },
        per_worker,
        requests: p1.requests - p0.requests,
        setup_seconds,
        at_setup: setup_value,
        longest_stall_ms: (*longest_gap).max(worker.longest_gap()) as f64 / per_ms as f64,
    })
}
