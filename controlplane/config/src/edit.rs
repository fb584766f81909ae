//! Live changes to the configuration: the commands of the control shell that change
//! what Splicer serves (seed 003's `virtual`, `real`, `url`, `bind`, `dip`, `link`,
//! `backup`, `in-service`, `out-of-service`, and `weight`, `predictor`, `rule`).
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

use crate::{Mode, Predictor, Rule, ServiceState};
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

/// One change to the configuration. Numbers are carried as written (`u32`) so that
/// range errors are reported in one place, by [`Config::edited`].
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// `virtual <name> <ip:port> [mode splice|redirect] [predictor <p>]`: adds a
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
    /// `predictor <virtual> <p>`.
    Predictor {
        /// The virtual.
        virtual_id: String,
        /// The predictor.
        predictor: Predictor,
    },
    /// `rule add <virtual> <name> <condition>... bind <member>... [at N]`.
    RuleAdd {
        /// The virtual.
        virtual_id: String,
        /// The rule, with its name and bind list.
        rule: Rule,
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
}
