//! Statistics: gathered from the workers' counters, the NICs and the mempool into a
//! [`StatsReport`], logged as `stats ...` lines of `key=value` pairs that scripts can grep
//! and people can read, shown by `show stats` and exported as metrics.

use crate::live::Live;
use dpdk_bindings::{Mempool, Port};
use splicer_commands::report::{
    Counters, Levels, ObjectCounters, RealHealthRow, RealPools, RuleHits, StatsReport,
};
use splicer_config::{Config, FarmIds};
use splicer_pipeline::counters::{
    RealCounter, Snapshot, VirtualCounter, BIND_SLOT, OVERFLOW_SLOT, RULE_ROW, RULE_SLOTS,
};
use splicer_pipeline::{Gauge, WorkerCounters};
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
    /// The health of every configured real.
    pub health: Vec<RealHealthRow>,
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
            health: live.health_rows(),
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
        virtuals: virtuals(src.config, src.ids, src.workers),
        reals: reals(src.config, src.ids, src.workers),
        rules: rules(src.config, src.ids, src.workers),
        runtime: src.workers.iter().map(|w| w.runtime()).collect(),
    }
}

/// `row(worker)` summed over the workers.
fn sum<const N: usize>(
    workers: &[Arc<WorkerCounters>],
    row: impl Fn(&WorkerCounters) -> [u64; N],
) -> [u64; N] {
    let mut total = [0u64; N];
    for w in workers {
        for (t, v) in total.iter_mut().zip(row(w)) {
            *t = t.wrapping_add(v);
        }
    }
    total
}

fn named(names: impl Iterator<Item = &'static str>, values: &[u64]) -> Counters {
    Counters(
        names
            .map(str::to_string)
            .zip(values.iter().copied())
            .collect(),
    )
}

/// Every virtual of the running configuration, then every DIP (named by its address),
/// with its row in the workers' counters (`None` for one without a row yet).
fn virtual_rows<'a>(
    config: &'a Config,
    ids: &'a FarmIds,
) -> impl Iterator<Item = (String, Option<u16>)> + 'a {
    config
        .virtuals
        .iter()
        .map(|v| (v.name.clone(), ids.virtual_index(&v.name)))
        .chain(
            config
                .dips
                .iter()
                .map(|d| (d.address.to_string(), ids.dip_index(d.address))),
        )
}

/// The counters of every virtual of the running configuration, then of every DIP (named
/// by its address), summed over the workers (`ids` gives their rows).
pub(crate) fn virtuals(
    config: &Config,
    ids: &FarmIds,
    workers: &[Arc<WorkerCounters>],
) -> Vec<ObjectCounters> {
    virtual_rows(config, ids)
        .map(|(name, index)| {
            let values = match index {
                Some(i) => sum(workers, |w| w.virtual_row(usize::from(i))),
                None => [0; VirtualCounter::COUNT],
            };
            ObjectCounters {
                name,
                counters: named(VirtualCounter::ALL.iter().map(|c| c.name()), &values),
            }
        })
        .collect()
}

/// The levels `show virtual` and `show real` add to the configuration: per virtual (and
/// DIP) its queue depth, per real its requests in flight, summed over the workers.
pub(crate) fn levels(config: &Config, ids: &FarmIds, workers: &[Arc<WorkerCounters>]) -> Levels {
    let mut levels = Levels::default();
    for (name, index) in virtual_rows(config, ids) {
        if let Some(i) = index {
            let depth = workers.iter().map(|w| w.queued(usize::from(i))).sum();
            levels.queued.insert(name, depth);
        }
    }
    for p in pools(config, ids, workers) {
        levels.inflight.insert(p.name.clone(), p.total().inflight);
    }
    levels
}

/// The counters of every real of the running configuration, summed over the workers.
pub(crate) fn reals(
    config: &Config,
    ids: &FarmIds,
    workers: &[Arc<WorkerCounters>],
) -> Vec<ObjectCounters> {
    config
        .reals
        .iter()
        .map(|r| {
            let values = match ids.real(&r.name, r.address) {
                Some(i) => sum(workers, |w| w.real_row(usize::from(i))),
                None => [0; RealCounter::COUNT],
            };
            ObjectCounters {
                name: r.name.clone(),
                counters: named(RealCounter::ALL.iter().map(|c| c.name()), &values),
            }
        })
        .collect()
}

/// The hits of every content rule of every virtual of the running configuration, and of
/// its bind list, summed over the workers. Rules past the workers' slots share one row.
pub(crate) fn rules(
    config: &Config,
    ids: &FarmIds,
    workers: &[Arc<WorkerCounters>],
) -> Vec<RuleHits> {
    let mut out = Vec::new();
    for v in &config.virtuals {
        let hits = match ids.virtual_index(&v.name) {
            Some(i) => sum(workers, |w| w.rule_row(usize::from(i))),
            None => [0; RULE_ROW],
        };
        let row = |rule: String, hits: u64| RuleHits {
            virtual_name: v.name.clone(),
            rule,
            hits,
        };
        out.extend(
            v.rules
                .iter()
                .take(RULE_SLOTS)
                .enumerate()
                .map(|(n, r)| row(r.name.clone(), hits[n])),
        );
        if v.rules.len() > RULE_SLOTS {
            out.push(row(format!("rule{}+", RULE_SLOTS + 1), hits[OVERFLOW_SLOT]));
        }
        // A rule may be called "bind" itself; the bind list then takes a name no rule
        // can have.
        let bind = if v.rules.iter().any(|r| r.name == "bind") {
            "(bind)"
        } else {
            "bind"
        };
        out.push(row(bind.to_string(), hits[BIND_SLOT]));
    }
    out
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
                .map(|w| i.map(|i| w.pool(i)).unwrap_or_default())
                .collect(),
            quality: workers
                .iter()
                .map(|w| i.map(|i| w.quality(i)).unwrap_or_default())
                .collect(),
        })
        .collect()
}

/// Logs one full set of statistics lines.
/// The periodic log: the lines of the period from `prev` to `report` (`secs` long),
/// or after `quiet` periods without a line, one that says the appliance is idle.
/// Returns whether a line was logged.
pub(crate) fn log_period(report: &StatsReport, prev: &StatsReport, secs: f64, quiet: u32) -> bool {
    let lines = report.period_lines(prev, secs);
    for line in &lines {
        tracing::info!(target: "splicer::stats", "{line}");
    }
    if lines.is_empty() && quiet + 1 >= splicer_commands::report::HEARTBEAT_PERIODS {
        let g = report.total_gauges();
        tracing::info!(
            target: "splicer::stats",
            "stats total idle flows={} (nothing changed in {} periods)",
            g.get("flows"),
            quiet + 1
        );
        return true;
    }
    !lines.is_empty()
}

/// Every counter, as the final lines at stop.
pub(crate) fn log(report: &StatsReport) {
    for line in report.log_lines() {
        tracing::info!(target: "splicer::stats", "{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use splicer_commands::report::PoolLevels;
    use splicer_config::fixtures::with_ports;

    #[test]
    fn pools_follow_the_reals_of_the_configuration() {
        let config = Config::from_toml_str(&with_ports(
            "workers = 2",
            r#"
[[real]]
name = "s1"
address = "198.19.0.11:80"
pool = 2
maxconns = 8
[[real]]
name = "s2"
address = "198.19.0.12:8080"
"#,
        ))
        .unwrap();
        let workers: Vec<_> = (0..2)
            .map(|_| Arc::new(WorkerCounters::with_reals(1, 2)))
            .collect();
        let levels = PoolLevels {
            free: 1,
            busy: 2,
            opening: 3,
            conns: 7,
            inflight: 4,
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
                inflight: 4,
            }
        );
        // A worker that publishes fewer reals than configured shows zeros, not a panic.
        let short = vec![Arc::new(WorkerCounters::new(1))];
        assert_eq!(
            pools(&config, ids, &short)[1].workers,
            vec![PoolLevels::default()]
        );
    }

    fn farm_config(rules: usize) -> Config {
        let mut text = with_ports(
            "workers = 2",
            r#"
[[real]]
name = "s1"
address = "198.19.0.11:80"
[[real]]
name = "s2"
address = "198.19.0.12:80"
[[virtual]]
name = "www"
address = "198.18.0.100:80"
bind = ["s1", "s2"]
[[virtual]]
name = "api"
address = "198.18.0.101:80"
bind = ["s2"]
"#,
        );
        for n in 0..rules {
            text.push_str(&format!(
                "[[virtual.rule]]\npath_prefix = \"/p{n}/\"\nbind = [\"s1\"]\n"
            ));
        }
        text.push_str("[[dip]]\naddress = \"198.19.0.11\"\nport = \"outside\"\n");
        Config::from_toml_str(&text).unwrap()
    }

    #[test]
    fn per_object_counters_are_summed_and_named() {
        let config = farm_config(2);
        let ids = &mut FarmIds::default();
        config.plan(ids);
        let workers: Vec<_> = (0..2)
            .map(|_| Arc::new(WorkerCounters::with_objects(2, 2, 3)))
            .collect();
        let (www, api, dip) = (
            ids.virtual_index("www").unwrap(),
            ids.virtual_index("api").unwrap(),
            ids.dip_index("198.19.0.11".parse().unwrap()).unwrap(),
        );
        let s2 = ids.real("s2", "198.19.0.12:80".parse().unwrap()).unwrap();
        for w in &workers {
            w.inc_virtual(www, VirtualCounter::Requests);
            w.inc_real(s2, RealCounter::Responses4xx);
            w.inc_rule(api, splicer_pipeline::balance::Route::Rule(1));
        }
        workers[1].inc_virtual(dip, VirtualCounter::NoServer);
        workers[0].inc_rule(www, splicer_pipeline::balance::Route::Bind);
        let v = virtuals(&config, ids, &workers);
        let names: Vec<_> = v.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["www", "api", "198.19.0.11"]);
        assert_eq!(v[0].counters.get("requests"), 2);
        assert_eq!(v[2].counters.get("no_server"), 1);
        assert_eq!(
            v[1].counters
                .0
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>(),
            [
                "requests",
                "spliced",
                "redirects",
                "no_server",
                "refused",
                "queue_overflows",
                "queue_timeouts"
            ]
        );
        let r = reals(&config, ids, &workers);
        assert_eq!(
            (r[1].name.as_str(), r[1].counters.get("responses_4xx")),
            ("s2", 2)
        );
        assert_eq!(r[0].counters.get("responses_4xx"), 0);
        assert_eq!(r[0].counters.0.len(), RealCounter::COUNT);
        let hits: Vec<_> = rules(&config, ids, &workers)
            .into_iter()
            .map(|h| (h.virtual_name, h.rule, h.hits))
            .collect();
        let row = |v: &str, r: &str, n| (v.to_string(), r.to_string(), n);
        assert_eq!(
            hits,
            [
                row("www", "bind", 1),
                row("api", "rule1", 0),
                row("api", "rule2", 2),
                row("api", "bind", 0),
            ]
        );
        // Workers without per-object rows show zeros, not a panic.
        let bare = vec![Arc::new(WorkerCounters::new(2))];
        assert_eq!(virtuals(&config, ids, &bare)[0].counters.get("requests"), 0);
        assert_eq!(rules(&config, ids, &bare).len(), 4);
    }

    #[test]
    fn rules_past_the_slots_share_a_row() {
        let mut config = farm_config(RULE_SLOTS + 3);
        config.virtuals[1].rules[0].name = "bind".into();
        let ids = &mut FarmIds::default();
        config.plan(ids);
        let w = Arc::new(WorkerCounters::with_objects(2, 2, 3));
        let api = ids.virtual_index("api").unwrap();
        for n in [0, RULE_SLOTS - 1, RULE_SLOTS, RULE_SLOTS + 2] {
            w.inc_rule(api, splicer_pipeline::balance::Route::Rule(n));
        }
        w.inc_rule(api, splicer_pipeline::balance::Route::Bind);
        let hits = rules(&config, ids, &[w]);
        let api_rows: Vec<_> = hits.iter().filter(|h| h.virtual_name == "api").collect();
        assert_eq!(api_rows.len(), RULE_SLOTS + 2);
        assert_eq!((api_rows[0].rule.as_str(), api_rows[0].hits), ("bind", 1));
        assert_eq!(api_rows[RULE_SLOTS - 1].hits, 1);
        let more = &api_rows[RULE_SLOTS];
        assert_eq!((more.rule.as_str(), more.hits), ("rule33+", 2));
        // The rule called bind keeps its name; the bind list takes another.
        let bind = &api_rows[RULE_SLOTS + 1];
        assert_eq!((bind.rule.as_str(), bind.hits), ("(bind)", 1));
    }
}
