//! `virtual.mode = "tcp"` (L4 pass-through) and `dataplane.tcp_idle_timeout`: what a
//! tcp virtual accepts, what it refuses (everything that needs an HTTP request), its
//! reals' pools, and the same checks on live edits.

use super::*;
use crate::edit::Edit;

fn tcp(keys: &str) -> String {
    www(&format!("mode = \"tcp\"\n{keys}"))
}

#[test]
fn a_tcp_virtual_loads_and_its_only_reals_keep_no_pool() {
    let c = ok(&tcp(
        "bind = [\"s1\", \"s2\"]\npredictor = \"leastconns\"\nsticky = \"30s\"\nbackup = \"s3\"",
    ));
    assert_eq!(c.virtuals[0].mode, Mode::Tcp);
    round_trip(&c);
    let farm = c.farm();
    assert_eq!(farm.virtuals[0].mode, balance::Mode::Tcp);
    assert_eq!(farm.virtuals[0].bind, vec![0, 1]);
    assert!(farm.virtuals[0].sticky.is_some());
    // s1 and s2 serve the tcp virtual only; s3 (its backup, bound by nobody) keeps
    // its pool.
    let pools: Vec<u16> = farm.reals.iter().map(|r| r.pool).collect();
    assert_eq!(pools, vec![0, 0, c.reals[2].pool]);
    assert_eq!(c.dataplane.tcp_idle_timeout, Duration::from_secs(300));
    // maglev on the client's address is fine.
    ok(&tcp(
        "bind = [\"s1\"]\npredictor = \"maglev\"\nhash = \"source\"",
    ));
    ok(&tcp("bind = [\"s1\"]\npredictor = \"weighted\""));
}

#[test]
fn a_real_shared_with_an_http_virtual_keeps_its_pool() {
    let text = with_reals(
        "[[virtual]]\nname = \"tls\"\naddress = \"198.18.0.100:443\"\nmode = \"tcp\"\nbind = [\"s1\", \"s2\"]\n\
         [[virtual]]\nname = \"www\"\naddress = \"198.18.0.100:80\"\nbind = [\"s2\"]\n",
    );
    let c = ok(&text);
    let pools: Vec<u16> = c.farm().reals.iter().map(|r| r.pool).collect();
    assert_eq!(pools, vec![0, c.reals[1].pool, c.reals[2].pool]);
    assert!(c.reals[1].pool > 0);
}

#[test]
fn a_tcp_virtual_refuses_what_needs_http() {
    let cases = [
        (
            "bind = [\"s1\"]\n[[virtual.rule]]\npath_prefix = \"/a\"\nbind = [\"s2\"]",
            "virtual[0].rule",
            "virtual[0].rule: a tcp virtual reads no request, so it cannot have content rules: remove its [[virtual.rule]] tables (or use mode = \"splice\")",
        ),
        (
            "bind = [\"s1\"]\npredictor = \"maglev\"\nhash = \"header:X-User\"",
            "virtual[0].hash",
            "virtual[0].hash: a tcp virtual reads no header or cookie: only hash = \"source\" (the client's address) applies",
        ),
        (
            "bind = [\"s1\"]\npredictor = \"fastest\"",
            "virtual[0].predictor",
            "virtual[0].predictor: \"fastest\" ranks reals by HTTP response times, which a tcp virtual cannot measure: use roundrobin, weighted, leastconns or maglev",
        ),
        (
            "bind = [\"s1\"]\npredictor = \"qos\"",
            "virtual[0].predictor",
            "virtual[0].predictor: \"qos\" ranks reals by HTTP response times, which a tcp virtual cannot measure: use roundrobin, weighted, leastconns or maglev",
        ),
        (
            "bind = [\"s1\"]\nforward_for = \"header\"",
            "virtual[0].forward_for",
            "virtual[0].forward_for: a tcp virtual reads no request head to write X-Forwarded-For into: use forward_for = \"proxy-v2\" (a PROXY protocol header at the start of each server connection)",
        ),
        (
            "bind = [\"s1\"]\nmax_pipeline = 4",
            "virtual[0].max_pipeline",
            "virtual[0].max_pipeline: a tcp virtual has no requests to pipeline: remove max_pipeline",
        ),
        (
            "bind = [\"s1\"]\nmax_held = \"1KiB\"",
            "virtual[0].max_held",
            "virtual[0].max_held: a tcp virtual has no requests to pipeline: remove max_held",
        ),
        (
            "bind = [\"s1\", \"s1\"]",
            "virtual[0].bind",
            "virtual[0].bind: real s1 is listed twice",
        ),
        (
            "bind = [\"nope\"]",
            "virtual[0].bind",
            "virtual[0].bind: real nope does not exist",
        ),
    ];
    for (keys, key, want) in cases {
        assert_eq!(invalid(&tcp(keys), key), want, "{keys}");
    }
}

#[test]
fn tcp_backups_and_members_must_not_need_http() {
    let url = "[[url]]\nname = \"away\"\nurl = \"http://away.example/%d\"\n";
    // A URL in a tcp virtual's bind list: a redirect needs a request.
    let text = with_reals(&format!(
        "{url}[[virtual]]\nname = \"tls\"\naddress = \"198.18.0.100:443\"\nmode = \"tcp\"\nbind = [\"s1\", \"away\"]\n"
    ));
    assert_eq!(
        invalid(&text, "virtual[0].bind"),
        "virtual[0].bind: away is a URL; a tcp virtual binds reals only (a redirect needs an HTTP request)"
    );
    // A URL as its backup.
    let text = with_reals(&format!(
        "{url}[[virtual]]\nname = \"tls\"\naddress = \"198.18.0.100:443\"\nmode = \"tcp\"\nbind = [\"s1\"]\nbackup = \"away\"\n"
    ));
    assert_eq!(
        invalid(&text, "virtual[0].backup"),
        "virtual[0].backup: away is a URL; a tcp virtual cannot redirect (it reads no request): use a real or another tcp virtual"
    );
    // An HTTP virtual as its backup, and the other way round.
    let two = |tcp_backup: &str, www_backup: &str| {
        with_reals(&format!(
            "[[virtual]]\nname = \"tls\"\naddress = \"198.18.0.100:443\"\nmode = \"tcp\"\nbind = [\"s1\"]\n{tcp_backup}\n\
             [[virtual]]\nname = \"www\"\naddress = \"198.18.0.100:80\"\nbind = [\"s2\"]\n{www_backup}\n"
        ))
    };
    assert_eq!(
        invalid(&two("backup = \"www\"", ""), "virtual[0].backup"),
        "virtual[0].backup: www is a splice virtual; the backup of a tcp virtual must be a real or another tcp virtual"
    );
    assert_eq!(
        invalid(&two("", "backup = \"tls\""), "virtual[1].backup"),
        "virtual[1].backup: tls is a tcp virtual; the backup of a splice virtual must read HTTP (a request already read cannot be passed through)"
    );
    // A tcp virtual backing up another is fine.
    ok(&with_reals(
        "[[virtual]]\nname = \"tls\"\naddress = \"198.18.0.100:443\"\nmode = \"tcp\"\nbind = [\"s1\"]\nbackup = \"tls2\"\n\
         [[virtual]]\nname = \"tls2\"\naddress = \"198.18.0.100:444\"\nmode = \"tcp\"\nbind = [\"s2\"]\n",
    ));
}

#[test]
fn tcp_idle_timeout_is_checked() {
    let c = ok(&dp("tcp_idle_timeout = \"10m\""));
    assert_eq!(c.dataplane.tcp_idle_timeout, Duration::from_secs(600));
    round_trip(&c);
    assert_eq!(
        invalid(
            &dp("tcp_idle_timeout = \"0s\""),
            "dataplane.tcp_idle_timeout"
        ),
        "dataplane.tcp_idle_timeout: must be greater than zero, like \"1s\""
    );
}

#[test]
fn live_mode_changes_are_checked_like_the_file() {
    let edit = |c: &Config, mode: Mode| {
        c.edited(&Edit::Virtual {
            name: "www".into(),
            address: c.virtuals[0].address,
            mode: Some(mode),
            predictor: None,
        })
    };
    // A splice virtual with rules cannot become a tcp virtual.
    let c = ok(&rule("path_prefix = \"/a\"\nbind = [\"s2\"]"));
    let e = edit(&c, Mode::Tcp).unwrap_err();
    assert!(
        e.starts_with("virtual[0].rule: a tcp virtual reads no request"),
        "{e}"
    );
    // Without them it can, and back.
    let c = ok(&www("bind = [\"s1\"]"));
    let t = edit(&c, Mode::Tcp).expect("to tcp");
    assert_eq!(t.virtuals[0].mode, Mode::Tcp);
    assert_eq!(
        t.farm().reals[0].pool,
        0,
        "s1 now serves a tcp virtual only"
    );
    let back = edit(&t, Mode::Splice).expect("back to splice");
    assert_eq!(back.farm().reals[0].pool, c.reals[0].pool);
    // A URL beside the reals cannot stay.
    let c = ok(&with_reals(
        "[[url]]\nname = \"away\"\nurl = \"http://away.example/%d\"\n[[virtual]]\nname = \"www\"\naddress = \"198.18.0.100:80\"\nbind = [\"s1\", \"away\"]\n",
    ));
    assert_eq!(
        edit(&c, Mode::Tcp).unwrap_err(),
        "virtual www binds URLs away; a tcp virtual binds reals only: unbind them (no bind, rule del) first"
    );
}
