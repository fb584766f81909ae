//! The per-virtual choices of what a virtual does with a connection (`mode`) and
//! whether its requests tell the server the client's address (`forward_for`,
//! `forward_for_incoming`).

use serde::Serialize;

/// `virtual.mode`: what a virtual does with a request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Splice the client connection onto a pooled server connection; binds reals.
    #[default]
    Splice,
    /// Answer each request with a redirect to a bound URL (US 7,099,915); binds URLs.
    Redirect,
    /// L4 pass-through: splice each client connection, as a byte stream, onto a fresh
    /// connection to a bound real without reading HTTP (TLS, SMTP, SSH...); binds
    /// reals, has no rules.
    Tcp,
    /// TCP handoff (US 7,831,731): Splicer reads the request, routes it, and hands the
    /// client's connection to the chosen real's agent, which answers the client
    /// directly; binds reals that have an `agent`.
    Handoff,
}

impl Mode {
    /// Every mode's name, for error messages.
    pub const NAMES: &'static [&'static str] = &["splice", "redirect", "tcp", "handoff"];

    /// The mode with configuration name `name`.
    pub fn from_name(name: &str) -> Option<Mode> {
        match name {
            "splice" => Some(Mode::Splice),
            "redirect" => Some(Mode::Redirect),
            "tcp" => Some(Mode::Tcp),
            "handoff" => Some(Mode::Handoff),
            _ => None,
        }
    }

    /// The configuration name of the mode.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Splice => "splice",
            Mode::Redirect => "redirect",
            Mode::Tcp => "tcp",
            Mode::Handoff => "handoff",
        }
    }
}

/// `real.handoff_mode`: how Splicer reaches a real's host after handing a connection
/// to its agent (docs/HANDOFF.md).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HandoffMode {
    /// The back end shares a segment with one of Splicer's ports and owns the VIP on
    /// its loopback: the client's packets are forwarded with only their Ethernet
    /// addresses rewritten (as LVS-DR).
    #[default]
    L2,
    /// The back end may be anywhere Splicer routes to: the client's packets get their
    /// destination rewritten to the real's `address` (and port) and are routed there;
    /// the agent replays the connection to that address and rewrites the answers to
    /// come from the VIP. No VIP on the back end's loopback.
    Routed,
}

impl HandoffMode {
    /// Every accepted name, for error messages.
    pub const NAMES: &'static [&'static str] = &["l2", "routed"];

    /// The value with configuration name `name`.
    pub fn from_name(name: &str) -> Option<HandoffMode> {
        match name {
            "l2" => Some(HandoffMode::L2),
            "routed" => Some(HandoffMode::Routed),
            _ => None,
        }
    }

    /// Whether it is the default, `"l2"`.
    pub fn is_l2(&self) -> bool {
        *self == HandoffMode::L2
    }
}

/// `virtual.forward_for`: whether each request tells its server the client's address.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ForwardFor {
    /// Request heads are forwarded as received.
    #[default]
    None,
    /// `X-Forwarded-For: <client>` and `X-Forwarded-Proto: http` are written into every
    /// request head forwarded.
    Header,
    /// A PROXY protocol version 2 header starts each server connection: only for
    /// `mode = "tcp"` virtuals, whose server connections each serve one client.
    #[serde(rename = "proxy-v2")]
    ProxyV2,
}

impl ForwardFor {
    /// Every accepted name, for error messages.
    pub const NAMES: &'static [&'static str] = &["none", "header", "proxy-v2"];

    /// The value with configuration name `name`.
    pub fn from_name(name: &str) -> Option<ForwardFor> {
        match name {
            "none" => Some(ForwardFor::None),
            "header" => Some(ForwardFor::Header),
            "proxy-v2" => Some(ForwardFor::ProxyV2),
            _ => None,
        }
    }

    /// Why a name that is not accepted is refused, when there is more to say than
    /// "unknown".
    pub fn refusal(name: &str) -> Option<String> {
        (name.eq_ignore_ascii_case("proxy") || name.eq_ignore_ascii_case("proxy-v1")).then(|| {
            format!(
                "{name:?}: the PROXY protocol's text version 1 is not built; \"proxy-v2\" (the \
                 binary version 2, which HAProxy, nginx and most servers read) is"
            )
        })
    }

    /// Whether it is the default, `"none"`.
    pub fn is_none(&self) -> bool {
        *self == ForwardFor::None
    }
}

/// `virtual.forward_for_incoming`: what becomes of the `X-Forwarded-For` a client sends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ForwardForIncoming {
    /// Removed, with any `X-Forwarded-Proto`: the server sees only the address Splicer
    /// saw (a client can write anything into those headers).
    #[default]
    Replace,
    /// Kept, with the client's address appended: for clients that are trusted proxies.
    Append,
}

impl ForwardForIncoming {
    /// Every accepted name, for error messages.
    pub const NAMES: &'static [&'static str] = &["replace", "append"];

    /// The value with configuration name `name`.
    pub fn from_name(name: &str) -> Option<ForwardForIncoming> {
        match name {
            "replace" => Some(ForwardForIncoming::Replace),
            "append" => Some(ForwardForIncoming::Append),
            _ => None,
        }
    }

    /// Whether it is the default, `"replace"`.
    pub fn is_replace(&self) -> bool {
        *self == ForwardForIncoming::Replace
    }
}

/// `virtual.server_close`: what a client's `Connection: close` does to the pooled
/// server connection (HAProxy's `http-server-close`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServerClose {
    /// The server gets the HTTP/1.1 head without `close` and its connection stays in
    /// the pool; the response's `Connection: keep-alive` becomes `close` for the client.
    #[default]
    Keep,
    /// The head goes to the server as written: the server closes after the response.
    Pass,
}

impl ServerClose {
    /// Every accepted name, for error messages.
    pub const NAMES: &'static [&'static str] = &["keep", "pass"];

    /// The value with configuration name `name`.
    pub fn from_name(name: &str) -> Option<ServerClose> {
        match name {
            "keep" => Some(ServerClose::Keep),
            "pass" => Some(ServerClose::Pass),
            _ => None,
        }
    }

    /// Whether it is the default, `"keep"`.
    pub fn is_keep(&self) -> bool {
        *self == ServerClose::Keep
    }

    /// The data path's value.
    pub fn data_path(self) -> splicer_http::ServerClose {
        match self {
            ServerClose::Keep => splicer_http::ServerClose::Keep,
            ServerClose::Pass => splicer_http::ServerClose::Pass,
        }
    }
}
