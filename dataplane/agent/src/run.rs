//! The agent process: the EAL, the two ports, and one polling loop on the main lcore
//! that feeds every frame to [`Agent`] and sends what it says.
//!
//! One lcore is enough: the agent forwards one back end's traffic, and a DPDK
//! process per back end must leave room for the back end's own work (`idle_sleep`
//! backs off when a poll round finds nothing).

use crate::agent::{Agent, Verdict};
use crate::config::{AgentConfig, KERNEL_PORT, WIRE_PORT};
use dpdk_bindings::mempool::DEFAULT_DATA_ROOM;
use dpdk_bindings::port::PortConfig;
use dpdk_bindings::{Eal, Mbuf, Mempool, Port};
use splicer_wire::EthernetAddress;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const BURST: usize = 32;

/// Runs the agent until SIGINT or SIGTERM. Errors are start-up failures.
pub fn run(cfg: &AgentConfig) -> Result<(), String> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone())
            .map_err(|e| format!("cannot install the signal handlers: {e}"))?;
    }
    let eal = Eal::init(&cfg.eal_args()).map_err(|e| e.to_string())?;
    let dir = eal.runtime_dir();
    let result = run_ports(cfg, &stop);
    if let Err(e) = eal.cleanup() {
        tracing::warn!("EAL cleanup: {e}");
    }
    let _ = std::fs::remove_dir_all(dir);
    result
}

fn run_ports(cfg: &AgentConfig, stop: &AtomicBool) -> Result<(), String> {
    let pool = Mempool::create_pktmbuf("agent_pool", 8191, 256, DEFAULT_DATA_ROOM, -1)
        .map_err(|e| e.to_string())?;
    let wire = Port::by_name(WIRE_PORT).map_err(|e| e.to_string())?;
    let kernel = Port::by_name(KERNEL_PORT).map_err(|e| e.to_string())?;
    let conf = PortConfig {
        rx_descriptors: 512,
        tx_descriptors: 512,
        ..PortConfig::default()
    };
    let mut started = Vec::new();
    let result = (|| {
        for p in [wire, kernel] {
            p.configure(&conf, &pool, p.socket())
                .map_err(|e| e.to_string())?;
            p.start().map_err(|e| e.to_string())?;
            started.push(p);
        }
        // The wire port bridges for the kernel's MAC, which is not its own.
        wire.set_promiscuous(true).map_err(|e| e.to_string())?;
        poll_loop(cfg, &pool, wire, kernel, stop);
        Ok(())
    })();
    for p in started {
        let _ = p.stop();
    }
    for p in [wire, kernel] {
        let _ = p.close();
    }
    drop(pool);
    result
}

/// How often the kernel interface's MAC is read again from sysfs.
const KERNEL_MAC_CHECK: Duration = Duration::from_millis(100);

/// Follows a change of the kernel interface's MAC. `net_tap` gives a new TAP a random
/// MAC, which the host may replace by a fixed one once the agent runs (so that the
/// LAN's ARP caches stay right across an agent restart, docs/HANDOFF.md). The agent
/// also learns the MAC from every frame the kernel sends, but a kernel that has sent
/// nothing since would never see a replayed SYN addressed to the old MAC (it drops a
/// frame for another host): each SYN resend goes to the MAC read here.
fn follow_kernel_mac(agent: &mut Agent, iface: &str) {
    if let Some(mac) = sysfs_mac(iface).filter(|m| Some(*m) != agent.kernel_mac()) {
        tracing::info!("kernel interface {iface} now has MAC {mac}");
        agent.set_kernel_mac(mac);
    }
}

/// The kernel interface's MAC from sysfs (the agent runs in the back end's namespace).
fn sysfs_mac(iface: &str) -> Option<EthernetAddress> {
    let text = std::fs::read_to_string(format!("/sys/class/net/{iface}/address")).ok()?;
    text.trim().parse().ok()
}

fn poll_loop(cfg: &AgentConfig, pool: &Mempool, wire: Port, kernel: Port, stop: &AtomicBool) {
    let mut seed = [0u8; 8];
    let _ = getrandom::getrandom(&mut seed);
    let mut agent = Agent::new(cfg.settings.clone(), u64::from_ne_bytes(seed));
    if let Some(mac) = sysfs_mac(&cfg.kernel_iface) {
        agent.set_kernel_mac(mac);
    }
    tracing::info!(
        "agent ready: listen {} wire {} kernel {} epoch {:016x}",
        cfg.listen,
        cfg.wire_iface,
        cfg.kernel_iface,
        agent.epoch()
    );
    let mut rx = Vec::with_capacity(BURST);
    let mut to_kernel: Vec<Mbuf> = Vec::with_capacity(BURST * 2);
    let mut to_wire: Vec<Mbuf> = Vec::with_capacity(BURST * 2);
    let mut next_stats = Instant::now() + cfg.stats_interval;
    let mut next_mac_check = Instant::now() + KERNEL_MAC_CHECK;
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        let mut got = 0;
        got += wire.rx_burst(0, &mut rx, BURST);
        for mut m in rx.drain(..) {
            match m.try_data_mut().map(|d| agent.from_wire(d, now)) {
                Some(Verdict::Forward) => to_kernel.push(m),
                _ => drop(m),
            }
        }
        got += kernel.rx_burst(0, &mut rx, BURST);
        for mut m in rx.drain(..) {
            match m.try_data_mut().map(|d| agent.from_kernel(d, now)) {
                Some(Verdict::Forward) => to_wire.push(m),
                _ => drop(m),
            }
        }
        agent.poll(now);
        built(pool, &mut agent, &mut to_kernel, &mut to_wire);
        send(kernel, &mut to_kernel, &mut agent);
        send(wire, &mut to_wire, &mut agent);
        if now >= next_mac_check {
            next_mac_check = now + KERNEL_MAC_CHECK;
            follow_kernel_mac(&mut agent, &cfg.kernel_iface);
        }
        if now >= next_stats {
            next_stats = now + cfg.stats_interval;
            log_stats(&agent, wire, kernel);
        }
        if got == 0 && !cfg.idle_sleep.is_zero() {
            std::thread::sleep(cfg.idle_sleep);
        }
    }
    log_stats(&agent, wire, kernel);
    tracing::info!("agent stopped");
    // Give the ports a moment to put out what is queued (CLOSED notices).
    std::thread::sleep(Duration::from_millis(10));
}

/// Copies the frames the agent built into mbufs, after the forwarded ones.
fn built(pool: &Mempool, agent: &mut Agent, to_kernel: &mut Vec<Mbuf>, to_wire: &mut Vec<Mbuf>) {
    let mut out = std::mem::take(&mut agent.to_kernel);
    for f in out.drain(..) {
        match into_mbuf(pool, &f) {
            Some(m) => to_kernel.push(m),
            None => agent.counters.drop_no_mbuf += 1,
        }
    }
    agent.to_kernel = out;
    let mut out = std::mem::take(&mut agent.to_wire);
    for f in out.drain(..) {
        match into_mbuf(pool, &f) {
            Some(m) => to_wire.push(m),
            None => agent.counters.drop_no_mbuf += 1,
        }
    }
    agent.to_wire = out;
}

fn into_mbuf(pool: &Mempool, frame: &[u8]) -> Option<Mbuf> {
    let mut m = pool.alloc()?;
    m.append(frame.len())?.copy_from_slice(frame);
    Some(m)
}

fn send(port: Port, pkts: &mut Vec<Mbuf>, agent: &mut Agent) {
    let mut tries = 0;
    while !pkts.is_empty() && tries < 4 {
        port.tx_burst(0, pkts);
        tries += 1;
    }
    agent.counters.drop_tx_full += pkts.len() as u64;
    pkts.clear();
}

fn log_stats(agent: &Agent, wire: Port, kernel: Port) {
    let port = |p: Port| {
        p.stats()
            .map(|s| {
                format!(
                    "rx={} tx={} rx_bytes={} tx_bytes={} missed={} tx_errors={}",
                    s.ipackets, s.opackets, s.ibytes, s.obytes, s.imissed, s.oerrors
                )
            })
            .unwrap_or_default()
    };
    tracing::info!(
        "agent stats connections={} closed_pending={} {}",
        agent.connections(),
        agent.pending_closed(),
        agent.counters.line()
    );
    tracing::info!("agent stats port=wire {}", port(wire));
    tracing::info!("agent stats port=kernel {}", port(kernel));
}
