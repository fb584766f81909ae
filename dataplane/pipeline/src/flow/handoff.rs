//! TCP handoff (`mode = "handoff"` virtuals; Hewlett-Packard's *Method and system for
//! a modular transmission control protocol (TCP) rare-handoff design in a STREAMS
//! based TCP/IP implementation*, US 7,831,731): Splicer plays the front end
//! (BTCP_FE).
//!
//! * **Handing off.** The client's handshake is completed and its request head read
//!   as for any virtual, and routed. When the real has an agent that is up and the
//!   request can go (the connection's first request, its bytes in one datagram, the
//!   client not half-closed), Splicer sends the agent a HANDOFF: the client's and its
//!   own initial sequence numbers, the options the client negotiated, the timestamps
//!   and window as last seen, and every byte the client sent. The agent replays the
//!   connection into its kernel and acknowledges. Meanwhile the client's segments are
//!   dropped unacknowledged (`handoff_client_dropped`): it sends them again, and then
//!   they reach the back end. The HANDOFF is resent every 100 ms.
//! * **Handed off.** Every later packet of the client is forwarded to the real with
//!   only its Ethernet addresses rewritten (layer-2 mode, as LVS-DR: the back end
//!   shares the segment and owns the VIP on its loopback), or, for a real with
//!   `handoff_mode = "routed"`, with its destination rewritten to the real's address
//!   and routed there (`handoff_routed`); the back end answers the
//!   client directly through the router, so no response byte passes through Splicer.
//!   A second request on the connection goes to the same back end (the patent's
//!   "rare" case: Splicer does not read it, so it cannot migrate it back).
//! * **The end.** The agent's CLOSED frees the state (and is acknowledged); silence
//!   from the client for `tcp_idle_timeout` does too; a client RST is forwarded and
//!   frees it.
//! * **Failures.** No acknowledgement within `handoff_timeout`, a refusal, or the
//!   agent down or restarted while the handoff waits: the request is spliced onto the
//!   real's plain address instead when the real keeps a pool, else answered `503`;
//!   never left hanging. The agent down or restarted after the handoff: both ends are
//!   reset (`handoff_lost`).
//!
//! What a handed-off connection costs its real's `maxconns`, and how Splicer ends one
//! itself (a real or virtual set `failed`, the process stopping) is `handoff_end`; the
//! routed mode (back ends on another segment) is `handoff_routed`.

use super::channel::{PendingHandoff, HANDOFF_RESEND_MS};
use super::client::State;
use super::due::Due;
use super::key::{ClientKey, Handle};
use super::segment::Seg;
use super::table::Conn;
use super::tcp::{ts_not_below, OUR_WSCALE};
use crate::balance::{Decision, Mode, RealId};
use crate::counters::{Counter, RealCounter};
use crate::packet::{PacketBuf, Sink};
use crate::pipeline::Pipeline;
use splicer_http::{parse_head, HeadStatus};
use splicer_wire::handoff::{Body, HandoffRepr, HandoffResult, Message};
use std::net::SocketAddrV4;

impl<P: PacketBuf> Pipeline<P> {
    /// Hands client connection `h`, whose request was routed to `real`, to the real's
    /// agent when its virtual is a handoff virtual: true when the handoff began (or,
    /// the agent being down, the request was answered), false when the request is to
    /// be spliced as usual.
    pub(super) fn try_handoff<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        real: RealId,
        now: u64,
        sink: &mut S,
    ) -> bool {
        let topology = self.topology.clone();
        let farm = topology.farm();
        let max_request = self.handoff_max_request(real);
        let Some(c) = self.flows.get_mut(h) else {
            return false;
        };
        let handoff = farm
            .virtuals
            .get(usize::from(c.service.virtual_index))
            .is_some_and(|v| v.mode == Mode::Handoff);
        let has_agent = farm
            .reals
            .get(usize::from(real))
            .is_some_and(|r| r.agent.is_some());
        if !handoff || !has_agent {
            return false;
        }
        let eligible = c.requests == 1
            && c.legs.is_empty()
            && c.tcp.snd_nxt == c.tcp.iss + 1
            && !c.tcp.fin_received
            && c.head.len() <= max_request;
        if !eligible {
            self.counters.inc(port, Counter::HandoffNotEligible);
            self.counters.inc(port, Counter::HandoffFallbackSplice);
            return false;
        }
        c.last_real = Some(real);
        if self.agent_up(real).is_none() {
            self.counters.inc(port, Counter::HandoffFailedAgentDown);
            return self.handoff_fallback(port, h, real, now, sink);
        }
        let Some(c) = self.flows.get_mut(h) else {
            return false;
        };
        c.state = State::HandingOff;
        c.wait_since = now;
        self.handoff_charge(h, real);
        let id = self.agents.next_id(self.settings.worker);
        self.agents.pending.insert(
            id,
            PendingHandoff {
                client: h,
                real,
                since: now,
            },
        );
        self.counters.inc(port, Counter::HandoffsStarted);
        self.send_handoff(h, id, now, sink);
        self.reschedule(h);
        true
    }

    /// Sends (again) the HANDOFF of client `h` with message id `id`, and sets when it
    /// goes again.
    fn send_handoff<S: Sink<P>>(&mut self, h: Handle, id: u32, now: u64, sink: &mut S) {
        let ts_now = self.ts_now(now);
        let epoch = self.keys.epoch();
        let tpm = self.settings.flow.ticks_per_ms;
        // The agent and mode recorded when the handoff began (`handoff_end::Charge`):
        // a resend after a reload goes where the first one went.
        let Some((agent, backend)) = self
            .handoff_charge_of(h)
            .and_then(|c| Some((c.agent?, c.routed_to)))
        else {
            return;
        };
        let Some(c) = self.flows.get_mut(h) else {
            return;
        };
        c.tcp.retransmit_at = Due::at(now + HANDOFF_RESEND_MS * tpm);
        let t = &c.tcp;
        let shift = t.peer_wscale.unwrap_or(0);
        let repr = HandoffRepr {
            client: SocketAddrV4::new(c.key.client, c.key.client_port),
            vip: SocketAddrV4::new(c.key.vip, c.key.vip_port),
            // Everything the client sent since its SYN is in the head buffer (this is
            // its first request): its ISN is that far back.
            client_isn: t.rcv_nxt.0.wrapping_sub(1 + c.head.len() as u32),
            splicer_isn: t.iss.0,
            mss: t.peer_mss,
            client_wscale: t.peer_wscale,
            splicer_wscale: t.peer_wscale.map(|_| OUR_WSCALE),
            sack_permitted: t.sack_ok,
            timestamps: t.ts_recent.is_some(),
            client_tsval: t.ts_recent.unwrap_or(0),
            splicer_tsval: ts_not_below(ts_now, t.ts_sent_max),
            client_window: (t.peer_window >> shift).min(u32::from(u16::MAX)) as u16,
            splicer_epoch: epoch,
            request: &[],
            backend,
        };
        // The request bytes are lent out of the connection for the message's time.
        let request = std::mem::take(&mut c.head);
        let msg = Message {
            id,
            body: Body::Handoff(HandoffRepr {
                request: &request,
                ..repr
            }),
        };
        self.send_agent(agent, &msg, now, sink);
        if let Some(c) = self.flows.get_mut(h) {
            c.head = request;
        }
    }

    /// The client timer of a connection being handed off: the HANDOFF goes again, or
    /// after `handoff_timeout` the handoff is given up.
    pub(super) fn handoff_timer<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        now: u64,
        sink: &mut S,
    ) {
        let s = self.settings.flow;
        let Some(c) = self.flows.get_mut(h) else {
            return;
        };
        let since = c.wait_since;
        let pending = self
            .agents
            .pending
            .iter()
            .find(|(_, p)| p.client == h)
            .map(|(&id, p)| (id, p.real));
        let Some((id, real)) = pending else {
            // Never: a connection handing off has its HANDOFF pending.
            c.tcp.retransmit_at = Due::NONE;
            return self.respond(port, h, 503, now, sink);
        };
        if now >= since + s.handoff_timeout {
            self.agents.pending.remove(&id);
            self.counters.inc(port, Counter::HandoffFailedTimeout);
            self.handoff_fallback(port, h, real, now, sink);
            return;
        }
        self.counters.inc(port, Counter::HandoffRetransmits);
        self.send_handoff(h, id, now, sink);
        self.reschedule(h);
    }

    /// The agent of `real` answered HANDOFF `id` with `result`.
    pub(super) fn handoff_acked<S: Sink<P>>(
        &mut self,
        port: u16,
        real: RealId,
        id: u32,
        result: HandoffResult,
        now: u64,
        sink: &mut S,
    ) {
        let Some(p) = self.agents.pending.remove(&id) else {
            // A repeated acknowledgement (the HANDOFF was resent) or a late one.
            return;
        };
        let h = p.client;
        let waiting = self
            .flows
            .get_mut(h)
            .is_some_and(|c| c.state == State::HandingOff && c.last_real == Some(real));
        if p.real != real || !waiting {
            return;
        }
        if result != HandoffResult::Ok {
            self.counters.inc(port, Counter::HandoffFailedRefused);
            self.handoff_fallback(port, h, real, now, sink);
            return;
        }
        let Some(c) = self.flows.get_mut(h) else {
            return;
        };
        c.state = State::HandedOff;
        c.tcp.retransmit_at = Due::NONE;
        c.tcp.last_activity = now;
        self.counters.inc(port, Counter::HandoffsOk);
        self.counters.inc_real(real, RealCounter::Handoffs);
        self.reschedule(h);
    }

    /// The handoff of client `h` to `real` failed (or could not be tried): its request
    /// is spliced onto the real's plain address when the real keeps a pool, else
    /// answered `503`.
    pub(super) fn handoff_fallback<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        real: RealId,
        now: u64,
        sink: &mut S,
    ) -> bool {
        // The splice charges its own server connection; a 503 frees the slots.
        let freed = self.handoff_release(h);
        let pooled = self
            .topology
            .farm()
            .reals
            .get(usize::from(real))
            .is_some_and(|r| r.pool > 0);
        let Some(c) = self.flows.get_mut(h) else {
            return true;
        };
        c.tcp.retransmit_at = Due::NONE;
        c.state = State::ReadingHead;
        let head = match parse_head(&c.head, c.service.max_request_head()) {
            HeadStatus::Complete(head) if pooled => head,
            _ => {
                self.counters.inc(port, Counter::Handoff503);
                self.respond(port, h, 503, now, sink);
                if let Some(real) = freed {
                    self.serve_queue(real, now, sink);
                }
                return true;
            }
        };
        self.counters.inc(port, Counter::HandoffFallbackSplice);
        self.splice_routed(port, h, head, Some(real), Decision::Splice(real), now, sink);
        true
    }

    /// A segment of client `h` while its connection is being handed off: a RST at the
    /// next byte ends it; anything else is dropped unacknowledged (sent again by the
    /// client, it reaches the back end once the handoff is made).
    pub(super) fn handing_off_segment<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        seg: &Seg,
        pkt: P,
        sink: &mut S,
    ) {
        let reset = seg.rst()
            && self
                .flows
                .get_mut(h)
                .is_some_and(|c| seg.seq == c.tcp.rcv_nxt);
        if reset {
            self.counters.inc(port, Counter::ClientResets);
            self.close(h);
            return sink.discard(pkt);
        }
        self.drop(port, Counter::HandoffClientDropped, pkt, sink)
    }

    /// A packet of handed-off client `h`: to its back end, only the Ethernet addresses
    /// rewritten. A client RST also ends Splicer's state.
    pub(super) fn handed_off_forward<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        seg: &Seg,
        pkt: P,
        now: u64,
        sink: &mut S,
    ) {
        self.handed_off_track(h, seg);
        let Some(c) = self.flows.get_mut(h) else {
            return sink.discard(pkt);
        };
        c.tcp.last_activity = now;
        // Where the connection was handed off to, whatever a reload made of its real
        // since (`handoff_end::Charge`).
        let Some((agent, routed_to)) = self
            .handoff_charge_of(h)
            .and_then(|c| Some((c.agent?, c.routed_to)))
        else {
            return self.drop(port, Counter::DropNoRoute, pkt, sink);
        };
        self.counters.inc(port, Counter::HandedOffForwarded);
        match routed_to {
            Some(backend) => self.send_handed_off_routed(port, h, pkt, backend, now, sink),
            // The agent's address is the back end's: its MAC is the next hop.
            None => self.send_ipv4(port, pkt, *agent.ip(), now, sink),
        }
        if seg.rst() {
            self.counters.inc(port, Counter::ClientResets);
            self.handed_off_close(h, now, sink);
        }
    }

    /// The agent reported the handed-off connection of `client` to `vip` closed.
    pub(super) fn handed_off_closed<S: Sink<P>>(
        &mut self,
        port: u16,
        client: SocketAddrV4,
        vip: SocketAddrV4,
        now: u64,
        sink: &mut S,
    ) {
        let key = ClientKey {
            client: *client.ip(),
            client_port: client.port(),
            vip: *vip.ip(),
            vip_port: vip.port(),
        };
        let Some(h) = self.flows.lookup(&key) else {
            // Already gone (an earlier CLOSED, a client RST): acknowledged all the same.
            return;
        };
        if matches!(self.flows.conn_mut(h), Some(Conn::Client(c)) if c.state == State::HandedOff) {
            self.counters.inc(port, Counter::HandedOffClosed);
            self.handed_off_close(h, now, sink);
        }
    }

    /// The client timer of a handed-off connection: `tcp_idle_timeout` of silence
    /// from the client; its state is forgotten (a later packet of its gets a RST).
    pub(super) fn handed_off_idle<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        now: u64,
        sink: &mut S,
    ) {
        self.counters.inc(port, Counter::HandedOffIdleTimeouts);
        self.handed_off_close(h, now, sink);
    }
}
