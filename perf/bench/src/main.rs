//! The `splicer-bench` command. See perf/README.md.

#![forbid(unsafe_code)]

use clap::{Args, Parser, Subcommand};
use splicer_bench::baseline::Fault;
use splicer_bench::bed::{self, BedConfig, Memory, Testbed};
use splicer_bench::driver::{GenConfig, Length};
use splicer_bench::hugepages::{self, Reservation};
use splicer_bench::packet::MAX_PAYLOAD;
use splicer_bench::scenario::{self, RunOptions};
use splicer_bench::splice::peers::MAX_DEPTH;
use splicer_bench::workers::Layout;
use splicer_bench::BenchError;
use std::process::ExitCode;
use std::time::Duration;

/// Splicer's packet-level benchmark: a verifying generator and the worker fast path on a
/// cross-connected net_ring pair, one JSON line per scenario on stdout.
#[derive(Parser, Debug)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The bare rx -> rewrite (addresses, ports, seq/ack, incremental checksums) -> tx loop:
    /// the ceiling every fast-path figure is quoted against.
    Baseline(Opts),
    /// The real worker pipeline forwarding data segments of already-spliced flows, both
    /// directions (--flows 10000 by default; 100000, 1000000...). Baseline first.
    Established(Opts),
    /// The real worker pipeline serving whole requests: SYN, handshake, request, splice
    /// onto a pooled server connection, response, FIN; one client connection per request
    /// (--flows concurrent clients). Baseline first.
    Lifecycle(Opts),
    /// The real worker pipeline serving --requests-per-conn requests per client
    /// connection, each routed by its path (/img/ to two reals, the rest to two others).
    /// Baseline first.
    Keepalive(Opts),
    /// The real worker pipeline serving batches of --depth pipelined GETs per client
    /// connection (kept open), sent ahead to three reals in parallel and merged in
    /// order (--flows concurrent clients, default 32). Baseline first.
    Pipelined(Opts),
    /// Every packet scenario, baseline first, in one run.
    All(Opts),
}

#[derive(Args, Debug)]
struct Opts {
    /// Length of the measurement in seconds (after the warm-up).
    #[arg(long, default_value_t = 5.0, conflicts_with = "packets")]
    seconds: f64,
    /// Length of the measurement in verified packets instead of seconds.
    #[arg(long)]
    packets: Option<u64>,
    /// Flows the generator plays: baseline and established flows (defaults 1024 and
    /// 10000), concurrent client connections of lifecycle and keepalive (default 256).
    /// The baseline run before another scenario uses the same number.
    #[arg(long)]
    flows: Option<u32>,
    /// Requests per client connection (keepalive).
    #[arg(long, default_value_t = 100)]
    requests_per_conn: u32,
    /// Requests per batch a pipelined client writes at once (pipelined; 1..=64).
    #[arg(long, default_value_t = 8)]
    depth: u32,
    /// Length of the baseline run that precedes another scenario, in seconds (default:
    /// --seconds, at most 2).
    #[arg(long)]
    baseline_seconds: Option<f64>,
    /// Largest rx burst, on both the worker and the generator.
    #[arg(long, default_value_t = 32)]
    burst: usize,
    /// Packets the generator keeps in flight.
    #[arg(long, default_value_t = 512)]
    inflight: usize,
    /// TCP payload bytes per segment (6 makes 60-byte frames, the Ethernet minimum);
    /// the response body of lifecycle and keepalive.
    #[arg(long, default_value_t = 6)]
    payload: usize,
    /// TCP options of the established scenario's clients and servers: `linux` (what
    /// Linux sends: MSS 1460, SACK permitted, timestamps, window scale 7 on the SYN, then
    /// timestamps on every segment; the default of `established`) or `none` (MSS 1460
    /// only; the only choice of the other scenarios).
    #[arg(long, value_parser = ["linux", "none"])]
    client_options: Option<String>,
    /// Unmeasured warm-up before the measurement, in milliseconds.
    #[arg(long, default_value_t = 200)]
    warmup_ms: u64,
    /// Run the EAL without hugepages (--no-huge -m 512): slower, for the CI smoke run.
    #[arg(long, conflicts_with_all = ["hugepages", "reserve_hugepages"])]
    no_huge: bool,
    /// Reserve 2 GiB of 2 MB hugepages for the run (nr_hugepages raised until 1024
    /// pages are free) and restore nr_hugepages when the run ends. Implies --hugepages.
    /// Needs root.
    #[arg(long)]
    reserve_hugepages: bool,
    /// Require hugepages (fail with instructions if too few are free). Without either
    /// flag, hugepages are used when at least 256 MB of them are free.
    #[arg(long)]
    hugepages: bool,
    /// CPUs of the generator (main lcore) and of the worker lcore; with --workers N,
    /// of the generator and each worker (N + 1 CPUs). A worker given none is placed
    /// after the last one given, wrapping around the machine's CPUs (on 2 CPUs: worker
    /// 1 shares CPU 0 with the generator).
    #[arg(long, value_delimiter = ',', num_args = 1.., default_values_t = [0, 1])]
    cpus: Vec<u32>,
    /// Workers (1..=4). Above 1, `established` and `lifecycle` run three times in the
    /// invocation: on one worker, on N workers with every frame on its owner's queue,
    /// and on N workers with --handoff-fraction of the connection directions on
    /// another's (hand-offs through the owner's ring); the lines say `scaling` and the
    /// hand-off's cycles per packet. See perf/README.md, "Several workers".
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// With --workers: the fraction (0..=1) of connection directions the hand-off run
    /// puts on a queue whose worker does not own them (default 1 - 1/N: a NIC's hash
    /// that knows nothing of Splicer's).
    #[arg(long)]
    handoff_fraction: Option<f64>,
    /// The EAL's --file-prefix (default splbench-<pid>).
    #[arg(long)]
    file_prefix: Option<String>,
    /// The EAL's --log-level.
    #[arg(long, default_value = "error")]
    eal_log_level: String,
    /// Testing only: the worker makes this mistake once, on packet N (KIND[@N], KIND one
    /// of checksum, seq, port, drop; N defaults to 1000). The run must then fail.
    #[arg(long, value_name = "KIND[@N]")]
    inject_fault: Option<String>,
}

fn parse_fault(s: &str) -> Result<(Fault, u64), BenchError> {
    let (kind, at) = match s.split_once('@') {
        Some((k, n)) => (
            k,
            n.parse().map_err(|_| {
                BenchError::Usage(format!("--inject-fault: bad packet number {n:?}"))
            })?,
        ),
        None => (s, 1000),
    };
    let fault = kind
        .parse()
        .map_err(|e| BenchError::Usage(format!("--inject-fault: {e}")))?;
    Ok((fault, at))
}

fn options(name: &str, o: &Opts) -> Result<(BedConfig, RunOptions), BenchError> {
    let usage = |m: String| Err(BenchError::Usage(m));
    if !(o.seconds > 0.0 && o.seconds.is_finite()) {
        return usage(format!("--seconds must be positive, not {}", o.seconds));
    }
    if o.packets == Some(0) {
        return usage("--packets must be positive".into());
    }
    if o.burst == 0 || o.burst > 512 {
        return usage(format!("--burst must be 1..=512, not {}", o.burst));
    }
    if o.inflight < o.burst || o.inflight > bed::MAX_INFLIGHT {
        return usage(format!(
            "--inflight must be between --burst ({}) and {}, not {}",
            o.burst,
            bed::MAX_INFLIGHT,
            o.inflight
        ));
    }
    if o.payload > MAX_PAYLOAD {
        return usage(format!("--payload must be at most {MAX_PAYLOAD}"));
    }
    if o.depth == 0 || o.depth > MAX_DEPTH {
        return usage(format!("--depth must be 1..={MAX_DEPTH}, not {}", o.depth));
    }
    let baseline_seconds = o.baseline_seconds.unwrap_or(o.seconds.min(2.0));
    if !(baseline_seconds > 0.0 && baseline_seconds.is_finite()) {
        return usage(format!(
            "--baseline-seconds must be positive, not {baseline_seconds}"
        ));
    }
    if o.workers == 0 || o.workers > MAX_WORKERS {
        return usage(format!(
            "--workers must be 1..={MAX_WORKERS}, not {}",
            o.workers
        ));
    }
    if o.workers > 1 && !matches!(name, "established" | "lifecycle" | "all") {
        return usage(format!(
            "--workers: established and lifecycle only, not {name}"
        ));
    }
    let handoff_fraction = o.handoff_fraction.unwrap_or(1.0 - 1.0 / o.workers as f64);
    if !(0.0..=1.0).contains(&handoff_fraction) {
        return usage(format!(
            "--handoff-fraction must be between 0 and 1, not {handoff_fraction}"
        ));
    }
    if o.cpus.len() < 2 || o.cpus.len() > o.workers + 1 {
        return usage(format!(
            "--cpus lists {} CPUs for the generator and {} workers",
            o.cpus.len(),
            o.workers
        ));
    }
    let memory = if o.no_huge {
        Memory::NoHuge
    } else if o.hugepages || o.reserve_hugepages {
        Memory::Hugepages
    } else {
        Memory::Auto
    };
    let bed = BedConfig {
        memory,
        generator_cpu: o.cpus[0],
        worker_cpus: worker_cpus(&o.cpus, o.workers, available_cpus()),
        file_prefix: o
            .file_prefix
            .clone()
            .unwrap_or_else(|| format!("splbench-{}", std::process::id())),
        inflight: o.inflight,
        mbufs: if name == "baseline" {
            0
        } else {
            bed::SPLICE_MBUFS
        },
        log_level: o.eal_log_level.clone(),
    };
    let run = RunOptions {
        flows: o.flows,
        payload: o.payload,
        requests_per_conn: o.requests_per_conn,
        depth: o.depth,
        gen: GenConfig {
            burst: o.burst,
            inflight: o.inflight,
            warmup: Duration::from_millis(o.warmup_ms),
            length: match o.packets {
                Some(p) => Length::Packets(p),
                None => Length::Seconds(o.seconds),
            },
            idle_timeout: Duration::from_secs(2),
        },
        baseline_length: Length::Seconds(baseline_seconds),
        fault: o.inject_fault.as_deref().map(parse_fault).transpose()?,
        workers: o.workers,
        handoff_fraction,
        layout: Layout::ONE,
        linux_options: match (name, o.client_options.as_deref()) {
            // Only `established` reads it: `all` gives it to its `established` run.
            ("established" | "all", None | Some("linux")) => true,
            (_, None | Some("none")) => false,
            _ => {
                return usage(format!(
                    "--client-options linux: established only, not {name}"
                ))
            }
        },
    };
    Ok((bed, run))
}

/// Most `--workers` (the bed's queues; DPDK allows 16 rings per port).
const MAX_WORKERS: usize = 4;

/// The machine's CPUs.
fn available_cpus() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
}

/// The CPUs of `workers` workers from `--cpus` (generator first): those listed, then
/// each next worker on the CPU after the previous one's, modulo `cpus_online`.
fn worker_cpus(cpus: &[u32], workers: usize, cpus_online: u32) -> Vec<u32> {
    let mut w: Vec<u32> = cpus[1..].iter().copied().take(workers).collect();
    while w.len() < workers {
        let next = (w.last().copied().unwrap_or(cpus[0]) + 1) % cpus_online.max(1);
        w.push(next);
    }
    w
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (name, opts) = match &cli.command {
        Command::Baseline(o) => ("baseline", o),
        Command::Established(o) => ("established", o),
        Command::Lifecycle(o) => ("lifecycle", o),
        Command::Keepalive(o) => ("keepalive", o),
        Command::Pipelined(o) => ("pipelined", o),
        Command::All(o) => ("all", o),
    };
    match run(name, opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("splicer-bench: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn run(name: &str, opts: &Opts) -> Result<(), BenchError> {
    let (bed_cfg, run_opts) = options(name, opts)?;
    let scenarios = scenario::named(name)?;
    let _reservation = if opts.reserve_hugepages {
        let runtime = std::path::Path::new("/var/run/dpdk").join(&bed_cfg.file_prefix);
        Some(Reservation::reserve(
            &hugepages::kernel_dir(),
            hugepages::RESERVE_PAGES,
            move || {
                let _ = std::fs::remove_dir_all(&runtime);
            },
        )?)
    } else {
        None
    };
    let bed = Testbed::start(&bed_cfg)?;
    let result = scenario::run(&bed, scenarios, &run_opts, &mut std::io::stdout().lock());
    bed.shutdown();
    result.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::worker_cpus;

    #[test]
    fn workers_without_a_cpu_take_the_next_ones() {
        assert_eq!(worker_cpus(&[0, 1], 1, 2), [1]);
        // The 2-CPU VM: the second worker shares the generator's CPU.
        assert_eq!(worker_cpus(&[0, 1], 2, 2), [1, 0]);
        assert_eq!(worker_cpus(&[0, 1], 3, 8), [1, 2, 3]);
        assert_eq!(worker_cpus(&[2, 3, 5], 2, 8), [3, 5]);
    }
}
