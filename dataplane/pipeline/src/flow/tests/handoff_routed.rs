//! The routed mode of `mode = "handoff"` (a real with `handoff_mode = "routed"`): the
//! HANDOFF names the back end's own address, and after it the client's segments are
//! rewritten from the VIP to that address (checksums valid) instead of forwarded by MAC.

use super::raw_bed::{
    after_request, agent_frame, heartbeat_ack, one_real_pipeline, request_seg, RawBed, AGENT_PORT,
    CLIENT_ISN, CLIENT_PORT, INSIDE, INSIDE_MAC,
};
use super::spliced::parse;
use super::*;
use crate::balance::{Mode, Predictor, Real, VirtualPolicy};
use splicer_wire::handoff::{Body, HandoffResult, Message, MAX_REQUEST_IN_1500_MTU};
use splicer_wire::udp;

const BACKEND: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 10);
const REAL_PORT: u16 = 8080;
const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: h\r\n\r\n";

struct Bed {
    p: Pipeline<Vec<u8>>,
    now: u64,
    iss: u32,
    /// Channel messages Splicer sent the agent (raw UDP payloads).
    to_agent: Vec<Vec<u8>>,
    /// Other frames to the back end (whole frames).
    to_backend: Vec<Vec<u8>>,
}

impl Bed {
    fn new() -> Bed {
        let mut v = VirtualPolicy::splice("web", Predictor::RoundRobin, vec![], vec![0]);
        v.mode = Mode::Handoff;
        let mut real = Real::new("b1", SocketAddrV4::new(BACKEND, REAL_PORT), 1, 0, 64);
        real.agent = Some(SocketAddrV4::new(BACKEND, AGENT_PORT));
        real.handoff_routed = true;
        Bed {
            p: one_real_pipeline(v, real),
            now: MS,
            iss: 0,
            to_agent: Vec::new(),
            to_backend: Vec::new(),
        }
    }

    fn agent_sends(&mut self, msg: &Message) {
        self.receive(1, agent_frame(BACKEND, INSIDE, INSIDE_MAC, msg));
    }

    fn messages(&self) -> Vec<Message<'_>> {
        self.to_agent
            .iter()
            .map(|m| Message::parse(m).unwrap())
            .collect()
    }
}

impl RawBed for Bed {
    fn take(&mut self, out: Out) {
        for f in out.tx {
            let ip = ipv4::Packet::new_checked(&f[L3_OFFSET..]).unwrap();
            if ip.protocol() == ipv4::protocol::UDP {
                let u = udp::Packet::new_checked(ip.payload()).unwrap();
                self.to_agent.push(u.payload().to_vec());
            } else if ip.dst_addr() == CLIENT {
                let (_, _, s) = parse(&f);
                if s.flags & tcp::flags::SYN != 0 {
                    self.iss = s.seq;
                }
            } else {
                self.to_backend.push(f);
            }
        }
    }

    fn raw(&mut self) -> (&mut Pipeline<Vec<u8>>, &mut u64, u32) {
        (&mut self.p, &mut self.now, self.iss)
    }
}

/// A routed bed whose agent is up and took the client's connection.
fn handed_off() -> Bed {
    let mut b = Bed::new();
    b.poll();
    let hb = b.messages().last().map(|m| m.id).expect("a heartbeat");
    b.agent_sends(&heartbeat_ack(hb, 5));
    let iss = b.client_syn();
    b.client_sends(request_seg(iss, 101, REQUEST));
    let id = b
        .messages()
        .iter()
        .find_map(|m| matches!(m.body, Body::Handoff(_)).then_some(m.id))
        .expect("a HANDOFF");
    b.agent_sends(&Message {
        id,
        body: Body::HandoffAck {
            result: HandoffResult::Ok,
            kernel_isn: 777,
            epoch: 5,
        },
    });
    assert_eq!(b.p.counters().snapshot().get(Counter::HandoffsOk), 1);
    b.to_backend.clear();
    b
}

/// The destination address and port, and the flags, of a frame to the back end (its
/// checksums verified).
fn to_backend(f: &[u8]) -> (Ipv4Addr, u16, u8, u32) {
    assert_eq!(&f[..6], &PEER_MAC.0, "to the back end's (next hop's) MAC");
    let ip = ipv4::Packet::new_checked(&f[L3_OFFSET..]).unwrap();
    assert!(ip.verify_checksum());
    assert_eq!(ip.src_addr(), CLIENT);
    let t = tcp::Packet::new_checked(ip.payload()).unwrap();
    assert_eq!(t.src_port(), CLIENT_PORT);
    let (_, _, s) = parse(f);
    (ip.dst_addr(), t.dst_port(), s.flags, s.seq)
}

#[test]
fn an_agent_gone_silent_has_its_routed_back_end_reset_at_its_own_address() {
    let mut b = handed_off();
    b.advance(3_100);
    assert_eq!(b.p.counters().snapshot().get(Counter::AgentDowns), 1);
    let resets: Vec<_> = b.to_backend.iter().map(|f| to_backend(f)).collect();
    let next = CLIENT_ISN + 1 + REQUEST.len() as u32;
    assert_eq!(
        resets,
        vec![(BACKEND, REAL_PORT, tcp::flags::RST, next)],
        "where the kernel holds the connection, not the VIP"
    );
    assert_eq!(
        b.p.counters().snapshot().get(Counter::HandoffBackEndResets),
        1
    );
}

#[test]
fn a_reload_changing_handoff_mode_leaves_handed_off_connections_as_they_were() {
    let mut b = handed_off();
    let iss = b.iss;
    // The real turns to the layer-2 mode: the connection handed off routed stays routed.
    b.reconfigure(|f| f.reals[0].handoff_routed = false);
    b.client_sends(after_request(
        REQUEST,
        iss + 1 + 100,
        b"GET /2 HTTP/1.1\r\n\r\n",
    ));
    assert_eq!(b.to_backend.len(), 1);
    let (dst, port, _, _) = to_backend(&b.to_backend[0]);
    assert_eq!(
        (dst, port),
        (BACKEND, REAL_PORT),
        "still rewritten to the back end"
    );
    // Its RST, when the agent goes, too.
    b.to_backend.clear();
    b.advance(3_100);
    let (dst, port, flags, _) = to_backend(&b.to_backend[0]);
    assert_eq!((dst, port, flags), (BACKEND, REAL_PORT, tcp::flags::RST));
}

#[test]
fn a_routed_handoff_names_the_back_end_and_rewrites_the_client_to_it() {
    let mut b = Bed::new();
    b.poll();
    let hb = b.messages().last().map(|m| m.id).expect("a heartbeat");
    b.agent_sends(&heartbeat_ack(hb, 5));
    let iss = b.client_syn();
    b.client_sends(request_seg(iss, 101, REQUEST));
    // The HANDOFF carries the back end's own address and the real's port.
    let (id, backend) = b
        .messages()
        .iter()
        .find_map(|m| match m.body {
            Body::Handoff(h) => Some((m.id, h.backend)),
            _ => None,
        })
        .expect("a HANDOFF");
    assert_eq!(backend, Some(SocketAddrV4::new(BACKEND, REAL_PORT)));
    b.agent_sends(&Message {
        id,
        body: Body::HandoffAck {
            result: HandoffResult::Ok,
            kernel_isn: 777,
            epoch: 5,
        },
    });
    assert_eq!(b.p.counters().snapshot().get(Counter::HandoffsOk), 1);

    // A later client segment: to the back end's address and port, seq/ack untouched
    // (the agent translates the ack), checksums valid (`parse` verifies the TCP one).
    let next = after_request(REQUEST, iss + 1 + 5000, b"GET /2 HTTP/1.1\r\n\r\n");
    b.to_backend.clear();
    b.client_sends(next.clone());
    assert_eq!(b.to_backend.len(), 1);
    let f = &b.to_backend[0];
    assert_eq!(&f[..6], &PEER_MAC.0, "to the back end's (next hop's) MAC");
    let ip = ipv4::Packet::new_checked(&f[L3_OFFSET..]).unwrap();
    assert!(ip.verify_checksum());
    assert_eq!((ip.src_addr(), ip.dst_addr()), (CLIENT, BACKEND));
    let t = tcp::Packet::new_checked(ip.payload()).unwrap();
    assert_eq!((t.src_port(), t.dst_port()), (CLIENT_PORT, REAL_PORT));
    let (_, _, s) = parse(f);
    assert_eq!((s.seq, s.ack, s.ts), (next.seq, next.ack, next.ts));
    assert_eq!(s.payload, next.payload);
    let snap = b.p.counters().snapshot();
    assert_eq!(snap.get(Counter::HandedOffForwarded), 1);
    assert_eq!(snap.get(Counter::HandedOffRouted), 1);
}

#[test]
fn a_routed_handoff_leaves_room_for_its_trailer() {
    let b = Bed::new();
    assert_eq!(b.p.handoff_max_request(0), MAX_REQUEST_IN_1500_MTU - 6);
}
