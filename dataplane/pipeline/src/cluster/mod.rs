//! Several appliances behind one ECMP router: the segments of other appliances' flows.
//!
//! Each appliance owns the connections whose SYN it took; their state stays local (no
//! shared store). When the router's multipath hash changes (an appliance joins or
//! leaves), segments of established connections land on an appliance that does not hold
//! them: "strays". Without a cluster they are reset (`drop_tcp_no_flow`). With one, a
//! stray that came from a client (its source MAC is no peer's) is sent on, unchanged but
//! for its Ethernet addresses, to every live peer on the segment it came in on; the
//! owner takes it as its own and answers the client directly (its own route to the
//! client), the others drop their copy. A stray a peer sent is dropped silently: never
//! sent on again (no loops), never reset (its owner may be another peer). With no live
//! peer, a stray is reset as without a cluster. docs/SCALE-OUT.md, "Flow ownership",
//! says why copies to every peer rather than a hash owner, and what is lost when.
//!
//! The copies are bounded (docs/SCALE-OUT.md, "Flow ownership", "Strays are bounded"): a stray no
//! connection can accept (neither ACK nor RST) is dropped, and each worker sends on at
//! most `stray_rate` strays a second ([`budget`]); both are dropped without a reset.
//!
//! The peers and which of them are alive come from the control core (heartbeats,
//! `Pipeline::set_cluster_peers`); their MACs from ARP, kept here once learned so that
//! a peer's frames are recognised even after its neighbour entry expired.

pub(crate) mod budget;
pub(crate) mod peers;

use crate::counters::Counter;
use crate::packet::{PacketBuf, Sink};
use crate::pipeline::Pipeline;
pub use peers::PeerState;
use peers::{Peer, ARP_EVERY_MS};
use splicer_wire::EthernetAddress;

impl<P: PacketBuf> Pipeline<P> {
    /// The cluster's peers and which are alive, from the control core (all of them,
    /// every time). An empty list turns the cluster off: strays are reset.
    pub fn set_cluster_peers(&mut self, peers: &[PeerState], now: u64) {
        let old = std::mem::take(&mut self.cluster.peers);
        self.cluster.peers = peers
            .iter()
            .map(|&state| {
                let kept = old.iter().find(|p| p.state.address == state.address);
                let port = self
                    .topology
                    .route(state.address)
                    .and_then(|(port, hop)| (hop == state.address).then_some(port));
                Peer {
                    state,
                    port,
                    mac: kept
                        .and_then(|p| p.mac)
                        .or_else(|| self.neighbours.lookup(state.address, now)),
                    asked_at: kept.and_then(|p| p.asked_at),
                }
            })
            .collect();
    }

    /// The cluster's peers as this worker sees them: state and MAC, when known.
    pub fn cluster_peers(&self) -> Vec<(PeerState, Option<EthernetAddress>)> {
        self.cluster
            .peers
            .iter()
            .map(|p| (p.state, p.mac))
            .collect()
    }

    /// A segment to a virtual for no connection of this appliance, received on `port`
    /// (`acceptable`: it has ACK or RST set, so an owner could take it): sent to the
    /// live peers or dropped (`None`), or given back (`Some`) for the caller to reset,
    /// as without a cluster, when no peer is alive on that port.
    pub(crate) fn stray<S: Sink<P>>(
        &mut self,
        port: u16,
        pkt: P,
        acceptable: bool,
        now: u64,
        sink: &mut S,
    ) -> Option<P> {
        if self.cluster.peers.is_empty() {
            return Some(pkt);
        }
        let src = pkt
            .data()
            .get(6..12)
            .and_then(|b| <[u8; 6]>::try_from(b).ok())
            .map(EthernetAddress)
            .unwrap_or_default();
        if self.cluster.is_peer_mac(src) {
            self.counters.inc(port, Counter::ClusterStraysDropped);
            sink.discard(pkt);
            return None;
        }
        let live = |p: &Peer| p.state.live && p.port == Some(port);
        let Some(last) = self.cluster.peers.iter().rposition(live) else {
            return Some(pkt);
        };
        // In a synchronized state TCP drops a segment with neither (RFC 9293, 3.10.7.4):
        // no owner takes it, so copies of it would only amplify.
        if !acceptable {
            self.counters.inc(port, Counter::ClusterStraysNoAck);
            sink.discard(pkt);
            return None;
        }
        let per_sec = self.settings.flow.ticks_per_ms.saturating_mul(1000);
        let rate = self.settings.flow.stray_rate;
        if !self.cluster.budget.take(rate, per_sec, now) {
            self.counters.inc(port, Counter::ClusterStraysOverLimit);
            sink.discard(pkt);
            return None;
        }
        self.counters.inc(port, Counter::ClusterStraysForwarded);
        for i in 0..last {
            let peer = &self.cluster.peers[i];
            if !live(peer) {
                continue;
            }
            let address = peer.state.address;
            let Some(mut copy) = sink.alloc() else {
                self.counters.inc(port, Counter::DropAllocFailed);
                continue;
            };
            if !copy.resize(pkt.data().len()) {
                self.counters.inc(port, Counter::DropAllocFailed);
                sink.discard(copy);
                continue;
            }
            copy.data_mut().copy_from_slice(pkt.data());
            self.send_to_neighbour(port, address, copy, now, sink);
        }
        let address = self.cluster.peers[last].state.address;
        self.send_to_neighbour(port, address, pkt, now, sink);
        None
    }

    /// Asks live peers whose MAC is not known yet for it (about once a second), so that
    /// their forwarded segments are recognised as theirs from the first one.
    pub(crate) fn resolve_peers<S: Sink<P>>(&mut self, now: u64, sink: &mut S) {
        let every = ARP_EVERY_MS * self.settings.flow.ticks_per_ms.max(1);
        for i in 0..self.cluster.peers.len() {
            let p = &mut self.cluster.peers[i];
            let due = p.asked_at.is_none_or(|at| now.saturating_sub(at) >= every);
            let (Some(port), true, None, true) = (p.port, p.state.live, p.mac, due) else {
                continue;
            };
            p.asked_at = Some(now);
            let address = p.state.address;
            self.send_arp_request(port, address, sink);
        }
    }
}
