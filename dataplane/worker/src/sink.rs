//! Batches the pipeline's output into TX bursts and hand-off ring bursts.

use crate::mesh::Mesh;
use crate::pkt::Pkt;
use dpdk_bindings::{Mbuf, Mempool, Port};
use splicer_pipeline::{Counter, NeighbourUpdate, Sink, WorkerCounters};

/// Attempts at pushing a TX burst before the rest is dropped: a NIC queue that is full
/// three times in a row is not draining, and waiting longer would stall every flow.
const TX_ATTEMPTS: usize = 3;

pub(crate) struct BurstSink<'a> {
    ports: &'a [Port],
    queue: u16,
    mesh: &'a Mesh,
    me: usize,
    pool: &'a Mempool,
    counters: &'a WorkerCounters,
    burst: usize,
    tx: Vec<Vec<Mbuf>>,
    handoff: Vec<Vec<Mbuf>>,
}

impl<'a> BurstSink<'a> {
    pub(crate) fn new(
        ports: &'a [Port],
        queue: u16,
        mesh: &'a Mesh,
        me: usize,
        pool: &'a Mempool,
        counters: &'a WorkerCounters,
        burst: usize,
    ) -> Self {
        BurstSink {
            ports,
            queue,
            mesh,
            me,
            pool,
            counters,
            burst,
            tx: (0..ports.len())
                .map(|_| Vec::with_capacity(burst))
                .collect(),
            handoff: (0..mesh.workers())
                .map(|_| Vec::with_capacity(burst))
                .collect(),
        }
    }

    /// Sends every queued burst.
    pub(crate) fn flush(&mut self) {
        for port in 0..self.tx.len() {
            self.flush_port(port);
        }
        for worker in 0..self.handoff.len() {
            self.flush_handoff(worker);
        }
    }

    fn flush_port(&mut self, port: usize) {
        let pkts = &mut self.tx[port];
        if pkts.is_empty() {
            return;
        }
        let mut sent = 0;
        for _ in 0..TX_ATTEMPTS {
            sent += self.ports[port].tx_burst(self.queue, pkts);
            if pkts.is_empty() {
                break;
            }
        }
        let p = port as u16;
        self.counters.add(p, Counter::TxPackets, sent as u64);
        if !pkts.is_empty() {
            self.counters.add(p, Counter::DropTxFull, pkts.len() as u64);
            pkts.clear();
        }
    }

    fn flush_handoff(&mut self, worker: usize) {
        let pkts = &mut self.handoff[worker];
        if pkts.is_empty() {
            return;
        }
        self.mesh.handoff(worker).enqueue_burst(pkts);
        for m in pkts.drain(..) {
            self.counters.inc(m.port(), Counter::DropHandoffFull);
        }
    }
}

impl Sink<Pkt> for BurstSink<'_> {
    #[inline]
    fn transmit(&mut self, port: u16, pkt: Pkt) {
        let p = port as usize;
        self.tx[p].push(pkt.0);
        if self.tx[p].len() >= self.burst {
            self.flush_port(p);
        }
    }

    #[inline]
    fn handoff(&mut self, worker: usize, pkt: Pkt) {
        self.handoff[worker].push(pkt.0);
        if self.handoff[worker].len() >= self.burst {
            self.flush_handoff(worker);
        }
    }

    #[inline]
    fn discard(&mut self, pkt: Pkt) {
        drop(pkt);
    }

    fn alloc(&mut self) -> Option<Pkt> {
        self.pool.alloc().map(Pkt)
    }

    fn publish_neighbour(&mut self, update: NeighbourUpdate) {
        for w in (0..self.mesh.workers()).filter(|&w| w != self.me) {
            // A full queue only means that worker resolves the neighbour itself.
            let _ = self.mesh.neighbour_queue(w).push(update);
        }
    }
}
