//! Statistics: gathered from the workers' counters, the NICs and the mempool into a
//! [`StatsReport`], logged as `stats ...` lines of `key=value` pairs that scripts can grep
//! and people can read, shown by `show stats` and exported as metrics.

use dpdk_bindings::{Mempool, Port};
use splicer_cli::report::{Counters, StatsReport};
use splicer_config::Config;
use splicer_dataplane::counters::Snapshot;
use splicer_dataplane::{Gauge, WorkerCounters};
use std::sync::Arc;

/// What the statistics are read from.
pub(crate) struct StatsSources<'a> {
    pub config: &'a Config,
    pub ports: &'a [(String, Port)],
    pub workers: &'a [Arc<WorkerCounters>],
    /// The lcore of each worker.
    pub lcores: &'a [u32],
    pub pool: &'a Mempool,
}

fn counters(s: &Snapshot) -> Counters {
    Counters(s.iter().map(|(n, v)| (n.to_string(), v)).collect())
}

/// The NIC counters of `port`, under the names the log lines have always used.
pub(crate) fn nic(port: &Port) -> Result<Counters, String> {
    let s = port.stats().map_err(|e| e.to_string())?;
    Ok(Counters(
        [
            ("rx_packets", s.ipackets),
            ("tx_packets", s.opackets),
            ("rx_bytes", s.ibytes),
            ("tx_bytes", s.obytes),
            ("rx_missed", s.imissed),
            ("rx_errors", s.ierrors),
            ("tx_errors", s.oerrors),
            ("rx_nombuf", s.rx_nombuf),
        ]
        .into_iter()
        .map(|(n, v)| (n.to_string(), v))
        .collect(),
    ))
}

/// Reads everything now. The workers are not stopped: each counter is read with a
/// relaxed load, so the report may be a few packets behind, never torn.
pub(crate) fn report(src: &StatsSources<'_>) -> StatsReport {
    StatsReport {
        ports: src.ports.iter().map(|(n, _)| n.clone()).collect(),
        cells: src
            .workers
            .iter()
            .map(|w| {
                (0..src.ports.len())
                    .map(|p| counters(&w.port_snapshot(p as u16)))
                    .collect()
            })
            .collect(),
        gauges: src
            .workers
            .iter()
            .map(|w| {
                Counters(
                    Gauge::ALL
                        .iter()
                        .map(|&g| (g.name().to_string(), w.gauge(g)))
                        .collect(),
                )
            })
            .collect(),
        nic: src.ports.iter().map(|(_, p)| nic(p)).collect(),
        mempool_available: u64::from(src.pool.available()),
        mempool_in_use: u64::from(src.pool.in_use()),
    }
}

/// Logs one full set of statistics lines.
pub(crate) fn log(report: &StatsReport) {
    for line in report.log_lines() {
        tracing::info!(target: "splicer::stats", "{line}");
    }
}
