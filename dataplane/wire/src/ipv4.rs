//! IPv4 headers (RFC 791) and CIDR prefixes.
//!
//! [`Packet`] is the zero-copy view; [`Ipv4Repr`] (in `repr.rs`) is the parse/emit
//! layer over it.

use crate::checksum;
use crate::field::{ipv4_at, set_ipv4_at, set_u16_at, u16_at};
use crate::{Error, Result};
use core::fmt;
use core::str::FromStr;
use std::net::Ipv4Addr;

/// Length of an IPv4 header without options.
pub const HEADER_LEN: usize = 20;

/// IP protocol numbers Splicer handles.
pub mod protocol {
    /// ICMP.
    pub const ICMP: u8 = 1;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
}

mod offset {
    pub(super) const VER_IHL: usize = 0;
    pub(super) const DSCP_ECN: usize = 1;
    pub(super) const TOTAL_LEN: usize = 2;
    pub(super) const IDENT: usize = 4;
    pub(super) const FLAGS_FRAG: usize = 6;
    pub(super) const TTL: usize = 8;
    pub(super) const PROTOCOL: usize = 9;
    pub(super) const CHECKSUM: usize = 10;
    pub(super) const SRC: usize = 12;
    pub(super) const DST: usize = 16;
}

mod repr;

pub use repr::{Ipv4Repr, MAX_PAYLOAD_LEN};

const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const FRAG_OFFSET_MASK: u16 = 0x1fff;

/// A view of an IPv4 packet: header, options and payload.
///
/// The buffer may extend past the total length (Ethernet pads short frames to 60
/// bytes); [`Packet::payload`] stops at the total length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checking it; getters panic if it is shorter than
    /// [`HEADER_LEN`], and the option and payload accessors if the length fields
    /// point past its end.
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

    /// Checks that every accessor stays within the buffer, and that the header is one
    /// Splicer can trust the lengths of:
    ///
    /// * [`Error::Truncated`] if the buffer is shorter than [`HEADER_LEN`], than the
    ///   header length or than the total length;
    /// * [`Error::Malformed`] if the version is not 4, the header length is below 20
    ///   bytes, or the total length is shorter than the header.
    ///
    /// The checksum is not verified; see [`Packet::verify_checksum`].
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if self.version() != 4 {
            return Err(Error::Malformed);
        }
        let header_len = self.header_len();
        if header_len < HEADER_LEN {
            return Err(Error::Malformed);
        }
        if header_len > len {
            return Err(Error::Truncated);
        }
        let total_len = usize::from(self.total_len());
        if total_len < header_len {
            return Err(Error::Malformed);
        }
        if total_len > len {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// The wrapped buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// IP version (4 once checked).
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[offset::VER_IHL] >> 4
    }

    /// Header length in bytes, options included.
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[offset::VER_IHL] & 0x0f) * 4
    }

    /// Differentiated services code point.
    #[inline]
    pub fn dscp(&self) -> u8 {
        self.buffer.as_ref()[offset::DSCP_ECN] >> 2
    }

    /// Explicit congestion notification bits.
    #[inline]
    pub fn ecn(&self) -> u8 {
        self.buffer.as_ref()[offset::DSCP_ECN] & 0x03
    }

    /// Total length of header and payload in bytes.
    #[inline]
    pub fn total_len(&self) -> u16 {
        u16_at(self.buffer.as_ref(), offset::TOTAL_LEN)
    }

    /// Identification.
    #[inline]
    pub fn ident(&self) -> u16 {
        u16_at(self.buffer.as_ref(), offset::IDENT)
    }

    fn flags_frag(&self) -> u16 {
        u16_at(self.buffer.as_ref(), offset::FLAGS_FRAG)
    }

    /// Don't-fragment flag.
    #[inline]
    pub fn dont_frag(&self) -> bool {
        self.flags_frag() & FLAG_DF != 0
    }

    /// More-fragments flag.
    #[inline]
    pub fn more_frags(&self) -> bool {
        self.flags_frag() & FLAG_MF != 0
    }

    /// Fragment offset in bytes (the field counts 8-byte units).
    #[inline]
    pub fn frag_offset(&self) -> u16 {
        (self.flags_frag() & FRAG_OFFSET_MASK) << 3
    }

    /// Whether this is part of a fragmented datagram, first fragment included.
    #[inline]
    pub fn is_fragment(&self) -> bool {
        // One test covers both: more-fragments or a nonzero offset.
        self.flags_frag() & (FLAG_MF | FRAG_OFFSET_MASK) != 0
    }

    /// Time to live.
    #[inline]
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[offset::TTL]
    }

    /// Protocol of the payload, see [`protocol`].
    #[inline]
    pub fn protocol(&self) -> u8 {
        self.buffer.as_ref()[offset::PROTOCOL]
    }

    /// Header checksum as stored.
    #[inline]
    pub fn checksum(&self) -> u16 {
        u16_at(self.buffer.as_ref(), offset::CHECKSUM)
    }

    /// Source address.
    #[inline]
    pub fn src_addr(&self) -> Ipv4Addr {
        ipv4_at(self.buffer.as_ref(), offset::SRC)
    }

    /// Destination address.
    #[inline]
    pub fn dst_addr(&self) -> Ipv4Addr {
        ipv4_at(self.buffer.as_ref(), offset::DST)
    }

    /// Whether the header checksum is correct.
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        checksum::data(&self.buffer.as_ref()[..self.header_len()]) == 0
    }

    /// Header options, possibly empty.
    #[inline]
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.header_len()]
    }

    /// The payload, from the end of the header to the total length.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..usize::from(self.total_len())]
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// Like [`Packet::payload`], but borrowing the underlying buffer rather than the
    /// view, so that the view can be a temporary.
    #[inline]
    pub fn into_payload(self) -> &'a [u8] {
        let range = self.header_len()..usize::from(self.total_len());
        &self.buffer.as_ref()[range]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the version.
    #[inline]
    pub fn set_version(&mut self, v: u8) {
        let b = &mut self.buffer.as_mut()[offset::VER_IHL];
        *b = (*b & 0x0f) | (v << 4);
    }

    /// Sets the header length in bytes; it must be a multiple of 4 from 20 to 60.
    #[inline]
    pub fn set_header_len(&mut self, len: usize) {
        debug_assert!(
            len % 4 == 0 && (HEADER_LEN..=60).contains(&len),
            "IPv4 header length {len}"
        );
        let b = &mut self.buffer.as_mut()[offset::VER_IHL];
        *b = (*b & 0xf0) | ((len / 4) as u8 & 0x0f);
    }

    /// Sets the DSCP (6 bits).
    #[inline]
    pub fn set_dscp(&mut self, v: u8) {
        let b = &mut self.buffer.as_mut()[offset::DSCP_ECN];
        *b = (*b & 0x03) | (v << 2);
    }

    /// Sets the ECN bits (2 bits).
    #[inline]
    pub fn set_ecn(&mut self, v: u8) {
        let b = &mut self.buffer.as_mut()[offset::DSCP_ECN];
        *b = (*b & 0xfc) | (v & 0x03);
    }

    /// Sets the total length.
    #[inline]
    pub fn set_total_len(&mut self, v: u16) {
        set_u16_at(self.buffer.as_mut(), offset::TOTAL_LEN, v);
    }

    /// Sets the identification.
    #[inline]
    pub fn set_ident(&mut self, v: u16) {
        set_u16_at(self.buffer.as_mut(), offset::IDENT, v);
    }

    fn set_flags_frag(&mut self, mask: u16, bits: u16) {
        let v = (self.flags_frag() & !mask) | (bits & mask);
        set_u16_at(self.buffer.as_mut(), offset::FLAGS_FRAG, v);
    }

    /// Sets the don't-fragment flag.
    #[inline]
    pub fn set_dont_frag(&mut self, v: bool) {
        self.set_flags_frag(FLAG_DF, if v { FLAG_DF } else { 0 });
    }

    /// Sets the more-fragments flag.
    #[inline]
    pub fn set_more_frags(&mut self, v: bool) {
        self.set_flags_frag(FLAG_MF, if v { FLAG_MF } else { 0 });
    }

    /// Sets the fragment offset in bytes; it must be a multiple of 8.
    #[inline]
    pub fn set_frag_offset(&mut self, bytes: u16) {
        debug_assert!(
            bytes % 8 == 0,
            "fragment offset {bytes} is not a multiple of 8"
        );
        self.set_flags_frag(FRAG_OFFSET_MASK, bytes >> 3);
    }

    /// Sets the time to live.
    #[inline]
    pub fn set_ttl(&mut self, v: u8) {
        self.buffer.as_mut()[offset::TTL] = v;
    }

    /// Sets the protocol.
    #[inline]
    pub fn set_protocol(&mut self, v: u8) {
        self.buffer.as_mut()[offset::PROTOCOL] = v;
    }

    /// Sets the header checksum.
    #[inline]
    pub fn set_checksum(&mut self, v: u16) {
        set_u16_at(self.buffer.as_mut(), offset::CHECKSUM, v);
    }

    /// Sets the source address.
    #[inline]
    pub fn set_src_addr(&mut self, a: Ipv4Addr) {
        set_ipv4_at(self.buffer.as_mut(), offset::SRC, a);
    }

    /// Sets the destination address.
    #[inline]
    pub fn set_dst_addr(&mut self, a: Ipv4Addr) {
        set_ipv4_at(self.buffer.as_mut(), offset::DST, a);
    }

    /// Computes and stores the header checksum over the current header length.
    #[inline]
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let c = checksum::data(&self.buffer.as_ref()[..self.header_len()]);
        self.set_checksum(c);
    }

    /// Header options, mutably.
    #[inline]
    pub fn options_mut(&mut self) -> &mut [u8] {
        let end = self.header_len();
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }

    /// The payload, mutably.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let range = self.header_len()..usize::from(self.total_len());
        &mut self.buffer.as_mut()[range]
    }
}

impl<'a> Packet<&'a mut [u8]> {
    /// Like [`Packet::payload_mut`], but borrowing the underlying buffer rather than
    /// the view.
    #[inline]
    pub fn into_payload_mut(self) -> &'a mut [u8] {
        let range = self.header_len()..usize::from(self.total_len());
        &mut self.buffer[range]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// Writes a 20-byte IPv4 header for a packet Splicer originates: no options, DSCP 0,
/// don't-fragment set (Splicer does not fragment, and DF makes path MTU discovery
/// work), checksum filled.
///
/// [`Ipv4Repr::emit`] writes the same bytes for the same values; it is the form to use
/// in new code.
///
/// # Panics
///
/// If `buf` is shorter than [`HEADER_LEN`]; in debug builds, if `payload_len` does not
/// fit beside the header in 65 535 bytes.
#[inline]
pub fn emit_header(
    buf: &mut [u8],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    protocol: u8,
    payload_len: u16,
    ttl: u8,
    ident: u16,
) {
    debug_assert!(usize::from(payload_len) <= usize::from(u16::MAX) - HEADER_LEN);
    let h = &mut buf[..HEADER_LEN];
    h[offset::VER_IHL] = 0x45;
    h[offset::DSCP_ECN] = 0;
    set_u16_at(
        h,
        offset::TOTAL_LEN,
        payload_len.wrapping_add(HEADER_LEN as u16),
    );
    set_u16_at(h, offset::IDENT, ident);
    set_u16_at(h, offset::FLAGS_FRAG, FLAG_DF);
    h[offset::TTL] = ttl;
    h[offset::PROTOCOL] = protocol;
    set_ipv4_at(h, offset::SRC, src);
    set_ipv4_at(h, offset::DST, dst);
    set_u16_at(h, offset::CHECKSUM, 0);
    let c = checksum::data(h);
    set_u16_at(h, offset::CHECKSUM, c);
}

/// An IPv4 address with a prefix length, such as an interface address `198.18.0.1/24`.
///
/// The address keeps its host bits: [`Cidr::network`] gives the masked form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    /// The address, host bits included.
    pub addr: Ipv4Addr,
    /// Number of leading network bits, at most 32.
    pub prefix_len: u8,
}

impl Cidr {
    /// [`Error::Malformed`] if `prefix_len` exceeds 32.
    pub fn new(addr: Ipv4Addr, prefix_len: u8) -> Result<Cidr> {
        if prefix_len > 32 {
            return Err(Error::Malformed);
        }
        Ok(Cidr { addr, prefix_len })
    }

    fn mask(&self) -> u32 {
        // The fields are public, so a prefix over 32 is treated as 32 rather than
        // trusted into a shift overflow.
        match self.prefix_len {
            0 => 0,
            n if n >= 32 => u32::MAX,
            n => u32::MAX << (32 - n),
        }
    }

    /// Whether `ip` is inside the prefix.
    #[inline]
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        (u32::from(ip) ^ u32::from(self.addr)) & self.mask() == 0
    }

    /// The netmask, such as `255.255.255.0` for `/24`.
    pub fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.mask())
    }

    /// The address with its host bits cleared.
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & self.mask())
    }

    /// The address with its host bits set.
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !self.mask())
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

/// Why a string is not an `a.b.c.d/nn` prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CidrParseError {
    /// No `/` separates the address from the prefix length.
    MissingPrefixLen,
    /// The part before `/` is not a dotted-quad IPv4 address.
    InvalidAddress,
    /// The part after `/` is not a decimal number from 0 to 32.
    InvalidPrefixLen,
}

impl fmt::Display for CidrParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CidrParseError::MissingPrefixLen => {
                "invalid IPv4 prefix: missing \"/length\" (expected a.b.c.d/nn)"
            }
            CidrParseError::InvalidAddress => {
                "invalid IPv4 prefix: the address is not a.b.c.d (expected a.b.c.d/nn)"
            }
            CidrParseError::InvalidPrefixLen => {
                "invalid IPv4 prefix: the length after \"/\" must be a number from 0 to 32"
            }
        })
    }
}

impl std::error::Error for CidrParseError {}

impl FromStr for Cidr {
    type Err = CidrParseError;

    /// Parses `a.b.c.d/nn`; the prefix length is required.
    fn from_str(s: &str) -> core::result::Result<Self, Self::Err> {
        let (addr, len) = s.split_once('/').ok_or(CidrParseError::MissingPrefixLen)?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| CidrParseError::InvalidAddress)?;
        // u8::from_str alone would accept "+8".
        if len.is_empty() || len.len() > 2 || !len.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CidrParseError::InvalidPrefixLen);
        }
        let len: u8 = len.parse().map_err(|_| CidrParseError::InvalidPrefixLen)?;
        Cidr::new(addr, len).map_err(|_| CidrParseError::InvalidPrefixLen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::hex;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// `ping -s 24 127.0.0.1` on Linux, as captured on lo after the Ethernet header.
    const ECHO_REQUEST: &str = "4500 0034 9977 4000 4001 a34f 7f00 0001 7f00
                                0001 0800 50c5 1e51 0001 3f59 046b 0000
                                0000 f3d3 0500 0000 0000 1011 1213 1415
                                1617";

    fn lo() -> Ipv4Addr {
        Ipv4Addr::LOCALHOST
    }

    #[test]
    fn parses_captured_header() {
        let bytes = hex(ECHO_REQUEST);
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.version(), 4);
        assert_eq!(p.header_len(), 20);
        assert_eq!((p.dscp(), p.ecn()), (0, 0));
        assert_eq!(p.total_len(), 52);
        assert_eq!(p.ident(), 0x9977);
        assert!(p.dont_frag() && !p.more_frags() && !p.is_fragment());
        assert_eq!(p.frag_offset(), 0);
        assert_eq!(p.ttl(), 64);
        assert_eq!(p.protocol(), protocol::ICMP);
        assert_eq!(p.checksum(), 0xa34f);
        assert_eq!((p.src_addr(), p.dst_addr()), (lo(), lo()));
        assert!(p.verify_checksum());
        assert!(p.options().is_empty());
        assert_eq!(p.payload(), &bytes[20..]);
        assert_eq!(p.into_payload().len(), 32);
    }

    #[test]
    fn padding_is_excluded_from_payload() {
        let mut bytes = hex(ECHO_REQUEST);
        bytes.extend_from_slice(&[0xaa; 6]);
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.payload().len(), 32);
        assert!(p.verify_checksum());
    }

    #[test]
    fn check_len_errors() {
        let good = hex(ECHO_REQUEST);
        let check = |b: &[u8]| Packet::new_checked(b).err();
        let with = |at: usize, v: &[u8]| {
            let mut b = good.clone();
            b[at..at + v.len()].copy_from_slice(v);
            b
        };
        assert_eq!(check(&good[..19]), Some(Error::Truncated));
        assert_eq!(check(&[]), Some(Error::Truncated));
        assert_eq!(
            check(&with(0, &[0x65])),
            Some(Error::Malformed),
            "version 6"
        );
        assert_eq!(check(&with(0, &[0x44])), Some(Error::Malformed), "ihl 4");
        assert_eq!(check(&with(0, &[0x40])), Some(Error::Malformed), "ihl 0");
        // ihl 15 (60 bytes) over a 52-byte buffer.
        assert_eq!(
            check(&with(0, &[0x4f])),
            Some(Error::Truncated),
            "header past end"
        );
        assert_eq!(
            check(&with(2, &[0, 19])),
            Some(Error::Malformed),
            "total < header"
        );
        assert_eq!(
            check(&with(2, &[0, 53])),
            Some(Error::Truncated),
            "total past end"
        );
        assert_eq!(check(&good[..51]), Some(Error::Truncated), "payload cut");
        // Header exactly fills the buffer, no payload.
        assert_eq!(check(&with(2, &[0, 20])[..20]), None);
        assert!(Packet::new_checked(&with(2, &[0, 20])[..20])
            .unwrap()
            .payload()
            .is_empty());
    }

    #[test]
    fn options_are_exposed() {
        // A 24-byte header carrying a router-alert option, checksum computed.
        let mut b = vec![0u8; 28];
        emit_header(&mut b, lo(), lo(), protocol::UDP, 4, 1, 0);
        let mut p = Packet::new_unchecked(&mut b[..]);
        p.set_header_len(24);
        p.set_total_len(28);
        p.options_mut().copy_from_slice(&[0x94, 0x04, 0, 0]);
        p.payload_mut().copy_from_slice(b"data");
        p.fill_checksum();
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.header_len(), 24);
        assert_eq!(p.options(), &[0x94, 0x04, 0, 0]);
        assert_eq!(p.payload(), b"data");
        assert!(p.verify_checksum());
        assert_eq!(checksum::data(&b[..24]), 0);
    }

    #[test]
    fn setters_round_trip() {
        let mut b = [0u8; 40];
        let mut p = Packet::new_unchecked(&mut b[..]);
        p.set_version(4);
        p.set_header_len(20);
        p.set_dscp(46);
        p.set_ecn(3);
        p.set_total_len(40);
        p.set_ident(0xbeef);
        p.set_dont_frag(true);
        p.set_more_frags(true);
        p.set_frag_offset(8 * 0x1fff);
        p.set_ttl(3);
        p.set_protocol(protocol::TCP);
        p.set_checksum(0x1234);
        p.set_src_addr(Ipv4Addr::new(10, 0, 0, 1));
        p.set_dst_addr(Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(
            (p.version(), p.header_len(), p.dscp(), p.ecn()),
            (4, 20, 46, 3)
        );
        assert_eq!((p.total_len(), p.ident()), (40, 0xbeef));
        assert!(p.dont_frag() && p.more_frags() && p.is_fragment());
        assert_eq!(p.frag_offset(), 65528);
        assert_eq!((p.ttl(), p.protocol(), p.checksum()), (3, 6, 0x1234));
        assert_eq!(p.src_addr(), Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(p.dst_addr(), Ipv4Addr::new(10, 0, 0, 2));
        assert_eq!(p.payload().len(), 20);

        // Flags and offset share a word: clearing one must leave the others.
        p.set_more_frags(false);
        assert!(p.dont_frag() && !p.more_frags() && p.is_fragment());
        p.set_frag_offset(0);
        assert!(p.dont_frag() && !p.is_fragment());
        p.set_more_frags(true);
        assert!(p.is_fragment() && p.frag_offset() == 0);
        p.set_dont_frag(false);
        assert!(!p.dont_frag() && p.more_frags());
        // DSCP and ECN share a byte too.
        p.set_ecn(0);
        assert_eq!((p.dscp(), p.ecn()), (46, 0));
        p.set_dscp(0);
        p.set_ecn(2);
        assert_eq!((p.dscp(), p.ecn()), (0, 2));
        // Version and IHL share a byte.
        p.set_header_len(60);
        assert_eq!((p.version(), p.header_len()), (4, 60));
        p.set_version(6);
        assert_eq!((p.version(), p.header_len()), (6, 60));
        assert_eq!(b[6..8], [0x20, 0x00]);
    }

    #[test]
    fn checksum_fill_and_verify() {
        let mut b = hex(ECHO_REQUEST);
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        p.set_checksum(0);
        assert!(!p.verify_checksum());
        p.fill_checksum();
        assert_eq!(p.checksum(), 0xa34f, "matches the kernel's");
        assert!(p.verify_checksum());
        p.set_ttl(63);
        assert!(!p.verify_checksum());
        p.into_payload_mut()[0] = 0;
        assert!(!Packet::new_unchecked(&b[..]).verify_checksum());
    }

    #[test]
    fn emit_header_matches_kernel() {
        // Same fields as the captured request: the whole header must come out equal.
        let mut b = [0xffu8; 24];
        emit_header(&mut b, lo(), lo(), protocol::ICMP, 32, 64, 0x9977);
        assert_eq!(b[..20], hex(ECHO_REQUEST)[..20]);
        assert_eq!(b[20..], [0xff; 4], "emit_header writes only the header");
    }

    #[test]
    fn rewrites_by_incremental_update_verify() {
        let mut rng = StdRng::seed_from_u64(99);
        let mut b = hex(ECHO_REQUEST);
        for _ in 0..1000 {
            let mut p = Packet::new_checked(&mut b[..]).unwrap();
            let (old_src, old_dst) = (p.src_addr(), p.dst_addr());
            let (src, dst) = (
                Ipv4Addr::from(rng.gen::<u32>()),
                Ipv4Addr::from(rng.gen::<u32>()),
            );
            let mut c = checksum::update32(p.checksum(), old_src.into(), src.into());
            c = checksum::update32(c, old_dst.into(), dst.into());
            let ttl = p.ttl().wrapping_sub(1);
            let word = |t: u8| u16::from_be_bytes([t, protocol::ICMP]);
            c = checksum::update16(c, word(p.ttl()), word(ttl));
            p.set_src_addr(src);
            p.set_dst_addr(dst);
            p.set_ttl(ttl);
            p.set_checksum(c);
            assert!(p.verify_checksum());
            p.fill_checksum();
            assert_eq!(p.checksum(), c);
        }
    }

    #[test]
    fn cidr_basics() {
        let c: Cidr = "198.18.0.1/24".parse().unwrap();
        assert_eq!(c, Cidr::new(Ipv4Addr::new(198, 18, 0, 1), 24).unwrap());
        assert_eq!(c.to_string(), "198.18.0.1/24");
        assert_eq!(c.netmask(), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(c.network(), Ipv4Addr::new(198, 18, 0, 0));
        assert_eq!(c.broadcast(), Ipv4Addr::new(198, 18, 0, 255));
        assert!(c.contains(Ipv4Addr::new(198, 18, 0, 0)));
        assert!(c.contains(Ipv4Addr::new(198, 18, 0, 255)));
        assert!(!c.contains(Ipv4Addr::new(198, 18, 1, 0)));
        assert!(!c.contains(Ipv4Addr::new(198, 17, 255, 255)));

        let all: Cidr = "10.1.2.3/0".parse().unwrap();
        assert!(
            all.contains(Ipv4Addr::new(255, 255, 255, 255)) && all.contains(Ipv4Addr::UNSPECIFIED)
        );
        assert_eq!(
            (all.netmask(), all.network()),
            (Ipv4Addr::UNSPECIFIED, Ipv4Addr::UNSPECIFIED)
        );
        assert_eq!(all.broadcast(), Ipv4Addr::BROADCAST);

        let host: Cidr = "10.1.2.3/32".parse().unwrap();
        assert!(host.contains(Ipv4Addr::new(10, 1, 2, 3)));
        assert!(!host.contains(Ipv4Addr::new(10, 1, 2, 2)));
        assert_eq!((host.network(), host.broadcast()), (host.addr, host.addr));

        let odd: Cidr = "172.16.5.9/12".parse().unwrap();
        assert_eq!(odd.netmask(), Ipv4Addr::new(255, 240, 0, 0));
        assert_eq!(odd.network(), Ipv4Addr::new(172, 16, 0, 0));
        assert_eq!(odd.broadcast(), Ipv4Addr::new(172, 31, 255, 255));
        assert!(
            odd.contains(Ipv4Addr::new(172, 31, 0, 1))
                && !odd.contains(Ipv4Addr::new(172, 32, 0, 1))
        );
    }

    #[test]
    fn cidr_errors() {
        assert_eq!(Cidr::new(Ipv4Addr::LOCALHOST, 33), Err(Error::Malformed));
        assert!(Cidr::new(Ipv4Addr::LOCALHOST, 32).is_ok());
        let err = |s: &str| s.parse::<Cidr>().unwrap_err();
        assert_eq!(err("10.0.0.1"), CidrParseError::MissingPrefixLen);
        assert_eq!(err(""), CidrParseError::MissingPrefixLen);
        for s in [
            "10.0.0/8",
            "10.0.0.256/8",
            "/8",
            "::1/8",
            "10.0.0.1 /8",
            "a.b.c.d/8",
        ] {
            assert_eq!(err(s), CidrParseError::InvalidAddress, "{s}");
        }
        for s in [
            "10.0.0.1/",
            "10.0.0.1/33",
            "10.0.0.1/+8",
            "10.0.0.1/-1",
            "10.0.0.1/8/8",
            "10.0.0.1/008",
            "10.0.0.1/x",
        ] {
            assert_eq!(err(s), CidrParseError::InvalidPrefixLen, "{s}");
        }
        assert!(err("10.0.0.1").to_string().contains("a.b.c.d/nn"));
        assert!(err("10.0.0.1/40").to_string().contains("0 to 32"));
        // Out-of-range prefixes built through the public fields do not panic.
        let wild = Cidr {
            addr: Ipv4Addr::new(1, 2, 3, 4),
            prefix_len: 200,
        };
        assert!(
            wild.contains(Ipv4Addr::new(1, 2, 3, 4)) && !wild.contains(Ipv4Addr::new(1, 2, 3, 5))
        );
    }
}
