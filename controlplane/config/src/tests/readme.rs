//! The README's defaults table against every key a configuration can hold.

use super::*;

/// Every key a configuration can hold, as `section.key` (`virtual.rule.bind`).
fn keys(prefix: &str, table: &toml::Table, top: bool, out: &mut Vec<String>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) if top => keys(&key, t, false, out),
            toml::Value::Array(items)
                if items.iter().all(|i| i.is_table()) && !items.is_empty() =>
            {
                for item in items {
                    keys(&key, item.as_table().unwrap(), false, out);
                }
            }
            _ => {
                if !out.contains(&key) {
                    out.push(key)
                }
            }
        }
    }
}

/// docs/CONFIGURATION.md's "Defaults at a glance" table documents every key, new ones included.
#[test]
fn readme_lists_every_key() {
    let readme = include_str!("../../../../docs/CONFIGURATION.md");
    let mut c = ok(&redirect());
    c.dataplane.metrics = Some("127.0.0.1:9100".parse().unwrap());
    c.dataplane.metrics_public = true;
    c.dataplane.control_socket_readonly = Some("/run/splicer/splicer-ro.sock".into());
    c.dataplane.syn_cookie_threshold = Some(100);
    c.ports[1].gateway = Some(Ipv4Addr::new(198, 19, 0, 254));
    c.virtuals[1].port = Some("outside".into());
    c.virtuals[1].hash = crate::HashKey::Cookie("sid".into());
    c.virtuals[1].forward_for = crate::ForwardFor::Header;
    c.virtuals[1].forward_for_incoming = crate::ForwardForIncoming::Append;
    c.virtuals[1].rules.push(Rule {
        predictor: Some(crate::Predictor::Maglev),
        hash: Some(crate::HashKey::Source),
        path_prefix: Some("/a/".into()),
        path_suffix: Some(".b".into()),
        host: Some("h".into()),
        method: Some(Method::Get),
        header: Some(HeaderMatch {
            name: "X".into(),
            value: "y".into(),
        }),
        priority: Some(6),
        cost: Some(2),
        ..Rule::new("all", strings(&["spare"]))
    });
    c.announce = Some(crate::Announce {
        bird_socket: "/run/bird/bird.ctl".into(),
        routes_file: "/etc/bird/splicer-vips.conf".into(),
        hold_down: std::time::Duration::from_secs(5),
        check_link: true,
    });
    c.cluster = Some(crate::Cluster {
        name: "a".into(),
        control: "127.0.0.1:7411".parse().unwrap(),
        heartbeat_interval: crate::cluster::HEARTBEAT_INTERVAL_DEFAULT,
        dead_time: crate::cluster::DEAD_TIME_DEFAULT,
        stray_rate: crate::cluster::STRAY_RATE_DEFAULT,
        peers: vec![crate::Peer {
            name: "b".into(),
            address: Ipv4Addr::new(198, 18, 0, 2),
            control: "127.0.0.2:7411".parse().unwrap(),
        }],
    });
    let c = ok(&c.to_toml());
    let table: toml::Table = toml::from_str(&c.to_toml()).unwrap();
    let mut all = Vec::new();
    keys("", &table, true, &mut all);
    assert!(all.len() >= 58, "{all:?}");
    for key in ["url.link", "dip.port", "virtual.rule.header", "real.backup"] {
        assert!(all.iter().any(|k| k == key), "{key} not in {all:?}");
    }
    for key in all {
        let row = format!("| `{key}` ");
        assert!(readme.contains(&row), "docs/CONFIGURATION.md lacks {key}");
    }
}

/// The cells of docs/CONFIGURATION.md's defaults-table row of `key`: default and valid
/// values.
fn row<'a>(readme: &'a str, key: &str) -> (&'a str, &'a str) {
    let start = format!("| `{key}` ");
    let line = readme
        .lines()
        .find(|l| l.starts_with(&start))
        .unwrap_or_else(|| panic!("docs/CONFIGURATION.md lacks {key}"));
    let cells: Vec<&str> = line.split('|').map(str::trim).collect();
    (cells[2], cells[3])
}

/// A duration cell, `"10s"`.
fn duration_cell(key: &str, cell: &str) -> Duration {
    let text = cell
        .strip_prefix("`\"")
        .and_then(|c| c.strip_suffix("\"`"))
        .unwrap_or_else(|| panic!("{key}: default {cell:?} is not a duration like `\"10s\"`"));
    humantime::parse_duration(text).unwrap()
}

/// docs/CONFIGURATION.md's defaults table shows every declared key with the default and
/// the bounds declared in [`keys::KEYS`], so that the table cannot drift from the loader
/// and the validator.
#[test]
fn readme_defaults_are_the_declared_ones() {
    let readme = include_str!("../../../../docs/CONFIGURATION.md");
    for key in keys::KEYS {
        let name = key.name();
        let (default, valid) = row(readme, name);
        let int_range = |min: i64, max: i64, power_of_two: bool| {
            let upper = match max {
                1_000_000_000 => "10^9".to_string(),
                m => m.to_string(),
            };
            let bounds = if max == i64::from(u32::MAX) {
                valid.contains(&format!(">= {min}")) || valid.contains(&format!("{min}..="))
            } else {
                valid.contains(&format!("{min}..={upper}"))
            };
            assert!(
                bounds,
                "{name}: valid values {valid:?}, declared {min}..={max}"
            );
            assert_eq!(
                valid.contains("power of two"),
                power_of_two,
                "{name}: {valid:?}"
            );
        };
        match key {
            keys::Key::U16(k) => {
                assert_eq!(default, format!("`{}`", k.default), "{name}");
                int_range(k.min, k.max, k.power_of_two);
            }
            keys::Key::U32(k) => {
                assert_eq!(default, format!("`{}`", k.default), "{name}");
                int_range(k.min, k.max, k.power_of_two);
            }
            keys::Key::OptionalU32(k) => {
                // Computed from another key: the cell says how, it is no value.
                assert!(k.default.is_none() && !default.starts_with('`'), "{name}");
                int_range(k.min, k.max, k.power_of_two);
            }
            keys::Key::Duration(k) => {
                assert_eq!(duration_cell(name, default), k.default, "{name}");
                let up_to = valid
                    .split("up to ")
                    .nth(1)
                    .unwrap_or_else(|| panic!("{name}: no \"up to\" in {valid:?}"));
                let max = up_to.split([' ', ',']).next().unwrap();
                assert_eq!(humantime::parse_duration(max).unwrap(), k.max, "{name}");
                assert_eq!(
                    valid.starts_with("> 0"),
                    k.zero == keys::Zero::Refused,
                    "{name}: {valid:?}"
                );
            }
            keys::Key::Size(k) => {
                assert_eq!(default, format!("`\"{}\"`", k.default), "{name}");
                let bounds = format!("{}..={}", k.min, k.max);
                assert!(
                    valid.contains(&bounds),
                    "{name}: {valid:?}, declared {bounds}"
                );
            }
            keys::Key::Own(k) => match k.default {
                keys::OwnDefault::Required => assert_eq!(default, "required", "{name}"),
                keys::OwnDefault::Off => assert!(default.starts_with("none"), "{name}"),
                keys::OwnDefault::Text(t) => {
                    assert_eq!(default, format!("`\"{t}\"`"), "{name}")
                }
                keys::OwnDefault::Flag(b) => assert_eq!(default, format!("`{b}`"), "{name}"),
            },
        }
    }
}

/// [`keys::KEYS`] declares every `[dataplane]` key `save` writes, and no other; and the
/// integer keys of `[[real]]` and `[[url]]`.
#[test]
fn key_table_covers_the_saved_dataplane() {
    let mut c = ok(&redirect());
    c.dataplane.metrics = Some("127.0.0.1:9100".parse().unwrap());
    c.dataplane.metrics_public = true;
    c.dataplane.control_socket_readonly = Some("/run/splicer/splicer-ro.sock".into());
    c.dataplane.syn_cookie_threshold = Some(100);
    let table: toml::Table = toml::from_str(&c.to_toml()).unwrap();
    let mut saved: Vec<String> = table["dataplane"]
        .as_table()
        .unwrap()
        .keys()
        .map(|k| format!("dataplane.{k}"))
        .collect();
    saved.sort();
    let mut declared: Vec<String> = keys::KEYS
        .iter()
        .map(|k| k.name().to_string())
        .filter(|k| k.starts_with("dataplane."))
        .collect();
    declared.sort();
    assert_eq!(saved, declared);
    // The loader fills in the declared defaults: a file that sets only eal loads to
    // `Dataplane::new`.
    let text = "[dataplane]\neal = [\"-l\", \"0-1\"]\n[[port]]\nname = \"p\"\naddress = \"198.18.0.1/24\"\n";
    assert_eq!(ok(text).dataplane, Dataplane::new(strings(&["-l", "0-1"])));
}
