//! The rings that connect workers.

use crossbeam::queue::ArrayQueue;
use dpdk_bindings::ring::MbufRing;
use splicer_pipeline::NeighbourUpdate;

/// Per destination worker: an mbuf ring for packets of flows it owns that landed on
/// another worker's queue, and a queue of neighbours the others learned.
pub struct Mesh {
    handoff: Vec<MbufRing>,
    neighbours: Vec<ArrayQueue<NeighbourUpdate>>,
}

/// Capacity of each worker's neighbour-update queue. An update that does not fit is not
/// lost for good: the receiving worker resolves that neighbour with its own ARP request.
pub const NEIGHBOUR_QUEUE: usize = 1024;

impl Mesh {
    /// A mesh over `handoff.len()` workers; `handoff[w]` is worker `w`'s incoming ring
    /// (multi-producer, single-consumer).
    pub fn new(handoff: Vec<MbufRing>) -> Self {
        let neighbours = (0..handoff.len())
            .map(|_| ArrayQueue::new(NEIGHBOUR_QUEUE))
            .collect();
        Mesh {
            handoff,
            neighbours,
        }
    }

    /// Number of workers.
    pub fn workers(&self) -> usize {
        self.handoff.len()
    }

    /// Worker `w`'s incoming hand-off ring.
    pub fn handoff(&self, w: usize) -> &MbufRing {
        &self.handoff[w]
    }

    /// Worker `w`'s incoming neighbour updates.
    pub fn neighbour_queue(&self, w: usize) -> &ArrayQueue<NeighbourUpdate> {
        &self.neighbours[w]
    }
}
