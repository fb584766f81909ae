//! First stage of the data path: length-checked classification of a frame's Ethernet
//! and IPv4 headers, so that later stages can index into the frame without re-checking.

use crate::counters::Counter;
use splicer_wire::{ethernet, ipv4, EthernetAddress};
use std::net::Ipv4Addr;

/// Offset of the L3 header in every frame Splicer handles (no VLAN tags).
pub const L3_OFFSET: usize = ethernet::HEADER_LEN;

/// What a frame is, once its outer headers passed every check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Classified {
    /// An ARP packet; the ARP body itself is checked by the ARP stage.
    Arp,
    /// A valid, unfragmented IPv4 packet.
    Ipv4(Ipv4Meta),
}

/// The facts later stages need about an IPv4 packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Meta {
    /// IPv4 header length in bytes.
    pub header_len: usize,
    /// Total length from the header (the frame may carry Ethernet padding beyond it).
    pub total_len: usize,
    /// IPv4 protocol number.
    pub protocol: u8,
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
}

impl Ipv4Meta {
    /// Offset of the L4 header within the frame.
    pub fn l4_offset(&self) -> usize {
        L3_OFFSET + self.header_len
    }

    /// Range of the L4 segment within the frame, excluding Ethernet padding.
    pub fn l4_range(&self) -> std::ops::Range<usize> {
        self.l4_offset()..L3_OFFSET + self.total_len
    }
}

/// Classifies a frame received on a port whose MAC is `port_mac`, or names the drop
/// reason.
pub fn classify(frame: &[u8], port_mac: EthernetAddress) -> Result<Classified, Counter> {
    let eth = ethernet::Frame::new_checked(frame).map_err(|_| Counter::DropTruncated)?;
    let dst = eth.dst_addr();
    // Multicast frames go on to the ethertype check: IPv6 neighbour discovery and the
    // like are better counted as what they are than as misdirected frames.
    if dst != port_mac && dst.is_unicast() {
        return Err(Counter::DropNotOurMac);
    }
    match eth.ethertype() {
        ethernet::ethertype::ARP => Ok(Classified::Arp),
        ethernet::ethertype::IPV4 => {
            let ip = ipv4::Packet::new_checked(eth.payload()).map_err(|e| match e {
                splicer_wire::Error::Truncated => Counter::DropTruncated,
                splicer_wire::Error::Malformed => Counter::DropBadIpHeader,
            })?;
            if !ip.verify_checksum() {
                return Err(Counter::DropBadIpChecksum);
            }
            if ip.is_fragment() {
                return Err(Counter::DropIpFragment);
            }
            Ok(Classified::Ipv4(Ipv4Meta {
                header_len: ip.header_len(),
                total_len: usize::from(ip.total_len()),
                protocol: ip.protocol(),
                src: ip.src_addr(),
                dst: ip.dst_addr(),
            }))
        }
        _ => Err(Counter::DropUnsupportedEthertype),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use splicer_wire::{checksum, ipv4::protocol};

    pub(crate) const OUR_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
    pub(crate) const PEER_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 0x99]);

    /// An Ethernet + IPv4 frame with a valid header checksum around `l4`.
    pub(crate) fn ipv4_frame(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, l4: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; L3_OFFSET + 20 + l4.len()];
        {
            let mut eth = ethernet::Frame::new_unchecked(&mut f[..]);
            eth.set_dst_addr(OUR_MAC);
            eth.set_src_addr(PEER_MAC);
            eth.set_ethertype(ethernet::ethertype::IPV4);
        }
        ipv4::emit_header(&mut f[L3_OFFSET..], src, dst, proto, l4.len() as u16, 64, 7);
        f[L3_OFFSET + 20..].copy_from_slice(l4);
        f
    }

    pub(crate) fn icmp_echo(ident: u16, seq: u16, data: &[u8]) -> Vec<u8> {
        let mut m = vec![8u8, 0, 0, 0];
        m.extend_from_slice(&ident.to_be_bytes());
        m.extend_from_slice(&seq.to_be_bytes());
        m.extend_from_slice(data);
        let c = checksum::data(&m);
        m[2..4].copy_from_slice(&c.to_be_bytes());
        m
    }

    fn a(x: u8) -> Ipv4Addr {
        Ipv4Addr::new(198, 18, 0, x)
    }

    #[test]
    fn valid_ipv4_is_classified_with_its_facts() {
        let f = ipv4_frame(a(2), a(1), protocol::ICMP, &icmp_echo(1, 1, b"hi"));
        match classify(&f, OUR_MAC).unwrap() {
            Classified::Ipv4(m) => {
                assert_eq!((m.src, m.dst, m.protocol), (a(2), a(1), protocol::ICMP));
                assert_eq!(m.l4_range(), 34..34 + 10);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn each_bad_frame_names_its_reason() {
        let good = ipv4_frame(a(2), a(1), protocol::ICMP, &icmp_echo(1, 1, b""));
        assert_eq!(classify(&good[..10], OUR_MAC), Err(Counter::DropTruncated));
        assert_eq!(classify(&good[..30], OUR_MAC), Err(Counter::DropTruncated));

        let mut other_mac = good.clone();
        other_mac[0] = 0x04;
        assert_eq!(classify(&other_mac, OUR_MAC), Err(Counter::DropNotOurMac));

        let mut v6 = good.clone();
        v6[12..14].copy_from_slice(&0x86ddu16.to_be_bytes());
        assert_eq!(
            classify(&v6, OUR_MAC),
            Err(Counter::DropUnsupportedEthertype)
        );

        let mut bad_sum = good.clone();
        bad_sum[L3_OFFSET + 10] ^= 0xff;
        assert_eq!(classify(&bad_sum, OUR_MAC), Err(Counter::DropBadIpChecksum));

        let mut bad_ver = good.clone();
        bad_ver[L3_OFFSET] = 0x65;
        assert_eq!(classify(&bad_ver, OUR_MAC), Err(Counter::DropBadIpHeader));

        let mut frag = good.clone();
        frag[L3_OFFSET + 6] |= 0x20; // more fragments
        ipv4::Packet::new_unchecked(&mut frag[L3_OFFSET..]).fill_checksum();
        assert_eq!(classify(&frag, OUR_MAC), Err(Counter::DropIpFragment));
    }

    #[test]
    fn broadcast_frames_are_accepted() {
        let mut f = ipv4_frame(a(2), a(1), protocol::ICMP, &icmp_echo(1, 1, b""));
        f[..6].copy_from_slice(&[0xff; 6]);
        assert!(classify(&f, OUR_MAC).is_ok());
    }
}
