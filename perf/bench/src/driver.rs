//! The two loops every packet scenario runs: the worker's poll loop on its own lcore and
//! the generator's closed loop on the main lcore, with the counters they share.
//!
//! A scenario supplies a [`Forwarder`] (the code under test, run on the worker lcore) and a
//! [`Traffic`] (what the generator sends and how it checks what comes back).
//!
//! The generator keeps a fixed number of packets in flight: it primes the worker with
//! `inflight` packets, then verifies each packet that comes back and refills the same mbuf
//! with the next packet to send. Nothing is allocated or freed per packet on either side,
//! the rings can never overflow (they are larger than the window), and a packet the worker
//! loses shows up as a verification failure (the next packet is not the one expected) or,
//! at the end, as packets that never came back.

use crate::verify::VerifyError;
use crate::BenchError;
use dpdk_bindings::mempool::Mempool;
use dpdk_bindings::{eal, Mbuf, Port};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// What the generator plays: the next packet to send and the check of a returned one.
pub trait Traffic {
    /// Length of the frame the next [`Traffic::fill`] writes.
    fn next_len(&self) -> usize;
    /// Writes the next packet to send into `frame` (exactly [`Traffic::next_len`] bytes).
    fn fill(&mut self, frame: &mut [u8]);
    /// Checks a packet the worker sent back; any difference from what the worker
    /// promised is an error that fails the run.
    fn verify(&mut self, frame: &[u8]) -> Result<(), VerifyError>;
}

/// The code under test, run on the worker lcore for each received burst.
pub trait Forwarder: Send + 'static {
    /// Turns a received burst into the burst to transmit, in place. Packets it refuses
    /// are removed (freed); returns how many. `now` is the TSC at the start of the poll.
    fn forward(&mut self, burst: &mut Vec<Mbuf>, now: u64) -> u64;

    /// Called on every poll of the worker loop, after [`Forwarder::forward`] when
    /// something was received: timers. Packets it originates are appended to `out`.
    /// Returns true when it did work (its cycles then count as busy). The default does
    /// nothing, so the baseline's loop is unchanged.
    #[inline]
    fn poll(&mut self, _now: u64, _out: &mut Vec<Mbuf>) -> bool {
        false
    }
}

/// A value alone on its cache line, so that the worker's counters and the generator's
/// stop flag do not share one.
#[derive(Debug, Default)]
#[repr(align(64))]
struct Line<T>(T);

/// What the worker publishes after each non-empty burst, and the flag that stops it.
#[derive(Debug, Default)]
pub struct WorkerShared {
    stop: Line<AtomicBool>,
    packets: Line<AtomicU64>,
    busy_cycles: AtomicU64,
    dropped: AtomicU64,
}

/// A reading of the worker's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerSnapshot {
    /// Packets received.
    pub packets: u64,
    /// TSC cycles spent in polls that received packets (rx, processing, tx), from the
    /// end of the previous poll.
    pub busy_cycles: u64,
    /// Packets the forwarder refused.
    pub dropped: u64,
}

impl WorkerShared {
    /// Tells the worker loop to return.
    pub fn stop(&self) {
        self.stop.0.store(true, Ordering::Release);
    }

    /// The counters now.
    pub fn snapshot(&self) -> WorkerSnapshot {
        WorkerSnapshot {
            packets: self.packets.0.load(Ordering::Relaxed),
            busy_cycles: self.busy_cycles.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }
}

/// The worker lcore's loop: rx burst → `fwd` → tx burst until every packet is sent, until
/// [`WorkerShared::stop`]. Busy time is measured with one `rdtsc` per poll: a poll that
/// received packets (or whose [`Forwarder::poll`] did work) adds the cycles since the
/// end of the previous poll (its own rx, the processing and the tx); an empty poll adds
/// nothing, so idle spinning while the generator is slower does not count.
pub fn worker_loop<F: Forwarder>(port: Port, burst: usize, fwd: &mut F, shared: &WorkerShared) {
    let mut pkts: Vec<Mbuf> = Vec::with_capacity(burst);
    let (mut packets, mut busy, mut dropped) = (0u64, 0u64, 0u64);
    let mut start = eal::rdtsc();
    while !shared.stop.0.load(Ordering::Relaxed) {
        let n = port.rx_burst(0, &mut pkts, burst);
        if n > 0 {
            dropped += fwd.forward(&mut pkts, start);
        }
        let polled = fwd.poll(start, &mut pkts);
        if n == 0 && !polled {
            start = eal::rdtsc();
            continue;
        }
        while !pkts.is_empty() {
            port.tx_burst(0, &mut pkts);
            if !pkts.is_empty() && shared.stop.0.load(Ordering::Relaxed) {
                pkts.clear();
            }
        }
        let now = eal::rdtsc();
        busy += now.wrapping_sub(start);
        start = now;
        packets += n as u64;
        shared.packets.0.store(packets, Ordering::Relaxed);
        shared.busy_cycles.store(busy, Ordering::Relaxed);
        shared.dropped.store(dropped, Ordering::Relaxed);
    }
}

/// Reads the first byte of every packet of `burst` (and so each mbuf's header) before
/// any of them is worked on. The packets were last written by the other core; the loads
/// are independent of each other, so their cache misses overlap instead of being taken
/// one packet at a time. This is `rte_prefetch0` in DPDK's examples, done with plain
/// loads because the prefetch intrinsic is `unsafe` and this crate has no unsafe code.
#[inline]
pub fn touch(burst: &[Mbuf]) {
    let mut x = 0u8;
    for m in burst {
        x ^= m.data().first().copied().unwrap_or(0);
    }
    std::hint::black_box(x);
}

/// When the measured part of a run ends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Length {
    /// After this many seconds.
    Seconds(f64),
    /// After at least this many verified packets.
    Packets(u64),
}

/// How the generator runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenConfig {
    /// Largest rx burst, on both sides.
    pub burst: usize,
    /// Packets kept in flight.
    pub inflight: usize,
    /// Unmeasured time before the measurement starts (caches, branch predictors, TLB).
    pub warmup: Duration,
    /// Length of the measurement.
    pub length: Length,
    /// How long nothing may come back before the run fails.
    pub idle_timeout: Duration,
}

/// What one run measured, between the end of the warm-up and the end of the measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measurement {
    /// Packets the generator verified in the measured interval.
    pub packets: u64,
    /// Length of the measured interval.
    pub seconds: f64,
    /// The worker's counters over the same interval.
    pub worker: WorkerSnapshot,
    /// Packets verified in the whole run (warm-up and drain included).
    pub verified_total: u64,
}

impl Measurement {
    /// Millions of packets per second through the worker, verified.
    pub fn mpps(&self) -> f64 {
        if self.seconds > 0.0 {
            self.packets as f64 / self.seconds / 1e6
        } else {
            0.0
        }
    }

    /// The worker's busy TSC cycles per packet.
    pub fn cycles_per_packet(&self) -> f64 {
        if self.worker.packets > 0 {
            self.worker.busy_cycles as f64 / self.worker.packets as f64
        } else {
            0.0
        }
    }

    /// Fraction of the measured interval the worker spent on non-empty polls.
    pub fn worker_busy(&self, tsc_hz: u64) -> f64 {
        let total = self.seconds * tsc_hz as f64;
        if total > 0.0 {
            (self.worker.busy_cycles as f64 / total).min(1.0)
        } else {
            0.0
        }
    }
}

/// Sets `m`'s data to `len` bytes and lets `traffic` write the next packet there.
fn refill<T: Traffic>(traffic: &mut T, m: &mut Mbuf) -> Result<(), BenchError> {
    let len = traffic.next_len();
    let have = m.data_len();
    let resized = if have > len {
        m.trim(have - len)
    } else if have < len {
        m.append(len - have).is_some()
    } else {
        true
    };
    let frame = match m.try_data_mut() {
        Some(f) if resized => f,
        _ => {
            return Err(BenchError::Setup(format!(
                "cannot reuse an mbuf for a {len}-byte frame (shared, or too small)"
            )))
        }
    };
    traffic.fill(frame);
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Warmup,
    Measure,
    Drain,
}

/// Sends all of `pkts`, waiting for room; fails after `timeout` cycles without progress.
fn send_all(port: Port, pkts: &mut Vec<Mbuf>, timeout: u64) -> Result<(), BenchError> {
    let mut last = eal::rdtsc();
    while !pkts.is_empty() {
        if port.tx_burst(0, pkts) > 0 {
            last = eal::rdtsc();
        } else if eal::rdtsc().wrapping_sub(last) > timeout {
            return Err(BenchError::Setup(format!(
                "the generator's tx ring stayed full for the idle timeout ({} packets unsent)",
                pkts.len()
            )));
        }
    }
    Ok(())
}

/// The generator's closed loop on `port` (run on the main lcore while the worker loop
/// runs on its own): prime, warm up, measure, then drain until every packet in flight is
/// back and verified.
pub fn generate<T: Traffic>(
    port: Port,
    pool: &Mempool,
    traffic: &mut T,
    cfg: &GenConfig,
    worker: &WorkerShared,
) -> Result<Measurement, BenchError> {
    let hz = eal::tsc_hz();
    let ticks = |d: Duration| (d.as_secs_f64() * hz as f64) as u64;
    let idle = ticks(cfg.idle_timeout);

    let mut tx: Vec<Mbuf> = Vec::with_capacity(cfg.inflight);
    if !pool.alloc_bulk(&mut tx, cfg.inflight) {
        return Err(BenchError::Setup(format!(
            "the mempool cannot supply {} mbufs to prime the worker",
            cfg.inflight
        )));
    }
    for m in tx.iter_mut() {
        refill(traffic, m)?;
    }
    send_all(port, &mut tx, idle)?;

    let mut rx: Vec<Mbuf> = Vec::with_capacity(cfg.burst);
    let mut in_flight = cfg.inflight as u64;
    let mut verified = 0u64;
    let mut phase = Phase::Warmup;
    let start = eal::rdtsc();
    let warm_end = start.wrapping_add(ticks(cfg.warmup));
    let (mut t0, mut v0, mut w0) = (start, 0u64, worker.snapshot());
    let (mut t1, mut v1, mut w1) = (start, 0u64, w0);
    let mut deadline = u64::MAX;
    let mut last_progress = start;
    loop {
        let n = port.rx_burst(0, &mut rx, cfg.burst);
        let now = eal::rdtsc();
        if n == 0 {
            if now.wrapping_sub(last_progress) > idle {
                let w = worker.snapshot();
                return Err(BenchError::Lost(format!(
                    "{in_flight} packets in flight never came back within {:?} (worker received {}, refused {})",
                    cfg.idle_timeout, w.packets, w.dropped
                )));
            }
            continue;
        }
        last_progress = now;
        touch(&rx);
        for m in rx.iter() {
            traffic.verify(m.data()).map_err(BenchError::Verify)?;
        }
        verified += n as u64;
        if phase == Phase::Drain {
            in_flight -= n as u64;
            rx.clear();
            if in_flight == 0 {
                break;
            }
            continue;
        }
        for m in rx.iter_mut() {
            refill(traffic, m)?;
        }
        send_all(port, &mut rx, idle)?;
        match phase {
            Phase::Warmup if now >= warm_end => {
                (t0, v0, w0) = (now, verified, worker.snapshot());
                if let Length::Seconds(s) = cfg.length {
                    deadline = now.saturating_add((s * hz as f64) as u64);
                }
                phase = Phase::Measure;
            }
            Phase::Measure => {
                let done = match cfg.length {
                    Length::Seconds(_) => now >= deadline,
                    Length::Packets(p) => verified - v0 >= p,
                };
                if done {
                    (t1, v1, w1) = (now, verified, worker.snapshot());
                    phase = Phase::Drain;
                }
            }
            _ => {}
        }
    }
    let w = worker.snapshot();
    if w.dropped > 0 {
        return Err(BenchError::Lost(format!(
            "the worker refused {} packets",
            w.dropped
        )));
    }
    Ok(Measurement {
        packets: v1 - v0,
        seconds: t1.wrapping_sub(t0) as f64 / hz as f64,
        worker: WorkerSnapshot {
            packets: w1.packets - w0.packets,
            busy_cycles: w1.busy_cycles - w0.busy_cycles,
            dropped: w1.dropped - w0.dropped,
        },
        verified_total: verified,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measurement_arithmetic() {
        let m = Measurement {
            packets: 10_000_000,
            seconds: 2.0,
            worker: WorkerSnapshot {
                packets: 10_000_000,
                busy_cycles: 400_000_000,
                dropped: 0,
            },
            verified_total: 10_100_000,
        };
        assert!((m.mpps() - 5.0).abs() < 1e-9);
        assert!((m.cycles_per_packet() - 40.0).abs() < 1e-9);
        assert!((m.worker_busy(1_000_000_000) - 0.2).abs() < 1e-9);
        let empty = Measurement {
            packets: 0,
            seconds: 0.0,
            worker: WorkerSnapshot::default(),
            verified_total: 0,
        };
        assert_eq!(
            (
                empty.mpps(),
                empty.cycles_per_packet(),
                empty.worker_busy(1)
            ),
            (0.0, 0.0, 0.0)
        );
    }

    #[test]
    fn shared_counters_sit_on_their_own_lines() {
        assert_eq!(std::mem::align_of::<Line<AtomicBool>>(), 64);
        let s = WorkerShared::default();
        assert_eq!(s.snapshot(), WorkerSnapshot::default());
        s.stop();
        assert!(s.stop.0.load(Ordering::Relaxed));
    }
}
