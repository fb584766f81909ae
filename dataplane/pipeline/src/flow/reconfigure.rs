//! Live reconfiguration: a worker takes a new [`Topology`] from the control core.
//!
//! Reals and virtuals keep their indexes across configurations (the control core never
//! reuses one), so pools and client connections stay attached to the right entries and
//! nothing established is dropped. What changes is the routing of the next request, and
//! what a real's or virtual's new status asks for:
//!
//! * a real that stops keeping a pool (`maintenance`, removed) has its idle server
//!   connections closed with a FIN now, and its busy ones when their response ends;
//! * a real newly `failed` has every server connection reset, and the client
//!   connections spliced to it or waiting for it reset or answered 503;
//! * a virtual newly `failed` has its client connections reset (their server
//!   connections drain and return to their pools);
//! * a real whose status changes, or that comes back up, is kept clients' `close`
//!   off again (`server_close`, `close_mark`).

use super::key::Handle;
use super::server::SState;
use super::table::Conn;
use crate::balance::{Choices, RealId, Status};
use crate::counters::Counter;
use crate::packet::{PacketBuf, Sink};
use crate::pipeline::Pipeline;
use crate::topology::Topology;
use splicer_wire::tcp;
use std::sync::Arc;

impl<P: PacketBuf> Pipeline<P> {
    /// Replaces the topology, then acts on what changed (see the module docs).
    pub(crate) fn apply_topology<S: Sink<P>>(
        &mut self,
        topology: Arc<Topology>,
        now: u64,
        sink: &mut S,
    ) {
        let old = std::mem::replace(&mut self.topology, topology);
        let farm = self.topology.farm();
        let reals = farm.reals.len();
        self.agents.follow(farm.reals.iter().map(|r| r.agent));
        if self.pools.reals.len() < reals {
            self.pools.reals.resize_with(reals, Default::default);
        }
        // Members of a set may have moved: the round-robin positions start afresh.
        self.balance = Choices::default();
        let status = |t: &Topology, r: usize| t.farm().reals.get(r).map(|x| x.status);
        let up = |t: &Topology, r: usize| t.farm().reals.get(r).is_some_and(|x| x.health.up);
        let mut failed_reals = Vec::new();
        let mut unpooled = Vec::new();
        // Reals whose health took them out (down by checks, ejected).
        let mut left = Vec::new();
        for r in 0..reals {
            if up(&old, r) && !up(&self.topology, r) {
                left.push(r as RealId);
            }
            let (before, now_is) = (status(&old, r), status(&self.topology, r));
            if before != now_is || (!up(&old, r) && up(&self.topology, r)) {
                // Put in or out of service, or back up after its checks took it out
                // (restarted, perhaps upgraded): a `close` passed on to it
                // (`close_mark`) is kept off it again from its next request.
                self.pools.reals[r].close_passed_until = 0;
            }
            match now_is {
                Some(Status::Failed) if before != Some(Status::Failed) => {
                    failed_reals.push(r as RealId)
                }
                Some(s) if !s.keeps_pool() => unpooled.push(r as RealId),
                _ => {}
            }
        }
        let failed_virtuals: Vec<u16> = (0..farm.virtuals.len())
            .filter(|&v| {
                farm.virtuals[v].status == Status::Failed
                    && old.farm().virtuals.get(v).map(|p| p.status) != Some(Status::Failed)
            })
            .map(|v| v as u16)
            .collect();
        for r in unpooled {
            self.close_idle(r, now, sink);
        }
        if !failed_reals.is_empty() || !failed_virtuals.is_empty() {
            self.handoffs_failed(&failed_reals, &failed_virtuals, now, sink);
            self.reset_failed(&failed_reals, &failed_virtuals, now, sink);
        }
        if !left.is_empty() {
            self.leave_reals(&left, now, sink);
        }
        self.run_drains(now, sink);
        // A high-water mark raised, a real back in service: room for queued requests.
        self.serve_all_queues(now, sink);
        self.counters.inc(0, Counter::ConfigUpdates);
    }

    /// Closes the idle pooled connections of `real` with a FIN.
    fn close_idle<S: Sink<P>>(&mut self, real: RealId, now: u64, sink: &mut S) {
        let idle = std::mem::take(&mut self.pools.get(real).free);
        let port = self.real_port(real);
        for h in idle {
            self.counters.inc(port, Counter::ServerConnsIdleClosed);
            self.server_close(port, h, false, now, sink);
        }
    }

    pub(super) fn real_port(&self, real: RealId) -> u16 {
        let addr = self.topology.farm().reals[usize::from(real)].address;
        self.topology.route(*addr.ip()).map_or(0, |(p, _)| p)
    }

    /// Resets the connections of newly failed reals and virtuals.
    fn reset_failed<S: Sink<P>>(
        &mut self,
        reals: &[RealId],
        virtuals: &[u16],
        now: u64,
        sink: &mut S,
    ) {
        for h in self.flows.handles() {
            let server = match self.flows.conn_mut(h) {
                Some(Conn::Server(s)) if reals.contains(&s.real) => (
                    s.real,
                    s.client
                        .filter(|_| matches!(s.state, SState::Busy | SState::Tunnel)),
                    s.state,
                    s.client.filter(|_| s.state == SState::SynSent),
                ),
                Some(Conn::Client(c)) if virtuals.contains(&c.service.virtual_index) => {
                    self.reset_client(h, now, sink);
                    continue;
                }
                _ => continue,
            };
            let (real, busy_client, state, waiter) = server;
            let port = self.real_port(real);
            self.counters.inc(port, Counter::ResetFailed);
            match busy_client {
                // Resets the busy server connection and its client, which counts too.
                Some(c) => {
                    self.counters.inc(port, Counter::ResetFailed);
                    // Splicer's doing, not the real's: no server error.
                    self.splice_reset(port, c, now, sink);
                }
                None if state == SState::Closing => self.server_remove(h),
                None => self.server_close(port, h, true, now, sink),
            }
            // A request waiting for this connection to open: nothing will serve it.
            if let Some(c) = waiter.filter(|&c| self.client_waits_for(c, real)) {
                let port = self.peer_port(c, 0);
                self.splice_no_server(port, c, now, sink);
            }
        }
    }

    /// Resets client connection `h`; a server connection spliced to it drains.
    fn reset_client<S: Sink<P>>(&mut self, h: Handle, now: u64, sink: &mut S) {
        let port = self.peer_port(h, 0);
        self.counters.inc(port, Counter::ResetFailed);
        self.send_flags(port, h, tcp::flags::RST, now, sink);
        self.close(h);
    }
}
