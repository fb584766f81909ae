//! `virtual.server_close`: a client's `Connection: close` kept off its pooled server
//! connection, and written into the response instead (HAProxy's `http-server-close`).

use super::*;
use splicer_http::ServerClose;

fn bed(server_close: ServerClose) -> Bed {
    Bed::with_service(
        1,
        Service {
            address: SocketAddrV4::new(VIP, 80),
            virtual_index: 0,
            max_request_head: HEAD_LIMIT,
            max_pipeline: Service::DEFAULT_MAX_PIPELINE,
            max_held: Service::DEFAULT_MAX_HELD,
            forward_for: Default::default(),
            server_close,
        },
    )
}

const CLOSE_A: &[u8] = b"GET /a HTTP/1.1\r\nHost: a\r\nConnection: close\r\nAccept: */*\r\n\r\n";
const KEPT_A: &[u8] = b"GET /a HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n";
/// As nginx answers on a keep-alive connection.
const RSP_KA: &[u8] =
    b"HTTP/1.1 200 OK\r\nServer: nginx\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\naaa";
const RSP_CLOSED: &[u8] =
    b"HTTP/1.1 200 OK\r\nServer: nginx\r\nConnection: close     \r\nContent-Length: 3\r\n\r\naaa";

/// What the client got of the response, in order, from Splicer's ISN + 1 on.
fn client_bytes(b: &Bed, iss: u32) -> Vec<u8> {
    let mut got = Vec::new();
    for s in b.to_client.iter().filter(|s| !s.payload.is_empty()) {
        let at = s.seq.wrapping_sub(iss + 1) as usize;
        if got.len() < at + s.payload.len() {
            got.resize(at + s.payload.len(), 0);
        }
        got[at..at + s.payload.len()].copy_from_slice(&s.payload);
    }
    got
}

/// The client acknowledges everything it got.
fn client_acks(b: &mut Bed, iss: u32, head: &[u8], got: usize) {
    b.client_sends(Seg {
        seq: CLIENT_ISN + 1 + head.len() as u32,
        ack: Some(iss + 1 + got as u32),
        ts: Some((5010, 0)),
        ..Seg::default()
    });
}

fn server_fin_or_rst(b: &Bed) -> bool {
    b.to_server.iter().any(|s| s.flags & (FIN | RST) != 0)
}

#[test]
fn close_is_kept_off_the_server_and_written_into_the_response() {
    let mut b = bed(ServerClose::Keep);
    let iss = b.client_connects_and_sends(CLOSE_A);
    assert_eq!(b.server_got, KEPT_A);
    assert_eq!(b.count(Counter::ServerCloseKept), 1);
    // The client's head is acknowledged as it sent it.
    let end = CLIENT_ISN + 1 + CLOSE_A.len() as u32;
    assert!(b.to_client.iter().any(|s| s.ack == Some(end)));
    assert!(b.to_client.iter().all(|s| s.ack.is_none_or(|a| a <= end)));
    b.server_sends(response(&b, 0, 79, RSP_KA));
    assert_eq!(client_bytes(&b, iss), RSP_CLOSED);
    assert_eq!(b.count(Counter::ServerCloseMarked), 1);
    assert_eq!(b.count(Counter::ServerCloseUnmarked), 0);
    // The server sends the segment again (the client's ACK was slow): the copy says
    // `close` too.
    let before = b.to_client.len();
    b.server_sends(response(&b, 0, 80, RSP_KA));
    let again: Vec<_> = b.to_client[before..]
        .iter()
        .filter(|s| !s.payload.is_empty())
        .collect();
    assert_eq!(again.len(), 1, "{:?}", b.to_client);
    assert_eq!(again[0].payload, RSP_CLOSED);
    // The client has it all: Splicer ends the client connection, and the server's
    // goes back to the pool, open.
    client_acks(&mut b, iss, CLOSE_A, RSP_KA.len());
    assert!(
        b.to_client.iter().any(|s| s.flags & FIN != 0),
        "the client connection ends: {:?}",
        b.to_client
    );
    assert!(!server_fin_or_rst(&b), "{:?}", b.to_server);
    assert_eq!(b.p.pools.reals[0].free.len(), 1, "pooled again");
}

/// `server_close = "pass"`: the head as written, as before.
#[test]
fn pass_forwards_the_head_as_written() {
    let mut b = bed(ServerClose::Pass);
    let iss = b.client_sends_head(CLOSE_A);
    b.server_sends(response(&b, 0, 79, RSP_KA));
    assert_eq!(client_bytes(&b, iss), RSP_KA);
    assert_eq!(b.count(Counter::ServerCloseKept), 0);
    assert_eq!(b.count(Counter::ServerCloseMarked), 0);
}

/// HTTP/1.0 says `close` by default; a server answers it as such: left as it was.
#[test]
fn http10_close_is_forwarded_as_written() {
    let mut b = bed(ServerClose::Keep);
    let head: &[u8] = b"GET /a HTTP/1.0\r\nHost: a\r\nConnection: close\r\n\r\n";
    b.client_sends_head(head);
    assert_eq!(b.count(Counter::ServerCloseKept), 0);
}

/// Other `Connection` tokens stay; every `close` of duplicated fields goes.
#[test]
fn other_tokens_stay_and_duplicated_fields_lose_every_close() {
    let mut b = bed(ServerClose::Keep);
    b.client_connects_and_sends(
        b"GET /a HTTP/1.1\r\nConnection: close, x-trace\r\nHost: a\r\nConnection: Close\r\nx-trace: 1\r\n\r\n",
    );
    assert_eq!(
        b.server_got,
        b"GET /a HTTP/1.1\r\nConnection: x-trace\r\nHost: a\r\nx-trace: 1\r\n\r\n"
    );
    assert_eq!(b.count(Counter::ServerCloseKept), 1);
}

/// The response head in two segments: cut before the token, it is written in the
/// second; cut inside it, its first bytes went out as the server wrote them, so none
/// is changed (counted).
#[test]
fn a_response_head_in_two_segments() {
    let at = RSP_KA.windows(10).position(|w| w == b"keep-alive").unwrap();
    for (cut, marked) in [
        (at - 6, true),
        (at, true),
        (at + 4, false),
        (at + 10, false),
    ] {
        let mut b = bed(ServerClose::Keep);
        let iss = b.client_connects_and_sends(CLOSE_A);
        b.server_sends(response(&b, 0, 79, &RSP_KA[..cut]));
        b.server_sends(response(&b, cut as u32, 80, &RSP_KA[cut..]));
        let want = if marked { RSP_CLOSED } else { RSP_KA };
        assert_eq!(
            client_bytes(&b, iss),
            want,
            "cut {cut}: {:?}",
            String::from_utf8_lossy(&client_bytes(&b, iss))
        );
        assert_eq!(b.count(Counter::ServerCloseMarked), u64::from(marked));
        assert_eq!(b.count(Counter::ServerCloseUnmarked), u64::from(!marked));
        // A token cut across segments says nothing of the real: the next close
        // requests are still kept off it.
        assert_eq!(b.p.pools.reals[0].close_passed_until, 0);
    }
}

/// A response without any `Connection` field (HTTP/1.1's default, as Go's servers
/// answer): nothing to write `close` over. The client's connection still ends after
/// it, as the client asked; this real gets its clients' `close` for `CLOSE_RETRY_MS`.
#[test]
fn a_response_without_connection_field() {
    let mut b = bed(ServerClose::Keep);
    let iss = b.client_connects_and_sends(CLOSE_A);
    b.server_sends(response(&b, 0, 79, RSP_A));
    assert_eq!(client_bytes(&b, iss), RSP_A);
    assert_eq!(b.count(Counter::ServerCloseUnmarked), 1);
    let retry = crate::flow::close_mark::CLOSE_RETRY_MS * MS;
    assert_eq!(b.p.pools.reals[0].close_passed_until, b.now + retry);
    client_acks(&mut b, iss, CLOSE_A, RSP_A.len());
    assert!(b.to_client.iter().any(|s| s.flags & FIN != 0));
    assert_eq!(b.p.pools.reals[0].free.len(), 1, "pooled again");
}

/// Once a real has answered so, a client's `close` goes to it as written, until the
/// time set for that.
#[test]
fn a_real_that_answered_unmarked_gets_close() {
    let mut b = bed(ServerClose::Keep);
    b.p.pools.reals[0].close_passed_until = b.now + 1;
    b.client_sends_head(CLOSE_A);
    assert_eq!(b.count(Counter::ServerCloseKept), 0);
}

/// After that time the real is tried again (it may have been upgraded to one that
/// says `keep-alive`): the `close` is kept off it.
#[test]
fn a_real_that_answered_unmarked_is_tried_again_later() {
    let mut b = bed(ServerClose::Keep);
    b.p.pools.reals[0].close_passed_until = b.now;
    b.client_connects_and_sends(CLOSE_A);
    assert_eq!(b.server_got, KEPT_A);
    assert_eq!(b.count(Counter::ServerCloseKept), 1);
}

/// A real whose state an operator changes (out of service and back, say), or that is
/// back up after its checks took it out (restarted, perhaps upgraded), is tried again
/// at once.
#[test]
fn a_real_whose_state_changes_is_tried_again_at_once() {
    for (change, going_out_resets) in [
        (
            (|f: &mut Farm| f.reals[0].status = crate::balance::Status::OutOfService)
                as fn(&mut Farm),
            true,
        ),
        (|f: &mut Farm| f.reals[0].health.up = false, false),
    ] {
        let mut b = bed(ServerClose::Keep);
        let until = b.now + 1_000 * MS;
        b.p.pools.reals[0].close_passed_until = until;
        let before = b.p.topology().clone();
        reconfigure(&mut b, change);
        // Going down is not coming back: still passed on.
        let want = if going_out_resets { 0 } else { until };
        assert_eq!(b.p.pools.reals[0].close_passed_until, want);
        b.p.pools.reals[0].close_passed_until = until;
        let mut out = Out::default();
        b.p.set_topology(before, b.now, &mut out);
        b.take(out);
        assert_eq!(b.p.pools.reals[0].close_passed_until, 0);
        b.client_connects_and_sends(CLOSE_A);
        assert_eq!(b.server_got, KEPT_A);
    }
}

/// Applies `change` to the farm, as the control core does.
fn reconfigure(b: &mut Bed, change: impl FnOnce(&mut Farm)) {
    let topo = crate::topology::Topology::clone(b.p.topology());
    let mut farm = topo.farm().clone();
    change(&mut farm);
    let mut out = Out::default();
    b.p.set_topology(std::sync::Arc::new(topo.with_farm(farm)), b.now, &mut out);
    b.take(out);
}

/// Requests a client pipelines behind its `close` one never reach the server, whose
/// connection, not told to close, would otherwise take them.
#[test]
fn requests_pipelined_after_close_are_not_sent() {
    let mut b = bed(ServerClose::Keep);
    let both = [CLOSE_A, GET_B].concat();
    let iss = b.client_connects_and_sends(&both);
    assert_eq!(b.server_got, KEPT_A);
    b.server_sends(response(&b, 0, 79, RSP_KA));
    assert_eq!(client_bytes(&b, iss), RSP_CLOSED);
    client_acks(&mut b, iss, &both, RSP_KA.len());
    assert_eq!(b.server_got, KEPT_A, "/b never sent");
    assert!(b.to_client.iter().any(|s| s.flags & FIN != 0));
    assert!(!server_fin_or_rst(&b));
}
