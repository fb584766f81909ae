//! ICMP echo responder for port addresses and VIPs.

use crate::counters::Counter;
use crate::packet::{PacketBuf, Sink};
use crate::parse::{Ipv4Meta, L3_OFFSET};
use crate::pipeline::Pipeline;
use splicer_wire::{checksum, icmpv4, ipv4};

/// TTL of the packets Splicer originates (Linux's default).
pub const TTL: u8 = 64;

impl<P: PacketBuf> Pipeline<P> {
    /// Answers an ICMP echo request addressed to one of our addresses, in place.
    pub(crate) fn icmp<S: Sink<P>>(
        &mut self,
        port: u16,
        meta: Ipv4Meta,
        mut pkt: P,
        now: u64,
        sink: &mut S,
    ) {
        let data = pkt.data_mut();
        {
            let Ok(mut icmp) = icmpv4::Packet::new_checked(&mut data[meta.l4_range()]) else {
                return self.drop(port, Counter::DropTruncated, pkt, sink);
            };
            if !icmp.verify_checksum() {
                return self.drop(port, Counter::DropBadIcmpChecksum, pkt, sink);
            }
            if icmp.msg_type() != icmpv4::msg_type::ECHO_REQUEST {
                return self.drop(port, Counter::DropUnsupportedIcmp, pkt, sink);
            }
            // Only the type changes, so the checksum is updated, not recomputed over a
            // payload that may be large.
            let code = u16::from(icmp.msg_code());
            let old = u16::from(icmpv4::msg_type::ECHO_REQUEST) << 8 | code;
            let new = u16::from(icmpv4::msg_type::ECHO_REPLY) << 8 | code;
            let sum = checksum::update16(icmp.checksum(), old, new);
            icmp.set_msg_type(icmpv4::msg_type::ECHO_REPLY);
            icmp.set_checksum(sum);
        }
        {
            // Swapping the addresses leaves the header sum unchanged; only the TTL word moves.
            let mut ip = ipv4::Packet::new_unchecked(&mut data[L3_OFFSET..]);
            ip.set_src_addr(meta.dst);
            ip.set_dst_addr(meta.src);
            let proto = u16::from(meta.protocol);
            let old = u16::from(ip.ttl()) << 8 | proto;
            let new = u16::from(TTL) << 8 | proto;
            let sum = checksum::update16(ip.checksum(), old, new);
            ip.set_ttl(TTL);
            ip.set_checksum(sum);
        }
        self.counters.inc(port, Counter::IcmpEchoReplies);
        self.send_ipv4(port, pkt, meta.src, now, sink);
    }
}
