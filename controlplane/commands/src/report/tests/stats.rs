//! `show stats`: counters, baselines, sections, the log lines, tables.

use super::*;

#[test]
fn sums() {
    let r = sample();
    assert_eq!(r.total().get("rx_packets"), 16);
    assert_eq!(r.worker(1).get("tx_packets"), 5);
    assert_eq!(r.port(1).get("drop_not_for_us"), 1);
    assert_eq!(r.total_gauges().get("flows"), 4);
    assert_eq!(r.total().get("no_such_counter"), 0);
}

#[test]
fn since_subtracts_counters_not_gauges() {
    let then = sample();
    let mut now = sample();
    now.cells[0][0].0[0].1 = 15;
    now.gauges[0].0[0].1 = 7;
    if let Ok(n) = &mut now.nic[0] {
        n.0[0].1 = 20;
    }
    let d = now.since(&then);
    assert_eq!(d.total().get("rx_packets"), 5);
    assert_eq!(d.total().get("tx_packets"), 0);
    assert_eq!(d.gauges[0].get("flows"), 7);
    assert_eq!(d.nic[0].as_ref().unwrap().get("rx_packets"), 4);
    assert!(d.nic[1].is_err());
    assert_eq!(d.mempool_in_use, 24);
    // A counter below its baseline shows 0, never a huge wrapped value.
    let back = then.since(&now);
    assert_eq!(back.total().get("rx_packets"), 0);
    assert_eq!(back.cells[0][0].get("rx_packets"), 0);
}

#[test]
fn since_subtracts_the_workers_loop_figures() {
    let then = sample();
    let mut now = sample();
    now.runtime[1] = Runtime::from_values([3_000, 250, 105, 6_000_000, 1_100_000]);
    let d = now.since(&then);
    assert_eq!(d.runtime[0], Runtime::default());
    assert_eq!(
        d.runtime[1].values(),
        [2_000, 200, 100, 4_000_000, 1_000_000]
    );
    // A worker the baseline does not have (none while Splicer runs) shows its total.
    let bare = StatsReport {
        runtime: vec![],
        ..sample()
    };
    assert_eq!(now.since(&bare).runtime, now.runtime);
    // Never a wrapped value.
    assert_eq!(then.since(&now).runtime[1], Runtime::default());
}

#[test]
fn log_lines_keep_their_format() {
    let lines = sample().log_lines();
    assert_eq!(
            lines,
            vec![
                "stats total rx_packets=16 tx_packets=14 drop_not_for_us=3 flows=4 half_open=1 neighbours=3",
                "stats worker=0 rx_packets=11 tx_packets=9 drop_not_for_us=2 flows=3 half_open=1 neighbours=2",
                "stats worker=1 rx_packets=5 tx_packets=5 drop_not_for_us=1 flows=1 half_open=0 neighbours=1",
                "stats port=outside rx_packets=16 tx_packets=13 rx_bytes=999 drop_not_for_us=2",
                "stats port=inside nic_stats_error=\"not supported\" drop_not_for_us=1",
                "stats mempool available=1000 in_use=24",
            ]
        );
}

#[test]
fn stats_json_and_text() {
    let r = sample();
    let j = r.to_json();
    assert_eq!(j["total"]["rx_packets"], 16);
    assert_eq!(j["total"]["flows"], 4);
    assert_eq!(j["workers"][1]["counters"]["tx_packets"], 5);
    assert_eq!(j["workers"][0]["gauges"]["half_open"], 1);
    assert_eq!(j["ports"][0]["name"], "outside");
    assert_eq!(j["ports"][0]["nic"]["rx_bytes"], 999);
    assert_eq!(j["ports"][1]["nic"]["error"], "not supported");
    assert_eq!(j["mempool"]["in_use"], 24);
    let text = r.to_text();
    let row = text
        .lines()
        .find(|l| l.starts_with("drop_not_for_us"))
        .unwrap();
    let cells: Vec<_> = row.split_whitespace().collect();
    assert_eq!(cells, ["drop_not_for_us", "3", "2", "1", "2", "1"]);
    assert!(text.lines().next().unwrap().starts_with("counter"));
    assert!(text.contains("nic counters of inside: not supported"));
    assert!(text.ends_with("mempool: 1000 available, 24 in use"));
}

#[test]
fn per_object_tables_and_json() {
    let r = sample();
    let j = r.to_json();
    assert_eq!(j["virtuals"][0]["name"], "www");
    assert_eq!(j["virtuals"][0]["no_server"], 6);
    assert_eq!(j["virtuals"][1]["name"], "198.19.0.11");
    assert_eq!(j["reals"][1]["name"], "img.1");
    assert_eq!(j["reals"][0]["server_errors"], 1);
    assert_eq!(
        j["rules"][1],
        json!({"virtual": "www", "rule": "bind", "hits": 24})
    );
    let text = r.to_text();
    let w = words(&text);
    let header = |first: &str| w.iter().position(|l| l.first() == Some(&first)).unwrap();
    let v = header("virtual");
    assert_eq!(
        w[v],
        [
            "virtual",
            "requests",
            "spliced",
            "redirects",
            "no_server",
            "refused"
        ]
    );
    assert_eq!(w[v + 1], ["www", "40", "30", "0", "6", "4"]);
    assert_eq!(w[v + 2], ["198.19.0.11", "2", "2", "0", "0", "0"]);
    let rl = header("real");
    assert_eq!(
        w[rl],
        [
            "real",
            "requests",
            "responses_2xx",
            "responses_5xx",
            "server_errors"
        ]
    );
    assert_eq!(w[rl + 1], ["s1", "20", "17", "2", "1"]);
    let rule = w
        .iter()
        .position(|l| l[..] == ["virtual", "rule", "hits"])
        .unwrap();
    assert_eq!(w[rule + 1], ["www", "img", "12"]);
    assert_eq!(w[rule + 2], ["www", "bind", "24"]);
    // The tables come after the gauges, before the mempool.
    assert!(header("gauge") < v && v < rl && rl < rule);
    assert!(text.ends_with("mempool: 1000 available, 24 in use"));
    // Nothing configured: no tables, empty lists.
    let bare = StatsReport {
        virtuals: vec![],
        reals: vec![],
        rules: vec![],
        ..sample()
    };
    let text = bare.to_text();
    assert!(
        !text.contains("\nvirtual") && !text.contains("\nreal "),
        "{text}"
    );
    assert_eq!(bare.to_json()["rules"], json!([]));
}

#[test]
fn since_subtracts_per_object_counters_by_name() {
    let then = sample();
    let mut now = sample();
    now.virtuals[0].counters.0[0].1 = 45;
    now.reals[1].counters.0[1].1 = 20;
    now.rules[0].hits = 15;
    // A real added since the baseline counts from 0; the order may change.
    now.reals
        .insert(0, tests_support::object("new", &[("requests", 3)]));
    now.rules.swap(0, 1);
    let d = now.since(&then);
    assert_eq!(d.virtuals[0].counters.get("requests"), 5);
    assert_eq!(d.virtuals[0].counters.get("no_server"), 0);
    assert_eq!(d.virtuals[1].counters.get("requests"), 0);
    assert_eq!(d.reals[0].name, "new");
    assert_eq!(d.reals[0].counters.get("requests"), 3);
    assert_eq!(d.reals[2].counters.get("responses_2xx"), 8);
    assert_eq!(d.reals[1].counters.get("requests"), 0);
    assert_eq!((d.rules[1].rule.as_str(), d.rules[1].hits), ("img", 3));
    assert_eq!((d.rules[0].rule.as_str(), d.rules[0].hits), ("bind", 0));
    // Below the baseline (a real removed and added again): 0, never wrapped.
    let back = then.since(&now);
    assert_eq!(back.virtuals[0].counters.get("requests"), 0);
    assert!(back.rules.iter().all(|r| r.hits == 0));
}

#[test]
fn every_counter_has_a_section() {
    for c in splicer_pipeline::Counter::ALL {
        assert_ne!(Section::of(c.name()), Section::Other, "{}", c.name());
    }
    for (name, section) in [
        ("rx_packets", Section::Packets),
        ("handoff_in", Section::Packets),
        ("impair_dropped", Section::Packets),
        ("neighbours_learned", Section::Presence),
        ("tcp_retransmit_timeouts", Section::ClientConnections),
        ("clients_closed_after_response", Section::ClientConnections),
        ("request_timeouts", Section::ClientConnections),
        ("http_no_server", Section::Requests),
        ("refused_bad_body", Section::Requests),
        ("http_incomplete_requests", Section::Requests),
        ("splice_requests", Section::Splicing),
        ("splices", Section::Splicing),
        ("spliced_down", Section::Splicing),
        ("client_data_deferred", Section::Splicing),
        ("keepalive_inserted", Section::Splicing),
        ("server_forwarded_ahead", Section::Splicing),
        ("pool_wait_served", Section::Pools),
        ("queue_timeouts", Section::Pools),
        ("responses_other", Section::Responses),
        ("server_framing_errors", Section::ServerConnections),
        ("drain_timeouts", Section::Drains),
        ("drop_server_out_of_order", Section::Drops),
        ("something_new", Section::Other),
    ] {
        assert_eq!(Section::of(name), section, "{name}");
    }
}

#[test]
fn stats_text_groups_the_counters() {
    let r = full();
    let text = r.to_text();
    let counters = text.split("\n\nnic").next().unwrap();
    let groups: Vec<Vec<&str>> = counters
        .split("\n\n")
        .map(|g| {
            g.lines()
                .filter(|l| !l.starts_with("counter "))
                .map(|l| l.split_whitespace().next().unwrap())
                .collect()
        })
        .collect();
    // One group per section, in section order, every counter once.
    let sections: Vec<Section> = groups.iter().map(|g| Section::of(g[0])).collect();
    let mut sorted = sections.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sections, sorted, "{text}");
    for g in &groups {
        assert!(
            g.iter().all(|n| Section::of(n) == Section::of(g[0])),
            "{g:?}"
        );
    }
    let listed: usize = groups.iter().map(Vec::len).sum();
    assert_eq!(listed, splicer_pipeline::Counter::ALL.len());
    assert!(text.starts_with("counter "), "{text}");
    assert_eq!(groups[0][..2], ["rx_packets", "tx_packets"]);
    assert_eq!(groups.last().unwrap()[0], "drop_truncated");
    // Every row has every column, aligned with the header.
    let header_len = text.lines().next().unwrap().len();
    let row = text.lines().find(|l| l.starts_with("pool_reuses")).unwrap();
    assert_eq!(row.len(), header_len, "{text}");
    assert_eq!(
        row.split_whitespace().collect::<Vec<_>>(),
        ["pool_reuses", "224", "12", "212", "102", "122"]
    );
    // The JSON and the log lines keep the workers' order.
    let j = r.to_json();
    assert_eq!(j["total"]["splices"], 224);
    assert!(r.log_lines()[0].starts_with("stats total rx_packets=224 tx_packets=224 handoff_out="));
}

#[test]
fn table_alignment() {
    let t = table(
        &strings(&["name", "n"]),
        vec![strings(&["a", "5"]), strings(&["bb", "100"])],
    );
    assert_eq!(t, "name    n\na       5\nbb    100\n");
    // A column of '-' only is text, left-aligned.
    let t = table(
        &strings(&["n", "backup"]),
        vec![strings(&["1", "-"]), strings(&["2", "-"])],
    );
    assert_eq!(t, "n  backup\n1  -\n2  -\n");
}

#[test]
fn pool_levels() {
    let l = PoolLevels {
        free: 1,
        busy: 2,
        opening: 3,
        conns: 10,
        inflight: 4,
    };
    assert_eq!(l.closing(), 4);
    assert_eq!(PoolLevels { conns: 1, ..l }.closing(), 0);
    let mut t = l;
    t.add(&l);
    assert_eq!(t.values(), [2, 4, 6, 20, 8]);
    // The JSON of `show pools`: one member per field, named as before the workers' type
    // was shown directly (it was a serde-derived copy).
    assert_eq!(
        l.to_json(),
        serde_json::json!({"free": 1, "busy": 2, "opening": 3, "conns": 10, "inflight": 4})
    );
}
