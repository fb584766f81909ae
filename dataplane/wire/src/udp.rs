//! UDP datagrams (RFC 768).

use crate::checksum;
use crate::field::{set_u16_at, u16_at};
use crate::ipv4::protocol;
use crate::{Error, Result};
use std::net::Ipv4Addr;

/// Length of the UDP header.
pub const HEADER_LEN: usize = 8;

mod offset {
    pub(super) const SRC_PORT: usize = 0;
    pub(super) const DST_PORT: usize = 2;
    pub(super) const LEN: usize = 4;
    pub(super) const CHECKSUM: usize = 6;
}

/// A view of a UDP datagram. The buffer is normally the IPv4 payload; the datagram
/// ends where its length field says, and anything beyond is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checking it; getters panic if it is shorter than
    /// [`HEADER_LEN`], and the payload accessors if the length field points past
    /// its end.
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

    /// [`Error::Truncated`] if the buffer is shorter than [`HEADER_LEN`] or than the
    /// length field; [`Error::Malformed`] if the length field is below the header
    /// length.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let buf_len = self.buffer.as_ref().len();
        if buf_len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let len = usize::from(self.len());
        if len < HEADER_LEN {
            return Err(Error::Malformed);
        }
        if len > buf_len {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// The wrapped buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Source port.
    #[inline]
    pub fn src_port(&self) -> u16 {
        u16_at(self.buffer.as_ref(), offset::SRC_PORT)
    }

    /// Destination port.
    #[inline]
    pub fn dst_port(&self) -> u16 {
        u16_at(self.buffer.as_ref(), offset::DST_PORT)
    }

    /// Length of header and payload, from the length field.
    #[inline]
    #[allow(clippy::len_without_is_empty)] // a header field, not a container length
    pub fn len(&self) -> u16 {
        u16_at(self.buffer.as_ref(), offset::LEN)
    }

    /// Checksum as stored; 0 means the sender computed none.
    #[inline]
    pub fn checksum(&self) -> u16 {
        u16_at(self.buffer.as_ref(), offset::CHECKSUM)
    }

    /// The payload, up to the length field.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..usize::from(self.len())]
    }

    /// Whether the checksum is correct for a datagram carried from `src` to `dst`;
    /// true when the sender sent none (checksum 0), which IPv4 allows.
    #[inline]
    pub fn verify_checksum(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        if self.checksum() == 0 {
            return true;
        }
        let len = self.len();
        let data = &self.buffer.as_ref()[..usize::from(len)];
        let pseudo = checksum::pseudo_header_v4(src, dst, protocol::UDP, len);
        checksum::finish(pseudo + checksum::sum(data)) == 0
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// Like [`Packet::payload`], but borrowing the underlying buffer rather than the
    /// view, so that the view can be a temporary.
    #[inline]
    pub fn into_payload(self) -> &'a [u8] {
        let end = usize::from(self.len());
        &self.buffer.as_ref()[HEADER_LEN..end]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the source port.
    #[inline]
    pub fn set_src_port(&mut self, v: u16) {
        set_u16_at(self.buffer.as_mut(), offset::SRC_PORT, v);
    }

    /// Sets the destination port.
    #[inline]
    pub fn set_dst_port(&mut self, v: u16) {
        set_u16_at(self.buffer.as_mut(), offset::DST_PORT, v);
    }

    /// Sets the length field.
    #[inline]
    pub fn set_len(&mut self, v: u16) {
        set_u16_at(self.buffer.as_mut(), offset::LEN, v);
    }

    /// Sets the checksum.
    #[inline]
    pub fn set_checksum(&mut self, v: u16) {
        set_u16_at(self.buffer.as_mut(), offset::CHECKSUM, v);
    }

    /// The payload, up to the length field, mutably.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = usize::from(self.len());
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }

    /// Computes and stores the checksum for a datagram carried from `src` to `dst`,
    /// over the length the length field gives.
    #[inline]
    pub fn fill_checksum(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        self.set_checksum(0);
        let len = self.len();
        let data = &self.buffer.as_ref()[..usize::from(len)];
        let pseudo = checksum::pseudo_header_v4(src, dst, protocol::UDP, len);
        let c = checksum::finish(pseudo + checksum::sum(data));
        // A computed 0 is sent as its ones-complement twin 0xffff, since 0 on the
        // wire means "no checksum" (RFC 768).
        self.set_checksum(if c == 0 { 0xffff } else { c });
    }
}

impl<'a> Packet<&'a mut [u8]> {
    /// Like [`Packet::payload_mut`], but borrowing the underlying buffer rather than
    /// the view.
    #[inline]
    pub fn into_payload_mut(self) -> &'a mut [u8] {
        let end = usize::from(self.len());
        &mut self.buffer[HEADER_LEN..end]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::hex;

    /// A DNS query for example.com sent to 127.0.0.1:53, captured on lo after the IPv4
    /// header. Loopback left the pseudo-header sum 0xfe38 in the checksum field;
    /// 0x7fbf is the full checksum tcpdump computed.
    const DNS_QUERY: &str = "9511 0035 0025 7fbf 1d2e 0100 0001 0000 0000 0000
                             0765 7861 6d70 6c65 0363 6f6d 0000 0100 01";

    fn lo() -> Ipv4Addr {
        Ipv4Addr::LOCALHOST
    }

    #[test]
    fn parses_captured_datagram() {
        let b = hex(DNS_QUERY);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!((p.src_port(), p.dst_port()), (38161, 53));
        assert_eq!(p.len(), 37);
        assert_eq!(p.checksum(), 0x7fbf);
        assert_eq!(p.payload().len(), 29);
        assert_eq!(&p.payload()[13..20], b"example");
        assert!(p.verify_checksum(lo(), lo()));
        assert!(!p.verify_checksum(lo(), Ipv4Addr::new(127, 0, 0, 53)));
        assert_eq!(
            checksum::fold(checksum::pseudo_header_v4(lo(), lo(), protocol::UDP, 37)),
            0xfe38,
            "the offload placeholder in the raw capture"
        );
    }

    #[test]
    fn check_len_errors() {
        let good = hex(DNS_QUERY);
        let check = |b: &[u8]| Packet::new_checked(b).err();
        assert_eq!(check(&good[..7]), Some(Error::Truncated));
        assert_eq!(check(&[]), Some(Error::Truncated));
        assert_eq!(check(&good[..36]), Some(Error::Truncated), "payload cut");
        for bad_len in [0u8, 7] {
            let mut b = good.clone();
            b[4..6].copy_from_slice(&[0, bad_len]);
            assert_eq!(check(&b), Some(Error::Malformed), "length {bad_len}");
        }
        let mut b = good.clone();
        b[4..6].copy_from_slice(&[0, 8]);
        assert!(Packet::new_checked(&b[..8]).unwrap().payload().is_empty());
    }

    #[test]
    fn padding_beyond_length_is_ignored() {
        let mut b = hex(DNS_QUERY);
        b.extend_from_slice(&[0; 9]);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.payload().len(), 29);
        assert!(p.verify_checksum(lo(), lo()));
        assert_eq!(p.into_payload().len(), 29);
    }

    #[test]
    fn setters_round_trip() {
        let mut b = [0u8; 12];
        let mut p = Packet::new_unchecked(&mut b[..]);
        p.set_src_port(1);
        p.set_dst_port(0xfffe);
        p.set_len(12);
        p.set_checksum(0x8001);
        p.payload_mut().copy_from_slice(b"abcd");
        assert_eq!(
            (p.src_port(), p.dst_port(), p.len(), p.checksum()),
            (1, 0xfffe, 12, 0x8001)
        );
        assert_eq!(p.payload(), b"abcd");
        p.into_payload_mut()[0] = b'A';
        assert_eq!(b, *b"\x00\x01\xff\xfe\x00\x0c\x80\x01Abcd");
    }

    #[test]
    fn checksum_fill_and_zero() {
        let mut b = hex(DNS_QUERY);
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        p.set_checksum(0);
        assert!(p.verify_checksum(lo(), lo()), "0 means no checksum");
        p.fill_checksum(lo(), lo());
        assert_eq!(p.checksum(), 0x7fbf);
        p.payload_mut()[0] ^= 0x80;
        assert!(!p.verify_checksum(lo(), lo()));
    }

    #[test]
    fn computed_zero_is_sent_as_ffff() {
        // Choose the source port so that the full sum folds to 0xffff, making the
        // computed checksum 0.
        let mut b = hex("0000 0035 000a 0000 abcd");
        let src = Ipv4Addr::new(10, 0, 0, 1);
        let dst = Ipv4Addr::new(10, 0, 0, 2);
        let rest = checksum::pseudo_header_v4(src, dst, protocol::UDP, 10) + checksum::sum(&b);
        let port = !checksum::fold(rest);
        b[..2].copy_from_slice(&port.to_be_bytes());
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        p.fill_checksum(src, dst);
        assert_eq!(p.checksum(), 0xffff);
        assert!(p.verify_checksum(src, dst));
    }
}
