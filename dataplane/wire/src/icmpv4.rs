//! ICMPv4 messages (RFC 792).

use crate::checksum;
use crate::field::{set_u16_at, u16_at};
use crate::{Error, Result};

/// Length of the fixed ICMP header: type, code, checksum and 4 type-specific bytes.
pub const HEADER_LEN: usize = 8;

/// ICMP message types Splicer handles.
pub mod msg_type {
    /// Echo reply.
    pub const ECHO_REPLY: u8 = 0;
    /// Destination unreachable.
    pub const DEST_UNREACHABLE: u8 = 3;
    /// Echo request.
    pub const ECHO_REQUEST: u8 = 8;
    /// Time exceeded.
    pub const TIME_EXCEEDED: u8 = 11;
}

mod offset {
    pub(super) const TYPE: usize = 0;
    pub(super) const CODE: usize = 1;
    pub(super) const CHECKSUM: usize = 2;
    pub(super) const ECHO_IDENT: usize = 4;
    pub(super) const ECHO_SEQ: usize = 6;
}

/// A view of one ICMP message; the buffer must be exactly the message (the IPv4
/// payload), since the checksum covers all of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checking it; getters panic if it is shorter than
    /// [`HEADER_LEN`].
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

    /// [`Error::Truncated`] unless the buffer holds the 8-byte header.
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

    /// Message type, see [`msg_type`].
    #[inline]
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[offset::TYPE]
    }

    /// Message code.
    #[inline]
    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[offset::CODE]
    }

    /// Checksum as stored.
    #[inline]
    pub fn checksum(&self) -> u16 {
        u16_at(self.buffer.as_ref(), offset::CHECKSUM)
    }

    /// Identifier of an echo request or reply.
    #[inline]
    pub fn echo_ident(&self) -> u16 {
        u16_at(self.buffer.as_ref(), offset::ECHO_IDENT)
    }

    /// Sequence number of an echo request or reply.
    #[inline]
    pub fn echo_seq_no(&self) -> u16 {
        u16_at(self.buffer.as_ref(), offset::ECHO_SEQ)
    }

    /// Everything after the 8-byte header.
    #[inline]
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }

    /// Whether the checksum over the whole message is correct.
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        checksum::data(self.buffer.as_ref()) == 0
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the message type.
    #[inline]
    pub fn set_msg_type(&mut self, v: u8) {
        self.buffer.as_mut()[offset::TYPE] = v;
    }

    /// Sets the message code.
    #[inline]
    pub fn set_msg_code(&mut self, v: u8) {
        self.buffer.as_mut()[offset::CODE] = v;
    }

    /// Sets the checksum.
    #[inline]
    pub fn set_checksum(&mut self, v: u16) {
        set_u16_at(self.buffer.as_mut(), offset::CHECKSUM, v);
    }

    /// Sets the echo identifier.
    #[inline]
    pub fn set_echo_ident(&mut self, v: u16) {
        set_u16_at(self.buffer.as_mut(), offset::ECHO_IDENT, v);
    }

    /// Sets the echo sequence number.
    #[inline]
    pub fn set_echo_seq_no(&mut self, v: u16) {
        set_u16_at(self.buffer.as_mut(), offset::ECHO_SEQ, v);
    }

    /// Everything after the 8-byte header, mutably.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[HEADER_LEN..]
    }

    /// Computes and stores the checksum over the whole message.
    #[inline]
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let c = checksum::data(self.buffer.as_ref());
        self.set_checksum(c);
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

    /// The ICMP part of `ping -s 24 127.0.0.1` on Linux, and the kernel's reply.
    const ECHO_REQUEST: &str = "0800 50c5 1e51 0001 3f59 046b 0000 0000
                                f3d3 0500 0000 0000 1011 1213 1415 1617";
    const ECHO_REPLY: &str = "0000 58c5 1e51 0001 3f59 046b 0000 0000
                              f3d3 0500 0000 0000 1011 1213 1415 1617";

    #[test]
    fn parses_captured_echo_request() {
        let b = hex(ECHO_REQUEST);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.msg_type(), msg_type::ECHO_REQUEST);
        assert_eq!(p.msg_code(), 0);
        assert_eq!(p.checksum(), 0x50c5);
        assert_eq!((p.echo_ident(), p.echo_seq_no()), (0x1e51, 1));
        assert_eq!(p.data().len(), 24);
        assert_eq!(
            p.data()[16..],
            [0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17]
        );
        assert!(p.verify_checksum());
    }

    #[test]
    fn check_len() {
        let b = hex(ECHO_REQUEST);
        assert_eq!(Packet::new_checked(&b[..7]).err(), Some(Error::Truncated));
        assert_eq!(Packet::new_checked(&[][..]).err(), Some(Error::Truncated));
        assert!(Packet::new_checked(&b[..8]).unwrap().data().is_empty());
    }

    #[test]
    fn setters_round_trip() {
        let mut b = [0u8; 12];
        let mut p = Packet::new_unchecked(&mut b[..]);
        p.set_msg_type(msg_type::TIME_EXCEEDED);
        p.set_msg_code(1);
        p.set_checksum(0xabcd);
        p.set_echo_ident(0x1234);
        p.set_echo_seq_no(0x5678);
        p.data_mut().copy_from_slice(b"ping");
        assert_eq!((p.msg_type(), p.msg_code(), p.checksum()), (11, 1, 0xabcd));
        assert_eq!((p.echo_ident(), p.echo_seq_no()), (0x1234, 0x5678));
        assert_eq!(p.data(), b"ping");
        assert_eq!(b, *b"\x0b\x01\xab\xcd\x12\x34\x56\x78ping");
    }

    #[test]
    fn reply_in_place_matches_kernel_reply() {
        let mut b = hex(ECHO_REQUEST);
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        p.set_msg_type(msg_type::ECHO_REPLY);
        assert!(!p.verify_checksum());
        p.fill_checksum();
        assert!(p.verify_checksum());
        assert_eq!(b, hex(ECHO_REPLY));

        // The incremental way gives the same bytes.
        let mut b = hex(ECHO_REQUEST);
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        let c = checksum::update16(p.checksum(), 0x0800, 0x0000);
        p.set_msg_type(msg_type::ECHO_REPLY);
        p.set_checksum(c);
        assert_eq!(b, hex(ECHO_REPLY));
    }

    #[test]
    fn corrupted_data_fails_verification() {
        let mut b = hex(ECHO_REQUEST);
        for i in 0..b.len() {
            b[i] ^= 0x01;
            assert!(
                !Packet::new_unchecked(&b[..]).verify_checksum(),
                "bit flip at {i}"
            );
            b[i] ^= 0x01;
        }
        // Odd-length data: the final byte is the high byte of a padded word.
        let mut odd = hex(ECHO_REQUEST);
        odd.push(0x42);
        let mut p = Packet::new_unchecked(&mut odd[..]);
        p.fill_checksum();
        assert_eq!(p.checksum(), checksum::update16(0x50c5, 0, 0x4200));
        assert!(p.verify_checksum());
    }
}
