//! The default of every optional `[dataplane]`, `[[real]]`, `[[virtual]]` and `[[url]]`
//! key. The `[dataplane]` ones, `real.weight`, `.pool` and `.maxconns`, `url.weight`
//! and `virtual.max_request_head`, `.max_pipeline` and `.max_held` are read from their
//! declarations in [`keys`], where each is written once with its range.

use crate::keys::{self, OwnDefault};
use crate::{ByteSize, Mode, Predictor, ServiceState};
use std::time::Duration;

/// `dataplane.workers`.
pub const WORKERS: u16 = keys::WORKERS.default;
/// `dataplane.stats_interval`: 10 s.
pub const STATS_INTERVAL: Duration = keys::STATS_INTERVAL.default;
/// `dataplane.mempool_size`: 2^14 - 1 mbufs (DPDK pools are most efficient at 2^n - 1).
pub const MEMPOOL_SIZE: u32 = keys::MEMPOOL_SIZE.default;
/// `dataplane.mempool_cache`.
pub const MEMPOOL_CACHE: u32 = keys::MEMPOOL_CACHE.default;
/// `dataplane.rx_descriptors`.
pub const RX_DESCRIPTORS: u16 = keys::RX_DESCRIPTORS.default;
/// `dataplane.tx_descriptors`.
pub const TX_DESCRIPTORS: u16 = keys::TX_DESCRIPTORS.default;
/// `dataplane.burst_size`.
pub const BURST_SIZE: u16 = keys::BURST_SIZE.default;
/// `dataplane.handoff_ring_size`.
pub const HANDOFF_RING_SIZE: u32 = keys::HANDOFF_RING_SIZE.default;
/// `dataplane.neighbour_timeout`: 60 s.
pub const NEIGHBOUR_TIMEOUT: Duration = keys::NEIGHBOUR_TIMEOUT.default;
/// `dataplane.neighbour_retry`: 1 s.
pub const NEIGHBOUR_RETRY: Duration = keys::NEIGHBOUR_RETRY.default;
/// `dataplane.neighbour_pending`.
pub const NEIGHBOUR_PENDING: u16 = keys::NEIGHBOUR_PENDING.default;
/// `dataplane.idle_sleep`: zero, pure busy polling.
pub const IDLE_SLEEP: Duration = keys::IDLE_SLEEP.default;
/// `dataplane.max_flows`: 2^16 client connections per worker.
pub const MAX_FLOWS: u32 = keys::MAX_FLOWS.default;
/// `dataplane.max_half_open`: 4096 half-open connections per worker.
pub const MAX_HALF_OPEN: u32 = keys::MAX_HALF_OPEN.default;
/// `dataplane.handshake_timeout`: 3 s.
pub const HANDSHAKE_TIMEOUT: Duration = keys::HANDSHAKE_TIMEOUT.default;
/// `dataplane.request_timeout`: 10 s.
pub const REQUEST_TIMEOUT: Duration = keys::REQUEST_TIMEOUT.default;
/// `dataplane.client_idle_timeout`: 60 s.
pub const CLIENT_IDLE_TIMEOUT: Duration = keys::CLIENT_IDLE_TIMEOUT.default;
/// `dataplane.tcp_idle_timeout`: 300 s.
pub const TCP_IDLE_TIMEOUT: Duration = keys::TCP_IDLE_TIMEOUT.default;
/// `real.agent`'s port when it names none, and the UDP port the data plane sends its
/// handoff messages from.
pub const AGENT_PORT: u16 = 7470;
/// `dataplane.connect_timeout`: 3 s.
pub const CONNECT_TIMEOUT: Duration = keys::CONNECT_TIMEOUT.default;
/// `dataplane.queue_timeout`: 3 s.
pub const QUEUE_TIMEOUT: Duration = keys::QUEUE_TIMEOUT.default;
/// `dataplane.server_idle_timeout`: 60 s.
pub const SERVER_IDLE_TIMEOUT: Duration = keys::SERVER_IDLE_TIMEOUT.default;
/// `dataplane.drain_timeout`: 5 s.
pub const DRAIN_TIMEOUT: Duration = keys::DRAIN_TIMEOUT.default;
/// `dataplane.stop_timeout`: 10 s.
pub const STOP_TIMEOUT: Duration = keys::STOP_TIMEOUT.default;
/// `dataplane.body_timeout`: 20 s (with `body_min_rate`, Apache mod_reqtimeout's
/// `body=20,MinRate=500`).
pub const BODY_TIMEOUT: Duration = keys::BODY_TIMEOUT.default;
/// `dataplane.body_min_rate`: 500 bytes per second.
pub const BODY_MIN_RATE: u32 = keys::BODY_MIN_RATE.default;
/// `dataplane.send_timeout`: 30 s.
pub const SEND_TIMEOUT: Duration = keys::SEND_TIMEOUT.default;
/// `dataplane.send_min_rate`: 1024 bytes per second.
pub const SEND_MIN_RATE: u32 = keys::SEND_MIN_RATE.default;
/// `dataplane.outlier_errors`: 5 failed requests in a row.
pub const OUTLIER_ERRORS: u32 = keys::OUTLIER_ERRORS.default;
/// `dataplane.outlier_ejection`: 30 s.
pub const OUTLIER_EJECTION: Duration = keys::OUTLIER_EJECTION.default;
/// `dataplane.outlier_max_ejection`: 300 s.
pub const OUTLIER_MAX_EJECTION: Duration = keys::OUTLIER_MAX_EJECTION.default;
/// `dataplane.max_ejection_percent`: 50 %.
pub const MAX_EJECTION_PERCENT: u16 = keys::MAX_EJECTION_PERCENT.default;
/// `dataplane.control_socket`: where `splicer ctl` and `splicer shell` connect.
pub const CONTROL_SOCKET: &str = match keys::CONTROL_SOCKET.default {
    OwnDefault::Text(path) => path,
    _ => panic!("dataplane.control_socket has a path as its default"),
};
/// `real.weight`.
pub const REAL_WEIGHT: u16 = keys::REAL_WEIGHT.default;
/// `real.pool`: idle server connections kept open per worker.
pub const REAL_POOL: u16 = keys::REAL_POOL.default;
/// `real.maxconns`: requests in flight per worker (in request costs).
pub const REAL_MAXCONNS: u16 = keys::REAL_MAXCONNS.default;
/// `real.tier`: 1, an origin.
pub const REAL_TIER: u16 = keys::REAL_TIER.default;
/// `virtual.queue_size`: 256 requests per worker.
pub const QUEUE_SIZE: u16 = keys::QUEUE_SIZE.default;
/// `virtual.priority`: 4, the middle of 0..=7.
pub const PRIORITY: u16 = keys::PRIORITY.default;
/// `virtual.cost`: one slot.
pub const COST: u16 = keys::COST.default;
/// `virtual.max_request_head`: 16 KiB.
pub const MAX_REQUEST_HEAD: ByteSize = keys::MAX_REQUEST_HEAD.default;
/// `virtual.max_pipeline`: 32 requests of one client connection in flight at once.
pub const MAX_PIPELINE: u16 = keys::MAX_PIPELINE.default;
/// `virtual.max_held`: 64 KiB held of each response to a request sent ahead.
pub const MAX_HELD: ByteSize = keys::MAX_HELD.default;
/// `virtual.mode`.
pub const MODE: Mode = Mode::Splice;
/// `virtual.predictor`: round robin.
pub const PREDICTOR: Predictor = Predictor::RoundRobin;
/// `virtual.hash`: the client's address.
pub const HASH: &str = "source";
/// `state` of a real, virtual or URL: in service.
pub const STATE: ServiceState = ServiceState::InService;
/// `url.code`: 302 Found (the default of Cisco's "Server load balancing method and
/// system", US 7,099,915).
pub const URL_CODE: u16 = 302;
/// `url.weight`.
pub const URL_WEIGHT: u16 = keys::URL_WEIGHT.default;
