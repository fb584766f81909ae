//! Rewriting the IPv4 and TCP headers of a segment moved from one leg to the other.
//!
//! Both checksums are updated incrementally (RFC 1624): the IPv4 header checksum for
//! the new addresses, and the TCP checksum for the new ports, numbers and window and
//! for the addresses again, since the TCP checksum covers them through the
//! pseudo-header. Nothing is recomputed from the payload, so the cost does not grow
//! with the segment, and a segment that arrived with a wrong TCP checksum leaves with
//! a wrong one: Splicer never launders corruption into a valid-looking segment.

use super::Error;
use splicer_wire::tcp::{self, SeqNumber};
use splicer_wire::{checksum, ipv4};
use std::net::Ipv4Addr;

/// The header values a segment gets on the leg it is forwarded to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Translation {
    /// New source address and port.
    pub src: (Ipv4Addr, u16),
    /// New destination address and port.
    pub dst: (Ipv4Addr, u16),
    /// New sequence number (from the data direction's [`super::SeqMap::map`]);
    /// `None` keeps it.
    pub seq: Option<SeqNumber>,
    /// New acknowledgement number (from the other direction's
    /// [`super::SeqMap::unmap`]); `None` keeps it, as for a segment without ACK.
    pub ack: Option<SeqNumber>,
    /// New window field (from [`super::rescale`]); `None` keeps it.
    pub window: Option<u16>,
}

/// The TCP segment of an IPv4 packet, after checking what [`apply`] relies on: the
/// IPv4 and TCP header lengths, that the protocol is TCP and that the packet is not a
/// fragment. The segment ends at the IPv4 total length, so Ethernet padding after it
/// is excluded. Use it to rewrite the options ([`super::translate`]) of a packet whose
/// headers [`apply`] rewrote.
pub fn tcp_segment(ip_and_tcp: &mut [u8]) -> Result<tcp::Packet<&mut [u8]>, Error> {
    let ip = ipv4::Packet::new_checked(ip_and_tcp)?;
    if ip.protocol() != ipv4::protocol::TCP {
        return Err(Error::NotTcp);
    }
    if ip.is_fragment() {
        return Err(Error::Fragment);
    }
    Ok(tcp::Packet::new_checked(ip.into_payload_mut())?)
}

/// Rewrites a packet's addresses, ports and, as `t` asks, its sequence number,
/// acknowledgement number and window, in place, with both checksums updated
/// incrementally. `ip_and_tcp` starts at the IPv4 header and may run past its total
/// length (Ethernet padding).
///
/// [`Error`] if the packet is not an unfragmented IPv4/TCP packet whose headers fit
/// the buffer; the packet is then unchanged.
pub fn apply(ip_and_tcp: &mut [u8], t: &Translation) -> Result<(), Error> {
    // Everything is checked before anything is written.
    tcp_segment(ip_and_tcp)?;
    // Checked above: an IPv4 header of `ihl >= 20` bytes, followed by a TCP header of
    // at least 20 bytes, both within the buffer. Fixed-size views make every field
    // access below free of bounds checks.
    let ihl = ipv4::Packet::new_unchecked(&*ip_and_tcp).header_len();
    let (ip_bytes, rest) = ip_and_tcp.split_at_mut(ihl);
    let (Some(ip), Some(seg)) = (
        ip_bytes.first_chunk_mut::<{ ipv4::HEADER_LEN }>(),
        rest.first_chunk_mut::<{ tcp::HEADER_LEN }>(),
    ) else {
        unreachable!("tcp_segment checked both header lengths");
    };

    // Both checksums are updated with one fold each: RFC 1624 equation 3 over all the
    // changed fields at once (`checksum::update_sum`, which gives exactly what the
    // chain of single-field updates gives). All arithmetic is on native-order loads
    // of the wire bytes, stored back the same way: the ones-complement sum does not
    // depend on byte order (RFC 1071), so no value is byte-swapped.
    let ne32 =
        |h: &[u8; 20], at: usize| u32::from_ne_bytes([h[at], h[at + 1], h[at + 2], h[at + 3]]);
    let ne16 = |h: &[u8; 20], at: usize| u16::from_ne_bytes([h[at], h[at + 1]]);
    let w32 = |v: u32| u64::from(v);
    let (src, dst) = (
        u32::from_ne_bytes(t.src.0.octets()),
        u32::from_ne_bytes(t.dst.0.octets()),
    );
    // The address change, shared by the IPv4 header and the TCP pseudo-header. The old
    // addresses enter as the complement of their folded sum, as in
    // `checksum::update_bytes`, so that the results stay the very values it gave.
    let old_addrs = !checksum::fold64(w32(ne32(ip, 12)) + w32(ne32(ip, 16)));
    let addrs = u64::from(old_addrs) + w32(src) + w32(dst);
    let ip_sum = checksum::update_sum(ne16(ip, 10), addrs);
    ip[10..12].copy_from_slice(&ip_sum.to_ne_bytes());
    ip[12..16].copy_from_slice(&src.to_ne_bytes());
    ip[16..20].copy_from_slice(&dst.to_ne_bytes());

    let ports = (u32::from(t.src.1) << 16) | u32::from(t.dst.1);
    let ports = u32::from_ne_bytes(ports.to_be_bytes());
    let mut change = addrs + w32(!ne32(seg, 0)) + w32(ports);
    seg[0..4].copy_from_slice(&ports.to_ne_bytes());
    if let Some(seq) = t.seq {
        let seq = u32::from_ne_bytes(seq.0.to_be_bytes());
        change += w32(!ne32(seg, 4)) + w32(seq);
        seg[4..8].copy_from_slice(&seq.to_ne_bytes());
    }
    if let Some(ack) = t.ack {
        let ack = u32::from_ne_bytes(ack.0.to_be_bytes());
        change += w32(!ne32(seg, 8)) + w32(ack);
        seg[8..12].copy_from_slice(&ack.to_ne_bytes());
    }
    if let Some(w) = t.window {
        let w = u16::from_ne_bytes(w.to_be_bytes());
        change += u64::from(!ne16(seg, 14)) + u64::from(w);
        seg[14..16].copy_from_slice(&w.to_ne_bytes());
    }
    let tcp_sum = checksum::update_sum(ne16(seg, 16), change);
    seg[16..18].copy_from_slice(&tcp_sum.to_ne_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rewrite::testutil::{ip_tcp_packet, split};
    use crate::rewrite::{options, rescale, SeqMap, Timestamps};
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn random_translation(rng: &mut StdRng) -> Translation {
        let opt = |rng: &mut StdRng| (!rng.gen_ratio(1, 4)).then(|| rng.gen::<u32>());
        Translation {
            src: (Ipv4Addr::from(rng.gen::<u32>()), rng.gen::<u16>()),
            dst: (Ipv4Addr::from(rng.gen::<u32>()), rng.gen::<u16>()),
            seq: opt(rng).map(SeqNumber),
            ack: opt(rng).map(SeqNumber),
            window: opt(rng).map(|w| w as u16),
        }
    }

    #[test]
    fn random_rewrites_equal_full_recomputation() {
        let mut rng = StdRng::seed_from_u64(0x4ead_e125);
        for round in 0..5000 {
            let mut b = ip_tcp_packet(&mut rng);
            let orig = b.clone();
            let t = random_translation(&mut rng);
            apply(&mut b, &t).unwrap();

            let (ip, seg) = split(&b);
            let (oip, oseg) = split(&orig);
            assert!(ip.verify_checksum(), "round {round}: IPv4 checksum");
            assert!(
                seg.verify_checksum(t.src.0, t.dst.0),
                "round {round}: TCP checksum"
            );
            assert_eq!((ip.src_addr(), seg.src_port()), t.src, "round {round}");
            assert_eq!((ip.dst_addr(), seg.dst_port()), t.dst, "round {round}");
            assert_eq!(seg.seq_number(), t.seq.unwrap_or(oseg.seq_number()));
            assert_eq!(seg.ack_number(), t.ack.unwrap_or(oseg.ack_number()));
            assert_eq!(seg.window_len(), t.window.unwrap_or(oseg.window_len()));
            assert_eq!(seg.payload(), oseg.payload());
            assert_eq!(seg.options(), oseg.options());
            assert_eq!(ip.options(), oip.options());
            assert_eq!(
                b[usize::from(ip.total_len())..],
                orig[usize::from(ip.total_len())..]
            );

            // Not only valid: the very values a full recomputation stores.
            let (ipc, tcpc) = (ip.checksum(), seg.checksum());
            let mut full = b.clone();
            let ihl = ip.header_len();
            let total = usize::from(ip.total_len());
            ipv4::Packet::new_unchecked(&mut full[..]).fill_checksum();
            tcp::Packet::new_unchecked(&mut full[ihl..total]).fill_checksum(t.src.0, t.dst.0);
            assert_eq!(full, b, "round {round}: {ipc:04x} {tcpc:04x}");
        }
    }

    /// `apply` as it was before the single-fold update: one RFC 1624 update per field.
    fn apply_by_chain(ip_and_tcp: &mut [u8], t: &Translation) -> Result<(), Error> {
        tcp_segment(ip_and_tcp)?;
        let (ihl, total) = {
            let ip = ipv4::Packet::new_unchecked(&*ip_and_tcp);
            (ip.header_len(), usize::from(ip.total_len()))
        };
        let (ip_bytes, rest) = ip_and_tcp[..total].split_at_mut(ihl);
        let mut ip = ipv4::Packet::new_unchecked(ip_bytes);
        let mut old_addrs = [0u8; 8];
        old_addrs[..4].copy_from_slice(&ip.src_addr().octets());
        old_addrs[4..].copy_from_slice(&ip.dst_addr().octets());
        let mut new_addrs = [0u8; 8];
        new_addrs[..4].copy_from_slice(&t.src.0.octets());
        new_addrs[4..].copy_from_slice(&t.dst.0.octets());
        ip.set_checksum(checksum::update_bytes(
            ip.checksum(),
            &old_addrs,
            &new_addrs,
        ));
        ip.set_src_addr(t.src.0);
        ip.set_dst_addr(t.dst.0);
        let mut seg = tcp::Packet::new_unchecked(rest);
        let mut c = checksum::update_bytes(seg.checksum(), &old_addrs, &new_addrs);
        let old_ports = (u32::from(seg.src_port()) << 16) | u32::from(seg.dst_port());
        let new_ports = (u32::from(t.src.1) << 16) | u32::from(t.dst.1);
        c = checksum::update32(c, old_ports, new_ports);
        seg.set_src_port(t.src.1);
        seg.set_dst_port(t.dst.1);
        if let Some(seq) = t.seq {
            c = checksum::update32(c, seg.seq_number().0, seq.0);
            seg.set_seq_number(seq);
        }
        if let Some(ack) = t.ack {
            c = checksum::update32(c, seg.ack_number().0, ack.0);
            seg.set_ack_number(ack);
        }
        if let Some(w) = t.window {
            c = checksum::update16(c, seg.window_len(), w);
            seg.set_window_len(w);
        }
        seg.set_checksum(c);
        Ok(())
    }

    /// Byte for byte what the chain of single-field updates wrote, also for the inputs
    /// where the two representations of zero differ: stored checksums of `0x0000` and
    /// `0xffff` (wrong ones included), all-zero and all-ones addresses, ports and
    /// numbers.
    #[test]
    fn same_bytes_as_the_chain_of_single_field_updates() {
        let mut rng = StdRng::seed_from_u64(0xc4a1_f01d);
        let edge32 = |rng: &mut StdRng| match rng.gen_range(0..4) {
            0 => 0u32,
            1 => u32::MAX,
            2 => 0x0000_ffff,
            _ => rng.gen(),
        };
        for round in 0..50_000 {
            let mut b = ip_tcp_packet(&mut rng);
            let ihl = split(&b).0.header_len();
            // Overwrite fields with edge values; the checksums then usually no longer
            // match, which `apply` must carry through as the chain did.
            for at in [10usize, 12, 16, ihl, ihl + 4, ihl + 8, ihl + 14, ihl + 16] {
                if rng.gen_ratio(1, 3) {
                    let v = edge32(&mut rng).to_be_bytes();
                    let n = if [10, ihl + 14, ihl + 16].contains(&at) {
                        2
                    } else {
                        4
                    };
                    b[at..at + n].copy_from_slice(&v[..n]);
                }
            }
            let mut t = random_translation(&mut rng);
            if rng.gen_ratio(1, 3) {
                t.src = (Ipv4Addr::from(edge32(&mut rng)), edge32(&mut rng) as u16);
                t.dst = (Ipv4Addr::from(edge32(&mut rng)), edge32(&mut rng) as u16);
                t.seq = t.seq.map(|_| SeqNumber(edge32(&mut rng)));
                t.ack = t.ack.map(|_| SeqNumber(edge32(&mut rng)));
                t.window = t.window.map(|_| edge32(&mut rng) as u16);
            }
            let mut chain = b.clone();
            let r = apply(&mut b, &t);
            assert_eq!(r, apply_by_chain(&mut chain, &t), "round {round}");
            assert_eq!(b, chain, "round {round}");
        }
    }

    #[test]
    fn bad_tcp_checksum_stays_bad() {
        let mut rng = StdRng::seed_from_u64(11);
        for _ in 0..200 {
            let mut b = ip_tcp_packet(&mut rng);
            let ihl = split(&b).0.header_len();
            b[ihl + 16] ^= 0x01;
            let t = random_translation(&mut rng);
            apply(&mut b, &t).unwrap();
            let (ip, seg) = split(&b);
            assert!(ip.verify_checksum());
            assert!(!seg.verify_checksum(t.src.0, t.dst.0));
        }
    }

    #[test]
    fn refused_packets_are_unchanged() {
        let mut rng = StdRng::seed_from_u64(12);
        let t = random_translation(&mut rng);
        let base = ip_tcp_packet(&mut rng);
        let ihl = split(&base).0.header_len();
        let total = usize::from(split(&base).0.total_len());

        let mut cases: Vec<(Vec<u8>, Error)> = Vec::new();
        let mut b = base.clone();
        b[9] = ipv4::protocol::UDP;
        cases.push((b, Error::NotTcp));
        let mut b = base.clone();
        ipv4::Packet::new_unchecked(&mut b[..]).set_more_frags(true);
        cases.push((b, Error::Fragment));
        let mut b = base.clone();
        ipv4::Packet::new_unchecked(&mut b[..]).set_frag_offset(8);
        cases.push((b, Error::Fragment));
        cases.push((base[..total - 1].to_vec(), Error::Truncated));
        cases.push((base[..19].to_vec(), Error::Truncated));
        let mut b = base.clone();
        b[0] = 0x65;
        cases.push((b, Error::Malformed));
        let mut b = base.clone();
        // TCP data offset below 5 words.
        b[ihl + 12] = 0x40;
        cases.push((b, Error::Malformed));
        let mut b = base.clone();
        // TCP header longer than the segment the total length leaves it.
        ipv4::Packet::new_unchecked(&mut b[..]).set_total_len((ihl + 19) as u16);
        cases.push((b, Error::Truncated));

        for (i, (mut b, err)) in cases.into_iter().enumerate() {
            let orig = b.clone();
            assert_eq!(apply(&mut b, &t), Err(err), "case {i}");
            assert_eq!(b, orig, "case {i}");
        }
    }

    /// The whole per-packet rewrite of a client ACK spliced onto the server leg, as
    /// the splice engine strings it together: headers, then options, checksums exact
    /// at the end.
    #[test]
    fn client_ack_onto_server_leg() {
        let client = (Ipv4Addr::new(198, 18, 5, 5), 40000);
        let vip = (Ipv4Addr::new(198, 18, 0, 100), 80);
        let local = (Ipv4Addr::new(198, 19, 0, 1), 51000);
        let server = (Ipv4Addr::new(198, 19, 0, 10), 8080);
        // FIG. 6A numbers: upstream 2001 → 1951, downstream 6001 → 4001.
        let up = SeqMap::start(SeqNumber(2001), SeqNumber(1951));
        let down = SeqMap::start(SeqNumber(6001), SeqNumber(4001));

        let mut b = vec![0u8; 20 + 32];
        ipv4::emit_header(&mut b, client.0, vip.0, ipv4::protocol::TCP, 32, 64, 1);
        {
            let mut seg = tcp::Packet::new_unchecked(&mut b[20..]);
            seg.set_src_port(client.1);
            seg.set_dst_port(vip.1);
            seg.set_seq_number(SeqNumber(2050));
            seg.set_ack_number(SeqNumber(4500));
            seg.set_header_len(32);
            seg.set_flags(tcp::flags::ACK);
            seg.set_window_len(500);
            // NOP NOP TS(1000, 77)
            seg.options_mut()
                .copy_from_slice(&[1, 1, 8, 10, 0, 0, 3, 232, 0, 0, 0, 77]);
            seg.fill_checksum(client.0, vip.0);
        }
        let t = Translation {
            src: local,
            dst: server,
            seq: up.map(SeqNumber(2050)),
            ack: down.unmap(SeqNumber(4500)),
            window: Some(rescale(500, 7, 9)),
        };
        apply(&mut b, &t).unwrap();
        let mut seg = tcp_segment(&mut b).unwrap();
        let ts = Timestamps::Shift {
            tsval_add: 5000,
            tsecr_sub: 70,
        };
        options::translate(&mut seg, |e| down.unmap(e), ts).unwrap();

        let (ip, seg) = split(&b);
        assert!(ip.verify_checksum());
        assert!(seg.verify_checksum(local.0, server.0));
        assert_eq!(
            (seg.seq_number(), seg.ack_number()),
            (SeqNumber(2000), SeqNumber(6500))
        );
        assert_eq!(seg.window_len(), 125);
        assert_eq!(
            options::scan(seg.options()).unwrap().timestamp,
            Some((6000, 7))
        );
    }
}
