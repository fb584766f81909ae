//! Start-up and shutdown, in the order DPDK requires: EAL, mempool, ports, rings,
//! workers; then the reverse.

use crate::access_log::AccessWriter;
use crate::announce::{self, Announcer};
use crate::live::{self, Live};
use crate::requests::{notify, Requests};
use crate::server::{ControlState, Endpoints, Hooks};
use crate::stall::{StallWatch, Step};
use crate::stats::{self, StatsBase};
use crossbeam::queue::ArrayQueue;
use dpdk_bindings::eal::CpuSet;
use dpdk_bindings::mempool::Mempool;
use dpdk_bindings::port::{self, PortConfig};
use dpdk_bindings::ring::MbufRing;
use dpdk_bindings::{eal, Eal, Port};
use sd_notify::NotifyState;
use splicer_config::{impair, Config, Dataplane, FarmIds};
use splicer_pipeline::access::AccessRing;
use splicer_pipeline::flow::FlowSettings;
use splicer_pipeline::impair::ImpairSettings;
use splicer_pipeline::presence::neighbour::NeighbourSettings;
use splicer_pipeline::{PortSetup, Settings, WorkerCounters};
use splicer_wire::ipv4::Cidr;
use splicer_wire::EthernetAddress;
use splicer_worker::{AccessLogSetup, Inbox, Mesh, WorkerContext};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Mbuf data room: DPDK's default (2048 bytes + headroom), enough for a 1500-byte MTU
/// frame in one segment.
const MBUF_DATA_ROOM: u16 = 2048 + 128;

/// How often the control core wakes to check for a stop request and serve the control
/// socket and metrics: the most a `splicer ctl` command waits before it is read.
const CONTROL_TICK: Duration = Duration::from_millis(20);
/// How long a graceful stop waits for BIRD to confirm the withdrawal of the VIPs before
/// it refuses new connections anyway (and how long the exit waits for it).
const WITHDRAW_WAIT: Duration = Duration::from_secs(3);
/// Health events the workers can leave for the control core between two of its ticks.
const HEALTH_QUEUE: usize = 4096;

/// Why the appliance could not start (or stop) cleanly. The message names the
/// configuration key to change where there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunError(pub String);

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RunError {}

fn err<T>(msg: impl Into<String>) -> Result<T, RunError> {
    Err(RunError(msg.into()))
}

/// Runs the appliance until a stop is requested (by the signal handler), then shuts
/// down: gracefully (see `dataplane.stop_timeout`) or at once.
pub fn run(config: &Config, requests: Arc<Requests>) -> Result<(), RunError> {
    run_with(config, requests, Hooks::default())
}

/// [`run`], with what the control socket's commands need from the process (see [`Hooks`]).
pub fn run_with(config: &Config, requests: Arc<Requests>, hooks: Hooks) -> Result<(), RunError> {
    // Before DPDK: a socket or port that is taken fails start-up at once. Dropped (and the
    // socket file removed) when this function returns, after DPDK is cleaned up.
    let endpoints = Endpoints::open(&config.dataplane)?;
    let mut control = ControlState::new(hooks);
    let args = config.eal_args("splicer");
    tracing::info!("EAL arguments: {}", args[1..].join(" "));
    // The CPUs this process was started on, before the EAL pins this thread to the main
    // lcore's: the control loop runs on any of them (see `Eal::run_this_thread_on`).
    let started_on = CpuSet::of_this_thread();
    let eal = Eal::init(&args).map_err(|e| {
        RunError(format!(
            "dataplane.eal: DPDK EAL initialisation failed: {e}"
        ))
    })?;
    if let Err(e) = eal.keep_packet_signals_off_this_thread() {
        tracing::warn!("{e}: net_tap's signals may stall the control loop under load");
    }
    match started_on.and_then(|cpus| eal.run_this_thread_on(&cpus).map(|()| cpus)) {
        Ok(cpus) => tracing::info!(
            "control core: runs on CPUs {:?} (the process's), not pinned to the main lcore's",
            cpus.cpus()
        ),
        Err(e) => tracing::warn!(
            "{e}: the control core stays pinned to the main lcore's CPU, where packet processing can starve it"
        ),
    }
    let runtime_dir = eal.runtime_dir();
    let result = run_with_eal(&eal, config, &requests, &endpoints, &mut control);
    if let Err(e) = eal.cleanup() {
        tracing::warn!("rte_eal_cleanup: {e}");
    }
    // DPDK leaves its runtime folder behind even after a clean exit; an appliance that
    // restarts with the same prefix must not trip over it.
    if let Err(e) = std::fs::remove_dir_all(&runtime_dir) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!("cannot remove {}: {e}", runtime_dir.display());
        }
    }
    result
}

fn run_with_eal(
    eal: &Eal,
    config: &Config,
    stop: &Requests,
    endpoints: &Endpoints,
    control: &mut ControlState,
) -> Result<(), RunError> {
    let dp = &config.dataplane;
    let workers = usize::from(dp.workers);
    let lcores = eal.worker_lcores();
    if lcores.len() < workers {
        return err(format!(
            "dataplane.workers: {workers} workers need {} lcores (1 control + {workers} workers) but the EAL has {}; give more with -l or --lcores in dataplane.eal",
            workers + 1,
            eal.lcore_count()
        ));
    }
    if lcores.len() > workers {
        tracing::warn!(
            "{} lcores beyond the {workers} workers stay idle",
            lcores.len() - workers
        );
    }

    let nports = port::count_avail();
    if usize::from(nports) != config.ports.len() {
        return err(format!(
            "port: the configuration has {} [[port]] entries but DPDK created {nports} ports; each [[port]] needs one device (--vdev or a PCI device) in dataplane.eal",
            config.ports.len()
        ));
    }

    let needed = config.ports.len() * workers * usize::from(dp.rx_descriptors + dp.tx_descriptors)
        + (workers + 1) * dp.mempool_cache as usize
        + config.ports.len() * workers * usize::from(dp.burst_size);
    if (dp.mempool_size as usize) < needed {
        return err(format!(
            "dataplane.mempool_size: {} mbufs cannot fill the RX/TX rings of {} ports x {workers} workers; at least {needed} are needed",
            dp.mempool_size,
            config.ports.len()
        ));
    }
    let socket = eal::socket_id();
    let pool = Arc::new(
        Mempool::create_pktmbuf(
            "splicer_mbufs",
            dp.mempool_size,
            dp.mempool_cache,
            MBUF_DATA_ROOM,
            socket,
        )
        .map_err(|e| {
            RunError(format!(
                "dataplane.mempool_size: cannot create the mempool: {e}"
            ))
        })?,
    );

    let ports = start_ports(config, &pool, socket)?;
    let result = run_ports(
        eal,
        config,
        stop,
        &ports,
        &pool,
        &lcores[..workers],
        (endpoints, control),
    );
    for (name, port) in &ports {
        if let Err(e) = port.stop() {
            tracing::warn!("port {name}: {e}");
        }
        if let Err(e) = port.close() {
            tracing::warn!("port {name}: {e}");
        }
    }
    result
}

fn start_ports(
    config: &Config,
    pool: &Mempool,
    socket: i32,
) -> Result<Vec<(String, Port)>, RunError> {
    let dp = &config.dataplane;
    let mut ports = Vec::with_capacity(config.ports.len());
    for (i, pc) in config.ports.iter().enumerate() {
        let key = format!("port[{i}]");
        let port = Port::new(i as u16).map_err(|e| RunError(format!("{key}: {e}")))?;
        let info = port.info().map_err(|e| RunError(format!("{key}: {e}")))?;
        if info.max_rx_queues < dp.workers || info.max_tx_queues < dp.workers {
            return err(format!(
                "dataplane.workers: port {} ({}) supports {} RX / {} TX queues, fewer than the {} workers",
                pc.name, info.driver_name, info.max_rx_queues, info.max_tx_queues, dp.workers
            ));
        }
        let conf = PortConfig {
            rx_queues: dp.workers,
            tx_queues: dp.workers,
            rx_descriptors: dp.rx_descriptors,
            tx_descriptors: dp.tx_descriptors,
        };
        port.configure(&conf, pool, socket)
            .and_then(|()| port.start())
            .map_err(|e| {
                RunError(format!(
                    "{key}: port {} ({}): {e}",
                    pc.name, info.driver_name
                ))
            })?;
        let mac = port
            .mac_addr()
            .map_err(|e| RunError(format!("{key}: {e}")))?;
        tracing::info!(
            "port {} = DPDK port {i} ({}, {}), mac {}, address {}, {} queue(s)",
            pc.name,
            port.name(),
            info.driver_name,
            EthernetAddress(mac),
            pc.address,
            dp.workers
        );
        ports.push((pc.name.clone(), port));
    }
    Ok(ports)
}

fn port_setups(config: &Config, ports: &[(String, Port)]) -> Result<Vec<PortSetup>, RunError> {
    let mut setups = Vec::with_capacity(ports.len());
    for (i, ((name, port), pc)) in ports.iter().zip(&config.ports).enumerate() {
        let mac = port
            .mac_addr()
            .map_err(|e| RunError(format!("port[{i}]: {e}")))?;
        let cidr = Cidr::new(pc.address.addr, pc.address.prefix_len)
            .map_err(|e| RunError(format!("port[{i}].address: {e}")))?;
        setups.push(PortSetup {
            name: name.clone(),
            mac: EthernetAddress(mac),
            cidr,
            gateway: pc.gateway,
        });
    }
    Ok(setups)
}

fn run_ports(
    eal: &Eal,
    config: &Config,
    stop: &Requests,
    ports: &[(String, Port)],
    pool: &Arc<Mempool>,
    lcores: &[u32],
    (endpoints, control): (&Endpoints, &mut ControlState),
) -> Result<(), RunError> {
    let dp = &config.dataplane;
    let workers = lcores.len();
    let setups = port_setups(config, ports)?;
    if let Some(a) = &config.announce {
        control.announcer = Some(Announcer::start(a).map_err(RunError)?);
    }
    let mut ids = FarmIds::default();
    let topology = Arc::new(live::topology(config, &mut ids, &setups));
    let mut rings = Vec::with_capacity(workers);
    for w in 0..workers {
        let ring = MbufRing::create(
            &format!("splicer_handoff{w}"),
            dp.handoff_ring_size,
            eal::socket_id(),
            false,
            true,
        )
        .map_err(|e| RunError(format!("dataplane.handoff_ring_size: {e}")))?;
        rings.push(ring);
    }
    let mesh = Arc::new(Mesh::new(rings));
    let capacity = live::Capacity::for_config(config);
    let counters: Vec<_> = (0..workers)
        .map(|_| {
            Arc::new(WorkerCounters::with_objects(
                ports.len(),
                capacity.reals,
                capacity.virtuals,
            ))
        })
        .collect();
    let workers_stop = Arc::new(AtomicBool::new(false));
    let inboxes: Vec<Arc<Inbox>> = (0..workers).map(|_| Arc::new(Inbox::default())).collect();
    // The workers' health events for the control core: room for a few seconds of
    // checks and outliers of many reals between two control ticks.
    let health_events = Arc::new(ArrayQueue::new(HEALTH_QUEUE));
    let tsc_hz = eal::tsc_hz();
    let ticks = |d: Duration| to_ticks(d, tsc_hz);
    let neighbour = NeighbourSettings {
        timeout: ticks(dp.neighbour_timeout),
        retry: ticks(dp.neighbour_retry),
        pending: usize::from(dp.neighbour_pending),
    };

    let mut flow = flow_settings(dp, tsc_hz);
    if let Some(c) = &config.cluster {
        flow.stray_rate = c.stray_rate;
    }

    // One secret per process, shared by the workers (any of them may check a cookie),
    // from the OS random source: ISNs and cookies differ across restarts.
    let mut secret = [0u8; 16];
    getrandom::getrandom(&mut secret)
        .map_err(|e| RunError(format!("no random secret for ISNs and SYN cookies: {e}")))?;
    let secret = u128::from_le_bytes(secret);

    let impair: Vec<Option<ImpairSettings>> = config
        .ports
        .iter()
        .map(|pc| {
            pc.impair.map(|i| {
                tracing::warn!(
                    "port {}: TEST ONLY impairment of received frames: loss {} duplicate {} reorder {} (by {:?}) delay {:?} jitter {:?} queue {} seed {}",
                    pc.name,
                    impair::format_percent(i.loss),
                    impair::format_percent(i.duplicate),
                    impair::format_percent(i.reorder),
                    i.reorder_delay,
                    i.delay,
                    i.jitter,
                    i.queue,
                    i.seed
                );
                ImpairSettings {
                    loss: i.loss,
                    duplicate: i.duplicate,
                    reorder: i.reorder,
                    reorder_delay: ticks(i.reorder_delay),
                    delay: ticks(i.delay),
                    jitter: ticks(i.jitter),
                    queue: i.queue as usize,
                    seed: i.seed,
                }
            })
        })
        .collect();

    // The access log: a ring per worker, emptied by the control core.
    let mut access = None;
    if let Some(a) = &config.access_log {
        let rings: Vec<_> = (0..workers)
            .map(|_| AccessRing::new(a.ring_size as usize))
            .collect();
        let writer = AccessWriter::new(a, rings.clone(), tsc_hz, control.access_log_reopen())
            .map_err(RunError)?;
        control.set_access_log(true);
        access = Some((writer, rings, a.sample));
    }

    // The cluster's heartbeat socket: a busy address fails the start, before any worker.
    let heartbeats = config
        .cluster
        .as_ref()
        .map(|c| crate::cluster::Heartbeats::bind(c, std::time::Instant::now()))
        .transpose()
        .map_err(RunError)?;

    let mut launched = Vec::with_capacity(workers);
    let mut launch_error = None;
    for (w, &lcore) in lcores.iter().enumerate() {
        let ctx = WorkerContext {
            settings: Settings {
                worker: w,
                workers,
                neighbour,
                flow,
                seed: secret,
            },
            queue: w as u16,
            ports: ports.iter().map(|(_, p)| *p).collect(),
            pool: pool.clone(),
            mesh: mesh.clone(),
            topology: topology.clone(),
            counters: counters[w].clone(),
            burst: usize::from(dp.burst_size),
            idle_sleep: dp.idle_sleep,
            stop: workers_stop.clone(),
            inbox: inboxes[w].clone(),
            tsc_hz,
            impair: impair.clone(),
            health: health_events.clone(),
            access: access.as_ref().map(|(_, rings, sample)| AccessLogSetup {
                ring: rings[w].clone(),
                sample: *sample,
                slots: rings[w].capacity(),
            }),
        };
        match eal.launch(lcore, move || splicer_worker::run(ctx)) {
            Ok(()) => launched.push(lcore),
            Err(e) => {
                launch_error = Some(RunError(format!(
                    "cannot launch worker {w} on lcore {lcore}: {e}"
                )));
                break;
            }
        }
    }

    let mut live = Live::new(
        config.clone(),
        ids,
        setups,
        inboxes,
        control.config_path(),
        capacity,
        flow.ticks_per_ms,
        health_events,
    );
    live.set_cluster(heartbeats);
    let base = StatsBase {
        ports,
        workers: &counters,
        lcores,
        pool,
    };
    if launch_error.is_none() {
        tracing::info!(
            "splicer ready: {} ports up, {workers} workers on lcores {lcores:?}",
            ports.len()
        );
        notify(&[NotifyState::Ready, NotifyState::Status("running")]);
        control_loop(
            stop,
            (dp.stats_interval, dp.stop_timeout),
            &base,
            &mut live,
            endpoints,
            control,
            access.as_mut().map(|(w, _, _)| w),
        );
        tracing::info!("stopping");
        notify(&[NotifyState::Stopping]);
    }
    workers_stop.store(true, Ordering::Relaxed);
    for &lcore in &launched {
        let code = eal.wait_lcore(lcore);
        if code != 0 {
            tracing::warn!("worker on lcore {lcore} exited with {code}");
        }
    }
    // What the workers logged up to their stop (their shutdown ends every request
    // still under way).
    if let Some((w, _, _)) = access.as_mut() {
        w.poll(&live.names(), eal::rdtsc());
        tracing::info!(
            "access log: {} lines written, {} lost to write errors",
            w.written,
            w.write_errors
        );
    }
    tracing::info!("final stats");
    stats::log(&control.view(&base.with(&live)));
    launch_error.map_or(Ok(()), Err)
}

/// `d` in clock ticks of a `tsc_hz` clock.
fn to_ticks(d: Duration, tsc_hz: u64) -> u64 {
    (d.as_secs_f64() * tsc_hz as f64) as u64
}

/// The workers' flow bounds and timers from `[dataplane]`, for a `tsc_hz` clock.
fn flow_settings(dp: &Dataplane, tsc_hz: u64) -> FlowSettings {
    let ticks = |d: Duration| to_ticks(d, tsc_hz);
    FlowSettings {
        max_flows: dp.max_flows as usize,
        max_half_open: dp.max_half_open as usize,
        syn_cookie_threshold: dp.syn_cookie_threshold() as usize,
        handshake_timeout: ticks(dp.handshake_timeout),
        request_timeout: ticks(dp.request_timeout),
        idle_timeout: ticks(dp.client_idle_timeout),
        tcp_idle_timeout: ticks(dp.tcp_idle_timeout),
        connect_timeout: ticks(dp.connect_timeout),
        queue_timeout: ticks(dp.queue_timeout),
        server_idle_timeout: ticks(dp.server_idle_timeout),
        drain_timeout: ticks(dp.drain_timeout),
        body_timeout: ticks(dp.body_timeout),
        body_min_rate: u64::from(dp.body_min_rate),
        send_timeout: ticks(dp.send_timeout),
        send_min_rate: u64::from(dp.send_min_rate),
        ticks_per_ms: (tsc_hz / 1000).max(1),
        // A quarter of each worker's share of the mempool, in full-sized segments:
        // held responses of pipelined requests never starve the NIC of buffers.
        max_held_total: (dp.mempool_size as usize / (4 * usize::from(dp.workers.max(1)))) * 1448,
        outlier_errors: dp.outlier_errors,
        handoff_timeout: ticks(dp.handoff_timeout),
        agent_heartbeat: ticks(dp.agent_heartbeat),
        agent_dead_time: ticks(dp.agent_dead_time),
        // `[cluster]`'s, set by the caller when there is one.
        stray_rate: splicer_config::cluster::STRAY_RATE_DEFAULT,
    }
}

/// Where a graceful stop is.
struct Stopping {
    deadline: Instant,
    /// New connections are refused once the VIPs are withdrawn (the routers send them
    /// elsewhere), or from this time on.
    withdraw_deadline: Instant,
    /// Every worker has been told to refuse new connections.
    told: bool,
}

/// Whether the control loop should end now: an immediate stop, or a graceful one whose
/// busy connections are done or whose `stop_timeout` passed.
fn stop_now(
    requests: &Requests,
    stopping: &mut Option<Stopping>,
    live: &mut Live,
    timeout: Duration,
    withdrawn: bool,
) -> bool {
    if requests.stopping_now() {
        tracing::warn!("stopping at once: every connection is reset");
        return true;
    }
    if !requests.stopping() {
        return false;
    }
    let s = stopping.get_or_insert_with(|| {
        notify(&[NotifyState::Stopping]);
        Stopping {
            deadline: Instant::now() + timeout,
            withdraw_deadline: Instant::now() + WITHDRAW_WAIT,
            told: false,
        }
    });
    if !s.told && !withdrawn && Instant::now() < s.withdraw_deadline {
        return false;
    }
    if !s.told {
        s.told = live.start_stopping();
        if s.told {
            tracing::info!(
                "stopping: new connections are refused; the requests in flight have up to {timeout:?} (dataplane.stop_timeout); a second SIGINT or SIGTERM stops at once"
            );
        }
    }
    match live.busy() {
        Some(0) if s.told => {
            tracing::info!("stopping: no request in flight");
            true
        }
        busy if Instant::now() >= s.deadline => {
            tracing::warn!(
                "stopping: dataplane.stop_timeout ({timeout:?}) passed with {} connection(s) still busy: they are reset",
                busy.map_or_else(|| "an unknown number of".to_string(), |b| b.to_string())
            );
            true
        }
        _ => false,
    }
}

fn control_loop(
    requests: &Requests,
    (stats_interval, stop_timeout): (Option<Duration>, Duration),
    base: &StatsBase<'_>,
    live: &mut Live,
    endpoints: &Endpoints,
    control: &mut ControlState,
    mut access: Option<&mut AccessWriter>,
) {
    let mut next_stats = stats_interval.map(|d| Instant::now() + d);
    // The period's start: its report and time, and periods without a line.
    let mut period = (control.view(&base.with(live)), Instant::now(), 0u32);
    let mut watch = crate::watch::Watch::new(base.workers, Instant::now());
    let mut stopping = None;
    let stall = StallWatch::start();
    let mark = |step| stall.progress().enter(step);
    loop {
        mark(Step::Tick);
        std::thread::sleep(CONTROL_TICK);
        mark(Step::Announce);
        let withdrawn = match control.announcer.as_mut() {
            // Withdrawn first: the routers send new connections elsewhere before this
            // appliance refuses them.
            Some(a) if requests.stopping() => {
                a.stop(Instant::now(), announce::candidates_now(base, live));
                a.withdrawn()
            }
            _ => true,
        };
        mark(Step::StopCheck);
        if stop_now(requests, &mut stopping, live, stop_timeout, withdrawn) {
            break;
        }
        mark(Step::Reload);
        if requests.take_reload() {
            crate::reload::reload(live, "SIGHUP");
        }
        mark(Step::ControlSocket);
        endpoints.poll(control, base, live);
        mark(Step::AccessLog);
        if let Some(w) = access.as_deref_mut() {
            w.poll(&live.names(), eal::rdtsc());
        }
        mark(Step::Health);
        live.poll_health();
        mark(Step::Cluster);
        live.poll_cluster();
        mark(Step::Announce);
        if let Some(a) = control.announcer.as_mut() {
            a.poll(Instant::now(), announce::candidates_now(base, live));
            a.watch_drain(Instant::now(), || announce::client_flows(live));
        }
        mark(Step::Watch);
        watch.poll(base.workers, Instant::now());
        mark(Step::Stats);
        if let (Some(at), Some(every)) = (next_stats, stats_interval) {
            if Instant::now() >= at {
                // Since `clear stats`, like `show stats`: one view of the counters.
                let now = control.view(&base.with(live));
                let secs = period.1.elapsed().as_secs_f64();
                let quiet = if stats::log_period(&now, &period.0, secs, period.2) {
                    0
                } else {
                    period.2 + 1
                };
                period = (now, Instant::now(), quiet);
                next_stats = Some(at + every);
            }
        }
    }
    if stall.progress().stalls() > 0 {
        tracing::warn!(
            "control core: {} stall(s) of {}s or more while running (each logged when seen)",
            stall.progress().stalls(),
            crate::stall::STALL_AFTER.as_secs()
        );
    }
    drop(stall);
    if let Some(a) = control.announcer.as_mut() {
        // An immediate stop comes here without the graceful withdrawal.
        a.stop(Instant::now(), announce::candidates_now(base, live));
        let until = Instant::now() + WITHDRAW_WAIT;
        while !a.withdrawn() && Instant::now() < until {
            std::thread::sleep(CONTROL_TICK);
        }
        if !a.withdrawn() {
            tracing::warn!(
                "announce: BIRD has not confirmed the withdrawal within {WITHDRAW_WAIT:?}"
            );
        }
        a.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The data plane keeps its own copy of the configuration's flow defaults
    /// (`FlowSettings::defaults`, for its tests: splicer-pipeline cannot depend on
    /// splicer-config); this pins the copy to the configuration's defaults, converted as
    /// at start-up.
    #[test]
    fn the_data_planes_flow_defaults_are_the_configurations() {
        let dp = Dataplane::new(vec!["-l".into(), "0-1".into()]);
        assert_eq!(flow_settings(&dp, 1000), FlowSettings::defaults(1));
        assert_eq!(flow_settings(&dp, 3_000_000), FlowSettings::defaults(3000));
        assert_eq!(
            splicer_pipeline::flow::STRAY_RATE_DEFAULT,
            splicer_config::cluster::STRAY_RATE_DEFAULT
        );
    }
}
