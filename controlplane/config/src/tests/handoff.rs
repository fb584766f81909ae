//! `virtual.mode = "handoff"` (TCP handoff), `real.agent` and the dataplane keys of
//! the control channel: what loads, what a handoff virtual refuses and why.

use super::*;

/// Ports, reals s1 and s2 with agents (s1 on the default port), s3 without.
fn agents(dataplane_keys: &str, virtual_keys: &str) -> String {
    doc(
        dataplane_keys,
        &format!(
            "{PORTS}[[real]]\nname = \"s1\"\naddress = \"198.19.0.11:80\"\nagent = \"198.19.0.11\"\n\
             [[real]]\nname = \"s2\"\naddress = \"198.19.0.12:80\"\nagent = \"198.19.0.12:7000\"\n\
             [[real]]\nname = \"s3\"\naddress = \"198.19.0.13:80\"\n\
             {WWW}mode = \"handoff\"\n{virtual_keys}\n"
        ),
    )
}

#[test]
fn a_handoff_virtual_loads_with_its_agents_and_defaults() {
    let c = ok(&agents(
        "",
        "bind = [\"s1\", \"s2\"]\npredictor = \"maglev\"",
    ));
    assert_eq!(c.virtuals[0].mode, Mode::Handoff);
    assert_eq!(
        c.reals[0].agent,
        Some("198.19.0.11:7470".parse().unwrap()),
        "the default port"
    );
    assert_eq!(c.reals[1].agent, Some("198.19.0.12:7000".parse().unwrap()));
    assert_eq!(c.reals[2].agent, None);
    assert_eq!(c.dataplane.handoff_timeout, Duration::from_secs(1));
    assert_eq!(c.dataplane.agent_heartbeat, Duration::from_secs(1));
    assert_eq!(c.dataplane.agent_dead_time, Duration::from_secs(3));
    round_trip(&c);
    let farm = c.farm();
    assert_eq!(farm.virtuals[0].mode, balance::Mode::Handoff);
    assert_eq!(farm.reals[1].agent, c.reals[1].agent);
    // Its reals keep their pools: the splice fallback uses them.
    assert_eq!(farm.reals[0].pool, c.reals[0].pool);
    let c = ok(&agents(
        "handoff_timeout = \"300ms\"\nagent_heartbeat = \"500ms\"\nagent_dead_time = \"2s\"",
        "bind = [\"s1\"]",
    ));
    assert_eq!(c.dataplane.handoff_timeout, Duration::from_millis(300));
    assert_eq!(c.dataplane.agent_dead_time, Duration::from_secs(2));
}

#[test]
fn a_handoff_virtual_runs_on_several_workers() {
    // The agents' answers are steered to the worker that asked (the data plane's
    // `flow::channel_steer`): no one-worker limit.
    let c = ok(&agents("workers = 2", "bind = [\"s1\"]"));
    assert_eq!(c.dataplane.workers, 2);
    assert_eq!(c.virtuals[0].mode, Mode::Handoff);
}

#[test]
fn a_handoff_virtual_refuses_what_it_cannot_do() {
    let cases = [
        (
            "",
            "bind = [\"s1\", \"s3\"]",
            "virtual[0].bind",
            "virtual[0].bind: real s3 has no agent; a handoff virtual hands connections to the agent on each real's host: give it agent = \"198.19.0.13:7470\"",
        ),
        (
            "",
            "bind = [\"s1\"]\nforward_for = \"header\"",
            "virtual[0].forward_for",
            "virtual[0].forward_for: a handoff virtual's back end continues the client's own TCP sequence numbers, so Splicer cannot add bytes to the request (and the back end sees the client's address anyway: the connection comes from it); remove forward_for",
        ),
        (
            "",
            "bind = [\"s1\"]\npredictor = \"leastconns\"",
            "virtual[0].predictor",
            "virtual[0].predictor: \"leastconns\" ranks reals by requests in flight or response times, which Splicer does not see once a connection is handed off: use roundrobin, weighted or maglev",
        ),
        (
            "",
            "bind = [\"s1\"]\nmax_pipeline = 4",
            "virtual[0].max_pipeline",
            "virtual[0].max_pipeline: a handed-off connection's later requests go to its back end directly: remove max_pipeline",
        ),
    ];
    for (dp_keys, keys, key, want) in cases {
        assert_eq!(invalid(&agents(dp_keys, keys), key), want, "{keys}");
    }
}

#[test]
fn agents_are_addresses_on_a_port_subnet() {
    let text = agents("", "bind = [\"s1\"]").replace("198.19.0.11\"\n", "198.19.0.11:x\"\n");
    assert_eq!(
        invalid(&text, "real[0].agent"),
        "real[0].agent: \"198.19.0.11:x\" is not an IPv4 address with an optional UDP port (like 198.19.0.11:7470)"
    );
    let text =
        agents("", "bind = [\"s1\"]").replace("agent = \"198.19.0.11\"", "agent = \"10.1.2.3\"");
    let text = text.replace(
        "address = \"198.19.0.1/24\"",
        "address = \"198.19.0.1/24\"\ngateway = \"198.19.0.254\"",
    );
    assert_eq!(
        invalid(&text, "virtual[0].bind"),
        "virtual[0].bind: real s1's agent 10.1.2.3:7470 is on no port's subnet: after a handoff Splicer forwards the client's packets to the back end by rewriting only their Ethernet addresses, so the back end must share a segment with one of Splicer's ports (or give the real handoff_mode = \"routed\")"
    );
    // Routed, the same agent behind the gateway loads; the real's address is where the
    // client's packets go.
    let routed = text.replace(
        "agent = \"10.1.2.3\"",
        "agent = \"10.1.2.3\"\nhandoff_mode = \"routed\"",
    );
    let c = ok(&routed);
    assert_eq!(c.reals[0].handoff_mode, HandoffMode::Routed);
    assert_eq!(c.reals[1].handoff_mode, HandoffMode::L2, "the default");
    round_trip(&c);
    let farm = c.farm();
    assert!(farm.reals[0].handoff_routed && !farm.reals[1].handoff_routed);
    // Without any gateway it cannot be reached.
    let unreachable = agents("", "bind = [\"s1\"]").replace(
        "agent = \"198.19.0.11\"",
        "agent = \"10.1.2.3\"\nhandoff_mode = \"routed\"",
    );
    assert_eq!(
        invalid(&unreachable, "virtual[0].bind"),
        "virtual[0].bind: real s1's agent 10.1.2.3:7470 is on no port's subnet and no port has a gateway, so Splicer cannot reach it; put it on a port's subnet or give the port that leads to it a gateway"
    );
    assert!(invalid(
        &agents("handoff_timeout = \"0s\"", "bind = [\"s1\"]"),
        "dataplane.handoff_timeout"
    )
    .contains("greater than zero"));
}

#[test]
fn a_handoff_virtual_binds_reals_only() {
    let url = "[[url]]\nname = \"away\"\nurl = \"http://away.example/%d\"\n";
    let text = agents("", "bind = [\"s1\", \"away\"]")
        .replace("[[virtual]]", &format!("{url}[[virtual]]"));
    assert_eq!(
        invalid(&text, "virtual[0].bind"),
        "virtual[0].bind: away is a URL; a handoff virtual binds reals only (each with an agent to hand connections to)"
    );
}

#[test]
fn handoff_mode_is_l2_or_routed_and_needs_an_agent() {
    let text = agents("", "bind = [\"s1\"]");
    let bad = text.replace(
        "agent = \"198.19.0.11\"",
        "agent = \"198.19.0.11\"\nhandoff_mode = \"l3\"",
    );
    assert_eq!(
        invalid(&bad, "real[0].handoff_mode"),
        "real[0].handoff_mode: unknown handoff_mode \"l3\"; accepted values: l2, routed"
    );
    let no_agent = text.replace(
        "address = \"198.19.0.13:80\"",
        "address = \"198.19.0.13:80\"\nhandoff_mode = \"routed\"",
    );
    assert_eq!(
        invalid(&no_agent, "real[2].handoff_mode"),
        "real[2].handoff_mode: real s3 has no agent, and handoff_mode says how its agent's host is reached after a handoff: give it agent = \"198.19.0.13:7470\" or remove handoff_mode"
    );
    // On a port's subnet, routed is allowed too (the addresses are rewritten anyway).
    let on_link = text.replace(
        "agent = \"198.19.0.11\"",
        "agent = \"198.19.0.11\"\nhandoff_mode = \"routed\"",
    );
    assert_eq!(ok(&on_link).reals[0].handoff_mode, HandoffMode::Routed);
}
