//! One handed-off connection: what the HANDOFF said, what the kernel answered, and the
//! translation between the client's view (Splicer's sequence numbers, timestamps and
//! window scale) and the kernel's.
//!
//! The kernel sees the client's own numbers unchanged (the SYN is replayed with the
//! client's ISN and options), so only the kernel's side needs translating:
//!
//! | direction | seq | ack, SACK edges | TSval | TSecr | window |
//! |---|---|---|---|---|---|
//! | kernel → client | `+ delta` | kept | `+ ts_add` | kept | rescaled kernel shift → Splicer's |
//! | client → kernel | kept | `- delta` | kept | `- ts_add` | kept |
//!
//! with `delta = splicer ISN − kernel ISN` and `ts_add = Splicer's next TSval − the
//! kernel's SYN-ACK TSval`, so the client sees Splicer's sequence space continue and
//! a timestamp clock that never goes back (PAWS, RFC 7323 §5).
//!
//! In the routed mode (the back end on another segment than Splicer's, `HANDOFF` with
//! the back end's address) the kernel's side of the connection is the back end's own
//! address and port instead of the VIP: Splicer rewrites the client's segments to it,
//! and the kernel's answers additionally get their source rewritten to the VIP.

use splicer_pipeline::rewrite::{self, Timestamps, Translation};
use splicer_wire::handoff::{HandoffRepr, HandoffResult};
use splicer_wire::tcp::{self, SeqNumber, TcpFlags, TcpOptions, TcpRepr};
use splicer_wire::{ipv4, EthernetAddress};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Instant;

/// A connection's key: the client's address and port and the local ones as the
/// kernel sees them (the kernel's 4-tuple, so two keys never share a kernel socket).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnKey {
    /// The client.
    pub client: SocketAddrV4,
    /// The connection's local address and port in the kernel: the virtual's in the
    /// layer-2 mode (the VIP on `lo`), the back end's own in the routed mode.
    pub local: SocketAddrV4,
}

/// Where a Splicer's channel is: its address and port, and the MAC its HANDOFF came
/// from (the agent answers there without an ARP of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer {
    /// Splicer's address and channel port.
    pub addr: SocketAddrV4,
    /// The MAC its messages come from.
    pub mac: EthernetAddress,
}

/// The HANDOFF's content, owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Params {
    pub client_isn: u32,
    pub splicer_isn: u32,
    pub mss: u16,
    /// Window scaling as negotiated with the client: `Some((client shift, Splicer's
    /// shift))` when both sides sent the option, else none either way.
    pub wscale: Option<(u8, u8)>,
    pub sack_permitted: bool,
    pub timestamps: bool,
    pub client_tsval: u32,
    pub splicer_tsval: u32,
    pub client_window: u16,
    pub splicer_epoch: u64,
    pub request: Vec<u8>,
}

impl Params {
    /// The owned copy of a HANDOFF body.
    pub fn from_repr(h: &HandoffRepr<'_>) -> Params {
        Params {
            client_isn: h.client_isn,
            splicer_isn: h.splicer_isn,
            mss: h.mss,
            wscale: h.client_wscale.zip(h.splicer_wscale),
            sack_permitted: h.sack_permitted,
            timestamps: h.timestamps,
            client_tsval: h.client_tsval,
            splicer_tsval: h.splicer_tsval,
            client_window: h.client_window,
            splicer_epoch: h.splicer_epoch,
            request: h.request.to_vec(),
        }
    }
}

/// What the kernel's SYN-ACK told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KernelSide {
    /// The kernel's ISN.
    pub isn: u32,
    /// The kernel's window shift (0 without scaling).
    pub wscale: u8,
    /// The kernel's MSS (536 when it sent none).
    pub mss: u16,
    /// `splicer ISN − kernel ISN`.
    pub delta: u32,
    /// Added to the kernel's TSvals.
    pub ts_add: u32,
}

/// Where a connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// The SYN was replayed; waiting for the kernel's SYN-ACK.
    Replaying,
    /// Handed off: translating both ways.
    Established,
    /// The handoff failed; kept only to answer a repeated HANDOFF alike.
    Failed(HandoffResult),
    /// Closed (CLOSED sent): translating stragglers until removed.
    Closed,
}

/// One connection.
#[derive(Debug, Clone)]
pub struct Conn {
    pub key: ConnKey,
    /// The virtual's address and port the client connected to (`key.local` in the
    /// layer-2 mode): what CLOSED names, and where the kernel's answers come from.
    pub vip: SocketAddrV4,
    pub peer: Peer,
    /// The HANDOFF's message id (its HANDOFF_ACK echoes it).
    pub handoff_id: u32,
    pub params: Params,
    pub state: State,
    pub kernel: Option<KernelSide>,
    pub started: Instant,
    pub last_syn: Instant,
    pub last_seen: Instant,
    /// The next sequence number expected from the client (for a RST into the kernel).
    pub client_next: SeqNumber,
    /// The sequence number of the client's FIN, in the client's space, once seen.
    pub client_fin: Option<SeqNumber>,
    /// The sequence number of the kernel's FIN, in the kernel's space, once seen.
    pub kernel_fin: Option<SeqNumber>,
    pub client_fin_acked: bool,
    pub kernel_fin_acked: bool,
    /// When both FINs had been seen.
    pub fins_since: Option<Instant>,
    /// When the connection stopped (failed or closed): removed `linger` after.
    pub done_at: Option<Instant>,
}

/// What a translated segment showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    pub flags: TcpFlags,
    /// Its sequence number (before translation).
    pub seq: SeqNumber,
    /// Its acknowledgement number in the kernel's space (after translation for a
    /// client segment), if ACK was set.
    pub ack_kernel_space: Option<SeqNumber>,
    pub payload_len: usize,
}

impl Conn {
    /// A connection whose SYN is about to be replayed.
    pub fn new(
        key: ConnKey,
        vip: SocketAddrV4,
        peer: Peer,
        handoff_id: u32,
        params: Params,
        now: Instant,
    ) -> Conn {
        let client_next = SeqNumber(params.client_isn.wrapping_add(1)) + params.request.len();
        Conn {
            key,
            vip,
            peer,
            handoff_id,
            params,
            state: State::Replaying,
            kernel: None,
            started: now,
            last_syn: now,
            last_seen: now,
            client_next,
            client_fin: None,
            kernel_fin: None,
            client_fin_acked: false,
            kernel_fin_acked: false,
            fins_since: None,
            done_at: None,
        }
    }

    /// The client's SYN as Splicer saw it, for the kernel: the client's ISN, window
    /// and the options Splicer negotiated with it (window scale only when both sides
    /// sent it, so that the kernel scales exactly when the client does).
    pub fn syn(&self) -> (TcpRepr, Ipv4Addr, Ipv4Addr) {
        let p = &self.params;
        let mut options = TcpOptions::NONE;
        options.mss = Some(if p.mss == 0 { 536 } else { p.mss });
        options.window_scale = p.wscale.map(|(c, _)| c);
        options.sack_permitted = p.sack_permitted;
        options.timestamp = p.timestamps.then_some((p.client_tsval, 0));
        let repr = TcpRepr {
            src_port: self.key.client.port(),
            dst_port: self.key.local.port(),
            seq: SeqNumber(p.client_isn),
            ack: None,
            flags: TcpFlags::SYN,
            window: p.client_window,
            options,
            payload_len: 0,
        };
        (repr, *self.key.client.ip(), *self.key.local.ip())
    }

    /// Takes the kernel's SYN-ACK (already checked to acknowledge the client's ISN):
    /// records its ISN, shift, MSS and timestamp offset.
    pub fn take_syn_ack(&mut self, seq: SeqNumber, opts: &TcpOptions) -> KernelSide {
        let p = &self.params;
        let k = KernelSide {
            isn: seq.0,
            // Only meaningful when the client's SYN carried the option (then the kernel
            // answers with its own); otherwise neither side scales.
            wscale: if p.wscale.is_some() {
                opts.window_scale.unwrap_or(0).min(14)
            } else {
                0
            },
            mss: opts.mss.unwrap_or(536).max(64),
            delta: p.splicer_isn.wrapping_sub(seq.0),
            ts_add: match opts.timestamp {
                Some((tsval, _)) => p.splicer_tsval.wrapping_sub(tsval),
                None => 0,
            },
        };
        self.kernel = Some(k);
        k
    }

    /// The segments that complete the kernel's handshake: the client's ACK of the
    /// SYN-ACK carrying the request bytes (as many segments as the kernel's MSS
    /// needs; one pure ACK for an empty request).
    pub fn ack_with_request(&self, kernel_tsval: Option<u32>) -> Vec<(TcpRepr, Vec<u8>)> {
        let p = &self.params;
        let k = self.kernel.expect("ack_with_request after take_syn_ack");
        let mut out = Vec::new();
        let mut seq = SeqNumber(p.client_isn.wrapping_add(1));
        let chunk = usize::from(k.mss.min(if p.mss == 0 { 536 } else { p.mss }));
        let mut pieces: Vec<&[u8]> = p.request.chunks(chunk).collect();
        if pieces.is_empty() {
            pieces.push(&[]);
        }
        let last = pieces.len() - 1;
        for (i, piece) in pieces.into_iter().enumerate() {
            let mut options = TcpOptions::NONE;
            if p.timestamps {
                options.timestamp = Some((p.client_tsval, kernel_tsval.unwrap_or(0)));
            }
            let flags = if i == last && !piece.is_empty() {
                TcpFlags::PSH
            } else {
                TcpFlags::empty()
            };
            out.push((
                TcpRepr {
                    src_port: self.key.client.port(),
                    dst_port: self.key.local.port(),
                    seq,
                    ack: Some(SeqNumber(k.isn.wrapping_add(1))),
                    flags,
                    window: p.client_window,
                    options,
                    payload_len: piece.len(),
                },
                piece.to_vec(),
            ));
            seq += piece.len();
        }
        out
    }

    /// A RST from the client for the kernel, at the client's next sequence number
    /// (closes the kernel's socket when the agent forgets the connection).
    pub fn rst_for_kernel(&self) -> TcpRepr {
        TcpRepr {
            src_port: self.key.client.port(),
            dst_port: self.key.local.port(),
            seq: self.client_next,
            ack: None,
            flags: TcpFlags::RST,
            window: 0,
            options: TcpOptions::NONE,
            payload_len: 0,
        }
    }

    /// Translates a client segment for the kernel in place (`ip` starts at the IPv4
    /// header): ack and SACK edges into the kernel's space, TSecr back to the kernel's
    /// clock. Both checksums are updated incrementally.
    pub fn to_kernel(&mut self, ip: &mut [u8]) -> Result<Seen, rewrite::Error> {
        let k = self.kernel.ok_or(rewrite::Error::Malformed)?;
        let (src, dst) = addrs(ip)?;
        let seg = rewrite::headers::tcp_segment(ip)?;
        let flags = TcpFlags::from(seg.flags());
        let seq = seg.seq_number();
        let payload_len = seg.payload().len();
        let ack = flags
            .contains(TcpFlags::ACK)
            .then(|| seg.ack_number() - k.delta as usize);
        rewrite::apply(
            ip,
            &Translation {
                src,
                dst,
                seq: None,
                ack,
                window: None,
            },
        )?;
        let mut seg = rewrite::headers::tcp_segment(ip)?;
        rewrite::translate(
            &mut seg,
            |s| Some(s - k.delta as usize),
            Timestamps::Shift {
                tsval_add: 0,
                tsecr_sub: k.ts_add,
            },
        )?;
        let end = seq + payload_len + usize::from(flags.contains(TcpFlags::SYN));
        if end > self.client_next {
            self.client_next = end;
        }
        Ok(Seen {
            flags,
            seq,
            ack_kernel_space: ack,
            payload_len,
        })
    }

    /// Whether the connection is in the routed mode (the kernel's side is the back
    /// end's own address, not the VIP).
    pub fn routed(&self) -> bool {
        self.key.local != self.vip
    }

    /// Translates a kernel segment for the client in place: seq into Splicer's
    /// space, TSval onto the clock the client saw from Splicer, window rescaled from
    /// the kernel's shift to the one Splicer announced; in the routed mode the source
    /// becomes the VIP's address and port.
    pub fn to_client(&mut self, ip: &mut [u8]) -> Result<Seen, rewrite::Error> {
        let k = self.kernel.ok_or(rewrite::Error::Malformed)?;
        let (src, dst) = addrs(ip)?;
        let seg = rewrite::headers::tcp_segment(ip)?;
        let flags = TcpFlags::from(seg.flags());
        let seq = seg.seq_number();
        let payload_len = seg.payload().len();
        let ack = flags.contains(TcpFlags::ACK).then(|| seg.ack_number());
        let splicer_shift = self.params.wscale.map_or(0, |(_, s)| s);
        let window = (k.wscale != splicer_shift)
            .then(|| rewrite::rescale(seg.window_len(), k.wscale, splicer_shift));
        let src = if self.routed() {
            (*self.vip.ip(), self.vip.port())
        } else {
            src
        };
        rewrite::apply(
            ip,
            &Translation {
                src,
                dst,
                seq: Some(seq + k.delta as usize),
                ack: None,
                window,
            },
        )?;
        let mut seg = rewrite::headers::tcp_segment(ip)?;
        rewrite::translate(
            &mut seg,
            Some,
            Timestamps::Shift {
                tsval_add: k.ts_add,
                tsecr_sub: 0,
            },
        )?;
        Ok(Seen {
            flags,
            seq,
            ack_kernel_space: ack,
            payload_len,
        })
    }

    /// Notes FINs and the ACKs of FINs from a client segment (`seen` by
    /// [`Conn::to_kernel`]).
    pub fn note_client(&mut self, seen: &Seen, now: Instant) {
        self.last_seen = now;
        if seen.flags.contains(TcpFlags::FIN) {
            self.client_fin = Some(seen.seq + seen.payload_len);
        }
        if let (Some(fin), Some(ack)) = (self.kernel_fin, seen.ack_kernel_space) {
            if ack > fin {
                self.kernel_fin_acked = true;
            }
        }
        self.note_fins(now);
    }

    /// The same for a kernel segment (`seen` by [`Conn::to_client`]).
    pub fn note_kernel(&mut self, seen: &Seen, now: Instant) {
        self.last_seen = now;
        if seen.flags.contains(TcpFlags::FIN) {
            self.kernel_fin = Some(seen.seq + seen.payload_len);
        }
        if let (Some(fin), Some(ack)) = (self.client_fin, seen.ack_kernel_space) {
            if ack > fin {
                self.client_fin_acked = true;
            }
        }
        self.note_fins(now);
    }

    fn note_fins(&mut self, now: Instant) {
        if self.client_fin.is_some() && self.kernel_fin.is_some() && self.fins_since.is_none() {
            self.fins_since = Some(now);
        }
    }

    /// Both FINs sent and both acknowledged: the connection is over.
    pub fn fully_closed(&self) -> bool {
        self.client_fin_acked && self.kernel_fin_acked
    }
}

/// An address and port, as [`Translation`] takes them.
type Endpoint = (Ipv4Addr, u16);

/// The source and destination address and port of an IPv4/TCP packet (checked).
fn addrs(ip: &mut [u8]) -> Result<(Endpoint, Endpoint), rewrite::Error> {
    let seg = rewrite::headers::tcp_segment(ip)?;
    let (sp, dp) = (seg.src_port(), seg.dst_port());
    let p = ipv4::Packet::new_unchecked(&*ip);
    Ok(((p.src_addr(), sp), (p.dst_addr(), dp)))
}

/// Reads the options of a checked TCP segment (`None` when they do not parse).
pub fn options_of(seg: &tcp::Packet<&[u8]>) -> Option<TcpOptions> {
    TcpOptions::parse(seg.options()).ok()
}
