//! The exposition's grammar and names.

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
    assert_eq!(
        find("splicer_mempool_mbufs", &[("state", "in_use")]),
        Some(24.0)
    );
    assert_eq!(
        find("splicer_mempool_mbufs", &[("state", "available")]),
        Some(1000.0)
    );
    assert!(!text.contains("splicer_mempool_in_use"));
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
    for (dir, worker) in [("in", "0"), ("out", "1")] {
        assert!(find(
            &samples,
            "splicer_handoff_packets_total",
            &[("direction", dir), ("worker", worker), ("port", "inside")]
        )
        .is_some());
    }
    for gone in [
        "splicer_responses_2xx_total",
        "splicer_refused_smuggling_total",
        "splicer_spliced_up_total",
        "splicer_handoff_in_total",
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

#[test]
fn build_info_and_start_time_come_first() {
    let report = crate::report::tests_support::sample();
    let text = render_full(
        &report,
        &[],
        &Build {
            version: "0.1.0",
            started_unix: 1_700_000_000,
        },
    );
    let samples = check_exposition(&text);
    assert_eq!(
        samples[0],
        (
            "splicer_build_info".to_string(),
            vec![("version".to_string(), "0.1.0".to_string())],
            1.0
        )
    );
    assert!(text.contains("\nsplicer_start_time_seconds 1700000000\n"));
    assert!(text.starts_with("# HELP splicer_build_info "));
    // The rest is the plain exposition's, unchanged.
    assert!(text.ends_with(&render(&report)));
    assert!(!render(&report).contains("splicer_build_info"));
}

/// Every family says what it counts in one line: no pointer to the docs where the
/// counter's own documentation exists, no line break, no doubled space.
#[test]
fn help_texts_are_the_counters_own() {
    let text = render_with_health(&crate::report::tests_support::full(), &[]);
    let helps: Vec<&str> = text.lines().filter(|l| l.starts_with("# HELP ")).collect();
    assert!(helps.len() > 50, "{}", helps.len());
    for h in &helps {
        assert!(!h.contains("see docs/COUNTERS.md"), "{h}");
        assert!(!h.contains("  "), "{h}");
        assert!(h.split(' ').count() > 4, "{h}");
    }
    assert!(text.contains(
        "# HELP splicer_tcp_syns_total SYNs to a virtual server answered with a SYN-ACK and a half-open connection (cookies are `syn_cookies_sent`).\n"
    ));
    assert!(text.contains("# HELP splicer_flows Connections in the flow table"));
    assert!(text.contains("# HELP splicer_worker_busy_cycles_total TSC cycles"));
    assert_eq!(help_text("a\\b\n  c"), r"a\\b c");
}
