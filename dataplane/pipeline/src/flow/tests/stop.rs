//! The graceful stop: new connections refused, the busy ones counted, the rest reset.

use super::*;

#[test]
fn a_stopping_worker_refuses_syns_with_a_reset_and_serves_its_connections() {
    let mut p = pipeline(settings(16));
    let iss = handshake(&mut p, 0);
    assert_eq!(p.busy_clients(), 0, "an idle connection is not busy");
    p.start_stopping();
    assert!(p.is_stopping());

    let mut syn = linux_syn(5000);
    syn.port = 40002;
    let r = send(&mut p, syn, MS);
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

    // The established connection still gets its answer; it is busy until the client
    // has acknowledged the answer and its FIN.
    let req = b"GET / HTTP/1.1\r\nHost: www\r\n\r\n";
    let r = send(&mut p, C::new(1001, PSH).ack(iss + 1).data(req), 2 * MS);
    assert!(r[0].payload.starts_with(b"HTTP/1.1 503 "));
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
    assert_eq!(count(&p, Counter::StopResets), 1);
    assert!(p.flows().is_empty());
}
