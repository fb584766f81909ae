//! The code under test of the splice scenarios: Splicer's own packet pipeline, run on
//! the worker lcore the way `splicer_worker::run` runs it.
//!
//! Per poll: the received mbufs go to [`Pipeline::receive_burst`] as
//! [`splicer_worker::Pkt`]s with the poll's TSC as `now` (the burst's frames, index
//! buckets and connection slots prefetched, then each frame processed, as the worker
//! does); [`Pipeline::poll_timers`] runs when a millisecond has passed since its last
//! run; what the pipeline transmits, on either port, leaves in one burst on the ring.
//! What differs from `splicer_worker::run`: one worker, so no hand-off ring and no
//! neighbour queue; and one ring port carrying both appliance ports (received frames are
//! given to port 1 when addressed to the inside MAC, to port 0 otherwise).

use super::INSIDE_MAC;
use crate::baseline::Fault;
use crate::driver::Forwarder;
use dpdk_bindings::{Mbuf, Mempool};
use splicer_pipeline::{NeighbourUpdate, Pipeline, Settings, Sink, Topology, WorkerCounters};
use splicer_wire::{ipv4, tcp};
use splicer_worker::Pkt;
use std::sync::Arc;

/// Where the pipeline's packets go: one transmit burst for both ports.
struct BenchSink {
    out: Vec<Mbuf>,
    pool: Arc<Mempool>,
}

impl Sink<Pkt> for BenchSink {
    #[inline]
    fn transmit(&mut self, _port: u16, pkt: Pkt) {
        self.out.push(pkt.0);
    }

    fn handoff(&mut self, _worker: usize, pkt: Pkt) {
        // One worker owns every flow; a hand-off would be a pipeline bug. The packet is
        // dropped and the generator reports it missing.
        drop(pkt);
    }

    #[inline]
    fn discard(&mut self, pkt: Pkt) {
        drop(pkt);
    }

    #[inline]
    fn alloc(&mut self) -> Option<Pkt> {
        self.pool.alloc().map(Pkt)
    }

    fn publish_neighbour(&mut self, _update: NeighbourUpdate) {}
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
        PipelineForwarder {
            pipeline: Pipeline::new(settings, topology, counters),
            sink: BenchSink {
                out: Vec::with_capacity(4 * burst),
                pool,
            },
            // As the worker: timers need millisecond resolution at most.
            timer_interval: (tsc_hz / 1000).max(1),
            next_timer: 0,
            fault: None,
            sent: 0,
            pkts: Vec::with_capacity(burst),
        }
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
        self.pkts.extend(burst.drain(..).map(Pkt));
        self.pipeline
            .receive_burst(&mut self.pkts, port_of, now, &mut self.sink);
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
        if now < self.next_timer {
            return false;
        }
        self.next_timer = now + self.timer_interval;
        self.pipeline.poll_timers(now, &mut self.sink);
        out.append(&mut self.sink.out);
        true
    }
}
