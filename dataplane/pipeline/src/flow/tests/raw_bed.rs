//! What the raw test beds of handoff (`handoff.rs`, `handoff_routed.rs`) and local
//! service (`local.rs`) share: a pipeline driven by hand on its own clock, a client
//! that connects from `CLIENT_PORT` with `CLIENT_ISN`, and datagrams in an agent's name.
//! Each bed keeps what it wants of what Splicer sends (`RawBed::take`).

use super::spliced::{frame, Seg};
use super::*;
use crate::balance::{Real, VirtualPolicy};
use splicer_wire::handoff::{Body, CloseReason, Message};
use splicer_wire::udp;

pub(super) const CLIENT_PORT: u16 = 40000;
pub(super) const CLIENT_ISN: u32 = 9000;
pub(super) const AGENT_PORT: u16 = 7470;
/// The inside port's address (port 1 of `two_ports`).
pub(super) const INSIDE: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 1);
/// The inside port's MAC: where the back end's and the kernel's frames go.
pub(super) const INSIDE_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];

/// A pipeline driven by hand: `poll`, `advance` and what the client sends all end in
/// the bed's own `take`.
pub(super) trait RawBed {
    /// Keeps what Splicer sent.
    fn take(&mut self, out: Out);
    /// The pipeline, the bed's clock, and Splicer's ISN towards the client (from its
    /// SYN-ACK).
    fn raw(&mut self) -> (&mut Pipeline<Vec<u8>>, &mut u64, u32);

    fn poll(&mut self) {
        let mut out = Out::default();
        let (p, now, _) = self.raw();
        p.poll_timers(*now, &mut out);
        self.take(out);
    }

    /// Moves the clock by `ms`, polling the timers every millisecond on the way.
    fn advance(&mut self, ms: u64) {
        for _ in 0..ms {
            *self.raw().1 += MS;
            self.poll();
        }
    }

    /// Applies `change` to the farm, as the control core does.
    fn reconfigure(&mut self, change: impl FnOnce(&mut crate::balance::Farm)) {
        let mut out = Out::default();
        let (p, now, _) = self.raw();
        let topo = crate::topology::Topology::clone(p.topology());
        let mut farm = topo.farm().clone();
        change(&mut farm);
        p.set_topology(std::sync::Arc::new(topo.with_farm(farm)), *now, &mut out);
        self.take(out);
    }

    /// The requests (and handed-off or local connections) in flight on real 0.
    fn inflight(&mut self) -> u32 {
        let (p, now, _) = self.raw();
        p.pool_stats(0, *now).inflight
    }

    /// Frame `f` comes in through `port`, now.
    fn receive(&mut self, port: u16, f: Vec<u8>) {
        let mut out = Out::default();
        let (p, now, _) = self.raw();
        p.receive(port, f, *now, &mut out);
        self.take(out);
    }

    fn client_sends(&mut self, s: Seg) {
        self.receive(0, client_frame(&s));
    }

    /// The client's SYN, with timestamps; returns Splicer's ISN.
    fn client_syn(&mut self) -> u32 {
        self.client_sends(Seg {
            seq: CLIENT_ISN,
            flags: tcp::flags::SYN,
            ts: Some((100, 0)),
            ..Seg::default()
        });
        self.raw().2
    }

    /// Handshake with timestamps, then `request`.
    fn connect_and_request(&mut self, request: &[u8]) {
        let iss = self.client_syn();
        self.client_sends(request_seg(iss, 101, &[]));
        self.client_sends(request_seg(iss, 102, request));
    }
}

/// A worker whose farm is `real` alone, bound to the virtual `v`; the real's address
/// is a known neighbour on the inside.
pub(super) fn one_real_pipeline(v: VirtualPolicy, real: Real) -> Pipeline<Vec<u8>> {
    let server = *real.address.ip();
    let farm = Farm {
        reals: vec![real],
        virtuals: vec![v],
        urls: Vec::new(),
    };
    farm_pipeline(farm, (0, 1), settings(16), 32, &[server])
}

/// The client's segment right after the handshake (TSval `tsval`): `request` from its
/// first byte on, acknowledging Splicer's SYN (ISN `iss`).
pub(super) fn request_seg(iss: u32, tsval: u32, request: &[u8]) -> Seg {
    Seg {
        seq: CLIENT_ISN + 1,
        ack: Some(iss + 1),
        ts: Some((tsval, 0)),
        payload: request.to_vec(),
        ..Seg::default()
    }
}

/// The client's segment after `request` (TSval 110): `payload` at its next byte,
/// acknowledging `ack`.
pub(super) fn after_request(request: &[u8], ack: u32, payload: &[u8]) -> Seg {
    Seg {
        seq: CLIENT_ISN + 1 + request.len() as u32,
        ack: Some(ack),
        ts: Some((110, 0)),
        payload: payload.to_vec(),
        ..Seg::default()
    }
}

/// The client's segment `s` to the VIP, as a frame.
pub(super) fn client_frame(s: &Seg) -> Vec<u8> {
    frame((CLIENT, CLIENT_PORT), (VIP, 80), s)
}

/// A channel datagram from `from` to `to` carrying `msg`, on the agent's port, to the
/// MAC `to_mac`.
pub(super) fn agent_frame(from: Ipv4Addr, to: Ipv4Addr, to_mac: [u8; 6], msg: &Message) -> Vec<u8> {
    let mut d = vec![0u8; 8 + msg.buffer_len()];
    msg.emit(&mut d[8..]).unwrap();
    let len = d.len() as u16;
    let mut u = udp::Packet::new_unchecked(&mut d[..]);
    u.set_src_port(AGENT_PORT);
    u.set_dst_port(AGENT_PORT);
    u.set_len(len);
    u.fill_checksum(from, to);
    let mut f = ipv4_frame(from, to, ipv4::protocol::UDP, &d);
    f[..6].copy_from_slice(&to_mac);
    f
}

/// The agent's answer to heartbeat `id`: alive since `epoch`, holding nothing.
pub(super) fn heartbeat_ack(id: u32, epoch: u64) -> Message<'static> {
    Message {
        id,
        body: Body::HeartbeatAck {
            epoch,
            connections: 0,
        },
    }
}

/// The agent's report `id` that the client's connection (`CLIENT_PORT`) ended.
pub(super) fn closed(id: u32, reason: CloseReason) -> Message<'static> {
    Message {
        id,
        body: Body::Closed {
            client: SocketAddrV4::new(CLIENT, CLIENT_PORT),
            vip: SocketAddrV4::new(VIP, 80),
            reason,
        },
    }
}
