//! Local service (issue 15, item 6): a request routed to a *local* real (`local =
//! true`) is served by a server on Splicer's own host, whose kernel sits behind an
//! exception port (a `net_tap` port whose kernel side holds the real's address and the
//! VIP). Splicer replays the client's connection into that kernel and steps aside: no
//! agent, no handoff message, no response byte buffered.
//!
//! * **Replay.** The client's SYN as Splicer saw it (the client's address, port and
//!   ISN, to the VIP and its port, with the MSS, window scale, SACK-permitted and
//!   timestamps the client negotiated) goes out of the exception port to the real's
//!   address as next hop, again every 200 ms. The kernel's SYN-ACK comes back there
//!   (its route to the clients leads through Splicer's exception port address); it is
//!   swallowed, its ISN, window scale and TSval noted, and the client's ACK replayed
//!   carrying every byte the client sent since its request began (cut to the MSS).
//! * **Translation.** From then on the kernel's segments are translated for the client
//!   and the client's for the kernel, in place, with Splicer's own rewrite code (as
//!   `splicer agent` does for a handed-off connection, docs/HANDOFF.md):
//!
//!   | direction | seq | ack, SACK edges | TSval | TSecr | window |
//!   |---|---|---|---|---|---|
//!   | kernel → client | `+ delta` | kept | `+ ts_add` | kept | kernel's shift → Splicer's |
//!   | client → kernel | kept | `− delta` | kept | `− ts_add` | kept |
//!
//!   with `delta = (Splicer's next sequence number − 1) − kernel ISN` and `ts_add =`
//!   Splicer's next TSval − the kernel's SYN-ACK TSval. The client sees Splicer's
//!   sequence space and timestamp clock continue; the kernel sees the client's own
//!   numbers. Splicer keeps its record of both sides' next sequence numbers up to date,
//!   so its own RSTs (idle timeout, stop) land in the window.
//! * **The end.** Both FINs acknowledged, a RST from the kernel or one from the client
//!   at its next byte (forwarded), 2 s of silence after both FINs or after a client RST
//!   Splicer cannot judge (forwarded: the kernel judges it), or `tcp_idle_timeout` of
//!   silence (both sides reset): the state is freed.
//! * **Failures.** A RST from the kernel for the replayed SYN (nothing listens) or no
//!   SYN-ACK within `connect_timeout`: the client gets a `503`
//!   (`local_refused`, `local_timeouts`).
//!
//! A request can be replayed when nothing of the connection is under way: no server
//! leg, nothing of Splicer's unacknowledged, the client not half-closed (the first
//! request, or a later one after a spliced response ended). Otherwise it is spliced to
//! the real's address as any request, over a server connection from the exception
//! port's address (`local_not_eligible`). A replayed connection stays with the local server for its
//! later requests (Splicer no longer reads them).

use super::client::State;
use super::due::Due;
use super::key::{ClientKey, Handle};
use super::segment::{parse_segment, Outgoing, Seg};
use super::table::Conn;
use super::tcp::{ts_not_below, OUR_WSCALE};
use crate::balance::RealId;
use crate::counters::Counter;
use crate::lookup::FlowKey;
use crate::packet::{PacketBuf, Sink};
use crate::parse::{Ipv4Meta, L3_OFFSET};
use crate::pipeline::Pipeline;
use crate::rewrite::{self, headers::tcp_segment, Timestamps, Translation};
use splicer_wire::ipv4::protocol;
use splicer_wire::tcp::{SeqNumber, TcpFlags};
use std::net::Ipv4Addr;

/// How often a replayed SYN the kernel has not answered goes again.
const SYN_RESEND_MS: u64 = 200;
/// Most bytes replayed with the handshake's ACK: what a kernel's first window takes.
pub(super) const MAX_REPLAY: usize = 32 * 1024;

/// What the kernel's SYN-ACK told.
#[derive(Debug, Clone, Copy)]
pub(super) struct KernelSide {
    isn: SeqNumber,
    /// The kernel's window shift as the client's windows reach it scaled.
    kernel_shift: u8,
    /// Whether the kernel agreed to window scaling.
    scales: bool,
    mss: u16,
    /// Its SYN-ACK's TSval (echoed in the replayed ACK).
    tsval: Option<u32>,
    /// `(Splicer's next sequence number − 1) − kernel ISN`.
    delta: u32,
    /// Added to the kernel's TSvals.
    ts_add: u32,
}

/// One connection replayed into the local kernel.
#[derive(Debug, Clone)]
pub(crate) struct LocalConn {
    /// The next hop of segments for the kernel: the real's address.
    hop: Ipv4Addr,
    /// The replayed SYN's sequence number.
    client_isn: SeqNumber,
    /// The sequence number the kernel's ISN stands for (Splicer's next − 1).
    splicer_isn: SeqNumber,
    mss: u16,
    /// The client's window shift, when it and Splicer scale windows.
    client_wscale: Option<u8>,
    sack: bool,
    /// The client's latest TSval, when it negotiated timestamps.
    client_tsval: Option<u32>,
    splicer_tsval: u32,
    client_window: u16,
    kernel: Option<KernelSide>,
    /// The client's FIN (its sequence number), once seen, and whether the kernel
    /// acknowledged it.
    client_fin: Option<SeqNumber>,
    client_fin_acked: bool,
    /// The kernel's FIN in Splicer's space, once seen, and whether the client
    /// acknowledged it.
    kernel_fin: Option<SeqNumber>,
    kernel_fin_acked: bool,
    /// A client RST not at its next sequence number was forwarded (the kernel judges it).
    client_rst: bool,
}

impl LocalConn {
    /// Both FINs sent and acknowledged.
    fn fully_closed(&self) -> bool {
        self.client_fin_acked && self.kernel_fin_acked
    }

    /// Both FINs seen, or a client RST forwarded: the connection is ending, and a missed
    /// last ACK or a RST Splicer could not judge leaves it only [`ENDING_MS`] of
    /// silence.
    fn ending(&self) -> bool {
        (self.client_fin.is_some() && self.kernel_fin.is_some()) || self.client_rst
    }
}

/// Silence after which an ending local connection is forgotten.
const ENDING_MS: u64 = 2_000;

impl super::client::ClientConn {
    /// The deadline of a local connection: `tcp_idle_timeout` of silence, or
    /// [`ENDING_MS`] once it is ending.
    pub(super) fn local_deadline(&self, s: &super::FlowSettings) -> u64 {
        let quiet = match self.local.as_deref() {
            Some(l) if l.ending() => ENDING_MS * s.ticks_per_ms,
            _ => s.tcp_idle_timeout,
        };
        self.tcp.last_activity + quiet
    }
}

impl<P: PacketBuf> Pipeline<P> {
    /// Replays client connection `h`, whose request was routed to `real`, into the
    /// local kernel when the real is local: true when the replay began or the request
    /// was answered, false when it is to be spliced as usual.
    pub(super) fn try_local<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        real: RealId,
        now: u64,
        sink: &mut S,
    ) -> bool {
        // Most requests go to reals that are not local: answered before anything else.
        let hop = match self.topology.farm().reals.get(usize::from(real)) {
            Some(r) if r.local => *r.address.ip(),
            _ => return false,
        };
        let ts_now = self.ts_now(now);
        let Some(c) = self.flows.get_mut(h) else {
            return false;
        };
        let eligible = c.legs.is_empty()
            && c.pending.is_none()
            && c.local.is_none()
            && c.tcp.snd_una == c.tcp.snd_nxt
            && !c.tcp.fin_received
            && c.head.len() <= MAX_REPLAY;
        if !eligible {
            // Spliced as any request: a server connection to the real's address, opened
            // from the exception port's address.
            self.counters.inc(port, Counter::LocalNotEligible);
            return false;
        }
        let t = &c.tcp;
        let shift = t.peer_wscale.unwrap_or(0);
        c.local = Some(Box::new(LocalConn {
            hop,
            // Everything the client sent since its request began is in the head buffer:
            // the replayed SYN sits just before it.
            client_isn: t.rcv_nxt - (1 + c.head.len()),
            splicer_isn: t.snd_nxt - 1,
            mss: if t.peer_mss == 0 { 536 } else { t.peer_mss },
            client_wscale: t.peer_wscale,
            sack: t.sack_ok,
            client_tsval: t.ts_recent,
            splicer_tsval: ts_not_below(ts_now, t.ts_sent_max),
            client_window: (t.peer_window >> shift).min(u32::from(u16::MAX)) as u16,
            kernel: None,
            client_fin: None,
            client_fin_acked: false,
            kernel_fin: None,
            kernel_fin_acked: false,
            client_rst: false,
        }));
        c.last_real = Some(real);
        c.state = State::LocalReplaying;
        c.wait_since = now;
        // A slot of the real's `maxconns` until the connection is forgotten, as a
        // handed-off one (`handoff_end`).
        self.handoff_charge(h, real);
        self.counters.inc(port, Counter::LocalStarted);
        self.local_send_syn(h, now, sink);
        self.reschedule(h);
        true
    }

    /// Sends (again) the replayed SYN of `h` to the local kernel.
    fn local_send_syn<S: Sink<P>>(&mut self, h: Handle, now: u64, sink: &mut S) {
        let tpm = self.settings.flow.ticks_per_ms;
        let Some(c) = self.flows.get_mut(h) else {
            return;
        };
        let Some(l) = c.local.as_deref() else {
            return;
        };
        c.tcp.retransmit_at = Due::at(now + SYN_RESEND_MS * tpm);
        let mut o = Outgoing::new(
            (c.key.client, c.key.client_port),
            (c.key.vip, c.key.vip_port),
            l.client_isn,
        );
        o.tcp.flags = TcpFlags::SYN;
        o.tcp.window = l.client_window;
        o.tcp.options.mss = Some(l.mss);
        o.tcp.options.window_scale = l.client_wscale;
        o.tcp.options.sack_permitted = l.sack;
        o.tcp.options.timestamp = l.client_tsval.map(|v| (v, 0));
        let hop = l.hop;
        self.emit_local(&o, &[], hop, now, sink);
    }

    /// Replays the client's ACK of the kernel's SYN-ACK carrying the request bytes.
    fn local_send_request<S: Sink<P>>(&mut self, h: Handle, now: u64, sink: &mut S) {
        let Some(c) = self.flows.get_mut(h) else {
            return;
        };
        let Some(l) = c.local.as_deref() else {
            return;
        };
        let Some(k) = l.kernel else {
            return;
        };
        let chunk = usize::from(k.mss.min(l.mss)).max(1);
        let mut o = Outgoing::new(
            (c.key.client, c.key.client_port),
            (c.key.vip, c.key.vip_port),
            l.client_isn + 1,
        );
        o.tcp.ack = Some(k.isn + 1);
        o.tcp.window = l.client_window;
        if let Some(v) = l.client_tsval {
            o.tcp.options.timestamp = Some((v, k.tsval.unwrap_or(0)));
        }
        let hop = l.hop;
        // The bytes are lent out of the connection while the segments go.
        let head = std::mem::take(&mut c.head);
        let pieces = head.len().div_ceil(chunk).max(1);
        for i in 0..pieces {
            let piece = head
                .get(i * chunk..((i + 1) * chunk).min(head.len()))
                .unwrap_or(&[]);
            o.tcp.flags = if i + 1 == pieces && !piece.is_empty() {
                TcpFlags::PSH
            } else {
                TcpFlags::empty()
            };
            self.emit_local(&o, piece, hop, now, sink);
            o.tcp.seq += piece.len();
        }
        if let Some(c) = self.flows.get_mut(h) {
            c.head = head;
        }
    }

    /// Writes segment `o` with `payload` into a new frame and sends it to next hop `hop`
    /// (the local real's address: `o.dst` is the VIP).
    fn emit_local<S: Sink<P>>(
        &mut self,
        o: &Outgoing,
        payload: &[u8],
        hop: Ipv4Addr,
        now: u64,
        sink: &mut S,
    ) {
        let port = self.topology.route(hop).map_or(0, |(p, _)| p);
        self.emit_via(port, o, payload, hop, now, sink);
    }

    /// The client timer of a local connection: the replayed SYN goes again, or after
    /// `connect_timeout` the client gets a `503`; an established one silent for
    /// `tcp_idle_timeout` is reset both ways and forgotten.
    pub(super) fn local_timer<S: Sink<P>>(&mut self, port: u16, h: Handle, now: u64, sink: &mut S) {
        let s = self.settings.flow;
        let Some(c) = self.flows.get_mut(h) else {
            return;
        };
        if c.state == State::Local {
            if let Some(l) = c.local.as_deref().filter(|l| l.ending()) {
                // A last ACK missed, or a RST the kernel took: nothing to reset.
                let counter = if l.client_rst {
                    Counter::LocalResets
                } else {
                    Counter::LocalClosed
                };
                self.counters.inc(port, counter);
                self.handed_off_close(h, now, sink);
                return;
            }
            self.counters.inc(port, Counter::LocalIdleTimeouts);
            self.local_reset_kernel(h, now, sink);
            self.send_flags(port, h, splicer_wire::tcp::flags::RST, now, sink);
            self.handed_off_close(h, now, sink);
            return;
        }
        if now >= c.wait_since + s.connect_timeout {
            self.counters.inc(port, Counter::LocalTimeouts);
            return self.local_fail(port, h, now, sink);
        }
        if c.tcp.retransmit_at.is_some_and(|at| at <= now) {
            self.counters.inc(port, Counter::LocalSynResends);
            self.local_send_syn(h, now, sink);
        }
        self.reschedule(h);
    }

    /// The replay of `h` failed (or its real was set `failed`): the client gets a
    /// `503`, and the real's slot goes to a queued request.
    pub(super) fn local_fail<S: Sink<P>>(&mut self, port: u16, h: Handle, now: u64, sink: &mut S) {
        if let Some(c) = self.flows.get_mut(h) {
            c.local = None;
            c.tcp.retransmit_at = Due::NONE;
            c.state = State::ReadingHead;
        }
        let freed = self.handoff_release(h);
        self.respond(port, h, 503, now, sink);
        if let Some(real) = freed {
            self.serve_queue(real, now, sink);
        }
    }

    /// Sends the local kernel a RST from the client of `h`, at the client's next
    /// sequence number.
    pub(super) fn local_reset_kernel<S: Sink<P>>(&mut self, h: Handle, now: u64, sink: &mut S) {
        let Some(c) = self.flows.get_mut(h) else {
            return;
        };
        let Some(l) = c.local.as_deref() else {
            return;
        };
        let mut o = Outgoing::new(
            (c.key.client, c.key.client_port),
            (c.key.vip, c.key.vip_port),
            c.tcp.rcv_nxt,
        );
        o.tcp.flags = TcpFlags::RST;
        let hop = l.hop;
        self.emit_local(&o, &[], hop, now, sink);
    }

    /// A segment of client `h`, whose connection is replayed into the local kernel.
    pub(super) fn local_client_segment<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        seg: &Seg,
        mut pkt: P,
        now: u64,
        sink: &mut S,
    ) {
        let Some(c) = self.flows.get_mut(h) else {
            return sink.discard(pkt);
        };
        // A RST closes Splicer's state only at exactly the next byte (RFC 5961); any
        // other is the kernel's to judge.
        let reset = seg.rst() && seg.seq == c.tcp.rcv_nxt;
        let (Some(l), State::Local) = (c.local.as_deref_mut(), c.state) else {
            if reset {
                self.counters.inc(port, Counter::ClientResets);
                self.handed_off_close(h, now, sink);
                return sink.discard(pkt);
            }
            // Still replaying: dropped unacknowledged; sent again, it reaches the kernel.
            return self.drop(port, Counter::LocalClientDropped, pkt, sink);
        };
        let Some(k) = l.kernel else {
            return self.drop(port, Counter::DropLocalUnexpected, pkt, sink);
        };
        let ack = seg.ack.map(|a| a - k.delta as usize);
        let window = (l.client_wscale.is_some() && !k.scales)
            .then(|| rewrite::rescale(seg.window, l.client_wscale.unwrap_or(0), 0));
        let ip = &mut pkt.data_mut()[L3_OFFSET..];
        let translated = addresses(ip)
            .and_then(|(src, dst)| {
                rewrite::apply(
                    ip,
                    &Translation {
                        src,
                        dst,
                        seq: None,
                        ack,
                        window,
                    },
                )
            })
            .and_then(|()| {
                let mut t = tcp_segment(ip)?;
                rewrite::translate(
                    &mut t,
                    |s| Some(s - k.delta as usize),
                    Timestamps::Shift {
                        tsval_add: 0,
                        tsecr_sub: k.ts_add,
                    },
                )
            });
        if translated.is_err() {
            return self.drop(port, Counter::DropLocalUnexpected, pkt, sink);
        }
        let end = seg.seq + seg.len();
        if end > c.tcp.rcv_nxt {
            c.tcp.rcv_nxt = end;
        }
        if let Some(a) = seg.ack {
            c.tcp.snd_una = c.tcp.snd_una.max(a);
        }
        c.tcp.last_activity = now;
        if seg.fin() {
            l.client_fin = Some(seg.seq + seg.payload.len());
        }
        l.client_rst |= seg.rst();
        if let (Some(fin), Some(a)) = (l.kernel_fin, seg.ack) {
            l.kernel_fin_acked |= a > fin;
        }
        let done = l.fully_closed();
        let hop = l.hop;
        self.counters.inc(port, Counter::LocalToKernel);
        self.send_ipv4(port, pkt, hop, now, sink);
        if reset {
            self.counters.inc(port, Counter::LocalResets);
            self.handed_off_close(h, now, sink);
        } else if done {
            self.counters.inc(port, Counter::LocalClosed);
            self.handed_off_close(h, now, sink);
        } else {
            self.reschedule(h);
        }
    }

    /// A packet on `port` to an address that is not Splicer's: a local kernel's segment
    /// to a client (from a VIP, on a port that leads to a local real) goes to its
    /// connection's worker and is translated; anything else is dropped.
    pub(crate) fn not_for_us<S: Sink<P>>(
        &mut self,
        port: u16,
        meta: Ipv4Meta,
        pkt: P,
        now: u64,
        sink: &mut S,
        handed_in: bool,
    ) {
        let ports = pkt
            .data()
            .get(meta.l4_range())
            .filter(|l4| l4.len() >= 4)
            .map(|l4| {
                (
                    u16::from_be_bytes([l4[0], l4[1]]),
                    u16::from_be_bytes([l4[2], l4[3]]),
                )
            });
        let Some((sport, dport)) = ports.filter(|_| meta.protocol == protocol::TCP) else {
            return self.drop(port, Counter::DropNotForUs, pkt, sink);
        };
        if !self.leads_to_local(port) || self.topology.service(meta.src, sport).is_none() {
            return self.drop(port, Counter::DropNotForUs, pkt, sink);
        }
        if !handed_in && self.settings.workers > 1 {
            let key = FlowKey::new(protocol::TCP, (meta.src, sport), (meta.dst, dport));
            let owner = key.owner(self.settings.workers);
            if owner != self.settings.worker {
                self.counters.inc(port, Counter::HandoffOut);
                return sink.handoff(owner, pkt);
            }
        }
        self.local_from_kernel(port, meta, pkt, now, sink);
    }

    /// Whether `port` leads to a local real (it is an exception port).
    fn leads_to_local(&self, port: u16) -> bool {
        self.topology.farm().reals.iter().any(|r| {
            r.local
                && self
                    .topology
                    .route(*r.address.ip())
                    .is_some_and(|(p, _)| p == port)
        })
    }

    /// A segment from a local kernel (from a VIP to a client).
    fn local_from_kernel<S: Sink<P>>(
        &mut self,
        port: u16,
        meta: Ipv4Meta,
        pkt: P,
        now: u64,
        sink: &mut S,
    ) {
        let seg = match parse_segment(&meta, pkt.data()) {
            Ok(seg) => seg,
            Err(reason) => return self.drop(port, reason, pkt, sink),
        };
        let key = ClientKey {
            client: meta.dst,
            client_port: seg.dst_port,
            vip: meta.src,
            vip_port: seg.src_port,
        };
        let state = self
            .flows
            .lookup(&key)
            .and_then(|h| match self.flows.conn_mut(h) {
                Some(Conn::Client(c)) if c.local.is_some() => Some((h, c.state)),
                _ => None,
            });
        match state {
            Some((h, State::LocalReplaying)) => self.local_handshake(port, h, &seg, pkt, now, sink),
            Some((h, State::Local)) => self.local_down(port, h, &seg, pkt, now, sink),
            _ => self.drop(port, Counter::DropLocalNoFlow, pkt, sink),
        }
    }

    /// The kernel's answer to the replayed SYN of `h`: its SYN-ACK (swallowed, the
    /// request replayed) or a RST (the client gets a `503`).
    fn local_handshake<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        seg: &Seg,
        pkt: P,
        now: u64,
        sink: &mut S,
    ) {
        let Some(c) = self.flows.get_mut(h) else {
            return sink.discard(pkt);
        };
        let Some(l) = c.local.as_deref_mut() else {
            return sink.discard(pkt);
        };
        let answers = seg.ack == Some(l.client_isn + 1);
        if seg.rst() && answers {
            let client_port = self.peer_port(h, port);
            self.counters.inc(client_port, Counter::LocalRefused);
            sink.discard(pkt);
            return self.local_fail(client_port, h, now, sink);
        }
        if !(seg.syn() && answers && !seg.rst()) {
            return self.drop(port, Counter::DropLocalUnexpected, pkt, sink);
        }
        let scales = l.client_wscale.is_some() && seg.wscale.is_some();
        l.kernel = Some(KernelSide {
            isn: seg.seq,
            kernel_shift: if scales {
                seg.wscale.unwrap_or(0).min(14)
            } else {
                0
            },
            scales,
            mss: seg.mss.unwrap_or(536).max(64),
            tsval: seg.ts.map(|(v, _)| v),
            delta: l.splicer_isn.0.wrapping_sub(seg.seq.0),
            ts_add: seg.ts.map_or(0, |(v, _)| l.splicer_tsval.wrapping_sub(v)),
        });
        c.state = State::Local;
        c.tcp.retransmit_at = Due::NONE;
        c.tcp.last_activity = now;
        self.counters.inc(port, Counter::LocalEstablished);
        sink.discard(pkt);
        self.local_send_request(h, now, sink);
        self.reschedule(h);
    }

    /// A kernel segment of local connection `h`, translated for its client.
    fn local_down<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        seg: &Seg,
        mut pkt: P,
        now: u64,
        sink: &mut S,
    ) {
        let Some(c) = self.flows.get_mut(h) else {
            return sink.discard(pkt);
        };
        let Some(l) = c.local.as_deref_mut() else {
            return sink.discard(pkt);
        };
        let Some(k) = l.kernel else {
            return self.drop(port, Counter::DropLocalUnexpected, pkt, sink);
        };
        if seg.syn() {
            // The SYN-ACK again: the replayed ACK was lost; it goes again.
            sink.discard(pkt);
            return self.local_send_request(h, now, sink);
        }
        let seq = seg.seq + k.delta as usize;
        let to_shift = if l.client_wscale.is_some() {
            OUR_WSCALE
        } else {
            0
        };
        let window = (k.kernel_shift != to_shift)
            .then(|| rewrite::rescale(seg.window, k.kernel_shift, to_shift));
        let ip = &mut pkt.data_mut()[L3_OFFSET..];
        let translated = addresses(ip)
            .and_then(|(src, dst)| {
                rewrite::apply(
                    ip,
                    &Translation {
                        src,
                        dst,
                        seq: Some(seq),
                        ack: None,
                        window,
                    },
                )
            })
            .and_then(|()| {
                let mut t = tcp_segment(ip)?;
                rewrite::translate(
                    &mut t,
                    Some,
                    Timestamps::Shift {
                        tsval_add: k.ts_add,
                        tsecr_sub: 0,
                    },
                )
            });
        if translated.is_err() {
            return self.drop(port, Counter::DropLocalUnexpected, pkt, sink);
        }
        let end = seq + seg.len();
        if end > c.tcp.snd_nxt {
            c.tcp.snd_nxt = end;
        }
        if let Some(ts) = seg.ts {
            c.tcp.ts_sent_max = ts_not_below(ts.0.wrapping_add(k.ts_add), c.tcp.ts_sent_max);
        }
        c.tcp.last_activity = now;
        if seg.fin() {
            l.kernel_fin = Some(seq + seg.payload.len());
        }
        if let (Some(fin), Some(a)) = (l.client_fin, seg.ack) {
            l.client_fin_acked |= a > fin;
        }
        let done = l.fully_closed();
        let client = c.key.client;
        self.counters.inc(port, Counter::LocalToClient);
        self.send_ipv4(port, pkt, client, now, sink);
        if seg.rst() {
            self.counters.inc(port, Counter::LocalResets);
            self.handed_off_close(h, now, sink);
        } else if done {
            self.counters.inc(port, Counter::LocalClosed);
            self.handed_off_close(h, now, sink);
        } else {
            self.reschedule(h);
        }
    }
}

/// An address and port, as [`Translation`] takes them.
type Endpoint = (Ipv4Addr, u16);

/// The source and destination address and port of an IPv4/TCP packet (checked).
fn addresses(ip: &mut [u8]) -> Result<(Endpoint, Endpoint), rewrite::Error> {
    let seg = tcp_segment(ip)?;
    let ports = (seg.src_port(), seg.dst_port());
    let p = splicer_wire::ipv4::Packet::new_unchecked(&*ip);
    Ok(((p.src_addr(), ports.0), (p.dst_addr(), ports.1)))
}
