//! The scenarios that run the real splice engine: `established`, `lifecycle`,
//! `keepalive` and `pipelined`.
//!
//! The worker lcore runs [`splicer_pipeline::Pipeline`] on mbufs exactly as the DPDK
//! worker does ([`engine::PipelineForwarder`]): every received frame goes through
//! `Pipeline::receive`, `Pipeline::poll_timers` runs every millisecond, and what the
//! pipeline transmits leaves in bursts. The generator on the main lcore plays the
//! network around the appliance at packet level ([`peers::SpliceTraffic`]): a gateway
//! with N clients behind it on the outside, M real servers on the inside.
//!
//! ```text
//!   clients 198.18.128.0/17 ── gateway 198.18.0.254 ── outside 198.18.0.1/24, VIP 198.18.0.100:80
//!                                                          Splicer (one worker)
//!   reals 198.19.0.10.. :8080.. (one MAC per address) ──── inside  198.19.0.1/24
//! ```
//!
//! Both appliance ports are carried by the one net_ring pair of the test bed: the
//! worker side hands a frame to the pipeline as received on port 1 (inside) when it is
//! addressed to the inside port's MAC and on port 0 (outside) otherwise, and sends what
//! the pipeline transmits on either port back on the ring. That is the bench's only
//! stand-in for a second NIC; the pipeline sees two ports with their own MACs and
//! subnets, resolves its neighbours (the gateway, each real) with ARP, and routes.

pub mod engine;
pub mod frame;
pub mod loopback;
pub mod peers;
pub mod run;
pub mod state;
pub mod steer;

use crate::plan;
use splicer_http::{Matcher, Rule};
use splicer_pipeline::balance::{Farm, Predictor, Real, RealId, RuleRoute, VirtualPolicy};
use splicer_pipeline::flow::FlowSettings;
use splicer_pipeline::presence::neighbour::NeighbourSettings;
use splicer_pipeline::{PortSetup, Service, Settings, Topology};
use splicer_wire::EthernetAddress;
use std::net::{Ipv4Addr, SocketAddrV4};

/// MAC of the appliance's outside port (the baseline's worker MAC).
pub const OUTSIDE_MAC: [u8; 6] = crate::scenario::WORKER_MAC.0;
/// MAC of the appliance's inside port.
pub const INSIDE_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x01, 0x02];
/// The outside port's address (/24).
pub const OUTSIDE_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
/// The inside port's address (/24): the source of every server connection.
pub const INSIDE_ADDR: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 1);
/// The gateway the clients are behind.
pub const GATEWAY: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 254);
/// The gateway's MAC.
pub const GATEWAY_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0xfe];
/// The virtual server.
pub const VIP: (Ipv4Addr, u16) = plan::VIP;
/// Largest request head the virtual buffers (the configuration's default).
pub const MAX_REQUEST_HEAD: usize = 16 * 1024;
/// Real server addresses: 198.19.0.10 + (r % 64), port 8080 + r / 64.
pub const REAL_ADDRS: u16 = 64;
/// The local ports Splicer opens server connections from (`flow/server.rs`,
/// `LOCAL_PORTS`; private there, restated here: the generator indexes its server
/// connections by them and refuses any other).
pub const LOCAL_PORTS: (u16, u16) = (20_000, 60_999);
/// Most reals the bench configures.
pub const MAX_REALS: u16 = 256;

/// Real `r`'s address.
pub fn real_addr(r: RealId) -> SocketAddrV4 {
    SocketAddrV4::new(
        Ipv4Addr::new(198, 19, 0, 10 + (r % REAL_ADDRS) as u8),
        8080 + r / REAL_ADDRS,
    )
}

/// The MAC the generator answers ARP with for a real's address `ip` (198.19.0.x →
/// 02:00:00:00:01:x).
pub fn server_mac(ip: Ipv4Addr) -> [u8; 6] {
    [0x02, 0, 0, 0, 0x01, ip.octets()[3]]
}

/// The real behind `addr`, if it is one of `reals`.
pub fn real_of(addr: (Ipv4Addr, u16), reals: u16) -> Option<RealId> {
    let o = addr.0.octets();
    if o[..3] != [198, 19, 0] || !(10..10 + REAL_ADDRS as u8).contains(&o[3]) {
        return None;
    }
    let r = addr.1.checked_sub(8080)?.checked_mul(REAL_ADDRS)? + u16::from(o[3] - 10);
    (r < reals).then_some(r)
}

/// How the reals of a scenario are set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FarmSpec {
    /// Number of reals.
    pub reals: u16,
    /// `pool` of every real.
    pub pool: u16,
    /// `maxconns` of every real.
    pub maxconns: u16,
    /// Path rules in order: (`path_prefix`, reals); a request matching none goes to
    /// the bind list.
    pub rules: Vec<(&'static str, Vec<RealId>)>,
    /// The virtual's `bind` list.
    pub bind: Vec<RealId>,
    /// The service's `max_held` (`virtual.max_held`): the window each request
    /// dispatched ahead of others offers its server.
    pub max_held: usize,
    /// The service's `forward_for` (`virtual.forward_for`): off in every scenario of
    /// the gate; `splice_loop` turns it on to measure what it costs.
    pub forward_for: splicer_http::ForwardFor,
}

impl FarmSpec {
    /// Every real in the bind list, no rule.
    pub fn all(reals: u16, pool: u16, maxconns: u16) -> FarmSpec {
        FarmSpec {
            reals,
            pool,
            maxconns,
            rules: Vec::new(),
            bind: (0..reals).collect(),
            max_held: Service::DEFAULT_MAX_HELD,
            forward_for: splicer_http::ForwardFor::Off,
        }
    }

    /// The reals a request with path `path` may be routed to.
    pub fn members(&self, path: &[u8]) -> &[RealId] {
        self.rules
            .iter()
            .find(|(prefix, _)| path.starts_with(prefix.as_bytes()))
            .map_or(&self.bind[..], |(_, m)| &m[..])
    }

    /// The [`Farm`] the pipeline gets: round robin, one virtual `bench`.
    pub fn farm(&self) -> Farm {
        let reals = (0..self.reals)
            .map(|r| {
                Real::new(
                    format!("real{r}"),
                    real_addr(r),
                    1,
                    self.pool,
                    self.maxconns,
                )
            })
            .collect();
        let rules = self
            .rules
            .iter()
            .map(|(prefix, members)| RuleRoute {
                class: splicer_pipeline::balance::RequestClass::default(),
                name: prefix.trim_matches('/').into(),
                rule: Rule::new(vec![Matcher::PathPrefix((*prefix).into())]),
                members: members.clone(),
                urls: Vec::new(),
                predictor: None,
                hash: None,
            })
            .collect();
        Farm {
            reals,
            virtuals: vec![VirtualPolicy::splice(
                "bench",
                Predictor::RoundRobin,
                rules,
                self.bind.clone(),
            )],
            urls: Vec::new(),
        }
    }

    /// The appliance: outside port with the VIP and a gateway, inside port, the virtual
    /// and the farm.
    pub fn topology(&self) -> Topology {
        Topology::new(
            vec![
                PortSetup {
                    name: "outside".into(),
                    mac: EthernetAddress(OUTSIDE_MAC),
                    cidr: "198.18.0.1/24".parse().expect("valid cidr"),
                    gateway: Some(GATEWAY),
                },
                PortSetup {
                    name: "inside".into(),
                    mac: EthernetAddress(INSIDE_MAC),
                    cidr: "198.19.0.1/24".parse().expect("valid cidr"),
                    gateway: None,
                },
            ],
            &[(VIP.0, 0)],
        )
        .with_services(&[Service {
            address: SocketAddrV4::new(VIP.0, VIP.1),
            virtual_index: 0,
            max_request_head: MAX_REQUEST_HEAD,
            max_pipeline: Service::DEFAULT_MAX_PIPELINE,
            max_held: self.max_held,
            forward_for: self.forward_for,
            server_close: Default::default(),
        }])
        .with_farm(self.farm())
    }
}

/// Pipeline settings as `splicer run` builds them from a configuration with every
/// default (`controlplane/control/src/startup.rs`), one worker, except `max_flows`.
pub fn settings(tsc_hz: u64, max_flows: usize, seed: u64) -> Settings {
    let ms = (tsc_hz / 1000).max(1);
    Settings {
        worker: 0,
        workers: 1,
        neighbour: NeighbourSettings {
            timeout: 60_000 * ms,
            retry: 1_000 * ms,
            pending: 16,
        },
        flow: FlowSettings {
            max_flows,
            ..FlowSettings::defaults(ms)
        },
        seed: u128::from(seed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_addresses_round_trip() {
        for r in [0u16, 1, 63, 64, 65, 255] {
            let a = real_addr(r);
            assert_eq!(real_of((*a.ip(), a.port()), 256), Some(r), "{r}");
        }
        assert_eq!(real_of((Ipv4Addr::new(198, 19, 0, 10), 8080), 0), None);
        assert_eq!(real_of((Ipv4Addr::new(198, 19, 0, 9), 8080), 4), None);
        assert_eq!(real_of((Ipv4Addr::new(198, 19, 0, 10), 80), 4), None);
        assert_eq!(
            server_mac(Ipv4Addr::new(198, 19, 0, 12)),
            [2, 0, 0, 0, 1, 12]
        );
    }

    #[test]
    fn topology_has_the_virtual_and_routes() {
        let t = FarmSpec::all(4, 2, 16).topology();
        assert!(t.service(VIP.0, 80).is_some());
        assert_eq!(t.route(Ipv4Addr::new(198, 18, 128, 5)), Some((0, GATEWAY)));
        let r = real_addr(3);
        assert_eq!(t.route(*r.ip()), Some((1, *r.ip())));
        assert_eq!(t.farm().reals.len(), 4);
    }
}
