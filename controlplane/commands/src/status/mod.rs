//! The status page (`GET /` on the metrics listener) and its data (`GET /status.json`):
//! in the spirit of HAProxy's stats page, one view of every virtual, real, worker and
//! port with their states, levels and rates.
//!
//! [`Status::build`] gathers the figures from what the control core already has (the
//! running configuration, a statistics report, the reals' health, the queue depths);
//! rates come from the difference of the control core's last two periodic snapshots
//! ([`Rates`]), so a page shows the same rates however often it is loaded. [`html`]
//! renders it; everything taken from the configuration is HTML-escaped there.
//!
//! The JSON is [`Status`] serialised; its schema is documented in docs/OPERATIONS.md and
//! versioned by [`SCHEMA`].

pub mod html;
#[cfg(test)]
mod tests;

use crate::report::{bound_by, Counters, Levels, RealHealthRow, RealPools, StatsReport};
use serde::Serialize;
use splicer_config::{Config, ServiceState};
use std::collections::HashMap;

/// The version of `/status.json`'s layout: raised when a field changes meaning or goes.
pub const SCHEMA: u32 = 1;

/// The counter difference between two snapshots, and the seconds between them.
#[derive(Debug, Clone)]
pub struct Rates {
    /// The later snapshot's counters since the earlier one ([`StatsReport::since`]).
    pub delta: StatsReport,
    /// Seconds between the two snapshots (> 0).
    pub seconds: f64,
}

impl Rates {
    /// `count` over the interval, per second, to one decimal.
    fn per_second(&self, count: u64) -> f64 {
        round1(count as f64 / self.seconds)
    }
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// What the page is built from.
pub struct StatusInput<'a> {
    /// The running configuration.
    pub config: &'a Config,
    /// The raw counters now (totals since start, as the metrics show them).
    pub report: &'a StatsReport,
    /// The rates, once the control core has two snapshots.
    pub rates: Option<&'a Rates>,
    /// The health of every real (a real without a row is `UP`).
    pub health: &'a [RealHealthRow],
    /// Queue depths of the virtuals.
    pub levels: &'a Levels,
    /// The lcore of each worker.
    pub lcores: &'a [u32],
    /// Splicer's version.
    pub version: &'a str,
    /// Seconds since start-up.
    pub uptime_secs: u64,
    /// Start-up time, seconds since the Unix epoch.
    pub started_unix: u64,
    /// Now, seconds since the Unix epoch.
    pub now_unix: u64,
}

/// Everything the page shows (and `/status.json` returns).
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// [`SCHEMA`].
    pub schema: u32,
    pub version: String,
    pub uptime_s: u64,
    pub started_unix: u64,
    pub now_unix: u64,
    /// Seconds the rates are measured over (`null` until two snapshots exist).
    pub rate_interval_s: Option<f64>,
    pub totals: Totals,
    pub virtuals: Vec<VirtualStatus>,
    pub reals: Vec<RealStatus>,
    pub workers: Vec<WorkerStatus>,
    pub ports: Vec<PortStatus>,
}

/// The whole appliance.
#[derive(Debug, Clone, Serialize)]
pub struct Totals {
    pub requests_total: u64,
    pub requests_per_s: Option<f64>,
    pub errors_total: u64,
    pub errors_per_s: Option<f64>,
    pub flows: u64,
    pub half_open: u64,
    pub rx_packets_per_s: Option<f64>,
    pub tx_packets_per_s: Option<f64>,
    pub drops_total: u64,
    pub mempool_in_use: u64,
    pub mempool_available: u64,
}

/// One virtual or DIP.
#[derive(Debug, Clone, Serialize)]
pub struct VirtualStatus {
    pub name: String,
    /// `virtual` or `dip`.
    pub kind: String,
    pub address: String,
    pub mode: String,
    /// `null` for a DIP.
    pub predictor: Option<String>,
    /// The admin state (`in-service`, `oos`, ...).
    pub state: String,
    pub requests_total: u64,
    pub requests_per_s: Option<f64>,
    /// Requests on the reals it binds (a real bound by two virtuals counts in both).
    pub in_flight: u64,
    /// Requests waiting in its queue (`null` before the workers publish it).
    pub queue: Option<u64>,
    /// Requests answered with an error of Splicer's own: `503` for want of a server
    /// (queue overflows and timeouts included), or refused (4xx/5xx).
    pub errors_total: u64,
    pub errors_per_s: Option<f64>,
}

/// One real.
#[derive(Debug, Clone, Serialize)]
pub struct RealStatus {
    pub name: String,
    pub address: String,
    /// `UP`, `DOWN`, `EJECTED` or `SLOWSTART`.
    pub health: String,
    pub health_reason: String,
    /// Seconds in that health state (`null` for a real that was always up).
    pub health_since_s: Option<u64>,
    /// The admin state (`in-service`, `oos`, `maintenance`, `sticky`, `failed`).
    pub admin_state: String,
    /// What the page shows: the health, or the admin state when that keeps the real
    /// from taking requests (`DISABLED`: `oos`, `maintenance`, `failed`).
    pub status: String,
    pub weight: u16,
    pub tier: u16,
    pub backup: Option<String>,
    /// `virtual` or `virtual/rule` for each that binds it.
    pub bound_by: Vec<String>,
    pub in_flight: u64,
    pub queue: u64,
    pub ttfb_ms: f64,
    pub total_ms: f64,
    pub loss_percent: f64,
    /// The workers' own count of requests ended over the last whole second (the figure
    /// `show real` shows).
    pub requests_per_second: u64,
    pub requests_total: u64,
    /// Connections reset, timed out or cut short.
    pub server_errors_total: u64,
    pub server_errors_per_s: Option<f64>,
    pub pool_free: u64,
    pub pool_busy: u64,
    pub pool_opening: u64,
    pub pool_conns: u64,
}

/// One worker.
#[derive(Debug, Clone, Serialize)]
pub struct WorkerStatus {
    pub index: usize,
    pub lcore: Option<u32>,
    pub flows: u64,
    pub rx_packets_per_s: Option<f64>,
    pub tx_packets_per_s: Option<f64>,
    /// Share of its loop's cycles spent on rounds that found work.
    pub busy_percent: Option<f64>,
}

/// One port.
#[derive(Debug, Clone, Serialize)]
pub struct PortStatus {
    pub name: String,
    pub rx_packets_per_s: Option<f64>,
    pub tx_packets_per_s: Option<f64>,
    /// From the NIC's counters (`null` when the driver has none).
    pub rx_bytes_per_s: Option<f64>,
    pub tx_bytes_per_s: Option<f64>,
    pub rx_missed_total: Option<u64>,
}

/// The counters that count a virtual's requests answered with an error of Splicer's own
/// (`no_server` includes the queue's overflows and timeouts: they are answered 503 too).
const VIRTUAL_ERRORS: [&str; 2] = ["no_server", "refused"];

fn object<'a>(rows: &'a [crate::report::ObjectCounters], name: &str) -> Option<&'a Counters> {
    rows.iter().find(|o| o.name == name).map(|o| &o.counters)
}

fn sum_of(c: Option<&Counters>, names: &[&str]) -> u64 {
    c.map_or(0, |c| names.iter().map(|n| c.get(n)).sum())
}

impl Status {
    /// Gathers the page's figures.
    pub fn build(input: &StatusInput<'_>) -> Status {
        let report = input.report;
        let rates = input.rates;
        let rate = |f: &dyn Fn(&StatsReport) -> u64| rates.map(|r| r.per_second(f(&r.delta)));
        let pools: HashMap<&str, &RealPools> =
            report.pools.iter().map(|p| (p.name.as_str(), p)).collect();

        let mut virtuals = Vec::new();
        let mut add_virtual = |name: String,
                               kind: &str,
                               address: String,
                               mode: &str,
                               predictor: Option<String>,
                               state: ServiceState,
                               reals: Vec<String>| {
            let total = |r: &StatsReport, names: &[&str]| sum_of(object(&r.virtuals, &name), names);
            let in_flight = reals
                .iter()
                .filter_map(|r| pools.get(r.as_str()))
                .map(|p| p.quality_total().in_flight)
                .sum();
            virtuals.push(VirtualStatus {
                requests_total: total(report, &["requests"]),
                requests_per_s: rate(&|r| total(r, &["requests"])),
                errors_total: total(report, &VIRTUAL_ERRORS),
                errors_per_s: rate(&|r| total(r, &VIRTUAL_ERRORS)),
                queue: input.levels.queued.get(&name).copied(),
                in_flight,
                name,
                kind: kind.to_string(),
                address,
                mode: mode.to_string(),
                predictor,
                state: state.name().to_string(),
            });
        };
        for v in &input.config.virtuals {
            let mut reals: Vec<String> = v.bind.clone();
            for rule in &v.rules {
                reals.extend(rule.bind.iter().cloned());
            }
            reals.sort();
            reals.dedup();
            add_virtual(
                v.name.clone(),
                "virtual",
                v.address.to_string(),
                v.mode.name(),
                Some(v.predictor.name().to_string()),
                v.state,
                reals,
            );
        }
        for d in &input.config.dips {
            let real = input
                .config
                .reals
                .iter()
                .find(|r| *r.address.ip() == d.address);
            add_virtual(
                d.address.to_string(),
                "dip",
                real.map_or_else(
                    || d.address.to_string(),
                    |r| format!("{}:{}", d.address, r.address.port()),
                ),
                "splice",
                None,
                real.map_or(ServiceState::InService, |r| r.state),
                real.map(|r| r.name.clone()).into_iter().collect(),
            );
        }

        let reals = input
            .config
            .reals
            .iter()
            .map(|r| {
                let h = input.health.iter().find(|h| h.name == r.name);
                let health = h.map_or("UP", |h| h.state.as_str()).to_string();
                let pool = pools.get(r.name.as_str());
                let q = pool.map(|p| p.quality_total()).unwrap_or_default();
                let levels = pool.map(|p| p.total()).unwrap_or_default();
                let counters =
                    |rep: &StatsReport, n: &str| sum_of(object(&rep.reals, &r.name), &[n]);
                let disabled = matches!(
                    r.state,
                    ServiceState::OutOfService | ServiceState::Maintenance | ServiceState::Failed
                );
                RealStatus {
                    name: r.name.clone(),
                    address: r.address.to_string(),
                    status: if disabled {
                        "DISABLED".to_string()
                    } else {
                        health.clone()
                    },
                    health,
                    health_reason: h.map(|h| h.reason.clone()).unwrap_or_default(),
                    health_since_s: h.map(|h| h.since_secs),
                    admin_state: r.state.name().to_string(),
                    weight: r.weight,
                    tier: r.tier,
                    backup: r.backup.clone(),
                    bound_by: bound_by(input.config, &r.name)
                        .into_iter()
                        .map(|(v, rule)| match rule {
                            Some(rule) => format!("{v}/{rule}"),
                            None => v.to_string(),
                        })
                        .collect(),
                    in_flight: q.in_flight,
                    queue: q.queue,
                    ttfb_ms: q.ttfb_us as f64 / 1000.0,
                    total_ms: q.total_us as f64 / 1000.0,
                    loss_percent: q.loss_ppm as f64 / 10_000.0,
                    requests_per_second: q.per_second,
                    requests_total: counters(report, "requests"),
                    server_errors_total: counters(report, "server_errors"),
                    server_errors_per_s: rate(&|rep| counters(rep, "server_errors")),
                    pool_free: levels.free,
                    pool_busy: levels.busy,
                    pool_opening: levels.opening,
                    pool_conns: levels.conns,
                }
            })
            .collect();

        let workers = (0..report.cells.len())
            .map(|w| WorkerStatus {
                index: w,
                lcore: input.lcores.get(w).copied(),
                flows: report.gauges.get(w).map_or(0, |g| g.get("flows")),
                rx_packets_per_s: rate(&|r| r.worker(w).get("rx_packets")),
                tx_packets_per_s: rate(&|r| r.worker(w).get("tx_packets")),
                busy_percent: rates.and_then(|r| {
                    let rt = r.delta.runtime.get(w)?;
                    (rt.cycles > 0)
                        .then(|| round1(rt.busy_cycles as f64 * 100.0 / rt.cycles as f64))
                }),
            })
            .collect();

        let ports = report
            .ports
            .iter()
            .enumerate()
            .map(|(p, name)| {
                let nic_rate = |n: &str| {
                    rates.and_then(|r| {
                        let c = r.delta.nic.get(p)?.as_ref().ok()?;
                        Some(r.per_second(c.get(n)))
                    })
                };
                PortStatus {
                    name: name.clone(),
                    rx_packets_per_s: rate(&|r| r.port(p).get("rx_packets")),
                    tx_packets_per_s: rate(&|r| r.port(p).get("tx_packets")),
                    rx_bytes_per_s: nic_rate("rx_bytes"),
                    tx_bytes_per_s: nic_rate("tx_bytes"),
                    rx_missed_total: report
                        .nic
                        .get(p)
                        .and_then(|n| n.as_ref().ok())
                        .map(|c| c.get("rx_missed")),
                }
            })
            .collect();

        let all_virtuals = |r: &StatsReport, names: &[&str]| -> u64 {
            r.virtuals
                .iter()
                .map(|o| sum_of(Some(&o.counters), names))
                .sum()
        };
        let drops = |r: &StatsReport| -> u64 {
            r.total()
                .0
                .iter()
                .filter(|(n, _)| n.starts_with("drop_"))
                .map(|(_, v)| v)
                .sum()
        };
        let gauges = report.total_gauges();
        let totals = Totals {
            requests_total: all_virtuals(report, &["requests"]),
            requests_per_s: rate(&|r| all_virtuals(r, &["requests"])),
            errors_total: all_virtuals(report, &VIRTUAL_ERRORS),
            errors_per_s: rate(&|r| all_virtuals(r, &VIRTUAL_ERRORS)),
            flows: gauges.get("flows"),
            half_open: gauges.get("half_open"),
            rx_packets_per_s: rate(&|r| r.total().get("rx_packets")),
            tx_packets_per_s: rate(&|r| r.total().get("tx_packets")),
            drops_total: drops(report),
            mempool_in_use: report.mempool_in_use,
            mempool_available: report.mempool_available,
        };

        Status {
            schema: SCHEMA,
            version: input.version.to_string(),
            uptime_s: input.uptime_secs,
            started_unix: input.started_unix,
            now_unix: input.now_unix,
            rate_interval_s: rates.map(|r| round1(r.seconds)),
            totals,
            virtuals,
            reals,
            workers,
            ports,
        }
    }

    /// `/status.json`'s body.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_else(|e| {
            // Only numbers and strings: serialising cannot fail; say so if it ever did.
            format!("{{\"error\":\"{e}\"}}")
        });
        text.push('\n');
        text
    }
}
