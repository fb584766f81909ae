//! The running configuration: what the control shell's commands change, live.
//!
//! A command that changes the configuration is applied to a copy ([`Config::edited`],
//! which validates it); the copy is turned into a new topology for the workers with the
//! same real and virtual indexes as before ([`FarmIds`]), sent to every worker's inbox,
//! and becomes the running configuration once the workers have taken it. A command that
//! fails at any step changes nothing. `save` writes the running configuration as TOML
//! that loads to the same configuration, editing only what changed into the existing file.

use crate::cluster::Heartbeats;
use crate::health::{Board, Policy, RealSetup};
use crossbeam::queue::ArrayQueue;
use splicer_commands::command::FlowQuery;
use splicer_commands::report::{FlowRow, RealHealthRow};
use splicer_config::{Config, Edit, FarmIds, FarmPlan, Saved};
use splicer_pipeline::balance::{Health, HealthEvent};
use splicer_pipeline::flow::FlowFilter;
use splicer_pipeline::{PortSetup, Topology};
use splicer_worker::{ControlMsg, Inbox, CONTROL_QUEUE, NOT_STOPPING};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a command waits for every worker to take a new configuration, and for
/// their flow listings.
const WORKER_WAIT: Duration = Duration::from_secs(1);

/// Reals that can be added while running beyond those the process started with: the
/// workers publish pool levels and count per real into arrays sized at start-up.
pub(crate) const REAL_HEADROOM: usize = 1024;

/// Virtuals (and DIPs) that can be added while running beyond those the process started
/// with: the workers count per virtual and per rule into arrays sized at start-up.
pub(crate) const VIRTUAL_HEADROOM: usize = 256;

/// How many reals and virtuals the workers' per-object rows have room for: everything
/// that ever gets an index while Splicer runs (removed ones keep theirs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Capacity {
    pub(crate) reals: usize,
    pub(crate) virtuals: usize,
}

impl Capacity {
    /// The rows to allocate for a process started with `config`.
    pub(crate) fn for_config(config: &Config) -> Self {
        Capacity {
            reals: config.reals.len() + REAL_HEADROOM,
            virtuals: config.virtuals.len() + config.dips.len() + VIRTUAL_HEADROOM,
        }
    }
}

/// What a reload did.
pub(crate) struct Reloaded {
    /// The file read.
    pub(crate) path: PathBuf,
    /// What changed.
    pub(crate) changes: splicer_config::Changes,
    /// The keys whose change needs a restart, not applied.
    pub(crate) restart: Vec<String>,
    /// How the workers took the change (`ok`, or that some have not confirmed yet);
    /// `None` when nothing was to be applied.
    pub(crate) applied: Option<String>,
}

/// The running configuration and the way to the workers.
pub(crate) struct Live {
    config: Config,
    ids: FarmIds,
    ports: Vec<PortSetup>,
    inboxes: Vec<Arc<Inbox>>,
    generation: u64,
    /// Where `save` writes by default: the file `splicer run` was started with.
    config_path: Option<PathBuf>,
    /// How many reals and virtuals the workers' counter rows have room for.
    capacity: Capacity,
    ticks_per_ms: u64,
    /// The reals' health (`health.rs`), on a clock of milliseconds since `started`.
    health: Board,
    started: Instant,
    /// What the workers reported and the control core has not taken yet.
    events: Arc<ArrayQueue<HealthEvent>>,
    /// The health of every real in the topology the workers were last sent.
    published: Vec<Health>,
    /// The inboxes sent [`ControlMsg::StartStopping`].
    stopping_sent: Vec<bool>,
    /// The cluster's heartbeats, when there is a `[cluster]`.
    cluster: Option<Heartbeats>,
}

/// The topology the workers run for `config`, with indexes from `ids`, every real up.
pub(crate) fn topology(config: &Config, ids: &mut FarmIds, ports: &[PortSetup]) -> Topology {
    with_health(config, ids, ports, |_| {})
}

/// The topology for `config`, its farm passed to `health` to set the reals' health.
fn with_health(
    config: &Config,
    ids: &mut FarmIds,
    ports: &[PortSetup],
    health: impl FnOnce(&mut splicer_pipeline::Farm),
) -> Topology {
    let FarmPlan {
        mut farm,
        services,
        vips,
        dips,
    } = config.plan(ids);
    health(&mut farm);
    Topology::new(ports.to_vec(), &vips)
        .with_dips(&dips)
        .with_services(&services)
        .with_farm(farm)
}

/// What the health board needs of each real of `config`, by index in the workers.
fn real_setups(config: &Config, ids: &FarmIds) -> Vec<RealSetup> {
    let mut setups = vec![RealSetup::default(); ids.real_count()];
    for r in &config.reals {
        if let Some(id) = ids.real(&r.name, r.address) {
            setups[usize::from(id)] = RealSetup {
                rise_fall: r.check.as_ref().map(|c| (c.rise, c.fall)),
                slowstart: r.slowstart,
            };
        }
    }
    setups
}

/// The passive-ejection policy of `config`.
fn policy(config: &Config) -> Policy {
    let dp = &config.dataplane;
    Policy {
        ejection: dp.outlier_ejection,
        max_ejection: dp.outlier_max_ejection,
        max_percent: dp.max_ejection_percent,
    }
}

impl Live {
    /// The running state at start-up: `ids` numbered the topology the workers got
    /// (every real up); the workers report health events to `events`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        config: Config,
        ids: FarmIds,
        ports: Vec<PortSetup>,
        inboxes: Vec<Arc<Inbox>>,
        config_path: Option<PathBuf>,
        capacity: Capacity,
        ticks_per_ms: u64,
        events: Arc<ArrayQueue<HealthEvent>>,
    ) -> Self {
        let mut health = Board::default();
        let farm = config.plan(&mut ids.clone()).farm;
        health.configure(&farm, &real_setups(&config, &ids), 0);
        Live {
            published: vec![Health::UP; farm.reals.len()],
            config,
            ids,
            ports,
            inboxes,
            generation: 0,
            config_path,
            capacity,
            ticks_per_ms: ticks_per_ms.max(1),
            health,
            started: Instant::now(),
            events,
            stopping_sent: Vec::new(),
            cluster: None,
        }
    }

    /// Milliseconds since start-up: the health board's clock.
    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Takes the workers' health events, runs the state machine, logs each change of a
    /// real's state once, and sends the workers a new topology when a real's published
    /// health changed. Called by the control loop every tick.
    pub(crate) fn poll_health(&mut self) {
        let now = self.now_ms();
        let policy = policy(&self.config);
        while let Some(event) = self.events.pop() {
            self.health.on_event(event, &policy, now);
        }
        for (id, from, to) in self.health.tick(now) {
            tracing::warn!("{}", self.health.change_line(id, from, to));
        }
        let healths: Vec<Health> = (0..self.published.len())
            .map(|id| self.health.health(id as u16, now))
            .collect();
        if healths == self.published {
            return;
        }
        if self.inboxes.iter().any(|i| i.pending() >= CONTROL_QUEUE) {
            // A worker is behind: the change goes out on a later tick.
            return;
        }
        let mut ids = self.ids.clone();
        let board = &self.health;
        let topology = Arc::new(with_health(&self.config, &mut ids, &self.ports, |farm| {
            board.apply(farm, now)
        }));
        self.send(topology);
        self.published = healths;
    }

    /// The cluster's heartbeats (bound at start-up, before the workers run).
    pub(crate) fn set_cluster(&mut self, heartbeats: Option<Heartbeats>) {
        self.cluster = heartbeats;
    }

    /// Sends and reads the cluster's heartbeats and tells every worker which peers
    /// are alive when that changed (again on the next tick if an inbox was full).
    /// Called by the control loop every tick.
    pub(crate) fn poll_cluster(&mut self) {
        let Some(hb) = self.cluster.as_mut() else {
            return;
        };
        let Some(states) = hb.poll(Instant::now()) else {
            return;
        };
        let mut all = true;
        for inbox in &self.inboxes {
            all &= inbox.send(ControlMsg::ClusterPeers(states.clone())).is_ok();
        }
        if all {
            hb.delivered();
        }
    }

    /// `show cluster`: `None` without a `[cluster]`.
    pub(crate) fn cluster_report(
        &self,
        strays: (u64, u64),
    ) -> Option<splicer_commands::report::ClusterReport> {
        self.cluster
            .as_ref()
            .map(|hb| hb.report(Instant::now(), strays))
    }

    /// Tells every worker that has not been told yet to refuse new connections (the
    /// process stops gracefully). Returns whether every worker has been told; a full
    /// inbox is tried again on the next call.
    pub(crate) fn start_stopping(&mut self) -> bool {
        self.stopping_sent.resize(self.inboxes.len(), false);
        for (sent, inbox) in self.stopping_sent.iter_mut().zip(&self.inboxes) {
            if !*sent {
                *sent = inbox.send(ControlMsg::StartStopping).is_ok();
            }
        }
        self.stopping_sent.iter().all(|&sent| sent)
    }

    /// The client connections with work in flight on every worker, once every worker
    /// has taken the stop ([`Live::start_stopping`]).
    pub(crate) fn busy(&self) -> Option<u64> {
        self.inboxes
            .iter()
            .try_fold(0u64, |sum, inbox| match inbox.busy() {
                NOT_STOPPING => None,
                busy => Some(sum + busy),
            })
    }

    /// Sends `topology` to every worker as the next generation. The caller checked that
    /// every inbox has room.
    fn send(&mut self, topology: Arc<Topology>) {
        self.generation += 1;
        for inbox in &self.inboxes {
            // Cannot fail: checked for room by the caller, and only this core sends.
            let _ = inbox.send(ControlMsg::Topology {
                generation: self.generation,
                topology: topology.clone(),
            });
        }
    }

    /// Every configured real's health, for `show real` and the metrics.
    pub(crate) fn health_rows(&self) -> Vec<RealHealthRow> {
        let now = self.now_ms();
        self.config
            .reals
            .iter()
            .filter_map(|r| {
                let id = self.ids.real(&r.name, r.address)?;
                let shown = self.health.shown(id);
                Some(RealHealthRow {
                    name: r.name.clone(),
                    state: shown.state.name().to_string(),
                    reason: shown.reason,
                    since_secs: now.saturating_sub(shown.since) / 1000,
                })
            })
            .collect()
    }

    /// Whether the real named `name` is up by its health (checks, ejection) now: what
    /// the announcement of its virtuals' VIPs asks (`announce`).
    pub(crate) fn real_healthy(&self, name: &str) -> bool {
        let now = self.now_ms();
        self.config
            .reals
            .iter()
            .find(|r| r.name == name)
            .and_then(|r| self.ids.real(&r.name, r.address))
            .is_some_and(|id| self.health.health(id, now).up)
    }

    /// The running configuration.
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// The indexes of reals and virtuals in the workers.
    /// The names the access log gives the indexes of its records.
    pub(crate) fn names(&self) -> crate::access_log::Names<'_> {
        crate::access_log::Names {
            config: &self.config,
            ids: &self.ids,
        }
    }

    pub(crate) fn ids(&self) -> &FarmIds {
        &self.ids
    }

    /// Applies `edit` everywhere, or changes nothing and says why.
    pub(crate) fn apply(&mut self, edit: &Edit) -> Result<String, String> {
        let next = self.config.edited(edit)?;
        if next == self.config {
            return Ok("no change".into());
        }
        self.apply_config(next)
    }

    /// Reads the file Splicer was started with again and applies what differs from the
    /// running configuration, but for the keys read only at start-up, which are named
    /// instead. An invalid file changes nothing; the error lists every problem found,
    /// each as `file:line:column: key: message`.
    pub(crate) fn reload(&mut self) -> Result<Reloaded, String> {
        let Some(path) = self.config_path.clone() else {
            return Err("no configuration file to reload: Splicer was not started with one".into());
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}; nothing was changed", path.display()))?;
        let next = splicer_config::check(&text).map_err(|problems| {
            let mut message = format!(
                "{} is not valid ({} problem{}); nothing was changed:",
                path.display(),
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            );
            for p in problems {
                message.push_str(&format!("\n{}:{p}", path.display()));
            }
            message
        })?;
        let restart = self.config.restart_keys(&next);
        let live = self.config.live_part(&next).map_err(|e| {
            format!(
                "{}: {e} (checked with the running [dataplane] and ports, which change only at a restart); nothing was changed",
                path.display()
            )
        })?;
        let changes = self.config.changes(&live);
        let applied = if live == self.config {
            None
        } else {
            Some(self.apply_config(live)?)
        };
        Ok(Reloaded {
            path,
            changes,
            restart,
            applied,
        })
    }

    /// Makes `next` (valid) the running configuration: a new topology for the workers,
    /// with every real and virtual at the index it had. Changes nothing on an error.
    fn apply_config(&mut self, next: Config) -> Result<String, String> {
        let mut ids = self.ids.clone();
        let now = self.now_ms();
        // The health board follows the new configuration (checks added or removed, new
        // reals, new sets) before the reals' health goes into the new farm.
        let farm = next.plan(&mut ids).farm;
        self.health.configure(&farm, &real_setups(&next, &ids), now);
        let board = &self.health;
        let topology = Arc::new(with_health(&next, &mut ids, &self.ports, |farm| {
            board.apply(farm, now)
        }));
        if ids.real_count() > self.capacity.reals {
            return Err(format!(
                "at most {} reals can exist while Splicer runs (removed ones count until a restart); save and restart to add more",
                self.capacity.reals
            ));
        }
        if ids.virtual_count() > self.capacity.virtuals {
            return Err(format!(
                "at most {} virtuals and DIPs can exist while Splicer runs (removed ones count until a restart); save and restart to add more",
                self.capacity.virtuals
            ));
        }
        if let Some(w) = self
            .inboxes
            .iter()
            .position(|i| i.pending() >= CONTROL_QUEUE)
        {
            return Err(format!(
                "worker {w} has not taken the last {CONTROL_QUEUE} changes; it may be stuck, nothing was changed"
            ));
        }
        self.published = topology.farm().reals.iter().map(|r| r.health).collect();
        self.send(topology);
        self.config = next;
        self.ids = ids;
        let deadline = Instant::now() + WORKER_WAIT;
        while self.inboxes.iter().any(|i| i.applied() < self.generation) {
            if Instant::now() >= deadline {
                tracing::warn!(
                    "control: configuration {} sent; not every worker has confirmed it yet",
                    self.generation
                );
                return Ok("applied (not every worker has confirmed it yet)".into());
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        Ok("ok".into())
    }

    /// Writes the running configuration to `path`, or to the file Splicer was started
    /// with. The text is that file's (`path` when it exists, else the file Splicer was
    /// started with) with only what changed edited in, so that its comments and layout
    /// survive ([`Config::to_toml_over`]); the full canonical form when there is no such
    /// file or it cannot be kept (the answer says why). Written to a temporary file first
    /// and renamed, so that a reader never sees half a file.
    pub(crate) fn save(&self, path: Option<&str>) -> Result<String, String> {
        let path: PathBuf = match (path, &self.config_path) {
            (Some(p), _) => PathBuf::from(p),
            (None, Some(p)) => p.clone(),
            (None, None) => {
                return Err("no file to save to: name one (save <file>)".into());
            }
        };
        let template = [Some(&path), self.config_path.as_ref()]
            .into_iter()
            .flatten()
            .find_map(|p| {
                std::fs::read_to_string(p)
                    .ok()
                    .map(|text| (p.clone(), text))
            });
        let (text, note) = match template {
            None => (self.config.to_toml(), String::new()),
            Some((from, file)) => match self.config.to_toml_over(&file) {
                Saved::Merged(text) if from == path => (text, " (comments and layout kept)".into()),
                Saved::Merged(text) => (
                    text,
                    format!(" (comments and layout of {} kept)", from.display()),
                ),
                Saved::Full { text, reason } => {
                    tracing::warn!(
                        "control: save writes the full configuration, comments of {} not kept: {reason}",
                        from.display()
                    );
                    (text, format!(" (in full, comments not kept: {reason})"))
                }
            },
        };
        write_atomically(&path, text.as_bytes())
            .map_err(|e| format!("cannot save to {}: {e}", path.display()))?;
        tracing::info!("control: configuration saved to {}{note}", path.display());
        Ok(format!("saved to {}{note}", path.display()))
    }

    /// The client connections that match `query`, from every worker, and how many
    /// matched in all.
    pub(crate) fn flows(&self, query: &FlowQuery) -> Result<(Vec<FlowRow>, u64), String> {
        let virtual_index = match &query.virtual_id {
            None => None,
            Some(v) => Some(
                self.ids
                    .virtual_index(v)
                    .or_else(|| v.parse().ok().and_then(|ip| self.ids.dip_index(ip)))
                    .ok_or_else(|| format!("virtual {v} does not exist"))?,
            ),
        };
        let real = match &query.real {
            None => None,
            Some(r) => {
                let real = self
                    .config
                    .reals
                    .iter()
                    .find(|x| &x.name == r)
                    .ok_or_else(|| format!("real {r} does not exist"))?;
                self.ids.real(&real.name, real.address)
            }
        };
        let filter = FlowFilter {
            virtual_index,
            real,
            client: query.client,
            limit: query.limit as usize,
        };
        let (tx, rx) = crossbeam::channel::unbounded();
        for (w, inbox) in self.inboxes.iter().enumerate() {
            if inbox
                .send(ControlMsg::ListFlows {
                    filter,
                    reply: tx.clone(),
                })
                .is_err()
            {
                return Err(format!(
                    "worker {w} is not taking requests; it may be stuck"
                ));
            }
        }
        drop(tx);
        let mut rows = Vec::new();
        let mut matched = 0;
        let deadline = Instant::now() + WORKER_WAIT;
        for (w, _) in self.inboxes.iter().enumerate() {
            let left = deadline.saturating_duration_since(Instant::now());
            let (flows, m) = rx
                .recv_timeout(left)
                .map_err(|_| format!("worker {w} did not answer within {WORKER_WAIT:?}"))?;
            matched += m;
            rows.extend(flows.into_iter().map(|f| (w, f)));
        }
        // Which worker answered first is arbitrary; show them in a stable order.
        rows.sort_by_key(|(_, f)| (f.client, f.vip));
        let rows = rows
            .into_iter()
            .take(query.limit as usize)
            .map(|(w, f)| FlowRow {
                worker: w as u16,
                client: f.client,
                vip: f.vip,
                virtual_name: self
                    .ids
                    .virtual_name(f.virtual_index)
                    .unwrap_or_else(|| "?".into()),
                state: f.state.to_string(),
                real: f
                    .real
                    .and_then(|r| self.ids.real_name(r))
                    .map(str::to_string),
                server_local: f.server_local,
                requests: f.requests,
                in_flight: f.in_flight,
                held: f.held,
                idle_ms: f.idle_ticks / self.ticks_per_ms,
            })
            .collect();
        Ok((rows, matched))
    }
}

pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}
