//! `[access_log]`: one line per request, written by the control core
//! (docs/ACCESS-LOG.md). Off when the table is left out.

use crate::raw::describe;
use crate::ConfigError;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use toml::Value;

/// Default `ring_size`: records one worker's ring holds before the control core takes
/// them (it does every 20 ms: 4096 covers 200,000 requests/s per worker).
pub const RING_SIZE_DEFAULT: u32 = 4096;
/// Smallest and largest `ring_size`.
pub const RING_SIZE_MIN: u32 = 16;
pub const RING_SIZE_MAX: u32 = 1 << 20;
/// Default `syslog_socket`.
pub const SYSLOG_SOCKET_DEFAULT: &str = "/dev/log";

/// How each line is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessLogFormat {
    /// One JSON object per line, with the field names of docs/ACCESS-LOG.md.
    Json,
    /// HAProxy-like text.
    Text,
}

/// `[access_log]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccessLog {
    /// `path` (string): the file the lines are appended to (created `0640`), reopened
    /// on SIGUSR1 and `log reopen`. Exactly one of `path` and `syslog = true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// `syslog` (boolean, default false): send each line as a syslog message (RFC 3164,
    /// facility local0, severity info) to `syslog_socket`.
    pub syslog: bool,
    /// `syslog_socket` (string, default `"/dev/log"`): the unix datagram socket of the
    /// syslog daemon.
    pub syslog_socket: PathBuf,
    /// `format` (`"json"` or `"text"`, default `"json"`).
    pub format: AccessLogFormat,
    /// `ring_size` (integer, default 4096, 16..=1048576): records per worker ring; also
    /// the most requests under way one worker keeps records for.
    pub ring_size: u32,
    /// `sample` (integer, default 1, 1..=1000000): keep one request in this many.
    pub sample: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "an [access_log] table")]
pub(crate) struct RawAccessLog {
    path: Option<Value>,
    syslog: Option<Value>,
    syslog_socket: Option<Value>,
    format: Option<Value>,
    ring_size: Option<Value>,
    sample: Option<Value>,
}

fn int(key: &str, v: Option<Value>, default: u32, min: u32, max: u32) -> Result<u32, ConfigError> {
    match v {
        None => Ok(default),
        Some(Value::Integer(i)) if (i64::from(min)..=i64::from(max)).contains(&i) => Ok(i as u32),
        Some(Value::Integer(i)) => Err(ConfigError::invalid(
            key,
            format!("{i} is out of range {min}..={max}"),
        )),
        Some(other) => Err(ConfigError::invalid(
            key,
            format!("expected an integer, got {}", describe(&other)),
        )),
    }
}

fn text(key: &str, v: Value) -> Result<String, ConfigError> {
    match v {
        Value::String(s) if !s.is_empty() => Ok(s),
        other => Err(ConfigError::invalid(
            key,
            format!("expected a non-empty string, got {}", describe(&other)),
        )),
    }
}

impl RawAccessLog {
    pub(crate) fn convert(self) -> Result<AccessLog, ConfigError> {
        let path = self
            .path
            .map(|v| text("access_log.path", v).map(PathBuf::from))
            .transpose()?;
        let syslog = match self.syslog {
            None => false,
            Some(Value::Boolean(b)) => b,
            Some(other) => {
                return Err(ConfigError::invalid(
                    "access_log.syslog",
                    format!("expected true or false, got {}", describe(&other)),
                ))
            }
        };
        match (&path, syslog) {
            (Some(_), true) => {
                return Err(ConfigError::invalid(
                    "access_log",
                    "set either path or syslog = true, not both",
                ))
            }
            (None, false) => {
                return Err(ConfigError::invalid(
                    "access_log",
                    "say where the lines go: path = \"/var/log/splicer/access.log\" or syslog = true (leave the table out to turn the access log off)",
                ))
            }
            _ => {}
        }
        let syslog_socket = match self.syslog_socket {
            None => PathBuf::from(SYSLOG_SOCKET_DEFAULT),
            Some(v) => PathBuf::from(text("access_log.syslog_socket", v)?),
        };
        let format = match self.format {
            None => AccessLogFormat::Json,
            Some(v) => match text("access_log.format", v)?.as_str() {
                "json" => AccessLogFormat::Json,
                "text" => AccessLogFormat::Text,
                other => {
                    return Err(ConfigError::invalid(
                        "access_log.format",
                        format!("{other:?} is not a format: \"json\" or \"text\""),
                    ))
                }
            },
        };
        Ok(AccessLog {
            path,
            syslog,
            syslog_socket,
            format,
            ring_size: int(
                "access_log.ring_size",
                self.ring_size,
                RING_SIZE_DEFAULT,
                RING_SIZE_MIN,
                RING_SIZE_MAX,
            )?,
            sample: int("access_log.sample", self.sample, 1, 1, 1_000_000)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::Config;

    fn load(extra: &str) -> Result<Config, String> {
        crate::fixtures::parse_outside_only(extra)
    }

    #[test]
    fn off_by_default_and_defaults_when_on() {
        assert_eq!(load("").unwrap().access_log, None);
        let c = load("[access_log]\npath = \"/tmp/a.log\"\n").unwrap();
        let a = c.access_log.unwrap();
        assert_eq!(a.format, super::AccessLogFormat::Json);
        assert_eq!((a.ring_size, a.sample), (super::RING_SIZE_DEFAULT, 1));
        assert!(!a.syslog);
        let c = load("[access_log]\nsyslog = true\nformat = \"text\"\nsample = 10\n").unwrap();
        let a = c.access_log.unwrap();
        assert_eq!((a.format, a.sample), (super::AccessLogFormat::Text, 10));
        assert_eq!(a.syslog_socket.to_str(), Some("/dev/log"));
    }

    #[test]
    fn mistakes_are_named() {
        for (extra, says) in [
            ("[access_log]\n", "say where the lines go"),
            ("[access_log]\npath = \"/x\"\nsyslog = true\n", "not both"),
            (
                "[access_log]\npath = \"/x\"\nformat = \"xml\"\n",
                "\"xml\" is not a format",
            ),
            (
                "[access_log]\npath = \"/x\"\nring_size = 8\n",
                "access_log.ring_size",
            ),
            (
                "[access_log]\npath = \"/x\"\nsample = 0\n",
                "access_log.sample",
            ),
            ("[access_log]\npath = 5\n", "access_log.path"),
            ("[access_log]\npath = \"/x\"\nspeed = 1\n", "speed"),
        ] {
            let e = load(extra).expect_err(extra);
            assert!(e.contains(says), "{extra}: {e}");
        }
    }

    #[test]
    fn written_back_and_read_again() {
        let c = load("[access_log]\npath = \"/tmp/a.log\"\nformat = \"text\"\nring_size = 64\n")
            .unwrap();
        let again: Config = c.to_toml().parse().expect("reads back");
        assert_eq!(again.access_log, c.access_log);
    }
}
