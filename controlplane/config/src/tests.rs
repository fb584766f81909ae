//! Whole-file tests: the demo configuration, defaults, the round trip, and every
//! error message.

use super::*;
use splicer_dataplane::balance::{self, Farm, Route, RuleRoute, VirtualPolicy};
use splicer_http::Rule as HttpRule;
use std::net::Ipv4Addr;
use std::time::Duration;

const DEMO: &str = include_str!("../../../configs/demo.toml");

/// The example of the configuration contract, verbatim.
const CONTRACT: &str = r#"
[dataplane]
eal = ["-l", "0-1", "--no-huge", "--no-shconf", "-m", "1024", "--file-prefix", "demo",
       "--vdev", "net_tap0,iface=spl-out", "--vdev", "net_tap1,iface=spl-in"]
workers = 1                  # worker lcores = RX/TX queues per port
stats_interval = "10s"       # 0 disables

[[port]]                     # in DPDK port-id order
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

[[real]]
name = "s3"
address = "198.19.0.13:80"

[[virtual]]
name = "www"
address = "198.18.0.100:80"
bind = ["s1", "s2", "s3"]    # requests no rule matches

[[virtual.rule]]
name = "img"
path_prefix = "/img/"        # GET /img/... goes to s2 only
bind = ["s2"]
"#;

const PORTS: &str = r#"
[[port]]
name = "outside"
address = "198.18.0.1/24"

[[port]]
name = "inside"
address = "198.19.0.1/24"
"#;

const WWW: &str = r#"
[[virtual]]
name = "www"
address = "198.18.0.100:80"
"#;

/// A file with 3 lcores, `dataplane_keys` in `[dataplane]`, then `rest`.
fn doc(dataplane_keys: &str, rest: &str) -> String {
    format!("[dataplane]\neal = [\"-l\", \"0-2\", \"--no-huge\"]\n{dataplane_keys}\n{rest}")
}

/// The `[dataplane]` key assignment `dataplane_key` with the standard ports and VIP.
fn dp(dataplane_key: &str) -> String {
    doc(dataplane_key, &format!("{PORTS}{WWW}"))
}

fn ok(s: &str) -> Config {
    match Config::from_toml_str(s) {
        Ok(c) => c,
        Err(e) => panic!("unexpected error: {e}\n--- in ---\n{s}"),
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

fn demo_config() -> Config {
    Config {
        dataplane: Dataplane {
            stats_interval: Some(Duration::from_secs(10)),
            ..Dataplane::new(strings(&[
                "-l",
                "0-1",
                "--no-huge",
                "--no-shconf",
                "-m",
                "1024",
                "--file-prefix",
                "demo",
                "--vdev",
                "net_tap0,iface=spl-out",
                "--vdev",
                "net_tap1,iface=spl-in",
            ]))
        },
        ports: vec![
            Port {
                name: "outside".into(),
                address: PortAddress {
                    addr: Ipv4Addr::new(198, 18, 0, 1),
                    prefix_len: 24,
                },
                gateway: None,
                impair: None,
            },
            Port {
                name: "inside".into(),
                address: PortAddress {
                    addr: Ipv4Addr::new(198, 19, 0, 1),
                    prefix_len: 24,
                },
                gateway: None,
                impair: None,
            },
        ],
        reals: vec![
            Real {
                name: "s1".into(),
                address: "198.19.0.11:80".parse().unwrap(),
                weight: 1,
                pool: 4,
                maxconns: 64,
                state: ServiceState::InService,
                backup: None,
            },
            Real::new("s2", "198.19.0.12:80".parse().unwrap()),
            Real::new("s3", "198.19.0.13:80".parse().unwrap()),
        ],
        virtuals: vec![Virtual {
            name: "www".into(),
            address: "198.18.0.100:80".parse().unwrap(),
            port: None,
            max_request_head: ByteSize::from_bytes(16384),
            mode: Mode::Splice,
            predictor: Predictor::RoundRobin,
            bind: strings(&["s1", "s2", "s3"]),
            rules: vec![Rule {
                path_prefix: Some("/img/".into()),
                ..Rule::new("img", strings(&["s2"]))
            }],
            state: ServiceState::InService,
            backup: None,
        }],
        urls: Vec::new(),
        dips: Vec::new(),
    }
}

// ---------------------------------------------------------------- valid files

#[test]
fn demo_file_loads_with_every_default() {
    let c = ok(DEMO);
    assert_eq!(c, demo_config());
    let dp = &c.dataplane;
    assert_eq!(dp.workers, 1);
    assert_eq!(dp.stats_interval, Some(Duration::from_secs(10)));
    assert_eq!(dp.mempool_size, 16383);
    assert_eq!(dp.mempool_cache, 256);
    assert_eq!(dp.rx_descriptors, 1024);
    assert_eq!(dp.tx_descriptors, 1024);
    assert_eq!(dp.burst_size, 32);
    assert_eq!(dp.handoff_ring_size, 4096);
    assert_eq!(dp.neighbour_timeout, Duration::from_secs(60));
    assert_eq!(dp.neighbour_retry, Duration::from_secs(1));
    assert_eq!(dp.neighbour_pending, 16);
    assert_eq!(dp.idle_sleep, Duration::ZERO);
    assert_eq!(dp.max_flows, 65536);
    assert_eq!(dp.max_half_open, 4096);
    assert_eq!(dp.handshake_timeout, Duration::from_secs(3));
    assert_eq!(dp.request_timeout, Duration::from_secs(10));
    assert_eq!(dp.client_idle_timeout, Duration::from_secs(60));
    assert_eq!(dp.connect_timeout, Duration::from_secs(3));
    assert_eq!(dp.queue_timeout, Duration::from_secs(3));
    assert_eq!(dp.server_idle_timeout, Duration::from_secs(60));
    assert_eq!(dp.drain_timeout, Duration::from_secs(5));
    assert_eq!(c.virtuals[0].max_request_head.bytes(), 16 * 1024);
    assert_eq!(c.virtuals[0].mode, Mode::Splice);
    assert_eq!(c.virtuals[0].predictor, Predictor::RoundRobin);
    for r in &c.reals {
        assert_eq!((r.weight, r.pool, r.maxconns), (1, 4, 64), "{}", r.name);
    }
    assert_eq!(c.virtual_port_index(0), 0);
    assert_eq!(c.eal_lcore_count(), Some(2));
}

#[test]
fn default_constants() {
    assert_eq!(defaults::MAX_FLOWS, 65536);
    assert_eq!(defaults::MAX_HALF_OPEN, 4096);
    assert_eq!(defaults::HANDSHAKE_TIMEOUT, Duration::from_secs(3));
    assert_eq!(defaults::REQUEST_TIMEOUT, Duration::from_secs(10));
    assert_eq!(defaults::CLIENT_IDLE_TIMEOUT, Duration::from_secs(60));
    assert_eq!(defaults::MAX_REQUEST_HEAD.bytes(), 16384);
    assert_eq!(defaults::MAX_REQUEST_HEAD.to_string(), "16KiB");
    assert_eq!(defaults::CONNECT_TIMEOUT, Duration::from_secs(3));
    assert_eq!(defaults::QUEUE_TIMEOUT, Duration::from_secs(3));
    assert_eq!(defaults::SERVER_IDLE_TIMEOUT, Duration::from_secs(60));
    assert_eq!(defaults::DRAIN_TIMEOUT, Duration::from_secs(5));
    assert_eq!(defaults::REAL_WEIGHT, 1);
    assert_eq!(defaults::REAL_POOL, 4);
    assert_eq!(defaults::REAL_MAXCONNS, 64);
    assert_eq!(defaults::MODE, Mode::Splice);
    assert_eq!(defaults::PREDICTOR, Predictor::RoundRobin);
    let dp = Dataplane::new(strings(&["-l", "0-1"]));
    assert_eq!(dp.connect_timeout, defaults::CONNECT_TIMEOUT);
    assert_eq!(dp.queue_timeout, defaults::QUEUE_TIMEOUT);
    assert_eq!(dp.server_idle_timeout, defaults::SERVER_IDLE_TIMEOUT);
    assert_eq!(dp.drain_timeout, defaults::DRAIN_TIMEOUT);
    assert_eq!(dp.max_flows, defaults::MAX_FLOWS);
    assert_eq!(dp.max_half_open, defaults::MAX_HALF_OPEN);
    assert_eq!(dp.handshake_timeout, defaults::HANDSHAKE_TIMEOUT);
    assert_eq!(dp.request_timeout, defaults::REQUEST_TIMEOUT);
    assert_eq!(dp.client_idle_timeout, defaults::CLIENT_IDLE_TIMEOUT);
    let v = Virtual::new("www", "198.18.0.100:80".parse().unwrap());
    assert_eq!(
        v,
        Virtual {
            bind: vec![],
            rules: vec![],
            ..demo_config().virtuals[0].clone()
        }
    );
    assert_eq!(v.max_request_head, defaults::MAX_REQUEST_HEAD);
    assert_eq!(v.mode, defaults::MODE);
    assert_eq!(v.predictor, defaults::PREDICTOR);
    assert!(v.bind.is_empty() && v.rules.is_empty());
    assert_eq!(demo_config().reals[0], demo_config().reals[0].clone());
    let r = Real::new("s1", "198.19.0.11:80".parse().unwrap());
    assert_eq!(r, demo_config().reals[0]);
}

#[test]
fn contract_example_equals_demo_file() {
    assert_eq!(ok(CONTRACT), ok(DEMO));
}

#[test]
fn demo_file_loads_from_disk() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/demo.toml");
    assert_eq!(Config::load(&path).unwrap(), demo_config());
    assert_eq!(ok(DEMO), DEMO.parse::<Config>().unwrap());
}

#[test]
fn demo_eal_args() {
    let c = ok(DEMO);
    let args = c.eal_args("splicer");
    assert_eq!(args[0], "splicer");
    assert_eq!(args[1..13], c.dataplane.eal[..]);
    // No -a: --no-pci is added; the demo's own --file-prefix is kept.
    assert_eq!(args[13..], strings(&["--no-pci"])[..]);
}

#[test]
fn defaults_without_optional_keys() {
    let c = ok(&doc("", PORTS));
    assert_eq!(
        c.dataplane,
        Dataplane::new(strings(&["-l", "0-2", "--no-huge"]))
    );
    assert!(c.virtuals.is_empty());
    assert!(c.reals.is_empty());
    assert_eq!(c.farm(), Farm::default());
    let c = ok(&dp(""));
    assert_eq!(
        c.virtuals,
        vec![Virtual::new("www", "198.18.0.100:80".parse().unwrap())]
    );
}

#[test]
fn every_key_set() {
    let c = ok(r#"
[dataplane]
eal = ["-l", "0-4", "--vdev", "net_tap0", "--vdev", "net_tap1", "--vdev", "net_tap2"]
workers = 4
stats_interval = "1m 30s"
mempool_size = 65535
mempool_cache = 512
rx_descriptors = 2048
tx_descriptors = 512
burst_size = 64
handoff_ring_size = 65536
neighbour_timeout = "5m"
neighbour_retry = "250ms"
neighbour_pending = 0
idle_sleep = "100us"
max_flows = 1048576
max_half_open = 1048576
handshake_timeout = "5s"
request_timeout = "2s 500ms"
client_idle_timeout = "5m"
connect_timeout = "250ms"
queue_timeout = "1s"
server_idle_timeout = "2m"
drain_timeout = "10s"

[[port]]
name = "outside"
address = "198.18.0.1/24"
gateway = "198.18.0.254"

[[port]]
name = "inside"
address = "198.19.0.1/24"

[[port]]
name = "p2p_link-3"
address = "10.0.0.0/31"

[[real]]
name = "Web-1.dc_2"
address = "198.19.0.11:8080"
weight = 1000
pool = 1024
maxconns = 65535

[[real]]
name = "far"
address = "203.0.113.50:80"
weight = 0
pool = 0
maxconns = 1

[[virtual]]
name = "www"
address = "198.18.0.100:80"
port = "outside"
max_request_head = "64KiB"
mode = "splice"
predictor = "roundrobin"
bind = ["Web-1.dc_2", "far"]

[[virtual.rule]]
name = "api"
path_prefix = "/api/"
path_suffix = ".json"
host = "API.example:8080"
method = "POST"
header = { name = "X-Tenant", value = "blue" }
bind = ["far"]

[[virtual.rule]]
method = "DELETE"
bind = ["far", "Web-1.dc_2"]

[[virtual]]
name = "www-tls"
address = "198.18.0.100:443"
max_request_head = 1536

[[virtual]]
name = "routed"
address = "203.0.113.7:8080"
port = "inside"
max_request_head = "8 kB"
"#);
    let dp = &c.dataplane;
    assert_eq!(dp.workers, 4);
    assert_eq!(dp.stats_interval, Some(Duration::from_secs(90)));
    assert_eq!(dp.mempool_size, 65535);
    assert_eq!(dp.mempool_cache, 512);
    assert_eq!(dp.rx_descriptors, 2048);
    assert_eq!(dp.tx_descriptors, 512);
    assert_eq!(dp.burst_size, 64);
    assert_eq!(dp.handoff_ring_size, 65536);
    assert_eq!(dp.neighbour_timeout, Duration::from_secs(300));
    assert_eq!(dp.neighbour_retry, Duration::from_millis(250));
    assert_eq!(dp.neighbour_pending, 0);
    assert_eq!(dp.idle_sleep, Duration::from_micros(100));
    assert_eq!(dp.max_flows, 1 << 20);
    assert_eq!(dp.max_half_open, 1 << 20);
    assert_eq!(dp.handshake_timeout, Duration::from_secs(5));
    assert_eq!(dp.request_timeout, Duration::from_millis(2500));
    assert_eq!(dp.client_idle_timeout, Duration::from_secs(300));
    assert_eq!(dp.connect_timeout, Duration::from_millis(250));
    assert_eq!(dp.queue_timeout, Duration::from_secs(1));
    assert_eq!(dp.server_idle_timeout, Duration::from_secs(120));
    assert_eq!(dp.drain_timeout, Duration::from_secs(10));
    assert_eq!(
        c.reals[0],
        Real {
            name: "Web-1.dc_2".into(),
            address: "198.19.0.11:8080".parse().unwrap(),
            weight: 1000,
            pool: 1024,
            maxconns: 65535,
            state: ServiceState::InService,
            backup: None,
        }
    );
    assert_eq!(
        (c.reals[1].weight, c.reals[1].pool, c.reals[1].maxconns),
        (0, 0, 1)
    );
    let www = &c.virtuals[0];
    assert_eq!(www.bind, strings(&["Web-1.dc_2", "far"]));
    assert_eq!(
        www.rules[0],
        Rule {
            name: "api".into(),
            path_prefix: Some("/api/".into()),
            path_suffix: Some(".json".into()),
            host: Some("API.example:8080".into()),
            method: Some(Method::Post),
            header: Some(HeaderMatch {
                name: "X-Tenant".into(),
                value: "blue".into()
            }),
            bind: strings(&["far"]),
        }
    );
    assert_eq!(www.rules[1].name, "rule2");
    assert_eq!(www.rules[1].method, Some(Method::Delete));
    assert!(c.virtuals[1].bind.is_empty() && c.virtuals[1].rules.is_empty());
    assert_eq!(c.virtuals[0].max_request_head.bytes(), 65536);
    assert_eq!(c.virtuals[1].max_request_head.bytes(), 1536);
    assert_eq!(c.virtuals[2].max_request_head.bytes(), 8000);
    assert_eq!(c.ports[0].gateway, Some(Ipv4Addr::new(198, 18, 0, 254)));
    assert_eq!(c.ports[2].address.to_string(), "10.0.0.0/31");
    assert_eq!(c.virtuals[0].port.as_deref(), Some("outside"));
    assert_eq!(c.virtuals[1].port, None);
    assert_eq!(c.virtual_port_index(0), 0);
    assert_eq!(c.virtual_port_index(1), 0);
    assert_eq!(c.virtual_port_index(2), 1);
    assert_eq!(c.eal_lcore_count(), Some(5));
    round_trip(&c);
}

#[test]
fn stats_interval_zero_disables() {
    for zero in ["\"0\"", "\"0s\"", "0", "\"0ms\""] {
        let c = ok(&dp(&format!("stats_interval = {zero}")));
        assert_eq!(c.dataplane.stats_interval, None, "{zero}");
    }
}

#[test]
fn vip_on_no_subnet_with_explicit_port() {
    let c = ok(&doc(
        "",
        &format!(
            "{PORTS}[[virtual]]\nname = \"r\"\naddress = \"10.1.1.1:25\"\nport = \"inside\"\n"
        ),
    ));
    assert_eq!(c.virtual_port_index(0), 1);
}

#[test]
fn same_vip_different_ports_and_slash_31() {
    ok(&doc(
        "",
        "[[port]]\nname = \"a\"\naddress = \"10.0.0.1/31\"\n[[virtual]]\nname = \"v\"\naddress = \"10.0.0.0:80\"\n",
    ));
}

#[test]
fn too_many_reals() {
    let mut c = ok(DEMO);
    c.reals = (0..=u32::from(u16::MAX) + 1)
        .map(|i| Real::new(format!("r{i}"), "198.19.0.11:80".parse().unwrap()))
        .collect();
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "real: at most 65536 [[real]] tables are allowed, got 65537"
    );
    c.reals.pop();
    c.virtuals[0].bind = vec!["r65535".into()];
    c.virtuals[0].rules.clear();
    assert_eq!(c.validate().unwrap(), ());
    assert_eq!(c.farm().virtuals[0].bind, vec![u16::MAX]);
}

#[test]
#[should_panic(expected = "virtual[0]: no [[port]] named \"dmz\"")]
fn virtual_port_index_panics_on_unvalidated_config() {
    let mut c = ok(&dp(""));
    c.virtuals[0].port = Some("dmz".into());
    c.virtual_port_index(0);
}

// ---------------------------------------------------------------- round trip

fn round_trip(c: &Config) {
    let text = toml::to_string(c).expect("serializes");
    let back = Config::from_toml_str(&text).unwrap_or_else(|e| panic!("{e}\n--- in ---\n{text}"));
    assert_eq!(&back, c, "--- written ---\n{text}");
}

#[test]
fn round_trip_demo() {
    let c = ok(DEMO);
    round_trip(&c);
    let text = toml::to_string(&c).unwrap();
    for line in [
        "[dataplane]",
        "stats_interval = \"10s\"",
        "neighbour_timeout = \"1m\"",
        "neighbour_retry = \"1s\"",
        "idle_sleep = \"0s\"",
        "workers = 1",
        "max_flows = 65536",
        "max_half_open = 4096",
        "handshake_timeout = \"3s\"",
        "request_timeout = \"10s\"",
        "client_idle_timeout = \"1m\"",
        "connect_timeout = \"3s\"",
        "queue_timeout = \"3s\"",
        "server_idle_timeout = \"1m\"",
        "drain_timeout = \"5s\"",
        "max_request_head = \"16KiB\"",
        "[[port]]",
        "address = \"198.18.0.1/24\"",
        "[[real]]",
        "address = \"198.19.0.11:80\"",
        "weight = 1",
        "pool = 4",
        "maxconns = 64",
        "[[virtual]]",
        "address = \"198.18.0.100:80\"",
        "mode = \"splice\"",
        "predictor = \"roundrobin\"",
        "bind = [\"s1\", \"s2\", \"s3\"]",
        "[[virtual.rule]]",
        "name = \"img\"",
        "path_prefix = \"/img/\"",
        "bind = [\"s2\"]",
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?} in:\n{text}");
    }
    assert!(!text.contains("gateway"), "{text}");
}

#[test]
fn round_trip_disabled_stats_and_no_virtuals() {
    let c = ok(&doc(
        "stats_interval = \"0\"\nidle_sleep = \"1ms 500us\"",
        PORTS,
    ));
    round_trip(&c);
    assert!(toml::to_string(&c)
        .unwrap()
        .contains("stats_interval = \"0s\""));
}

#[test]
fn round_trip_sizes() {
    for (written, bytes, back) in [
        ("1024", 1024, "1KiB"),
        ("\"1536B\"", 1536, "1536B"),
        ("\"64kB\"", 64000, "64kB"),
        ("\"64 KiB\"", 65536, "64KiB"),
        ("\"2000 B\"", 2000, "2kB"),
    ] {
        let c = ok(&virtuals(&format!(
            "{}max_request_head = {written}\n",
            vip("www", "198.18.0.100:80", None)
        )));
        assert_eq!(c.virtuals[0].max_request_head.bytes(), bytes, "{written}");
        round_trip(&c);
        let text = toml::to_string(&c).unwrap();
        let line = format!("max_request_head = \"{back}\"");
        assert!(text.lines().any(|l| l == line), "no {line:?} in:\n{text}");
    }
}

#[test]
fn config_deserializes_through_validation() {
    let c: Config = toml::from_str(DEMO).unwrap();
    assert_eq!(c, demo_config());
    let e = toml::from_str::<Config>(&dp("workers = 0")).unwrap_err();
    assert!(
        e.to_string()
            .contains("dataplane.workers: must be between 1 and 64, got 0"),
        "{e}"
    );
}

// ---------------------------------------------------------------- TOML errors

/// A TOML (shape) error: keeps the line/column and contains `key` (as quoted).
fn toml_err(s: &str, key: &str, line: usize) -> String {
    let e = Config::from_toml_str(s).unwrap_err();
    assert!(matches!(e, ConfigError::Parse { .. }), "{e:?}");
    assert_eq!(e.key(), None);
    let m = e.to_string();
    assert!(
        m.starts_with(&format!("TOML parse error at line {line}, column")),
        "{m}"
    );
    assert!(m.contains(key), "{m}");
    // The first line alone (what a log line or a script sees) carries the message.
    let first = m.lines().next().unwrap_or_default();
    assert!(first.ends_with(e.message().trim_end()), "{m}");
    m
}

#[test]
fn unknown_top_level_key() {
    let s = format!("{}\nbogus = 1\n", dp(""));
    let line = s.lines().position(|l| l == "bogus = 1").unwrap() + 1;
    let m = toml_err(&s, "`bogus`", line);
    assert!(m.contains("unknown field `bogus`"), "{m}");
    // A misspelt table.
    let s = format!("{}\n[dataplan]\nx = 1\n", dp(""));
    let line = s.lines().position(|l| l == "[dataplan]").unwrap() + 1;
    let m = toml_err(&s, "`dataplan`", line);
    assert!(
        m.contains("expected one of `dataplane`, `port`, `real`, `virtual`"),
        "{m}"
    );
}

#[test]
fn unknown_dataplane_key() {
    let m = toml_err(&dp("worker = 2"), "`worker`", 3);
    assert!(
        m.contains("unknown field `worker`, expected one of `eal`, `workers`"),
        "{m}"
    );
}

#[test]
fn unknown_port_key() {
    let s = doc(
        "",
        "[[port]]\nname = \"a\"\naddress = \"10.0.0.1/24\"\n[[port]]\nname = \"b\"\naddress = \"10.0.1.1/24\"\nmtu = 9000\n",
    );
    let m = toml_err(&s, "`mtu`", 10);
    assert!(
        m.contains("unknown field `mtu`, expected one of `name`, `address`, `gateway`"),
        "{m}"
    );
}

#[test]
fn unknown_virtual_key() {
    let s = doc("", &format!("{PORTS}{WWW}backend = \"pool1\"\n"));
    let m = toml_err(&s, "`backend`", 16);
    assert!(
        m.contains("unknown field `backend`, expected one of `name`, `address`, `port`"),
        "{m}"
    );
}

#[test]
fn port_written_as_a_single_table() {
    let s = doc("", "[port]\nname = \"a\"\naddress = \"10.0.0.1/24\"\n");
    let m = toml_err(&s, "[[port]]", 4);
    assert!(
        m.contains("expected an array of tables, written [[port]]"),
        "{m}"
    );
}

#[test]
fn sections_of_the_wrong_type() {
    let m = toml_err(&format!("dataplane = 5\n{PORTS}"), "dataplane = 5", 1);
    assert!(
        m.lines()
            .next()
            .unwrap()
            .ends_with("invalid type: integer `5`, expected a [dataplane] table"),
        "{m}"
    );
    let m = toml_err(&dp("").replace("[[virtual]]", "[virtual]"), "[virtual]", 13);
    assert!(
        m.lines()
            .next()
            .unwrap()
            .ends_with("invalid type: map, expected an array of tables, written [[virtual]]"),
        "{m}"
    );
}

#[test]
fn toml_syntax_error() {
    let e = Config::from_toml_str("[dataplane\n").unwrap_err();
    assert!(
        e.to_string().starts_with("TOML parse error at line 1"),
        "{e}"
    );
}

#[test]
fn missing_file() {
    let e = Config::load(Path::new("/nonexistent/splicer.toml")).unwrap_err();
    assert!(matches!(e, ConfigError::Read { .. }));
    assert!(
        e.to_string()
            .starts_with("cannot read config file /nonexistent/splicer.toml: No such file"),
        "{e}"
    );
}

#[test]
fn load_names_the_file_in_toml_errors() {
    let dir = std::env::temp_dir().join(format!("splicer-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    std::fs::write(&path, dp("bogus = 1")).unwrap();
    let e = Config::load(&path).unwrap_err().to_string();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        e.starts_with(&format!("{}: TOML parse error at line 3", path.display())),
        "{e}"
    );
    assert!(e.contains("`bogus`"), "{e}");
}

// ---------------------------------------------------------------- validation

/// A validation error: returns `<key>: <message>` after checking `key()`.
fn invalid(s: &str, key: &str) -> String {
    let e = Config::from_toml_str(s).unwrap_err();
    assert_eq!(e.key(), Some(key), "{e}");
    let m = e.to_string();
    assert_eq!(m, format!("{key}: {}", e.message()));
    m
}

#[test]
fn missing_required_keys() {
    assert_eq!(
        invalid(PORTS, "dataplane"),
        "dataplane: the [dataplane] table is missing; it is required and must at least set eal"
    );
    assert_eq!(
        invalid(
            &format!("[dataplane]\nworkers = 1\n{PORTS}"),
            "dataplane.eal"
        ),
        r#"dataplane.eal: missing; it is required, like eal = ["-l", "0-1", "--vdev", "net_tap0"]"#
    );
    assert_eq!(
        invalid(&doc("", "[[port]]\nname = \"a\"\n"), "port[0].address"),
        "port[0].address: missing; it is required, like address = \"198.18.0.1/24\""
    );
    assert_eq!(
        invalid(
            &doc("", "[[port]]\naddress = \"10.0.0.1/24\"\n"),
            "port[0].name"
        ),
        "port[0].name: missing; it is required, like name = \"outside\""
    );
    invalid(
        &doc("", &format!("{PORTS}[[virtual]]\nname = \"x\"\n")),
        "virtual[0].address",
    );
    invalid(
        &doc(
            "",
            &format!("{PORTS}[[virtual]]\naddress = \"198.18.0.9:80\"\n"),
        ),
        "virtual[0].name",
    );
    assert_eq!(
        invalid(&doc("", ""), "port"),
        "port: at least one [[port]] is required, one per DPDK port in port-id order"
    );
}

#[test]
fn eal_errors() {
    assert!(
        invalid(&format!("[dataplane]\neal = []\n{PORTS}"), "dataplane.eal")
            .starts_with("dataplane.eal: must not be empty")
    );
    assert_eq!(
        invalid(&format!("[dataplane]\neal = [\"-l\", \"0-1\", \"-m\", 1024]\n{PORTS}"), "dataplane.eal[3]"),
        "dataplane.eal[3]: expected a string, got integer 1024; EAL arguments are strings, write \"1024\""
    );
    assert_eq!(
        invalid(&format!("[dataplane]\neal = \"-l 0-1\"\n{PORTS}"), "dataplane.eal"),
        "dataplane.eal: expected an array of strings, one per argument (like [\"-l\", \"0-1\"]), got string \"-l 0-1\""
    );
    assert_eq!(
        invalid(
            &format!("[dataplane]\neal = [\"-l\", \"\"]\n{PORTS}"),
            "dataplane.eal[1]"
        ),
        "dataplane.eal[1]: empty argument"
    );
    assert_eq!(
        invalid(&format!("[dataplane]\neal = [\"-l\", \"0-1\", \"-c\", \"0x3\"]\n{PORTS}"), "dataplane.eal"),
        "dataplane.eal: give only one of -l, --lcores and -c, DPDK refuses more than one (found -l 0-1, -c 0x3)"
    );
}

#[test]
fn workers_range() {
    assert_eq!(
        invalid(&dp("workers = 0"), "dataplane.workers"),
        "dataplane.workers: must be between 1 and 64, got 0"
    );
    assert_eq!(
        invalid(&dp("workers = 65"), "dataplane.workers"),
        "dataplane.workers: must be between 1 and 64, got 65"
    );
    // Out of u16 range: the same message, not a serde type error.
    assert_eq!(
        invalid(&dp("workers = 100000"), "dataplane.workers"),
        "dataplane.workers: must be between 1 and 64, got 100000"
    );
    assert_eq!(
        invalid(&dp("workers = -1"), "dataplane.workers"),
        "dataplane.workers: must be between 1 and 64, got -1"
    );
    assert_eq!(
        invalid(&dp("workers = \"2\""), "dataplane.workers"),
        "dataplane.workers: expected an integer, got string \"2\""
    );
}

#[test]
fn workers_need_lcores() {
    let s = format!("[dataplane]\neal = [\"-l\", \"0-1\"]\nworkers = 2\n{PORTS}");
    assert_eq!(
        invalid(&s, "dataplane.workers"),
        "dataplane.workers: 2 workers need 3 lcores (1 control + 2 workers) but dataplane.eal gives 2 (-l 0-1); give more lcores or fewer workers"
    );
    let s = format!("[dataplane]\neal = [\"-l0\"]\n{PORTS}");
    assert_eq!(
        invalid(&s, "dataplane.workers"),
        "dataplane.workers: 1 worker needs 2 lcores (1 control + 1 worker) but dataplane.eal gives 1 (-l 0); give more lcores or fewer workers"
    );
    let s = format!("[dataplane]\neal = [\"--lcores=(0-1)@0\"]\nworkers = 2\n{PORTS}");
    assert!(invalid(&s, "dataplane.workers").contains("gives 2 (--lcores (0-1)@0)"));
    let s = format!("[dataplane]\neal = [\"-c\", \"0x3\"]\nworkers = 2\n{PORTS}");
    assert!(invalid(&s, "dataplane.workers").contains("gives 2 (-c 0x3)"));
    // Enough lcores, or an unknown count: accepted (the binary re-checks after EAL init).
    ok(&format!(
        "[dataplane]\neal = [\"-l\", \"0-2\"]\nworkers = 2\n{PORTS}"
    ));
    ok(&format!(
        "[dataplane]\neal = [\"--lcores\", \"0@0,1@1,2@1\"]\nworkers = 2\n{PORTS}"
    ));
    ok(&format!(
        "[dataplane]\neal = [\"--no-huge\"]\nworkers = 8\n{PORTS}"
    ));
    ok(&format!(
        "[dataplane]\neal = [\"-l\", \"weird\"]\nworkers = 8\n{PORTS}"
    ));
}

#[test]
fn integer_ranges() {
    let cases = [
        (
            "mempool_size = 1023",
            "dataplane.mempool_size: must be at least 1024, got 1023",
        ),
        (
            "mempool_size = 5000000000",
            "dataplane.mempool_size: must be at least 1024, got 5000000000",
        ),
        (
            "mempool_cache = 513",
            "dataplane.mempool_cache: must be at most 512, got 513",
        ),
        (
            "rx_descriptors = 1000",
            "dataplane.rx_descriptors: must be a power of two between 64 and 4096, got 1000",
        ),
        (
            "rx_descriptors = 32",
            "dataplane.rx_descriptors: must be a power of two between 64 and 4096, got 32",
        ),
        (
            "tx_descriptors = 8192",
            "dataplane.tx_descriptors: must be a power of two between 64 and 4096, got 8192",
        ),
        (
            "burst_size = 0",
            "dataplane.burst_size: must be between 1 and 256, got 0",
        ),
        (
            "burst_size = 257",
            "dataplane.burst_size: must be between 1 and 256, got 257",
        ),
        (
            "handoff_ring_size = 1000",
            "dataplane.handoff_ring_size: must be a power of two between 64 and 65536, got 1000",
        ),
        (
            "handoff_ring_size = 131072",
            "dataplane.handoff_ring_size: must be a power of two between 64 and 65536, got 131072",
        ),
        (
            "neighbour_pending = 70000",
            "dataplane.neighbour_pending: must be at most 65535, got 70000",
        ),
        (
            "neighbour_pending = -1",
            "dataplane.neighbour_pending: must be at most 65535, got -1",
        ),
        (
            "max_flows = 1023",
            "dataplane.max_flows: must be between 1024 and 4194304, got 1023",
        ),
        (
            "max_flows = 4194305",
            "dataplane.max_flows: must be between 1024 and 4194304, got 4194305",
        ),
        (
            "max_flows = 5000000000",
            "dataplane.max_flows: must be between 1024 and 4194304, got 5000000000",
        ),
        (
            "max_flows = -1",
            "dataplane.max_flows: must be between 1024 and 4194304, got -1",
        ),
        (
            "max_half_open = 15",
            "dataplane.max_half_open: must be at least 16, got 15",
        ),
        (
            "max_half_open = -1",
            "dataplane.max_half_open: must be at least 16, got -1",
        ),
    ];
    for (line, want) in cases {
        let key = want.split(':').next().unwrap();
        assert_eq!(invalid(&dp(line), key), want, "{line}");
    }
    // The bounds themselves are accepted.
    ok(&dp("mempool_size = 1024\nmempool_cache = 512\nrx_descriptors = 64\ntx_descriptors = 4096\nburst_size = 256\nhandoff_ring_size = 64"));
    ok(&dp(
        "mempool_cache = 0\nburst_size = 1\nhandoff_ring_size = 65536\nworkers = 2",
    ));
    ok(&dp("max_flows = 1024\nmax_half_open = 16"));
    ok(&dp("max_flows = 4194304\nmax_half_open = 4194304"));
    ok(&dp("max_flows = 4096"));
}

#[test]
fn max_half_open_at_most_max_flows() {
    assert_eq!(
        invalid(&dp("max_half_open = 65537"), "dataplane.max_half_open"),
        "dataplane.max_half_open: must be at most dataplane.max_flows (65536), got 65537"
    );
    assert_eq!(
        invalid(
            &dp("max_flows = 2048\nmax_half_open = 2049"),
            "dataplane.max_half_open"
        ),
        "dataplane.max_half_open: must be at most dataplane.max_flows (2048), got 2049"
    );
    // Lowering max_flows below the default max_half_open: the message says why.
    assert_eq!(
        invalid(&dp("max_flows = 2048"), "dataplane.max_half_open"),
        "dataplane.max_half_open: must be at most dataplane.max_flows (2048), got 4096 (the default); set max_half_open too when max_flows is below 4096"
    );
    // Beyond u32: the same rule, not a type error.
    assert_eq!(
        invalid(&dp("max_half_open = 5000000000"), "dataplane.max_half_open"),
        "dataplane.max_half_open: must be at most dataplane.max_flows (65536), got 5000000000"
    );
    assert_eq!(
        invalid(&dp("max_half_open = \"4k\""), "dataplane.max_half_open"),
        "dataplane.max_half_open: expected an integer, got string \"4k\""
    );
    assert_eq!(
        invalid(&dp("max_flows = 1.5"), "dataplane.max_flows"),
        "dataplane.max_flows: expected an integer, got float 1.5"
    );
    ok(&dp("max_flows = 2048\nmax_half_open = 2048"));
}

#[test]
fn syn_cookie_threshold_defaults_to_half_of_max_half_open() {
    assert_eq!(ok(&dp("")).dataplane.syn_cookie_threshold(), 2048);
    let c = ok(&dp("max_half_open = 100"));
    assert_eq!(c.dataplane.syn_cookie_threshold, None);
    assert_eq!(c.dataplane.syn_cookie_threshold(), 50);
    let c = ok(&dp("syn_cookie_threshold = 0"));
    assert_eq!(c.dataplane.syn_cookie_threshold(), 0);
    // Written back only when set, and read back the same.
    assert!(!ok(&dp("")).to_toml().contains("syn_cookie"));
    let c = ok(&dp("max_half_open = 100\nsyn_cookie_threshold = 100"));
    assert_eq!(ok(&c.to_toml()).dataplane.syn_cookie_threshold(), 100);
    assert_eq!(
        invalid(
            &dp("max_half_open = 100\nsyn_cookie_threshold = 101"),
            "dataplane.syn_cookie_threshold"
        ),
        "dataplane.syn_cookie_threshold: must be at most dataplane.max_half_open (100), got 101"
    );
    assert_eq!(
        invalid(
            &dp("syn_cookie_threshold = 5000000000"),
            "dataplane.syn_cookie_threshold"
        ),
        "dataplane.syn_cookie_threshold: must be at most dataplane.max_half_open (4096), got 5000000000"
    );
    assert_eq!(
        invalid(
            &dp("syn_cookie_threshold = -1"),
            "dataplane.syn_cookie_threshold"
        ),
        "dataplane.syn_cookie_threshold: must be at least 0, got -1"
    );
    assert_eq!(
        invalid(
            &dp("syn_cookie_threshold = \"always\""),
            "dataplane.syn_cookie_threshold"
        ),
        "dataplane.syn_cookie_threshold: expected an integer, got string \"always\""
    );
}

#[test]
fn mempool_cache_vs_size_rule_for_built_configs() {
    let mut c = ok(&dp(""));
    c.dataplane.mempool_size = 600;
    c.dataplane.mempool_cache = 512;
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "dataplane.mempool_size: must be at least 1024, got 600"
    );
    c.dataplane.mempool_size = 1024;
    assert_eq!(c.validate().unwrap(), ());
}

#[test]
fn duration_errors() {
    let m = invalid(&dp("stats_interval = \"ten\""), "dataplane.stats_interval");
    assert!(
        m.starts_with("dataplane.stats_interval: invalid duration \"ten\": "),
        "{m}"
    );
    let m = invalid(
        &dp("neighbour_retry = \"1 sec later\""),
        "dataplane.neighbour_retry",
    );
    assert!(
        m.starts_with("dataplane.neighbour_retry: invalid duration \"1 sec later\": "),
        "{m}"
    );
    assert_eq!(
        invalid(&dp("neighbour_timeout = 60"), "dataplane.neighbour_timeout"),
        "dataplane.neighbour_timeout: invalid duration 60: a duration needs a unit, write it as a string like \"60s\" or \"60ms\""
    );
    assert_eq!(
        invalid(&dp("idle_sleep = 0.5"), "dataplane.idle_sleep"),
        "dataplane.idle_sleep: expected a duration string like \"10s\", got float 0.5"
    );
    assert_eq!(
        invalid(
            &dp("neighbour_timeout = \"0s\""),
            "dataplane.neighbour_timeout"
        ),
        "dataplane.neighbour_timeout: must be greater than zero, like \"1s\""
    );
    assert_eq!(
        invalid(&dp("neighbour_retry = \"0\""), "dataplane.neighbour_retry"),
        "dataplane.neighbour_retry: must be greater than zero, like \"1s\""
    );
    assert_eq!(
        invalid(&dp("idle_sleep = \"2s\""), "dataplane.idle_sleep"),
        "dataplane.idle_sleep: must be at most 1s, got 2s"
    );
    assert_eq!(
        invalid(
            &dp("stats_interval = \"2days\""),
            "dataplane.stats_interval"
        ),
        "dataplane.stats_interval: must be at most 1day, got 2days"
    );
}

#[test]
fn connection_timer_errors() {
    for key in [
        "handshake_timeout",
        "request_timeout",
        "client_idle_timeout",
        "connect_timeout",
        "queue_timeout",
        "server_idle_timeout",
        "drain_timeout",
        "body_timeout",
        "send_timeout",
    ] {
        let full = format!("dataplane.{key}");
        for zero in ["\"0s\"", "\"0\"", "0"] {
            assert_eq!(
                invalid(&dp(&format!("{key} = {zero}")), &full),
                format!("{full}: must be greater than zero, like \"1s\""),
                "{zero}"
            );
        }
        assert_eq!(
            invalid(&dp(&format!("{key} = \"25h\"")), &full),
            format!("{full}: must be at most 1day, got 1day 1h")
        );
        assert_eq!(
            invalid(&dp(&format!("{key} = 3")), &full),
            format!("{full}: invalid duration 3: a duration needs a unit, write it as a string like \"3s\" or \"3ms\"")
        );
        assert_eq!(
            invalid(&dp(&format!("{key} = true")), &full),
            format!("{full}: expected a duration string like \"10s\", got boolean true")
        );
        let m = invalid(&dp(&format!("{key} = \"soon\"")), &full);
        assert!(
            m.starts_with(&format!("{full}: invalid duration \"soon\": ")),
            "{m}"
        );
        // The bounds themselves are accepted.
        ok(&dp(&format!("{key} = \"1ns\"")));
        ok(&dp(&format!("{key} = \"24h\"")));
    }
}

fn with_ports(ports: &str) -> String {
    doc("", ports)
}

#[test]
fn port_name_errors() {
    assert_eq!(
        invalid(
            &with_ports("[[port]]\nname = \"Outside\"\naddress = \"198.18.0.1/24\"\n"),
            "port[0].name"
        ),
        "port[0].name: \"Outside\" is not a valid name: use 1 to 32 characters from a-z, 0-9, '_' and '-'"
    );
    invalid(
        &with_ports("[[port]]\nname = \"\"\naddress = \"198.18.0.1/24\"\n"),
        "port[0].name",
    );
    invalid(
        &with_ports(&format!(
            "[[port]]\nname = \"{}\"\naddress = \"198.18.0.1/24\"\n",
            "a".repeat(33)
        )),
        "port[0].name",
    );
    assert_eq!(
        invalid(
            &with_ports("[[port]]\nname = \"inside\"\naddress = \"198.18.0.1/24\"\n[[port]]\nname = \"inside\"\naddress = \"198.19.0.1/24\"\n"),
            "port[1].name"
        ),
        "port[1].name: duplicate port name \"inside\" (port[0] has it too)"
    );
    assert_eq!(
        invalid(
            &with_ports("[[port]]\nname = 7\naddress = \"198.18.0.1/24\"\n"),
            "port[0].name"
        ),
        "port[0].name: expected a string, got integer 7"
    );
}

fn two_ports(second_address: &str) -> String {
    with_ports(&format!(
        "[[port]]\nname = \"outside\"\naddress = \"198.18.0.1/24\"\n[[port]]\nname = \"inside\"\naddress = \"{second_address}\"\n"
    ))
}

#[test]
fn port_address_errors() {
    let cases = [
        ("198.19.0.1", "port[1].address: \"198.19.0.1\" is not an IPv4 address with a prefix length (like 198.19.0.1/24)"),
        ("inside/24", "port[1].address: \"inside/24\" is not an IPv4 address with a prefix length (like 198.18.0.1/24)"),
        ("198.19.0.1/33", "port[1].address: \"198.19.0.1/33\" is not an IPv4 address with a prefix length (like 198.19.0.1/24)"),
        ("198.19.0.1/32", "port[1].address: prefix length must be between 1 and 31, got 32 (198.19.0.1/32)"),
        ("198.19.0.1/0", "port[1].address: prefix length must be between 1 and 31, got 0 (198.19.0.1/0)"),
        ("198.19.0.0/24", "port[1].address: 198.19.0.0 is the network address of 198.19.0.0/24; give the port a host address of the subnet"),
        ("198.19.0.255/24", "port[1].address: 198.19.0.255 is the broadcast address of 198.19.0.0/24; give the port a host address of the subnet"),
        ("127.0.0.2/8", "port[1].address: 127.0.0.2 is a loopback address"),
        ("224.0.0.5/24", "port[1].address: 224.0.0.5 is a multicast address"),
        ("198.18.0.1/24", "port[1].address: 198.18.0.1 is already the address of port[0] (\"outside\")"),
        ("198.18.0.2/24", "port[1].address: subnet 198.18.0.0/24 overlaps subnet 198.18.0.0/24 of port[0] (\"outside\"); every port needs a subnet of its own"),
        ("198.18.128.1/16", "port[1].address: subnet 198.18.0.0/16 overlaps subnet 198.18.0.0/24 of port[0] (\"outside\"); every port needs a subnet of its own"),
    ];
    for (address, want) in cases {
        assert_eq!(
            invalid(&two_ports(address), "port[1].address"),
            want,
            "{address}"
        );
    }
}

fn gateway(gw: &str) -> String {
    with_ports(&format!(
        "[[port]]\nname = \"outside\"\naddress = \"198.18.0.1/24\"\ngateway = \"{gw}\"\n"
    ))
}

#[test]
fn gateway_errors() {
    ok(&gateway("198.18.0.254"));
    let cases = [
        (
            "198.18.0",
            "port[0].gateway: \"198.18.0\" is not an IPv4 address (like 198.18.0.254)",
        ),
        (
            "10.0.0.1",
            "port[0].gateway: 10.0.0.1 is not inside the port's subnet 198.18.0.0/24",
        ),
        (
            "198.18.0.1",
            "port[0].gateway: 198.18.0.1 is the port's own address",
        ),
        (
            "198.18.0.0",
            "port[0].gateway: 198.18.0.0 is the network address of 198.18.0.0/24",
        ),
        (
            "198.18.0.255",
            "port[0].gateway: 198.18.0.255 is the broadcast address of 198.18.0.0/24",
        ),
    ];
    for (gw, want) in cases {
        assert_eq!(invalid(&gateway(gw), "port[0].gateway"), want, "{gw}");
    }
}

fn virtuals(virtuals: &str) -> String {
    doc("", &format!("{PORTS}{virtuals}"))
}

fn vip(name: &str, address: &str, port: Option<&str>) -> String {
    let port = port
        .map(|p| format!("port = \"{p}\"\n"))
        .unwrap_or_default();
    format!("[[virtual]]\nname = \"{name}\"\naddress = \"{address}\"\n{port}")
}

#[test]
fn virtual_errors() {
    let cases = [
        (vip("www", "198.18.0.100", None), "virtual[0].address", "virtual[0].address: \"198.18.0.100\" is not an IPv4 address with a TCP port (like 198.18.0.100:80)"),
        (vip("www", "198.18.0.100:http", None), "virtual[0].address", "virtual[0].address: \"198.18.0.100:http\" is not an IPv4 address with a TCP port (like 198.18.0.100:80)"),
        (vip("www", "198.18.0.100:65536", None), "virtual[0].address", "virtual[0].address: \"198.18.0.100:65536\" is not an IPv4 address with a TCP port (like 198.18.0.100:80)"),
        (vip("www", "198.18.0.100:0", None), "virtual[0].address", "virtual[0].address: TCP port must be between 1 and 65535, got 0 (198.18.0.100:0)"),
        (vip("www", "198.18.0.1:80", None), "virtual[0].address", "virtual[0].address: 198.18.0.1 is the address of port[0] (\"outside\"), a virtual needs an address of its own"),
        (vip("www", "198.19.0.255:80", None), "virtual[0].address", "virtual[0].address: 198.19.0.255 is the broadcast address of port[1] (\"inside\") subnet 198.19.0.0/24"),
        (vip("www", "127.0.0.1:80", Some("outside")), "virtual[0].address", "virtual[0].address: 127.0.0.1 is a loopback address"),
        (vip("www", "10.1.1.1:80", None), "virtual[0].address", "virtual[0].address: 10.1.1.1 is on no port's subnet; set virtual[0].port to the port that should answer ARP for it"),
        (vip("www", "198.18.0.100:80", Some("dmz")), "virtual[0].port", "virtual[0].port: no [[port]] named \"dmz\""),
        (vip("www", "198.18.0.100:80", Some("inside")), "virtual[0].port", "virtual[0].port: 198.18.0.100 is on the subnet 198.18.0.0/24 of port \"outside\", so only that port can answer ARP for it; set it to \"outside\" or leave it out"),
        (vip("Www", "198.18.0.100:80", None), "virtual[0].name", "virtual[0].name: \"Www\" is not a valid name: use 1 to 32 characters from a-z, 0-9, '_' and '-'"),
    ];
    for (v, key, want) in cases {
        assert_eq!(invalid(&virtuals(&v), key), want, "{v}");
    }
}

#[test]
fn max_request_head_errors() {
    let head = |value: &str| {
        virtuals(&format!(
            "{}{}max_request_head = {value}\n",
            vip("www", "198.18.0.100:80", None),
            vip("api", "198.18.0.100:8080", None)
        ))
    };
    let cases = [
        ("\"16 KB\"", "virtual[1].max_request_head: invalid size \"16 KB\": unknown unit \"KB\" (use B, KiB, MiB, kB or MB)"),
        ("\"16kib\"", "virtual[1].max_request_head: invalid size \"16kib\": unknown unit \"kib\" (use B, KiB, MiB, kB or MB)"),
        ("\"16384\"", "virtual[1].max_request_head: invalid size \"16384\": missing unit (use B, KiB, MiB, kB or MB)"),
        ("\"1.5KiB\"", "virtual[1].max_request_head: invalid size \"1.5KiB\": the number must be an integer; use a smaller unit (units: B, KiB, MiB, kB or MB)"),
        ("\"KiB\"", "virtual[1].max_request_head: invalid size \"KiB\": expected an integer followed by a unit, like \"16KiB\" (units: B, KiB, MiB, kB or MB)"),
        ("\"99999999999999999999B\"", "virtual[1].max_request_head: invalid size \"99999999999999999999B\": too large, the limit is 18446744073709551615 bytes"),
        ("-1", "virtual[1].max_request_head: invalid size -1: a size cannot be negative"),
        ("16.5", "virtual[1].max_request_head: expected a size like \"16KiB\" or an integer number of bytes, got float 16.5"),
        ("[16]", "virtual[1].max_request_head: expected a size like \"16KiB\" or an integer number of bytes, got an array"),
        ("0", "virtual[1].max_request_head: must be between 1KiB and 64KiB, got 0B"),
        ("1023", "virtual[1].max_request_head: must be between 1KiB and 64KiB, got 1023B"),
        ("\"1kB\"", "virtual[1].max_request_head: must be between 1KiB and 64KiB, got 1kB (1000 bytes)"),
        ("65537", "virtual[1].max_request_head: must be between 1KiB and 64KiB, got 65537B"),
        ("\"66kB\"", "virtual[1].max_request_head: must be between 1KiB and 64KiB, got 66kB (66000 bytes)"),
        ("\"1MiB\"", "virtual[1].max_request_head: must be between 1KiB and 64KiB, got 1MiB (1048576 bytes)"),
        ("\"0MiB\"", "virtual[1].max_request_head: must be between 1KiB and 64KiB, got 0B"),
    ];
    for (value, want) in cases {
        assert_eq!(
            invalid(&head(value), "virtual[1].max_request_head"),
            want,
            "{value}"
        );
    }
    // The bounds themselves, and every unit, are accepted.
    for (value, bytes) in [
        ("1024", 1024),
        ("65536", 65536),
        ("\"1KiB\"", 1024),
        ("\"64KiB\"", 65536),
        ("\"64 kB\"", 64000),
        ("\"2048B\"", 2048),
        ("\" 60 kB \"", 60000),
    ] {
        let c = ok(&head(value));
        assert_eq!(c.virtuals[1].max_request_head.bytes(), bytes, "{value}");
        assert_eq!(c.virtuals[0].max_request_head, defaults::MAX_REQUEST_HEAD);
    }
}

#[test]
fn duplicate_virtuals() {
    let s = virtuals(&format!(
        "{}{}",
        vip("www", "198.18.0.100:80", None),
        vip("www", "198.18.0.101:80", None)
    ));
    assert_eq!(
        invalid(&s, "virtual[1].name"),
        "virtual[1].name: duplicate virtual name \"www\" (virtual[0] has it too)"
    );
    let s = virtuals(&format!(
        "{}{}",
        vip("www", "198.18.0.100:80", None),
        vip("www2", "198.18.0.100:80", Some("outside"))
    ));
    assert_eq!(
        invalid(&s, "virtual[1].address"),
        "virtual[1].address: 198.18.0.100:80 is already used by virtual[0] (\"www\")"
    );
    // One address owned by two ports.
    let s = virtuals(&format!(
        "{}{}",
        vip("a", "10.9.9.9:80", Some("outside")),
        vip("b", "10.9.9.9:443", Some("inside"))
    ));
    assert_eq!(
        invalid(&s, "virtual[1].port"),
        "virtual[1].port: 10.9.9.9 is already answered by port \"outside\" for virtual[0] (\"a\"); every virtual on one address must use the same port"
    );
    // A port name and a virtual name may be equal; names of different kinds do not clash.
    ok(&virtuals(&vip("outside", "198.18.0.100:80", None)));
}

#[test]
fn validate_rejects_edited_configs() {
    let mut c = ok(DEMO);
    c.ports[1].name = "outside".into();
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "port[1].name: duplicate port name \"outside\" (port[0] has it too)"
    );
    let mut c = ok(DEMO);
    c.dataplane.stats_interval = Some(Duration::ZERO);
    assert_eq!(
        c.validate().unwrap_err().key(),
        Some("dataplane.stats_interval")
    );
    let mut c = ok(DEMO);
    c.dataplane.eal.clear();
    assert_eq!(c.validate().unwrap_err().key(), Some("dataplane.eal"));
    let mut c = ok(DEMO);
    c.dataplane.max_flows = 1024;
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "dataplane.max_half_open: must be at most dataplane.max_flows (1024), got 4096 (the default); set max_half_open too when max_flows is below 4096"
    );
    c.dataplane.max_half_open = 1024;
    assert_eq!(c.validate().unwrap(), ());
    c.dataplane.max_flows = 8 << 20;
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "dataplane.max_flows: must be between 1024 and 4194304, got 8388608"
    );
    let mut c = ok(DEMO);
    c.dataplane.max_half_open = 0;
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "dataplane.max_half_open: must be at least 16, got 0"
    );
    let mut c = ok(DEMO);
    c.dataplane.handshake_timeout = Duration::ZERO;
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "dataplane.handshake_timeout: must be greater than zero, like \"1s\""
    );
    let mut c = ok(DEMO);
    c.dataplane.client_idle_timeout = Duration::from_secs(2 * 24 * 3600);
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "dataplane.client_idle_timeout: must be at most 1day, got 2days"
    );
    let mut c = ok(DEMO);
    c.virtuals[0].max_request_head = ByteSize::kib(128);
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "virtual[0].max_request_head: must be between 1KiB and 64KiB, got 128KiB (131072 bytes)"
    );
    c.virtuals[0].max_request_head = ByteSize::kib(64);
    assert_eq!(c.validate().unwrap(), ());
}

// ---------------------------------------------------------------- control socket, metrics

#[test]
fn control_socket_and_metrics_defaults() {
    let c = ok(&dp(""));
    assert_eq!(
        c.dataplane.control_socket.as_deref(),
        Some(Path::new(defaults::CONTROL_SOCKET))
    );
    assert_eq!(defaults::CONTROL_SOCKET, "/run/splicer/splicer.sock");
    assert_eq!(c.dataplane.metrics, None);
    let text = toml::to_string(&c).unwrap();
    assert!(
        text.lines()
            .any(|l| l == "control_socket = \"/run/splicer/splicer.sock\""),
        "{text}"
    );
    assert!(!text.contains("metrics"), "{text}");
}

#[test]
fn control_socket_and_metrics_set() {
    let c = ok(&dp(
        "control_socket = \"/tmp/x/ctl.sock\"\nmetrics = \"127.0.0.1:9100\"",
    ));
    assert_eq!(
        c.dataplane.control_socket.as_deref(),
        Some(Path::new("/tmp/x/ctl.sock"))
    );
    assert_eq!(c.dataplane.metrics, Some("127.0.0.1:9100".parse().unwrap()));
    round_trip(&c);
    let c = ok(&dp("metrics = \"[::1]:9100\""));
    assert_eq!(c.dataplane.metrics, Some("[::1]:9100".parse().unwrap()));
    round_trip(&c);
}

#[test]
fn empty_control_socket_disables_it() {
    let c = ok(&dp("control_socket = \"\""));
    assert_eq!(c.dataplane.control_socket, None);
    round_trip(&c);
    assert!(toml::to_string(&c)
        .unwrap()
        .lines()
        .any(|l| l == "control_socket = \"\""));
}

#[test]
fn control_socket_errors() {
    const KEY: &str = "dataplane.control_socket";
    assert_eq!(
        invalid(&dp("control_socket = 5"), KEY),
        "dataplane.control_socket: expected a string, got integer 5"
    );
    assert_eq!(
        invalid(&dp("control_socket = \"splicer.sock\""), KEY),
        "dataplane.control_socket: \"splicer.sock\" is not an absolute path; give one like \"/run/splicer/splicer.sock\", or \"\" to disable the control socket"
    );
    assert_eq!(
        invalid(&dp("control_socket = \"/run/splicer/\""), KEY),
        "dataplane.control_socket: \"/run/splicer/\" names a directory; give the socket's file name too, like \"/run/splicer/splicer.sock\""
    );
    let long = format!("/{}", "a".repeat(110));
    assert_eq!(
        invalid(&dp(&format!("control_socket = \"{long}\"")), KEY),
        "dataplane.control_socket: is 111 bytes long; a Unix socket path can be at most 107 bytes"
    );
    // 107 bytes is still fine.
    ok(&dp(&format!("control_socket = \"/{}\"", "a".repeat(106))));
    let mut c = ok(&dp(""));
    c.dataplane.control_socket = Some("/run/a\0b".into());
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "dataplane.control_socket: must not contain a NUL character"
    );
}

#[test]
fn metrics_errors() {
    const KEY: &str = "dataplane.metrics";
    assert_eq!(
        invalid(&dp("metrics = 9100"), KEY),
        "dataplane.metrics: expected a string, got integer 9100"
    );
    for bad in [
        "127.0.0.1",
        "localhost:9100",
        "",
        ":9100",
        "127.0.0.1:99999",
    ] {
        assert_eq!(
            invalid(&dp(&format!("metrics = \"{bad}\"")), KEY),
            format!("dataplane.metrics: {bad:?} is not an address with a TCP port (like \"127.0.0.1:9100\"); leave the key out to disable metrics"),
        );
    }
    assert_eq!(
        invalid(&dp("metrics = \"127.0.0.1:0\""), KEY),
        "dataplane.metrics: TCP port must be between 1 and 65535, got 0 (127.0.0.1:0)"
    );
}

// ---------------------------------------------------------------- reals

const REALS: &str = r#"
[[real]]
name = "s1"
address = "198.19.0.11:80"

[[real]]
name = "s2"
address = "198.19.0.12:80"

[[real]]
name = "s3"
address = "198.19.0.13:80"
"#;

/// The standard ports and the three reals, then `rest`.
fn with_reals(rest: &str) -> String {
    doc("", &format!("{PORTS}{REALS}{rest}"))
}

/// The standard ports, the three reals and virtual `www` with `keys` appended to it
/// (more keys, then `[[virtual.rule]]` tables).
fn www(keys: &str) -> String {
    with_reals(&format!("{WWW}{keys}\n"))
}

/// The standard ports, one `[[real]]` with `keys`, and virtual `www`.
fn one_real(keys: &str) -> String {
    doc("", &format!("{PORTS}[[real]]\n{keys}\n{WWW}"))
}

#[test]
fn real_defaults_and_shared_addresses() {
    let c = ok(&one_real("name = \"s1\"\naddress = \"198.19.0.11:80\""));
    assert_eq!(
        c.reals,
        vec![Real {
            name: "s1".into(),
            address: "198.19.0.11:80".parse().unwrap(),
            weight: defaults::REAL_WEIGHT,
            pool: defaults::REAL_POOL,
            maxconns: defaults::REAL_MAXCONNS,
            state: ServiceState::InService,
            backup: None,
        }]
    );
    // Two reals on one address and port (say, two names for one server): accepted.
    let c = ok(&with_reals(
        "[[real]]\nname = \"s1-again\"\naddress = \"198.19.0.11:80\"\n",
    ));
    assert_eq!(c.reals[3].address, c.reals[0].address);
    // Reals need no virtual, and a virtual needs no real.
    assert_eq!(ok(&with_reals("")).virtuals, vec![]);
    // Bounds.
    ok(&one_real(
        "name = \"a\"\naddress = \"198.19.0.11:1\"\nweight = 0\npool = 0\nmaxconns = 1",
    ));
    ok(&one_real(
        "name = \"a\"\naddress = \"198.19.0.11:65535\"\nweight = 1000\npool = 1024\nmaxconns = 1024",
    ));
}

#[test]
fn real_beyond_a_gateway() {
    let gw = "[[port]]\nname = \"outside\"\naddress = \"198.18.0.1/24\"\n[[port]]\nname = \"inside\"\naddress = \"198.19.0.1/24\"\ngateway = \"198.19.0.254\"\n";
    let c = ok(&doc(
        "",
        &format!("{gw}[[real]]\nname = \"far\"\naddress = \"203.0.113.9:80\"\n"),
    ));
    assert_eq!(c.reals[0].address, "203.0.113.9:80".parse().unwrap());
    assert_eq!(
        invalid(
            &one_real("name = \"far\"\naddress = \"203.0.113.9:80\""),
            "real[0].address"
        ),
        "real[0].address: 203.0.113.9 is on no port's subnet and no port has a gateway, so Splicer cannot reach it; put the real on a port's subnet or give the port that leads to it a gateway"
    );
}

#[test]
fn real_errors() {
    let a = "address = \"198.19.0.11:80\"";
    let cases = [
        (format!("name = \"s 1\"\n{a}"), "real[0].name", "real[0].name: \"s 1\" is not a valid name: use 1 to 32 characters from A-Z, a-z, 0-9, '_', '.' and '-'".to_string()),
        (format!("name = \"{}\"\n{a}", "s".repeat(33)), "real[0].name", format!("real[0].name: \"{}\" is not a valid name: use 1 to 32 characters from A-Z, a-z, 0-9, '_', '.' and '-'", "s".repeat(33))),
        (format!("name = \"\"\n{a}"), "real[0].name", "real[0].name: \"\" is not a valid name: use 1 to 32 characters from A-Z, a-z, 0-9, '_', '.' and '-'".into()),
        (a.to_string(), "real[0].name", "real[0].name: missing; it is required, like name = \"s1\"".into()),
        (format!("name = 1\n{a}"), "real[0].name", "real[0].name: expected a string, got integer 1".into()),
        ("name = \"s1\"".into(), "real[0].address", "real[0].address: missing; it is required, like address = \"198.19.0.11:80\"".into()),
        ("name = \"s1\"\naddress = \"198.19.0.11\"".into(), "real[0].address", "real[0].address: \"198.19.0.11\" is not an IPv4 address with a TCP port (like 198.19.0.11:80)".into()),
        ("name = \"s1\"\naddress = \"server1:80\"".into(), "real[0].address", "real[0].address: \"server1:80\" is not an IPv4 address with a TCP port (like 198.19.0.11:80)".into()),
        ("name = \"s1\"\naddress = \"198.19.0.11:0\"".into(), "real[0].address", "real[0].address: TCP port must be between 1 and 65535, got 0 (198.19.0.11:0)".into()),
        ("name = \"s1\"\naddress = \"127.0.0.1:80\"".into(), "real[0].address", "real[0].address: 127.0.0.1 is a loopback address".into()),
        ("name = \"s1\"\naddress = \"198.19.0.1:80\"".into(), "real[0].address", "real[0].address: 198.19.0.1 is the address of port[1] (\"inside\"), one of Splicer's own; give the real server's address".into()),
        ("name = \"s1\"\naddress = \"198.18.0.100:8080\"".into(), "real[0].address", "real[0].address: 198.18.0.100 is the address of virtual[0] (\"www\"), one of Splicer's own; give the real server's address".into()),
        ("name = \"s1\"\naddress = \"198.19.0.255:80\"".into(), "real[0].address", "real[0].address: 198.19.0.255 is the broadcast address of port[1] (\"inside\") subnet 198.19.0.0/24".into()),
        ("name = \"s1\"\naddress = \"198.19.0.0:80\"".into(), "real[0].address", "real[0].address: 198.19.0.0 is the network address of port[1] (\"inside\") subnet 198.19.0.0/24".into()),
        (format!("name = \"s1\"\n{a}\nweight = 1001"), "real[0].weight", "real[0].weight: must be at most 1000, got 1001".into()),
        (format!("name = \"s1\"\n{a}\nweight = -1"), "real[0].weight", "real[0].weight: must be at most 1000, got -1".into()),
        (format!("name = \"s1\"\n{a}\nweight = 100000"), "real[0].weight", "real[0].weight: must be at most 1000, got 100000".into()),
        (format!("name = \"s1\"\n{a}\nweight = \"1\""), "real[0].weight", "real[0].weight: expected an integer, got string \"1\"".into()),
        (format!("name = \"s1\"\n{a}\npool = 1025"), "real[0].pool", "real[0].pool: must be at most 1024, got 1025".into()),
        (format!("name = \"s1\"\n{a}\npool = -4"), "real[0].pool", "real[0].pool: must be at most 1024, got -4".into()),
        (format!("name = \"s1\"\n{a}\nmaxconns = 0"), "real[0].maxconns", "real[0].maxconns: must be between 1 and 65535, got 0".into()),
        (format!("name = \"s1\"\n{a}\nmaxconns = 65536"), "real[0].maxconns", "real[0].maxconns: must be between 1 and 65535, got 65536".into()),
        (format!("name = \"s1\"\n{a}\nmaxconns = 1.5"), "real[0].maxconns", "real[0].maxconns: expected an integer, got float 1.5".into()),
        (format!("name = \"s1\"\n{a}\npool = 8\nmaxconns = 4"), "real[0].maxconns", "real[0].maxconns: must be at least real[0].pool (8), got 4; the pool's idle connections count towards maxconns".into()),
        // The default pool (4) counts too.
        (format!("name = \"s1\"\n{a}\nmaxconns = 2"), "real[0].maxconns", "real[0].maxconns: must be at least real[0].pool (4), got 2; the pool's idle connections count towards maxconns".into()),
    ];
    for (keys, key, want) in cases {
        assert_eq!(invalid(&one_real(&keys), key), want, "{keys}");
    }
    assert_eq!(
        invalid(
            &with_reals("[[real]]\nname = \"s2\"\naddress = \"198.19.0.14:80\"\n"),
            "real[3].name"
        ),
        "real[3].name: duplicate real name \"s2\" (real[1] has it too)"
    );
    // Real names are case-sensitive: S1 is not s1.
    ok(&with_reals(
        "[[real]]\nname = \"S1\"\naddress = \"198.19.0.14:80\"\n",
    ));
}

#[test]
fn real_shape_errors() {
    let s = one_real("name = \"s1\"\naddress = \"198.19.0.11:80\"\nspare = true");
    let line = s.lines().position(|l| l == "spare = true").unwrap() + 1;
    let m = toml_err(&s, "`spare`", line);
    assert!(
        m.contains(
            "unknown field `spare`, expected one of `name`, `address`, `weight`, `pool`, `maxconns`, `state`, `backup`"
        ),
        "{m}"
    );
    let s = doc(
        "",
        &format!("{PORTS}[real]\nname = \"s1\"\naddress = \"198.19.0.11:80\"\n"),
    );
    let line = s.lines().position(|l| l == "[real]").unwrap() + 1;
    let m = toml_err(&s, "[[real]]", line);
    assert!(
        m.contains("expected an array of tables, written [[real]]"),
        "{m}"
    );
}

// ---------------------------------------------------------------- virtual routing keys

#[test]
fn virtual_routing_defaults() {
    let c = ok(&www(""));
    let v = &c.virtuals[0];
    assert_eq!(v.mode, Mode::Splice);
    assert_eq!(v.predictor, Predictor::RoundRobin);
    assert!(v.bind.is_empty());
    assert!(v.rules.is_empty());
    let farm = c.farm();
    assert_eq!(farm.reals.len(), 3);
    assert_eq!(
        farm.virtuals,
        vec![VirtualPolicy {
            name: "www".into(),
            mode: balance::Mode::Splice,
            status: balance::Status::InService,
            backup: None,
            predictor: Predictor::RoundRobin,
            rules: vec![],
            bind: vec![],
        }]
    );
    let c = ok(&www(
        "mode = \"splice\"\npredictor = \"roundrobin\"\nbind = []",
    ));
    assert_eq!(c.virtuals[0], v.clone());
}

#[test]
fn mode_and_predictor_errors() {
    // "redirect" is a mode now (see the redirect tests); an unknown one is refused.
    assert_eq!(
        ok(&www("mode = \"redirect\"")).virtuals[0].mode,
        Mode::Redirect
    );
    assert_eq!(
        invalid(&www("mode = \"proxy\""), "virtual[0].mode"),
        "virtual[0].mode: unknown mode \"proxy\"; accepted values: splice, redirect"
    );
    assert_eq!(
        invalid(&www("mode = \"Splice\""), "virtual[0].mode"),
        "virtual[0].mode: unknown mode \"Splice\"; accepted values: splice, redirect"
    );
    assert_eq!(
        invalid(&www("mode = 1"), "virtual[0].mode"),
        "virtual[0].mode: expected a string, got integer 1"
    );
    assert_eq!(
        invalid(&www("predictor = \"leastconns\""), "virtual[0].predictor"),
        format!(
            "virtual[0].predictor: unknown predictor \"leastconns\"; accepted values: {}",
            Predictor::NAMES.join(", ")
        )
    );
    assert_eq!(
        invalid(&www("predictor = \"leastconns\""), "virtual[0].predictor"),
        "virtual[0].predictor: unknown predictor \"leastconns\"; accepted values: roundrobin"
    );
    assert_eq!(
        invalid(&www("predictor = true"), "virtual[0].predictor"),
        "virtual[0].predictor: expected a string, got boolean true"
    );
}

#[test]
fn bind_errors() {
    let cases = [
        ("bind = [\"s1\", \"s9\"]", "virtual[0].bind", "virtual[0].bind: real s9 does not exist"),
        ("bind = [\"s1\", \"s2\", \"s1\"]", "virtual[0].bind", "virtual[0].bind: real s1 is listed twice"),
        ("bind = [\"S1\"]", "virtual[0].bind", "virtual[0].bind: real S1 does not exist"),
        ("bind = \"s1\"", "virtual[0].bind", "virtual[0].bind: expected an array of [[real]] names (like [\"s1\", \"s2\"]), got string \"s1\""),
        ("bind = [\"s1\", 2]", "virtual[0].bind[1]", "virtual[0].bind[1]: expected a string (the name of a [[real]]), got integer 2"),
    ];
    for (keys, key, want) in cases {
        assert_eq!(invalid(&www(keys), key), want, "{keys}");
    }
    // No [[real]] at all.
    assert_eq!(
        invalid(
            &dp("").replace(WWW, &format!("{WWW}bind = [\"s1\"]\n")),
            "virtual[0].bind"
        ),
        "virtual[0].bind: real s1 does not exist"
    );
    // The second virtual's key.
    assert_eq!(
        invalid(
            &www(&format!(
                "bind = [\"s1\"]\n{}bind = [\"s4\"]\n",
                vip("api", "198.18.0.100:8080", None)
            )),
            "virtual[1].bind"
        ),
        "virtual[1].bind: real s4 does not exist"
    );
}

// ---------------------------------------------------------------- rules

/// Virtual `www` (bound to s1) with one `[[virtual.rule]]` of `keys`.
fn rule(keys: &str) -> String {
    www(&format!("bind = [\"s1\"]\n[[virtual.rule]]\n{keys}"))
}

#[test]
fn rule_defaults_and_every_matcher() {
    let c = ok(&www(r#"bind = ["s1", "s3"]
[[virtual.rule]]
path_prefix = "/img/"
bind = ["s2"]
[[virtual.rule]]
name = "jpg.v2"
path_suffix = ".jpg"
bind = ["s2", "s3"]
[[virtual.rule]]
host = "api.example"
bind = ["s3"]
[[virtual.rule]]
method = "POST"
bind = ["s1"]
[[virtual.rule]]
header = { name = "X-Tenant", value = "blue" }
bind = ["s1"]
"#));
    let names: Vec<_> = c.virtuals[0]
        .rules
        .iter()
        .map(|r| r.name.as_str())
        .collect();
    assert_eq!(names, ["rule1", "jpg.v2", "rule3", "rule4", "rule5"]);
    let rules: Vec<_> = c.farm().virtuals[0]
        .rules
        .iter()
        .map(|r| r.rule.clone())
        .collect();
    assert_eq!(
        rules,
        vec![
            HttpRule::new(vec![Matcher::PathPrefix("/img/".into())]),
            HttpRule::new(vec![Matcher::PathSuffix(".jpg".into())]),
            HttpRule::new(vec![Matcher::Host("api.example".into())]),
            HttpRule::new(vec![Matcher::Method(Method::Post)]),
            HttpRule::new(vec![Matcher::Header {
                name: "X-Tenant".into(),
                value: "blue".into()
            }]),
        ]
    );
    round_trip(&c);
    // Every method with a variant of its own.
    for m in [
        "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE",
    ] {
        let c = ok(&rule(&format!("method = \"{m}\"\nbind = [\"s2\"]")));
        let got = c.virtuals[0].rules[0].method.unwrap();
        assert_eq!(got.as_str(), Some(m));
        round_trip(&c);
    }
    // An empty header value is a value.
    ok(&rule(
        "header = { name = \"X-Empty\", value = \"\" }\nbind = [\"s2\"]",
    ));
}

#[test]
fn rule_errors() {
    const METHODS: &str = "accepted values: GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH, TRACE";
    let cases: Vec<(&str, &str, String)> = vec![
        ("name = \"img\"\nbind = [\"s2\"]", "virtual[0].rule[0]", "virtual[0].rule[0]: rule img has no condition; put its reals in the virtual's bind list".into()),
        ("bind = [\"s2\"]", "virtual[0].rule[0]", "virtual[0].rule[0]: rule rule1 has no condition; put its reals in the virtual's bind list".into()),
        ("name = \"a b\"\nhost = \"x\"\nbind = [\"s2\"]", "virtual[0].rule[0].name", "virtual[0].rule[0].name: \"a b\" is not a valid name: use 1 to 32 characters from A-Z, a-z, 0-9, '_', '.' and '-'".into()),
        ("name = 3\nhost = \"x\"\nbind = [\"s2\"]", "virtual[0].rule[0].name", "virtual[0].rule[0].name: expected a string, got integer 3".into()),
        ("path_prefix = \"\"\nbind = [\"s2\"]", "virtual[0].rule[0].path_prefix", "virtual[0].rule[0].path_prefix: must not be empty, like \"/img/\"".into()),
        ("path_prefix = \"img/\"\nbind = [\"s2\"]", "virtual[0].rule[0].path_prefix", "virtual[0].rule[0].path_prefix: \"img/\" must start with '/', like \"/img/\"".into()),
        ("path_prefix = \"/a b\"\nbind = [\"s2\"]", "virtual[0].rule[0].path_prefix", "virtual[0].rule[0].path_prefix: \"/a b\" contains a space or a control character, which a request path never has".into()),
        ("path_prefix = \"/a?b=1\"\nbind = [\"s2\"]", "virtual[0].rule[0].path_prefix", "virtual[0].rule[0].path_prefix: \"/a?b=1\" contains '?' or '#'; the path is matched without its query".into()),
        ("path_prefix = [\"/a\"]\nbind = [\"s2\"]", "virtual[0].rule[0].path_prefix", "virtual[0].rule[0].path_prefix: expected a string, got an array".into()),
        ("path_suffix = \"\"\nbind = [\"s2\"]", "virtual[0].rule[0].path_suffix", "virtual[0].rule[0].path_suffix: must not be empty, like \".jpg\"".into()),
        ("path_suffix = \".jpg\\t\"\nbind = [\"s2\"]", "virtual[0].rule[0].path_suffix", "virtual[0].rule[0].path_suffix: \".jpg\\t\" contains a space or a control character, which a request path never has".into()),
        ("host = \"\"\nbind = [\"s2\"]", "virtual[0].rule[0].host", "virtual[0].rule[0].host: must not be empty, like \"api.example\"".into()),
        ("host = \"api example\"\nbind = [\"s2\"]", "virtual[0].rule[0].host", "virtual[0].rule[0].host: \"api example\" is not a host name (like \"api.example\")".into()),
        ("method = \"get\"\nbind = [\"s2\"]", "virtual[0].rule[0].method", format!("virtual[0].rule[0].method: methods are case-sensitive, write \"GET\"; {METHODS}")),
        ("method = \"PROPFIND\"\nbind = [\"s2\"]", "virtual[0].rule[0].method", format!("virtual[0].rule[0].method: \"PROPFIND\" is not a method a rule can match; {METHODS}")),
        ("method = \"CONNECT\"\nbind = [\"s2\"]", "virtual[0].rule[0].method", format!("virtual[0].rule[0].method: CONNECT requests are always refused (501), so a rule for them would never match; {METHODS}")),
        ("method = \"connect\"\nbind = [\"s2\"]", "virtual[0].rule[0].method", format!("virtual[0].rule[0].method: CONNECT requests are always refused (501), so a rule for them would never match; {METHODS}")),
        ("method = \"Post\"\nbind = [\"s2\"]", "virtual[0].rule[0].method", format!("virtual[0].rule[0].method: methods are case-sensitive, write \"POST\"; {METHODS}")),
        ("method = \"GET /\"\nbind = [\"s2\"]", "virtual[0].rule[0].method", "virtual[0].rule[0].method: \"GET /\" is not an HTTP method token (like \"GET\")".into()),
        ("method = \"\"\nbind = [\"s2\"]", "virtual[0].rule[0].method", "virtual[0].rule[0].method: \"\" is not an HTTP method token (like \"GET\")".into()),
        ("header = { name = \"X Tenant\", value = \"blue\" }\nbind = [\"s2\"]", "virtual[0].rule[0].header.name", "virtual[0].rule[0].header.name: \"X Tenant\" is not a header field name (like \"X-Tenant\")".into()),
        ("header = { name = \"\", value = \"blue\" }\nbind = [\"s2\"]", "virtual[0].rule[0].header.name", "virtual[0].rule[0].header.name: \"\" is not a header field name (like \"X-Tenant\")".into()),
        ("header = { name = \"X-Tenant\" }\nbind = [\"s2\"]", "virtual[0].rule[0].header.value", "virtual[0].rule[0].header.value: missing; it is required, like header = { name = \"X-Tenant\", value = \"blue\" }".into()),
        ("header = { value = \"blue\" }\nbind = [\"s2\"]", "virtual[0].rule[0].header.name", "virtual[0].rule[0].header.name: missing; it is required, like header = { name = \"X-Tenant\", value = \"blue\" }".into()),
        ("header = { name = \"X-Tenant\", value = 5 }\nbind = [\"s2\"]", "virtual[0].rule[0].header.value", "virtual[0].rule[0].header.value: expected a string, got integer 5".into()),
        ("header = { name = \"X-Tenant\", value = \" blue\" }\nbind = [\"s2\"]", "virtual[0].rule[0].header.value", "virtual[0].rule[0].header.value: \" blue\" starts or ends with whitespace; the request's value is compared without it, so this would never match".into()),
        ("header = { name = \"X-Tenant\", value = \"a\\nb\" }\nbind = [\"s2\"]", "virtual[0].rule[0].header.value", "virtual[0].rule[0].header.value: \"a\\nb\" contains a control character".into()),
        ("host = \"x\"", "virtual[0].rule[0].bind", "virtual[0].rule[0].bind: missing; it is required, like bind = [\"s2\"]".into()),
        ("host = \"x\"\nbind = []", "virtual[0].rule[0].bind", "virtual[0].rule[0].bind: must name at least one real, like bind = [\"s2\"]".into()),
        ("host = \"x\"\nbind = [\"s9\"]", "virtual[0].rule[0].bind", "virtual[0].rule[0].bind: real s9 does not exist".into()),
        ("host = \"x\"\nbind = [\"s2\", \"s3\", \"s2\"]", "virtual[0].rule[0].bind", "virtual[0].rule[0].bind: real s2 is listed twice".into()),
        ("host = \"x\"\nbind = \"s2\"", "virtual[0].rule[0].bind", "virtual[0].rule[0].bind: expected an array of [[real]] names (like [\"s1\", \"s2\"]), got string \"s2\"".into()),
    ];
    for (keys, key, want) in cases {
        assert_eq!(invalid(&rule(keys), key), want, "{keys}");
    }
}

#[test]
fn rule_names_are_unique_within_a_virtual() {
    let two = |first: &str, second: &str| {
        www(&format!(
            "[[virtual.rule]]\n{first}host = \"a\"\nbind = [\"s1\"]\n[[virtual.rule]]\n{second}host = \"b\"\nbind = [\"s2\"]\n"
        ))
    };
    assert_eq!(
        invalid(
            &two("name = \"img\"\n", "name = \"img\"\n"),
            "virtual[0].rule[1].name"
        ),
        "virtual[0].rule[1].name: duplicate rule name \"img\" (rule[0] has it too)"
    );
    // An explicit name that is another rule's default name.
    assert_eq!(
        invalid(&two("name = \"rule2\"\n", ""), "virtual[0].rule[1].name"),
        "virtual[0].rule[1].name: duplicate rule name \"rule2\" (rule[0] has it too); a rule without a name is called rule<N>, N its position from 1"
    );
    ok(&two("name = \"rule1\"\n", ""));
    // The same rule name in two virtuals is fine.
    let c = ok(&www(&format!(
        "[[virtual.rule]]\nname = \"img\"\nhost = \"a\"\nbind = [\"s1\"]\n{}[[virtual.rule]]\nname = \"img\"\nhost = \"b\"\nbind = [\"s2\"]\n",
        vip("api", "198.18.0.100:8080", None)
    )));
    assert_eq!(c.virtuals[1].rules[0].name, "img");
}

#[test]
fn rule_shape_errors() {
    let s = rule("path = \"/x\"\nbind = [\"s2\"]");
    let line = s.lines().position(|l| l == "path = \"/x\"").unwrap() + 1;
    let m = toml_err(&s, "`path`", line);
    assert!(
        m.contains("unknown field `path`, expected one of `name`, `path_prefix`, `path_suffix`, `host`, `method`, `header`, `bind`"),
        "{m}"
    );
    let s = rule("header = { name = \"a\", value = \"b\", regex = true }\nbind = [\"s2\"]");
    let line = s.lines().position(|l| l.starts_with("header =")).unwrap() + 1;
    let m = toml_err(&s, "`regex`", line);
    assert!(
        m.contains("unknown field `regex`, expected `name` or `value`"),
        "{m}"
    );
    let s = rule("header = \"X-Tenant: blue\"\nbind = [\"s2\"]");
    let line = s.lines().position(|l| l.starts_with("header =")).unwrap() + 1;
    let m = toml_err(&s, "header", line);
    assert!(
        m.contains("expected a table like { name = \"X-Tenant\", value = \"blue\" }"),
        "{m}"
    );
    let s = www("[virtual.rule]\nhost = \"a\"\nbind = [\"s1\"]");
    let line = s.lines().position(|l| l == "[virtual.rule]").unwrap() + 1;
    let m = toml_err(&s, "[virtual.rule]", line);
    assert!(
        m.contains("expected an array of tables, written [[virtual.rule]]"),
        "{m}"
    );
}

// ---------------------------------------------------------------- farm

#[test]
fn demo_farm() {
    let farm = ok(DEMO).farm();
    let real = |name: &str, last: u8| balance::Real {
        name: name.into(),
        status: balance::Status::InService,
        backup: None,
        address: SocketAddrV4::new(Ipv4Addr::new(198, 19, 0, last), 80),
        weight: 1,
        pool: 4,
        maxconns: 64,
    };
    assert_eq!(
        farm,
        Farm {
            reals: vec![real("s1", 11), real("s2", 12), real("s3", 13)],
            virtuals: vec![VirtualPolicy {
                name: "www".into(),
                mode: balance::Mode::Splice,
                status: balance::Status::InService,
                backup: None,
                predictor: Predictor::RoundRobin,
                rules: vec![RuleRoute {
                    name: "img".into(),
                    rule: HttpRule::new(vec![Matcher::PathPrefix("/img/".into())]),
                    members: vec![1],
                }],
                bind: vec![0, 1, 2],
            }],
            urls: Vec::new(),
        }
    );
}

const FULL: &str = r#"
[dataplane]
eal = ["-l", "0-1", "--no-huge"]
connect_timeout = "1s"

[[port]]
name = "outside"
address = "198.18.0.1/24"

[[port]]
name = "inside"
address = "198.19.0.1/24"
gateway = "198.19.0.254"

[[real]]
name = "s1"
address = "198.19.0.11:80"

[[real]]
name = "s2"
address = "198.19.0.12:80"
weight = 3
pool = 0
maxconns = 10

[[real]]
name = "remote"
address = "203.0.113.20:8080"
weight = 0
pool = 2
maxconns = 2

[[virtual]]
name = "www"
address = "198.18.0.100:80"
mode = "splice"
predictor = "roundrobin"
bind = ["s2", "s1"]

[[virtual.rule]]
name = "img"
path_prefix = "/img/"
path_suffix = ".jpg"
bind = ["s2"]

[[virtual.rule]]
host = "api.example"
method = "GET"
header = { name = "X-Tenant", value = "blue" }
bind = ["remote", "s1"]

[[virtual]]
name = "empty"
address = "198.18.0.101:80"

[[virtual]]
name = "rules-only"
address = "198.18.0.100:8080"

[[virtual.rule]]
method = "DELETE"
bind = ["s1"]
"#;

#[test]
fn full_example_farm() {
    let c = ok(FULL);
    let farm = c.farm();
    assert_eq!(
        farm.reals,
        vec![
            balance::Real {
                name: "s1".into(),
                status: balance::Status::InService,
                backup: None,
                address: "198.19.0.11:80".parse().unwrap(),
                weight: 1,
                pool: 4,
                maxconns: 64,
            },
            balance::Real {
                name: "s2".into(),
                status: balance::Status::InService,
                backup: None,
                address: "198.19.0.12:80".parse().unwrap(),
                weight: 3,
                pool: 0,
                maxconns: 10,
            },
            balance::Real {
                name: "remote".into(),
                status: balance::Status::InService,
                backup: None,
                address: "203.0.113.20:8080".parse().unwrap(),
                weight: 0,
                pool: 2,
                maxconns: 2,
            },
        ]
    );
    assert_eq!(
        farm.virtuals,
        vec![
            VirtualPolicy {
                name: "www".into(),
                mode: balance::Mode::Splice,
                status: balance::Status::InService,
                backup: None,
                predictor: Predictor::RoundRobin,
                rules: vec![
                    RuleRoute {
                        name: "img".into(),
                        rule: HttpRule::new(vec![
                            Matcher::PathPrefix("/img/".into()),
                            Matcher::PathSuffix(".jpg".into()),
                        ]),
                        members: vec![1],
                    },
                    RuleRoute {
                        name: "rule2".into(),
                        rule: HttpRule::new(vec![
                            Matcher::Host("api.example".into()),
                            Matcher::Method(Method::Get),
                            Matcher::Header {
                                name: "X-Tenant".into(),
                                value: "blue".into(),
                            },
                        ]),
                        members: vec![2, 0],
                    },
                ],
                bind: vec![1, 0],
            },
            VirtualPolicy {
                name: "empty".into(),
                mode: balance::Mode::Splice,
                status: balance::Status::InService,
                backup: None,
                predictor: Predictor::RoundRobin,
                rules: vec![],
                bind: vec![],
            },
            VirtualPolicy {
                name: "rules-only".into(),
                mode: balance::Mode::Splice,
                status: balance::Status::InService,
                backup: None,
                predictor: Predictor::RoundRobin,
                rules: vec![RuleRoute {
                    name: "rule1".into(),
                    rule: HttpRule::new(vec![Matcher::Method(Method::Delete)]),
                    members: vec![0],
                }],
                bind: vec![],
            },
        ]
    );
    assert_eq!(c.dataplane.connect_timeout, Duration::from_secs(1));
    round_trip(&c);
    assert_eq!(ok(&toml::to_string(&c).unwrap()).farm(), farm);

    // The farm routes requests the way docs/CONFIGURATION.md says.
    let head = |req: &str| match splicer_http::parse_head(req.as_bytes(), 16384) {
        splicer_http::HeadStatus::Complete(h) => h,
        other => panic!("{other:?}"),
    };
    let route = |v: u16, req: &str| farm.route(v, &head(req)).map(|(r, set)| (r, set.to_vec()));
    assert_eq!(
        route(0, "GET /img/a.jpg HTTP/1.1\r\nHost: www\r\n\r\n"),
        Some((Route::Rule(0), vec![1]))
    );
    assert_eq!(
        route(0, "GET /img/a.png HTTP/1.1\r\nHost: www\r\n\r\n"),
        Some((Route::Bind, vec![1, 0]))
    );
    assert_eq!(
        route(
            0,
            "GET /x HTTP/1.1\r\nHost: API.example:80\r\nX-Tenant: blue\r\n\r\n"
        ),
        Some((Route::Rule(1), vec![2, 0]))
    );
    assert_eq!(
        route(
            0,
            "POST /x HTTP/1.1\r\nHost: api.example\r\nX-Tenant: blue\r\nContent-Length: 0\r\n\r\n"
        ),
        Some((Route::Bind, vec![1, 0]))
    );
    assert_eq!(
        route(1, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        Some((Route::Bind, vec![]))
    );
    assert_eq!(
        route(2, "DELETE /a HTTP/1.1\r\nHost: x\r\n\r\n"),
        Some((Route::Rule(0), vec![0]))
    );
    assert_eq!(route(3, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), None);
}

#[test]
fn validate_rejects_edited_routing() {
    let mut c = ok(DEMO);
    c.virtuals[0].rules[0].method = Some(Method::Other);
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "virtual[0].rule[0].method: \"\" is not a method a rule can match; accepted values: GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH, TRACE"
    );
    let mut c = ok(DEMO);
    c.virtuals[0].rules[0].bind.clear();
    assert_eq!(
        c.validate().unwrap_err().key(),
        Some("virtual[0].rule[0].bind")
    );
    let mut c = ok(DEMO);
    c.virtuals[0].rules.push(Rule::new("any", strings(&["s1"])));
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "virtual[0].rule[1]: rule any has no condition; put its reals in the virtual's bind list"
    );
    let mut c = ok(DEMO);
    c.reals[2].pool = 2000;
    c.reals[2].maxconns = 2000;
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "real[2].pool: must be at most 1024, got 2000"
    );
    let mut c = ok(DEMO);
    c.reals[1].maxconns = 0;
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "real[1].maxconns: must be between 1 and 65535, got 0"
    );
    let mut c = ok(DEMO);
    c.reals.remove(1);
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "virtual[0].bind: real s2 does not exist"
    );
    let mut c = ok(DEMO);
    c.reals.truncate(1);
    c.reals[0].weight = 0;
    c.virtuals[0].bind = strings(&["s1"]);
    c.virtuals[0].rules[0].bind = strings(&["s1"]);
    assert_eq!(c.validate().unwrap(), ());
}

#[test]
#[should_panic(expected = "bind: s2 does not exist (the configuration was not validated)")]
fn farm_panics_on_unvalidated_config() {
    let mut c = ok(DEMO);
    c.reals.remove(1);
    c.farm();
}

// ---------------------------------------------------------------- redirect, URLs, DIPs

/// Every new key of seed 003's redirect set-up, most of them away from their default.
const REDIRECT: &str = r#"
[dataplane]
eal = ["-l", "0-1", "--no-huge"]

[[port]]
name = "outside"
address = "198.18.0.1/24"

[[port]]
name = "inside"
address = "198.19.0.1/24"

[[real]]
name = "coyote-srv"
address = "198.19.0.11:80"
state = "sticky"
backup = "acme"

[[real]]
name = "roadrunner-srv"
address = "198.19.0.12:8080"
weight = 3
backup = "book"

[[real]]
name = "spare"
address = "198.19.0.13:80"
state = "in-service"

[[virtual]]
name = "acme"
address = "198.18.0.100:80"
mode = "redirect"
bind = ["coyote", "roadrunner"]
state = "maintenance"
backup = "book"

[[virtual.rule]]
name = "old"
path_prefix = "/old/"
bind = ["book"]

[[virtual]]
name = "direct"
address = "198.18.0.100:8080"
bind = ["coyote-srv", "spare"]
state = "failed"
backup = "spare"

[[url]]
name = "coyote"
url = "http://coyote.acme.example/%d"
link = "198.19.0.11"

[[url]]
name = "roadrunner"
url = "https://%h:%s/rr/%d?x=%%"
code = 307
weight = 0
link = "acme"
state = "oos"

[[url]]
name = "book"
url = "http://www.book.example"
code = 301

[[dip]]
address = "198.19.0.11"
port = "outside"

[[dip]]
address = "198.19.0.12"
port = "inside"
"#;

#[test]
fn redirect_keys() {
    let c = ok(REDIRECT);
    assert_eq!(c.reals[0].state, ServiceState::Sticky);
    assert_eq!(c.reals[0].backup.as_deref(), Some("acme"));
    assert_eq!(c.reals[1].state, ServiceState::InService);
    assert_eq!(c.reals[2].backup, None);
    let acme = &c.virtuals[0];
    assert_eq!(acme.mode, Mode::Redirect);
    assert_eq!(acme.bind, strings(&["coyote", "roadrunner"]));
    assert_eq!(acme.rules[0].bind, strings(&["book"]));
    assert_eq!(acme.state, ServiceState::Maintenance);
    assert_eq!(c.virtuals[1].state, ServiceState::Failed);
    assert_eq!(
        c.urls,
        vec![
            Url {
                link: Some("198.19.0.11".into()),
                ..Url::new("coyote", "http://coyote.acme.example/%d")
            },
            Url {
                name: "roadrunner".into(),
                url: "https://%h:%s/rr/%d?x=%%".into(),
                code: 307,
                weight: 0,
                link: Some("acme".into()),
                state: ServiceState::OutOfService,
            },
            Url {
                code: 301,
                ..Url::new("book", "http://www.book.example")
            },
        ]
    );
    assert_eq!(
        c.dips,
        vec![
            Dip {
                address: Ipv4Addr::new(198, 19, 0, 11),
                port: "outside".into()
            },
            Dip {
                address: Ipv4Addr::new(198, 19, 0, 12),
                port: "inside".into()
            },
        ]
    );
    assert_eq!(c.dip_real(1), 1);
    assert_eq!(c.dip_socket(1), "198.19.0.12:8080".parse().unwrap());
    assert_eq!(c.find_dip("198.19.0.12:8080"), Some(1));
    assert_eq!(c.find_dip("198.19.0.12:80"), None);
    assert_eq!(c.find_dip("198.19.0.11"), Some(0));
    // Defaults.
    assert_eq!(defaults::URL_CODE, 302);
    assert_eq!(defaults::URL_WEIGHT, 1);
    assert_eq!(defaults::STATE, ServiceState::InService);
    let u = Url::new("x", "http://x");
    assert_eq!(
        (u.code, u.weight, u.state),
        (302, 1, ServiceState::InService)
    );
}

#[test]
fn redirect_round_trip() {
    let c = ok(REDIRECT);
    round_trip(&c);
    let text = c.to_toml();
    assert_eq!(Config::from_toml_str(&text).unwrap(), c);
    for line in [
        "state = \"sticky\"",
        "state = \"maintenance\"",
        "state = \"failed\"",
        "state = \"oos\"",
        "backup = \"acme\"",
        "mode = \"redirect\"",
        "[[url]]",
        "url = \"https://%h:%s/rr/%d?x=%%\"",
        "code = 307",
        "code = 302",
        "link = \"198.19.0.11\"",
        "[[dip]]",
        "address = \"198.19.0.11\"",
        "port = \"inside\"",
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?} in:\n{text}");
    }
    // In service is the default, and not written.
    assert!(!text.contains("in-service"), "{text}");
    // Nor are the new keys of a file without them.
    let demo = ok(DEMO).to_toml();
    for key in ["state", "backup", "link", "[[url]]", "[[dip]]"] {
        assert!(!demo.contains(key), "{key} in:\n{demo}");
    }
    assert_eq!(demo, toml::to_string(&ok(DEMO)).unwrap());
}

#[test]
fn state_names() {
    for (i, name) in ServiceState::NAMES.iter().enumerate() {
        let s = ServiceState::from_name(name).unwrap();
        assert_eq!(s.name(), *name);
        let c = ok(&one_real(&format!(
            "name = \"s1\"\naddress = \"198.19.0.11:80\"\nstate = \"{name}\""
        )));
        assert_eq!(c.reals[0].state, s);
        assert_eq!(s.is_in_service(), i == 0);
        round_trip(&c);
    }
    assert_eq!(ServiceState::from_name("out-of-service"), None);
    let real = |keys: &str| {
        one_real(&format!(
            "name = \"s1\"\naddress = \"198.19.0.11:80\"\n{keys}"
        ))
    };
    assert_eq!(
        invalid(&real("state = \"out-of-service\""), "real[0].state"),
        "real[0].state: unknown state \"out-of-service\"; out of service is written \"oos\"; accepted values: in-service, oos, maintenance, sticky, failed"
    );
    assert_eq!(
        invalid(&real("state = \"down!\""), "real[0].state"),
        "real[0].state: unknown state \"down!\"; accepted values: in-service, oos, maintenance, sticky, failed"
    );
    assert_eq!(
        invalid(&real("state = false"), "real[0].state"),
        "real[0].state: expected a string, got boolean false"
    );
    assert_eq!(
        invalid(&real("backup = 1"), "real[0].backup"),
        "real[0].backup: expected a string, got integer 1"
    );
    assert_eq!(
        invalid(&www("state = \"Sticky\""), "virtual[0].state"),
        "virtual[0].state: unknown state \"Sticky\"; accepted values: in-service, oos, maintenance, sticky, failed"
    );
    assert_eq!(
        invalid(&www("backup = [\"s1\"]"), "virtual[0].backup"),
        "virtual[0].backup: expected a string, got an array"
    );
}

/// The standard ports, the three reals, then `rest`.
fn acme(rest: &str) -> String {
    with_reals(rest)
}

const COYOTE: &str = "[[url]]\nname = \"coyote\"\nurl = \"http://coyote.acme.example\"\n";

#[test]
fn url_errors() {
    let url = |keys: &str| acme(&format!("[[url]]\n{keys}\n"));
    let u = "name = \"coyote\"";
    let cases: Vec<(String, &str, String)> = vec![
        ("url = \"http://x\"".into(), "url[0].name", "url[0].name: missing; it is required, like name = \"coyote\"".into()),
        (u.into(), "url[0].url", "url[0].url: missing; it is required, like url = \"http://coyote.acme.example/%d\"".into()),
        ("name = \"a b\"\nurl = \"http://x\"".into(), "url[0].name", "url[0].name: \"a b\" is not a valid name: use 1 to 32 characters from A-Z, a-z, 0-9, '_', '.' and '-'".into()),
        (format!("{u}\nurl = 5"), "url[0].url", "url[0].url: expected a string, got integer 5".into()),
        (format!("{u}\nurl = \"ftp://x\""), "url[0].url", "url[0].url: \"ftp://x\" must start with http:// or https://, like \"http://coyote.acme.example/%d\"".into()),
        (format!("{u}\nurl = \"HTTP://x\""), "url[0].url", "url[0].url: \"HTTP://x\" must start with http:// or https://, like \"http://coyote.acme.example/%d\"".into()),
        (format!("{u}\nurl = \"coyote.acme.example\""), "url[0].url", "url[0].url: \"coyote.acme.example\" must start with http:// or https://, like \"http://coyote.acme.example/%d\"".into()),
        (format!("{u}\nurl = \"http://{}\"", "a".repeat(506)), "url[0].url", "url[0].url: is 513 bytes long; a URL can be at most 512 bytes".into()),
        (format!("{u}\nurl = \"http://a b\""), "url[0].url", "url[0].url: \"http://a b\" contains a space or a control character; write them %-encoded (%%20)".into()),
        (format!("{u}\nurl = \"http://a\\tb\""), "url[0].url", "url[0].url: \"http://a\\tb\" contains a space or a control character; write them %-encoded (%%20)".into()),
        (format!("{u}\nurl = \"http://a\\u007f\""), "url[0].url", "url[0].url: \"http://a\\u{7f}\" contains a space or a control character; write them %-encoded (%%20)".into()),
        (format!("{u}\nurl = \"http://\""), "url[0].url", "url[0].url: \"http://\" has no host after the scheme (%h stands for the request's host)".into()),
        (format!("{u}\nurl = \"https:///x\""), "url[0].url", "url[0].url: \"https:///x\" has no host after the scheme (%h stands for the request's host)".into()),
        (format!("{u}\nurl = \"http://x/a%20b\""), "url[0].url", "url[0].url: \"http://x/a%20b\" has an unknown macro %2; the macros are %h (the request's host), %s (its port), %d (its document) and %% (a %)".into()),
        (format!("{u}\nurl = \"http://x/%\""), "url[0].url", "url[0].url: \"http://x/%\" has an unknown macro %; the macros are %h (the request's host), %s (its port), %d (its document) and %% (a %)".into()),
        (format!("{u}\nurl = \"http://x\"\ncode = 200"), "url[0].code", "url[0].code: must be one of 301, 302, 303, 307, 308, got 200".into()),
        (format!("{u}\nurl = \"http://x\"\ncode = 70000"), "url[0].code", "url[0].code: must be one of 301, 302, 303, 307, 308, got 70000".into()),
        (format!("{u}\nurl = \"http://x\"\ncode = -302"), "url[0].code", "url[0].code: must be one of 301, 302, 303, 307, 308, got -302".into()),
        (format!("{u}\nurl = \"http://x\"\ncode = \"302\""), "url[0].code", "url[0].code: expected an integer, got string \"302\"".into()),
        (format!("{u}\nurl = \"http://x\"\nweight = 1001"), "url[0].weight", "url[0].weight: must be at most 1000, got 1001".into()),
        (format!("{u}\nurl = \"http://x\"\nweight = -1"), "url[0].weight", "url[0].weight: must be at most 1000, got -1".into()),
        (format!("{u}\nurl = \"http://x\"\nlink = \"www2\""), "url[0].link", "url[0].link: www2 is neither a virtual nor a DIP's address (like \"198.19.0.11\")".into()),
        (format!("{u}\nurl = \"http://x\"\nlink = \"198.19.0.11\""), "url[0].link", "url[0].link: no DIP has address 198.19.0.11".into()),
        (format!("{u}\nurl = \"http://x\"\nlink = 3"), "url[0].link", "url[0].link: expected a string, got integer 3".into()),
        (format!("{u}\nurl = \"http://x\"\nstate = \"gone\""), "url[0].state", "url[0].state: unknown state \"gone\"; accepted values: in-service, oos, maintenance, sticky, failed".into()),
        ("name = \"s1\"\nurl = \"http://x\"".into(), "url[0].name", "url[0].name: s1 is already the name of a real; reals, virtuals and URLs need distinct names".into()),
    ];
    for (keys, key, want) in cases {
        assert_eq!(invalid(&url(&keys), key), want, "{keys}");
    }
    // Bounds and every code.
    ok(&url(&format!(
        "{u}\nurl = \"http://{}\"\nweight = 0",
        "a".repeat(505)
    )));
    for code in [301, 302, 303, 307, 308] {
        let c = ok(&url(&format!(
            "{u}\nurl = \"https://%h/%d\"\ncode = {code}\nweight = 1000"
        )));
        assert_eq!(c.urls[0].code, code);
    }
    assert_eq!(
        invalid(&acme(&format!("{COYOTE}{COYOTE}")), "url[1].name"),
        "url[1].name: duplicate URL name \"coyote\" (url[0] has it too)"
    );
    assert_eq!(
        invalid(&acme(&format!("{WWW}[[url]]\nname = \"www\"\nurl = \"http://x\"\n")), "url[0].name"),
        "url[0].name: www is already the name of a virtual; reals, virtuals and URLs need distinct names"
    );
    assert_eq!(
        invalid(&acme(&vip("s1", "198.18.0.100:80", None)), "virtual[0].name"),
        "virtual[0].name: s1 is already the name of a real; reals, virtuals and URLs need distinct names"
    );
    // Shape errors keep TOML's context.
    let s = url(&format!("{u}\nurl = \"http://x\"\ntarget = \"y\""));
    let line = s.lines().position(|l| l == "target = \"y\"").unwrap() + 1;
    let m = toml_err(&s, "`target`", line);
    assert!(
        m.contains("unknown field `target`, expected one of `name`, `url`, `code`, `weight`, `link`, `state`"),
        "{m}"
    );
    let s = acme("[url]\nname = \"coyote\"\nurl = \"http://x\"\n");
    let line = s.lines().position(|l| l == "[url]").unwrap() + 1;
    let m = toml_err(&s, "[[url]]", line);
    assert!(
        m.contains("expected an array of tables, written [[url]]"),
        "{m}"
    );
}

#[test]
fn dip_errors() {
    let dip = |keys: &str| acme(&format!("{WWW}[[dip]]\n{keys}\n"));
    let cases: Vec<(&str, &str, String)> = vec![
        ("port = \"outside\"", "dip[0].address", "dip[0].address: missing; it is required, like address = \"198.19.0.11\"".into()),
        ("address = \"198.19.0.11\"", "dip[0].port", "dip[0].port: missing; it is required, like port = \"outside\"".into()),
        ("address = \"198.19.0.99\"\nport = \"outside\"", "dip[0].address", "dip[0].address: no real has address 198.19.0.99".into()),
        ("address = \"198.19.0.1\"\nport = \"outside\"", "dip[0].address", "dip[0].address: 198.19.0.1 is the address of port[1] (\"inside\"); a DIP has the address of a real".into()),
        ("address = \"198.19.0.11:80\"\nport = \"outside\"", "dip[0].address", "dip[0].address: \"198.19.0.11:80\" is not an IPv4 address (like 198.19.0.11); a DIP takes its real's TCP port, write \"198.19.0.11\"".into()),
        ("address = \"coyote\"\nport = \"outside\"", "dip[0].address", "dip[0].address: \"coyote\" is not an IPv4 address (like 198.19.0.11)".into()),
        ("address = 1\nport = \"outside\"", "dip[0].address", "dip[0].address: expected a string, got integer 1".into()),
        ("address = \"198.19.0.11\"\nport = \"dmz\"", "dip[0].port", "dip[0].port: no [[port]] named \"dmz\"".into()),
        ("address = \"198.19.0.11\"\nport = 0", "dip[0].port", "dip[0].port: expected a string, got integer 0".into()),
    ];
    for (keys, key, want) in cases {
        assert_eq!(invalid(&dip(keys), key), want, "{keys}");
    }
    let s = |extra: &str| {
        acme(&format!(
            "{extra}[[dip]]\naddress = \"198.19.0.11\"\nport = \"outside\"\n"
        ))
    };
    ok(&s(""));
    assert_eq!(
        invalid(
            &s("[[real]]\nname = \"s4\"\naddress = \"198.19.0.11:8080\"\n"),
            "dip[0].address"
        ),
        "dip[0].address: reals s1 and s4 both have 198.19.0.11; a DIP pairs with one real"
    );
    assert_eq!(
        invalid(
            &s("[[real]]\nname = \"s4\"\naddress = \"198.19.0.11:8080\"\n[[real]]\nname = \"s5\"\naddress = \"198.19.0.11:8081\"\n"),
            "dip[0].address"
        ),
        "dip[0].address: reals s1, s4 and s5 all have 198.19.0.11; a DIP pairs with one real"
    );
    assert_eq!(
        invalid(
            &s("[[dip]]\naddress = \"198.19.0.11\"\nport = \"inside\"\n"),
            "dip[1].address"
        ),
        "dip[1].address: duplicate DIP 198.19.0.11 (dip[0] has it too)"
    );
    // A DIP's socket that is a virtual's address: a real cannot have a VIP's address,
    // so only a built configuration can get there; the real's own check speaks first.
    let mut c = ok(&s(""));
    c.virtuals
        .push(Virtual::new("v", "198.19.0.11:80".parse().unwrap()));
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "real[0].address: 198.19.0.11 is the address of virtual[0] (\"v\"), one of Splicer's own; give the real server's address"
    );
    let text = dip("address = \"198.19.0.11\"\nport = \"outside\"\nvirtual = \"www\"");
    let line = text.lines().position(|l| l == "virtual = \"www\"").unwrap() + 1;
    let m = toml_err(&text, "`virtual`", line);
    assert!(
        m.contains("unknown field `virtual`, expected `address` or `port`"),
        "{m}"
    );
}

#[test]
fn membership_errors() {
    let redirect = |keys: &str| acme(&format!("{COYOTE}{WWW}mode = \"redirect\"\n{keys}\n"));
    let splice = |keys: &str| acme(&format!("{COYOTE}{WWW}{keys}\n"));
    assert_eq!(
        invalid(&splice("bind = [\"s1\", \"coyote\"]"), "virtual[0].bind"),
        "virtual[0].bind: coyote is a URL; a splice virtual binds reals (set mode = \"redirect\" to bind URLs)"
    );
    assert_eq!(
        invalid(&redirect("bind = [\"coyote\", \"s1\"]"), "virtual[0].bind"),
        "virtual[0].bind: s1 is a real; a redirect virtual binds URLs (set mode = \"splice\" to bind reals)"
    );
    assert_eq!(
        invalid(&redirect("bind = [\"book\"]"), "virtual[0].bind"),
        "virtual[0].bind: url book does not exist"
    );
    assert_eq!(
        invalid(
            &redirect("bind = [\"coyote\", \"coyote\"]"),
            "virtual[0].bind"
        ),
        "virtual[0].bind: url coyote is listed twice"
    );
    assert_eq!(
        invalid(&redirect("bind = [\"coyote\", 1]"), "virtual[0].bind[1]"),
        "virtual[0].bind[1]: expected a string (the name of a [[url]]), got integer 1"
    );
    assert_eq!(
        invalid(&redirect("bind = \"coyote\""), "virtual[0].bind"),
        "virtual[0].bind: expected an array of [[url]] names (like [\"coyote\", \"roadrunner\"]), got string \"coyote\""
    );
    assert_eq!(
        invalid(&splice("bind = [\"www\"]"), "virtual[0].bind"),
        "virtual[0].bind: www is a virtual; a splice virtual binds reals"
    );
    assert_eq!(
        invalid(&redirect("bind = [\"www\"]"), "virtual[0].bind"),
        "virtual[0].bind: www is a virtual; a redirect virtual binds URLs"
    );
    // Rules bind the same kind as their virtual.
    let rule = |mode: &str, bind: &str| {
        acme(&format!(
            "{COYOTE}{WWW}mode = \"{mode}\"\n[[virtual.rule]]\nhost = \"a\"\n{bind}\n"
        ))
    };
    assert_eq!(
        invalid(&rule("redirect", "bind = [\"s2\"]"), "virtual[0].rule[0].bind"),
        "virtual[0].rule[0].bind: s2 is a real; a redirect virtual binds URLs (set mode = \"splice\" to bind reals)"
    );
    assert_eq!(
        invalid(&rule("splice", "bind = [\"coyote\"]"), "virtual[0].rule[0].bind"),
        "virtual[0].rule[0].bind: coyote is a URL; a splice virtual binds reals (set mode = \"redirect\" to bind URLs)"
    );
    assert_eq!(
        invalid(&rule("redirect", "bind = []"), "virtual[0].rule[0].bind"),
        "virtual[0].rule[0].bind: must name at least one URL, like bind = [\"coyote\"]"
    );
    assert_eq!(
        invalid(&rule("redirect", ""), "virtual[0].rule[0].bind"),
        "virtual[0].rule[0].bind: missing; it is required, like bind = [\"coyote\"]"
    );
    let c = ok(&rule("redirect", "bind = [\"coyote\"]"));
    assert_eq!(c.virtuals[0].rules[0].bind, strings(&["coyote"]));
    assert_eq!(
        invalid(
            &acme(&format!(
                "{COYOTE}{WWW}mode = \"redirect\"\n[[virtual.rule]]\nbind = [\"coyote\"]\n"
            )),
            "virtual[0].rule[0]"
        ),
        "virtual[0].rule[0]: rule rule1 has no condition; put its URLs in the virtual's bind list"
    );
}

#[test]
fn backup_errors() {
    let real_backup = |b: &str, rest: &str| {
        doc(
            "",
            &format!("{PORTS}[[real]]\nname = \"s1\"\naddress = \"198.19.0.11:80\"\nbackup = \"{b}\"\n[[real]]\nname = \"s2\"\naddress = \"198.19.0.12:80\"\n{rest}"),
        )
    };
    assert_eq!(
        invalid(&real_backup("s9", ""), "real[0].backup"),
        "real[0].backup: s9 is not the name of a real, virtual or URL"
    );
    assert_eq!(
        invalid(&real_backup("s1", ""), "real[0].backup"),
        "real[0].backup: s1 cannot be its own backup"
    );
    assert_eq!(
        invalid(
            &real_backup("www", &format!("{WWW}backup = \"s1\"\n")),
            "real[0].backup"
        ),
        "real[0].backup: backups loop: s1 → www → s1"
    );
    // A loop that s1 only leads into is reported where it is.
    assert_eq!(
        invalid(
            &real_backup("s2", &format!("backup = \"www\"\n{WWW}backup = \"s2\"\n")),
            "real[1].backup"
        ),
        "real[1].backup: backups loop: s2 → www → s2"
    );
    assert_eq!(
        invalid(
            &doc("", &format!("{PORTS}{WWW}backup = \"www\"\n")),
            "virtual[0].backup"
        ),
        "virtual[0].backup: www cannot be its own backup"
    );
    // Chains that end: at a URL, or at something without a backup.
    let c = ok(&real_backup(
        "www",
        &format!("backup = \"s1\"\n{WWW}backup = \"book\"\n[[url]]\nname = \"book\"\nurl = \"http://www.book.example\"\n"),
    ));
    assert_eq!(c.virtuals[0].backup.as_deref(), Some("book"));
    ok(&real_backup("s2", ""));
}

#[test]
fn names_are_shared_by_reals_virtuals_and_urls() {
    // Ports are apart: a real, a virtual or a URL may be called like a port.
    ok(&acme(&format!(
        "{}[[url]]\nname = \"inside\"\nurl = \"http://x\"\n",
        vip("outside", "198.18.0.100:80", None)
    )));
}

/// Every key a configuration can hold, as `section.key` (`virtual.rule.bind`).
fn keys(prefix: &str, table: &toml::Table, top: bool, out: &mut Vec<String>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) if top => keys(&key, t, false, out),
            toml::Value::Array(items)
                if items.iter().all(|i| i.is_table()) && !items.is_empty() =>
            {
                for item in items {
                    keys(&key, item.as_table().unwrap(), false, out);
                }
            }
            _ => {
                if !out.contains(&key) {
                    out.push(key)
                }
            }
        }
    }
}

/// docs/CONFIGURATION.md's "Defaults at a glance" table documents every key, new ones included.
#[test]
fn readme_lists_every_key() {
    let readme = include_str!("../../../docs/CONFIGURATION.md");
    let mut c = ok(REDIRECT);
    c.dataplane.metrics = Some("127.0.0.1:9100".parse().unwrap());
    c.dataplane.syn_cookie_threshold = Some(100);
    c.ports[1].gateway = Some(Ipv4Addr::new(198, 19, 0, 254));
    c.virtuals[1].port = Some("outside".into());
    c.virtuals[1].rules.push(Rule {
        path_prefix: Some("/a/".into()),
        path_suffix: Some(".b".into()),
        host: Some("h".into()),
        method: Some(Method::Get),
        header: Some(HeaderMatch {
            name: "X".into(),
            value: "y".into(),
        }),
        ..Rule::new("all", strings(&["spare"]))
    });
    let c = ok(&c.to_toml());
    let table: toml::Table = toml::from_str(&c.to_toml()).unwrap();
    let mut all = Vec::new();
    keys("", &table, true, &mut all);
    assert!(all.len() >= 58, "{all:?}");
    for key in ["url.link", "dip.port", "virtual.rule.header", "real.backup"] {
        assert!(all.iter().any(|k| k == key), "{key} not in {all:?}");
    }
    for key in all {
        let row = format!("| `{key}` ");
        assert!(readme.contains(&row), "docs/CONFIGURATION.md lacks {key}");
    }
}
