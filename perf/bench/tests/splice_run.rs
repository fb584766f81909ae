//! The splice scenarios on a real EAL: the real worker pipeline against the generator's
//! clients and servers. Each command runs a brief baseline first and prints both JSON
//! lines; a worker that corrupts or loses one packet makes the run fail.
//!
//! As in `baseline_run.rs`: one process per run, `--no-huge`, serialised, root for
//! /var/run/dpdk.

use std::process::{Command, Output};
use std::sync::Mutex;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn bench(args: &[&str]) -> Output {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    Command::new(env!("CARGO_BIN_EXE_splicer-bench"))
        .args(args)
        .output()
        .expect("splicer-bench runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect()
}

#[test]
fn each_scenario_runs_after_a_brief_baseline_and_verifies() {
    for (scenario, extra) in [
        ("established", &["--flows", "3000"][..]),
        (
            "established",
            &["--flows", "3000", "--client-options", "none"][..],
        ),
        ("lifecycle", &["--flows", "64", "--payload", "300"][..]),
        (
            "keepalive",
            &["--flows", "64", "--requests-per-conn", "5"][..],
        ),
    ] {
        let mut args = vec![
            scenario,
            "--no-huge",
            "--seconds",
            "0.4",
            "--baseline-seconds",
            "0.2",
        ];
        args.extend_from_slice(extra);
        let out = bench(&args);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert!(out.status.success(), "{scenario}: {stdout}\n{stderr}");
        let v = lines(&stdout);
        assert_eq!(v.len(), 3, "{stdout}");
        assert_eq!(v[0]["scenario"], "baseline");
        // The self-looped baseline, right before the scenario, which is quoted
        // against its cycles.
        let l = &v[1];
        assert_eq!(l["scenario"], "selfloop", "{stdout}");
        assert!(l["packets"].as_u64().unwrap() > 0, "{l}");
        let s = &v[2];
        assert_eq!(
            s["baseline_cycles_per_packet"], l["cycles_per_packet"],
            "{stdout}"
        );
        assert_eq!(
            s["fed_baseline_cycles_per_packet"], v[0]["cycles_per_packet"],
            "{stdout}"
        );
        assert!(s["cycles_ratio_to_baseline"].as_f64().unwrap() > 0.0, "{s}");
        assert!(s["retransmits_after_stall"].as_u64().is_some(), "{s}");
        let options = if scenario == "established" && !extra.contains(&"none") {
            "linux"
        } else {
            "none"
        };
        assert_eq!(s["client_options"], options, "{stdout}");
        assert_eq!(s["scenario"], scenario, "{stdout}");
        assert!(s["packets"].as_u64().unwrap() > 0, "{s}");
        assert!(s["cycles_per_packet"].as_f64().unwrap() > 0.0, "{s}");
        // Present and positive; its size is a measurement (a 0.2 s baseline on a busy
        // host can come out slower than the scenario), not something to test.
        let ratio = s["ratio_to_baseline"].as_f64().unwrap();
        assert!(ratio > 0.0, "{s}");
        assert!(s["state_bytes_per_flow"].as_u64().unwrap() > 500, "{s}");
        if scenario == "established" {
            assert_eq!(s["flows"], 3000);
            assert!(s["rss_bytes_per_flow"].as_u64().is_some(), "{s}");
            assert!(s["setup_seconds"].as_f64().unwrap() > 0.0, "{s}");
            assert!(s.get("requests_per_s").is_none(), "{s}");
        } else {
            assert!(s["requests_per_s"].as_f64().unwrap() > 0.0, "{s}");
            assert!(s["cycles_per_request"].as_f64().unwrap() > 0.0, "{s}");
        }
        assert!(stderr.contains("pipeline counters:"), "{stderr}");
    }
}

#[test]
fn a_worker_mistake_fails_a_splice_run() {
    for (scenario, fault, says) in [
        ("established", "seq@20000", "sequence number"),
        ("lifecycle", "checksum@3000", "wrong TCP checksum"),
        ("keepalive", "port@3000", "verification failed"),
        ("lifecycle", "drop@2000", "verification failed"),
    ] {
        let out = bench(&[
            scenario,
            "--no-huge",
            "--seconds",
            "0.3",
            "--baseline-seconds",
            "0.1",
            "--flows",
            "500",
            "--inject-fault",
            fault,
        ]);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(
            out.status.code(),
            Some(1),
            "{scenario} {fault}: {stdout}\n{stderr}"
        );
        assert!(
            !stdout.contains(&format!("\"scenario\":\"{scenario}\"")),
            "{scenario} {fault}: no JSON line for the failed scenario: {stdout}"
        );
        assert!(stderr.contains(says), "{scenario} {fault}: {stderr}");
    }
}

#[test]
fn splice_options_are_checked_before_the_eal_starts() {
    let out = bench(&["lifecycle", "--no-huge", "--flows", "100000"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--flows"));
    let out = bench(&["keepalive", "--no-huge", "--payload", "1450"]);
    assert_eq!(out.status.code(), Some(2));
    let out = bench(&["lifecycle", "--no-huge", "--client-options", "linux"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let out = bench(&["established", "--no-huge", "--reserve-hugepages"]);
    assert_eq!(out.status.code(), Some(2), "clap refuses both memory flags");
}

#[test]
fn pipelined_sends_requests_ahead_and_a_worker_mistake_fails_it() {
    for depth in ["8", "32"] {
        let out = bench(&[
            "pipelined",
            "--no-huge",
            "--seconds",
            "0.4",
            "--baseline-seconds",
            "0.2",
            "--flows",
            "16",
            "--depth",
            depth,
        ]);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert!(out.status.success(), "{depth}: {stdout}\n{stderr}");
        let v = lines(&stdout);
        assert_eq!(v.len(), 3, "{stdout}");
        let s = &v[2];
        assert_eq!(s["scenario"], "pipelined", "{stdout}");
        assert_eq!(s["depth"].to_string(), depth, "{s}");
        assert!(s["requests_per_s"].as_f64().unwrap() > 0.0, "{s}");
        assert!(s["cycles_per_request"].as_f64().unwrap() > 0.0, "{s}");
        // Held segments are counted but may be none: a response whose turn comes before
        // its server answers (the one before it sent whole) is sent on at once.
        assert!(s["held_segments"].as_u64().is_some(), "{s}");
        for k in ["pipelined_dispatched", "pipelined_promoted", "sent_ahead"] {
            assert!(s[k].as_u64().unwrap() > 0, "{k}: {s}");
        }
    }
    let out = bench(&[
        "pipelined",
        "--no-huge",
        "--seconds",
        "0.3",
        "--baseline-seconds",
        "0.1",
        "--flows",
        "16",
        "--inject-fault",
        "seq@3000",
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(!stdout.contains("\"scenario\":\"pipelined\""), "{stdout}");
    let out = bench(&["pipelined", "--no-huge", "--depth", "65"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--depth"));
    let out = bench(&[
        "pipelined",
        "--no-huge",
        "--seconds",
        "0.1",
        "--flows",
        "256",
        "--depth",
        "32",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}
