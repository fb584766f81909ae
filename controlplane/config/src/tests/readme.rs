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
    let mut c = ok(REDIRECT);
    c.dataplane.metrics = Some("127.0.0.1:9100".parse().unwrap());
    c.dataplane.syn_cookie_threshold = Some(100);
    c.ports[1].gateway = Some(Ipv4Addr::new(198, 19, 0, 254));
    c.virtuals[1].port = Some("outside".into());
    c.virtuals[1].rules.push(Rule {
        path_prefix: Some("/a/".into()),
        path_suffix: Some(".b".into()),
        host: Some("h".into()),
        method: Some(Method::Get),
        header: Some(HeaderMatch {
            name: "X".into(),
            value: "y".into(),
        }),
        ..Rule::new("all", strings(&["spare"]))
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
