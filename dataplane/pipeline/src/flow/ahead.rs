//! Response bytes forwarded past a gap: when a server's segments of a spliced response
//! arrive out of order (reordered on the way, or one before them lost), a segment
//! whose bytes the response framer would only count, never read (the rest of a
//! `Content-Length` body, of a chunk's data, of a close-delimited body: its "data
//! run"), is forwarded to the client at once, translated, like any router would; the
//! client's TCP reorders it and SACKs it, and the server retransmits only what was
//! really lost. Splicer keeps no payload, only where these bytes were
//! ([`Ahead`], a few ranges per leg); when the in-order bytes reach a range, the framer
//! counts it without its content ([`splicer_http::ResponseFramer::skip`]). Bytes past
//! more holes than there are ranges are counted when the client acknowledges them (it
//! can only have them from Splicer, which sent only bytes of the data run).
//!
//! A segment out of order that holds bytes the framer must read (the response head, a
//! chunk-size line, a trailer, bytes past the response's end) is still dropped,
//! counted (`drop_server_out_of_order`), and the server told with a duplicate ACK:
//! holding it would cost a mempool buffer per reordered segment per connection for
//! the rare segments that hold framing, and the server resends it within a round
//! trip. A leg whose response is held behind a pipelined one keeps its own bounded
//! hold (`pipelined`, `held_out_of_order`); a promoted leg with held segments past a
//! gap (`held_rest`) is not forwarded ahead, so that held bytes and forwarded ones
//! never overlap.

use super::key::Handle;
use super::leg::Leg;
use super::route::micros;
use crate::packet::{PacketBuf, Sink};
use crate::pipeline::Pipeline;
use splicer_http::ResponseFramer;
use splicer_wire::tcp::SeqNumber;

/// Whether a server segment `[seq, seq + len)` past the next in-order byte of `leg`
/// can be forwarded now: the framer would count every byte from the gap to its end
/// without reading it, and the leg can note one more range. Notes it if so.
pub(super) fn forward_ahead(
    leg: &mut Leg,
    framer: &ResponseFramer,
    seq: SeqNumber,
    len: usize,
) -> bool {
    if len == 0 || leg.response_end.is_some() || leg.spoiled || leg.held_rest {
        return false;
    }
    let reach = u64::from((seq + len).0.wrapping_sub(leg.down_next.0));
    if reach > framer.data_run() {
        return false;
    }
    leg.ahead.note(seq, seq + len);
    true
}

/// After in-order bytes moved `leg.down_next`: steps it over the ranges already
/// forwarded that it reached, counting them in the framer. True when the response
/// ended there.
pub(super) fn catch_up(leg: &mut Leg, framer: &mut ResponseFramer) -> bool {
    if !leg.ahead.is_active() {
        return false;
    }
    while let Some(end) = leg.ahead.take_at(leg.down_next) {
        if skip_to(leg, framer, end) {
            return true;
        }
    }
    settle(leg);
    false
}

/// The client acknowledged response bytes up to `acked` (server leg's space): any of
/// them past the next in-order byte were forwarded ahead (the client has nothing else
/// from this server), so the framer counts them now. A hole that more than
/// [`AHEAD_RANGES`](super::ahead_ranges::AHEAD_RANGES) ranges left unnoted ends here, or when it fills. True when the
/// response ended there.
pub(super) fn ack_catch_up(leg: &mut Leg, framer: &mut ResponseFramer, acked: SeqNumber) -> bool {
    if !leg.ahead.is_active() || acked <= leg.down_next {
        return false;
    }
    if skip_to(leg, framer, acked) {
        return true;
    }
    // Ranges the acknowledgement reached.
    catch_up(leg, framer)
}

/// Counts the bytes up to `end` in the framer (no more than its data run) and moves the
/// next in-order byte there. True when the response ended.
fn skip_to(leg: &mut Leg, framer: &mut ResponseFramer, end: SeqNumber) -> bool {
    let n = u64::from(end.0.wrapping_sub(leg.down_next.0));
    let f = framer.skip(n);
    leg.down_next += f.consumed;
    if f.complete {
        leg.ahead.clear();
    }
    f.complete
}

/// Forgets what was forwarded ahead once the in-order bytes have passed all of it.
fn settle(leg: &mut Leg) {
    if leg.ahead.furthest().is_some_and(|f| leg.down_next >= f) {
        leg.ahead.clear();
    }
}

impl<P: PacketBuf> Pipeline<P> {
    /// The client's acknowledgement (its `snd_una`, just taken) may cover bytes
    /// forwarded ahead on any leg whose response goes to it: the framers count them
    /// ([`ack_catch_up`]), and a response that ended there has been sent whole
    /// (`response_sent`). Returns where the oldest leg's response ended, if it did.
    pub(super) fn ahead_acked<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        now: u64,
        sink: &mut S,
    ) -> Option<SeqNumber> {
        let ticks_per_ms = self.settings.flow.ticks_per_ms;
        let legs = self.flows.get_mut(h)?.legs.len();
        let mut oldest_end = None;
        for i in 0..legs {
            let Some(l) = self.flows.get_mut(h).and_then(|c| c.legs.get(i)) else {
                break;
            };
            if !l.promoted || !l.ahead.is_active() || l.response_end.is_some() {
                continue;
            }
            let sh = l.server;
            let Some((c, s)) = self.flows.pair_mut(h, sh) else {
                continue;
            };
            let leg = &mut c.legs[i];
            let acked = leg.client_ack_to_server(c.tcp.snd_una);
            let ended = ack_catch_up(leg, &mut s.framer, acked);
            s.tcp.rcv_nxt = leg.down_next;
            if !ended {
                continue;
            }
            leg.response_end = Some(leg.down_next);
            if i == 0 {
                oldest_end = leg.response_end;
            }
            let us = micros(now - s.since, ticks_per_ms);
            let (real, lossy) = (s.real, s.lossy);
            self.pools.get(real).measure.response_end(us, lossy);
            self.response_sent(port, h, sh, now, sink);
        }
        oldest_end
    }
}
