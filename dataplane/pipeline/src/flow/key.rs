//! How connections are named: by their addresses ([`ClientKey`], the flow table's index)
//! and by their slot ([`Handle`], what timers and the other leg hold).

use std::net::Ipv4Addr;

/// A connection's addresses, as seen on a segment arriving from the peer: for a client
/// leg the peer is the client and the local end the VIP, for a server leg the peer is the
/// real server and the local end the inside port's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientKey {
    /// Peer address.
    pub client: Ipv4Addr,
    /// Peer port.
    pub client_port: u16,
    /// Local address (VIP or port address).
    pub vip: Ipv4Addr,
    /// Local port.
    pub vip_port: u16,
}

/// A slot handle that stays valid only while its connection lives: timers refer to
/// connections by handle, and a reused slot has a new generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Handle {
    pub slot: u32,
    pub generation: u32,
}
