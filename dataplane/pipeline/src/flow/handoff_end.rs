//! What a handed-off connection costs its real, and how Splicer itself ends one (the
//! agent's CLOSED and the client's RST are `handoff`).
//!
//! * **`maxconns`.** A connection being handed off, or handed off, takes its rule's
//!   `cost` of its real's high-water mark on its worker from the HANDOFF on, as a
//!   spliced request takes it on its server connection: the back end serves it, and
//!   it counts against the requests in flight the real is given (`show real`'s
//!   in-flight figure includes it). The slots come free when Splicer forgets the
//!   connection (CLOSED, `tcp_idle_timeout`, a reset, the handoff failing), and the
//!   requests queued for the real may take them.
//! * **What Splicer knows of the connection.** It forwards the client's segments, so
//!   it follows the client's next sequence number (`rcv_nxt`: what the back end's
//!   kernel expects next) and its latest acknowledgement (`snd_nxt`, `snd_una`: the
//!   next byte the client expects, in Splicer's own sequence space, which the agent
//!   keeps the back end's in). With them it can reset both ends.
//! * **A real set `failed`** (the shell, `set real … failed`): its handoffs under way
//!   are given up with a `503` (no splice to a failed real), and its handed-off
//!   clients are reset, both ends: a RST at the client's next byte to the back end
//!   (through the agent, which then reports it CLOSED), and the probe of
//!   `handed_off_reset` to the client (counted `reset_failed`). A virtual set `failed`
//!   does the same to its handed-off clients. `out of service`, `maintenance` and
//!   health checks leave handed-off connections alone: they take no new work, and
//!   what is in flight finishes, as a spliced response does (a dead back end shows as
//!   its agent going silent, which resets them).
//! * **A graceful stop** waits for handed-off connections (and handoffs under way) up
//!   to `stop_timeout`, as for spliced requests: Splicer still forwards their client's
//!   segments, and the back end may be sending a response. Splicer cannot close one
//!   with a FIN (its bytes are the back end's), so an idle keep-alive connection holds
//!   the stop until its client or back end closes it or `stop_timeout` passes. Those
//!   left are then reset at both ends, the client with a RST at its latest
//!   acknowledgement (exact when nothing arrived for it since; the process is gone
//!   when a probe's answer would come back) and counted `stop_resets`.
//! * **Local service** (`local`) is charged and ended the same way: a connection
//!   replayed into Splicer's own kernel takes its slot from the replay on, a real set
//!   `failed` answers a replay under way `503` and resets an established one at both
//!   ends (a RST to the kernel at the client's next byte, one to the client), and a
//!   graceful stop waits for it, then resets the kernel's side too.

use super::client::State;
use super::due::Due;
use super::handoff_lost::BackEndReset;
use super::key::Handle;
use super::segment::Seg;
use super::table::Conn;
use crate::balance::RealId;
use crate::counters::Counter;
use crate::packet::{PacketBuf, Sink};
use crate::pipeline::Pipeline;
use splicer_wire::tcp;
use std::net::SocketAddrV4;

/// A connection being handed off or handed off (or served locally), as it was when it
/// began: its real and the slots of its `maxconns` it takes, and where its packets go.
/// Where they go is kept per connection rather than read from the real each time, so
/// that a reload changing the real's `handoff_mode` (or its agent) leaves the
/// connections already handed off as they were: the back end's kernel holds each under
/// the address it was replayed to, and only packets sent there reach it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Charge {
    pub(crate) real: RealId,
    pub(crate) cost: u16,
    /// The real's agent (`None` for local service): in the layer-2 mode its address's
    /// MAC is the next hop of the client's packets.
    pub(crate) agent: Option<SocketAddrV4>,
    /// The routed mode (`handoff_mode = "routed"`): the back end's own address and
    /// port, the client's packets' new destination; `None` in the layer-2 mode.
    pub(crate) routed_to: Option<SocketAddrV4>,
}

impl<P: PacketBuf> Pipeline<P> {
    /// Client `h` is being handed off to `real`: its request's cost (the rule that
    /// routed it) is charged to the real, and the real's agent and mode recorded.
    pub(super) fn handoff_charge(&mut self, h: Handle, real: RealId) {
        let cost = self.balance.cost();
        let r = self.topology.farm().reals.get(usize::from(real));
        let charge = Charge {
            real,
            cost,
            agent: r.and_then(|r| r.agent),
            routed_to: self.handoff_backend(real),
        };
        self.pools.get(real).inflight += u32::from(cost);
        if let Some(old) = self.agents.charged.insert(h, charge) {
            // Never: a connection is handed off once; keep the count right anyway.
            self.pools.get(old.real).inflight -= u32::from(old.cost);
        }
    }

    /// What client `h` was charged with when its handoff began (see [`Charge`]).
    pub(super) fn handoff_charge_of(&self, h: Handle) -> Option<Charge> {
        self.agents.charged.get(&h).copied()
    }

    /// Client `h` no longer takes a slot of its real (it is forgotten, or its handoff
    /// failed): returns the real whose slots came free. Cheap when nothing is handed
    /// off (every client connection's close calls it).
    pub(super) fn handoff_release(&mut self, h: Handle) -> Option<RealId> {
        if self.agents.charged.is_empty() {
            return None;
        }
        let c = self.agents.charged.remove(&h)?;
        self.pools.get(c.real).inflight -= u32::from(c.cost);
        Some(c.real)
    }

    /// Forgets handed-off (or locally served, `local`) client `h`, and lets queued
    /// requests take its slots.
    pub(super) fn handed_off_close<S: Sink<P>>(&mut self, h: Handle, now: u64, sink: &mut S) {
        let freed = self.handoff_release(h);
        self.close(h);
        if let Some(real) = freed {
            self.serve_queue(real, now, sink);
        }
    }

    /// A segment of handed-off client `h` going to its back end: what it says of the
    /// client's sequence numbers is kept (see the module documentation).
    pub(super) fn handed_off_track(&mut self, h: Handle, seg: &Seg) {
        let Some(c) = self.flows.get_mut(h) else {
            return;
        };
        let end = seg.seq + seg.len();
        if end > c.tcp.rcv_nxt {
            c.tcp.rcv_nxt = end;
        }
        if let Some(ack) = seg.ack.filter(|&a| a > c.tcp.snd_nxt) {
            c.tcp.snd_una = ack;
            c.tcp.snd_nxt = ack;
        }
    }

    /// Reals and virtuals newly `failed`: their handoffs under way are answered `503`,
    /// their handed-off clients reset at both ends. Before `reset_failed` walks the
    /// rest.
    pub(super) fn handoffs_failed<S: Sink<P>>(
        &mut self,
        reals: &[RealId],
        virtuals: &[u16],
        now: u64,
        sink: &mut S,
    ) {
        if self.agents.charged.is_empty() {
            return;
        }
        let handles: Vec<Handle> = self.agents.charged.keys().copied().collect();
        for h in handles {
            let state = match self.flows.conn_mut(h) {
                Some(Conn::Client(c))
                    if c.last_real.is_some_and(|r| reals.contains(&r))
                        || virtuals.contains(&c.service.virtual_index) =>
                {
                    c.state
                }
                _ => continue,
            };
            let port = self.peer_port(h, 0);
            self.counters.inc(port, Counter::ResetFailed);
            match state {
                State::HandingOff => {
                    self.agents.pending.retain(|_, p| p.client != h);
                    let freed = self.handoff_release(h);
                    if let Some(c) = self.flows.get_mut(h) {
                        c.state = State::ReadingHead;
                        c.tcp.retransmit_at = Due::NONE;
                    }
                    self.counters.inc(port, Counter::Handoff503);
                    self.respond(port, h, 503, now, sink);
                    if let Some(real) = freed {
                        self.serve_queue(real, now, sink);
                    }
                }
                State::HandedOff => {
                    self.reset_back_end(h, now, sink);
                    self.handed_off_probe(port, h, now, sink);
                    self.handed_off_close(h, now, sink);
                }
                // Local service (`local`): charged the same way, ended the same way.
                State::LocalReplaying => self.local_fail(port, h, now, sink),
                State::Local => {
                    self.local_reset_kernel(h, now, sink);
                    self.send_flags(port, h, tcp::flags::RST, now, sink);
                    self.handed_off_close(h, now, sink);
                }
                _ => {}
            }
        }
    }

    /// The worker stops: the handed-off clients still there are reset at both ends
    /// (see the module documentation); `reset_all` does the rest.
    pub(crate) fn handed_off_stop<S: Sink<P>>(&mut self, now: u64, sink: &mut S) {
        let handles: Vec<Handle> = self.agents.charged.keys().copied().collect();
        for h in handles {
            let state = match self.flows.conn_mut(h) {
                Some(Conn::Client(c)) => c.state,
                _ => continue,
            };
            match state {
                State::HandedOff => {
                    self.reset_back_end(h, now, sink);
                }
                State::Local => self.local_reset_kernel(h, now, sink),
                _ => {}
            }
            // The client's RST (at its latest acknowledgement, from `snd_nxt`) and the
            // count are `reset_all`'s.
        }
    }

    /// A RST from handed-off client `h` to its back end, at the client's next byte:
    /// the back end's kernel drops the connection (RFC 5961 §3.2: exactly the next
    /// byte expected), and its agent reports it CLOSED. Returns what was sent, so that
    /// it can be sent again (`handoff_lost`).
    pub(super) fn reset_back_end<S: Sink<P>>(
        &mut self,
        h: Handle,
        now: u64,
        sink: &mut S,
    ) -> Option<BackEndReset> {
        let charge = self.handoff_charge_of(h)?;
        let c = self.flows.get_mut(h)?;
        let reset = BackEndReset {
            real: charge.real,
            client: SocketAddrV4::new(c.key.client, c.key.client_port),
            vip: SocketAddrV4::new(c.key.vip, c.key.vip_port),
            seq: c.tcp.rcv_nxt,
            agent: charge.agent?,
            routed_to: charge.routed_to,
            since: now,
        };
        self.send_back_end_reset(&reset, now, sink);
        Some(reset)
    }
}
