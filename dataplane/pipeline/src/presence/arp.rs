//! ARP responder and learner.

use crate::counters::Counter;
use crate::packet::{PacketBuf, Sink};
use crate::parse::L3_OFFSET;
use crate::pipeline::Pipeline;
use splicer_wire::{arp, ethernet, Error, EthernetAddress};
use std::net::Ipv4Addr;

impl<P: PacketBuf> Pipeline<P> {
    /// Handles an ARP packet received on `port`.
    pub(crate) fn arp<S: Sink<P>>(&mut self, port: u16, mut pkt: P, now: u64, sink: &mut S) {
        let (op, sha, spa, tpa) = match arp::Packet::new_checked(&pkt.data()[L3_OFFSET..]) {
            Ok(a) => (
                a.operation(),
                a.source_hardware_addr(),
                a.source_protocol_addr(),
                a.target_protocol_addr(),
            ),
            Err(Error::Truncated) => return self.drop(port, Counter::DropTruncated, pkt, sink),
            Err(Error::Malformed) => return self.drop(port, Counter::DropBadArp, pkt, sink),
        };
        if !sha.is_unicast() {
            return self.drop(port, Counter::DropBadArp, pkt, sink);
        }
        let for_us = self.topology.answers_arp(port, tpa);
        // Learn only real on-link neighbours: not probes (0.0.0.0), not someone claiming
        // one of our own addresses, not hosts outside the port's subnet.
        let learnable =
            !spa.is_unspecified() && self.topology.on_link(port, spa) && !self.topology.owns(spa);
        if learnable {
            // RFC 826: create an entry only when the packet is addressed to us; otherwise
            // just refresh one we already have.
            self.learn_from_wire(port, spa, sha, now, for_us, sink);
        }
        match op {
            arp::operation::REQUEST if for_us => {
                let mac = self.topology.port(port).mac;
                write_reply(pkt.data_mut(), mac, tpa, sha, spa);
                self.counters.inc(port, Counter::ArpReplies);
                sink.transmit(port, pkt);
            }
            arp::operation::REPLY if for_us => sink.discard(pkt),
            arp::operation::REQUEST | arp::operation::REPLY => {
                self.drop(port, Counter::DropArpNotForUs, pkt, sink)
            }
            _ => self.drop(port, Counter::DropBadArp, pkt, sink),
        }
    }

    /// Sends an ARP request for `target` on `port`.
    pub(crate) fn send_arp_request<S: Sink<P>>(
        &mut self,
        port: u16,
        target: Ipv4Addr,
        sink: &mut S,
    ) {
        let Some(mut pkt) = sink.alloc() else {
            self.counters.inc(port, Counter::DropAllocFailed);
            return;
        };
        if !pkt.resize(crate::transmit::MIN_FRAME_LEN) {
            self.counters.inc(port, Counter::DropAllocFailed);
            return sink.discard(pkt);
        }
        let setup = self.topology.port(port);
        write_request(pkt.data_mut(), setup.mac, setup.cidr.addr, target);
        self.counters.inc(port, Counter::ArpRequests);
        sink.transmit(port, pkt);
    }
}

/// Turns the ARP request in `frame` into the reply from `our_mac` for `our_ip`, in place.
fn write_reply(
    frame: &mut [u8],
    our_mac: EthernetAddress,
    our_ip: Ipv4Addr,
    peer_mac: EthernetAddress,
    peer_ip: Ipv4Addr,
) {
    let mut eth = ethernet::Frame::new_unchecked(&mut frame[..]);
    eth.set_dst_addr(peer_mac);
    eth.set_src_addr(our_mac);
    arp::emit(
        &mut frame[L3_OFFSET..L3_OFFSET + arp::PACKET_LEN],
        arp::operation::REPLY,
        our_mac,
        our_ip,
        peer_mac,
        peer_ip,
    );
}

/// Writes a broadcast ARP request into `frame` (at least 42 bytes; the rest is padding).
fn write_request(frame: &mut [u8], our_mac: EthernetAddress, our_ip: Ipv4Addr, target: Ipv4Addr) {
    frame.fill(0);
    let mut eth = ethernet::Frame::new_unchecked(&mut frame[..]);
    eth.set_dst_addr(EthernetAddress::BROADCAST);
    eth.set_src_addr(our_mac);
    eth.set_ethertype(ethernet::ethertype::ARP);
    arp::emit(
        &mut frame[L3_OFFSET..L3_OFFSET + arp::PACKET_LEN],
        arp::operation::REQUEST,
        our_mac,
        our_ip,
        EthernetAddress([0; 6]),
        target,
    );
}
