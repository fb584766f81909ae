//! A burst of frames at once (issue 12 item 2; the pattern of DPDK's l3fwd and VPP):
//! before any frame of the burst is processed, the memory each will need is requested,
//! so that the cache misses of the burst overlap instead of being taken one frame after
//! the other. Three passes of hints, then the frames one by one exactly as
//! [`Pipeline::receive`] takes them:
//!
//! 1. every frame's first cache line (written by the NIC or by another core);
//! 2. each TCP frame's flow key, read from its headers, hashed, and the two buckets of
//!    the flow table's index that key can live in (`flow::index`);
//! 3. for a key the index holds now, its connection's slot, all of it.
//!
//! The hints change nothing: processing frame *i* may create or remove the connection
//! of frame *j* > *i* (a SYN and the ACK after it in one burst, a RST and a late
//! segment), so each frame's connection is looked up again, in order, when it is
//! processed; a hint that went stale only costs a wasted fetch. The key's hash is
//! computed again then too (two multiplications: cheaper than carrying it through the
//! state machine).

use super::Pipeline;
use crate::flow::{ClientKey, FlowTable, KeyHash};
use crate::packet::{PacketBuf, Sink};
use std::net::Ipv4Addr;

/// Frames hinted ahead of their processing at most: the default burst. Larger bursts are
/// taken in chunks, so that the first frame's lines are not evicted by the last one's
/// before it is processed.
const CHUNK: usize = 32;
/// A cache line, in bytes.
const LINE: usize = 64;

impl<P: PacketBuf> Pipeline<P> {
    /// Frames received from the NIC queue of this worker, in order: the same as calling
    /// [`Pipeline::receive`] for each (`port_of` gives a frame's port), with the memory
    /// they need prefetched first. Empties `pkts`.
    pub fn receive_burst<S: Sink<P>>(
        &mut self,
        pkts: &mut Vec<P>,
        port_of: impl Fn(&P) -> u16,
        now: u64,
        sink: &mut S,
    ) {
        self.burst(pkts, port_of, false, now, sink);
    }

    /// Frames other workers handed over, in order: the same as
    /// [`Pipeline::receive_handed_off`] for each, with their memory prefetched first.
    /// Empties `pkts`.
    pub fn receive_handed_off_burst<S: Sink<P>>(
        &mut self,
        pkts: &mut Vec<P>,
        port_of: impl Fn(&P) -> u16,
        now: u64,
        sink: &mut S,
    ) {
        self.burst(pkts, port_of, true, now, sink);
    }

    /// Both of the above: `handed_off` is a constant at each call, so each inlined copy
    /// keeps only its own branch.
    #[inline(always)]
    fn burst<S: Sink<P>>(
        &mut self,
        pkts: &mut Vec<P>,
        port_of: impl Fn(&P) -> u16,
        handed_off: bool,
        now: u64,
        sink: &mut S,
    ) {
        // One drain for the whole burst: draining chunk by chunk would move the rest
        // of the vector down after each chunk.
        let mut frames = pkts.drain(..);
        loop {
            let rest = frames.as_slice();
            let n = rest.len().min(CHUNK);
            if n == 0 {
                break;
            }
            self.prefetch_burst(&rest[..n]);
            for pkt in frames.by_ref().take(n) {
                let port = port_of(&pkt);
                if handed_off {
                    self.receive_handed_off(port, pkt, now, sink);
                } else {
                    self.receive(port, pkt, now, sink);
                }
            }
        }
    }

    /// The three passes of hints (the module's doc).
    #[inline]
    fn prefetch_burst(&self, pkts: &[P]) {
        for pkt in pkts {
            pkt.prefetch_frame();
        }
        let mut keys = [None::<(ClientKey, KeyHash)>; CHUNK];
        for (pkt, slot) in pkts.iter().zip(keys.iter_mut()) {
            if let Some(key) = tcp_key(pkt.data()) {
                let h = self.flows.key_hash(&key);
                for line in self.flows.index_lines(h) {
                    P::prefetch(line);
                }
                *slot = Some((key, h));
            }
        }
        for (key, h) in keys[..pkts.len()].iter().flatten() {
            if let Some(start) = self.flows.slot_of(key, *h) {
                let skew = start as usize % LINE;
                let first = start.wrapping_sub(skew);
                for line in 0..(skew + FlowTable::SLOT_BYTES).div_ceil(LINE) {
                    P::prefetch(first.wrapping_add(line * LINE));
                }
            }
        }
    }
}

/// The flow table key of an IPv4 TCP frame as its segment would look it up (peer =
/// source, local = destination), read with no check beyond the lengths: only a hint, so
/// whatever the full parse later refuses does not matter here.
#[inline]
fn tcp_key(f: &[u8]) -> Option<ClientKey> {
    // Ethernet (14) + the IPv4 fixed header (20).
    let ip = f.get(..34)?;
    if ip[12..14] != [0x08, 0x00] || ip[23] != 6 || ip[14] >> 4 != 4 {
        return None;
    }
    let l4 = 14 + usize::from(ip[14] & 0x0f) * 4;
    let ports = f.get(l4..l4 + 4)?;
    Some(ClientKey {
        client: Ipv4Addr::new(ip[26], ip[27], ip[28], ip[29]),
        client_port: u16::from_be_bytes([ports[0], ports[1]]),
        vip: Ipv4Addr::new(ip[30], ip[31], ip[32], ip[33]),
        vip_port: u16::from_be_bytes([ports[2], ports[3]]),
    })
}

#[cfg(test)]
mod tests {
    use super::tcp_key;
    use crate::parse::tests::ipv4_frame;
    use std::net::Ipv4Addr;

    #[test]
    fn the_hint_key_is_the_segments_addresses() {
        let (a, b) = (Ipv4Addr::new(198, 18, 0, 2), Ipv4Addr::new(198, 18, 0, 100));
        let mut seg = [0u8; 20];
        seg[..4].copy_from_slice(&[0x9c, 0x40, 0, 80]);
        let f = ipv4_frame(a, b, 6, &seg);
        let k = tcp_key(&f).unwrap();
        assert_eq!(
            (k.client, k.client_port, k.vip, k.vip_port),
            (a, 40000, b, 80)
        );
        assert!(tcp_key(&ipv4_frame(a, b, 17, &seg)).is_none());
        assert!(tcp_key(&f[..36]).is_none());
    }
}
