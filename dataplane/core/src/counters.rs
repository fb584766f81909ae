//! Per-worker, per-port counters.
//!
//! Each worker owns one [`WorkerCounters`] and is its only writer, so an increment is a
//! relaxed load and store (no locked read-modify-write on the fast path). The control core
//! reads them at any time without stopping the worker; a reading may be a few packets old,
//! never torn.

use std::sync::atomic::{AtomicU64, Ordering};

macro_rules! counters {
    ($( $(#[$doc:meta])* $variant:ident => $name:literal, )*) => {
        /// Everything a worker counts. Drop reasons start with `drop_`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(usize)]
        pub enum Counter {
            $( $(#[$doc])* $variant, )*
        }

        impl Counter {
            /// Every counter, in display order.
            pub const ALL: &'static [Counter] = &[$(Counter::$variant,)*];
            /// Number of counters.
            pub const COUNT: usize = Self::ALL.len();

            /// The stable key used in logs and metrics.
            pub fn name(self) -> &'static str {
                match self {
                    $( Counter::$variant => $name, )*
                }
            }
        }
    };
}

counters! {
    /// Frames received from the NIC queue (before any hand-off).
    RxPackets => "rx_packets",
    /// Frames handed to the TX queue and accepted by it.
    TxPackets => "tx_packets",
    /// Packets passed to the worker that owns their flow.
    HandoffOut => "handoff_out",
    /// Packets received from another worker for a flow this worker owns.
    HandoffIn => "handoff_in",
    /// ARP replies sent for our port addresses and VIPs.
    ArpReplies => "arp_replies",
    /// ARP requests sent to resolve a neighbour.
    ArpRequests => "arp_requests",
    /// ICMP echo replies sent.
    IcmpEchoReplies => "icmp_echo_replies",
    /// Neighbour entries learned or refreshed from ARP seen on the wire.
    NeighboursLearned => "neighbours_learned",
    /// Frame or header shorter than its headers or stated length.
    DropTruncated => "drop_truncated",
    /// IPv4 header with a bad version, header length or total length.
    DropBadIpHeader => "drop_bad_ip_header",
    /// IPv4 header checksum mismatch.
    DropBadIpChecksum => "drop_bad_ip_checksum",
    /// IPv4 fragments (not reassembled by Splicer).
    DropIpFragment => "drop_ip_fragment",
    /// ICMP checksum mismatch.
    DropBadIcmpChecksum => "drop_bad_icmp_checksum",
    /// Ethernet frame for a unicast MAC address that is not the port's.
    DropNotOurMac => "drop_not_our_mac",
    /// IPv4 packet for an address that is neither a port address nor a VIP.
    DropNotForUs => "drop_not_for_us",
    /// Ethertype other than IPv4 and ARP (IPv6, VLAN tags, ...).
    DropUnsupportedEthertype => "drop_unsupported_ethertype",
    /// IPv4 protocol Splicer does not terminate at this address.
    DropUnsupportedProtocol => "drop_unsupported_protocol",
    /// ICMP message other than an echo request.
    DropUnsupportedIcmp => "drop_unsupported_icmp",
    /// ARP request for an address we do not own on that port.
    DropArpNotForUs => "drop_arp_not_for_us",
    /// ARP packet that is not Ethernet/IPv4, or has an unknown operation or a bogus sender.
    DropBadArp => "drop_bad_arp",
    /// No port subnet and no gateway reaches the destination.
    DropNoRoute => "drop_no_route",
    /// Packet waited for ARP resolution that never came, or the wait queue was full.
    DropNeighbourUnresolved => "drop_neighbour_unresolved",
    /// TX queue full: the NIC did not take the packet.
    DropTxFull => "drop_tx_full",
    /// Hand-off ring to the owning worker full.
    DropHandoffFull => "drop_handoff_full",
    /// Mempool empty when the appliance wanted to originate a packet.
    DropAllocFailed => "drop_alloc_failed",
}

/// The counters of one worker, one row per port.
#[derive(Debug)]
pub struct WorkerCounters {
    rows: Vec<[AtomicU64; Counter::COUNT]>,
}

impl WorkerCounters {
    /// Counters for a worker that serves `ports` ports, all zero.
    pub fn new(ports: usize) -> Self {
        WorkerCounters {
            rows: (0..ports)
                .map(|_| std::array::from_fn(|_| AtomicU64::new(0)))
                .collect(),
        }
    }

    /// Adds one to `counter` of `port`. Only the owning worker may call this.
    #[inline]
    pub fn inc(&self, port: u16, counter: Counter) {
        self.add(port, counter, 1);
    }

    /// Adds `n` to `counter` of `port`. Only the owning worker may call this.
    #[inline]
    pub fn add(&self, port: u16, counter: Counter, n: u64) {
        if let Some(row) = self.rows.get(port as usize) {
            let c = &row[counter as usize];
            // Single writer: a plain load/store pair is exact and avoids a locked add.
            c.store(c.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
        }
    }

    /// Current value of `counter` on `port`.
    pub fn get(&self, port: u16, counter: Counter) -> u64 {
        self.rows
            .get(port as usize)
            .map_or(0, |row| row[counter as usize].load(Ordering::Relaxed))
    }

    /// Number of port rows.
    pub fn ports(&self) -> usize {
        self.rows.len()
    }

    /// A copy of one port's row, indexed by `Counter as usize`.
    pub fn port_snapshot(&self, port: u16) -> Snapshot {
        let mut s = Snapshot::default();
        if let Some(row) = self.rows.get(port as usize) {
            for (dst, src) in s.values.iter_mut().zip(row.iter()) {
                *dst = src.load(Ordering::Relaxed);
            }
        }
        s
    }

    /// The sum over all ports.
    pub fn snapshot(&self) -> Snapshot {
        let mut s = Snapshot::default();
        for port in 0..self.rows.len() {
            s += &self.port_snapshot(port as u16);
        }
        s
    }
}

/// A point-in-time copy of a set of counters, for reporting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    values: [u64; Counter::COUNT],
}

impl Default for Snapshot {
    fn default() -> Self {
        Snapshot {
            values: [0; Counter::COUNT],
        }
    }
}

impl Snapshot {
    /// Value of one counter.
    pub fn get(&self, counter: Counter) -> u64 {
        self.values[counter as usize]
    }

    /// `(name, value)` for every counter, in display order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        Counter::ALL.iter().map(|&c| (c.name(), self.get(c)))
    }
}

impl std::ops::AddAssign<&Snapshot> for Snapshot {
    fn add_assign(&mut self, rhs: &Snapshot) {
        for (a, b) in self.values.iter_mut().zip(rhs.values.iter()) {
            *a = a.wrapping_add(*b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_drop_reasons_are_prefixed() {
        let mut names: Vec<_> = Counter::ALL.iter().map(|c| c.name()).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
        assert!(Counter::ALL
            .iter()
            .filter(|c| format!("{c:?}").starts_with("Drop"))
            .all(|c| c.name().starts_with("drop_")));
    }

    #[test]
    fn per_port_rows_sum_into_snapshot() {
        let c = WorkerCounters::new(2);
        c.inc(0, Counter::RxPackets);
        c.add(1, Counter::RxPackets, 4);
        c.inc(1, Counter::DropNotForUs);
        // A port the worker does not know is ignored, not a panic.
        c.inc(7, Counter::RxPackets);
        assert_eq!(c.get(1, Counter::RxPackets), 4);
        let s = c.snapshot();
        assert_eq!(s.get(Counter::RxPackets), 5);
        assert_eq!(s.get(Counter::DropNotForUs), 1);
        assert_eq!(c.port_snapshot(0).get(Counter::DropNotForUs), 0);
    }
}
