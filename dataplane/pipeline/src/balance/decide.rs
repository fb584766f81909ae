//! The decision for one request: which real splices it, which URL it is redirected to,
//! or that nothing can take it, following backups (Cisco's "Server load balancing method
//! and system", US 7,099,915).

use super::routed::Routed;
use super::sticky::{Found, StickyClient, StickyOutcome};
use super::{
    Choices, Farm, Inputs, Mode, NoLoads, Predictor, RealId, Route, Status, Target, UrlId, View,
};
use splicer_http::RequestHead;

/// What to do with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Splice it onto a connection of this real.
    Splice(RealId),
    /// Answer it with a redirect to this URL.
    Redirect(UrlId),
    /// Every real of its set that could take it is at its high-water mark: it waits in
    /// virtual `virtual_index`'s queue for a slot on one of the members `route` selects.
    Queue {
        /// The virtual whose queue it waits in (the one that routed it).
        virtual_index: u16,
        /// The set it waits for.
        route: Route,
    },
    /// Nothing can take it: 503.
    Refuse,
}

/// How a splice decision went past a full real (the spill-over of Circadence's
/// "Load balancing between multiple web servers", US 2002/0059170 A1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spill {
    /// A real of the set that could have taken it was at its high-water mark, so the
    /// request went to another one.
    pub over: bool,
    /// The real chosen is of a lower tier (a higher `tier` number) than a full one: a
    /// mirror served because the fresher copy was saturated.
    pub tier: bool,
}

/// The choice inside one set.
enum Pick {
    Real(RealId, Spill),
    /// Redirected to a URL bound beside the reals (cross-site sharing).
    Url(UrlId),
    /// A pipelined request whose sticky real has no idle connection now: it waits for
    /// its turn.
    Wait,
    /// Some members could take it but are full.
    Full,
    /// No member can take it.
    None,
}

/// Longest backup chain followed. The configuration refuses loops; the bound keeps a
/// worker safe from one anyway.
pub const MAX_BACKUP_HOPS: usize = 8;

impl Farm {
    /// Decides what happens to a request `head` that arrived at virtual
    /// `virtual_index`, every real having room ([`Farm::decide_observed`] without the
    /// observer). `view`: the reals' load and the client's address, for the predictors
    /// that use them.
    pub fn decide(
        &self,
        choices: &mut Choices,
        virtual_index: u16,
        head: &RequestHead,
        last_real: Option<RealId>,
        usable: impl FnMut(RealId) -> bool,
        view: &View<'_>,
    ) -> Decision {
        self.decide_observed(
            choices,
            virtual_index,
            head,
            last_real,
            usable,
            |_, _| true,
            |_, _| {},
            view,
        )
    }
    /// Decides what happens to a request `head` that arrived at virtual
    /// `virtual_index`.
    ///
    /// * A virtual that admits the request routes it by its rules to a set of members.
    ///   In splice mode a member is a candidate when its status admits the request, its
    ///   weight is not 0 and `usable(real)` (the worker can reach it now); a candidate
    ///   has room when `room(real, cost)` (the request's cost fits under its
    ///   high-water mark). Among the candidates with room, only those of the best
    ///   (lowest) `tier` are offered to the predictor: a mirror serves while every
    ///   origin is full or not a candidate. When candidates exist but none has room the
    ///   request waits in the virtual's queue ([`Decision::Queue`]); when there is no
    ///   candidate at all, the virtual's backup is tried.
    /// * A real (as a backup) takes it when it admits it and has room for one slot,
    ///   else its own backup is tried.
    /// * A URL takes it when it is in service.
    ///
    /// `last_real` is the real that served the client connection's previous request:
    /// a `sticky` real keeps such a connection (and takes no other), a `sticky`
    /// virtual keeps connections that already had a request. `routed(virtual, route)`
    /// hears which route each virtual it consulted chose for the request: the virtual
    /// it arrived at, and each virtual of the backup chain that routed it afterwards;
    /// not a virtual that did not route it (out of service, unknown), nor reals and
    /// URLs of the chain. How the choice spilled over is left in [`Choices::spill`].
    /// `view`: the reals' load and the client's address, for the predictors that use
    /// them (each rule's own, or the virtual's).
    #[allow(clippy::too_many_arguments)]
    pub fn decide_observed(
        &self,
        choices: &mut Choices,
        virtual_index: u16,
        head: &RequestHead,
        last_real: Option<RealId>,
        usable: impl FnMut(RealId) -> bool,
        room: impl FnMut(RealId, u16) -> bool,
        routed: impl FnMut(u16, Route),
        view: &View<'_>,
    ) -> Decision {
        self.decide_for(
            choices,
            virtual_index,
            head,
            last_real,
            None,
            usable,
            room,
            routed,
            view,
        )
    }

    /// [`Farm::decide_observed`] for a request of `client`: a sticky virtual sends it
    /// to the real its table holds for the client's address (see [`super::sticky`]),
    /// and records the real it chose otherwise; `client.outcome` says what the table
    /// did, for the counters (`None` when no sticky virtual routed it). `head` is a
    /// request head, or [`Connection`] for a `tcp` virtual's connection, which has no
    /// request: content rules match nothing and `maglev` hashes the client's address
    /// (the configuration gives a `tcp` virtual neither rules nor another hash).
    #[allow(clippy::too_many_arguments)]
    pub fn decide_for<R: Routed + ?Sized>(
        &self,
        choices: &mut Choices,
        virtual_index: u16,
        head: &R,
        last_real: Option<RealId>,
        mut client: Option<&mut StickyClient>,
        mut usable: impl FnMut(RealId) -> bool,
        mut room: impl FnMut(RealId, u16) -> bool,
        mut routed: impl FnMut(u16, Route),
        view: &View<'_>,
    ) -> Decision {
        choices.spill = Spill::default();
        choices.cost = 1;
        let mut target = Target::Virtual(virtual_index);
        for _ in 0..=MAX_BACKUP_HOPS {
            let next = match target {
                Target::Virtual(v) => {
                    match self.virtual_decision(
                        choices,
                        v,
                        head,
                        last_real,
                        client.as_deref_mut(),
                        &mut usable,
                        &mut room,
                        &mut routed,
                        view,
                    ) {
                        Ok(d) => return d,
                        Err(backup) => backup,
                    }
                }
                Target::Real(r) => {
                    let Some(real) = self.reals.get(usize::from(r)) else {
                        return Decision::Refuse;
                    };
                    if real.admits(last_real == Some(r)) && usable(r) && room(r, 1) {
                        return Decision::Splice(r);
                    }
                    real.backup
                }
                Target::Url(u) => {
                    return match self.urls.get(usize::from(u)) {
                        Some(url) if url.in_service => Decision::Redirect(u),
                        _ => Decision::Refuse,
                    }
                }
            };
            match next {
                Some(t) => target = t,
                None => return Decision::Refuse,
            }
        }
        Decision::Refuse
    }

    /// A real for a request that waits in virtual `v`'s queue for the set `route`
    /// selects (see [`Farm::decide_observed`] for `usable` and `room`), now that a slot
    /// came free: `None` while no candidate has room.
    #[allow(clippy::too_many_arguments)]
    pub fn place_queued(
        &self,
        choices: &mut Choices,
        v: u16,
        route: Route,
        last_real: Option<RealId>,
        mut usable: impl FnMut(RealId) -> bool,
        mut room: impl FnMut(RealId, u16) -> bool,
        inputs: &Inputs<'_>,
    ) -> Option<RealId> {
        choices.spill = Spill::default();
        // Its share of URLs beside the reals was drawn when it was queued; its client's
        // sticky entry, if any, was not live.
        match self.pick_real(
            choices,
            v,
            route,
            last_real,
            None,
            false,
            &mut usable,
            &mut room,
            inputs,
        ) {
            Pick::Real(r, spill) => {
                choices.spill = spill;
                Some(r)
            }
            Pick::Url(_) | Pick::Wait | Pick::Full | Pick::None => None,
        }
    }

    /// The decision of virtual `v`, or its backup when it cannot take the request.
    #[allow(clippy::too_many_arguments)]
    fn virtual_decision<R: Routed + ?Sized>(
        &self,
        choices: &mut Choices,
        v: u16,
        head: &R,
        last_real: Option<RealId>,
        client: Option<&mut StickyClient>,
        usable: &mut impl FnMut(RealId) -> bool,
        room: &mut impl FnMut(RealId, u16) -> bool,
        routed: &mut impl FnMut(u16, Route),
        view: &View<'_>,
    ) -> Result<Decision, Option<Target>> {
        let Some(policy) = self.virtuals.get(usize::from(v)) else {
            return Err(None);
        };
        if !policy.status.admits(last_real.is_some()) {
            return Err(policy.backup);
        }
        let Some((route, set)) = self.route_for(v, head.head()) else {
            return Err(policy.backup);
        };
        routed(v, route);
        let (predictor, key) = policy.chooser(route);
        let hash = match (predictor, head.head()) {
            (Predictor::Maglev, Some(head)) => key.hash(head, view.client),
            (Predictor::Maglev, None) => super::HashKey::Source.hash_client(view.client),
            _ => 0,
        };
        let chosen = match policy.mode {
            Mode::Splice | Mode::Tcp | Mode::Handoff => {
                let inputs = Inputs {
                    loads: view.loads,
                    hash,
                };
                match self.pick_real(
                    choices, v, route, last_real, client, true, usable, room, &inputs,
                ) {
                    Pick::Real(r, spill) => {
                        choices.spill = spill;
                        Some(Decision::Splice(r))
                    }
                    Pick::Url(u) => Some(Decision::Redirect(u)),
                    Pick::Wait => return Ok(Decision::Refuse),
                    Pick::Full => {
                        return Ok(Decision::Queue {
                            virtual_index: v,
                            route,
                        })
                    }
                    Pick::None => None,
                }
            }
            Mode::Redirect => choices
                .state(v, route)
                .choose(
                    predictor,
                    set,
                    |u| match self.urls.get(usize::from(u)) {
                        Some(url) if url.in_service => url.weight,
                        _ => 0,
                    },
                    &Inputs {
                        loads: &NoLoads,
                        hash,
                    },
                )
                .map(Decision::Redirect),
        };
        chosen.ok_or(policy.backup)
    }

    /// The real of the set `route` selects in splice virtual `v` for a request, by the
    /// rules of [`Farm::decide_observed`]: a `sticky` real that served the client
    /// connection before; the real a sticky virtual's table holds for `client`'s
    /// address; with `share`, a URL beside the reals for the share of requests the URLs
    /// weigh; else the predictor's real among those of the best tier with room
    /// (recorded in the sticky table for `client`).
    #[allow(clippy::too_many_arguments)]
    fn pick_real(
        &self,
        choices: &mut Choices,
        v: u16,
        route: Route,
        last_real: Option<RealId>,
        client: Option<&mut StickyClient>,
        share: bool,
        usable: &mut impl FnMut(RealId) -> bool,
        room: &mut impl FnMut(RealId, u16) -> bool,
        inputs: &Inputs<'_>,
    ) -> Pick {
        let Some(policy) = self.virtuals.get(usize::from(v)) else {
            return Pick::None;
        };
        let (predictor, _) = policy.chooser(route);
        let (set, cost) = (policy.members(route), policy.class(route).cost);
        choices.cost = cost;
        // A sticky real keeps the client connections it served.
        if let Some(l) = last_real.filter(|l| set.contains(l)) {
            let real = &self.reals[usize::from(l)];
            if real.status == Status::Sticky && real.health.up && usable(l) && room(l, cost) {
                return Pick::Real(l, Spill::default());
            }
        }
        let mut sticky = policy.sticky.as_ref().zip(client);
        // What happens to the client's entry once a real is chosen: `Some(outcome)`
        // records the choice with that outcome; `None` leaves the table alone.
        let mut record: Option<fn(bool) -> StickyOutcome> = None;
        if let Some((s, c)) = sticky.as_mut() {
            match s.table.find(c.addr, c.now_s, s.timeout_s) {
                Found::Live(r, way, word) if set.contains(&r) => {
                    // Weight 0 takes no new requests: a returning client is one.
                    let real = &self.reals[usize::from(r)];
                    let admitted = real.admits(false) && real.weight > 0;
                    if admitted && usable(r) && room(r, cost) {
                        s.table.refresh(c.addr, way, word, c.now_s);
                        c.outcome = Some(StickyOutcome::Hit);
                        return Pick::Real(r, Spill::default());
                    }
                    if admitted && c.may_wait {
                        // No idle connection to it now: the request waits for its turn.
                        return Pick::Wait;
                    }
                    // Gone, or at its high-water mark: the client is balanced afresh
                    // (a full real would otherwise hold its clients in the queue
                    // while others have room).
                    s.table.drop_entry(c.addr, way, word);
                    record = Some(|evicted| StickyOutcome::Dropped { evicted });
                }
                // Its real serves another set (another rule): kept for the requests
                // that select it; this one is balanced.
                Found::Live(..) => {}
                Found::Expired => record = Some(|evicted| StickyOutcome::Expired { evicted }),
                Found::Missing => record = Some(|evicted| StickyOutcome::New { evicted }),
            }
            // A dropped or expired entry is counted even when no real is recorded (the
            // request redirected, or nothing in the set can take it); a new client only
            // when it gets an entry.
            if let Some(r) = record.filter(|r| !matches!(r(false), StickyOutcome::New { .. })) {
                c.outcome = Some(r(false));
            }
        }
        let mut candidate = |r: RealId| {
            let real = &self.reals[usize::from(r)];
            // Down, ejected or out of service: not a candidate.
            real.admits(false) && real.weight > 0 && usable(r)
        };
        let urls = if share {
            self.route_urls(v, route)
        } else {
            &[]
        };
        if !urls.is_empty() {
            let url_weight = |u: UrlId| match self.urls.get(usize::from(u)) {
                Some(url) if url.in_service => url.weight,
                _ => 0,
            };
            // The split is by weight, full or not: a full splice side queues its share.
            let splice: u64 = set
                .iter()
                .filter(|&&r| candidate(r))
                .map(|&r| u64::from(self.reals[usize::from(r)].weight))
                .sum();
            let redirect: u64 = urls.iter().map(|&u| u64::from(url_weight(u))).sum();
            let cross = choices.cross_site(v, route);
            match cross.redirects(splice, redirect) {
                None => return Pick::None,
                Some(true) => {
                    let urls_only = Inputs {
                        loads: &NoLoads,
                        hash: inputs.hash,
                    };
                    return match cross.urls.choose(predictor, urls, url_weight, &urls_only) {
                        Some(u) => Pick::Url(u),
                        None => Pick::None,
                    };
                }
                Some(false) => {}
            }
        }
        // The best tier with room, and the best tier without.
        let (mut open, mut full) = (None::<u8>, None::<u8>);
        for &r in set {
            if !candidate(r) {
                continue;
            }
            let tier = self.reals[usize::from(r)].tier;
            let best = if room(r, cost) { &mut open } else { &mut full };
            *best = Some(best.map_or(tier, |b| b.min(tier)));
        }
        let Some(tier) = open else {
            return if full.is_some() {
                Pick::Full
            } else {
                Pick::None
            };
        };
        let chosen = choices.state(v, route).choose(
            predictor,
            set,
            |r| {
                let real = &self.reals[usize::from(r)];
                if real.tier == tier && candidate(r) && room(r, cost) {
                    // In slow start: a share of its weight.
                    real.balanced_weight()
                } else {
                    0
                }
            },
            inputs,
        );
        let Some(chosen) = chosen else {
            return Pick::None;
        };
        if let (Some((s, c)), Some(outcome)) = (sticky, record) {
            let evicted = s.table.record(c.addr, chosen, c.now_s, s.timeout_s);
            c.outcome = Some(outcome(evicted));
        }
        Pick::Real(
            chosen,
            Spill {
                over: full.is_some(),
                tier: full.is_some_and(|f| f < tier),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{farm, head, real};
    use super::super::{Mode, Predictor, Status, Target, Url, VirtualPolicy};
    use super::*;

    /// No load measured, a client at 198.18.0.1.
    pub(super) fn view() -> View<'static> {
        View {
            loads: &NoLoads,
            client: [198, 18, 0, 1].into(),
        }
    }

    pub(super) fn url(name: &str, weight: u16) -> Url {
        Url {
            name: name.into(),
            template: format!("http://{name}.test/%d"),
            code: 302,
            weight,
            in_service: true,
        }
    }

    /// www (splice s1..s3), DIP 198.19.0.11 → s1 (virtual 1), a redirect virtual over
    /// URLs coyote (linked to the DIP) and book (virtual 2).
    fn acme() -> Farm {
        let mut f = farm();
        f.reals.push(real("s4", 14));
        f.virtuals.push(VirtualPolicy::splice(
            "198.19.0.11",
            Predictor::RoundRobin,
            vec![],
            vec![0],
        ));
        f.virtuals.push(VirtualPolicy {
            mode: Mode::Redirect,
            ..VirtualPolicy::splice("acme", Predictor::RoundRobin, vec![], vec![0, 1])
        });
        f.urls = vec![url("coyote", 1), url("book", 1)];
        f
    }

    fn decide_n(f: &Farm, v: u16, n: usize, last: Option<RealId>) -> Vec<Decision> {
        let mut c = Choices::default();
        let h = head("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
        (0..n)
            .map(|_| f.decide(&mut c, v, &h, last, |_| true, &view()))
            .collect()
    }

    #[test]
    fn out_of_service_real_takes_no_new_requests() {
        let mut f = acme();
        f.reals[1].status = Status::OutOfService;
        let d = decide_n(&f, 0, 6, None);
        assert!(!d.contains(&Decision::Splice(1)), "{d:?}");
        assert!(d.contains(&Decision::Splice(0)) && d.contains(&Decision::Splice(2)));
        // Maintenance, failed, removed: the same for routing.
        for s in [Status::Maintenance, Status::Failed, Status::Removed] {
            f.reals[1].status = s;
            assert!(!decide_n(&f, 0, 6, None).contains(&Decision::Splice(1)));
        }
    }

    #[test]
    fn sticky_real_keeps_its_client_connections_only() {
        let mut f = acme();
        f.reals[1].status = Status::Sticky;
        assert!(!decide_n(&f, 0, 6, None).contains(&Decision::Splice(1)));
        assert!(!decide_n(&f, 0, 6, Some(0)).contains(&Decision::Splice(1)));
        assert_eq!(decide_n(&f, 0, 4, Some(1)), vec![Decision::Splice(1); 4]);
        // Not when it cannot be reached.
        let mut c = Choices::default();
        let h = head("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_ne!(
            f.decide(&mut c, 0, &h, Some(1), |r| r != 1, &view()),
            Decision::Splice(1)
        );
    }

    #[test]
    fn dip_goes_to_the_real_or_its_backup() {
        let mut f = acme();
        assert_eq!(decide_n(&f, 1, 3, None), vec![Decision::Splice(0); 3]);
        f.reals[0].status = Status::OutOfService;
        assert_eq!(decide_n(&f, 1, 1, None), vec![Decision::Refuse]);
        // Backed up by another real, by the redirect virtual (a fresh redirect), by a URL.
        f.virtuals[1].backup = Some(Target::Real(3));
        assert_eq!(decide_n(&f, 1, 2, None), vec![Decision::Splice(3); 2]);
        f.virtuals[1].backup = Some(Target::Virtual(2));
        assert_eq!(
            decide_n(&f, 1, 2, None),
            vec![Decision::Redirect(0), Decision::Redirect(1)]
        );
        f.virtuals[1].backup = Some(Target::Url(1));
        assert_eq!(decide_n(&f, 1, 2, None), vec![Decision::Redirect(1); 2]);
        // A chain: the backup real is down too and has its own backup.
        f.virtuals[1].backup = Some(Target::Real(3));
        f.reals[3].status = Status::Maintenance;
        f.reals[3].backup = Some(Target::Real(2));
        assert_eq!(decide_n(&f, 1, 1, None), vec![Decision::Splice(2)]);
    }

    #[test]
    fn redirect_virtual_spreads_over_urls_in_service() {
        let mut f = acme();
        f.urls[0].weight = 2;
        let d = decide_n(&f, 2, 6, None);
        let coyote = d.iter().filter(|&&x| x == Decision::Redirect(0)).count();
        assert_eq!((coyote, d.len() - coyote), (4, 2), "{d:?}");
        f.urls[0].in_service = false;
        assert_eq!(decide_n(&f, 2, 3, None), vec![Decision::Redirect(1); 3]);
        f.urls[1].weight = 0;
        assert_eq!(decide_n(&f, 2, 1, None), vec![Decision::Refuse]);
        f.virtuals[2].backup = Some(Target::Real(2));
        assert_eq!(decide_n(&f, 2, 1, None), vec![Decision::Splice(2)]);
    }

    #[test]
    fn virtual_status_and_backup() {
        let mut f = acme();
        f.virtuals[0].status = Status::OutOfService;
        assert_eq!(decide_n(&f, 0, 1, None), vec![Decision::Refuse]);
        f.virtuals[0].backup = Some(Target::Url(1));
        assert_eq!(decide_n(&f, 0, 1, None), vec![Decision::Redirect(1)]);
        // Sticky: connections that already had a request stay.
        f.virtuals[0].status = Status::Sticky;
        assert_eq!(decide_n(&f, 0, 1, None), vec![Decision::Redirect(1)]);
        assert!(matches!(
            decide_n(&f, 0, 1, Some(2))[0],
            Decision::Splice(_)
        ));
        // Every real down: the virtual's backup.
        f.virtuals[0].status = Status::InService;
        for r in 0..3 {
            f.reals[r].status = Status::OutOfService;
        }
        assert_eq!(decide_n(&f, 0, 1, None), vec![Decision::Redirect(1)]);
        // Unknown virtual (removed meanwhile): refused.
        assert_eq!(decide_n(&f, 9, 1, None), vec![Decision::Refuse]);
    }

    #[test]
    fn an_unhealthy_real_is_not_admissible() {
        let mut f = acme();
        f.reals[1].health.up = false;
        let d = decide_n(&f, 0, 6, None);
        assert!(!d.contains(&Decision::Splice(1)), "{d:?}");
        assert!(d.contains(&Decision::Splice(0)) && d.contains(&Decision::Splice(2)));
        // Sticky does not keep a client on a real that is down.
        f.reals[1].status = Status::Sticky;
        assert!(!decide_n(&f, 0, 4, Some(1)).contains(&Decision::Splice(1)));
        // A DIP whose real is down goes to the real's backup.
        f.reals[0].health.up = false;
        assert_eq!(decide_n(&f, 1, 1, None), vec![Decision::Refuse]);
        f.virtuals[1].backup = Some(Target::Real(3));
        assert_eq!(decide_n(&f, 1, 1, None), vec![Decision::Splice(3)]);
    }

    #[test]
    fn a_real_in_slow_start_takes_a_share_of_its_weight() {
        let mut f = acme();
        // s2 at a quarter of its weight: 1 request in 9 among s1, s2, s3.
        f.reals[1].health.ramp = 250;
        let d = decide_n(&f, 0, 900, None);
        let s2 = d.iter().filter(|&&x| x == Decision::Splice(1)).count();
        assert_eq!(s2, 100, "{s2}");
        f.reals[1].health.ramp = 1000;
        let d = decide_n(&f, 0, 900, None);
        assert_eq!(d.iter().filter(|&&x| x == Decision::Splice(1)).count(), 300);
    }

    #[test]
    fn a_backup_loop_ends() {
        let mut f = acme();
        f.reals[0].status = Status::OutOfService;
        f.reals[3].status = Status::OutOfService;
        f.reals[0].backup = Some(Target::Real(3));
        f.reals[3].backup = Some(Target::Real(0));
        f.virtuals[1].backup = Some(Target::Real(3));
        assert_eq!(decide_n(&f, 1, 1, None), vec![Decision::Refuse]);
    }

    /// Decides once, returning the decision and every `(virtual, route)` reported.
    fn observe(f: &Farm, v: u16, h: &RequestHead) -> (Decision, Vec<(u16, Route)>) {
        let mut seen = Vec::new();
        let d = f.decide_observed(
            &mut Choices::default(),
            v,
            h,
            None,
            |_| true,
            |_, _| true,
            |v, r| seen.push((v, r)),
            &view(),
        );
        (d, seen)
    }

    #[test]
    fn the_route_taken_is_reported() {
        // www: rule 0 "img" (/img/) goes to s2, rule 1 "api" to s3, else s1..s3.
        let mut f = acme();
        let img = head("GET /img/a.png HTTP/1.1\r\nHost: x\r\n\r\n");
        let api = head("GET /a HTTP/1.1\r\nHost: api.example\r\n\r\n");
        assert_eq!(observe(&f, 0, &api).1, vec![(0, Route::Rule(1))]);
        let other = head("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(
            observe(&f, 0, &img),
            (Decision::Splice(1), vec![(0, Route::Rule(0))])
        );
        assert_eq!(observe(&f, 0, &other).1, vec![(0, Route::Bind)]);
        // The DIP routes by its bind list.
        assert_eq!(observe(&f, 1, &other).1, vec![(1, Route::Bind)]);
        // Nobody in the rule's set: the rule was still hit, then the backup virtual
        // routed the request.
        f.reals[1].status = Status::OutOfService;
        f.virtuals[0].backup = Some(Target::Virtual(2));
        assert_eq!(
            observe(&f, 0, &img),
            (
                Decision::Redirect(0),
                vec![(0, Route::Rule(0)), (2, Route::Bind)]
            )
        );
        // An out-of-service virtual routes nothing; its backup does.
        f.virtuals[0].status = Status::OutOfService;
        assert_eq!(observe(&f, 0, &img).1, vec![(2, Route::Bind)]);
        // A backup real or URL routes nothing; an unknown virtual neither.
        f.virtuals[0].backup = Some(Target::Real(3));
        assert_eq!(observe(&f, 0, &img), (Decision::Splice(3), vec![]));
        assert_eq!(observe(&f, 9, &img), (Decision::Refuse, vec![]));
        // decide() is decide_observed() without the observer.
        f.virtuals[0].status = Status::InService;
        let mut c = Choices::default();
        assert_eq!(
            f.decide(&mut c, 0, &other, None, |_| true, &view()),
            observe(&f, 0, &other).0
        );
    }

    /// Decides `n` requests to `v` with the in-flight costs `load` against the reals'
    /// `maxconns`, each decision adding its cost; returns the decisions and spills.
    fn decide_loaded(
        f: &Farm,
        v: u16,
        path: &str,
        load: &mut [u32],
        n: usize,
    ) -> Vec<(Decision, Spill)> {
        let mut c = Choices::default();
        let h = head(&format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n"));
        (0..n)
            .map(|_| {
                let snapshot = load.to_vec();
                let d = f.decide_observed(
                    &mut c,
                    v,
                    &h,
                    None,
                    |_| true,
                    |r, cost| f.reals[usize::from(r)].has_room(snapshot[usize::from(r)], cost),
                    |_, _| {},
                    &view(),
                );
                if let Decision::Splice(r) = d {
                    load[usize::from(r)] += u32::from(c.cost());
                }
                (d, c.spill())
            })
            .collect()
    }

    #[test]
    fn a_full_real_is_skipped_and_a_full_set_queues() {
        // www's bind list s1..s3, each taking two at once.
        let mut f = farm();
        f.reals.push(real("s4", 14));
        for r in &mut f.reals {
            r.maxconns = 2;
        }
        let mut load = [2, 0, 1, 0];
        let d = decide_loaded(&f, 0, "/a", &mut load, 3);
        // s1 is full: s2, s3, then s2 again; the first two went past a full real.
        let reals: Vec<Decision> = d.iter().map(|x| x.0).collect();
        assert_eq!(
            reals,
            [
                Decision::Splice(1),
                Decision::Splice(2),
                Decision::Splice(1)
            ]
        );
        assert!(d.iter().all(|x| x.1.over && !x.1.tier), "{d:?}");
        assert_eq!(load, [2, 2, 2, 0]);
        // Every candidate full: the virtual's queue, for the route that chose the set;
        // its backup is not tried.
        f.virtuals[0].backup = Some(Target::Real(3));
        let d = decide_loaded(&f, 0, "/a", &mut load, 1);
        assert_eq!(
            d[0].0,
            Decision::Queue {
                virtual_index: 0,
                route: Route::Bind
            }
        );
        let d = decide_loaded(&f, 0, "/img/x", &mut load, 1);
        assert_eq!(
            d[0].0,
            Decision::Queue {
                virtual_index: 0,
                route: Route::Rule(0)
            }
        );
        // Full and down are different: with no candidate left the backup serves.
        f.reals[1].status = Status::OutOfService;
        let d = decide_loaded(&f, 0, "/img/x", &mut load, 1);
        assert_eq!(d[0].0, Decision::Splice(3));
    }

    #[test]
    fn a_costly_request_takes_its_slots() {
        let mut f = farm();
        f.reals[0].maxconns = 4;
        f.virtuals[0].bind = vec![0];
        f.virtuals[0].class.cost = 4;
        let mut load = [0, 0, 0];
        let d = decide_loaded(&f, 0, "/a", &mut load, 2);
        assert_eq!(d[0].0, Decision::Splice(0));
        assert_eq!(load[0], 4, "a cost-4 request takes 4 slots");
        assert!(matches!(d[1].0, Decision::Queue { .. }));
        // Three cost-1 requests in flight leave room for one more cheap one, not for a
        // costly one.
        let mut load = [3, 0, 0];
        assert!(matches!(
            decide_loaded(&f, 0, "/a", &mut load, 1)[0].0,
            Decision::Queue { .. }
        ));
        f.virtuals[0].class.cost = 1;
        assert_eq!(
            decide_loaded(&f, 0, "/a", &mut load, 1)[0].0,
            Decision::Splice(0)
        );
        // A request costing more than maxconns fits an idle real only.
        f.virtuals[0].class.cost = 9;
        let mut load = [0, 0, 0];
        let d = decide_loaded(&f, 0, "/a", &mut load, 2);
        assert_eq!(d[0].0, Decision::Splice(0));
        assert!(matches!(d[1].0, Decision::Queue { .. }));
    }

    #[test]
    fn lower_tiers_serve_only_while_the_higher_ones_are_full() {
        // s1 and s2 are origins taking 2 each, s3 a mirror.
        let mut f = farm();
        for r in &mut f.reals {
            r.maxconns = 2;
        }
        f.reals[2].tier = 2;
        let mut load = [0, 0, 0];
        let d = decide_loaded(&f, 0, "/a", &mut load, 6);
        let picks: Vec<Decision> = d.iter().map(|x| x.0).collect();
        // The origins fill first (round robin between them), then the mirror.
        assert_eq!(
            picks[..4]
                .iter()
                .filter(|&&p| p == Decision::Splice(2))
                .count(),
            0,
            "{picks:?}"
        );
        assert_eq!(picks[4..], [Decision::Splice(2), Decision::Splice(2)]);
        assert!(d[..4].iter().all(|x| !x.1.tier));
        assert!(d[4..].iter().all(|x| x.1.tier && x.1.over));
        // An origin frees a slot: it takes the next request, not the mirror (past the
        // full origin, in its own tier).
        load[1] -= 1;
        assert_eq!(
            decide_loaded(&f, 0, "/a", &mut load, 1)[0],
            (
                Decision::Splice(1),
                Spill {
                    over: true,
                    tier: false
                }
            )
        );
        // An origin down is not full: with the other full the mirror serves, counted
        // as a tier spill because a full origin was passed.
        f.reals[0].status = Status::OutOfService;
        load = [0, 2, 0];
        assert_eq!(
            decide_loaded(&f, 0, "/a", &mut load, 1)[0],
            (
                Decision::Splice(2),
                Spill {
                    over: true,
                    tier: true
                }
            )
        );
        // Every origin down: the mirror serves, no spill (fail-over).
        f.reals[1].status = Status::OutOfService;
        assert_eq!(
            decide_loaded(&f, 0, "/a", &mut load, 1)[0],
            (Decision::Splice(2), Spill::default())
        );
    }

    #[test]
    fn a_queued_request_is_placed_when_a_slot_frees() {
        let mut f = farm();
        for r in &mut f.reals {
            r.maxconns = 1;
        }
        f.reals[2].tier = 2;
        let mut c = Choices::default();
        let inputs = Inputs {
            loads: &NoLoads,
            hash: 0,
        };
        let load = [1u32, 1, 1];
        let room = |load: [u32; 3]| {
            let f = f.clone();
            move |r: RealId, cost| f.reals[usize::from(r)].has_room(load[usize::from(r)], cost)
        };
        assert_eq!(
            f.place_queued(&mut c, 0, Route::Bind, None, |_| true, room(load), &inputs),
            None
        );
        // The mirror frees first: it takes the request.
        assert_eq!(
            f.place_queued(
                &mut c,
                0,
                Route::Bind,
                None,
                |_| true,
                room([1, 1, 0]),
                &inputs
            ),
            Some(2)
        );
        assert!(c.spill().tier);
        // The rule's set only: /img/ is s2 alone.
        assert_eq!(
            f.place_queued(
                &mut c,
                0,
                Route::Rule(0),
                None,
                |_| true,
                room([0, 1, 0]),
                &inputs
            ),
            None
        );
        assert_eq!(
            f.place_queued(
                &mut c,
                0,
                Route::Rule(0),
                None,
                |_| true,
                room([1, 0, 1]),
                &inputs
            ),
            Some(1)
        );
    }

    #[test]
    fn a_rule_chooses_with_its_own_predictor_and_the_load() {
        use crate::balance::{HashKey, RealLoad};
        // www's bind list (s1..s3) by round robin; a rule for /img/ over s1..s3 with
        // leastconns; another for /u/ with maglev on the X-User header.
        let mut f = farm();
        f.virtuals[0].rules[0].members = vec![0, 1, 2];
        f.virtuals[0].rules[0].predictor = Some(Predictor::LeastConns);
        let mut user = f.virtuals[0].rules[0].clone();
        user.rule = splicer_http::Rule::new(vec![splicer_http::Matcher::PathPrefix("/u/".into())]);
        user.predictor = Some(Predictor::Maglev);
        user.hash = Some(HashKey::Header("X-User".into()));
        f.virtuals[0].rules.insert(1, user);
        let loads: Vec<RealLoad> = [4, 0, 9]
            .iter()
            .map(|&i| RealLoad {
                in_flight: i,
                ..Default::default()
            })
            .collect();
        let view = |last: u8| View {
            loads: &loads,
            client: [198, 18, 0, last].into(),
        };
        let mut c = Choices::default();
        let img = head("GET /img/a HTTP/1.1\r\nHost: x\r\n\r\n");
        for _ in 0..5 {
            assert_eq!(
                f.decide(&mut c, 0, &img, None, |_| true, &view(1)),
                Decision::Splice(1),
                "leastconns: the idle real"
            );
        }
        let other = head("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
        let rr: Vec<Decision> = (0..3)
            .map(|_| f.decide(&mut c, 0, &other, None, |_| true, &view(1)))
            .collect();
        assert_eq!(
            rr,
            [0, 1, 2].map(Decision::Splice),
            "the bind list: round robin"
        );
        // maglev: one user, one real, whatever the client address.
        let u = head("GET /u/1 HTTP/1.1\r\nHost: x\r\nX-User: ann\r\n\r\n");
        let first = f.decide(&mut c, 0, &u, None, |_| true, &view(1));
        for last in 2..40 {
            assert_eq!(f.decide(&mut c, 0, &u, None, |_| true, &view(last)), first);
        }
    }
}

#[cfg(test)]
mod seed_tests;
