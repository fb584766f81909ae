//! The checks of local reals (`local = true`, issue 15 item 6's local service): a
//! request routed to one has its client connection replayed into the kernel of
//! Splicer's own host through an exception port, addressed to the VIP and its port as
//! the client made it, and Splicer then only translates the connection's segments.

use super::invalid;
use crate::{Config, ConfigError, Mode};

/// Every local real: no agent, an address on a port's subnet (the exception port), and
/// bound only by `mode = "splice"` virtuals listening on the real's port.
pub(super) fn reals(config: &Config) -> Result<(), ConfigError> {
    for (i, real) in config.reals.iter().enumerate() {
        if !real.local {
            continue;
        }
        let key = |field: &str| format!("real[{i}].{field}");
        let name = &real.name;
        if real.agent.is_some() {
            return invalid(
                key("local"),
                format!(
                    "real {name} is local (served by Splicer's own host) and has an agent: a local real needs no handoff agent; remove agent or local"
                ),
            );
        }
        if !config
            .ports
            .iter()
            .any(|p| p.address.contains(*real.address.ip()))
        {
            return invalid(
                key("address"),
                format!(
                    "local real {name}'s address {} is on no port's subnet: it must be the address of the kernel side of an exception port (a net_tap port), where Splicer replays the client's connection",
                    real.address.ip()
                ),
            );
        }
        for (j, v) in config.virtuals.iter().enumerate() {
            let binds = v
                .bind
                .iter()
                .chain(v.rules.iter().flat_map(|r| &r.bind))
                .any(|n| n == name);
            if !binds {
                continue;
            }
            if v.mode != Mode::Splice {
                return invalid(
                    format!("virtual[{j}].bind"),
                    format!(
                        "real {name} is local; only mode = \"splice\" virtuals serve local reals (got mode = {:?})",
                        v.mode.name()
                    ),
                );
            }
            if v.address.port() != real.address.port() {
                return invalid(
                    key("address"),
                    format!(
                        "local real {name} listens on port {}, but virtual {} that binds it on port {}: the local kernel receives the client's connection as the client made it, to the VIP and its port, so the ports must be equal",
                        real.address.port(),
                        v.name,
                        v.address.port()
                    ),
                );
            }
        }
    }
    Ok(())
}
