//! Ethernet II frames and MAC addresses.

use crate::field::{mac_at, set_mac_at, set_u16_at, u16_at};
use crate::{Error, Result};
use core::fmt;
use core::str::FromStr;

/// Length of an Ethernet II header without VLAN tags (the FCS is not in the buffer).
pub const HEADER_LEN: usize = 14;

/// EtherType values Splicer recognises.
pub mod ethertype {
    /// IPv4.
    pub const IPV4: u16 = 0x0800;
    /// ARP.
    pub const ARP: u16 = 0x0806;
    /// IEEE 802.1Q VLAN tag.
    pub const VLAN: u16 = 0x8100;
    /// IPv6.
    pub const IPV6: u16 = 0x86dd;
}

/// A 48-bit Ethernet MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EthernetAddress(pub [u8; 6]);

impl EthernetAddress {
    /// `ff:ff:ff:ff:ff:ff`.
    pub const BROADCAST: EthernetAddress = EthernetAddress([0xff; 6]);

    /// Whether this is the broadcast address.
    #[inline]
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    /// Whether the group bit is set; true for broadcast too.
    #[inline]
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// Whether this addresses a single station (the group bit is clear).
    #[inline]
    pub fn is_unicast(&self) -> bool {
        !self.is_multicast()
    }
}

impl From<[u8; 6]> for EthernetAddress {
    fn from(octets: [u8; 6]) -> Self {
        EthernetAddress(octets)
    }
}

impl fmt::Display for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

/// The string given to [`EthernetAddress::from_str`] is not a MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthernetAddressParseError;

impl fmt::Display for EthernetAddressParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "invalid Ethernet address: expected six two-digit hex octets, like aa:bb:cc:dd:ee:ff",
        )
    }
}

impl std::error::Error for EthernetAddressParseError {}

impl FromStr for EthernetAddress {
    type Err = EthernetAddressParseError;

    /// Parses `aa:bb:cc:dd:ee:ff`, either case; `-` is accepted as the separator too,
    /// as Windows tools print it, but not mixed with `:`.
    fn from_str(s: &str) -> core::result::Result<Self, Self::Err> {
        let sep = if s.contains('-') { '-' } else { ':' };
        let mut out = [0u8; 6];
        let mut parts = s.split(sep);
        for o in &mut out {
            let p = parts.next().ok_or(EthernetAddressParseError)?;
            // from_str_radix alone would accept "+f" and single digits.
            if p.len() != 2 || !p.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(EthernetAddressParseError);
            }
            *o = u8::from_str_radix(p, 16).map_err(|_| EthernetAddressParseError)?;
        }
        if parts.next().is_some() {
            return Err(EthernetAddressParseError);
        }
        Ok(EthernetAddress(out))
    }
}

mod offset {
    pub(super) const DST: usize = 0;
    pub(super) const SRC: usize = 6;
    pub(super) const ETHERTYPE: usize = 12;
}

/// A view of an Ethernet II frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// Wraps `buffer` without checking it; getters panic if it is shorter than
    /// [`HEADER_LEN`].
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Frame<T> {
        Frame { buffer }
    }

    /// Wraps `buffer` after [`Frame::check_len`].
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Frame<T>> {
        let f = Self::new_unchecked(buffer);
        f.check_len()?;
        Ok(f)
    }

    /// [`Error::Truncated`] unless the buffer holds a whole header.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// The wrapped buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Destination MAC address.
    #[inline]
    pub fn dst_addr(&self) -> EthernetAddress {
        mac_at(self.buffer.as_ref(), offset::DST)
    }

    /// Source MAC address.
    #[inline]
    pub fn src_addr(&self) -> EthernetAddress {
        mac_at(self.buffer.as_ref(), offset::SRC)
    }

    /// EtherType (or the TPID of a VLAN tag, which Splicer does not parse).
    #[inline]
    pub fn ethertype(&self) -> u16 {
        u16_at(self.buffer.as_ref(), offset::ETHERTYPE)
    }

    /// Everything after the header, Ethernet padding included.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Frame<&'a T> {
    /// Like [`Frame::payload`], but borrowing the underlying buffer rather than the
    /// view, so that the view can be a temporary.
    #[inline]
    pub fn into_payload(self) -> &'a [u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
    /// Sets the destination MAC address.
    #[inline]
    pub fn set_dst_addr(&mut self, addr: EthernetAddress) {
        set_mac_at(self.buffer.as_mut(), offset::DST, addr);
    }

    /// Sets the source MAC address.
    #[inline]
    pub fn set_src_addr(&mut self, addr: EthernetAddress) {
        set_mac_at(self.buffer.as_mut(), offset::SRC, addr);
    }

    /// Sets the EtherType.
    #[inline]
    pub fn set_ethertype(&mut self, ethertype: u16) {
        set_u16_at(self.buffer.as_mut(), offset::ETHERTYPE, ethertype);
    }

    /// Everything after the header, mutably.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[HEADER_LEN..]
    }
}

impl<'a> Frame<&'a mut [u8]> {
    /// Like [`Frame::payload_mut`], but borrowing the underlying buffer rather than
    /// the view.
    #[inline]
    pub fn into_payload_mut(self) -> &'a mut [u8] {
        &mut self.buffer[HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Frame<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::hex;

    /// The ARP request Linux sent for 192.0.2.77 (tcpdump -xx), padding not captured.
    const ARP_FRAME: &str = "ffff ffff ffff 02fc 0000 0001 0806 0001
                             0800 0604 0001 02fc 0000 0001 c000 0202
                             0000 0000 0000 c000 024d";

    #[test]
    fn parses_captured_frame() {
        let bytes = hex(ARP_FRAME);
        let f = Frame::new_checked(&bytes[..]).unwrap();
        assert_eq!(f.dst_addr(), EthernetAddress::BROADCAST);
        assert_eq!(f.src_addr(), EthernetAddress([0x02, 0xfc, 0, 0, 0, 1]));
        assert_eq!(f.ethertype(), ethertype::ARP);
        assert_eq!(f.payload().len(), 28);
        assert_eq!(f.payload()[..2], [0x00, 0x01]);
        assert_eq!(f.into_payload(), &bytes[14..]);
    }

    #[test]
    fn check_len() {
        assert_eq!(Frame::new_checked(&[0u8; 13][..]), Err(Error::Truncated));
        assert_eq!(Frame::new_checked(&[][..]).err(), Some(Error::Truncated));
        let f = Frame::new_checked(&[0u8; 14][..]).unwrap();
        assert!(f.payload().is_empty());
    }

    #[test]
    fn setters_round_trip() {
        let mut buf = [0u8; 20];
        let mut f = Frame::new_unchecked(&mut buf[..]);
        let a = EthernetAddress([1, 2, 3, 4, 5, 6]);
        let b = EthernetAddress([0xa, 0xb, 0xc, 0xd, 0xe, 0xf]);
        f.set_dst_addr(a);
        f.set_src_addr(b);
        f.set_ethertype(ethertype::IPV6);
        f.payload_mut().copy_from_slice(b"splice");
        assert_eq!((f.dst_addr(), f.src_addr(), f.ethertype()), (a, b, 0x86dd));
        assert_eq!(f.payload(), b"splice");
        f.into_payload_mut()[0] = b'S';
        assert_eq!(
            hex("010203040506 0a0b0c0d0e0f 86dd")[..],
            buf[..14],
            "fields land at their wire offsets"
        );
        assert_eq!(&buf[14..], b"Splice");
    }

    #[test]
    fn address_classes() {
        assert!(EthernetAddress::BROADCAST.is_broadcast());
        assert!(EthernetAddress::BROADCAST.is_multicast());
        assert!(!EthernetAddress::BROADCAST.is_unicast());
        let mcast = EthernetAddress([0x01, 0x00, 0x5e, 0, 0, 1]);
        assert!(mcast.is_multicast() && !mcast.is_broadcast() && !mcast.is_unicast());
        let ucast = EthernetAddress([0x02, 0xfc, 0, 0, 0, 1]);
        assert!(ucast.is_unicast() && !ucast.is_multicast() && !ucast.is_broadcast());
        assert_eq!(EthernetAddress::default(), EthernetAddress([0; 6]));
    }

    #[test]
    fn address_display_and_parse() {
        let a = EthernetAddress([0xaa, 0xbb, 0x0c, 0xdd, 0x0e, 0xff]);
        assert_eq!(a.to_string(), "aa:bb:0c:dd:0e:ff");
        assert_eq!("aa:bb:0c:dd:0e:ff".parse::<EthernetAddress>(), Ok(a));
        assert_eq!("AA:BB:0C:DD:0E:FF".parse::<EthernetAddress>(), Ok(a));
        assert_eq!("aa-bb-0c-dd-0e-ff".parse::<EthernetAddress>(), Ok(a));
        for bad in [
            "",
            "aa:bb:cc:dd:ee",
            "aa:bb:cc:dd:ee:ff:00",
            "aa:bb:cc:dd:ee:f",
            "aa:bb:cc:dd:ee:fff",
            "aa:bb:cc:dd:ee:+f",
            "aa:bb:cc:dd:ee:gg",
            "aa:bb:cc-dd:ee:ff",
            "aa:bb:cc:dd:ee:ff:",
            " aa:bb:cc:dd:ee:ff",
        ] {
            assert_eq!(
                bad.parse::<EthernetAddress>(),
                Err(EthernetAddressParseError),
                "{bad:?}"
            );
        }
        assert!(EthernetAddressParseError
            .to_string()
            .contains("aa:bb:cc:dd:ee:ff"));
    }
}
