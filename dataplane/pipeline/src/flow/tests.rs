//! The client leg against hand-made segments: what Splicer answers, when, and what it
//! counts.

use crate::balance::Farm;
use crate::counters::{Counter, Gauge, RealCounter, VirtualCounter, BIND_SLOT};
use crate::flow::tcp::{OUR_MSS, OUR_WSCALE};
use crate::flow::FlowSettings;
use crate::packet::Sink;
use crate::parse::tests::{ipv4_frame, PEER_MAC};
use crate::parse::L3_OFFSET;
use crate::pipeline::{Pipeline, Settings};
use crate::presence::neighbour::{NeighbourSettings, NeighbourUpdate};
use crate::topology::tests::two_ports;
use crate::topology::Service;
use crate::WorkerCounters;
use splicer_wire::ipv4;
use splicer_wire::tcp::{self, SeqNumber, TcpOption};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;

mod burst;
mod checks;
mod cluster;
mod cookies;
mod handoff;
mod handoff_routed;
mod local;
mod raw_bed;
mod spliced;
mod stop;
mod tunnel;

const MS: u64 = 1_000_000;
const CLIENT: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 2);
const VIP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 100);
const HEAD_LIMIT: usize = 1024;

#[derive(Default)]
struct Out {
    tx: Vec<Vec<u8>>,
}

impl Sink<Vec<u8>> for Out {
    fn transmit(&mut self, _port: u16, pkt: Vec<u8>) {
        self.tx.push(pkt);
    }
    fn handoff(&mut self, _worker: usize, _pkt: Vec<u8>) {
        panic!("one worker never hands off");
    }
    fn discard(&mut self, _pkt: Vec<u8>) {}
    fn alloc(&mut self) -> Option<Vec<u8>> {
        Some(Vec::new())
    }
    fn publish_neighbour(&mut self, _update: NeighbourUpdate) {}
}

fn settings(max_half_open: usize) -> FlowSettings {
    FlowSettings {
        max_flows: 1024,
        max_half_open,
        handshake_timeout: 3_000 * MS,
        request_timeout: 10_000 * MS,
        idle_timeout: 60_000 * MS,
        ..FlowSettings::defaults(MS)
    }
}

fn pipeline(flow: FlowSettings) -> Pipeline<Vec<u8>> {
    // No reals (nothing to splice to), the one virtual counted.
    farm_pipeline(
        Farm::default(),
        (0, 1),
        flow,
        Service::DEFAULT_MAX_PIPELINE,
        &[],
    )
}

/// Worker `worker` of `workers` with the VIP's service (`max_pipeline`) and `farm`; the
/// client and the `servers` on the inside are known neighbours.
fn farm_pipeline(
    farm: Farm,
    workers: (usize, usize),
    flow: FlowSettings,
    max_pipeline: u16,
    servers: &[Ipv4Addr],
) -> Pipeline<Vec<u8>> {
    let limits = (max_pipeline, Service::DEFAULT_MAX_HELD);
    farm_pipeline_held(farm, workers, flow, limits, servers)
}

/// [`farm_pipeline`] whose virtual holds at most `max_held` bytes of each response to a
/// request sent ahead.
fn farm_pipeline_held(
    farm: Farm,
    workers: (usize, usize),
    flow: FlowSettings,
    (max_pipeline, max_held): (u16, usize),
    servers: &[Ipv4Addr],
) -> Pipeline<Vec<u8>> {
    let service = Service {
        address: SocketAddrV4::new(VIP, 80),
        virtual_index: 0,
        max_request_head: HEAD_LIMIT,
        max_pipeline,
        max_held,
        forward_for: Default::default(),
        server_close: Default::default(),
    };
    farm_pipeline_service(farm, workers, flow, service, servers)
}

/// [`farm_pipeline`] with the VIP's `service` as given.
fn farm_pipeline_service(
    farm: Farm,
    (worker, workers): (usize, usize),
    flow: FlowSettings,
    service: Service,
    servers: &[Ipv4Addr],
) -> Pipeline<Vec<u8>> {
    let topology = Arc::new(two_ports().with_services(&[service]).with_farm(farm));
    let reals = topology.farm().reals.len();
    let counters = Arc::new(WorkerCounters::with_objects(
        topology.ports().len(),
        reals,
        1,
    ));
    let mut p = Pipeline::new(
        Settings {
            worker,
            workers,
            neighbour: NeighbourSettings {
                timeout: 60_000 * MS,
                retry: 1000 * MS,
                pending: 4,
            },
            flow,
            seed: 7,
        },
        topology,
        counters,
    );
    let inside = servers.iter().map(|&ip| (1, ip));
    for (port, ip) in std::iter::once((0, CLIENT)).chain(inside) {
        let update = NeighbourUpdate {
            port,
            ip,
            mac: PEER_MAC,
        };
        p.apply_neighbour_update(update, 0, &mut Out::default());
    }
    p
}

/// A client segment to the VIP.
struct C {
    port: u16,
    seq: u32,
    ack: Option<u32>,
    flags: u8,
    options: Vec<u8>,
    payload: Vec<u8>,
    dst_port: u16,
    window: u16,
}

impl C {
    fn new(seq: u32, flags: u8) -> Self {
        C {
            port: 40000,
            seq,
            ack: None,
            flags,
            options: vec![],
            payload: vec![],
            dst_port: 80,
            window: 64_000,
        }
    }
    fn ack(mut self, ack: u32) -> Self {
        self.ack = Some(ack);
        self
    }
    fn window(mut self, w: u16) -> Self {
        self.window = w;
        self
    }
    fn data(mut self, d: &[u8]) -> Self {
        self.payload = d.to_vec();
        self
    }
    fn frame(&self) -> Vec<u8> {
        let len = tcp::HEADER_LEN + self.options.len() + self.payload.len();
        let mut seg = vec![0u8; len];
        {
            let mut t = tcp::Packet::new_unchecked(&mut seg[..]);
            t.set_src_port(self.port);
            t.set_dst_port(self.dst_port);
            t.set_seq_number(SeqNumber(self.seq));
            t.set_ack_number(SeqNumber(self.ack.unwrap_or(0)));
            t.set_header_len(tcp::HEADER_LEN + self.options.len());
            t.set_flags(
                self.flags
                    | if self.ack.is_some() {
                        tcp::flags::ACK
                    } else {
                        0
                    },
            );
            t.set_window_len(self.window);
            t.options_mut().copy_from_slice(&self.options);
            t.payload_mut().copy_from_slice(&self.payload);
            t.fill_checksum(CLIENT, VIP);
        }
        ipv4_frame(CLIENT, VIP, ipv4::protocol::TCP, &seg)
    }
}

/// What Splicer sent, decoded.
#[derive(Debug)]
struct Reply {
    seq: u32,
    ack: Option<u32>,
    flags: u8,
    window: u16,
    mss: Option<u16>,
    wscale: Option<u8>,
    sack_ok: bool,
    ts: Option<(u32, u32)>,
    payload: Vec<u8>,
}

fn decode(frame: &[u8]) -> Reply {
    let ip = ipv4::Packet::new_checked(&frame[L3_OFFSET..]).unwrap();
    assert!(ip.verify_checksum());
    assert_eq!((ip.src_addr(), ip.dst_addr()), (VIP, CLIENT));
    let t = tcp::Packet::new_checked(ip.payload()).unwrap();
    assert!(t.verify_checksum(VIP, CLIENT), "bad TCP checksum");
    let mut r = Reply {
        seq: t.seq_number().0,
        ack: t.ack().then(|| t.ack_number().0),
        flags: t.flags() & !tcp::flags::ACK,
        window: t.window_len(),
        mss: None,
        wscale: None,
        sack_ok: false,
        ts: None,
        payload: t.payload().to_vec(),
    };
    for o in tcp::options(t.options()) {
        match o.unwrap().1 {
            TcpOption::MaxSegmentSize(m) => r.mss = Some(m),
            TcpOption::WindowScale(w) => r.wscale = Some(w),
            TcpOption::SackPermitted => r.sack_ok = true,
            TcpOption::Timestamp { tsval, tsecr } => r.ts = Some((tsval, tsecr)),
            _ => {}
        }
    }
    r
}

fn send(p: &mut Pipeline<Vec<u8>>, c: C, now: u64) -> Vec<Reply> {
    let mut out = Out::default();
    p.receive(0, c.frame(), now, &mut out);
    out.tx.iter().map(|f| decode(f)).collect()
}

fn tick(p: &mut Pipeline<Vec<u8>>, now: u64) -> Vec<Reply> {
    let mut out = Out::default();
    p.poll_timers(now, &mut out);
    out.tx.iter().map(|f| decode(f)).collect()
}

fn count(p: &Pipeline<Vec<u8>>, c: Counter) -> u64 {
    p.counters().snapshot().get(c)
}

/// The counters of virtual 0, the VIP's.
fn virtual_count(p: &Pipeline<Vec<u8>>, c: VirtualCounter) -> u64 {
    p.counters().virtual_row(0)[c as usize]
}

const SYN: u8 = tcp::flags::SYN;
const FIN: u8 = tcp::flags::FIN;
const RST: u8 = tcp::flags::RST;
const PSH: u8 = tcp::flags::PSH;

fn linux_syn(seq: u32) -> C {
    let mut c = C::new(seq, SYN);
    let mut opts = [0u8; 20];
    let n = tcp::emit_options(&mut opts, Some(1460), true, Some((5000, 0)), Some(7));
    c.options = opts[..n].to_vec();
    c
}

/// Handshake with Linux-like options; returns Splicer's ISN.
fn handshake(p: &mut Pipeline<Vec<u8>>, now: u64) -> u32 {
    let r = send(p, linux_syn(1000), now);
    assert_eq!(r.len(), 1);
    let iss = r[0].seq;
    assert!(send(p, C::new(1001, 0).ack(iss + 1), now).is_empty());
    iss
}

#[test]
fn syn_ack_negotiates_what_the_client_offered() {
    let mut p = pipeline(settings(16));
    let r = send(&mut p, linux_syn(1000), 0);
    assert_eq!(r.len(), 1);
    let r = &r[0];
    assert_eq!(r.flags, SYN);
    assert_eq!(r.ack, Some(1001));
    assert_eq!(r.mss, Some(OUR_MSS));
    assert_eq!(r.wscale, Some(OUR_WSCALE));
    assert!(r.sack_ok);
    assert_eq!(r.ts.map(|t| t.1), Some(5000), "echoes the client's TSval");
    // Unscaled in a SYN-ACK: the head limit plus one byte.
    assert_eq!(usize::from(r.window), HEAD_LIMIT + 1);

    // A bare SYN gets a bare SYN-ACK.
    let mut bare = C::new(7, SYN);
    bare.port = 40001;
    let r = &send(&mut p, bare, 0)[0];
    assert_eq!(
        (r.mss, r.wscale, r.sack_ok, r.ts),
        (Some(OUR_MSS), None, false, None)
    );
    assert_eq!(count(&p, Counter::TcpSyns), 2);
    assert_eq!(p.flows().half_open(), 2);
}

#[test]
fn a_valid_request_gets_503_then_an_orderly_close() {
    let mut p = pipeline(settings(16));
    let iss = handshake(&mut p, 0);
    assert_eq!(count(&p, Counter::TcpEstablished), 1);
    assert_eq!(p.flows().half_open(), 0);
    tick(&mut p, 0);
    assert_eq!(p.counters().gauge(Gauge::Flows), 1);

    let req = b"GET / HTTP/1.1\r\nHost: www\r\n\r\n";
    let r = send(&mut p, C::new(1001, PSH).ack(iss + 1).data(req), MS);
    assert_eq!(r.len(), 1, "the response carries the ACK");
    let resp = &r[0];
    assert_eq!(resp.flags, PSH | FIN);
    assert_eq!(resp.seq, iss + 1);
    assert_eq!(resp.ack, Some(1001 + req.len() as u32));
    assert!(
        resp.payload.starts_with(b"HTTP/1.1 503 "),
        "{:?}",
        String::from_utf8_lossy(&resp.payload)
    );
    assert_eq!(count(&p, Counter::HttpRequests), 1);
    assert_eq!(count(&p, Counter::HttpNoServer), 1);
    // The same per virtual; no farm, so no rule or bind list routed it.
    assert_eq!(virtual_count(&p, VirtualCounter::Requests), 1);
    assert_eq!(virtual_count(&p, VirtualCounter::NoServer), 1);
    assert_eq!(virtual_count(&p, VirtualCounter::Spliced), 0);
    assert_eq!(p.counters().rule_row(0)[BIND_SLOT], 0);

    // The client ACKs everything, then closes; Splicer ACKs the FIN and forgets it.
    let end = iss + 1 + resp.payload.len() as u32 + 1;
    let seq = 1001 + req.len() as u32;
    assert!(send(&mut p, C::new(seq, 0).ack(end), 2 * MS).is_empty());
    let r = send(&mut p, C::new(seq, FIN).ack(end), 3 * MS);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].ack, Some(seq + 1));
    assert_eq!(count(&p, Counter::ClientsClosed), 1);
    assert!(p.flows().is_empty());
    tick(&mut p, 4 * MS);
    assert_eq!(p.counters().gauge(Gauge::Flows), 0);
}

#[test]
fn a_request_split_over_segments_is_acked_and_reassembled() {
    let mut p = pipeline(settings(16));
    let iss = handshake(&mut p, 0);
    let r = send(&mut p, C::new(1001, 0).ack(iss + 1).data(b"GET / HT"), MS);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].ack, Some(1009));
    assert!(r[0].payload.is_empty());
    // A duplicate of the first part is acknowledged again, not appended twice.
    let r = send(&mut p, C::new(1001, 0).ack(iss + 1).data(b"GET / HT"), MS);
    assert_eq!(r[0].ack, Some(1009));
    // Out of order: dropped and answered with a duplicate ACK.
    let r = send(&mut p, C::new(1020, 0).ack(iss + 1).data(b"zzz"), MS);
    assert_eq!(r[0].ack, Some(1009));
    assert_eq!(count(&p, Counter::DropTcpOutOfOrder), 1);
    let r = send(
        &mut p,
        C::new(1009, 0).ack(iss + 1).data(b"TP/1.0\r\n\r\n"),
        MS,
    );
    assert!(r[0].payload.starts_with(b"HTTP/1.1 503 "));
    assert_eq!(count(&p, Counter::HttpRequests), 1);
}

#[test]
fn bad_requests_get_their_status() {
    for (req, status, counter) in [
        (&b"GARBAGE\r\n\r\n"[..], "400", Counter::RefusedBadRequest),
        (
            &b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
            "400",
            Counter::RefusedSmuggling,
        ),
        (&b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"[..], "501", Counter::RefusedNotImplemented),
    ] {
        let mut p = pipeline(settings(16));
        let iss = handshake(&mut p, 0);
        let r = send(&mut p, C::new(1001, PSH).ack(iss + 1).data(req), MS);
        let want = format!("HTTP/1.1 {status} ");
        assert!(r[0].payload.starts_with(want.as_bytes()), "{}", String::from_utf8_lossy(&r[0].payload));
        assert_eq!(count(&p, counter), 1);
        // Refused, not a request of the virtual's.
        assert_eq!(virtual_count(&p, VirtualCounter::Refused), 1);
        assert_eq!(virtual_count(&p, VirtualCounter::Requests), 0);
    }
}

#[test]
fn a_head_over_the_limit_gets_431() {
    let mut p = pipeline(settings(16));
    let iss = handshake(&mut p, 0);
    let mut req = b"GET / HTTP/1.1\r\nHost: a\r\nX-Fill: ".to_vec();
    req.resize(HEAD_LIMIT + 10, b'a');
    let mut seq = 1001u32;
    let mut replies = vec![];
    for chunk in req.chunks(500) {
        replies = send(&mut p, C::new(seq, 0).ack(iss + 1).data(chunk), MS);
        seq += chunk.len() as u32;
    }
    assert!(replies[0].payload.starts_with(b"HTTP/1.1 431 "));
    assert_eq!(count(&p, Counter::RefusedHeadTooLarge), 1);
}

#[test]
fn syns_beyond_the_half_open_bound_are_dropped() {
    let mut p = pipeline(settings(4));
    for i in 0..10u16 {
        let mut syn = C::new(u32::from(i), SYN);
        syn.port = 50000 + i;
        send(&mut p, syn, 0);
    }
    assert_eq!(p.flows().half_open(), 4);
    assert_eq!(count(&p, Counter::TcpSyns), 4);
    assert_eq!(count(&p, Counter::DropSynFlood), 6);
}

#[test]
fn syn_ack_is_retransmitted_then_the_half_open_connection_expires() {
    let mut p = pipeline(settings(16));
    let first = send(&mut p, linux_syn(1000), 0);
    let r = tick(&mut p, 1000 * MS);
    assert_eq!(r.len(), 1);
    assert_eq!((r[0].flags, r[0].seq), (SYN, first[0].seq));
    assert!(tick(&mut p, 2000 * MS).is_empty(), "backoff doubles to 2 s");
    assert_eq!(tick(&mut p, 3000 * MS).len(), 0);
    assert_eq!(count(&p, Counter::HandshakeTimeouts), 1);
    assert_eq!(count(&p, Counter::TcpRetransmits), 1);
    assert!(p.flows().is_empty());
    assert_eq!(p.flows().half_open(), 0);
}

#[test]
fn a_slow_client_gets_408_and_a_lost_response_is_retransmitted() {
    let mut p = pipeline(settings(16));
    let iss = handshake(&mut p, 0);
    send(
        &mut p,
        C::new(1001, 0).ack(iss + 1).data(b"GET / HTTP/1.1\r\n"),
        MS,
    );
    assert!(tick(&mut p, 9_000 * MS).is_empty());
    let r = tick(&mut p, 10_000 * MS);
    assert_eq!(r.len(), 1);
    assert!(r[0].payload.starts_with(b"HTTP/1.1 408 "));
    assert_eq!(count(&p, Counter::RequestTimeouts), 1);
    // Never acknowledged: sent again after the retransmission timeout.
    let again = tick(&mut p, 11_000 * MS);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].payload, r[0].payload);
    assert_eq!(again[0].flags, PSH | FIN);
}

#[test]
fn segments_without_a_connection_or_to_closed_ports_get_resets() {
    let mut p = pipeline(settings(16));
    let r = send(&mut p, C::new(500, 0).ack(777).data(b"x"), 0);
    assert_eq!((r[0].flags, r[0].seq, r[0].ack), (RST, 777, None));
    let mut closed = C::new(900, SYN);
    closed.dst_port = 81;
    let r = send(&mut p, closed, 0);
    assert_eq!((r[0].flags, r[0].ack), (RST, Some(901)));
    // A RST is never answered.
    assert!(send(&mut p, C::new(1, RST), 0).is_empty());
    assert_eq!(count(&p, Counter::DropTcpNoFlow), 2);
    assert_eq!(count(&p, Counter::DropTcpClosedPort), 1);
    assert_eq!(count(&p, Counter::TcpResetsSent), 2);
}

#[test]
fn only_an_exact_reset_closes_a_connection() {
    let mut p = pipeline(settings(16));
    let iss = handshake(&mut p, 0);
    // In the window but not at the next byte: a challenge ACK (RFC 5961 §3.2).
    let r = send(&mut p, C::new(5000, RST), MS);
    assert_eq!(r.len(), 1);
    assert_eq!((r[0].flags, r[0].ack), (0, Some(1001)));
    assert_eq!(count(&p, Counter::ChallengeAcks), 1);
    // Outside the window: dropped without an answer.
    assert!(send(&mut p, C::new(1001 + 50_000_000, RST), MS).is_empty());
    assert_eq!(p.flows().len(), 1);
    assert_eq!(count(&p, Counter::DropTcpBadSegment), 1);
    send(&mut p, C::new(1001, RST).ack(iss + 1), MS);
    assert!(p.flows().is_empty());
    assert_eq!(count(&p, Counter::ClientResets), 1);
}

#[test]
fn corrupted_segments_are_counted() {
    let mut p = pipeline(settings(16));
    let mut f = linux_syn(1).frame();
    let last = f.len() - 1;
    f[last] ^= 0x40;
    let mut out = Out::default();
    p.receive(0, f, 0, &mut out);
    assert!(out.tx.is_empty());
    assert_eq!(count(&p, Counter::DropBadTcpChecksum), 1);
}

#[test]
fn a_busy_connection_keeps_one_timer_entry() {
    let mut p = pipeline(settings(16));
    let iss = handshake(&mut p, 0);
    let req = b"GET / HTTP/1.1\r\nHost: www\r\n\r\n";
    let resp = send(&mut p, C::new(1001, 0).ack(iss + 1).data(req), 0);
    let end = iss + 1 + resp[0].payload.len() as u32 + 1;
    // Each segment moves the idle deadline later; none may add a heap entry.
    let first = 1001 + req.len() as u32;
    for i in 1..=200u32 {
        send(
            &mut p,
            C::new(first + i - 1, 0).ack(end).data(b"x"),
            u64::from(i) * MS,
        );
    }
    assert!(p.timers.len() <= 3, "{} timer entries", p.timers.len());
}

#[test]
fn every_http_refusal_has_its_own_counter() {
    use splicer_http::Refusal::*;
    for r in [
        Malformed,
        BadTarget,
        MissingHost,
        BadHost,
        HeadTooLarge,
        TooManyHeaders,
        ContentLengthAndTransferEncoding,
        InvalidContentLength,
        ConflictingContentLength,
        InvalidTransferEncoding,
        UnsupportedTransferCoding,
        Connect,
        Upgrade,
        UnsupportedExpectation,
        Http2Preface,
        UnsupportedVersion,
    ] {
        assert!(
            Counter::from_name(r.counter_name()).is_some(),
            "{r:?} counts as {}, which is no counter",
            r.counter_name()
        );
    }
}

/// A client segment carrying a timestamp option.
fn with_ts(mut c: C, tsval: u32) -> C {
    let mut opts = [0u8; 12];
    let n = tcp::emit_options(&mut opts, None, false, Some((tsval, 0)), None);
    c.options = opts[..n].to_vec();
    c
}

#[test]
fn paws_drops_segments_with_an_old_timestamp() {
    let mut p = pipeline(settings(16));
    let iss = handshake(&mut p, 0);
    // In order, newer than the SYN's 5000: taken (a partial head, ACKed).
    let r = send(
        &mut p,
        with_ts(C::new(1001, 0).ack(iss + 1).data(b"GET / "), 6000),
        MS,
    );
    assert_eq!(r.last().map(|r| r.ack), Some(Some(1007)));
    // Older than 6000: dropped, answered with an ACK that takes nothing.
    let r = send(
        &mut p,
        with_ts(C::new(1007, 0).ack(iss + 1).data(b"HTTP/1.1\r\n"), 5500),
        MS,
    );
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].ack, Some(1007));
    assert_eq!(count(&p, Counter::DropTcpPaws), 1);
    // The same bytes with a current timestamp are taken.
    let r = send(
        &mut p,
        with_ts(C::new(1007, 0).ack(iss + 1).data(b"HTTP/1.1\r\n"), 6001),
        MS,
    );
    assert_eq!(r.last().map(|r| r.ack), Some(Some(1017)));
}

/// A SYN on the 4-tuple of a connection Splicer answered and closed (its FIN
/// acknowledged) opens a new connection, as a SYN to a TIME-WAIT socket does.
#[test]
fn a_new_syn_replaces_a_connection_splicer_closed() {
    let mut p = pipeline(settings(16));
    let iss = handshake(&mut p, 0);
    // No real: the request gets 503 and Splicer's FIN.
    let r = send(
        &mut p,
        C::new(1001, 0).ack(iss + 1).data(b"GET / HTTP/1.0\r\n\r\n"),
        MS,
    );
    let fin = r.iter().find(|r| r.flags & FIN != 0).expect("a FIN");
    let end = fin.seq + fin.payload.len() as u32 + 1;
    assert!(send(&mut p, C::new(1019, 0).ack(end), MS).is_empty());
    assert_eq!(p.flows().len(), 1, "waits for the client's FIN");
    let r = send(&mut p, linux_syn(900_000), 2 * MS);
    assert_eq!(r.len(), 1);
    assert_eq!((r[0].flags, r[0].ack), (SYN, Some(900_001)));
    assert_eq!(count(&p, Counter::ChallengeAcks), 0);
}

/// Splicer's own answer goes out as far as the client's window admits; a closed window
/// gets one-byte probes with backoff for as long as the client answers them, and the
/// rest follows as soon as the window opens.
#[test]
fn own_answers_respect_the_window_and_probe_a_closed_one() {
    let mut p = pipeline(FlowSettings {
        idle_timeout: 1_000_000 * MS,
        ..settings(16)
    });
    let iss = handshake(&mut p, 0);
    // Window 1 << 7 = 128 bytes; no real, so the answer is a 503 of more than that.
    let r = send(
        &mut p,
        C::new(1001, 0)
            .ack(iss + 1)
            .window(1)
            .data(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
        MS,
    );
    let sent: usize = r.iter().map(|r| r.payload.len()).sum();
    assert_eq!(sent, 128, "{r:?}");
    assert!(
        r.iter().all(|r| r.flags & FIN == 0),
        "the FIN waits for the rest"
    );
    let ack = 1001 + 27;
    // The client takes those bytes and closes its window: nothing more goes out.
    let mut una = iss + 1 + 128;
    assert!(send(&mut p, C::new(ack, 0).ack(una).window(0), 2 * MS).is_empty());
    // The retransmission timer probes with one byte, again and again, with backoff;
    // answered, the probes never reset the connection.
    let mut now = 2 * MS;
    let mut probes = 0;
    while probes < 10 {
        now += 1_000 * MS;
        // The client stays a known neighbour (entries expire after a minute).
        let known = NeighbourUpdate {
            port: 0,
            ip: CLIENT,
            mac: PEER_MAC,
        };
        p.apply_neighbour_update(known, now, &mut Out::default());
        for r in tick(&mut p, now) {
            assert_eq!(
                (r.seq, r.payload.len(), r.flags & RST),
                (una, 1, 0),
                "{r:?}"
            );
            probes += 1;
            assert!(send(&mut p, C::new(ack, 0).ack(una).window(0), now).is_empty());
        }
        assert!(
            now < 500_000 * MS,
            "{probes} probes by {} s",
            now / 1000 / MS
        );
    }
    assert_eq!(p.flows().len(), 1);
    // The window opens (the last probe's byte taken): the rest and the FIN at once.
    una += 1;
    let r = send(&mut p, C::new(ack, 0).ack(una).window(100), now + MS);
    let total: usize = r.iter().map(|r| r.payload.len()).sum();
    assert!(
        total > 0 && r.first().is_some_and(|r| r.seq == una),
        "{r:?}"
    );
    assert!(r.last().is_some_and(|r| r.flags & FIN != 0));
}

/// Splicer's own answers are logged: 503 (no farm), a malformed head's 400, and a head
/// left incomplete by the client's FIN; an idle close is no request.
#[test]
fn splicers_own_answers_are_logged() {
    use crate::access::{AccessRing, Term, NONE16};
    let mut p = pipeline(settings(16));
    let ring = AccessRing::new(16);
    p.set_access_log(ring.clone(), 1, 16);
    let iss = handshake(&mut p, 0);
    let req = b"GET /x HTTP/1.1\r\nHost: www\r\n\r\n";
    send(&mut p, C::new(1001, PSH).ack(iss + 1).data(req), MS);
    let r = ring.pop().expect("503 logged");
    assert_eq!((r.status, r.term, r.real), (503, Term::NoServer, NONE16));
    assert_eq!(r.line(), b"GET /x HTTP/1.1");
    assert_eq!(r.bytes_in, req.len() as u64);
    assert!(r.bytes_out > 0);
    assert_eq!((r.head_done, r.end), (MS, MS));

    let mut c = C::new(1000, SYN);
    c.port = 40001;
    let syn_ack = &send(&mut p, c, 2 * MS)[0];
    let mut ack = C::new(1001, 0).ack(syn_ack.seq + 1);
    ack.port = 40001;
    send(&mut p, ack, 2 * MS);
    let mut bad = C::new(1001, PSH)
        .ack(syn_ack.seq + 1)
        .data(b"GARBAGE\r\n\r\n");
    bad.port = 40001;
    send(&mut p, bad, 3 * MS);
    let r = ring.pop().expect("400 logged");
    assert_eq!(
        (r.status, r.term, r.client_port),
        (400, Term::Refused, 40001)
    );
    assert_eq!(r.line(), b"GARBAGE");

    let mut c = C::new(1000, SYN);
    c.port = 40002;
    let syn_ack = &send(&mut p, c, 4 * MS)[0];
    let mut part = C::new(1001, FIN).ack(syn_ack.seq + 1).data(b"GET /half HT");
    part.port = 40002;
    let mut ack = C::new(1001, 0).ack(syn_ack.seq + 1);
    ack.port = 40002;
    send(&mut p, ack, 4 * MS);
    send(&mut p, part, 5 * MS);
    let r = ring.pop().expect("incomplete head logged");
    assert_eq!((r.status, r.term), (0, Term::ClientClosedHead));
    assert_eq!(r.line(), b"GET /half HT");
    assert!(ring.pop().is_none());
}

/// A head that does not come whole within `request_timeout` is logged as the client's
/// timeout (`cR`) with Splicer's 408 and the partial line.
#[test]
fn a_request_timeout_is_logged_as_the_clients() {
    use crate::access::{AccessRing, Term};
    let mut p = pipeline(settings(16));
    let ring = AccessRing::new(4);
    p.set_access_log(ring.clone(), 1, 4);
    let iss = handshake(&mut p, 0);
    let part = b"GET /slow HTTP/1.1\r\n";
    send(&mut p, C::new(1001, 0).ack(iss + 1).data(part), MS);
    tick(&mut p, 10_000 * MS);
    let r = ring.pop().expect("408 logged");
    assert_eq!((r.status, r.term), (408, Term::ClientTimeoutHead));
    assert_eq!(r.line(), b"GET /slow HTTP/1.1");
    assert_eq!(r.bytes_in, part.len() as u64);
    assert_eq!((r.head_start, r.end), (MS, 10_000 * MS));
    assert!(ring.pop().is_none());
}
