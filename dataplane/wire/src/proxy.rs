//! The PROXY protocol version 2 header (HAProxy's "PROXY protocol", section 2.2): the
//! binary preamble a proxy writes at the start of a server connection to tell the
//! server the original client's and destination's addresses. Splicer writes the
//! `PROXY` command for TCP over IPv4 only: 16 bytes of fixed header and 12 of
//! addresses, no TLVs.

use crate::{Error, Result};
use std::net::{Ipv4Addr, SocketAddrV4};

/// The 12 bytes every version 2 header starts with.
pub const SIGNATURE: [u8; 12] = *b"\r\n\r\n\x00\r\nQUIT\n";
/// Length of the header Splicer writes: 16 bytes fixed, 12 bytes of IPv4 addresses.
pub const IPV4_LEN: usize = 16 + 12;

/// Version 2 (high nibble), command `PROXY` (low nibble 1).
const VERSION_COMMAND_PROXY: u8 = 0x21;
/// Address family `AF_INET` (high nibble 1), transport `STREAM` (low nibble 1).
const FAMILY_TCP4: u8 = 0x11;

/// A `PROXY` command for a TCP connection over IPv4: who connected (`source`) to what
/// (`destination`, the virtual's address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyV2Repr {
    /// The client's address and port.
    pub source: SocketAddrV4,
    /// The address and port the client connected to.
    pub destination: SocketAddrV4,
}

impl ProxyV2Repr {
    /// Appends the header's [`IPV4_LEN`] bytes to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&SIGNATURE);
        out.push(VERSION_COMMAND_PROXY);
        out.push(FAMILY_TCP4);
        out.extend_from_slice(&12u16.to_be_bytes());
        out.extend_from_slice(&self.source.ip().octets());
        out.extend_from_slice(&self.destination.ip().octets());
        out.extend_from_slice(&self.source.port().to_be_bytes());
        out.extend_from_slice(&self.destination.port().to_be_bytes());
    }

    /// Reads a `PROXY` TCP-over-IPv4 header at the start of `buf`; returns it and the
    /// header's whole length (TLVs after the addresses are skipped). Anything else (a
    /// `LOCAL` command, another family, version 1's text) is [`Error::Malformed`].
    pub fn parse(buf: &[u8]) -> Result<(ProxyV2Repr, usize)> {
        if buf.len() < 16 {
            return Err(Error::Truncated);
        }
        if buf[..12] != SIGNATURE || buf[12] != VERSION_COMMAND_PROXY || buf[13] != FAMILY_TCP4 {
            return Err(Error::Malformed);
        }
        let len = usize::from(u16::from_be_bytes([buf[14], buf[15]]));
        if len < 12 {
            return Err(Error::Malformed);
        }
        if buf.len() < 16 + len {
            return Err(Error::Truncated);
        }
        let a = &buf[16..28];
        let ip = |b: &[u8]| Ipv4Addr::new(b[0], b[1], b[2], b[3]);
        let port = |b: &[u8]| u16::from_be_bytes([b[0], b[1]]);
        let repr = ProxyV2Repr {
            source: SocketAddrV4::new(ip(&a[0..4]), port(&a[8..10])),
            destination: SocketAddrV4::new(ip(&a[4..8]), port(&a[10..12])),
        };
        Ok((repr, 16 + len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repr() -> ProxyV2Repr {
        ProxyV2Repr {
            source: "198.18.0.2:51234".parse().unwrap(),
            destination: "198.18.0.100:443".parse().unwrap(),
        }
    }

    /// The bytes written by hand from the specification (section 2.2): signature,
    /// 0x21, 0x11, length 12, source address, destination address, source port,
    /// destination port, all in network byte order.
    #[test]
    fn emits_the_specified_bytes() {
        let mut out = b"already".to_vec();
        repr().emit(&mut out);
        let mut want = b"already".to_vec();
        want.extend_from_slice(b"\x0d\x0a\x0d\x0a\x00\x0d\x0a\x51\x55\x49\x54\x0a");
        want.extend_from_slice(&[0x21, 0x11, 0x00, 0x0c]);
        want.extend_from_slice(&[198, 18, 0, 2, 198, 18, 0, 100]);
        want.extend_from_slice(&[0xc8, 0x22, 0x01, 0xbb]);
        assert_eq!(out, want);
        assert_eq!(out.len() - 7, IPV4_LEN);
    }

    #[test]
    fn parses_what_it_emits_and_skips_tlvs() {
        let mut out = Vec::new();
        repr().emit(&mut out);
        assert_eq!(ProxyV2Repr::parse(&out), Ok((repr(), IPV4_LEN)));
        // A header with 3 bytes of TLV after the addresses, then data.
        out[15] = 15;
        out.extend_from_slice(&[0x04, 0x00, 0x00, b'G']);
        assert_eq!(ProxyV2Repr::parse(&out), Ok((repr(), IPV4_LEN + 3)));
    }

    #[test]
    fn refuses_what_is_not_a_tcp4_proxy_header() {
        let mut out = Vec::new();
        repr().emit(&mut out);
        assert_eq!(ProxyV2Repr::parse(&out[..15]), Err(Error::Truncated));
        assert_eq!(ProxyV2Repr::parse(&out[..27]), Err(Error::Truncated));
        for (at, value) in [(0, b'X'), (12, 0x20), (13, 0x21), (15, 11)] {
            let mut bad = out.clone();
            bad[at] = value;
            assert_eq!(ProxyV2Repr::parse(&bad), Err(Error::Malformed), "byte {at}");
        }
        assert_eq!(
            ProxyV2Repr::parse(b"PROXY TCP4 198.18.0.2 198.18.0.100 1 2\r\n"),
            Err(Error::Malformed)
        );
    }
}
