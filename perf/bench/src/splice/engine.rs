//! The code under test of the splice scenarios: Splicer's own packet pipeline, run on
//! the worker lcore the way `splicer_worker::run` runs it.
//!
//! Per poll: the received mbufs go to [`Pipeline::receive_burst`] as
//! [`splicer_worker::Pkt`]s with the poll's TSC as `now` (the burst's frames, index
//! buckets and connection slots prefetched, then each frame processed, as the worker
//! does); [`Pipeline::poll_timers`] runs when a millisecond has passed since its last
//! run; what the pipeline transmits, on either port, leaves in one burst on the ring.
//! What differs from `splicer_worker::run`: one ring port carrying both appliance ports
//! (received frames are given to port 1 when addressed to the inside MAC, to port 0
//! otherwise).
//!
//! With several workers (`--workers`; [`PipelineForwarder::with_mesh`]) each worker's
//! pipeline hands the packets of flows another worker owns to that worker's ring, and
//! publishes the neighbours it learns, through the real worker's [`Mesh`], as
//! `splicer_worker::run` does: the hand-off is flushed once per poll, after the
//! pipeline's own output; every poll drains the worker's own ring
//! (`Pipeline::receive_handed_off`) and its neighbour queue.

use super::INSIDE_MAC;
use crate::baseline::Fault;
use crate::driver::{Forwarder, Handoffs};
use dpdk_bindings::{Mbuf, Mempool};
use splicer_pipeline::{NeighbourUpdate, Pipeline, Settings, Sink, Topology, WorkerCounters};
use splicer_wire::{ipv4, tcp};
use splicer_worker::{Mesh, Pkt};
use std::sync::Arc;

/// Where the pipeline's packets go: one transmit burst for both ports, and with several
/// workers a hand-off burst per other worker.
struct BenchSink {
    out: Vec<Mbuf>,
    pool: Arc<Mempool>,
    /// Several workers: the mesh and this worker's index.
    mesh: Option<(Arc<Mesh>, usize)>,
    /// Per destination worker, the packets to hand over at the next flush.
    handoff: Vec<Vec<Mbuf>>,
    handed_out: u64,
    counters: Arc<WorkerCounters>,
}

impl BenchSink {
    /// Hands the collected packets to their owners' rings; what a full ring refuses is
    /// freed and counted (`drop_handoff_full`, as the real worker does): the run fails.
    fn flush_handoff(&mut self) {
        let Some((mesh, _)) = &self.mesh else {
            return;
        };
        for (w, pkts) in self.handoff.iter_mut().enumerate() {
            if pkts.is_empty() {
                continue;
            }
            self.handed_out += mesh.handoff(w).enqueue_burst(pkts) as u64;
            for _ in pkts.drain(..) {
                self.counters
                    .inc(0, splicer_pipeline::Counter::DropHandoffFull);
            }
        }
    }
}

impl Sink<Pkt> for BenchSink {
    #[inline]
    fn transmit(&mut self, _port: u16, pkt: Pkt) {
        self.out.push(pkt.0);
    }

    fn handoff(&mut self, worker: usize, pkt: Pkt) {
        match self.handoff.get_mut(worker) {
            Some(to) => to.push(pkt.0),
            // One worker owns every flow; a hand-off would be a pipeline bug. The packet
            // is dropped and the generator reports it missing.
            None => drop(pkt),
        }
    }

    #[inline]
    fn discard(&mut self, pkt: Pkt) {
        drop(pkt);
    }

    #[inline]
    fn alloc(&mut self) -> Option<Pkt> {
        self.pool.alloc().map(Pkt)
    }

    fn publish_neighbour(&mut self, update: NeighbourUpdate) {
        if let Some((mesh, me)) = &self.mesh {
            for w in (0..mesh.workers()).filter(|w| w != me) {
                // A full queue only means that worker resolves the neighbour itself.
                let _ = mesh.neighbour_queue(w).push(update);
            }
        }
    }
}

/// One worker's pipeline as a [`Forwarder`].
pub struct PipelineForwarder {
    pipeline: Pipeline<Pkt>,
    sink: BenchSink,
    timer_interval: u64,
    next_timer: u64,
    /// A mistake made once, on the first TCP segment sent from the `.1`-th packet on
    /// (tests only).
    fault: Option<(Fault, u64)>,
    sent: u64,
    /// Packets taken from this worker's hand-off ring, and the cycles spent on them.
    handed_in: u64,
    handed_in_cycles: u64,
    /// The hand-off ring's burst.
    rx: Vec<Mbuf>,
    burst: usize,
    /// The received burst as the pipeline takes it.
    pkts: Vec<Pkt>,
}

impl PipelineForwarder {
    /// A pipeline for worker 0 of 1 with `settings`, originating packets from `pool`.
    pub fn new(
        settings: Settings,
        topology: Arc<Topology>,
        counters: Arc<WorkerCounters>,
        pool: Arc<Mempool>,
        tsc_hz: u64,
        burst: usize,
    ) -> PipelineForwarder {
        let counters_for_sink = Arc::clone(&counters);
        PipelineForwarder {
            pipeline: Pipeline::new(settings, topology, counters),
            handed_in: 0,
            handed_in_cycles: 0,
            rx: Vec::with_capacity(burst),
            burst,
            sink: BenchSink {
                out: Vec::with_capacity(4 * burst),
                pool,
                mesh: None,
                handoff: Vec::new(),
                handed_out: 0,
                counters: counters_for_sink,
            },
            // As the worker: timers need millisecond resolution at most.
            timer_interval: (tsc_hz / 1000).max(1),
            next_timer: 0,
            fault: None,
            sent: 0,
            pkts: Vec::with_capacity(burst),
        }
    }

    /// Makes this worker (`settings.worker` of `settings.workers`) one of several joined
    /// by `mesh`: packets of flows others own go to their rings, this worker's ring is
    /// drained on every poll.
    pub fn with_mesh(mut self, mesh: Arc<Mesh>, me: usize) -> PipelineForwarder {
        self.sink.handoff = (0..mesh.workers())
            .map(|_| Vec::with_capacity(self.burst))
            .collect();
        self.sink.mesh = Some((mesh, me));
        self
    }

    /// Applies the neighbours other workers learned; whether there were any.
    fn neighbours(&mut self) -> bool {
        let Some((mesh, me)) = &self.sink.mesh else {
            return false;
        };
        let (mesh, me) = (Arc::clone(mesh), *me);
        let mut work = false;
        while let Some(update) = mesh.neighbour_queue(me).pop() {
            let now = dpdk_bindings::eal::rdtsc();
            self.pipeline
                .apply_neighbour_update(update, now, &mut self.sink);
            work = true;
        }
        work
    }

    /// Takes this worker's hand-off ring and neighbour queue in; whether anything came.
    fn drain_mesh(&mut self) -> bool {
        let Some((mesh, me)) = self.sink.mesh.clone() else {
            return false;
        };
        let mut work = self.neighbours();
        let n = mesh.handoff(me).dequeue_burst(&mut self.rx, self.burst);
        if n > 0 {
            // Read once the burst is here, as `driver::worker_loop` does for the rx burst.
            // The same reading starts the count of the cycles the handed-in packets
            // cost this (the owning) worker.
            let now = dpdk_bindings::eal::rdtsc();
            self.handed_in += n as u64;
            for m in self.rx.drain(..) {
                let port = u16::from(m.data().get(..6) == Some(&INSIDE_MAC[..]));
                self.pipeline
                    .receive_handed_off(port, Pkt(m), now, &mut self.sink);
            }
            self.handed_in_cycles += dpdk_bindings::eal::rdtsc().wrapping_sub(now);
            work = true;
        }
        work
    }

    /// Makes the worker corrupt (or drop) one TCP segment it sends, the first from the
    /// `at`-th packet on, after the pipeline is done with it: the generator must notice.
    pub fn with_fault(mut self, fault: Option<(Fault, u64)>) -> PipelineForwarder {
        self.fault = fault;
        self
    }

    #[cold]
    fn inject(&mut self, burst: &mut Vec<Mbuf>, first: u64) {
        let Some((fault, at)) = self.fault else {
            return;
        };
        let skip = at.saturating_sub(first) as usize;
        let Some(i) = (skip..burst.len()).find(|&i| is_tcp(burst[i].data())) else {
            return;
        };
        self.fault = None;
        if fault == Fault::Drop {
            burst.remove(i);
            return;
        }
        let f = burst[i].data_mut();
        let (src, dst) = {
            let ip = ipv4::Packet::new_unchecked(&f[14..]);
            (ip.src_addr(), ip.dst_addr())
        };
        let l4 = 14 + 20;
        let total = 14 + usize::from(u16::from_be_bytes([f[16], f[17]]));
        let mut t = tcp::Packet::new_unchecked(&mut f[l4..total]);
        match fault {
            Fault::Checksum => {
                let c = t.checksum();
                t.set_checksum(c ^ 0x0100);
                return;
            }
            Fault::Seq => {
                let s = t.seq_number();
                t.set_seq_number(s + 1);
            }
            Fault::Port => {
                let p = t.dst_port();
                t.set_dst_port(p.wrapping_add(1));
            }
            Fault::Drop => unreachable!("handled above"),
        }
        t.fill_checksum(src, dst);
    }
}

/// The appliance port a frame of the one ring came in on: 1 when it is addressed to the
/// inside port's MAC.
#[inline]
fn port_of(pkt: &Pkt) -> u16 {
    u16::from(pkt.0.data().get(..6) == Some(&INSIDE_MAC[..]))
}

fn is_tcp(f: &[u8]) -> bool {
    f.len() >= 54 && f[12..14] == [0x08, 0x00] && f[14] == 0x45 && f[23] == 6
}

impl Forwarder for PipelineForwarder {
    #[inline]
    fn forward(&mut self, burst: &mut Vec<Mbuf>, now: u64) -> u64 {
        // Before the burst (as the real worker does): a worker
        // that was away (preempted: worker 1 shares the generator's CPU on a 2-CPU
        // machine) finds in one poll both the gateway's address, learned by worker 0,
        // and a burst of clients' SYNs whose SYN-ACKs need it; taken in the other order,
        // more than `neighbour_pending` (16) of them wait for it and the rest are dropped
        // (`drop_neighbour_unresolved`).
        if self.sink.mesh.is_some() {
            self.neighbours();
        }
        self.pkts.extend(burst.drain(..).map(Pkt));
        self.pipeline
            .receive_burst(&mut self.pkts, port_of, now, &mut self.sink);
        self.sink.flush_handoff();
        // The burst vector (now empty) becomes the sink's, the sink's output the burst.
        std::mem::swap(burst, &mut self.sink.out);
        let first = self.sent;
        self.sent += burst.len() as u64;
        if self.fault.is_some_and(|(_, at)| at < self.sent) {
            self.inject(burst, first);
        }
        0
    }

    #[inline]
    fn poll(&mut self, now: u64, out: &mut Vec<Mbuf>) -> bool {
        let handed = self.drain_mesh();
        let timers = now >= self.next_timer;
        if timers {
            self.next_timer = now + self.timer_interval;
            self.pipeline.poll_timers(now, &mut self.sink);
        }
        if !(handed || timers) {
            return false;
        }
        self.sink.flush_handoff();
        out.append(&mut self.sink.out);
        true
    }

    #[inline]
    fn handoffs(&self) -> Handoffs {
        Handoffs {
            handed_in: self.handed_in,
            handed_out: self.sink.handed_out,
            handed_in_cycles: self.handed_in_cycles,
        }
    }
}
