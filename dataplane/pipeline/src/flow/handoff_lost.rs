//! Handed-off connections whose agent is lost: it went silent for `agent_dead_time`, or
//! answered with a new epoch (issue 15, item 7: "agent dying after the handoff → the
//! client's connection is reset cleanly, counted").
//!
//! Splicer cannot tell a dead agent from a lost channel (the agent alive and still
//! translating, its datagrams filtered), and neither can go on: without the channel
//! Splicer never hears a connection's end (CLOSED) nor the agent's restart, and a
//! restarted agent has forgotten the translation every one of those connections needs.
//! So both ends are reset, as for a real set `failed`:
//!
//! * **The client**: the probe of `handed_off_probe` (an ACK before its window draws
//!   its duplicate ACK, which meets no connection and gets a RST at exactly the next
//!   byte it expects), counted `handoff_resets`.
//! * **The back end's kernel**: a RST in the client's name at the client's next byte
//!   (`reset_back_end`), counted `handoff_back_end_resets`. When only the channel was
//!   lost, the agent still translates it like any client segment and the kernel drops
//!   the connection now, instead of keeping it until its own retransmission timeout
//!   (some 15 minutes with data in flight; for ever, for an idle keep-alive connection
//!   and a server without a keep-alive timer).
//! * **Owed.** An agent that went silent may be dead, and a dead agent takes its back
//!   end off the wire (it is the host's NIC): that RST is then lost. So it is also kept,
//!   and sent again with each of the agent's first [`OWED_SENDS`] answers once it is
//!   heard again (a new process, or the channel back), when the kernel can be reached:
//!   a new agent has no record of the connection and bridges the RST unchanged, which
//!   is right because a client segment's sequence number is the kernel's own (only
//!   acknowledgements are translated); a surviving agent translates it. Several sends,
//!   a heartbeat apart, because an agent answers as soon as it runs, perhaps before
//!   its host has configured the kernel's interface. Counted
//!   `handoff_back_end_reset_resends`. A RST that arrives where the connection is gone
//!   already is dropped by the kernel without an answer.
//! * **Given up** (`handoff_back_end_resets_given_up`): a RST still owed after
//!   [`OWED_FOR_MS`] (by then the kernel has timed out a connection with data in
//!   flight itself), or one more than [`MAX_OWED`] owed by a worker.
//!
//! A restart seen while the agent is up (it answered with a new epoch within
//! `agent_dead_time`) is a running agent: the RST goes at once and is not kept.

use super::client::State;
use super::segment::Outgoing;
use super::table::Conn;
use crate::balance::RealId;
use crate::counters::Counter;
use crate::packet::{PacketBuf, Sink};
use crate::pipeline::Pipeline;
use splicer_wire::tcp::{self, SeqNumber, TcpFlags};
use std::net::SocketAddrV4;

/// How many of the agent's answers, once it is heard again, each owed RST goes with.
pub(crate) const OWED_SENDS: u8 = 3;
/// How long an owed RST is kept for an agent not heard again (15 minutes: Linux's
/// default `tcp_retries2` gives up on unacknowledged data after some 924 s).
pub(crate) const OWED_FOR_MS: u64 = 15 * 60 * 1000;
/// The most RSTs one worker owes (48 bytes each: 3 MiB at most).
pub(crate) const MAX_OWED: usize = 65_536;

/// A RST to a back end's kernel in a handed-off client's name, as sent (and kept to be
/// sent again while owed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BackEndReset {
    pub(crate) real: RealId,
    pub(crate) client: SocketAddrV4,
    pub(crate) vip: SocketAddrV4,
    /// The client's next sequence number: what the kernel expects next.
    pub(crate) seq: SeqNumber,
    /// The real's agent when the connection was handed off (layer-2 mode: the next hop).
    pub(crate) agent: SocketAddrV4,
    /// The back end's own address (routed mode: the destination), as handed off.
    pub(crate) routed_to: Option<SocketAddrV4>,
    /// When it was first sent.
    pub(crate) since: u64,
}

impl<P: PacketBuf> Pipeline<P> {
    /// The agent of `real` went down (`down`) or restarted: its handoffs under way fail
    /// (the requests are spliced or answered), and the connections handed to it are
    /// reset at both ends (see the module documentation).
    pub(super) fn handoffs_lost<S: Sink<P>>(
        &mut self,
        real: RealId,
        down: bool,
        now: u64,
        sink: &mut S,
    ) {
        self.agents.pending.retain(|_, p| p.real != real);
        for h in self.flows.handles() {
            let state = match self.flows.conn_mut(h) {
                Some(Conn::Client(c)) if c.last_real == Some(real) => c.state,
                _ => continue,
            };
            let port = self.peer_port(h, 0);
            match state {
                State::HandingOff => {
                    self.counters.inc(port, Counter::HandoffFailedAgentDown);
                    self.handoff_fallback(port, h, real, now, sink);
                }
                State::HandedOff => {
                    if let Some(reset) = self.reset_back_end(h, now, sink) {
                        self.counters.inc(port, Counter::HandoffBackEndResets);
                        if down {
                            self.owe_back_end_reset(port, reset);
                        }
                    }
                    self.handed_off_probe(port, h, now, sink);
                    self.counters.inc(port, Counter::HandoffResets);
                    self.handed_off_close(h, now, sink);
                }
                _ => {}
            }
        }
    }

    /// Keeps `reset` to be sent again when its agent is heard again.
    fn owe_back_end_reset(&mut self, port: u16, reset: BackEndReset) {
        if self.agents.owed.len() >= MAX_OWED {
            return self
                .counters
                .inc(port, Counter::HandoffBackEndResetsGivenUp);
        }
        self.agents.owed.push((reset, 0));
    }

    /// The agent of `real` answered: the RSTs owed to its back end go again, each with
    /// [`OWED_SENDS`] answers in all.
    pub(super) fn send_owed_resets<S: Sink<P>>(&mut self, real: RealId, now: u64, sink: &mut S) {
        if self.agents.owed.is_empty() {
            return;
        }
        let mut owed = std::mem::take(&mut self.agents.owed);
        for (reset, sends) in owed.iter_mut().filter(|(r, _)| r.real == real) {
            self.send_back_end_reset(reset, now, sink);
            let port = self.topology.route(*reset.agent.ip()).map_or(0, |(p, _)| p);
            self.counters.inc(port, Counter::HandoffBackEndResetResends);
            *sends += 1;
        }
        owed.retain(|(_, sends)| *sends < OWED_SENDS);
        self.agents.owed = owed;
    }

    /// Gives up the RSTs owed for longer than [`OWED_FOR_MS`]. From the timer poll.
    pub(super) fn expire_owed_resets(&mut self, now: u64) {
        if self.agents.owed.is_empty() {
            return;
        }
        let keep_for = OWED_FOR_MS * self.settings.flow.ticks_per_ms;
        let before = self.agents.owed.len();
        self.agents.owed.retain(|(r, _)| now < r.since + keep_for);
        for _ in self.agents.owed.len()..before {
            self.counters.inc(0, Counter::HandoffBackEndResetsGivenUp);
        }
    }

    /// Sends `reset`: in the layer-2 mode addressed to the VIP and sent to the MAC of
    /// the agent's address (the back end's), in the routed mode addressed to the back
    /// end's own address and routed there, as the connection's packets were.
    pub(super) fn send_back_end_reset<S: Sink<P>>(
        &mut self,
        reset: &BackEndReset,
        now: u64,
        sink: &mut S,
    ) {
        let dst = reset.routed_to.unwrap_or(reset.vip);
        let mut o = Outgoing::new(
            (*reset.client.ip(), reset.client.port()),
            (*dst.ip(), dst.port()),
            reset.seq,
        );
        o.tcp.flags = TcpFlags::from(tcp::flags::RST);
        let hop = *reset.routed_to.unwrap_or(reset.agent).ip();
        let port = self.topology.route(hop).map_or(0, |(p, _)| p);
        if self.emit_via(port, &o, &[], hop, now, sink) {
            self.counters.inc(port, Counter::TcpResetsSent);
        }
    }
}
