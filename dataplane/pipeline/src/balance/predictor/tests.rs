use super::*;
use crate::balance::load::{Measure, NoLoads};
use crate::balance::maglev::mix;

/// Loads with `in_flight` and time to first byte per real, all measured, no loss.
fn loads(in_flight: &[u32], ttfb_us: &[u32]) -> Vec<RealLoad> {
    in_flight
        .iter()
        .zip(ttfb_us)
        .map(|(&i, &t)| RealLoad {
            in_flight: i,
            ttfb_us: t,
            total_us: t,
            loss_ppm: 0,
            samples: 10,
        })
        .collect()
}

fn idle() -> Inputs<'static> {
    Inputs {
        loads: &NoLoads,
        hash: 0,
    }
}

/// `n` choices of `p` over `set` with fixed `weights` (indexed by real) and `loads`,
/// counted per real.
fn counts(p: Predictor, set: &[RealId], weights: &[u16], l: &[RealLoad], n: usize) -> Vec<usize> {
    let mut s = PredictorState::default();
    let mut c = vec![0; weights.len()];
    let l = l.to_vec();
    let inputs = Inputs { loads: &l, hash: 0 };
    for _ in 0..n {
        let r = s
            .choose(p, set, |r| weights[usize::from(r)], &inputs)
            .unwrap();
        c[usize::from(r)] += 1;
    }
    c
}

#[test]
fn round_robin_follows_weights_smoothly() {
    for p in [Predictor::RoundRobin, Predictor::Weighted] {
        let mut s = PredictorState::default();
        let set = [0, 1, 2];
        let weights = [5u16, 1, 1];
        let picks: Vec<RealId> = (0..7)
            .map(|_| s.choose(p, &set, |r| weights[r as usize], &idle()).unwrap())
            .collect();
        assert_eq!(picks.iter().filter(|&&r| r == 0).count(), 5);
        // Smooth: the heavy real never gets more than three in a row.
        assert!(!picks.windows(4).any(|w| w.iter().all(|&r| r == 0)));
    }
}

#[test]
fn equal_weights_rotate_and_zero_is_skipped() {
    let mut s = PredictorState::default();
    let set = [3, 4, 5];
    let rr = Predictor::RoundRobin;
    let picks: Vec<RealId> = (0..6)
        .map(|_| s.choose(rr, &set, |_| 1, &idle()).unwrap())
        .collect();
    assert_eq!(picks, vec![3, 4, 5, 3, 4, 5]);
    let picks: Vec<RealId> = (0..4)
        .map(|_| s.choose(rr, &set, |r| u16::from(r != 4), &idle()).unwrap())
        .collect();
    assert!(picks.iter().all(|&r| r != 4));
    for &p in Predictor::ALL {
        assert_eq!(s.choose(p, &set, |_| 0, &idle()), None, "{p:?}");
        assert_eq!(s.choose(p, &[], |_| 1, &idle()), None, "{p:?}");
    }
}

#[test]
fn names_round_trip() {
    assert_eq!(Predictor::ALL.len(), Predictor::NAMES.len());
    for (&p, &n) in Predictor::ALL.iter().zip(Predictor::NAMES) {
        assert_eq!(p.name(), n);
        assert_eq!(Predictor::from_name(n), Some(p));
    }
    assert_eq!(Predictor::from_name("random"), None);
}

#[test]
fn leastconns_follows_in_flight_relative_to_weight() {
    let set = [0, 1, 2];
    let l = loads(&[5, 0, 2], &[0; 3]);
    assert_eq!(
        counts(Predictor::LeastConns, &set, &[1, 1, 1], &l, 5),
        vec![0, 5, 0]
    );
    // 4 in flight on weight 8 is less loaded than 1 on weight 1.
    let l = loads(&[4, 1, 9], &[0; 3]);
    assert_eq!(
        counts(Predictor::LeastConns, &set, &[8, 1, 1], &l, 4),
        vec![4, 0, 0]
    );
    // Ties (no load) go by weight, smoothly.
    let l = loads(&[0, 0, 0], &[0; 3]);
    assert_eq!(
        counts(Predictor::LeastConns, &set, &[3, 2, 1], &l, 600),
        vec![300, 200, 100]
    );
    // An excluded real is never chosen, however idle.
    let l = loads(&[3, 0, 3], &[0; 3]);
    assert_eq!(
        counts(Predictor::LeastConns, &set, &[1, 0, 1], &l, 10)[1],
        0
    );
}

#[test]
fn leastconns_balances_a_simulated_load() {
    // Requests arrive one per tick; real r holds each for `hold[r]` ticks. The slow
    // real ends up with fewer requests, in proportion to its speed.
    let hold = [2u32, 2, 20];
    let mut in_flight: Vec<Vec<u32>> = vec![Vec::new(); 3];
    let mut s = PredictorState::default();
    let mut c = [0usize; 3];
    for t in 0..3000u32 {
        for (r, q) in in_flight.iter_mut().enumerate() {
            q.retain(|&end| end > t);
            let _ = r;
        }
        let l: Vec<RealLoad> = in_flight
            .iter()
            .map(|q| RealLoad {
                in_flight: q.len() as u32,
                ..Default::default()
            })
            .collect();
        let inputs = Inputs { loads: &l, hash: 0 };
        let r = s
            .choose(Predictor::LeastConns, &[0, 1, 2], |_| 1, &inputs)
            .unwrap();
        in_flight[usize::from(r)].push(t + hold[usize::from(r)]);
        c[usize::from(r)] += 1;
    }
    assert!(c[2] * 5 < c[0] && c[2] * 5 < c[1], "{c:?}");
}

#[test]
fn fastest_prefers_the_fast_real_and_probes_the_slow_one() {
    let set = [0, 1, 2];
    let l = loads(&[0, 0, 0], &[1_000, 80_000, 1_200]);
    let c = counts(Predictor::Fastest, &set, &[1, 1, 1], &l, 3200);
    // Probes: one choice in 32, to the real chosen least recently (1 or 2 here).
    let probes = 3200 / PROBE_EVERY as usize;
    assert!(c[1] >= probes / 3 && c[1] <= probes, "{c:?}");
    assert!(c[0] > c[2], "{c:?}");
    // In flight counts: a busy fast real makes room for the other fast one.
    let l = loads(&[3, 0, 0], &[1_000, 80_000, 1_200]);
    let c = counts(Predictor::Fastest, &set, &[1, 1, 1], &l, 31);
    assert_eq!(c, vec![0, 0, 31]);
    // A real never measured is tried first.
    let mut l = loads(&[0, 0, 0], &[1_000, 80_000, 1_200]);
    l[1].samples = 0;
    assert_eq!(
        counts(Predictor::Fastest, &set, &[1, 1, 1], &l, 1),
        vec![0, 1, 0]
    );
}

#[test]
fn fastest_lets_a_slow_real_recover() {
    // Feedback loop: the chosen real's time is measured after each choice. Real 1 is
    // slow for the first 2000 requests, then the fastest.
    let mut m = [Measure::default(); 3];
    let mut s = PredictorState::default();
    let mut late = [0usize; 3];
    let mut early = [0usize; 3];
    for n in 0..4000 {
        let l: Vec<RealLoad> = m.iter().map(|x| x.load(0)).collect();
        let inputs = Inputs { loads: &l, hash: 0 };
        let r = usize::from(
            s.choose(Predictor::Fastest, &[0, 1, 2], |_| 1, &inputs)
                .unwrap(),
        );
        let time = match (r, n < 2000) {
            (1, true) => 90_000,
            (1, false) => 1_500,
            _ => 2_000 + 10 * r as u32,
        };
        m[r].first_byte(time);
        m[r].response_end(time, false);
        if n < 2000 {
            early[r] += 1;
        } else if n >= 3000 {
            late[r] += 1;
        }
    }
    assert!(early[1] < 2000 / 20, "slow real served {early:?}");
    assert!(
        late[1] > 1000 / 2,
        "the recovered real is used again: {late:?}"
    );
}

#[test]
fn qos_penalises_loss() {
    let set = [0, 1];
    let mut l = loads(&[0, 0], &[2_000, 2_000]);
    l[0].loss_ppm = LOSS_ONE / 5;
    let c = counts(Predictor::Qos, &set, &[1, 1], &l, 64);
    assert_eq!(c[0], 64 / PROBE_EVERY as usize, "only the probes: {c:?}");
    // Fastest does not see loss: it shares the two equally.
    assert_eq!(
        counts(Predictor::Fastest, &set, &[1, 1], &l, 64),
        vec![32, 32]
    );
    // Loss weighs as documented: 20 % loss (cost × 3) is worse than 2.5 times slower…
    l[1].ttfb_us = 5_000;
    assert_eq!(counts(Predictor::Qos, &set, &[1, 1], &l, 31), vec![0, 31]);
    // …and better than 4 times slower.
    l[1].ttfb_us = 8_000;
    assert_eq!(counts(Predictor::Qos, &set, &[1, 1], &l, 31), vec![31, 0]);
}

#[test]
fn load_aware_predictors_fall_back_to_weights_without_measurements() {
    for p in [Predictor::LeastConns, Predictor::Fastest, Predictor::Qos] {
        let mut s = PredictorState::default();
        let mut c = [0; 2];
        for _ in 0..30 {
            let r = s
                .choose(p, &[0, 1], |r| [2, 1][usize::from(r)], &idle())
                .unwrap();
            c[usize::from(r)] += 1;
        }
        assert_eq!(c, [20, 10], "{p:?}");
    }
}

#[test]
fn maglev_keeps_a_key_on_one_real_and_moves_few_when_one_leaves() {
    let set: Vec<RealId> = (0..8).collect();
    let mut s = PredictorState::default();
    let l = loads(&[0; 8], &[0; 8]);
    let mut pick = |key: u64, out: Option<RealId>| {
        let inputs = Inputs {
            loads: &l,
            hash: mix(key),
        };
        s.choose(
            Predictor::Maglev,
            &set,
            |r| u16::from(Some(r) != out),
            &inputs,
        )
        .unwrap()
    };
    let before: Vec<RealId> = (0..50_000).map(|k| pick(k, None)).collect();
    assert_eq!(
        before,
        (0..50_000).map(|k| pick(k, None)).collect::<Vec<_>>()
    );
    let mut c = [0usize; 8];
    before.iter().for_each(|&r| c[usize::from(r)] += 1);
    assert!(c.iter().all(|&n| n > 50_000 / 8 * 9 / 10), "{c:?}");
    let after: Vec<RealId> = (0..50_000).map(|k| pick(k, Some(3))).collect();
    let moved = before.iter().zip(&after).filter(|(a, b)| a != b).count() as f64 / 50_000.0;
    assert!(moved <= 1.0 / 8.0 + 0.01, "{moved}");
    assert!(!after.contains(&3));
    // Only the keys of the real that left moved.
    let strays = before
        .iter()
        .zip(&after)
        .filter(|(a, b)| a != b && **a != 3)
        .count();
    assert!(strays as f64 / 50_000.0 <= 0.01, "{strays}");
}
