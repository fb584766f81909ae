//! How a splice ends: the response delivered and acknowledged (the server connection
//! back to its pool, or closed when it cannot be trusted with another request), the
//! request given up (bad body, the client's FIN mid-body, `body_timeout`), or a peer
//! lost (the server resetting or closing before or during its response, the client
//! going away while the server still answers).

use super::client::State;
use super::due::Due;
use super::key::Handle;
use super::leg::Leg;
use super::redispatch::Loss;
use super::server::SState;
use crate::access::Term;
use crate::counters::{Counter, RealCounter};
use crate::packet::{PacketBuf, Sink};
use crate::pipeline::Pipeline;
use splicer_http::StatusClass;
use splicer_wire::tcp::{self, SeqNumber};

impl<P: PacketBuf> Pipeline<P> {
    /// A bad request body: 400 when the server has not answered yet, else a reset.
    /// The server connection is reset either way (it holds half a request).
    pub(super) fn splice_bad_body<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        pkt: P,
        now: u64,
        sink: &mut S,
    ) {
        sink.discard(pkt);
        self.splice_abort(port, h, 400, false, now, sink);
    }

    /// Gives up the request of a spliced client whose body cannot complete (bad
    /// framing, the client's FIN mid-body, `body_timeout`): the server connection is
    /// reset (it holds part of a request and must never carry another), the client gets
    /// `status` and a FIN when no response byte has reached it yet, else a reset (a
    /// response cut in the middle must not look complete). `fin`: the client's FIN ends
    /// the segment and is acknowledged with the answer.
    pub(super) fn splice_abort<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        status: u16,
        fin: bool,
        now: u64,
        sink: &mut S,
    ) {
        let Some(c) = self.flows.get_mut(h) else {
            return;
        };
        let Some(leg) = c.legs.pop_front() else {
            return;
        };
        let answered = leg.down_next != leg.down_from;
        let term = c.abort.unwrap_or(Term::of_answer(status, false));
        if !answered {
            // Splicer's answer ends its record.
            c.log = leg.log;
        }
        // (A body that cannot complete: no request was pipelined behind it.)
        c.state = State::ReadingHead;
        c.tcp.rcv_nxt = leg.up_next + usize::from(fin);
        c.tcp.fin_received |= fin;
        if let Some(s) = self.flows.server_mut(leg.server) {
            s.client = None;
        }
        if answered {
            self.access_leg_end(&leg, term, now);
        }
        let sport = self.peer_port(leg.server, port);
        self.server_close(sport, leg.server, true, now, sink);
        if answered {
            self.send_flags(port, h, tcp::flags::RST, now, sink);
            self.close(h);
        } else {
            self.respond(port, h, status, now, sink);
        }
    }

    /// The response on client `h`'s current leg is complete and acknowledged: release
    /// the server connection and go on with the client connection.
    pub(super) fn finish_leg<S: Sink<P>>(&mut self, port: u16, h: Handle, now: u64, sink: &mut S) {
        self.access_front_leg_end(h, Term::Normal, now);
        let Some(c) = self.flows.get_mut(h) else {
            return;
        };
        let Some(leg) = c.legs.pop_front() else {
            return;
        };
        let end = leg.response_end.unwrap_or(leg.down_next);
        let end_client = SeqNumber(end.0.wrapping_add(leg.down_delta));
        c.tcp.snd_una = end_client;
        // (A pipelined response may be on its way after it already.)
        if end_client > c.tcp.snd_nxt {
            c.tcp.snd_nxt = end_client;
        }
        c.response_start = end_client;
        if leg.up_next > c.tcp.rcv_nxt {
            c.tcp.rcv_nxt = leg.up_next;
        }
        let client_fin = c.tcp.fin_received;
        self.counters.inc(port, Counter::ResponsesComplete);
        // A response that ended before its request body did (an early 405/413/401, a
        // final status to `Expect: 100-continue`, a server that stopped reading): the
        // rest of the body is still on its way to this server connection, and a server
        // is free to read it or not (RFC 9112 §9.6). Handing the connection to another
        // client now would put that client's request behind the body's tail: the server
        // would read one as part of the other (a desync, the root of request smuggling).
        // So the connection is reset, never reused, and the client is closed after the
        // response: Splicer's FIN follows it, and whatever the client still sends is
        // acknowledged and dropped (a lingering close) so the client reads the response
        // before it learns that the connection is gone.
        let early = !leg.body.is_complete();
        if early {
            self.counters.inc(port, Counter::EarlyResponses);
        }
        let mut reusable = !leg.spoiled && !early;
        // The client may go on when the response lets it (keep-alive, framed), even if
        // the server closed its side right after it, or sent bytes past it (`spoiled`,
        // cut before the client): the client was told nothing of either, and its next
        // request goes to another connection.
        let mut client_may_go_on = !early;
        let mut outcome = None;
        let server = self.flows.server_mut(leg.server);
        // (A server that reset after the response is gone already.)
        reusable &= server.is_some();
        if let Some(s) = server {
            client_may_go_on &= s.framer.reusable();
            reusable &= s.reusable();
            s.tcp.rcv_nxt = end + usize::from(s.tcp.fin_received);
            s.client = None;
            leg.settle_server_send(s);
            outcome = Some((
                s.real,
                s.framer.status_class() == Some(StatusClass::ServerError),
            ));
        }
        // A run of 5xx makes the real a passive outlier (`check.rs`).
        if let Some((real, failed)) = outcome {
            self.note_outcome(real, failed);
        }
        let sport = self.peer_port(leg.server, port);
        if reusable {
            // Splicer acknowledges the response on the client's behalf (the client has
            // acknowledged it to Splicer already), with the next request's head if it
            // comes soon.
            self.ack_later_into_pool(sport, leg.server, now, sink);
        } else {
            self.server_close(sport, leg.server, early, now, sink);
        }
        let Some(c) = self.flows.get_mut(h) else {
            return;
        };
        // A client that closed after pipelining more requests gets their responses.
        let more = !c.head.is_empty() || !c.legs.is_empty();
        // A stopping worker closes a keep-alive connection once its requests are
        // answered (`stop.rs`).
        let go_on = !self.stopping || more;
        if leg.keep_alive && client_may_go_on && (!client_fin || more) && go_on {
            if let Some(next) = c.legs.front() {
                // The next request is out already (pipelined): its response is next,
                // unless it is on its way already. The slow-reader rule (`send_timeout`
                // plus a second per `send_min_rate` bytes) measures each response from
                // when it became the oldest, not from when the client's last request
                // went out through the ordinary path.
                let promoted = next.promoted;
                c.wait_since = now;
                if promoted {
                    // A leg fewer in flight: a request waiting in the buffer at
                    // `max_pipeline` may go out now.
                    self.dispatch_pipelined(port, h, now, sink);
                } else {
                    self.promote(port, h, now, sink);
                }
                return self.reschedule(h);
            }
            c.state = State::ReadingHead;
            c.head_since = now;
            if c.head.capacity() == 0 {
                // The splice gave its head buffer back (`start_splice`): a spare one
                // takes the next request, not an allocation.
                let buf = self.flows.take_buffer();
                if let Some(c) = self.flows.get_mut(h) {
                    c.head = buf;
                }
            } else if !c.head.is_empty() {
                // The next request came before this response ended (pipelined).
                self.counters.inc(port, Counter::PipelinedRequests);
                let room = c.head_room();
                let max = c.service.max_request_head();
                self.client_read_head(port, h, now, sink);
                // Reading it made room: a client whose window had closed on the full
                // buffer hears of it now, not at its next probe.
                if room < max / 2 {
                    self.send_window_update(port, h, now, sink);
                }
            }
            self.reschedule(h);
        } else {
            if !leg.keep_alive {
                self.counters.inc(port, Counter::ClientsClosedAfterResponse);
            }
            // Requests pipelined behind a response that closes the connection are never
            // answered (RFC 9112 §9.6): their server connections drain.
            self.abandon_legs(h);
            self.respond(port, h, 0, now, sink);
        }
    }

    /// The server reset, failed or cut the response short mid-splice; a server error of
    /// the real. A client that has not received a byte of the response yet gets
    /// `status` (502 for a server that closed or reset, 504 for one given up) and a FIN,
    /// as HAProxy and nginx answer; one that has is reset, so that a response cut in the
    /// middle never looks complete.
    ///
    /// `sh` is the server connection that failed. One of a request pipelined behind
    /// others only marks its leg: its client gets `status` when its turn comes.
    pub(super) fn splice_server_lost<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        sh: Handle,
        status: u16,
        now: u64,
        sink: &mut S,
    ) {
        self.note_server_error(sh);
        let Some(c) = self.flows.get_mut(h) else {
            return;
        };
        if c.tunnel {
            // Bytes went both ways already: no answer of Splicer's, no other real.
            return self.splice_reset(port, h, now, sink);
        }
        match c.legs.iter().position(|l| l.server == sh) {
            Some(0) => {}
            Some(i) => {
                c.legs[i].failed = Some(status);
                self.held_granted -= c.legs[i].held_window as usize;
                c.legs[i].held_window = 0;
                self.held.remove(&sh);
                return;
            }
            None => return,
        }
        if c.legs
            .front()
            .is_some_and(|l| l.response_end == Some(l.down_next))
        {
            // The whole response is on its way to the client (a server that resets
            // right after it, `SO_LINGER` 0): the client's ACK ends the leg as after a
            // FIN (`finish_leg`, the connection gone), and its connection goes on.
            return;
        }
        let unanswered = c.legs.front().is_some_and(|l| l.down_next == l.down_from);
        if !unanswered {
            return self.splice_reset(port, h, now, sink);
        }
        // Not a byte of the answer yet: it may go again (`redispatch.rs`).
        let loss = if status == 504 {
            Loss::TimedOut
        } else {
            Loss::Closed
        };
        if self.redispatch(port, h, sh, loss, now, sink) {
            return;
        }
        self.answer_server_lost(port, h, status, now, sink);
    }

    /// A response head Splicer cannot frame (`Content-Length` with `Transfer-Encoding`,
    /// two lengths) on client `h`'s oldest leg, of which no byte has reached the client:
    /// 502 and the connection reset. Not routed again: the server did answer, and a
    /// real that answers so would get the request again and again (at its `maxconns`,
    /// a queued request comes back to it).
    pub(super) fn splice_unframeable<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        sh: Handle,
        now: u64,
        sink: &mut S,
    ) {
        self.note_server_error(sh);
        self.answer_server_lost(port, h, 502, now, sink);
    }

    fn note_server_error(&mut self, sh: Handle) {
        if let Some(real) = self.flows.server(sh).map(|s| s.real) {
            self.counters.inc_real(real, RealCounter::ServerErrors);
            self.pools.get(real).measure.failed();
        }
    }

    /// Client `h`'s oldest request, whose server failed before a byte of the answer
    /// reached the client: `status` and a FIN, the server connection closed.
    fn answer_server_lost<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        status: u16,
        now: u64,
        sink: &mut S,
    ) {
        let Some(c) = self.flows.get_mut(h) else {
            return;
        };
        let Some(leg) = c.legs.pop_front() else {
            return;
        };
        // Splicer's answer ends its record.
        c.log = leg.log;
        // Not before what Splicer took after the request (pipelined) and acknowledged.
        c.tcp.rcv_nxt = c.tcp.rcv_nxt.max(leg.up_next);
        c.state = State::ReadingHead;
        let cport = self.peer_port(h, port);
        self.counters.inc(cport, Counter::BadGateway);
        if let Some(s) = self.flows.server_mut(leg.server) {
            if s.state == SState::Busy {
                s.client = None;
                let reset = !s.tcp.fin_received;
                let sport = self.peer_port(leg.server, port);
                self.server_close(sport, leg.server, reset, now, sink);
            }
        }
        self.respond(cport, h, status, now, sink);
        self.abandon_legs(h);
    }

    /// Resets a spliced client and its busy server connection.
    pub(super) fn splice_reset<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        now: u64,
        sink: &mut S,
    ) {
        let Some(c) = self.flows.get_mut(h) else {
            return;
        };
        if c.tunnel {
            // Both sides of a passed-through connection: the server as the client's
            // drain (`tunnel_client_lost`).
            let cport = self.peer_port(h, port);
            return self.tunnel_reset(cport, h, Counter::TunnelAborts, now, sink);
        }
        let term = c.abort.unwrap_or(Term::ServerAbortedData);
        let leg = c.legs.pop_front();
        if let Some(leg) = &leg {
            self.access_leg_end(leg, term, now);
        }
        let server = leg.map(|l| l.server);
        let cport = self.peer_port(h, port);
        self.send_flags(cport, h, tcp::flags::RST, now, sink);
        self.close(h);
        if let Some(sh) = server {
            if let Some(s) = self.flows.server_mut(sh) {
                if s.state == SState::Busy {
                    s.client = None;
                    // A server that only closed gets Splicer's FIN; one still open, a RST.
                    let reset = !s.tcp.fin_received;
                    self.server_close(port, sh, reset, now, sink);
                }
            }
        }
    }

    /// The client of a spliced connection went away (RST, timeout): the server
    /// connection drains the rest of the response, or is reset if the request never
    /// fully reached it.
    pub(crate) fn splice_client_lost<S: Sink<P>>(&mut self, leg: &Leg, now: u64, sink: &mut S) {
        let sh = leg.server;
        let Some(s) = self.flows.server_mut(sh) else {
            return;
        };
        if s.state != SState::Busy {
            if s.state == SState::Tunnel {
                self.tunnel_client_lost(leg, now, sink);
            }
            return;
        }
        let port = self.topology.route(s.key.client).map_or(0, |(p, _)| p);
        s.client = None;
        if !leg.body.is_complete() || leg.spoiled {
            return self.server_close(port, sh, true, now, sink);
        }
        s.state = SState::Draining;
        s.since = now;
        s.tcp.rcv_nxt = leg.down_next;
        leg.settle_server_send(s);
        self.counters.inc(port, Counter::DrainStarted);
        if let Some(end) = leg.response_end {
            s.tcp.rcv_nxt = end;
            if s.reusable() {
                self.counters.inc(port, Counter::DrainCompleted);
                return self.ack_later_into_pool(port, sh, now, sink);
            }
            self.send_server_flags(port, sh, 0, now, sink);
            return self.server_close(port, sh, false, now, sink);
        }
        // ACK what was forwarded: the client that should have is gone.
        self.send_server_flags(port, sh, 0, now, sink);
        self.reschedule_any(sh);
    }
}

impl Leg {
    /// The server leg's send sequence after this leg: the request body bytes the client
    /// sent through the splice count as sent on the server connection.
    pub(super) fn settle_server_send(&self, s: &mut super::server::ServerConn) {
        let next = self.relayed_end();
        if next > s.tcp.snd_nxt {
            s.tcp.snd_nxt = next;
        }
        if s.tcp.snd_una < s.tcp.snd_nxt {
            s.tcp.snd_una = s.tcp.snd_nxt;
        }
        s.out_start = s.tcp.snd_nxt;
        s.out.clear();
        s.tcp.retransmit_at = Due::NONE;
        s.window = super::server::SERVER_LEG_WINDOW;
    }
}
