//! Unit tests of [`TcpRepr`] and [`TcpOptions`]: round trips, byte identity with
//! captures and with the older emit path, rejection of bad segments, and random reprs.

use super::*;
use crate::tcp::{emit_options, flags, EMIT_OPTIONS_MAX_LEN};
use crate::testutil::hex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn a(x: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, 0, x)
}

/// A Linux SYN (`connect()` to 127.0.0.1:9) as captured on lo, checksum filled in
/// (the same capture as the view's tests).
const LINUX_SYN: &str = "9a50 0009 96e8 9889 0000 0000 a002 ffd7 53ff 0000
                         0204 ffd7 0402 080a e826 4a0d 0000 0000 0103 030a";

/// The kernel's RST+ACK answer to it.
const LINUX_RST: &str = "0009 9a50 0000 0000 96e8 988a 5014 0000 e801 0000";

/// Emits `repr` into a fresh buffer that starts out as garbage, so that a byte
/// `emit` forgets to write shows.
fn emit(repr: &TcpRepr, src: Ipv4Addr, dst: Ipv4Addr, payload: &[u8]) -> Vec<u8> {
    let mut b = vec![0xa5; repr.buffer_len()];
    repr.emit(&mut Packet::new_unchecked(&mut b[..]), src, dst, payload);
    b
}

fn parse(b: &[u8], src: Ipv4Addr, dst: Ipv4Addr) -> Result<TcpRepr, ParseError> {
    TcpRepr::parse(&Packet::new_unchecked(b), src, dst, ChecksumPolicy::Verify)
}

fn round_trip(repr: TcpRepr, payload: &[u8]) -> Vec<u8> {
    let b = emit(&repr, a(1), a(2), payload);
    assert_eq!(b.len(), repr.buffer_len());
    let p = Packet::new_checked(&b[..]).unwrap();
    assert_eq!(p.header_len(), repr.header_len());
    assert_eq!(p.payload(), payload);
    assert!(p.verify_checksum(a(1), a(2)));
    assert_eq!(parse(&b, a(1), a(2)), Ok(repr));
    b
}

fn syn_all_options() -> TcpRepr {
    TcpRepr {
        src_port: 49152,
        dst_port: 80,
        seq: SeqNumber(0xffff_fff0),
        ack: None,
        flags: TcpFlags::SYN,
        window: 64240,
        options: TcpOptions {
            mss: Some(1460),
            window_scale: Some(7),
            sack_permitted: true,
            timestamp: Some((0x0102_0304, 0)),
            ..TcpOptions::NONE
        },
        payload_len: 0,
    }
}

#[test]
fn round_trip_syn_with_all_options() {
    let syn = syn_all_options();
    assert_eq!((syn.header_len(), syn.segment_len()), (40, 1));
    let b = round_trip(syn, b"");
    assert_eq!(b[13], flags::SYN);

    let mut syn_ack = syn;
    syn_ack.flags |= TcpFlags::ACK;
    syn_ack.ack = Some(SeqNumber(7));
    round_trip(syn_ack, b"");
}

#[test]
fn round_trip_plain_ack() {
    let ack = TcpRepr {
        src_port: 80,
        dst_port: 49152,
        seq: SeqNumber(1),
        ack: Some(SeqNumber(0x8000_0000)),
        flags: TcpFlags::ACK,
        window: 0,
        options: TcpOptions::default(),
        payload_len: 0,
    };
    assert_eq!((ack.header_len(), ack.segment_len()), (20, 0));
    let b = round_trip(ack, b"");
    assert_eq!(b.len(), 20);
    assert_eq!(b[12..14], [0x50, flags::ACK]);
    assert_eq!(b[18..20], [0, 0], "urgent pointer");
}

#[test]
fn round_trip_data_with_timestamps() {
    let payload = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
    let data = TcpRepr {
        src_port: 80,
        dst_port: 40000,
        seq: SeqNumber(1000),
        ack: Some(SeqNumber(2000)),
        flags: TcpFlags::PSH | TcpFlags::ACK | TcpFlags::FIN,
        window: 502,
        options: TcpOptions {
            timestamp: Some((u32::MAX, 12345)),
            ..TcpOptions::NONE
        },
        payload_len: payload.len(),
    };
    assert_eq!(data.header_len(), 32);
    assert_eq!(data.segment_len(), payload.len() + 1);
    let b = round_trip(data, payload);
    assert_eq!(b[20..24], [1, 1, 8, 10], "NOP NOP Timestamp");
}

#[test]
fn round_trip_rst_without_ack() {
    let rst = TcpRepr {
        src_port: 80,
        dst_port: 40000,
        seq: SeqNumber(99),
        ack: None,
        flags: TcpFlags::RST,
        window: 0,
        options: TcpOptions::NONE,
        payload_len: 0,
    };
    let b = round_trip(rst, b"");
    assert_eq!(b[8..12], [0; 4], "acknowledgement number");
    assert_eq!(b[13], flags::RST);
}

#[test]
fn round_trip_sack_blocks() {
    let blocks = [
        Some((SeqNumber(100), SeqNumber(200))),
        Some((SeqNumber(300), SeqNumber(400))),
        Some((SeqNumber(u32::MAX - 10), SeqNumber(5))),
        Some((SeqNumber(600), SeqNumber(700))),
    ];
    let mut r = TcpRepr {
        src_port: 1,
        dst_port: 2,
        seq: SeqNumber(3),
        ack: Some(SeqNumber(4)),
        flags: TcpFlags::ACK,
        window: 5,
        options: TcpOptions {
            sack: blocks,
            ..TcpOptions::NONE
        },
        payload_len: 0,
    };
    // Four blocks alone: NOP NOP SACK(34) fills 36 bytes.
    assert_eq!(r.header_len(), 56);
    let b = round_trip(r, b"");
    assert_eq!(b[20..24], [1, 1, 5, 34]);

    // Beside a timestamp only three fit; the first three are kept.
    r.options.timestamp = Some((1, 2));
    assert_eq!(r.header_len(), 60);
    let b = emit(&r, a(1), a(2), b"");
    let mut three = r;
    three.options.sack[3] = None;
    assert_eq!(parse(&b, a(1), a(2)), Ok(three));

    // Beside every SYN option, two.
    let mut syn = syn_all_options();
    syn.options.sack = blocks;
    assert_eq!(syn.header_len(), 60);
    let b = emit(&syn, a(1), a(2), b"");
    let got = parse(&b, a(1), a(2)).unwrap();
    assert_eq!(got.options.sack, [blocks[0], blocks[1], None, None]);

    // Gaps between blocks close up.
    r.options.timestamp = None;
    r.options.sack = [None, blocks[1], None, blocks[3]];
    let b = emit(&r, a(1), a(2), b"");
    let got = parse(&b, a(1), a(2)).unwrap();
    assert_eq!(got.options.sack, [blocks[1], blocks[3], None, None]);
}

#[test]
fn linux_captures_parse_and_emit_back_identically() {
    let lo = Ipv4Addr::LOCALHOST;
    let syn_bytes = hex(LINUX_SYN);
    let syn = parse(&syn_bytes, lo, lo).unwrap();
    assert_eq!(
        syn,
        TcpRepr {
            src_port: 39504,
            dst_port: 9,
            seq: SeqNumber(2_531_825_801),
            ack: None,
            flags: TcpFlags::SYN,
            window: 65495,
            options: TcpOptions {
                mss: Some(65495),
                window_scale: Some(10),
                sack_permitted: true,
                timestamp: Some((3_894_823_437, 0)),
                sack: [None; 4],
            },
            payload_len: 0,
        }
    );
    assert_eq!(emit(&syn, lo, lo, b""), syn_bytes, "Linux's own layout");

    let rst_bytes = hex(LINUX_RST);
    let rst = parse(&rst_bytes, lo, lo).unwrap();
    assert_eq!(rst.flags, TcpFlags::RST | TcpFlags::ACK);
    assert_eq!(rst.ack, Some(SeqNumber(2_531_825_802)));
    assert_eq!(emit(&rst, lo, lo, b""), rst_bytes);
}

#[test]
fn ack_flag_follows_ack_on_emit() {
    let mut r = syn_all_options();
    // A caller that fills only `ack` gets the ACK bit...
    r.ack = Some(SeqNumber(5));
    assert_eq!(r.wire_flags(), TcpFlags::SYN | TcpFlags::ACK);
    let b = emit(&r, a(1), a(2), b"");
    assert_eq!(b[13], flags::SYN | flags::ACK);
    // ...and one that sets the bit without a number does not send a bogus ACK of 0.
    r.ack = None;
    r.flags = TcpFlags::RST | TcpFlags::ACK;
    assert_eq!(r.wire_flags(), TcpFlags::RST);
    let b = emit(&r, a(1), a(2), b"");
    assert_eq!(b[13], flags::RST);
}

#[test]
fn options_emit_is_byte_identical_to_emit_options() {
    let mut rng = StdRng::seed_from_u64(11);
    for combo in 0..16u8 {
        for _ in 0..50 {
            let mss = (combo & 1 != 0).then(|| rng.gen());
            let sack_permitted = combo & 2 != 0;
            let timestamp = (combo & 4 != 0).then(|| (rng.gen(), rng.gen()));
            let window_scale = (combo & 8 != 0).then(|| rng.gen());
            let mut old = [0xeeu8; EMIT_OPTIONS_MAX_LEN];
            let n = emit_options(&mut old, mss, sack_permitted, timestamp, window_scale);
            let o = TcpOptions {
                mss,
                window_scale,
                sack_permitted,
                timestamp,
                sack: [None; MAX_SACK_BLOCKS],
            };
            let mut new = [0xeeu8; EMIT_OPTIONS_MAX_LEN];
            assert_eq!(o.buffer_len(), n, "{o:?}");
            assert_eq!(o.emit(&mut new), n, "{o:?}");
            assert_eq!(new, old, "{o:?}");
        }
    }
}

/// A segment built the other way, with the view's setters over a zeroed header, the
/// options from `emit_options` and the checksum filled (how core built them before it
/// used `TcpRepr`).
fn emit_the_old_way(r: &TcpRepr, src: Ipv4Addr, dst: Ipv4Addr, payload: &[u8]) -> Vec<u8> {
    let o = &r.options;
    let mut opts = [0u8; EMIT_OPTIONS_MAX_LEN];
    let n = emit_options(
        &mut opts,
        o.mss,
        o.sack_permitted,
        o.timestamp,
        o.window_scale,
    );
    let mut seg = vec![0xa5; HEADER_LEN + n + payload.len()];
    seg[..HEADER_LEN].fill(0);
    let mut t = Packet::new_unchecked(&mut seg[..]);
    t.set_src_port(r.src_port);
    t.set_dst_port(r.dst_port);
    t.set_seq_number(r.seq);
    t.set_ack_number(r.ack.unwrap_or_default());
    t.set_header_len(HEADER_LEN + n);
    let ack_flag = if r.ack.is_some() { flags::ACK } else { 0 };
    t.set_flags(r.flags.bits() | ack_flag);
    t.set_window_len(r.window);
    t.options_mut().copy_from_slice(&opts[..n]);
    t.payload_mut().copy_from_slice(payload);
    t.fill_checksum(src, dst);
    seg
}

#[test]
fn segment_is_byte_identical_to_the_old_emit_path() {
    let mut rng = StdRng::seed_from_u64(12);
    for _ in 0..2000 {
        let mut r = random_repr(&mut rng);
        r.options.sack = [None; MAX_SACK_BLOCKS];
        // The old path only ever added ACK to the caller's flags.
        r.flags.set(TcpFlags::ACK, r.ack.is_some());
        let payload: Vec<u8> = (0..r.payload_len).map(|_| rng.gen()).collect();
        let (src, dst) = (
            Ipv4Addr::from(rng.gen::<u32>()),
            Ipv4Addr::from(rng.gen::<u32>()),
        );
        assert_eq!(
            emit(&r, src, dst, &payload),
            emit_the_old_way(&r, src, dst, &payload),
            "{r:?}"
        );
    }
}

#[test]
fn parse_rejects_bad_segments() {
    let data = TcpRepr {
        src_port: 80,
        dst_port: 40000,
        seq: SeqNumber(1000),
        ack: Some(SeqNumber(2000)),
        flags: TcpFlags::ACK,
        window: 502,
        options: TcpOptions {
            timestamp: Some((1, 2)),
            ..TcpOptions::NONE
        },
        payload_len: 4,
    };
    let good = emit(&data, a(1), a(2), b"GET ");
    assert_eq!(parse(&good, a(1), a(2)), Ok(data));

    // Truncated headers.
    assert_eq!(parse(&[], a(1), a(2)), Err(ParseError::Truncated));
    assert_eq!(parse(&good[..19], a(1), a(2)), Err(ParseError::Truncated));
    assert_eq!(
        parse(&good[..31], a(1), a(2)),
        Err(ParseError::Truncated),
        "options cut"
    );

    // Bad data offsets: below 5 words, or past the end.
    for off in [0u8, 1, 4, 15] {
        let mut b = good.clone();
        b[12] = off << 4;
        let want = if off < 5 {
            ParseError::Malformed
        } else {
            ParseError::Truncated
        };
        assert_eq!(parse(&b, a(1), a(2)), Err(want), "data offset {off}");
    }

    // Bad checksums: a flipped bit, the wrong addresses, a cut payload.
    let mut b = good.clone();
    b[35] ^= 0x20;
    assert_eq!(parse(&b, a(1), a(2)), Err(ParseError::BadChecksum));
    assert_eq!(parse(&good, a(1), a(3)), Err(ParseError::BadChecksum));
    assert_eq!(parse(&good[..35], a(1), a(2)), Err(ParseError::BadChecksum));
    // Skipping the check accepts the segment as it stands.
    let skipped = TcpRepr::parse(
        &Packet::new_unchecked(&b[..]),
        a(1),
        a(2),
        ChecksumPolicy::Skip,
    );
    assert_eq!(skipped, Ok(data));

    // A malformed option (timestamp of length 9) once the checksum is right; with a
    // wrong checksum as well, the checksum is what is reported.
    let mut b = good.clone();
    b[23] = 9;
    assert_eq!(parse(&b, a(1), a(2)), Err(ParseError::BadChecksum));
    Packet::new_unchecked(&mut b[..]).fill_checksum(a(1), a(2));
    assert_eq!(parse(&b, a(1), a(2)), Err(ParseError::Malformed));
}

#[test]
fn parse_ignores_what_it_does_not_represent() {
    // Unknown option, end-of-list and padding, urgent pointer, reserved bits: all
    // skipped, and the payload is still found.
    let mut b = hex("0050 9c40 0000 0001 0000 0002 9f18 0100 0000 0007
                     fe04 0000 0204 05b4 0000 0000 0000 0000 6869");
    Packet::new_unchecked(&mut b[..]).fill_checksum(a(1), a(2));
    let r = parse(&b, a(1), a(2)).unwrap();
    assert_eq!(r.flags, TcpFlags::ACK | TcpFlags::PSH);
    assert_eq!(r.ack, Some(SeqNumber(2)));
    assert_eq!(r.options.mss, Some(1460));
    assert_eq!(r.payload_len, 2);
    assert_eq!(
        &b[b.len() - r.payload_len..],
        b"hi",
        "the payload is the segment's tail"
    );
    // A repeated option: the last one counts.
    let mut o = [0u8; 8];
    o[..4].copy_from_slice(&[2, 4, 0, 1]);
    o[4..].copy_from_slice(&[2, 4, 0, 2]);
    assert_eq!(TcpOptions::parse(&o).unwrap().mss, Some(2));
    assert_eq!(TcpOptions::parse(&[]), Ok(TcpOptions::NONE));
}

/// A random repr in the form `parse` gives back: ACK bit matching `ack`, SACK
/// blocks from the front and no more than fit.
fn random_repr(rng: &mut StdRng) -> TcpRepr {
    let ack = rng.gen_bool(0.7).then(|| SeqNumber(rng.gen()));
    let mut options = TcpOptions {
        mss: rng.gen_bool(0.3).then(|| rng.gen()),
        window_scale: rng.gen_bool(0.3).then(|| rng.gen()),
        sack_permitted: rng.gen_bool(0.3),
        timestamp: rng.gen_bool(0.5).then(|| (rng.gen(), rng.gen())),
        sack: [None; MAX_SACK_BLOCKS],
    };
    let blocks = rng.gen_range(0..=MAX_SACK_BLOCKS);
    for slot in &mut options.sack[..blocks] {
        *slot = Some((SeqNumber(rng.gen()), SeqNumber(rng.gen())));
    }
    let fit = options.sack_count();
    for slot in &mut options.sack[fit..] {
        *slot = None;
    }
    TcpRepr {
        src_port: rng.gen(),
        dst_port: rng.gen(),
        seq: SeqNumber(rng.gen()),
        ack,
        flags: TcpFlags::from(rng.gen::<u8>()).with(TcpFlags::ACK, ack.is_some()),
        window: rng.gen(),
        options,
        payload_len: if rng.gen_bool(0.5) {
            0
        } else {
            rng.gen_range(1..200)
        },
    }
}

#[test]
fn random_reprs_round_trip() {
    let mut rng = StdRng::seed_from_u64(13);
    for _ in 0..5000 {
        let r = random_repr(&mut rng);
        let payload: Vec<u8> = (0..r.payload_len).map(|_| rng.gen()).collect();
        let (src, dst) = (
            Ipv4Addr::from(rng.gen::<u32>()),
            Ipv4Addr::from(rng.gen::<u32>()),
        );
        let b = emit(&r, src, dst, &payload);
        assert!(r.header_len() <= MAX_HEADER_LEN && r.header_len() % 4 == 0);
        assert_eq!(r.options.buffer_len() % 4, 0);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.payload(), &payload[..]);
        assert_eq!(p.segment_len(), r.segment_len());
        assert_eq!(
            TcpRepr::parse(&p, src, dst, ChecksumPolicy::Verify),
            Ok(r),
            "{b:02x?}"
        );
        // Emitting again over the first output changes nothing.
        let mut again = b.clone();
        r.emit(
            &mut Packet::new_unchecked(&mut again[..]),
            src,
            dst,
            &payload,
        );
        assert_eq!(again, b);
    }
}

#[test]
#[should_panic(expected = "TCP segment buffer length")]
fn emit_refuses_a_buffer_of_the_wrong_length() {
    let r = syn_all_options();
    let mut b = vec![0; r.buffer_len() + 1];
    r.emit(&mut Packet::new_unchecked(&mut b[..]), a(1), a(2), b"");
}

#[test]
#[should_panic(expected = "TCP payload length")]
fn emit_refuses_a_payload_of_the_wrong_length() {
    let r = syn_all_options();
    let mut b = vec![0; r.buffer_len()];
    r.emit(&mut Packet::new_unchecked(&mut b[..]), a(1), a(2), b"x");
}

/// The fast paths of `TcpOptions::parse` (no options; NOP, NOP, timestamp) give what
/// the walk gives, for every timestamp value tried, and near misses take the walk.
#[test]
fn aligned_timestamps_parse_as_the_walk_does() {
    let mut rng = StdRng::seed_from_u64(0x7157);
    assert_eq!(TcpOptions::parse(&[]), TcpOptions::parse_walk(&[]));
    for _ in 0..2000 {
        let (v, e): (u32, u32) = (rng.gen(), rng.gen());
        let mut b = vec![1, 1, 8, 10];
        b.extend_from_slice(&v.to_be_bytes());
        b.extend_from_slice(&e.to_be_bytes());
        let fast = TcpOptions::parse(&b).unwrap();
        assert_eq!(fast.timestamp, Some((v, e)));
        assert_eq!(Ok(fast), TcpOptions::parse_walk(&b));
        // One byte different: the walk decides (an error for a bad length, else equal).
        let i = rng.gen_range(0..4);
        b[i] = rng.gen();
        assert_eq!(TcpOptions::parse(&b), TcpOptions::parse_walk(&b));
    }
}
