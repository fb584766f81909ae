//! The addressing plan of a benchmark run: which addresses, ports and initial sequence
//! numbers each flow has on its two legs, and what the worker promises to turn a client
//! segment into.
//!
//! Both sides derive everything from the flow id with the functions here, and nothing
//! else is shared between them: the worker builds its translation table from
//! [`FlowPlan::worker_entry`] (the constants a splice would hold), the generator builds
//! its packets from [`FlowPlan::client`] and checks returned packets against
//! [`FlowPlan::expected_seq`] / [`FlowPlan::expected_ack`], which restate the formula
//! `out = in - in_start + out_start` of NetScaler's "Internet client-server
//! multiplexer" (WO 00/28433) with their own arithmetic.
//!
//! Addresses come from 198.18.0.0/15, the benchmarking range (RFC 2544); nothing leaves
//! the process anyway.
//!
//! | leg | source | destination |
//! |---|---|---|
//! | client → Splicer (generated) | `198.18.128.0 + id / 64512`, port `1024 + id % 64512` | VIP `198.18.0.100:80` |
//! | Splicer → server (returned) | `198.19.64.0 + id / 64512`, port `65535 - id % 64512` | `198.19.0.10 + id % 4`, port 8080 |
//!
//! The client port counts up and the local port counts down, so a worker that forgot to
//! rewrite a port can never produce the expected one by accident.

use splicer_pipeline::rewrite::seqmap::{self, Segment};
use splicer_pipeline::rewrite::Translation;
use splicer_wire::tcp::SeqNumber;
use std::net::Ipv4Addr;

/// Ports per address on either side: 1024..=65535.
pub const PORTS_PER_ADDRESS: u32 = 64_512;

/// First client address (flow ids 0..64511 use it).
pub const CLIENT_BASE: Ipv4Addr = Ipv4Addr::new(198, 18, 128, 0);
/// First client port.
pub const CLIENT_PORT_BASE: u16 = 1024;
/// The virtual server the clients talk to.
pub const VIP: (Ipv4Addr, u16) = (Ipv4Addr::new(198, 18, 0, 100), 80);
/// First local (server-leg) address of the appliance.
pub const LOCAL_BASE: Ipv4Addr = Ipv4Addr::new(198, 19, 64, 0);
/// First server address; flows spread over [`SERVERS`] servers.
pub const SERVER_BASE: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 10);
/// Number of servers.
pub const SERVERS: u32 = 4;
/// The servers' port.
pub const SERVER_PORT: u16 = 8080;

/// Largest number of flows the plan can address (the client and local address ranges
/// stay inside 198.18.128.0/17 and 198.19.64.0/18).
pub const MAX_FLOWS: u32 = PORTS_PER_ADDRESS * 16_384;

/// The worker's per-flow state for the bare rewrite: the new addresses and ports, and the
/// two constant sequence offsets of a splice that inserted no bytes (a one-segment
/// [`seqmap::SeqMap`] in each direction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerEntry {
    /// Addresses and ports on the server leg; `seq`, `ack` and `window` are filled per
    /// packet (`window` stays `None`: both legs use the same scale here).
    pub translation: Translation,
    /// Client sequence space → server-leg sequence space.
    pub upstream: Segment,
    /// Client's acknowledgements (in the space Splicer's client leg uses) → the server's
    /// space.
    pub ack: Segment,
}

/// The per-flow facts of the plan. All functions are pure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowPlan {
    flows: u32,
}

/// A flow's client-side addressing and numbers, as the generator sends them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientSide {
    /// Client address and port.
    pub src: (Ipv4Addr, u16),
    /// The VIP.
    pub dst: (Ipv4Addr, u16),
    /// Sequence number of the first data byte the client sends.
    pub first_seq: SeqNumber,
    /// The acknowledgement number the client sends (Splicer's client-leg ISN + 1: the
    /// client has received no data).
    pub ack: SeqNumber,
}

/// A flow's server-leg addressing, as the worker must send it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerSide {
    /// Splicer's local address and port on the pooled server connection.
    pub src: (Ipv4Addr, u16),
    /// The server.
    pub dst: (Ipv4Addr, u16),
}

/// A well-mixed 32-bit value of `x` (a multiplicative hash with a final xor-shift), for
/// initial sequence numbers that differ between flows and legs.
fn mix(x: u32, salt: u32) -> u32 {
    let mut h = x.wrapping_add(salt).wrapping_mul(0x9e37_79b1);
    h ^= h >> 15;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^ (h >> 13)
}

fn offset_addr(base: Ipv4Addr, n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(base).wrapping_add(n))
}

impl FlowPlan {
    /// A plan for `flows` flows (1..=[`MAX_FLOWS`]).
    pub fn new(flows: u32) -> Result<FlowPlan, String> {
        if flows == 0 || flows > MAX_FLOWS {
            return Err(format!("--flows must be 1..={MAX_FLOWS}, not {flows}"));
        }
        Ok(FlowPlan { flows })
    }

    /// Number of flows.
    pub fn flows(&self) -> u32 {
        self.flows
    }

    /// Client-side facts of flow `id`.
    pub fn client(&self, id: u32) -> ClientSide {
        ClientSide {
            src: (
                offset_addr(CLIENT_BASE, id / PORTS_PER_ADDRESS),
                CLIENT_PORT_BASE + (id % PORTS_PER_ADDRESS) as u16,
            ),
            dst: VIP,
            first_seq: SeqNumber(mix(id, 0x0c11_e417)),
            ack: SeqNumber(self.splicer_commandsent_isn(id).wrapping_add(1)),
        }
    }

    /// Server-leg facts of flow `id`.
    pub fn server(&self, id: u32) -> ServerSide {
        ServerSide {
            src: (
                offset_addr(LOCAL_BASE, id / PORTS_PER_ADDRESS),
                u16::MAX - (id % PORTS_PER_ADDRESS) as u16,
            ),
            dst: (offset_addr(SERVER_BASE, id % SERVERS), SERVER_PORT),
        }
    }

    /// The ISN Splicer chose on the client leg (its SYN-ACK's sequence number).
    fn splicer_commandsent_isn(&self, id: u32) -> u32 {
        mix(id, 0x5e1f_0001)
    }

    /// Where the client's first byte lands in the pooled server connection's sequence
    /// space (Splicer's next sequence number on that connection when it was spliced).
    fn server_leg_seq(&self, id: u32) -> u32 {
        mix(id, 0x5e1f_0002)
    }

    /// The server's next sequence number on the pooled connection, which the client's
    /// acknowledgement of Splicer's ISN + 1 maps to.
    fn server_next_seq(&self, id: u32) -> u32 {
        mix(id, 0x5e1f_0003)
    }

    /// The sequence number a client segment of flow `id` with sequence number `seq` must
    /// carry on the server leg: `seq - client_first + server_leg_seq`.
    pub fn expected_seq(&self, id: u32, seq: SeqNumber) -> SeqNumber {
        let c = self.client(id);
        SeqNumber(
            seq.0
                .wrapping_sub(c.first_seq.0)
                .wrapping_add(self.server_leg_seq(id)),
        )
    }

    /// The acknowledgement number a client segment of flow `id` acknowledging `ack` must
    /// carry on the server leg: `ack - (splicer_isn + 1) + server_next`.
    pub fn expected_ack(&self, id: u32, ack: SeqNumber) -> SeqNumber {
        let c = self.client(id);
        SeqNumber(
            ack.0
                .wrapping_sub(c.ack.0)
                .wrapping_add(self.server_next_seq(id)),
        )
    }

    /// The worker's table entry for flow `id`, built the way the splice engine builds a
    /// splice: `seqmap::delta` between the two legs' starting numbers.
    pub fn worker_entry(&self, id: u32) -> WorkerEntry {
        let c = self.client(id);
        let s = self.server(id);
        WorkerEntry {
            translation: Translation {
                src: s.src,
                dst: s.dst,
                seq: None,
                ack: None,
                window: None,
            },
            upstream: Segment {
                from: c.first_seq,
                delta: seqmap::delta(c.first_seq, SeqNumber(self.server_leg_seq(id))),
                leg: 0,
            },
            ack: Segment {
                from: c.ack,
                delta: seqmap::delta(c.ack, SeqNumber(self.server_next_seq(id))),
                leg: 0,
            },
        }
    }

    /// The flow id a client packet from `src` belongs to, if it is one of this plan's.
    #[inline]
    pub fn flow_of_client(&self, src: (Ipv4Addr, u16)) -> Option<u32> {
        let hi = u32::from(src.0).checked_sub(u32::from(CLIENT_BASE))?;
        let lo = u32::from(src.1.checked_sub(CLIENT_PORT_BASE)?);
        let id = hi.checked_mul(PORTS_PER_ADDRESS)?.checked_add(lo)?;
        (id < self.flows).then_some(id)
    }

    /// The flow id a server-leg packet from `src` (Splicer's local address and port)
    /// belongs to, if it is one of this plan's: [`FlowPlan::server`] backwards.
    #[inline]
    pub fn flow_of_local(&self, src: (Ipv4Addr, u16)) -> Option<u32> {
        let hi = u32::from(src.0).checked_sub(u32::from(LOCAL_BASE))?;
        let lo = u32::from(u16::MAX.checked_sub(src.1)?);
        if lo >= PORTS_PER_ADDRESS {
            return None;
        }
        let id = hi.checked_mul(PORTS_PER_ADDRESS)?.checked_add(lo)?;
        (id < self.flows).then_some(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_ids_round_trip_through_client_addresses() {
        let plan = FlowPlan::new(200_000).unwrap();
        for id in [0, 1, 64_511, 64_512, 64_513, 199_999] {
            assert_eq!(plan.flow_of_client(plan.client(id).src), Some(id), "{id}");
        }
        let p = plan.client(64_512).src;
        assert_eq!(p, (Ipv4Addr::new(198, 18, 128, 1), 1024));
        assert_eq!(
            plan.server(64_512).src,
            (Ipv4Addr::new(198, 19, 64, 1), 65535)
        );
        assert_eq!(
            plan.flow_of_client((Ipv4Addr::new(198, 18, 0, 1), 2000)),
            None
        );
        assert_eq!(plan.flow_of_client((CLIENT_BASE, 80)), None);
        for id in [0, 1, 64_511, 64_512, 199_999] {
            assert_eq!(plan.flow_of_local(plan.server(id).src), Some(id), "{id}");
        }
        assert_eq!(plan.flow_of_local(plan.client(5).src), None);
        assert_eq!(plan.flow_of_local((LOCAL_BASE, 1023)), None);
        let small = FlowPlan::new(10).unwrap();
        assert_eq!(small.flow_of_client((CLIENT_BASE, 1034)), None);
        assert!(FlowPlan::new(0).is_err());
        assert!(FlowPlan::new(MAX_FLOWS + 1).is_err());
    }

    #[test]
    fn client_and_local_ports_never_coincide() {
        let plan = FlowPlan::new(PORTS_PER_ADDRESS).unwrap();
        for id in 0..PORTS_PER_ADDRESS {
            assert_ne!(plan.client(id).src.1, plan.server(id).src.1, "{id}");
        }
    }

    #[test]
    fn worker_entry_keeps_the_promise() {
        let plan = FlowPlan::new(1000).unwrap();
        for id in [0, 7, 999] {
            let e = plan.worker_entry(id);
            let c = plan.client(id);
            for k in [0usize, 1, 1460, 1 << 31, 3 << 30] {
                let seq = c.first_seq + k;
                assert_eq!(e.upstream.map(seq), plan.expected_seq(id, seq));
            }
            assert_eq!(e.ack.map(c.ack), plan.expected_ack(id, c.ack));
            assert_eq!(e.translation.src, plan.server(id).src);
            assert_eq!(e.translation.dst, plan.server(id).dst);
        }
    }
}
