//! The access log's records of spliced requests, pipelined ones included, and of a
//! client that resets mid-response.

use super::*;
use crate::access::{AccessRecord, AccessRing, Term, RULE_BIND};
use std::sync::Arc;

fn logged_bed(pool: u16) -> (Bed, Arc<AccessRing>) {
    let mut b = Bed::with_pool(pool);
    let ring = AccessRing::new(64);
    b.p.set_access_log(ring.clone(), 1, 64);
    (b, ring)
}

fn drain(ring: &AccessRing) -> Vec<AccessRecord> {
    std::iter::from_fn(|| ring.pop()).collect()
}

#[test]
fn a_spliced_request_and_the_one_pipelined_behind_it_are_logged_in_order() {
    let (mut b, ring) = logged_bed(1);
    b.now = 10 * MS;
    let iss = b.client_sends_head(GET_A);
    let next = CLIENT_ISN + 1 + GET_A.len() as u32;
    b.now = 12 * MS;
    b.server_sends(response(&b, 0, 79, &RSP_A[..10]));
    b.client_sends(data(next, iss + 1, 5003, GET_B));
    b.now = 13 * MS;
    b.server_sends(response(&b, 10, 80, &RSP_A[10..]));
    assert!(drain(&ring).is_empty(), "not acknowledged yet: not ended");
    let rest = b.to_client.last().expect("relayed").clone();
    let end = rest.seq + rest.payload.len() as u32;
    b.now = 14 * MS;
    b.client_sends(Seg {
        seq: next + GET_B.len() as u32,
        ack: Some(end),
        ts: Some((5004, 0)),
        ..Seg::default()
    });
    let recs = drain(&ring);
    assert_eq!(recs.len(), 1, "/a ended, /b under way");
    let a = &recs[0];
    assert_eq!(a.line(), b"GET /a HTTP/1.1");
    assert_eq!(
        (a.status, a.term, a.real, a.rule),
        (200, Term::Normal, 0, RULE_BIND)
    );
    assert_eq!(a.bytes_in, GET_A.len() as u64);
    assert_eq!(a.bytes_out, RSP_A.len() as u64);
    assert_eq!((a.client, a.client_port), (CLIENT.octets(), 40000));
    assert_eq!((a.vip, a.vip_port), (VIP.octets(), 80));
    assert_eq!(
        (a.head_start, a.head_done, a.sent, a.first_byte, a.end),
        (10 * MS, 10 * MS, 10 * MS, 12 * MS, 14 * MS)
    );
    // /b: its server answers, the client acknowledges.
    b.now = 15 * MS;
    b.server_sends(response(&b, RSP_A.len() as u32, 81, RSP_A));
    let rest = b.to_client.last().expect("relayed").clone();
    b.now = 16 * MS;
    b.client_sends(Seg {
        seq: next + GET_B.len() as u32,
        ack: Some(rest.seq + rest.payload.len() as u32),
        ts: Some((5005, 0)),
        ..Seg::default()
    });
    let recs = drain(&ring);
    assert_eq!(recs.len(), 1);
    let bb = &recs[0];
    assert_eq!(bb.line(), b"GET /b HTTP/1.1");
    assert_eq!((bb.status, bb.term), (200, Term::Normal));
    assert_eq!(bb.bytes_in, GET_B.len() as u64);
    assert_eq!(bb.bytes_out, RSP_A.len() as u64);
    // Pipelined: its head was read when /a's response ended.
    assert_eq!(
        (bb.head_done, bb.sent, bb.first_byte, bb.end),
        (14 * MS, 14 * MS, 15 * MS, 16 * MS)
    );
    assert!(bb.head_start <= bb.head_done);
}

#[test]
fn a_client_reset_mid_response_is_logged_as_such() {
    let (mut b, ring) = logged_bed(1);
    let iss = b.client_sends_head(GET_A);
    // The response's head and one byte of its body.
    let part = &RSP_A[..RSP_A.len() - 2];
    b.server_sends(response(&b, 0, 79, part));
    b.client_sends(Seg {
        seq: CLIENT_ISN + 1 + GET_A.len() as u32,
        ack: Some(iss + 1),
        flags: RST,
        ..Seg::default()
    });
    let recs = drain(&ring);
    assert_eq!(recs.len(), 1);
    assert_eq!((recs[0].status, recs[0].term), (200, Term::ClientAborted));
    assert_eq!(recs[0].bytes_out, part.len() as u64);
}

#[test]
fn three_requests_sent_ahead_are_three_records() {
    let (mut b, ring) = logged_bed(3);
    let t = pipelined::three_pipelined_gets(&mut b);
    assert!(drain(&ring).is_empty());
    // A reset ends the three requests: each gets its line, none is lost.
    b.client_sends(Seg {
        seq: t.end,
        ack: Some(b.to_client.last().map_or(0, |s| s.ack.unwrap_or(0))),
        flags: RST,
        ..Seg::default()
    });
    let mut recs = drain(&ring);
    recs.sort_by_key(|r| r.line().to_vec());
    let lines: Vec<&[u8]> = recs.iter().map(|r| r.line()).collect();
    assert_eq!(
        lines,
        [
            &b"GET /a HTTP/1.1"[..],
            b"GET /b HTTP/1.1",
            b"GET /c HTTP/1.1"
        ]
    );
    assert!(recs
        .iter()
        .all(|r| r.term == Term::ClientAborted && r.real == 0));
}

#[test]
fn a_server_reset_before_the_response_is_a_502_of_the_server() {
    let (mut b, ring) = logged_bed(1);
    b.client_sends_head(GET_A);
    // The only real resets its pooled connection: the request goes again on a new
    // one (the keep-alive race), which it resets too: the client gets 502.
    let rst = Seg {
        seq: SERVER_ISN + 1,
        flags: RST,
        ..Seg::default()
    };
    b.server_sends(rst.clone());
    let port = *b
        .others
        .keys()
        .next()
        .expect("sent again on a new connection");
    b.others.clear();
    b.deliver_from_server(frame((SERVER, 80), (INSIDE, port), &rst));
    assert!(b
        .to_client
        .iter()
        .any(|s| s.payload.starts_with(b"HTTP/1.1 502 ")));
    let recs = drain(&ring);
    assert_eq!(recs.len(), 1, "{recs:?}");
    let r = &recs[0];
    assert_eq!((r.status, r.term, r.real), (502, Term::ServerFailedHead, 0));
    assert_eq!(r.line(), b"GET /a HTTP/1.1");
    assert_eq!(r.first_byte, 0, "no byte of a response came");
}
