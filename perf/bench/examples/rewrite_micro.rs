//! The per-packet cost of the baseline's three pieces of work on one core, cache-hot and
//! with no DPDK: the generator's fill, the worker's bare rewrite, the generator's verify.
//! A profiling aid: what `splicer-bench baseline` measures on top of this is the
//! hand-over of every packet between two cores (mbuf and data cache lines, ring slots).
//!
//! `cargo run --release -p splicer-bench --example rewrite_micro [PACKETS]`

#![forbid(unsafe_code)]

use splicer_bench::baseline::{BareRewrite, BaselineTraffic};
use splicer_bench::driver::Traffic;
use splicer_bench::plan::FlowPlan;
use splicer_bench::scenario::{GENERATOR_MAC, WORKER_MAC};
use std::time::{Duration, Instant};

fn main() {
    let packets: u64 = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("PACKETS must be a number"))
        .unwrap_or(20_000_000);
    let plan = FlowPlan::new(1024).expect("1024 flows");
    let mut traffic = BaselineTraffic::new(&plan, 6, GENERATOR_MAC, WORKER_MAC);
    let mut worker = BareRewrite::new(&plan, WORKER_MAC, GENERATOR_MAC, None);
    let mut frames: Vec<Vec<u8>> = (0..512).map(|_| vec![0u8; traffic.next_len()]).collect();
    let (mut fill, mut rewrite, mut verify) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut done = 0u64;
    while done < packets {
        let a = Instant::now();
        for f in frames.iter_mut() {
            traffic.fill(f);
        }
        let b = Instant::now();
        for f in frames.iter_mut() {
            worker
                .rewrite(f)
                .expect("the worker rewrites its own flows");
        }
        let c = Instant::now();
        for f in frames.iter() {
            traffic.verify(f).expect("the rewrite verifies");
        }
        let d = Instant::now();
        fill += b - a;
        rewrite += c - b;
        verify += d - c;
        done += frames.len() as u64;
    }
    let ns = |t: Duration| t.as_secs_f64() * 1e9 / done as f64;
    println!(
        "per packet, cache-hot, one core: fill {:.1} ns, rewrite {:.1} ns, verify {:.1} ns ({done} packets)",
        ns(fill),
        ns(rewrite),
        ns(verify)
    );
}
