//! The `baseline` scenario: the ceiling every fast-path figure is quoted against.
//!
//! The worker runs a bare loop, rx burst → per packet: length-checked parse, flow lookup
//! in a flat table, [`rewrite::apply`] (addresses, ports, sequence and acknowledgement
//! numbers, both checksums updated incrementally), Ethernet addresses → tx burst. No
//! state machine, no options, no allocation. [`BareRewrite`] is that loop's body.
//!
//! The generator ([`BaselineTraffic`]) plays `F` client flows, sending one segment per
//! flow in turn (round robin) with per-flow sequence numbers advancing by the payload
//! length, and verifies every returned segment completely (see [`BaselineTraffic::verify`]).

use crate::driver::{Forwarder, Traffic};
use crate::packet::{self, field, SegmentSpec, L3, L4};
use crate::plan::{FlowPlan, WorkerEntry};
use crate::verify::{Mismatch, VerifyError};
use dpdk_bindings::Mbuf;
use splicer_pipeline::rewrite::{self, headers, Translation};
use splicer_wire::tcp::{self, SeqNumber};
use splicer_wire::{checksum, ethernet, ipv4, EthernetAddress};
use std::net::Ipv4Addr;
use std::str::FromStr;

/// The window field every generated segment carries.
const WINDOW: u16 = 502;

/// The generator's per-flow sending state.
#[derive(Debug, Clone, Copy)]
struct TxFlow {
    /// The template's sequence number and TCP checksum.
    seq0: u32,
    csum0: u16,
    /// Sequence number of the next segment.
    next_seq: u32,
}

/// The generator's per-flow expectations for returned segments.
#[derive(Debug, Clone, Copy)]
struct RxFlow {
    /// Server-leg source and destination addresses then ports, as on the wire (frame
    /// bytes 26..38).
    ends: [u8; 12],
    /// Translated sequence number the next returned segment must carry.
    next_seq: u32,
    /// Translated acknowledgement number every returned segment must carry.
    ack: u32,
}

/// The baseline generator: per-flow templates and the verifier.
#[derive(Debug, Clone)]
pub struct BaselineTraffic {
    flows: u32,
    payload_len: usize,
    frame_len: usize,
    /// One template per flow, `frame_len` bytes each, back to back.
    templates: Vec<u8>,
    tx: Vec<TxFlow>,
    rx: Vec<RxFlow>,
    /// A returned frame of flow 0: the bytes every returned frame shares (Ethernet
    /// header, IPv4 fixed fields, TCP flags/window/urgent pointer, payload).
    expected: Vec<u8>,
    tx_cursor: u32,
    rx_cursor: u32,
    returned: u64,
}

impl BaselineTraffic {
    /// Templates for every flow of `plan`, sent from `gen_mac` to `worker_mac`, and the
    /// expectations for their return from `worker_mac` to `gen_mac`.
    pub fn new(
        plan: &FlowPlan,
        payload_len: usize,
        gen_mac: EthernetAddress,
        worker_mac: EthernetAddress,
    ) -> BaselineTraffic {
        let payload = packet::payload(payload_len);
        let frame_len = packet::frame_len(payload_len);
        let flows = plan.flows();
        let mut templates = Vec::with_capacity(frame_len * flows as usize);
        let mut tx = Vec::with_capacity(flows as usize);
        let mut rx = Vec::with_capacity(flows as usize);
        let mut expected = Vec::new();
        for id in 0..flows {
            let c = plan.client(id);
            let spec = SegmentSpec {
                src_mac: gen_mac,
                dst_mac: worker_mac,
                src: c.src,
                dst: c.dst,
                seq: c.first_seq,
                ack: c.ack,
                flags: tcp::flags::ACK | tcp::flags::PSH,
                window: WINDOW,
                ident: 0,
                payload: &payload,
            };
            let frame = packet::build_frame(&spec);
            let csum0 = tcp::Packet::new_unchecked(&frame[L4..]).checksum();
            templates.extend_from_slice(&frame);
            tx.push(TxFlow {
                seq0: c.first_seq.0,
                csum0,
                next_seq: c.first_seq.0,
            });

            let s = plan.server(id);
            let mut ends = [0u8; 12];
            ends[..4].copy_from_slice(&s.src.0.octets());
            ends[4..8].copy_from_slice(&s.dst.0.octets());
            ends[8..10].copy_from_slice(&s.src.1.to_be_bytes());
            ends[10..].copy_from_slice(&s.dst.1.to_be_bytes());
            let ack = plan.expected_ack(id, c.ack);
            rx.push(RxFlow {
                ends,
                next_seq: plan.expected_seq(id, c.first_seq).0,
                ack: ack.0,
            });
            if id == 0 {
                expected = packet::build_frame(&SegmentSpec {
                    src_mac: worker_mac,
                    dst_mac: gen_mac,
                    src: s.src,
                    dst: s.dst,
                    seq: plan.expected_seq(id, c.first_seq),
                    ack,
                    ..spec
                });
            }
        }
        BaselineTraffic {
            flows,
            payload_len,
            frame_len,
            templates,
            tx,
            rx,
            expected,
            tx_cursor: 0,
            rx_cursor: 0,
            returned: 0,
        }
    }

    /// Segments verified so far.
    pub fn returned(&self) -> u64 {
        self.returned
    }

    /// The whole check in one pass, with no early exits and the verifier's own checksum
    /// arithmetic: true if the frame is exactly right. [`BaselineTraffic::check`] then
    /// only runs to say what is wrong with a frame this refused.
    #[inline]
    fn fast_ok(&self, flow: &RxFlow, frame: &[u8]) -> bool {
        if frame.len() != self.frame_len {
            return false;
        }
        let exp = &self.expected[..];
        // IPv4 header checksum over the 20-byte header (its length is among the fixed
        // bytes compared below).
        let ip_ok = fold16(sum32(&frame[L3..L4])) == 0xffff;
        // TCP checksum: pseudo-header (addresses, protocol, TCP length) and the segment,
        // whose length the fixed IPv4 bytes (total length) tie to the frame's.
        let tcp_len = (frame.len() - L4) as u64;
        let pseudo = sum32(&frame[field::IP_ADDRS]) + u64::from(ipv4::protocol::TCP) + tcp_len;
        let tcp_ok = fold16(pseudo + sum32(&frame[L4..])) == 0xffff;
        let be32 = |at: usize| {
            u32::from_be_bytes([frame[at], frame[at + 1], frame[at + 2], frame[at + 3]])
        };
        ip_ok
            & tcp_ok
            & (frame[..L3] == exp[..L3])
            & (frame[field::IP_FIXED] == exp[field::IP_FIXED])
            & (frame[field::IP_ADDRS.start..field::PORTS.end] == flow.ends)
            & (be32(L4 + 4) == flow.next_seq)
            & (be32(L4 + 8) == flow.ack)
            & (frame[field::TCP_FIXED] == exp[field::TCP_FIXED])
            & (frame[field::URGENT.start..] == exp[field::URGENT.start..])
    }

    fn check(&self, flow: &RxFlow, frame: &[u8]) -> Result<(), Mismatch> {
        let exp = &self.expected;
        if frame.len() != self.frame_len {
            return Err(Mismatch::Length {
                got: frame.len(),
                expected: self.frame_len,
            });
        }
        if frame[..L3] != exp[..L3] {
            return Err(Mismatch::Ethernet);
        }
        let ip = ipv4::Packet::new_checked(&frame[L3..]).map_err(Mismatch::Malformed)?;
        if !ip.verify_checksum() {
            return Err(Mismatch::IpChecksum);
        }
        if frame[field::IP_FIXED] != exp[field::IP_FIXED] {
            return Err(Mismatch::IpHeader);
        }
        if frame[field::IP_ADDRS] != flow.ends[..8] {
            let a = |b: &[u8]| Ipv4Addr::new(b[0], b[1], b[2], b[3]);
            return Err(Mismatch::Addresses {
                got: (ip.src_addr(), ip.dst_addr()),
                expected: (a(&flow.ends[..4]), a(&flow.ends[4..8])),
            });
        }
        // The total length was compared with the expected one above, so the segment is
        // the rest of the frame.
        let seg = tcp::Packet::new_checked(&frame[L4..]).map_err(Mismatch::Malformed)?;
        if !seg.verify_checksum(ip.src_addr(), ip.dst_addr()) {
            return Err(Mismatch::TcpChecksum);
        }
        if frame[field::PORTS] != flow.ends[8..] {
            let p = |b: &[u8]| u16::from_be_bytes([b[0], b[1]]);
            return Err(Mismatch::Ports {
                got: (seg.src_port(), seg.dst_port()),
                expected: (p(&flow.ends[8..10]), p(&flow.ends[10..])),
            });
        }
        if seg.seq_number().0 != flow.next_seq {
            return Err(Mismatch::Seq {
                got: seg.seq_number().0,
                expected: flow.next_seq,
            });
        }
        if seg.ack_number().0 != flow.ack {
            return Err(Mismatch::Ack {
                got: seg.ack_number().0,
                expected: flow.ack,
            });
        }
        if frame[field::TCP_FIXED] != exp[field::TCP_FIXED]
            || frame[field::URGENT] != exp[field::URGENT]
        {
            return Err(Mismatch::TcpHeader);
        }
        if frame[packet::PAYLOAD..] != exp[packet::PAYLOAD..] {
            return Err(Mismatch::Payload);
        }
        Ok(())
    }
}

impl Traffic for BaselineTraffic {
    #[inline]
    fn next_len(&self) -> usize {
        self.frame_len
    }

    /// Copies the next flow's template (round robin) and stamps its next sequence number,
    /// updating the TCP checksum incrementally from the template's.
    #[inline]
    fn fill(&mut self, frame: &mut [u8]) {
        let id = self.tx_cursor as usize;
        self.tx_cursor = if self.tx_cursor + 1 == self.flows {
            0
        } else {
            self.tx_cursor + 1
        };
        let len = self.frame_len;
        frame.copy_from_slice(&self.templates[id * len..(id + 1) * len]);
        let st = &mut self.tx[id];
        let seq = st.next_seq;
        st.next_seq = seq.wrapping_add(self.payload_len as u32);
        let mut seg = tcp::Packet::new_unchecked(&mut frame[L4..]);
        seg.set_seq_number(SeqNumber(seq));
        seg.set_checksum(checksum::update32(st.csum0, st.seq0, seq));
    }

    /// Checks a returned frame completely (both checksums computed in full, with the
    /// verifier's own arithmetic, and every other byte compared): length; Ethernet header; IPv4 header parse and
    /// full checksum; every IPv4 field; the flow's server-leg addresses; TCP header parse
    /// and full checksum (pseudo-header and payload); the flow's server-leg ports; the
    /// translated sequence number (which also catches loss and reordering, since each
    /// flow's numbers advance by the payload length) and acknowledgement number; TCP
    /// flags, window, urgent pointer and payload. Segments return in the order they were
    /// sent (one worker, FIFO rings), so the flow each one must belong to is known.
    fn verify(&mut self, frame: &[u8]) -> Result<(), VerifyError> {
        let id = self.rx_cursor;
        let flow = &self.rx[id as usize];
        if !self.fast_ok(flow, frame) {
            let mismatch = self
                .check(flow, frame)
                .err()
                .unwrap_or(Mismatch::Inconsistent);
            return Err(VerifyError {
                packet: self.returned,
                flow: id,
                mismatch,
            });
        }
        let flow = &mut self.rx[id as usize];
        flow.next_seq = flow.next_seq.wrapping_add(self.payload_len as u32);
        self.rx_cursor = if id + 1 == self.flows { 0 } else { id + 1 };
        self.returned += 1;
        Ok(())
    }
}

/// Ones-complement sum of `data` as big-endian 32-bit words (a short tail padded with
/// zeros on the right), not yet folded. Since 2^16 = 1 (mod 0xffff), it folds to the same
/// value as RFC 1071's sum of 16-bit words. The verifier's own code, independent of
/// `splicer_wire::checksum`, which the worker's rewrite uses.
#[inline]
pub fn sum32(data: &[u8]) -> u64 {
    let mut s = 0u64;
    let mut words = data.chunks_exact(4);
    for w in &mut words {
        s += u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]]));
    }
    // Shifted into place byte by byte: a copy into a zeroed word and a 32-bit read of it
    // stalls on store forwarding.
    for (i, &b) in words.remainder().iter().enumerate() {
        s += u64::from(b) << (24 - 8 * i);
    }
    s
}

/// Folds a [`sum32`] total to 16 bits with end-around carries; data with a correct
/// checksum folds to 0xffff.
#[inline]
pub fn fold16(mut s: u64) -> u16 {
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

/// A deliberate error the worker makes once, to prove that the generator's verification
/// catches it (`--inject-fault`; used by the tests, never in a measurement).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Flip a bit of the TCP checksum after the rewrite.
    Checksum,
    /// Translate the sequence number one too far (checksum kept consistent).
    Seq,
    /// Send to the wrong server port (checksum kept consistent).
    Port,
    /// Drop the packet.
    Drop,
}

impl FromStr for Fault {
    type Err = String;
    fn from_str(s: &str) -> Result<Fault, String> {
        match s {
            "checksum" => Ok(Fault::Checksum),
            "seq" => Ok(Fault::Seq),
            "port" => Ok(Fault::Port),
            "drop" => Ok(Fault::Drop),
            _ => Err(format!("unknown fault {s:?}: checksum, seq, port or drop")),
        }
    }
}

/// Why the bare loop refused a packet (the generator then reports it missing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Not Ethernet II + IPv4.
    NotIpv4,
    /// `rewrite` refused it (truncated, malformed, not TCP, fragment).
    Rewrite(rewrite::Error),
    /// Its client address and port belong to no flow of the plan.
    UnknownFlow,
    /// Dropped on purpose ([`Fault::Drop`]).
    Injected,
}

/// The worker's bare loop body: the translation table and the Ethernet addresses.
#[derive(Debug, Clone)]
pub struct BareRewrite {
    plan: FlowPlan,
    table: Vec<WorkerEntry>,
    src_mac: EthernetAddress,
    dst_mac: EthernetAddress,
    fault: Option<(Fault, u64)>,
    seen: u64,
}

impl BareRewrite {
    /// A table for every flow of `plan`; packets leave from `worker_mac` to `gen_mac`.
    /// With `fault`, the packet numbered `.1` (from 0) gets that fault.
    pub fn new(
        plan: &FlowPlan,
        worker_mac: EthernetAddress,
        gen_mac: EthernetAddress,
        fault: Option<(Fault, u64)>,
    ) -> BareRewrite {
        BareRewrite {
            plan: *plan,
            table: (0..plan.flows()).map(|id| plan.worker_entry(id)).collect(),
            src_mac: worker_mac,
            dst_mac: gen_mac,
            fault,
            seen: 0,
        }
    }

    /// Rewrites one frame in place for the server leg.
    #[inline]
    pub fn rewrite(&mut self, frame: &mut [u8]) -> Result<(), Refused> {
        let eth = ethernet::Frame::new_checked(&*frame).map_err(|_| Refused::NotIpv4)?;
        if eth.ethertype() != ethernet::ethertype::IPV4 {
            return Err(Refused::NotIpv4);
        }
        let l3 = &mut frame[L3..];
        let (src_port, seq, ack) = {
            let seg = headers::tcp_segment(l3).map_err(Refused::Rewrite)?;
            let ack = seg.ack().then(|| seg.ack_number());
            (seg.src_port(), seg.seq_number(), ack)
        };
        let src = ipv4::Packet::new_unchecked(&*l3).src_addr();
        let id = self
            .plan
            .flow_of_client((src, src_port))
            .ok_or(Refused::UnknownFlow)?;
        let e = self.table.get(id as usize).ok_or(Refused::UnknownFlow)?;
        let mut t = Translation {
            seq: Some(e.upstream.map(seq)),
            ack: ack.map(|a| e.ack.map(a)),
            ..e.translation
        };
        let fault = match self.fault {
            Some((f, at)) if at == self.seen => Some(f),
            _ => None,
        };
        self.seen += 1;
        match fault {
            Some(Fault::Seq) => t.seq = t.seq.map(|s| s + 1),
            Some(Fault::Port) => t.dst.1 = t.dst.1.wrapping_add(1),
            Some(Fault::Drop) => return Err(Refused::Injected),
            _ => {}
        }
        rewrite::apply(l3, &t).map_err(Refused::Rewrite)?;
        if fault == Some(Fault::Checksum) {
            frame[L4 + 17] ^= 0x01;
        }
        let mut eth = ethernet::Frame::new_unchecked(&mut *frame);
        eth.set_dst_addr(self.dst_mac);
        eth.set_src_addr(self.src_mac);
        Ok(())
    }
}

impl Forwarder for BareRewrite {
    // The bare loop needs no clock: the worker loop reads none for it.
    const USES_CLOCK: bool = false;

    #[inline]
    fn forward(&mut self, burst: &mut Vec<Mbuf>, _now: u64) -> u64 {
        let before = burst.len();
        crate::driver::touch(burst);
        // Packets the loop refuses are dropped (freed) here, in place.
        burst.retain_mut(|m| match m.try_data_mut() {
            Some(frame) => self.rewrite(frame).is_ok(),
            None => false,
        });
        (before - burst.len()) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GEN: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 0x0a]);
    const WRK: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 0x0b]);

    fn setup(flows: u32, payload: usize) -> (BaselineTraffic, BareRewrite, FlowPlan) {
        let plan = FlowPlan::new(flows).unwrap();
        (
            BaselineTraffic::new(&plan, payload, GEN, WRK),
            BareRewrite::new(&plan, WRK, GEN, None),
            plan,
        )
    }

    fn next(traffic: &mut BaselineTraffic) -> Vec<u8> {
        let mut f = vec![0u8; traffic.next_len()];
        traffic.fill(&mut f);
        f
    }

    fn view(frame: &[u8]) -> (ipv4::Packet<&[u8]>, tcp::Packet<&[u8]>) {
        let ip = ipv4::Packet::new_checked(&frame[L3..]).unwrap();
        let seg = tcp::Packet::new_checked(&frame[L4..]).unwrap();
        (ip, seg)
    }

    #[test]
    fn own_checksum_arithmetic_agrees_with_splicer_wire() {
        let mut x = 0x1234_5678u32;
        for len in 0..200usize {
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            assert_eq!(
                fold16(sum32(&data)),
                checksum::fold(checksum::sum(&data)),
                "length {len}"
            );
        }
        assert_eq!(fold16(0), 0);
        assert_eq!(fold16(0xffff), 0xffff);
        assert_eq!(fold16(0x1_0000), 1);
        assert_eq!(fold16(0xffff_ffff_ffff), 0xffff);
    }

    #[test]
    fn generated_packets_are_valid_and_advance_per_flow() {
        let (mut traffic, _, plan) = setup(3, 6);
        let frames: Vec<Vec<u8>> = (0..7).map(|_| next(&mut traffic)).collect();
        for (k, f) in frames.iter().enumerate() {
            let id = (k % 3) as u32;
            let c = plan.client(id);
            let (ip, seg) = view(f);
            assert_eq!(f.len(), 60, "60-byte frames with 6 bytes of payload");
            assert!(ip.verify_checksum(), "packet {k}");
            assert!(seg.verify_checksum(c.src.0, c.dst.0), "packet {k}");
            assert_eq!((ip.src_addr(), seg.src_port()), c.src);
            assert_eq!((ip.dst_addr(), seg.dst_port()), c.dst);
            assert_eq!(seg.seq_number(), c.first_seq + 6 * (k / 3));
            assert_eq!(seg.ack_number(), c.ack);
            assert_eq!(seg.payload(), b"splice");
            let eth = ethernet::Frame::new_checked(&f[..]).unwrap();
            assert_eq!((eth.src_addr(), eth.dst_addr()), (GEN, WRK));
        }
    }

    #[test]
    fn sequence_numbers_wrap_with_valid_checksums() {
        let plan = FlowPlan::new(1).unwrap();
        let mut traffic = BaselineTraffic::new(&plan, 1000, GEN, WRK);
        let c = plan.client(0);
        // Far enough to wrap the 32-bit sequence space at least once.
        for _ in 0..5_000_000 {
            traffic.tx[0].next_seq = traffic.tx[0].next_seq.wrapping_add(1000);
        }
        let f = next(&mut traffic);
        let (_, seg) = view(&f);
        assert!(seg.verify_checksum(c.src.0, c.dst.0));
    }

    #[test]
    fn worker_output_verifies() {
        let (mut traffic, mut worker, _) = setup(5, 6);
        for k in 0..23 {
            let mut f = next(&mut traffic);
            worker.rewrite(&mut f).unwrap();
            traffic
                .verify(&f)
                .unwrap_or_else(|e| panic!("packet {k}: {e}"));
        }
        assert_eq!(traffic.returned(), 23);
        // Zero payload: pure ACKs, all flows still verify.
        let (mut traffic, mut worker, _) = setup(2, 0);
        for _ in 0..4 {
            let mut f = next(&mut traffic);
            worker.rewrite(&mut f).unwrap();
            traffic.verify(&f).unwrap();
        }
    }

    /// A correctly rewritten frame of flow 0 and its verifier.
    fn rewritten() -> (BaselineTraffic, Vec<u8>) {
        let (mut traffic, mut worker, _) = setup(2, 6);
        let mut f = next(&mut traffic);
        worker.rewrite(&mut f).unwrap();
        (traffic, f)
    }

    fn refix_tcp_checksum(f: &mut [u8]) {
        let (src, dst) = {
            let ip = ipv4::Packet::new_checked(&f[L3..]).unwrap();
            (ip.src_addr(), ip.dst_addr())
        };
        tcp::Packet::new_unchecked(&mut f[L4..]).fill_checksum(src, dst);
    }

    fn mismatch(traffic: &mut BaselineTraffic, f: &[u8]) -> Mismatch {
        let e = traffic.verify(f).expect_err("corrupt packet accepted");
        assert_eq!((e.packet, e.flow), (0, 0));
        e.mismatch
    }

    #[test]
    fn verifier_rejects_a_wrong_tcp_checksum() {
        let (mut traffic, mut f) = rewritten();
        f[L4 + 16] ^= 0x40;
        assert_eq!(mismatch(&mut traffic, &f), Mismatch::TcpChecksum);
        // A corrupted payload byte is caught by the full checksum too.
        let (mut traffic, mut f) = rewritten();
        let last = f.len() - 1;
        f[last] ^= 0x01;
        assert_eq!(mismatch(&mut traffic, &f), Mismatch::TcpChecksum);
    }

    #[test]
    fn verifier_rejects_a_wrong_ip_checksum() {
        let (mut traffic, mut f) = rewritten();
        f[L3 + 10] ^= 0x01;
        assert_eq!(mismatch(&mut traffic, &f), Mismatch::IpChecksum);
        // A TTL change with a consistent checksum is still a change.
        let (mut traffic, mut f) = rewritten();
        f[L3 + 8] -= 1;
        ipv4::Packet::new_unchecked(&mut f[L3..]).fill_checksum();
        assert_eq!(mismatch(&mut traffic, &f), Mismatch::IpHeader);
    }

    #[test]
    fn verifier_rejects_a_wrong_seq_even_with_a_valid_checksum() {
        let (mut traffic, mut f) = rewritten();
        let expected = view(&f).1.seq_number().0;
        tcp::Packet::new_unchecked(&mut f[L4..]).set_seq_number(SeqNumber(expected + 1));
        refix_tcp_checksum(&mut f);
        assert_eq!(
            mismatch(&mut traffic, &f),
            Mismatch::Seq {
                got: expected + 1,
                expected
            }
        );
    }

    #[test]
    fn verifier_rejects_a_wrong_ack_or_untranslated_seq() {
        let (mut traffic, mut f) = rewritten();
        let ack = view(&f).1.ack_number().0;
        tcp::Packet::new_unchecked(&mut f[L4..]).set_ack_number(SeqNumber(ack ^ 0x100));
        refix_tcp_checksum(&mut f);
        assert!(matches!(mismatch(&mut traffic, &f), Mismatch::Ack { .. }));
        // The client's own (untranslated) sequence number is not accepted either.
        let (mut traffic, mut f) = rewritten();
        let plan = FlowPlan::new(2).unwrap();
        tcp::Packet::new_unchecked(&mut f[L4..]).set_seq_number(plan.client(0).first_seq);
        refix_tcp_checksum(&mut f);
        assert!(matches!(mismatch(&mut traffic, &f), Mismatch::Seq { .. }));
    }

    #[test]
    fn verifier_rejects_a_wrong_port_even_with_a_valid_checksum() {
        let (mut traffic, mut f) = rewritten();
        let (sport, dport) = {
            let seg = view(&f).1;
            (seg.src_port(), seg.dst_port())
        };
        tcp::Packet::new_unchecked(&mut f[L4..]).set_dst_port(dport + 1);
        refix_tcp_checksum(&mut f);
        assert_eq!(
            mismatch(&mut traffic, &f),
            Mismatch::Ports {
                got: (sport, dport + 1),
                expected: (sport, dport)
            }
        );
        // An untranslated source port too.
        let (mut traffic, mut f) = rewritten();
        tcp::Packet::new_unchecked(&mut f[L4..]).set_src_port(1024);
        refix_tcp_checksum(&mut f);
        assert!(matches!(mismatch(&mut traffic, &f), Mismatch::Ports { .. }));
    }

    #[test]
    fn verifier_rejects_wrong_addresses_macs_length_and_payload() {
        let (mut traffic, mut f) = rewritten();
        ipv4::Packet::new_unchecked(&mut f[L3..]).set_dst_addr(Ipv4Addr::new(198, 19, 0, 11));
        ipv4::Packet::new_unchecked(&mut f[L3..]).fill_checksum();
        refix_tcp_checksum(&mut f);
        assert!(matches!(
            mismatch(&mut traffic, &f),
            Mismatch::Addresses { .. }
        ));

        let (mut traffic, mut f) = rewritten();
        f[0] ^= 0x02;
        assert_eq!(mismatch(&mut traffic, &f), Mismatch::Ethernet);

        let (mut traffic, f) = rewritten();
        assert_eq!(
            mismatch(&mut traffic, &f[..f.len() - 1]),
            Mismatch::Length {
                got: 59,
                expected: 60
            }
        );

        let (mut traffic, mut f) = rewritten();
        f[packet::PAYLOAD] = b'S';
        refix_tcp_checksum(&mut f);
        assert_eq!(mismatch(&mut traffic, &f), Mismatch::Payload);

        let (mut traffic, mut f) = rewritten();
        tcp::Packet::new_unchecked(&mut f[L4..]).set_window_len(WINDOW + 1);
        refix_tcp_checksum(&mut f);
        assert_eq!(mismatch(&mut traffic, &f), Mismatch::TcpHeader);
    }

    #[test]
    fn verifier_catches_a_lost_packet() {
        let (mut traffic, mut worker, _) = setup(1, 6);
        let mut a = next(&mut traffic);
        let mut b = next(&mut traffic);
        worker.rewrite(&mut a).unwrap();
        worker.rewrite(&mut b).unwrap();
        // `a` never comes back.
        assert!(matches!(
            traffic.verify(&b).unwrap_err().mismatch,
            Mismatch::Seq { .. }
        ));
    }

    #[test]
    fn a_failed_verification_does_not_advance() {
        let (mut traffic, f) = rewritten();
        let mut bad = f.clone();
        bad[L4 + 16] ^= 1;
        assert!(traffic.verify(&bad).is_err());
        traffic.verify(&f).unwrap();
        assert_eq!(traffic.returned(), 1);
    }

    #[test]
    fn worker_refuses_foreign_packets_unchanged() {
        let (mut traffic, mut worker, _) = setup(1, 6);
        let mut f = next(&mut traffic);
        tcp::Packet::new_unchecked(&mut f[L4..]).set_src_port(5000);
        let orig = f.clone();
        assert_eq!(worker.rewrite(&mut f), Err(Refused::UnknownFlow));
        assert_eq!(f, orig);
        f[12] = 0x86;
        assert_eq!(worker.rewrite(&mut f), Err(Refused::NotIpv4));
        assert_eq!(worker.rewrite(&mut f[..10]), Err(Refused::NotIpv4));
        let mut g = next(&mut traffic);
        g[L3 + 9] = ipv4::protocol::UDP;
        assert_eq!(
            worker.rewrite(&mut g),
            Err(Refused::Rewrite(rewrite::Error::NotTcp))
        );
    }

    #[test]
    fn every_injected_fault_is_caught() {
        for (fault, at) in [
            (Fault::Checksum, 3),
            (Fault::Seq, 0),
            (Fault::Port, 5),
            (Fault::Drop, 2),
        ] {
            let plan = FlowPlan::new(4).unwrap();
            let mut traffic = BaselineTraffic::new(&plan, 6, GEN, WRK);
            let mut worker = BareRewrite::new(&plan, WRK, GEN, Some((fault, at)));
            let mut caught = None;
            for _ in 0..20 {
                let mut f = next(&mut traffic);
                if worker.rewrite(&mut f).is_err() {
                    continue;
                }
                if let Err(e) = traffic.verify(&f) {
                    caught = Some(e);
                    break;
                }
            }
            let e = caught.unwrap_or_else(|| panic!("{fault:?} not caught"));
            // The faulty packet itself, or for a drop the one returned in its place.
            assert_eq!(e.packet, at, "{fault:?}: {e}");
        }
        assert_eq!("seq".parse::<Fault>(), Ok(Fault::Seq));
        assert!("nonsense".parse::<Fault>().is_err());
    }
}
