//! Bytes of state per spliced flow: an estimate from the layout of the engine's
//! connection state.
//!
//! The sizes come from the engine itself ([`StateSizes::of_this_build`]), so the
//! estimate follows every change to its connection state. The `established` scenario
//! also measures the process's resident memory per flow, which cross-checks it.
//!
//! A spliced flow holds, in the worker's `FlowTable`: two slots (the client connection
//! and the pooled server connection it is spliced onto), two index entries, two timer
//! heap entries, and on the heap the client connection's `VecDeque<Leg>` (room for
//! exactly one leg: the engine reserves one before the first push). A spliced client
//! with nothing buffered behind its request holds no request-head buffer (it goes back
//! to the worker's spare ones at the splice) and no pending request (boxed, recycled),
//! and the server connection gives its copy of the request head back once the
//! response has started and the head is acknowledged (every flow of `established`
//! streams its response): none of these is per flow. The head copy is reported beside
//! (`head_copy`), for a flow still waiting for its response's first byte.

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
    /// Heap buffers per flow: one leg's room in the `VecDeque`, rounded up to malloc's
    /// 16-byte granularity with its 8-byte header.
    pub heap: usize,
    /// The server connection's copy of the request head (malloc-rounded), held only
    /// until the response starts: not in `per_flow`.
    pub head_copy: usize,
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
    let heap = malloc(leg);
    StateEstimate {
        client_conn: sizes.client_conn,
        server_conn: sizes.server_conn,
        leg,
        slot,
        index_entry,
        timer_entry,
        heap,
        head_copy: malloc(head_len),
        per_flow: 2 * (slot + index_entry + timer_entry) + heap,
    }
}

impl std::fmt::Display for StateEstimate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} bytes per spliced flow = 2 × (slot {} [ClientConn {}, ServerConn {}] + index {} + timer {}) + heap {} (1 × Leg {}); + {} until the response starts (server's head copy)",
            self.per_flow,
            self.slot,
            self.client_conn,
            self.server_conn,
            self.index_entry,
            self.timer_entry,
            self.heap,
            self.leg,
            self.head_copy
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
        assert_eq!(e.head_copy, 80);
        assert_eq!(e.heap, malloc(e.leg));
        assert_eq!(malloc(8), 16);
        assert!(e.to_string().starts_with(&format!("{} bytes", e.per_flow)));
    }
}
