//! What the `show` commands return: plain data gathered by the control core, rendered
//! here as text for people and JSON for programs, and as the `stats ...` log lines.

mod cluster;
mod period;
mod show;
mod stats;
mod table;
#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod tests_support;

pub use cluster::{show_cluster, ClusterPeerRow, ClusterReport};
pub use period::HEARTBEAT_PERIODS;
pub use show::{
    bound_by, rule_match, show_config, show_flows, show_pools, show_ports, show_real, show_rule,
    show_url, show_virtual, show_workers, FlowRow, Levels, PortRow, RealHealthRow, WorkerRow,
};
pub use stats::{
    Counters, ObjectCounters, PoolLevels, PoolLevelsExt, RealPools, RuleHits, Runtime, Section,
    StatsReport,
};
pub use table::{table, table_sections};
