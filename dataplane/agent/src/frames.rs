//! Reading a frame's addresses, and building the few frames the agent originates: the
//! channel's UDP datagrams and the TCP segments it replays into the kernel.
//!
//! Only the slow path builds frames (a handful per handed-off connection), so the
//! builders allocate; forwarded frames are never copied.

use splicer_wire::ethernet::{self, ethertype, Frame};
use splicer_wire::tcp::{self, TcpRepr};
use splicer_wire::{ipv4, udp, EthernetAddress};
use std::net::{Ipv4Addr, SocketAddrV4};

/// TTL of the packets the agent builds.
const TTL: u8 = 64;

/// The transport header of an IPv4 frame, as far as the agent cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L4 {
    /// [`ipv4::protocol::TCP`] or [`ipv4::protocol::UDP`] (others are not reported).
    pub protocol: u8,
    /// Source address and port.
    pub src: SocketAddrV4,
    /// Destination address and port.
    pub dst: SocketAddrV4,
    /// Where the IPv4 header starts in the frame.
    pub ip_at: usize,
    /// Where the IPv4 packet ends (its total length; Ethernet padding follows).
    pub ip_end: usize,
}

/// The addresses of an unfragmented IPv4 TCP or UDP frame whose headers fit; `None`
/// for anything else (ARP, IPv6, ICMP, fragments, truncated frames), which the agent
/// bridges without looking further.
pub fn l4(frame: &[u8]) -> Option<L4> {
    let eth = Frame::new_checked(frame).ok()?;
    if eth.ethertype() != ethertype::IPV4 {
        return None;
    }
    let ip = ipv4::Packet::new_checked(eth.payload()).ok()?;
    if ip.is_fragment() {
        return None;
    }
    let protocol = ip.protocol();
    let payload = ip.payload();
    let (sport, dport) = match protocol {
        ipv4::protocol::TCP => {
            let t = tcp::Packet::new_checked(payload).ok()?;
            (t.src_port(), t.dst_port())
        }
        ipv4::protocol::UDP => {
            let u = udp::Packet::new_checked(payload).ok()?;
            (u.src_port(), u.dst_port())
        }
        _ => return None,
    };
    Some(L4 {
        protocol,
        src: SocketAddrV4::new(ip.src_addr(), sport),
        dst: SocketAddrV4::new(ip.dst_addr(), dport),
        ip_at: ethernet::HEADER_LEN,
        ip_end: ethernet::HEADER_LEN + usize::from(ip.total_len()),
    })
}

/// The source MAC of a frame (the caller checked it is at least a header long).
pub fn src_mac(frame: &[u8]) -> Option<EthernetAddress> {
    Frame::new_checked(frame).ok().map(|f| f.src_addr())
}

/// Sets a frame's destination MAC.
pub fn set_dst_mac(frame: &mut [u8], mac: EthernetAddress) {
    if let Ok(mut f) = Frame::new_checked(frame) {
        f.set_dst_addr(mac);
    }
}

fn ip_frame(
    src_mac: EthernetAddress,
    dst_mac: EthernetAddress,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
    l4_len: usize,
) -> Vec<u8> {
    let mut b = vec![0u8; ethernet::HEADER_LEN + ipv4::HEADER_LEN + l4_len];
    let mut eth = Frame::new_unchecked(&mut b[..]);
    eth.set_dst_addr(dst_mac);
    eth.set_src_addr(src_mac);
    eth.set_ethertype(ethertype::IPV4);
    ipv4::emit_header(
        &mut b[ethernet::HEADER_LEN..],
        src,
        dst,
        protocol,
        l4_len as u16,
        TTL,
        0,
    );
    b
}

/// An Ethernet/IPv4/UDP frame carrying `payload`, checksums filled.
pub fn udp_frame(
    src_mac: EthernetAddress,
    dst_mac: EthernetAddress,
    src: SocketAddrV4,
    dst: SocketAddrV4,
    payload: &[u8],
) -> Vec<u8> {
    let l4_len = udp::HEADER_LEN + payload.len();
    let mut b = ip_frame(
        src_mac,
        dst_mac,
        *src.ip(),
        *dst.ip(),
        ipv4::protocol::UDP,
        l4_len,
    );
    let at = ethernet::HEADER_LEN + ipv4::HEADER_LEN;
    let mut u = udp::Packet::new_unchecked(&mut b[at..]);
    u.set_src_port(src.port());
    u.set_dst_port(dst.port());
    u.set_len(l4_len as u16);
    u.payload_mut().copy_from_slice(payload);
    u.fill_checksum(*src.ip(), *dst.ip());
    b
}

/// An Ethernet/IPv4/TCP frame for `repr` with `payload`, checksums filled.
pub fn tcp_frame(
    src_mac: EthernetAddress,
    dst_mac: EthernetAddress,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    repr: &TcpRepr,
    payload: &[u8],
) -> Vec<u8> {
    let mut b = ip_frame(
        src_mac,
        dst_mac,
        src,
        dst,
        ipv4::protocol::TCP,
        repr.buffer_len(),
    );
    let at = ethernet::HEADER_LEN + ipv4::HEADER_LEN;
    repr.emit(
        &mut tcp::Packet::new_unchecked(&mut b[at..]),
        src,
        dst,
        payload,
    );
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use splicer_wire::tcp::{SeqNumber, TcpFlags, TcpOptions};

    const A: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
    const B: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);

    #[test]
    fn built_frames_read_back_with_valid_checksums() {
        let src: SocketAddrV4 = "198.19.0.11:7470".parse().unwrap();
        let dst: SocketAddrV4 = "198.19.0.1:7470".parse().unwrap();
        let f = udp_frame(A, B, src, dst, b"hello");
        let l = l4(&f).unwrap();
        assert_eq!((l.protocol, l.src, l.dst), (ipv4::protocol::UDP, src, dst));
        assert_eq!(l.ip_end, f.len());
        let ip = ipv4::Packet::new_checked(&f[l.ip_at..]).unwrap();
        assert!(ip.verify_checksum());
        let u = udp::Packet::new_checked(ip.payload()).unwrap();
        assert!(u.verify_checksum(*src.ip(), *dst.ip()));
        assert_eq!(u.payload(), b"hello");
        assert_eq!(src_mac(&f), Some(A));

        let repr = TcpRepr {
            src_port: 1234,
            dst_port: 80,
            seq: SeqNumber(7),
            ack: Some(SeqNumber(9)),
            flags: TcpFlags::PSH,
            window: 100,
            options: TcpOptions::NONE,
            payload_len: 3,
        };
        let mut f = tcp_frame(A, B, *src.ip(), *dst.ip(), &repr, b"GET");
        set_dst_mac(&mut f, A);
        let l = l4(&f).unwrap();
        assert_eq!(l.protocol, ipv4::protocol::TCP);
        let ip = ipv4::Packet::new_checked(&f[l.ip_at..]).unwrap();
        let t = tcp::Packet::new_checked(ip.payload()).unwrap();
        assert!(t.verify_checksum(*src.ip(), *dst.ip()));
        assert_eq!(t.payload(), b"GET");
        assert_eq!(Frame::new_checked(&f[..]).unwrap().dst_addr(), A);
    }

    #[test]
    fn other_frames_are_not_reported() {
        let mut f = udp_frame(
            A,
            B,
            "1.2.3.4:1".parse().unwrap(),
            "1.2.3.5:2".parse().unwrap(),
            b"",
        );
        assert!(l4(&f[..20]).is_none());
        f[12] = 0x08;
        f[13] = 0x06; // ARP
        assert!(l4(&f).is_none());
    }
}
