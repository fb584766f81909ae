//! ARP for IPv4 over Ethernet (RFC 826), the only kind Splicer speaks.

use crate::field::{ipv4_at, mac_at, set_ipv4_at, set_mac_at, set_u16_at, u16_at};
use crate::{ethernet, Error, EthernetAddress, Result};
use std::net::Ipv4Addr;

/// Length of an Ethernet/IPv4 ARP packet.
pub const PACKET_LEN: usize = 28;

/// Hardware type of Ethernet.
pub const HTYPE_ETHERNET: u16 = 1;

/// ARP operation codes.
pub mod operation {
    /// Who has this protocol address?
    pub const REQUEST: u16 = 1;
    /// This hardware address has it.
    pub const REPLY: u16 = 2;
}

mod offset {
    pub(super) const HTYPE: usize = 0;
    pub(super) const PTYPE: usize = 2;
    pub(super) const HLEN: usize = 4;
    pub(super) const PLEN: usize = 5;
    pub(super) const OPER: usize = 6;
    pub(super) const SHA: usize = 8;
    pub(super) const SPA: usize = 14;
    pub(super) const THA: usize = 18;
    pub(super) const TPA: usize = 24;
}

/// A view of an Ethernet/IPv4 ARP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checking it; getters panic if it is shorter than
    /// [`PACKET_LEN`].
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer` after [`Packet::check_len`].
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// [`Error::Truncated`] if the buffer is shorter than [`PACKET_LEN`];
    /// [`Error::Malformed`] unless it is Ethernet/IPv4 ARP, since the fixed field
    /// offsets only hold for 6-byte hardware and 4-byte protocol addresses.
    /// Trailing bytes (Ethernet padding) are allowed.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < PACKET_LEN {
            return Err(Error::Truncated);
        }
        if self.hardware_type() != HTYPE_ETHERNET
            || self.protocol_type() != ethernet::ethertype::IPV4
            || self.hardware_len() != 6
            || self.protocol_len() != 4
        {
            return Err(Error::Malformed);
        }
        Ok(())
    }

    /// The wrapped buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Hardware type (1 for Ethernet).
    #[inline]
    pub fn hardware_type(&self) -> u16 {
        u16_at(self.buffer.as_ref(), offset::HTYPE)
    }

    /// Protocol type, an EtherType (0x0800 for IPv4).
    #[inline]
    pub fn protocol_type(&self) -> u16 {
        u16_at(self.buffer.as_ref(), offset::PTYPE)
    }

    /// Hardware address length.
    #[inline]
    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[offset::HLEN]
    }

    /// Protocol address length.
    #[inline]
    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref()[offset::PLEN]
    }

    /// Operation, see [`operation`].
    #[inline]
    pub fn operation(&self) -> u16 {
        u16_at(self.buffer.as_ref(), offset::OPER)
    }

    /// Sender hardware address.
    #[inline]
    pub fn source_hardware_addr(&self) -> EthernetAddress {
        mac_at(self.buffer.as_ref(), offset::SHA)
    }

    /// Sender protocol address.
    #[inline]
    pub fn source_protocol_addr(&self) -> Ipv4Addr {
        ipv4_at(self.buffer.as_ref(), offset::SPA)
    }

    /// Target hardware address (ignored in requests).
    #[inline]
    pub fn target_hardware_addr(&self) -> EthernetAddress {
        mac_at(self.buffer.as_ref(), offset::THA)
    }

    /// Target protocol address.
    #[inline]
    pub fn target_protocol_addr(&self) -> Ipv4Addr {
        ipv4_at(self.buffer.as_ref(), offset::TPA)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the hardware type.
    #[inline]
    pub fn set_hardware_type(&mut self, v: u16) {
        set_u16_at(self.buffer.as_mut(), offset::HTYPE, v);
    }

    /// Sets the protocol type.
    #[inline]
    pub fn set_protocol_type(&mut self, v: u16) {
        set_u16_at(self.buffer.as_mut(), offset::PTYPE, v);
    }

    /// Sets the hardware address length.
    #[inline]
    pub fn set_hardware_len(&mut self, v: u8) {
        self.buffer.as_mut()[offset::HLEN] = v;
    }

    /// Sets the protocol address length.
    #[inline]
    pub fn set_protocol_len(&mut self, v: u8) {
        self.buffer.as_mut()[offset::PLEN] = v;
    }

    /// Sets the operation.
    #[inline]
    pub fn set_operation(&mut self, v: u16) {
        set_u16_at(self.buffer.as_mut(), offset::OPER, v);
    }

    /// Sets the sender hardware address.
    #[inline]
    pub fn set_source_hardware_addr(&mut self, a: EthernetAddress) {
        set_mac_at(self.buffer.as_mut(), offset::SHA, a);
    }

    /// Sets the sender protocol address.
    #[inline]
    pub fn set_source_protocol_addr(&mut self, a: Ipv4Addr) {
        set_ipv4_at(self.buffer.as_mut(), offset::SPA, a);
    }

    /// Sets the target hardware address.
    #[inline]
    pub fn set_target_hardware_addr(&mut self, a: EthernetAddress) {
        set_mac_at(self.buffer.as_mut(), offset::THA, a);
    }

    /// Sets the target protocol address.
    #[inline]
    pub fn set_target_protocol_addr(&mut self, a: Ipv4Addr) {
        set_ipv4_at(self.buffer.as_mut(), offset::TPA, a);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// Writes a complete Ethernet/IPv4 ARP packet into the first [`PACKET_LEN`] bytes of
/// `buf`, fixed fields included, so that a reply can be built over the request it
/// answers.
///
/// # Panics
///
/// If `buf` is shorter than [`PACKET_LEN`].
#[inline]
pub fn emit(
    buf: &mut [u8],
    op: u16,
    sha: EthernetAddress,
    spa: Ipv4Addr,
    tha: EthernetAddress,
    tpa: Ipv4Addr,
) {
    let mut p = Packet::new_unchecked(&mut buf[..PACKET_LEN]);
    p.set_hardware_type(HTYPE_ETHERNET);
    p.set_protocol_type(ethernet::ethertype::IPV4);
    p.set_hardware_len(6);
    p.set_protocol_len(4);
    p.set_operation(op);
    p.set_source_hardware_addr(sha);
    p.set_source_protocol_addr(spa);
    p.set_target_hardware_addr(tha);
    p.set_target_protocol_addr(tpa);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::hex;

    /// "who-has 192.0.2.77 tell 192.0.2.2" from Linux, after the Ethernet header.
    const REQUEST: &str = "0001 0800 0604 0001 02fc 0000 0001 c000 0202
                           0000 0000 0000 c000 024d";

    const OUR_MAC: EthernetAddress = EthernetAddress([0x02, 0xfc, 0, 0, 0, 1]);

    #[test]
    fn parses_captured_request() {
        let bytes = hex(REQUEST);
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.hardware_type(), 1);
        assert_eq!(p.protocol_type(), 0x0800);
        assert_eq!((p.hardware_len(), p.protocol_len()), (6, 4));
        assert_eq!(p.operation(), operation::REQUEST);
        assert_eq!(p.source_hardware_addr(), OUR_MAC);
        assert_eq!(p.source_protocol_addr(), Ipv4Addr::new(192, 0, 2, 2));
        assert_eq!(p.target_hardware_addr(), EthernetAddress([0; 6]));
        assert_eq!(p.target_protocol_addr(), Ipv4Addr::new(192, 0, 2, 77));
    }

    #[test]
    fn check_len_errors() {
        let good = hex(REQUEST);
        assert_eq!(
            Packet::new_checked(&good[..27]).err(),
            Some(Error::Truncated)
        );
        assert_eq!(Packet::new_checked(&[][..]).err(), Some(Error::Truncated));

        let mut padded = good.clone();
        padded.resize(46, 0);
        assert!(Packet::new_checked(&padded[..]).is_ok());

        // Each of the four fixed fields, in turn, made wrong.
        for (at, bad) in [(1, 6u8), (2, 0x86), (4, 16), (5, 16)] {
            let mut b = good.clone();
            b[at] = bad;
            assert_eq!(
                Packet::new_checked(&b[..]).err(),
                Some(Error::Malformed),
                "byte {at}"
            );
        }
    }

    #[test]
    fn setters_round_trip() {
        let mut buf = [0u8; PACKET_LEN];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.set_hardware_type(6);
        p.set_protocol_type(0x86dd);
        p.set_hardware_len(8);
        p.set_protocol_len(16);
        p.set_operation(operation::REPLY);
        let (a, b) = (
            EthernetAddress([1, 2, 3, 4, 5, 6]),
            EthernetAddress([6, 5, 4, 3, 2, 1]),
        );
        let (x, y) = (Ipv4Addr::new(10, 1, 2, 3), Ipv4Addr::new(10, 3, 2, 1));
        p.set_source_hardware_addr(a);
        p.set_source_protocol_addr(x);
        p.set_target_hardware_addr(b);
        p.set_target_protocol_addr(y);
        assert_eq!((p.hardware_type(), p.protocol_type()), (6, 0x86dd));
        assert_eq!(
            (p.hardware_len(), p.protocol_len(), p.operation()),
            (8, 16, 2)
        );
        assert_eq!((p.source_hardware_addr(), p.source_protocol_addr()), (a, x));
        assert_eq!((p.target_hardware_addr(), p.target_protocol_addr()), (b, y));
        assert_eq!(p.check_len(), Err(Error::Malformed));
    }

    #[test]
    fn emit_reproduces_capture_and_builds_reply() {
        let mut buf = [0xeeu8; 30];
        emit(
            &mut buf,
            operation::REQUEST,
            OUR_MAC,
            Ipv4Addr::new(192, 0, 2, 2),
            EthernetAddress([0; 6]),
            Ipv4Addr::new(192, 0, 2, 77),
        );
        assert_eq!(buf[..PACKET_LEN], hex(REQUEST)[..]);
        assert_eq!(
            buf[PACKET_LEN..],
            [0xee, 0xee],
            "emit stays within PACKET_LEN"
        );

        // A reply written over garbage is still a valid ARP packet.
        let peer = EthernetAddress([0x02, 0, 0, 0, 0, 0x4d]);
        let mut garbage = [0xffu8; PACKET_LEN];
        emit(
            &mut garbage,
            operation::REPLY,
            peer,
            Ipv4Addr::new(192, 0, 2, 77),
            OUR_MAC,
            Ipv4Addr::new(192, 0, 2, 2),
        );
        let p = Packet::new_checked(&garbage[..]).unwrap();
        assert_eq!(p.operation(), operation::REPLY);
        assert_eq!(p.source_hardware_addr(), peer);
        assert_eq!(p.target_hardware_addr(), OUR_MAC);
        assert_eq!(p.target_protocol_addr(), Ipv4Addr::new(192, 0, 2, 2));
    }
}
