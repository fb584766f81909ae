//! Frame helpers of the pipeline target: choosing peers, queuing content, reading
//! and mutating the TCP/IPv4 frames the harness sends.

use super::{Content, Mutation, Peer};
use crate::world::{REQUESTS, RESPONSES};
use splicer_wire::{ethernet, ipv4, tcp};
use std::net::SocketAddrV4;

/// The peer an action means: `n` = 0 is the one Splicer sent to last, 1 the one
/// before, and so on (so that "answer what just arrived" is a short input).
pub(crate) fn pick(peers: &[Peer], n: u8) -> Option<usize> {
    if peers.is_empty() {
        return None;
    }
    let mut order: Vec<usize> = (0..peers.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse((peers[i].last_rx, i)));
    Some(order[usize::from(n) % peers.len()])
}

pub(crate) fn write(out: &mut Vec<u8>, content: &Content) {
    if out.len() > 64 * 1024 {
        return;
    }
    match content {
        Content::Request(n) => out.extend_from_slice(REQUESTS[usize::from(*n) % REQUESTS.len()]),
        Content::Response(n) => out.extend_from_slice(RESPONSES[usize::from(*n) % RESPONSES.len()]),
        Content::Body(n) => out.extend((0..*n % 4096).map(|i| b'a' + (i % 26) as u8)),
        Content::Raw(b) => out.extend_from_slice(b),
    }
}

/// Whether `SPLICER_FUZZ_TRACE` is set: print the segments Splicer sends (to read a
/// crash input: `SPLICER_FUZZ_TRACE=1 cargo fuzz run pipeline <input>`).
pub(crate) fn trace() -> bool {
    static TRACE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("SPLICER_FUZZ_TRACE").is_some())
}

/// `a` after `b` in sequence space.
pub(crate) fn seq_gt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

/// The source, destination and sequence number after a valid TCP segment in `f`, if
/// it is one.
pub(crate) fn tcp_end(f: &[u8]) -> Option<(SocketAddrV4, SocketAddrV4, u32)> {
    let eth = ethernet::Frame::new_checked(f).ok()?;
    let ip = ipv4::Packet::new_checked(eth.payload()).ok()?;
    if ip.protocol() != ipv4::protocol::TCP || !ip.verify_checksum() {
        return None;
    }
    let t = tcp::Packet::new_checked(ip.payload()).ok()?;
    if !t.verify_checksum(ip.src_addr(), ip.dst_addr()) {
        return None;
    }
    Some((
        SocketAddrV4::new(ip.src_addr(), t.src_port()),
        SocketAddrV4::new(ip.dst_addr(), t.dst_port()),
        t.seq_number().0.wrapping_add(t.segment_len() as u32),
    ))
}

/// Applies a mutation to a TCP/IPv4 frame, fixing the checksums unless the mutation is
/// a corruption.
pub(crate) fn mutate(f: &mut Vec<u8>, m: Mutation) {
    if m.kind < 200 || f.len() < 14 + 20 + 20 {
        return;
    }
    let refill = |f: &mut Vec<u8>| {
        let Ok(eth) = ethernet::Frame::new_checked(&mut f[..]) else {
            return;
        };
        let Ok(mut ip) = ipv4::Packet::new_checked(eth.into_payload_mut()) else {
            return;
        };
        ip.fill_checksum();
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        if let Ok(mut t) = tcp::Packet::new_checked(ip.payload_mut()) {
            t.fill_checksum(src, dst);
        }
    };
    let l4 = 14 + 20;
    match m.kind % 10 {
        0 => f[l4 + 13] ^= m.a as u8,
        1 => {
            let seq = u32::from_be_bytes([f[l4 + 4], f[l4 + 5], f[l4 + 6], f[l4 + 7]]);
            let d = (m.a as i32 >> (m.b % 32)) as u32;
            f[l4 + 4..l4 + 8].copy_from_slice(&seq.wrapping_add(d).to_be_bytes());
        }
        2 => {
            let ack = u32::from_be_bytes([f[l4 + 8], f[l4 + 9], f[l4 + 10], f[l4 + 11]]);
            let d = (m.a as i32 >> (m.b % 32)) as u32;
            f[l4 + 8..l4 + 12].copy_from_slice(&ack.wrapping_add(d).to_be_bytes());
        }
        3 => f[l4 + 14..l4 + 16].copy_from_slice(&m.b.to_be_bytes()),
        4 => {
            let keep = usize::from(m.b) % f.len();
            f.truncate(keep.max(14));
            return;
        }
        5 => {
            let at = m.a as usize % f.len();
            f[at] ^= (m.b as u8) | 1;
            return;
        }
        6 => {
            f[l4 + 16] ^= 0x40;
            return;
        }
        7 => {
            // Options grown into the payload: the data offset changes.
            f[l4 + 12] = (((m.a % 16) as u8) << 4) | (f[l4 + 12] & 0x0f);
        }
        8 => {
            // IPv4 total length or header length changed.
            let tl = 20 + (m.b as usize % (f.len() - 14 + 8));
            f[16..18].copy_from_slice(&(tl as u16).to_be_bytes());
        }
        _ => {
            // Bytes appended past the IP packet (Ethernet padding).
            f.extend(std::iter::repeat_n(m.a as u8, usize::from(m.b % 64)));
            return;
        }
    }
    refill(f);
}
