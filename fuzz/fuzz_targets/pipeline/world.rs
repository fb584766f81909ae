//! The pipeline target's world: the appliance's topology and farm, the hosts the
//! harness plays, the messages they send, the sink that collects what Splicer sends.

use splicer_http::{Matcher, Rule};
use splicer_pipeline::balance::{Mode, Predictor, Status, Url};
use splicer_pipeline::{
    Farm, NeighbourUpdate, PortSetup, Real, RuleRoute, Service, Sink, Topology, VirtualPolicy,
};
use splicer_wire::EthernetAddress;
use std::net::{Ipv4Addr, SocketAddrV4};

/// Clock ticks per millisecond (the pipeline's `now` is in microseconds here).
pub(crate) const MS: u64 = 1_000;
pub(crate) const MAX_FLOWS: usize = 12;
pub(crate) const MAX_HALF_OPEN: usize = 6;
pub(crate) const MAXCONNS: u16 = 3;
pub(crate) const MAX_ACTIONS: usize = 200;
/// Peers tracked at once; older ones are forgotten (their frames are still checked).
pub(crate) const MAX_PEERS: usize = 16;

pub(crate) const OUTSIDE_MAC: EthernetAddress = EthernetAddress([0x02, 0x73, 0x70, 0x6c, 0, 1]);
pub(crate) const INSIDE_MAC: EthernetAddress = EthernetAddress([0x02, 0x73, 0x70, 0x6c, 0, 2]);
pub(crate) const GATEWAY_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0xfe]);
pub(crate) const OUTSIDE_ADDR: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
pub(crate) const INSIDE_ADDR: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 1);
pub(crate) const GATEWAY: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 254);
pub(crate) const VIP: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 100);
pub(crate) const REALS: [SocketAddrV4; 2] = [
    SocketAddrV4::new(Ipv4Addr::new(198, 19, 0, 11), 80),
    SocketAddrV4::new(Ipv4Addr::new(198, 19, 0, 12), 8080),
];

pub(crate) const REQUESTS: &[&[u8]] = &[
    b"GET / HTTP/1.1\r\nHost: www.example\r\n\r\n",
    b"GET /img/a.jpg HTTP/1.1\r\nHost: www.example\r\nAccept: */*\r\n\r\n",
    b"POST /form HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n",
    b"POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"5\r\nhello\r\n0\r\n\r\n",
    b"GET /old HTTP/1.0\r\n\r\n",
    b"GET /ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"HEAD / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    b"PUT /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: h\r\n\r\nGET /img/b HTTP/1.1\r\nHost: h\r\n\r\n",
    b"GET /x HTTP/1.1\nHost: h\n\n",
    b"GET / HTTP/2.0\r\n\r\n",
];

pub(crate) const RESPONSES: &[&[u8]] = &[
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    b"HTTP/1.1 204 No Content\r\n\r\n",
    b"HTTP/1.1 304 Not Modified\r\n\r\n",
    b"HTTP/1.1 100 Continue\r\n\r\n",
    b"HTTP/1.0 200 OK\r\n\r\nuntil close",
    b"HTTP/1.1 405 Not Allowed\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
];

pub(crate) struct Out {
    pub(crate) tx: Vec<(u16, Vec<u8>)>,
    pub(crate) handoffs: usize,
}

impl Sink<Vec<u8>> for Out {
    fn transmit(&mut self, port: u16, pkt: Vec<u8>) {
        self.tx.push((port, pkt));
    }
    fn handoff(&mut self, _worker: usize, _pkt: Vec<u8>) {
        self.handoffs += 1;
    }
    fn discard(&mut self, _pkt: Vec<u8>) {}
    fn alloc(&mut self) -> Option<Vec<u8>> {
        Some(Vec::new())
    }
    fn publish_neighbour(&mut self, _update: NeighbourUpdate) {}
}

pub(crate) fn client_addr(n: u8) -> (Ipv4Addr, EthernetAddress, EthernetAddress) {
    // Even clients are on the outside link, odd ones behind the gateway.
    let n = n % 6;
    if n.is_multiple_of(2) {
        let mac = EthernetAddress([2, 0, 0, 0, 1, n]);
        (Ipv4Addr::new(198, 18, 0, 2 + n), mac, mac)
    } else {
        (
            Ipv4Addr::new(198, 18, 7, n),
            EthernetAddress([2, 0, 0, 0, 7, n]),
            GATEWAY_MAC,
        )
    }
}

pub(crate) fn server_mac(ip: Ipv4Addr) -> EthernetAddress {
    EthernetAddress([2, 0, 0, 0, 2, ip.octets()[3]])
}

pub(crate) fn farm(status: [Status; 2]) -> Farm {
    let mut reals: Vec<Real> = REALS
        .iter()
        .enumerate()
        .map(|(i, a)| Real::new(format!("s{i}"), *a, 1 + i as u16, 2, MAXCONNS))
        .collect();
    for (r, s) in reals.iter_mut().zip(status) {
        r.status = s;
    }
    let mut redirect = VirtualPolicy::splice("moved", Predictor::RoundRobin, Vec::new(), vec![0]);
    redirect.mode = Mode::Redirect;
    Farm {
        reals,
        virtuals: vec![
            VirtualPolicy::splice(
                "www",
                Predictor::RoundRobin,
                vec![RuleRoute::new(
                    "img",
                    Rule::new(vec![Matcher::PathPrefix("/img/".into())]),
                    vec![1],
                )],
                vec![0, 1],
            ),
            redirect,
        ],
        urls: vec![Url {
            name: "new".into(),
            template: "http://%h:8080/new%d?port=%s".into(),
            code: 301,
            weight: 1,
            in_service: true,
        }],
    }
}

pub(crate) fn topology(status: [Status; 2]) -> Topology {
    Topology::new(
        vec![
            PortSetup {
                name: "outside".into(),
                mac: OUTSIDE_MAC,
                cidr: "198.18.0.1/24".parse().expect("cidr"),
                gateway: Some(GATEWAY),
            },
            PortSetup {
                name: "inside".into(),
                mac: INSIDE_MAC,
                cidr: "198.19.0.1/24".parse().expect("cidr"),
                gateway: None,
            },
        ],
        &[(VIP, 0)],
    )
    .with_services(&[
        Service {
            address: SocketAddrV4::new(VIP, 80),
            virtual_index: 0,
            max_request_head: 2048,
            max_pipeline: Service::DEFAULT_MAX_PIPELINE,
            max_held: Service::DEFAULT_MAX_HELD,
            forward_for: Default::default(),
            server_close: Default::default(),
        },
        Service {
            address: SocketAddrV4::new(VIP, 81),
            virtual_index: 1,
            max_request_head: 512,
            max_pipeline: Service::DEFAULT_MAX_PIPELINE,
            max_held: Service::DEFAULT_MAX_HELD,
            forward_for: Default::default(),
            server_close: Default::default(),
        },
    ])
    .with_farm(farm(status))
}

pub(crate) fn status_of(n: u8) -> Status {
    [
        Status::InService,
        Status::OutOfService,
        Status::Maintenance,
        Status::Sticky,
        Status::Failed,
        Status::InService,
    ][usize::from(n % 6)]
}
