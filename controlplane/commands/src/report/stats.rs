//! `show stats`: the counters and gauges of every worker, port and configured object,
//! their differences since a baseline, and their renderings (text grouped by
//! [`Section`], JSON, the `stats ...` log lines).

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{json, Value};

use super::table::{strings, table, table_sections};
use splicer_pipeline::quality::RealQuality;

/// Named counter values in a fixed order (the order of the log lines). Serializes as a
/// JSON object in that order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters(pub Vec<(String, u64)>);

impl Counters {
    /// The value of `name`, 0 when absent.
    pub fn get(&self, name: &str) -> u64 {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0, |&(_, v)| v)
    }

    /// `self - baseline`, name by name. A value below its baseline (a NIC whose counters
    /// were reset behind our back) shows as 0 rather than wrapping around.
    pub fn since(&self, baseline: &Counters) -> Counters {
        Counters(
            self.0
                .iter()
                .map(|(n, v)| (n.clone(), v.saturating_sub(baseline.get(n))))
                .collect(),
        )
    }

    /// Adds `other` name by name; names `self` does not have yet are appended.
    pub fn add(&mut self, other: &Counters) {
        for (n, v) in &other.0 {
            match self.0.iter_mut().find(|(m, _)| m == n) {
                Some((_, mine)) => *mine = mine.wrapping_add(*v),
                None => self.0.push((n.clone(), *v)),
            }
        }
    }

    /// The sum of several sets.
    pub fn sum<'a>(sets: impl IntoIterator<Item = &'a Counters>) -> Counters {
        let mut total = Counters::default();
        for s in sets {
            total.add(s);
        }
        total
    }

    fn pairs(&self, skip: &[&str]) -> String {
        self.0
            .iter()
            .filter(|(n, _)| !skip.contains(&n.as_str()))
            .map(|(n, v)| format!(" {n}={v}"))
            .collect()
    }
}

impl Serialize for Counters {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (n, v) in &self.0 {
            map.serialize_entry(n, v)?;
        }
        map.end()
    }
}

/// Every statistic of the appliance at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsReport {
    /// Port names, by DPDK port id.
    pub ports: Vec<String>,
    /// The workers' counters: `cells[worker][port]`.
    pub cells: Vec<Vec<Counters>>,
    /// Each worker's gauges (flows, half_open, neighbours).
    pub gauges: Vec<Counters>,
    /// Each port's NIC counters (`rx_packets`, `tx_packets`, `rx_bytes`, ...), or why
    /// they could not be read.
    pub nic: Vec<Result<Counters, String>>,
    /// Free mbufs in the pool.
    pub mempool_available: u64,
    /// Mbufs in use.
    pub mempool_in_use: u64,
    /// The server connection pools of every real, in configuration order.
    pub pools: Vec<RealPools>,
    /// Per virtual of the running configuration (virtuals, then DIPs by address), its
    /// counters summed over the workers.
    pub virtuals: Vec<ObjectCounters>,
    /// Per real of the running configuration, its counters summed over the workers.
    pub reals: Vec<ObjectCounters>,
    /// Per virtual with content rules, the hits of each rule and of its bind list,
    /// summed over the workers.
    pub rules: Vec<RuleHits>,
    /// Each worker loop's own figures (polls, packets, busy and total cycles), as the
    /// worker last published them.
    pub runtime: Vec<Runtime>,
}

/// A worker loop's figures ([`splicer_pipeline::runtime`]): the workers' own type.
pub use splicer_pipeline::Runtime;

/// The counters of one real or virtual, summed over the workers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectCounters {
    /// Its name (a DIP: its address).
    pub name: String,
    /// Its counters, in the workers' order.
    pub counters: Counters,
}

/// How often one content rule of a virtual (or its bind list) routed a request, summed
/// over the workers.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RuleHits {
    /// The virtual.
    #[serde(rename = "virtual")]
    pub virtual_name: String,
    /// The rule's name; `bind` for the virtual's bind list (no rule matched), `rule33+`
    /// for its rules 33 and later together.
    pub rule: String,
    /// Requests routed by it.
    pub hits: u64,
}

/// `now - baseline` of the rows with the same name; a row without a baseline stays.
fn objects_since(now: &[ObjectCounters], baseline: &[ObjectCounters]) -> Vec<ObjectCounters> {
    now.iter()
        .map(|o| ObjectCounters {
            name: o.name.clone(),
            counters: match baseline.iter().find(|b| b.name == o.name) {
                Some(b) => o.counters.since(&b.counters),
                None => o.counters.clone(),
            },
        })
        .collect()
}

/// What one worker's pool of one real holds, as the worker last published it. Levels,
/// not counts: `clear stats` does not change them. The workers' own type, shown as
/// they publish it (no copy of it here to keep in step).
pub use splicer_pipeline::counters::PoolLevels;

/// What the reports make of [`PoolLevels`]: its columns, the closing connections and
/// sums. A trait because the type is the workers' (in splicer-pipeline).
pub trait PoolLevelsExt {
    /// The field names, in display order.
    const NAMES: [&'static str; 5];

    /// The values in the order of [`PoolLevelsExt::NAMES`].
    fn values(&self) -> [u64; 5];

    /// Connections that are neither free, busy nor opening: closing ones. The fields are
    /// read one by one while the worker runs, so this saturates rather than wrapping.
    fn closing(&self) -> u64;

    /// Adds `other`, field by field.
    fn add(&mut self, other: &PoolLevels);

    /// The levels as a JSON object, one member per field.
    fn to_json(&self) -> Value;
}

impl PoolLevelsExt for PoolLevels {
    const NAMES: [&'static str; 5] = ["free", "busy", "opening", "conns", "inflight"];

    fn values(&self) -> [u64; 5] {
        [
            self.free,
            self.busy,
            self.opening,
            self.conns,
            self.inflight,
        ]
    }

    fn closing(&self) -> u64 {
        self.conns.saturating_sub(
            self.free
                .saturating_add(self.busy)
                .saturating_add(self.opening),
        )
    }

    fn add(&mut self, other: &PoolLevels) {
        self.free += other.free;
        self.busy += other.busy;
        self.opening += other.opening;
        self.conns += other.conns;
        self.inflight += other.inflight;
    }

    fn to_json(&self) -> Value {
        Value::Object(
            Self::NAMES
                .iter()
                .zip(self.values())
                .map(|(name, v)| (name.to_string(), json!(v)))
                .collect(),
        )
    }
}

/// The pools of one real: its configured limits and each worker's levels.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RealPools {
    /// `real.name`.
    pub name: String,
    /// `real.address`.
    pub address: String,
    /// `real.pool`: idle connections each worker keeps open.
    pub pool: u16,
    /// `real.maxconns`: most requests (in costs) each worker has in flight on it.
    pub maxconns: u16,
    /// The levels of each worker's pool, by worker index.
    pub workers: Vec<PoolLevels>,
    /// Each worker's measurements of the real (load, response times, loss), by worker
    /// index.
    pub quality: Vec<RealQuality>,
}

impl RealPools {
    /// The measurements of every worker together.
    pub fn quality_total(&self) -> RealQuality {
        RealQuality::merge(&self.quality)
    }

    /// The levels summed over the workers.
    pub fn total(&self) -> PoolLevels {
        let mut t = PoolLevels::default();
        for w in &self.workers {
            t.add(w);
        }
        t
    }
}

impl StatsReport {
    /// The counters since `baseline` (an earlier report of the same appliance), the
    /// per-object ones matched by name, the workers' loop figures by worker; gauges,
    /// pool levels and the mempool are levels and stay as they are.
    pub fn since(&self, baseline: &StatsReport) -> StatsReport {
        let empty = Counters::default();
        let cells = self
            .cells
            .iter()
            .enumerate()
            .map(|(w, row)| {
                row.iter()
                    .enumerate()
                    .map(|(p, c)| {
                        c.since(
                            baseline
                                .cells
                                .get(w)
                                .and_then(|r| r.get(p))
                                .unwrap_or(&empty),
                        )
                    })
                    .collect()
            })
            .collect();
        let nic = self
            .nic
            .iter()
            .enumerate()
            .map(|(p, n)| match (n, baseline.nic.get(p)) {
                (Ok(now), Some(Ok(then))) => Ok(now.since(then)),
                (other, _) => other.clone(),
            })
            .collect();
        let rules = self
            .rules
            .iter()
            .map(|r| {
                let then = baseline
                    .rules
                    .iter()
                    .find(|b| b.virtual_name == r.virtual_name && b.rule == r.rule)
                    .map_or(0, |b| b.hits);
                RuleHits {
                    hits: r.hits.saturating_sub(then),
                    ..r.clone()
                }
            })
            .collect();
        let runtime = self
            .runtime
            .iter()
            .enumerate()
            .map(|(w, r)| baseline.runtime.get(w).map_or(*r, |b| r.since(b)))
            .collect();
        StatsReport {
            cells,
            nic,
            runtime,
            virtuals: objects_since(&self.virtuals, &baseline.virtuals),
            reals: objects_since(&self.reals, &baseline.reals),
            rules,
            ..self.clone()
        }
    }

    /// Every worker on every port.
    pub fn total(&self) -> Counters {
        Counters::sum(self.cells.iter().flatten())
    }

    /// One worker, all ports.
    pub fn worker(&self, w: usize) -> Counters {
        Counters::sum(self.cells.get(w).into_iter().flatten())
    }

    /// One port, all workers.
    pub fn port(&self, p: usize) -> Counters {
        Counters::sum(self.cells.iter().filter_map(|row| row.get(p)))
    }

    /// The gauges summed over the workers.
    pub fn total_gauges(&self) -> Counters {
        Counters::sum(&self.gauges)
    }

    /// The `stats ...` log lines (the format scripts and the end-to-end tests read).
    pub fn log_lines(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "stats total{}{}",
            self.total().pairs(&[]),
            self.total_gauges().pairs(&[])
        )];
        for w in 0..self.cells.len() {
            let gauges = self.gauges.get(w).cloned().unwrap_or_default();
            lines.push(format!(
                "stats worker={w}{}{}",
                self.worker(w).pairs(&[]),
                gauges.pairs(&[])
            ));
        }
        for (p, name) in self.ports.iter().enumerate() {
            // The NIC's own counts replace the workers' rx/tx here: they include what the
            // workers never saw (missed, errors).
            let nic = match self.nic.get(p) {
                Some(Ok(n)) => n.pairs(&[]),
                Some(Err(e)) => format!(" nic_stats_error=\"{e}\""),
                None => String::new(),
            };
            lines.push(format!(
                "stats port={name}{nic}{}",
                self.port(p).pairs(&["rx_packets", "tx_packets"])
            ));
        }
        lines.push(format!(
            "stats mempool available={} in_use={}",
            self.mempool_available, self.mempool_in_use
        ));
        lines
    }

    /// The data of `show stats`.
    pub fn to_json(&self) -> Value {
        let mut total = serde_json::to_value(self.total()).unwrap_or(Value::Null);
        if let (Value::Object(t), Ok(Value::Object(g))) =
            (&mut total, serde_json::to_value(self.total_gauges()))
        {
            t.extend(g);
        }
        json!({
            "total": total,
            "workers": (0..self.cells.len()).map(|w| json!({
                "worker": w,
                "counters": self.worker(w),
                "gauges": self.gauges.get(w).cloned().unwrap_or_default(),
            })).collect::<Vec<_>>(),
            "ports": self.ports.iter().enumerate().map(|(p, name)| json!({
                "name": name,
                "counters": self.port(p),
                "nic": match self.nic.get(p) {
                    Some(Ok(n)) => serde_json::to_value(n).unwrap_or(Value::Null),
                    Some(Err(e)) => json!({ "error": e }),
                    None => Value::Null,
                },
            })).collect::<Vec<_>>(),
            "mempool": { "available": self.mempool_available, "in_use": self.mempool_in_use },
            "virtuals": objects_json(&self.virtuals),
            "reals": objects_json(&self.reals),
            "rules": self.rules,
        })
    }

    /// The text of `show stats`: one table of counters (total, per worker, per port),
    /// then the NICs, gauges, the per-virtual, per-real and per-rule tables, and the
    /// mempool.
    pub fn to_text(&self) -> String {
        let total = self.total();
        let workers: Vec<_> = (0..self.cells.len()).map(|w| self.worker(w)).collect();
        let ports: Vec<_> = (0..self.ports.len()).map(|p| self.port(p)).collect();
        let mut headers = vec!["counter".to_string(), "total".to_string()];
        headers.extend((0..workers.len()).map(|w| format!("worker{w}")));
        headers.extend(self.ports.iter().cloned());
        // Grouped by what they count (see `Section`), a blank line between groups; in
        // their own order inside a group.
        let mut sections: Vec<(Section, Vec<Vec<String>>)> = Vec::new();
        for (name, v) in &total.0 {
            let mut row = vec![name.clone(), v.to_string()];
            row.extend(workers.iter().map(|c| c.get(name).to_string()));
            row.extend(ports.iter().map(|c| c.get(name).to_string()));
            let section = Section::of(name);
            match sections.iter_mut().find(|(s, _)| *s == section) {
                Some((_, rows)) => rows.push(row),
                None => sections.push((section, vec![row])),
            }
        }
        sections.sort_by_key(|(s, _)| *s);
        let mut out = table_sections(
            &headers,
            sections.into_iter().map(|(_, rows)| rows).collect(),
        );

        let nic_names: Vec<String> = self
            .nic
            .iter()
            .find_map(|n| n.as_ref().ok())
            .map(|n| n.0.iter().map(|(k, _)| k.clone()).collect())
            .unwrap_or_default();
        let mut headers = vec!["nic".to_string()];
        headers.extend(self.ports.iter().cloned());
        let rows = nic_names
            .iter()
            .map(|name| {
                let mut row = vec![name.clone()];
                row.extend(self.nic.iter().map(|n| match n {
                    Ok(c) => c.get(name).to_string(),
                    Err(_) => "-".to_string(),
                }));
                row
            })
            .collect();
        out.push('\n');
        out.push_str(&table(&headers, rows));
        for (p, n) in self.nic.iter().enumerate() {
            if let Err(e) = n {
                out.push_str(&format!("nic counters of {}: {e}\n", self.ports[p]));
            }
        }

        let mut headers = vec!["gauge".to_string(), "total".to_string()];
        headers.extend((0..self.gauges.len()).map(|w| format!("worker{w}")));
        let rows = self
            .total_gauges()
            .0
            .iter()
            .map(|(name, v)| {
                let mut row = vec![name.clone(), v.to_string()];
                row.extend(self.gauges.iter().map(|g| g.get(name).to_string()));
                row
            })
            .collect();
        out.push('\n');
        out.push_str(&table(&headers, rows));
        for (what, objects) in [("virtual", &self.virtuals), ("real", &self.reals)] {
            if let Some(t) = objects_table(what, objects) {
                out.push('\n');
                out.push_str(&t);
            }
        }
        if !self.rules.is_empty() {
            let rows = self
                .rules
                .iter()
                .map(|r| vec![r.virtual_name.clone(), r.rule.clone(), r.hits.to_string()])
                .collect();
            out.push('\n');
            out.push_str(&table(&strings(&["virtual", "rule", "hits"]), rows));
        }
        out.push_str(&format!(
            "\nmempool: {} available, {} in use",
            self.mempool_available, self.mempool_in_use
        ));
        out
    }
}

/// `[{"name": ..., <counter>: ...}, ...]`.
fn objects_json(objects: &[ObjectCounters]) -> Value {
    Value::Array(
        objects
            .iter()
            .map(|o| {
                let mut row = serde_json::Map::new();
                row.insert("name".into(), json!(o.name));
                for (n, v) in &o.counters.0 {
                    row.insert(n.clone(), json!(v));
                }
                Value::Object(row)
            })
            .collect(),
    )
}

/// A table with one row per object (`what` heads its names) and a column per counter;
/// `None` when there is no object.
fn objects_table(what: &str, objects: &[ObjectCounters]) -> Option<String> {
    let first = objects.first()?;
    let mut headers = vec![what.to_string()];
    headers.extend(first.counters.0.iter().map(|(n, _)| n.clone()));
    let rows = objects
        .iter()
        .map(|o| {
            let mut row = vec![o.name.clone()];
            row.extend(headers[1..].iter().map(|n| o.counters.get(n).to_string()));
            row
        })
        .collect();
    Some(table(&headers, rows))
}

/// What a worker counter is about, for the grouping of `show stats`: the order of the
/// groups. A counter's group follows from its name; a name no group claims goes last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    /// Frames in and out, hand-offs between workers and to cluster peers, the
    /// impairment stage.
    Packets,
    /// ARP, ICMP, neighbours.
    Presence,
    /// Client TCP connections: handshakes, resets, closes, timeouts.
    ClientConnections,
    /// Request heads read, answered by Splicer itself or refused.
    Requests,
    /// Requests routed and spliced, segments forwarded on splices.
    Splicing,
    /// Server connection pools: reuses, opens, waits.
    Pools,
    /// Responses by status class.
    Responses,
    /// Server connections: opened, closed, failed, reset, timed out.
    ServerConnections,
    /// Server connections draining a response after their client reset.
    Drains,
    /// Dropped packets, by reason.
    Drops,
    /// Anything else.
    Other,
}

impl Section {
    /// The group of the counter called `name`.
    pub fn of(name: &str) -> Section {
        let starts = |prefixes: &[&str]| prefixes.iter().any(|p| name.starts_with(p));
        match name {
            "rx_packets" | "tx_packets" => Section::Packets,
            "client_data_deferred"
            | "client_data_pipelined"
            | "pipelined_requests"
            | "pipelined_dispatched"
            | "pipelined_waits"
            | "pipelined_promoted"
            | "held_segments"
            | "held_released"
            | "held_out_of_order"
            | "held_duplicates"
            | "held_limit"
            | "server_forwarded_ahead"
            | "client_data_beyond_window"
            | "client_data_held_framing"
            | "client_retransmit_mismatch"
            | "keepalive_inserted"
            | "forwarded_for_inserted"
            | "forwarded_for_replaced"
            | "forwarded_for_appended"
            | "proxy_headers_sent"
            | "resegmented" => Section::Splicing,
            "queue_timeouts" | "queue_overflows" | "spill_overs" | "tier_spills" => Section::Pools,
            "handshake_timeouts" | "request_timeouts" | "body_timeouts" | "send_timeouts"
            | "linger_timeouts" | "stop_resets" => Section::ClientConnections,
            "early_responses" => Section::Splicing,
            // Live reconfiguration: what a change did to the connections, how many.
            "reset_failed" | "config_updates" => Section::ServerConnections,
            // Beside `health_routed_again`: a request its server connection lost, sent
            // again.
            "requests_retried" => Section::ServerConnections,
            // TCP handoff (`mode = "handoff"`): what follows a request's routing, as a
            // splice does; not the workers' mesh (`handoff_in`, `handoff_out`).
            "handoff_retransmits"
            | "handoff_failed_timeout"
            | "handoff_failed_refused"
            | "handoff_failed_agent_down"
            | "handoff_not_eligible"
            | "handoff_fallback_splice"
            | "handoff_503"
            | "handoff_client_dropped"
            | "handoff_resets" => Section::Splicing,
            _ if starts(&["handoffs_", "handed_off_", "agent_", "local_"]) => Section::Splicing,
            // The impairment stage (test only) works on received frames.
            // Strays sent on to cluster peers: hand-offs between appliances.
            _ if starts(&["handoff_", "impair_", "cluster_"]) => Section::Packets,
            _ if starts(&["arp_", "icmp_", "neighbours_"]) => Section::Presence,
            _ if starts(&["tcp_", "syn_", "client_", "clients_"]) => Section::ClientConnections,
            _ if starts(&["http_", "refused_", "sticky_", "access_log_"]) => Section::Requests,
            _ if starts(&["splice", "sack_", "tunnel"]) => Section::Splicing,
            _ if starts(&["pool_"]) => Section::Pools,
            _ if starts(&["responses_"]) => Section::Responses,
            _ if starts(&["server_", "health_"]) => Section::ServerConnections,
            _ if starts(&["drain_"]) => Section::Drains,
            _ if starts(&["drop_"]) => Section::Drops,
            _ => Section::Other,
        }
    }
}
