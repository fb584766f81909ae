//! The agent's packet logic, independent of DPDK: every frame from either port goes
//! through [`Agent::from_wire`] or [`Agent::from_kernel`], which bridge it unchanged,
//! translate it in place, or consume it; [`Agent::poll`] runs the timers. Frames the
//! agent originates (channel messages, replayed segments) collect in
//! [`Agent::to_wire`] and [`Agent::to_kernel`] for the caller to send.

use crate::config::Settings;
use crate::conn::{options_of, Conn, ConnKey, Params, Peer, State};
use crate::counters::Counters;
use crate::frames::{self, L4};
use splicer_wire::handoff::{Body, CloseReason, HandoffRepr, HandoffResult, Message};
use splicer_wire::tcp::{self, SeqNumber, TcpFlags, TcpRepr};
use splicer_wire::{ipv4, EthernetAddress};
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::time::Instant;

/// What to do with a frame after the agent looked at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Send it out of the other port (it may have been translated in place).
    Forward,
    /// The agent used it (a channel message, a swallowed SYN-ACK): free it.
    Consumed,
    /// Drop it (counted).
    Drop,
}

/// A CLOSED waiting for its CLOSED_ACK.
#[derive(Debug, Clone)]
struct PendingClosed {
    id: u32,
    frame: Vec<u8>,
    sent: u32,
    last: Instant,
}

/// The agent's state: its connections and its outbound frames.
pub struct Agent {
    settings: Settings,
    epoch: u64,
    kernel_mac: Option<EthernetAddress>,
    conns: HashMap<ConnKey, Conn>,
    pending: Vec<PendingClosed>,
    /// The last epoch seen from each Splicer (by address).
    splicer_epochs: HashMap<Ipv4Addr, u64>,
    /// When each Splicer (by address) was last heard, and whether its silence for
    /// `splicer_dead_time` was acted on already.
    splicer_heard: HashMap<Ipv4Addr, (Instant, bool)>,
    next_id: u32,
    last_sweep: Option<Instant>,
    /// Counters since start.
    pub counters: Counters,
    /// Frames to send out of the wire port.
    pub to_wire: Vec<Vec<u8>>,
    /// Frames to send into the kernel.
    pub to_kernel: Vec<Vec<u8>>,
}

impl Agent {
    /// An agent with no connections; `epoch` identifies this process to Splicer.
    pub fn new(settings: Settings, epoch: u64) -> Agent {
        Agent {
            settings,
            epoch,
            kernel_mac: None,
            conns: HashMap::new(),
            pending: Vec::new(),
            splicer_epochs: HashMap::new(),
            splicer_heard: HashMap::new(),
            next_id: (epoch as u32) | 1,
            last_sweep: None,
            counters: Counters::default(),
            to_wire: Vec::new(),
            to_kernel: Vec::new(),
        }
    }

    /// This process's epoch.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The kernel interface's MAC (learnt from its frames, or set from sysfs at start).
    pub fn set_kernel_mac(&mut self, mac: EthernetAddress) {
        self.kernel_mac = Some(mac);
    }

    /// The kernel interface's MAC, if known.
    pub fn kernel_mac(&self) -> Option<EthernetAddress> {
        self.kernel_mac
    }

    /// Connections held (being replayed, handed off, or lingering).
    pub fn connections(&self) -> usize {
        self.conns.len()
    }

    /// Handed-off connections (replaying or established).
    fn active(&self) -> usize {
        self.conns
            .values()
            .filter(|c| matches!(c.state, State::Replaying | State::Established))
            .count()
    }

    /// A frame from the wire port.
    pub fn from_wire(&mut self, frame: &mut [u8], now: Instant) -> Verdict {
        self.counters.wire_rx += 1;
        let src_mac = frames::src_mac(frame);
        if src_mac.is_some() && src_mac == self.kernel_mac {
            self.counters.drop_own_echo += 1;
            return Verdict::Drop;
        }
        let Some(l) = frames::l4(frame) else {
            return self.bridge_to_kernel();
        };
        if l.protocol == ipv4::protocol::UDP && l.dst == self.settings.listen {
            if !self.settings.fronts.contains(l.src.ip()) {
                self.counters.channel_foreign += 1;
                return Verdict::Consumed;
            }
            let peer = Peer {
                addr: l.src,
                mac: src_mac.unwrap_or(EthernetAddress::BROADCAST),
            };
            self.channel(frame, &l, peer, now);
            return Verdict::Consumed;
        }
        if l.protocol != ipv4::protocol::TCP {
            return self.bridge_to_kernel();
        }
        let key = ConnKey {
            client: l.src,
            local: l.dst,
        };
        let Some(conn) = self.conns.get_mut(&key) else {
            return self.bridge_to_kernel();
        };
        match conn.state {
            State::Replaying => {
                self.counters.drop_while_replaying += 1;
                Verdict::Drop
            }
            State::Failed(_) => {
                self.counters.drop_after_failure += 1;
                Verdict::Drop
            }
            State::Established | State::Closed => {
                let Some(mac) = self.kernel_mac else {
                    self.counters.drop_no_kernel_mac += 1;
                    return Verdict::Drop;
                };
                match conn.to_kernel(&mut frame[l.ip_at..]) {
                    Ok(seen) => {
                        conn.note_client(&seen, now);
                        frames::set_dst_mac(frame, mac);
                        self.counters.translated_to_kernel += 1;
                        if seen.flags.contains(TcpFlags::RST) {
                            self.close(key, CloseReason::Rst, now);
                        } else if conn.state == State::Established && conn.fully_closed() {
                            self.close(key, CloseReason::Fin, now);
                        }
                        Verdict::Forward
                    }
                    Err(_) => {
                        self.counters.drop_untranslatable += 1;
                        Verdict::Drop
                    }
                }
            }
        }
    }

    fn bridge_to_kernel(&mut self) -> Verdict {
        self.counters.bridged_to_kernel += 1;
        Verdict::Forward
    }

    /// A frame from the kernel port.
    pub fn from_kernel(&mut self, frame: &mut [u8], now: Instant) -> Verdict {
        self.counters.kernel_rx += 1;
        if let Some(mac) = frames::src_mac(frame) {
            if mac.is_unicast() {
                self.kernel_mac = Some(mac);
            }
        }
        let Some(l) = frames::l4(frame) else {
            self.counters.bridged_to_wire += 1;
            return Verdict::Forward;
        };
        let key = ConnKey {
            client: l.dst,
            local: l.src,
        };
        if l.protocol != ipv4::protocol::TCP || !self.conns.contains_key(&key) {
            self.counters.bridged_to_wire += 1;
            return Verdict::Forward;
        }
        let state = self.conns[&key].state;
        match state {
            State::Replaying => self.replay_answer(key, frame, &l, now),
            State::Failed(_) => {
                self.counters.drop_after_failure += 1;
                Verdict::Drop
            }
            State::Established | State::Closed => {
                let conn = self.conns.get_mut(&key).expect("checked above");
                match conn.to_client(&mut frame[l.ip_at..]) {
                    Ok(seen) => {
                        conn.note_kernel(&seen, now);
                        self.counters.translated_to_client += 1;
                        if seen.flags.contains(TcpFlags::RST) {
                            self.close(key, CloseReason::Rst, now);
                        } else if conn.state == State::Established && conn.fully_closed() {
                            self.close(key, CloseReason::Fin, now);
                        }
                        Verdict::Forward
                    }
                    Err(_) => {
                        self.counters.drop_untranslatable += 1;
                        Verdict::Drop
                    }
                }
            }
        }
    }

    /// The kernel's answer to a replayed SYN: a SYN-ACK completes the handoff, a RST
    /// refuses it; anything else is dropped.
    fn replay_answer(&mut self, key: ConnKey, frame: &[u8], l: &L4, now: Instant) -> Verdict {
        let ip = ipv4::Packet::new_unchecked(&frame[l.ip_at..l.ip_end]);
        let Ok(seg) = tcp::Packet::new_checked(ip.payload()) else {
            self.counters.drop_kernel_unexpected += 1;
            return Verdict::Drop;
        };
        let conn = self.conns.get_mut(&key).expect("caller checked");
        let want_ack = SeqNumber(conn.params.client_isn.wrapping_add(1));
        let flags = TcpFlags::from(seg.flags());
        if flags.contains(TcpFlags::RST) {
            self.fail(key, HandoffResult::Refused, now);
            return Verdict::Consumed;
        }
        if !(flags.contains(TcpFlags::SYN | TcpFlags::ACK) && seg.ack_number() == want_ack) {
            self.counters.drop_kernel_unexpected += 1;
            return Verdict::Drop;
        }
        let Some(opts) = options_of(&seg) else {
            self.counters.drop_kernel_unexpected += 1;
            return Verdict::Drop;
        };
        let k = conn.take_syn_ack(seg.seq_number(), &opts);
        let kernel_tsval = opts.timestamp.map(|(v, _)| v);
        let segments = conn.ack_with_request(kernel_tsval);
        let (src, dst) = (*key.client.ip(), *key.local.ip());
        let mac = self
            .kernel_mac
            .expect("a frame from the kernel taught its MAC");
        let peer_mac = conn.peer.mac;
        for (repr, payload) in &segments {
            self.to_kernel
                .push(frames::tcp_frame(peer_mac, mac, src, dst, repr, payload));
        }
        conn.state = State::Established;
        conn.last_seen = now;
        let (id, peer) = (conn.handoff_id, conn.peer);
        let us = now.saturating_duration_since(conn.started).as_micros() as u64;
        self.counters.handoffs_ok += 1;
        self.counters.replay_us_sum += us;
        self.counters.replay_us_max = self.counters.replay_us_max.max(us);
        self.send(
            peer,
            Message {
                id,
                body: Body::HandoffAck {
                    result: HandoffResult::Ok,
                    kernel_isn: k.isn,
                    epoch: self.epoch,
                },
            },
        );
        Verdict::Consumed
    }

    /// A channel datagram (`frame` is UDP to the agent's address and port).
    fn channel(&mut self, frame: &[u8], l: &L4, peer: Peer, now: Instant) {
        let ip = ipv4::Packet::new_unchecked(&frame[l.ip_at..l.ip_end]);
        let payload = match splicer_wire::udp::Packet::new_checked(ip.payload()) {
            Ok(u) => u.payload().to_vec(),
            Err(_) => {
                self.counters.channel_malformed += 1;
                return;
            }
        };
        let msg = match Message::parse(&payload) {
            Ok(m) => m,
            Err(_) => {
                self.counters.channel_malformed += 1;
                return;
            }
        };
        self.counters.channel_rx += 1;
        self.splicer_heard.insert(*peer.addr.ip(), (now, false));
        match msg.body {
            Body::Heartbeat { epoch } => {
                self.counters.heartbeats += 1;
                self.splicer_epoch(*peer.addr.ip(), epoch);
                let connections = self.active() as u32;
                self.send(
                    peer,
                    Message {
                        id: msg.id,
                        body: Body::HeartbeatAck {
                            epoch: self.epoch,
                            connections,
                        },
                    },
                );
            }
            Body::Handoff(h) => self.handoff(msg.id, &h, peer, now),
            Body::ClosedAck => {
                let before = self.pending.len();
                self.pending.retain(|p| p.id != msg.id);
                if self.pending.len() < before {
                    self.counters.closed_acked += 1;
                }
            }
            Body::HeartbeatAck { .. } | Body::HandoffAck { .. } | Body::Closed { .. } => {
                self.counters.channel_unexpected += 1;
            }
        }
    }

    /// A Splicer's epoch, from a HEARTBEAT or HANDOFF: when it changed, that Splicer
    /// restarted and forgot the connections it had handed off here, whose clients it
    /// no longer forwards: reset them in the kernel and forget them.
    fn splicer_epoch(&mut self, splicer: Ipv4Addr, epoch: u64) {
        let old = self.splicer_epochs.insert(splicer, epoch);
        if old.is_none() || old == Some(epoch) {
            return;
        }
        let stale: Vec<ConnKey> = self
            .conns
            .values()
            .filter(|c| *c.peer.addr.ip() == splicer && c.params.splicer_epoch != epoch)
            .map(|c| c.key)
            .collect();
        for key in stale {
            self.counters.splicer_restart_resets += 1;
            self.reset_kernel(key);
            self.conns.remove(&key);
        }
    }

    /// Splicers silent for `splicer_dead_time` (heard before, not yet acted on): each
    /// one's handed-off connections are reset in the kernel and forgotten, as Splicer
    /// does at its end when this agent goes silent (docs/HANDOFF.md, "A silent
    /// Splicer"). A dead Splicer no longer forwards their clients' segments, so the
    /// kernel would otherwise keep them until `idle_timeout`, or for as long as it
    /// retransmits to a client whose acknowledgements no longer arrive. By then
    /// (`splicer_dead_time` more than Splicer's `agent_dead_time`) a live Splicer cut
    /// off from this agent has reset and forgotten them itself, and a new one knows
    /// nothing of them: no CLOSED is owed.
    fn silent_splicers(&mut self, now: Instant) {
        let dead_time = self.settings.splicer_dead_time;
        let mut silent = Vec::new();
        for (addr, (heard, acted)) in self.splicer_heard.iter_mut() {
            if !*acted && now.duration_since(*heard) >= dead_time {
                *acted = true;
                silent.push(*addr);
            }
        }
        for splicer in silent {
            let orphans: Vec<ConnKey> = self
                .conns
                .values()
                .filter(|c| *c.peer.addr.ip() == splicer && c.state == State::Established)
                .map(|c| c.key)
                .collect();
            for key in orphans {
                self.counters.splicer_silent_resets += 1;
                self.reset_kernel(key);
                self.conns.remove(&key);
            }
        }
    }

    fn handoff(&mut self, id: u32, h: &HandoffRepr<'_>, peer: Peer, now: Instant) {
        // The kernel's side of the connection: the VIP (layer-2 mode), or the back
        // end's own address (routed mode: no VIP on `lo` needed).
        let key = ConnKey {
            client: h.client,
            local: h.backend.unwrap_or(h.vip),
        };
        if let Some(c) = self.conns.get(&key) {
            if c.params.splicer_isn == h.splicer_isn && c.params.splicer_epoch == h.splicer_epoch {
                // A resend: answer as before, replay nothing new.
                self.counters.handoff_repeats += 1;
                let result = match c.state {
                    State::Replaying => return, // the answer comes with the SYN-ACK
                    State::Established | State::Closed => HandoffResult::Ok,
                    State::Failed(r) => r,
                };
                let kernel_isn = c.kernel.map_or(0, |k| k.isn);
                let peer = c.peer;
                self.send(
                    peer,
                    Message {
                        id,
                        body: Body::HandoffAck {
                            result,
                            kernel_isn,
                            epoch: self.epoch,
                        },
                    },
                );
                return;
            }
            // The client reused its port for a new connection: the old one is gone.
            self.counters.handoff_replaced += 1;
            self.reset_kernel(key);
            self.conns.remove(&key);
        }
        self.counters.handoffs += 1;
        self.splicer_epoch(*peer.addr.ip(), h.splicer_epoch);
        let refuse = if h.client.port() == 0 || h.vip.port() == 0 || key.local.port() == 0 {
            self.counters.handoffs_malformed += 1;
            Some(HandoffResult::Malformed)
        } else if self.active() >= self.settings.max_connections {
            self.counters.handoffs_busy += 1;
            Some(HandoffResult::Busy)
        } else if self.kernel_mac.is_none() {
            // Nothing came from the kernel yet (not even the ARP reply through which
            // Splicer found this back end): it cannot be up.
            self.counters.drop_no_kernel_mac += 1;
            self.counters.handoffs_timeout += 1;
            Some(HandoffResult::Timeout)
        } else {
            None
        };
        if let Some(result) = refuse {
            self.send(
                peer,
                Message {
                    id,
                    body: Body::HandoffAck {
                        result,
                        kernel_isn: 0,
                        epoch: self.epoch,
                    },
                },
            );
            return;
        }
        let conn = Conn::new(key, h.vip, peer, id, Params::from_repr(h), now);
        self.replay_syn(&conn);
        self.conns.insert(key, conn);
    }

    fn replay_syn(&mut self, conn: &Conn) {
        let (repr, src, dst) = conn.syn();
        self.push_to_kernel(conn.peer.mac, src, dst, &repr, &[]);
        self.counters.syn_replays += 1;
    }

    fn push_to_kernel(
        &mut self,
        src_mac: EthernetAddress,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        repr: &TcpRepr,
        payload: &[u8],
    ) {
        match self.kernel_mac {
            Some(mac) => self
                .to_kernel
                .push(frames::tcp_frame(src_mac, mac, src, dst, repr, payload)),
            None => self.counters.drop_no_kernel_mac += 1,
        }
    }

    /// Resets the kernel's side of a connection the agent is about to forget.
    fn reset_kernel(&mut self, key: ConnKey) {
        let Some(c) = self.conns.get(&key) else {
            return;
        };
        if c.kernel.is_none() {
            return;
        }
        let rst = c.rst_for_kernel();
        let mac = c.peer.mac;
        self.push_to_kernel(mac, *key.client.ip(), *key.local.ip(), &rst, &[]);
    }

    /// The handoff failed: answer Splicer and keep the entry (for a repeated HANDOFF)
    /// until `linger` has passed.
    fn fail(&mut self, key: ConnKey, result: HandoffResult, now: Instant) {
        let Some(c) = self.conns.get_mut(&key) else {
            return;
        };
        c.state = State::Failed(result);
        c.done_at = Some(now);
        let (id, peer) = (c.handoff_id, c.peer);
        match result {
            HandoffResult::Refused => self.counters.handoffs_refused += 1,
            HandoffResult::Timeout => self.counters.handoffs_timeout += 1,
            _ => {}
        }
        self.send(
            peer,
            Message {
                id,
                body: Body::HandoffAck {
                    result,
                    kernel_isn: 0,
                    epoch: self.epoch,
                },
            },
        );
    }

    /// The connection ended: tell Splicer (CLOSED, resent until acknowledged) and keep
    /// translating stragglers for `linger`.
    fn close(&mut self, key: ConnKey, reason: CloseReason, now: Instant) {
        let Some(c) = self.conns.get_mut(&key) else {
            return;
        };
        if c.state != State::Established {
            return;
        }
        c.state = State::Closed;
        c.done_at = Some(now);
        let (peer, vip) = (c.peer, c.vip);
        match reason {
            CloseReason::Fin => self.counters.closed_fin += 1,
            CloseReason::Rst => self.counters.closed_rst += 1,
            CloseReason::Idle => self.counters.closed_idle += 1,
        }
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let msg = Message {
            id,
            body: Body::Closed {
                client: key.client,
                vip,
                reason,
            },
        };
        let frame = self.message_frame(peer, &msg);
        self.to_wire.push(frame.clone());
        self.counters.channel_tx += 1;
        self.pending.push(PendingClosed {
            id,
            frame,
            sent: 1,
            last: now,
        });
    }

    fn message_frame(&self, peer: Peer, msg: &Message<'_>) -> Vec<u8> {
        let bytes = msg
            .to_vec()
            .expect("the agent's messages fit their lengths");
        let src_mac = self
            .kernel_mac
            .unwrap_or(EthernetAddress([0x02, 0, 0, 0, 0, 0]));
        frames::udp_frame(src_mac, peer.mac, self.settings.listen, peer.addr, &bytes)
    }

    fn send(&mut self, peer: Peer, msg: Message<'_>) {
        let frame = self.message_frame(peer, &msg);
        self.to_wire.push(frame);
        self.counters.channel_tx += 1;
    }

    /// Runs the timers: SYN resends and replay timeouts, idle connections, the close
    /// of connections whose FINs were seen, CLOSED resends, removal after `linger`,
    /// the connections of Splicers silent for `splicer_dead_time`.
    /// Cheap to call every poll round: it works at most every 10 ms.
    pub fn poll(&mut self, now: Instant) {
        if let Some(last) = self.last_sweep {
            if now.duration_since(last) < std::time::Duration::from_millis(10) {
                return;
            }
        }
        self.last_sweep = Some(now);
        let s = self.settings.clone();
        let mut resend = Vec::new();
        let mut timeout = Vec::new();
        let mut idle = Vec::new();
        let mut fins = Vec::new();
        let mut gone = Vec::new();
        for c in self.conns.values() {
            match c.state {
                State::Replaying if now.duration_since(c.started) >= s.replay_timeout => {
                    timeout.push(c.key)
                }
                State::Replaying if now.duration_since(c.last_syn) >= s.replay_retry => {
                    resend.push(c.key)
                }
                State::Established if now.duration_since(c.last_seen) >= s.idle_timeout => {
                    idle.push(c.key)
                }
                // Both FINs seen but an ACK of one was missed: close anyway after 2 s.
                State::Established
                    if c.fins_since
                        .is_some_and(|t| now.duration_since(t).as_secs() >= 2) =>
                {
                    fins.push(c.key)
                }
                State::Failed(_) | State::Closed
                    if c.done_at.is_some_and(|t| now.duration_since(t) >= s.linger) =>
                {
                    gone.push(c.key)
                }
                _ => {}
            }
        }
        for key in resend {
            let c = self.conns.get_mut(&key).expect("listed above");
            c.last_syn = now;
            let c = c.clone();
            self.replay_syn(&c);
        }
        for key in timeout {
            self.fail(key, HandoffResult::Timeout, now);
        }
        for key in idle {
            self.reset_kernel(key);
            self.close(key, CloseReason::Idle, now);
        }
        for key in fins {
            self.close(key, CloseReason::Fin, now);
        }
        for key in gone {
            self.conns.remove(&key);
        }
        self.silent_splicers(now);
        let mut i = 0;
        while i < self.pending.len() {
            let p = &mut self.pending[i];
            if now.duration_since(p.last) < s.closed_retry {
                i += 1;
                continue;
            }
            if p.sent >= s.closed_tries {
                self.counters.closed_given_up += 1;
                self.pending.swap_remove(i);
                continue;
            }
            p.sent += 1;
            p.last = now;
            self.to_wire.push(p.frame.clone());
            self.counters.closed_resends += 1;
            self.counters.channel_tx += 1;
            i += 1;
        }
    }

    /// CLOSED notices not yet acknowledged.
    pub fn pending_closed(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
#[path = "agent_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "agent_routed_tests.rs"]
mod routed_tests;
