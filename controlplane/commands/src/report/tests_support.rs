//! A sample report shared by this module's and the metrics' tests.
use super::*;
use splicer_pipeline::quality::RealQuality;

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
        pools: vec![
            RealPools {
                name: "s1".into(),
                address: "198.19.0.11:80".into(),
                pool: 4,
                maxconns: 64,
                workers: vec![
                    PoolLevels {
                        free: 3,
                        busy: 2,
                        opening: 1,
                        conns: 7,
                        inflight: 0,
                    },
                    PoolLevels {
                        free: 4,
                        busy: 0,
                        opening: 0,
                        conns: 4,
                        inflight: 0,
                    },
                ],
                quality: vec![
                    RealQuality {
                        in_flight: 2,
                        queue: 0,
                        ttfb_us: 1_500,
                        total_us: 3_000,
                        loss_ppm: 20_000,
                        per_second: 40,
                        count: 3,
                        sum_us: 9_000,
                        buckets: [0, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                        ..Default::default()
                    },
                    RealQuality {
                        ttfb_us: 3_500,
                        total_us: 5_000,
                        per_second: 10,
                        count: 1,
                        sum_us: 5_000,
                        buckets: [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                        ..Default::default()
                    },
                ],
            },
            RealPools {
                name: "img.1".into(),
                address: "198.19.0.12:8080".into(),
                pool: 0,
                maxconns: 2,
                workers: vec![
                    PoolLevels {
                        free: 0,
                        busy: 2,
                        opening: 0,
                        conns: 2,
                        inflight: 5,
                    },
                    PoolLevels::default(),
                ],
                quality: vec![RealQuality::default(); 2],
            },
        ],
        virtuals: vec![
            object(
                "www",
                &[
                    ("requests", 40),
                    ("spliced", 30),
                    ("redirects", 0),
                    ("no_server", 6),
                    ("refused", 4),
                ],
            ),
            object(
                "198.19.0.11",
                &[
                    ("requests", 2),
                    ("spliced", 2),
                    ("redirects", 0),
                    ("no_server", 0),
                    ("refused", 0),
                ],
            ),
        ],
        reals: vec![
            object(
                "s1",
                &[
                    ("requests", 20),
                    ("responses_2xx", 17),
                    ("responses_5xx", 2),
                    ("server_errors", 1),
                ],
            ),
            object(
                "img.1",
                &[
                    ("requests", 12),
                    ("responses_2xx", 12),
                    ("responses_5xx", 0),
                    ("server_errors", 0),
                ],
            ),
        ],
        rules: vec![
            RuleHits {
                virtual_name: "www".into(),
                rule: "img".into(),
                hits: 12,
            },
            RuleHits {
                virtual_name: "www".into(),
                rule: "bind".into(),
                hits: 24,
            },
        ],
        runtime: vec![
            Runtime::from_values([1_000, 100, 16, 2_000_000, 500_000]),
            Runtime::from_values([1_000, 50, 5, 2_000_000, 100_000]),
        ],
    }
}

pub(crate) fn object(name: &str, pairs: &[(&str, u64)]) -> ObjectCounters {
    ObjectCounters {
        name: name.into(),
        counters: c(pairs),
    }
}

/// A report with every counter the workers have, each worker on each port counting
/// `worker * 100 + port * 10 + 1`.
pub(crate) fn full() -> StatsReport {
    let mut r = sample();
    for (w, row) in r.cells.iter_mut().enumerate() {
        for (p, cell) in row.iter_mut().enumerate() {
            *cell = Counters(
                splicer_pipeline::Counter::ALL
                    .iter()
                    .map(|c| (c.name().to_string(), (w * 100 + p * 10 + 1) as u64))
                    .collect(),
            );
        }
    }
    r
}
