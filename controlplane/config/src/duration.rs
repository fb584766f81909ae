//! Durations: humantime strings (`"10s"`, `"500ms"`, `"1m 30s"`) in the file.

use serde::Serializer;
use std::time::Duration;

/// Parses a duration as written in the file: a humantime string, or `"0"` (also the
/// bare integer `0`) for zero. The error is the message to show after the key.
pub(crate) fn parse(value: &toml::Value) -> Result<Duration, String> {
    match value {
        toml::Value::String(s) => {
            let t = s.trim();
            if t == "0" {
                return Ok(Duration::ZERO);
            }
            humantime::parse_duration(t).map_err(|e| {
                format!("invalid duration {s:?}: {e}; write it like \"10s\", \"500ms\" or \"1m\"")
            })
        }
        toml::Value::Integer(0) => Ok(Duration::ZERO),
        toml::Value::Integer(n) => Err(format!(
            "invalid duration {n}: a duration needs a unit, write it as a string like \"{n}s\" or \"{n}ms\""
        )),
        other => Err(format!(
            "expected a duration string like \"10s\", got {}",
            crate::raw::describe(other)
        )),
    }
}

/// How a duration is written back: humantime, `"0s"` for zero.
pub(crate) fn format(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(*d))
}

/// `None` (disabled) is written as `"0s"`, which reads back as `None`.
pub(crate) fn serialize_opt<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(d.unwrap_or(Duration::ZERO)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use toml::Value;

    fn p(s: &str) -> Result<Duration, String> {
        parse(&Value::String(s.into()))
    }

    #[test]
    fn humantime_forms() {
        assert_eq!(p("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(p("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(p("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(p("1m 30s"), Ok(Duration::from_secs(90)));
        assert_eq!(p("50us"), Ok(Duration::from_micros(50)));
    }

    #[test]
    fn zero_forms() {
        assert_eq!(p("0"), Ok(Duration::ZERO));
        assert_eq!(p("0s"), Ok(Duration::ZERO));
        assert_eq!(parse(&Value::Integer(0)), Ok(Duration::ZERO));
    }

    #[test]
    fn errors() {
        let e = p("ten").unwrap_err();
        assert!(e.starts_with("invalid duration \"ten\": "), "{e}");
        let e = p("10").unwrap_err();
        assert!(e.starts_with("invalid duration \"10\": "), "{e}");
        let e = parse(&Value::Integer(10)).unwrap_err();
        assert!(e.contains("needs a unit") && e.contains("\"10s\""), "{e}");
        let e = parse(&Value::Boolean(true)).unwrap_err();
        assert_eq!(
            e,
            "expected a duration string like \"10s\", got boolean true"
        );
    }

    #[test]
    fn formats_back() {
        for d in [
            Duration::ZERO,
            Duration::from_secs(10),
            Duration::from_millis(500),
            Duration::from_secs(90),
            Duration::from_micros(1500),
        ] {
            assert_eq!(p(&format(d)), Ok(d), "{}", format(d));
        }
        assert_eq!(format(Duration::from_secs(10)), "10s");
        assert_eq!(format(Duration::ZERO), "0s");
    }
}
