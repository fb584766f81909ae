//! `[cluster]`: the other appliances serving the same VIPs behind an ECMP router, for
//! the segments of their connections that reach this one (docs/SCALE-OUT.md, "Flow
//! ownership"). Off when the table is left out.

use crate::duration;
use crate::net::valid_name;
use crate::raw::describe;
use crate::{ConfigError, Port};
use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;
use toml::Value;

/// Default `heartbeat_interval`.
pub const HEARTBEAT_INTERVAL_DEFAULT: Duration = Duration::from_secs(1);
/// Default `dead_time`.
pub const DEAD_TIME_DEFAULT: Duration = Duration::from_secs(3);
/// Shortest and longest `heartbeat_interval`.
pub const HEARTBEAT_INTERVAL_MIN: Duration = Duration::from_millis(20);
pub const HEARTBEAT_INTERVAL_MAX: Duration = Duration::from_secs(60);
/// Longest `dead_time`.
pub const DEAD_TIME_MAX: Duration = Duration::from_secs(600);
/// Most peers.
pub const PEERS_MAX: usize = 64;
/// Default `stray_rate`: strays each worker sends on per second. A router change that
/// moves 100,000 established connections to this appliance brings each one's next
/// client segment (mostly ACKs) here within about a round trip: 100,000 strays in the
/// first second pass even if the NIC's hash gave them all to one worker (the bucket
/// holds one second's worth), while a flood of forged ACKs is copied to the peers at
/// most at this rate per worker instead of at line rate.
pub const STRAY_RATE_DEFAULT: u64 = 100_000;
/// Largest `stray_rate`.
pub const STRAY_RATE_MAX: u64 = 100_000_000;

/// `[cluster]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cluster {
    /// `name` (required, 1 to 32 of `a-z 0-9 _ -`): this appliance's name, sent in its
    /// heartbeats; no peer may have it.
    pub name: String,
    /// `control` (required, `"ip:port"`): the UDP address this appliance's control core
    /// sends its heartbeats from and receives its peers' on (host stack).
    pub control: SocketAddrV4,
    /// `heartbeat_interval` (duration, default `"1s"`, 20ms..=60s): how often a
    /// heartbeat goes to every peer.
    #[serde(serialize_with = "duration::serialize")]
    pub heartbeat_interval: Duration,
    /// `dead_time` (duration, default `"3s"`, at least twice `heartbeat_interval`, at
    /// most 10m): a peer not heard from for this long is dead: strays are no longer
    /// sent to it.
    #[serde(serialize_with = "duration::serialize")]
    pub dead_time: Duration,
    /// `stray_rate` (integer, default 100000, 1..=100000000): strays each worker sends
    /// on to the peers per second, in bursts of up to one second's worth; beyond, a
    /// stray is dropped without a reset (`cluster_strays_over_limit`). Bounds the
    /// copies a flood of forged segments makes: (live peers) x workers x this.
    pub stray_rate: u64,
    /// `[[cluster.peers]]` (at least one): the other appliances.
    pub peers: Vec<Peer>,
}

/// `[[cluster.peers]]`: another appliance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Peer {
    /// `name` (required, unique, 1 to 32 of `a-z 0-9 _ -`): the name its heartbeats
    /// carry (its own `cluster.name`).
    pub name: String,
    /// `address` (required, IPv4): its dataplane address on the segment the appliances
    /// share with the router (its outside port's address): strays go to its MAC, found
    /// by ARP. Must be on one of this appliance's port subnets.
    pub address: Ipv4Addr,
    /// `control` (required, `"ip:port"`): where its heartbeats come from and ours go.
    pub control: SocketAddrV4,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [cluster] table")]
pub(crate) struct RawCluster {
    name: Option<Value>,
    control: Option<Value>,
    heartbeat_interval: Option<Value>,
    dead_time: Option<Value>,
    stray_rate: Option<Value>,
    #[serde(default)]
    peers: Vec<RawPeer>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [[cluster.peers]] table")]
struct RawPeer {
    name: Option<Value>,
    address: Option<Value>,
    control: Option<Value>,
}

fn required(key: &str, v: Option<Value>) -> Result<Value, ConfigError> {
    v.ok_or_else(|| ConfigError::invalid(key, "required"))
}

fn name(key: &str, v: Option<Value>) -> Result<String, ConfigError> {
    match required(key, v)? {
        Value::String(s) if valid_name(&s) => Ok(s),
        Value::String(s) => Err(ConfigError::invalid(
            key,
            format!("{s:?} is not a name: 1 to 32 of a-z 0-9 _ -"),
        )),
        other => Err(ConfigError::invalid(
            key,
            format!("expected a string, got {}", describe(&other)),
        )),
    }
}

fn socket(key: &str, v: Option<Value>) -> Result<SocketAddrV4, ConfigError> {
    match required(key, v)? {
        Value::String(s) => s.trim().parse().map_err(|_| {
            ConfigError::invalid(
                key,
                format!("{s:?} is not an IPv4 address with a UDP port (like 127.0.0.1:7411)"),
            )
        }),
        other => Err(ConfigError::invalid(
            key,
            format!("expected a string, got {}", describe(&other)),
        )),
    }
}

fn period(key: &str, v: Option<Value>, default: Duration) -> Result<Duration, ConfigError> {
    match v {
        None => Ok(default),
        Some(v) => duration::parse(&v).map_err(|m| ConfigError::invalid(key, m)),
    }
}

impl RawCluster {
    pub(crate) fn convert(self) -> Result<Cluster, ConfigError> {
        let peers = self
            .peers
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                let at = |k: &str| format!("cluster.peers[{i}].{k}");
                let address = match required(&at("address"), p.address)? {
                    Value::String(s) => s.trim().parse().map_err(|_| {
                        ConfigError::invalid(at("address"), format!("{s:?} is not an IPv4 address"))
                    })?,
                    other => {
                        return Err(ConfigError::invalid(
                            at("address"),
                            format!("expected a string, got {}", describe(&other)),
                        ))
                    }
                };
                Ok(Peer {
                    name: name(&at("name"), p.name)?,
                    address,
                    control: socket(&at("control"), p.control)?,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Cluster {
            name: name("cluster.name", self.name)?,
            control: socket("cluster.control", self.control)?,
            heartbeat_interval: period(
                "cluster.heartbeat_interval",
                self.heartbeat_interval,
                HEARTBEAT_INTERVAL_DEFAULT,
            )?,
            dead_time: period("cluster.dead_time", self.dead_time, DEAD_TIME_DEFAULT)?,
            stray_rate: match self.stray_rate {
                None => STRAY_RATE_DEFAULT,
                Some(Value::Integer(n)) if (1..=STRAY_RATE_MAX as i64).contains(&n) => n as u64,
                Some(other) => {
                    return Err(ConfigError::invalid(
                        "cluster.stray_rate",
                        format!(
                            "expected an integer 1..={STRAY_RATE_MAX} (strays per second per worker), got {}",
                            describe(&other)
                        ),
                    ))
                }
            },
            peers,
        })
    }
}

impl Cluster {
    /// The rules of `[cluster]`, against the ports its peers must be reached on.
    pub(crate) fn validate(&self, ports: &[Port]) -> Result<(), ConfigError> {
        let hb = self.heartbeat_interval;
        if !(HEARTBEAT_INTERVAL_MIN..=HEARTBEAT_INTERVAL_MAX).contains(&hb) {
            return Err(ConfigError::invalid(
                "cluster.heartbeat_interval",
                format!("{hb:?} is out of range 20ms..=60s"),
            ));
        }
        if self.dead_time < 2 * hb || self.dead_time > DEAD_TIME_MAX {
            return Err(ConfigError::invalid(
                "cluster.dead_time",
                format!(
                    "{:?} must be at least twice heartbeat_interval ({:?}) and at most 10m: one lost heartbeat must not kill a peer",
                    self.dead_time,
                    2 * hb
                ),
            ));
        }
        if self.peers.is_empty() || self.peers.len() > PEERS_MAX {
            return Err(ConfigError::invalid(
                "cluster.peers",
                format!(
                    "give 1 to {PEERS_MAX} [[cluster.peers]] (leave [cluster] out to turn it off)"
                ),
            ));
        }
        for (i, p) in self.peers.iter().enumerate() {
            let at = |k: &str| format!("cluster.peers[{i}].{k}");
            let before = &self.peers[..i];
            if p.name == self.name || before.iter().any(|q| q.name == p.name) {
                return Err(ConfigError::invalid(
                    at("name"),
                    format!("{:?} is this appliance's or another peer's name", p.name),
                ));
            }
            if before.iter().any(|q| q.address == p.address) {
                return Err(ConfigError::invalid(
                    at("address"),
                    format!("{} is another peer's address", p.address),
                ));
            }
            if p.control == self.control || before.iter().any(|q| q.control == p.control) {
                return Err(ConfigError::invalid(
                    at("control"),
                    format!("{} is cluster.control or another peer's", p.control),
                ));
            }
            if ports.iter().any(|port| port.address.addr == p.address) {
                return Err(ConfigError::invalid(
                    at("address"),
                    format!("{} is this appliance's own port address", p.address),
                ));
            }
            if !ports.iter().any(|port| port.address.contains(p.address)) {
                return Err(ConfigError::invalid(
                    at("address"),
                    format!(
                        "{} is on no port's subnet: a peer is reached directly, on the segment the appliances share with the router",
                        p.address
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::Config;

    const PEER: &str =
        "[[cluster.peers]]\nname = \"b\"\naddress = \"198.18.0.2\"\ncontrol = \"127.0.0.2:7411\"\n";

    fn load(extra: &str) -> Result<Config, String> {
        crate::fixtures::parse_outside_only(extra)
    }

    fn cluster(lines: &str, peers: &str) -> String {
        format!("[cluster]\nname = \"a\"\ncontrol = \"127.0.0.1:7411\"\n{lines}\n{peers}")
    }

    #[test]
    fn off_by_default_and_defaults_when_on() {
        assert_eq!(load("").unwrap().cluster, None);
        let c = load(&cluster("", PEER)).unwrap().cluster.unwrap();
        assert_eq!(c.heartbeat_interval, super::HEARTBEAT_INTERVAL_DEFAULT);
        assert_eq!(c.dead_time, super::DEAD_TIME_DEFAULT);
        assert_eq!(c.stray_rate, super::STRAY_RATE_DEFAULT);
        assert_eq!(c.peers.len(), 1);
        assert_eq!(c.peers[0].address.to_string(), "198.18.0.2");
        assert_eq!(c.control.to_string(), "127.0.0.1:7411");
    }

    #[test]
    fn mistakes_are_named() {
        let other = "[[cluster.peers]]\nname = \"c\"\naddress = \"198.18.0.3\"\ncontrol = \"127.0.0.3:7411\"\n";
        for (extra, says) in [
            (cluster("", ""), "cluster.peers"),
            (
                cluster("heartbeat_interval = \"1s\"\ndead_time = \"1500ms\"", PEER),
                "cluster.dead_time",
            ),
            (
                cluster("heartbeat_interval = \"1ms\"", PEER),
                "cluster.heartbeat_interval",
            ),
            (
                cluster("", &PEER.replace("198.18.0.2", "198.20.0.2")),
                "on no port's subnet",
            ),
            (
                cluster("", &PEER.replace("198.18.0.2", "198.18.0.1")),
                "own port address",
            ),
            (
                cluster("", &PEER.replace("\"b\"", "\"a\"")),
                "cluster.peers[0].name",
            ),
            (
                cluster(
                    "",
                    &format!("{PEER}{}", other.replace("198.18.0.3", "198.18.0.2")),
                ),
                "cluster.peers[1].address",
            ),
            (
                cluster("", &PEER.replace("127.0.0.2", "127.0.0.1")),
                "cluster.peers[0].control",
            ),
            (cluster("", &PEER.replace(":7411", "")), "UDP port"),
            (cluster("speed = 1", PEER), "speed"),
            (cluster("stray_rate = 0", PEER), "cluster.stray_rate"),
            (cluster("stray_rate = \"fast\"", PEER), "cluster.stray_rate"),
            (
                "[cluster]\ncontrol = \"127.0.0.1:1\"\n".to_string(),
                "cluster.name",
            ),
        ] {
            let e = load(&extra).expect_err(&extra);
            assert!(e.contains(says), "{extra}: {e}");
        }
        assert!(load(&cluster("", &format!("{PEER}{other}"))).is_ok());
    }

    #[test]
    fn written_back_and_read_again() {
        let c = load(&cluster(
            "heartbeat_interval = \"250ms\"\ndead_time = \"1s\"\nstray_rate = 5000",
            PEER,
        ))
        .unwrap();
        assert_eq!(c.cluster.as_ref().unwrap().stray_rate, 5000);
        let again: Config = c.to_toml().parse().expect("reads back");
        assert_eq!(again.cluster, c.cluster);
    }
}
