//! `Pipeline::receive_burst` against `Pipeline::receive` frame by frame: the same
//! output and counters for a burst whose frames change each other's connections (a SYN
//! and the ACK after it, a RST and the segments after it), where the burst's prefetch
//! hints are stale by the time later frames are processed.

use super::*;

const REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";

fn on(port: u16, c: C) -> C {
    C { port, ..c }
}

/// Sends `frame` to `p` one frame at a time; returns what it sent.
fn one(p: &mut Pipeline<Vec<u8>>, frame: &[u8], now: u64) -> Vec<Vec<u8>> {
    let mut out = Out::default();
    p.receive(0, frame.to_vec(), now, &mut out);
    out.tx
}

fn syn_ack_seq(tx: &[Vec<u8>]) -> u32 {
    let r = decode(&tx[0]);
    assert_eq!(r.flags, SYN);
    r.seq
}

#[test]
fn a_burst_is_processed_as_its_frames_one_by_one() {
    let now = 5 * MS;
    // Two pipelines with the same settings and secret: the same ISNs and ports.
    let mut single = pipeline(settings(64));
    let mut burst = pipeline(settings(64));
    // Flows 1 and 2 established before the burst, on both.
    let mut iss = [0u32; 3];
    for (i, port) in [40001u16, 40002].into_iter().enumerate() {
        let syn = on(port, C::new(1000, SYN)).frame();
        let tx = one(&mut single, &syn, now);
        assert_eq!(one(&mut burst, &syn, now), tx);
        iss[i] = syn_ack_seq(&tx);
        let ack = on(port, C::new(1001, 0).ack(iss[i] + 1)).frame();
        assert!(one(&mut single, &ack, now).is_empty());
        assert!(one(&mut burst, &ack, now).is_empty());
    }
    // The burst, built frame by frame from what the one-by-one pipeline answers.
    let mut frames = Vec::new();
    let mut expected = Vec::new();
    let mut push = |p: &mut Pipeline<Vec<u8>>, f: Vec<u8>| {
        let tx = one(p, &f, now);
        frames.push(f);
        expected.extend(tx.iter().cloned());
        tx
    };
    // New connections filling most of the first chunk of hints (32 frames), so that
    // the frames below straddle two chunks.
    for port in 41000..41028 {
        push(&mut single, on(port, C::new(3000, SYN)).frame());
    }
    // A new connection, and its request in the same burst.
    let tx = push(&mut single, on(40003, C::new(7000, SYN)).frame());
    iss[2] = syn_ack_seq(&tx);
    let ack = on(40003, C::new(7001, PSH).ack(iss[2] + 1).data(REQUEST));
    let tx = push(&mut single, ack.frame());
    assert!(!tx.is_empty(), "the request is answered");
    // A request on flow 1.
    let req = on(40001, C::new(1001, PSH).ack(iss[0] + 1).data(REQUEST));
    assert!(!push(&mut single, req.frame()).is_empty());
    // Flow 2 reset, then a segment of it (no connection any more: a reset back), then
    // a SYN opening a new connection on its addresses.
    assert!(push(&mut single, on(40002, C::new(1001, RST)).frame()).is_empty());
    let late = on(40002, C::new(1001, PSH).ack(iss[1] + 1).data(b"x"));
    let tx = push(&mut single, late.frame());
    assert_eq!(decode(&tx[0]).flags & RST, RST);
    let tx = push(&mut single, on(40002, C::new(90_000, SYN)).frame());
    assert_eq!(decode(&tx[0]).flags, SYN);
    // A frame that is no TCP segment, between TCP ones.
    push(&mut single, vec![0u8; 20]);
    push(
        &mut single,
        on(
            40003,
            C::new(7001 + REQUEST.len() as u32, 0).ack(iss[2] + 1),
        )
        .frame(),
    );
    assert_eq!(count(&single, Counter::DropTcpNoFlow), 1);

    let mut out = Out::default();
    let mut pkts = frames.clone();
    assert!(pkts.len() > 32);
    burst.receive_burst(&mut pkts, |_| 0, now, &mut out);
    assert!(pkts.is_empty());
    assert_eq!(out.tx, expected);
    assert_eq!(burst.counters().snapshot(), single.counters().snapshot());
    assert_eq!(burst.flows().len(), single.flows().len());
}
