//! One worker's server connection pools: per real, the free (idle, pre-opened)
//! connections, the number open in all, and the requests waiting for one.
//!
//! A request placed on a real (below its high-water mark, see `queue`) takes the most
//! recently freed connection (LIFO keeps a small hot set busy and lets the rest idle
//! out) or opens a new one. The worker keeps `pool` idle connections open per real on
//! its own, so that in steady state no request waits for a handshake.

use super::key::Handle;
use super::queue::Queues;
use crate::balance::{Loads, Measure, RealId, RealLoad};

/// The pool of one real on one worker.
#[derive(Debug, Default)]
pub(crate) struct RealPool {
    /// Idle, established connections, most recently freed last.
    pub free: Vec<Handle>,
    /// Connections still in the handshake.
    pub opening: u32,
    /// Those of them opened for the pool itself, that no request waits for: a request
    /// that finds no idle connection while the real has `maxconns` connections waits for
    /// one of these rather than open another, so that the connections stay within it.
    pub spare: Vec<Handle>,
    /// Connections carrying a request.
    pub busy: u32,
    /// Every connection to this real, whatever its state (closing ones included).
    pub conns: u32,
    /// The cost of the requests in flight on this real (see `queue`): at most
    /// `maxconns`, but for a lone request that costs more.
    pub inflight: u32,
    /// No new connection is opened before this time: set after a failed open, so that
    /// a dead real is not flooded with SYNs.
    pub hold_off_until: u64,
    /// Consecutive failed opens; cleared by a successful one.
    pub failures: u32,
    /// Requests to this real that failed in a row (passive outlier detection,
    /// `check.rs`).
    pub errors_in_row: u32,
    /// Response times and loss of this real as this worker saw them.
    pub measure: Measure,
    /// Its requests per second, for publication.
    pub rate: crate::quality::Rate,
    /// Until when (clock ticks) this worker passes its clients' `close` on to this
    /// real (`server_close`): a response of the real to a request whose `close` it was
    /// not told had no `Connection: keep-alive` to write `close` over, so the real
    /// closes instead and its response says so, rather than more clients get a
    /// response without it. For `close_mark::CLOSE_RETRY_MS` only, then the real is
    /// tried again (it may have been upgraded or reconfigured meanwhile); sooner when
    /// its state changes or it comes back up (`reconfigure`). 0: never set.
    pub close_passed_until: u64,
}

impl RealPool {
    /// Requests of this worker at the real, each counted by its cost: carried by its
    /// connections (until their responses are acknowledged) or by connections being
    /// opened for them (the high-water mark's count, `inflight`).
    pub fn in_flight(&self) -> u32 {
        self.inflight
    }
}

/// The predictors' view of the reals: this worker's pools and measurements.
impl Loads for Pools {
    fn load(&self, real: RealId) -> RealLoad {
        self.reals
            .get(usize::from(real))
            .map_or_else(RealLoad::default, |p| p.measure.load(p.in_flight()))
    }
}

/// What a pool holds, for statistics (`show pools`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Idle connections ready for a request.
    pub free: u32,
    /// Connections carrying a request.
    pub busy: u32,
    /// Connections in the handshake.
    pub opening: u32,
    /// All connections, closing ones included.
    pub conns: u32,
    /// The cost of the requests in flight (charged against `maxconns`).
    pub inflight: u32,
    /// Whether new connections are held off after failures.
    pub failing: bool,
}

/// The pools of every real on one worker.
#[derive(Debug, Default)]
pub(crate) struct Pools {
    pub reals: Vec<RealPool>,
    /// Per virtual, the requests waiting for a slot on a real of their set.
    pub queues: Queues,
}

impl Pools {
    pub(crate) fn new(reals: usize) -> Self {
        Pools {
            reals: (0..reals).map(|_| RealPool::default()).collect(),
            queues: Queues::default(),
        }
    }

    pub(crate) fn get(&mut self, real: RealId) -> &mut RealPool {
        &mut self.reals[usize::from(real)]
    }

    /// Forgets `h` as a free connection of `real` (it is closing or taken).
    pub(crate) fn unfree(&mut self, real: RealId, h: Handle) {
        let p = self.get(real);
        if let Some(i) = p.free.iter().position(|&f| f == h) {
            p.free.swap_remove(i);
        }
    }

    /// Forgets `h` as a spare opening connection of `real` (established, taken or gone).
    pub(crate) fn unspare(&mut self, real: RealId, h: Handle) {
        let p = self.get(real);
        if let Some(i) = p.spare.iter().position(|&f| f == h) {
            p.spare.swap_remove(i);
        }
    }

    pub(crate) fn stats(&self, real: RealId, now: u64) -> PoolStats {
        let p = &self.reals[usize::from(real)];
        PoolStats {
            free: p.free.len() as u32,
            busy: p.busy,
            opening: p.opening,
            conns: p.conns,
            inflight: p.inflight,
            failing: p.hold_off_until > now,
        }
    }
}
