//! The routed mode (a `HANDOFF` naming the back end's own address): the connection is
//! replayed to that address, not the VIP; the kernel's answers leave from the VIP.

use super::tests::*;
use super::*;
use splicer_wire::handoff::{Body, HandoffRepr, HandoffResult};
use splicer_wire::tcp::{SeqNumber, TcpFlags, TcpOptions, TcpRepr};
use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

/// The back end's own address and the real's port (not the VIP's port, on purpose).
fn backend() -> SocketAddrV4 {
    "198.19.0.11:8080".parse().unwrap()
}

fn routed_repr() -> HandoffRepr<'static> {
    HandoffRepr {
        backend: Some(backend()),
        ..handoff_repr(REQUEST)
    }
}

/// A frame between the client and the back end's own address, as Splicer forwards the
/// client's segments (`to_kernel`) or as the kernel answers (`!to_kernel`).
fn frame(to_kernel: bool, mut r: TcpRepr, payload: &[u8]) -> Vec<u8> {
    let (c, b) = (client(), backend());
    if to_kernel {
        (r.src_port, r.dst_port) = (c.port(), b.port());
        client_frame(b, &r, payload)
    } else {
        (r.src_port, r.dst_port) = (b.port(), c.port());
        kernel_frame(b, &r, payload)
    }
}

#[test]
fn routed_handoff_replays_to_the_back_ends_address_and_answers_from_the_vip() {
    let now = Instant::now();
    let mut a = agent();

    // The SYN goes to the back end's own address and the real's port.
    let mut f = handoff_frame(7, routed_repr());
    assert_eq!(a.from_wire(&mut f, now), Verdict::Consumed);
    let (r, _) = segment(&a.to_kernel.remove(0), client(), backend());
    assert_eq!((r.flags, r.seq), (TcpFlags::SYN, SeqNumber(1000)));

    // The kernel's SYN-ACK from there is swallowed; the request goes in to the same
    // address; Splicer hears ok.
    let syn_ack = syn_ack_repr(7, false);
    let mut f = frame(false, syn_ack, &[]);
    assert_eq!(a.from_kernel(&mut f, now), Verdict::Consumed);
    let (r, payload) = segment(&a.to_kernel.remove(0), client(), backend());
    assert_eq!((r.seq, r.ack), (SeqNumber(1001), Some(SeqNumber(778))));
    assert_eq!(payload, REQUEST);
    let (id, body) = message(&a.to_wire.remove(0));
    assert_eq!(id, 7);
    assert!(matches!(
        body,
        Body::HandoffAck {
            result: HandoffResult::Ok,
            kernel_isn: 777,
            ..
        }
    ));

    // The kernel's answer: from the VIP's address and port, in Splicer's sequence
    // space and clock (checksums verified by `segment`).
    let req_end = 1001 + REQUEST.len() as u32;
    let body = b"HTTP/1.1 204 No Content\r\n\r\n";
    let n = body.len() as u32;
    let mut f = frame(false, response_seg(body), body);
    assert_eq!(a.from_kernel(&mut f, now), Verdict::Forward);
    let (r, payload) = segment(&f, vip(), client());
    assert_eq!(payload, body);
    assert_eq!(
        (r.seq, r.ack),
        (SeqNumber(5_000_001), Some(SeqNumber(req_end)))
    );
    assert_eq!(r.options.timestamp, Some((9010, 100)));

    // The client's segments, which Splicer rewrote to the back end's address: the ack
    // into the kernel's space, the addresses kept.
    let ack = seg(
        req_end,
        Some(5_000_001 + n),
        TcpFlags::FIN,
        600,
        ts(110, 9010),
        0,
    );
    let mut f = frame(true, ack, &[]);
    assert_eq!(a.from_wire(&mut f, now), Verdict::Forward);
    let (r, _) = segment(&f, client(), backend());
    assert_eq!(r.ack, Some(SeqNumber(778 + n)));
    assert_eq!(r.options.timestamp, Some((110, 50_010)));

    // A segment to the VIP is not this connection's (it would be the layer-2 mode's):
    // bridged untouched.
    let mut stray = from_client_frame(
        &client_seg(seg(
            req_end,
            Some(5_000_001),
            TcpFlags::empty(),
            600,
            TcpOptions::NONE,
            0,
        )),
        &[],
    );
    let bridged = a.counters.bridged_to_kernel;
    assert_eq!(a.from_wire(&mut stray, now), Verdict::Forward);
    assert_eq!(a.counters.bridged_to_kernel, bridged + 1);

    // The close: CLOSED names the VIP, as Splicer knows the connection.
    let fin = seg(
        778 + n,
        Some(req_end + 1),
        TcpFlags::FIN,
        100,
        ts(50_020, 110),
        0,
    );
    let mut f = frame(false, fin, &[]);
    assert_eq!(a.from_kernel(&mut f, now), Verdict::Forward);
    let last = seg(
        req_end + 1,
        Some(5_000_002 + n),
        TcpFlags::empty(),
        600,
        ts(120, 9020),
        0,
    );
    let mut f = frame(true, last, &[]);
    assert_eq!(a.from_wire(&mut f, now), Verdict::Forward);
    assert_eq!(a.counters.closed_fin, 1);
    let (_, body) = message(&a.to_wire.remove(0));
    assert_eq!(body, closed_fin());
    a.poll(now + Duration::from_secs(9));
    assert_eq!(a.connections(), 0);
}

#[test]
fn a_routed_handoff_with_port_zero_is_malformed_and_a_repeat_is_answered_alike() {
    let now = Instant::now();
    let mut a = agent();
    let mut h = routed_repr();
    h.backend = Some("198.19.0.11:0".parse().unwrap());
    let mut f = handoff_frame(1, h);
    a.from_wire(&mut f, now);
    assert_eq!(handoff_result(&mut a).1, HandoffResult::Malformed);
    assert!(a.to_kernel.is_empty());

    // The same client port to the same VIP in both modes: two kernel sockets, two
    // connections.
    let mut f = handoff_frame(2, routed_repr());
    a.from_wire(&mut f, now);
    let mut f = handoff_frame(3, handoff_repr(REQUEST));
    a.from_wire(&mut f, now);
    assert_eq!(a.connections(), 2);
    assert_eq!(a.counters.handoff_replaced, 0);
    // A resend of the routed one replays nothing new.
    let mut f = handoff_frame(2, routed_repr());
    a.from_wire(&mut f, now);
    assert_eq!(a.counters.handoff_repeats, 1);
    assert_eq!(a.counters.syn_replays, 2);
}
