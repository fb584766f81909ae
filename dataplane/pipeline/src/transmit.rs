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
/// route or neighbour lookup. Valid while nothing was learned or reconfigured since
/// (`epoch`, the pipeline's `hop_epoch`) and while every neighbour entry a kept hop came
/// from is (`Pipeline::hops_expire`, the earliest of their expiries): any change makes
/// every connection resolve afresh on its next segment. 12 bytes, so that the slot
/// grows by no more than its padding allows (the source MAC is the port's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NextHop {
    pub epoch: u32,
    pub port: u16,
    pub dst: EthernetAddress,
}

impl NextHop {
    /// A hop no connection has: epoch 0 is never the pipeline's.
    pub const NONE: NextHop = NextHop {
        epoch: 0,
        port: 0,
        dst: EthernetAddress([0; 6]),
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
        if hop.epoch == self.hop_epoch {
            if now < self.hops_expire {
                write_ethernet(pkt.data_mut(), self.topology.port(hop.port).mac, hop.dst);
                return sink.transmit(hop.port, pkt);
            }
            // A neighbour entry some hop came from has expired: resolve every one afresh.
            self.forget_hops();
        }
        let Some((port, next_hop)) = self.topology.route(dst) else {
            return self.drop(rx_port, Counter::DropNoRoute, pkt, sink);
        };
        if let Some((mac, expires)) = self.neighbours.lookup_until(next_hop, now) {
            let hop = NextHop {
                epoch: self.hop_epoch,
                port,
                dst: mac,
            };
            self.flows.set_hop(h, hop);
            self.hops_expire = self.hops_expire.min(expires);
            write_ethernet(pkt.data_mut(), self.topology.port(port).mac, mac);
            return sink.transmit(port, pkt);
        }
        self.send_ipv4(rx_port, pkt, dst, now, sink);
    }

    /// Every connection's kept next hop is stale from now (a neighbour learned or
    /// refreshed, a new topology).
    pub(crate) fn forget_hops(&mut self) {
        self.hop_epoch = self.hop_epoch.wrapping_add(1).max(1);
        self.hops_expire = u64::MAX;
    }

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
