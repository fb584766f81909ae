//! A server that closes its connection after a complete response (it answered
//! `Connection: close`, or reached its keep-alive limit): Splicer asks the client for
//! its ACK at once, so that the server is not left waiting for it long enough to
//! retransmit.

use super::*;

/// The server's response, then its FIN, as nginx sends them to a `Connection: close`
/// request: the client gets the response and, right after the FIN, a segment one below
/// what it acknowledged last, which it must answer at once; its ACK finishes the leg
/// and Splicer acknowledges the server's FIN with its own.
#[test]
fn a_server_fin_after_the_response_asks_the_client_for_its_ack() {
    let mut b = Bed::new();
    let iss = b.client_sends_head(GET_A);
    let next = CLIENT_ISN + 1 + GET_A.len() as u32;
    b.server_sends(response(&b, 0, 79, RSP_A));
    let rsp = b.to_client.last().expect("relayed").clone();
    assert_eq!(rsp.payload, RSP_A);
    assert_eq!(rsp.seq, iss + 1);
    let before = b.to_client.len();
    b.server_sends(Seg {
        seq: SERVER_ISN + 1 + RSP_A.len() as u32,
        ack: Some(b.server_rcv),
        flags: FIN,
        ts: Some((80, 0)),
        ..Seg::default()
    });
    assert_eq!(b.count(Counter::ClientAckRequests), 1);
    let probe = b.to_client[before..]
        .iter()
        .find(|s| s.payload.is_empty() && s.flags & (FIN | RST | SYN) == 0)
        .expect("an ACK request to the client")
        .clone();
    assert_eq!(
        b.to_client.len(),
        before + 1,
        "one segment: {:?}",
        &b.to_client[before..]
    );
    // One below the last byte the client acknowledged (the end of its handshake):
    // outside its window, so the client answers at once.
    assert_eq!(probe.seq, iss);
    assert_eq!(
        probe.ack,
        Some(next),
        "the request acknowledged, nothing more"
    );
    assert!(
        b.to_server.iter().all(|s| s.flags & FIN == 0),
        "the server's FIN is not acknowledged before the client has the response"
    );
    // The client's answer: it has the whole response.
    b.client_sends(Seg {
        seq: next,
        ack: Some(iss + 1 + RSP_A.len() as u32),
        ts: Some((5004, 0)),
        ..Seg::default()
    });
    assert_eq!(b.count(Counter::ResponsesComplete), 1);
    let fin_ack = SERVER_ISN + 1 + RSP_A.len() as u32 + 1;
    assert!(
        b.to_server
            .iter()
            .any(|s| s.flags & FIN != 0 && s.ack == Some(fin_ack)),
        "Splicer closes its side, acknowledging the server's FIN: {:?}",
        b.to_server
    );
}

/// The FIN in the response's last segment: the request follows the data, never
/// before it (the client's answer must cover the response).
#[test]
fn a_fin_with_the_response_asks_for_the_ack_after_the_data() {
    let mut b = Bed::new();
    let iss = b.client_sends_head(GET_A);
    let before = b.to_client.len();
    let mut last = response(&b, 0, 79, RSP_A);
    last.flags |= FIN;
    b.server_sends(last);
    let sent = &b.to_client[before..];
    assert_eq!(sent.len(), 2, "the response, then the request: {sent:?}");
    assert_eq!(sent[0].payload, RSP_A);
    assert_eq!(
        sent[0].flags & FIN,
        0,
        "the server's FIN is not the client's"
    );
    assert!(sent[1].payload.is_empty());
    assert_eq!(sent[1].seq, iss);
    assert_eq!(b.count(Counter::ClientAckRequests), 1);
}

/// A server that stays open after its response (keep-alive) is not probed for: the
/// client's next request carries its ACK, as usual.
#[test]
fn a_keep_alive_response_asks_for_nothing() {
    let mut b = Bed::new();
    b.client_sends_head(GET_A);
    let before = b.to_client.len();
    b.server_sends(response(&b, 0, 79, RSP_A));
    assert_eq!(b.to_client.len(), before + 1, "the response alone");
    assert_eq!(b.count(Counter::ClientAckRequests), 0);
}
