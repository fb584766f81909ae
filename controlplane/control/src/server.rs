//! The control core's two endpoints: the control socket (`splicer ctl`, `splicer shell`)
//! and the Prometheus metrics listener.
//!
//! Both are plain non-blocking std listeners polled by the control loop between its
//! stop checks, so there is no thread and no lock: commands run on the control core
//! itself, with the statistics sources it already owns. Workers are never touched;
//! counters are read with relaxed loads. A client gets [`CLIENT_TIMEOUT`] in all to send
//! its request, and as long again to take its answer (a deadline for each phase, not for
//! each read: a client trickling a byte at a time cannot hold the loop longer; the
//! command's own work in between, such as waiting for the workers, is not the client's
//! to pay for), and one poll serves
//! clients for at most [`POLL_BUDGET`]; together they bound how long slow or flooding
//! clients can hold up the loop (and so the reaction to SIGINT).

use crate::announce::{self, Announcer};
use crate::http;
use crate::live::Live;
use crate::startup::RunError;
use crate::stats::{self, StatsBase, StatsSources};
use splicer_commands::command::{self, Command, Level, Show};
use splicer_commands::protocol::MAX_REQUEST;
use splicer_commands::report::{self, PortRow, StatsReport, WorkerRow};
use splicer_commands::{LogLevel, Response};
use splicer_config::Dataplane;
use splicer_pipeline::{Counter, Gauge};
use splicer_wire::EthernetAddress;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the control core waits for a client's request (and for its answer to be
/// taken) before giving up on it.
const CLIENT_TIMEOUT: Duration = Duration::from_millis(250);
/// Connections served per endpoint per poll, so a flood of clients cannot starve the
/// stop check and the periodic statistics.
const MAX_PER_POLL: usize = 16;
/// How long one poll may spend serving clients, whatever their number.
const POLL_BUDGET: Duration = Duration::from_millis(500);
/// Shortest interval between two log lines about slow clients.
const SLOW_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Changes the process's log filter (installed by the binary, which owns the subscriber).
pub type LogLevelHook = Box<dyn Fn(LogLevel) -> Result<(), String>>;

/// What the running appliance offers beyond its configuration.
#[derive(Default)]
pub struct Hooks {
    /// How `log level` changes the log filter; without it the command fails.
    pub set_log_level: Option<LogLevelHook>,
    /// The configuration file Splicer was started with: where `save` writes by default.
    pub config_path: Option<PathBuf>,
    /// Set to have the access log's file reopened at the next control tick (the
    /// process sets it on SIGUSR1; `log reopen` sets it too).
    pub access_log_reopen: Arc<AtomicBool>,
}

/// The control core's state between commands.
pub(crate) struct ControlState {
    /// The raw counters at the last `clear stats`.
    baseline: Option<StatsReport>,
    hooks: Hooks,
    /// Clients given up for slowness.
    slow: SlowClients,
    /// What the metrics listener's pages need beyond the statistics.
    web: http::WebState,
    /// The access log is on.
    access_log: bool,
    /// The VIPs' announcement to the routers (`[announce]`), when on.
    pub(crate) announcer: Option<Announcer>,
}

impl ControlState {
    pub(crate) fn new(hooks: Hooks) -> Self {
        ControlState {
            baseline: None,
            hooks,
            slow: SlowClients::default(),
            web: http::WebState::new(),
            access_log: false,
            announcer: None,
        }
    }

    /// The flag that has the access log's file reopened.
    pub(crate) fn access_log_reopen(&self) -> Arc<AtomicBool> {
        self.hooks.access_log_reopen.clone()
    }

    /// Whether the access log is on (for `log reopen`'s answer).
    pub(crate) fn set_access_log(&mut self, on: bool) {
        self.access_log = on;
    }

    /// The file `save` writes to by default.
    pub(crate) fn config_path(&self) -> Option<PathBuf> {
        self.hooks.config_path.clone()
    }

    /// The statistics as `show stats` and the log lines show them: since `clear stats`.
    pub(crate) fn view(&self, src: &StatsSources<'_>) -> StatsReport {
        let raw = stats::report(src);
        match &self.baseline {
            Some(b) => raw.since(b),
            None => raw,
        }
    }
}

/// A control socket and the level of the commands it serves.
struct ControlSocket {
    listener: UnixListener,
    path: PathBuf,
    level: Level,
}

/// The open listeners. Dropping it removes the socket files.
pub(crate) struct Endpoints {
    /// The admin socket, then the read-only one.
    control: Vec<ControlSocket>,
    /// The sockets' directories Splicer created, so that shutdown leaves nothing.
    created_dirs: Vec<PathBuf>,
    metrics: Option<TcpListener>,
}

impl Endpoints {
    /// Opens what the configuration asks for. Done before DPDK starts, so that a socket
    /// in use or a port taken fails start-up at once, naming the key.
    pub(crate) fn open(dp: &Dataplane) -> Result<Endpoints, RunError> {
        let mut control = Vec::new();
        let mut created_dirs = Vec::new();
        for (key, path, level) in [
            ("control_socket", &dp.control_socket, Level::Admin),
            (
                "control_socket_readonly",
                &dp.control_socket_readonly,
                Level::ReadOnly,
            ),
        ] {
            let Some(path) = path else { continue };
            if let Some(dir) = path.parent().filter(|dir| !dir.exists()) {
                created_dirs.push(dir.to_path_buf());
            }
            // On failure, what was bound already goes: nothing is left behind.
            let listener = bind_control(key, path, level)
                .inspect_err(|_| Endpoints::close(&control, &created_dirs))?;
            control.push(ControlSocket {
                listener,
                path: path.clone(),
                level,
            });
        }
        let metrics = match dp.metrics {
            Some(addr) if !addr.ip().is_loopback() => {
                tracing::warn!(
                    "dataplane.metrics: {addr} is not loopback (metrics_public = true): the metrics and the status page are open to whoever reaches it, without authentication"
                );
                Some(addr)
            }
            other => other,
        };
        let metrics = match metrics {
            Some(addr) => {
                let l = TcpListener::bind(addr).map_err(|e| {
                    RunError(format!("dataplane.metrics: cannot listen on {addr}: {e}"))
                })?;
                l.set_nonblocking(true)
                    .map_err(|e| RunError(format!("dataplane.metrics: {e}")))?;
                tracing::info!("metrics on http://{addr}/metrics, status page on http://{addr}/");
                Some(l)
            }
            None => None,
        };
        Ok(Endpoints {
            control,
            created_dirs,
            metrics,
        })
    }

    /// Removes the socket files, then the directories Splicer created (when empty).
    fn close(control: &[ControlSocket], created_dirs: &[PathBuf]) {
        for c in control {
            if let Err(e) = std::fs::remove_file(&c.path) {
                if e.kind() != ErrorKind::NotFound {
                    tracing::warn!("cannot remove {}: {e}", c.path.display());
                }
            }
        }
        for dir in created_dirs {
            // Only when empty: someone may have put something there meanwhile.
            let _ = std::fs::remove_dir(dir);
        }
    }

    /// Serves the clients that are waiting, then returns.
    pub(crate) fn poll(&self, state: &mut ControlState, base: &StatsBase<'_>, live: &mut Live) {
        let budget = Instant::now() + POLL_BUDGET;
        for socket in &self.control {
            for _ in 0..MAX_PER_POLL {
                if Instant::now() >= budget {
                    break;
                }
                match socket.listener.accept() {
                    Ok((stream, _)) => {
                        let out = serve_control(stream, socket, state, base, live);
                        state.slow.note(out);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => {
                        tracing::warn!("control socket: accept: {e}");
                        break;
                    }
                }
            }
        }
        if let Some(listener) = &self.metrics {
            // The status page's rates: a snapshot every RATE_INTERVAL, only when
            // someone may ask for them.
            state
                .web
                .sample(Instant::now(), || stats::report(&base.with(live)));
            for _ in 0..MAX_PER_POLL {
                if Instant::now() >= budget {
                    break;
                }
                match listener.accept() {
                    Ok((stream, _)) => {
                        let out = http::serve(stream, &state.web, &base.with(live));
                        state.slow.note(out);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => {
                        tracing::warn!("metrics: accept: {e}");
                        break;
                    }
                }
            }
        }
    }
}

impl Drop for Endpoints {
    fn drop(&mut self) {
        Endpoints::close(&self.control, &self.created_dirs);
    }
}

fn bind_control(key: &str, path: &Path, level: Level) -> Result<UnixListener, RunError> {
    let shown = path.display();
    let fail = |what: String| RunError(format!("dataplane.{key}: {what}"));
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(dir)
            .map_err(|e| fail(format!("cannot create {}: {e}", dir.display())))?;
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            // A live socket belongs to another running Splicer: taking it over would leave
            // that one unreachable. A dead one is left over from a crash.
            if UnixStream::connect(path).is_ok() {
                return Err(fail(format!(
                    "{shown} is in use by another running process; give this instance its own control_socket"
                )));
            }
            std::fs::remove_file(path)
                .map_err(|e| fail(format!("cannot remove the stale socket {shown}: {e}")))?;
            tracing::info!("removed the stale control socket {shown}");
        }
        Ok(_) => {
            return Err(fail(format!(
                "{shown} exists and is not a socket; remove it or choose another path"
            )))
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(fail(format!("{shown}: {e}"))),
    }
    let listener =
        UnixListener::bind(path).map_err(|e| fail(format!("cannot listen on {shown}: {e}")))?;
    // Whoever can connect to the admin socket can reconfigure the appliance: root only.
    // The read-only one shows what `show` shows, for monitoring by any local user.
    let mode = match level {
        Level::Admin => 0o600,
        Level::ReadOnly => 0o666,
    };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .and_then(|()| listener.set_nonblocking(true))
        .map_err(|e| {
            let _ = std::fs::remove_file(path);
            fail(format!("{shown}: {e}"))
        })?;
    tracing::info!("control socket {shown} ({})", level.name());
    Ok(listener)
}

/// How serving one client ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Served {
    Done,
    /// The client did not send its request, or take its answer, before the deadline.
    TimedOut,
}

/// Clients given up for slowness, and when that was last logged: one warning per
/// [`SLOW_LOG_INTERVAL`] at most, with the count since the last one.
#[derive(Default)]
pub(crate) struct SlowClients {
    total: u64,
    unlogged: u64,
    logged_at: Option<Instant>,
}

impl SlowClients {
    fn note(&mut self, out: Served) {
        if out != Served::TimedOut {
            return;
        }
        self.total += 1;
        self.unlogged += 1;
        let now = Instant::now();
        if self
            .logged_at
            .is_none_or(|t| now.duration_since(t) >= SLOW_LOG_INTERVAL)
        {
            tracing::warn!(
                "control: {} client(s) too slow to send a request or take an answer within {:?} given up ({} since start)",
                self.unlogged,
                CLIENT_TIMEOUT,
                self.total
            );
            self.unlogged = 0;
            self.logged_at = Some(now);
        }
    }
}

/// A stream whose reads and writes share one deadline: each operation may block only
/// for what is left of it.
pub(crate) struct Deadlined<'a, S> {
    stream: &'a S,
    deadline: Instant,
    /// The deadline passed while the client still had to send or take something.
    expired: bool,
}

/// A socket whose blocking timeouts can be set.
pub(crate) trait Timeouts {
    fn set_timeouts(&self, t: Duration) -> std::io::Result<()>;
}

impl Timeouts for UnixStream {
    fn set_timeouts(&self, t: Duration) -> std::io::Result<()> {
        self.set_read_timeout(Some(t))?;
        self.set_write_timeout(Some(t))
    }
}

impl Timeouts for TcpStream {
    fn set_timeouts(&self, t: Duration) -> std::io::Result<()> {
        self.set_read_timeout(Some(t))?;
        self.set_write_timeout(Some(t))
    }
}

impl<'a, S: Timeouts> Deadlined<'a, S> {
    pub(crate) fn new(stream: &'a S) -> Self {
        Deadlined {
            stream,
            deadline: Instant::now() + CLIENT_TIMEOUT,
            expired: false,
        }
    }

    /// Sets the socket's timeouts to what is left; an error once nothing is.
    fn arm(&mut self) -> std::io::Result<()> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            self.expired = true;
            return Err(ErrorKind::TimedOut.into());
        }
        self.stream.set_timeouts(left)
    }

    /// Starts the deadline again: for the answer, once the command has run.
    pub(crate) fn restart(&mut self) {
        self.deadline = Instant::now() + CLIENT_TIMEOUT;
    }

    pub(crate) fn served(&self) -> Served {
        if self.expired || Instant::now() >= self.deadline {
            Served::TimedOut
        } else {
            Served::Done
        }
    }
}

impl<S: Timeouts> Read for Deadlined<'_, S>
where
    for<'b> &'b S: Read,
{
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.arm()?;
        self.stream.read(buf)
    }
}

impl<S: Timeouts> Write for Deadlined<'_, S>
where
    for<'b> &'b S: Write,
{
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.arm()?;
        self.stream.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.stream.flush()
    }
}

fn serve_control(
    stream: UnixStream,
    socket: &ControlSocket,
    state: &mut ControlState,
    base: &StatsBase<'_>,
    live: &mut Live,
) -> Served {
    if let Err(e) = stream.set_nonblocking(false) {
        tracing::warn!("control socket: {e}");
        return Served::Done;
    }
    let mut io = Deadlined::new(&stream);
    let mut line = String::new();
    let read = BufReader::new((&mut io).take(MAX_REQUEST as u64)).read_line(&mut line);
    let response = match read {
        Ok(_) if !line.ends_with('\n') && line.len() >= MAX_REQUEST => Response::error(format!(
            "request too long: a command is one line of at most {MAX_REQUEST} bytes"
        )),
        // A client that closed its side without a newline still sent a whole line.
        Ok(_) => execute(line.trim(), socket, state, base, live),
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            Response::error("no request: send one line of command text ending with a newline")
        }
        Err(e) if e.kind() == ErrorKind::InvalidData => {
            Response::error("the request is not UTF-8 text")
        }
        Err(e) => {
            tracing::debug!("control socket: read: {e}");
            return io.served();
        }
    };
    io.restart();
    if let Err(e) = io.write_all(response.to_line().as_bytes()) {
        tracing::debug!("control socket: write: {e}");
    }
    io.served()
}

/// Runs one command line. A command that fails changes nothing.
fn execute(
    line: &str,
    socket: &ControlSocket,
    state: &mut ControlState,
    base: &StatsBase<'_>,
    live: &mut Live,
) -> Response {
    let cmd = match command::parse(line) {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!("control: {line:?}: {e}");
            return Response::error(e.0);
        }
    };
    if let Err(e) = permitted(&cmd, line, socket.level, &socket.path) {
        tracing::info!("control: {line:?}: {e}");
        return Response::error(e);
    }
    tracing::debug!("control: {line:?}");
    if let Command::Edit(edit) = &cmd {
        return match live.apply(edit) {
            Ok(text) => {
                // Logged at warn so that every change shows at every level.
                tracing::warn!("control: {line}: {text}");
                Response::text(text)
            }
            Err(e) => {
                tracing::info!("control: {line}: refused: {e}");
                Response::error(e)
            }
        };
    }
    let src = &base.with(live);
    match cmd {
        Command::Edit(_) => unreachable!("handled above"),
        Command::Reload => crate::reload::reload(live, "reload command"),
        Command::Save(path) => match live.save(path.as_deref()) {
            Ok(text) => Response::text(text),
            Err(e) => Response::error(e),
        },
        Command::Show(Show::Flows(query)) => match live.flows(&query) {
            Ok((rows, matched)) => report::show_flows(&rows, matched, &query),
            Err(e) => Response::error(e),
        },
        Command::Show(Show::Url(name)) => report::show_url(src.config, name.as_deref()),
        Command::Show(Show::Rule(name)) => report::show_rule(src.config, name.as_deref()),
        Command::Show(Show::Stats) => {
            let view = state.view(src);
            Response::with_data(view.to_text(), view.to_json())
        }
        Command::Show(Show::Ports(name)) => {
            report::show_ports(port_rows(state, src), name.as_deref())
        }
        Command::Show(Show::Workers) => report::show_workers(worker_rows(state, src)),
        Command::Show(Show::Virtual(name)) => report::show_virtual(
            src.config,
            name.as_deref(),
            &stats::levels(src.config, src.ids, src.workers),
        ),
        Command::Show(Show::Real(name)) => report::show_real(
            src.config,
            &stats::pools(src.config, src.ids, src.workers),
            name.as_deref(),
            &src.health,
        ),
        // Levels, not counters: `clear stats` has nothing to subtract.
        Command::Show(Show::Pools(name)) => report::show_pools(
            &stats::pools(src.config, src.ids, src.workers),
            name.as_deref(),
        ),
        Command::Show(Show::Config) => report::show_config(src.config),
        Command::Show(Show::Cluster) => {
            let sum = |c: Counter| src.workers.iter().map(|w| w.snapshot().get(c)).sum();
            report::show_cluster(live.cluster_report((
                sum(Counter::ClusterStraysForwarded),
                sum(Counter::ClusterStraysDropped),
            )))
        }
        Command::ClearStats => {
            state.baseline = Some(stats::report(src));
            tracing::info!("control: statistics cleared");
            Response::text("statistics cleared: counters shown from now on start at 0")
        }
        Command::LogLevel(level) => match &state.hooks.set_log_level {
            Some(set) => match set(level) {
                Ok(()) => {
                    // Logged at warn so that the change shows at every level.
                    tracing::warn!("control: log level set to {level}");
                    Response::text(format!("log level set to {level}"))
                }
                Err(e) => Response::error(format!("cannot set the log level: {e}")),
            },
            None => Response::error("log level cannot be changed in this process"),
        },
        Command::LogReopen if state.access_log => {
            state.hooks.access_log_reopen.store(true, Ordering::Relaxed);
            tracing::info!("control: access log reopen requested");
            Response::text("access log reopened (lines from now on go to a fresh open of its path)")
        }
        Command::LogReopen => {
            Response::error("the access log is off: no [access_log] in the configuration")
        }
        Command::Show(Show::Announce) => match &state.announcer {
            Some(a) => a.show(Instant::now()),
            None => Response::error(announce::OFF),
        },
        Command::Drain => match &mut state.announcer {
            Some(a) => a.drain(Instant::now(), announce::client_flows(live)),
            None => Response::error(announce::OFF),
        },
        Command::DrainStatus => match &state.announcer {
            Some(a) => a.drain_status(Instant::now(), announce::client_flows(live)),
            None => Response::error(announce::OFF),
        },
        Command::Undrain => match &mut state.announcer {
            Some(a) => a.undrain(),
            None => Response::error(announce::OFF),
        },
        Command::Help(topic) => match command::help(&topic) {
            Ok(text) => Response::text(text),
            Err(e) => Response::error(e.0),
        },
    }
}

/// Whether a socket of `level` may run `cmd` (`line` as the client wrote it); the
/// error names the command, the level and where to go instead.
fn permitted(cmd: &Command, line: &str, level: Level, path: &Path) -> Result<(), String> {
    match (cmd.level(), level) {
        (Level::Admin, Level::ReadOnly) => Err(format!(
            "refused: {line:?} changes the running appliance; this socket ({}) is read-only: use the admin control_socket",
            path.display()
        )),
        _ => Ok(()),
    }
}

fn port_rows(state: &ControlState, src: &StatsSources<'_>) -> Vec<PortRow> {
    let view = state.view(src);
    src.ports
        .iter()
        .zip(&src.config.ports)
        .enumerate()
        .map(|(i, ((name, port), pc))| {
            let nic = view.nic.get(i).and_then(|n| n.as_ref().ok());
            PortRow {
                name: name.clone(),
                id: port.id(),
                driver: port
                    .info()
                    .map_or_else(|e| format!("? ({e})"), |info| info.driver_name),
                mac: port
                    .mac_addr()
                    .map_or_else(|e| format!("? ({e})"), |m| EthernetAddress(m).to_string()),
                address: pc.address.to_string(),
                gateway: pc.gateway.map(|g| g.to_string()),
                link_up: port.link_up(),
                rx_packets: nic.map(|n| n.get("rx_packets")),
                tx_packets: nic.map(|n| n.get("tx_packets")),
            }
        })
        .collect()
}

fn worker_rows(state: &ControlState, src: &StatsSources<'_>) -> Vec<WorkerRow> {
    let view = state.view(src);
    src.workers
        .iter()
        .enumerate()
        .map(|(w, counters)| {
            let c = view.worker(w);
            WorkerRow {
                index: w,
                lcore: src.lcores.get(w).copied().unwrap_or(0),
                queue: w as u16,
                rx_packets: c.get("rx_packets"),
                tx_packets: c.get("tx_packets"),
                flows: counters.gauge(Gauge::Flows),
                half_open: counters.gauge(Gauge::HalfOpen),
                neighbours: counters.gauge(Gauge::Neighbours),
                runtime: view.runtime.get(w).copied().unwrap_or_default(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    /// A client that trickles its request a byte at a time (each read would succeed
    /// well within a per-read timeout) is given up once the exchange's deadline passes,
    /// not after the whole trickle (40 bytes a second for 60 s here).
    #[test]
    fn a_trickling_client_is_given_up_at_the_deadline() {
        let (server, client) = UnixStream::pair().unwrap();
        let trickler = thread::spawn(move || {
            for _ in 0..2400 {
                if (&client).write_all(b"x").is_err() {
                    return;
                }
                thread::sleep(Duration::from_millis(25));
            }
        });
        let start = Instant::now();
        let mut io = Deadlined::new(&server);
        let mut line = String::new();
        let read = BufReader::new((&mut io).take(MAX_REQUEST as u64)).read_line(&mut line);
        let took = start.elapsed();
        assert!(read.is_err(), "{read:?}");
        assert_eq!(io.served(), Served::TimedOut);
        assert!(!line.is_empty() || took >= CLIENT_TIMEOUT);
        // The bound is the deadline plus one read's scheduling slack, far below the
        // trickle's 60 s.
        assert!(took < CLIENT_TIMEOUT * 8, "{took:?}");
        drop(server);
        trickler.join().unwrap();
    }

    /// A client that sends its line at once is served, not counted as slow.
    #[test]
    fn a_prompt_client_is_served() {
        let (server, client) = UnixStream::pair().unwrap();
        (&client).write_all(b"show stats\n").unwrap();
        let mut io = Deadlined::new(&server);
        let mut line = String::new();
        BufReader::new((&mut io).take(MAX_REQUEST as u64))
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line, "show stats\n");
        io.write_all(b"ok\n").unwrap();
        assert_eq!(io.served(), Served::Done);
    }

    /// A command that takes longer than the client's deadline (waiting for the
    /// workers) still gets its answer to a prompt client.
    #[test]
    fn a_slow_command_still_answers() {
        let (server, client) = UnixStream::pair().unwrap();
        (&client).write_all(b"show flows\n").unwrap();
        let mut io = Deadlined::new(&server);
        let mut line = String::new();
        BufReader::new((&mut io).take(MAX_REQUEST as u64))
            .read_line(&mut line)
            .unwrap();
        thread::sleep(CLIENT_TIMEOUT * 2);
        io.restart();
        io.write_all(b"ok\n").unwrap();
        assert_eq!(io.served(), Served::Done);
        let mut answer = String::new();
        BufReader::new(&client).read_line(&mut answer).unwrap();
        assert_eq!(answer, "ok\n");
    }

    #[test]
    fn a_read_only_socket_refuses_what_changes_things() {
        let ro = Path::new("/run/splicer/ro.sock");
        for line in ["show real", "help", "rule list www", "show flows limit 3"] {
            let cmd = command::parse(line).unwrap();
            assert_eq!(permitted(&cmd, line, Level::ReadOnly, ro), Ok(()), "{line}");
        }
        for line in [
            "out-of-service real s1",
            "clear stats",
            "log level debug",
            "save",
            "weight s1 3",
        ] {
            let cmd = command::parse(line).unwrap();
            let e = permitted(&cmd, line, Level::ReadOnly, ro).unwrap_err();
            assert!(e.starts_with(&format!("refused: {line:?} changes")), "{e}");
            assert!(e.contains("/run/splicer/ro.sock) is read-only"), "{e}");
            assert_eq!(permitted(&cmd, line, Level::Admin, ro), Ok(()), "{line}");
        }
    }

    /// The admin socket is root's only; the read-only one anyone's; both go at drop,
    /// with the directory Splicer made for them.
    #[test]
    fn sockets_get_their_modes_and_are_removed() {
        let dir = std::env::temp_dir().join(format!("splicer-ro-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut dp = Dataplane::new(vec!["-l".into(), "0".into()]);
        dp.control_socket = Some(dir.join("admin.sock"));
        dp.control_socket_readonly = Some(dir.join("ro.sock"));
        let endpoints = Endpoints::open(&dp).unwrap();
        let mode = |f: &str| std::fs::metadata(dir.join(f)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode("admin.sock"), 0o600);
        assert_eq!(mode("ro.sock"), 0o666);
        assert_eq!(endpoints.control[1].level, Level::ReadOnly);
        // A second instance on the same read-only socket fails, naming its key, and
        // leaves the first one's sockets alone.
        let mut other = dp.clone();
        other.control_socket = Some(dir.join("admin2.sock"));
        let e = Endpoints::open(&other).err().unwrap().0;
        assert!(e.starts_with("dataplane.control_socket_readonly: "), "{e}");
        assert!(!dir.join("admin2.sock").exists());
        assert!(dir.join("ro.sock").exists());
        drop(endpoints);
        assert!(!dir.exists());
    }

    #[test]
    fn slow_clients_are_counted() {
        let mut slow = SlowClients::default();
        slow.note(Served::Done);
        slow.note(Served::TimedOut);
        slow.note(Served::TimedOut);
        assert_eq!(slow.total, 2);
        // The first was logged at once; the second waits for the interval.
        assert_eq!(slow.unlogged, 1);
    }
}
