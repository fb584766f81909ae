//! The flow table's index, connection addresses → slot number: a bucketised cuckoo hash
//! table of our own, built so that a burst can prefetch it (issue 12 item 2).
//!
//! Why not hashbrown, which the index was before: a look-up there hashes the key, then
//! reads a control group and then the entry, and hashbrown 0.15 no longer exposes where
//! those are (its raw table API is gone), so nothing can fetch them ahead of the look-up;
//! at 100k flows that look-up was a third of the worker's time, nearly all of it waiting
//! for memory (perf/results/2026-12-07-fastpath.md). Here a key's hash names exactly two
//! buckets, each one cache line (`Bucket`: four entries, keys and slot numbers in
//! separate arrays), so [`Index::buckets_of`] gives the two lines a burst prefetches,
//! and the look-up later reads nothing else. Two choices of four ways each hold a table at 87.5 % full (the
//! most this one is sized for) with short displacement walks.
//!
//! A key whose walk fails (ever more likely near full, or under keys crafted to collide,
//! which the secret hash key makes hard) goes to a small overflow map instead, so an
//! insertion never fails and a look-up stays exact; the map is checked only while it
//! holds anything.

use super::key::ClientKey;
use hashbrown::HashMap;

/// Entries per bucket: 4 × 16 bytes, one cache line.
const WAYS: usize = 4;
/// A free entry's slot number.
const EMPTY: u32 = u32::MAX;
/// Displacements an insertion tries before the overflow map takes its key.
const MAX_KICKS: usize = 64;

/// One cache line of entries. A key is packed into `addrs` (peer address in the high
/// half, local address in the low) and `ports` (peer port high, local port low).
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Bucket {
    addrs: [u64; WAYS],
    ports: [u32; WAYS],
    slots: [u32; WAYS],
}

const FREE_BUCKET: Bucket = Bucket {
    addrs: [0; WAYS],
    ports: [0; WAYS],
    slots: [EMPTY; WAYS],
};

impl Bucket {
    /// The way holding the key. The ways are compared one after the other, stopping at
    /// the first address that differs: fewer instructions than comparing all four at once
    /// without branches (measured by the gate: about 80 more per frame that way), and
    /// the bucket is one cache line either way.
    #[inline]
    fn find(&self, addrs: u64, ports: u32) -> Option<usize> {
        (0..WAYS)
            .find(|&w| self.addrs[w] == addrs && self.ports[w] == ports && self.slots[w] != EMPTY)
    }

    #[inline]
    fn free_way(&self) -> Option<usize> {
        self.slots.iter().position(|&s| s == EMPTY)
    }
}

#[inline]
fn pack(key: &ClientKey) -> (u64, u32) {
    (
        u64::from(u32::from(key.client)) << 32 | u64::from(u32::from(key.vip)),
        u32::from(key.client_port) << 16 | u32::from(key.vip_port),
    )
}

fn unpack(addrs: u64, ports: u32) -> ClientKey {
    ClientKey {
        client: ((addrs >> 32) as u32).into(),
        client_port: (ports >> 16) as u16,
        vip: (addrs as u32).into(),
        vip_port: ports as u16,
    }
}

/// The high and low halves of the 128-bit product, folded: the mixing step of
/// foldhash and wyhash.
#[inline]
fn fold(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// Where a key may live: its hash, whose two halves pick its two buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyHash(u64);

/// The index of one worker's flow table.
pub(crate) struct Index {
    buckets: Vec<Bucket>,
    mask: usize,
    seed: [u64; 3],
    len: usize,
    overflow: HashMap<ClientKey, u32>,
    /// The displacement walk's choice of victim, varied so that walks do not cycle.
    kick: usize,
}

impl Index {
    /// An index for `capacity` keys, its hash keyed by `seed` (keep it secret: it is
    /// what keeps crafted keys from piling into one bucket).
    pub(crate) fn new(capacity: usize, seed: u64) -> Index {
        // At most 87.5 % full at `capacity`; at least two buckets, so that a key's two
        // buckets differ.
        let buckets = (capacity * 2).div_ceil(7).next_power_of_two().max(2);
        Index {
            buckets: vec![FREE_BUCKET; buckets],
            mask: buckets - 1,
            seed: [
                seed ^ 0x243f_6a88_85a3_08d3,
                seed.rotate_left(21) ^ 0x1319_8a2e_0370_7344,
                seed.rotate_left(42) ^ 0xa409_3822_299f_31d0,
            ],
            len: 0,
            overflow: HashMap::new(),
            kick: 0,
        }
    }

    /// Bytes of index per key the table can hold at the most (the buckets' spare room
    /// not counted).
    pub(crate) const ENTRY_BYTES: usize = std::mem::size_of::<Bucket>() / WAYS;

    #[inline]
    pub(crate) fn hash(&self, key: &ClientKey) -> KeyHash {
        let (a, p) = pack(key);
        KeyHash(fold(
            fold(a ^ self.seed[0], u64::from(p) ^ self.seed[1]),
            self.seed[2] | 1,
        ))
    }

    /// The key's two buckets; they always differ.
    #[inline]
    fn pair(&self, h: KeyHash) -> (usize, usize) {
        let first = h.0 as usize & self.mask;
        let mut second = (h.0 >> 32) as usize & self.mask;
        if second == first {
            second ^= 1;
        }
        (first, second)
    }

    /// The addresses of the two cache lines a look-up of `h` reads, to prefetch.
    #[inline]
    pub(crate) fn buckets_of(&self, h: KeyHash) -> [*const u8; 2] {
        let (a, b) = self.pair(h);
        [
            std::ptr::from_ref(&self.buckets[a]).cast(),
            std::ptr::from_ref(&self.buckets[b]).cast(),
        ]
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub(crate) fn get(&self, key: &ClientKey) -> Option<u32> {
        self.get_hashed(key, self.hash(key))
    }

    #[inline]
    pub(crate) fn get_hashed(&self, key: &ClientKey, h: KeyHash) -> Option<u32> {
        let (a, p) = pack(key);
        let (first, second) = self.pair(h);
        for b in [first, second] {
            let bucket = &self.buckets[b];
            if let Some(w) = bucket.find(a, p) {
                return Some(bucket.slots[w]);
            }
        }
        if self.overflow.is_empty() {
            None
        } else {
            self.overflow.get(key).copied()
        }
    }

    /// Maps `key` to `slot`, replacing what it mapped to before.
    pub(crate) fn insert(&mut self, key: ClientKey, slot: u32) {
        debug_assert_ne!(slot, EMPTY);
        let (a, p) = pack(&key);
        let (first, second) = self.pair(self.hash(&key));
        for b in [first, second] {
            if let Some(w) = self.buckets[b].find(a, p) {
                self.buckets[b].slots[w] = slot;
                return;
            }
        }
        if let Some(old) = self.overflow.get_mut(&key) {
            *old = slot;
            return;
        }
        self.len += 1;
        for b in [first, second] {
            if let Some(w) = self.buckets[b].free_way() {
                return self.put(b, w, (a, p, slot));
            }
        }
        // Both full: move residents to their other bucket until one has room.
        let mut carried = (a, p, slot);
        let mut b = first;
        for _ in 0..MAX_KICKS {
            self.kick = self.kick.wrapping_add(1);
            let w = self.kick % WAYS;
            let bucket = &mut self.buckets[b];
            let victim = (bucket.addrs[w], bucket.ports[w], bucket.slots[w]);
            self.put(b, w, carried);
            carried = victim;
            let (x, y) = self.pair(self.hash(&unpack(victim.0, victim.1)));
            b = if b == x { y } else { x };
            if let Some(w) = self.buckets[b].free_way() {
                return self.put(b, w, carried);
            }
        }
        self.overflow
            .insert(unpack(carried.0, carried.1), carried.2);
    }

    fn put(&mut self, b: usize, w: usize, (a, p, slot): (u64, u32, u32)) {
        let bucket = &mut self.buckets[b];
        bucket.addrs[w] = a;
        bucket.ports[w] = p;
        bucket.slots[w] = slot;
    }

    /// Forgets `key`; what it mapped to, if anything.
    pub(crate) fn remove(&mut self, key: &ClientKey) -> Option<u32> {
        let (a, p) = pack(key);
        let (first, second) = self.pair(self.hash(key));
        for b in [first, second] {
            if let Some(w) = self.buckets[b].find(a, p) {
                let slot = self.buckets[b].slots[w];
                self.put(b, w, (0, 0, EMPTY));
                self.len -= 1;
                return Some(slot);
            }
        }
        let slot = self.overflow.remove(key)?;
        self.len -= 1;
        Some(slot)
    }

    /// Keys in the overflow map (tests).
    #[cfg(test)]
    fn overflowed(&self) -> usize {
        self.overflow.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn key(i: u32) -> ClientKey {
        ClientKey {
            client: Ipv4Addr::from(0xc612_8000 + (i >> 12)),
            client_port: (i & 0xfff) as u16 + 1024,
            vip: Ipv4Addr::new(198, 18, 0, 100),
            vip_port: 80,
        }
    }

    /// Against a std map, through inserts, replacements and removals, full to the
    /// capacity and beyond it: every key maps to what it should and nothing else does.
    #[test]
    fn agrees_with_a_map_full_and_overfull() {
        for (capacity, keys) in [(1000usize, 1000u32), (64, 400), (2, 50)] {
            let mut index = Index::new(capacity, 99);
            let mut model = std::collections::HashMap::new();
            for i in 0..keys {
                index.insert(key(i), i);
                model.insert(key(i), i);
            }
            for i in (0..keys).step_by(3) {
                index.insert(key(i), i + 7);
                model.insert(key(i), i + 7);
            }
            for i in (0..keys).step_by(2) {
                assert_eq!(index.remove(&key(i)), model.remove(&key(i)));
                assert_eq!(index.remove(&key(i)), None);
            }
            assert_eq!(index.len(), model.len());
            for i in 0..keys + 100 {
                assert_eq!(index.get(&key(i)), model.get(&key(i)).copied(), "key {i}");
            }
            if capacity < keys as usize {
                // More keys than the buckets hold: the overflow map took the rest.
                assert!(index.overflowed() > 0);
            }
        }
    }

    /// An all-zero key is a key like any other, not a free entry.
    #[test]
    fn the_zero_key_is_found_only_once_inserted() {
        let mut index = Index::new(8, 1);
        let zero = ClientKey {
            client: Ipv4Addr::UNSPECIFIED,
            client_port: 0,
            vip: Ipv4Addr::UNSPECIFIED,
            vip_port: 0,
        };
        assert_eq!(index.get(&zero), None);
        index.insert(zero, 3);
        assert_eq!(index.get(&zero), Some(3));
        assert_eq!(index.remove(&zero), Some(3));
        assert_eq!(index.get(&zero), None);
    }

    #[test]
    fn a_bucket_is_one_cache_line() {
        assert_eq!(std::mem::size_of::<Bucket>(), 64);
        assert_eq!(std::mem::align_of::<Bucket>(), 64);
        assert_eq!(Index::ENTRY_BYTES, 16);
    }
}
