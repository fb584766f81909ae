//! `mode = "tcp"` (L4 pass-through) with real TCP peers on both legs: smoltcp HTTP
//! clients and servers, whose bytes Splicer does not read, over clean and lossy links
//! (loss, duplication, reordering) with one and two workers. Each client connection
//! gets a fresh server connection of its own for all its requests; every body must
//! arrive intact, and nothing may be left at the end (no pools: the reals serve the
//! tcp virtual only).

use splicer_pipeline::balance::{Farm, Mode, Predictor, Real, VirtualPolicy};
use splicer_pipeline::counters::Snapshot;
use splicer_pipeline::{Counter, Gauge};
use splicer_sim::http::expected_body;
use splicer_sim::lab::{self, VIP};
use splicer_sim::middlebox::Spread;
use splicer_sim::time::ticks_from_ms;
use splicer_sim::{HttpClient, HttpServer, Impairments, Network, PipelineBox, Request, Segment};
use std::net::SocketAddrV4;

const SERVERS: u8 = 3;

fn nonzero(s: &Snapshot) -> String {
    s.iter()
        .filter(|&(_, v)| v > 0)
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn farm() -> Farm {
    let reals = (0..SERVERS)
        .map(|n| {
            Real::new(
                format!("server{n}"),
                SocketAddrV4::new(std::net::Ipv4Addr::new(198, 19, 0, 10 + n), 80),
                1,
                0,
                64,
            )
        })
        .collect();
    let mut v = VirtualPolicy::splice("tls", Predictor::RoundRobin, vec![], vec![0, 1, 2]);
    v.mode = Mode::Tcp;
    Farm {
        reals,
        virtuals: vec![v],
        urls: Vec::new(),
    }
}

/// `clients` keep-alive clients, each with four requests of mixed sizes, through a tcp
/// virtual; every response checked, then nothing left.
fn run(workers: usize, seed: u64, impairments: Impairments, clients: usize) {
    let dut = PipelineBox::build(lab::www(farm()), lab::settings(workers), seed)
        .with_spread(Spread::PerPacket);
    let mut net = Network::new(dut, impairments, seed);
    let servers: Vec<_> = (0..SERVERS)
        .map(|n| {
            let host = net.add_host(Segment::Inside, lab::server(n));
            net.spawn(host, HttpServer::new(&format!("server{n}"), 80, 64))
        })
        .collect();
    let mut ids = Vec::new();
    for n in 0..clients {
        let requests = vec![
            Request::get(&format!("/a/{n}?bytes=0")),
            Request::get(&format!("/b/{n}?bytes=100000")),
            Request::post(&format!("/c/{n}?bytes=10"), vec![b'x'; 20000]),
            Request::get(&format!("/d/{n}?bytes=3000")),
        ];
        let host = net.add_host(Segment::Outside, lab::client(n as u8));
        ids.push(net.spawn(host, HttpClient::new(SocketAddrV4::new(VIP, 80), requests)));
    }
    let result = net.run_until(
        |n| ids.iter().all(|&c| n.app(c).is_finished()),
        ticks_from_ms(120_000),
    );
    if let Err(e) = result {
        panic!("{e}: {}", nonzero(&net.dut().counters()));
    }
    for &c in &ids {
        let app = net.app(c);
        assert_eq!(app.error(), None, "{}", nonzero(&net.dut().counters()));
        assert_eq!(app.responses().len(), app.requests().len());
        let mut served_by = None;
        for (req, resp) in app.requests().iter().zip(app.responses()) {
            assert_eq!(resp.status, 200, "{}", req.target());
            let server = resp.header("x-server").expect("servers name themselves");
            // One client connection, one server connection: all its requests on one
            // server.
            assert_eq!(*served_by.get_or_insert(server.to_string()), server);
            assert!(
                resp.body == expected_body(server, req.target()),
                "body of {} from {server} differs ({} bytes)",
                req.target(),
                resp.body.len()
            );
        }
    }
    let c = net.dut().counters();
    assert_eq!(
        c.get(Counter::TunnelSplices),
        clients as u64,
        "{}",
        nonzero(&c)
    );
    // Nothing was read as HTTP.
    assert_eq!(c.get(Counter::HttpRequests), 0, "{}", nonzero(&c));
    assert_eq!(c.get(Counter::Splices), 0, "{}", nonzero(&c));
    // A fresh server connection per client connection, none pooled.
    let server_conns: usize = servers
        .iter()
        .map(|&s| net.app(s).connections().len())
        .sum();
    assert_eq!(server_conns, clients);
    // The clients close (keep-alive clients end with a FIN); the servers close theirs
    // when they read it. Let the last ACKs and retransmissions settle.
    net.run_for(ticks_from_ms(30_000));
    let c = net.dut().counters();
    let flows: u64 = (0..workers)
        .map(|w| net.dut().worker_counters(w).gauge(Gauge::Flows))
        .sum();
    assert_eq!(flows, 0, "no state left: {}", nonzero(&c));
    assert_eq!(c.get(Counter::TunnelAborts), 0, "{}", nonzero(&c));
}

#[test]
fn tcp_mode_over_clean_links() {
    run(1, 3, Impairments::default(), 6);
}

#[test]
fn tcp_mode_over_lossy_links_one_worker() {
    run(1, 11, Impairments::LOSSY, 6);
}

#[test]
fn tcp_mode_over_lossy_links_two_workers() {
    run(2, 21, Impairments::LOSSY, 6);
}
