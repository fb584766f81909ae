//! TCP segments as the legs see them: [`Seg`], what a received segment says, parsed
//! and checked once; [`Outgoing`], a segment Splicer is about to send, built while its
//! connection is borrowed; [`OutSegment`], its bytes written into a frame.

use crate::counters::Counter;
use crate::parse::{Ipv4Meta, L3_OFFSET};
use splicer_wire::tcp::{self, SeqNumber, TcpOption};
use splicer_wire::{ipv4, ipv4::protocol};
use std::net::Ipv4Addr;

/// One segment to build.
pub(crate) struct OutSegment<'a> {
    pub src: (Ipv4Addr, u16),
    pub dst: (Ipv4Addr, u16),
    pub seq: SeqNumber,
    pub ack: Option<SeqNumber>,
    pub flags: u8,
    pub window: u16,
    /// Options, already padded to a multiple of 4 bytes.
    pub options: &'a [u8],
    pub payload: &'a [u8],
    pub ident: u16,
}

impl OutSegment<'_> {
    /// Frame length, Ethernet header included.
    pub(crate) fn frame_len(&self) -> usize {
        L3_OFFSET + ipv4::HEADER_LEN + tcp::HEADER_LEN + self.options.len() + self.payload.len()
    }

    /// Writes the IPv4 and TCP headers, options and payload into `frame` (of at least
    /// [`OutSegment::frame_len`] bytes), checksums included. The Ethernet header is left
    /// to the transmit stage.
    pub(crate) fn write(&self, frame: &mut [u8]) {
        debug_assert_eq!(
            self.options.len() & 3,
            0,
            "options must be padded to 4 bytes"
        );
        let tcp_len = tcp::HEADER_LEN + self.options.len() + self.payload.len();
        ipv4::emit_header(
            &mut frame[L3_OFFSET..],
            self.src.0,
            self.dst.0,
            protocol::TCP,
            tcp_len as u16,
            crate::presence::icmp::TTL,
            self.ident,
        );
        let start = L3_OFFSET + ipv4::HEADER_LEN;
        let seg = &mut frame[start..start + tcp_len];
        seg[..tcp::HEADER_LEN].fill(0);
        let mut t = tcp::Packet::new_unchecked(&mut seg[..]);
        t.set_src_port(self.src.1);
        t.set_dst_port(self.dst.1);
        t.set_seq_number(self.seq);
        t.set_ack_number(self.ack.unwrap_or_default());
        t.set_header_len(tcp::HEADER_LEN + self.options.len());
        let ack_flag = if self.ack.is_some() {
            tcp::flags::ACK
        } else {
            0
        };
        t.set_flags(self.flags | ack_flag);
        t.set_window_len(self.window);
        t.options_mut().copy_from_slice(self.options);
        t.payload_mut().copy_from_slice(self.payload);
        t.fill_checksum(self.src.0, self.dst.0);
    }
}

/// Largest TCP options block.
const MAX_OPTIONS: usize = 40;

/// What a received segment says, copied out of the frame.
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
/// connection is borrowed and sent afterwards.
#[derive(Clone)]
pub(super) struct Outgoing {
    pub src: (Ipv4Addr, u16),
    pub dst: (Ipv4Addr, u16),
    pub seq: SeqNumber,
    pub ack: Option<SeqNumber>,
    pub flags: u8,
    pub window: u16,
    pub opts: [u8; MAX_OPTIONS],
    pub opts_len: usize,
}

impl Outgoing {
    pub fn new(src: (Ipv4Addr, u16), dst: (Ipv4Addr, u16), seq: SeqNumber) -> Self {
        Outgoing {
            src,
            dst,
            seq,
            ack: None,
            flags: 0,
            window: 0,
            opts: [0; MAX_OPTIONS],
            opts_len: 0,
        }
    }
}

/// Parses and checks (checksum, options) the TCP segment of an IPv4 frame.
pub(super) fn parse_segment(meta: &Ipv4Meta, frame: &[u8]) -> Result<Seg, Counter> {
    let range = meta.l4_range();
    let t =
        tcp::Packet::new_checked(&frame[range.clone()]).map_err(|_| Counter::DropBadTcpHeader)?;
    if !t.verify_checksum(meta.src, meta.dst) {
        return Err(Counter::DropBadTcpChecksum);
    }
    let mut seg = Seg {
        src_port: t.src_port(),
        dst_port: t.dst_port(),
        seq: t.seq_number(),
        ack: t.ack().then(|| t.ack_number()),
        flags: t.flags(),
        window: t.window_len(),
        payload: range.start + t.header_len()..range.end,
        mss: None,
        wscale: None,
        sack_ok: false,
        ts: None,
    };
    for opt in tcp::options(t.options()) {
        match opt.map_err(|_| Counter::DropBadTcpHeader)?.1 {
            TcpOption::MaxSegmentSize(m) => seg.mss = Some(m),
            TcpOption::WindowScale(w) => seg.wscale = Some(w),
            TcpOption::SackPermitted => seg.sack_ok = true,
            TcpOption::Timestamp { tsval, tsecr } => seg.ts = Some((tsval, tsecr)),
            _ => {}
        }
    }
    Ok(seg)
}
