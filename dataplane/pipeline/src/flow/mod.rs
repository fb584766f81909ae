//! The state-machine stage for TCP: client connections to virtual servers.
//!
//! Splicer completes the client's handshake itself (the "client leg"), reads and ACKs the
//! request head, and decides what to do with the request. The splice onto a pooled server
//! connection builds on this; until a server is bound, a valid request is answered with
//! `503`, an invalid one with the status the HTTP stage chose, and the connection closed.
//!
//! SYN floods are bounded: from `syn_cookie_threshold` half-open connections on, a
//! worker answers SYNs with SYN cookies (RFC 4987, see `handshake`) and keeps no state
//! for them; it keeps at most `max_half_open` connections in SYN-RECEIVED and
//! `max_flows` in all, and SYNs beyond either bound are dropped and counted. Memory per
//! worker is therefore fixed by configuration.

mod ahead;
mod ahead_ranges;
mod answer;
mod body_guard;
mod channel;
mod channel_steer;
mod check;
mod client;
mod clocks;
mod close_mark;
mod cold;
mod deadlines;
mod dispatch;
mod due;
mod handoff;
mod handoff_end;
mod handoff_lost;
mod handoff_probe;
mod handoff_routed;
mod handshake;
mod index;
mod key;
mod leg;
mod listing;
mod local;
mod logging;
mod pipelined;
mod pool;
mod queue;
mod reconfigure;
mod redispatch;
mod reshape;
mod route;
mod segment;
mod server;
mod splice;
mod splice_down;
mod splice_end;
mod splice_rewrite;
mod splice_up;
mod stop;
mod table;
mod tcp;
mod timers;
mod tunnel;

pub(crate) use channel::Agents;
pub use channel::AGENT_PORT;
pub(crate) use channel_steer::agent_datagram_owner;
pub(crate) use check::CheckSlot;
pub(crate) use handshake::Keys;
pub(crate) use index::KeyHash;
pub use key::ClientKey;
pub(crate) use key::Handle;
pub(crate) use leg::Leg;
pub use listing::{FlowFilter, FlowInfo};
pub(crate) use pipelined::Held;
pub use pool::PoolStats;
pub(crate) use pool::Pools;
pub use queue::{AGEING_MS, RETRY_AFTER_S};
pub(crate) use route::micros;
pub use table::{FlowTable, StateSizes};
pub(crate) use timers::Timers;

/// `FlowSettings::max_held_total` when nothing says otherwise: a quarter of the default
/// mempool (16,383 buffers) of full-sized segments.
pub const MAX_HELD_TOTAL_DEFAULT: usize = 4095 * 1448;
/// The configuration's default `cluster.stray_rate` (strays per second per worker).
pub const STRAY_RATE_DEFAULT: u64 = 100_000;

/// Bounds and timers of the client leg, in the pipeline's clock ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowSettings {
    /// Most client connections one worker tracks.
    pub max_flows: usize,
    /// Most half-open (SYN-RECEIVED) connections one worker tracks.
    pub max_half_open: usize,
    /// Half-open connections from which a SYN is answered with a SYN cookie instead of
    /// a new connection: 0 cookies every SYN, above `max_half_open` never.
    pub syn_cookie_threshold: usize,
    /// How long a half-open connection waits for the handshake's ACK.
    pub handshake_timeout: u64,
    /// How long a client has to deliver a complete request head.
    pub request_timeout: u64,
    /// Silence after which an established client connection is reset.
    pub idle_timeout: u64,
    /// Silence after which a passed-through connection (a `tcp` virtual's) is reset on
    /// both sides.
    pub tcp_idle_timeout: u64,
    /// How long opening a server connection may take before it counts as failed.
    pub connect_timeout: u64,
    /// How long a request may wait in its virtual's queue (every real of its set at
    /// `maxconns`) or for its server connection to open before it is answered `503`.
    pub queue_timeout: u64,
    /// Silence after which an idle pooled server connection beyond the pool's size is
    /// closed, and a busy one (waiting for the server's response) is given up.
    pub server_idle_timeout: u64,
    /// How long a server connection whose client vanished mid-response (client RST)
    /// may take to finish the response before it is closed instead of reused.
    pub drain_timeout: u64,
    /// How long a request body may take from its head's arrival, extended by one
    /// second per `body_min_rate` bytes received (slow-body attacks).
    pub body_timeout: u64,
    /// Bytes per second a request body must average to extend `body_timeout`; 0: the
    /// deadline is instead `body_timeout` after the client's latest progress.
    pub body_min_rate: u64,
    /// How long a spliced client that has response bytes outstanding (or a window
    /// below one segment) may go without acknowledging a new byte (slow readers).
    pub send_timeout: u64,
    /// Bytes per second a stalled reader must have averaged since its request, or it
    /// is reset `send_timeout` after its request plus one second per this many bytes;
    /// 0: only the progress rule applies.
    pub send_min_rate: u64,
    /// Clock ticks per millisecond: the unit of TCP timestamps and of the
    /// retransmission timer.
    pub ticks_per_ms: u64,
    /// Most bytes of responses to pipelined requests one worker holds at once (the sum
    /// of the windows their servers are offered): held segments occupy buffers of the
    /// mempool the NIC receives into.
    pub max_held_total: usize,
    /// Requests to one real failing in a row on one worker (5xx responses, failed
    /// opens, lost requests) that make it a passive outlier, reported to the control
    /// core; 0 turns passive detection off.
    pub outlier_errors: u32,
    /// How long a handoff virtual waits for an agent's HANDOFF_ACK before the client
    /// is spliced instead (or answered `503`).
    pub handoff_timeout: u64,
    /// How often the agents get a HEARTBEAT.
    pub agent_heartbeat: u64,
    /// Silence after which an agent is down.
    pub agent_dead_time: u64,
    /// Strays this worker sends on to its cluster peers per second, in bursts of up to
    /// one second's worth (`cluster.stray_rate`; `crate::cluster`).
    pub stray_rate: u64,
}

impl FlowSettings {
    /// Settings with the configuration's defaults, for a clock of `ticks_per_ms`.
    pub fn defaults(ticks_per_ms: u64) -> Self {
        FlowSettings {
            max_flows: 65_536,
            max_half_open: 4096,
            syn_cookie_threshold: 2048,
            handshake_timeout: 3_000 * ticks_per_ms,
            request_timeout: 10_000 * ticks_per_ms,
            idle_timeout: 60_000 * ticks_per_ms,
            tcp_idle_timeout: 300_000 * ticks_per_ms,
            connect_timeout: 3_000 * ticks_per_ms,
            queue_timeout: 3_000 * ticks_per_ms,
            server_idle_timeout: 60_000 * ticks_per_ms,
            drain_timeout: 5_000 * ticks_per_ms,
            body_timeout: 20_000 * ticks_per_ms,
            body_min_rate: 500,
            send_timeout: 30_000 * ticks_per_ms,
            send_min_rate: 1024,
            ticks_per_ms,
            max_held_total: MAX_HELD_TOTAL_DEFAULT,
            outlier_errors: 5,
            handoff_timeout: 1_000 * ticks_per_ms,
            agent_heartbeat: 1_000 * ticks_per_ms,
            agent_dead_time: 3_000 * ticks_per_ms,
            stray_rate: STRAY_RATE_DEFAULT,
        }
    }
}

#[cfg(test)]
mod tests;
