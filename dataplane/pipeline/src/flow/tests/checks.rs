//! Active health checks through the data plane, passive outliers, and a request routed
//! again when its real refuses the connection, against hand-made segments.

use super::spliced::{frame, parse, Seg};
use super::*;
use crate::balance::{
    Check, CheckFailure, Expect, Farm, HealthEvent, Predictor, Real, VirtualPolicy,
};
use crate::counters::RealCounter;

const S0: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 10);
const S1: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 11);
const INSIDE: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 1);
const REQUEST: &[u8] = b"GET /health HTTP/1.1\r\nHost: s0\r\nConnection: close\r\n\r\n";

/// Two reals without pools in one virtual; `s0` has an HTTP check every 2 s that
/// times out after 1 s.
fn pipeline(workers: usize, worker: usize) -> Pipeline<Vec<u8>> {
    let mut s0 = Real::new("s0", SocketAddrV4::new(S0, 80), 1, 0, 8);
    s0.check = Some(Check {
        request: REQUEST.to_vec(),
        interval_ms: 2000,
        timeout_ms: 1000,
        expect: Expect::Class(2),
    });
    let farm = Farm {
        reals: vec![s0, Real::new("s1", SocketAddrV4::new(S1, 80), 1, 0, 8)],
        virtuals: vec![VirtualPolicy::splice(
            "www",
            Predictor::RoundRobin,
            vec![],
            vec![0, 1],
        )],
        urls: Vec::new(),
    };
    let flow = FlowSettings {
        outlier_errors: 2,
        ..settings(16)
    };
    farm_pipeline(farm, (worker, workers), flow, 1, &[S0, S1])
}

/// What Splicer sent to the inside, as `(server, local port, segment)`.
fn to_servers(out: Out) -> Vec<(Ipv4Addr, u16, Seg)> {
    out.tx.iter().map(|f| parse(f)).collect()
}

/// A segment of `server` to Splicer's `local` port, in through the inside port.
fn from_server(p: &mut Pipeline<Vec<u8>>, server: Ipv4Addr, local: u16, s: &Seg, now: u64) -> Out {
    let mut f = frame((server, 80), (INSIDE, local), s);
    f[..6].copy_from_slice(&[2, 0, 0, 0, 0, 2]);
    let mut out = Out::default();
    p.receive(1, f, now, &mut out);
    out
}

fn poll(p: &mut Pipeline<Vec<u8>>, now: u64) -> Vec<(Ipv4Addr, u16, Seg)> {
    let mut out = Out::default();
    p.poll_timers(now, &mut out);
    to_servers(out)
}

fn events(p: &mut Pipeline<Vec<u8>>) -> Vec<HealthEvent> {
    p.take_health_events().collect()
}

/// The SYN of a check to `s0` at `now`: its local port and ISN.
fn check_syn(p: &mut Pipeline<Vec<u8>>, now: u64) -> (u16, u32) {
    // Besides it, only what closing connections of earlier checks retransmit.
    let sent = poll(p, now);
    let syns: Vec<_> = sent.iter().filter(|(_, _, s)| s.flags == SYN).collect();
    assert_eq!(syns.len(), 1, "{sent:?}");
    let (dst, lport, syn) = syns[0];
    assert_eq!(*dst, S0);
    (*lport, syn.seq)
}

/// The server accepts the check's connection: returns what Splicer sent back.
fn accept(p: &mut Pipeline<Vec<u8>>, lport: u16, iss: u32, now: u64) -> Vec<Seg> {
    let syn_ack = Seg {
        seq: 9000,
        ack: Some(iss.wrapping_add(1)),
        flags: SYN,
        ..Seg::default()
    };
    let out = from_server(p, S0, lport, &syn_ack, now);
    to_servers(out).into_iter().map(|(_, _, s)| s).collect()
}

/// The server answers the check's request with `response` and closes.
fn answer(p: &mut Pipeline<Vec<u8>>, lport: u16, iss: u32, response: &[u8], now: u64) -> Vec<Seg> {
    let s = Seg {
        seq: 9001,
        ack: Some(iss.wrapping_add(1 + REQUEST.len() as u32)),
        flags: FIN | PSH,
        payload: response.to_vec(),
        ..Seg::default()
    };
    let out = from_server(p, S0, lport, &s, now);
    to_servers(out).into_iter().map(|(_, _, s)| s).collect()
}

#[test]
fn an_http_check_reads_the_status_line_and_closes() {
    let mut p = pipeline(1, 0);
    // Due at once; s1 has no check.
    let (lport, iss) = check_syn(&mut p, MS);
    // Outside the pool: the pool of s0 opens nothing and counts nothing.
    assert_eq!(p.pool_stats(0, MS).opening, 0);
    assert_eq!(p.pool_stats(0, MS).conns, 0);
    let sent = accept(&mut p, lport, iss, MS);
    // The handshake's ACK, then the request.
    let data: Vec<u8> = sent.iter().flat_map(|s| s.payload.clone()).collect();
    assert_eq!(data, REQUEST);
    assert!(events(&mut p).is_empty());
    let sent = answer(
        &mut p,
        lport,
        iss,
        b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n",
        MS,
    );
    assert_eq!(
        events(&mut p),
        [HealthEvent::CheckFailed(0, CheckFailure::Status(500))]
    );
    assert!(sent.iter().any(|s| s.flags & FIN != 0), "{sent:?}");
    let counters = p.counters().snapshot();
    assert_eq!(counters.get(Counter::HealthChecks), 1);
    assert_eq!(counters.get(Counter::HealthCheckFailures), 1);
    assert_eq!(
        p.counters().real_row(0)[RealCounter::CheckFailures as usize],
        1
    );
    // Not before the interval is up; then a check that passes (any 2xx).
    assert!(!poll(&mut p, 1999 * MS)
        .iter()
        .any(|(_, _, s)| s.flags == SYN));
    let (lport, iss) = check_syn(&mut p, 2001 * MS);
    accept(&mut p, lport, iss, 2001 * MS);
    answer(
        &mut p,
        lport,
        iss,
        b"HTTP/1.1 204 No Content\r\n\r\n",
        2001 * MS,
    );
    assert_eq!(events(&mut p), [HealthEvent::CheckPassed(0)]);
    assert_eq!(p.pool_stats(0, 2001 * MS).conns, 0);
}

#[test]
fn refused_and_silent_checks_fail() {
    let mut p = pipeline(1, 0);
    let (lport, iss) = check_syn(&mut p, MS);
    let rst = Seg {
        seq: 0,
        ack: Some(iss.wrapping_add(1)),
        flags: RST,
        ..Seg::default()
    };
    from_server(&mut p, S0, lport, &rst, MS);
    assert_eq!(
        events(&mut p),
        [HealthEvent::CheckFailed(0, CheckFailure::Refused)]
    );
    // Nobody answers: given up at the timeout with a RST.
    let (_, _) = check_syn(&mut p, 2001 * MS);
    let sent = poll(&mut p, 2500 * MS);
    assert!(sent.iter().all(|(_, _, s)| s.flags & RST == 0), "{sent:?}");
    assert!(events(&mut p).is_empty());
    let sent = poll(&mut p, 3001 * MS);
    assert!(sent.iter().any(|(_, _, s)| s.flags & RST != 0), "{sent:?}");
    assert_eq!(
        events(&mut p),
        [HealthEvent::CheckFailed(0, CheckFailure::Timeout)]
    );
    assert_eq!(p.counters().snapshot().get(Counter::HealthCheckTimeouts), 1);
    // An answer that is not HTTP.
    let (lport, iss) = check_syn(&mut p, 4001 * MS);
    accept(&mut p, lport, iss, 4001 * MS);
    answer(&mut p, lport, iss, b"SSH-2.0-OpenSSH\r\n", 4001 * MS);
    assert_eq!(
        events(&mut p),
        [HealthEvent::CheckFailed(0, CheckFailure::BadResponse)]
    );
    // No connection left behind in the pool.
    assert_eq!(p.pool_stats(0, 4001 * MS).conns, 0);
}

#[test]
fn each_real_is_checked_by_one_worker() {
    // s0 (index 0) belongs to worker 0 of 2: worker 1 sends nothing.
    let mut p = pipeline(2, 1);
    assert!(poll(&mut p, MS).is_empty());
    let mut p = pipeline(2, 0);
    let sent = poll(&mut p, MS);
    assert_eq!(sent.len(), 1);
}

#[test]
fn a_refused_request_is_routed_to_another_real() {
    let mut p = pipeline(1, 0);
    // Let the check of s0 pass, so that only the request's connections go there.
    let (lport, iss) = check_syn(&mut p, MS);
    accept(&mut p, lport, iss, MS);
    answer(&mut p, lport, iss, b"HTTP/1.1 200 OK\r\n\r\n", MS);
    events(&mut p);
    // A request: round robin sends it to s0 first.
    let now = 10 * MS;
    let sent = client_request(&mut p, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", now);
    let syn = syn_to(&sent, S0).expect("a connection to s0 for the request");
    // s0 refuses it: the request, never sent, goes to s1 instead of a 503.
    let rst = Seg {
        seq: 0,
        ack: Some(syn.2.seq.wrapping_add(1)),
        flags: RST,
        ..Seg::default()
    };
    let sent = to_servers(from_server(&mut p, S0, syn.1, &rst, now));
    assert!(syn_to(&sent, S1).is_some(), "{sent:?}");
    assert!(
        sent.iter().all(|(dst, _, _)| *dst != CLIENT),
        "no 503: {sent:?}"
    );
    let c = p.counters().snapshot();
    assert_eq!(c.get(Counter::HealthRoutedAgain), 1);
    assert_eq!(c.get(Counter::HttpNoServer), 0);
    assert_eq!(p.counters().real_row(1)[RealCounter::Requests as usize], 1);
    // One failure of s0 so far: below the run of 2 that makes it an outlier.
    assert!(events(&mut p).is_empty());
}

/// A client that connects and sends `request`; returns what Splicer sent at once.
fn client_request(
    p: &mut Pipeline<Vec<u8>>,
    request: &[u8],
    now: u64,
) -> Vec<(Ipv4Addr, u16, Seg)> {
    let client = |s: &Seg| frame((CLIENT, 40000), (VIP, 80), s);
    let mut out = Out::default();
    let syn = Seg {
        seq: 100,
        flags: SYN,
        ..Seg::default()
    };
    p.receive(0, client(&syn), now, &mut out);
    let (_, _, syn_ack) = parse(&out.tx[0]);
    let mut out = Out::default();
    let head = Seg {
        seq: 101,
        ack: Some(syn_ack.seq.wrapping_add(1)),
        flags: PSH,
        payload: request.to_vec(),
        ..Seg::default()
    };
    p.receive(0, client(&head), now, &mut out);
    to_servers(out)
}

/// `server` accepts the connection `syn` opened: returns the request bytes it got.
fn accept_request(
    p: &mut Pipeline<Vec<u8>>,
    server: Ipv4Addr,
    syn: &(Ipv4Addr, u16, Seg),
    now: u64,
) -> Vec<u8> {
    let syn_ack = Seg {
        seq: 9000,
        ack: Some(syn.2.seq.wrapping_add(1)),
        flags: SYN,
        ..Seg::default()
    };
    let sent = to_servers(from_server(p, server, syn.1, &syn_ack, now));
    sent.iter()
        .filter(|(dst, port, _)| *dst == server && *port == syn.1)
        .flat_map(|(_, _, s)| s.payload.clone())
        .collect()
}

fn syn_to(sent: &[(Ipv4Addr, u16, Seg)], server: Ipv4Addr) -> Option<(Ipv4Addr, u16, Seg)> {
    sent.iter()
        .find(|(dst, _, s)| *dst == server && s.flags == SYN)
        .cloned()
}

#[test]
fn a_request_its_real_resets_unanswered_goes_to_another_real() {
    let mut p = pipeline(1, 0);
    events(&mut p);
    let now = 10 * MS;
    let request = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
    let sent = client_request(&mut p, request, now);
    let syn = syn_to(&sent, S0).expect("a connection to s0");
    assert_eq!(accept_request(&mut p, S0, &syn, now), request);
    // s0 resets the connection before a byte of the answer: the request goes to s1.
    let rst = Seg {
        seq: 9001,
        flags: RST,
        ..Seg::default()
    };
    let sent = to_servers(from_server(&mut p, S0, syn.1, &rst, now));
    assert!(
        sent.iter().all(|(dst, _, _)| *dst != CLIENT),
        "no 502: {sent:?}"
    );
    let syn1 = syn_to(&sent, S1).expect("a connection to s1");
    assert_eq!(
        accept_request(&mut p, S1, &syn1, now),
        request,
        "the same request"
    );
    let c = p.counters().snapshot();
    assert_eq!(c.get(Counter::HealthRoutedAgain), 1);
    assert_eq!(c.get(Counter::BadGateway), 0);
}

#[test]
fn a_request_with_a_body_is_not_sent_twice() {
    let mut p = pipeline(1, 0);
    let now = 10 * MS;
    let request = b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab";
    let sent = client_request(&mut p, request, now);
    let syn = syn_to(&sent, S0).expect("a connection to s0");
    accept_request(&mut p, S0, &syn, now);
    let rst = Seg {
        seq: 9001,
        flags: RST,
        ..Seg::default()
    };
    let sent = to_servers(from_server(&mut p, S0, syn.1, &rst, now));
    assert!(syn_to(&sent, S1).is_none(), "{sent:?}");
    let answer: Vec<u8> = sent
        .iter()
        .filter(|(dst, _, _)| *dst == CLIENT)
        .flat_map(|(_, _, s)| s.payload.clone())
        .collect();
    assert!(
        answer.starts_with(b"HTTP/1.1 502"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert_eq!(p.counters().snapshot().get(Counter::HealthRoutedAgain), 0);
}

#[test]
fn requests_on_a_real_that_goes_down_move_to_another() {
    let mut p = pipeline(1, 0);
    let now = 10 * MS;
    let request = b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n";
    let sent = client_request(&mut p, request, now);
    let syn = syn_to(&sent, S0).expect("a connection to s0");
    accept_request(&mut p, S0, &syn, now);
    // The control core publishes s0 down (its checks failed): the unanswered request
    // moves to s1, and s0's connection is reset.
    let mut farm = p.topology().farm().clone();
    farm.reals[0].health.up = false;
    let topology = Arc::new((**p.topology()).clone().with_farm(farm));
    let mut out = Out::default();
    p.set_topology(topology, now, &mut out);
    let sent = to_servers(out);
    assert!(
        sent.iter()
            .any(|(dst, port, s)| *dst == S0 && *port == syn.1 && s.flags & RST != 0),
        "{sent:?}"
    );
    let syn1 = syn_to(&sent, S1).expect("a connection to s1");
    assert_eq!(accept_request(&mut p, S1, &syn1, now), request);
    assert_eq!(p.counters().snapshot().get(Counter::HealthRoutedAgain), 1);
}

#[test]
fn a_server_that_closes_after_a_keep_alive_response_leaves_the_client_open() {
    let mut p = pipeline(1, 0);
    let now = 10 * MS;
    let request = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
    let sent = client_request(&mut p, request, now);
    let syn = syn_to(&sent, S0).expect("a connection to s0");
    accept_request(&mut p, S0, &syn, now);
    // The response says keep-alive; its server closes right after it (a graceful
    // shutdown, a keep-alive limit).
    let response = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    let s = Seg {
        seq: 9001,
        ack: Some(syn.2.seq.wrapping_add(1 + request.len() as u32)),
        flags: FIN | PSH,
        payload: response.to_vec(),
        ..Seg::default()
    };
    let sent = to_servers(from_server(&mut p, S0, syn.1, &s, now));
    let to_client: Vec<&Seg> = sent
        .iter()
        .filter(|(dst, _, _)| *dst == CLIENT)
        .map(|(_, _, s)| s)
        .collect();
    let body: Vec<u8> = to_client.iter().flat_map(|s| s.payload.clone()).collect();
    assert_eq!(body, response);
    // The client takes the response: the connection stays open for its next request,
    // which goes to a new server connection.
    let last = to_client.last().expect("the response");
    let ack = Seg {
        seq: 101 + request.len() as u32,
        ack: Some(last.seq.wrapping_add(last.payload.len() as u32)),
        ..Seg::default()
    };
    let mut out = Out::default();
    p.receive(0, frame((CLIENT, 40000), (VIP, 80), &ack), now, &mut out);
    let after = to_servers(out);
    assert!(
        after
            .iter()
            .all(|(dst, _, s)| *dst != CLIENT || s.flags & FIN == 0),
        "no FIN to the client: {after:?}"
    );
    let next = Seg {
        seq: 101 + request.len() as u32,
        ack: ack.ack,
        flags: PSH,
        payload: request.to_vec(),
        ..Seg::default()
    };
    let mut out = Out::default();
    p.receive(0, frame((CLIENT, 40000), (VIP, 80), &next), now, &mut out);
    let sent = to_servers(out);
    assert!(
        syn_to(&sent, S0).or(syn_to(&sent, S1)).is_some(),
        "the next request opens a connection: {sent:?}"
    );
}

#[test]
fn a_run_of_5xx_responses_makes_an_outlier() {
    let mut p = pipeline(1, 0);
    // Only s0 takes requests.
    let mut farm = p.topology().farm().clone();
    farm.reals[1].weight = 0;
    let topology = Arc::new((**p.topology()).clone().with_farm(farm));
    p.set_topology(topology, MS, &mut Out::default());
    events(&mut p);
    let now = 10 * MS;
    let request = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
    let response = b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n";
    // s0 keeps no pool: each request has a connection of its own.
    let mut sent = client_request(&mut p, request, now);
    let mut client_seq = 101;
    for n in 1..=2 {
        let syn = syn_to(&sent, S0).expect("a connection to s0");
        accept_request(&mut p, S0, &syn, now);
        let s = Seg {
            seq: 9001,
            ack: Some(syn.2.seq.wrapping_add(1 + request.len() as u32)),
            flags: PSH,
            payload: response.to_vec(),
            ..Seg::default()
        };
        let answer = to_servers(from_server(&mut p, S0, syn.1, &s, now));
        let last = answer
            .iter()
            .filter(|(dst, _, _)| *dst == CLIENT)
            .map(|(_, _, s)| s.clone())
            .next_back()
            .unwrap_or_else(|| panic!("the response {n}: {answer:?}"));
        // The client takes it (the response is done), then asks again.
        client_seq += request.len() as u32;
        let ack = Seg {
            seq: client_seq,
            ack: Some(last.seq.wrapping_add(last.payload.len() as u32)),
            ..Seg::default()
        };
        let mut out = Out::default();
        p.receive(0, frame((CLIENT, 40000), (VIP, 80), &ack), now, &mut out);
        if n == 1 {
            assert!(events(&mut p).is_empty(), "one 5xx is no run");
            let again = Seg {
                payload: request.to_vec(),
                flags: PSH,
                ..ack
            };
            let mut out = Out::default();
            p.receive(0, frame((CLIENT, 40000), (VIP, 80), &again), now, &mut out);
            sent = to_servers(out);
        }
    }
    assert_eq!(events(&mut p), [HealthEvent::Outlier(0, 2)]);
    assert_eq!(p.counters().snapshot().get(Counter::HealthOutliers), 1);
}

#[test]
fn a_request_routed_again_and_reset_again_is_answered_not_sent_a_third_time() {
    // Two reals that reset whatever they are sent: the request goes to s0, then once to
    // s1, then its client gets 502 (it went round s0, s1, s0... for as long as they
    // reset it).
    let mut p = pipeline(1, 0);
    events(&mut p);
    let now = 10 * MS;
    let request = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
    let sent = client_request(&mut p, request, now);
    let syn = syn_to(&sent, S0).expect("a connection to s0");
    assert_eq!(accept_request(&mut p, S0, &syn, now), request);
    let rst = Seg {
        seq: 9001,
        flags: RST,
        ..Seg::default()
    };
    let sent = to_servers(from_server(&mut p, S0, syn.1, &rst, now));
    let syn1 = syn_to(&sent, S1).expect("a connection to s1");
    assert_eq!(accept_request(&mut p, S1, &syn1, now), request);
    let sent = to_servers(from_server(&mut p, S1, syn1.1, &rst, now));
    assert!(syn_to(&sent, S0).is_none(), "not a third time: {sent:?}");
    let answer: Vec<u8> = sent
        .iter()
        .filter(|(dst, _, _)| *dst == CLIENT)
        .flat_map(|(_, _, s)| s.payload.clone())
        .collect();
    assert!(
        answer.starts_with(b"HTTP/1.1 502"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let c = p.counters().snapshot();
    assert_eq!(c.get(Counter::HealthRoutedAgain), 1);
    assert_eq!(c.get(Counter::BadGateway), 1);
}
