//! The access log's writer on the control core (docs/ACCESS-LOG.md): every control tick
//! it empties the workers' rings of finished request records, formats each as a JSON or
//! HAProxy-like text line, and appends it to the file (reopened on SIGUSR1 and `log
//! reopen`, for logrotate) or sends it to syslog.
//!
//! Syslog is written by hand in RFC 3164's form (`<PRI>Mmm dd hh:mm:ss tag[pid]: msg`)
//! to the daemon's unix datagram socket: the format is one line, rsyslog and
//! journald's `/dev/log` both take it, and a crate would add a dependency for
//! twenty lines.

use splicer_config::{AccessLog, AccessLogFormat, Config, FarmIds};
use splicer_pipeline::access::{AccessRecord, AccessRing, NONE16, RULE_BIND};
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::net::Ipv4Addr;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// RFC 3164 priority: facility local0 (16) × 8 + severity informational (6).
const SYSLOG_PRI: u8 = 134;

/// Names of the indexes a record carries, from the running configuration.
pub(crate) struct Names<'a> {
    pub config: &'a Config,
    pub ids: &'a FarmIds,
}

impl Names<'_> {
    fn virtual_name(&self, index: u16) -> String {
        self.ids
            .virtual_name(index)
            .unwrap_or_else(|| format!("#{index}"))
    }

    fn rule_name(&self, virtual_name: &str, rule: u16) -> String {
        match rule {
            NONE16 => "-".to_string(),
            RULE_BIND => "bind".to_string(),
            n => self
                .config
                .virtuals
                .iter()
                .find(|v| v.name == virtual_name)
                .and_then(|v| v.rules.get(usize::from(n)))
                .map_or_else(|| format!("rule{}", n + 1), |r| r.name.clone()),
        }
    }

    fn real_name(&self, real: u16) -> String {
        match real {
            NONE16 => "-".to_string(),
            r => self
                .ids
                .real_name(r)
                .map_or_else(|| format!("#{r}"), str::to_string),
        }
    }
}

enum Output {
    File {
        path: PathBuf,
        file: BufWriter<File>,
    },
    Syslog {
        socket: UnixDatagram,
        path: PathBuf,
    },
}

/// The writer: the rings, where the lines go, and the clock to turn ticks into times.
pub(crate) struct AccessWriter {
    rings: Vec<Arc<AccessRing>>,
    output: Output,
    format: AccessLogFormat,
    tsc_hz: u64,
    reopen: Arc<AtomicBool>,
    /// Lines that could not be written (counted; reported at warn, sparingly).
    pub(crate) write_errors: u64,
    /// Lines written.
    pub(crate) written: u64,
    line: String,
    pid: u32,
}

fn open_file(path: &PathBuf) -> std::io::Result<BufWriter<File>> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .open(path)
        .map(|f| BufWriter::with_capacity(64 * 1024, f))
}

impl AccessWriter {
    /// A writer for `config`; `reopen` is the flag SIGUSR1 and `log reopen` set.
    pub(crate) fn new(
        config: &AccessLog,
        rings: Vec<Arc<AccessRing>>,
        tsc_hz: u64,
        reopen: Arc<AtomicBool>,
    ) -> Result<Self, String> {
        let output = match &config.path {
            Some(path) => Output::File {
                file: open_file(path)
                    .map_err(|e| format!("access_log.path: cannot open {}: {e}", path.display()))?,
                path: path.clone(),
            },
            None => Output::Syslog {
                socket: UnixDatagram::unbound()
                    .map_err(|e| format!("access_log.syslog: no datagram socket: {e}"))?,
                path: config.syslog_socket.clone(),
            },
        };
        Ok(AccessWriter {
            rings,
            output,
            format: config.format,
            tsc_hz: tsc_hz.max(1),
            reopen,
            write_errors: 0,
            written: 0,
            line: String::with_capacity(512),
            pid: std::process::id(),
        })
    }

    /// Reopens the file if asked, then writes every record waiting in the rings.
    /// `tsc_now`: the workers' clock now, to date the records.
    pub(crate) fn poll(&mut self, names: &Names<'_>, tsc_now: u64) {
        if self.reopen.swap(false, Ordering::Relaxed) {
            self.reopen_file();
        }
        let wall_now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_micros() as i64;
        for w in 0..self.rings.len() {
            while let Some(rec) = self.rings[w].pop() {
                let mut line = std::mem::take(&mut self.line);
                line.clear();
                let end_us = wall_now - self.micros(tsc_now.saturating_sub(rec.end)) as i64;
                match self.format {
                    AccessLogFormat::Json => json_line(&mut line, &rec, names, end_us, self),
                    AccessLogFormat::Text => text_line(&mut line, &rec, names, end_us, self),
                }
                self.emit(&line, end_us);
                self.line = line;
            }
        }
        if let Output::File { file, .. } = &mut self.output {
            if let Err(e) = file.flush() {
                self.error(&format!("cannot write the access log: {e}"));
            }
        }
    }

    fn reopen_file(&mut self) {
        if let Output::File { path, file } = &mut self.output {
            let _ = file.flush();
            match open_file(path) {
                Ok(f) => {
                    *file = f;
                    tracing::info!("access log reopened: {}", path.display());
                }
                Err(e) => {
                    // The old file stays open: lines keep going somewhere.
                    tracing::warn!("cannot reopen the access log {}: {e}", path.display());
                }
            }
        }
    }

    fn emit(&mut self, line: &str, end_us: i64) {
        let result = match &mut self.output {
            Output::File { file, .. } => file
                .write_all(line.as_bytes())
                .and_then(|()| file.write_all(b"\n")),
            Output::Syslog { socket, path } => {
                let mut msg = String::with_capacity(line.len() + 40);
                let _ = write!(msg, "<{SYSLOG_PRI}>");
                syslog_time(&mut msg, end_us);
                let _ = write!(msg, " splicer[{}]: {line}", self.pid);
                socket.send_to(msg.as_bytes(), &*path).map(|_| ())
            }
        };
        match result {
            Ok(()) => self.written += 1,
            Err(e) => self.error(&format!("cannot write the access log: {e}")),
        }
    }

    fn error(&mut self, what: &str) {
        self.write_errors += 1;
        // The first, then one in 10,000: a full disk must not flood the log.
        if self.write_errors % 10_000 == 1 {
            tracing::warn!("{what} ({} lines lost so far)", self.write_errors);
        }
    }

    /// `ticks` of the workers' clock in microseconds.
    fn micros(&self, ticks: u64) -> u64 {
        (u128::from(ticks) * 1_000_000 / u128::from(self.tsc_hz)) as u64
    }

    /// The time from `from` to `to` in microseconds, or None when either did not happen.
    fn span(&self, from: u64, to: u64) -> Option<u64> {
        (from != 0 && to != 0).then(|| self.micros(to.saturating_sub(from)))
    }
}

/// The timings of a record, in microseconds: head read, queue, server first byte, total.
fn timings(rec: &AccessRecord, w: &AccessWriter) -> [Option<u64>; 4] {
    [
        w.span(rec.head_start, rec.head_done),
        w.span(rec.head_done, rec.sent),
        w.span(rec.sent, rec.first_byte),
        w.span(rec.head_start, rec.end),
    ]
}

/// The request line's method, target and version (each may be empty).
fn split_line(line: &[u8]) -> (&[u8], &[u8], &[u8]) {
    let mut parts = line.splitn(3, |&b| b == b' ');
    let a = parts.next().unwrap_or_default();
    let b = parts.next().unwrap_or_default();
    let c = parts.next().unwrap_or_default();
    (a, b, c)
}

/// `bytes` as JSON string contents: quotes, backslashes, control and non-ASCII bytes
/// escaped (a byte over 0x7f as `\u00XX`: the request line is bytes, not UTF-8).
fn json_str(out: &mut String, bytes: &[u8]) {
    out.push('"');
    for &b in bytes {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\u{:04x}", b);
            }
        }
    }
    out.push('"');
}

/// `bytes` for the text line: printable ASCII as is, `"`, `\` and anything else as
/// `\xHH`, so a line can never be split or forged by what a client sent.
fn text_str(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                let _ = write!(out, "\\x{:02x}", b);
            }
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{:02x}", b);
            }
        }
    }
}

fn json_opt(out: &mut String, key: &str, v: Option<u64>) {
    match v {
        Some(v) => {
            let _ = write!(out, ",\"{key}\":{v}");
        }
        None => {
            let _ = write!(out, ",\"{key}\":null");
        }
    }
}

fn json_line(
    out: &mut String,
    rec: &AccessRecord,
    names: &Names<'_>,
    end_us: i64,
    w: &AccessWriter,
) {
    let virtual_name = names.virtual_name(rec.virtual_index);
    let (method, path, version) = split_line(rec.line());
    out.push_str("{\"time\":\"");
    rfc3339(out, end_us);
    let _ = write!(
        out,
        "\",\"worker\":{},\"client\":\"{}\",\"client_port\":{},\"vip\":\"{}:{}\",\"virtual\":",
        rec.worker,
        Ipv4Addr::from(rec.client),
        rec.client_port,
        Ipv4Addr::from(rec.vip),
        rec.vip_port
    );
    json_str(out, virtual_name.as_bytes());
    out.push_str(",\"rule\":");
    json_str(out, names.rule_name(&virtual_name, rec.rule).as_bytes());
    out.push_str(",\"real\":");
    json_str(out, names.real_name(rec.real).as_bytes());
    out.push_str(",\"method\":");
    json_str(out, method);
    out.push_str(",\"path\":");
    json_str(out, path);
    out.push_str(",\"version\":");
    json_str(out, version);
    let _ = write!(
        out,
        ",\"truncated\":{},\"status\":{},\"bytes_in\":{},\"bytes_out\":{}",
        rec.truncated, rec.status, rec.bytes_in, rec.bytes_out
    );
    let [head, queue, server, total] = timings(rec, w);
    json_opt(out, "head_us", head);
    json_opt(out, "queue_us", queue);
    json_opt(out, "server_us", server);
    json_opt(out, "total_us", total);
    let _ = write!(out, ",\"term\":\"{}\"}}", rec.term.code());
}

fn text_line(
    out: &mut String,
    rec: &AccessRecord,
    names: &Names<'_>,
    end_us: i64,
    w: &AccessWriter,
) {
    let virtual_name = names.virtual_name(rec.virtual_index);
    let _ = write!(out, "{}:{} [", Ipv4Addr::from(rec.client), rec.client_port);
    rfc3339(out, end_us);
    out.push_str("] ");
    text_str(out, virtual_name.as_bytes());
    out.push(' ');
    text_str(out, names.rule_name(&virtual_name, rec.rule).as_bytes());
    out.push('/');
    text_str(out, names.real_name(rec.real).as_bytes());
    for (i, t) in timings(rec, w).into_iter().enumerate() {
        out.push(if i == 0 { ' ' } else { '/' });
        match t {
            Some(t) => {
                let _ = write!(out, "{t}");
            }
            None => out.push_str("-1"),
        }
    }
    let _ = write!(
        out,
        " {} {} {} {} \"",
        rec.status,
        rec.bytes_out,
        rec.bytes_in,
        rec.term.code()
    );
    text_str(out, rec.line());
    if rec.truncated {
        out.push_str("...");
    }
    out.push('"');
}

/// Days since 1970-01-01 as (year, month, day) (Howard Hinnant's civil_from_days).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `us` since the epoch as `2026-12-06T19:13:09.123456Z`.
fn rfc3339(out: &mut String, us: i64) {
    let secs = us.div_euclid(1_000_000);
    let frac = us.rem_euclid(1_000_000);
    let (y, m, d) = civil(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:06}Z",
        s / 3600,
        s / 60 % 60,
        s % 60
    );
}

/// RFC 3164's timestamp, `Mmm dd hh:mm:ss` (UTC).
fn syslog_time(out: &mut String, us: i64) {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = us.div_euclid(1_000_000);
    let (_, m, d) = civil(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    let _ = write!(
        out,
        "{} {d:>2} {:02}:{:02}:{:02}",
        MONTHS[(m - 1) as usize],
        s / 3600,
        s / 60 % 60,
        s % 60
    );
}

#[cfg(test)]
mod tests;
