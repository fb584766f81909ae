//! `real.check`, `real.slowstart` and the outlier keys of `[dataplane]`.

use super::*;
use crate::health::{Check, CheckKind, Expect};

/// One real `s1` with `keys` added to its table.
fn real_with(keys: &str) -> String {
    doc(
        "",
        &format!("{PORTS}{WWW}\n[[real]]\nname = \"s1\"\naddress = \"198.19.0.11:80\"\n{keys}\n"),
    )
}

#[test]
fn a_check_table_takes_its_defaults() {
    let c = ok(&real_with("check = {}"));
    assert_eq!(c.reals[0].check, Some(Check::default()));
    let d = Check::default();
    assert_eq!(
        (
            d.kind,
            d.path.as_str(),
            d.interval,
            d.timeout,
            d.rise,
            d.fall,
            d.expect
        ),
        (
            CheckKind::Http,
            "/health",
            Duration::from_secs(2),
            Duration::from_secs(1),
            2,
            3,
            Expect::Status(200)
        )
    );
    // No table: no active check; slow start off.
    let c = ok(&real_with(""));
    assert_eq!(
        (c.reals[0].check.clone(), c.reals[0].slowstart),
        (None, Duration::ZERO)
    );
    round_trip(&c);
}

#[test]
fn every_check_key_is_read_and_written_back() {
    let c = ok(&real_with(
        "check = { kind = \"tcp\", path = \"/ping?x=1\", interval = \"500ms\", timeout = \"200ms\", rise = 1, fall = 5, expect = \"3xx\" }\nslowstart = \"20s\"",
    ));
    let check = c.reals[0].check.clone().unwrap();
    assert_eq!(check.kind, CheckKind::Tcp);
    assert_eq!(check.path, "/ping?x=1");
    assert_eq!(check.interval, Duration::from_millis(500));
    assert_eq!(check.timeout, Duration::from_millis(200));
    assert_eq!((check.rise, check.fall), (1, 5));
    assert_eq!(check.expect, Expect::Class(3));
    assert_eq!(c.reals[0].slowstart, Duration::from_secs(20));
    round_trip(&c);
    let c = ok(&real_with("check = { expect = \"204\" }"));
    assert_eq!(
        c.reals[0].check.as_ref().unwrap().expect,
        Expect::Status(204)
    );
    round_trip(&c);
}

#[test]
fn the_data_plane_gets_the_request_and_the_times() {
    let c = ok(&real_with(
        "check = { path = \"/h\", timeout = \"250ms\", expect = \"2xx\" }",
    ));
    let r = &c.reals[0];
    let d = r.check.as_ref().unwrap().to_dataplane(r);
    assert_eq!(
        d.request,
        b"GET /h HTTP/1.1\r\nHost: 198.19.0.11:80\r\nUser-Agent: splicer-check\r\nConnection: close\r\n\r\n"
    );
    assert_eq!((d.interval_ms, d.timeout_ms), (2000, 250));
    assert_eq!(d.expect, balance::Expect::Class(2));
    let c = ok(&real_with("check = { kind = \"tcp\" }"));
    let r = &c.reals[0];
    assert!(r.check.as_ref().unwrap().to_dataplane(r).request.is_empty());
    // The farm carries it, every real up.
    let farm = c.plan(&mut FarmIds::default()).farm;
    assert!(farm.reals[0].check.is_some());
    assert_eq!(farm.reals[0].health, balance::Health::UP);
}

#[test]
fn bad_check_values_name_the_key_and_the_range() {
    for (keys, key, says) in [
        ("check = 3", "real[0].check", "expected a table"),
        (
            "check = { kind = \"udp\" }",
            "real[0].check.kind",
            "\"http\" or \"tcp\"",
        ),
        (
            "check = { path = \"health\" }",
            "real[0].check.path",
            "must start with '/'",
        ),
        (
            "check = { path = \"/a b\" }",
            "real[0].check.path",
            "without spaces",
        ),
        (
            "check = { interval = \"10ms\" }",
            "real[0].check.interval",
            "between 100ms and 1h",
        ),
        (
            "check = { timeout = \"3s\" }",
            "real[0].check.timeout",
            "the check's interval (2s)",
        ),
        (
            "check = { timeout = \"1ms\" }",
            "real[0].check.timeout",
            "between 10ms",
        ),
        (
            "check = { rise = 0 }",
            "real[0].check.rise",
            "between 1 and 100",
        ),
        (
            "check = { fall = 101 }",
            "real[0].check.fall",
            "between 1 and 100",
        ),
        (
            "check = { fall = \"3\" }",
            "real[0].check.fall",
            "expected an integer",
        ),
        (
            "check = { expect = 700 }",
            "real[0].check.expect",
            "between 100 and 599",
        ),
        (
            "check = { expect = \"6xx\" }",
            "real[0].check.expect",
            "class like \"2xx\"",
        ),
        (
            "check = { expected = 200 }",
            "real[0].check.expected",
            "unknown key",
        ),
        ("slowstart = \"2h\"", "real[0].slowstart", "at most 1h"),
    ] {
        let m = invalid(&real_with(keys), key);
        assert!(m.contains(says), "{keys}: {m}");
    }
}

#[test]
fn outlier_keys_have_defaults_and_ranges() {
    let c = ok(&dp(""));
    let d = &c.dataplane;
    assert_eq!(
        (
            d.outlier_errors,
            d.outlier_ejection,
            d.outlier_max_ejection,
            d.max_ejection_percent
        ),
        (5, Duration::from_secs(30), Duration::from_secs(300), 50)
    );
    let c = ok(&dp(
        "outlier_errors = 0\noutlier_ejection = \"5s\"\nmax_ejection_percent = 100",
    ));
    assert_eq!(c.dataplane.outlier_errors, 0);
    assert_eq!(c.dataplane.outlier_ejection, Duration::from_secs(5));
    round_trip(&c);
    let m = invalid(
        &dp("max_ejection_percent = 101"),
        "dataplane.max_ejection_percent",
    );
    assert!(m.contains("at most 100"), "{m}");
    let m = invalid(&dp("outlier_errors = 1001"), "dataplane.outlier_errors");
    assert!(m.contains("at most 1000"), "{m}");
    let m = invalid(
        &dp("outlier_ejection = \"0s\""),
        "dataplane.outlier_ejection",
    );
    assert!(m.contains("greater than zero"), "{m}");
}
