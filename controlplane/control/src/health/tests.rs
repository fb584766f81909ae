//! The health state machine: rise and fall, ejection growth and its bound, slow start.

use super::*;
use splicer_pipeline::balance::{Predictor, Real, VirtualPolicy};
use std::net::SocketAddrV4;

const POLICY: Policy = Policy {
    ejection: Duration::from_secs(30),
    max_ejection: Duration::from_secs(300),
    max_percent: 50,
};

/// `n` reals, all in one virtual's bind list.
fn farm(n: u16) -> Farm {
    Farm {
        reals: (0..n)
            .map(|i| {
                let a = SocketAddrV4::new([198, 19, 0, 10 + i as u8].into(), 80);
                Real::new(format!("s{i}"), a, 1, 1, 1)
            })
            .collect(),
        virtuals: vec![VirtualPolicy::splice(
            "www",
            Predictor::RoundRobin,
            vec![],
            (0..n).collect(),
        )],
        urls: Vec::new(),
    }
}

fn board(n: u16, setup: RealSetup) -> Board {
    let mut b = Board::default();
    b.configure(&farm(n), &vec![setup; usize::from(n)], 0);
    b
}

const CHECKED: RealSetup = RealSetup {
    rise_fall: Some((2, 3)),
    slowstart: Duration::ZERO,
};

fn fail(b: &mut Board, id: RealId, now: u64) {
    b.on_event(
        HealthEvent::CheckFailed(id, CheckFailure::Status(500)),
        &POLICY,
        now,
    );
}

fn pass(b: &mut Board, id: RealId, now: u64) {
    b.on_event(HealthEvent::CheckPassed(id), &POLICY, now);
}

#[test]
fn fall_takes_a_real_down_and_rise_brings_it_back() {
    let mut b = board(2, CHECKED);
    assert!(b.tick(0).is_empty(), "every real starts up, silently");
    fail(&mut b, 0, 1000);
    fail(&mut b, 0, 2000);
    // A pass in between starts the count again.
    pass(&mut b, 0, 3000);
    fail(&mut b, 0, 4000);
    fail(&mut b, 0, 5000);
    assert!(b.health(0, 5000).up);
    assert!(b.tick(5000).is_empty());
    fail(&mut b, 0, 6000);
    assert_eq!(b.health(0, 6000), Health { up: false, ramp: 0 });
    assert_eq!(b.tick(6000), vec![(0, State::Up, State::Down)]);
    assert_eq!(
        b.change_line(0, State::Up, State::Down),
        "health: real s0 UP -> DOWN: 3 checks failed, last: status 500"
    );
    // Logged once: the next tick has nothing.
    assert!(b.tick(7000).is_empty());
    assert_eq!(b.shown(0).since, 6000);
    // The other real is untouched.
    assert!(b.health(1, 6000).up);
    pass(&mut b, 0, 8000);
    assert!(!b.health(0, 8000).up);
    pass(&mut b, 0, 10_000);
    assert_eq!(b.health(0, 10_000), Health::UP);
    assert_eq!(b.tick(10_000), vec![(0, State::Down, State::Up)]);
    assert_eq!(b.shown(0).reason, "2 checks passed");
}

#[test]
fn a_real_without_a_check_ignores_check_events_and_comes_up_if_its_check_goes() {
    let mut b = board(1, RealSetup::default());
    for t in 0..5 {
        fail(&mut b, 0, t);
    }
    assert!(b.health(0, 5).up);
    let mut b = board(1, CHECKED);
    for t in 0..3 {
        fail(&mut b, 0, t);
    }
    assert!(!b.health(0, 3).up);
    b.configure(&farm(1), &[RealSetup::default()], 4);
    assert!(b.health(0, 4).up);
}

#[test]
fn ejections_grow_and_are_capped() {
    let mut b = board(4, RealSetup::default());
    let out = |b: &mut Board, now| b.on_event(HealthEvent::Outlier(1, 5), &POLICY, now);
    out(&mut b, 0);
    assert_eq!(b.tick(0), vec![(1, State::Up, State::Ejected)]);
    assert!(!b.health(1, 0).up);
    // Another report while ejected changes nothing.
    out(&mut b, 10_000);
    assert!(b.tick(29_999).is_empty());
    assert_eq!(b.tick(30_000), vec![(1, State::Ejected, State::Up)]);
    assert!(b.health(1, 30_000).up);
    // Ejected again soon: twice as long, then three times, ... capped at 300 s.
    let mut t = 30_000;
    for n in 2..=12u64 {
        out(&mut b, t);
        let length = (30_000 * n).min(300_000);
        assert!(!b.health(1, t + length - 1).up);
        b.tick(t + length - 1);
        assert!(b.shown(1).reason.contains(&format!("ejection {n} ")), "{n}");
        b.tick(t + length);
        assert!(b.health(1, t + length).up, "{n}");
        t += length + 1000;
    }
    // In for `max_ejection` since: the next ejection is a first again.
    t += 300_000;
    out(&mut b, t);
    b.tick(t);
    assert!(
        b.shown(1).reason.ends_with("ejection 1 for 30s"),
        "{}",
        b.shown(1).reason
    );
}

#[test]
fn at_most_max_ejection_percent_of_a_set_is_ejected() {
    // 50 % of 3 reals, rounded down: one at a time.
    let mut b = board(3, RealSetup::default());
    b.on_event(HealthEvent::Outlier(0, 5), &POLICY, 0);
    b.on_event(HealthEvent::Outlier(2, 5), &POLICY, 0);
    assert!(!b.health(0, 0).up);
    assert!(b.health(2, 0).up);
    assert_eq!(b.shown(2).reason, "ejection refused: max_ejection_percent");
    // Once the first is back, the second may go.
    b.tick(30_000);
    b.on_event(HealthEvent::Outlier(2, 5), &POLICY, 30_000);
    assert!(!b.health(2, 30_000).up);
    // A real alone in a set is never ejected at 50 %; at 100 % it is.
    let mut b = board(1, RealSetup::default());
    b.on_event(HealthEvent::Outlier(0, 5), &POLICY, 0);
    assert!(b.health(0, 0).up);
    let all = Policy {
        max_percent: 100,
        ..POLICY
    };
    b.on_event(HealthEvent::Outlier(0, 5), &all, 0);
    assert!(!b.health(0, 0).up);
    // 0 % ejects nothing.
    let mut b = board(4, RealSetup::default());
    let none = Policy {
        max_percent: 0,
        ..POLICY
    };
    b.on_event(HealthEvent::Outlier(0, 5), &none, 0);
    assert!(b.health(0, 0).up);
}

#[test]
fn slow_start_ramps_the_weight_after_recovery() {
    let setup = RealSetup {
        rise_fall: Some((1, 1)),
        slowstart: Duration::from_secs(10),
    };
    let mut b = board(2, setup);
    // At start-up a real is at full weight at once.
    assert_eq!(b.health(0, 0), Health::UP);
    fail(&mut b, 0, 1000);
    b.tick(1000);
    pass(&mut b, 0, 2000);
    assert_eq!(b.tick(2000), vec![(0, State::Down, State::SlowStart)]);
    // From nearly nothing, in steps of 5 %, to all of it after 10 s.
    assert_eq!(b.health(0, 2000), Health { up: true, ramp: 1 });
    assert_eq!(b.health(0, 2499).ramp, 1);
    assert_eq!(b.health(0, 2500).ramp, 50);
    assert_eq!(b.health(0, 4500).ramp, 250);
    assert_eq!(b.health(0, 7000).ramp, 500);
    assert_eq!(b.health(0, 11_999).ramp, 950);
    assert!(b.tick(11_999).is_empty());
    assert_eq!(b.health(0, 12_000), Health::UP);
    assert_eq!(b.tick(12_000), vec![(0, State::SlowStart, State::Up)]);
    assert_eq!(b.shown(0).reason, "slow start over");
    // After an ejection too.
    let all = Policy {
        max_percent: 100,
        ..POLICY
    };
    b.on_event(HealthEvent::Outlier(1, 5), &all, 20_000);
    b.tick(20_000);
    assert_eq!(b.tick(50_000), vec![(1, State::Ejected, State::SlowStart)]);
    assert_eq!(b.health(1, 55_000).ramp, 500);
    // The farm gets it.
    let mut f = farm(2);
    b.apply(&mut f, 55_000);
    assert_eq!(f.reals[1].health.ramp, 500);
    assert_eq!(f.reals[0].health, Health::UP);
}

#[test]
fn passing_checks_end_an_ejection_and_a_down_real_is_not_ejected() {
    let all = Policy {
        max_percent: 100,
        ..POLICY
    };
    let mut b = board(2, CHECKED);
    b.on_event(HealthEvent::Outlier(0, 5), &all, 0);
    assert_eq!(b.tick(0), vec![(0, State::Up, State::Ejected)]);
    pass(&mut b, 0, 1000);
    assert!(!b.health(0, 1000).up, "one check is not rise");
    pass(&mut b, 0, 1500);
    assert!(b.health(0, 1500).up);
    assert_eq!(b.tick(1500), vec![(0, State::Ejected, State::Up)]);
    assert_eq!(b.shown(0).reason, "2 checks passed: ejection ended");
    // Down by its checks: outliers reported meanwhile do not eject it.
    for t in 0..3 {
        fail(&mut b, 1, 2000 + t);
    }
    b.on_event(HealthEvent::Outlier(1, 5), &all, 2010);
    assert_eq!(b.tick(2010), vec![(1, State::Up, State::Down)]);
    pass(&mut b, 1, 3000);
    pass(&mut b, 1, 3500);
    assert_eq!(b.tick(3500), vec![(1, State::Down, State::Up)]);
}
