//! `splicer-bench`: Splicer's packet-level benchmark (issue 5, part 1).
//!
//! A verifying traffic generator on the main lcore and the code under test on a worker
//! lcore, connected by a cross-wired pair of `net_ring` ports: no kernel, no NIC. Every
//! packet that comes back is checked completely, so speed can never come from skipping
//! work. See perf/README.md for the scenarios, the command line and the JSON line.
//!
//! * [`plan`]: addresses, ports and sequence numbers of each flow on both legs;
//! * [`packet`]: frame templates; [`verify`]: what a failed check reports;
//! * [`baseline`]: the bare rewrite loop and its traffic (the generator-fed baseline);
//! * [`selfloop`]: the self-looped baseline, the same work with no generator;
//! * [`driver`]: the worker's poll loop and the generator's closed loop;
//! * [`bed`]: EAL, mempool, rings and ports;
//! * [`splice`]: the scenarios that run the real worker pipeline (`established`,
//!   `lifecycle`, `keepalive`): its forwarder, the generator playing clients and
//!   servers, and their loop;
//! * [`scenario`]: the scenarios and the runner; [`report`]: the JSON line;
//! * [`hugepages`]: the `--reserve-hugepages` option;
//! * [`workers`]: `--workers N`, the runs of one, then N workers and their comparison.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod baseline;
pub mod bed;
pub mod driver;
pub mod hugepages;
pub mod packet;
pub mod plan;
pub mod report;
pub mod scenario;
pub mod selfloop;
pub mod splice;
pub mod verify;
pub mod workers;

use std::fmt;

/// Why a benchmark run failed.
#[derive(Debug, Clone, PartialEq)]
pub enum BenchError {
    /// A returned packet was not what the worker promised.
    Verify(verify::VerifyError),
    /// Packets went missing or the worker refused some.
    Lost(String),
    /// The command line asked for something impossible.
    Usage(String),
    /// EAL, hugepages, mempool, ports or lcores could not be set up.
    Setup(String),
}

impl BenchError {
    /// The process exit code: 1 for a failed verification (the run's result is wrong),
    /// 2 for a usage or set-up problem (nothing was measured).
    pub fn exit_code(&self) -> u8 {
        match self {
            BenchError::Verify(_) | BenchError::Lost(_) => 1,
            BenchError::Usage(_) | BenchError::Setup(_) => 2,
        }
    }
}

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BenchError::Verify(e) => write!(f, "verification failed: {e}"),
            BenchError::Lost(m) => write!(f, "verification failed: {m}"),
            BenchError::Usage(m) => write!(f, "{m}"),
            BenchError::Setup(m) => write!(f, "set-up failed: {m}"),
        }
    }
}

impl std::error::Error for BenchError {}
