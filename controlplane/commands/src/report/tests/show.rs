//! The views: ports, workers, virtuals, reals, URLs, rules, pools, flows, config.

use super::*;
use splicer_config::fixtures::with_ports;

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
        runtime: Runtime::from_values([1_000, 40, 64, 2_000_000, 500_000]),
    }]);
    assert_eq!(r.data[0]["lcore"], 1);
    assert_eq!(r.data[0]["polls"], 1_000);
    assert_eq!(r.data[0]["busy_polls"], 40);
    assert_eq!(r.data[0]["packets"], 64);
    assert_eq!(r.data[0]["cycles"], 2_000_000);
    assert_eq!(r.data[0]["busy_cycles"], 500_000);
    assert_eq!(r.data[0]["busy_fraction"], 0.25);
    assert_eq!(r.data[0]["cycles_per_packet"], 7812.5);
    assert!(r.data[0].get("runtime").is_none(), "{}", r.data);
    let lines: Vec<Vec<&str>> = r
        .text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0][12..], ["cycles/pkt", "busy"]);
    // Decimals and percentages are numbers: right-aligned under their headers.
    let text: Vec<&str> = r.text.lines().collect();
    assert!(text[0].ends_with("cycles/pkt   busy"), "{}", r.text);
    assert!(text[1].ends_with("    7812.5  25.0%"), "{}", r.text);
    assert_eq!(
        lines[1],
        ["0", "1", "0", "7", "6", "2", "1", "3", "1000", "40", "64", "500000", "7812.5", "25.0%"]
    );
    // A worker that has not published yet: no ratio to show.
    let r = show_workers(vec![WorkerRow {
        index: 1,
        lcore: 2,
        queue: 1,
        rx_packets: 0,
        tx_packets: 0,
        flows: 0,
        half_open: 0,
        neighbours: 0,
        runtime: Runtime::default(),
    }]);
    assert_eq!(r.data[0]["busy_fraction"], Value::Null);
    assert_eq!(r.data[0]["cycles_per_packet"], Value::Null);
    let cells: Vec<&str> = r.text.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(cells[12..], ["-", "-"], "{}", r.text);
}

fn config() -> Config {
    Config::from_toml_str(&with_ports(
        "",
        r#"
[[virtual]]
name = "www"
address = "198.18.0.100:80"
[[virtual]]
name = "api"
address = "203.0.113.5:8080"
port = "inside"
max_request_head = "4KiB"
max_pipeline = 1
max_held = "1MiB"
"#,
    ))
    .unwrap()
}

#[test]
fn virtuals() {
    let c = config();
    let all = show_virtual(&c, None, &Levels::default());
    assert!(all.ok);
    assert_eq!(all.data.as_array().unwrap().len(), 2);
    let api = show_virtual(&c, Some("api"), &Levels::default());
    assert_eq!(api.data[0]["port"], "inside");
    assert_eq!(api.data[0]["max_request_head"], "4KiB");
    assert_eq!(api.data[0]["max_request_head_bytes"], 4096);
    assert_eq!(api.data[0]["max_pipeline"], 1);
    assert_eq!(api.data[0]["max_held"], "1MiB");
    assert_eq!(api.data[0]["max_held_bytes"], 1 << 20);
    assert_eq!(
        words(&api.text)[1][4..7],
        ["4KiB", "1", "1MiB"],
        "{}",
        api.text
    );
    // Left out: the defaults.
    assert_eq!(all.data[0]["max_pipeline"], 32);
    assert_eq!(all.data[0]["max_held"], "64KiB");
    assert_eq!(all.data[0]["max_held_bytes"], 65536);
    let mut none_held = c.clone();
    none_held.virtuals[0].max_held = splicer_config::ByteSize::from_bytes(0);
    let www = show_virtual(&none_held, Some("www"), &Levels::default());
    assert_eq!(www.data[0]["max_held"], "0B");
    assert_eq!(www.data[0]["max_held_bytes"], 0);
    assert_eq!(words(&www.text)[1][4..7], ["16KiB", "32", "0B"]);
    assert!(api.text.contains("203.0.113.5:8080"), "{}", api.text);
    assert_eq!(
        show_virtual(&c, Some("www2"), &Levels::default()),
        Response::error("virtual www2 does not exist")
    );
    let mut none = c.clone();
    none.virtuals.clear();
    assert_eq!(
        show_virtual(&none, None, &Levels::default()).text,
        "no virtual server is configured"
    );
    assert_eq!(
        show_virtual(&none, Some("www"), &Levels::default()),
        Response::error("virtual www does not exist")
    );
}

fn farm_config() -> Config {
    Config::from_toml_str(&with_ports(
        "",
        r#"
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
cookie = { name = "sid", value = "abc" }
bind = ["s1", "s2"]
[[virtual]]
name = "api"
address = "198.18.0.101:80"
[[virtual.rule]]
path_prefix = "/v1/"
bind = ["s1"]
"#,
    ))
    .unwrap()
}

#[test]
fn virtuals_show_their_routing() {
    let c = farm_config();
    let mut levels = Levels::default();
    levels.queued.insert("www".into(), 3);
    let all = show_virtual(&c, None, &levels);
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
            "queued"
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
            "32",
            "64KiB",
            "splice",
            "roundrobin",
            "in-service",
            "-",
            "s1,s2",
            "256",
            "4",
            "1",
            "3"
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
            "32",
            "64KiB",
            "splice",
            "roundrobin",
            "in-service",
            "-",
            "-",
            "256",
            "4",
            "1",
            "-"
        ]
    );
    assert!(lines[3].is_empty(), "{}", all.text);
    assert_eq!(
        lines[4],
        ["virtual", "rule", "match", "bind", "priority", "cost"]
    );
    assert_eq!(
        lines[5],
        [
            "www",
            "img",
            "path_prefix=/img/",
            "path_suffix=.jpg",
            "s2",
            "4",
            "1"
        ]
    );
    let rule2 = all.text.lines().nth(6).unwrap();
    assert!(
        rule2.starts_with(
            "www      rule2  host=api.example.com method=POST header=\"X-Tenant:blue sky\" cookie=sid=abc  s1,s2"
        ),
        "{}",
        all.text
    );
    assert_eq!(
        lines[7],
        ["api", "rule1", "path_prefix=/v1/", "s1", "4", "1"]
    );
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
    assert_eq!(www["rules"][1]["cookie"]["name"], "sid");
    assert_eq!(all.data[1]["bind"], json!([]));
    assert_eq!(
        (&www["queue_size"], &www["priority"], &www["cost"]),
        (&json!(256), &json!(4), &json!(1))
    );
    assert_eq!(
        (&www["queued"], &all.data[1]["queued"]),
        (&json!(3), &Value::Null)
    );

    // One virtual: its rules only; a virtual without rules has no rule table.
    let api = show_virtual(&c, Some("api"), &Levels::default());
    assert_eq!(api.data.as_array().unwrap().len(), 1);
    assert!(!api.text.contains("www"), "{}", api.text);
    let plain = show_virtual(&config(), Some("www"), &Levels::default());
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

/// The measurement columns of `show real` for a real nothing was measured of.
const IDLE: [&str; 6] = ["0", "0", "0.0", "0.0", "0.0%", "0"];

#[test]
fn reals_and_what_binds_them() {
    let mut c = farm_config();
    c.reals[1].tier = 2;
    let all = show_real(&c, &[], None, &[]);
    assert!(all.ok);
    // The configuration's columns and the tier, then the measurements (none here: all
    // idle), then the health.
    let lines = words(&all.text);
    assert_eq!(
        lines[0][9..15],
        ["in_flight", "queue", "ttfb_ms", "total_ms", "loss", "req/s"]
    );
    assert!(lines[1..].iter().all(|l| l[9..15] == IDLE), "{lines:?}");
    assert_eq!(
        lines
            .iter()
            .map(|l| [&l[..9], &l[15..]].concat())
            .collect::<Vec<_>>(),
        vec![
            vec![
                "name",
                "address",
                "weight",
                "pool",
                "maxconns",
                "state",
                "backup",
                "bound_by",
                "tier",
                "agent",
                "handoff_mode",
                "local",
                "health",
                "since",
                "reason"
            ],
            vec![
                "s1",
                "198.19.0.11:80",
                "1",
                "4",
                "64",
                "in-service",
                "-",
                "www,www/rule2,api/rule1",
                "1",
                "-",
                "-",
                "no",
                "UP",
                "-",
                "-"
            ],
            vec![
                "s2",
                "198.19.0.12:80",
                "3",
                "0",
                "16",
                "in-service",
                "-",
                "www,www/img,www/rule2",
                "2",
                "-",
                "-",
                "no",
                "UP",
                "-",
                "-"
            ],
            vec![
                "spare",
                "198.19.0.13:8080",
                "1",
                "4",
                "64",
                "in-service",
                "-",
                "-",
                "1",
                "-",
                "-",
                "no",
                "UP",
                "-",
                "-"
            ],
        ]
    );
    assert_eq!(all.data[1]["tier"], 2);
    // With measurements: the workers' figures together.
    let pools = crate::report::tests_support::sample().pools;
    let s1 = show_real(&c, &pools, Some("s1"), &[]);
    assert_eq!(s1.data[0]["in_flight"], 2);
    assert_eq!(s1.data[0]["ttfb_ms"], 2.0);
    assert_eq!(s1.data[0]["loss_percent"], 1.5);
    assert_eq!(s1.data[0]["requests_per_second"], 50);
    assert_eq!(s1.data[0]["responses_measured"], 4);
    assert!(s1.text.contains(" 2.0 "), "{}", s1.text);
    assert!(s1.text.contains(" 1.5% "), "{}", s1.text);
    let s2 = show_real(&c, &[], Some("s2"), &[]);
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
    assert_eq!(
        show_real(&c, &[], Some("spare"), &[]).data[0]["bound_by"],
        json!([])
    );
    assert_eq!(
        show_real(&c, &[], Some("s9"), &[]),
        Response::error("real s9 does not exist")
    );
    // Names are matched as written.
    assert_eq!(
        show_real(&c, &[], Some("S1"), &[]),
        Response::error("real S1 does not exist")
    );
    // With the control core's health: state, since when, why.
    let health = [RealHealthRow {
        name: "s2".into(),
        state: "DOWN".into(),
        reason: "3 checks failed, last: status 500".into(),
        since_secs: 12,
    }];
    let s2 = show_real(&c, &[], Some("s2"), &health);
    assert_eq!(s2.data[0]["health"], "DOWN");
    assert_eq!(s2.data[0]["health_since_s"], 12);
    assert_eq!(
        s2.data[0]["health_reason"],
        "3 checks failed, last: status 500"
    );
    let line = s2.text.lines().nth(1).unwrap();
    assert!(line.contains("DOWN") && line.contains("12s"), "{line}");
    assert!(
        line.ends_with("3 checks failed, last: status 500"),
        "{line}"
    );
    assert_eq!(
        show_real(&c, &[], Some("s1"), &health).data[0]["health"],
        "UP"
    );
    assert!(!health[0].up());
    let none = config();
    assert_eq!(
        show_real(&none, &[], None, &[]).text,
        "no real server is configured"
    );
    assert_eq!(show_real(&none, &[], None, &[]).data, json!([]));
    assert_eq!(
        show_real(&none, &[], Some("s1"), &[]),
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
                "real", "worker", "free", "busy", "opening", "conns", "inflight", "pool",
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
        json!({"worker": 0, "free": 3, "busy": 2, "opening": 1, "conns": 7, "inflight": 0})
    );
    assert_eq!(
        r.data[0]["total"],
        json!({"free": 7, "busy": 2, "opening": 1, "conns": 11, "inflight": 0})
    );
    assert_eq!(r.data[1]["total"]["inflight"], 5);

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
                "real", "worker", "free", "busy", "opening", "conns", "inflight", "pool",
                "maxconns"
            ],
            vec!["s1", "0", "3", "2", "1", "7", "0", "4", "64"],
            vec!["img.1", "0", "0", "2", "0", "2", "5", "0", "2"],
        ]
    );
    assert_eq!(r.data[0]["total"]["conns"], 7);
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
    let all = show_virtual(&c, None, &Levels::default());
    let lines = words(&all.text);
    assert_eq!(
        lines[2],
        [
            "api",
            "virtual",
            "198.18.0.101:80",
            "outside",
            "16KiB",
            "32",
            "64KiB",
            "redirect",
            "roundrobin",
            "sticky",
            "www",
            "moved",
            "256",
            "4",
            "1",
            "-"
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
            "-",
            "-",
            "splice",
            "-",
            "maintenance",
            "moved",
            "s1",
            "-",
            "-",
            "-",
            "-"
        ]
    );
    assert_eq!(all.data[1]["state"], "sticky");
    assert_eq!(all.data[1]["backup"], "www");
    assert_eq!(all.data[0]["backup"], Value::Null);
    assert_eq!(all.data[2]["kind"], "dip");
    assert_eq!(all.data[2]["bind"], json!(["s1"]));
    let dip = show_virtual(&c, Some("198.19.0.11"), &Levels::default());
    assert_eq!(dip.data.as_array().unwrap().len(), 1);
    assert_eq!(dip.text.lines().count(), 2, "{}", dip.text);
    assert_eq!(dip.data[0]["address"], "198.19.0.11:80");
    // A DIP has no keys of its own: it takes the defaults, and shows none.
    assert_eq!(dip.data[0]["max_pipeline"], Value::Null);
    assert_eq!(dip.data[0]["max_held"], Value::Null);

    let reals = show_real(&c, &[], Some("s1"), &[]);
    let line = &words(&reals.text)[1];
    assert_eq!(line[9..15], IDLE);
    assert_eq!(
        [&line[..9], &line[15..]].concat(),
        [
            "s1",
            "198.19.0.11:80",
            "1",
            "4",
            "64",
            "maintenance",
            "moved",
            "www,www/rule2,api/rule1",
            "1",
            "-",
            "-",
            "no",
            "UP",
            "-",
            "-"
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
        in_flight: u16::from(real.is_some()),
        held: 0,
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
                "in_flight",
                "held",
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
                "1",
                "0",
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
                "0",
                "0",
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

#[test]
fn reals_show_their_handoff_mode_and_whether_they_are_local() {
    let mut c = farm_config();
    c.reals[0].agent = Some("198.19.0.11:7470".parse().unwrap());
    c.reals[1].agent = Some("198.19.0.12:7470".parse().unwrap());
    c.reals[1].handoff_mode = splicer_config::HandoffMode::Routed;
    c.reals[2].local = true;
    let all = show_real(&c, &[], None, &[]);
    let lines = words(&all.text);
    let col = |name: &str| lines[0].iter().position(|h| *h == name).unwrap();
    let (mode, local) = (col("handoff_mode"), col("local"));
    assert_eq!(col("agent") + 1, mode, "beside the agent");
    let cells: Vec<_> = lines[1..]
        .iter()
        .map(|l| (l[0], l[mode], l[local]))
        .collect();
    assert_eq!(
        cells,
        [
            ("s1", "l2", "no"),
            ("s2", "routed", "no"),
            ("spare", "-", "yes")
        ]
    );
    let modes: Vec<_> = (0..3)
        .map(|i| {
            (
                all.data[i]["handoff_mode"].clone(),
                all.data[i]["local"].clone(),
            )
        })
        .collect();
    assert_eq!(
        modes,
        [
            (json!("l2"), json!(false)),
            (json!("routed"), json!(false)),
            (json!(null), json!(true))
        ]
    );
}
