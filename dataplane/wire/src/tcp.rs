//! TCP segments (RFC 9293), options (RFC 7323, RFC 2018) and sequence-number
//! arithmetic.
//!
//! [`Packet`] is the zero-copy view, used where Splicer rewrites segments in place;
//! [`TcpRepr`] (in `repr.rs`) is the parse/emit layer over it, used where Splicer
//! terminates or originates them. [`TcpFlags`] and the raw [`flags`] bits are in
//! `flags.rs`.

use crate::checksum;
use crate::field::{set_u16_at, set_u32_at, u16_at, u32_at};
use crate::ipv4::protocol;
use crate::{Error, Result};
use core::cmp::Ordering;
use core::fmt;
use core::iter::FusedIterator;
use core::ops::{Add, AddAssign, Sub, SubAssign};
use std::net::Ipv4Addr;

/// Length of a TCP header without options.
pub const HEADER_LEN: usize = 20;

/// Largest TCP header: a 4-bit data offset counts up to 15 words.
pub const MAX_HEADER_LEN: usize = 60;

/// Most bytes [`emit_options`] writes.
pub const EMIT_OPTIONS_MAX_LEN: usize = 20;

/// A TCP sequence or acknowledgement number, compared in serial-number arithmetic
/// (RFC 1982) so that comparisons stay right across the 2^32 wraparound.
///
/// Ordering is provided through [`PartialOrd`], so `a < b` means "`a` comes before
/// `b`": `b - a`, taken modulo 2^32, is in `1..2^31`. Two numbers exactly 2^31 apart
/// are unordered (`partial_cmp` is `None`, every comparison false), since RFC 1982
/// leaves that case undefined and either answer would be wrong from one side.
///
/// The order is not transitive over spans of 2^31 or more, which is why there is no
/// [`Ord`]: sequence numbers must not be sorted or used as `BTreeMap` keys. Within one
/// connection's window (below 2^30) it behaves as expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqNumber(pub u32);

impl SeqNumber {
    /// The later of two numbers in serial order; `self` if they are unordered.
    #[inline]
    pub fn max(self, other: SeqNumber) -> SeqNumber {
        if other > self {
            other
        } else {
            self
        }
    }

    /// The earlier of two numbers in serial order; `self` if they are unordered.
    #[inline]
    pub fn min(self, other: SeqNumber) -> SeqNumber {
        if other < self {
            other
        } else {
            self
        }
    }
}

impl PartialOrd for SeqNumber {
    #[inline]
    fn partial_cmp(&self, other: &SeqNumber) -> Option<Ordering> {
        match self.0.wrapping_sub(other.0) {
            0 => Some(Ordering::Equal),
            0x8000_0000 => None,
            d if d < 0x8000_0000 => Some(Ordering::Greater),
            _ => Some(Ordering::Less),
        }
    }
}

impl Add<usize> for SeqNumber {
    type Output = SeqNumber;

    /// Advances by `rhs` bytes modulo 2^32.
    #[inline]
    fn add(self, rhs: usize) -> SeqNumber {
        // Truncating rhs is reduction modulo 2^32, the same as wrapping.
        SeqNumber(self.0.wrapping_add(rhs as u32))
    }
}

impl Sub<usize> for SeqNumber {
    type Output = SeqNumber;

    /// Steps back by `rhs` bytes modulo 2^32.
    #[inline]
    fn sub(self, rhs: usize) -> SeqNumber {
        SeqNumber(self.0.wrapping_sub(rhs as u32))
    }
}

impl AddAssign<usize> for SeqNumber {
    #[inline]
    fn add_assign(&mut self, rhs: usize) {
        *self = *self + rhs;
    }
}

impl SubAssign<usize> for SeqNumber {
    #[inline]
    fn sub_assign(&mut self, rhs: usize) {
        *self = *self - rhs;
    }
}

impl Sub<SeqNumber> for SeqNumber {
    type Output = i32;

    /// Signed distance from `rhs` to `self`: positive when `self` is later.
    #[inline]
    fn sub(self, rhs: SeqNumber) -> i32 {
        self.0.wrapping_sub(rhs.0) as i32
    }
}

impl fmt::Display for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

pub mod flags;
mod repr;

pub use flags::TcpFlags;
pub use repr::{TcpOptions, TcpRepr, MAX_SACK_BLOCKS};

/// TCP option kinds.
pub mod option_kind {
    /// End of option list.
    pub const END_OF_LIST: u8 = 0;
    /// No-operation (padding).
    pub const NOOP: u8 = 1;
    /// Maximum segment size.
    pub const MSS: u8 = 2;
    /// Window scale.
    pub const WINDOW_SCALE: u8 = 3;
    /// SACK permitted.
    pub const SACK_PERMITTED: u8 = 4;
    /// SACK blocks.
    pub const SACK: u8 = 5;
    /// Timestamps.
    pub const TIMESTAMP: u8 = 8;
}

mod offset {
    pub(super) const SRC_PORT: usize = 0;
    pub(super) const DST_PORT: usize = 2;
    pub(super) const SEQ: usize = 4;
    pub(super) const ACK: usize = 8;
    pub(super) const DATA_OFF: usize = 12;
    pub(super) const FLAGS: usize = 13;
    pub(super) const WINDOW: usize = 14;
    pub(super) const CHECKSUM: usize = 16;
    pub(super) const URGENT: usize = 18;
}

/// A view of one TCP segment; the buffer must be exactly the segment (the IPv4
/// payload), since the checksum and [`Packet::payload`] run to its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checking it; getters panic if it is shorter than
    /// [`HEADER_LEN`], and the option and payload accessors if the data offset points
    /// past its end.
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
    /// header length; [`Error::Malformed`] if the data offset is below 5 words. The
    /// options themselves are not parsed; see [`options`].
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let header_len = self.header_len();
        if header_len < HEADER_LEN {
            return Err(Error::Malformed);
        }
        if header_len > len {
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

    /// Sequence number.
    #[inline]
    pub fn seq_number(&self) -> SeqNumber {
        SeqNumber(u32_at(self.buffer.as_ref(), offset::SEQ))
    }

    /// Acknowledgement number (meaningful only with ACK set).
    #[inline]
    pub fn ack_number(&self) -> SeqNumber {
        SeqNumber(u32_at(self.buffer.as_ref(), offset::ACK))
    }

    /// Header length in bytes, options included.
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[offset::DATA_OFF] >> 4) * 4
    }

    /// The eight flag bits, see [`flags`]. The experimental NS bit is not included.
    #[inline]
    pub fn flags(&self) -> u8 {
        self.buffer.as_ref()[offset::FLAGS]
    }

    #[inline(always)]
    fn flag(&self, bit: u8) -> bool {
        self.flags() & bit != 0
    }

    /// FIN flag.
    #[inline]
    pub fn fin(&self) -> bool {
        self.flag(flags::FIN)
    }

    /// SYN flag.
    #[inline]
    pub fn syn(&self) -> bool {
        self.flag(flags::SYN)
    }

    /// RST flag.
    #[inline]
    pub fn rst(&self) -> bool {
        self.flag(flags::RST)
    }

    /// PSH flag.
    #[inline]
    pub fn psh(&self) -> bool {
        self.flag(flags::PSH)
    }

    /// ACK flag.
    #[inline]
    pub fn ack(&self) -> bool {
        self.flag(flags::ACK)
    }

    /// URG flag.
    #[inline]
    pub fn urg(&self) -> bool {
        self.flag(flags::URG)
    }

    /// ECE flag.
    #[inline]
    pub fn ece(&self) -> bool {
        self.flag(flags::ECE)
    }

    /// CWR flag.
    #[inline]
    pub fn cwr(&self) -> bool {
        self.flag(flags::CWR)
    }

    /// Window field, unscaled.
    #[inline]
    pub fn window_len(&self) -> u16 {
        u16_at(self.buffer.as_ref(), offset::WINDOW)
    }

    /// Checksum as stored.
    #[inline]
    pub fn checksum(&self) -> u16 {
        u16_at(self.buffer.as_ref(), offset::CHECKSUM)
    }

    /// Urgent pointer.
    #[inline]
    pub fn urgent_at(&self) -> u16 {
        u16_at(self.buffer.as_ref(), offset::URGENT)
    }

    /// Raw option bytes, padding included; parse them with [`options`].
    #[inline]
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..self.header_len()]
    }

    /// Everything after the header.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..]
    }

    /// Sequence space the segment occupies: payload bytes, plus one each for SYN
    /// and FIN.
    #[inline]
    pub fn segment_len(&self) -> usize {
        let len = self.buffer.as_ref().len() - self.header_len();
        len + usize::from(self.syn()) + usize::from(self.fin())
    }

    /// Whether the checksum is correct for a segment carried from `src` to `dst`.
    #[inline]
    pub fn verify_checksum(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        let b = self.buffer.as_ref();
        // IPv4 total length bounds a segment to 65 515 bytes, so `as u16` is exact.
        let pseudo = checksum::pseudo_header_v4(src, dst, protocol::TCP, b.len() as u16);
        checksum::finish(pseudo + checksum::sum(b)) == 0
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// Like [`Packet::payload`], but borrowing the underlying buffer rather than the
    /// view, so that the view can be a temporary.
    #[inline]
    pub fn into_payload(self) -> &'a [u8] {
        let start = self.header_len();
        &self.buffer.as_ref()[start..]
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

    /// Sets the sequence number.
    #[inline]
    pub fn set_seq_number(&mut self, v: SeqNumber) {
        set_u32_at(self.buffer.as_mut(), offset::SEQ, v.0);
    }

    /// Sets the acknowledgement number.
    #[inline]
    pub fn set_ack_number(&mut self, v: SeqNumber) {
        set_u32_at(self.buffer.as_mut(), offset::ACK, v.0);
    }

    /// Sets the header length in bytes; it must be a multiple of 4 from 20 to 60.
    /// The reserved bits beside the data offset are kept.
    #[inline]
    pub fn set_header_len(&mut self, len: usize) {
        debug_assert!(
            len % 4 == 0 && (HEADER_LEN..=MAX_HEADER_LEN).contains(&len),
            "TCP header length {len}"
        );
        let b = &mut self.buffer.as_mut()[offset::DATA_OFF];
        *b = (*b & 0x0f) | (((len / 4) as u8) << 4);
    }

    /// Sets all eight flag bits at once.
    #[inline]
    pub fn set_flags(&mut self, v: u8) {
        self.buffer.as_mut()[offset::FLAGS] = v;
    }

    #[inline(always)]
    fn set_flag(&mut self, bit: u8, on: bool) {
        let b = &mut self.buffer.as_mut()[offset::FLAGS];
        if on {
            *b |= bit;
        } else {
            *b &= !bit;
        }
    }

    /// Sets the FIN flag.
    #[inline]
    pub fn set_fin(&mut self, v: bool) {
        self.set_flag(flags::FIN, v);
    }

    /// Sets the SYN flag.
    #[inline]
    pub fn set_syn(&mut self, v: bool) {
        self.set_flag(flags::SYN, v);
    }

    /// Sets the RST flag.
    #[inline]
    pub fn set_rst(&mut self, v: bool) {
        self.set_flag(flags::RST, v);
    }

    /// Sets the PSH flag.
    #[inline]
    pub fn set_psh(&mut self, v: bool) {
        self.set_flag(flags::PSH, v);
    }

    /// Sets the ACK flag.
    #[inline]
    pub fn set_ack(&mut self, v: bool) {
        self.set_flag(flags::ACK, v);
    }

    /// Sets the URG flag.
    #[inline]
    pub fn set_urg(&mut self, v: bool) {
        self.set_flag(flags::URG, v);
    }

    /// Sets the ECE flag.
    #[inline]
    pub fn set_ece(&mut self, v: bool) {
        self.set_flag(flags::ECE, v);
    }

    /// Sets the CWR flag.
    #[inline]
    pub fn set_cwr(&mut self, v: bool) {
        self.set_flag(flags::CWR, v);
    }

    /// Sets the window field.
    #[inline]
    pub fn set_window_len(&mut self, v: u16) {
        set_u16_at(self.buffer.as_mut(), offset::WINDOW, v);
    }

    /// Sets the checksum.
    #[inline]
    pub fn set_checksum(&mut self, v: u16) {
        set_u16_at(self.buffer.as_mut(), offset::CHECKSUM, v);
    }

    /// Sets the urgent pointer.
    #[inline]
    pub fn set_urgent_at(&mut self, v: u16) {
        set_u16_at(self.buffer.as_mut(), offset::URGENT, v);
    }

    /// Raw option bytes, mutably, for rewriting options in place.
    #[inline]
    pub fn options_mut(&mut self) -> &mut [u8] {
        let end = self.header_len();
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }

    /// Everything after the header, mutably.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.header_len();
        &mut self.buffer.as_mut()[start..]
    }

    /// Computes and stores the checksum for a segment carried from `src` to `dst`.
    #[inline]
    pub fn fill_checksum(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        self.set_checksum(0);
        let b = self.buffer.as_ref();
        let pseudo = checksum::pseudo_header_v4(src, dst, protocol::TCP, b.len() as u16);
        let c = checksum::finish(pseudo + checksum::sum(b));
        self.set_checksum(c);
    }
}

impl<'a> Packet<&'a mut [u8]> {
    /// Like [`Packet::payload_mut`], but borrowing the underlying buffer rather than
    /// the view.
    #[inline]
    pub fn into_payload_mut(self) -> &'a mut [u8] {
        let start = self.header_len();
        &mut self.buffer[start..]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// One parsed TCP option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpOption<'a> {
    /// Kind 0: the options end here; what follows is padding.
    EndOfList,
    /// Kind 1: one byte of padding.
    NoOp,
    /// Kind 2: the largest segment the sender will accept.
    MaxSegmentSize(u16),
    /// Kind 3: the sender's window shift count.
    WindowScale(u8),
    /// Kind 4: the sender accepts SACK blocks.
    SackPermitted,
    /// Kind 5: up to four received blocks as `(left edge, right edge)`; only the
    /// first `count` are meaningful, the rest are zero.
    SackRange {
        /// The blocks.
        blocks: [(u32, u32); 4],
        /// How many blocks are present, 1 to 4.
        count: u8,
    },
    /// Kind 8: timestamp value and echo reply.
    Timestamp {
        /// The sender's timestamp clock.
        tsval: u32,
        /// The latest timestamp received from the peer.
        tsecr: u32,
    },
    /// Any other kind, with its bytes after the kind and length.
    Unknown {
        /// Option kind.
        kind: u8,
        /// Option data, excluding the kind and length bytes.
        data: &'a [u8],
    },
}

impl TcpOption<'_> {
    /// How many bytes [`TcpOption::emit`] writes.
    #[inline]
    pub fn buffer_len(&self) -> usize {
        match self {
            TcpOption::EndOfList | TcpOption::NoOp => 1,
            TcpOption::MaxSegmentSize(_) => 4,
            TcpOption::WindowScale(_) => 3,
            TcpOption::SackPermitted => 2,
            TcpOption::SackRange { count, .. } => 2 + 8 * usize::from((*count).min(4)),
            TcpOption::Timestamp { .. } => 10,
            TcpOption::Unknown { data, .. } => 2 + data.len(),
        }
    }

    /// Writes the option at the start of `buf` and returns its length.
    ///
    /// # Panics
    ///
    /// If `buf` is shorter than [`TcpOption::buffer_len`]; in debug builds, if an
    /// `Unknown` option's data does not fit a length byte.
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let len = self.buffer_len();
        let b = &mut buf[..len];
        match *self {
            TcpOption::EndOfList => b[0] = option_kind::END_OF_LIST,
            TcpOption::NoOp => b[0] = option_kind::NOOP,
            TcpOption::MaxSegmentSize(mss) => {
                b[..2].copy_from_slice(&[option_kind::MSS, 4]);
                set_u16_at(b, 2, mss);
            }
            TcpOption::WindowScale(shift) => {
                b.copy_from_slice(&[option_kind::WINDOW_SCALE, 3, shift]);
            }
            TcpOption::SackPermitted => b.copy_from_slice(&[option_kind::SACK_PERMITTED, 2]),
            TcpOption::SackRange { blocks, .. } => {
                b[..2].copy_from_slice(&[option_kind::SACK, len as u8]);
                for (i, chunk) in b[2..].chunks_exact_mut(8).enumerate() {
                    set_u32_at(chunk, 0, blocks[i].0);
                    set_u32_at(chunk, 4, blocks[i].1);
                }
            }
            TcpOption::Timestamp { tsval, tsecr } => {
                b[..2].copy_from_slice(&[option_kind::TIMESTAMP, 10]);
                set_u32_at(b, 2, tsval);
                set_u32_at(b, 6, tsecr);
            }
            TcpOption::Unknown { kind, data } => {
                debug_assert!(len <= usize::from(u8::MAX), "TCP option of {len} bytes");
                b[..2].copy_from_slice(&[kind, len as u8]);
                b[2..].copy_from_slice(data);
            }
        }
        len
    }
}

/// Iterator over TCP options, from [`options`].
///
/// Yields each option with its offset within the option bytes, so that a caller can
/// rewrite it in place through [`Packet::options_mut`]. A length byte that is missing,
/// below 2, past the end of the options, or wrong for a known kind yields
/// [`Error::Malformed`]; iteration ends after that error and after `EndOfList`.
#[derive(Debug, Clone)]
pub struct OptionIter<'a> {
    data: &'a [u8],
    pos: usize,
    done: bool,
}

/// Iterates over the options in `opts`, normally [`Packet::options`].
#[inline]
pub fn options(opts: &[u8]) -> OptionIter<'_> {
    OptionIter {
        data: opts,
        pos: 0,
        done: false,
    }
}

impl<'a> OptionIter<'a> {
    fn fail(&mut self) -> Option<Result<(usize, TcpOption<'a>)>> {
        // Without a trustworthy length there is no next option to find.
        self.done = true;
        Some(Err(Error::Malformed))
    }
}

impl<'a> Iterator for OptionIter<'a> {
    type Item = Result<(usize, TcpOption<'a>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let at = self.pos;
        let kind = *self.data.get(at)?;
        match kind {
            option_kind::END_OF_LIST => {
                self.done = true;
                return Some(Ok((at, TcpOption::EndOfList)));
            }
            option_kind::NOOP => {
                self.pos = at + 1;
                return Some(Ok((at, TcpOption::NoOp)));
            }
            _ => {}
        }
        let Some(&len) = self.data.get(at + 1) else {
            return self.fail();
        };
        let len = usize::from(len);
        if len < 2 || len > self.data.len() - at {
            return self.fail();
        }
        let body = &self.data[at + 2..at + len];
        let opt = match (kind, len) {
            (option_kind::MSS, 4) => TcpOption::MaxSegmentSize(u16_at(body, 0)),
            (option_kind::WINDOW_SCALE, 3) => TcpOption::WindowScale(body[0]),
            (option_kind::SACK_PERMITTED, 2) => TcpOption::SackPermitted,
            (option_kind::SACK, 10 | 18 | 26 | 34) => {
                let mut blocks = [(0, 0); 4];
                let mut count = 0;
                for (slot, b) in blocks.iter_mut().zip(body.chunks_exact(8)) {
                    *slot = (u32_at(b, 0), u32_at(b, 4));
                    count += 1;
                }
                TcpOption::SackRange { blocks, count }
            }
            (option_kind::TIMESTAMP, 10) => TcpOption::Timestamp {
                tsval: u32_at(body, 0),
                tsecr: u32_at(body, 4),
            },
            // A known kind with the wrong length: its fields cannot be trusted.
            (
                option_kind::MSS
                | option_kind::WINDOW_SCALE
                | option_kind::SACK_PERMITTED
                | option_kind::SACK
                | option_kind::TIMESTAMP,
                _,
            ) => return self.fail(),
            _ => TcpOption::Unknown { kind, data: body },
        };
        self.pos = at + len;
        Some(Ok((at, opt)))
    }
}

impl FusedIterator for OptionIter<'_> {}

/// Writes the options of a SYN or SYN-ACK that Splicer originates, in the order and
/// layout Linux uses, and returns the number of bytes written, a multiple of 4 (at
/// most [`EMIT_OPTIONS_MAX_LEN`]).
///
/// The layout keeps each multi-byte field 4-byte aligned with as few NOPs as
/// possible: `MSS`, then `SACK-permitted + Timestamp` (or `NOP NOP Timestamp`, or
/// `NOP NOP SACK-permitted`), then `NOP WindowScale`.
///
/// A shorthand for [`TcpOptions::emit`] without SACK blocks, which writes the bytes;
/// new code builds a [`TcpOptions`].
///
/// # Panics
///
/// If `buf` is too short; [`EMIT_OPTIONS_MAX_LEN`] bytes always suffice.
pub fn emit_options(
    buf: &mut [u8],
    mss: Option<u16>,
    sack_permitted: bool,
    timestamp: Option<(u32, u32)>,
    window_scale: Option<u8>,
) -> usize {
    // One layout, written by `TcpOptions::emit`.
    TcpOptions {
        mss,
        sack_permitted,
        timestamp,
        window_scale,
        ..TcpOptions::NONE
    }
    .emit(buf)
}

#[cfg(test)]
mod tests;
