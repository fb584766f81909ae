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
    /// are removed (freed); returns how many. `now` is the TSC read once the burst had
    /// arrived (see [`worker_loop`]).
    fn forward(&mut self, burst: &mut Vec<Mbuf>, now: u64) -> u64;

    /// Called on every poll of the worker loop, after [`Forwarder::forward`] when
    /// something was received: timers. Packets it originates are appended to `out`.
    /// Returns true when it did work (its cycles then count as busy). The default does
    /// nothing, so the baseline's loop is unchanged.
    #[inline]
    fn poll(&mut self, _now: u64, _out: &mut Vec<Mbuf>) -> bool {
        false
    }

    /// Whether [`Forwarder::forward`] and [`Forwarder::poll`] use their `now`: when
    /// not (the baseline), the worker loop does not read the clock for them.
    const USES_CLOCK: bool = true;

    /// Packets handed in by other workers and handed out to them so far, and the
    /// cycles spent on those handed in (several workers only; see `splice::engine`):
    /// published with the other counters.
    #[inline]
    fn handoffs(&self) -> Handoffs {
        Handoffs::default()
    }
}

/// What [`Forwarder::handoffs`] reports: totals since the worker started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Handoffs {
    /// Packets taken from the worker's hand-off ring.
    pub handed_in: u64,
    /// Packets the worker put on other workers' rings.
    pub handed_out: u64,
    /// TSC cycles from taking a burst off the hand-off ring to the pipeline being done
    /// with it (two `rdtsc` per non-empty burst).
    pub handed_in_cycles: u64,
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
    /// The longest time between two consecutive polls' TSC readings: how long the
    /// worker lcore was away (preempted, on a shared machine) or busy at once.
    longest_gap: AtomicU64,
    /// Polls so far: the generator tells a worker that polls and sends nothing from
    /// one that is not running ([`IdleWatch`]).
    polls: Line<AtomicU64>,
    /// [`Forwarder::handoffs`]: packets handed in, handed out.
    handed_in: AtomicU64,
    handed_out: AtomicU64,
    handed_in_cycles: AtomicU64,
    /// The worker shares its CPU with the generator or another worker: an idle poll
    /// yields the CPU ([`WorkerShared::sharing`]).
    yield_idle: bool,
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
    /// Packets other workers handed to this one (several workers only).
    pub handed_in: u64,
    /// Packets this worker handed to their owners (several workers only).
    pub handed_out: u64,
    /// Busy cycles spent on the packets handed in (part of `busy_cycles`).
    pub handed_in_cycles: u64,
}

impl WorkerSnapshot {
    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &WorkerSnapshot) -> WorkerSnapshot {
        WorkerSnapshot {
            packets: self.packets - earlier.packets,
            busy_cycles: self.busy_cycles - earlier.busy_cycles,
            dropped: self.dropped - earlier.dropped,
            handed_in: self.handed_in - earlier.handed_in,
            handed_out: self.handed_out - earlier.handed_out,
            handed_in_cycles: self.handed_in_cycles - earlier.handed_in_cycles,
        }
    }

    /// The sum of several workers' readings.
    pub fn sum(all: &[WorkerSnapshot]) -> WorkerSnapshot {
        all.iter()
            .fold(WorkerSnapshot::default(), |a, w| WorkerSnapshot {
                packets: a.packets + w.packets,
                busy_cycles: a.busy_cycles + w.busy_cycles,
                dropped: a.dropped + w.dropped,
                handed_in: a.handed_in + w.handed_in,
                handed_out: a.handed_out + w.handed_out,
                handed_in_cycles: a.handed_in_cycles + w.handed_in_cycles,
            })
    }
}

impl WorkerShared {
    /// The counters of a worker that shares its CPU with another busy-polling thread
    /// (the generator, or another worker: `--workers 2` on a 2-CPU machine). Its idle
    /// polls then yield the CPU (`sched_yield`), and so does the generator's, when
    /// it shares: two threads spinning on one CPU otherwise hand over only when the
    /// kernel's time slice (milliseconds) runs out, and every packet between them waits
    /// for it: 0.02 Mpps instead of 0.2 measured. The yield is outside the busy cycles.
    pub fn sharing(yield_idle: bool) -> WorkerShared {
        WorkerShared {
            yield_idle,
            ..WorkerShared::default()
        }
    }

    /// Whether the worker yields its CPU when idle.
    pub fn yields(&self) -> bool {
        self.yield_idle
    }

    /// Tells the worker loop to return.
    pub fn stop(&self) {
        self.stop.0.store(true, Ordering::Release);
    }

    /// The longest gap between two consecutive polls of the worker so far, in TSC
    /// cycles.
    pub fn longest_gap(&self) -> u64 {
        self.longest_gap.load(Ordering::Relaxed)
    }

    /// The worker's polls so far.
    pub fn polls(&self) -> u64 {
        self.polls.0.load(Ordering::Relaxed)
    }

    /// The counters now.
    pub fn snapshot(&self) -> WorkerSnapshot {
        WorkerSnapshot {
            packets: self.packets.0.load(Ordering::Relaxed),
            busy_cycles: self.busy_cycles.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            handed_in: self.handed_in.load(Ordering::Relaxed),
            handed_out: self.handed_out.load(Ordering::Relaxed),
            handed_in_cycles: self.handed_in_cycles.load(Ordering::Relaxed),
        }
    }
}

/// The worker lcore's loop: rx burst → `fwd` → tx burst until every packet is sent, until
/// [`WorkerShared::stop`]. Busy time is measured with one `rdtsc` per poll: a poll that
/// received packets (or whose [`Forwarder::poll`] did work) adds the cycles since the
/// end of the previous poll (its own rx, the processing and the tx); an empty poll adds
/// nothing, so idle spinning while the generator is slower does not count.
///
/// The clock the forwarder gets for a burst is read after the burst arrived, not the
/// reading that started the poll: on a shared machine the lcore can be preempted
/// between the two for tens of milliseconds while the generator keeps sending, and
/// a clock older than the frames it is given makes Splicer over-estimate a peer's
/// clock (its latest TSval plus the time since it "arrived"): the TSecr of a splice's
/// first response segment then echoes a time the client has not reached yet. That was
/// the "TCP options not negotiated" failure of `established` on a loaded machine.
/// One more `rdtsc` per non-empty poll.
///
/// `queue` is the worker's rx and tx queue of `port` (its index among several workers).
pub fn worker_loop<F: Forwarder>(
    port: Port,
    queue: u16,
    burst: usize,
    fwd: &mut F,
    shared: &WorkerShared,
) {
    let mut pkts: Vec<Mbuf> = Vec::with_capacity(burst);
    let (mut packets, mut busy, mut dropped) = (0u64, 0u64, 0u64);
    let mut start = eal::rdtsc();
    let (mut longest_gap, mut polls) = (0u64, 0u64);
    while !shared.stop.0.load(Ordering::Relaxed) {
        let n = port.rx_burst(queue, &mut pkts, burst);
        let now = if n > 0 && F::USES_CLOCK {
            eal::rdtsc()
        } else {
            start
        };
        if n > 0 {
            dropped += fwd.forward(&mut pkts, now);
        }
        let polled = fwd.poll(now, &mut pkts);
        polls += 1;
        shared.polls.0.store(polls, Ordering::Relaxed);
        if n == 0 && !polled {
            if shared.yield_idle {
                // Sharing a CPU: let the other thread run (not counted as busy).
                std::thread::yield_now();
            }
            let t = eal::rdtsc();
            if t.wrapping_sub(start) > longest_gap {
                longest_gap = t.wrapping_sub(start);
                shared.longest_gap.store(longest_gap, Ordering::Relaxed);
            }
            start = t;
            continue;
        }
        while !pkts.is_empty() {
            port.tx_burst(queue, &mut pkts);
            if !pkts.is_empty() && shared.stop.0.load(Ordering::Relaxed) {
                pkts.clear();
            }
        }
        let now = eal::rdtsc();
        if now.wrapping_sub(start) > longest_gap {
            longest_gap = now.wrapping_sub(start);
            shared.longest_gap.store(longest_gap, Ordering::Relaxed);
        }
        busy += now.wrapping_sub(start);
        start = now;
        packets += n as u64;
        shared.packets.0.store(packets, Ordering::Relaxed);
        shared.busy_cycles.store(busy, Ordering::Relaxed);
        shared.dropped.store(dropped, Ordering::Relaxed);
        let h = fwd.handoffs();
        shared.handed_in.store(h.handed_in, Ordering::Relaxed);
        shared.handed_out.store(h.handed_out, Ordering::Relaxed);
        shared
            .handed_in_cycles
            .store(h.handed_in_cycles, Ordering::Relaxed);
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

/// The generator's watch for a worker that sends nothing back: it counts only the time
/// both lcores were running (rounds of the generator less than [`IdleWatch::AWAY`]
/// apart, during which the worker polled), so that neither lcore's preemption on a
/// loaded machine (stalls of 1-2 s were seen on the shared VM) passes for a lost
/// packet. A worker that stops polling altogether fails after [`IdleWatch::HARD`].
#[derive(Debug, Clone, Copy)]
pub struct IdleWatch {
    timeout: u64,
    hard: u64,
    away: u64,
    last_progress: u64,
    running: u64,
    prev: u64,
    polls: u64,
}

impl IdleWatch {
    /// A round gap longer than this means the generator itself was away.
    pub const AWAY: Duration = Duration::from_millis(20);
    /// Nothing back for this long fails the run, however little either lcore ran.
    pub const HARD: Duration = Duration::from_secs(60);

    /// A watch failing after `timeout` cycles of running without progress; `hz` is
    /// the TSC rate, `now` the TSC.
    pub fn new(timeout: u64, hz: u64, now: u64) -> IdleWatch {
        let ticks = |d: Duration| (d.as_secs_f64() * hz as f64) as u64;
        IdleWatch {
            timeout,
            hard: ticks(Self::HARD).max(timeout),
            away: ticks(Self::AWAY),
            last_progress: now,
            running: 0,
            prev: now,
            polls: 0,
        }
    }

    /// Something came back (or went out) at `now`.
    #[inline]
    pub fn progress(&mut self, now: u64) {
        self.last_progress = now;
        self.running = 0;
    }

    /// A round of the generator at `now` without progress, `polls` being the
    /// worker's poll count ([`WorkerShared::polls`]): whether the run has waited too long.
    pub fn expired(&mut self, now: u64, polls: u64) -> bool {
        let step = now.wrapping_sub(self.prev);
        if step < self.away && polls != self.polls {
            self.running += step;
        }
        self.prev = now;
        self.polls = polls;
        self.running > self.timeout || now.wrapping_sub(self.last_progress) > self.hard
    }

    /// For the failure message: cycles since the last progress, and how many of them
    /// both lcores were running.
    pub fn waited(&self, now: u64) -> (u64, u64) {
        (now.wrapping_sub(self.last_progress), self.running)
    }
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
    let mut watch = IdleWatch::new(idle, hz, start);
    loop {
        // The clock is read before polling: a generator preempted between an empty
        // poll and the reading would otherwise take its own absence for the worker's
        // and fail a run whose packets were waiting in the ring.
        let now = eal::rdtsc();
        let n = port.rx_burst(0, &mut rx, cfg.burst);
        if n == 0 {
            if watch.expired(now, worker.polls()) {
                let w = worker.snapshot();
                let (waited, _) = watch.waited(now);
                return Err(BenchError::Lost(format!(
                    "{in_flight} packets in flight never came back within {:?} of both lcores running ({:.1} s since the last, worker received {}, refused {}, its longest stall {:.1} ms)",
                    cfg.idle_timeout,
                    waited as f64 / hz as f64,
                    w.packets,
                    w.dropped,
                    worker.longest_gap() as f64 * 1e3 / hz as f64
                )));
            }
            continue;
        }
        watch.progress(now);
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
        worker: w1.since(&w0),
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
                ..WorkerSnapshot::default()
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
    fn idle_watch_counts_only_time_both_lcores_ran() {
        // 1 kHz TSC: a cycle is a millisecond; timeout 100 ms, AWAY 20 ms.
        let mut w = IdleWatch::new(100, 1000, 0);
        let mut polls = 0;
        // The worker away (its poll count still): 10 s without a failure.
        for t in (10..10_000).step_by(10) {
            assert!(!w.expired(t, polls), "{t}");
        }
        // The generator away (rounds 500 ms apart), the worker polling: no failure.
        let mut t = 10_000;
        for _ in 0..10 {
            t += 500;
            polls += 1;
            assert!(!w.expired(t, polls), "{t}");
        }
        // Both running, nothing back: fails once 100 ms of it have passed.
        let start = t;
        loop {
            t += 10;
            polls += 1;
            if w.expired(t, polls) {
                break;
            }
        }
        assert_eq!(t - start, 110);
        // Progress starts the count over; a worker that never polls fails at HARD.
        w.progress(t);
        assert!(!w.expired(t + 59_000, polls));
        assert!(w.expired(t + 60_001, polls));
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
