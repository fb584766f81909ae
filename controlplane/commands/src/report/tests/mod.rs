//! Tests of the `show` reports: counters and their renderings, and the views.

mod show;
mod stats;

use super::table::strings;
use super::tests_support::{full, sample};
use super::*;
use crate::command::FlowQuery;
use crate::protocol::Response;
use serde_json::{json, Value};
use splicer_config::{Config, Dip, Mode, Rule, ServiceState};

/// A rendered table as rows of whitespace-separated cells.
fn words(text: &str) -> Vec<Vec<&str>> {
    text.lines()
        .map(|l| l.split_whitespace().collect())
        .collect()
}
