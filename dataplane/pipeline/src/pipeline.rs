//! One worker's packet pipeline: parse → lookup (flow owner) → presence → transmit.

use crate::access::AccessLog;
use crate::balance::{Choices, HealthEvent, RealId};
use crate::cluster::peers::Peers;
use crate::counters::{Counter, Gauge, PoolLevels, WorkerCounters};
use crate::flow::{
    Agents, CheckSlot, FlowSettings, FlowTable, Handle, Held, Keys, Leg, PoolStats, Pools, Timers,
};
use crate::lookup::FlowKey;
use crate::packet::{PacketBuf, Sink};
use crate::parse::{classify, Classified, Ipv4Meta};
use crate::presence::neighbour::{Expired, NeighbourSettings, NeighbourTable, NeighbourUpdate};
use crate::quality::RealQuality;
use crate::topology::Topology;
use splicer_wire::ipv4::protocol;
use splicer_wire::EthernetAddress;
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

/// What a pipeline needs to know about its place among the workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// This worker's index, `0..workers`.
    pub worker: usize,
    /// Number of workers; flows are spread over them by [`FlowKey::owner`].
    pub workers: usize,
    /// Neighbour resolution timing, in the same ticks as the `now` arguments.
    pub neighbour: NeighbourSettings,
    /// Client connection bounds and timers, in the same ticks.
    pub flow: FlowSettings,
    /// The 128-bit SipHash key of initial sequence numbers, server-leg local ports and
    /// SYN cookies (RFC 6528, RFC 4987). Draw it from the operating system's random
    /// source at start-up, once per process, and give every worker the same: any worker
    /// can then check any cookie, and a restart changes every ISN.
    pub seed: u128,
}

/// The packet logic of one worker. `P` is the packet buffer type.
pub struct Pipeline<P> {
    pub(crate) settings: Settings,
    pub(crate) topology: Arc<Topology>,
    pub(crate) counters: Arc<WorkerCounters>,
    pub(crate) neighbours: NeighbourTable<P>,
    pub(crate) flows: FlowTable,
    pub(crate) timers: Timers,
    pub(crate) keys: Keys,
    /// When this worker last answered a SYN with a cookie: unknown ACKs are checked as
    /// cookies only while one may still be valid.
    pub(crate) cookie_sent_at: Option<u64>,
    /// Local-port candidates drawn so far (the counter of RFC 6056's keyed choice).
    pub(crate) port_attempts: u64,
    pub(crate) ip_ident: u16,
    /// Start of the current second of challenge ACKs, and how many went out in it.
    pub(crate) challenge_window: u64,
    pub(crate) challenge_count: u32,
    pub(crate) pools: Pools,
    pub(crate) balance: Choices,
    /// Legs whose client went away, for their server connections to drain.
    pub(crate) pending_drains: Vec<Leg>,
    /// Responses of pipelined requests held until their turn, by server connection.
    pub(crate) held: HashMap<Handle, Held<P>>,
    /// The windows granted to the servers of pipelined requests in flight, in bytes: at
    /// most `FlowSettings::max_held_total`.
    pub(crate) held_granted: usize,
    /// The active checks of the reals this worker checks, by real.
    pub(crate) checks: Vec<CheckSlot>,
    /// Health events not yet taken by the worker loop for the control core.
    pub(crate) health_events: Vec<HealthEvent>,
    /// The access log, when it is on (`set_access_log`).
    pub(crate) access: Option<AccessLog>,
    /// The time of the latest timer poll: when a record ends where no clock is at hand
    /// (a connection closed), it ends at this time, or at the latest it knows if later.
    pub(crate) clock: u64,
    /// Set when the process stops gracefully: new connections are refused
    /// (`flow::stop`).
    pub(crate) stopping: bool,
    /// The other appliances serving the same VIPs, for the strays of their flows.
    pub(crate) cluster: Peers,
    /// The epoch of the connections' kept next hops (`transmit::NextHop`): raised when
    /// a neighbour is learned or the topology changes; never 0.
    pub(crate) hop_epoch: u32,
    /// The earliest expiry of the neighbour entries the hops of this epoch came from.
    pub(crate) hops_expire: u64,
    /// The handoff agents of the reals, and the HANDOFFs in flight (`flow::channel`).
    pub(crate) agents: Agents,
}

impl<P: PacketBuf> Pipeline<P> {
    /// A pipeline for one worker.
    pub fn new(settings: Settings, topology: Arc<Topology>, counters: Arc<WorkerCounters>) -> Self {
        assert!(
            settings.worker < settings.workers,
            "worker index out of range"
        );
        let mut agents = Agents::default();
        agents.follow(topology.farm().reals.iter().map(|r| r.agent));
        Pipeline {
            neighbours: NeighbourTable::new(settings.neighbour),
            flows: FlowTable::with_seed(settings.flow.max_flows, index_seed(settings.seed)),
            timers: Timers::with_capacity(settings.flow.max_flows.min(65_536)),
            keys: Keys::new(settings.seed),
            cookie_sent_at: None,
            port_attempts: 0,
            ip_ident: 0,
            challenge_window: 0,
            challenge_count: 0,
            pools: Pools::new(topology.farm().reals.len()),
            balance: Choices::default(),
            pending_drains: Vec::new(),
            held: HashMap::new(),
            held_granted: 0,
            checks: Vec::new(),
            health_events: Vec::new(),
            access: None,
            clock: 0,
            stopping: false,
            cluster: Peers::default(),
            hop_epoch: 1,
            hops_expire: u64::MAX,
            agents,
            settings,
            topology,
            counters,
        }
    }

    /// A new configuration from the control core (live reconfiguration): routing,
    /// services, reals and their states. Established connections keep going; the next
    /// request is routed by the new configuration. See `flow::reconfigure` for what a
    /// changed status does to the connections a real or virtual already has.
    ///
    /// The new topology must keep every real and virtual of the old one at its index
    /// (removed ones stay, with [`crate::balance::Status::Removed`]), and the ports.
    pub fn set_topology<S: Sink<P>>(&mut self, topology: Arc<Topology>, now: u64, sink: &mut S) {
        self.apply_topology(topology, now, sink);
        // Routes and port addresses may have changed under the kept next hops.
        self.forget_hops();
    }

    /// The topology in use.
    pub fn topology(&self) -> &Arc<Topology> {
        &self.topology
    }

    /// The counters this pipeline writes.
    pub fn counters(&self) -> &Arc<WorkerCounters> {
        &self.counters
    }

    /// What the pool of `real` holds on this worker.
    pub fn pool_stats(&self, real: RealId, now: u64) -> PoolStats {
        self.pools.stats(real, now)
    }

    /// The worker stops: every client and server connection is reset, so that clients
    /// and servers learn it at once instead of by timeout.
    pub fn shutdown<S: Sink<P>>(&mut self, now: u64, sink: &mut S) {
        self.handed_off_stop(now, sink);
        self.reset_all(now, sink);
        self.pending_drains.clear();
        self.held.clear();
        self.held_granted = 0;
        self.counters
            .set_gauge(Gauge::Flows, self.flows.len() as u64);
    }

    /// Hands the legs of vanished clients to their server connections.
    pub(crate) fn run_drains<S: Sink<P>>(&mut self, now: u64, sink: &mut S) {
        while let Some(leg) = self.pending_drains.pop() {
            self.splice_client_lost(&leg, now, sink);
        }
    }

    /// The connections of this worker.
    pub fn flows(&self) -> &FlowTable {
        &self.flows
    }

    /// Number of neighbour entries this worker holds.
    pub fn neighbour_count(&self) -> usize {
        self.neighbours.len()
    }

    /// A frame received from the NIC queue of this worker on `port`.
    pub fn receive<S: Sink<P>>(&mut self, port: u16, pkt: P, now: u64, sink: &mut S) {
        self.counters.inc(port, Counter::RxPackets);
        self.process(port, pkt, now, sink, false);
    }

    /// A frame another worker received on `port` for a flow this worker owns.
    pub fn receive_handed_off<S: Sink<P>>(&mut self, port: u16, pkt: P, now: u64, sink: &mut S) {
        self.counters.inc(port, Counter::HandoffIn);
        self.process(port, pkt, now, sink, true);
    }

    /// A neighbour another worker learned from the wire.
    pub fn apply_neighbour_update<S: Sink<P>>(
        &mut self,
        u: NeighbourUpdate,
        now: u64,
        sink: &mut S,
    ) {
        self.learn(u.port, u.ip, u.mac, now, true, sink);
    }

    /// Runs timers: ARP retransmission, failed resolutions, neighbour expiry. Cheap when
    /// nothing is due; call it every millisecond or so.
    pub fn poll_timers<S: Sink<P>>(&mut self, now: u64, sink: &mut S) {
        let mut retries: [(u16, Ipv4Addr); 16] = [(0, Ipv4Addr::UNSPECIFIED); 16];
        let mut n = 0;
        let counters = &self.counters;
        self.neighbours.poll(now, |e| match e {
            Expired::Retry { port, ip } => {
                // A burst of more than 16 due retries is rare; the rest go out next poll
                // round a retry interval later, which only slows their resolution.
                if n < retries.len() {
                    retries[n] = (port, ip);
                    n += 1;
                }
            }
            Expired::GaveUp { port, pkt } => {
                counters.inc(port, Counter::DropNeighbourUnresolved);
                sink.discard(pkt);
            }
        });
        for &(port, ip) in &retries[..n] {
            self.send_arp_request(port, ip, sink);
        }
        self.clock = now;
        self.resolve_peers(now, sink);
        self.flow_timers(now, sink);
        self.run_drains(now, sink);
        self.access_sweep(now);
        self.refill_pools(now, sink);
        self.run_checks(now, sink);
        self.agent_timers(now, sink);
        // Expired sticky entries are emptied a few sets a poll, so none outlives the
        // tables' 16-bit clock.
        let clock = self.sticky_clock(now);
        self.topology.farm().sweep_sticky(
            &mut self.balance,
            clock,
            crate::balance::sticky::SWEEP_SETS,
        );
        self.counters
            .set_gauge(Gauge::Flows, self.flows.len() as u64);
        self.counters
            .set_gauge(Gauge::HalfOpen, self.flows.half_open() as u64);
        self.counters
            .set_gauge(Gauge::Neighbours, self.neighbours.len() as u64);
        let ticks_per_ms = self.settings.flow.ticks_per_ms;
        let topology = self.topology.clone();
        let farm = topology.farm();
        for real in 0..self.counters.reals().min(self.pools.reals.len()) {
            // Requests waiting in a queue for a set this real belongs to.
            let id = real as RealId;
            let queued = self.pools.queues.count(|v, route| {
                farm.virtuals
                    .get(usize::from(v))
                    .is_some_and(|p| p.members(route).contains(&id))
            });
            let pool = &mut self.pools.reals[real];
            let per_second = pool.rate.update(pool.measure.ended, now, ticks_per_ms);
            let mut quality = RealQuality::of(
                &pool.measure,
                u64::from(pool.inflight),
                queued as u64,
                per_second,
            );
            if let Some(a) = self.agents.by_real.get(real) {
                if a.address.is_some() {
                    quality.agent = if a.up {
                        crate::quality::AGENT_UP
                    } else {
                        crate::quality::AGENT_DOWN
                    };
                    quality.agent_rtt_us = u64::from(crate::flow::micros(a.rtt, ticks_per_ms));
                    quality.agent_epoch = a.epoch.unwrap_or(0);
                    quality.agent_connections = u64::from(a.holds);
                }
            }
            self.counters.set_quality(real, &quality);
            let p = self.pools.stats(real as RealId, now);
            self.counters.set_pool(
                real,
                PoolLevels {
                    free: u64::from(p.free),
                    busy: u64::from(p.busy),
                    opening: u64::from(p.opening),
                    conns: u64::from(p.conns),
                    inflight: u64::from(p.inflight),
                },
            );
        }
        for v in 0..self.counters.virtuals() {
            let depth = self.pools.queues.of(v as u16).len();
            self.counters.set_queued(v, depth as u64);
        }
    }

    fn process<S: Sink<P>>(&mut self, port: u16, pkt: P, now: u64, sink: &mut S, handed_in: bool) {
        let meta = match classify(pkt.data(), self.topology.port(port).mac) {
            Ok(Classified::Arp) => return self.arp(port, pkt, now, sink),
            Ok(Classified::Ipv4(meta)) => meta,
            Err(reason) => return self.drop(port, reason, pkt, sink),
        };
        if !self.topology.takes(port, meta.dst) {
            // A local server's answer to a client (`flow::local`), or not ours.
            return self.not_for_us(port, meta, pkt, now, sink, handed_in);
        }
        let key = match flow_key(&meta, pkt.data()) {
            Some(key) => key,
            None => return self.drop(port, Counter::DropTruncated, pkt, sink),
        };
        if !handed_in && self.settings.workers > 1 {
            let mut owner = key.owner(self.settings.workers);
            // An agent's answer goes to the worker that asked (`flow::channel_steer`).
            if meta.protocol == protocol::UDP {
                owner = crate::flow::agent_datagram_owner(&meta, pkt.data(), self.settings.workers)
                    .unwrap_or(owner);
            }
            if owner != self.settings.worker {
                self.counters.inc(port, Counter::HandoffOut);
                return sink.handoff(owner, pkt);
            }
        }
        match meta.protocol {
            protocol::ICMP => self.icmp(port, meta, pkt, now, sink),
            protocol::TCP => {
                self.tcp(port, meta, pkt, now, sink);
                // Checked here: the call is rare, the check is on every segment.
                if !self.pending_drains.is_empty() {
                    self.run_drains(now, sink);
                }
            }
            protocol::UDP => self.udp(port, meta, pkt, now, sink),
            _ => self.drop(port, Counter::DropUnsupportedProtocol, pkt, sink),
        }
    }

    /// Counts `reason` on `port` and releases the packet.
    pub(crate) fn drop<S: Sink<P>>(&mut self, port: u16, reason: Counter, pkt: P, sink: &mut S) {
        self.counters.inc(port, reason);
        sink.discard(pkt);
    }

    /// Learns a neighbour seen on the wire and tells the other workers.
    pub(crate) fn learn_from_wire<S: Sink<P>>(
        &mut self,
        port: u16,
        ip: Ipv4Addr,
        mac: EthernetAddress,
        now: u64,
        create: bool,
        sink: &mut S,
    ) {
        if self.learn(port, ip, mac, now, create, sink) {
            self.counters.inc(port, Counter::NeighboursLearned);
            sink.publish_neighbour(NeighbourUpdate { port, ip, mac });
        }
    }
}

/// The key of the flow table's index hash, drawn from the worker's secret: a client who
/// could compute the index's buckets could pile its connections into a few of them.
fn index_seed(secret: u128) -> u64 {
    use std::hash::Hasher;
    let mut h = siphasher::sip::SipHasher24::new_with_keys(secret as u64, (secret >> 64) as u64);
    h.write(b"splicer flow table index");
    h.finish()
}

/// The flow a packet belongs to, or None when its L4 header is too short to tell.
fn flow_key(meta: &Ipv4Meta, frame: &[u8]) -> Option<FlowKey> {
    let l4 = frame.get(meta.l4_range())?;
    let (a, b) = match meta.protocol {
        // Echo requests of one `ping` share an identifier; other ICMP messages have no
        // identifier there, but any stable bytes keep their owner stable.
        protocol::ICMP => {
            let id = u16::from_be_bytes([*l4.get(4)?, *l4.get(5)?]);
            (id, id)
        }
        protocol::TCP | protocol::UDP => (
            u16::from_be_bytes([*l4.first()?, *l4.get(1)?]),
            u16::from_be_bytes([*l4.get(2)?, *l4.get(3)?]),
        ),
        _ => (0, 0),
    };
    Some(FlowKey::new(meta.protocol, (meta.src, a), (meta.dst, b)))
}

mod burst;

#[cfg(test)]
mod tests;
