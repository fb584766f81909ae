//! What a worker knows about each real's load and quality: the input of the load-aware
//! predictors (`leastconns`, `fastest`, `qos`), after "Load balancing between web
//! servers" (seed 004: choose the server from its load and channel quality before the
//! request is committed to it).
//!
//! Each worker measures the reals through its own server connections and chooses by
//! its own view only: sharing the figures between workers would put a cross-core cache
//! line write on every request, and RSS spreads clients over the workers evenly enough
//! that each worker's sample of a real is representative. Figures are taken once per
//! request (when it is sent, when its response starts and ends), never per packet.

use super::RealId;

/// Weight of a new sample in the moving averages: 1/8 (the smoothing of TCP's SRTT,
/// RFC 6298), so that a real that turns slow is seen within a few requests.
pub const EWMA_SHIFT: u32 = 3;

/// Fixed-point one for the loss rate: parts per million.
pub const LOSS_ONE: u32 = 1_000_000;

/// One real's load and quality as a predictor sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RealLoad {
    /// Requests sent to the real (or waiting for one of its connections) whose
    /// responses have not ended.
    pub in_flight: u32,
    /// Moving average of request sent → first response byte, in microseconds.
    pub ttfb_us: u32,
    /// Moving average of request sent → last response byte, in microseconds.
    pub total_us: u32,
    /// Moving average of the share of requests whose server leg saw a retransmitted
    /// segment or a reset, in parts per million.
    pub loss_ppm: u32,
    /// Requests measured so far, answered or failed (0: nothing is known of the real
    /// yet).
    pub samples: u32,
}

/// Where a predictor reads the load of the reals it chooses among.
pub trait Loads {
    /// The load of `real`.
    fn load(&self, real: RealId) -> RealLoad;

    /// Whether the members are reals with measurements (false for the URLs of a
    /// redirect virtual: the load-aware predictors then fall back to weights).
    fn measured(&self) -> bool {
        true
    }
}

/// No measurements: what a redirect virtual's URLs have.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoLoads;

impl Loads for NoLoads {
    fn load(&self, _: RealId) -> RealLoad {
        RealLoad::default()
    }

    fn measured(&self) -> bool {
        false
    }
}

impl Loads for Vec<RealLoad> {
    fn load(&self, real: RealId) -> RealLoad {
        self.get(usize::from(real)).copied().unwrap_or_default()
    }
}

/// One worker's measurements of one real, updated once per request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Measure {
    /// Moving average of the time to the first response byte, in microseconds.
    pub ttfb_us: u32,
    /// Moving average of the time to the last response byte, in microseconds.
    pub total_us: u32,
    /// Moving average of lossy requests, in parts per million.
    pub loss_ppm: u32,
    /// Responses whose end was measured.
    pub samples: u32,
    /// First-byte samples taken.
    pub ttfb_samples: u32,
    /// Requests ended (complete or failed), for the requests/s figure.
    pub ended: u64,
    /// Time-to-last-byte samples, per [`BUCKETS_US`] bucket (the last: beyond them).
    pub histogram: [u64; BUCKETS_US.len() + 1],
    /// Sum of the time-to-last-byte samples, in microseconds.
    pub total_sum_us: u64,
}

/// Upper bounds of the response-time histogram buckets, in microseconds (the
/// Prometheus `le` values of `splicer_real_response_seconds`).
pub const BUCKETS_US: [u32; 12] = [
    500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000,
    2_500_000,
];

/// A response time `sample` into its average `avg`: as [`ewma`], but a sample below
/// half the average moves it halfway. A real the load-aware predictors avoid is only
/// measured by their probes (one choice in 32); once it has recovered, a few probes
/// must be enough to show it, where an eighth per probe would take dozens.
fn ewma_time(avg: u32, sample: u32, n: u32) -> u32 {
    if n > 0 && sample < avg / 2 {
        return avg - (avg - sample) / 2;
    }
    ewma(avg, sample, n)
}

/// `avg` moved towards `sample` by 1/2^[`EWMA_SHIFT`]; the first sample (`n == 0`) is
/// taken as it is.
fn ewma(avg: u32, sample: u32, n: u32) -> u32 {
    if n == 0 {
        return sample;
    }
    let (a, s) = (i64::from(avg), i64::from(sample));
    (a + ((s - a) >> EWMA_SHIFT)).clamp(0, i64::from(u32::MAX)) as u32
}

impl Measure {
    /// The first byte of a response came `us` microseconds after its request was sent.
    pub fn first_byte(&mut self, us: u32) {
        self.ttfb_us = ewma_time(self.ttfb_us, us, self.ttfb_samples);
        self.ttfb_samples = self.ttfb_samples.saturating_add(1);
    }

    /// A response ended `us` microseconds after its request was sent; `lossy`: its
    /// server leg saw a retransmission.
    pub fn response_end(&mut self, us: u32, lossy: bool) {
        self.total_us = ewma_time(self.total_us, us, self.samples);
        self.loss_ppm = ewma(
            self.loss_ppm,
            if lossy { LOSS_ONE } else { 0 },
            self.samples,
        );
        self.samples = self.samples.saturating_add(1);
        self.ended += 1;
        let bucket = BUCKETS_US
            .iter()
            .position(|&b| us <= b)
            .unwrap_or(BUCKETS_US.len());
        self.histogram[bucket] += 1;
        self.total_sum_us += u64::from(us);
    }

    /// A request failed on the server leg (reset, timed out, cut short): a lossy
    /// request with no response time.
    pub fn failed(&mut self) {
        self.loss_ppm = ewma(self.loss_ppm, LOSS_ONE, self.samples.max(1));
        self.ended += 1;
    }

    /// What a predictor sees, with `in_flight` requests outstanding.
    pub fn load(&self, in_flight: u32) -> RealLoad {
        RealLoad {
            in_flight,
            ttfb_us: self.ttfb_us,
            total_us: self.total_us,
            loss_ppm: self.loss_ppm,
            samples: self
                .ttfb_samples
                .max(self.ended.min(u64::from(u32::MAX)) as u32),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_follow_samples() {
        let mut m = Measure::default();
        m.first_byte(8_000);
        assert_eq!(m.ttfb_us, 8_000, "the first sample is taken whole");
        m.first_byte(16_000);
        assert_eq!(m.ttfb_us, 9_000, "then an eighth of the difference");
        m.first_byte(1_000);
        assert_eq!(m.ttfb_us, 5_000, "a sample below half the average: halfway");
        for _ in 0..30 {
            m.first_byte(1_000);
        }
        assert!(m.ttfb_us < 1_100, "{}", m.ttfb_us);
        m.response_end(3_000, false);
        m.response_end(300_000, true);
        assert_eq!(m.samples, 2);
        assert_eq!(m.loss_ppm, LOSS_ONE / 8);
        assert_eq!(m.histogram[3], 1, "3 ms is in the 5 ms bucket");
        assert_eq!(m.histogram[9], 1, "300 ms is in the 500 ms bucket");
        assert_eq!(m.total_sum_us, 303_000);
        m.failed();
        assert_eq!(m.ended, 3);
        assert!(m.loss_ppm > LOSS_ONE / 8);
        m.response_end(u32::MAX, false);
        assert_eq!(m.histogram[BUCKETS_US.len()], 1);
        let l = m.load(4);
        assert_eq!((l.in_flight, l.samples), (4, 33));
    }

    #[test]
    fn loads_of_a_slice_and_of_nothing() {
        let v = vec![RealLoad {
            in_flight: 3,
            ..Default::default()
        }];
        assert_eq!(v.load(0).in_flight, 3);
        assert_eq!(v.load(7), RealLoad::default());
        assert!(v.measured());
        assert!(!NoLoads.measured());
    }
}
