//! Packet builders for the rewrite tests, drawing their noise from a seeded [`StdRng`].

use rand::rngs::StdRng;
use rand::Rng;
use splicer_wire::{ipv4, tcp};
use std::net::Ipv4Addr;

/// A TCP segment with the given options (padded with zeros to a multiple of 4) and
/// payload, random ports, numbers, flags and window, checksum filled for `src → dst`.
pub(crate) fn tcp_segment(
    rng: &mut StdRng,
    opts: &[u8],
    payload: &[u8],
    src: Ipv4Addr,
    dst: Ipv4Addr,
) -> Vec<u8> {
    let opt_len = opts.len().div_ceil(4) * 4;
    assert!(opt_len <= 40, "{} option bytes", opts.len());
    let mut b = vec![0u8; tcp::HEADER_LEN + opt_len];
    rng.fill(&mut b[..tcp::HEADER_LEN]);
    b[tcp::HEADER_LEN..tcp::HEADER_LEN + opts.len()].copy_from_slice(opts);
    b.extend_from_slice(payload);
    let mut p = tcp::Packet::new_unchecked(&mut b[..]);
    p.set_header_len(tcp::HEADER_LEN + opt_len);
    p.fill_checksum(src, dst);
    b
}

/// A random IPv4/TCP packet as a port delivers it: IPv4 header with random options,
/// TCP header with random option bytes, payload of any length (odd ones included),
/// and sometimes Ethernet padding past the total length. Both checksums are right.
pub(crate) fn ip_tcp_packet(rng: &mut StdRng) -> Vec<u8> {
    let ihl = 4 * (5 + rng.gen_range(0..11));
    let thl = 4 * (5 + rng.gen_range(0..11));
    let payload = rng.gen_range(0..120);
    let pad = if rng.gen_ratio(1, 4) {
        rng.gen_range(0..12)
    } else {
        0
    };
    let total = ihl + thl + payload;
    let mut b = vec![0u8; total + pad];
    rng.fill(&mut b[..]);
    let src = Ipv4Addr::from(rng.gen::<u32>());
    let dst = Ipv4Addr::from(rng.gen::<u32>());
    let mut ip = ipv4::Packet::new_unchecked(&mut b[..]);
    ip.set_version(4);
    ip.set_header_len(ihl);
    ip.set_total_len(total as u16);
    ip.set_more_frags(false);
    ip.set_frag_offset(0);
    ip.set_protocol(ipv4::protocol::TCP);
    ip.set_src_addr(src);
    ip.set_dst_addr(dst);
    ip.fill_checksum();
    let mut t = tcp::Packet::new_unchecked(&mut b[ihl..total]);
    t.set_header_len(thl);
    t.fill_checksum(src, dst);
    b
}

/// The TCP segment of a packet from [`ip_tcp_packet`], with its addresses.
pub(crate) fn split(b: &[u8]) -> (ipv4::Packet<&[u8]>, tcp::Packet<&[u8]>) {
    let ip = ipv4::Packet::new_checked(b).unwrap();
    let seg = tcp::Packet::new_checked(ip.into_payload()).unwrap();
    (ip, seg)
}
