//! The checks of `mode = "tcp"` virtuals (L4 pass-through): a connection of such a
//! virtual is spliced to a real before any byte of it is read, so nothing that needs
//! an HTTP request can apply to it, and nothing that reads HTTP can be its backup.

use super::invalid;
use crate::{defaults, Config, ConfigError, ForwardFor, HashKey, Mode, Predictor};

/// Every tcp virtual: no rules, no header or cookie hash, no predictor that needs
/// response times, no pipelining knobs; backups that can take a connection unread.
pub(super) fn virtuals(config: &Config) -> Result<(), ConfigError> {
    let mode_of = |name: &str| {
        config
            .virtuals
            .iter()
            .find(|v| v.name == name)
            .map(|v| v.mode)
    };
    let is_url = |name: &str| config.urls.iter().any(|u| u.name == name);
    for (i, v) in config.virtuals.iter().enumerate() {
        let key = |field: &str| format!("virtual[{i}].{field}");
        let backup_mode = v.backup.as_deref().and_then(mode_of);
        if v.mode != Mode::Tcp {
            if v.forward_for == ForwardFor::ProxyV2 {
                return invalid(
                    key("forward_for"),
                    format!(
                        "\"proxy-v2\" needs mode = \"tcp\": a PROXY protocol header describes a whole server connection, and a {} virtual's server connections are pooled, each carrying the requests of many clients one after the other (pool = 0 still reuses an idle one); use \"header\", which is written into every request",
                        v.mode.name()
                    ),
                );
            }
            if backup_mode == Some(Mode::Tcp) {
                return invalid(
                    key("backup"),
                    format!(
                        "{} is a tcp virtual; the backup of a {} virtual must read HTTP (a request already read cannot be passed through)",
                        v.backup.as_deref().unwrap_or_default(),
                        v.mode.name()
                    ),
                );
            }
            continue;
        }
        if !v.rules.is_empty() {
            return invalid(
                key("rule"),
                "a tcp virtual reads no request, so it cannot have content rules: remove its [[virtual.rule]] tables (or use mode = \"splice\")",
            );
        }
        if v.hash != HashKey::Source {
            return invalid(
                key("hash"),
                "a tcp virtual reads no header or cookie: only hash = \"source\" (the client's address) applies",
            );
        }
        if v.forward_for == ForwardFor::Header {
            return invalid(
                key("forward_for"),
                "a tcp virtual reads no request head to write X-Forwarded-For into: use forward_for = \"proxy-v2\" (a PROXY protocol header at the start of each server connection)",
            );
        }
        if matches!(v.predictor, Predictor::Fastest | Predictor::Qos) {
            return invalid(
                key("predictor"),
                format!(
                    "{:?} ranks reals by HTTP response times, which a tcp virtual cannot measure: use roundrobin, weighted, leastconns or maglev",
                    v.predictor.name()
                ),
            );
        }
        if v.max_pipeline != defaults::MAX_PIPELINE {
            return invalid(
                key("max_pipeline"),
                "a tcp virtual has no requests to pipeline: remove max_pipeline",
            );
        }
        if v.max_held != defaults::MAX_HELD {
            return invalid(
                key("max_held"),
                "a tcp virtual has no requests to pipeline: remove max_held",
            );
        }
        if let Some(b) = v.backup.as_deref() {
            if is_url(b) {
                return invalid(
                    key("backup"),
                    format!("{b} is a URL; a tcp virtual cannot redirect (it reads no request): use a real or another tcp virtual"),
                );
            }
            if let Some(m) = backup_mode.filter(|&m| m != Mode::Tcp) {
                return invalid(
                    key("backup"),
                    format!(
                        "{b} is a {} virtual; the backup of a tcp virtual must be a real or another tcp virtual",
                        m.name()
                    ),
                );
            }
        }
    }
    Ok(())
}
