//! `show cluster`: the peers of this appliance's `[cluster]` and the strays.

use crate::protocol::Response;
use serde_json::Value;

use super::table::{strings, table};

/// One peer, as `show cluster` lists it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ClusterPeerRow {
    /// `cluster.peers.name`.
    pub name: String,
    /// Its dataplane address.
    pub address: String,
    /// Its heartbeat address.
    pub control: String,
    /// Whether its heartbeats arrive (within `dead_time`).
    pub live: bool,
    /// Seconds since it became live or dead (since start-up: dead).
    pub since_s: f64,
    /// Seconds since its last heartbeat; `None` when none came.
    pub last_heartbeat_s: Option<f64>,
    /// Heartbeats received from it.
    pub heartbeats: u64,
}

/// What `show cluster` reports.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ClusterReport {
    /// `cluster.name`.
    pub name: String,
    /// `cluster.control`.
    pub control: String,
    /// Heartbeats sent (one per peer per interval) and those the socket refused.
    pub heartbeats_sent: u64,
    /// Heartbeats that could not be sent.
    pub send_errors: u64,
    /// Datagrams received that were no peer's heartbeat.
    pub foreign: u64,
    /// The peers.
    pub peers: Vec<ClusterPeerRow>,
    /// `cluster_strays_forwarded`, summed over the workers.
    pub strays_forwarded: u64,
    /// `cluster_strays_dropped`, summed over the workers.
    pub strays_dropped: u64,
}

/// `show cluster`; `None` when the configuration has no `[cluster]`.
pub fn show_cluster(report: Option<ClusterReport>) -> Response {
    let Some(r) = report else {
        return Response::error("no [cluster] in the configuration: this appliance runs alone");
    };
    let secs = |s: f64| format!("{s:.1}s");
    let peers = table(
        &strings(&[
            "peer",
            "address",
            "control",
            "state",
            "since",
            "last_heartbeat",
            "heartbeats",
        ]),
        r.peers
            .iter()
            .map(|p| {
                vec![
                    p.name.clone(),
                    p.address.clone(),
                    p.control.clone(),
                    if p.live { "live" } else { "dead" }.into(),
                    secs(p.since_s),
                    p.last_heartbeat_s
                        .map_or_else(|| "never".into(), |s| format!("{} ago", secs(s))),
                    p.heartbeats.to_string(),
                ]
            })
            .collect(),
    );
    let text = format!(
        "cluster {} (heartbeats on {}: {} sent, {} send errors, {} foreign datagrams)\n{}\nstrays: {} sent on to live peers, {} from peers dropped",
        r.name,
        r.control,
        r.heartbeats_sent,
        r.send_errors,
        r.foreign,
        peers.trim_end(),
        r.strays_forwarded,
        r.strays_dropped
    );
    Response::with_data(text, serde_json::to_value(&r).unwrap_or(Value::Null))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_peers_and_strays_or_says_there_is_no_cluster() {
        assert!(!show_cluster(None).ok);
        let r = show_cluster(Some(ClusterReport {
            name: "a".into(),
            control: "127.0.0.1:7411".into(),
            heartbeats_sent: 10,
            send_errors: 0,
            foreign: 1,
            peers: vec![ClusterPeerRow {
                name: "b".into(),
                address: "198.18.41.12".into(),
                control: "127.0.0.2:7411".into(),
                live: true,
                since_s: 4.0,
                last_heartbeat_s: Some(0.25),
                heartbeats: 9,
            }],
            strays_forwarded: 7,
            strays_dropped: 2,
        }));
        assert!(r.ok);
        assert!(r.text.contains("b "), "{}", r.text);
        assert!(r.text.contains("live"), "{}", r.text);
        assert!(
            r.text.contains("0.2s ago") || r.text.contains("0.3s ago"),
            "{}",
            r.text
        );
        assert!(r.text.contains("7 sent on"), "{}", r.text);
        assert_eq!(r.data["peers"][0]["heartbeats"], 9);
        assert_eq!(r.data["strays_dropped"], 2);
    }
}
