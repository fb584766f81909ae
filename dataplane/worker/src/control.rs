//! Messages from the control core to one worker: a new configuration, a request for
//! a snapshot of its flows, the stop, the cluster's live peers. Polled once per loop
//! round; an empty queue costs one atomic load.

use crossbeam::channel::Sender;
use crossbeam::queue::ArrayQueue;
use splicer_pipeline::flow::{FlowFilter, FlowInfo};
use splicer_pipeline::{PeerState, Topology};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// What the control core asks of a worker.
pub enum ControlMsg {
    /// Use this topology from now on; `generation` numbers it.
    Topology {
        /// Increases with every change.
        generation: u64,
        /// The new configuration.
        topology: Arc<Topology>,
    },
    /// Send a snapshot of the flows that pass the filter, and how many passed.
    ListFlows {
        /// Which flows.
        filter: FlowFilter,
        /// Where the answer goes.
        reply: Sender<(Vec<FlowInfo>, u64)>,
    },
    /// The process stops gracefully: refuse new connections, and report the client
    /// connections still busy ([`Inbox::busy`]) until the worker is stopped.
    StartStopping,
    /// The cluster's peers, every one, and which of them are alive now (the control
    /// core's heartbeats); sent at start-up and whenever one changes.
    ClusterPeers(Vec<PeerState>),
}

/// Messages a worker has not taken yet: more means the worker is stuck.
pub const CONTROL_QUEUE: usize = 16;

/// One worker's inbox, and the configuration generation it has applied.
pub struct Inbox {
    queue: ArrayQueue<ControlMsg>,
    applied: AtomicU64,
    /// While stopping: client connections with work in flight; [`NOT_STOPPING`] before
    /// the worker took [`ControlMsg::StartStopping`].
    busy: AtomicU64,
}

/// [`Inbox::busy`] of a worker that has not started stopping.
pub const NOT_STOPPING: u64 = u64::MAX;

impl Default for Inbox {
    fn default() -> Self {
        Inbox {
            queue: ArrayQueue::new(CONTROL_QUEUE),
            applied: AtomicU64::new(0),
            busy: AtomicU64::new(NOT_STOPPING),
        }
    }
}

impl Inbox {
    /// Queues `msg`; gives it back when the inbox is full.
    pub fn send(&self, msg: ControlMsg) -> Result<(), ControlMsg> {
        self.queue.push(msg)
    }

    /// Messages the worker has not taken yet.
    pub fn pending(&self) -> usize {
        self.queue.len()
    }

    /// The next message, if any (worker side).
    pub fn take(&self) -> Option<ControlMsg> {
        self.queue.pop()
    }

    /// The generation of the last topology the worker applied.
    pub fn applied(&self) -> u64 {
        self.applied.load(Ordering::Acquire)
    }

    /// The worker applied topology `generation`.
    pub fn set_applied(&self, generation: u64) {
        self.applied.store(generation, Ordering::Release);
    }

    /// The client connections of a stopping worker that still have work in flight, as
    /// it last reported them; [`NOT_STOPPING`] until it took
    /// [`ControlMsg::StartStopping`].
    pub fn busy(&self) -> u64 {
        self.busy.load(Ordering::Acquire)
    }

    /// The stopping worker has `busy` client connections with work in flight.
    pub fn set_busy(&self, busy: u64) {
        self.busy.store(busy, Ordering::Release);
    }
}
