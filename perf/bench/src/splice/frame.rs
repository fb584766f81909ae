//! The generator's own Ethernet/IPv4/TCP/ARP code for the splice scenarios: it writes the
//! frames the clients and servers send and parses every frame that comes back, checking
//! both checksums in full with the verifier's arithmetic ([`sum32`], [`fold16`]), which
//! shares nothing with `splicer_wire`'s checksum code that the engine uses.
//!
//! Every frame is Ethernet II (no VLAN) + a 20-byte IPv4 header (DF, TTL 64, no options)
//! + TCP, padded with zeros to the 60-byte Ethernet minimum as a NIC would.

use crate::baseline::{fold16, sum32};
use crate::verify::Mismatch;
use std::net::Ipv4Addr;

/// Offset of the IPv4 header.
pub const L3: usize = 14;
/// Offset of the TCP header (IPv4 without options).
pub const L4: usize = L3 + 20;
/// Shortest Ethernet frame without FCS.
pub const MIN_FRAME: usize = 60;
/// Length of an ARP frame before padding.
const ARP_LEN: usize = L3 + 28;

/// TCP flag bits.
pub mod flags {
    /// FIN.
    pub const FIN: u8 = 0x01;
    /// SYN.
    pub const SYN: u8 = 0x02;
    /// RST.
    pub const RST: u8 = 0x04;
    /// PSH.
    pub const PSH: u8 = 0x08;
    /// ACK.
    pub const ACK: u8 = 0x10;
}

/// A TCP segment to write.
#[derive(Debug, Clone, Copy)]
pub struct SegOut<'a> {
    /// Ethernet source.
    pub src_mac: [u8; 6],
    /// Ethernet destination.
    pub dst_mac: [u8; 6],
    /// Source address and port.
    pub src: (Ipv4Addr, u16),
    /// Destination address and port.
    pub dst: (Ipv4Addr, u16),
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number (sent as is; the ACK flag is in `flags`).
    pub ack: u32,
    /// TCP flags.
    pub flags: u8,
    /// Window field.
    pub window: u16,
    /// Options, a multiple of 4 bytes.
    pub options: &'a [u8],
    /// Payload, in two pieces (head and body) that follow each other.
    pub payload: [&'a [u8]; 2],
}

impl SegOut<'_> {
    /// Payload bytes.
    pub fn payload_len(&self) -> usize {
        self.payload[0].len() + self.payload[1].len()
    }

    /// Frame length, padding included.
    pub fn frame_len(&self) -> usize {
        (L4 + 20 + self.options.len() + self.payload_len()).max(MIN_FRAME)
    }

    /// Writes the whole frame (every byte, padding zeroed) into `frame`, which is
    /// [`SegOut::frame_len`] bytes long.
    pub fn write(&self, frame: &mut [u8]) {
        debug_assert_eq!(frame.len(), self.frame_len());
        debug_assert_eq!(self.options.len() % 4, 0);
        let tcp_len = 20 + self.options.len() + self.payload_len();
        frame[0..6].copy_from_slice(&self.dst_mac);
        frame[6..12].copy_from_slice(&self.src_mac);
        frame[12..14].copy_from_slice(&[0x08, 0x00]);
        let ip = &mut frame[L3..L4];
        ip[0] = 0x45;
        ip[1] = 0;
        ip[2..4].copy_from_slice(&((20 + tcp_len) as u16).to_be_bytes());
        ip[4..6].copy_from_slice(&[0, 0]);
        ip[6..8].copy_from_slice(&[0x40, 0]);
        ip[8] = 64;
        ip[9] = 6;
        ip[10..12].copy_from_slice(&[0, 0]);
        ip[12..16].copy_from_slice(&self.src.0.octets());
        ip[16..20].copy_from_slice(&self.dst.0.octets());
        let c = !fold16(sum32(ip));
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        let t = &mut frame[L4..L4 + tcp_len];
        t[0..2].copy_from_slice(&self.src.1.to_be_bytes());
        t[2..4].copy_from_slice(&self.dst.1.to_be_bytes());
        t[4..8].copy_from_slice(&self.seq.to_be_bytes());
        t[8..12].copy_from_slice(&self.ack.to_be_bytes());
        t[12] = (((20 + self.options.len()) / 4) as u8) << 4;
        t[13] = self.flags;
        t[14..16].copy_from_slice(&self.window.to_be_bytes());
        t[16..20].copy_from_slice(&[0, 0, 0, 0]);
        let mut at = 20;
        for part in [self.options, self.payload[0], self.payload[1]] {
            t[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        let c = !fold16(pseudo_sum(self.src.0, self.dst.0, tcp_len) + sum32(t));
        t[16..18].copy_from_slice(&c.to_be_bytes());
        frame[L4 + tcp_len..].fill(0);
    }
}

/// The pseudo-header's contribution to the TCP checksum.
#[inline]
fn pseudo_sum(src: Ipv4Addr, dst: Ipv4Addr, tcp_len: usize) -> u64 {
    u64::from(u32::from(src)) + u64::from(u32::from(dst)) + 6 + tcp_len as u64
}

/// An ARP packet to write.
#[derive(Debug, Clone, Copy)]
pub struct ArpOut {
    /// Ethernet destination.
    pub dst_mac: [u8; 6],
    /// 1 request, 2 reply.
    pub op: u16,
    /// Sender hardware and protocol address (also the Ethernet source).
    pub sender: ([u8; 6], Ipv4Addr),
    /// Target hardware and protocol address.
    pub target: ([u8; 6], Ipv4Addr),
}

impl ArpOut {
    /// Frame length, padding included.
    pub const LEN: usize = MIN_FRAME;

    /// Writes the frame into `frame` ([`ArpOut::LEN`] bytes).
    pub fn write(&self, frame: &mut [u8]) {
        frame[0..6].copy_from_slice(&self.dst_mac);
        frame[6..12].copy_from_slice(&self.sender.0);
        frame[12..14].copy_from_slice(&[0x08, 0x06]);
        let a = &mut frame[L3..ARP_LEN];
        a[0..8].copy_from_slice(&[0, 1, 0x08, 0, 6, 4, 0, 0]);
        a[6..8].copy_from_slice(&self.op.to_be_bytes());
        a[8..14].copy_from_slice(&self.sender.0);
        a[14..18].copy_from_slice(&self.sender.1.octets());
        a[18..24].copy_from_slice(&self.target.0);
        a[24..28].copy_from_slice(&self.target.1.octets());
        frame[ARP_LEN..].fill(0);
    }
}

/// A returned TCP segment whose IPv4 and TCP headers and both checksums are valid.
#[derive(Debug, Clone, Copy)]
pub struct SegIn<'a> {
    /// Ethernet destination.
    pub dst_mac: [u8; 6],
    /// Ethernet source.
    pub src_mac: [u8; 6],
    /// Source address and port.
    pub src: (Ipv4Addr, u16),
    /// Destination address and port.
    pub dst: (Ipv4Addr, u16),
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number (whatever the field holds).
    pub ack: u32,
    /// TCP flags.
    pub flags: u8,
    /// Window field.
    pub window: u16,
    /// Options.
    pub options: &'a [u8],
    /// Payload.
    pub payload: &'a [u8],
}

/// A returned ARP packet (Ethernet/IPv4 ARP, well formed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpIn {
    /// Ethernet destination.
    pub dst_mac: [u8; 6],
    /// Ethernet source.
    pub src_mac: [u8; 6],
    /// 1 request, 2 reply.
    pub op: u16,
    /// Sender hardware and protocol address.
    pub sender: ([u8; 6], Ipv4Addr),
    /// Target hardware and protocol address.
    pub target: ([u8; 6], Ipv4Addr),
}

/// What came back.
#[derive(Debug, Clone, Copy)]
pub enum FrameIn<'a> {
    /// A TCP segment.
    Tcp(SegIn<'a>),
    /// An ARP packet.
    Arp(ArpIn),
}

#[inline]
fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

#[inline]
fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

#[inline]
fn ip_at(b: &[u8], at: usize) -> Ipv4Addr {
    Ipv4Addr::new(b[at], b[at + 1], b[at + 2], b[at + 3])
}

#[inline]
fn mac_at(b: &[u8], at: usize) -> [u8; 6] {
    [b[at], b[at + 1], b[at + 2], b[at + 3], b[at + 4], b[at + 5]]
}

/// Parses and checks a returned frame: Ethernet II; for IPv4, version 4 with a 20-byte
/// header, DSCP/ECN 0, DF and no fragmentation, TTL 64, TCP, total length consistent
/// with the frame (padded with zeros to 60 bytes when shorter, nothing after it), the header
/// checksum; for TCP, a sane data offset, no reserved bits, no URG and a zero urgent
/// pointer, the checksum over pseudo-header, header and payload. ARP: Ethernet/IPv4
/// sizes and a known operation.
pub fn parse(frame: &[u8]) -> Result<FrameIn<'_>, Mismatch> {
    if frame.len() < MIN_FRAME {
        return Err(Mismatch::Length {
            got: frame.len(),
            expected: MIN_FRAME,
        });
    }
    let (dst_mac, src_mac) = (mac_at(frame, 0), mac_at(frame, 6));
    match be16(frame, 12) {
        0x0800 => {}
        0x0806 => {
            let a = &frame[L3..];
            if a[0..6] != [0, 1, 0x08, 0, 6, 4] {
                return Err(Mismatch::Arp("not an Ethernet/IPv4 ARP packet"));
            }
            let op = be16(a, 6);
            if op != 1 && op != 2 {
                return Err(Mismatch::Arp("unknown operation"));
            }
            return Ok(FrameIn::Arp(ArpIn {
                dst_mac,
                src_mac,
                op,
                sender: (mac_at(a, 8), ip_at(a, 14)),
                target: (mac_at(a, 18), ip_at(a, 24)),
            }));
        }
        _ => return Err(Mismatch::Ethernet),
    }
    let ip = &frame[L3..L4];
    if ip[0] != 0x45 || ip[1] != 0 || be16(ip, 6) != 0x4000 || ip[8] != 64 || ip[9] != 6 {
        return Err(Mismatch::IpHeader);
    }
    let total = usize::from(be16(ip, 2));
    if total < 40 || frame.len() != (L3 + total).max(MIN_FRAME) {
        return Err(Mismatch::Length {
            got: frame.len(),
            expected: (L3 + total).max(MIN_FRAME),
        });
    }
    if fold16(sum32(ip)) != 0xffff {
        return Err(Mismatch::IpChecksum);
    }
    let (src_ip, dst_ip) = (ip_at(ip, 12), ip_at(ip, 16));
    let t = &frame[L4..L3 + total];
    let off = usize::from(t[12] >> 4) * 4;
    if off < 20 || off > t.len() || t[12] & 0x0f != 0 || t[13] & 0xe0 != 0 || be16(t, 18) != 0 {
        return Err(Mismatch::TcpHeader);
    }
    if fold16(pseudo_sum(src_ip, dst_ip, t.len()) + sum32(t)) != 0xffff {
        return Err(Mismatch::TcpChecksum);
    }
    // Padding must be zeros (what a NIC pads with); anything else is stale buffer data
    // leaking onto the wire.
    if frame[L3 + total..].iter().any(|&b| b != 0) {
        return Err(Mismatch::Padding);
    }
    Ok(FrameIn::Tcp(SegIn {
        dst_mac,
        src_mac,
        src: (src_ip, be16(t, 0)),
        dst: (dst_ip, be16(t, 2)),
        seq: be32(t, 4),
        ack: be32(t, 8),
        flags: t[13],
        window: be16(t, 14),
        options: &t[20..off],
        payload: &t[off..],
    }))
}

/// The options of a segment, as far as the verifier cares.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// MSS.
    pub mss: Option<u16>,
    /// Window scale shift.
    pub wscale: Option<u8>,
    /// SACK permitted.
    pub sack_ok: bool,
    /// Timestamps: TSval and TSecr.
    pub ts: Option<(u32, u32)>,
    /// SACK blocks present.
    pub sack: bool,
}

/// The options of a Linux SYN (and SYN-ACK) that offers everything: MSS 1460, SACK
/// permitted, timestamps (TSval `tsval`, TSecr `tsecr`), a NOP and window scale 7, in
/// the order Linux writes them (`tcp_options_write`).
pub fn linux_syn_options(tsval: u32, tsecr: u32) -> [u8; 20] {
    let mut o = [
        2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0, 1, 3, 3, 7,
    ];
    o[8..12].copy_from_slice(&tsval.to_be_bytes());
    o[12..16].copy_from_slice(&tsecr.to_be_bytes());
    o
}

/// The timestamps option as Linux puts it on every segment after the handshake: two
/// NOPs, then kind 8.
pub fn timestamp_option(tsval: u32, tsecr: u32) -> [u8; 12] {
    let mut o = [1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0];
    o[4..8].copy_from_slice(&tsval.to_be_bytes());
    o[8..12].copy_from_slice(&tsecr.to_be_bytes());
    o
}

/// Walks an options block; `None` when it is malformed.
pub fn options(mut b: &[u8]) -> Option<Options> {
    let mut o = Options::default();
    while let Some(&kind) = b.first() {
        match kind {
            0 => break,
            1 => {
                b = &b[1..];
                continue;
            }
            _ => {}
        }
        let len = usize::from(*b.get(1)?);
        if len < 2 || len > b.len() {
            return None;
        }
        match (kind, len) {
            (2, 4) => o.mss = Some(be16(b, 2)),
            (3, 3) => o.wscale = Some(b[2]),
            (4, 2) => o.sack_ok = true,
            (5, _) => o.sack = true,
            (8, 10) => o.ts = Some((be32(b, 2), be32(b, 6))),
            _ => return None,
        }
        b = &b[len..];
    }
    Some(o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use splicer_wire::{ipv4, tcp};

    fn seg<'a>(options: &'a [u8], payload: [&'a [u8]; 2]) -> SegOut<'a> {
        SegOut {
            src_mac: [2, 0, 0, 0, 0, 1],
            dst_mac: [2, 0, 0, 0, 0, 2],
            src: (Ipv4Addr::new(198, 18, 128, 3), 1027),
            dst: (Ipv4Addr::new(198, 18, 0, 100), 80),
            seq: 0xffff_fff0,
            ack: 42,
            flags: flags::ACK | flags::PSH,
            window: 64240,
            options,
            payload,
        }
    }

    #[test]
    fn written_segments_parse_back_and_agree_with_splicer_wire() {
        for (opts, head, body) in [
            (&[][..], &b""[..], &b""[..]),
            (
                &[2, 4, 5, 0xb4][..],
                &b"GET / HTTP/1.1\r\n\r\n"[..],
                &b"x"[..],
            ),
            (&[][..], &b"abc"[..], &[7u8; 1400][..]),
        ] {
            let s = seg(opts, [head, body]);
            let mut f = vec![0xaa; s.frame_len()];
            s.write(&mut f);
            assert!(f.len() >= MIN_FRAME);
            let ip = ipv4::Packet::new_checked(&f[L3..]).unwrap();
            assert!(ip.verify_checksum());
            let t = tcp::Packet::new_checked(&f[L4..L3 + usize::from(ip.total_len())]).unwrap();
            assert!(t.verify_checksum(s.src.0, s.dst.0));
            let FrameIn::Tcp(p) = parse(&f).unwrap() else {
                panic!("not TCP")
            };
            assert_eq!((p.src, p.dst, p.seq, p.ack), (s.src, s.dst, s.seq, s.ack));
            assert_eq!((p.flags, p.window), (s.flags, s.window));
            assert_eq!(p.options, opts);
            assert_eq!(p.payload, [head, body].concat());
        }
    }

    #[test]
    fn parse_rejects_damage() {
        let s = seg(&[], [b"hello", b""]);
        let mut good = vec![0; s.frame_len()];
        s.write(&mut good);
        let mut f = good.clone();
        f[L4 + 20] ^= 1;
        assert!(matches!(parse(&f), Err(Mismatch::TcpChecksum)));
        let mut f = good.clone();
        f[L3 + 8] = 63;
        assert!(matches!(parse(&f), Err(Mismatch::IpHeader)));
        let mut f = good.clone();
        f[L3 + 11] ^= 1;
        assert!(matches!(parse(&f), Err(Mismatch::IpChecksum)));
        let mut f = good.clone();
        f.push(0);
        assert!(matches!(parse(&f), Err(Mismatch::Length { .. })));
        let mut f = good.clone();
        *f.last_mut().unwrap() = 1; // stale byte in the padding
        assert!(matches!(parse(&f), Err(Mismatch::Padding)));
        assert!(parse(&good).is_ok());
    }

    #[test]
    fn arp_round_trip_and_options() {
        let a = ArpOut {
            dst_mac: [2, 0, 0, 0, 0, 2],
            op: 1,
            sender: ([2, 0, 0, 0, 0, 0xfe], Ipv4Addr::new(198, 18, 0, 254)),
            target: ([0; 6], Ipv4Addr::new(198, 18, 0, 1)),
        };
        let mut f = vec![0xaa; ArpOut::LEN];
        a.write(&mut f);
        let FrameIn::Arp(p) = parse(&f).unwrap() else {
            panic!()
        };
        assert_eq!((p.op, p.sender, p.target), (1, a.sender, a.target));
        assert_eq!(p.src_mac, a.sender.0);
        let o = options(&[
            2, 4, 5, 0xb4, 1, 1, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
        ])
        .unwrap();
        assert_eq!(o.mss, Some(1460));
        assert_eq!(o.wscale, Some(7));
        assert!(o.sack_ok && o.ts == Some((1, 0)) && !o.sack);
        let syn = linux_syn_options(0x0102_0304, 9);
        let o = options(&syn).unwrap();
        assert_eq!(o.mss, Some(1460));
        assert_eq!(o.wscale, Some(7));
        assert!(o.sack_ok && !o.sack);
        assert_eq!(o.ts, Some((0x0102_0304, 9)));
        let o = options(&timestamp_option(5, 6)).unwrap();
        assert_eq!(
            (o.ts, o.mss, o.wscale, o.sack_ok),
            (Some((5, 6)), None, None, false)
        );
        assert!(options(&[2, 9]).is_none());
    }
}
