//! Every rule a configuration must follow; [`validate`] reports the first one broken,
//! naming its key.

use crate::eal;
use crate::keys::{
    BODY_MIN_RATE, BURST_SIZE, HANDOFF_RING_SIZE, MAX_FLOWS, MAX_HALF_OPEN, MEMPOOL_CACHE,
    MEMPOOL_SIZE, NEIGHBOUR_PENDING, REAL_MAXCONNS, REAL_POOL, REAL_WEIGHT, RX_DESCRIPTORS,
    SEND_MIN_RATE, SYN_COOKIE_THRESHOLD, TX_DESCRIPTORS, WORKERS,
};
use crate::net::{not_a_host, unusable, valid_name, valid_real_name, NAME_MAX};
use crate::{keys, ByteSize, Config, ConfigError, Dataplane, Method, Mode, Port, Real, Virtual};
use splicer_pipeline::balance::RealId;
use std::collections::HashMap;
use std::net::SocketAddrV4;
use std::time::Duration;

mod refs;

pub(crate) use refs::{and_list, dip_real, link_target, member_problem, LinkTarget, NameKind};
mod handoff;
mod local;
mod tcp;

use refs::{backups, dips, distinct_names, links, routing, urls};

/// The redirect statuses a `[[url]]` may use.
pub(crate) const URL_CODES: [u16; 5] = [301, 302, 303, 307, 308];
/// Longest accepted `url.url`, in bytes.
pub(crate) const URL_MAX: usize = 512;

/// The error for a `url.code` that is not a redirect status.
pub(crate) fn url_code_error(key: &str, code: i64) -> ConfigError {
    ConfigError::invalid(
        key,
        format!("must be one of 301, 302, 303, 307, 308, got {code}"),
    )
}

/// Most `[[real]]` entries: every one needs a [`RealId`].
const REALS_MAX: usize = RealId::MAX as usize + 1;

/// The error for a `max_half_open` above `max_flows`.
pub(crate) fn half_open_above_flows(value: i64, max_flows: u32) -> ConfigError {
    let hint = if value == i64::from(MAX_HALF_OPEN.default) {
        format!(
            " (the default); set max_half_open too when max_flows is below {}",
            MAX_HALF_OPEN.default
        )
    } else {
        String::new()
    };
    ConfigError::invalid(
        MAX_HALF_OPEN.name,
        format!("must be at most dataplane.max_flows ({max_flows}), got {value}{hint}"),
    )
}

/// The error for a `syn_cookie_threshold` above `max_half_open`.
pub(crate) fn cookies_above_half_open(value: i64, max_half_open: u32) -> ConfigError {
    ConfigError::invalid(
        SYN_COOKIE_THRESHOLD.name,
        format!("must be at most dataplane.max_half_open ({max_half_open}), got {value}"),
    )
}

/// Checks that `address` can be a host on the network: a TCP port other than 0, a
/// unicast address, not one of the ports' own addresses (`own` says why that is wrong)
/// and not a subnet's network or broadcast address.
fn check_host_address(
    address: SocketAddrV4,
    ports: &[Port],
    key: &str,
    own: &str,
) -> Result<(), ConfigError> {
    let ip = *address.ip();
    if address.port() == 0 {
        return invalid(
            key,
            format!("TCP port must be between 1 and 65535, got 0 ({address})"),
        );
    }
    if let Some(why) = unusable(ip) {
        return invalid(key, format!("{ip} is {why}"));
    }
    for (j, p) in ports.iter().enumerate() {
        if p.address.addr == ip {
            return invalid(
                key,
                format!("{ip} is the address of port[{j}] ({:?}), {own}", p.name),
            );
        }
        if let Some(which) = not_a_host(ip, &p.address) {
            return invalid(
                key,
                format!(
                    "{ip} is the {which} address of port[{j}] ({:?}) subnet {}",
                    p.name,
                    p.address.subnet()
                ),
            );
        }
    }
    Ok(())
}

fn invalid<T>(key: impl Into<String>, message: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError::invalid(key, message))
}

pub(crate) fn validate(config: &Config) -> Result<(), ConfigError> {
    dataplane(&config.dataplane)?;
    ports(&config.ports)?;
    reals(&config.ports, &config.virtuals, &config.reals)?;
    virtuals(&config.ports, &config.virtuals)?;
    urls(&config.urls)?;
    distinct_names(config)?;
    dips(config)?;
    routing(config)?;
    links(config)?;
    backups(config)?;
    tcp::virtuals(config)?;
    handoff::virtuals(config)?;
    local::reals(config)?;
    cluster(config)
}

/// `[cluster]` against the ports its peers are reached on.
fn cluster(config: &Config) -> Result<(), ConfigError> {
    config
        .cluster
        .as_ref()
        .map_or(Ok(()), |c| c.validate(&config.ports))
}

/// Every section of [`validate`] that fails, each with its first problem: the
/// sections that stand alone (dataplane, ports, URLs, names), then those that need
/// valid ports (reals, virtuals), then, only when all of those pass, the
/// cross-references (DIPs, routing, links, backups, tcp virtuals), which assume them.
/// Every check of [`validate`] must be here too (`splicer check` and a reload use this
/// one): a test loads invalid files both ways.
pub(crate) fn validate_all(config: &Config) -> Vec<ConfigError> {
    fn keep(errors: &mut Vec<ConfigError>, r: Result<(), ConfigError>) -> bool {
        r.map_err(|e| errors.push(e)).is_ok()
    }
    let mut errors = Vec::new();
    keep(&mut errors, dataplane(&config.dataplane));
    let ports_ok = keep(&mut errors, ports(&config.ports));
    keep(&mut errors, urls(&config.urls));
    keep(&mut errors, distinct_names(config));
    if ports_ok {
        keep(
            &mut errors,
            reals(&config.ports, &config.virtuals, &config.reals),
        );
        keep(&mut errors, virtuals(&config.ports, &config.virtuals));
        keep(&mut errors, cluster(config));
    }
    if errors.is_empty() {
        if let Err(e) = dips(config)
            .and_then(|()| routing(config))
            .and_then(|()| links(config))
            .and_then(|()| backups(config))
            .and_then(|()| tcp::virtuals(config))
            .and_then(|()| handoff::virtuals(config))
            .and_then(|()| local::reals(config))
        {
            errors.push(e);
        }
    }
    errors
}

/// The rules of `[dataplane]` alone.
pub(crate) fn validate_dataplane(dp: &Dataplane) -> Result<(), ConfigError> {
    dataplane(dp)
}

/// Whether `b` may be part of an HTTP token (RFC 9110 §5.6.2): method names and header
/// field names.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The methods a rule can match, in the order the error message lists them.
const MATCHABLE_METHODS: [Method; 8] = [
    Method::Get,
    Method::Head,
    Method::Post,
    Method::Put,
    Method::Delete,
    Method::Options,
    Method::Patch,
    Method::Trace,
];

/// The error for a method token a rule cannot match.
pub(crate) fn method_error(key: &str, token: &str) -> ConfigError {
    let names: Vec<_> = MATCHABLE_METHODS
        .iter()
        .filter_map(|m| m.as_str())
        .collect();
    let upper = token.to_ascii_uppercase();
    let why = if Method::from_token(&upper) == Method::Connect {
        "CONNECT requests are always refused (501), so a rule for them would never match"
            .to_string()
    } else if Method::from_token(&upper) != Method::Other {
        format!("methods are case-sensitive, write {upper:?}")
    } else {
        format!("{token:?} is not a method a rule can match")
    };
    ConfigError::invalid(key, format!("{why}; accepted values: {}", names.join(", ")))
}

fn plural(n: u32, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn dataplane(dp: &Dataplane) -> Result<(), ConfigError> {
    if dp.eal.is_empty() {
        return invalid(
            "dataplane.eal",
            "must not be empty: give the DPDK EAL arguments, at least the lcores and the port devices, like [\"-l\", \"0-1\", \"--vdev\", \"net_tap0\"]",
        );
    }
    if let Some(i) = dp.eal.iter().position(|a| a.is_empty()) {
        return invalid(format!("dataplane.eal[{i}]"), "empty argument");
    }
    let lcore_options = eal::lcore_options(&dp.eal);
    if lcore_options.len() > 1 {
        let quoted: Vec<_> = lcore_options.iter().map(|o| o.text.as_str()).collect();
        return invalid(
            "dataplane.eal",
            format!(
                "give only one of -l, --lcores and -c, DPDK refuses more than one (found {})",
                quoted.join(", ")
            ),
        );
    }

    WORKERS.check(dp.workers)?;
    if let [option] = lcore_options.as_slice() {
        if let Some(lcores) = option.count {
            let workers = u32::from(dp.workers);
            if workers + 1 > lcores {
                let verb = if workers == 1 { "needs" } else { "need" };
                return invalid(
                    WORKERS.name,
                    format!(
                        "{} {verb} {} lcores (1 control + {}) but dataplane.eal gives {lcores} ({}); give more lcores or fewer workers",
                        plural(workers, "worker"),
                        workers + 1,
                        plural(workers, "worker"),
                        option.text
                    ),
                );
            }
        }
    }

    if let Some(d) = dp.stats_interval {
        // `Some(ZERO)` cannot come from a file ("0s" reads as None), only from code.
        if d.is_zero() {
            return invalid(
                "dataplane.stats_interval",
                "Some(0s) is not allowed: None disables periodic statistics",
            );
        }
        keys::STATS_INTERVAL.check(d)?;
    }

    MEMPOOL_SIZE.check(dp.mempool_size)?;
    MEMPOOL_CACHE.check(dp.mempool_cache)?;
    // DPDK refuses a cache whose flush threshold (1.5 x the cache size) exceeds the
    // pool size. With the minimum pool of 1024 and the maximum cache of 512 it cannot
    // happen today; the check stays in case either bound moves.
    if u64::from(dp.mempool_cache) * 3 / 2 > u64::from(dp.mempool_size) {
        return invalid(
            MEMPOOL_CACHE.name,
            format!(
                "must be at most dataplane.mempool_size / 1.5 ({}), got {}",
                u64::from(dp.mempool_size) * 2 / 3,
                dp.mempool_cache
            ),
        );
    }
    RX_DESCRIPTORS.check(dp.rx_descriptors)?;
    TX_DESCRIPTORS.check(dp.tx_descriptors)?;
    BURST_SIZE.check(dp.burst_size)?;
    HANDOFF_RING_SIZE.check(dp.handoff_ring_size)?;

    keys::NEIGHBOUR_TIMEOUT.check(dp.neighbour_timeout)?;
    keys::NEIGHBOUR_RETRY.check(dp.neighbour_retry)?;
    NEIGHBOUR_PENDING.check(dp.neighbour_pending)?;
    keys::IDLE_SLEEP.check(dp.idle_sleep)?;

    MAX_FLOWS.check(dp.max_flows)?;
    BODY_MIN_RATE.check(dp.body_min_rate)?;
    SEND_MIN_RATE.check(dp.send_min_rate)?;
    keys::OUTLIER_ERRORS.check(dp.outlier_errors)?;
    keys::MAX_EJECTION_PERCENT.check(dp.max_ejection_percent)?;
    MAX_HALF_OPEN.check(dp.max_half_open)?;
    if dp.max_half_open > dp.max_flows {
        return Err(half_open_above_flows(dp.max_half_open.into(), dp.max_flows));
    }
    match dp.syn_cookie_threshold {
        Some(t) if t > dp.max_half_open => {
            return Err(cookies_above_half_open(t.into(), dp.max_half_open))
        }
        _ => {}
    }
    for (key, d) in [
        (keys::HANDSHAKE_TIMEOUT, dp.handshake_timeout),
        (keys::REQUEST_TIMEOUT, dp.request_timeout),
        (keys::CLIENT_IDLE_TIMEOUT, dp.client_idle_timeout),
        (keys::TCP_IDLE_TIMEOUT, dp.tcp_idle_timeout),
        (keys::HANDOFF_TIMEOUT, dp.handoff_timeout),
        (keys::AGENT_HEARTBEAT, dp.agent_heartbeat),
        (keys::AGENT_DEAD_TIME, dp.agent_dead_time),
        (keys::CONNECT_TIMEOUT, dp.connect_timeout),
        (keys::QUEUE_TIMEOUT, dp.queue_timeout),
        (keys::SERVER_IDLE_TIMEOUT, dp.server_idle_timeout),
        (keys::DRAIN_TIMEOUT, dp.drain_timeout),
        (keys::STOP_TIMEOUT, dp.stop_timeout),
        (keys::BODY_TIMEOUT, dp.body_timeout),
        (keys::SEND_TIMEOUT, dp.send_timeout),
        (keys::OUTLIER_EJECTION, dp.outlier_ejection),
        (keys::OUTLIER_MAX_EJECTION, dp.outlier_max_ejection),
    ] {
        key.check(d)?;
    }
    if let Some(path) = &dp.control_socket {
        control_socket("dataplane.control_socket", path)?;
    }
    if let Some(path) = &dp.control_socket_readonly {
        control_socket("dataplane.control_socket_readonly", path)?;
        if dp.control_socket.as_ref() == Some(path) {
            return invalid(
                "dataplane.control_socket_readonly",
                format!(
                    "{} is the admin control_socket too; give the read-only socket its own path",
                    path.display()
                ),
            );
        }
    }
    if let Some(addr) = dp.metrics {
        if addr.port() == 0 {
            return invalid(
                "dataplane.metrics",
                format!("TCP port must be between 1 and 65535, got 0 ({addr})"),
            );
        }
        // The endpoint has no authentication: a status page and metrics open to a
        // network must be asked for, not a typo away.
        if !addr.ip().is_loopback() && !dp.metrics_public {
            return invalid(
                "dataplane.metrics",
                format!("{addr} is not a loopback address; the metrics and status page have no authentication, so set metrics_public = true to serve them on it"),
            );
        }
    }
    Ok(())
}

/// The kernel's `sun_path` holds 108 bytes including the terminating NUL.
const SOCKET_PATH_MAX: usize = 107;

fn control_socket(key: &str, path: &std::path::Path) -> Result<(), ConfigError> {
    let text = path.to_string_lossy();
    // A relative path would depend on the directory Splicer was started from, which the
    // shell and ctl cannot know.
    if !path.is_absolute() {
        return invalid(
            key,
            format!("{text:?} is not an absolute path; give one like \"/run/splicer/splicer.sock\", or \"\" to disable the control socket"),
        );
    }
    if path.file_name().is_none() || text.ends_with('/') {
        return invalid(
            key,
            format!("{text:?} names a directory; give the socket's file name too, like \"/run/splicer/splicer.sock\""),
        );
    }
    if text.contains('\0') {
        return invalid(key, "must not contain a NUL character");
    }
    if text.len() > SOCKET_PATH_MAX {
        return invalid(
            key,
            format!(
                "is {} bytes long; a Unix socket path can be at most {SOCKET_PATH_MAX} bytes",
                text.len()
            ),
        );
    }
    Ok(())
}

/// A size with its byte count when its unit is not bytes: `66kB (66000 bytes)`.
fn size_with_bytes(size: ByteSize) -> String {
    let text = size.to_string();
    if text == format!("{}B", size.bytes()) {
        text
    } else {
        format!("{text} ({} bytes)", size.bytes())
    }
}

fn name_rule(key: &str, name: &str) -> Result<(), ConfigError> {
    if valid_name(name) {
        Ok(())
    } else {
        invalid(
            key,
            format!("{name:?} is not a valid name: use 1 to {NAME_MAX} characters from a-z, 0-9, '_' and '-'"),
        )
    }
}

fn real_name_rule(key: &str, name: &str) -> Result<(), ConfigError> {
    if valid_real_name(name) {
        Ok(())
    } else {
        invalid(
            key,
            format!("{name:?} is not a valid name: use 1 to {NAME_MAX} characters from A-Z, a-z, 0-9, '_', '.' and '-'"),
        )
    }
}

fn ports(ports: &[Port]) -> Result<(), ConfigError> {
    if ports.is_empty() {
        return invalid(
            "port",
            "at least one [[port]] is required, one per DPDK port in port-id order",
        );
    }
    for (i, port) in ports.iter().enumerate() {
        let key = |field: &str| format!("port[{i}].{field}");
        name_rule(&key("name"), &port.name)?;
        if let Some(j) = ports[..i].iter().position(|p| p.name == port.name) {
            return invalid(
                key("name"),
                format!("duplicate port name {:?} (port[{j}] has it too)", port.name),
            );
        }

        let a = &port.address;
        if !(1..=31).contains(&a.prefix_len) {
            return invalid(
                key("address"),
                format!(
                    "prefix length must be between 1 and 31, got {} ({a})",
                    a.prefix_len
                ),
            );
        }
        if let Some(why) = unusable(a.addr) {
            return invalid(key("address"), format!("{} is {why}", a.addr));
        }
        if let Some(which) = not_a_host(a.addr, a) {
            return invalid(
                key("address"),
                format!(
                    "{} is the {which} address of {}; give the port a host address of the subnet",
                    a.addr,
                    a.subnet()
                ),
            );
        }
        for (j, other) in ports[..i].iter().enumerate() {
            if other.address.addr == a.addr {
                return invalid(
                    key("address"),
                    format!(
                        "{} is already the address of port[{j}] ({:?})",
                        a.addr, other.name
                    ),
                );
            }
            if other.address.overlaps(a) {
                return invalid(
                    key("address"),
                    format!(
                        "subnet {} overlaps subnet {} of port[{j}] ({:?}); every port needs a subnet of its own",
                        a.subnet(),
                        other.address.subnet(),
                        other.name
                    ),
                );
            }
        }

        if let Some(gw) = port.gateway {
            if !a.contains(gw) {
                return invalid(
                    key("gateway"),
                    format!("{gw} is not inside the port's subnet {}", a.subnet()),
                );
            }
            if gw == a.addr {
                return invalid(key("gateway"), format!("{gw} is the port's own address"));
            }
            if let Some(which) = not_a_host(gw, a) {
                return invalid(
                    key("gateway"),
                    format!("{gw} is the {which} address of {}", a.subnet()),
                );
            }
        }
    }
    Ok(())
}

/// The index of the port that owns `v` (see [`Config::virtual_port_index`]), or the
/// message explaining why there is none (the key is `virtual[i].port` when `v.port`
/// is set, `virtual[i].address` otherwise).
pub(crate) fn virtual_owner(ports: &[Port], v: &Virtual) -> Result<usize, String> {
    let ip = *v.address.ip();
    let on_subnet = ports.iter().position(|p| p.address.contains(ip));
    match &v.port {
        Some(name) => {
            let index = ports
                .iter()
                .position(|p| &p.name == name)
                .ok_or_else(|| format!("no [[port]] named {name:?}"))?;
            match on_subnet {
                Some(s) if s != index => Err(format!(
                    "{ip} is on the subnet {} of port {:?}, so only that port can answer ARP for it; set it to {:?} or leave it out",
                    ports[s].address.subnet(),
                    ports[s].name,
                    ports[s].name
                )),
                _ => Ok(index),
            }
        }
        None => on_subnet.ok_or_else(|| format!("{ip} is on no port's subnet")),
    }
}

fn virtuals(ports: &[Port], virtuals: &[Virtual]) -> Result<(), ConfigError> {
    // VIP address -> (owning port, virtual that first used it).
    let mut owners: HashMap<std::net::Ipv4Addr, (usize, usize)> = HashMap::new();
    for (i, v) in virtuals.iter().enumerate() {
        let key = |field: &str| format!("virtual[{i}].{field}");
        name_rule(&key("name"), &v.name)?;
        if let Some(j) = virtuals[..i].iter().position(|o| o.name == v.name) {
            return invalid(
                key("name"),
                format!(
                    "duplicate virtual name {:?} (virtual[{j}] has it too)",
                    v.name
                ),
            );
        }

        let ip = *v.address.ip();
        check_host_address(
            v.address,
            ports,
            &key("address"),
            "a virtual needs an address of its own",
        )?;
        if let Some(j) = virtuals[..i].iter().position(|o| o.address == v.address) {
            return invalid(
                key("address"),
                format!(
                    "{} is already used by virtual[{j}] ({:?})",
                    v.address, virtuals[j].name
                ),
            );
        }

        let owner = match virtual_owner(ports, v) {
            Ok(index) => index,
            Err(message) if v.port.is_some() => return invalid(key("port"), message),
            Err(_) => {
                return invalid(
                    key("address"),
                    format!(
                        "{ip} is on no port's subnet; set virtual[{i}].port to the port that should answer ARP for it"
                    ),
                )
            }
        };
        match owners.get(&ip) {
            Some(&(port, j)) if port != owner => {
                return invalid(
                    key("port"),
                    format!(
                        "{ip} is already answered by port {:?} for virtual[{j}] ({:?}); every virtual on one address must use the same port",
                        ports[port].name, virtuals[j].name
                    ),
                );
            }
            Some(_) => {}
            None => {
                owners.insert(ip, (owner, i));
            }
        }

        size_in_range(
            &key("max_request_head"),
            &keys::MAX_REQUEST_HEAD,
            v.max_request_head,
        )?;
        keys::MAX_PIPELINE.check_at(&key("max_pipeline"), v.max_pipeline)?;
        size_in_range(&key("max_held"), &keys::MAX_HELD, v.max_held)?;
        keys::QUEUE_SIZE.check_at(&key("queue_size"), v.queue_size)?;
        keys::PRIORITY.check_at(&key("priority"), v.priority)?;
        keys::COST.check_at(&key("cost"), v.cost)?;
        for (j, r) in v.rules.iter().enumerate() {
            let key = |field: &str| format!("virtual[{i}].rule[{j}].{field}");
            if let Some(p) = r.priority {
                keys::PRIORITY.check_at(&key("priority"), p)?;
            }
            if let Some(c) = r.cost {
                keys::COST.check_at(&key("cost"), c)?;
            }
        }
        if let Some(d) = v.sticky {
            sticky_timer(&key("sticky"), v, d)?;
        }
        keys::STICKY_TABLE.check_at(&key("sticky_table"), v.sticky_table)?;
    }
    Ok(())
}

/// A virtual's `sticky` timer: whole seconds up to the declared maximum, in a splice
/// virtual (a redirect virtual splices to no real a client could stick to).
fn sticky_timer(key: &str, v: &Virtual, d: Duration) -> Result<(), ConfigError> {
    let max = keys::STICKY.max;
    if d > max || d.subsec_nanos() != 0 || d.is_zero() {
        return invalid(
            key,
            format!(
                "must be whole seconds from 1s up to {} (or \"0s\": off), got {}",
                crate::duration::format(max),
                crate::duration::format(d)
            ),
        );
    }
    if v.mode == Mode::Redirect {
        return invalid(
            key,
            "only a splice or tcp virtual can be sticky (a redirect virtual sends clients to URLs, not reals)",
        );
    }
    Ok(())
}

/// A size key's value against its declared range, at `key` (`virtual[1].max_held`).
fn size_in_range(key: &str, declared: &keys::SizeKey, size: ByteSize) -> Result<(), ConfigError> {
    if (declared.min..=declared.max).contains(&size) {
        return Ok(());
    }
    let range = if declared.min.bytes() == 0 {
        format!("at most {}", declared.max)
    } else {
        format!("between {} and {}", declared.min, declared.max)
    };
    invalid(
        key,
        format!("must be {range}, got {}", size_with_bytes(size)),
    )
}

fn reals(ports: &[Port], virtuals: &[Virtual], reals: &[Real]) -> Result<(), ConfigError> {
    if reals.len() > REALS_MAX {
        return invalid(
            "real",
            format!(
                "at most {REALS_MAX} [[real]] tables are allowed, got {}",
                reals.len()
            ),
        );
    }
    let routed = ports.iter().any(|p| p.gateway.is_some());
    let mut names: HashMap<&str, usize> = HashMap::new();
    for (i, r) in reals.iter().enumerate() {
        let key = |field: &str| format!("real[{i}].{field}");
        real_name_rule(&key("name"), &r.name)?;
        if let Some(&j) = names.get(r.name.as_str()) {
            return invalid(
                key("name"),
                format!("duplicate real name {:?} (real[{j}] has it too)", r.name),
            );
        }
        names.insert(&r.name, i);

        let ip = *r.address.ip();
        check_host_address(
            r.address,
            ports,
            &key("address"),
            "one of Splicer's own; give the real server's address",
        )?;
        if let Some((j, v)) = virtuals
            .iter()
            .enumerate()
            .find(|(_, v)| *v.address.ip() == ip)
        {
            return invalid(
                key("address"),
                format!(
                    "{ip} is the address of virtual[{j}] ({:?}), one of Splicer's own; give the real server's address",
                    v.name
                ),
            );
        }
        if !routed && !ports.iter().any(|p| p.address.contains(ip)) {
            return invalid(
                key("address"),
                format!("{ip} is on no port's subnet and no port has a gateway, so Splicer cannot reach it; put the real on a port's subnet or give the port that leads to it a gateway"),
            );
        }

        REAL_WEIGHT.check_at(&key("weight"), r.weight)?;
        REAL_POOL.check_at(&key("pool"), r.pool)?;
        REAL_MAXCONNS.check_at(&key("maxconns"), r.maxconns)?;
        keys::REAL_TIER.check_at(&key("tier"), r.tier)?;
        if r.maxconns < r.pool {
            return invalid(
                key("maxconns"),
                format!(
                    "must be at least real[{i}].pool ({}), got {}; the pool's idle connections count towards maxconns",
                    r.pool, r.maxconns
                ),
            );
        }
        if let Some(c) = &r.check {
            c.validate(&key("check"))?;
        }
        if r.slowstart > crate::health::MAX_SLOWSTART {
            return invalid(key("slowstart"), "must be at most 1h");
        }
    }
    Ok(())
}
