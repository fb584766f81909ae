//! The control core: brings the appliance up from a validated configuration, runs on the
//! main lcore while the workers poll, logs statistics, and takes everything down again in
//! the order DPDK needs.

#![forbid(unsafe_code)]

mod startup;
mod stats;

pub use startup::{run, RunError};
