//! `show flows`: a bounded snapshot of one worker's client connections, for the control
//! core. Walks the flow table, so it is for operators, not for the packet path.

use super::client::State;
use super::table::Conn;
use crate::balance::RealId;
use crate::packet::PacketBuf;
use crate::pipeline::Pipeline;
use std::net::{Ipv4Addr, SocketAddrV4};

/// Which client connections to list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FlowFilter {
    /// Only connections to this virtual (its index).
    pub virtual_index: Option<u16>,
    /// Only connections whose current or latest request went to this real.
    pub real: Option<RealId>,
    /// Only connections from this client address.
    pub client: Option<Ipv4Addr>,
    /// At most this many rows (the count of matches goes on).
    pub limit: usize,
}

/// One client connection as `show flows` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowInfo {
    /// The client's address and port.
    pub client: SocketAddrV4,
    /// The virtual's address and port it connected to.
    pub vip: SocketAddrV4,
    /// Index of the virtual.
    pub virtual_index: u16,
    /// Where the connection is: `handshake`, `reading`, `waiting`, `spliced`,
    /// `responding`.
    pub state: &'static str,
    /// The real of its current (spliced) or latest request.
    pub real: Option<RealId>,
    /// While spliced: Splicer's address and port on the server connection.
    pub server_local: Option<SocketAddrV4>,
    /// Requests it sent so far.
    pub requests: u32,
    /// Its requests on server connections now, whose responses are not all sent yet:
    /// the one whose response goes to the client, then those pipelined behind it (the
    /// splicer directory).
    pub in_flight: u16,
    /// Bytes of the pipelined requests' responses held for their turn.
    pub held: usize,
    /// Time since it was last active, in the pipeline's ticks.
    pub idle_ticks: u64,
}

impl<P: PacketBuf> Pipeline<P> {
    /// The client connections that pass `filter` (at most `filter.limit`), and how many
    /// passed it in all.
    pub fn list_flows(&self, filter: &FlowFilter, now: u64) -> (Vec<FlowInfo>, u64) {
        let mut rows = Vec::new();
        let mut matched = 0u64;
        for conn in self.flows.conns() {
            let Conn::Client(c) = conn else {
                continue;
            };
            let spliced = c.legs.front().and_then(|l| self.flows.server(l.server));
            let real = spliced.map(|s| s.real).or(c.last_real);
            if filter
                .virtual_index
                .is_some_and(|v| v != c.service.virtual_index)
                || filter.real.is_some_and(|r| Some(r) != real)
                || filter.client.is_some_and(|ip| ip != c.key.client)
            {
                continue;
            }
            matched += 1;
            if rows.len() >= filter.limit {
                continue;
            }
            rows.push(FlowInfo {
                client: SocketAddrV4::new(c.key.client, c.key.client_port),
                vip: SocketAddrV4::new(c.key.vip, c.key.vip_port),
                virtual_index: c.service.virtual_index,
                state: match c.state {
                    State::SynReceived => "handshake",
                    State::ReadingHead => "reading",
                    State::Waiting if c.tunnel => "connecting",
                    State::Waiting => "waiting",
                    State::Tunnel => "tunnel",
                    State::Spliced => "spliced",
                    State::Responding => "responding",
                    State::HandingOff => "handing-off",
                    State::HandedOff => "handed-off",
                    State::LocalReplaying => "local-replaying",
                    State::Local => "local",
                },
                real,
                server_local: spliced.map(|s| SocketAddrV4::new(s.key.vip, s.key.vip_port)),
                requests: c.requests,
                in_flight: c.legs.len().min(usize::from(u16::MAX)) as u16,
                held: c
                    .legs
                    .iter()
                    .filter_map(|l| self.held.get(&l.server))
                    .map(|h| h.bytes())
                    .sum(),
                idle_ticks: now.saturating_sub(c.tcp.last_activity),
            });
        }
        (rows, matched)
    }
}
