//! `mode = "handoff"` virtuals against hand-made packets: a raw client outside, and
//! inside a raw agent that answers heartbeats and HANDOFFs as the test says; byte-exact
//! checks of the HANDOFF, of what is forwarded to the back end, and of what the client
//! gets when a handoff fails or its agent goes.

use super::raw_bed::{
    after_request, agent_frame, client_frame, closed, heartbeat_ack, one_real_pipeline,
    request_seg, RawBed, AGENT_PORT, CLIENT_ISN, CLIENT_PORT, INSIDE, INSIDE_MAC,
};
use super::spliced::{parse, Seg};
use super::*;
use crate::balance::{Mode, Predictor, Real, VirtualPolicy};
use splicer_wire::handoff::{Body, CloseReason, HandoffResult, Message};
use splicer_wire::udp;

const SERVER: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 10);
const EPOCH: u64 = 0xA6E1;
const REQUEST: &[u8] = b"GET /big HTTP/1.1\r\nHost: h\r\n\r\n";
const SYN: u8 = tcp::flags::SYN;
const RST: u8 = tcp::flags::RST;

/// An owned copy of a message the agent received.
#[derive(Debug, Clone, PartialEq)]
enum Got {
    Heartbeat {
        id: u32,
    },
    Handoff {
        id: u32,
        client_isn: u32,
        splicer_isn: u32,
        request: Vec<u8>,
        ts: bool,
        tsval: u32,
    },
    ClosedAck {
        id: u32,
    },
}

struct Bed {
    p: Pipeline<Vec<u8>>,
    now: u64,
    /// Splicer's ISN towards the client.
    iss: u32,
    to_agent: Vec<Got>,
    to_client: Vec<Seg>,
    /// Frames sent to the back end's MAC that are not for the agent: the client's,
    /// forwarded (whole frames).
    forwarded: Vec<Vec<u8>>,
    /// Segments to the real's plain address (the splice fallback).
    to_server: Vec<Seg>,
}

impl Bed {
    /// A handoff virtual binding one real with an agent, keeping `pool` connections.
    fn new(pool: u16) -> Bed {
        let mut v = VirtualPolicy::splice("web", Predictor::RoundRobin, vec![], vec![0]);
        v.mode = Mode::Handoff;
        let mut real = Real::new("b1", SocketAddrV4::new(SERVER, 80), 1, pool, 64);
        real.agent = Some(SocketAddrV4::new(SERVER, AGENT_PORT));
        Bed {
            p: one_real_pipeline(v, real),
            now: MS,
            iss: 0,
            to_agent: Vec::new(),
            to_client: Vec::new(),
            forwarded: Vec::new(),
            to_server: Vec::new(),
        }
    }

    /// A bed keeping `pool` connections whose agent is up and whose client sent its
    /// request: the HANDOFF is out.
    fn handing_off(pool: u16) -> Bed {
        let mut b = Bed::new(pool);
        b.agent_up(EPOCH);
        b.connect_and_request(REQUEST);
        b
    }

    /// A bed (no pool) whose agent is up and took the client's connection.
    fn handed_off() -> Bed {
        let mut b = Bed::handing_off(0);
        b.ack_handoff(HandoffResult::Ok, EPOCH);
        b
    }

    fn count(&self, c: Counter) -> u64 {
        self.p.counters().snapshot().get(c)
    }

    /// A datagram from the agent carrying `msg`.
    fn agent_sends(&mut self, msg: &Message) {
        self.agent_sends_on(1, INSIDE, msg);
    }

    /// A datagram claiming to be the agent's, carrying `msg`, to `dst` on `port`.
    fn agent_sends_on(&mut self, port: u16, dst: Ipv4Addr, msg: &Message) {
        let port_mac = [2, 0, 0, 0, 0, 1 + port as u8];
        self.receive(port, agent_frame(SERVER, dst, port_mac, msg));
    }

    /// The first poll sends a heartbeat; the agent answers it with `epoch`.
    fn agent_up(&mut self, epoch: u64) {
        self.poll();
        let id = self
            .to_agent
            .iter()
            .rev()
            .find_map(|g| match g {
                Got::Heartbeat { id } => Some(*id),
                _ => None,
            })
            .expect("a heartbeat");
        self.agent_sends(&heartbeat_ack(id, epoch));
    }

    fn handoffs(&self) -> Vec<Got> {
        self.to_agent
            .iter()
            .filter(|g| matches!(g, Got::Handoff { .. }))
            .cloned()
            .collect()
    }

    fn handoff_id(&self) -> u32 {
        match self.handoffs().first() {
            Some(Got::Handoff { id, .. }) => *id,
            _ => panic!("no HANDOFF sent"),
        }
    }

    fn ack_handoff(&mut self, result: HandoffResult, epoch: u64) {
        let id = self.handoff_id();
        self.agent_sends(&Message {
            id,
            body: Body::HandoffAck {
                result,
                kernel_isn: 777,
                epoch,
            },
        });
    }

    fn client_payload(&self) -> Vec<u8> {
        self.to_client
            .iter()
            .flat_map(|s| s.payload.clone())
            .collect()
    }

    fn flows(&self) -> usize {
        self.p.flows().len()
    }
}

impl RawBed for Bed {
    fn take(&mut self, out: Out) {
        for f in out.tx {
            if f[12..14] == [0x08, 0x06] {
                // ARP: a neighbour refreshed (a test that lets minutes pass).
                continue;
            }
            let ip = ipv4::Packet::new_checked(&f[L3_OFFSET..]).unwrap();
            if ip.protocol() == ipv4::protocol::UDP {
                assert_eq!(ip.dst_addr(), SERVER);
                assert_eq!(ip.src_addr(), INSIDE, "from the inside port's address");
                assert_eq!(&f[..6], &PEER_MAC.0, "to the agent's MAC");
                let u = udp::Packet::new_checked(ip.payload()).unwrap();
                assert!(u.verify_checksum(INSIDE, SERVER));
                assert_eq!((u.src_port(), u.dst_port()), (AGENT_PORT, AGENT_PORT));
                let m = Message::parse(u.payload()).unwrap();
                self.to_agent.push(match m.body {
                    Body::Heartbeat { .. } => Got::Heartbeat { id: m.id },
                    Body::Handoff(h) => {
                        assert_eq!(h.client, SocketAddrV4::new(CLIENT, CLIENT_PORT));
                        assert_eq!(h.vip, SocketAddrV4::new(VIP, 80));
                        Got::Handoff {
                            id: m.id,
                            client_isn: h.client_isn,
                            splicer_isn: h.splicer_isn,
                            request: h.request.to_vec(),
                            ts: h.timestamps,
                            tsval: h.client_tsval,
                        }
                    }
                    Body::ClosedAck => Got::ClosedAck { id: m.id },
                    other => panic!("Splicer sent {other:?}"),
                });
                continue;
            }
            if ip.dst_addr() == VIP {
                self.forwarded.push(f);
                continue;
            }
            let (dst, _, s) = parse(&f);
            if dst == CLIENT {
                if s.flags & SYN != 0 {
                    self.iss = s.seq;
                }
                self.to_client.push(s);
            } else {
                assert_eq!(dst, SERVER);
                self.to_server.push(s);
            }
        }
    }

    fn raw(&mut self) -> (&mut Pipeline<Vec<u8>>, &mut u64, u32) {
        (&mut self.p, &mut self.now, self.iss)
    }
}

/// A bed whose handed-off connection stays silent for `tcp_idle_timeout` (2 s, the
/// agent's dead time far away) and is forgotten.
fn handed_off_then_idle() -> Bed {
    let mut b = Bed::new(0);
    b.p.settings.flow.tcp_idle_timeout = 2_000 * MS;
    b.p.settings.flow.agent_dead_time = 60_000 * MS;
    b.agent_up(EPOCH);
    b.connect_and_request(REQUEST);
    b.ack_handoff(HandoffResult::Ok, EPOCH);
    b.advance(2_100);
    assert_eq!(b.count(Counter::HandedOffIdleTimeouts), 1);
    b
}

#[test]
fn handoff_ok_forwards_the_client_by_mac_and_closed_frees_it() {
    let mut b = Bed::new(0);
    b.poll();
    let q = b.p.counters().quality(0);
    assert_eq!(q.agent, crate::quality::AGENT_DOWN, "no answer yet");
    b.agent_up(EPOCH);
    assert_eq!(b.count(Counter::AgentUps), 1);
    b.advance(1);
    let q = b.p.counters().quality(0);
    assert_eq!((q.agent, q.agent_epoch), (crate::quality::AGENT_UP, EPOCH));
    b.connect_and_request(REQUEST);
    let iss = b.iss;
    assert_eq!(
        b.handoffs(),
        vec![Got::Handoff {
            id: b.handoff_id(),
            client_isn: CLIENT_ISN,
            splicer_isn: iss,
            request: REQUEST.to_vec(),
            ts: true,
            tsval: 102,
        }]
    );
    assert_eq!(b.count(Counter::HandoffsStarted), 1);
    // While the agent works, the client's retransmission is dropped, unanswered.
    let sent_to_client = b.to_client.len();
    b.client_sends(request_seg(iss, 103, REQUEST));
    assert_eq!(b.to_client.len(), sent_to_client);
    assert_eq!(b.count(Counter::HandoffClientDropped), 1);

    b.ack_handoff(HandoffResult::Ok, EPOCH);
    assert_eq!(b.count(Counter::HandoffsOk), 1);
    assert_eq!(
        b.p.counters().real_row(0)[RealCounter::Handoffs as usize],
        1
    );
    // A later client segment goes to the back end as it came, only the MACs changed.
    let next = after_request(REQUEST, iss + 1 + 5000, b"GET /2 HTTP/1.1\r\n\r\n");
    let sent = client_frame(&next);
    b.client_sends(next);
    assert_eq!(b.forwarded.len(), 1);
    let f = &b.forwarded[0];
    assert_eq!(&f[..6], &PEER_MAC.0, "to the back end's MAC");
    assert_eq!(&f[6..12], &[2, 0, 0, 0, 0, 2], "from the inside port's MAC");
    assert_eq!(&f[12..], &sent[12..], "IP header and segment untouched");
    assert_eq!(b.count(Counter::HandedOffForwarded), 1);
    assert_eq!(b.to_client.len(), sent_to_client, "Splicer answers nothing");

    // The agent reports the end; Splicer acknowledges it with its id and forgets it.
    let closed = closed(0x55, CloseReason::Fin);
    b.agent_sends(&closed);
    assert_eq!(b.to_agent.last(), Some(&Got::ClosedAck { id: 0x55 }));
    assert_eq!(b.count(Counter::HandedOffClosed), 1);
    assert_eq!(b.flows(), 0);
    // A repeated CLOSED is acknowledged again and changes nothing.
    b.agent_sends(&closed);
    assert_eq!(b.to_agent.last(), Some(&Got::ClosedAck { id: 0x55 }));
    assert_eq!(b.count(Counter::HandedOffClosed), 1);
}

#[test]
fn unanswered_handoff_is_resent_then_answered_503_without_a_pool() {
    let mut b = Bed::handing_off(0);
    assert_eq!(b.handoffs().len(), 1);
    b.advance(350);
    let ids: Vec<u32> = b
        .handoffs()
        .iter()
        .map(|g| match g {
            Got::Handoff { id, .. } => *id,
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(ids.len(), 4, "sent, then again every 100 ms");
    assert!(ids.iter().all(|&i| i == ids[0]), "the same message id");
    assert_eq!(b.count(Counter::HandoffRetransmits), 3);
    assert!(b.client_payload().is_empty());
    // The agent still answers heartbeats, but never this HANDOFF.
    b.advance(700);
    assert_eq!(b.count(Counter::HandoffFailedTimeout), 1);
    assert_eq!(b.count(Counter::Handoff503), 1);
    assert!(
        b.client_payload().starts_with(b"HTTP/1.1 503"),
        "{:?}",
        String::from_utf8_lossy(&b.client_payload())
    );
    // A late acknowledgement changes nothing.
    b.ack_handoff(HandoffResult::Ok, EPOCH);
    assert_eq!(b.count(Counter::HandoffsOk), 0);
}

#[test]
fn unanswered_handoff_falls_back_to_a_splice_when_the_real_is_pooled() {
    let mut b = Bed::handing_off(2);
    b.advance(1_050);
    assert_eq!(b.count(Counter::HandoffFailedTimeout), 1);
    assert_eq!(b.count(Counter::HandoffFallbackSplice), 1);
    assert_eq!(b.count(Counter::Handoff503), 0);
    assert!(b.client_payload().is_empty(), "no 503");
    assert!(
        b.to_server.iter().any(|s| s.flags & SYN != 0),
        "server connections opened to the real's plain address"
    );
    assert_eq!(b.count(Counter::SpliceRequests), 1);
}

#[test]
fn refused_handoff_falls_back_at_once() {
    let mut b = Bed::handing_off(0);
    b.ack_handoff(HandoffResult::Refused, EPOCH);
    assert_eq!(b.count(Counter::HandoffFailedRefused), 1);
    assert!(b.client_payload().starts_with(b"HTTP/1.1 503"));
}

#[test]
fn an_agent_that_never_answered_gets_no_handoff() {
    let mut b = Bed::new(0);
    b.connect_and_request(REQUEST);
    assert!(b.handoffs().is_empty());
    assert_eq!(b.count(Counter::HandoffFailedAgentDown), 1);
    assert!(b.client_payload().starts_with(b"HTTP/1.1 503"));
}

/// The client's answer to Splicer's probe: a duplicate ACK at its next expected byte.
fn probe_answered_with_a_reset(b: &mut Bed) {
    let iss = b.iss;
    let probe = b.to_client.last().cloned().expect("a probe");
    assert_eq!(probe.seq, iss, "before the client's window");
    assert_eq!(probe.flags & RST, 0);
    assert_eq!(b.flows(), 0);
    let expected = iss + 1 + 70_000;
    b.client_sends(Seg {
        seq: CLIENT_ISN + 1 + REQUEST.len() as u32,
        ack: Some(expected),
        ts: Some((200, 0)),
        ..Seg::default()
    });
    let rst = b.to_client.last().unwrap();
    assert_eq!((rst.flags & RST, rst.seq), (RST, expected));
}

#[test]
fn a_restarted_agent_gets_its_clients_reset() {
    let mut b = Bed::handed_off();
    assert_eq!(b.flows(), 1);
    b.advance(1_001);
    // The next heartbeat's answer carries another epoch.
    b.agent_up(EPOCH + 1);
    assert_eq!(b.count(Counter::AgentRestarts), 1);
    assert_eq!(b.count(Counter::HandoffResets), 1);
    probe_answered_with_a_reset(&mut b);
}

#[test]
fn a_silent_agent_goes_down_and_its_clients_are_reset() {
    let mut b = Bed::handed_off();
    b.advance(2_900);
    assert_eq!(b.count(Counter::AgentDowns), 0);
    b.advance(200);
    assert_eq!(b.count(Counter::AgentDowns), 1);
    assert_eq!(b.count(Counter::HandoffResets), 1);
    probe_answered_with_a_reset(&mut b);
    // It answers again, a new process: up (again) and restarted.
    b.advance(1_000);
    b.agent_up(EPOCH + 1);
    assert_eq!(b.count(Counter::AgentUps), 2);
    assert_eq!(b.count(Counter::AgentRestarts), 1);
}

#[test]
fn a_handed_off_connection_idle_for_tcp_idle_timeout_is_forgotten() {
    let b = handed_off_then_idle();
    assert_eq!(b.flows(), 0);
}

#[test]
fn datagrams_from_strangers_or_to_other_ports_are_dropped() {
    let mut b = Bed::new(0);
    b.poll();
    // Right port, but not from the agent's address.
    let stranger = Ipv4Addr::new(198, 19, 0, 66);
    let f = agent_frame(stranger, INSIDE, INSIDE_MAC, &heartbeat_ack(1, 1));
    let mut out = Out::default();
    b.p.receive(1, f, b.now, &mut out);
    assert_eq!(b.count(Counter::DropAgentMessage), 1);
    assert_eq!(b.count(Counter::AgentUps), 0);
}

#[test]
fn a_forged_restart_or_closed_from_outside_changes_nothing() {
    let mut b = Bed::handed_off();
    assert_eq!(b.flows(), 1);
    let outside = b.p.topology.port(0).cidr.addr;
    // The agent's address and port as the source, but in through the outside port, to
    // either port's address: a new epoch there would reset the handed-off client.
    for dst in [outside, INSIDE] {
        b.agent_sends_on(0, dst, &heartbeat_ack(7, EPOCH + 1));
        b.agent_sends_on(0, dst, &closed(8, CloseReason::Fin));
    }
    // In through the inside port but to the outside port's address: forged as well.
    b.agent_sends_on(1, outside, &heartbeat_ack(9, EPOCH + 1));
    assert_eq!(b.count(Counter::DropAgentSpoofed), 5);
    assert_eq!(b.count(Counter::AgentRestarts), 0);
    assert_eq!(b.count(Counter::HandoffResets), 0);
    assert_eq!(b.flows(), 1, "the handed-off connection is kept");
    // The real agent's own restart still counts.
    b.advance(1_001);
    b.agent_up(EPOCH + 1);
    assert_eq!(b.count(Counter::AgentRestarts), 1);
    assert_eq!(b.count(Counter::HandoffResets), 1);
}

mod ends;
mod lost;
mod probe;
