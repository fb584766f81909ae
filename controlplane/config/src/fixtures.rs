//! Configuration text shared by the tests of the control-plane crates (splicer-config,
//! splicer-commands and splicer-control), so that the set-up they start from (two ports,
//! the reals behind `inside`) is written once instead of pasted into each test module.
//!
//! Not part of the API (hidden from the documentation) and free to change with the
//! tests. Compiled always rather than behind a feature: a few strings, and no feature
//! to switch on in each crate's dev-dependencies.

/// The two ports of every test set-up: `outside` (the clients' side, 198.18.0.1/24) and
/// `inside` (the reals' side, 198.19.0.1/24). The configuration tests count lines
/// (TOML errors report them): keep its layout.
pub const PORTS: &str = r#"
[[port]]
name = "outside"
address = "198.18.0.1/24"

[[port]]
name = "inside"
address = "198.19.0.1/24"
"#;

/// Reals `s1`, `s2` and `s3` at 198.19.0.11..13, port 80, on the `inside` subnet, every
/// other key at its default.
pub const REALS: &str = r#"
[[real]]
name = "s1"
address = "198.19.0.11:80"

[[real]]
name = "s2"
address = "198.19.0.12:80"

[[real]]
name = "s3"
address = "198.19.0.13:80"
"#;

/// A configuration file: `[dataplane]` with 3 lcores (room for `workers = 2`) and no
/// hugepages, `dataplane_keys` in it, then `rest`.
pub fn config(dataplane_keys: &str, rest: &str) -> String {
    format!("[dataplane]\neal = [\"-l\", \"0-2\", \"--no-huge\"]\n{dataplane_keys}\n{rest}")
}

/// [`config`] with `dataplane_keys`, the two [`PORTS`], then `rest`.
pub fn with_ports(dataplane_keys: &str, rest: &str) -> String {
    config(dataplane_keys, &format!("{PORTS}{rest}"))
}

/// `[dataplane]` on lcores 0-1 and the `outside` port only, for the tests of a section
/// that needs nothing else ([announce], [cluster], [access_log]); their errors count lines
/// from here: keep its layout.
const OUTSIDE_ONLY: &str = r#"
[dataplane]
eal = ["-l", "0-1"]
[[port]]
name = "outside"
address = "198.18.0.1/24"
"#;

/// [`OUTSIDE_ONLY`] then `rest`, parsed; the error as its text.
pub fn parse_outside_only(rest: &str) -> Result<crate::Config, String> {
    format!("{OUTSIDE_ONLY}{rest}")
        .parse::<crate::Config>()
        .map_err(|e| e.to_string())
}
