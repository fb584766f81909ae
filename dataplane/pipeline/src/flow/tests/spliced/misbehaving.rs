//! Servers that break HTTP/1.1 on a pooled connection (e2e `t_misbehave_server`).

use super::*;

/// A response head Splicer cannot frame (`Content-Length` with `Transfer-Encoding`, two
/// `Content-Length` values) on a server connection that stays open: relayed "until the
/// close", the server never closed it, so the client waited and the connection held its
/// real's `maxconns` slot until `server_idle_timeout`; and the client got a head a
/// downstream cache could frame otherwise (a split response). Before any byte of it
/// reached the client, the client gets 502 instead and the connection is reset, as
/// nginx and HAProxy answer such an upstream.
#[test]
fn an_unframeable_head_is_answered_502_and_the_connection_reset() {
    let heads: [&[u8]; 2] = [
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 50\r\n\r\nok\n",
    ];
    for rsp in heads {
        // At `maxconns = 1` a request routed again after the reset would wait for this
        // real and get the same head again, without end.
        let mut b = Bed::with_real(1, 1, one_real_service());
        b.client_sends_head(GET_A);
        let before = b.to_client.len();
        b.server_sends(response(&b, 0, 79, rsp));
        assert_eq!(b.count(Counter::ServerFramingErrors), 1);
        let sent: Vec<u8> = b.to_client[before..]
            .iter()
            .flat_map(|s| s.payload.clone())
            .collect();
        assert!(
            sent.starts_with(b"HTTP/1.1 502 "),
            "the client gets 502, not the head: {:?}",
            String::from_utf8_lossy(&sent)
        );
        assert!(
            b.to_server
                .iter()
                .any(|s| s.port == b.local_port && s.flags & RST != 0),
            "the server connection is reset"
        );
        assert_eq!(b.count(Counter::BadGateway), 1);
        for i in 2..40 {
            b.now = i * 100 * MS;
            let mut out = Out::default();
            b.p.poll_timers(b.now, &mut out);
            b.take(out);
        }
        assert_eq!(b.count(Counter::HealthRoutedAgain), 0, "not routed again");
        let again: usize = b.others.values().map(|(_, g)| g.len()).sum();
        assert_eq!(again, 0, "the request went to the server once");
    }
}

fn one_real_service() -> Service {
    Service {
        address: SocketAddrV4::new(VIP, 80),
        virtual_index: 0,
        max_request_head: HEAD_LIMIT,
        max_pipeline: Service::DEFAULT_MAX_PIPELINE,
        max_held: Service::DEFAULT_MAX_HELD,
        forward_for: Default::default(),
        server_close: Default::default(),
    }
}

/// A server that sends more than its response (a second response nobody asked for, a
/// body on a 204): the extra bytes never reach the client and the server connection is
/// not reused. The client's response was whole and framed, so its connection goes on:
/// its next request is spliced onto another server connection. (It was closed: a
/// request it had sent meanwhile got a bare FIN, and a keep-alive POST cannot be
/// repeated safely.)
#[test]
fn bytes_past_a_response_spoil_the_server_connection_not_the_client() {
    let mut b = Bed::new();
    let iss = b.client_sends_head(GET_A);
    let smuggled: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nsmuggled\n";
    b.server_sends(response(&b, 0, 79, &[RSP_A, smuggled].concat()));
    let rest = b.to_client.last().expect("relayed").clone();
    assert_eq!(rest.payload, RSP_A, "the extra bytes are cut");
    assert_eq!(b.count(Counter::ServerUnexpectedData), 1);
    let next = CLIENT_ISN + 1 + GET_A.len() as u32;
    let end = rest.seq + RSP_A.len() as u32;
    b.client_sends(data(next, end, 5003, GET_B));
    assert!(
        b.to_client.iter().all(|s| s.flags & (FIN | RST) == 0),
        "the client connection goes on: {:?}",
        b.to_client
    );
    assert!(
        b.to_server
            .iter()
            .any(|s| s.port == b.local_port && s.flags & (FIN | RST) != 0),
        "the spoiled server connection is closed"
    );
    let got: Vec<u8> = b.others.values().flat_map(|(_, g)| g.clone()).collect();
    assert_eq!(
        got, GET_B,
        "the next request goes to another server connection"
    );
    assert_eq!(b.server_got, GET_A, "never to the spoiled one");
    let _ = iss;
}

/// A server that resets every request before answering, the only real of its set, at
/// `maxconns = 1`: the request is routed again at most once, then answered 502; it
/// must not go round between the queue and the same real.
#[test]
fn a_real_that_resets_before_answering_gets_the_request_at_most_twice() {
    let mut b = Bed::with_real(1, 1, one_real_service());
    b.client_sends_head(GET_A);
    let rst = Seg {
        seq: SERVER_ISN + 1,
        flags: RST,
        ..Seg::default()
    };
    b.server_sends(rst);
    for i in 2..40 {
        b.now = i * 100 * MS;
        let mut out = Out::default();
        b.p.poll_timers(b.now, &mut out);
        b.take(out);
        // Every later connection resets the request as soon as it has it.
        let ports: Vec<u16> = b
            .others
            .iter()
            .filter(|(_, (_, g))| !g.is_empty())
            .map(|(&p, _)| p)
            .collect();
        for p in ports {
            b.others.remove(&p);
            let f = frame(
                (SERVER, 80),
                (INSIDE, p),
                &Seg {
                    seq: SERVER_ISN + 1,
                    flags: RST,
                    ..Seg::default()
                },
            );
            b.deliver_from_server(f);
        }
    }
    assert!(
        b.count(Counter::HealthRoutedAgain) <= 1,
        "routed again {} times",
        b.count(Counter::HealthRoutedAgain)
    );
    assert_eq!(b.count(Counter::BadGateway), 1, "answered 502");
}

/// A server that closes halfway through its response head: the client, which has the
/// first half, is reset; it never gets Splicer's 502 after those bytes (it would read
/// the two as one response: a 200 whose body is Splicer's error page).
#[test]
fn a_server_closing_mid_head_resets_a_client_that_has_part_of_it() {
    let mut b = Bed::new();
    b.client_sends_head(GET_A);
    let before = b.to_client.len();
    let half: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Le";
    b.server_sends(response(&b, 0, 79, half));
    b.server_sends(Seg {
        flags: FIN,
        ..response(&b, half.len() as u32, 80, b"")
    });
    let sent: Vec<u8> = b.to_client[before..]
        .iter()
        .flat_map(|s| s.payload.clone())
        .collect();
    assert_eq!(sent, half, "{:?}", String::from_utf8_lossy(&sent));
    assert!(b.to_client.last().is_some_and(|s| s.flags & RST != 0));
}

/// A server that resets its connection right after a complete response (a close with
/// `SO_LINGER` 0), before the client has acknowledged it: the response is whole, so the
/// client keeps its connection, as after a FIN there; its next request goes to another
/// server connection. (The client was reset: its next request, sent at once, was lost.)
#[test]
fn a_reset_after_a_complete_response_leaves_the_client_connection_open() {
    let mut b = Bed::new();
    b.client_sends_head(GET_A);
    b.server_sends(response(&b, 0, 79, RSP_A));
    let rest = b.to_client.last().expect("relayed").clone();
    assert_eq!(rest.payload, RSP_A);
    b.server_sends(Seg {
        seq: SERVER_ISN + 1 + RSP_A.len() as u32,
        flags: RST,
        ..Seg::default()
    });
    assert_eq!(b.count(Counter::ServerResets), 1);
    assert!(
        b.to_client.iter().all(|s| s.flags & (FIN | RST) == 0),
        "the client keeps its connection: {:?}",
        b.to_client
    );
    let next = CLIENT_ISN + 1 + GET_A.len() as u32;
    b.client_sends(data(next, rest.seq + RSP_A.len() as u32, 5003, GET_B));
    assert!(b.to_client.iter().all(|s| s.flags & (FIN | RST) == 0));
    let got: Vec<u8> = b.others.values().flat_map(|(_, g)| g.clone()).collect();
    assert_eq!(
        got, GET_B,
        "the next request goes to another server connection"
    );
    assert_eq!(b.count(Counter::ResponsesComplete), 1);
}

/// An HTTP/1.0 server on a pooled connection answers without a length: its response
/// ends at its close, which the client must learn of from Splicer's FIN (it reads to
/// the close too).
#[test]
fn a_response_that_ends_at_the_close_closes_the_client() {
    let mut b = Bed::new();
    b.client_sends_head(GET_A);
    let rsp: &[u8] = b"HTTP/1.0 200 OK\r\n\r\nbody until the close";
    b.server_sends(response(&b, 0, 79, rsp));
    let data_seg = b.to_client.last().expect("relayed").clone();
    let next = CLIENT_ISN + 1 + GET_A.len() as u32;
    let data_end = data_seg.seq + rsp.len() as u32;
    // The client acknowledges the data, then the server's FIN comes on its own.
    b.client_sends(Seg {
        seq: next,
        ack: Some(data_end),
        ts: Some((5003, 0)),
        ..Seg::default()
    });
    b.server_sends(Seg {
        flags: FIN,
        ..response(&b, rsp.len() as u32, 80, b"")
    });
    b.client_sends(Seg {
        seq: next,
        ack: Some(data_end + 1),
        ts: Some((5004, 0)),
        ..Seg::default()
    });
    assert!(
        b.to_client.iter().any(|s| s.flags & FIN != 0),
        "the client gets a FIN: {:?}",
        b.to_client
    );
}
