//! The real binary on a real EAL: `baseline` runs, verifies every packet and prints its
//! JSON line; a worker that makes one mistake makes the run fail.
//!
//! Each run is its own process (the EAL can be initialised once per process) with
//! `--no-huge --no-shconf` and its own `--file-prefix`; runs are serialised because each
//! one spins on both CPUs. DPDK wants root for /var/run/dpdk, as the other EAL tests do.

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

#[test]
fn baseline_runs_and_verifies() {
    let out = bench(&[
        "baseline",
        "--no-huge",
        "--seconds",
        "0.5",
        "--flows",
        "300",
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(
        out.status.success(),
        "exit {:?}\n{stdout}\n{stderr}",
        out.status
    );
    let line = stdout.lines().last().expect("a JSON line");
    let v: serde_json::Value = serde_json::from_str(line).expect("the last line is JSON");
    assert_eq!(v["scenario"], "baseline");
    assert_eq!(v["flows"], 300);
    assert_eq!(v["hugepages"], false);
    assert_eq!(v["burst"], 32);
    assert_eq!(v["ratio_to_baseline"], 1.0);
    assert!(v["packets"].as_u64().unwrap() > 0, "{line}");
    assert!(v["mpps"].as_f64().unwrap() > 0.0, "{line}");
    assert!(v["cycles_per_packet"].as_f64().unwrap() > 0.0, "{line}");
    let secs = v["seconds"].as_f64().unwrap();
    assert!((0.45..2.0).contains(&secs), "{line}");
    assert!(v["dpdk"].as_str().unwrap().starts_with("22.11"), "{line}");
    assert!(!v["cpu"].as_str().unwrap().is_empty());
    assert!(stderr.contains("baseline:"), "{stderr}");
}

#[test]
fn a_packet_count_ends_the_run() {
    let out = bench(&[
        "baseline",
        "--no-huge",
        "--packets",
        "200000",
        "--warmup-ms",
        "0",
        "--burst",
        "16",
        "--inflight",
        "64",
        "--payload",
        "101",
    ]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(v["scenario"], "baseline");
    assert!(v["packets"].as_u64().unwrap() >= 200_000);
    assert_eq!(v["frame_bytes"], 155);
    assert_eq!(v["inflight"], 64);
    assert!(stderr.contains("baseline:"), "{stderr}");
}

#[test]
fn every_worker_mistake_fails_the_run() {
    for (fault, says) in [
        ("checksum@1000", "wrong TCP checksum"),
        ("seq@5", "sequence number"),
        ("port@20000", "ports"),
        ("drop@3000", "sequence number"),
    ] {
        let out = bench(&[
            "baseline",
            "--no-huge",
            "--seconds",
            "0.3",
            "--warmup-ms",
            "0",
            "--flows",
            "1",
            "--inject-fault",
            fault,
        ]);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(1), "{fault}: {stdout}\n{stderr}");
        assert!(
            stdout.trim().is_empty(),
            "{fault}: no JSON line on failure: {stdout}"
        );
        assert!(
            stderr.contains("verification failed") && stderr.contains(says),
            "{fault}: {stderr}"
        );
    }
}

#[test]
fn impossible_options_are_refused_before_the_eal_starts() {
    let out = bench(&["baseline", "--no-huge", "--inflight", "9000"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--inflight"));
    let out = bench(&["baseline", "--no-huge", "--inject-fault", "bogus"]);
    assert_eq!(out.status.code(), Some(2));
    let out = bench(&["baseline", "--no-huge", "--hugepages"]);
    assert_eq!(out.status.code(), Some(2), "clap refuses both memory flags");
}
