//! The agent's configuration file (`splicer agent --config agent.toml`).
//!
//! ```toml
//! listen = "198.19.0.11:7470"      # the back end's address and the channel's UDP port
//! fronts = ["198.19.0.1"]          # the Splicers allowed to hand connections over
//! wire_iface = "ho-w1"             # the back end's wire interface (net_af_packet; no IP address)
//! kernel_iface = "ho-k1"           # the exception port's TAP (net_tap; carries the address)
//! file_prefix = "ho-agent1"        # DPDK --file-prefix
//! eal = ["-l", "0", "--no-huge", "-m", "128"]   # further EAL arguments
//! idle_sleep = "100us"             # sleep when a poll round found nothing
//! replay_timeout = "1s"            # give up on a replayed SYN the kernel does not answer
//! idle_timeout = "300s"            # forget a handed-off connection after this silence
//! splicer_dead_time = "5s"         # reset a Splicer's connections after this silence
//! max_connections = 65536
//! stats_interval = "10s"
//! ```

use serde::Deserialize;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;
use std::time::Duration;

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read {path}: {error}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// The TOML does not parse or has unknown keys.
    #[error("{0}")]
    Parse(#[from] toml::de::Error),
    /// A value is out of range.
    #[error("{key}: {message}")]
    Invalid {
        /// The key.
        key: &'static str,
        /// What is wrong.
        message: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    listen: SocketAddrV4,
    fronts: Vec<Ipv4Addr>,
    wire_iface: String,
    kernel_iface: String,
    file_prefix: String,
    #[serde(default)]
    eal: Vec<String>,
    idle_sleep: Option<String>,
    replay_timeout: Option<String>,
    idle_timeout: Option<String>,
    splicer_dead_time: Option<String>,
    max_connections: Option<usize>,
    stats_interval: Option<String>,
}

/// The agent's settings, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentConfig {
    /// The back end's address (the one Splicer's real has as `agent`) and the UDP port
    /// the channel listens on.
    pub listen: SocketAddrV4,
    /// The interface the af_packet wire port owns.
    pub wire_iface: String,
    /// The name of the TAP the kernel port creates.
    pub kernel_iface: String,
    /// DPDK `--file-prefix`.
    pub file_prefix: String,
    /// Further EAL arguments.
    pub eal: Vec<String>,
    /// Sleep after a poll round that found no packet (0: busy-poll).
    pub idle_sleep: Duration,
    /// Settings of the handoff state machine.
    pub settings: Settings,
    /// How often a `agent stats` line is logged.
    pub stats_interval: Duration,
}

/// The timers and limits of the handoff state machine ([`crate::Agent`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The back end's address and the channel's port.
    pub listen: SocketAddrV4,
    /// The addresses Splicer's channel datagrams may come from (its port addresses
    /// towards this back end). Anyone else could otherwise make the kernel accept a
    /// connection from any address it names, or end the handed-off ones.
    pub fronts: Vec<Ipv4Addr>,
    /// Give up on a replayed SYN the kernel has not answered after this long.
    pub replay_timeout: Duration,
    /// Resend the replayed SYN this often until then.
    pub replay_retry: Duration,
    /// Forget a handed-off connection (CLOSED reason idle) after this silence.
    pub idle_timeout: Duration,
    /// Reset (in the kernel) and forget the connections a Splicer handed off once
    /// nothing came from it for this long: it died, or its channel is cut. More than
    /// Splicer's `agent_dead_time` (3 s by default), so that a live Splicer has given
    /// this agent up and reset them itself first; the 2 s beyond are two of its
    /// heartbeats (`agent_heartbeat`, 1 s by default), which must be shorter.
    pub splicer_dead_time: Duration,
    /// Keep a closed connection's translation this long for stragglers (last ACKs,
    /// retransmitted FINs, repeated HANDOFFs).
    pub linger: Duration,
    /// Most connections held (handed off or being replayed); a HANDOFF beyond is
    /// answered `busy`.
    pub max_connections: usize,
    /// Resend an unacknowledged CLOSED this often...
    pub closed_retry: Duration,
    /// ... this many times in all.
    pub closed_tries: u32,
}

impl Settings {
    /// The defaults, for an agent at `listen`.
    pub fn new(listen: SocketAddrV4, fronts: Vec<Ipv4Addr>) -> Settings {
        Settings {
            listen,
            fronts,
            replay_timeout: Duration::from_secs(1),
            replay_retry: Duration::from_millis(200),
            idle_timeout: Duration::from_secs(300),
            splicer_dead_time: Duration::from_secs(5),
            linger: Duration::from_secs(5),
            max_connections: 65536,
            closed_retry: Duration::from_millis(200),
            closed_tries: 10,
        }
    }
}

fn duration(
    key: &'static str,
    v: Option<String>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    match v {
        None => Ok(default),
        Some(t) => humantime::parse_duration(t.trim()).map_err(|e| ConfigError::Invalid {
            key,
            message: format!("{t:?} is not a duration ({e})"),
        }),
    }
}

impl AgentConfig {
    /// Reads and validates the file at `path`.
    pub fn load(path: &Path) -> Result<AgentConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.display().to_string(),
            error,
        })?;
        AgentConfig::parse(&text)
    }

    /// Parses and validates a configuration's text.
    pub fn parse(text: &str) -> Result<AgentConfig, ConfigError> {
        let raw: Raw = toml::from_str(text)?;
        let mut settings = Settings::new(raw.listen, raw.fronts);
        settings.replay_timeout = duration(
            "replay_timeout",
            raw.replay_timeout,
            settings.replay_timeout,
        )?;
        settings.idle_timeout = duration("idle_timeout", raw.idle_timeout, settings.idle_timeout)?;
        settings.splicer_dead_time = duration(
            "splicer_dead_time",
            raw.splicer_dead_time,
            settings.splicer_dead_time,
        )?;
        if let Some(n) = raw.max_connections {
            settings.max_connections = n;
        }
        let cfg = AgentConfig {
            listen: raw.listen,
            wire_iface: raw.wire_iface,
            kernel_iface: raw.kernel_iface,
            file_prefix: raw.file_prefix,
            eal: raw.eal,
            idle_sleep: duration("idle_sleep", raw.idle_sleep, Duration::from_micros(100))?,
            settings,
            stats_interval: duration(
                "stats_interval",
                raw.stats_interval,
                Duration::from_secs(10),
            )?,
        };
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key, message: &str| {
            Err(ConfigError::Invalid {
                key,
                message: message.to_string(),
            })
        };
        if self.settings.fronts.is_empty()
            || self
                .settings
                .fronts
                .iter()
                .any(|a| a.is_unspecified() || a.is_broadcast() || a.is_multicast())
        {
            return bad(
                "fronts",
                "needs the address of each Splicer that hands connections to this agent (its port address towards the back end)",
            );
        }
        if self.listen.port() == 0 || self.listen.ip().is_unspecified() {
            return bad(
                "listen",
                "needs the back end's address and a port other than 0",
            );
        }
        for (key, name) in [
            ("wire_iface", &self.wire_iface),
            ("kernel_iface", &self.kernel_iface),
        ] {
            if name.is_empty() || name.len() > 15 || name.contains([',', ' ', '/']) {
                return bad(
                    key,
                    "an interface name of 1 to 15 characters without , / or space",
                );
            }
        }
        if self.wire_iface == self.kernel_iface {
            return bad("kernel_iface", "must differ from wire_iface");
        }
        if self.file_prefix.is_empty() || self.file_prefix.contains('/') {
            return bad("file_prefix", "a non-empty name without /");
        }
        if self
            .eal
            .iter()
            .any(|a| a == "--file-prefix" || a == "--vdev" || a.starts_with("--vdev="))
        {
            return bad("eal", "the agent adds --file-prefix and both --vdev itself");
        }
        if self.settings.replay_timeout < Duration::from_millis(100) {
            return bad("replay_timeout", "at least 100ms");
        }
        if self.settings.idle_timeout < Duration::from_secs(1) {
            return bad("idle_timeout", "at least 1s");
        }
        if self.settings.splicer_dead_time < Duration::from_millis(500) {
            return bad("splicer_dead_time", "at least 500ms");
        }
        if self.settings.max_connections == 0 {
            return bad("max_connections", "at least 1");
        }
        if self.stats_interval < Duration::from_millis(100) {
            return bad("stats_interval", "at least 100ms");
        }
        Ok(())
    }

    /// The EAL's argv: program name, `--no-pci`, the file prefix, the wire port
    /// (`net_af_packet`) and the kernel port (`net_tap`), then [`AgentConfig::eal`].
    pub fn eal_args(&self) -> Vec<String> {
        let mut args: Vec<String> = vec![
            "splicer-agent".into(),
            "--no-pci".into(),
            "--file-prefix".into(),
            self.file_prefix.clone(),
            "--vdev".into(),
            format!("{},iface={}", WIRE_PORT, self.wire_iface),
            "--vdev".into(),
            format!("{},iface={}", KERNEL_PORT, self.kernel_iface),
        ];
        if !self
            .eal
            .iter()
            .any(|a| a == "-l" || a == "--lcores" || a == "-c")
        {
            args.extend(["-l".into(), "0".into()]);
        }
        args.extend(self.eal.iter().cloned());
        args
    }
}

/// The wire port's DPDK device name.
pub const WIRE_PORT: &str = "net_af_packet0";
/// The kernel port's DPDK device name.
pub const KERNEL_PORT: &str = "net_tap0";

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
listen = "198.19.0.11:7470"
fronts = ["198.19.0.1"]
wire_iface = "ho-w1"
kernel_iface = "ho-k1"
file_prefix = "ho-agent1"
eal = ["--no-huge", "-m", "128"]
idle_sleep = "100us"
replay_timeout = "2s"
"#;

    #[test]
    fn a_good_file_gives_its_values_and_the_defaults() {
        let c = AgentConfig::parse(GOOD).unwrap();
        assert_eq!(c.listen, "198.19.0.11:7470".parse().unwrap());
        assert_eq!(c.idle_sleep, Duration::from_micros(100));
        assert_eq!(c.settings.replay_timeout, Duration::from_secs(2));
        assert_eq!(c.settings.idle_timeout, Duration::from_secs(300));
        assert_eq!(c.settings.splicer_dead_time, Duration::from_secs(5));
        assert_eq!(c.stats_interval, Duration::from_secs(10));
        assert_eq!(
            c.eal_args(),
            [
                "splicer-agent",
                "--no-pci",
                "--file-prefix",
                "ho-agent1",
                "--vdev",
                "net_af_packet0,iface=ho-w1",
                "--vdev",
                "net_tap0,iface=ho-k1",
                "-l",
                "0",
                "--no-huge",
                "-m",
                "128"
            ]
        );
    }

    #[test]
    fn bad_values_name_their_key() {
        for (from, to, key) in [
            ("198.19.0.11:7470", "198.19.0.11:0", "listen"),
            ("[\"198.19.0.1\"]", "[]", "fronts"),
            ("[\"198.19.0.1\"]", "[\"0.0.0.0\"]", "fronts"),
            ("\"ho-k1\"", "\"ho-w1\"", "kernel_iface"),
            ("\"ho-w1\"", "\"a-name-too-long-for-linux\"", "wire_iface"),
            ("\"2s\"", "\"10ms\"", "replay_timeout"),
            ("\"100us\"", "\"soon\"", "idle_sleep"),
            (
                "\"2s\"\n",
                "\"2s\"\nsplicer_dead_time = \"100ms\"\n",
                "splicer_dead_time",
            ),
            ("\"--no-huge\"", "\"--vdev\"", "eal"),
        ] {
            let text = GOOD.replacen(from, to, 1);
            let err = AgentConfig::parse(&text).unwrap_err().to_string();
            assert!(err.starts_with(key), "{key}: {err}");
        }
        let err = AgentConfig::parse(&format!("{GOOD}\nbogus = 1\n")).unwrap_err();
        assert!(err.to_string().contains("bogus"), "{err}");
    }
}
