//! What the `show` commands return: plain data gathered by the control core, rendered
//! here as text for people and JSON for programs, and as the `stats ...` log lines.

use crate::command::FlowQuery;
use crate::protocol::Response;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{json, Value};
use splicer_config::{Config, Dip, Mode, Real, Rule, ServiceState};
use std::net::SocketAddrV4;

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
}

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
/// not counts: `clear stats` does not change them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PoolLevels {
    /// Idle connections ready for a request.
    pub free: u64,
    /// Connections carrying a request (or draining a response).
    pub busy: u64,
    /// Connections in the handshake.
    pub opening: u64,
    /// Every connection to the real, closing ones included.
    pub conns: u64,
    /// Requests waiting for a connection.
    pub waiting: u64,
}

impl PoolLevels {
    /// The field names, in display order.
    pub const NAMES: [&'static str; 5] = ["free", "busy", "opening", "conns", "waiting"];

    /// The values in the order of [`PoolLevels::NAMES`].
    pub fn values(&self) -> [u64; 5] {
        [self.free, self.busy, self.opening, self.conns, self.waiting]
    }

    /// Connections that are neither free, busy nor opening: closing ones. The fields are
    /// read one by one while the worker runs, so this saturates rather than wrapping.
    pub fn closing(&self) -> u64 {
        self.conns.saturating_sub(
            self.free
                .saturating_add(self.busy)
                .saturating_add(self.opening),
        )
    }

    /// Adds `other`, field by field.
    pub fn add(&mut self, other: &PoolLevels) {
        self.free += other.free;
        self.busy += other.busy;
        self.opening += other.opening;
        self.conns += other.conns;
        self.waiting += other.waiting;
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
    /// `real.maxconns`: most connections each worker has open.
    pub maxconns: u16,
    /// The levels of each worker's pool, by worker index.
    pub workers: Vec<PoolLevels>,
}

impl RealPools {
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
    /// per-object ones matched by name; gauges, pool levels and the mempool are levels
    /// and stay as they are.
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
        StatsReport {
            cells,
            nic,
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
    /// Frames in and out, hand-offs between workers, the impairment stage.
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
            | "client_data_beyond_window"
            | "client_data_held_framing"
            | "client_retransmit_mismatch"
            | "keepalive_inserted"
            | "resegmented" => Section::Splicing,
            "queue_timeouts" => Section::Pools,
            "handshake_timeouts" | "request_timeouts" | "body_timeouts" | "send_timeouts"
            | "linger_timeouts" => Section::ClientConnections,
            "early_responses" => Section::Splicing,
            // Live reconfiguration: what a change did to the connections, how many.
            "reset_failed" | "config_updates" => Section::ServerConnections,
            // The impairment stage (test only) works on received frames.
            _ if starts(&["handoff_", "impair_"]) => Section::Packets,
            _ if starts(&["arp_", "icmp_", "neighbours_"]) => Section::Presence,
            _ if starts(&["tcp_", "syn_", "client_", "clients_"]) => Section::ClientConnections,
            _ if starts(&["http_", "refused_"]) => Section::Requests,
            _ if starts(&["splice", "sack_"]) => Section::Splicing,
            _ if starts(&["pool_"]) => Section::Pools,
            _ if starts(&["responses_"]) => Section::Responses,
            _ if starts(&["server_"]) => Section::ServerConnections,
            _ if starts(&["drain_"]) => Section::Drains,
            _ if starts(&["drop_"]) => Section::Drops,
            _ => Section::Other,
        }
    }
}

/// A column-aligned table; columns of numbers are right-aligned.
pub fn table(headers: &[String], rows: Vec<Vec<String>>) -> String {
    table_sections(headers, vec![rows])
}

/// A column-aligned table whose rows come in sections, a blank line between two
/// sections; every section is aligned with the others.
pub fn table_sections(headers: &[String], sections: Vec<Vec<Vec<String>>>) -> String {
    let columns = headers.len();
    let mut width: Vec<usize> = headers.iter().map(String::len).collect();
    // Right-aligned: columns of numbers ('-' for none), with at least one number (a
    // column of '-' only, like a backup nothing has, is text).
    let mut numeric = vec![true; columns];
    let mut any_number = vec![false; columns];
    for row in sections.iter().flatten() {
        for (i, cell) in row.iter().enumerate().take(columns) {
            width[i] = width[i].max(cell.len());
            let number = cell.parse::<u64>().is_ok();
            numeric[i] &= number || cell == "-";
            any_number[i] |= number;
        }
    }
    for (n, any) in numeric.iter_mut().zip(any_number) {
        *n &= any;
    }
    let line = |cells: &[String]| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate().take(columns) {
            if i > 0 {
                out.push_str("  ");
            }
            if numeric[i] && i > 0 {
                out.push_str(&format!("{cell:>w$}", w = width[i]));
            } else {
                out.push_str(&format!("{cell:<w$}", w = width[i]));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(headers);
    for (i, rows) in sections.iter().filter(|rows| !rows.is_empty()).enumerate() {
        if i > 0 {
            out.push('\n');
        }
        for row in rows {
            out.push_str(&line(row));
        }
    }
    out
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// One port, as `show ports` lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PortRow {
    /// `port.name`.
    pub name: String,
    /// DPDK port id.
    pub id: u16,
    /// DPDK driver name (`net_tap`, `net_ixgbe`...).
    pub driver: String,
    /// MAC address.
    pub mac: String,
    /// `port.address` (address/prefix).
    pub address: String,
    /// `port.gateway`, if any.
    pub gateway: Option<String>,
    /// Whether the link is up.
    pub link_up: bool,
    /// Packets the NIC received (since start-up or `clear stats`); `None` if unreadable.
    pub rx_packets: Option<u64>,
    /// Packets the NIC sent (since start-up or `clear stats`); `None` if unreadable.
    pub tx_packets: Option<u64>,
}

/// `show ports [name]` over the rows the control core gathered.
pub fn show_ports(rows: Vec<PortRow>, name: Option<&str>) -> Response {
    let rows = match name {
        None => rows,
        Some(n) => {
            let one: Vec<_> = rows.into_iter().filter(|r| r.name == n).collect();
            if one.is_empty() {
                return Response::error(format!("port {n} does not exist"));
            }
            one
        }
    };
    let opt = |v: Option<u64>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
    let text = table(
        &strings(&[
            "name",
            "id",
            "driver",
            "mac",
            "address",
            "gateway",
            "link",
            "rx_packets",
            "tx_packets",
        ]),
        rows.iter()
            .map(|r| {
                vec![
                    r.name.clone(),
                    r.id.to_string(),
                    r.driver.clone(),
                    r.mac.clone(),
                    r.address.clone(),
                    r.gateway.clone().unwrap_or_else(|| "-".to_string()),
                    if r.link_up { "up" } else { "down" }.to_string(),
                    opt(r.rx_packets),
                    opt(r.tx_packets),
                ]
            })
            .collect(),
    );
    Response::with_data(text.trim_end(), json!(rows))
}

/// One worker, as `show workers` lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WorkerRow {
    /// Worker index.
    pub index: usize,
    /// The lcore it runs on.
    pub lcore: u32,
    /// The RX/TX queue it polls on every port.
    pub queue: u16,
    /// Packets it received (since start-up or `clear stats`).
    pub rx_packets: u64,
    /// Packets it sent (since start-up or `clear stats`).
    pub tx_packets: u64,
    /// Client connections in its flow table.
    pub flows: u64,
    /// Of those, half-open.
    pub half_open: u64,
    /// Neighbour entries.
    pub neighbours: u64,
}

/// `show workers` over the rows the control core gathered.
pub fn show_workers(rows: Vec<WorkerRow>) -> Response {
    let text = table(
        &strings(&[
            "worker",
            "lcore",
            "queue",
            "rx_packets",
            "tx_packets",
            "flows",
            "half_open",
            "neighbours",
        ]),
        rows.iter()
            .map(|r| {
                [
                    r.index as u64,
                    u64::from(r.lcore),
                    u64::from(r.queue),
                    r.rx_packets,
                    r.tx_packets,
                    r.flows,
                    r.half_open,
                    r.neighbours,
                ]
                .iter()
                .map(u64::to_string)
                .collect()
            })
            .collect(),
    );
    Response::with_data(text.trim_end(), json!(rows))
}

/// The names as a cell: `s1,s2`, or `-` for none.
fn name_list(names: &[String]) -> String {
    if names.is_empty() {
        "-".to_string()
    } else {
        names.join(",")
    }
}

/// A value as written in a rule's match cell: as is, or quoted (Rust/JSON string
/// syntax) when it is empty or holds a space, a quote or a backslash.
fn match_value(v: &str) -> String {
    if v.is_empty() || v.contains(|c: char| c.is_whitespace() || c == '"' || c == '\\') {
        format!("{v:?}")
    } else {
        v.to_string()
    }
}

/// What a rule matches, for people: its conditions as `key=value`, space-separated, in
/// the order of the configuration reference (every one must hold).
pub fn rule_match(rule: &Rule) -> String {
    let mut parts = Vec::new();
    if let Some(p) = &rule.path_prefix {
        parts.push(format!("path_prefix={}", match_value(p)));
    }
    if let Some(p) = &rule.path_suffix {
        parts.push(format!("path_suffix={}", match_value(p)));
    }
    if let Some(h) = &rule.host {
        parts.push(format!("host={}", match_value(h)));
    }
    if let Some(m) = rule.method {
        parts.push(format!("method={}", m.as_str().unwrap_or("?")));
    }
    if let Some(h) = &rule.header {
        parts.push(format!(
            "header={}",
            match_value(&format!("{}:{}", h.name, h.value))
        ));
    }
    parts.join(" ")
}

/// `show virtual [name]`, from the running configuration: one table of the virtuals and
/// DIPs (kind `dip`, named by their address), then one of their rules (when they have
/// any). A DIP has the port of its real, is bound to it and shares its state and backup.
pub fn show_virtual(config: &Config, name: Option<&str>) -> Response {
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    let mut rule_lines = Vec::new();
    for (i, v) in config.virtuals.iter().enumerate() {
        if name.is_some_and(|n| n != v.name) {
            continue;
        }
        let port = &config.ports[config.virtual_port_index(i)].name;
        rows.push(json!({
            "name": v.name,
            "kind": "virtual",
            "address": v.address.to_string(),
            "port": port,
            "max_request_head": v.max_request_head.to_string(),
            "max_request_head_bytes": v.max_request_head.bytes(),
            "mode": v.mode.name(),
            "predictor": v.predictor.name(),
            "state": v.state.name(),
            "backup": v.backup,
            "bind": v.bind,
            "rules": serde_json::to_value(&v.rules).unwrap_or(Value::Null),
        }));
        lines.push(vec![
            v.name.clone(),
            "virtual".to_string(),
            v.address.to_string(),
            port.clone(),
            v.max_request_head.to_string(),
            v.mode.name().to_string(),
            v.predictor.name().to_string(),
            v.state.name().to_string(),
            dash(v.backup.as_deref()),
            name_list(&v.bind),
        ]);
        for r in &v.rules {
            rule_lines.push(vec![
                v.name.clone(),
                r.name.clone(),
                rule_match(r),
                name_list(&r.bind),
            ]);
        }
    }
    for d in &config.dips {
        let ip = d.address.to_string();
        if name.is_some_and(|n| n != ip) {
            continue;
        }
        let real = dip_real(config, d);
        let address = real.map_or_else(|| ip.clone(), |r| format!("{ip}:{}", r.address.port()));
        let bind: Vec<String> = real.map(|r| r.name.clone()).into_iter().collect();
        let state = real.map_or(ServiceState::InService, |r| r.state);
        let backup = real.and_then(|r| r.backup.clone());
        rows.push(json!({
            "name": ip,
            "kind": "dip",
            "address": address,
            "port": d.port,
            "mode": Mode::Splice.name(),
            "state": state.name(),
            "backup": backup,
            "bind": bind,
            "rules": [],
        }));
        lines.push(vec![
            ip.clone(),
            "dip".to_string(),
            address,
            d.port.clone(),
            "-".to_string(),
            Mode::Splice.name().to_string(),
            "-".to_string(),
            state.name().to_string(),
            dash(backup.as_deref()),
            name_list(&bind),
        ]);
    }
    if let (Some(n), true) = (name, rows.is_empty()) {
        return Response::error(format!("virtual {n} does not exist"));
    }
    let text = if rows.is_empty() {
        "no virtual server is configured".to_string()
    } else {
        let mut text = table(
            &strings(&[
                "name",
                "kind",
                "address",
                "port",
                "max_request_head",
                "mode",
                "predictor",
                "state",
                "backup",
                "bind",
            ]),
            lines,
        );
        if !rule_lines.is_empty() {
            text.push('\n');
            text.push_str(&table(
                &strings(&["virtual", "rule", "match", "bind"]),
                rule_lines,
            ));
        }
        text.trim_end().to_string()
    };
    Response::with_data(text, Value::Array(rows))
}

/// The real a DIP is made for: the one with its address.
fn dip_real<'a>(config: &'a Config, dip: &Dip) -> Option<&'a Real> {
    config.reals.iter().find(|r| *r.address.ip() == dip.address)
}

/// The value as a cell, `-` for none.
fn dash(v: Option<&str>) -> String {
    v.unwrap_or("-").to_string()
}

/// What binds real (or URL) `real`: `(virtual, None)` for a virtual's bind list,
/// `(virtual, Some(rule))` for one of its rules; in configuration order.
pub fn bound_by<'a>(config: &'a Config, real: &str) -> Vec<(&'a str, Option<&'a str>)> {
    let mut out = Vec::new();
    for v in &config.virtuals {
        if v.bind.iter().any(|b| b == real) {
            out.push((v.name.as_str(), None));
        }
        for r in &v.rules {
            if r.bind.iter().any(|b| b == real) {
                out.push((v.name.as_str(), Some(r.name.as_str())));
            }
        }
    }
    out
}

/// `show real [name]`, from the running configuration.
pub fn show_real(config: &Config, name: Option<&str>) -> Response {
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    for r in &config.reals {
        if name.is_some_and(|n| n != r.name) {
            continue;
        }
        let bound = bound_by(config, &r.name);
        rows.push(json!({
            "name": r.name,
            "address": r.address.to_string(),
            "weight": r.weight,
            "pool": r.pool,
            "maxconns": r.maxconns,
            "state": r.state.name(),
            "backup": r.backup,
            "bound_by": bound
                .iter()
                .map(|(v, rule)| json!({ "virtual": v, "rule": rule }))
                .collect::<Vec<_>>(),
        }));
        let bound: Vec<String> = bound
            .iter()
            .map(|(v, rule)| match rule {
                Some(rule) => format!("{v}/{rule}"),
                None => v.to_string(),
            })
            .collect();
        lines.push(vec![
            r.name.clone(),
            r.address.to_string(),
            r.weight.to_string(),
            r.pool.to_string(),
            r.maxconns.to_string(),
            r.state.name().to_string(),
            dash(r.backup.as_deref()),
            name_list(&bound),
        ]);
    }
    object_view(
        "real",
        name,
        "no real server is configured",
        &[
            "name", "address", "weight", "pool", "maxconns", "state", "backup", "bound_by",
        ],
        lines,
        rows,
    )
}

/// The end of a `show <kind> [name]` view of configured objects: an error when `name`
/// matched nothing, `empty` when nothing is configured, else the table of `lines` (text)
/// and `rows` (data).
fn object_view(
    kind: &str,
    name: Option<&str>,
    empty: &str,
    headers: &[&str],
    lines: Vec<Vec<String>>,
    rows: Vec<Value>,
) -> Response {
    if let (Some(n), true) = (name, rows.is_empty()) {
        return Response::error(format!("{kind} {n} does not exist"));
    }
    let text = if rows.is_empty() {
        empty.to_string()
    } else {
        table(&strings(headers), lines).trim_end().to_string()
    };
    Response::with_data(text, Value::Array(rows))
}

/// `show url [name]`, from the running configuration.
pub fn show_url(config: &Config, name: Option<&str>) -> Response {
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    for u in &config.urls {
        if name.is_some_and(|n| n != u.name) {
            continue;
        }
        let (effective, effective_weight) = config.url_effective(u);
        let bound = bound_by(config, &u.name);
        let bound_names: Vec<String> = bound
            .iter()
            .map(|(v, rule)| match rule {
                Some(rule) => format!("{v}/{rule}"),
                None => v.to_string(),
            })
            .collect();
        rows.push(json!({
            "name": u.name,
            "url": u.url,
            "code": u.code,
            "weight": u.weight,
            "effective_weight": effective_weight,
            "link": u.link,
            "state": u.state.name(),
            "effective_state": effective.name(),
            "bound_by": bound
                .iter()
                .map(|(v, rule)| json!({ "virtual": v, "rule": rule }))
                .collect::<Vec<_>>(),
        }));
        lines.push(vec![
            u.name.clone(),
            u.url.clone(),
            u.code.to_string(),
            u.weight.to_string(),
            dash(u.link.as_deref()),
            u.state.name().to_string(),
            effective.name().to_string(),
            name_list(&bound_names),
        ]);
    }
    object_view(
        "url",
        name,
        "no URL is configured",
        &[
            "name",
            "url",
            "code",
            "weight",
            "link",
            "state",
            "effective",
            "bound_by",
        ],
        lines,
        rows,
    )
}

/// `show rule [virtual]` (and `rule list <virtual>`): the content rules in the order
/// they are tried, with their 1-based position.
pub fn show_rule(config: &Config, virtual_name: Option<&str>) -> Response {
    let shown: Vec<_> = config
        .virtuals
        .iter()
        .filter(|v| virtual_name.is_none_or(|n| n == v.name))
        .collect();
    if let (Some(n), true) = (virtual_name, shown.is_empty()) {
        return Response::error(format!("virtual {n} does not exist"));
    }
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    for v in shown {
        for (i, r) in v.rules.iter().enumerate() {
            let mut row = serde_json::to_value(r).unwrap_or(Value::Null);
            row["virtual"] = json!(v.name);
            row["position"] = json!(i + 1);
            rows.push(row);
            lines.push(vec![
                v.name.clone(),
                (i + 1).to_string(),
                r.name.clone(),
                rule_match(r),
                name_list(&r.bind),
            ]);
        }
    }
    let text = match (virtual_name, rows.is_empty()) {
        (Some(n), true) => format!("virtual {n} has no content rule"),
        (None, true) => "no content rule is configured".to_string(),
        _ => table(
            &strings(&["virtual", "position", "rule", "match", "bind"]),
            lines,
        )
        .trim_end()
        .to_string(),
    };
    Response::with_data(text, Value::Array(rows))
}

/// One open client connection, as `show flows` lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FlowRow {
    /// The worker that owns it.
    pub worker: u16,
    /// The client's address and port.
    pub client: SocketAddrV4,
    /// The VIP and port it connected to.
    pub vip: SocketAddrV4,
    /// The virtual's name (a DIP's address for a DIP).
    #[serde(rename = "virtual")]
    pub virtual_name: String,
    /// Its state (`established`, `spliced`, `draining`...).
    pub state: String,
    /// The real it is spliced to now, if any.
    pub real: Option<String>,
    /// The local address of that server connection, if any.
    pub server_local: Option<SocketAddrV4>,
    /// Requests it carried.
    pub requests: u32,
    /// Milliseconds since it last carried data.
    pub idle_ms: u64,
}

/// `show flows ...` over the rows the control core gathered: `rows` are the first
/// matching flows (at most `query.limit`), `matched` how many matched in all.
pub fn show_flows(rows: &[FlowRow], matched: u64, query: &FlowQuery) -> Response {
    let shown = rows.len() as u64;
    let data = json!({
        "query": query,
        "matched": matched,
        "shown": shown,
        "flows": rows,
    });
    if rows.is_empty() {
        let text = if query.virtual_id.is_none() && query.real.is_none() && query.client.is_none() {
            "no client connection is open"
        } else {
            "no flow matches"
        };
        return Response::with_data(text, data);
    }
    let opt = |v: Option<String>| v.unwrap_or_else(|| "-".to_string());
    let mut text = table(
        &strings(&[
            "worker",
            "client",
            "vip",
            "virtual",
            "state",
            "real",
            "server_local",
            "requests",
            "idle_ms",
        ]),
        rows.iter()
            .map(|r| {
                vec![
                    r.worker.to_string(),
                    r.client.to_string(),
                    r.vip.to_string(),
                    r.virtual_name.clone(),
                    r.state.clone(),
                    opt(r.real.clone()),
                    opt(r.server_local.map(|a| a.to_string())),
                    r.requests.to_string(),
                    r.idle_ms.to_string(),
                ]
            })
            .collect(),
    );
    if shown < matched {
        text.push_str(&format!(
            "showing {shown} of {matched} matching flows (limit {})",
            query.limit
        ));
    }
    Response::with_data(text.trim_end(), data)
}

/// `show pools [real]` over the pools the control core gathered: one row per real and
/// worker, and a total row per real when there are several workers.
pub fn show_pools(pools: &[RealPools], name: Option<&str>) -> Response {
    let shown: Vec<&RealPools> = pools
        .iter()
        .filter(|p| name.is_none_or(|n| n == p.name))
        .collect();
    if let (Some(n), true) = (name, shown.is_empty()) {
        return Response::error(format!("real {n} does not exist"));
    }
    if shown.is_empty() {
        return Response::with_data("no real server is configured", json!([]));
    }
    let mut headers = strings(&["real", "worker"]);
    headers.extend(PoolLevels::NAMES.iter().map(|n| n.to_string()));
    headers.extend(strings(&["pool", "maxconns"]));
    let row = |real: &str, worker: String, levels: &PoolLevels, pool: u64, maxconns: u64| {
        let mut row = vec![real.to_string(), worker];
        row.extend(levels.values().iter().map(u64::to_string));
        row.push(pool.to_string());
        row.push(maxconns.to_string());
        row
    };
    let mut sections = Vec::new();
    let mut data = Vec::new();
    for p in &shown {
        let total = p.total();
        let mut rows: Vec<Vec<String>> = p
            .workers
            .iter()
            .enumerate()
            .map(|(w, l)| {
                row(
                    &p.name,
                    w.to_string(),
                    l,
                    u64::from(p.pool),
                    u64::from(p.maxconns),
                )
            })
            .collect();
        if p.workers.len() > 1 {
            let n = p.workers.len() as u64;
            rows.push(row(
                &p.name,
                "total".to_string(),
                &total,
                u64::from(p.pool) * n,
                u64::from(p.maxconns) * n,
            ));
        }
        sections.push(rows);
        data.push(json!({
            "name": p.name,
            "address": p.address,
            "pool": p.pool,
            "maxconns": p.maxconns,
            "workers": p.workers.iter().enumerate().map(|(w, l)| {
                let mut v = json!(l);
                v["worker"] = json!(w);
                v
            }).collect::<Vec<_>>(),
            "total": total,
        }));
    }
    // One section per real when there are several workers; one plain table otherwise.
    let sections = if shown.iter().any(|p| p.workers.len() > 1) {
        sections
    } else {
        vec![sections.into_iter().flatten().collect()]
    };
    Response::with_data(
        table_sections(&headers, sections).trim_end(),
        Value::Array(data),
    )
}

/// `show config`: the TOML text, and the configuration as JSON data.
pub fn show_config(config: &Config) -> Response {
    match toml::to_string(config) {
        Ok(text) => Response::with_data(
            text.trim_end(),
            serde_json::to_value(config).unwrap_or(Value::Null),
        ),
        Err(e) => Response::error(format!("cannot write the configuration as TOML: {e}")),
    }
}

/// A sample report shared by this module's and the metrics' tests.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;

    pub(crate) fn c(pairs: &[(&str, u64)]) -> Counters {
        Counters(pairs.iter().map(|&(n, v)| (n.to_string(), v)).collect())
    }

    pub(crate) fn sample() -> StatsReport {
        StatsReport {
            ports: vec!["outside".into(), "inside".into()],
            cells: vec![
                vec![
                    c(&[
                        ("rx_packets", 10),
                        ("tx_packets", 8),
                        ("drop_not_for_us", 2),
                    ]),
                    c(&[("rx_packets", 1), ("tx_packets", 1), ("drop_not_for_us", 0)]),
                ],
                vec![
                    c(&[("rx_packets", 5), ("tx_packets", 5), ("drop_not_for_us", 0)]),
                    c(&[("rx_packets", 0), ("tx_packets", 0), ("drop_not_for_us", 1)]),
                ],
            ],
            gauges: vec![
                c(&[("flows", 3), ("half_open", 1), ("neighbours", 2)]),
                c(&[("flows", 1), ("half_open", 0), ("neighbours", 1)]),
            ],
            nic: vec![
                Ok(c(&[
                    ("rx_packets", 16),
                    ("tx_packets", 13),
                    ("rx_bytes", 999),
                ])),
                Err("not supported".into()),
            ],
            mempool_available: 1000,
            mempool_in_use: 24,
            pools: vec![
                RealPools {
                    name: "s1".into(),
                    address: "198.19.0.11:80".into(),
                    pool: 4,
                    maxconns: 64,
                    workers: vec![
                        PoolLevels {
                            free: 3,
                            busy: 2,
                            opening: 1,
                            conns: 7,
                            waiting: 0,
                        },
                        PoolLevels {
                            free: 4,
                            busy: 0,
                            opening: 0,
                            conns: 4,
                            waiting: 0,
                        },
                    ],
                },
                RealPools {
                    name: "img.1".into(),
                    address: "198.19.0.12:8080".into(),
                    pool: 0,
                    maxconns: 2,
                    workers: vec![
                        PoolLevels {
                            free: 0,
                            busy: 2,
                            opening: 0,
                            conns: 2,
                            waiting: 5,
                        },
                        PoolLevels::default(),
                    ],
                },
            ],
            virtuals: vec![
                object(
                    "www",
                    &[
                        ("requests", 40),
                        ("spliced", 30),
                        ("redirects", 0),
                        ("no_server", 6),
                        ("refused", 4),
                    ],
                ),
                object(
                    "198.19.0.11",
                    &[
                        ("requests", 2),
                        ("spliced", 2),
                        ("redirects", 0),
                        ("no_server", 0),
                        ("refused", 0),
                    ],
                ),
            ],
            reals: vec![
                object(
                    "s1",
                    &[
                        ("requests", 20),
                        ("responses_2xx", 17),
                        ("responses_5xx", 2),
                        ("server_errors", 1),
                    ],
                ),
                object(
                    "img.1",
                    &[
                        ("requests", 12),
                        ("responses_2xx", 12),
                        ("responses_5xx", 0),
                        ("server_errors", 0),
                    ],
                ),
            ],
            rules: vec![
                RuleHits {
                    virtual_name: "www".into(),
                    rule: "img".into(),
                    hits: 12,
                },
                RuleHits {
                    virtual_name: "www".into(),
                    rule: "bind".into(),
                    hits: 24,
                },
            ],
        }
    }

    pub(crate) fn object(name: &str, pairs: &[(&str, u64)]) -> ObjectCounters {
        ObjectCounters {
            name: name.into(),
            counters: c(pairs),
        }
    }

    /// A report with every counter the workers have, each worker on each port counting
    /// `worker * 100 + port * 10 + 1`.
    pub(crate) fn full() -> StatsReport {
        let mut r = sample();
        for (w, row) in r.cells.iter_mut().enumerate() {
            for (p, cell) in row.iter_mut().enumerate() {
                *cell = Counters(
                    splicer_dataplane::Counter::ALL
                        .iter()
                        .map(|c| (c.name().to_string(), (w * 100 + p * 10 + 1) as u64))
                        .collect(),
                );
            }
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::{full, sample};
    use super::*;

    /// A rendered table as rows of whitespace-separated cells.
    fn words(text: &str) -> Vec<Vec<&str>> {
        text.lines()
            .map(|l| l.split_whitespace().collect())
            .collect()
    }

    #[test]
    fn sums() {
        let r = sample();
        assert_eq!(r.total().get("rx_packets"), 16);
        assert_eq!(r.worker(1).get("tx_packets"), 5);
        assert_eq!(r.port(1).get("drop_not_for_us"), 1);
        assert_eq!(r.total_gauges().get("flows"), 4);
        assert_eq!(r.total().get("no_such_counter"), 0);
    }

    #[test]
    fn since_subtracts_counters_not_gauges() {
        let then = sample();
        let mut now = sample();
        now.cells[0][0].0[0].1 = 15;
        now.gauges[0].0[0].1 = 7;
        if let Ok(n) = &mut now.nic[0] {
            n.0[0].1 = 20;
        }
        let d = now.since(&then);
        assert_eq!(d.total().get("rx_packets"), 5);
        assert_eq!(d.total().get("tx_packets"), 0);
        assert_eq!(d.gauges[0].get("flows"), 7);
        assert_eq!(d.nic[0].as_ref().unwrap().get("rx_packets"), 4);
        assert!(d.nic[1].is_err());
        assert_eq!(d.mempool_in_use, 24);
        // A counter below its baseline shows 0, never a huge wrapped value.
        let back = then.since(&now);
        assert_eq!(back.total().get("rx_packets"), 0);
        assert_eq!(back.cells[0][0].get("rx_packets"), 0);
    }

    #[test]
    fn log_lines_keep_their_format() {
        let lines = sample().log_lines();
        assert_eq!(
            lines,
            vec![
                "stats total rx_packets=16 tx_packets=14 drop_not_for_us=3 flows=4 half_open=1 neighbours=3",
                "stats worker=0 rx_packets=11 tx_packets=9 drop_not_for_us=2 flows=3 half_open=1 neighbours=2",
                "stats worker=1 rx_packets=5 tx_packets=5 drop_not_for_us=1 flows=1 half_open=0 neighbours=1",
                "stats port=outside rx_packets=16 tx_packets=13 rx_bytes=999 drop_not_for_us=2",
                "stats port=inside nic_stats_error=\"not supported\" drop_not_for_us=1",
                "stats mempool available=1000 in_use=24",
            ]
        );
    }

    #[test]
    fn stats_json_and_text() {
        let r = sample();
        let j = r.to_json();
        assert_eq!(j["total"]["rx_packets"], 16);
        assert_eq!(j["total"]["flows"], 4);
        assert_eq!(j["workers"][1]["counters"]["tx_packets"], 5);
        assert_eq!(j["workers"][0]["gauges"]["half_open"], 1);
        assert_eq!(j["ports"][0]["name"], "outside");
        assert_eq!(j["ports"][0]["nic"]["rx_bytes"], 999);
        assert_eq!(j["ports"][1]["nic"]["error"], "not supported");
        assert_eq!(j["mempool"]["in_use"], 24);
        let text = r.to_text();
        let row = text
            .lines()
            .find(|l| l.starts_with("drop_not_for_us"))
            .unwrap();
        let cells: Vec<_> = row.split_whitespace().collect();
        assert_eq!(cells, ["drop_not_for_us", "3", "2", "1", "2", "1"]);
        assert!(text.lines().next().unwrap().starts_with("counter"));
        assert!(text.contains("nic counters of inside: not supported"));
        assert!(text.ends_with("mempool: 1000 available, 24 in use"));
    }

    #[test]
    fn per_object_tables_and_json() {
        let r = sample();
        let j = r.to_json();
        assert_eq!(j["virtuals"][0]["name"], "www");
        assert_eq!(j["virtuals"][0]["no_server"], 6);
        assert_eq!(j["virtuals"][1]["name"], "198.19.0.11");
        assert_eq!(j["reals"][1]["name"], "img.1");
        assert_eq!(j["reals"][0]["server_errors"], 1);
        assert_eq!(
            j["rules"][1],
            json!({"virtual": "www", "rule": "bind", "hits": 24})
        );
        let text = r.to_text();
        let w = words(&text);
        let header = |first: &str| w.iter().position(|l| l.first() == Some(&first)).unwrap();
        let v = header("virtual");
        assert_eq!(
            w[v],
            [
                "virtual",
                "requests",
                "spliced",
                "redirects",
                "no_server",
                "refused"
            ]
        );
        assert_eq!(w[v + 1], ["www", "40", "30", "0", "6", "4"]);
        assert_eq!(w[v + 2], ["198.19.0.11", "2", "2", "0", "0", "0"]);
        let rl = header("real");
        assert_eq!(
            w[rl],
            [
                "real",
                "requests",
                "responses_2xx",
                "responses_5xx",
                "server_errors"
            ]
        );
        assert_eq!(w[rl + 1], ["s1", "20", "17", "2", "1"]);
        let rule = w
            .iter()
            .position(|l| l[..] == ["virtual", "rule", "hits"])
            .unwrap();
        assert_eq!(w[rule + 1], ["www", "img", "12"]);
        assert_eq!(w[rule + 2], ["www", "bind", "24"]);
        // The tables come after the gauges, before the mempool.
        assert!(header("gauge") < v && v < rl && rl < rule);
        assert!(text.ends_with("mempool: 1000 available, 24 in use"));
        // Nothing configured: no tables, empty lists.
        let bare = StatsReport {
            virtuals: vec![],
            reals: vec![],
            rules: vec![],
            ..sample()
        };
        let text = bare.to_text();
        assert!(
            !text.contains("\nvirtual") && !text.contains("\nreal "),
            "{text}"
        );
        assert_eq!(bare.to_json()["rules"], json!([]));
    }

    #[test]
    fn since_subtracts_per_object_counters_by_name() {
        let then = sample();
        let mut now = sample();
        now.virtuals[0].counters.0[0].1 = 45;
        now.reals[1].counters.0[1].1 = 20;
        now.rules[0].hits = 15;
        // A real added since the baseline counts from 0; the order may change.
        now.reals
            .insert(0, tests_support::object("new", &[("requests", 3)]));
        now.rules.swap(0, 1);
        let d = now.since(&then);
        assert_eq!(d.virtuals[0].counters.get("requests"), 5);
        assert_eq!(d.virtuals[0].counters.get("no_server"), 0);
        assert_eq!(d.virtuals[1].counters.get("requests"), 0);
        assert_eq!(d.reals[0].name, "new");
        assert_eq!(d.reals[0].counters.get("requests"), 3);
        assert_eq!(d.reals[2].counters.get("responses_2xx"), 8);
        assert_eq!(d.reals[1].counters.get("requests"), 0);
        assert_eq!((d.rules[1].rule.as_str(), d.rules[1].hits), ("img", 3));
        assert_eq!((d.rules[0].rule.as_str(), d.rules[0].hits), ("bind", 0));
        // Below the baseline (a real removed and added again): 0, never wrapped.
        let back = then.since(&now);
        assert_eq!(back.virtuals[0].counters.get("requests"), 0);
        assert!(back.rules.iter().all(|r| r.hits == 0));
    }

    #[test]
    fn every_counter_has_a_section() {
        for c in splicer_dataplane::Counter::ALL {
            assert_ne!(Section::of(c.name()), Section::Other, "{}", c.name());
        }
        for (name, section) in [
            ("rx_packets", Section::Packets),
            ("handoff_in", Section::Packets),
            ("impair_dropped", Section::Packets),
            ("neighbours_learned", Section::Presence),
            ("tcp_retransmit_timeouts", Section::ClientConnections),
            ("clients_closed_after_response", Section::ClientConnections),
            ("request_timeouts", Section::ClientConnections),
            ("http_no_server", Section::Requests),
            ("refused_bad_body", Section::Requests),
            ("http_incomplete_requests", Section::Requests),
            ("splice_requests", Section::Splicing),
            ("splices", Section::Splicing),
            ("spliced_down", Section::Splicing),
            ("client_data_deferred", Section::Splicing),
            ("keepalive_inserted", Section::Splicing),
            ("pool_wait_served", Section::Pools),
            ("queue_timeouts", Section::Pools),
            ("responses_other", Section::Responses),
            ("server_framing_errors", Section::ServerConnections),
            ("drain_timeouts", Section::Drains),
            ("drop_server_out_of_order", Section::Drops),
            ("something_new", Section::Other),
        ] {
            assert_eq!(Section::of(name), section, "{name}");
        }
    }

    #[test]
    fn stats_text_groups_the_counters() {
        let r = full();
        let text = r.to_text();
        let counters = text.split("\n\nnic").next().unwrap();
        let groups: Vec<Vec<&str>> = counters
            .split("\n\n")
            .map(|g| {
                g.lines()
                    .filter(|l| !l.starts_with("counter "))
                    .map(|l| l.split_whitespace().next().unwrap())
                    .collect()
            })
            .collect();
        // One group per section, in section order, every counter once.
        let sections: Vec<Section> = groups.iter().map(|g| Section::of(g[0])).collect();
        let mut sorted = sections.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sections, sorted, "{text}");
        for g in &groups {
            assert!(
                g.iter().all(|n| Section::of(n) == Section::of(g[0])),
                "{g:?}"
            );
        }
        let listed: usize = groups.iter().map(Vec::len).sum();
        assert_eq!(listed, splicer_dataplane::Counter::ALL.len());
        assert!(text.starts_with("counter "), "{text}");
        assert_eq!(groups[0][..2], ["rx_packets", "tx_packets"]);
        assert_eq!(groups.last().unwrap()[0], "drop_truncated");
        // Every row has every column, aligned with the header.
        let header_len = text.lines().next().unwrap().len();
        let row = text.lines().find(|l| l.starts_with("pool_reuses")).unwrap();
        assert_eq!(row.len(), header_len, "{text}");
        assert_eq!(
            row.split_whitespace().collect::<Vec<_>>(),
            ["pool_reuses", "224", "12", "212", "102", "122"]
        );
        // The JSON and the log lines keep the workers' order.
        let j = r.to_json();
        assert_eq!(j["total"]["splices"], 224);
        assert!(
            r.log_lines()[0].starts_with("stats total rx_packets=224 tx_packets=224 handoff_out=")
        );
    }

    #[test]
    fn table_alignment() {
        let t = table(
            &strings(&["name", "n"]),
            vec![strings(&["a", "5"]), strings(&["bb", "100"])],
        );
        assert_eq!(t, "name    n\na       5\nbb    100\n");
        // A column of '-' only is text, left-aligned.
        let t = table(
            &strings(&["n", "backup"]),
            vec![strings(&["1", "-"]), strings(&["2", "-"])],
        );
        assert_eq!(t, "n  backup\n1  -\n2  -\n");
    }

    fn port(name: &str) -> PortRow {
        PortRow {
            name: name.into(),
            id: 0,
            driver: "net_tap".into(),
            mac: "02:00:00:00:00:01".into(),
            address: "198.18.0.1/24".into(),
            gateway: None,
            link_up: true,
            rx_packets: Some(3),
            tx_packets: None,
        }
    }

    #[test]
    fn ports_and_workers() {
        let r = show_ports(vec![port("outside"), port("inside")], None);
        assert!(r.ok);
        assert_eq!(r.data[1]["name"], "inside");
        assert_eq!(r.data[0]["tx_packets"], Value::Null);
        assert!(
            r.text.contains("net_tap") && r.text.contains(" up "),
            "{}",
            r.text
        );
        let r = show_ports(vec![port("outside"), port("inside")], Some("inside"));
        assert_eq!(r.data.as_array().unwrap().len(), 1);
        let r = show_ports(vec![port("outside")], Some("dmz"));
        assert_eq!(r, Response::error("port dmz does not exist"));

        let r = show_workers(vec![WorkerRow {
            index: 0,
            lcore: 1,
            queue: 0,
            rx_packets: 7,
            tx_packets: 6,
            flows: 2,
            half_open: 1,
            neighbours: 3,
        }]);
        assert_eq!(r.data[0]["lcore"], 1);
        assert_eq!(
            r.text
                .lines()
                .nth(1)
                .unwrap()
                .split_whitespace()
                .collect::<Vec<_>>(),
            ["0", "1", "0", "7", "6", "2", "1", "3"]
        );
    }

    fn config() -> Config {
        Config::from_toml_str(
            r#"
[dataplane]
eal = ["-l", "0-1"]
[[port]]
name = "outside"
address = "198.18.0.1/24"
[[port]]
name = "inside"
address = "198.19.0.1/24"
[[virtual]]
name = "www"
address = "198.18.0.100:80"
[[virtual]]
name = "api"
address = "203.0.113.5:8080"
port = "inside"
max_request_head = "4KiB"
"#,
        )
        .unwrap()
    }

    #[test]
    fn virtuals() {
        let c = config();
        let all = show_virtual(&c, None);
        assert!(all.ok);
        assert_eq!(all.data.as_array().unwrap().len(), 2);
        let api = show_virtual(&c, Some("api"));
        assert_eq!(api.data[0]["port"], "inside");
        assert_eq!(api.data[0]["max_request_head"], "4KiB");
        assert_eq!(api.data[0]["max_request_head_bytes"], 4096);
        assert!(api.text.contains("203.0.113.5:8080"), "{}", api.text);
        assert_eq!(
            show_virtual(&c, Some("www2")),
            Response::error("virtual www2 does not exist")
        );
        let mut none = c.clone();
        none.virtuals.clear();
        assert_eq!(
            show_virtual(&none, None).text,
            "no virtual server is configured"
        );
        assert_eq!(
            show_virtual(&none, Some("www")),
            Response::error("virtual www does not exist")
        );
    }

    fn farm_config() -> Config {
        Config::from_toml_str(
            r#"
[dataplane]
eal = ["-l", "0-1"]
[[port]]
name = "outside"
address = "198.18.0.1/24"
[[port]]
name = "inside"
address = "198.19.0.1/24"
[[real]]
name = "s1"
address = "198.19.0.11:80"
[[real]]
name = "s2"
address = "198.19.0.12:80"
weight = 3
pool = 0
maxconns = 16
[[real]]
name = "spare"
address = "198.19.0.13:8080"
[[virtual]]
name = "www"
address = "198.18.0.100:80"
bind = ["s1", "s2"]
[[virtual.rule]]
name = "img"
path_prefix = "/img/"
path_suffix = ".jpg"
bind = ["s2"]
[[virtual.rule]]
host = "api.example.com"
method = "POST"
header = { name = "X-Tenant", value = "blue sky" }
bind = ["s1", "s2"]
[[virtual]]
name = "api"
address = "198.18.0.101:80"
[[virtual.rule]]
path_prefix = "/v1/"
bind = ["s1"]
"#,
        )
        .unwrap()
    }

    #[test]
    fn virtuals_show_their_routing() {
        let c = farm_config();
        let all = show_virtual(&c, None);
        assert!(all.ok);
        let lines = words(&all.text);
        assert_eq!(
            lines[0],
            [
                "name",
                "kind",
                "address",
                "port",
                "max_request_head",
                "mode",
                "predictor",
                "state",
                "backup",
                "bind"
            ]
        );
        assert_eq!(
            lines[1],
            [
                "www",
                "virtual",
                "198.18.0.100:80",
                "outside",
                "16KiB",
                "splice",
                "roundrobin",
                "in-service",
                "-",
                "s1,s2"
            ]
        );
        assert_eq!(
            lines[2],
            [
                "api",
                "virtual",
                "198.18.0.101:80",
                "outside",
                "16KiB",
                "splice",
                "roundrobin",
                "in-service",
                "-",
                "-"
            ]
        );
        assert!(lines[3].is_empty(), "{}", all.text);
        assert_eq!(lines[4], ["virtual", "rule", "match", "bind"]);
        assert_eq!(
            lines[5],
            ["www", "img", "path_prefix=/img/", "path_suffix=.jpg", "s2"]
        );
        let rule2 = all.text.lines().nth(6).unwrap();
        assert!(
            rule2.starts_with("www      rule2  host=api.example.com method=POST header=\"X-Tenant:blue sky\"  s1,s2"),
            "{}",
            all.text
        );
        assert_eq!(lines[7], ["api", "rule1", "path_prefix=/v1/", "s1"]);
        assert_eq!(lines.len(), 8);

        let www = &all.data[0];
        assert_eq!(www["mode"], "splice");
        assert_eq!(www["predictor"], "roundrobin");
        assert_eq!(www["bind"], json!(["s1", "s2"]));
        assert_eq!(www["rules"][0]["name"], "img");
        assert_eq!(www["rules"][0]["path_suffix"], ".jpg");
        assert_eq!(www["rules"][0]["bind"], json!(["s2"]));
        assert_eq!(www["rules"][1]["method"], "POST");
        assert_eq!(www["rules"][1]["header"]["value"], "blue sky");
        assert_eq!(all.data[1]["bind"], json!([]));

        // One virtual: its rules only; a virtual without rules has no rule table.
        let api = show_virtual(&c, Some("api"));
        assert_eq!(api.data.as_array().unwrap().len(), 1);
        assert!(!api.text.contains("www"), "{}", api.text);
        let plain = show_virtual(&config(), Some("www"));
        assert_eq!(plain.text.lines().count(), 2, "{}", plain.text);
        assert_eq!(plain.data[0]["rules"], json!([]));
    }

    #[test]
    fn rule_match_quotes_what_needs_it() {
        let mut r = Rule::new("r", vec!["s1".into()]);
        r.path_prefix = Some("/a b/".into());
        r.host = Some("x\"y".into());
        assert_eq!(rule_match(&r), r#"path_prefix="/a b/" host="x\"y""#);
        r.path_prefix = None;
        r.host = None;
        r.method = Some(splicer_config::Method::Delete);
        r.header = Some(splicer_config::HeaderMatch {
            name: "X-A".into(),
            value: "b".into(),
        });
        assert_eq!(rule_match(&r), "method=DELETE header=X-A:b");
    }

    #[test]
    fn reals_and_what_binds_them() {
        let c = farm_config();
        let all = show_real(&c, None);
        assert!(all.ok);
        let lines = words(&all.text);
        assert_eq!(
            lines,
            vec![
                vec![
                    "name", "address", "weight", "pool", "maxconns", "state", "backup", "bound_by"
                ],
                vec![
                    "s1",
                    "198.19.0.11:80",
                    "1",
                    "4",
                    "64",
                    "in-service",
                    "-",
                    "www,www/rule2,api/rule1"
                ],
                vec![
                    "s2",
                    "198.19.0.12:80",
                    "3",
                    "0",
                    "16",
                    "in-service",
                    "-",
                    "www,www/img,www/rule2"
                ],
                vec![
                    "spare",
                    "198.19.0.13:8080",
                    "1",
                    "4",
                    "64",
                    "in-service",
                    "-",
                    "-"
                ],
            ]
        );
        let s2 = show_real(&c, Some("s2"));
        assert_eq!(s2.data.as_array().unwrap().len(), 1);
        assert_eq!(s2.data[0]["weight"], 3);
        assert_eq!(s2.data[0]["maxconns"], 16);
        assert_eq!(
            s2.data[0]["bound_by"],
            json!([
                {"virtual": "www", "rule": null},
                {"virtual": "www", "rule": "img"},
                {"virtual": "www", "rule": "rule2"},
            ])
        );
        assert_eq!(show_real(&c, Some("spare")).data[0]["bound_by"], json!([]));
        assert_eq!(
            show_real(&c, Some("s9")),
            Response::error("real s9 does not exist")
        );
        // Names are matched as written.
        assert_eq!(
            show_real(&c, Some("S1")),
            Response::error("real S1 does not exist")
        );
        let none = config();
        assert_eq!(show_real(&none, None).text, "no real server is configured");
        assert_eq!(show_real(&none, None).data, json!([]));
        assert_eq!(
            show_real(&none, Some("s1")),
            Response::error("real s1 does not exist")
        );
    }

    #[test]
    fn pools_per_worker_with_totals() {
        let pools = sample().pools;
        let r = show_pools(&pools, None);
        assert!(r.ok);
        let lines = words(&r.text);
        assert_eq!(
            lines,
            vec![
                vec![
                    "real", "worker", "free", "busy", "opening", "conns", "waiting", "pool",
                    "maxconns"
                ],
                vec!["s1", "0", "3", "2", "1", "7", "0", "4", "64"],
                vec!["s1", "1", "4", "0", "0", "4", "0", "4", "64"],
                vec!["s1", "total", "7", "2", "1", "11", "0", "8", "128"],
                vec![],
                vec!["img.1", "0", "0", "2", "0", "2", "5", "0", "2"],
                vec!["img.1", "1", "0", "0", "0", "0", "0", "0", "2"],
                vec!["img.1", "total", "0", "2", "0", "2", "5", "0", "4"],
            ]
        );
        // Numbers are right-aligned under their header.
        let header = r.text.lines().next().unwrap();
        assert!(
            r.text
                .lines()
                .all(|l| l.is_empty() || l.len() == header.len()),
            "{}",
            r.text
        );

        assert_eq!(r.data[0]["name"], "s1");
        assert_eq!(r.data[0]["address"], "198.19.0.11:80");
        assert_eq!(r.data[0]["pool"], 4);
        assert_eq!(r.data[0]["maxconns"], 64);
        assert_eq!(
            r.data[0]["workers"][0],
            json!({"worker": 0, "free": 3, "busy": 2, "opening": 1, "conns": 7, "waiting": 0})
        );
        assert_eq!(
            r.data[0]["total"],
            json!({"free": 7, "busy": 2, "opening": 1, "conns": 11, "waiting": 0})
        );
        assert_eq!(r.data[1]["total"]["waiting"], 5);

        let one = show_pools(&pools, Some("img.1"));
        assert_eq!(one.data.as_array().unwrap().len(), 1);
        assert_eq!(one.text.lines().count(), 4, "{}", one.text);
        assert_eq!(
            show_pools(&pools, Some("s9")),
            Response::error("real s9 does not exist")
        );
        assert_eq!(show_pools(&[], None).text, "no real server is configured");
        assert_eq!(
            show_pools(&[], Some("s1")),
            Response::error("real s1 does not exist")
        );
    }

    #[test]
    fn pools_of_one_worker_have_no_total_rows() {
        let mut pools = sample().pools;
        for p in &mut pools {
            p.workers.truncate(1);
        }
        let r = show_pools(&pools, None);
        let lines = words(&r.text);
        assert_eq!(
            lines,
            vec![
                vec![
                    "real", "worker", "free", "busy", "opening", "conns", "waiting", "pool",
                    "maxconns"
                ],
                vec!["s1", "0", "3", "2", "1", "7", "0", "4", "64"],
                vec!["img.1", "0", "0", "2", "0", "2", "5", "0", "2"],
            ]
        );
        assert_eq!(r.data[0]["total"]["conns"], 7);
    }

    #[test]
    fn pool_levels() {
        let l = PoolLevels {
            free: 1,
            busy: 2,
            opening: 3,
            conns: 10,
            waiting: 4,
        };
        assert_eq!(l.closing(), 4);
        assert_eq!(PoolLevels { conns: 1, ..l }.closing(), 0);
        let mut t = l;
        t.add(&l);
        assert_eq!(t.values(), [2, 4, 6, 20, 8]);
    }

    #[test]
    fn config_round_trips_through_show_config() {
        let c = config();
        let r = show_config(&c);
        assert!(r.ok);
        assert_eq!(Config::from_toml_str(&r.text).unwrap(), c);
        assert_eq!(r.data["dataplane"]["workers"], 1);
    }

    /// farm_config with live state: a DIP for s1, a redirect virtual, URLs, states and
    /// backups (set on the fields: the TOML of [[url]] and [[dip]] is not parsed yet).
    fn live_config() -> Config {
        let mut c = farm_config();
        c.reals[0].state = ServiceState::Maintenance;
        c.reals[0].backup = Some("moved".into());
        c.virtuals[1].state = ServiceState::Sticky;
        c.virtuals[1].mode = Mode::Redirect;
        c.virtuals[1].bind = vec!["moved".into()];
        c.virtuals[1].backup = Some("www".into());
        let url = |name: &str, link: Option<&str>, state| splicer_config::Url {
            name: name.into(),
            url: format!("http://%h/{name}/%d"),
            code: 302,
            weight: 1,
            link: link.map(str::to_string),
            state,
        };
        c.urls = vec![
            url("moved", Some("api"), ServiceState::InService),
            url("gone", Some("198.19.0.11"), ServiceState::InService),
            url("down", Some("www"), ServiceState::Failed),
            url("plain", None, ServiceState::InService),
        ];
        c.urls[3].code = 301;
        c.urls[3].weight = 7;
        c.dips = vec![Dip {
            address: "198.19.0.11".parse().unwrap(),
            port: "outside".into(),
        }];
        c
    }

    #[test]
    fn virtuals_show_state_backup_and_dips() {
        let c = live_config();
        let all = show_virtual(&c, None);
        let lines = words(&all.text);
        assert_eq!(
            lines[2],
            [
                "api",
                "virtual",
                "198.18.0.101:80",
                "outside",
                "16KiB",
                "redirect",
                "roundrobin",
                "sticky",
                "www",
                "moved"
            ]
        );
        assert_eq!(
            lines[3],
            [
                "198.19.0.11",
                "dip",
                "198.19.0.11:80",
                "outside",
                "-",
                "splice",
                "-",
                "maintenance",
                "moved",
                "s1"
            ]
        );
        assert_eq!(all.data[1]["state"], "sticky");
        assert_eq!(all.data[1]["backup"], "www");
        assert_eq!(all.data[0]["backup"], Value::Null);
        assert_eq!(all.data[2]["kind"], "dip");
        assert_eq!(all.data[2]["bind"], json!(["s1"]));
        let dip = show_virtual(&c, Some("198.19.0.11"));
        assert_eq!(dip.data.as_array().unwrap().len(), 1);
        assert_eq!(dip.text.lines().count(), 2, "{}", dip.text);
        assert_eq!(dip.data[0]["address"], "198.19.0.11:80");

        let reals = show_real(&c, Some("s1"));
        assert_eq!(
            words(&reals.text)[1],
            [
                "s1",
                "198.19.0.11:80",
                "1",
                "4",
                "64",
                "maintenance",
                "moved",
                "www,www/rule2,api/rule1"
            ]
        );
        assert_eq!(reals.data[0]["state"], "maintenance");
        assert_eq!(reals.data[0]["backup"], "moved");
    }

    #[test]
    fn urls_with_their_effective_state() {
        let c = live_config();
        let all = show_url(&c, None);
        assert!(all.ok);
        assert_eq!(
            words(&all.text),
            vec![
                vec![
                    "name",
                    "url",
                    "code",
                    "weight",
                    "link",
                    "state",
                    "effective",
                    "bound_by"
                ],
                // Linked to a sticky virtual; bound by api.
                vec![
                    "moved",
                    "http://%h/moved/%d",
                    "302",
                    "1",
                    "api",
                    "in-service",
                    "sticky",
                    "api"
                ],
                // Linked to a DIP whose real is in maintenance.
                vec![
                    "gone",
                    "http://%h/gone/%d",
                    "302",
                    "1",
                    "198.19.0.11",
                    "in-service",
                    "maintenance",
                    "-"
                ],
                // Its own state wins over the link's.
                vec![
                    "down",
                    "http://%h/down/%d",
                    "302",
                    "1",
                    "www",
                    "failed",
                    "failed",
                    "-"
                ],
                vec![
                    "plain",
                    "http://%h/plain/%d",
                    "301",
                    "7",
                    "-",
                    "in-service",
                    "in-service",
                    "-"
                ],
            ]
        );
        assert_eq!(all.data[0]["effective_state"], "sticky");
        assert_eq!(
            all.data[0]["bound_by"],
            json!([{"virtual": "api", "rule": null}])
        );
        assert_eq!(all.data[3]["link"], Value::Null);
        let mut heavy = c.clone();
        heavy.reals[0].weight = 9;
        assert_eq!(
            show_url(&heavy, Some("gone")).data[0]["effective_weight"],
            9
        );
        assert_eq!(show_url(&heavy, Some("gone")).data[0]["weight"], 1);
        assert_eq!(
            show_url(&c, Some("plain")).data.as_array().unwrap().len(),
            1
        );
        assert_eq!(
            show_url(&c, Some("x")),
            Response::error("url x does not exist")
        );
        let none = farm_config();
        assert_eq!(show_url(&none, None).text, "no URL is configured");
        assert_eq!(show_url(&none, None).data, json!([]));
    }

    #[test]
    fn rules_with_their_positions() {
        let c = farm_config();
        let all = show_rule(&c, None);
        assert!(all.ok);
        let lines = words(&all.text);
        assert_eq!(lines[0], ["virtual", "position", "rule", "match", "bind"]);
        assert_eq!(
            lines[1],
            [
                "www",
                "1",
                "img",
                "path_prefix=/img/",
                "path_suffix=.jpg",
                "s2"
            ]
        );
        assert_eq!(lines[2][..3], ["www", "2", "rule2"]);
        assert_eq!(lines[3], ["api", "1", "rule1", "path_prefix=/v1/", "s1"]);
        assert_eq!(lines.len(), 4);
        assert_eq!(all.data[1]["position"], 2);
        assert_eq!(all.data[1]["virtual"], "www");
        assert_eq!(all.data[1]["method"], "POST");
        assert_eq!(all.data[1]["bind"], json!(["s1", "s2"]));
        let api = show_rule(&c, Some("api"));
        assert_eq!(api.data.as_array().unwrap().len(), 1);
        assert_eq!(api.text.lines().count(), 2);
        assert_eq!(
            show_rule(&c, Some("nope")),
            Response::error("virtual nope does not exist")
        );
        let plain = config();
        assert_eq!(
            show_rule(&plain, Some("www")).text,
            "virtual www has no content rule"
        );
        assert_eq!(
            show_rule(&plain, None).text,
            "no content rule is configured"
        );
    }

    fn flow(worker: u16, client: &str, real: Option<&str>) -> FlowRow {
        FlowRow {
            worker,
            client: client.parse().unwrap(),
            vip: "198.18.0.100:80".parse().unwrap(),
            virtual_name: "www".into(),
            state: if real.is_some() { "spliced" } else { "reading" }.into(),
            real: real.map(str::to_string),
            server_local: real.map(|_| "198.19.0.1:40001".parse().unwrap()),
            requests: 3,
            idle_ms: 12,
        }
    }

    #[test]
    fn flows_table_and_limit() {
        let rows = [
            flow(0, "203.0.113.7:50000", Some("s1")),
            flow(1, "203.0.113.8:50001", None),
        ];
        let q = FlowQuery::default();
        let r = show_flows(&rows, 2, &q);
        assert!(r.ok);
        assert_eq!(
            words(&r.text),
            vec![
                vec![
                    "worker",
                    "client",
                    "vip",
                    "virtual",
                    "state",
                    "real",
                    "server_local",
                    "requests",
                    "idle_ms"
                ],
                vec![
                    "0",
                    "203.0.113.7:50000",
                    "198.18.0.100:80",
                    "www",
                    "spliced",
                    "s1",
                    "198.19.0.1:40001",
                    "3",
                    "12"
                ],
                vec![
                    "1",
                    "203.0.113.8:50001",
                    "198.18.0.100:80",
                    "www",
                    "reading",
                    "-",
                    "-",
                    "3",
                    "12"
                ],
            ]
        );
        assert_eq!(r.data["matched"], 2);
        assert_eq!(r.data["shown"], 2);
        assert_eq!(r.data["flows"][0]["client"], "203.0.113.7:50000");
        assert_eq!(r.data["flows"][0]["virtual"], "www");
        assert_eq!(r.data["flows"][1]["real"], Value::Null);
        assert_eq!(r.data["query"]["limit"], 100);

        let q = FlowQuery {
            limit: 1,
            virtual_id: Some("www".into()),
            ..FlowQuery::default()
        };
        let r = show_flows(&rows[..1], 5, &q);
        assert_eq!(
            r.text.lines().last().unwrap(),
            "showing 1 of 5 matching flows (limit 1)"
        );
        assert_eq!(r.data["query"]["virtual"], "www");
        assert_eq!(r.data["query"]["client"], Value::Null);
        assert_eq!(
            show_flows(&[], 0, &FlowQuery::default()).text,
            "no client connection is open"
        );
        assert_eq!(show_flows(&[], 0, &q).text, "no flow matches");
        assert_eq!(show_flows(&[], 0, &q).data["flows"], json!([]));
    }
}
