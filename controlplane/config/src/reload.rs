//! What a reload from the file can change in a running Splicer, and what changed.
//!
//! The reals, virtuals, URLs and DIPs (and the passive-ejection policy) are applied
//! live, as the control shell's commands are. Everything else in `[dataplane]` and the
//! `[[port]]` tables is read once at start-up (EAL, queues, pools, flow bounds and
//! timers, the control socket and metrics listener): a reload names those keys as
//! needing a restart and keeps their running values, and applies the rest.

use crate::{Config, ConfigError};
use std::collections::BTreeSet;
use std::fmt;
use toml::Value;

/// The `[dataplane]` keys the control core reads from the running configuration each
/// time it needs them (the passive-ejection policy), rather than once at start-up.
const LIVE_DATAPLANE_KEYS: [&str; 3] = [
    "outlier_ejection",
    "outlier_max_ejection",
    "max_ejection_percent",
];

/// `value` as a TOML table (every part of a [`Config`] serializes to one).
fn table<T: serde::Serialize>(value: &T) -> toml::Table {
    match Value::try_from(value) {
        Ok(Value::Table(t)) => t,
        _ => toml::Table::new(),
    }
}

/// The keys of `prefix` whose values differ between `a` and `b`, in key order.
fn differing(prefix: &str, a: &toml::Table, b: &toml::Table, skip: &[&str]) -> Vec<String> {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| !skip.contains(&k.as_str()) && a.get(*k) != b.get(*k))
        .map(|k| format!("{prefix}.{k}"))
        .collect()
}

/// One kind of object (`real`, `virtual`...) added, removed or changed, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Changed {
    /// In the new configuration only.
    pub added: Vec<String>,
    /// In the running configuration only.
    pub removed: Vec<String>,
    /// In both, with a different value.
    pub changed: Vec<String>,
}

impl Changed {
    fn of<T: PartialEq>(old: &[T], new: &[T], name: impl Fn(&T) -> String) -> Self {
        let mut c = Changed::default();
        for n in new {
            match old.iter().find(|o| name(o) == name(n)) {
                None => c.added.push(name(n)),
                Some(o) if o != n => c.changed.push(name(n)),
                Some(_) => {}
            }
        }
        for o in old {
            if !new.iter().any(|n| name(n) == name(o)) {
                c.removed.push(name(o));
            }
        }
        c
    }

    fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// What a reload changes: per kind of object, and the live `[dataplane]` keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Changes {
    /// `[[virtual]]` by name.
    pub virtuals: Changed,
    /// `[[real]]` by name.
    pub reals: Changed,
    /// `[[url]]` by name.
    pub urls: Changed,
    /// `[[dip]]` by address.
    pub dips: Changed,
    /// `[dataplane]` keys applied live (`dataplane.outlier_ejection`...).
    pub dataplane: Vec<String>,
}

impl Changes {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        self.virtuals.is_empty()
            && self.reals.is_empty()
            && self.urls.is_empty()
            && self.dips.is_empty()
            && self.dataplane.is_empty()
    }
}

impl fmt::Display for Changes {
    /// `virtuals changed www; reals added s4, removed s2`, or `no change`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("no change");
        }
        let mut parts = Vec::new();
        for (kind, c) in [
            ("virtuals", &self.virtuals),
            ("reals", &self.reals),
            ("urls", &self.urls),
            ("dips", &self.dips),
        ] {
            let verbs: Vec<String> = [
                ("added", &c.added),
                ("removed", &c.removed),
                ("changed", &c.changed),
            ]
            .into_iter()
            .filter(|(_, names)| !names.is_empty())
            .map(|(verb, names)| format!("{verb} {}", names.join(", ")))
            .collect();
            if !verbs.is_empty() {
                parts.push(format!("{kind} {}", verbs.join(", ")));
            }
        }
        if !self.dataplane.is_empty() {
            parts.push(format!("changed {}", self.dataplane.join(", ")));
        }
        f.write_str(&parts.join("; "))
    }
}

impl Config {
    /// The keys that differ between this (running) configuration and `next` and that
    /// a running Splicer reads only at start-up: `dataplane.workers`, `port[0].address`,
    /// `port[2]` (a port added or removed)...
    pub fn restart_keys(&self, next: &Config) -> Vec<String> {
        let mut keys = differing(
            "dataplane",
            &table(&self.dataplane),
            &table(&next.dataplane),
            &LIVE_DATAPLANE_KEYS,
        );
        for i in 0..self.ports.len().max(next.ports.len()) {
            match (self.ports.get(i), next.ports.get(i)) {
                (Some(a), Some(b)) => {
                    keys.extend(differing(&format!("port[{i}]"), &table(a), &table(b), &[]))
                }
                _ => keys.push(format!("port[{i}]")),
            }
        }
        // The access log's writer and the workers' rings are set up at start.
        if self.access_log != next.access_log {
            keys.push("access_log".into());
        }
        // The announcer's thread and its BIRD are set up at start.
        if self.announce != next.announce {
            keys.push("announce".into());
        }
        // The heartbeat socket and the workers' peers are set up at start.
        if self.cluster != next.cluster {
            keys.push("cluster".into());
        }
        keys
    }

    /// `next` with the running values of every key [`Config::restart_keys`] names, and
    /// validated: what a reload applies. An error when `next`'s objects do not fit the
    /// running ports (a real on a subnet that only a new port would have).
    pub fn live_part(&self, next: &Config) -> Result<Config, ConfigError> {
        let mut live = next.clone();
        live.dataplane = self.dataplane.clone();
        live.dataplane.outlier_ejection = next.dataplane.outlier_ejection;
        live.dataplane.outlier_max_ejection = next.dataplane.outlier_max_ejection;
        live.dataplane.max_ejection_percent = next.dataplane.max_ejection_percent;
        live.ports = self.ports.clone();
        live.access_log = self.access_log.clone();
        live.announce = self.announce.clone();
        live.cluster = self.cluster.clone();
        live.validate()?;
        Ok(live)
    }

    /// What differs between this configuration and `next`, other than the keys
    /// [`Config::restart_keys`] names.
    pub fn changes(&self, next: &Config) -> Changes {
        let live_keys: Vec<&str> = LIVE_DATAPLANE_KEYS.to_vec();
        let (a, b) = (table(&self.dataplane), table(&next.dataplane));
        Changes {
            virtuals: Changed::of(&self.virtuals, &next.virtuals, |v| v.name.clone()),
            reals: Changed::of(&self.reals, &next.reals, |r| r.name.clone()),
            urls: Changed::of(&self.urls, &next.urls, |u| u.name.clone()),
            dips: Changed::of(&self.dips, &next.dips, |d| d.address.to_string()),
            dataplane: live_keys
                .into_iter()
                .filter(|k| a.get(*k) != b.get(*k))
                .map(|k| format!("dataplane.{k}"))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::fixtures::{with_ports, REALS};
    use crate::Config;

    fn config(dataplane: &str, rest: &str) -> Config {
        Config::from_toml_str(&with_ports(dataplane, &format!("{REALS}{rest}"))).unwrap()
    }

    const WWW: &str =
        "\n[[virtual]]\nname = \"www\"\naddress = \"198.18.0.100:80\"\nbind = [\"s1\", \"s2\"]\n";

    #[test]
    fn restart_keys_name_the_dataplane_and_port_keys_only() {
        let a = config("", WWW);
        let mut b = config("workers = 2\noutlier_ejection = \"10s\"", WWW);
        b.ports[1].gateway = Some("198.19.0.254".parse().unwrap());
        assert_eq!(a.restart_keys(&b), ["dataplane.workers", "port[1].gateway"]);
        let mut c = a.clone();
        c.ports.pop();
        assert_eq!(a.restart_keys(&c), ["port[1]"]);
        assert!(a.restart_keys(&a).is_empty());
        let mut d = a.clone();
        d.access_log = Config::from_toml_str(&with_ports(
            "",
            &format!("{REALS}{WWW}\n[access_log]\npath = \"/tmp/a.log\"\n"),
        ))
        .unwrap()
        .access_log;
        assert!(d.access_log.is_some());
        assert_eq!(a.restart_keys(&d), ["access_log"]);
        assert_eq!(a.live_part(&d).unwrap().access_log, None);
    }

    #[test]
    fn the_live_part_keeps_the_running_start_up_keys() {
        let a = config("", WWW);
        let b = config(
            "workers = 2\nmax_ejection_percent = 20",
            &WWW.replace("\"s2\"]", "\"s3\"]"),
        );
        let live = a.live_part(&b).unwrap();
        assert_eq!(live.dataplane.workers, a.dataplane.workers);
        assert_eq!(live.dataplane.max_ejection_percent, 20);
        assert_eq!(live.virtuals, b.virtuals);
        let changes = a.changes(&live);
        assert_eq!(changes.virtuals.changed, ["www"]);
        assert_eq!(changes.dataplane, ["dataplane.max_ejection_percent"]);
        assert_eq!(
            changes.to_string(),
            "virtuals changed www; changed dataplane.max_ejection_percent"
        );
        assert!(a.restart_keys(&live).is_empty());
    }

    #[test]
    fn changes_name_what_was_added_removed_and_changed() {
        let a = config("", WWW);
        let mut b = a.clone();
        b.reals.remove(2);
        b.reals[0].weight = 5;
        b.reals
            .push(crate::Real::new("s4", "198.19.0.14:80".parse().unwrap()));
        let c = a.changes(&b);
        assert_eq!(c.reals.added, ["s4"]);
        assert_eq!(c.reals.removed, ["s3"]);
        assert_eq!(c.reals.changed, ["s1"]);
        assert!(c.virtuals.added.is_empty());
        assert_eq!(c.to_string(), "reals added s4, removed s3, changed s1");
        assert_eq!(a.changes(&a).to_string(), "no change");
    }

    #[test]
    fn objects_that_need_a_new_port_are_refused() {
        let a = config("", "");
        let mut b = a.clone();
        b.ports[1].address = "198.20.0.1/24".parse().unwrap();
        b.reals = vec![crate::Real::new("s9", "198.20.0.9:80".parse().unwrap())];
        b.validate().unwrap();
        let e = a.live_part(&b).unwrap_err();
        assert_eq!(e.key(), Some("real[0].address"), "{e}");
    }
}
