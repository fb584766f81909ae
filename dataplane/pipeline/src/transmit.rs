//! Last stage before a NIC: choose the port and next hop, resolve the next hop's MAC,
//! write the Ethernet header.

use crate::counters::Counter;
use crate::packet::{PacketBuf, Sink};
use crate::pipeline::Pipeline;
use crate::presence::neighbour::Hold;
use splicer_wire::{ethernet, EthernetAddress};
use std::net::Ipv4Addr;

/// Shortest Ethernet frame without FCS; frames Splicer builds are padded to it.
pub const MIN_FRAME_LEN: usize = 60;

/// Writes the Ethernet header of an IPv4 frame.
#[inline]
pub fn write_ethernet(frame: &mut [u8], src: EthernetAddress, dst: EthernetAddress) {
    let mut eth = ethernet::Frame::new_unchecked(frame);
    eth.set_dst_addr(dst);
    eth.set_src_addr(src);
    eth.set_ethertype(ethernet::ethertype::IPV4);
}

impl<P: PacketBuf> Pipeline<P> {
    /// Sends an IPv4 packet whose IP header is final to `dst`. `rx_port` is where the
    /// packet came in, for counting a drop before an output port is known.
    pub(crate) fn send_ipv4<S: Sink<P>>(
        &mut self,
        rx_port: u16,
        pkt: P,
        dst: Ipv4Addr,
        now: u64,
        sink: &mut S,
    ) {
        let Some((port, next_hop)) = self.topology.route(dst) else {
            return self.drop(rx_port, Counter::DropNoRoute, pkt, sink);
        };
        self.send_to_neighbour(port, next_hop, pkt, now, sink);
    }

    /// Sends a frame whose Ethernet header is rewritten here to `next_hop`, an on-link
    /// neighbour on `port`: now when its MAC is known, else once ARP resolves it.
    #[inline]
    pub(crate) fn send_to_neighbour<S: Sink<P>>(
        &mut self,
        port: u16,
        next_hop: Ipv4Addr,
        mut pkt: P,
        now: u64,
        sink: &mut S,
    ) {
        if let Some(mac) = self.neighbours.lookup(next_hop, now) {
            write_ethernet(pkt.data_mut(), self.topology.port(port).mac, mac);
            return sink.transmit(port, pkt);
        }
        match self.neighbours.hold(port, next_hop, pkt, now) {
            Hold::SendRequest => self.send_arp_request(port, next_hop, sink),
            Hold::Waiting => {}
            Hold::Refused(pkt) => self.drop(port, Counter::DropNeighbourUnresolved, pkt, sink),
        }
    }

    /// Learns `ip`'s MAC on `port` (from ARP, or from another worker); the frames held
    /// for it leave now. Returns whether the table took it (see `NeighbourTable::learn`).
    pub(crate) fn learn<S: Sink<P>>(
        &mut self,
        port: u16,
        ip: Ipv4Addr,
        mac: EthernetAddress,
        now: u64,
        create: bool,
        sink: &mut S,
    ) -> bool {
        self.cluster.learned(ip, mac);
        let topology = &self.topology;
        self.neighbours
            .learn(port, ip, mac, now, create, |port, mac, mut pkt| {
                write_ethernet(pkt.data_mut(), topology.port(port).mac, mac);
                sink.transmit(port, pkt);
            })
    }
}
