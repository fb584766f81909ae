//! In-place rewriting of the TCP options of a forwarded segment.
//!
//! The two legs of a splice negotiated their options separately (the formulas of
//! NetScaler's "Internet client-server multiplexer", WO 00/28433, translate only
//! sequence and acknowledgement numbers), so options that carry leg-specific values are
//! rewritten on the way through:
//!
//! * **SACK blocks** are sequence numbers of the data flowing the *other* way, in the
//!   SACK sender's space: each edge goes through the map of that data direction's
//!   `unmap` (see [`crate::rewrite`]). An edge that cannot be translated (it lies in
//!   a released range, or before the splice) takes its block out of the option, the
//!   remaining blocks close up and the freed bytes become NOPs; a block whose
//!   translated edges are empty or reversed goes the same way. SACK is advisory:
//!   leaving information out only costs the sender a retransmission, whereas a wrong
//!   block would make it skip data the receiver does not have. A receiver that did not
//!   negotiate SACK gets the option removed entirely the same way (a closure that
//!   returns `None`).
//! * **Timestamps**: each endpoint's TSval runs on its own clock, and each leg has
//!   seen a different clock from Splicer's side (Splicer's own in the handshakes it
//!   made, then those of the peers spliced onto it). [`Timestamps::Shift`] adds an
//!   offset to TSval, so that the receiving leg keeps seeing a monotonic clock (PAWS,
//!   RFC 7323 §5), and subtracts the opposite direction's offset from TSecr, so that
//!   the peer gets back its own value. When the receiving leg did not negotiate
//!   timestamps, [`Timestamps::Strip`] overwrites the option with NOPs.
//!   The opposite mismatch (the receiving leg negotiated timestamps, the sender did
//!   not) would need an option inserted, i.e. a longer header; it is not handled here,
//!   and Splicer avoids it by choosing the timestamp setting of both legs alike.
//! * **MSS** in a handshake: [`clamp_mss`].
//!
//! Every function validates the whole option list first (by the rules of
//! [`splicer_wire::tcp::options`]) and returns [`Error::Malformed`] with the packet
//! untouched if it does not parse. The TCP checksum is updated incrementally over the
//! option bytes as one run: the options start at an even offset of the segment and
//! end at a multiple of 4, so fields at odd offsets (after a lone NOP or a
//! window-scale option) are summed in their true byte positions.

use super::Error;
use splicer_wire::checksum;
use splicer_wire::tcp::{self, option_kind, SeqNumber, TcpOption};

/// Most option bytes a TCP header can carry.
pub const MAX_OPTIONS_LEN: usize = tcp::MAX_HEADER_LEN - tcp::HEADER_LEN;

/// What to do with a timestamp option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Timestamps {
    /// Leave it as it is.
    #[default]
    Keep,
    /// Translate between the legs' clocks: `TSval += tsval_add` and, when the ACK flag
    /// is set, `TSecr -= tsecr_sub` (both modulo 2^32). `tsecr_sub` is the
    /// `tsval_add` used for the opposite direction: TSecr echoes a value the sender
    /// received from Splicer, translated. Without ACK, TSecr is not an echo
    /// (RFC 7323 §3.2: zero in a SYN) and is left alone.
    Shift {
        /// Added to TSval.
        tsval_add: u32,
        /// Subtracted from TSecr.
        tsecr_sub: u32,
    },
    /// Overwrite the option with NOPs, for a receiving leg without timestamps.
    Strip,
}

/// What an option walk found, with values as they were before rewriting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct OptionSummary {
    /// SACK blocks found, over all SACK options.
    pub sack_blocks: u8,
    /// SACK blocks taken out because an edge could not be translated, or the
    /// translated block was empty or reversed.
    pub sack_blocks_dropped: u8,
    /// The timestamp option's `(TSval, TSecr)`, if there was one (the last one, if a
    /// peer sent several; all are rewritten alike).
    pub timestamp: Option<(u32, u32)>,
    /// The MSS option's value.
    pub mss: Option<u16>,
    /// The window-scale option's shift count.
    pub window_scale: Option<u8>,
    /// Whether SACK-permitted was present.
    pub sack_permitted: bool,
}

impl OptionSummary {
    /// Whether the segment carried a timestamp option.
    #[inline]
    pub fn had_timestamp(&self) -> bool {
        self.timestamp.is_some()
    }

    fn note(&mut self, opt: &TcpOption<'_>) {
        match *opt {
            TcpOption::SackRange { count, .. } => self.sack_blocks += count,
            TcpOption::Timestamp { tsval, tsecr } => self.timestamp = Some((tsval, tsecr)),
            TcpOption::MaxSegmentSize(v) => self.mss = Some(v),
            TcpOption::WindowScale(v) => self.window_scale = Some(v),
            TcpOption::SackPermitted => self.sack_permitted = true,
            _ => {}
        }
    }
}

/// Walks option bytes (such as [`tcp::Packet::options`]) without changing them.
pub fn scan(opts: &[u8]) -> Result<OptionSummary, Error> {
    let mut summary = OptionSummary::default();
    for item in tcp::options(opts) {
        let (_, opt) = item?;
        summary.note(&opt);
    }
    Ok(summary)
}

/// Rewrites a forwarded segment's options in place: every SACK edge through `sack`
/// (an edge mapped to `None` takes its block out), the timestamp option as
/// `timestamps` says; other options are kept. The TCP checksum is updated
/// incrementally. Returns what was found.
///
/// [`Error::Truncated`] / [`Error::Malformed`] for a header or option list that does
/// not parse; the packet is then unchanged.
pub fn translate<T, F>(
    packet: &mut tcp::Packet<T>,
    sack: F,
    timestamps: Timestamps,
) -> Result<OptionSummary, Error>
where
    T: AsRef<[u8]> + AsMut<[u8]>,
    F: FnMut(SeqNumber) -> Option<SeqNumber>,
{
    translate_not_below(packet, sack, timestamps, None)
}

/// [`translate`], with a shifted TSval raised to `floor` when it would be below it
/// (modulo 2^32, RFC 7323 §5.2): the highest TSval the receiver has seen, so that a
/// segment relayed late (a retransmission of an earlier sender's, after a later one's
/// were relayed) is not dropped by the receiver's PAWS check.
pub fn translate_not_below<T, F>(
    packet: &mut tcp::Packet<T>,
    mut sack: F,
    timestamps: Timestamps,
    floor: Option<u32>,
) -> Result<OptionSummary, Error>
where
    T: AsRef<[u8]> + AsMut<[u8]>,
    F: FnMut(SeqNumber) -> Option<SeqNumber>,
{
    packet.check_len()?;
    let ack = packet.ack();
    let n = packet.header_len() - tcp::HEADER_LEN;
    let mut old = [0u8; MAX_OPTIONS_LEN];
    old[..n].copy_from_slice(packet.options());
    // Validate before writing anything, so a malformed list costs no closure call
    // and cannot leave the packet half rewritten.
    let mut summary = scan(&old[..n])?;
    let opts = packet.options_mut();
    let mut changed = false;
    for item in tcp::options(&old[..n]) {
        // `scan` accepted the same bytes.
        let Ok((at, opt)) = item else { break };
        match opt {
            TcpOption::SackRange { blocks, count } => {
                let kept =
                    translate_sack(&mut opts[at..], &blocks[..usize::from(count)], &mut sack);
                summary.sack_blocks_dropped += count - kept;
                changed = true;
            }
            TcpOption::Timestamp { tsval, tsecr } => match timestamps {
                Timestamps::Keep => {}
                Timestamps::Shift {
                    tsval_add,
                    tsecr_sub,
                } => {
                    let v = tsval.wrapping_add(tsval_add);
                    let v = match floor {
                        Some(f) if (f.wrapping_sub(v) as i32) > 0 => f,
                        _ => v,
                    };
                    set_u32(opts, at + 2, v);
                    if ack {
                        set_u32(opts, at + 6, tsecr.wrapping_sub(tsecr_sub));
                    }
                    changed = true;
                }
                Timestamps::Strip => {
                    opts[at..at + 10].fill(option_kind::NOOP);
                    changed = true;
                }
            },
            _ => {}
        }
    }
    if changed {
        let c = checksum::update_bytes(packet.checksum(), &old[..n], packet.options());
        packet.set_checksum(c);
    }
    Ok(summary)
}

/// Rewrites the SACK option at the start of `opt` from `blocks`, keeping the blocks
/// whose edges translate to a non-empty range; returns how many were kept.
fn translate_sack<F>(opt: &mut [u8], blocks: &[(u32, u32)], sack: &mut F) -> u8
where
    F: FnMut(SeqNumber) -> Option<SeqNumber>,
{
    let len = 2 + 8 * blocks.len();
    let mut kept = 0;
    for &(l, r) in blocks {
        let (Some(l), Some(r)) = (sack(SeqNumber(l)), sack(SeqNumber(r))) else {
            continue;
        };
        if l < r {
            let at = 2 + 8 * kept;
            set_u32(opt, at, l.0);
            set_u32(opt, at + 4, r.0);
            kept += 1;
        }
    }
    if kept == 0 {
        // A SACK option must carry at least one block.
        opt[..len].fill(option_kind::NOOP);
    } else {
        opt[1] = (2 + 8 * kept) as u8;
        opt[2 + 8 * kept..len].fill(option_kind::NOOP);
    }
    kept as u8
}

/// Lowers the MSS option of a SYN or SYN-ACK to at most `max`, updating the TCP
/// checksum; returns the value found, `None` without an MSS option.
///
/// Splicer splices a client onto a server connection whose MSS it cannot change
/// afterwards, so it clamps what each side announces in the handshakes it relays or
/// makes, and the segments forwarded later fit both legs without re-segmenting.
/// [`Error::Truncated`] / [`Error::Malformed`] leave the packet unchanged.
pub fn clamp_mss<T>(packet: &mut tcp::Packet<T>, max: u16) -> Result<Option<u16>, Error>
where
    T: AsRef<[u8]> + AsMut<[u8]>,
{
    packet.check_len()?;
    let mut found = None;
    for item in tcp::options(packet.options()) {
        if let (at, TcpOption::MaxSegmentSize(v)) = item? {
            found = Some((at, v));
        }
    }
    let Some((at, mss)) = found else {
        return Ok(None);
    };
    if mss > max {
        // One word changes, but it sits at an odd offset when the option does
        // (after a lone NOP), so update over the aligned run around it.
        let start = (tcp::HEADER_LEN + at + 2) & !1;
        let end = (tcp::HEADER_LEN + at + 5) & !1;
        let mut old = [0u8; 4];
        let run = end - start;
        old[..run].copy_from_slice(&packet.as_ref()[start..end]);
        set_u16(packet.options_mut(), at + 2, max);
        let c =
            checksum::update_bytes(packet.checksum(), &old[..run], &packet.as_ref()[start..end]);
        packet.set_checksum(c);
    }
    Ok(Some(mss))
}

#[inline(always)]
fn set_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

#[inline(always)]
fn set_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rewrite::seqmap::SeqMap;
    use crate::rewrite::testutil::tcp_segment;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use splicer_wire::tcp::{flags, Packet};
    use std::net::Ipv4Addr;

    const SRC: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
    const DST: Ipv4Addr = Ipv4Addr::new(198, 18, 1, 7);

    /// Parsed options, NOPs left out, with SACK blocks as a vector for comparison.
    #[derive(Debug, PartialEq, Eq)]
    enum Opt {
        Sack(Vec<(u32, u32)>),
        Ts(u32, u32),
        Other(String),
    }

    fn parse(opts: &[u8]) -> Vec<Opt> {
        tcp::options(opts)
            .map(|i| i.expect("option list must stay valid").1)
            .filter(|o| *o != TcpOption::NoOp)
            .map(|o| match o {
                TcpOption::SackRange { blocks, count } => {
                    Opt::Sack(blocks[..usize::from(count)].to_vec())
                }
                TcpOption::Timestamp { tsval, tsecr } => Opt::Ts(tsval, tsecr),
                o => Opt::Other(format!("{o:?}")),
            })
            .collect()
    }

    fn assert_checksum_exact(b: &mut [u8], what: &str) {
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        assert!(
            p.verify_checksum(SRC, DST),
            "{what}: checksum does not verify"
        );
        let c = p.checksum();
        p.fill_checksum(SRC, DST);
        assert_eq!(p.checksum(), c, "{what}: differs from full recomputation");
    }

    fn ack_flag(b: &mut [u8], on: bool) {
        let mut p = Packet::new_unchecked(&mut b[..]);
        p.set_ack(on);
        p.fill_checksum(SRC, DST);
    }

    /// A random option list, with NOPs, window scale and unknown options putting
    /// SACK, timestamp and MSS fields at every alignment, and sometimes an end of
    /// list followed by garbage that must stay untouched.
    fn random_options(rng: &mut StdRng) -> Vec<u8> {
        let mut o = Vec::new();
        loop {
            let mut item = [0u8; 34];
            let len = match rng.gen_range(0..8) {
                0 | 1 => {
                    item[0] = 1;
                    1
                }
                2 => tcp::TcpOption::WindowScale(rng.gen_range(0..15u8)).emit(&mut item),
                3 => tcp::TcpOption::MaxSegmentSize(rng.gen::<u16>()).emit(&mut item),
                4 => tcp::TcpOption::Timestamp {
                    tsval: rng.gen::<u32>(),
                    tsecr: rng.gen::<u32>(),
                }
                .emit(&mut item),
                5 | 6 => {
                    let count = rng.gen_range(1..=4u8);
                    let mut blocks = [(0, 0); 4];
                    for b in &mut blocks[..usize::from(count)] {
                        let l = rng.gen::<u32>();
                        *b = (l, l.wrapping_add(rng.gen_range(1..=100_000u32)));
                    }
                    tcp::TcpOption::SackRange { blocks, count }.emit(&mut item)
                }
                _ => {
                    let n = 2 + rng.gen_range(0..5);
                    item[0] = 30;
                    item[1] = n as u8;
                    rng.fill(&mut item[2..n]);
                    n
                }
            };
            if o.len() + len > 40 {
                break;
            }
            o.extend_from_slice(&item[..len]);
            if rng.gen_ratio(1, 6) {
                break;
            }
        }
        if o.len() < 40 && rng.gen_ratio(1, 4) {
            o.push(0);
            while o.len() % 4 != 0 {
                o.push(rng.gen::<u8>());
            }
        }
        o
    }

    #[test]
    fn linux_ack_timestamps_shift_and_round_trip() {
        let mut rng = StdRng::seed_from_u64(1);
        // NOP NOP TS, as Linux sends on every segment of an established connection.
        let opts = [1, 1, 8, 10, 0, 0, 0x10, 0, 0xff, 0xff, 0xff, 0xf0];
        let mut b = tcp_segment(&mut rng, &opts, b"hello", SRC, DST);
        ack_flag(&mut b, true);
        let orig = b.clone();
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        let shift = Timestamps::Shift {
            tsval_add: 0xffff_0000,
            tsecr_sub: 0x20,
        };
        let s = translate(&mut p, Some, shift).unwrap();
        assert_eq!(s.timestamp, Some((0x1000, 0xffff_fff0)));
        assert!(s.had_timestamp());
        assert_eq!(s.sack_blocks, 0);
        assert_eq!(parse(p.options()), [Opt::Ts(0xffff_1000, 0xffff_ffd0)]);
        assert_checksum_exact(&mut b, "shift");
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        let back = Timestamps::Shift {
            tsval_add: 0x1_0000,
            tsecr_sub: 0x20u32.wrapping_neg(),
        };
        translate(&mut p, Some, back).unwrap();
        assert_eq!(b, orig, "inverse shift restores every byte");
    }

    #[test]
    fn tsecr_is_left_alone_without_ack() {
        let mut rng = StdRng::seed_from_u64(2);
        let mut o = [0u8; 12];
        let n = tcp::emit_options(&mut o, None, false, Some((500, 0)), None);
        let mut b = tcp_segment(&mut rng, &o[..n], b"", SRC, DST);
        {
            let mut p = Packet::new_unchecked(&mut b[..]);
            p.set_flags(flags::SYN);
            p.fill_checksum(SRC, DST);
        }
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        let shift = Timestamps::Shift {
            tsval_add: 100,
            tsecr_sub: 7,
        };
        translate(&mut p, Some, shift).unwrap();
        assert_eq!(scan(p.options()).unwrap().timestamp, Some((600, 0)));
        assert_checksum_exact(&mut b, "syn");
    }

    #[test]
    fn keep_without_sack_changes_nothing() {
        let mut rng = StdRng::seed_from_u64(3);
        let mut o = [0u8; 20];
        let n = tcp::emit_options(&mut o, Some(1460), true, Some((1, 2)), Some(7));
        let mut b = tcp_segment(&mut rng, &o[..n], b"x", SRC, DST);
        let orig = b.clone();
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        let s = translate(&mut p, |_| panic!("no SACK here"), Timestamps::Keep).unwrap();
        assert_eq!(
            s,
            OptionSummary {
                sack_blocks: 0,
                sack_blocks_dropped: 0,
                timestamp: Some((1, 2)),
                mss: Some(1460),
                window_scale: Some(7),
                sack_permitted: true,
            }
        );
        assert_eq!(b, orig);
    }

    #[test]
    fn sack_edges_go_through_the_reverse_map() {
        // The client SACKs server data it got as 5000.. (client space); the
        // downstream map sends server 7000 to client 5000, so the server must see
        // its own numbers.
        let down = SeqMap::start(SeqNumber(7000), SeqNumber(5000));
        let mut rng = StdRng::seed_from_u64(4);
        let blocks = [(5100, 5200), (5300, 5400), (0, 0), (0, 0)];
        let mut o = vec![1, 1];
        let mut item = [0u8; 34];
        let n = TcpOption::SackRange { blocks, count: 2 }.emit(&mut item);
        o.extend_from_slice(&item[..n]);
        let mut b = tcp_segment(&mut rng, &o, b"", SRC, DST);
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        let s = translate(&mut p, |e| down.unmap(e), Timestamps::Keep).unwrap();
        assert_eq!((s.sack_blocks, s.sack_blocks_dropped), (2, 0));
        assert_eq!(
            parse(p.options()),
            [Opt::Sack(vec![(7100, 7200), (7300, 7400)])]
        );
        assert_checksum_exact(&mut b, "sack");
        // And back through `map`: the original bytes.
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        translate(&mut p, |e| down.map(e), Timestamps::Keep).unwrap();
        assert_eq!(
            parse(p.options()),
            [Opt::Sack(vec![(5100, 5200), (5300, 5400)])]
        );
    }

    #[test]
    fn untranslatable_sack_blocks_are_taken_out() {
        let mut rng = StdRng::seed_from_u64(5);
        let blocks = [(100, 200), (300, 400), (500, 600), (700, 700)];
        let mut item = [0u8; 34];
        let n = TcpOption::SackRange { blocks, count: 4 }.emit(&mut item);
        let mut o = vec![1, 1];
        o.extend_from_slice(&item[..n]);
        let mut b = tcp_segment(&mut rng, &o, b"", SRC, DST);
        // Edges below 250 are unknown; the last block is empty.
        let f = |e: SeqNumber| (e.0 >= 250).then_some(SeqNumber(e.0 + 1));
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        let s = translate(&mut p, f, Timestamps::Keep).unwrap();
        assert_eq!((s.sack_blocks, s.sack_blocks_dropped), (4, 2));
        assert_eq!(
            parse(p.options()),
            [Opt::Sack(vec![(301, 401), (501, 601)])]
        );
        assert_eq!(p.options()[3], 18, "option shortened to two blocks");
        assert_checksum_exact(&mut b, "partial");
        // Nothing translatable: the option disappears, the list stays valid.
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        let s = translate(&mut p, |_| None, Timestamps::Keep).unwrap();
        assert_eq!((s.sack_blocks, s.sack_blocks_dropped), (2, 2));
        assert!(p.options().iter().all(|&x| x == option_kind::NOOP));
        assert_checksum_exact(&mut b, "all dropped");
    }

    #[test]
    fn strip_timestamps_leaves_a_valid_list() {
        let mut rng = StdRng::seed_from_u64(6);
        let mut o = [0u8; 20];
        let n = tcp::emit_options(&mut o, Some(1460), true, Some((9, 8)), Some(7));
        let mut b = tcp_segment(&mut rng, &o[..n], b"abc", SRC, DST);
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        let s = translate(&mut p, Some, Timestamps::Strip).unwrap();
        assert_eq!(s.timestamp, Some((9, 8)));
        let after = scan(p.options()).unwrap();
        assert_eq!(after.timestamp, None);
        assert_eq!(
            (after.mss, after.sack_permitted, after.window_scale),
            (Some(1460), true, Some(7))
        );
        assert_eq!(p.header_len(), 20 + n, "header length unchanged");
        assert_checksum_exact(&mut b, "strip");
    }

    #[test]
    fn malformed_options_leave_the_packet_unchanged() {
        let mut rng = StdRng::seed_from_u64(7);
        let sack_then_bad = {
            let mut item = [0u8; 34];
            let blocks = [(1, 2), (0, 0), (0, 0), (0, 0)];
            let n = TcpOption::SackRange { blocks, count: 1 }.emit(&mut item);
            let mut o = item[..n].to_vec();
            o.extend_from_slice(&[8, 8, 0, 0, 0, 0, 0, 0]);
            o
        };
        let cases: [&[u8]; 5] = [
            &[2, 0, 0, 0],
            &[1, 1, 8, 12, 0, 0, 0, 0, 0, 0, 0, 0],
            &[1, 1, 1, 5],
            &[1, 2, 5, 5, 0, 0, 0, 0],
            &sack_then_bad,
        ];
        for (i, opts) in cases.iter().enumerate() {
            let mut b = tcp_segment(&mut rng, opts, b"data", SRC, DST);
            let orig = b.clone();
            let mut p = Packet::new_checked(&mut b[..]).unwrap();
            let r = translate(&mut p, |e| Some(SeqNumber(e.0 + 1)), Timestamps::Strip);
            assert_eq!(r, Err(Error::Malformed), "case {i}");
            assert_eq!(clamp_mss(&mut p, 536), Err(Error::Malformed), "case {i}");
            assert_eq!(b, orig, "case {i}: packet changed");
        }
        // A data offset pointing past the buffer.
        let mut b = tcp_segment(&mut rng, &[], b"", SRC, DST);
        b[12] = 0x60;
        let orig = b.clone();
        let mut p = Packet::new_unchecked(&mut b[..]);
        assert_eq!(
            translate(&mut p, Some, Timestamps::Strip),
            Err(Error::Truncated)
        );
        assert_eq!(clamp_mss(&mut p, 536), Err(Error::Truncated));
        assert_eq!(b, orig);
    }

    #[test]
    fn clamp_mss_at_every_alignment() {
        let mut rng = StdRng::seed_from_u64(8);
        for nops in 0..4 {
            for (announced, max) in [(65495u16, 1460u16), (1460, 1460), (536, 1460), (0xffff, 0)] {
                let mut o = vec![1u8; nops];
                o.extend_from_slice(&[2, 4]);
                o.extend_from_slice(&announced.to_be_bytes());
                o.extend_from_slice(&[4, 2, 3, 3, 7]);
                let mut b = tcp_segment(&mut rng, &o, b"", SRC, DST);
                let mut p = Packet::new_checked(&mut b[..]).unwrap();
                assert_eq!(clamp_mss(&mut p, max), Ok(Some(announced)));
                let s = scan(p.options()).unwrap();
                assert_eq!(s.mss, Some(announced.min(max)), "{nops} NOPs");
                assert_eq!((s.sack_permitted, s.window_scale), (true, Some(7)));
                assert_checksum_exact(&mut b, &format!("{nops} NOPs, {announced}"));
            }
        }
        let mut b = tcp_segment(&mut rng, &[1, 1, 4, 2], b"", SRC, DST);
        let orig = b.clone();
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        assert_eq!(clamp_mss(&mut p, 100), Ok(None));
        assert_eq!(b, orig);
    }

    #[test]
    fn random_option_lists_translate_exactly() {
        let mut rng = StdRng::seed_from_u64(0x0b7_1035);
        let mut seen = [0usize; 4];
        for round in 0..5000 {
            let opts = random_options(&mut rng);
            let payload_len = rng.gen_range(0..40);
            let mut payload = vec![0u8; payload_len];
            rng.fill(&mut payload[..]);
            let mut b = tcp_segment(&mut rng, &opts, &payload, SRC, DST);
            let ack = rng.gen_ratio(1, 2);
            ack_flag(&mut b, ack);
            let orig = b.clone();
            let before = parse(Packet::new_checked(&b[..]).unwrap().options());

            let d = rng.gen::<u32>();
            let (tsval_add, tsecr_sub) = (rng.gen::<u32>(), rng.gen::<u32>());
            let ts = match rng.gen_range(0..3) {
                0 => Timestamps::Keep,
                1 => Timestamps::Shift {
                    tsval_add,
                    tsecr_sub,
                },
                _ => Timestamps::Strip,
            };
            let fwd = |e: SeqNumber| Some(SeqNumber(e.0.wrapping_add(d)));
            let mut p = Packet::new_checked(&mut b[..]).unwrap();
            let s = translate(&mut p, fwd, ts).unwrap();
            assert_eq!(s.sack_blocks_dropped, 0);
            let what = format!("round {round}: {opts:02x?} {ts:?}");
            assert_checksum_exact(&mut b, &what);

            // The same options, with exactly the expected values changed.
            let expect: Vec<Opt> = before
                .iter()
                .filter_map(|o| match o {
                    Opt::Sack(v) => Some(Opt::Sack(
                        v.iter()
                            .map(|&(l, r)| (l.wrapping_add(d), r.wrapping_add(d)))
                            .collect(),
                    )),
                    &Opt::Ts(tsval, tsecr) => match ts {
                        Timestamps::Keep => Some(Opt::Ts(tsval, tsecr)),
                        Timestamps::Strip => None,
                        Timestamps::Shift { .. } => Some(Opt::Ts(
                            tsval.wrapping_add(tsval_add),
                            if ack {
                                tsecr.wrapping_sub(tsecr_sub)
                            } else {
                                tsecr
                            },
                        )),
                    },
                    Opt::Other(x) => Some(Opt::Other(x.clone())),
                })
                .collect();
            let p = Packet::new_checked(&b[..]).unwrap();
            assert_eq!(parse(p.options()), expect, "{what}");
            assert_eq!(p.payload(), &payload[..], "{what}");
            assert_eq!(b[..16], orig[..16], "{what}: fixed header touched");

            // Round trip back, unless timestamps were stripped for good.
            if ts != Timestamps::Strip {
                let inv = |e: SeqNumber| Some(SeqNumber(e.0.wrapping_sub(d)));
                let back = match ts {
                    Timestamps::Shift { .. } => Timestamps::Shift {
                        tsval_add: tsval_add.wrapping_neg(),
                        tsecr_sub: tsecr_sub.wrapping_neg(),
                    },
                    _ => ts,
                };
                let mut p = Packet::new_checked(&mut b[..]).unwrap();
                translate(&mut p, inv, back).unwrap();
                assert_eq!(b, orig, "{what}: round trip");
            }
            seen[0] += usize::from(s.sack_blocks > 0);
            seen[1] += usize::from(s.had_timestamp());
            seen[2] += usize::from(
                tcp::options(&opts)
                    .any(|i| matches!(i, Ok((at, TcpOption::Timestamp { .. })) if at % 2 == 1)),
            );
            seen[3] += usize::from(
                tcp::options(&opts)
                    .any(|i| matches!(i, Ok((at, TcpOption::SackRange { .. })) if at % 2 == 1)),
            );
        }
        assert!(seen.iter().all(|&n| n > 200), "coverage {seen:?}");
    }
}
