//! The cluster's heartbeats: which peers are alive, for the workers' strays.
//!
//! The control core sends every peer a small UDP datagram every `heartbeat_interval`
//! from its `cluster.control` address (host stack: the heartbeats share nothing with
//! the data plane, so they say that the peer's control core runs, and the peer's
//! workers go down with it) and reads its peers' from the same socket, without
//! blocking, every control tick. A peer is live from its first heartbeat until
//! `dead_time` passes without one. Each change is logged and the whole list goes to
//! every worker (`ControlMsg::ClusterPeers`).

use splicer_commands::report::{ClusterPeerRow, ClusterReport};
use splicer_config::Cluster;
use splicer_pipeline::PeerState;
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// What a heartbeat starts with: the protocol and its version.
const MAGIC: &str = "splicer-heartbeat 1";

/// The datagram `name` sends: `splicer-heartbeat 1 <name>`.
fn heartbeat(name: &str) -> Vec<u8> {
    format!("{MAGIC} {name}\n").into_bytes()
}

/// The sender's name in a heartbeat, when `datagram` is one.
fn sender(datagram: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(datagram).ok()?;
    let name = text.strip_prefix(MAGIC)?.strip_prefix(' ')?.trim_end();
    (!name.is_empty() && !name.contains(char::is_whitespace)).then_some(name)
}

#[derive(Debug, Clone)]
struct Life {
    live: bool,
    since: Instant,
    last: Option<Instant>,
    heartbeats: u64,
}

/// The heartbeat socket and what it heard.
pub(crate) struct Heartbeats {
    config: Cluster,
    socket: UdpSocket,
    lives: Vec<Life>,
    next_send: Instant,
    sent: u64,
    send_errors: u64,
    foreign: u64,
    /// The workers have not all taken the latest list yet.
    unsent: bool,
}

impl Heartbeats {
    /// Binds `cluster.control`; every peer starts dead.
    pub(crate) fn bind(config: &Cluster, now: Instant) -> Result<Self, String> {
        let socket = UdpSocket::bind(config.control)
            .and_then(|s| s.set_nonblocking(true).map(|()| s))
            .map_err(|e| format!("cluster.control: cannot bind {}: {e}", config.control))?;
        let life = Life {
            live: false,
            since: now,
            last: None,
            heartbeats: 0,
        };
        Ok(Heartbeats {
            lives: vec![life; config.peers.len()],
            config: config.clone(),
            socket,
            next_send: now,
            sent: 0,
            send_errors: 0,
            foreign: 0,
            unsent: true,
        })
    }

    /// Every peer and whether it is alive, in configuration order.
    pub(crate) fn states(&self) -> Vec<PeerState> {
        self.config
            .peers
            .iter()
            .zip(&self.lives)
            .map(|(p, l)| PeerState {
                address: p.address,
                live: l.live,
            })
            .collect()
    }

    /// Sends the heartbeats that are due, reads those that came, and ages the peers.
    /// Returns the peers' states when the workers must be told (a change, or an
    /// earlier list not delivered); the caller calls [`Heartbeats::delivered`] once
    /// every worker has it.
    pub(crate) fn poll(&mut self, now: Instant) -> Option<Vec<PeerState>> {
        if now >= self.next_send {
            let beat = heartbeat(&self.config.name);
            for p in &self.config.peers {
                match self.socket.send_to(&beat, p.control) {
                    Ok(_) => self.sent += 1,
                    Err(e) => {
                        self.send_errors += 1;
                        if self.send_errors == 1 || self.send_errors.is_multiple_of(1000) {
                            tracing::warn!(
                                "cluster: heartbeat to {} ({}) not sent: {e} ({} so far)",
                                p.name,
                                p.control,
                                self.send_errors
                            );
                        }
                    }
                }
            }
            self.next_send = now + self.config.heartbeat_interval;
        }
        let mut buf = [0u8; 128];
        loop {
            match self.socket.recv_from(&mut buf) {
                Ok((n, from)) => self.heard(&buf[..n], from, now),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                // An ICMP port unreachable of an earlier send (a peer not started yet)
                // surfaces here on Linux: not a reason to stop reading.
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => continue,
                Err(e) => {
                    tracing::warn!("cluster: reading heartbeats: {e}");
                    break;
                }
            }
        }
        let dead_time = self.config.dead_time;
        for (p, l) in self.config.peers.iter().zip(&mut self.lives) {
            let live = l.last.is_some_and(|t| now.duration_since(t) < dead_time);
            if live != l.live {
                l.live = live;
                l.since = now;
                self.unsent = true;
                if live {
                    tracing::warn!("cluster: peer {} ({}) is live", p.name, p.address);
                } else {
                    tracing::warn!(
                        "cluster: peer {} ({}) is dead: no heartbeat for {dead_time:?}",
                        p.name,
                        p.address
                    );
                }
            }
        }
        self.unsent.then(|| self.states())
    }

    /// Every worker took the list [`Heartbeats::poll`] returned.
    pub(crate) fn delivered(&mut self) {
        self.unsent = false;
    }

    fn heard(&mut self, datagram: &[u8], from: SocketAddr, now: Instant) {
        let found = sender(datagram).and_then(|name| {
            self.config
                .peers
                .iter()
                .position(|p| p.name == name && SocketAddr::V4(p.control) == from)
        });
        match found {
            Some(i) => {
                let l = &mut self.lives[i];
                l.last = Some(now);
                l.heartbeats += 1;
            }
            None => self.foreign += 1,
        }
    }

    /// `show cluster`, with the strays the workers counted (sent on, dropped).
    pub(crate) fn report(&self, now: Instant, strays: (u64, u64)) -> ClusterReport {
        let secs = |d: Duration| d.as_secs_f64();
        ClusterReport {
            name: self.config.name.clone(),
            control: self.config.control.to_string(),
            heartbeats_sent: self.sent,
            send_errors: self.send_errors,
            foreign: self.foreign,
            peers: self
                .config
                .peers
                .iter()
                .zip(&self.lives)
                .map(|(p, l)| ClusterPeerRow {
                    name: p.name.clone(),
                    address: p.address.to_string(),
                    control: p.control.to_string(),
                    live: l.live,
                    since_s: secs(now.duration_since(l.since)),
                    last_heartbeat_s: l.last.map(|t| secs(now.duration_since(t))),
                    heartbeats: l.heartbeats,
                })
                .collect(),
            strays_forwarded: strays.0,
            strays_dropped: strays.1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use splicer_config::Peer;

    fn cluster(name: &str, control: SocketAddr, peer: (&str, SocketAddr)) -> Cluster {
        let (SocketAddr::V4(control), SocketAddr::V4(peer_control)) = (control, peer.1) else {
            unreachable!()
        };
        Cluster {
            name: name.into(),
            control,
            heartbeat_interval: Duration::from_millis(100),
            dead_time: Duration::from_millis(300),
            stray_rate: splicer_config::cluster::STRAY_RATE_DEFAULT,
            peers: vec![Peer {
                name: peer.0.into(),
                address: "198.18.0.2".parse().unwrap(),
                control: peer_control,
            }],
        }
    }

    /// A free UDP port on 127.0.0.1.
    fn free() -> SocketAddr {
        UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    }

    #[test]
    fn heartbeats_are_ours_only_with_the_right_name_and_source() {
        assert_eq!(sender(b"splicer-heartbeat 1 b\n"), Some("b"));
        assert_eq!(sender(b"splicer-heartbeat 2 b\n"), None);
        assert_eq!(sender(b"splicer-heartbeat 1 \n"), None);
        assert_eq!(sender(b"hello"), None);
        assert_eq!(sender(&heartbeat("a-1")), Some("a-1"));
    }

    #[test]
    fn peers_go_live_with_heartbeats_and_dead_without() {
        let (ca, cb) = (free(), free());
        let t0 = Instant::now();
        let mut a = Heartbeats::bind(&cluster("a", ca, ("b", cb)), t0).unwrap();
        let mut b = Heartbeats::bind(&cluster("b", cb, ("a", ca)), t0).unwrap();
        // At start every peer is dead, and the workers must be told so.
        assert_eq!(a.poll(t0).map(|s| s[0].live), Some(false));
        a.delivered();
        assert_eq!(a.poll(t0), None);
        // b's heartbeat makes b live at a.
        b.poll(t0);
        std::thread::sleep(Duration::from_millis(20));
        let t1 = t0 + Duration::from_millis(50);
        assert_eq!(a.poll(t1).map(|s| s[0].live), Some(true));
        a.delivered();
        let r = a.report(t1, (3, 1));
        assert!(r.peers[0].live && r.peers[0].heartbeats == 1);
        assert_eq!((r.strays_forwarded, r.strays_dropped), (3, 1));
        // Silent past dead_time: dead again.
        assert_eq!(a.poll(t1 + Duration::from_millis(200)), None);
        let t2 = t1 + Duration::from_millis(301);
        assert_eq!(a.poll(t2).map(|s| s[0].live), Some(false));
        // A datagram from the right address with another name is foreign.
        let stranger = UdpSocket::bind(free()).unwrap();
        stranger.send_to(&heartbeat("b"), ca).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        a.delivered();
        assert_eq!(a.poll(t2), None);
        assert_eq!(a.report(t2, (0, 0)).foreign, 1);
    }

    #[test]
    fn a_busy_address_is_an_error_naming_the_key() {
        let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
        let at = taken.local_addr().unwrap();
        let e = Heartbeats::bind(&cluster("a", at, ("b", free())), Instant::now())
            .err()
            .unwrap();
        assert!(e.starts_with("cluster.control"), "{e}");
    }
}
