//! The token bucket that bounds the strays a worker sends on (`cluster.stray_rate`).
//!
//! Every stray from a client is copied to each live peer, so a flood of forged segments
//! to a virtual (random ACKs: each one matches no connection) would otherwise come out
//! (live peers) times over onto the shared segment and into every peer's workers. The
//! bucket holds one second's worth, so a router change that moves many connections at
//! once passes whole; beyond the rate a stray is dropped, never reset (its owner may
//! live, and TCP sends it again).

/// A token bucket of `rate` strays per second holding at most `rate` tokens, kept in
/// units of one tick's refill (`rate` units accrue per tick, a stray costs one second
/// of ticks) so that any rate and any clock are exact in integers.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct StrayBudget {
    /// The credit, in tick-rate units; `None` before the first stray (a full bucket).
    credit: Option<u64>,
    /// When `credit` was last brought up to date.
    at: u64,
}

impl StrayBudget {
    /// Takes one token at `now` (ticks of a clock of `ticks_per_sec`), if there is one.
    pub(crate) fn take(&mut self, rate: u64, ticks_per_sec: u64, now: u64) -> bool {
        let cost = ticks_per_sec.max(1);
        let full = cost.saturating_mul(rate);
        let credit = match self.credit {
            None => full,
            Some(c) => {
                let accrued = now.saturating_sub(self.at).saturating_mul(rate);
                c.saturating_add(accrued).min(full)
            }
        };
        self.at = self.at.max(now);
        let ok = credit >= cost;
        self.credit = Some(if ok { credit - cost } else { credit });
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000;

    fn taken(b: &mut StrayBudget, rate: u64, n: u64, now: u64) -> u64 {
        (0..n).filter(|_| b.take(rate, SEC, now)).count() as u64
    }

    #[test]
    fn a_full_second_passes_at_once_then_the_rate() {
        let mut b = StrayBudget::default();
        assert_eq!(taken(&mut b, 1000, 1500, 0), 1000, "one second's worth");
        assert_eq!(taken(&mut b, 1000, 1000, SEC / 2 - 1), 499);
        assert_eq!(taken(&mut b, 1000, 10, SEC / 2), 1);
        // Idle for long: full again, never more.
        assert_eq!(taken(&mut b, 1000, 5000, 100 * SEC), 1000);
    }

    #[test]
    fn sustained_over_the_rate_only_the_rate_passes() {
        let mut b = StrayBudget::default();
        let mut passed = 0;
        // 10 strays every millisecond (10,000/s) for 10 s against 2,000/s.
        for ms in 0..10_000u64 {
            passed += taken(&mut b, 2000, 10, ms * SEC / 1000);
        }
        assert_eq!(passed, 2000 + 2000 * 9_999 / 1000);
    }

    #[test]
    fn a_clock_that_goes_back_or_a_huge_gap_does_not_overflow() {
        let mut b = StrayBudget::default();
        assert!(b.take(100_000_000, 3_000_000_000, u64::MAX - 5));
        assert!(b.take(100_000_000, 3_000_000_000, 10));
        assert!(b.take(1, 3_000_000_000, u64::MAX));
    }
}
