//! The cost of each predictor per request: `Farm::decide` for one request (routing to the
//! bind list, the predictor's choice among N reals, `maglev`'s key hash) N times, for
//! instruction counts under callgrind, counting only the measured loop:
//!
//! ```sh
//! cargo build --release -p splicer-bench --example predictor_micro
//! valgrind --tool=callgrind --toggle-collect='predictor_micro::measured' \
//!     target/release/examples/predictor_micro fastest 3 100000
//! ```
//!
//! The total of the collected instructions divided by the requests is the figure. The
//! loads are fixed (every real measured, a few requests in flight, some loss), so that
//! the load-aware predictors do their full comparison; `maglev` hashes the client's
//! address, or with `maglev-cookie` a 16-byte cookie value.

#![forbid(unsafe_code)]

use splicer_http::{parse_head, HeadStatus, RequestHead};
use splicer_pipeline::balance::{
    Choices, Decision, Farm, HashKey, Predictor, Real, RealLoad, View, VirtualPolicy,
};
use std::hint::black_box;
use std::net::{Ipv4Addr, SocketAddrV4};

/// The requests, out of line so that callgrind collects only them.
#[inline(never)]
fn measured(
    farm: &Farm,
    choices: &mut Choices,
    head: &RequestHead,
    loads: &Vec<RealLoad>,
    n: u64,
) -> u64 {
    let mut spliced = 0;
    for i in 0..n {
        let view = View {
            loads,
            client: Ipv4Addr::from(0xc612_0000 | (i as u32 & 0xffff)),
        };
        if let Decision::Splice(_) = farm.decide(choices, 0, black_box(head), None, |_| true, &view)
        {
            spliced += 1;
        }
    }
    spliced
}

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "roundrobin".into());
    let reals: u16 = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let n: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let (predictor, hash) = match name.as_str() {
        "maglev-cookie" => (Predictor::Maglev, HashKey::Cookie("sid".into())),
        other => (
            Predictor::from_name(other).unwrap_or_else(|| panic!("unknown predictor {other}")),
            HashKey::Source,
        ),
    };
    let farm = Farm {
        reals: (0..reals)
            .map(|r| {
                let address = SocketAddrV4::new(Ipv4Addr::new(198, 19, 0, 11 + r as u8), 80);
                Real::new(format!("s{r}"), address, 1 + r % 3, 4, 64)
            })
            .collect(),
        virtuals: vec![VirtualPolicy {
            hash,
            ..VirtualPolicy::splice("www", predictor, Vec::new(), (0..reals).collect())
        }],
        urls: Vec::new(),
    };
    let loads: Vec<RealLoad> = (0..u32::from(reals))
        .map(|r| RealLoad {
            in_flight: r % 4,
            ttfb_us: 800 + 97 * r,
            total_us: 1_000 + 97 * r,
            loss_ppm: 1_000 * (r % 2),
            samples: 100,
        })
        .collect();
    let head = match parse_head(
        b"GET /index.html HTTP/1.1\r\nHost: www.example\r\nCookie: a=1; sid=0123456789abcdef\r\n\r\n",
        16384,
    ) {
        HeadStatus::Complete(h) => h,
        other => panic!("{other:?}"),
    };
    let mut choices = Choices::default();
    // The first choice builds maglev's table: not a per-request cost.
    measured(&farm, &mut choices, &head, &loads, 1);
    let spliced = measured(&farm, &mut choices, &head, &loads, n);
    assert_eq!(spliced, n);
    println!("measured: predictor={name} reals={reals} requests={n}");
}
