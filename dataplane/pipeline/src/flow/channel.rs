//! The handoff control channel: UDP between this worker (from its inside port's
//! address, source port [`AGENT_PORT`]) and the agent of each real that has one
//! (`splicer_wire::handoff`). UDP rather than TCP: the data plane has no second TCP
//! stack for its own connections, and every message is idempotent and acknowledged,
//! so a lost one is simply sent again.
//!
//! This module keeps what Splicer knows of each agent (up or down, its epoch, the
//! round-trip time of its latest heartbeat), sends the heartbeats, and sends and
//! receives the datagrams; what a HANDOFF does to a client connection is `handoff`.
//!
//! An agent is *up* from its first answer (a HEARTBEAT_ACK or a HANDOFF_ACK) until it
//! has answered nothing for `agent_dead_time`; a handoff goes only to an agent that is
//! up. An answer with an epoch other than the one last seen means the agent restarted:
//! the connections handed to it are gone from its table (both ends are reset,
//! `handoff_lost`).

use super::handoff_end::Charge;
use super::handoff_lost::BackEndReset;
use super::handoff_probe::ClientProbe;
use super::key::{ClientKey, Handle};
use crate::balance::RealId;
use crate::counters::Counter;
use crate::packet::{PacketBuf, Sink};
use crate::parse::{Ipv4Meta, L3_OFFSET};
use crate::pipeline::Pipeline;
use splicer_wire::handoff::{Body, Message};
use splicer_wire::ipv4::{self, protocol, Ipv4Repr};
use splicer_wire::udp;
use std::collections::HashMap;
use std::net::SocketAddrV4;

/// The UDP port Splicer's data plane sends handoff messages from and receives the
/// agents' answers on.
pub const AGENT_PORT: u16 = splicer_wire::handoff::DEFAULT_PORT;
/// How often an unacknowledged HANDOFF is sent again.
pub(super) const HANDOFF_RESEND_MS: u64 = 100;
const UDP_HEADER_LEN: usize = 8;

/// What this worker knows of one real's agent.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Agent {
    /// Where it listens (`None`: the real has no agent).
    pub(crate) address: Option<SocketAddrV4>,
    pub(crate) up: bool,
    /// The epoch of its latest answer.
    pub(crate) epoch: Option<u64>,
    /// When it last answered anything.
    pub(crate) heard_at: u64,
    /// When the latest HEARTBEAT went, and its message id.
    pub(crate) beat_at: u64,
    pub(crate) beat_id: u32,
    /// Round-trip time of the latest answered heartbeat, in clock ticks.
    pub(crate) rtt: u64,
    /// The handed-off connections it said it holds (HEARTBEAT_ACK).
    pub(crate) holds: u32,
}

/// A HANDOFF waiting for its acknowledgement.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PendingHandoff {
    pub(crate) client: Handle,
    pub(crate) real: RealId,
    /// When the handoff began (the clock of `handoff_timeout`).
    pub(crate) since: u64,
}

/// The agents of one worker, by real index, and its HANDOFFs in flight, by message id.
#[derive(Default)]
pub(crate) struct Agents {
    pub(crate) by_real: Vec<Agent>,
    pub(crate) pending: HashMap<u32, PendingHandoff>,
    /// The client connections being handed off or handed off, with the real and the
    /// slots of its `maxconns` they take (`handoff_end`).
    pub(crate) charged: HashMap<Handle, Charge>,
    /// RSTs owed to the back ends of agents that went down, with how many times each
    /// went since the agent was heard again (`handoff_lost`).
    pub(crate) owed: Vec<(BackEndReset, u8)>,
    /// Handed-off clients being reset, until their kernel confirms it (`handoff_probe`).
    pub(crate) probes: HashMap<ClientKey, ClientProbe>,
    /// The next message id's low 24 bits (the high 8 are the worker's index, so an
    /// answer names the worker that asked).
    next_id: u32,
}

impl Agents {
    /// A fresh message id of `worker`'s.
    pub(crate) fn next_id(&mut self, worker: usize) -> u32 {
        self.next_id = (self.next_id + 1) & 0x00FF_FFFF;
        ((worker as u32 & 0xFF) << 24) | self.next_id
    }

    /// Follows the reals' agent addresses of a new configuration: a real whose agent
    /// moved starts over (down, no epoch).
    pub(crate) fn follow(&mut self, addresses: impl Iterator<Item = Option<SocketAddrV4>>) {
        let mut n = 0;
        for (i, address) in addresses.enumerate() {
            n = i + 1;
            if self.by_real.len() <= i {
                self.by_real.push(Agent::default());
            }
            if self.by_real[i].address != address {
                self.by_real[i] = Agent {
                    address,
                    ..Agent::default()
                };
            }
        }
        self.by_real.truncate(n);
    }

    /// The real whose agent is at `from`, if any.
    fn real_at(&self, from: SocketAddrV4) -> Option<RealId> {
        self.by_real
            .iter()
            .position(|a| a.address == Some(from))
            .map(|i| i as RealId)
    }
}

impl<P: PacketBuf> Pipeline<P> {
    /// Sends `msg` to the agent at `to`, from the address of the port that leads to it.
    pub(super) fn send_agent<S: Sink<P>>(
        &mut self,
        to: SocketAddrV4,
        msg: &Message,
        now: u64,
        sink: &mut S,
    ) {
        let Some((port, _)) = self.topology.route(*to.ip()) else {
            return self.counters.inc(0, Counter::DropNoRoute);
        };
        let src = self.topology.port(port).cidr.addr;
        let udp_len = UDP_HEADER_LEN + msg.buffer_len();
        let ident = self.next_ident();
        let Some(mut pkt) = sink.alloc() else {
            return self.counters.inc(port, Counter::DropAllocFailed);
        };
        let len = (L3_OFFSET + ipv4::HEADER_LEN + udp_len).max(crate::transmit::MIN_FRAME_LEN);
        if !pkt.resize(len) {
            self.counters.inc(port, Counter::DropAllocFailed);
            return sink.discard(pkt);
        }
        let frame = pkt.data_mut();
        let ip = Ipv4Repr {
            src,
            dst: *to.ip(),
            protocol: protocol::UDP,
            payload_len: udp_len,
            ttl: crate::presence::icmp::TTL,
            ident,
        };
        ip.emit(&mut ipv4::Packet::new_unchecked(&mut frame[L3_OFFSET..]));
        let start = L3_OFFSET + ipv4::HEADER_LEN;
        let datagram = &mut frame[start..start + udp_len];
        if msg.emit(&mut datagram[UDP_HEADER_LEN..]).is_err() {
            // Never: the buffer was sized by the message itself.
            return sink.discard(pkt);
        }
        let mut u = udp::Packet::new_unchecked(datagram);
        u.set_src_port(AGENT_PORT);
        u.set_dst_port(to.port());
        u.set_len(udp_len as u16);
        u.fill_checksum(src, *to.ip());
        self.send_ipv4(port, pkt, *to.ip(), now, sink);
    }

    /// A UDP datagram to one of our addresses: an agent's message when it is for the
    /// agent port of a port address; anything else is not a protocol Splicer speaks.
    pub(crate) fn udp<S: Sink<P>>(
        &mut self,
        port: u16,
        meta: Ipv4Meta,
        pkt: P,
        now: u64,
        sink: &mut S,
    ) {
        let for_agents = self
            .topology
            .local(meta.dst)
            .is_some_and(|l| l.kind == crate::topology::LocalKind::PortAddress);
        let Some(datagram) = pkt.data().get(meta.l4_range()) else {
            return self.drop(port, Counter::DropTruncated, pkt, sink);
        };
        let parsed = udp::Packet::new_checked(datagram)
            .ok()
            .filter(|u| u.dst_port() == AGENT_PORT && usize::from(u.len()) == datagram.len());
        let Some(u) = parsed.filter(|_| for_agents) else {
            return self.drop(port, Counter::DropUnsupportedProtocol, pkt, sink);
        };
        let from = SocketAddrV4::new(meta.src, u.src_port());
        let valid = (u.checksum() == 0 || u.verify_checksum(meta.src, meta.dst))
            .then(|| Message::parse(u.payload()).ok())
            .flatten();
        // An agent sits behind one of our ports: its messages must come in on the port
        // our route to it leads out of, addressed to that port's own address (the one
        // Splicer sends from). Anything else has a forged source, e.g. a datagram from
        // the outside claiming an agent's address to fake a restart (which resets every
        // client handed to it) or a CLOSED (which forgets one).
        let on_its_port = |p: &Self| {
            p.topology
                .route(meta.src)
                .is_some_and(|(to, _)| to == port && p.topology.port(to).cidr.addr == meta.dst)
        };
        let (Some(msg), Some(real)) = (valid, self.agents.real_at(from)) else {
            return self.drop(port, Counter::DropAgentMessage, pkt, sink);
        };
        if !on_its_port(self) {
            return self.drop(port, Counter::DropAgentSpoofed, pkt, sink);
        }
        self.counters.inc(port, Counter::AgentMessages);
        // The message borrows the packet: what it says is copied out first.
        let id = msg.id;
        match msg.body {
            Body::HeartbeatAck { epoch, connections } => {
                let a = &mut self.agents.by_real[usize::from(real)];
                if a.beat_id == id {
                    a.rtt = now.saturating_sub(a.beat_at);
                }
                a.holds = connections;
                sink.discard(pkt);
                self.agent_heard(port, real, epoch, now, sink);
            }
            Body::HandoffAck {
                result,
                kernel_isn: _,
                epoch,
            } => {
                sink.discard(pkt);
                // The epoch first: a restart resets what was handed before this one.
                self.agent_heard(port, real, epoch, now, sink);
                self.handoff_acked(port, real, id, result, now, sink);
            }
            Body::Closed { client, vip, .. } => {
                sink.discard(pkt);
                self.handed_off_closed(port, client, vip, now, sink);
                let ack = Message {
                    id,
                    body: Body::ClosedAck,
                };
                self.send_agent(from, &ack, now, sink);
            }
            // Splicer's own messages coming back: not for it.
            Body::Heartbeat { .. } | Body::Handoff(_) | Body::ClosedAck => {
                self.drop(port, Counter::DropAgentMessage, pkt, sink)
            }
        }
    }

    /// The agent of `real` answered with `epoch`: it is up, perhaps again, perhaps a
    /// new process (then the clients handed to the old one are reset).
    fn agent_heard<S: Sink<P>>(
        &mut self,
        port: u16,
        real: RealId,
        epoch: u64,
        now: u64,
        sink: &mut S,
    ) {
        let a = &mut self.agents.by_real[usize::from(real)];
        a.heard_at = now;
        let was_up = a.up;
        let restarted = a.epoch.is_some_and(|e| e != epoch);
        a.epoch = Some(epoch);
        a.up = true;
        if !was_up {
            self.counters.inc(port, Counter::AgentUps);
        }
        if restarted {
            self.counters.inc(port, Counter::AgentRestarts);
            self.agent_lost(real, false, now, sink);
        }
        self.send_owed_resets(real, now, sink);
    }

    /// Heartbeats due, agents silent for `agent_dead_time`, HANDOFFs to send again or
    /// give up. Called from the timer poll. Every worker runs its own channel to each
    /// agent (its heartbeats, its view of up, down and epoch): the answers come back
    /// to it by their ids (`channel_steer`), and what an agent's loss or restart does
    /// (resetting the clients handed to it) is done by each worker to the clients it
    /// owns, with no state shared between workers. The cost is one heartbeat per
    /// worker per agent per `agent_heartbeat`; the workers agree within
    /// `agent_dead_time` (a restart shows in every worker's next answer, a silent agent
    /// goes down in each worker after its own `agent_dead_time`).
    pub(crate) fn agent_timers<S: Sink<P>>(&mut self, now: u64, sink: &mut S) {
        let s = self.settings.flow;
        for r in 0..self.agents.by_real.len() {
            let a = self.agents.by_real[r];
            let Some(address) = a.address else {
                continue;
            };
            if a.up && now >= a.heard_at + s.agent_dead_time {
                self.agents.by_real[r].up = false;
                let port = self.topology.route(*address.ip()).map_or(0, |(p, _)| p);
                self.counters.inc(port, Counter::AgentDowns);
                self.agent_lost(r as RealId, true, now, sink);
            }
            if a.beat_at == 0 || now >= a.beat_at + s.agent_heartbeat {
                let id = self.agents.next_id(self.settings.worker);
                let a = &mut self.agents.by_real[r];
                a.beat_at = now.max(1);
                a.beat_id = id;
                let msg = Message {
                    id,
                    body: Body::Heartbeat {
                        epoch: self.keys.epoch(),
                    },
                };
                let port = self.topology.route(*address.ip()).map_or(0, |(p, _)| p);
                self.counters.inc(port, Counter::AgentHeartbeats);
                self.send_agent(address, &msg, now, sink);
            }
        }
        // A HANDOFF whose client went away (reset while it waited) is forgotten once
        // it could no longer be acknowledged in time.
        let stale = s.handoff_timeout * 2;
        self.agents.pending.retain(|_, p| now < p.since + stale);
        self.expire_owed_resets(now);
        self.resend_client_probes(now, sink);
    }

    /// The agent of `real` is gone (`down`, or restarted): handoffs waiting for it are
    /// given up, and the connections handed to it are reset at both ends.
    fn agent_lost<S: Sink<P>>(&mut self, real: RealId, down: bool, now: u64, sink: &mut S) {
        self.handoffs_lost(real, down, now, sink);
    }

    /// Whether `real`'s agent can take a handoff now.
    pub(super) fn agent_up(&self, real: RealId) -> Option<SocketAddrV4> {
        let a = self.agents.by_real.get(usize::from(real))?;
        a.address.filter(|_| a.up)
    }
}
