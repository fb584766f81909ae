//! The status page as HTML: no JavaScript, no external resources, every text from the
//! configuration escaped, auto-refresh by `<meta http-equiv="refresh">`.

use super::Status;
use std::fmt::Write;

/// Seconds between reloads when the URL does not say (`?refresh=N`).
pub const DEFAULT_REFRESH: u32 = 10;
/// The longest refresh interval accepted; longer values are clamped to it.
pub const MAX_REFRESH: u32 = 3600;
/// The intervals the page offers as links (0: off).
const CHOICES: [u32; 5] = [0, 2, 5, 10, 30];

/// The `Content-Type` of the page.
pub const CONTENT_TYPE: &str = "text/html; charset=utf-8";

/// `text` with `&`, `<`, `>`, `"` and `'` replaced by entities: safe in element content
/// and in quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The refresh interval a query string asks for (`refresh=N`, seconds; 0 turns it
/// off): [`DEFAULT_REFRESH`] when absent or not a number, at most [`MAX_REFRESH`].
pub fn refresh_from_query(query: &str) -> u32 {
    query
        .split('&')
        .filter_map(|kv| kv.strip_prefix("refresh="))
        .next_back()
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(DEFAULT_REFRESH, |v| v.min(u64::from(MAX_REFRESH)) as u32)
}

/// A duration as `3d 4h`, `2h 5m`, `4m 10s` or `7s`.
fn duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {s}s")
    } else {
        format!("{s}s")
    }
}

/// A rate cell: `-` until rates exist.
fn rate(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.1}"))
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// The CSS class of a real's status or a virtual's state.
fn class(status: &str) -> &'static str {
    match status {
        "UP" | "in-service" => "up",
        "DOWN" | "failed" => "down",
        "EJECTED" => "ejected",
        "SLOWSTART" | "sticky" => "slow",
        _ => "off",
    }
}

const STYLE: &str =
    "body{font-family:sans-serif;font-size:13px;margin:12px;color:#222;background:#fff}\
h1{font-size:20px;margin:0 0 4px 0}h2{font-size:15px;margin:18px 0 4px 0}\
table{border-collapse:collapse;margin-bottom:6px}\
th{background:#2f4f6f;color:#fff;padding:3px 7px;text-align:left;font-weight:normal}\
td{border:1px solid #ccc;padding:2px 7px;text-align:right}\
td.t{text-align:left}tr:nth-child(even) td{background:#f3f6f9}\
td.up{background:#b8e6b0!important}td.down{background:#f4a6a6!important}\
td.ejected{background:#f7c98b!important}td.slow{background:#f3ee9c!important}\
td.off{background:#c9c9c9!important}td.up,td.down,td.ejected,td.slow,td.off{text-align:center}\
.meta{color:#555}a{color:#2f4f6f}";

/// One table: the header cells, then rows of `(css class, text)` cells (the text is
/// escaped here).
fn table(out: &mut String, head: &[&str], rows: &[Vec<(&str, String)>]) {
    out.push_str("<table><tr>");
    for h in head {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr>\n");
    for row in rows {
        out.push_str("<tr>");
        for (class, text) in row {
            if class.is_empty() {
                let _ = write!(out, "<td>{}</td>", escape(text));
            } else {
                let _ = write!(out, "<td class=\"{class}\">{}</td>", escape(text));
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
}

/// The page, reloading itself every `refresh` seconds (0: never).
pub fn render(s: &Status, refresh: u32) -> String {
    let mut out = String::with_capacity(16 * 1024);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
    if refresh > 0 {
        let _ = writeln!(
            out,
            "<meta http-equiv=\"refresh\" content=\"{refresh};url=/?refresh={refresh}\">"
        );
    }
    let _ = writeln!(
        out,
        "<title>Splicer status</title><style>{STYLE}</style></head><body>"
    );
    let _ = writeln!(
        out,
        "<h1>Splicer status</h1><p class=\"meta\">version {} &middot; up {} &middot; rates over the last {} &middot; auto-refresh:",
        escape(&s.version),
        duration(s.uptime_s),
        s.rate_interval_s
            .map_or_else(|| "- (not measured yet)".to_string(), |r| format!("{r:.1} s")),
    );
    for c in CHOICES {
        let label = if c == 0 {
            "off".to_string()
        } else {
            format!("{c}s")
        };
        if c == refresh {
            let _ = write!(out, " <b>{label}</b>");
        } else {
            let _ = write!(out, " <a href=\"/?refresh={c}\">{label}</a>");
        }
    }
    out.push_str(" &middot; <a href=\"/status.json\">status.json</a> &middot; <a href=\"/metrics\">metrics</a></p>\n");

    let t = &s.totals;
    out.push_str("<h2>Totals</h2>\n");
    table(
        &mut out,
        &[
            "requests",
            "req/s",
            "errors",
            "errors/s",
            "flows",
            "half-open",
            "rx pkt/s",
            "tx pkt/s",
            "drops",
            "mbufs in use",
            "mbufs free",
        ],
        &[vec![
            ("", t.requests_total.to_string()),
            ("", rate(t.requests_per_s)),
            ("", t.errors_total.to_string()),
            ("", rate(t.errors_per_s)),
            ("", t.flows.to_string()),
            ("", t.half_open.to_string()),
            ("", rate(t.rx_packets_per_s)),
            ("", rate(t.tx_packets_per_s)),
            ("", t.drops_total.to_string()),
            ("", t.mempool_in_use.to_string()),
            ("", t.mempool_available.to_string()),
        ]],
    );

    out.push_str("<h2>Virtual servers</h2>\n");
    let rows: Vec<_> = s
        .virtuals
        .iter()
        .map(|v| {
            vec![
                ("t", v.name.clone()),
                ("t", v.kind.clone()),
                ("t", v.address.clone()),
                ("t", v.mode.clone()),
                ("t", opt(v.predictor.as_deref())),
                (class(&v.state), v.state.clone()),
                ("", v.requests_total.to_string()),
                ("", rate(v.requests_per_s)),
                ("", v.in_flight.to_string()),
                ("", opt(v.queue)),
                ("", v.errors_total.to_string()),
                ("", rate(v.errors_per_s)),
            ]
        })
        .collect();
    table(
        &mut out,
        &[
            "name",
            "kind",
            "address",
            "mode",
            "predictor",
            "state",
            "requests",
            "req/s",
            "in flight",
            "queue",
            "errors",
            "errors/s",
        ],
        &rows,
    );

    out.push_str("<h2>Real servers</h2>\n");
    let rows: Vec<_> = s
        .reals
        .iter()
        .map(|r| {
            vec![
                ("t", r.name.clone()),
                ("t", r.address.clone()),
                (class(&r.status), r.status.clone()),
                (
                    "t",
                    if r.health_reason.is_empty() {
                        "-".into()
                    } else {
                        r.health_reason.clone()
                    },
                ),
                (
                    "",
                    r.health_since_s.map_or_else(|| "-".to_string(), duration),
                ),
                (class(&r.admin_state), r.admin_state.clone()),
                ("", r.weight.to_string()),
                ("", r.tier.to_string()),
                (
                    "t",
                    if r.bound_by.is_empty() {
                        "-".into()
                    } else {
                        r.bound_by.join(", ")
                    },
                ),
                ("", r.in_flight.to_string()),
                ("", r.queue.to_string()),
                ("", format!("{:.1}", r.ttfb_ms)),
                ("", format!("{:.1}", r.total_ms)),
                ("", format!("{:.1}%", r.loss_percent)),
                ("", r.requests_per_second.to_string()),
                ("", r.requests_total.to_string()),
                ("", r.server_errors_total.to_string()),
                ("", format!("{}/{}", r.pool_free, r.pool_busy)),
            ]
        })
        .collect();
    table(
        &mut out,
        &[
            "name",
            "address",
            "status",
            "reason",
            "since",
            "admin",
            "weight",
            "tier",
            "bound by",
            "in flight",
            "queue",
            "ttfb ms",
            "total ms",
            "loss",
            "req/s",
            "requests",
            "errors",
            "pool free/busy",
        ],
        &rows,
    );

    out.push_str("<h2>Workers</h2>\n");
    let rows: Vec<_> = s
        .workers
        .iter()
        .map(|w| {
            vec![
                ("", w.index.to_string()),
                ("", opt(w.lcore)),
                ("", w.flows.to_string()),
                ("", rate(w.rx_packets_per_s)),
                ("", rate(w.tx_packets_per_s)),
                (
                    "",
                    w.busy_percent
                        .map_or_else(|| "-".into(), |b| format!("{b:.1}%")),
                ),
            ]
        })
        .collect();
    table(
        &mut out,
        &["worker", "lcore", "flows", "rx pkt/s", "tx pkt/s", "busy"],
        &rows,
    );

    out.push_str("<h2>Ports</h2>\n");
    let rows: Vec<_> = s
        .ports
        .iter()
        .map(|p| {
            vec![
                ("t", p.name.clone()),
                ("", rate(p.rx_packets_per_s)),
                ("", rate(p.tx_packets_per_s)),
                ("", rate(p.rx_bytes_per_s)),
                ("", rate(p.tx_bytes_per_s)),
                ("", opt(p.rx_missed_total)),
            ]
        })
        .collect();
    table(
        &mut out,
        &[
            "port",
            "rx pkt/s",
            "tx pkt/s",
            "rx B/s",
            "tx B/s",
            "rx missed",
        ],
        &rows,
    );
    out.push_str("</body></html>\n");
    out
}
