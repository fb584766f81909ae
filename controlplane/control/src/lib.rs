//! The control core: brings the appliance up from a validated configuration, runs on the
//! main lcore while the workers poll, logs statistics, serves the control socket and the
//! metrics endpoint, and takes everything down again in the order DPDK needs.

#![forbid(unsafe_code)]

mod access_log;
mod announce;
mod cluster;
mod health;
mod http;
mod live;
mod reload;
mod requests;
mod server;
mod stall;
mod startup;
mod stats;
mod watch;

pub use announce::withdraw;
/// For threads the binary starts before the EAL (its signal thread): see its documentation.
pub use dpdk_bindings::eal::keep_packet_signals_off_this_thread;
pub use requests::Requests;
pub use server::{Hooks, LogLevelHook};
pub use startup::{run, run_with, RunError};
