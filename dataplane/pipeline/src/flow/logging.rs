//! The access log's hooks in the request's life (docs/ACCESS-LOG.md): a record is
//! taken when a request head has been read and routed, follows the request onto its
//! leg, and is ended where the request ends: response delivered (`finish_leg`), Splicer's
//! own answer (`respond_with`), or the connection gone (`close`). With the log off each
//! hook is one branch on `Pipeline::access`.

use super::client::{ClientConn, State};
use super::key::Handle;
use super::leg::Leg;
use crate::access::{AccessLog, AccessRecord, AccessRing, Term, NO_LOG, RULE_BIND};
use crate::balance::{RealId, Route};
use crate::packet::PacketBuf;
use crate::pipeline::Pipeline;
use splicer_http::RequestHead;
use std::sync::Arc;

/// Slots checked per timer poll for records whose connection is gone.
const SWEEP_PER_POLL: usize = 8;

/// The rule code of a route, as the access log keeps it.
fn rule_code(route: Route) -> u16 {
    match route {
        Route::Rule(n) => n.min(usize::from(RULE_BIND) - 1) as u16,
        Route::Bind => RULE_BIND,
    }
}

/// The status of a response Splicer wrote (`HTTP/1.1 NNN ...`), 0 for none.
fn status_of(response: &[u8]) -> u16 {
    response
        .get(9..12)
        .and_then(|d| std::str::from_utf8(d).ok())
        .and_then(|d| d.parse().ok())
        .unwrap_or(0)
}

/// Fills the parts of a record its client connection knows.
fn describe(rec: &mut AccessRecord, c: &ClientConn) {
    rec.client = c.key.client.octets();
    rec.client_port = c.key.client_port;
    rec.vip = c.key.vip.octets();
    rec.vip_port = c.key.vip_port;
    rec.virtual_index = c.service.virtual_index;
    rec.head_start = c.head_first;
    rec.set_line(&c.head);
}

impl<P: PacketBuf> Pipeline<P> {
    /// Logs every request into `ring`, one in `sample` kept (at least 1), with room
    /// for `slots` requests under way at once. Called once, before traffic.
    pub fn set_access_log(&mut self, ring: Arc<AccessRing>, sample: u32, slots: usize) {
        self.access = Some(AccessLog::new(ring, self.settings.worker, sample, slots));
    }

    // Each hook is an inlined test of `access` (nothing more is done with the log off)
    // around an out-of-line body.

    /// A request head of client `h` was read and routed: its record starts, unless it
    /// has one already (routed again) or is sampled out.
    #[inline]
    pub(super) fn access_begin(&mut self, h: Handle, head: &RequestHead, now: u64) {
        if self.access.is_some() {
            self.access_begin_on(h, head, now);
        }
    }

    #[inline(never)]
    fn access_begin_on(&mut self, h: Handle, head: &RequestHead, now: u64) {
        let Some(a) = self.access.as_mut() else {
            return;
        };
        let Some(c) = self.flows.get_mut(h) else {
            return;
        };
        if c.log != NO_LOG {
            return;
        }
        c.log = a.begin(h, &self.counters);
        let Some(rec) = a.get(c.log) else {
            return;
        };
        describe(rec, c);
        rec.head_done = now;
        rec.bytes_in = head.head_len() as u64;
        // The rule of the client's virtual that matches (the routing counted it; the
        // log matches again rather than have every request carry it).
        rec.rule = self
            .topology
            .farm()
            .route(c.service.virtual_index, head)
            .map_or(crate::access::NONE16, |(route, _)| rule_code(route));
    }

    /// The request of record `log` went to `real`, `consumed` bytes of it at once.
    #[inline]
    pub(super) fn access_sent(&mut self, log: u32, real: RealId, consumed: usize, now: u64) {
        if log == NO_LOG {
            return;
        }
        if let Some(rec) = self.access.as_mut().and_then(|a| a.get(log)) {
            rec.real = real;
            rec.sent = now;
            rec.bytes_in = consumed as u64;
        }
    }

    /// Splicer answers client `h` with `response` (empty: it closes): the record of
    /// its request ends, or one is made for a request refused before it was routed (a
    /// malformed head, a timeout). A close with nothing read is no request.
    #[inline(never)]
    pub(super) fn access_answer(&mut self, h: Handle, response: &[u8], now: u64) {
        let Some(a) = self.access.as_mut() else {
            return;
        };
        let Some(c) = self.flows.get_mut(h) else {
            return;
        };
        let status = status_of(response);
        let mut log = std::mem::replace(&mut c.log, NO_LOG);
        if log == NO_LOG {
            let asked = status != 0 || (c.state == State::ReadingHead && !c.head.is_empty());
            if !asked {
                return;
            }
            log = a.begin(h, &self.counters);
            if let Some(rec) = a.get(log) {
                describe(rec, c);
                rec.bytes_in = c.head.len() as u64;
            }
        }
        let term = c
            .abort
            .take()
            .unwrap_or_else(|| Term::of_answer(status, c.state == State::Waiting));
        if let Some(rec) = a.get(log) {
            rec.status = status;
            rec.term = term;
            rec.bytes_out = response.len() as u64;
            rec.end = now;
        }
        a.finish(log, &self.counters);
    }

    /// The request of `leg` ended with `term` (its response status read from its
    /// server connection, if still there).
    #[inline]
    pub(super) fn access_leg_end(&mut self, leg: &Leg, term: Term, now: u64) {
        if leg.log != NO_LOG && self.access.is_some() {
            self.access_leg_end_on(leg, term, now);
        }
    }

    #[inline(never)]
    fn access_leg_end_on(&mut self, leg: &Leg, term: Term, now: u64) {
        let status = self
            .flows
            .server(leg.server)
            .and_then(|s| s.framer.status())
            .unwrap_or(0);
        let Some(a) = self.access.as_mut() else {
            return;
        };
        if let Some(rec) = a.get(leg.log) {
            let end = leg.response_end.unwrap_or(leg.down_next);
            rec.status = status;
            rec.term = term;
            rec.bytes_in += u64::from(leg.up_next.0.wrapping_sub(leg.up_from.0));
            rec.bytes_out = u64::from(end.0.wrapping_sub(leg.down_from.0));
            rec.end = now.max(rec.first_byte).max(rec.sent).max(rec.head_done);
        }
        a.finish(leg.log, &self.counters);
    }

    /// The response of client `h`'s oldest request was delivered (`finish_leg`): its
    /// record ends with `term`, read in place.
    #[inline]
    pub(super) fn access_front_leg_end(&mut self, h: Handle, term: Term, now: u64) {
        if self.access.is_some() {
            self.access_front_leg_end_on(h, term, now);
        }
    }

    #[inline(never)]
    fn access_front_leg_end_on(&mut self, h: Handle, term: Term, now: u64) {
        let Some(leg) = self.flows.get_mut(h).and_then(|c| c.legs.front_mut()) else {
            return;
        };
        let copy = leg.clone();
        leg.log = NO_LOG;
        self.access_leg_end(&copy, term, now);
    }

    /// Client connection `h` is about to be removed: the requests it still has under
    /// way end, by the cause its closer noted, else as killed.
    #[inline]
    pub(super) fn access_conn_gone(&mut self, h: Handle) {
        if self.access.is_some() {
            self.access_conn_gone_on(h);
        }
    }

    #[inline(never)]
    fn access_conn_gone_on(&mut self, h: Handle) {
        let now = self.clock;
        let Some(c) = self.flows.get_mut(h) else {
            return;
        };
        let term = c.abort.unwrap_or(Term::Killed);
        let (log, buffered, legs) = (
            std::mem::replace(&mut c.log, NO_LOG),
            c.head.len(),
            c.legs.len(),
        );
        // By index, a copy at a time: no allocation on the worker.
        for i in 0..legs {
            let Some(leg) = self.flows.get_mut(h).and_then(|c| c.legs.get_mut(i)) else {
                break;
            };
            let copy = leg.clone();
            leg.log = NO_LOG;
            self.access_leg_end(&copy, term, now);
        }
        let Some(a) = self.access.as_mut() else {
            return;
        };
        if let Some(rec) = a.get(log) {
            rec.term = term;
            rec.end = now.max(rec.head_done);
            if rec.bytes_in == 0 {
                rec.bytes_in = buffered as u64;
            }
        }
        a.finish(log, &self.counters);
    }

    /// Records of connections gone without ending them are ended (a few per poll).
    pub(crate) fn access_sweep(&mut self, now: u64) {
        let Some(a) = self.access.as_mut() else {
            return;
        };
        let flows = &self.flows;
        a.sweep(SWEEP_PER_POLL, now, |h| flows.is_client(h), &self.counters);
    }
}
