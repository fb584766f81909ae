//! The TCP option walk (`splicer_wire::tcp::options`) on arbitrary option bytes, and
//! the options Splicer writes into its own SYN / SYN-ACK.
//!
//! Checks: the walk ends (no option makes it stand still), every option it yields lies
//! inside the bytes at its offset and re-emits to exactly those bytes, nothing is
//! yielded after an error or End-of-List; `emit_options` writes a 4-byte multiple of
//! at most `EMIT_OPTIONS_MAX_LEN` that walks back to what was asked for.

#![no_main]

use libfuzzer_sys::fuzz_target;
use splicer_wire::tcp::{self, TcpOption};

fuzz_target!(|data: &[u8]| {
    walk(data);
    if data.len() >= 12 {
        emit_and_walk(&data[..12]);
    }
});

fn walk(opts: &[u8]) {
    let mut next_at = 0;
    let mut ended = false;
    let mut steps = 0;
    for item in tcp::options(opts) {
        assert!(!ended, "an option after an error or End-of-List");
        steps += 1;
        assert!(steps <= opts.len(), "the walk does not advance");
        match item {
            Ok((at, opt)) => {
                assert_eq!(at, next_at, "options are contiguous");
                let len = opt.buffer_len();
                assert!(at + len <= opts.len(), "option past the end");
                let mut buf = [0u8; 256];
                let n = opt.emit(&mut buf);
                assert_eq!(n, len);
                assert_eq!(&buf[..n], &opts[at..at + len], "re-emitted option differs");
                next_at = at + len;
                match opt {
                    TcpOption::EndOfList => ended = true,
                    TcpOption::SackRange { count, blocks } => {
                        assert!((1..=4).contains(&count));
                        assert!(blocks[usize::from(count)..].iter().all(|&b| b == (0, 0)));
                    }
                    TcpOption::Unknown { kind, .. } => {
                        assert!(![0, 1, 2, 3, 4, 5, 8].contains(&kind), "known kind {kind}");
                    }
                    _ => {}
                }
            }
            Err(_) => ended = true,
        }
    }
}

fn emit_and_walk(p: &[u8]) {
    let mss = (p[0] & 1 == 1).then(|| u16::from_be_bytes([p[1], p[2]]));
    let sack = p[0] & 2 == 2;
    let ts = (p[0] & 4 == 4).then(|| {
        (
            u32::from_be_bytes([p[3], p[4], p[5], p[6]]),
            u32::from_be_bytes([p[7], p[8], p[9], p[10]]),
        )
    });
    let ws = (p[0] & 8 == 8).then_some(p[11]);
    let mut buf = [0u8; tcp::EMIT_OPTIONS_MAX_LEN];
    let n = tcp::emit_options(&mut buf, mss, sack, ts, ws);
    assert!(n.is_multiple_of(4) && n <= tcp::EMIT_OPTIONS_MAX_LEN, "{n}");
    let (mut got_mss, mut got_sack, mut got_ts, mut got_ws) = (None, false, None, None);
    for item in tcp::options(&buf[..n]) {
        match item.expect("emitted options walk") {
            (at, TcpOption::MaxSegmentSize(m)) => {
                assert_eq!(at % 4, 0, "MSS aligned");
                got_mss = Some(m);
            }
            (_, TcpOption::SackPermitted) => got_sack = true,
            (at, TcpOption::Timestamp { tsval, tsecr }) => {
                assert_eq!(at % 4, 2, "timestamp values 4-byte aligned");
                got_ts = Some((tsval, tsecr));
            }
            (_, TcpOption::WindowScale(s)) => got_ws = Some(s),
            (_, TcpOption::NoOp) => {}
            (_, other) => panic!("unexpected option {other:?}"),
        }
    }
    assert_eq!((got_mss, got_sack, got_ts, got_ws), (mss, sack, ts, ws));
    walk(&buf[..n]);
}
