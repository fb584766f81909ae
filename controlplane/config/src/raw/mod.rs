//! The file as serde reads it, before it becomes a [`Config`].
//!
//! serde checks the shape (tables, arrays of tables, unknown keys: those errors keep
//! TOML's line/column context); the values are kept as [`toml::Value`] and converted
//! here, so that a wrong type or an unparsable address, duration or size is reported with
//! its key path (`port[1].address: ...`). The converted [`Config`] then goes through
//! [`Config::validate`].

use crate::health::{self, Check};
use crate::keys;
use crate::validate;
use crate::{
    defaults, duration, net::PortAddress, Config, ConfigError, CookieMatch, Dataplane, Dip,
    ForwardFor, ForwardForIncoming, HandoffMode, HeaderMatch, Method, Mode, Port, Real, Rule,
    ServerClose, Url, Virtual,
};
use serde::de::{Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use std::marker::PhantomData;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use toml::Value;

mod values;
pub(crate) use values::describe;
use values::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    dataplane: Option<RawDataplane>,
    #[serde(default, deserialize_with = "port_tables")]
    port: Vec<RawPort>,
    #[serde(default, deserialize_with = "real_tables")]
    real: Vec<RawReal>,
    #[serde(default, rename = "virtual", deserialize_with = "virtual_tables")]
    virtuals: Vec<RawVirtual>,
    #[serde(default, deserialize_with = "url_tables")]
    url: Vec<RawUrl>,
    #[serde(default, deserialize_with = "dip_tables")]
    dip: Vec<RawDip>,
    access_log: Option<crate::access_log::RawAccessLog>,
    announce: Option<crate::announce::RawAnnounce>,
    cluster: Option<crate::cluster::RawCluster>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [dataplane] table")]
struct RawDataplane {
    eal: Option<Value>,
    workers: Option<Value>,
    stats_interval: Option<Value>,
    mempool_size: Option<Value>,
    mempool_cache: Option<Value>,
    rx_descriptors: Option<Value>,
    tx_descriptors: Option<Value>,
    burst_size: Option<Value>,
    handoff_ring_size: Option<Value>,
    neighbour_timeout: Option<Value>,
    neighbour_retry: Option<Value>,
    neighbour_pending: Option<Value>,
    idle_sleep: Option<Value>,
    max_flows: Option<Value>,
    max_half_open: Option<Value>,
    syn_cookie_threshold: Option<Value>,
    handshake_timeout: Option<Value>,
    request_timeout: Option<Value>,
    client_idle_timeout: Option<Value>,
    tcp_idle_timeout: Option<Value>,
    handoff_timeout: Option<Value>,
    agent_heartbeat: Option<Value>,
    agent_dead_time: Option<Value>,
    connect_timeout: Option<Value>,
    queue_timeout: Option<Value>,
    server_idle_timeout: Option<Value>,
    drain_timeout: Option<Value>,
    stop_timeout: Option<Value>,
    body_timeout: Option<Value>,
    body_min_rate: Option<Value>,
    send_timeout: Option<Value>,
    send_min_rate: Option<Value>,
    outlier_errors: Option<Value>,
    outlier_ejection: Option<Value>,
    outlier_max_ejection: Option<Value>,
    max_ejection_percent: Option<Value>,
    control_socket: Option<Value>,
    metrics: Option<Value>,
    metrics_public: Option<Value>,
    control_socket_readonly: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [[port]] table")]
struct RawPort {
    name: Option<Value>,
    address: Option<Value>,
    gateway: Option<Value>,
    impair: Option<crate::impair::RawImpair>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [[virtual]] table")]
struct RawVirtual {
    name: Option<Value>,
    address: Option<Value>,
    port: Option<Value>,
    max_request_head: Option<Value>,
    max_pipeline: Option<Value>,
    max_held: Option<Value>,
    mode: Option<Value>,
    predictor: Option<Value>,
    hash: Option<Value>,
    bind: Option<Value>,
    state: Option<Value>,
    backup: Option<Value>,
    sticky: Option<Value>,
    sticky_table: Option<Value>,
    #[serde(default, deserialize_with = "rule_tables")]
    rule: Vec<RawRule>,
    queue_size: Option<Value>,
    priority: Option<Value>,
    cost: Option<Value>,
    forward_for: Option<Value>,
    forward_for_incoming: Option<Value>,
    server_close: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [[real]] table")]
struct RawReal {
    name: Option<Value>,
    address: Option<Value>,
    weight: Option<Value>,
    pool: Option<Value>,
    maxconns: Option<Value>,
    state: Option<Value>,
    backup: Option<Value>,
    tier: Option<Value>,
    check: Option<Value>,
    slowstart: Option<Value>,
    agent: Option<Value>,
    handoff_mode: Option<Value>,
    local: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [[url]] table")]
struct RawUrl {
    name: Option<Value>,
    url: Option<Value>,
    code: Option<Value>,
    weight: Option<Value>,
    link: Option<Value>,
    state: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [[dip]] table")]
struct RawDip {
    address: Option<Value>,
    port: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a [[virtual.rule]] table")]
struct RawRule {
    name: Option<Value>,
    path_prefix: Option<Value>,
    path_suffix: Option<Value>,
    host: Option<Value>,
    method: Option<Value>,
    header: Option<RawHeader>,
    cookie: Option<RawCookie>,
    bind: Option<Value>,
    priority: Option<Value>,
    cost: Option<Value>,
    predictor: Option<Value>,
    hash: Option<Value>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table like { name = \"X-Tenant\", value = \"blue\" }"
)]
struct RawHeader {
    name: Option<Value>,
    value: Option<Value>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table like { name = \"session\", value = \"blue\" }"
)]
struct RawCookie {
    name: Option<Value>,
    value: Option<Value>,
}

/// An array of tables, with an error that says how to write one.
struct Tables<T>(&'static str, PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for Tables<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an array of tables, written [[{}]]", self.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(items)
    }
}

fn port_tables<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<RawPort>, D::Error> {
    d.deserialize_seq(Tables("port", PhantomData))
}

fn virtual_tables<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<RawVirtual>, D::Error> {
    d.deserialize_seq(Tables("virtual", PhantomData))
}

fn real_tables<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<RawReal>, D::Error> {
    d.deserialize_seq(Tables("real", PhantomData))
}

fn url_tables<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<RawUrl>, D::Error> {
    d.deserialize_seq(Tables("url", PhantomData))
}

fn dip_tables<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<RawDip>, D::Error> {
    d.deserialize_seq(Tables("dip", PhantomData))
}

fn rule_tables<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<RawRule>, D::Error> {
    d.deserialize_seq(Tables("virtual.rule", PhantomData))
}

/// Converts every entry, collecting the failure of each instead of stopping at the
/// first; then validates as [`validate::validate_all`] does. `Ok` only for a valid
/// configuration.
pub(crate) fn convert_all(raw: RawConfig) -> Result<Config, Vec<ConfigError>> {
    fn each<R, T>(
        items: Vec<R>,
        errors: &mut Vec<ConfigError>,
        convert: impl Fn(R, usize) -> Result<T, ConfigError>,
    ) -> Vec<T> {
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            match convert(item, i) {
                Ok(v) => out.push(v),
                Err(e) => errors.push(e),
            }
        }
        out
    }
    let mut errors = Vec::new();
    let dataplane = match raw.dataplane.map(RawDataplane::convert) {
        Some(Ok(dp)) => Some(dp),
        Some(Err(e)) => {
            errors.push(e);
            None
        }
        None => {
            errors.push(ConfigError::invalid(
                "dataplane",
                "the [dataplane] table is missing; it is required and must at least set eal",
            ));
            None
        }
    };
    let ports = each(raw.port, &mut errors, |p, i| p.convert(i));
    let reals = each(raw.real, &mut errors, |r, i| r.convert(i));
    let virtuals = each(raw.virtuals, &mut errors, |v, i| v.convert(i));
    let urls = each(raw.url, &mut errors, |u, i| u.convert(i));
    let dips = each(raw.dip, &mut errors, |d, i| d.convert(i));
    let access_log = match raw.access_log.map(|a| a.convert()).transpose() {
        Ok(a) => a,
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let announce = match raw.announce.map(|a| a.convert()).transpose() {
        Ok(a) => a,
        Err(e) => {
            errors.push(e);
            None
        }
    };
    let cluster = match raw.cluster.map(|c| c.convert()).transpose() {
        Ok(c) => c,
        Err(e) => {
            errors.push(e);
            None
        }
    };
    match dataplane {
        Some(dataplane) if errors.is_empty() => {
            let config = Config {
                dataplane,
                ports,
                reals,
                virtuals,
                urls,
                dips,
                access_log,
                announce,
                cluster,
            };
            let errors = validate::validate_all(&config);
            if errors.is_empty() {
                Ok(config)
            } else {
                Err(errors)
            }
        }
        Some(dataplane) => {
            // The entries that failed leave no whole configuration to validate, but
            // [dataplane] stands alone.
            errors.extend(validate::validate_dataplane(&dataplane).err());
            Err(errors)
        }
        None => Err(errors),
    }
}

impl TryFrom<RawConfig> for Config {
    type Error = ConfigError;

    /// Converts and validates: the [`Config`] returned is valid.
    fn try_from(raw: RawConfig) -> Result<Config, ConfigError> {
        let dataplane = raw.dataplane.ok_or_else(|| {
            ConfigError::invalid(
                "dataplane",
                "the [dataplane] table is missing; it is required and must at least set eal",
            )
        })?;
        let config = Config {
            dataplane: dataplane.convert()?,
            ports: raw
                .port
                .into_iter()
                .enumerate()
                .map(|(i, p)| p.convert(i))
                .collect::<Result<_, _>>()?,
            reals: raw
                .real
                .into_iter()
                .enumerate()
                .map(|(i, r)| r.convert(i))
                .collect::<Result<_, _>>()?,
            virtuals: raw
                .virtuals
                .into_iter()
                .enumerate()
                .map(|(i, v)| v.convert(i))
                .collect::<Result<_, _>>()?,
            urls: raw
                .url
                .into_iter()
                .enumerate()
                .map(|(i, u)| u.convert(i))
                .collect::<Result<_, _>>()?,
            dips: raw
                .dip
                .into_iter()
                .enumerate()
                .map(|(i, d)| d.convert(i))
                .collect::<Result<_, _>>()?,
            access_log: raw.access_log.map(|a| a.convert()).transpose()?,
            announce: raw.announce.map(|a| a.convert()).transpose()?,
            cluster: raw.cluster.map(|c| c.convert()).transpose()?,
        };
        config.validate()?;
        Ok(config)
    }
}

impl RawDataplane {
    fn convert(self) -> Result<Dataplane, ConfigError> {
        let eal = match required("dataplane.eal", self.eal, r#"eal = ["-l", "0-1", "--vdev", "net_tap0"]"#)? {
            Value::Array(items) => items
                .into_iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::String(s) => Ok(s),
                    Value::Integer(n) => Err(ConfigError::invalid(
                        format!("dataplane.eal[{i}]"),
                        format!("expected a string, got integer {n}; EAL arguments are strings, write \"{n}\""),
                    )),
                    other => Err(ConfigError::invalid(
                        format!("dataplane.eal[{i}]"),
                        format!("expected a string, got {}", describe(&other)),
                    )),
                })
                .collect::<Result<_, _>>()?,
            other => {
                return Err(ConfigError::invalid(
                    "dataplane.eal",
                    format!(
                        "expected an array of strings, one per argument (like [\"-l\", \"0-1\"]), got {}",
                        describe(&other)
                    ),
                ))
            }
        };
        let max_flows = integer(&keys::MAX_FLOWS, self.max_flows)?;
        let max_half_open = match self.max_half_open {
            // Beyond u32 is beyond any max_flows: the message that names both keys.
            Some(Value::Integer(i)) if i > i64::from(u32::MAX) => {
                return Err(validate::half_open_above_flows(i, max_flows))
            }
            value => integer(&keys::MAX_HALF_OPEN, value)?,
        };
        // Beyond u32 is beyond any max_half_open: validation names both keys.
        let syn_cookie_threshold = match self.syn_cookie_threshold {
            None => keys::SYN_COOKIE_THRESHOLD.default,
            Some(Value::Integer(i)) if i > i64::from(u32::MAX) => {
                return Err(validate::cookies_above_half_open(i, max_half_open))
            }
            Some(v) => Some(integer_value(
                keys::SYN_COOKIE_THRESHOLD.name,
                &keys::SYN_COOKIE_THRESHOLD,
                v,
            )?),
        };
        let stats_interval = duration(&keys::STATS_INTERVAL, self.stats_interval)?;
        Ok(Dataplane {
            eal,
            workers: integer(&keys::WORKERS, self.workers)?,
            stats_interval: (!stats_interval.is_zero()).then_some(stats_interval),
            mempool_size: integer(&keys::MEMPOOL_SIZE, self.mempool_size)?,
            mempool_cache: integer(&keys::MEMPOOL_CACHE, self.mempool_cache)?,
            rx_descriptors: integer(&keys::RX_DESCRIPTORS, self.rx_descriptors)?,
            tx_descriptors: integer(&keys::TX_DESCRIPTORS, self.tx_descriptors)?,
            burst_size: integer(&keys::BURST_SIZE, self.burst_size)?,
            handoff_ring_size: integer(&keys::HANDOFF_RING_SIZE, self.handoff_ring_size)?,
            neighbour_timeout: duration(&keys::NEIGHBOUR_TIMEOUT, self.neighbour_timeout)?,
            neighbour_retry: duration(&keys::NEIGHBOUR_RETRY, self.neighbour_retry)?,
            neighbour_pending: integer(&keys::NEIGHBOUR_PENDING, self.neighbour_pending)?,
            idle_sleep: duration(&keys::IDLE_SLEEP, self.idle_sleep)?,
            max_flows,
            max_half_open,
            syn_cookie_threshold,
            handshake_timeout: duration(&keys::HANDSHAKE_TIMEOUT, self.handshake_timeout)?,
            request_timeout: duration(&keys::REQUEST_TIMEOUT, self.request_timeout)?,
            client_idle_timeout: duration(&keys::CLIENT_IDLE_TIMEOUT, self.client_idle_timeout)?,
            tcp_idle_timeout: duration(&keys::TCP_IDLE_TIMEOUT, self.tcp_idle_timeout)?,
            handoff_timeout: duration(&keys::HANDOFF_TIMEOUT, self.handoff_timeout)?,
            agent_heartbeat: duration(&keys::AGENT_HEARTBEAT, self.agent_heartbeat)?,
            agent_dead_time: duration(&keys::AGENT_DEAD_TIME, self.agent_dead_time)?,
            connect_timeout: duration(&keys::CONNECT_TIMEOUT, self.connect_timeout)?,
            queue_timeout: duration(&keys::QUEUE_TIMEOUT, self.queue_timeout)?,
            server_idle_timeout: duration(&keys::SERVER_IDLE_TIMEOUT, self.server_idle_timeout)?,
            drain_timeout: duration(&keys::DRAIN_TIMEOUT, self.drain_timeout)?,
            stop_timeout: duration(&keys::STOP_TIMEOUT, self.stop_timeout)?,
            body_timeout: duration(&keys::BODY_TIMEOUT, self.body_timeout)?,
            body_min_rate: integer(&keys::BODY_MIN_RATE, self.body_min_rate)?,
            send_timeout: duration(&keys::SEND_TIMEOUT, self.send_timeout)?,
            send_min_rate: integer(&keys::SEND_MIN_RATE, self.send_min_rate)?,
            outlier_errors: integer(&keys::OUTLIER_ERRORS, self.outlier_errors)?,
            outlier_ejection: duration(&keys::OUTLIER_EJECTION, self.outlier_ejection)?,
            outlier_max_ejection: duration(&keys::OUTLIER_MAX_EJECTION, self.outlier_max_ejection)?,
            max_ejection_percent: integer(&keys::MAX_EJECTION_PERCENT, self.max_ejection_percent)?,
            control_socket: match self.control_socket {
                None => Some(PathBuf::from(defaults::CONTROL_SOCKET)),
                Some(v) => {
                    let s = string("dataplane.control_socket", v)?;
                    (!s.is_empty()).then(|| PathBuf::from(s))
                }
            },
            metrics: match self.metrics {
                None => None,
                Some(v) => {
                    let s = string("dataplane.metrics", v)?;
                    Some(s.trim().parse::<SocketAddr>().map_err(|_| {
                        ConfigError::invalid(
                            "dataplane.metrics",
                            format!("{s:?} is not an address with a TCP port (like \"127.0.0.1:9100\"); leave the key out to disable metrics"),
                        )
                    })?)
                }
            },
            metrics_public: match self.metrics_public {
                None => false,
                Some(Value::Boolean(b)) => b,
                Some(other) => {
                    return Err(ConfigError::invalid(
                        "dataplane.metrics_public",
                        format!("expected true or false, got {}", describe(&other)),
                    ))
                }
            },
            control_socket_readonly: match self.control_socket_readonly {
                None => None,
                Some(v) => {
                    let s = string("dataplane.control_socket_readonly", v)?;
                    (!s.is_empty()).then(|| PathBuf::from(s))
                }
            },
        })
    }
}

impl RawPort {
    fn convert(self, i: usize) -> Result<Port, ConfigError> {
        let key = |field: &str| format!("port[{i}].{field}");
        let name = string(
            &key("name"),
            required(&key("name"), self.name, "name = \"outside\"")?,
        )?;
        let address = string(
            &key("address"),
            required(&key("address"), self.address, "address = \"198.18.0.1/24\"")?,
        )?;
        let address: PortAddress = address
            .trim()
            .parse()
            .map_err(|e| ConfigError::invalid(key("address"), format!("{e}")))?;
        let gateway = match self.gateway {
            None => None,
            Some(v) => {
                let s = string(&key("gateway"), v)?;
                Some(s.trim().parse::<Ipv4Addr>().map_err(|_| {
                    ConfigError::invalid(
                        key("gateway"),
                        format!("{s:?} is not an IPv4 address (like 198.18.0.254)"),
                    )
                })?)
            }
        };
        let impair = match self.impair {
            None => None,
            Some(raw) => Some(raw.convert(i)?),
        };
        Ok(Port {
            name,
            address,
            gateway,
            impair,
        })
    }
}

impl RawVirtual {
    fn convert(self, i: usize) -> Result<Virtual, ConfigError> {
        let key = |field: &str| format!("virtual[{i}].{field}");
        let name = string(
            &key("name"),
            required(&key("name"), self.name, "name = \"www\"")?,
        )?;
        let address = socket_address(
            &key("address"),
            required(
                &key("address"),
                self.address,
                "address = \"198.18.0.100:80\"",
            )?,
            Ipv4Addr::new(198, 18, 0, 100),
        )?;
        let port = match self.port {
            None => None,
            Some(v) => Some(string(&key("port"), v)?),
        };
        let max_request_head = byte_size(
            &key("max_request_head"),
            self.max_request_head,
            defaults::MAX_REQUEST_HEAD,
        )?;
        let max_pipeline =
            integer_at(&key("max_pipeline"), &keys::MAX_PIPELINE, self.max_pipeline)?;
        let max_held = byte_size(&key("max_held"), self.max_held, defaults::MAX_HELD)?;
        let mode = choice(
            &key("mode"),
            self.mode,
            defaults::MODE,
            "mode",
            Mode::NAMES,
            Mode::from_name,
            |_| None,
        )?;
        let forward_for = choice(
            &key("forward_for"),
            self.forward_for,
            ForwardFor::None,
            "forward_for",
            ForwardFor::NAMES,
            ForwardFor::from_name,
            ForwardFor::refusal,
        )?;
        if forward_for != ForwardFor::None && mode == Mode::Redirect {
            return Err(ConfigError::invalid(
                key("forward_for"),
                "a redirect virtual forwards no request (it answers them itself); \
                 forward_for applies to splice virtuals",
            ));
        }
        let incoming_given = self.forward_for_incoming.is_some();
        let forward_for_incoming = choice(
            &key("forward_for_incoming"),
            self.forward_for_incoming,
            ForwardForIncoming::Replace,
            "forward_for_incoming",
            ForwardForIncoming::NAMES,
            ForwardForIncoming::from_name,
            |_| None,
        )?;
        if incoming_given && forward_for != ForwardFor::Header {
            return Err(ConfigError::invalid(
                key("forward_for_incoming"),
                "has no effect without forward_for = \"header\" (Splicer then forwards a \
                 client's X-Forwarded-For unchanged); set forward_for or remove this key",
            ));
        }
        let server_close = choice(
            &key("server_close"),
            self.server_close,
            ServerClose::Keep,
            "server_close",
            ServerClose::NAMES,
            ServerClose::from_name,
            |_| None,
        )?;
        let predictor = predictor(&key("predictor"), self.predictor, defaults::PREDICTOR)?;
        let hash = hash_key(&key("hash"), self.hash)?.unwrap_or_default();
        let bind = match self.bind {
            None => Vec::new(),
            Some(v) => names(&key("bind"), v, mode)?,
        };
        let state = state(&key("state"), self.state)?;
        let backup = optional_string(&key("backup"), self.backup)?;
        let sticky = match self.sticky {
            None => None,
            Some(v) => {
                Some(duration::parse(&v).map_err(|m| ConfigError::invalid(key("sticky"), m))?)
                    .filter(|d| !d.is_zero())
            }
        };
        let sticky_table =
            integer_at(&key("sticky_table"), &keys::STICKY_TABLE, self.sticky_table)?;
        let rules = self
            .rule
            .into_iter()
            .enumerate()
            .map(|(j, r)| r.convert(i, j, mode))
            .collect::<Result<_, _>>()?;
        Ok(Virtual {
            name,
            address,
            port,
            max_request_head,
            max_pipeline,
            max_held,
            mode,
            predictor,
            hash,
            bind,
            rules,
            state,
            backup,
            queue_size: integer_at(&key("queue_size"), &keys::QUEUE_SIZE, self.queue_size)?,
            priority: integer_at(&key("priority"), &keys::PRIORITY, self.priority)?,
            cost: integer_at(&key("cost"), &keys::COST, self.cost)?,
            sticky,
            sticky_table,
            forward_for,
            forward_for_incoming,
            server_close,
        })
    }
}

impl RawReal {
    fn convert(self, i: usize) -> Result<Real, ConfigError> {
        let key = |field: &str| format!("real[{i}].{field}");
        let name = string(
            &key("name"),
            required(&key("name"), self.name, "name = \"s1\"")?,
        )?;
        let address = socket_address(
            &key("address"),
            required(
                &key("address"),
                self.address,
                "address = \"198.19.0.11:80\"",
            )?,
            Ipv4Addr::new(198, 19, 0, 11),
        )?;
        let handoff_mode = choice(
            &key("handoff_mode"),
            self.handoff_mode,
            HandoffMode::L2,
            "handoff_mode",
            HandoffMode::NAMES,
            HandoffMode::from_name,
            |_| None,
        )?;
        Ok(Real {
            name,
            address,
            weight: integer_at(&key("weight"), &keys::REAL_WEIGHT, self.weight)?,
            pool: integer_at(&key("pool"), &keys::REAL_POOL, self.pool)?,
            maxconns: integer_at(&key("maxconns"), &keys::REAL_MAXCONNS, self.maxconns)?,
            state: state(&key("state"), self.state)?,
            backup: optional_string(&key("backup"), self.backup)?,
            tier: integer_at(&key("tier"), &keys::REAL_TIER, self.tier)?,
            check: self
                .check
                .map(|v| Check::parse(&key("check"), v))
                .transpose()?,
            slowstart: health::slowstart(&key("slowstart"), self.slowstart)?,
            agent: self
                .agent
                .map(|v| agent_address(&key("agent"), v))
                .transpose()?,
            handoff_mode,
            local: match self.local {
                None => false,
                Some(Value::Boolean(b)) => b,
                Some(other) => {
                    return Err(ConfigError::invalid(
                        key("local"),
                        format!("expected true or false, got {}", describe(&other)),
                    ))
                }
            },
        })
    }
}

impl RawUrl {
    fn convert(self, i: usize) -> Result<Url, ConfigError> {
        let key = |field: &str| format!("url[{i}].{field}");
        let name = string(
            &key("name"),
            required(&key("name"), self.name, "name = \"coyote\"")?,
        )?;
        let url = string(
            &key("url"),
            required(
                &key("url"),
                self.url,
                "url = \"http://coyote.acme.example/%d\"",
            )?,
        )?;
        let code = match self.code {
            None => defaults::URL_CODE,
            Some(Value::Integer(c)) => {
                u16::try_from(c).map_err(|_| validate::url_code_error(&key("code"), c))?
            }
            Some(other) => {
                return Err(ConfigError::invalid(
                    key("code"),
                    format!("expected an integer, got {}", describe(&other)),
                ))
            }
        };
        Ok(Url {
            name,
            url,
            code,
            weight: integer_at(&key("weight"), &keys::URL_WEIGHT, self.weight)?,
            link: optional_string(&key("link"), self.link)?,
            state: state(&key("state"), self.state)?,
        })
    }
}

impl RawDip {
    fn convert(self, i: usize) -> Result<Dip, ConfigError> {
        let key = |field: &str| format!("dip[{i}].{field}");
        let address = string(
            &key("address"),
            required(&key("address"), self.address, "address = \"198.19.0.11\"")?,
        )?;
        let address = address.trim().parse::<Ipv4Addr>().map_err(|_| {
            let hint = match address.trim().parse::<SocketAddrV4>() {
                Ok(s) => format!("; a DIP takes its real's TCP port, write \"{}\"", s.ip()),
                Err(_) => String::new(),
            };
            ConfigError::invalid(
                key("address"),
                format!("{address:?} is not an IPv4 address (like 198.19.0.11){hint}"),
            )
        })?;
        let port = string(
            &key("port"),
            required(&key("port"), self.port, "port = \"outside\"")?,
        )?;
        Ok(Dip { address, port })
    }
}

impl RawRule {
    fn convert(self, i: usize, j: usize, mode: Mode) -> Result<Rule, ConfigError> {
        let key = |field: &str| format!("virtual[{i}].rule[{j}].{field}");
        let optional = |field: &str, value: Option<Value>| -> Result<Option<String>, ConfigError> {
            value.map(|v| string(&key(field), v)).transpose()
        };
        // In the order of the keys in the documentation, so that the first problem
        // reported is the first one a reader meets.
        let name = match self.name {
            None => format!("rule{}", j + 1),
            Some(v) => string(&key("name"), v)?,
        };
        let path_prefix = optional("path_prefix", self.path_prefix)?;
        let path_suffix = optional("path_suffix", self.path_suffix)?;
        let host = optional("host", self.host)?;
        let method = match optional("method", self.method)? {
            None => None,
            Some(token) => Some(method(&key("method"), &token)?),
        };
        // `{ name = ..., value = ... }`: both required strings.
        let pair = |field: &str, example: &str, name, value| -> Result<_, ConfigError> {
            let at = |part: &str| key(&format!("{field}.{part}"));
            Ok((
                string(&at("name"), required(&at("name"), name, example)?)?,
                string(&at("value"), required(&at("value"), value, example)?)?,
            ))
        };
        let header = match self.header {
            None => None,
            Some(h) => {
                let example = "header = { name = \"X-Tenant\", value = \"blue\" }";
                let (name, value) = pair("header", example, h.name, h.value)?;
                Some(HeaderMatch { name, value })
            }
        };
        let cookie = match self.cookie {
            None => None,
            Some(c) => {
                let example = "cookie = { name = \"session\", value = \"blue\" }";
                let (name, value) = pair("cookie", example, c.name, c.value)?;
                Some(CookieMatch { name, value })
            }
        };
        let example = match mode {
            Mode::Splice | Mode::Tcp | Mode::Handoff => "bind = [\"s2\"]",
            Mode::Redirect => "bind = [\"coyote\"]",
        };
        let bind = names(
            &key("bind"),
            required(&key("bind"), self.bind, example)?,
            mode,
        )?;
        let optional_int = |field: &str, k: &keys::IntKey<u16>, v: Option<Value>| {
            v.map(|v| integer_value(&key(field), k, v)).transpose()
        };
        let priority = optional_int("priority", &keys::PRIORITY, self.priority)?;
        let cost = optional_int("cost", &keys::COST, self.cost)?;
        let predictor = match self.predictor {
            None => None,
            Some(v) => Some(predictor(&key("predictor"), Some(v), defaults::PREDICTOR)?),
        };
        let hash = hash_key(&key("hash"), self.hash)?;
        Ok(Rule {
            name,
            path_prefix,
            path_suffix,
            host,
            method,
            header,
            cookie,
            bind,
            priority,
            cost,
            predictor,
            hash,
        })
    }
}

/// A method token as a [`Method`]; tokens without a variant of their own are refused,
/// since [`Method::Other`] would match every such method, not just this one.
fn method(key: &str, token: &str) -> Result<Method, ConfigError> {
    if token.is_empty() || !token.bytes().all(validate::is_tchar) {
        return Err(ConfigError::invalid(
            key,
            format!("{token:?} is not an HTTP method token (like \"GET\")"),
        ));
    }
    match Method::from_token(token) {
        Method::Other => Err(validate::method_error(key, token)),
        m => Ok(m),
    }
}
