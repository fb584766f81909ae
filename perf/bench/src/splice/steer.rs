//! Which worker's queue the generator puts a frame on, with several workers: what a
//! NIC's receive-side scaling (RSS) does on the real appliance.
//!
//! Splicer gives every flow one owner by its own symmetric hash
//! (`splicer_pipeline::lookup::FlowKey::owner`) and chooses each server connection's
//! local port so that both legs of a splice have the same owner. A NIC hashes each
//! direction of each connection with its own (Toeplitz) key, which knows nothing of
//! that: a frame lands on its owner's queue only by chance, 1 in W with W workers, and
//! the others go through the owner's hand-off ring. [`Steer`] plays that: each direction
//! of each connection (its 4-tuple as sent, so not symmetric) goes to one queue, always
//! the same (a NIC keeps a direction's order), the owner's for a fraction `1 - f` of the
//! directions and another worker's for `f`. `f = 0` is the best case (a NIC steering by
//! Splicer's own hash: no hand-off), `f = 1 - 1/W` what an unrelated hash gives.
//! Frames that belong to no flow (ARP) have no queue here: the generator puts an ARP
//! reply on the queue of the worker that asked, its own requests on worker 0's. (A NIC
//! puts every ARP frame on one queue, and the other workers learn the neighbour from
//! the mesh; on this shared machine a worker 1 preempted for milliseconds then finds
//! more than `neighbour_pending` packets waiting for a real it asked for, and drops
//! them: see perf/README.md, "Several workers".)

use splicer_pipeline::lookup::FlowKey;
use std::net::Ipv4Addr;

/// The queue choice of one run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Steer {
    workers: usize,
    /// Fraction of directions sent to a worker that does not own them, as a threshold
    /// on a 32-bit hash.
    threshold: u64,
}

impl Steer {
    /// `workers` queues, a fraction `handoff` (0..=1) of the directions of connections
    /// on a queue whose worker does not own them.
    pub fn new(workers: usize, handoff: f64) -> Steer {
        let f = if workers > 1 {
            handoff.clamp(0.0, 1.0)
        } else {
            0.0
        };
        Steer {
            workers: workers.max(1),
            threshold: (f * (1u64 << 32) as f64) as u64,
        }
    }

    /// Number of queues.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// The queue for `frame` (an Ethernet frame the generator wrote), `None` for a
    /// frame of no flow (ARP).
    #[inline]
    pub fn queue(&self, frame: &[u8]) -> Option<usize> {
        let (key, direction) = flow_of(frame)?;
        if self.workers == 1 {
            return Some(0);
        }
        let owner = key.owner(self.workers);
        Some(if u64::from(direction) < self.threshold {
            // One of the others, spread over them.
            let others = self.workers as u64 - 1;
            let k = 1 + (u64::from(direction.rotate_left(16)) % others) as usize;
            (owner + k) % self.workers
        } else {
            owner
        })
    }
}

/// The flow key of a TCP or UDP frame and a hash of its direction (the 4-tuple as sent,
/// independent of Splicer's symmetric hash).
fn flow_of(f: &[u8]) -> Option<(FlowKey, u32)> {
    if f.get(12..14)? != [0x08, 0x00] {
        return None;
    }
    let ihl = usize::from(f.get(14)? & 0x0f) * 4;
    let protocol = *f.get(23)?;
    if protocol != 6 && protocol != 17 {
        return None;
    }
    let addr = |at: usize| -> Option<Ipv4Addr> {
        let b: [u8; 4] = f.get(at..at + 4)?.try_into().ok()?;
        Some(Ipv4Addr::from(b))
    };
    let (src, dst) = (addr(26)?, addr(30)?);
    let l4 = 14 + ihl;
    let port =
        |at: usize| -> Option<u16> { Some(u16::from_be_bytes([*f.get(at)?, *f.get(at + 1)?])) };
    let (sport, dport) = (port(l4)?, port(l4 + 2)?);
    let key = FlowKey::new(protocol, (src, sport), (dst, dport));
    // A different mix from `FlowKey::symmetric_hash`, and ordered (source first).
    let x = (u64::from(u32::from(src)) << 32 | u64::from(u32::from(dst)))
        ^ (u64::from(sport) << 16 | u64::from(dport)).wrapping_mul(0xD6E8_FEB8_6659_FD93);
    let mut h = x.wrapping_mul(0x9FB2_1C65_1E98_DF25);
    h ^= h >> 31;
    h = h.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    h ^= h >> 32;
    Some((key, h as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A TCP frame from `src` to `dst` (addresses and ports only; the rest zero).
    fn frame(src: ([u8; 4], u16), dst: ([u8; 4], u16)) -> Vec<u8> {
        let mut f = vec![0u8; 54];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x45;
        f[23] = 6;
        f[26..30].copy_from_slice(&src.0);
        f[30..34].copy_from_slice(&dst.0);
        f[34..36].copy_from_slice(&src.1.to_be_bytes());
        f[36..38].copy_from_slice(&dst.1.to_be_bytes());
        f
    }

    fn owner(f: &[u8], w: usize) -> usize {
        flow_of(f).unwrap().0.owner(w)
    }

    #[test]
    fn the_fraction_of_directions_away_from_their_owner_is_the_one_asked() {
        let frames: Vec<Vec<u8>> = (0..20_000u32)
            .flat_map(|i| {
                let c = (
                    [198, 18, 128 + (i >> 8) as u8, i as u8],
                    1024 + (i % 5000) as u16,
                );
                let v = ([198, 18, 0, 100], 80);
                [frame(c, v), frame(v, c)]
            })
            .collect();
        for (workers, f) in [(2, 0.0), (2, 0.5), (2, 1.0), (3, 0.25), (4, 0.75)] {
            let s = Steer::new(workers, f);
            let away = frames
                .iter()
                .filter(|fr| {
                    let q = s.queue(fr).unwrap();
                    assert!(q < workers);
                    q != owner(fr, workers)
                })
                .count();
            let got = away as f64 / frames.len() as f64;
            assert!((got - f).abs() < 0.02, "{workers} workers, {f}: {got}");
        }
        // Each direction always on one queue; the two directions of a connection apart
        // as often as not (the hash is not symmetric).
        let s = Steer::new(2, 0.5);
        let c = ([198, 18, 128, 7], 40_000);
        let v = ([198, 18, 0, 100], 80);
        assert_eq!(s.queue(&frame(c, v)), s.queue(&frame(c, v)));
        assert!(s.queue(&frame(c, v)).is_some());
        let split = (0..2000u16)
            .filter(|&p| {
                let c = ([198, 18, 128, 7], 30_000 + p);
                s.queue(&frame(c, v)) != s.queue(&frame(v, c))
            })
            .count();
        assert!((800..1200).contains(&split), "{split}");
    }

    #[test]
    fn one_worker_queue_0_and_frames_of_no_flow_none() {
        let f = frame(([198, 18, 128, 1], 5000), ([198, 18, 0, 100], 80));
        assert_eq!(Steer::new(1, 1.0).queue(&f), Some(0));
        let mut arp = f.clone();
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(Steer::new(2, 1.0).queue(&arp), None);
        // All on their owners' queues at 0, none at 1.
        assert_eq!(Steer::new(2, 0.0).queue(&f), Some(owner(&f, 2)));
        assert_ne!(Steer::new(2, 1.0).queue(&f), Some(owner(&f, 2)));
    }
}
