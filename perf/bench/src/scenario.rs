//! Scenarios and the runner that measures them against a baseline from the same run.
//!
//! A [`Scenario`] gets the live [`Testbed`] and the run options, runs its worker code and
//! its traffic through [`Testbed::run`] (or [`Testbed::run_with`]), and returns an
//! [`Outcome`]. [`run`] always measures [`Baseline`] first in the same invocation (same
//! EAL, same ports, same pinning) and quotes every other scenario as a ratio to it,
//! because absolute figures on shared VMs drift from one minute to the next.
//!
//! Scenarios: `baseline` (the bare rewrite loop), and the three that run the real
//! worker pipeline with the splice engine against a generator playing clients and
//! servers ([`crate::splice`]): `established`, `lifecycle`, `keepalive`, `pipelined`.

use crate::baseline::{BareRewrite, BaselineTraffic, Fault};
use crate::bed::Testbed;
use crate::driver::WorkerSnapshot;
use crate::driver::{GenConfig, Length, Measurement};
use crate::packet;
use crate::plan::FlowPlan;
use crate::report::{self, Context, Extras, Report};
use crate::selfloop::SelfLoop;
use crate::splice::engine::PipelineForwarder;
use crate::splice::loopback::nonzero;
use crate::splice::peers::{self, Mode, SpliceTraffic, ENDLESS};
use crate::splice::steer::Steer;
use crate::splice::{self, run as splice_run, state, FarmSpec};
use crate::workers::{self, Compare, Layout};
use crate::BenchError;
use dpdk_bindings::eal;
use splicer_pipeline::counters::Snapshot;
use splicer_pipeline::{Counter, WorkerCounters};
use splicer_wire::EthernetAddress;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

/// The generator's Ethernet address (locally administered).
pub const GENERATOR_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x01]);
/// The worker's Ethernet address (locally administered).
pub const WORKER_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x02]);

/// Flows of `baseline` without `--flows`.
pub const BASELINE_FLOWS: u32 = 1024;
/// Flows of `established` without `--flows`.
pub const ESTABLISHED_FLOWS: u32 = 10_000;
/// Most flows `established` sets up (2 connections each; the configuration allows
/// 4 194 304 per worker).
pub const MAX_ESTABLISHED_FLOWS: u32 = 2_000_000;
/// Concurrent client connections of `lifecycle` and `keepalive` without `--flows`.
pub const CLIENTS: u32 = 256;
/// Most concurrent client connections of `lifecycle` and `keepalive` (the mempool and
/// the rings hold what they have in flight).
pub const MAX_CLIENTS: u32 = 2048;
/// Concurrent client connections of `pipelined` without `--flows`.
pub const PIPELINED_CLIENTS: u32 = 32;
/// Most concurrent client connections of `pipelined`.
pub const MAX_PIPELINED_CLIENTS: u32 = 256;
/// Most requests `pipelined` keeps in flight in all (clients × depth): each may hold an
/// mbuf of its response in the worker while it waits for its turn.
pub const MAX_PIPELINED_INFLIGHT: u32 = 4096;
/// `virtual.max_held` of `pipelined`: the window each request sent ahead offers its
/// server. Its responses are one segment of at most 1.5 KB; the default (64 KiB)
/// would let the worker's budget (`max_held_total`, 4095 × 1448 bytes) cover only 90
/// requests sent ahead at once, worker-wide.
pub const PIPELINED_MAX_HELD: usize = 4096;
/// Flows of `established` one real serves (its local ports: 41 000 per real address
/// and port, taken at random by Splicer, so kept well below).
const FLOWS_PER_REAL: u32 = 16_384;
/// Flows of `established` set up at once.
const SETUP_WINDOW: u32 = 256;

/// The timeouts `established` changes from the configuration's defaults, as an
/// operator expecting its set-up burst would, and why:
///
/// * `body_timeout`, `send_timeout`, `idle_timeout` → 24 h (the configuration's
///   largest): its clients send nothing after their request head, and acknowledge
///   the response head only with their first body segment, once *every* flow is
///   spliced: a silence as long as the set-up (15-25 s for 100 000 flows on the
///   loaded shared VM, minutes for 1 000 000), then a few bytes per second per flow.
///   The defaults (20 s + 1 s per 500 body bytes, 30 s, 60 s) reset the first flows
///   (`body_timeouts`) before the last are set up.
/// * `handshake_timeout`, `connect_timeout`, `queue_timeout` → 60 s, `request_timeout`
///   → 60 s: on a loaded shared machine an lcore is preempted for seconds at a time
///   (stalls over 3 s were seen); with the defaults (3 s, 10 s) a handshake that
///   straddles such a stall is given up (`handshake_timeouts`, a `503` after
///   `queue_timeouts`) and the run fails on what the machine did, not the code.
///
/// What is measured, the established path of spliced flows, uses none of them.
pub fn established_timeouts(f: &mut splicer_pipeline::flow::FlowSettings) {
    let ms = f.ticks_per_ms;
    let day = 24 * 3600 * 1000 * ms;
    f.body_timeout = day;
    f.send_timeout = day;
    f.idle_timeout = day;
    let minute = 60 * 1000 * ms;
    f.handshake_timeout = minute;
    f.connect_timeout = minute;
    f.queue_timeout = minute;
    f.request_timeout = minute;
}

/// Options every scenario of one invocation shares.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOptions {
    /// Flows (`--flows`); each scenario has its default.
    pub flows: Option<u32>,
    /// TCP payload bytes per segment (`baseline`, `established`), response body bytes
    /// (`lifecycle`, `keepalive`).
    pub payload: usize,
    /// Requests per client connection of `keepalive`.
    pub requests_per_conn: u32,
    /// Requests per batch of `pipelined`.
    pub depth: u32,
    /// How the generator runs (burst, window, warm-up, length).
    pub gen: GenConfig,
    /// Length of the baseline when other scenarios follow it.
    pub baseline_length: Length,
    /// A fault the worker injects once (tests only).
    pub fault: Option<(Fault, u64)>,
    /// `established`: clients and servers use the options Linux does (`--client-options
    /// linux`: MSS, SACK permitted, timestamps, window scale 7; timestamps on every
    /// segment), see [`peers::Config::linux_options`].
    pub linux_options: bool,
    /// `--workers`: workers of the bed; above 1, the scenarios that can
    /// ([`Scenario::several_workers`]) run once per [`Layout::runs`].
    pub workers: usize,
    /// `--handoff-fraction`: the fraction of connection directions the hand-off run
    /// puts on a worker that does not own them.
    pub handoff_fraction: f64,
    /// The run under way (set by [`run`]).
    pub layout: Layout,
}

/// What a scenario run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The measurement.
    pub measurement: Measurement,
    /// Flows played.
    pub flows: u32,
    /// Frame size (the largest data frame of the scenario).
    pub frame_bytes: usize,
    /// Packets (baseline, established) or connections (lifecycle, keepalive) in flight.
    pub inflight: usize,
    /// Requests per second, state per flow, set-up time...
    pub extras: Extras,
    /// Each worker's counters over the measured interval (splice scenarios).
    pub per_worker: Vec<WorkerSnapshot>,
}

/// One packet-level benchmark.
pub trait Scenario {
    /// The name on the command line and in the JSON line.
    fn name(&self) -> &'static str;
    /// Runs it on `bed`.
    fn run(&self, bed: &Testbed, opts: &RunOptions) -> Result<Outcome, BenchError>;
    /// Whether it runs on several workers (`--workers`): `opts.layout` then says how
    /// many and how the generator steers.
    fn several_workers(&self) -> bool {
        false
    }
}

/// The bare rx → rewrite → tx loop ([`crate::baseline`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Baseline;

impl Scenario for Baseline {
    fn name(&self) -> &'static str {
        "baseline"
    }

    fn run(&self, bed: &Testbed, opts: &RunOptions) -> Result<Outcome, BenchError> {
        let plan =
            FlowPlan::new(opts.flows.unwrap_or(BASELINE_FLOWS)).map_err(BenchError::Usage)?;
        let mut traffic = BaselineTraffic::new(&plan, opts.payload, GENERATOR_MAC, WORKER_MAC);
        let worker = BareRewrite::new(&plan, WORKER_MAC, GENERATOR_MAC, opts.fault);
        let measurement = bed.run(&mut traffic, worker, &opts.gen)?;
        Ok(Outcome {
            measurement,
            flows: plan.flows(),
            frame_bytes: packet::frame_len(opts.payload),
            inflight: opts.gen.inflight,
            extras: Extras::default(),
            per_worker: Vec::new(),
        })
    }
}

/// Packets of flows already spliced, both directions ([`Mode::Established`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Established;

/// Whole requests, one client connection each ([`Mode::Lifecycle`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Lifecycle;

/// Many requests per client connection, routed per request by path
/// ([`Mode::Keepalive`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Keepalive;

/// Batches of pipelined requests on kept-open connections, sent ahead to three reals
/// in parallel and merged in order ([`Mode::Pipelined`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Pipelined;

fn check_range(what: &str, v: u32, max: u32) -> Result<u32, BenchError> {
    if v == 0 || v > max {
        return Err(BenchError::Usage(format!(
            "--flows for {what} must be 1..={max}, not {v}"
        )));
    }
    Ok(v)
}

fn check_response_body(payload: usize) -> Result<(), BenchError> {
    if payload > peers::MAX_RESPONSE_BODY {
        return Err(BenchError::Usage(format!(
            "--payload (the response body) must be at most {} for lifecycle and keepalive",
            peers::MAX_RESPONSE_BODY
        )));
    }
    Ok(())
}

/// Server connections per real for `clients` concurrent clients: all of them at once
/// on one real, with room.
fn maxconns_for(clients: u32) -> u16 {
    (clients + 64).min(u32::from(u16::MAX)) as u16
}

impl Scenario for Established {
    fn name(&self) -> &'static str {
        "established"
    }

    fn several_workers(&self) -> bool {
        true
    }

    fn run(&self, bed: &Testbed, opts: &RunOptions) -> Result<Outcome, BenchError> {
        let flows = check_range(
            "established",
            opts.flows.unwrap_or(ESTABLISHED_FLOWS),
            MAX_ESTABLISHED_FLOWS,
        )?;
        let reals = flows.div_ceil(FLOWS_PER_REAL).max(4) as u16;
        let farm = FarmSpec::all(reals, 4, u16::MAX);
        let cfg = peers::Config {
            mode: Mode::Established,
            flows,
            inflight: opts.gen.inflight.min(flows as usize),
            payload: opts.payload,
            farm,
            setup_window: SETUP_WINDOW,
            arp_refresh_ms: peers::ARP_REFRESH_MS,
            linux_options: opts.linux_options,
        };
        let head = format!(
            "POST /e/{} HTTP/1.1\r\nHost: bench\r\nContent-Length: {ENDLESS}\r\n\r\n",
            flows - 1
        )
        .len();
        let max_flows = 2 * flows as usize + usize::from(reals) * 4 + 4096;
        run_splice(
            bed,
            opts,
            cfg,
            max_flows,
            head,
            // The timestamps option: 12 bytes more per data segment.
            packet::frame_len(opts.payload + if opts.linux_options { 12 } else { 0 }),
        )
    }
}

impl Scenario for Lifecycle {
    fn name(&self) -> &'static str {
        "lifecycle"
    }

    fn several_workers(&self) -> bool {
        true
    }

    fn run(&self, bed: &Testbed, opts: &RunOptions) -> Result<Outcome, BenchError> {
        let clients = check_range("lifecycle", opts.flows.unwrap_or(CLIENTS), MAX_CLIENTS)?;
        check_response_body(opts.payload)?;
        let cfg = peers::Config {
            mode: Mode::Lifecycle,
            flows: clients,
            inflight: clients as usize,
            payload: opts.payload,
            farm: FarmSpec::all(4, 16, maxconns_for(clients)),
            setup_window: 0,
            arp_refresh_ms: peers::ARP_REFRESH_MS,
            linux_options: false,
        };
        let head = format!("GET /l/{}/1 HTTP/1.1\r\nHost: bench\r\n\r\n", clients - 1).len();
        run_splice(
            bed,
            opts,
            cfg,
            max_flows_for(clients),
            head,
            response_frame(opts.payload),
        )
    }
}

impl Scenario for Keepalive {
    fn name(&self) -> &'static str {
        "keepalive"
    }

    fn run(&self, bed: &Testbed, opts: &RunOptions) -> Result<Outcome, BenchError> {
        let clients = check_range("keepalive", opts.flows.unwrap_or(CLIENTS), MAX_CLIENTS)?;
        check_response_body(opts.payload)?;
        if opts.requests_per_conn == 0 {
            return Err(BenchError::Usage(
                "--requests-per-conn must be positive".into(),
            ));
        }
        let farm = FarmSpec {
            rules: vec![("/img/", vec![0, 1])],
            bind: vec![2, 3],
            ..FarmSpec::all(4, 16, maxconns_for(clients))
        };
        let cfg = peers::Config {
            mode: Mode::Keepalive {
                requests: opts.requests_per_conn,
            },
            flows: clients,
            inflight: clients as usize,
            payload: opts.payload,
            farm,
            setup_window: 0,
            arp_refresh_ms: peers::ARP_REFRESH_MS,
            linux_options: false,
        };
        let head = format!(
            "GET /img/{}/1.1 HTTP/1.1\r\nHost: bench\r\n\r\n",
            clients - 1
        )
        .len();
        run_splice(
            bed,
            opts,
            cfg,
            max_flows_for(clients),
            head,
            response_frame(opts.payload),
        )
    }
}

/// `pool` of each real of `pipelined`: every client's requests of one batch, but its
/// first (which is dispatched as any request is and may open a connection), find an
/// idle connection at their real (a third of them each), with a margin of 8.
pub fn pipelined_pool(clients: u32, depth: u32) -> u16 {
    (clients * depth.div_ceil(3) + 8).min(u32::from(u16::MAX) - 1024) as u16
}

impl Scenario for Pipelined {
    fn name(&self) -> &'static str {
        "pipelined"
    }

    fn run(&self, bed: &Testbed, opts: &RunOptions) -> Result<Outcome, BenchError> {
        let clients = check_range(
            "pipelined",
            opts.flows.unwrap_or(PIPELINED_CLIENTS),
            MAX_PIPELINED_CLIENTS,
        )?;
        // Its head names the request (`X-Path`, up to 48 bytes more): one segment still.
        check_response_body(opts.payload + 48)?;
        let depth = opts.depth;
        if depth == 0 || depth > peers::MAX_DEPTH {
            return Err(BenchError::Usage(format!(
                "--depth must be 1..={}, not {depth}",
                peers::MAX_DEPTH
            )));
        }
        if clients * depth > MAX_PIPELINED_INFLIGHT {
            return Err(BenchError::Usage(format!(
                "--flows × --depth must be at most {MAX_PIPELINED_INFLIGHT}, not {}",
                clients * depth
            )));
        }
        let pool = pipelined_pool(clients, depth);
        let maxconns = pool + maxconns_for(clients).min(1024);
        let farm = FarmSpec {
            rules: vec![("/r0/", vec![0]), ("/r1/", vec![1])],
            bind: vec![2],
            max_held: PIPELINED_MAX_HELD,
            ..FarmSpec::all(3, pool, maxconns)
        };
        let cfg = peers::Config {
            mode: Mode::Pipelined { depth },
            flows: clients,
            inflight: clients as usize,
            payload: opts.payload,
            farm,
            setup_window: 0,
            arp_refresh_ms: peers::ARP_REFRESH_MS,
            linux_options: false,
        };
        let head = format!(
            "GET /r0/{}/1.{} HTTP/1.1\r\nHost: bench\r\n\r\n",
            clients - 1,
            depth
        )
        .len()
            * depth as usize;
        let max_flows = max_flows_for(clients + 3 * u32::from(maxconns));
        let frame = response_frame(opts.payload) + "X-Path: /r0/999/1.99\r\n".len();
        run_splice(bed, opts, cfg, max_flows, head, frame)
    }
}

fn max_flows_for(clients: u32) -> usize {
    (4 * clients as usize + 4096).max(65_536)
}

/// The frame of a whole response (head and body in one segment).
fn response_frame(body: usize) -> usize {
    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {body}\r\n\r\n").len();
    packet::frame_len(head + body)
}

/// Resident memory of this process in bytes (`/proc/self/statm`, 4 KiB pages).
pub fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// Runs one splice scenario: the real pipeline on the worker lcore, `cfg`'s peers on
/// this one; fails when the pipeline counted a drop.
fn run_splice(
    bed: &Testbed,
    opts: &RunOptions,
    cfg: peers::Config,
    max_flows: usize,
    head_len: usize,
    frame_bytes: usize,
) -> Result<Outcome, BenchError> {
    let tsc_hz = eal::tsc_hz();
    let (flows, mode, inflight) = (cfg.flows, cfg.mode, cfg.inflight);
    let client_options = if cfg.linux_options { "linux" } else { "none" };
    let topology = Arc::new(cfg.farm.topology());
    let workers = opts.layout.workers;
    let counters: Vec<Arc<WorkerCounters>> = (0..workers)
        .map(|_| Arc::new(WorkerCounters::with_reals(2, usize::from(cfg.farm.reals))))
        .collect();
    // The generator's tables are written when built: resident before the measurement of
    // the appliance's memory starts.
    let mut traffic = SpliceTraffic::new(cfg);
    let rss_before = resident_bytes();
    let seed = eal::rdtsc();
    let mesh = bed.mesh();
    let mut forwarders = Vec::with_capacity(workers);
    for (w, c) in counters.iter().enumerate() {
        let mut settings = splice::settings(tsc_hz, max_flows, seed);
        (settings.worker, settings.workers) = (w, workers);
        if mode == Mode::Established {
            established_timeouts(&mut settings.flow);
        }
        let mut f = PipelineForwarder::new(
            settings,
            Arc::clone(&topology),
            Arc::clone(c),
            bed.pool(),
            tsc_hz,
            opts.gen.burst,
        )
        .with_fault(if w == 0 { opts.fault } else { None });
        if workers > 1 {
            let mesh = mesh.clone().ok_or_else(|| {
                BenchError::Setup("several workers on a bed without hand-off rings".into())
            })?;
            f = f.with_mesh(mesh, w);
        }
        forwarders.push(f);
    }
    let steer = Steer::new(workers, opts.layout.handoff);
    let result = bed.run_workers(forwarders, opts.gen.burst, |port, pool, shared| {
        splice_run::generate(
            port,
            pool,
            &mut traffic,
            &opts.gen,
            shared,
            steer,
            resident_bytes,
        )
    });
    let mut snapshot = Snapshot::default();
    for c in &counters {
        snapshot += &c.snapshot();
    }
    let m = match result {
        Ok(m) => m,
        Err(e) => {
            eprintln!("splicer-bench: pipeline counters: {}", nonzero(&snapshot));
            return Err(e);
        }
    };
    // Nothing is lost on this bed: a drop, or a retransmission (of something the
    // generator never got), is a failure even when TCP recovered from it. The one
    // exception: copies the peers received and accepted after a stall of an lcore that
    // made them answer later than Splicer's timer (`retransmits_seen`), each one
    // accounted for.
    let excused = traffic.retransmits_seen();
    let drops: Vec<String> = snapshot
        .iter()
        .filter(|&(k, v)| {
            v > 0 && (k.starts_with("drop_") || (k == "tcp_retransmits" && v > excused))
        })
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if !drops.is_empty() {
        return Err(BenchError::Lost(format!(
            "the pipeline dropped or retransmitted packets: {}; all its counters: {}",
            drops.join(" "),
            nonzero(&snapshot)
        )));
    }
    eprintln!(
        "splicer-bench: pipeline counters: {}; requests per real {:?}; {} server connections accepted; longest lcore stall {:.1} ms, {excused} retransmissions after it",
        nonzero(&snapshot),
        traffic.per_real(),
        traffic.server_connections(),
        m.longest_stall_ms
    );
    let estimate = state::estimate(head_len);
    eprintln!("splicer-bench: state estimate: {estimate}");
    let secs = m.measurement.seconds;
    let requests = (mode != Mode::Established).then_some(m.requests);
    let pipelined = matches!(mode, Mode::Pipelined { .. });
    let count = |c: Counter| pipelined.then(|| snapshot.get(c));
    if pipelined {
        eprintln!(
            "splicer-bench: seen by the generator: {:?}",
            traffic.pipeline_seen()
        );
    }
    let extras = Extras {
        requests_per_s: requests.map(|r| if secs > 0.0 { r as f64 / secs } else { 0.0 }),
        cycles_per_request: requests.map(|r| {
            if r > 0 {
                m.measurement.worker.busy_cycles as f64 / r as f64
            } else {
                0.0
            }
        }),
        state_bytes_per_flow: Some(estimate.per_flow as u64),
        rss_bytes_per_flow: (mode == Mode::Established)
            .then(|| m.at_setup.saturating_sub(rss_before) / u64::from(flows)),
        setup_seconds: (mode == Mode::Established).then_some(m.setup_seconds),
        longest_stall_ms: Some(m.longest_stall_ms),
        retransmits_after_stall: Some(excused),
        client_options: Some(client_options),
        depth: match mode {
            Mode::Pipelined { depth } => Some(depth),
            _ => None,
        },
        http_requests: count(Counter::HttpRequests),
        pipelined_dispatched: count(Counter::PipelinedDispatched),
        pipelined_waits: count(Counter::PipelinedWaits),
        held_segments: count(Counter::HeldSegments),
        pipelined_promoted: count(Counter::PipelinedPromoted),
        sent_ahead: pipelined.then(|| traffic.pipeline_seen().ahead),
    };
    Ok(Outcome {
        measurement: m.measurement,
        flows,
        frame_bytes,
        inflight,
        extras,
        per_worker: m.per_worker,
    })
}

/// The scenarios a command names, baseline first.
pub fn named(command: &str) -> Result<Vec<Box<dyn Scenario>>, BenchError> {
    let splice: Vec<Box<dyn Scenario>> = match command {
        "baseline" => vec![],
        "established" => vec![Box::new(Established)],
        "lifecycle" => vec![Box::new(Lifecycle)],
        "keepalive" => vec![Box::new(Keepalive)],
        "pipelined" => vec![Box::new(Pipelined)],
        "all" => vec![
            Box::new(Established),
            Box::new(Lifecycle),
            Box::new(Keepalive),
        ],
        other => return Err(BenchError::Usage(format!("unknown scenario {other:?}"))),
    };
    let mut list: Vec<Box<dyn Scenario>> = vec![Box::new(Baseline)];
    list.extend(splice);
    Ok(list)
}

/// Runs `scenarios` on `bed`, the baseline first (added if missing; run for
/// `opts.baseline_length` when other scenarios follow), printing each scenario's JSON
/// line on `out` as soon as it is measured and a summary on stderr.
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
    let mut baseline_opts = opts.clone();
    if list.len() > 1 {
        // A brief baseline for the ratios; an injected fault is for the scenario named.
        baseline_opts.gen.length = opts.baseline_length;
        baseline_opts.fault = None;
    }
    let (dpdk, cpu) = (report::dpdk_version(), report::cpu_model());
    let mut baseline_mpps = None;
    let mut baseline_cycles = None;
    let mut reports = Vec::with_capacity(list.len());
    let emit = |r: &Report, out: &mut dyn Write| -> Result<(), BenchError> {
        writeln!(out, "{}", r.json()).map_err(|e| BenchError::Setup(format!("stdout: {e}")))?;
        out.flush().ok();
        eprintln!("splicer-bench: {}", r.summary());
        Ok(())
    };
    let runs: Vec<(&dyn Scenario, Layout)> = list
        .iter()
        .flat_map(|s| {
            let layouts = if s.several_workers() {
                Layout::runs(opts.workers, opts.handoff_fraction)
            } else {
                vec![Layout::ONE]
            };
            layouts.into_iter().map(move |l| (s.as_ref(), l))
        })
        .collect();
    let mut compare = Compare::default();
    for (s, layout) in runs {
        // Right before each scenario after the (generator-fed) baseline: the
        // self-looped baseline, whose worker cycles the scenario's are quoted against.
        let looped = if baseline_mpps.is_some() {
            let r = self_looped(bed, opts, &dpdk, &cpu)?;
            emit(&r, out)?;
            Some(r.cycles_per_packet)
        } else {
            None
        };
        let o = if baseline_mpps.is_none() {
            s.run(bed, &baseline_opts)?
        } else {
            s.run(
                bed,
                &RunOptions {
                    layout,
                    ..opts.clone()
                },
            )?
        };
        let ctx = Context {
            flows: o.flows,
            burst: opts.gen.burst,
            frame_bytes: o.frame_bytes,
            inflight: o.inflight,
            hugepages: bed.hugepages(),
            tsc_hz: dpdk_bindings::eal::tsc_hz(),
            dpdk: dpdk.clone(),
            cpu: cpu.clone(),
        };
        let mut r = Report::new(s.name(), &o.measurement, &ctx, baseline_mpps, &o.extras);
        match (baseline_cycles, looped) {
            (Some(fed), Some(l)) => {
                r = r.against_baseline_cycles(l);
                r.fed_baseline_cycles_per_packet = Some(report::round(fed, 1));
            }
            _ => {
                baseline_mpps = Some(o.measurement.mpps());
                baseline_cycles = Some(o.measurement.cycles_per_packet());
            }
        }
        if opts.workers > 1 && s.several_workers() {
            workers::describe(&mut r, layout, &o.per_worker, ctx.tsc_hz);
            compare.apply(&mut r, layout);
        }
        emit(&r, out)?;
        reports.push(r);
    }
    Ok(reports)
}

/// The self-looped baseline ([`crate::selfloop`]) for `opts`: the same `--flows` as
/// the generator-fed baseline (its plan), `--inflight` frames, `--payload`, for
/// `--baseline-seconds` after a 100 ms warm-up. Its report's scenario is `selfloop`.
fn self_looped(
    bed: &Testbed,
    opts: &RunOptions,
    dpdk: &str,
    cpu: &str,
) -> Result<Report, BenchError> {
    let plan = FlowPlan::new(opts.flows.unwrap_or(BASELINE_FLOWS)).map_err(BenchError::Usage)?;
    let lp = SelfLoop::new(&plan, opts.gen.inflight as u32, opts.payload, WORKER_MAC);
    let (inflight, frame_bytes) = (lp.inflight() as usize, lp.frame_len());
    let length = match opts.baseline_length {
        Length::Seconds(s) => Duration::from_secs_f64(s),
        Length::Packets(_) => Duration::from_millis(500),
    };
    let (_, m) = bed.run_self_loop(lp, opts.gen.burst, Duration::from_millis(100), length)?;
    let tsc_hz = eal::tsc_hz();
    let measurement = Measurement {
        packets: m.packets,
        seconds: m.cycles as f64 / tsc_hz as f64,
        worker: crate::driver::WorkerSnapshot {
            packets: m.packets,
            busy_cycles: m.cycles,
            ..Default::default()
        },
        verified_total: inflight as u64,
    };
    let ctx = Context {
        flows: plan.flows(),
        burst: opts.gen.burst,
        frame_bytes,
        inflight,
        hugepages: bed.hugepages(),
        tsc_hz,
        dpdk: dpdk.into(),
        cpu: cpu.into(),
    };
    let extras = Extras {
        longest_stall_ms: Some(m.longest_gap as f64 * 1e3 / tsc_hz as f64),
        ..Extras::default()
    };
    Ok(Report::new("selfloop", &measurement, &ctx, None, &extras))
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
        assert_eq!(names("lifecycle"), ["baseline", "lifecycle"]);
        assert_eq!(
            names("all"),
            ["baseline", "established", "lifecycle", "keepalive"]
        );
        assert!(named("nonsense").is_err());
        assert_eq!(names("pipelined"), ["baseline", "pipelined"]);
        assert_eq!(pipelined_pool(32, 8), 32 * 3 + 8);
        assert_eq!(pipelined_pool(32, 32), 32 * 11 + 8);
        assert_eq!(maxconns_for(100_000), u16::MAX);
        assert!(response_frame(6) > 60);
    }
}
