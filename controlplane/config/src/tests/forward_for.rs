//! `virtual.forward_for` and `virtual.forward_for_incoming`.

use super::*;

#[test]
fn default_is_off_and_not_written_back() {
    let c = ok(&www(""));
    let v = &c.virtuals[0];
    assert_eq!(v.forward_for, ForwardFor::None);
    assert_eq!(v.forward_for_incoming, ForwardForIncoming::Replace);
    assert_eq!(v.forwarding(), splicer_http::ForwardFor::Off);
    assert!(!c.to_toml().contains("forward_for"));
    let plan = c.plan(&mut Default::default());
    assert_eq!(plan.services[0].forward_for, splicer_http::ForwardFor::Off);
}

#[test]
fn header_with_replace_or_append_reaches_the_service() {
    use splicer_http::Incoming;
    for (keys, want) in [
        (
            "forward_for = \"header\"",
            splicer_http::ForwardFor::Header(Incoming::Replace),
        ),
        (
            "forward_for = \"header\"\nforward_for_incoming = \"replace\"",
            splicer_http::ForwardFor::Header(Incoming::Replace),
        ),
        (
            "forward_for = \"header\"\nforward_for_incoming = \"append\"",
            splicer_http::ForwardFor::Header(Incoming::Append),
        ),
        ("forward_for = \"none\"", splicer_http::ForwardFor::Off),
    ] {
        let c = ok(&www(keys));
        assert_eq!(c.virtuals[0].forwarding(), want, "{keys}");
        let plan = c.plan(&mut Default::default());
        assert_eq!(plan.services[0].forward_for, want, "{keys}");
        round_trip(&c);
    }
}

#[test]
fn proxy_v2_is_only_for_tcp_virtuals() {
    let m = invalid(&www("forward_for = \"proxy-v2\""), "virtual[0].forward_for");
    assert!(m.contains("needs mode = \"tcp\""), "{m}");
    assert!(m.contains("pooled"), "{m}");
    let c = ok(&www("mode = \"tcp\"\nforward_for = \"proxy-v2\""));
    assert_eq!(c.virtuals[0].forward_for, ForwardFor::ProxyV2);
    assert_eq!(
        c.virtuals[0].forwarding(),
        splicer_http::ForwardFor::ProxyV2
    );
    let plan = c.plan(&mut Default::default());
    assert_eq!(
        plan.services[0].forward_for,
        splicer_http::ForwardFor::ProxyV2
    );
    assert!(c.to_toml().contains("forward_for = \"proxy-v2\""));
    round_trip(&c);
    // forward_for_incoming is about X-Forwarded-For, which a tcp virtual never sees.
    let m = invalid(
        &www("mode = \"tcp\"\nforward_for = \"proxy-v2\"\nforward_for_incoming = \"append\""),
        "virtual[0].forward_for_incoming",
    );
    assert!(m.contains("no effect"), "{m}");
    let m = invalid(&www("forward_for = \"proxy\""), "virtual[0].forward_for");
    assert!(m.contains("version 1 is not built"), "{m}");
}

#[test]
fn bad_values_and_useless_combinations() {
    let m = invalid(&www("forward_for = \"yes\""), "virtual[0].forward_for");
    assert_eq!(
        m,
        "virtual[0].forward_for: unknown forward_for \"yes\"; accepted values: none, header, proxy-v2"
    );
    let m = invalid(&www("forward_for = true"), "virtual[0].forward_for");
    assert!(m.contains("string"), "{m}");
    let m = invalid(
        &www("forward_for = \"header\"\nforward_for_incoming = \"keep\""),
        "virtual[0].forward_for_incoming",
    );
    assert!(m.ends_with("accepted values: replace, append"), "{m}");
    let m = invalid(
        &www("forward_for_incoming = \"append\""),
        "virtual[0].forward_for_incoming",
    );
    assert!(
        m.contains("no effect without forward_for = \"header\""),
        "{m}"
    );
    let redirect = doc(
        "",
        &format!(
            "{PORTS}[[url]]\nname = \"u\"\nurl = \"http://198.18.0.9/\"\n{WWW}mode = \"redirect\"\nbind = [\"u\"]\nforward_for = \"header\"\n"
        ),
    );
    let m = invalid(&redirect, "virtual[0].forward_for");
    assert!(m.contains("splice virtuals"), "{m}");
}
