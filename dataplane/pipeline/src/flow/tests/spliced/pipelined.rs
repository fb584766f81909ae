//! Requests sent ahead on several pooled connections at once (the splicer directory):
//! where they go, how their servers' windows are set, how their responses are held and
//! merged in order.

use super::*;
use crate::flow::server::IDLE_WINDOW;

/// The request a server connection of the bed received (the first, or another).
pub(super) fn got_on(b: &Bed, port: u16) -> Vec<u8> {
    if port == b.local_port {
        b.server_got.clone()
    } else {
        b.others.get(&port).map(|o| o.1.clone()).unwrap_or_default()
    }
}

const GET_C: &[u8] = b"GET /c HTTP/1.1\r\nHost: a\r\n\r\n";
const RSP_B: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nbbb";
const RSP_C: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nccc";

/// A client that pipelines GET_A, GET_B and GET_C in one segment, on a bed whose pool
/// has three connections: where each request went.
pub(super) struct Three {
    /// Client seq of the end of the three requests.
    pub(super) end: u32,
    /// Splicer's ports of the connections that carry A, B and C.
    ports: [u16; 3],
}

pub(super) fn three_pipelined_gets(b: &mut Bed) -> Three {
    let all = [GET_A, GET_B, GET_C].concat();
    client_pipelines(b, &all);
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

/// The pool of the bed (three connections) opens; a client connects and sends `bytes`
/// in one segment. Returns Splicer's ISN on the client leg.
fn client_pipelines(b: &mut Bed, bytes: &[u8]) -> u32 {
    // The pool opens its other connections at the next polls.
    for i in 2..5 {
        poll_at(b, i * MS);
    }
    assert_eq!(b.others.len(), 2, "three pooled connections");
    let iss = b.client_syn();
    b.client_sends(data(CLIENT_ISN + 1, iss + 1, 5002, bytes));
    iss
}

/// What the bed's server connections received, each.
fn got_all(b: &Bed) -> Vec<Vec<u8>> {
    let mut ports: Vec<u16> = b.others.keys().copied().collect();
    ports.push(b.local_port);
    ports.iter().map(|&p| got_on(b, p)).collect()
}

/// An OPTIONS with a `Content-Length` body that came whole goes out ahead with its body
/// (a safe method: its order against the requests around it does not matter; GET, HEAD
/// and TRACE may not carry a body at all), and the request behind it follows at once;
/// one whose body is not all there yet goes once it is.
#[test]
fn a_safe_request_with_a_whole_body_goes_out_ahead_with_it() {
    let get_body: &[u8] = b"OPTIONS /q HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello";
    let mut b = Bed::with_pool(3);
    let all = [GET_A, get_body, GET_C].concat();
    client_pipelines(&mut b, &all);
    assert_eq!(b.count(Counter::PipelinedDispatched), 2);
    let got = got_all(&b);
    for want in [GET_A, get_body, GET_C] {
        assert!(got.contains(&want.to_vec()), "{got:?}");
    }
    // Its body split: the request waits for the rest, then goes with the one behind it.
    let mut b = Bed::with_pool(3);
    let split = GET_A.len() + get_body.len() - 2;
    let iss = client_pipelines(&mut b, &all[..split]);
    assert_eq!(
        b.count(Counter::PipelinedDispatched),
        0,
        "half a body waits"
    );
    let from = CLIENT_ISN + 1 + split as u32;
    b.client_sends(data(from, iss + 1, 5003, &all[split..]));
    assert_eq!(b.count(Counter::PipelinedDispatched), 2);
    let got = got_all(&b);
    assert!(got.contains(&get_body.to_vec()), "{got:?}");
}

/// A POST (not safe: it must not take effect before the requests in front of it are
/// answered, RFC 9112 §9.3.2), a chunked body and `Expect: 100-continue` wait in the
/// buffer for their turn, and so does every request behind them.
#[test]
fn an_unsafe_or_unframed_request_waits_for_its_turn() {
    for second in [
        &b"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"[..],
        b"DELETE /d HTTP/1.1\r\nHost: a\r\n\r\n",
        b"OPTIONS /q HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        b"OPTIONS /q HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    ] {
        // A valid request (the ordinary path would take it in its turn).
        let parsed = splicer_http::parse_head(second, HEAD_LIMIT);
        assert!(matches!(parsed, splicer_http::HeadStatus::Complete(_)));
        let mut b = Bed::with_pool(3);
        client_pipelines(&mut b, &[GET_A, second, GET_C].concat());
        assert_eq!(
            b.count(Counter::PipelinedDispatched),
            0,
            "{}",
            String::from_utf8_lossy(second)
        );
        assert_eq!(got_all(&b).concat(), GET_A, "only the first went out");
    }
}

/// The server on Splicer's connection `port` sends `payload` (from its response's
/// start) with `flags`.
fn server_says(b: &mut Bed, port: u16, flags: u8, payload: &[u8], tsval: u32) {
    server_says_at(b, port, 0, payload, tsval, flags);
}

/// The server on Splicer's connection `port` sends `payload` at offset `off` of its
/// response.
fn server_says_at(b: &mut Bed, port: u16, off: u32, payload: &[u8], tsval: u32, flags: u8) {
    let rcv = if port == b.local_port {
        b.server_rcv
    } else {
        b.others[&port].0
    };
    let seg = Seg {
        seq: SERVER_ISN + 1 + off,
        ack: Some(rcv),
        flags,
        ts: Some((tsval, 0)),
        payload: payload.to_vec(),
        ..Seg::default()
    };
    let f = frame((SERVER, 80), (INSIDE, port), &seg);
    b.deliver_from_server(f);
}

/// What Splicer sent the client with data, in order.
pub(super) fn data_to_client(b: &Bed) -> Vec<Seg> {
    segments(&b.to_client, |s| !s.payload.is_empty())
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
    let (rsp_b, rsp_c) = (RSP_B, RSP_C);
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
    let now = b.now;
    poll_at(&mut b, now);
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

/// A late retransmission of an earlier response, relayed after the later response's
/// segments went out (on their server's clock, which moved on), reaches the client with
/// a TSval no lower than theirs: its PAWS check would drop it (the segment the client
/// lost, sent again), and only the server's next, backed-off timeout would send it once
/// more.
#[test]
fn a_late_retransmission_of_an_earlier_response_keeps_the_clients_clock_monotonic() {
    let mut b = Bed::with_pool(3);
    let t = three_pipelined_gets(&mut b);
    let [pa, pb, _] = t.ports;
    let head_b = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n";
    server_says(&mut b, pb, PSH, head_b, 9_000);
    server_says(&mut b, pa, PSH, RSP_A, 5_000);
    // B's turn came with A's response; the rest of B's comes 10 ms later by its
    // server's clock.
    server_says_at(&mut b, pb, head_b.len() as u32, b"bbb", 9_010, PSH);
    let rb = data_to_client(&b).last().unwrap().clone();
    assert_eq!(rb.payload, b"bbb");
    // A's server sends its response again (the client lost it), 2 ms on by its clock.
    server_says(&mut b, pa, PSH, RSP_A, 5_002);
    let again = data_to_client(&b).last().unwrap().clone();
    assert_eq!(again.payload, RSP_A);
    assert!(
        again.ts.unwrap().0 >= rb.ts.unwrap().0,
        "the client would drop it (PAWS): {:?} after {:?}",
        again.ts,
        rb.ts
    );
}

/// At `max_pipeline` (2 here) the third request waits in the buffer; it goes out as soon
/// as the oldest response is acknowledged, not only once every response is.
#[test]
fn a_request_waiting_at_max_pipeline_goes_out_when_a_leg_ends() {
    let mut b = Bed::with(3, 2, Service::DEFAULT_MAX_HELD);
    for i in 2..5 {
        poll_at(&mut b, i * MS);
    }
    let all = [GET_A, GET_B, GET_C].concat();
    let iss = b.client_syn();
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

/// What Splicer sent the server on its connection `port`.
fn sent_on(b: &Bed, port: u16) -> Vec<Seg> {
    segments(&b.to_server, |s| s.port == port)
}

/// The segments of `all` that `keep` keeps, in order.
fn segments(all: &[Seg], keep: impl Fn(&Seg) -> bool) -> Vec<Seg> {
    all.iter().filter(|s| keep(s)).cloned().collect()
}

/// The clock moves to `at` and the pipeline's timers run.
pub(super) fn poll_at(b: &mut Bed, at: u64) {
    b.now = at;
    let mut out = Out::default();
    b.p.poll_timers(b.now, &mut out);
    b.take(out);
}

/// A request sent ahead on an idle pooled connection sets its server's window with its
/// head alone: the connection's handshake offered the small idle window, so the head's
/// larger `max_held` is taken (RFC 9293 §3.10.7.4). No window update follows it, none
/// at its promotion when its whole response was held, and the ACK that ends each leg
/// offers the idle window again.
#[test]
fn a_request_sent_ahead_opens_its_servers_window_with_its_head() {
    let mut b = Bed::with_pool(3);
    let t = three_pipelined_gets(&mut b);
    let [pa, pb, pc] = t.ports;
    let held = Service::DEFAULT_MAX_HELD.min(usize::from(u16::MAX)) as u16;
    for (port, get) in [(pb, GET_B), (pc, GET_C)] {
        let sent = sent_on(&b, port);
        let handshake = sent
            .iter()
            .find(|s| s.flags == 0)
            .expect("the handshake's ACK");
        assert_eq!(u32::from(handshake.window), IDLE_WINDOW);
        let head = sent.last().expect("the head");
        assert_eq!(head.payload, get, "nothing after the head: {sent:?}");
        assert_eq!(head.window, held);
    }
    let (rsp_b, rsp_c) = (RSP_B, RSP_C);
    server_says(&mut b, pb, PSH, rsp_b, 80);
    server_says(&mut b, pc, PSH, rsp_c, 81);
    let before = [pb, pc].map(|p| sent_on(&b, p).len());
    server_says(&mut b, pa, PSH, RSP_A, 5_000);
    assert_eq!(b.count(Counter::PipelinedPromoted), 2);
    assert_eq!(
        [pb, pc].map(|p| sent_on(&b, p).len()),
        before,
        "no window update for a response held whole"
    );
    let end = data_to_client(&b)
        .last()
        .map(|s| s.seq + s.payload.len() as u32);
    b.client_sends(Seg {
        seq: t.end,
        ack: end,
        ts: Some((5004, 0)),
        ..Seg::default()
    });
    assert_eq!(b.count(Counter::ResponsesComplete), 3);
    let sent = [pa, pb, pc].map(|p| sent_on(&b, p).len());
    // The ACKs of the responses wait for a request to carry them; none comes.
    let now = b.now;
    poll_at(&mut b, now + 4 * MS);
    assert_eq!([pa, pb, pc].map(|p| sent_on(&b, p).len()), sent, "not yet");
    poll_at(&mut b, now + 6 * MS);
    for (port, rsp) in [(pa, RSP_A), (pb, rsp_b), (pc, rsp_c)] {
        let last = sent_on(&b, port).pop().expect("the ACK of the response");
        assert!(last.payload.is_empty());
        assert_eq!(last.ack, Some(SERVER_ISN + 1 + rsp.len() as u32));
        assert_eq!(u32::from(last.window), IDLE_WINDOW, "idle again");
    }
}

/// The ACK of a response the client has acknowledged rides on the next request's head
/// on that connection when it comes within the delay: no ACK of its own, whether the
/// request comes later or was pipelined and waited for its turn.
#[test]
fn the_next_head_carries_the_ack_of_the_last_response() {
    let mut b = Bed::new();
    let iss = b.client_sends_head(GET_A);
    let port = b.local_port;
    server_says(&mut b, port, PSH, RSP_A, 80);
    let a = data_to_client(&b).last().unwrap().clone();
    let mut next = CLIENT_ISN + 1 + GET_A.len() as u32;
    let end_a = a.seq + RSP_A.len() as u32;
    b.client_sends(Seg {
        seq: next,
        ack: Some(end_a),
        ts: Some((5003, 0)),
        ..Seg::default()
    });
    assert_eq!(b.count(Counter::ResponsesComplete), 1);
    let before = sent_on(&b, port).len();
    // B, and C pipelined behind it, a millisecond later: B's head carries the ACK.
    b.now += MS;
    b.client_sends(data(next, iss + 1, 5004, &[GET_B, GET_C].concat()));
    next += (GET_B.len() + GET_C.len()) as u32;
    let sent = sent_on(&b, port);
    assert_eq!(
        sent.len(),
        before + 1,
        "B's head alone: {:?}",
        &sent[before..]
    );
    let head = &sent[before];
    assert_eq!(head.payload, GET_B);
    let ack_a = SERVER_ISN + 1 + RSP_A.len() as u32;
    assert_eq!(head.ack, Some(ack_a), "it acknowledges A's response");
    // B's response, acknowledged: C, which waited (no other connection), goes out on
    // the same one with the ACK of it.
    let rsp_b = RSP_B.to_vec();
    b.server_rcv = b.server_rcv.max(head.seq + GET_B.len() as u32);
    let f = frame(
        (SERVER, 80),
        (INSIDE, port),
        &Seg {
            seq: ack_a,
            ack: Some(b.server_rcv),
            flags: PSH,
            ts: Some((81, 0)),
            payload: rsp_b.clone(),
            ..Seg::default()
        },
    );
    b.deliver_from_server(f);
    let rb = data_to_client(&b).last().unwrap().clone();
    assert_eq!(rb.payload, rsp_b);
    b.client_sends(Seg {
        seq: next,
        ack: Some(rb.seq + rsp_b.len() as u32),
        ts: Some((5005, 0)),
        ..Seg::default()
    });
    let sent = sent_on(&b, port);
    let head = sent.last().unwrap();
    assert_eq!(head.payload, GET_C);
    assert_eq!(head.ack, Some(ack_a + rsp_b.len() as u32));
    assert_eq!(
        sent[sent.len() - 2].payload,
        GET_B,
        "no ACK between the two heads: {sent:?}"
    );
}

/// With `max_held` below the idle window, the head could not shrink the server's
/// window: it goes out with a zero window (which a server always takes), and a pure
/// ACK then offers `max_held`. A response larger than half of it, not complete when its
/// turn comes, gets its window opened then.
#[test]
fn a_smaller_held_window_is_set_by_a_zero_window_and_opened_at_its_turn() {
    let max_held = 512;
    let mut b = Bed::with(3, Service::DEFAULT_MAX_PIPELINE, max_held);
    let t = three_pipelined_gets(&mut b);
    let [pa, pb, _] = t.ports;
    let sent = sent_on(&b, pb);
    let n = sent.len();
    assert_eq!((&sent[n - 2].payload[..], sent[n - 2].window), (GET_B, 0));
    assert!(sent[n - 1].payload.is_empty());
    assert_eq!(usize::from(sent[n - 1].window), max_held, "then max_held");
    // B's server sends 300 bytes of a longer response: held.
    let head: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
    let big = [head, &vec![b'b'; 300 - head.len()]].concat();
    server_says(&mut b, pb, PSH, &big, 80);
    assert_eq!(b.count(Counter::HeldSegments), 1);
    let before = sent_on(&b, pb).len();
    server_says(&mut b, pa, PSH, RSP_A, 5_000);
    let after = sent_on(&b, pb);
    assert_eq!(after.len(), before + 1, "a window update: {after:?}");
    let update = after.last().unwrap();
    assert!(update.payload.is_empty());
    assert_eq!(update.window, u16::MAX, "the whole window now");
    assert_eq!(
        update.ack,
        Some(SERVER_ISN + 1),
        "nothing acknowledged that the client has not"
    );
    assert_eq!(data_to_client(&b).last().unwrap().payload, big);
}

/// A `Connection: close` request pipelined behind another goes out ahead without the
/// token (`server_close`); its server's `keep-alive` response, held until the first is
/// sent, reaches the client saying `close`, and both server connections are pooled
/// again when the client has them.
#[test]
fn a_close_request_sent_ahead_has_its_held_response_marked() {
    let mut b = Bed::with_pool(3);
    let close_b: &[u8] = b"GET /b HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    let kept_b: &[u8] = b"GET /b HTTP/1.1\r\nHost: a\r\n\r\n";
    let rsp_b: &[u8] = b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nbbb";
    let marked: &[u8] =
        b"HTTP/1.1 200 OK\r\nConnection: close     \r\nContent-Length: 3\r\n\r\nbbb";
    let all = [GET_A, close_b].concat();
    client_pipelines(&mut b, &all);
    let mut ports: Vec<u16> = b.others.keys().copied().collect();
    ports.push(b.local_port);
    let port_of = |want: &[u8]| *ports.iter().find(|&&p| got_on(&b, p) == want).unwrap();
    let (pa, pb) = (port_of(GET_A), port_of(kept_b));
    assert_eq!(b.count(Counter::PipelinedDispatched), 1);
    assert_eq!(b.count(Counter::ServerCloseKept), 1);
    server_says(&mut b, pb, PSH, rsp_b, 80);
    assert_eq!(b.count(Counter::HeldSegments), 1);
    server_says(&mut b, pa, PSH, RSP_A, 5_000);
    let sent = data_to_client(&b);
    let last = sent.last().unwrap();
    assert_eq!(
        last.payload,
        marked,
        "{:?}",
        String::from_utf8_lossy(&last.payload)
    );
    assert_eq!(b.count(Counter::ServerCloseMarked), 1);
    let end = last.seq + last.payload.len() as u32;
    b.client_sends(Seg {
        seq: CLIENT_ISN + 1 + all.len() as u32,
        ack: Some(end),
        ts: Some((5004, 0)),
        ..Seg::default()
    });
    assert!(
        b.to_client.iter().any(|s| s.flags & FIN != 0),
        "the client's ends"
    );
    assert_eq!(b.p.pools.reals[0].free.len(), 3, "all three pooled again");
}

/// A held response goes to the client no faster than the client's window lets it
/// (httperf's 16 KiB receive buffer, 100 KiB responses pipelined 20 deep): its server
/// was offered `max_held` and takes what was held as SACKed, so bytes the client
/// dropped past its window would come again only when its retransmission timer, backed
/// off, ran out. The rest goes out as the client's ACKs open the window.
#[test]
fn a_held_response_is_released_within_the_clients_window() {
    let mut b = Bed::with_pool(3);
    let t = three_pipelined_gets(&mut b);
    let [pa, pb, _] = t.ports;
    let iss = b.to_client.iter().find(|s| s.flags & SYN != 0).unwrap().seq;
    let window = 100u16;
    let client_acks = |b: &mut Bed, ack: u32, tsval: u32| {
        b.client_sends(Seg {
            seq: t.end,
            ack: Some(ack),
            ts: Some((tsval, 0)),
            window,
            ..Seg::default()
        });
    };
    client_acks(&mut b, iss + 1, 5003);
    // B's server sends its whole response, three segments of 100 bytes: held.
    let head: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 260\r\n\r\n";
    let rsp = [head, &[b'b'; 260][..]].concat();
    assert_eq!(rsp.len(), 300);
    for (i, part) in rsp.chunks(100).enumerate() {
        server_says_at(&mut b, pb, 100 * i as u32, part, 80, PSH);
    }
    assert_eq!(b.count(Counter::HeldSegments), 3);
    server_says(&mut b, pa, PSH, RSP_A, 5_000);
    let sent = data_to_client(&b);
    let a = sent.last().unwrap().clone();
    assert_eq!(a.payload, RSP_A, "none of B's past the window: {sent:?}");
    let end_a = a.seq + RSP_A.len() as u32;
    // Each ACK opens the window by 100 bytes: one more of B's segments goes out.
    for i in 0..3u32 {
        let before = data_to_client(&b).len();
        client_acks(&mut b, end_a + 100 * i, 5004 + i);
        let sent = data_to_client(&b);
        assert_eq!(sent.len(), before + 1, "one segment per ACK: {sent:?}");
        let s = sent.last().unwrap();
        assert_eq!(s.seq, end_a + 100 * i);
        assert_eq!(s.payload, rsp[100 * i as usize..][..100]);
    }
    assert_eq!(b.count(Counter::HeldReleased), 3);
}
