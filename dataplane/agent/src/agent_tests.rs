//! The agent's packet logic driven with built frames: what a Splicer, a client and a
//! kernel would send, and checks of every frame the agent forwards or builds.

use super::*;
use crate::config::Settings;
use splicer_wire::ethernet::Frame;
use splicer_wire::handoff::{Body, CloseReason, HandoffRepr, HandoffResult, Message};
use splicer_wire::tcp::{SeqNumber, TcpFlags, TcpOptions, TcpRepr};
use splicer_wire::{ethernet, ipv4, tcp, udp, ChecksumPolicy, EthernetAddress};
use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

pub(super) const SPLICER_MAC: EthernetAddress = EthernetAddress([2, 0x73, 0, 0, 0, 1]);
pub(super) const KERNEL_MAC: EthernetAddress = EthernetAddress([2, 0x6b, 0, 0, 0, 11]);
pub(super) const ROUTER_MAC: EthernetAddress = EthernetAddress([2, 0x72, 0, 0, 0, 254]);
pub(super) const EPOCH: u64 = 0xA6E7;
const SPLICER_EPOCH: u64 = 0x5B1C;
pub(super) const REQUEST: &[u8] = b"GET /files/100k HTTP/1.1\r\nHost: www\r\n\r\n";

pub(super) fn splicer() -> SocketAddrV4 {
    "198.19.0.1:7470".parse().unwrap()
}
pub(super) fn listen() -> SocketAddrV4 {
    "198.19.0.11:7470".parse().unwrap()
}
pub(super) fn client() -> SocketAddrV4 {
    "198.18.0.2:40000".parse().unwrap()
}
pub(super) fn vip() -> SocketAddrV4 {
    "198.18.0.100:80".parse().unwrap()
}

pub(super) fn agent() -> Agent {
    let mut a = Agent::new(Settings::new(listen(), vec![*splicer().ip()]), EPOCH);
    a.set_kernel_mac(KERNEL_MAC);
    a
}

pub(super) fn handoff_repr(request: &'static [u8]) -> HandoffRepr<'static> {
    HandoffRepr {
        client: client(),
        vip: vip(),
        client_isn: 1000,
        splicer_isn: 5_000_000,
        mss: 1460,
        client_wscale: Some(7),
        splicer_wscale: Some(7),
        sack_permitted: true,
        timestamps: true,
        client_tsval: 100,
        splicer_tsval: 9000,
        client_window: 502,
        splicer_epoch: SPLICER_EPOCH,
        request,
        backend: None,
    }
}

pub(super) fn channel_frame(msg: Message<'_>) -> Vec<u8> {
    crate::frames::udp_frame(
        SPLICER_MAC,
        KERNEL_MAC,
        splicer(),
        listen(),
        &msg.to_vec().unwrap(),
    )
}

pub(super) fn handoff_frame(id: u32, h: HandoffRepr<'_>) -> Vec<u8> {
    channel_frame(Message {
        id,
        body: Body::Handoff(h),
    })
}

/// The channel message in a frame the agent sent to Splicer (addresses checked).
pub(super) fn message(frame: &[u8]) -> (u32, Body<'static>) {
    let eth = Frame::new_checked(frame).unwrap();
    assert_eq!(eth.dst_addr(), SPLICER_MAC);
    assert_eq!(eth.src_addr(), KERNEL_MAC);
    let ip = ipv4::Packet::new_checked(eth.payload()).unwrap();
    assert!(ip.verify_checksum());
    assert_eq!(
        (ip.src_addr(), ip.dst_addr()),
        (*listen().ip(), *splicer().ip())
    );
    let u = udp::Packet::new_checked(ip.payload()).unwrap();
    assert!(u.verify_checksum(ip.src_addr(), ip.dst_addr()));
    assert_eq!(
        (u.src_port(), u.dst_port()),
        (listen().port(), splicer().port())
    );
    let bytes: &'static [u8] = Box::leak(u.payload().to_vec().into_boxed_slice());
    let m = Message::parse(bytes).unwrap();
    (m.id, m.body)
}

/// The CLOSED of the client's connection after both FINs.
pub(super) fn closed_fin() -> Body<'static> {
    Body::Closed {
        client: client(),
        vip: vip(),
        reason: CloseReason::Fin,
    }
}

/// The id and result of the HANDOFF_ACK the agent sent Splicer first (taken out).
pub(super) fn handoff_result(a: &mut Agent) -> (u32, HandoffResult) {
    match message(&a.to_wire.remove(0)) {
        (id, Body::HandoffAck { result, .. }) => (id, result),
        other => panic!("not a HANDOFF_ACK: {other:?}"),
    }
}

/// A TCP frame's segment, checksums verified, and its payload.
pub(super) fn segment(frame: &[u8], from: SocketAddrV4, to: SocketAddrV4) -> (TcpRepr, Vec<u8>) {
    let eth = Frame::new_checked(frame).unwrap();
    let ip = ipv4::Packet::new_checked(eth.payload()).unwrap();
    assert!(ip.verify_checksum(), "IPv4 checksum");
    assert_eq!((ip.src_addr(), ip.dst_addr()), (*from.ip(), *to.ip()));
    let t = tcp::Packet::new_checked(ip.payload()).unwrap();
    let repr = TcpRepr::parse(&t, ip.src_addr(), ip.dst_addr(), ChecksumPolicy::Verify)
        .expect("valid TCP segment and checksum");
    assert_eq!((repr.src_port, repr.dst_port), (from.port(), to.port()));
    (repr, t.payload().to_vec())
}

/// A frame the kernel sends from `server` (the VIP, or the back end's own address in
/// the routed mode) to the client, through the router.
pub(super) fn kernel_frame(server: SocketAddrV4, repr: &TcpRepr, payload: &[u8]) -> Vec<u8> {
    let (s, c) = (*server.ip(), *client().ip());
    crate::frames::tcp_frame(KERNEL_MAC, ROUTER_MAC, s, c, repr, payload)
}

/// A frame from the client to `server`, as Splicer forwards the client's segments.
pub(super) fn client_frame(server: SocketAddrV4, repr: &TcpRepr, payload: &[u8]) -> Vec<u8> {
    let (c, s) = (*client().ip(), *server.ip());
    crate::frames::tcp_frame(SPLICER_MAC, KERNEL_MAC, c, s, repr, payload)
}

fn from_kernel_frame(repr: &TcpRepr, payload: &[u8]) -> Vec<u8> {
    kernel_frame(vip(), repr, payload)
}

pub(super) fn from_client_frame(repr: &TcpRepr, payload: &[u8]) -> Vec<u8> {
    client_frame(vip(), repr, payload)
}

pub(super) fn seg(
    seq: u32,
    ack: Option<u32>,
    flags: TcpFlags,
    window: u16,
    options: TcpOptions,
    len: usize,
) -> TcpRepr {
    TcpRepr {
        src_port: 0,
        dst_port: 0,
        seq: SeqNumber(seq),
        ack: ack.map(SeqNumber),
        flags,
        window,
        options,
        payload_len: len,
    }
}

pub(super) fn ts(tsval: u32, tsecr: u32) -> TcpOptions {
    let mut o = TcpOptions::NONE;
    o.timestamp = Some((tsval, tsecr));
    o
}

fn kernel_seg(mut r: TcpRepr) -> TcpRepr {
    r.src_port = vip().port();
    r.dst_port = client().port();
    r
}

pub(super) fn client_seg(mut r: TcpRepr) -> TcpRepr {
    r.src_port = client().port();
    r.dst_port = vip().port();
    r
}

/// The kernel's SYN-ACK to the replayed SYN (ISN 777, TSval 50000, MSS 1460) with
/// window shift `shift` and SACK if `sack`; no ports.
pub(super) fn syn_ack_repr(shift: u8, sack: bool) -> TcpRepr {
    let mut o = ts(50_000, 100);
    o.mss = Some(1460);
    o.window_scale = Some(shift);
    o.sack_permitted = sack;
    seg(777, Some(1001), TcpFlags::SYN, 64240, o, 0)
}

/// The kernel's first segment of its response `body` (TSval 50010), acknowledging all
/// of `REQUEST`; no ports.
pub(super) fn response_seg(body: &[u8]) -> TcpRepr {
    let req_end = 1001 + REQUEST.len() as u32;
    seg(
        778,
        Some(req_end),
        TcpFlags::PSH,
        100,
        ts(50_010, 100),
        body.len(),
    )
}

/// The kernel's SYN-ACK to the replayed SYN: ISN 777, shift 9 (not Splicer's 7),
/// TSval 50000.
fn syn_ack() -> Vec<u8> {
    from_kernel_frame(&kernel_seg(syn_ack_repr(9, true)), &[])
}

/// An agent that took the HANDOFF (id 41) and the kernel's SYN-ACK; outboxes emptied.
fn handed_off(now: Instant) -> Agent {
    let mut a = agent();
    let mut f = handoff_frame(41, handoff_repr(REQUEST));
    assert_eq!(a.from_wire(&mut f, now), Verdict::Consumed);
    let mut f = syn_ack();
    assert_eq!(a.from_kernel(&mut f, now), Verdict::Consumed);
    a.to_kernel.clear();
    a.to_wire.clear();
    a
}

#[test]
fn syn_replay_syn_ack_swallow_ack_replay_and_translation_both_ways() {
    let now = Instant::now();
    let mut a = agent();

    // 1. The HANDOFF: the client's SYN goes to the kernel, nothing to Splicer yet.
    let mut f = handoff_frame(41, handoff_repr(REQUEST));
    assert_eq!(a.from_wire(&mut f, now), Verdict::Consumed);
    assert!(a.to_wire.is_empty());
    assert_eq!(a.to_kernel.len(), 1);
    let syn = a.to_kernel.remove(0);
    assert_eq!(Frame::new_checked(&syn[..]).unwrap().dst_addr(), KERNEL_MAC);
    let (r, payload) = segment(&syn, client(), vip());
    assert!(payload.is_empty());
    assert_eq!(r.flags, TcpFlags::SYN);
    assert_eq!((r.seq, r.ack, r.window), (SeqNumber(1000), None, 502));
    assert_eq!(r.options.mss, Some(1460));
    assert_eq!(r.options.window_scale, Some(7));
    assert!(r.options.sack_permitted);
    assert_eq!(r.options.timestamp, Some((100, 0)));

    // 2. The kernel's SYN-ACK is swallowed (3 ms later); the ACK with the request goes
    //    in, the HANDOFF_ACK out.
    let mut f = syn_ack();
    assert_eq!(
        a.from_kernel(&mut f, now + Duration::from_millis(3)),
        Verdict::Consumed
    );
    assert_eq!(
        (a.counters.replay_us_sum, a.counters.replay_us_max),
        (3000, 3000)
    );
    assert_eq!(a.to_kernel.len(), 1);
    let (r, payload) = segment(&a.to_kernel.remove(0), client(), vip());
    assert_eq!(payload, REQUEST);
    assert_eq!(
        (r.seq, r.ack, r.window),
        (SeqNumber(1001), Some(SeqNumber(778)), 502)
    );
    assert!(r.flags.contains(TcpFlags::PSH) && !r.flags.contains(TcpFlags::SYN));
    assert_eq!(r.options.timestamp, Some((100, 50_000)));
    assert_eq!(a.to_wire.len(), 1);
    let (id, body) = message(&a.to_wire.remove(0));
    assert_eq!(id, 41);
    assert_eq!(
        body,
        Body::HandoffAck {
            result: HandoffResult::Ok,
            kernel_isn: 777,
            epoch: EPOCH
        }
    );
    assert_eq!(a.counters.handoffs_ok, 1);

    // 3. Response data from the kernel: seq into Splicer's space, TSval onto
    //    Splicer's clock, window from shift 9 to shift 7 (100 << 9 = 51200 = 400 << 7).
    let req_end = 1001 + REQUEST.len() as u32;
    let body = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
    let mut f = from_kernel_frame(&kernel_seg(response_seg(body)), body);
    assert_eq!(a.from_kernel(&mut f, now), Verdict::Forward);
    let eth = Frame::new_checked(&f[..]).unwrap();
    assert_eq!((eth.src_addr(), eth.dst_addr()), (KERNEL_MAC, ROUTER_MAC));
    let (r, payload) = segment(&f, vip(), client());
    assert_eq!(payload, body);
    assert_eq!(r.seq, SeqNumber(5_000_001));
    assert_eq!(r.ack, Some(SeqNumber(req_end)));
    assert_eq!(r.window, 400);
    assert_eq!(r.options.timestamp, Some((9010, 100)));

    // 4. The client's ACK with a SACK block and an echo of the translated TSval: ack
    //    and SACK edges into the kernel's space, TSecr back onto the kernel's clock.
    let n = body.len() as u32;
    let mut o = ts(110, 9010);
    o.sack[0] = Some((SeqNumber(5_000_001 + n + 10), SeqNumber(5_000_001 + n + 20)));
    let mut f = from_client_frame(
        &client_seg(seg(
            req_end,
            Some(5_000_001 + n),
            TcpFlags::empty(),
            600,
            o,
            0,
        )),
        &[],
    );
    assert_eq!(a.from_wire(&mut f, now), Verdict::Forward);
    assert_eq!(Frame::new_checked(&f[..]).unwrap().dst_addr(), KERNEL_MAC);
    let (r, _) = segment(&f, client(), vip());
    assert_eq!(
        (r.seq, r.ack, r.window),
        (SeqNumber(req_end), Some(SeqNumber(778 + n)), 600)
    );
    assert_eq!(r.options.timestamp, Some((110, 50_010)));
    assert_eq!(
        r.options.sack[0],
        Some((SeqNumber(778 + n + 10), SeqNumber(778 + n + 20)))
    );
    assert_eq!(
        (
            a.counters.translated_to_client,
            a.counters.translated_to_kernel
        ),
        (1, 1)
    );

    // 5. Close: client FIN, kernel ACK + FIN, client ACK of it → CLOSED fin.
    let k_next = 778 + n;
    let mut f = from_client_frame(
        &client_seg(seg(
            req_end,
            Some(5_000_001 + n),
            TcpFlags::FIN,
            600,
            ts(120, 9010),
            0,
        )),
        &[],
    );
    assert_eq!(a.from_wire(&mut f, now), Verdict::Forward);
    let mut f = from_kernel_frame(
        &kernel_seg(seg(
            k_next,
            Some(req_end + 1),
            TcpFlags::FIN,
            100,
            ts(50_020, 120),
            0,
        )),
        &[],
    );
    assert_eq!(a.from_kernel(&mut f, now), Verdict::Forward);
    assert!(
        a.to_wire.is_empty(),
        "the kernel's FIN is not acknowledged yet"
    );
    let mut f = from_client_frame(
        &client_seg(seg(
            req_end + 1,
            Some(5_000_001 + n + 1),
            TcpFlags::empty(),
            600,
            ts(130, 9020),
            0,
        )),
        &[],
    );
    assert_eq!(a.from_wire(&mut f, now), Verdict::Forward);
    // The client's ACK of the kernel's FIN ends it (the kernel's ACK of the client's
    // FIN came with its FIN).
    assert_eq!(a.counters.closed_fin, 1);
    assert_eq!(a.to_wire.len(), 1);
    let (closed_id, body) = message(&a.to_wire.remove(0));
    assert_eq!(body, closed_fin());
    assert_eq!(a.pending_closed(), 1);
    let mut f = channel_frame(Message {
        id: closed_id,
        body: Body::ClosedAck,
    });
    assert_eq!(a.from_wire(&mut f, now), Verdict::Consumed);
    assert_eq!((a.pending_closed(), a.counters.closed_acked), (0, 1));
    // The entry lingers for stragglers, then goes.
    assert_eq!(a.connections(), 1);
    a.poll(now + Duration::from_secs(9));
    assert_eq!(a.connections(), 0);
}

#[test]
fn a_close_seen_last_from_the_kernel_is_reported_at_once() {
    let now = Instant::now();
    let mut a = handed_off(now);
    let req_end = 1001 + REQUEST.len() as u32;
    // The kernel closes first (FIN), the client ACKs it and sends its FIN, the
    // kernel's ACK of that ends the connection.
    let mut f = from_kernel_frame(
        &kernel_seg(seg(
            778,
            Some(req_end),
            TcpFlags::FIN,
            100,
            ts(50_001, 100),
            0,
        )),
        &[],
    );
    assert_eq!(a.from_kernel(&mut f, now), Verdict::Forward);
    let mut f = from_client_frame(
        &client_seg(seg(
            req_end,
            Some(5_000_002),
            TcpFlags::FIN,
            600,
            ts(101, 9001),
            0,
        )),
        &[],
    );
    assert_eq!(a.from_wire(&mut f, now), Verdict::Forward);
    assert_eq!(a.counters.closed_fin, 0);
    let mut f = from_kernel_frame(
        &kernel_seg(seg(
            779,
            Some(req_end + 1),
            TcpFlags::empty(),
            100,
            ts(50_002, 101),
            0,
        )),
        &[],
    );
    assert_eq!(a.from_kernel(&mut f, now), Verdict::Forward);
    assert_eq!(a.counters.closed_fin, 1);
    let (_, body) = message(&a.to_wire.remove(0));
    assert!(matches!(
        body,
        Body::Closed {
            reason: CloseReason::Fin,
            ..
        }
    ));
}

#[test]
fn a_repeated_handoff_gets_the_same_answer_and_no_new_replay() {
    let now = Instant::now();
    let mut a = handed_off(now);
    let mut f = handoff_frame(41, handoff_repr(REQUEST));
    assert_eq!(a.from_wire(&mut f, now), Verdict::Consumed);
    assert!(a.to_kernel.is_empty());
    let (id, body) = message(&a.to_wire.remove(0));
    assert_eq!(id, 41);
    assert_eq!(
        body,
        Body::HandoffAck {
            result: HandoffResult::Ok,
            kernel_isn: 777,
            epoch: EPOCH
        }
    );
    assert_eq!((a.counters.handoffs, a.counters.handoff_repeats), (1, 1));
}

#[test]
fn a_rst_from_the_kernel_refuses_the_handoff() {
    let now = Instant::now();
    let mut a = agent();
    let mut f = handoff_frame(7, handoff_repr(REQUEST));
    a.from_wire(&mut f, now);
    a.to_kernel.clear();
    let mut f = from_kernel_frame(
        &kernel_seg(seg(0, Some(1001), TcpFlags::RST, 0, TcpOptions::NONE, 0)),
        &[],
    );
    assert_eq!(a.from_kernel(&mut f, now), Verdict::Consumed);
    assert_eq!(handoff_result(&mut a), (7, HandoffResult::Refused));
    // A resend is refused alike; the client's packets are not passed on.
    let mut f = handoff_frame(7, handoff_repr(REQUEST));
    a.from_wire(&mut f, now);
    assert_eq!(handoff_result(&mut a).1, HandoffResult::Refused);
    assert!(a.to_kernel.is_empty());
    let mut f = from_client_frame(
        &client_seg(seg(
            1001,
            Some(5_000_001),
            TcpFlags::empty(),
            1,
            TcpOptions::NONE,
            0,
        )),
        &[],
    );
    assert_eq!(a.from_wire(&mut f, now), Verdict::Drop);
    assert_eq!(a.counters.handoffs_refused, 1);
}

#[test]
fn an_unanswered_syn_is_resent_then_times_out() {
    let now = Instant::now();
    let mut a = agent();
    let mut f = handoff_frame(9, handoff_repr(REQUEST));
    a.from_wire(&mut f, now);
    assert_eq!(a.counters.syn_replays, 1);
    // Client segments that arrive meanwhile are not the kernel's business yet.
    let mut f = from_client_frame(
        &client_seg(seg(
            1001,
            Some(5_000_001),
            TcpFlags::empty(),
            1,
            TcpOptions::NONE,
            0,
        )),
        &[],
    );
    assert_eq!(a.from_wire(&mut f, now), Verdict::Drop);
    assert_eq!(a.counters.drop_while_replaying, 1);
    a.poll(now + Duration::from_millis(250));
    assert_eq!(a.counters.syn_replays, 2);
    assert!(a.to_wire.is_empty());
    a.poll(now + Duration::from_millis(1100));
    assert_eq!(handoff_result(&mut a), (9, HandoffResult::Timeout));
    assert_eq!(a.counters.handoffs_timeout, 1);
}

#[test]
fn heartbeats_are_answered_with_the_epoch_and_the_connections_held() {
    let now = Instant::now();
    let mut a = handed_off(now);
    let mut f = channel_frame(Message {
        id: 3,
        body: Body::Heartbeat {
            epoch: SPLICER_EPOCH,
        },
    });
    assert_eq!(a.from_wire(&mut f, now), Verdict::Consumed);
    let (id, body) = message(&a.to_wire.remove(0));
    assert_eq!(id, 3);
    assert_eq!(
        body,
        Body::HeartbeatAck {
            epoch: EPOCH,
            connections: 1
        }
    );
}

#[test]
fn a_new_splicer_epoch_resets_its_old_connections_in_the_kernel() {
    let now = Instant::now();
    let mut a = handed_off(now);
    let mut f = channel_frame(Message {
        id: 4,
        body: Body::Heartbeat {
            epoch: SPLICER_EPOCH + 1,
        },
    });
    a.from_wire(&mut f, now);
    assert_eq!(a.counters.splicer_restart_resets, 1);
    assert_eq!(a.connections(), 0);
    let (r, _) = segment(&a.to_kernel.remove(0), client(), vip());
    assert_eq!(r.flags, TcpFlags::RST);
    assert_eq!(r.seq, SeqNumber(1001 + REQUEST.len() as u32));
}

#[test]
fn a_splicer_silent_for_its_dead_time_has_its_connections_reset_in_the_kernel() {
    let now = Instant::now();
    let mut a = handed_off(now);
    let dead = a.settings.splicer_dead_time;
    // A heartbeat (same epoch) keeps the connection: silence counts from it.
    let mut f = channel_frame(Message {
        id: 4,
        body: Body::Heartbeat {
            epoch: SPLICER_EPOCH,
        },
    });
    let beat = now + Duration::from_secs(2);
    a.from_wire(&mut f, beat);
    a.to_wire.clear();
    a.poll(now + dead);
    a.poll(beat + dead - Duration::from_millis(20));
    assert_eq!(a.counters.splicer_silent_resets, 0);
    assert_eq!(a.connections(), 1);
    assert!(a.to_kernel.is_empty());
    a.poll(beat + dead);
    assert_eq!(a.counters.splicer_silent_resets, 1);
    assert_eq!(a.connections(), 0);
    assert_eq!(a.to_kernel.len(), 1);
    let (r, _) = segment(&a.to_kernel.remove(0), client(), vip());
    assert_eq!(r.flags, TcpFlags::RST);
    assert_eq!(r.seq, SeqNumber(1001 + REQUEST.len() as u32));
    // Nothing owed to Splicer: it reset and forgot the connection itself by then.
    assert!(a.to_wire.is_empty());
    assert_eq!(a.pending_closed(), 0);
    // Once only: the silence goes on, nothing more happens.
    a.poll(beat + dead * 3);
    assert_eq!(a.counters.splicer_silent_resets, 1);
    assert!(a.to_kernel.is_empty());
}

#[test]
fn a_silent_splicer_s_reset_spares_another_splicer_s_connections() {
    let now = Instant::now();
    let other: SocketAddrV4 = "198.19.0.2:7470".parse().unwrap();
    let mut a = Agent::new(
        Settings::new(listen(), vec![*splicer().ip(), *other.ip()]),
        EPOCH,
    );
    a.set_kernel_mac(KERNEL_MAC);
    let mut f = handoff_frame(41, handoff_repr(REQUEST));
    a.from_wire(&mut f, now);
    a.from_kernel(&mut syn_ack(), now);
    // The other Splicer heartbeats on and is not affected by the first one's silence.
    let beat = |a: &mut Agent, at: Instant| {
        let msg = Message {
            id: 9,
            body: Body::Heartbeat { epoch: 77 },
        };
        let mut f = crate::frames::udp_frame(
            SPLICER_MAC,
            KERNEL_MAC,
            other,
            listen(),
            &msg.to_vec().unwrap(),
        );
        a.from_wire(&mut f, at);
    };
    let dead = a.settings.splicer_dead_time;
    beat(&mut a, now + dead - Duration::from_secs(1));
    a.poll(now + dead);
    assert_eq!(a.counters.splicer_silent_resets, 1);
    assert_eq!(a.connections(), 0);
    beat(&mut a, now + dead * 2);
    a.poll(now + dead * 2);
    assert_eq!(a.counters.splicer_silent_resets, 1);
}

#[test]
fn idle_connections_are_reset_and_reported_and_closed_is_resent_then_given_up() {
    let now = Instant::now();
    let mut a = handed_off(now);
    let t = now + Duration::from_secs(301);
    a.poll(t);
    assert_eq!(a.counters.closed_idle, 1);
    let (r, _) = segment(&a.to_kernel.remove(0), client(), vip());
    assert_eq!(r.flags, TcpFlags::RST);
    let (id, body) = message(&a.to_wire.remove(0));
    assert!(matches!(
        body,
        Body::Closed {
            reason: CloseReason::Idle,
            ..
        }
    ));
    for i in 1..=12u64 {
        a.poll(t + Duration::from_millis(210 * i));
    }
    assert_eq!(a.counters.closed_resends, 9, "10 sends in all");
    assert_eq!(a.counters.closed_given_up, 1);
    assert!(a.to_wire.iter().all(|f| message(f).0 == id));
}

#[test]
fn everything_else_is_bridged_and_our_own_frames_are_not_taken_back() {
    let now = Instant::now();
    let mut a = handed_off(now);
    // Another client's segment to the VIP (a connection the agent does not hold),
    // ARP, and UDP to another port pass unchanged both ways.
    let other: SocketAddrV4 = "198.18.0.3:5000".parse().unwrap();
    let r = TcpRepr {
        src_port: other.port(),
        dst_port: 80,
        ..seg(1, None, TcpFlags::SYN, 10, TcpOptions::NONE, 0)
    };
    let f0 = crate::frames::tcp_frame(SPLICER_MAC, KERNEL_MAC, *other.ip(), *vip().ip(), &r, &[]);
    let mut f = f0.clone();
    assert_eq!(a.from_wire(&mut f, now), Verdict::Forward);
    assert_eq!(f, f0);
    let mut arp = f0.clone();
    arp[12..14].copy_from_slice(&ethernet::ethertype::ARP.to_be_bytes());
    let arp0 = arp.clone();
    assert_eq!(a.from_wire(&mut arp, now), Verdict::Forward);
    assert_eq!(arp, arp0);
    let u0 = crate::frames::udp_frame(
        SPLICER_MAC,
        KERNEL_MAC,
        splicer(),
        "198.19.0.11:53".parse().unwrap(),
        b"q",
    );
    let mut u = u0.clone();
    assert_eq!(a.from_wire(&mut u, now), Verdict::Forward);
    assert_eq!(u, u0);
    let mut k = crate::frames::udp_frame(KERNEL_MAC, ROUTER_MAC, listen(), splicer(), b"x");
    assert_eq!(a.from_kernel(&mut k, now), Verdict::Forward);
    // A frame from the kernel's MAC on the wire is our own transmission.
    assert_eq!(a.from_wire(&mut k, now), Verdict::Drop);
    assert_eq!(a.counters.drop_own_echo, 1);
    assert_eq!(
        (a.counters.bridged_to_kernel, a.counters.bridged_to_wire),
        (3, 1)
    );
}

#[test]
fn a_request_longer_than_the_kernel_mss_is_replayed_in_pieces() {
    let now = Instant::now();
    let mut a = agent();
    let request: &'static [u8] = Box::leak(vec![b'x'; 1000].into_boxed_slice());
    let mut f = handoff_frame(5, handoff_repr(request));
    a.from_wire(&mut f, now);
    a.to_kernel.clear();
    let mut o = TcpOptions::NONE;
    o.mss = Some(400);
    let mut f = from_kernel_frame(
        &kernel_seg(seg(1, Some(1001), TcpFlags::SYN, 1000, o, 0)),
        &[],
    );
    assert_eq!(a.from_kernel(&mut f, now), Verdict::Consumed);
    let pieces: Vec<(TcpRepr, Vec<u8>)> = a
        .to_kernel
        .iter()
        .map(|f| segment(f, client(), vip()))
        .collect();
    let lens: Vec<usize> = pieces.iter().map(|(_, p)| p.len()).collect();
    assert_eq!(lens, [400, 400, 200]);
    let seqs: Vec<u32> = pieces.iter().map(|(r, _)| r.seq.0).collect();
    assert_eq!(seqs, [1001, 1401, 1801]);
    // The client agreed timestamps with Splicer: every piece carries one.
    assert!(pieces.iter().all(|(r, _)| r.options.timestamp.is_some()));
}

#[test]
fn a_full_agent_answers_busy_and_a_malformed_handoff_malformed() {
    let now = Instant::now();
    let mut s = Settings::new(listen(), vec![*splicer().ip()]);
    s.max_connections = 1;
    let mut a = Agent::new(s, EPOCH);
    a.set_kernel_mac(KERNEL_MAC);
    let mut f = handoff_frame(1, handoff_repr(REQUEST));
    a.from_wire(&mut f, now);
    let mut h = handoff_repr(REQUEST);
    h.client = "198.18.0.2:40001".parse().unwrap();
    let mut f = handoff_frame(2, h);
    a.from_wire(&mut f, now);
    assert_eq!(handoff_result(&mut a), (2, HandoffResult::Busy));
    h.vip = "198.18.0.100:0".parse().unwrap();
    let mut f = handoff_frame(3, h);
    a.from_wire(&mut f, now);
    assert_eq!(handoff_result(&mut a).1, HandoffResult::Malformed);
    let mut junk = crate::frames::udp_frame(SPLICER_MAC, KERNEL_MAC, splicer(), listen(), b"SPHO");
    assert_eq!(a.from_wire(&mut junk, now), Verdict::Consumed);
    assert_eq!(a.counters.channel_malformed, 1);
}

#[test]
fn without_window_scaling_and_timestamps_nothing_is_scaled_or_shifted() {
    let now = Instant::now();
    let mut a = agent();
    // The client offered window scaling but Splicer did not answer with it: neither
    // side scales, so the kernel must not be offered it either; no timestamps.
    let mut h = handoff_repr(REQUEST);
    h.splicer_wscale = None;
    h.timestamps = false;
    h.sack_permitted = false;
    let mut f = handoff_frame(8, h);
    a.from_wire(&mut f, now);
    let (syn, _) = segment(&a.to_kernel.remove(0), client(), vip());
    assert_eq!(syn.options.window_scale, None);
    assert_eq!(syn.options.timestamp, None);
    assert!(!syn.options.sack_permitted);
    let mut o = TcpOptions::NONE;
    o.mss = Some(1460);
    let mut f = from_kernel_frame(
        &kernel_seg(seg(777, Some(1001), TcpFlags::SYN, 64240, o, 0)),
        &[],
    );
    assert_eq!(a.from_kernel(&mut f, now), Verdict::Consumed);
    let (ack, _) = segment(&a.to_kernel.remove(0), client(), vip());
    assert_eq!(ack.options.timestamp, None);
    let req_end = 1001 + REQUEST.len() as u32;
    let mut f = from_kernel_frame(
        &kernel_seg(seg(
            778,
            Some(req_end),
            TcpFlags::PSH,
            29200,
            TcpOptions::NONE,
            2,
        )),
        b"ok",
    );
    assert_eq!(a.from_kernel(&mut f, now), Verdict::Forward);
    let (r, payload) = segment(&f, vip(), client());
    assert_eq!(
        (r.seq, r.window, payload.as_slice()),
        (SeqNumber(5_000_001), 29200, &b"ok"[..])
    );
    assert_eq!(r.options.timestamp, None);
}

#[test]
fn channel_datagrams_from_anyone_but_the_fronts_are_dropped_unread() {
    let now = Instant::now();
    let mut a = agent();
    let stranger: SocketAddrV4 = "198.19.0.66:7470".parse().unwrap();
    let msg = Message {
        id: 1,
        body: Body::Handoff(handoff_repr(REQUEST)),
    };
    let mut d = vec![0u8; msg.buffer_len()];
    msg.emit(&mut d).unwrap();
    let mut f = crate::frames::udp_frame(SPLICER_MAC, KERNEL_MAC, stranger, listen(), &d);
    assert_eq!(a.from_wire(&mut f, now), Verdict::Consumed);
    assert_eq!(a.counters.channel_foreign, 1);
    assert_eq!(a.counters.handoffs, 0);
    assert!(a.to_kernel.is_empty(), "no SYN replayed for a stranger");
    assert!(a.to_wire.is_empty(), "no answer to a stranger");
    // The same HANDOFF from the front end is taken.
    let mut f = handoff_frame(1, handoff_repr(REQUEST));
    a.from_wire(&mut f, now);
    assert_eq!(a.counters.handoffs, 1);
}
