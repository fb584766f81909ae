//! L4 pass-through: the connections of a `mode = "tcp"` virtual, spliced to a real as
//! byte streams without reading HTTP (TLS, SMTP, SSH...; US 7,099,915's SSL shopping
//! cart).
//!
//! * **Open.** The client's handshake is completed by Splicer as for any virtual; as
//!   soon as it is, the connection is routed (the virtual's predictor, sticky table,
//!   `maxconns` and backups, without a request: `Farm::decide_for` with no head) and
//!   a fresh connection is opened to the real chosen, for this client alone: never
//!   taken from a pool nor returned to one, since the stream's framing is unknown and
//!   the server's state is the client's. Routing at once rather than at the client's
//!   first byte is what lets a server that speaks first (an SMTP or SSH banner, a MySQL
//!   greeting) be heard. Bytes the client sends meanwhile (a TLS ClientHello) are
//!   buffered and acknowledged (up to `max_request_head`), and Splicer sends them on
//!   the server leg itself once it is up, retransmitting them until acknowledged, as a
//!   request head; the client's FIN is not taken before the splice (the client sends
//!   it again, and it then goes through).
//! * **Failure to open.** A real that refuses (RST) or does not answer within
//!   `connect_timeout` is held off as for any open failure, and the connection is
//!   routed again: nothing reached that real. With nowhere else to go, or when no real
//!   could take it in the first place, the client gets a RST (counted by cause).
//! * **Splice.** From the server's SYN-ACK on, every segment both ways is forwarded
//!   with today's translation (`splice::forward`: addresses, ports, seq/ack, windows,
//!   SACK blocks, timestamps, MSS), out of order too: with no framer, nothing needs
//!   to see the bytes in order. FIN flags go through as they are, so either side may
//!   half-close and go on receiving; when both FINs are acknowledged both connections
//!   are forgotten. A RST in the window of its receiver's peer goes through and ends
//!   both. No payload byte is read or changed.
//! * **Time.** Silence in both directions for `tcp_idle_timeout` resets both sides.
//!   The server connection holds one slot of its real's `maxconns` for the whole
//!   connection, so `maxconns` bounds a real's concurrent pass-through connections on
//!   each worker (`leastconns` counts them); with every candidate full the client is
//!   reset (`tunnel_full`), not queued.

use super::client::{HeadEdit, Pending, State};
use super::clocks::{anchor_down, leg_timestamps};
use super::due::Due;
use super::key::Handle;
use super::leg::Leg;
use super::queue::charge_once;
use super::reshape::trim_front;
use super::segment::Seg;
use super::server::{SState, SERVER_LEG_WINDOW};
use super::splice::{in_window, Way};
use super::tcp::{beyond, ts_not_below, OUR_WSCALE};
use crate::balance::{Connection, Decision, RealId};
use crate::counters::{Counter, RealCounter, VirtualCounter};
use crate::packet::{PacketBuf, Sink};
use crate::pipeline::Pipeline;
use splicer_http::{BodyFramer, ForwardFor};
use splicer_wire::proxy::ProxyV2Repr;
use splicer_wire::tcp::{self, SeqNumber};
use std::net::SocketAddrV4;

impl<P: PacketBuf> Pipeline<P> {
    /// A `tcp` virtual's client connection `h` just completed its handshake: routes it
    /// and opens its server connection, or resets it when no real can take it.
    pub(super) fn tunnel_open<S: Sink<P>>(&mut self, port: u16, h: Handle, now: u64, sink: &mut S) {
        let decision = self.route(port, h, &Connection, now, None);
        self.tunnel_place(port, h, decision, now, sink);
    }

    /// Acts on the routing `decision` for tunnel client `h`: a real opens a connection
    /// for it; anything else (nothing can take it, every real full, a URL) resets it.
    fn tunnel_place<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        decision: Decision,
        now: u64,
        sink: &mut S,
    ) {
        let Some(c) = self.flows.get_mut(h) else {
            return;
        };
        let virtual_index = c.service.virtual_index;
        let real = match decision {
            Decision::Splice(real) => real,
            Decision::Queue { .. } => {
                self.counters
                    .inc_virtual(virtual_index, VirtualCounter::NoServer);
                return self.tunnel_refuse(port, h, Counter::TunnelFull, now, sink);
            }
            Decision::Redirect(_) | Decision::Refuse => {
                self.counters
                    .inc_virtual(virtual_index, VirtualCounter::NoServer);
                return self.tunnel_refuse(port, h, Counter::TunnelNoServer, now, sink);
            }
        };
        c.requests = 1;
        c.state = State::Waiting;
        c.wait_since = now;
        c.last_real = Some(real);
        c.pending = Some(Box::new(Pending {
            real: Some(real),
            cost: 1,
            consumed: 0,
            edit: HeadEdit::None,
            head_request: false,
            keep_alive: false,
            close_kept_off: false,
            body: BodyFramer::UntilClose,
            retried: false,
        }));
        self.count_spill(port);
        self.counters.inc(port, Counter::TunnelOpens);
        self.counters
            .inc_virtual(virtual_index, VirtualCounter::Spliced);
        self.counters.inc_real(real, RealCounter::Requests);
        match self.open_server(real, Some(h), now, sink) {
            Some(sh) => {
                self.charge(h, sh);
                self.reschedule(h);
            }
            None => self.tunnel_refuse(port, h, Counter::TunnelAborts, now, sink),
        }
    }

    /// Resets tunnel client `h` before any server connection carries it, counted as
    /// `why`.
    fn tunnel_refuse<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        why: Counter,
        now: u64,
        sink: &mut S,
    ) {
        self.counters.inc(port, why);
        self.send_flags(port, h, tcp::flags::RST, now, sink);
        self.close(h);
    }

    /// The connection to `real` that tunnel client `h` waited for could not be opened
    /// (`timed_out`, or refused): nothing reached that real, so another may take the
    /// client; else it is reset.
    pub(super) fn tunnel_open_failed<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        real: RealId,
        timed_out: bool,
        now: u64,
        sink: &mut S,
    ) {
        let port = self.peer_port(h, port);
        // The failed real is held off now, so it is not chosen again unless it is all
        // there is.
        let decision = self.route(port, h, &Connection, now, None);
        if matches!(decision, Decision::Splice(r) if r != real) {
            self.counters.inc(port, Counter::TunnelRoutedAgain);
            return self.tunnel_place(port, h, decision, now, sink);
        }
        let why = if timed_out {
            Counter::TunnelConnectTimeouts
        } else {
            Counter::TunnelRefused
        };
        if let Some(v) = self.flows.get_mut(h).map(|c| c.service.virtual_index) {
            self.counters.inc_virtual(v, VirtualCounter::NoServer);
        }
        self.tunnel_refuse(port, h, why, now, sink);
    }

    /// The server connection `sh` of waiting tunnel client `h` is up: the bytes the
    /// client sent meanwhile go to the server, and the two are spliced.
    pub(super) fn start_tunnel<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        sh: Handle,
        now: u64,
        sink: &mut S,
    ) {
        let ts_now = self.ts_now(now);
        let Some((c, s)) = self.flows.pair_mut(h, sh) else {
            return;
        };
        let Some(p) = c.pending.take() else {
            return;
        };
        charge_once(&mut self.pools, s, p.cost);
        s.state = SState::Tunnel;
        s.client = Some(h);
        s.since = now;
        s.tcp.last_activity = now;
        // What Splicer itself tells the server it may send: the client's own window
        // (forwarded segments carry it from now on), within what a spliced leg gets.
        s.window = c.tcp.peer_window.clamp(1024, SERVER_LEG_WINDOW);
        s.out.clear();
        // The PROXY header first (its connection is this client's alone), then what
        // the client sent meanwhile: both are Splicer's bytes on the server leg, so the
        // leg's translation below (`up_delta`) covers the header's length.
        let proxy = c.service.forward_for == ForwardFor::ProxyV2;
        if proxy {
            let repr = ProxyV2Repr {
                source: SocketAddrV4::new(c.key.client, c.key.client_port),
                destination: SocketAddrV4::new(c.key.vip, c.key.vip_port),
            };
            repr.emit(&mut s.out);
        }
        s.out.extend_from_slice(&c.head);
        c.head.clear();
        s.out_start = s.tcp.snd_nxt;
        s.tcp.snd_nxt += s.out.len();
        let up_from = c.tcp.rcv_nxt;
        let down_from = s.tcp.rcv_nxt;
        let (ts_up, ts_down) = leg_timestamps(c, s, ts_now, None);
        let leg = Leg {
            server: sh,
            up_from,
            up_next: up_from,
            up_delta: (s.tcp.snd_nxt.0).wrapping_sub(up_from.0),
            head_end: s.tcp.snd_nxt,
            down_from,
            down_next: down_from,
            down_delta: (c.tcp.snd_nxt.0).wrapping_sub(down_from.0),
            // Never complete: no byte is framed, and Splicer never raises an ACK.
            body: BodyFramer::UntilClose,
            ts_up,
            ts_down,
            keep_alive: false,
            // Here: the server's FIN, once it sent one (server space).
            response_end: None,
            client_fin: None,
            // Never reused.
            spoiled: true,
            failed: None,
            promoted: true,
            ts_anchor_pending: true,
            held_rest: false,
            held_window: 0,
            window_offered: None,
            ahead: Default::default(),
            class_counted: true,
            retried: false,
            pooled: false,
            // A passed-through connection carries no HTTP request to log.
            log: crate::access::NO_LOG,
        };
        c.legs.reserve_exact(1);
        c.legs.push_back(leg);
        c.state = State::Tunnel;
        c.wait_since = now;
        c.tcp.last_activity = now;
        let sent = !s.out.is_empty();
        if sent {
            s.tcp.retransmit_at = Due::at(now + s.tcp.rto);
            s.tcp.tries = 0;
        }
        self.pools.get(s.real).busy += 1;
        self.counters.inc(port, Counter::TunnelSplices);
        if proxy {
            self.counters.inc(port, Counter::ProxyHeadersSent);
        }
        let sport = self.peer_port(sh, port);
        if sent {
            self.send_server_data(sport, sh, now, sink);
        } else {
            // The window the server was offered with the handshake's ACK was a pooled
            // connection's (small): this one tells it the real one.
            self.send_server_flags(sport, sh, 0, now, sink);
        }
        self.reschedule_any(sh);
        self.reschedule(h);
    }

    /// A segment from the client of a passed-through connection: forwarded.
    pub(super) fn tunnel_up<S: Sink<P>>(
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
        let Some(leg) = c.legs.front().cloned() else {
            return sink.discard(pkt);
        };
        let sh = leg.server;
        let Some(server_acked) = self.flows.server(sh).map(|s| s.tcp.snd_una) else {
            return sink.discard(pkt);
        };
        let c = self.flows.get_mut(h).expect("checked above");
        if seg.syn() {
            self.counters.inc(port, Counter::DropTcpBadSegment);
            return sink.discard(pkt);
        }
        if seg.rst() {
            // Acceptable from what the server has acknowledged to a window past the
            // last byte forwarded: the server checks it exactly (RFC 5961); a blind
            // RST far off is dropped here, so that it cannot end Splicer's state of a
            // connection the server keeps.
            let from = leg.server_ack_to_client(server_acked);
            if !in_window(seg.seq, from, Some(OUR_WSCALE)) {
                self.counters.inc(port, Counter::DropTcpBadSegment);
                return sink.discard(pkt);
            }
            self.counters.inc(port, Counter::TunnelClientResets);
            self.forward(port, h, sh, Way::Up, pkt, now, sink);
            return self.tunnel_forget(port, h, sh, now, sink);
        }
        if let Some(ack) = seg.ack {
            if beyond(ack, c.tcp.snd_nxt) {
                // Acknowledges bytes the server never sent: a forged or confused ACK.
                self.counters.inc(port, Counter::DropTcpBadSegment);
                return sink.discard(pkt);
            }
            if ack > c.tcp.snd_una {
                c.tcp.snd_una = ack;
            }
            c.tcp.peer_window = c.tcp.scaled_window(seg.window);
        }
        c.tcp.last_activity = now;
        let len = seg.payload.len();
        // Bytes Splicer buffered before the splice and sent itself: the client's copy
        // of them (a retransmission) is cut off, the rest goes on.
        let before = usize::try_from(leg.up_from - seg.seq).unwrap_or(0);
        if len > 0 && before > 0 && !trim_front(&mut pkt, before.min(len)) {
            self.counters.inc(port, Counter::DropBadTcpHeader);
            return sink.discard(pkt);
        }
        let end = seg.seq + len;
        let leg = c.legs.front_mut().expect("checked above");
        if end > leg.up_next {
            leg.up_next = end;
        }
        if seg.fin() && leg.client_fin.is_none() {
            leg.client_fin = Some(end);
        }
        let fin_end = leg.client_fin.map(|f| f + 1);
        let client_acked = leg.client_ack_to_server(c.tcp.snd_una);
        let up_delta = leg.up_delta;
        if let Some(s) = self.flows.server_mut(sh) {
            // Splicer's own segments to the server (retransmissions of the buffered
            // bytes) acknowledge what the client did, and send no further than it.
            s.tcp.rcv_nxt = client_acked;
            s.tcp.last_activity = now;
            if let Some(f) = fin_end {
                s.fin_sent = true;
                let f = SeqNumber(f.0.wrapping_add(up_delta));
                if f > s.tcp.snd_nxt {
                    s.tcp.snd_nxt = f;
                }
            }
        }
        self.counters.add(
            port,
            Counter::TunnelBytesUp,
            len.saturating_sub(before) as u64,
        );
        self.forward(port, h, sh, Way::Up, pkt, now, sink);
        self.tunnel_check_done(port, h, sh, now, sink);
    }

    /// A segment from the server of a passed-through connection: forwarded.
    pub(super) fn tunnel_down<S: Sink<P>>(
        &mut self,
        port: u16,
        sh: Handle,
        seg: &Seg,
        pkt: P,
        now: u64,
        sink: &mut S,
    ) {
        let ms_now = self.ts_now(now);
        let Some(h) = self.flows.server_mut(sh).and_then(|s| s.client) else {
            return sink.discard(pkt);
        };
        let Some((c, s)) = self.flows.pair_mut(h, sh) else {
            return sink.discard(pkt);
        };
        let Some(leg) = c.legs.front_mut().filter(|l| l.server == sh) else {
            return sink.discard(pkt);
        };
        if seg.syn() {
            // The SYN-ACK again: the handshake's ACK was lost.
            sink.discard(pkt);
            return self.send_server_flags(port, sh, 0, now, sink);
        }
        if seg.rst() {
            let from = leg.client_ack_to_server(c.tcp.snd_una);
            if !in_window(seg.seq, from, Some(OUR_WSCALE)) {
                self.counters.inc(port, Counter::DropTcpBadSegment);
                return sink.discard(pkt);
            }
            self.counters.inc(port, Counter::TunnelServerResets);
            self.counters.inc_real(s.real, RealCounter::ServerErrors);
            self.forward(port, h, sh, Way::Down, pkt, now, sink);
            return self.tunnel_forget(port, h, sh, now, sink);
        }
        if let Some(ack) = seg.ack {
            // What the server leg has been sent: Splicer's buffered bytes, the
            // client's relayed, its FIN.
            let sent = leg.relayed_end().max(s.tcp.snd_nxt);
            if beyond(ack, sent) {
                self.counters.inc(port, Counter::DropTcpBadSegment);
                return sink.discard(pkt);
            }
            if ack >= s.tcp.snd_una {
                s.tcp.peer_window = s.tcp.scaled_window(seg.window);
            }
            if ack > s.tcp.snd_una {
                s.tcp.snd_una = ack;
                if ack >= leg.head_end {
                    s.tcp.all_acked();
                }
            }
        }
        if leg.ts_anchor_pending {
            if let Some((tsval, _)) = seg.ts {
                anchor_down(leg, tsval, ts_not_below(ms_now, c.tcp.ts_sent_max));
            }
        }
        s.tcp.last_activity = now;
        c.tcp.last_activity = now;
        let len = seg.payload.len();
        let end = seg.seq + len;
        if end > leg.down_next {
            leg.down_next = end;
        }
        if seg.fin() && leg.response_end.is_none() {
            leg.response_end = Some(end);
            s.tcp.fin_received = true;
            // The client acknowledges the FIN one past its last byte.
            let fin = SeqNumber(end.0.wrapping_add(leg.down_delta)) + 1;
            if fin > c.tcp.snd_nxt {
                c.tcp.snd_nxt = fin;
            }
        }
        self.counters
            .add(port, Counter::TunnelBytesDown, len as u64);
        self.forward(port, h, sh, Way::Down, pkt, now, sink);
        self.tunnel_check_done(port, h, sh, now, sink);
    }

    /// Both sides sent their FIN and each was acknowledged: the connection is over,
    /// and both legs are forgotten (neither keeps a TIME-WAIT: the peers keep theirs).
    fn tunnel_check_done<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        sh: Handle,
        now: u64,
        sink: &mut S,
    ) {
        let Some((c, s)) = self.flows.pair_mut(h, sh) else {
            return;
        };
        let Some(leg) = c.legs.front() else {
            return;
        };
        let (Some(cfin), Some(sfin)) = (leg.client_fin, leg.response_end) else {
            return;
        };
        let client_fin_acked = leg.server_ack_to_client(s.tcp.snd_una) > cfin;
        let server_fin_acked = c.tcp.snd_una > SeqNumber(sfin.0.wrapping_add(leg.down_delta));
        if client_fin_acked && server_fin_acked {
            self.counters.inc(port, Counter::TunnelsClosed);
            self.tunnel_forget(port, h, sh, now, sink);
        }
    }

    /// Forgets both legs of a passed-through connection, sending nothing (its end was
    /// forwarded: FINs, or a RST).
    fn tunnel_forget<S: Sink<P>>(
        &mut self,
        _port: u16,
        h: Handle,
        sh: Handle,
        now: u64,
        sink: &mut S,
    ) {
        if let Some(c) = self.flows.get_mut(h) {
            c.legs.clear();
        }
        self.close(h);
        self.tunnel_drop_server(sh, now, sink);
    }

    /// Forgets the server connection of a tunnel: its slot of `maxconns` comes free
    /// (for whatever waits in a queue for its real).
    fn tunnel_drop_server<S: Sink<P>>(&mut self, sh: Handle, now: u64, sink: &mut S) {
        let freed = self.uncharge(sh);
        let Some(s) = self.flows.server_mut(sh) else {
            return;
        };
        if s.state == SState::Tunnel {
            self.pools.get(s.real).busy -= 1;
        }
        if let Some(s) = self.flows.server_mut(sh) {
            s.state = SState::Closing;
            s.client = None;
        }
        self.server_remove(sh);
        if let Some(r) = freed {
            self.serve_queue(r, now, sink);
        }
    }

    /// Resets both sides of passed-through client `h` (idle, or aborted): the client
    /// now, its server connection as the client leg's drain (`splice_client_lost`).
    pub(super) fn tunnel_reset<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        why: Counter,
        now: u64,
        sink: &mut S,
    ) {
        self.counters.inc(port, why);
        self.send_flags(port, h, tcp::flags::RST, now, sink);
        self.close(h);
    }

    /// The client of tunnel server connection `sh` is gone (its leg `leg`): the server
    /// is reset at the next byte it expects. Cold and out of line: it sits on the path
    /// every vanished HTTP client takes (`run_drains`).
    #[cold]
    #[inline(never)]
    pub(super) fn tunnel_client_lost<S: Sink<P>>(&mut self, leg: &Leg, now: u64, sink: &mut S) {
        let sh = leg.server;
        let Some(s) = self.flows.server_mut(sh) else {
            return;
        };
        let port = self.topology.route(s.key.client).map_or(0, |(p, _)| p);
        let Some(s) = self.flows.server_mut(sh) else {
            return;
        };
        s.client = None;
        // The RST goes at the next byte the server expects: after the client's bytes
        // relayed (and its FIN, which `tunnel_up` counted in `snd_nxt`).
        leg.settle_server_send(s);
        self.server_close(port, sh, true, now, sink);
    }
}

impl<P: PacketBuf> Pipeline<P> {
    /// Whether client connection `h` is a `tcp` virtual's (passed through).
    pub(super) fn is_tunnel(&mut self, h: Handle) -> bool {
        self.flows.get_mut(h).is_some_and(|c| c.tunnel)
    }
}
