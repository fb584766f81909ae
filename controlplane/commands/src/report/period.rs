//! The periodic statistics log: per period, one short line for the whole appliance, each
//! worker and each port, with its rates and the counters that changed in the period
//! (docs/COUNTERS.md, "The stats log"). A line with nothing changed is left out; an
//! appliance idle for `HEARTBEAT_PERIODS` periods says so in one line. The full counters
//! stay in `show stats`, the metrics and the final `stats` lines at stop
//! ([`StatsReport::log_lines`]).

use super::stats::{Counters, StatsReport};
use std::fmt::Write as _;

/// Periods without a line after which an idle appliance logs `stats total idle`.
pub const HEARTBEAT_PERIODS: u32 = 6;

/// `cur`'s counters whose value differs from `prev`'s, as ` name=value` (the value now,
/// since start-up or `clear stats`, not the difference: the last line that names a
/// counter always holds its value).
fn changed(out: &mut String, cur: &Counters, prev: &Counters, skip: &[&str]) -> bool {
    let mut any = false;
    for (n, v) in &cur.0 {
        if skip.contains(&n.as_str()) || prev.0.iter().any(|(m, p)| m == n && p == v) {
            continue;
        }
        // A counter that appears for the first time at 0 has not changed.
        if *v == 0 && !prev.0.iter().any(|(m, _)| m == n) {
            continue;
        }
        let _ = write!(out, " {n}={v}");
        any = true;
    }
    any
}

/// ` pps_in=.. pps_out=.. req_s=.. conns_s=..` from the differences of `cur` and `prev`
/// over `secs` seconds (rounded; `req_s` and `conns_s` only where the counters exist).
fn rates(out: &mut String, cur: &Counters, prev: &Counters, secs: f64) {
    let rate = |name: &str| {
        let d = cur.get(name).saturating_sub(prev.get(name));
        (d as f64 / secs.max(1e-3)).round() as u64
    };
    let _ = write!(
        out,
        " pps_in={} pps_out={}",
        rate("rx_packets"),
        rate("tx_packets")
    );
    if cur.0.iter().any(|(n, _)| n == "http_requests") {
        let _ = write!(
            out,
            " req_s={} conns_s={}",
            rate("http_requests"),
            rate("tcp_established")
        );
    }
}

fn with_gauges(counters: Counters, gauges: &Counters) -> Counters {
    let mut c = counters;
    c.add(gauges);
    c
}

impl StatsReport {
    /// The lines of one period of the stats log, `prev` being the report at the start of
    /// the period, `secs` its length: `stats total ...`, `stats worker=N ...` and `stats
    /// port=NAME ...`, each only when one of its counters or gauges changed.
    pub fn period_lines(&self, prev: &StatsReport, secs: f64) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line =
            |head: String, cur: &Counters, old: &Counters, rate_src: (&Counters, &Counters)| {
                let mut tail = String::new();
                if changed(&mut tail, cur, old, &[]) {
                    let mut l = head;
                    rates(&mut l, rate_src.0, rate_src.1, secs);
                    l.push_str(&tail);
                    lines.push(l);
                }
            };
        let (cur, old) = (
            with_gauges(self.total(), &self.total_gauges()),
            with_gauges(prev.total(), &prev.total_gauges()),
        );
        line("stats total".to_string(), &cur, &old, (&cur, &old));
        for w in 0..self.cells.len() {
            let empty = Counters::default();
            let cur = with_gauges(self.worker(w), self.gauges.get(w).unwrap_or(&empty));
            let old = with_gauges(prev.worker(w), prev.gauges.get(w).unwrap_or(&empty));
            line(format!("stats worker={w}"), &cur, &old, (&cur, &old));
        }
        for (p, name) in self.ports.iter().enumerate() {
            // The NIC's own counts, when it has them, are the port's packets in and out
            // (they include what the workers never saw).
            let nic = |r: &StatsReport| match r.nic.get(p) {
                Some(Ok(n)) => n.clone(),
                _ => Counters::default(),
            };
            let (cur_nic, old_nic) = (nic(self), nic(prev));
            let mut cur = cur_nic.clone();
            let mut old = old_nic.clone();
            let has_nic = !cur_nic.0.is_empty();
            let skip: &[&str] = if has_nic {
                &["rx_packets", "tx_packets"]
            } else {
                &[]
            };
            let strip = |c: Counters| {
                Counters(
                    c.0.into_iter()
                        .filter(|(n, _)| !skip.contains(&n.as_str()))
                        .collect(),
                )
            };
            cur.add(&strip(self.port(p)));
            old.add(&strip(prev.port(p)));
            let (rc, ro) = if has_nic {
                (cur_nic, old_nic)
            } else {
                (self.port(p), prev.port(p))
            };
            line(format!("stats port={name}"), &cur, &old, (&rc, &ro));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters(pairs: &[(&str, u64)]) -> Counters {
        Counters(pairs.iter().map(|&(n, v)| (n.to_string(), v)).collect())
    }

    fn report(rx: u64, http: u64, drops: u64, flows: u64) -> StatsReport {
        StatsReport {
            ports: vec!["outside".into(), "inside".into()],
            cells: vec![vec![
                counters(&[
                    ("rx_packets", rx),
                    ("tx_packets", rx),
                    ("http_requests", http),
                    ("tcp_established", http),
                    ("drop_not_for_us", drops),
                ]),
                counters(&[
                    ("rx_packets", 0),
                    ("tx_packets", 0),
                    ("http_requests", 0),
                    ("tcp_established", 0),
                    ("drop_not_for_us", 0),
                ]),
            ]],
            gauges: vec![counters(&[("flows", flows), ("half_open", 0)])],
            nic: vec![
                Err("not supported".into()),
                Ok(counters(&[("rx_packets", 7)])),
            ],
            ..StatsReport::default()
        }
    }

    #[test]
    fn only_rates_and_what_changed() {
        let prev = report(100, 10, 3, 2);
        let now = report(300, 30, 3, 2);
        assert_eq!(
            now.period_lines(&prev, 10.0),
            vec![
                "stats total pps_in=20 pps_out=20 req_s=2 conns_s=2 rx_packets=300 tx_packets=300 http_requests=30 tcp_established=30",
                "stats worker=0 pps_in=20 pps_out=20 req_s=2 conns_s=2 rx_packets=300 tx_packets=300 http_requests=30 tcp_established=30",
                "stats port=outside pps_in=20 pps_out=20 req_s=2 conns_s=2 rx_packets=300 tx_packets=300 http_requests=30 tcp_established=30",
            ],
            "unchanged drops, gauges and the idle port are left out"
        );
    }

    #[test]
    fn nothing_changed_nothing_logged_and_a_drop_to_zero_is_a_change() {
        let r = report(100, 10, 3, 2);
        assert!(r.period_lines(&r, 10.0).is_empty());
        // `clear stats`: counters back to 0 are a change.
        let cleared = report(0, 0, 0, 2);
        let lines = cleared.period_lines(&r, 10.0);
        assert!(lines[0].contains(" drop_not_for_us=0"), "{lines:?}");
        assert!(lines[0].contains(" pps_in=0"), "{lines:?}");
        // A gauge that moved is a change.
        let more = report(100, 10, 3, 5);
        assert_eq!(
            more.period_lines(&r, 10.0)[0],
            "stats total pps_in=0 pps_out=0 req_s=0 conns_s=0 flows=5"
        );
    }
}
