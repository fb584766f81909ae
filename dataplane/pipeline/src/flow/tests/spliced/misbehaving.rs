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
        let mut b = Bed::new();
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
