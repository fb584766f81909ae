//! Resetting a handed-off client whose sequence numbers Splicer does not know, and
//! making sure it happened.
//!
//! After a handoff the back end answers the client directly, so Splicer never learns
//! the next byte the client expects, and a RST at any other sequence number is only
//! challenged (RFC 5961 §3.2). So Splicer sends a *probe*: an acknowledgement at its own
//! initial sequence number, before anything the client can expect. The client answers
//! it with a duplicate ACK (RFC 9293 §3.10.7.4), which meets no connection here and gets
//! a RST at its acknowledgement number: exactly the next byte the client expects.
//!
//! One probe is not enough. Linux answers an out-of-window segment at most once per
//! `tcp_invalid_ratelimit` (500 ms) per socket, and a client whose receive window is
//! closed has just answered the back end's zero-window probes that way, so it ignores
//! Splicer's probe in silence; and the probe, the duplicate ACK or the RST may be lost.
//! The client, which is only receiving, then sends nothing more and hangs until its own
//! timeout (seen: a rate-limited download never reset after its agent was cut off).
//! So the probe is kept and sent again every [`PROBE_EVERY_MS`] (longer than that rate
//! limit), [`PROBE_SENDS`] times in all, until the client's kernel confirms that the
//! connection is gone: a RST from the client's address and port, which is what it answers
//! a probe with once it has taken Splicer's RST, or a new SYN on the same addresses and
//! ports, which it sends only once the old connection is gone (and which the old probes
//! must not disturb), counted `handoff_client_probes_confirmed`. Probes that end
//! without either (the client's host gone or filtered) are counted
//! `handoff_client_probes_unconfirmed`.

use super::key::{ClientKey, Handle};
use super::segment::Outgoing;
use crate::counters::Counter;
use crate::packet::{PacketBuf, Sink};
use crate::pipeline::Pipeline;

/// How often a probe goes again: longer than Linux's `tcp_invalid_ratelimit` (500 ms),
/// the least time between two answers to out-of-window segments on one socket.
pub(crate) const PROBE_EVERY_MS: u64 = 600;
/// Probes in all for one client (the first and four more: over 2.4 s).
pub(crate) const PROBE_SENDS: u8 = 5;
/// The most clients one worker keeps probing (some 64 bytes each: 4 MiB at most); the
/// clients beyond it get the first probe only, counted unconfirmed.
pub(crate) const MAX_PROBED: usize = 65_536;

/// A client being reset: its probe as first sent, and when it goes next.
#[derive(Clone)]
pub(crate) struct ClientProbe {
    port: u16,
    segment: Outgoing,
    next_at: u64,
    sent: u8,
}

impl<P: PacketBuf> Pipeline<P> {
    /// Resets handed-off client `h` (see the module documentation): its first probe
    /// goes now, the others from the timer poll. The caller forgets the connection.
    pub(super) fn handed_off_probe<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        now: u64,
        sink: &mut S,
    ) {
        let ts_now = self.ts_now(now);
        let Some(c) = self.flows.get_mut(h) else {
            return;
        };
        let segment = c.outgoing(c.tcp.iss, 0, ts_now);
        self.emit(port, &segment, &[], now, sink);
        let key = probe_key(&segment);
        if self.agents.probes.len() >= MAX_PROBED && !self.agents.probes.contains_key(&key) {
            return self
                .counters
                .inc(port, Counter::HandoffClientProbesUnconfirmed);
        }
        let every = PROBE_EVERY_MS * self.settings.flow.ticks_per_ms;
        self.agents.probes.insert(
            key,
            ClientProbe {
                port,
                segment,
                next_at: now + every,
                sent: 1,
            },
        );
    }

    /// The probes due go again; those sent [`PROBE_SENDS`] times are given up. From the
    /// timer poll.
    pub(super) fn resend_client_probes<S: Sink<P>>(&mut self, now: u64, sink: &mut S) {
        if self.agents.probes.is_empty() {
            return;
        }
        let every = PROBE_EVERY_MS * self.settings.flow.ticks_per_ms;
        let mut probes = std::mem::take(&mut self.agents.probes);
        probes.retain(|_, p| {
            if now < p.next_at {
                return true;
            }
            if p.sent >= PROBE_SENDS {
                self.counters
                    .inc(p.port, Counter::HandoffClientProbesUnconfirmed);
                return false;
            }
            self.emit(p.port, &p.segment, &[], now, sink);
            self.counters
                .inc(p.port, Counter::HandoffClientProbesResent);
            p.sent += 1;
            p.next_at = now + every;
            true
        });
        // Taken out only so that `emit` can borrow the pipeline; it makes no probe.
        self.agents.probes = probes;
    }

    /// A segment from `key` that meets no connection: a RST or a SYN ends that client's
    /// probes (see the module documentation). `true` when it was a probed client's RST,
    /// which needs nothing more.
    pub(super) fn probe_answered(
        &mut self,
        port: u16,
        key: &ClientKey,
        rst: bool,
        syn: bool,
    ) -> bool {
        if self.agents.probes.is_empty() || !(rst || syn) {
            return false;
        }
        if self.agents.probes.remove(key).is_none() {
            return false;
        }
        self.counters
            .inc(port, Counter::HandoffClientProbesConfirmed);
        rst
    }
}

/// The client connection a probe belongs to (a probe goes from the VIP to the client).
fn probe_key(o: &Outgoing) -> ClientKey {
    ClientKey {
        client: o.dst,
        client_port: o.tcp.dst_port,
        vip: o.src,
        vip_port: o.tcp.src_port,
    }
}
