//! `virtual.server_close`.

use super::*;

#[test]
fn default_is_keep_and_not_written_back() {
    let c = ok(&www(""));
    assert_eq!(c.virtuals[0].server_close, ServerClose::Keep);
    assert!(!c.to_toml().contains("server_close"));
    let plan = c.plan(&mut Default::default());
    assert_eq!(
        plan.services[0].server_close,
        splicer_http::ServerClose::Keep
    );
}

#[test]
fn pass_reaches_the_service_and_bad_values_are_refused() {
    let c = ok(&www("server_close = \"pass\""));
    assert_eq!(c.virtuals[0].server_close, ServerClose::Pass);
    let plan = c.plan(&mut Default::default());
    assert_eq!(
        plan.services[0].server_close,
        splicer_http::ServerClose::Pass
    );
    assert!(c.to_toml().contains("server_close = \"pass\""));
    round_trip(&c);
    let m = invalid(&www("server_close = \"close\""), "virtual[0].server_close");
    assert_eq!(
        m,
        "virtual[0].server_close: unknown server_close \"close\"; accepted values: keep, pass"
    );
}
