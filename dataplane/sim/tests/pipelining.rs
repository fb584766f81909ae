//! HTTP/1.1 pipelining through Splicer with real TCP peers on both legs (issue 13):
//! smoltcp clients write many requests on one connection ahead of their responses (40
//! at once, then 40 more in small bursts while earlier ones are still in flight), to
//! paths that the rules send to four different servers, one of them slow. Splicer
//! dispatches the safe requests at once onto idle pooled connections, holds the later
//! servers' responses and releases them in order; every response must reach its client
//! byte for byte, from the server its path names, in the order of the requests, and
//! each server must see each of its requests once. Two workers share the flows (frames
//! spread by packet); several seeds, each on its own network; timestamps and window
//! scaling on every other seed.
//!
//! Issue 13's case is loss, reordering and duplication on both segments; the same run
//! with the servers' links clean, and over clean links, are checked too. Two regression
//! tests below are the reductions of the two bugs this test found (both fixed).
//! `one_run_from_the_environment` replays any variant, with pcap files.

use splicer_http::{Matcher, Rule};
use splicer_pipeline::balance::{Farm, Predictor, Real, RuleRoute, VirtualPolicy};
use splicer_pipeline::counters::Snapshot;
use splicer_pipeline::{Counter, Gauge, Service};
use splicer_sim::http::expected_body;
use splicer_sim::lab::{self, VIP};
use splicer_sim::middlebox::Spread;
use splicer_sim::time::ticks_from_ms;
use splicer_sim::{
    AppId, HttpClient, HttpServer, Impairments, Network, PipelineBox, Request, Segment, TcpConfig,
};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};

const SERVERS: u8 = 4;
const WORKERS: usize = 2;
/// Idle pooled connections per real and worker: enough for several requests of one
/// client to go out to the same real at once.
const POOL: u16 = 6;
const CLIENTS: u8 = 2;
const REQUESTS: usize = 80;
/// 40 requests in one write, then 40 more in bursts of 1 to 6.
const BURSTS: &[usize] = &[40, 3, 5, 2, 4, 1, 6, 3, 5, 2, 4, 5];
/// Server 1 answers every request after this long; server 3 every third one.
const SLOW_MS: usize = 25;

/// `server0` serves the bind list; `/s1/`, `/s2/`, `/s3/` are each routed by a rule to
/// their own server.
fn farm() -> Farm {
    let reals = (0..SERVERS)
        .map(|n| {
            Real::new(
                format!("server{n}"),
                SocketAddrV4::new(Ipv4Addr::new(198, 19, 0, 10 + n), 80),
                1,
                POOL,
                16,
            )
        })
        .collect();
    let rules = (1..SERVERS)
        .map(|n| RuleRoute {
            class: splicer_pipeline::balance::RequestClass::default(),
            name: format!("s{n}"),
            rule: Rule::new(vec![Matcher::PathPrefix(format!("/s{n}/"))]),
            members: vec![n.into()],
            urls: Vec::new(),
            predictor: None,
            hash: None,
        })
        .collect();
    Farm {
        reals,
        virtuals: vec![VirtualPolicy::splice(
            "www",
            Predictor::RoundRobin,
            rules,
            vec![0],
        )],
        urls: Vec::new(),
    }
}

/// Request `i` of client `c`: to server `i % 4` (the rules), sizes from nothing through
/// one segment and past it to more than the window a held response is offered
/// (`max_held`, 64 KiB), a HEAD now and then, server 1 always slow and server 3 at times.
fn request(c: u8, i: usize) -> Request {
    let server = i % usize::from(SERVERS);
    let bytes = [0, 120, 1460, 1461, 5000, 300, 20_000, 2500, 70_000][i % 9];
    let delay = match server {
        1 => SLOW_MS,
        3 if i % 3 == 0 => 2 * SLOW_MS,
        _ => 0,
    };
    let target = format!("/s{server}/c{c}/r{i}?bytes={bytes}&delay_ms={delay}");
    if i % 11 == 5 {
        Request::head(&target)
    } else {
        Request::get(&target)
    }
}

/// The server the rules send `target` to.
fn server_of(target: &str) -> String {
    let n = target.as_bytes()[2] - b'0';
    let n = if n < SERVERS { n } else { 0 };
    format!("server{n}")
}

fn nonzero(s: &Snapshot) -> String {
    s.iter()
        .filter(|&(_, v)| v > 0)
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

struct Run {
    ticks: u64,
    counters: Snapshot,
}

/// One run: `clients` clients pipelining [`REQUESTS`] requests each.
#[derive(Clone)]
struct Config {
    workers: usize,
    /// The clients' links.
    outside: Impairments,
    /// The servers' links.
    inside: Impairments,
    /// Timestamps and window scaling on every connection.
    timestamps: bool,
    clients: u8,
    /// `FlowSettings::send_min_rate` when not the default.
    send_min_rate: Option<u64>,
    /// Simulated time the clients have to finish.
    limit_ms: u64,
    /// Where to write `outside.pcap` and `inside.pcap` once the clients finished.
    pcap: Option<std::path::PathBuf>,
}

impl Config {
    /// Issue 13's set-up: 2 workers, both segments `LOSSY`, timestamps on odd seeds.
    fn lossy(seed: u64) -> Self {
        Config {
            workers: WORKERS,
            outside: Impairments::LOSSY,
            inside: Impairments::LOSSY,
            timestamps: seed % 2 == 1,
            clients: CLIENTS,
            send_min_rate: None,
            limit_ms: 120_000,
            pcap: None,
        }
    }

    /// Loss, reordering and duplication on the clients' links only.
    fn lossy_clients(seed: u64) -> Self {
        Config {
            inside: Impairments::NONE,
            ..Config::lossy(seed)
        }
    }

    fn clean(seed: u64) -> Self {
        Config {
            outside: Impairments::NONE,
            inside: Impairments::NONE,
            limit_ms: 10_000,
            ..Config::lossy(seed)
        }
    }
}

fn run(seed: u64, cfg: Config) -> Run {
    let tcp = if cfg.timestamps {
        TcpConfig {
            timestamps: true,
            rx_buffer: 256 * 1024,
            tx_buffer: 256 * 1024,
            ..TcpConfig::default()
        }
    } else {
        TcpConfig::default()
    };
    let topology = lab::topology()
        .with_services(&[Service {
            address: SocketAddrV4::new(VIP, 80),
            virtual_index: 0,
            // Smaller than the 40 requests of the first write (about 3.5 KB): the
            // client's window closes on the head buffer's room and reopens as it drains.
            max_request_head: 2048,
            max_pipeline: Service::DEFAULT_MAX_PIPELINE,
            max_held: Service::DEFAULT_MAX_HELD,
            forward_for: Default::default(),
            server_close: Default::default(),
        }])
        .with_farm(farm());
    let mut settings = lab::settings(cfg.workers);
    if let Some(rate) = cfg.send_min_rate {
        settings.flow.send_min_rate = rate;
    }
    let dut = PipelineBox::build(topology, settings, seed).with_spread(Spread::PerPacket);
    let mut net = Network::new(dut, cfg.outside, seed);
    net.set_segment_impairments(Segment::Inside, cfg.inside);
    net.set_capture(cfg.pcap.is_some());
    let servers: Vec<AppId<HttpServer>> = (0..SERVERS)
        .map(|n| {
            let host = net.add_host(Segment::Inside, lab::server(n));
            net.spawn(
                host,
                HttpServer::new(&format!("server{n}"), 80, 64).with_tcp(tcp),
            )
        })
        .collect();
    // The pools fill before the clients come, so that requests find idle connections.
    net.run_for(ticks_from_ms(2_000));
    let clients: Vec<AppId<HttpClient>> = (0..cfg.clients)
        .map(|c| {
            let host = net.add_host(Segment::Outside, lab::client(c));
            let requests = (0..REQUESTS).map(|i| request(c, i)).collect();
            net.spawn(
                host,
                HttpClient::new(SocketAddrV4::new(VIP, 80), requests)
                    .with_tcp(tcp)
                    .pipelined(BURSTS),
            )
        })
        .collect();
    let ticks = net
        .run_until(
            |n| clients.iter().all(|&c| n.app(c).is_finished()),
            ticks_from_ms(cfg.limit_ms),
        )
        .unwrap_or_else(|e| panic!("seed {seed}: {e}: {}", nonzero(&net.dut().counters())));
    let counters = net.dut().counters();
    if let Some(dir) = &cfg.pcap {
        net.write_pcap(&dir.join("outside.pcap"), 0).expect("pcap");
        net.write_pcap(&dir.join("inside.pcap"), 1).expect("pcap");
    }
    for &id in &clients {
        let app = net.app(id);
        assert_eq!(
            app.error(),
            None,
            "seed {seed}: {} of {} responses; {}",
            app.responses().len(),
            REQUESTS,
            nonzero(&counters)
        );
        assert_eq!(app.responses().len(), REQUESTS);
        for (i, (req, resp)) in app.requests().iter().zip(app.responses()).enumerate() {
            let what = format!(
                "seed {seed}: response {i} ({} {})",
                req.method(),
                req.target()
            );
            assert_eq!(resp.status, 200, "{what}");
            let server = server_of(req.target());
            assert_eq!(resp.header("X-Server"), Some(server.as_str()), "{what}");
            let want = expected_body(&server, req.target());
            if req.method() == "HEAD" {
                assert!(resp.body.is_empty(), "{what}");
                let len = want.len().to_string();
                assert_eq!(resp.header("Content-Length"), Some(len.as_str()), "{what}");
            } else {
                assert_eq!(resp.body.len(), want.len(), "{what}: length");
                if let Some(at) = resp.body.iter().zip(&want).position(|(a, b)| a != b) {
                    panic!("{what}: body differs at byte {at}");
                }
            }
        }
    }
    // Each server received exactly the requests routed to it, each once.
    for (n, &s) in servers.iter().enumerate() {
        let srv = net.app(s);
        assert!(srv.errors().is_empty(), "seed {seed}: {:?}", srv.errors());
        let mut got: BTreeMap<&str, usize> = BTreeMap::new();
        for r in srv.requests() {
            *got.entry(r.target.as_str()).or_default() += 1;
        }
        let want: Vec<Request> = (0..cfg.clients)
            .flat_map(|c| (0..REQUESTS).map(move |i| request(c, i)))
            .filter(|r| server_of(r.target()) == format!("server{n}"))
            .collect();
        assert_eq!(got.len(), want.len(), "seed {seed}: server{n}");
        for r in &want {
            assert_eq!(got.get(r.target()), Some(&1), "seed {seed}: {}", r.target());
        }
    }
    // Requests went out in parallel, responses were held and released in turn.
    for c in [
        Counter::PipelinedDispatched,
        Counter::HeldSegments,
        Counter::HeldReleased,
        Counter::PipelinedPromoted,
    ] {
        assert!(
            counters.get(c) > 0,
            "seed {seed}: {c:?}: {}",
            nonzero(&counters)
        );
    }
    // Once the clients closed and the lingers passed, only server connections are left,
    // every one idle in its pool.
    net.run_for(ticks_from_ms(10_000));
    let c = net.dut().counters();
    for w in 0..cfg.workers {
        let wc = net.dut().worker_counters(w);
        let mut conns = 0;
        for real in 0..usize::from(SERVERS) {
            let p = wc.pool(real);
            assert_eq!(
                (p.busy, p.opening, p.inflight),
                (0, 0, 0),
                "seed {seed}: worker {w} real {real}"
            );
            assert!(
                p.free >= u64::from(POOL),
                "seed {seed}: worker {w} real {real}: {p:?}"
            );
            conns += p.conns;
        }
        assert_eq!(
            wc.gauge(Gauge::Flows),
            conns,
            "seed {seed}: worker {w}: {}",
            nonzero(&c)
        );
    }
    assert_eq!(
        c.get(Counter::ServerTruncated),
        0,
        "seed {seed}: {}",
        nonzero(&c)
    );
    assert_eq!(
        c.get(Counter::ServerFramingErrors),
        0,
        "seed {seed}: {}",
        nonzero(&c)
    );
    Run { ticks, counters }
}

fn report(seed: u64, r: &Run) {
    let c = &r.counters;
    eprintln!(
        "seed {seed}: {} ms simulated; dispatched {} promoted {} held {} released {} \
         held_duplicates {} held_limit {} waits {} deferred {}",
        r.ticks / ticks_from_ms(1),
        c.get(Counter::PipelinedDispatched),
        c.get(Counter::PipelinedPromoted),
        c.get(Counter::HeldSegments),
        c.get(Counter::HeldReleased),
        c.get(Counter::HeldDuplicates),
        c.get(Counter::HeldLimit),
        c.get(Counter::PipelinedWaits),
        c.get(Counter::ClientDataDeferred),
    );
}

/// Issue 13's "Done means": loss, reordering and duplication on both legs, 2 workers,
/// six seeds.
#[test]
fn pipelined_requests_to_several_servers_over_lossy_links_two_workers() {
    for seed in 1..=6 {
        let r = run(seed, Config::lossy(seed));
        report(seed, &r);
    }
}

/// The same with the servers' links clean: what the clients' links lose, reorder and
/// duplicate is recovered through the splice, the promoted responses included.
#[test]
fn pipelined_requests_to_several_servers_over_lossy_client_links_two_workers() {
    for seed in 1..=4 {
        let r = run(seed, Config::lossy_clients(seed));
        report(seed, &r);
    }
}

/// The same over clean links: parallel dispatch, holding and merging in order, with
/// the flows spread over two workers by packet.
#[test]
fn pipelined_requests_to_several_servers_over_clean_links_two_workers() {
    for seed in 1..=2 {
        let r = run(seed, Config::clean(seed));
        report(seed, &r);
    }
}

fn one_worker_net(seed: u64, inside: Impairments) -> Network<PipelineBox> {
    let topology = lab::www(farm());
    let dut = PipelineBox::build(topology, lab::settings(1), seed);
    let mut net = Network::new(dut, Impairments::NONE, seed);
    net.set_segment_impairments(Segment::Inside, inside);
    for n in 0..SERVERS {
        let host = net.add_host(Segment::Inside, lab::server(n));
        net.spawn(host, HttpServer::new(&format!("server{n}"), 80, 64));
    }
    net.run_for(ticks_from_ms(2_000));
    net
}

/// A client keeps a few requests in flight (each answered after 1 s) for longer than
/// `send_timeout` (30 s), on clean links with one worker; it reads everything at once.
/// The slow-reader rule measures each response from when it became the oldest: it once
/// measured from the last request dispatched the ordinary way, and reset such a client
/// 30 s in (117 responses, then `send_timeouts=1` and a RST in the 118th).
#[test]
fn a_client_pipelining_for_longer_than_send_timeout_is_not_reset() {
    let mut net = one_worker_net(1, Impairments::NONE);
    let host = net.add_host(Segment::Outside, lab::client(0));
    let requests = (0..200)
        .map(|i| Request::get(&format!("/s0/r{i}?bytes=100&delay_ms=1000")))
        .collect();
    let client = net.spawn(
        host,
        HttpClient::new(SocketAddrV4::new(VIP, 80), requests).pipelined(&[4]),
    );
    net.run_until(|n| n.app(client).is_finished(), ticks_from_ms(120_000))
        .expect("finishes");
    let app = net.app(client);
    let c = net.dut().counters();
    assert_eq!(
        app.error(),
        None,
        "{} responses in {} ms; {}",
        app.responses().len(),
        app.elapsed_ticks().unwrap_or(0) / ticks_from_ms(1),
        nonzero(&c)
    );
    assert!(c.get(Counter::PipelinedPromoted) >= 100, "{}", nonzero(&c));
    assert_eq!(c.get(Counter::SendTimeouts), 0, "{}", nonzero(&c));
}

/// One worker, nothing lost: two pipelined requests, the first to a slow server
/// (300 ms), the second's 60 KB response held meanwhile. The servers' links delay frames
/// by 0.2-0.3 ms, which swaps some segments sent in the same tick. Without the jitter
/// the client is done in 312 ms. `hold` once kept only the in-order prefix and dropped
/// every later segment without a word to the server, which resent only when its
/// retransmission timer fired (1851 ms in all); it now keeps segments past a gap and
/// tells the server what it holds with SACK blocks.
#[test]
fn a_held_response_reordered_on_its_server_link_is_not_delayed() {
    let jitter = Impairments {
        delay_ticks: 2,
        jitter_ticks: 1,
        ..Impairments::NONE
    };
    let mut net = one_worker_net(1, jitter);
    let host = net.add_host(Segment::Outside, lab::client(0));
    let requests = vec![
        Request::get("/s1/a?delay_ms=300"),
        Request::get("/s2/b?bytes=60000"),
    ];
    let client = net.spawn(
        host,
        HttpClient::new(SocketAddrV4::new(VIP, 80), requests.clone()).pipelined(&[2]),
    );
    net.run_until(|n| n.app(client).is_finished(), ticks_from_ms(30_000))
        .expect("finishes");
    let app = net.app(client);
    let c = net.dut().counters();
    assert_eq!(app.error(), None, "{}", nonzero(&c));
    for (req, resp) in requests.iter().zip(app.responses()) {
        let server = server_of(req.target());
        assert!(resp.body == expected_body(&server, req.target()));
    }
    assert_eq!(c.get(Counter::PipelinedDispatched), 1, "{}", nonzero(&c));
    let elapsed = app.elapsed_ticks().unwrap_or(0);
    assert!(
        elapsed < ticks_from_ms(450),
        "{} ms; {}",
        elapsed / ticks_from_ms(1),
        nonzero(&c)
    );
}

/// A debugging aid: one run of [`Config::lossy`] changed by environment variables, e.g.
/// `PIPE_SEED=1 PIPE_WORKERS=1 PIPE_CLIENTS=1 PIPE_OUT_LOSS=0 PIPE_IN_JITTER=0
/// PIPE_PCAP=/tmp cargo test -p splicer-sim --test pipelining -- --ignored --nocapture
/// one_run`. Probabilities in percent (`PIPE_{OUT,IN}_{LOSS,DUP,REORDER}`), ticks of
/// 100 µs (`PIPE_{OUT,IN}_{DELAY,JITTER}`); `PIPE_TS=0|1`, `PIPE_RATE` (send_min_rate),
/// `PIPE_LIMIT_MS`; `PIPE_PCAP`, a directory for `outside.pcap` and `inside.pcap`.
#[test]
#[ignore = "debugging aid"]
fn one_run_from_the_environment() {
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    let seed = env("PIPE_SEED").unwrap_or(1);
    let imp = |side: &str| {
        let get = |what: &str| env(&format!("PIPE_{side}_{what}"));
        let pct = |what: &str, d: f64| get(what).map_or(d, |v| v as f64 / 100.0);
        Impairments {
            loss: pct("LOSS", Impairments::LOSSY.loss),
            duplicate: pct("DUP", Impairments::LOSSY.duplicate),
            reorder: pct("REORDER", Impairments::LOSSY.reorder),
            delay_ticks: get("DELAY").unwrap_or(Impairments::LOSSY.delay_ticks),
            jitter_ticks: get("JITTER").unwrap_or(Impairments::LOSSY.jitter_ticks),
        }
    };
    let d = Config::lossy(seed);
    let cfg = Config {
        workers: env("PIPE_WORKERS").map_or(d.workers, |v| v as usize),
        outside: imp("OUT"),
        inside: imp("IN"),
        timestamps: env("PIPE_TS").map_or(d.timestamps, |v| v == 1),
        clients: env("PIPE_CLIENTS").map_or(d.clients, |v| v as u8),
        send_min_rate: env("PIPE_RATE"),
        limit_ms: env("PIPE_LIMIT_MS").unwrap_or(d.limit_ms),
        pcap: std::env::var_os("PIPE_PCAP").map(Into::into),
    };
    let r = run(seed, cfg);
    report(seed, &r);
    eprintln!("{}", nonzero(&r.counters));
}
