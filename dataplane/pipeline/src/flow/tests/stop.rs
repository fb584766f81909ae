//! The graceful stop: new connections refused, idle keep-alive ones closed, the busy
//! ones counted, the rest reset.

use super::*;

fn stop(p: &mut Pipeline<Vec<u8>>, now: u64) -> Vec<Reply> {
    let mut out = Out::default();
    p.start_stopping(now, &mut out);
    out.tx.iter().map(|f| decode(f)).collect()
}

#[test]
fn a_stopping_worker_closes_idle_connections_and_refuses_syns_with_a_reset() {
    let mut p = pipeline(settings(16));
    let iss = handshake(&mut p, 0);
    assert_eq!(p.busy_clients(), 0, "an idle connection is not busy");
    let r = stop(&mut p, MS);
    assert!(p.is_stopping());
    assert_eq!(r.len(), 1, "a FIN to the idle keep-alive connection");
    assert_eq!((r[0].flags & FIN, r[0].seq), (FIN, iss + 1));
    assert_eq!(p.busy_clients(), 1, "until the client acknowledges the FIN");
    send(&mut p, C::new(1001, 0).ack(iss + 2), 2 * MS);
    assert_eq!(p.busy_clients(), 0);

    let mut syn = linux_syn(5000);
    syn.port = 40002;
    let r = send(&mut p, syn, 3 * MS);
    assert_eq!(r.len(), 1);
    assert_ne!(
        r[0].flags & RST,
        0,
        "a RST, not a SYN-ACK: {:?}",
        r[0].flags
    );
    assert_eq!(count(&p, Counter::DropDraining), 1);
    assert_eq!(
        count(&p, Counter::TcpSyns),
        1,
        "only the first connection's SYN"
    );
}

#[test]
fn a_connection_with_an_answer_in_flight_is_busy_until_it_is_acknowledged() {
    let mut p = pipeline(settings(16));
    let iss = handshake(&mut p, 0);
    let req = b"GET / HTTP/1.1\r\nHost: www\r\n\r\n";
    let r = send(&mut p, C::new(1001, PSH).ack(iss + 1).data(req), MS);
    assert!(r[0].payload.starts_with(b"HTTP/1.1 503 "));
    assert!(
        stop(&mut p, 2 * MS).is_empty(),
        "not idle: nothing more is sent"
    );
    assert_eq!(p.busy_clients(), 1);
    let end = iss + 1 + r[0].payload.len() as u32 + 1;
    let seq = 1001 + req.len() as u32;
    send(&mut p, C::new(seq, 0).ack(end - 1), 3 * MS);
    assert_eq!(p.busy_clients(), 1, "its FIN is not acknowledged yet");
    send(&mut p, C::new(seq, 0).ack(end), 4 * MS);
    assert_eq!(p.busy_clients(), 0);
}

#[test]
fn the_stop_resets_established_connections_and_counts_them() {
    let mut p = pipeline(settings(16));
    handshake(&mut p, 0);
    let mut syn = linux_syn(9000);
    syn.port = 40003;
    send(&mut p, syn, 0); // half-open: reset, not counted as an established one
    let mut sink = Out::default();
    p.shutdown(MS, &mut sink);
    assert_eq!(sink.tx.len(), 2, "a RST to each");
    assert_eq!(count(&p, Counter::StopResets), 1);
    assert!(p.flows().is_empty());
}
