//! Splice translation: rewriting a forwarded segment's TCP/IP headers in place so
//! that it fits the leg it is sent on.
//!
//! A splice joins two TCP connections that Splicer terminates: the **client leg**
//! (client ↔ Splicer on the VIP, handshake done by Splicer) and the **server leg**
//! (Splicer ↔ server, a pooled connection opened long before). Each leg has its own
//! addresses and ports, its own initial sequence numbers, and its own negotiated
//! options. Forwarding a segment from one leg onto the other therefore rewrites:
//!
//! * addresses and ports, with both checksums updated incrementally: [`headers`];
//! * sequence and acknowledgement numbers, through one [`SeqMap`] per direction of
//!   data: [`seqmap`];
//! * the window field, rescaled between the two legs' window-scale shifts: [`window`];
//! * SACK blocks (sequence numbers too) and timestamps (each leg has its own clock
//!   base), and the MSS of handshakes: [`options`].
//!
//! # Which map is which
//!
//! A spliced pair keeps two [`SeqMap`]s, one per direction in which *data* flows. A
//! map's input side is the sender's sequence space, its output side the receiver's:
//!
//! | map | `map` turns | `unmap` turns |
//! |---|---|---|
//! | upstream (client → server data) | a client segment's seq into server-leg seq | a server's ack, and the SACK edges a server sends, back into client space |
//! | downstream (server → client data) | a server segment's seq into client-leg seq | a client's ack, and the SACK edges a client sends, back into server space |
//!
//! So a client → server segment gets `seq = upstream.map(seq)`,
//! `ack = downstream.unmap(ack)` and its SACK edges through `downstream.unmap`; a
//! server → client segment gets `seq = downstream.map(seq)`,
//! `ack = upstream.unmap(ack)` and SACK edges through `upstream.unmap`.
//!
//! Everything here is a pure function or a fixed-size value: no allocation, no
//! clock, no I/O, so it runs per packet on a worker and is tested exhaustively.

#![warn(missing_docs)]

pub mod headers;
pub mod options;
pub mod seqmap;
pub mod window;

#[cfg(test)]
pub(crate) mod testutil;

pub use headers::{apply, Translation};
pub use options::{clamp_mss, translate, translate_not_below, OptionSummary, Timestamps};
pub use seqmap::{Lookup, Segment, SeqMap, SeqMapError};
pub use window::rescale;

use core::fmt;

/// Why a packet could not be rewritten. Every function that returns it leaves the
/// packet exactly as it was, so the caller can drop it and count the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// The buffer is shorter than a header or a length field says it is.
    Truncated,
    /// A header field or the TCP option list cannot be trusted.
    Malformed,
    /// The IPv4 packet does not carry TCP.
    NotTcp,
    /// The IPv4 packet is a fragment: a non-first fragment has no ports to rewrite,
    /// and the TCP checksum of a first fragment covers bytes Splicer does not have.
    Fragment,
}

impl From<splicer_wire::Error> for Error {
    fn from(e: splicer_wire::Error) -> Self {
        match e {
            splicer_wire::Error::Truncated => Error::Truncated,
            splicer_wire::Error::Malformed => Error::Malformed,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Truncated => "cannot rewrite: packet shorter than its headers say",
            Error::Malformed => "cannot rewrite: malformed IPv4/TCP header or TCP options",
            Error::NotTcp => "cannot rewrite: IPv4 payload is not TCP",
            Error::Fragment => "cannot rewrite: IPv4 fragment",
        })
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_convert_and_display() {
        assert_eq!(
            Error::from(splicer_wire::Error::Truncated),
            Error::Truncated
        );
        assert_eq!(
            Error::from(splicer_wire::Error::Malformed),
            Error::Malformed
        );
        let all = [
            Error::Truncated,
            Error::Malformed,
            Error::NotTcp,
            Error::Fragment,
        ];
        for (i, a) in all.iter().enumerate() {
            assert!(a.to_string().starts_with("cannot rewrite"));
            for b in &all[i + 1..] {
                assert_ne!(a.to_string(), b.to_string());
            }
        }
    }
}
