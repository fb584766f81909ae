//! Per-worker counters: per port, and per object (real, virtual, rule).
//!
//! Each worker owns one [`WorkerCounters`] and is its only writer, so an increment is a
//! relaxed load and store (no locked read-modify-write on the fast path). The control core
//! reads them at any time without stopping the worker; a reading may be a few packets old,
//! never torn.
//!
//! The per-object rows ([`RealCounter`], [`VirtualCounter`], rule hits) are allocated at
//! start-up for as many reals and virtuals as may exist while Splicer runs; an index
//! beyond them is not counted (never a panic). They are counted once per request, never
//! per packet.

use crate::balance::{RealId, Route};
use crate::runtime::{Runtime, RuntimeCells};
use std::sync::atomic::{AtomicU64, Ordering};

mod catalogue;

pub use catalogue::{Counter, Family, RealCounter, VirtualCounter};

/// Rules of a virtual that have a hit counter of their own: rule `n` (0-based, in the
/// virtual's order) for `n < RULE_SLOTS`. Hits of rules beyond go to one overflow slot.
pub const RULE_SLOTS: usize = 32;
/// The slot of a virtual's `bind` list (no rule matched) in its row of rule hits.
pub const BIND_SLOT: usize = RULE_SLOTS;
/// The slot that counts the hits of rules `RULE_SLOTS` and beyond, all together.
pub const OVERFLOW_SLOT: usize = RULE_SLOTS + 1;
/// Slots in a virtual's row of rule hits: the rules, `bind`, the overflow.
pub const RULE_ROW: usize = RULE_SLOTS + 2;

/// The slot of a virtual's rule hits that counts `route`.
#[inline]
pub fn rule_slot(route: Route) -> usize {
    match route {
        Route::Rule(n) if n < RULE_SLOTS => n,
        Route::Rule(_) => OVERFLOW_SLOT,
        Route::Bind => BIND_SLOT,
    }
}

/// Adds `n` to a counter only its owning worker writes: a plain load/store pair is exact
/// and avoids a locked add.
#[inline]
fn bump(c: &AtomicU64, n: u64) {
    c.store(c.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
}

fn zeroed<const N: usize>(rows: usize) -> Vec<[AtomicU64; N]> {
    (0..rows)
        .map(|_| std::array::from_fn(|_| AtomicU64::new(0)))
        .collect()
}

fn load<const N: usize>(rows: &[[AtomicU64; N]], i: usize) -> [u64; N] {
    rows.get(i).map_or([0; N], |row| {
        std::array::from_fn(|k| row[k].load(Ordering::Relaxed))
    })
}

/// Levels a worker reports (not counts): how much state it holds right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(usize)]
pub enum Gauge {
    /// Connections in the flow table: client legs (half-open included) and server legs.
    Flows,
    /// Client connections still in SYN-RECEIVED.
    HalfOpen,
    /// Neighbour entries (resolved or resolving).
    Neighbours,
}

impl Gauge {
    /// Every gauge, in display order.
    pub const ALL: &'static [Gauge] = &[Gauge::Flows, Gauge::HalfOpen, Gauge::Neighbours];

    /// What the gauge measures (the metrics' HELP text).
    pub fn doc(self) -> &'static str {
        match self {
            Gauge::Flows => {
                "Connections in the flow table: client legs (half-open included) and server legs."
            }
            Gauge::HalfOpen => "Client connections still in SYN-RECEIVED.",
            Gauge::Neighbours => "Neighbour entries (resolved or resolving).",
        }
    }

    /// The stable key used in logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Gauge::Flows => "flows",
            Gauge::HalfOpen => "half_open",
            Gauge::Neighbours => "neighbours",
        }
    }
}

/// The counters of one worker, one row per port, and its gauges.
#[derive(Debug)]
pub struct WorkerCounters {
    rows: Vec<[AtomicU64; Counter::COUNT]>,
    gauges: [AtomicU64; 3],
    /// Per real: the worker's pool, as [`PoolLevels`] fields.
    pools: Vec<[AtomicU64; 5]>,
    /// Per real: its [`RealCounter`]s.
    reals: Vec<[AtomicU64; RealCounter::COUNT]>,
    /// Per real: its published measurements (`quality`).
    pub(crate) quality: Vec<[AtomicU64; crate::quality::CELLS]>,
    /// Per virtual: its [`VirtualCounter`]s.
    virtuals: Vec<[AtomicU64; VirtualCounter::COUNT]>,
    /// Per virtual: its rule hits, by [`rule_slot`].
    rules: Vec<[AtomicU64; RULE_ROW]>,
    /// Per virtual: requests in its queue, as last published.
    queued: Vec<[AtomicU64; 1]>,
    /// The worker loop's own figures, as last published.
    runtime: RuntimeCells,
}

/// What one worker's pool of one real holds, as last published by the worker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolLevels {
    /// Idle connections ready for a request.
    pub free: u64,
    /// Connections carrying a request.
    pub busy: u64,
    /// Connections in the handshake.
    pub opening: u64,
    /// All connections to the real, closing ones included.
    pub conns: u64,
    /// The cost of the requests in flight (charged against `maxconns`).
    pub inflight: u64,
}

impl WorkerCounters {
    /// Counters for a worker that serves `ports` ports and pools connections to `reals`
    /// reals, all zero; no per-virtual rows.
    pub fn with_reals(ports: usize, reals: usize) -> Self {
        WorkerCounters::with_objects(ports, reals, 0)
    }

    /// Counters for a worker that serves `ports` ports, pools connections to `reals`
    /// reals (pool levels and [`RealCounter`]s) and serves `virtuals` virtuals
    /// ([`VirtualCounter`]s and rule hits), all zero. Nothing is allocated later.
    pub fn with_objects(ports: usize, reals: usize, virtuals: usize) -> Self {
        let mut c = WorkerCounters::new(ports);
        c.pools = zeroed(reals);
        c.reals = zeroed(reals);
        c.quality = crate::quality::rows(reals);
        c.virtuals = zeroed(virtuals);
        c.rules = zeroed(virtuals);
        c.queued = zeroed(virtuals);
        c
    }

    /// Publishes the depth of virtual `index`'s queue. Only the owning worker may call
    /// this.
    pub fn set_queued(&self, index: usize, depth: u64) {
        if let Some(row) = self.queued.get(index) {
            row[0].store(depth, Ordering::Relaxed);
        }
    }

    /// The depth of virtual `index`'s queue last published (zero for an unknown one).
    pub fn queued(&self, index: usize) -> u64 {
        load(&self.queued, index)[0]
    }

    /// Adds one to `counter` of `real` (not counted beyond the reals the rows were made
    /// for). Only the owning worker may call this.
    #[inline]
    pub fn inc_real(&self, real: RealId, counter: RealCounter) {
        if let Some(row) = self.reals.get(usize::from(real)) {
            bump(&row[counter as usize], 1);
        }
    }

    /// Adds one to `counter` of virtual `index` (not counted beyond the virtuals the rows
    /// were made for). Only the owning worker may call this.
    #[inline]
    pub fn inc_virtual(&self, index: u16, counter: VirtualCounter) {
        if let Some(row) = self.virtuals.get(usize::from(index)) {
            bump(&row[counter as usize], 1);
        }
    }

    /// Counts a hit of `route` in virtual `index`: the rule that matched, or its bind
    /// list. Rules beyond [`RULE_SLOTS`] count in [`OVERFLOW_SLOT`]. Only the owning
    /// worker may call this.
    #[inline]
    pub fn inc_rule(&self, index: u16, route: Route) {
        if let Some(row) = self.rules.get(usize::from(index)) {
            bump(&row[rule_slot(route)], 1);
        }
    }

    /// The [`RealCounter`]s of `real`, indexed by `RealCounter as usize` (zero for a
    /// real without a row).
    pub fn real_row(&self, real: usize) -> [u64; RealCounter::COUNT] {
        load(&self.reals, real)
    }

    /// The [`VirtualCounter`]s of virtual `index`, indexed by `VirtualCounter as usize`
    /// (zero for a virtual without a row).
    pub fn virtual_row(&self, index: usize) -> [u64; VirtualCounter::COUNT] {
        load(&self.virtuals, index)
    }

    /// The rule hits of virtual `index`, indexed by [`rule_slot`] (zero for a virtual
    /// without a row).
    pub fn rule_row(&self, index: usize) -> [u64; RULE_ROW] {
        load(&self.rules, index)
    }

    /// Number of virtuals with counter rows.
    pub fn virtuals(&self) -> usize {
        self.virtuals.len()
    }

    /// Publishes the pool levels of `real`. Only the owning worker may call this.
    pub fn set_pool(&self, real: usize, levels: PoolLevels) {
        if let Some(row) = self.pools.get(real) {
            let v = [
                levels.free,
                levels.busy,
                levels.opening,
                levels.conns,
                levels.inflight,
            ];
            for (cell, v) in row.iter().zip(v) {
                cell.store(v, Ordering::Relaxed);
            }
        }
    }

    /// The pool levels of `real` last published (zero for an unknown real).
    pub fn pool(&self, real: usize) -> PoolLevels {
        let Some(row) = self.pools.get(real) else {
            return PoolLevels::default();
        };
        let g = |i: usize| row[i].load(Ordering::Relaxed);
        PoolLevels {
            free: g(0),
            busy: g(1),
            opening: g(2),
            conns: g(3),
            inflight: g(4),
        }
    }

    /// Number of reals whose pools are published.
    pub fn reals(&self) -> usize {
        self.pools.len()
    }

    /// Counters for a worker that serves `ports` ports, all zero.
    pub fn new(ports: usize) -> Self {
        WorkerCounters {
            rows: (0..ports)
                .map(|_| std::array::from_fn(|_| AtomicU64::new(0)))
                .collect(),
            gauges: std::array::from_fn(|_| AtomicU64::new(0)),
            pools: Vec::new(),
            reals: Vec::new(),
            quality: Vec::new(),
            virtuals: Vec::new(),
            rules: Vec::new(),
            queued: Vec::new(),
            runtime: RuntimeCells::default(),
        }
    }

    /// Publishes the worker loop's figures. Only the owning worker may call this.
    pub fn set_runtime(&self, runtime: &Runtime) {
        self.runtime.publish(runtime);
    }

    /// The worker loop's figures last published (zero before the first).
    pub fn runtime(&self) -> Runtime {
        self.runtime.read()
    }

    /// Sets a gauge. Only the owning worker may call this.
    #[inline]
    pub fn set_gauge(&self, gauge: Gauge, value: u64) {
        self.gauges[gauge as usize].store(value, Ordering::Relaxed);
    }

    /// Current value of a gauge.
    pub fn gauge(&self, gauge: Gauge) -> u64 {
        self.gauges[gauge as usize].load(Ordering::Relaxed)
    }

    /// Adds one to `counter` of `port`. Only the owning worker may call this.
    #[inline]
    pub fn inc(&self, port: u16, counter: Counter) {
        self.add(port, counter, 1);
    }

    /// Adds `n` to `counter` of `port`. Only the owning worker may call this.
    #[inline]
    pub fn add(&self, port: u16, counter: Counter, n: u64) {
        if let Some(row) = self.rows.get(port as usize) {
            bump(&row[counter as usize], n);
        }
    }

    /// Current value of `counter` on `port`.
    pub fn get(&self, port: u16, counter: Counter) -> u64 {
        self.rows
            .get(port as usize)
            .map_or(0, |row| row[counter as usize].load(Ordering::Relaxed))
    }

    /// Number of port rows.
    pub fn ports(&self) -> usize {
        self.rows.len()
    }

    /// A copy of one port's row, indexed by `Counter as usize`.
    pub fn port_snapshot(&self, port: u16) -> Snapshot {
        let mut s = Snapshot::default();
        if let Some(row) = self.rows.get(port as usize) {
            for (dst, src) in s.values.iter_mut().zip(row.iter()) {
                *dst = src.load(Ordering::Relaxed);
            }
        }
        s
    }

    /// The sum over all ports.
    pub fn snapshot(&self) -> Snapshot {
        let mut s = Snapshot::default();
        for port in 0..self.rows.len() {
            s += &self.port_snapshot(port as u16);
        }
        s
    }
}

/// A point-in-time copy of a set of counters, for reporting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    values: [u64; Counter::COUNT],
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot {
            values: [0; Counter::COUNT],
        }
    }
}

impl Snapshot {
    /// Value of one counter.
    pub fn get(&self, counter: Counter) -> u64 {
        self.values[counter as usize]
    }

    /// `(name, value)` for every counter, in display order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        Counter::ALL.iter().map(|&c| (c.name(), self.get(c)))
    }
}

impl std::ops::AddAssign<&Snapshot> for Snapshot {
    fn add_assign(&mut self, rhs: &Snapshot) {
        for (a, b) in self.values.iter_mut().zip(rhs.values.iter()) {
            *a = a.wrapping_add(*b);
        }
    }
}

#[cfg(test)]
mod tests {
    /// The counter table of docs/COUNTERS.md is the operator's reference: it must name every
    /// counter a worker reports.
    #[test]
    fn readme_documents_every_counter() {
        let readme = include_str!("../../../docs/COUNTERS.md");
        for c in Counter::ALL {
            let row = format!("| `{}` |", c.name());
            assert!(
                readme.contains(&row),
                "docs/COUNTERS.md lacks a row for {}",
                c.name()
            );
        }
    }

    use super::*;

    #[test]
    fn names_are_unique_and_drop_reasons_are_prefixed() {
        let mut names: Vec<_> = Counter::ALL.iter().map(|c| c.name()).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
        assert!(Counter::ALL
            .iter()
            .filter(|c| format!("{c:?}").starts_with("Drop"))
            .all(|c| c.name().starts_with("drop_")));
    }

    /// Every drop is in the drops family under its reason, so that none is missing from
    /// `splicer_drops_total`; the other families hold exactly their members.
    #[test]
    fn families_are_declared_for_their_members() {
        for c in Counter::ALL {
            if let Some(reason) = c.name().strip_prefix("drop_") {
                assert_eq!(c.family(), Some((Family::Drops, reason)), "{c:?}");
            }
        }
        let members = |f: Family| -> Vec<&str> {
            Counter::ALL
                .iter()
                .filter_map(|c| c.family().filter(|(g, _)| *g == f).map(|(_, l)| l))
                .collect()
        };
        assert_eq!(members(Family::Packets), ["rx", "tx"]);
        assert_eq!(members(Family::SplicedSegments), ["up", "down"]);
        let classes = ["1xx", "2xx", "3xx", "4xx", "5xx", "other"];
        assert_eq!(members(Family::Responses), classes);
        let real: Vec<&str> = RealCounter::ALL
            .iter()
            .filter_map(|c| c.family().map(|(_, l)| l))
            .collect();
        assert_eq!(real, classes);
        assert!(members(Family::RefusedRequests).len() >= 8);
    }

    #[test]
    fn names_map_back_to_counters() {
        for &c in Counter::ALL {
            assert_eq!(Counter::from_name(c.name()), Some(c));
        }
        assert_eq!(Counter::from_name("no_such_counter"), None);
    }

    /// Every counter says what it counts: the metrics take it as their HELP text.
    #[test]
    fn every_counter_has_its_doc() {
        let docs = Counter::ALL
            .iter()
            .map(|c| c.doc())
            .chain(RealCounter::ALL.iter().map(|c| c.doc()))
            .chain(VirtualCounter::ALL.iter().map(|c| c.doc()))
            .chain(Gauge::ALL.iter().map(|g| g.doc()));
        for doc in docs {
            assert!(doc.trim().len() > 10, "{doc:?}");
        }
        assert_eq!(
            Counter::TcpSyns.doc(),
            " SYNs to a virtual server answered with a SYN-ACK and a half-open connection\n (cookies are `syn_cookies_sent`).\n"
        );
    }

    #[test]
    fn per_port_rows_sum_into_snapshot() {
        let c = WorkerCounters::new(2);
        c.inc(0, Counter::RxPackets);
        c.add(1, Counter::RxPackets, 4);
        c.inc(1, Counter::DropNotForUs);
        // A port the worker does not know is ignored, not a panic.
        c.inc(7, Counter::RxPackets);
        assert_eq!(c.get(1, Counter::RxPackets), 4);
        let s = c.snapshot();
        assert_eq!(s.get(Counter::RxPackets), 5);
        assert_eq!(s.get(Counter::DropNotForUs), 1);
        assert_eq!(c.port_snapshot(0).get(Counter::DropNotForUs), 0);
    }

    #[test]
    fn per_object_rows_count_and_ignore_unknown_indexes() {
        let c = WorkerCounters::with_objects(1, 3, 2);
        assert_eq!((c.reals(), c.virtuals()), (3, 2));
        c.inc_real(2, RealCounter::Requests);
        c.inc_real(2, RealCounter::Requests);
        c.inc_real(0, RealCounter::Responses5xx);
        c.inc_virtual(1, VirtualCounter::NoServer);
        c.inc_rule(1, Route::Rule(0));
        c.inc_rule(1, Route::Rule(3));
        c.inc_rule(1, Route::Bind);
        c.inc_rule(1, Route::Bind);
        // Rules beyond the slots share the overflow slot.
        c.inc_rule(1, Route::Rule(RULE_SLOTS));
        c.inc_rule(1, Route::Rule(RULE_SLOTS + 40));
        // Indexes beyond the rows are not counted, never a panic.
        c.inc_real(3, RealCounter::Requests);
        c.inc_real(RealId::MAX, RealCounter::ServerErrors);
        c.inc_virtual(2, VirtualCounter::Requests);
        c.inc_rule(u16::MAX, Route::Bind);
        assert_eq!(c.real_row(2)[RealCounter::Requests as usize], 2);
        assert_eq!(c.real_row(0)[RealCounter::Responses5xx as usize], 1);
        assert_eq!(c.real_row(1), [0; RealCounter::COUNT]);
        assert_eq!(c.real_row(3), [0; RealCounter::COUNT]);
        assert_eq!(c.virtual_row(1)[VirtualCounter::NoServer as usize], 1);
        assert_eq!(c.virtual_row(0), [0; VirtualCounter::COUNT]);
        assert_eq!(c.virtual_row(9), [0; VirtualCounter::COUNT]);
        let rules = c.rule_row(1);
        assert_eq!((rules[0], rules[3], rules[1]), (1, 1, 0));
        assert_eq!(rules[BIND_SLOT], 2);
        assert_eq!(rules[OVERFLOW_SLOT], 2);
        assert_eq!(rules.iter().sum::<u64>(), 6);
        assert_eq!(c.rule_row(0), [0; RULE_ROW]);
        // The per-port rows are not touched.
        assert_eq!(c.snapshot(), Snapshot::default());
        // Without per-object rows nothing is counted.
        let bare = WorkerCounters::new(1);
        bare.inc_real(0, RealCounter::Requests);
        bare.inc_virtual(0, VirtualCounter::Requests);
        bare.inc_rule(0, Route::Bind);
        assert_eq!(bare.real_row(0), [0; RealCounter::COUNT]);
        assert_eq!(WorkerCounters::with_reals(1, 2).virtuals(), 0);
    }

    #[test]
    fn per_object_names_are_unique() {
        for names in [
            RealCounter::ALL
                .iter()
                .map(|c| c.name())
                .collect::<Vec<_>>(),
            VirtualCounter::ALL.iter().map(|c| c.name()).collect(),
        ] {
            let mut sorted = names.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), names.len(), "{names:?}");
        }
        for &c in RealCounter::ALL {
            assert_eq!(RealCounter::from_name(c.name()), Some(c));
        }
        for &c in VirtualCounter::ALL {
            assert_eq!(VirtualCounter::from_name(c.name()), Some(c));
        }
    }

    /// docs/COUNTERS.md documents the per-object counters in a section of their own.
    #[test]
    fn readme_documents_every_object_counter() {
        let readme = include_str!("../../../docs/COUNTERS.md");
        let start = readme
            .find("## Per real, virtual and rule")
            .expect("docs/COUNTERS.md section on per-object counters");
        let rest = &readme[start..];
        let readme = &rest[..rest.find("\n## ").unwrap_or(rest.len())];
        for name in RealCounter::ALL
            .iter()
            .map(|c| c.name())
            .chain(VirtualCounter::ALL.iter().map(|c| c.name()))
            .chain(["hits"])
        {
            let row = format!("| `{name}` |");
            assert!(
                readme.contains(&row),
                "docs/COUNTERS.md lacks a row for {name}"
            );
        }
    }
}
