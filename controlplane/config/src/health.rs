//! `real.check`: a real's active health check, and `real.slowstart`.
//!
//! ```toml
//! check = { kind = "http", path = "/health", interval = "2s", timeout = "1s",
//!           rise = 2, fall = 3, expect = 200 }
//! ```
//!
//! Every key of the table has a default (those above), so `check = {}` is an HTTP check
//! of `/health`; `expect` is a status (`200`) or a class (`"2xx"`). The checks run on
//! the workers, the state machine on the control core (see `controlplane/control`'s
//! `health` module and docs/CONFIGURATION.md).

use crate::{duration, ConfigError, Real};
use serde::Serialize;
use splicer_pipeline::balance;
use std::time::Duration;
use toml::Value;

/// `check.kind`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckKind {
    /// A `GET` of `path`; passes on the `expect`ed status.
    #[default]
    Http,
    /// Passes when the connection opens.
    Tcp,
}

/// `check.expect`: a status code or a status class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// `expect = 200`.
    Status(u16),
    /// `expect = "2xx"`.
    Class(u8),
}

impl Serialize for Expect {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Expect::Status(code) => s.serialize_u16(*code),
            Expect::Class(c) => s.serialize_str(&format!("{c}xx")),
        }
    }
}

/// `[[real]]`'s `check` table: an active check run through the data plane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// `kind` (default `"http"`): `"http"` or `"tcp"`.
    pub kind: CheckKind,
    /// `path` (default `"/health"`): what an HTTP check asks for; starts with `/`,
    /// printable ASCII without spaces, at most 1024 bytes.
    pub path: String,
    /// `interval` (default `"2s"`, 100ms..=1h): time between the starts of two checks.
    #[serde(serialize_with = "duration::serialize")]
    pub interval: Duration,
    /// `timeout` (default `"1s"`, 10ms..=`interval`): time a check may take.
    #[serde(serialize_with = "duration::serialize")]
    pub timeout: Duration,
    /// `rise` (default 2, 1..=100): checks in a row that bring a down real up.
    pub rise: u16,
    /// `fall` (default 3, 1..=100): checks in a row that take an up real down.
    pub fall: u16,
    /// `expect` (default 200): the status (or class, `"2xx"`) that passes.
    pub expect: Expect,
}

/// The defaults of the `check` table's keys.
pub mod defaults {
    use std::time::Duration;

    /// `check.path`.
    pub const PATH: &str = "/health";
    /// `check.interval`: 2 s.
    pub const INTERVAL: Duration = Duration::from_secs(2);
    /// `check.timeout`: 1 s.
    pub const TIMEOUT: Duration = Duration::from_secs(1);
    /// `check.rise`.
    pub const RISE: u16 = 2;
    /// `check.fall`.
    pub const FALL: u16 = 3;
    /// `check.expect`.
    pub const EXPECT: u16 = 200;
}

/// Shortest `check.interval`.
const MIN_INTERVAL: Duration = Duration::from_millis(100);
/// Longest `check.interval`.
const MAX_INTERVAL: Duration = Duration::from_secs(3600);
/// Shortest `check.timeout`.
const MIN_TIMEOUT: Duration = Duration::from_millis(10);
/// Longest `check.path`.
const MAX_PATH: usize = 1024;
/// Longest `real.slowstart`.
pub const MAX_SLOWSTART: Duration = Duration::from_secs(3600);

impl Default for Check {
    fn default() -> Self {
        Check {
            kind: CheckKind::Http,
            path: defaults::PATH.to_string(),
            interval: defaults::INTERVAL,
            timeout: defaults::TIMEOUT,
            rise: defaults::RISE,
            fall: defaults::FALL,
            expect: Expect::Status(defaults::EXPECT),
        }
    }
}

impl Check {
    /// Parses the `check` table at `key` (`real[0].check`) and checks every value.
    pub(crate) fn parse(key: &str, value: Value) -> Result<Check, ConfigError> {
        let Value::Table(table) = value else {
            return Err(ConfigError::invalid(
                key,
                "expected a table, like { kind = \"http\", path = \"/health\" }",
            ));
        };
        let mut c = Check::default();
        for (k, v) in table {
            let at = format!("{key}.{k}");
            match k.as_str() {
                "kind" => {
                    c.kind = match v.as_str() {
                        Some("http") => CheckKind::Http,
                        Some("tcp") => CheckKind::Tcp,
                        _ => {
                            return Err(ConfigError::invalid(
                                at,
                                format!("must be \"http\" or \"tcp\", got {v}"),
                            ))
                        }
                    }
                }
                "path" => c.path = text(&at, v)?,
                "interval" => c.interval = duration::parse(&v).map_err(|m| invalid(&at, m))?,
                "timeout" => c.timeout = duration::parse(&v).map_err(|m| invalid(&at, m))?,
                "rise" => c.rise = count(&at, v)?,
                "fall" => c.fall = count(&at, v)?,
                "expect" => c.expect = expect(&at, v)?,
                _ => return Err(ConfigError::invalid(
                    at,
                    "unknown key; a check has kind, path, interval, timeout, rise, fall, expect",
                )),
            }
        }
        c.validate(key)?;
        Ok(c)
    }

    /// Checks the values against their ranges, naming the key at fault.
    pub(crate) fn validate(&self, key: &str) -> Result<(), ConfigError> {
        let path_ok = self.path.starts_with('/')
            && self.path.len() <= MAX_PATH
            && self.path.bytes().all(|b| b.is_ascii_graphic());
        if !path_ok {
            return Err(ConfigError::invalid(
                format!("{key}.path"),
                format!("must start with '/', be printable ASCII without spaces and at most {MAX_PATH} bytes, got {:?}", self.path),
            ));
        }
        if !(MIN_INTERVAL..=MAX_INTERVAL).contains(&self.interval) {
            return Err(ConfigError::invalid(
                format!("{key}.interval"),
                format!(
                    "must be between 100ms and 1h, got {}",
                    duration::format(self.interval)
                ),
            ));
        }
        if self.timeout < MIN_TIMEOUT || self.timeout > self.interval {
            return Err(ConfigError::invalid(
                format!("{key}.timeout"),
                format!(
                    "must be between 10ms and the check's interval ({}), got {}",
                    duration::format(self.interval),
                    duration::format(self.timeout)
                ),
            ));
        }
        for (name, v) in [("rise", self.rise), ("fall", self.fall)] {
            if !(1..=100).contains(&v) {
                return Err(ConfigError::invalid(
                    format!("{key}.{name}"),
                    format!("must be between 1 and 100, got {v}"),
                ));
            }
        }
        match self.expect {
            Expect::Status(s) if !(100..=599).contains(&s) => Err(ConfigError::invalid(
                format!("{key}.expect"),
                format!("must be a status between 100 and 599 or a class like \"2xx\", got {s}"),
            )),
            Expect::Class(c) if !(1..=5).contains(&c) => Err(ConfigError::invalid(
                format!("{key}.expect"),
                format!("must be a class between \"1xx\" and \"5xx\", got \"{c}xx\""),
            )),
            _ => Ok(()),
        }
    }

    /// What the workers run for real `real`: the request bytes (its `Host` is the
    /// real's address), the times in milliseconds.
    pub fn to_dataplane(&self, real: &Real) -> balance::Check {
        let request = match self.kind {
            CheckKind::Tcp => Vec::new(),
            CheckKind::Http => format!(
                "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: splicer-check\r\nConnection: close\r\n\r\n",
                self.path, real.address
            )
            .into_bytes(),
        };
        let ms = |d: Duration| u32::try_from(d.as_millis()).unwrap_or(u32::MAX);
        balance::Check {
            request,
            interval_ms: ms(self.interval),
            timeout_ms: ms(self.timeout),
            expect: match self.expect {
                Expect::Status(s) => balance::Expect::Status(s),
                Expect::Class(c) => balance::Expect::Class(c),
            },
        }
    }
}

/// `real.slowstart` at `key`: a duration, 0 (off) up to an hour.
pub(crate) fn slowstart(key: &str, value: Option<Value>) -> Result<Duration, ConfigError> {
    let Some(v) = value else {
        return Ok(Duration::ZERO);
    };
    let d = duration::parse(&v).map_err(|m| invalid(key, m))?;
    if d > MAX_SLOWSTART {
        return Err(ConfigError::invalid(
            key,
            format!("must be at most 1h, got {}", duration::format(d)),
        ));
    }
    Ok(d)
}

fn invalid(key: &str, message: String) -> ConfigError {
    ConfigError::invalid(key, message)
}

fn text(key: &str, v: Value) -> Result<String, ConfigError> {
    match v {
        Value::String(s) => Ok(s),
        other => Err(ConfigError::invalid(
            key,
            format!("expected a string, got {other}"),
        )),
    }
}

fn count(key: &str, v: Value) -> Result<u16, ConfigError> {
    match v {
        Value::Integer(i) => u16::try_from(i)
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| {
                ConfigError::invalid(key, format!("must be between 1 and 100, got {i}"))
            }),
        other => Err(ConfigError::invalid(
            key,
            format!("expected an integer, got {other}"),
        )),
    }
}

fn expect(key: &str, v: Value) -> Result<Expect, ConfigError> {
    let bad = |got: String| {
        ConfigError::invalid(
            key,
            format!("must be a status between 100 and 599 or a class like \"2xx\", got {got}"),
        )
    };
    match v {
        Value::Integer(i) => u16::try_from(i)
            .ok()
            .filter(|s| (100..=599).contains(s))
            .map(Expect::Status)
            .ok_or_else(|| bad(i.to_string())),
        Value::String(s) => {
            let t = s.trim().to_ascii_lowercase();
            match t.as_bytes() {
                [c @ b'1'..=b'5', b'x', b'x'] => Ok(Expect::Class(c - b'0')),
                _ => t
                    .parse::<u16>()
                    .ok()
                    .filter(|s| (100..=599).contains(s))
                    .map(Expect::Status)
                    .ok_or_else(|| bad(format!("{s:?}"))),
            }
        }
        other => Err(bad(other.to_string())),
    }
}
