//! The one JSON line each scenario prints, and the facts about the machine in it.

use crate::driver::Measurement;
use serde::Serialize;

/// The JSON line of one scenario run. Field order is the order printed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// `baseline`, `established`, `lifecycle`, `keepalive`, `pipelined`.
    pub scenario: &'static str,
    /// Flows the generator played.
    pub flows: u32,
    /// Packets verified in the measured interval.
    pub packets: u64,
    /// Length of the measured interval.
    pub seconds: f64,
    /// Millions of verified packets per second through the worker.
    pub mpps: f64,
    /// The worker's busy TSC cycles per packet (rx + work + tx of non-empty polls; the
    /// generator's cycles are not in it).
    pub cycles_per_packet: f64,
    /// Whether the EAL ran on hugepages.
    pub hugepages: bool,
    /// Largest rx burst on both sides.
    pub burst: usize,
    /// `mpps` divided by the `baseline` scenario's `mpps` measured in the same
    /// invocation (1.0 for the baseline itself).
    pub ratio_to_baseline: f64,
    /// The worker cycles per packet of the self-looped baseline (`selfloop`) measured
    /// right before this scenario in the same invocation (absent for the baselines).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_cycles_per_packet: Option<f64>,
    /// `cycles_per_packet` divided by `baseline_cycles_per_packet`: what a packet costs
    /// the worker over what the bare loop's packet costs it, both from worker busy cycles
    /// of the same invocation (unlike `ratio_to_baseline`, not limited by the generator).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cycles_ratio_to_baseline: Option<f64>,
    /// Every scenario but the baselines: the worker cycles per packet of the
    /// generator-fed `baseline` of the same invocation (what `baseline_cycles_per_packet`
    /// held before the self-looped baseline; kept to compare with older results).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fed_baseline_cycles_per_packet: Option<f64>,
    /// Requests per second, for the scenarios that complete requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests_per_s: Option<f64>,
    /// The worker's busy cycles per completed request (`lifecycle`, `keepalive`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cycles_per_request: Option<f64>,
    /// Bytes of connection state per spliced flow, estimated from the layout of the
    /// engine's connection state (splice scenarios).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_bytes_per_flow: Option<u64>,
    /// Growth of the process's resident memory per flow while the flows were set up
    /// (`established`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rss_bytes_per_flow: Option<u64>,
    /// Time from the start of the run to the measured traffic running (`established`:
    /// every flow spliced).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setup_seconds: Option<f64>,
    /// Splice scenarios: the longest time either lcore was away (preempted) or busy at
    /// once during the run, in ms: how much the machine's load interfered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub longest_stall_ms: Option<f64>,
    /// Splice scenarios: Splicer's retransmissions the peers accepted because a stall
    /// of at least half its RTO made them answer late (0 on a quiet machine).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retransmits_after_stall: Option<u64>,
    /// The splice scenarios: the TCP options clients and servers used, `linux` (SACK
    /// permitted, timestamps, window scale 7; timestamps on every segment) or `none`
    /// (MSS only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_options: Option<&'static str>,
    /// `pipelined`: requests per batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depth: Option<u32>,
    /// `pipelined`: the pipeline's `http_requests` over the whole run (set-up, warm-up,
    /// measurement and drain), for the counters after it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_requests: Option<u64>,
    /// `pipelined`: requests Splicer sent ahead onto idle pooled connections while
    /// earlier ones were unanswered (`pipelined_dispatched`, whole run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipelined_dispatched: Option<u64>,
    /// `pipelined`: requests that could not be sent ahead and waited for their turn
    /// (`pipelined_waits`, whole run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipelined_waits: Option<u64>,
    /// `pipelined`: response segments held until their turn (`held_segments`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_segments: Option<u64>,
    /// `pipelined`: legs sent ahead whose response then went to the client
    /// (`pipelined_promoted`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipelined_promoted: Option<u64>,
    /// `pipelined`: requests the generator's servers received while an earlier request
    /// of the same client connection was unanswered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_ahead: Option<u64>,
    /// `--workers N` (N > 1): the workers of this run (1, then N twice); absent in a
    /// one-worker invocation. With several, `cycles_per_packet` is all workers' busy
    /// cycles over the packets they received from the generator (hand-offs included
    /// in the cost, not in the count) and `worker_busy` their mean busy fraction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workers: Option<usize>,
    /// `--workers`: the fraction of connection directions the generator put on a queue
    /// whose worker does not own them (0: every frame on its owner's queue).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handoff_fraction: Option<f64>,
    /// `--workers`: measured, the packets handed from one worker to another over the
    /// packets the workers received from the generator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handed_off: Option<f64>,
    /// `--workers`: `mpps` over the one-worker run's `mpps` of the same invocation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scaling: Option<f64>,
    /// `--workers`, the run with hand-offs: `cycles_per_packet` of the run of as many
    /// workers with every frame on its owner's queue, same invocation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_handoff_cycles_per_packet: Option<f64>,
    /// `--workers`, the run with hand-offs: what a handed-off packet costs more, in
    /// busy cycles of the handing and the owning worker together: (`cycles_per_packet`
    /// − `no_handoff_cycles_per_packet`) / `handed_off`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handoff_cycles_per_packet: Option<f64>,
    /// `--workers`: each worker's figures over the measured interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_worker: Option<Vec<crate::workers::WorkerFigures>>,
    /// DPDK version the bench was built against.
    pub dpdk: String,
    /// CPU model (`model name` in /proc/cpuinfo).
    pub cpu: String,
    /// Bytes per frame (Ethernet header to the end of the payload, no FCS).
    pub frame_bytes: usize,
    /// Packets the generator kept in flight.
    pub inflight: usize,
    /// Fraction of the measured interval the worker spent on non-empty polls: near 1.0
    /// the worker is the bottleneck, well below it the generator is.
    pub worker_busy: f64,
    /// TSC frequency the cycle counts are in.
    pub tsc_hz: u64,
}

/// Rounds to `digits` decimals, so the JSON line prints short numbers.
pub fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// Figures only some scenarios have.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Extras {
    /// Requests per second.
    pub requests_per_s: Option<f64>,
    /// Worker busy cycles per request.
    pub cycles_per_request: Option<f64>,
    /// Estimated bytes of state per spliced flow.
    pub state_bytes_per_flow: Option<u64>,
    /// Measured resident bytes per flow.
    pub rss_bytes_per_flow: Option<u64>,
    /// Set-up time.
    pub setup_seconds: Option<f64>,
    /// See [`Report::longest_stall_ms`].
    pub longest_stall_ms: Option<f64>,
    /// See [`Report::retransmits_after_stall`].
    pub retransmits_after_stall: Option<u64>,
    /// See [`Report::client_options`].
    pub client_options: Option<&'static str>,
    /// Requests per batch.
    pub depth: Option<u32>,
    /// Pipeline counters of `pipelined` (whole run).
    pub http_requests: Option<u64>,
    /// See [`Report::pipelined_dispatched`].
    pub pipelined_dispatched: Option<u64>,
    /// See [`Report::pipelined_waits`].
    pub pipelined_waits: Option<u64>,
    /// See [`Report::held_segments`].
    pub held_segments: Option<u64>,
    /// See [`Report::pipelined_promoted`].
    pub pipelined_promoted: Option<u64>,
    /// See [`Report::sent_ahead`].
    pub sent_ahead: Option<u64>,
}

/// What a scenario reports besides its measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    /// Flows played.
    pub flows: u32,
    /// Rx burst.
    pub burst: usize,
    /// Frame size.
    pub frame_bytes: usize,
    /// Window.
    pub inflight: usize,
    /// Hugepages or not.
    pub hugepages: bool,
    /// TSC frequency.
    pub tsc_hz: u64,
    /// DPDK version.
    pub dpdk: String,
    /// CPU model.
    pub cpu: String,
}

impl Report {
    /// The report of `scenario`'s measurement `m`, `baseline_mpps` being the baseline's
    /// from the same invocation (`None` for the baseline itself).
    pub fn new(
        scenario: &'static str,
        m: &Measurement,
        ctx: &Context,
        baseline_mpps: Option<f64>,
        extras: &Extras,
    ) -> Report {
        let mpps = m.mpps();
        let ratio = match baseline_mpps {
            None => 1.0,
            Some(b) if b > 0.0 => mpps / b,
            Some(_) => 0.0,
        };
        Report {
            scenario,
            flows: ctx.flows,
            packets: m.packets,
            seconds: round(m.seconds, 3),
            mpps: round(mpps, 3),
            cycles_per_packet: round(m.cycles_per_packet(), 1),
            hugepages: ctx.hugepages,
            burst: ctx.burst,
            ratio_to_baseline: round(ratio, 3),
            baseline_cycles_per_packet: None,
            cycles_ratio_to_baseline: None,
            fed_baseline_cycles_per_packet: None,
            requests_per_s: extras.requests_per_s.map(|r| r.round()),
            cycles_per_request: extras.cycles_per_request.map(|c| round(c, 1)),
            state_bytes_per_flow: extras.state_bytes_per_flow,
            rss_bytes_per_flow: extras.rss_bytes_per_flow,
            setup_seconds: extras.setup_seconds.map(|s| round(s, 3)),
            longest_stall_ms: extras.longest_stall_ms.map(|s| round(s, 1)),
            retransmits_after_stall: extras.retransmits_after_stall,
            client_options: extras.client_options,
            depth: extras.depth,
            http_requests: extras.http_requests,
            pipelined_dispatched: extras.pipelined_dispatched,
            pipelined_waits: extras.pipelined_waits,
            held_segments: extras.held_segments,
            pipelined_promoted: extras.pipelined_promoted,
            sent_ahead: extras.sent_ahead,
            workers: None,
            handoff_fraction: None,
            handed_off: None,
            scaling: None,
            no_handoff_cycles_per_packet: None,
            handoff_cycles_per_packet: None,
            per_worker: None,
            dpdk: ctx.dpdk.clone(),
            cpu: ctx.cpu.clone(),
            frame_bytes: ctx.frame_bytes,
            inflight: ctx.inflight,
            worker_busy: round(m.worker_busy(ctx.tsc_hz), 3),
            tsc_hz: ctx.tsc_hz,
        }
    }

    /// The same report with the baseline's worker cycles per packet from the same
    /// invocation, and this scenario's cycles per packet over them.
    pub fn against_baseline_cycles(mut self, baseline_cycles_per_packet: f64) -> Report {
        self.baseline_cycles_per_packet = Some(round(baseline_cycles_per_packet, 1));
        if baseline_cycles_per_packet > 0.0 {
            self.cycles_ratio_to_baseline = Some(round(
                self.cycles_per_packet / baseline_cycles_per_packet,
                3,
            ));
        }
        self
    }

    /// The JSON line.
    pub fn json(&self) -> String {
        serde_json::to_string(self).expect("a Report always serialises")
    }

    /// A short human summary for stderr.
    pub fn summary(&self) -> String {
        let mut extra = String::new();
        if let Some(r) = self.requests_per_s {
            extra += &format!(", {r:.0} requests/s");
        }
        if let Some(c) = self.cycles_per_request {
            extra += &format!(", {c:.0} cycles/request");
        }
        if let Some(b) = self.state_bytes_per_flow {
            extra += &format!(", ~{b} B state/flow");
        }
        if let Some(b) = self.rss_bytes_per_flow {
            extra += &format!(", {b} B resident/flow");
        }
        if let Some(s) = self.setup_seconds {
            extra += &format!(", set up in {s:.2} s");
        }
        if let Some(s) = self.longest_stall_ms {
            extra += &format!(", longest lcore stall {s:.0} ms");
        }
        if let Some(r) = self.retransmits_after_stall.filter(|&r| r > 0) {
            extra += &format!(" ({r} retransmissions after it)");
        }
        if let (Some(w), Some(h)) = (self.workers, self.handed_off) {
            extra += &format!(", {w} workers, {:.1}% handed off", h * 100.0);
            if let Some(s) = self.scaling {
                extra += &format!(", scaling {s:.2}");
            }
            if let Some(c) = self.handoff_cycles_per_packet {
                extra += &format!(", hand-off {c:.0} cycles/packet");
            }
        }
        if let (Some(d), Some(p), Some(r)) =
            (self.depth, self.pipelined_dispatched, self.http_requests)
        {
            extra += &format!(", depth {d}: {p} of {r} requests sent ahead");
        }
        format!(
            "{}: {:.2} Mpps ({:.2}x baseline), worker {:.1} cycles/packet, busy {:.0}%{extra} | {} packets verified in {:.2} s, {} flows, {}-byte frames, burst {}, {} in flight, {}",
            self.scenario,
            self.mpps,
            self.ratio_to_baseline,
            self.cycles_per_packet,
            self.worker_busy * 100.0,
            self.packets,
            self.seconds,
            self.flows,
            self.frame_bytes,
            self.burst,
            self.inflight,
            if self.hugepages { "hugepages" } else { "no hugepages" }
        )
    }
}

/// The DPDK version the bindings were generated from (`rte_version.h`), e.g. `22.11.11`.
pub fn dpdk_version() -> String {
    use dpdk_bindings::ffi::{RTE_VER_MINOR, RTE_VER_MONTH, RTE_VER_YEAR};
    format!("{RTE_VER_YEAR}.{RTE_VER_MONTH:02}.{RTE_VER_MINOR}")
}

/// The `model name` of the first CPU in `cpuinfo` (the text of /proc/cpuinfo).
pub fn cpu_model_from(cpuinfo: &str) -> Option<String> {
    cpuinfo
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == "model name").then(|| v.trim().to_string())
        })
        .filter(|m| !m.is_empty())
}

/// The CPU model of this machine, `unknown` if /proc/cpuinfo does not say.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| cpu_model_from(&s))
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::WorkerSnapshot;

    fn ctx() -> Context {
        Context {
            flows: 1024,
            burst: 32,
            frame_bytes: 60,
            inflight: 512,
            hugepages: false,
            tsc_hz: 2_000_000_000,
            dpdk: "22.11.11".into(),
            cpu: "AMD EPYC".into(),
        }
    }

    fn m(packets: u64) -> Measurement {
        Measurement {
            packets,
            seconds: 1.0,
            worker: WorkerSnapshot {
                packets,
                busy_cycles: packets * 50,
                ..WorkerSnapshot::default()
            },
            verified_total: packets,
        }
    }

    #[test]
    fn json_line_has_the_documented_fields_in_order() {
        let r = Report::new("baseline", &m(12_345_678), &ctx(), None, &Extras::default());
        let j = r.json();
        assert!(!j.contains('\n'));
        let keys = [
            "scenario",
            "flows",
            "packets",
            "seconds",
            "mpps",
            "cycles_per_packet",
            "hugepages",
            "burst",
            "ratio_to_baseline",
            "dpdk",
            "cpu",
        ];
        let mut at = 0;
        for k in keys {
            let p = j[at..]
                .find(&format!("\"{k}\":"))
                .unwrap_or_else(|| panic!("{k} missing or out of order in {j}"));
            at += p;
        }
        assert!(j.starts_with(r#"{"scenario":"baseline","flows":1024,"packets":12345678,"seconds":1.0,"mpps":12.346,"cycles_per_packet":50.0,"hugepages":false,"burst":32,"ratio_to_baseline":1.0,"dpdk":"22.11.11","cpu":"AMD EPYC""#), "{j}");
        assert!(!j.contains("requests_per_s"));
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v["worker_busy"], 0.309);
    }

    #[test]
    fn ratio_is_against_the_baseline_of_the_run() {
        let extras = Extras {
            requests_per_s: Some(1e5),
            state_bytes_per_flow: Some(1234),
            ..Extras::default()
        };
        let r = Report::new("established", &m(5_000_000), &ctx(), Some(20.0), &extras);
        assert_eq!(r.ratio_to_baseline, 0.25);
        assert_eq!(
            r.cycles_ratio_to_baseline, None,
            "only with the baseline's cycles"
        );
        let r = r.against_baseline_cycles(20.0);
        assert_eq!(r.baseline_cycles_per_packet, Some(20.0));
        assert_eq!(r.cycles_ratio_to_baseline, Some(2.5), "50 cycles over 20");
        let j = r.json();
        assert!(
            j.contains("\"requests_per_s\":100000.0,\"state_bytes_per_flow\":1234,\"dpdk\""),
            "{j}"
        );
        assert!(!j.contains("setup_seconds"));
        assert!(r
            .summary()
            .starts_with("established: 5.00 Mpps (0.25x baseline)"));
    }

    #[test]
    fn cpu_model_and_dpdk_version() {
        let info = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9454\n";
        assert_eq!(cpu_model_from(info).as_deref(), Some("AMD EPYC 9454"));
        assert_eq!(cpu_model_from("processor : 0\n"), None);
        assert!(dpdk_version().starts_with("22.11."), "{}", dpdk_version());
    }
}
