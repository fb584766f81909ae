//! The catalogue of what a worker counts: every counter's key, its documentation (the
//! metrics' HELP text) and its metric family, per port ([`Counter`]), per real
//! ([`RealCounter`]) and per virtual ([`VirtualCounter`]), declared once through the
//! `counters!` macro. Apart from the counters' storage (`counters.rs`), which is code,
//! because this is a list that grows with every new drop reason and is read as one.
//!
//! A new counter also needs its row in docs/COUNTERS.md.

#[cfg(doc)]
use crate::balance::RealId;

macro_rules! counters {
    (@family $family:ident, $label:literal) => {
        Some((Family::$family, $label))
    };
    (@family) => {
        None
    };
    (
        $(#[$edoc:meta])* $enum:ident;
        $( $(#[doc = $doc:literal])* $variant:ident => $name:literal $(in $family:ident($label:literal))?, )*
    ) => {
        $(#[$edoc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(usize)]
        pub enum $enum {
            $( $(#[doc = $doc])* $variant, )*
        }

        impl $enum {
            /// Every counter, in display order.
            pub const ALL: &'static [$enum] = &[$($enum::$variant,)*];
            /// Number of counters.
            pub const COUNT: usize = Self::ALL.len();

            /// The stable key used in logs and metrics.
            pub fn name(self) -> &'static str {
                match self {
                    $( $enum::$variant => $name, )*
                }
            }

            /// What the counter counts: its documentation as written above, one line
            /// per doc line (the metrics' HELP text, with the whitespace folded).
            pub fn doc(self) -> &'static str {
                match self {
                    $( $enum::$variant => concat!($($doc, "\n",)*), )*
                }
            }

            /// The counter whose key is `name`.
            pub fn from_name(name: &str) -> Option<$enum> {
                match name {
                    $( $name => Some($enum::$variant), )*
                    _ => None,
                }
            }

            /// The metric family the counter is one member of, and its label value
            /// there (`drop_no_route` is `splicer_drops_total{reason="no_route"}`);
            /// `None` for a counter that is a metric of its own.
            pub fn family(self) -> Option<(Family, &'static str)> {
                match self {
                    $( $enum::$variant => counters!(@family $($family, $label)?), )*
                }
            }
        }
    };
}

/// Counters that are one metric told apart by a label (Prometheus families), declared
/// with the counter (`=> "name" in Family("label")`), not recovered from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// Frames from and to the NIC queues, by direction (`rx`, `tx`).
    Packets,
    /// Segments forwarded on splices, by direction (`up`, `down`).
    SplicedSegments,
    /// Responses relayed to clients, by status class.
    Responses,
    /// Requests Splicer refused itself, by reason.
    RefusedRequests,
    /// Packets dropped, by reason.
    Drops,
    /// Packets passed between workers, by direction (`out`: to the flow's owner, `in`:
    /// from another worker).
    Handoff,
}

counters! {
    /// Everything a worker counts per port. Drop reasons start with `drop_`.
    Counter;
    /// Frames received from the NIC queue (before any hand-off).
    RxPackets => "rx_packets" in Packets("rx"),
    /// Frames handed to the TX queue and accepted by it.
    TxPackets => "tx_packets" in Packets("tx"),
    /// Packets passed to the worker that owns their flow.
    HandoffOut => "handoff_out" in Handoff("out"),
    /// Packets received from another worker for a flow this worker owns.
    HandoffIn => "handoff_in" in Handoff("in"),
    /// Frames the impairment stage examined (ports configured with `[port.impair]`).
    ImpairPackets => "impair_packets",
    /// Frames the impairment stage dropped (seeded loss).
    ImpairDropped => "impair_dropped",
    /// Copies of frames the impairment stage made (seeded duplication).
    ImpairDuplicated => "impair_duplicated",
    /// Frames the impairment stage held back so that later frames overtake them.
    ImpairReordered => "impair_reordered",
    /// Frames the impairment stage held for its fixed delay and jitter.
    ImpairDelayed => "impair_delayed",
    /// Held frames the impairment stage released to the pipeline.
    ImpairReleased => "impair_released",
    /// Frames to be held while the impairment queue was full: passed on at once.
    ImpairQueueFull => "impair_queue_full",
    /// ARP replies sent for our port addresses and VIPs.
    ArpReplies => "arp_replies",
    /// ARP requests sent to resolve a neighbour.
    ArpRequests => "arp_requests",
    /// ICMP echo replies sent.
    IcmpEchoReplies => "icmp_echo_replies",
    /// Neighbour entries learned or refreshed from ARP seen on the wire.
    NeighboursLearned => "neighbours_learned",
    /// SYNs to a virtual server answered with a SYN-ACK and a half-open connection
    /// (cookies are `syn_cookies_sent`).
    TcpSyns => "tcp_syns",
    /// SYNs to a virtual server answered statelessly with a SYN cookie (RFC 4987): the
    /// worker had `syn_cookie_threshold` half-open connections or more.
    SynCookiesSent => "syn_cookies_sent",
    /// Handshake ACKs that carried a valid SYN cookie: connections established from it.
    SynCookiesValidated => "syn_cookies_validated",
    /// Segments for no connection checked as a cookie's ACK (a cookie was sent in the
    /// last 128 s) that carried none: forged, tampered with, expired, or a late segment
    /// of a closed connection (answered with RST; counted here, not `drop_tcp_no_flow`).
    SynCookiesFailed => "syn_cookies_failed",
    /// Non-SYN segments to a virtual for no connection of this appliance, from a client
    /// (not a cluster peer), sent on to every live cluster peer on the segment they came
    /// in on (counted once per segment, whatever the number of copies).
    ClusterStraysForwarded => "cluster_strays_forwarded",
    /// Segments for no connection of this appliance that a cluster peer sent on: dropped
    /// without a reset and never sent on again (the connection is another peer's, or
    /// gone).
    ClusterStraysDropped => "cluster_strays_dropped",
    /// Strays from a client beyond this worker's `cluster.stray_rate`: dropped without
    /// a reset and not sent on (the owner may live; TCP sends the segment again).
    ClusterStraysOverLimit => "cluster_strays_over_limit",
    /// Strays from a client with neither ACK nor RST (no connection accepts one):
    /// dropped without a reset and not sent on.
    ClusterStraysNoAck => "cluster_strays_no_ack",
    /// Client connections that completed the three-way handshake.
    TcpEstablished => "tcp_established",
    /// Segments Splicer retransmitted (SYN-ACKs and data it originated).
    TcpRetransmits => "tcp_retransmits",
    /// RST segments Splicer sent.
    TcpResetsSent => "tcp_resets_sent",
    /// Client connections the client reset.
    ClientResets => "client_resets",
    /// Client connections closed in order (both FINs exchanged and acknowledged).
    ClientsClosed => "clients_closed",
    /// Half-open connections whose client never completed the handshake.
    HandshakeTimeouts => "handshake_timeouts",
    /// Clients that did not deliver a complete request head in time (answered 408).
    RequestTimeouts => "request_timeouts",
    /// Established client connections reset after `client_idle_timeout` of silence.
    ClientIdleTimeouts => "client_idle_timeouts",
    /// Client connections reset because data Splicer sent was never acknowledged.
    RetransmitTimeouts => "tcp_retransmit_timeouts",
    /// Complete, valid request heads read from clients.
    HttpRequests => "http_requests",
    /// Valid requests answered `503`: nothing bound, every real of the set unavailable,
    /// or no server connection within `queue_timeout`.
    HttpNoServer => "http_no_server",
    /// Requests answered with a redirect by a redirect virtual, a URL beside the reals of
    /// a splice virtual, or a URL backup.
    Redirects => "http_redirects",
    /// Requests routed to a real (before waiting for a connection).
    SpliceRequests => "splice_requests",
    /// Requests of a sticky virtual sent to the real its table holds for the client.
    StickyHits => "sticky_hits",
    /// Clients of a sticky virtual without an entry that were balanced and recorded.
    StickyNew => "sticky_new",
    /// Clients whose entry had expired (no request within the timer): balanced afresh.
    StickyExpired => "sticky_expired",
    /// Entries dropped because their real could no longer take the client (out of
    /// service, weight 0, failing): the client balanced afresh.
    StickyDropped => "sticky_dropped",
    /// Live entries of other clients evicted to make room (the set of the table full).
    StickyEvictions => "sticky_evictions",
    /// Requests spliced onto a server connection (request sent to the server).
    Splices => "splices",
    /// Connections of `tcp` virtuals routed to a real (a fresh connection opening).
    TunnelOpens => "tunnel_opens",
    /// Connections of `tcp` virtuals spliced to their server connection (it opened).
    TunnelSplices => "tunnel_splices",
    /// Passed-through connections that ended with both sides' FIN acknowledged.
    TunnelsClosed => "tunnels_closed",
    /// Payload bytes forwarded from clients to servers on passed-through connections.
    TunnelBytesUp => "tunnel_bytes_up",
    /// Payload bytes forwarded from servers to clients on passed-through connections.
    TunnelBytesDown => "tunnel_bytes_down",
    /// Connections of `tcp` virtuals reset because no real could take them.
    TunnelNoServer => "tunnel_no_server",
    /// Connections of `tcp` virtuals reset: every candidate real at its `maxconns`.
    TunnelFull => "tunnel_full",
    /// Connections of `tcp` virtuals reset: their real refused, no other could take them.
    TunnelRefused => "tunnel_refused",
    /// Connections of `tcp` virtuals reset: no answer in `connect_timeout`, nowhere else.
    TunnelConnectTimeouts => "tunnel_connect_timeouts",
    /// Connections of `tcp` virtuals sent to another real after their first failed.
    TunnelRoutedAgain => "tunnel_routed_again",
    /// Passed-through connections the client reset (the RST forwarded to the server).
    TunnelClientResets => "tunnel_client_resets",
    /// Passed-through connections the server reset (the RST forwarded to the client).
    TunnelServerResets => "tunnel_server_resets",
    /// Passed-through connections reset on both sides after `tcp_idle_timeout`.
    TunnelIdleTimeouts => "tunnel_idle_timeouts",
    /// Passed-through connections reset on both sides for another reason (COUNTERS.md).
    TunnelAborts => "tunnel_aborts",
    /// Requests of handoff virtuals whose connection Splicer began to hand to their
    /// real's agent (HANDOFF sent).
    HandoffsStarted => "handoffs_started",
    /// Connections handed off: the agent acknowledged the HANDOFF.
    HandoffsOk => "handoffs_ok",
    /// HANDOFF messages sent again (no acknowledgement within 100 ms).
    HandoffRetransmits => "handoff_retransmits",
    /// Handoffs given up: no acknowledgement within `handoff_timeout`.
    HandoffFailedTimeout => "handoff_failed_timeout",
    /// Handoffs the agent refused (its kernel refused or did not answer, it was full,
    /// or it found the message malformed).
    HandoffFailedRefused => "handoff_failed_refused",
    /// Handoffs not tried or given up because the real's agent was down or restarted.
    HandoffFailedAgentDown => "handoff_failed_agent_down",
    /// Requests of handoff virtuals that cannot be handed off (not the connection's
    /// first request, request bytes over one datagram, a half-closed client): spliced.
    HandoffNotEligible => "handoff_not_eligible",
    /// Requests whose handoff failed, spliced to the real's plain address instead.
    HandoffFallbackSplice => "handoff_fallback_splice",
    /// Requests whose handoff failed and whose real keeps no pool: answered `503`.
    Handoff503 => "handoff_503",
    /// Client segments dropped while their connection was being handed off (the client
    /// sends them again; after the handoff they go to the back end).
    HandoffClientDropped => "handoff_client_dropped",
    /// Client packets of handed-off connections forwarded to their back end with only
    /// the Ethernet addresses rewritten.
    HandedOffForwarded => "handed_off_forwarded",
    /// Of those, packets to a back end in the routed mode (`handoff_mode = "routed"`):
    /// destination rewritten from the VIP to the real's address and port, and routed.
    HandedOffRouted => "handed_off_routed",
    /// Handed-off connections forgotten on the agent's CLOSED.
    HandedOffClosed => "handed_off_closed",
    /// Handed-off connections forgotten after `tcp_idle_timeout` without a packet from
    /// the client.
    HandedOffIdleTimeouts => "handed_off_idle_timeouts",
    /// Handed-off connections whose client was reset because their agent went down or
    /// restarted (a new epoch).
    HandoffResets => "handoff_resets",
    /// Of those, connections whose back end's kernel was sent a RST in the client's
    /// name too (`flow::handoff_lost`).
    HandoffBackEndResets => "handoff_back_end_resets",
    /// Those RSTs sent again, owed to an agent that went down, once it was heard again
    /// (each goes with its first three answers).
    HandoffBackEndResetResends => "handoff_back_end_reset_resends",
    /// Dropped: RSTs owed to a back end whose agent was not heard again within 15
    /// minutes, or beyond the 65,536 one worker keeps.
    HandoffBackEndResetsGivenUp => "handoff_back_end_resets_given_up",
    /// Probes sent again to handed-off clients being reset (every 600 ms, five in all,
    /// until the client's kernel confirms; `flow::handoff_probe`).
    HandoffClientProbesResent => "handoff_client_probes_resent",
    /// Handed-off clients whose reset their kernel confirmed: a RST answering a probe,
    /// or a new SYN on the same addresses and ports.
    HandoffClientProbesConfirmed => "handoff_client_probes_confirmed",
    /// Handed-off clients probed five times without that confirmation (the client's
    /// host gone or filtered), or beyond the 65,536 one worker keeps probing.
    HandoffClientProbesUnconfirmed => "handoff_client_probes_unconfirmed",
    /// Requests routed to a local real whose connection Splicer began to replay into
    /// its own host's kernel (local service, `flow::local`).
    LocalStarted => "local_started",
    /// Local replays the kernel accepted (its SYN-ACK swallowed, the request replayed).
    LocalEstablished => "local_established",
    /// Replayed SYNs sent again (every 200 ms until `connect_timeout`).
    LocalSynResends => "local_syn_resends",
    /// Local replays the kernel refused with a RST (nothing listens): answered `503`.
    LocalRefused => "local_refused",
    /// Local replays without the kernel's SYN-ACK within `connect_timeout`: answered
    /// `503`.
    LocalTimeouts => "local_timeouts",
    /// Requests routed to a local real on a connection that cannot be replayed (a
    /// pipelined request or a response under way, a half-closed client): spliced to
    /// the real's address as any request.
    LocalNotEligible => "local_not_eligible",
    /// Client segments dropped while their connection was being replayed (the client
    /// sends them again; then they reach the local kernel).
    LocalClientDropped => "local_client_dropped",
    /// Client segments translated and sent to the local kernel.
    LocalToKernel => "local_to_kernel",
    /// Local kernel segments translated and sent to their client.
    LocalToClient => "local_to_client",
    /// Local connections ended with both FINs acknowledged, or 2 s after both FINs
    /// when a last ACK was missed (state freed).
    LocalClosed => "local_closed",
    /// Local connections ended by a RST from the client or the kernel (forwarded; a
    /// client RST not at its next byte after 2 s of silence).
    LocalResets => "local_resets",
    /// Local connections forgotten after `tcp_idle_timeout` of silence (both sides
    /// reset).
    LocalIdleTimeouts => "local_idle_timeouts",
    /// HEARTBEATs sent to agents.
    AgentHeartbeats => "agent_heartbeats",
    /// Valid messages received from agents.
    AgentMessages => "agent_messages",
    /// Agents that came up (first answer, or an answer after being down).
    AgentUps => "agent_ups",
    /// Agents declared down after `agent_dead_time` without an answer.
    AgentDowns => "agent_downs",
    /// Agents seen with a new epoch (restarted).
    AgentRestarts => "agent_restarts",
    /// Requests that took an idle pooled connection.
    PoolReuses => "pool_reuses",
    /// Requests that had to open a new server connection (pool empty, below `maxconns`).
    PoolOpens => "pool_opens",
    /// Requests that waited in their virtual's queue: every real of their set that could
    /// take them was at its high-water mark (`maxconns`, counted in request costs).
    PoolWaits => "pool_waits",
    /// Queued requests that took a slot freed on a real of their set.
    PoolWaitServed => "pool_wait_served",
    /// Requests answered `503` with `Retry-After` after waiting `queue_timeout` in the
    /// queue or for their server connection to open.
    QueueTimeouts => "queue_timeouts",
    /// Requests answered `503` with `Retry-After` at once: every real of their set full
    /// and their virtual's queue holding `queue_size` requests.
    QueueOverflows => "queue_overflows",
    /// Requests sent to another real of their set because one that could take them was
    /// at its high-water mark (spill-over).
    SpillOvers => "spill_overs",
    /// Requests served by a real of a lower tier (a mirror) because every real of a
    /// higher tier that could take them was at its high-water mark.
    TierSpills => "tier_spills",
    /// HTTP/1.0 requests given `Connection: Keep-Alive` towards the server (NetScaler connection pooling, WO 00/28433).
    KeepAliveInserted => "keepalive_inserted",
    /// Requests given `X-Forwarded-For` / `X-Forwarded-Proto` towards the server
    /// (`virtual.forward_for = "header"`).
    ForwardedForInserted => "forwarded_for_inserted",
    /// Of those, requests whose incoming `X-Forwarded-For` / `X-Forwarded-Proto` lines
    /// were removed (`forward_for_incoming = "replace"`).
    ForwardedForReplaced => "forwarded_for_replaced",
    /// Of those, requests whose incoming `X-Forwarded-For` list got the client's address
    /// appended (`forward_for_incoming = "append"`).
    ForwardedForAppended => "forwarded_for_appended",
    /// HTTP/1.1 request heads sent to the server without the client's `Connection:
    /// close` (`virtual.server_close = "keep"`): the server connection stays pooled.
    ServerCloseKept => "server_close_kept",
    /// Responses to those whose `Connection: keep-alive` Splicer turned into
    /// `Connection: close` for the client, same length.
    ServerCloseMarked => "server_close_marked",
    /// Responses to those that reached the client without a `close` to read: no
    /// `Connection: keep-alive` to turn (the real's such requests on this worker keep
    /// `close` for 60 s), or a token cut across segments whose start had gone out
    /// already.
    ServerCloseUnmarked => "server_close_unmarked",
    /// Server connections of tcp virtuals begun with a PROXY protocol v2 header
    /// (`virtual.forward_for = "proxy-v2"`).
    ProxyHeadersSent => "proxy_headers_sent",
    /// Responses delivered completely and acknowledged by the client.
    ResponsesComplete => "responses_complete",
    /// Responses with a 1xx final status (101).
    Responses1xx => "responses_1xx" in Responses("1xx"),
    /// Responses with a 2xx status.
    Responses2xx => "responses_2xx" in Responses("2xx"),
    /// Responses with a 3xx status.
    Responses3xx => "responses_3xx" in Responses("3xx"),
    /// Responses with a 4xx status.
    Responses4xx => "responses_4xx" in Responses("4xx"),
    /// Responses with a 5xx status.
    Responses5xx => "responses_5xx" in Responses("5xx"),
    /// Responses with a status outside 100–599.
    ResponsesOther => "responses_other" in Responses("other"),
    /// Client connections Splicer closed after a response because the client did not
    /// want keep-alive.
    ClientsClosedAfterResponse => "clients_closed_after_response",
    /// Client → server segments forwarded on a splice.
    SplicedUp => "spliced_up" in SplicedSegments("up"),
    /// Server → client segments forwarded on a splice.
    SplicedDown => "spliced_down" in SplicedSegments("down"),
    /// Forwarded segments larger than the receiver's MSS, sent as several.
    Resegmented => "resegmented",
    /// SACK blocks removed from forwarded segments (outside the splice, or the
    /// receiving leg has no SACK).
    SackBlocksDropped => "sack_blocks_dropped",
    /// Client bytes not taken while a request waits or is spliced: more of a body
    /// that waits for its server connection, or pipelined requests past the room of
    /// the head buffer (`max_request_head`); not acknowledged, so the client sends
    /// them again later.
    ClientDataDeferred => "client_data_deferred",
    /// Client segments whose bytes of later requests (pipelining) Splicer took into
    /// the head buffer while an earlier request was waiting or spliced.
    ClientDataPipelined => "client_data_pipelined",
    /// Requests read from the head buffer when the response before them ended: they
    /// came before it did (pipelined, or in the same segment as the request before).
    PipelinedRequests => "pipelined_requests",
    /// Requests sent to a server while earlier requests of the same client connection
    /// were still in flight (pipelining: routed at once onto an idle pooled connection).
    PipelinedDispatched => "pipelined_dispatched",
    /// Pipelined requests that could not go out at once (a redirect, a refusal, or no
    /// idle connection to the real they are routed to): they wait in the head buffer
    /// for their turn. Counted each time one is tried.
    PipelinedWaits => "pipelined_waits",
    /// Pipelined requests whose response became the one sent to the client.
    PipelinedPromoted => "pipelined_promoted",
    /// Server segments of a pipelined request's response held until its turn.
    HeldSegments => "held_segments",
    /// Held segments sent on when their response's turn came.
    HeldReleased => "held_released",
    /// Server segments of a held response that came after a gap (reordered, or one
    /// before them lost): held, and the server told with SACK blocks.
    HeldOutOfOrder => "held_out_of_order",
    /// Server segments of a held response that repeat bytes already held: dropped.
    HeldDuplicates => "held_duplicates",
    /// Server segments of a pipelined request's response not held because they pass
    /// the window its server was offered (`max_held`): dropped, unacknowledged (the
    /// server sends them again).
    HeldLimit => "held_limit",
    /// Server segments of a spliced response that came after a gap (reordered, or one
    /// before them lost) and hold only bytes the response framer counts without reading
    /// (body data): forwarded to the client at once, which puts them in order.
    ServerForwardedAhead => "server_forwarded_ahead",
    /// Client bytes past the server's receive window: neither framed nor forwarded
    /// (the server would drop them); the client sends them again when the window opens.
    ClientDataBeyondWindow => "client_data_beyond_window",
    /// Client bytes of a chunked body not taken because 1,024 of its framing bytes
    /// (size lines, CRLFs, trailers) await the server's acknowledgement; the client
    /// sends them again once the server acknowledges.
    ClientDataHeldFraming => "client_data_held_framing",
    /// Client retransmissions whose bytes differ from those the request framer read
    /// where they decide a chunked body's end: the splice is reset on both legs.
    ClientRetransmitMismatch => "client_retransmit_mismatch",
    /// Server connections Splicer opened (SYN sent).
    ServerConnsOpened => "server_conns_opened",
    /// Server connections established.
    ServerConnsEstablished => "server_conns_established",
    /// Server connections that could not be opened (RST or `connect_timeout`).
    ServerConnectFailures => "server_connect_failures",
    /// Idle server connections the server closed (its keep-alive timeout).
    ServerConnsClosedByServer => "server_conns_closed_by_server",
    /// Idle server connections beyond `pool` closed after `server_idle_timeout`.
    ServerConnsIdleClosed => "server_conns_idle_closed",
    /// Server connections the server reset.
    ServerResets => "server_resets",
    /// Active health checks started (`check` of a real, on the worker that checks it).
    HealthChecks => "health_checks",
    /// Active health checks that failed other than by timeout: refused or reset, an
    /// unexpected status, an answer that is not HTTP, or no connection could be opened.
    HealthCheckFailures => "health_check_failures",
    /// Active health checks that timed out (no connection or no status line within the
    /// check's `timeout`).
    HealthCheckTimeouts => "health_check_timeouts",
    /// Runs of `outlier_errors` failed requests to one real reported to the control
    /// core (passive outlier detection).
    HealthOutliers => "health_outliers",
    /// Health events dropped: more than a worker keeps between two timer polls, or the
    /// control core's queue was full.
    HealthEventsDropped => "health_events_dropped",
    /// Access log records lost: the worker's ring to the control core was full, or
    /// more requests were under way than the worker has record slots for.
    AccessLogDropped => "access_log_dropped",
    /// Requests left out of the access log by sampling (`access_log.sample`, or one in
    /// 16 kept while the ring is over three quarters full).
    AccessLogSampled => "access_log_sampled",
    /// Requests routed to another real because theirs could not serve them: no
    /// connection could be opened (instead of `503`), or a safe request's connection was
    /// lost, or its real left, before a byte of the answer (instead of `502`/`504`).
    HealthRoutedAgain => "health_routed_again",
    /// Safe requests without a body sent again to the same real on a new connection: the
    /// pooled connection they were sent on closed or reset before a byte of the answer
    /// (the keep-alive race: the server closed it as the request arrived) (instead of
    /// `502`); at most once per request.
    RequestsRetried => "requests_retried",
    /// Busy server connections given up after `server_idle_timeout` of silence.
    ServerTimeouts => "server_timeouts",
    /// Responses cut short by the server closing (the client is reset).
    ServerTruncated => "server_truncated",
    /// Responses whose framing could not be followed (relayed until close, not reused).
    ServerFramingErrors => "server_framing_errors",
    /// Server data nobody asked for (on an idle connection, or past a response's end).
    ServerUnexpectedData => "server_unexpected_data",
    /// Server connections left to drain a response after their client reset.
    DrainStarted => "drain_started",
    /// Drained responses that completed (the connection is reused or closed in order).
    DrainCompleted => "drain_completed",
    /// Drained responses that did not end within `drain_timeout` (connection reset).
    DrainTimeouts => "drain_timeouts",
    /// Responses that ended before their request body did (a server answering a POST
    /// early, a final status to `Expect: 100-continue`): the server connection is reset,
    /// never reused, and the client connection is closed after the response.
    EarlyResponses => "early_responses",
    /// Requests whose client closed (FIN) before the body ended: the server connection
    /// is reset; the client gets `400`, or a reset once the response has started.
    ClientBodyTruncated => "client_body_truncated",
    /// Request bodies not delivered within `body_timeout` plus one second per
    /// `body_min_rate` bytes: `408` (or a reset once the response started), server reset.
    BodyTimeouts => "body_timeouts",
    /// Spliced clients that did not read their response (nothing acknowledged for
    /// `send_timeout` while bytes were outstanding or the window was below one segment,
    /// or less than `send_min_rate` on average): both legs reset.
    SendTimeouts => "send_timeouts",
    /// Client connections reset after Splicer's answer and FIN were acknowledged, because
    /// the client neither closed nor fell silent within the linger bound.
    LingerTimeouts => "linger_timeouts",
    /// Challenge ACKs sent for a RST or SYN inside the window but not at the exact next
    /// sequence number (RFC 5961): a blind injection attempt, or a stale segment.
    ChallengeAcks => "tcp_challenge_acks",
    /// Challenge ACKs not sent: past the worker's 1000 a second (RFC 5961 §7).
    ChallengeAcksLimited => "tcp_challenge_acks_limited",
    /// Requests answered `502` (`504` when the server was given up on a timeout) because
    /// the server closed, reset or went silent before sending a byte of its response.
    BadGateway => "http_bad_gateway",
    /// Requests refused with `400` for a malformed body (bad chunk size or framing).
    RefusedBadBody => "refused_bad_body" in RefusedRequests("bad_body"),
    /// Redirects answered `414` instead: the expanded Location did not fit in a
    /// response (4 KiB), or held bytes that cannot be in a header.
    RefusedRedirectLocation => "refused_redirect_location" in RefusedRequests("redirect_location"),
    /// Connections reset because their real or virtual was set `failed`, or their
    /// virtual was set `failed`: client and server legs both count.
    ResetFailed => "reset_failed",
    /// Configuration changes this worker applied (live reconfiguration).
    ConfigUpdates => "config_updates",
    /// Established client connections reset because Splicer stopped: those still open
    /// when its drain ended or `stop_timeout` passed.
    StopResets => "stop_resets",
    /// Requests refused with `400`: malformed request line, header, target or Host.
    RefusedBadRequest => "refused_bad_request" in RefusedRequests("bad_request"),
    /// Requests refused with `431`: head larger than `max_request_head` or too many headers.
    RefusedHeadTooLarge => "refused_head_too_large" in RefusedRequests("head_too_large"),
    /// Requests refused with `400` for ambiguous framing (request smuggling attempts).
    RefusedSmuggling => "refused_smuggling" in RefusedRequests("smuggling"),
    /// Requests refused with `501`: CONNECT, Upgrade, transfer codings other than chunked.
    RefusedNotImplemented => "refused_not_implemented" in RefusedRequests("not_implemented"),
    /// Requests refused with `417`: an `Expect` other than `100-continue`.
    RefusedExpectation => "refused_expectation" in RefusedRequests("expectation"),
    /// Requests refused with `505`: HTTP versions other than 1.0 and 1.1.
    RefusedVersion => "refused_version" in RefusedRequests("version"),
    /// Client connections closed by the client before a complete request head.
    HttpIncomplete => "http_incomplete_requests",
    /// Frame or header shorter than its headers or stated length.
    DropTruncated => "drop_truncated" in Drops("truncated"),
    /// IPv4 header with a bad version, header length or total length.
    DropBadIpHeader => "drop_bad_ip_header" in Drops("bad_ip_header"),
    /// IPv4 header checksum mismatch.
    DropBadIpChecksum => "drop_bad_ip_checksum" in Drops("bad_ip_checksum"),
    /// IPv4 fragments (not reassembled by Splicer).
    DropIpFragment => "drop_ip_fragment" in Drops("ip_fragment"),
    /// ICMP checksum mismatch.
    DropBadIcmpChecksum => "drop_bad_icmp_checksum" in Drops("bad_icmp_checksum"),
    /// Ethernet frame for a unicast MAC address that is not the port's.
    DropNotOurMac => "drop_not_our_mac" in Drops("not_our_mac"),
    /// IPv4 packet for an address that is neither a port address nor a VIP.
    DropNotForUs => "drop_not_for_us" in Drops("not_for_us"),
    /// Ethertype other than IPv4 and ARP (IPv6, VLAN tags, ...).
    DropUnsupportedEthertype => "drop_unsupported_ethertype" in Drops("unsupported_ethertype"),
    /// IPv4 protocol Splicer does not terminate at this address.
    DropUnsupportedProtocol => "drop_unsupported_protocol" in Drops("unsupported_protocol"),
    /// UDP datagrams to the agent port dropped: bad checksum, not a handoff message,
    /// or not from a configured agent.
    DropAgentMessage => "drop_agent_message" in Drops("agent_message"),
    /// Datagrams from a configured agent's address that came in on another port than
    /// the one leading to that agent, or to another address than that port's: forged.
    DropAgentSpoofed => "drop_agent_spoofed" in Drops("agent_spoofed"),
    /// TCP segments from a local kernel (through an exception port, from a VIP to a
    /// client) that belong to no local connection: a connection already closed.
    DropLocalNoFlow => "drop_local_no_flow" in Drops("local_no_flow"),
    /// Local kernel segments during the replay other than its SYN-ACK or a RST, and
    /// segments either way whose headers or options do not translate.
    DropLocalUnexpected => "drop_local_unexpected" in Drops("local_unexpected"),
    /// ICMP message other than an echo request.
    DropUnsupportedIcmp => "drop_unsupported_icmp" in Drops("unsupported_icmp"),
    /// ARP request for an address we do not own on that port.
    DropArpNotForUs => "drop_arp_not_for_us" in Drops("arp_not_for_us"),
    /// ARP packet that is not Ethernet/IPv4, or has an unknown operation or a bogus sender.
    DropBadArp => "drop_bad_arp" in Drops("bad_arp"),
    /// No port subnet and no gateway reaches the destination.
    DropNoRoute => "drop_no_route" in Drops("no_route"),
    /// Packet waited for ARP resolution that never came, or the wait queue was full.
    DropNeighbourUnresolved => "drop_neighbour_unresolved" in Drops("neighbour_unresolved"),
    /// TX queue full: the NIC did not take the packet.
    DropTxFull => "drop_tx_full" in Drops("tx_full"),
    /// Hand-off ring to the owning worker full.
    DropHandoffFull => "drop_handoff_full" in Drops("handoff_full"),
    /// TCP header shorter than its data offset says, or a data offset below 5.
    DropBadTcpHeader => "drop_bad_tcp_header" in Drops("bad_tcp_header"),
    /// TCP checksum mismatch.
    DropBadTcpChecksum => "drop_bad_tcp_checksum" in Drops("bad_tcp_checksum"),
    /// TCP segment to a local address and port no virtual server listens on (answered
    /// with RST).
    DropTcpClosedPort => "drop_tcp_closed_port" in Drops("tcp_closed_port"),
    /// Non-SYN TCP segment for a connection Splicer does not know (answered with RST).
    DropTcpNoFlow => "drop_tcp_no_flow" in Drops("tcp_no_flow"),
    /// Client segment beyond the next expected byte; the client retransmits it.
    DropTcpOutOfOrder => "drop_tcp_out_of_order" in Drops("tcp_out_of_order"),
    /// Server segment beyond the next expected byte of a spliced response that holds
    /// bytes the framer must read (head, chunk-size line, trailer); the server
    /// retransmits it. Body bytes past a gap go on (`server_forwarded_ahead`).
    DropServerOutOfOrder => "drop_server_out_of_order" in Drops("server_out_of_order"),
    /// No free local port for a new server connection.
    DropNoLocalPort => "drop_no_local_port" in Drops("no_local_port"),
    /// Segment whose ACK or RST does not fit the connection's state.
    DropTcpBadSegment => "drop_tcp_bad_segment" in Drops("tcp_bad_segment"),
    /// Client segments older than the connection's latest timestamp (PAWS, RFC 7323
    /// §5.3): dropped and answered with an ACK.
    DropTcpPaws => "drop_tcp_paws" in Drops("tcp_paws"),
    /// SYN refused: the worker already tracks `max_flows` connections.
    DropFlowTableFull => "drop_flow_table_full" in Drops("flow_table_full"),
    /// SYN refused: the worker already has `max_half_open` half-open connections.
    DropSynFlood => "drop_syn_flood" in Drops("syn_flood"),
    /// SYN to a virtual refused with a RST: Splicer is stopping (graceful stop).
    DropDraining => "drop_draining" in Drops("draining"),
    /// Mempool empty when the appliance wanted to originate a packet.
    DropAllocFailed => "drop_alloc_failed" in Drops("alloc_failed"),
}

counters! {
    /// What a worker counts per real (by [`RealId`]), once per request: never per packet.
    RealCounter;
    /// Requests routed to the real (the same moment as `splice_requests`).
    Requests => "requests",
    /// Its responses with a 1xx final status (101).
    Responses1xx => "responses_1xx" in Responses("1xx"),
    /// Its responses with a 2xx status.
    Responses2xx => "responses_2xx" in Responses("2xx"),
    /// Its responses with a 3xx status.
    Responses3xx => "responses_3xx" in Responses("3xx"),
    /// Its responses with a 4xx status.
    Responses4xx => "responses_4xx" in Responses("4xx"),
    /// Its responses with a 5xx status.
    Responses5xx => "responses_5xx" in Responses("5xx"),
    /// Its responses with a status outside 100–599.
    ResponsesOther => "responses_other" in Responses("other"),
    /// Requests whose server connection was lost mid-request: reset by the real, timed
    /// out (`server_idle_timeout`, retransmissions) or a response cut short. The client
    /// is reset.
    ServerErrors => "server_errors",
    /// Active health checks of the real started.
    Checks => "checks",
    /// Active health checks of the real that failed (timeouts included).
    CheckFailures => "check_failures",
    /// Connections handed off to the real's agent.
    Handoffs => "handoffs",
}

counters! {
    /// What a worker counts per virtual (by virtual index; a DIP is a virtual), once per
    /// request: never per packet.
    VirtualCounter;
    /// Complete, valid request heads read (as `http_requests`).
    Requests => "requests",
    /// Requests routed to a real, its own or one of a backup (as `splice_requests`).
    Spliced => "spliced",
    /// Requests answered with a redirect (as `http_redirects`).
    Redirects => "redirects",
    /// Requests answered `503` (as `http_no_server`).
    NoServer => "no_server",
    /// Requests Splicer refused itself (4xx/5xx): the sum of the `refused_*` counters.
    Refused => "refused",
    /// Requests refused because its queue was full (as `queue_overflows`).
    QueueOverflows => "queue_overflows",
    /// Requests that waited in its queue until `queue_timeout` (as `queue_timeouts`).
    QueueTimeouts => "queue_timeouts",
}
