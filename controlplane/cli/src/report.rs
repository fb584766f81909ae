//! What the `show` commands return: plain data gathered by the control core, rendered
//! here as text for people and JSON for programs, and as the `stats ...` log lines.

use crate::protocol::Response;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{json, Value};
use splicer_config::Config;

/// Named counter values in a fixed order (the order of the log lines). Serializes as a
/// JSON object in that order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters(pub Vec<(String, u64)>);

impl Counters {
    /// The value of `name`, 0 when absent.
    pub fn get(&self, name: &str) -> u64 {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map_or(0, |&(_, v)| v)
    }

    /// `self - baseline`, name by name. A value below its baseline (a NIC whose counters
    /// were reset behind our back) shows as 0 rather than wrapping around.
    pub fn since(&self, baseline: &Counters) -> Counters {
        Counters(
            self.0
                .iter()
                .map(|(n, v)| (n.clone(), v.saturating_sub(baseline.get(n))))
                .collect(),
        )
    }

    /// Adds `other` name by name; names `self` does not have yet are appended.
    pub fn add(&mut self, other: &Counters) {
        for (n, v) in &other.0 {
            match self.0.iter_mut().find(|(m, _)| m == n) {
                Some((_, mine)) => *mine = mine.wrapping_add(*v),
                None => self.0.push((n.clone(), *v)),
            }
        }
    }

    /// The sum of several sets.
    pub fn sum<'a>(sets: impl IntoIterator<Item = &'a Counters>) -> Counters {
        let mut total = Counters::default();
        for s in sets {
            total.add(s);
        }
        total
    }

    fn pairs(&self, skip: &[&str]) -> String {
        self.0
            .iter()
            .filter(|(n, _)| !skip.contains(&n.as_str()))
            .map(|(n, v)| format!(" {n}={v}"))
            .collect()
    }
}

impl Serialize for Counters {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (n, v) in &self.0 {
            map.serialize_entry(n, v)?;
        }
        map.end()
    }
}

/// Every statistic of the appliance at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsReport {
    /// Port names, by DPDK port id.
    pub ports: Vec<String>,
    /// The workers' counters: `cells[worker][port]`.
    pub cells: Vec<Vec<Counters>>,
    /// Each worker's gauges (flows, half_open, neighbours).
    pub gauges: Vec<Counters>,
    /// Each port's NIC counters (`rx_packets`, `tx_packets`, `rx_bytes`, ...), or why
    /// they could not be read.
    pub nic: Vec<Result<Counters, String>>,
    /// Free mbufs in the pool.
    pub mempool_available: u64,
    /// Mbufs in use.
    pub mempool_in_use: u64,
}

impl StatsReport {
    /// The counters since `baseline` (an earlier report of the same appliance); gauges
    /// and the mempool are levels and stay as they are.
    pub fn since(&self, baseline: &StatsReport) -> StatsReport {
        let empty = Counters::default();
        let cells = self
            .cells
            .iter()
            .enumerate()
            .map(|(w, row)| {
                row.iter()
                    .enumerate()
                    .map(|(p, c)| {
                        c.since(
                            baseline
                                .cells
                                .get(w)
                                .and_then(|r| r.get(p))
                                .unwrap_or(&empty),
                        )
                    })
                    .collect()
            })
            .collect();
        let nic = self
            .nic
            .iter()
            .enumerate()
            .map(|(p, n)| match (n, baseline.nic.get(p)) {
                (Ok(now), Some(Ok(then))) => Ok(now.since(then)),
                (other, _) => other.clone(),
            })
            .collect();
        StatsReport {
            cells,
            nic,
            ..self.clone()
        }
    }

    /// Every worker on every port.
    pub fn total(&self) -> Counters {
        Counters::sum(self.cells.iter().flatten())
    }

    /// One worker, all ports.
    pub fn worker(&self, w: usize) -> Counters {
        Counters::sum(self.cells.get(w).into_iter().flatten())
    }

    /// One port, all workers.
    pub fn port(&self, p: usize) -> Counters {
        Counters::sum(self.cells.iter().filter_map(|row| row.get(p)))
    }

    /// The gauges summed over the workers.
    pub fn total_gauges(&self) -> Counters {
        Counters::sum(&self.gauges)
    }

    /// The `stats ...` log lines (the format scripts and the end-to-end tests read).
    pub fn log_lines(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "stats total{}{}",
            self.total().pairs(&[]),
            self.total_gauges().pairs(&[])
        )];
        for w in 0..self.cells.len() {
            let gauges = self.gauges.get(w).cloned().unwrap_or_default();
            lines.push(format!(
                "stats worker={w}{}{}",
                self.worker(w).pairs(&[]),
                gauges.pairs(&[])
            ));
        }
        for (p, name) in self.ports.iter().enumerate() {
            // The NIC's own counts replace the workers' rx/tx here: they include what the
            // workers never saw (missed, errors).
            let nic = match self.nic.get(p) {
                Some(Ok(n)) => n.pairs(&[]),
                Some(Err(e)) => format!(" nic_stats_error=\"{e}\""),
                None => String::new(),
            };
            lines.push(format!(
                "stats port={name}{nic}{}",
                self.port(p).pairs(&["rx_packets", "tx_packets"])
            ));
        }
        lines.push(format!(
            "stats mempool available={} in_use={}",
            self.mempool_available, self.mempool_in_use
        ));
        lines
    }

    /// The data of `show stats`.
    pub fn to_json(&self) -> Value {
        let mut total = serde_json::to_value(self.total()).unwrap_or(Value::Null);
        if let (Value::Object(t), Ok(Value::Object(g))) =
            (&mut total, serde_json::to_value(self.total_gauges()))
        {
            t.extend(g);
        }
        json!({
            "total": total,
            "workers": (0..self.cells.len()).map(|w| json!({
                "worker": w,
                "counters": self.worker(w),
                "gauges": self.gauges.get(w).cloned().unwrap_or_default(),
            })).collect::<Vec<_>>(),
            "ports": self.ports.iter().enumerate().map(|(p, name)| json!({
                "name": name,
                "counters": self.port(p),
                "nic": match self.nic.get(p) {
                    Some(Ok(n)) => serde_json::to_value(n).unwrap_or(Value::Null),
                    Some(Err(e)) => json!({ "error": e }),
                    None => Value::Null,
                },
            })).collect::<Vec<_>>(),
            "mempool": { "available": self.mempool_available, "in_use": self.mempool_in_use },
        })
    }

    /// The text of `show stats`: one table of counters (total, per worker, per port),
    /// then the NICs, gauges and mempool.
    pub fn to_text(&self) -> String {
        let total = self.total();
        let workers: Vec<_> = (0..self.cells.len()).map(|w| self.worker(w)).collect();
        let ports: Vec<_> = (0..self.ports.len()).map(|p| self.port(p)).collect();
        let mut headers = vec!["counter".to_string(), "total".to_string()];
        headers.extend((0..workers.len()).map(|w| format!("worker{w}")));
        headers.extend(self.ports.iter().cloned());
        let rows = total
            .0
            .iter()
            .map(|(name, v)| {
                let mut row = vec![name.clone(), v.to_string()];
                row.extend(workers.iter().map(|c| c.get(name).to_string()));
                row.extend(ports.iter().map(|c| c.get(name).to_string()));
                row
            })
            .collect();
        let mut out = table(&headers, rows);

        let nic_names: Vec<String> = self
            .nic
            .iter()
            .find_map(|n| n.as_ref().ok())
            .map(|n| n.0.iter().map(|(k, _)| k.clone()).collect())
            .unwrap_or_default();
        let mut headers = vec!["nic".to_string()];
        headers.extend(self.ports.iter().cloned());
        let rows = nic_names
            .iter()
            .map(|name| {
                let mut row = vec![name.clone()];
                row.extend(self.nic.iter().map(|n| match n {
                    Ok(c) => c.get(name).to_string(),
                    Err(_) => "-".to_string(),
                }));
                row
            })
            .collect();
        out.push('\n');
        out.push_str(&table(&headers, rows));
        for (p, n) in self.nic.iter().enumerate() {
            if let Err(e) = n {
                out.push_str(&format!("nic counters of {}: {e}\n", self.ports[p]));
            }
        }

        let mut headers = vec!["gauge".to_string(), "total".to_string()];
        headers.extend((0..self.gauges.len()).map(|w| format!("worker{w}")));
        let rows = self
            .total_gauges()
            .0
            .iter()
            .map(|(name, v)| {
                let mut row = vec![name.clone(), v.to_string()];
                row.extend(self.gauges.iter().map(|g| g.get(name).to_string()));
                row
            })
            .collect();
        out.push('\n');
        out.push_str(&table(&headers, rows));
        out.push_str(&format!(
            "\nmempool: {} available, {} in use",
            self.mempool_available, self.mempool_in_use
        ));
        out
    }
}

/// A column-aligned table; columns of numbers are right-aligned.
pub fn table(headers: &[String], rows: Vec<Vec<String>>) -> String {
    let columns = headers.len();
    let mut width: Vec<usize> = headers.iter().map(String::len).collect();
    let mut numeric = vec![true; columns];
    for row in &rows {
        for (i, cell) in row.iter().enumerate().take(columns) {
            width[i] = width[i].max(cell.len());
            numeric[i] &= cell.parse::<u64>().is_ok() || cell == "-";
        }
    }
    let line = |cells: &[String]| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate().take(columns) {
            if i > 0 {
                out.push_str("  ");
            }
            if numeric[i] && i > 0 {
                out.push_str(&format!("{cell:>w$}", w = width[i]));
            } else {
                out.push_str(&format!("{cell:<w$}", w = width[i]));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(headers);
    for row in &rows {
        out.push_str(&line(row));
    }
    out
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// One port, as `show ports` lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PortRow {
    /// `port.name`.
    pub name: String,
    /// DPDK port id.
    pub id: u16,
    /// DPDK driver name (`net_tap`, `net_ixgbe`...).
    pub driver: String,
    /// MAC address.
    pub mac: String,
    /// `port.address` (address/prefix).
    pub address: String,
    /// `port.gateway`, if any.
    pub gateway: Option<String>,
    /// Whether the link is up.
    pub link_up: bool,
    /// Packets the NIC received (since start-up or `clear stats`); `None` if unreadable.
    pub rx_packets: Option<u64>,
    /// Packets the NIC sent (since start-up or `clear stats`); `None` if unreadable.
    pub tx_packets: Option<u64>,
}

/// `show ports [name]` over the rows the control core gathered.
pub fn show_ports(rows: Vec<PortRow>, name: Option<&str>) -> Response {
    let rows = match name {
        None => rows,
        Some(n) => {
            let one: Vec<_> = rows.into_iter().filter(|r| r.name == n).collect();
            if one.is_empty() {
                return Response::error(format!("port {n} does not exist"));
            }
            one
        }
    };
    let opt = |v: Option<u64>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
    let text = table(
        &strings(&[
            "name",
            "id",
            "driver",
            "mac",
            "address",
            "gateway",
            "link",
            "rx_packets",
            "tx_packets",
        ]),
        rows.iter()
            .map(|r| {
                vec![
                    r.name.clone(),
                    r.id.to_string(),
                    r.driver.clone(),
                    r.mac.clone(),
                    r.address.clone(),
                    r.gateway.clone().unwrap_or_else(|| "-".to_string()),
                    if r.link_up { "up" } else { "down" }.to_string(),
                    opt(r.rx_packets),
                    opt(r.tx_packets),
                ]
            })
            .collect(),
    );
    Response::with_data(text.trim_end(), json!(rows))
}

/// One worker, as `show workers` lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WorkerRow {
    /// Worker index.
    pub index: usize,
    /// The lcore it runs on.
    pub lcore: u32,
    /// The RX/TX queue it polls on every port.
    pub queue: u16,
    /// Packets it received (since start-up or `clear stats`).
    pub rx_packets: u64,
    /// Packets it sent (since start-up or `clear stats`).
    pub tx_packets: u64,
    /// Client connections in its flow table.
    pub flows: u64,
    /// Of those, half-open.
    pub half_open: u64,
    /// Neighbour entries.
    pub neighbours: u64,
}

/// `show workers` over the rows the control core gathered.
pub fn show_workers(rows: Vec<WorkerRow>) -> Response {
    let text = table(
        &strings(&[
            "worker",
            "lcore",
            "queue",
            "rx_packets",
            "tx_packets",
            "flows",
            "half_open",
            "neighbours",
        ]),
        rows.iter()
            .map(|r| {
                [
                    r.index as u64,
                    u64::from(r.lcore),
                    u64::from(r.queue),
                    r.rx_packets,
                    r.tx_packets,
                    r.flows,
                    r.half_open,
                    r.neighbours,
                ]
                .iter()
                .map(u64::to_string)
                .collect()
            })
            .collect(),
    );
    Response::with_data(text.trim_end(), json!(rows))
}

/// `show virtual [name]`, from the running configuration.
pub fn show_virtual(config: &Config, name: Option<&str>) -> Response {
    let mut rows = Vec::new();
    for (i, v) in config.virtuals.iter().enumerate() {
        if name.is_some_and(|n| n != v.name) {
            continue;
        }
        rows.push(json!({
            "name": v.name,
            "address": v.address.to_string(),
            "port": config.ports[config.virtual_port_index(i)].name,
            "max_request_head": v.max_request_head.to_string(),
            "max_request_head_bytes": v.max_request_head.bytes(),
        }));
    }
    if let (Some(n), true) = (name, rows.is_empty()) {
        return Response::error(format!("virtual {n} does not exist"));
    }
    let cell = |r: &Value, k: &str| match &r[k] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let text = if rows.is_empty() {
        "no virtual server is configured".to_string()
    } else {
        table(
            &strings(&["name", "address", "port", "max_request_head"]),
            rows.iter()
                .map(|r| {
                    ["name", "address", "port", "max_request_head"]
                        .iter()
                        .map(|k| cell(r, k))
                        .collect()
                })
                .collect(),
        )
        .trim_end()
        .to_string()
    };
    Response::with_data(text, Value::Array(rows))
}

/// `show config`: the TOML text, and the configuration as JSON data.
pub fn show_config(config: &Config) -> Response {
    match toml::to_string(config) {
        Ok(text) => Response::with_data(
            text.trim_end(),
            serde_json::to_value(config).unwrap_or(Value::Null),
        ),
        Err(e) => Response::error(format!("cannot write the configuration as TOML: {e}")),
    }
}

/// A sample report shared by this module's and the metrics' tests.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;

    pub(crate) fn c(pairs: &[(&str, u64)]) -> Counters {
        Counters(pairs.iter().map(|&(n, v)| (n.to_string(), v)).collect())
    }

    pub(crate) fn sample() -> StatsReport {
        StatsReport {
            ports: vec!["outside".into(), "inside".into()],
            cells: vec![
                vec![
                    c(&[
                        ("rx_packets", 10),
                        ("tx_packets", 8),
                        ("drop_not_for_us", 2),
                    ]),
                    c(&[("rx_packets", 1), ("tx_packets", 1), ("drop_not_for_us", 0)]),
                ],
                vec![
                    c(&[("rx_packets", 5), ("tx_packets", 5), ("drop_not_for_us", 0)]),
                    c(&[("rx_packets", 0), ("tx_packets", 0), ("drop_not_for_us", 1)]),
                ],
            ],
            gauges: vec![
                c(&[("flows", 3), ("half_open", 1), ("neighbours", 2)]),
                c(&[("flows", 1), ("half_open", 0), ("neighbours", 1)]),
            ],
            nic: vec![
                Ok(c(&[
                    ("rx_packets", 16),
                    ("tx_packets", 13),
                    ("rx_bytes", 999),
                ])),
                Err("not supported".into()),
            ],
            mempool_available: 1000,
            mempool_in_use: 24,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::sample;
    use super::*;

    #[test]
    fn sums() {
        let r = sample();
        assert_eq!(r.total().get("rx_packets"), 16);
        assert_eq!(r.worker(1).get("tx_packets"), 5);
        assert_eq!(r.port(1).get("drop_not_for_us"), 1);
        assert_eq!(r.total_gauges().get("flows"), 4);
        assert_eq!(r.total().get("no_such_counter"), 0);
    }

    #[test]
    fn since_subtracts_counters_not_gauges() {
        let then = sample();
        let mut now = sample();
        now.cells[0][0].0[0].1 = 15;
        now.gauges[0].0[0].1 = 7;
        if let Ok(n) = &mut now.nic[0] {
            n.0[0].1 = 20;
        }
        let d = now.since(&then);
        assert_eq!(d.total().get("rx_packets"), 5);
        assert_eq!(d.total().get("tx_packets"), 0);
        assert_eq!(d.gauges[0].get("flows"), 7);
        assert_eq!(d.nic[0].as_ref().unwrap().get("rx_packets"), 4);
        assert!(d.nic[1].is_err());
        assert_eq!(d.mempool_in_use, 24);
        // A counter below its baseline shows 0, never a huge wrapped value.
        let back = then.since(&now);
        assert_eq!(back.total().get("rx_packets"), 0);
        assert_eq!(back.cells[0][0].get("rx_packets"), 0);
    }

    #[test]
    fn log_lines_keep_their_format() {
        let lines = sample().log_lines();
        assert_eq!(
            lines,
            vec![
                "stats total rx_packets=16 tx_packets=14 drop_not_for_us=3 flows=4 half_open=1 neighbours=3",
                "stats worker=0 rx_packets=11 tx_packets=9 drop_not_for_us=2 flows=3 half_open=1 neighbours=2",
                "stats worker=1 rx_packets=5 tx_packets=5 drop_not_for_us=1 flows=1 half_open=0 neighbours=1",
                "stats port=outside rx_packets=16 tx_packets=13 rx_bytes=999 drop_not_for_us=2",
                "stats port=inside nic_stats_error=\"not supported\" drop_not_for_us=1",
                "stats mempool available=1000 in_use=24",
            ]
        );
    }

    #[test]
    fn stats_json_and_text() {
        let r = sample();
        let j = r.to_json();
        assert_eq!(j["total"]["rx_packets"], 16);
        assert_eq!(j["total"]["flows"], 4);
        assert_eq!(j["workers"][1]["counters"]["tx_packets"], 5);
        assert_eq!(j["workers"][0]["gauges"]["half_open"], 1);
        assert_eq!(j["ports"][0]["name"], "outside");
        assert_eq!(j["ports"][0]["nic"]["rx_bytes"], 999);
        assert_eq!(j["ports"][1]["nic"]["error"], "not supported");
        assert_eq!(j["mempool"]["in_use"], 24);
        let text = r.to_text();
        let row = text
            .lines()
            .find(|l| l.starts_with("drop_not_for_us"))
            .unwrap();
        let cells: Vec<_> = row.split_whitespace().collect();
        assert_eq!(cells, ["drop_not_for_us", "3", "2", "1", "2", "1"]);
        assert!(text.lines().next().unwrap().starts_with("counter"));
        assert!(text.contains("nic counters of inside: not supported"));
        assert!(text.ends_with("mempool: 1000 available, 24 in use"));
    }

    #[test]
    fn table_alignment() {
        let t = table(
            &strings(&["name", "n"]),
            vec![strings(&["a", "5"]), strings(&["bb", "100"])],
        );
        assert_eq!(t, "name    n\na       5\nbb    100\n");
    }

    fn port(name: &str) -> PortRow {
        PortRow {
            name: name.into(),
            id: 0,
            driver: "net_tap".into(),
            mac: "02:00:00:00:00:01".into(),
            address: "198.18.0.1/24".into(),
            gateway: None,
            link_up: true,
            rx_packets: Some(3),
            tx_packets: None,
        }
    }

    #[test]
    fn ports_and_workers() {
        let r = show_ports(vec![port("outside"), port("inside")], None);
        assert!(r.ok);
        assert_eq!(r.data[1]["name"], "inside");
        assert_eq!(r.data[0]["tx_packets"], Value::Null);
        assert!(
            r.text.contains("net_tap") && r.text.contains(" up "),
            "{}",
            r.text
        );
        let r = show_ports(vec![port("outside"), port("inside")], Some("inside"));
        assert_eq!(r.data.as_array().unwrap().len(), 1);
        let r = show_ports(vec![port("outside")], Some("dmz"));
        assert_eq!(r, Response::error("port dmz does not exist"));

        let r = show_workers(vec![WorkerRow {
            index: 0,
            lcore: 1,
            queue: 0,
            rx_packets: 7,
            tx_packets: 6,
            flows: 2,
            half_open: 1,
            neighbours: 3,
        }]);
        assert_eq!(r.data[0]["lcore"], 1);
        assert_eq!(
            r.text
                .lines()
                .nth(1)
                .unwrap()
                .split_whitespace()
                .collect::<Vec<_>>(),
            ["0", "1", "0", "7", "6", "2", "1", "3"]
        );
    }

    fn config() -> Config {
        Config::from_toml_str(
            r#"
[dataplane]
eal = ["-l", "0-1"]
[[port]]
name = "outside"
address = "198.18.0.1/24"
[[port]]
name = "inside"
address = "198.19.0.1/24"
[[virtual]]
name = "www"
address = "198.18.0.100:80"
[[virtual]]
name = "api"
address = "203.0.113.5:8080"
port = "inside"
max_request_head = "4KiB"
"#,
        )
        .unwrap()
    }

    #[test]
    fn virtuals() {
        let c = config();
        let all = show_virtual(&c, None);
        assert!(all.ok);
        assert_eq!(all.data.as_array().unwrap().len(), 2);
        let api = show_virtual(&c, Some("api"));
        assert_eq!(api.data[0]["port"], "inside");
        assert_eq!(api.data[0]["max_request_head"], "4KiB");
        assert_eq!(api.data[0]["max_request_head_bytes"], 4096);
        assert!(api.text.contains("203.0.113.5:8080"), "{}", api.text);
        assert_eq!(
            show_virtual(&c, Some("www2")),
            Response::error("virtual www2 does not exist")
        );
        let mut none = c.clone();
        none.virtuals.clear();
        assert_eq!(
            show_virtual(&none, None).text,
            "no virtual server is configured"
        );
        assert_eq!(
            show_virtual(&none, Some("www")),
            Response::error("virtual www does not exist")
        );
    }

    #[test]
    fn config_round_trips_through_show_config() {
        let c = config();
        let r = show_config(&c);
        assert!(r.ok);
        assert_eq!(Config::from_toml_str(&r.text).unwrap(), c);
        assert_eq!(r.data["dataplane"]["workers"], 1);
    }
}
