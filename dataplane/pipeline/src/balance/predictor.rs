//! Predictors: how one real is chosen among the reals of a set.
//!
//! Every predictor works behind [`PredictorState::choose`], so that adding one (least
//! connections, response time, …) touches only this file and the configuration.

use super::RealId;

/// The predictors a virtual server can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Predictor {
    /// Weighted round robin, spread smoothly (nginx's algorithm): over any window of
    /// `sum(weights)` requests each real gets its weight's share, interleaved rather than
    /// in runs.
    #[default]
    RoundRobin,
}

impl Predictor {
    /// The configuration name of the predictor.
    pub fn name(self) -> &'static str {
        match self {
            Predictor::RoundRobin => "roundrobin",
        }
    }

    /// The predictor with configuration name `name`.
    pub fn from_name(name: &str) -> Option<Predictor> {
        match name {
            "roundrobin" => Some(Predictor::RoundRobin),
            _ => None,
        }
    }

    /// Every predictor's name, for error messages and completion.
    pub const NAMES: &'static [&'static str] = &["roundrobin"];
}

/// One worker's memory of past choices for one set of reals.
#[derive(Debug, Clone, Default)]
pub struct PredictorState {
    /// Smooth weighted round robin: the current weight of each member of the set.
    current: Vec<i64>,
}

impl PredictorState {
    /// Chooses among `set`, where `weight(real)` gives a real's weight and 0 means it
    /// must not be chosen (weight 0, out of service, or known to be failing). `None`
    /// when every real is excluded.
    pub fn choose(
        &mut self,
        predictor: Predictor,
        set: &[RealId],
        mut weight: impl FnMut(RealId) -> u16,
    ) -> Option<RealId> {
        match predictor {
            Predictor::RoundRobin => {
                if self.current.len() != set.len() {
                    self.current = vec![0; set.len()];
                }
                let mut total = 0i64;
                let mut best: Option<usize> = None;
                for (i, &r) in set.iter().enumerate() {
                    let w = i64::from(weight(r));
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
                Some(set[b])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_follows_weights_smoothly() {
        let mut s = PredictorState::default();
        let set = [0, 1, 2];
        let weights = [5u16, 1, 1];
        let picks: Vec<RealId> = (0..7)
            .map(|_| {
                s.choose(Predictor::RoundRobin, &set, |r| weights[r as usize])
                    .unwrap()
            })
            .collect();
        assert_eq!(picks.iter().filter(|&&r| r == 0).count(), 5);
        // Smooth: the heavy real never gets more than three in a row.
        assert!(!picks.windows(4).any(|w| w.iter().all(|&r| r == 0)));
    }

    #[test]
    fn equal_weights_rotate_and_zero_is_skipped() {
        let mut s = PredictorState::default();
        let set = [3, 4, 5];
        let picks: Vec<RealId> = (0..6)
            .map(|_| s.choose(Predictor::RoundRobin, &set, |_| 1).unwrap())
            .collect();
        assert_eq!(picks, vec![3, 4, 5, 3, 4, 5]);
        let picks: Vec<RealId> = (0..4)
            .map(|_| {
                s.choose(Predictor::RoundRobin, &set, |r| u16::from(r != 4))
                    .unwrap()
            })
            .collect();
        assert!(picks.iter().all(|&r| r != 4));
        assert_eq!(s.choose(Predictor::RoundRobin, &set, |_| 0), None);
        assert_eq!(s.choose(Predictor::RoundRobin, &[], |_| 1), None);
    }

    #[test]
    fn names_round_trip() {
        for &n in Predictor::NAMES {
            assert_eq!(Predictor::from_name(n).unwrap().name(), n);
        }
        assert_eq!(Predictor::from_name("leastconns"), None);
    }
}
