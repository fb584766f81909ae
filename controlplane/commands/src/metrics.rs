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
//!   (`1xx`..`5xx`, `other`) `splicer_responses_total{class="<class>"}`; any other counter
//!   `c` becomes `splicer_<c>_total` (`splicer_tcp_syns_total`,
//!   `splicer_pool_reuses_total`, `splicer_responses_complete_total`...);
//! * NIC counters, labelled `port`: `splicer_nic_packets_total`, `splicer_nic_bytes_total`
//!   and `splicer_nic_errors_total` with `direction`, `splicer_nic_rx_missed_total`,
//!   `splicer_nic_rx_nombuf_total`;
//! * gauges: `splicer_flows`, `splicer_half_open`, `splicer_neighbours` labelled `worker`;
//!   `splicer_mempool_available`, `splicer_mempool_in_use`;
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
//!   `splicer_real_response_seconds` (request sent → last response byte);
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
//! a Prometheus counter only goes down when the process restarts.

use crate::report::{
    Counters, ObjectCounters, PoolLevelsExt, RealHealthRow, RealPools, RuleHits, Runtime,
    StatsReport,
};
use splicer_pipeline::counters::{Counter, Family as CounterFamily, RealCounter};
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
            let _ = writeln!(out, "# HELP {} {}", f.name, f.help);
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
    match Counter::from_name(counter).and_then(Counter::family) {
        Some((family, label)) => family_metric("splicer", family, label),
        None => (
            format!("splicer_{counter}_total"),
            format!("The workers' {counter} counter (see docs/COUNTERS.md)."),
            None,
        ),
    }
}

/// The metric of a counter family under `prefix` (`splicer`, `splicer_real`), with the
/// label that tells its members apart.
fn family_metric(prefix: &str, family: CounterFamily, label: &str) -> Mapping {
    let (name, help, key) = match family {
        CounterFamily::Drops => ("drops", "Packets the workers dropped, by reason.", "reason"),
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
            e.sample(
                &format!("splicer_{name}"),
                "gauge",
                &format!("The worker's {name} gauge (current level)."),
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
                &format!("The worker loop's {name} (see docs/COUNTERS.md, Worker loop)."),
                &[("worker", &worker)],
                v,
            );
        }
    }
    e.sample(
        "splicer_mempool_available",
        "gauge",
        "Free mbufs in the packet pool.",
        &[],
        report.mempool_available,
    );
    e.sample(
        "splicer_mempool_in_use",
        "gauge",
        "Mbufs in use.",
        &[],
        report.mempool_in_use,
    );
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
    e.render()
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
            format!("The virtual's {counter} counter (see docs/COUNTERS.md).")
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
        _ => format!("The real's {counter} counter (see docs/COUNTERS.md)."),
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
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    fn metric_name_ok(name: &str) -> bool {
        let mut chars = name.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    }

    /// Parses `{k="v",...}`, checking label names and escapes.
    fn labels(text: &str) -> Result<Vec<(String, String)>, String> {
        let mut out = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let eq = rest.find('=').ok_or("label without '='")?;
            let key = &rest[..eq];
            if !metric_name_ok(key) || key.contains(':') || key.starts_with("__") {
                return Err(format!("bad label name {key:?}"));
            }
            rest = rest[eq + 1..]
                .strip_prefix('"')
                .ok_or("unquoted label value")?;
            let mut value = String::new();
            let mut chars = rest.char_indices();
            let end = loop {
                match chars.next() {
                    Some((_, '\\')) => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, c @ ('\\' | '"'))) => value.push(c),
                        _ => return Err("bad escape".into()),
                    },
                    Some((i, '"')) => break i,
                    Some((_, c)) => value.push(c),
                    None => return Err("unterminated label value".into()),
                }
            };
            out.push((key.to_string(), value));
            rest = &rest[end + 1..];
            rest = rest.strip_prefix(',').unwrap_or(rest);
        }
        Ok(out)
    }

    /// A parsed sample: metric name, labels, value.
    pub(crate) type Sample = (String, Vec<(String, String)>, f64);

    /// Checks the text exposition grammar: HELP/TYPE lines, then that family's samples,
    /// each family in one block, counters ending in `_total`, unique label sets.
    /// Returns the samples as `(name, labels, value)`.
    pub(crate) fn check_exposition(text: &str) -> Vec<Sample> {
        assert!(text.ends_with('\n'), "must end with a newline");
        let mut types: HashMap<String, String> = HashMap::new();
        let mut helps: HashSet<String> = HashSet::new();
        let mut closed: HashSet<String> = HashSet::new();
        let mut current: Option<String> = None;
        let mut seen: HashSet<String> = HashSet::new();
        let mut samples = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# ") {
                let mut parts = rest.splitn(3, ' ');
                let (kw, name, tail) = (parts.next(), parts.next(), parts.next());
                let name = name.unwrap_or_else(|| panic!("comment without a name: {line}"));
                assert!(metric_name_ok(name), "{line}");
                if current.as_deref() != Some(name) {
                    if let Some(prev) = current.take() {
                        closed.insert(prev);
                    }
                    assert!(!closed.contains(name), "family split in two: {line}");
                    current = Some(name.to_string());
                }
                match kw {
                    Some("HELP") => {
                        assert!(helps.insert(name.to_string()), "second HELP: {line}");
                        assert!(!tail.unwrap_or("").is_empty(), "empty HELP: {line}");
                    }
                    Some("TYPE") => {
                        let kind = tail.unwrap_or("");
                        assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
                        assert!(
                            types.insert(name.to_string(), kind.to_string()).is_none(),
                            "second TYPE: {line}"
                        );
                        if kind == "counter" {
                            assert!(name.ends_with("_total"), "counter name: {line}");
                        }
                    }
                    _ => panic!("unknown comment: {line}"),
                }
                continue;
            }
            assert!(!line.is_empty() && !line.starts_with('#'), "{line:?}");
            let (series, value) = line.rsplit_once(' ').expect("sample needs a value");
            let value: f64 = value.parse().unwrap_or_else(|_| panic!("value: {line}"));
            let (name, labels) = match series.split_once('{') {
                Some((n, l)) => (
                    n,
                    labels(l.strip_suffix('}').expect("unclosed labels"))
                        .unwrap_or_else(|e| panic!("{e}: {line}")),
                ),
                None => (series, Vec::new()),
            };
            assert!(metric_name_ok(name), "{line}");
            // A histogram's samples carry a suffix on its family's name.
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .filter_map(|s| name.strip_suffix(s))
                .find(|f| types.get(*f).is_some_and(|k| k == "histogram"))
                .unwrap_or(name);
            assert!(types.contains_key(family), "sample before its TYPE: {line}");
            assert_eq!(
                current.as_deref(),
                Some(family),
                "sample outside its family: {line}"
            );
            assert!(seen.insert(series.to_string()), "duplicate series: {line}");
            samples.push((name.to_string(), labels, value));
        }
        samples
    }

    #[test]
    fn exposition_grammar_and_names() {
        let text = render(&crate::report::tests_support::sample());
        let samples = check_exposition(&text);
        let find = |name: &str, want: &[(&str, &str)]| {
            samples
                .iter()
                .find(|(n, l, _)| {
                    n == name
                        && want
                            .iter()
                            .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
                })
                .map(|s| s.2)
        };
        assert_eq!(
            find(
                "splicer_packets_total",
                &[("direction", "rx"), ("worker", "0"), ("port", "outside")]
            ),
            Some(10.0)
        );
        assert_eq!(
            find(
                "splicer_drops_total",
                &[
                    ("reason", "not_for_us"),
                    ("worker", "1"),
                    ("port", "inside")
                ]
            ),
            Some(1.0)
        );
        assert_eq!(find("splicer_flows", &[("worker", "0")]), Some(3.0));
        assert_eq!(
            find("splicer_worker_busy_cycles_total", &[("worker", "1")]),
            Some(100_000.0)
        );
        assert_eq!(
            find("splicer_worker_polls_total", &[("worker", "0")]),
            Some(1_000.0)
        );
        assert!(text.contains("# TYPE splicer_worker_cycles_total counter\n"));
        assert_eq!(
            find(
                "splicer_nic_packets_total",
                &[("direction", "tx"), ("port", "outside")]
            ),
            Some(13.0)
        );
        assert_eq!(
            find(
                "splicer_nic_bytes_total",
                &[("direction", "rx"), ("port", "outside")]
            ),
            Some(999.0)
        );
        assert_eq!(find("splicer_mempool_in_use", &[]), Some(24.0));
        assert!(text.contains("# TYPE splicer_packets_total counter\n"));
        assert!(text.contains("# TYPE splicer_flows gauge\n"));
        // The NIC whose counters could not be read has no NIC samples.
        assert_eq!(
            find("splicer_nic_packets_total", &[("port", "inside")]),
            None
        );
    }

    /// The value of the sample of `name` whose labels include `want`.
    fn find(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> Option<f64> {
        samples
            .iter()
            .find(|(n, l, _)| {
                n == name
                    && want
                        .iter()
                        .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|s| s.2)
    }

    #[test]
    fn real_health_is_a_gauge() {
        let report = crate::report::tests_support::full();
        let row = |name: &str, state: &str| RealHealthRow {
            name: name.into(),
            state: state.into(),
            reason: String::new(),
            since_secs: 0,
        };
        let text = render_with_health(
            &report,
            &[
                row("s1", "UP"),
                row("img.1", "EJECTED"),
                row("s3", "SLOWSTART"),
            ],
        );
        let s = check_exposition(&text);
        assert_eq!(
            find(&s, "splicer_real_up", &[("real", "s1"), ("health", "UP")]),
            Some(1.0)
        );
        assert_eq!(
            find(
                &s,
                "splicer_real_up",
                &[("real", "img.1"), ("health", "EJECTED")]
            ),
            Some(0.0)
        );
        assert_eq!(find(&s, "splicer_real_up", &[("real", "s3")]), Some(1.0));
        assert_eq!(text.matches("# TYPE splicer_real_up gauge").count(), 1);
        assert!(!render(&report).contains("splicer_real_up"));
    }

    #[test]
    fn every_worker_counter_is_exported_once() {
        let report = crate::report::tests_support::full();
        let text = render(&report);
        let samples = check_exposition(&text);
        // Each counter: one sample per worker and port, on a `_total` family.
        let workers_ports = report.cells.len() * report.ports.len();
        for c in splicer_pipeline::Counter::ALL {
            let (metric, help, extra) = worker_metric(c.name());
            assert!(metric.ends_with("_total") && !metric.ends_with("_total_total"));
            assert!(!help.is_empty());
            let n = samples
                .iter()
                .filter(|(m, l, _)| {
                    *m == metric
                        && extra
                            .as_ref()
                            .is_none_or(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
                })
                .count();
            assert_eq!(n, workers_ports, "{}", c.name());
        }
        let families: HashSet<&str> = samples.iter().map(|s| s.0.as_str()).collect();
        for family in [
            "splicer_responses_total",
            "splicer_refused_requests_total",
            "splicer_spliced_segments_total",
            "splicer_responses_complete_total",
            "splicer_pool_reuses_total",
            "splicer_server_conns_opened_total",
            "splicer_drain_timeouts_total",
            "splicer_splices_total",
        ] {
            assert!(families.contains(family), "{family}");
        }
        for gone in [
            "splicer_responses_2xx_total",
            "splicer_refused_smuggling_total",
            "splicer_spliced_up_total",
            "splicer_drop_tx_full_total",
        ] {
            assert!(!families.contains(gone), "{gone}");
        }
        let s = &samples;
        assert_eq!(
            find(
                s,
                "splicer_responses_total",
                &[("class", "4xx"), ("worker", "1"), ("port", "inside")]
            ),
            Some(111.0)
        );
        assert_eq!(
            find(
                s,
                "splicer_responses_total",
                &[("class", "other"), ("worker", "0"), ("port", "outside")]
            ),
            Some(1.0)
        );
        assert_eq!(
            find(
                s,
                "splicer_refused_requests_total",
                &[("reason", "bad_body"), ("worker", "0"), ("port", "inside")]
            ),
            Some(11.0)
        );
        assert_eq!(
            find(
                s,
                "splicer_spliced_segments_total",
                &[("direction", "down"), ("worker", "1"), ("port", "outside")]
            ),
            Some(101.0)
        );
        assert_eq!(
            find(
                s,
                "splicer_drops_total",
                &[
                    ("reason", "server_out_of_order"),
                    ("worker", "0"),
                    ("port", "outside")
                ]
            ),
            Some(1.0)
        );
    }

    #[test]
    fn pool_levels_are_gauges() {
        let text = render(&crate::report::tests_support::sample());
        let samples = check_exposition(&text);
        let s = &samples;
        assert!(text.contains("# TYPE splicer_pool_connections gauge\n"));
        assert!(text.contains("# TYPE splicer_pool_inflight_requests gauge\n"));
        let conns = |real: &str, worker: &str, state: &str| {
            find(
                s,
                "splicer_pool_connections",
                &[("real", real), ("worker", worker), ("state", state)],
            )
        };
        // s1 on worker 0: 3 free, 2 busy, 1 opening of 7: 1 closing.
        assert_eq!(conns("s1", "0", "free"), Some(3.0));
        assert_eq!(conns("s1", "0", "busy"), Some(2.0));
        assert_eq!(conns("s1", "0", "opening"), Some(1.0));
        assert_eq!(conns("s1", "0", "closing"), Some(1.0));
        assert_eq!(conns("s1", "1", "free"), Some(4.0));
        assert_eq!(conns("img.1", "1", "busy"), Some(0.0));
        // The states add up to the connections, so sum() by real is meaningful.
        let sum: f64 = s
            .iter()
            .filter(|(n, l, _)| {
                n == "splicer_pool_connections" && l.iter().any(|(k, v)| k == "real" && v == "s1")
            })
            .map(|x| x.2)
            .sum();
        assert_eq!(sum, 11.0);
        // No "conns" state: it would count every connection twice.
        assert!(!s
            .iter()
            .any(|(_, l, _)| l.iter().any(|(k, v)| k == "state" && v == "conns")));
        assert_eq!(
            find(
                s,
                "splicer_pool_inflight_requests",
                &[("real", "img.1"), ("worker", "0")]
            ),
            Some(5.0)
        );
        assert_eq!(find(s, "splicer_pool_size", &[("real", "s1")]), Some(4.0));
        assert_eq!(
            find(s, "splicer_pool_maxconns", &[("real", "img.1")]),
            Some(2.0)
        );
        let per_state = s
            .iter()
            .filter(|(n, _, _)| n == "splicer_pool_connections")
            .count();
        assert_eq!(per_state, 2 * 2 * 4);
    }

    #[test]
    fn per_object_counters_are_labelled_families() {
        let report = crate::report::tests_support::sample();
        let text = render(&report);
        let samples = check_exposition(&text);
        let s = &samples;
        assert_eq!(
            find(s, "splicer_virtual_requests_total", &[("virtual", "www")]),
            Some(40.0)
        );
        assert_eq!(
            find(
                s,
                "splicer_virtual_no_server_total",
                &[("virtual", "198.19.0.11")]
            ),
            Some(0.0)
        );
        assert_eq!(
            find(s, "splicer_real_requests_total", &[("real", "s1")]),
            Some(20.0)
        );
        assert_eq!(
            find(
                s,
                "splicer_real_responses_total",
                &[("real", "img.1"), ("class", "2xx")]
            ),
            Some(12.0)
        );
        assert_eq!(
            find(s, "splicer_real_server_errors_total", &[("real", "s1")]),
            Some(1.0)
        );
        assert_eq!(
            find(
                s,
                "splicer_rule_hits_total",
                &[("virtual", "www"), ("rule", "bind")]
            ),
            Some(24.0)
        );
        for (family, kind) in [
            ("splicer_virtual_requests_total", "counter"),
            ("splicer_virtual_spliced_total", "counter"),
            ("splicer_virtual_redirects_total", "counter"),
            ("splicer_virtual_refused_total", "counter"),
            ("splicer_real_responses_total", "counter"),
            ("splicer_rule_hits_total", "counter"),
        ] {
            assert!(
                text.contains(&format!("# TYPE {family} {kind}\n")),
                "{family}"
            );
        }
        // Per object only: no worker or port label; a class label, no class in the name.
        for (n, l, _) in s.iter().filter(|(n, _, _)| {
            n.starts_with("splicer_virtual_")
                || n.starts_with("splicer_real_")
                || n.starts_with("splicer_rule_")
        }) {
            assert!(
                l.iter().all(|(k, _)| k != "worker" && k != "port"),
                "{n} {l:?}"
            );
        }
        assert!(!s
            .iter()
            .any(|(n, _, _)| n == "splicer_real_responses_2xx_total"));
        // Every per-object counter of the workers has a family with a help text.
        for c in splicer_pipeline::counters::VirtualCounter::ALL {
            let (name, help, extra) = virtual_metric(c.name());
            assert!(name.ends_with("_total") && extra.is_none() && !help.contains("see"));
        }
        for c in splicer_pipeline::counters::RealCounter::ALL {
            let (name, help, _) = real_metric(c.name());
            assert!(name.ends_with("_total") && !help.contains("see"), "{name}");
        }
    }

    #[test]
    fn other_counters_get_their_own_family() {
        let (name, _, extra) = worker_metric("tcp_syns");
        assert_eq!(name, "splicer_tcp_syns_total");
        assert!(extra.is_none());
        assert_eq!(nic_metric("rx_missed").0, "splicer_nic_rx_missed_total");
        assert_eq!(nic_metric("tx_errors").0, "splicer_nic_errors_total");
        // Only the status classes go into splicer_responses_total.
        assert_eq!(
            worker_metric("responses_complete").0,
            "splicer_responses_complete_total"
        );
        assert_eq!(
            worker_metric("responses_2xx").2,
            Some(("class", "2xx".to_string()))
        );
        assert_eq!(
            worker_metric("spliced_sideways").0,
            "splicer_spliced_sideways_total"
        );
    }

    #[test]
    fn label_values_are_escaped() {
        let mut e = Exposition::default();
        e.sample("m_total", "counter", "h", &[("port", "a\"b\\c\nd")], 1);
        let text = e.render();
        assert!(text.contains(r#"m_total{port="a\"b\\c\nd"} 1"#), "{text}");
        let samples = check_exposition(&text);
        assert_eq!(samples[0].1[0].1, "a\"b\\c\nd");
    }

    #[test]
    #[should_panic(expected = "family split in two")]
    fn grammar_check_catches_split_families() {
        check_exposition(
            "# HELP a_total x\n# TYPE a_total counter\na_total 1\n# HELP b y\n# TYPE b gauge\nb 1\n# HELP a_total x\n",
        );
    }

    #[test]
    #[should_panic(expected = "sample before its TYPE")]
    fn grammar_check_catches_untyped_samples() {
        check_exposition("x 1\n");
    }
}
