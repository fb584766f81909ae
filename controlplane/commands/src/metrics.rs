//! The statistics as Prometheus text exposition (format 0.0.4).
//!
//! Names follow Prometheus conventions: counters end in `_total`, the dimension goes into
//! labels rather than the name.
//!
//! * worker counters, labelled `worker` and `port`: `rx_packets`/`tx_packets` become
//!   `splicer_packets_total{direction="rx"|"tx"}`, `spliced_up`/`spliced_down`
//!   `splicer_spliced_segments_total{direction="up"|"down"}`, every `drop_<reason>`
//!   `splicer_drops_total{reason="<reason>"}`, every `refused_<reason>`
//!   `splicer_refused_requests_total{reason="<reason>"}`, `responses_<class>`
//!   (`1xx`..`5xx`, `other`) `splicer_responses_total{class="<class>"}`, `handoff_out`/
//!   `handoff_in` `splicer_handoff_packets_total{direction="out"|"in"}`; any other counter
//!   `c` becomes `splicer_<c>_total` (`splicer_tcp_syns_total`,
//!   `splicer_pool_reuses_total`, `splicer_responses_complete_total`...);
//! * NIC counters, labelled `port`: `splicer_nic_packets_total`, `splicer_nic_bytes_total`
//!   and `splicer_nic_errors_total` with `direction`, `splicer_nic_rx_missed_total`,
//!   `splicer_nic_rx_nombuf_total`;
//! * gauges: `splicer_flows`, `splicer_half_open`, `splicer_neighbours` labelled `worker`;
//!   `splicer_mempool_mbufs{state="available"|"in_use"}`;
//! * the process: `splicer_build_info{version}` (always 1) and
//!   `splicer_start_time_seconds` (Unix time), with [`render_full`];
//! * the worker loops' figures, labelled `worker`: `splicer_worker_polls_total`,
//!   `..._busy_polls_total`, `..._packets_total`, `..._cycles_total` and
//!   `..._busy_cycles_total` (TSC cycles);
//! * pool gauges, labelled `real` and `worker`: `splicer_pool_connections{state="free"|
//!   "busy"|"opening"|"closing"}` (the states add up to the worker's connections to the
//!   real), `splicer_pool_inflight_requests` (the cost in flight, which `maxconns`
//!   bounds); and per real its configured per-worker
//!   limits, `splicer_pool_size` and `splicer_pool_maxconns`;
//! * per real (label `real`), the workers' measurements together (see
//!   `splicer_pipeline::quality`): gauges `splicer_real_in_flight`,
//!   `splicer_real_queued`, `splicer_real_ttfb_seconds` and
//!   `splicer_real_response_time_seconds` (moving averages), `splicer_real_loss_ratio`,
//!   `splicer_real_requests_per_second`, and the histogram
//!   `splicer_real_response_seconds` (request sent → last response byte); for a real
//!   with a handoff agent, `splicer_real_agent_up` and `splicer_real_agent_rtt_seconds`;
//! * per-object counters, summed over the workers: per virtual (label `virtual`, a DIP's
//!   is its address) `splicer_virtual_<counter>_total` (`splicer_virtual_requests_total`,
//!   `..._spliced_total`, `..._redirects_total`, `..._no_server_total`,
//!   `..._refused_total`, `..._queue_overflows_total`, `..._queue_timeouts_total`); per real (label `real`) `splicer_real_requests_total`,
//!   `splicer_real_responses_total{class}` and `splicer_real_server_errors_total`; per
//!   rule `splicer_rule_hits_total{virtual,rule}` (`rule="bind"`: the bind list);
//! * per real its health, `splicer_real_up{real,health}`: 1 while UP or SLOWSTART, 0
//!   while DOWN or EJECTED (`health` says which).
//!
//! Metrics are rendered from the raw counters, never from the view `clear stats` resets:
//! a Prometheus counter only goes down when the process restarts. Every family's HELP
//! says what it counts: a counter's is its documentation in `splicer_pipeline::counters`.

use crate::report::{
    Counters, ObjectCounters, PoolLevelsExt, RealHealthRow, RealPools, RuleHits, Runtime,
    StatsReport,
};
use splicer_pipeline::counters::{Counter, Family as CounterFamily, RealCounter, VirtualCounter};
use splicer_pipeline::Gauge;
use std::fmt::Write;

mod quality;

/// The `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Debug)]
struct Family {
    name: String,
    kind: &'static str,
    help: String,
    samples: Vec<String>,
}

#[derive(Debug, Default)]
struct Exposition {
    families: Vec<Family>,
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    value
        .replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

/// HELP text from a doc comment: whitespace (line breaks included) folded to single
/// spaces, `\` and newlines escaped as the format wants.
fn help_text(doc: &str) -> String {
    doc.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('\\', r"\\")
}

/// What the process is, for `splicer_build_info` and `splicer_start_time_seconds`.
#[derive(Debug, Clone, Copy)]
pub struct Build<'a> {
    /// Splicer's version.
    pub version: &'a str,
    /// When the process started, seconds since the Unix epoch.
    pub started_unix: u64,
}

impl Exposition {
    /// Adds a sample, grouping it with its family (the format wants one block per family).
    fn sample(
        &mut self,
        name: &str,
        kind: &'static str,
        help: &str,
        labels: &[(&str, &str)],
        v: impl std::fmt::Display,
    ) {
        self.sample_as(name, kind, help, name, labels, v);
    }

    /// Adds a sample named `metric` to family `name` (a histogram's `_bucket`, `_sum`
    /// and `_count` samples belong to one family).
    fn sample_as(
        &mut self,
        name: &str,
        kind: &'static str,
        help: &str,
        metric: &str,
        labels: &[(&str, &str)],
        v: impl std::fmt::Display,
    ) {
        let index = match self.families.iter().position(|f| f.name == name) {
            Some(i) => i,
            None => {
                self.families.push(Family {
                    name: name.to_string(),
                    kind,
                    help: help.to_string(),
                    samples: Vec::new(),
                });
                self.families.len() - 1
            }
        };
        let labels: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
            .collect();
        let line = if labels.is_empty() {
            format!("{metric} {v}")
        } else {
            format!("{metric}{{{}}} {v}", labels.join(","))
        };
        self.families[index].samples.push(line);
    }

    fn render(&self) -> String {
        let mut out = String::new();
        for f in &self.families {
            let _ = writeln!(out, "# HELP {} {}", f.name, help_text(&f.help));
            let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind);
            for s in &f.samples {
                out.push_str(s);
                out.push('\n');
            }
        }
        out
    }
}

/// A counter's metric: name, help, and the label that tells it apart in its family.
type Mapping = (String, String, Option<(&'static str, String)>);

/// Where a worker counter goes: the family it declares (`splicer_pipeline::counters`,
/// `Counter::family`), or a metric of its own.
fn worker_metric(counter: &str) -> Mapping {
    let c = Counter::from_name(counter);
    match c.and_then(Counter::family) {
        Some((family, label)) => family_metric("splicer", family, label),
        None => (
            format!("splicer_{counter}_total"),
            c.map_or_else(
                || format!("The workers' {counter} counter (see docs/COUNTERS.md)."),
                |c| c.doc().to_string(),
            ),
            None,
        ),
    }
}

/// The metric of a counter family under `prefix` (`splicer`, `splicer_real`), with the
/// label that tells its members apart.
fn family_metric(prefix: &str, family: CounterFamily, label: &str) -> Mapping {
    let (name, help, key) = match family {
        CounterFamily::Drops => ("drops", "Packets the workers dropped, by reason.", "reason"),
        CounterFamily::Handoff => (
            "handoff_packets",
            "Packets passed between workers: out to the worker that owns their flow, in from another worker.",
            "direction",
        ),
        CounterFamily::Packets => (
            "packets",
            "Packets the workers received from and sent to the NIC queues.",
            "direction",
        ),
        CounterFamily::SplicedSegments => (
            "spliced_segments",
            "Segments forwarded on splices: up (client to server) and down (server to client).",
            "direction",
        ),
        CounterFamily::RefusedRequests => (
            "refused_requests",
            "Requests Splicer refused itself (400, 417, 431, 501, 505), by reason.",
            "reason",
        ),
        CounterFamily::Responses if prefix == "splicer_real" => (
            "responses",
            "Responses of the real relayed to clients, by status class.",
            "class",
        ),
        CounterFamily::Responses => (
            "responses",
            "Server responses relayed to clients, by status class.",
            "class",
        ),
    };
    (
        format!("{prefix}_{name}_total"),
        help.to_string(),
        Some((key, label.to_string())),
    )
}

/// Where a NIC counter goes.
fn nic_metric(counter: &str) -> Mapping {
    for what in ["packets", "bytes", "errors"] {
        for dir in ["rx", "tx"] {
            if counter == format!("{dir}_{what}") {
                return (
                    format!("splicer_nic_{what}_total"),
                    format!("{what} counted by the NIC (DPDK port statistics)."),
                    Some(("direction", dir.to_string())),
                );
            }
        }
    }
    (
        format!("splicer_nic_{counter}_total"),
        format!("The NIC's {counter} counter (DPDK port statistics)."),
        None,
    )
}

fn add_counters(
    e: &mut Exposition,
    counters: &Counters,
    labels: &[(&str, &str)],
    map: fn(&str) -> Mapping,
) {
    for (name, v) in &counters.0 {
        let (metric, help, extra) = map(name);
        let mut all: Vec<(&str, &str)> = Vec::new();
        if let Some((k, val)) = &extra {
            all.push((k, val));
        }
        all.extend_from_slice(labels);
        e.sample(&metric, "counter", &help, &all, *v);
    }
}

/// The exposition text for one report (raw counters, see the module documentation).
pub fn render(report: &StatsReport) -> String {
    render_with_health(report, &[])
}

/// [`render`], with the gauge `splicer_real_up{real}` of every real in `health`: 1 while
/// its health lets it take requests (UP, SLOWSTART), 0 while DOWN or EJECTED.
pub fn render_with_health(report: &StatsReport, health: &[RealHealthRow]) -> String {
    exposition(report, health).render()
}

/// [`render_with_health`], with the process's `splicer_build_info` and
/// `splicer_start_time_seconds` first: what the metrics endpoint serves.
pub fn render_full(report: &StatsReport, health: &[RealHealthRow], build: &Build<'_>) -> String {
    let mut e = Exposition::default();
    e.sample(
        "splicer_build_info",
        "gauge",
        "Always 1; the labels say which Splicer this is.",
        &[("version", build.version)],
        1,
    );
    e.sample(
        "splicer_start_time_seconds",
        "gauge",
        "When the process started, in seconds since the Unix epoch.",
        &[],
        build.started_unix,
    );
    let rest = exposition(report, health);
    e.families.extend(rest.families);
    e.render()
}

fn exposition(report: &StatsReport, health: &[RealHealthRow]) -> Exposition {
    let mut e = Exposition::default();
    for (w, row) in report.cells.iter().enumerate() {
        let worker = w.to_string();
        for (p, counters) in row.iter().enumerate() {
            let port = report.ports.get(p).map_or("", String::as_str);
            add_counters(
                &mut e,
                counters,
                &[("worker", &worker), ("port", port)],
                worker_metric,
            );
        }
    }
    for (p, nic) in report.nic.iter().enumerate() {
        if let Ok(counters) = nic {
            let port = report.ports.get(p).map_or("", String::as_str);
            add_counters(&mut e, counters, &[("port", port)], nic_metric);
        }
    }
    for (w, gauges) in report.gauges.iter().enumerate() {
        let worker = w.to_string();
        for (name, v) in &gauges.0 {
            let help = Gauge::ALL.iter().find(|g| g.name() == name).map_or_else(
                || format!("The worker's {name} gauge."),
                |g| g.doc().to_string(),
            );
            e.sample(
                &format!("splicer_{name}"),
                "gauge",
                &help,
                &[("worker", &worker)],
                *v,
            );
        }
    }
    for (w, runtime) in report.runtime.iter().enumerate() {
        let worker = w.to_string();
        for (name, v) in Runtime::NAMES.iter().zip(runtime.values()) {
            e.sample(
                &format!("splicer_worker_{name}_total"),
                "counter",
                runtime_help(name),
                &[("worker", &worker)],
                v,
            );
        }
    }
    for (state, v) in [
        ("available", report.mempool_available),
        ("in_use", report.mempool_in_use),
    ] {
        e.sample(
            "splicer_mempool_mbufs",
            "gauge",
            "Packet buffers (mbufs) of the pool, free (available) and in use: together the pool's size.",
            &[("state", state)],
            v,
        );
    }
    add_pools(&mut e, &report.pools);
    quality::add_quality(&mut e, &report.pools);
    add_objects(&mut e, report);
    for h in health {
        e.sample(
            "splicer_real_up",
            "gauge",
            "Whether the real's health lets it take requests: 1 up or in slow start, 0 down (checks) or ejected (outlier); its admin state applies on top.",
            &[("real", &h.name), ("health", &h.state)],
            u64::from(h.up()),
        );
    }
    e
}

/// What a worker loop figure counts (`splicer_pipeline::runtime::Runtime`).
fn runtime_help(name: &str) -> &'static str {
    match name {
        "polls" => "Rounds of the worker loop (one RX burst from every port, the hand-off ring, the timers when due, one TX flush).",
        "busy_polls" => "Rounds of the worker loop that found work.",
        "packets" => "Packets the worker loop took in: received from its queues and handed in by other workers.",
        "cycles" => "TSC cycles of all the worker loop's rounds, idle ones included: its wall time.",
        "busy_cycles" => "TSC cycles of the worker loop's rounds that found work.",
        _ => "A figure of the worker loop (see docs/COUNTERS.md, Worker loop).",
    }
}

/// Where a per-virtual counter goes.
fn virtual_metric(counter: &str) -> Mapping {
    let what = match counter {
        "requests" => "Complete, valid requests read by the virtual.",
        "spliced" => "Requests of the virtual routed to a real.",
        "redirects" => "Requests of the virtual answered with a redirect.",
        "no_server" => "Requests of the virtual answered 503: nothing could take them.",
        "refused" => "Requests to the virtual Splicer refused itself (4xx/5xx).",
        "queue_overflows" => "Requests of the virtual answered 503 at once: its queue was full.",
        "queue_timeouts" => {
            "Requests of the virtual answered 503 after queue_timeout in its queue."
        }
        _ => "",
    };
    (
        format!("splicer_virtual_{counter}_total"),
        if what.is_empty() {
            VirtualCounter::from_name(counter).map_or_else(
                || format!("The virtual's {counter} counter (see docs/COUNTERS.md)."),
                |c| c.doc().to_string(),
            )
        } else {
            what.to_string()
        },
        None,
    )
}

/// Where a per-real counter goes.
fn real_metric(counter: &str) -> Mapping {
    if let Some((family, label)) = RealCounter::from_name(counter).and_then(RealCounter::family) {
        return family_metric("splicer_real", family, label);
    }
    let help = match counter {
        "requests" => "Requests routed to the real.".to_string(),
        "server_errors" => {
            "Requests whose connection to the real was reset, timed out or cut short.".into()
        }
        "checks" => "Active health checks of the real started.".to_string(),
        "check_failures" => {
            "Active health checks of the real that failed, timeouts included.".to_string()
        }
        _ => RealCounter::from_name(counter).map_or_else(
            || format!("The real's {counter} counter (see docs/COUNTERS.md)."),
            |c| c.doc().to_string(),
        ),
    };
    (format!("splicer_real_{counter}_total"), help, None)
}

fn add_object_rows(
    e: &mut Exposition,
    label: &str,
    rows: &[ObjectCounters],
    map: fn(&str) -> Mapping,
) {
    for o in rows {
        add_counters(e, &o.counters, &[(label, &o.name)], map);
    }
}

/// The per-virtual, per-real and per-rule counters (see the module documentation).
fn add_objects(e: &mut Exposition, report: &StatsReport) {
    add_object_rows(e, "virtual", &report.virtuals, virtual_metric);
    add_object_rows(e, "real", &report.reals, real_metric);
    for RuleHits {
        virtual_name,
        rule,
        hits,
    } in &report.rules
    {
        e.sample(
            "splicer_rule_hits_total",
            "counter",
            "Requests a virtual routed by a content rule (rule=\"bind\": by its bind list, no rule matched).",
            &[("virtual", virtual_name), ("rule", rule)],
            *hits,
        );
    }
}

/// The pool gauges (see the module documentation). Samples are grouped into their
/// families by [`Exposition::sample`], whatever the order they come in.
fn add_pools(e: &mut Exposition, pools: &[RealPools]) {
    for p in pools {
        for (w, l) in p.workers.iter().enumerate() {
            let worker = w.to_string();
            for (state, v) in [
                ("free", l.free),
                ("busy", l.busy),
                ("opening", l.opening),
                ("closing", l.closing()),
            ] {
                e.sample(
                    "splicer_pool_connections",
                    "gauge",
                    "Server connections of a worker's pool of a real, by state; the states add up to all its connections to the real.",
                    &[("real", &p.name), ("worker", &worker), ("state", state)],
                    v,
                );
            }
            e.sample(
                "splicer_pool_inflight_requests",
                "gauge",
                "The cost of the requests a worker has in flight on a real, against its maxconns.",
                &[("real", &p.name), ("worker", &worker)],
                l.inflight,
            );
        }
        e.sample(
            "splicer_pool_size",
            "gauge",
            "The real's configured pool: idle server connections each worker keeps open.",
            &[("real", &p.name)],
            u64::from(p.pool),
        );
        e.sample(
            "splicer_pool_maxconns",
            "gauge",
            "The real's configured maxconns: most server connections each worker has open.",
            &[("real", &p.name)],
            u64::from(p.maxconns),
        );
    }
}

#[cfg(test)]
mod tests;
