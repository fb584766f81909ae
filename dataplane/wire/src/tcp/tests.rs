//! Unit tests of the TCP header view: captured segments, setters, checksums, sequence
//! numbers and options.

use super::*;
use crate::testutil::hex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn lo() -> Ipv4Addr {
    Ipv4Addr::LOCALHOST
}

/// A Linux SYN (`connect()` to 127.0.0.1:9) as captured on lo, after the IPv4
/// header. Loopback leaves the checksum to "offload", so the capture held the
/// pseudo-header sum 0xfe30; 0x53ff is the full checksum tcpdump computed.
const SYN: &str = "9a50 0009 96e8 9889 0000 0000 a002 ffd7 53ff 0000
                       0204 ffd7 0402 080a e826 4a0d 0000 0000 0103 030a";

/// The kernel's RST+ACK answer to it, checksum as captured (tcpdump: correct).
const RST: &str = "0009 9a50 0000 0000 96e8 988a 5014 0000 e801 0000";

#[test]
fn parses_captured_syn() {
    let b = hex(SYN);
    let p = Packet::new_checked(&b[..]).unwrap();
    assert_eq!((p.src_port(), p.dst_port()), (39504, 9));
    assert_eq!(p.seq_number(), SeqNumber(2_531_825_801));
    assert_eq!(p.ack_number(), SeqNumber(0));
    assert_eq!(p.header_len(), 40);
    assert_eq!(p.flags(), flags::SYN);
    assert!(p.syn() && !p.ack() && !p.fin() && !p.rst());
    assert!(!p.psh() && !p.urg() && !p.ece() && !p.cwr());
    assert_eq!(p.window_len(), 65495);
    assert_eq!(p.checksum(), 0x53ff);
    assert_eq!(p.urgent_at(), 0);
    assert_eq!(p.options().len(), 20);
    assert!(p.payload().is_empty());
    assert_eq!(p.segment_len(), 1);
    assert!(p.verify_checksum(lo(), lo()));
    assert!(!p.verify_checksum(lo(), Ipv4Addr::new(127, 0, 0, 2)));

    let opts: Vec<_> = options(p.options()).collect::<Result<_>>().unwrap();
    assert_eq!(
        opts,
        [
            (0, TcpOption::MaxSegmentSize(65495)),
            (4, TcpOption::SackPermitted),
            (
                6,
                TcpOption::Timestamp {
                    tsval: 3_894_823_437,
                    tsecr: 0
                }
            ),
            (16, TcpOption::NoOp),
            (17, TcpOption::WindowScale(10)),
        ]
    );
}

#[test]
fn offload_placeholder_is_the_folded_pseudo_header() {
    // What Linux stores before checksum offload, as seen in the raw capture.
    let len = hex(SYN).len() as u16;
    assert_eq!(
        checksum::fold(checksum::pseudo_header_v4(lo(), lo(), protocol::TCP, len)),
        0xfe30
    );
}

#[test]
fn parses_captured_rst() {
    let b = hex(RST);
    let p = Packet::new_checked(&b[..]).unwrap();
    assert_eq!((p.src_port(), p.dst_port()), (9, 39504));
    assert_eq!(p.ack_number(), SeqNumber(2_531_825_801) + 1);
    assert_eq!(p.flags(), flags::RST | flags::ACK);
    assert!(p.rst() && p.ack() && !p.syn());
    assert_eq!(p.window_len(), 0);
    assert!(p.options().is_empty());
    assert_eq!(options(p.options()).count(), 0);
    assert_eq!(p.segment_len(), 0);
    assert!(p.verify_checksum(lo(), lo()));
}

#[test]
fn check_len_errors() {
    let good = hex(SYN);
    let check = |b: &[u8]| Packet::new_checked(b).err();
    assert_eq!(check(&good[..19]), Some(Error::Truncated));
    assert_eq!(check(&[]), Some(Error::Truncated));
    assert_eq!(check(&good[..39]), Some(Error::Truncated), "options cut");
    assert_eq!(check(&good[..40]), None);
    for off in 0..5u8 {
        let mut b = good.clone();
        b[12] = off << 4;
        assert_eq!(check(&b), Some(Error::Malformed), "data offset {off}");
    }
    let mut b = good.clone();
    b[12] = 0xf0;
    assert_eq!(
        check(&b),
        Some(Error::Truncated),
        "60-byte header in 40 bytes"
    );
    b.resize(60, 0);
    assert_eq!(check(&b), None);
    // The minimal header needs no options.
    let rst = hex(RST);
    assert_eq!(check(&rst), None);
}

#[test]
fn setters_round_trip() {
    let mut p = Packet::new_unchecked(vec![0u8; 28]);
    p.set_src_port(0x1234);
    p.set_dst_port(443);
    p.set_seq_number(SeqNumber(0xdead_beef));
    p.set_ack_number(SeqNumber(0x0102_0304));
    p.set_header_len(24);
    p.set_window_len(0xfffe);
    p.set_checksum(0xc0de);
    p.set_urgent_at(7);
    p.options_mut().copy_from_slice(&[1, 1, 1, 0]);
    p.payload_mut().copy_from_slice(b"GET ");
    assert_eq!((p.src_port(), p.dst_port()), (0x1234, 443));
    assert_eq!(
        (p.seq_number(), p.ack_number()),
        (SeqNumber(0xdead_beef), SeqNumber(0x0102_0304))
    );
    assert_eq!(
        (p.header_len(), p.window_len(), p.checksum(), p.urgent_at()),
        (24, 0xfffe, 0xc0de, 7)
    );
    assert_eq!(p.options(), &[1, 1, 1, 0]);
    assert_eq!(p.payload(), b"GET ");

    // Each flag setter touches its bit only.
    type P = Packet<Vec<u8>>;
    type Setter = fn(&mut P, bool);
    let setters: [(Setter, u8); 8] = [
        (Packet::set_fin, flags::FIN),
        (Packet::set_syn, flags::SYN),
        (Packet::set_rst, flags::RST),
        (Packet::set_psh, flags::PSH),
        (Packet::set_ack, flags::ACK),
        (Packet::set_urg, flags::URG),
        (Packet::set_ece, flags::ECE),
        (Packet::set_cwr, flags::CWR),
    ];
    let mut expect = 0u8;
    for (set, bit) in setters {
        set(&mut p, true);
        expect |= bit;
        assert_eq!(p.flags(), expect);
    }
    let getters: [fn(&P) -> bool; 8] = [
        Packet::fin,
        Packet::syn,
        Packet::rst,
        Packet::psh,
        Packet::ack,
        Packet::urg,
        Packet::ece,
        Packet::cwr,
    ];
    assert!(getters.iter().all(|g| g(&p)));
    for ((set, bit), get) in setters.into_iter().zip(getters) {
        set(&mut p, false);
        expect &= !bit;
        assert_eq!(p.flags(), expect);
        assert!(!get(&p));
    }
    p.set_flags(flags::SYN | flags::FIN);
    assert_eq!(p.segment_len(), 4 + 2);
    // The data-offset setter keeps the reserved/NS bits.
    let mut b = p.into_inner();
    b[12] |= 0x01;
    let mut p = Packet::new_unchecked(&mut b[..]);
    p.set_header_len(20);
    assert_eq!(p.header_len(), 20);
    assert_eq!(b[12], 0x51);
    assert_eq!(b[..4], [0x12, 0x34, 0x01, 0xbb]);
    assert_eq!(b[4..12], [0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4]);
}

#[test]
fn checksum_fill_and_verify() {
    let mut b = hex(SYN);
    let mut p = Packet::new_checked(&mut b[..]).unwrap();
    p.fill_checksum(lo(), lo());
    assert_eq!(p.checksum(), 0x53ff);

    // With an odd-length payload appended.
    let mut b = hex(RST);
    b.extend_from_slice(b"hello");
    let src = Ipv4Addr::new(192, 0, 2, 1);
    let dst = Ipv4Addr::new(198, 51, 100, 7);
    let mut p = Packet::new_checked(&mut b[..]).unwrap();
    assert!(!p.verify_checksum(src, dst));
    p.fill_checksum(src, dst);
    assert!(p.verify_checksum(src, dst));
    assert!(!p.verify_checksum(dst, src.octets().map(|o| o ^ 1).into()));
    assert_eq!(p.payload(), b"hello");
    p.into_payload_mut()[4] = b'O';
    let p = Packet::new_checked(&b[..]).unwrap();
    assert!(!p.verify_checksum(src, dst));
    assert_eq!(p.into_payload(), b"hellO");
}

#[test]
fn nat_rewrite_by_incremental_update_equals_recomputation() {
    // The rewrite Splicer does per packet: new addresses (pseudo-header) and
    // ports, plus sequence/ack translation, all by incremental update.
    let mut rng = StdRng::seed_from_u64(0x5eed);
    for round in 0..2000 {
        let mut b = vec![0u8; 20 + rng.gen_range(0..40)];
        rng.fill(&mut b[..]);
        b[12] = 0x50;
        let (mut src, mut dst) = (
            Ipv4Addr::from(rng.gen::<u32>()),
            Ipv4Addr::from(rng.gen::<u32>()),
        );
        let mut p = Packet::new_checked(&mut b[..]).unwrap();
        p.fill_checksum(src, dst);

        let (nsrc, ndst) = (
            Ipv4Addr::from(rng.gen::<u32>()),
            Ipv4Addr::from(rng.gen::<u32>()),
        );
        let (nsport, ndport) = (rng.gen::<u16>(), rng.gen::<u16>());
        let delta = rng.gen::<u32>() as usize;
        let mut c = p.checksum();
        // Addresses and ports as one run each side, as a caller with both at hand would.
        let mut old_run = [0u8; 12];
        old_run[..4].copy_from_slice(&src.octets());
        old_run[4..8].copy_from_slice(&dst.octets());
        old_run[8..10].copy_from_slice(&p.src_port().to_be_bytes());
        old_run[10..].copy_from_slice(&p.dst_port().to_be_bytes());
        let mut new_run = [0u8; 12];
        new_run[..4].copy_from_slice(&nsrc.octets());
        new_run[4..8].copy_from_slice(&ndst.octets());
        new_run[8..10].copy_from_slice(&nsport.to_be_bytes());
        new_run[10..].copy_from_slice(&ndport.to_be_bytes());
        c = checksum::update_bytes(c, &old_run, &new_run);
        let (seq, ack) = (p.seq_number(), p.ack_number());
        c = checksum::update32(c, seq.0, (seq + delta).0);
        c = checksum::update32(c, ack.0, (ack - delta).0);
        p.set_src_port(nsport);
        p.set_dst_port(ndport);
        p.set_seq_number(seq + delta);
        p.set_ack_number(ack - delta);
        p.set_checksum(c);
        (src, dst) = (nsrc, ndst);

        assert!(p.verify_checksum(src, dst), "round {round}");
        p.fill_checksum(src, dst);
        assert_eq!(p.checksum(), c, "round {round}");
    }
}

/// `[a < b, a <= b, a > b, a >= b]`, the four operators a caller might write.
fn ops(a: SeqNumber, b: SeqNumber) -> [bool; 4] {
    [a < b, a <= b, a > b, a >= b]
}

#[test]
fn seq_number_wraparound() {
    let max = SeqNumber(u32::MAX);
    assert_eq!(max + 1, SeqNumber(0));
    assert_eq!(SeqNumber(0) - 1, max);
    assert_eq!(
        SeqNumber(10) + (1usize << 32),
        SeqNumber(10),
        "reduced modulo 2^32"
    );
    let mut s = SeqNumber(u32::MAX - 1);
    s += 5;
    assert_eq!(s, SeqNumber(3));
    s -= 4;
    assert_eq!(s, max);
    assert_eq!(SeqNumber(5) - SeqNumber(u32::MAX - 4), 10);
    assert_eq!(SeqNumber(u32::MAX - 4) - SeqNumber(5), -10);
    assert_eq!(SeqNumber(42).to_string(), "42");
}

#[test]
fn seq_number_serial_order() {
    // Across the wrap, the small number is the later one.
    let before = SeqNumber(u32::MAX - 10);
    let after = SeqNumber(5);
    assert_eq!(ops(before, after), [true, true, false, false]);
    assert_eq!(ops(after, before), [false, false, true, true]);
    assert!(before.lt(&after) && after.gt(&before));
    assert_eq!(before.max(after), after);
    assert_eq!(after.max(before), after);
    assert_eq!(after.min(before), before);
    assert_eq!(before.min(after), before);
    assert_eq!(ops(SeqNumber(7), SeqNumber(7)), [false, true, false, true]);

    // The largest forward distance is 2^31 - 1; beyond it the order flips.
    let zero = SeqNumber(0);
    assert_eq!(
        ops(zero, SeqNumber(0x7fff_ffff)),
        [true, true, false, false]
    );
    assert_eq!(
        ops(zero, SeqNumber(0x8000_0001)),
        [false, false, true, true]
    );
    // Exactly half-way is undefined in RFC 1982: unordered both ways.
    let half = SeqNumber(0x8000_0000);
    assert_eq!(zero.partial_cmp(&half), None);
    assert_eq!(half.partial_cmp(&zero), None);
    assert_eq!(ops(zero, half), [false; 4]);
    assert_eq!(ops(half, zero), [false; 4]);
    assert_eq!(zero.max(half), zero);
    assert_eq!(half.min(zero), half);
}

#[test]
fn option_iterator_rejects_bad_lengths() {
    let malformed = |opts: &[u8]| {
        let items: Vec<_> = options(opts).collect();
        assert_eq!(
            items.last(),
            Some(&Err(Error::Malformed)),
            "{opts:?}: {items:?}"
        );
        assert!(
            items[..items.len() - 1].iter().all(Result::is_ok),
            "{opts:?}"
        );
        items.len() - 1
    };
    assert_eq!(malformed(&[2, 0, 0, 0]), 0, "length 0");
    assert_eq!(malformed(&[99, 0]), 0, "unknown kind, length 0");
    assert_eq!(malformed(&[1, 99, 1]), 1, "length 1");
    assert_eq!(malformed(&[2, 4, 5]), 0, "MSS past end");
    assert_eq!(
        malformed(&[1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0]),
        2,
        "timestamp past end"
    );
    assert_eq!(malformed(&[1, 99, 200, 1]), 1, "unknown kind past end");
    assert_eq!(malformed(&[1, 1, 1, 3]), 3, "length byte missing");
    assert_eq!(malformed(&[2, 3, 5, 1]), 0, "MSS of length 3");
    assert_eq!(malformed(&[3, 4, 7, 0]), 0, "window scale of length 4");
    assert_eq!(malformed(&[4, 3, 0, 1]), 0, "SACK-permitted of length 3");
    assert_eq!(
        malformed(&[8, 8, 0, 0, 0, 0, 0, 0]),
        0,
        "timestamp of length 8"
    );
    assert_eq!(
        malformed(&[5, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        0,
        "SACK of 1.5 blocks"
    );
    assert_eq!(malformed(&[5, 2]), 0, "SACK of no blocks");

    // An error ends the iteration for good.
    let mut it = options(&[2, 0, 1, 1]);
    assert_eq!(it.next(), Some(Err(Error::Malformed)));
    assert_eq!(it.next(), None);
    assert_eq!(it.next(), None);
}

#[test]
fn option_iterator_edge_cases() {
    assert_eq!(options(&[]).next(), None);
    // Nothing after EndOfList is parsed, not even garbage.
    let items: Vec<_> = options(&[1, 0, 2, 0, 0xff]).collect();
    assert_eq!(
        items,
        [Ok((0, TcpOption::NoOp)), Ok((1, TcpOption::EndOfList))]
    );
    // Unknown kinds keep their data; a zero-data unknown option is fine.
    let items: Vec<_> = options(&[30, 4, 0xab, 0xcd, 31, 2]).collect();
    assert_eq!(
        items,
        [
            Ok((
                0,
                TcpOption::Unknown {
                    kind: 30,
                    data: &[0xab, 0xcd]
                }
            )),
            Ok((
                4,
                TcpOption::Unknown {
                    kind: 31,
                    data: &[]
                }
            )),
        ]
    );
    // SACK blocks.
    let b = hex("0101 0512 0000 0064 0000 00c8 ffff fff0 0000 0010");
    let items: Vec<_> = options(&b).collect::<Result<_>>().unwrap();
    assert_eq!(
        items[2],
        (
            2,
            TcpOption::SackRange {
                blocks: [(100, 200), (0xffff_fff0, 0x10), (0, 0), (0, 0)],
                count: 2
            }
        )
    );
}

#[test]
fn options_emit_and_parse_back() {
    let cases = [
        TcpOption::EndOfList,
        TcpOption::NoOp,
        TcpOption::MaxSegmentSize(1460),
        TcpOption::WindowScale(14),
        TcpOption::SackPermitted,
        TcpOption::SackRange {
            blocks: [(1, 2), (3, 4), (5, 6), (7, 8)],
            count: 4,
        },
        TcpOption::SackRange {
            blocks: [(9, 10), (0, 0), (0, 0), (0, 0)],
            count: 1,
        },
        TcpOption::Timestamp {
            tsval: 0xfedc_ba98,
            tsecr: 1,
        },
        TcpOption::Unknown {
            kind: 34,
            data: &[1, 2, 3],
        },
    ];
    for opt in cases {
        let mut b = [0u8; 40];
        let n = opt.emit(&mut b);
        assert_eq!(n, opt.buffer_len());
        assert_eq!(options(&b[..n]).next(), Some(Ok((0, opt))), "{opt:?}");
    }
}

#[test]
fn emit_options_matches_linux_syn() {
    let mut b = [0u8; EMIT_OPTIONS_MAX_LEN];
    let n = emit_options(
        &mut b,
        Some(65495),
        true,
        Some((3_894_823_437, 0)),
        Some(10),
    );
    assert_eq!(b[..n], hex(SYN)[20..]);
}

#[test]
fn emit_options_every_combination_parses_back() {
    for bits in 0..16 {
        let mss = (bits & 1 != 0).then_some(1400);
        let sack = bits & 2 != 0;
        let ts = (bits & 4 != 0).then_some((0x0102_0304, 0xa0b0_c0d0));
        let ws = (bits & 8 != 0).then_some(7);
        let mut b = [0xeeu8; EMIT_OPTIONS_MAX_LEN + 4];
        let n = emit_options(&mut b, mss, sack, ts, ws);
        assert_eq!(n % 4, 0, "{bits:04b}: padded to 4 bytes");
        assert!(n <= EMIT_OPTIONS_MAX_LEN);
        assert!(
            b[n..].iter().all(|&x| x == 0xee),
            "{bits:04b}: wrote past {n}"
        );

        let mut got = (None, false, None, None);
        for item in options(&b[..n]) {
            let (at, opt) = item.unwrap();
            // Multi-byte values land 4-byte aligned within the header.
            match opt {
                TcpOption::MaxSegmentSize(v) => {
                    assert_eq!(at % 4, 0);
                    got.0 = Some(v);
                }
                TcpOption::SackPermitted => got.1 = true,
                TcpOption::Timestamp { tsval, tsecr } => {
                    assert_eq!(at % 4, 2);
                    got.2 = Some((tsval, tsecr));
                }
                TcpOption::WindowScale(v) => got.3 = Some(v),
                TcpOption::NoOp => {}
                other => panic!("{bits:04b}: unexpected {other:?}"),
            }
        }
        assert_eq!(got, (mss, sack, ts, ws), "{bits:04b}");
    }
}
