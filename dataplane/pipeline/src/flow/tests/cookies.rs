//! SYN cookies and keyed ISNs on the client leg, against hand-made segments.

use super::*;
use crate::flow::handshake::COOKIE_PERIOD_MS;

fn cookie_settings(threshold: usize) -> FlowSettings {
    FlowSettings {
        syn_cookie_threshold: threshold,
        ..settings(16)
    }
}

/// `n` SYNs from ports 10000.. that never complete their handshake.
fn flood(p: &mut Pipeline<Vec<u8>>, n: u16, now: u64) {
    for i in 0..n {
        let mut syn = C::new(u32::from(i) * 7919, SYN);
        syn.port = 10_000 + i;
        let r = send(p, syn, now);
        assert_eq!(r.len(), 1, "every SYN is answered");
        assert_eq!(r[0].flags, SYN);
    }
}

/// The client's neighbour entry, renewed at `now` (it expires after 60 s).
fn refresh_client(p: &mut Pipeline<Vec<u8>>, now: u64) {
    let update = NeighbourUpdate {
        port: 0,
        ip: CLIENT,
        mac: PEER_MAC,
    };
    p.apply_neighbour_update(update, now, &mut Out::default());
}

fn ts_option(tsval: u32, tsecr: u32) -> Vec<u8> {
    let mut opts = [0u8; 12];
    let n = tcp::emit_options(&mut opts, None, false, Some((tsval, tsecr)), None);
    opts[..n].to_vec()
}

#[test]
fn past_the_threshold_syns_get_cookies_and_a_cookie_client_is_answered() {
    let mut p = pipeline(cookie_settings(8));
    flood(&mut p, 20, 0);
    assert_eq!(p.flows().half_open(), 8, "no state past the threshold");
    assert_eq!(p.flows().len(), 8);
    assert_eq!(count(&p, Counter::TcpSyns), 8);
    assert_eq!(count(&p, Counter::SynCookiesSent), 12);
    assert_eq!(count(&p, Counter::DropSynFlood), 0);

    // A real client now: its SYN-ACK offers what a stateful one would.
    let r = send(&mut p, linux_syn(1000), MS);
    assert_eq!(r.len(), 1);
    let syn_ack = &r[0];
    assert_eq!((syn_ack.flags, syn_ack.ack), (SYN, Some(1001)));
    assert_eq!(syn_ack.mss, Some(OUR_MSS));
    assert_eq!(syn_ack.wscale, Some(OUR_WSCALE));
    assert!(syn_ack.sack_ok);
    let (our_ts, echoed) = syn_ack.ts.unwrap();
    assert_eq!(echoed, 5000);
    assert_eq!(usize::from(syn_ack.window), HEAD_LIMIT + 1);
    assert_eq!(p.flows().len(), 8, "the cookie SYN-ACK kept nothing");
    let iss = syn_ack.seq;

    // The handshake's ACK carries the whole request: connection rebuilt, request read,
    // 503 and FIN sent, timestamps back on.
    let req = b"GET / HTTP/1.1\r\nHost: www\r\n\r\n";
    let mut ack = C::new(1001, PSH).ack(iss + 1).data(req);
    ack.options = ts_option(5001, our_ts);
    let r = send(&mut p, ack, 2 * MS);
    assert_eq!(r.len(), 1, "{r:?}");
    let resp = &r[0];
    assert_eq!(resp.seq, iss + 1);
    assert_eq!(resp.ack, Some(1001 + req.len() as u32));
    assert_eq!(resp.flags, PSH | FIN);
    assert!(resp.payload.starts_with(b"HTTP/1.1 503 "));
    assert_eq!(resp.ts.map(|t| t.1), Some(5001), "timestamps negotiated");
    assert_eq!(count(&p, Counter::SynCookiesValidated), 1);
    assert_eq!(count(&p, Counter::TcpEstablished), 1);
    assert_eq!(count(&p, Counter::HttpRequests), 1);
    assert_eq!(p.flows().half_open(), 8);

    // It closes like any other connection.
    let end = iss + 1 + resp.payload.len() as u32 + 1;
    let seq = 1001 + req.len() as u32;
    let mut fin = C::new(seq, FIN).ack(end);
    fin.options = ts_option(5002, our_ts);
    let r = send(&mut p, fin, 3 * MS);
    assert_eq!(r[0].ack, Some(seq + 1));
    assert_eq!(count(&p, Counter::ClientsClosed), 1);
    assert_eq!(p.flows().len(), 8);
}

#[test]
fn the_cookie_restores_window_scaling_and_its_absence() {
    // Threshold 0: every SYN gets a cookie.
    let mut p = pipeline(cookie_settings(0));
    let syn_ack = send(&mut p, linux_syn(1000), 0).remove(0);
    let r = send(
        &mut p,
        C::new(1001, 0).ack(syn_ack.seq + 1).data(b"GET"),
        MS,
    );
    assert_eq!(count(&p, Counter::SynCookiesValidated), 1);
    assert_eq!(r[0].ack, Some(1004));
    // Our shift 7 applies: the head room left, rounded up, in units of 128.
    let room = HEAD_LIMIT + 1 - 3;
    assert_eq!(usize::from(r[0].window), room.div_ceil(1 << OUR_WSCALE));

    // A client that offers nothing: no scaling, no timestamps.
    let mut bare = C::new(50, SYN);
    bare.port = 40_001;
    let syn_ack = send(&mut p, bare, 2 * MS).remove(0);
    assert_eq!(
        (syn_ack.wscale, syn_ack.sack_ok, syn_ack.ts),
        (None, false, None)
    );
    let mut ack = C::new(51, 0).ack(syn_ack.seq + 1).data(b"GET");
    ack.port = 40_001;
    let r = send(&mut p, ack, 3 * MS);
    assert_eq!(usize::from(r[0].window), room);
    assert_eq!(r[0].ts, None);
    assert_eq!(count(&p, Counter::SynCookiesValidated), 2);
    assert_eq!(count(&p, Counter::TcpSyns), 0);
    assert_eq!(p.flows().half_open(), 0);
}

#[test]
fn forged_and_expired_cookies_are_reset_and_counted() {
    let mut p = pipeline(cookie_settings(0));
    let syn_ack = send(&mut p, linux_syn(1000), 0).remove(0);
    // A blind guess at the cookie: counted, answered with RST, nothing created.
    let r = send(&mut p, C::new(1001, 0).ack(syn_ack.seq + 2), MS);
    assert_eq!((r[0].flags, r[0].seq), (RST, syn_ack.seq + 2));
    // The right cookie for another client ISN.
    let r = send(&mut p, C::new(1002, 0).ack(syn_ack.seq + 1), MS);
    assert_eq!(r[0].flags, RST);
    assert_eq!(count(&p, Counter::SynCookiesFailed), 2);
    assert_eq!(count(&p, Counter::DropTcpNoFlow), 0);
    assert!(p.flows().is_empty());

    // A cookie two periods old is refused; after that long without a cookie sent,
    // unknown ACKs are not even looked at as cookies.
    let late = 2 * COOKIE_PERIOD_MS * MS + MS;
    refresh_client(&mut p, late);
    let r = send(&mut p, C::new(1001, 0).ack(syn_ack.seq + 1), late);
    assert_eq!(r[0].flags, RST);
    assert_eq!(count(&p, Counter::SynCookiesFailed), 2);
    assert_eq!(count(&p, Counter::DropTcpNoFlow), 1);

    // Within the next period it is still good.
    let mut p = pipeline(cookie_settings(0));
    let syn_ack = send(&mut p, linux_syn(1000), 0).remove(0);
    let next = COOKIE_PERIOD_MS * MS + MS;
    refresh_client(&mut p, next);
    assert_eq!(
        send(&mut p, C::new(1001, 0).ack(syn_ack.seq + 1), next).len(),
        0
    );
    assert_eq!(count(&p, Counter::SynCookiesValidated), 1);
    assert_eq!(p.flows().len(), 1);
}

#[test]
fn isns_are_keyed_by_the_secret_and_move_with_the_clock() {
    let mut a = pipeline(settings(16));
    let first = send(&mut a, linux_syn(1000), 0)[0].seq;
    // Another secret (another process), the same SYN: another ISN.
    let mut b = pipeline(settings(16));
    b.keys = crate::flow::Keys::new(8);
    assert_ne!(send(&mut b, linux_syn(1000), 0)[0].seq, first);
    // The same secret and 4-tuple 1 ms later: 250 ticks of the 4-µs clock on.
    let mut later = pipeline(settings(16));
    let moved = send(&mut later, linux_syn(1000), MS)[0].seq;
    assert_eq!(moved.wrapping_sub(first), 250);
    // The neighbouring port: an unrelated ISN, not a step of a counter.
    let mut c = linux_syn(1000);
    c.port = 40_001;
    let neighbour = send(&mut a, c, 0)[0].seq;
    let step = neighbour.wrapping_sub(first);
    assert!(step > 1 << 16 && step < u32::MAX - (1 << 16), "{step}");
}
