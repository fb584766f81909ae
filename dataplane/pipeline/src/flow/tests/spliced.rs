//! A splice against hand-made segments on both legs: a raw client on the outside and a
//! raw server on the inside, so that a test can send what no TCP stack would (old
//! timestamps, stale ACKs, retransmissions with other bytes) and see exactly what
//! reaches the server.

use super::*;
use crate::balance::{Farm, Predictor, Real, VirtualPolicy};

const SERVER: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 10);
const INSIDE: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 1);
const SERVER_ISN: u32 = 5_000_000;
const CLIENT_ISN: u32 = 1000;

/// One TCP segment as either peer sends or receives it.
#[derive(Debug, Clone, Default)]
pub(super) struct Seg {
    pub(super) seq: u32,
    pub(super) ack: Option<u32>,
    pub(super) flags: u8,
    pub(super) ts: Option<(u32, u32)>,
    pub(super) payload: Vec<u8>,
}

pub(super) fn frame(src: (Ipv4Addr, u16), dst: (Ipv4Addr, u16), s: &Seg) -> Vec<u8> {
    let mut opts = [0u8; 12];
    let n = tcp::emit_options(&mut opts, None, false, s.ts, None);
    let len = tcp::HEADER_LEN + n + s.payload.len();
    let mut seg = vec![0u8; len];
    let mut t = tcp::Packet::new_unchecked(&mut seg[..]);
    t.set_src_port(src.1);
    t.set_dst_port(dst.1);
    t.set_seq_number(SeqNumber(s.seq));
    t.set_ack_number(SeqNumber(s.ack.unwrap_or(0)));
    t.set_header_len(tcp::HEADER_LEN + n);
    t.set_flags(s.flags | if s.ack.is_some() { tcp::flags::ACK } else { 0 });
    t.set_window_len(64_000);
    t.options_mut().copy_from_slice(&opts[..n]);
    t.payload_mut().copy_from_slice(&s.payload);
    t.fill_checksum(src.0, dst.0);
    ipv4_frame(src.0, dst.0, ipv4::protocol::TCP, &seg)
}

pub(super) fn parse(frame: &[u8]) -> (Ipv4Addr, u16, Seg) {
    let ip = ipv4::Packet::new_checked(&frame[L3_OFFSET..]).unwrap();
    let t = tcp::Packet::new_checked(ip.payload()).unwrap();
    assert!(t.verify_checksum(ip.src_addr(), ip.dst_addr()));
    let mut s = Seg {
        seq: t.seq_number().0,
        ack: t.ack().then(|| t.ack_number().0),
        flags: t.flags() & !tcp::flags::ACK,
        ts: None,
        payload: t.payload().to_vec(),
    };
    for o in tcp::options(t.options()) {
        if let TcpOption::Timestamp { tsval, tsecr } = o.unwrap().1 {
            s.ts = Some((tsval, tsecr));
        }
    }
    (ip.dst_addr(), t.src_port(), s)
}

/// Splicer between a raw client and a raw server that takes in-order bytes only.
struct Bed {
    p: Pipeline<Vec<u8>>,
    now: u64,
    /// Splicer's port on the server connection, and its ISN there.
    local_port: u16,
    /// The next byte the server expects, in its own terms.
    server_rcv: u32,
    /// What the server received, in order.
    server_got: Vec<u8>,
    /// Every segment Splicer sent the server.
    to_server: Vec<Seg>,
    /// Every segment Splicer sent the client.
    to_client: Vec<Seg>,
    /// The next data segment the server gets is lost (never reaches its TCP).
    lose_next: bool,
    /// The server's other connections (a pool of more than one): Splicer's port → the
    /// next byte the server expects and what it received, in order.
    others: std::collections::BTreeMap<u16, (u32, Vec<u8>)>,
}

impl Bed {
    fn new() -> Bed {
        Bed::with_pool(1)
    }

    /// A bed whose real keeps `pool` connections open.
    fn with_pool(pool: u16) -> Bed {
        Bed::with(pool, Service::DEFAULT_MAX_PIPELINE)
    }

    /// A bed whose real keeps `pool` connections open, with at most `max_pipeline`
    /// requests of one client in flight.
    fn with(pool: u16, max_pipeline: u16) -> Bed {
        let farm = Farm {
            reals: vec![Real::new("s0", SocketAddrV4::new(SERVER, 80), 1, pool, 8)],
            virtuals: vec![VirtualPolicy::splice(
                "www",
                Predictor::RoundRobin,
                vec![],
                vec![0],
            )],
            urls: Vec::new(),
        };
        let p = farm_pipeline(farm, (0, 1), settings(16), max_pipeline, &[SERVER]);
        let mut b = Bed {
            p,
            now: MS,
            local_port: 0,
            server_rcv: 0,
            server_got: Vec::new(),
            to_server: Vec::new(),
            to_client: Vec::new(),
            lose_next: false,
            others: Default::default(),
        };
        // The pool opens its connection; the server accepts it.
        let mut out = Out::default();
        b.p.poll_timers(b.now, &mut out);
        b.take(out);
        assert_ne!(b.local_port, 0, "a pooled connection opened");
        b
    }

    /// Splicer's output: the server answers its SYN and ACKs in-order data.
    fn take(&mut self, out: Out) {
        for f in out.tx {
            let (dst, sport, s) = parse(&f);
            if dst == CLIENT {
                self.to_client.push(s);
                continue;
            }
            assert_eq!(dst, SERVER);
            self.to_server.push(s.clone());
            if s.flags & SYN != 0 {
                // The first connection is the one the tests follow; later ones (pool
                // refills) are accepted and left alone.
                let first = self.local_port == 0 || self.local_port == sport;
                if first {
                    self.local_port = sport;
                    self.server_rcv = s.seq.wrapping_add(1);
                } else {
                    self.others
                        .insert(sport, (s.seq.wrapping_add(1), Vec::new()));
                }
                let syn_ack = Seg {
                    seq: SERVER_ISN,
                    ack: Some(s.seq.wrapping_add(1)),
                    flags: SYN,
                    ts: s.ts.map(|(v, _)| (77, v)),
                    payload: vec![],
                };
                let f = frame((SERVER, 80), (INSIDE, sport), &syn_ack);
                self.deliver_from_server(f);
            } else if let Some((rcv, got)) = self.others.get_mut(&sport) {
                if !s.payload.is_empty() {
                    let skip = rcv.wrapping_sub(s.seq) as usize;
                    if skip < s.payload.len() {
                        got.extend_from_slice(&s.payload[skip..]);
                        *rcv = s.seq.wrapping_add(s.payload.len() as u32);
                    }
                    let ack = Seg {
                        seq: SERVER_ISN + 1,
                        ack: Some(*rcv),
                        ts: Some((78, 0)),
                        ..Seg::default()
                    };
                    let f = frame((SERVER, 80), (INSIDE, sport), &ack);
                    self.deliver_from_server(f);
                }
            } else if sport != self.local_port {
                continue;
            } else if !s.payload.is_empty() {
                if std::mem::take(&mut self.lose_next) {
                    continue;
                }
                let end = s.seq.wrapping_add(s.payload.len() as u32);
                let skip = self.server_rcv.wrapping_sub(s.seq) as usize;
                if skip < s.payload.len() {
                    self.server_got.extend_from_slice(&s.payload[skip..]);
                    self.server_rcv = end;
                }
                let ack = self.server_ack();
                self.server_sends(ack);
            }
        }
    }

    /// The server's ACK of what it has.
    fn server_ack(&self) -> Seg {
        Seg {
            seq: SERVER_ISN + 1,
            ack: Some(self.server_rcv),
            ts: Some((78, 0)),
            ..Seg::default()
        }
    }

    fn server_sends(&mut self, s: Seg) {
        let f = frame((SERVER, 80), (INSIDE, self.local_port), &s);
        self.deliver_from_server(f);
    }

    /// A frame from the server to Splicer's inside port.
    fn deliver_from_server(&mut self, mut f: Vec<u8>) {
        f[..6].copy_from_slice(&[2, 0, 0, 0, 0, 2]); // the inside port's MAC
        let mut out = Out::default();
        self.p.receive(1, f, self.now, &mut out);
        self.take(out);
    }

    fn client_sends(&mut self, s: Seg) {
        let f = frame((CLIENT, 40000), (VIP, 80), &s);
        let mut out = Out::default();
        self.p.receive(0, f, self.now, &mut out);
        self.take(out);
    }

    fn count(&self, c: Counter) -> u64 {
        self.p.counters().snapshot().get(c)
    }

    /// A client with timestamps connects and sends `head`; returns Splicer's ISN on
    /// the client leg.
    fn client_sends_head(&mut self, head: &[u8]) -> u32 {
        self.client_sends(Seg {
            seq: CLIENT_ISN,
            flags: SYN,
            ts: Some((5000, 0)),
            ..Seg::default()
        });
        let iss = self.to_client.last().expect("SYN-ACK").seq;
        self.client_sends(Seg {
            seq: CLIENT_ISN + 1,
            ack: Some(iss + 1),
            ts: Some((5001, 0)),
            ..Seg::default()
        });
        self.client_sends(Seg {
            seq: CLIENT_ISN + 1,
            ack: Some(iss + 1),
            flags: PSH,
            ts: Some((5002, 0)),
            payload: head.to_vec(),
        });
        assert_eq!(
            self.server_got,
            head,
            "the head reached the server: {:?} {:?} {}",
            self.to_server,
            self.to_client,
            self.p
                .counters()
                .snapshot()
                .iter()
                .filter(|&(_, v)| v > 0)
                .map(|(k, v)| format!("{k}={v} "))
                .collect::<String>()
        );
        iss
    }
}

const CHUNKED_HEAD: &[u8] = b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";

fn data(seq: u32, ack: u32, tsval: u32, payload: &[u8]) -> Seg {
    Seg {
        seq,
        ack: Some(ack),
        flags: PSH,
        ts: Some((tsval, 0)),
        payload: payload.to_vec(),
    }
}

/// A chunked body segment the server never got comes again with another chunk size:
/// Splicer's framer read "5", the server would read "9" and find another body end.
/// The splice is reset on both legs and the server never sees the other bytes.
#[test]
fn a_retransmission_with_other_framing_bytes_resets_the_splice() {
    let mut b = Bed::new();
    let iss = b.client_sends_head(CHUNKED_HEAD);
    let body_seq = CLIENT_ISN + 1 + CHUNKED_HEAD.len() as u32;
    b.lose_next = true;
    b.client_sends(data(body_seq, iss + 1, 5003, b"5\r\nhello\r\n"));
    assert_eq!(b.server_got, CHUNKED_HEAD, "lost on the way");
    // Other data bytes, the same framing: forwarded, taken.
    b.client_sends(data(body_seq, iss + 1, 5004, b"5\r\nHELLO\r\n"));
    assert!(b.server_got.ends_with(b"5\r\nHELLO\r\n"));
    assert_eq!(b.count(Counter::ClientRetransmitMismatch), 0);
    // The next segment is lost too, and comes again with another size.
    let next = body_seq + 10;
    b.lose_next = true;
    b.client_sends(data(next, iss + 1, 5005, b"3\r\nabc\r\n"));
    let sent_before = b.to_server.len();
    b.client_sends(data(next, iss + 1, 5006, b"9\r\nabc\r\n"));
    assert_eq!(b.count(Counter::ClientRetransmitMismatch), 1);
    assert!(!b.server_got.windows(3).any(|w| w == b"9\r\n"));
    let after: Vec<&Seg> = b.to_server[sent_before..].iter().collect();
    assert!(after.iter().all(|s| s.payload.is_empty()), "{after:?}");
    assert!(
        after.iter().any(|s| s.flags & RST != 0),
        "the server leg is reset"
    );
    assert!(b.to_client.last().is_some_and(|s| s.flags & RST != 0));
}

/// A segment with an older timestamp than the client's latest would be dropped by the
/// server's PAWS check: Splicer drops it before its framer sees it, so the same
/// bytes with a current timestamp are framed once, as the server takes them.
#[test]
fn paws_applies_on_a_splice_before_the_framer() {
    let mut b = Bed::new();
    let iss = b.client_sends_head(CHUNKED_HEAD);
    let body_seq = CLIENT_ISN + 1 + CHUNKED_HEAD.len() as u32;
    let sent_before = b.to_server.len();
    b.client_sends(data(body_seq, iss + 1, 4000, b"5\r\nhello\r\n"));
    assert_eq!(b.count(Counter::DropTcpPaws), 1);
    assert_eq!(b.to_server.len(), sent_before, "nothing forwarded");
    let dup = b.to_client.last().expect("a duplicate ACK");
    assert_eq!(
        dup.ack,
        Some(body_seq),
        "the body's start, as the server ACKed it"
    );
    b.client_sends(data(body_seq, iss + 1, 5003, b"9\r\nhello\r\n"));
    assert_eq!(b.count(Counter::ClientRetransmitMismatch), 0);
    assert!(b.server_got.ends_with(b"9\r\nhello\r\n"));
}

/// A client ACK older than its latest is forwarded as its latest: a server drops a
/// segment whose ACK is more than a window old, with the bytes the framer read.
#[test]
fn a_stale_client_ack_reaches_the_server_as_the_latest() {
    let mut b = Bed::new();
    let iss = b.client_sends_head(CHUNKED_HEAD);
    let body_seq = CLIENT_ISN + 1 + CHUNKED_HEAD.len() as u32;
    // The server answers early with part of a response; the client acknowledges it.
    let part = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789".to_vec();
    let rsp = Seg {
        seq: SERVER_ISN + 1,
        ack: Some(b.server_rcv),
        flags: PSH,
        ts: Some((79, 0)),
        payload: part.clone(),
    };
    b.server_sends(rsp);
    let at_client = b.to_client.last().expect("relayed").clone();
    assert_eq!(at_client.payload, part);
    let latest = at_client.seq + part.len() as u32;
    b.client_sends(Seg {
        seq: body_seq,
        ack: Some(latest),
        ts: Some((5003, 0)),
        ..Seg::default()
    });
    // Body bytes with the ACK of before the response.
    b.client_sends(data(body_seq, iss + 1, 5004, b"5\r\nhello\r\n"));
    let fwd = b.to_server.last().expect("forwarded");
    assert_eq!(fwd.payload, b"5\r\nhello\r\n");
    assert_eq!(fwd.ack, Some(SERVER_ISN + 1 + part.len() as u32));
}

/// A client that sends its request and then never acknowledges the response is given
/// up `send_timeout` (30 s) after its last progress once the response has started, not
/// only when it has been idle for `client_idle_timeout` (60 s): the response's first
/// bytes bring its deadline forward, even when its timer entry was already pushed out
/// to the idle deadline (here by the polls before the server answers).
#[test]
fn a_silent_reader_is_reset_after_send_timeout() {
    let mut b = Bed::new();
    let get = b"GET /big HTTP/1.1\r\nHost: a\r\n\r\n";
    b.client_sends_head(get);
    let poll = |b: &mut Bed, s: u64| {
        b.now = MS + s * 1000 * MS;
        let mut out = Out::default();
        b.p.poll_timers(b.now, &mut out);
        b.take(out);
        b.count(Counter::SendTimeouts)
    };
    // The server takes its time; the client's early timer entries fire meanwhile.
    assert_eq!(poll(&mut b, 5), 0);
    assert_eq!(poll(&mut b, 11), 0);
    b.now = MS + 12_000 * MS;
    let part = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n0123456789".to_vec();
    b.server_sends(Seg {
        seq: SERVER_ISN + 1,
        ack: Some(b.server_rcv),
        flags: PSH,
        ts: Some((79, 0)),
        payload: part,
    });
    assert!(b.to_client.last().is_some_and(|s| s.payload.len() > 40));
    assert_eq!(poll(&mut b, 20), 0);
    assert_eq!(
        poll(&mut b, 31),
        1,
        "reset at send_timeout, not at the idle timeout"
    );
    assert!(b.to_client.last().is_some_and(|s| s.flags & RST != 0));
}

/// The server's response segment at response offset `off` (its own seq space).
fn response(b: &Bed, off: u32, tsval: u32, bytes: &[u8]) -> Seg {
    Seg {
        seq: SERVER_ISN + 1 + off,
        ack: Some(b.server_rcv),
        flags: PSH,
        ts: Some((tsval, 0)),
        payload: bytes.to_vec(),
    }
}

const GET_A: &[u8] = b"GET /a HTTP/1.1\r\nHost: a\r\n\r\n";
const GET_B: &[u8] = b"GET /b HTTP/1.1\r\nHost: a\r\n\r\n";
const RSP_A: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\naaa";

/// A request pipelined while the response before it is on its way is taken and
/// acknowledged by Splicer at once (the client never sends it again), and reaches the
/// server as soon as that response is complete and acknowledged.
#[test]
fn a_pipelined_request_is_acknowledged_and_sent_after_the_response() {
    let mut b = Bed::new();
    let iss = b.client_sends_head(GET_A);
    let next = CLIENT_ISN + 1 + GET_A.len() as u32;
    b.server_sends(response(&b, 0, 79, &RSP_A[..10]));
    b.client_sends(data(next, iss + 1, 5003, GET_B));
    assert_eq!(b.server_got, GET_A, "not sent before the response ends");
    let ack = b.to_client.last().expect("an ACK").clone();
    assert_eq!(
        ack.ack,
        Some(next + GET_B.len() as u32),
        "{:?}",
        b.to_client
    );
    assert!(ack.payload.is_empty());
    assert_eq!(b.count(Counter::ClientDataPipelined), 1);
    assert_eq!(b.count(Counter::ClientDataDeferred), 0);
    // The rest of the response carries Splicer's ACK of the pipelined request too.
    b.server_sends(response(&b, 10, 80, &RSP_A[10..]));
    let rest = b.to_client.last().expect("relayed").clone();
    assert_eq!(rest.payload, &RSP_A[10..]);
    assert_eq!(rest.ack, Some(next + GET_B.len() as u32));
    // The client acknowledges the whole response: /b goes to the server.
    let end = rest.seq + rest.payload.len() as u32;
    b.client_sends(Seg {
        seq: next + GET_B.len() as u32,
        ack: Some(end),
        ts: Some((5004, 0)),
        ..Seg::default()
    });
    assert_eq!(b.server_got, [GET_A, GET_B].concat());
    assert_eq!(b.count(Counter::PipelinedRequests), 1);
    assert_eq!(b.count(Counter::Splices), 2);
}

/// Bytes of the next request that come with the end of a body are taken, but not
/// acknowledged before the server has the body: Splicer keeps no copy of body bytes,
/// so an ACK of one the server never got would lose it for good.
#[test]
fn pipelined_bytes_after_a_body_wait_for_the_servers_ack_of_it() {
    let mut b = Bed::new();
    let post: &[u8] = b"POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n";
    let iss = b.client_sends_head(post);
    let body_seq = CLIENT_ISN + 1 + post.len() as u32;
    let seg = [&b"hello"[..], GET_B].concat();
    b.lose_next = true;
    b.client_sends(data(body_seq, iss + 1, 5003, &seg));
    assert_eq!(b.server_got, post, "the body was lost on the way");
    assert!(
        b.to_client
            .iter()
            .all(|s| s.ack.is_none_or(|a| a <= body_seq)),
        "nothing past the body's start acknowledged: {:?}",
        b.to_client
    );
    // The client sends the segment again: the body reaches the server, whose ACK of
    // it reaches the client raised over the pipelined request.
    b.client_sends(data(body_seq, iss + 1, 5004, &seg));
    assert_eq!(b.server_got, [post, b"hello"].concat());
    let end = body_seq + seg.len() as u32;
    assert_eq!(b.to_client.last().and_then(|s| s.ack), Some(end));
    // The response, acknowledged: /b follows on the same server connection.
    b.server_sends(response(&b, 0, 79, RSP_A));
    let at_client = b.to_client.last().expect("relayed").clone();
    assert_eq!(at_client.payload, RSP_A);
    b.client_sends(Seg {
        seq: end,
        ack: Some(at_client.seq + RSP_A.len() as u32),
        ts: Some((5005, 0)),
        ..Seg::default()
    });
    assert_eq!(b.server_got, [post, b"hello", GET_B].concat());
}

/// A client that pipelines a request and closes gets both responses, then Splicer's
/// FIN; its own FIN is acknowledged.
#[test]
fn a_client_fin_after_pipelined_requests_lets_their_responses_finish() {
    let mut b = Bed::new();
    let iss = b.client_sends_head(GET_A);
    let next = CLIENT_ISN + 1 + GET_A.len() as u32;
    let mut with_fin = data(next, iss + 1, 5003, GET_B);
    with_fin.flags |= FIN;
    b.client_sends(with_fin);
    let fin_ack = next + GET_B.len() as u32 + 1;
    assert_eq!(b.to_client.last().and_then(|s| s.ack), Some(fin_ack));
    b.server_sends(response(&b, 0, 79, RSP_A));
    let a = b.to_client.last().expect("relayed").clone();
    assert_eq!(a.payload, RSP_A);
    b.client_sends(Seg {
        seq: fin_ack,
        ack: Some(a.seq + RSP_A.len() as u32),
        ts: Some((5004, 0)),
        ..Seg::default()
    });
    assert_eq!(b.server_got, [GET_A, GET_B].concat(), "/b sent after /a");
    b.server_sends(response(&b, RSP_A.len() as u32, 80, RSP_A));
    let second = b.to_client.last().expect("relayed").clone();
    assert_eq!(second.payload, RSP_A);
    assert_eq!(second.ack, Some(fin_ack));
    b.client_sends(Seg {
        seq: fin_ack,
        ack: Some(second.seq + RSP_A.len() as u32),
        ts: Some((5005, 0)),
        ..Seg::default()
    });
    assert!(
        b.to_client.last().is_some_and(|s| s.flags & FIN != 0),
        "Splicer closes after the last response: {:?}",
        b.to_client.last()
    );
}

/// A client that pipelined a request and then resets (a closed socket with unread
/// data) sends its RST after the pipelined bytes: it closes the connection, not a
/// challenge ACK that its closed socket would answer with the same RST for ever.
#[test]
fn a_reset_after_pipelined_bytes_closes_the_connection() {
    let mut b = Bed::new();
    let iss = b.client_sends_head(GET_A);
    let next = CLIENT_ISN + 1 + GET_A.len() as u32;
    b.client_sends(data(next, iss + 1, 5003, GET_B));
    let acks = b.count(Counter::ChallengeAcks);
    b.client_sends(Seg {
        seq: next + GET_B.len() as u32,
        flags: RST,
        ..Seg::default()
    });
    assert_eq!(b.count(Counter::ChallengeAcks), acks);
    assert_eq!(b.count(Counter::ClientResets), 1);
}

/// The request a server connection of the bed received (the first, or another).
fn got_on(b: &Bed, port: u16) -> Vec<u8> {
    if port == b.local_port {
        b.server_got.clone()
    } else {
        b.others.get(&port).map(|o| o.1.clone()).unwrap_or_default()
    }
}

const GET_C: &[u8] = b"GET /c HTTP/1.1\r\nHost: a\r\n\r\n";

/// A client that pipelines GET_A, GET_B and GET_C in one segment, on a bed whose pool
/// has three connections: where each request went.
struct Three {
    /// Client seq of the end of the three requests.
    end: u32,
    /// Splicer's ports of the connections that carry A, B and C.
    ports: [u16; 3],
}

fn three_pipelined_gets(b: &mut Bed) -> Three {
    // The pool opens its other connections at the next polls.
    for i in 2..5 {
        b.now = i * MS;
        let mut out = Out::default();
        b.p.poll_timers(b.now, &mut out);
        b.take(out);
    }
    assert_eq!(b.others.len(), 2, "three pooled connections");
    let all = [GET_A, GET_B, GET_C].concat();
    b.client_sends(Seg {
        seq: CLIENT_ISN,
        flags: SYN,
        ts: Some((5000, 0)),
        ..Seg::default()
    });
    let iss = b.to_client.last().expect("SYN-ACK").seq;
    b.client_sends(data(CLIENT_ISN + 1, iss + 1, 5002, &all));
    let mut ports: Vec<u16> = b.others.keys().copied().collect();
    ports.push(b.local_port);
    let got: Vec<Vec<u8>> = ports.iter().map(|&p| got_on(b, p)).collect();
    for want in [GET_A, GET_B, GET_C] {
        assert!(got.contains(&want.to_vec()), "{got:?}");
    }
    assert_eq!(b.count(Counter::PipelinedDispatched), 2);
    let port_of = |want: &[u8]| ports[got.iter().position(|g| g == want).unwrap()];
    Three {
        end: CLIENT_ISN + 1 + all.len() as u32,
        ports: [port_of(GET_A), port_of(GET_B), port_of(GET_C)],
    }
}

/// The server on Splicer's connection `port` sends `payload` (from its response's
/// start) with `flags`.
fn server_says(b: &mut Bed, port: u16, flags: u8, payload: &[u8], tsval: u32) {
    let rcv = if port == b.local_port {
        b.server_rcv
    } else {
        b.others[&port].0
    };
    let seg = Seg {
        seq: SERVER_ISN + 1,
        ack: Some(rcv),
        flags,
        ts: Some((tsval, 0)),
        payload: payload.to_vec(),
    };
    let f = frame((SERVER, 80), (INSIDE, port), &seg);
    b.deliver_from_server(f);
}

/// What Splicer sent the client with data, in order.
fn data_to_client(b: &Bed) -> Vec<Seg> {
    b.to_client
        .iter()
        .filter(|s| !s.payload.is_empty())
        .cloned()
        .collect()
}

/// Three GETs in one segment go to three pooled connections at once (the splicer
/// directory); the later servers' responses are held until the one before has been
/// sent and acknowledged, then go to the client in order, in its sequence space.
#[test]
fn pipelined_gets_go_out_at_once_and_their_responses_are_merged_in_order() {
    let mut b = Bed::with_pool(3);
    let t = three_pipelined_gets(&mut b);
    let [pa, pb, pc] = t.ports;
    let client_next = t.end;
    // C's and B's servers answer first: nothing reaches the client yet.
    let rsp_c: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nccc";
    let rsp_b: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nbbb";
    let before = data_to_client(&b).len();
    server_says(&mut b, pc, PSH, rsp_c, 80);
    server_says(&mut b, pb, PSH, rsp_b, 81);
    assert_eq!(b.count(Counter::HeldSegments), 2);
    assert_eq!(data_to_client(&b).len(), before, "held, not sent");
    // A's response: once it is sent whole, B's and C's follow at once, back to back
    // in the client's sequence space, before the client has acknowledged anything.
    server_says(&mut b, pa, PSH, RSP_A, 5_000);
    let sent = data_to_client(&b);
    assert_eq!(sent.len(), before + 3, "{sent:?}");
    let (a, rb, rc) = (&sent[before], &sent[before + 1], &sent[before + 2]);
    assert_eq!(a.payload, RSP_A);
    assert_eq!(a.ack, Some(client_next), "all three requests acknowledged");
    let end_a = a.seq + RSP_A.len() as u32;
    assert_eq!(rb.payload, rsp_b);
    assert_eq!(rb.seq, end_a, "B's response follows A's");
    assert_eq!(rc.payload, rsp_c);
    assert_eq!(rc.seq, end_a + rsp_b.len() as u32, "C's follows B's");
    // Held before A's response was sent, they still carry a clock no older than A's
    // (the client's PAWS would drop them).
    for r in [rb, rc] {
        assert!(r.ts.unwrap().0 >= a.ts.unwrap().0, "{:?} {:?}", r.ts, a.ts);
    }
    assert_eq!(b.count(Counter::HeldReleased), 2);
    assert_eq!(b.count(Counter::PipelinedPromoted), 2);
    // One ACK of all three ends all three legs; their connections go back to the pool.
    let end = end_a + (rsp_b.len() + rsp_c.len()) as u32;
    b.client_sends(Seg {
        seq: client_next,
        ack: Some(end),
        ts: Some((5004, 0)),
        ..Seg::default()
    });
    assert_eq!(b.count(Counter::ResponsesComplete), 3);
    assert_eq!(b.p.held_granted, 0, "every window granted was given back");
    assert_eq!(b.p.pools.reals[0].free.len(), 3, "all three pooled again");
}

/// A client ACK that covers part of a later response ends the legs before it and
/// reaches that response's server translated into its own sequence space; a server's
/// retransmission of an earlier, not yet acknowledged response still goes out with
/// that response's offsets.
#[test]
fn acks_and_retransmissions_map_to_the_leg_of_their_range() {
    let mut b = Bed::with_pool(3);
    let t = three_pipelined_gets(&mut b);
    let [pa, pb, _] = t.ports;
    let big_b = [
        &b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"[..],
        b"0123456789",
    ]
    .concat();
    server_says(&mut b, pb, PSH, &big_b, 80);
    server_says(&mut b, pa, PSH, RSP_A, 5_000);
    let sent = data_to_client(&b);
    let a = sent.iter().find(|s| s.payload == RSP_A).unwrap().clone();
    let end_a = a.seq + RSP_A.len() as u32;
    // A's server sends its response again (its ACK was slow): same client offsets.
    server_says(&mut b, pa, PSH, RSP_A, 5_001);
    let again = data_to_client(&b).last().unwrap().clone();
    assert_eq!((again.seq, &again.payload), (a.seq, &a.payload));
    // The client acknowledges A and 5 bytes of B: A's leg ends, B's server hears of 5.
    let to_b = b.to_server.len();
    b.client_sends(Seg {
        seq: t.end,
        ack: Some(end_a + 5),
        ts: Some((5004, 0)),
        ..Seg::default()
    });
    assert_eq!(b.count(Counter::ResponsesComplete), 1);
    let fwd: Vec<&Seg> = b.to_server[to_b..].iter().collect();
    assert!(
        fwd.iter().any(|s| s.ack == Some(SERVER_ISN + 1 + 5)),
        "B's server gets the ACK in its own space: {fwd:?}"
    );
}

/// The server of a request pipelined behind another resets before its turn: the
/// request is answered 502 by Splicer when its turn comes, after the response before
/// it, and the connection closed; the server connection of the request behind it
/// drains (its response is never sent: the client retries it elsewhere).
#[test]
fn a_later_servers_reset_is_answered_in_turn() {
    let mut b = Bed::with_pool(3);
    let t = three_pipelined_gets(&mut b);
    let [pa, pb, pc] = t.ports;
    server_says(&mut b, pb, RST, b"", 80);
    assert!(data_to_client(&b).is_empty(), "nothing out of turn");
    server_says(
        &mut b,
        pc,
        PSH,
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc",
        81,
    );
    server_says(&mut b, pa, PSH, RSP_A, 5_000);
    let a = data_to_client(&b).last().unwrap().clone();
    assert_eq!(a.payload, RSP_A);
    b.client_sends(Seg {
        seq: t.end,
        ack: Some(a.seq + RSP_A.len() as u32),
        ts: Some((5004, 0)),
        ..Seg::default()
    });
    let answer = data_to_client(&b).last().unwrap().clone();
    assert!(
        answer.payload.starts_with(b"HTTP/1.1 502"),
        "{:?}",
        String::from_utf8_lossy(&answer.payload)
    );
    assert_eq!(answer.seq, a.seq + RSP_A.len() as u32, "in turn");
    assert!(
        b.to_client.iter().any(|s| s.flags & FIN != 0),
        "the client connection is closed after it"
    );
    assert_eq!(b.count(Counter::BadGateway), 1);
    assert_eq!(b.count(Counter::DrainStarted), 1, "C's connection drains");
    assert_eq!(b.p.held_granted, 0);
}

/// A client that resets with responses held for it: every server connection of its
/// directory drains (the pooling patent's drain), and nothing held is kept.
#[test]
fn a_client_reset_drains_every_leg_and_drops_what_was_held() {
    let mut b = Bed::with_pool(3);
    let t = three_pipelined_gets(&mut b);
    let [_, pb, pc] = t.ports;
    server_says(
        &mut b,
        pb,
        PSH,
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb",
        80,
    );
    server_says(
        &mut b,
        pc,
        PSH,
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nc",
        81,
    );
    assert_eq!(b.count(Counter::HeldSegments), 2);
    b.client_sends(Seg {
        seq: t.end,
        flags: RST,
        ..Seg::default()
    });
    assert_eq!(b.count(Counter::ClientResets), 1);
    let mut out = Out::default();
    b.p.poll_timers(b.now, &mut out);
    b.take(out);
    assert_eq!(b.count(Counter::DrainStarted), 3, "all three legs drain");
    assert!(b.p.held.is_empty());
    assert_eq!(b.p.held_granted, 0);
}

/// A pipelined response whose turn comes before its server has sent anything follows
/// the one before it at once; its server's clock (here far behind Splicer's estimate)
/// is anchored on its first TSval, so the client never sees a clock go back (its PAWS
/// would drop the segment).
#[test]
fn a_response_promoted_before_it_arrives_keeps_the_clients_clock_monotonic() {
    let mut b = Bed::with_pool(3);
    let t = three_pipelined_gets(&mut b);
    let [pa, pb, _] = t.ports;
    server_says(&mut b, pa, PSH, RSP_A, 5_000);
    let a = data_to_client(&b).last().unwrap().clone();
    assert_eq!(a.payload, RSP_A);
    assert_eq!(b.count(Counter::PipelinedPromoted), 1, "B's turn came");
    server_says(
        &mut b,
        pb,
        PSH,
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb",
        3,
    );
    let rb = data_to_client(&b).last().unwrap().clone();
    assert_eq!(rb.seq, a.seq + RSP_A.len() as u32);
    assert!(
        rb.ts.unwrap().0 >= a.ts.unwrap().0,
        "{:?} {:?}",
        rb.ts,
        a.ts
    );
}

/// At `max_pipeline` (2 here) the third request waits in the buffer; it goes out as soon
/// as the oldest response is acknowledged, not only once every response is.
#[test]
fn a_request_waiting_at_max_pipeline_goes_out_when_a_leg_ends() {
    let mut b = Bed::with(3, 2);
    for i in 2..5 {
        b.now = i * MS;
        let mut out = Out::default();
        b.p.poll_timers(b.now, &mut out);
        b.take(out);
    }
    let all = [GET_A, GET_B, GET_C].concat();
    b.client_sends(Seg {
        seq: CLIENT_ISN,
        flags: SYN,
        ts: Some((5000, 0)),
        ..Seg::default()
    });
    let iss = b.to_client.last().expect("SYN-ACK").seq;
    b.client_sends(data(CLIENT_ISN + 1, iss + 1, 5002, &all));
    assert_eq!(
        b.count(Counter::PipelinedDispatched),
        1,
        "B only: two in flight"
    );
    let mut ports: Vec<u16> = b.others.keys().copied().collect();
    ports.push(b.local_port);
    let port_of = |b: &Bed, want: &[u8]| {
        ports
            .iter()
            .copied()
            .find(|&p| got_on(b, p) == want)
            .expect("sent")
    };
    let (pa, pb) = (port_of(&b, GET_A), port_of(&b, GET_B));
    server_says(&mut b, pa, PSH, RSP_A, 5_000);
    server_says(&mut b, pb, PSH, RSP_A, 5_001);
    let a = data_to_client(&b)[0].clone();
    b.client_sends(Seg {
        seq: CLIENT_ISN + 1 + all.len() as u32,
        ack: Some(a.seq + RSP_A.len() as u32),
        ts: Some((5003, 0)),
        ..Seg::default()
    });
    assert_eq!(b.count(Counter::PipelinedDispatched), 2, "C went out");
    assert!(ports.iter().any(|&p| got_on(&b, p).ends_with(GET_C)));
}
