//! A splice scenario with no DPDK: the bench's generator and the real pipeline on `Vec<u8>`
//! packets in one thread ([`splicer_bench::splice::loopback`]), for profiling the
//! pipeline's per-packet work, e.g. with callgrind:
//!
//! ```sh
//! cargo build --release -p splicer-bench --example splice_loop
//! valgrind --tool=callgrind --callgrind-out-file=cg.out \
//!     target/release/examples/splice_loop established 10000 200000
//! callgrind_annotate --inclusive=yes cg.out | grep -E 'Pipeline.*(receive|poll_timers)'
//! ```
//!
//! Arguments: SCENARIO (`established`, `established-linux`, `lifecycle`, `keepalive`,
//! `pipelined`; `established-linux` is `established` with clients and servers using the
//! options Linux does: SACK permitted, timestamps and window scale 7 negotiated,
//! timestamps on every segment), FLOWS
//! (flows or concurrent clients), PACKETS (frames through the pipeline after the
//! set-up), and for `pipelined` DEPTH (requests per batch, 8 by default). It
//! prints the frames each way, the requests, and the wall-clock nanoseconds per frame
//! spent inside the pipeline (including the `Vec` allocations the loopback's sink makes
//! where the worker takes an mbuf from its pool), then a line `measured: frames=F
//! requests=R` for scripts.
//!
//! The measured frames go through one function, `splice_loop::measured`, after the
//! set-up and a warm-up of PACKETS/10 frames, so that callgrind can count them alone
//! (`--toggle-collect=splice_loop::measured`: what `perf/gate.sh` does, see
//! perf/README.md).
//!
//! `SPLICE_LOOP_SLOWDOWN=N` (environment) adds 4·N instructions of useless work
//! per frame inside `Loopback::pipeline_round`: a deliberately slowed build for showing
//! that the instruction-count gate fails. Nothing outside this loopback has it.
//!
//! `SPLICE_LOOP_FORWARD_FOR=replace|append` (environment) sets the virtual's
//! `forward_for = "header"` with that `forward_for_incoming`: every request head then
//! gets `X-Forwarded-For` / `X-Forwarded-Proto`, for measuring what that costs per
//! request (the gate's scenarios run without it).
//!
//! `SPLICE_LOOP_ACCESS_LOG=1` turns the pipeline's access log on (every request kept;
//! the loopback empties the ring outside the measured function, as the control core
//! would): the per-request cost of the log, against the same run without it. The
//! records taken are printed (`access records: N`).

#![forbid(unsafe_code)]

use splicer_bench::scenario::{pipelined_pool, PIPELINED_MAX_HELD};
use splicer_bench::splice::loopback::{nonzero, Loopback};
use splicer_bench::splice::peers::{Config, Mode, ARP_REFRESH_MS};
use splicer_bench::splice::FarmSpec;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let scenario = args.get(1).map_or("established", String::as_str);
    let num = |i: usize, d: u64| args.get(i).map_or(d, |a| a.parse().expect("a number"));
    let flows = num(2, 10_000) as u32;
    let packets = num(3, 1_000_000);
    let (mode, farm, inflight) = match scenario {
        "established" | "established-linux" => (
            Mode::Established,
            FarmSpec::all(flows.div_ceil(16_384).max(4) as u16, 4, u16::MAX),
            512,
        ),
        "lifecycle" => (Mode::Lifecycle, FarmSpec::all(4, 16, 4096), 0),
        "keepalive" => (
            Mode::Keepalive { requests: 100 },
            FarmSpec {
                rules: vec![("/img/", vec![0, 1])],
                bind: vec![2, 3],
                ..FarmSpec::all(4, 16, 4096)
            },
            0,
        ),
        "pipelined" => {
            let depth = num(4, 8) as u32;
            let pool = pipelined_pool(flows, depth);
            (
                Mode::Pipelined { depth },
                FarmSpec {
                    rules: vec![("/r0/", vec![0]), ("/r1/", vec![1])],
                    bind: vec![2],
                    max_held: PIPELINED_MAX_HELD,
                    ..FarmSpec::all(3, pool, pool + 1024)
                },
                0,
            )
        }
        other => panic!("unknown scenario {other}"),
    };
    let mut farm = farm;
    if let Ok(v) = std::env::var("SPLICE_LOOP_FORWARD_FOR") {
        use splicer_http::{ForwardFor, Incoming};
        farm.forward_for = match v.as_str() {
            "replace" => ForwardFor::Header(Incoming::Replace),
            "append" => ForwardFor::Header(Incoming::Append),
            other => panic!("SPLICE_LOOP_FORWARD_FOR: replace or append, not {other:?}"),
        };
    }
    let cfg = Config {
        mode,
        flows,
        inflight,
        payload: 6,
        farm,
        setup_window: 256,
        arp_refresh_ms: ARP_REFRESH_MS,
        linux_options: scenario == "established-linux",
    };
    let mut lb = Loopback::new(cfg, (2 * flows as usize + 8192).max(65_536));
    if std::env::var_os("SPLICE_LOOP_ACCESS_LOG").is_some() {
        lb.access_log(4096);
    }
    if let Ok(v) = std::env::var("SPLICE_LOOP_SLOWDOWN") {
        lb.slowdown = v.parse().expect("SPLICE_LOOP_SLOWDOWN: a number");
    }
    lb.run_until(|t| t.setup_done(), u64::MAX)
        .unwrap_or_else(|e| panic!("{e}"));
    // Let pools fill and caches settle before counting.
    let warm = lb.frames.0 + packets / 10;
    while lb.frames.0 < warm {
        lb.step(1).unwrap_or_else(|e| panic!("{e}"));
    }
    let (f0, r0, ns0) = (lb.frames, lb.traffic.progress().requests, lb.pipeline_ns);
    measured(&mut lb, packets);
    let (rx, tx) = (lb.frames.0 - f0.0, lb.frames.1 - f0.1);
    let requests = lb.traffic.progress().requests - r0;
    let ns = lb.pipeline_ns - ns0;
    println!(
        "{scenario}: {flows} flows, {rx} frames into the pipeline, {tx} out, {requests} requests, {:.1} ns per frame in, {}",
        ns as f64 / rx as f64,
        if requests > 0 {
            format!("{:.0} ns per request", ns as f64 / requests as f64)
        } else {
            String::new()
        }
    );
    println!("measured: frames={rx} requests={requests}");
    if std::env::var_os("SPLICE_LOOP_ACCESS_LOG").is_some() {
        println!("access records: {}", lb.access_records);
    }
    eprintln!("counters: {}", nonzero(&lb.counters()));
}

/// The measured phase: steps until `packets` more frames went into the pipeline. Kept
/// out of line, with a name of its own, for callgrind's `--toggle-collect`.
#[inline(never)]
fn measured(lb: &mut Loopback, packets: u64) {
    let start = lb.frames.0;
    while lb.frames.0 - start < packets {
        lb.step(1).unwrap_or_else(|e| panic!("{e}"));
    }
}
