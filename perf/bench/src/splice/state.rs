//! Bytes of state per spliced flow: an estimate from the layout of the engine's
//! connection state.
//!
//! The sizes come from the engine itself ([`StateSizes::of_this_build`]), so the
//! estimate follows every change to its connection state. The `established` scenario
//! also measures the process's resident memory per flow, which cross-checks it.
//!
//! A spliced flow holds, in the worker's `FlowTable`: two slots (the client connection
//! and the pooled server connection it is spliced onto), two index entries, two timer
//! heap entries, and on the heap: the client connection's `VecDeque<Leg>` (room for
//! exactly one leg: the engine reserves one before the first push) and the server
//! connection's outgoing buffer (the request head it sent). A spliced client with
//! nothing buffered behind its request holds no request-head buffer (it goes back to
//! the worker's spare ones at the splice) and no pending request (boxed, recycled):
//! neither is per flow.

use splicer_pipeline::flow::StateSizes;

/// The estimate, part by part, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateEstimate {
    /// `size_of::<ClientConn>()`.
    pub client_conn: usize,
    /// `size_of::<ServerConn>()`.
    pub server_conn: usize,
    /// `size_of::<Leg>()`.
    pub leg: usize,
    /// `size_of::<Slot>()` (generation + `Option<Conn>`): what each connection takes
    /// in the slab, whichever kind it is.
    pub slot: usize,
    /// Index entry (`ClientKey` + `u32` slot + one control byte) per connection, at the
    /// 7/8 load hashbrown grows at.
    pub index_entry: usize,
    /// Timer heap entry per connection (`(u64, u32, u32)`).
    pub timer_entry: usize,
    /// Heap buffers per flow: the server connection's copy of the head and one leg's
    /// room in the `VecDeque`, each rounded up to malloc's 16-byte granularity with its
    /// 8-byte header.
    pub heap: usize,
    /// Everything, per spliced flow.
    pub per_flow: usize,
}

fn malloc(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        (n + 8).div_ceil(16) * 16
    }
}

/// The estimate for flows whose request head is `head_len` bytes.
pub fn estimate(head_len: usize) -> StateEstimate {
    let sizes = StateSizes::of_this_build();
    let slot = sizes.slot;
    let index_entry = sizes.index_entry * 8 / 7;
    let timer_entry = sizes.timer_entry;
    let leg = sizes.leg;
    let heap = malloc(head_len) + malloc(leg);
    StateEstimate {
        client_conn: sizes.client_conn,
        server_conn: sizes.server_conn,
        leg,
        slot,
        index_entry,
        timer_entry,
        heap,
        per_flow: 2 * (slot + index_entry + timer_entry) + heap,
    }
}

impl std::fmt::Display for StateEstimate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} bytes per spliced flow = 2 × (slot {} [ClientConn {}, ServerConn {}] + index {} + timer {}) + heap {} (server's head copy, 1 × Leg {})",
            self.per_flow,
            self.slot,
            self.client_conn,
            self.server_conn,
            self.index_entry,
            self.timer_entry,
            self.heap,
            self.leg
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_adds_up() {
        let e = estimate(70);
        assert!(e.slot >= e.client_conn.max(e.server_conn));
        assert_eq!(
            e.per_flow,
            2 * (e.slot + e.index_entry + e.timer_entry) + e.heap
        );
        assert_eq!(malloc(0), 0);
        assert_eq!(malloc(70), 80);
        assert_eq!(malloc(8), 16);
        assert!(e.to_string().starts_with(&format!("{} bytes", e.per_flow)));
    }
}
