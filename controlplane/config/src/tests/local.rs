//! `real.local` (local service): what loads, and what a local real refuses and why.

use super::*;

/// Ports, a local real `here` on the inside port's subnet, a plain real `s1`, and the
/// virtual `www` with `virtual_keys`.
fn local(real_keys: &str, virtual_keys: &str) -> String {
    doc(
        "",
        &format!(
            "{PORTS}[[real]]\nname = \"here\"\naddress = \"198.19.0.10:80\"\nlocal = true\n{real_keys}\n\
             [[real]]\nname = \"s1\"\naddress = \"198.19.0.11:80\"\n\
             {WWW}{virtual_keys}\n"
        ),
    )
}

#[test]
fn a_local_real_loads_and_reaches_the_data_plane() {
    let c = ok(&local(
        "pool = 0",
        "bind = [\"s1\"]\n[[virtual.rule]]\nname = \"static\"\npath_prefix = \"/static/\"\nbind = [\"here\"]",
    ));
    assert!(c.reals[0].local);
    assert!(!c.reals[1].local, "off by default");
    round_trip(&c);
    let farm = c.farm();
    assert!(farm.reals[0].local);
    assert!(!farm.reals[1].local);
}

#[test]
fn a_local_real_refuses_what_it_cannot_do() {
    let cases = [
        (
            "agent = \"198.19.0.10\"",
            "bind = [\"here\"]",
            "real[0].local",
            "real[0].local: real here is local (served by Splicer's own host) and has an agent: a local real needs no handoff agent; remove agent or local",
        ),
        (
            "",
            "bind = [\"here\"]\nmode = \"tcp\"",
            "virtual[0].bind",
            "virtual[0].bind: real here is local; only mode = \"splice\" virtuals serve local reals (got mode = \"tcp\")",
        ),
    ];
    for (real_keys, keys, key, want) in cases {
        assert_eq!(invalid(&local(real_keys, keys), key), want, "{keys}");
    }
    let text = local("", "bind = [\"here\"]").replace("198.19.0.10:80", "198.19.0.10:8080");
    assert_eq!(
        invalid(&text, "real[0].address"),
        "real[0].address: local real here listens on port 8080, but virtual www that binds it on port 80: the local kernel receives the client's connection as the client made it, to the VIP and its port, so the ports must be equal"
    );
    let text = local("", "bind = [\"here\"]")
        .replace("198.19.0.10:80", "10.1.2.3:80")
        .replace(
            "address = \"198.19.0.1/24\"",
            "address = \"198.19.0.1/24\"\ngateway = \"198.19.0.254\"",
        );
    assert_eq!(
        invalid(&text, "real[0].address"),
        "real[0].address: local real here's address 10.1.2.3 is on no port's subnet: it must be the address of the kernel side of an exception port (a net_tap port), where Splicer replays the client's connection"
    );
    let text = local("", "bind = [\"here\"]").replace("local = true", "local = \"yes\"");
    assert_eq!(
        invalid(&text, "real[0].local"),
        "real[0].local: expected true or false, got string \"yes\""
    );
}
