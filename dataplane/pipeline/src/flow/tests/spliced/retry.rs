//! A pooled connection that the server closes or resets as a request goes out on it
//! (the keep-alive race, e2e `t_misbehave_server`): the request, safe and without a
//! body, goes again to the same real on a new connection, once (`redispatch`).

use super::*;

const RSP_B: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nbbb";

/// The client's first request answered and acknowledged, then `second` sent on the
/// same client connection: it goes out on the same pooled server connection (the
/// bed's followed one). Returns the client's next sequence number and ACK.
fn second_request_on_the_pooled_connection(b: &mut Bed, second: &[u8]) -> (u32, u32) {
    b.client_sends_head(GET_A);
    b.server_sends(response(b, 0, 79, RSP_A));
    let rest = b.to_client.last().expect("relayed").clone();
    assert_eq!(rest.payload, RSP_A);
    let next = CLIENT_ISN + 1 + GET_A.len() as u32;
    let ack = rest.seq + RSP_A.len() as u32;
    b.now += 50 * MS;
    b.client_sends(data(next, ack, 5003, second));
    assert_eq!(
        b.server_got,
        [GET_A, second].concat(),
        "the second request went out on the pooled connection"
    );
    (next + second.len() as u32, ack)
}

/// The server's segment on the followed connection after its response to GET_A.
fn server_after_response(b: &mut Bed, flags: u8) {
    b.server_sends(Seg {
        seq: SERVER_ISN + 1 + RSP_A.len() as u32,
        ack: Some(b.server_rcv),
        flags,
        ..Seg::default()
    });
}

/// What the server's other connections received.
fn others_got(b: &Bed) -> Vec<Vec<u8>> {
    b.others
        .values()
        .filter(|(_, g)| !g.is_empty())
        .map(|(_, g)| g.clone())
        .collect()
}

fn client_bytes(b: &Bed, from: usize) -> Vec<u8> {
    b.to_client[from..]
        .iter()
        .flat_map(|s| s.payload.clone())
        .collect()
}

/// The other connection `port` answers RSP_B to what it got.
fn other_answers(b: &mut Bed, port: u16) {
    let rcv = b.others[&port].0;
    let f = frame(
        (SERVER, 80),
        (INSIDE, port),
        &Seg {
            seq: SERVER_ISN + 1,
            ack: Some(rcv),
            flags: PSH,
            ts: Some((90, 0)),
            payload: RSP_B.to_vec(),
            ..Seg::default()
        },
    );
    b.deliver_from_server(f);
}

#[test]
fn a_request_whose_pooled_connection_is_reset_under_it_goes_again_on_a_new_one() {
    for flags in [RST, FIN] {
        // One real, one pooled connection: there is no other real to route it to.
        let mut b = Bed::new();
        second_request_on_the_pooled_connection(&mut b, GET_B);
        let before = b.to_client.len();
        server_after_response(&mut b, flags);
        assert_eq!(
            others_got(&b),
            [GET_B],
            "flags {flags}: sent again on a new connection: {:?}",
            b.to_server
        );
        assert_eq!(b.count(Counter::RequestsRetried), 1);
        assert_eq!(b.count(Counter::BadGateway), 0);
        assert_eq!(b.count(Counter::HealthRoutedAgain), 0);
        let port = *b.others.keys().next().expect("a new connection");
        other_answers(&mut b, port);
        assert_eq!(
            client_bytes(&b, before),
            RSP_B,
            "flags {flags}: the client gets the answer, nothing else"
        );
        assert!(
            b.to_client[before..]
                .iter()
                .all(|s| s.flags & (FIN | RST) == 0),
            "flags {flags}: the client connection goes on"
        );
    }
}

#[test]
fn a_request_sent_again_and_lost_again_is_answered_502() {
    let mut b = Bed::new();
    second_request_on_the_pooled_connection(&mut b, GET_B);
    let before = b.to_client.len();
    server_after_response(&mut b, RST);
    let port = *b.others.keys().next().expect("a new connection");
    assert_eq!(b.others[&port].1, GET_B);
    // The new connection resets it too: never a third time.
    let f = frame(
        (SERVER, 80),
        (INSIDE, port),
        &Seg {
            seq: SERVER_ISN + 1,
            flags: RST,
            ..Seg::default()
        },
    );
    b.others.clear();
    b.deliver_from_server(f);
    assert!(others_got(&b).is_empty(), "not sent a third time");
    assert!(
        client_bytes(&b, before).starts_with(b"HTTP/1.1 502 "),
        "{:?}",
        String::from_utf8_lossy(&client_bytes(&b, before))
    );
    assert_eq!(b.count(Counter::RequestsRetried), 1);
    assert_eq!(b.count(Counter::BadGateway), 1);
}

#[test]
fn a_request_with_a_body_or_not_safe_is_not_sent_again() {
    let post: &[u8] = b"POST /b HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nab";
    let delete: &[u8] = b"DELETE /b HTTP/1.1\r\nHost: a\r\n\r\n";
    for request in [post, delete] {
        let mut b = Bed::new();
        second_request_on_the_pooled_connection(&mut b, request);
        let before = b.to_client.len();
        server_after_response(&mut b, RST);
        assert!(others_got(&b).is_empty());
        assert!(client_bytes(&b, before).starts_with(b"HTTP/1.1 502 "));
        assert_eq!(b.count(Counter::RequestsRetried), 0);
    }
}

#[test]
fn a_request_on_a_connection_opened_for_it_is_not_sent_again_to_that_real() {
    // The pooled connection is taken by a first client that keeps it; the second
    // client's request opens a connection of its own, which the server resets: the
    // real is suspect, and there is no other (today's 502).
    let mut b = Bed::new();
    b.client_sends_head(GET_A);
    let syn = Seg {
        seq: CLIENT_ISN,
        flags: SYN,
        ts: Some((5000, 0)),
        ..Seg::default()
    };
    let other_client = |s: &Seg| frame((CLIENT, 40001), (VIP, 80), s);
    let mut out = Out::default();
    b.p.receive(0, other_client(&syn), b.now, &mut out);
    let (_, _, syn_ack) = parse(&out.tx[0]);
    let mut out = Out::default();
    let head = Seg {
        seq: CLIENT_ISN + 1,
        ack: Some(syn_ack.seq.wrapping_add(1)),
        flags: PSH,
        ts: Some((5001, 0)),
        payload: GET_B.to_vec(),
        ..Seg::default()
    };
    b.p.receive(0, other_client(&head), b.now, &mut out);
    b.take(out);
    let port = *b.others.keys().next().expect("a connection opened for it");
    assert_eq!(b.others[&port].1, GET_B);
    let f = frame(
        (SERVER, 80),
        (INSIDE, port),
        &Seg {
            seq: SERVER_ISN + 1,
            flags: RST,
            ..Seg::default()
        },
    );
    b.others.clear();
    b.deliver_from_server(f);
    assert!(others_got(&b).is_empty(), "not sent again to that real");
    assert_eq!(b.count(Counter::RequestsRetried), 0);
    assert_eq!(b.count(Counter::BadGateway), 1);
}
