//! Splicer's control language, independent of DPDK so that it can be tested anywhere.
//!
//! * [`command`]: the grammar. A line of text parses into a typed [`Command`]; the same
//!   table gives `help`, tab completion and the `?` listing.
//! * [`protocol`]: one request/response exchange per connection on the control socket:
//!   one line of command text in, one [`Response`] (a JSON object on one line) out.
//! * [`report`]: the data the `show` commands return, with their text rendering.
//! * [`metrics`]: the same statistics as Prometheus text exposition.
//! * [`status`]: the HTML status page and `/status.json`.
//! * [`client`]: `splicer ctl` and `splicer shell`.
//!
//! The control core (`splicer-control`) gathers the data and calls into this crate to
//! render it; adding a command means adding a [`command::Command`] variant, its entry in
//! [`command::SYNTAX`] and its execution in the control core.

#![forbid(unsafe_code)]

pub mod client;
pub mod command;
pub mod metrics;
pub mod protocol;
pub mod report;
pub mod status;

pub use command::{Command, LogLevel, ParseError, Show};
pub use protocol::Response;
