//! The decision for one request: which real splices it, which URL it is redirected to,
//! or that nothing can take it, following backups (Cisco's "Server load balancing method
//! and system", US 7,099,915).

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
    /// Nothing can take it: 503.
    Refuse,
}

/// Longest backup chain followed. The configuration refuses loops; the bound keeps a
/// worker safe from one anyway.
pub const MAX_BACKUP_HOPS: usize = 8;

impl Farm {
    /// Decides what happens to a request `head` that arrived at virtual
    /// `virtual_index`.
    ///
    /// * A virtual that admits the request routes it by its rules to a set of members
    ///   and lets its predictor choose one whose status admits it; if it is out of
    ///   service, or no member can take it, its backup is tried.
    /// * A real (as a backup) takes it when it admits it, else its own backup is tried.
    /// * A URL takes it when it is in service.
    ///
    /// `last_real` is the real that served the client connection's previous request:
    /// a `sticky` real keeps such a connection (and takes no other), a `sticky`
    /// virtual keeps connections that already had a request. `usable(real)` is false
    /// for a real the worker cannot reach now (its connections keep failing). `view`:
    /// the reals' load and the client's address, for the predictors that use them.
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
            |_, _| {},
            view,
        )
    }

    /// [`Farm::decide`], telling `routed(virtual, route)` which route each virtual it
    /// consulted chose for the request: the virtual it arrived at, and each virtual of
    /// the backup chain that routed it afterwards. Not called for a virtual that did not
    /// route it (out of service, unknown), nor for reals and URLs of the chain.
    #[allow(clippy::too_many_arguments)]
    pub fn decide_observed(
        &self,
        choices: &mut Choices,
        virtual_index: u16,
        head: &RequestHead,
        last_real: Option<RealId>,
        mut usable: impl FnMut(RealId) -> bool,
        mut routed: impl FnMut(u16, Route),
        view: &View<'_>,
    ) -> Decision {
        let mut target = Target::Virtual(virtual_index);
        for _ in 0..=MAX_BACKUP_HOPS {
            let next = match target {
                Target::Virtual(v) => {
                    match self.virtual_decision(
                        choices,
                        v,
                        head,
                        last_real,
                        &mut usable,
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
                    if real.status.admits(last_real == Some(r)) && usable(r) {
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

    /// The decision of virtual `v`, or its backup when it cannot take the request.
    #[allow(clippy::too_many_arguments)]
    fn virtual_decision(
        &self,
        choices: &mut Choices,
        v: u16,
        head: &RequestHead,
        last_real: Option<RealId>,
        usable: &mut impl FnMut(RealId) -> bool,
        routed: &mut impl FnMut(u16, Route),
        view: &View<'_>,
    ) -> Result<Decision, Option<Target>> {
        let Some(policy) = self.virtuals.get(usize::from(v)) else {
            return Err(None);
        };
        if !policy.status.admits(last_real.is_some()) {
            return Err(policy.backup);
        }
        let Some((route, set)) = self.route(v, head) else {
            return Err(policy.backup);
        };
        routed(v, route);
        let (predictor, key) = policy.chooser(route);
        let hash = match predictor {
            Predictor::Maglev => key.hash(head, view.client),
            _ => 0,
        };
        let chosen = match policy.mode {
            Mode::Splice => {
                // A sticky real keeps the client connections it served.
                if let Some(l) = last_real.filter(|l| set.contains(l)) {
                    let real = &self.reals[usize::from(l)];
                    if real.status == Status::Sticky && usable(l) {
                        return Ok(Decision::Splice(l));
                    }
                }
                let inputs = Inputs {
                    loads: view.loads,
                    hash,
                };
                choices
                    .state(v, route)
                    .choose(
                        predictor,
                        set,
                        |r| {
                            let real = &self.reals[usize::from(r)];
                            if real.status.admits(false) && usable(r) {
                                real.weight
                            } else {
                                0
                            }
                        },
                        &inputs,
                    )
                    .map(Decision::Splice)
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
}

#[cfg(test)]
mod tests {
    use super::super::tests::{farm, head, real};
    use super::super::{Mode, Predictor, Status, Target, Url, VirtualPolicy};
    use super::*;

    /// No load measured, a client at 198.18.0.1.
    fn view() -> View<'static> {
        View {
            loads: &NoLoads,
            client: [198, 18, 0, 1].into(),
        }
    }

    fn url(name: &str, weight: u16) -> Url {
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
