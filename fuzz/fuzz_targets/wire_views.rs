//! The header views of splicer-wire on arbitrary bytes: Ethernet, ARP, IPv4, ICMPv4,
//! TCP and UDP, read at every layer the bytes could be, plus the checksum arithmetic.
//!
//! Checks: `new_checked` succeeding means no getter or payload accessor panics; a
//! checksum filled in verifies; an RFC 1624 incremental update of a rewritten field
//! gives the checksum a full recomputation gives; the summing shortcuts agree with a
//! textbook RFC 1071 sum; text forms of addresses and prefixes round-trip.

#![no_main]

use libfuzzer_sys::fuzz_target;
use splicer_wire::ipv4::Cidr;
use splicer_wire::{arp, checksum, ethernet, icmpv4, ipv4, tcp, udp, EthernetAddress};
use std::net::Ipv4Addr;

fuzz_target!(|data: &[u8]| {
    eth_frame(data);
    ip_packet(data);
    tcp_segment(data, addrs(data));
    udp_datagram(data, addrs(data));
    icmp_message(data);
    arp_packet(data);
    checksums(data);
    text_forms(data);
});

/// Pseudo-header addresses taken from the input, so that they vary too.
fn addrs(data: &[u8]) -> (Ipv4Addr, Ipv4Addr) {
    let mut a = [0u8; 8];
    for (d, s) in a.iter_mut().zip(data.iter().rev()) {
        *d = *s;
    }
    (
        Ipv4Addr::new(a[0], a[1], a[2], a[3]),
        Ipv4Addr::new(a[4], a[5], a[6], a[7]),
    )
}

fn eth_frame(data: &[u8]) {
    let Ok(f) = ethernet::Frame::new_checked(data) else {
        assert!(data.len() < ethernet::HEADER_LEN);
        return;
    };
    let _ = (f.dst_addr(), f.src_addr(), f.dst_addr().is_unicast());
    let payload = f.payload();
    assert_eq!(payload.len(), data.len() - ethernet::HEADER_LEN);
    match f.ethertype() {
        ethernet::ethertype::IPV4 => ip_packet(payload),
        ethernet::ethertype::ARP => arp_packet(payload),
        _ => {}
    }
}

fn ip_packet(data: &[u8]) {
    let Ok(p) = ipv4::Packet::new_checked(data) else {
        return;
    };
    let total = usize::from(p.total_len());
    assert!(p.header_len() >= ipv4::HEADER_LEN && p.header_len() <= total && total <= data.len());
    let _ = (p.dscp(), p.ecn(), p.ident(), p.dont_frag(), p.more_frags());
    let _ = (p.frag_offset(), p.is_fragment(), p.ttl(), p.checksum());
    assert_eq!(p.options().len(), p.header_len() - ipv4::HEADER_LEN);
    assert_eq!(p.payload().len(), total - p.header_len());
    let (src, dst, proto) = (p.src_addr(), p.dst_addr(), p.protocol());
    let header_ok = p.verify_checksum();

    // Filling the checksum makes it verify, and leaves a correct one as it was.
    let mut copy = data.to_vec();
    let mut q = ipv4::Packet::new_checked(&mut copy[..]).expect("same bytes");
    let before = q.checksum();
    q.fill_checksum();
    assert!(q.verify_checksum());
    if header_ok {
        // Two encodings of zero (0x0000, 0xffff) both verify; fill picks one.
        assert!(same_checksum(q.checksum(), before));
    }
    // Rewriting the addresses with the incremental update keeps it correct.
    let new_src = Ipv4Addr::from(u32::from(src).rotate_left(7) ^ 0x5a5a_5a5a);
    let c = checksum::update32(q.checksum(), u32::from(src), u32::from(new_src));
    q.set_src_addr(new_src);
    q.set_checksum(c);
    assert!(q.verify_checksum(), "incremental IPv4 address update");
    // Setters that do not touch a length keep the view valid.
    q.set_ttl(q.ttl().wrapping_sub(1));
    q.set_dont_frag(true);
    q.set_frag_offset(0);
    q.check_len().expect("setters outside the lengths");

    let payload = p.payload();
    match proto {
        ipv4::protocol::TCP => tcp_segment(payload, (src, dst)),
        ipv4::protocol::UDP => udp_datagram(payload, (src, dst)),
        ipv4::protocol::ICMP => icmp_message(payload),
        _ => {}
    }
}

fn tcp_segment(data: &[u8], (src, dst): (Ipv4Addr, Ipv4Addr)) {
    // A TCP segment inside IPv4 is at most 65 515 bytes; longer buffers are not
    // segments the pipeline can see.
    if data.len() > 65_515 {
        return;
    }
    let Ok(t) = tcp::Packet::new_checked(data) else {
        return;
    };
    let _ = (t.src_port(), t.dst_port(), t.seq_number(), t.ack_number());
    let _ = (
        t.flags(),
        t.fin(),
        t.syn(),
        t.rst(),
        t.psh(),
        t.ack(),
        t.urg(),
    );
    let _ = (t.ece(), t.cwr(), t.window_len(), t.urgent_at());
    assert_eq!(t.options().len() + tcp::HEADER_LEN, t.header_len());
    assert_eq!(
        t.options().len() + t.payload().len() + tcp::HEADER_LEN,
        data.len()
    );
    assert_eq!(
        t.segment_len(),
        t.payload().len() + usize::from(t.syn()) + usize::from(t.fin())
    );
    for o in tcp::options(t.options()) {
        if o.is_err() {
            break;
        }
    }
    let _ = t.verify_checksum(src, dst);

    let mut copy = data.to_vec();
    let mut m = tcp::Packet::new_checked(&mut copy[..]).expect("same bytes");
    m.fill_checksum(src, dst);
    assert!(m.verify_checksum(src, dst));
    // What the splice does to every segment: new ports, sequence and acknowledgement
    // numbers, window, with incremental checksum updates.
    let (sp, seq, ack, win) = (m.src_port(), m.seq_number(), m.ack_number(), m.window_len());
    let nsp = sp.rotate_left(3) ^ 0x1234;
    let nseq = seq + 0x0101_0101usize;
    let nack = tcp::SeqNumber(ack.0.wrapping_sub(0x00ff_ff01));
    let nwin = win.wrapping_mul(3);
    let mut c = m.checksum();
    c = checksum::update16(c, sp, nsp);
    c = checksum::update32(c, seq.0, nseq.0);
    c = checksum::update32(c, ack.0, nack.0);
    c = checksum::update16(c, win, nwin);
    // The batched form gives the same checksum as the chain.
    let change = u64::from(!sp)
        + u64::from(nsp)
        + u64::from(!(seq.0 >> 16) as u16)
        + u64::from(!(seq.0 as u16))
        + u64::from(nseq.0 >> 16)
        + u64::from(nseq.0 & 0xffff)
        + u64::from(!(ack.0 >> 16) as u16)
        + u64::from(!(ack.0 as u16))
        + u64::from(nack.0 >> 16)
        + u64::from(nack.0 & 0xffff)
        + u64::from(!win)
        + u64::from(nwin);
    assert_eq!(
        checksum::update_sum(m.checksum(), change),
        c,
        "update_sum vs chain"
    );
    m.set_src_port(nsp);
    m.set_seq_number(nseq);
    m.set_ack_number(nack);
    m.set_window_len(nwin);
    m.set_checksum(c);
    assert!(m.verify_checksum(src, dst), "incremental TCP rewrite");
    // Flag setters leave everything else alone.
    let hl = m.header_len();
    m.set_fin(!m.fin());
    m.set_cwr(true);
    assert_eq!(m.header_len(), hl);
    m.check_len().expect("flags do not change lengths");
}

fn udp_datagram(data: &[u8], (src, dst): (Ipv4Addr, Ipv4Addr)) {
    let Ok(u) = udp::Packet::new_checked(data) else {
        return;
    };
    let _ = (u.src_port(), u.dst_port(), u.checksum());
    assert_eq!(u.payload().len() + udp::HEADER_LEN, usize::from(u.len()));
    let _ = u.verify_checksum(src, dst);
    let mut copy = data.to_vec();
    let mut m = udp::Packet::new_checked(&mut copy[..]).expect("same bytes");
    m.fill_checksum(src, dst);
    assert_ne!(m.checksum(), 0, "a filled UDP checksum is never 0");
    assert!(m.verify_checksum(src, dst));
}

fn icmp_message(data: &[u8]) {
    let Ok(i) = icmpv4::Packet::new_checked(data) else {
        return;
    };
    let _ = (i.msg_type(), i.msg_code(), i.echo_ident(), i.echo_seq_no());
    assert_eq!(i.data().len() + icmpv4::HEADER_LEN, data.len());
    let _ = i.verify_checksum();
    let mut copy = data.to_vec();
    let mut m = icmpv4::Packet::new_checked(&mut copy[..]).expect("same bytes");
    // An echo request answered in place: type changed, checksum refilled.
    m.set_msg_type(icmpv4::msg_type::ECHO_REPLY);
    m.fill_checksum();
    assert!(m.verify_checksum());
}

fn arp_packet(data: &[u8]) {
    let Ok(a) = arp::Packet::new_checked(data) else {
        return;
    };
    assert_eq!(a.hardware_type(), arp::HTYPE_ETHERNET);
    let _ = (
        a.operation(),
        a.source_hardware_addr(),
        a.source_protocol_addr(),
    );
    let _ = (a.target_hardware_addr(), a.target_protocol_addr());
    // The reply Splicer would build from it parses back to the same fields.
    let mut reply = [0u8; arp::PACKET_LEN];
    let ours = EthernetAddress([2, 0, 0, 0, 0, 1]);
    arp::emit(
        &mut reply,
        arp::operation::REPLY,
        ours,
        a.target_protocol_addr(),
        a.source_hardware_addr(),
        a.source_protocol_addr(),
    );
    let r = arp::Packet::new_checked(&reply[..]).expect("emitted ARP parses");
    assert_eq!(r.operation(), arp::operation::REPLY);
    assert_eq!(r.source_hardware_addr(), ours);
    assert_eq!(r.source_protocol_addr(), a.target_protocol_addr());
    assert_eq!(r.target_hardware_addr(), a.source_hardware_addr());
    assert_eq!(r.target_protocol_addr(), a.source_protocol_addr());
}

/// Equal as ones-complement numbers: 0x0000 and 0xffff are both zero.
fn same_checksum(a: u16, b: u16) -> bool {
    a == b || (a.min(b) == 0 && a.max(b) == 0xffff)
}

/// Textbook RFC 1071: 16-bit words, folded at the end.
fn naive_sum(data: &[u8]) -> u32 {
    let mut s: u64 = 0;
    for c in data.chunks(2) {
        let w = u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]);
        s += u64::from(w);
    }
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u32
}

fn checksums(data: &[u8]) {
    let s = checksum::sum(data);
    assert!(s <= 0xffff);
    assert_eq!(
        checksum::fold(s),
        checksum::fold(naive_sum(data)),
        "sum differs from RFC 1071"
    );
    // Splitting at an even offset and adding the partial sums gives the same result.
    let mid = (data.len() / 2) & !1;
    let split = checksum::sum(&data[..mid]) + checksum::sum(&data[mid..]);
    assert_eq!(checksum::fold(split), checksum::fold(s));
    // A 16-bit word rewritten in place: the incremental update and a recomputation
    // agree, up to the two ones-complement encodings of zero.
    if data.len() >= 4 {
        let mut d = data.to_vec();
        let c = checksum::data(&d);
        let old = u16::from_be_bytes([d[0], d[1]]);
        let new = old ^ u16::from_be_bytes([d[2], d[3]]) ^ 0xa5c3;
        d[..2].copy_from_slice(&new.to_be_bytes());
        let full = checksum::data(&d);
        let inc = checksum::update16(c, old, new);
        assert!(
            same_checksum(inc, full),
            "update16 {inc:#06x} vs recomputed {full:#06x}"
        );
        let run = [d[0], d[1], d[2], d[3]];
        let inc2 = checksum::update_bytes(inc, &run, &[d[2], d[3], d[0], d[1]]);
        d[..4].copy_from_slice(&[run[2], run[3], run[0], run[1]]);
        let full2 = checksum::data(&d);
        assert!(
            same_checksum(inc2, full2),
            "update_bytes {inc2:#06x} vs recomputed {full2:#06x}"
        );
    }
    let mut wide: u64 = 0;
    for c in data.chunks(8) {
        let mut w = [0u8; 8];
        w[..c.len()].copy_from_slice(c);
        wide = wide.wrapping_add(u64::from(u32::from_be_bytes([w[0], w[1], w[2], w[3]])));
    }
    let _ = checksum::fold64(wide);
}

fn text_forms(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(mac) = s.parse::<EthernetAddress>() {
        let again: EthernetAddress = mac.to_string().parse().expect("a MAC's text parses");
        assert_eq!(again, mac);
    }
    if let Ok(c) = s.parse::<Cidr>() {
        assert!(c.prefix_len <= 32);
        assert!(c.contains(c.addr));
        let again: Cidr = format!("{}/{}", c.addr, c.prefix_len)
            .parse()
            .expect("re-parse");
        assert_eq!(again, c);
        let _ = c.netmask();
    }
}
