//! The data plane's view of the configuration: the [`Farm`] (reals, URLs, per-virtual
//! routing, states and backups) and the services and addresses the workers answer for.
//!
//! Workers index server pools by [`RealId`] and client connections by virtual index, so
//! while Splicer runs those indexes must not move when the configuration changes:
//! [`FarmIds`] remembers which index each real and virtual got, gives new ones the next
//! free index, and keeps removed ones as [`Status::Removed`] entries. A fresh `FarmIds`
//! numbers reals and virtuals in file order, DIPs after the virtuals.

use crate::{Config, Mode, ServiceState};
use splicer_pipeline::balance::{
    self, Farm, Predictor, RealId, RequestClass, RuleRoute, Status, Sticky, StickyTable, Target,
    UrlId, VirtualPolicy,
};
use splicer_pipeline::Service;
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;

/// What identifies a virtual across configurations.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum VirtualKey {
    Named(String),
    Dip(Ipv4Addr),
}

/// The indexes reals and virtuals have in the running data plane.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FarmIds {
    /// Per index: the real's name and address (a real whose address changes is a new
    /// real: its pooled connections go to the old address).
    reals: Vec<(String, SocketAddrV4)>,
    virtuals: Vec<VirtualKey>,
    /// The last farm built, for the entries of removed reals and virtuals.
    last: Farm,
}

/// Everything the workers' topology needs from the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FarmPlan {
    /// Reals, URLs and routing.
    pub farm: Farm,
    /// Every listening service (virtuals in service or not, and DIPs).
    pub services: Vec<Service>,
    /// Each VIP and the index of the port that answers ARP for it.
    pub vips: Vec<(Ipv4Addr, u16)>,
    /// Each DIP and the index of the port its clients come in on.
    pub dips: Vec<(Ipv4Addr, u16)>,
}

impl FarmIds {
    /// The index of the real called `name` at `address`, if it has one.
    pub fn real(&self, name: &str, address: SocketAddrV4) -> Option<RealId> {
        self.reals
            .iter()
            .position(|(n, a)| n == name && *a == address)
            .map(|i| i as RealId)
    }

    /// The index of the virtual called `name`, if it has one.
    pub fn virtual_index(&self, name: &str) -> Option<u16> {
        self.virtuals
            .iter()
            .position(|k| matches!(k, VirtualKey::Named(n) if n == name))
            .map(|i| i as u16)
    }

    /// The index of the DIP at `ip`, if it has one.
    pub fn dip_index(&self, ip: Ipv4Addr) -> Option<u16> {
        self.virtuals
            .iter()
            .position(|k| *k == VirtualKey::Dip(ip))
            .map(|i| i as u16)
    }

    /// The name of the real or virtual at an index (removed ones too), for statistics.
    pub fn real_name(&self, id: RealId) -> Option<&str> {
        self.reals.get(usize::from(id)).map(|(n, _)| n.as_str())
    }

    /// The name of the virtual at an index (a DIP's is its address), removed ones too.
    pub fn virtual_name(&self, index: u16) -> Option<String> {
        self.virtuals.get(usize::from(index)).map(|k| match k {
            VirtualKey::Named(n) => n.clone(),
            VirtualKey::Dip(ip) => ip.to_string(),
        })
    }

    /// How many reals have an index (removed ones included).
    pub fn real_count(&self) -> usize {
        self.reals.len()
    }

    /// How many virtuals and DIPs have an index (removed ones included).
    pub fn virtual_count(&self) -> usize {
        self.virtuals.len()
    }

    fn real_slot(&mut self, name: &str, address: SocketAddrV4, taken: &[bool]) -> usize {
        match self.reals.iter().enumerate().position(|(i, (n, a))| {
            n == name && *a == address && !taken.get(i).copied().unwrap_or(false)
        }) {
            Some(i) => i,
            None => {
                self.reals.push((name.to_string(), address));
                self.reals.len() - 1
            }
        }
    }

    fn virtual_slot(&mut self, key: VirtualKey) -> usize {
        match self.virtuals.iter().position(|k| *k == key) {
            Some(i) => i,
            None => {
                self.virtuals.push(key);
                self.virtuals.len() - 1
            }
        }
    }
}

fn status(s: ServiceState) -> Status {
    match s {
        ServiceState::InService => Status::InService,
        ServiceState::OutOfService => Status::OutOfService,
        ServiceState::Maintenance => Status::Maintenance,
        ServiceState::Sticky => Status::Sticky,
        ServiceState::Failed => Status::Failed,
    }
}

fn index<T: TryFrom<usize>>(i: usize, what: &str) -> T {
    T::try_from(i)
        .unwrap_or_else(|_| panic!("too many {what} (the configuration was not validated)"))
}

impl Config {
    /// What a URL takes through its `link` (Cisco's "Server load balancing method and
    /// system", US 7,099,915): its state is its own while that is out of service, else
    /// the linked virtual's or the linked DIP's real's; its weight is the DIP's real's
    /// when linked to a DIP, else its own.
    ///
    /// # Panics
    /// On a configuration that fails [`Config::validate`] (a DIP without its real).
    pub fn url_effective(&self, url: &crate::Url) -> (ServiceState, u16) {
        let link = url.link.as_deref();
        let dip_real = link
            .and_then(|l| self.dips.iter().position(|d| d.address.to_string() == l))
            .map(|i| &self.reals[self.dip_real(i)]);
        let weight = dip_real.map_or(url.weight, |r| r.weight);
        if !url.state.is_in_service() {
            return (url.state, weight);
        }
        let linked_virtual = link.and_then(|l| self.virtuals.iter().find(|v| v.name == l));
        let state = match (dip_real, linked_virtual) {
            (Some(r), _) => r.state,
            (None, Some(v)) => v.state,
            (None, None) => url.state,
        };
        (state, weight)
    }

    /// Whether `real` serves tcp virtuals only: bound by at least one `mode = "tcp"`
    /// virtual, by no other virtual (own list or rules), and no DIP's. Such a real keeps
    /// no pooled connections whatever its `pool`: a tcp virtual opens a fresh
    /// connection per client, and an idle one would be of no use to anybody (and a
    /// server that speaks first, SMTP or SSH, would send its banner down it).
    pub fn tcp_only(&self, real: &crate::Real) -> bool {
        let binds = |v: &crate::Virtual| {
            v.bind
                .iter()
                .chain(v.rules.iter().flat_map(|r| &r.bind))
                .any(|n| *n == real.name)
        };
        let (tcp, other): (Vec<_>, Vec<_>) = self
            .virtuals
            .iter()
            .filter(|v| binds(v))
            .partition(|v| v.mode == Mode::Tcp);
        !tcp.is_empty()
            && other.is_empty()
            && !self.dips.iter().any(|d| d.address == *real.address.ip())
    }

    /// The farm with indexes in file order (reals; virtuals, then DIPs): what a fresh
    /// start uses. See [`Config::plan`].
    pub fn farm(&self) -> Farm {
        self.plan(&mut FarmIds::default()).farm
    }

    /// The data plane's view of this configuration, with the indexes `ids` gave earlier
    /// configurations (new reals and virtuals get new indexes; `ids` learns them).
    ///
    /// # Panics
    /// On a configuration that fails [`Config::validate`] (a name that names nothing,
    /// more reals than a [`RealId`] numbers).
    pub fn plan(&self, ids: &mut FarmIds) -> FarmPlan {
        // Reals: same name and address, same index.
        let mut real_ids = vec![0usize; self.reals.len()];
        let mut taken = vec![false; ids.reals.len()];
        for (i, r) in self.reals.iter().enumerate() {
            let slot = ids.real_slot(&r.name, r.address, &taken);
            if taken.len() <= slot {
                taken.resize(slot + 1, false);
            }
            taken[slot] = true;
            real_ids[i] = slot;
        }
        let by_name: HashMap<&str, RealId> = self
            .reals
            .iter()
            .zip(&real_ids)
            .map(|(r, &slot)| (r.name.as_str(), index(slot, "reals")))
            .collect();
        let url_ids: HashMap<&str, UrlId> = self
            .urls
            .iter()
            .enumerate()
            .map(|(i, u)| (u.name.as_str(), index(i, "URLs")))
            .collect();
        // Virtuals (by name) and DIPs (by address).
        let mut virtual_ids = Vec::with_capacity(self.virtuals.len());
        for v in &self.virtuals {
            virtual_ids.push(ids.virtual_slot(VirtualKey::Named(v.name.clone())));
        }
        let mut dip_ids = Vec::with_capacity(self.dips.len());
        for d in &self.dips {
            dip_ids.push(ids.virtual_slot(VirtualKey::Dip(d.address)));
        }
        let virtual_by_name: HashMap<&str, u16> = self
            .virtuals
            .iter()
            .zip(&virtual_ids)
            .map(|(v, &slot)| (v.name.as_str(), index(slot, "virtuals")))
            .collect();
        let target = |name: &Option<String>| -> Option<Target> {
            let n = name.as_deref()?;
            by_name
                .get(n)
                .map(|&r| Target::Real(r))
                .or_else(|| virtual_by_name.get(n).map(|&v| Target::Virtual(v)))
                .or_else(|| url_ids.get(n).map(|&u| Target::Url(u)))
        };
        // A bind list's members of the mode's kind, and (in splice mode) the URLs
        // beside its reals.
        let members = |names: &[String], mode: Mode| -> (Vec<u16>, Vec<UrlId>) {
            let (mut main, mut urls) = (Vec::new(), Vec::new());
            for n in names {
                match (mode, by_name.get(n.as_str()), url_ids.get(n.as_str())) {
                    (Mode::Splice | Mode::Tcp | Mode::Handoff, Some(&r), _) => main.push(r),
                    (Mode::Splice, None, Some(&u)) => urls.push(u),
                    (Mode::Redirect, _, Some(&u)) => main.push(u),
                    _ => panic!("bind: {n} does not exist (the configuration was not validated)"),
                }
            }
            (main, urls)
        };

        // Removed entries keep their last form, out of service.
        let mut reals: Vec<balance::Real> = (0..ids.reals.len())
            .map(|i| {
                let (name, address) = &ids.reals[i];
                let mut r = ids
                    .last
                    .reals
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| balance::Real::new(name.clone(), *address, 0, 0, 1));
                r.status = Status::Removed;
                r.weight = 0;
                r.backup = None;
                r
            })
            .collect();
        for (r, &slot) in self.reals.iter().zip(&real_ids) {
            reals[slot] = balance::Real {
                name: r.name.clone(),
                address: r.address,
                weight: r.weight,
                pool: if self.tcp_only(r) { 0 } else { r.pool },
                maxconns: r.maxconns,
                status: status(r.state),
                backup: target(&r.backup),
                tier: r.tier as u8,
                check: r.check.as_ref().map(|c| c.to_dataplane(r)),
                health: balance::Health::UP,
                agent: r.agent,
                handoff_routed: r.handoff_mode == crate::HandoffMode::Routed,
                local: r.local,
            };
        }
        let removed_virtual = |i: usize| {
            let mut v = ids.last.virtuals.get(i).cloned().unwrap_or_else(|| {
                VirtualPolicy::splice("", Predictor::RoundRobin, Vec::new(), Vec::new())
            });
            v.status = Status::Removed;
            v.backup = None;
            v
        };
        let mut virtuals: Vec<VirtualPolicy> =
            (0..ids.virtuals.len()).map(removed_virtual).collect();
        let mut services = Vec::with_capacity(self.virtuals.len() + self.dips.len());
        let mut vips = Vec::with_capacity(self.virtuals.len());
        for (i, (v, &slot)) in self.virtuals.iter().zip(&virtual_ids).enumerate() {
            let (bind, bind_urls) = members(&v.bind, v.mode);
            // A sticky virtual keeps its table (and so its clients) across changes that
            // keep its size; the timer may change.
            let sticky = v.sticky.map(|d| {
                let timeout_s = u16::try_from(d.as_secs()).unwrap_or(u16::MAX);
                let entries = v.sticky_table as usize;
                match ids.last.virtuals.get(slot).and_then(|l| l.sticky.as_ref()) {
                    Some(old) if old.table.capacity() == StickyTable::capacity_for(entries) => {
                        Sticky {
                            timeout_s,
                            table: Arc::clone(&old.table),
                        }
                    }
                    _ => Sticky::new(timeout_s, entries),
                }
            });
            virtuals[slot] = VirtualPolicy {
                name: v.name.clone(),
                mode: match v.mode {
                    Mode::Splice => balance::Mode::Splice,
                    Mode::Redirect => balance::Mode::Redirect,
                    Mode::Tcp => balance::Mode::Tcp,
                    Mode::Handoff => balance::Mode::Handoff,
                },
                predictor: v.predictor,
                hash: v.hash.clone(),
                rules: v
                    .rules
                    .iter()
                    .map(|r| {
                        let (members, urls) = members(&r.bind, v.mode);
                        RuleRoute {
                            name: r.name.clone(),
                            rule: r.to_http_rule(),
                            members,
                            urls,
                            predictor: r.predictor,
                            hash: r.hash.clone(),
                            class: RequestClass {
                                priority: r.priority.unwrap_or(v.priority) as u8,
                                cost: r.cost.unwrap_or(v.cost),
                            },
                        }
                    })
                    .collect(),
                bind,
                status: status(v.state),
                backup: target(&v.backup),
                class: RequestClass {
                    priority: v.priority as u8,
                    cost: v.cost,
                },
                queue_size: u32::from(v.queue_size),
                bind_urls,
                sticky,
            };
            services.push(Service {
                address: v.address,
                virtual_index: index(slot, "virtuals"),
                max_request_head: v.max_request_head.bytes() as usize,
                max_pipeline: v.max_pipeline,
                max_held: v.max_held.bytes() as usize,
                forward_for: v.forwarding(),
                server_close: v.server_close.data_path(),
            });
            vips.push((*v.address.ip(), index(self.virtual_port_index(i), "ports")));
        }
        let mut dips = Vec::with_capacity(self.dips.len());
        for (d, &slot) in self.dips.iter().zip(&dip_ids) {
            let Some((ri, real)) = self
                .reals
                .iter()
                .enumerate()
                .find(|(_, r)| *r.address.ip() == d.address)
            else {
                panic!(
                    "dip {}: no real has its address (the configuration was not validated)",
                    d.address
                );
            };
            let real_id: RealId = index(real_ids[ri], "reals");
            virtuals[slot] = VirtualPolicy {
                backup: target(&real.backup),
                ..VirtualPolicy::splice(
                    d.address.to_string(),
                    Predictor::RoundRobin,
                    Vec::new(),
                    vec![real_id],
                )
            };
            services.push(Service {
                address: SocketAddrV4::new(d.address, real.address.port()),
                virtual_index: index(slot, "virtuals"),
                max_request_head: crate::defaults::MAX_REQUEST_HEAD.bytes() as usize,
                max_pipeline: crate::defaults::MAX_PIPELINE,
                max_held: crate::defaults::MAX_HELD.bytes() as usize,
                // A DIP serves a real 1:1 for clients that address it directly; it has
                // no virtual to set this on.
                forward_for: Default::default(),
                server_close: Default::default(),
            });
            let port = self
                .ports
                .iter()
                .position(|p| p.name == d.port)
                .unwrap_or_else(|| {
                    panic!(
                        "dip {}: no port {} (the configuration was not validated)",
                        d.address, d.port
                    )
                });
            dips.push((d.address, index(port, "ports")));
        }
        let urls = self
            .urls
            .iter()
            .map(|u| {
                let (state, weight) = self.url_effective(u);
                balance::Url {
                    name: u.name.clone(),
                    template: u.url.clone(),
                    code: u.code,
                    weight,
                    in_service: state.is_in_service(),
                }
            })
            .collect();
        let farm = Farm {
            reals,
            virtuals,
            urls,
        };
        ids.last = farm.clone();
        FarmPlan {
            farm,
            services,
            vips,
            dips,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{fixtures, Dip, Real, Url, Virtual};
    use splicer_pipeline::balance::Mode as FarmMode;

    /// Ports outside/inside, reals s1..s3, virtual www over all three.
    fn base() -> Config {
        let www = r#"
[[virtual]]
name = "www"
address = "198.18.0.100:80"
bind = ["s1", "s2", "s3"]
"#;
        let text = fixtures::with_ports("", &format!("{}{www}", fixtures::REALS));
        Config::from_toml_str(&text).unwrap()
    }

    fn names(f: &Farm) -> Vec<(&str, Status)> {
        f.reals
            .iter()
            .map(|r| (r.name.as_str(), r.status))
            .collect()
    }

    #[test]
    fn indexes_stay_across_changes() {
        let mut ids = FarmIds::default();
        let mut c = base();
        let p = c.plan(&mut ids);
        assert_eq!(p.farm.virtuals[0].bind, vec![0, 1, 2]);

        // s2 removed, s4 added in the middle of the file: s1 and s3 keep 0 and 2, s4
        // gets 3, s2's entry stays, removed, taking nothing.
        c.virtuals[0].bind = vec!["s1".into(), "s4".into(), "s3".into()];
        c.reals[1] = Real::new("s4", "198.19.0.14:80".parse().unwrap());
        c.validate().unwrap();
        let p = c.plan(&mut ids);
        assert_eq!(
            names(&p.farm),
            [
                ("s1", Status::InService),
                ("s2", Status::Removed),
                ("s3", Status::InService),
                ("s4", Status::InService)
            ]
        );
        assert_eq!(p.farm.reals[1].weight, 0);
        assert_eq!(p.farm.reals[1].pool_target(), 0);
        assert_eq!(p.farm.reals[1].address, "198.19.0.12:80".parse().unwrap());
        assert_eq!(p.farm.virtuals[0].bind, vec![0, 3, 2]);
        assert_eq!(ids.real("s4", "198.19.0.14:80".parse().unwrap()), Some(3));

        // A real that moves to another address is another real: its pooled
        // connections go to the old one.
        c.reals[0].address = "198.19.0.21:80".parse().unwrap();
        let p = c.plan(&mut ids);
        assert_eq!(p.farm.reals[0].status, Status::Removed);
        assert_eq!(p.farm.reals[4].name, "s1");
        assert_eq!(p.farm.virtuals[0].bind, vec![4, 3, 2]);

        // A removed virtual keeps its index; one added later gets the next.
        c.virtuals
            .push(Virtual::new("api", "198.18.0.101:80".parse().unwrap()));
        let p = c.plan(&mut ids);
        assert_eq!(p.services[1].virtual_index, 1);
        c.virtuals.remove(0);
        let p = c.plan(&mut ids);
        assert_eq!(p.farm.virtuals[0].status, Status::Removed);
        assert_eq!(p.farm.virtuals[0].name, "www");
        assert_eq!(p.services.len(), 1);
        assert_eq!(p.services[0].virtual_index, 1);
        assert_eq!(p.vips, vec![(Ipv4Addr::new(198, 18, 0, 101), 0)]);
    }

    #[test]
    fn services_take_the_virtuals_limits() {
        let mut c = base();
        c.virtuals[0].max_request_head = crate::ByteSize::kib(4);
        c.virtuals[0].max_pipeline = 1;
        c.virtuals[0].max_held = crate::ByteSize::from_bytes(0);
        c.virtuals
            .push(Virtual::new("api", "198.18.0.101:80".parse().unwrap()));
        c.dips.push(Dip {
            address: Ipv4Addr::new(198, 19, 0, 11),
            port: "outside".into(),
        });
        c.validate().unwrap();
        let p = c.plan(&mut FarmIds::default());
        let limits = |s: &Service| (s.max_request_head, s.max_pipeline, s.max_held);
        assert_eq!(limits(&p.services[0]), (4096, 1, 0));
        // A virtual left at the defaults, and a DIP (which has no keys of its own),
        // get the data plane's defaults.
        let defaults = (
            16384,
            Service::DEFAULT_MAX_PIPELINE,
            Service::DEFAULT_MAX_HELD,
        );
        assert_eq!(limits(&p.services[1]), defaults);
        assert_eq!(p.services[2].address, "198.19.0.11:80".parse().unwrap());
        assert_eq!(limits(&p.services[2]), defaults);
        c.virtuals[1].max_pipeline = 256;
        c.virtuals[1].max_held = crate::ByteSize::kib(1024);
        let p = c.plan(&mut FarmIds::default());
        assert_eq!(limits(&p.services[1]), (16384, 256, 1 << 20));
    }

    #[test]
    fn dips_urls_states_and_backups() {
        let mut c = base();
        c.reals[0].weight = 7;
        c.reals[0].backup = Some("s3".into());
        c.dips.push(Dip {
            address: Ipv4Addr::new(198, 19, 0, 11),
            port: "outside".into(),
        });
        let mut u1 = Url::new("u1", "http://198.19.0.11/%d");
        u1.link = Some("198.19.0.11".into());
        let mut u2 = Url::new("u2", "http://other.test/%d");
        u2.weight = 3;
        u2.link = Some("www".into());
        c.urls = vec![u1, u2];
        let mut acme = Virtual::new("acme", "198.18.0.100:8080".parse().unwrap());
        acme.mode = crate::Mode::Redirect;
        acme.bind = vec!["u1".into(), "u2".into()];
        acme.backup = Some("u2".into());
        c.virtuals.push(acme);
        c.validate().unwrap();

        let p = c.plan(&mut FarmIds::default());
        // The DIP: a virtual after the two virtuals, listening on the real's port,
        // spliced to the real, backed up by the real's backup; taken on outside.
        let dip = &p.farm.virtuals[2];
        assert_eq!(dip.name, "198.19.0.11");
        assert_eq!((dip.mode, &dip.bind[..]), (FarmMode::Splice, &[0u16][..]));
        assert_eq!(dip.backup, Some(Target::Real(2)));
        assert_eq!(p.services[2].address, "198.19.0.11:80".parse().unwrap());
        assert_eq!(p.services[2].virtual_index, 2);
        assert_eq!(p.dips, vec![(Ipv4Addr::new(198, 19, 0, 11), 0)]);
        // The redirect virtual binds URL indexes; its backup is a URL.
        assert_eq!(p.farm.virtuals[1].mode, FarmMode::Redirect);
        assert_eq!(p.farm.virtuals[1].bind, vec![0, 1]);
        assert_eq!(p.farm.virtuals[1].backup, Some(Target::Url(1)));
        // u1 takes s1's weight through the DIP; u2 keeps its own.
        assert_eq!(
            (p.farm.urls[0].weight, p.farm.urls[0].in_service),
            (7, true)
        );
        assert_eq!(
            (p.farm.urls[1].weight, p.farm.urls[1].in_service),
            (3, true)
        );

        // States: s1 out of service takes u1 with it; www out of service takes u2.
        c.reals[0].state = ServiceState::OutOfService;
        c.virtuals[0].state = ServiceState::Sticky;
        let p = c.plan(&mut FarmIds::default());
        assert_eq!(p.farm.reals[0].status, Status::OutOfService);
        assert_eq!(p.farm.virtuals[0].status, Status::Sticky);
        assert!(!p.farm.urls[0].in_service);
        assert!(!p.farm.urls[1].in_service);
        // A URL's own state counts too.
        c.reals[0].state = ServiceState::InService;
        c.urls[0].state = ServiceState::Maintenance;
        let p = c.plan(&mut FarmIds::default());
        assert!(!p.farm.urls[0].in_service);
    }
}
