//! High-water marks and the virtual's request queue (Circadence's "Load balancing
//! between multiple web servers", US 2002/0059170 A1: a steady number of requests
//! pending on each server, the rest queued by priority; a request spills over from a
//! saturated server to the next admissible one).
//!
//! A real's `maxconns` bounds the requests one worker has in flight on it, each counted
//! by its rule's `cost`: a request is charged to the server connection that carries it
//! (or is being opened for it), from the moment it is placed until that connection
//! stops carrying it (response done, connection closed or lost, open failed). A real
//! whose charge would pass `maxconns` is not admissible, and the request goes to another
//! real of its set ([`Farm::decide_observed`]).
//!
//! When every candidate of the set is full, the request waits in the queue of the
//! virtual that routed it (`queue_size` per worker; beyond it `503` with `Retry-After`
//! at once). A slot freed on a real goes to the waiting request with the highest
//! effective priority among those whose set contains that real: its rule's `priority`
//! plus one for every [`AGEING_MS`] it has waited, so that a request of the lowest
//! priority outranks a fresh one of the highest after `7 x AGEING_MS` and none starves;
//! ties go to the oldest. If that request does not fit (its cost is above the slots
//! free), it keeps its turn and the slot waits for more to come free, so that a costly
//! request is not overtaken forever by cheaper queued ones (a request arriving meanwhile
//! that fits the free slots is not queued and may take them: the queue only orders the
//! requests that found their set full). A request still waiting after
//! `queue_timeout` gets `503` with `Retry-After`.
//!
//! [`Farm::decide_observed`]: crate::balance::Farm::decide_observed

use super::client::State;
use super::key::Handle;
use super::server::ServerConn;
use crate::balance::{Inputs, Predictor, RealId, Route};
use crate::counters::{Counter, VirtualCounter};
use crate::packet::{PacketBuf, Sink};
use crate::pipeline::Pipeline;
use splicer_http::{parse_head, HeadStatus};

/// Waiting this long raises a queued request's priority by one level.
pub const AGEING_MS: u64 = 250;

/// Seconds a client refused for a full queue, or after `queue_timeout`, is told to wait
/// before it tries again (`Retry-After`).
pub const RETRY_AFTER_S: u32 = 1;

/// A request waiting in its virtual's queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Queued {
    /// The client connection whose pending request it is.
    pub h: Handle,
    /// The set it waits for.
    pub route: Route,
    pub priority: u8,
    /// When it was queued.
    pub since: u64,
}

impl Queued {
    /// The order of service, highest first: the priority raised by one per `step`
    /// ticks waited. Compared among requests at the same instant, so the wait is
    /// measured from a common origin: `priority x step - since`.
    pub fn rank(&self, step: u64) -> i128 {
        i128::from(self.priority) * i128::from(step) - i128::from(self.since)
    }
}

/// The queues of one worker, per virtual.
#[derive(Debug, Default)]
pub(crate) struct Queues {
    per_virtual: Vec<Vec<Queued>>,
    /// Entries in all queues, stale ones included.
    total: usize,
}

impl Queues {
    /// The entries of virtual `v`'s queue (in no particular order; those of clients
    /// that went away meanwhile until they are swept: when they come up for service,
    /// time out, or the queue is full).
    pub fn of(&self, v: u16) -> &[Queued] {
        self.per_virtual.get(usize::from(v)).map_or(&[], |q| &q[..])
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Adds `q` to virtual `v`'s queue.
    pub fn push(&mut self, v: u16, q: Queued) {
        let v = usize::from(v);
        if self.per_virtual.len() <= v {
            self.per_virtual.resize_with(v + 1, Vec::new);
        }
        self.per_virtual[v].push(q);
        self.total += 1;
    }

    /// Removes client `h`'s entry from virtual `v`'s queue, if there is one.
    pub fn remove(&mut self, v: u16, h: Handle) -> Option<Queued> {
        let q = self.per_virtual.get_mut(usize::from(v))?;
        let i = q.iter().position(|e| e.h == h)?;
        self.total -= 1;
        Some(q.swap_remove(i))
    }

    /// Keeps only the entries of virtual `v` for which `live` holds.
    pub fn retain(&mut self, v: u16, mut live: impl FnMut(&Queued) -> bool) {
        if let Some(q) = self.per_virtual.get_mut(usize::from(v)) {
            let before = q.len();
            q.retain(|e| live(e));
            self.total -= before - q.len();
        }
    }

    /// How many entries `wants` (their virtual and set), stale ones included.
    pub fn count(&self, mut wants: impl FnMut(u16, Route) -> bool) -> usize {
        let mut n = 0;
        for (v, q) in self.per_virtual.iter().enumerate() {
            n += q.iter().filter(|e| wants(v as u16, e.route)).count();
        }
        n
    }

    /// The entry served first among those for which `wants` holds (its virtual and
    /// set), by [`Queued::rank`] with `step` ticks per level.
    pub fn best(
        &self,
        step: u64,
        mut wants: impl FnMut(u16, Route) -> bool,
    ) -> Option<(u16, Queued)> {
        let mut best: Option<(u16, Queued)> = None;
        for (v, q) in self.per_virtual.iter().enumerate() {
            for e in q {
                if best.is_some_and(|(_, b)| b.rank(step) >= e.rank(step)) {
                    continue;
                }
                if wants(v as u16, e.route) {
                    best = Some((v as u16, *e));
                }
            }
        }
        best
    }
}

impl<P: PacketBuf> Pipeline<P> {
    /// Charges the pending request of client `h` to server connection `sh`, opened for
    /// it (one taken from the pool is charged when the request goes out on it).
    pub(super) fn charge(&mut self, h: Handle, sh: Handle) {
        let Some((c, s)) = self.flows.pair_mut(h, sh) else {
            return;
        };
        let Some(p) = c.pending.as_ref() else {
            return;
        };
        charge_once(&mut self.pools, s, p.cost);
    }

    /// Server connection `sh` no longer carries its request: its real's slots come
    /// free. Returns the real when there were some; the caller then lets the queued
    /// requests take them ([`Pipeline::serve_queue`]) once the connection is where it
    /// belongs (idle in the pool, or gone).
    pub(super) fn uncharge(&mut self, sh: Handle) -> Option<RealId> {
        let s = self.flows.server_mut(sh)?;
        if s.charge == 0 {
            return None;
        }
        let (real, charge) = (s.real, std::mem::take(&mut s.charge));
        self.pools.get(real).inflight -= u32::from(charge);
        Some(real)
    }

    /// A request of client `h` (pending, routed by virtual `v` to the set `route`)
    /// found every candidate full: it waits in `v`'s queue, or is answered `503` when
    /// the queue is full.
    pub(super) fn enqueue<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        v: u16,
        route: Route,
        now: u64,
        sink: &mut S,
    ) {
        let farm = self.topology.farm();
        let Some(policy) = farm.virtuals.get(usize::from(v)) else {
            return self.refuse_busy(port, h, now, sink);
        };
        let (size, priority) = (policy.queue_size as usize, policy.class(route).priority);
        if self.pools.queues.of(v).len() >= size {
            // Entries of clients gone or answered meanwhile do not count.
            let flows = &mut self.flows;
            self.pools.queues.retain(v, |e| {
                flows
                    .get_mut(e.h)
                    .is_some_and(|c| c.state == State::Waiting)
            });
        }
        if self.pools.queues.of(v).len() >= size {
            self.counters.inc(port, Counter::QueueOverflows);
            self.counters.inc_virtual(v, VirtualCounter::QueueOverflows);
            return self.refuse_busy(port, h, now, sink);
        }
        self.counters.inc(port, Counter::PoolWaits);
        self.pools.queues.push(
            v,
            Queued {
                h,
                route,
                priority,
                since: now,
            },
        );
        self.reschedule(h);
    }

    /// Answers client `h`'s pending request `503` with `Retry-After` (queue full, or
    /// `queue_timeout` passed).
    pub(super) fn refuse_busy<S: Sink<P>>(&mut self, port: u16, h: Handle, now: u64, sink: &mut S) {
        let Some(c) = self.flows.get_mut(h) else {
            return;
        };
        c.pending = None;
        let v = c.service.virtual_index;
        self.counters.inc(port, Counter::HttpNoServer);
        self.counters.inc_virtual(v, VirtualCounter::NoServer);
        let mut buf = [0u8; 512];
        let n = splicer_http::busy_response(RETRY_AFTER_S, &mut buf);
        self.respond_with(port, h, &buf[..n], now, sink);
    }

    /// Client `h`'s queued request waited `queue_timeout`: out of the queue, `503`.
    pub(super) fn queue_timed_out<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        now: u64,
        sink: &mut S,
    ) {
        let Some(c) = self.flows.get_mut(h) else {
            return;
        };
        let v = c.service.virtual_index;
        let queued = c.pending.as_ref().is_some_and(|p| p.real.is_none());
        if queued {
            // The virtual that queued it may be a backup of the client's own.
            if self.pools.queues.remove(v, h).is_none() {
                let n = self.topology.farm().virtuals.len() as u16;
                for other in 0..n {
                    if self.pools.queues.remove(other, h).is_some() {
                        break;
                    }
                }
            }
        }
        self.counters.inc(port, Counter::QueueTimeouts);
        self.counters.inc_virtual(v, VirtualCounter::QueueTimeouts);
        self.refuse_busy(port, h, now, sink);
    }

    /// Gives the slots free on `real` to the queued requests, best first, while the
    /// best one whose set contains `real` fits somewhere in its set.
    pub(super) fn serve_queue<S: Sink<P>>(&mut self, real: RealId, now: u64, sink: &mut S) {
        let step = AGEING_MS * self.settings.flow.ticks_per_ms;
        while !self.pools.queues.is_empty() {
            let topology = self.topology.clone();
            let farm = topology.farm();
            let best = self.pools.queues.best(step, |v, route| {
                farm.virtuals
                    .get(usize::from(v))
                    .is_some_and(|p| p.members(route).contains(&real))
            });
            let Some((v, q)) = best else {
                return;
            };
            let waiting = self.flows.get_mut(q.h).and_then(|c| {
                let queued = c.state == State::Waiting
                    && c.pending.as_ref().is_some_and(|p| p.real.is_none());
                queued.then_some(c.last_real)
            });
            let Some(last_real) = waiting else {
                // Gone or answered meanwhile.
                self.pools.queues.remove(v, q.h);
                continue;
            };
            let Some(chosen) = self.place(q.h, v, q.route, last_real) else {
                // It keeps its turn until enough slots come free.
                return;
            };
            self.pools.queues.remove(v, q.h);
            let port = self.peer_port(q.h, 0);
            self.counters.inc(port, Counter::PoolWaitServed);
            self.count_spill(port);
            let c = self.flows.get_mut(q.h).expect("checked above");
            let client_virtual = c.service.virtual_index;
            if let Some(p) = c.pending.as_mut() {
                p.real = Some(chosen);
            }
            c.last_real = Some(chosen);
            self.count_spliced(port, client_virtual, chosen);
            self.acquire(port, q.h, chosen, now, sink);
        }
    }

    /// Serves the queues from every real: after a change of configuration, which may
    /// have raised a high-water mark or put a real back in service.
    pub(super) fn serve_all_queues<S: Sink<P>>(&mut self, now: u64, sink: &mut S) {
        for r in 0..self.pools.reals.len() {
            if self.pools.queues.is_empty() {
                return;
            }
            self.serve_queue(r as RealId, now, sink);
        }
    }

    /// A real for client `h`'s queued request of virtual `v` and set `route`, if one
    /// has room.
    fn place(
        &mut self,
        h: Handle,
        v: u16,
        route: Route,
        last_real: Option<RealId>,
    ) -> Option<RealId> {
        let topology = self.topology.clone();
        let farm = topology.farm();
        let hash = self.queued_hash(h, v, route);
        let pools = &self.pools;
        let inputs = Inputs { loads: pools, hash };
        farm.place_queued(
            &mut self.balance,
            v,
            route,
            last_real,
            |r| usable(pools, r, true),
            |r, cost| has_room(pools, farm, r, cost),
            &inputs,
        )
    }

    /// The `maglev` key of client `h`'s queued request for set `route` of virtual `v`
    /// (0 when the set's predictor is another): its head is still at the front of the
    /// client's buffer.
    fn queued_hash(&mut self, h: Handle, v: u16, route: Route) -> u64 {
        let topology = self.topology.clone();
        let Some(policy) = topology.farm().virtuals.get(usize::from(v)) else {
            return 0;
        };
        let (predictor, key) = policy.chooser(route);
        if predictor != Predictor::Maglev {
            return 0;
        }
        let Some(c) = self.flows.get_mut(h) else {
            return 0;
        };
        match parse_head(&c.head, c.service.max_request_head()) {
            HeadStatus::Complete(head) => key.hash(&head, c.key.client),
            _ => 0,
        }
    }

    /// No server connection could be had: 503.
    pub(super) fn splice_no_server<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        now: u64,
        sink: &mut S,
    ) {
        if let Some(c) = self.flows.get_mut(h) {
            c.pending = None;
            self.counters.inc(port, Counter::HttpNoServer);
            self.counters
                .inc_virtual(c.service.virtual_index, VirtualCounter::NoServer);
            self.respond(port, h, 503, now, sink);
        }
    }

    /// Counts how the latest decision spilled over.
    pub(super) fn count_spill(&self, port: u16) {
        let spill = self.balance.spill();
        if spill.over {
            self.counters.inc(port, Counter::SpillOvers);
        }
        if spill.tier {
            self.counters.inc(port, Counter::TierSpills);
        }
    }

    /// Finds a server connection of `real` for the waiting client `h`: an idle one, one
    /// being opened for the pool when the real has `maxconns` connections, or a new one
    /// (the request was placed on `real` because it has room, and a real whose
    /// opens keep failing is not placed on unless it has an idle connection).
    pub(super) fn acquire<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        real: RealId,
        now: u64,
        sink: &mut S,
    ) {
        if let Some(s) = self.pools.get(real).free.pop() {
            self.counters.inc(port, Counter::PoolReuses);
            return self.start_splice(port, h, s, true, now, sink);
        }
        self.acquire_fresh(port, h, real, now, sink);
    }

    /// As [`Pipeline::acquire`], but never an idle connection: one opened for the
    /// request (or one being opened for the pool at the real's `maxconns`). A request
    /// sent again after its pooled connection closed under it (`redispatch`) goes on
    /// one: the other idle connections may be closing at the same keep-alive timeout.
    pub(super) fn acquire_fresh<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        real: RealId,
        now: u64,
        sink: &mut S,
    ) {
        self.counters.inc(port, Counter::PoolOpens);
        // At the real's connection count, one being opened for the pool: this request
        // takes it when it is up, so that the connections stay within maxconns.
        let maxconns = u32::from(self.topology.farm().reals[usize::from(real)].maxconns);
        let pool = self.pools.get(real);
        if pool.conns >= maxconns {
            if let Some(sh) = pool.spare.pop() {
                if let Some(s) = self.flows.server_mut(sh) {
                    s.client = Some(h);
                    self.charge(h, sh);
                    return self.reschedule(h);
                }
            }
        }
        match self.open_server(real, Some(h), now, sink) {
            Some(sh) => {
                self.charge(h, sh);
                self.reschedule(h)
            }
            None => self.splice_no_server(port, h, now, sink),
        }
    }
}

/// Whether a request may be placed on `real` now: it has an idle connection, or (with
/// `open`) its opens are not failing (a failing real is retried in the background and
/// takes requests again once an open succeeds).
pub(super) fn usable(pools: &super::Pools, real: RealId, open: bool) -> bool {
    pools
        .reals
        .get(usize::from(real))
        .is_some_and(|p| !p.free.is_empty() || (open && p.failures == 0))
}

/// Whether a connection of a `tcp` virtual may be placed on `real` now: its opens are
/// not failing (it opens a connection of its own whatever the pool holds).
pub(super) fn usable_fresh(pools: &super::Pools, real: RealId) -> bool {
    pools
        .reals
        .get(usize::from(real))
        .is_some_and(|p| p.failures == 0)
}

/// Whether a request of `cost` fits under `real`'s high-water mark on this worker
/// ([`crate::balance::Real::has_room`] with the cost its pool has in flight).
/// Charges a request of `cost` to server connection `s`'s real, unless the connection
/// carries a charge already (it was charged when opened for the request): the one place
/// a real's in-flight count grows, for a request opened for, spliced or tunnelled.
pub(super) fn charge_once(pools: &mut super::Pools, s: &mut ServerConn, cost: u16) {
    if s.charge == 0 {
        s.charge = cost.max(1);
        pools.get(s.real).inflight += u32::from(s.charge);
    }
}

pub(super) fn has_room(
    pools: &super::Pools,
    farm: &crate::balance::Farm,
    real: RealId,
    cost: u16,
) -> bool {
    let inflight = pools.reals.get(usize::from(real)).map_or(0, |p| p.inflight);
    farm.reals
        .get(usize::from(real))
        .is_some_and(|r| r.has_room(inflight, cost))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(slot: u32, priority: u8, since: u64) -> Queued {
        Queued {
            h: Handle {
                slot,
                generation: 0,
            },
            route: Route::Bind,
            priority,
            since,
        }
    }

    #[test]
    fn highest_priority_first_then_oldest() {
        let mut qs = Queues::default();
        qs.push(0, q(1, 2, 100));
        qs.push(0, q(2, 5, 110));
        qs.push(1, q(3, 5, 105));
        qs.push(1, q(4, 0, 0));
        let order: Vec<u32> = std::iter::from_fn(|| {
            let (v, e) = qs.best(1000, |_, _| true)?;
            qs.remove(v, e.h);
            Some(e.h.slot)
        })
        .collect();
        assert_eq!(order, vec![3, 2, 1, 4]);
        assert!(qs.is_empty());
    }

    #[test]
    fn ageing_lets_a_low_priority_overtake() {
        // One level per 250 ticks: priority 0 queued at 0 against priority 7 queued at
        // t. The old one goes first once it has waited 7 levels longer.
        let step = 250;
        for (t, first) in [(1000, 2), (1749, 2), (1751, 1), (5000, 1)] {
            let mut qs = Queues::default();
            qs.push(0, q(1, 0, 0));
            qs.push(0, q(2, 7, t));
            assert_eq!(qs.best(step, |_, _| true).unwrap().1.h.slot, first, "t={t}");
        }
    }

    #[test]
    fn no_starvation_under_a_steady_stream_of_higher_priorities() {
        // One slot frees every 100 ticks; each time a fresh priority-7 request arrives.
        // A priority-0 request queued at the start is served within 7 levels of ageing.
        let step = 250;
        let mut qs = Queues::default();
        qs.push(0, q(0, 0, 0));
        let mut served_at = None;
        for tick in 1..100u32 {
            let now = u64::from(tick) * 100;
            qs.push(0, q(tick, 7, now));
            let (v, e) = qs.best(step, |_, _| true).unwrap();
            qs.remove(v, e.h);
            if e.h.slot == 0 {
                served_at = Some(now);
                break;
            }
        }
        let t = served_at.expect("the priority-0 request starved");
        assert!(t <= 7 * step + 200, "served at {t}");
    }

    #[test]
    fn best_only_among_those_wanted_and_retain() {
        let mut qs = Queues::default();
        qs.push(0, q(1, 7, 0));
        qs.push(2, q(2, 1, 0));
        assert_eq!(qs.best(1, |v, _| v == 2).unwrap().1.h.slot, 2);
        assert_eq!(qs.best(1, |_, _| false), None);
        qs.retain(0, |e| e.h.slot != 1);
        assert_eq!(qs.of(0).len(), 0);
        assert_eq!(qs.of(2).len(), 1);
        assert_eq!(qs.remove(0, q(1, 0, 0).h), None);
        assert!(!qs.is_empty());
    }
}
