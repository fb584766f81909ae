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

#[test]
fn two_workers_run_after_one_and_hand_packets_over() {
    for (scenario, flows) in [("established", "3000"), ("lifecycle", "64")] {
        let out = bench(&[
            scenario,
            "--no-huge",
            "--workers",
            "2",
            "--seconds",
            "0.4",
            "--baseline-seconds",
            "0.1",
            "--flows",
            flows,
        ]);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert!(out.status.success(), "{scenario}: {stdout}\n{stderr}");
        let v = lines(&stdout);
        // baseline, then (selfloop, scenario) for 1 worker, 2 steered, 2 handing over.
        assert_eq!(v.len(), 7, "{stdout}");
        let runs: Vec<&serde_json::Value> = [2, 4, 6].iter().map(|&i| &v[i]).collect();
        for (r, (workers, fraction)) in runs.iter().zip([(1, 0.0), (2, 0.0), (2, 0.5)]) {
            assert_eq!(r["scenario"], scenario, "{r}");
            assert_eq!(r["workers"], workers, "{r}");
            assert_eq!(r["handoff_fraction"].as_f64(), Some(fraction), "{r}");
            let per = r["per_worker"].as_array().unwrap();
            assert_eq!(per.len(), workers, "{r}");
            for w in per {
                assert!(
                    w["packets"].as_u64().unwrap() > 0,
                    "every worker worked: {r}"
                );
            }
        }
        assert!(runs[0].get("scaling").is_none(), "{}", runs[0]);
        assert!(runs[1]["scaling"].as_f64().unwrap() > 0.0, "{}", runs[1]);
        // Steered to their owners: nothing handed over.
        assert_eq!(runs[1]["handed_off"].as_f64(), Some(0.0), "{}", runs[1]);
        // Half the connection directions on the other worker's queue: about half
        // the packets handed over, both ways, each counted where it went and came.
        let h = runs[2]["handed_off"].as_f64().unwrap();
        assert!((0.3..0.7).contains(&h), "{}", runs[2]);
        let per = runs[2]["per_worker"].as_array().unwrap();
        assert!(per[0]["handed_out"].as_u64().unwrap() > 0, "{}", runs[2]);
        assert!(per[1]["handed_in"].as_u64().unwrap() > 0, "{}", runs[2]);
        assert!(
            runs[2]["handoff_cycles_per_packet"].is_number(),
            "{}",
            runs[2]
        );
        assert_eq!(
            runs[2]["no_handoff_cycles_per_packet"], runs[1]["cycles_per_packet"],
            "{stdout}"
        );
        assert!(stderr.contains("handoff_in="), "{stderr}");
    }
    for bad in [
        &["keepalive", "--workers", "2"][..],
        &["established", "--workers", "5"][..],
        &["established", "--workers", "2", "--handoff-fraction", "1.5"][..],
        &["established", "--cpus", "0,1,0"][..],
        &["established", "--cpus", "0"][..],
    ] {
        let out = bench(bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", text(&out.stderr));
    }
}
