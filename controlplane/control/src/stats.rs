//! Periodic and final statistics, as `stats ...` log lines of `key=value` pairs that
//! scripts can grep and people can read.

use dpdk_bindings::{Mempool, Port};
use splicer_dataplane::counters::Snapshot;
use splicer_dataplane::{Counter, Gauge, WorkerCounters};
use std::fmt::Write;
use std::sync::Arc;

/// What the statistics are read from.
pub(crate) struct StatsSources<'a> {
    pub ports: &'a [(String, Port)],
    pub workers: &'a [Arc<WorkerCounters>],
    pub pool: &'a Mempool,
}

fn pairs(s: &Snapshot, skip: &[Counter]) -> String {
    let mut out = String::new();
    for &c in Counter::ALL.iter().filter(|c| !skip.contains(c)) {
        let _ = write!(out, " {}={}", c.name(), s.get(c));
    }
    out
}

/// Logs one full set of statistics lines.
pub(crate) fn log(src: &StatsSources<'_>) {
    let mut total = Snapshot::default();
    for w in src.workers {
        total += &w.snapshot();
    }
    let gauges = |workers: &[Arc<WorkerCounters>]| {
        let mut out = String::new();
        for &g in Gauge::ALL {
            let v: u64 = workers.iter().map(|w| w.gauge(g)).sum();
            let _ = write!(out, " {}={v}", g.name());
        }
        out
    };
    tracing::info!(
        target: "splicer::stats",
        "stats total{}{}",
        pairs(&total, &[]),
        gauges(src.workers)
    );
    for (i, w) in src.workers.iter().enumerate() {
        tracing::info!(
            target: "splicer::stats",
            "stats worker={i}{}{}",
            pairs(&w.snapshot(), &[]),
            gauges(std::slice::from_ref(w))
        );
    }
    for (index, (name, port)) in src.ports.iter().enumerate() {
        let mut per_port = Snapshot::default();
        for w in src.workers {
            per_port += &w.port_snapshot(index as u16);
        }
        // The NIC's own counts replace the workers' rx/tx here: they include what the
        // workers never saw (missed, errors).
        let nic = match port.stats() {
            Ok(s) => format!(
                " rx_packets={} tx_packets={} rx_bytes={} tx_bytes={} rx_missed={} rx_errors={} tx_errors={} rx_nombuf={}",
                s.ipackets, s.opackets, s.ibytes, s.obytes, s.imissed, s.ierrors, s.oerrors, s.rx_nombuf
            ),
            Err(e) => format!(" nic_stats_error=\"{e}\""),
        };
        tracing::info!(
            target: "splicer::stats",
            "stats port={name}{nic}{}",
            pairs(&per_port, &[Counter::RxPackets, Counter::TxPackets])
        );
    }
    tracing::info!(
        target: "splicer::stats",
        "stats mempool available={} in_use={}",
        src.pool.available(),
        src.pool.in_use()
    );
}
