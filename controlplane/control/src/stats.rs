//! Statistics: gathered from the workers' counters, the NICs and the mempool into a
//! [`StatsReport`], logged as `stats ...` lines of `key=value` pairs that scripts can grep
//! and people can read, shown by `show stats` and exported as metrics.

use crate::live::Live;
use dpdk_bindings::{Mempool, Port};
use splicer_cli::report::{Counters, PoolLevels, RealPools, StatsReport};
use splicer_config::{Config, FarmIds};
use splicer_dataplane::counters::Snapshot;
use splicer_dataplane::{Gauge, WorkerCounters};
use std::sync::Arc;

/// What the statistics are read from.
pub(crate) struct StatsSources<'a> {
    /// The running configuration.
    pub config: &'a Config,
    /// The indexes of its reals in the workers' published pools.
    pub ids: &'a FarmIds,
    pub ports: &'a [(String, Port)],
    pub workers: &'a [Arc<WorkerCounters>],
    /// The lcore of each worker.
    pub lcores: &'a [u32],
    pub pool: &'a Mempool,
}

/// The sources that do not change while Splicer runs.
pub(crate) struct StatsBase<'a> {
    pub ports: &'a [(String, Port)],
    pub workers: &'a [Arc<WorkerCounters>],
    pub lcores: &'a [u32],
    pub pool: &'a Mempool,
}

impl<'a> StatsBase<'a> {
    /// The sources with the running configuration.
    pub(crate) fn with<'b>(&'b self, live: &'b Live) -> StatsSources<'b> {
        StatsSources {
            config: live.config(),
            ids: live.ids(),
            ports: self.ports,
            workers: self.workers,
            lcores: self.lcores,
            pool: self.pool,
        }
    }
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
        pools: pools(src.config, src.ids, src.workers),
    }
}

/// The server connection pools of every real of the running configuration (`ids` gives
/// a real's index in each worker's published pools), as each worker last published them.
pub(crate) fn pools(
    config: &Config,
    ids: &FarmIds,
    workers: &[Arc<WorkerCounters>],
) -> Vec<RealPools> {
    config
        .reals
        .iter()
        .map(|r| (r, ids.real(&r.name, r.address).map(usize::from)))
        .map(|(r, i)| RealPools {
            name: r.name.clone(),
            address: r.address.to_string(),
            pool: r.pool,
            maxconns: r.maxconns,
            workers: workers
                .iter()
                .map(|w| {
                    let l = i.map(|i| w.pool(i)).unwrap_or_default();
                    PoolLevels {
                        free: l.free,
                        busy: l.busy,
                        opening: l.opening,
                        conns: l.conns,
                        waiting: l.waiting,
                    }
                })
                .collect(),
        })
        .collect()
}

/// Logs one full set of statistics lines.
pub(crate) fn log(report: &StatsReport) {
    for line in report.log_lines() {
        tracing::info!(target: "splicer::stats", "{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use splicer_dataplane::counters::PoolLevels as Published;

    #[test]
    fn pools_follow_the_reals_of_the_configuration() {
        let config = Config::from_toml_str(
            r#"
[dataplane]
eal = ["-l", "0-2"]
workers = 2
[[port]]
name = "inside"
address = "198.19.0.1/24"
[[real]]
name = "s1"
address = "198.19.0.11:80"
pool = 2
maxconns = 8
[[real]]
name = "s2"
address = "198.19.0.12:8080"
"#,
        )
        .unwrap();
        let workers: Vec<_> = (0..2)
            .map(|_| Arc::new(WorkerCounters::with_reals(1, 2)))
            .collect();
        let levels = Published {
            free: 1,
            busy: 2,
            opening: 3,
            conns: 7,
            waiting: 4,
        };
        workers[1].set_pool(1, levels);
        let ids = &mut FarmIds::default();
        config.plan(ids);
        let p = pools(&config, ids, &workers);
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].name.as_str(), p[0].pool, p[0].maxconns), ("s1", 2, 8));
        assert_eq!(p[1].address, "198.19.0.12:8080");
        assert_eq!(p[0].workers, vec![PoolLevels::default(); 2]);
        assert_eq!(p[1].workers[0], PoolLevels::default());
        assert_eq!(
            p[1].workers[1],
            PoolLevels {
                free: 1,
                busy: 2,
                opening: 3,
                conns: 7,
                waiting: 4,
            }
        );
        // A worker that publishes fewer reals than configured shows zeros, not a panic.
        let short = vec![Arc::new(WorkerCounters::new(1))];
        assert_eq!(
            pools(&config, ids, &short)[1].workers,
            vec![PoolLevels::default()]
        );
    }
}
