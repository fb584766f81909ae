//! The self-looped baseline (issue 12, item 4): the single-lcore rx → rewrite → tx loop
//! with no generator in the way, the ceiling the splice scenarios' worker cycles are
//! quoted against.
//!
//! The worker lcore polls a ring port whose transmit ring *is* its receive ring
//! (`Testbed::run_alone`): what it sends it receives again. [`SelfLoop::prime`] puts
//! `inflight` frames in once (client segments of distinct flows, 60 bytes with the
//! default payload); after that nothing is allocated, copied or generated. Each pass does
//! what a spliced segment needs on the worker, with the real rewrite code:
//! length-checked parse, flow lookup, [`rewrite::apply`] (addresses, ports, sequence
//! and acknowledgement numbers, both checksums updated incrementally), Ethernet
//! addresses. The frames alternate between the two legs of a splice:
//!
//! * a client segment of flow `j` becomes its server-leg segment (the table entry of the
//!   generator-fed `baseline`: `seq` and `ack` mapped by the splice's deltas);
//! * a server-leg segment of flow `j` becomes the *next* client segment of flow
//!   `j + inflight` (mod `--flows`): its addresses and ports, and that flow's next
//!   sequence number (advanced by the payload on every visit, the one per-flow write of
//!   the loop, as a splice advances its own). So the frames visit every flow in turn and
//!   the flow table's working set is `--flows` entries, as in the scenarios.
//!
//! Nothing verifies a frame inside the measured loop (there is no one to): after it,
//! [`SelfLoop::check`] takes every frame back from the ring and checks it completely
//! with the verifier's own arithmetic (both checksums in full, addresses, ports, the
//! exact sequence and acknowledgement numbers its flow's state says it must carry, the
//! payload), that no two frames hold the same flow, that none was lost, and that the
//! passes counted add up to the sequence numbers the flows advanced by.

use crate::baseline::{fold16, sum32};
use crate::packet::{self, field, SegmentSpec, L3, L4};
use crate::plan::{FlowPlan, WorkerEntry, VIP};
use crate::verify::Mismatch;
use splicer_pipeline::rewrite::{self, headers, Translation};
use splicer_wire::tcp::{self, SeqNumber};
use splicer_wire::{ethernet, ipv4, EthernetAddress};
use std::net::Ipv4Addr;

/// The window field of every frame.
const WINDOW: u16 = 502;

/// One flow of the loop: its splice (client → server leg), where its client segments
/// come from, and the sequence number of its next client segment.
#[derive(Debug, Clone, Copy)]
struct LoopFlow {
    up: WorkerEntry,
    client: (Ipv4Addr, u16),
    client_ack: SeqNumber,
    next_seq: u32,
    /// Client segments this flow was given (by [`SelfLoop::prime`] or a pass).
    visits: u64,
}

/// The self-looped worker: the flow table and the Ethernet addresses.
#[derive(Debug, Clone)]
pub struct SelfLoop {
    plan: FlowPlan,
    flows: Vec<LoopFlow>,
    inflight: u32,
    payload_len: usize,
    mac: EthernetAddress,
}

/// Which leg a frame of the loop is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leg {
    /// A client segment of the flow.
    Client(u32),
    /// A server-leg segment of the flow.
    Server(u32),
}

impl SelfLoop {
    /// A loop over every flow of `plan` with `inflight` frames (at most the flows) of
    /// `payload_len` bytes of payload, all sent from and to `mac`.
    pub fn new(plan: &FlowPlan, inflight: u32, payload_len: usize, mac: EthernetAddress) -> Self {
        let flows = (0..plan.flows())
            .map(|id| {
                let c = plan.client(id);
                LoopFlow {
                    up: plan.worker_entry(id),
                    client: c.src,
                    client_ack: c.ack,
                    next_seq: c.first_seq.0,
                    visits: 0,
                }
            })
            .collect();
        SelfLoop {
            plan: *plan,
            flows,
            inflight: inflight.clamp(1, plan.flows()),
            payload_len,
            mac,
        }
    }

    /// Frames in the loop.
    pub fn inflight(&self) -> u32 {
        self.inflight
    }

    /// Length of every frame of the loop.
    pub fn frame_len(&self) -> usize {
        packet::frame_len(self.payload_len)
    }

    /// Writes frame `i` (of [`SelfLoop::inflight`]) into `frame`: the first client
    /// segment of flow `i`.
    pub fn prime(&mut self, i: u32, frame: &mut [u8]) {
        let payload = packet::payload(self.payload_len);
        let f = &mut self.flows[i as usize];
        let built = packet::build_frame(&SegmentSpec {
            src_mac: self.mac,
            dst_mac: self.mac,
            src: f.client,
            dst: VIP,
            seq: SeqNumber(f.next_seq),
            ack: f.client_ack,
            flags: tcp::flags::ACK | tcp::flags::PSH,
            window: WINDOW,
            ident: 0,
            payload: &payload,
        });
        frame.copy_from_slice(&built);
        f.next_seq = f.next_seq.wrapping_add(self.payload_len as u32);
        f.visits += 1;
    }

    /// One pass of a frame through the worker: a client segment to its server leg, a
    /// server-leg segment to the next client segment of the flow `inflight` further on.
    /// `None` for a frame that is not one of the loop's (never, unless something is
    /// wrong: [`SelfLoop::check`] then finds it missing).
    #[inline]
    pub fn pass(&mut self, frame: &mut [u8]) -> Option<()> {
        let eth = ethernet::Frame::new_checked(&*frame).ok()?;
        if eth.ethertype() != ethernet::ethertype::IPV4 {
            return None;
        }
        let l3 = &mut frame[L3..];
        let (src_port, seq, ack) = {
            let seg = headers::tcp_segment(l3).ok()?;
            let ack = seg.ack().then(|| seg.ack_number());
            (seg.src_port(), seg.seq_number(), ack)
        };
        let src = ipv4::Packet::new_unchecked(&*l3).src_addr();
        let t = if let Some(id) = self.plan.flow_of_client((src, src_port)) {
            let e = &self.flows.get(id as usize)?.up;
            Translation {
                seq: Some(e.upstream.map(seq)),
                ack: ack.map(|a| e.ack.map(a)),
                ..e.translation
            }
        } else {
            let id = self.plan.flow_of_local((src, src_port))?;
            let next = self.next_flow(id);
            let f = self.flows.get_mut(next as usize)?;
            let seq = f.next_seq;
            f.next_seq = seq.wrapping_add(self.payload_len as u32);
            f.visits += 1;
            Translation {
                src: f.client,
                dst: VIP,
                seq: Some(SeqNumber(seq)),
                ack: Some(f.client_ack),
                window: None,
            }
        };
        rewrite::apply(l3, &t).ok()?;
        let mut eth = ethernet::Frame::new_unchecked(&mut *frame);
        eth.set_dst_addr(self.mac);
        eth.set_src_addr(self.mac);
        Some(())
    }

    fn next_flow(&self, id: u32) -> u32 {
        let n = self.plan.flows();
        ((u64::from(id) + u64::from(self.inflight)) % u64::from(n)) as u32
    }

    /// Checks one frame taken out of the loop completely and says which leg of which
    /// flow it is: both checksums in full (the verifier's arithmetic), every fixed
    /// field, the leg's addresses and ports, and the exact sequence and acknowledgement
    /// numbers the flow's state says its latest segment carries.
    pub fn check_frame(&self, frame: &[u8]) -> Result<Leg, Mismatch> {
        let len = self.frame_len();
        if frame.len() != len {
            return Err(Mismatch::Length {
                got: frame.len(),
                expected: len,
            });
        }
        if frame[..6] != self.mac.0 || frame[6..12] != self.mac.0 || frame[12..14] != [8, 0] {
            return Err(Mismatch::Ethernet);
        }
        if fold16(sum32(&frame[L3..L4])) != 0xffff {
            return Err(Mismatch::IpChecksum);
        }
        let pseudo = sum32(&frame[field::IP_ADDRS])
            + u64::from(ipv4::protocol::TCP)
            + (frame.len() - L4) as u64;
        if fold16(pseudo + sum32(&frame[L4..])) != 0xffff {
            return Err(Mismatch::TcpChecksum);
        }
        let ip = ipv4::Packet::new_checked(&frame[L3..]).map_err(Mismatch::Malformed)?;
        let seg = tcp::Packet::new_checked(&frame[L4..]).map_err(Mismatch::Malformed)?;
        let src = (ip.src_addr(), seg.src_port());
        let dst = (ip.dst_addr(), seg.dst_port());
        let (leg, want_dst, want_seq, want_ack) = if let Some(id) = self.plan.flow_of_client(src) {
            let f = &self.flows[id as usize];
            let last = SeqNumber(f.next_seq.wrapping_sub(self.payload_len as u32));
            (Leg::Client(id), VIP, last, f.client_ack)
        } else if let Some(id) = self.plan.flow_of_local(src) {
            let f = &self.flows[id as usize];
            let last = SeqNumber(f.next_seq.wrapping_sub(self.payload_len as u32));
            (
                Leg::Server(id),
                self.plan.server(id).dst,
                self.plan.expected_seq(id, last),
                self.plan.expected_ack(id, f.client_ack),
            )
        } else {
            return Err(Mismatch::Unexpected("a frame of no flow in the loop"));
        };
        if dst != want_dst {
            return Err(Mismatch::Ports {
                got: (src.1, dst.1),
                expected: (src.1, want_dst.1),
            });
        }
        if seg.seq_number() != want_seq {
            return Err(Mismatch::Seq {
                got: seg.seq_number().0,
                expected: want_seq.0,
            });
        }
        if seg.ack_number() != want_ack {
            return Err(Mismatch::Ack {
                got: seg.ack_number().0,
                expected: want_ack.0,
            });
        }
        let fixed = ip.ttl() == 64
            && ip.dont_frag()
            && usize::from(ip.total_len()) == len - L3
            && seg.header_len() == 20
            && seg.window_len() == WINDOW
            && u8::from(seg.ack()) + u8::from(seg.psh()) == 2
            && !seg.syn()
            && !seg.fin()
            && !seg.rst();
        if !fixed {
            return Err(Mismatch::TcpHeader);
        }
        if frame[packet::PAYLOAD..] != packet::payload(self.payload_len)[..] {
            return Err(Mismatch::Payload);
        }
        Ok(leg)
    }

    /// Checks every frame taken back out of the loop after `passes` passes: each
    /// verified ([`SelfLoop::check_frame`]), `inflight` of them, no two of the same
    /// flow, and the passes accounted for: every client segment a flow was given after
    /// priming is one server-to-client pass, and each frame on its server leg one more.
    pub fn check(&self, frames: &[&[u8]], passes: u64) -> Result<(), String> {
        if frames.len() != self.inflight as usize {
            return Err(format!(
                "{} frames came out of the loop, {} went in",
                frames.len(),
                self.inflight
            ));
        }
        let mut seen = vec![false; self.flows.len()];
        let mut on_server = 0u64;
        for (i, f) in frames.iter().enumerate() {
            let leg = self
                .check_frame(f)
                .map_err(|m| format!("frame {i} out of the loop: {m}"))?;
            let id = match leg {
                Leg::Client(id) => id,
                Leg::Server(id) => {
                    on_server += 1;
                    id
                }
            };
            if std::mem::replace(&mut seen[id as usize], true) {
                return Err(format!("two frames of flow {id} in the loop"));
            }
        }
        let given: u64 = self.flows.iter().map(|f| f.visits).sum();
        let back = given - u64::from(self.inflight);
        if 2 * back + on_server != passes {
            return Err(format!(
                "{passes} passes counted, but the flows' sequence numbers account for {}",
                2 * back + on_server
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 0x0c]);

    /// The loop without DPDK: `inflight` frames in a queue, `passes` passes.
    fn run(flows: u32, inflight: u32, passes: u64) -> (SelfLoop, Vec<Vec<u8>>) {
        let plan = FlowPlan::new(flows).unwrap();
        let mut l = SelfLoop::new(&plan, inflight, 6, MAC);
        let mut ring: std::collections::VecDeque<Vec<u8>> = (0..l.inflight())
            .map(|i| {
                let mut f = vec![0; l.frame_len()];
                l.prime(i, &mut f);
                f
            })
            .collect();
        for _ in 0..passes {
            let mut f = ring.pop_front().unwrap();
            l.pass(&mut f).unwrap();
            ring.push_back(f);
        }
        (l, ring.into())
    }

    fn views(frames: &[Vec<u8>]) -> Vec<&[u8]> {
        frames.iter().map(|f| &f[..]).collect()
    }

    #[test]
    fn frames_alternate_legs_visit_every_flow_and_check_out() {
        for (flows, inflight, passes) in [(10, 4, 1001), (1000, 64, 10_000), (5, 5, 17)] {
            let (l, frames) = run(flows, inflight, passes);
            l.check(&views(&frames), passes)
                .unwrap_or_else(|e| panic!("{flows}/{inflight}: {e}"));
            // Every flow was given client segments (the frames rotate over them all).
            assert!(l.flows.iter().all(|f| f.visits > 0), "{flows}/{inflight}");
        }
    }

    #[test]
    fn a_server_leg_segment_is_what_the_splice_promises() {
        let (l, frames) = run(100, 8, 3);
        // After 3 passes the first three frames are on their server legs.
        let server = frames
            .iter()
            .filter(|f| matches!(l.check_frame(f), Ok(Leg::Server(_))));
        assert_eq!(server.count(), 3);
    }

    #[test]
    fn the_check_catches_what_a_wrong_loop_would_do() {
        let passes = 500;
        let (l, frames) = run(50, 8, passes);
        assert!(l.check(&views(&frames), passes).is_ok());
        // A wrong pass count, a lost frame, a duplicated one.
        assert!(l.check(&views(&frames), passes + 1).is_err());
        assert!(l.check(&views(&frames[1..]), passes).is_err());
        let mut dup = frames.clone();
        dup[1] = dup[0].clone();
        assert!(l.check(&views(&dup), passes).is_err());
        // A flipped bit anywhere (checksums), a sequence number one off (checksum
        // refixed by hand), a wrong port.
        for at in [20, 30, 36, 40, 58] {
            let mut bad = frames.clone();
            bad[2][at] ^= 0x10;
            assert!(l.check(&views(&bad), passes).is_err(), "byte {at}");
        }
        let mut bad = frames.clone();
        {
            let f = &mut bad[3];
            let (src, dst) = {
                let ip = ipv4::Packet::new_unchecked(&f[L3..]);
                (ip.src_addr(), ip.dst_addr())
            };
            let mut t = tcp::Packet::new_unchecked(&mut f[L4..]);
            let s = t.seq_number();
            t.set_seq_number(s + 1);
            t.fill_checksum(src, dst);
        }
        assert!(matches!(l.check_frame(&bad[3]), Err(Mismatch::Seq { .. })));
    }
}
