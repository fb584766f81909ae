//! Announcement of the VIPs to the routers (`[announce]`, docs/SCALE-OUT.md): a VIP is
//! announced while one of its virtuals can serve (in service, with a healthy real in
//! service, or a redirect virtual) and the port that owns it is up, once that has held
//! for `hold_down`; it is withdrawn at once when not, when the appliance is drained
//! (`drain`), and when it stops. The routes go to a local BIRD ([`speaker`]), which
//! speaks BGP to the routers; they spread the flows over the appliances by ECMP.

mod bird;
mod speaker;

pub(crate) use speaker::Route;

use crate::live::Live;
use crate::stats::StatsBase;
use speaker::Speaker;
use splicer_commands::command::FlowQuery;
use splicer_commands::report;
use splicer_commands::Response;
use splicer_config::{Announce, Config, Mode};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

/// What a VIP is, as `show announce` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    Announced,
    /// Fit to announce, waiting for `hold_down` to pass.
    HeldDown,
    Withdrawn,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Announced => "announced",
            State::HeldDown => "held down",
            State::Withdrawn => "withdrawn",
        }
    }
}

/// A VIP of the configuration and whether it can be announced now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub(crate) vip: Ipv4Addr,
    /// The address of the port that owns it: where the routers send its traffic.
    pub(crate) next_hop: Ipv4Addr,
    pub(crate) fit: bool,
    /// Why it is not fit (empty when it is).
    pub(crate) why: String,
}

/// The VIPs of `config` (one per address, DIPs left out: they are reals' addresses)
/// and whether each can be announced: one of its virtuals is in service and can serve
/// (a redirect virtual; or a real of its bind lists or backup is `healthy` and in
/// service), and its port is up (`link_up`, by port index).
pub(crate) fn candidates(
    config: &Config,
    healthy: impl Fn(&str) -> bool,
    link_up: impl Fn(usize) -> bool,
) -> Vec<Candidate> {
    let mut by_vip: BTreeMap<Ipv4Addr, Candidate> = BTreeMap::new();
    for (i, v) in config.virtuals.iter().enumerate() {
        let vip = *v.address.ip();
        let port = config.virtual_port_index(i);
        let next_hop = config.ports[port].address.addr;
        let serving_real = |name: &String| {
            config
                .reals
                .iter()
                .any(|r| &r.name == name && r.state.is_in_service() && healthy(name))
        };
        let why = if !v.state.is_in_service() {
            format!("virtual {} out of service", v.name)
        } else if !link_up(port) {
            format!("port {} down", config.ports[port].name)
        } else if v.mode == Mode::Redirect
            || v.bind
                .iter()
                .chain(v.rules.iter().flat_map(|r| r.bind.iter()))
                .chain(v.backup.iter())
                .any(serving_real)
        {
            String::new()
        } else {
            format!("virtual {}: no healthy real in service", v.name)
        };
        let c = by_vip.entry(vip).or_insert_with(|| Candidate {
            vip,
            next_hop,
            fit: false,
            why: String::new(),
        });
        if why.is_empty() {
            c.fit = true;
            c.why.clear();
        } else if !c.fit && !c.why.split("; ").any(|w| w == why) {
            if !c.why.is_empty() {
                c.why.push_str("; ");
            }
            c.why.push_str(&why);
        }
    }
    by_vip.into_values().collect()
}

/// [`candidates`] of the running appliance: the health of its reals, its ports' links
/// (unless `check_link` is off).
pub(crate) fn candidates_now(base: &StatsBase<'_>, live: &Live) -> Vec<Candidate> {
    let check_link = live.config().announce.as_ref().is_none_or(|a| a.check_link);
    candidates(
        live.config(),
        |name| live.real_healthy(name),
        |p| !check_link || base.ports.get(p).is_some_and(|(_, port)| port.link_up()),
    )
}

/// The client connections open on every worker now (as `show flows` counts them: the
/// flow table's gauge also counts the pooled server connections), or `None` when a
/// worker did not answer.
pub(crate) fn client_flows(live: &Live) -> Option<u64> {
    let query = FlowQuery {
        limit: 1,
        ..FlowQuery::default()
    };
    live.flows(&query).ok().map(|(_, matched)| matched)
}

fn count(flows: Option<u64>) -> String {
    flows.map_or_else(
        || "? (a worker did not answer)".to_string(),
        |f| f.to_string(),
    )
}

/// How often a drained appliance counts its flows to log when none is left.
const DRAIN_CHECK: Duration = Duration::from_secs(1);

/// The answer to the announcement's commands when `[announce]` is off.
pub(crate) const OFF: &str =
    "announcement is off: no [announce] in the configuration (docs/SCALE-OUT.md)";

/// One VIP's announcement.
#[derive(Debug, Clone)]
struct Vip {
    next_hop: Ipv4Addr,
    /// Fit without a break since then.
    fit_since: Option<Instant>,
    why: String,
    state: State,
    since: Instant,
}

/// The announcer: the state of every VIP and the speaker that puts it into effect.
pub(crate) struct Announcer {
    setup: Announce,
    vips: BTreeMap<Ipv4Addr, Vip>,
    /// `drain` was asked for, at this time; the flows left were last logged as this.
    drained_at: Option<Instant>,
    drain_logged_empty: bool,
    drain_checked: Option<Instant>,
    /// Stopping: everything withdrawn for good.
    stopping: bool,
    /// The routes last sent to the speaker, and their generation.
    sent: Option<Vec<Route>>,
    generation: u64,
    speaker: Option<Speaker>,
}

/// Withdraws every VIP `setup`'s routes file announces: writes it with no route and
/// has BIRD configure itself. For after Splicer has stopped, crashed included (the
/// systemd unit's `ExecStopPost`): BIRD outlives a crashed Splicer, and without this its
/// routes stay announced, black-holing the routers' share of flows, until Splicer
/// starts again (or for good, when it cannot start).
pub fn withdraw(setup: &Announce) -> Result<String, String> {
    speaker::put_into_effect(&setup.bird_socket, &setup.routes_file, &[])
}

impl Announcer {
    /// Starts the speaker for `setup`. Nothing is announced before `hold_down` has
    /// passed: the first routes file (empty) withdraws whatever an earlier run left.
    pub(crate) fn start(setup: &Announce) -> Result<Announcer, String> {
        let speaker = Speaker::start(setup.bird_socket.clone(), setup.routes_file.clone())?;
        tracing::info!(
            "announce: VIPs go to BIRD at {} through {} (hold_down {:?})",
            setup.bird_socket.display(),
            setup.routes_file.display(),
            setup.hold_down
        );
        Ok(Announcer::with_speaker(setup, Some(speaker)))
    }

    fn with_speaker(setup: &Announce, speaker: Option<Speaker>) -> Announcer {
        Announcer {
            setup: setup.clone(),
            vips: BTreeMap::new(),
            drained_at: None,
            drain_logged_empty: false,
            drain_checked: None,
            stopping: false,
            sent: None,
            generation: 0,
            speaker,
        }
    }

    /// Takes the VIPs' fitness now, moves their states, and has the routes put into
    /// effect when they changed. Called every control tick.
    pub(crate) fn poll(&mut self, now: Instant, candidates: Vec<Candidate>) {
        let hold = self.setup.hold_down;
        let blocked = self.drained_at.is_some() || self.stopping;
        let mut seen = Vec::with_capacity(candidates.len());
        for c in candidates {
            seen.push(c.vip);
            let v = self.vips.entry(c.vip).or_insert_with(|| Vip {
                next_hop: c.next_hop,
                fit_since: None,
                why: String::new(),
                state: State::Withdrawn,
                since: now,
            });
            v.next_hop = c.next_hop;
            v.why = c.why;
            v.fit_since = if c.fit {
                v.fit_since.or(Some(now))
            } else {
                None
            };
            let state = match v.fit_since {
                _ if blocked => State::Withdrawn,
                None => State::Withdrawn,
                Some(t) if now.duration_since(t) >= hold => State::Announced,
                Some(_) => State::HeldDown,
            };
            if state != v.state {
                let line = format!(
                    "announce: {} {} -> {}{}",
                    c.vip,
                    v.state.name(),
                    state.name(),
                    if state == State::Withdrawn && !blocked {
                        format!(": {}", v.why)
                    } else {
                        String::new()
                    }
                );
                if state == State::HeldDown {
                    tracing::info!("{line}");
                } else {
                    tracing::warn!("{line}");
                }
                v.state = state;
                v.since = now;
            }
        }
        // A VIP removed from the configuration is withdrawn with it.
        self.vips.retain(|vip, _| seen.contains(vip));
        let routes: Vec<Route> = self
            .vips
            .iter()
            .filter(|(_, v)| v.state == State::Announced)
            .map(|(&vip, v)| Route {
                vip,
                next_hop: v.next_hop,
            })
            .collect();
        if self.sent.as_ref() != Some(&routes) {
            self.generation += 1;
            if let Some(s) = &self.speaker {
                s.send(self.generation, routes.clone());
            }
            self.sent = Some(routes);
        }
    }

    /// While drained, counts the client connections left (`flows`, at most once a
    /// [`DRAIN_CHECK`]) to log when none is.
    pub(crate) fn watch_drain(&mut self, now: Instant, flows: impl FnOnce() -> Option<u64>) {
        if self.drained_at.is_none() || self.drain_logged_empty {
            return;
        }
        if self
            .drain_checked
            .is_some_and(|t| now.duration_since(t) < DRAIN_CHECK)
        {
            return;
        }
        self.drain_checked = Some(now);
        if flows() == Some(0) {
            tracing::warn!("drain: every VIP withdrawn and no flow left");
            self.drain_logged_empty = true;
        }
    }

    /// Withdraws everything for good (the process stops); [`Announcer::withdrawn`]
    /// says when BIRD has it.
    pub(crate) fn stop(&mut self, now: Instant, candidates: Vec<Candidate>) {
        if !self.stopping {
            tracing::warn!("announce: stopping: every VIP is withdrawn");
        }
        self.stopping = true;
        self.poll(now, candidates);
    }

    /// Whether BIRD has confirmed the routes last sent.
    pub(crate) fn withdrawn(&self) -> bool {
        self.speaker
            .as_ref()
            .is_none_or(|s| s.status().confirmed >= self.generation)
    }

    /// Ends the speaker thread (after what was sent last).
    pub(crate) fn finish(&mut self) {
        if let Some(s) = &mut self.speaker {
            s.stop();
        }
    }

    /// `drain`: withdraws every VIP (from the next poll) until `undrain`. `flows`: the
    /// client connections open (`None`: a worker did not answer).
    pub(crate) fn drain(&mut self, now: Instant, flows: Option<u64>) -> Response {
        if self.drained_at.is_none() {
            self.drained_at = Some(now);
            self.drain_logged_empty = false;
            self.drain_checked = None;
            tracing::warn!(
                "control: drain: every VIP is withdrawn ({} flows open)",
                count(flows)
            );
        }
        self.drain_status(now, flows)
    }

    /// `undrain`: the VIPs fit to announce are announced again.
    pub(crate) fn undrain(&mut self) -> Response {
        match self.drained_at.take() {
            Some(_) => {
                tracing::warn!("control: undrain: the VIPs fit to announce are announced again");
                let fit = self.vips.values().filter(|v| v.fit_since.is_some()).count();
                Response::text(format!(
                    "undrained: {fit} VIP(s) fit to announce are announced again (after hold_down when fit for less)"
                ))
            }
            None => Response::text("not drained: nothing to do"),
        }
    }

    /// `drain status`.
    pub(crate) fn drain_status(&self, now: Instant, flows: Option<u64>) -> Response {
        let Some(at) = self.drained_at else {
            return Response::with_data(
                format!("not drained ({} flows open)", count(flows)),
                serde_json::json!({"drained": false, "flows": flows}),
            );
        };
        let secs = now.duration_since(at).as_secs();
        let text = if flows == Some(0) {
            format!("drained for {secs}s: every VIP withdrawn, no flow left")
        } else {
            format!(
                "draining for {secs}s: every VIP withdrawn, {} flows left",
                count(flows)
            )
        };
        Response::with_data(
            text,
            serde_json::json!({"drained": true, "since_secs": secs, "flows": flows, "empty": flows == Some(0)}),
        )
    }

    /// `show announce`.
    pub(crate) fn show(&self, now: Instant) -> Response {
        let status = self
            .speaker
            .as_ref()
            .map(Speaker::status)
            .unwrap_or_default();
        let headers: Vec<String> = ["vip", "next_hop", "state", "since", "why"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut rows = Vec::new();
        let mut json_vips = Vec::new();
        for (vip, v) in &self.vips {
            let since = now.duration_since(v.since).as_secs();
            let why = match v.state {
                State::Withdrawn if self.stopping => "stopping".to_string(),
                State::Withdrawn if self.drained_at.is_some() => "drained".to_string(),
                State::Withdrawn => v.why.clone(),
                State::HeldDown => format!("hold_down {:?}", self.setup.hold_down),
                State::Announced => String::new(),
            };
            rows.push(vec![
                vip.to_string(),
                v.next_hop.to_string(),
                v.state.name().to_string(),
                format!("{since}s"),
                why.clone(),
            ]);
            json_vips.push(serde_json::json!({
                "vip": vip.to_string(), "next_hop": v.next_hop.to_string(),
                "state": v.state.name(), "since_secs": since, "why": why,
            }));
        }
        let answered = status.answered_at.map_or_else(
            || "never".to_string(),
            |t| format!("{}s ago", now.duration_since(t).as_secs()),
        );
        let mut text = report::table(&headers, rows);
        text.push_str(&format!(
            "\nBIRD {} (routes file {}): last answer {answered}: {}\nconfigures {}, failures {}, in effect: {}{}\n",
            self.setup.bird_socket.display(),
            self.setup.routes_file.display(),
            if status.last_answer.is_empty() { "-" } else { &status.last_answer },
            status.configures,
            status.failures,
            if status.confirmed >= self.generation { "yes" } else { "not yet" },
            if self.drained_at.is_some() { "; drained" } else { "" },
        ));
        Response::with_data(
            text,
            serde_json::json!({
                "vips": json_vips,
                "bird_socket": self.setup.bird_socket.display().to_string(),
                "routes_file": self.setup.routes_file.display().to_string(),
                "last_answer": status.last_answer,
                "last_ok": status.ok,
                "configures": status.configures,
                "failures": status.failures,
                "in_effect": status.confirmed >= self.generation,
                "drained": self.drained_at.is_some(),
            }),
        )
    }

    /// The routes last sent to BIRD (tests).
    #[cfg(test)]
    fn routes(&self) -> Vec<Route> {
        self.sent.clone().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests;
