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
use std::sync::Arc;

/// Slots checked per timer poll for records whose connection is gone.
const SWEEP_PER_POLL: usize = 8;

/// The rule code of a route, as the access log keeps it.
pub(super) fn rule_code(route: Route) -> u16 {
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

    /// A request head of client `h` was read and routed (by `self.last_rule`): its
    /// record starts, unless it has one already (routed again) or is sampled out.
    /// `head_len`: the bytes of its head.
    pub(super) fn access_begin(&mut self, h: Handle, head_len: usize, now: u64) {
        let Some(a) = self.access.as_mut() else {
            return;
        };
        let Some(c) = self.flows.get_mut(h) else {
            return;
        };
        if c.log == NO_LOG {
            c.log = a.begin(h, &self.counters);
            if let Some(rec) = a.get(c.log) {
                describe(rec, c);
                rec.head_done = now;
                rec.bytes_in = head_len as u64;
            }
        }
        if let Some(rec) = a.get(c.log) {
            rec.rule = self.last_rule;
        }
    }

    /// The request of record `log` went to `real`, `consumed` bytes of it at once.
    pub(super) fn access_sent(&mut self, log: u32, real: RealId, consumed: usize, now: u64) {
        if let Some(rec) = self.access.as_mut().and_then(|a| a.get(log)) {
            rec.real = real;
            rec.sent = now;
            rec.bytes_in = consumed as u64;
        }
    }

    /// Splicer answers client `h` with `response` (empty: it closes): the record of
    /// its request ends, or one is made for a request refused before it was routed (a
    /// malformed head, a timeout). A close with nothing read is no request.
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
    pub(super) fn access_leg_end(&mut self, leg: &Leg, term: Term, now: u64) {
        if self.access.is_none() || leg.log == NO_LOG {
            return;
        }
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
            rec.end = now;
        }
        a.finish(leg.log, &self.counters);
    }

    /// Client connection `c` was removed: the requests it still had under way end, by
    /// the cause its closer noted, else as killed.
    pub(super) fn access_conn_gone(&mut self, c: &ClientConn) {
        if self.access.is_none() {
            return;
        }
        let now = self.clock;
        let term = c.abort.unwrap_or(Term::Killed);
        for leg in &c.legs {
            self.access_leg_end(leg, term, now);
        }
        let Some(a) = self.access.as_mut() else {
            return;
        };
        if let Some(rec) = a.get(c.log) {
            rec.term = term;
            rec.end = now;
            if rec.bytes_in == 0 {
                rec.bytes_in = c.head.len() as u64;
            }
        }
        a.finish(c.log, &self.counters);
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
