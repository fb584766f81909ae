//! The error of loading a configuration.

use std::fmt;
use std::path::PathBuf;

/// Why a configuration could not be loaded.
///
/// Validation errors display as `<key>: <message>`, for example
/// `port[1].address: "198.19.0.1" is not an IPv4 address with a prefix length (like
/// 198.19.0.1/24)`. TOML errors (syntax, unknown keys, wrong table shapes) keep
/// TOML's line/column context and quote the offending key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {}: {error}", path.display())]
    Read {
        /// The file asked for.
        path: PathBuf,
        /// Why it could not be read.
        error: std::io::Error,
    },
    /// The text is not TOML, or does not have the configuration's shape (unknown key,
    /// table where an array of tables is expected...).
    #[error("{}", ParseDisplay { path: path.as_ref(), error })]
    Parse {
        /// The file, when loaded from one.
        path: Option<PathBuf>,
        /// TOML's error, with the line and column.
        error: toml::de::Error,
    },
    /// A value breaks a rule.
    #[error("{key}: {message}")]
    Invalid {
        /// Path of the offending key, like `dataplane.workers` or `port[1].address`.
        key: String,
        /// What is wrong and, where it helps, how to fix it.
        message: String,
    },
}

impl ConfigError {
    pub(crate) fn invalid(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.into(),
            message: message.into(),
        }
    }

    /// The key path of a validation error (`dataplane.workers`, `port[1].address`,
    /// `virtual[0].port`...). `None` for read and TOML errors, whose message quotes
    /// the key and points at its line and column instead.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Invalid { key, .. } => Some(key),
            _ => None,
        }
    }

    /// The message without the key (for validation errors) or TOML's bare message
    /// without the line/column context (for TOML errors).
    pub fn message(&self) -> String {
        match self {
            ConfigError::Invalid { message, .. } => message.clone(),
            ConfigError::Parse { error, .. } => error.message().to_string(),
            ConfigError::Read { error, .. } => error.to_string(),
        }
    }
}

struct ParseDisplay<'a> {
    path: Option<&'a PathBuf>,
    error: &'a toml::de::Error,
}

impl fmt::Display for ParseDisplay<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = self.path {
            write!(f, "{}: ", path.display())?;
        }
        // toml's own text is "TOML parse error at line L, column C", a snippet with a
        // caret, then the message. The message goes on the first line too, so that the
        // one line a script or a log shows names the offending key; the snippet follows
        // for people.
        let full = self.error.to_string();
        let mut lines = full.trim_end().lines();
        let head = lines.next().unwrap_or_default();
        let message = self.error.message().trim_end();
        write!(f, "{head}: {message}")?;
        for line in lines.take_while(|l| {
            l.trim_start()
                .starts_with(|c: char| c.is_ascii_digit() || c == '|')
        }) {
            write!(f, "\n{line}")?;
        }
        Ok(())
    }
}
