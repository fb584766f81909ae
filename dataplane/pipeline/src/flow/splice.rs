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
//! The code is in five files, one job each: this one routes a complete request and
//! joins the two legs (`dispatch`, `start_splice`); `splice_up` takes the client's
//! segments, `splice_down` the server's; `splice_rewrite` rewrites a segment for the
//! other leg (addresses, seq/ack, window, options; both ways, and the `tcp` virtuals'
//! tunnel); `splice_end` ends the splice, delivered or not.
//!
//! [`ResponseFramer`]: splicer_http::ResponseFramer
//! [`Pipeline::dispatch`]: crate::Pipeline

use super::client::{HeadEdit, Pending, State};
use super::clocks::leg_timestamps;
use super::due::Due;
use super::key::Handle;
use super::leg::Leg;
use super::queue::charge_once;
use super::server::SState;
use super::table::Conn;
use crate::balance::{Decision, RealId};
use crate::counters::{Counter, RealCounter, VirtualCounter};
use crate::packet::{PacketBuf, Sink};
use crate::pipeline::Pipeline;
use splicer_http::{strip_close, write_forwarded, BodyFramer, RequestHead};
use splicer_wire::tcp::SeqNumber;

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
    /// request on the server leg and sets up the translation. `pooled`: `sh` was idle in
    /// its pool (not opened for this request).
    pub(super) fn start_splice<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        sh: Handle,
        pooled: bool,
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
        // stays in the pool (`server_close`), unless the real has lately answered such
        // a request without a `keep-alive` to turn into `close` for the client.
        if p.close_kept_off && now >= self.pools.get(s.real).close_passed_until {
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
            retried: p.retried,
            pooled,
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
