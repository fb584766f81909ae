//! The splice: a client connection and a pooled server connection joined for one
//! request and its response, segments rewritten in place between them (NetScaler
//! connection pooling, "Internet client-server multiplexer", WO 00/28433).
//!
//! When a request head is complete, the client leg asks [`Pipeline::dispatch`] for a
//! real (content rules, predictor), takes a free connection of that real's pool (or
//! opens one, or waits for one, bounded by `queue_timeout`), sends the buffered head on
//! it itself, and from then on forwards:
//!
//! * **client → server**: the rest of the request body, in order, each segment's
//!   addresses, seq (`client seq + up_delta`), ack (`server seq = client ack -
//!   down_delta`), window (rescaled), SACK blocks and timestamps rewritten;
//! * **server → client**: the response, likewise, through a [`ResponseFramer`] that
//!   finds where it ends.
//!
//! Client bytes are forwarded in order only (a segment past a hole is dropped, counted,
//! and retransmitted by the client), because the request framer must see every byte to
//! find the message's end. Server bytes past a hole that the response framer would
//! only count (body data) are forwarded at once and counted when the hole fills
//! (`ahead`); other server bytes past a hole are dropped like client ones. Splicer
//! never buffers forwarded payload.
//!
//! When the response is complete and the client has acknowledged all of it, the server
//! connection is ACKed by Splicer up to the response end and goes back to its pool
//! (or is closed when the server said `Connection: close` or closed), and the client
//! connection reads its next request, which may go to another real. A client that did
//! not want keep-alive (HTTP/1.0 without `Connection: keep-alive`: Splicer inserted
//! `Connection: Keep-Alive` towards the server so the connection stays reusable, seed
//! 002 case 3; HTTP/1.1 with `Connection: close`) is closed by Splicer with a FIN.
//!
//! FIN flags from either side are not forwarded: each leg is closed by Splicer on its
//! own terms. A client FIN mid-request is ACKed by Splicer and ends the client
//! connection after the response; a client RST leaves the server connection draining
//! (Splicer ACKs the rest of the response itself, then reuses it); a server RST or a
//! truncated response resets the client.
//!
//! [`ResponseFramer`]: splicer_http::ResponseFramer
//! [`Pipeline::dispatch`]: crate::Pipeline

use super::ahead;
use super::body_guard;
use super::client::{HeadEdit, Pending, State};
use super::clocks::{anchor_down, leg_timestamps, ms_clock};
use super::close_mark;
use super::due::Due;
use super::key::Handle;
use super::leg::Leg;
use super::queue::charge_once;
use super::reshape::{as_probe, trim, trim_front};
use super::route::micros;
use super::segment::Seg;
use super::server::SState;
use super::table::Conn;
use super::tcp::{beyond, ts_not_below};
use crate::balance::{Decision, RealId};
use crate::counters::{Counter, RealCounter, VirtualCounter};
use crate::packet::{PacketBuf, Sink};
use crate::parse::L3_OFFSET;
use crate::pipeline::Pipeline;
use crate::rewrite::{self, headers::tcp_segment, Timestamps, Translation};
use splicer_http::{strip_close, write_forwarded, BodyFramer, RequestHead, StatusClass};
use splicer_wire::tcp::{self, SeqNumber};

/// Which way a forwarded segment goes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Way {
    Up,
    Down,
}

impl<P: PacketBuf> Pipeline<P> {
    /// A complete, valid request head on client connection `h`: route it and splice it
    /// onto a server connection, or answer 503 when no real can take it.
    pub(super) fn dispatch<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        head: RequestHead,
        now: u64,
        sink: &mut S,
    ) {
        let Some(c) = self.flows.get_mut(h) else {
            return;
        };
        c.requests = c.requests.saturating_add(1);
        let virtual_index = c.service.virtual_index;
        let decision = self.route(port, h, &head, now, None);
        self.access_begin(h, &head, now);
        let real = match decision {
            Decision::Splice(real) => Some(real),
            Decision::Queue { .. } => None,
            Decision::Redirect(url) => return self.redirect(port, h, &head, url, now, sink),
            Decision::Refuse => {
                self.counters.inc(port, Counter::HttpNoServer);
                self.counters
                    .inc_virtual(virtual_index, VirtualCounter::NoServer);
                return self.respond(port, h, 503, now, sink);
            }
        };
        if let Some(r) = real {
            if self.try_local(port, h, r, now, sink) || self.try_handoff(port, h, r, now, sink) {
                return;
            }
        }
        self.splice_routed(port, h, head, real, decision, now, sink);
    }

    /// Splices the request `head` of client `h`, routed to `real` (`None`: to wait in
    /// the queue `decision` names).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn splice_routed<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        head: RequestHead,
        real: Option<RealId>,
        decision: Decision,
        now: u64,
        sink: &mut S,
    ) {
        let Some(c) = self.flows.get_mut(h) else {
            return;
        };
        let virtual_index = c.service.virtual_index;
        // The buffered bytes after the head: the start of the body, perhaps more.
        let rest = &c.head[head.head_len()..];
        let mut body = BodyFramer::for_request(head.body());
        let body_in_buffer = match body.feed(rest) {
            Ok(f) => f.consumed,
            Err(_) => {
                self.counters.inc(port, Counter::RefusedBadBody);
                self.counters
                    .inc_virtual(virtual_index, VirtualCounter::Refused);
                return self.respond(port, h, 400, now, sink);
            }
        };
        if c.tcp.fin_received && !body.is_complete() {
            // The client closed before its body ended: the request can never complete.
            self.counters.inc(port, Counter::ClientBodyTruncated);
            self.counters
                .inc_virtual(virtual_index, VirtualCounter::Refused);
            return self.respond(port, h, 400, now, sink);
        }
        let consumed = head.head_len() + body_in_buffer;
        let forward = c.service.forward_for;
        let server_close = c.service.server_close;
        let mut pending =
            Pending::for_head(real, &head, &c.head, consumed, body, forward, server_close);
        c.state = State::Waiting;
        c.wait_since = now;
        let Some(real) = real else {
            let Decision::Queue {
                virtual_index: queue,
                route,
            } = decision
            else {
                unreachable!("only a queued request has no real yet");
            };
            pending.cost = self.topology.farm().virtuals[usize::from(queue)]
                .class(route)
                .cost;
            c.pending = Some(Box::new(pending));
            return self.enqueue(port, h, queue, route, now, sink);
        };
        pending.cost = self.balance.cost();
        let pending = self.flows.boxed_pending(pending);
        let Some(c) = self.flows.get_mut(h) else {
            return;
        };
        c.pending = Some(pending);
        // The latest real: a `sticky` real keeps such clients.
        c.last_real = Some(real);
        self.count_spill(port);
        self.count_spliced(port, virtual_index, real);
        self.acquire(port, h, real, now, sink);
    }

    /// A request of virtual `virtual_index` goes to `real` (now, or once a connection
    /// is free): counted for the port, the virtual and the real.
    pub(super) fn count_spliced(&self, port: u16, virtual_index: u16, real: RealId) {
        self.counters.inc(port, Counter::SpliceRequests);
        self.counters
            .inc_virtual(virtual_index, VirtualCounter::Spliced);
        self.counters.inc_real(real, RealCounter::Requests);
    }

    /// Whether client `h` still waits for a connection to `real`: `Some(tunnel)` when it
    /// does (`tunnel`: a `tcp` virtual's connection), `None` when not.
    pub(super) fn waiting_tunnel(&mut self, h: Handle, real: RealId) -> Option<bool> {
        let c = self.flows.get_mut(h)?;
        let waits =
            c.state == State::Waiting && c.pending.as_ref().is_some_and(|p| p.real == Some(real));
        waits.then_some(c.tunnel)
    }

    /// Whether client `h` still waits for a connection to `real`.
    pub(super) fn client_waits_for(&mut self, h: Handle, real: RealId) -> bool {
        self.flows.get_mut(h).is_some_and(|c| {
            c.state == State::Waiting && c.pending.as_ref().is_some_and(|p| p.real == Some(real))
        })
    }

    /// Joins waiting client `h` and idle server connection `sh`: sends the buffered
    /// request on the server leg and sets up the translation.
    pub(super) fn start_splice<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        sh: Handle,
        now: u64,
        sink: &mut S,
    ) {
        let ts_now = self.ts_now(now);
        let Some((c, s, spare)) = self.flows.pair_and_spare(h, sh) else {
            return;
        };
        let Some(p) = c.pending.take() else {
            return;
        };
        // Its last head copy went back to the spare buffers (`release_head_copy`).
        if s.out.capacity() == 0 {
            if let Some(buf) = spare.pop() {
                s.out = buf;
            }
        }
        // Charged to its real from now, unless it was when the connection was opened
        // for it.
        charge_once(&mut self.pools, s, p.cost);
        s.state = SState::Busy;
        s.client = Some(h);
        s.since = now;
        s.answered = false;
        s.lossy = false;
        s.tcp.last_activity = now;
        s.framer.reset(p.head_request);
        // The head opens the window the idle connection had (a request sent ahead has
        // set its own: `dispatch_pipelined`).
        if c.legs.is_empty() {
            s.window = super::server::SERVER_LEG_WINDOW;
        }
        s.window_settled = false;
        // The request as the server gets it: the buffered head (with Keep-Alive
        // inserted for an HTTP/1.0 client that did not ask for it) and the start of the
        // body that came with it.
        // With `forward_for`, the head is written with the client's address (the
        // insertion included). Either way Splicer sends it as its own bytes: the
        // translation below starts after it, whatever its length (the Bytes Added).
        s.out.clear();
        let src = &c.head[..p.consumed];
        match p.edit {
            HeadEdit::None => s.out.extend_from_slice(src),
            HeadEdit::KeepAlive(ins) => {
                s.out.extend_from_slice(&src[..ins.offset()]);
                s.out.extend_from_slice(ins.bytes());
                s.out.extend_from_slice(&src[ins.offset()..]);
                self.counters.inc(port, Counter::KeepAliveInserted);
            }
            HeadEdit::Forward {
                incoming,
                keep_alive,
                head_len,
                request_line,
            } => {
                let (head, rest) = src.split_at(head_len as usize);
                let o = write_forwarded(
                    head,
                    request_line as usize,
                    keep_alive,
                    c.key.client,
                    incoming,
                    &mut s.out,
                );
                s.out.extend_from_slice(rest);
                if keep_alive {
                    self.counters.inc(port, Counter::KeepAliveInserted);
                }
                self.counters.inc(port, Counter::ForwardedForInserted);
                if o.appended > 0 {
                    self.counters.inc(port, Counter::ForwardedForAppended);
                } else if o.removed > 0 {
                    self.counters.inc(port, Counter::ForwardedForReplaced);
                }
            }
        }
        // The client asked `close`: the server is not told, so that its connection
        // stays in the pool (`server_close`), unless the real has answered such a
        // request without a `keep-alive` to turn into `close` for the client.
        if p.close_kept_off && !self.pools.get(s.real).close_unmarked {
            if strip_close(&mut s.out) > 0 {
                self.counters.inc(port, Counter::ServerCloseKept);
            }
            s.framer.want_close_mark();
        }
        let leftover = c.head.len() - p.consumed;
        c.head.drain(..p.consumed);
        // The next request in the buffer (pipelined) starts being read now.
        c.head_first = now;
        let log = c.log;
        // A FIN the client sent with (or after) its request is not a byte of it.
        let fin = usize::from(c.tcp.fin_received);
        s.out_start = s.tcp.snd_nxt;
        s.tcp.snd_nxt += s.out.len();
        // Client bytes from here on map onto the server leg after the request Splicer sent.
        let up_from = c.tcp.rcv_nxt - fin - leftover;
        let down_from = s.tcp.rcv_nxt;
        let (ts_up, ts_down) = leg_timestamps(c, s, ts_now, None);
        // A request pipelined behind others (`pipelined`): its response is held until
        // theirs are sent, and only then placed in the client's sequence space.
        let later = !c.legs.is_empty();
        let leg = Leg {
            server: sh,
            up_from,
            up_next: up_from,
            up_delta: (s.tcp.snd_nxt.0).wrapping_sub(up_from.0),
            head_end: s.tcp.snd_nxt,
            down_from,
            down_next: down_from,
            down_delta: (c.tcp.snd_nxt.0).wrapping_sub(down_from.0),
            body: p.body,
            ts_up,
            ts_down,
            keep_alive: p.keep_alive,
            response_end: None,
            client_fin: (fin == 1 && leftover == 0).then_some(up_from),
            spoiled: false,
            failed: None,
            promoted: !later,
            ts_anchor_pending: true,
            held_rest: false,
            held_window: 0,
            window_offered: None,
            ahead: Default::default(),
            class_counted: false,
            log: std::mem::replace(&mut c.log, crate::access::NO_LOG),
        };
        // The leftover bytes are the next requests: they wait in the buffer with those
        // the client pipelines after them (`pipelined`) until they are dispatched.
        // Room for exactly one leg at first, not the four a first push_back would
        // allocate (480 bytes per connection, most of a flow's heap): most clients
        // never pipeline.
        c.legs.reserve_exact(1);
        c.legs.push_back(leg);
        if !later {
            c.framing = None;
            c.state = State::Spliced;
        }
        // A spliced client with nothing buffered behind its request needs no head
        // buffer until its next request (issue 12: state per spliced flow): the buffer
        // goes back to the spare ones, and a client that pipelines grows a new one.
        let spare_head = (!later && c.head.is_empty()).then(|| std::mem::take(&mut c.head));
        s.tcp.retransmit_at = Due::at(now + s.tcp.rto);
        s.tcp.tries = 0;
        let real = s.real;
        self.access_sent(log, real, p.consumed, now);
        if let Some(buf) = spare_head {
            self.flows.give_buffer(buf);
        }
        self.flows.recycle_pending(p);
        self.pools.get(real).busy += 1;
        self.counters.inc(port, Counter::Splices);
        let sport = self.peer_port(sh, port);
        self.send_server_data(sport, sh, now, sink);
        self.reschedule_any(sh);
        self.reschedule(h);
        if !later {
            // Requests that came with this one (pipelined) may go out at once.
            self.dispatch_pipelined(port, h, now, sink);
        }
    }

    /// A segment from the client of a spliced connection.
    pub(super) fn client_spliced<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        seg: &Seg,
        mut pkt: P,
        now: u64,
        sink: &mut S,
    ) {
        let ticks_per_ms = self.settings.flow.ticks_per_ms;
        let Some(c) = self.flows.get_mut(h) else {
            return sink.discard(pkt);
        };
        let Some(leg) = c.legs.front().map(Leg::view) else {
            return sink.discard(pkt);
        };
        if seg.rst() {
            // RFC 5961 §3.2 resets only at the next expected byte; here the client may
            // take any ACK it saw for that: Splicer's own of the head (and of body bytes
            // that came with it), or the server's of the body so far, relayed: anything
            // from the start of the body on. A RST elsewhere in the window gets a
            // challenge ACK (a real peer answers it with a RST in that range), one
            // outside it is dropped. Past the request, the range runs to the end of
            // what Splicer took itself (pipelined requests, a FIN).
            let last = leg.up_next.max(c.tcp.rcv_nxt);
            if seg.seq >= leg.up_from.min(c.tcp.rcv_nxt) && seg.seq <= last {
                self.counters.inc(port, Counter::ClientResets);
                if let Some(c) = self.flows.get_mut(h) {
                    c.abort = Some(crate::access::Term::ClientAborted);
                }
                self.close(h);
            } else if in_window(seg.seq, leg.up_next, c.tcp.peer_wscale) {
                // Answered with the server's last ACK, within the range above, so a
                // real peer's answering RST closes (an ACK of bytes the server has not
                // confirmed would also tell the client never to resend them).
                if self.challenge_allowed(port, now) {
                    self.send_spliced_ack(port, h, false, now, sink);
                }
            } else {
                self.counters.inc(port, Counter::DropTcpBadSegment);
            }
            return sink.discard(pkt);
        }
        if seg.syn() {
            // RFC 5961 §4.2: a SYN on an established connection gets a challenge ACK.
            if self.challenge_allowed(port, now) {
                self.send_spliced_ack(port, h, false, now, sink);
            }
            return sink.discard(pkt);
        }
        if let Some((tsval, _)) = seg.ts {
            // PAWS (RFC 7323 §5.3), as the server applies it: the server sees the
            // client's timestamps shifted by a constant, so it drops a segment with an
            // older one as an old duplicate. Were Splicer to frame its bytes, the client
            // could send other bytes in their place later, as a "retransmission" that
            // the framer does not see again (a desync). Pure ACKs pass, as Linux lets
            // disordered ACKs pass.
            let ms_now = ms_clock(now, ticks_per_ms);
            let in_order = c.tcp.take_timestamp(seg.seq, leg.up_next, tsval, ms_now);
            if !in_order && (!seg.payload.is_empty() || seg.fin()) {
                self.counters.inc(port, Counter::DropTcpPaws);
                sink.discard(pkt);
                return self.send_spliced_ack(port, h, false, now, sink);
            }
        }
        // Acknowledgement of response bytes: maybe the response is now delivered.
        let down_start = leg.down_start;
        if let Some(ack) = seg.ack {
            if beyond(ack, c.tcp.snd_nxt) {
                self.counters.inc(port, Counter::DropTcpBadSegment);
                self.send_flags(port, h, 0, now, sink);
                return sink.discard(pkt);
            }
            if ack > c.tcp.snd_una {
                c.tcp.snd_una = ack;
                c.tcp.last_activity = now;
            }
            // A window that opens past one segment is progress too (slow-read attacks
            // hold it below).
            let was_low = c.window_low();
            c.tcp.peer_window = c.tcp.scaled_window(seg.window);
            if was_low && !c.window_low() {
                c.tcp.last_activity = now;
            }
            if !was_low && c.window_low() {
                // A window closing below one segment is a stall: `send_timeout` may now
                // come before the timer entry. Every other deadline a client segment
                // touches only moves later, which the entry finds when it fires.
                self.reschedule(h);
            }
        }
        if !self.held.is_empty() {
            // Held responses wait for the client's window (`release_held`).
            self.release_held_in_window(h, now, sink);
        }
        let mut leg = leg;
        if leg.response_end.is_none() && leg.ahead_active {
            // Response bytes forwarded past a hole that the client now has (`ahead`).
            leg.response_end = self.ahead_acked(port, h, now, sink);
        }
        let Some(c) = self.flows.get_mut(h) else {
            return sink.discard(pkt);
        };
        if let Some(end) = leg.response_end {
            let end_client = SeqNumber(end.0.wrapping_add(leg.down_delta));
            if c.tcp.snd_una >= end_client {
                self.finish_leg(port, h, now, sink);
                // The rest of the segment (the next request, a FIN) goes to what the
                // client connection does now: perhaps already the splice of a request
                // it had pipelined.
                let payload = &pkt.data()[seg.payload.clone()];
                match self.flows.get_mut(h).map(|c| c.state) {
                    Some(State::Spliced) => {
                        return self.client_spliced(port, h, seg, pkt, now, sink);
                    }
                    Some(_) if !payload.is_empty() || seg.fin() => {
                        self.client_segment(port, h, seg, payload, now, sink);
                    }
                    _ => {}
                }
                return sink.discard(pkt);
            }
        }
        let len = seg.payload.len();
        let mut keep = len;
        let mut fin = seg.fin();
        // Data that found the server's window closed: forwarded as a zero-window probe.
        let mut window_probe = false;
        // Splicer owes the client an ACK of bytes it took itself (pipelined requests,
        // the client's FIN), once the server has the whole request.
        let mut ack_taken = false;
        // Once the body is complete, later bytes are the next requests' (`pipelined`).
        let body_done = leg.body_complete;
        let mut pipelined_from = None;
        if len > 0 && body_done && seg.seq >= leg.up_next {
            let next = c.tcp.rcv_nxt.max(leg.up_next);
            if seg.seq > next {
                self.counters.inc(port, Counter::DropTcpOutOfOrder);
                sink.discard(pkt);
                return self.send_spliced_ack(port, h, false, now, sink);
            }
            let payload = &pkt.data()[seg.payload.clone()];
            ack_taken = self.take_pipelined(port, h, seg.seq, payload);
            keep = 0;
        } else if len > 0 {
            if seg.seq > leg.up_next {
                // Not forwarded (the framer must see every byte in order), so the
                // server cannot tell the client of the hole: Splicer does, with the
                // duplicate ACK the server would have sent.
                self.counters.inc(port, Counter::DropTcpOutOfOrder);
                sink.discard(pkt);
                return self.send_spliced_ack(port, h, false, now, sink);
            }
            let already = (leg.up_next - seg.seq) as usize;
            if seg.seq + len <= leg.up_from {
                // A retransmission of bytes Splicer took itself: its ACK was lost.
                self.send_flags(port, h, 0, now, sink);
                return sink.discard(pkt);
            }
            // Room in the server's receive window, in client sequence space. Bytes past
            // it are neither framed nor forwarded: the server would drop them, and the
            // client's "retransmission" of them could then carry other bytes than the
            // framer saw (a smuggling path). The client sends them again when the
            // window opens, as it must.
            let Some((room, acked)) = self.flows.server_mut(leg.server).map(|s| {
                let limit = SeqNumber(
                    (s.tcp.snd_una + s.tcp.peer_window as usize)
                        .0
                        .wrapping_sub(leg.up_delta),
                );
                let room = usize::try_from(limit - leg.up_next).unwrap_or(0);
                (room, leg.server_ack_to_client(s.tcp.snd_una))
            }) else {
                return sink.discard(pkt);
            };
            let c = self.flows.get_mut(h).expect("checked above");
            if let Some(kept) = c.framing.as_deref_mut() {
                kept.forget_before(acked);
                // Bytes the framer has been past come again: where they decide the
                // body's end they must be the bytes it read.
                let old = &pkt.data()[seg.payload.start..seg.payload.start + already.min(len)];
                if !kept.matches(seg.seq, old) {
                    self.counters.inc(port, Counter::ClientRetransmitMismatch);
                    let v = c.service.virtual_index;
                    self.counters.inc_virtual(v, VirtualCounter::Refused);
                    sink.discard(pkt);
                    return self.splice_reset(port, h, now, sink);
                }
            }
            let leg = c.legs.front_mut().expect("checked above");
            if already < len {
                let avail = &pkt.data()[seg.payload.start + already..seg.payload.end];
                let offered = avail.len().min(room);
                let offer = &avail[..offered];
                // A chunked body's framing bytes are kept (see `body_guard`); the bytes
                // of a Content-Length body go to its framer directly, the hot path.
                let fed = if leg.body.reads_content() {
                    let kept = c.framing.get_or_insert_with(Box::default);
                    body_guard::feed(&mut leg.body, offer, leg.up_next, kept)
                } else {
                    leg.body.feed(offer).map(|f| body_guard::Fed {
                        consumed: f.consumed,
                        held: false,
                    })
                };
                let Ok(fed) = fed else {
                    self.counters.inc(port, Counter::RefusedBadBody);
                    let v = c.service.virtual_index;
                    self.counters.inc_virtual(v, VirtualCounter::Refused);
                    return self.splice_bad_body(port, h, pkt, now, sink);
                };
                let consumed = fed.consumed;
                leg.up_next += consumed;
                keep = already + consumed;
                if consumed > 0 {
                    c.tcp.last_activity = now;
                }
                if fed.held {
                    // Taken once the server acknowledges kept framing bytes.
                    self.counters.inc(port, Counter::ClientDataHeldFraming);
                    fin = false;
                } else if consumed < offered {
                    // The body ended: what follows is the next requests' (`pipelined`),
                    // taken by Splicer, not forwarded.
                    pipelined_from = Some(leg.up_next);
                } else if offered < avail.len() {
                    self.counters.inc(port, Counter::ClientDataBeyondWindow);
                    fin = false;
                    window_probe = keep == 0;
                }
            }
        }
        if let Some(from) = pipelined_from {
            let rest = &pkt.data()[seg.payload.start + keep..seg.payload.end];
            ack_taken = self.take_pipelined(port, h, from, rest);
        }
        let c = self.flows.get_mut(h).expect("checked above");
        let leg = c.legs.front_mut().expect("checked above");
        if fin && seg.seq + keep == leg.up_next && !leg.body.is_complete() {
            // The client closed before its body ended: the request can never complete,
            // and the server connection holds part of it.
            self.counters.inc(port, Counter::ClientBodyTruncated);
            let v = c.service.virtual_index;
            self.counters.inc_virtual(v, VirtualCounter::Refused);
            sink.discard(pkt);
            return self.splice_abort(port, h, 400, true, now, sink);
        }
        let next = c.tcp.rcv_nxt.max(leg.up_next);
        if fin && leg.body.is_complete() && (seg.seq + len == next || c.tcp.fin_received) {
            // The client is done sending. Splicer takes the FIN itself (acknowledged
            // once the server has the whole request); the client connection ends after
            // the responses to what it sent before.
            if !c.tcp.fin_received && seg.seq + len == next {
                if c.head.is_empty() {
                    leg.client_fin = Some(leg.up_next);
                }
                c.tcp.fin_received = true;
                c.tcp.rcv_nxt = next + 1;
            }
            ack_taken = true;
        }
        // Three fields, not a copy of the whole leg, read from the borrow above (not
        // looked up again): this is the established path.
        let (server, up_from, up_next) = (leg.server, leg.up_from, leg.up_next);
        let ack_useful = seg.ack.is_some_and(|a| a > down_start);
        // A segment without data below the next byte is a zero-window probe or a
        // keep-alive: the server must see it to answer with its window, or a window
        // update lost on the way would stall the body for good.
        let probe = len == 0 && !seg.fin() && seg.seq < up_next;
        if window_probe {
            // Nothing of it fits: the server gets it as a probe (no data, one below
            // the next byte), which it answers with its window.
            if !as_probe(&mut pkt) {
                self.counters.inc(port, Counter::DropBadTcpHeader);
                return sink.discard(pkt);
            }
            return self.forward(port, h, server, Way::Up, pkt, now, sink);
        }
        // Bytes before `up_from` are the request head, which Splicer sent (and
        // retransmits) itself, perhaps not as the client wrote it: the client's copy of
        // them never reaches the server.
        let head_overlap = usize::try_from(up_from - seg.seq).unwrap_or(0);
        if keep == 0 && !ack_useful && !probe {
            sink.discard(pkt);
        } else if ((keep < len || seg.fin()) && !trim(&mut pkt, keep, seg.fin()))
            || (keep > 0 && head_overlap > 0 && !trim_front(&mut pkt, head_overlap.min(keep)))
        {
            self.counters.inc(port, Counter::DropBadTcpHeader);
            sink.discard(pkt);
        } else {
            self.forward(port, h, server, Way::Up, pkt, now, sink);
        }
        if ack_taken {
            // Requests that may go out before the response ahead of them do so now.
            self.dispatch_pipelined(port, h, now, sink);
            self.send_spliced_ack(port, h, true, now, sink);
        }
    }

    /// A duplicate ACK to the server of a splice, as its client would send it: the
    /// response bytes the client acknowledged last and the client's window, both in
    /// the server leg's terms, no data. Never more than the client acknowledged: bytes
    /// Splicer forwarded may still be lost on the way to the client.
    fn send_server_dup_ack<S: Sink<P>>(
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
        let Some(leg) = c.leg_of(sh).cloned() else {
            return;
        };
        let mut o = s.outgoing(leg.relayed_end().max(s.tcp.snd_nxt), 0, ts_now);
        o.tcp.ack = Some(leg.client_ack_to_server(c.tcp.snd_una));
        if c.tcp.peer_window == 0 {
            // The client's window is not known yet (or is closed): a duplicate ACK
            // would tell the server to stop; its own timer recovers instead.
            return;
        }
        let window = c.tcp.peer_window >> s.tcp.our_shift();
        o.tcp.window = window.min(u32::from(u16::MAX)) as u16;
        self.emit(port, &o, &[], now, sink);
    }

    /// A segment from the server of a spliced connection.
    pub(super) fn forward_down<S: Sink<P>>(
        &mut self,
        port: u16,
        sh: Handle,
        seg: &Seg,
        mut pkt: P,
        now: u64,
        sink: &mut S,
    ) {
        let ticks_per_ms = self.settings.flow.ticks_per_ms;
        let Some(s) = self.flows.server_mut(sh) else {
            return sink.discard(pkt);
        };
        let Some(h) = s.client else {
            return sink.discard(pkt);
        };
        if seg.syn() {
            self.counters.inc(port, Counter::DropTcpBadSegment);
            return sink.discard(pkt);
        }
        let Some((c, s)) = self.flows.pair_mut(h, sh) else {
            return sink.discard(pkt);
        };
        // The leg of this server connection: the first (its response goes to the
        // client), or one pipelined behind it (its response is held).
        let index = if c.legs.front().is_some_and(|l| l.server == sh) {
            0
        } else {
            match c.legs.iter().position(|l| l.server == sh) {
                Some(i) => i,
                None => return sink.discard(pkt),
            }
        };
        let leg = &mut c.legs[index];
        let len = seg.payload.len();
        if len > 0 && !s.answered {
            // The response's first byte, whether it goes to the client now or is held.
            s.answered = true;
            let us = micros(now - s.since, self.settings.flow.ticks_per_ms);
            self.pools.get(s.real).measure.first_byte(us);
            if let Some(rec) = self.access.as_mut().and_then(|a| a.get(leg.log)) {
                rec.first_byte = now;
            }
        }
        if let Some(ack) = seg.ack {
            // What the server leg has been sent: Splicer's head, then the client's bytes
            // relayed (and its FIN). An ACK beyond it is answered and dropped (RFC 9293
            // section 3.10.7.4); relayed, it would acknowledge to the client bytes it
            // never sent, and the client would drop the segment with its data.
            let sent = leg.relayed_end().max(s.tcp.snd_nxt) + usize::from(leg.client_fin.is_some());
            if beyond(ack, sent) {
                self.counters.inc(port, Counter::DropTcpBadSegment);
                sink.discard(pkt);
                return self.send_server_flags(port, sh, 0, now, sink);
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
        if !leg.promoted {
            return self.hold(port, h, sh, seg, pkt, now, sink);
        }
        let (held_rest, window_offered) = (leg.held_rest, leg.window_offered.is_some());
        if let Some((tsval, _)) = seg.ts {
            let ms_now = ms_clock(now, ticks_per_ms);
            if leg.ts_anchor_pending {
                anchor_down(leg, tsval, ts_not_below(ms_now, c.tcp.ts_sent_max));
            }
            s.tcp.note_timestamp(seg.seq, leg.down_next, tsval, ms_now);
        }
        let mut keep = len;
        let mut response_starts = false;
        // `server_close`: what the framer had found of the token to mark, before
        // this segment's bytes (`close_mark`).
        let mut close_mark_fed = None;
        if len > 0 || seg.fin() {
            if seg.seq != leg.down_next && len > 0 {
                // A gap (a segment was lost) or bytes sent again: loss on this leg.
                s.lossy = true;
            }
            if seg.seq > leg.down_next {
                if !seg.fin() && ahead::forward_ahead(leg, &s.framer, seg.seq, len) {
                    // Bytes the framer only counts: forwarded now, the client's TCP
                    // puts them in order (`ahead`).
                    self.counters.inc(port, Counter::ServerForwardedAhead);
                    return self.forward(port, h, sh, Way::Down, pkt, now, sink);
                }
                // Not forwarded (the response framer must read these bytes in order):
                // the server hears of the hole from Splicer, with the duplicate ACK the
                // client would have sent, and retransmits at once instead of after its
                // timeout.
                self.counters.inc(port, Counter::DropServerOutOfOrder);
                sink.discard(pkt);
                return self.send_server_dup_ack(port, h, sh, now, sink);
            }
            if seg.seq + len + usize::from(seg.fin()) <= leg.down_from {
                // Old data the previous client acknowledged: Splicer ACKs it again.
                sink.discard(pkt);
                return self.send_server_flags(port, sh, 0, now, sink);
            }
            let already = (leg.down_next - seg.seq) as usize;
            response_starts = already < len && leg.down_next == leg.down_from;
            if already < len {
                let new = &pkt.data()[seg.payload.start + already..seg.payload.end];
                if leg.response_end.is_some() {
                    // More than the response: the server cannot be trusted to frame.
                    self.counters.inc(port, Counter::ServerUnexpectedData);
                    leg.spoiled = true;
                    keep = already;
                } else {
                    if s.framer.wants_close_mark() {
                        close_mark_fed = Some((
                            leg.down_next,
                            s.framer.close_mark().is_some(),
                            s.framer.head_complete(),
                        ));
                    }
                    match s.framer.feed(new) {
                        Ok(f) => {
                            leg.down_next += f.consumed;
                            keep = already + f.consumed;
                            // Bytes forwarded past the gap this segment filled.
                            let caught_up = !f.complete && ahead::catch_up(leg, &mut s.framer);
                            if f.complete || caught_up {
                                leg.response_end = Some(leg.down_next);
                                let us = micros(now - s.since, self.settings.flow.ticks_per_ms);
                                self.pools.get(s.real).measure.response_end(us, s.lossy);
                                if keep < len {
                                    self.counters.inc(port, Counter::ServerUnexpectedData);
                                    leg.spoiled = true;
                                }
                            }
                        }
                        Err(_) => {
                            self.counters.inc(port, Counter::ServerFramingErrors);
                            if response_starts && index == 0 {
                                // Not a byte of it reached the client: 502, as nginx and
                                // HAProxy answer such a head. Relayed, a keep-alive
                                // server never closes (client and real's slot held till
                                // `server_idle_timeout`) and the client may frame the
                                // head otherwise (a split response).
                                sink.discard(pkt);
                                return self.splice_unframeable(port, h, sh, now, sink);
                            }
                            // Unframeable mid-way: relay until the server closes, never
                            // reuse.
                            leg.spoiled = true;
                            leg.down_next += new.len();
                        }
                    }
                }
                if let Some((fed_from, had_mark, had_head)) = close_mark_fed {
                    let fed_at = (fed_from - leg.down_from) as u32;
                    let pool = self.pools.get(s.real);
                    let was = (had_mark, had_head);
                    close_mark::after_feed(&mut s.framer, fed_at, was, pool, &self.counters, port);
                }
                s.tcp.rcv_nxt = leg.down_next;
                if !leg.class_counted {
                    if let Some(class) = s.framer.status_class() {
                        leg.class_counted = true;
                        self.counters.inc(port, class_counter(class));
                        self.counters.inc_real(s.real, real_class_counter(class));
                    }
                }
            }
            if seg.fin() && seg.seq + len == leg.down_next && !s.tcp.fin_received {
                s.tcp.fin_received = true;
                if leg.response_end.is_none() {
                    if s.framer.finish().is_ok() {
                        leg.response_end = Some(leg.down_next);
                        let us = micros(now - s.since, self.settings.flow.ticks_per_ms);
                        self.pools.get(s.real).measure.response_end(us, s.lossy);
                        let end_client = SeqNumber(leg.down_next.0.wrapping_add(leg.down_delta));
                        if len == 0 && index == 0 && c.tcp.snd_una >= end_client {
                            // A close-delimited response whose FIN came alone, after
                            // the client acknowledged the rest: no ACK of the client's
                            // would end it now (it waits for the close).
                            sink.discard(pkt);
                            return self.finish_leg(port, h, now, sink);
                        }
                    } else {
                        // The response was cut short: the client must not take it
                        // for complete.
                        self.counters.inc(port, Counter::ServerTruncated);
                        sink.discard(pkt);
                        return self.splice_server_lost(port, h, sh, 502, now, sink);
                    }
                }
            }
        }
        // A segment without data below the next byte is the server's zero-window probe
        // (or keep-alive): forwarded, so that a client whose window update was lost
        // answers with its window instead of stalling the response for good.
        let probe = len == 0 && !seg.fin() && seg.seq < leg.down_next;
        // This segment carries the end of the response: the next one may follow.
        let sent_whole = keep > 0 && leg.response_end == Some(leg.down_next);
        let head_only_ack = len == 0 && !probe && seg.ack.is_none_or(|a| a <= leg.head_end);
        if (keep == 0 && head_only_ack) || (len > 0 && keep == 0 && !seg.fin()) {
            return sink.discard(pkt);
        }
        if (keep < len || seg.fin()) && !trim(&mut pkt, keep, seg.fin()) {
            self.counters.inc(port, Counter::DropBadTcpHeader);
            return sink.discard(pkt);
        }
        self.forward(port, h, sh, Way::Down, pkt, now, sink);
        if response_starts {
            // Response bytes are outstanding from now on: the client's `send_timeout`
            // applies, and may come before its timer entry.
            self.reschedule(h);
            // A response that ends in this segment gives the connection back to its
            // pool at once, with its buffer for the next request.
            if !sent_whole {
                self.flows.release_head_copy(sh);
            }
        }
        if held_rest {
            // A gap in what was held is filled: what came after it follows.
            self.release_held(h, sh, now, sink);
        }
        if window_offered {
            self.open_window_if_due(port, h, sh, now, sink);
        }
        if sent_whole {
            self.response_sent(port, h, sh, now, sink);
        }
    }

    /// Rewrites a segment for the other leg and sends it.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn forward<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        sh: Handle,
        way: Way,
        mut pkt: P,
        now: u64,
        sink: &mut S,
    ) {
        let Some((c, s)) = self.flows.pair_mut(h, sh) else {
            return sink.discard(pkt);
        };
        // The leg of this server connection: the oldest (client segments, its
        // response), or a later one whose response is being sent (pipelining).
        // Borrowed, not copied: this runs for every forwarded segment.
        let Some(leg) = c.leg_of(sh) else {
            return sink.discard(pkt);
        };
        // A client's SACK block past the oldest response is about a later one, in
        // another server's space: dropped (counted).
        let down_end = leg
            .response_end
            .map(|e| SeqNumber(e.0.wrapping_add(leg.down_delta)));
        let frame = &mut pkt.data_mut()[L3_OFFSET..];
        let Ok(t) = tcp_segment(frame) else {
            return sink.discard(pkt);
        };
        let (seq, ack, window) = (
            t.seq_number(),
            t.ack().then(|| t.ack_number()),
            t.window_len(),
        );
        let payload_len = t.payload().len();
        let header_len = t.header_len();
        let c_shift = c.tcp.our_shift();
        let ts_floor = |max: u32| (max != 0).then_some(max);
        let (c_ts_floor, s_ts_floor) = (ts_floor(c.tcp.ts_sent_max), ts_floor(s.tcp.ts_sent_max));
        let c_peer_shift = c.tcp.peer_wscale.unwrap_or(0);
        let s_peer_shift = s.tcp.peer_wscale.unwrap_or(0);
        let (translation, ts, dst, mss, sack_ok);
        let head_end = leg.head_end;
        let down_start = leg.down_start();
        let (up_delta, down_delta) = (leg.up_delta, leg.down_delta);
        // Where the client's sequence space now reaches (a response segment).
        let mut client_end = None;
        // `server_close`: the server sequence number of the response's `keep-alive`
        // to write `close` over (`close_mark`).
        let mut close_at = None;
        match way {
            Way::Up => {
                // A client ACK that came with pipelined bytes (taken by Splicer, cut
                // off here) goes on at the end of what the server was sent.
                let seq = if seq > leg.up_next { leg.up_next } else { seq };
                translation = Translation {
                    src: (s.key.vip, s.key.vip_port),
                    dst: (s.key.client, s.key.client_port),
                    seq: Some(SeqNumber(seq.0.wrapping_add(leg.up_delta))),
                    // Never older than the client's latest ACK: a server drops a
                    // segment whose ACK is more than a window old (RFC 5961 §5.2),
                    // and its bytes, which the framer has seen, with it.
                    ack: ack.map(|a| leg.client_ack_to_server(a.max(c.tcp.snd_una))),
                    window: Some(rewrite::rescale(window, c_peer_shift, s.tcp.our_shift())),
                };
                ts = leg.ts_up;
                dst = s.key.client;
                mss = usize::from(s.tcp.peer_mss);
                sack_ok = s.tcp.sack_ok;
            }
            Way::Down => {
                let mut out_ack = ack.map(|a| leg.server_ack_to_client(a.max(s.tcp.snd_una)));
                let mut out_window = rewrite::rescale(window, s_peer_shift, c_shift);
                // Once the server has the whole request, the ACK covers what Splicer
                // took after it (pipelined requests, the client's FIN), and the window
                // is the room left for them.
                if let Some(raised) = out_ack.and_then(|a| leg.raised_ack(a, c.tcp.rcv_nxt)) {
                    out_ack = Some(raised);
                    out_window = c.head_room_field();
                }
                translation = Translation {
                    src: (c.key.vip, c.key.vip_port),
                    dst: (c.key.client, c.key.client_port),
                    seq: Some(SeqNumber(seq.0.wrapping_add(leg.down_delta))),
                    ack: out_ack,
                    window: Some(out_window),
                };
                ts = leg.ts_down;
                dst = c.key.client;
                mss = usize::from(c.tcp.peer_mss);
                sack_ok = c.tcp.sack_ok;
                client_end = Some(SeqNumber(seq.0.wrapping_add(leg.down_delta)) + payload_len);
                close_at = s.framer.close_mark().map(|at| leg.down_from + at as usize);
            }
        }
        if let Some(end) = client_end {
            if end > c.tcp.snd_nxt {
                c.tcp.snd_nxt = end;
            }
        }
        if rewrite::apply(frame, &translation).is_err() {
            self.counters.inc(port, Counter::DropBadTcpHeader);
            return sink.discard(pkt);
        }
        if let Some(token) = close_at.filter(|_| payload_len > 0) {
            if let Ok(mut t) = tcp_segment(&mut pkt.data_mut()[L3_OFFSET..]) {
                close_mark::write_close(&mut t, seq, token);
            }
        }
        let sack = |edge: SeqNumber| -> Option<SeqNumber> {
            if !sack_ok {
                return None;
            }
            match way {
                // A client's SACK is about response bytes: into server space.
                Way::Up => (edge > down_start && down_end.is_none_or(|e| edge <= e))
                    .then(|| SeqNumber(edge.0.wrapping_sub(down_delta))),
                // A server's SACK is about request body bytes: into client space.
                Way::Down => (edge > head_end).then(|| SeqNumber(edge.0.wrapping_sub(up_delta))),
            }
        };
        let mut sent_ts = None;
        // A segment without options has nothing to translate: skip the walk, and the
        // second look at the headers it needs.
        let translated = if header_len > tcp::HEADER_LEN {
            let Ok(mut t) = tcp_segment(&mut pkt.data_mut()[L3_OFFSET..]) else {
                return sink.discard(pkt);
            };
            // Never below what the receiver has seen (a late retransmission of an
            // earlier response, after a later one's segments: its PAWS would drop it).
            let floor = match way {
                Way::Up => s_ts_floor,
                Way::Down => c_ts_floor,
            };
            rewrite::translate_not_below(&mut t, sack, ts, floor)
        } else {
            Ok(rewrite::OptionSummary::default())
        };
        match translated {
            Ok(summary) => {
                if summary.sack_blocks_dropped > 0 {
                    self.counters.inc(port, Counter::SackBlocksDropped);
                }
                if let (Some((tsval, _)), Timestamps::Shift { tsval_add, .. }) =
                    (summary.timestamp, ts)
                {
                    sent_ts = Some(tsval.wrapping_add(tsval_add));
                }
            }
            Err(_) => {
                self.counters.inc(port, Counter::DropBadTcpHeader);
                return sink.discard(pkt);
            }
        }
        // Options are translated in place (removed ones become NOPs): the header keeps
        // its length.
        let opts_len = header_len - tcp::HEADER_LEN;
        if let (Some(v), Some((c, s))) = (sent_ts, self.flows.pair_mut(h, sh)) {
            let receiver = match way {
                Way::Up => &mut s.tcp.ts_sent_max,
                Way::Down => &mut c.tcp.ts_sent_max,
            };
            *receiver = ts_not_below(v, *receiver);
        }
        let max_payload = mss.saturating_sub(opts_len).max(1);
        self.counters.inc(
            port,
            match way {
                Way::Up => Counter::SplicedUp,
                Way::Down => Counter::SplicedDown,
            },
        );
        if payload_len > max_payload {
            self.counters.inc(port, Counter::Resegmented);
            return self.send_split(port, pkt, dst, max_payload, now, sink);
        }
        let conn = match way {
            Way::Up => sh,
            Way::Down => h,
        };
        self.send_ipv4_of(port, conn, pkt, dst, now, sink);
    }
}

impl<P: PacketBuf> Pipeline<P> {
    /// The port the segments of connection `h` (client or server) leave on: the route
    /// to its peer (`fallback` if it is gone).
    pub(super) fn peer_port(&mut self, h: Handle, fallback: u16) -> u16 {
        let peer = match self.flows.conn_mut(h) {
            Some(Conn::Client(c)) => c.key.client,
            Some(Conn::Server(s)) => s.key.client,
            None => return fallback,
        };
        self.topology.route(peer).map_or(fallback, |(p, _)| p)
    }
}

/// Whether `seq` falls in the receive window that starts at `next`: the largest window a
/// peer with window-scale shift `wscale` can have been offered (RFC 5961 uses the
/// window itself; Splicer does not keep the server's window per splice, and the bound
/// only decides between a challenge ACK and a silent drop).
pub(super) fn in_window(seq: SeqNumber, next: SeqNumber, wscale: Option<u8>) -> bool {
    let span = (u32::from(u16::MAX) << wscale.unwrap_or(0).min(14)) as i64;
    let d = i64::from(seq.0.wrapping_sub(next.0) as i32);
    (0..span).contains(&d)
}

fn class_counter(class: StatusClass) -> Counter {
    match class {
        StatusClass::Informational => Counter::Responses1xx,
        StatusClass::Success => Counter::Responses2xx,
        StatusClass::Redirection => Counter::Responses3xx,
        StatusClass::ClientError => Counter::Responses4xx,
        StatusClass::ServerError => Counter::Responses5xx,
        StatusClass::Other => Counter::ResponsesOther,
    }
}

/// The per-real counter of a response status class.
fn real_class_counter(class: StatusClass) -> RealCounter {
    match class {
        StatusClass::Informational => RealCounter::Responses1xx,
        StatusClass::Success => RealCounter::Responses2xx,
        StatusClass::Redirection => RealCounter::Responses3xx,
        StatusClass::ClientError => RealCounter::Responses4xx,
        StatusClass::ServerError => RealCounter::Responses5xx,
        StatusClass::Other => RealCounter::ResponsesOther,
    }
}
