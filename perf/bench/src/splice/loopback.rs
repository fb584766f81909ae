//! The splice scenarios without DPDK: the same generator ([`SpliceTraffic`]) and the same
//! pipeline, on `Vec<u8>` packets in one thread, with a simulated clock.
//!
//! The unit tests run every scenario through it (no EAL, no root); `examples/splice_loop`
//! runs it under `valgrind --tool=callgrind` to count the pipeline's instructions per
//! packet; and a failing packet sequence can be replayed here step by step.

use super::peers::{Config, SpliceTraffic};
use super::{settings, INSIDE_MAC};
use crate::BenchError;
use splicer_pipeline::access::AccessRing;
use splicer_pipeline::counters::Snapshot;
use splicer_pipeline::{NeighbourUpdate, Pipeline, Sink, WorkerCounters};
use std::sync::Arc;

/// Clock ticks per millisecond of the simulated clock (a tick is a microsecond).
pub const TICKS_PER_MS: u64 = 1000;

#[derive(Default)]
struct VecSink {
    out: Vec<Vec<u8>>,
}

impl Sink<Vec<u8>> for VecSink {
    fn transmit(&mut self, _port: u16, pkt: Vec<u8>) {
        self.out.push(pkt);
    }
    fn handoff(&mut self, _worker: usize, _pkt: Vec<u8>) {}
    fn discard(&mut self, _pkt: Vec<u8>) {}
    fn alloc(&mut self) -> Option<Vec<u8>> {
        Some(Vec::with_capacity(128))
    }
    fn publish_neighbour(&mut self, _update: NeighbourUpdate) {}
}

/// A generator and a pipeline wired back to back.
pub struct Loopback {
    /// The generator.
    pub traffic: SpliceTraffic,
    pipeline: Pipeline<Vec<u8>>,
    counters: Arc<WorkerCounters>,
    sink: VecSink,
    to_worker: Vec<Vec<u8>>,
    now: u64,
    next_timer: u64,
    /// Frames the generator sent and the worker sent, so far.
    pub frames: (u64, u64),
    /// Wall-clock time spent in the pipeline (receive and timers), nanoseconds.
    pub pipeline_ns: u64,
    /// Extra work per frame given to the pipeline, in units of 4 instructions,
    /// done in [`Loopback::pipeline_round`]: a deliberately slowed worker, to show that
    /// the instruction-count gate (`perf/gate.sh`) fails. 0 (the default): none. Only
    /// this loopback has it; the pipeline and the real worker know nothing of it.
    pub slowdown: u64,
    /// The access log's ring when it is on ([`Loopback::access_log`]): emptied every
    /// round outside [`Loopback::pipeline_round`], as the control core would.
    access: Option<Arc<AccessRing>>,
    /// Access log records taken from the ring so far.
    pub access_records: u64,
}

impl Loopback {
    /// `cfg`'s generator and a pipeline for it, `max_flows` connections at most.
    pub fn new(cfg: Config, max_flows: usize) -> Loopback {
        let reals = usize::from(cfg.farm.reals);
        let topology = Arc::new(cfg.farm.topology());
        let counters = Arc::new(WorkerCounters::with_reals(2, reals));
        let pipeline = Pipeline::new(
            settings(TICKS_PER_MS * 1000, max_flows, 0x5eed),
            topology,
            counters.clone(),
        );
        Loopback {
            traffic: SpliceTraffic::new(cfg),
            pipeline,
            counters,
            sink: VecSink::default(),
            to_worker: Vec::new(),
            now: 1,
            next_timer: 0,
            frames: (0, 0),
            pipeline_ns: 0,
            slowdown: 0,
            access: None,
            access_records: 0,
        }
    }

    /// Turns the pipeline's access log on (a ring of `ring_size` records, every request
    /// kept), to measure what it costs the worker.
    pub fn access_log(&mut self, ring_size: usize) {
        let ring = AccessRing::new(ring_size);
        self.pipeline.set_access_log(ring.clone(), 1, ring_size);
        self.access = Some(ring);
    }

    /// The pipeline's counters.
    pub fn counters(&self) -> Snapshot {
        self.counters.snapshot()
    }

    /// One round: the generator's periodic work and what it may start, everything it has
    /// to send through the pipeline, the pipeline's timers when due, everything the
    /// pipeline sent back through the generator; then the clock advances by `tick`.
    pub fn step(&mut self, tick: u64) -> Result<(), BenchError> {
        self.traffic
            .tick(self.now / TICKS_PER_MS, &mut self.to_worker)?;
        self.traffic.pump(&mut self.to_worker)?;
        let started = std::time::Instant::now();
        self.pipeline_round();
        self.pipeline_ns += started.elapsed().as_nanos() as u64;
        if let Some(ring) = &self.access {
            while ring.pop().is_some() {
                self.access_records += 1;
            }
        }
        for f in std::mem::take(&mut self.sink.out) {
            self.frames.1 += 1;
            self.traffic.receive(&f, &mut self.to_worker)?;
        }
        self.now += tick;
        Ok(())
    }

    /// The worker's share of a round, kept out of line so that a profile shows it as
    /// one function (`Loopback::pipeline_round`): every frame the generator sent into
    /// `Pipeline::receive_burst` (as the worker does; a `Vec<u8>` frame has no prefetch,
    /// so only the instructions of the hint passes show), `Pipeline::poll_timers` when a
    /// millisecond has passed.
    #[inline(never)]
    fn pipeline_round(&mut self) {
        if self.slowdown > 0 {
            burn(self.slowdown * self.to_worker.len() as u64);
        }
        self.frames.0 += self.to_worker.len() as u64;
        let port_of = |f: &Vec<u8>| u16::from(f.get(..6) == Some(&INSIDE_MAC[..]));
        self.pipeline
            .receive_burst(&mut self.to_worker, port_of, self.now, &mut self.sink);
        if self.now >= self.next_timer {
            self.next_timer = self.now + TICKS_PER_MS;
            self.pipeline.poll_timers(self.now, &mut self.sink);
        }
    }

    /// Steps until `done` holds; fails after `max_steps`.
    pub fn run_until(
        &mut self,
        mut done: impl FnMut(&SpliceTraffic) -> bool,
        max_steps: u64,
    ) -> Result<(), BenchError> {
        for _ in 0..max_steps {
            if done(&self.traffic) {
                return Ok(());
            }
            self.step(1)?;
        }
        Err(BenchError::Lost(format!(
            "not done after {max_steps} steps: {}; pipeline: {}",
            self.traffic.outstanding(),
            nonzero(&self.counters())
        )))
    }
}

/// Work the optimiser cannot remove: `units` rounds of a loop of 4 instructions (`black_box` keeps each round).
#[inline(never)]
fn burn(units: u64) {
    for i in 0..units {
        std::hint::black_box(i);
    }
}

/// The counters that are not zero, `name=value` separated by spaces.
pub fn nonzero(s: &Snapshot) -> String {
    s.iter()
        .filter(|&(_, v)| v > 0)
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::super::peers::{Mode, ARP_REFRESH_MS};
    use super::super::FarmSpec;
    use super::*;

    fn drops(s: &Snapshot) -> Vec<String> {
        s.iter()
            .filter(|&(k, v)| v > 0 && k.starts_with("drop_"))
            .map(|(k, v)| format!("{k}={v}"))
            .collect()
    }

    fn run(cfg: Config, requests: u64) -> Loopback {
        let mut lb = Loopback::new(cfg, 65_536);
        lb.run_until(|t| t.progress().requests >= requests, 200_000)
            .unwrap_or_else(|e| panic!("{e}"));
        lb.traffic.stop();
        lb.run_until(|t| t.finished(), 200_000)
            .unwrap_or_else(|e| panic!("{e}"));
        let c = lb.counters();
        assert!(drops(&c).is_empty(), "{}", nonzero(&c));
        lb
    }

    #[test]
    fn lifecycle_requests_complete_and_verify() {
        let lb = run(
            Config {
                mode: Mode::Lifecycle,
                flows: 8,
                inflight: 0,
                payload: 100,
                farm: FarmSpec::all(4, 2, 64),
                setup_window: 0,
                arp_refresh_ms: ARP_REFRESH_MS,
                linux_options: false,
            },
            300,
        );
        let c = lb.counters();
        assert!(
            c.get(splicer_pipeline::Counter::PoolReuses) > 0,
            "{}",
            nonzero(&c)
        );
        assert!(lb.traffic.per_real().iter().all(|&n| n > 0));
    }

    #[test]
    fn keepalive_requests_follow_the_path_rule() {
        let farm = FarmSpec {
            rules: vec![("/img/", vec![0, 1])],
            bind: vec![2, 3],
            ..FarmSpec::all(4, 2, 64)
        };
        let lb = run(
            Config {
                mode: Mode::Keepalive { requests: 7 },
                flows: 6,
                inflight: 0,
                payload: 1000,
                farm,
                setup_window: 0,
                arp_refresh_ms: ARP_REFRESH_MS,
                linux_options: false,
            },
            200,
        );
        assert!(lb.traffic.per_real().iter().all(|&n| n > 0));
    }

    fn pipelined(depth: u32, clients: u32, requests: u64) -> Loopback {
        let farm = FarmSpec {
            rules: vec![("/r0/", vec![0]), ("/r1/", vec![1])],
            bind: vec![2],
            max_held: 4096,
            ..FarmSpec::all(3, (clients * depth.div_ceil(3) + 4) as u16, 1024)
        };
        run(
            Config {
                mode: Mode::Pipelined { depth },
                flows: clients,
                inflight: 0,
                payload: 100,
                farm,
                setup_window: 0,
                arp_refresh_ms: ARP_REFRESH_MS,
                linux_options: false,
            },
            requests,
        )
    }

    #[test]
    fn pipelined_requests_go_out_in_parallel_and_come_back_in_order() {
        for depth in [1, 8, 32] {
            let lb = pipelined(depth, 4, 2000);
            let c = lb.counters();
            assert!(lb.traffic.per_real().iter().all(|&n| n > 0));
            let seen = lb.traffic.pipeline_seen();
            if depth > 1 {
                // (Held segments are rare here: a response whose turn comes before its
                // server answers, as it does when the one before is sent whole, is
                // sent on at once.)
                assert!(
                    c.get(splicer_pipeline::Counter::PipelinedDispatched) > 0
                        && c.get(splicer_pipeline::Counter::PipelinedPromoted) > 0
                        && seen.ahead > 0,
                    "depth {depth}: {seen:?} {}",
                    nonzero(&c)
                );
            }
        }
    }

    #[test]
    fn established_with_linux_options_streams_with_timestamps() {
        let mut lb = Loopback::new(
            Config {
                mode: Mode::Established,
                flows: 200,
                inflight: 64,
                payload: 6,
                farm: FarmSpec::all(4, 4, 1024),
                setup_window: 32,
                arp_refresh_ms: ARP_REFRESH_MS,
                linux_options: true,
            },
            65_536,
        );
        lb.run_until(|t| t.setup_done(), 100_000).unwrap();
        let at_setup = lb.traffic.progress().verified;
        lb.run_until(|t| t.progress().verified >= at_setup + 5_000, 100_000)
            .unwrap();
        // Every data frame carries the timestamps option: 54 + 12 + 6 bytes.
        lb.traffic.pump(&mut lb.to_worker).unwrap();
        lb.pipeline_round();
        assert!(!lb.sink.out.is_empty());
        assert!(
            lb.sink.out.iter().all(|f| f.len() == 72),
            "frames without timestamps"
        );
        for f in std::mem::take(&mut lb.sink.out) {
            lb.traffic.receive(&f, &mut lb.to_worker).unwrap();
        }
        lb.traffic.stop();
        lb.run_until(|t| t.finished(), 10_000).unwrap();
        let c = lb.counters();
        assert!(drops(&c).is_empty(), "{}", nonzero(&c));
        assert!(c.get(splicer_pipeline::Counter::SplicedUp) >= 2_000);
    }

    /// Splicer's own segments delivered twice to the peers, as when its timer fires
    /// before their answer reaches it: a failure, unless a stall of an lcore long
    /// enough to explain it was seen; then accepted and counted.
    #[test]
    fn copies_of_splicers_segments_are_excused_only_by_a_stall() {
        // (what the copy is, whether a frame is one).
        type Kind = (&'static str, fn(&[u8]) -> bool);
        let kinds: [Kind; 3] = [
            ("SYN-ACK to a client", |f| f[47] == 0x12),
            ("SYN to a server", |f| f[47] == 0x02),
            ("request head to a server", |f| {
                f[..6] != super::super::GATEWAY_MAC && f.windows(5).any(|w| w == b"POST ")
            }),
        ];
        for (what, is_it) in kinds {
            for stall in [0, 600] {
                let mut lb = Loopback::new(
                    Config {
                        mode: Mode::Established,
                        flows: 4,
                        inflight: 4,
                        payload: 6,
                        farm: FarmSpec::all(4, 1, 1024),
                        setup_window: 4,
                        arp_refresh_ms: ARP_REFRESH_MS,
                        linux_options: true,
                    },
                    65_536,
                );
                lb.traffic.set_stall(stall);
                let mut second = None;
                for _ in 0..1000 {
                    lb.traffic
                        .tick(lb.now / TICKS_PER_MS, &mut lb.to_worker)
                        .unwrap();
                    lb.traffic.pump(&mut lb.to_worker).unwrap();
                    lb.pipeline_round();
                    for f in std::mem::take(&mut lb.sink.out) {
                        lb.traffic.receive(&f, &mut lb.to_worker).unwrap();
                        if second.is_none() && f.len() > 54 && f[23] == 6 && is_it(&f) {
                            second = Some(lb.traffic.receive(&f, &mut lb.to_worker));
                        }
                    }
                    if second.is_some() {
                        break;
                    }
                    lb.now += TICKS_PER_MS;
                }
                let second = second.unwrap_or_else(|| panic!("no {what} seen"));
                if stall == 0 {
                    assert!(second.is_err(), "{what} twice accepted without a stall");
                } else {
                    assert!(second.is_ok(), "{what} twice after a stall: {second:?}");
                    assert_eq!(lb.traffic.retransmits_seen(), 1, "{what}");
                }
            }
        }
    }

    #[test]
    fn established_flows_stream_both_ways() {
        let mut lb = Loopback::new(
            Config {
                mode: Mode::Established,
                flows: 300,
                inflight: 64,
                payload: 6,
                farm: FarmSpec::all(4, 4, 1024),
                setup_window: 32,
                arp_refresh_ms: ARP_REFRESH_MS,
                linux_options: false,
            },
            65_536,
        );
        lb.run_until(|t| t.setup_done(), 100_000).unwrap();
        assert_eq!(lb.traffic.spliced(), 300);
        let at_setup = lb.traffic.progress().verified;
        lb.run_until(|t| t.progress().verified >= at_setup + 10_000, 100_000)
            .unwrap();
        lb.traffic.stop();
        lb.run_until(|t| t.finished(), 10_000).unwrap();
        let c = lb.counters();
        assert!(drops(&c).is_empty(), "{}", nonzero(&c));
        assert!(c.get(splicer_pipeline::Counter::SplicedUp) >= 5_000);
        assert!(c.get(splicer_pipeline::Counter::SplicedDown) >= 5_000);
    }
}
