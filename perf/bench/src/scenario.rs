//! Scenarios and the runner that measures them against a baseline from the same run.
//!
//! A [`Scenario`] gets the live [`Testbed`] and the run options, runs its worker code and
//! its traffic through [`Testbed::run`], and returns a [`Outcome`]. [`run`] always measures
//! [`Baseline`] first in the same invocation (same EAL, same ports, same pinning) and
//! quotes every other scenario as a ratio to it, because absolute figures on shared VMs
//! drift from one minute to the next.
//!
//! Scenarios today: `baseline`. `established`, `lifecycle` and `keepalive` arrive with the
//! splice engine: each becomes one more `Scenario` whose forwarder is the real worker
//! pipeline and whose traffic plays clients and servers (see perf/README.md).

use crate::baseline::{BareRewrite, BaselineTraffic, Fault};
use crate::bed::Testbed;
use crate::driver::{GenConfig, Measurement};
use crate::packet;
use crate::plan::FlowPlan;
use crate::report::{self, Context, Report};
use crate::BenchError;
use splicer_wire::EthernetAddress;
use std::io::Write;

/// The generator's Ethernet address (locally administered).
pub const GENERATOR_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x01]);
/// The worker's Ethernet address (locally administered).
pub const WORKER_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x02]);

/// Options every scenario of one invocation shares.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOptions {
    /// Flows the generator plays.
    pub flows: u32,
    /// TCP payload bytes per segment.
    pub payload: usize,
    /// How the generator runs (burst, window, warm-up, length).
    pub gen: GenConfig,
    /// A fault the worker injects once (tests only).
    pub fault: Option<(Fault, u64)>,
}

/// What a scenario run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The measurement.
    pub measurement: Measurement,
    /// Flows played.
    pub flows: u32,
    /// Frame size.
    pub frame_bytes: usize,
    /// Requests completed per second, where the scenario completes requests.
    pub requests_per_s: Option<f64>,
}

/// One packet-level benchmark.
pub trait Scenario {
    /// The name on the command line and in the JSON line.
    fn name(&self) -> &'static str;
    /// Runs it on `bed`.
    fn run(&self, bed: &Testbed, opts: &RunOptions) -> Result<Outcome, BenchError>;
}

/// The bare rx → rewrite → tx loop ([`crate::baseline`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Baseline;

impl Scenario for Baseline {
    fn name(&self) -> &'static str {
        "baseline"
    }

    fn run(&self, bed: &Testbed, opts: &RunOptions) -> Result<Outcome, BenchError> {
        let plan = FlowPlan::new(opts.flows).map_err(BenchError::Usage)?;
        let mut traffic = BaselineTraffic::new(&plan, opts.payload, GENERATOR_MAC, WORKER_MAC);
        let worker = BareRewrite::new(&plan, WORKER_MAC, GENERATOR_MAC, opts.fault);
        let measurement = bed.run(&mut traffic, worker, &opts.gen)?;
        Ok(Outcome {
            measurement,
            flows: plan.flows(),
            frame_bytes: packet::frame_len(opts.payload),
            requests_per_s: None,
        })
    }
}

/// The scenarios a command names, baseline first. `all` is every scenario that exists;
/// today that is the baseline alone.
pub fn named(command: &str) -> Result<Vec<Box<dyn Scenario>>, BenchError> {
    match command {
        "baseline" | "all" => Ok(vec![Box::new(Baseline)]),
        other => Err(BenchError::Usage(format!("unknown scenario {other:?}"))),
    }
}

/// Runs `scenarios` on `bed`, the baseline first (added if missing), printing each
/// scenario's JSON line on `out` as soon as it is measured and a summary on stderr.
pub fn run(
    bed: &Testbed,
    scenarios: Vec<Box<dyn Scenario>>,
    opts: &RunOptions,
    out: &mut dyn Write,
) -> Result<Vec<Report>, BenchError> {
    let mut list = scenarios;
    match list.iter().position(|s| s.name() == "baseline") {
        Some(0) => {}
        Some(i) => {
            let b = list.remove(i);
            list.insert(0, b);
        }
        None => list.insert(0, Box::new(Baseline)),
    }
    let (dpdk, cpu) = (report::dpdk_version(), report::cpu_model());
    let mut baseline_mpps = None;
    let mut reports = Vec::with_capacity(list.len());
    for s in &list {
        let o = s.run(bed, opts)?;
        let ctx = Context {
            flows: o.flows,
            burst: opts.gen.burst,
            frame_bytes: o.frame_bytes,
            inflight: opts.gen.inflight,
            hugepages: bed.hugepages(),
            tsc_hz: dpdk_bindings::eal::tsc_hz(),
            dpdk: dpdk.clone(),
            cpu: cpu.clone(),
        };
        let r = Report::new(
            s.name(),
            &o.measurement,
            &ctx,
            baseline_mpps,
            o.requests_per_s,
        );
        if baseline_mpps.is_none() {
            baseline_mpps = Some(o.measurement.mpps());
        }
        writeln!(out, "{}", r.json()).map_err(|e| BenchError::Setup(format!("stdout: {e}")))?;
        out.flush().ok();
        eprintln!("splicer-bench: {}", r.summary());
        reports.push(r);
    }
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_name_scenarios_baseline_first() {
        let names = |c| {
            named(c)
                .unwrap()
                .iter()
                .map(|s| s.name())
                .collect::<Vec<_>>()
        };
        assert_eq!(names("baseline"), ["baseline"]);
        assert_eq!(names("all"), ["baseline"]);
        assert!(named("lifecycle").is_err());
    }
}
