//! The client's side of a splice: each segment of the client of a spliced connection
//! (client → server), checked as the server would check it (RST and SYN ranges, PAWS,
//! ACKs beyond what was sent), its request-body bytes fed in order to the request
//! framer and bounded by the server's window, bytes past the body's end taken as
//! pipelined requests, and the rest rewritten onto the server leg (`splice_rewrite`).
//! Apart from `splice.rs` (routing a request and joining the legs) because this is the
//! per-segment path of the upload direction, read on its own.

use super::body_guard;
use super::client::State;
use super::clocks::ms_clock;
use super::key::Handle;
use super::leg::Leg;
use super::reshape::{as_probe, trim, trim_front};
use super::segment::Seg;
use super::splice::{in_window, Way};
use super::tcp::beyond;
use crate::counters::{Counter, VirtualCounter};
use crate::packet::{PacketBuf, Sink};
use crate::pipeline::Pipeline;
use splicer_wire::tcp::SeqNumber;

impl<P: PacketBuf> Pipeline<P> {
    /// A segment from the client of a spliced connection.
    pub(super) fn client_spliced<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        seg: &Seg,
        mut pkt: P,
        now: u64,
        sink: &mut S,
    ) {
        let ticks_per_ms = self.settings.flow.ticks_per_ms;
        let Some(c) = self.flows.get_mut(h) else {
            return sink.discard(pkt);
        };
        let Some(leg) = c.legs.front().map(Leg::view) else {
            return sink.discard(pkt);
        };
        if seg.rst() {
            // RFC 5961 §3.2 resets only at the next expected byte; here the client may
            // take any ACK it saw for that: Splicer's own of the head (and of body bytes
            // that came with it), or the server's of the body so far, relayed: anything
            // from the start of the body on. A RST elsewhere in the window gets a
            // challenge ACK (a real peer answers it with a RST in that range), one
            // outside it is dropped. Past the request, the range runs to the end of
            // what Splicer took itself (pipelined requests, a FIN).
            let last = leg.up_next.max(c.tcp.rcv_nxt);
            if seg.seq >= leg.up_from.min(c.tcp.rcv_nxt) && seg.seq <= last {
                self.counters.inc(port, Counter::ClientResets);
                if let Some(c) = self.flows.get_mut(h) {
                    c.abort = Some(crate::access::Term::ClientAborted);
                }
                self.close(h);
            } else if in_window(seg.seq, leg.up_next, c.tcp.peer_wscale) {
                // Answered with the server's last ACK, within the range above, so a
                // real peer's answering RST closes (an ACK of bytes the server has not
                // confirmed would also tell the client never to resend them).
                if self.challenge_allowed(port, now) {
                    self.send_spliced_ack(port, h, false, now, sink);
                }
            } else {
                self.counters.inc(port, Counter::DropTcpBadSegment);
            }
            return sink.discard(pkt);
        }
        if seg.syn() {
            // RFC 5961 §4.2: a SYN on an established connection gets a challenge ACK.
            if self.challenge_allowed(port, now) {
                self.send_spliced_ack(port, h, false, now, sink);
            }
            return sink.discard(pkt);
        }
        if let Some((tsval, _)) = seg.ts {
            // PAWS (RFC 7323 §5.3), as the server applies it: the server sees the
            // client's timestamps shifted by a constant, so it drops a segment with an
            // older one as an old duplicate. Were Splicer to frame its bytes, the client
            // could send other bytes in their place later, as a "retransmission" that
            // the framer does not see again (a desync). Pure ACKs pass, as Linux lets
            // disordered ACKs pass.
            let ms_now = ms_clock(now, ticks_per_ms);
            let in_order = c.tcp.take_timestamp(seg.seq, leg.up_next, tsval, ms_now);
            if !in_order && (!seg.payload.is_empty() || seg.fin()) {
                self.counters.inc(port, Counter::DropTcpPaws);
                sink.discard(pkt);
                return self.send_spliced_ack(port, h, false, now, sink);
            }
        }
        // Acknowledgement of response bytes: maybe the response is now delivered.
        let down_start = leg.down_start;
        if let Some(ack) = seg.ack {
            if beyond(ack, c.tcp.snd_nxt) {
                self.counters.inc(port, Counter::DropTcpBadSegment);
                self.send_flags(port, h, 0, now, sink);
                return sink.discard(pkt);
            }
            if ack > c.tcp.snd_una {
                c.tcp.snd_una = ack;
                c.tcp.last_activity = now;
            }
            // A window that opens past one segment is progress too (slow-read attacks
            // hold it below).
            let was_low = c.window_low();
            c.tcp.peer_window = c.tcp.scaled_window(seg.window);
            if was_low && !c.window_low() {
                c.tcp.last_activity = now;
            }
            if !was_low && c.window_low() {
                // A window closing below one segment is a stall: `send_timeout` may now
                // come before the timer entry. Every other deadline a client segment
                // touches only moves later, which the entry finds when it fires.
                self.reschedule(h);
            }
        }
        if !self.held.is_empty() {
            // Held responses wait for the client's window (`release_held`).
            self.release_held_in_window(h, now, sink);
        }
        let mut leg = leg;
        if leg.response_end.is_none() && leg.ahead_active {
            // Response bytes forwarded past a hole that the client now has (`ahead`).
            leg.response_end = self.ahead_acked(port, h, now, sink);
        }
        let Some(c) = self.flows.get_mut(h) else {
            return sink.discard(pkt);
        };
        if let Some(end) = leg.response_end {
            let end_client = SeqNumber(end.0.wrapping_add(leg.down_delta));
            if c.tcp.snd_una >= end_client {
                self.finish_leg(port, h, now, sink);
                // The rest of the segment (the next request, a FIN) goes to what the
                // client connection does now: perhaps already the splice of a request
                // it had pipelined.
                let payload = &pkt.data()[seg.payload.clone()];
                match self.flows.get_mut(h).map(|c| c.state) {
                    Some(State::Spliced) => {
                        return self.client_spliced(port, h, seg, pkt, now, sink);
                    }
                    Some(_) if !payload.is_empty() || seg.fin() => {
                        self.client_segment(port, h, seg, payload, now, sink);
                    }
                    _ => {}
                }
                return sink.discard(pkt);
            }
        }
        let len = seg.payload.len();
        let mut keep = len;
        let mut fin = seg.fin();
        // Data that found the server's window closed: forwarded as a zero-window probe.
        let mut window_probe = false;
        // Splicer owes the client an ACK of bytes it took itself (pipelined requests,
        // the client's FIN), once the server has the whole request.
        let mut ack_taken = false;
        // Once the body is complete, later bytes are the next requests' (`pipelined`).
        let body_done = leg.body_complete;
        let mut pipelined_from = None;
        if len > 0 && body_done && seg.seq >= leg.up_next {
            let next = c.tcp.rcv_nxt.max(leg.up_next);
            if seg.seq > next {
                self.counters.inc(port, Counter::DropTcpOutOfOrder);
                sink.discard(pkt);
                return self.send_spliced_ack(port, h, false, now, sink);
            }
            let payload = &pkt.data()[seg.payload.clone()];
            ack_taken = self.take_pipelined(port, h, seg.seq, payload);
            keep = 0;
        } else if len > 0 {
            if seg.seq > leg.up_next {
                // Not forwarded (the framer must see every byte in order), so the
                // server cannot tell the client of the hole: Splicer does, with the
                // duplicate ACK the server would have sent.
                self.counters.inc(port, Counter::DropTcpOutOfOrder);
                sink.discard(pkt);
                return self.send_spliced_ack(port, h, false, now, sink);
            }
            let already = (leg.up_next - seg.seq) as usize;
            if seg.seq + len <= leg.up_from {
                // A retransmission of bytes Splicer took itself: its ACK was lost.
                self.send_flags(port, h, 0, now, sink);
                return sink.discard(pkt);
            }
            // Room in the server's receive window, in client sequence space. Bytes past
            // it are neither framed nor forwarded: the server would drop them, and the
            // client's "retransmission" of them could then carry other bytes than the
            // framer saw (a smuggling path). The client sends them again when the
            // window opens, as it must.
            let Some((room, acked)) = self.flows.server_mut(leg.server).map(|s| {
                let limit = SeqNumber(
                    (s.tcp.snd_una + s.tcp.peer_window as usize)
                        .0
                        .wrapping_sub(leg.up_delta),
                );
                let room = usize::try_from(limit - leg.up_next).unwrap_or(0);
                (room, leg.server_ack_to_client(s.tcp.snd_una))
            }) else {
                return sink.discard(pkt);
            };
            let c = self.flows.get_mut(h).expect("checked above");
            if let Some(kept) = c.framing.as_deref_mut() {
                kept.forget_before(acked);
                // Bytes the framer has been past come again: where they decide the
                // body's end they must be the bytes it read.
                let old = &pkt.data()[seg.payload.start..seg.payload.start + already.min(len)];
                if !kept.matches(seg.seq, old) {
                    self.counters.inc(port, Counter::ClientRetransmitMismatch);
                    let v = c.service.virtual_index;
                    self.counters.inc_virtual(v, VirtualCounter::Refused);
                    sink.discard(pkt);
                    return self.splice_reset(port, h, now, sink);
                }
            }
            let leg = c.legs.front_mut().expect("checked above");
            if already < len {
                let avail = &pkt.data()[seg.payload.start + already..seg.payload.end];
                let offered = avail.len().min(room);
                let offer = &avail[..offered];
                // A chunked body's framing bytes are kept (see `body_guard`); the bytes
                // of a Content-Length body go to its framer directly, the hot path.
                let fed = if leg.body.reads_content() {
                    let kept = c.framing.get_or_insert_with(Box::default);
                    body_guard::feed(&mut leg.body, offer, leg.up_next, kept)
                } else {
                    leg.body.feed(offer).map(|f| body_guard::Fed {
                        consumed: f.consumed,
                        held: false,
                    })
                };
                let Ok(fed) = fed else {
                    self.counters.inc(port, Counter::RefusedBadBody);
                    let v = c.service.virtual_index;
                    self.counters.inc_virtual(v, VirtualCounter::Refused);
                    return self.splice_bad_body(port, h, pkt, now, sink);
                };
                let consumed = fed.consumed;
                leg.up_next += consumed;
                keep = already + consumed;
                if consumed > 0 {
                    c.tcp.last_activity = now;
                }
                if fed.held {
                    // Taken once the server acknowledges kept framing bytes.
                    self.counters.inc(port, Counter::ClientDataHeldFraming);
                    fin = false;
                } else if consumed < offered {
                    // The body ended: what follows is the next requests' (`pipelined`),
                    // taken by Splicer, not forwarded.
                    pipelined_from = Some(leg.up_next);
                } else if offered < avail.len() {
                    self.counters.inc(port, Counter::ClientDataBeyondWindow);
                    fin = false;
                    window_probe = keep == 0;
                }
            }
        }
        if let Some(from) = pipelined_from {
            let rest = &pkt.data()[seg.payload.start + keep..seg.payload.end];
            ack_taken = self.take_pipelined(port, h, from, rest);
        }
        let c = self.flows.get_mut(h).expect("checked above");
        let leg = c.legs.front_mut().expect("checked above");
        if fin && seg.seq + keep == leg.up_next && !leg.body.is_complete() {
            // The client closed before its body ended: the request can never complete,
            // and the server connection holds part of it.
            self.counters.inc(port, Counter::ClientBodyTruncated);
            let v = c.service.virtual_index;
            self.counters.inc_virtual(v, VirtualCounter::Refused);
            sink.discard(pkt);
            return self.splice_abort(port, h, 400, true, now, sink);
        }
        let next = c.tcp.rcv_nxt.max(leg.up_next);
        if fin && leg.body.is_complete() && (seg.seq + len == next || c.tcp.fin_received) {
            // The client is done sending. Splicer takes the FIN itself (acknowledged
            // once the server has the whole request); the client connection ends after
            // the responses to what it sent before.
            if !c.tcp.fin_received && seg.seq + len == next {
                if c.head.is_empty() {
                    leg.client_fin = Some(leg.up_next);
                }
                c.tcp.fin_received = true;
                c.tcp.rcv_nxt = next + 1;
            }
            ack_taken = true;
        }
        // Three fields, not a copy of the whole leg, read from the borrow above (not
        // looked up again): this is the established path.
        let (server, up_from, up_next) = (leg.server, leg.up_from, leg.up_next);
        let ack_useful = seg.ack.is_some_and(|a| a > down_start);
        // A segment without data below the next byte is a zero-window probe or a
        // keep-alive: the server must see it to answer with its window, or a window
        // update lost on the way would stall the body for good.
        let probe = len == 0 && !seg.fin() && seg.seq < up_next;
        if window_probe {
            // Nothing of it fits: the server gets it as a probe (no data, one below
            // the next byte), which it answers with its window.
            if !as_probe(&mut pkt) {
                self.counters.inc(port, Counter::DropBadTcpHeader);
                return sink.discard(pkt);
            }
            return self.forward(port, h, server, Way::Up, pkt, now, sink);
        }
        // Bytes before `up_from` are the request head, which Splicer sent (and
        // retransmits) itself, perhaps not as the client wrote it: the client's copy of
        // them never reaches the server.
        let head_overlap = usize::try_from(up_from - seg.seq).unwrap_or(0);
        if keep == 0 && !ack_useful && !probe {
            sink.discard(pkt);
        } else if ((keep < len || seg.fin()) && !trim(&mut pkt, keep, seg.fin()))
            || (keep > 0 && head_overlap > 0 && !trim_front(&mut pkt, head_overlap.min(keep)))
        {
            self.counters.inc(port, Counter::DropBadTcpHeader);
            sink.discard(pkt);
        } else {
            self.forward(port, h, server, Way::Up, pkt, now, sink);
        }
        if ack_taken {
            // Requests that may go out before the response ahead of them do so now.
            self.dispatch_pipelined(port, h, now, sink);
            self.send_spliced_ack(port, h, true, now, sink);
        }
    }
}
