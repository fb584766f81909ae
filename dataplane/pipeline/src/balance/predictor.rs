//! Predictors: how one real is chosen among the reals of a set.
//!
//! Every predictor works behind [`PredictorState::choose`], so that adding one touches
//! only this file (and `load` or `maglev` for what it reads) and the configuration.
//! The load-aware ones (`leastconns`, `fastest`, `qos`) read the worker's own
//! measurements of the reals ([`Loads`]); see `load` for why each worker keeps its own.
//! docs/PREDICTORS.md gives the formulas.

use super::load::{Loads, RealLoad, LOSS_ONE};
use super::maglev::Table;
use super::RealId;

/// The predictors a virtual server (or one of its rules) can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Predictor {
    /// Weighted round robin, spread smoothly (nginx's algorithm, which HAProxy's
    /// `roundrobin` also weights): over any window of `sum(weights)` requests each real
    /// gets its weight's share, interleaved rather than in runs.
    #[default]
    RoundRobin,
    /// The same algorithm as `roundrobin`, under the name that says weights count.
    Weighted,
    /// Fewest requests in flight relative to weight (`in_flight / weight`); ties go by
    /// weighted round robin.
    LeastConns,
    /// Lowest `ttfb × (in_flight + 1) / weight`, the moving average of time to first
    /// response byte scaled by the requests that would queue before this one. A real
    /// not measured yet costs 0 (it is tried); every [`PROBE_EVERY`]th choice goes to
    /// the real chosen least recently, so that a slow real is measured again and can
    /// recover.
    Fastest,
    /// As `fastest`, with the time multiplied by `1 + LOSS_PENALTY × loss` (loss: the
    /// moving share of requests whose server leg saw a retransmission or a reset).
    Qos,
    /// Consistent hashing of the request's key (the virtual's or rule's `hash`) over a
    /// Maglev table: a real leaving moves only its own keys and about 1 % more.
    Maglev,
}

/// One choice in this many of `fastest` and `qos` is a probe: the next real in turn.
pub const PROBE_EVERY: u32 = 32;

/// How much loss weighs in `qos`: a real losing 10 % of its requests costs as much as
/// one twice as slow (`1 + 10 × 0.1 = 2`).
pub const LOSS_PENALTY: u64 = 10;

impl Predictor {
    /// The configuration name of the predictor.
    pub fn name(self) -> &'static str {
        match self {
            Predictor::RoundRobin => "roundrobin",
            Predictor::Weighted => "weighted",
            Predictor::LeastConns => "leastconns",
            Predictor::Fastest => "fastest",
            Predictor::Qos => "qos",
            Predictor::Maglev => "maglev",
        }
    }

    /// The predictor with configuration name `name`.
    pub fn from_name(name: &str) -> Option<Predictor> {
        Self::ALL.iter().copied().find(|p| p.name() == name)
    }

    /// Every predictor.
    pub const ALL: &'static [Predictor] = &[
        Predictor::RoundRobin,
        Predictor::Weighted,
        Predictor::LeastConns,
        Predictor::Fastest,
        Predictor::Qos,
        Predictor::Maglev,
    ];

    /// Every predictor's name, for error messages and completion.
    pub const NAMES: &'static [&'static str] = &[
        "roundrobin",
        "weighted",
        "leastconns",
        "fastest",
        "qos",
        "maglev",
    ];
}

/// What a choice reads besides the weights.
pub struct Inputs<'a> {
    /// The members' load and quality.
    pub loads: &'a dyn Loads,
    /// The request's key for `maglev` (see `maglev::HashKey::hash`).
    pub hash: u64,
}

/// One worker's memory of past choices for one set of reals.
#[derive(Debug, Clone, Default)]
pub struct PredictorState {
    /// Smooth weighted round robin: the current weight of each member of the set.
    current: Vec<i64>,
    /// Choices made by `fastest` / `qos`, for their probes.
    picks: u32,
    /// `fastest` / `qos`: per member, the value of `picks` when it was last chosen.
    chosen_at: Vec<u32>,
    /// `maglev`: the table, rebuilt when the members or their weights change.
    table: Table,
    /// The members and their weights for this choice, reused between choices.
    scratch: Vec<(RealId, u16)>,
    /// The costs of the members in a load-aware choice, reused between choices.
    costs: Vec<u64>,
}

/// Below this time (in microseconds) `fastest` and `qos` take reals as equally fast, so
/// that noise between fast reals does not decide (they share by weight and load).
pub const FLOOR_US: u64 = 100;

impl PredictorState {
    /// Chooses among `set`, where `weight(real)` gives a real's weight and 0 means it
    /// must not be chosen (weight 0, out of service, or known to be failing). `None`
    /// when every real is excluded.
    pub fn choose(
        &mut self,
        predictor: Predictor,
        set: &[RealId],
        mut weight: impl FnMut(RealId) -> u16,
        inputs: &Inputs<'_>,
    ) -> Option<RealId> {
        if matches!(predictor, Predictor::RoundRobin | Predictor::Weighted) {
            // The common case, straight over the set: no copy of the weights.
            return self.round_robin(set, weight);
        }
        let mut members = std::mem::take(&mut self.scratch);
        members.clear();
        members.extend(set.iter().map(|&r| (r, weight(r))));
        let loads = inputs.loads;
        let measured = loads.measured();
        let chosen = match predictor {
            Predictor::Maglev => {
                if !self.table.is_for(&members) {
                    self.table.build(&members);
                }
                self.table.lookup(inputs.hash)
            }
            Predictor::LeastConns if measured => {
                self.cheapest(&members, |r| u64::from(loads.load(r).in_flight))
            }
            Predictor::Fastest | Predictor::Qos if measured => {
                if self.chosen_at.len() != members.len() {
                    self.chosen_at = vec![0; members.len()];
                }
                self.picks = self.picks.wrapping_add(1);
                let chosen = if self.picks.is_multiple_of(PROBE_EVERY) {
                    self.probe(&members)
                } else {
                    let qos = predictor == Predictor::Qos;
                    self.cheapest(&members, |r| response_cost(loads.load(r), qos))
                };
                if let Some(i) = chosen.and_then(|r| set.iter().position(|&m| m == r)) {
                    self.chosen_at[i] = self.picks;
                }
                chosen
            }
            _ => self.smooth(&members, |_| true),
        };
        self.scratch = members;
        chosen
    }

    /// Smooth weighted round robin over `set` (weight 0: excluded).
    fn round_robin(
        &mut self,
        set: &[RealId],
        mut weight: impl FnMut(RealId) -> u16,
    ) -> Option<RealId> {
        self.swrr(set.len(), |i| weight(set[i])).map(|i| set[i])
    }

    /// Smooth weighted round robin among the members `take` accepts (weight > 0): the
    /// tie-break of the load-aware predictors, and their fallback without measurements.
    fn smooth(
        &mut self,
        members: &[(RealId, u16)],
        mut take: impl FnMut(usize) -> bool,
    ) -> Option<RealId> {
        self.swrr(members.len(), |i| if take(i) { members[i].1 } else { 0 })
            .map(|i| members[i].0)
    }

    /// Smooth weighted round robin (nginx's) over `n` members of weights `weight(i)`:
    /// each gains its weight, the highest is chosen and loses the total. The index
    /// chosen; `None` when every weight is 0.
    fn swrr(&mut self, n: usize, mut weight: impl FnMut(usize) -> u16) -> Option<usize> {
        if self.current.len() != n {
            self.current = vec![0; n];
        }
        let mut total = 0i64;
        let mut best: Option<usize> = None;
        for i in 0..n {
            let w = i64::from(weight(i));
            if w == 0 {
                continue;
            }
            self.current[i] += w;
            total += w;
            if best.is_none_or(|b| self.current[i] > self.current[b]) {
                best = Some(i);
            }
        }
        let b = best?;
        self.current[b] -= total;
        Some(b)
    }

    /// The member of lowest `cost(real) / weight`; ties by smooth weighted round robin.
    /// Costs are compared as fractions, cross-multiplied: exact, and no division.
    fn cheapest(
        &mut self,
        members: &[(RealId, u16)],
        cost: impl Fn(RealId) -> u64,
    ) -> Option<RealId> {
        // `c / w` against `bc / bw` as `c × bw` against `bc × w`: a 64 × 64-bit product.
        let scaled = |c: u64, w: u16| u128::from(c) * u128::from(w);
        let mut costs = std::mem::take(&mut self.costs);
        costs.clear();
        let mut best: Option<(u64, u16)> = None;
        for &(r, w) in members {
            let c = if w > 0 { cost(r) } else { 0 };
            costs.push(c);
            if w > 0 && best.is_none_or(|(bc, bw)| scaled(c, bw) < scaled(bc, w)) {
                best = Some((c, w));
            }
        }
        let chosen = best.and_then(|(bc, bw)| {
            self.smooth(members, |i| {
                scaled(costs[i], bw) == scaled(bc, members[i].1)
            })
        });
        self.costs = costs;
        chosen
    }

    /// The member that may be chosen and was chosen least recently (a probe): the one
    /// the costs avoid, measured again so that it can win back its share.
    fn probe(&self, members: &[(RealId, u16)]) -> Option<RealId> {
        let picks = self.picks;
        let i = (0..members.len())
            .filter(|&i| members[i].1 > 0)
            .max_by_key(|&i| picks.wrapping_sub(self.chosen_at[i]))?;
        Some(members[i].0)
    }
}

/// The cost of a real for `fastest` (`qos`: with its loss), before it is divided by the
/// weight: time to first byte (at least [`FLOOR_US`]; 0 for a real never measured, so
/// that it is tried) × (requests in flight + 1), the time × `(1 + LOSS_PENALTY × loss)`
/// for `qos`.
fn response_cost(l: RealLoad, qos: bool) -> u64 {
    if l.samples == 0 {
        return 0;
    }
    let time = u64::from(l.ttfb_us).max(FLOOR_US);
    let quality = if qos {
        u64::from(LOSS_ONE) + LOSS_PENALTY * u64::from(l.loss_ppm)
    } else {
        u64::from(LOSS_ONE)
    };
    // At most 2^32 µs × 1.1 × 10^7 before the factor of load: saturates only past
    // hundreds of thousands of requests in flight on a real answering in seconds.
    (time * quality).saturating_mul(u64::from(l.in_flight) + 1)
}

#[cfg(test)]
mod tests;
