//! Routing a complete request head: content rules, the predictor and backups
//! (`balance`), fed with this worker's view of the reals: its pools (requests in flight
//! and queued, reals whose connections keep failing) and its measurements of them
//! (`balance::load`, taken in `splice` when a response starts and ends).

use crate::balance::{Decision, RealId, Route, View};
use crate::packet::PacketBuf;
use crate::pipeline::Pipeline;
use splicer_http::RequestHead;
use std::net::Ipv4Addr;

impl<P: PacketBuf> Pipeline<P> {
    /// Routes `head` (content rules, predictor, backups) for a client of virtual
    /// `virtual_index` whose latest request went to `last_real`. The rule (or bind list)
    /// each virtual on the way routed it by is counted, or with `idle_only` (a pipelined
    /// request sent ahead: only to a real with an idle pooled connection now) collected
    /// there, to be counted only if the request goes out. The predictors read this
    /// worker's pools and measurements of the reals, and `client` (`maglev`).
    pub(super) fn route(
        &mut self,
        virtual_index: u16,
        last_real: Option<RealId>,
        client: Ipv4Addr,
        head: &RequestHead,
        mut idle_only: Option<&mut Vec<(u16, Route)>>,
    ) -> Decision {
        let topology = self.topology.clone();
        let (pools, counters) = (&self.pools, &self.counters);
        let any = idle_only.is_none();
        topology.farm().decide_observed(
            &mut self.balance,
            virtual_index,
            head,
            last_real,
            |r| {
                // A real whose connections keep failing takes no new requests until an
                // open succeeds again (it is retried in the background).
                pools
                    .reals
                    .get(usize::from(r))
                    .is_some_and(|p| !p.free.is_empty() || (any && p.failures == 0))
            },
            |v, route| match idle_only.as_deref_mut() {
                Some(routes) => routes.push((v, route)),
                None => counters.inc_rule(v, route),
            },
            &View {
                loads: pools,
                client,
            },
        )
    }
}

/// `ticks` in microseconds (saturating at `u32::MAX`, 71 minutes).
pub(super) fn micros(ticks: u64, ticks_per_ms: u64) -> u32 {
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
