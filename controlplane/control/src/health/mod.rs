//! The health of the reals: the state machine the control core runs on what the
//! workers report, and what it publishes back to them.
//!
//! * **Active checks** (a real's `check`, run by one worker each): `fall` failed checks
//!   in a row take an up real DOWN, `rise` passed checks in a row bring it back (HAProxy's
//!   `check rise fall`). A real starts up.
//! * **Passive outlier ejection** (Envoy's outlier detection): a worker that sees
//!   `outlier_errors` failed requests in a row to a real (5xx, failed opens, lost
//!   requests) reports it; the real is EJECTED for `outlier_ejection` × the number of
//!   its ejections in a row, at most `outlier_max_ejection`. A real that stays in for
//!   `outlier_max_ejection` after its last ejection starts again from one. An ejection
//!   is refused when it would leave more than `max_ejection_percent` of the reals of a
//!   set (a virtual's bind list, a rule's members) ejected at once, rounded down. A
//!   real down by its checks is not ejected; `rise` checks passed in a row end an
//!   ejection (Envoy's `successful_active_health_check_uneject_host`).
//! * **Slow start** (a real's `slowstart`): a real that comes back (from DOWN or
//!   EJECTED) takes a share of its weight growing from 1/1000 to all of it over
//!   `slowstart`, published in steps of 5 %.
//!
//! The state a real shows is DOWN when its checks say so, else EJECTED while ejected,
//! else SLOWSTART during the ramp, else UP; each change is logged once, with its reason.
//! The admin state of the shell (`state`) applies on top: a real in `maintenance` or
//! `failed` (or removed) is not checked and keeps the health it had; an `oos` or
//! `sticky` real is checked (its health is known when it comes back) but takes no new
//! requests whatever its health.

use splicer_pipeline::balance::health::FULL_RAMP;
use splicer_pipeline::balance::{CheckFailure, Farm, Health, HealthEvent, Mode, RealId};
use std::fmt;
use std::time::Duration;

/// The published ramp moves in steps of this many thousandths, so that a slow start
/// sends the workers at most 20 new farms.
const RAMP_STEP: u16 = 50;

/// What a real's health is, as shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Takes requests at its full weight.
    Up,
    /// Its active checks fail.
    Down,
    /// Ejected as a passive outlier, until its time is up.
    Ejected,
    /// Back, its weight ramping up.
    SlowStart,
}

impl State {
    /// The name `show real` and the log use.
    pub(crate) fn name(self) -> &'static str {
        match self {
            State::Up => "UP",
            State::Down => "DOWN",
            State::Ejected => "EJECTED",
            State::SlowStart => "SLOWSTART",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The passive-ejection policy (`[dataplane]`'s `outlier_*` and `max_ejection_percent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Policy {
    /// The first ejection's length.
    pub(crate) ejection: Duration,
    /// The longest ejection.
    pub(crate) max_ejection: Duration,
    /// Most of a set's reals ejected at once, in percent.
    pub(crate) max_percent: u16,
}

/// What the board knows of one real's configuration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RealSetup {
    /// Checks in a row that bring it up, take it down; `None` without an active check.
    pub(crate) rise_fall: Option<(u16, u16)>,
    /// Its slow start, zero for none.
    pub(crate) slowstart: Duration,
}

/// One real's health.
#[derive(Debug, Clone, Default)]
struct RealHealth {
    setup: RealSetup,
    /// Down by its checks.
    down: bool,
    passed_in_row: u16,
    failed_in_row: u16,
    /// Ejected until then (ms on the board's clock).
    ejected_until: Option<u64>,
    /// Ejections in a row, and when the last one ended.
    ejections: u32,
    last_return: Option<u64>,
    /// Back (from down or ejected) at this time: the start of its slow start.
    back_at: Option<u64>,
    /// The state shown, why, and since when.
    shown: Option<State>,
    reason: String,
    since: u64,
}

/// A real's health as `show real` and the metrics show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shown {
    pub(crate) state: State,
    pub(crate) reason: String,
    /// Milliseconds on the board's clock since the state began.
    pub(crate) since: u64,
}

/// Every real's health, by [`RealId`].
#[derive(Debug, Default)]
pub(crate) struct Board {
    reals: Vec<RealHealth>,
    /// The sets of reals of the farm, for `max_ejection_percent`.
    sets: Vec<Vec<RealId>>,
    /// What the real's names are, for the log.
    names: Vec<String>,
}

impl Board {
    /// Takes the configuration of the reals (`setups[id]`) and the sets of `farm`.
    pub(crate) fn configure(&mut self, farm: &Farm, setups: &[RealSetup], now: u64) {
        if self.reals.len() < setups.len() {
            self.reals.resize_with(setups.len(), || RealHealth {
                since: now,
                ..RealHealth::default()
            });
        }
        for (r, &setup) in self.reals.iter_mut().zip(setups) {
            if setup.rise_fall.is_none() && r.down {
                // Its check was removed: nothing can bring it up but this.
                r.down = false;
                r.reason = "check removed".into();
            }
            r.setup = setup;
        }
        self.names = farm.reals.iter().map(|r| r.name.clone()).collect();
        self.sets = farm
            .virtuals
            .iter()
            .filter(|v| matches!(v.mode, Mode::Splice | Mode::Tcp | Mode::Handoff))
            .flat_map(|v| {
                std::iter::once(v.bind.clone()).chain(v.rules.iter().map(|r| r.members.clone()))
            })
            .filter(|s| !s.is_empty())
            .collect();
    }

    /// Takes one event from a worker at `now` (ms) under `policy`.
    pub(crate) fn on_event(&mut self, event: HealthEvent, policy: &Policy, now: u64) {
        match event {
            HealthEvent::CheckPassed(id) => {
                let Some(r) = self.reals.get_mut(usize::from(id)) else {
                    return;
                };
                let Some((rise, _)) = r.setup.rise_fall else {
                    return;
                };
                r.failed_in_row = 0;
                r.passed_in_row = r.passed_in_row.saturating_add(1);
                if r.passed_in_row < rise {
                    return;
                }
                if r.down {
                    r.down = false;
                    r.back_at = Some(now);
                    r.reason = format!("{} checks passed", r.passed_in_row);
                }
                // Checks that pass end an ejection (Envoy's
                // `successful_active_health_check_uneject_host`).
                if r.ejected_until.take().is_some() {
                    r.last_return = Some(now);
                    r.back_at = Some(now);
                    r.reason = format!("{} checks passed: ejection ended", r.passed_in_row);
                }
            }
            HealthEvent::CheckFailed(id, why) => {
                let Some(r) = self.reals.get_mut(usize::from(id)) else {
                    return;
                };
                let Some((_, fall)) = r.setup.rise_fall else {
                    return;
                };
                r.passed_in_row = 0;
                r.failed_in_row = r.failed_in_row.saturating_add(1);
                if !r.down && r.failed_in_row >= fall {
                    r.down = true;
                    r.back_at = None;
                    r.reason = format!("{} checks failed, last: {}", r.failed_in_row, failure(why));
                }
            }
            HealthEvent::Outlier(id, errors) => self.eject(id, errors, policy, now),
        }
    }

    /// Ejects real `id` unless it is ejected already or `max_ejection_percent` forbids.
    fn eject(&mut self, id: RealId, errors: u32, policy: &Policy, now: u64) {
        let i = usize::from(id);
        // Already out: ejected, or down by its checks (which bring it back).
        if self
            .reals
            .get(i)
            .is_none_or(|r| r.ejected_until.is_some() || r.down)
        {
            return;
        }
        let ejected = |r: RealId| {
            self.reals
                .get(usize::from(r))
                .is_some_and(|h| h.ejected_until.is_some())
        };
        let allowed = self.sets.iter().filter(|s| s.contains(&id)).all(|s| {
            let now_out = s.iter().filter(|&&r| ejected(r)).count();
            (now_out + 1) * 100 <= s.len() * usize::from(policy.max_percent)
        });
        let max_ms = policy.max_ejection.as_millis() as u64;
        let r = &mut self.reals[i];
        if !allowed {
            if r.reason != "ejection refused: max_ejection_percent" {
                tracing::warn!(
                    "health: real {}: {errors} failed requests in a row, not ejected: max_ejection_percent ({}%) of a set already out",
                    self.names.get(i).map_or("?", String::as_str),
                    policy.max_percent
                );
            }
            r.reason = "ejection refused: max_ejection_percent".into();
            return;
        }
        // A real that stayed in long enough since its last ejection starts afresh.
        if r.last_return.is_some_and(|t| now >= t + max_ms) {
            r.ejections = 0;
        }
        r.ejections = r.ejections.saturating_add(1);
        let length = (policy.ejection.as_millis() as u64)
            .saturating_mul(u64::from(r.ejections))
            .min(max_ms);
        r.ejected_until = Some(now + length);
        r.back_at = None;
        r.reason = format!(
            "{errors} failed requests in a row, ejection {} for {}",
            r.ejections,
            fmt_ms(length)
        );
    }

    /// Ends the ejections that are over, and returns what each real publishes now:
    /// `(id, health)` for every real, and the shown states that changed (to log).
    pub(crate) fn tick(&mut self, now: u64) -> Vec<(RealId, State, State)> {
        let mut changes = Vec::new();
        for (i, r) in self.reals.iter_mut().enumerate() {
            if r.ejected_until.is_some_and(|t| now >= t) {
                r.ejected_until = None;
                r.last_return = Some(now);
                r.back_at = Some(now);
                r.reason = "ejection over".into();
            }
            let state = shown_state(r, now);
            let before = r.shown.unwrap_or(State::Up);
            if r.shown != Some(state) {
                if state == State::Up && before == State::SlowStart {
                    r.reason = "slow start over".into();
                }
                if r.shown.is_some() || state != State::Up {
                    changes.push((i as RealId, before, state));
                }
                r.shown = Some(state);
                r.since = now;
            }
        }
        changes
    }

    /// Real `id`'s health for the workers at `now`.
    pub(crate) fn health(&self, id: RealId, now: u64) -> Health {
        let Some(r) = self.reals.get(usize::from(id)) else {
            return Health::UP;
        };
        if r.down || r.ejected_until.is_some() {
            return Health { up: false, ramp: 0 };
        }
        Health {
            up: true,
            ramp: ramp(r, now),
        }
    }

    /// Applies every real's health to `farm`.
    pub(crate) fn apply(&self, farm: &mut Farm, now: u64) {
        for (id, real) in farm.reals.iter_mut().enumerate() {
            real.health = self.health(id as RealId, now);
        }
    }

    /// Real `id`'s state, reason and since when, for `show real`.
    pub(crate) fn shown(&self, id: RealId) -> Shown {
        match self.reals.get(usize::from(id)) {
            Some(r) => Shown {
                state: r.shown.unwrap_or(State::Up),
                reason: r.reason.clone(),
                since: r.since,
            },
            None => Shown {
                state: State::Up,
                reason: String::new(),
                since: 0,
            },
        }
    }

    /// The line logged for a change of real `id`.
    pub(crate) fn change_line(&self, id: RealId, from: State, to: State) -> String {
        let i = usize::from(id);
        format!(
            "health: real {} {from} -> {to}: {}",
            self.names.get(i).map_or("?", String::as_str),
            self.reals.get(i).map_or("", |r| r.reason.as_str())
        )
    }
}

fn shown_state(r: &RealHealth, now: u64) -> State {
    if r.down {
        State::Down
    } else if r.ejected_until.is_some() {
        State::Ejected
    } else if ramp(r, now) < FULL_RAMP {
        State::SlowStart
    } else {
        State::Up
    }
}

/// The share of its weight a real that is up takes at `now`, in thousandths, in steps
/// of [`RAMP_STEP`] (at least 1).
fn ramp(r: &RealHealth, now: u64) -> u16 {
    let total = r.setup.slowstart.as_millis() as u64;
    let Some(back) = r.back_at.filter(|_| total > 0) else {
        return FULL_RAMP;
    };
    let elapsed = now.saturating_sub(back);
    if elapsed >= total {
        return FULL_RAMP;
    }
    let exact = (elapsed * u64::from(FULL_RAMP) / total) as u16;
    (exact / RAMP_STEP * RAMP_STEP).max(1)
}

fn failure(why: CheckFailure) -> String {
    match why {
        CheckFailure::Refused => "connection refused or reset".into(),
        CheckFailure::Timeout => "timeout".into(),
        CheckFailure::Status(s) => format!("status {s}"),
        CheckFailure::BadResponse => "not an HTTP response".into(),
        CheckFailure::NotSent => "could not be sent".into(),
    }
}

fn fmt_ms(ms: u64) -> String {
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

#[cfg(test)]
mod tests;
