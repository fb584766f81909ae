//! The lookup stage for requests: which real server a request goes to.
//!
//! A [`Farm`] is what the control core tells the workers about the server side: the
//! reals, and per virtual server its content rules, its default bind list and its
//! predictor. A request head is matched against the virtual's rules in order; the first
//! match picks that rule's set of reals, no match picks the virtual's `bind` set, and the
//! predictor chooses one real inside the set. An empty set (nothing bound, or every real
//! of the set unavailable) is answered `503` by the client leg.

pub mod predictor;

pub use predictor::{Predictor, PredictorState};

use splicer_http::{RequestHead, Rule};
use std::net::SocketAddrV4;

/// Index of a real in [`Farm::reals`].
pub type RealId = u16;

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
}

/// A content rule and the reals it sends matching requests to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRoute {
    /// Name of the rule (for statistics): the configuration's `name`, or `rule<N>`.
    pub name: String,
    /// The conditions.
    pub rule: Rule,
    /// The reals that serve matching requests.
    pub reals: Vec<RealId>,
}

/// How one virtual server chooses reals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualPolicy {
    /// Name from the configuration.
    pub name: String,
    /// How a real is chosen inside a set.
    pub predictor: Predictor,
    /// Content rules, in order; the first that matches wins.
    pub rules: Vec<RuleRoute>,
    /// Reals for requests no rule matches.
    pub bind: Vec<RealId>,
}

/// The server side of the appliance, shared read-only by the workers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Farm {
    /// Every real, in configuration order.
    pub reals: Vec<Real>,
    /// Per virtual server, indexed by [`crate::Service::virtual_index`].
    pub virtuals: Vec<VirtualPolicy>,
}

/// One worker's predictor memories: one per rule and one for the bind list of every
/// virtual, created on first use.
#[derive(Debug, Default)]
pub struct Choices {
    per_virtual: Vec<(Vec<PredictorState>, PredictorState)>,
}

impl Choices {
    /// The memory of the set `route` selects in virtual `virtual_index`.
    pub fn state(&mut self, virtual_index: u16, route: Route) -> &mut PredictorState {
        let v = usize::from(virtual_index);
        if self.per_virtual.len() <= v {
            self.per_virtual.resize_with(v + 1, Default::default);
        }
        let (rules, bind) = &mut self.per_virtual[v];
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
    /// The set of reals for a request to virtual `virtual_index`, and which route chose
    /// it. `None` for a virtual the farm does not know (the caller answers 503).
    pub fn route(&self, virtual_index: u16, head: &RequestHead) -> Option<(Route, &[RealId])> {
        let v = self.virtuals.get(usize::from(virtual_index))?;
        Some(match v.rules.iter().position(|r| r.rule.matches(head)) {
            Some(n) => (Route::Rule(n), &v.rules[n].reals[..]),
            None => (Route::Bind, &v.bind[..]),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use splicer_http::{parse_head, HeadStatus, Matcher};

    fn head(req: &str) -> RequestHead {
        match parse_head(req.as_bytes(), 16384) {
            HeadStatus::Complete(h) => h,
            other => panic!("{other:?}"),
        }
    }

    fn real(name: &str, last: u8) -> Real {
        Real {
            name: name.into(),
            address: SocketAddrV4::new([198, 19, 0, last].into(), 80),
            weight: 1,
            pool: 4,
            maxconns: 64,
        }
    }

    fn farm() -> Farm {
        Farm {
            reals: vec![real("s1", 11), real("s2", 12), real("s3", 13)],
            virtuals: vec![VirtualPolicy {
                name: "www".into(),
                predictor: Predictor::RoundRobin,
                rules: vec![
                    RuleRoute {
                        name: "img".into(),
                        rule: Rule::new(vec![Matcher::PathPrefix("/img/".into())]),
                        reals: vec![1],
                    },
                    RuleRoute {
                        name: "api".into(),
                        rule: Rule::new(vec![Matcher::Host("api.example".into())]),
                        reals: vec![2],
                    },
                ],
                bind: vec![0, 1, 2],
            }],
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
