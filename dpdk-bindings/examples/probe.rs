//! Starts the EAL with the given arguments and reports every port DPDK found: driver,
//! queues, RSS, offloads, MAC, link. A quick way to see what a PMD offers on this machine.
//!
//! ```text
//! cargo run -p dpdk-bindings --example probe -- --no-huge --no-pci --no-shconf -m 256 \
//!     --file-prefix probe --vdev net_tap0 --vdev net_ring0
//! ```
//!
//! With `--configure N`, each port is also configured with N rx/tx queues and started, which
//! shows whether RSS was accepted and what the port reports once running.

use dpdk_bindings::mempool::DEFAULT_DATA_ROOM;
use dpdk_bindings::port::{self, PortConfig};
use dpdk_bindings::{eal, Eal, Mempool, Port};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().collect();
    let mut queues = None;
    if let Some(i) = args.iter().position(|a| a == "--configure") {
        let n: u16 = args
            .get(i + 1)
            .ok_or("--configure needs a number")?
            .parse()?;
        args.drain(i..i + 2);
        queues = Some(n);
    }
    let eal = Eal::init(&args)?;
    println!(
        "lcores: {} (main {}, workers {:?}), tsc {} Hz, {} ports, runtime dir {}",
        eal.lcore_count(),
        eal.main_lcore(),
        eal.worker_lcores(),
        eal::tsc_hz(),
        port::count_avail(),
        eal.runtime_dir().display()
    );
    let pool = Mempool::create_pktmbuf("probe_pool", 8191, 256, DEFAULT_DATA_ROOM, -1)?;
    let ports = Port::all();
    for p in &ports {
        let info = p.info()?;
        println!(
            "port {} {}: driver {}, max queues rx {} tx {}, rss {:#x}, rx offloads {:#x}, \
             tx offloads {:#x}, mac {:02x?}, link {}",
            p.id(),
            p.name(),
            info.driver_name,
            info.max_rx_queues,
            info.max_tx_queues,
            info.flow_type_rss_offloads,
            info.rx_offload_capa,
            info.tx_offload_capa,
            p.mac_addr()?,
            if p.link_up() { "up" } else { "down" }
        );
        if let Some(n) = queues {
            let conf = PortConfig {
                rx_queues: n.min(info.max_rx_queues),
                tx_queues: n.min(info.max_tx_queues),
                ..PortConfig::default()
            };
            p.configure(&conf, &pool, p.socket())?;
            p.start()?;
            let (rx_off, tx_off) = p.offloads()?;
            let rss = match p.rss_conf() {
                Ok(r) => format!("hash {:#x}, key {:02x?}", r.hash_functions, r.key),
                Err(e) => e.to_string(),
            };
            println!(
                "  configured {}/{} queues: offloads rx {rx_off:#x} tx {tx_off:#x}; rss: {rss}; \
                 link {}",
                conf.rx_queues,
                conf.tx_queues,
                if p.link_up() { "up" } else { "down" }
            );
        }
    }
    for p in &ports {
        if queues.is_some() {
            p.stop()?;
        }
        p.close()?;
    }
    drop(pool);
    let dir = eal.runtime_dir();
    eal.cleanup()?;
    // DPDK leaves its runtime directory behind even after a clean cleanup.
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}
