//! What the workers know of a real's health, and what they tell the control core.
//!
//! The control core runs the health state machine (rise/fall of active checks, passive
//! outlier ejection, slow start) and publishes its outcome on every [`super::Real`] of
//! the farm it sends ([`Health`]): a real that is not `up` is not admissible for new
//! requests, and a real in slow start takes a share of its weight. The workers run the
//! active checks of the reals assigned to them ([`Check`], [`Real::checked_by`]) and
//! count consecutive errors per real; both come back as [`HealthEvent`]s.

use super::{Real, RealId};

/// What an active check of a real does (the `check` table of a `[[real]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The bytes sent once the connection is open: `GET <path> HTTP/1.1` with `Host`
    /// and `Connection: close` for an HTTP check; empty for a TCP check, which passes
    /// on the handshake alone.
    pub request: Vec<u8>,
    /// Time between the starts of two checks, in milliseconds.
    pub interval_ms: u32,
    /// Time a check may take, connection and answer, in milliseconds.
    pub timeout_ms: u32,
    /// Which status lines pass an HTTP check.
    pub expect: Expect,
}

/// The status an HTTP check expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Exactly this code.
    Status(u16),
    /// Any code of this class: 2 for `2xx`.
    Class(u8),
}

impl Expect {
    /// Whether `status` passes.
    pub fn accepts(self, status: u16) -> bool {
        match self {
            Expect::Status(s) => s == status,
            Expect::Class(c) => status / 100 == u16::from(c),
        }
    }
}

/// A real's health as the control core last published it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Health {
    /// Takes new requests: not down by its checks, not ejected.
    pub up: bool,
    /// Share of its weight it takes now, in thousandths: below 1000 during slow start.
    pub ramp: u16,
}

impl Health {
    /// Up, at full weight.
    pub const UP: Health = Health {
        up: true,
        ramp: FULL_RAMP,
    };
}

impl Default for Health {
    fn default() -> Self {
        Health::UP
    }
}

/// [`Health::ramp`] of a real at full weight.
pub const FULL_RAMP: u16 = 1000;

/// Weights are scaled by this inside a set, so that a real in slow start can take a
/// fraction of a weight of 1 (a weight is at most 1000: 64,000 fits a `u16`).
pub const WEIGHT_SCALE: u16 = 64;

impl Real {
    /// The weight the predictor gives it among the others of a set, scaled by
    /// [`WEIGHT_SCALE`]: 0 while it is not up, a share of its weight during slow start
    /// (at least 1, so that the ramp starts at once).
    pub fn balanced_weight(&self) -> u16 {
        if !self.health.up || self.weight == 0 {
            return 0;
        }
        let full = u32::from(self.weight.min(1000)) * u32::from(WEIGHT_SCALE);
        let ramp = u32::from(self.health.ramp.min(FULL_RAMP));
        (full * ramp / u32::from(FULL_RAMP)).max(1) as u16
    }

    /// The worker that runs the active checks of real `id` among `workers`: each real
    /// is checked by one worker, and the reals are spread over them.
    pub fn checked_by(id: RealId, workers: usize) -> usize {
        usize::from(id) % workers.max(1)
    }
}

/// Why an active check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckFailure {
    /// The real refused the connection (RST to the SYN) or reset it.
    Refused,
    /// No connection, or no answer, within the check's timeout.
    Timeout,
    /// The answer's status is not the one expected.
    Status(u16),
    /// The answer is not an HTTP response, or the real closed before its status line.
    BadResponse,
    /// The check could not start (no route, flow table full, no local port).
    NotSent,
}

/// What a worker tells the control core about a real.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthEvent {
    /// An active check passed.
    CheckPassed(RealId),
    /// An active check failed.
    CheckFailed(RealId, CheckFailure),
    /// Requests to the real failed this many times in a row on this worker (5xx
    /// responses, failed connection opens, timeouts): a passive outlier.
    Outlier(RealId, u32),
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddrV4;

    fn real(weight: u16) -> Real {
        Real::new(
            "s",
            SocketAddrV4::new([198, 19, 0, 1].into(), 80),
            weight,
            1,
            1,
        )
    }

    #[test]
    fn expect_matches_a_code_or_a_class() {
        assert!(Expect::Status(200).accepts(200));
        assert!(!Expect::Status(200).accepts(204));
        assert!(Expect::Class(2).accepts(204));
        assert!(!Expect::Class(2).accepts(302));
        assert!(Expect::Class(3).accepts(302));
    }

    #[test]
    fn balanced_weight_follows_health_and_ramp() {
        let mut r = real(3);
        assert_eq!(r.balanced_weight(), 3 * WEIGHT_SCALE);
        r.health = Health {
            up: true,
            ramp: 500,
        };
        assert_eq!(r.balanced_weight(), 3 * WEIGHT_SCALE / 2);
        // The ramp starts above nothing, even for a weight of 1.
        r.weight = 1;
        r.health.ramp = 1;
        assert_eq!(r.balanced_weight(), 1);
        r.health.up = false;
        assert_eq!(r.balanced_weight(), 0);
        r.health = Health::UP;
        r.weight = 0;
        assert_eq!(r.balanced_weight(), 0);
        r.weight = 1000;
        assert_eq!(r.balanced_weight(), 64_000);
    }

    #[test]
    fn checks_are_spread_over_the_workers() {
        assert_eq!(Real::checked_by(0, 2), 0);
        assert_eq!(Real::checked_by(3, 2), 1);
        assert_eq!(Real::checked_by(7, 1), 0);
        assert_eq!(Real::checked_by(7, 0), 0);
    }
}
