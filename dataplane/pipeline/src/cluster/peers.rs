//! A worker's view of the cluster: its peers, whether they are alive, and their MACs once
//! learned. Kept apart from the code that acts on strays (the parent module) so that the
//! pipeline can hold it without importing that code.

use splicer_wire::EthernetAddress;
use std::net::Ipv4Addr;

/// A cluster peer as the control core tells the workers: its dataplane address (on the
/// segment the appliances share) and whether its heartbeats arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerState {
    /// The peer's dataplane address on the shared segment.
    pub address: Ipv4Addr,
    /// Whether its heartbeats arrive (within the cluster's dead time).
    pub live: bool,
}

/// How often an unresolved live peer is asked for its MAC, in milliseconds.
pub(super) const ARP_EVERY_MS: u64 = 1000;

#[derive(Debug, Clone)]
pub(super) struct Peer {
    pub(super) state: PeerState,
    /// The port on whose subnet the peer is.
    pub(super) port: Option<u16>,
    pub(super) mac: Option<EthernetAddress>,
    /// When an ARP request for it last went out.
    pub(super) asked_at: Option<u64>,
}

/// A worker's view of the cluster.
#[derive(Debug, Clone, Default)]
pub(crate) struct Peers {
    pub(super) peers: Vec<Peer>,
    /// What is left of this worker's `stray_rate`.
    pub(super) budget: super::budget::StrayBudget,
}

impl Peers {
    /// Records the MAC of `ip` when it is a peer's.
    pub(crate) fn learned(&mut self, ip: Ipv4Addr, mac: EthernetAddress) {
        for p in &mut self.peers {
            if p.state.address == ip {
                p.mac = Some(mac);
            }
        }
    }

    /// Whether `mac` is the MAC of a peer, live or not.
    pub(super) fn is_peer_mac(&self, mac: EthernetAddress) -> bool {
        self.peers.iter().any(|p| p.mac == Some(mac))
    }
}
