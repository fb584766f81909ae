//! The client leg with real TCP peers: smoltcp HTTP clients connect to the VIP of the
//! dataplane pipelines over lossy, reordering, duplicating links. With no server bound,
//! every valid request must come back as a complete `503` and every connection must end
//! in order, leaving no flow state behind; a bad request gets its own status.

use splicer_pipeline::counters::Snapshot;
use splicer_pipeline::{Counter, Gauge, Service};
use splicer_sim::lab::{self, VIP};
use splicer_sim::middlebox::Spread;
use splicer_sim::time::ticks_from_ms;
use splicer_sim::{AppId, HttpClient, Impairments, Network, PipelineBox, Request, Segment};
use std::net::SocketAddrV4;

const CLIENTS: u8 = 8;

fn network(workers: usize, seed: u64) -> Network<PipelineBox> {
    let topology = lab::topology().with_services(&[Service {
        address: SocketAddrV4::new(VIP, 80),
        virtual_index: 0,
        max_request_head: 16 * 1024,
        max_pipeline: Service::DEFAULT_MAX_PIPELINE,
        max_held: Service::DEFAULT_MAX_HELD,
        forward_for: Default::default(),
        server_close: Default::default(),
    }]);
    let dut =
        PipelineBox::build(topology, lab::settings(workers), seed).with_spread(Spread::PerPacket);
    Network::new(dut, Impairments::LOSSY, seed)
}

fn nonzero(s: &Snapshot) -> String {
    s.iter()
        .filter(|&(_, v)| v > 0)
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn run(workers: usize, seed: u64) {
    let mut net = network(workers, seed);
    let mut clients: Vec<AppId<HttpClient>> = Vec::new();
    for n in 0..CLIENTS {
        let host = net.add_host(Segment::Outside, lab::client(n));
        let request = if n % 2 == 0 {
            Request::get(&format!("/page/{n}"))
        } else {
            Request::get("/old").http10()
        };
        clients.push(net.spawn(
            host,
            HttpClient::new(SocketAddrV4::new(VIP, 80), vec![request]),
        ));
    }
    net.run_until(
        |n| clients.iter().all(|&c| n.app(c).is_finished()),
        ticks_from_ms(30_000),
    )
    .unwrap_or_else(|e| panic!("{e}: {}", nonzero(&net.dut().counters())));
    for &c in &clients {
        let app = net.app(c);
        assert_eq!(app.error(), None, "seed {seed}");
        let r = &app.responses()[0];
        assert_eq!(r.status, 503, "seed {seed}");
        assert_eq!(r.header("server"), Some("Splicer"));
        let len: usize = r.header("content-length").unwrap().parse().unwrap();
        assert_eq!(r.body.len(), len, "the whole body arrived");
    }
    // Let the closes finish and the timers run once more.
    net.run_for(ticks_from_ms(3_000));
    let c = net.dut().counters();
    assert_eq!(
        c.get(Counter::HttpNoServer),
        u64::from(CLIENTS),
        "{}",
        nonzero(&c)
    );
    assert_eq!(
        c.get(Counter::TcpEstablished),
        u64::from(CLIENTS),
        "{}",
        nonzero(&c)
    );
    assert_eq!(
        c.get(Counter::ClientsClosed) + c.get(Counter::ClientResets),
        u64::from(CLIENTS),
        "{}",
        nonzero(&c)
    );
    for w in 0..workers {
        let g = net.dut().worker_counters(w);
        assert_eq!(g.gauge(Gauge::Flows), 0, "worker {w} kept flow state");
        assert_eq!(g.gauge(Gauge::HalfOpen), 0);
    }
    if workers > 1 {
        assert!(c.get(Counter::HandoffOut) > 0, "{}", nonzero(&c));
    }
}

#[test]
fn clients_get_503_over_lossy_links_one_worker() {
    for seed in 1..=4 {
        run(1, seed);
    }
}

#[test]
fn clients_get_503_over_lossy_links_two_workers() {
    for seed in 11..=14 {
        run(2, seed);
    }
}

#[test]
fn a_smuggling_attempt_gets_400() {
    let mut net = network(1, 99);
    let host = net.add_host(Segment::Outside, lab::client(0));
    let raw =
        b"POST / HTTP/1.1\r\nHost: www\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_vec();
    let c = net.spawn(
        host,
        HttpClient::new(SocketAddrV4::new(VIP, 80), vec![Request::raw(raw)]),
    );
    net.run_until(|n| n.app(c).is_finished(), ticks_from_ms(10_000))
        .expect("finished");
    assert_eq!(net.app(c).responses()[0].status, 400);
    assert_eq!(net.dut().counters().get(Counter::RefusedSmuggling), 1);
}
