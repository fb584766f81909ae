//! The statistics as Prometheus text exposition (format 0.0.4).
//!
//! Names follow Prometheus conventions: counters end in `_total`, the dimension goes into
//! labels rather than the name.
//!
//! * worker counters, labelled `worker` and `port`: `rx_packets`/`tx_packets` become
//!   `splicer_packets_total{direction="rx"|"tx"}`, every `drop_<reason>` becomes
//!   `splicer_drops_total{reason="<reason>"}`, any other counter `c` becomes
//!   `splicer_<c>_total` (`splicer_tcp_syns_total`, `splicer_http_requests_total`...);
//! * NIC counters, labelled `port`: `splicer_nic_packets_total`, `splicer_nic_bytes_total`
//!   and `splicer_nic_errors_total` with `direction`, `splicer_nic_rx_missed_total`,
//!   `splicer_nic_rx_nombuf_total`;
//! * gauges: `splicer_flows`, `splicer_half_open`, `splicer_neighbours` labelled `worker`;
//!   `splicer_mempool_available`, `splicer_mempool_in_use`.
//!
//! Metrics are rendered from the raw counters, never from the view `clear stats` resets:
//! a Prometheus counter only goes down when the process restarts.

use crate::report::{Counters, StatsReport};
use std::fmt::Write;

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
        v: u64,
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
            format!("{name} {v}")
        } else {
            format!("{name}{{{}}} {v}", labels.join(","))
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

/// Where a worker counter goes.
fn worker_metric(counter: &str) -> Mapping {
    if let Some(reason) = counter.strip_prefix("drop_") {
        return (
            "splicer_drops_total".into(),
            "Packets the workers dropped, by reason.".into(),
            Some(("reason", reason.to_string())),
        );
    }
    if let Some(dir) = counter
        .strip_suffix("_packets")
        .filter(|d| *d == "rx" || *d == "tx")
    {
        return (
            "splicer_packets_total".into(),
            "Packets the workers received from and sent to the NIC queues.".into(),
            Some(("direction", dir.to_string())),
        );
    }
    (
        format!("splicer_{counter}_total"),
        format!("The workers' {counter} counter (see the README's counter list)."),
        None,
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
    e.render()
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
                        assert!(["counter", "gauge"].contains(&kind), "{line}");
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
            assert!(types.contains_key(name), "sample before its TYPE: {line}");
            assert_eq!(
                current.as_deref(),
                Some(name),
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

    #[test]
    fn other_counters_get_their_own_family() {
        let (name, _, extra) = worker_metric("tcp_syns");
        assert_eq!(name, "splicer_tcp_syns_total");
        assert!(extra.is_none());
        assert_eq!(nic_metric("rx_missed").0, "splicer_nic_rx_missed_total");
        assert_eq!(nic_metric("tx_errors").0, "splicer_nic_errors_total");
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
