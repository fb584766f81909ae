//! `splicer agent`: the back-end module of TCP handoff, the BTCP_BE of Hewlett-Packard's
//! *Method and system for a modular transmission control protocol (TCP) rare-handoff
//! design in a STREAMS based transmission control protocol/internet protocol (TCP/IP)
//! implementation* (US 7,831,731).
//!
//! Splicer (the front end) completes a client's handshake, reads the request and hands
//! the connection to a back end's agent over the UDP channel of
//! [`splicer_wire::handoff`]. The agent sits between the back end's wire interface
//! (a DPDK `net_af_packet` port on an interface without an address) and its kernel (a
//! `net_tap` exception port that carries the back end's address, with the VIP on
//! `lo`): it bridges every frame both ways unchanged, except
//!
//! * the channel's datagrams, which it answers;
//! * a handed-off connection's set-up: it replays the client's SYN into the kernel,
//!   swallows the kernel's SYN-ACK (keeping its ISN and options), replays the client's
//!   ACK with the request bytes and acknowledges the handoff;
//! * the handed-off connection's segments, which it translates both ways
//!   ([`conn`]), so that the kernel answers the client directly, from the VIP, with
//!   the sequence numbers, timestamps and window scale the client agreed with Splicer.
//!
//! The packet logic ([`Agent`]) does not depend on DPDK and is tested with built
//! frames; [`run`] is the DPDK process around it. docs/HANDOFF.md has the design.

#![forbid(unsafe_code)]

pub mod agent;
pub mod config;
pub mod conn;
pub mod counters;
pub mod frames;
pub mod run;

pub use agent::{Agent, Verdict};
pub use config::{AgentConfig, ConfigError, Settings};
pub use run::run;
