//! The TCP handoff control protocol between Splicer (the front end, BTCP_FE) and
//! `splicer agent` on each back end (BTCP_BE), after Hewlett-Packard's *Method and system
//! for a modular transmission control protocol (TCP) rare-handoff design in a STREAMS
//! based transmission control protocol/internet protocol (TCP/IP) implementation*
//! (US 7,831,731): a front end hands an established client connection to a back end,
//! which then answers the client directly.
//!
//! Messages travel in UDP datagrams (port [`DEFAULT_PORT`] on both sides by default);
//! every one is idempotent and acknowledged, so the sender simply resends until it sees
//! the acknowledgement carrying its message id. All integers are big-endian. Each
//! message is a 12-byte header
//!
//! ```text
//! magic "SPHO" (4) | version 1 (1) | type (1) | flags (2) | message id (4)
//! ```
//!
//! followed by the body of its type ([`Body`]). One flag is defined: [`FLAG_ROUTED`] on a
//! `HANDOFF` (the routed mode: the back end's own address and port follow the request
//! bytes); every other bit is sent as zero and ignored on receipt. [`Packet`] is the zero-copy view of the
//! header; [`Message`] is the parse/emit layer over whole messages.

use crate::field::{ipv4_at, set_ipv4_at, set_u16_at, set_u32_at, u16_at, u32_at};
use crate::{Error, Result};
use std::net::SocketAddrV4;

/// The four bytes every message starts with.
pub const MAGIC: [u8; 4] = *b"SPHO";
/// The protocol version this module speaks.
pub const VERSION: u8 = 1;
/// Length of the header.
pub const HEADER_LEN: usize = 12;
/// The UDP port both Splicer's dataplane and the agent use unless configured otherwise.
pub const DEFAULT_PORT: u16 = 7470;
/// Length of a `HANDOFF` body without its request bytes.
pub const HANDOFF_FIXED_LEN: usize = 46;
/// The most request bytes a `HANDOFF` can carry in one unfragmented datagram on a
/// 1500-byte MTU link (1500 − IPv4 20 − UDP 8 − header 12 − fixed body 46). Splicer does
/// not fragment, so a longer request head cannot be handed off.
pub const MAX_REQUEST_IN_1500_MTU: usize = 1500 - 20 - 8 - HEADER_LEN - HANDOFF_FIXED_LEN;
/// The header flag of a `HANDOFF` in the routed mode (the back end is on another
/// segment): the body ends with [`ROUTED_TRAILER_LEN`] bytes, the back end's own address
/// (4) and port (2), where the agent replays the connection and where Splicer sends the
/// client's later segments. An agent that does not know the flag refuses the `HANDOFF`
/// as malformed (bytes after the body), so it never replays to the wrong address.
pub const FLAG_ROUTED: u16 = 0x0001;
/// Length of the routed mode's trailer (address 4, port 2).
pub const ROUTED_TRAILER_LEN: usize = 6;
/// The option byte meaning "no window scale option" in a `HANDOFF`.
const NO_WSCALE: u8 = 0xFF;

mod offset {
    pub(super) const MAGIC: usize = 0;
    pub(super) const VERSION: usize = 4;
    pub(super) const TYPE: usize = 5;
    pub(super) const FLAGS: usize = 6;
    pub(super) const ID: usize = 8;
}

/// The message types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum MessageType {
    /// Splicer → agent: are you there, and are you still the same process?
    Heartbeat = 1,
    /// Agent → Splicer: yes, with its epoch and the connections it holds.
    HeartbeatAck = 2,
    /// Splicer → agent: take over this client connection.
    Handoff = 3,
    /// Agent → Splicer: the outcome of a `HANDOFF`.
    HandoffAck = 4,
    /// Agent → Splicer: a handed-off connection has ended.
    Closed = 5,
    /// Splicer → agent: the `CLOSED` was received.
    ClosedAck = 6,
}

impl MessageType {
    /// The type for a header's type byte, if it is one.
    pub fn from_u8(v: u8) -> Option<MessageType> {
        Some(match v {
            1 => MessageType::Heartbeat,
            2 => MessageType::HeartbeatAck,
            3 => MessageType::Handoff,
            4 => MessageType::HandoffAck,
            5 => MessageType::Closed,
            6 => MessageType::ClosedAck,
            _ => return None,
        })
    }
}

/// A view of a handoff message: the header and the body after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checking it; getters panic if it is shorter than
    /// [`HEADER_LEN`].
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps `buffer` after [`Packet::check_len`].
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// [`Error::Truncated`] if the buffer is shorter than the header;
    /// [`Error::Malformed`] if the magic or the version is not this module's. The body is
    /// checked by [`Message::parse`].
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if b[offset::MAGIC..offset::MAGIC + 4] != MAGIC || b[offset::VERSION] != VERSION {
            return Err(Error::Malformed);
        }
        Ok(())
    }

    /// The version byte.
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[offset::VERSION]
    }

    /// The raw type byte (see [`MessageType::from_u8`]).
    #[inline]
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[offset::TYPE]
    }

    /// The flags ([`FLAG_ROUTED`] on a `HANDOFF`; other bits sent as zero, ignored on
    /// receipt).
    #[inline]
    pub fn flags(&self) -> u16 {
        u16_at(self.buffer.as_ref(), offset::FLAGS)
    }

    /// The sender-chosen message id, echoed in the acknowledgement.
    #[inline]
    pub fn message_id(&self) -> u32 {
        u32_at(self.buffer.as_ref(), offset::ID)
    }

    /// The bytes after the header.
    #[inline]
    pub fn body(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Writes magic, version, `msg_type`, zero flags and `id`.
    #[inline]
    pub fn set_header(&mut self, msg_type: MessageType, id: u32) {
        let b = self.buffer.as_mut();
        b[offset::MAGIC..offset::MAGIC + 4].copy_from_slice(&MAGIC);
        b[offset::VERSION] = VERSION;
        b[offset::TYPE] = msg_type as u8;
        set_u16_at(b, offset::FLAGS, 0);
        set_u32_at(b, offset::ID, id);
    }

    /// Sets the flags field.
    #[inline]
    pub fn set_flags(&mut self, flags: u16) {
        set_u16_at(self.buffer.as_mut(), offset::FLAGS, flags);
    }

    /// The bytes after the header, writable.
    #[inline]
    pub fn body_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[HEADER_LEN..]
    }
}

/// What the agent answers to a `HANDOFF`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum HandoffResult {
    /// The kernel accepted the replayed connection and has the request.
    Ok = 0,
    /// Nothing listens on the VIP's port (the kernel answered the SYN with a RST).
    Refused = 1,
    /// The kernel did not answer the replayed SYN in time.
    Timeout = 2,
    /// The agent's connection table is full.
    Busy = 3,
    /// The `HANDOFF` did not make sense (e.g. bad addresses, request too long).
    Malformed = 4,
}

impl HandoffResult {
    fn from_u8(v: u8) -> Option<HandoffResult> {
        Some(match v {
            0 => HandoffResult::Ok,
            1 => HandoffResult::Refused,
            2 => HandoffResult::Timeout,
            3 => HandoffResult::Busy,
            4 => HandoffResult::Malformed,
            _ => return None,
        })
    }
}

/// Why a handed-off connection ended, in a `CLOSED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum CloseReason {
    /// Both sides sent FIN.
    Fin = 0,
    /// Either side sent RST.
    Rst = 1,
    /// Nothing passed for the agent's idle timeout.
    Idle = 2,
}

impl CloseReason {
    fn from_u8(v: u8) -> Option<CloseReason> {
        Some(match v {
            0 => CloseReason::Fin,
            1 => CloseReason::Rst,
            2 => CloseReason::Idle,
            _ => return None,
        })
    }
}

/// The body of a `HANDOFF`: everything the agent needs to rebuild the client's
/// connection in its kernel as Splicer negotiated it.
///
/// The client's next sequence number is `client_isn + 1 + request.len()`; Splicer sent
/// no data, so its next sequence number is `splicer_isn + 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandoffRepr<'a> {
    /// The client's address and port.
    pub client: SocketAddrV4,
    /// The virtual's address and port the client connected to.
    pub vip: SocketAddrV4,
    /// The sequence number of the client's SYN.
    pub client_isn: u32,
    /// The sequence number of Splicer's SYN-ACK.
    pub splicer_isn: u32,
    /// The MSS the client offered.
    pub mss: u16,
    /// The client's window scale shift, if it sent the option.
    pub client_wscale: Option<u8>,
    /// The window scale shift Splicer announced, if it did.
    pub splicer_wscale: Option<u8>,
    /// Whether SACK was negotiated.
    pub sack_permitted: bool,
    /// Whether timestamps were negotiated.
    pub timestamps: bool,
    /// The client's last TSval Splicer saw.
    pub client_tsval: u32,
    /// The TSval Splicer would send next (the agent's responses must not go below it).
    pub splicer_tsval: u32,
    /// The client's window as last seen, unscaled (the field's value).
    pub client_window: u16,
    /// Splicer's epoch (random per process start).
    pub splicer_epoch: u64,
    /// The request bytes Splicer read and acknowledged.
    pub request: &'a [u8],
    /// The routed mode ([`FLAG_ROUTED`]): the back end's own address and port, where
    /// the agent replays the connection (instead of the VIP) and whose answers it
    /// rewrites to come from the VIP. `None`: the layer-2 mode (the back end owns the
    /// VIP on its loopback).
    pub backend: Option<SocketAddrV4>,
}

impl HandoffRepr<'_> {
    /// Length of the body on the wire.
    pub fn buffer_len(&self) -> usize {
        HANDOFF_FIXED_LEN + self.request.len() + self.backend.map_or(0, |_| ROUTED_TRAILER_LEN)
    }

    fn parse(b: &[u8], flags: u16) -> Result<HandoffRepr<'_>> {
        if b.len() < HANDOFF_FIXED_LEN {
            return Err(Error::Truncated);
        }
        let wscale = |v: u8| match v {
            NO_WSCALE => Ok(None),
            0..=14 => Ok(Some(v)),
            _ => Err(Error::Malformed),
        };
        let flag = |v: u8| match v {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(Error::Malformed),
        };
        let req_len = usize::from(u16_at(b, 44));
        let routed = flags & FLAG_ROUTED != 0;
        let trailer = if routed { ROUTED_TRAILER_LEN } else { 0 };
        match b.len().cmp(&(HANDOFF_FIXED_LEN + req_len + trailer)) {
            core::cmp::Ordering::Less => return Err(Error::Truncated),
            core::cmp::Ordering::Greater => return Err(Error::Malformed),
            core::cmp::Ordering::Equal => {}
        }
        Ok(HandoffRepr {
            client: SocketAddrV4::new(ipv4_at(b, 0), u16_at(b, 4)),
            vip: SocketAddrV4::new(ipv4_at(b, 6), u16_at(b, 10)),
            client_isn: u32_at(b, 12),
            splicer_isn: u32_at(b, 16),
            mss: u16_at(b, 20),
            client_wscale: wscale(b[22])?,
            splicer_wscale: wscale(b[23])?,
            sack_permitted: flag(b[24])?,
            timestamps: flag(b[25])?,
            client_tsval: u32_at(b, 26),
            splicer_tsval: u32_at(b, 30),
            client_window: u16_at(b, 34),
            splicer_epoch: u64::from_be_bytes(b[36..44].try_into().expect("8 bytes")),
            request: &b[HANDOFF_FIXED_LEN..HANDOFF_FIXED_LEN + req_len],
            backend: routed.then(|| {
                let at = HANDOFF_FIXED_LEN + req_len;
                SocketAddrV4::new(ipv4_at(b, at), u16_at(b, at + 4))
            }),
        })
    }

    fn emit(&self, b: &mut [u8]) {
        set_ipv4_at(b, 0, *self.client.ip());
        set_u16_at(b, 4, self.client.port());
        set_ipv4_at(b, 6, *self.vip.ip());
        set_u16_at(b, 10, self.vip.port());
        set_u32_at(b, 12, self.client_isn);
        set_u32_at(b, 16, self.splicer_isn);
        set_u16_at(b, 20, self.mss);
        b[22] = self.client_wscale.unwrap_or(NO_WSCALE);
        b[23] = self.splicer_wscale.unwrap_or(NO_WSCALE);
        b[24] = u8::from(self.sack_permitted);
        b[25] = u8::from(self.timestamps);
        set_u32_at(b, 26, self.client_tsval);
        set_u32_at(b, 30, self.splicer_tsval);
        set_u16_at(b, 34, self.client_window);
        b[36..44].copy_from_slice(&self.splicer_epoch.to_be_bytes());
        set_u16_at(b, 44, self.request.len() as u16);
        b[HANDOFF_FIXED_LEN..HANDOFF_FIXED_LEN + self.request.len()].copy_from_slice(self.request);
        if let Some(backend) = self.backend {
            let at = HANDOFF_FIXED_LEN + self.request.len();
            set_ipv4_at(b, at, *backend.ip());
            set_u16_at(b, at + 4, backend.port());
        }
    }
}

/// A message body, by type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body<'a> {
    /// Type 1: the sender's epoch (random per process start).
    Heartbeat {
        /// The sender's epoch.
        epoch: u64,
    },
    /// Type 2: the responder's epoch and how many handed-off connections it holds.
    HeartbeatAck {
        /// The responder's epoch.
        epoch: u64,
        /// Handed-off connections the agent holds.
        connections: u32,
    },
    /// Type 3: take over a client connection.
    Handoff(HandoffRepr<'a>),
    /// Type 4: the outcome of the `HANDOFF` whose id the header echoes.
    HandoffAck {
        /// The outcome.
        result: HandoffResult,
        /// The kernel's ISN (its SYN-ACK's sequence number); 0 unless `Ok`.
        kernel_isn: u32,
        /// The agent's epoch.
        epoch: u64,
    },
    /// Type 5: a handed-off connection ended.
    Closed {
        /// The client's address and port.
        client: SocketAddrV4,
        /// The virtual's address and port.
        vip: SocketAddrV4,
        /// Why it ended.
        reason: CloseReason,
    },
    /// Type 6: the `CLOSED` whose id the header echoes was received.
    ClosedAck,
}

impl Body<'_> {
    /// The type of this body.
    pub fn msg_type(&self) -> MessageType {
        match self {
            Body::Heartbeat { .. } => MessageType::Heartbeat,
            Body::HeartbeatAck { .. } => MessageType::HeartbeatAck,
            Body::Handoff(_) => MessageType::Handoff,
            Body::HandoffAck { .. } => MessageType::HandoffAck,
            Body::Closed { .. } => MessageType::Closed,
            Body::ClosedAck => MessageType::ClosedAck,
        }
    }

    /// Length of the body on the wire.
    pub fn len(&self) -> usize {
        match self {
            Body::Heartbeat { .. } => 8,
            Body::HeartbeatAck { .. } => 12,
            Body::Handoff(h) => h.buffer_len(),
            Body::HandoffAck { .. } => 13,
            Body::Closed { .. } => 13,
            Body::ClosedAck => 0,
        }
    }

    /// Whether the body is empty on the wire (only `CLOSED_ACK`'s is).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A whole message: the header's id and the typed body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    /// The message id (for an acknowledgement: the id of what it acknowledges).
    pub id: u32,
    /// The body.
    pub body: Body<'a>,
}

impl<'a> Message<'a> {
    /// Parses a whole message (a UDP payload). [`Error::Truncated`] if the buffer is
    /// shorter than the header or the body its type needs; [`Error::Malformed`] for a
    /// wrong magic or version, an unknown type, result or reason, a flag byte other than
    /// 0/1, a window scale above 14, or bytes after the body.
    pub fn parse(buf: &'a [u8]) -> Result<Message<'a>> {
        let p = Packet::new_checked(buf)?;
        let id = p.message_id();
        let ty = MessageType::from_u8(p.msg_type()).ok_or(Error::Malformed)?;
        let b = &buf[HEADER_LEN..];
        let exact = |n: usize| match b.len().cmp(&n) {
            core::cmp::Ordering::Less => Err(Error::Truncated),
            core::cmp::Ordering::Greater => Err(Error::Malformed),
            core::cmp::Ordering::Equal => Ok(()),
        };
        let u64_at = |at: usize| u64::from_be_bytes(b[at..at + 8].try_into().expect("8 bytes"));
        let body = match ty {
            MessageType::Heartbeat => {
                exact(8)?;
                Body::Heartbeat { epoch: u64_at(0) }
            }
            MessageType::HeartbeatAck => {
                exact(12)?;
                Body::HeartbeatAck {
                    epoch: u64_at(0),
                    connections: u32_at(b, 8),
                }
            }
            MessageType::Handoff => Body::Handoff(HandoffRepr::parse(b, p.flags())?),
            MessageType::HandoffAck => {
                exact(13)?;
                Body::HandoffAck {
                    result: HandoffResult::from_u8(b[0]).ok_or(Error::Malformed)?,
                    kernel_isn: u32_at(b, 1),
                    epoch: u64_at(5),
                }
            }
            MessageType::Closed => {
                exact(13)?;
                Body::Closed {
                    client: SocketAddrV4::new(ipv4_at(b, 0), u16_at(b, 4)),
                    vip: SocketAddrV4::new(ipv4_at(b, 6), u16_at(b, 10)),
                    reason: CloseReason::from_u8(b[12]).ok_or(Error::Malformed)?,
                }
            }
            MessageType::ClosedAck => {
                exact(0)?;
                Body::ClosedAck
            }
        };
        Ok(Message { id, body })
    }

    /// Length of the message on the wire.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.body.len()
    }

    /// Writes the message at the start of `buf` and returns its length;
    /// [`Error::Truncated`] if `buf` is shorter than [`Message::buffer_len`], and
    /// [`Error::Malformed`] for a `HANDOFF` whose request is longer than its 16-bit
    /// length field can say.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let len = self.buffer_len();
        if buf.len() < len {
            return Err(Error::Truncated);
        }
        if let Body::Handoff(h) = &self.body {
            if h.request.len() > usize::from(u16::MAX) {
                return Err(Error::Malformed);
            }
        }
        let mut p = Packet::new_unchecked(&mut buf[..len]);
        p.set_header(self.body.msg_type(), self.id);
        if let Body::Handoff(HandoffRepr {
            backend: Some(_), ..
        }) = &self.body
        {
            p.set_flags(FLAG_ROUTED);
        }
        let b = p.body_mut();
        match &self.body {
            Body::Heartbeat { epoch } => b.copy_from_slice(&epoch.to_be_bytes()),
            Body::HeartbeatAck { epoch, connections } => {
                b[..8].copy_from_slice(&epoch.to_be_bytes());
                set_u32_at(b, 8, *connections);
            }
            Body::Handoff(h) => h.emit(b),
            Body::HandoffAck {
                result,
                kernel_isn,
                epoch,
            } => {
                b[0] = *result as u8;
                set_u32_at(b, 1, *kernel_isn);
                b[5..13].copy_from_slice(&epoch.to_be_bytes());
            }
            Body::Closed {
                client,
                vip,
                reason,
            } => {
                set_ipv4_at(b, 0, *client.ip());
                set_u16_at(b, 4, client.port());
                set_ipv4_at(b, 6, *vip.ip());
                set_u16_at(b, 10, vip.port());
                b[12] = *reason as u8;
            }
            Body::ClosedAck => {}
        }
        Ok(len)
    }

    /// The message's bytes in a new vector (for tests and the agent's slow path).
    pub fn to_vec(&self) -> Result<Vec<u8>> {
        let mut v = vec![0; self.buffer_len()];
        self.emit(&mut v)?;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::hex;

    const REQUEST: &[u8] = b"GET /x HTTP/1.1\r\nHost: a\r\n\r\n";

    fn handoff() -> HandoffRepr<'static> {
        HandoffRepr {
            client: "198.18.0.2:51234".parse().unwrap(),
            vip: "198.18.0.100:80".parse().unwrap(),
            client_isn: 0x0102_0304,
            splicer_isn: 0xA0B0_C0D0,
            mss: 1460,
            client_wscale: Some(7),
            splicer_wscale: None,
            sack_permitted: true,
            timestamps: true,
            client_tsval: 0x1111_2222,
            splicer_tsval: 0x3333_4444,
            client_window: 502,
            splicer_epoch: 0x0011_2233_4455_6677,
            request: REQUEST,
            backend: None,
        }
    }

    fn every_message() -> Vec<Message<'static>> {
        let client = "198.18.0.2:51234".parse().unwrap();
        let vip = "198.18.0.100:80".parse().unwrap();
        let mut empty = handoff();
        empty.request = b"";
        empty.client_wscale = None;
        empty.splicer_wscale = Some(14);
        let mut routed = handoff();
        routed.backend = Some("198.19.20.13:8080".parse().unwrap());
        let mut routed_empty = routed;
        routed_empty.request = b"";
        vec![
            Message {
                id: 1,
                body: Body::Heartbeat { epoch: u64::MAX },
            },
            Message {
                id: 2,
                body: Body::HeartbeatAck {
                    epoch: 9,
                    connections: 70_000,
                },
            },
            Message {
                id: 3,
                body: Body::Handoff(handoff()),
            },
            Message {
                id: 4,
                body: Body::Handoff(empty),
            },
            Message {
                id: 40,
                body: Body::Handoff(routed),
            },
            Message {
                id: 41,
                body: Body::Handoff(routed_empty),
            },
            Message {
                id: 5,
                body: Body::HandoffAck {
                    result: HandoffResult::Refused,
                    kernel_isn: 0xDEAD_BEEF,
                    epoch: 42,
                },
            },
            Message {
                id: 6,
                body: Body::Closed {
                    client,
                    vip,
                    reason: CloseReason::Idle,
                },
            },
            Message {
                id: u32::MAX,
                body: Body::ClosedAck,
            },
        ]
    }

    #[test]
    fn every_message_round_trips() {
        for m in every_message() {
            let bytes = m.to_vec().unwrap();
            assert_eq!(bytes.len(), m.buffer_len());
            assert_eq!(Message::parse(&bytes), Ok(m), "{m:?}");
            let p = Packet::new_checked(&bytes[..]).unwrap();
            assert_eq!(p.message_id(), m.id);
            assert_eq!(p.msg_type(), m.body.msg_type() as u8);
            let routed = matches!(m.body, Body::Handoff(h) if h.backend.is_some());
            assert_eq!(p.flags(), if routed { FLAG_ROUTED } else { 0 });
            assert_eq!(p.version(), VERSION);
        }
    }

    /// The bytes written by hand from the layout in docs/HANDOFF.md.
    #[test]
    fn handoff_has_the_specified_layout() {
        let mut h = handoff();
        h.request = b"GET";
        let m = Message {
            id: 0x0A0B_0C0D,
            body: Body::Handoff(h),
        };
        let want = hex("53 50 48 4f  01 03 00 00  0a 0b 0c 0d
             c6 12 00 02  c8 22  c6 12 00 64  00 50
             01 02 03 04  a0 b0 c0 d0  05 b4  07 ff  01 01
             11 11 22 22  33 33 44 44  01 f6
             00 11 22 33 44 55 66 77  00 03  47 45 54");
        assert_eq!(m.to_vec().unwrap(), want);
        let ack = Message {
            id: 7,
            body: Body::HandoffAck {
                result: HandoffResult::Ok,
                kernel_isn: 0x0102_0304,
                epoch: 5,
            },
        };
        assert_eq!(
            ack.to_vec().unwrap(),
            hex("5350484f 0104 0000 00000007  00 01020304 0000000000000005")
        );
    }

    /// The routed mode: flag 0x0001, the back end's address and port after the request.
    #[test]
    fn routed_handoff_has_the_specified_layout() {
        let mut h = handoff();
        h.request = b"GET";
        h.backend = Some("198.19.20.13:8080".parse().unwrap());
        let m = Message {
            id: 0x0A0B_0C0D,
            body: Body::Handoff(h),
        };
        let want = hex("53 50 48 4f  01 03 00 01  0a 0b 0c 0d
             c6 12 00 02  c8 22  c6 12 00 64  00 50
             01 02 03 04  a0 b0 c0 d0  05 b4  07 ff  01 01
             11 11 22 22  33 33 44 44  01 f6
             00 11 22 33 44 55 66 77  00 03  47 45 54  c6 13 14 0d 1f 90");
        assert_eq!(m.to_vec().unwrap(), want);
        // Without the flag, the trailer is bytes after the body: refused (an agent that
        // does not know the routed mode never replays to the VIP by mistake).
        let mut unflagged = want.clone();
        unflagged[7] = 0;
        assert_eq!(Message::parse(&unflagged), Err(Error::Malformed));
        // The flag without the trailer: too short.
        let mut short = m.to_vec().unwrap();
        short.truncate(short.len() - ROUTED_TRAILER_LEN);
        assert_eq!(Message::parse(&short), Err(Error::Truncated));
    }

    #[test]
    fn every_truncation_is_refused() {
        for m in every_message() {
            let bytes = m.to_vec().unwrap();
            for cut in 0..bytes.len() {
                assert_eq!(
                    Message::parse(&bytes[..cut]),
                    Err(Error::Truncated),
                    "{m:?} cut at {cut}"
                );
            }
            let mut short = vec![0; bytes.len() - 1];
            assert_eq!(m.emit(&mut short), Err(Error::Truncated));
        }
    }

    #[test]
    fn trailing_bytes_are_refused() {
        for m in every_message() {
            let mut bytes = m.to_vec().unwrap();
            bytes.push(0);
            assert_eq!(Message::parse(&bytes), Err(Error::Malformed), "{m:?}");
        }
    }

    #[test]
    fn bad_magic_version_type_and_values_are_refused() {
        let good = Message {
            id: 3,
            body: Body::Handoff(handoff()),
        }
        .to_vec()
        .unwrap();
        // (offset, value): magic, version 0 and 2, type 0 and 7, wscale 15,
        // sack 2, timestamps 2.
        let h = HEADER_LEN;
        for (at, v) in [
            (0, b'X'),
            (3, b'o'),
            (4, 0),
            (4, 2),
            (5, 0),
            (5, 7),
            (h + 22, 15),
            (h + 23, 0xFE),
            (h + 24, 2),
            (h + 25, 2),
        ] {
            let mut bad = good.clone();
            bad[at] = v;
            assert_eq!(Message::parse(&bad), Err(Error::Malformed), "byte {at}");
        }
        let ack = Message {
            id: 1,
            body: Body::HandoffAck {
                result: HandoffResult::Busy,
                kernel_isn: 0,
                epoch: 0,
            },
        }
        .to_vec()
        .unwrap();
        let mut bad = ack.clone();
        bad[h] = 5;
        assert_eq!(Message::parse(&bad), Err(Error::Malformed));
        let closed = Message {
            id: 1,
            body: Body::Closed {
                client: "198.18.0.2:1".parse().unwrap(),
                vip: "198.18.0.100:80".parse().unwrap(),
                reason: CloseReason::Rst,
            },
        }
        .to_vec()
        .unwrap();
        let mut bad = closed.clone();
        bad[h + 12] = 3;
        assert_eq!(Message::parse(&bad), Err(Error::Malformed));
    }

    #[test]
    fn flags_are_ignored_on_receipt() {
        let mut bytes = every_message()[0].to_vec().unwrap();
        bytes[6] = 0x80;
        bytes[7] = 0x01;
        assert_eq!(Message::parse(&bytes), Ok(every_message()[0]));
    }

    #[test]
    fn request_length_is_bounded() {
        let long = vec![b'a'; usize::from(u16::MAX) + 1];
        let mut h = handoff();
        h.request = &long;
        let m = Message {
            id: 1,
            body: Body::Handoff(h),
        };
        let mut buf = vec![0; m.buffer_len()];
        assert_eq!(m.emit(&mut buf), Err(Error::Malformed));
        assert_eq!(MAX_REQUEST_IN_1500_MTU, 1414);
    }
}
