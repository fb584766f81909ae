//! Keyed initial sequence numbers and local ports, and SYN cookies.
//!
//! Everything here is a SipHash-2-4 of the connection's 4-tuple under one 128-bit secret
//! that `splicer run` draws from the operating system's random source at start-up and
//! gives to every worker (so any worker could check any cookie; in practice the ACK of a
//! cookie comes back to the worker that sent it, flows being spread by 4-tuple). A new
//! process has a new secret.
//!
//! * **ISNs** (RFC 6528): `ISN = M + F(local, remote, secret)`, M a clock ticking every
//!   4 µs. Two connections to different 4-tuples get unrelated ISNs; successive
//!   incarnations of one 4-tuple get increasing ones, as RFC 9293 wants. Knowing any
//!   number of ISNs tells nothing about another 4-tuple's without the secret.
//! * **Local ports of server connections** (RFC 6056, its algorithm 1 with SipHash as
//!   the random source): candidates are `F(local, remote, counter, secret)`; the caller
//!   keeps the first that maps to its worker and is free.
//! * **SYN cookies** (RFC 4987): under a SYN flood Splicer answers a SYN without keeping
//!   anything and rebuilds the connection from the handshake's ACK. The cookie, our
//!   ISN, is a 32-bit word:
//!
//!   ```text
//!   cookie = H1(4-tuple, client ISN)  +  ( t:2 | mss:3 | wscale:4 | sack:1 | H2:22 )
//!   ```
//!
//!   `t` is the low two bits of a 64-second counter, `mss` an index into [`COOKIE_MSS`]
//!   (the largest entry not above the client's MSS), `wscale` the client's window-scale
//!   shift (15: the client does not scale), `sack` whether it offered SACK, and H2 a
//!   22-bit MAC of the 4-tuple, the client's ISN, the full counter and those options.
//!   H1 hides the layout, so a cookie looks like any other ISN. Timestamps need no bits:
//!   the client sends the timestamp option on the ACK if and only if they were
//!   negotiated. A cookie is valid in the counter period it was made in and the next
//!   (64 to 128 s), like Linux's. Forging one blindly takes about 2^22 guesses per
//!   4-tuple (Linux's cookies are of the same strength), and Splicer looks at an
//!   unknown ACK as a cookie only within that lifetime after it last sent one.

use super::key::ClientKey;
use super::segment::{Outgoing, Seg};
use super::tcp::{DEFAULT_MSS, OUR_MSS, OUR_WSCALE};
use crate::counters::Counter;
use crate::packet::{PacketBuf, Sink};
use crate::pipeline::Pipeline;
use siphasher::sip::SipHasher24;
use splicer_wire::tcp::{self, SeqNumber, TcpFlags, TcpOptions};

/// MSS values a cookie can carry: common path MTUs (Ethernet, PPPoE, tunnels, the
/// RFC 9293 default 536) and the 64-byte floor Splicer applies to any client.
pub(crate) const COOKIE_MSS: [u16; 8] = [64, 536, 1220, 1300, 1380, 1440, 1452, 1460];
/// A cookie's counter ticks every 2^16 ms (65.5 s).
const COOKIE_PERIOD_SHIFT: u32 = 16;
/// Bits of the MAC in a cookie.
const MAC_BITS: u32 = 22;
const MAC_MASK: u32 = (1 << MAC_BITS) - 1;
/// `wscale` field value of a client that does not scale windows.
const NO_WSCALE: u32 = 15;

/// What a cookie remembers of the client's SYN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CookieOptions {
    pub mss: u16,
    pub wscale: Option<u8>,
    pub sack_ok: bool,
}

/// Why a cookie was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CookieError {
    /// Made more than one counter period ago (or in the future).
    Expired,
    /// The MAC does not match: forged, tampered with, or not a cookie at all.
    Invalid,
}

/// The keyed hashes of one process.
#[derive(Clone, Copy)]
pub(crate) struct Keys {
    sip: SipHasher24,
}

/// What a hash is for, so that no output of one use is an output of another.
#[derive(Clone, Copy)]
#[repr(u8)]
enum Domain {
    Isn = 1,
    LocalPort = 2,
    CookiePad = 3,
    CookieMac = 4,
    Epoch = 5,
}

impl Keys {
    pub(crate) fn new(secret: u128) -> Self {
        Keys {
            sip: SipHasher24::new_with_keys(secret as u64, (secret >> 64) as u64),
        }
    }

    /// SipHash of a domain, a 4-tuple and up to 16 more bytes.
    fn hash(&self, domain: Domain, key: &ClientKey, extra: &[u8]) -> u64 {
        let mut buf = [0u8; 29];
        buf[0] = domain as u8;
        buf[1..5].copy_from_slice(&key.vip.octets());
        buf[5..7].copy_from_slice(&key.vip_port.to_be_bytes());
        buf[7..11].copy_from_slice(&key.client.octets());
        buf[11..13].copy_from_slice(&key.client_port.to_be_bytes());
        let n = 13 + extra.len();
        buf[13..n].copy_from_slice(extra);
        self.sip.hash(&buf[..n])
    }

    /// RFC 6528's ISN for the connection `key` (local = `vip`, remote = `client`) at the
    /// 4-µs clock `clock`.
    pub(crate) fn isn(&self, key: &ClientKey, clock: u32) -> SeqNumber {
        SeqNumber(clock.wrapping_add(self.hash(Domain::Isn, key, &[]) as u32))
    }

    /// This process's epoch on the handoff control channel: the same for every worker,
    /// another after a restart (a new secret), and telling nothing of the secret.
    pub(crate) fn epoch(&self) -> u64 {
        let none = ClientKey {
            client: std::net::Ipv4Addr::UNSPECIFIED,
            client_port: 0,
            vip: std::net::Ipv4Addr::UNSPECIFIED,
            vip_port: 0,
        };
        self.hash(Domain::Epoch, &none, &[])
    }

    /// The `attempt`-th local-port candidate for a connection from `local` to `remote`
    /// (`key.vip_port` is ignored): a number to reduce into the port range.
    pub(crate) fn port_candidate(&self, key: &ClientKey, attempt: u64) -> u32 {
        let k = ClientKey {
            vip_port: 0,
            ..*key
        };
        self.hash(Domain::LocalPort, &k, &attempt.to_be_bytes()) as u32
    }

    /// The cookie answering `key`'s SYN with sequence number `client_isn`, at
    /// millisecond clock `ms`.
    pub(crate) fn cookie(
        &self,
        key: &ClientKey,
        client_isn: SeqNumber,
        opts: CookieOptions,
        ms: u64,
    ) -> SeqNumber {
        let t = ms >> COOKIE_PERIOD_SHIFT;
        let data = encode(opts);
        let mac = self.mac(key, client_isn, t, data);
        let word = ((t as u32 & 3) << 30) | (data << MAC_BITS) | mac;
        SeqNumber(self.pad(key, client_isn).wrapping_add(word))
    }

    /// The options a cookie carries, if `cookie` is one Splicer made for `key`'s SYN with
    /// `client_isn` in the current or the previous counter period at `ms`.
    pub(crate) fn check_cookie(
        &self,
        key: &ClientKey,
        client_isn: SeqNumber,
        cookie: SeqNumber,
        ms: u64,
    ) -> Result<CookieOptions, CookieError> {
        let word = cookie.0.wrapping_sub(self.pad(key, client_isn));
        let now = ms >> COOKIE_PERIOD_SHIFT;
        let age = (now as u32 & 3).wrapping_sub(word >> 30) & 3;
        if age > 1 || now < u64::from(age) {
            return Err(CookieError::Expired);
        }
        let data = (word >> MAC_BITS) & 0xff;
        if self.mac(key, client_isn, now - u64::from(age), data) != word & MAC_MASK {
            return Err(CookieError::Invalid);
        }
        decode(data).ok_or(CookieError::Invalid)
    }

    fn pad(&self, key: &ClientKey, client_isn: SeqNumber) -> u32 {
        self.hash(Domain::CookiePad, key, &client_isn.0.to_be_bytes()) as u32
    }

    fn mac(&self, key: &ClientKey, client_isn: SeqNumber, t: u64, data: u32) -> u32 {
        let mut extra = [0u8; 16];
        extra[..4].copy_from_slice(&client_isn.0.to_be_bytes());
        extra[4..12].copy_from_slice(&t.to_be_bytes());
        extra[12..].copy_from_slice(&data.to_be_bytes());
        self.hash(Domain::CookieMac, key, &extra) as u32 & MAC_MASK
    }
}

/// The 8 option bits of a cookie: mss index (3), wscale (4), sack (1).
fn encode(opts: CookieOptions) -> u32 {
    let mss = COOKIE_MSS.iter().rposition(|&m| m <= opts.mss).unwrap_or(0) as u32;
    let wscale = opts.wscale.map_or(NO_WSCALE, |w| u32::from(w.min(14)));
    (mss << 5) | (wscale << 1) | u32::from(opts.sack_ok)
}

fn decode(data: u32) -> Option<CookieOptions> {
    let wscale = (data >> 1) & 0xf;
    Some(CookieOptions {
        mss: COOKIE_MSS[(data >> 5) as usize & 7],
        wscale: match wscale {
            NO_WSCALE => None,
            w if w <= 14 => Some(w as u8),
            _ => return None,
        },
        sack_ok: data & 1 != 0,
    })
}

/// What [`Pipeline::cookie_ack`] made of a segment for no connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CookieAck {
    /// Not the ACK of a cookie (or no cookie was sent lately): the caller refuses it.
    NotACookie,
    /// A valid cookie: the connection exists now (or the table was full, counted).
    Taken,
    /// A forged, tampered-with or expired cookie: counted, the caller resets it.
    Refused,
}

impl<P: PacketBuf> Pipeline<P> {
    /// Milliseconds of the pipeline clock, for cookies.
    fn clock_ms(&self, now: u64) -> u64 {
        now / self.settings.flow.ticks_per_ms.max(1)
    }

    /// Answers `syn` with a SYN-ACK whose ISN is a cookie, keeping no state.
    pub(super) fn send_cookie<S: Sink<P>>(
        &mut self,
        port: u16,
        key: ClientKey,
        service: crate::topology::Service,
        syn: &Seg,
        now: u64,
        sink: &mut S,
    ) {
        let opts = CookieOptions {
            mss: syn.mss.unwrap_or(DEFAULT_MSS),
            wscale: syn.wscale,
            sack_ok: syn.sack_ok,
        };
        let cookie = self.keys.cookie(&key, syn.seq, opts, self.clock_ms(now));
        let mut o = Outgoing::new(
            (key.vip, key.vip_port),
            (key.client, key.client_port),
            cookie,
        );
        o.tcp.ack = Some(syn.seq + 1);
        o.tcp.flags = TcpFlags::SYN;
        // The same window and options a stateful SYN-ACK would carry: room for the
        // head (unscaled in a SYN-ACK, RFC 7323), and each option the client offered.
        o.tcp.window = (service.max_request_head + 1).min(usize::from(u16::MAX)) as u16;
        let ts = syn.ts.map(|(tsval, _)| (self.ts_now(now), tsval));
        o.tcp.options = TcpOptions {
            mss: Some(OUR_MSS),
            sack_permitted: syn.sack_ok,
            timestamp: ts,
            window_scale: syn.wscale.map(|_| OUR_WSCALE),
            ..TcpOptions::NONE
        };
        self.cookie_sent_at = Some(now);
        self.counters.inc(port, Counter::SynCookiesSent);
        self.emit(port, &o, &[], now, sink);
    }

    /// A segment to a virtual that belongs to no connection: if it is the ACK of a SYN
    /// cookie, builds the connection from it (in SYN-RECEIVED, then lets the ordinary
    /// path take the ACK, its data and FIN, which establishes it) and says so.
    pub(super) fn cookie_ack<S: Sink<P>>(
        &mut self,
        port: u16,
        key: ClientKey,
        seg: &Seg,
        payload: &[u8],
        now: u64,
        sink: &mut S,
    ) -> CookieAck {
        let ms_ticks = self.settings.flow.ticks_per_ms.max(1);
        // Only while a cookie sent lately may still be valid: outside a flood, an
        // unknown ACK is never worth a guess at a cookie (as Linux does).
        let recent = self
            .cookie_sent_at
            .is_some_and(|at| now.saturating_sub(at) < 2 * COOKIE_PERIOD * ms_ticks);
        let Some(ack) = seg.ack else {
            return CookieAck::NotACookie;
        };
        if !recent || seg.syn() || seg.rst() {
            return CookieAck::NotACookie;
        }
        let Some(service) = self.topology.service(key.vip, key.vip_port).copied() else {
            return CookieAck::NotACookie;
        };
        let opts = match self
            .keys
            .check_cookie(&key, seg.seq - 1, ack - 1, self.clock_ms(now))
        {
            Ok(opts) => opts,
            Err(_) => {
                self.counters.inc(port, Counter::SynCookiesFailed);
                return CookieAck::Refused;
            }
        };
        if self.flows.is_full() {
            // The client believes it is connected and retransmits; a later copy may
            // find room while the cookie is still valid.
            self.counters.inc(port, Counter::DropFlowTableFull);
            return CookieAck::Taken;
        }
        self.counters.inc(port, Counter::SynCookiesValidated);
        let syn = Seg {
            src_port: seg.src_port,
            dst_port: seg.dst_port,
            seq: seg.seq - 1,
            ack: None,
            flags: tcp::flags::SYN,
            window: seg.window,
            payload: 0..0,
            mss: Some(opts.mss),
            wscale: opts.wscale,
            sack_ok: opts.sack_ok,
            ts: seg.ts,
        };
        let conn = self.new_client_conn(key, service, ack - 1, seg.seq, &syn, now);
        let h = self.flows.insert_client(key, conn);
        self.flows.half_open += 1;
        self.client_segment(port, h, seg, payload, now, sink);
        self.reschedule(h);
        CookieAck::Taken
    }
}

/// Milliseconds of a cookie period.
const COOKIE_PERIOD: u64 = 1 << COOKIE_PERIOD_SHIFT;

/// Milliseconds of a cookie period, for tests.
#[cfg(test)]
pub(crate) const COOKIE_PERIOD_MS: u64 = COOKIE_PERIOD;

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn key(client_port: u16) -> ClientKey {
        ClientKey {
            client: Ipv4Addr::new(198, 18, 0, 2),
            client_port,
            vip: Ipv4Addr::new(198, 18, 0, 100),
            vip_port: 80,
        }
    }

    const OPTS: CookieOptions = CookieOptions {
        mss: 1460,
        wscale: Some(7),
        sack_ok: true,
    };
    const START: u64 = 10 * COOKIE_PERIOD_MS;

    #[test]
    fn cookie_round_trip_carries_the_options() {
        let k = Keys::new(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210);
        for (i, opts) in [
            OPTS,
            CookieOptions {
                mss: 536,
                wscale: None,
                sack_ok: false,
            },
            CookieOptions {
                mss: 1440,
                wscale: Some(14),
                sack_ok: false,
            },
            CookieOptions {
                mss: 64,
                wscale: Some(0),
                sack_ok: true,
            },
        ]
        .into_iter()
        .enumerate()
        {
            let isn = SeqNumber(0xdead_0000 + i as u32);
            let c = k.cookie(&key(40_000), isn, opts, START + 5);
            assert_eq!(k.check_cookie(&key(40_000), isn, c, START + 9), Ok(opts));
        }
    }

    #[test]
    fn mss_rounds_down_to_the_table() {
        let k = Keys::new(1);
        for (offered, carried) in [
            (9000, 1460),
            (1460, 1460),
            (1459, 1452),
            (1400, 1380),
            (1000, 536),
            (536, 536),
            (535, 64),
            (10, 64),
        ] {
            let opts = CookieOptions {
                mss: offered,
                ..OPTS
            };
            let c = k.cookie(&key(1), SeqNumber(5), opts, START);
            let got = k.check_cookie(&key(1), SeqNumber(5), c, START).unwrap();
            assert_eq!(got.mss, carried, "offered {offered}");
        }
        // A shift over RFC 7323's 14 is carried as 14.
        let c = k.cookie(
            &key(1),
            SeqNumber(5),
            CookieOptions {
                wscale: Some(15),
                ..OPTS
            },
            START,
        );
        let got = k.check_cookie(&key(1), SeqNumber(5), c, START).unwrap();
        assert_eq!(got.wscale, Some(14));
    }

    #[test]
    fn cookie_expires_after_the_next_period() {
        let k = Keys::new(2);
        let isn = SeqNumber(77);
        let c = k.cookie(&key(2), isn, OPTS, START + 1);
        assert_eq!(k.check_cookie(&key(2), isn, c, START + 1), Ok(OPTS));
        let next = START + COOKIE_PERIOD_MS + 100;
        assert_eq!(k.check_cookie(&key(2), isn, c, next), Ok(OPTS));
        let late = START + 2 * COOKIE_PERIOD_MS;
        assert_eq!(
            k.check_cookie(&key(2), isn, c, late),
            Err(CookieError::Expired)
        );
        // Four periods later the two time bits match again: the MAC, made with the full
        // counter, still refuses it.
        let wrapped = START + 4 * COOKIE_PERIOD_MS;
        assert_eq!(
            k.check_cookie(&key(2), isn, c, wrapped),
            Err(CookieError::Invalid)
        );
        // A cookie from the future (clock went back) is refused too.
        assert!(k.check_cookie(&key(2), isn, c, START - 1).is_err());
    }

    #[test]
    fn tampered_cookies_and_other_tuples_fail() {
        let k = Keys::new(3);
        let isn = SeqNumber(1000);
        let c = k.cookie(&key(3), isn, OPTS, START);
        for bit in 0..32 {
            let bad = SeqNumber(c.0 ^ (1 << bit));
            assert!(
                k.check_cookie(&key(3), isn, bad, START).is_err(),
                "bit {bit} flipped"
            );
        }
        assert!(k.check_cookie(&key(4), isn, c, START).is_err());
        assert!(k.check_cookie(&key(3), SeqNumber(1001), c, START).is_err());
        assert!(Keys::new(4).check_cookie(&key(3), isn, c, START).is_err());
        // Random guesses almost never pass: about one in 2^22 (and fewer through the
        // time bits). 100 000 guesses pass none with probability ~0.98.
        let mut x = 0x1234_5678u32;
        let mut passed = 0;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            passed += usize::from(k.check_cookie(&key(3), isn, SeqNumber(x), START).is_ok());
        }
        assert!(passed <= 1, "{passed} random guesses passed");
    }

    #[test]
    fn isns_are_keyed_per_tuple_and_follow_the_clock() {
        let a = Keys::new(5);
        let b = Keys::new(6);
        // One tuple: the ISN moves with the clock only.
        assert_eq!(a.isn(&key(1), 250) - a.isn(&key(1), 0), 250);
        // Different secrets, different ISNs for the same tuple and clock.
        assert_ne!(a.isn(&key(1), 0), b.isn(&key(1), 0));
        // Consecutive tuples at consecutive clocks: no constant step, no affine relation
        // x[n+1] = m * x[n] + c (mod 2^32) fitted on the first three holds for the rest.
        let xs: Vec<u32> = (0..1000).map(|i| a.isn(&key(i), i as u32).0).collect();
        let diffs: std::collections::HashSet<u32> =
            xs.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
        assert!(diffs.len() > 990, "{} distinct steps", diffs.len());
        assert!(!affine_fits(&xs));
        // A linear congruential sequence does fit: the check can fail.
        let lcg: Vec<u32> = std::iter::successors(Some(12345u32), |x| {
            Some(x.wrapping_mul(1_103_515_245).wrapping_add(12345))
        })
        .take(1000)
        .collect();
        assert!(affine_fits(&lcg));
    }

    /// Whether some (m, c) with x[n+1] = m x[n] + c (mod 2^32) explains the sequence:
    /// m is solved from the first pair of differences when the first difference is odd
    /// (invertible), scanning forward for such a pair.
    fn affine_fits(xs: &[u32]) -> bool {
        let d: Vec<u32> = xs.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
        let Some(i) = (0..d.len() - 1).find(|&i| d[i] & 1 == 1) else {
            return false;
        };
        let m = d[i + 1].wrapping_mul(inverse(d[i]));
        let c = xs[i + 1].wrapping_sub(m.wrapping_mul(xs[i]));
        xs.windows(2)
            .all(|w| w[1] == m.wrapping_mul(w[0]).wrapping_add(c))
    }

    /// The inverse of an odd number modulo 2^32 (Newton's iteration).
    fn inverse(a: u32) -> u32 {
        let mut x = a;
        for _ in 0..5 {
            x = x.wrapping_mul(2u32.wrapping_sub(a.wrapping_mul(x)));
        }
        x
    }

    #[test]
    fn port_candidates_differ_by_attempt_and_secret() {
        let a = Keys::new(7);
        let seen: std::collections::HashSet<u32> = (0..1000)
            .map(|i| a.port_candidate(&key(80), i) % 41_000)
            .collect();
        assert!(seen.len() > 950, "{} distinct ports", seen.len());
        // The local port in the key does not matter: only local address and remote do.
        assert_eq!(a.port_candidate(&key(80), 3), {
            let mut k = key(80);
            k.vip_port = 9;
            a.port_candidate(&k, 3)
        });
        assert_ne!(
            a.port_candidate(&key(80), 0),
            Keys::new(8).port_candidate(&key(80), 0)
        );
    }
}
