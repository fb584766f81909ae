//! `virtual.server_close = "keep"` on the response: `close     ` written over the
//! `keep-alive` token of the response's `Connection` field, for a client that asked
//! `close` while its server was not told (see `splicer_http::server_close`).
//!
//! The response is spliced, not copied: the rewrite is of the server's segments as
//! they are forwarded, same length, so the splice's translation is unchanged. It is
//! positional: every segment forwarded on the leg that covers any of the token's ten
//! bytes (in the server's sequence space, from where the framer found them) gets
//! those bytes, so a retransmission, or a segment held behind a pipelined response,
//! carries the same bytes as the first copy. A token whose first bytes went out
//! before it could be known (it began in an earlier segment than the one that ended
//! it) is left as the server wrote it, counted (`server_close_unmarked`): the client
//! already has part of it.
//!
//! A response without any `Connection` field has nothing to mark: its real is then
//! passed its clients' `close` as written, for [`CLOSE_RETRY_MS`], after which it is
//! tried again; a real's state change or its return to service (`reconfigure`) ends
//! the period at once. A real is not told what changed in it (a new server version,
//! a reloaded configuration), so the period is what finds out: at most one response
//! per real, worker and period reaches a client without `close`, while a real that
//! now says `keep-alive` gets its pool back within the period.

use super::pool::RealPool;
use crate::counters::{Counter, WorkerCounters};
use splicer_http::{ResponseFramer, CLOSE_IN_PLACE};
use splicer_wire::checksum;
use splicer_wire::tcp::{self, SeqNumber};

/// How long a real that answered a kept-off `close` without anything to mark is passed
/// its clients' `close` (`RealPool::close_passed_until`), in milliseconds.
pub(super) const CLOSE_RETRY_MS: u64 = 60_000;

/// Writes the bytes of [`CLOSE_IN_PLACE`] (at server sequence number `token`) that
/// fall in the segment `t` (whose payload starts at server sequence number `seq`),
/// updating its checksum; true when it wrote any.
pub(super) fn write_close(
    t: &mut tcp::Packet<&mut [u8]>,
    seq: SeqNumber,
    token: SeqNumber,
) -> bool {
    let len = t.payload().len();
    let token_len = CLOSE_IN_PLACE.len();
    // The overlap, as offsets in the payload and in the token.
    let from = token - seq;
    let to = from + token_len as i32;
    if to <= 0 || from >= len as i32 {
        return false;
    }
    let (a, b) = (from.max(0) as usize, (to as usize).min(len));
    let header = t.header_len();
    // The checksum's words start at even offsets of the segment (its header length is
    // a multiple of 4): the run is widened to whole words, or to the segment's end.
    let seg_len = header + len;
    let start = (header + a) & !1;
    let end = (header + b).next_multiple_of(2).min(seg_len);
    let mut old = [0u8; 12];
    let n = end - start;
    old[..n].copy_from_slice(&t.as_ref()[start..end]);
    let payload = t.payload_mut();
    for (i, byte) in payload[a..b].iter_mut().enumerate() {
        *byte = CLOSE_IN_PLACE[(a as i32 - from) as usize + i];
    }
    let c = checksum::update_bytes(t.checksum(), &old[..n], &t.as_ref()[start..end]);
    t.set_checksum(c);
    true
}

/// After the response framer of a leg read new bytes from offset `fed_at` of the
/// response on (`had`: whether it had found the token, and read the final head, before
/// them): a token found that began before them (already forwarded as written) is given
/// up; a final head read whole is counted, marked or not, and a real that answered
/// without anything to mark (no `Connection` field: HTTP/1.1's default) is passed its
/// clients' `close` until `retry_at` (`pool`, the real's on this worker).
pub(super) fn after_feed(
    framer: &mut ResponseFramer,
    fed_at: u32,
    had: (bool, bool),
    pool: &mut RealPool,
    retry_at: u64,
    counters: &WorkerCounters,
    port: u16,
) {
    let (had_mark, had_head) = had;
    if !had_mark && framer.close_mark().is_some_and(|at| at < fed_at) {
        framer.cancel_close_mark();
        counters.inc(port, Counter::ServerCloseUnmarked);
        return;
    }
    if had_head || !framer.head_complete() {
        return;
    }
    if framer.close_mark().is_some() {
        counters.inc(port, Counter::ServerCloseMarked);
    } else if framer.reusable() {
        // The response does not say `close` and has nothing to turn into it. The
        // client still sees its connection end after it, as it asked.
        counters.inc(port, Counter::ServerCloseUnmarked);
        pool.close_passed_until = retry_at;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use splicer_wire::tcp::Packet;
    use std::net::Ipv4Addr;

    const SRC: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
    const DST: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);

    /// A 20-byte header (ACK) and `payload`, its checksum right.
    fn segment(payload: &[u8]) -> Vec<u8> {
        let mut buf = vec![
            0, 80, 0x9c, 0x40, 0, 0, 3, 232, 0, 0, 0, 1, 0x50, 0x10, 1, 0,
        ];
        buf.extend_from_slice(&[0; 4]);
        buf.extend_from_slice(payload);
        Packet::new_checked(&mut buf[..])
            .unwrap()
            .fill_checksum(SRC, DST);
        buf
    }

    /// Every way the segments can cut the token: the bytes end up `close     ` and
    /// every segment's checksum verifies.
    #[test]
    fn written_across_any_cut_and_checksums_verify() {
        let resp = b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx";
        let at = resp.windows(10).position(|w| w == b"keep-alive").unwrap();
        let token = SeqNumber(5000 + at as u32);
        let mut want = resp.to_vec();
        want[at..at + 10].copy_from_slice(CLOSE_IN_PLACE);
        // Every cut: the token at odd and even offsets of the second segment.
        for cut in 0..=resp.len() {
            let mut out = Vec::new();
            for (off, piece) in [(0, &resp[..cut]), (cut, &resp[cut..])] {
                if piece.is_empty() {
                    continue;
                }
                let mut buf = segment(piece);
                let mut t = Packet::new_checked(&mut buf[..]).unwrap();
                let wrote = write_close(&mut t, SeqNumber(5000 + off as u32), token);
                let overlaps = off < at + 10 && off + piece.len() > at;
                assert_eq!(wrote, overlaps, "cut {cut}");
                let t = Packet::new_checked(&buf[..]).unwrap();
                assert!(t.verify_checksum(SRC, DST), "cut {cut} piece at {off}");
                out.extend_from_slice(t.payload());
            }
            assert_eq!(out, want, "cut {cut}");
        }
    }

    #[test]
    fn segments_elsewhere_are_untouched() {
        let mut buf = segment(b"0123456789abcdef");
        let before = buf.clone();
        let mut t = Packet::new_checked(&mut buf[..]).unwrap();
        assert!(!write_close(&mut t, SeqNumber(100), SeqNumber(116)));
        assert!(!write_close(&mut t, SeqNumber(100), SeqNumber(90)));
        assert_eq!(buf, before);
        // Across the sequence space's wrap.
        let mut t = Packet::new_checked(&mut buf[..]).unwrap();
        assert!(write_close(
            &mut t,
            SeqNumber(u32::MAX - 3),
            SeqNumber(u32::MAX - 1)
        ));
        let t = Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(&t.payload()[2..12], CLOSE_IN_PLACE);
        assert!(t.verify_checksum(SRC, DST));
    }
}
