//! Routing a request head: the balance stage's decision for a client connection (its
//! virtual, the real of its latest request, its address for a sticky virtual), with the
//! rule hits and the sticky table's outcome counted. The predictors read this worker's
//! view of the reals: its pools (requests in flight, reals whose connections keep
//! failing) and its measurements of them (`balance::load`, taken in `splice` when a
//! response starts and ends).

use super::key::Handle;
use super::pipelined::RouteTrail;
use super::queue::{has_room, usable, usable_fresh};
use crate::balance::{Decision, Routed, StickyClient, StickyOutcome, View};
use crate::counters::Counter;
use crate::packet::PacketBuf;
use crate::pipeline::Pipeline;

impl<P: PacketBuf> Pipeline<P> {
    /// Routes `head` (content rules, predictor, backups, a sticky virtual's table) for
    /// client connection `h`, by its virtual, the real of its latest request and its
    /// address. The rule (or bind list) each virtual on the way routed it by is counted,
    /// or with `idle_only` (a pipelined request sent ahead: only to a real with an idle
    /// pooled connection now) collected there, to be counted only if the request goes
    /// out.
    pub(super) fn route<R: Routed + ?Sized>(
        &mut self,
        port: u16,
        h: Handle,
        head: &R,
        now: u64,
        mut idle_only: Option<&mut RouteTrail>,
    ) -> Decision {
        let Some(c) = self.flows.get_mut(h) else {
            return Decision::Refuse;
        };
        let (virtual_index, last_real) = (c.service.virtual_index, c.last_real);
        let addr = c.key.client;
        let mut client = StickyClient::new(addr, self.sticky_clock(now), idle_only.is_some());
        let topology = self.topology.clone();
        let farm = topology.farm();
        let (pools, counters) = (&self.pools, &self.counters);
        let any = idle_only.is_none();
        let decision = farm.decide_for(
            &mut self.balance,
            virtual_index,
            head,
            last_real,
            Some(&mut client),
            // A passed-through connection opens its own server connection: idle pooled
            // ones do not make a failing real usable for it.
            |r| {
                if R::FRESH {
                    usable_fresh(pools, r)
                } else {
                    usable(pools, r, any)
                }
            },
            // The high-water mark: a pipelined request sent ahead counts as any other.
            |r, cost| has_room(pools, farm, r, cost),
            |v, route| match idle_only.as_deref_mut() {
                Some(trail) => trail.push(v, route),
                None => counters.inc_rule(v, route),
            },
            // The predictors read this worker's pools and measurements of the reals,
            // and the client's address (`maglev`).
            &View {
                loads: pools,
                client: addr,
            },
        );
        let (counter, evicted) = match client.outcome {
            None => return decision,
            Some(StickyOutcome::Hit) => (Counter::StickyHits, false),
            Some(StickyOutcome::New { evicted }) => (Counter::StickyNew, evicted),
            Some(StickyOutcome::Expired { evicted }) => (Counter::StickyExpired, evicted),
            Some(StickyOutcome::Dropped { evicted }) => (Counter::StickyDropped, evicted),
        };
        self.counters.inc(port, counter);
        if evicted {
            self.counters.inc(port, Counter::StickyEvictions);
        }
        decision
    }

    /// The clock of the sticky tables: whole seconds of `now`, modulo 2^16 (every
    /// worker reads the same time-stamp counter).
    pub(crate) fn sticky_clock(&self, now: u64) -> u16 {
        (now / self.settings.flow.ticks_per_ms.max(1) / 1000) as u16
    }
}

/// `ticks` in microseconds (saturating at `u32::MAX`, 71 minutes).
pub(crate) fn micros(ticks: u64, ticks_per_ms: u64) -> u32 {
    // In 64 bits (a 128-bit division is a library call): exact below 2^64 / 1000 ticks,
    // 213 days of a 1 GHz clock; longer saturates.
    let us = ticks.saturating_mul(1000) / ticks_per_ms.max(1);
    us.min(u64::from(u32::MAX)) as u32
}

#[cfg(test)]
mod tests {
    use super::micros;

    #[test]
    fn ticks_become_microseconds() {
        assert_eq!(micros(3_000, 1_000), 3_000);
        assert_eq!(micros(2_500_000, 2_500_000), 1_000);
        assert_eq!(
            micros(7, 0),
            7_000,
            "no clock rate: ticks taken as milliseconds"
        );
        assert_eq!(micros(u64::MAX, 1), u32::MAX);
    }
}
