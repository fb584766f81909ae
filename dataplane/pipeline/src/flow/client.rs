//! The client leg's TCP state machine: Splicer's side of a client connection to a
//! virtual server, from SYN to the last ACK.
//!
//! States: SYN-RECEIVED (SYN answered) → reading the request head (established) →
//! responding (Splicer's answer and FIN sent, waiting for them to be acknowledged and for
//! the client's FIN). Splicer is the active closer but keeps no TIME-WAIT: a client whose
//! last ACK is lost retransmits its FIN and gets a RST, which costs it nothing.
//!
//! Splicer ACKs every segment it accepts at once (no delayed ACK) and accepts only
//! in-order data: an out-of-order segment is answered with a duplicate ACK and
//! retransmitted by the client. Everything Splicer itself sends (SYN-ACK, responses, FIN)
//! is retransmitted by Splicer with an exponential backoff from 1 s.

use super::body_guard::FramingBytes;
use super::key::{ClientKey, Handle};
use super::leg::Leg;
use super::segment::{Outgoing, Seg};
use super::tcp::{beyond, Endpoint, OUR_MSS, OUR_WSCALE};
use crate::balance::RealId;
use crate::counters::{Counter, VirtualCounter};
use crate::packet::{PacketBuf, Sink};
use crate::parse::Ipv4Meta;
use crate::pipeline::Pipeline;
use crate::topology::Service;
use splicer_http::{
    keep_alive_insertion, parse_head, strips_close, BodyFramer, ForwardFor, HeadStatus, Incoming,
    Insertion, Method, Refusal, RequestHead, ServerClose,
};
use splicer_wire::tcp::{self, SeqNumber, TcpFlags};
use std::collections::VecDeque;

/// Largest response Splicer originates on the client leg (a redirect carries its
/// Location twice: in the header and in the HTML body).
pub(super) const MAX_RESPONSE: usize = 4096;
/// Challenge ACKs a worker sends per second at most (Linux's default limit).
const CHALLENGE_ACKS_PER_SECOND: u32 = 1000;
/// After Splicer's answer and FIN are acknowledged, how long a client may stay silent
/// before it is reset, and how long in all it may keep sending (what it sends is
/// acknowledged and dropped: a lingering close, RFC 9112 §9.6, so that the client reads
/// the answer before it learns the connection is gone). nginx's `lingering_timeout` and
/// `lingering_time` have the same values.
pub(super) const LINGER_IDLE_MS: u64 = 5_000;
pub(super) const LINGER_MAX_MS: u64 = 30_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    SynReceived,
    ReadingHead,
    /// A request is routed and waits for a server connection.
    Waiting,
    /// A request is spliced onto a server connection.
    Spliced,
    Responding,
    /// A `tcp` virtual's connection passed through to its own server connection
    /// (`tunnel`): every segment both ways is forwarded, FIN and RST included.
    Tunnel,
    /// A `handoff` virtual's request sent to its real's agent, waiting for the
    /// acknowledgement (`handoff`).
    HandingOff,
    /// Handed off: the client's packets go to the back end, which answers it directly.
    HandedOff,
    /// Routed to a local real: the client's SYN replayed into Splicer's own host's
    /// kernel, waiting for its SYN-ACK (`local`).
    LocalReplaying,
    /// Served by the local kernel: segments translated both ways (`local`).
    Local,
}

/// A routed request waiting for its server connection.
pub(super) struct Pending {
    /// The real it is placed on; `None` while it waits in its virtual's queue.
    pub real: Option<RealId>,
    /// The slots of its real's `maxconns` it takes (its rule's `cost`).
    pub cost: u16,
    /// Bytes at the start of the head buffer that belong to this request.
    pub consumed: usize,
    /// What Splicer changes in the head before it sends it.
    pub edit: HeadEdit,
    pub head_request: bool,
    pub keep_alive: bool,
    /// The client asked `close` and the server is not to be told
    /// (`virtual.server_close = "keep"`): the head goes without the token, the
    /// response's `keep-alive` becomes `close` (`server_close`).
    pub close_kept_off: bool,
    /// The request body's framer, past the body bytes in the buffer.
    pub body: BodyFramer,
    /// Sent once already, its connection lost before a byte of the answer
    /// (`redispatch`): its leg carries it, so that it is not sent a third time.
    pub retried: bool,
}

/// What Splicer changes in a request head before it sends it to the server. Plain
/// values, the size the Keep-Alive insertion alone took: a client connection keeps its
/// `Pending` inline, and a virtual without `forward_for` must not pay for it.
#[derive(Clone, Copy)]
pub(super) enum HeadEdit {
    /// Sent as received.
    None,
    /// `Connection: Keep-Alive` inserted (an HTTP/1.0 request on a pooled connection).
    KeepAlive(Insertion),
    /// `forward_for`: the first `head_len` bytes of the buffer are the head, its request
    /// line `request_line` bytes; [`splicer_http::write_forwarded`] writes it onto the
    /// server leg when it is sent, with Keep-Alive inserted if `keep_alive`.
    Forward {
        incoming: Incoming,
        keep_alive: bool,
        head_len: u32,
        request_line: u32,
    },
}

impl Pending {
    /// A request routed to `real` (`None`: queued), costing one slot, whose head is `head` at the start of the head buffer
    /// `buf`, and which takes the buffer's first `consumed` bytes (its head and the body
    /// bytes that came with it); `body` frames the rest of its body. `forward` and
    /// `server_close` are the virtual's.
    pub fn for_head(
        real: Option<RealId>,
        head: &RequestHead,
        buf: &[u8],
        consumed: usize,
        body: BodyFramer,
        forward: ForwardFor,
        server_close: ServerClose,
    ) -> Self {
        let insertion = keep_alive_insertion(head, buf);
        let edit = match (forward, insertion) {
            (ForwardFor::Off | ForwardFor::ProxyV2, None) => HeadEdit::None,
            (ForwardFor::Off | ForwardFor::ProxyV2, Some(ins)) => HeadEdit::KeepAlive(ins),
            // The head was parsed from `buf` (a mismatch would be a bug; the head is
            // then forwarded as buffered rather than another request's rewritten).
            _ if buf.get(..head.head_len()) != Some(head.raw()) => HeadEdit::None,
            (ForwardFor::Header(incoming), _) => HeadEdit::Forward {
                incoming,
                keep_alive: insertion.is_some(),
                // At most `max_request_head`, 64 KiB.
                head_len: head.head_len() as u32,
                request_line: head.request_line_len() as u32,
            },
        };
        Pending {
            real,
            cost: 1,
            consumed,
            edit,
            head_request: head.method() == Method::Head,
            keep_alive: head.keep_alive(),
            close_kept_off: strips_close(server_close, head.version(), head.connection_close()),
            body,
            retried: false,
        }
    }
}

/// What a client connection keeps of its virtual's settings ([`Service`]): 16 bytes
/// where the whole is 32 (issue 12: state per spliced flow). Its address is the
/// connection's own (the local end of its key), and the sizes fit 32 bits (a head is
/// at most 64 KiB; a larger `max_held` is kept as `u32::MAX` bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ConnService {
    /// Index of the `[[virtual]]` in the configuration.
    pub virtual_index: u16,
    /// As [`Service::max_pipeline`].
    pub max_pipeline: u16,
    /// As [`Service::forward_for`].
    pub forward_for: ForwardFor,
    /// As [`Service::server_close`].
    pub server_close: ServerClose,
    max_request_head: u32,
    max_held: u32,
}

impl ConnService {
    /// The part of `s` a connection keeps.
    pub(super) fn of(s: &Service) -> Self {
        let fit = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        ConnService {
            virtual_index: s.virtual_index,
            max_pipeline: s.max_pipeline,
            forward_for: s.forward_for,
            server_close: s.server_close,
            max_request_head: fit(s.max_request_head),
            max_held: fit(s.max_held),
        }
    }

    /// As [`Service::max_request_head`].
    #[inline]
    pub(super) fn max_request_head(&self) -> usize {
        self.max_request_head as usize
    }

    /// As [`Service::max_held`].
    #[inline]
    pub(super) fn max_held(&self) -> usize {
        self.max_held as usize
    }
}

/// One client connection.
pub(crate) struct ClientConn {
    pub(crate) key: ClientKey,
    pub(super) service: ConnService,
    pub(super) state: State,
    /// Sequence space, windows, options, timestamps, retransmission.
    pub(super) tcp: Endpoint,
    pub(super) head: Vec<u8>,
    /// Splicer's own answer (a redirect, an error), boxed: most connections never get
    /// one, and a bare FIN needs none (16 bytes less per connection, issue 12). The
    /// `Vec` itself is boxed on purpose: 8 bytes in the slot instead of its 24.
    #[allow(clippy::box_collection)]
    pub(super) response: Option<Box<Vec<u8>>>,
    pub(super) response_start: SeqNumber,
    pub(super) opened_at: u64,
    pub(super) head_since: u64,
    /// When the current request was routed (Waiting, Spliced: the clock of
    /// `queue_timeout`, `body_timeout` and `send_timeout`), or when Splicer answered
    /// (Responding: the clock of the lingering close).
    pub(super) wait_since: u64,
    /// Out of line (80 bytes less per connection, issue 12's hot/cold split): a request
    /// is pending only between its routing and its splice, or while it waits in a
    /// queue; a spliced or idle connection carries none.
    pub(super) pending: Option<Box<Pending>>,
    /// The server legs of this connection's requests, oldest first (one at a time for
    /// now; pipelining will keep several).
    pub(super) legs: VecDeque<Leg>,
    /// The framing bytes of the current request's chunked body that its server has not
    /// acknowledged, which a client's retransmission must repeat (allocated for chunked
    /// bodies only).
    pub(super) framing: Option<Box<FramingBytes>>,
    /// The real that served (or serves) the connection's latest request: a `sticky`
    /// real keeps such connections.
    pub(super) last_real: Option<RealId>,
    /// Requests read so far (`show flows`).
    pub(super) requests: u32,
    /// The access log record of the request whose head was read and that has no leg
    /// yet (routed, queued, or answered by Splicer); `NO_LOG` when none.
    pub(super) log: u32,
    /// When the first byte of the next request arrived (access log: head read time).
    pub(super) head_first: u64,
    /// How the connection's requests under way end if it closes now, when the cause
    /// is known (client reset, timeout); `None`: killed (`KD`).
    pub(super) abort: Option<crate::access::Term>,
    /// A connection of a `tcp` virtual: passed through without reading HTTP (`tunnel`).
    pub(super) tunnel: bool,
    /// The replay into the local kernel, once a request was routed to a local real
    /// (`local`); boxed: most connections never have one.
    pub(super) local: Option<Box<super::local::LocalConn>>,
}

impl ClientConn {
    /// The leg spliced onto server connection `sh` (the oldest first: the common case).
    pub(super) fn leg_of(&self, sh: Handle) -> Option<&Leg> {
        match self.legs.front() {
            Some(l) if l.server == sh => Some(l),
            _ => self.legs.iter().find(|l| l.server == sh),
        }
    }

    /// The leg spliced onto server connection `sh`, to change.
    pub(super) fn leg_of_mut(&mut self, sh: Handle) -> Option<&mut Leg> {
        self.legs.iter_mut().find(|l| l.server == sh)
    }

    /// A segment from Splicer to this client at `seq`.
    pub(super) fn outgoing(&self, seq: SeqNumber, flags: u8, ts_now: u32) -> Outgoing {
        let mut o = Outgoing::new(
            (self.key.vip, self.key.vip_port),
            (self.key.client, self.key.client_port),
            seq,
        );
        o.tcp.ack = Some(self.tcp.rcv_nxt);
        o.tcp.flags = TcpFlags::from(flags);
        let syn = o.tcp.flags.contains(TcpFlags::SYN);
        o.tcp.window = self.window(syn);
        o.tcp.options.timestamp = self.tcp.timestamp_option(ts_now);
        if syn {
            o.tcp.options.mss = Some(OUR_MSS);
            o.tcp.options.sack_permitted = self.tcp.sack_ok;
            o.tcp.options.window_scale = self.tcp.peer_wscale.map(|_| OUR_WSCALE);
        }
        o
    }

    /// Whether the client's latest window is below one segment of ours: a reader that
    /// holds its response back as surely as one that stops acknowledging.
    pub(super) fn window_low(&self) -> bool {
        self.tcp.peer_window < u32::from(self.tcp.peer_mss)
    }

    /// The window Splicer advertises: the room left for the request head, plus the one
    /// byte that tells a head over the limit from one that is exactly at it.
    fn window(&self, syn: bool) -> u16 {
        let room = match self.state {
            // Waiting and spliced: the room for the next requests (pipelined).
            State::ReadingHead
            | State::SynReceived
            | State::Waiting
            | State::Spliced
            | State::Tunnel
            | State::HandingOff
            | State::HandedOff
            | State::LocalReplaying
            | State::Local => self.head_room(),
            State::Responding => self.service.max_request_head(),
        };
        // RFC 7323: the window in a SYN-ACK is never scaled. Scaled windows round up: a
        // window that rounded down to zero before the head reached the limit would stall
        // the client instead of getting it its 431.
        let shift = if syn {
            0
        } else {
            self.tcp.peer_wscale.map_or(0, |_| OUR_WSCALE)
        };
        let field = (room + (1 << shift) - 1) >> shift;
        field.min(usize::from(u16::MAX)) as u16
    }
}

/// The counter of an HTTP refusal: the HTTP stage names it, the counters know the name.
fn refusal_counter(r: Refusal) -> Counter {
    Counter::from_name(r.counter_name()).unwrap_or(Counter::RefusedBadRequest)
}

impl<P: PacketBuf> Pipeline<P> {
    /// A client connection in SYN-RECEIVED with our ISN `iss`, expecting `rcv_nxt`, with
    /// the options of `syn` (a SYN, or for a SYN cookie the handshake's ACK with the
    /// options the cookie carried).
    #[inline]
    pub(super) fn new_client_conn(
        &mut self,
        key: ClientKey,
        service: Service,
        iss: SeqNumber,
        rcv_nxt: SeqNumber,
        syn: &Seg,
        now: u64,
    ) -> ClientConn {
        let mut tcp = Endpoint::new(iss, rcv_nxt, now, self.settings.flow.ticks_per_ms);
        // A client may take segments larger than ours: its MSS is not capped.
        tcp.take_syn_options(syn, u16::MAX, self.ts_now(now));
        let tunnel = self
            .topology
            .farm()
            .virtuals
            .get(usize::from(service.virtual_index))
            .is_some_and(|v| v.mode == crate::balance::Mode::Tcp);
        ClientConn {
            key,
            service: ConnService::of(&service),
            state: State::SynReceived,
            tcp,
            head: self.flows.take_buffer(),
            response: None,
            response_start: iss + 1,
            opened_at: now,
            head_since: now,
            wait_since: now,
            pending: None,
            legs: VecDeque::new(),
            framing: None,
            last_real: None,
            requests: 0,
            log: crate::access::NO_LOG,
            head_first: now,
            abort: None,
            tunnel,
            local: None,
        }
    }

    pub(super) fn client_segment<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        seg: &Seg,
        payload: &[u8],
        now: u64,
        sink: &mut S,
    ) {
        let s = self.settings.flow;
        let Some(conn) = self.flows.get_mut(h) else {
            return;
        };
        // Only a segment that moves the connection forward (new data, a new ACK, a
        // FIN) refreshes its timers: duplicates, probes and segments outside the window
        // must not keep an idle or stalled connection alive.
        if seg.rst() {
            // RFC 5961: only an RST at exactly the next expected sequence number closes
            // the connection; any other could be blind injection.
            if seg.seq == conn.tcp.rcv_nxt {
                self.counters.inc(port, Counter::ClientResets);
                conn.abort = Some(crate::access::Term::ClientAborted);
                self.close(h);
            } else if conn.state != State::SynReceived
                && super::splice::in_window(seg.seq, conn.tcp.rcv_nxt, conn.tcp.peer_wscale)
            {
                // RFC 5961 §3.2: challenge ACK.
                if self.challenge_allowed(port, now) {
                    self.send_flags(port, h, 0, now, sink);
                }
            } else {
                self.counters.inc(port, Counter::DropTcpBadSegment);
            }
            return;
        }
        if conn.state == State::SynReceived {
            if seg.syn() {
                // The client did not get our SYN-ACK: answer its retransmitted SYN.
                if seg.seq + 1 == conn.tcp.rcv_nxt {
                    self.counters.inc(port, Counter::TcpRetransmits);
                    self.send_syn_ack(port, h, now, sink);
                } else {
                    self.counters.inc(port, Counter::DropTcpBadSegment);
                }
                return;
            }
            match seg.ack {
                Some(ack) if ack == conn.tcp.iss + 1 => {
                    conn.tcp.snd_una = ack;
                    conn.state = State::ReadingHead;
                    conn.head_since = now;
                    conn.tcp.last_activity = now;
                    conn.tcp.established(s.ticks_per_ms);
                    let tunnel = conn.tunnel;
                    self.flows.half_open -= 1;
                    self.counters.inc(port, Counter::TcpEstablished);
                    if tunnel {
                        // No head to wait for: the server connection opens now, so that
                        // a server that speaks first (SMTP, SSH) is heard at once.
                        self.tunnel_open(port, h, now, sink);
                    }
                }
                _ => {
                    self.counters.inc(port, Counter::DropTcpBadSegment);
                    return;
                }
            }
        } else if seg.syn() {
            // A SYN on an established connection: challenge ACK (RFC 5961), no change.
            if self.challenge_allowed(port, now) {
                self.send_flags(port, h, 0, now, sink);
            }
            return;
        }

        let Some(conn) = self.flows.get_mut(h) else {
            return;
        };
        // PAWS (RFC 7323 §5.3): a segment whose timestamp is older than the latest one
        // in order is an old duplicate: dropped, and answered with an ACK.
        if seg
            .ts
            .is_some_and(|(tsval, _)| conn.tcp.paws_rejects(tsval))
        {
            self.counters.inc(port, Counter::DropTcpPaws);
            return self.send_flags(port, h, 0, now, sink);
        }
        if let Some(ack) = seg.ack {
            if beyond(ack, conn.tcp.snd_nxt) {
                self.counters.inc(port, Counter::DropTcpBadSegment);
                return self.send_flags(port, h, 0, now, sink);
            }
            let limit_before = conn.tcp.send_limit();
            conn.tcp.peer_window = conn.tcp.scaled_window(seg.window);
            if conn.tcp.take_ack(ack, now) {
                conn.tcp.last_activity = now;
            } else if conn.tcp.peer_window == 0 && conn.state == State::Responding {
                // An answer to a window probe: the client is there, its window closed.
                // Probing goes on (bounded by `client_idle_timeout`, since nothing
                // moves), not counted as unanswered retransmissions.
                conn.tcp.tries = 0;
            }
            let held =
                limit_before < conn.response_start + conn.response.as_ref().map_or(0, |r| r.len());
            if conn.state == State::Responding && held && conn.tcp.send_limit() > limit_before {
                // The window moved on: what it now admits of Splicer's answer goes out.
                let from = limit_before.max(conn.tcp.snd_una);
                self.send_response_from(port, h, from, now, sink);
            }
        }
        let Some(conn) = self.flows.get_mut(h) else {
            return;
        };
        if let Some((tsval, _)) = seg.ts {
            let next = conn.tcp.rcv_nxt;
            conn.tcp
                .note_timestamp(seg.seq, next, tsval, (now / s.ticks_per_ms.max(1)) as u32);
        }

        let mut need_ack = false;
        if !payload.is_empty() || seg.fin() {
            let already = conn.tcp.rcv_nxt - seg.seq;
            if already < 0 {
                self.counters.inc(port, Counter::DropTcpOutOfOrder);
                need_ack = true;
            } else {
                let already = already as usize;
                let mut taken = payload.len();
                if already < payload.len() {
                    conn.tcp.last_activity = now;
                    let new = &payload[already..];
                    match conn.state {
                        State::Waiting if conn.tunnel => {
                            // A tcp virtual's client speaking before its server
                            // connection is up (a TLS ClientHello): buffered and
                            // acknowledged, sent on the server leg by Splicer itself.
                            let n = new.len().min(conn.head_room());
                            conn.head.extend_from_slice(&new[..n]);
                            conn.tcp.rcv_nxt += n;
                            taken = already + n;
                            if n < new.len() {
                                self.counters.inc(port, Counter::ClientDataDeferred);
                            }
                        }
                        State::ReadingHead => {
                            if conn.head.is_empty() {
                                conn.head_first = now;
                            }
                            // Bytes past the room are not acknowledged.
                            let n = new.len().min(conn.head_room());
                            conn.head.extend_from_slice(&new[..n]);
                            conn.tcp.rcv_nxt += n;
                            taken = already + n;
                        }
                        State::Waiting
                            if conn.pending.as_ref().is_some_and(|p| p.body.is_complete()) =>
                        {
                            // The next requests (pipelined) while this one waits for a
                            // server: buffered behind it, as in `pipelined`.
                            let n = new.len().min(conn.head_room());
                            conn.head.extend_from_slice(&new[..n]);
                            conn.tcp.rcv_nxt += n;
                            taken = already + n;
                            if n < new.len() {
                                self.counters.inc(port, Counter::ClientDataDeferred);
                            }
                            if n > 0 {
                                self.counters.inc(port, Counter::ClientDataPipelined);
                            }
                        }
                        State::Waiting | State::Spliced => {
                            // More of the request body while it waits for a server: it
                            // is taken once the request is spliced. (A spliced client's
                            // segments go to the splice; never dropped here.)
                            self.counters.inc(port, Counter::ClientDataDeferred);
                            taken = already;
                        }
                        // Answered and closing: what the client still sends is dropped.
                        _ => conn.tcp.rcv_nxt += new.len(),
                    }
                }
                need_ack |= !payload.is_empty();
                // A tcp virtual's client FIN is not taken before the splice: the
                // client sends it again, and it then goes through to the server.
                if seg.fin()
                    && seg.seq + taken == conn.tcp.rcv_nxt
                    && !conn.tcp.fin_received
                    && !conn.tunnel
                {
                    conn.tcp.last_activity = now;
                    conn.tcp.rcv_nxt += 1;
                    conn.tcp.fin_received = true;
                    need_ack = true;
                }
            }
        }

        if conn.state == State::ReadingHead
            && (!conn.head.is_empty() || conn.tcp.fin_received)
            && self.client_read_head(port, h, now, sink)
        {
            need_ack = false;
        }

        if need_ack {
            self.send_flags(port, h, 0, now, sink);
        }
        let Some(conn) = self.flows.get_mut(h) else {
            return;
        };
        if conn.state == State::Responding
            && conn.tcp.snd_una == conn.tcp.snd_nxt
            && conn.tcp.fin_received
        {
            self.counters.inc(port, Counter::ClientsClosed);
            self.close(h);
            return;
        }
        self.reschedule(h);
    }

    /// Parses the buffered head of a client in ReadingHead and acts on it: waits for
    /// more, refuses it, or dispatches it. True when Splicer answered (so a pure ACK
    /// is not needed).
    pub(super) fn client_read_head<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        now: u64,
        sink: &mut S,
    ) -> bool {
        let Some(conn) = self.flows.get_mut(h) else {
            return false;
        };
        let max = conn.service.max_request_head();
        let virtual_index = conn.service.virtual_index;
        match parse_head(&conn.head, max) {
            HeadStatus::Partial if conn.tcp.fin_received => {
                if !conn.head.is_empty() {
                    self.counters.inc(port, Counter::HttpIncomplete);
                }
                self.respond(port, h, 0, now, sink);
                true
            }
            HeadStatus::Partial => false,
            HeadStatus::Complete(head) => {
                self.counters.inc(port, Counter::HttpRequests);
                self.counters
                    .inc_virtual(virtual_index, VirtualCounter::Requests);
                self.dispatch(port, h, head, now, sink);
                // A refusal carried the ACK; a dispatched head still needs one.
                self.flows
                    .get_mut(h)
                    .is_none_or(|c| c.state == State::Responding)
            }
            HeadStatus::Rejected(r) => {
                self.counters.inc(port, refusal_counter(r));
                self.counters
                    .inc_virtual(virtual_index, VirtualCounter::Refused);
                self.respond(port, h, r.status(), now, sink);
                true
            }
        }
    }

    pub(super) fn send_syn_ack<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        now: u64,
        sink: &mut S,
    ) {
        let ts_now = self.ts_now(now);
        let Some(conn) = self.flows.get_mut(h) else {
            return;
        };
        let o = conn.outgoing(conn.tcp.iss, tcp::flags::SYN, ts_now);
        self.emit(port, &o, &[], now, sink);
    }

    /// Sends a segment without payload at `snd_nxt` (a pure ACK when `flags` is 0).
    pub(super) fn send_flags<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        flags: u8,
        now: u64,
        sink: &mut S,
    ) {
        let ts_now = self.ts_now(now);
        let Some(conn) = self.flows.get_mut(h) else {
            return;
        };
        let o = conn.outgoing(conn.tcp.snd_nxt, flags, ts_now);
        self.emit(port, &o, &[], now, sink);
    }

    /// Answers a segment that belongs to no connection with a RST (RFC 9293 3.10.7.1).
    pub(super) fn reset_for<S: Sink<P>>(
        &mut self,
        port: u16,
        meta: &Ipv4Meta,
        seg: &Seg,
        now: u64,
        sink: &mut S,
    ) {
        if seg.rst() {
            return;
        }
        let mut o = Outgoing::new(
            (meta.dst, seg.dst_port),
            (meta.src, seg.src_port),
            SeqNumber(0),
        );
        match seg.ack {
            Some(ack) => o.tcp.seq = ack,
            None => o.tcp.ack = Some(seg.seq + seg.len()),
        }
        o.tcp.flags = TcpFlags::RST;
        self.emit(port, &o, &[], now, sink);
    }

    /// Writes segment `o` with `payload` into a new frame and sends it out of `port`
    /// to its destination; a RST is counted.
    pub(super) fn emit<S: Sink<P>>(
        &mut self,
        port: u16,
        o: &Outgoing,
        payload: &[u8],
        now: u64,
        sink: &mut S,
    ) {
        if self.emit_via(port, o, payload, o.dst, now, sink) && o.tcp.flags.contains(TcpFlags::RST)
        {
            self.counters.inc(port, Counter::TcpResetsSent);
        }
    }

    /// Writes segment `o` with `payload` into a new frame and sends it out of `port`
    /// to next hop `hop`, which may differ from `o`'s destination: a back end holding
    /// the VIP (handoff), the local kernel behind an exception port (local service).
    /// False when no buffer could be had (counted `drop_alloc_failed`).
    pub(super) fn emit_via<S: Sink<P>>(
        &mut self,
        port: u16,
        o: &Outgoing,
        payload: &[u8],
        hop: std::net::Ipv4Addr,
        now: u64,
        sink: &mut S,
    ) -> bool {
        let ident = self.next_ident();
        let Some(mut pkt) = sink.alloc() else {
            self.counters.inc(port, Counter::DropAllocFailed);
            return false;
        };
        let len = o
            .frame_len(payload.len())
            .max(crate::transmit::MIN_FRAME_LEN);
        if !pkt.resize(len) {
            self.counters.inc(port, Counter::DropAllocFailed);
            sink.discard(pkt);
            return false;
        }
        o.write(pkt.data_mut(), payload, ident);
        self.send_ipv4(port, pkt, hop, now, sink);
        true
    }

    /// Forgets a client connection. A server connection still spliced to it drains.
    pub(super) fn close(&mut self, h: Handle) {
        // Its requests under way end in the log, read in place (no copy of the
        // connection when the log is off).
        self.access_conn_gone(h);
        // A handed-off connection's slots of its real's `maxconns` (`handoff_end`).
        self.handoff_release(h);
        if let Some(conn) = self.flows.remove_client(h) {
            if conn.state == State::SynReceived {
                self.flows.half_open -= 1;
            }
            self.flows.give_buffer(conn.head);
            if let Some(r) = conn.response {
                self.flows.give_buffer(*r);
            }
            // Every leg's server connection drains (pipelined ones too); what was held
            // of their responses is dropped.
            for leg in conn.legs {
                self.held_granted -= leg.held_window as usize;
                self.held.remove(&leg.server);
                if leg.failed.is_none() {
                    self.pending_drains.push(leg);
                }
            }
        }
    }

    /// Whether a challenge ACK may go out now (counted as sent), or is one too many this
    /// second (counted as limited): RFC 5961 §7 bounds them per host, so that two
    /// stacks that disagree cannot trade challenge ACKs and resets at line rate.
    pub(super) fn challenge_allowed(&mut self, port: u16, now: u64) -> bool {
        let second = 1000 * self.settings.flow.ticks_per_ms;
        if now >= self.challenge_window + second {
            self.challenge_window = now;
            self.challenge_count = 0;
        }
        if self.challenge_count >= CHALLENGE_ACKS_PER_SECOND {
            self.counters.inc(port, Counter::ChallengeAcksLimited);
            return false;
        }
        self.challenge_count += 1;
        self.counters.inc(port, Counter::ChallengeAcks);
        true
    }

    pub(super) fn ts_now(&self, now: u64) -> u32 {
        super::clocks::ms_clock(now, self.settings.flow.ticks_per_ms)
    }

    pub(super) fn next_ident(&mut self) -> u16 {
        self.ip_ident = self.ip_ident.wrapping_add(1);
        self.ip_ident
    }

    /// RFC 6528's initial sequence number for the connection `key` at `now`: keyed per
    /// 4-tuple, moving with a 4-µs clock (see `handshake`).
    pub(super) fn next_isn(&self, key: &ClientKey, now: u64) -> SeqNumber {
        let tpm = u128::from(self.settings.flow.ticks_per_ms.max(1));
        let clock = (u128::from(now) * 250 / tpm) as u32;
        self.keys.isn(key, clock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use splicer_http::ForwardFor;
    use std::net::{Ipv4Addr, SocketAddrV4};

    #[test]
    fn a_connection_keeps_its_virtuals_settings_in_16_bytes() {
        assert_eq!(std::mem::size_of::<ConnService>(), 16);
        let s = Service {
            address: SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 1), 80),
            virtual_index: 7,
            max_request_head: 16 * 1024,
            max_pipeline: 3,
            max_held: usize::MAX,
            forward_for: ForwardFor::ProxyV2,
            server_close: ServerClose::Pass,
        };
        let c = ConnService::of(&s);
        assert_eq!((c.virtual_index, c.max_pipeline), (7, 3));
        assert_eq!(c.forward_for, ForwardFor::ProxyV2);
        assert_eq!(c.server_close, ServerClose::Pass);
        assert_eq!(c.max_request_head(), 16 * 1024);
        assert_eq!(
            c.max_held(),
            u32::MAX as usize,
            "kept as the most a u32 holds"
        );
    }
}
