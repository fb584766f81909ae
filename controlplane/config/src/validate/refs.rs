//! The rules between objects: names distinct and of the kind that refers to them, bind
//! lists, URLs and their links, DIPs and their reals, backups, content rules and routing.

use super::{
    invalid, is_tchar, method_error, real_name_rule, url_code_error, MATCHABLE_METHODS, URL_CODES,
    URL_MAX,
};
use crate::keys::URL_WEIGHT;
use crate::{Config, ConfigError, CookieMatch, Mode, Real, Rule, Url};
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddrV4};

/// What a name is, among reals, virtuals and URLs (their names are distinct).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NameKind {
    Real,
    Virtual,
    Url,
}

impl NameKind {
    pub(crate) fn word(self) -> &'static str {
        match self {
            NameKind::Real => "real",
            NameKind::Virtual => "virtual",
            NameKind::Url => "URL",
        }
    }
}

/// Every real, virtual and URL name and what it names (the first of a kind wins; the
/// names are checked distinct before this is used).
fn name_kinds(config: &Config) -> HashMap<&str, NameKind> {
    let mut kinds = HashMap::new();
    for u in &config.urls {
        kinds.insert(u.name.as_str(), NameKind::Url);
    }
    for v in &config.virtuals {
        kinds.insert(v.name.as_str(), NameKind::Virtual);
    }
    for r in &config.reals {
        kinds.insert(r.name.as_str(), NameKind::Real);
    }
    kinds
}

/// The message for a bind list member that is not of the kind `mode` binds, or `None`
/// when it is. A splice virtual binds reals, and URLs beside them (cross-site sharing:
/// a share of its requests redirected, US 7,099,915); a redirect virtual binds URLs.
pub(crate) fn member_problem(name: &str, kind: Option<NameKind>, mode: Mode) -> Option<String> {
    match (mode, kind) {
        (Mode::Splice, Some(NameKind::Real | NameKind::Url))
        | (Mode::Redirect, Some(NameKind::Url))
        | (Mode::Tcp | Mode::Handoff, Some(NameKind::Real)) => None,
        (Mode::Splice | Mode::Tcp | Mode::Handoff, None) => Some(format!("real {name} does not exist")),
        (Mode::Tcp, Some(NameKind::Url)) => Some(format!(
            "{name} is a URL; a tcp virtual binds reals only (a redirect needs an HTTP request)"
        )),
        (Mode::Handoff, Some(NameKind::Url)) => Some(format!(
            "{name} is a URL; a handoff virtual binds reals only (each with an agent to hand connections to)"
        )),
        (Mode::Handoff, Some(NameKind::Virtual)) => {
            Some(format!("{name} is a virtual; a handoff virtual binds reals"))
        }
        (Mode::Tcp, Some(NameKind::Virtual)) => {
            Some(format!("{name} is a virtual; a tcp virtual binds reals"))
        }
        (Mode::Redirect, None) => Some(format!("url {name} does not exist")),
        (Mode::Redirect, Some(NameKind::Real)) => Some(format!(
            "{name} is a real; a redirect virtual binds URLs (set mode = \"splice\" to bind reals)"
        )),
        (Mode::Splice, Some(NameKind::Virtual)) => Some(format!(
            "{name} is a virtual; a splice virtual binds reals (and URLs beside them)"
        )),
        (Mode::Redirect, Some(NameKind::Virtual)) => Some(format!(
            "{name} is a virtual; a redirect virtual binds URLs"
        )),
    }
}

/// A `bind` list: every name a member of the kind `mode` binds, none twice.
fn bind_list(
    key: &str,
    bind: &[String],
    kinds: &HashMap<&str, NameKind>,
    mode: Mode,
) -> Result<(), ConfigError> {
    for (n, name) in bind.iter().enumerate() {
        if let Some(problem) = member_problem(name, kinds.get(name.as_str()).copied(), mode) {
            return invalid(key, problem);
        }
        if bind[..n].contains(name) {
            let word = match (mode, kinds.get(name.as_str())) {
                (Mode::Splice | Mode::Tcp | Mode::Handoff, Some(NameKind::Real)) => "real",
                _ => "url",
            };
            return invalid(key, format!("{word} {name} is listed twice"));
        }
    }
    Ok(())
}

/// Why `url` cannot be a redirect target, if it cannot.
fn url_problem(url: &str) -> Option<String> {
    let Some(rest) = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
    else {
        return Some(format!(
            "{url:?} must start with http:// or https://, like \"http://coyote.acme.example/%d\""
        ));
    };
    if url.len() > URL_MAX {
        return Some(format!(
            "is {} bytes long; a URL can be at most {URL_MAX} bytes",
            url.len()
        ));
    }
    if url
        .bytes()
        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control() || b == 0x7f)
    {
        return Some(format!(
            "{url:?} contains a space or a control character; write them %-encoded (%%20)"
        ));
    }
    if rest.is_empty() || rest.starts_with('/') {
        return Some(format!(
            "{url:?} has no host after the scheme (%h stands for the request's host)"
        ));
    }
    let mut chars = url.chars();
    while let Some(c) = chars.next() {
        if c == '%' {
            match chars.next() {
                Some('h' | 's' | 'd' | '%') => {}
                other => {
                    let m: String = other.map(String::from).unwrap_or_default();
                    return Some(format!(
                        "{url:?} has an unknown macro %{m}; the macros are %h (the request's host), %s (its port), %d (its document) and %% (a %)"
                    ));
                }
            }
        }
    }
    None
}

pub(super) fn urls(urls: &[Url]) -> Result<(), ConfigError> {
    for (i, u) in urls.iter().enumerate() {
        let key = |field: &str| format!("url[{i}].{field}");
        real_name_rule(&key("name"), &u.name)?;
        if let Some(j) = urls[..i].iter().position(|o| o.name == u.name) {
            return invalid(
                key("name"),
                format!("duplicate URL name {:?} (url[{j}] has it too)", u.name),
            );
        }
        if let Some(problem) = url_problem(&u.url) {
            return invalid(key("url"), problem);
        }
        if !URL_CODES.contains(&u.code) {
            return Err(url_code_error(&key("code"), u.code.into()));
        }
        URL_WEIGHT.check_at(&key("weight"), u.weight)?;
    }
    Ok(())
}

/// Reals, virtuals and URLs share one name space: `bind`, `link` and `backup` name any
/// of them.
pub(super) fn distinct_names(config: &Config) -> Result<(), ConfigError> {
    let mut seen: HashMap<&str, NameKind> = HashMap::new();
    for r in &config.reals {
        seen.insert(&r.name, NameKind::Real);
    }
    let named = config
        .virtuals
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("virtual[{i}].name"), &v.name, NameKind::Virtual))
        .chain(
            config
                .urls
                .iter()
                .enumerate()
                .map(|(i, u)| (format!("url[{i}].name"), &u.name, NameKind::Url)),
        );
    for (key, name, kind) in named {
        match seen.get(name.as_str()) {
            Some(other) if *other != kind => {
                return invalid(
                    key,
                    format!(
                        "{name} is already the name of a {}; reals, virtuals and URLs need distinct names",
                        other.word()
                    ),
                );
            }
            _ => {
                seen.insert(name, kind);
            }
        }
    }
    Ok(())
}

/// The index of the one real whose IP address is `ip` (a DIP's real), or why there is
/// none.
pub(crate) fn dip_real(reals: &[Real], ip: Ipv4Addr) -> Result<usize, String> {
    let matching: Vec<usize> = (0..reals.len())
        .filter(|&i| *reals[i].address.ip() == ip)
        .collect();
    match matching.as_slice() {
        [] => Err(format!("no real has address {ip}")),
        [one] => Ok(*one),
        many => {
            let names: Vec<&str> = many.iter().map(|&i| reals[i].name.as_str()).collect();
            let verb = if names.len() == 2 { "both" } else { "all" };
            Err(format!(
                "reals {} {verb} have {ip}; a DIP pairs with one real",
                and_list(&names)
            ))
        }
    }
}

/// `a`, `a and b`, `a, b and c`.
pub(crate) fn and_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

pub(super) fn dips(config: &Config) -> Result<(), ConfigError> {
    for (i, d) in config.dips.iter().enumerate() {
        let key = |field: &str| format!("dip[{i}].{field}");
        let ip = d.address;
        if let Some((j, p)) = config
            .ports
            .iter()
            .enumerate()
            .find(|(_, p)| p.address.addr == ip)
        {
            return invalid(
                key("address"),
                format!(
                    "{ip} is the address of port[{j}] ({:?}); a DIP has the address of a real",
                    p.name
                ),
            );
        }
        let real =
            dip_real(&config.reals, ip).map_err(|m| ConfigError::invalid(key("address"), m))?;
        let socket = SocketAddrV4::new(ip, config.reals[real].address.port());
        if let Some((j, v)) = config
            .virtuals
            .iter()
            .enumerate()
            .find(|(_, v)| v.address == socket)
        {
            return invalid(
                key("address"),
                format!(
                    "{socket} (the DIP of real {}) is already used by virtual[{j}] ({:?})",
                    config.reals[real].name, v.name
                ),
            );
        }
        if let Some(j) = config.dips[..i].iter().position(|o| o.address == ip) {
            return invalid(
                key("address"),
                format!("duplicate DIP {ip} (dip[{j}] has it too)"),
            );
        }
        if !config.ports.iter().any(|p| p.name == d.port) {
            return invalid(key("port"), format!("no [[port]] named {:?}", d.port));
        }
    }
    Ok(())
}

/// What a `link` names: a virtual (by name) or a DIP (by its IP address).
pub(crate) enum LinkTarget {
    Virtual,
    Dip(usize),
}

/// The virtual or DIP a `link` value names, or why it names none.
pub(crate) fn link_target(config: &Config, link: &str) -> Result<LinkTarget, String> {
    if config.virtuals.iter().any(|v| v.name == link) {
        return Ok(LinkTarget::Virtual);
    }
    match link.parse::<Ipv4Addr>() {
        Ok(ip) => config
            .dips
            .iter()
            .position(|d| d.address == ip)
            .map(LinkTarget::Dip)
            .ok_or_else(|| format!("no DIP has address {ip}")),
        Err(_) => Err(format!(
            "{link} is neither a virtual nor a DIP's address (like \"198.19.0.11\")"
        )),
    }
}

pub(super) fn links(config: &Config) -> Result<(), ConfigError> {
    for (i, u) in config.urls.iter().enumerate() {
        if let Some(link) = &u.link {
            link_target(config, link)
                .map_err(|m| ConfigError::invalid(format!("url[{i}].link"), m))?;
        }
    }
    Ok(())
}

/// Every `backup` names an existing real, virtual or URL other than its owner, and
/// following backups never comes back to where it started.
pub(super) fn backups(config: &Config) -> Result<(), ConfigError> {
    let kinds = name_kinds(config);
    // name -> its backup, for reals and virtuals (a URL has none: it ends a chain).
    let mut next: HashMap<&str, &str> = HashMap::new();
    let owners = config
        .reals
        .iter()
        .enumerate()
        .map(|(i, r)| (format!("real[{i}].backup"), &r.name, &r.backup))
        .chain(
            config
                .virtuals
                .iter()
                .enumerate()
                .map(|(i, v)| (format!("virtual[{i}].backup"), &v.name, &v.backup)),
        );
    let mut keyed = Vec::new();
    for (key, name, backup) in owners {
        let Some(backup) = backup else { continue };
        if !kinds.contains_key(backup.as_str()) {
            return invalid(
                key,
                format!("{backup} is not the name of a real, virtual or URL"),
            );
        }
        if backup == name {
            return invalid(key, format!("{name} cannot be its own backup"));
        }
        next.insert(name, backup);
        keyed.push((key, name.as_str()));
    }
    for (key, start) in keyed {
        let mut path = vec![start];
        let mut at = start;
        while let Some(&b) = next.get(at) {
            path.push(b);
            if b == start {
                return invalid(key, format!("backups loop: {}", path.join(" → ")));
            }
            if path[..path.len() - 1].contains(&b) {
                break; // a loop that does not contain `start`: reported at its members.
            }
            at = b;
        }
    }
    Ok(())
}

/// Why a path matcher could never match, if it could not.
fn path_problem(text: &str) -> Option<&'static str> {
    if text
        .bytes()
        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        Some("contains a space or a control character, which a request path never has")
    } else if text.contains('?') || text.contains('#') {
        Some("contains '?' or '#'; the path is matched without its query")
    } else {
        None
    }
}

fn rule_conditions(key: &dyn Fn(&str) -> String, rule: &Rule) -> Result<(), ConfigError> {
    if let Some(p) = &rule.path_prefix {
        if p.is_empty() {
            return invalid(key("path_prefix"), "must not be empty, like \"/img/\"");
        }
        if !p.starts_with('/') {
            return invalid(
                key("path_prefix"),
                format!("{p:?} must start with '/', like \"/{p}\""),
            );
        }
        if let Some(why) = path_problem(p) {
            return invalid(key("path_prefix"), format!("{p:?} {why}"));
        }
    }
    if let Some(s) = &rule.path_suffix {
        if s.is_empty() {
            return invalid(key("path_suffix"), "must not be empty, like \".jpg\"");
        }
        if let Some(why) = path_problem(s) {
            return invalid(key("path_suffix"), format!("{s:?} {why}"));
        }
    }
    if let Some(h) = &rule.host {
        if h.is_empty() {
            return invalid(key("host"), "must not be empty, like \"api.example\"");
        }
        if h.bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control() || b == b'/')
        {
            return invalid(
                key("host"),
                format!("{h:?} is not a host name (like \"api.example\")"),
            );
        }
    }
    if let Some(m) = rule.method {
        if !MATCHABLE_METHODS.contains(&m) {
            return Err(method_error(&key("method"), m.as_str().unwrap_or("")));
        }
    }
    if let Some(h) = &rule.header {
        if h.name.is_empty() || !h.name.bytes().all(is_tchar) {
            return invalid(
                key("header.name"),
                format!(
                    "{:?} is not a header field name (like \"X-Tenant\")",
                    h.name
                ),
            );
        }
        if h.value
            .bytes()
            .any(|b| (b.is_ascii_control() && b != b'\t') || b == 0x7f)
        {
            return invalid(
                key("header.value"),
                format!("{:?} contains a control character", h.value),
            );
        }
        if h.value.trim_matches([' ', '\t']) != h.value {
            return invalid(
                key("header.value"),
                format!(
                    "{:?} starts or ends with whitespace; the request's value is compared without it, so this would never match",
                    h.value
                ),
            );
        }
    }
    if let Some(c) = &rule.cookie {
        cookie_condition(key, c)?;
    }
    Ok(())
}

/// A cookie condition that a request's cookie can meet: a token for a name, and cookie
/// octets (RFC 6265 §4.1.1: no whitespace, `"`, `,`, `;` or `\`), perhaps in double
/// quotes, for a value.
fn cookie_condition(key: &dyn Fn(&str) -> String, c: &CookieMatch) -> Result<(), ConfigError> {
    if c.name.is_empty() || !c.name.bytes().all(is_tchar) {
        return invalid(
            key("cookie.name"),
            format!(
                "{:?} is not a cookie name (a token, like \"session\")",
                c.name
            ),
        );
    }
    let inner = c
        .value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(&c.value);
    let octet = |b: u8| matches!(b, 0x21 | 0x23..=0x2b | 0x2d..=0x3a | 0x3c..=0x5b | 0x5d..=0x7e);
    if let Some(b) = inner.bytes().find(|&b| !octet(b)) {
        return invalid(
            key("cookie.value"),
            format!(
                "{:?} contains {:?}, which a cookie value cannot (RFC 6265: no whitespace, control characters, '\"' inside, ',', ';' or '\\')",
                c.value,
                char::from(b)
            ),
        );
    }
    Ok(())
}

/// Each virtual's mode, bind list and rules, against the reals and URLs.
pub(super) fn routing(config: &Config) -> Result<(), ConfigError> {
    let kinds = name_kinds(config);
    for (i, v) in config.virtuals.iter().enumerate() {
        let members = match v.mode {
            Mode::Splice | Mode::Tcp | Mode::Handoff => "reals",
            Mode::Redirect => "URLs",
        };
        bind_list(&format!("virtual[{i}].bind"), &v.bind, &kinds, v.mode)?;
        for (j, rule) in v.rules.iter().enumerate() {
            let key = |field: &str| format!("virtual[{i}].rule[{j}].{field}");
            real_name_rule(&key("name"), &rule.name)?;
            if let Some(k) = v.rules[..j].iter().position(|o| o.name == rule.name) {
                let hint = if rule
                    .name
                    .strip_prefix("rule")
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                {
                    "; a rule without a name is called rule<N>, N its position from 1"
                } else {
                    ""
                };
                return invalid(
                    key("name"),
                    format!(
                        "duplicate rule name {:?} (rule[{k}] has it too){hint}",
                        rule.name
                    ),
                );
            }
            let any = rule.path_prefix.is_some()
                || rule.path_suffix.is_some()
                || rule.host.is_some()
                || rule.method.is_some()
                || rule.header.is_some()
                || rule.cookie.is_some();
            if !any {
                return invalid(
                    format!("virtual[{i}].rule[{j}]"),
                    format!(
                        "rule {} has no condition; put its {members} in the virtual's bind list",
                        rule.name
                    ),
                );
            }
            rule_conditions(&key, rule)?;
            if rule.bind.is_empty() {
                let message = match v.mode {
                    Mode::Splice | Mode::Tcp | Mode::Handoff => {
                        "must name at least one real, like bind = [\"s2\"]"
                    }
                    Mode::Redirect => "must name at least one URL, like bind = [\"coyote\"]",
                };
                return invalid(key("bind"), message);
            }
            bind_list(&key("bind"), &rule.bind, &kinds, v.mode)?;
        }
    }
    Ok(())
}
