//! `forward_for = "header"` on the wire: the exact bytes the server gets, and the
//! sequence and acknowledgement numbers of both legs when the head Splicer sends is
//! longer (inserted lines) or shorter (a long forged header removed) than the client's.

use super::*;
use splicer_http::{ForwardFor, Incoming};

const XFF_LINES: &str = "X-Forwarded-For: 198.18.0.2\r\nX-Forwarded-Proto: http\r\n";

fn bed(incoming: Incoming, pool: u16) -> Bed {
    Bed::with_service(
        pool,
        Service {
            address: SocketAddrV4::new(VIP, 80),
            virtual_index: 0,
            max_request_head: HEAD_LIMIT,
            max_pipeline: Service::DEFAULT_MAX_PIPELINE,
            max_held: Service::DEFAULT_MAX_HELD,
            forward_for: ForwardFor::Header(incoming),
            server_close: Default::default(),
        },
    )
}

/// `head` as its server gets it: the forwarding lines after the request line, the
/// lines in `drop` gone.
fn expected(head: &[u8], drop: &[&str]) -> Vec<u8> {
    let mut t = String::from_utf8(head.to_vec()).unwrap();
    for d in drop {
        assert!(t.contains(d), "{d:?} in {t:?}");
        t = t.replacen(d, "", 1);
    }
    let at = t.find("\r\n").unwrap() + 2;
    t.insert_str(at, XFF_LINES);
    t.into_bytes()
}

/// The server's response segment at response offset `off`.
fn rsp(b: &Bed, off: u32, tsval: u32, bytes: &[u8]) -> Seg {
    response(b, off, tsval, bytes)
}

#[test]
fn a_forged_header_is_replaced_and_the_response_acknowledged_exactly() {
    let mut b = bed(Incoming::Replace, 1);
    let forged = "X-Forwarded-For: 6.6.6.6, 7.7.7.7\r\n";
    let head = format!("GET /a HTTP/1.1\r\nHost: a\r\n{forged}\r\n").into_bytes();
    let iss = b.client_connects_and_sends(&head);
    let want = expected(&head, &[forged]);
    assert_eq!(b.server_got, want);
    assert_eq!(b.count(Counter::ForwardedForInserted), 1);
    assert_eq!(b.count(Counter::ForwardedForReplaced), 1);
    assert_eq!(b.count(Counter::ForwardedForAppended), 0);
    // The client's head is acknowledged, as sent, by Splicer: not one byte more or less.
    let end = CLIENT_ISN + 1 + head.len() as u32;
    assert!(b.to_client.iter().any(|s| s.ack == Some(end)));
    assert!(b.to_client.iter().all(|s| s.ack.is_none_or(|a| a <= end)));
    // The response reaches the client at Splicer's ISN + 1, acknowledging the head.
    b.server_sends(rsp(&b, 0, 79, RSP_A));
    let r = b.to_client.last().unwrap().clone();
    assert_eq!((r.seq, r.ack, &r.payload[..]), (iss + 1, Some(end), RSP_A));
    // The client's ACK of it reaches the server in the server's own space.
    b.client_sends(Seg {
        seq: end,
        ack: Some(iss + 1 + RSP_A.len() as u32),
        ts: Some((5003, 0)),
        ..Seg::default()
    });
}

/// A head that grows past the server leg's segment size (524 bytes here: the bed's
/// server sends no MSS option, so 536, less 12 for timestamps) goes out in two segments, both exact, and comes again whole after a
/// loss, from Splicer's own copy.
#[test]
fn a_head_grown_past_the_mss_is_segmented_and_retransmitted() {
    let mut b = bed(Incoming::Replace, 1);
    let mut head = b"GET /big HTTP/1.1\r\nHost: a\r\nX-Pad: ".to_vec();
    head.resize(520, b'p');
    head.extend_from_slice(b"\r\n\r\n");
    let want = expected(&head, &[]);
    let mss = 536 - 12;
    assert!(head.len() <= mss && want.len() > mss);
    b.lose_next = true;
    let sent = b.to_server.len();
    b.client_connects_and_sends(&head);
    let data: Vec<Seg> = b.to_server[sent..]
        .iter()
        .filter(|s| !s.payload.is_empty())
        .cloned()
        .collect();
    assert_eq!(data.len(), 2, "{data:?}");
    assert_eq!(data[0].payload.len(), mss);
    assert_eq!([&data[0].payload[..], &data[1].payload[..]].concat(), want);
    assert_eq!(data[1].seq, data[0].seq.wrapping_add(mss as u32));
    // The first segment was lost; the server has nothing in order yet.
    assert!(b.server_got.is_empty());
    // The retransmission timer resends the head from the first unacknowledged byte.
    b.now += 5_000 * MS;
    let mut out = Out::default();
    b.p.poll_timers(b.now, &mut out);
    b.take(out);
    assert_eq!(b.server_got, want);
}

/// A POST whose body comes after the head: the body lands right after the rewritten
/// head on the server leg (the head is shorter there: a long forged header removed),
/// a retransmitted head is answered by Splicer and not forwarded again, a lost body
/// segment is retransmitted by the client and mapped as the first time, and the
/// server's ACK of the body reaches the client as the client's own numbers.
#[test]
fn a_body_after_a_shrunk_head_maps_both_ways() {
    let mut b = bed(Incoming::Replace, 1);
    let forged = format!("X-Forwarded-For: {}\r\n", "6.6.6.6, ".repeat(20));
    let head = format!("POST /up HTTP/1.1\r\nHost: a\r\n{forged}Content-Length: 10\r\n\r\n");
    let head = head.into_bytes();
    let want = expected(&head, &[&forged]);
    assert!(want.len() < head.len(), "Bytes Added is negative here");
    let iss = b.client_connects_and_sends(&head);
    assert_eq!(b.server_got, want);
    let body_seq = CLIENT_ISN + 1 + head.len() as u32;
    // The client did not see Splicer's ACK and sends the head again: ACKed, not sent.
    let sent = b.to_server.len();
    b.client_sends(data(CLIENT_ISN + 1, iss + 1, 5003, &head));
    assert_eq!(b.to_server.len(), sent);
    assert_eq!(b.to_client.last().and_then(|s| s.ack), Some(body_seq));
    // The first body segment is lost on the server leg, the second waits for it.
    b.lose_next = true;
    b.client_sends(data(body_seq, iss + 1, 5004, b"01234"));
    assert_eq!(b.server_got, want);
    let first = b.to_server.last().unwrap().clone();
    let server_head_end = first.seq;
    assert_eq!(
        server_head_end.wrapping_sub(b.server_rcv),
        0,
        "the body's first byte right after the head the server has"
    );
    b.client_sends(data(body_seq, iss + 1, 5005, b"01234"));
    b.client_sends(data(body_seq + 5, iss + 1, 5006, b"56789"));
    assert_eq!(b.server_got, [&want[..], b"0123456789"].concat());
    // The server's ACK of the whole body reaches the client as the end of its body.
    let acks: Vec<u32> = b.to_client.iter().filter_map(|s| s.ack).collect();
    assert_eq!(acks.last(), Some(&(body_seq + 10)), "{acks:?}");
    assert!(acks.iter().all(|&a| a <= body_seq + 10));
    // The response, then the client's ACK: the server sees it in its space.
    b.server_sends(rsp(&b, 0, 79, RSP_A));
    let r = b.to_client.last().unwrap().clone();
    assert_eq!((r.seq, r.ack), (iss + 1, Some(body_seq + 10)));
}

/// A chunked body after a grown head: every chunk byte reaches the server in order.
#[test]
fn a_chunked_body_after_a_grown_head() {
    let mut b = bed(Incoming::Replace, 1);
    let iss = b.client_connects_and_sends(CHUNKED_HEAD);
    let want = expected(CHUNKED_HEAD, &[]);
    assert_eq!(b.server_got, want);
    let body_seq = CLIENT_ISN + 1 + CHUNKED_HEAD.len() as u32;
    let chunks: [&[u8]; 2] = [b"5\r\nhello\r\n", b"0\r\n\r\n"];
    b.client_sends(data(body_seq, iss + 1, 5003, chunks[0]));
    b.client_sends(data(body_seq + 10, iss + 1, 5004, chunks[1]));
    assert_eq!(b.server_got, [&want[..], chunks[0], chunks[1]].concat());
    assert_eq!(b.to_client.last().and_then(|s| s.ack), Some(body_seq + 15));
}

/// Keep-alive: each request of the connection gets the header; pipelined requests too
/// (one pooled connection: the second goes after the first response), with a forged
/// header in the second replaced.
#[test]
fn each_request_of_a_connection_and_each_pipelined_one() {
    let mut b = bed(Incoming::Replace, 1);
    let get_b = b"GET /b HTTP/1.1\r\nHost: a\r\nx-forwarded-for: 1.2.3.4\r\nX-Forwarded-Proto: https\r\n\r\n";
    let iss = b.client_connects_and_sends(GET_A);
    let next = CLIENT_ISN + 1 + GET_A.len() as u32;
    b.client_sends(data(next, iss + 1, 5003, get_b));
    b.server_sends(rsp(&b, 0, 79, RSP_A));
    let r = b.to_client.last().unwrap().clone();
    assert_eq!(r.payload, RSP_A);
    let after = next + get_b.len() as u32;
    b.client_sends(Seg {
        seq: after,
        ack: Some(r.seq + RSP_A.len() as u32),
        ts: Some((5004, 0)),
        ..Seg::default()
    });
    let want_b = expected(
        get_b,
        &[
            "x-forwarded-for: 1.2.3.4\r\n",
            "X-Forwarded-Proto: https\r\n",
        ],
    );
    assert_eq!(b.server_got, [expected(GET_A, &[]), want_b].concat());
    // The second response follows the first in the client's space.
    b.server_sends(rsp(&b, RSP_A.len() as u32, 80, RSP_A));
    let r2 = b.to_client.last().unwrap().clone();
    assert_eq!(r2.payload, RSP_A);
    assert_eq!(r2.seq, r.seq + RSP_A.len() as u32);
    assert_eq!(r2.ack, Some(after));
    // A third request after both: the header again.
    let end2 = r2.seq + RSP_A.len() as u32;
    b.client_sends(data(after, end2, 5005, GET_A));
    assert_eq!(
        b.server_got,
        [
            expected(GET_A, &[]),
            expected(
                get_b,
                &[
                    "x-forwarded-for: 1.2.3.4\r\n",
                    "X-Forwarded-Proto: https\r\n"
                ]
            ),
            expected(GET_A, &[]),
        ]
        .concat()
    );
    assert_eq!(b.count(Counter::ForwardedForInserted), 3);
    assert_eq!(b.count(Counter::ForwardedForReplaced), 1);
}

/// Requests sent ahead on other pooled connections carry it too.
#[test]
fn requests_sent_ahead_carry_it() {
    let mut b = bed(Incoming::Append, 3);
    for i in 2..5 {
        b.now = i * MS;
        let mut out = Out::default();
        b.p.poll_timers(b.now, &mut out);
        b.take(out);
    }
    assert_eq!(b.others.len(), 2, "three pooled connections");
    let get_c = b"GET /c HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 10.1.1.1\r\n\r\n";
    let iss = b.client_syn();
    let all = [GET_A, GET_B, get_c].concat();
    b.client_sends(data(CLIENT_ISN + 1, iss + 1, 5002, &all));
    assert_eq!(b.count(Counter::PipelinedDispatched), 2);
    let mut got: Vec<Vec<u8>> = b.others.values().map(|o| o.1.clone()).collect();
    got.push(b.server_got.clone());
    got.sort();
    let mut want = vec![
        expected(GET_A, &[]),
        expected(GET_B, &[]),
        b"GET /c HTTP/1.1\r\nX-Forwarded-For: 10.1.1.1, 198.18.0.2\r\nX-Forwarded-Proto: http\r\nHost: a\r\n\r\n".to_vec(),
    ];
    want.sort();
    assert_eq!(got, want);
    assert_eq!(b.count(Counter::ForwardedForInserted), 3);
    assert_eq!(b.count(Counter::ForwardedForAppended), 1);
}

/// Off (the default): the head goes as received, forged header and all.
#[test]
fn off_forwards_the_head_as_received() {
    let mut b = Bed::new();
    let head = b"GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n";
    b.client_sends_head(head);
    assert_eq!(b.count(Counter::ForwardedForInserted), 0);
}
