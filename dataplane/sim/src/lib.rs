//! In-process network simulation for Splicer's dataplane.
//!
//! Real TCP/IP peers from the `smoltcp` crate sit on two L2 segments, "outside" (the
//! device's port 0) and "inside" (port 1). Every host is attached to its segment by a
//! pair of [`link::Link`]s that lose, duplicate, delay and reorder frames from a seeded
//! random generator, so a run is reproducible from its seed. The device under test is
//! anything that implements [`net::Middlebox`]: a plain [`middlebox::Bridge`] to test
//! the harness itself, or [`middlebox::PipelineBox`], which runs one or more
//! [`splicer_pipeline::Pipeline`]s the way the DPDK workers do.
//!
//! Time is simulated in [ticks](time): [`net::Network::step`] advances it by one tick,
//! polls every host and moves every frame that is due. Nothing sleeps and nothing reads a
//! wall clock, so a test that needs seconds of protocol time (ARP and TCP retransmission
//! timers) runs in milliseconds.
//!
//! Applications run on hosts as [`host::App`]s: [`http::HttpClient`],
//! [`http::HttpServer`] and [`ping::Pinger`]. [`lab`] holds the reference addresses and
//! pipeline settings of the simulation tests; [`pcap`] writes captured frames for a look
//! with tcpdump when a test fails.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod host;
pub mod http;
pub mod lab;
pub mod link;
pub mod middlebox;
pub mod net;
pub mod pcap;
pub mod ping;
pub mod time;

pub use host::{App, Host, HostConfig, HostId, HostStats, TcpConfig};
pub use http::{ClientError, ClientState, HttpClient, HttpServer, Request, Response};
pub use link::{Impairments, Link, LinkStats};
pub use middlebox::{BoxStats, Bridge, PipelineBox, Spread};
pub use net::{AppId, Captured, Middlebox, NetStats, Network, Segment, Timeout};
pub use ping::Pinger;
