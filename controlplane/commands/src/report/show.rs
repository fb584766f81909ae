//! The `show` views of the configuration and of live state other than counters: ports,
//! workers, virtuals, reals, URLs, rules, flows, pools and the configuration itself.

use crate::command::FlowQuery;
use crate::protocol::Response;
use serde_json::{json, Value};
use splicer_config::{Config, Dip, Mode, Real, Rule, ServiceState};
use std::collections::HashMap;
use std::net::SocketAddrV4;

use super::stats::{PoolLevels, PoolLevelsExt, RealPools, Runtime};
use super::table::{strings, table, table_sections};

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
    /// Its loop's figures (since start-up or `clear stats`): polls, packets, busy and
    /// total cycles. In the JSON as members of the row, with `busy_fraction` and
    /// `cycles_per_packet`.
    #[serde(skip)]
    pub runtime: Runtime,
}

/// `show workers` over the rows the control core gathered: what each worker holds and
/// how busy it is (VPP's `show runtime`: polls, busy polls, packets, busy cycles,
/// cycles per packet, busy %).
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
            "polls",
            "busy_polls",
            "packets",
            "busy_cycles",
            "cycles/pkt",
            "busy",
        ]),
        rows.iter()
            .map(|r| {
                let rt = &r.runtime;
                let mut cells: Vec<String> = [
                    r.index as u64,
                    u64::from(r.lcore),
                    u64::from(r.queue),
                    r.rx_packets,
                    r.tx_packets,
                    r.flows,
                    r.half_open,
                    r.neighbours,
                    rt.polls,
                    rt.busy_polls,
                    rt.packets,
                    rt.busy_cycles,
                ]
                .iter()
                .map(u64::to_string)
                .collect();
                cells.push(
                    rt.cycles_per_packet()
                        .map_or_else(|| "-".to_string(), |c| format!("{c:.1}")),
                );
                cells.push(
                    rt.busy_fraction()
                        .map_or_else(|| "-".to_string(), |f| format!("{:.1}%", f * 100.0)),
                );
                cells
            })
            .collect(),
    );
    let data = rows
        .iter()
        .map(|r| {
            let mut row = serde_json::to_value(r).unwrap_or(Value::Null);
            if let Value::Object(m) = &mut row {
                for (name, v) in Runtime::NAMES.iter().zip(r.runtime.values()) {
                    m.insert(name.to_string(), json!(v));
                }
                m.insert("busy_fraction".into(), json!(r.runtime.busy_fraction()));
                m.insert(
                    "cycles_per_packet".into(),
                    json!(r.runtime.cycles_per_packet()),
                );
            }
            row
        })
        .collect();
    Response::with_data(text.trim_end(), Value::Array(data))
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
    if let Some(c) = &rule.cookie {
        parts.push(format!(
            "cookie={}",
            match_value(&format!("{}={}", c.name, c.value))
        ));
    }
    parts.join(" ")
}

/// What the workers last published about configured objects, summed over them, for
/// `show virtual` and `show real`; an object missing (no worker row yet) shows `-`.
#[derive(Debug, Clone, Default)]
pub struct Levels {
    /// Per real name: the cost of the requests in flight on it (against `maxconns`).
    pub inflight: HashMap<String, u64>,
    /// Per virtual name (a DIP: its address): requests waiting in its queue.
    pub queued: HashMap<String, u64>,
}

/// A level as a cell, and as JSON (`null` when unknown).
fn level(v: Option<&u64>) -> (String, Value) {
    match v {
        Some(v) => (v.to_string(), json!(v)),
        None => ("-".to_string(), Value::Null),
    }
}

/// `show virtual [name]`, from the running configuration and the workers' `levels`: one
/// table of the virtuals and DIPs (kind `dip`, named by their address), then one of
/// their rules (when they have any). A DIP has the port of its real, is bound to it and
/// shares its state and backup. `queued` is the depth of its queue now (requests waiting
/// while every real of their set is at `maxconns`), over all workers.
pub fn show_virtual(config: &Config, name: Option<&str>, levels: &Levels) -> Response {
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
            "max_pipeline": v.max_pipeline,
            "max_held": v.max_held.to_string(),
            "max_held_bytes": v.max_held.bytes(),
            "mode": v.mode.name(),
            "predictor": v.predictor.name(),
            "state": v.state.name(),
            "backup": v.backup,
            "bind": v.bind,
            "rules": serde_json::to_value(&v.rules).unwrap_or(Value::Null),
            "queue_size": v.queue_size,
            "priority": v.priority,
            "cost": v.cost,
            "queued": level(levels.queued.get(&v.name)).1,
        }));
        lines.push(vec![
            v.name.clone(),
            "virtual".to_string(),
            v.address.to_string(),
            port.clone(),
            v.max_request_head.to_string(),
            v.max_pipeline.to_string(),
            v.max_held.to_string(),
            v.mode.name().to_string(),
            v.predictor.name().to_string(),
            v.state.name().to_string(),
            dash(v.backup.as_deref()),
            name_list(&v.bind),
            v.queue_size.to_string(),
            v.priority.to_string(),
            v.cost.to_string(),
            level(levels.queued.get(&v.name)).0,
        ]);
        for r in &v.rules {
            rule_lines.push(vec![
                v.name.clone(),
                r.name.clone(),
                rule_match(r),
                name_list(&r.bind),
                r.priority.unwrap_or(v.priority).to_string(),
                r.cost.unwrap_or(v.cost).to_string(),
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
            "queued": level(levels.queued.get(&ip)).1,
        }));
        lines.push(vec![
            ip.clone(),
            "dip".to_string(),
            address,
            d.port.clone(),
            "-".to_string(),
            "-".to_string(),
            "-".to_string(),
            Mode::Splice.name().to_string(),
            "-".to_string(),
            state.name().to_string(),
            dash(backup.as_deref()),
            name_list(&bind),
            "-".to_string(),
            "-".to_string(),
            "-".to_string(),
            level(levels.queued.get(&ip)).0,
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
                "max_pipeline",
                "max_held",
                "mode",
                "predictor",
                "state",
                "backup",
                "bind",
                "queue_size",
                "priority",
                "cost",
                "queued",
            ]),
            lines,
        );
        if !rule_lines.is_empty() {
            text.push('\n');
            text.push_str(&table(
                &strings(&["virtual", "rule", "match", "bind", "priority", "cost"]),
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

/// A real's health as the control core runs it (`show real`, `splicer_real_up`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealHealthRow {
    /// The real's name.
    pub name: String,
    /// `UP`, `DOWN` (its checks fail), `EJECTED` (a passive outlier) or `SLOWSTART`.
    pub state: String,
    /// Why it is in that state (empty for a real that was always up).
    pub reason: String,
    /// Seconds since the state began.
    pub since_secs: u64,
}

impl RealHealthRow {
    /// Whether it takes new requests as far as its health goes (its admin `state`
    /// applies on top).
    pub fn up(&self) -> bool {
        self.state == "UP" || self.state == "SLOWSTART"
    }
}

/// `show real [name]`, from the running configuration, the workers' measurements of
/// each real (`pools`: requests in flight, counted by their cost as `maxconns` bounds
/// them per worker, and queued; moving averages of the time to first and last response
/// byte, loss rate, requests per second) and the reals' `health` (a real without a row
/// shows `UP`).
pub fn show_real(
    config: &Config,
    pools: &[RealPools],
    name: Option<&str>,
    health: &[RealHealthRow],
) -> Response {
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    for r in &config.reals {
        if name.is_some_and(|n| n != r.name) {
            continue;
        }
        let h = health.iter().find(|h| h.name == r.name);
        let (state, reason, since) = match h {
            Some(h) => (h.state.as_str(), h.reason.as_str(), Some(h.since_secs)),
            None => ("UP", "", None),
        };
        let bound = bound_by(config, &r.name);
        // The workers' measurements together (none before the first publication).
        let q = pools
            .iter()
            .find(|p| p.name == r.name)
            .map(RealPools::quality_total)
            .unwrap_or_default();
        let ms = |us: u64| format!("{:.1}", us as f64 / 1000.0);
        let loss = q.loss_ppm as f64 / 10_000.0;
        rows.push(json!({
            "name": r.name,
            "address": r.address.to_string(),
            "weight": r.weight,
            "pool": r.pool,
            "maxconns": r.maxconns,
            "state": r.state.name(),
            "backup": r.backup,
            "tier": r.tier,
            "bound_by": bound
                .iter()
                .map(|(v, rule)| json!({ "virtual": v, "rule": rule }))
                .collect::<Vec<_>>(),
            "in_flight": q.in_flight,
            "queue": q.queue,
            "ttfb_ms": q.ttfb_us as f64 / 1000.0,
            "total_ms": q.total_us as f64 / 1000.0,
            "loss_percent": loss,
            "requests_per_second": q.per_second,
            "responses_measured": q.count,
            "health": state,
            "health_reason": reason,
            "health_since_s": since,
            "agent": r.agent.map(|a| json!({
                "address": a.to_string(),
                "state": agent_state(q.agent),
                "rtt_ms": q.agent_rtt_us as f64 / 1000.0,
                "epoch": format!("{:016x}", q.agent_epoch),
                "connections": q.agent_connections,
            })),
            // How the real's handed-off connections reach it (only with an agent).
            "handoff_mode": r.agent.map(|_| handoff_mode_name(r.handoff_mode)),
            "local": r.local,
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
            r.tier.to_string(),
            q.in_flight.to_string(),
            q.queue.to_string(),
            ms(q.ttfb_us),
            ms(q.total_us),
            format!("{loss:.1}%"),
            q.per_second.to_string(),
            match r.agent {
                None => "-".to_string(),
                Some(_) if q.agent == splicer_pipeline::quality::AGENT_UP => {
                    format!("up {}ms", ms(q.agent_rtt_us))
                }
                Some(_) => agent_state(q.agent).to_string(),
            },
            match r.agent {
                None => "-".to_string(),
                Some(_) => handoff_mode_name(r.handoff_mode).to_string(),
            },
            if r.local { "yes" } else { "no" }.to_string(),
            state.to_string(),
            since.map_or_else(|| "-".to_string(), |s| format!("{s}s")),
            if reason.is_empty() {
                "-".to_string()
            } else {
                reason.to_string()
            },
        ]);
    }
    object_view(
        "real",
        name,
        "no real server is configured",
        &[
            "name",
            "address",
            "weight",
            "pool",
            "maxconns",
            "state",
            "backup",
            "bound_by",
            "tier",
            "in_flight",
            "queue",
            "ttfb_ms",
            "total_ms",
            "loss",
            "req/s",
            "agent",
            "handoff_mode",
            "local",
            "health",
            "since",
            "reason",
        ],
        lines,
        rows,
    )
}

/// A real's `handoff_mode` as the configuration names it.
fn handoff_mode_name(mode: splicer_config::HandoffMode) -> &'static str {
    match mode {
        splicer_config::HandoffMode::L2 => "l2",
        splicer_config::HandoffMode::Routed => "routed",
    }
}

/// The name of a [`splicer_pipeline::quality::RealQuality::agent`] state.
fn agent_state(state: u64) -> &'static str {
    match state {
        splicer_pipeline::quality::AGENT_UP => "up",
        splicer_pipeline::quality::AGENT_DOWN => "down",
        _ => "none",
    }
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
    /// Its requests on server connections now (the one answering, then those
    /// pipelined behind it).
    pub in_flight: u16,
    /// Bytes of the pipelined requests' responses held for their turn.
    pub held: usize,
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
            "in_flight",
            "held",
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
                    r.in_flight.to_string(),
                    r.held.to_string(),
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
                let mut v = l.to_json();
                v["worker"] = json!(w);
                v
            }).collect::<Vec<_>>(),
            "total": total.to_json(),
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
