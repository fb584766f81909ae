//! The worker lcore: the thin DPDK glue around [`splicer_pipeline::Pipeline`].
//!
//! Each worker polls its own RX queue on every port, feeds the packets through its
//! pipeline a burst at a time (`Pipeline::receive_burst`, which prefetches a burst's
//! frames and flow state before processing them), and sends what comes out in bursts on its own TX queue of each port. Packets
//! of flows another worker owns leave through that worker's hand-off ring ([`Mesh`]); the
//! worker drains its own ring every round. Nothing here blocks, locks or allocates after
//! start-up.

#![forbid(unsafe_code)]

mod control;
mod mesh;
mod pkt;
mod sink;

pub use control::{ControlMsg, Inbox, CONTROL_QUEUE, NOT_STOPPING};
pub use mesh::Mesh;
pub use pkt::Pkt;

use crossbeam::queue::ArrayQueue;
use dpdk_bindings::{eal, Mbuf, Mempool, Port};
use sink::BurstSink;
use splicer_pipeline::access::AccessRing;
use splicer_pipeline::balance::HealthEvent;
use splicer_pipeline::impair::{ImpairSettings, Impairment};
use splicer_pipeline::{Counter, Pipeline, Runtime, Settings, Topology, WorkerCounters};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Everything one worker needs, handed over when its lcore is launched.
pub struct WorkerContext {
    /// Pipeline settings (index, worker count, neighbour timing in TSC ticks).
    pub settings: Settings,
    /// The queue this worker owns on every port.
    pub queue: u16,
    /// All ports, index = DPDK port id = port index in the topology.
    pub ports: Vec<Port>,
    /// Where originated packets (ARP requests) come from.
    pub pool: Arc<Mempool>,
    /// Hand-off rings and neighbour queues between workers.
    pub mesh: Arc<Mesh>,
    /// Addresses and routes.
    pub topology: Arc<Topology>,
    /// This worker's counters, read by the control core.
    pub counters: Arc<WorkerCounters>,
    /// Packets per RX/TX burst.
    pub burst: usize,
    /// Sleep after a round that found no work; zero for pure busy polling.
    pub idle_sleep: Duration,
    /// Set by the control core to stop the loop.
    pub stop: Arc<AtomicBool>,
    /// Configuration changes and requests from the control core.
    pub inbox: Arc<Inbox>,
    /// TSC frequency, for timer intervals.
    pub tsc_hz: u64,
    /// Per port (index = port id): the impairment of received frames, times in TSC
    /// ticks; `None` (the normal case) for an unimpaired port.
    pub impair: Vec<Option<ImpairSettings>>,
    /// Where the worker puts the outcome of its health checks and the passive outliers
    /// it saw, for the control core (shared by the workers).
    pub health: Arc<ArrayQueue<HealthEvent>>,
    /// The access log, when on: this worker's ring to the control core, keep one
    /// request in `sample`, and the ring's size (also its record slots).
    pub access: Option<AccessLogSetup>,
}

/// What a worker needs for the access log (see `splicer_pipeline::access`).
#[derive(Clone)]
pub struct AccessLogSetup {
    /// The worker's ring of finished records.
    pub ring: Arc<AccessRing>,
    /// Keep one request in this many.
    pub sample: u32,
    /// Requests under way the worker keeps records for.
    pub slots: usize,
}

/// Runs the worker loop until `ctx.stop` is set. Returns the lcore exit code (0).
pub fn run(ctx: WorkerContext) -> i32 {
    let WorkerContext {
        settings,
        queue,
        ports,
        pool,
        mesh,
        topology,
        counters,
        burst,
        idle_sleep,
        stop,
        inbox,
        tsc_hz,
        impair,
        health,
        access,
    } = ctx;
    let me = settings.worker;
    let mut pipeline: Pipeline<Pkt> = Pipeline::new(settings, topology, counters.clone());
    if let Some(a) = access {
        pipeline.set_access_log(a.ring, a.sample, a.slots);
    }
    let mut sink = BurstSink::new(&ports, queue, &mesh, me, &pool, &counters, burst);
    let mut rx: Vec<Mbuf> = Vec::with_capacity(burst);
    let mut pkts: Vec<Pkt> = Vec::with_capacity(burst);
    // Neighbour timers need millisecond resolution at most.
    let timer_interval = (tsc_hz / 1000).max(1);
    let mut next_timer = 0u64;
    let mut impaired: Vec<Option<Impairment<Pkt>>> = impair
        .iter()
        .enumerate()
        .map(|(port, s)| s.map(|s| Impairment::new(port as u16, me, s)))
        .collect();
    let any_impaired = impaired.iter().any(Option::is_some);

    // The loop's own figures (`show workers`): one TSC reading per round, at its end,
    // which is also the next round's `now` unless the loop slept in between.
    let mut runtime = Runtime::default();
    let mut now = eal::rdtsc();
    while !stop.load(Ordering::Relaxed) {
        let start = now;
        let mut work = 0usize;
        let mut packets = 0usize;
        // The neighbours other workers learned, before this round's bursts: a worker that
        // was preempted may find in one round both a gateway's address, learned meanwhile
        // by another worker, and a burst of SYNs whose SYN-ACKs need it; taken after the
        // burst, more than `neighbour_pending` (16) of those wait for it and the rest are
        // dropped (`drop_neighbour_unresolved`; seen in `splicer-bench --workers 2`).
        while let Some(update) = mesh.neighbour_queue(me).pop() {
            work += 1;
            pipeline.apply_neighbour_update(update, now, &mut sink);
        }
        for (index, port) in ports.iter().enumerate() {
            let got = port.rx_burst(queue, &mut rx, burst);
            if got > 0 {
                // A burst's arrival time is read after it arrived: a clock read before
                // (the last round's end) is early by however long the thread was
                // preempted in between, and Splicer's estimate of a client's timestamp
                // clock (its latest TSval plus the time since it arrived) would then run
                // ahead of the client's, echoing a TSecr it never sent.
                now = eal::rdtsc();
            }
            packets += got;
            let p = index as u16;
            // One branch per burst when the port is not impaired (always, outside tests).
            if let Some(imp) = impaired.get_mut(index).and_then(Option::as_mut) {
                for m in rx.drain(..) {
                    imp.admit(Pkt(m), now, &counters, &mut sink, |mut pkt, sink| {
                        // Copies come from the mempool with no input port set.
                        pkt.0.set_port(p);
                        pipeline.receive(p, pkt, now, sink);
                    });
                }
                continue;
            }
            // Some PMDs (net_ring) leave the input port unset; a packet handed to
            // another worker must still say where it came in.
            pkts.extend(rx.drain(..).map(|mut m| {
                m.set_port(p);
                Pkt(m)
            }));
            // The whole burst's memory is prefetched before its frames are processed.
            pipeline.receive_burst(&mut pkts, |_| p, now, &mut sink);
        }
        if any_impaired {
            for (index, imp) in impaired.iter_mut().enumerate() {
                if let Some(imp) = imp {
                    while let Some(pkt) = imp.release(now, &counters) {
                        work += 1;
                        pipeline.receive(index as u16, pkt, now, &mut sink);
                    }
                }
            }
        }
        packets += mesh.handoff(me).dequeue_burst(&mut rx, burst);
        work += packets;
        pkts.extend(rx.drain(..).map(Pkt));
        pipeline.receive_handed_off_burst(&mut pkts, |pkt| pkt.0.port(), now, &mut sink);
        while let Some(msg) = inbox.take() {
            work += 1;
            match msg {
                ControlMsg::Topology {
                    generation,
                    topology,
                } => {
                    pipeline.set_topology(topology, now, &mut sink);
                    inbox.set_applied(generation);
                }
                ControlMsg::ListFlows { filter, reply } => {
                    // The control core may have given up waiting: nothing to do then.
                    let _ = reply.send(pipeline.list_flows(&filter, now));
                }
                ControlMsg::ClusterPeers(peers) => pipeline.set_cluster_peers(&peers, now),
                ControlMsg::StartStopping => {
                    pipeline.start_stopping(now, &mut sink);
                    inbox.set_busy(pipeline.busy_clients());
                }
            }
        }
        let timers = now >= next_timer;
        if timers {
            pipeline.poll_timers(now, &mut sink);
            next_timer = now + timer_interval;
            if pipeline.is_stopping() {
                inbox.set_busy(pipeline.busy_clients());
            }
            for event in pipeline.take_health_events() {
                if health.push(event).is_err() {
                    counters.inc(0, Counter::HealthEventsDropped);
                }
            }
        }
        sink.flush();
        let end = eal::rdtsc();
        now = end;
        if work == 0 && !idle_sleep.is_zero() {
            std::thread::sleep(idle_sleep);
            now = eal::rdtsc();
        }
        runtime.round(start, end, now, packets as u64, work > 0 || timers);
        if timers {
            counters.set_runtime(&runtime);
        }
    }
    counters.set_runtime(&runtime);
    // Frames still held by an impairment reach the pipeline before it stops, so that
    // every frame the stage took is accounted for.
    for (index, imp) in impaired.iter_mut().enumerate() {
        if let Some(imp) = imp {
            while let Some(pkt) = imp.release_all(&counters) {
                pipeline.receive(index as u16, pkt, eal::rdtsc(), &mut sink);
            }
        }
    }
    pipeline.shutdown(eal::rdtsc(), &mut sink);
    sink.flush();
    0
}
