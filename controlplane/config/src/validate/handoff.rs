//! The checks of `mode = "handoff"` virtuals (TCP handoff, US 7,831,731): Splicer reads
//! the request and hands the client's connection to the chosen real's agent, whose
//! kernel answers the client directly. What needs Splicer to see the connection after
//! the handoff, or to change the client's bytes, cannot apply.

use super::invalid;
use crate::{defaults, Config, ConfigError, ForwardFor, HandoffMode, Mode, Predictor};

/// Every handoff virtual: its reals have agents on a port's subnet (layer-2 mode) or
/// reachable through a gateway (`handoff_mode = "routed"`), no header rewriting, no
/// pipelining knobs, no predictor that needs to see responses or the end of requests.
/// Any number of workers: each runs its own channel to every agent, and the agents'
/// answers are steered to the worker that asked (the data plane's
/// `flow::channel_steer`). A real's `handoff_mode = "routed"` needs its `agent`.
pub(super) fn virtuals(config: &Config) -> Result<(), ConfigError> {
    for (i, r) in config.reals.iter().enumerate() {
        if r.handoff_mode != HandoffMode::L2 && r.agent.is_none() {
            return invalid(
                format!("real[{i}].handoff_mode"),
                format!(
                    "real {} has no agent, and handoff_mode says how its agent's host is reached after a handoff: give it agent = \"{}:{}\" or remove handoff_mode",
                    r.name,
                    r.address.ip(),
                    defaults::AGENT_PORT
                ),
            );
        }
    }
    for (i, v) in config.virtuals.iter().enumerate() {
        if v.mode != Mode::Handoff {
            continue;
        }
        let key = |field: &str| format!("virtual[{i}].{field}");
        if v.forward_for != ForwardFor::None {
            return invalid(
                key("forward_for"),
                "a handoff virtual's back end continues the client's own TCP sequence numbers, so Splicer cannot add bytes to the request (and the back end sees the client's address anyway: the connection comes from it); remove forward_for",
            );
        }
        if matches!(
            v.predictor,
            Predictor::Fastest | Predictor::Qos | Predictor::LeastConns
        ) {
            return invalid(
                key("predictor"),
                format!(
                    "{:?} ranks reals by requests in flight or response times, which Splicer does not see once a connection is handed off: use roundrobin, weighted or maglev",
                    v.predictor.name()
                ),
            );
        }
        if v.max_pipeline != defaults::MAX_PIPELINE {
            return invalid(
                key("max_pipeline"),
                "a handed-off connection's later requests go to its back end directly: remove max_pipeline",
            );
        }
        if v.max_held != defaults::MAX_HELD {
            return invalid(
                key("max_held"),
                "a handed-off connection's responses never pass through Splicer: remove max_held",
            );
        }
        let members = v.bind.iter().chain(v.rules.iter().flat_map(|r| &r.bind));
        for name in members {
            let Some(real) = config.reals.iter().find(|r| r.name == *name) else {
                continue;
            };
            let Some(agent) = real.agent else {
                return invalid(
                    key("bind"),
                    format!(
                        "real {name} has no agent; a handoff virtual hands connections to the agent on each real's host: give it agent = \"{}:{}\"",
                        real.address.ip(),
                        defaults::AGENT_PORT
                    ),
                );
            };
            let on_link = config.ports.iter().any(|p| p.address.contains(*agent.ip()));
            let routed = real.handoff_mode == HandoffMode::Routed;
            if !on_link && !routed {
                return invalid(
                    key("bind"),
                    format!(
                        "real {name}'s agent {agent} is on no port's subnet: after a handoff Splicer forwards the client's packets to the back end by rewriting only their Ethernet addresses, so the back end must share a segment with one of Splicer's ports (or give the real handoff_mode = \"routed\")"
                    ),
                );
            }
            if !on_link && !config.ports.iter().any(|p| p.gateway.is_some()) {
                return invalid(
                    key("bind"),
                    format!(
                        "real {name}'s agent {agent} is on no port's subnet and no port has a gateway, so Splicer cannot reach it; put it on a port's subnet or give the port that leads to it a gateway"
                    ),
                );
            }
        }
    }
    Ok(())
}
