//! ICMP echo, the way `ping` does it: a request every interval whether or not the last
//! one was answered, so a lost request or reply is made up for by the next one.

use crate::host::{App, Host};
use crate::time;
use rand::Rng;
use smoltcp::iface::SocketHandle;
use smoltcp::phy::ChecksumCapabilities;
use smoltcp::socket::icmp;
use smoltcp::wire::{Icmpv4Packet, Icmpv4Repr, IpAddress};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// Pings `target` up to `count` times, one request per interval.
#[derive(Debug)]
pub struct Pinger {
    target: Ipv4Addr,
    count: u16,
    interval_ticks: u64,
    payload_len: usize,
    ident: Option<u16>,
    handle: Option<SocketHandle>,
    sent_at: Vec<u64>,
    next_at: u64,
    replies: BTreeMap<u16, u64>,
    duplicates: u64,
    bad_replies: u64,
    send_errors: u64,
}

impl Pinger {
    /// Pings `target` up to `count` times, every 10 ms, with 56 bytes of payload (the
    /// defaults of `ping`, but ten times as often).
    pub fn new(target: Ipv4Addr, count: u16) -> Self {
        Pinger {
            target,
            count,
            interval_ticks: time::ticks_from_ms(10),
            payload_len: 56,
            ident: None,
            handle: None,
            sent_at: Vec::new(),
            next_at: 0,
            replies: BTreeMap::new(),
            duplicates: 0,
            bad_replies: 0,
            send_errors: 0,
        }
    }

    /// Interval between requests.
    pub fn interval_ms(mut self, ms: u64) -> Self {
        self.interval_ticks = time::ticks_from_ms(ms).max(1);
        self
    }

    /// Payload bytes per request.
    pub fn payload(mut self, len: usize) -> Self {
        self.payload_len = len;
        self
    }

    /// The echo identifier (default: drawn from the host's generator). The dataplane
    /// spreads echo flows over workers by it.
    pub fn ident(mut self, ident: u16) -> Self {
        self.ident = Some(ident);
        self
    }

    /// The identifier in use (after start).
    pub fn echo_ident(&self) -> Option<u16> {
        self.ident
    }

    /// Requests sent.
    pub fn sent(&self) -> usize {
        self.sent_at.len()
    }

    /// Distinct requests answered.
    pub fn received(&self) -> usize {
        self.replies.len()
    }

    /// Round-trip time in ticks of each answered sequence number.
    pub fn replies(&self) -> &BTreeMap<u16, u64> {
        &self.replies
    }

    /// Second and later replies to one request (the network duplicated something).
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Replies that did not match a request: wrong payload, unknown sequence number,
    /// wrong source, or not an echo reply. Always a bug somewhere.
    pub fn bad_replies(&self) -> u64 {
        self.bad_replies
    }

    /// Requests smoltcp would not queue.
    pub fn send_errors(&self) -> u64 {
        self.send_errors
    }

    /// True when every request was sent.
    pub fn all_sent(&self) -> bool {
        self.sent_at.len() >= usize::from(self.count)
    }

    fn payload_for(&self, seq: u16) -> Vec<u8> {
        (0..self.payload_len)
            .map(|i| (seq as u8).wrapping_mul(31).wrapping_add(i as u8))
            .collect()
    }
}

impl App for Pinger {
    fn start(&mut self, host: &mut Host) {
        let ident = *self.ident.get_or_insert_with(|| host.rng().gen());
        let buffer =
            || icmp::PacketBuffer::new(vec![icmp::PacketMetadata::EMPTY; 64], vec![0; 64 * 1024]);
        let mut s = icmp::Socket::new(buffer(), buffer());
        s.bind(icmp::Endpoint::Ident(ident))
            .expect("bind a fresh ICMP socket");
        self.handle = Some(host.sockets().add(s));
        self.next_at = host.tick();
    }

    fn poll(&mut self, host: &mut Host) {
        let (Some(h), Some(ident)) = (self.handle, self.ident) else {
            return;
        };
        let tick = host.tick();
        let caps = ChecksumCapabilities::default();
        loop {
            let s = host.sockets().get_mut::<icmp::Socket>(h);
            let Ok((data, from)) = s.recv() else { break };
            let ok = Icmpv4Packet::new_checked(data)
                .ok()
                .and_then(|p| Icmpv4Repr::parse(&p, &caps).ok())
                .and_then(|r| match r {
                    Icmpv4Repr::EchoReply {
                        ident: i,
                        seq_no,
                        data,
                    } if i == ident => Some((seq_no, data.to_vec())),
                    _ => None,
                });
            let from_target = from == IpAddress::Ipv4(self.target);
            match ok {
                Some((seq, data))
                    if from_target
                        && usize::from(seq) < self.sent_at.len()
                        && data == self.payload_for(seq) =>
                {
                    let rtt = tick - self.sent_at[usize::from(seq)];
                    if self.replies.insert(seq, rtt).is_some() {
                        self.duplicates += 1;
                    }
                }
                _ => self.bad_replies += 1,
            }
        }
        if self.all_sent() || tick < self.next_at {
            return;
        }
        let seq = self.sent_at.len() as u16;
        let payload = self.payload_for(seq);
        let repr = Icmpv4Repr::EchoRequest {
            ident,
            seq_no: seq,
            data: &payload,
        };
        let s = host.sockets().get_mut::<icmp::Socket>(h);
        match s.send(repr.buffer_len(), IpAddress::Ipv4(self.target)) {
            Ok(buf) => {
                let mut pkt = Icmpv4Packet::new_unchecked(buf);
                repr.emit(&mut pkt, &caps);
                self.sent_at.push(tick);
            }
            Err(_) => self.send_errors += 1,
        }
        self.next_at = tick + self.interval_ticks;
    }
}
