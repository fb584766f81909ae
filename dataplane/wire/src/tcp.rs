//! TCP segments (RFC 9293), options (RFC 7323, RFC 2018) and sequence-number
//! arithmetic.

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

/// TCP flag bits, as in [`Packet::flags`].
pub mod flags {
    /// No more data from sender.
    pub const FIN: u8 = 0x01;
    /// Synchronise sequence numbers.
    pub const SYN: u8 = 0x02;
    /// Reset the connection.
    pub const RST: u8 = 0x04;
    /// Push.
    pub const PSH: u8 = 0x08;
    /// The acknowledgement number is significant.
    pub const ACK: u8 = 0x10;
    /// The urgent pointer is significant.
    pub const URG: u8 = 0x20;
    /// ECN echo.
    pub const ECE: u8 = 0x40;
    /// Congestion window reduced.
    pub const CWR: u8 = 0x80;
}

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
    let mut n = 0;
    let mut put = |opt: TcpOption<'_>| n += opt.emit(&mut buf[n..]);
    if let Some(mss) = mss {
        put(TcpOption::MaxSegmentSize(mss));
    }
    match (sack_permitted, timestamp) {
        (true, Some((tsval, tsecr))) => {
            put(TcpOption::SackPermitted);
            put(TcpOption::Timestamp { tsval, tsecr });
        }
        (false, Some((tsval, tsecr))) => {
            put(TcpOption::NoOp);
            put(TcpOption::NoOp);
            put(TcpOption::Timestamp { tsval, tsecr });
        }
        (true, None) => {
            put(TcpOption::NoOp);
            put(TcpOption::NoOp);
            put(TcpOption::SackPermitted);
        }
        (false, None) => {}
    }
    if let Some(shift) = window_scale {
        put(TcpOption::NoOp);
        put(TcpOption::WindowScale(shift));
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::hex;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn lo() -> Ipv4Addr {
        Ipv4Addr::LOCALHOST
    }

    /// A Linux SYN (`connect()` to 127.0.0.1:9) as captured on lo, after the IPv4
    /// header. Loopback leaves the checksum to "offload", so the capture held the
    /// pseudo-header sum 0xfe30; 0x53ff is the full checksum tcpdump computed.
    const SYN: &str = "9a50 0009 96e8 9889 0000 0000 a002 ffd7 53ff 0000
                       0204 ffd7 0402 080a e826 4a0d 0000 0000 0103 030a";

    /// The kernel's RST+ACK answer to it, checksum as captured (tcpdump: correct).
    const RST: &str = "0009 9a50 0000 0000 96e8 988a 5014 0000 e801 0000";

    #[test]
    fn parses_captured_syn() {
        let b = hex(SYN);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!((p.src_port(), p.dst_port()), (39504, 9));
        assert_eq!(p.seq_number(), SeqNumber(2_531_825_801));
        assert_eq!(p.ack_number(), SeqNumber(0));
        assert_eq!(p.header_len(), 40);
        assert_eq!(p.flags(), flags::SYN);
        assert!(p.syn() && !p.ack() && !p.fin() && !p.rst());
        assert!(!p.psh() && !p.urg() && !p.ece() && !p.cwr());
        assert_eq!(p.window_len(), 65495);
        assert_eq!(p.checksum(), 0x53ff);
        assert_eq!(p.urgent_at(), 0);
        assert_eq!(p.options().len(), 20);
        assert!(p.payload().is_empty());
        assert_eq!(p.segment_len(), 1);
        assert!(p.verify_checksum(lo(), lo()));
        assert!(!p.verify_checksum(lo(), Ipv4Addr::new(127, 0, 0, 2)));

        let opts: Vec<_> = options(p.options()).collect::<Result<_>>().unwrap();
        assert_eq!(
            opts,
            [
                (0, TcpOption::MaxSegmentSize(65495)),
                (4, TcpOption::SackPermitted),
                (
                    6,
                    TcpOption::Timestamp {
                        tsval: 3_894_823_437,
                        tsecr: 0
                    }
                ),
                (16, TcpOption::NoOp),
                (17, TcpOption::WindowScale(10)),
            ]
        );
    }

    #[test]
    fn offload_placeholder_is_the_folded_pseudo_header() {
        // What Linux stores before checksum offload, as seen in the raw capture.
        let len = hex(SYN).len() as u16;
        assert_eq!(
            checksum::fold(checksum::pseudo_header_v4(lo(), lo(), protocol::TCP, len)),
            0xfe30
        );
    }

    #[test]
    fn parses_captured_rst() {
        let b = hex(RST);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!((p.src_port(), p.dst_port()), (9, 39504));
        assert_eq!(p.ack_number(), SeqNumber(2_531_825_801) + 1);
        assert_eq!(p.flags(), flags::RST | flags::ACK);
        assert!(p.rst() && p.ack() && !p.syn());
        assert_eq!(p.window_len(), 0);
        assert!(p.options().is_empty());
        assert_eq!(options(p.options()).count(), 0);
        assert_eq!(p.segment_len(), 0);
        assert!(p.verify_checksum(lo(), lo()));
    }

    #[test]
    fn check_len_errors() {
        let good = hex(SYN);
        let check = |b: &[u8]| Packet::new_checked(b).err();
        assert_eq!(check(&good[..19]), Some(Error::Truncated));
        assert_eq!(check(&[]), Some(Error::Truncated));
        assert_eq!(check(&good[..39]), Some(Error::Truncated), "options cut");
        assert_eq!(check(&good[..40]), None);
        for off in 0..5u8 {
            let mut b = good.clone();
            b[12] = off << 4;
            assert_eq!(check(&b), Some(Error::Malformed), "data offset {off}");
        }
        let mut b = good.clone();
        b[12] = 0xf0;
        assert_eq!(
            check(&b),
            Some(Error::Truncated),
            "60-byte header in 40 bytes"
        );
        b.resize(60, 0);
        assert_eq!(check(&b), None);
        // The minimal header needs no options.
        let rst = hex(RST);
        assert_eq!(check(&rst), None);
    }

    #[test]
    fn setters_round_trip() {
        let mut p = Packet::new_unchecked(vec![0u8; 28]);
        p.set_src_port(0x1234);
        p.set_dst_port(443);
        p.set_seq_number(SeqNumber(0xdead_beef));
        p.set_ack_number(SeqNumber(0x0102_0304));
        p.set_header_len(24);
        p.set_window_len(0xfffe);
        p.set_checksum(0xc0de);
        p.set_urgent_at(7);
        p.options_mut().copy_from_slice(&[1, 1, 1, 0]);
        p.payload_mut().copy_from_slice(b"GET ");
        assert_eq!((p.src_port(), p.dst_port()), (0x1234, 443));
        assert_eq!(
            (p.seq_number(), p.ack_number()),
            (SeqNumber(0xdead_beef), SeqNumber(0x0102_0304))
        );
        assert_eq!(
            (p.header_len(), p.window_len(), p.checksum(), p.urgent_at()),
            (24, 0xfffe, 0xc0de, 7)
        );
        assert_eq!(p.options(), &[1, 1, 1, 0]);
        assert_eq!(p.payload(), b"GET ");

        // Each flag setter touches its bit only.
        type P = Packet<Vec<u8>>;
        type Setter = fn(&mut P, bool);
        let setters: [(Setter, u8); 8] = [
            (Packet::set_fin, flags::FIN),
            (Packet::set_syn, flags::SYN),
            (Packet::set_rst, flags::RST),
            (Packet::set_psh, flags::PSH),
            (Packet::set_ack, flags::ACK),
            (Packet::set_urg, flags::URG),
            (Packet::set_ece, flags::ECE),
            (Packet::set_cwr, flags::CWR),
        ];
        let mut expect = 0u8;
        for (set, bit) in setters {
            set(&mut p, true);
            expect |= bit;
            assert_eq!(p.flags(), expect);
        }
        let getters: [fn(&P) -> bool; 8] = [
            Packet::fin,
            Packet::syn,
            Packet::rst,
            Packet::psh,
            Packet::ack,
            Packet::urg,
            Packet::ece,
            Packet::cwr,
        ];
        assert!(getters.iter().all(|g| g(&p)));
        for ((set, bit), get) in setters.into_iter().zip(getters) {
            set(&mut p, false);
            expect &= !bit;
            assert_eq!(p.flags(), expect);
            assert!(!get(&p));
        }
        p.set_flags(flags::SYN | flags::FIN);
        assert_eq!(p.segment_len(), 4 + 2);
        // The data-offset setter keeps the reserved/NS bits.
        let mut b = p.into_inner();
        b[12] |= 0x01;
        let mut p = Packet::new_unchecked(&mut b[..]);
        p.set_header_len(20);
        assert_eq!(p.header_len(), 20);
        assert_eq!(b[12], 0x51);
        assert_eq!(b[..4], [0x12, 0x34, 0x01, 0xbb]);
        assert_eq!(b[4..12], [0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4]);
    }

    #[test]
    fn checksum_fill_and_verify() {
        let mut b = hex(SYN);
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        p.fill_checksum(lo(), lo());
        assert_eq!(p.checksum(), 0x53ff);

        // With an odd-length payload appended.
        let mut b = hex(RST);
        b.extend_from_slice(b"hello");
        let src = Ipv4Addr::new(192, 0, 2, 1);
        let dst = Ipv4Addr::new(198, 51, 100, 7);
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        assert!(!p.verify_checksum(src, dst));
        p.fill_checksum(src, dst);
        assert!(p.verify_checksum(src, dst));
        assert!(!p.verify_checksum(dst, src.octets().map(|o| o ^ 1).into()));
        assert_eq!(p.payload(), b"hello");
        p.into_payload_mut()[4] = b'O';
        let p = Packet::new_checked(&b[..]).unwrap();
        assert!(!p.verify_checksum(src, dst));
        assert_eq!(p.into_payload(), b"hellO");
    }

    #[test]
    fn nat_rewrite_by_incremental_update_equals_recomputation() {
        // The rewrite Splicer does per packet: new addresses (pseudo-header) and
        // ports, plus sequence/ack translation, all by incremental update.
        let mut rng = StdRng::seed_from_u64(0x5eed);
        for round in 0..2000 {
            let mut b = vec![0u8; 20 + rng.gen_range(0..40)];
            rng.fill(&mut b[..]);
            b[12] = 0x50;
            let (mut src, mut dst) = (
                Ipv4Addr::from(rng.gen::<u32>()),
                Ipv4Addr::from(rng.gen::<u32>()),
            );
            let mut p = Packet::new_checked(&mut b[..]).unwrap();
            p.fill_checksum(src, dst);

            let (nsrc, ndst) = (
                Ipv4Addr::from(rng.gen::<u32>()),
                Ipv4Addr::from(rng.gen::<u32>()),
            );
            let (nsport, ndport) = (rng.gen::<u16>(), rng.gen::<u16>());
            let delta = rng.gen::<u32>() as usize;
            let mut c = p.checksum();
            // Addresses and ports as one run each side, as a caller with both at hand would.
            let mut old_run = [0u8; 12];
            old_run[..4].copy_from_slice(&src.octets());
            old_run[4..8].copy_from_slice(&dst.octets());
            old_run[8..10].copy_from_slice(&p.src_port().to_be_bytes());
            old_run[10..].copy_from_slice(&p.dst_port().to_be_bytes());
            let mut new_run = [0u8; 12];
            new_run[..4].copy_from_slice(&nsrc.octets());
            new_run[4..8].copy_from_slice(&ndst.octets());
            new_run[8..10].copy_from_slice(&nsport.to_be_bytes());
            new_run[10..].copy_from_slice(&ndport.to_be_bytes());
            c = checksum::update_bytes(c, &old_run, &new_run);
            let (seq, ack) = (p.seq_number(), p.ack_number());
            c = checksum::update32(c, seq.0, (seq + delta).0);
            c = checksum::update32(c, ack.0, (ack - delta).0);
            p.set_src_port(nsport);
            p.set_dst_port(ndport);
            p.set_seq_number(seq + delta);
            p.set_ack_number(ack - delta);
            p.set_checksum(c);
            (src, dst) = (nsrc, ndst);

            assert!(p.verify_checksum(src, dst), "round {round}");
            p.fill_checksum(src, dst);
            assert_eq!(p.checksum(), c, "round {round}");
        }
    }

    /// `[a < b, a <= b, a > b, a >= b]`, the four operators a caller might write.
    fn ops(a: SeqNumber, b: SeqNumber) -> [bool; 4] {
        [a < b, a <= b, a > b, a >= b]
    }

    #[test]
    fn seq_number_wraparound() {
        let max = SeqNumber(u32::MAX);
        assert_eq!(max + 1, SeqNumber(0));
        assert_eq!(SeqNumber(0) - 1, max);
        assert_eq!(
            SeqNumber(10) + (1usize << 32),
            SeqNumber(10),
            "reduced modulo 2^32"
        );
        let mut s = SeqNumber(u32::MAX - 1);
        s += 5;
        assert_eq!(s, SeqNumber(3));
        s -= 4;
        assert_eq!(s, max);
        assert_eq!(SeqNumber(5) - SeqNumber(u32::MAX - 4), 10);
        assert_eq!(SeqNumber(u32::MAX - 4) - SeqNumber(5), -10);
        assert_eq!(SeqNumber(42).to_string(), "42");
    }

    #[test]
    fn seq_number_serial_order() {
        // Across the wrap, the small number is the later one.
        let before = SeqNumber(u32::MAX - 10);
        let after = SeqNumber(5);
        assert_eq!(ops(before, after), [true, true, false, false]);
        assert_eq!(ops(after, before), [false, false, true, true]);
        assert!(before.lt(&after) && after.gt(&before));
        assert_eq!(before.max(after), after);
        assert_eq!(after.max(before), after);
        assert_eq!(after.min(before), before);
        assert_eq!(before.min(after), before);
        assert_eq!(ops(SeqNumber(7), SeqNumber(7)), [false, true, false, true]);

        // The largest forward distance is 2^31 - 1; beyond it the order flips.
        let zero = SeqNumber(0);
        assert_eq!(
            ops(zero, SeqNumber(0x7fff_ffff)),
            [true, true, false, false]
        );
        assert_eq!(
            ops(zero, SeqNumber(0x8000_0001)),
            [false, false, true, true]
        );
        // Exactly half-way is undefined in RFC 1982: unordered both ways.
        let half = SeqNumber(0x8000_0000);
        assert_eq!(zero.partial_cmp(&half), None);
        assert_eq!(half.partial_cmp(&zero), None);
        assert_eq!(ops(zero, half), [false; 4]);
        assert_eq!(ops(half, zero), [false; 4]);
        assert_eq!(zero.max(half), zero);
        assert_eq!(half.min(zero), half);
    }

    #[test]
    fn option_iterator_rejects_bad_lengths() {
        let malformed = |opts: &[u8]| {
            let items: Vec<_> = options(opts).collect();
            assert_eq!(
                items.last(),
                Some(&Err(Error::Malformed)),
                "{opts:?}: {items:?}"
            );
            assert!(
                items[..items.len() - 1].iter().all(Result::is_ok),
                "{opts:?}"
            );
            items.len() - 1
        };
        assert_eq!(malformed(&[2, 0, 0, 0]), 0, "length 0");
        assert_eq!(malformed(&[99, 0]), 0, "unknown kind, length 0");
        assert_eq!(malformed(&[1, 99, 1]), 1, "length 1");
        assert_eq!(malformed(&[2, 4, 5]), 0, "MSS past end");
        assert_eq!(
            malformed(&[1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0]),
            2,
            "timestamp past end"
        );
        assert_eq!(malformed(&[1, 99, 200, 1]), 1, "unknown kind past end");
        assert_eq!(malformed(&[1, 1, 1, 3]), 3, "length byte missing");
        assert_eq!(malformed(&[2, 3, 5, 1]), 0, "MSS of length 3");
        assert_eq!(malformed(&[3, 4, 7, 0]), 0, "window scale of length 4");
        assert_eq!(malformed(&[4, 3, 0, 1]), 0, "SACK-permitted of length 3");
        assert_eq!(
            malformed(&[8, 8, 0, 0, 0, 0, 0, 0]),
            0,
            "timestamp of length 8"
        );
        assert_eq!(
            malformed(&[5, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            0,
            "SACK of 1.5 blocks"
        );
        assert_eq!(malformed(&[5, 2]), 0, "SACK of no blocks");

        // An error ends the iteration for good.
        let mut it = options(&[2, 0, 1, 1]);
        assert_eq!(it.next(), Some(Err(Error::Malformed)));
        assert_eq!(it.next(), None);
        assert_eq!(it.next(), None);
    }

    #[test]
    fn option_iterator_edge_cases() {
        assert_eq!(options(&[]).next(), None);
        // Nothing after EndOfList is parsed, not even garbage.
        let items: Vec<_> = options(&[1, 0, 2, 0, 0xff]).collect();
        assert_eq!(
            items,
            [Ok((0, TcpOption::NoOp)), Ok((1, TcpOption::EndOfList))]
        );
        // Unknown kinds keep their data; a zero-data unknown option is fine.
        let items: Vec<_> = options(&[30, 4, 0xab, 0xcd, 31, 2]).collect();
        assert_eq!(
            items,
            [
                Ok((
                    0,
                    TcpOption::Unknown {
                        kind: 30,
                        data: &[0xab, 0xcd]
                    }
                )),
                Ok((
                    4,
                    TcpOption::Unknown {
                        kind: 31,
                        data: &[]
                    }
                )),
            ]
        );
        // SACK blocks.
        let b = hex("0101 0512 0000 0064 0000 00c8 ffff fff0 0000 0010");
        let items: Vec<_> = options(&b).collect::<Result<_>>().unwrap();
        assert_eq!(
            items[2],
            (
                2,
                TcpOption::SackRange {
                    blocks: [(100, 200), (0xffff_fff0, 0x10), (0, 0), (0, 0)],
                    count: 2
                }
            )
        );
    }

    #[test]
    fn options_emit_and_parse_back() {
        let cases = [
            TcpOption::EndOfList,
            TcpOption::NoOp,
            TcpOption::MaxSegmentSize(1460),
            TcpOption::WindowScale(14),
            TcpOption::SackPermitted,
            TcpOption::SackRange {
                blocks: [(1, 2), (3, 4), (5, 6), (7, 8)],
                count: 4,
            },
            TcpOption::SackRange {
                blocks: [(9, 10), (0, 0), (0, 0), (0, 0)],
                count: 1,
            },
            TcpOption::Timestamp {
                tsval: 0xfedc_ba98,
                tsecr: 1,
            },
            TcpOption::Unknown {
                kind: 34,
                data: &[1, 2, 3],
            },
        ];
        for opt in cases {
            let mut b = [0u8; 40];
            let n = opt.emit(&mut b);
            assert_eq!(n, opt.buffer_len());
            assert_eq!(options(&b[..n]).next(), Some(Ok((0, opt))), "{opt:?}");
        }
    }

    #[test]
    fn emit_options_matches_linux_syn() {
        let mut b = [0u8; EMIT_OPTIONS_MAX_LEN];
        let n = emit_options(
            &mut b,
            Some(65495),
            true,
            Some((3_894_823_437, 0)),
            Some(10),
        );
        assert_eq!(b[..n], hex(SYN)[20..]);
    }

    #[test]
    fn emit_options_every_combination_parses_back() {
        for bits in 0..16 {
            let mss = (bits & 1 != 0).then_some(1400);
            let sack = bits & 2 != 0;
            let ts = (bits & 4 != 0).then_some((0x0102_0304, 0xa0b0_c0d0));
            let ws = (bits & 8 != 0).then_some(7);
            let mut b = [0xeeu8; EMIT_OPTIONS_MAX_LEN + 4];
            let n = emit_options(&mut b, mss, sack, ts, ws);
            assert_eq!(n % 4, 0, "{bits:04b}: padded to 4 bytes");
            assert!(n <= EMIT_OPTIONS_MAX_LEN);
            assert!(
                b[n..].iter().all(|&x| x == 0xee),
                "{bits:04b}: wrote past {n}"
            );

            let mut got = (None, false, None, None);
            for item in options(&b[..n]) {
                let (at, opt) = item.unwrap();
                // Multi-byte values land 4-byte aligned within the header.
                match opt {
                    TcpOption::MaxSegmentSize(v) => {
                        assert_eq!(at % 4, 0);
                        got.0 = Some(v);
                    }
                    TcpOption::SackPermitted => got.1 = true,
                    TcpOption::Timestamp { tsval, tsecr } => {
                        assert_eq!(at % 4, 2);
                        got.2 = Some((tsval, tsecr));
                    }
                    TcpOption::WindowScale(v) => got.3 = Some(v),
                    TcpOption::NoOp => {}
                    other => panic!("{bits:04b}: unexpected {other:?}"),
                }
            }
            assert_eq!(got, (mss, sack, ts, ws), "{bits:04b}");
        }
    }
}
