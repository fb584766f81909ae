//! `mode = "tcp"` virtuals (L4 pass-through) against hand-made segments: a raw client
//! outside, a raw server inside that accepts, refuses or ignores Splicer's SYN, and
//! byte-exact checks of what each side receives.

use super::spliced::{frame, parse, Seg};
use super::*;
use crate::balance::{Farm, Mode, Predictor, Real, Status, VirtualPolicy};
use crate::topology::Topology;

const SERVER: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 10);
const INSIDE: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 1);
const SERVER_ISN: u32 = 7_000_000;
const CLIENT_ISN: u32 = 3000;
const SMTP: u16 = 25;

/// What the raw server does with Splicer's SYN.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Answer {
    Accept,
    Refuse,
    /// Nothing (unreachable, or a SYN-ACK the test sends later).
    Silent,
}

struct Bed {
    p: Pipeline<Vec<u8>>,
    now: u64,
    answer: Answer,
    /// Splicer's port on the server connection (0: none yet).
    sport: u16,
    syns: usize,
    /// The next byte the server expects, in its own terms.
    server_rcv: u32,
    /// The server's next sequence number.
    server_snd: u32,
    server_got: Vec<u8>,
    server_fin: bool,
    server_rst: bool,
    /// Splicer's ISN towards the client.
    iss: u32,
    client_rcv: u32,
    client_got: Vec<u8>,
    client_fin: bool,
    client_rst: bool,
    to_server: Vec<Seg>,
    to_client: Vec<Seg>,
}

impl Bed {
    /// A tcp virtual on port 25 binding one real of `maxconns`, not pooled.
    fn new(answer: Answer, maxconns: u16) -> Bed {
        Bed::with_settings(answer, maxconns, settings(16))
    }

    fn with_settings(answer: Answer, maxconns: u16, flow: FlowSettings) -> Bed {
        Bed::with_forward(answer, maxconns, flow, splicer_http::ForwardFor::Off)
    }

    fn with_forward(
        answer: Answer,
        maxconns: u16,
        flow: FlowSettings,
        forward_for: splicer_http::ForwardFor,
    ) -> Bed {
        let mut v = VirtualPolicy::splice("mail", Predictor::RoundRobin, vec![], vec![0]);
        v.mode = Mode::Tcp;
        let farm = Farm {
            reals: vec![Real::new(
                "m0",
                SocketAddrV4::new(SERVER, SMTP),
                1,
                0,
                maxconns,
            )],
            virtuals: vec![v],
            urls: Vec::new(),
        };
        let service = Service {
            address: SocketAddrV4::new(VIP, 80),
            virtual_index: 0,
            max_request_head: HEAD_LIMIT,
            max_pipeline: 32,
            max_held: Service::DEFAULT_MAX_HELD,
            forward_for,
            server_close: Default::default(),
        };
        let p = farm_pipeline_service(farm, (0, 1), flow, service, &[SERVER]);
        Bed {
            p,
            now: MS,
            answer,
            sport: 0,
            syns: 0,
            server_rcv: 0,
            server_snd: SERVER_ISN + 1,
            server_got: Vec::new(),
            server_fin: false,
            server_rst: false,
            iss: 0,
            client_rcv: 0,
            client_got: Vec::new(),
            client_fin: false,
            client_rst: false,
            to_server: Vec::new(),
            to_client: Vec::new(),
        }
    }

    fn take(&mut self, out: Out) {
        for f in out.tx {
            let (dst, sport, s) = parse(&f);
            if dst == CLIENT {
                self.client_takes(s);
                continue;
            }
            assert_eq!(dst, SERVER);
            self.to_server.push(s.clone());
            if s.flags & SYN != 0 {
                self.syns += 1;
                self.sport = sport;
                self.server_rcv = s.seq.wrapping_add(1);
                match self.answer {
                    Answer::Accept => self.server_sends_flags(SYN, SERVER_ISN),
                    Answer::Refuse => {
                        let rst = Seg {
                            seq: 0,
                            ack: Some(s.seq.wrapping_add(1)),
                            flags: RST,
                            ..Seg::default()
                        };
                        self.deliver_from_server(rst);
                    }
                    Answer::Silent => {}
                }
                continue;
            }
            assert_eq!(sport, self.sport, "one server connection");
            if s.flags & RST != 0 {
                self.server_rst = true;
                continue;
            }
            let mut progressed = false;
            if !s.payload.is_empty() && s.seq == self.server_rcv {
                self.server_got.extend_from_slice(&s.payload);
                self.server_rcv = self.server_rcv.wrapping_add(s.payload.len() as u32);
                progressed = true;
            }
            if s.flags & FIN != 0 && s.seq.wrapping_add(s.payload.len() as u32) == self.server_rcv {
                self.server_fin = true;
                self.server_rcv = self.server_rcv.wrapping_add(1);
                progressed = true;
            }
            if progressed {
                let snd = self.server_snd;
                self.server_sends_flags(0, snd);
            }
        }
    }

    fn client_takes(&mut self, s: Seg) {
        if s.flags & SYN != 0 {
            self.iss = s.seq;
            self.client_rcv = s.seq.wrapping_add(1);
        } else if s.flags & RST != 0 {
            self.client_rst = true;
        } else {
            if !s.payload.is_empty() && s.seq == self.client_rcv {
                self.client_got.extend_from_slice(&s.payload);
                self.client_rcv = self.client_rcv.wrapping_add(s.payload.len() as u32);
            }
            if s.flags & FIN != 0 && s.seq.wrapping_add(s.payload.len() as u32) == self.client_rcv {
                self.client_fin = true;
                self.client_rcv = self.client_rcv.wrapping_add(1);
            }
        }
        self.to_client.push(s);
    }

    fn deliver_from_server(&mut self, s: Seg) {
        let mut f = frame((SERVER, SMTP), (INSIDE, self.sport), &s);
        f[..6].copy_from_slice(&[2, 0, 0, 0, 0, 2]); // the inside port's MAC
        let mut out = Out::default();
        self.p.receive(1, f, self.now, &mut out);
        self.take(out);
    }

    fn server_sends_flags(&mut self, flags: u8, seq: u32) {
        let s = Seg {
            seq,
            ack: Some(self.server_rcv),
            flags,
            ..Seg::default()
        };
        self.deliver_from_server(s);
    }

    /// The server sends `data` (and a FIN with `fin`).
    fn server_sends(&mut self, data: &[u8], fin: bool) {
        let s = Seg {
            seq: self.server_snd,
            ack: Some(self.server_rcv),
            flags: PSH | if fin { FIN } else { 0 },
            payload: data.to_vec(),
            ..Seg::default()
        };
        self.server_snd = self
            .server_snd
            .wrapping_add(data.len() as u32 + u32::from(fin));
        self.deliver_from_server(s);
    }

    fn client_sends(&mut self, s: Seg) {
        let f = frame((CLIENT, 40000), (VIP, 80), &s);
        let mut out = Out::default();
        self.p.receive(0, f, self.now, &mut out);
        self.take(out);
    }

    /// The client's handshake; returns its next sequence number.
    fn connect(&mut self) -> u32 {
        self.client_sends(Seg {
            seq: CLIENT_ISN,
            flags: SYN,
            ..Seg::default()
        });
        assert_ne!(self.iss, 0, "SYN-ACK");
        self.client_sends(Seg {
            seq: CLIENT_ISN + 1,
            ack: Some(self.iss.wrapping_add(1)),
            ..Seg::default()
        });
        CLIENT_ISN + 1
    }

    /// The client sends `data` at `seq` (with a FIN when `fin`), acknowledging what it
    /// has received.
    fn client_data(&mut self, seq: u32, data: &[u8], fin: bool) {
        let ack = self.client_rcv;
        self.client_sends(Seg {
            seq,
            ack: Some(ack),
            flags: PSH | if fin { FIN } else { 0 },
            payload: data.to_vec(),
            ..Seg::default()
        });
    }

    fn tick(&mut self, ms: u64) {
        self.now += ms * MS;
        let mut out = Out::default();
        self.p.poll_timers(self.now, &mut out);
        self.take(out);
    }

    fn count(&self, c: Counter) -> u64 {
        self.p.counters().snapshot().get(c)
    }
}

/// An SMTP-like server speaks first: its connection is opened when the client's
/// handshake completes, its banner reaches the silent client byte for byte, and the
/// dialogue goes on both ways; nothing was ever pooled.
#[test]
fn a_server_that_speaks_first_is_heard_at_once() {
    let mut b = Bed::new(Answer::Accept, 8);
    assert_eq!(b.syns, 0, "no pooled connection to a tcp-only real");
    let seq = b.connect();
    assert_eq!(b.syns, 1, "the server connection opens with the handshake");
    assert_eq!(b.count(Counter::TunnelSplices), 1);
    b.server_sends(b"220 mail ready\r\n", false);
    assert_eq!(b.client_got, b"220 mail ready\r\n");
    b.client_data(seq, b"EHLO x\r\n", false);
    assert_eq!(b.server_got, b"EHLO x\r\n");
    b.server_sends(b"250 ok\r\n", false);
    assert_eq!(b.client_got, b"220 mail ready\r\n250 ok\r\n");
    assert_eq!(b.count(Counter::TunnelBytesUp), 8);
    assert_eq!(b.count(Counter::TunnelBytesDown), 24);
    let all = crate::flow::FlowFilter {
        limit: 10,
        ..Default::default()
    };
    let (rows, _) = b.p.list_flows(&all, b.now);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state, "tunnel");
    assert_eq!(rows[0].real, Some(0));
    assert!(rows[0].server_local.is_some());
}

/// A client that speaks first (TLS) before the server connection is up: its bytes
/// are acknowledged by Splicer, sent by it once the server answers, and its
/// retransmission of them never reaches the server twice.
#[test]
fn client_bytes_before_the_server_answers_are_sent_once() {
    let mut b = Bed::new(Answer::Silent, 8);
    let seq = b.connect();
    assert_eq!(b.syns, 1);
    b.client_data(seq, b"\x16\x03\x01hello", false);
    let acked = b.to_client.last().and_then(|s| s.ack);
    assert_eq!(acked, Some(seq + 8), "Splicer took the early bytes");
    assert!(b.server_got.is_empty());
    // The server answers the SYN now.
    b.server_sends_flags(SYN, SERVER_ISN);
    assert_eq!(b.server_got, b"\x16\x03\x01hello");
    // The client sends the same bytes again (its ACK lost) and more after them.
    b.client_data(seq, b"\x16\x03\x01hello", false);
    b.client_data(seq + 8, b"more", false);
    assert_eq!(b.server_got, b"\x16\x03\x01hellomore");
    b.server_sends(b"\x16\x03\x03server", false);
    assert_eq!(b.client_got, b"\x16\x03\x03server");
}

/// `forward_for = "proxy-v2"`: the server connection starts with a PROXY protocol v2
/// header naming the client and the VIP, then the client's early bytes; the sequence
/// translation covers the header both ways (later client bytes arrive in order, the
/// server's acknowledgement of them reaches the client as its own numbers).
#[test]
fn a_proxy_v2_header_starts_the_server_connection() {
    let mut b = Bed::with_forward(
        Answer::Silent,
        8,
        settings(16),
        splicer_http::ForwardFor::ProxyV2,
    );
    let seq = b.connect();
    b.client_data(seq, b"\x16\x03\x01hello", false);
    b.server_sends_flags(SYN, SERVER_ISN);
    let (repr, len) = splicer_wire::proxy::ProxyV2Repr::parse(&b.server_got).expect("PROXY v2");
    assert_eq!(len, splicer_wire::proxy::IPV4_LEN);
    assert_eq!(repr.source, SocketAddrV4::new(CLIENT, 40000));
    assert_eq!(repr.destination, SocketAddrV4::new(VIP, 80));
    assert_eq!(&b.server_got[len..], b"\x16\x03\x01hello");
    assert_eq!(b.count(Counter::ProxyHeadersSent), 1);
    b.client_data(seq + 8, b"more", false);
    assert_eq!(&b.server_got[len..], b"\x16\x03\x01hellomore");
    b.server_sends(b"\x16\x03\x03server", false);
    assert_eq!(b.client_got, b"\x16\x03\x03server");
    // The server's ACK of everything, translated, acknowledges the client's 12 bytes.
    let acks: Vec<u32> = b.to_client.iter().filter_map(|s| s.ack).collect();
    assert_eq!(acks.iter().max(), Some(&(seq + 12)));
    // Without the setting: no header.
    let mut plain = Bed::new(Answer::Accept, 8);
    let seq = plain.connect();
    plain.client_data(seq, b"x", false);
    assert_eq!(plain.server_got, b"x");
    assert_eq!(plain.count(Counter::ProxyHeadersSent), 0);
}

/// Half-close both ways: the client's FIN reaches the server, which still sends; the
/// server's FIN then ends the connection, and both legs are forgotten once each FIN is
/// acknowledged.
#[test]
fn half_close_goes_through_and_the_end_frees_both_legs() {
    let mut b = Bed::new(Answer::Accept, 8);
    let seq = b.connect();
    b.client_data(seq, b"request", true);
    assert_eq!(b.server_got, b"request");
    assert!(b.server_fin, "the client's FIN went through");
    assert!(!b.client_fin);
    b.server_sends(b"answer after the client's FIN", false);
    assert_eq!(b.client_got, b"answer after the client's FIN");
    b.server_sends(b"", true);
    assert!(b.client_fin);
    assert_eq!(b.p.flows().len(), 2, "the client's last ACK is still due");
    // The client's last ACK.
    let ack = b.client_rcv;
    b.client_sends(Seg {
        seq: seq + 8,
        ack: Some(ack),
        ..Seg::default()
    });
    assert_eq!(b.p.flows().len(), 0);
    assert_eq!(b.count(Counter::TunnelsClosed), 1);
    assert!(!b.server_rst && !b.client_rst);
    // Every timer entry of the two legs comes due and goes (none is left forever).
    b.tick(301_000);
    assert_eq!(b.p.timers.len(), 0, "stale timer entries");
    assert!(!b.server_rst && !b.client_rst);
}

/// The server half-closes first: the client still sends, and the server gets it.
#[test]
fn a_server_fin_leaves_the_client_sending() {
    let mut b = Bed::new(Answer::Accept, 8);
    let seq = b.connect();
    b.server_sends(b"bye", true);
    assert!(b.client_fin);
    b.client_data(seq, b"still talking", false);
    assert_eq!(b.server_got, b"still talking");
    b.client_data(seq + 13, b"", true);
    assert!(b.server_fin);
    assert_eq!(b.p.flows().len(), 0, "both FINs acknowledged");
}

/// A real that refuses (RST to the SYN): the client is reset at once, counted, and
/// the real is held off.
#[test]
fn a_refusing_server_resets_the_client_at_once() {
    let mut b = Bed::new(Answer::Refuse, 8);
    b.connect();
    assert!(b.client_rst);
    assert_eq!(b.count(Counter::TunnelRefused), 1);
    assert_eq!(b.p.flows().len(), 0);
    // The next client finds the real held off: reset without a SYN.
    b.client_rst = false;
    b.iss = 0;
    b.connect();
    assert!(b.client_rst);
    assert_eq!(b.syns, 1);
    assert_eq!(b.count(Counter::TunnelNoServer), 1);
}

/// A real that never answers: after `connect_timeout` the client is reset.
#[test]
fn an_unreachable_server_resets_the_client_after_connect_timeout() {
    let mut b = Bed::new(Answer::Silent, 8);
    b.connect();
    b.tick(2_000);
    assert!(!b.client_rst, "the SYN is retried within connect_timeout");
    assert!(b.syns >= 2);
    b.tick(1_500);
    assert!(b.client_rst);
    assert_eq!(b.count(Counter::TunnelConnectTimeouts), 1);
    assert_eq!(b.p.flows().len(), 0);
}

/// RSTs: a blind one far off the window is dropped; one in the window goes through
/// and ends both legs.
#[test]
fn resets_go_through_only_in_the_window() {
    let mut b = Bed::new(Answer::Accept, 8);
    let seq = b.connect();
    b.client_data(seq, b"abc", false);
    b.client_sends(Seg {
        seq: seq.wrapping_add(1 << 30),
        flags: RST,
        ..Seg::default()
    });
    assert!(!b.server_rst, "blind RST dropped");
    assert_eq!(b.p.flows().len(), 2);
    b.client_sends(Seg {
        seq: seq + 3,
        flags: RST,
        ..Seg::default()
    });
    assert!(b.server_rst);
    let rst = b.to_server.last().expect("RST");
    assert_eq!(rst.seq, b.server_rcv, "at the byte the server expects");
    assert_eq!(b.p.flows().len(), 0);
    assert_eq!(b.count(Counter::TunnelClientResets), 1);

    // The server resets another connection: its client hears it.
    let mut b = Bed::new(Answer::Accept, 8);
    b.connect();
    b.server_sends(b"x", false);
    let snd = b.server_snd;
    b.server_sends_flags(RST, snd);
    assert!(b.client_rst);
    assert_eq!(b.count(Counter::TunnelServerResets), 1);
    assert_eq!(b.p.flows().len(), 0);
}

/// Silence for `tcp_idle_timeout` resets both sides; traffic keeps it alive.
#[test]
fn an_idle_tunnel_is_reset_on_both_sides() {
    let flow = FlowSettings {
        tcp_idle_timeout: 5_000 * MS,
        ..settings(16)
    };
    let mut b = Bed::with_settings(Answer::Accept, 8, flow);
    let seq = b.connect();
    b.tick(4_000);
    b.client_data(seq, b"ping", false);
    b.tick(4_000);
    assert!(!b.client_rst, "traffic 4 s ago");
    b.tick(1_500);
    assert!(b.client_rst && b.server_rst);
    assert_eq!(b.count(Counter::TunnelIdleTimeouts), 1);
    assert_eq!(b.p.flows().len(), 0);
}

/// `maxconns` bounds the concurrent connections to a real: one more is reset.
#[test]
fn maxconns_bounds_concurrent_tunnels() {
    let mut b = Bed::new(Answer::Accept, 1);
    b.connect();
    assert_eq!(b.count(Counter::TunnelSplices), 1);
    // A second client (another port).
    let f = frame(
        (CLIENT, 40001),
        (VIP, 80),
        &Seg {
            seq: 1,
            flags: SYN,
            ..Seg::default()
        },
    );
    let mut out = Out::default();
    b.p.receive(0, f, b.now, &mut out);
    let (_, _, syn_ack) = parse(&out.tx[0]);
    let f = frame(
        (CLIENT, 40001),
        (VIP, 80),
        &Seg {
            seq: 2,
            ack: Some(syn_ack.seq.wrapping_add(1)),
            ..Seg::default()
        },
    );
    let mut out = Out::default();
    b.p.receive(0, f, b.now, &mut out);
    let (_, _, rst) = parse(&out.tx[0]);
    assert_ne!(rst.flags & RST, 0);
    assert_eq!(b.count(Counter::TunnelFull), 1);
    assert_eq!(b.syns, 1);
}

/// An out-of-service real takes no new connection: reset, counted.
#[test]
fn no_server_resets_the_client() {
    let mut b = Bed::new(Answer::Accept, 8);
    let mut topo = Topology::clone(b.p.topology());
    let mut farm = topo.farm().clone();
    farm.reals[0].status = Status::OutOfService;
    topo = topo.with_farm(farm);
    let now = b.now;
    b.p.set_topology(Arc::new(topo), now, &mut Out::default());
    b.connect();
    assert!(b.client_rst);
    assert_eq!(b.syns, 0);
    assert_eq!(b.count(Counter::TunnelNoServer), 1);
}
