//! The test bed: EAL, mempool and a cross-connected pair of net_ring ports, with no
//! kernel and no NIC.
//!
//! ```text
//!   main lcore 0 (CPU g)                         worker lcore 1 (CPU w)
//!   generator ── port net_ring_splbench_gen      port net_ring_splbench_wrk ── worker
//!                   tx ───────────► ring "to worker" ───────────► rx
//!                   rx ◄─────────── ring "to gen"    ◄─────────── tx
//! ```
//!
//! Two single-producer/single-consumer rings, two ports (`rte_eth_from_rings`), each port
//! one rx and one tx queue. The generator runs on the main lcore, the worker on lcore 1;
//! `--lcores 0@g,1@w` pins them to different CPUs.
//!
//! With W workers (`--workers`), each port has W queues, one pair of rings per worker
//! (worker *w* on lcore *w* + 1 polls queue *w*), and the workers are joined by the
//! real worker's hand-off rings and neighbour queues ([`splicer_worker::Mesh`]): the
//! generator chooses the queue of each frame as a NIC's RSS would.

use crate::driver::{self, Forwarder, GenConfig, Measurement, Traffic, WorkerShared};
use crate::selfloop::SelfLoop;
use crate::BenchError;
use dpdk_bindings::mempool::{Mempool, DEFAULT_DATA_ROOM};
use dpdk_bindings::port::{self, PortConfig};
use dpdk_bindings::ring::MbufRing;
use dpdk_bindings::Mbuf;
use dpdk_bindings::{eal, Eal, Port};
use splicer_worker::Mesh;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Slots in each of the two rings; the generator keeps fewer packets than this in flight.
pub const RING_SLOTS: u32 = 4096;

/// Largest `--inflight`: what one ring holds.
pub const MAX_INFLIGHT: usize = RING_SLOTS as usize - 1;

/// Slots of each worker's hand-off ring (`dataplane.handoff_ring_size`'s default).
pub const HANDOFF_SLOTS: u32 = 4096;

/// Per-lcore mempool cache.
const POOL_CACHE: u32 = 256;

/// Where the kernel reports 2 MB hugepages.
pub const HUGEPAGES_2M: &str = "/sys/kernel/mm/hugepages/hugepages-2048kB";

/// Free hugepage memory the bench asks for before it starts the EAL on hugepages: the
/// mempool (~20 MB), the rings and the EAL's own heap fit with room to spare.
pub const MIN_HUGEPAGE_BYTES: u64 = 256 << 20;

/// Mbufs the splice scenarios need: the configuration's default `mempool_size`, room
/// for every packet the generator, the rings and the pipeline (held while a neighbour
/// resolves) may hold at once.
pub const SPLICE_MBUFS: u32 = 16_383;

/// Memory given to the EAL with `--no-huge` (`-m`), in MB.
pub const NO_HUGE_MEMORY_MB: u32 = 512;

/// Whether the EAL runs on hugepages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Memory {
    /// Hugepages if enough are free, otherwise `--no-huge` (with a note on stderr).
    Auto,
    /// Hugepages, or fail with a message saying how to reserve them.
    Hugepages,
    /// `--no-huge -m 512`: anonymous 4 KB pages (the CI smoke run).
    NoHuge,
}

/// How to set the bed up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BedConfig {
    /// Hugepages or not.
    pub memory: Memory,
    /// CPU of the main lcore (the generator).
    pub generator_cpu: u32,
    /// CPU of each worker lcore (one worker: the usual case).
    pub worker_cpus: Vec<u32>,
    /// The EAL's `--file-prefix`; unique per process.
    pub file_prefix: String,
    /// Packets the generator keeps in flight (sizes the mempool).
    pub inflight: usize,
    /// Mbufs the mempool must hold at least (0: just what the baseline needs); the splice
    /// scenarios ask for [`SPLICE_MBUFS`].
    pub mbufs: u32,
    /// Extra EAL log level argument (`--log-level` value).
    pub log_level: String,
}

/// Free hugepage memory in bytes over every page size the kernel offers.
pub fn free_hugepage_bytes(root: &Path) -> u64 {
    let Ok(dir) = std::fs::read_dir(root) else {
        return 0;
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let kb: u64 = name
                .strip_prefix("hugepages-")?
                .strip_suffix("kB")?
                .parse()
                .ok()?;
            let free: u64 = std::fs::read_to_string(e.path().join("free_hugepages"))
                .ok()?
                .trim()
                .parse()
                .ok()?;
            Some(kb * 1024 * free)
        })
        .sum()
}

/// Decides hugepages or not for `memory` given `free` bytes of free hugepages.
pub fn choose_hugepages(memory: Memory, free: u64) -> Result<bool, BenchError> {
    match memory {
        Memory::NoHuge => Ok(false),
        Memory::Auto => Ok(free >= MIN_HUGEPAGE_BYTES),
        Memory::Hugepages if free >= MIN_HUGEPAGE_BYTES => Ok(true),
        Memory::Hugepages => Err(BenchError::Setup(format!(
            "--hugepages: only {} MB of hugepages are free, at least {} MB are needed; reserve 2 GiB of \
             2 MB pages with `echo 1024 > {HUGEPAGES_2M}/nr_hugepages` (as root; release them \
             afterwards by writing 0), or run with --no-huge",
            free >> 20,
            MIN_HUGEPAGE_BYTES >> 20
        ))),
    }
}

/// The EAL argv for `cfg` (`hugepages` already decided).
pub fn eal_args(cfg: &BedConfig, hugepages: bool) -> Vec<String> {
    let mut a: Vec<String> = vec![
        "splicer-bench".into(),
        "--no-pci".into(),
        "--file-prefix".into(),
        cfg.file_prefix.clone(),
        "--lcores".into(),
        std::iter::once(format!("0@{}", cfg.generator_cpu))
            .chain(
                cfg.worker_cpus
                    .iter()
                    .enumerate()
                    .map(|(w, cpu)| format!("{}@{cpu}", w + 1)),
            )
            .collect::<Vec<_>>()
            .join(","),
        "--main-lcore".into(),
        "0".into(),
        "--log-level".into(),
        cfg.log_level.clone(),
    ];
    if hugepages {
        // No files in hugetlbfs or /var/run beyond the runtime folder; pages are taken as
        // the heap grows.
        a.push("--in-memory".into());
    } else {
        // `--in-memory` is refused together with `--no-huge`; `--no-shconf` keeps the
        // shared config out of the file system instead.
        a.extend(
            ["--no-huge", "--no-shconf", "-m"]
                .iter()
                .map(|s| s.to_string()),
        );
        a.push(NO_HUGE_MEMORY_MB.to_string());
    }
    a
}

/// Removes the EAL runtime folder when dropped: DPDK leaves it behind even after a clean
/// `rte_eal_cleanup`.
#[derive(Debug)]
struct RuntimeDir(PathBuf);

impl Drop for RuntimeDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            if e.kind() != std::io::ErrorKind::NotFound {
                eprintln!("splicer-bench: cannot remove {}: {e}", self.0.display());
            }
        }
    }
}

/// The live bed. [`Testbed::shutdown`] takes it down in the order DPDK requires.
#[derive(Debug)]
pub struct Testbed {
    eal: Eal,
    pool: Arc<Mempool>,
    /// generator → each worker, each worker → generator, the self-loop's.
    rings: Vec<MbufRing>,
    gen_port: Port,
    worker_port: Port,
    loop_port: Port,
    worker_lcores: Vec<u32>,
    /// Per worker: whether it shares its CPU with the generator or another worker.
    shares_cpu: Vec<bool>,
    /// Several workers: their hand-off rings and neighbour queues.
    mesh: Option<MeshHandle>,
    hugepages: bool,
    _runtime_dir: RuntimeDir,
}

impl Testbed {
    /// Starts the EAL and builds the ports.
    pub fn start(cfg: &BedConfig) -> Result<Testbed, BenchError> {
        if cfg.worker_cpus.first() == Some(&cfg.generator_cpu) {
            eprintln!(
                "splicer-bench: generator and worker share CPU {}: figures will be meaningless",
                cfg.generator_cpu
            );
        }
        for (w, cpu) in cfg.worker_cpus.iter().enumerate().skip(1) {
            if *cpu == cfg.generator_cpu || cfg.worker_cpus[..w].contains(cpu) {
                eprintln!(
                    "splicer-bench: worker {w} shares CPU {cpu} with the generator or another worker: its figures, and the total, are a lower bound"
                );
            }
        }
        let free = free_hugepage_bytes(Path::new("/sys/kernel/mm/hugepages"));
        let hugepages = choose_hugepages(cfg.memory, free)?;
        if cfg.memory == Memory::Auto && !hugepages {
            eprintln!(
                "splicer-bench: {} MB of hugepages free (< {} MB): running with --no-huge (slower; see perf/README.md to reserve hugepages)",
                free >> 20,
                MIN_HUGEPAGE_BYTES >> 20
            );
        }
        let args = eal_args(cfg, hugepages);
        let eal = Eal::init(&args).map_err(|e| {
            let hint = if hugepages {
                " (hugepages: check that the reserved pages are free and that this process may use them)"
            } else {
                ""
            };
            BenchError::Setup(format!(
                "DPDK EAL initialisation failed with `{}`: {e}{hint}",
                args[1..].join(" ")
            ))
        })?;
        let runtime_dir = RuntimeDir(eal.runtime_dir());
        match Self::build(eal, cfg, hugepages, runtime_dir) {
            Ok(bed) => Ok(bed),
            Err((eal, e)) => {
                if let Err(c) = eal.cleanup() {
                    eprintln!("splicer-bench: rte_eal_cleanup: {c}");
                }
                Err(e)
            }
        }
    }

    #[allow(clippy::result_large_err)]
    fn build(
        eal: Eal,
        cfg: &BedConfig,
        hugepages: bool,
        runtime_dir: RuntimeDir,
    ) -> Result<Testbed, (Eal, BenchError)> {
        let setup = |e: dpdk_bindings::Error| BenchError::Setup(e.to_string());
        let workers = cfg.worker_cpus.len();
        let worker_lcores = eal.worker_lcores();
        if workers == 0 || worker_lcores.len() < workers {
            return Err((
                eal,
                BenchError::Setup(format!(
                    "the EAL has {} worker lcores, {workers} needed",
                    worker_lcores.len()
                )),
            ));
        }
        let socket = eal::socket_id();
        // The window, plus a burst in each lcore cache, plus what the ports' queues may
        // hold while being set up: a power of two minus one, as DPDK prefers.
        let n = ((cfg.inflight + 2 * POOL_CACHE as usize + 1024).next_power_of_two() - 1) as u32;
        let n = n.max(cfg.mbufs);
        let pool = match Mempool::create_pktmbuf(
            "splbench_pool",
            n,
            POOL_CACHE,
            DEFAULT_DATA_ROOM,
            socket,
        ) {
            Ok(p) => Arc::new(p),
            Err(e) => return Err((eal, setup(e))),
        };
        let ring = |name: &str| MbufRing::create(name, RING_SLOTS, socket, true, true);
        // Worker 0's rings keep the one-worker names.
        let suffix = |w: usize| if w == 0 { String::new() } else { w.to_string() };
        let made: Result<Vec<MbufRing>, _> = (0..workers)
            .map(|w| ring(&format!("splbench_to_wrk{}", suffix(w))))
            .chain((0..workers).map(|w| ring(&format!("splbench_to_gen{}", suffix(w)))))
            .chain(std::iter::once(ring("splbench_loop")))
            .collect();
        let rings = match made {
            Ok(r) => r,
            Err(e) => return Err((eal, setup(e))),
        };
        // As `splicer run` makes them: multi-producer, single-consumer.
        let mesh = if workers > 1 {
            let made: Result<Vec<MbufRing>, _> = (0..workers)
                .map(|w| {
                    MbufRing::create(
                        &format!("splbench_handoff{w}"),
                        HANDOFF_SLOTS,
                        socket,
                        false,
                        true,
                    )
                })
                .collect();
            match made {
                Ok(r) => Some(MeshHandle(Arc::new(Mesh::new(r)))),
                Err(e) => return Err((eal, setup(e))),
            }
        } else {
            None
        };
        let (to_worker, rest) = rings.split_at(workers);
        let (to_gen, looped) = rest.split_at(workers);
        let ports = (|| {
            let (to_worker, to_gen): (Vec<&MbufRing>, Vec<&MbufRing>) =
                (to_worker.iter().collect(), to_gen.iter().collect());
            let gen_port = port::from_rings("splbench_gen", &to_gen, &to_worker, socket)?;
            let worker_port = port::from_rings("splbench_wrk", &to_worker, &to_gen, socket)?;
            // The self-looped baseline's port: what it transmits it receives again.
            let loop_port =
                port::from_rings("splbench_loop", &[&looped[0]], &[&looped[0]], socket)?;
            let queues = PortConfig {
                rx_queues: workers as u16,
                tx_queues: workers as u16,
                rx_descriptors: RING_SLOTS as u16,
                tx_descriptors: RING_SLOTS as u16,
            };
            for p in [gen_port, worker_port] {
                p.configure(&queues, &pool, socket)?;
                p.start()?;
            }
            let conf = PortConfig {
                rx_queues: 1,
                tx_queues: 1,
                rx_descriptors: RING_SLOTS as u16,
                tx_descriptors: RING_SLOTS as u16,
            };
            loop_port.configure(&conf, &pool, socket)?;
            loop_port.start()?;
            Ok((gen_port, worker_port, loop_port))
        })();
        let (gen_port, worker_port, loop_port) = match ports {
            Ok(p) => p,
            Err(e) => return Err((eal, setup(e))),
        };
        Ok(Testbed {
            eal,
            pool,
            rings,
            gen_port,
            worker_port,
            loop_port,
            worker_lcores: worker_lcores[..workers].to_vec(),
            shares_cpu: shared_cpus(cfg),
            mesh,
            hugepages,
            _runtime_dir: runtime_dir,
        })
    }

    /// Whether the EAL runs on hugepages.
    pub fn hugepages(&self) -> bool {
        self.hugepages
    }

    /// Worker lcores (and queues) of the bed.
    pub fn workers(&self) -> usize {
        self.worker_lcores.len()
    }

    /// The hand-off rings and neighbour queues between the workers (several only).
    pub fn mesh(&self) -> Option<Arc<Mesh>> {
        self.mesh.as_ref().map(|m| Arc::clone(&m.0))
    }

    /// The mbuf pool, for code on the worker lcore that originates packets.
    pub fn pool(&self) -> Arc<Mempool> {
        Arc::clone(&self.pool)
    }

    /// One run: `forwarder` on the worker lcore, `traffic` driven by the generator on
    /// this (the main) lcore. The worker is stopped and collected before this returns,
    /// whatever the outcome.
    pub fn run<T: Traffic, F: Forwarder>(
        &self,
        traffic: &mut T,
        forwarder: F,
        cfg: &GenConfig,
    ) -> Result<Measurement, BenchError> {
        self.run_with(forwarder, cfg.burst, |port, pool, shared| {
            driver::generate(port, pool, traffic, cfg, shared)
        })
    }

    /// One run of `forwarder` on the worker lcore (rx bursts of `burst`) while
    /// `generator` runs on this lcore with the generator's port, the pool and the
    /// worker's counters. The worker is stopped and collected before this returns,
    /// whatever the outcome.
    pub fn run_with<F: Forwarder, R>(
        &self,
        forwarder: F,
        burst: usize,
        generator: impl FnOnce(Port, &Mempool, &WorkerShared) -> Result<R, BenchError>,
    ) -> Result<R, BenchError> {
        self.run_workers(vec![forwarder], burst, |port, pool, shared| {
            generator(port, pool, &shared[0])
        })
    }

    /// One run of `forwarders.len()` workers (at most [`Testbed::workers`]): forwarder
    /// *w* on worker lcore *w*, polling queue *w*, while `generator` runs on this lcore
    /// with the generator's port (queue *w* reaches worker *w*), the pool and each
    /// worker's counters. Every worker is stopped and collected before this returns,
    /// whatever the outcome; the hand-off rings are emptied.
    pub fn run_workers<F: Forwarder, R>(
        &self,
        forwarders: Vec<F>,
        burst: usize,
        generator: impl FnOnce(Port, &Mempool, &[Arc<WorkerShared>]) -> Result<R, BenchError>,
    ) -> Result<R, BenchError> {
        if forwarders.is_empty() || forwarders.len() > self.worker_lcores.len() {
            return Err(BenchError::Setup(format!(
                "{} workers asked for, the bed has {}",
                forwarders.len(),
                self.worker_lcores.len()
            )));
        }
        // One worker sharing the generator's CPU was always "meaningless" (a warning):
        // it keeps its old loop. Several workers on too few CPUs take turns.
        let several = forwarders.len() > 1;
        let shared: Vec<Arc<WorkerShared>> = (0..forwarders.len())
            .map(|w| Arc::new(WorkerShared::sharing(several && self.shares_cpu[w])))
            .collect();
        let mut launched = Vec::with_capacity(forwarders.len());
        let mut failed = None;
        for (w, mut forwarder) in forwarders.into_iter().enumerate() {
            let worker_shared = Arc::clone(&shared[w]);
            let port = self.worker_port;
            let lcore = self.worker_lcores[w];
            match self.eal.launch(lcore, move || {
                driver::worker_loop(port, w as u16, burst, &mut forwarder, &worker_shared);
                0
            }) {
                Ok(()) => launched.push(lcore),
                Err(e) => {
                    failed = Some(BenchError::Setup(format!("cannot launch worker {w}: {e}")));
                    break;
                }
            }
        }
        let result = match failed {
            Some(e) => Err(e),
            None => generator(self.gen_port, &self.pool, &shared),
        };
        for s in &shared {
            s.stop();
        }
        let mut rc = 0;
        for lcore in launched {
            rc |= self.eal.wait_lcore(lcore);
        }
        // Whatever is still in the rings (after a failure) goes back to the pool.
        let mut left = Vec::with_capacity(64);
        for p in [self.gen_port, self.worker_port] {
            for q in 0..self.worker_lcores.len() as u16 {
                while p.rx_burst(q, &mut left, 64) > 0 {
                    left.clear();
                }
            }
        }
        if let Some(MeshHandle(mesh)) = &self.mesh {
            for w in 0..mesh.workers() {
                while mesh.handoff(w).dequeue_burst(&mut left, 64) > 0 {
                    left.clear();
                }
                while mesh.neighbour_queue(w).pop().is_some() {}
            }
        }
        if rc != 0 && result.is_ok() {
            return Err(BenchError::Setup(format!("a worker lcore returned {rc}")));
        }
        result
    }

    /// The self-looped baseline ([`crate::selfloop`]): primes `lp`'s frames into the
    /// loop port, runs the loop on the worker lcore alone (no generator) for `warmup`
    /// then `length`, takes every frame back out and checks them. Returns the loop (its
    /// flow state) and what was measured.
    pub fn run_self_loop(
        &self,
        mut lp: SelfLoop,
        burst: usize,
        warmup: Duration,
        length: Duration,
    ) -> Result<(SelfLoop, LoopMeasurement), BenchError> {
        let hz = eal::tsc_hz();
        let ticks = |d: Duration| (d.as_secs_f64() * hz as f64) as u64;
        let mut frames = Vec::with_capacity(lp.inflight() as usize);
        if !self.pool.alloc_bulk(&mut frames, lp.inflight() as usize) {
            return Err(BenchError::Setup(
                "the mempool cannot supply the self-loop's frames".into(),
            ));
        }
        let len = lp.frame_len();
        for (i, m) in frames.iter_mut().enumerate() {
            let have = m.data_len();
            let ok = if have < len {
                m.append(len - have).is_some()
            } else {
                m.trim(have - len)
            };
            match m.try_data_mut() {
                Some(f) if ok => lp.prime(i as u32, f),
                _ => return Err(BenchError::Setup("cannot size a self-loop frame".into())),
            }
        }
        let port = self.loop_port;
        while !frames.is_empty() {
            port.tx_burst(0, &mut frames);
        }
        let (warm, measure) = (ticks(warmup), ticks(length));
        let out = Arc::new(Mutex::new(None));
        let back = Arc::clone(&out);
        self.eal
            .launch(self.worker_lcores[0], move || {
                let m = self_loop(port, burst, &mut lp, warm, measure);
                *back.lock().unwrap_or_else(|e| e.into_inner()) = Some((lp, m));
                0
            })
            .map_err(|e| BenchError::Setup(format!("cannot launch the self-loop: {e}")))?;
        self.eal.wait_lcore(self.worker_lcores[0]);
        let taken = out.lock().unwrap_or_else(|e| e.into_inner()).take();
        let (lp, m) =
            taken.ok_or_else(|| BenchError::Setup("the self-loop returned nothing".into()))?;
        let mut left = Vec::with_capacity(lp.inflight() as usize + 64);
        while port.rx_burst(0, &mut left, 64) > 0 {}
        let views: Vec<&[u8]> = left.iter().map(|m| m.data()).collect();
        lp.check(&views, m.passes).map_err(BenchError::Lost)?;
        Ok((lp, m))
    }

    /// Stops and closes the ports, frees rings and pool, cleans the EAL up and removes
    /// its runtime folder.
    pub fn shutdown(self) {
        let Testbed {
            eal,
            pool,
            rings,
            mesh,
            gen_port,
            worker_port,
            loop_port,
            _runtime_dir,
            ..
        } = self;
        for p in [gen_port, worker_port, loop_port] {
            if let Err(e) = p.stop().and_then(|()| p.close()) {
                eprintln!("splicer-bench: port {}: {e}", p.name());
            }
        }
        drop(mesh);
        drop(rings);
        drop(pool);
        if let Err(e) = eal.cleanup() {
            eprintln!("splicer-bench: rte_eal_cleanup: {e}");
        }
        drop(_runtime_dir);
    }
}

/// Per worker of `cfg`: whether its CPU is the generator's or another worker's.
pub fn shared_cpus(cfg: &BedConfig) -> Vec<bool> {
    let w = &cfg.worker_cpus;
    (0..w.len())
        .map(|i| {
            w[i] == cfg.generator_cpu || w.iter().enumerate().any(|(j, c)| j != i && *c == w[i])
        })
        .collect()
}

/// The mesh of a bed with several workers (`Mesh` has no `Debug`).
struct MeshHandle(Arc<Mesh>);

impl std::fmt::Debug for MeshHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mesh({} workers)", self.0.workers())
    }
}

/// What the self-looped baseline measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoopMeasurement {
    /// Passes (one rx, one rewrite, one tx of a frame) in the measured interval.
    pub packets: u64,
    /// TSC cycles of the measured interval.
    pub cycles: u64,
    /// Passes in the whole run (warm-up included), for the check.
    pub passes: u64,
    /// The longest time between two bursts, in TSC cycles (preemption).
    pub longest_gap: u64,
}

/// The worker lcore's self-loop: rx burst, a pass per frame, tx burst back into the
/// same ring, one TSC reading per burst; `warm` cycles unmeasured, then `measure`.
fn self_loop(
    port: Port,
    burst: usize,
    lp: &mut SelfLoop,
    warm: u64,
    measure: u64,
) -> LoopMeasurement {
    let mut pkts: Vec<Mbuf> = Vec::with_capacity(burst);
    let start = eal::rdtsc();
    let (mut prev, mut longest_gap) = (start, 0u64);
    let (mut passes, mut t0, mut p0) = (0u64, None, 0u64);
    loop {
        let n = port.rx_burst(0, &mut pkts, burst);
        for m in pkts.iter_mut() {
            if let Some(f) = m.try_data_mut() {
                // A frame the loop cannot pass stays as it is: the check after the
                // run finds it.
                let _ = lp.pass(f);
            }
        }
        while !pkts.is_empty() {
            port.tx_burst(0, &mut pkts);
        }
        passes += n as u64;
        let now = eal::rdtsc();
        longest_gap = longest_gap.max(now.wrapping_sub(prev));
        prev = now;
        match t0 {
            None if now.wrapping_sub(start) >= warm => {
                t0 = Some(now);
                p0 = passes;
            }
            Some(t) if now.wrapping_sub(t) >= measure => {
                return LoopMeasurement {
                    packets: passes - p0,
                    cycles: now.wrapping_sub(t),
                    passes,
                    longest_gap,
                };
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> BedConfig {
        BedConfig {
            memory: Memory::Auto,
            generator_cpu: 0,
            worker_cpus: vec![1],
            file_prefix: "splbench-test".into(),
            inflight: 512,
            mbufs: 0,
            log_level: "error".into(),
        }
    }

    #[test]
    fn eal_args_pin_and_choose_memory() {
        let a = eal_args(&cfg(), false);
        let s = a.join(" ");
        assert!(s.contains("--no-pci"));
        assert!(s.contains("--file-prefix splbench-test"));
        assert!(s.contains("--lcores 0@0,1@1 "));
        let two = BedConfig {
            worker_cpus: vec![1, 0],
            ..cfg()
        };
        assert!(eal_args(&two, false)
            .join(" ")
            .contains("--lcores 0@0,1@1,2@0 "));
        assert_eq!(shared_cpus(&two), [false, true]);
        assert_eq!(shared_cpus(&cfg()), [false]);
        let apart = BedConfig {
            worker_cpus: vec![1, 2],
            ..cfg()
        };
        assert_eq!(shared_cpus(&apart), [false, false]);
        assert!(s.contains("--no-huge --no-shconf -m 512"));
        assert!(!s.contains("--in-memory"));
        let h = eal_args(&cfg(), true).join(" ");
        assert!(h.contains("--in-memory") && !h.contains("--no-huge"));
    }

    #[test]
    fn hugepage_choice() {
        let plenty = 2 << 30;
        assert!(choose_hugepages(Memory::Auto, plenty).unwrap());
        assert!(!choose_hugepages(Memory::Auto, 0).unwrap());
        assert!(!choose_hugepages(Memory::NoHuge, plenty).unwrap());
        assert!(choose_hugepages(Memory::Hugepages, plenty).unwrap());
        let e = choose_hugepages(Memory::Hugepages, 0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("nr_hugepages") && e.contains("--no-huge"), "{e}");
    }

    #[test]
    fn free_hugepages_are_summed_over_sizes() {
        let dir = std::env::temp_dir().join(format!("splbench-hp-{}", std::process::id()));
        for (size, free) in [("2048kB", "3"), ("1048576kB", "1")] {
            let d = dir.join(format!("hugepages-{size}"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("free_hugepages"), format!("{free}\n")).unwrap();
        }
        std::fs::create_dir_all(dir.join("unrelated")).unwrap();
        assert_eq!(free_hugepage_bytes(&dir), 3 * (2 << 20) + (1 << 30));
        assert_eq!(free_hugepage_bytes(&dir.join("missing")), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
