//! The reference set-up of the simulation tests, the same addresses as the dataplane's
//! own unit tests: Splicer's outside port 198.18.0.1/24 with the VIP 198.18.0.100, its
//! inside port 198.19.0.1/24; clients from 198.18.0.10 up, servers from 198.19.0.10 up.

use crate::host::HostConfig;
use crate::time;
use splicer_pipeline::balance::Farm;
use splicer_pipeline::flow::FlowSettings;
use splicer_pipeline::presence::neighbour::NeighbourSettings;
use splicer_pipeline::{PortSetup, Service, Settings, Topology};
use splicer_wire::EthernetAddress;
use std::net::{Ipv4Addr, SocketAddrV4};

/// Splicer's outside port address.
pub const OUTSIDE_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
/// Splicer's inside port address.
pub const INSIDE_ADDR: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 1);
/// The virtual server.
pub const VIP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 100);
/// MAC of the outside port.
pub const OUTSIDE_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
/// MAC of the inside port.
pub const INSIDE_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);

/// The two-port topology with the VIP on the outside port.
pub fn topology() -> Topology {
    Topology::new(
        vec![
            PortSetup {
                name: "outside".into(),
                mac: OUTSIDE_MAC,
                cidr: "198.18.0.1/24".parse().expect("valid cidr"),
                gateway: None,
            },
            PortSetup {
                name: "inside".into(),
                mac: INSIDE_MAC,
                cidr: "198.19.0.1/24".parse().expect("valid cidr"),
                gateway: None,
            },
        ],
        &[(VIP, 0)],
    )
}

/// [`topology`] with the virtual `www` (index 0) on the VIP's port 80, every limit at the
/// data plane's default, and `farm` behind it.
pub fn www(farm: Farm) -> Topology {
    topology()
        .with_services(&[Service {
            address: SocketAddrV4::new(VIP, 80),
            virtual_index: 0,
            max_request_head: 16 * 1024,
            max_pipeline: Service::DEFAULT_MAX_PIPELINE,
            max_held: Service::DEFAULT_MAX_HELD,
            forward_for: Default::default(),
            server_close: Default::default(),
        }])
        .with_farm(farm)
}

/// Neighbour timing in simulated time, the configuration's defaults: entries live 60 s,
/// ARP is retried every second, 16 packets wait per unresolved neighbour.
pub fn neighbour_settings() -> NeighbourSettings {
    NeighbourSettings {
        timeout: time::pipeline_ms(60_000),
        retry: time::pipeline_ms(1000),
        pending: 16,
    }
}

/// Pipeline settings for `workers` workers in simulated time (worker index 0; the
/// [`PipelineBox`](crate::PipelineBox) sets each worker's own), with the configuration's
/// defaults and a fixed ISN seed so runs repeat.
pub fn settings(workers: usize) -> Settings {
    Settings {
        worker: 0,
        workers,
        neighbour: neighbour_settings(),
        flow: FlowSettings::defaults(time::PIPELINE_UNITS_PER_MS),
        seed: 0x5eed,
    }
}

/// Client `n` on the outside segment: 198.18.0.(10 + n)/24.
pub fn client(n: u8) -> HostConfig {
    HostConfig::new(&format!("client{n}"), &format!("198.18.0.{}/24", 10 + n))
}

/// Server `n` on the inside segment: 198.19.0.(10 + n)/24, routed through Splicer.
pub fn server(n: u8) -> HostConfig {
    HostConfig::new(&format!("server{n}"), &format!("198.19.0.{}/24", 10 + n)).gateway(INSIDE_ADDR)
}
