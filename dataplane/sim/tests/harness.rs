//! The harness tested on itself: smoltcp HTTP peers through a plain bridge over lossy
//! links. If these fail, a failure of a Splicer test over the same harness means nothing.

use splicer_sim::http::{expected_body, ClientError};
use splicer_sim::link::LinkStats;
use splicer_sim::time::ticks_from_ms;
use splicer_sim::{
    AppId, Bridge, HostConfig, HostId, HttpClient, HttpServer, Impairments, Network, Request,
    Segment, TcpConfig,
};
use std::net::{Ipv4Addr, SocketAddrV4};

const SERVER_IP: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 10);
const SERVER: SocketAddrV4 = SocketAddrV4::new(SERVER_IP, 80);

/// Response sizes around the interesting boundaries: empty, one byte, one MSS and one
/// past it, one 64 KiB window and one past it, and a megabyte.
const SIZES: &[usize] = &[0, 1, 1460, 1461, 65_535, 65_537, 300_000, 1 << 20];

/// A client on the outside and a server on the inside of a bridge; both segments are
/// one subnet.
fn bridged(seed: u64, imp: Impairments) -> (Network<Bridge>, HostId, HostId) {
    let mut net = Network::new(Bridge::default(), imp, seed);
    let c = net.add_host(
        Segment::Outside,
        HostConfig::new("client", "198.18.0.10/15"),
    );
    let s = net.add_host(Segment::Inside, HostConfig::new("server", "198.19.0.10/15"));
    (net, c, s)
}

fn big_buffers() -> TcpConfig {
    // Above 64 KiB so window scaling is negotiated, as Linux peers always do.
    TcpConfig {
        rx_buffer: 256 * 1024,
        tx_buffer: 256 * 1024,
        ..TcpConfig::default()
    }
}

struct Outcome {
    ticks: u64,
    digest: u64,
    links: LinkStats,
}

/// One keep-alive connection fetching every size in `sizes` and posting one upload,
/// with every body checked byte for byte.
fn keep_alive_run(seed: u64, sizes: &[usize]) -> Outcome {
    let (mut net, c, s) = bridged(seed, Impairments::LOSSY);
    let server = net.spawn(s, HttpServer::new("server", 80, 2).with_tcp(big_buffers()));
    let upload: Vec<u8> = (0..200_000u32).map(|i| (i * 7 + i / 251) as u8).collect();
    let mut requests: Vec<Request> = sizes
        .iter()
        .map(|n| Request::get(&format!("/file?bytes={n}")))
        .collect();
    requests.push(Request::post("/upload", upload.clone()));
    let client = net.spawn(
        c,
        HttpClient::new(SERVER, requests.clone()).with_tcp(big_buffers()),
    );
    let ticks = net
        .run_until(|n| n.app(client).is_finished(), ticks_from_ms(60_000))
        .expect("transfers finish");
    let cl = net.app(client);
    assert!(cl.is_done(), "client failed: {:?}", cl.error());
    assert_eq!(cl.responses().len(), requests.len());
    for (req, resp) in requests.iter().zip(cl.responses()) {
        assert_eq!(resp.status, 200, "{}", req.target());
        let want = expected_body("server", req.target());
        assert_eq!(resp.body.len(), want.len(), "length of {}", req.target());
        // Compared as a whole after the length so a failure names the first bad byte.
        if let Some(at) = resp.body.iter().zip(&want).position(|(a, b)| a != b) {
            panic!("{}: body differs at byte {at}", req.target());
        }
        assert_eq!(resp.header("X-Server"), Some("server"));
    }
    let srv = net.app(server);
    assert_eq!(
        srv.connections().len(),
        1,
        "one connection carried everything"
    );
    assert_eq!(srv.connections()[0].requests, requests.len());
    assert_eq!(srv.requests().last().unwrap().body, upload, "upload intact");
    assert!(srv.errors().is_empty(), "{:?}", srv.errors());
    // The client closes; the server notices and closes its side.
    net.run_until(
        |n| n.app(server).open_connections() == 0,
        ticks_from_ms(5_000),
    )
    .expect("connection closes");
    Outcome {
        ticks,
        digest: net.digest(),
        links: net.link_totals(),
    }
}

#[test]
fn every_body_arrives_intact_over_lossy_links() {
    let out = keep_alive_run(1, SIZES);
    let l = out.links;
    // The links really misbehaved, often: a pass over a clean link would prove nothing.
    assert!(l.lost >= 20, "{l:?}");
    assert!(l.duplicated >= 10, "{l:?}");
    assert!(l.held_back >= 20, "{l:?}");
    assert!(l.out_of_order >= 100, "{l:?}");
    eprintln!(
        "1 MB+ keep-alive run: {} ticks ({} ms simulated), {l:?}",
        out.ticks,
        out.ticks / ticks_from_ms(1)
    );
}

#[test]
fn runs_are_reproducible_from_their_seed() {
    let sizes = &[1000, 200_000];
    let a = keep_alive_run(7, sizes);
    let b = keep_alive_run(7, sizes);
    assert_eq!((a.ticks, a.digest, a.links), (b.ticks, b.digest, b.links));
    let c = keep_alive_run(8, sizes);
    assert_ne!(a.digest, c.digest, "another seed, another run");
}

#[test]
fn listeners_are_replenished_for_wave_after_wave_of_connections() {
    let (mut net, c, s) = bridged(3, Impairments::LOSSY);
    let server = net.spawn(s, HttpServer::new("server", 80, 3));
    let mut clients: Vec<AppId<HttpClient>> = Vec::new();
    for wave in 0..3 {
        let this_wave: Vec<AppId<HttpClient>> = (0..3)
            .map(|i| {
                let reqs = (0..3)
                    .map(|j| {
                        Request::get(&format!(
                            "/w{wave}/c{i}/r{j}?bytes={}",
                            10_000 * (i + j + 1)
                        ))
                    })
                    .collect();
                net.spawn(c, HttpClient::new(SERVER, reqs))
            })
            .collect();
        net.run_until(
            |n| this_wave.iter().all(|&id| n.app(id).is_finished()),
            ticks_from_ms(30_000),
        )
        .expect("the wave finishes");
        clients.extend(this_wave);
    }
    for &id in &clients {
        let cl = net.app(id);
        assert!(cl.is_done(), "{:?}", cl.error());
        for (req, resp) in cl.requests().iter().zip(cl.responses()) {
            assert_eq!(resp.body, expected_body("server", req.target()));
        }
    }
    let srv = net.app(server);
    assert_eq!(srv.connections().len(), 9);
    assert!(srv.connections().iter().all(|c| c.requests == 3));
    let ports: std::collections::HashSet<u16> =
        srv.connections().iter().map(|c| c.remote.port()).collect();
    assert_eq!(ports.len(), 9, "distinct client ports");
    // Each connection's requests were answered on it, in order.
    for conn in 0..9 {
        let targets: Vec<&str> = srv
            .requests()
            .iter()
            .filter(|q| q.conn == conn)
            .map(|q| q.target.as_str())
            .collect();
        assert_eq!(targets.len(), 3);
        assert!(targets.windows(2).all(|w| w[0] < w[1]), "{targets:?}");
    }
}

#[test]
fn a_syn_beyond_the_listening_sockets_is_refused() {
    // smoltcp answers a SYN that finds no listening socket with a reset; a test that
    // opens N connections at once needs a server with a backlog of N.
    let (mut net, c, s) = bridged(3, Impairments::NONE);
    net.spawn(s, HttpServer::new("server", 80, 2));
    let clients: Vec<AppId<HttpClient>> = (0..3)
        .map(|_| net.spawn(c, HttpClient::new(SERVER, vec![Request::get("/")])))
        .collect();
    net.run_until(
        |n| clients.iter().all(|&id| n.app(id).is_finished()),
        ticks_from_ms(5_000),
    )
    .expect("clients finish");
    let refused = clients
        .iter()
        .filter(|&&id| matches!(net.app(id).error(), Some(ClientError::Connect(_))))
        .count();
    assert_eq!(refused, 1);
}

#[test]
fn connection_close_is_honoured_both_ways() {
    let (mut net, c, s) = bridged(4, Impairments::LOSSY);
    let server = net.spawn(s, HttpServer::new("server", 80, 3));
    // Asked by the client: the server closes after the response.
    let closing = net.spawn(c, HttpClient::new(SERVER, vec![Request::get("/a").close()]));
    // HTTP/1.0 without keep-alive closes too; with it, the connection stays.
    let old = net.spawn(
        c,
        HttpClient::new(
            SERVER,
            vec![
                Request::get("/b")
                    .http10()
                    .header("Connection", "keep-alive"),
                Request::get("/c").http10(),
            ],
        ),
    );
    // Decided by the server: a client that wanted more requests is told it cannot.
    let refused = net.spawn(
        c,
        HttpClient::new(SERVER, vec![Request::get("/d?close=1"), Request::get("/e")]),
    );
    net.run_until(
        |n| {
            [closing, old, refused]
                .iter()
                .all(|&id| n.app(id).is_finished())
        },
        ticks_from_ms(20_000),
    )
    .expect("clients finish");
    assert!(net.app(closing).is_done());
    assert_eq!(
        net.app(closing).responses()[0].header("Connection"),
        Some("close")
    );
    assert!(net.app(old).is_done(), "{:?}", net.app(old).error());
    assert_eq!(
        net.app(refused).error(),
        Some(&ClientError::ClosedByResponse { index: 0 })
    );
    net.run_until(
        |n| n.app(server).open_connections() == 0,
        ticks_from_ms(5_000),
    )
    .expect("server closed every connection");
    let srv = net.app(server);
    assert_eq!(srv.connections().len(), 3);
    let mut per_conn: Vec<usize> = srv.connections().iter().map(|c| c.requests).collect();
    per_conn.sort_unstable();
    assert_eq!(per_conn, vec![1, 1, 2]);
}

#[test]
fn head_and_no_body_statuses_are_framed() {
    let (mut net, c, s) = bridged(5, Impairments::NONE);
    net.spawn(s, HttpServer::new("server", 80, 1));
    let client = net.spawn(
        c,
        HttpClient::new(
            SERVER,
            vec![
                Request::head("/h?bytes=5000"),
                Request::get("/n?status=204"),
                Request::get("/m?status=304"),
                Request::get("/after?bytes=10"),
            ],
        ),
    );
    net.run_until(|n| n.app(client).is_finished(), ticks_from_ms(5_000))
        .expect("client finishes");
    let cl = net.app(client);
    assert!(cl.is_done(), "{:?}", cl.error());
    let r = cl.responses();
    assert_eq!(r[0].header("Content-Length"), Some("5000"));
    assert!(r[0].body.is_empty());
    assert_eq!((r[1].status, r[2].status), (204, 304));
    assert_eq!(r[3].body, expected_body("server", "/after?bytes=10"));
}

#[test]
fn a_cut_link_times_out_and_a_healed_one_recovers() {
    let (mut net, c, s) = bridged(6, Impairments::NONE);
    net.spawn(s, HttpServer::new("server", 80, 1));
    let cut = Impairments {
        loss: 1.0,
        ..Impairments::NONE
    };
    net.uplink_mut(c).set_impairments(cut);
    let client = net.spawn(c, HttpClient::new(SERVER, vec![Request::get("/x")]));
    let err = net
        .run_until(|n| n.app(client).is_finished(), ticks_from_ms(500))
        .unwrap_err();
    assert_eq!(err.ticks, ticks_from_ms(500));
    assert!(net.uplink(c).stats().lost > 0);
    // ARP and SYN retransmissions get through once the link heals.
    net.uplink_mut(c).set_impairments(Impairments::NONE);
    net.run_until(|n| n.app(client).is_done(), ticks_from_ms(10_000))
        .expect("recovers");
}

#[test]
fn timestamps_and_small_windows_still_deliver() {
    let (mut net, c, s) = bridged(9, Impairments::LOSSY);
    let tcp = TcpConfig {
        rx_buffer: 8 * 1024,
        tx_buffer: 8 * 1024,
        timestamps: true,
        nagle: false,
        ack_delay_ms: None,
        ..TcpConfig::default()
    };
    net.spawn(s, HttpServer::new("server", 80, 1).with_tcp(tcp));
    let client = net.spawn(
        c,
        HttpClient::new(SERVER, vec![Request::get("/ts?bytes=100000")]).with_tcp(tcp),
    );
    net.set_capture(true);
    net.run_until(|n| n.app(client).is_finished(), ticks_from_ms(30_000))
        .expect("finishes");
    let cl = net.app(client);
    assert!(cl.is_done(), "{:?}", cl.error());
    assert_eq!(
        cl.responses()[0].body,
        expected_body("server", "/ts?bytes=100000")
    );
    // The SYN carried a timestamp option (kind 8), so a splice engine meets them here.
    let syn = net
        .captured()
        .iter()
        .find(|f| f.to_dut && f.frame.len() > 54 && f.frame[23] == 6 && f.frame[47] == 0x02)
        .expect("a SYN crossed the bridge");
    let options = &syn.frame[54..14 + 20 + usize::from(syn.frame[46] >> 4) * 4];
    assert!(has_tcp_option(options, 8), "{options:02x?}");
    // smoltcp 0.12 needs its MSS lowered to fit the option (see
    // `clamp_mss_for_timestamps`); with it, full-size segments are exactly 1514 bytes.
    assert!(net.host(c).stats().mss_clamped > 0);
    assert!(net.host(s).stats().mss_clamped > 0);
    let longest = net.captured().iter().map(|f| f.frame.len()).max();
    assert_eq!(longest, Some(1514));
}

fn has_tcp_option(mut opts: &[u8], kind: u8) -> bool {
    while let Some(&k) = opts.first() {
        match k {
            0 => return false,
            1 => opts = &opts[1..],
            _ if k == kind => return true,
            _ => {
                let len = usize::from(*opts.get(1).unwrap_or(&0)).max(2);
                opts = opts.get(len..).unwrap_or(&[]);
            }
        }
    }
    false
}

/// Drops the first segment that reopens a window its sender had closed: the lost window
/// update that stalls a TCP sender unless it probes.
fn lose_first_window_update() -> splicer_sim::link::DropFilter {
    let mut closed = false;
    let mut done = false;
    Box::new(move |f: &[u8]| {
        if done || f.len() < 54 || f[12..14] != [8, 0] || f[23] != 6 {
            return false;
        }
        let tcp = 14 + usize::from(f[14] & 0x0f) * 4;
        let window = u16::from_be_bytes([f[tcp + 14], f[tcp + 15]]);
        if window == 0 {
            closed = true;
            false
        } else if closed {
            done = true;
            true
        } else {
            false
        }
    })
}

#[test]
fn a_lost_window_update_is_recovered_by_the_persist_probe() {
    let run = |probe: Option<u64>| {
        let (mut net, c, s) = bridged(10, Impairments::NONE);
        // One segment fills the client's buffer, and acking at once it announces the full
        // buffer before its app reads it: a zero window, then an update, every segment.
        let small = TcpConfig {
            rx_buffer: 1460,
            ack_delay_ms: None,
            persist_probe_ms: probe,
            ..TcpConfig::default()
        };
        net.spawn(s, HttpServer::new("server", 80, 1).with_tcp(small));
        let client = net.spawn(
            c,
            HttpClient::new(SERVER, vec![Request::get("/z?bytes=50000")]).with_tcp(small),
        );
        net.uplink_mut(c)
            .set_drop_filter(Some(lose_first_window_update()));
        let r = net.run_until(|n| n.app(client).is_finished(), ticks_from_ms(5_000));
        assert_eq!(
            net.uplink(c).stats().filtered,
            1,
            "a window update was lost"
        );
        (r, net.app(client).responses().to_vec())
    };
    // smoltcp alone never finds out that the window reopened.
    assert!(run(None).0.is_err());
    let (r, responses) = run(Some(200));
    r.expect("the probe recovers the transfer");
    assert_eq!(responses[0].body, expected_body("server", "/z?bytes=50000"));
}

#[test]
fn pipelined_requests_are_answered_in_order_over_lossy_links() {
    let (mut net, c, s) = bridged(11, Impairments::LOSSY);
    let server = net.spawn(s, HttpServer::new("server", 80, 1));
    let requests: Vec<Request> = (0..30)
        .map(|i| {
            let target = format!("/p/{i}?bytes={}&delay_ms={}", (i * 3001) % 20_000, i % 3);
            if i % 7 == 3 {
                Request::head(&target)
            } else {
                Request::get(&target)
            }
        })
        .collect();
    let client = net.spawn(
        c,
        HttpClient::new(SERVER, requests.clone()).pipelined(&[12, 1, 4]),
    );
    net.run_until(|n| n.app(client).is_finished(), ticks_from_ms(60_000))
        .expect("client finishes");
    let cl = net.app(client);
    assert!(cl.is_done(), "{:?}", cl.error());
    assert_eq!(cl.responses().len(), requests.len());
    for (req, resp) in requests.iter().zip(cl.responses()) {
        let want = expected_body("server", req.target());
        if req.method() == "HEAD" {
            assert!(resp.body.is_empty());
            assert_eq!(
                resp.header("Content-Length"),
                Some(&*want.len().to_string())
            );
        } else {
            assert!(resp.body == want, "body of {}", req.target());
        }
    }
    let srv = net.app(server);
    assert_eq!(srv.connections().len(), 1);
    // Every request reached the one connection once, in order.
    let targets: Vec<&str> = srv.requests().iter().map(|r| r.target.as_str()).collect();
    let sent: Vec<&str> = requests.iter().map(|r| r.target()).collect();
    assert_eq!(targets, sent);
    assert!(srv.errors().is_empty(), "{:?}", srv.errors());
}

#[test]
fn a_delayed_response_takes_its_delay() {
    let (mut net, c, s) = bridged(12, Impairments::NONE);
    net.spawn(s, HttpServer::new("server", 80, 1));
    let quick = net.spawn(c, HttpClient::new(SERVER, vec![Request::get("/q")]));
    net.run_until(|n| n.app(quick).is_finished(), ticks_from_ms(5_000))
        .expect("quick finishes");
    let slow = net.spawn(
        c,
        HttpClient::new(SERVER, vec![Request::get("/s?delay_ms=250")]),
    );
    net.run_until(|n| n.app(slow).is_finished(), ticks_from_ms(5_000))
        .expect("slow finishes");
    let quick = net.app(quick).elapsed_ticks().unwrap();
    let slow = net.app(slow).elapsed_ticks().unwrap();
    assert!(quick < ticks_from_ms(50), "{quick}");
    assert!(
        (ticks_from_ms(250)..ticks_from_ms(300)).contains(&slow),
        "{slow}"
    );
}
