//! One forwarded segment rewritten for the other leg of a splice, in place: addresses
//! and ports, seq and ack numbers (the leg's deltas), the window (rescaled between the
//! legs' window-scale shifts), the TCP options (SACK blocks moved into the other leg's
//! sequence space or dropped, timestamps shifted and kept from going backwards), the
//! `server_close` token (`close_mark`), and a segment larger than the receiver's MSS
//! split. Both directions (`splice_up`, `splice_down`) and the L4 tunnel
//! (`tunnel`) forward through it; it runs for every spliced segment.

use super::close_mark;
use super::key::Handle;
use super::splice::Way;
use super::tcp::ts_not_below;
use crate::counters::Counter;
use crate::packet::{PacketBuf, Sink};
use crate::parse::L3_OFFSET;
use crate::pipeline::Pipeline;
use crate::rewrite::{self, headers::tcp_segment, Timestamps, Translation};
use splicer_wire::tcp::{self, SeqNumber};

impl<P: PacketBuf> Pipeline<P> {
    /// Rewrites a segment for the other leg and sends it.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn forward<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        sh: Handle,
        way: Way,
        mut pkt: P,
        now: u64,
        sink: &mut S,
    ) {
        let Some((c, s)) = self.flows.pair_mut(h, sh) else {
            return sink.discard(pkt);
        };
        // The leg of this server connection: the oldest (client segments, its
        // response), or a later one whose response is being sent (pipelining).
        // Borrowed, not copied: this runs for every forwarded segment.
        let Some(leg) = c.leg_of(sh) else {
            return sink.discard(pkt);
        };
        // A client's SACK block past the oldest response is about a later one, in
        // another server's space: dropped (counted).
        let down_end = leg
            .response_end
            .map(|e| SeqNumber(e.0.wrapping_add(leg.down_delta)));
        let frame = &mut pkt.data_mut()[L3_OFFSET..];
        let Ok(t) = tcp_segment(frame) else {
            return sink.discard(pkt);
        };
        let (seq, ack, window) = (
            t.seq_number(),
            t.ack().then(|| t.ack_number()),
            t.window_len(),
        );
        let payload_len = t.payload().len();
        let header_len = t.header_len();
        let c_shift = c.tcp.our_shift();
        let ts_floor = |max: u32| (max != 0).then_some(max);
        let (c_ts_floor, s_ts_floor) = (ts_floor(c.tcp.ts_sent_max), ts_floor(s.tcp.ts_sent_max));
        let c_peer_shift = c.tcp.peer_wscale.unwrap_or(0);
        let s_peer_shift = s.tcp.peer_wscale.unwrap_or(0);
        let (translation, ts, dst, mss, sack_ok);
        let head_end = leg.head_end;
        let down_start = leg.down_start();
        let (up_delta, down_delta) = (leg.up_delta, leg.down_delta);
        // Where the client's sequence space now reaches (a response segment).
        let mut client_end = None;
        // `server_close`: the server sequence number of the response's `keep-alive`
        // to write `close` over (`close_mark`).
        let mut close_at = None;
        match way {
            Way::Up => {
                // A client ACK that came with pipelined bytes (taken by Splicer, cut
                // off here) goes on at the end of what the server was sent.
                let seq = if seq > leg.up_next { leg.up_next } else { seq };
                translation = Translation {
                    src: (s.key.vip, s.key.vip_port),
                    dst: (s.key.client, s.key.client_port),
                    seq: Some(SeqNumber(seq.0.wrapping_add(leg.up_delta))),
                    // Never older than the client's latest ACK: a server drops a
                    // segment whose ACK is more than a window old (RFC 5961 §5.2),
                    // and its bytes, which the framer has seen, with it.
                    ack: ack.map(|a| leg.client_ack_to_server(a.max(c.tcp.snd_una))),
                    window: Some(rewrite::rescale(window, c_peer_shift, s.tcp.our_shift())),
                };
                ts = leg.ts_up;
                dst = s.key.client;
                mss = usize::from(s.tcp.peer_mss);
                sack_ok = s.tcp.sack_ok;
            }
            Way::Down => {
                let mut out_ack = ack.map(|a| leg.server_ack_to_client(a.max(s.tcp.snd_una)));
                let mut out_window = rewrite::rescale(window, s_peer_shift, c_shift);
                // Once the server has the whole request, the ACK covers what Splicer
                // took after it (pipelined requests, the client's FIN), and the window
                // is the room left for them.
                if let Some(raised) = out_ack.and_then(|a| leg.raised_ack(a, c.tcp.rcv_nxt)) {
                    out_ack = Some(raised);
                    out_window = c.head_room_field();
                }
                translation = Translation {
                    src: (c.key.vip, c.key.vip_port),
                    dst: (c.key.client, c.key.client_port),
                    seq: Some(SeqNumber(seq.0.wrapping_add(leg.down_delta))),
                    ack: out_ack,
                    window: Some(out_window),
                };
                ts = leg.ts_down;
                dst = c.key.client;
                mss = usize::from(c.tcp.peer_mss);
                sack_ok = c.tcp.sack_ok;
                client_end = Some(SeqNumber(seq.0.wrapping_add(leg.down_delta)) + payload_len);
                close_at = s.framer.close_mark().map(|at| leg.down_from + at as usize);
            }
        }
        if let Some(end) = client_end {
            if end > c.tcp.snd_nxt {
                c.tcp.snd_nxt = end;
            }
        }
        if rewrite::apply(frame, &translation).is_err() {
            self.counters.inc(port, Counter::DropBadTcpHeader);
            return sink.discard(pkt);
        }
        if let Some(token) = close_at.filter(|_| payload_len > 0) {
            if let Ok(mut t) = tcp_segment(&mut pkt.data_mut()[L3_OFFSET..]) {
                close_mark::write_close(&mut t, seq, token);
            }
        }
        let sack = |edge: SeqNumber| -> Option<SeqNumber> {
            if !sack_ok {
                return None;
            }
            match way {
                // A client's SACK is about response bytes: into server space.
                Way::Up => (edge > down_start && down_end.is_none_or(|e| edge <= e))
                    .then(|| SeqNumber(edge.0.wrapping_sub(down_delta))),
                // A server's SACK is about request body bytes: into client space.
                Way::Down => (edge > head_end).then(|| SeqNumber(edge.0.wrapping_sub(up_delta))),
            }
        };
        let mut sent_ts = None;
        // A segment without options has nothing to translate: skip the walk, and the
        // second look at the headers it needs.
        let translated = if header_len > tcp::HEADER_LEN {
            let Ok(mut t) = tcp_segment(&mut pkt.data_mut()[L3_OFFSET..]) else {
                return sink.discard(pkt);
            };
            // Never below what the receiver has seen (a late retransmission of an
            // earlier response, after a later one's segments: its PAWS would drop it).
            let floor = match way {
                Way::Up => s_ts_floor,
                Way::Down => c_ts_floor,
            };
            rewrite::translate_not_below(&mut t, sack, ts, floor)
        } else {
            Ok(rewrite::OptionSummary::default())
        };
        match translated {
            Ok(summary) => {
                if summary.sack_blocks_dropped > 0 {
                    self.counters.inc(port, Counter::SackBlocksDropped);
                }
                if let (Some((tsval, _)), Timestamps::Shift { tsval_add, .. }) =
                    (summary.timestamp, ts)
                {
                    sent_ts = Some(tsval.wrapping_add(tsval_add));
                }
            }
            Err(_) => {
                self.counters.inc(port, Counter::DropBadTcpHeader);
                return sink.discard(pkt);
            }
        }
        // Options are translated in place (removed ones become NOPs): the header keeps
        // its length.
        let opts_len = header_len - tcp::HEADER_LEN;
        if let (Some(v), Some((c, s))) = (sent_ts, self.flows.pair_mut(h, sh)) {
            let receiver = match way {
                Way::Up => &mut s.tcp.ts_sent_max,
                Way::Down => &mut c.tcp.ts_sent_max,
            };
            *receiver = ts_not_below(v, *receiver);
        }
        let max_payload = mss.saturating_sub(opts_len).max(1);
        self.counters.inc(
            port,
            match way {
                Way::Up => Counter::SplicedUp,
                Way::Down => Counter::SplicedDown,
            },
        );
        if payload_len > max_payload {
            self.counters.inc(port, Counter::Resegmented);
            return self.send_split(port, pkt, dst, max_payload, now, sink);
        }
        let conn = match way {
            Way::Up => sh,
            Way::Down => h,
        };
        self.send_ipv4_of(port, conn, pkt, dst, now, sink);
    }
}
