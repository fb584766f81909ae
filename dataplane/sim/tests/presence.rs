//! Splicer's network presence with real peers: smoltcp hosts ping the VIP and the port
//! addresses of the dataplane pipelines over lossy links, with one and two workers.

use splicer_pipeline::counters::Snapshot;
use splicer_pipeline::presence::neighbour::NeighbourSettings;
use splicer_pipeline::{Counter, Settings};
use splicer_sim::lab::{self, INSIDE_ADDR, OUTSIDE_ADDR, VIP};
use splicer_sim::middlebox::Spread;
use splicer_sim::time::{pipeline_ms, ticks_from_ms};
use splicer_sim::{AppId, Impairments, Network, Pinger, PipelineBox, Segment};
use std::net::Ipv4Addr;

/// Pings per target before giving up; replies wanted from each.
const PINGS: u16 = 60;
const WANT: usize = 20;

/// Neighbour entries that expire after 50 ms, so that between pings (every 10 ms from
/// three pingers) the pipelines keep having to resolve the hosts themselves: ARP
/// requests go out from Splicer as well as in. smoltcp keeps its entries for a minute
/// and so never needs to ask again. The wait queue is the configuration's default: a
/// host whose own ARP request was lost holds its pings for a second and then sends them
/// in one burst, which must fit.
fn short_lived_neighbours() -> NeighbourSettings {
    NeighbourSettings {
        timeout: pipeline_ms(50),
        retry: pipeline_ms(20),
        ..lab::neighbour_settings()
    }
}

struct Run {
    net: Network<PipelineBox>,
    pingers: Vec<(&'static str, AppId<Pinger>)>,
}

fn run(workers: usize, spread: Spread, seed: u64) -> Run {
    let settings = Settings {
        neighbour: short_lived_neighbours(),
        ..lab::settings(workers)
    };
    let dut = PipelineBox::build(lab::topology(), settings, seed).with_spread(spread);
    let mut net = Network::new(dut, Impairments::LOSSY, seed);
    let client = net.add_host(Segment::Outside, lab::client(0));
    let server = net.add_host(Segment::Inside, lab::server(0));
    let pingers = vec![
        ("client → VIP", net.spawn(client, Pinger::new(VIP, PINGS))),
        (
            "client → outside port",
            net.spawn(client, Pinger::new(OUTSIDE_ADDR, PINGS)),
        ),
        (
            "server → inside port",
            net.spawn(server, Pinger::new(INSIDE_ADDR, PINGS)),
        ),
    ];
    let ids: Vec<_> = pingers.iter().map(|&(_, id)| id).collect();
    net.run_until(
        |n| ids.iter().all(|&id| n.app(id).received() >= WANT),
        ticks_from_ms(10_000),
    )
    .unwrap_or_else(|e| {
        let got: Vec<_> = pingers
            .iter()
            .map(|&(name, id)| (name, net.app(id).sent(), net.app(id).received()))
            .collect();
        panic!(
            "{e}: (target, sent, received) = {got:?}, {}",
            show(&net.dut().counters())
        );
    });
    Run { net, pingers }
}

/// The counters that are not zero, by name.
fn show(s: &Snapshot) -> String {
    let v: Vec<String> = s
        .iter()
        .filter(|&(_, v)| v > 0)
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    v.join(" ")
}

fn check(r: &Run, workers: usize) {
    let net = &r.net;
    for &(name, id) in &r.pingers {
        let p = net.app(id);
        assert!(p.received() >= WANT, "{name}");
        assert_eq!(p.bad_replies(), 0, "{name}: replies that match no request");
    }
    let dut = net.dut();
    let c = dut.counters();
    // Both directions of ARP on both ports: Splicer answered the hosts (the VIP can
    // only be learned from its answer), and asked them itself. A host may also learn a
    // port address from Splicer's own request, so answers are not one per address.
    assert!(c.get(Counter::NeighboursLearned) > 0, "{}", show(&c));
    for port in [0, 1] {
        let p = dut.port_counters(port);
        assert!(
            p.get(Counter::IcmpEchoReplies) >= WANT as u64,
            "port {port}"
        );
        assert!(
            p.get(Counter::ArpReplies) > 0,
            "port {port} answered its host"
        );
        assert!(
            p.get(Counter::ArpRequests) > 0,
            "port {port} resolved its host"
        );
    }
    let replies: u64 = r
        .pingers
        .iter()
        .map(|&(_, id)| net.app(id).received() as u64)
        .sum();
    assert!(c.get(Counter::IcmpEchoReplies) >= replies);
    assert_eq!(c.get(Counter::TxPackets), net.stats().dut_tx);
    assert_eq!(c.get(Counter::RxPackets), net.stats().dut_rx);
    // Nothing was dropped: every frame the hosts sent Splicer was for it, and every
    // resolution succeeded within its retries.
    assert_eq!(dut.drops(), vec![], "unexpected drops");
    // The links did misbehave.
    let l = net.link_totals();
    assert!(
        l.lost > 0 && l.duplicated > 0 && l.out_of_order > 0,
        "{l:?}"
    );
    if workers > 1 {
        assert!(c.get(Counter::HandoffOut) > 0, "{}", show(&c));
        assert_eq!(c.get(Counter::HandoffOut), c.get(Counter::HandoffIn));
        assert_eq!(c.get(Counter::HandoffOut), dut.stats().handoffs);
        assert!(dut.stats().neighbour_updates > 0);
        for w in 0..workers {
            let s = dut.worker_counters(w).snapshot();
            assert!(s.get(Counter::RxPackets) > 0, "worker {w} got frames");
        }
    } else {
        assert_eq!(c.get(Counter::HandoffOut), 0);
    }
}

#[test]
fn one_worker_answers_arp_and_echo_over_lossy_links() {
    let r = run(1, Spread::PerPacket, 11);
    check(&r, 1);
}

#[test]
fn two_workers_hand_off_and_share_neighbours() {
    let r = run(2, Spread::PerPacket, 12);
    check(&r, 2);
}

#[test]
fn two_workers_with_flow_spreading() {
    let r = run(2, Spread::PerFlow, 13);
    check(&r, 2);
}

#[test]
fn presence_runs_are_reproducible() {
    let a = run(2, Spread::PerPacket, 21);
    let b = run(2, Spread::PerPacket, 21);
    assert_eq!(a.net.tick(), b.net.tick());
    assert_eq!(a.net.digest(), b.net.digest());
    assert_eq!(a.net.dut().counters(), b.net.dut().counters());
}

#[test]
fn an_address_splicer_does_not_own_gets_no_answer_and_a_counted_drop() {
    // The negative control of the tests above: a drop does show in the counters.
    let dut = PipelineBox::build(lab::topology(), lab::settings(2), 5);
    let mut net = Network::new(dut, Impairments::NONE, 5);
    let client = net.add_host(Segment::Outside, lab::client(0));
    let vip = net.spawn(client, Pinger::new(VIP, 5));
    net.run_until(|n| n.app(vip).received() == 5, ticks_from_ms(1_000))
        .expect("the VIP answers");
    assert_eq!(net.dut().drops(), vec![]);
    // Started second: after any ARP request smoltcp sends no other for a second, for
    // any address, so an unanswered one would starve the VIP's resolution.
    let stray = net.spawn(
        client,
        Pinger::new(Ipv4Addr::new(198, 18, 0, 77), 5).interval_ms(300),
    );
    net.run_for(ticks_from_ms(2_000));
    assert_eq!(net.app(stray).sent(), 5);
    assert_eq!(net.app(stray).received(), 0);
    let drops = net.dut().drops();
    assert_eq!(drops.len(), 1, "{drops:?}");
    assert_eq!(drops[0].0, "drop_arp_not_for_us");
}
