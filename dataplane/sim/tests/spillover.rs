//! High-water marks, spill-over and the virtual's queue with real TCP peers: smoltcp
//! HTTP clients, smoltcp HTTP servers made slow with `delay_ms=`, one worker. A real at
//! its `maxconns` (counted in request costs) takes no new request: the request goes to
//! a real of the next tier, or waits in the virtual's queue and is served by priority,
//! or is refused `503` with `Retry-After` when the queue is full.

use splicer_http::{Matcher, Rule};
use splicer_pipeline::balance::{Farm, Predictor, Real, RequestClass, RuleRoute, VirtualPolicy};
use splicer_pipeline::Counter;
use splicer_sim::lab::{self, VIP};
use splicer_sim::time::ticks_from_ms;
use splicer_sim::{
    AppId, HttpClient, HttpServer, Impairments, Network, PipelineBox, Request, Segment,
};
use std::net::{Ipv4Addr, SocketAddrV4};

fn real(n: u8, maxconns: u16, tier: u8) -> Real {
    Real {
        tier,
        ..Real::new(
            format!("server{n}"),
            SocketAddrV4::new(Ipv4Addr::new(198, 19, 0, 10 + n), 80),
            1,
            1,
            maxconns,
        )
    }
}

fn rule(prefix: &str, members: Vec<u16>, priority: u8, cost: u16) -> RuleRoute {
    RuleRoute {
        class: RequestClass { priority, cost },
        ..RuleRoute::new(
            prefix.trim_matches('/'),
            Rule::new(vec![Matcher::PathPrefix(prefix.into())]),
            members,
        )
    }
}

struct Bed {
    net: Network<PipelineBox>,
    servers: Vec<AppId<HttpServer>>,
    clients: Vec<AppId<HttpClient>>,
}

impl Bed {
    fn new(reals: Vec<Real>, rules: Vec<RuleRoute>, bind: Vec<u16>, queue_size: u32) -> Bed {
        let n = reals.len() as u8;
        let farm = Farm {
            reals,
            virtuals: vec![VirtualPolicy {
                queue_size,
                ..VirtualPolicy::splice("www", Predictor::RoundRobin, rules, bind)
            }],
            urls: Vec::new(),
        };
        let dut = PipelineBox::build(lab::www(farm), lab::settings(1), 7);
        let mut net = Network::new(dut, Impairments::default(), 7);
        let servers = (0..n)
            .map(|i| {
                let host = net.add_host(Segment::Inside, lab::server(i));
                net.spawn(host, HttpServer::new(&format!("server{i}"), 80, 64))
            })
            .collect();
        // Let the pools open.
        net.run_for(ticks_from_ms(50));
        Bed {
            net,
            servers,
            clients: Vec::new(),
        }
    }

    /// A new client connection that sends one GET for `target`, then waits `ms`.
    fn get(&mut self, target: &str, ms: u64) -> AppId<HttpClient> {
        let host = self
            .net
            .add_host(Segment::Outside, lab::client(self.clients.len() as u8));
        let id = self.net.spawn(
            host,
            HttpClient::new(SocketAddrV4::new(VIP, 80), vec![Request::get(target)]),
        );
        self.clients.push(id);
        self.net.run_for(ticks_from_ms(ms));
        id
    }

    /// A client connection that pipelines `targets` (GETs) in one burst.
    fn pipeline(&mut self, targets: &[&str]) -> AppId<HttpClient> {
        let host = self
            .net
            .add_host(Segment::Outside, lab::client(self.clients.len() as u8));
        let requests = targets.iter().map(|t| Request::get(t)).collect();
        let id = self.net.spawn(
            host,
            HttpClient::new(SocketAddrV4::new(VIP, 80), requests).pipelined(&[targets.len()]),
        );
        self.clients.push(id);
        id
    }

    fn finish(&mut self) {
        let ids = self.clients.clone();
        self.net
            .run_until(
                |n| ids.iter().all(|&c| n.app(c).is_finished()),
                ticks_from_ms(20_000),
            )
            .expect("every client finishes");
        // The pool levels are published on the next timer poll.
        self.net.run_for(ticks_from_ms(10));
    }

    fn count(&self, c: Counter) -> u64 {
        self.net.dut().counters().get(c)
    }

    /// The targets server `i` received, in order.
    fn served(&self, i: usize) -> Vec<String> {
        self.net
            .app(self.servers[i])
            .requests()
            .iter()
            .map(|r| r.target.split('?').next().unwrap_or("").to_string())
            .collect()
    }

    fn status(&self, c: AppId<HttpClient>) -> (u16, Option<String>) {
        let r = &self.net.app(c).responses()[0];
        (r.status, r.header("retry-after").map(str::to_string))
    }

    fn inflight(&self, real: usize) -> u64 {
        self.net.dut().worker_counters(0).pool(real).inflight
    }
}

#[test]
fn the_queue_drains_by_priority_and_overflows_with_retry_after() {
    // One real that takes one request at a time; /hi/ ranks 7, /lo/ 0; room for 5.
    let mut b = Bed::new(
        vec![real(0, 1, 1)],
        vec![rule("/hi/", vec![0], 7, 1), rule("/lo/", vec![0], 0, 1)],
        vec![0],
        5,
    );
    b.get("/block?delay_ms=300", 20);
    assert_eq!(b.inflight(0), 1);
    for n in 0..3 {
        b.get(&format!("/lo/{n}?delay_ms=20"), 10);
    }
    for n in 0..2 {
        b.get(&format!("/hi/{n}?delay_ms=20"), 10);
    }
    assert_eq!(b.count(Counter::PoolWaits), 5);
    // The sixth finds the queue full: 503 with Retry-After at once.
    let over = b.get("/lo/over", 30);
    assert_eq!(b.count(Counter::QueueOverflows), 1);
    assert!(b.net.app(over).is_finished());
    b.finish();
    assert_eq!(b.status(over), (503, Some("1".into())));
    assert_eq!(
        b.served(0),
        ["/block", "/hi/0", "/hi/1", "/lo/0", "/lo/1", "/lo/2"]
    );
    assert_eq!(b.count(Counter::PoolWaitServed), 5);
    assert_eq!(b.inflight(0), 0);
}

#[test]
fn a_queued_request_times_out_with_retry_after() {
    let mut b = Bed::new(vec![real(0, 1, 1)], vec![], vec![0], 4);
    b.get("/block?delay_ms=4000", 20);
    let late = b.get("/late", 10);
    b.finish();
    assert_eq!(b.status(late), (503, Some("1".into())));
    assert_eq!(b.count(Counter::QueueTimeouts), 1);
    assert_eq!(b.served(0), ["/block"]);
}

#[test]
fn a_costly_request_takes_its_slots() {
    // maxconns 4: a /big/ request costs 4, the rest 1.
    let mut b = Bed::new(
        vec![real(0, 4, 1)],
        vec![rule("/big/", vec![0], 4, 4)],
        vec![0],
        8,
    );
    b.get("/big/0?delay_ms=200", 20);
    assert_eq!(b.inflight(0), 4);
    // Nothing else fits beside it.
    b.get("/small/0?delay_ms=10", 20);
    assert_eq!(b.count(Counter::PoolWaits), 1);
    b.finish();
    assert_eq!(b.served(0), ["/big/0", "/small/0"]);
    // Three cheap ones fit together; a costly one then waits for all of them.
    b.get("/small/1?delay_ms=200", 5);
    b.get("/small/2?delay_ms=200", 5);
    b.get("/small/3?delay_ms=200", 5);
    assert_eq!(b.inflight(0), 3);
    b.get("/big/1?delay_ms=10", 20);
    assert_eq!(b.count(Counter::PoolWaits), 2);
    b.finish();
    assert_eq!(b.served(0).last().map(String::as_str), Some("/big/1"));
    assert_eq!(b.inflight(0), 0);
}

#[test]
fn the_mirror_serves_only_while_the_origin_is_full() {
    // server0 the origin (tier 1, 2 at once), server1 its mirror (tier 2).
    let mut b = Bed::new(vec![real(0, 2, 1), real(1, 2, 2)], vec![], vec![0, 1], 8);
    b.get("/a?delay_ms=300", 5);
    b.get("/b?delay_ms=300", 5);
    assert!(
        b.served(1).is_empty(),
        "the mirror waits while the origin has room"
    );
    b.get("/c?delay_ms=300", 5);
    b.get("/d?delay_ms=300", 20);
    assert_eq!(b.count(Counter::TierSpills), 2);
    assert_eq!((b.inflight(0), b.inflight(1)), (2, 2));
    // Both full: the next one waits and goes to whichever frees first.
    b.get("/e", 5);
    assert_eq!(b.count(Counter::PoolWaits), 1);
    b.finish();
    assert_eq!(b.served(1)[..2], ["/c", "/d"]);
    // The origin has room again: it takes the next requests.
    b.get("/f", 50);
    b.get("/g", 50);
    b.finish();
    assert!(b.served(0).ends_with(&["/f".to_string(), "/g".to_string()]));
    assert!(!b.served(1).iter().any(|t| t == "/f" || t == "/g"));
}

#[test]
fn pipelined_requests_sent_ahead_respect_the_high_water_mark() {
    // Three reals taking four slots each, four connections open to each: eight slow
    // GETs of cost 2 pipelined on one connection go out ahead only while a real has
    // room for them (two per real), not on every idle connection; the rest wait for
    // their turn.
    let reals = (0..3)
        .map(|n| Real {
            pool: 4,
            ..real(n, 4, 1)
        })
        .collect();
    let mut b = Bed::new(reals, vec![rule("/p/", vec![0, 1, 2], 4, 2)], vec![0], 8);
    let targets: Vec<String> = (0..8).map(|n| format!("/p/{n}?delay_ms=100")).collect();
    let refs: Vec<&str> = targets.iter().map(String::as_str).collect();
    let c = b.pipeline(&refs);
    let mut most = [0u64; 3];
    for _ in 0..100 {
        b.net.run_for(ticks_from_ms(5));
        for (r, m) in most.iter_mut().enumerate() {
            *m = (*m).max(b.inflight(r));
        }
    }
    b.finish();
    let app = b.net.app(c);
    assert_eq!(app.responses().len(), 8);
    assert!(app.responses().iter().all(|r| r.status == 200));
    assert_eq!(most, [4, 4, 4], "the cost in flight per real, at most");
    assert!(b.count(Counter::PipelinedDispatched) >= 5);
}
