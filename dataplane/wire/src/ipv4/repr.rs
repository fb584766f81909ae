//! The parse/emit layer over the IPv4 header view: [`Ipv4Repr`].
//!
//! Splicer originates IPv4 packets of one shape only (20-byte header, DSCP and ECN
//! 0, don't-fragment set, never fragmented), so the value holds just the fields that
//! vary: addresses, protocol, payload length, TTL and identification. Parsing keeps
//! those and checks the rest once, in the order the drop counters need.

use super::{emit_header, Packet, HEADER_LEN};
use crate::{ChecksumPolicy, ParseError};
use std::net::Ipv4Addr;

/// Largest payload beside a 20-byte header: the total length field is 16 bits.
pub const MAX_PAYLOAD_LEN: usize = u16::MAX as usize - HEADER_LEN;

/// An IPv4 header as a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Repr {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Protocol of the payload, see [`protocol`](super::protocol).
    pub protocol: u8,
    /// Payload length in bytes: total length less header length.
    pub payload_len: usize,
    /// Time to live.
    pub ttl: u8,
    /// Identification.
    pub ident: u16,
}

impl Ipv4Repr {
    /// Reads a packet's header. The packet need not have been checked; the checks
    /// run in the order Splicer counts drops by:
    ///
    /// 1. [`Packet::check_len`]: [`ParseError::Truncated`] or
    ///    [`ParseError::Malformed`] (version, header or total length);
    /// 2. under [`ChecksumPolicy::Verify`], the header checksum:
    ///    [`ParseError::BadChecksum`];
    /// 3. fragmentation: [`ParseError::Fragment`] for any fragment, the first
    ///    included.
    ///
    /// Header options, DSCP, ECN and the don't-fragment flag are accepted and not
    /// represented. The payload is [`Packet::payload`]: Ethernet padding after the
    /// total length is not counted.
    pub fn parse<T: AsRef<[u8]>>(
        packet: &Packet<T>,
        checksum: ChecksumPolicy,
    ) -> Result<Ipv4Repr, ParseError> {
        packet.check_len()?;
        if checksum == ChecksumPolicy::Verify && !packet.verify_checksum() {
            return Err(ParseError::BadChecksum);
        }
        if packet.is_fragment() {
            return Err(ParseError::Fragment);
        }
        Ok(Ipv4Repr {
            src: packet.src_addr(),
            dst: packet.dst_addr(),
            protocol: packet.protocol(),
            payload_len: usize::from(packet.total_len()) - packet.header_len(),
            ttl: packet.ttl(),
            ident: packet.ident(),
        })
    }

    /// Header length `emit` writes: always [`HEADER_LEN`], there are no options.
    #[inline]
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// Header and payload length: the total length field `emit` writes.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    /// Writes the 20-byte header at the start of `packet`, checksum filled: version 4,
    /// no options, DSCP and ECN 0, don't-fragment set (Splicer does not fragment, and
    /// DF makes path MTU discovery work). The same bytes as
    /// [`emit_header`] for the same values. The payload is left to the caller.
    ///
    /// # Panics
    ///
    /// If the buffer is shorter than [`HEADER_LEN`], or `payload_len` exceeds
    /// [`MAX_PAYLOAD_LEN`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        assert!(
            self.payload_len <= MAX_PAYLOAD_LEN,
            "IPv4 payload of {} bytes",
            self.payload_len
        );
        emit_header(
            packet.buffer.as_mut(),
            self.src,
            self.dst,
            self.protocol,
            self.payload_len as u16,
            self.ttl,
            self.ident,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipv4::protocol;
    use crate::testutil::hex;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// `ping -s 24 127.0.0.1` on Linux, as captured on lo after the Ethernet header.
    const ECHO_REQUEST: &str = "4500 0034 9977 4000 4001 a34f 7f00 0001 7f00
                                0001 0800 50c5 1e51 0001 3f59 046b 0000
                                0000 f3d3 0500 0000 0000 1011 1213 1415
                                1617";

    fn parse(b: &[u8]) -> Result<Ipv4Repr, ParseError> {
        Ipv4Repr::parse(&Packet::new_unchecked(b), ChecksumPolicy::Verify)
    }

    fn random_repr(rng: &mut StdRng) -> Ipv4Repr {
        Ipv4Repr {
            src: Ipv4Addr::from(rng.gen::<u32>()),
            dst: Ipv4Addr::from(rng.gen::<u32>()),
            protocol: rng.gen(),
            payload_len: if rng.gen_bool(0.1) {
                MAX_PAYLOAD_LEN
            } else {
                rng.gen_range(0..1500)
            },
            ttl: rng.gen(),
            ident: rng.gen(),
        }
    }

    #[test]
    fn parses_captured_header_and_emits_it_back() {
        let b = hex(ECHO_REQUEST);
        let r = parse(&b).unwrap();
        let lo = Ipv4Addr::LOCALHOST;
        assert_eq!(
            r,
            Ipv4Repr {
                src: lo,
                dst: lo,
                protocol: protocol::ICMP,
                payload_len: 32,
                ttl: 64,
                ident: 0x9977,
            }
        );
        assert_eq!((r.header_len(), r.buffer_len()), (20, 52));
        let mut out = [0xa5u8; 24];
        r.emit(&mut Packet::new_unchecked(&mut out[..]));
        assert_eq!(out[..20], b[..20], "the kernel's bytes");
        assert_eq!(out[20..], [0xa5; 4], "emit writes only the header");
    }

    #[test]
    fn emit_is_byte_identical_to_emit_header() {
        let mut rng = StdRng::seed_from_u64(21);
        for _ in 0..2000 {
            let r = random_repr(&mut rng);
            let mut old = [0x5au8; HEADER_LEN];
            emit_header(
                &mut old,
                r.src,
                r.dst,
                r.protocol,
                r.payload_len as u16,
                r.ttl,
                r.ident,
            );
            let mut new = [0xa5u8; HEADER_LEN];
            r.emit(&mut Packet::new_unchecked(&mut new[..]));
            assert_eq!(new, old, "{r:?}");
        }
    }

    #[test]
    fn random_reprs_round_trip() {
        let mut rng = StdRng::seed_from_u64(22);
        for _ in 0..500 {
            let r = random_repr(&mut rng);
            // Ethernet may pad past the total length; the padding is not payload.
            let pad = rng.gen_range(0..8);
            let mut b = vec![0u8; r.buffer_len() + pad];
            r.emit(&mut Packet::new_unchecked(&mut b[..]));
            let p = Packet::new_checked(&b[..]).unwrap();
            assert!(p.verify_checksum() && p.dont_frag());
            assert_eq!(p.payload().len(), r.payload_len);
            assert_eq!(parse(&b), Ok(r));
        }
    }

    #[test]
    fn parse_accepts_options_and_clear_df() {
        let r = Ipv4Repr {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(10, 0, 0, 2),
            protocol: protocol::UDP,
            payload_len: 4,
            ttl: 1,
            ident: 9,
        };
        // A 24-byte header with a router-alert option, DF clear, DSCP set.
        let mut b = vec![0u8; 28];
        let mut p = Packet::new_unchecked(&mut b[..]);
        r.emit(&mut p);
        p.set_header_len(24);
        p.set_total_len(28);
        p.set_dont_frag(false);
        p.set_dscp(46);
        p.options_mut().copy_from_slice(&[0x94, 0x04, 0, 0]);
        p.fill_checksum();
        assert_eq!(parse(&b), Ok(r));
    }

    #[test]
    fn parse_rejects_bad_headers() {
        let good = hex(ECHO_REQUEST);
        let with = |at: usize, v: &[u8], refill: bool| {
            let mut b = good.clone();
            b[at..at + v.len()].copy_from_slice(v);
            if refill {
                let mut p = Packet::new_unchecked(&mut b[..]);
                p.set_checksum(0);
                let c = crate::checksum::data(&p.as_ref()[..20]);
                p.set_checksum(c);
            }
            b
        };
        assert_eq!(parse(&[]), Err(ParseError::Truncated));
        assert_eq!(parse(&good[..19]), Err(ParseError::Truncated));
        assert_eq!(
            parse(&good[..51]),
            Err(ParseError::Truncated),
            "payload cut"
        );
        assert_eq!(
            parse(&with(0, &[0x65], true)),
            Err(ParseError::Malformed),
            "version 6"
        );
        assert_eq!(
            parse(&with(0, &[0x44], true)),
            Err(ParseError::Malformed),
            "ihl 4"
        );
        assert_eq!(
            parse(&with(2, &[0, 19], true)),
            Err(ParseError::Malformed),
            "total < header"
        );

        // Checksum: a changed TTL without refilling it.
        let bad = with(8, &[63], false);
        assert_eq!(parse(&bad), Err(ParseError::BadChecksum));
        let skipped = Ipv4Repr::parse(&Packet::new_unchecked(&bad[..]), ChecksumPolicy::Skip);
        assert_eq!(skipped.map(|r| r.ttl), Ok(63));

        // Fragments: more-fragments, an offset, or both; checksum errors come first.
        for ff in [[0x20, 0x00], [0x00, 0x01], [0x60, 0x10]] {
            assert_eq!(
                parse(&with(6, &ff, true)),
                Err(ParseError::Fragment),
                "{ff:?}"
            );
            assert_eq!(parse(&with(6, &ff, false)), Err(ParseError::BadChecksum));
        }
    }

    #[test]
    #[should_panic(expected = "IPv4 payload of 65516 bytes")]
    fn emit_refuses_an_oversized_payload() {
        let mut r = random_repr(&mut StdRng::seed_from_u64(23));
        r.payload_len = MAX_PAYLOAD_LEN + 1;
        r.emit(&mut Packet::new_unchecked(&mut [0u8; 20][..]));
    }
}
