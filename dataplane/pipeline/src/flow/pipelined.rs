//! Pipelined requests: bytes of a client's next requests that arrive while an earlier
//! request is still spliced (HTTP/1.1 pipelining, RFC 9112 §9.3.2).
//!
//! Once the spliced request's body is complete, every later in-order client byte belongs
//! to requests that follow it. Splicer takes them into the connection's head buffer
//! (the one the first request head was read into, bounded by `max_request_head`) and
//! acknowledges them itself, so the client never has to send them again; when the
//! response in flight is complete, the next head is read from the buffer and dispatched
//! at once. Past the buffer's room the client's window closes (the window Splicer
//! advertises is the room left) and TCP flow control holds the client.
//!
//! Requests with a safe method (GET, HEAD, OPTIONS, TRACE: RFC 9110 §9.2.1; RFC 9112
//! §9.3.2 lets a server process pipelined requests in parallel only if they all have
//! one), without a body or with a `Content-Length` body the buffer holds whole, are not
//! left waiting in the buffer: each is routed at
//! once and sent on an idle pooled connection of the real it is routed to, so several
//! servers work on one client's requests at the same time, up to `max_pipeline` in
//! flight (the splicer directory of US 7,092,399: the client connection's legs, oldest
//! first). Responses go to the client one after another in the order of the requests.
//! A later server's response is held: its segments are kept in sequence order (gaps
//! allowed; the server hears what is held as SACK blocks and resends a gap at once),
//! unacknowledged (the server keeps its copy until the client has it), within the
//! window its server is offered (`max_held`); when the response before it has been sent
//! whole, its response is placed in the client's sequence space right after that one,
//! and the held segments go out through the splice as if they had just arrived, as far
//! as the client's window reaches (the rest as its ACKs open it: `release_held`). A
//! client ACK ends every leg whose response it covers and reaches the next leg's server
//! translated into that server's space. A request with another method (POST, PUT,
//! DELETE, PATCH, ...), a chunked body, a body not yet received whole or `Expect:
//! 100-continue`, one routed elsewhere than a real with an idle connection (a redirect, a
//! refusal, a real whose connections are all busy), and any request behind it wait in
//! the buffer for their turn.
//!
//! A request sent ahead offers its server a window of `max_held` with its head: an idle
//! pooled connection is offered a smaller one (`IDLE_WINDOW`) with the ACK of its last
//! response, which its server takes whatever it is (as it takes any window from a head
//! that carries that ACK itself: `ServerConn::ack_due`), and a server takes a larger one
//! from any segment. Its response, once its turn comes, gets a window update only if it runs
//! past half of `max_held` (`open_window_if_due`): a response that fits, the usual case,
//! costs its server connection no frame beyond the head and the ACK of its response
//! (which the next request on the connection usually carries).
//!
//! Acknowledging them is only safe once the server has acknowledged every byte of the
//! spliced request: Splicer keeps no copy of body bytes it relayed, so an ACK that
//! covered a body byte lost on the way to the server would tell the client never to
//! send it again. Until then the client hears the server's ACK (translated), and the
//! server's ACK of the request's end is raised on its way to cover the buffered bytes.

use super::client::{ClientConn, Pending, State};
use super::clocks::leg_timestamps;
use super::key::Handle;
use super::segment::Seg;
use crate::balance::{Decision, Route};
use crate::counters::{Counter, VirtualCounter};
use crate::packet::{PacketBuf, Sink};
use crate::pipeline::Pipeline;
use splicer_http::{parse_head, BodyFramer, BodyLength, HeadStatus, Method};
use splicer_wire::tcp::SeqNumber;
use std::collections::VecDeque;

/// The response segments of a pipelined request, held until the responses before it
/// have been sent: in order from the response's start, each with the port it came on.
pub(crate) struct Held<P> {
    /// The server seq after the last held byte (and FIN).
    next: SeqNumber,
    /// Payload bytes held.
    bytes: usize,
    segments: VecDeque<(u16, Seg, P)>,
}

impl<P> Held<P> {
    /// Payload bytes held.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// The runs of sequence space held, in order (SACK blocks).
    fn ranges(&self) -> impl Iterator<Item = (SeqNumber, SeqNumber)> + '_ {
        let mut runs: Vec<(SeqNumber, SeqNumber)> = Vec::new();
        for (_, s, _) in &self.segments {
            let end = s.seq + s.len();
            match runs.last_mut() {
                Some(run) if s.seq <= run.1 => run.1 = run.1.max(end),
                _ => runs.push((s.seq, end)),
            }
        }
        runs.into_iter()
    }

    /// Takes the held segments that start at or before `next` (the next byte the
    /// splice expects) and end within `limit` (the client's window, in the server's
    /// space), in order: those past a gap stay until it is filled, those past the
    /// window until the client opens it.
    fn take_ready(&mut self, next: SeqNumber, limit: SeqNumber) -> Vec<(u16, Seg, P)> {
        let mut ready = Vec::new();
        let mut next = next;
        while self
            .segments
            .front()
            .is_some_and(|(_, s, _)| s.seq <= next && s.seq + s.payload.len() <= limit)
        {
            let (port, seg, pkt) = self.segments.pop_front().expect("checked");
            next = next.max(seg.seq + seg.len());
            self.bytes -= seg.payload.len();
            ready.push((port, seg, pkt));
        }
        ready
    }
}

/// The rules (or bind lists) a request sent ahead was routed by, one per virtual on the
/// way, to be counted only if it goes out: the first kept inline, so that the usual
/// case, a virtual without a backup, costs no allocation per request.
#[derive(Default)]
pub(super) struct RouteTrail {
    first: Option<(u16, Route)>,
    more: Vec<(u16, Route)>,
}

impl RouteTrail {
    pub(super) fn push(&mut self, virtual_index: u16, route: Route) {
        match self.first {
            None => self.first = Some((virtual_index, route)),
            Some(_) => self.more.push((virtual_index, route)),
        }
    }
}

impl ClientConn {
    /// Room left in the head buffer for the next requests, in bytes (one byte past the
    /// limit is kept so the parser can tell "too large" from "exactly full").
    pub(super) fn head_room(&self) -> usize {
        (self.service.max_request_head() + 1).saturating_sub(self.head.len())
    }

    /// The head buffer's room as a window field of the client leg (rounded down: the
    /// client may never send more than the buffer takes).
    pub(super) fn head_room_field(&self) -> u16 {
        let field = self.head_room() >> self.tcp.our_shift();
        field.min(usize::from(u16::MAX)) as u16
    }
}

impl<P: PacketBuf> Pipeline<P> {
    /// Takes client bytes `bytes` that start at client seq `from`, all after the end of
    /// the spliced request's body, into the head buffer: the part past what it holds,
    /// as far as its room allows. Returns whether an acknowledgement is due (bytes were
    /// taken, or all of them were taken before: a retransmission whose ACK was lost).
    pub(super) fn take_pipelined(
        &mut self,
        port: u16,
        h: Handle,
        from: SeqNumber,
        bytes: &[u8],
    ) -> bool {
        let Some(c) = self.flows.get_mut(h) else {
            return false;
        };
        let Some(leg) = c.legs.front() else {
            return false;
        };
        // The buffer holds the client bytes [rcv_nxt - len, rcv_nxt), which start where
        // the spliced request ends.
        if c.head.is_empty() && c.tcp.rcv_nxt < leg.up_next {
            c.tcp.rcv_nxt = leg.up_next;
        }
        let Ok(skip) = usize::try_from(c.tcp.rcv_nxt - from) else {
            return false;
        };
        if skip >= bytes.len() {
            return true;
        }
        let new = &bytes[skip..];
        let n = new.len().min(c.head_room());
        if n < new.len() {
            self.counters.inc(port, Counter::ClientDataDeferred);
        }
        if n == 0 {
            return true;
        }
        c.head.extend_from_slice(&new[..n]);
        c.tcp.rcv_nxt += n;
        self.counters.inc(port, Counter::ClientDataPipelined);
        true
    }

    /// An ACK to a spliced client, as its server would send it: the client bytes the
    /// server acknowledged last and the server's window, both in the client leg's terms,
    /// no data (RFC 5681: three of them start a fast retransmit). Once the server has the
    /// whole request, what Splicer took after it is acknowledged too, and the window is
    /// the head buffer's room. `only_raised`: sent only in that case (an ACK of what
    /// Splicer took, not a duplicate of the server's).
    pub(super) fn send_spliced_ack<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        only_raised: bool,
        now: u64,
        sink: &mut S,
    ) {
        let ts_now = self.ts_now(now);
        let Some(c) = self.flows.get_mut(h) else {
            return;
        };
        let Some(leg) = c.legs.front().map(|l| l.view()) else {
            return;
        };
        let Some((c, s)) = self.flows.pair_mut(h, leg.server) else {
            return;
        };
        let acked = leg.server_ack_to_client(s.tcp.snd_una);
        let raised = leg.raised_ack(acked, c.tcp.rcv_nxt);
        if only_raised && raised.is_none() {
            return;
        }
        let mut o = c.outgoing(c.tcp.snd_nxt, 0, ts_now);
        o.tcp.ack = Some(raised.unwrap_or(acked));
        // Past the request, what the client sends goes to the head buffer, not to the
        // server: its room is the window.
        o.tcp.window = match raised {
            Some(_) => c.head_room_field(),
            None => (s.tcp.peer_window >> c.tcp.our_shift()).min(u32::from(u16::MAX)) as u16,
        };
        self.emit(port, &o, &[], now, sink);
    }

    /// Tells client `h` its window opened, in whatever state reading its next request
    /// left it (spliced again, waiting for a server, reading a head).
    pub(super) fn send_window_update<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        now: u64,
        sink: &mut S,
    ) {
        match self.flows.get_mut(h).map(|c| c.state) {
            Some(State::Spliced) => self.send_spliced_ack(port, h, true, now, sink),
            Some(State::Waiting | State::ReadingHead) => self.send_flags(port, h, 0, now, sink),
            _ => {}
        }
    }

    /// Routes the complete request heads at the front of client `h`'s buffer that may go
    /// out before the responses ahead of them (see the module's notes), each onto an idle
    /// pooled connection, until one may not.
    pub(super) fn dispatch_pipelined<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        now: u64,
        sink: &mut S,
    ) {
        loop {
            let Some(c) = self.flows.get_mut(h) else {
                return;
            };
            let Some(tail) = c.legs.back() else {
                return;
            };
            if c.state != State::Spliced
                || c.head.is_empty()
                || !tail.body.is_complete()
                || !tail.keep_alive
                || tail.failed.is_some()
                || c.legs.len() >= usize::from(c.service.max_pipeline)
            {
                return;
            }
            let HeadStatus::Complete(head) = parse_head(&c.head, c.service.max_request_head())
            else {
                return;
            };
            // Only a safe method goes out ahead: RFC 9112 §9.3.2 lets a server process
            // pipelined requests in parallel only if they all are (sent ahead, a PUT or
            // DELETE, idempotent as it is, could take effect before the GET in front of
            // it is answered). Its body goes with it when it has a length and is in the
            // buffer whole (docs/HTTP-POLICY.md, "Pipelining").
            let safe = matches!(
                head.method(),
                Method::Get | Method::Head | Method::Options | Method::Trace
            );
            let buffered = c.head.len() - head.head_len();
            let body_len = match head.body() {
                BodyLength::None => Some(0),
                BodyLength::Fixed(n) => usize::try_from(n).ok().filter(|&n| n <= buffered),
                BodyLength::Chunked => None,
            };
            let Some(body_len) = body_len else {
                return;
            };
            if !safe || head.upgrade() || head.expect_continue() {
                return;
            }
            // The room its response may take while it waits: within the worker's
            // budget, or the request waits for its turn.
            let window = c.service.max_held();
            if self.held_granted + window > self.settings.flow.max_held_total {
                self.counters.inc(port, Counter::PipelinedWaits);
                return;
            }
            let virtual_index = c.service.virtual_index;
            // Only a real with an idle connection now, and the rule counters moved only
            // for a request that goes out: one that waits for its turn is routed again
            // then, and counted then.
            let mut trail = RouteTrail::default();
            let decision = self.route(port, h, &head, now, Some(&mut trail));
            let Decision::Splice(real) = decision else {
                self.counters.inc(port, Counter::PipelinedWaits);
                return;
            };
            let Some(sh) = self.pools.get(real).free.pop() else {
                return;
            };
            // The head offers the server a window of `max_held`. A server takes a
            // smaller window than it has only from a segment past the last one that set
            // it, or a zero one (RFC 9293 §3.10.7.4, SND.WL1; Linux's
            // tcp_may_update_window): when the connection's last window may have been
            // larger, the head goes out with a zero window and a pure ACK follows with
            // `max_held` (else the server could send more than is held, which Splicer
            // would have to drop). An idle connection's window is small
            // (`IDLE_WINDOW`), so the head alone usually does.
            let mut opened_by_head = false;
            if let Some(s) = self.flows.server_mut(sh) {
                let shift = s.tcp.our_shift();
                // A head that acknowledges new data (the last response, its ACK still
                // owed) sets any window; one that does not, at least the idle one.
                opened_by_head = s.tcp.rcv_nxt > s.ack_told
                    || (s.window_settled && window >> shift >= (s.window >> shift) as usize);
                s.window = if opened_by_head { window as u32 } else { 0 };
            }
            for (v, route) in trail.first.into_iter().chain(trail.more) {
                self.counters.inc_rule(v, route);
            }
            self.counters.inc(port, Counter::HttpRequests);
            self.counters
                .inc_virtual(virtual_index, VirtualCounter::Requests);
            self.counters.inc(port, Counter::PoolReuses);
            self.counters.inc(port, Counter::PipelinedDispatched);
            self.count_spliced(port, virtual_index, real);
            let c = self.flows.get_mut(h).expect("checked above");
            c.requests = c.requests.saturating_add(1);
            c.last_real = Some(real);
            // Its whole body, if any, goes out with its head (as the body bytes that
            // come with a head do on the ordinary path, `dispatch`).
            let body = BodyFramer::for_request(BodyLength::None);
            let consumed = head.head_len() + body_len;
            let (forward, server_close) = (c.service.forward_for, c.service.server_close);
            let mut pending = Pending::for_head(
                Some(real),
                &head,
                &c.head,
                consumed,
                body,
                forward,
                server_close,
            );
            // Charged against the real's high-water mark as any request (the route
            // above found room for it).
            pending.cost = self.balance.cost();
            c.pending = Some(Box::new(pending));
            self.count_spill(port);
            self.access_begin(h, &head, now);
            self.start_splice(port, h, sh, true, now, sink);
            if let Some(leg) = self.flows.get_mut(h).and_then(|c| c.leg_of_mut(sh)) {
                leg.held_window = window as u32;
                leg.window_offered = Some(window as u32);
                self.held_granted += window;
            }
            if let Some(s) = self.flows.server_mut(sh) {
                s.window = window as u32;
                if window > 0 && !opened_by_head {
                    let sport = self.peer_port(sh, port);
                    self.send_server_flags(sport, sh, 0, now, sink);
                }
            }
        }
    }

    /// A segment from the server of a request pipelined behind others: kept for when
    /// its turn comes, in sequence order, gaps allowed (a reordered or lost segment),
    /// within the window the server was offered (`max_held`). Nothing held is
    /// acknowledged (the server keeps its copy until the client has it), but the server
    /// hears what is held, as SACK blocks on a duplicate ACK, whenever a gap opens or a
    /// segment comes again: it resends the gap at once (fast retransmit) rather than
    /// when its timer, backed off while the response is held, runs out. A repeat, or
    /// one past the window, is dropped (and counted).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn hold<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        sh: Handle,
        seg: &Seg,
        pkt: P,
        now: u64,
        sink: &mut S,
    ) {
        let len = seg.payload.len();
        let Some(c) = self.flows.get_mut(h) else {
            return sink.discard(pkt);
        };
        let Some(leg) = c.leg_of(sh) else {
            return sink.discard(pkt);
        };
        let (from, max) = (leg.down_from, leg.held_window as usize);
        if len == 0 && !seg.fin() {
            // A window probe (the window is full until its turn): answered, with what
            // is held; a pure ACK needs nothing.
            sink.discard(pkt);
            if seg.seq < from {
                self.send_held_sack(port, sh, now, sink);
            }
            return;
        }
        let held = self.held.entry(sh).or_insert_with(|| Held {
            next: from,
            bytes: 0,
            segments: VecDeque::new(),
        });
        let end = seg.seq + len + usize::from(seg.fin());
        let repeat = end <= held.next
            || held
                .segments
                .iter()
                .any(|(_, s, _)| s.seq <= seg.seq && end <= s.seq + s.len());
        let reason = if repeat {
            Some(Counter::HeldDuplicates)
        } else if i64::from(end - from) > max as i64 + i64::from(seg.fin())
            || held.bytes + len > max
        {
            Some(Counter::HeldLimit)
        } else {
            None
        };
        if let Some(reason) = reason {
            self.counters.inc(port, reason);
            sink.discard(pkt);
            return self.send_held_sack(port, sh, now, sink);
        }
        let gap = seg.seq > held.next;
        let at = held
            .segments
            .iter()
            .position(|(_, s, _)| s.seq > seg.seq)
            .unwrap_or(held.segments.len());
        held.segments.insert(at, (port, seg.clone(), pkt));
        held.bytes += len;
        // The prefix without gaps grows over what came after it earlier.
        for (_, s, _) in held.segments.iter() {
            if s.seq <= held.next {
                held.next = held.next.max(s.seq + s.len());
            }
        }
        self.counters.inc(port, Counter::HeldSegments);
        if gap {
            // A segment was lost on the way: loss on this leg.
            if let Some(s) = self.flows.server_mut(sh) {
                s.lossy = true;
            }
            self.counters.inc(port, Counter::HeldOutOfOrder);
            self.send_held_sack(port, sh, now, sink);
        }
    }

    /// A duplicate ACK to the server of a held response: nothing acknowledged (its
    /// response's start), the window it was offered, and what is held as SACK blocks
    /// (RFC 2018), when the connection negotiated SACK.
    fn send_held_sack<S: Sink<P>>(&mut self, port: u16, sh: Handle, now: u64, sink: &mut S) {
        let ts_now = self.ts_now(now);
        let Some(s) = self.flows.server_mut(sh) else {
            return;
        };
        let mut o = s.outgoing(s.tcp.snd_nxt, 0, ts_now);
        if s.tcp.sack_ok {
            if let Some(held) = self.held.get(&sh) {
                let mut blocks = held.ranges().take(o.tcp.options.sack.len());
                for slot in o.tcp.options.sack.iter_mut() {
                    *slot = blocks.next();
                }
            }
        }
        self.emit(port, &o, &[], now, sink);
    }

    /// The response of client `h`'s leg on `sh` has been sent whole: the next leg's
    /// response may follow it at once, before the client has acknowledged it, so that
    /// pipelined responses reach the client back to back rather than one round trip
    /// apart. Not after a response that ends the client connection (the client reads
    /// nothing after it), and not for a leg whose server failed (its answer is
    /// Splicer's own, sent when it is the oldest).
    pub(super) fn response_sent<S: Sink<P>>(
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
        let Some(i) = c.legs.iter().position(|l| l.server == sh) else {
            return;
        };
        let leg = &c.legs[i];
        let last_of_connection =
            !leg.keep_alive || leg.spoiled || !leg.body.is_complete() || !s.reusable();
        let next_waits = c
            .legs
            .get(i + 1)
            .is_some_and(|n| !n.promoted && n.failed.is_none());
        if !last_of_connection && next_waits {
            self.promote(port, h, now, sink);
        }
    }

    /// The first leg of client `h` whose response is held gets its turn: its response
    /// is placed in the client's sequence space right after everything sent so far (the
    /// client's `snd_nxt`), with timestamps mapped afresh, and what was held of it goes
    /// out first. A leg whose server failed meanwhile is answered with its status
    /// instead (only as the oldest: see `response_sent`).
    pub(super) fn promote<S: Sink<P>>(&mut self, port: u16, h: Handle, now: u64, sink: &mut S) {
        let ts_now = self.ts_now(now);
        let Some(c) = self.flows.get_mut(h) else {
            return;
        };
        let Some(i) = c.legs.iter().position(|l| !l.promoted) else {
            return;
        };
        let leg = c.legs[i].clone();
        self.held_granted -= leg.held_window as usize;
        c.legs[i].held_window = 0;
        if let Some(status) = leg.failed {
            if i > 0 {
                return;
            }
            c.legs.pop_front();
            // Splicer's answer ends its record.
            c.log = leg.log;
            c.state = State::ReadingHead;
            self.counters.inc(port, Counter::BadGateway);
            self.respond(port, h, status, now, sink);
            return self.abandon_legs(h);
        }
        // The server's oldest clock among what is held (a retransmission may come
        // first in sequence order with a newer one).
        let first_tsval = self.held.get(&leg.server).and_then(|held| {
            let mut clocks = held.segments.iter().filter_map(|(_, seg, _)| seg.ts);
            let (first, _) = clocks.next()?;
            Some(clocks.fold(first, |min, (v, _)| {
                if (v.wrapping_sub(min) as i32) < 0 {
                    v
                } else {
                    min
                }
            }))
        });
        let Some((c, s)) = self.flows.pair_mut(h, leg.server) else {
            return;
        };
        let (ts_up, ts_down) = leg_timestamps(c, s, ts_now, first_tsval);
        let snd_nxt = c.tcp.snd_nxt;
        let leg = &mut c.legs[i];
        leg.down_delta = snd_nxt.0.wrapping_sub(leg.down_from.0);
        leg.ts_up = ts_up;
        leg.ts_down = ts_down;
        // Held segments fixed the shift (their first TSval); without any, the server's
        // first segment will.
        leg.ts_anchor_pending = first_tsval.is_none();
        leg.promoted = true;
        let sh = leg.server;
        s.window = super::server::SERVER_LEG_WINDOW;
        self.counters.inc(port, Counter::PipelinedPromoted);
        self.release_held(h, sh, now, sink);
        self.open_window_if_due(port, h, sh, now, sink);
        self.dispatch_pipelined(port, h, now, sink);
        self.reschedule(h);
    }

    /// The server of client `h`'s promoted leg on `sh` hears that its window opened
    /// (`SERVER_LEG_WINDOW`, set at its promotion) once its response has used half the
    /// window it was offered while it waited and has not ended (`Leg::window_open_due`):
    /// a response that fits in it, the common case, needs no window update at all, and
    /// a larger one gets it before its server runs out of window. (The client's ACKs,
    /// forwarded once the response is the oldest, carry the client's window anyway.)
    pub(super) fn open_window_if_due<S: Sink<P>>(
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
        let Some(leg) = c.leg_of_mut(sh) else {
            return;
        };
        if !leg.window_open_due() {
            return;
        }
        leg.window_offered = None;
        // Acknowledging only what the client has (what Splicer sent on may still be
        // lost on the way to it, and Splicer keeps no copy), as a duplicate ACK would.
        let leg = leg.clone();
        let mut o = s.outgoing(leg.relayed_end().max(s.tcp.snd_nxt), 0, ts_now);
        o.tcp.ack = Some(leg.client_ack_to_server(c.tcp.snd_una));
        let sport = self.peer_port(sh, port);
        self.emit(sport, &o, &[], now, sink);
    }

    /// Sends on what is held of the promoted leg on `sh` up to its first gap, and no
    /// further than the client's window: the rest waits (`Leg::held_rest`) for the
    /// server to fill the gap, or for the client's ACKs to open its window
    /// (`release_held_in_window`). A held response was offered its server's window
    /// (`max_held`), not the client's, and its server takes what was held as SACKed:
    /// bytes sent past the client's window would be dropped by the client, and its
    /// server would send them again only after its retransmission timer, backed off,
    /// found the SACKs reneged (seconds; httperf, whose receive buffer is 16 KiB, saw
    /// its 100 KiB responses pipelined 20 deep time out).
    pub(super) fn release_held<S: Sink<P>>(
        &mut self,
        h: Handle,
        sh: Handle,
        now: u64,
        sink: &mut S,
    ) {
        // Not again from the segments sent on here (`forward_down` looks at the flag).
        self.set_held_rest(h, sh, false);
        loop {
            let Some((next, limit)) = self.flows.get_mut(h).and_then(|c| {
                let limit = c.tcp.send_limit();
                c.leg_of(sh)
                    .map(|l| (l.down_next, SeqNumber(limit.0.wrapping_sub(l.down_delta))))
            }) else {
                self.held.remove(&sh);
                return;
            };
            let Some(held) = self.held.get_mut(&sh) else {
                return;
            };
            let ready = held.take_ready(next, limit);
            if held.segments.is_empty() {
                self.held.remove(&sh);
            }
            if ready.is_empty() {
                return self.set_held_rest(h, sh, true);
            }
            for (hport, seg, pkt) in ready {
                self.counters.inc(hport, Counter::HeldReleased);
                self.forward_down(hport, sh, &seg, pkt, now, sink);
            }
        }
    }

    /// The client's ACK moved its window: what is held of its promoted legs past the
    /// window before (`release_held`) goes out as far as the window now reaches.
    pub(super) fn release_held_in_window<S: Sink<P>>(&mut self, h: Handle, now: u64, sink: &mut S) {
        let mut i = 0;
        while let Some(leg) = self.flows.get_mut(h).and_then(|c| c.legs.get(i)) {
            if !leg.promoted {
                return;
            }
            let sh = leg.server;
            if leg.held_rest && self.held.contains_key(&sh) {
                self.release_held(h, sh, now, sink);
            }
            i += 1;
        }
    }

    fn set_held_rest(&mut self, h: Handle, sh: Handle, rest: bool) {
        if let Some(leg) = self.flows.get_mut(h).and_then(|c| c.leg_of_mut(sh)) {
            leg.held_rest = rest;
        }
    }

    /// Hands every leg of client `h` to the drain (see `splice_client_lost`): the client
    /// will never take their responses. What was held of them is dropped, not
    /// acknowledged: the drain reads the responses again as the servers resend them.
    pub(super) fn abandon_legs(&mut self, h: Handle) {
        let Some(c) = self.flows.get_mut(h) else {
            return;
        };
        let legs: Vec<_> = c.legs.drain(..).collect();
        for leg in legs {
            self.access_leg_end(&leg, crate::access::Term::Killed, self.clock);
            self.held_granted -= leg.held_window as usize;
            self.held.remove(&leg.server);
            if leg.failed.is_none() {
                self.pending_drains.push(leg);
            }
        }
    }
}
