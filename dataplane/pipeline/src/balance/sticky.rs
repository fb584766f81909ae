//! Client stickiness with a timer (Cisco's "Server load balancing method and system",
//! US 7,099,915: "new connections from a client are sent to the same real server that
//! handled the previous client connection, provided that the amount of time between the
//! end of a previous connection from the client and the start of a new connection is
//! within the timer duration").
//!
//! One table per sticky virtual, **shared by every worker**. A client's connections do
//! not stay on one worker: the owner of a flow is a hash of its whole 4-tuple
//! (`lookup.rs`), so each new source port may land on another worker, and per-worker
//! tables would send one client to up to one real per worker. The table is therefore a
//! fixed array of `AtomicU64` entries, read and written with single loads and
//! compare-and-swaps: no lock, no allocation after start-up, and no `unsafe`. Two
//! workers choosing for the same new client at the same instant may both record an
//! entry (the freshest wins afterwards); that race costs one request's stickiness at
//! most.
//!
//! An entry is one word: the client's IPv4 address (32 bits), its real plus one (16
//! bits; 0 marks an empty entry) and the second it was last used, modulo 2^16. The
//! table is set-associative ([`WAYS`] entries, one cache line, per set, chosen by a hash
//! of the address); a new client takes an empty or expired entry of its set, else the
//! least recently used one, which is counted as an eviction. Entries are only made for
//! clients that completed a handshake and sent a request (SYN cookies guard the
//! handshake), so a spoofed flood cannot fill the table. An expired entry stays until
//! its set needs room, so that a client coming back late is told apart from a new one
//! (`sticky_expired`); but every worker sweeps a few sets per timer poll
//! ([`StickyTable::sweep`]) and empties the entries unused for [`STALE_S`] seconds, so
//! that no entry outlives the 16-bit clock's wrap (18 hours; the longest timer is 4
//! hours, shorter than [`STALE_S`]).

use super::RealId;
use std::fmt;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Entries per set: 8 words, one 64-byte cache line.
pub const WAYS: usize = 8;

/// Seconds after which the sweep empties an unused entry: half the clock's wrap, longer
/// than any timer (`virtual.sticky` is at most 4 hours).
pub const STALE_S: u16 = 1 << 15;

/// Sets each worker sweeps per timer poll (about every millisecond): a table of 65,536
/// entries is swept whole in about 8,192 polls, i.e. within seconds.
pub const SWEEP_SETS: usize = 1;

/// The shared table of one sticky virtual.
pub struct StickyTable {
    sets: Box<[[AtomicU64; WAYS]]>,
}

/// A sticky virtual's timer and table.
#[derive(Clone)]
pub struct Sticky {
    /// How long after its last request a client keeps its real, in seconds (1..=14,400).
    pub timeout_s: u16,
    /// The entries, shared by every worker (and kept across reconfigurations that keep
    /// the virtual sticky with the same table size).
    pub table: Arc<StickyTable>,
}

impl Sticky {
    /// A timer of `timeout_s` seconds with a new, empty table of at least `entries`
    /// entries (rounded up to a power of two number of sets).
    pub fn new(timeout_s: u16, entries: usize) -> Self {
        Sticky {
            timeout_s,
            table: Arc::new(StickyTable::new(entries)),
        }
    }
}

impl PartialEq for Sticky {
    /// The same timer and table size: what a configuration can say about it.
    fn eq(&self, other: &Self) -> bool {
        self.timeout_s == other.timeout_s && self.table.capacity() == other.table.capacity()
    }
}

impl Eq for Sticky {}

impl fmt::Debug for Sticky {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sticky")
            .field("timeout_s", &self.timeout_s)
            .field("entries", &self.table.capacity())
            .finish()
    }
}

/// The client a request comes from, for a sticky virtual's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StickyClient {
    /// The client's address.
    pub addr: Ipv4Addr,
    /// Now, in whole seconds of the workers' common clock (modulo 2^16).
    pub now_s: u16,
    /// The request may wait for its turn (a pipelined request sent ahead only onto an
    /// idle connection): a client whose real has no idle connection now waits rather
    /// than being rebalanced.
    pub may_wait: bool,
    /// Set by the decision: what the table did for the request.
    pub outcome: Option<StickyOutcome>,
}

impl StickyClient {
    /// A request of the client at `addr` at `now_s`, no outcome yet.
    pub fn new(addr: Ipv4Addr, now_s: u16, may_wait: bool) -> Self {
        StickyClient {
            addr,
            now_s,
            may_wait,
            outcome: None,
        }
    }
}

/// What the table did for a request, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StickyOutcome {
    /// The client's entry sent it to its real.
    Hit,
    /// A client without an entry was balanced and recorded; `evicted`: a live entry
    /// of another client made room for it.
    New {
        /// Whether a live entry was evicted.
        evicted: bool,
    },
    /// The client's entry had expired: it was balanced afresh.
    Expired {
        /// Whether a live entry was evicted.
        evicted: bool,
    },
    /// The client's real can no longer take it (out of service, weight 0, failing): the
    /// entry was dropped and the client balanced afresh.
    Dropped {
        /// Whether a live entry was evicted.
        evicted: bool,
    },
}

/// A look-up's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// A live entry: the real, and the word as read (to refresh or drop it).
    Live(RealId, usize, u64),
    /// Only an expired entry.
    Expired,
    /// No entry.
    Missing,
}

fn pack(addr: Ipv4Addr, real: RealId, now_s: u16) -> u64 {
    (u64::from(u32::from(addr)) << 32) | (u64::from(real) + 1) << 16 | u64::from(now_s)
}

fn addr_of(word: u64) -> u32 {
    (word >> 32) as u32
}

fn real_of(word: u64) -> Option<RealId> {
    ((word >> 16) as u16).checked_sub(1)
}

/// Seconds since the word was last used.
fn age(word: u64, now_s: u16) -> u16 {
    now_s.wrapping_sub(word as u16)
}

/// Whether an entry is in use and not older than `timeout_s`.
fn live(word: u64, now_s: u16, timeout_s: u16) -> bool {
    real_of(word).is_some() && age(word, now_s) < timeout_s
}

impl StickyTable {
    /// How many entries a table asked for `entries` has: whole sets, a power of two
    /// of them, at least one.
    pub fn capacity_for(entries: usize) -> usize {
        entries.div_ceil(WAYS).max(1).next_power_of_two() * WAYS
    }

    /// An empty table of [`StickyTable::capacity_for`] `entries` entries.
    pub fn new(entries: usize) -> Self {
        let sets = Self::capacity_for(entries) / WAYS;
        StickyTable {
            sets: (0..sets)
                .map(|_| std::array::from_fn(|_| AtomicU64::new(0)))
                .collect(),
        }
    }

    /// How many entries it has.
    pub fn capacity(&self) -> usize {
        self.sets.len() * WAYS
    }

    fn set(&self, addr: Ipv4Addr) -> &[AtomicU64; WAYS] {
        // Fibonacci hashing: the top bits of the product spread neighbouring addresses.
        let h = u64::from(u32::from(addr)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let bits = self.sets.len().trailing_zeros();
        let i = if bits == 0 {
            0
        } else {
            (h >> (64 - bits)) as usize
        };
        &self.sets[i]
    }

    /// The entry of `addr`: the freshest live one, or whether only an expired one
    /// remains.
    pub fn find(&self, addr: Ipv4Addr, now_s: u16, timeout_s: u16) -> Found {
        let mut found = Found::Missing;
        let mut best_age = u16::MAX;
        for (way, slot) in self.set(addr).iter().enumerate() {
            let word = slot.load(Ordering::Relaxed);
            if word == 0 || addr_of(word) != u32::from(addr) {
                continue;
            }
            match real_of(word) {
                Some(real) if live(word, now_s, timeout_s) => {
                    if age(word, now_s) <= best_age {
                        best_age = age(word, now_s);
                        found = Found::Live(real, way, word);
                    }
                }
                _ => {
                    if found == Found::Missing {
                        found = Found::Expired;
                    }
                }
            }
        }
        found
    }

    /// Marks the entry read as `word` at `way` used now (if no other worker changed it
    /// meanwhile).
    pub fn refresh(&self, addr: Ipv4Addr, way: usize, word: u64, now_s: u16) {
        let fresh = (word & !0xffff) | u64::from(now_s);
        let _ =
            self.set(addr)[way].compare_exchange(word, fresh, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// Empties the entry read as `word` at `way` (if no other worker changed it).
    pub fn drop_entry(&self, addr: Ipv4Addr, way: usize, word: u64) {
        let _ = self.set(addr)[way].compare_exchange(word, 0, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// Records that `addr` goes to `real` from now on: over its own entries (the
    /// freshest kept, any other emptied), else an empty or expired entry, else the least
    /// recently used one. Returns whether a live entry of another client was evicted.
    pub fn record(&self, addr: Ipv4Addr, real: RealId, now_s: u16, timeout_s: u16) -> bool {
        let set = self.set(addr);
        let word = pack(addr, real, now_s);
        // Another worker may change the set between the scan and the swap: a few tries,
        // then give up (the client is balanced afresh next time, nothing worse).
        for _ in 0..WAYS {
            let mut own = None;
            let mut free = None;
            let mut oldest: Option<(usize, u64, u16)> = None;
            for (way, slot) in set.iter().enumerate() {
                let w = slot.load(Ordering::Relaxed);
                if w != 0 && addr_of(w) == u32::from(addr) {
                    if own.is_some() {
                        // A duplicate from a race: emptied, the first one is reused.
                        let _ = slot.compare_exchange(w, 0, Ordering::Relaxed, Ordering::Relaxed);
                    } else {
                        own = Some((way, w));
                    }
                } else if !live(w, now_s, timeout_s) {
                    free.get_or_insert((way, w));
                } else if oldest.is_none_or(|(_, _, a)| age(w, now_s) > a) {
                    oldest = Some((way, w, age(w, now_s)));
                }
            }
            let (way, old, evicts) = match (own, free, oldest) {
                (Some((way, w)), _, _) | (None, Some((way, w)), _) => (way, w, false),
                (None, None, Some((way, w, _))) => (way, w, true),
                (None, None, None) => return false, // WAYS == 0: cannot happen.
            };
            if set[way]
                .compare_exchange(old, word, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            {
                return evicts;
            }
        }
        false
    }

    /// Empties the entries of `count` sets from set `cursor` on that were unused for
    /// [`STALE_S`] seconds or more; returns the cursor for the next call.
    pub fn sweep(&self, cursor: usize, count: usize, now_s: u16) -> usize {
        let mut at = cursor % self.sets.len();
        for _ in 0..count.min(self.sets.len()) {
            for slot in &self.sets[at] {
                let w = slot.load(Ordering::Relaxed);
                if w != 0 && !live(w, now_s, STALE_S) {
                    let _ = slot.compare_exchange(w, 0, Ordering::Relaxed, Ordering::Relaxed);
                }
            }
            at = (at + 1) % self.sets.len();
        }
        at
    }

    /// How many entries are live now (for tests and reports; reads every entry).
    pub fn live_entries(&self, now_s: u16, timeout_s: u16) -> usize {
        self.sets
            .iter()
            .flatten()
            .filter(|s| live(s.load(Ordering::Relaxed), now_s, timeout_s))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(i: u32) -> Ipv4Addr {
        Ipv4Addr::from(0xC612_0000 + i)
    }

    #[test]
    fn a_client_keeps_its_real_until_the_timer_ends() {
        let t = StickyTable::new(64);
        assert_eq!(t.find(ip(1), 100, 10), Found::Missing);
        assert!(!t.record(ip(1), 7, 100, 10));
        let Found::Live(7, way, word) = t.find(ip(1), 109, 10) else {
            panic!("{:?}", t.find(ip(1), 109, 10))
        };
        // Used at 109: the timer starts again from there.
        t.refresh(ip(1), way, word, 109);
        assert!(matches!(t.find(ip(1), 118, 10), Found::Live(7, _, _)));
        assert_eq!(t.find(ip(1), 119, 10), Found::Expired);
        // Another client is unaffected.
        assert_eq!(t.find(ip(2), 110, 10), Found::Missing);
        // A new choice replaces the client's own entry.
        assert!(!t.record(ip(1), 3, 120, 10));
        assert!(matches!(t.find(ip(1), 120, 10), Found::Live(3, _, _)));
        assert_eq!(t.live_entries(120, 10), 1);
        // Real 0 is a real (0 is not "empty").
        t.record(ip(9), 0, 120, 10);
        assert!(matches!(t.find(ip(9), 121, 10), Found::Live(0, _, _)));
    }

    #[test]
    fn the_clock_wraps() {
        let t = StickyTable::new(8);
        t.record(ip(1), 2, u16::MAX - 1, 5);
        assert!(matches!(t.find(ip(1), 2, 5), Found::Live(2, _, _)));
        assert_eq!(t.find(ip(1), 3, 5), Found::Expired);
    }

    #[test]
    fn dropping_and_sweeping() {
        let t = StickyTable::new(64);
        t.record(ip(1), 4, 10, 30);
        let Found::Live(4, way, word) = t.find(ip(1), 11, 30) else {
            panic!()
        };
        // A stale word (the entry changed since it was read) drops nothing.
        t.drop_entry(ip(1), way, word ^ 1);
        assert!(matches!(t.find(ip(1), 11, 30), Found::Live(4, _, _)));
        t.drop_entry(ip(1), way, word);
        assert_eq!(t.find(ip(1), 11, 30), Found::Missing);
        // Sweeping the whole table empties the entries unused for STALE_S only: an
        // expired one stays, to be found as expired.
        for i in 0..20 {
            t.record(ip(i), 1, 10 + i as u16, 30);
        }
        let sets = t.capacity() / WAYS;
        let cursor = t.sweep(0, sets, 45);
        assert_eq!(cursor, 0);
        assert_eq!(t.live_entries(45, 30), 14);
        assert_eq!(t.live_entries(45, u16::MAX), 20, "expired entries are kept");
        assert_eq!(t.find(ip(0), 45, 30), Found::Expired);
        let stale = 10 + STALE_S + 5;
        t.sweep(0, sets, stale);
        // Used at 10..=15 are STALE_S old at 10 + STALE_S + 5; 16..=19 are not.
        assert_eq!(t.live_entries(stale, u16::MAX), 14);
        assert_eq!(t.find(ip(0), stale, 30), Found::Missing);
        // Sweeping in steps reaches every set.
        let mut c = 0;
        for _ in 0..sets {
            c = t.sweep(c, 1, stale + 100);
        }
        assert_eq!(t.live_entries(stale + 100, u16::MAX), 0);
    }

    #[test]
    fn a_full_set_evicts_its_least_recently_used_entry() {
        // One set: every client shares it.
        let t = StickyTable::new(WAYS);
        assert_eq!(t.capacity(), WAYS);
        for i in 0..WAYS as u32 {
            assert!(!t.record(ip(i), i as u16, 100 + i as u16, 60));
        }
        // Client 0 used again: client 1 is now the least recently used.
        let Found::Live(0, way, word) = t.find(ip(0), 110, 60) else {
            panic!()
        };
        t.refresh(ip(0), way, word, 110);
        assert!(t.record(ip(100), 9, 111, 60), "a live entry is evicted");
        assert_eq!(t.find(ip(1), 111, 60), Found::Missing);
        assert!(matches!(t.find(ip(0), 111, 60), Found::Live(0, _, _)));
        assert!(matches!(t.find(ip(100), 111, 60), Found::Live(9, _, _)));
        assert_eq!(t.live_entries(111, 60), WAYS);
        // An expired entry is taken before a live one, and it is no eviction.
        assert!(
            !t.record(ip(200), 1, 165, 60),
            "entries used at 100..=104 expired"
        );
    }

    #[test]
    fn the_table_is_shared_by_threads() {
        let table = Arc::new(StickyTable::new(1024));
        let workers: Vec<_> = (0..4u16)
            .map(|w| {
                let t = Arc::clone(&table);
                std::thread::spawn(move || {
                    for i in 0..200 {
                        match t.find(ip(i), 50, 60) {
                            Found::Live(..) => {}
                            _ => {
                                t.record(ip(i), w, 50, 60);
                            }
                        }
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().unwrap();
        }
        // Every client has a real afterwards, whoever recorded it.
        for i in 0..200 {
            assert!(
                matches!(table.find(ip(i), 50, 60), Found::Live(..)),
                "client {i} has an entry"
            );
        }
        assert!(table.live_entries(50, 60) >= 200);
        // Duplicates from races collapse when the client is recorded again.
        for i in 0..200 {
            table.record(ip(i), 1, 51, 60);
        }
        assert_eq!(table.live_entries(51, 60), 200);
    }

    #[test]
    fn equality_is_timer_and_size() {
        let a = Sticky::new(120, 1000);
        assert_eq!(a.table.capacity(), 1024);
        assert_eq!(a, Sticky::new(120, 1024));
        assert_ne!(a, Sticky::new(60, 1024));
        assert_ne!(a, Sticky::new(120, 4096));
        assert_eq!(StickyTable::new(0).capacity(), WAYS);
        assert_eq!(StickyTable::capacity_for(65536), 65536);
        assert_eq!(StickyTable::capacity_for(65537), 131072);
    }
}
