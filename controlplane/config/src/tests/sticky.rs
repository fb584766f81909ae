//! `virtual.sticky` and `virtual.sticky_table`: loading, errors, the farm's tables.

use super::*;
use crate::farm::FarmIds;
use std::sync::Arc;
use std::time::Duration;

#[test]
fn sticky_defaults_and_values() {
    let c = ok(&www("bind = [\"s1\", \"s2\"]"));
    assert_eq!(
        (c.virtuals[0].sticky, c.virtuals[0].sticky_table),
        (None, 65536)
    );
    assert!(c.farm().virtuals[0].sticky.is_none());
    // "0s" is off, and written back as "0s".
    let c = ok(&www("bind = [\"s1\"]\nsticky = \"0s\""));
    assert_eq!(c.virtuals[0].sticky, None);
    assert!(c.to_toml().contains("sticky = \"0s\""));
    round_trip(&c);
    let c = ok(&www(
        "bind = [\"s1\"]\nsticky = \"2m\"\nsticky_table = 1024",
    ));
    assert_eq!(c.virtuals[0].sticky, Some(Duration::from_secs(120)));
    let s = c.farm().virtuals[0].sticky.clone().unwrap();
    assert_eq!((s.timeout_s, s.table.capacity()), (120, 1024));
    round_trip(&c);
    let c = ok(&www(
        "bind = [\"s1\"]\nsticky = \"4h\"\nsticky_table = 4194304",
    ));
    assert_eq!(
        c.farm().virtuals[0].sticky.as_ref().unwrap().timeout_s,
        14_400
    );
}

#[test]
fn sticky_errors() {
    let cases = [
        ("sticky = \"1.5s\"", "virtual[0].sticky", "virtual[0].sticky: must be whole seconds from 1s up to 4h (or \"0s\": off), got 1s 500ms"),
        ("sticky = \"500ms\"", "virtual[0].sticky", "virtual[0].sticky: must be whole seconds from 1s up to 4h (or \"0s\": off), got 500ms"),
        ("sticky = \"5h\"", "virtual[0].sticky", "virtual[0].sticky: must be whole seconds from 1s up to 4h (or \"0s\": off), got 5h"),
        ("sticky = 120", "virtual[0].sticky", "virtual[0].sticky: invalid duration 120: a duration needs a unit, write it as a string like \"120s\" or \"120ms\""),
        ("sticky = \"forever\"", "virtual[0].sticky", "virtual[0].sticky: invalid duration \"forever\": expected number at 0; write it like \"10s\", \"500ms\" or \"1m\""),
        ("sticky_table = 1000", "virtual[0].sticky_table", "virtual[0].sticky_table: must be a power of two between 64 and 4194304, got 1000"),
        ("sticky_table = 32", "virtual[0].sticky_table", "virtual[0].sticky_table: must be a power of two between 64 and 4194304, got 32"),
        ("sticky_table = 8388608", "virtual[0].sticky_table", "virtual[0].sticky_table: must be a power of two between 64 and 4194304, got 8388608"),
        ("sticky_table = \"big\"", "virtual[0].sticky_table", "virtual[0].sticky_table: expected an integer, got string \"big\""),
    ];
    for (keys, key, want) in cases {
        assert_eq!(
            invalid(&www(&format!("bind = [\"s1\"]\n{keys}")), key),
            want,
            "{keys}"
        );
    }
    // A redirect virtual sends clients to URLs: it cannot be sticky.
    let text = format!(
        "{}[[virtual]]\nname = \"r\"\naddress = \"198.18.0.100:81\"\nmode = \"redirect\"\nsticky = \"10s\"\n",
        redirect()
    );
    assert_eq!(
        invalid(&text, "virtual[2].sticky"),
        "virtual[2].sticky: only a splice or tcp virtual can be sticky (a redirect virtual sends clients to URLs, not reals)"
    );
}

#[test]
fn the_table_outlives_changes_that_keep_its_size() {
    let c = ok(&www("bind = [\"s1\", \"s2\"]\nsticky = \"60s\""));
    let mut ids = FarmIds::default();
    let first = c.plan(&mut ids).farm.virtuals[0].sticky.clone().unwrap();
    // Another timer: the same table.
    let c2 = ok(&www("bind = [\"s1\", \"s2\"]\nsticky = \"90s\""));
    let second = c2.plan(&mut ids).farm.virtuals[0].sticky.clone().unwrap();
    assert_eq!(second.timeout_s, 90);
    assert!(Arc::ptr_eq(&first.table, &second.table));
    // Another size: a new one.
    let c3 = ok(&www(
        "bind = [\"s1\", \"s2\"]\nsticky = \"90s\"\nsticky_table = 128",
    ));
    let third = c3.plan(&mut ids).farm.virtuals[0].sticky.clone().unwrap();
    assert!(!Arc::ptr_eq(&second.table, &third.table));
    assert_eq!(third.table.capacity(), 128);
    // Off, then on again: a new one.
    let off = ok(&www("bind = [\"s1\", \"s2\"]"));
    assert!(off.plan(&mut ids).farm.virtuals[0].sticky.is_none());
    let again = c3.plan(&mut ids).farm.virtuals[0].sticky.clone().unwrap();
    assert!(!Arc::ptr_eq(&third.table, &again.table));
}
