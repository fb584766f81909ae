//! The command grammar: parsing, help texts, completion candidates.
//!
//! Every command is described once in [`SYNTAX`]: its words, its parameters (a list of
//! [`Param`]s, each with the kind of [`Value`] it takes), its help and an example.
//! [`parse`], [`help`], [`complete`] and [`next_words`] all read that table, so usage
//! lines, error messages, help and completion cannot disagree. Keywords are
//! case-insensitive; names and values are taken as written.
//!
//! The grammar checks the form of a command (addresses, numbers, keywords); whether the
//! names exist and the numbers are in range is checked where the command is executed
//! (`Config::edited` for the commands that change the configuration).

mod complete;
mod help;
mod parse;
mod syntax;
#[cfg(test)]
mod tests;

pub use complete::{complete, next_words, Names};
pub use help::help;
pub use parse::parse;
pub use syntax::{
    Param, Pool, Syntax, Value, CONDITIONS, KINDS, METHODS, OUT_OF_SERVICE_STATES, SYNTAX,
};

use splicer_config::Edit;
use std::fmt;
use std::net::Ipv4Addr;

/// A parsed command, ready for the control core to execute.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `show ...`: read-only views of the running appliance.
    Show(Show),
    /// `virtual`, `real`, `url`, `bind`, `dip`, `link`, `backup`, `in-service`,
    /// `out-of-service`, `weight`, `predictor`, `rule add|del` and their `no` forms: a
    /// change to the running configuration, applied live.
    Edit(Edit),
    /// `save [file]`: write the running configuration as TOML, to `file` or (`None`)
    /// to the file `splicer run` was started with.
    Save(Option<String>),
    /// `reload`: read the configuration file Splicer was started with again and apply
    /// it live (as SIGHUP does).
    Reload,
    /// `clear stats`: counters shown from now on start at 0.
    ClearStats,
    /// `log level <level>`: change the log filter at runtime.
    LogLevel(LogLevel),
    /// `log reopen`: reopen the access log's file (after logrotate moved it).
    LogReopen,
    /// `drain`: withdraw every VIP from the routers (`[announce]`) for maintenance;
    /// the answer says how many flows are left.
    Drain,
    /// `drain status`: whether the appliance is drained and how many flows are left.
    DrainStatus,
    /// `undrain`: announce the VIPs fit to announce again.
    Undrain,
    /// `help [command]`: the command list, or one command's (or word's) help.
    Help(Vec<String>),
}

/// Who may run a command on a socket: HAProxy's `stats socket ... level`, in two
/// levels. Every command has one ([`Command::level`] matches every variant, so a new
/// command does not compile without one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Changes nothing: `show ...`, `rule list`, `help`. Served on every socket.
    ReadOnly,
    /// Changes the running appliance, what others see of it, or a file: edits, `save`,
    /// `clear stats`, `log level`. Served on the admin socket only.
    Admin,
}

impl Level {
    /// `read-only` or `admin`, as the docs and errors name them.
    pub fn name(self) -> &'static str {
        match self {
            Level::ReadOnly => "read-only",
            Level::Admin => "admin",
        }
    }
}

impl Command {
    /// The level a socket must have to run the command.
    pub fn level(&self) -> Level {
        match self {
            Command::Show(_) | Command::Help(_) | Command::DrainStatus => Level::ReadOnly,
            // `clear stats` changes the counters every other client is shown; `log
            // reopen` acts on files on the host.
            Command::Edit(_)
            | Command::Save(_)
            | Command::ClearStats
            | Command::LogLevel(_)
            | Command::LogReopen
            | Command::Reload
            // What the routers send this appliance.
            | Command::Drain
            | Command::Undrain => Level::Admin,
        }
    }
}

/// What `show` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Show {
    /// `show stats`: counters and gauges, total, per worker, per port, mempool.
    Stats,
    /// `show ports [name]`: every port, or the one named.
    Ports(Option<String>),
    /// `show workers`: every worker.
    Workers,
    /// `show virtual [name]`: every virtual (DIPs included), or the one named.
    Virtual(Option<String>),
    /// `show real [name]`: every real, or the one named.
    Real(Option<String>),
    /// `show url [name]`: every URL, or the one named.
    Url(Option<String>),
    /// `show rule [virtual]` (and `rule list <virtual>`): the content rules of every
    /// virtual, or of the one named.
    Rule(Option<String>),
    /// `show pools [real]`: the server connection pools of every real, or of the one
    /// named.
    Pools(Option<String>),
    /// `show flows [virtual V] [real R] [client IP] [limit N]`: the open client
    /// connections.
    Flows(FlowQuery),
    /// `show config`: the running configuration as TOML.
    Config,
    /// `show announce`: the VIPs announced to the routers, and BIRD's last answer.
    Announce,
    /// `show cluster`: the cluster's peers, their heartbeats, and the strays.
    Cluster,
}

/// Which client connections `show flows` lists: those matching every filter given, at
/// most `limit` of them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FlowQuery {
    /// `virtual V`: connections to this virtual (a name, or a DIP's address).
    #[serde(rename = "virtual")]
    pub virtual_id: Option<String>,
    /// `real R`: connections spliced to this real.
    pub real: Option<String>,
    /// `client IP`: connections from this address.
    pub client: Option<Ipv4Addr>,
    /// `limit N` ([`FlowQuery::DEFAULT_LIMIT`], 1..=[`FlowQuery::MAX_LIMIT`]): the most
    /// rows shown.
    pub limit: u32,
}

impl FlowQuery {
    /// `limit` when none is given.
    pub const DEFAULT_LIMIT: u32 = 100;
    /// The largest `limit`.
    pub const MAX_LIMIT: u32 = 10_000;
}

impl Default for FlowQuery {
    fn default() -> Self {
        FlowQuery {
            virtual_id: None,
            real: None,
            client: None,
            limit: Self::DEFAULT_LIMIT,
        }
    }
}

/// A level of `log level`, from the least to the most verbose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Errors only.
    Error,
    /// Warnings and errors.
    Warn,
    /// The default: start-up, statistics, warnings, errors.
    Info,
    /// Per-event detail.
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    /// Every level, least verbose first.
    pub const ALL: [LogLevel; 5] = [
        LogLevel::Error,
        LogLevel::Warn,
        LogLevel::Info,
        LogLevel::Debug,
        LogLevel::Trace,
    ];

    /// The keyword, which is also a valid `tracing` filter directive.
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
            LogLevel::Trace => "trace",
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a line is not a valid command. The message names what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

fn error<T>(message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(message.into()))
}

/// The message for `log level` with a missing or unknown level.
pub const LEVEL_ERROR: &str = "log level must be one of error, warn, info, debug, trace";
