//! The routed mode of `mode = "handoff"` (a real with `handoff_mode = "routed"`): the
//! HANDOFF names the back end's own address, and after it the client's segments are
//! rewritten from the VIP to that address (checksums valid) instead of forwarded by MAC.

use super::spliced::{frame, parse, Seg};
use super::*;
use crate::balance::{Farm, Mode, Predictor, Real, VirtualPolicy};
use splicer_wire::handoff::{Body, HandoffResult, Message, MAX_REQUEST_IN_1500_MTU};
use splicer_wire::udp;

const BACKEND: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 10);
const INSIDE: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 1);
const REAL_PORT: u16 = 8080;
const AGENT_PORT: u16 = 7470;
const CLIENT_PORT: u16 = 40000;
const CLIENT_ISN: u32 = 9000;
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
        let farm = Farm {
            reals: vec![real],
            virtuals: vec![v],
            urls: Vec::new(),
        };
        Bed {
            p: farm_pipeline(farm, (0, 1), settings(16), 32, &[BACKEND]),
            now: MS,
            iss: 0,
            to_agent: Vec::new(),
            to_backend: Vec::new(),
        }
    }

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

    fn poll(&mut self) {
        let mut out = Out::default();
        self.p.poll_timers(self.now, &mut out);
        self.take(out);
    }

    fn client_sends(&mut self, s: Seg) {
        let mut out = Out::default();
        let f = frame((CLIENT, CLIENT_PORT), (VIP, 80), &s);
        self.p.receive(0, f, self.now, &mut out);
        self.take(out);
    }

    fn agent_sends(&mut self, msg: &Message) {
        let mut d = vec![0u8; 8 + msg.buffer_len()];
        msg.emit(&mut d[8..]).unwrap();
        let len = d.len() as u16;
        let mut u = udp::Packet::new_unchecked(&mut d[..]);
        u.set_src_port(AGENT_PORT);
        u.set_dst_port(AGENT_PORT);
        u.set_len(len);
        u.fill_checksum(BACKEND, INSIDE);
        let mut f = ipv4_frame(BACKEND, INSIDE, ipv4::protocol::UDP, &d);
        f[..6].copy_from_slice(&[2, 0, 0, 0, 0, 2]);
        let mut out = Out::default();
        self.p.receive(1, f, self.now, &mut out);
        self.take(out);
    }

    fn messages(&self) -> Vec<Message<'_>> {
        self.to_agent
            .iter()
            .map(|m| Message::parse(m).unwrap())
            .collect()
    }
}

#[test]
fn a_routed_handoff_names_the_back_end_and_rewrites_the_client_to_it() {
    let mut b = Bed::new();
    b.poll();
    let hb = b.messages().last().map(|m| m.id).expect("a heartbeat");
    b.agent_sends(&Message {
        id: hb,
        body: Body::HeartbeatAck {
            epoch: 5,
            connections: 0,
        },
    });
    b.client_sends(Seg {
        seq: CLIENT_ISN,
        flags: tcp::flags::SYN,
        ts: Some((100, 0)),
        ..Seg::default()
    });
    let iss = b.iss;
    b.client_sends(Seg {
        seq: CLIENT_ISN + 1,
        ack: Some(iss + 1),
        ts: Some((101, 0)),
        payload: REQUEST.to_vec(),
        ..Seg::default()
    });
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
    let next = Seg {
        seq: CLIENT_ISN + 1 + REQUEST.len() as u32,
        ack: Some(iss + 1 + 5000),
        ts: Some((110, 0)),
        payload: b"GET /2 HTTP/1.1\r\n\r\n".to_vec(),
        ..Seg::default()
    };
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
