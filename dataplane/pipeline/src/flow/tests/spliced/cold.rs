//! The cold parts of a client connection (issue 12's hot/cold split, `cold.rs`): a
//! spliced client with nothing buffered behind its request carries no pending request
//! and no head buffer, and its next request (keep-alive) is read into a spare buffer;
//! its server connection gives the copy of the head it sent back once the response has
//! started.

use super::*;
use crate::flow::table::Conn;
use crate::flow::FlowTable;

/// The one client connection of the bed: (pending request?, head buffer capacity).
fn client_cold(b: &Bed) -> (bool, usize) {
    let mut clients = b.p.flows.conns().filter_map(|c| match c {
        Conn::Client(c) => Some((c.pending.is_some(), c.head.capacity())),
        Conn::Server(_) => None,
    });
    let c = clients.next().expect("a client connection");
    assert!(clients.next().is_none(), "one client connection");
    c
}

#[test]
fn a_spliced_client_carries_no_cold_state() {
    let mut b = Bed::new();
    let iss = b.client_sends_head(GET_A);
    assert_eq!(
        client_cold(&b),
        (false, 0),
        "spliced: no pending request, the head buffer given back"
    );
    b.server_sends(response(&b, 0, 79, RSP_A));
    let rest = b.to_client.last().expect("relayed").clone();
    assert_eq!(rest.payload, RSP_A);
    let next = CLIENT_ISN + 1 + GET_A.len() as u32;
    b.client_sends(Seg {
        seq: next,
        ack: Some(rest.seq + RSP_A.len() as u32),
        ts: Some((5003, 0)),
        ..Seg::default()
    });
    let (pending, capacity) = client_cold(&b);
    assert!(!pending);
    assert!(capacity > 0, "reading the next head: a spare buffer");
    // The next request is read and spliced as the first was.
    b.client_sends(data(next, iss + 1 + RSP_A.len() as u32, 5004, GET_B));
    assert_eq!(b.server_got, [GET_A, GET_B].concat());
    assert_eq!(b.count(Counter::Splices), 2);
    assert_eq!(client_cold(&b), (false, 0));
}

/// The one server connection of the bed's pool: its head copy's capacity.
fn server_head_copy(b: &Bed) -> usize {
    let mut servers = b.p.flows.conns().filter_map(|c| match c {
        Conn::Server(s) => Some(s.out.capacity()),
        Conn::Client(_) => None,
    });
    let s = servers.next().expect("a server connection");
    assert!(servers.next().is_none(), "one server connection");
    s
}

#[test]
fn a_streaming_server_leg_holds_no_head_copy() {
    let mut b = Bed::new();
    let iss = b.client_sends_head(GET_A);
    assert!(
        server_head_copy(&b) >= GET_A.len(),
        "until the response starts, the head may be sent to another real"
    );
    // The response's first bytes (the server acknowledged the head): the copy goes back.
    b.server_sends(response(&b, 0, 79, &RSP_A[..10]));
    assert_eq!(b.to_client.last().expect("relayed").payload, &RSP_A[..10]);
    assert_eq!(
        server_head_copy(&b),
        0,
        "given back at the response's start"
    );
    b.server_sends(response(&b, 10, 80, &RSP_A[10..]));
    let rest = b.to_client.last().expect("relayed").clone();
    assert_eq!(rest.payload, &RSP_A[10..]);
    // The next request (keep-alive, same pooled connection) takes a spare buffer and
    // reaches the server whole.
    let next = CLIENT_ISN + 1 + GET_A.len() as u32;
    b.client_sends(data(
        next,
        rest.seq + (RSP_A.len() - 10) as u32,
        5004,
        GET_B,
    ));
    assert_eq!(b.server_got, [GET_A, GET_B].concat());
    assert_eq!(b.count(Counter::Splices), 2);
    assert!(server_head_copy(&b) >= GET_B.len());
    let _ = iss;
}

#[test]
fn pending_boxes_are_recycled() {
    use crate::flow::client::{HeadEdit, Pending};
    use splicer_http::BodyFramer;
    let pending = |consumed| Pending {
        real: None,
        cost: 1,
        consumed,
        edit: HeadEdit::None,
        head_request: false,
        keep_alive: true,
        close_kept_off: false,
        body: BodyFramer::Done,
        retried: false,
    };
    let mut t = FlowTable::new(4);
    let a = t.boxed_pending(pending(1));
    let at = &*a as *const Pending;
    t.recycle_pending(a);
    let b = t.boxed_pending(pending(2));
    assert_eq!(&*b as *const Pending, at, "the spare box, not a new one");
    assert_eq!(b.consumed, 2);
    let c = t.boxed_pending(pending(3));
    assert_ne!(&*c as *const Pending, at, "none spare: a new box");
}
