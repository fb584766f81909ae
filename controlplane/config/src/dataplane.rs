//! `[dataplane]`: how the DPDK data plane is set up (EAL arguments, workers, pools and
//! rings, the workers' bounds and timers, the control socket and metrics), with every
//! key's default. Apart from `lib.rs` because it is the largest section and the one
//! most keys are added to; the other sections stay there.

use crate::{defaults, duration, keys};
use serde::Serialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `[dataplane]`: how the DPDK data plane is set up. Only `eal` is required.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dataplane {
    /// `eal` (array of strings, required, non-empty): the DPDK EAL arguments, without
    /// the program name. [`Config::eal_args`] adds `--no-pci` and `--file-prefix
    /// splicer` when they are not given (see there).
    pub eal: Vec<String>,
    /// `workers` (default 1, 1..=64): worker lcores; each port gets this many RX and TX
    /// queues. The EAL must provide `workers + 1` lcores (one is the control core).
    pub workers: u16,
    /// `stats_interval` (duration, default `"10s"`, at most 24h): how often the control
    /// core logs statistics. `"0"` / `"0s"` disables periodic statistics and is
    /// represented as `None` (it is never `Some(Duration::ZERO)`); `None` is written
    /// back as `"0s"`.
    #[serde(serialize_with = "duration::serialize_opt")]
    pub stats_interval: Option<Duration>,
    /// `mempool_size` (default 16383, at least 1024): mbufs in the packet pool shared
    /// by all ports and workers.
    pub mempool_size: u32,
    /// `mempool_cache` (default 256, at most 512 and at most `mempool_size / 1.5`):
    /// per-lcore mbuf cache of the pool.
    pub mempool_cache: u32,
    /// `rx_descriptors` (default 1024, power of two in 64..=4096): RX ring size of
    /// every queue.
    pub rx_descriptors: u16,
    /// `tx_descriptors` (default 1024, power of two in 64..=4096): TX ring size of
    /// every queue.
    pub tx_descriptors: u16,
    /// `burst_size` (default 32, 1..=256): packets a worker asks for per RX call.
    pub burst_size: u16,
    /// `handoff_ring_size` (default 4096, power of two in 64..=65536): size of the ring
    /// on which each worker receives the packets of the flows it owns that arrived on
    /// another worker's queue.
    pub handoff_ring_size: u32,
    /// `neighbour_timeout` (duration, default `"60s"`, > 0, at most 24h): how long a
    /// learned ARP entry stays valid.
    #[serde(serialize_with = "duration::serialize")]
    pub neighbour_timeout: Duration,
    /// `neighbour_retry` (duration, default `"1s"`, > 0, at most 24h): ARP request
    /// retransmit interval while a neighbour is being resolved.
    #[serde(serialize_with = "duration::serialize")]
    pub neighbour_retry: Duration,
    /// `neighbour_pending` (default 16, 0..=65535): packets held per unresolved
    /// neighbour; further packets are dropped and counted.
    pub neighbour_pending: u16,
    /// `idle_sleep` (duration, default `"0s"`, at most 1s): `Duration::ZERO` means
    /// pure busy polling. When > 0, a worker whose poll round found no packet sleeps
    /// this long, which frees the CPU on test beds and shared cores but adds up to
    /// this much latency to the first packet after an idle period (and the OS sleep
    /// granularity, typically 50-100 µs, on top).
    #[serde(serialize_with = "duration::serialize")]
    pub idle_sleep: Duration,
    /// `max_flows` (default 65536, 1024..=4194304): client connections one worker
    /// tracks at once, half-open and established together. The worker's flow table is
    /// sized from it at start-up; beyond it, new SYNs are dropped and counted
    /// (`drop_flow_table_full`).
    pub max_flows: u32,
    /// `max_half_open` (default 4096, 16..=`max_flows`): connections per worker in
    /// SYN-RECEIVED (Splicer answered the SYN, the client has not completed the
    /// handshake). The bound that keeps a SYN flood from exhausting the flow table:
    /// further SYNs are dropped and counted (`drop_syn_flood`).
    pub max_half_open: u32,
    /// `syn_cookie_threshold` (default none = half of `max_half_open`,
    /// 0..=`max_half_open`): half-open connections per worker from which SYNs are
    /// answered with SYN cookies (RFC 4987) instead of a half-open connection
    /// (`syn_cookies_sent`). 0 answers every SYN with a cookie; `max_half_open` only
    /// those that would be dropped. See [`Dataplane::syn_cookie_threshold`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub syn_cookie_threshold: Option<u32>,
    /// `handshake_timeout` (duration, default `"3s"`, > 0, at most 24h): how long a
    /// half-open connection waits for the client's ACK. Splicer retransmits its
    /// SYN-ACK after 1 s, doubling the interval, until then, then forgets the
    /// connection (`handshake_timeouts`).
    #[serde(serialize_with = "duration::serialize")]
    pub handshake_timeout: Duration,
    /// `request_timeout` (duration, default `"10s"`, > 0, at most 24h): time a client
    /// has to deliver a complete request head, counted from the connection's
    /// establishment (or from the end of the previous response on a keep-alive
    /// connection). The slowloris defence: when it passes, Splicer answers `408
    /// Request Timeout` and closes (`request_timeouts`).
    #[serde(serialize_with = "duration::serialize")]
    pub request_timeout: Duration,
    /// `client_idle_timeout` (duration, default `"60s"`, > 0, at most 24h): an
    /// established client connection with no packet in either direction for this long
    /// is reset (`client_idle_timeouts`).
    #[serde(serialize_with = "duration::serialize")]
    pub client_idle_timeout: Duration,
    /// `tcp_idle_timeout` (duration, default `"300s"`, > 0, at most 24h): a connection
    /// of a `mode = "tcp"` virtual (passed through) on which no segment has passed in
    /// either direction for this long is reset on both sides (`tcp_idle_timeouts`).
    #[serde(serialize_with = "duration::serialize")]
    pub tcp_idle_timeout: Duration,
    /// `handoff_timeout` (duration, default `"1s"`, > 0, at most 24h): how long a
    /// `mode = "handoff"` virtual waits for an agent to acknowledge a HANDOFF (resent
    /// every 100 ms) before the client is served by splicing instead, or gets `503`.
    #[serde(serialize_with = "duration::serialize")]
    pub handoff_timeout: Duration,
    /// `agent_heartbeat` (duration, default `"1s"`, > 0, at most 24h): how often the
    /// data plane sends each real's agent a HEARTBEAT.
    #[serde(serialize_with = "duration::serialize")]
    pub agent_heartbeat: Duration,
    /// `agent_dead_time` (duration, default `"3s"`, > 0, at most 24h, more than
    /// `agent_heartbeat`): an agent that has answered nothing for this long is down:
    /// no handoff goes to it, and the clients handed to it are reset.
    #[serde(serialize_with = "duration::serialize")]
    pub agent_dead_time: Duration,
    /// `connect_timeout` (duration, default `"3s"`, > 0, at most 24h): how long opening
    /// a server connection may take before it counts as failed.
    #[serde(serialize_with = "duration::serialize")]
    pub connect_timeout: Duration,
    /// `queue_timeout` (duration, default `"3s"`, > 0, at most 24h): how long a request
    /// waits in its virtual's queue (every real of its set at `maxconns`) or for its
    /// server connection to open before it is answered `503` with `Retry-After`.
    #[serde(serialize_with = "duration::serialize")]
    pub queue_timeout: Duration,
    /// `server_idle_timeout` (duration, default `"60s"`, > 0, at most 24h): idle pooled
    /// server connections beyond a real's `pool` are closed after this long; a server
    /// silent this long in the middle of a response is given up.
    #[serde(serialize_with = "duration::serialize")]
    pub server_idle_timeout: Duration,
    /// `drain_timeout` (duration, default `"5s"`, > 0, at most 24h): how long a server
    /// connection whose client reset in the middle of a response may take to finish
    /// the response before it is closed instead of reused.
    #[serde(serialize_with = "duration::serialize")]
    pub drain_timeout: Duration,
    /// `stop_timeout` (duration, default `"10s"`, > 0, at most 24h): how long a
    /// stopping Splicer (SIGTERM, or a first SIGINT) lets the requests in flight finish
    /// while it refuses new connections and closes keep-alive ones after their current
    /// response; then the connections left are reset. Not
    /// named `drain_timeout`, which is the server-side drain above.
    #[serde(serialize_with = "duration::serialize")]
    pub stop_timeout: Duration,
    /// `body_timeout` (duration, default `"20s"`, > 0, at most 24h): how long a request
    /// body may take from the end of its head, extended by one second per
    /// `body_min_rate` bytes received; then `408` and the server connection reset.
    #[serde(serialize_with = "duration::serialize")]
    pub body_timeout: Duration,
    /// `body_min_rate` (bytes per second, default `500`, 0..=10^9): see `body_timeout`;
    /// 0 makes `body_timeout` a limit on silence between two body segments instead.
    pub body_min_rate: u32,
    /// `send_timeout` (duration, default `"30s"`, > 0, at most 24h): how long a spliced
    /// client with response bytes outstanding (or a window below one segment) may go
    /// without acknowledging a new byte; then both legs are reset.
    #[serde(serialize_with = "duration::serialize")]
    pub send_timeout: Duration,
    /// `send_min_rate` (bytes per second, default `1024`, 0..=10^9): a stalled reader is
    /// also reset `send_timeout` after its request plus one second per this many bytes
    /// it acknowledged; 0 leaves only the `send_timeout` rule.
    pub send_min_rate: u32,
    /// `outlier_errors` (default `5`, 0..=1000): requests to one real failing in a row
    /// on one worker (5xx responses, failed connection opens, lost requests) that make
    /// it a passive outlier, which the control core ejects; 0 turns passive detection
    /// off.
    pub outlier_errors: u32,
    /// `outlier_ejection` (duration, default `"30s"`, > 0, at most 24h): how long a
    /// first ejection lasts; the n-th ejection in a row lasts n times as long.
    #[serde(serialize_with = "duration::serialize")]
    pub outlier_ejection: Duration,
    /// `outlier_max_ejection` (duration, default `"300s"`, > 0, at most 24h): the
    /// longest ejection; a real that stays in for this long after an ejection starts
    /// again from `outlier_ejection`.
    #[serde(serialize_with = "duration::serialize")]
    pub outlier_max_ejection: Duration,
    /// `max_ejection_percent` (default `50`, 0..=100): most of the reals of a set (a
    /// virtual's bind list or a rule's) ejected at once, rounded down; 0 ejects none.
    pub max_ejection_percent: u16,
    /// `control_socket` (path, default `"/run/splicer/splicer.sock"`): the Unix socket
    /// on which the control core serves `splicer ctl` and `splicer shell`. Absolute, at
    /// most 107 bytes (the kernel's limit for a socket path). `""` disables it and is
    /// represented as `None`; `None` is written back as `""`.
    #[serde(serialize_with = "serialize_socket_path")]
    pub control_socket: Option<PathBuf>,
    /// `metrics` (optional `"address:port"`, default none = off): the host TCP address
    /// on which the control core serves Prometheus metrics (`GET /metrics`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<SocketAddr>,
    /// `metrics_public` (bool, default `false`): lets `metrics` listen on an address
    /// other than loopback; without it such an address is refused, since the endpoint
    /// (metrics and status page) has no authentication.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub metrics_public: bool,
    /// `control_socket_readonly` (path, default none = off): a second control socket,
    /// mode `0666`, that answers only the commands that change nothing (`show`, `help`).
    /// Same rules as `control_socket`; must differ from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control_socket_readonly: Option<PathBuf>,
}

fn serialize_socket_path<S: serde::Serializer>(
    path: &Option<PathBuf>,
    s: S,
) -> Result<S::Ok, S::Error> {
    // "" is how the file says "disabled"; a non-UTF-8 path cannot come from a TOML file.
    s.serialize_str(path.as_deref().and_then(Path::to_str).unwrap_or(""))
}

impl Dataplane {
    /// The half-open count from which SYNs get cookies: the configured value, or half
    /// of `max_half_open`, which leaves the first half of the table to ordinary
    /// handshakes (every option kept exactly, SYN-ACKs retransmitted) and still sends
    /// cookies long before the table is full.
    pub fn syn_cookie_threshold(&self) -> u32 {
        self.syn_cookie_threshold.unwrap_or(self.max_half_open / 2)
    }

    /// A `[dataplane]` with the given EAL arguments and every other key at its default.
    pub fn new(eal: Vec<String>) -> Self {
        Self {
            eal,
            workers: defaults::WORKERS,
            stats_interval: Some(defaults::STATS_INTERVAL),
            mempool_size: defaults::MEMPOOL_SIZE,
            mempool_cache: defaults::MEMPOOL_CACHE,
            rx_descriptors: defaults::RX_DESCRIPTORS,
            tx_descriptors: defaults::TX_DESCRIPTORS,
            burst_size: defaults::BURST_SIZE,
            handoff_ring_size: defaults::HANDOFF_RING_SIZE,
            neighbour_timeout: defaults::NEIGHBOUR_TIMEOUT,
            neighbour_retry: defaults::NEIGHBOUR_RETRY,
            neighbour_pending: defaults::NEIGHBOUR_PENDING,
            idle_sleep: defaults::IDLE_SLEEP,
            max_flows: defaults::MAX_FLOWS,
            max_half_open: defaults::MAX_HALF_OPEN,
            syn_cookie_threshold: keys::SYN_COOKIE_THRESHOLD.default,
            handshake_timeout: defaults::HANDSHAKE_TIMEOUT,
            request_timeout: defaults::REQUEST_TIMEOUT,
            client_idle_timeout: defaults::CLIENT_IDLE_TIMEOUT,
            tcp_idle_timeout: defaults::TCP_IDLE_TIMEOUT,
            handoff_timeout: keys::HANDOFF_TIMEOUT.default,
            agent_heartbeat: keys::AGENT_HEARTBEAT.default,
            agent_dead_time: keys::AGENT_DEAD_TIME.default,
            connect_timeout: defaults::CONNECT_TIMEOUT,
            queue_timeout: defaults::QUEUE_TIMEOUT,
            server_idle_timeout: defaults::SERVER_IDLE_TIMEOUT,
            drain_timeout: defaults::DRAIN_TIMEOUT,
            stop_timeout: defaults::STOP_TIMEOUT,
            body_timeout: defaults::BODY_TIMEOUT,
            body_min_rate: defaults::BODY_MIN_RATE,
            send_timeout: defaults::SEND_TIMEOUT,
            send_min_rate: defaults::SEND_MIN_RATE,
            outlier_errors: defaults::OUTLIER_ERRORS,
            outlier_ejection: defaults::OUTLIER_EJECTION,
            outlier_max_ejection: defaults::OUTLIER_MAX_EJECTION,
            max_ejection_percent: defaults::MAX_EJECTION_PERCENT,
            control_socket: Some(PathBuf::from(defaults::CONTROL_SOCKET)),
            metrics: None,
            metrics_public: false,
            control_socket_readonly: None,
        }
    }
}
