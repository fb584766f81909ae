//! Splicer's configuration: the TOML file that describes the data plane (DPDK EAL
//! arguments, workers, pools, rings, timers), the ports and their IPv4 subnets, the
//! real (back-end) servers, and the virtual services (VIPs) with their content rules.
//!
//! ```toml
//! [dataplane]
//! eal = ["-l", "0-1", "--no-huge", "--vdev", "net_tap0,iface=spl-out", "--vdev", "net_tap1,iface=spl-in"]
//! workers = 1
//!
//! [[port]]
//! name = "outside"
//! address = "198.18.0.1/24"
//!
//! [[port]]
//! name = "inside"
//! address = "198.19.0.1/24"
//!
//! [[real]]
//! name = "s1"
//! address = "198.19.0.11:80"
//!
//! [[real]]
//! name = "s2"
//! address = "198.19.0.12:80"
//!
//! [[virtual]]
//! name = "www"
//! address = "198.18.0.100:80"
//! bind = ["s1", "s2"]
//!
//! [[virtual.rule]]
//! path_prefix = "/img/"
//! bind = ["s2"]
//! ```
//!
//! [`Config::load`] and [`Config::from_toml_str`] parse the file, fill in the defaults
//! and run [`Config::validate`]: a [`Config`] they return is valid. Every error names
//! the key to fix (`port[1].address: ...`); unknown keys are errors too, reported with
//! TOML's line/column context. docs/CONFIGURATION.md documents every key.
//!
//! A `Config` serializes back to TOML ([`Config::to_toml`], or `toml::to_string(&config)`)
//! that loads to an equal `Config`: durations are written as humantime strings (`"10s"`), addresses as
//! strings (`"198.18.0.1/24"`, `"198.18.0.100:80"`), byte sizes as their shortest
//! exact string (`"16KiB"`); `state` and `backup` are left out when in service / unset.
//!
//! [`Config::edited`] applies one live change ([`Edit`]) and returns the new, validated
//! configuration (see [`edit`]).
//!
//! [`Config::farm`] turns the reals and the virtuals' routing into the data plane's
//! [`Farm`].

#![forbid(unsafe_code)]

pub mod access_log;
pub mod announce;
pub mod cluster;
mod dataplane;
pub mod defaults;
mod diagnose;
mod duration;
mod eal;
pub mod edit;
mod error;
mod farm;
#[doc(hidden)]
pub mod fixtures;
pub mod health;
pub mod impair;
pub mod keys;
mod modes;
mod net;
mod raw;
mod reload;
mod save;
mod size;
mod validate;

pub use access_log::{AccessLog, AccessLogFormat};
pub use announce::Announce;
pub use cluster::{Cluster, Peer};
pub use dataplane::Dataplane;
pub use diagnose::{check, Problem};
pub use edit::{ClassEdit, Edit, Kind};
pub use error::ConfigError;
pub use farm::{FarmIds, FarmPlan};
pub use health::{Check, CheckKind, Expect};
pub use impair::Impair;
pub use modes::{ForwardFor, ForwardForIncoming, HandoffMode, Mode, ServerClose};
pub use net::{PortAddress, PortAddressError};
pub use reload::{Changed, Changes};
pub use save::Saved;
pub use size::{ByteSize, ByteSizeError};
pub use splicer_http::Method;
pub use splicer_pipeline::balance::{HashKey, Predictor};

use serde::{Deserialize, Serialize, Serializer};
use splicer_http::Matcher;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;
use std::time::Duration;

/// The whole configuration file.
///
/// A value returned by [`Config::load`] / [`Config::from_toml_str`] (or by serde
/// deserialization, which goes through the same checks) has passed
/// [`Config::validate`]. The fields are public so that tools can build or edit a
/// configuration; call `validate()` on anything built that way before using it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "raw::RawConfig")]
pub struct Config {
    /// `[dataplane]` (required): DPDK and worker settings.
    pub dataplane: Dataplane,
    /// `[[port]]` (at least one): the ports, in DPDK port-id order.
    #[serde(rename = "port")]
    pub ports: Vec<Port>,
    /// `[[real]]` (optional, may be empty): the real (back-end) servers.
    #[serde(rename = "real", skip_serializing_if = "Vec::is_empty")]
    pub reals: Vec<Real>,
    /// `[[virtual]]` (optional, may be empty): the virtual services.
    #[serde(rename = "virtual", skip_serializing_if = "Vec::is_empty")]
    pub virtuals: Vec<Virtual>,
    /// `[[url]]` (optional, may be empty): redirect targets of `redirect` virtuals and
    /// backups (the `url` command of US 7,099,915).
    #[serde(rename = "url", skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<Url>,
    /// `[[dip]]` (optional, may be empty): directed IPs, each a secondary virtual with
    /// the address of one real, spliced 1:1 to that real (the `dip` command of
    /// US 7,099,915).
    #[serde(rename = "dip", skip_serializing_if = "Vec::is_empty")]
    pub dips: Vec<Dip>,
    /// `[access_log]` (optional, default none = off): one line per request
    /// (docs/ACCESS-LOG.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_log: Option<AccessLog>,
    /// `[announce]` (optional, default none = off): the VIPs announced to the routers
    /// through a local BIRD (docs/SCALE-OUT.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub announce: Option<Announce>,
    /// `[cluster]` (optional, default none = off): the other appliances serving the
    /// same VIPs, for the segments of their connections the router sends here
    /// (docs/SCALE-OUT.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<Cluster>,
}

/// `[[port]]`: one DPDK port (the n-th `[[port]]` is DPDK port id n).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Port {
    /// `name` (required, unique, 1 to 32 of `a-z 0-9 _ -`): used in logs, statistics
    /// and `virtual.port`.
    pub name: String,
    /// `address` (required, `"a.b.c.d/len"`, len 1..=31): the port's own address and
    /// its directly connected subnet. It must be a host address of the subnet (not
    /// the network or broadcast address; on a /31 both addresses are hosts, RFC 3021).
    /// Port subnets must not overlap.
    pub address: PortAddress,
    /// `gateway` (optional IPv4, default none): next hop for destinations outside
    /// every port's subnet. Must be inside this port's subnet, differ from its
    /// address and not be the subnet's network or broadcast address. The data plane
    /// has one default route: the first port (in file order) that has a gateway.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<Ipv4Addr>,
    /// `[port.impair]` (optional table, test only): seeded loss, duplication, reordering
    /// and delay of the frames the port receives. None: the port is not impaired.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impair: Option<Impair>,
}

/// `[[real]]`: one real (back-end) server.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Real {
    /// `name` (required, unique among reals, virtuals and URLs, 1 to 32 of
    /// `A-Z a-z 0-9 _ . -`): how `bind` lists refer to the real, and its name in logs
    /// and statistics.
    pub name: String,
    /// `address` (required, `"a.b.c.d:port"`, port 1..=65535): where the server
    /// listens. Not one of Splicer's own addresses (a port's address or a VIP), and
    /// reachable: on a port's subnet, or through a port's gateway. Reals may share an
    /// address.
    pub address: SocketAddrV4,
    /// `weight` (default 1, 0..=1000): share of new requests relative to the other
    /// reals of a set; 0 takes no new requests.
    pub weight: u16,
    /// `pool` (default 4, 0..=1024): idle server connections each worker keeps open to
    /// this real.
    pub pool: u16,
    /// `maxconns` (default 64, 1..=65535, at least `pool`): the high-water mark: most
    /// requests each worker has in flight on this real, each counted by its `cost`
    /// (see [`Virtual::cost`]). A real at its mark takes no new request: it goes to
    /// another real of its set, or waits in its virtual's queue.
    pub maxconns: u16,
    /// `state` (default `"in-service"`): see [`ServiceState`].
    #[serde(skip_serializing_if = "ServiceState::is_in_service")]
    pub state: ServiceState,
    /// `backup` (optional, the name of another real, virtual or URL): where new
    /// connections to this real's DIP go while the real is out of service. Following
    /// backups from real or virtual to real or virtual must not come back to where it
    /// started (a URL ends the chain).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup: Option<String>,
    /// `tier` (default 1, 1..=16): 1 for an origin (the freshest copy), 2 for a mirror,
    /// and so on. Within a set, a real of a higher number takes requests only while
    /// every real of a lower number is at its `maxconns` or cannot take requests
    /// (spill-over, not only fail-over).
    pub tier: u16,
    /// `check` (optional table, see [`Check`]): an active health check run through the
    /// data plane; without it the real is checked only passively.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<Check>,
    /// `slowstart` (duration, default `"0s"` = off, at most 1h): after the real comes
    /// back (checks pass again, ejection ends), its weight ramps from nearly 0 to full
    /// over this time.
    #[serde(
        serialize_with = "duration::serialize",
        skip_serializing_if = "Duration::is_zero"
    )]
    pub slowstart: Duration,
    /// `agent` (optional, `"a.b.c.d:port"` or `"a.b.c.d"` for port 7470): where the
    /// handoff agent of the real's host listens (UDP). Required for every real a
    /// `mode = "handoff"` virtual binds; the `address` stays the real's plain address,
    /// which the virtual splices to when a handoff cannot be made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<SocketAddrV4>,
    /// `handoff_mode` (default `"l2"`, only with `agent`): see [`HandoffMode`].
    #[serde(skip_serializing_if = "HandoffMode::is_l2")]
    pub handoff_mode: HandoffMode,
    /// `local` (default `false`): the real is a server on Splicer's own host, reached
    /// through an exception port (a `net_tap` port whose kernel side holds the real's
    /// address and the VIP): a request routed to it has its connection replayed into
    /// that kernel, and Splicer then only translates the connection's segments (local
    /// service, docs/HANDOFF.md). Only `mode = "splice"` virtuals bind local reals; the
    /// real's address is on a port's subnet and its port is the virtual's.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub local: bool,
}

/// `state` of a real, virtual or URL: whether it takes new work (the `in-service` /
/// `out-of-service ... [oos|maintenance|sticky|failed]` of Cisco's "Server load
/// balancing method and system", US 7,099,915).
///
/// Every state other than `in-service` stops new requests from being sent to it. They
/// differ in what happens to the work it already has:
///
/// * `oos`: requests in flight finish; a client connection's next request is routed
///   afresh; the real's idle pooled connections stay open (back in service at once).
/// * `maintenance`: as `oos`, and the real's idle pooled connections are closed and
///   not reopened, so that the server can be taken down once its last request ends.
/// * `sticky`: new client connections go elsewhere, but a client connection whose
///   previous request this real served keeps sending its requests here (keep-alive
///   affinity for sessions), while the real is in its request's set.
/// * `failed`: the real is gone: client connections spliced to it are reset now, and
///   its server connections, idle and busy, are reset and closed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ServiceState {
    /// Takes new requests.
    #[default]
    #[serde(rename = "in-service")]
    InService,
    /// Out of service; work in flight finishes.
    #[serde(rename = "oos")]
    OutOfService,
    /// Out of service for maintenance; idle server connections are closed.
    #[serde(rename = "maintenance")]
    Maintenance,
    /// Out of service for new client connections only.
    #[serde(rename = "sticky")]
    Sticky,
    /// Failed; its connections are reset.
    #[serde(rename = "failed")]
    Failed,
}

impl ServiceState {
    /// Every state's configuration name, in the order of the enum.
    pub const NAMES: &'static [&'static str] =
        &["in-service", "oos", "maintenance", "sticky", "failed"];

    /// The configuration (and command) name of the state.
    pub fn name(self) -> &'static str {
        match self {
            ServiceState::InService => "in-service",
            ServiceState::OutOfService => "oos",
            ServiceState::Maintenance => "maintenance",
            ServiceState::Sticky => "sticky",
            ServiceState::Failed => "failed",
        }
    }

    /// The state with configuration name `name`.
    pub fn from_name(name: &str) -> Option<ServiceState> {
        Self::NAMES.iter().position(|n| *n == name).map(|i| {
            [
                Self::InService,
                Self::OutOfService,
                Self::Maintenance,
                Self::Sticky,
                Self::Failed,
            ][i]
        })
    }

    /// Whether it takes new requests.
    pub fn is_in_service(&self) -> bool {
        *self == ServiceState::InService
    }
}

/// `[[url]]`: a URL a `redirect` virtual sends clients to (the `url` command of
/// US 7,099,915).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Url {
    /// `name` (required, unique among reals, virtuals and URLs, 1 to 32 of
    /// `A-Z a-z 0-9 _ . -`): how `bind`, `link` and `backup` refer to it.
    pub name: String,
    /// `url` (required, `http://` or `https://`, at most 512 bytes, no spaces or
    /// control characters): the redirect target. Macros: `%h` the request's host, `%s`
    /// the port the client connected to, `%d` the requested document (path and query
    /// without the leading `/`), `%%` a `%`.
    pub url: String,
    /// `code` (default 302; 301, 302, 303, 307 or 308): the redirect's status.
    pub code: u16,
    /// `weight` (default 1, 0..=1000): share of the redirects of a virtual it is bound
    /// to, when it is not linked to a DIP (a URL linked to a DIP takes that DIP's real's
    /// weight).
    pub weight: u16,
    /// `link` (optional): a virtual's name or a DIP's address (its IP, like
    /// `"198.19.0.11"`) whose state (and, for a DIP, whose real's weight) the URL
    /// inherits (the `link` command of US 7,099,915).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// `state` (default `"in-service"`): an out-of-service URL gets no redirects.
    #[serde(skip_serializing_if = "ServiceState::is_in_service")]
    pub state: ServiceState,
}

/// `[[dip]]`: a directed IP (the `dip` command of US 7,099,915): a secondary virtual
/// with the same IP address as exactly one real, listening on that real's TCP port and
/// spliced 1:1 to it. It shares the real's weight, state and backup: while the real is
/// out of service, new connections to the DIP go to the real's `backup`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dip {
    /// `address` (required, IPv4): the real's IP address, and the DIP's. Exactly one
    /// real has it; not a port's address or another virtual's.
    pub address: Ipv4Addr,
    /// `port` (required, a `[[port]]` name): the port clients reach the DIP through;
    /// Splicer takes connections to the DIP arriving there (clients route the DIP's
    /// address to that port's address; Splicer does not answer ARP for it, the real
    /// does on its own subnet).
    pub port: String,
}

impl Real {
    /// A `[[real]]` with the given name and address and every other key at its default.
    pub fn new(name: impl Into<String>, address: SocketAddrV4) -> Self {
        Self {
            name: name.into(),
            address,
            weight: defaults::REAL_WEIGHT,
            pool: defaults::REAL_POOL,
            maxconns: defaults::REAL_MAXCONNS,
            state: ServiceState::InService,
            backup: None,
            tier: defaults::REAL_TIER,
            check: None,
            slowstart: Duration::ZERO,
            agent: None,
            handoff_mode: HandoffMode::L2,
            local: false,
        }
    }
}

impl Url {
    /// A `[[url]]` with the given name and URL and every other key at its default.
    pub fn new(name: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            url: url.into(),
            code: defaults::URL_CODE,
            weight: defaults::URL_WEIGHT,
            link: None,
            state: defaults::STATE,
        }
    }
}

/// `[[virtual.rule]]`: a content rule of a virtual. It matches a request when every
/// condition it sets holds; it must set at least one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    /// `name` (optional, unique within the virtual, 1 to 32 of `A-Z a-z 0-9 _ . -`;
    /// default `rule<N>`, N its 1-based position): its name in statistics.
    pub name: String,
    /// `path_prefix` (optional): the request's path (without the query) starts with
    /// this, byte for byte. Starts with `/`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
    /// `path_suffix` (optional, non-empty): the path (without the query) ends with this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_suffix: Option<String>,
    /// `host` (optional, non-empty): the request's host, ASCII case-insensitively, a
    /// port on either side ignored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// `method` (optional): the request method, case-sensitively (`GET`, `POST`...).
    /// Never [`Method::Other`].
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_method"
    )]
    pub method: Option<Method>,
    /// `header` (optional, `{ name = "X-Tenant", value = "blue" }`): some header field
    /// called `name` (ASCII case-insensitive) has exactly `value`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header: Option<HeaderMatch>,
    /// `cookie` (optional, `{ name = "session", value = "blue" }`): some `Cookie` header
    /// field carries a cookie called `name` (case-sensitive) with exactly `value`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cookie: Option<CookieMatch>,
    /// `bind` (required, at least one, no duplicates): names of the reals (in a splice
    /// virtual) or URLs (in a redirect virtual) that serve matching requests.
    pub bind: Vec<String>,
    /// `priority` (optional, 0..=7; default the virtual's `priority`): the order in
    /// which matching requests take freed slots when they wait in the virtual's queue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<u16>,
    /// `cost` (optional, 1..=1000; default the virtual's `cost`): slots of a real's
    /// `maxconns` a matching request takes while in flight (e.g. media 4, dynamic 2,
    /// static 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<u16>,
    /// `predictor` (optional, one of [`Predictor::NAMES`]): how a member of `bind` is
    /// chosen for this rule's requests. Default: the virtual's.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_some_predictor"
    )]
    pub predictor: Option<Predictor>,
    /// `hash` (optional, as [`Virtual::hash`]): what `maglev` hashes for this rule's
    /// requests. Default: the virtual's.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_some_hash"
    )]
    pub hash: Option<HashKey>,
}

/// `virtual.rule.header`: a header field and its exact value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeaderMatch {
    /// `name`: the field name, an HTTP token; matched ASCII case-insensitively.
    pub name: String,
    /// `value`: the whole field value, matched byte for byte (case-sensitive) after the
    /// request's surrounding whitespace is removed.
    pub value: String,
}

/// `virtual.rule.cookie`: one cookie's name and exact value (RFC 6265).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CookieMatch {
    /// `name`: the cookie name, an HTTP token; matched case-sensitively.
    pub name: String,
    /// `value`: the cookie's whole value, matched byte for byte (cookie octets, or
    /// cookie octets in double quotes, which are then part of it).
    pub value: String,
}

impl Rule {
    /// A rule with the given name and reals and no condition yet (set at least one
    /// before validating).
    pub fn new(name: impl Into<String>, bind: Vec<String>) -> Self {
        Self {
            name: name.into(),
            path_prefix: None,
            path_suffix: None,
            host: None,
            method: None,
            header: None,
            cookie: None,
            bind,
            priority: None,
            cost: None,
            predictor: None,
            hash: None,
        }
    }

    /// The data plane's form of the conditions: all of them must match.
    pub fn to_http_rule(&self) -> splicer_http::Rule {
        let mut matchers = Vec::new();
        if let Some(p) = &self.path_prefix {
            matchers.push(Matcher::PathPrefix(p.clone()));
        }
        if let Some(p) = &self.path_suffix {
            matchers.push(Matcher::PathSuffix(p.clone()));
        }
        if let Some(h) = &self.host {
            matchers.push(Matcher::Host(h.clone()));
        }
        if let Some(m) = self.method {
            matchers.push(Matcher::Method(m));
        }
        if let Some(h) = &self.header {
            matchers.push(Matcher::Header {
                name: h.name.clone(),
                value: h.value.clone(),
            });
        }
        if let Some(c) = &self.cookie {
            matchers.push(Matcher::Cookie {
                name: c.name.clone(),
                value: c.value.clone(),
            });
        }
        splicer_http::Rule::new(matchers)
    }
}

fn serialize_method<S: Serializer>(m: &Option<Method>, s: S) -> Result<S::Ok, S::Error> {
    // A validated rule never holds Method::Other, which has no token.
    s.serialize_str(m.and_then(Method::as_str).unwrap_or(""))
}

fn serialize_predictor<S: Serializer>(p: &Predictor, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(p.name())
}

fn serialize_some_predictor<S: Serializer>(p: &Option<Predictor>, s: S) -> Result<S::Ok, S::Error> {
    // Skipped when `None`.
    s.serialize_str(p.map_or("", Predictor::name))
}

fn serialize_hash<S: Serializer>(h: &HashKey, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&h.to_config())
}

fn serialize_some_hash<S: Serializer>(h: &Option<HashKey>, s: S) -> Result<S::Ok, S::Error> {
    // Skipped when `None`.
    s.serialize_str(&h.as_ref().map(HashKey::to_config).unwrap_or_default())
}

fn is_source(h: &HashKey) -> bool {
    *h == HashKey::Source
}

/// `[[virtual]]`: one virtual service (VIP and TCP port).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Virtual {
    /// `name` (required, unique among reals, virtuals and URLs, 1 to 32 of
    /// `a-z 0-9 _ -`).
    pub name: String,
    /// `address` (required, `"a.b.c.d:port"`, port 1..=65535): where clients connect.
    /// Unique among virtuals; must not be a port's address.
    pub address: SocketAddrV4,
    /// `port` (optional): name of the `[[port]]` that owns the VIP, i.e. answers ARP
    /// for it. Default: the port whose subnet contains the address. Kept as written
    /// (`None` stays `None`); [`Config::virtual_port_index`] gives the resolved port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<String>,
    /// `max_request_head` (byte size, default `"16KiB"`, 1KiB..=64KiB): the largest
    /// request head (request line, headers and the blank line) Splicer buffers; a
    /// longer one is answered `431 Request Header Fields Too Large` and the connection
    /// closed. Written as an integer (bytes) or a string like `"16KiB"` (see
    /// [`ByteSize`]).
    pub max_request_head: ByteSize,
    /// `max_pipeline` (integer, default 32, 1..=256): the most requests of one client
    /// connection in flight on server connections at once (HTTP/1.1 pipelining: routed
    /// on their own, sent to several servers, their responses merged back in order). 1
    /// sends each request only after the response before it. Requests past it wait in
    /// the client's head buffer (`max_request_head`); past that, TCP flow control holds
    /// the client.
    pub max_pipeline: u16,
    /// `max_held` (byte size, default `"64KiB"`, 0..=1MiB): the most bytes of its
    /// response Splicer holds for each request sent ahead of its turn (pipelining),
    /// the window its server is offered until then. 0 holds none: that server waits
    /// with its answer until the response before it has ended.
    pub max_held: ByteSize,
    /// `mode` (default `"splice"`; `"splice"`, `"redirect"` or `"tcp"`): what the
    /// virtual does with a request. A splice virtual's `bind` lists (its own and its
    /// rules') name reals, a redirect virtual's name URLs. A `tcp` virtual (L4
    /// pass-through) splices each connection to one of its `bind` reals without reading
    /// HTTP, and has no rules (see [`crate::validate`]'s tcp checks).
    pub mode: Mode,
    /// `predictor` (default `"roundrobin"`, one of [`Predictor::NAMES`]): how a real is
    /// chosen inside the set a request selects.
    #[serde(serialize_with = "serialize_predictor")]
    pub predictor: Predictor,
    /// `hash` (default `"source"`; `"source"`, `"header:<Name>"` or `"cookie:<name>"`,
    /// names HTTP tokens): what `predictor = "maglev"` hashes: the client's address, a
    /// request header's value, or a cookie's value (a request without it is hashed by
    /// its client's address). Ignored by the other predictors.
    #[serde(skip_serializing_if = "is_source", serialize_with = "serialize_hash")]
    pub hash: HashKey,
    /// `bind` (default `[]`, names of reals (splice) or URLs (redirect), no duplicates):
    /// the members for requests no rule matches. Empty: such requests are answered `503`.
    pub bind: Vec<String>,
    /// `[[virtual.rule]]` (optional): content rules, tried in order; the first that
    /// matches picks its reals.
    #[serde(rename = "rule", skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Rule>,
    /// `state` (default `"in-service"`): an out-of-service virtual takes no new client
    /// connections (they go to its `backup`, or are refused).
    #[serde(skip_serializing_if = "ServiceState::is_in_service")]
    pub state: ServiceState,
    /// `backup` (optional, the name of a real, another virtual or a URL): where new
    /// connections go while this virtual is out of service or none of its members can
    /// take them. Backups must not loop (see [`Real::backup`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup: Option<String>,
    /// `queue_size` (default 256, 0..=65535): requests of this virtual each worker
    /// keeps waiting while every real of their set is at its `maxconns`; past it, and
    /// after `dataplane.queue_timeout` in the queue, `503` with `Retry-After`. 0
    /// answers such requests at once.
    pub queue_size: u16,
    /// `priority` (default 4, 0..=7): the queueing priority of requests no rule
    /// matches, and of rules that set none. A freed slot goes to the waiting request
    /// of the highest priority, each raised by one per 250 ms waited so that none
    /// starves.
    pub priority: u16,
    /// `cost` (default 1, 1..=1000): slots of a real's `maxconns` a request no rule
    /// matches (or of a rule that sets none) takes while in flight.
    pub cost: u16,
    /// `sticky` (duration, default `"0s"`: off; whole seconds, at most 4h; splice
    /// virtuals only): a client address whose last request was at most this long ago
    /// goes to the same real again, across connections, while that real can take it
    /// (US 7,099,915's sticky timer). Held as `None` when off.
    #[serde(serialize_with = "duration::serialize_opt")]
    pub sticky: Option<Duration>,
    /// `sticky_table` (integer, default 65536, a power of two, 64..=4194304): entries of
    /// the virtual's sticky table, shared by the workers; when it is full, the least
    /// recently used entry of a set is evicted (`sticky_evictions`).
    pub sticky_table: u32,
    /// `forward_for` (default `"none"`; `"none"` or `"header"`): `"header"` writes
    /// `X-Forwarded-For: <client address>` and `X-Forwarded-Proto: http` into every
    /// request head forwarded (splice virtuals only).
    #[serde(skip_serializing_if = "ForwardFor::is_none")]
    pub forward_for: ForwardFor,
    /// `forward_for_incoming` (default `"replace"`; `"replace"` or `"append"`; only with
    /// `forward_for = "header"`): whether a client's own `X-Forwarded-For` is removed
    /// (with its `X-Forwarded-Proto`) or kept with the client's address appended.
    #[serde(skip_serializing_if = "ForwardForIncoming::is_replace")]
    pub forward_for_incoming: ForwardForIncoming,
    /// `server_close` (default `"keep"`; `"keep"` or `"pass"`): `"keep"` sends an
    /// HTTP/1.1 request whose client asked `Connection: close` to its server without
    /// the `close` token, so that the pooled connection stays open, and tells the
    /// client `close` in the response instead; `"pass"` forwards the head as written.
    #[serde(skip_serializing_if = "ServerClose::is_keep")]
    pub server_close: ServerClose,
}

impl Virtual {
    /// What the data path does with request heads: [`Virtual::forward_for`] and
    /// [`Virtual::forward_for_incoming`] together.
    pub fn forwarding(&self) -> splicer_http::ForwardFor {
        match (self.forward_for, self.forward_for_incoming) {
            (ForwardFor::None, _) => splicer_http::ForwardFor::Off,
            (ForwardFor::ProxyV2, _) => splicer_http::ForwardFor::ProxyV2,
            (ForwardFor::Header, ForwardForIncoming::Replace) => {
                splicer_http::ForwardFor::Header(splicer_http::Incoming::Replace)
            }
            (ForwardFor::Header, ForwardForIncoming::Append) => {
                splicer_http::ForwardFor::Header(splicer_http::Incoming::Append)
            }
        }
    }

    /// A `[[virtual]]` with the given name and address, no `port` (the port whose
    /// subnet contains the address owns it) and every other key at its default.
    pub fn new(name: impl Into<String>, address: SocketAddrV4) -> Self {
        Self {
            name: name.into(),
            address,
            port: None,
            max_request_head: defaults::MAX_REQUEST_HEAD,
            max_pipeline: defaults::MAX_PIPELINE,
            max_held: defaults::MAX_HELD,
            mode: defaults::MODE,
            predictor: defaults::PREDICTOR,
            hash: HashKey::Source,
            bind: Vec::new(),
            rules: Vec::new(),
            state: ServiceState::InService,
            backup: None,
            queue_size: defaults::QUEUE_SIZE,
            priority: defaults::PRIORITY,
            cost: defaults::COST,
            sticky: None,
            sticky_table: keys::STICKY_TABLE.default,
            forward_for: ForwardFor::None,
            forward_for_incoming: ForwardForIncoming::Replace,
            server_close: ServerClose::Keep,
        }
    }
}

impl Config {
    /// Reads, parses and validates the configuration file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        Self::parse(&text).map_err(|e| match e {
            ConfigError::Parse { path: None, error } => ConfigError::Parse {
                path: Some(path.to_path_buf()),
                error,
            },
            other => other,
        })
    }

    /// Parses and validates a configuration held in a string.
    pub fn from_toml_str(s: &str) -> Result<Config, ConfigError> {
        Self::parse(s)
    }

    fn parse(s: &str) -> Result<Config, ConfigError> {
        let raw: raw::RawConfig =
            toml::from_str(s).map_err(|error| ConfigError::Parse { path: None, error })?;
        Config::try_from(raw)
    }

    /// Checks every rule documented on the fields (ranges, names, addresses, subnets,
    /// the VIP owners and the lcore count). Called by [`Config::load`] and
    /// [`Config::from_toml_str`]; returns the first problem found, naming its key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        validate::validate(self)
    }

    /// The configuration as TOML (what `save` writes): it loads back, with
    /// [`Config::from_toml_str`], to a `Config` equal to this one. Every key is written
    /// but `state` (when in service), `backup`, `link`, `port` and `gateway` (when
    /// unset) and `metrics` (when off).
    ///
    /// # Panics
    /// Never on a configuration built from the public fields: every value has a TOML
    /// form.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("every Config value has a TOML form")
    }

    /// The index in `ports` of the port that owns (answers ARP for) `virtuals[i]`:
    /// the port named by its `port` key, or else the port whose subnet contains its
    /// address. Computed on each call from the public fields (no hidden state).
    ///
    /// # Panics
    /// If `i` is out of range, or on a configuration that fails [`Config::validate`]
    /// (unknown port name, or no port subnet contains the address).
    pub fn virtual_port_index(&self, i: usize) -> usize {
        match validate::virtual_owner(&self.ports, &self.virtuals[i]) {
            Ok(index) => index,
            Err(e) => panic!("virtual[{i}]: {e} (the configuration was not validated)"),
        }
    }

    /// The full EAL argument vector: `program` first, then `dataplane.eal`, then
    ///
    /// * `--no-pci`, unless the arguments already contain `--no-pci` or allow a PCI
    ///   device with `-a <addr>` / `-a<addr>` / `--allow <addr>` / `--allow=<addr>`:
    ///   the appliance only probes the PCI devices it is told about;
    /// * `--file-prefix splicer`, unless a `--file-prefix` is given: every DPDK process
    ///   on a host needs its own prefix for its runtime files.
    ///
    /// Added arguments go before a `--` terminator if the arguments contain one.
    pub fn eal_args(&self, program: &str) -> Vec<String> {
        eal::full_args(program, &self.dataplane.eal)
    }

    /// The number of lcores `dataplane.eal` gives, read from `-l <list>` / `-l<list>`,
    /// `--lcores <map>` / `--lcores=<map>` or `-c <hexmask>` / `-c<hexmask>`: a list
    /// like `"0-3,5"` or a map like `"0@0,1@1,2@1"` / `"(0-1)@0"` counts its distinct
    /// lcore ids, a mask its set bits. `None` when no such option is given, when its
    /// value cannot be parsed, or when more than one is given (DPDK refuses that, and
    /// `validate()` reports it).
    pub fn eal_lcore_count(&self) -> Option<u32> {
        eal::lcore_count(&self.dataplane.eal)
    }
}

impl std::str::FromStr for Config {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Config::from_toml_str(s)
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod edit_tests;
