//! A request its real did not answer, sent again to another real.
//!
//! A `GET` or `HEAD` without a body, alone on its client connection (nothing pipelined
//! behind it), whose server connection was lost (reset, timed out) or whose real went
//! down or was ejected before a single byte of the response arrived, is taken back: the
//! client connection returns to waiting with the request at the front of its head
//! buffer, as it was before the splice, and the request is routed afresh, away from
//! that real. The client sees a slower answer instead of a `502`/`504`: an error a
//! healthy real could have served is not passed on (HAProxy's `retry-on
//! conn-failure empty-response` with `option redispatch`, for safe methods only).
//! Anything else (a response under way, a body, a pipelined request, HTTP/1.0 with
//! Splicer's `Keep-Alive` inserted) keeps today's answer.

use super::client::{Pending, State};
use super::key::Handle;
use super::server::SState;
use super::table::Conn;
use crate::balance::{Decision, RealId};
use crate::counters::Counter;
use crate::packet::{PacketBuf, Sink};
use crate::pipeline::Pipeline;
use splicer_http::{parse_head, BodyFramer, HeadStatus, Method};

impl<P: PacketBuf> Pipeline<P> {
    /// Client `h`'s request on server connection `sh` goes to another real if it can
    /// (see the module documentation): `true` when it was taken back and routed again.
    pub(super) fn redispatch<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        sh: Handle,
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
            && !c.tcp.fin_received;
        if !untouched {
            return false;
        }
        let head = match parse_head(&s.out, c.service.max_request_head) {
            HeadStatus::Complete(head) => head,
            _ => return false,
        };
        let safe = matches!(head.method(), Method::Get | Method::Head)
            && head.version() == 1
            && head.head_len() == s.out.len()
            && BodyFramer::for_request(head.body()).is_complete();
        if !safe {
            return false;
        }
        let (old, virtual_index) = (s.real, c.service.virtual_index);
        let next = match self.route(virtual_index, None, &head, None) {
            Decision::Splice(r) if r != old => r,
            // Round robin may come back to it once; not twice.
            Decision::Splice(_) => match self.route(virtual_index, None, &head, None) {
                Decision::Splice(r) if r != old => r,
                _ => return false,
            },
            _ => return false,
        };
        let request = std::mem::take(&mut self.flows.server_mut(sh).expect("checked").out);
        let c = self.flows.get_mut(h).expect("checked above");
        c.legs.clear();
        // The request goes back where it was before the splice: at the front of the
        // head buffer, before whatever the client sent after it.
        let mut buffer = request;
        buffer.extend_from_slice(&c.head);
        c.head = buffer;
        c.framing = None;
        c.state = State::Waiting;
        c.wait_since = now;
        c.last_real = Some(next);
        c.pending = Some(Pending::for_head(
            next,
            &head,
            &c.head,
            head.head_len(),
            BodyFramer::for_request(head.body()),
        ));
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
        self.counters.inc(cport, Counter::HealthRoutedAgain);
        self.count_spliced(cport, virtual_index, next);
        self.acquire(cport, h, next, now, sink);
        true
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
                self.redispatch(port, c, sh, now, sink);
            }
        }
        for &r in down {
            let waiters = std::mem::take(&mut self.pools.get(r).waiters);
            for c in waiters {
                if self.client_waits_for(c, r) {
                    let port = self.peer_port(c, 0);
                    self.route_again(port, c, r, now, sink);
                }
            }
        }
    }
}
