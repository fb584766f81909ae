//! The metrics listener's HTTP: `GET /metrics` (Prometheus), `GET /` (the status page)
//! and `GET /status.json` (its data). Read-only, one request per connection, `GET` and
//! `HEAD` only, exact paths only (nothing is read from disk, so there is no path to
//! traverse); the request head is read up to [`MAX_HTTP_HEAD`] bytes within the
//! control socket's deadline.
//!
//! The status page's rates are the difference of the last two snapshots the control
//! core takes every [`RATE_INTERVAL`] (only while the listener is open), so that a page
//! loaded twice in a row shows the same rates, and an idle appliance pays one statistics
//! read every two seconds.

use crate::server::{Deadlined, Served};
use crate::stats::{self, StatsSources};
use splicer_commands::metrics;
use splicer_commands::report::StatsReport;
use splicer_commands::status::{html, Rates, Status, StatusInput};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Longest HTTP request head the endpoint reads.
const MAX_HTTP_HEAD: usize = 8192;
/// Time between two snapshots of the statistics for the status page's rates.
pub(crate) const RATE_INTERVAL: Duration = Duration::from_secs(2);

/// Splicer's version, as the status page and `splicer_build_info` show it.
pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The start time and the last two snapshots.
pub(crate) struct WebState {
    started: Instant,
    started_unix: u64,
    /// The earlier and the later snapshot, with when they were taken.
    previous: Option<(Instant, StatsReport)>,
    last: Option<(Instant, StatsReport)>,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl WebState {
    pub(crate) fn new() -> Self {
        WebState {
            started: Instant::now(),
            started_unix: unix_now(),
            previous: None,
            last: None,
        }
    }

    /// Takes a snapshot (`take`) when the last one is [`RATE_INTERVAL`] old.
    pub(crate) fn sample(&mut self, now: Instant, take: impl FnOnce() -> StatsReport) {
        if self
            .last
            .as_ref()
            .is_some_and(|(at, _)| now.duration_since(*at) < RATE_INTERVAL)
        {
            return;
        }
        self.previous = self.last.take();
        self.last = Some((now, take()));
    }

    /// The rates between the last two snapshots, once there are two.
    pub(crate) fn rates(&self) -> Option<Rates> {
        let ((t0, r0), (t1, r1)) = (self.previous.as_ref()?, self.last.as_ref()?);
        let seconds = t1.duration_since(*t0).as_secs_f64();
        (seconds > 0.0).then(|| Rates {
            delta: r1.since(r0),
            seconds,
        })
    }
}

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    BadRequest,
    MethodNotAllowed,
    NotFound,
    Metrics,
    /// The page, reloading every so many seconds (0: never).
    Page(u32),
    Json,
}

/// The route of a request head, and whether it is a `HEAD` (answered without a body).
fn route(head: &[u8]) -> (Route, bool) {
    let text = String::from_utf8_lossy(head);
    let request_line = text.lines().next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let is_head = method == "HEAD";
    if !method.starts_with(|c: char| c.is_ascii_uppercase())
        || !method.chars().all(|c| c.is_ascii_uppercase())
        || !target.starts_with('/')
        || !parts.next().is_some_and(|v| v.starts_with("HTTP/1."))
        || parts.next().is_some()
    {
        return (Route::BadRequest, false);
    }
    if method != "GET" && !is_head {
        return (Route::MethodNotAllowed, false);
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let route = match path {
        "/metrics" => Route::Metrics,
        "/" => Route::Page(html::refresh_from_query(query)),
        "/status.json" => Route::Json,
        _ => Route::NotFound,
    };
    (route, is_head)
}

/// Serves one client of the metrics listener.
pub(crate) fn serve(stream: TcpStream, web: &WebState, src: &StatsSources<'_>) -> Served {
    if stream.set_nonblocking(false).is_err() {
        return Served::Done;
    }
    let mut io = Deadlined::new(&stream);
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_HTTP_HEAD {
        match io.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(_) => return io.served(),
        }
    }
    let (route, is_head) = route(&head);
    let text = |s: &str| (s.to_string(), "text/plain; charset=utf-8");
    let (status, (body, content_type)) = match route {
        Route::BadRequest => ("400 Bad Request", text("bad request\n")),
        Route::MethodNotAllowed => ("405 Method Not Allowed", text("only GET and HEAD\n")),
        Route::NotFound => (
            "404 Not Found",
            text("not found; see / (status page), /status.json and /metrics\n"),
        ),
        // Raw counters: Prometheus counters must not go down on `clear stats`.
        Route::Metrics => (
            "200 OK",
            (
                metrics::render_full(
                    &stats::report(src),
                    &src.health,
                    &metrics::Build {
                        version: VERSION,
                        started_unix: web.started_unix,
                    },
                ),
                metrics::CONTENT_TYPE,
            ),
        ),
        Route::Page(refresh) => (
            "200 OK",
            (html::render(&build(web, src), refresh), html::CONTENT_TYPE),
        ),
        Route::Json => ("200 OK", (build(web, src).to_json(), "application/json")),
    };
    let mut response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n{}{}\r\n",
        body.len(),
        if route == Route::MethodNotAllowed { "Allow: GET, HEAD\r\n" } else { "" },
        // The page needs its inline style and nothing else: no script, no frame.
        if matches!(route, Route::Page(_)) {
            "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'\r\nReferrer-Policy: no-referrer\r\n"
        } else {
            ""
        },
    );
    if !is_head {
        response.push_str(&body);
    }
    io.restart();
    let _ = io.write_all(response.as_bytes());
    io.served()
}

/// The status page's figures now.
fn build(web: &WebState, src: &StatsSources<'_>) -> Status {
    let report = stats::report(src);
    let rates = web.rates();
    let levels = stats::levels(src.config, src.ids, src.workers);
    Status::build(&StatusInput {
        config: src.config,
        report: &report,
        rates: rates.as_ref(),
        health: &src.health,
        levels: &levels,
        lcores: src.lcores,
        version: VERSION,
        uptime_secs: web.started.elapsed().as_secs(),
        started_unix: web.started_unix,
        now_unix: unix_now(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(head: &str) -> (Route, bool) {
        route(head.as_bytes())
    }

    #[test]
    fn routes() {
        assert_eq!(r("GET /metrics HTTP/1.1\r\n\r\n"), (Route::Metrics, false));
        assert_eq!(r("HEAD /metrics HTTP/1.0\r\n\r\n"), (Route::Metrics, true));
        assert_eq!(
            r("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            (Route::Page(10), false)
        );
        assert_eq!(
            r("GET /?refresh=0 HTTP/1.1\r\n\r\n"),
            (Route::Page(0), false)
        );
        assert_eq!(
            r("HEAD /?refresh=3 HTTP/1.1\r\n\r\n"),
            (Route::Page(3), true)
        );
        assert_eq!(r("GET /status.json HTTP/1.1\r\n\r\n"), (Route::Json, false));
        assert_eq!(
            r("GET /status.json?x=1 HTTP/1.1\r\n\r\n"),
            (Route::Json, false)
        );
    }

    /// Only the three exact paths exist: no traversal, no prefix match, no file.
    #[test]
    fn everything_else_is_not_found_or_refused() {
        for target in [
            "/../metrics",
            "/metrics/",
            "//",
            "/status.json/..",
            "/./",
            "/%2e%2e/etc/passwd",
            "/etc/passwd",
            "/index.html",
            "/status",
            "/metrics%00",
        ] {
            assert_eq!(
                r(&format!("GET {target} HTTP/1.1\r\n\r\n")).0,
                Route::NotFound,
                "{target}"
            );
        }
        for head in [
            "POST / HTTP/1.1\r\n\r\n",
            "PUT /metrics HTTP/1.1\r\n\r\n",
            "DELETE /status.json HTTP/1.1\r\n\r\n",
            "OPTIONS / HTTP/1.1\r\n\r\n",
        ] {
            assert_eq!(r(head).0, Route::MethodNotAllowed, "{head}");
        }
        for head in [
            "",
            "\r\n\r\n",
            "get / HTTP/1.1\r\n\r\n",
            "GET / HTTP/2\r\n\r\n",
            "GET /\r\n\r\n",
            "GET http://x/ HTTP/1.1\r\n\r\n",
            "GET * HTTP/1.1\r\n\r\n",
            "GET / HTTP/1.1 extra\r\n\r\n",
            "\u{1}GET / HTTP/1.1\r\n\r\n",
        ] {
            assert_eq!(r(head).0, Route::BadRequest, "{head:?}");
        }
    }

    #[test]
    fn rates_need_two_snapshots_an_interval_apart() {
        let mut web = WebState::new();
        let t0 = Instant::now();
        let report = |rx: u64| StatsReport {
            ports: vec!["p".into()],
            cells: vec![vec![splicer_commands::report::Counters(vec![(
                "rx_packets".into(),
                rx,
            )])]],
            ..StatsReport::default()
        };
        assert!(web.rates().is_none());
        web.sample(t0, || report(100));
        assert!(web.rates().is_none());
        // Too soon: no new snapshot.
        web.sample(t0 + Duration::from_millis(500), || {
            panic!("sampled too soon")
        });
        web.sample(t0 + RATE_INTERVAL, || report(300));
        let rates = web.rates().unwrap();
        assert_eq!(rates.seconds, RATE_INTERVAL.as_secs_f64());
        assert_eq!(rates.delta.total().get("rx_packets"), 200);
        web.sample(t0 + RATE_INTERVAL * 2, || report(310));
        assert_eq!(web.rates().unwrap().delta.total().get("rx_packets"), 10);
    }
}
