//! Typed, zero-copy views of the packet headers Splicer reads and rewrites in place.
//!
//! Every view wraps a byte buffer (`T: AsRef<[u8]>`, plus `AsMut<[u8]>` for the
//! setters) in the style of `smoltcp::wire`:
//!
//! * `new_unchecked` wraps any buffer; getters may then panic on a short buffer;
//! * `new_checked` runs `check_len` first, after which no getter and no `payload`
//!   accessor panics, so the fast path can index without re-checking;
//! * a setter that changes a length field (header length, total length, ...) can break
//!   that guarantee: run `check_len` again before trusting the view.
//!
//! Views never allocate and never copy the packet. Multi-byte fields are big-endian
//! on the wire and converted on access.
//!
//! [`checksum`] holds the Internet checksum arithmetic, including the RFC 1624
//! incremental updates used when rewriting addresses and ports.
//!
//! Above the views, [`ipv4::Ipv4Repr`] and [`tcp::TcpRepr`] are the parse/emit layer
//! (again after `smoltcp::wire`): plain values holding what Splicer reads from or
//! writes into a header, with typed flags ([`tcp::TcpFlags`]) and options
//! ([`tcp::TcpOptions`]). Code that builds the segments Splicer originates fills one
//! in and calls `emit`, instead of passing long lists of positional arguments; code
//! that reads a segment calls `parse` once, which checks lengths, checksum and options
//! in the order the drop counters need, and then works on the value.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use core::fmt;

pub mod arp;
pub mod checksum;
pub mod ethernet;
mod field;
pub mod handoff;
pub mod icmpv4;
pub mod ipv4;
pub mod proxy;
pub mod tcp;
pub mod udp;

pub use ethernet::{EthernetAddress, EthernetAddressParseError};

/// Why a buffer is not a valid packet of the requested kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// The buffer is shorter than the header, or than a length field says it is.
    Truncated,
    /// A field holds a value the protocol forbids or Splicer does not support.
    Malformed,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Truncated => {
                "truncated: buffer shorter than its header or length field requires"
            }
            Error::Malformed => "malformed: a field holds an invalid or unsupported value",
        })
    }
}

impl std::error::Error for Error {}

/// Result of the checks in this crate.
pub type Result<T> = core::result::Result<T, Error>;

/// Why a buffer does not parse into a `Repr` ([`ipv4::Ipv4Repr`], [`tcp::TcpRepr`]).
///
/// This is [`Error`] plus the reasons only a parse can find. It is a separate type so
/// that adding them did not break the exhaustive `match`es on [`Error`] elsewhere;
/// [`ParseError::from`] maps an [`Error`] onto its namesake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParseError {
    /// As [`Error::Truncated`].
    Truncated,
    /// As [`Error::Malformed`]; also a TCP option with an impossible length.
    Malformed,
    /// The checksum does not match the data (only under [`ChecksumPolicy::Verify`]).
    BadChecksum,
    /// The IPv4 packet is a fragment (more-fragments set or a nonzero offset), which
    /// Splicer does not reassemble.
    Fragment,
}

impl From<Error> for ParseError {
    #[inline]
    fn from(e: Error) -> ParseError {
        match e {
            Error::Truncated => ParseError::Truncated,
            Error::Malformed => ParseError::Malformed,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Truncated => fmt::Display::fmt(&Error::Truncated, f),
            ParseError::Malformed => fmt::Display::fmt(&Error::Malformed, f),
            ParseError::BadChecksum => f.write_str("bad checksum"),
            ParseError::Fragment => f.write_str("IPv4 fragment: reassembly is not supported"),
        }
    }
}

impl std::error::Error for ParseError {}

/// Whether a `parse` verifies the checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ChecksumPolicy {
    /// Compute it and fail with [`ParseError::BadChecksum`] if it is wrong.
    #[default]
    Verify,
    /// Do not look at it: the NIC verified it (receive checksum offload), or the
    /// caller already did.
    Skip,
}

#[cfg(test)]
pub(crate) mod testutil {
    /// Decodes hex, ignoring whitespace, so that captures can be pasted as dumped.
    pub(crate) fn hex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        assert!(digits.len() % 2 == 0, "odd number of hex digits");
        digits
            .chunks(2)
            .map(|p| u8::from_str_radix(core::str::from_utf8(p).unwrap(), 16).unwrap())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_display_distinct_messages() {
        let t = Error::Truncated.to_string();
        let m = Error::Malformed.to_string();
        assert!(t.starts_with("truncated"), "{t}");
        assert!(m.starts_with("malformed"), "{m}");
        let boxed: Box<dyn std::error::Error> = Box::new(Error::Malformed);
        assert_eq!(boxed.to_string(), m);
    }

    #[test]
    fn parse_errors_extend_errors() {
        assert_eq!(ParseError::from(Error::Truncated), ParseError::Truncated);
        assert_eq!(ParseError::from(Error::Malformed), ParseError::Malformed);
        assert_eq!(
            ParseError::Truncated.to_string(),
            Error::Truncated.to_string()
        );
        assert_eq!(
            ParseError::Malformed.to_string(),
            Error::Malformed.to_string()
        );
        assert!(ParseError::BadChecksum.to_string().contains("checksum"));
        assert!(ParseError::Fragment.to_string().contains("fragment"));
        assert_eq!(ChecksumPolicy::default(), ChecksumPolicy::Verify);
    }
}
