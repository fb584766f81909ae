//! Ethernet/IPv4/TCP frames for the generator: a builder for the per-flow templates and
//! the layout both the builder and the verifier rely on.
//!
//! Every frame the benchmark makes is Ethernet II + a 20-byte IPv4 header (DF set, TTL
//! 64) + a 20-byte TCP header (no options) + the payload, with both checksums computed
//! in full by `splicer-wire`.

use splicer_wire::tcp::{self, SeqNumber};
use splicer_wire::{ethernet, ipv4, EthernetAddress};
use std::net::Ipv4Addr;

/// Offset of the IPv4 header.
pub const L3: usize = ethernet::HEADER_LEN;
/// Offset of the TCP header.
pub const L4: usize = L3 + ipv4::HEADER_LEN;
/// Offset of the payload.
pub const PAYLOAD: usize = L4 + tcp::HEADER_LEN;

/// Byte ranges of the fields the verifier compares one by one.
pub mod field {
    use std::ops::Range;
    /// IPv4 version .. protocol (everything before the header checksum).
    pub const IP_FIXED: Range<usize> = 14..24;
    /// IPv4 source and destination addresses.
    pub const IP_ADDRS: Range<usize> = 26..34;
    /// TCP source and destination ports.
    pub const PORTS: Range<usize> = 34..38;
    /// TCP data offset, flags and window.
    pub const TCP_FIXED: Range<usize> = 46..50;
    /// TCP urgent pointer (the payload follows).
    pub const URGENT: Range<usize> = 52..54;
}

/// Largest payload a frame may carry (a 1500-byte IP MTU).
pub const MAX_PAYLOAD: usize = 1500 - ipv4::HEADER_LEN - tcp::HEADER_LEN;

/// What a TCP segment's frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentSpec<'a> {
    /// Ethernet source.
    pub src_mac: EthernetAddress,
    /// Ethernet destination.
    pub dst_mac: EthernetAddress,
    /// IPv4 source address and TCP source port.
    pub src: (Ipv4Addr, u16),
    /// IPv4 destination address and TCP destination port.
    pub dst: (Ipv4Addr, u16),
    /// Sequence number.
    pub seq: SeqNumber,
    /// Acknowledgement number (sent with the ACK flag).
    pub ack: SeqNumber,
    /// TCP flags (`tcp::flags::*`).
    pub flags: u8,
    /// Window field.
    pub window: u16,
    /// IPv4 identification.
    pub ident: u16,
    /// Payload bytes.
    pub payload: &'a [u8],
}

/// Length of the frame [`build_frame`] makes for a payload of `payload` bytes.
pub const fn frame_len(payload: usize) -> usize {
    PAYLOAD + payload
}

/// The payload every benchmark segment carries: `len` bytes of a fixed pattern.
pub fn payload(len: usize) -> Vec<u8> {
    b"splicer-bench payload "
        .iter()
        .copied()
        .cycle()
        .take(len)
        .collect()
}

/// Builds a complete frame with correct IPv4 and TCP checksums.
///
/// # Panics
/// If the payload is longer than [`MAX_PAYLOAD`].
pub fn build_frame(spec: &SegmentSpec<'_>) -> Vec<u8> {
    assert!(
        spec.payload.len() <= MAX_PAYLOAD,
        "payload of {} bytes exceeds {MAX_PAYLOAD}",
        spec.payload.len()
    );
    let mut buf = vec![0u8; frame_len(spec.payload.len())];
    {
        let mut eth = ethernet::Frame::new_unchecked(&mut buf[..]);
        eth.set_dst_addr(spec.dst_mac);
        eth.set_src_addr(spec.src_mac);
        eth.set_ethertype(ethernet::ethertype::IPV4);
    }
    let tcp_len = (tcp::HEADER_LEN + spec.payload.len()) as u16;
    ipv4::emit_header(
        &mut buf[L3..],
        spec.src.0,
        spec.dst.0,
        ipv4::protocol::TCP,
        tcp_len,
        64,
        spec.ident,
    );
    let mut seg = tcp::Packet::new_unchecked(&mut buf[L4..]);
    seg.set_src_port(spec.src.1);
    seg.set_dst_port(spec.dst.1);
    seg.set_seq_number(spec.seq);
    seg.set_ack_number(spec.ack);
    seg.set_header_len(tcp::HEADER_LEN);
    seg.set_flags(spec.flags);
    seg.set_window_len(spec.window);
    seg.set_urgent_at(0);
    seg.payload_mut().copy_from_slice(spec.payload);
    seg.fill_checksum(spec.src.0, spec.dst.0);
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(payload: &[u8]) -> SegmentSpec<'_> {
        SegmentSpec {
            src_mac: EthernetAddress([2, 0, 0, 0, 0, 1]),
            dst_mac: EthernetAddress([2, 0, 0, 0, 0, 2]),
            src: (Ipv4Addr::new(198, 18, 128, 0), 1024),
            dst: (Ipv4Addr::new(198, 18, 0, 100), 80),
            seq: SeqNumber(0xfffffff0),
            ack: SeqNumber(77),
            flags: tcp::flags::ACK | tcp::flags::PSH,
            window: 502,
            ident: 9,
            payload,
        }
    }

    #[test]
    fn built_frames_parse_back_with_valid_checksums() {
        for len in [0usize, 1, 6, 7, 100, MAX_PAYLOAD] {
            let p = payload(len);
            let s = spec(&p);
            let f = build_frame(&s);
            assert_eq!(f.len(), frame_len(len));
            let eth = ethernet::Frame::new_checked(&f[..]).unwrap();
            assert_eq!(eth.ethertype(), ethernet::ethertype::IPV4);
            assert_eq!((eth.src_addr(), eth.dst_addr()), (s.src_mac, s.dst_mac));
            let ip = ipv4::Packet::new_checked(eth.payload()).unwrap();
            assert!(ip.verify_checksum(), "payload {len}");
            assert_eq!(usize::from(ip.total_len()), f.len() - L3);
            assert_eq!((ip.src_addr(), ip.dst_addr()), (s.src.0, s.dst.0));
            assert!(ip.dont_frag() && !ip.is_fragment());
            assert_eq!((ip.ttl(), ip.protocol()), (64, ipv4::protocol::TCP));
            let seg = tcp::Packet::new_checked(ip.payload()).unwrap();
            assert!(seg.verify_checksum(s.src.0, s.dst.0), "payload {len}");
            assert_eq!((seg.src_port(), seg.dst_port()), (s.src.1, s.dst.1));
            assert_eq!((seg.seq_number(), seg.ack_number()), (s.seq, s.ack));
            assert_eq!(seg.flags(), s.flags);
            assert_eq!(seg.window_len(), 502);
            assert_eq!(seg.payload(), &p[..]);
            // The fixed field ranges point where the views read.
            assert_eq!(&f[field::PORTS], &[4, 0, 0, 80]);
            assert_eq!(f[field::IP_ADDRS][0], 198);
        }
    }

    #[test]
    fn payload_pattern_is_stable() {
        assert_eq!(payload(7), b"splicer");
        assert_eq!(payload(25)[22..], *b"spl");
        assert!(payload(0).is_empty());
    }
}
