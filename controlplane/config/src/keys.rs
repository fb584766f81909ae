//! Every `[dataplane]` key, the integer keys of `[[real]]` and `[[url]]` and
//! `virtual.max_request_head`, `.max_pipeline` and `.max_held`, declared once: its path,
//! its default and the values it accepts.
//!
//! One declaration per key, so that a default or a range is written in one place: the
//! loader (`raw/`) fills in [`IntKey::default`] / [`DurationKey::default`] and
//! reports an integer that does not fit with the key's range; the validator checks
//! the ranges here; [`crate::defaults`] and [`crate::Dataplane::new`] read the
//! defaults from here; and a test checks docs/CONFIGURATION.md's "Defaults at a
//! glance" against [`KEYS`]. What a key means is documented once, on its field of
//! [`crate::Dataplane`] (and in docs/CONFIGURATION.md); the bounds that depend on
//! another key (`max_half_open` at most `max_flows`, `mempool_cache` at most
//! `mempool_size / 1.5`, `maxconns` at least `pool`) are checked by the validator,
//! which names both keys.

use crate::{ByteSize, ConfigError};
use splicer_pipeline::balance::RequestClass;
use splicer_pipeline::Service;
use std::time::Duration;

/// An integer key: its path, default and range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntKey<T> {
    /// The key's path, `dataplane.workers`; for a key of an array of tables, the table
    /// and the field (`real.weight`), completed per entry in messages (`real[2].weight`).
    pub name: &'static str,
    /// The value the loader fills in when the key is left out.
    pub default: T,
    /// The smallest accepted value.
    pub min: i64,
    /// The largest accepted value (`u32::MAX`: no bound of its own).
    pub max: i64,
    /// Whether the value must be a power of two (ring sizes).
    pub power_of_two: bool,
}

/// What a duration key makes of zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zero {
    /// Refused: "must be greater than zero".
    Refused,
    /// An ordinary value (`idle_sleep`: busy polling).
    Accepted,
    /// Turns the feature off, held as `None` (`stats_interval`).
    Off,
}

/// A duration key: its path, default and range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationKey {
    /// The key's path, `dataplane.body_timeout`.
    pub name: &'static str,
    /// The value the loader fills in when the key is left out.
    pub default: Duration,
    /// What zero means.
    pub zero: Zero,
    /// The longest accepted value.
    pub max: Duration,
}

/// A byte-size key: its path, default and range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeKey {
    /// The key's path (`virtual.max_request_head`), completed per entry in messages.
    pub name: &'static str,
    /// The value the loader fills in when the key is left out.
    pub default: ByteSize,
    /// The smallest accepted value.
    pub min: ByteSize,
    /// The largest accepted value.
    pub max: ByteSize,
}

/// The default of a key whose value is checked by code of its own (an argument list, a
/// path, an address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnDefault {
    /// The key must be given.
    Required,
    /// Left out, the feature is off.
    Off,
    /// This text.
    Text(&'static str),
    /// A boolean key: this value.
    Flag(bool),
}

/// A key checked by code of its own in the validator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnKey {
    /// The key's path, `dataplane.eal`.
    pub name: &'static str,
    /// Its default.
    pub default: OwnDefault,
}

/// One declared key, whatever its kind: the entries of [`KEYS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A 16-bit integer key.
    U16(&'static IntKey<u16>),
    /// A 32-bit integer key.
    U32(&'static IntKey<u32>),
    /// A 32-bit integer key with no fixed default (`syn_cookie_threshold`: computed from
    /// another key, see its field).
    OptionalU32(&'static IntKey<Option<u32>>),
    /// A duration key.
    Duration(&'static DurationKey),
    /// A byte-size key.
    Size(&'static SizeKey),
    /// A key checked by code of its own.
    Own(&'static OwnKey),
}

impl Key {
    /// The key's path, `dataplane.workers`.
    pub fn name(&self) -> &'static str {
        match self {
            Key::U16(k) => k.name,
            Key::U32(k) => k.name,
            Key::OptionalU32(k) => k.name,
            Key::Duration(k) => k.name,
            Key::Size(k) => k.name,
            Key::Own(k) => k.name,
        }
    }
}

/// No bound of its own beyond the type's (`mempool_size`, `max_half_open`): the range
/// reads "at least N".
const UNBOUNDED: i64 = u32::MAX as i64;
/// Longest accepted value of every duration key but `idle_sleep`.
const DAY: Duration = Duration::from_secs(24 * 3600);
/// Bytes per second: the largest accepted `body_min_rate` / `send_min_rate`.
const RATE_MAX: i64 = 1_000_000_000;

const fn int<T>(name: &'static str, default: T, min: i64, max: i64) -> IntKey<T> {
    IntKey {
        name,
        default,
        min,
        max,
        power_of_two: false,
    }
}

const fn ring<T>(name: &'static str, default: T, min: i64, max: i64) -> IntKey<T> {
    IntKey {
        name,
        default,
        min,
        max,
        power_of_two: true,
    }
}

const fn timeout(name: &'static str, secs: u64) -> DurationKey {
    DurationKey {
        name,
        default: Duration::from_secs(secs),
        zero: Zero::Refused,
        max: DAY,
    }
}

pub const EAL: OwnKey = OwnKey {
    name: "dataplane.eal",
    default: OwnDefault::Required,
};
pub const WORKERS: IntKey<u16> = int("dataplane.workers", 1, 1, 64);
pub const STATS_INTERVAL: DurationKey = DurationKey {
    zero: Zero::Off,
    ..timeout("dataplane.stats_interval", 10)
};
/// 2^14 - 1 mbufs: DPDK pools are most efficient at 2^n - 1.
pub const MEMPOOL_SIZE: IntKey<u32> = int("dataplane.mempool_size", 16383, 1024, UNBOUNDED);
/// At most DPDK's `RTE_MEMPOOL_CACHE_MAX_SIZE`.
pub const MEMPOOL_CACHE: IntKey<u32> = int("dataplane.mempool_cache", 256, 0, 512);
pub const RX_DESCRIPTORS: IntKey<u16> = ring("dataplane.rx_descriptors", 1024, 64, 4096);
pub const TX_DESCRIPTORS: IntKey<u16> = ring("dataplane.tx_descriptors", 1024, 64, 4096);
pub const BURST_SIZE: IntKey<u16> = int("dataplane.burst_size", 32, 1, 256);
pub const HANDOFF_RING_SIZE: IntKey<u32> = ring("dataplane.handoff_ring_size", 4096, 64, 65536);
pub const NEIGHBOUR_TIMEOUT: DurationKey = timeout("dataplane.neighbour_timeout", 60);
pub const NEIGHBOUR_RETRY: DurationKey = timeout("dataplane.neighbour_retry", 1);
pub const NEIGHBOUR_PENDING: IntKey<u16> = int("dataplane.neighbour_pending", 16, 0, 65535);
/// Zero: pure busy polling.
pub const IDLE_SLEEP: DurationKey = DurationKey {
    name: "dataplane.idle_sleep",
    default: Duration::ZERO,
    zero: Zero::Accepted,
    max: Duration::from_secs(1),
};
/// 2^16 client connections per worker.
pub const MAX_FLOWS: IntKey<u32> = int("dataplane.max_flows", 65536, 1024, 4_194_304);
/// The upper bound is `max_flows`, checked apart.
pub const MAX_HALF_OPEN: IntKey<u32> = int("dataplane.max_half_open", 4096, 16, UNBOUNDED);
/// No fixed default (half of `max_half_open`, see
/// [`crate::Dataplane::syn_cookie_threshold`]); the upper bound is `max_half_open`,
/// checked apart.
pub const SYN_COOKIE_THRESHOLD: IntKey<Option<u32>> =
    int("dataplane.syn_cookie_threshold", None, 0, UNBOUNDED);
pub const HANDSHAKE_TIMEOUT: DurationKey = timeout("dataplane.handshake_timeout", 3);
pub const REQUEST_TIMEOUT: DurationKey = timeout("dataplane.request_timeout", 10);
pub const CLIENT_IDLE_TIMEOUT: DurationKey = timeout("dataplane.client_idle_timeout", 60);
pub const CONNECT_TIMEOUT: DurationKey = timeout("dataplane.connect_timeout", 3);
/// IPVS's and HAProxy's usual order of magnitude for pass-through connections: an idle
/// TLS or SSH session outlives an HTTP keep-alive.
pub const TCP_IDLE_TIMEOUT: DurationKey = timeout("dataplane.tcp_idle_timeout", 300);
/// A handoff virtual's wait for an agent's HANDOFF_ACK (HANDOFF resent every 100 ms).
pub const HANDOFF_TIMEOUT: DurationKey = timeout("dataplane.handoff_timeout", 1);
/// How often the data plane sends each agent a HEARTBEAT.
pub const AGENT_HEARTBEAT: DurationKey = timeout("dataplane.agent_heartbeat", 1);
/// Silence after which an agent counts as down.
pub const AGENT_DEAD_TIME: DurationKey = timeout("dataplane.agent_dead_time", 3);
pub const QUEUE_TIMEOUT: DurationKey = timeout("dataplane.queue_timeout", 3);
pub const SERVER_IDLE_TIMEOUT: DurationKey = timeout("dataplane.server_idle_timeout", 60);
pub const DRAIN_TIMEOUT: DurationKey = timeout("dataplane.drain_timeout", 5);
/// How long a stopping Splicer (SIGTERM) lets requests in flight finish.
pub const STOP_TIMEOUT: DurationKey = timeout("dataplane.stop_timeout", 10);
/// With `body_min_rate`, Apache mod_reqtimeout's `body=20,MinRate=500`.
pub const BODY_TIMEOUT: DurationKey = timeout("dataplane.body_timeout", 20);
pub const BODY_MIN_RATE: IntKey<u32> = int("dataplane.body_min_rate", 500, 0, RATE_MAX);
pub const SEND_TIMEOUT: DurationKey = timeout("dataplane.send_timeout", 30);
pub const SEND_MIN_RATE: IntKey<u32> = int("dataplane.send_min_rate", 1024, 0, RATE_MAX);
/// Failed requests in a row to one real, on one worker, that make it an outlier; 0: off.
pub const OUTLIER_ERRORS: IntKey<u32> = int("dataplane.outlier_errors", 5, 0, 1000);
/// How long a first ejection lasts; the n-th lasts n times as long.
pub const OUTLIER_EJECTION: DurationKey = timeout("dataplane.outlier_ejection", 30);
/// The longest ejection.
pub const OUTLIER_MAX_EJECTION: DurationKey = timeout("dataplane.outlier_max_ejection", 300);
/// Most of a set's reals ejected at once, in percent.
pub const MAX_EJECTION_PERCENT: IntKey<u16> = int("dataplane.max_ejection_percent", 50, 0, 100);
pub const CONTROL_SOCKET: OwnKey = OwnKey {
    name: "dataplane.control_socket",
    default: OwnDefault::Text("/run/splicer/splicer.sock"),
};
pub const METRICS: OwnKey = OwnKey {
    name: "dataplane.metrics",
    default: OwnDefault::Off,
};
/// Lets `metrics` listen on an address other than loopback.
pub const METRICS_PUBLIC: OwnKey = OwnKey {
    name: "dataplane.metrics_public",
    default: OwnDefault::Flag(false),
};
/// A second control socket that only answers commands that change nothing.
pub const CONTROL_SOCKET_READONLY: OwnKey = OwnKey {
    name: "dataplane.control_socket_readonly",
    default: OwnDefault::Off,
};

pub const REAL_WEIGHT: IntKey<u16> = int("real.weight", 1, 0, 1000);
/// Idle server connections kept open per worker.
pub const REAL_POOL: IntKey<u16> = int("real.pool", 4, 0, 1024);
/// Requests in flight per worker (in request costs); also at least `pool`, checked apart.
pub const REAL_MAXCONNS: IntKey<u16> = int("real.maxconns", 64, 1, 65535);
/// 1: an origin (freshest copy); 2 and up: mirrors, used while the tiers above are full.
pub const REAL_TIER: IntKey<u16> = int("real.tier", 1, 1, 16);
pub const URL_WEIGHT: IntKey<u16> = int("url.weight", 1, 0, 1000);
pub const MAX_REQUEST_HEAD: SizeKey = SizeKey {
    name: "virtual.max_request_head",
    default: ByteSize::kib(16),
    min: ByteSize::kib(1),
    max: ByteSize::kib(64),
};
/// Requests of one client connection in flight at once; the default is the data
/// plane's ([`Service::DEFAULT_MAX_PIPELINE`]).
pub const MAX_PIPELINE: IntKey<u16> = int(
    "virtual.max_pipeline",
    Service::DEFAULT_MAX_PIPELINE,
    1,
    256,
);
/// Bytes of later responses held per client connection; the default is the data
/// plane's ([`Service::DEFAULT_MAX_HELD`]).
pub const MAX_HELD: SizeKey = SizeKey {
    name: "virtual.max_held",
    default: ByteSize::from_bytes(Service::DEFAULT_MAX_HELD as u64),
    min: ByteSize::from_bytes(0),
    max: ByteSize::kib(1024),
};
/// Client stickiness with a timer (US 7,099,915); zero (the default) is off. The
/// sticky tables' clock counts seconds modulo 2^16 and is swept far more often, so any
/// timer well below 18 hours would do; 4 hours is longer than any session.
pub const STICKY: DurationKey = DurationKey {
    name: "virtual.sticky",
    default: Duration::ZERO,
    zero: Zero::Off,
    max: Duration::from_secs(4 * 3600),
};
/// Entries of a sticky virtual's table (8 bytes each), shared by the workers.
pub const STICKY_TABLE: IntKey<u32> = ring("virtual.sticky_table", 65536, 64, 1 << 22);

/// Requests one worker keeps waiting per virtual while every real of their set is full.
pub const QUEUE_SIZE: IntKey<u16> = int("virtual.queue_size", 256, 0, 65535);
/// The queueing priority of a virtual's bind list, and of its rules that set none; the
/// data plane's default ([`RequestClass::DEFAULT_PRIORITY`], the middle).
pub const PRIORITY: IntKey<u16> = int(
    "virtual.priority",
    RequestClass::DEFAULT_PRIORITY as u16,
    0,
    RequestClass::MAX_PRIORITY as i64,
);
/// Slots of a real's `maxconns` a request takes (bind list; rules that set none).
pub const COST: IntKey<u16> = int("virtual.cost", 1, 1, 1000);

/// Every declared key, in the order of docs/CONFIGURATION.md's defaults table.
pub const KEYS: &[Key] = &[
    Key::Own(&EAL),
    Key::U16(&WORKERS),
    Key::Duration(&STATS_INTERVAL),
    Key::U32(&MEMPOOL_SIZE),
    Key::U32(&MEMPOOL_CACHE),
    Key::U16(&RX_DESCRIPTORS),
    Key::U16(&TX_DESCRIPTORS),
    Key::U16(&BURST_SIZE),
    Key::U32(&HANDOFF_RING_SIZE),
    Key::Duration(&NEIGHBOUR_TIMEOUT),
    Key::Duration(&NEIGHBOUR_RETRY),
    Key::U16(&NEIGHBOUR_PENDING),
    Key::Duration(&IDLE_SLEEP),
    Key::U32(&MAX_FLOWS),
    Key::U32(&MAX_HALF_OPEN),
    Key::OptionalU32(&SYN_COOKIE_THRESHOLD),
    Key::Duration(&HANDSHAKE_TIMEOUT),
    Key::Duration(&REQUEST_TIMEOUT),
    Key::Duration(&CLIENT_IDLE_TIMEOUT),
    Key::Duration(&CONNECT_TIMEOUT),
    Key::Duration(&TCP_IDLE_TIMEOUT),
    Key::Duration(&HANDOFF_TIMEOUT),
    Key::Duration(&AGENT_HEARTBEAT),
    Key::Duration(&AGENT_DEAD_TIME),
    Key::Duration(&QUEUE_TIMEOUT),
    Key::Duration(&SERVER_IDLE_TIMEOUT),
    Key::Duration(&DRAIN_TIMEOUT),
    Key::Duration(&STOP_TIMEOUT),
    Key::Duration(&BODY_TIMEOUT),
    Key::U32(&BODY_MIN_RATE),
    Key::Duration(&SEND_TIMEOUT),
    Key::U32(&SEND_MIN_RATE),
    Key::U32(&OUTLIER_ERRORS),
    Key::Duration(&OUTLIER_EJECTION),
    Key::Duration(&OUTLIER_MAX_EJECTION),
    Key::U16(&MAX_EJECTION_PERCENT),
    Key::Own(&CONTROL_SOCKET),
    Key::Own(&METRICS),
    Key::Own(&METRICS_PUBLIC),
    Key::Own(&CONTROL_SOCKET_READONLY),
    Key::U16(&REAL_WEIGHT),
    Key::U16(&REAL_POOL),
    Key::U16(&REAL_MAXCONNS),
    Key::U16(&REAL_TIER),
    Key::Size(&MAX_REQUEST_HEAD),
    Key::U16(&MAX_PIPELINE),
    Key::Size(&MAX_HELD),
    Key::U16(&QUEUE_SIZE),
    Key::U16(&PRIORITY),
    Key::U16(&COST),
    Key::Duration(&STICKY),
    Key::U32(&STICKY_TABLE),
    Key::U16(&URL_WEIGHT),
];

impl<T> IntKey<T> {
    fn range(&self) -> String {
        if self.power_of_two {
            format!("a power of two between {} and {}", self.min, self.max)
        } else if self.max == UNBOUNDED {
            format!("at least {}", self.min)
        } else if self.min == 0 {
            format!("at most {}", self.max)
        } else {
            format!("between {} and {}", self.min, self.max)
        }
    }

    /// The error for a value outside the range, at `key` (an entry of an array of
    /// tables, like `real[2].weight`, whose declared name is the field alone).
    pub(crate) fn error_at(&self, key: &str, value: i64) -> ConfigError {
        ConfigError::invalid(key, format!("must be {}, got {value}", self.range()))
    }

    pub(crate) fn check(&self, value: impl Into<i64>) -> Result<(), ConfigError> {
        self.check_at(self.name, value)
    }

    pub(crate) fn check_at(&self, key: &str, value: impl Into<i64>) -> Result<(), ConfigError> {
        let v = value.into();
        let in_range = (self.min..=self.max).contains(&v);
        if in_range && (!self.power_of_two || v.count_ones() == 1) {
            Ok(())
        } else {
            Err(self.error_at(key, v))
        }
    }
}

impl DurationKey {
    /// Checks a value against the range. For a [`Zero::Off`] key the caller passes only
    /// a value that is on (zero is then `None`, never checked here).
    pub(crate) fn check(&self, d: Duration) -> Result<(), ConfigError> {
        if d.is_zero() && self.zero == Zero::Refused {
            return Err(ConfigError::invalid(
                self.name,
                "must be greater than zero, like \"1s\"",
            ));
        }
        if d > self.max {
            return Err(ConfigError::invalid(
                self.name,
                format!(
                    "must be at most {}, got {}",
                    crate::duration::format(self.max),
                    crate::duration::format(d)
                ),
            ));
        }
        Ok(())
    }
}
