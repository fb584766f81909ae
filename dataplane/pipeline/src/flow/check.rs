//! Real health, as a worker sees it: active checks originated through the data plane,
//! consecutive errors of the requests it sends (passive outlier detection), and a
//! request whose connection to a real could not be opened routed again.
//!
//! **Active checks.** Each real with a `check` is checked by one worker
//! ([`Real::checked_by`]), every `interval`: the worker opens a connection from the
//! inside port's address, as it does for its pools but outside them (a check
//! connection is never lent to a request and never counted in the pool), sends the
//! check's request for an HTTP check, reads the status line of the answer with the
//! response framer, and closes. A TCP check passes on the handshake. The verdict goes
//! to the control core as a [`HealthEvent`], which runs rise/fall and publishes the
//! real's health in the next farm. A real whose admin state closes its pool
//! (`maintenance`, `failed`, removed) is not checked; an `oos` or `sticky` one is
//! checked, so that its health is known when it comes back.
//!
//! **Passive detection.** A 5xx response, a failed open and a lost request (reset,
//! timed out) each add one to the real's run of errors on this worker; any other
//! response ends the run. A run of `outlier_errors` is reported ([`HealthEvent::Outlier`])
//! and starts afresh; the control core decides on ejection.
//!
//! **Routing again.** A request waiting for a connection that could not be opened was
//! never sent: it is routed again (the real is now held off on this worker, so the
//! predictor skips it) rather than answered `503`, when another real can take it.

use super::due::Due;
use super::key::Handle;
use super::pool::Pools;
use super::server::{SState, CHECK_DONE};
use crate::balance::{CheckFailure, Decision, HealthEvent, Real, RealId};
use crate::counters::{Counter, RealCounter, WorkerCounters};
use crate::packet::{PacketBuf, Sink};
use crate::pipeline::Pipeline;
use splicer_http::{parse_head, HeadStatus};

/// Most health events a worker keeps for the control core between two timer polls;
/// beyond, they are counted (`health_events_dropped`) and dropped.
pub(crate) const MAX_PENDING_EVENTS: usize = 256;

/// The active check of one real on the worker that checks it.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct CheckSlot {
    /// When the next check starts.
    next_at: u64,
    /// The check connection open now, if any.
    conn: Option<Handle>,
}

impl CheckSlot {
    /// Connection `h` is gone: no check is in progress any more if it was the one.
    pub(super) fn forget(&mut self, h: Handle) {
        if self.conn == Some(h) {
            self.conn = None;
        }
    }
}

impl<P: PacketBuf> Pipeline<P> {
    /// Starts the checks that are due. Called from the timer poll.
    pub(crate) fn run_checks<S: Sink<P>>(&mut self, now: u64, sink: &mut S) {
        let topology = self.topology.clone();
        let reals = &topology.farm().reals;
        if self.checks.len() < reals.len() {
            self.checks.resize(reals.len(), CheckSlot::default());
        }
        let ticks_per_ms = self.settings.flow.ticks_per_ms;
        for (r, real) in reals.iter().enumerate() {
            let Some(check) = &real.check else {
                continue;
            };
            let id = r as RealId;
            if Real::checked_by(id, self.settings.workers) != self.settings.worker
                || !real.status.keeps_pool()
            {
                continue;
            }
            let slot = &mut self.checks[r];
            if slot.conn.is_some() || now < slot.next_at {
                continue;
            }
            slot.next_at = now + u64::from(check.interval_ms) * ticks_per_ms;
            let deadline = now + u64::from(check.timeout_ms) * ticks_per_ms;
            let port = self.real_port(id);
            self.counters.inc(port, Counter::HealthChecks);
            self.counters.inc_real(id, RealCounter::Checks);
            match self.open_conn(id, None, Some(deadline), now, sink) {
                Some(h) => self.checks[r].conn = Some(h),
                None => self.check_verdict(id, Err(CheckFailure::NotSent)),
            }
        }
    }

    /// A check connection is established: a TCP check has passed; an HTTP check sends
    /// its request.
    pub(super) fn check_established<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        now: u64,
        sink: &mut S,
    ) {
        let topology = self.topology.clone();
        let Some(s) = self.flows.server_mut(h) else {
            return;
        };
        let real = s.real;
        let request = topology.farm().reals[usize::from(real)]
            .check
            .as_ref()
            .map(|c| &c.request[..])
            .unwrap_or_default();
        if request.is_empty() {
            return self.check_done(port, h, Ok(()), now, sink);
        }
        s.state = SState::Checking;
        s.since = now;
        s.framer.reset(false);
        s.out.clear();
        s.out.extend_from_slice(request);
        s.out_start = s.tcp.snd_nxt;
        s.tcp.snd_nxt += s.out.len();
        s.tcp.retransmit_at = Due::at(now + s.tcp.rto);
        s.tcp.tries = 0;
        self.send_server_data(port, h, now, sink);
        self.reschedule_any(h);
    }

    /// After the answer's bytes were taken on check connection `h`: a verdict once its
    /// status line is read (or it cannot be), else an ACK and wait.
    pub(super) fn check_answer<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        need_ack: bool,
        now: u64,
        sink: &mut S,
    ) {
        let topology = self.topology.clone();
        let Some(s) = self.flows.server_mut(h) else {
            return;
        };
        let expect = topology.farm().reals[usize::from(s.real)]
            .check
            .as_ref()
            .map(|c| c.expect);
        let verdict = match (s.framer.status(), expect) {
            (Some(status), Some(e)) if e.accepts(status) => Some(Ok(())),
            (Some(status), _) => Some(Err(CheckFailure::Status(status))),
            (None, _) if s.framer.error().is_some() || s.tcp.fin_received => {
                Some(Err(CheckFailure::BadResponse))
            }
            (None, _) => None,
        };
        if need_ack {
            self.send_server_flags(port, h, 0, now, sink);
        }
        match verdict {
            Some(v) => self.check_done(port, h, v, now, sink),
            None => self.reschedule_any(h),
        }
    }

    /// The verdict of the check on connection `h`: reported, and the connection closed
    /// (with a FIN once established, a RST while opening or on a timeout).
    pub(super) fn check_done<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        verdict: Result<(), CheckFailure>,
        now: u64,
        sink: &mut S,
    ) {
        let Some(s) = self.flows.server_mut(h) else {
            return;
        };
        let real = s.real;
        let reset = s.state == SState::SynSent
            || matches!(verdict, Err(CheckFailure::Timeout | CheckFailure::Refused));
        // The verdict is given; the connection stays outside the pool while it closes.
        s.check = super::due::Due::at(CHECK_DONE);
        if let Some(slot) = self.checks.get_mut(usize::from(real)) {
            slot.forget(h);
        }
        self.check_verdict(real, verdict);
        match verdict {
            Err(CheckFailure::Timeout) => self.counters.inc(port, Counter::HealthCheckTimeouts),
            Err(_) => self.counters.inc(port, Counter::HealthCheckFailures),
            Ok(()) => {}
        }
        self.server_close(port, h, reset, now, sink);
    }

    /// Whether server connection `h` is a check that ran past its timeout: then it is
    /// given up (and `true` returned).
    pub(super) fn check_timed_out<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        now: u64,
        sink: &mut S,
    ) -> bool {
        match self.flows.server_mut(h) {
            Some(s) if s.check_pending() && s.check.is_some_and(|d| now >= d) => {
                self.check_done(port, h, Err(CheckFailure::Timeout), now, sink);
                true
            }
            _ => false,
        }
    }

    /// Queues the verdict of a check of `real` for the control core.
    fn check_verdict(&mut self, real: RealId, verdict: Result<(), CheckFailure>) {
        let event = match verdict {
            Ok(()) => HealthEvent::CheckPassed(real),
            Err(f) => {
                self.counters.inc_real(real, RealCounter::CheckFailures);
                HealthEvent::CheckFailed(real, f)
            }
        };
        self.push_health_event(event);
    }

    fn push_health_event(&mut self, event: HealthEvent) {
        push_health_event(&mut self.health_events, &self.counters, event);
    }

    /// One request to `real` ended: `failed` for a 5xx response, a failed open or a
    /// lost request; otherwise its run of errors ends.
    pub(super) fn note_outcome(&mut self, real: RealId, failed: bool) {
        let threshold = self.settings.flow.outlier_errors;
        if let Some(n) = self.pools.note_outcome(real, failed, threshold) {
            let port = self.real_port(real);
            self.counters.inc(port, Counter::HealthOutliers);
            self.push_health_event(HealthEvent::Outlier(real, n));
        }
    }

    /// Client `h` waited for a connection to `real` that could not be opened: its
    /// request was never sent, so it is routed again. `503` when nothing else can take
    /// it.
    pub(super) fn route_again<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        real: RealId,
        now: u64,
        sink: &mut S,
    ) {
        let Some(c) = self.flows.get_mut(h) else {
            return;
        };
        let (virtual_index, max) = (c.service.virtual_index, c.service.max_request_head());
        let head = match parse_head(&c.head, max) {
            HeadStatus::Complete(head) => head,
            _ => return self.splice_no_server(port, h, now, sink),
        };
        // Not back to the same real, nor to another that cannot be reached. Round robin
        // may come back to it once (a real not yet marked down); not twice.
        let mut decision = self.route(port, h, &head, now, None);
        if decision == Decision::Splice(real) {
            decision = self.route(port, h, &head, now, None);
        }
        if decision == Decision::Splice(real) {
            return self.splice_no_server(port, h, now, sink);
        }
        self.counters.inc(port, Counter::HealthRoutedAgain);
        self.place_routed(port, h, virtual_index, decision, now, sink);
    }

    /// The health events since the last call, for the control core.
    pub fn take_health_events(&mut self) -> std::vec::Drain<'_, HealthEvent> {
        self.health_events.drain(..)
    }
}

/// Queues `event` for the control core, or counts it dropped when too many wait.
pub(super) fn push_health_event(
    events: &mut Vec<HealthEvent>,
    counters: &WorkerCounters,
    event: HealthEvent,
) {
    if events.len() >= MAX_PENDING_EVENTS {
        counters.inc(0, Counter::HealthEventsDropped);
    } else {
        events.push(event);
    }
}

impl Pools {
    /// One request to `real` ended, `failed` or not: `Some(run)` when it makes a run of
    /// `threshold` failures (0: never), which then starts afresh.
    pub(crate) fn note_outcome(
        &mut self,
        real: RealId,
        failed: bool,
        threshold: u32,
    ) -> Option<u32> {
        let p = self.reals.get_mut(usize::from(real))?;
        if !failed {
            p.errors_in_row = 0;
            return None;
        }
        p.errors_in_row += 1;
        if threshold == 0 || p.errors_in_row < threshold {
            return None;
        }
        let n = p.errors_in_row;
        p.errors_in_row = 0;
        Some(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_of_failures_is_reported_once_and_starts_afresh() {
        let mut pools = Pools::new(2);
        let outcomes = [true, true, false, true, true, true, true, true, true];
        let reported: Vec<Option<u32>> = outcomes
            .iter()
            .map(|&f| pools.note_outcome(1, f, 3))
            .collect();
        assert_eq!(
            reported,
            [None, None, None, None, None, Some(3), None, None, Some(3)]
        );
        // The other real's run is its own; 0 turns detection off; unknown reals are
        // ignored.
        assert_eq!(pools.reals[0].errors_in_row, 0);
        assert!((0..10).all(|_| pools.note_outcome(0, true, 0).is_none()));
        assert_eq!(pools.note_outcome(9, true, 1), None);
    }
}
