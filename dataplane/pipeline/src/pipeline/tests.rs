//! The pipeline end to end on hand-made frames: what goes in, what comes out, what is
//! counted.

use super::*;
use crate::parse::tests::{icmp_echo, ipv4_frame, OUR_MAC, PEER_MAC};
use crate::parse::L3_OFFSET;
use crate::topology::tests::two_ports;
use splicer_wire::{arp, ethernet, icmpv4, ipv4};

const MS: u64 = 1_000_000;

#[derive(Default)]
struct TestSink {
    tx: Vec<(u16, Vec<u8>)>,
    handoff: Vec<(usize, Vec<u8>)>,
    discarded: usize,
    published: Vec<NeighbourUpdate>,
}

impl Sink<Vec<u8>> for TestSink {
    fn transmit(&mut self, port: u16, pkt: Vec<u8>) {
        self.tx.push((port, pkt));
    }
    fn handoff(&mut self, worker: usize, pkt: Vec<u8>) {
        self.handoff.push((worker, pkt));
    }
    fn discard(&mut self, _pkt: Vec<u8>) {
        self.discarded += 1;
    }
    fn alloc(&mut self) -> Option<Vec<u8>> {
        Some(Vec::new())
    }
    fn publish_neighbour(&mut self, update: NeighbourUpdate) {
        self.published.push(update);
    }
}

fn pipeline(worker: usize, workers: usize) -> Pipeline<Vec<u8>> {
    let topology = Arc::new(two_ports());
    let counters = Arc::new(WorkerCounters::new(topology.ports().len()));
    Pipeline::new(
        Settings {
            worker,
            workers,
            neighbour: NeighbourSettings {
                timeout: 60_000 * MS,
                retry: 1000 * MS,
                pending: 4,
            },
            flow: FlowSettings::defaults(MS),
            seed: 42,
        },
        topology,
        counters,
    )
}

fn ip(a: u8, b: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, a, 0, b)
}

fn arp_frame(op: u16, sha: EthernetAddress, spa: Ipv4Addr, tpa: Ipv4Addr) -> Vec<u8> {
    let mut f = vec![0u8; 60];
    {
        let mut eth = ethernet::Frame::new_unchecked(&mut f[..]);
        eth.set_dst_addr(EthernetAddress::BROADCAST);
        eth.set_src_addr(sha);
        eth.set_ethertype(ethernet::ethertype::ARP);
    }
    arp::emit(
        &mut f[L3_OFFSET..L3_OFFSET + arp::PACKET_LEN],
        op,
        sha,
        spa,
        EthernetAddress([0; 6]),
        tpa,
    );
    f
}

fn count(p: &Pipeline<Vec<u8>>, c: Counter) -> u64 {
    p.counters().snapshot().get(c)
}

#[test]
fn arp_request_for_port_address_and_owned_vip_is_answered() {
    let mut p = pipeline(0, 1);
    let mut sink = TestSink::default();
    for target in [ip(18, 1), ip(18, 100)] {
        p.receive(0, arp_frame(1, PEER_MAC, ip(18, 2), target), 0, &mut sink);
    }
    assert_eq!(sink.tx.len(), 2);
    for ((port, frame), target) in sink.tx.iter().zip([ip(18, 1), ip(18, 100)]) {
        assert_eq!(*port, 0);
        let eth = ethernet::Frame::new_checked(&frame[..]).unwrap();
        assert_eq!((eth.dst_addr(), eth.src_addr()), (PEER_MAC, OUR_MAC));
        let a = arp::Packet::new_checked(eth.payload()).unwrap();
        assert_eq!(a.operation(), arp::operation::REPLY);
        assert_eq!(a.source_hardware_addr(), OUR_MAC);
        assert_eq!(a.source_protocol_addr(), target);
        assert_eq!(a.target_hardware_addr(), PEER_MAC);
        assert_eq!(a.target_protocol_addr(), ip(18, 2));
    }
    assert_eq!(count(&p, Counter::ArpReplies), 2);
    // The requester was learned once, then refreshed, and told to the other workers.
    assert_eq!(count(&p, Counter::NeighboursLearned), 2);
    assert_eq!(
        sink.published[0],
        NeighbourUpdate {
            port: 0,
            ip: ip(18, 2),
            mac: PEER_MAC
        }
    );
}

#[test]
fn arp_for_addresses_we_do_not_own_on_that_port_is_counted_not_answered() {
    let mut p = pipeline(0, 1);
    let mut sink = TestSink::default();
    // Unknown address on the outside port.
    p.receive(
        0,
        arp_frame(1, PEER_MAC, ip(18, 2), ip(18, 77)),
        0,
        &mut sink,
    );
    // The VIP asked for on the inside port, which does not own it.
    p.receive(
        1,
        arp_frame(1, PEER_MAC, ip(19, 11), ip(18, 100)),
        0,
        &mut sink,
    );
    assert!(sink.tx.is_empty());
    assert_eq!(count(&p, Counter::DropArpNotForUs), 2);
    // Neither request was addressed to us, so neither sender became a neighbour.
    assert_eq!(p.neighbour_count(), 0);
    assert_eq!(sink.discarded, 2);
}

#[test]
fn bogus_arp_is_dropped_with_its_reason() {
    let mut p = pipeline(0, 1);
    let mut sink = TestSink::default();
    let mut bad_op = arp_frame(1, PEER_MAC, ip(18, 2), ip(18, 1));
    bad_op[L3_OFFSET + 7] = 9;
    p.receive(0, bad_op, 0, &mut sink);
    p.receive(
        0,
        arp_frame(1, EthernetAddress::BROADCAST, ip(18, 2), ip(18, 1)),
        0,
        &mut sink,
    );
    let mut not_ipv4 = arp_frame(1, PEER_MAC, ip(18, 2), ip(18, 1));
    not_ipv4[L3_OFFSET + 2] = 0x86;
    p.receive(0, not_ipv4, 0, &mut sink);
    p.receive(
        0,
        arp_frame(1, PEER_MAC, ip(18, 2), ip(18, 1))[..30].to_vec(),
        0,
        &mut sink,
    );
    assert_eq!(count(&p, Counter::DropBadArp), 3);
    assert_eq!(count(&p, Counter::DropTruncated), 1);
    assert!(sink.tx.is_empty());
}

fn echo_request(src: Ipv4Addr, dst: Ipv4Addr, ident: u16) -> Vec<u8> {
    ipv4_frame(
        src,
        dst,
        ipv4::protocol::ICMP,
        &icmp_echo(ident, 3, b"payload-bytes"),
    )
}

fn assert_echo_reply(frame: &[u8], from: Ipv4Addr, to: Ipv4Addr, dst_mac: EthernetAddress) {
    let eth = ethernet::Frame::new_checked(frame).unwrap();
    assert_eq!(eth.dst_addr(), dst_mac);
    assert_eq!(eth.ethertype(), ethernet::ethertype::IPV4);
    let ip = ipv4::Packet::new_checked(eth.payload()).unwrap();
    assert!(ip.verify_checksum());
    assert_eq!((ip.src_addr(), ip.dst_addr(), ip.ttl()), (from, to, 64));
    let icmp = icmpv4::Packet::new_checked(ip.payload()).unwrap();
    assert!(icmp.verify_checksum());
    assert_eq!(icmp.msg_type(), icmpv4::msg_type::ECHO_REPLY);
    assert_eq!(icmp.data(), b"payload-bytes");
}

#[test]
fn echo_to_vip_from_known_neighbour_is_answered_in_place() {
    let mut p = pipeline(0, 1);
    let mut sink = TestSink::default();
    p.receive(
        0,
        arp_frame(1, PEER_MAC, ip(18, 2), ip(18, 1)),
        0,
        &mut sink,
    );
    sink.tx.clear();
    p.receive(0, echo_request(ip(18, 2), ip(18, 100), 1), MS, &mut sink);
    assert_eq!(sink.tx.len(), 1);
    assert_echo_reply(&sink.tx[0].1, ip(18, 100), ip(18, 2), PEER_MAC);
    assert_eq!(count(&p, Counter::IcmpEchoReplies), 1);
}

#[test]
fn echo_from_unknown_neighbour_waits_for_arp_resolution() {
    let mut p = pipeline(0, 1);
    let mut sink = TestSink::default();
    p.receive(0, echo_request(ip(18, 2), ip(18, 1), 1), 0, &mut sink);
    // Splicer asked who has 198.18.0.2, broadcast, from its port address.
    assert_eq!(sink.tx.len(), 1);
    let (port, req) = sink.tx.remove(0);
    assert_eq!(port, 0);
    assert_eq!(req.len(), 60);
    let eth = ethernet::Frame::new_checked(&req[..]).unwrap();
    assert!(eth.dst_addr().is_broadcast());
    let a = arp::Packet::new_checked(eth.payload()).unwrap();
    assert_eq!(a.operation(), arp::operation::REQUEST);
    assert_eq!(a.source_protocol_addr(), ip(18, 1));
    assert_eq!(a.target_protocol_addr(), ip(18, 2));
    assert_eq!(count(&p, Counter::ArpRequests), 1);

    // The answer releases the held echo reply.
    let mut reply = arp_frame(2, PEER_MAC, ip(18, 2), ip(18, 1));
    reply[..6].copy_from_slice(&OUR_MAC.0);
    p.receive(0, reply, MS, &mut sink);
    assert_eq!(sink.tx.len(), 1);
    assert_echo_reply(&sink.tx[0].1, ip(18, 1), ip(18, 2), PEER_MAC);
    assert_eq!(count(&p, Counter::NeighboursLearned), 1);
}

#[test]
fn unanswered_resolution_is_retried_then_counted() {
    let mut p = pipeline(0, 1);
    let mut sink = TestSink::default();
    p.receive(0, echo_request(ip(18, 3), ip(18, 1), 1), 0, &mut sink);
    for t in 1..=5 {
        p.poll_timers(t * 1000 * MS, &mut sink);
    }
    assert_eq!(count(&p, Counter::ArpRequests), 3);
    assert_eq!(count(&p, Counter::DropNeighbourUnresolved), 1);
    assert_eq!(sink.discarded, 1);
    assert_eq!(p.neighbour_count(), 0);
}

#[test]
fn a_neighbour_learned_by_another_worker_releases_held_packets() {
    let mut p = pipeline(0, 1);
    let mut sink = TestSink::default();
    p.receive(0, echo_request(ip(18, 2), ip(18, 1), 1), 0, &mut sink);
    sink.tx.clear();
    let u = NeighbourUpdate {
        port: 0,
        ip: ip(18, 2),
        mac: PEER_MAC,
    };
    p.apply_neighbour_update(u, MS, &mut sink);
    assert_eq!(sink.tx.len(), 1);
    assert_echo_reply(&sink.tx[0].1, ip(18, 1), ip(18, 2), PEER_MAC);
    // Not re-published: it came from a peer.
    assert!(sink.published.is_empty());
}

#[test]
fn packets_for_other_addresses_and_protocols_are_counted() {
    let mut p = pipeline(0, 1);
    let mut sink = TestSink::default();
    p.receive(0, echo_request(ip(18, 2), ip(18, 77), 1), 0, &mut sink);
    let udp = ipv4_frame(ip(18, 2), ip(18, 100), ipv4::protocol::UDP, &[0u8; 8]);
    p.receive(0, udp, 0, &mut sink);
    let mut not_echo = icmp_echo(1, 1, b"");
    not_echo[0] = icmpv4::msg_type::TIME_EXCEEDED;
    not_echo[2..4].fill(0);
    let c = splicer_wire::checksum::data(&not_echo);
    not_echo[2..4].copy_from_slice(&c.to_be_bytes());
    p.receive(
        0,
        ipv4_frame(ip(18, 2), ip(18, 1), 1, &not_echo),
        0,
        &mut sink,
    );
    let mut bad_sum = echo_request(ip(18, 2), ip(18, 1), 1);
    let last = bad_sum.len() - 1;
    bad_sum[last] ^= 1;
    p.receive(0, bad_sum, 0, &mut sink);
    assert_eq!(count(&p, Counter::DropNotForUs), 1);
    assert_eq!(count(&p, Counter::DropUnsupportedProtocol), 1);
    assert_eq!(count(&p, Counter::DropUnsupportedIcmp), 1);
    assert_eq!(count(&p, Counter::DropBadIcmpChecksum), 1);
    assert_eq!(count(&p, Counter::RxPackets), 4);
    assert!(sink.tx.is_empty());
}

#[test]
fn flows_owned_by_another_worker_are_handed_off_and_served_there() {
    let mut w0 = pipeline(0, 2);
    let mut w1 = pipeline(1, 2);
    let mut sink = TestSink::default();
    let mut handed = 0;
    for ident in 0..64u16 {
        let owner = flow_key_of(&echo_request(ip(18, 2), ip(18, 1), ident)).owner(2);
        w0.receive(0, echo_request(ip(18, 2), ip(18, 1), ident), 0, &mut sink);
        if owner == 1 {
            handed += 1;
            let (worker, pkt) = sink.handoff.pop().expect("handed off");
            assert_eq!(worker, 1);
            w1.receive_handed_off(0, pkt, 0, &mut sink);
        }
    }
    assert!(handed > 0 && handed < 64, "both workers own some flows");
    assert_eq!(count(&w0, Counter::HandoffOut), handed);
    assert_eq!(count(&w1, Counter::HandoffIn), handed);
    // Every echo led to exactly one ARP request or held reply on its owner.
    assert_eq!(
        count(&w0, Counter::IcmpEchoReplies) + count(&w1, Counter::IcmpEchoReplies),
        64
    );
}

fn flow_key_of(frame: &[u8]) -> FlowKey {
    match classify(frame, OUR_MAC).unwrap() {
        Classified::Ipv4(meta) => flow_key(&meta, frame).unwrap(),
        Classified::Arp => unreachable!(),
    }
}
