//! Building the TCP segments Splicer originates on the client leg.

use crate::parse::L3_OFFSET;
use splicer_wire::tcp::{self, SeqNumber};
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
