//! Strays: segments for no connection of this appliance, with cluster peers
//! (`crate::cluster`).

use super::*;
use crate::cluster::PeerState;
use splicer_wire::{ethernet, EthernetAddress};

const P1: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 11);
const P2: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 12);
/// A peer on no port's subnet: never sent anything.
const FAR: Ipv4Addr = Ipv4Addr::new(198, 20, 0, 1);
const P1_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 1, 1]);
const P2_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 1, 2]);
const OUR_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);

fn peers(live: bool) -> [PeerState; 3] {
    [P1, P2, FAR].map(|address| PeerState { address, live })
}

fn knows(p: &mut Pipeline<Vec<u8>>, ip: Ipv4Addr, mac: EthernetAddress) {
    let update = NeighbourUpdate { port: 0, ip, mac };
    p.apply_neighbour_update(update, 0, &mut Out::default());
}

/// A cluster member that knows both peers' MACs.
fn member(live: bool) -> Pipeline<Vec<u8>> {
    let mut p = pipeline(settings(16));
    knows(&mut p, P1, P1_MAC);
    knows(&mut p, P2, P2_MAC);
    p.set_cluster_peers(&peers(live), 0);
    p
}

/// `c`'s frame as sent by `mac`.
fn from(c: &C, mac: EthernetAddress) -> Vec<u8> {
    let mut f = c.frame();
    ethernet::Frame::new_unchecked(&mut f[..]).set_src_addr(mac);
    f
}

fn receive(p: &mut Pipeline<Vec<u8>>, frame: Vec<u8>, now: u64) -> Vec<Vec<u8>> {
    let mut out = Out::default();
    p.receive(0, frame, now, &mut out);
    out.tx
}

fn macs(frame: &[u8]) -> (EthernetAddress, EthernetAddress) {
    let eth = ethernet::Frame::new_checked(frame).unwrap();
    (eth.dst_addr(), eth.src_addr())
}

#[test]
fn a_clients_stray_goes_to_every_live_peer_unchanged_but_for_its_macs() {
    let mut p = member(true);
    let stray = C::new(500, PSH).ack(777).data(b"GET / HTTP/1.1\r\n");
    let frame = stray.frame();
    let out = receive(&mut p, frame.clone(), MS);
    assert_eq!(
        out.len(),
        2,
        "one copy per live peer on the segment, no RST"
    );
    assert_eq!(macs(&out[0]), (P1_MAC, OUR_MAC));
    assert_eq!(macs(&out[1]), (P2_MAC, OUR_MAC));
    for f in &out {
        assert_eq!(f[12..], frame[12..], "IP header and segment untouched");
    }
    assert_eq!(count(&p, Counter::ClusterStraysForwarded), 1);
    assert_eq!(count(&p, Counter::DropTcpNoFlow), 0);
    assert_eq!(count(&p, Counter::TcpResetsSent), 0);
    // A client's RST for a connection it lost here goes on too, with or without ACK
    // (RFC 9293 lets a RST go without).
    assert_eq!(receive(&mut p, C::new(501, RST).frame(), MS).len(), 2);
    assert_eq!(count(&p, Counter::ClusterStraysForwarded), 2);
}

#[test]
fn a_stray_no_connection_could_accept_is_dropped_not_copied_nor_reset() {
    let mut p = member(true);
    // Neither ACK nor RST: a bare FIN, data without ACK, a SYN-ACK to a virtual.
    for c in [
        C::new(500, FIN),
        C::new(500, PSH).data(b"x"),
        C::new(500, SYN).ack(777),
    ] {
        assert!(receive(&mut p, c.frame(), MS).is_empty());
    }
    assert_eq!(count(&p, Counter::ClusterStraysNoAck), 3);
    assert_eq!(count(&p, Counter::ClusterStraysForwarded), 0);
    assert_eq!(count(&p, Counter::TcpResetsSent), 0);
}

#[test]
fn strays_beyond_the_rate_are_dropped_without_a_reset_and_the_rate_comes_back() {
    let mut p = pipeline(FlowSettings {
        stray_rate: 3,
        ..settings(16)
    });
    knows(&mut p, P1, P1_MAC);
    knows(&mut p, P2, P2_MAC);
    p.set_cluster_peers(&peers(true), 0);
    let ack = |i: u32| C::new(500 + i, 0).ack(777).frame();
    let copies: Vec<usize> = (0..5).map(|i| receive(&mut p, ack(i), MS).len()).collect();
    assert_eq!(copies, [2, 2, 2, 0, 0], "one second's worth, then nothing");
    assert_eq!(count(&p, Counter::ClusterStraysForwarded), 3);
    assert_eq!(count(&p, Counter::ClusterStraysOverLimit), 2);
    assert_eq!(count(&p, Counter::TcpResetsSent), 0);
    assert_eq!(count(&p, Counter::DropTcpNoFlow), 0);
    // A third of a second later, one more token.
    let later = MS + 334 * MS;
    assert_eq!(receive(&mut p, ack(9), later).len(), 2);
    assert!(receive(&mut p, ack(10), later).is_empty());
    assert_eq!(count(&p, Counter::ClusterStraysOverLimit), 3);
    // A peer's stray is dropped as before, whatever the budget.
    assert!(receive(&mut p, from(&C::new(600, 0).ack(1), P2_MAC), later).is_empty());
    assert_eq!(count(&p, Counter::ClusterStraysDropped), 1);
}

#[test]
fn a_peers_stray_is_dropped_silently_live_or_not() {
    for live in [true, false] {
        let mut p = member(live);
        let c = C::new(500, 0).ack(777).data(b"x");
        assert!(receive(&mut p, from(&c, P2_MAC), MS).is_empty());
        assert_eq!(count(&p, Counter::ClusterStraysDropped), 1);
        assert_eq!(count(&p, Counter::ClusterStraysForwarded), 0);
        assert_eq!(count(&p, Counter::TcpResetsSent), 0);
    }
}

#[test]
fn with_no_live_peer_a_stray_is_reset_as_without_a_cluster() {
    let mut p = member(false);
    let r = send(&mut p, C::new(500, 0).ack(777).data(b"x"), 0);
    assert_eq!((r.len(), r[0].flags, r[0].seq), (1, RST, 777));
    assert_eq!(count(&p, Counter::DropTcpNoFlow), 1);
    assert_eq!(count(&p, Counter::ClusterStraysForwarded), 0);
    // Only P1 alive: one copy, to it.
    let mut states = peers(false);
    states[0].live = true;
    p.set_cluster_peers(&states, MS);
    let out = receive(&mut p, C::new(500, 0).ack(777).data(b"x").frame(), MS);
    assert_eq!(out.len(), 1);
    assert_eq!(macs(&out[0]).0, P1_MAC);
    // The list emptied: the cluster is off.
    p.set_cluster_peers(&[], 2 * MS);
    let r = send(&mut p, C::new(500, 0).ack(777).data(b"x"), 2 * MS);
    assert_eq!(r[0].flags, RST);
}

#[test]
fn segments_of_this_appliances_connections_are_its_own() {
    let mut p = member(true);
    let iss = handshake(&mut p, 0);
    let r = send(
        &mut p,
        C::new(1001, PSH).ack(iss + 1).data(b"GET / HTTP/1.1\r\n"),
        MS,
    );
    assert!(r.iter().all(|r| r.flags & RST == 0));
    assert_eq!(count(&p, Counter::ClusterStraysForwarded), 0);
    assert_eq!(count(&p, Counter::ClusterStraysDropped), 0);
}

#[test]
fn an_unresolved_peer_is_asked_for_its_mac_and_then_sent_the_stray() {
    let mut p = pipeline(settings(16));
    p.set_cluster_peers(
        &[PeerState {
            address: P1,
            live: true,
        }],
        0,
    );
    // The timer poll asks for the live peer's MAC, at most once a second.
    let mut out = Out::default();
    p.poll_timers(MS, &mut out);
    p.poll_timers(2 * MS, &mut out);
    assert_eq!(out.tx.len(), 1);
    assert_eq!(macs(&out.tx[0]).0, EthernetAddress::BROADCAST);
    assert_eq!(count(&p, Counter::ArpRequests), 1);
    // A stray before the answer waits for it (behind an ARP request of its own).
    let c = C::new(500, 0).ack(777).data(b"x");
    let out = receive(&mut p, c.frame(), 3 * MS);
    assert_eq!(out.len(), 1);
    assert_eq!(macs(&out[0]).0, EthernetAddress::BROADCAST);
    assert_eq!(count(&p, Counter::ClusterStraysForwarded), 1);
    let mut out = Out::default();
    let update = NeighbourUpdate {
        port: 0,
        ip: P1,
        mac: P1_MAC,
    };
    p.apply_neighbour_update(update, 4 * MS, &mut out);
    assert_eq!(out.tx.len(), 1);
    assert_eq!(macs(&out.tx[0]), (P1_MAC, OUR_MAC));
    // Learned: its own frames are now recognised.
    assert!(receive(&mut p, from(&c, P1_MAC), 5 * MS).is_empty());
    assert_eq!(count(&p, Counter::ClusterStraysDropped), 1);
    assert_eq!(p.cluster_peers()[0].1, Some(P1_MAC));
}

#[test]
fn a_cookie_handshake_whose_ack_moved_opens_on_the_appliance_that_sent_the_cookie() {
    // Every SYN answered with a cookie; each appliance has its own secret.
    let cookies = FlowSettings {
        syn_cookie_threshold: 0,
        ..settings(16)
    };
    let mut a = pipeline(cookies);
    let mut b = pipeline(cookies);
    b.keys = crate::flow::Keys::new(99);
    for (p, peer, mac) in [(&mut a, P2, P2_MAC), (&mut b, P1, P1_MAC)] {
        knows(p, peer, mac);
        p.set_cluster_peers(
            &[PeerState {
                address: peer,
                live: true,
            }],
            0,
        );
    }
    // b sent a cookie lately too, so it checks the moved ACK as one of its own.
    let mut other = C::new(77, SYN);
    other.port = 41000;
    assert_eq!(send(&mut b, other, 0)[0].flags, SYN);
    let r = send(&mut a, linux_syn(1000), 0);
    assert_eq!(count(&a, Counter::SynCookiesSent), 1);
    let iss = r[0].seq;
    // The handshake's ACK, with the request, reaches b: not b's cookie, sent on to a.
    let req = b"GET / HTTP/1.1\r\nHost: www\r\n\r\n";
    let ack = C::new(1001, PSH).ack(iss + 1).data(req);
    let out = receive(&mut b, ack.frame(), MS);
    assert_eq!(out.len(), 1);
    assert_eq!(macs(&out[0]).0, P1_MAC);
    assert_eq!(count(&b, Counter::SynCookiesFailed), 1);
    assert_eq!(count(&b, Counter::ClusterStraysForwarded), 1);
    assert_eq!(count(&b, Counter::TcpResetsSent), 0);
    // a gets it from b's MAC: its own cookie, the connection opens and is answered.
    let mut moved = out[0].clone();
    {
        let mut eth = ethernet::Frame::new_unchecked(&mut moved[..]);
        eth.set_dst_addr(OUR_MAC);
        eth.set_src_addr(P2_MAC);
    }
    let r: Vec<Reply> = receive(&mut a, moved, 2 * MS)
        .iter()
        .map(|f| decode(f))
        .collect();
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(r[0].payload.starts_with(b"HTTP/1.1 503 "));
    assert_eq!(count(&a, Counter::SynCookiesValidated), 1);
    assert_eq!(count(&a, Counter::ClusterStraysDropped), 0);
}
