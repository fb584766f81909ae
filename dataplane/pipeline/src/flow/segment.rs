//! TCP segments as the legs see them: [`Seg`], what a received segment says, parsed
//! and checked once; [`Outgoing`], a segment Splicer is about to send, built while its
//! connection is borrowed, then written into a frame. Both through `splicer-wire`'s
//! [`TcpRepr`] and [`Ipv4Repr`].

use crate::counters::Counter;
use crate::parse::{Ipv4Meta, L3_OFFSET};
use splicer_wire::ipv4::{self, protocol, Ipv4Repr};
use splicer_wire::tcp::{self, SeqNumber, TcpFlags, TcpOptions, TcpRepr};
use splicer_wire::{ChecksumPolicy, ParseError};
use std::net::Ipv4Addr;

/// What a received segment says, copied out of the frame.
#[derive(Clone)]
pub(super) struct Seg {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: SeqNumber,
    pub ack: Option<SeqNumber>,
    pub flags: u8,
    /// The window field as sent (not scaled).
    pub window: u16,
    pub payload: std::ops::Range<usize>,
    pub mss: Option<u16>,
    pub wscale: Option<u8>,
    pub sack_ok: bool,
    pub ts: Option<(u32, u32)>,
}

impl Seg {
    pub fn syn(&self) -> bool {
        self.flags & tcp::flags::SYN != 0
    }
    pub fn fin(&self) -> bool {
        self.flags & tcp::flags::FIN != 0
    }
    pub fn rst(&self) -> bool {
        self.flags & tcp::flags::RST != 0
    }
    /// Sequence space the segment occupies.
    pub(super) fn len(&self) -> usize {
        self.payload.len() + usize::from(self.syn()) + usize::from(self.fin())
    }
}

/// A segment Splicer is about to send, owned so that it can be built while the
/// connection is borrowed and sent afterwards: the addresses and the TCP header as a
/// [`TcpRepr`] (its payload is given when it is written).
#[derive(Clone)]
pub(super) struct Outgoing {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub tcp: TcpRepr,
}

impl Outgoing {
    /// A segment without flags, ACK, window or options from `src` to `dst` at `seq`.
    pub fn new(src: (Ipv4Addr, u16), dst: (Ipv4Addr, u16), seq: SeqNumber) -> Self {
        Outgoing {
            src: src.0,
            dst: dst.0,
            tcp: TcpRepr {
                src_port: src.1,
                dst_port: dst.1,
                seq,
                ack: None,
                flags: TcpFlags::empty(),
                window: 0,
                options: TcpOptions::NONE,
                payload_len: 0,
            },
        }
    }

    /// Frame length with `payload_len` bytes of payload, Ethernet header included.
    pub fn frame_len(&self, payload_len: usize) -> usize {
        L3_OFFSET + ipv4::HEADER_LEN + self.tcp.header_len() + payload_len
    }

    /// Writes the IPv4 and TCP headers and `payload` into `frame` (of at least
    /// [`Outgoing::frame_len`] bytes), checksums included. The Ethernet header is left
    /// to the transmit stage.
    pub fn write(&self, frame: &mut [u8], payload: &[u8], ident: u16) {
        let tcp = TcpRepr {
            payload_len: payload.len(),
            ..self.tcp
        };
        let ip = Ipv4Repr {
            src: self.src,
            dst: self.dst,
            protocol: protocol::TCP,
            payload_len: tcp.buffer_len(),
            ttl: crate::presence::icmp::TTL,
            ident,
        };
        ip.emit(&mut ipv4::Packet::new_unchecked(&mut frame[L3_OFFSET..]));
        let start = L3_OFFSET + ipv4::HEADER_LEN;
        let seg = &mut frame[start..start + tcp.buffer_len()];
        tcp.emit(
            &mut tcp::Packet::new_unchecked(seg),
            self.src,
            self.dst,
            payload,
        );
    }
}

/// Parses and checks (checksum, options) the TCP segment of an IPv4 frame.
pub(super) fn parse_segment(meta: &Ipv4Meta, frame: &[u8]) -> Result<Seg, Counter> {
    let range = meta.l4_range();
    let t = tcp::Packet::new_unchecked(&frame[range.clone()]);
    let r =
        TcpRepr::parse(&t, meta.src, meta.dst, ChecksumPolicy::Verify).map_err(|e| match e {
            ParseError::BadChecksum => Counter::DropBadTcpChecksum,
            _ => Counter::DropBadTcpHeader,
        })?;
    Ok(Seg {
        src_port: r.src_port,
        dst_port: r.dst_port,
        seq: r.seq,
        ack: r.ack,
        flags: r.flags.bits(),
        window: r.window,
        payload: range.end - r.payload_len..range.end,
        mss: r.options.mss,
        wscale: r.options.window_scale,
        sack_ok: r.options.sack_permitted,
        ts: r.options.timestamp,
    })
}
