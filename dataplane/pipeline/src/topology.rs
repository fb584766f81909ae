//! What the appliance is on the network: its ports, their addresses and the VIPs each
//! answers for. Built once by the control core from the configuration and shared
//! read-only by the workers.

use crate::balance::Farm;
use hashbrown::HashMap;
use splicer_http::{ForwardFor, ServerClose};
use splicer_wire::ipv4::Cidr;
use splicer_wire::EthernetAddress;
use std::net::{Ipv4Addr, SocketAddrV4};

/// One port as the packet logic sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSetup {
    /// Name from the configuration, for logs.
    pub name: String,
    /// The port's MAC address, used as the source of everything sent on it and as the
    /// answer to ARP for its address and VIPs.
    pub mac: EthernetAddress,
    /// The port's own address and the subnet that is on-link behind it.
    pub cidr: Cidr,
    /// Next hop for destinations on no port's subnet.
    pub gateway: Option<Ipv4Addr>,
}

/// What kind of local address a packet was sent to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalKind {
    /// A port's own address.
    PortAddress,
    /// A virtual server address.
    Vip,
    /// A directed IP (Cisco's "Server load balancing method and system",
    /// US 7,099,915): the address of a real, taken by Splicer only for
    /// connections arriving on the owning (client-side) port; Splicer does not answer
    /// ARP for it, the real does on its own subnet.
    Dip,
}

/// A local address and the port that owns it (answers ARP for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalAddr {
    /// Index of the owning port.
    pub port: u16,
    /// Port address or VIP.
    pub kind: LocalKind,
}

/// A virtual server as the TCP stage sees it: where it listens and how it reads requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    /// VIP and TCP port.
    pub address: SocketAddrV4,
    /// Index of the `[[virtual]]` in the configuration.
    pub virtual_index: u16,
    /// Largest request head buffered before answering 431; also the room for the
    /// requests a client pipelines behind the one in flight.
    pub max_request_head: usize,
    /// Most requests of one client connection in flight on server connections at once
    /// (pipelining); 1 sends each only after the response before it.
    pub max_pipeline: u16,
    /// Most bytes held of the response to each request sent ahead of its turn
    /// (pipelining): the window its server is offered until then.
    pub max_held: usize,
    /// Whether each request head tells its server the client's address
    /// (`X-Forwarded-For`), and what becomes of the one a client sends.
    pub forward_for: ForwardFor,
    /// What a client's `Connection: close` does to the server connection
    /// (`virtual.server_close`).
    pub server_close: ServerClose,
}

impl Service {
    /// `virtual.max_pipeline`'s default.
    pub const DEFAULT_MAX_PIPELINE: u16 = 32;
    /// `virtual.max_held`'s default: 64 KiB.
    pub const DEFAULT_MAX_HELD: usize = 64 * 1024;
}

/// The appliance's addresses and routes.
#[derive(Debug, Clone)]
pub struct Topology {
    ports: Vec<PortSetup>,
    local: HashMap<Ipv4Addr, LocalAddr>,
    default_route: Option<(u16, Ipv4Addr)>,
    services: HashMap<SocketAddrV4, Service>,
    farm: Farm,
}

impl Topology {
    /// Builds the topology. `vips` pairs each VIP with the index of its owning port.
    /// The default route is the first port that has a gateway.
    pub fn new(ports: Vec<PortSetup>, vips: &[(Ipv4Addr, u16)]) -> Self {
        let mut local = HashMap::with_capacity(ports.len() + vips.len());
        for (i, p) in ports.iter().enumerate() {
            local.insert(
                p.cidr.addr,
                LocalAddr {
                    port: i as u16,
                    kind: LocalKind::PortAddress,
                },
            );
        }
        for &(ip, port) in vips {
            local.entry(ip).or_insert(LocalAddr {
                port,
                kind: LocalKind::Vip,
            });
        }
        let default_route = ports
            .iter()
            .enumerate()
            .find_map(|(i, p)| p.gateway.map(|gw| (i as u16, gw)));
        Topology {
            ports,
            local,
            default_route,
            services: HashMap::new(),
            farm: Farm::default(),
        }
    }

    /// Adds directed IPs, each with the index of the port its clients come in on.
    pub fn with_dips(mut self, dips: &[(Ipv4Addr, u16)]) -> Self {
        for &(ip, port) in dips {
            self.local.entry(ip).or_insert(LocalAddr {
                port,
                kind: LocalKind::Dip,
            });
        }
        self
    }

    /// Adds the virtual servers that accept TCP connections. Their VIPs must be among the
    /// `vips` given to [`Topology::new`].
    pub fn with_services(mut self, services: &[Service]) -> Self {
        self.services = services.iter().map(|s| (s.address, *s)).collect();
        self
    }

    /// Sets the reals and the per-virtual routing policies.
    pub fn with_farm(mut self, farm: Farm) -> Self {
        self.farm = farm;
        self
    }

    /// The reals and routing policies.
    #[inline]
    pub fn farm(&self) -> &Farm {
        &self.farm
    }

    /// The virtual server listening on `ip:port`, if any.
    #[inline]
    pub fn service(&self, ip: Ipv4Addr, port: u16) -> Option<&Service> {
        self.services.get(&SocketAddrV4::new(ip, port))
    }

    /// All ports, in DPDK port-id order.
    pub fn ports(&self) -> &[PortSetup] {
        &self.ports
    }

    /// One port. Panics on an index that was never configured (a programming error).
    pub fn port(&self, index: u16) -> &PortSetup {
        &self.ports[index as usize]
    }

    /// The local address `ip`, if it is one of ours.
    #[inline]
    pub fn local(&self, ip: Ipv4Addr) -> Option<LocalAddr> {
        self.local.get(&ip).copied()
    }

    /// True when `port` answers ARP for `ip`: a VIP is announced only on its owning port,
    /// so that two ports never claim one address.
    pub fn answers_arp(&self, port: u16, ip: Ipv4Addr) -> bool {
        self.local(ip)
            .is_some_and(|l| l.port == port && l.kind != LocalKind::Dip)
    }

    /// True when a packet to `ip` arriving on `port` is for Splicer: any of its
    /// addresses, but a DIP only on the port its clients come in on (on the real's side
    /// the address is the real's).
    #[inline]
    pub fn takes(&self, port: u16, ip: Ipv4Addr) -> bool {
        self.local(ip)
            .is_some_and(|l| l.kind != LocalKind::Dip || l.port == port)
    }

    /// True when `ip` is one of Splicer's own addresses on the wire (a port's address or
    /// a VIP), which no neighbour may claim. A DIP is the real's address.
    pub fn owns(&self, ip: Ipv4Addr) -> bool {
        self.local(ip).is_some_and(|l| l.kind != LocalKind::Dip)
    }

    /// True when `ip` is inside the subnet of `port`.
    pub fn on_link(&self, port: u16, ip: Ipv4Addr) -> bool {
        self.ports
            .get(port as usize)
            .is_some_and(|p| p.cidr.contains(ip))
    }

    /// The port to send to `dst` on and the next hop whose MAC the frame goes to.
    pub fn route(&self, dst: Ipv4Addr) -> Option<(u16, Ipv4Addr)> {
        self.ports
            .iter()
            .position(|p| p.cidr.contains(dst))
            .map(|i| (i as u16, dst))
            .or(self.default_route)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn two_ports() -> Topology {
        Topology::new(
            vec![
                PortSetup {
                    name: "outside".into(),
                    mac: EthernetAddress([2, 0, 0, 0, 0, 1]),
                    cidr: "198.18.0.1/24".parse().unwrap(),
                    gateway: Some(Ipv4Addr::new(198, 18, 0, 254)),
                },
                PortSetup {
                    name: "inside".into(),
                    mac: EthernetAddress([2, 0, 0, 0, 0, 2]),
                    cidr: "198.19.0.1/24".parse().unwrap(),
                    gateway: None,
                },
            ],
            &[(Ipv4Addr::new(198, 18, 0, 100), 0)],
        )
    }

    #[test]
    fn local_addresses_and_arp_ownership() {
        let t = two_ports();
        let vip = Ipv4Addr::new(198, 18, 0, 100);
        assert_eq!(t.local(vip).unwrap().kind, LocalKind::Vip);
        assert!(t.answers_arp(0, vip));
        assert!(!t.answers_arp(1, vip));
        assert!(t.answers_arp(1, Ipv4Addr::new(198, 19, 0, 1)));
        assert!(t.local(Ipv4Addr::new(198, 18, 0, 77)).is_none());
    }

    #[test]
    fn routes_prefer_connected_subnets_then_gateway() {
        let t = two_ports();
        assert_eq!(
            t.route(Ipv4Addr::new(198, 19, 0, 11)),
            Some((1, Ipv4Addr::new(198, 19, 0, 11)))
        );
        assert_eq!(
            t.route(Ipv4Addr::new(198, 18, 5, 5)),
            Some((0, Ipv4Addr::new(198, 18, 0, 254)))
        );
        let no_gw = Topology::new(vec![t.port(1).clone()], &[]);
        assert_eq!(no_gw.route(Ipv4Addr::new(198, 18, 5, 5)), None);
    }
}
