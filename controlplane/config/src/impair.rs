//! `[port.impair]`: the test-only impairment of the frames a port receives (seeded loss,
//! duplication, reordering, delay), read, checked and written back.

use crate::raw::describe;
use crate::{duration, ConfigError};
use serde::{Deserialize, Serialize, Serializer};
use std::time::Duration;
use toml::Value;

/// Parts per million in 100 %.
const PPM: u32 = 1_000_000;
/// The longest `delay`, `jitter` or `reorder_delay`: held frames hold mbufs.
const MAX_HOLD: Duration = Duration::from_secs(1);
/// The largest `queue`.
const MAX_QUEUE: i64 = 65536;

/// Defaults of the `[port.impair]` keys.
pub mod defaults {
    use std::time::Duration;
    /// `reorder_delay`: 1 ms, long enough on a LAN for the next frames to overtake.
    pub const REORDER_DELAY: Duration = Duration::from_millis(1);
    /// `queue`: frames held at most per port and worker.
    pub const QUEUE: u32 = 1024;
    /// `seed`.
    pub const SEED: u64 = 1;
}

/// `[port.impair]` (test only): what happens to the frames the port receives before
/// Splicer's packet logic sees them. Off unless the table is present.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Impair {
    /// `loss` (default `"0%"`): share of frames dropped, in parts per million.
    #[serde(serialize_with = "serialize_percent")]
    pub loss: u32,
    /// `duplicate` (default `"0%"`): share of frames delivered twice, in parts per million.
    #[serde(serialize_with = "serialize_percent")]
    pub duplicate: u32,
    /// `reorder` (default `"0%"`): share of frames held back by `reorder_delay` so that
    /// the frames behind them overtake them, in parts per million.
    #[serde(serialize_with = "serialize_percent")]
    pub reorder: u32,
    /// `reorder_delay` (default 1 ms, > 0 when `reorder` is set, at most 1 s).
    #[serde(serialize_with = "duration::serialize")]
    pub reorder_delay: Duration,
    /// `delay` (default 0, at most 1 s): every frame is held this long.
    #[serde(serialize_with = "duration::serialize")]
    pub delay: Duration,
    /// `jitter` (default 0, at most 1 s): plus a uniform share of this.
    #[serde(serialize_with = "duration::serialize")]
    pub jitter: Duration,
    /// `queue` (default 1024, 1..=65536): frames one worker holds at most for the port;
    /// beyond, frames are passed on at once (counted `impair_queue_full`).
    pub queue: u32,
    /// `seed` (default 1, >= 0): the same seed and traffic give the same decisions.
    pub seed: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [port.impair] table")]
pub(crate) struct RawImpair {
    loss: Option<Value>,
    duplicate: Option<Value>,
    reorder: Option<Value>,
    reorder_delay: Option<Value>,
    delay: Option<Value>,
    jitter: Option<Value>,
    queue: Option<Value>,
    seed: Option<Value>,
}

impl RawImpair {
    /// Converts and checks the table of `port[i]`.
    pub(crate) fn convert(self, i: usize) -> Result<Impair, ConfigError> {
        let key = |field: &str| format!("port[{i}].impair.{field}");
        let percent_key = |field: &str, v: Option<Value>| match v {
            None => Ok(0),
            Some(v) => parse_percent(&v).map_err(|m| ConfigError::invalid(key(field), m)),
        };
        let hold = |field: &str, v: Option<Value>, default: Duration| {
            let d = match v {
                None => default,
                Some(v) => duration::parse(&v).map_err(|m| ConfigError::invalid(key(field), m))?,
            };
            if d > MAX_HOLD {
                return Err(ConfigError::invalid(
                    key(field),
                    format!("must be at most 1s, got {}", duration::format(d)),
                ));
            }
            Ok(d)
        };
        let loss = percent_key("loss", self.loss)?;
        let duplicate = percent_key("duplicate", self.duplicate)?;
        let reorder = percent_key("reorder", self.reorder)?;
        let reorder_delay = hold("reorder_delay", self.reorder_delay, defaults::REORDER_DELAY)?;
        if reorder > 0 && reorder_delay.is_zero() {
            return Err(ConfigError::invalid(
                key("reorder_delay"),
                "must be more than 0 when reorder is set: a frame is reordered by holding it back",
            ));
        }
        let delay = hold("delay", self.delay, Duration::ZERO)?;
        let jitter = hold("jitter", self.jitter, Duration::ZERO)?;
        let queue = match self.queue {
            None => defaults::QUEUE,
            Some(Value::Integer(q)) if (1..=MAX_QUEUE).contains(&q) => q as u32,
            Some(Value::Integer(q)) => {
                return Err(ConfigError::invalid(
                    key("queue"),
                    format!("must be between 1 and {MAX_QUEUE}, got {q}"),
                ))
            }
            Some(other) => {
                return Err(ConfigError::invalid(
                    key("queue"),
                    format!("expected an integer, got {}", describe(&other)),
                ))
            }
        };
        let seed = match self.seed {
            None => defaults::SEED,
            Some(Value::Integer(s)) if s >= 0 => s as u64,
            Some(other) => {
                return Err(ConfigError::invalid(
                    key("seed"),
                    format!("expected an integer >= 0, got {}", describe(&other)),
                ))
            }
        };
        Ok(Impair {
            loss,
            duplicate,
            reorder,
            reorder_delay,
            delay,
            jitter,
            queue,
            seed,
        })
    }
}

/// `"1%"`, `"0.5%"`, `"100%"` as parts per million (at most 4 decimals).
pub(crate) fn parse_percent(v: &Value) -> Result<u32, String> {
    let s = match v {
        Value::String(s) => s,
        other => {
            return Err(format!(
                "expected a percentage string like \"1%\", got {}",
                describe(other)
            ))
        }
    };
    let bad = || format!("invalid percentage {s:?}; write it like \"1%\" or \"0.5%\" (0% to 100%)");
    let digits = s.trim().strip_suffix('%').ok_or_else(bad)?.trim_end();
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || whole.len() > 3
        || frac.len() > 4
        || !all_digits(whole)
        || !all_digits(frac)
    {
        return Err(bad());
    }
    let mut ppm: u32 = whole.parse::<u32>().map_err(|_| bad())? * (PPM / 100);
    let mut scale = PPM / 1000;
    for b in frac.bytes() {
        ppm += u32::from(b - b'0') * scale;
        scale /= 10;
    }
    if ppm > PPM {
        return Err(format!("{s:?} is more than 100%"));
    }
    Ok(ppm)
}

/// Parts per million written back as a percentage: `10000` is `"1%"`.
pub fn format_percent(ppm: u32) -> String {
    let whole = ppm / (PPM / 100);
    let frac = ppm % (PPM / 100);
    if frac == 0 {
        format!("{whole}%")
    } else {
        let f = format!("{frac:04}");
        format!("{whole}.{}%", f.trim_end_matches('0'))
    }
}

fn serialize_percent<S: Serializer>(ppm: &u32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_percent(*ppm))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<u32, String> {
        parse_percent(&Value::String(s.into()))
    }

    #[test]
    fn percentages() {
        assert_eq!(p("1%"), Ok(10_000));
        assert_eq!(p("0%"), Ok(0));
        assert_eq!(p("100%"), Ok(PPM));
        assert_eq!(p("0.5%"), Ok(5_000));
        assert_eq!(p(" 2.25 %"), Ok(22_500));
        assert_eq!(p("0.0001%"), Ok(1));
        for bad in ["1", "%", "-1%", "1.00001%", "1e2%", "a%", "1000%", ".5%"] {
            assert!(p(bad).is_err(), "{bad}");
        }
        assert_eq!(p("100.5%"), Err("\"100.5%\" is more than 100%".into()));
        assert!(parse_percent(&Value::Integer(1))
            .unwrap_err()
            .contains("like \"1%\""));
    }

    #[test]
    fn percentages_format_back() {
        for ppm in [0, 1, 5_000, 10_000, 22_500, 123_456, PPM] {
            assert_eq!(p(&format_percent(ppm)), Ok(ppm), "{ppm}");
        }
        assert_eq!(format_percent(10_000), "1%");
        assert_eq!(format_percent(5_000), "0.5%");
    }

    const BASE: &str = r#"
[dataplane]
eal = ["-l", "0-1", "--no-huge", "--file-prefix", "t", "--vdev", "net_tap0", "--vdev", "net_tap1"]

[[port]]
name = "outside"
address = "198.18.0.1/24"
IMPAIR0

[[port]]
name = "inside"
address = "198.19.0.1/24"
IMPAIR1
"#;

    fn load(p0: &str, p1: &str) -> Result<crate::Config, ConfigError> {
        crate::Config::from_toml_str(&BASE.replace("IMPAIR0", p0).replace("IMPAIR1", p1))
    }

    fn err(p0: &str) -> String {
        load(p0, "").unwrap_err().to_string()
    }

    #[test]
    fn off_unless_the_table_is_present() {
        let c = load("", "").unwrap();
        assert!(c.ports.iter().all(|p| p.impair.is_none()));
        let c = load("[port.impair]", "").unwrap();
        assert_eq!(
            c.ports[0].impair,
            Some(Impair {
                loss: 0,
                duplicate: 0,
                reorder: 0,
                reorder_delay: defaults::REORDER_DELAY,
                delay: Duration::ZERO,
                jitter: Duration::ZERO,
                queue: defaults::QUEUE,
                seed: defaults::SEED,
            })
        );
        assert_eq!(c.ports[1].impair, None);
    }

    #[test]
    fn both_ports_read_and_write_back() {
        let c = load(
            "[port.impair]\nloss = \"1%\"\nduplicate = \"1%\"\nreorder = \"0.5%\"\nseed = 42",
            "[port.impair]\ndelay = \"5ms\"\njitter = \"2ms\"\nreorder_delay = \"3ms\"\nqueue = 64",
        )
        .unwrap();
        let a = c.ports[0].impair.unwrap();
        assert_eq!(
            (a.loss, a.duplicate, a.reorder, a.seed),
            (10_000, 10_000, 5_000, 42)
        );
        let b = c.ports[1].impair.unwrap();
        assert_eq!(b.delay, Duration::from_millis(5));
        assert_eq!(b.jitter, Duration::from_millis(2));
        assert_eq!(b.reorder_delay, Duration::from_millis(3));
        assert_eq!(b.queue, 64);
        // `save` writes a file that reads back the same.
        assert_eq!(crate::Config::from_toml_str(&c.to_toml()).unwrap(), c);
    }

    #[test]
    fn errors_name_the_key() {
        assert_eq!(
            err("[port.impair]\nloss = \"101%\""),
            "port[0].impair.loss: \"101%\" is more than 100%"
        );
        assert!(err("[port.impair]\nduplicate = 1")
            .starts_with("port[0].impair.duplicate: expected a percentage"));
        assert!(err("[port.impair]\ndelay = \"2s\"")
            .starts_with("port[0].impair.delay: must be at most 1s"));
        assert!(err("[port.impair]\njitter = \"x\"")
            .starts_with("port[0].impair.jitter: invalid duration"));
        assert!(
            err("[port.impair]\nreorder = \"1%\"\nreorder_delay = \"0s\"")
                .starts_with("port[0].impair.reorder_delay: must be more than 0")
        );
        assert_eq!(
            err("[port.impair]\nqueue = 0"),
            "port[0].impair.queue: must be between 1 and 65536, got 0"
        );
        assert!(err("[port.impair]\nseed = -1")
            .starts_with("port[0].impair.seed: expected an integer >= 0"));
        assert!(err("[port.impair]\nlos = \"1%\"").contains("unknown field `los`"));
    }
}
