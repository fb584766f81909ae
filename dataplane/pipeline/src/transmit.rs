//! Last stage before a NIC: choose the port and next hop, resolve the next hop's MAC,
//! write the Ethernet header.

use crate::counters::Counter;
use crate::flow::Handle;
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

/// Where a connection's segments go, resolved once (route, then neighbour) and kept in
/// its table slot: the established path writes the Ethernet header from it without a
/// route or neighbour lookup. Valid while the neighbour entry it came from is
/// (`expires`) and while nothing was learned or reconfigured since (`epoch`, the
/// pipeline's `hop_epoch`): any change to the neighbour table or the topology makes every
/// connection resolve afresh on its next segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NextHop {
    pub port: u16,
    pub src: EthernetAddress,
    pub dst: EthernetAddress,
    pub epoch: u32,
    pub expires: u64,
}

impl NextHop {
    /// A hop no connection has: epoch 0 is never the pipeline's.
    pub const NONE: NextHop = NextHop {
        port: 0,
        src: EthernetAddress([0; 6]),
        dst: EthernetAddress([0; 6]),
        epoch: 0,
        expires: 0,
    };
}

impl<P: PacketBuf> Pipeline<P> {
    /// Sends an IPv4 packet of connection `h` (client or server leg) to its peer `dst`,
    /// through the connection's kept next hop when it is still valid; otherwise resolved
    /// as [`Pipeline::send_ipv4`] does, and kept for the next segments when it resolves.
    pub(crate) fn send_ipv4_of<S: Sink<P>>(
        &mut self,
        rx_port: u16,
        h: Handle,
        mut pkt: P,
        dst: Ipv4Addr,
        now: u64,
        sink: &mut S,
    ) {
        let hop = self.flows.hop(h);
        if hop.epoch == self.hop_epoch && now < hop.expires {
            write_ethernet(pkt.data_mut(), hop.src, hop.dst);
            return sink.transmit(hop.port, pkt);
        }
        let Some((port, next_hop)) = self.topology.route(dst) else {
            return self.drop(rx_port, Counter::DropNoRoute, pkt, sink);
        };
        if let Some((mac, expires)) = self.neighbours.lookup_until(next_hop, now) {
            let hop = NextHop {
                port,
                src: self.topology.port(port).mac,
                dst: mac,
                epoch: self.hop_epoch,
                expires,
            };
            self.flows.set_hop(h, hop);
            write_ethernet(pkt.data_mut(), hop.src, hop.dst);
            return sink.transmit(port, pkt);
        }
        self.send_ipv4(rx_port, pkt, dst, now, sink);
    }

    /// Every connection's kept next hop is stale from now (a neighbour learned or
    /// refreshed, a new topology).
    pub(crate) fn forget_hops(&mut self) {
        self.hop_epoch = self.hop_epoch.wrapping_add(1).max(1);
    }

    /// Sends an IPv4 packet whose IP header is final to `dst`. `rx_port` is where the
    /// packet came in, for counting a drop before an output port is known.
    pub(crate) fn send_ipv4<S: Sink<P>>(
        &mut self,
        rx_port: u16,
        mut pkt: P,
        dst: Ipv4Addr,
        now: u64,
        sink: &mut S,
    ) {
        let Some((port, next_hop)) = self.topology.route(dst) else {
            return self.drop(rx_port, Counter::DropNoRoute, pkt, sink);
        };
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
        let topology = &self.topology;
        let changed = self
            .neighbours
            .learn(port, ip, mac, now, create, |port, mac, mut pkt| {
                write_ethernet(pkt.data_mut(), topology.port(port).mac, mac);
                sink.transmit(port, pkt);
            });
        if changed {
            self.forget_hops();
        }
        changed
    }
}
