//! One TCP endpoint of Splicer's: the state both legs keep the same way, the client
//! connection Splicer accepts and the server connection it opens. The legs are roles
//! around it (what they do with a request or a response); sequence space, windows,
//! negotiated options, timestamps and the retransmission timer are kept and updated
//! here, once.

use super::due::Due;
use super::segment::Seg;
use splicer_wire::tcp::SeqNumber;

/// MSS Splicer advertises: a 1500-byte MTU less the IPv4 and TCP headers.
pub const OUR_MSS: u16 = 1460;
/// Window scale Splicer advertises when the peer offers scaling (Linux's default).
pub const OUR_WSCALE: u8 = 7;
/// MSS assumed when a SYN carries none (RFC 9293).
pub(super) const DEFAULT_MSS: u16 = 536;
/// Retransmissions of Splicer's data before the connection is reset.
pub(super) const MAX_RETRIES: u32 = 6;
/// The retransmission timeout Splicer starts each connection with (RFC 6298 §2.1).
pub(super) const INITIAL_RTO_MS: u64 = 1000;
/// The longest retransmission timeout (and persist interval) of Splicer's own data
/// (RFC 6298 §2.5 allows a maximum of at least 60 s).
pub(super) const MAX_RTO_MS: u64 = 60_000;

/// The TCP state of one connection end Splicer plays.
#[derive(Debug, Clone)]
pub(crate) struct Endpoint {
    /// Splicer's initial sequence number.
    pub(super) iss: SeqNumber,
    /// The first byte Splicer sent that the peer has not acknowledged.
    pub(super) snd_una: SeqNumber,
    /// The next byte Splicer sends.
    pub(super) snd_nxt: SeqNumber,
    /// The next byte Splicer expects from the peer.
    pub(super) rcv_nxt: SeqNumber,
    /// The peer's MSS.
    pub(super) peer_mss: u16,
    /// Some when both ends scale windows: the peer's shift.
    pub(super) peer_wscale: Option<u8>,
    /// The peer's latest receive window, in bytes.
    pub(super) peer_window: u32,
    pub(super) sack_ok: bool,
    /// Some when timestamps were negotiated: the peer's latest in-order TSval.
    pub(super) ts_recent: Option<u32>,
    /// Splicer's millisecond clock when `ts_recent` arrived: with it, the peer's clock
    /// now can be estimated (RFC 7323 clocks tick at about 1 kHz on Linux and others).
    pub(super) ts_recent_at: u32,
    /// The highest TSval relayed to the peer (the other leg's, translated; 0 before
    /// any): Splicer's own segments carry it (`timestamp_option`), neither below it
    /// (the peer's PAWS check would drop them) nor above it (it would drop the relayed
    /// segments that follow).
    pub(super) ts_sent_max: u32,
    /// The peer's FIN has been taken.
    pub(super) fin_received: bool,
    /// The latest progress on the connection (the clock of its idle deadlines).
    pub(super) last_activity: u64,
    /// When Splicer's unacknowledged data (or SYN, or FIN) goes again.
    pub(super) retransmit_at: Due,
    /// The current retransmission timeout, in clock ticks.
    pub(super) rto: u64,
    /// Retransmissions since the peer last acknowledged something.
    pub(super) tries: u32,
    /// When the connection's timer entry fires (0: none).
    pub(super) scheduled: u64,
}

impl Endpoint {
    /// A connection opened by Splicer's SYN (or SYN-ACK) with `iss`, its first
    /// retransmission due one initial RTO after `now`.
    pub(super) fn new(iss: SeqNumber, rcv_nxt: SeqNumber, now: u64, ticks_per_ms: u64) -> Self {
        let rto = INITIAL_RTO_MS * ticks_per_ms;
        Endpoint {
            iss,
            snd_una: iss,
            snd_nxt: iss + 1,
            rcv_nxt,
            peer_mss: 536,
            peer_wscale: None,
            peer_window: 0,
            sack_ok: false,
            ts_recent: None,
            ts_recent_at: 0,
            ts_sent_max: 0,
            fin_received: false,
            last_activity: now,
            retransmit_at: Due::at(now + rto),
            rto,
            tries: 0,
            scheduled: 0,
        }
    }

    /// Takes the options of the peer's SYN (or SYN-ACK): its MSS (RFC 9293's 536 when
    /// it sends none; at least 64, at most `mss_max`), its window scale (at most 14, RFC
    /// 7323 §2.3), SACK permission and timestamp (kept when timestamps are on).
    pub(super) fn take_syn_options(&mut self, syn: &Seg, mss_max: u16, ms_now: u32) {
        self.peer_mss = syn.mss.unwrap_or(DEFAULT_MSS).clamp(64, mss_max);
        self.peer_wscale = syn.wscale.map(|w| w.min(14));
        self.sack_ok = syn.sack_ok;
        self.ts_recent = syn.ts.map(|(tsval, _)| tsval);
        self.ts_recent_at = ms_now;
    }

    /// The handshake completed: nothing of Splicer's awaits an acknowledgement, and the
    /// retransmission timeout starts over.
    pub(super) fn established(&mut self, ticks_per_ms: u64) {
        self.all_acked();
        self.rto = INITIAL_RTO_MS * ticks_per_ms;
    }

    /// Takes the peer's acknowledgement `ack` of Splicer's own data: `true` when it
    /// acknowledges something new (and no more than was sent). The retransmission timer
    /// stops when everything is acknowledged and restarts otherwise (RFC 6298 §5.2,
    /// §5.3); the count of unanswered retransmissions starts over.
    pub(super) fn take_ack(&mut self, ack: SeqNumber, now: u64) -> bool {
        // Positive comparisons only: two numbers 2^31 apart are unordered (RFC 1982),
        // and such an ACK acknowledges nothing.
        if !(ack > self.snd_una && ack <= self.snd_nxt) {
            return false;
        }
        self.snd_una = ack;
        if ack == self.snd_nxt {
            self.all_acked();
        } else {
            self.tries = 0;
            self.retransmit_at = Due::at(now + self.rto);
        }
        true
    }

    /// Window-scale shift Splicer uses on this connection.
    pub(super) fn our_shift(&self) -> u8 {
        self.peer_wscale.map_or(0, |_| OUR_WSCALE)
    }

    /// A window field of the peer's, in bytes.
    pub(super) fn scaled_window(&self, field: u16) -> u32 {
        u32::from(field) << self.peer_wscale.unwrap_or(0)
    }

    /// The sequence number past the peer's receive window.
    pub(super) fn send_limit(&self) -> SeqNumber {
        self.snd_una + self.peer_window as usize
    }

    /// Whether `tsval` is older than the peer's latest in-order timestamp: PAWS (RFC
    /// 7323 §5.3) takes such a segment for an old duplicate.
    #[inline]
    pub(super) fn paws_rejects(&self, tsval: u32) -> bool {
        self.ts_recent
            .is_some_and(|recent| (tsval.wrapping_sub(recent) as i32) < 0)
    }

    /// PAWS and the timestamp's keeping in one: `false` when `tsval` is older than the
    /// peer's latest in-order timestamp (an old duplicate, RFC 7323 §5.3); otherwise
    /// keeps it as [`Endpoint::note_timestamp`] does and returns `true`.
    #[inline]
    pub(super) fn take_timestamp(
        &mut self,
        seq: SeqNumber,
        next: SeqNumber,
        tsval: u32,
        ms_now: u32,
    ) -> bool {
        if self.paws_rejects(tsval) {
            return false;
        }
        self.note_timestamp(seq, next, tsval, ms_now);
        true
    }

    /// Keeps `tsval` as the peer's latest timestamp when timestamps are on and the
    /// segment starting at `seq` is not beyond `next` (RFC 7323 §4.3).
    #[inline]
    pub(super) fn note_timestamp(
        &mut self,
        seq: SeqNumber,
        next: SeqNumber,
        tsval: u32,
        ms_now: u32,
    ) {
        if self.ts_recent.is_some() && seq <= next {
            self.ts_recent = Some(tsval);
            self.ts_recent_at = ms_now;
        }
    }

    /// The peer acknowledged everything Splicer sent: no retransmission pending.
    pub(super) fn all_acked(&mut self) {
        self.retransmit_at = Due::NONE;
        self.tries = 0;
    }

    /// A retransmission timeout fired: the next one waits twice as long, up to
    /// [`MAX_RTO_MS`] (RFC 6298 §5.5, §2.5).
    pub(super) fn back_off(&mut self, now: u64, ticks_per_ms: u64) {
        self.tries += 1;
        self.rto = (self.rto * 2).min(MAX_RTO_MS * ticks_per_ms);
        self.retransmit_at = Due::at(now + self.rto);
    }

    /// The timestamp option of Splicer's next segment when timestamps are on: the
    /// highest TSval the peer has been relayed, once it has been relayed any, else
    /// Splicer's clock; and the peer's latest TSval.
    ///
    /// Not the clock once segments are relayed: they carry the other peer's clock from
    /// when it sent them, behind Splicer's by the time they took to arrive (milliseconds
    /// on a loaded machine), and a peer takes a TSval of Splicer's own as its
    /// `TS.Recent` (a pure ACK too): a relayed segment that followed it with a lower one
    /// would be dropped by its PAWS check (RFC 7323 §5.3; Linux tolerates 1 tick), and
    /// only the sender's retransmission timeout would recover it. Repeating a TSval is
    /// allowed (a clock may not have ticked); the next splice starts from the clock again
    /// (`clocks::leg_timestamps`).
    pub(super) fn timestamp_option(&self, ts_now: u32) -> Option<(u32, u32)> {
        let tsval = if self.ts_sent_max != 0 {
            self.ts_sent_max
        } else {
            ts_now
        };
        self.ts_recent.map(|recent| (tsval, recent))
    }

    /// The deadline `by_state` of the connection's role, or the retransmission if it
    /// comes first.
    pub(super) fn deadline(&self, by_state: u64) -> u64 {
        self.retransmit_at.map_or(by_state, |r| r.min(by_state))
    }
}

/// `ts`, or `floor` when `floor` is later (modulo 2^32, RFC 7323 §5.2).
pub(super) fn ts_not_below(ts: u32, floor: u32) -> u32 {
    if (floor.wrapping_sub(ts) as i32) > 0 {
        floor
    } else {
        ts
    }
}

/// Whether `ack` acknowledges more than was sent up to `end`: it lies beyond it, or 2^31
/// away, where sequence numbers are unordered (RFC 1982) and acknowledge nothing either.
pub(super) fn beyond(ack: SeqNumber, end: SeqNumber) -> bool {
    ack.partial_cmp(&end)
        .is_none_or(|o| o == std::cmp::Ordering::Greater)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An acknowledgement 2^31 away from what was sent is unordered (RFC 1982): it
    /// acknowledges nothing and moves nothing (the pipeline fuzz target found one that
    /// slipped past a `>` test and moved `snd_una` half the sequence space ahead).
    #[test]
    fn an_ack_half_the_space_away_acknowledges_nothing() {
        let mut e = Endpoint::new(SeqNumber(1000), SeqNumber(5), 0, 1);
        e.snd_nxt = SeqNumber(1100);
        let far = SeqNumber(1100u32.wrapping_add(1 << 31));
        assert!(beyond(far, e.snd_nxt));
        assert!(!e.take_ack(far, 0));
        assert_eq!(e.snd_una, SeqNumber(1000));
        assert!(beyond(SeqNumber(1101), e.snd_nxt));
        assert!(!beyond(SeqNumber(1100), e.snd_nxt));
        assert!(e.take_ack(SeqNumber(1050), 0));
        assert_eq!(
            (e.snd_una, e.retransmit_at.is_some()),
            (SeqNumber(1050), true)
        );
        assert!(e.take_ack(SeqNumber(1100), 0));
        assert_eq!((e.snd_una, e.retransmit_at), (SeqNumber(1100), Due::NONE));
    }
}
