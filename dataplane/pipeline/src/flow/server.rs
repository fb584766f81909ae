//! The server leg: Splicer's own minimal TCP client for pooled connections to reals.
//!
//! A worker opens connections from the inside port's address to each real ahead of
//! need (`pool` per real), keeps them idle in the real's free queue, and lends one to a
//! request: it sends the buffered request head itself (it is data Splicer originates,
//! so Splicer retransmits it), then splices the client onto it (see `splice.rs`). When
//! the response is complete and the client has acknowledged all of it, the connection
//! is idle again, ready for any client's next request.
//!
//! The local port of a server connection is chosen so that the connection hashes to the
//! worker that opened it (see [`crate::lookup::FlowKey::owner`]): both legs of a splice
//! then live on one worker, and no lock is ever taken for a spliced packet.
//!
//! States: SYN-SENT → idle ⇄ busy (carrying a request) → closing; busy → draining when
//! the client vanished mid-response (Splicer ACKs the rest of the response itself and
//! reuses the connection if the response ends in time, NetScaler connection pooling, WO 00/28433).

use super::due::Due;
use super::key::{ClientKey, Handle};
use super::segment::{Outgoing, Seg};
use super::tcp::Endpoint;
use super::tcp::{MAX_RETRIES, OUR_MSS, OUR_WSCALE};
use crate::balance::{CheckFailure, RealId};
use crate::counters::Counter;
use crate::lookup::FlowKey;
use crate::packet::{PacketBuf, Sink};
use crate::pipeline::Pipeline;
use splicer_http::ResponseFramer;
use splicer_wire::ipv4::protocol;
use splicer_wire::tcp::{self, SeqNumber, TcpFlags, TcpOptions};

/// Window Splicer advertises on a server leg for its own segments, in bytes (but for
/// the server of a request pipelined behind others: `ServerConn::window`).
pub(super) const SERVER_LEG_WINDOW: u32 = 256 * 1024;
/// Window Splicer advertises on an idle pooled connection, in bytes: the server has
/// nothing to send until its next request, whose head opens the window again (to
/// `SERVER_LEG_WINDOW`, or to the `max_held` of a request sent ahead). Small, so that a
/// request sent ahead can set its server's window with its head alone (see
/// `ServerConn::window_settled`); not zero, so that the server can still close (a FIN
/// takes a byte of window).
pub(super) const IDLE_WINDOW: u32 = 1024;
/// How long a closed server connection lingers to absorb the server's last segments.
const LINGER_MS: u64 = 2_000;
/// [`ServerConn::check`] of a check connection whose verdict was given.
pub(super) const CHECK_DONE: u64 = u64::MAX;
/// How long Splicer may owe a server the ACK of a response it has delivered (the
/// client acknowledged it), in milliseconds: the head of the connection's next request
/// carries it if that comes first, as a delayed ACK rides on data (RFC 9293
/// §3.8.6.3 allows up to 0.5 s; servers retransmit after 200 ms at the earliest on
/// Linux, 10 ms on smoltcp).
const IDLE_ACK_DELAY_MS: u64 = 5;
/// Lowest and highest local port for server connections.
const LOCAL_PORTS: (u16, u16) = (20_000, 60_999);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SState {
    SynSent,
    Idle,
    Busy,
    Draining,
    Closing,
    /// An active health check's request sent, its answer awaited (`check.rs`).
    Checking,
    /// Carrying a `tcp` virtual's connection for its whole life (`tunnel.rs`): never
    /// idle, never pooled.
    Tunnel,
}

/// One server connection.
pub(crate) struct ServerConn {
    /// Peer = the real, local = inside address and our port.
    pub(crate) key: ClientKey,
    pub(super) real: RealId,
    pub(super) state: SState,
    /// Sequence space, windows, options, timestamps, retransmission. Its
    /// `peer_window` is the server's receive window from its latest segment that did not
    /// acknowledge less than an earlier one: client bytes beyond `snd_una` plus it are not
    /// forwarded (the server would drop them, and a "retransmission" with other bytes
    /// could then reach it unchecked by the request framer).
    pub(super) tcp: Endpoint,
    /// Data Splicer originated on this leg (a request head) and not yet acknowledged.
    pub(super) out: Vec<u8>,
    pub(super) out_start: SeqNumber,
    /// The client connection spliced onto this one (busy), or waiting for it (SYN-SENT).
    pub(super) client: Option<Handle>,
    /// Frames the response to the current request.
    pub(super) framer: ResponseFramer,
    pub(super) fin_sent: bool,
    /// When the connection entered its state. While busy (or a tunnel's), that is when
    /// the current request was sent (its head went out): the start of the real's
    /// response times (every other change of `since` leaves the busy state, so a
    /// separate `sent_at` would only repeat it; 8 bytes per connection, issue 12).
    pub(super) since: u64,
    /// The window Splicer advertises to the server: `SERVER_LEG_WINDOW`, or while its
    /// response is held behind others' (pipelining) the room Splicer holds for it, so
    /// that the server never sends more than is held; `IDLE_WINDOW` while idle.
    pub(super) window: u32,
    /// The cost of the request it carries (or is opened for), charged to its real's
    /// `inflight` (see `queue`); 0 when it carries none.
    pub(super) charge: u16,
    /// For an active health check's connection (`check.rs`), when the check times out;
    /// `None` for a pooled connection. A check connection is not in its real's pool.
    pub(super) check: Due,
    /// The server took `window` as its send window when the connection went idle (from
    /// the handshake's ACK, or an ACK of new data: RFC 9293 §3.10.7.4 and Linux's
    /// `tcp_may_update_window` take any window from those), and everything Splicer sent
    /// it since carried the same. A head that offers at least as much then sets the
    /// server's window by itself, a smaller one it may ignore (a segment at the same
    /// sequence number as the last update, acknowledging nothing new, only raises it):
    /// see `dispatch_pipelined`.
    pub(super) window_settled: bool,
    /// The acknowledgement number of Splicer's latest own segment to the server (its
    /// `rcv_nxt` then). The client's ACKs it forwards stay below the end of the
    /// response they acknowledge: one that reaches it ends the leg instead.
    pub(super) ack_told: SeqNumber,
    /// Back in the pool, the ACK of its last response not sent yet: when it is due
    /// (`IDLE_ACK_DELAY_MS`), unless a segment of Splicer's carries it before.
    pub(super) ack_due: Due,
    /// The current response's first byte has been measured.
    pub(super) answered: bool,
    /// The current request's server leg saw a retransmission or a gap (the real's
    /// loss rate).
    pub(super) lossy: bool,
}

impl ServerConn {
    pub(super) fn deadline(&self, s: &super::FlowSettings) -> u64 {
        let by_state = match self.state {
            SState::SynSent => self.since + s.connect_timeout,
            SState::Idle => self.tcp.last_activity + s.server_idle_timeout,
            SState::Busy => self.tcp.last_activity + s.server_idle_timeout,
            SState::Draining => self.since + s.drain_timeout,
            SState::Closing => self.since + LINGER_MS * s.ticks_per_ms,
            SState::Checking => self.since + s.connect_timeout,
            // As its client's (the two move together): every deadline must be finite, or
            // its timer entry would outlive the connection.
            SState::Tunnel => self.tcp.last_activity + s.tcp_idle_timeout,
        };
        let by_state = self.check.map_or(by_state, |d| d.min(by_state));
        let at = self.tcp.deadline(by_state);
        self.ack_due.map_or(at, |due| at.min(due))
    }

    /// A segment from Splicer on this leg at `seq`.
    pub(super) fn outgoing(&self, seq: SeqNumber, flags: u8, ts_now: u32) -> Outgoing {
        let mut o = Outgoing::new(
            (self.key.vip, self.key.vip_port),
            (self.key.client, self.key.client_port),
            seq,
        );
        o.tcp.flags = TcpFlags::from(flags);
        if flags & tcp::flags::SYN != 0 {
            o.tcp.window = u16::MAX;
            o.tcp.options = TcpOptions {
                mss: Some(OUR_MSS),
                sack_permitted: true,
                timestamp: Some((ts_now, 0)),
                window_scale: Some(OUR_WSCALE),
                ..TcpOptions::NONE
            };
            return o;
        }
        // Before the server's SYN-ACK there is nothing to acknowledge: a RST then goes
        // without ACK (an ACK of 0 makes Linux in SYN-RECEIVED ignore the RST).
        if self.state != SState::SynSent {
            o.tcp.ack = Some(self.tcp.rcv_nxt);
        }
        o.tcp.window = (self.window >> self.tcp.our_shift()).min(u32::from(u16::MAX)) as u16;
        o.tcp.options.timestamp = self.tcp.timestamp_option(ts_now);
        o
    }

    /// Whether it is a health check's connection (outside the pool).
    pub(super) fn is_check(&self) -> bool {
        self.check.is_some()
    }

    /// Whether it is a health check's connection whose verdict is not given yet.
    pub(super) fn check_pending(&self) -> bool {
        self.check.is_some_and(|d| d != CHECK_DONE)
    }

    /// Whether the connection can carry another request after the current response:
    /// the response said so and the server has not closed.
    pub(super) fn reusable(&self) -> bool {
        self.framer.reusable() && !self.tcp.fin_received
    }

    /// Largest payload of a segment to this server carrying `opts_len` option bytes.
    pub(super) fn max_payload(&self, opts_len: usize) -> usize {
        usize::from(self.tcp.peer_mss)
            .saturating_sub(opts_len)
            .max(1)
    }
}

impl<P: PacketBuf> Pipeline<P> {
    /// Opens a new connection to `real`, on behalf of the waiting client `client` or to
    /// fill the pool. Returns its handle, `None` when the flow table is full or no local
    /// port is free (counted).
    pub(super) fn open_server(
        &mut self,
        real: RealId,
        client: Option<Handle>,
        now: u64,
        sink: &mut impl Sink<P>,
    ) -> Option<Handle> {
        self.open_conn(real, client, None, now, sink)
    }

    /// [`Pipeline::open_server`], or with `check` (its deadline) a health check's
    /// connection, which is not counted in the real's pool.
    pub(super) fn open_conn(
        &mut self,
        real: RealId,
        client: Option<Handle>,
        check: Option<u64>,
        now: u64,
        sink: &mut impl Sink<P>,
    ) -> Option<Handle> {
        let address = self.topology.farm().reals[usize::from(real)].address;
        let Some((port, _)) = self.topology.route(*address.ip()) else {
            self.counters.inc(0, Counter::DropNoRoute);
            return None;
        };
        if self.flows.is_full() {
            self.counters.inc(port, Counter::DropFlowTableFull);
            return None;
        }
        let local = self.topology.port(port).cidr.addr;
        let lport = self.pick_local_port(local, *address.ip(), address.port())?;
        let key = ClientKey {
            client: *address.ip(),
            client_port: address.port(),
            vip: local,
            vip_port: lport,
        };
        let iss = self.next_isn(&key, now);
        let mut tcp = Endpoint::new(iss, SeqNumber(0), now, self.settings.flow.ticks_per_ms);
        tcp.peer_mss = OUR_MSS;
        let conn = ServerConn {
            key,
            real,
            state: SState::SynSent,
            tcp,
            out: self.flows.take_buffer(),
            out_start: iss + 1,
            client,
            framer: ResponseFramer::new(false),
            fin_sent: false,
            window: IDLE_WINDOW,
            window_settled: false,
            ack_told: SeqNumber(0),
            ack_due: Due::NONE,
            since: now,
            charge: 0,
            check: check.into(),
            answered: false,
            lossy: false,
        };
        let h = self.flows.insert_server(key, conn);
        if check.is_none() {
            let pool = self.pools.get(real);
            pool.conns += 1;
            pool.opening += 1;
        }
        self.counters.inc(port, Counter::ServerConnsOpened);
        self.send_server_flags(port, h, tcp::flags::SYN, now, sink);
        self.reschedule_any(h);
        Some(h)
    }

    /// A free local port whose connection to `remote` hashes to this worker, drawn by
    /// a keyed hash (RFC 6056) so that no port tells the next.
    fn pick_local_port(
        &mut self,
        local: std::net::Ipv4Addr,
        remote: std::net::Ipv4Addr,
        remote_port: u16,
    ) -> Option<u16> {
        let span = u32::from(LOCAL_PORTS.1 - LOCAL_PORTS.0) + 1;
        let tuple = ClientKey {
            client: remote,
            client_port: remote_port,
            vip: local,
            vip_port: 0,
        };
        for _ in 0..64 {
            self.port_attempts += 1;
            let r = self.keys.port_candidate(&tuple, self.port_attempts);
            let lport = LOCAL_PORTS.0 + (r % span) as u16;
            let key = FlowKey::new(protocol::TCP, (remote, remote_port), (local, lport));
            if key.owner(self.settings.workers) != self.settings.worker {
                continue;
            }
            let ck = ClientKey {
                client: remote,
                client_port: remote_port,
                vip: local,
                vip_port: lport,
            };
            if self.flows.lookup(&ck).is_none() {
                return Some(lport);
            }
        }
        self.counters.inc(0, Counter::DropNoLocalPort);
        None
    }

    /// A segment on a server connection.
    pub(super) fn server_segment<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        seg: &Seg,
        pkt: P,
        now: u64,
        sink: &mut S,
    ) {
        let Some(s) = self.flows.server_mut(h) else {
            return sink.discard(pkt);
        };
        if s.state == SState::Tunnel {
            // Every segment goes through, RST and FIN included.
            return self.tunnel_down(port, h, seg, pkt, now, sink);
        }
        s.tcp.last_activity = now;
        if seg.rst() {
            // RFC 5961: in SYN-SENT an RST is valid when it acknowledges our SYN;
            // otherwise only at exactly the next expected sequence number.
            let valid = match s.state {
                SState::SynSent => seg.ack == Some(s.tcp.snd_nxt),
                _ => seg.seq == s.tcp.rcv_nxt,
            };
            if !valid {
                self.counters.inc(port, Counter::DropTcpBadSegment);
                return sink.discard(pkt);
            }
            self.counters.inc(port, Counter::ServerResets);
            if s.state == SState::SynSent {
                self.server_open_failed(port, h, now, sink);
            } else {
                self.server_gone(port, h, now, sink);
            }
            return sink.discard(pkt);
        }
        match s.state {
            SState::SynSent => {
                self.server_handshake(port, h, seg, now, sink);
                sink.discard(pkt)
            }
            SState::Busy => self.forward_down(port, h, seg, pkt, now, sink),
            SState::Tunnel => self.tunnel_down(port, h, seg, pkt, now, sink),
            SState::Idle | SState::Draining | SState::Closing | SState::Checking => {
                let payload = &pkt.data()[seg.payload.clone()];
                self.server_local_segment(port, h, seg, payload, now, sink);
                sink.discard(pkt)
            }
        }
    }

    fn server_handshake<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        seg: &Seg,
        now: u64,
        sink: &mut S,
    ) {
        let ticks_per_ms = self.settings.flow.ticks_per_ms;
        let Some(s) = self.flows.server_mut(h) else {
            return;
        };
        if !seg.syn() || seg.ack != Some(s.tcp.snd_nxt) {
            self.counters.inc(port, Counter::DropTcpBadSegment);
            return;
        }
        s.tcp.rcv_nxt = seg.seq + 1;
        s.tcp.snd_una = seg.ack.unwrap_or(s.tcp.snd_nxt);
        // Client segments of at most our MSS are forwarded as they come.
        s.tcp
            .take_syn_options(seg, OUR_MSS, (now / ticks_per_ms.max(1)) as u32);
        // RFC 7323: the window of a SYN is never scaled.
        s.tcp.peer_window = u32::from(seg.window);
        s.state = SState::Idle;
        s.since = now;
        s.tcp.established(ticks_per_ms);
        let (real, waiter, check) = (s.real, s.client.take(), s.is_check());
        self.pools.unspare(real, h);
        let pool = self.pools.get(real);
        if !check {
            pool.opening -= 1;
        }
        // The real answers again, whoever asked.
        pool.failures = 0;
        pool.hold_off_until = 0;
        self.counters.inc(port, Counter::ServerConnsEstablished);
        // The ACK that completes the handshake: the server takes its window from it
        // whatever it is.
        self.send_server_flags(port, h, 0, now, sink);
        if let Some(s) = self.flows.server_mut(h) {
            s.window_settled = true;
        }
        if check {
            return self.check_established(port, h, now, sink);
        }
        match waiter.and_then(|c| Some((c, self.waiting_tunnel(c, real)?))) {
            Some((c, true)) => self.start_tunnel(port, c, h, now, sink),
            Some((c, false)) => self.start_splice(port, c, h, false, now, sink),
            _ => self.server_free(port, h, now, sink),
        }
    }

    /// A segment on a connection that carries no client: idle, draining or closing.
    fn server_local_segment<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        seg: &Seg,
        payload: &[u8],
        now: u64,
        sink: &mut S,
    ) {
        let ms_now = self.ts_now(now);
        let Some(s) = self.flows.server_mut(h) else {
            return;
        };
        if seg.syn() {
            self.counters.inc(port, Counter::DropTcpBadSegment);
            return self.send_server_flags(port, h, 0, now, sink);
        }
        if let Some(ack) = seg.ack {
            if ack >= s.tcp.snd_una && ack <= s.tcp.snd_nxt {
                s.tcp.peer_window = s.tcp.scaled_window(seg.window);
            }
            s.tcp.take_ack(ack, now);
        }
        if let Some((tsval, _)) = seg.ts {
            let next = s.tcp.rcv_nxt;
            s.tcp.note_timestamp(seg.seq, next, tsval, ms_now);
        }
        let mut need_ack = false;
        let already = s.tcp.rcv_nxt - seg.seq;
        if (!payload.is_empty() || seg.fin()) && already >= 0 {
            let already = already as usize;
            if already < payload.len() {
                let new = &payload[already..];
                match s.state {
                    SState::Draining => {
                        // The client is gone: Splicer takes the rest of the response
                        // itself, to keep the connection if the response ends.
                        let whole = matches!(s.framer.feed(new), Ok(f) if f.consumed == new.len());
                        s.tcp.rcv_nxt += new.len();
                        if !whole {
                            self.counters.inc(port, Counter::ServerUnexpectedData);
                            return self.server_close(port, h, true, now, sink);
                        }
                    }
                    SState::Checking => {
                        // A check's answer: only its status line matters.
                        let _ = s.framer.feed(new);
                        s.tcp.rcv_nxt += new.len();
                    }
                    SState::Idle => {
                        // Nobody asked: a server speaking unprompted cannot be reused.
                        self.counters.inc(port, Counter::ServerUnexpectedData);
                        return self.server_close(port, h, true, now, sink);
                    }
                    _ => s.tcp.rcv_nxt += new.len(),
                }
                need_ack = true;
            } else if !payload.is_empty() {
                // A retransmission of data already taken: its ACK was lost.
                need_ack = true;
            }
            if seg.fin() && seg.seq + payload.len() == s.tcp.rcv_nxt && !s.tcp.fin_received {
                s.tcp.rcv_nxt += 1;
                s.tcp.fin_received = true;
                need_ack = true;
            }
        } else if !payload.is_empty() || seg.fin() {
            need_ack = true;
        }
        let s = self.flows.server_mut(h).expect("checked above");
        match s.state {
            SState::Draining if s.tcp.fin_received => {
                let ok = s.framer.finish().is_ok();
                if ok {
                    self.counters.inc(port, Counter::DrainCompleted);
                } else {
                    self.counters.inc(port, Counter::ServerTruncated);
                }
                return self.server_close(port, h, false, now, sink);
            }
            SState::Draining if s.framer.is_complete() => {
                s.since = now;
                self.counters.inc(port, Counter::DrainCompleted);
                if need_ack {
                    self.send_idle_ack(port, h, now, sink);
                }
                if self.flows.server_mut(h).is_some_and(|s| s.reusable()) {
                    return self.server_free(port, h, now, sink);
                }
                return self.server_close(port, h, false, now, sink);
            }
            SState::Checking => return self.check_answer(port, h, need_ack, now, sink),
            SState::Idle if s.tcp.fin_received => {
                self.counters.inc(port, Counter::ServerConnsClosedByServer);
                return self.server_close(port, h, false, now, sink);
            }
            SState::Closing
                if s.tcp.fin_received && s.fin_sent && s.tcp.snd_una == s.tcp.snd_nxt =>
            {
                if need_ack {
                    self.send_server_flags(port, h, 0, now, sink);
                }
                return self.server_remove(h);
            }
            _ => {}
        }
        if need_ack {
            self.send_server_flags(port, h, 0, now, sink);
        }
        self.reschedule_any(h);
    }

    /// Puts an established connection into its real's free queue, or hands it straight
    /// to a waiting request.
    pub(super) fn server_free<S: Sink<P>>(&mut self, port: u16, h: Handle, now: u64, sink: &mut S) {
        let Some(s) = self.flows.server_mut(h) else {
            return;
        };
        let was_busy = matches!(s.state, SState::Busy | SState::Draining);
        let real = s.real;
        s.state = SState::Idle;
        s.client = None;
        s.since = now;
        s.out.clear();
        s.out_start = s.tcp.snd_nxt;
        if was_busy {
            self.pools.get(real).busy -= 1;
        }
        if self.topology.farm().reals[usize::from(real)].pool_target() == 0 {
            // In maintenance or removed: its connections close as their work ends.
            self.counters.inc(port, Counter::ServerConnsIdleClosed);
            return self.server_close(port, h, false, now, sink);
        }
        self.uncharge(h);
        self.pools.get(real).free.push(h);
        self.reschedule_any(h);
        // The slots it held, or a connection to a real that could not be reached, may
        // be what a queued request waits for.
        self.serve_queue(real, now, sink);
    }

    /// Closes a server connection: with a FIN (after ACKing what the server sent) or,
    /// with `reset`, a RST and at once.
    pub(super) fn server_close<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        reset: bool,
        now: u64,
        sink: &mut S,
    ) {
        let freed = self.uncharge(h);
        let Some(s) = self.flows.server_mut(h) else {
            return;
        };
        let real = s.real;
        match s.state {
            // Not in the pool.
            _ if s.is_check() => {}
            SState::Busy | SState::Draining | SState::Tunnel => self.pools.get(real).busy -= 1,
            SState::SynSent => {
                self.pools.get(real).opening -= 1;
                self.pools.unspare(real, h);
            }
            SState::Idle => self.pools.unfree(real, h),
            SState::Closing | SState::Checking => {}
        }
        if reset {
            // Sent before the state changes, which tells whether it may carry an ACK.
            self.send_server_flags(port, h, tcp::flags::RST, now, sink);
            self.server_remove(h);
            if let Some(r) = freed {
                self.serve_queue(r, now, sink);
            }
            return;
        }
        let s = self.flows.server_mut(h).expect("checked above");
        s.state = SState::Closing;
        s.client = None;
        s.since = now;
        if !s.fin_sent {
            s.fin_sent = true;
            s.tcp.snd_nxt += 1;
            s.tcp.retransmit_at = Due::at(now + s.tcp.rto);
            let seq = s.tcp.snd_nxt - 1;
            self.send_server_at(port, h, seq, tcp::flags::FIN, now, sink);
        }
        self.reschedule_any(h);
        if let Some(r) = freed {
            self.serve_queue(r, now, sink);
        }
    }

    /// The server reset or lost a busy or idle connection: whatever client it carried
    /// is reset too.
    fn server_gone<S: Sink<P>>(&mut self, port: u16, h: Handle, now: u64, sink: &mut S) {
        let freed = self.uncharge(h);
        let Some(s) = self.flows.server_mut(h) else {
            return;
        };
        let (real, state, client) = (s.real, s.state, s.client);
        if s.check_pending() {
            return self.check_done(port, h, Err(CheckFailure::Refused), now, sink);
        }
        if s.is_check() {
            return self.server_remove(h);
        }
        match state {
            SState::Busy | SState::Draining | SState::Tunnel => self.pools.get(real).busy -= 1,
            SState::Idle => self.pools.unfree(real, h),
            SState::SynSent => self.pools.get(real).opening -= 1,
            SState::Closing | SState::Checking => {}
        }
        if let Some(s) = self.flows.server_mut(h) {
            s.state = SState::Closing;
            s.client = None;
        }
        if state == SState::Busy {
            self.note_outcome(real, true);
            if let Some(c) = client {
                self.splice_server_lost(port, c, h, 502, now, sink);
            }
        }
        self.server_remove(h);
        if let Some(r) = freed {
            self.serve_queue(r, now, sink);
        }
    }

    /// Opening failed (RST or no answer): the real is held off for a while, and the
    /// waiting request, if any, is routed again (`check.rs`), or gets 503, and counts
    /// towards the real's run of errors.
    pub(super) fn server_open_failed<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        now: u64,
        sink: &mut S,
    ) {
        // Its real is held off now: the slot it held serves nobody else.
        self.uncharge(h);
        let Some(s) = self.flows.server_mut(h) else {
            return;
        };
        let timed_out = now >= s.since + self.settings.flow.connect_timeout;
        if s.check_pending() {
            let why = if timed_out {
                CheckFailure::Timeout
            } else {
                CheckFailure::Refused
            };
            return self.check_done(port, h, Err(why), now, sink);
        }
        let (real, waiter) = (s.real, s.client.take());
        let ticks_per_ms = self.settings.flow.ticks_per_ms;
        let pool = self.pools.get(real);
        pool.opening -= 1;
        pool.failures = pool.failures.saturating_add(1);
        // 1 s, 2 s, 4 s … up to 30 s between attempts on a real that does not answer.
        let backoff = (1000u64 << pool.failures.min(5).saturating_sub(1)).min(30_000);
        pool.hold_off_until = now + backoff * ticks_per_ms;
        self.counters.inc(port, Counter::ServerConnectFailures);
        pool.measure.failed();
        if let Some(s) = self.flows.server_mut(h) {
            s.state = SState::Closing;
        }
        self.server_remove(h);
        if let Some(c) = waiter {
            // A request's connection: a passive error (not a pool refill's).
            self.note_outcome(real, true);
            match self.waiting_tunnel(c, real) {
                Some(true) => self.tunnel_open_failed(port, c, real, timed_out, now, sink),
                Some(false) => self.route_again(port, c, real, now, sink),
                None => {}
            }
        }
    }

    /// Forgets a connection.
    pub(super) fn server_remove(&mut self, h: Handle) {
        self.uncharge(h);
        self.held.remove(&h);
        if let Some(s) = self.flows.remove_server(h) {
            if !s.is_check() {
                self.pools.unspare(s.real, h);
                self.pools.get(s.real).conns -= 1;
            } else if let Some(slot) = self.checks.get_mut(usize::from(s.real)) {
                // A check connection that ended without a verdict (reset on shutdown
                // or reconfiguration): the next check opens afresh.
                slot.forget(h);
            }
            self.flows.give_buffer(s.out);
        }
    }

    /// Sends a segment without payload at `snd_nxt` (SYN, pure ACK, RST).
    pub(super) fn send_server_flags<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        flags: u8,
        now: u64,
        sink: &mut S,
    ) {
        let Some(s) = self.flows.server_mut(h) else {
            return;
        };
        let seq = if flags & tcp::flags::SYN != 0 {
            s.tcp.iss
        } else {
            s.tcp.snd_nxt
        };
        self.send_server_at(port, h, seq, flags, now, sink);
    }

    /// Acknowledges everything received on server connection `h`, which goes idle, with
    /// the idle window. When the ACK covers bytes no ACK covered before, the server takes
    /// the window from it whatever it is (`ServerConn::window_settled`).
    pub(super) fn send_idle_ack<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        now: u64,
        sink: &mut S,
    ) {
        let Some(s) = self.flows.server_mut(h) else {
            return;
        };
        s.window = IDLE_WINDOW;
        let advances = s.tcp.rcv_nxt > s.ack_told;
        self.send_server_flags(port, h, 0, now, sink);
        if let Some(s) = self.flows.server_mut(h) {
            s.window_settled = advances;
        }
    }

    /// Server connection `h`, its response delivered, goes back to its pool owing the
    /// server the ACK of it (`ServerConn::ack_due`), and offering the idle window from
    /// then on.
    pub(super) fn ack_later_into_pool<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        now: u64,
        sink: &mut S,
    ) {
        let delay = IDLE_ACK_DELAY_MS * self.settings.flow.ticks_per_ms;
        if let Some(s) = self.flows.server_mut(h) {
            s.window = IDLE_WINDOW;
            s.window_settled = false;
            s.ack_due = Due::at(now + delay);
        }
        self.server_free(port, h, now, sink);
    }

    fn send_server_at<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        seq: SeqNumber,
        flags: u8,
        now: u64,
        sink: &mut S,
    ) {
        let ts_now = self.ts_now(now);
        let Some(s) = self.flows.server_mut(h) else {
            return;
        };
        let o = s.outgoing(seq, flags, ts_now);
        s.ack_told = s.tcp.rcv_nxt;
        s.ack_due = Due::NONE;
        self.emit(port, &o, &[], now, sink);
    }

    /// Sends (again) the part of the originated data the server has not acknowledged.
    pub(super) fn send_server_data<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        now: u64,
        sink: &mut S,
    ) {
        let ts_now = self.ts_now(now);
        let Some(s) = self.flows.server_mut(h) else {
            return;
        };
        let out = std::mem::take(&mut s.out);
        let start = s.out_start;
        let acked = (s.tcp.snd_una - start).clamp(0, out.len() as i32) as usize;
        let template = s.outgoing(start, 0, ts_now);
        s.ack_told = s.tcp.rcv_nxt;
        s.ack_due = Due::NONE;
        let mss = s.max_payload(template.tcp.options.buffer_len());
        let mut offset = acked;
        while offset < out.len() {
            let n = (out.len() - offset).min(mss);
            let mut o = template.clone();
            o.tcp.seq = start + offset;
            o.tcp.flags = TcpFlags::empty().with(TcpFlags::PSH, offset + n == out.len());
            self.emit(port, &o, &out[offset..offset + n], now, sink);
            offset += n;
        }
        if let Some(s) = self.flows.server_mut(h) {
            s.out = out;
        }
    }

    /// Runs a due timer of a server connection.
    pub(super) fn server_timer<S: Sink<P>>(&mut self, h: Handle, now: u64, sink: &mut S) {
        let set = self.settings.flow;
        let Some(s) = self.flows.server_mut(h) else {
            return;
        };
        let port = self.topology.route(s.key.client).map_or(0, |(p, _)| p);
        if s.ack_due.is_some_and(|due| due <= now) {
            // No request came to carry the ACK of the last response.
            self.send_idle_ack(port, h, now, sink);
        }
        if self.check_timed_out(port, h, now, sink) {
            return;
        }
        let Some(s) = self.flows.server_mut(h) else {
            return;
        };
        let retransmit_due = s.tcp.retransmit_at.is_some_and(|r| r <= now);
        match s.state {
            SState::SynSent if now >= s.since + set.connect_timeout => {
                return self.server_open_failed(port, h, now, sink);
            }
            SState::Closing if !retransmit_due || s.tcp.tries >= MAX_RETRIES => {
                return self.server_remove(h);
            }
            SState::Draining if now >= s.since + set.drain_timeout => {
                self.counters.inc(port, Counter::DrainTimeouts);
                return self.server_close(port, h, true, now, sink);
            }
            _ if retransmit_due => {
                if s.tcp.tries >= MAX_RETRIES {
                    self.counters.inc(port, Counter::RetransmitTimeouts);
                    return self.server_failed_busy(port, h, now, sink);
                }
                s.tcp.back_off(now, self.settings.flow.ticks_per_ms);
                self.counters.inc(port, Counter::TcpRetransmits);
                match s.state {
                    SState::SynSent => self.send_server_flags(port, h, tcp::flags::SYN, now, sink),
                    SState::Closing => {
                        let seq = s.tcp.snd_nxt - 1;
                        self.send_server_at(port, h, seq, tcp::flags::FIN, now, sink)
                    }
                    _ => self.send_server_data(port, h, now, sink),
                }
            }
            SState::Idle if now >= s.tcp.last_activity + set.server_idle_timeout => {
                let real = s.real;
                let keep = usize::from(self.topology.farm().reals[usize::from(real)].pool_target());
                if self.pools.get(real).free.len() > keep {
                    self.counters.inc(port, Counter::ServerConnsIdleClosed);
                    return self.server_close(port, h, false, now, sink);
                }
                s.tcp.last_activity = now;
            }
            SState::Tunnel if now >= s.tcp.last_activity + set.tcp_idle_timeout => {
                // Its client's timer usually comes first (the client is then gone and
                // this connection waits for its drain, which resets it).
                let client = s.client;
                if let Some(c) = client.filter(|&c| self.flows.get_mut(c).is_some()) {
                    return self.tunnel_reset(port, c, Counter::TunnelIdleTimeouts, now, sink);
                }
                return self.server_close(port, h, true, now, sink);
            }
            SState::Busy if now >= s.tcp.last_activity + set.server_idle_timeout => {
                self.counters.inc(port, Counter::ServerTimeouts);
                return self.server_failed_busy(port, h, now, sink);
            }
            _ => {}
        }
        self.reschedule_any(h);
    }

    /// A busy connection that cannot go on: its client gets 504 (or, before any byte
    /// of the answer, its request goes to another real: `redispatch.rs`), and it is
    /// reset.
    fn server_failed_busy<S: Sink<P>>(&mut self, port: u16, h: Handle, now: u64, sink: &mut S) {
        let client = self.flows.server_mut(h).and_then(|s| s.client);
        if let Some(c) = client.filter(|&c| self.is_tunnel(c)) {
            // A passed-through connection whose server never took the bytes Splicer
            // sent it: both sides are reset (the server as the client's drain).
            return self.tunnel_reset(port, c, Counter::TunnelAborts, now, sink);
        }
        if let Some(real) = self.flows.server(h).map(|s| s.real) {
            self.note_outcome(real, true);
        }
        // The client first, while the connection still holds the request.
        if let Some(c) = client {
            self.splice_server_lost(port, c, h, 504, now, sink);
        }
        if self
            .flows
            .server(h)
            .is_some_and(|s| s.state != SState::Closing)
        {
            self.server_close(port, h, true, now, sink);
        }
    }

    /// Opens connections where a real's pool is below its size. Called from the timer
    /// poll; at most one new connection per real per call, so that a pool refills at
    /// the pace of the poll rather than with a burst of SYNs.
    pub(crate) fn refill_pools<S: Sink<P>>(&mut self, now: u64, sink: &mut S) {
        let reals = self.topology.farm().reals.len();
        for r in 0..reals {
            let real = &self.topology.farm().reals[r];
            let (want, max) = (u32::from(real.pool_target()), u32::from(real.maxconns));
            let p = &self.pools.reals[r];
            let ready = p.free.len() as u32 + p.opening;
            if ready < want && p.conns < max && now >= p.hold_off_until {
                if let Some(h) = self.open_server(r as RealId, None, now, sink) {
                    self.pools.reals[r].spare.push(h);
                }
            }
        }
    }
}
