//! Reshaping forwarded segments in their buffers: cut to what may go on, cut at the
//! front, turned into a zero-window probe, or split for a receiver with a smaller MSS.
//! All rare paths (the common one rewrites fields in place, `rewrite`), so their
//! checksums are recomputed whole.

use crate::counters::Counter;
use crate::packet::{PacketBuf, Sink};
use crate::parse::L3_OFFSET;
use crate::pipeline::Pipeline;
use splicer_wire::ipv4;
use splicer_wire::tcp::{self, SeqNumber};

impl<P: PacketBuf> Pipeline<P> {
    /// Sends a segment larger than the receiver's MSS as several, copying the payload
    /// beyond the first piece into new buffers (rare: only when the two legs' MSS
    /// differ).
    pub(super) fn send_split<S: Sink<P>>(
        &mut self,
        port: u16,
        mut pkt: P,
        dst: std::net::Ipv4Addr,
        max_payload: usize,
        now: u64,
        sink: &mut S,
    ) {
        let frame = pkt.data();
        let ip_len = ipv4::Packet::new_unchecked(&frame[L3_OFFSET..]).header_len();
        let tcp_start = L3_OFFSET + ip_len;
        let t = tcp::Packet::new_unchecked(&frame[tcp_start..]);
        let hdr_end = tcp_start + t.header_len();
        let total =
            L3_OFFSET + usize::from(ipv4::Packet::new_unchecked(&frame[L3_OFFSET..]).total_len());
        let (seq, flags) = (t.seq_number(), t.flags());
        let payload_len = total - hdr_end;
        let mut offset = max_payload;
        while offset < payload_len {
            let n = (payload_len - offset).min(max_payload);
            let Some(mut piece) = sink.alloc() else {
                self.counters.inc(port, Counter::DropAllocFailed);
                break;
            };
            let len = (hdr_end + n).max(crate::transmit::MIN_FRAME_LEN);
            if !piece.resize(len) {
                self.counters.inc(port, Counter::DropAllocFailed);
                sink.discard(piece);
                break;
            }
            let src = pkt.data();
            let out = piece.data_mut();
            out[..hdr_end].copy_from_slice(&src[..hdr_end]);
            out[hdr_end..hdr_end + n].copy_from_slice(&src[hdr_end + offset..hdr_end + offset + n]);
            let last = offset + n == payload_len;
            let keep_flags = if last {
                flags
            } else {
                flags & !(tcp::flags::FIN | tcp::flags::PSH)
            };
            finish_piece(&mut out[..hdr_end + n], ip_len, seq + offset, keep_flags);
            self.send_ipv4(port, piece, dst, now, sink);
            offset += n;
        }
        let frame = pkt.data_mut();
        let first_flags = flags & !(tcp::flags::FIN | tcp::flags::PSH);
        finish_piece(
            &mut frame[..hdr_end + max_payload],
            ip_len,
            seq,
            first_flags,
        );
        // The first piece keeps the original buffer, cut to its length.
        let _ = pkt.resize((hdr_end + max_payload).max(crate::transmit::MIN_FRAME_LEN));
        self.send_ipv4(port, pkt, dst, now, sink);
    }
}

/// Cuts a forwarded segment's payload to `keep` bytes and clears its FIN (when `fin`):
/// the IPv4 length and both checksums are redone. Rare (the next request arriving with
/// the end of a body, a FIN Splicer handles itself), so a full checksum is fine.
pub(super) fn trim<P: PacketBuf>(pkt: &mut P, keep: usize, fin: bool) -> bool {
    reshape(pkt, 0..keep, fin, false)
}

/// Turns a client segment into a zero-window probe: no payload, no FIN, its seq one
/// below where its data started (RFC 9293 §3.8.6.1: an unacceptable segment that the
/// receiver answers with an ACK carrying its window).
pub(super) fn as_probe<P: PacketBuf>(pkt: &mut P) -> bool {
    reshape(pkt, 0..0, true, true)
}

/// Cuts the first `cut` payload bytes off a forwarded segment (its seq moves on by as
/// many), moving the rest forward in the buffer; lengths and both checksums are redone.
/// Rare (a client retransmission that reaches back into the head Splicer sent itself).
pub(super) fn trim_front<P: PacketBuf>(pkt: &mut P, cut: usize) -> bool {
    reshape(pkt, cut..usize::MAX, false, false)
}

/// Keeps the payload bytes `keep` (clamped to the payload) of the one segment in `pkt`,
/// moved to the start of the payload; the seq becomes that of the first byte kept (one
/// less for a `probe`), the FIN is cleared when `clear_fin`. Bytes cut off that stay as
/// Ethernet padding are zeroed, not sent. False when the frame holds no whole segment.
fn reshape<P: PacketBuf>(
    pkt: &mut P,
    keep: std::ops::Range<usize>,
    clear_fin: bool,
    probe: bool,
) -> bool {
    let frame = pkt.data_mut();
    let Ok(ip) = ipv4::Packet::new_checked(&frame[L3_OFFSET..]) else {
        return false;
    };
    let ip_len = ip.header_len();
    let total = usize::from(ip.total_len());
    let tcp_start = L3_OFFSET + ip_len;
    let Ok(t) = tcp::Packet::new_checked(&frame[tcp_start..L3_OFFSET + total]) else {
        return false;
    };
    let (seq, mut flags) = (t.seq_number(), t.flags());
    if clear_fin {
        flags &= !tcp::flags::FIN;
    }
    let start = tcp_start + t.header_len();
    let len = L3_OFFSET + total - start;
    let from = keep.start.min(len);
    let to = keep.end.clamp(from, len);
    if from > 0 {
        frame.copy_within(start + from..start + to, start);
    }
    let end = start + (to - from);
    let seq = if probe { seq + from - 1 } else { seq + from };
    finish_piece(&mut frame[..end], ip_len, seq, flags);
    let padded = end.max(crate::transmit::MIN_FRAME_LEN).min(frame.len());
    frame[end..padded].fill(0);
    pkt.resize(end.max(crate::transmit::MIN_FRAME_LEN))
}

/// Sets the lengths, seq and flags of a frame holding one whole segment and recomputes
/// both checksums.
pub(super) fn finish_piece(frame: &mut [u8], ip_len: usize, seq: SeqNumber, flags: u8) {
    let total = frame.len() - L3_OFFSET;
    let (src, dst) = {
        let mut ip = ipv4::Packet::new_unchecked(&mut frame[L3_OFFSET..]);
        ip.set_total_len(total as u16);
        ip.fill_checksum();
        (ip.src_addr(), ip.dst_addr())
    };
    let mut t = tcp::Packet::new_unchecked(&mut frame[L3_OFFSET + ip_len..]);
    t.set_seq_number(seq);
    t.set_flags(flags);
    t.fill_checksum(src, dst);
}
