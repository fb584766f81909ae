//! Access log records: what a worker knows of each request, in a fixed-size record that
//! goes to the control core through a lock-free ring, which formats and writes it
//! (docs/ACCESS-LOG.md). Nothing here formats, allocates or locks per request: a record
//! is filled in a preallocated slot while its request is under way and copied into the
//! ring when it ends.
//!
//! The ring is crossbeam's `ArrayQueue`: bounded, lock-free, preallocated, and already a
//! dependency of the workers (their health-event queue). It is multi-producer, which one
//! worker per ring does not need, but its push costs one compare-and-swap on an
//! uncontended line, and `rtrb`'s split producer/consumer halves would have to be moved
//! into the pipeline and the control core separately for the same result.

use crate::counters::{Counter, WorkerCounters};
use crate::flow::Handle;
use crossbeam::queue::ArrayQueue;
use std::sync::Arc;

/// Bytes of the request line kept (method, target, version); a longer line is cut and
/// marked `truncated`.
pub const LINE_MAX: usize = 96;
/// `AccessRecord::rule` of a request that matched no rule (the virtual's `bind` list).
pub const RULE_BIND: u16 = 0xfffe;
/// `AccessRecord::rule` / `AccessRecord::real` when there is none.
pub const NONE16: u16 = 0xffff;
/// A slot index meaning "no record" (logging off, or sampled out).
pub(crate) const NO_LOG: u32 = u32::MAX;
/// Ring fill (in eighths) from which records are sampled one in `OVERLOAD_ONE_IN`.
pub const OVERLOAD_FILL_EIGHTHS: usize = 6;
/// While the ring is over `OVERLOAD_FILL_EIGHTHS` full, one request in this many is kept.
pub const OVERLOAD_ONE_IN: u32 = 16;

/// How a request ended, in the spirit of HAProxy's two-letter termination state: who
/// ended it (`-` nobody: normal; `C` the client; `c` a client timeout; `S` the server;
/// `s` a server timeout; `P` Splicer refused it; `L` Splicer answered it itself; `K` the
/// connection was killed otherwise), and in which phase (`R` request head, `Q` queue,
/// `C` connecting, `H` waiting for the response head, `D` data, `-` complete).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum Term {
    /// `--`: the response was delivered whole.
    #[default]
    Normal,
    /// `CR`: the client closed before its request head was complete.
    ClientClosedHead,
    /// `CD`: the client reset or went away while its request was spliced.
    ClientAborted,
    /// `cR`: the request head did not arrive within `request_timeout` (408).
    ClientTimeoutHead,
    /// `cD`: the client was too slow with its body or reading the response.
    ClientTimeoutData,
    /// `PR`: Splicer refused the request (a 4xx of its own).
    Refused,
    /// `LR`: Splicer answered with a redirect.
    Redirect,
    /// `SC`: no real could take the request (503).
    NoServer,
    /// `sQ`: the request waited in its virtual's queue until `queue_timeout` (503).
    QueueTimeout,
    /// `SH`: the server failed before the response started (502).
    ServerFailedHead,
    /// `sH`: the server did not answer in time (504).
    ServerTimeout,
    /// `SD`: the server reset or cut the response short.
    ServerAbortedData,
    /// `KD`: the connection was closed otherwise (shutdown, reconfiguration, a request
    /// pipelined behind a response that closed the connection).
    Killed,
}

impl Term {
    /// The two-letter code.
    pub fn code(self) -> &'static str {
        match self {
            Term::Normal => "--",
            Term::ClientClosedHead => "CR",
            Term::ClientAborted => "CD",
            Term::ClientTimeoutHead => "cR",
            Term::ClientTimeoutData => "cD",
            Term::Refused => "PR",
            Term::Redirect => "LR",
            Term::NoServer => "SC",
            Term::QueueTimeout => "sQ",
            Term::ServerFailedHead => "SH",
            Term::ServerTimeout => "sH",
            Term::ServerAbortedData => "SD",
            Term::Killed => "KD",
        }
    }

    /// Every code, for the documentation's table and tests.
    pub const ALL: [Term; 13] = [
        Term::Normal,
        Term::ClientClosedHead,
        Term::ClientAborted,
        Term::ClientTimeoutHead,
        Term::ClientTimeoutData,
        Term::Refused,
        Term::Redirect,
        Term::NoServer,
        Term::QueueTimeout,
        Term::ServerFailedHead,
        Term::ServerTimeout,
        Term::ServerAbortedData,
        Term::Killed,
    ];

    /// The termination of a request Splicer answered itself with `status` (0: closed
    /// without an answer), `queued`: it was waiting for a server.
    pub fn of_answer(status: u16, queued: bool) -> Term {
        match status {
            0 => Term::ClientClosedHead,
            300..=399 => Term::Redirect,
            408 => Term::ClientTimeoutHead,
            502 => Term::ServerFailedHead,
            504 => Term::ServerTimeout,
            503 if queued => Term::QueueTimeout,
            503 => Term::NoServer,
            _ => Term::Refused,
        }
    }
}

/// One request, as the worker saw it. Times are the pipeline's clock ticks (the TSC in
/// the appliance; 0: did not happen); the control core turns them into microseconds.
#[derive(Debug, Clone, Copy)]
pub struct AccessRecord {
    /// The worker that served it.
    pub worker: u16,
    /// Client address (network order octets) and port.
    pub client: [u8; 4],
    pub client_port: u16,
    /// The VIP and port it was sent to.
    pub vip: [u8; 4],
    pub vip_port: u16,
    /// The virtual's index.
    pub virtual_index: u16,
    /// The rule of the virtual that routed it: its index, [`RULE_BIND`], or [`NONE16`]
    /// (not routed: refused before).
    pub rule: u16,
    /// The real it was spliced to (the latest one, if sent again), or [`NONE16`].
    pub real: u16,
    /// The response status (Splicer's own for its answers); 0: none.
    pub status: u16,
    pub term: Term,
    /// Request bytes from the client (head and body), response bytes to it.
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// The request's first byte arrived (or it became the next request in the buffer).
    pub head_start: u64,
    /// Its head was complete (0: never).
    pub head_done: u64,
    /// It was sent to its server (0: never): head complete → sent is the queue time.
    pub sent: u64,
    /// The response's first byte came from the server (0: never).
    pub first_byte: u64,
    /// It ended.
    pub end: u64,
    /// The request line, cut at [`LINE_MAX`] bytes.
    pub line: [u8; LINE_MAX],
    pub line_len: u8,
    pub truncated: bool,
}

impl Default for AccessRecord {
    fn default() -> Self {
        AccessRecord {
            worker: 0,
            client: [0; 4],
            client_port: 0,
            vip: [0; 4],
            vip_port: 0,
            virtual_index: 0,
            rule: NONE16,
            real: NONE16,
            status: 0,
            term: Term::Normal,
            bytes_in: 0,
            bytes_out: 0,
            head_start: 0,
            head_done: 0,
            sent: 0,
            first_byte: 0,
            end: 0,
            line: [0; LINE_MAX],
            line_len: 0,
            truncated: false,
        }
    }
}

impl AccessRecord {
    /// Keeps the first line of `head` (up to CR or LF), cut at [`LINE_MAX`] bytes.
    pub fn set_line(&mut self, head: &[u8]) {
        let end = head
            .iter()
            .position(|&b| b == b'\r' || b == b'\n')
            .unwrap_or(head.len());
        let n = end.min(LINE_MAX);
        self.line[..n].copy_from_slice(&head[..n]);
        self.line_len = n as u8;
        self.truncated = end > LINE_MAX;
    }

    /// The request line kept.
    pub fn line(&self) -> &[u8] {
        &self.line[..usize::from(self.line_len)]
    }
}

/// One worker's ring of finished records towards the control core.
pub struct AccessRing {
    queue: ArrayQueue<AccessRecord>,
}

impl AccessRing {
    /// A ring of `capacity` records (at least 1).
    pub fn new(capacity: usize) -> Arc<Self> {
        Arc::new(AccessRing {
            queue: ArrayQueue::new(capacity.max(1)),
        })
    }

    /// Adds a finished record; false (and nothing added) when the ring is full. The
    /// pipeline pushes through its log (which counts what is dropped).
    pub fn push(&self, rec: AccessRecord) -> bool {
        self.queue.push(rec).is_ok()
    }

    /// The next record, for the control core.
    pub fn pop(&self) -> Option<AccessRecord> {
        self.queue.pop()
    }

    /// Records waiting.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether no record waits.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// The ring's size.
    pub fn capacity(&self) -> usize {
        self.queue.capacity()
    }
}

/// A worker's records of requests under way, in preallocated slots, and its ring.
pub(crate) struct AccessLog {
    ring: Arc<AccessRing>,
    worker: u16,
    /// Keep one request in `sample` (1: all).
    sample: u32,
    /// Requests seen since the last kept one (sampling).
    seen: u32,
    slots: Vec<(AccessRecord, Option<Handle>)>,
    free: Vec<u32>,
    /// Where the sweep for records whose connection is gone goes on (`sweep`).
    cursor: usize,
}

impl AccessLog {
    /// A log into `ring` that keeps one request in `sample`, with room for `slots`
    /// requests under way at once (more are not logged, and counted as dropped).
    pub(crate) fn new(ring: Arc<AccessRing>, worker: usize, sample: u32, slots: usize) -> Self {
        AccessLog {
            ring,
            worker: worker as u16,
            sample: sample.max(1),
            seen: 0,
            slots: Vec::with_capacity(slots),
            free: (0..slots as u32).rev().collect(),
            cursor: 0,
        }
    }

    /// A slot for a new request of connection `owner`, or [`NO_LOG`] when it is sampled
    /// out (counted) or no slot is free (counted as dropped).
    pub(crate) fn begin(&mut self, owner: Handle, counters: &WorkerCounters) -> u32 {
        // One in `sample`, and one in `OVERLOAD_ONE_IN` more while the ring is filling
        // faster than the control core empties it: the log thins out before it drops.
        let mut one_in = self.sample;
        if self.ring.len() * 8 >= self.ring.capacity() * OVERLOAD_FILL_EIGHTHS {
            one_in = one_in.saturating_mul(OVERLOAD_ONE_IN);
        }
        self.seen += 1;
        if self.seen < one_in {
            counters.inc(0, Counter::AccessLogSampled);
            return NO_LOG;
        }
        self.seen = 0;
        let Some(i) = self.free.pop() else {
            counters.inc(0, Counter::AccessLogDropped);
            return NO_LOG;
        };
        let slot = i as usize;
        let rec = AccessRecord {
            worker: self.worker,
            ..AccessRecord::default()
        };
        if slot >= self.slots.len() {
            // Slots are taken lowest first, so the vector grows by one at a time up to
            // its preallocated capacity: no allocation.
            self.slots.push((rec, Some(owner)));
        } else {
            self.slots[slot] = (rec, Some(owner));
        }
        i
    }

    /// The record in slot `i` (none for [`NO_LOG`] or a free slot).
    pub(crate) fn get(&mut self, i: u32) -> Option<&mut AccessRecord> {
        match self.slots.get_mut(i as usize) {
            Some((rec, Some(_))) => Some(rec),
            _ => None,
        }
    }

    /// Ends the record in slot `i`: into the ring (a full ring drops it, counted), and
    /// the slot is free again.
    pub(crate) fn finish(&mut self, i: u32, counters: &WorkerCounters) {
        let Some((rec, owner)) = self.slots.get_mut(i as usize) else {
            return;
        };
        if owner.take().is_none() {
            return;
        }
        if !self.ring.push(*rec) {
            counters.inc(0, Counter::AccessLogDropped);
        }
        self.free.push(i);
    }

    /// Up to `n` slots checked for records whose connection is gone without ending them
    /// (a path that lost its request): each is ended as [`Term::Killed`] at `now`, so
    /// that every request kept gets its line and no slot leaks.
    pub(crate) fn sweep(
        &mut self,
        n: usize,
        now: u64,
        alive: impl Fn(Handle) -> bool,
        counters: &WorkerCounters,
    ) {
        let len = self.slots.len();
        if len == 0 {
            return;
        }
        for _ in 0..n.min(len) {
            self.cursor = (self.cursor + 1) % len;
            let i = self.cursor;
            if let (rec, Some(owner)) = &mut self.slots[i] {
                if !alive(*owner) {
                    rec.term = Term::Killed;
                    rec.end = now;
                    self.finish(i as u32, counters);
                }
            }
        }
    }

    /// Requests under way with a record.
    #[cfg(test)]
    pub(crate) fn in_use(&self) -> usize {
        self.slots.iter().filter(|(_, o)| o.is_some()).count()
    }
}

#[cfg(test)]
mod tests;
