//! Bytes of state per spliced flow: an estimate from the layout of the engine's
//! connection state.
//!
//! `splicer_dataplane` exposes no size of its connection state (`Conn`, `ClientConn`,
//! `Leg`, `ServerConn` and the table's slots are private), so the bench restates their
//! field lists here, with the same field types where those are public (`ClientKey`,
//! `Service`, `SeqNumber`, `BodyFramer`, `ResponseFramer`, `Insertion`, `Timestamps`) and
//! same-sized stand-ins where they are not (state enums, `Handle`). rustc lays out
//! structs with the same field types the same way, so `size_of` of a mirror is that of
//! the original **as of the commit it was last checked against** (04e8632, `flow/table.rs`,
//! `flow/client.rs`, `flow/server.rs`); a field added there is missing here until this
//! file is updated. The `established` scenario also measures the process's resident
//! memory per flow, which needs no mirror and cross-checks this estimate.
//!
//! A spliced flow holds, in the worker's `FlowTable`: two slots (the client connection
//! and the pooled server connection it is spliced onto), two index entries, two timer
//! heap entries, and on the heap: the client connection's request-head buffer (kept,
//! emptied, after the splice), its `VecDeque<Leg>` (room for exactly one leg: the
//! engine reserves one before the first push) and the server connection's outgoing buffer (the request head it sent).

use splicer_dataplane::flow::ClientKey;
use splicer_dataplane::rewrite::Timestamps;
use splicer_dataplane::Service;
use splicer_http::{BodyFramer, Insertion, ResponseFramer};
use splicer_wire::tcp::SeqNumber;
use std::collections::VecDeque;
use std::mem::size_of;

#[allow(dead_code)]
#[derive(Clone, Copy)]
enum FiveStates {
    A,
    B,
    C,
    D,
    E,
}

#[allow(dead_code)]
#[derive(Clone, Copy)]
struct Handle {
    slot: u32,
    generation: u32,
}

#[allow(dead_code)]
struct Pending {
    real: u16,
    consumed: usize,
    insertion: Option<Insertion>,
    head_request: bool,
    keep_alive: bool,
    body: BodyFramer,
}

#[allow(dead_code)]
struct Leg {
    server: Handle,
    up_from: SeqNumber,
    up_next: SeqNumber,
    up_delta: u32,
    head_end: SeqNumber,
    down_from: SeqNumber,
    down_next: SeqNumber,
    down_delta: u32,
    body: BodyFramer,
    ts_up: Timestamps,
    ts_down: Timestamps,
    keep_alive: bool,
    response_end: Option<SeqNumber>,
    client_fin: Option<SeqNumber>,
    spoiled: bool,
    class_counted: bool,
}

#[allow(dead_code)]
struct ClientConn {
    key: ClientKey,
    service: Service,
    state: FiveStates,
    iss: SeqNumber,
    snd_una: SeqNumber,
    snd_nxt: SeqNumber,
    rcv_nxt: SeqNumber,
    peer_mss: u16,
    peer_wscale: Option<u8>,
    sack_ok: bool,
    ts_recent: Option<u32>,
    ts_recent_at: u32,
    ts_sent_max: u32,
    head: Vec<u8>,
    response: Vec<u8>,
    response_start: SeqNumber,
    fin_received: bool,
    opened_at: u64,
    head_since: u64,
    wait_since: u64,
    last_activity: u64,
    retransmit_at: Option<u64>,
    rto: u64,
    tries: u32,
    scheduled: u64,
    pending: Option<Pending>,
    legs: VecDeque<Leg>,
}

#[allow(dead_code)]
struct ServerConn {
    key: ClientKey,
    real: u16,
    state: FiveStates,
    iss: SeqNumber,
    snd_una: SeqNumber,
    snd_nxt: SeqNumber,
    rcv_nxt: SeqNumber,
    peer_mss: u16,
    peer_wscale: Option<u8>,
    sack_ok: bool,
    ts_recent: Option<u32>,
    ts_recent_at: u32,
    ts_sent_max: u32,
    out: Vec<u8>,
    out_start: SeqNumber,
    client: Option<Handle>,
    framer: ResponseFramer,
    fin_received: bool,
    fin_sent: bool,
    since: u64,
    last_activity: u64,
    retransmit_at: Option<u64>,
    rto: u64,
    tries: u32,
    scheduled: u64,
}

#[allow(dead_code)]
enum Conn {
    Client(ClientConn),
    Server(ServerConn),
}

#[allow(dead_code)]
struct Slot {
    generation: u32,
    conn: Option<Conn>,
}

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
    /// Heap buffers per flow: the request head buffer, the server connection's copy of
    /// the head, one leg's room in the `VecDeque`, each rounded up to malloc's 16-byte
    /// granularity with its 8-byte header.
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
    let slot = size_of::<Slot>();
    let index_entry = (size_of::<ClientKey>() + 4 + 1) * 8 / 7;
    let timer_entry = size_of::<(u64, u32, u32)>();
    let leg = size_of::<Leg>();
    let heap = malloc(head_len) + malloc(head_len) + malloc(leg);
    StateEstimate {
        client_conn: size_of::<ClientConn>(),
        server_conn: size_of::<ServerConn>(),
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
            "{} bytes per spliced flow = 2 × (slot {} [ClientConn {}, ServerConn {}] + index {} + timer {}) + heap {} (head buffers, 1 × Leg {})",
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
