//! Errors of the TOML shape: unknown keys, wrong types, syntax; each keeps its line.

use super::*;

#[test]
fn unknown_top_level_key() {
    let s = format!("{}\nbogus = 1\n", dp(""));
    let line = s.lines().position(|l| l == "bogus = 1").unwrap() + 1;
    let m = toml_err(&s, "`bogus`", line);
    assert!(m.contains("unknown field `bogus`"), "{m}");
    // A misspelt table.
    let s = format!("{}\n[dataplan]\nx = 1\n", dp(""));
    let line = s.lines().position(|l| l == "[dataplan]").unwrap() + 1;
    let m = toml_err(&s, "`dataplan`", line);
    assert!(
        m.contains("expected one of `dataplane`, `port`, `real`, `virtual`"),
        "{m}"
    );
}

#[test]
fn unknown_dataplane_key() {
    let m = toml_err(&dp("worker = 2"), "`worker`", 3);
    assert!(
        m.contains("unknown field `worker`, expected one of `eal`, `workers`"),
        "{m}"
    );
}

#[test]
fn unknown_port_key() {
    let s = doc(
        "",
        "[[port]]\nname = \"a\"\naddress = \"10.0.0.1/24\"\n[[port]]\nname = \"b\"\naddress = \"10.0.1.1/24\"\nmtu = 9000\n",
    );
    let m = toml_err(&s, "`mtu`", 10);
    assert!(
        m.contains("unknown field `mtu`, expected one of `name`, `address`, `gateway`"),
        "{m}"
    );
}

#[test]
fn unknown_virtual_key() {
    let s = doc("", &format!("{PORTS}{WWW}backend = \"pool1\"\n"));
    let m = toml_err(&s, "`backend`", 16);
    assert!(
        m.contains("unknown field `backend`, expected one of `name`, `address`, `port`"),
        "{m}"
    );
}

#[test]
fn port_written_as_a_single_table() {
    let s = doc("", "[port]\nname = \"a\"\naddress = \"10.0.0.1/24\"\n");
    let m = toml_err(&s, "[[port]]", 4);
    assert!(
        m.contains("expected an array of tables, written [[port]]"),
        "{m}"
    );
}

#[test]
fn sections_of_the_wrong_type() {
    let m = toml_err(&format!("dataplane = 5\n{PORTS}"), "dataplane = 5", 1);
    assert!(
        m.lines()
            .next()
            .unwrap()
            .ends_with("invalid type: integer `5`, expected a [dataplane] table"),
        "{m}"
    );
    let m = toml_err(&dp("").replace("[[virtual]]", "[virtual]"), "[virtual]", 13);
    assert!(
        m.lines()
            .next()
            .unwrap()
            .ends_with("invalid type: map, expected an array of tables, written [[virtual]]"),
        "{m}"
    );
}

#[test]
fn toml_syntax_error() {
    let e = Config::from_toml_str("[dataplane\n").unwrap_err();
    assert!(
        e.to_string().starts_with("TOML parse error at line 1"),
        "{e}"
    );
}

#[test]
fn missing_file() {
    let e = Config::load(Path::new("/nonexistent/splicer.toml")).unwrap_err();
    assert!(matches!(e, ConfigError::Read { .. }));
    assert!(
        e.to_string()
            .starts_with("cannot read config file /nonexistent/splicer.toml: No such file"),
        "{e}"
    );
}

#[test]
fn load_names_the_file_in_toml_errors() {
    let dir = std::env::temp_dir().join(format!("splicer-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    std::fs::write(&path, dp("bogus = 1")).unwrap();
    let e = Config::load(&path).unwrap_err().to_string();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        e.starts_with(&format!("{}: TOML parse error at line 3", path.display())),
        "{e}"
    );
    assert!(e.contains("`bogus`"), "{e}");
}
