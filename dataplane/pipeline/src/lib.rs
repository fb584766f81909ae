//! Splicer's packet logic, kept free of DPDK so that unit and simulation tests run
//! with no hugepages, no root and no NIC.
//!
//! A packet travels through the modules in this order:
//!
//! * [`parse`]: length-checked classification of the Ethernet/IPv4 headers;
//! * [`lookup`]: which worker owns the packet's flow;
//! * [`flow`]: the TCP state machines of client connections to virtual servers and of
//!   Splicer's pooled connections to real servers, and the splice between them;
//! * [`balance`]: which real a request goes to (content rules, predictors);
//! * [`rewrite`]: splice translation of TCP/IP headers between a client and a server leg;
//! * [`presence`]: the appliance's own network presence (ARP responder, neighbour
//!   table, ICMP echo);
//! * [`cluster`]: segments of connections another appliance of the cluster owns, sent
//!   on to it;
//! * [`transmit`]: next-hop choice and Ethernet addressing of outgoing packets.
//!
//! Before all of them, on ports configured for it, [`impair`] drops, duplicates, delays
//! and reorders received frames (a test-only stage).
//!
//! [`pipeline::Pipeline`] strings them together for one worker. It never touches a NIC:
//! packets come in as a [`PacketBuf`] and leave through a [`Sink`], which the DPDK worker
//! implements with mbufs and TX bursts and the tests implement with vectors.

#![forbid(unsafe_code)]

pub mod access;
pub mod balance;
pub mod cluster;
pub mod counters;
pub mod flow;
pub mod impair;
pub mod lookup;
pub mod packet;
pub mod parse;
pub mod pipeline;
pub mod presence;
pub mod quality;
pub mod rewrite;
pub mod runtime;
pub mod topology;
pub mod transmit;

pub use balance::{Farm, Real, RealId, RuleRoute, VirtualPolicy};
pub use cluster::PeerState;
pub use counters::{Counter, Gauge, WorkerCounters};
pub use packet::{PacketBuf, Sink};
pub use pipeline::{Pipeline, Settings};
pub use presence::neighbour::NeighbourUpdate;
pub use runtime::Runtime;
pub use topology::{PortSetup, Service, Topology};
