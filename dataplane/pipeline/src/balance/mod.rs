//! The lookup stage for requests: which real server a request goes to.
//!
//! A [`Farm`] is what the control core tells the workers about the server side: the
//! reals, the redirect URLs, and per virtual server its mode, content rules, default
//! bind list, predictor, service status and backup. A request head is matched against
//! the virtual's rules in order; the first match picks that rule's set of members, no
//! match picks the virtual's `bind` set, and the predictor chooses one member inside
//! the set: a real to splice to (splice mode) or a URL to redirect to (redirect mode,
//! from Cisco's "Server load balancing method and system", US 7,099,915). When the
//! virtual is out of service or no member can take the request,
//! the virtual's backup is tried, and so on along the backup chain ([`Farm::decide`]);
//! when nothing can, the client leg answers `503`.
//!
//! The control core sends a new farm whenever the configuration changes. Reals and
//! virtuals keep their index for the life of the process (a removed one stays as an
//! entry with [`Status::Removed`]), because workers index their server pools and
//! client connections by them.

mod decide;
pub mod health;
pub mod load;
pub mod maglev;
pub mod predictor;
mod routed;
pub mod sticky;

pub use decide::{Decision, Spill, MAX_BACKUP_HOPS};
pub use health::{Check, CheckFailure, Expect, Health, HealthEvent};
pub use load::{Loads, Measure, NoLoads, RealLoad};
pub use maglev::HashKey;
pub use predictor::{Inputs, Predictor, PredictorState};
pub use routed::{Connection, Routed};
pub use sticky::{Sticky, StickyClient, StickyOutcome, StickyTable};

use splicer_http::{RequestHead, Rule};
use std::net::{Ipv4Addr, SocketAddrV4};

/// Index of a real in [`Farm::reals`].
pub type RealId = u16;

/// Index of a URL in [`Farm::urls`].
pub type UrlId = u16;

/// Whether a real, virtual or URL takes new work, and what happens to the work it has
/// (the configuration's `state`; the in-service / out-of-service kinds of
/// US 7,099,915).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Status {
    /// Takes new requests.
    #[default]
    InService,
    /// Takes no new requests; work in flight finishes; idle pooled connections stay.
    OutOfService,
    /// As `OutOfService`, and idle pooled server connections are closed, not refilled.
    Maintenance,
    /// Takes requests only from client connections it served before (a real), or only
    /// on client connections already open (a virtual).
    Sticky,
    /// Its client and server connections are reset.
    Failed,
    /// Deleted from the configuration: as `Maintenance`; kept so that indexes stay.
    Removed,
}

impl Status {
    /// Whether server connections to a real in this status are kept in its pool.
    pub fn keeps_pool(self) -> bool {
        matches!(
            self,
            Status::InService | Status::OutOfService | Status::Sticky
        )
    }

    /// Whether a request may use it. `returning`: the request comes from a client
    /// connection that this real served before (for a real), or that was opened before
    /// this request (for a virtual).
    pub fn admits(self, returning: bool) -> bool {
        match self {
            Status::InService => true,
            Status::Sticky => returning,
            _ => false,
        }
    }
}

/// Where the backup of a real or virtual sends new work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    /// Spliced to this real.
    Real(RealId),
    /// Handled by this virtual: routed by its rules, or redirected afresh.
    Virtual(u16),
    /// Redirected to this URL.
    Url(UrlId),
}

/// A URL that redirect virtuals send clients to (the `url` of US 7,099,915).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// Name from the configuration.
    pub name: String,
    /// The Location template, with `%h %s %d` macros.
    pub template: String,
    /// The redirect status code.
    pub code: u16,
    /// Share of the redirects of a set, as resolved by the control core (a URL linked to
    /// a DIP has the weight of the DIP's real).
    pub weight: u16,
    /// Whether it takes redirects: its own state and, through `link`, the linked
    /// virtual's or DIP real's, resolved by the control core.
    pub in_service: bool,
}

/// What a virtual does with a request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    /// Splice it onto a server connection of one of the reals (members are reals).
    #[default]
    Splice,
    /// Answer it with a redirect to one of the URLs (members are URLs).
    Redirect,
    /// An L4 pass-through: each client connection is spliced as a byte stream onto a
    /// fresh server connection to one of the reals, without reading HTTP (members are
    /// reals; no rules).
    Tcp,
    /// TCP handoff: the request is read and routed as in `Splice`, then the client's
    /// connection is handed to the real's agent, which answers the client directly
    /// (`flow::handoff`; members are reals).
    Handoff,
}

/// A real (back-end) server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Real {
    /// Name from the configuration, for logs and statistics.
    pub name: String,
    /// Address and TCP port the server listens on.
    pub address: SocketAddrV4,
    /// Share of new requests relative to the other reals of a set; 0 takes none.
    pub weight: u16,
    /// Idle server connections each worker keeps open to this real.
    pub pool: u16,
    /// Most server connections each worker opens to this real, idle and busy.
    pub maxconns: u16,
    /// Whether it takes new requests.
    pub status: Status,
    /// Where new connections to its DIP go while it takes none.
    pub backup: Option<Target>,
    /// 1 for an origin (the freshest copy), 2 for a mirror, and so on: within a set, a
    /// real of a higher number takes requests only while every real of a lower number
    /// is full or cannot take them (the freshest-copy preference of Circadence's
    /// "Load balancing between multiple web servers", US 2002/0059170 A1).
    pub tier: u8,
    /// Its active check, if it has one.
    pub check: Option<Check>,
    /// Its health as the control core last published it.
    pub health: Health,
    /// Where its host's handoff agent listens (`mode = "handoff"` virtuals).
    pub agent: Option<SocketAddrV4>,
    /// Its `handoff_mode` is `"routed"`: after a handoff the client's packets are
    /// rewritten to its `address` and routed there (`flow::handoff_routed`), instead
    /// of forwarded by MAC to the agent's address.
    pub handoff_routed: bool,
    /// A server on Splicer's own host, behind an exception port: requests routed to it
    /// have their connection replayed into that kernel (`flow::local`).
    pub local: bool,
}

impl Real {
    /// An in-service real with no backup.
    pub fn new(
        name: impl Into<String>,
        address: SocketAddrV4,
        weight: u16,
        pool: u16,
        maxconns: u16,
    ) -> Self {
        Real {
            name: name.into(),
            address,
            weight,
            pool,
            maxconns,
            status: Status::InService,
            backup: None,
            tier: 1,
            check: None,
            health: Health::UP,
            agent: None,
            handoff_routed: false,
            local: false,
        }
    }

    /// Whether a request of `cost` fits beside `inflight` (the cost of the requests it
    /// has in flight on this worker): the high-water mark is `maxconns`. A request that
    /// costs more than `maxconns` fits only an idle real, or it could never be served.
    pub fn has_room(&self, inflight: u32, cost: u16) -> bool {
        inflight == 0 || inflight + u32::from(cost) <= u32::from(self.maxconns)
    }

    /// Whether a request may use it: its status admits it (see [`Status::admits`]) and
    /// it is up (not down by its checks, not ejected).
    pub fn admits(&self, returning: bool) -> bool {
        self.status.admits(returning) && self.health.up
    }

    /// How many idle connections each worker keeps open to it now.
    pub fn pool_target(&self) -> u16 {
        if self.status.keeps_pool() {
            self.pool
        } else {
            0
        }
    }
}

/// A content rule and the members it sends matching requests to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRoute {
    /// Name of the rule (for statistics): the configuration's `name`, or `rule<N>`.
    pub name: String,
    /// The conditions.
    pub rule: Rule,
    /// What serves matching requests: [`RealId`]s in splice mode, [`UrlId`]s in
    /// redirect mode.
    pub members: Vec<u16>,
    /// The priority and cost of matching requests.
    pub class: RequestClass,
    /// In splice mode, URLs beside the reals: a share of the requests, by weight, is
    /// redirected to them (cross-site sharing, US 7,099,915). Empty otherwise.
    pub urls: Vec<UrlId>,
    /// Its own predictor, instead of the virtual's.
    pub predictor: Option<Predictor>,
    /// Its own `maglev` key, instead of the virtual's.
    pub hash: Option<HashKey>,
}

impl RuleRoute {
    /// A rule with the virtual's predictor and key.
    pub fn new(name: impl Into<String>, rule: Rule, members: Vec<u16>) -> Self {
        RuleRoute {
            name: name.into(),
            rule,
            members,
            predictor: None,
            hash: None,
            class: RequestClass::default(),
            urls: Vec::new(),
        }
    }
}

/// How a request counts against a real's high-water mark and how it queues when every
/// real of its set is full (the request types of Circadence's
/// "Load balancing between multiple web servers", US 2002/0059170 A1: media, dynamic, static).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestClass {
    /// 0 (lowest) to 7 (highest): the order in which queued requests take freed slots.
    pub priority: u8,
    /// Slots of a real's `maxconns` the request takes while in flight (at least 1).
    pub cost: u16,
}

impl RequestClass {
    /// Priority of a rule or bind list that sets none: the middle, so that some traffic
    /// can be ranked below the rest as well as above.
    pub const DEFAULT_PRIORITY: u8 = 4;
    /// The highest priority.
    pub const MAX_PRIORITY: u8 = 7;
}

impl Default for RequestClass {
    fn default() -> Self {
        RequestClass {
            priority: Self::DEFAULT_PRIORITY,
            cost: 1,
        }
    }
}

/// How one virtual server chooses reals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualPolicy {
    /// Name from the configuration (a DIP: its address).
    pub name: String,
    /// Splice to reals or redirect to URLs.
    pub mode: Mode,
    /// How a member is chosen inside a set (a rule may have its own).
    pub predictor: Predictor,
    /// What `maglev` hashes (a rule may have its own).
    pub hash: HashKey,
    /// Content rules, in order; the first that matches wins.
    pub rules: Vec<RuleRoute>,
    /// Members for requests no rule matches ([`RealId`]s or [`UrlId`]s, by `mode`).
    pub bind: Vec<u16>,
    /// Whether it takes new connections and requests.
    pub status: Status,
    /// Where its requests go while it takes none, or when no member can take one.
    pub backup: Option<Target>,
    /// The priority and cost of requests no rule matches (the bind list's).
    pub class: RequestClass,
    /// Most requests of this virtual one worker keeps waiting while every real of
    /// their set is full; 0 refuses them at once.
    pub queue_size: u32,
    /// In splice mode, URLs bound beside the reals of `bind` (see [`RuleRoute::urls`]).
    pub bind_urls: Vec<UrlId>,
    /// Client stickiness with a timer (splice mode): the same client address goes to
    /// the same real while it keeps coming back within the timer.
    pub sticky: Option<Sticky>,
}

impl VirtualPolicy {
    /// An in-service splice virtual with no backup.
    pub fn splice(
        name: impl Into<String>,
        predictor: Predictor,
        rules: Vec<RuleRoute>,
        bind: Vec<RealId>,
    ) -> Self {
        VirtualPolicy {
            name: name.into(),
            mode: Mode::Splice,
            predictor,
            hash: HashKey::Source,
            rules,
            bind,
            status: Status::InService,
            backup: None,
            class: RequestClass::default(),
            queue_size: Self::DEFAULT_QUEUE_SIZE,
            bind_urls: Vec::new(),
            sticky: None,
        }
    }

    /// `queue_size` when the configuration sets none.
    pub const DEFAULT_QUEUE_SIZE: u32 = 256;

    /// The priority and cost of requests that `route` selects.
    pub fn class(&self, route: Route) -> RequestClass {
        match route {
            Route::Rule(n) => self.rules.get(n).map_or(self.class, |r| r.class),
            Route::Bind => self.class,
        }
    }

    /// The members `route` selects.
    pub fn members(&self, route: Route) -> &[u16] {
        match route {
            Route::Rule(n) => self.rules.get(n).map_or(&[][..], |r| &r.members[..]),
            Route::Bind => &self.bind[..],
        }
    }
}

impl VirtualPolicy {
    /// The predictor and `maglev` key of the set `route` selects: the rule's own, else
    /// the virtual's.
    pub fn chooser(&self, route: Route) -> (Predictor, &HashKey) {
        let rule = match route {
            Route::Rule(n) => self.rules.get(n),
            Route::Bind => None,
        };
        (
            rule.and_then(|r| r.predictor).unwrap_or(self.predictor),
            rule.and_then(|r| r.hash.as_ref()).unwrap_or(&self.hash),
        )
    }
}

/// What a worker knows of the request and the reals when it chooses: the reals' load
/// (its own measurements) and the client's address (`maglev`'s default key).
pub struct View<'a> {
    /// The load and quality of every real, by [`RealId`].
    pub loads: &'a dyn Loads,
    /// The client's address.
    pub client: Ipv4Addr,
}

/// The server side of the appliance, shared read-only by the workers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Farm {
    /// Every real, in configuration order.
    pub reals: Vec<Real>,
    /// Per virtual server, indexed by [`crate::Service::virtual_index`].
    pub virtuals: Vec<VirtualPolicy>,
    /// Redirect targets.
    pub urls: Vec<Url>,
}

/// One worker's predictor memories: one per rule and one for the bind list of every
/// virtual, created on first use.
#[derive(Debug, Default)]
pub struct Choices {
    per_virtual: Vec<(Vec<PredictorState>, PredictorState)>,
    /// How the latest decision spilled over.
    spill: Spill,
    /// The cost of the request the latest splice decision placed.
    cost: u16,
    /// Per set, the split between splicing and redirecting to URLs beside the reals.
    cross: Vec<(Vec<CrossSite>, CrossSite)>,
    /// Per sticky virtual, the next set of its table this worker sweeps.
    sweep: Vec<usize>,
}

/// One worker's memory of a set's split between its reals and its URLs: a smooth
/// weighted round robin over the two sides, then one over the URLs.
#[derive(Debug, Default)]
pub struct CrossSite {
    /// The current weights of the splice side and the redirect side.
    current: [i64; 2],
    /// The rotation over the URLs.
    pub urls: PredictorState,
}

impl CrossSite {
    /// Whether the next request is redirected, the two sides weighing `splice` and
    /// `redirect` (the sums of their admissible members' weights): over any window of
    /// `splice + redirect` requests, exactly `redirect` are (smooth weighted round
    /// robin, as [`Predictor::RoundRobin`]). `None` when both weigh nothing.
    pub fn redirects(&mut self, splice: u64, redirect: u64) -> Option<bool> {
        let weights = [splice as i64, redirect as i64];
        let total = weights[0] + weights[1];
        if total == 0 {
            return None;
        }
        for (c, w) in self.current.iter_mut().zip(weights) {
            *c += w;
        }
        let side =
            usize::from(weights[1] > 0 && (weights[0] == 0 || self.current[1] > self.current[0]));
        self.current[side] -= total;
        Some(side == 1)
    }
}

/// The entry of `route` in a per-virtual memory, created on first use.
fn per_route<T: Default>(rows: &mut Vec<(Vec<T>, T)>, virtual_index: u16, route: Route) -> &mut T {
    let v = usize::from(virtual_index);
    if rows.len() <= v {
        rows.resize_with(v + 1, Default::default);
    }
    let (rules, bind) = &mut rows[v];
    match route {
        Route::Bind => bind,
        Route::Rule(n) => {
            if rules.len() <= n {
                rules.resize_with(n + 1, Default::default);
            }
            &mut rules[n]
        }
    }
}

impl Choices {
    /// How the latest splice decision ([`Farm::decide_observed`],
    /// [`Farm::place_queued`]) went past full reals.
    pub fn spill(&self) -> Spill {
        self.spill
    }

    /// The cost of the request the latest splice decision placed (its rule's, or 1
    /// for a backup real).
    pub fn cost(&self) -> u16 {
        self.cost.max(1)
    }

    /// The memory of the set `route` selects in virtual `virtual_index`.
    pub fn state(&mut self, virtual_index: u16, route: Route) -> &mut PredictorState {
        per_route(&mut self.per_virtual, virtual_index, route)
    }

    /// The split memory of the set `route` selects in virtual `virtual_index`.
    pub fn cross_site(&mut self, virtual_index: u16, route: Route) -> &mut CrossSite {
        per_route(&mut self.cross, virtual_index, route)
    }
}

/// Which set of reals a request head selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Rule `n` of the virtual matched.
    Rule(usize),
    /// No rule matched: the virtual's bind list.
    Bind,
}

impl Farm {
    /// The URLs beside the reals of the set `route` selects in splice virtual
    /// `virtual_index` (empty when none, or for a redirect virtual).
    pub fn route_urls(&self, virtual_index: u16, route: Route) -> &[UrlId] {
        let Some(v) = self.virtuals.get(usize::from(virtual_index)) else {
            return &[];
        };
        match route {
            Route::Bind => &v.bind_urls,
            Route::Rule(n) => v.rules.get(n).map_or(&[], |r| &r.urls[..]),
        }
    }

    /// Sweeps `sets` sets of every sticky virtual's table, from where this worker left
    /// off, emptying the entries unused for [`sticky::STALE_S`] (see [`sticky`]). `now_s`: the clock of
    /// [`StickyClient::now_s`].
    pub fn sweep_sticky(&self, choices: &mut Choices, now_s: u16, sets: usize) {
        if choices.sweep.len() < self.virtuals.len() {
            choices.sweep.resize(self.virtuals.len(), 0);
        }
        for (v, cursor) in self.virtuals.iter().zip(choices.sweep.iter_mut()) {
            if let Some(s) = &v.sticky {
                *cursor = s.table.sweep(*cursor, sets, now_s);
            }
        }
    }

    /// The set of members for a request to virtual `virtual_index`, and which route
    /// chose it. `None` for a virtual the farm does not know.
    pub fn route(&self, virtual_index: u16, head: &RequestHead) -> Option<(Route, &[u16])> {
        self.route_for(virtual_index, Some(head))
    }

    /// [`Farm::route`] for a request head, or for a `tcp` virtual's connection
    /// (`None`): no rule matches what has no head.
    pub fn route_for(
        &self,
        virtual_index: u16,
        head: Option<&RequestHead>,
    ) -> Option<(Route, &[u16])> {
        let v = self.virtuals.get(usize::from(virtual_index))?;
        let hit = head.and_then(|head| v.rules.iter().position(|r| r.rule.matches(head)));
        Some(match hit {
            Some(n) => (Route::Rule(n), &v.rules[n].members[..]),
            None => (Route::Bind, &v.bind[..]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use splicer_http::{parse_head, HeadStatus, Matcher};

    pub(super) fn head(req: &str) -> RequestHead {
        match parse_head(req.as_bytes(), 16384) {
            HeadStatus::Complete(h) => h,
            other => panic!("{other:?}"),
        }
    }

    pub(super) fn real(name: &str, last: u8) -> Real {
        Real::new(
            name,
            SocketAddrV4::new([198, 19, 0, last].into(), 80),
            1,
            4,
            64,
        )
    }

    pub(super) fn farm() -> Farm {
        Farm {
            reals: vec![real("s1", 11), real("s2", 12), real("s3", 13)],
            virtuals: vec![VirtualPolicy::splice(
                "www",
                Predictor::RoundRobin,
                vec![
                    RuleRoute::new(
                        "img",
                        Rule::new(vec![Matcher::PathPrefix("/img/".into())]),
                        vec![1],
                    ),
                    RuleRoute::new(
                        "api",
                        Rule::new(vec![Matcher::Host("api.example".into())]),
                        vec![2],
                    ),
                ],
                vec![0, 1, 2],
            )],
            urls: Vec::new(),
        }
    }

    #[test]
    fn first_matching_rule_wins_else_bind() {
        let f = farm();
        let h = head("GET /img/a.png HTTP/1.1\r\nHost: api.example\r\n\r\n");
        assert_eq!(f.route(0, &h), Some((Route::Rule(0), &[1u16][..])));
        let h = head("GET /x HTTP/1.1\r\nHost: API.example:8080\r\n\r\n");
        assert_eq!(f.route(0, &h), Some((Route::Rule(1), &[2u16][..])));
        let h = head("GET /x HTTP/1.1\r\nHost: www.example\r\n\r\n");
        assert_eq!(f.route(0, &h), Some((Route::Bind, &[0u16, 1, 2][..])));
        assert_eq!(f.route(1, &h), None);
    }
}
