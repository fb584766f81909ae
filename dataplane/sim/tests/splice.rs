//! The splice with real TCP peers on both legs: smoltcp HTTP clients on the outside,
//! smoltcp HTTP servers on the inside, the dataplane pipelines in between, links with
//! loss, reordering and duplication on both segments. Every body must arrive intact
//! and from the server the rules chose, pooled server connections must carry requests
//! of several client connections, and no connection state may remain at the end.

use splicer_http::{Matcher, Rule};
use splicer_pipeline::balance::{Farm, Predictor, Real, RuleRoute, VirtualPolicy};
use splicer_pipeline::counters::{RealCounter, Snapshot, VirtualCounter, BIND_SLOT};
use splicer_pipeline::{Counter, Gauge};
use splicer_sim::http::expected_body;
use splicer_sim::lab::{self, VIP};
use splicer_sim::middlebox::Spread;
use splicer_sim::time::ticks_from_ms;
use splicer_sim::{
    AppId, ClientError, HttpClient, HttpServer, Impairments, Network, PipelineBox, Request,
    Segment, TcpConfig,
};
use std::net::SocketAddrV4;

const SERVERS: u8 = 3;

fn farm(pool: u16, maxconns: u16) -> Farm {
    let reals = (0..SERVERS)
        .map(|n| {
            Real::new(
                format!("server{n}"),
                SocketAddrV4::new(std::net::Ipv4Addr::new(198, 19, 0, 10 + n), 80),
                1,
                pool,
                maxconns,
            )
        })
        .collect();
    Farm {
        reals,
        virtuals: vec![VirtualPolicy::splice(
            "www",
            Predictor::RoundRobin,
            vec![RuleRoute {
                class: splicer_pipeline::balance::RequestClass::default(),
                name: "img".into(),
                rule: Rule::new(vec![Matcher::PathPrefix("/img/".into())]),
                members: vec![1],
                urls: Vec::new(),
                predictor: None,
                hash: None,
            }],
            vec![0, 1, 2],
        )],
        urls: Vec::new(),
    }
}

struct Bed {
    net: Network<PipelineBox>,
    servers: Vec<AppId<HttpServer>>,
}

fn bed(workers: usize, seed: u64, impairments: Impairments, pool: u16, maxconns: u16) -> Bed {
    bed_with(
        workers,
        seed,
        impairments,
        pool,
        maxconns,
        TcpConfig::default(),
    )
}

fn bed_with(
    workers: usize,
    seed: u64,
    impairments: Impairments,
    pool: u16,
    maxconns: u16,
    server_tcp: TcpConfig,
) -> Bed {
    let topology = lab::www(farm(pool, maxconns));
    let dut =
        PipelineBox::build(topology, lab::settings(workers), seed).with_spread(Spread::PerPacket);
    let mut net = Network::new(dut, impairments, seed);
    let servers = (0..SERVERS)
        .map(|n| {
            let host = net.add_host(Segment::Inside, lab::server(n));
            net.spawn(
                host,
                HttpServer::new(&format!("server{n}"), 80, 64).with_tcp(server_tcp),
            )
        })
        .collect();
    Bed { net, servers }
}

fn nonzero(s: &Snapshot) -> String {
    s.iter()
        .filter(|&(_, v)| v > 0)
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs clients, each with its list of requests, until all are finished; checks every
/// response against what the chosen server serves.
fn run_clients(b: &mut Bed, clients: Vec<Vec<Request>>, limit_ms: u64) -> Vec<AppId<HttpClient>> {
    run_clients_with(b, clients, limit_ms, TcpConfig::default())
}

fn run_clients_with(
    b: &mut Bed,
    clients: Vec<Vec<Request>>,
    limit_ms: u64,
    tcp: TcpConfig,
) -> Vec<AppId<HttpClient>> {
    let mut ids = Vec::new();
    for (n, requests) in clients.into_iter().enumerate() {
        let host = b.net.add_host(Segment::Outside, lab::client(n as u8));
        ids.push(b.net.spawn(
            host,
            HttpClient::new(SocketAddrV4::new(VIP, 80), requests).with_tcp(tcp),
        ));
    }
    let result = b.net.run_until(
        |n| ids.iter().all(|&c| n.app(c).is_finished()),
        ticks_from_ms(limit_ms),
    );
    if let Err(e) = result {
        panic!("{e}: {}", nonzero(&b.net.dut().counters()));
    }
    for &c in &ids {
        let app = b.net.app(c);
        assert_eq!(app.error(), None, "{}", nonzero(&b.net.dut().counters()));
        assert_eq!(app.responses().len(), app.requests().len());
        for (req, resp) in app.requests().iter().zip(app.responses()) {
            assert_eq!(resp.status, 200, "{} {}", req.method(), req.target());
            if req.method() == "HEAD" {
                assert!(resp.body.is_empty());
                continue;
            }
            let server = resp.header("x-server").expect("servers name themselves");
            if req.target().starts_with("/img/") {
                assert_eq!(server, "server1", "the /img/ rule picks server1");
            }
            assert!(
                resp.body == expected_body(server, req.target()),
                "body of {} from {server} differs ({} bytes)",
                req.target(),
                resp.body.len()
            );
        }
    }
    ids
}

/// After everything ends, no connection state is left but the idle pools.
fn assert_only_pools_left(b: &mut Bed, pool: u16, workers: usize) {
    // Let closes and lingers settle, and idle connections beyond the pool size reach
    // `server_idle_timeout` (60 s).
    b.net.run_for(ticks_from_ms(75_000));
    let c = b.net.dut().counters();
    let flows: u64 = (0..workers)
        .map(|w| b.net.dut().worker_counters(w).gauge(Gauge::Flows))
        .sum();
    let pooled = u64::from(SERVERS) * u64::from(pool) * workers as u64;
    assert_eq!(flows, pooled, "only the idle pools remain: {}", nonzero(&c));
    assert_eq!(c.get(Counter::ServerTruncated), 0, "{}", nonzero(&c));
    assert_eq!(c.get(Counter::ServerFramingErrors), 0, "{}", nonzero(&c));
}

fn mixed_requests(n: usize) -> Vec<Request> {
    let kinds = [
        Request::get(&format!("/a/{n}?bytes=0")),
        Request::get(&format!("/img/{n}.png?bytes=1")),
        Request::get(&format!("/b/{n}?bytes=100000")),
        Request::head(&format!("/c/{n}?bytes=500")),
        Request::get(&format!("/d/{n}?bytes=3000")),
        Request::post(&format!("/e/{n}?bytes=10"), vec![b'x'; 5000]),
    ];
    kinds.into_iter().cycle().skip(n % 6).take(4).collect()
}

#[test]
fn keep_alive_clients_over_clean_links_reuse_pooled_connections() {
    let mut b = bed(1, 1, Impairments::default(), 2, 8);
    let clients = (0..6).map(mixed_requests).collect();
    run_clients(&mut b, clients, 60_000);
    let c = b.net.dut().counters();
    assert!(c.get(Counter::Splices) >= 24, "{}", nonzero(&c));
    assert!(c.get(Counter::PoolReuses) > 0, "{}", nonzero(&c));
    // Some server connection carried requests of different client connections.
    let mut shared = false;
    for &s in &b.servers {
        let srv = b.net.app(s);
        assert!(srv.errors().is_empty(), "{:?}", srv.errors());
        for conn in 0..srv.connections().len() {
            let clients: std::collections::HashSet<&str> = srv
                .requests()
                .iter()
                .filter(|r| r.conn == conn)
                .map(|r| r.target.split('/').nth(2).unwrap_or(""))
                .collect();
            shared |= clients.len() > 1;
        }
        assert!(
            srv.connections().len() <= 8,
            "at most maxconns connections per real"
        );
    }
    assert!(shared, "pooled connections serve several clients");
    // The per-object counters add up to the worker's totals.
    let w = b.net.dut().worker_counters(0);
    let per_real = |rc: RealCounter| -> u64 {
        (0..usize::from(SERVERS))
            .map(|r| w.real_row(r)[rc as usize])
            .sum()
    };
    assert_eq!(
        per_real(RealCounter::Requests),
        c.get(Counter::SpliceRequests)
    );
    assert_eq!(
        per_real(RealCounter::Responses2xx),
        c.get(Counter::Responses2xx)
    );
    assert_eq!(per_real(RealCounter::ServerErrors), 0);
    let v = w.virtual_row(0);
    assert_eq!(
        v[VirtualCounter::Requests as usize],
        c.get(Counter::HttpRequests)
    );
    assert_eq!(
        v[VirtualCounter::Spliced as usize],
        c.get(Counter::SpliceRequests)
    );
    // Every request was routed by the img rule or the bind list; the rule's all went to
    // server1.
    let rules = w.rule_row(0);
    let img = rules[0];
    assert!(img > 0);
    assert_eq!(img + rules[BIND_SLOT], c.get(Counter::HttpRequests));
    assert!(w.real_row(1)[RealCounter::Requests as usize] >= img);
    assert_only_pools_left(&mut b, 2, 1);
}

#[test]
fn http10_clients_get_keep_alive_inserted_and_are_closed_by_splicer() {
    let mut b = bed(1, 2, Impairments::default(), 1, 4);
    let clients = (0..4)
        .map(|n| vec![Request::get(&format!("/old/{n}?bytes=2000")).http10()])
        .collect();
    run_clients(&mut b, clients, 30_000);
    let c = b.net.dut().counters();
    assert_eq!(c.get(Counter::KeepAliveInserted), 4, "{}", nonzero(&c));
    // The servers saw keep-alive requests and kept their connections.
    for &s in &b.servers {
        for r in b.net.app(s).requests() {
            assert_eq!(r.header("connection"), Some("Keep-Alive"));
        }
    }
    assert_only_pools_left(&mut b, 1, 1);
    let c = b.net.dut().counters();
    assert_eq!(c.get(Counter::ClientsClosed), 4, "{}", nonzero(&c));
    assert_eq!(c.get(Counter::ResponsesComplete), 4, "{}", nonzero(&c));
}

fn lossy(workers: usize, seed: u64) {
    let mut b = bed(workers, seed, Impairments::LOSSY, 2, 16);
    let clients = (0..6).map(mixed_requests).collect();
    run_clients(&mut b, clients, 300_000);
    assert_only_pools_left(&mut b, 2, workers);
}

#[test]
fn lossy_links_one_worker() {
    lossy(1, 10);
}

#[test]
fn lossy_links_two_workers() {
    lossy(2, 20);
}

/// Timestamps and window scaling on one leg, both or neither: the translation (both),
/// the stripping of the option towards a leg without it, and window rescaling between
/// legs with different shifts all have to keep bodies intact.
#[test]
fn timestamps_and_window_scaling_on_either_leg() {
    let plain = TcpConfig::default();
    let rich = TcpConfig {
        timestamps: true,
        rx_buffer: 512 * 1024,
        tx_buffer: 512 * 1024,
        ..TcpConfig::default()
    };
    for (seed, client, server) in [(31, rich, rich), (32, rich, plain), (33, plain, rich)] {
        let mut b = bed_with(1, seed, Impairments::LOSSY, 2, 8, server);
        let clients = (0..3).map(mixed_requests).collect();
        run_clients_with(&mut b, clients, 300_000, client);
        assert_only_pools_left(&mut b, 2, 1);
    }
}

/// A client that resets mid-response (NetScaler's "Internet client-server multiplexer",
/// WO 00/28433): Splicer ACKs the rest of the response
/// to the server itself, and once it is complete the server connection serves the next
/// client's request.
#[test]
fn client_reset_mid_response_drains_and_reuses_the_server_connection() {
    let mut b = bed(1, 41, Impairments::default(), 1, 1);
    let host = b.net.add_host(Segment::Outside, lab::client(0));
    let quitter = b.net.spawn(
        host,
        HttpClient::new(
            SocketAddrV4::new(VIP, 80),
            vec![Request::get("/img/big?bytes=400000")],
        )
        .abort_after(30_000),
    );
    b.net
        .run_until(|n| n.app(quitter).is_finished(), ticks_from_ms(30_000))
        .expect("the client aborts");
    assert!(b.net.app(quitter).aborted());
    // maxconns 1: the next /img/ request can only be served by the drained connection.
    let host = b.net.add_host(Segment::Outside, lab::client(1));
    let next = b.net.spawn(
        host,
        HttpClient::new(
            SocketAddrV4::new(VIP, 80),
            vec![Request::get("/img/next?bytes=5000")],
        ),
    );
    b.net
        .run_until(|n| n.app(next).is_finished(), ticks_from_ms(30_000))
        .expect("the next client is served");
    let resp = &b.net.app(next).responses()[0];
    assert_eq!(resp.body, expected_body("server1", "/img/next?bytes=5000"));
    let c = b.net.dut().counters();
    assert_eq!(c.get(Counter::ClientResets), 1, "{}", nonzero(&c));
    assert_eq!(c.get(Counter::DrainStarted), 1, "{}", nonzero(&c));
    assert_eq!(c.get(Counter::DrainCompleted), 1, "{}", nonzero(&c));
    let s1 = b.net.app(b.servers[1]);
    assert_eq!(
        s1.connections().len(),
        1,
        "one server connection served both"
    );
    assert_eq!(s1.requests().len(), 2);
    assert_only_pools_left(&mut b, 1, 1);
}

/// A client with a small MSS (576-byte MTU): the servers' full-size segments must reach
/// it re-segmented, never larger than its MSS.
#[test]
fn small_mss_client_gets_resegmented_responses() {
    let mut b = bed(1, 51, Impairments::default(), 1, 4);
    let host = b
        .net
        .add_host(Segment::Outside, lab::client(0).frame_mtu(590));
    let client = b.net.spawn(
        host,
        HttpClient::new(
            SocketAddrV4::new(VIP, 80),
            vec![
                Request::get("/big?bytes=50000"),
                Request::get("/img/x?bytes=7000"),
            ],
        ),
    );
    b.net
        .run_until(|n| n.app(client).is_finished(), ticks_from_ms(30_000))
        .expect("the client is served");
    let app = b.net.app(client);
    assert_eq!(app.error(), None);
    for (req, resp) in app.requests().iter().zip(app.responses()) {
        let server = resp.header("x-server").expect("named");
        assert_eq!(resp.body, expected_body(server, req.target()));
    }
    let c = b.net.dut().counters();
    assert!(c.get(Counter::Resegmented) > 0, "{}", nonzero(&c));
}

/// A response that ends before its request body (a server answering a POST from the
/// head alone, like nginx's 405 for a static file): the rest of the body reaches
/// neither the server connection's next user nor Splicer's request parser. The server
/// connection is reset, the client closed after the response, and the next client
/// (maxconns 1) is served on a fresh connection.
#[test]
fn early_response_never_returns_the_connection_with_a_body_pending() {
    let mut b = bed(1, 61, Impairments::default(), 1, 1);
    let smuggled = b"GET /img/smuggled HTTP/1.1\r\nHost: splicer.test\r\n\r\n".to_vec();
    let head = format!(
        "POST /img/early?early=1&status=405 HTTP/1.1\r\nHost: splicer.test\r\nContent-Length: {}\r\n\r\n",
        smuggled.len()
    );
    let host = b.net.add_host(Segment::Outside, lab::client(0));
    // The head alone, then (once the 405 is in) the body, which looks like a request.
    let early = b.net.spawn(
        host,
        HttpClient::new(
            SocketAddrV4::new(VIP, 80),
            vec![Request::raw(head.into_bytes()), Request::raw(smuggled)],
        )
        .keep_open(),
    );
    b.net
        .run_until(|n| n.app(early).is_finished(), ticks_from_ms(30_000))
        .expect("the early client ends");
    let a = b.net.app(early);
    assert_eq!(a.responses().len(), 1, "{:?}", a.error());
    assert_eq!(a.responses()[0].status, 405);
    // Splicer closed the connection after the early response instead of reading the
    // body as a request.
    assert!(
        matches!(
            a.error(),
            Some(ClientError::Closed { index: 1, .. } | ClientError::BadResponse { index: 1, .. })
        ),
        "{:?}",
        a.error()
    );
    let host = b.net.add_host(Segment::Outside, lab::client(1));
    let next = b.net.spawn(
        host,
        HttpClient::new(
            SocketAddrV4::new(VIP, 80),
            vec![Request::get("/img/next?bytes=3000")],
        ),
    );
    b.net
        .run_until(|n| n.app(next).is_finished(), ticks_from_ms(30_000))
        .expect("the next client is served");
    let resp = &b.net.app(next).responses()[0];
    assert_eq!(resp.body, expected_body("server1", "/img/next?bytes=3000"));
    let s1 = b.net.app(b.servers[1]);
    let targets: Vec<&str> = s1.requests().iter().map(|r| r.target.as_str()).collect();
    assert_eq!(
        targets,
        ["/img/early?early=1&status=405", "/img/next?bytes=3000"],
        "the server saw exactly the clients' requests"
    );
    assert_eq!(
        s1.connections().len(),
        2,
        "the early connection was not reused"
    );
    let c = b.net.dut().counters();
    assert_eq!(c.get(Counter::EarlyResponses), 1, "{}", nonzero(&c));
    assert_only_pools_left(&mut b, 1, 1);
}

/// Request bodies larger than the server's receive window (4 KiB here), over lossy
/// links: Splicer frames and forwards only what fits in the server's window, and every
/// body still arrives whole and unchanged.
#[test]
fn bodies_larger_than_the_servers_window_arrive_whole() {
    let small = TcpConfig {
        rx_buffer: 4 * 1024,
        ..TcpConfig::default()
    };
    let mut b = bed_with(1, 71, Impairments::LOSSY, 1, 4, small);
    let body = |n: usize| (0..n).map(|i| (i * 7 % 251) as u8).collect::<Vec<u8>>();
    let clients = vec![
        vec![Request::post("/img/up1", body(60_000))],
        vec![
            Request::post("/img/up2", body(20_000)),
            Request::get("/img/after?bytes=2000"),
        ],
    ];
    run_clients(&mut b, clients, 300_000);
    let s1 = b.net.app(b.servers[1]);
    let mut got: Vec<(String, usize, bool)> = s1
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| (r.target.clone(), r.body.len(), r.body == body(r.body.len())))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("/img/up1".to_string(), 60_000, true),
            ("/img/up2".to_string(), 20_000, true)
        ]
    );
    assert_only_pools_left(&mut b, 1, 1);
}

/// `forward_for = "header"` over lossy links, two workers: every request every server
/// gets (keep-alive ones, POST bodies, retransmitted heads) carries exactly one
/// `X-Forwarded-For`, its own client's address, and `X-Forwarded-Proto: http`; the
/// clients' forged ones never arrive, and bodies and responses stay intact both ways
/// although each head is longer or shorter on the server leg than on the client's.
#[test]
fn forward_for_over_lossy_links() {
    use splicer_http::{ForwardFor, Incoming};
    use splicer_pipeline::Service;
    let topology = lab::topology()
        .with_services(&[Service {
            address: SocketAddrV4::new(VIP, 80),
            virtual_index: 0,
            max_request_head: 16 * 1024,
            max_pipeline: Service::DEFAULT_MAX_PIPELINE,
            max_held: Service::DEFAULT_MAX_HELD,
            forward_for: ForwardFor::Header(Incoming::Replace),
            server_close: Default::default(),
        }])
        .with_farm(farm(2, 16));
    let seed = 77;
    let dut = PipelineBox::build(topology, lab::settings(2), seed).with_spread(Spread::PerPacket);
    let mut net = Network::new(dut, Impairments::LOSSY, seed);
    let servers = (0..SERVERS)
        .map(|n| {
            let host = net.add_host(Segment::Inside, lab::server(n));
            net.spawn(host, HttpServer::new(&format!("server{n}"), 80, 64))
        })
        .collect();
    let mut b = Bed { net, servers };
    let forged = "6.6.6.6, ".repeat(40) + "6.6.6.6";
    let clients = (0..6)
        .map(|n| {
            mixed_requests(n)
                .into_iter()
                .enumerate()
                .map(|(i, r)| match i % 3 {
                    0 => r,
                    1 => r.header("X-Forwarded-For", "6.6.6.6"),
                    _ => r
                        .header("x-forwarded-for", &forged)
                        .header("X-Forwarded-Proto", "https"),
                })
                .collect()
        })
        .collect();
    run_clients(&mut b, clients, 300_000);
    let mut seen = 0;
    for &s in &b.servers {
        for r in b.net.app(s).requests() {
            // The client's index is the number after the target's first path segment.
            let n: u8 = r.target.split('/').nth(2).unwrap()[..1].parse().unwrap();
            let xff: Vec<&str> = r
                .headers
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case("x-forwarded-for"))
                .map(|(_, v)| v.as_str())
                .collect();
            assert_eq!(xff, [format!("198.18.0.{}", 10 + n)], "{r:?}");
            assert_eq!(r.header("x-forwarded-proto"), Some("http"), "{r:?}");
            if r.method == "POST" {
                assert_eq!(r.body, vec![b'x'; 5000]);
            }
            seen += 1;
        }
    }
    assert_eq!(seen, 24);
    let c = b.net.dut().counters();
    assert_eq!(c.get(Counter::ForwardedForInserted), 24, "{}", nonzero(&c));
    assert_eq!(c.get(Counter::ForwardedForReplaced), 12, "{}", nonzero(&c));
    assert_only_pools_left(&mut b, 2, 2);
}
