//! Handed-off connections and their real's `maxconns`, a real set `failed`, the
//! graceful stop (`flow::handoff_end`), and the channel with two workers
//! (`flow::channel_steer`).

use super::super::spliced::frame;
use super::*;
use crate::balance::Status;

/// A second client (port 40001): handshake and request; returns Splicer's ISN to it.
fn second_client(b: &mut Bed) -> u32 {
    let send = |b: &mut Bed, s: Seg| b.receive(0, frame((CLIENT, CLIENT_PORT + 1), (VIP, 80), &s));
    let first_iss = b.iss;
    send(
        b,
        Seg {
            seq: 500,
            flags: SYN,
            ..Seg::default()
        },
    );
    let iss = b.iss;
    b.iss = first_iss;
    send(
        b,
        Seg {
            seq: 501,
            ack: Some(iss + 1),
            payload: REQUEST.to_vec(),
            ..Seg::default()
        },
    );
    iss
}

/// A client segment after the handoff: `data` bytes at its next sequence number,
/// acknowledging `acked` bytes of the back end's response.
fn client_after_handoff(b: &mut Bed, acked: u32, data: &[u8]) {
    let iss = b.iss;
    b.client_sends(after_request(REQUEST, iss + 1 + acked, data));
}

/// The RST Splicer sent the back end in the client's name, if any: its sequence number.
fn reset_to_back_end(b: &Bed) -> Option<u32> {
    b.forwarded.iter().find_map(|f| {
        let (dst, _, s) = parse(f);
        assert_eq!(dst, VIP, "in the client's name, to the VIP");
        assert_eq!(&f[..6], &PEER_MAC.0, "to the back end's MAC");
        (s.flags & RST != 0).then_some(s.seq)
    })
}

#[test]
fn a_handed_off_connection_takes_a_slot_of_maxconns_until_it_closes() {
    let mut b = Bed::new(0);
    b.reconfigure(|f| f.reals[0].maxconns = 1);
    b.agent_up(EPOCH);
    b.connect_and_request(REQUEST);
    assert_eq!(b.inflight(), 1, "charged from the HANDOFF on");
    b.ack_handoff(HandoffResult::Ok, EPOCH);
    assert_eq!(b.inflight(), 1);
    // The real is full: the second client's request waits in the queue.
    second_client(&mut b);
    assert_eq!(b.handoffs().len(), 1, "no second HANDOFF");
    assert!(b.to_server.is_empty());
    b.poll();
    assert_eq!(b.p.counters().queued(0), 1);
    b.agent_sends(&closed(0x55, CloseReason::Fin));
    // The slot came free: the queued request takes it.
    assert_eq!(b.count(Counter::HandedOffClosed), 1);
    assert!(
        b.to_server.iter().any(|s| s.flags & SYN != 0),
        "the queued request is placed on the real"
    );
    assert_eq!(b.inflight(), 1, "now charged to its server connection");
}

#[test]
fn a_failed_or_timed_out_handoff_frees_its_slot() {
    let mut b = Bed::handing_off(0);
    assert_eq!(b.inflight(), 1);
    b.ack_handoff(HandoffResult::Refused, EPOCH);
    assert!(b.client_payload().starts_with(b"HTTP/1.1 503"));
    assert_eq!(b.inflight(), 0);
}

#[test]
fn a_client_reset_or_idle_timeout_frees_the_slot() {
    let mut b = handed_off_then_idle();
    assert_eq!(b.inflight(), 0);
}

#[test]
fn a_real_set_failed_resets_its_handed_off_clients_at_both_ends() {
    let mut b = Bed::handed_off();
    client_after_handoff(&mut b, 5_000, b"0123456789");
    assert_eq!(b.forwarded.len(), 1);
    b.reconfigure(|f| f.reals[0].status = Status::Failed);
    assert_eq!(
        reset_to_back_end(&b),
        Some(CLIENT_ISN + 1 + REQUEST.len() as u32 + 10),
        "at the client's next byte: what the back end's kernel expects"
    );
    assert!(b.count(Counter::ResetFailed) >= 1);
    assert_eq!(b.inflight(), 0);
    // The client: the probe, whose answer gets the RST it accepts.
    probe_answered_with_a_reset(&mut b);
    // The agent reports the reset connection closed: acknowledged, nothing else.
    b.agent_sends(&closed(0x56, CloseReason::Rst));
    assert_eq!(b.to_agent.last(), Some(&Got::ClosedAck { id: 0x56 }));
    assert_eq!(b.count(Counter::HandedOffClosed), 0);
}

#[test]
fn a_real_set_failed_during_the_handoff_answers_503() {
    let mut b = Bed::handing_off(2);
    b.reconfigure(|f| f.reals[0].status = Status::Failed);
    assert_eq!(b.count(Counter::Handoff503), 1);
    assert!(b.client_payload().starts_with(b"HTTP/1.1 503"));
    assert_eq!(
        b.count(Counter::HandoffFallbackSplice),
        0,
        "no splice to it"
    );
    assert_eq!(b.inflight(), 0);
    let sent = b.handoffs().len();
    b.advance(300);
    assert_eq!(b.handoffs().len(), sent, "the HANDOFF is not sent again");
    b.ack_handoff(HandoffResult::Ok, EPOCH);
    assert_eq!(
        b.count(Counter::HandoffsOk),
        0,
        "a late acknowledgement is ignored"
    );
}

#[test]
fn out_of_service_leaves_handed_off_connections_alone() {
    let mut b = Bed::handed_off();
    b.reconfigure(|f| f.reals[0].status = Status::OutOfService);
    assert_eq!(b.flows(), 1);
    assert_eq!(reset_to_back_end(&b), None);
    client_after_handoff(&mut b, 100, b"");
    assert_eq!(b.count(Counter::HandedOffForwarded), 1, "still forwarded");
}

#[test]
fn a_graceful_stop_waits_for_handed_off_connections() {
    let mut b = Bed::handing_off(0);
    assert_eq!(b.p.busy_clients(), 1, "a handoff under way is busy");
    b.ack_handoff(HandoffResult::Ok, EPOCH);
    let mut out = Out::default();
    b.p.start_stopping(b.now, &mut out);
    b.take(out);
    assert_eq!(b.p.busy_clients(), 1, "handed off: still forwarded");
    assert!(b.forwarded.is_empty() && b.client_payload().is_empty());
    b.agent_sends(&closed(0x57, CloseReason::Fin));
    assert_eq!(b.p.busy_clients(), 0);
}

#[test]
fn the_end_of_a_stop_resets_handed_off_connections_at_both_ends() {
    let mut b = Bed::handed_off();
    client_after_handoff(&mut b, 70_000, b"");
    let mut out = Out::default();
    b.p.shutdown(b.now, &mut out);
    b.take(out);
    assert_eq!(
        reset_to_back_end(&b),
        Some(CLIENT_ISN + 1 + REQUEST.len() as u32)
    );
    let iss = b.iss;
    let rst = b.to_client.last().unwrap();
    assert_eq!(
        (rst.flags & RST, rst.seq),
        (RST, iss + 1 + 70_000),
        "at the client's latest acknowledgement"
    );
    assert_eq!(b.count(Counter::StopResets), 1);
}

/// A sink that records which worker each handed-over frame went to.
#[derive(Default)]
struct Handed {
    tx: Vec<Vec<u8>>,
    to: Vec<usize>,
}

impl Sink<Vec<u8>> for Handed {
    fn transmit(&mut self, _port: u16, pkt: Vec<u8>) {
        self.tx.push(pkt);
    }
    fn handoff(&mut self, worker: usize, _pkt: Vec<u8>) {
        self.to.push(worker);
    }
    fn discard(&mut self, _pkt: Vec<u8>) {}
    fn alloc(&mut self) -> Option<Vec<u8>> {
        Some(Vec::new())
    }
    fn publish_neighbour(&mut self, _update: NeighbourUpdate) {}
}

/// A frame from the agent carrying `msg`, in through the inside port.
fn from_agent(msg: &Message) -> Vec<u8> {
    agent_frame(SERVER, INSIDE, INSIDE_MAC, msg)
}

#[test]
fn with_two_workers_each_runs_its_channel_and_answers_reach_the_one_that_asked() {
    let mut b = Bed::new(0);
    let farm = b.p.topology().farm().clone();
    let mut p = farm_pipeline(farm, (1, 2), settings(16), 32, &[SERVER]);
    // Worker 1 sends heartbeats of its own, its index in the ids' top byte.
    let mut out = Handed::default();
    p.poll_timers(MS, &mut out);
    let beat = out
        .tx
        .iter()
        .find_map(|f| {
            let ip = ipv4::Packet::new_checked(&f[L3_OFFSET..]).ok()?;
            let u = udp::Packet::new_checked(ip.payload()).ok()?;
            Message::parse(u.payload()).ok().map(|m| m.id)
        })
        .expect("worker 1 sends a heartbeat");
    assert_eq!(beat >> 24, 1);
    let ack = |id| heartbeat_ack(id, EPOCH);
    // Its own answer is taken here, whichever queue it came in on...
    let mut out = Handed::default();
    p.receive(1, from_agent(&ack(beat)), 2 * MS, &mut out);
    assert!(out.to.is_empty());
    assert_eq!(p.counters().snapshot().get(Counter::AgentUps), 1);
    // ...worker 0's goes to worker 0.
    p.receive(1, from_agent(&ack(7)), 2 * MS, &mut out);
    assert_eq!(out.to, vec![0]);
    // A CLOSED goes to the owner of the client's connection.
    let mut owners = Vec::new();
    for port in 40000..40016u16 {
        let closed = Message {
            id: 3,
            body: Body::Closed {
                client: SocketAddrV4::new(CLIENT, port),
                vip: SocketAddrV4::new(VIP, 80),
                reason: CloseReason::Fin,
            },
        };
        let mut out = Handed::default();
        p.receive(1, from_agent(&closed), 3 * MS, &mut out);
        let key = crate::lookup::FlowKey::new(ipv4::protocol::TCP, (CLIENT, port), (VIP, 80));
        let owner = key.owner(2);
        assert_eq!(out.to, if owner == 1 { vec![] } else { vec![0] });
        owners.push(owner);
    }
    assert!(owners.contains(&0) && owners.contains(&1));
    b.poll();
}

#[test]
fn a_reload_to_the_routed_mode_leaves_a_layer_2_handoff_forwarded_by_mac() {
    let mut b = Bed::handed_off();
    b.reconfigure(|f| f.reals[0].handoff_routed = true);
    client_after_handoff(&mut b, 100, b"GET /2 HTTP/1.1\r\n\r\n");
    let f = b.forwarded.last().expect("forwarded");
    let (dst, _, _) = parse(f);
    assert_eq!(dst, VIP, "still to the VIP, as handed off");
    assert_eq!(
        &f[L3_OFFSET + 22..L3_OFFSET + 24],
        &80u16.to_be_bytes(),
        "its port"
    );
    assert_eq!(&f[..6], &PEER_MAC.0, "at the back end's MAC");
    assert_eq!(b.count(Counter::HandedOffRouted), 0);
}
