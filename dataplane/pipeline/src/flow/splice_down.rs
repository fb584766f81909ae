//! The server's side of a splice: each segment of the server of a spliced connection
//! (server → client), its ACK checked against what the server leg was sent, its
//! response bytes fed in order to the response framer (which finds where the response
//! ends, its status class, and the `keep-alive` token that `server_close` marks,
//! `close_mark`), bytes past a hole forwarded ahead or dropped with a duplicate ACK,
//! the response's end and a server FIN noted, and the segment rewritten onto the
//! client leg (`splice_rewrite`). Apart from `splice.rs` because this is the
//! per-segment path of the download direction, read on its own.

use super::ahead;
use super::clocks::{anchor_down, ms_clock};
use super::close_mark;
use super::key::Handle;
use super::reshape::trim;
use super::route::micros;
use super::segment::Seg;
use super::splice::Way;
use super::tcp::{beyond, ts_not_below};
use crate::counters::{Counter, RealCounter};
use crate::packet::{PacketBuf, Sink};
use crate::pipeline::Pipeline;
use splicer_http::StatusClass;
use splicer_wire::tcp::SeqNumber;

impl<P: PacketBuf> Pipeline<P> {
    /// A duplicate ACK to the server of a splice, as its client would send it: the
    /// response bytes the client acknowledged last and the client's window, both in
    /// the server leg's terms, no data. Never more than the client acknowledged: bytes
    /// Splicer forwarded may still be lost on the way to the client.
    fn send_server_dup_ack<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        sh: Handle,
        now: u64,
        sink: &mut S,
    ) {
        let ts_now = self.ts_now(now);
        let Some((c, s)) = self.flows.pair_mut(h, sh) else {
            return;
        };
        let Some(leg) = c.leg_of(sh).cloned() else {
            return;
        };
        let mut o = s.outgoing(leg.relayed_end().max(s.tcp.snd_nxt), 0, ts_now);
        o.tcp.ack = Some(leg.client_ack_to_server(c.tcp.snd_una));
        if c.tcp.peer_window == 0 {
            // The client's window is not known yet (or is closed): a duplicate ACK
            // would tell the server to stop; its own timer recovers instead.
            return;
        }
        let window = c.tcp.peer_window >> s.tcp.our_shift();
        o.tcp.window = window.min(u32::from(u16::MAX)) as u16;
        self.emit(port, &o, &[], now, sink);
    }

    /// A segment from the server of a spliced connection.
    pub(super) fn forward_down<S: Sink<P>>(
        &mut self,
        port: u16,
        sh: Handle,
        seg: &Seg,
        mut pkt: P,
        now: u64,
        sink: &mut S,
    ) {
        let ticks_per_ms = self.settings.flow.ticks_per_ms;
        let Some(s) = self.flows.server_mut(sh) else {
            return sink.discard(pkt);
        };
        let Some(h) = s.client else {
            return sink.discard(pkt);
        };
        if seg.syn() {
            self.counters.inc(port, Counter::DropTcpBadSegment);
            return sink.discard(pkt);
        }
        let Some((c, s)) = self.flows.pair_mut(h, sh) else {
            return sink.discard(pkt);
        };
        // The leg of this server connection: the first (its response goes to the
        // client), or one pipelined behind it (its response is held).
        let index = if c.legs.front().is_some_and(|l| l.server == sh) {
            0
        } else {
            match c.legs.iter().position(|l| l.server == sh) {
                Some(i) => i,
                None => return sink.discard(pkt),
            }
        };
        let leg = &mut c.legs[index];
        let len = seg.payload.len();
        if len > 0 && !s.answered {
            // The response's first byte, whether it goes to the client now or is held.
            s.answered = true;
            let us = micros(now - s.since, self.settings.flow.ticks_per_ms);
            self.pools.get(s.real).measure.first_byte(us);
            if let Some(rec) = self.access.as_mut().and_then(|a| a.get(leg.log)) {
                rec.first_byte = now;
            }
        }
        if let Some(ack) = seg.ack {
            // What the server leg has been sent: Splicer's head, then the client's bytes
            // relayed (and its FIN). An ACK beyond it is answered and dropped (RFC 9293
            // section 3.10.7.4); relayed, it would acknowledge to the client bytes it
            // never sent, and the client would drop the segment with its data.
            let sent = leg.relayed_end().max(s.tcp.snd_nxt) + usize::from(leg.client_fin.is_some());
            if beyond(ack, sent) {
                self.counters.inc(port, Counter::DropTcpBadSegment);
                sink.discard(pkt);
                return self.send_server_flags(port, sh, 0, now, sink);
            }
            if ack >= s.tcp.snd_una {
                s.tcp.peer_window = s.tcp.scaled_window(seg.window);
            }
            if ack > s.tcp.snd_una {
                s.tcp.snd_una = ack;
                if ack >= leg.head_end {
                    s.tcp.all_acked();
                }
            }
        }
        if !leg.promoted {
            return self.hold(port, h, sh, seg, pkt, now, sink);
        }
        let (held_rest, window_offered) = (leg.held_rest, leg.window_offered.is_some());
        if let Some((tsval, _)) = seg.ts {
            let ms_now = ms_clock(now, ticks_per_ms);
            if leg.ts_anchor_pending {
                anchor_down(leg, tsval, ts_not_below(ms_now, c.tcp.ts_sent_max));
            }
            s.tcp.note_timestamp(seg.seq, leg.down_next, tsval, ms_now);
        }
        let mut keep = len;
        let mut response_starts = false;
        // `server_close`: what the framer had found of the token to mark, before
        // this segment's bytes (`close_mark`).
        let mut close_mark_fed = None;
        if len > 0 || seg.fin() {
            if seg.seq != leg.down_next && len > 0 {
                // A gap (a segment was lost) or bytes sent again: loss on this leg.
                s.lossy = true;
            }
            if seg.seq > leg.down_next {
                if !seg.fin() && ahead::forward_ahead(leg, &s.framer, seg.seq, len) {
                    // Bytes the framer only counts: forwarded now, the client's TCP
                    // puts them in order (`ahead`).
                    self.counters.inc(port, Counter::ServerForwardedAhead);
                    return self.forward(port, h, sh, Way::Down, pkt, now, sink);
                }
                // Not forwarded (the response framer must read these bytes in order):
                // the server hears of the hole from Splicer, with the duplicate ACK the
                // client would have sent, and retransmits at once instead of after its
                // timeout.
                self.counters.inc(port, Counter::DropServerOutOfOrder);
                sink.discard(pkt);
                return self.send_server_dup_ack(port, h, sh, now, sink);
            }
            if seg.seq + len + usize::from(seg.fin()) <= leg.down_from {
                // Old data the previous client acknowledged: Splicer ACKs it again.
                sink.discard(pkt);
                return self.send_server_flags(port, sh, 0, now, sink);
            }
            let already = (leg.down_next - seg.seq) as usize;
            response_starts = already < len && leg.down_next == leg.down_from;
            if already < len {
                let new = &pkt.data()[seg.payload.start + already..seg.payload.end];
                if leg.response_end.is_some() {
                    // More than the response: the server cannot be trusted to frame.
                    self.counters.inc(port, Counter::ServerUnexpectedData);
                    leg.spoiled = true;
                    keep = already;
                } else {
                    if s.framer.wants_close_mark() {
                        close_mark_fed = Some((
                            leg.down_next,
                            s.framer.close_mark().is_some(),
                            s.framer.head_complete(),
                        ));
                    }
                    match s.framer.feed(new) {
                        Ok(f) => {
                            leg.down_next += f.consumed;
                            keep = already + f.consumed;
                            // Bytes forwarded past the gap this segment filled.
                            let caught_up = !f.complete && ahead::catch_up(leg, &mut s.framer);
                            if f.complete || caught_up {
                                leg.response_end = Some(leg.down_next);
                                let us = micros(now - s.since, self.settings.flow.ticks_per_ms);
                                self.pools.get(s.real).measure.response_end(us, s.lossy);
                                if keep < len {
                                    self.counters.inc(port, Counter::ServerUnexpectedData);
                                    leg.spoiled = true;
                                }
                            }
                        }
                        Err(_) => {
                            self.counters.inc(port, Counter::ServerFramingErrors);
                            if response_starts && index == 0 {
                                // Not a byte of it reached the client: 502, as nginx and
                                // HAProxy answer such a head. Relayed, a keep-alive
                                // server never closes (client and real's slot held till
                                // `server_idle_timeout`) and the client may frame the
                                // head otherwise (a split response).
                                sink.discard(pkt);
                                return self.splice_unframeable(port, h, sh, now, sink);
                            }
                            // Unframeable mid-way: relay until the server closes, never
                            // reuse.
                            leg.spoiled = true;
                            leg.down_next += new.len();
                        }
                    }
                }
                if let Some((fed_from, had_mark, had_head)) = close_mark_fed {
                    let fed_at = (fed_from - leg.down_from) as u32;
                    let pool = self.pools.get(s.real);
                    let was = (had_mark, had_head);
                    let retry_at = now + close_mark::CLOSE_RETRY_MS * ticks_per_ms;
                    close_mark::after_feed(
                        &mut s.framer,
                        fed_at,
                        was,
                        pool,
                        retry_at,
                        &self.counters,
                        port,
                    );
                }
                s.tcp.rcv_nxt = leg.down_next;
                if !leg.class_counted {
                    if let Some(class) = s.framer.status_class() {
                        leg.class_counted = true;
                        self.counters.inc(port, class_counter(class));
                        self.counters.inc_real(s.real, real_class_counter(class));
                    }
                }
            }
            if seg.fin() && seg.seq + len == leg.down_next && !s.tcp.fin_received {
                s.tcp.fin_received = true;
                if leg.response_end.is_none() {
                    if s.framer.finish().is_ok() {
                        leg.response_end = Some(leg.down_next);
                        let us = micros(now - s.since, self.settings.flow.ticks_per_ms);
                        self.pools.get(s.real).measure.response_end(us, s.lossy);
                        let end_client = SeqNumber(leg.down_next.0.wrapping_add(leg.down_delta));
                        if len == 0 && index == 0 && c.tcp.snd_una >= end_client {
                            // A close-delimited response whose FIN came alone, after
                            // the client acknowledged the rest: no ACK of the client's
                            // would end it now (it waits for the close).
                            sink.discard(pkt);
                            return self.finish_leg(port, h, now, sink);
                        }
                    } else {
                        // The response was cut short: the client must not take it
                        // for complete.
                        self.counters.inc(port, Counter::ServerTruncated);
                        sink.discard(pkt);
                        return self.splice_server_lost(port, h, sh, 502, now, sink);
                    }
                }
            }
        }
        // A segment without data below the next byte is the server's zero-window probe
        // (or keep-alive): forwarded, so that a client whose window update was lost
        // answers with its window instead of stalling the response for good.
        let probe = len == 0 && !seg.fin() && seg.seq < leg.down_next;
        // This segment carries the end of the response: the next one may follow.
        let sent_whole = keep > 0 && leg.response_end == Some(leg.down_next);
        let head_only_ack = len == 0 && !probe && seg.ack.is_none_or(|a| a <= leg.head_end);
        if (keep == 0 && head_only_ack) || (len > 0 && keep == 0 && !seg.fin()) {
            return sink.discard(pkt);
        }
        if (keep < len || seg.fin()) && !trim(&mut pkt, keep, seg.fin()) {
            self.counters.inc(port, Counter::DropBadTcpHeader);
            return sink.discard(pkt);
        }
        self.forward(port, h, sh, Way::Down, pkt, now, sink);
        if response_starts {
            // Response bytes are outstanding from now on: the client's `send_timeout`
            // applies, and may come before its timer entry.
            self.reschedule(h);
            // A response that ends in this segment gives the connection back to its
            // pool at once, with its buffer for the next request.
            if !sent_whole {
                self.flows.release_head_copy(sh);
            }
        }
        if held_rest {
            // A gap in what was held is filled: what came after it follows.
            self.release_held(h, sh, now, sink);
        }
        if window_offered {
            self.open_window_if_due(port, h, sh, now, sink);
        }
        if sent_whole {
            self.response_sent(port, h, sh, now, sink);
        }
    }
}

fn class_counter(class: StatusClass) -> Counter {
    match class {
        StatusClass::Informational => Counter::Responses1xx,
        StatusClass::Success => Counter::Responses2xx,
        StatusClass::Redirection => Counter::Responses3xx,
        StatusClass::ClientError => Counter::Responses4xx,
        StatusClass::ServerError => Counter::Responses5xx,
        StatusClass::Other => Counter::ResponsesOther,
    }
}

/// The per-real counter of a response status class.
fn real_class_counter(class: StatusClass) -> RealCounter {
    match class {
        StatusClass::Informational => RealCounter::Responses1xx,
        StatusClass::Success => RealCounter::Responses2xx,
        StatusClass::Redirection => RealCounter::Responses3xx,
        StatusClass::ClientError => RealCounter::Responses4xx,
        StatusClass::ServerError => RealCounter::Responses5xx,
        StatusClass::Other => RealCounter::ResponsesOther,
    }
}
