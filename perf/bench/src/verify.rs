//! What the generator reports when a returned packet is not what the worker promised.

use std::fmt;
use std::net::Ipv4Addr;

/// The first difference found between a returned frame and the expected one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mismatch {
    /// The frame has the wrong length.
    Length {
        /// Bytes received.
        got: usize,
        /// Bytes expected.
        expected: usize,
    },
    /// Ethernet addresses or EtherType differ.
    Ethernet,
    /// The IPv4 or TCP header does not parse (length fields, version, data offset).
    Malformed(splicer_wire::Error),
    /// The IPv4 header checksum is wrong (verified in full).
    IpChecksum,
    /// An IPv4 field other than the addresses and the checksum differs (version, header
    /// length, DSCP/ECN, total length, identification, flags, TTL, protocol).
    IpHeader,
    /// The IPv4 addresses are not the flow's server-leg addresses.
    Addresses {
        /// (source, destination) received.
        got: (Ipv4Addr, Ipv4Addr),
        /// (source, destination) expected.
        expected: (Ipv4Addr, Ipv4Addr),
    },
    /// The TCP checksum is wrong (verified in full, pseudo-header and payload included).
    TcpChecksum,
    /// The TCP ports are not the flow's server-leg ports.
    Ports {
        /// (source, destination) received.
        got: (u16, u16),
        /// (source, destination) expected.
        expected: (u16, u16),
    },
    /// The sequence number is not the translated one (or packets were lost or reordered).
    Seq {
        /// Received.
        got: u32,
        /// Expected.
        expected: u32,
    },
    /// The acknowledgement number is not the translated one.
    Ack {
        /// Received.
        got: u32,
        /// Expected.
        expected: u32,
    },
    /// TCP data offset, flags, window or urgent pointer differ.
    TcpHeader,
    /// The payload differs.
    Payload,
    /// The one-pass check refused the frame but the field-by-field check found nothing
    /// wrong: the two checksum implementations disagree (a bug in one of them).
    Inconsistent,
    /// TCP flags other than those expected (`splice` scenarios).
    Flags {
        /// Received.
        got: u8,
        /// Expected.
        expected: u8,
    },
    /// A window other than the one the peer sent (forwarded segments), or a zero window.
    Window {
        /// Received.
        got: u16,
        /// Expected (0: any non-zero window).
        expected: u16,
    },
    /// TCP options that were not negotiated, or a missing or wrong MSS in a SYN.
    Options,
    /// A TSval older than the latest one its receiver saw on the connection (PAWS,
    /// RFC 7323 §5: the receiver would drop the segment).
    TsvalBack {
        /// Received TSval.
        got: u32,
        /// The latest TSval the receiver had seen.
        recent: u32,
    },
    /// A TSecr that echoes no TSval its receiver sent: later than the receiver's own
    /// clock (both in milliseconds since the receiver's random clock base).
    TsecrUnsent {
        /// The TSecr, in the receiver's clock.
        echoed: u32,
        /// The receiver's clock when it verified the segment.
        clock: u32,
    },
    /// Ethernet padding after the IP packet that is not zeros (stale buffer bytes).
    Padding,
    /// An ARP packet that is not the request or reply expected.
    Arp(&'static str),
    /// A packet the peer it is addressed to does not expect in its state (a segment
    /// for a closed connection, a second SYN, a duplicate ACK, a RST...).
    Unexpected(&'static str),
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Mismatch::Length { got, expected } => {
                write!(f, "frame of {got} bytes, expected {expected}")
            }
            Mismatch::Ethernet => f.write_str("wrong Ethernet addresses or EtherType"),
            Mismatch::Malformed(e) => write!(f, "headers do not parse: {e}"),
            Mismatch::IpChecksum => f.write_str("wrong IPv4 header checksum"),
            Mismatch::IpHeader => f.write_str("IPv4 header fields changed"),
            Mismatch::Addresses { got, expected } => write!(
                f,
                "addresses {} -> {}, expected {} -> {}",
                got.0, got.1, expected.0, expected.1
            ),
            Mismatch::TcpChecksum => f.write_str("wrong TCP checksum"),
            Mismatch::Ports { got, expected } => write!(
                f,
                "ports {} -> {}, expected {} -> {}",
                got.0, got.1, expected.0, expected.1
            ),
            Mismatch::Seq { got, expected } => write!(
                f,
                "sequence number {got}, expected {expected} (wrong translation, or a packet lost or reordered)"
            ),
            Mismatch::Ack { got, expected } => {
                write!(f, "acknowledgement number {got}, expected {expected}")
            }
            Mismatch::TcpHeader => f.write_str("TCP data offset, flags, window or urgent pointer changed"),
            Mismatch::Payload => f.write_str("payload changed"),
            Mismatch::Inconsistent => f.write_str(
                "the verifier's checks disagree about this frame (a checksum implementation is wrong)",
            ),
            Mismatch::Flags { got, expected } => write!(
                f,
                "TCP flags {} ({got:#04x}), expected {} ({expected:#04x})",
                flag_names(got),
                flag_names(expected)
            ),
            Mismatch::Window { got, expected: 0 } => write!(f, "window {got}, expected non-zero"),
            Mismatch::Window { got, expected } => write!(f, "window {got}, expected {expected}"),
            Mismatch::Options => f.write_str(
                "TCP options not negotiated, or a SYN or SYN-ACK without those expected (MSS 1460; with Linux options also SACK permitted, timestamps, window scale)",
            ),
            Mismatch::TsvalBack { got, recent } => write!(
                f,
                "TSval {got} older than the {recent} its receiver saw last (PAWS would drop it)"
            ),
            Mismatch::TsecrUnsent { echoed, clock } => write!(
                f,
                "TSecr {echoed} ms into its receiver's clock, which reads {clock} ms: it echoes no TSval the receiver sent"
            ),
            Mismatch::Padding => f.write_str(
                "Ethernet padding after the IP packet is not zeros (stale bytes of an earlier packet)",
            ),
            Mismatch::Arp(what) => write!(f, "ARP: {what}"),
            Mismatch::Unexpected(what) => write!(f, "unexpected packet: {what}"),
        }
    }
}

/// `SYN|ACK`-style names of TCP flags.
pub fn flag_names(flags: u8) -> String {
    const NAMES: [(u8, &str); 6] = [
        (0x02, "SYN"),
        (0x10, "ACK"),
        (0x08, "PSH"),
        (0x01, "FIN"),
        (0x04, "RST"),
        (0x20, "URG"),
    ];
    let v: Vec<&str> = NAMES
        .iter()
        .filter(|(b, _)| flags & b != 0)
        .map(|&(_, n)| n)
        .collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join("|")
    }
}

/// A returned packet that failed verification: which one, of which flow, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyError {
    /// Index of the packet among those returned in this run, from 0.
    pub packet: u64,
    /// The flow the packet had to belong to.
    pub flow: u32,
    /// The difference.
    pub mismatch: Mismatch,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "returned packet #{} (flow {}): {}",
            self.packet, self.flow, self.mismatch
        )
    }
}

impl std::error::Error for VerifyError {}
