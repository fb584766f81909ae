//! The routed mode of TCP handoff (reals with `handoff_mode = "routed"`): the back end
//! may sit on another segment, behind a router, and needs no VIP on its loopback.
//!
//! * The HANDOFF names the back end's own address and port (the real's `address`;
//!   `splicer_wire::handoff::FLAG_ROUTED`): its agent replays the connection there.
//! * After the HANDOFF_ACK, Splicer rewrites each client segment's destination from the
//!   VIP's address and port to the real's (both checksums updated incrementally, as a
//!   splice does) and routes it like any packet to that address (on-link by ARP, or
//!   through the gateway). Sequence numbers are not Splicer's business here either: the
//!   kernel got the client's own ISN in the replayed SYN, and the agent translates the
//!   acknowledgements, SACK edges and timestamps into the kernel's space, as in the
//!   layer-2 mode.
//! * The agent rewrites the kernel's answers to come from the VIP's address and port
//!   (with Splicer's sequence numbers and clock) and sends them to the client through
//!   the back end's default route: they never pass Splicer.

use super::key::Handle;
use crate::balance::RealId;
use crate::counters::Counter;
use crate::packet::{PacketBuf, Sink};
use crate::parse::L3_OFFSET;
use crate::pipeline::Pipeline;
use crate::rewrite::{self, Translation};
use splicer_wire::handoff::{MAX_REQUEST_IN_1500_MTU, ROUTED_TRAILER_LEN};
use std::net::SocketAddrV4;

impl<P: PacketBuf> Pipeline<P> {
    /// The back end's own address a HANDOFF to `real` names: its `address` when its
    /// `handoff_mode` is routed, `None` in the layer-2 mode.
    pub(super) fn handoff_backend(&self, real: RealId) -> Option<SocketAddrV4> {
        self.topology
            .farm()
            .reals
            .get(usize::from(real))
            .filter(|r| r.handoff_routed)
            .map(|r| r.address)
    }

    /// The most request bytes a HANDOFF to `real` carries in one 1500-byte datagram
    /// (the routed mode's trailer takes 6 of them).
    pub(super) fn handoff_max_request(&self, real: RealId) -> usize {
        match self.handoff_backend(real) {
            Some(_) => MAX_REQUEST_IN_1500_MTU - ROUTED_TRAILER_LEN,
            None => MAX_REQUEST_IN_1500_MTU,
        }
    }

    /// Sends a packet of handed-off client `h` to its routed back end: destination
    /// address and port rewritten to `backend`'s, then routed there.
    pub(super) fn send_handed_off_routed<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        mut pkt: P,
        backend: SocketAddrV4,
        now: u64,
        sink: &mut S,
    ) {
        let Some(c) = self.flows.get_mut(h) else {
            return sink.discard(pkt);
        };
        let t = Translation {
            src: (c.key.client, c.key.client_port),
            dst: (*backend.ip(), backend.port()),
            seq: None,
            ack: None,
            window: None,
        };
        if rewrite::apply(&mut pkt.data_mut()[L3_OFFSET..], &t).is_err() {
            return self.drop(port, Counter::DropBadTcpHeader, pkt, sink);
        }
        self.counters.inc(port, Counter::HandedOffRouted);
        self.send_ipv4(port, pkt, *backend.ip(), now, sink);
    }
}
