//! Which worker owns a flow.
//!
//! NICs without programmable RSS (net_tap, net_ring, virtio) may put the two directions of
//! a flow, or even two packets of one direction, on different queues. Every flow therefore
//! has exactly one owner, computed from its addresses alone, and a packet that lands on
//! another worker is handed to the owner through a ring. The hash is symmetric, so both
//! directions of a flow have the same owner.

use std::net::Ipv4Addr;

/// The addressing that identifies a flow, direction-independent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowKey {
    /// IPv4 protocol number.
    pub protocol: u8,
    /// One endpoint (address, port or ICMP identifier).
    pub a: (Ipv4Addr, u16),
    /// The other endpoint.
    pub b: (Ipv4Addr, u16),
}

impl FlowKey {
    /// A flow key; the order of the endpoints does not matter.
    pub fn new(protocol: u8, a: (Ipv4Addr, u16), b: (Ipv4Addr, u16)) -> Self {
        FlowKey { protocol, a, b }
    }

    /// A 32-bit hash that is the same for `(a, b)` and `(b, a)`.
    #[inline]
    pub fn symmetric_hash(&self) -> u32 {
        let ea = (u64::from(u32::from(self.a.0)) << 16) | u64::from(self.a.1);
        let eb = (u64::from(u32::from(self.b.0)) << 16) | u64::from(self.b.1);
        let (lo, hi) = if ea <= eb { (ea, eb) } else { (eb, ea) };
        // Two rounds of a 64-bit multiply-xorshift mix: cheap, and good enough to spread
        // flows evenly over a handful of workers.
        let mut h = lo.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ hi ^ u64::from(self.protocol);
        h ^= h >> 29;
        h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        h ^= h >> 32;
        h as u32
    }

    /// The owner among `workers` workers.
    #[inline]
    pub fn owner(&self, workers: usize) -> usize {
        // Multiply-shift maps the hash onto 0..workers without a division.
        ((u64::from(self.symmetric_hash()) * workers as u64) >> 32) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u32) -> FlowKey {
        FlowKey::new(
            6,
            (Ipv4Addr::from(0xC612_0000 + i), 40000 + (i as u16)),
            (Ipv4Addr::new(198, 18, 0, 100), 80),
        )
    }

    #[test]
    fn both_directions_have_one_owner() {
        for i in 0..1000 {
            let k = key(i);
            let rev = FlowKey::new(k.protocol, k.b, k.a);
            assert_eq!(k.symmetric_hash(), rev.symmetric_hash());
            assert_eq!(k.owner(4), rev.owner(4));
        }
    }

    #[test]
    fn flows_spread_over_workers() {
        let mut per = [0u32; 4];
        for i in 0..4000 {
            per[key(i).owner(4)] += 1;
        }
        for n in per {
            assert!((800..1200).contains(&n), "uneven spread {per:?}");
        }
        assert!((0..100).all(|i| key(i).owner(1) == 0));
    }
}
