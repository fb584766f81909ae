//! One configuration value of any key, checked and converted: its type (integer, string,
//! duration, size, address, name list, choice), with the key path in every error.

use crate::keys::{DurationKey, IntKey};
use crate::{
    defaults, duration, size, ByteSize, ConfigError, HashKey, Mode, Predictor, ServiceState,
};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;
use toml::Value;

/// A value's type and, for scalars, the value: `integer 5`, `string "x"`.
pub(crate) fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("string {s:?}"),
        Value::Integer(i) => format!("integer {i}"),
        Value::Float(x) => format!("float {x}"),
        Value::Boolean(b) => format!("boolean {b}"),
        Value::Datetime(d) => format!("datetime {d}"),
        Value::Array(_) => "an array".to_string(),
        Value::Table(_) => "a table".to_string(),
    }
}

/// An integer key: its default when left out, else the value, reported with the key's
/// range when it does not fit `T` (the validator checks the range itself).
pub(super) fn integer<T: TryFrom<i64> + Copy>(
    key: &IntKey<T>,
    value: Option<Value>,
) -> Result<T, ConfigError> {
    integer_at(key.name, key, value)
}

/// An integer key of an array entry (`real[2].weight`, `at`), like [`integer`].
pub(super) fn integer_at<T: TryFrom<i64> + Copy>(
    at: &str,
    key: &IntKey<T>,
    value: Option<Value>,
) -> Result<T, ConfigError> {
    match value {
        None => Ok(key.default),
        Some(v) => integer_value(at, key, v),
    }
}

/// A given integer value of `key` at `at`, as a `T`.
pub(super) fn integer_value<T: TryFrom<i64>, D>(
    at: &str,
    key: &IntKey<D>,
    value: Value,
) -> Result<T, ConfigError> {
    match value {
        Value::Integer(i) => T::try_from(i).map_err(|_| key.error_at(at, i)),
        other => Err(ConfigError::invalid(
            at,
            format!("expected an integer, got {}", describe(&other)),
        )),
    }
}

pub(super) fn duration(key: &DurationKey, value: Option<Value>) -> Result<Duration, ConfigError> {
    match value {
        None => Ok(key.default),
        Some(v) => duration::parse(&v).map_err(|m| ConfigError::invalid(key.name, m)),
    }
}

pub(super) fn byte_size(
    key: &str,
    value: Option<Value>,
    default: ByteSize,
) -> Result<ByteSize, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) => size::parse(&v).map_err(|m| ConfigError::invalid(key, m)),
    }
}

pub(super) fn string(key: &str, value: Value) -> Result<String, ConfigError> {
    match value {
        Value::String(s) => Ok(s),
        other => Err(ConfigError::invalid(
            key,
            format!("expected a string, got {}", describe(&other)),
        )),
    }
}

/// An IPv4 socket address: `"198.19.0.11:80"`.
pub(super) fn socket_address(
    key: &str,
    value: Value,
    example_ip: Ipv4Addr,
) -> Result<SocketAddrV4, ConfigError> {
    let address = string(key, value)?;
    address.trim().parse().map_err(|_| {
        let ip = address
            .split(':')
            .next()
            .and_then(|ip| ip.trim().parse::<Ipv4Addr>().ok())
            .unwrap_or(example_ip);
        ConfigError::invalid(
            key,
            format!("{address:?} is not an IPv4 address with a TCP port (like {ip}:80)"),
        )
    })
}

/// A handoff agent's address: `"198.19.0.11:7470"`, or `"198.19.0.11"` for the
/// default port (`defaults::AGENT_PORT`).
pub(super) fn agent_address(key: &str, value: Value) -> Result<SocketAddrV4, ConfigError> {
    let address = string(key, value)?;
    let text = address.trim();
    if let Ok(ip) = text.parse::<Ipv4Addr>() {
        return Ok(SocketAddrV4::new(ip, defaults::AGENT_PORT));
    }
    match text.parse::<SocketAddrV4>() {
        Ok(a) if a.port() != 0 => Ok(a),
        _ => Err(ConfigError::invalid(
            key,
            format!(
                "{address:?} is not an IPv4 address with an optional UDP port (like 198.19.0.11:{})",
                defaults::AGENT_PORT
            ),
        )),
    }
}

/// A list of member names: `bind = ["s1", "s2"]`, of reals (`mode` splice) or URLs
/// (`mode` redirect).
pub(super) fn names(key: &str, value: Value, mode: Mode) -> Result<Vec<String>, ConfigError> {
    let (table, example) = match mode {
        Mode::Splice | Mode::Tcp | Mode::Handoff => ("[[real]]", "[\"s1\", \"s2\"]"),
        Mode::Redirect => ("[[url]]", "[\"coyote\", \"roadrunner\"]"),
    };
    match value {
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s),
                other => Err(ConfigError::invalid(
                    format!("{key}[{i}]"),
                    format!(
                        "expected a string (the name of a {table}), got {}",
                        describe(&other)
                    ),
                )),
            })
            .collect(),
        other => Err(ConfigError::invalid(
            key,
            format!(
                "expected an array of {table} names (like {example}), got {}",
                describe(&other)
            ),
        )),
    }
}

/// One of the accepted names of a closed set, like `mode` or `predictor`.
pub(super) fn choice<T>(
    key: &str,
    value: Option<Value>,
    default: T,
    what: &str,
    accepted: &[&str],
    from_name: impl Fn(&str) -> Option<T>,
    hint: impl Fn(&str) -> Option<String>,
) -> Result<T, ConfigError> {
    let Some(value) = value else {
        return Ok(default);
    };
    let name = string(key, value)?;
    from_name(name.trim()).ok_or_else(|| {
        let accepted = accepted.join(", ");
        let message = match hint(name.trim()) {
            Some(h) => format!("{h}; accepted values: {accepted}"),
            None => format!("unknown {what} {name:?}; accepted values: {accepted}"),
        };
        ConfigError::invalid(key, message)
    })
}

/// A `predictor`: one of [`Predictor::NAMES`].
pub(super) fn predictor(
    key: &str,
    value: Option<Value>,
    default: Predictor,
) -> Result<Predictor, ConfigError> {
    choice(
        key,
        value,
        default,
        "predictor",
        Predictor::NAMES,
        Predictor::from_name,
        |_| None,
    )
}

/// A `hash`: `"source"`, `"header:<Name>"` or `"cookie:<name>"`.
pub(super) fn hash_key(key: &str, value: Option<Value>) -> Result<Option<HashKey>, ConfigError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let text = string(key, value)?;
    HashKey::parse(text.trim()).map(Some).ok_or_else(|| {
        ConfigError::invalid(
            key,
            format!(
                "unknown hash key {text:?}; accepted values: \"source\", \"header:<Name>\", \"cookie:<name>\" (names are HTTP tokens)"
            ),
        )
    })
}

/// A `state`: one of [`ServiceState::NAMES`], default in service.
pub(super) fn state(key: &str, value: Option<Value>) -> Result<ServiceState, ConfigError> {
    choice(
        key,
        value,
        defaults::STATE,
        "state",
        ServiceState::NAMES,
        ServiceState::from_name,
        |name| {
            matches!(
                name,
                "out-of-service" | "out_of_service" | "disabled" | "down"
            )
            .then(|| format!("unknown state {name:?}; out of service is written \"oos\""))
        },
    )
}

/// An optional string key (`backup`, `link`, `port`).
pub(super) fn optional_string(
    key: &str,
    value: Option<Value>,
) -> Result<Option<String>, ConfigError> {
    value.map(|v| string(key, v)).transpose()
}

pub(super) fn required(
    key: &str,
    value: Option<Value>,
    example: &str,
) -> Result<Value, ConfigError> {
    value.ok_or_else(|| {
        ConfigError::invalid(key, format!("missing; it is required, like {example}"))
    })
}
