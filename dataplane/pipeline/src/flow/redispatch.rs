//! A request its real did not answer, sent again: to the same real on a new connection
//! when its pooled connection closed under it, else to another real.
//!
//! A request safe to repeat (RFC 9110 §9.2.1: `GET`, `HEAD`, `OPTIONS`, `TRACE`),
//! HTTP/1.1, without a body, alone on its client connection (nothing sent ahead behind
//! it; requests still in the head buffer behind it wait there as before), whose server
//! connection was lost (closed, reset, timed out) or whose real went down or was
//! ejected before a single byte of the response arrived, is taken back: the client
//! connection returns to waiting with the request at the front of its head buffer, as
//! it was before the splice, and the request is placed again, once:
//!
//! * its connection was idle in the pool when the request went out on it, and the
//!   server closed or reset it (FIN or RST alike: a request that crosses the FIN of a
//!   server closing an idle connection at its keep-alive timeout, or after its last
//!   allowed request, is answered by the server's kernel with a RST): the keep-alive
//!   race, not a failing real. The request goes again to the same real, on a connection
//!   opened for it (the other idle ones may be closing at the same timeout)
//!   (`requests_retried`). If that real no longer accepts connections, the open fails
//!   and the request is routed to another real as any whose connection cannot be
//!   opened. A real that accepts and then resets every request costs the request a
//!   `502` after two tries there (not one on another real): the race is by far the
//!   common case, and such a real's errors make it a passive outlier
//!   (`outlier_errors`);
//! * otherwise (a connection opened for this very request, a timeout, the real gone):
//!   the real is suspect, the request is routed afresh, away from it
//!   (`health_routed_again`).
//!
//! A request sent again that is lost again gets today's `502`/`504`: no request is sent
//! a third time, so a real that resets whatever it is sent is not fed the same request
//! in a loop. The client sees a slower answer instead of a `502`/`504`: an error a
//! healthy real could have served is not passed on (HAProxy's `retry-on conn-failure
//! empty-response` with `option redispatch`, for safe methods only). Anything else (a
//! response under way, a body, a non-safe method, a request sent ahead behind another,
//! HTTP/1.0 with Splicer's `Keep-Alive` inserted) keeps today's answer. The request's
//! bytes are the copy its server connection keeps until the response starts
//! (`release_head_copy`): nothing more is held for it.

use super::client::{Pending, State};
use super::key::Handle;
use super::server::SState;
use super::table::Conn;
use crate::balance::{Decision, RealId};
use crate::counters::Counter;
use crate::packet::{PacketBuf, Sink};
use crate::pipeline::Pipeline;
use splicer_http::{parse_head, BodyFramer, ForwardFor, HeadStatus, Method};

/// Why a request's server connection was given up before a byte of its answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Loss {
    /// The server closed or reset the connection.
    Closed,
    /// The server was silent past `server_idle_timeout`.
    TimedOut,
    /// The real went down or was ejected.
    RealLeft,
}

impl<P: PacketBuf> Pipeline<P> {
    /// Client `h`'s request on server connection `sh`, lost for `loss`, goes again to
    /// its real or to another if it can (see the module documentation): `true` when it
    /// was taken back and placed again.
    pub(super) fn redispatch<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        sh: Handle,
        loss: Loss,
        now: u64,
        sink: &mut S,
    ) -> bool {
        let Some((c, s)) = self.flows.pair_mut(h, sh) else {
            return false;
        };
        if c.legs.len() != 1 {
            return false;
        }
        let leg = &c.legs[0];
        let untouched = leg.server == sh
            && leg.down_next == leg.down_from
            && leg.up_next == leg.up_from
            && leg.client_fin.is_none()
            && leg.body.is_complete()
            && !c.tcp.fin_received
            && !leg.retried;
        if !untouched {
            return false;
        }
        // The keep-alive race: the same real, a new connection.
        let race = leg.pooled && loss == Loss::Closed;
        let head = match parse_head(&s.out, c.service.max_request_head()) {
            HeadStatus::Complete(head) => head,
            _ => return false,
        };
        let safe = matches!(
            head.method(),
            Method::Get | Method::Head | Method::Options | Method::Trace
        ) && head.version() == 1
            && head.head_len() == s.out.len()
            && BodyFramer::for_request(head.body()).is_complete();
        if !safe {
            return false;
        }
        let (old, virtual_index) = (s.real, c.service.virtual_index);
        // The slots the request holds on its real (`maxconns`), kept for its new
        // connection: the queue must not take them meanwhile. (A connection reset has
        // released them already, `server_gone`, and serves the queue only after this:
        // the request then counts one slot, whatever its rule's `cost`.)
        let kept = if race {
            std::mem::take(&mut s.charge)
        } else {
            0
        };
        let decision = if race {
            Decision::Splice(old)
        } else {
            let mut decision = self.route(port, h, &head, now, None);
            if decision == Decision::Splice(old) {
                // Round robin may come back to it once; not twice.
                decision = self.route(port, h, &head, now, None);
            }
            if !matches!(decision, Decision::Splice(r) if r != old)
                && !matches!(decision, Decision::Queue { .. })
            {
                return false;
            }
            decision
        };
        let s = self.flows.server_mut(sh).expect("checked");
        let request = std::mem::take(&mut s.out);
        // Its client asked `close`, gone from the head (`server_close`): the head as
        // parsed again no longer says so.
        let close_kept_off = s.framer.wants_close_mark();
        let c = self.flows.get_mut(h).expect("checked above");
        // Its record goes on with it.
        c.log = c.legs.front().map_or(crate::access::NO_LOG, |l| l.log);
        c.legs.clear();
        // The request goes back where it was before the splice: at the front of the
        // head buffer, before whatever the client sent after it.
        let mut buffer = request;
        buffer.extend_from_slice(&c.head);
        c.head = buffer;
        c.framing = None;
        c.state = State::Waiting;
        c.wait_since = now;
        let mut pending = Pending::for_head(
            None,
            &head,
            &c.head,
            head.head_len(),
            BodyFramer::for_request(head.body()),
            // The head is the one its server got: already rewritten (`forward_for`),
            // and written again it would carry the client's address twice (append).
            ForwardFor::Off,
            c.service.server_close,
        );
        if close_kept_off {
            pending.close_kept_off = true;
            pending.keep_alive = false;
        }
        // Once: lost again, it is answered.
        pending.retried = true;
        c.pending = Some(Box::new(pending));
        self.held.remove(&sh);
        if let Some(s) = self.flows.server_mut(sh) {
            if s.state == SState::Busy {
                s.client = None;
                let reset = !s.tcp.fin_received;
                let sport = self.peer_port(sh, port);
                self.server_close(sport, sh, reset, now, sink);
            }
        }
        let cport = self.peer_port(h, port);
        if race {
            self.counters.inc(cport, Counter::RequestsRetried);
            self.retry_on_fresh(cport, h, old, kept, now, sink);
        } else {
            self.counters.inc(cport, Counter::HealthRoutedAgain);
            self.place_routed(cport, h, virtual_index, decision, now, sink);
        }
        true
    }

    /// Client `h`'s request, taken back after its pooled connection to `real` closed
    /// under it, goes again to `real` on a new connection, with the `cost` its old one
    /// carried (released only now, so that no queued request took it meanwhile).
    fn retry_on_fresh<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        real: RealId,
        cost: u16,
        now: u64,
        sink: &mut S,
    ) {
        let pool = self.pools.get(real);
        pool.inflight = pool.inflight.saturating_sub(u32::from(cost));
        let Some(c) = self.flows.get_mut(h) else {
            return;
        };
        let Some(p) = c.pending.as_mut() else {
            return;
        };
        p.real = Some(real);
        p.cost = cost.max(1);
        c.last_real = Some(real);
        self.acquire_fresh(port, h, real, now, sink);
    }

    /// Client `h`'s pending request, routed again by `decision`: placed on its real (a
    /// connection taken or opened) or queued in the virtual that found every candidate
    /// full; `503` for any other decision.
    pub(super) fn place_routed<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        virtual_index: u16,
        decision: Decision,
        now: u64,
        sink: &mut S,
    ) {
        let cost = match decision {
            Decision::Splice(_) => self.balance.cost(),
            Decision::Queue {
                virtual_index: queue,
                route,
            } => self
                .topology
                .farm()
                .virtuals
                .get(usize::from(queue))
                .map_or(1, |v| v.class(route).cost),
            _ => return self.splice_no_server(port, h, now, sink),
        };
        let Some(c) = self.flows.get_mut(h) else {
            return;
        };
        let Some(p) = c.pending.as_mut() else {
            return;
        };
        p.cost = cost;
        match decision {
            Decision::Splice(real) => {
                p.real = Some(real);
                c.last_real = Some(real);
                self.count_spill(port);
                self.count_spliced(port, virtual_index, real);
                self.acquire(port, h, real, now, sink);
            }
            Decision::Queue {
                virtual_index: queue,
                route,
            } => {
                p.real = None;
                self.enqueue(port, h, queue, route, now, sink);
            }
            _ => {}
        }
    }

    /// Reals `down` went down or were ejected: the unanswered requests on their
    /// connections, and those waiting for one, are routed to other reals where they
    /// can be (see the module documentation).
    pub(super) fn leave_reals<S: Sink<P>>(&mut self, down: &[RealId], now: u64, sink: &mut S) {
        for sh in self.flows.handles() {
            let busy = match self.flows.conn_mut(sh) {
                Some(Conn::Server(s)) if down.contains(&s.real) && s.state == SState::Busy => {
                    s.client.map(|c| (s.real, c))
                }
                _ => None,
            };
            if let Some((real, c)) = busy {
                let port = self.real_port(real);
                self.redispatch(port, c, sh, Loss::RealLeft, now, sink);
            }
        }
        // Requests waiting in a queue are placed on reals that are up when slots come
        // free; those waiting for a connection being opened to a real that went down
        // are routed again if that open fails.
    }
}
