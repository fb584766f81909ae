//! A server's response segments that arrive out of order on a splice (`ahead`): body
//! bytes go on to the client at once, bytes the framer must read wait for the server
//! to send them again.

use super::*;

const RSP: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\naaaabbbbcccc";

/// Offset of the body in `RSP`.
fn body_at() -> u32 {
    (RSP.len() - 12) as u32
}

/// The client acknowledges the response up to client seq `ack`.
fn client_acks(b: &mut Bed, ack: u32, tsval: u32) {
    b.client_sends(Seg {
        seq: CLIENT_ISN + 1 + GET_A.len() as u32,
        ack: Some(ack),
        ts: Some((tsval, 0)),
        ..Seg::default()
    });
}

/// The client acknowledges all of `rsp` (Splicer's ISN `iss`) and sends GET_B: the
/// server connection, back in the pool, carries it.
fn client_takes_the_next(b: &mut Bed, iss: u32, rsp: &[u8]) {
    let end = iss + 1 + rsp.len() as u32;
    client_acks(b, end, 5003);
    b.client_sends(data(CLIENT_ISN + 1 + GET_A.len() as u32, end, 5004, GET_B));
    assert_eq!(b.server_got, [GET_A, GET_B].concat());
}

/// Body bytes past a gap reach the client at once, at their place in its sequence
/// space; once the gap is filled the response is complete, and the server connection
/// carries the next request (the framer counted the bytes it never saw again).
#[test]
fn body_bytes_past_a_gap_are_forwarded_and_counted_when_it_fills() {
    let mut b = Bed::new();
    let iss = b.client_sends_head(GET_A);
    let at = body_at();
    b.server_sends(response(&b, 0, 79, &RSP[..at as usize + 4]));
    // "cccc" before "bbbb".
    b.server_sends(response(&b, at + 8, 80, b"cccc"));
    assert_eq!(b.count(Counter::DropServerOutOfOrder), 0);
    assert_eq!(b.count(Counter::ServerForwardedAhead), 1);
    let ahead = b.to_client.last().expect("forwarded").clone();
    assert_eq!(ahead.payload, b"cccc");
    assert_eq!(
        ahead.seq,
        iss + 1 + at + 8,
        "at its place in the client's space"
    );
    b.server_sends(response(&b, at + 4, 81, b"bbbb"));
    let filled = b.to_client.last().expect("forwarded").clone();
    assert_eq!(filled.payload, b"bbbb");
    // The client has it all: the connection goes back to the pool and takes the next
    // request, which it could not if the framer still waited for "cccc".
    client_takes_the_next(&mut b, iss, RSP);
    assert_eq!(b.count(Counter::Splices), 2);
}

/// Several holes, and a retransmission that covers a gap and part of what was
/// forwarded past it: the framer still ends the response at its last byte.
#[test]
fn overlapping_retransmissions_and_several_gaps_end_at_the_right_byte() {
    let mut b = Bed::new();
    let iss = b.client_sends_head(GET_A);
    let at = body_at();
    b.server_sends(response(&b, 0, 79, &RSP[..at as usize]));
    b.server_sends(response(&b, at + 10, 80, b"cc"));
    b.server_sends(response(&b, at + 4, 81, b"bb"));
    assert_eq!(b.count(Counter::ServerForwardedAhead), 2);
    // "aaaabb" fills the first gap and repeats "bb".
    b.server_sends(response(&b, at, 82, b"aaaabb"));
    // "bbcc" fills the second.
    b.server_sends(response(&b, at + 6, 83, b"bbcc"));
    client_takes_the_next(&mut b, iss, RSP);
    assert_eq!(b.count(Counter::ServerUnexpectedData), 0);
}

/// A segment past a gap that holds bytes the framer must read (here the end of the
/// head) is dropped and counted; the server sends it again.
#[test]
fn head_bytes_past_a_gap_are_dropped() {
    let mut b = Bed::new();
    b.client_sends_head(GET_A);
    let sent = b.to_client.len();
    b.server_sends(response(&b, 0, 79, &RSP[..10]));
    b.server_sends(response(&b, 20, 80, &RSP[20..]));
    assert_eq!(b.count(Counter::DropServerOutOfOrder), 1);
    assert_eq!(b.count(Counter::ServerForwardedAhead), 0);
    assert!(b.to_client[sent..].iter().all(|s| s.payload != RSP[20..]));
}

/// A chunked body: chunk data past a gap is forwarded, a chunk-size line is not.
#[test]
fn chunk_data_past_a_gap_is_forwarded_size_lines_are_not() {
    let rsp: &[u8] =
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\naaaabbbb\r\n3\r\nccc\r\n0\r\n\r\n";
    let mut b = Bed::new();
    let iss = b.client_sends_head(GET_A);
    let data_at = rsp.windows(8).position(|w| w == b"aaaabbbb").unwrap() as u32;
    b.server_sends(response(&b, 0, 79, &rsp[..data_at as usize + 2]));
    // Chunk data only: forwarded.
    b.server_sends(response(&b, data_at + 4, 80, b"bbbb"));
    assert_eq!(b.count(Counter::ServerForwardedAhead), 1);
    // The CRLF after the chunk and the next size line: dropped.
    b.server_sends(response(&b, data_at + 8, 81, &rsp[data_at as usize + 8..]));
    assert_eq!(b.count(Counter::DropServerOutOfOrder), 1);
    b.server_sends(response(&b, data_at + 2, 82, b"aa"));
    b.server_sends(response(&b, data_at + 8, 83, &rsp[data_at as usize + 8..]));
    client_takes_the_next(&mut b, iss, rsp);
}

/// More holes than `ahead` keeps ranges for: every body segment still goes on at once,
/// and the client's acknowledgement of the whole response ends it.
#[test]
fn more_holes_than_ranges_end_with_the_clients_ack() {
    let body: Vec<u8> = (0..40u8).map(|i| b'a' + i % 26).collect();
    let rsp = [&b"HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n"[..], &body].concat();
    let at = (rsp.len() - 40) as u32;
    let mut b = Bed::new();
    let iss = b.client_sends_head(GET_A);
    b.server_sends(response(&b, 0, 79, &rsp[..at as usize]));
    let _ = &body;
    // Bytes 4..8, 12..16, ... 36..40 first: five islands, five holes.
    for k in 0..5u32 {
        let from = (at + 8 * k + 4) as usize;
        b.server_sends(response(&b, at + 8 * k + 4, 80 + k, &rsp[from..from + 4]));
    }
    assert_eq!(b.count(Counter::ServerForwardedAhead), 5);
    assert_eq!(b.count(Counter::DropServerOutOfOrder), 0);
    // Then the holes, in order.
    for k in 0..5u32 {
        let from = (at + 8 * k) as usize;
        b.server_sends(response(&b, at + 8 * k, 90 + k, &rsp[from..from + 4]));
    }
    client_takes_the_next(&mut b, iss, &rsp);
    assert_eq!(b.count(Counter::ServerUnexpectedData), 0);
}

/// `Expect: 100-continue`: the server's interim 100 reaches the client before the body
/// is sent, then the final response after it.
#[test]
fn an_interim_100_reaches_the_client() {
    let put: &[u8] =
        b"PUT /dav/x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n";
    let mut b = Bed::new();
    let iss = b.client_sends_head(put);
    let sent = b.to_client.len();
    let cont: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";
    b.server_sends(response(&b, 0, 79, cont));
    let got: Vec<u8> = b.to_client[sent..]
        .iter()
        .flat_map(|s| s.payload.clone())
        .collect();
    assert_eq!(got, cont, "{:?}", &b.to_client[sent..]);
    b.client_sends(data(
        CLIENT_ISN + 1 + put.len() as u32,
        iss + 1 + cont.len() as u32,
        5003,
        b"hello",
    ));
    assert_eq!(b.server_got, [put, b"hello"].concat());
}
