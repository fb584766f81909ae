//! One request of a client connection spliced onto a server connection (a "leg"): the
//! translation between the two connections' sequence spaces and where each message
//! stands. The splice (`splice`) rewrites segments with it; pipelining (`pipelined`)
//! raises the server's acknowledgements over what Splicer took itself.

use super::ahead_ranges::Ahead;
use super::key::Handle;
use crate::rewrite::Timestamps;
use splicer_http::BodyFramer;
use splicer_wire::tcp::SeqNumber;

/// One request of a client connection spliced onto a server connection: the
/// translation between the legs' sequence spaces and the state of both messages.
/// Sequence numbers named `up_*` are in the client's space, `down_*` and `head_end`
/// in the server's. `Clone`, not `Copy`: its ranges forwarded ahead are out of line
/// ([`Ahead`]).
#[derive(Clone)]
pub(crate) struct Leg {
    pub server: Handle,
    /// First client byte after those Splicer sent itself.
    pub up_from: SeqNumber,
    /// Next in-order client byte.
    pub up_next: SeqNumber,
    /// Client seq + `up_delta` = server-leg seq.
    pub up_delta: u32,
    /// Server-leg seq after the request head Splicer sent.
    pub head_end: SeqNumber,
    /// First server byte of the response.
    pub down_from: SeqNumber,
    /// Next in-order server byte.
    pub down_next: SeqNumber,
    /// Server seq + `down_delta` = client-leg seq.
    pub down_delta: u32,
    pub body: BodyFramer,
    pub ts_up: Timestamps,
    pub ts_down: Timestamps,
    /// The client wants the connection kept open after the response.
    pub keep_alive: bool,
    /// Server seq where the response ended, once it has.
    pub response_end: Option<SeqNumber>,
    /// Client seq of the client's FIN, once Splicer took it.
    pub client_fin: Option<SeqNumber>,
    /// The server sent something unframeable or past the response: never reuse.
    pub spoiled: bool,
    /// The server connection of a request pipelined behind others failed before its
    /// response could be sent: the status its client gets when its turn comes.
    pub failed: Option<u16>,
    /// Its response goes to the client (in the client's sequence space from
    /// `down_delta`): the first leg from its start, a pipelined one once every response
    /// before it has been sent whole; until then what its server sends is held.
    pub promoted: bool,
    /// The server-to-client timestamp shift is still an estimate: the first TSval the
    /// server sends on this leg fixes it (see `clocks::anchor_down`).
    pub ts_anchor_pending: bool,
    /// Promoted with held segments past a gap: they go out once the server fills it.
    pub held_rest: bool,
    /// Bytes of its response Splicer may hold while the request waits behind others
    /// (the window its server is offered); 0 once its response goes to the client.
    pub held_window: u32,
    /// The window the server of a request sent ahead was offered (`held_window`), until
    /// Splicer offers it more: once its response is promoted, only when the response
    /// has used half of it without ending (`Pipeline::open_window_if_due`), so that a
    /// response that fits costs no window update.
    pub window_offered: Option<u32>,
    pub class_counted: bool,
    /// The request was sent once already, on a connection lost before a byte of its
    /// answer (`redispatch`): it is not sent a third time.
    pub retried: bool,
    /// Its server connection was idle in the pool when the request was sent on it (not
    /// opened for it): lost before a byte of the answer, that is the keep-alive race
    /// (the server closed it as the request came), not a sign of a failing real.
    pub pooled: bool,
    /// Response bytes forwarded to the client past a gap, not yet reached in order
    /// (boxed while there are some).
    pub ahead: Ahead,
    /// The access log record of its request (`NO_LOG`: none).
    pub log: u32,
}

/// What a client segment of a splice reads of its leg before it changes anything: the
/// 40 bytes of the 168-byte `Leg` it needs, copied out so that the pipeline can be
/// borrowed again (counters, the server connection) without a copy of the whole leg per
/// segment (issue 12, "no Leg copies per packet").
#[derive(Clone, Copy)]
pub(super) struct LegView {
    pub server: Handle,
    pub up_from: SeqNumber,
    pub up_next: SeqNumber,
    pub up_delta: u32,
    pub head_end: SeqNumber,
    pub down_start: SeqNumber,
    pub down_delta: u32,
    pub response_end: Option<SeqNumber>,
    pub body_complete: bool,
    /// Response bytes were forwarded past a hole ([`Leg`]'s `ahead`).
    pub ahead_active: bool,
}

impl LegView {
    /// As [`Leg::server_ack_to_client`].
    pub(super) fn server_ack_to_client(&self, ack: SeqNumber) -> SeqNumber {
        if ack <= self.head_end {
            self.up_from
        } else {
            SeqNumber(ack.0.wrapping_sub(self.up_delta))
        }
    }

    /// As [`Leg::raised_ack`].
    pub(super) fn raised_ack(&self, acked: SeqNumber, rcv_nxt: SeqNumber) -> Option<SeqNumber> {
        (self.body_complete && acked >= self.up_next && rcv_nxt > acked).then_some(rcv_nxt)
    }
}

impl Leg {
    /// The fields a client segment of the splice reads first ([`LegView`]).
    #[inline]
    pub(super) fn view(&self) -> LegView {
        LegView {
            server: self.server,
            up_from: self.up_from,
            up_next: self.up_next,
            up_delta: self.up_delta,
            head_end: self.head_end,
            down_start: self.down_start(),
            down_delta: self.down_delta,
            response_end: self.response_end,
            body_complete: self.body.is_complete(),
            ahead_active: self.ahead.is_active(),
        }
    }

    /// Where the response starts in the client's sequence space.
    pub(super) fn down_start(&self) -> SeqNumber {
        SeqNumber(self.down_from.0.wrapping_add(self.down_delta))
    }

    /// The end of what the server leg has been sent for this request (the head, then
    /// the client's body bytes relayed), in the server leg's space.
    pub(super) fn relayed_end(&self) -> SeqNumber {
        SeqNumber(self.up_next.0.wrapping_add(self.up_delta))
    }

    /// A client's ACK of response bytes, in the server leg's space (an ACK of nothing
    /// past the response's start acknowledges its start).
    pub(super) fn client_ack_to_server(&self, ack: SeqNumber) -> SeqNumber {
        if ack <= self.down_start() {
            self.down_from
        } else {
            SeqNumber(ack.0.wrapping_sub(self.down_delta))
        }
    }

    /// A server's ACK of request bytes, in the client's space (an ACK of the head
    /// Splicer sent itself acknowledges the start of the body).
    pub(super) fn server_ack_to_client(&self, ack: SeqNumber) -> SeqNumber {
        if ack <= self.head_end {
            self.up_from
        } else {
            SeqNumber(ack.0.wrapping_sub(self.up_delta))
        }
    }

    /// Whether the server of a promoted request sent ahead should hear that its window
    /// opened: its response has not ended and has used half the window it was offered
    /// or more (a sender's silly-window avoidance may wait for more room than is left;
    /// RFC 9293 §3.8.6.2.1).
    pub(super) fn window_open_due(&self) -> bool {
        let Some(offered) = self.window_offered else {
            return false;
        };
        let used = i64::from(self.down_next.0.wrapping_sub(self.down_from.0) as i32);
        self.promoted && self.response_end.is_none() && 2 * used >= i64::from(offered)
    }

    /// The client-leg ACK for a server ACK already translated to `acked` (client space):
    /// once the server has every byte of the request, Splicer's own acknowledgement of
    /// what it took after the request (pipelined bytes, the client's FIN), `rcv_nxt`.
    /// None when the server's ACK stands as it is.
    pub(super) fn raised_ack(&self, acked: SeqNumber, rcv_nxt: SeqNumber) -> Option<SeqNumber> {
        (self.body.is_complete() && acked >= self.up_next && rcv_nxt > acked).then_some(rcv_nxt)
    }
}
