//! SYN cookies with real TCP peers: every client connection is established from a cookie
//! (`syn_cookie_threshold` 0, so no SYN leaves state behind) over lossy links with one
//! and two workers, and its requests are spliced to the servers with bodies intact.

use splicer_pipeline::balance::{Farm, Predictor, Real, VirtualPolicy};
use splicer_pipeline::counters::Snapshot;
use splicer_pipeline::flow::FlowSettings;
use splicer_pipeline::{Counter, Settings};
use splicer_sim::http::expected_body;
use splicer_sim::lab::{self, VIP};
use splicer_sim::middlebox::Spread;
use splicer_sim::time::ticks_from_ms;
use splicer_sim::{HttpClient, HttpServer, Impairments, Network, PipelineBox, Request, Segment};
use std::net::{Ipv4Addr, SocketAddrV4};

fn nonzero(s: &Snapshot) -> String {
    s.iter()
        .filter(|&(_, v)| v > 0)
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn run(workers: usize, seed: u64) {
    let reals = (0..2)
        .map(|n| {
            let address = SocketAddrV4::new(Ipv4Addr::new(198, 19, 0, 10 + n), 80);
            Real::new(format!("server{n}"), address, 1, 2, 16)
        })
        .collect();
    let farm = Farm {
        reals,
        virtuals: vec![VirtualPolicy::splice(
            "www",
            Predictor::RoundRobin,
            Vec::new(),
            vec![0, 1],
        )],
        urls: Vec::new(),
    };
    let topology = lab::www(farm);
    let template = lab::settings(workers);
    let settings = Settings {
        flow: FlowSettings {
            syn_cookie_threshold: 0,
            ..template.flow
        },
        ..template
    };
    let dut = PipelineBox::build(topology, settings, seed).with_spread(Spread::PerPacket);
    let mut net = Network::new(dut, Impairments::LOSSY, seed);
    for n in 0..2 {
        let host = net.add_host(Segment::Inside, lab::server(n));
        net.spawn(host, HttpServer::new(&format!("server{n}"), 80, 64));
    }
    let clients: Vec<_> = (0..6u8)
        .map(|n| {
            let host = net.add_host(Segment::Outside, lab::client(n));
            let requests = vec![
                Request::get(&format!("/a/{n}?bytes=100000")),
                Request::post(&format!("/b/{n}?bytes=10"), vec![b'x'; 5000]),
                Request::get(&format!("/c/{n}?bytes=3000")),
            ];
            net.spawn(host, HttpClient::new(SocketAddrV4::new(VIP, 80), requests))
        })
        .collect();
    let done = net.run_until(
        |n| clients.iter().all(|&c| n.app(c).is_finished()),
        ticks_from_ms(300_000),
    );
    let c = net.dut().counters();
    assert!(done.is_ok(), "{done:?}: {}", nonzero(&c));
    for &id in &clients {
        let app = net.app(id);
        assert_eq!(app.error(), None, "{}", nonzero(&c));
        assert_eq!(app.responses().len(), app.requests().len());
        for (req, resp) in app.requests().iter().zip(app.responses()) {
            assert_eq!(resp.status, 200, "{}", req.target());
            let server = resp.header("x-server").expect("servers name themselves");
            assert!(resp.body == expected_body(server, req.target()));
        }
    }
    // No client connection went through SYN-RECEIVED: each is a validated cookie.
    assert_eq!(c.get(Counter::TcpSyns), 0, "{}", nonzero(&c));
    assert!(c.get(Counter::SynCookiesSent) >= 6, "{}", nonzero(&c));
    assert!(c.get(Counter::SynCookiesValidated) >= 6, "{}", nonzero(&c));
    assert_eq!(
        c.get(Counter::TcpEstablished),
        c.get(Counter::SynCookiesValidated),
        "{}",
        nonzero(&c)
    );
    assert_eq!(c.get(Counter::SynCookiesFailed), 0, "{}", nonzero(&c));
    assert!(c.get(Counter::Splices) >= 18, "{}", nonzero(&c));
}

#[test]
fn cookie_connections_are_spliced_over_lossy_links_one_worker() {
    run(1, 31);
}

#[test]
fn cookie_connections_are_spliced_over_lossy_links_two_workers() {
    run(2, 32);
}
