//! Live changes to the configuration: the commands of the control shell that change
//! what Splicer serves (the `virtual`, `real`, `url`, `bind`, `dip`, `link`, `backup`,
//! `in-service` and `out-of-service` of Cisco's "Server load balancing method and
//! system", US 7,099,915, and `weight`, `predictor`, `rule`, `tier`, `queue`).
//!
//! An [`Edit`] is applied to a [`Config`] with [`Config::edited`], which returns a new,
//! validated configuration or an error that names what is wrong; the configuration it
//! was applied to is never changed, so a failed command changes nothing. The running
//! appliance then hands the new configuration to its workers, and `save` writes it out
//! as TOML that loads to the same configuration.
//!
//! Identifiers (`id` fields) name a real, virtual or URL by its name; a real or virtual
//! may also be named by its address (`198.19.0.11` or `198.19.0.11:80`) when exactly one
//! has it, and a DIP by its IP address.

mod class;
mod find;

use find::by_address;

pub use class::ClassEdit;

use crate::validate::{self, and_list, member_problem, LinkTarget, NameKind};
use crate::{Config, Dip, Mode, Predictor, Real, Rule, ServiceState, Url, Virtual};
use std::net::{Ipv4Addr, SocketAddrV4};

/// Which kind of object `in-service` / `out-of-service` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A `[[virtual]]` (or a DIP, named by its address).
    Virtual,
    /// A `[[real]]`.
    Real,
    /// A `[[url]]`.
    Url,
}

impl Kind {
    /// The command's word for the kind: `virtual`, `real` or `url`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Virtual => "virtual",
            Kind::Real => "real",
            Kind::Url => "url",
        }
    }
}

/// One change to the configuration. Numbers are carried as written (`u32`) so that
/// range errors are reported in one place, by [`Config::edited`].
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// `virtual <name> <ip:port> [mode splice|redirect|tcp] [predictor <p>]`: adds a
    /// virtual, or changes the address, mode or predictor of an existing one.
    Virtual {
        /// Name of the virtual.
        name: String,
        /// VIP and TCP port.
        address: SocketAddrV4,
        /// `mode`, when given.
        mode: Option<Mode>,
        /// `predictor`, when given.
        predictor: Option<Predictor>,
    },
    /// `no virtual <id>`: removes a virtual (its open client connections finish their
    /// current request).
    NoVirtual {
        /// The virtual.
        id: String,
    },
    /// `real <name> <ip:port> [weight N] [pool N] [maxconns N]`: adds a real, or
    /// changes an existing one.
    Real {
        /// Name of the real.
        name: String,
        /// Address and TCP port of the server.
        address: SocketAddrV4,
        /// `weight`, when given.
        weight: Option<u32>,
        /// `pool`, when given.
        pool: Option<u32>,
        /// `maxconns`, when given.
        maxconns: Option<u32>,
    },
    /// `no real <id>`: removes a real that nothing binds, links or backs up to.
    NoReal {
        /// The real.
        id: String,
    },
    /// `url <name> <url> [code]`: adds a URL, or changes an existing one.
    Url {
        /// Name of the URL.
        name: String,
        /// The URL template.
        url: String,
        /// Redirect status, when given.
        code: Option<u32>,
    },
    /// `no url <id>`: removes a URL that nothing binds or backs up to.
    NoUrl {
        /// The URL.
        id: String,
    },
    /// `bind <virtual> <member> [<member> ...]`: appends reals (splice mode) or URLs
    /// (redirect mode) to a virtual's bind list.
    Bind {
        /// The virtual.
        virtual_id: String,
        /// Reals or URLs.
        members: Vec<String>,
    },
    /// `no bind <virtual> <member> [<member> ...]`: removes them from the bind list.
    NoBind {
        /// The virtual.
        virtual_id: String,
        /// Reals or URLs.
        members: Vec<String>,
    },
    /// `dip <ip> [port <name>]`: makes a DIP for the one real with that IP address;
    /// the port defaults to the one that owns the first virtual.
    Dip {
        /// The real's (and the DIP's) address.
        address: Ipv4Addr,
        /// The client-side port, when given.
        port: Option<String>,
    },
    /// `no dip <ip>`.
    NoDip {
        /// The DIP's address.
        address: Ipv4Addr,
    },
    /// `link <url> <virtual|dip>`: the URL inherits that virtual's state (and a DIP's
    /// real's weight).
    Link {
        /// The URL.
        url: String,
        /// A virtual's name, or a DIP's address.
        target: String,
    },
    /// `no link <url>`.
    NoLink {
        /// The URL.
        url: String,
    },
    /// `backup <real|virtual> <real|virtual|url>`.
    Backup {
        /// What is backed up.
        id: String,
        /// Its backup.
        backup: String,
    },
    /// `no backup <real|virtual>`.
    NoBackup {
        /// What was backed up.
        id: String,
    },
    /// `in-service virtual|real|url <id> [all]`; `all`: every one of that kind with
    /// the same IP address (reals and virtuals only).
    InService {
        /// Kind of object.
        kind: Kind,
        /// The object.
        id: String,
        /// Every object of the kind on that IP address.
        all: bool,
    },
    /// `out-of-service virtual|real|url <id> [oos|maintenance|sticky|failed] [all]`
    /// (default `oos`).
    OutOfService {
        /// Kind of object.
        kind: Kind,
        /// The object.
        id: String,
        /// Never [`ServiceState::InService`].
        state: ServiceState,
        /// Every object of the kind on that IP address.
        all: bool,
    },
    /// `weight <real|url> <N>`.
    Weight {
        /// The real (or unlinked URL).
        id: String,
        /// 0..=1000.
        weight: u32,
    },
    /// `predictor <virtual> <p> [rule <name>]`.
    Predictor {
        /// The virtual.
        virtual_id: String,
        /// The predictor.
        predictor: Predictor,
        /// The rule of the virtual whose own predictor it becomes; `None`: the
        /// virtual's.
        rule: Option<String>,
    },
    /// `rule add <virtual> <name> <condition>... bind <member>... [at N]`.
    RuleAdd {
        /// The virtual.
        virtual_id: String,
        /// The rule, with its name and bind list.
        rule: Box<Rule>,
        /// 1-based position; default: after the last rule.
        at: Option<u32>,
    },
    /// `rule del <virtual> <name>`.
    RuleDel {
        /// The virtual.
        virtual_id: String,
        /// The rule's name.
        rule: String,
    },
    /// `tier`, `queue` and `rule class`: see [`ClassEdit`].
    Class(ClassEdit),
}

const WEIGHT_RANGE: &str = "weight must be 0..=1000";
const POOL_RANGE: &str = "pool must be 0..=1024";
const MAXCONNS_RANGE: &str = "maxconns must be 1..=65535";
const CODE_SET: &str = "code must be one of 301, 302, 303, 307, 308";

/// A number of an edit, checked against its range.
fn ranged(value: u32, min: u32, max: u32, message: &str) -> Result<u16, String> {
    if (min..=max).contains(&value) {
        Ok(value as u16)
    } else {
        Err(message.to_string())
    }
}

/// What `backup` and `no backup` name: a real (a DIP names its real) or a virtual.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Real(usize),
    Virtual(usize),
}

/// What `in-service virtual <id>` names.
enum VirtualId {
    Virtual(usize),
    /// A DIP: its state is its real's.
    Dip(usize),
}

impl Config {
    /// This configuration with `edit` applied, validated; `self` is never changed, so a
    /// failed edit changes nothing.
    ///
    /// The error names what is wrong: `real s9 does not exist`, `weight must be
    /// 0..=1000`, `real s1 is bound to virtual www; unbind it first: no bind www s1`...
    /// A rule that only [`Config::validate`] checks (a name's characters, a URL's form,
    /// a rule's conditions, backups that loop...) is reported as that error's text,
    /// with its key (`real[3].name: "s 1" is not a valid name: ...`).
    pub fn edited(&self, edit: &Edit) -> Result<Config, String> {
        let mut c = self.clone();
        c.apply(edit)?;
        c.validate().map_err(|e| e.to_string())?;
        Ok(c)
    }

    fn apply(&mut self, edit: &Edit) -> Result<(), String> {
        match edit {
            Edit::Virtual {
                name,
                address,
                mode,
                predictor,
            } => self.set_virtual(name, *address, *mode, *predictor),
            Edit::NoVirtual { id } => self.remove_virtual(id),
            Edit::Real {
                name,
                address,
                weight,
                pool,
                maxconns,
            } => self.set_real(name, *address, *weight, *pool, *maxconns),
            Edit::NoReal { id } => self.remove_real(id),
            Edit::Url { name, url, code } => self.set_url(name, url, *code),
            Edit::NoUrl { id } => self.remove_url(id),
            Edit::Bind {
                virtual_id,
                members,
            } => self.bind(virtual_id, members),
            Edit::NoBind {
                virtual_id,
                members,
            } => self.unbind(virtual_id, members),
            Edit::Dip { address, port } => self.add_dip(*address, port.as_deref()),
            Edit::NoDip { address } => self.remove_dip(*address),
            Edit::Link { url, target } => self.link(url, target),
            Edit::NoLink { url } => {
                let u = self.find_url(url)?;
                if self.urls[u].link.take().is_none() {
                    return Err(format!("url {} is not linked", self.urls[u].name));
                }
                Ok(())
            }
            Edit::Backup { id, backup } => self.set_backup(id, backup),
            Edit::NoBackup { id } => {
                let owner = self.find_owner(id)?;
                let (slot, what) = self.backup_slot(owner);
                if slot.take().is_none() {
                    return Err(format!("{what} has no backup"));
                }
                Ok(())
            }
            Edit::InService { kind, id, all } => {
                self.set_state(*kind, id, *all, ServiceState::InService)
            }
            Edit::OutOfService {
                kind,
                id,
                state,
                all,
            } => {
                if state.is_in_service() {
                    return Err(
                        "out-of-service takes a state other than in-service: oos, maintenance, sticky or failed"
                            .to_string(),
                    );
                }
                self.set_state(*kind, id, *all, *state)
            }
            Edit::Weight { id, weight } => {
                let weight = ranged(*weight, 0, 1000, WEIGHT_RANGE)?;
                if let Some(u) = self.urls.iter().position(|u| &u.name == id) {
                    if let Some(link) = &self.urls[u].link {
                        if let Ok(LinkTarget::Dip(d)) = validate::link_target(self, link) {
                            return Err(format!(
                                "url {} takes its weight from DIP {} (real {}); set the real's weight",
                                self.urls[u].name,
                                self.dips[d].address,
                                self.reals[self.dip_real(d)].name
                            ));
                        }
                    }
                    self.urls[u].weight = weight;
                } else {
                    let r = self.find_real(id)?;
                    self.reals[r].weight = weight;
                }
                Ok(())
            }
            Edit::Predictor {
                virtual_id,
                predictor,
                rule,
            } => {
                let v = self.find_virtual(virtual_id)?;
                let virt = &mut self.virtuals[v];
                match rule {
                    None => virt.predictor = *predictor,
                    Some(rule) => {
                        let Some(r) = virt.rules.iter_mut().find(|r| &r.name == rule) else {
                            return Err(format!(
                                "rule {rule} does not exist in virtual {}",
                                virt.name
                            ));
                        };
                        r.predictor = Some(*predictor);
                    }
                }
                Ok(())
            }
            Edit::RuleAdd {
                virtual_id,
                rule,
                at,
            } => self.add_rule(virtual_id, rule, *at),
            Edit::RuleDel { virtual_id, rule } => {
                let (v, j) = self.find_rule(virtual_id, rule)?;
                self.virtuals[v].rules.remove(j);
                Ok(())
            }
            Edit::Class(e) => self.apply_class(e),
        }
    }

    /// What kind of object is called `name`, if any.
    fn kind_of(&self, name: &str) -> Option<NameKind> {
        if self.reals.iter().any(|r| r.name == name) {
            Some(NameKind::Real)
        } else if self.virtuals.iter().any(|v| v.name == name) {
            Some(NameKind::Virtual)
        } else if self.urls.iter().any(|u| u.name == name) {
            Some(NameKind::Url)
        } else {
            None
        }
    }

    /// An error when `name`, for a new object of kind `kind`, is another kind's name.
    fn name_free(&self, name: &str, kind: NameKind) -> Result<(), String> {
        match self.kind_of(name) {
            Some(other) if other != kind => Err(format!(
                "{name} is already the name of a {}; reals, virtuals and URLs need distinct names",
                other.word()
            )),
            _ => Ok(()),
        }
    }

    fn set_virtual(
        &mut self,
        name: &str,
        address: SocketAddrV4,
        mode: Option<Mode>,
        predictor: Option<Predictor>,
    ) -> Result<(), String> {
        let Some(v) = self.virtuals.iter().position(|v| v.name == name) else {
            self.name_free(name, NameKind::Virtual)?;
            let mut v = Virtual::new(name, address);
            v.mode = mode.unwrap_or(v.mode);
            v.predictor = predictor.unwrap_or(v.predictor);
            self.virtuals.push(v);
            return Ok(());
        };
        let virt = &self.virtuals[v];
        if let Some(mode) = mode.filter(|m| *m != virt.mode) {
            // Members the new mode cannot bind: reals, for a redirect virtual; URLs, for a
            // tcp virtual (a splice virtual binds both: URLs beside its reals).
            let mut members: Vec<&str> = Vec::new();
            for m in virt
                .bind
                .iter()
                .chain(virt.rules.iter().flat_map(|r| &r.bind))
            {
                let kind = self.kind_of(m);
                if !members.contains(&m.as_str()) && member_problem(m, kind, mode).is_some() {
                    members.push(m);
                }
            }
            if !members.is_empty() {
                // What the new mode cannot bind: reals (redirect) or URLs (tcp).
                let (have, wants) = match mode {
                    Mode::Redirect => ("reals", "URLs"),
                    Mode::Tcp | Mode::Handoff => ("URLs", "reals only"),
                    Mode::Splice => ("members", "reals and URLs"),
                };
                return Err(format!(
                    "virtual {} binds {have} {}; a {} virtual binds {wants}: unbind them (no bind, rule del) first",
                    virt.name,
                    and_list(&members),
                    mode.name()
                ));
            }
            self.virtuals[v].mode = mode;
        }
        let virt = &mut self.virtuals[v];
        virt.address = address;
        if let Some(p) = predictor {
            virt.predictor = p;
        }
        Ok(())
    }

    fn set_real(
        &mut self,
        name: &str,
        address: SocketAddrV4,
        weight: Option<u32>,
        pool: Option<u32>,
        maxconns: Option<u32>,
    ) -> Result<(), String> {
        let weight = weight
            .map(|w| ranged(w, 0, 1000, WEIGHT_RANGE))
            .transpose()?;
        let pool = pool.map(|p| ranged(p, 0, 1024, POOL_RANGE)).transpose()?;
        let maxconns = maxconns
            .map(|m| ranged(m, 1, 65535, MAXCONNS_RANGE))
            .transpose()?;
        let r = match self.reals.iter().position(|r| r.name == name) {
            Some(r) => {
                let old = *self.reals[r].address.ip();
                if old != *address.ip() && self.dips.iter().any(|d| d.address == old) {
                    return Err(format!(
                        "real {name} has DIP {old}; remove it first: no dip {old}"
                    ));
                }
                self.reals[r].address = address;
                r
            }
            None => {
                self.name_free(name, NameKind::Real)?;
                self.reals.push(Real::new(name, address));
                self.reals.len() - 1
            }
        };
        let real = &mut self.reals[r];
        real.weight = weight.unwrap_or(real.weight);
        real.pool = pool.unwrap_or(real.pool);
        real.maxconns = maxconns.unwrap_or(real.maxconns);
        Ok(())
    }

    fn set_url(&mut self, name: &str, url: &str, code: Option<u32>) -> Result<(), String> {
        let code = match code {
            None => None,
            Some(c) => match u16::try_from(c) {
                Ok(c) if validate::URL_CODES.contains(&c) => Some(c),
                _ => return Err(CODE_SET.to_string()),
            },
        };
        let u = match self.urls.iter().position(|u| u.name == name) {
            Some(u) => u,
            None => {
                self.name_free(name, NameKind::Url)?;
                self.urls.push(Url::new(name, url));
                self.urls.len() - 1
            }
        };
        self.urls[u].url = url.to_string();
        if let Some(c) = code {
            self.urls[u].code = c;
        }
        Ok(())
    }

    /// Why the real, virtual or URL called `name` cannot be removed: the first bind
    /// list, rule or backup that names it.
    fn referenced(&self, what: &str, name: &str) -> Result<(), String> {
        for v in &self.virtuals {
            if v.bind.iter().any(|b| b == name) {
                return Err(format!(
                    "{what} {name} is bound to virtual {}; unbind it first: no bind {} {name}",
                    v.name, v.name
                ));
            }
            for r in &v.rules {
                if r.bind.iter().any(|b| b == name) {
                    return Err(format!(
                        "{what} {name} is bound by rule {} of virtual {}; delete the rule first: rule del {} {}",
                        r.name, v.name, v.name, r.name
                    ));
                }
            }
        }
        let owners = self
            .reals
            .iter()
            .map(|r| ("real", &r.name, &r.backup))
            .chain(
                self.virtuals
                    .iter()
                    .map(|v| ("virtual", &v.name, &v.backup)),
            );
        for (kind, owner, backup) in owners {
            if backup.as_deref() == Some(name) {
                return Err(format!(
                    "{what} {name} is the backup of {kind} {owner}; remove it first: no backup {owner}"
                ));
            }
        }
        Ok(())
    }

    fn remove_real(&mut self, id: &str) -> Result<(), String> {
        let r = self.find_real(id)?;
        let name = self.reals[r].name.clone();
        self.referenced("real", &name)?;
        let ip = *self.reals[r].address.ip();
        if self.dips.iter().any(|d| d.address == ip) {
            return Err(format!(
                "real {name} has DIP {ip}; remove it first: no dip {ip}"
            ));
        }
        self.reals.remove(r);
        Ok(())
    }

    fn remove_virtual(&mut self, id: &str) -> Result<(), String> {
        let v = match self.find_virtual(id) {
            Ok(v) => v,
            Err(e) => {
                return Err(match self.find_dip(id) {
                    Some(d) => {
                        let ip = self.dips[d].address;
                        format!("{ip} is a DIP; remove it with: no dip {ip}")
                    }
                    None => e,
                })
            }
        };
        let name = self.virtuals[v].name.clone();
        if let Some(u) = self.urls.iter().find(|u| u.link.as_deref() == Some(&name)) {
            return Err(format!(
                "virtual {name} is linked by url {}; unlink it first: no link {}",
                u.name, u.name
            ));
        }
        self.referenced("virtual", &name)?;
        self.virtuals.remove(v);
        Ok(())
    }

    fn remove_url(&mut self, id: &str) -> Result<(), String> {
        let u = self.find_url(id)?;
        let name = self.urls[u].name.clone();
        self.referenced("url", &name)?;
        self.urls.remove(u);
        Ok(())
    }

    /// The name of the real (splice) or URL (redirect) that `id` names as a member of a
    /// virtual in `mode`: a name, or a real's address.
    fn member(&self, id: &str, mode: Mode) -> Result<String, String> {
        let (name, kind) = match self.kind_of(id) {
            Some(kind) => (id.to_string(), Some(kind)),
            None => match by_address(
                id,
                "reals",
                self.reals.iter().map(|r| (r.name.as_str(), r.address)),
            )? {
                Some(r) => (self.reals[r].name.clone(), Some(NameKind::Real)),
                None => (id.to_string(), None),
            },
        };
        match member_problem(&name, kind, mode) {
            Some(problem) => Err(problem),
            None => Ok(name),
        }
    }

    fn bind(&mut self, virtual_id: &str, members: &[String]) -> Result<(), String> {
        let v = self.find_virtual(virtual_id)?;
        if members.is_empty() {
            return Err("bind needs at least one real or URL".to_string());
        }
        for id in members {
            let name = self.member(id, self.virtuals[v].mode)?;
            let virt = &mut self.virtuals[v];
            if virt.bind.contains(&name) {
                return Err(format!("{name} is already bound to {}", virt.name));
            }
            virt.bind.push(name);
        }
        Ok(())
    }

    fn unbind(&mut self, virtual_id: &str, members: &[String]) -> Result<(), String> {
        let v = self.find_virtual(virtual_id)?;
        for id in members {
            let name = self.member(id, self.virtuals[v].mode)?;
            let virt = &mut self.virtuals[v];
            let Some(n) = virt.bind.iter().position(|b| *b == name) else {
                return Err(format!("{name} is not bound to {}", virt.name));
            };
            virt.bind.remove(n);
        }
        Ok(())
    }

    fn add_dip(&mut self, address: Ipv4Addr, port: Option<&str>) -> Result<(), String> {
        if self.dips.iter().any(|d| d.address == address) {
            return Err(format!("DIP {address} already exists"));
        }
        let port = match port {
            Some(name) => {
                if !self.ports.iter().any(|p| p.name == name) {
                    return Err(format!("port {name} does not exist"));
                }
                name.to_string()
            }
            None => {
                if self.virtuals.is_empty() {
                    return Err(format!(
                        "there is no virtual to take the DIP's port from; name the port: dip {address} port <name>"
                    ));
                }
                self.ports[self.virtual_port_index(0)].name.clone()
            }
        };
        validate::dip_real(&self.reals, address)?;
        self.dips.push(Dip { address, port });
        Ok(())
    }

    fn remove_dip(&mut self, address: Ipv4Addr) -> Result<(), String> {
        let Some(d) = self.dips.iter().position(|d| d.address == address) else {
            return Err(format!("DIP {address} does not exist"));
        };
        let text = address.to_string();
        if let Some(u) = self.urls.iter().find(|u| u.link.as_deref() == Some(&text)) {
            return Err(format!(
                "DIP {address} is linked by url {}; unlink it first: no link {}",
                u.name, u.name
            ));
        }
        self.dips.remove(d);
        Ok(())
    }

    fn link(&mut self, url: &str, target: &str) -> Result<(), String> {
        let u = self.find_url(url)?;
        let link = match self.find_virtual(target) {
            Ok(v) => self.virtuals[v].name.clone(),
            Err(e) => match self.find_dip(target) {
                Some(d) => self.dips[d].address.to_string(),
                None if e.ends_with("name one") => return Err(e),
                None => return Err(format!("{target} is neither a virtual nor a DIP")),
            },
        };
        self.urls[u].link = Some(link);
        Ok(())
    }

    /// The real or virtual `id` names, for `backup` (a DIP names its real).
    fn find_owner(&self, id: &str) -> Result<Owner, String> {
        match self.kind_of(id) {
            Some(NameKind::Real) => return self.find_real(id).map(Owner::Real),
            Some(NameKind::Virtual) => return self.find_virtual(id).map(Owner::Virtual),
            Some(NameKind::Url) => {
                return Err(format!(
                    "{id} is a URL; only reals and virtuals (and DIPs) have a backup"
                ))
            }
            None => {}
        }
        if let Some(v) = by_address(
            id,
            "virtuals",
            self.virtuals.iter().map(|v| (v.name.as_str(), v.address)),
        )? {
            return Ok(Owner::Virtual(v));
        }
        if let Some(d) = self.find_dip(id) {
            return Ok(Owner::Real(self.dip_real(d)));
        }
        match by_address(
            id,
            "reals",
            self.reals.iter().map(|r| (r.name.as_str(), r.address)),
        )? {
            Some(r) => Ok(Owner::Real(r)),
            None => Err(format!("{id} is neither a real nor a virtual")),
        }
    }

    /// The `backup` field of `owner`, and how to name the owner in a message.
    fn backup_slot(&mut self, owner: Owner) -> (&mut Option<String>, String) {
        match owner {
            Owner::Real(r) => {
                let real = &mut self.reals[r];
                (&mut real.backup, format!("real {}", real.name))
            }
            Owner::Virtual(v) => {
                let virt = &mut self.virtuals[v];
                (&mut virt.backup, format!("virtual {}", virt.name))
            }
        }
    }

    fn set_backup(&mut self, id: &str, backup: &str) -> Result<(), String> {
        let owner = self.find_owner(id)?;
        let target = match self.kind_of(backup) {
            Some(_) => backup.to_string(),
            None => match self.find_owner(backup) {
                Ok(Owner::Real(r)) => self.reals[r].name.clone(),
                Ok(Owner::Virtual(v)) => self.virtuals[v].name.clone(),
                Err(e) if e.ends_with("name one") => return Err(e),
                Err(_) => {
                    return Err(format!("{backup} is not a real, virtual or URL"));
                }
            },
        };
        let (slot, what) = self.backup_slot(owner);
        if what.ends_with(&format!(" {target}")) {
            return Err(format!("{what} cannot be its own backup"));
        }
        *slot = Some(target);
        Ok(())
    }

    /// The virtual or DIP a `Kind::Virtual` id names.
    fn find_virtual_or_dip(&self, id: &str) -> Result<VirtualId, String> {
        match self.find_virtual(id) {
            Ok(v) => Ok(VirtualId::Virtual(v)),
            Err(e) => self.find_dip(id).map(VirtualId::Dip).ok_or(e),
        }
    }

    fn set_state(
        &mut self,
        kind: Kind,
        id: &str,
        all: bool,
        state: ServiceState,
    ) -> Result<(), String> {
        // With `all`, a bare IP names every object of the kind on it, even several.
        let all_on = |addresses: &mut dyn Iterator<Item = SocketAddrV4>| -> Option<Vec<usize>> {
            let ip = id.parse::<Ipv4Addr>().ok()?;
            let on: Vec<usize> = addresses
                .enumerate()
                .filter(|(_, a)| *a.ip() == ip)
                .map(|(i, _)| i)
                .collect();
            (!on.is_empty()).then_some(on)
        };
        match kind {
            Kind::Real => {
                let reals = match all_on(&mut self.reals.iter().map(|r| r.address)) {
                    Some(on) if all => on,
                    _ => {
                        let r = self.find_real(id)?;
                        let ip = *self.reals[r].address.ip();
                        if all {
                            (0..self.reals.len())
                                .filter(|&i| *self.reals[i].address.ip() == ip)
                                .collect()
                        } else {
                            vec![r]
                        }
                    }
                };
                for r in reals {
                    self.reals[r].state = state;
                }
            }
            Kind::Virtual => {
                let virtuals = match all_on(&mut self.virtuals.iter().map(|v| v.address)) {
                    Some(on) if all => on,
                    _ => match self.find_virtual_or_dip(id)? {
                        VirtualId::Dip(d) => {
                            // The DIP shares its real's state (a DIP pairs with one real,
                            // so `all` changes nothing more).
                            let r = self.dip_real(d);
                            self.reals[r].state = state;
                            return Ok(());
                        }
                        VirtualId::Virtual(v) => {
                            let ip = *self.virtuals[v].address.ip();
                            if all {
                                (0..self.virtuals.len())
                                    .filter(|&i| *self.virtuals[i].address.ip() == ip)
                                    .collect()
                            } else {
                                vec![v]
                            }
                        }
                    },
                };
                for v in virtuals {
                    self.virtuals[v].state = state;
                }
            }
            Kind::Url => {
                if all {
                    return Err(
                        "all applies to reals and virtuals (every one on an IP address); a URL has no address"
                            .to_string(),
                    );
                }
                let u = self.find_url(id)?;
                self.urls[u].state = state;
            }
        }
        Ok(())
    }

    fn add_rule(&mut self, virtual_id: &str, rule: &Rule, at: Option<u32>) -> Result<(), String> {
        let v = self.find_virtual(virtual_id)?;
        let virt = &self.virtuals[v];
        if virt.rules.iter().any(|r| r.name == rule.name) {
            return Err(format!(
                "rule {} already exists in virtual {}",
                rule.name, virt.name
            ));
        }
        let last = virt.rules.len() + 1;
        let position = match at {
            None => last,
            Some(n) if (1..=last as u64).contains(&u64::from(n)) => n as usize,
            Some(_) => return Err(format!("rule position must be 1..={last}")),
        };
        let mut rule = rule.clone();
        rule.bind = rule
            .bind
            .iter()
            .map(|m| self.member(m, virt.mode))
            .collect::<Result<_, _>>()?;
        self.virtuals[v].rules.insert(position - 1, rule);
        Ok(())
    }
}
