//! A pipelining client against a real whose `maxconns` is below the requests it sends:
//! the requests past the real's high-water mark wait, and are served as its slots come
//! free, never left to `queue_timeout`.

use super::pipelined::{data_to_client, got_on, poll_at};
use super::*;

const GETS: [&[u8]; 5] = [
    b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /3 HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /4 HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /5 HTTP/1.1\r\nHost: a\r\n\r\n",
];

/// The bed's connection (Splicer's port) whose last request is `want`.
fn port_with(b: &Bed, want: &[u8]) -> Option<u16> {
    let mut ports: Vec<u16> = b.others.keys().copied().collect();
    ports.push(b.local_port);
    ports.into_iter().find(|&p| got_on(b, p).ends_with(want))
}

/// The server on Splicer's connection `port` sends `RSP_A` at offset `off` of its
/// sequence space (after the responses before it).
fn answer(b: &mut Bed, port: u16, off: u32, tsval: u32) {
    let rcv = if port == b.local_port {
        b.server_rcv
    } else {
        b.others[&port].0
    };
    let seg = Seg {
        seq: SERVER_ISN + 1 + off,
        ack: Some(rcv),
        flags: PSH,
        ts: Some((tsval, 0)),
        payload: RSP_A.to_vec(),
        ..Seg::default()
    };
    let f = frame((SERVER, 80), (INSIDE, port), &seg);
    b.deliver_from_server(f);
}

/// Five GETs in one send, a real with `pool` connections and `maxconns` 2: each
/// response is answered as soon as its request reaches a server, and the client
/// acknowledges each response as it comes; all five are answered, none times out.
fn five_gets_with_maxconns_2(pool: u16) {
    let service = Service {
        address: SocketAddrV4::new(VIP, 80),
        virtual_index: 0,
        max_request_head: HEAD_LIMIT,
        max_pipeline: Service::DEFAULT_MAX_PIPELINE,
        max_held: Service::DEFAULT_MAX_HELD,
        forward_for: Default::default(),
        server_close: Default::default(),
    };
    let mut b = Bed::with_real(pool, 2, service);
    for i in 2..6 {
        poll_at(&mut b, i * MS);
    }
    let all = GETS.concat();
    let iss = b.client_syn();
    b.client_sends(data(CLIENT_ISN + 1, iss + 1, 5002, &all));
    let client_next = CLIENT_ISN + 1 + all.len() as u32;
    let mut answered = [false; 5];
    let mut acked = iss + 1;
    let mut tsval = 6000;
    let mut sent_by = std::collections::BTreeMap::new();
    for step in 0..40 {
        // Every server answers the requests it has and has not answered yet.
        for (i, get) in GETS.iter().enumerate() {
            if answered[i] {
                continue;
            }
            if let Some(port) = port_with(&b, get) {
                answered[i] = true;
                tsval += 1;
                // Each connection's responses follow each other in its space.
                let off = sent_by.entry(port).or_insert(0u32);
                answer(&mut b, port, *off, tsval);
                *off += RSP_A.len() as u32;
            }
        }
        // The client acknowledges all it has.
        let sent = data_to_client(&b);
        let end = sent
            .iter()
            .map(|s| s.seq.wrapping_add(s.payload.len() as u32))
            .max_by_key(|&e| e.wrapping_sub(iss))
            .unwrap_or(acked);
        if end != acked {
            acked = end;
            b.client_sends(Seg {
                seq: client_next,
                ack: Some(acked),
                ts: Some((5003 + step, 0)),
                ..Seg::default()
            });
        }
        let at = b.now + MS;
        poll_at(&mut b, at);
    }
    assert_eq!(
        b.count(Counter::ResponsesComplete),
        5,
        "all five answered (pool {pool}): answered {answered:?}, queue timeouts {}",
        b.count(Counter::QueueTimeouts)
    );
    assert_eq!(b.count(Counter::QueueTimeouts), 0);
}

#[test]
fn pipelined_requests_past_maxconns_are_served_as_slots_free() {
    for pool in [1, 2, 4] {
        five_gets_with_maxconns_2(pool);
    }
}
