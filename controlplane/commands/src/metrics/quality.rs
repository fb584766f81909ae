//! The per-real measurements as metrics: load and quality gauges and the response-time
//! histogram (see the module documentation of `metrics`).

use super::Exposition;
use crate::report::RealPools;
use splicer_pipeline::balance::load::BUCKETS_US;

/// Microseconds as seconds, exactly as far as the format's decimal goes.
fn seconds(us: u64) -> String {
    format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
}

/// The gauges and histogram of every real, its workers' figures together.
pub(super) fn add_quality(e: &mut Exposition, pools: &[RealPools]) {
    for p in pools {
        let q = p.quality_total();
        let real = [("real", p.name.as_str())];
        e.sample(
            "splicer_real_in_flight",
            "gauge",
            "Requests on the real's server connections (until their responses are acknowledged).",
            &real,
            q.in_flight,
        );
        e.sample(
            "splicer_real_queued",
            "gauge",
            "Requests waiting for a server connection of the real.",
            &real,
            q.queue,
        );
        e.sample(
            "splicer_real_ttfb_seconds",
            "gauge",
            "Moving average (1/8 per request) of request sent to first response byte.",
            &real,
            seconds(q.ttfb_us),
        );
        e.sample(
            "splicer_real_response_time_seconds",
            "gauge",
            "Moving average (1/8 per request) of request sent to last response byte.",
            &real,
            seconds(q.total_us),
        );
        e.sample(
            "splicer_real_loss_ratio",
            "gauge",
            "Moving share of the real's requests whose server leg saw a retransmission, a gap or a reset, or that failed.",
            &real,
            format!("{}", q.loss_ppm as f64 / 1e6),
        );
        e.sample(
            "splicer_real_requests_per_second",
            "gauge",
            "Requests of the real ended over the last whole second.",
            &real,
            q.per_second,
        );
        if q.agent != splicer_pipeline::quality::AGENT_NONE {
            e.sample(
                "splicer_real_agent_up",
                "gauge",
                "1 while the real's handoff agent answers heartbeats, 0 before its first answer or after agent_dead_time without one.",
                &real,
                u64::from(q.agent == splicer_pipeline::quality::AGENT_UP),
            );
            e.sample(
                "splicer_real_agent_rtt_seconds",
                "gauge",
                "Round-trip time of the latest answered heartbeat to the real's handoff agent.",
                &real,
                seconds(q.agent_rtt_us),
            );
        }
        let help = "Time from request sent to last response byte, per real.";
        let name = "splicer_real_response_seconds";
        let mut cumulative = 0;
        for (i, n) in q.buckets.iter().enumerate() {
            cumulative += n;
            let le = match BUCKETS_US.get(i) {
                Some(&b) => format!("{}", f64::from(b) / 1e6),
                None => "+Inf".to_string(),
            };
            e.sample_as(
                name,
                "histogram",
                help,
                "splicer_real_response_seconds_bucket",
                &[("real", &p.name), ("le", &le)],
                cumulative,
            );
        }
        e.sample_as(
            name,
            "histogram",
            help,
            "splicer_real_response_seconds_sum",
            &real,
            seconds(q.sum_us),
        );
        e.sample_as(
            name,
            "histogram",
            help,
            "splicer_real_response_seconds_count",
            &real,
            q.count,
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::metrics::render;
    use crate::report::tests_support::sample;

    #[test]
    fn real_measurements_are_exposed() {
        let text = render(&sample());
        for line in [
            "# TYPE splicer_real_response_seconds histogram",
            "splicer_real_response_seconds_bucket{real=\"s1\",le=\"0.0005\"} 0",
            "splicer_real_response_seconds_bucket{real=\"s1\",le=\"0.0025\"} 2",
            "splicer_real_response_seconds_bucket{real=\"s1\",le=\"0.005\"} 4",
            "splicer_real_response_seconds_bucket{real=\"s1\",le=\"+Inf\"} 4",
            "splicer_real_response_seconds_sum{real=\"s1\"} 0.014000",
            "splicer_real_response_seconds_count{real=\"s1\"} 4",
            "splicer_real_response_seconds_count{real=\"img.1\"} 0",
            "splicer_real_in_flight{real=\"s1\"} 2",
            "splicer_real_requests_per_second{real=\"s1\"} 50",
            "splicer_real_loss_ratio{real=\"s1\"} 0.015",
            // (1.5 ms × 3 + 3.5 ms × 1) / 4 responses.
            "splicer_real_ttfb_seconds{real=\"s1\"} 0.002000",
        ] {
            assert!(text.contains(&format!("{line}\n")), "{line} not in\n{text}");
        }
        // One HELP and TYPE per family, the histogram's samples in its block.
        assert_eq!(
            text.matches("# TYPE splicer_real_response_seconds ")
                .count(),
            1
        );
    }
}
