//! The parse/emit layer over the TCP header view: [`TcpRepr`] and [`TcpOptions`].
//!
//! A [`Packet`] is bytes with accessors; a [`TcpRepr`] is the segment as a value, the
//! way `smoltcp::wire::TcpRepr` is. Splicer reads every segment it terminates into
//! one (lengths, checksum and options checked once, in [`TcpRepr::parse`]) and builds
//! every segment it originates from one ([`TcpRepr::emit`]), so that neither side
//! deals in option bytes, header lengths or bare flag bytes.
//!
//! Only what Splicer uses is represented: the urgent pointer, the reserved bits and
//! options other than MSS, window scale, SACK-permitted, SACK and timestamps are
//! dropped by `parse` and written as zero (or not at all) by `emit`. Parsing a
//! foreign segment and emitting it again therefore gives the same segment, not
//! necessarily the same bytes; a segment `emit` wrote parses back to an equal value.

use super::{options, Packet, SeqNumber, TcpFlags, TcpOption, HEADER_LEN, MAX_HEADER_LEN};
use crate::{ChecksumPolicy, ParseError};
use std::net::Ipv4Addr;

/// Most SACK blocks one segment carries: four fill the 40 option bytes (RFC 2018).
pub const MAX_SACK_BLOCKS: usize = 4;

/// The TCP options Splicer reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpOptions {
    /// Maximum segment size the sender accepts (SYN only).
    pub mss: Option<u16>,
    /// The sender's window shift count (SYN only), as sent, not clamped to 14.
    pub window_scale: Option<u8>,
    /// The sender accepts SACK blocks (SYN only).
    pub sack_permitted: bool,
    /// Timestamp value and echo reply (RFC 7323), as `(tsval, tsecr)`.
    pub timestamp: Option<(u32, u32)>,
    /// SACK blocks as `(left edge, right edge)`. `parse` fills them from the front;
    /// `emit` writes the `Some`s in order and leaves off those that do not fit in the
    /// option space beside the other options (at most 3 beside a timestamp).
    pub sack: [Option<(SeqNumber, SeqNumber)>; MAX_SACK_BLOCKS],
}

/// Bytes of option space in the largest header.
const MAX_OPTIONS_LEN: usize = MAX_HEADER_LEN - HEADER_LEN;

impl TcpOptions {
    /// No options.
    pub const NONE: TcpOptions = TcpOptions {
        mss: None,
        window_scale: None,
        sack_permitted: false,
        timestamp: None,
        sack: [None; MAX_SACK_BLOCKS],
    };

    /// Length of everything but the SACK blocks, a multiple of 4.
    fn base_len(&self) -> usize {
        let mut n = 0;
        if self.mss.is_some() {
            n += 4;
        }
        n += match (self.sack_permitted, self.timestamp) {
            (_, Some(_)) => 12,
            (true, None) => 4,
            (false, None) => 0,
        };
        if self.window_scale.is_some() {
            n += 4;
        }
        n
    }

    /// How many SACK blocks `emit` writes.
    fn sack_count(&self) -> usize {
        let present = self.sack.iter().flatten().count();
        let room = (MAX_OPTIONS_LEN - self.base_len()).saturating_sub(4) / 8;
        present.min(room)
    }

    /// Bytes [`TcpOptions::emit`] writes: a multiple of 4, at most 40.
    pub fn buffer_len(&self) -> usize {
        let sacks = self.sack_count();
        self.base_len() + if sacks > 0 { 4 + 8 * sacks } else { 0 }
    }

    /// Writes the options at the start of `buf` and returns [`TcpOptions::buffer_len`].
    ///
    /// The layout is Linux's (`tcp_options_write`), every multi-byte field 4-byte
    /// aligned with as few NOPs as possible ([`emit_options`](super::emit_options) is a
    /// shorthand for it): `MSS`, then
    /// `SACK-permitted Timestamp` (or `NOP NOP Timestamp`, or `NOP NOP
    /// SACK-permitted`), then `NOP WindowScale`, then `NOP NOP SACK`.
    ///
    /// # Panics
    ///
    /// If `buf` is shorter than [`TcpOptions::buffer_len`].
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let mut n = 0;
        let mut put = |opt: TcpOption<'_>| n += opt.emit(&mut buf[n..]);
        if let Some(mss) = self.mss {
            put(TcpOption::MaxSegmentSize(mss));
        }
        match (self.sack_permitted, self.timestamp) {
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
        if let Some(shift) = self.window_scale {
            put(TcpOption::NoOp);
            put(TcpOption::WindowScale(shift));
        }
        let count = self.sack_count();
        if count > 0 {
            let mut blocks = [(0, 0); MAX_SACK_BLOCKS];
            for (slot, (l, r)) in blocks.iter_mut().zip(self.sack.iter().flatten()) {
                *slot = (l.0, r.0);
            }
            put(TcpOption::NoOp);
            put(TcpOption::NoOp);
            put(TcpOption::SackRange {
                blocks,
                count: count as u8,
            });
        }
        n
    }

    /// Reads the options Splicer knows from raw option bytes
    /// ([`Packet::options`]); others are skipped. When an option repeats, the last
    /// one counts.
    ///
    /// [`ParseError::Malformed`] on an option whose length is missing, impossible or
    /// wrong for its kind (see [`options`]).
    ///
    /// Inlined: every received segment comes here, and the two layouts below are a
    /// length test and a few loads; only the walk is a call.
    #[inline]
    pub fn parse(opts: &[u8]) -> Result<TcpOptions, ParseError> {
        // What nearly every segment of an established connection carries, read without
        // the walk: no options, or only the timestamp in the layout RFC 7323 Appendix A
        // recommends and Linux sends (NOP, NOP, kind 8, length 10), which Linux reads
        // the same way (`tcp_parse_aligned_timestamp`). Both give what the walk gives.
        match opts {
            [] => Ok(TcpOptions::NONE),
            [1, 1, 8, 10, v0, v1, v2, v3, e0, e1, e2, e3] => Ok(TcpOptions {
                timestamp: Some((
                    u32::from_be_bytes([*v0, *v1, *v2, *v3]),
                    u32::from_be_bytes([*e0, *e1, *e2, *e3]),
                )),
                ..TcpOptions::NONE
            }),
            _ => Self::parse_walk(opts),
        }
    }

    /// [`TcpOptions::parse`] by walking every option.
    #[inline(never)]
    fn parse_walk(opts: &[u8]) -> Result<TcpOptions, ParseError> {
        let mut o = TcpOptions::NONE;
        for opt in options(opts) {
            match opt?.1 {
                TcpOption::MaxSegmentSize(m) => o.mss = Some(m),
                TcpOption::WindowScale(w) => o.window_scale = Some(w),
                TcpOption::SackPermitted => o.sack_permitted = true,
                TcpOption::Timestamp { tsval, tsecr } => o.timestamp = Some((tsval, tsecr)),
                TcpOption::SackRange { blocks, count } => {
                    o.sack = [None; MAX_SACK_BLOCKS];
                    for (slot, &(l, r)) in o.sack.iter_mut().zip(&blocks[..usize::from(count)]) {
                        *slot = Some((SeqNumber(l), SeqNumber(r)));
                    }
                }
                TcpOption::EndOfList | TcpOption::NoOp | TcpOption::Unknown { .. } => {}
            }
        }
        Ok(o)
    }
}

/// A TCP segment header as a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TcpRepr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: SeqNumber,
    /// Acknowledgement number: `Some` exactly when the ACK flag is set.
    pub ack: Option<SeqNumber>,
    /// The flag bits as on the wire. `parse` keeps [`TcpFlags::ACK`] here equal to
    /// `ack.is_some()`; `emit` ignores it and sets the ACK bit from `ack`, so a caller
    /// building a segment need only fill `ack`.
    pub flags: TcpFlags,
    /// The window field as sent, not scaled.
    pub window: u16,
    /// Options.
    pub options: TcpOptions,
    /// Payload length in bytes. The payload is the last `payload_len` bytes of the
    /// segment: [`Packet::payload`] for a parsed one.
    pub payload_len: usize,
}

impl TcpRepr {
    /// Reads a segment carried from `src` to `dst`. The packet need not have been
    /// checked; the checks run in the order Splicer counts drops by:
    ///
    /// 1. [`Packet::check_len`]: [`ParseError::Truncated`] or
    ///    [`ParseError::Malformed`] (data offset below 5);
    /// 2. under [`ChecksumPolicy::Verify`], the checksum:
    ///    [`ParseError::BadChecksum`];
    /// 3. the options ([`TcpOptions::parse`]): [`ParseError::Malformed`].
    ///
    /// Nothing else is judged: port 0, SYN with FIN and the like are the caller's
    /// business.
    pub fn parse<T: AsRef<[u8]>>(
        packet: &Packet<T>,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        checksum: ChecksumPolicy,
    ) -> Result<TcpRepr, ParseError> {
        packet.check_len()?;
        if checksum == ChecksumPolicy::Verify && !packet.verify_checksum(src, dst) {
            return Err(ParseError::BadChecksum);
        }
        let options = TcpOptions::parse(packet.options())?;
        let flags = TcpFlags::from(packet.flags());
        Ok(TcpRepr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            seq: packet.seq_number(),
            ack: flags.contains(TcpFlags::ACK).then(|| packet.ack_number()),
            flags,
            window: packet.window_len(),
            options,
            payload_len: packet.payload().len(),
        })
    }

    /// Header length `emit` writes, options included: a multiple of 4 from 20 to 60.
    #[inline]
    pub fn header_len(&self) -> usize {
        HEADER_LEN + self.options.buffer_len()
    }

    /// Length of the whole segment, header and payload: the buffer `emit` needs.
    #[inline]
    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.payload_len
    }

    /// Sequence space the segment occupies: payload bytes, plus one each for SYN and
    /// FIN.
    #[inline]
    pub fn segment_len(&self) -> usize {
        self.payload_len
            + usize::from(self.flags.contains(TcpFlags::SYN))
            + usize::from(self.flags.contains(TcpFlags::FIN))
    }

    /// The flags `emit` writes: `flags` with ACK set exactly when `ack` is `Some`.
    #[inline]
    pub fn wire_flags(&self) -> TcpFlags {
        self.flags.with(TcpFlags::ACK, self.ack.is_some())
    }

    /// Writes the segment, header, options and `payload`, into `packet`, and fills the
    /// checksum for carriage from `src` to `dst`. Every header byte is written (the
    /// buffer need not be zeroed): acknowledgement number 0 without `ack`, reserved
    /// bits and urgent pointer 0.
    ///
    /// # Panics
    ///
    /// If the packet's buffer is not exactly [`TcpRepr::buffer_len`] bytes (the
    /// checksum runs to its end), or `payload` is not `payload_len` bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        payload: &[u8],
    ) {
        assert_eq!(payload.len(), self.payload_len, "TCP payload length");
        assert_eq!(
            packet.as_ref().len(),
            self.buffer_len(),
            "TCP segment buffer length"
        );
        let header_len = self.header_len();
        // The data offset shares its byte with the reserved bits: clear them too.
        packet.buffer.as_mut()[super::offset::DATA_OFF] = 0;
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_seq_number(self.seq);
        packet.set_ack_number(self.ack.unwrap_or_default());
        packet.set_header_len(header_len);
        packet.set_flags(self.wire_flags().bits());
        packet.set_window_len(self.window);
        packet.set_urgent_at(0);
        self.options.emit(packet.options_mut());
        packet.payload_mut().copy_from_slice(payload);
        packet.fill_checksum(src, dst);
    }
}

#[cfg(test)]
mod tests;
