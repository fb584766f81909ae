//! Devices under test: a plain bridge, and Splicer's pipelines.

use crate::net::Middlebox;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use splicer_pipeline::counters::Snapshot;
use splicer_pipeline::{
    Counter, NeighbourUpdate, Pipeline, Settings, Sink, Topology, WorkerCounters,
};
use splicer_wire::{ethernet, ipv4};
use std::collections::VecDeque;
use std::sync::Arc;

/// Forwards every frame from one port to the other, unchanged: a wire between the two
/// segments, for testing the harness without Splicer in the way.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Bridge {
    /// Frames forwarded from each port.
    pub forwarded: [u64; 2],
}

impl Middlebox for Bridge {
    fn receive(&mut self, port: u16, frame: Vec<u8>, _now: u64, out: &mut Vec<(u16, Vec<u8>)>) {
        self.forwarded[usize::from(port & 1)] += 1;
        out.push((port ^ 1, frame));
    }

    fn poll(&mut self, _now: u64, _out: &mut Vec<(u16, Vec<u8>)>) {}
}

/// How [`PipelineBox`] picks the worker ("RX queue") a received frame lands on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Spread {
    /// Each frame goes to a worker drawn at random: the worst case for hand-offs, and
    /// what makes a flow's packets meet every worker.
    #[default]
    PerPacket,
    /// IPv4 frames go to a worker chosen by a seeded hash of their addresses, protocol
    /// and ports, in the direction they travel (like net_tap: a flow's two directions may
    /// land on different queues); other frames go to worker 0, as RSS does.
    PerFlow,
}

/// What [`PipelineBox`]'s own sink saw, beyond what the pipelines count.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BoxStats {
    /// Frames received from the network, per worker they were spread to.
    pub rx_per_worker: Vec<u64>,
    /// Packets passed between workers.
    pub handoffs: u64,
    /// Neighbour updates delivered to other workers (one per receiving worker).
    pub neighbour_updates: u64,
    /// Buffers the pipelines released through `discard`: counted drops, and packets
    /// consumed without an answer (ARP replies).
    pub discarded: u64,
}

type Handoff = (usize, u16, Vec<u8>);

struct BoxSink<'a> {
    me: usize,
    workers: usize,
    /// Port of the packet being processed; hand-offs carry it, as an mbuf does.
    port: Option<u16>,
    counters: &'a WorkerCounters,
    out: &'a mut Vec<(u16, Vec<u8>)>,
    handoffs: &'a mut VecDeque<Handoff>,
    updates: &'a mut VecDeque<(usize, NeighbourUpdate)>,
    stats: &'a mut BoxStats,
}

impl Sink<Vec<u8>> for BoxSink<'_> {
    fn transmit(&mut self, port: u16, pkt: Vec<u8>) {
        // The DPDK sink counts what the TX queue took; here the network always takes it.
        self.counters.inc(port, Counter::TxPackets);
        self.out.push((port, pkt));
    }

    fn handoff(&mut self, worker: usize, pkt: Vec<u8>) {
        let port = self
            .port
            .expect("a pipeline hands off only the packet it is processing");
        // Either would loop or vanish on real rings; here it fails the test at its cause.
        assert_ne!(
            worker, self.me,
            "worker {worker} handed a packet off to itself"
        );
        assert!(
            worker < self.workers,
            "hand-off to worker {worker} of {}",
            self.workers
        );
        self.stats.handoffs += 1;
        self.handoffs.push_back((worker, port, pkt));
    }

    fn discard(&mut self, _pkt: Vec<u8>) {
        self.stats.discarded += 1;
    }

    fn alloc(&mut self) -> Option<Vec<u8>> {
        Some(Vec::new())
    }

    fn publish_neighbour(&mut self, update: NeighbourUpdate) {
        self.updates.push_back((self.me, update));
    }
}

/// Splicer's packet logic as a device under test: one [`Pipeline`] per worker, frames
/// spread over them as NIC queues would, hand-offs and neighbour updates passed between
/// them as the worker mesh does (at once, where the mesh takes a loop round).
pub struct PipelineBox {
    workers: Vec<Pipeline<Vec<u8>>>,
    counters: Vec<Arc<WorkerCounters>>,
    spread: Spread,
    rng: StdRng,
    salt: u64,
    handoffs: VecDeque<Handoff>,
    updates: VecDeque<(usize, NeighbourUpdate)>,
    stats: BoxStats,
}

impl std::fmt::Debug for PipelineBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelineBox")
            .field("workers", &self.workers.len())
            .field("spread", &self.spread)
            .field("stats", &self.stats)
            .finish()
    }
}

impl PipelineBox {
    /// Wraps `workers`, where `workers[i]` was built as worker `i` of
    /// `workers.len()`. Queue choices follow from `seed`.
    pub fn new(workers: Vec<Pipeline<Vec<u8>>>, seed: u64) -> Self {
        assert!(!workers.is_empty(), "a device needs a worker");
        let counters = workers.iter().map(|w| w.counters().clone()).collect();
        let mut rng = StdRng::seed_from_u64(seed);
        let salt = rng.gen();
        PipelineBox {
            stats: BoxStats {
                rx_per_worker: vec![0; workers.len()],
                ..BoxStats::default()
            },
            workers,
            counters,
            spread: Spread::default(),
            rng,
            salt,
            handoffs: VecDeque::new(),
            updates: VecDeque::new(),
        }
    }

    /// `template.workers` pipelines over `topology`, each with its own counters and
    /// with `template`'s settings but its own worker index and ISN seed. Queue choices
    /// follow from `seed`.
    pub fn build(topology: Topology, template: Settings, seed: u64) -> Self {
        let topology = Arc::new(topology);
        let pipelines = (0..template.workers)
            .map(|worker| {
                let counters = Arc::new(WorkerCounters::with_objects(
                    topology.ports().len(),
                    topology.farm().reals.len(),
                    topology.farm().virtuals.len(),
                ));
                // Every worker shares the template's secret, as `splicer run`'s do.
                let settings = Settings { worker, ..template };
                Pipeline::new(settings, topology.clone(), counters)
            })
            .collect();
        PipelineBox::new(pipelines, seed)
    }

    /// Sets how received frames are spread over the workers.
    pub fn with_spread(mut self, spread: Spread) -> Self {
        self.spread = spread;
        self
    }

    /// The pipelines, by worker index.
    pub fn workers(&self) -> &[Pipeline<Vec<u8>>] {
        &self.workers
    }

    /// One pipeline, mutable.
    pub fn worker_mut(&mut self, worker: usize) -> &mut Pipeline<Vec<u8>> {
        &mut self.workers[worker]
    }

    /// The counters of every worker added up, all ports.
    pub fn counters(&self) -> Snapshot {
        let mut s = Snapshot::default();
        for c in &self.counters {
            s += &c.snapshot();
        }
        s
    }

    /// The counters of every worker added up, one port.
    pub fn port_counters(&self, port: u16) -> Snapshot {
        let mut s = Snapshot::default();
        for c in &self.counters {
            s += &c.port_snapshot(port);
        }
        s
    }

    /// The counters of one worker.
    pub fn worker_counters(&self, worker: usize) -> &Arc<WorkerCounters> {
        &self.counters[worker]
    }

    /// What the box's sink saw.
    pub fn stats(&self) -> &BoxStats {
        &self.stats
    }

    /// The counters named `drop_*` that are not zero, as `(name, value)`: the check
    /// that nothing was lost that a test did not expect.
    pub fn drops(&self) -> Vec<(&'static str, u64)> {
        self.counters()
            .iter()
            .filter(|&(name, v)| name.starts_with("drop_") && v > 0)
            .collect()
    }

    fn pick_worker(&mut self, frame: &[u8]) -> usize {
        let n = self.workers.len();
        if n == 1 {
            return 0;
        }
        match self.spread {
            Spread::PerPacket => self.rng.gen_range(0..n),
            Spread::PerFlow => flow_hash(frame, self.salt).map_or(0, |h| (h % n as u64) as usize),
        }
    }

    /// Runs `f` on worker `me`'s pipeline with a sink that collects its output.
    fn with_sink(
        &mut self,
        me: usize,
        port: Option<u16>,
        out: &mut Vec<(u16, Vec<u8>)>,
        f: impl FnOnce(&mut Pipeline<Vec<u8>>, &mut BoxSink<'_>),
    ) {
        let mut sink = BoxSink {
            me,
            workers: self.counters.len(),
            port,
            counters: &self.counters[me],
            out,
            handoffs: &mut self.handoffs,
            updates: &mut self.updates,
            stats: &mut self.stats,
        };
        f(&mut self.workers[me], &mut sink);
    }

    /// Delivers hand-offs and neighbour updates until none is left; each can cause
    /// more (a released packet, a learned neighbour).
    fn settle(&mut self, now: u64, out: &mut Vec<(u16, Vec<u8>)>) {
        loop {
            if let Some((w, port, pkt)) = self.handoffs.pop_front() {
                self.with_sink(w, Some(port), out, |p, sink| {
                    p.receive_handed_off(port, pkt, now, sink)
                });
                continue;
            }
            if let Some((from, update)) = self.updates.pop_front() {
                for w in (0..self.workers.len()).filter(|&w| w != from) {
                    self.stats.neighbour_updates += 1;
                    self.with_sink(w, None, out, |p, sink| {
                        p.apply_neighbour_update(update, now, sink)
                    });
                }
                continue;
            }
            break;
        }
    }
}

impl Middlebox for PipelineBox {
    fn receive(&mut self, port: u16, frame: Vec<u8>, now: u64, out: &mut Vec<(u16, Vec<u8>)>) {
        let w = self.pick_worker(&frame);
        self.stats.rx_per_worker[w] += 1;
        self.with_sink(w, Some(port), out, |p, sink| {
            p.receive(port, frame, now, sink)
        });
        self.settle(now, out);
    }

    fn poll(&mut self, now: u64, out: &mut Vec<(u16, Vec<u8>)>) {
        for w in 0..self.workers.len() {
            self.with_sink(w, None, out, |p, sink| p.poll_timers(now, sink));
        }
        self.settle(now, out);
    }
}

/// A salted hash of an IPv4 frame's addresses, protocol and (for TCP and UDP) ports;
/// `None` for anything else.
fn flow_hash(frame: &[u8], salt: u64) -> Option<u64> {
    let eth = ethernet::Frame::new_checked(frame).ok()?;
    if eth.ethertype() != ethernet::ethertype::IPV4 {
        return None;
    }
    let ip = ipv4::Packet::new_checked(eth.payload()).ok()?;
    let mut key = Vec::with_capacity(13);
    key.extend_from_slice(&ip.src_addr().octets());
    key.extend_from_slice(&ip.dst_addr().octets());
    key.push(ip.protocol());
    if matches!(ip.protocol(), ipv4::protocol::TCP | ipv4::protocol::UDP) {
        key.extend_from_slice(ip.payload().get(..4).unwrap_or(&[]));
    }
    let mut h = salt ^ 0xcbf2_9ce4_8422_2325;
    for b in key {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    Some(h ^ (h >> 29))
}
