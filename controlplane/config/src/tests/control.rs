//! The control socket and the metrics endpoint: defaults, settings, errors.

use super::*;

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

#[test]
fn metrics_off_loopback_needs_metrics_public() {
    let e = invalid(&dp("metrics = \"0.0.0.0:9100\""), "dataplane.metrics");
    assert!(
        e.contains("not a loopback address") && e.contains("metrics_public = true"),
        "{e}"
    );
    let e = invalid(&dp("metrics = \"198.18.0.1:9100\""), "dataplane.metrics");
    assert!(e.contains("metrics_public"), "{e}");
    let c = ok(&dp("metrics = \"0.0.0.0:9100\"\nmetrics_public = true"));
    assert!(c.dataplane.metrics_public);
    assert!(c.to_toml().lines().any(|l| l == "metrics_public = true"));
    assert!(!ok(&dp("metrics = \"[::1]:9100\"")).dataplane.metrics_public);
    assert!(!ok(&dp("")).to_toml().contains("metrics_public"));
    assert_eq!(
        invalid(&dp("metrics_public = \"yes\""), "dataplane.metrics_public"),
        "dataplane.metrics_public: expected true or false, got string \"yes\""
    );
}

#[test]
fn read_only_control_socket() {
    let c = ok(&dp("control_socket_readonly = \"/run/splicer/ro.sock\""));
    assert_eq!(
        c.dataplane.control_socket_readonly.as_deref(),
        Some(std::path::Path::new("/run/splicer/ro.sock"))
    );
    assert!(c
        .to_toml()
        .lines()
        .any(|l| l == "control_socket_readonly = \"/run/splicer/ro.sock\""));
    assert_eq!(
        ok(&dp("control_socket_readonly = \"\""))
            .dataplane
            .control_socket_readonly,
        None
    );
    assert_eq!(ok(&dp("")).dataplane.control_socket_readonly, None);
    const KEY: &str = "dataplane.control_socket_readonly";
    assert!(
        invalid(&dp("control_socket_readonly = \"ro.sock\""), KEY).contains("not an absolute path")
    );
    let e = invalid(
        &dp("control_socket_readonly = \"/run/splicer/splicer.sock\""),
        KEY,
    );
    assert!(e.contains("is the admin control_socket too"), "{e}");
}
