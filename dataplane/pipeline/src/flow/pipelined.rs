//! Pipelined requests: bytes of a client's next requests that arrive while an earlier
//! request is still spliced (HTTP/1.1 pipelining, RFC 9112 §9.3.2).
//!
//! Once the spliced request's body is complete, every later in-order client byte belongs
//! to requests that follow it. Splicer takes them into the connection's head buffer
//! (the one the first request head was read into, bounded by `max_request_head`) and
//! acknowledges them itself, so the client never has to send them again; when the
//! response in flight is complete, the next head is read from the buffer and dispatched
//! at once. Past the buffer's room the client's window closes (the window Splicer
//! advertises is the room left) and TCP flow control holds the client.
//!
//! Acknowledging them is only safe once the server has acknowledged every byte of the
//! spliced request: Splicer keeps no copy of body bytes it relayed, so an ACK that
//! covered a body byte lost on the way to the server would tell the client never to
//! send it again. Until then the client hears the server's ACK (translated), and the
//! server's ACK of the request's end is raised on its way to cover the buffered bytes.

use super::client::{ClientConn, State};
use super::key::Handle;
use crate::counters::Counter;
use crate::packet::{PacketBuf, Sink};
use crate::pipeline::Pipeline;
use splicer_wire::tcp::SeqNumber;

impl ClientConn {
    /// Room left in the head buffer for the next requests, in bytes (one byte past the
    /// limit is kept so the parser can tell "too large" from "exactly full").
    pub(super) fn head_room(&self) -> usize {
        (self.service.max_request_head + 1).saturating_sub(self.head.len())
    }

    /// The head buffer's room as a window field of the client leg (rounded down: the
    /// client may never send more than the buffer takes).
    pub(super) fn head_room_field(&self) -> u16 {
        let field = self.head_room() >> self.tcp.our_shift();
        field.min(usize::from(u16::MAX)) as u16
    }
}

impl<P: PacketBuf> Pipeline<P> {
    /// Takes client bytes `bytes` that start at client seq `from`, all after the end of
    /// the spliced request's body, into the head buffer: the part past what it holds,
    /// as far as its room allows. Returns whether an acknowledgement is due (bytes were
    /// taken, or all of them were taken before: a retransmission whose ACK was lost).
    pub(super) fn take_pipelined(
        &mut self,
        port: u16,
        h: Handle,
        from: SeqNumber,
        bytes: &[u8],
    ) -> bool {
        let Some(c) = self.flows.get_mut(h) else {
            return false;
        };
        let Some(leg) = c.legs.front() else {
            return false;
        };
        // The buffer holds the client bytes [rcv_nxt - len, rcv_nxt), which start where
        // the spliced request ends.
        if c.head.is_empty() && c.tcp.rcv_nxt < leg.up_next {
            c.tcp.rcv_nxt = leg.up_next;
        }
        let Ok(skip) = usize::try_from(c.tcp.rcv_nxt - from) else {
            return false;
        };
        if skip >= bytes.len() {
            return true;
        }
        let new = &bytes[skip..];
        let n = new.len().min(c.head_room());
        if n < new.len() {
            self.counters.inc(port, Counter::ClientDataDeferred);
        }
        if n == 0 {
            return true;
        }
        c.head.extend_from_slice(&new[..n]);
        c.tcp.rcv_nxt += n;
        self.counters.inc(port, Counter::ClientDataPipelined);
        true
    }

    /// An ACK to a spliced client, as its server would send it: the client bytes the
    /// server acknowledged last and the server's window, both in the client leg's terms,
    /// no data (RFC 5681: three of them start a fast retransmit). Once the server has the
    /// whole request, what Splicer took after it is acknowledged too, and the window is
    /// the head buffer's room. `only_raised`: sent only in that case (an ACK of what
    /// Splicer took, not a duplicate of the server's).
    pub(super) fn send_spliced_ack<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        only_raised: bool,
        now: u64,
        sink: &mut S,
    ) {
        let ts_now = self.ts_now(now);
        let Some(c) = self.flows.get_mut(h) else {
            return;
        };
        let Some(leg) = c.legs.front().copied() else {
            return;
        };
        let Some((c, s)) = self.flows.pair_mut(h, leg.server) else {
            return;
        };
        let acked = leg.server_ack_to_client(s.tcp.snd_una);
        let raised = leg.raised_ack(acked, c.tcp.rcv_nxt);
        if only_raised && raised.is_none() {
            return;
        }
        let mut o = c.outgoing(c.tcp.snd_nxt, 0, ts_now);
        o.tcp.ack = Some(raised.unwrap_or(acked));
        // Past the request, what the client sends goes to the head buffer, not to the
        // server: its room is the window.
        o.tcp.window = match raised {
            Some(_) => c.head_room_field(),
            None => (s.tcp.peer_window >> c.tcp.our_shift()).min(u32::from(u16::MAX)) as u16,
        };
        self.emit(port, &o, &[], now, sink);
    }

    /// Tells client `h` its window opened, in whatever state reading its next request
    /// left it (spliced again, waiting for a server, reading a head).
    pub(super) fn send_window_update<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        now: u64,
        sink: &mut S,
    ) {
        match self.flows.get_mut(h).map(|c| c.state) {
            Some(State::Spliced) => self.send_spliced_ack(port, h, true, now, sink),
            Some(State::Waiting | State::ReadingHead) => self.send_flags(port, h, 0, now, sink),
            _ => {}
        }
    }
}
