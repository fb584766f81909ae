//! A splice against hand-made segments on both legs: a raw client on the outside and a
//! raw server on the inside, so that a test can send what no TCP stack would (old
//! timestamps, stale ACKs, retransmissions with other bytes) and see exactly what
//! reaches the server.

use super::*;
use crate::balance::{Farm, Predictor, Real, VirtualPolicy};

mod cold;
mod forward_for;
mod logging;
mod maxconns;
mod misbehaving;
mod next_hop;
mod pipelined;
mod reordered;
mod retry;
mod server_close;

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
    /// Received: the window field (sent: this one, or 64 000 if 0).
    pub(super) window: u16,
    /// Received: the sender's port (Splicer's, on a server connection).
    pub(super) port: u16,
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
    t.set_window_len(if s.window == 0 { 64_000 } else { s.window });
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
        window: t.window_len(),
        port: t.src_port(),
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
        Bed::with(
            pool,
            Service::DEFAULT_MAX_PIPELINE,
            Service::DEFAULT_MAX_HELD,
        )
    }

    /// A bed whose real keeps `pool` connections open, with at most `max_pipeline`
    /// requests of one client in flight and `max_held` bytes held of each response to a
    /// request sent ahead.
    fn with(pool: u16, max_pipeline: u16, max_held: usize) -> Bed {
        Bed::with_service(
            pool,
            Service {
                address: SocketAddrV4::new(VIP, 80),
                virtual_index: 0,
                max_request_head: HEAD_LIMIT,
                max_pipeline,
                max_held,
                forward_for: Default::default(),
                server_close: Default::default(),
            },
        )
    }

    /// A bed whose real keeps `pool` connections open, with the VIP's `service`.
    fn with_service(pool: u16, service: Service) -> Bed {
        Bed::with_real(pool, 8, service)
    }

    /// A bed whose real keeps `pool` connections open and carries at most `maxconns`
    /// requests at once, with the VIP's `service`.
    fn with_real(pool: u16, maxconns: u16, service: Service) -> Bed {
        let farm = Farm {
            reals: vec![Real::new(
                "s0",
                SocketAddrV4::new(SERVER, 80),
                1,
                pool,
                maxconns,
            )],
            virtuals: vec![VirtualPolicy::splice(
                "www",
                Predictor::RoundRobin,
                vec![],
                vec![0],
            )],
            urls: Vec::new(),
        };
        let p = farm_pipeline_service(farm, (0, 1), settings(16), service, &[SERVER]);
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
                    ..Seg::default()
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
        let iss = self.client_connects_and_sends(head);
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

    /// A client with timestamps connects and sends `head` (what reaches the server is
    /// the caller's to check); returns Splicer's ISN on the client leg.
    /// The client's SYN, with timestamps (TSval 5000); returns Splicer's ISN from its
    /// SYN-ACK.
    fn client_syn(&mut self) -> u32 {
        self.client_sends(Seg {
            seq: CLIENT_ISN,
            flags: SYN,
            ts: Some((5000, 0)),
            ..Seg::default()
        });
        self.to_client.last().expect("SYN-ACK").seq
    }

    fn client_connects_and_sends(&mut self, head: &[u8]) -> u32 {
        let iss = self.client_syn();
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
            ..Seg::default()
        });
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
        ..Seg::default()
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
        ..Seg::default()
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
        ..Seg::default()
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
        ..Seg::default()
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

/// Splicer's own ACK of a pipelined request, sent while the response is relayed, never
/// carries a TSval above those of the server's segments that follow it: these carry the
/// server's clock from when it sent them, behind Splicer's by the time they took to
/// arrive (a loaded machine: milliseconds), and the client's PAWS (RFC 7323 §5) drops a
/// segment whose TSval is below the last it took, even by 2 ms. Seen in t_pipelining as
/// a lost 3-byte body that only the server's retransmission timeout recovered.
#[test]
fn splicers_own_ack_never_puts_the_clients_clock_ahead_of_the_relayed_response() {
    let mut b = Bed::new();
    let iss = b.client_sends_head(GET_A);
    let next = CLIENT_ISN + 1 + GET_A.len() as u32;
    b.server_sends(response(&b, 0, 79, &RSP_A[..10]));
    let head = b.to_client.last().expect("relayed").clone();
    // 20 ms later, with the rest of the response on its way (sent 1 ms after its start
    // by the server's clock), the client pipelines /b: Splicer acknowledges it itself.
    b.now += 20 * MS;
    b.client_sends(data(next, iss + 1, 5003, GET_B));
    let ack = b.to_client.last().expect("an ACK").clone();
    assert_eq!(ack.ack, Some(next + GET_B.len() as u32));
    b.server_sends(response(&b, 10, 80, &RSP_A[10..]));
    let rest = b.to_client.last().expect("relayed").clone();
    assert_eq!(rest.payload, &RSP_A[10..]);
    let tsval = |s: &Seg| s.ts.expect("timestamps on").0;
    assert!(tsval(&ack) >= tsval(&head), "{:?} {:?}", head.ts, ack.ts);
    assert!(
        tsval(&rest) >= tsval(&ack),
        "the client would drop the rest (PAWS): {:?} after {:?}",
        rest.ts,
        ack.ts
    );
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

/// A stopping worker lets a spliced response finish, then closes the keep-alive client
/// connection with a FIN instead of waiting for its next request.
#[test]
fn a_stopping_worker_closes_a_keep_alive_connection_after_its_response() {
    let mut b = Bed::new();
    b.client_sends_head(GET_A);
    let next = CLIENT_ISN + 1 + GET_A.len() as u32;
    let mut out = Out::default();
    b.p.start_stopping(b.now, &mut out);
    b.take(out);
    assert_eq!(b.p.busy_clients(), 1, "spliced: busy");
    assert!(
        b.to_client.iter().all(|s| s.flags & FIN == 0),
        "not closed while its response is on its way"
    );
    b.server_sends(response(&b, 0, 79, RSP_A));
    let a = b.to_client.last().expect("relayed").clone();
    assert_eq!(a.payload, RSP_A);
    b.client_sends(Seg {
        seq: next,
        ack: Some(a.seq + RSP_A.len() as u32),
        ts: Some((5004, 0)),
        ..Seg::default()
    });
    let fin = b.to_client.last().expect("a FIN").clone();
    assert_ne!(fin.flags & FIN, 0, "closed after the response: {fin:?}");
    assert_eq!(b.p.busy_clients(), 1, "until the FIN is acknowledged");
    b.client_sends(Seg {
        seq: next,
        ack: Some(fin.seq + 1),
        ts: Some((5005, 0)),
        ..Seg::default()
    });
    assert_eq!(b.p.busy_clients(), 0);
    assert_eq!(b.count(Counter::ClientsClosedAfterResponse), 0);
}
