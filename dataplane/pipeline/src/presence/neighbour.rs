//! The neighbour (ARP) table of one worker.
//!
//! Each worker keeps its own table so the fast path never locks; what one worker learns
//! from the wire it publishes to the others as a [`NeighbourUpdate`]. Packets for a
//! neighbour that is not (or no longer) resolved wait in a short bounded queue while ARP
//! requests are retransmitted; when resolution fails they are dropped and counted.

use hashbrown::HashMap;
use splicer_wire::EthernetAddress;
use std::net::Ipv4Addr;

/// Most neighbours one worker tracks. Beyond it, new neighbours are not resolved and their
/// packets are counted as unresolved: a scan of the subnet cannot exhaust memory.
pub const MAX_NEIGHBOURS: usize = 16_384;

/// ARP requests sent for one resolution before its waiting packets are dropped.
pub const MAX_TRIES: u32 = 3;

/// A neighbour learned by one worker, for the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighbourUpdate {
    /// Port the neighbour is on.
    pub port: u16,
    /// Its IPv4 address.
    pub ip: Ipv4Addr,
    /// Its MAC address.
    pub mac: EthernetAddress,
}

/// Timing and bounds of neighbour resolution, in the caller's clock ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NeighbourSettings {
    /// How long a learned entry stays valid.
    pub timeout: u64,
    /// Interval between ARP requests while resolving.
    pub retry: u64,
    /// Packets held per unresolved neighbour.
    pub pending: usize,
}

enum State<P> {
    Reachable {
        mac: EthernetAddress,
        expires: u64,
        /// A refreshing ARP request went out for this entry.
        probed: bool,
    },
    Incomplete {
        next_retry: u64,
        tries: u32,
        pending: Vec<P>,
    },
}

struct Entry<P> {
    port: u16,
    state: State<P>,
}

/// What [`NeighbourTable::hold`] did with a packet.
#[derive(Debug)]
pub enum Hold<P> {
    /// The packet waits; the caller must send the first ARP request now.
    SendRequest,
    /// The packet waits behind a resolution already under way.
    Waiting,
    /// Nothing can hold the packet (queue or table full); the caller drops it.
    Refused(P),
}

fn incomplete<P>(settings: NeighbourSettings, pkt: P, now: u64) -> State<P> {
    let mut pending = Vec::with_capacity(settings.pending);
    pending.push(pkt);
    State::Incomplete {
        next_retry: now + settings.retry,
        tries: 1,
        pending,
    }
}

/// A timer event of [`NeighbourTable::poll`].
#[derive(Debug, PartialEq, Eq)]
pub enum Expired<P> {
    /// Send another ARP request for `ip` on `port`.
    Retry {
        /// Port to send on.
        port: u16,
        /// Address to resolve.
        ip: Ipv4Addr,
    },
    /// Resolution failed; `pkt` waited for it and must be dropped.
    GaveUp {
        /// Port the packet was to leave on.
        port: u16,
        /// The packet.
        pkt: P,
    },
}

/// The neighbour table of one worker. `P` is the packet type held while resolving.
pub struct NeighbourTable<P> {
    entries: HashMap<Ipv4Addr, Entry<P>>,
    settings: NeighbourSettings,
}

impl<P> NeighbourTable<P> {
    /// An empty table.
    pub fn new(settings: NeighbourSettings) -> Self {
        NeighbourTable {
            entries: HashMap::with_capacity(64),
            settings,
        }
    }

    /// The MAC of `ip` if it is resolved and not expired.
    #[inline]
    pub fn lookup(&self, ip: Ipv4Addr, now: u64) -> Option<EthernetAddress> {
        match self.entries.get(&ip) {
            Some(Entry {
                state: State::Reachable { mac, expires, .. },
                ..
            }) if now < *expires => Some(*mac),
            _ => None,
        }
    }

    /// The MAC of `ip` and when it expires, if it is resolved and not expired: what a
    /// connection may keep as its next hop until then (see `transmit::NextHop`).
    #[inline]
    pub fn lookup_until(&self, ip: Ipv4Addr, now: u64) -> Option<(EthernetAddress, u64)> {
        match self.entries.get(&ip) {
            Some(Entry {
                state: State::Reachable { mac, expires, .. },
                ..
            }) if now < *expires => Some((*mac, *expires)),
            _ => None,
        }
    }

    /// Queues `pkt` until `ip` on `port` is resolved.
    pub fn hold(&mut self, port: u16, ip: Ipv4Addr, pkt: P, now: u64) -> Hold<P> {
        let cap = self.settings.pending;
        let full = self.entries.len() >= MAX_NEIGHBOURS;
        match self.entries.get_mut(&ip) {
            Some(Entry {
                state: State::Incomplete { pending, .. },
                ..
            }) => {
                if pending.len() < cap {
                    pending.push(pkt);
                    Hold::Waiting
                } else {
                    Hold::Refused(pkt)
                }
            }
            Some(entry) => {
                // Expired: resolve afresh, on the port the route chose now.
                entry.port = port;
                entry.state = incomplete(self.settings, pkt, now);
                Hold::SendRequest
            }
            None if full || cap == 0 => Hold::Refused(pkt),
            None => {
                let state = incomplete(self.settings, pkt, now);
                self.entries.insert(ip, Entry { port, state });
                Hold::SendRequest
            }
        }
    }

    /// Records `ip` at `mac` on `port`. With `create == false` only an entry that already
    /// exists is updated (RFC 826's merge rule for ARP not addressed to us). Packets that
    /// waited for it are passed to `release`. Returns true if the table changed.
    pub fn learn(
        &mut self,
        port: u16,
        ip: Ipv4Addr,
        mac: EthernetAddress,
        now: u64,
        create: bool,
        mut release: impl FnMut(u16, EthernetAddress, P),
    ) -> bool {
        let expires = now + self.settings.timeout;
        let reachable = State::Reachable {
            mac,
            expires,
            probed: false,
        };
        let room = self.entries.len() < MAX_NEIGHBOURS;
        match self.entries.get_mut(&ip) {
            Some(entry) => {
                let old = std::mem::replace(&mut entry.state, reachable);
                entry.port = port;
                if let State::Incomplete { pending, .. } = old {
                    for pkt in pending {
                        release(port, mac, pkt);
                    }
                }
                true
            }
            None if create && room => {
                self.entries.insert(
                    ip,
                    Entry {
                        port,
                        state: reachable,
                    },
                );
                true
            }
            None => false,
        }
    }

    /// Runs the table's timers: ARP retransmissions ([`Expired::Retry`]), waiting packets
    /// of failed resolutions ([`Expired::GaveUp`]), and removal of entries that expired a
    /// full timeout ago (kept that long so a busy neighbour re-resolves quickly).
    ///
    /// One retry interval before a learned entry expires, one ARP request refreshes it
    /// (also [`Expired::Retry`]): a neighbour that answers never expires, so traffic to a
    /// gateway that stays silent on ARP of its own is never held or dropped at expiry;
    /// one that does not answer expires as before.
    pub fn poll(&mut self, now: u64, mut event: impl FnMut(Expired<P>)) {
        let retry = self.settings.retry;
        let timeout = self.settings.timeout;
        self.entries.retain(|&ip, entry| match &mut entry.state {
            State::Reachable {
                expires, probed, ..
            } => {
                if !*probed && now < *expires && now.saturating_add(retry) >= *expires {
                    *probed = true;
                    event(Expired::Retry {
                        port: entry.port,
                        ip,
                    });
                }
                now < expires.saturating_add(timeout)
            }
            State::Incomplete {
                next_retry,
                tries,
                pending,
            } => {
                if now < *next_retry {
                    return true;
                }
                if *tries >= MAX_TRIES {
                    for pkt in pending.drain(..) {
                        event(Expired::GaveUp {
                            port: entry.port,
                            pkt,
                        });
                    }
                    return false;
                }
                *tries += 1;
                *next_retry = now + retry;
                event(Expired::Retry {
                    port: entry.port,
                    ip,
                });
                true
            }
        });
    }

    /// Number of entries (resolved or resolving).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the table has no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: NeighbourSettings = NeighbourSettings {
        timeout: 1000,
        retry: 10,
        pending: 2,
    };
    const MAC: EthernetAddress = EthernetAddress([2, 1, 2, 3, 4, 5]);

    fn ip(x: u8) -> Ipv4Addr {
        Ipv4Addr::new(198, 19, 0, x)
    }

    #[test]
    fn learned_entries_expire() {
        let mut t: NeighbourTable<u32> = NeighbourTable::new(S);
        assert!(t.learn(1, ip(11), MAC, 0, true, |_, _, _| unreachable!()));
        assert_eq!(t.lookup(ip(11), 999), Some(MAC));
        assert_eq!(t.lookup(ip(11), 1000), None);
        // Kept for re-resolution for one more timeout, then removed.
        t.poll(1500, |e| panic!("{e:?}"));
        assert_eq!(t.len(), 1);
        t.poll(2000, |e| panic!("{e:?}"));
        assert!(t.is_empty());
    }

    #[test]
    fn entries_in_use_are_refreshed_before_they_expire() {
        let mut t: NeighbourTable<u32> = NeighbourTable::new(S);
        t.learn(1, ip(11), MAC, 0, true, |_, _, _| unreachable!());
        t.poll(980, |e| panic!("too early: {e:?}"));
        let mut asked = Vec::new();
        t.poll(991, |e| asked.push(format!("{e:?}")));
        t.poll(995, |e| asked.push(format!("{e:?}")));
        assert_eq!(asked.len(), 1, "one refresh request: {asked:?}");
        assert!(asked[0].starts_with("Retry"));
        // The answer (a reply to us updates the existing entry) extends it.
        assert!(t.learn(1, ip(11), MAC, 996, false, |_, _, _| unreachable!()));
        assert_eq!(t.lookup(ip(11), 1500), Some(MAC));
    }

    #[test]
    fn merge_rule_does_not_create_entries() {
        let mut t: NeighbourTable<u32> = NeighbourTable::new(S);
        assert!(!t.learn(1, ip(11), MAC, 0, false, |_, _, _| ()));
        assert_eq!(t.lookup(ip(11), 0), None);
    }

    #[test]
    fn held_packets_are_released_in_order_on_resolution() {
        let mut t = NeighbourTable::new(S);
        assert!(matches!(t.hold(1, ip(12), 1u32, 0), Hold::SendRequest));
        assert!(matches!(t.hold(1, ip(12), 2u32, 1), Hold::Waiting));
        assert!(matches!(t.hold(1, ip(12), 3u32, 2), Hold::Refused(3)));
        let mut out = vec![];
        t.learn(1, ip(12), MAC, 5, false, |port, mac, p| {
            out.push((port, mac, p))
        });
        assert_eq!(out, vec![(1, MAC, 1), (1, MAC, 2)]);
        assert_eq!(t.lookup(ip(12), 6), Some(MAC));
    }

    #[test]
    fn unanswered_resolution_retries_then_drops() {
        let mut t = NeighbourTable::new(S);
        let _ = t.hold(0, ip(13), 7u32, 0);
        let mut requests = 0;
        let mut dropped = vec![];
        for now in [5, 10, 20, 30] {
            t.poll(now, |e| match e {
                Expired::Retry { port: 0, ip } if ip == self::ip(13) => requests += 1,
                Expired::GaveUp { port: 0, pkt } => dropped.push(pkt),
                other => panic!("{other:?}"),
            });
        }
        // One request at hold time plus MAX_TRIES - 1 retransmissions.
        assert_eq!(requests, MAX_TRIES - 1);
        assert_eq!(dropped, vec![7]);
        assert!(t.is_empty());
    }

    #[test]
    fn expired_entry_is_resolved_again() {
        let mut t = NeighbourTable::new(S);
        t.learn(0, ip(14), MAC, 0, true, |_, _, _| ());
        assert!(matches!(t.hold(0, ip(14), 1u32, 1000), Hold::SendRequest));
        assert_eq!(t.lookup(ip(14), 1001), None);
    }
}
