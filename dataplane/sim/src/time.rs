//! Simulated time.
//!
//! One tick is [`TICK_MICROS`] microseconds. The hosts see it as a smoltcp
//! [`Instant`]; the device under test sees it in the pipeline's `now` units, which the
//! simulation fixes to nanoseconds (the DPDK worker uses TSC cycles; the pipeline only
//! needs a monotonic clock that agrees with its [`NeighbourSettings`]).
//!
//! A tick is short enough that a TCP round trip over a lossless link takes a handful of
//! them (smoltcp's minimum retransmission timeout is 10 ms = 100 ticks), and long enough
//! that seconds of protocol time cost tens of thousands of steps, not millions.
//!
//! [`NeighbourSettings`]: splicer_pipeline::presence::neighbour::NeighbourSettings

use smoltcp::time::Instant;

/// Length of one tick in microseconds.
pub const TICK_MICROS: u64 = 100;

/// Pipeline `now` units per tick (the simulation's pipeline clock is in nanoseconds).
pub const PIPELINE_UNITS_PER_TICK: u64 = TICK_MICROS * 1000;

/// Pipeline `now` units per millisecond, for building timer settings.
pub const PIPELINE_UNITS_PER_MS: u64 = 1_000_000;

/// Ticks per millisecond.
pub const TICKS_PER_MS: u64 = 1000 / TICK_MICROS;

/// The smoltcp timestamp of `tick`.
pub fn smoltcp_instant(tick: u64) -> Instant {
    Instant::from_micros((tick * TICK_MICROS) as i64)
}

/// The pipeline's `now` at `tick`.
pub const fn pipeline_now(tick: u64) -> u64 {
    tick * PIPELINE_UNITS_PER_TICK
}

/// `ms` milliseconds in pipeline `now` units.
pub const fn pipeline_ms(ms: u64) -> u64 {
    ms * PIPELINE_UNITS_PER_MS
}

/// `ms` milliseconds in ticks.
pub const fn ticks_from_ms(ms: u64) -> u64 {
    ms * TICKS_PER_MS
}

/// `ticks` in milliseconds, rounded down.
pub const fn ms_from_ticks(ticks: u64) -> u64 {
    ticks / TICKS_PER_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_clocks_agree_on_a_tick() {
        let tick = 12_345;
        let smol = smoltcp_instant(tick).total_micros() as u64;
        assert_eq!(smol * 1000, pipeline_now(tick));
        assert_eq!(ticks_from_ms(10), 100);
        assert_eq!(ms_from_ticks(ticks_from_ms(7)), 7);
        assert_eq!(pipeline_now(ticks_from_ms(3)), pipeline_ms(3));
    }
}
