//! Valid files: the demo configuration, the contract's example, defaults, every key
//! set, and the round trip through TOML.

use super::*;

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
                tier: 1,
                check: None,
                slowstart: Duration::ZERO,
                agent: None,
                handoff_mode: HandoffMode::L2,
                local: false,
            },
            Real::new("s2", "198.19.0.12:80".parse().unwrap()),
            Real::new("s3", "198.19.0.13:80".parse().unwrap()),
        ],
        virtuals: vec![Virtual {
            name: "www".into(),
            address: "198.18.0.100:80".parse().unwrap(),
            port: None,
            max_request_head: ByteSize::from_bytes(16384),
            max_pipeline: 32,
            max_held: ByteSize::kib(64),
            mode: Mode::Splice,
            predictor: Predictor::RoundRobin,
            bind: strings(&["s1", "s2", "s3"]),
            rules: vec![Rule {
                path_prefix: Some("/img/".into()),
                ..Rule::new("img", strings(&["s2"]))
            }],
            state: ServiceState::InService,
            backup: None,
            queue_size: 256,
            priority: 4,
            cost: 1,
            sticky: None,
            sticky_table: 65536,
            hash: Default::default(),
            forward_for: ForwardFor::None,
            forward_for_incoming: ForwardForIncoming::Replace,
            server_close: Default::default(),
        }],
        urls: Vec::new(),
        dips: Vec::new(),
        access_log: None,
        announce: None,
        cluster: None,
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
    assert_eq!(c.virtuals[0].max_pipeline, 32);
    assert_eq!(c.virtuals[0].max_held.bytes(), 64 * 1024);
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
    assert_eq!(defaults::MAX_PIPELINE, 32);
    assert_eq!(defaults::MAX_HELD.bytes(), 65536);
    assert_eq!(defaults::MAX_HELD.to_string(), "64KiB");
    // The data plane's own defaults, which a service of a DIP takes.
    assert_eq!(
        defaults::MAX_PIPELINE,
        splicer_pipeline::Service::DEFAULT_MAX_PIPELINE
    );
    assert_eq!(
        defaults::MAX_HELD.bytes() as usize,
        splicer_pipeline::Service::DEFAULT_MAX_HELD
    );
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
    assert_eq!(v.max_pipeline, defaults::MAX_PIPELINE);
    assert_eq!(v.max_held, defaults::MAX_HELD);
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
max_pipeline = 256
max_held = "1MiB"
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
max_pipeline = 1
max_held = 0

[[virtual]]
name = "routed"
address = "203.0.113.7:8080"
port = "inside"
max_request_head = "8 kB"
max_held = "1500 B"
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
            tier: 1,
            check: None,
            slowstart: Duration::ZERO,
            agent: None,
            handoff_mode: HandoffMode::L2,
            local: false,
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
            cookie: None,
            bind: strings(&["far"]),
            priority: None,
            cost: None,
            predictor: None,
            hash: None,
        }
    );
    assert_eq!(www.rules[1].name, "rule2");
    assert_eq!(www.rules[1].method, Some(Method::Delete));
    assert!(c.virtuals[1].bind.is_empty() && c.virtuals[1].rules.is_empty());
    assert_eq!(c.virtuals[0].max_request_head.bytes(), 65536);
    assert_eq!(c.virtuals[1].max_request_head.bytes(), 1536);
    assert_eq!(c.virtuals[2].max_request_head.bytes(), 8000);
    assert_eq!(c.virtuals[0].max_pipeline, 256);
    assert_eq!(c.virtuals[0].max_held.bytes(), 1 << 20);
    assert_eq!(c.virtuals[1].max_pipeline, 1);
    assert_eq!(c.virtuals[1].max_held.bytes(), 0);
    assert_eq!(c.virtuals[2].max_pipeline, defaults::MAX_PIPELINE);
    assert_eq!(c.virtuals[2].max_held.bytes(), 1500);
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
        "max_pipeline = 32",
        "max_held = \"64KiB\"",
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
    for (written, bytes, back) in [
        ("0", 0, "0B"),
        ("\"0 KiB\"", 0, "0B"),
        ("1", 1, "1B"),
        ("\"32kB\"", 32000, "32kB"),
        ("1048576", 1 << 20, "1MiB"),
    ] {
        let c = ok(&virtuals(&format!(
            "{}max_held = {written}\nmax_pipeline = 7\n",
            vip("www", "198.18.0.100:80", None)
        )));
        assert_eq!(c.virtuals[0].max_held.bytes(), bytes, "{written}");
        round_trip(&c);
        let text = toml::to_string(&c).unwrap();
        for line in [format!("max_held = \"{back}\""), "max_pipeline = 7".into()] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in:\n{text}");
        }
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
