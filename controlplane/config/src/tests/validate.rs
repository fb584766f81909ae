//! Validation errors of the data plane, ports, gateways and virtuals, with their keys.

use super::*;

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
fn max_pipeline_errors() {
    let pipeline = |value: &str| {
        virtuals(&format!(
            "{}{}max_pipeline = {value}\n",
            vip("www", "198.18.0.100:80", None),
            vip("api", "198.18.0.100:8080", None)
        ))
    };
    let cases = [
        (
            "0",
            "virtual[1].max_pipeline: must be between 1 and 256, got 0",
        ),
        (
            "257",
            "virtual[1].max_pipeline: must be between 1 and 256, got 257",
        ),
        (
            "-1",
            "virtual[1].max_pipeline: must be between 1 and 256, got -1",
        ),
        (
            "65536",
            "virtual[1].max_pipeline: must be between 1 and 256, got 65536",
        ),
        (
            "99999999999",
            "virtual[1].max_pipeline: must be between 1 and 256, got 99999999999",
        ),
        (
            "\"32\"",
            "virtual[1].max_pipeline: expected an integer, got string \"32\"",
        ),
        (
            "1.5",
            "virtual[1].max_pipeline: expected an integer, got float 1.5",
        ),
        (
            "true",
            "virtual[1].max_pipeline: expected an integer, got boolean true",
        ),
    ];
    for (value, want) in cases {
        assert_eq!(
            invalid(&pipeline(value), "virtual[1].max_pipeline"),
            want,
            "{value}"
        );
    }
    // The bounds themselves are accepted; the other virtual keeps the default.
    for n in [1, 2, 32, 255, 256] {
        let c = ok(&pipeline(&n.to_string()));
        assert_eq!(c.virtuals[1].max_pipeline, n);
        assert_eq!(c.virtuals[0].max_pipeline, defaults::MAX_PIPELINE);
    }
}

#[test]
fn max_held_errors() {
    let held = |value: &str| {
        virtuals(&format!(
            "{}{}max_held = {value}\n",
            vip("www", "198.18.0.100:80", None),
            vip("api", "198.18.0.100:8080", None)
        ))
    };
    let cases = [
        ("\"64 KB\"", "virtual[1].max_held: invalid size \"64 KB\": unknown unit \"KB\" (use B, KiB, MiB, kB or MB)"),
        ("\"65536\"", "virtual[1].max_held: invalid size \"65536\": missing unit (use B, KiB, MiB, kB or MB)"),
        ("-1", "virtual[1].max_held: invalid size -1: a size cannot be negative"),
        ("0.5", "virtual[1].max_held: expected a size like \"16KiB\" or an integer number of bytes, got float 0.5"),
        ("1048577", "virtual[1].max_held: must be at most 1MiB, got 1048577B"),
        ("\"2MiB\"", "virtual[1].max_held: must be at most 1MiB, got 2MiB (2097152 bytes)"),
        ("\"1025KiB\"", "virtual[1].max_held: must be at most 1MiB, got 1025KiB (1049600 bytes)"),
        ("\"1049kB\"", "virtual[1].max_held: must be at most 1MiB, got 1049kB (1049000 bytes)"),
    ];
    for (value, want) in cases {
        assert_eq!(
            invalid(&held(value), "virtual[1].max_held"),
            want,
            "{value}"
        );
    }
    // The bounds themselves, and every unit, are accepted.
    for (value, bytes) in [
        ("0", 0),
        ("\"0B\"", 0),
        ("1048576", 1 << 20),
        ("\"1MiB\"", 1 << 20),
        ("\"1MB\"", 1_000_000),
        ("\"1024 KiB\"", 1 << 20),
        ("\"1500B\"", 1500),
    ] {
        let c = ok(&held(value));
        assert_eq!(c.virtuals[1].max_held.bytes(), bytes, "{value}");
        assert_eq!(c.virtuals[0].max_held, defaults::MAX_HELD);
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
    c.virtuals[0].max_pipeline = 0;
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "virtual[0].max_pipeline: must be between 1 and 256, got 0"
    );
    c.virtuals[0].max_pipeline = 300;
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "virtual[0].max_pipeline: must be between 1 and 256, got 300"
    );
    c.virtuals[0].max_pipeline = 256;
    c.virtuals[0].max_held = ByteSize::kib(1025);
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "virtual[0].max_held: must be at most 1MiB, got 1025KiB (1049600 bytes)"
    );
    c.virtuals[0].max_held = ByteSize::from_bytes(0);
    assert_eq!(c.validate().unwrap(), ());
}
