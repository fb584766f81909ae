use super::html::{escape, refresh_from_query, render, DEFAULT_REFRESH, MAX_REFRESH};
use super::*;
use crate::report::tests_support::{object, sample};
use splicer_config::fixtures::with_ports;

/// The configuration of the sample report: `www` binds s1, its rule `img` binds img.1;
/// a DIP for s1.
fn config() -> Config {
    Config::from_toml_str(&with_ports(
        "workers = 2",
        r#"
[[real]]
name = "s1"
address = "198.19.0.11:80"
weight = 3
[[real]]
name = "img.1"
address = "198.19.0.12:8080"
state = "oos"
tier = 2
[[virtual]]
name = "www"
address = "198.18.0.100:80"
bind = ["s1"]
[[virtual.rule]]
name = "img"
path_prefix = "/img/"
bind = ["img.1"]
[[dip]]
address = "198.19.0.11"
port = "inside"
"#,
    ))
    .unwrap()
}

fn health() -> Vec<RealHealthRow> {
    vec![RealHealthRow {
        name: "s1".into(),
        state: "EJECTED".into(),
        reason: "5 errors in a row".into(),
        since_secs: 12,
    }]
}

fn build(config: &Config, rates: Option<&Rates>) -> Status {
    let report = sample();
    let mut levels = Levels::default();
    levels.queued.insert("www".into(), 7);
    Status::build(&StatusInput {
        config,
        report: &report,
        rates,
        health: &health(),
        levels: &levels,
        lcores: &[1, 2],
        version: "1.2.3",
        uptime_secs: 3725,
        started_unix: 1_000_000,
        now_unix: 1_003_725,
    })
}

/// Half the sample's counters, over 2 seconds.
fn rates() -> Rates {
    let mut delta = sample();
    delta.virtuals = vec![object(
        "www",
        &[("requests", 20), ("no_server", 3), ("refused", 1)],
    )];
    delta.reals = vec![object("s1", &[("requests", 10), ("server_errors", 1)])];
    Rates {
        delta,
        seconds: 2.0,
    }
}

#[test]
fn figures_come_from_the_report_configuration_and_health() {
    let c = config();
    let s = build(&c, None);
    assert_eq!(
        (s.schema, s.version.as_str(), s.uptime_s),
        (SCHEMA, "1.2.3", 3725)
    );
    assert_eq!(s.rate_interval_s, None);
    let www = &s.virtuals[0];
    assert_eq!(
        (www.name.as_str(), www.kind.as_str(), www.address.as_str()),
        ("www", "virtual", "198.18.0.100:80")
    );
    assert_eq!(www.predictor.as_deref(), Some("roundrobin"));
    assert_eq!((www.requests_total, www.errors_total), (40, 10));
    // s1 (2 in flight on worker 0) and img.1 (none), both bound by www.
    assert_eq!((www.in_flight, www.queue), (2, Some(7)));
    assert_eq!(www.requests_per_s, None);
    let dip = &s.virtuals[1];
    assert_eq!(
        (
            dip.kind.as_str(),
            dip.address.as_str(),
            dip.predictor.as_ref()
        ),
        ("dip", "198.19.0.11:80", None)
    );
    assert_eq!((dip.requests_total, dip.queue), (2, None));

    let s1 = &s.reals[0];
    assert_eq!(
        (
            s1.health.as_str(),
            s1.status.as_str(),
            s1.health_reason.as_str()
        ),
        ("EJECTED", "EJECTED", "5 errors in a row")
    );
    assert_eq!((s1.health_since_s, s1.weight, s1.tier), (Some(12), 3, 1));
    assert_eq!(s1.bound_by, ["www"]);
    assert_eq!((s1.in_flight, s1.requests_per_second), (2, 50));
    assert_eq!(
        (s1.ttfb_ms, s1.requests_total, s1.server_errors_total),
        (2.0, 20, 1)
    );
    assert_eq!((s1.pool_free, s1.pool_busy, s1.pool_conns), (7, 2, 11));
    let img = &s.reals[1];
    // Out of service: shown disabled whatever its health (UP, no row).
    assert_eq!(
        (
            img.health.as_str(),
            img.status.as_str(),
            img.admin_state.as_str()
        ),
        ("UP", "DISABLED", "oos")
    );
    assert_eq!(
        (img.health_since_s, img.bound_by.clone()),
        (None, vec!["www/img".to_string()])
    );

    assert_eq!(s.workers.len(), 2);
    assert_eq!((s.workers[1].lcore, s.workers[0].flows), (Some(2), 3));
    assert_eq!(s.workers[0].busy_percent, None);
    assert_eq!(s.ports[0].rx_missed_total, Some(0));
    assert_eq!(s.ports[1].rx_missed_total, None);
    assert_eq!((s.totals.requests_total, s.totals.errors_total), (42, 10));
    assert_eq!((s.totals.flows, s.totals.drops_total), (4, 3));
}

#[test]
fn rates_are_the_difference_over_its_seconds() {
    let c = config();
    let r = rates();
    let s = build(&c, Some(&r));
    assert_eq!(s.rate_interval_s, Some(2.0));
    assert_eq!(s.virtuals[0].requests_per_s, Some(10.0));
    assert_eq!(s.virtuals[0].errors_per_s, Some(2.0));
    // No counters for the DIP in the delta: none since.
    assert_eq!(s.virtuals[1].requests_per_s, Some(0.0));
    assert_eq!(s.reals[0].server_errors_per_s, Some(0.5));
    assert_eq!(s.totals.requests_per_s, Some(10.0));
    // Worker 0: 11 packets received on the two ports over 2 s; busy 500k of 2M cycles.
    assert_eq!(s.workers[0].rx_packets_per_s, Some(5.5));
    assert_eq!(s.workers[0].busy_percent, Some(25.0));
    assert_eq!(s.ports[0].rx_bytes_per_s, Some(499.5));
    assert_eq!(s.ports[1].rx_bytes_per_s, None);
}

#[test]
fn json_has_the_documented_fields() {
    let c = config();
    let v: serde_json::Value = serde_json::from_str(&build(&c, Some(&rates())).to_json()).unwrap();
    for key in [
        "schema",
        "version",
        "uptime_s",
        "started_unix",
        "now_unix",
        "rate_interval_s",
        "totals",
        "virtuals",
        "reals",
        "workers",
        "ports",
    ] {
        assert!(v.get(key).is_some(), "{key}");
    }
    let real = &v["reals"][0];
    for key in [
        "name",
        "address",
        "health",
        "health_reason",
        "health_since_s",
        "admin_state",
        "status",
        "weight",
        "tier",
        "backup",
        "bound_by",
        "in_flight",
        "queue",
        "ttfb_ms",
        "total_ms",
        "loss_percent",
        "requests_per_second",
        "requests_total",
        "server_errors_total",
        "server_errors_per_s",
        "pool_free",
        "pool_busy",
        "pool_opening",
        "pool_conns",
    ] {
        assert!(real.get(key).is_some(), "{key}");
    }
    assert_eq!(v["virtuals"][0]["queue"], 7);
    assert_eq!(v["reals"][1]["status"], "DISABLED");
}

/// Names come from the configuration (and reasons from checks): a real named like a
/// script must show as text, never run.
#[test]
fn everything_shown_is_escaped() {
    let mut c = config();
    c.reals[0].name = "<script>alert(1)</script>".into();
    let mut h = health();
    h[0].name = c.reals[0].name.clone();
    h[0].reason = "bad \"status\" & <b>".into();
    let report = sample();
    let s = Status::build(&StatusInput {
        config: &c,
        report: &report,
        rates: None,
        health: &h,
        levels: &Levels::default(),
        lcores: &[],
        version: "x<y>",
        uptime_secs: 5,
        started_unix: 0,
        now_unix: 5,
    });
    let page = render(&s, 5);
    assert!(!page.contains("<script"), "{page}");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("bad &quot;status&quot; &amp; &lt;b&gt;"));
    assert!(page.contains("version x&lt;y&gt;"));
    assert_eq!(escape("a'b"), "a&#39;b");
    // JSON keeps the name as it is (it is data; serde escapes for JSON).
    assert!(s
        .to_json()
        .contains("\"name\": \"<script>alert(1)</script>\""));
}

#[test]
fn page_shows_every_object_and_its_state() {
    let c = config();
    let page = render(&build(&c, Some(&rates())), 10);
    for needle in [
        "<title>Splicer status</title>",
        "<meta http-equiv=\"refresh\" content=\"10;url=/?refresh=10\">",
        "<td class=\"t\">www</td>",
        "<td class=\"t\">198.18.0.100:80</td>",
        "<td class=\"t\">s1</td>",
        "<td class=\"t\">img.1</td>",
        "<td class=\"ejected\">EJECTED</td>",
        "<td class=\"off\">DISABLED</td>",
        "<td class=\"off\">oos</td>",
        "<td class=\"up\">in-service</td>",
        "<td class=\"t\">5 errors in a row</td>",
        "<td>12s</td>",
        "<td>7/2</td>",
        "<b>10s</b>",
        "<a href=\"/?refresh=0\">off</a>",
        "rates over the last 2.0 s",
        "up 1h 2m",
        "<td>25.0%</td>",
    ] {
        assert!(page.contains(needle), "{needle} not in\n{page}");
    }
    assert!(!page.contains("<script"));
    // Off: no meta refresh, and the page says so.
    let off = render(&build(&c, None), 0);
    assert!(!off.contains("http-equiv"));
    assert!(off.contains("<b>off</b>"));
    assert!(off.contains("not measured yet"));
}

#[test]
fn refresh_comes_from_the_query() {
    assert_eq!(refresh_from_query(""), DEFAULT_REFRESH);
    assert_eq!(refresh_from_query("refresh=0"), 0);
    assert_eq!(refresh_from_query("a=1&refresh=5"), 5);
    assert_eq!(refresh_from_query("refresh=5&refresh=7"), 7);
    assert_eq!(refresh_from_query("refresh=-1"), DEFAULT_REFRESH);
    assert_eq!(refresh_from_query("refresh=%3Cx%3E"), DEFAULT_REFRESH);
    assert_eq!(
        refresh_from_query("refresh=99999999999999999999"),
        DEFAULT_REFRESH
    );
    assert_eq!(refresh_from_query("refresh=100000"), MAX_REFRESH);
}
