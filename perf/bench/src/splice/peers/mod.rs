//! The generator of the splice scenarios: the clients, the gateway they are behind and
//! the real servers, at packet level, verifying every frame the appliance sends.
//!
//! **Clients** (outside, behind the gateway `198.18.0.254`) open TCP connections to the
//! VIP: a SYN with MSS 1460 and nothing else (no window scaling, SACK or timestamps, so
//! segments carry no options after the handshake), or with [`Config::linux_options`] the
//! SYN Linux sends (MSS 1460, SACK permitted, timestamps, window scale 7) and timestamps
//! on every later segment; then the handshake's ACK carrying the
//! request head, and read the response. What they do then is the scenario's
//! ([`Mode`]). **Servers** (inside, one address and MAC per 64 reals, ports from 8080)
//! accept the connections Splicer opens (`pool` per real from its timers, more on
//! demand) with a SYN-ACK carrying MSS 1460, take each request head, check that it is
//! byte for byte the one its client sent and that the real may serve its path, and
//! answer with a `Content-Length` response. The **gateway** and the servers answer
//! Splicer's ARP requests, and announce themselves with an ARP request for the VIP and
//! the inside address at the start and every 10 s, as a router and hosts refreshing
//! their own ARP caches do.
//!
//! **What is verified**, on every frame: the parse and both full checksums
//! ([`super::frame::parse`]); Ethernet addresses (from the right port's MAC to the
//! neighbour's); IP addresses and ports of the connection; sequence and
//! acknowledgement numbers, which each peer knows from its own side of the connection
//! (a forwarded segment must carry exactly the numbers its receiver expects next, in
//! the receiver's space); flags; window (forwarded: the sender's; originated: non-zero);
//! options (a SYN-ACK: MSS only; afterwards: none); payload bytes (request heads,
//! response heads and bodies, stream patterns by offset). A packet nobody expects (a
//! second SYN, a duplicate ACK, a RST, a segment for a closed connection, a request
//! routed to a real its rule does not allow) fails the run too.
//!
//! **Pipelined** ([`Mode::Pipelined`]) relaxes what pipelining legitimately changes and
//! checks the rest: Splicer acknowledges a batch's requests as the servers take them, so
//! a client accepts any acknowledgement between the last one and the end of the batch,
//! and pure ACKs that repeat it (window updates); a server takes the windows Splicer
//! offers as a Linux sender does (a smaller one only from a segment that acknowledges new
//! data or comes later in sequence), and a request sent ahead must leave its server a
//! window of at most `max_held` (its head offers it; or it comes with a zero window, and
//! the server answers only once a pure ACK opens it); a held response stays
//! unacknowledged, so a server accepts pure ACKs of less than it sent. Every request must reach a real its path allows, once; every
//! response must reach its client in request order, each byte as its server sent it
//! (the head names the request's path: `X-Path`).

use super::frame::{self, ArpIn, ArpOut, FrameIn, SegIn, SegOut};
use super::{
    real_addr, real_of, server_mac, FarmSpec, GATEWAY, GATEWAY_MAC, INSIDE_ADDR, INSIDE_MAC,
    LOCAL_PORTS, OUTSIDE_ADDR, OUTSIDE_MAC, REAL_ADDRS, VIP,
};
use crate::plan::{CLIENT_BASE, CLIENT_PORT_BASE, PORTS_PER_ADDRESS};
use crate::verify::{Mismatch, VerifyError};
use crate::BenchError;
use std::collections::VecDeque;
use std::net::Ipv4Addr;

mod clients;
mod servers;

/// Window of every client segment.
pub const CLIENT_WINDOW: u16 = 64240;
/// Window of every server segment.
pub const SERVER_WINDOW: u16 = 65160;
/// The MSS option every SYN of the generator carries (without Linux-like options).
const MSS_OPTION: [u8; 4] = [2, 4, 0x05, 0xb4];
/// The window scale peers announce with Linux-like options.
const LINUX_WSCALE: u8 = 7;
/// `Content-Length` of the request body and the response of `established`: the flows
/// stay spliced for as long as anyone will measure.
pub const ENDLESS: u64 = 1_000_000_000_000;
/// The byte pattern of bodies.
const PATTERN: &[u8] = b"splicer-bench payload ";
/// Client addresses `lifecycle` and `keepalive` rotate through (256 addresses).
const ID_SPACE: u32 = PORTS_PER_ADDRESS * 256;
/// Interval of the gateway's and servers' ARP announcements, in ms.
pub const ARP_REFRESH_MS: u64 = 10_000;
/// Largest response body of `lifecycle` and `keepalive` (one segment with its head).
pub const MAX_RESPONSE_BODY: usize = 1400;
/// Splicer's first retransmission timeout (`flow/tcp.rs`, `INITIAL_RTO_MS`; private
/// there, restated here): a peer that answers later than this gets the segment again.
pub const SPLICER_RTO_MS: u64 = 1000;
/// The shortest stall of either lcore that excuses a retransmission by Splicer: half
/// its RTO. A stall of S ms leaves a backlog behind it (up to two rings of 4096 frames,
/// which this bed drains at 20-100 thousand frames per second when the machine is
/// loaded: up to 0.4 s more), so an answer can reach the pipeline an RTO late after a
/// stall of about half of it; without such a stall, nothing excuses one.
pub const STALL_EXCUSES_MS: u64 = SPLICER_RTO_MS / 2;

/// Where the generator writes the frames it sends.
pub trait Emit {
    /// A buffer of exactly `len` bytes for the next frame to send; the caller writes all
    /// of it.
    fn frame(&mut self, len: usize) -> Result<&mut [u8], BenchError>;
}

impl Emit for Vec<Vec<u8>> {
    fn frame(&mut self, len: usize) -> Result<&mut [u8], BenchError> {
        self.push(vec![0; len]);
        Ok(self.last_mut().expect("just pushed"))
    }
}

/// What the clients do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Each flow: handshake, `POST` with an endless body, an endless response; once every
    /// flow is spliced, data segments of the bodies both ways, one segment per flow in
    /// flight, alternating direction.
    Established,
    /// Each client: handshake, one `GET`, the response, FIN; then a new connection.
    Lifecycle,
    /// Each client: handshake, `requests` `GET`s alternating between `/img/...` (the
    /// `img` rule's reals) and `/api/...` (the bind list), each after the previous
    /// response (acknowledged in the same segment), then FIN and a new connection.
    Keepalive {
        /// Requests per connection.
        requests: u32,
    },
    /// Each client: handshake, then batches of `depth` `GET`s written at once (as many
    /// per segment as fit in an MSS), their paths going to three reals in turn
    /// (`/r0/...`, `/r1/...`, `/r2/...`); every response is checked to be its
    /// request's, in order, and acknowledged as it arrives; the last one of a batch is
    /// acknowledged by the next batch. The connection stays open until the run stops.
    Pipelined {
        /// Requests per batch (1..=[`MAX_DEPTH`]).
        depth: u32,
    },
}

/// Largest `depth` of [`Mode::Pipelined`] (a batch's requests are tracked in a `u64`).
pub const MAX_DEPTH: u32 = 64;
/// Most bytes of requests a client puts in one segment (the MSS both sides announce).
const MSS: usize = 1460;

/// A scenario's traffic.
#[derive(Debug, Clone)]
pub struct Config {
    /// What the clients do.
    pub mode: Mode,
    /// Flows (`established`) or concurrent client connections (the others).
    pub flows: u32,
    /// `established`: data segments in flight (one per flow at most).
    pub inflight: usize,
    /// `established`: payload bytes per data segment; the others: response body bytes.
    pub payload: usize,
    /// The reals and rules the appliance was given.
    pub farm: FarmSpec,
    /// `established`: flows being set up at once.
    pub setup_window: u32,
    /// Interval of the ARP announcements in ms ([`ARP_REFRESH_MS`]; `u64::MAX`: only
    /// the first).
    pub arp_refresh_ms: u64,
    /// Clients and servers offer and accept what Linux does (MSS 1460, SACK permitted,
    /// timestamps, window scale 7) and put timestamps on every later segment; the
    /// verifier then checks the translated options (TSval never going back on a
    /// connection, TSecr echoing a TSval its receiver sent, no SACK blocks since
    /// nothing is lost, windows rescaled). `established` only.
    pub linux_options: bool,
}

/// Timestamps of one side of a connection, when negotiated.
#[derive(Debug, Clone, Copy, Default)]
struct Stamps {
    /// Negotiated on this connection.
    on: bool,
    /// The side's timestamp clock at the start of the run (random per connection); its
    /// TSval is `base` + the generator's millisecond clock, as Linux's is a millisecond
    /// clock with a random offset per connection.
    base: u32,
    /// The latest TSval it received (what its TSecr echoes).
    recent: u32,
    /// The window scale its peer (Splicer) announced to it (0: none).
    peer_wscale: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CState {
    Idle,
    SynSent,
    Requested,
    FinSent,
    Streaming,
}

#[derive(Debug, Clone, Copy)]
struct Client {
    id: u32,
    conns: u32,
    state: CState,
    iss: u32,
    snd_nxt: u32,
    rcv_nxt: u32,
    req: u32,
    resp_len: u32,
    resp_got: u32,
    acked: bool,
    in_flight: bool,
    next_up: bool,
    /// Server connection (slab index + 1) carrying the current request; 0 until it
    /// has received it.
    server: u32,
    /// `pipelined`: requests sent on this connection (the current batch ends there).
    sent: u32,
    /// `pipelined`: the first request of the current batch.
    batch: u32,
    /// `pipelined`: bit `i` set once a server received request `batch + i`.
    at_server: u64,
    /// `pipelined`: the highest acknowledgement Splicer sent this client.
    una: u32,
    up_sent: u64,
    down_rcvd: u64,
    ts: Stamps,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SState {
    Free,
    SynRcvd,
    Idle,
    Responded,
    Streaming,
    LastAck,
    /// `pipelined`: a request came with a zero window; the response waits for it to
    /// open.
    ZeroWindow,
}

#[derive(Debug, Clone, Copy)]
struct Server {
    real: u16,
    lport: u16,
    state: SState,
    snd_nxt: u32,
    rcv_nxt: u32,
    /// Client slot + 1 of the request it serves.
    client: u32,
    /// The request (index on its client's connection) it serves.
    req: u32,
    /// The oldest byte it sent that Splicer has not acknowledged.
    snd_una: u32,
    /// Its send window, as a Linux sender takes it (`Server::take_window`), and the
    /// sequence number of the segment it took it from (SND.WL1).
    wnd: u32,
    wl1: u32,
    up_rcvd: u64,
    down_sent: u64,
    ts: Stamps,
}

const FREE_SERVER: Server = Server {
    real: 0,
    lport: 0,
    state: SState::Free,
    snd_nxt: 0,
    rcv_nxt: 0,
    client: 0,
    req: 0,
    snd_una: 0,
    wnd: 0,
    wl1: 0,
    up_rcvd: 0,
    down_sent: 0,
    ts: Stamps {
        on: false,
        base: 0,
        recent: 0,
        peer_wscale: 0,
    },
};

/// A well-mixed 32-bit value (initial sequence numbers, body offsets).
fn mix(x: u32, salt: u32) -> u32 {
    let mut h = x.wrapping_add(salt).wrapping_mul(0x9e37_79b1);
    h ^= h >> 15;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^ (h >> 13)
}

fn client_addr(id: u32) -> (Ipv4Addr, u16) {
    (
        Ipv4Addr::from(u32::from(CLIENT_BASE) + id / PORTS_PER_ADDRESS),
        CLIENT_PORT_BASE + (id % PORTS_PER_ADDRESS) as u16,
    )
}

fn client_id(addr: (Ipv4Addr, u16)) -> Option<u32> {
    let hi = u32::from(addr.0).checked_sub(u32::from(CLIENT_BASE))?;
    if hi >= 16_384 {
        return None;
    }
    let lo = u32::from(addr.1.checked_sub(CLIENT_PORT_BASE)?);
    Some(hi * PORTS_PER_ADDRESS + lo)
}

/// Progress counters, read by the generator loop.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Frames received and verified.
    pub verified: u64,
    /// Requests whose response was received completely.
    pub requests: u64,
}

/// What the generator saw of pipelining (`pipelined`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PipelineSeen {
    /// Requests a server received while an earlier request of the same client
    /// connection was still unanswered (sent ahead: in parallel).
    pub ahead: u64,
    /// Requests that came with a zero window (Splicer's way of holding a response).
    pub zero_window: u64,
    /// Pure ACKs to clients that repeated the acknowledgement before (window updates).
    pub client_window_updates: u64,
    /// Pure ACKs to servers that acknowledged only part of what they sent (window
    /// updates of a held response).
    pub server_window_updates: u64,
}

/// The clients, the gateway and the servers of one splice scenario.
pub struct SpliceTraffic {
    cfg: Config,
    reals: u16,
    clients: Vec<Client>,
    servers: Vec<Server>,
    free_servers: Vec<u32>,
    /// (real, local port) → server slab index + 1.
    server_index: Vec<u32>,
    ready: VecDeque<u32>,
    pattern: Vec<u8>,
    scratch: Vec<u8>,
    returned: u64,
    requests: u64,
    per_real: Vec<u64>,
    server_syns: u64,
    setup_next: u32,
    setting_up: u32,
    spliced: u32,
    streaming: bool,
    in_flight: usize,
    started: bool,
    active: u32,
    stopping: bool,
    arp_pending: u32,
    gateway_ok: bool,
    next_refresh_ms: u64,
    id_generations: u32,
    seen: PipelineSeen,
    /// The millisecond clock of the last [`SpliceTraffic::tick`]: the peers' timestamp
    /// clock (in the loopback, its virtual clock, so that the gate's counts stay exact).
    clock_ms: u32,
    /// The longest stall of either lcore so far, in ms ([`SpliceTraffic::set_stall`]).
    stall_ms: u64,
    /// Retransmissions by Splicer the peers accepted ([`SpliceTraffic::retransmits_seen`]).
    retransmits: u64,
}

const LOCAL_SPAN: usize = (LOCAL_PORTS.1 - LOCAL_PORTS.0) as usize + 1;

impl SpliceTraffic {
    /// The peers of `cfg`. Every per-flow table is allocated and written here, so that
    /// the memory the generator needs is resident before the appliance's is measured.
    pub fn new(cfg: Config) -> SpliceTraffic {
        let reals = cfg.farm.reals;
        let flows = cfg.flows as usize;
        let client = Client {
            id: u32::MAX,
            conns: 0,
            state: CState::Idle,
            iss: 0,
            snd_nxt: 0,
            rcv_nxt: 0,
            req: 0,
            resp_len: 0,
            resp_got: 0,
            acked: false,
            in_flight: false,
            next_up: true,
            server: 0,
            sent: 0,
            batch: 0,
            at_server: 0,
            una: 0,
            up_sent: 0,
            down_rcvd: 0,
            ts: Stamps::default(),
        };
        // Server connections: one per flow (established), the pools and what
        // concurrency opens on demand, and room for connections that are closing.
        let max_servers = flows + usize::from(reals) * usize::from(cfg.farm.pool) + 4096;
        let mut ready = VecDeque::with_capacity(flows);
        ready.extend(0..cfg.flows);
        ready.clear();
        let pattern: Vec<u8> = PATTERN
            .iter()
            .copied()
            .cycle()
            .take(PATTERN.len() + 2048)
            .collect();
        SpliceTraffic {
            id_generations: (ID_SPACE / cfg.flows.max(1)).max(1),
            reals,
            clients: vec![client; flows],
            servers: vec![FREE_SERVER; max_servers],
            free_servers: (0..max_servers as u32).rev().collect(),
            server_index: vec![0; usize::from(reals) * LOCAL_SPAN],
            ready,
            pattern,
            scratch: Vec::with_capacity(256),
            returned: 0,
            requests: 0,
            per_real: vec![0; usize::from(reals)],
            server_syns: 0,
            setup_next: 0,
            setting_up: 0,
            spliced: 0,
            streaming: false,
            in_flight: 0,
            started: false,
            active: 0,
            stopping: false,
            arp_pending: 0,
            gateway_ok: false,
            next_refresh_ms: 0,
            seen: PipelineSeen::default(),
            clock_ms: 0,
            stall_ms: 0,
            retransmits: 0,
            cfg,
        }
    }

    /// The longest time either lcore was away (preempted) or busy at once so far, in
    /// ms. A peer that is that late to answer gets Splicer's segment again when its
    /// retransmission timer fires: see [`SpliceTraffic::retransmits_seen`].
    pub fn set_stall(&mut self, ms: u64) {
        self.stall_ms = ms;
    }

    /// Exact copies of Splicer's own segments (a SYN-ACK to a client, a SYN or a
    /// request head to a server) the peers received again and accepted, as a TCP peer
    /// does, because a stall of at least [`STALL_EXCUSES_MS`] had made them late to
    /// answer the first. Without such a stall a copy fails the run, as any unexpected
    /// segment does. The run then allows exactly this many `tcp_retransmits`.
    pub fn retransmits_seen(&self) -> u64 {
        self.retransmits
    }

    /// A copy of a segment Splicer sent before, which `flow`'s peer already answered:
    /// accepted (and counted) after a stall that explains it, a failure otherwise.
    fn retransmitted(&mut self, flow: u32, what: &'static str) -> Result<(), BenchError> {
        if self.stall_ms < STALL_EXCUSES_MS {
            return Err(self.fail(flow, Mismatch::Unexpected(what)));
        }
        self.retransmits += 1;
        Ok(())
    }

    /// Frames verified and requests completed so far.
    #[inline]
    pub fn progress(&self) -> Progress {
        Progress {
            verified: self.returned,
            requests: self.requests,
        }
    }

    /// Requests each real received.
    pub fn per_real(&self) -> &[u64] {
        &self.per_real
    }

    /// What the generator saw of pipelining.
    pub fn pipeline_seen(&self) -> PipelineSeen {
        self.seen
    }

    /// Server connections Splicer opened (SYNs the servers accepted).
    pub fn server_connections(&self) -> u64 {
        self.server_syns
    }

    /// True once the measured traffic runs: every flow spliced and its data flowing
    /// (`established`), every client started (the others).
    pub fn setup_done(&self) -> bool {
        match self.cfg.mode {
            Mode::Established => self.streaming,
            _ => self.started,
        }
    }

    /// Flows spliced so far (`established`).
    pub fn spliced(&self) -> u32 {
        self.spliced
    }

    /// Starts nothing new from now on: in-flight segments come back, connections finish
    /// their current request and close.
    pub fn stop(&mut self) {
        self.stopping = true;
    }

    /// Stopped, and nothing is outstanding.
    pub fn finished(&self) -> bool {
        self.stopping
            && self.arp_pending == 0
            && match self.cfg.mode {
                Mode::Established => self.in_flight == 0,
                _ => self.active == 0,
            }
    }

    /// What is still outstanding, for a timeout message.
    pub fn outstanding(&self) -> String {
        let mut by_state = [0u32; 5];
        for c in &self.clients {
            by_state[c.state as usize] += 1;
        }
        let mut servers = [0u32; 7];
        for s in &self.servers {
            servers[s.state as usize] += 1;
        }
        format!(
            "clients idle/syn-sent/requested/fin-sent/streaming {by_state:?}, server connections free/syn-rcvd/idle/responded/streaming/last-ack/zero-window {servers:?}, {} set up of {}, {} segments in flight, {} ARP requests unanswered, gateway resolved: {}",
            self.spliced, self.cfg.flows, self.in_flight, self.arp_pending, self.gateway_ok
        )
    }

    fn fail(&self, flow: u32, mismatch: Mismatch) -> BenchError {
        BenchError::Verify(VerifyError {
            packet: self.returned.saturating_sub(1),
            flow,
            mismatch,
        })
    }

    /// Periodic work: the ARP announcements (at once on the first call). `now_ms` is
    /// any millisecond clock.
    pub fn tick<O: Emit>(&mut self, now_ms: u64, out: &mut O) -> Result<(), BenchError> {
        self.clock_ms = now_ms as u32;
        if now_ms < self.next_refresh_ms {
            return Ok(());
        }
        self.next_refresh_ms = now_ms.saturating_add(self.cfg.arp_refresh_ms);
        let announce = |out: &mut O, mac: [u8; 6], ip: Ipv4Addr, to: [u8; 6], ask: Ipv4Addr| {
            ArpOut {
                dst_mac: to,
                op: 1,
                sender: (mac, ip),
                target: ([0; 6], ask),
            }
            .write(out.frame(ArpOut::LEN)?);
            Ok::<(), BenchError>(())
        };
        announce(out, GATEWAY_MAC, GATEWAY, OUTSIDE_MAC, VIP.0)?;
        self.arp_pending += 1;
        for a in 0..self.reals.min(REAL_ADDRS) {
            let ip = *real_addr(a).ip();
            announce(out, server_mac(ip), ip, INSIDE_MAC, INSIDE_ADDR)?;
            self.arp_pending += 1;
        }
        Ok(())
    }

    /// Starts what may start: client connections once the gateway is resolved, the
    /// flows' data once all are spliced (`established`).
    pub fn pump<O: Emit>(&mut self, out: &mut O) -> Result<(), BenchError> {
        if !self.gateway_ok || self.stopping {
            return Ok(());
        }
        match self.cfg.mode {
            Mode::Established => {
                while self.setting_up < self.cfg.setup_window && self.setup_next < self.cfg.flows {
                    let slot = self.setup_next;
                    self.setup_next += 1;
                    self.setting_up += 1;
                    self.start_conn(slot, out)?;
                }
                if !self.streaming && self.spliced == self.cfg.flows {
                    self.streaming = true;
                    for _ in 0..self.cfg.inflight.min(self.cfg.flows as usize) {
                        self.send_next(out)?;
                    }
                }
            }
            // Pipelined requests go out in parallel only onto idle pooled connections:
            // the clients start once the pools are open.
            Mode::Pipelined { .. }
                if !self.started
                    && self.server_syns < u64::from(self.reals) * u64::from(self.cfg.farm.pool) => {
            }
            _ if !self.started => {
                self.started = true;
                for slot in 0..self.cfg.flows {
                    self.start_conn(slot, out)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Verifies a frame the appliance sent and answers it.
    pub fn receive<O: Emit>(&mut self, bytes: &[u8], out: &mut O) -> Result<(), BenchError> {
        self.returned += 1;
        match frame::parse(bytes).map_err(|m| self.fail(u32::MAX, m))? {
            FrameIn::Arp(a) => self.arp_in(&a, out),
            FrameIn::Tcp(s) => {
                if let Some(id) = client_id(s.dst) {
                    self.client_in(id, &s, out)
                } else if let Some(r) = real_of(s.dst, self.reals) {
                    self.server_in(r, &s, out)
                } else {
                    Err(self.fail(
                        u32::MAX,
                        Mismatch::Unexpected("a segment to an address nobody plays"),
                    ))
                }
            }
        }
    }

    // ---- ARP --------------------------------------------------------------------------

    fn arp_in<O: Emit>(&mut self, a: &ArpIn, out: &mut O) -> Result<(), BenchError> {
        let bad = |s: &Self, what| Err(s.fail(u32::MAX, Mismatch::Arp(what)));
        if a.src_mac != a.sender.0 {
            return bad(self, "Ethernet source is not the sender hardware address");
        }
        let ours = |ip: Ipv4Addr| -> Option<[u8; 6]> {
            if ip == GATEWAY {
                return Some(GATEWAY_MAC);
            }
            real_of((ip, 8080), self.reals.min(REAL_ADDRS)).map(|_| server_mac(ip))
        };
        match a.op {
            1 => {
                if a.dst_mac != [0xff; 6] {
                    return bad(self, "a request not sent to broadcast");
                }
                let side_ok = match a.sender {
                    (OUTSIDE_MAC, OUTSIDE_ADDR) => a.target.1 == GATEWAY,
                    (INSIDE_MAC, INSIDE_ADDR) => a.target.1 != GATEWAY,
                    _ => return bad(self, "a request from an address that is not a port's"),
                };
                let Some(mac) = ours(a.target.1).filter(|_| side_ok) else {
                    return bad(self, "a request for an address nobody plays on that side");
                };
                ArpOut {
                    dst_mac: a.sender.0,
                    op: 2,
                    sender: (mac, a.target.1),
                    target: a.sender,
                }
                .write(out.frame(ArpOut::LEN)?);
                Ok(())
            }
            _ => {
                if self.arp_pending == 0 {
                    return bad(self, "a reply nobody asked for");
                }
                let Some(mac) = ours(a.target.1) else {
                    return bad(self, "a reply to an address nobody plays");
                };
                if a.target.0 != mac || a.dst_mac != mac {
                    return bad(self, "a reply to the wrong MAC");
                }
                let expected = if a.target.1 == GATEWAY {
                    (OUTSIDE_MAC, VIP.0)
                } else {
                    (INSIDE_MAC, INSIDE_ADDR)
                };
                if a.sender != expected {
                    return bad(self, "a reply from the wrong port or for the wrong address");
                }
                self.arp_pending -= 1;
                if a.target.1 == GATEWAY {
                    self.gateway_ok = true;
                }
                Ok(())
            }
        }
    }
}

/// The client slot named in a request's path (`/e/<slot>`, `/l/<slot>/..`,
/// `/img/<slot>/..`, `/api/<slot>/..`, `/r<k>/<slot>/..`).
fn request_slot(payload: &[u8]) -> Option<u32> {
    let line_end = payload.iter().position(|&b| b == b'\r')?;
    let line = std::str::from_utf8(&payload[..line_end]).ok()?;
    let path = line.split(' ').nth(1)?;
    path.split('/').nth(2)?.parse().ok()
}

fn check_flags(
    t: &SpliceTraffic,
    flow: u32,
    s: &SegIn<'_>,
    expected: u8,
) -> Result<(), BenchError> {
    if s.flags == expected {
        Ok(())
    } else {
        Err(t.fail(
            flow,
            Mismatch::Flags {
                got: s.flags,
                expected,
            },
        ))
    }
}

/// `expected` 0: any non-zero window (segments Splicer originates).
fn check_window(
    t: &SpliceTraffic,
    flow: u32,
    s: &SegIn<'_>,
    expected: u16,
) -> Result<(), BenchError> {
    let ok = if expected == 0 {
        s.window != 0
    } else {
        s.window == expected
    };
    if ok {
        Ok(())
    } else {
        Err(t.fail(
            flow,
            Mismatch::Window {
                got: s.window,
                expected,
            },
        ))
    }
}

// The segment's fields, one argument each (as `SegOut` has them), and the clock its
// timestamp reads.
#[allow(clippy::too_many_arguments)]
fn client_send<O: Emit>(
    out: &mut O,
    now_ms: u32,
    c: &Client,
    seq: u32,
    ack: u32,
    fl: u8,
    options: &[u8],
    payload: [&[u8]; 2],
) -> Result<(), BenchError> {
    let stamp;
    let options = if options.is_empty() && c.ts.on {
        stamp = frame::timestamp_option(c.ts.base.wrapping_add(now_ms), c.ts.recent);
        &stamp[..]
    } else {
        options
    };
    let seg = SegOut {
        src_mac: GATEWAY_MAC,
        dst_mac: OUTSIDE_MAC,
        src: client_addr(c.id),
        dst: VIP,
        seq,
        ack,
        flags: fl,
        window: CLIENT_WINDOW,
        options,
        payload,
    };
    seg.write(out.frame(seg.frame_len())?);
    Ok(())
}

// The segment's fields, one argument each (as `SegOut` has them), and the clock its
// timestamp reads.
#[allow(clippy::too_many_arguments)]
fn server_send<O: Emit>(
    out: &mut O,
    now_ms: u32,
    s: &Server,
    seq: u32,
    ack: u32,
    fl: u8,
    options: &[u8],
    payload: [&[u8]; 2],
) -> Result<(), BenchError> {
    let addr = real_addr(s.real);
    let stamp;
    let options = if options.is_empty() && s.ts.on {
        stamp = frame::timestamp_option(s.ts.base.wrapping_add(now_ms), s.ts.recent);
        &stamp[..]
    } else {
        options
    };
    let seg = SegOut {
        src_mac: server_mac(*addr.ip()),
        dst_mac: INSIDE_MAC,
        src: (*addr.ip(), addr.port()),
        dst: (INSIDE_ADDR, s.lport),
        seq,
        ack,
        flags: fl,
        window: SERVER_WINDOW,
        options,
        payload,
    };
    seg.write(out.frame(seg.frame_len())?);
    Ok(())
}

/// The options of a segment after the handshake, seen by a peer whose timestamps are
/// `ts` and whose clock reads `now`: none without timestamps; with them, timestamps and
/// nothing else (no SACK blocks: nothing is lost on this bed), a TSval not older than the
/// last one (PAWS, RFC 7323 §5) and a TSecr that echoes a TSval this peer sent on this
/// connection (between its first and its latest; the random clock base makes any
/// mistranslation land outside; 1 ms of slack above the latest, since Splicer maps its own
/// millisecond clock onto the peer's and the two clocks' milliseconds begin at different
/// instants). Returns the TSval, for the peer's next TSecr.
fn check_later_options(
    t: &SpliceTraffic,
    flow: u32,
    s: &SegIn<'_>,
    ts: &Stamps,
    now: u32,
) -> Result<u32, BenchError> {
    if !ts.on {
        return if s.options.is_empty() {
            Ok(0)
        } else {
            Err(t.fail(flow, Mismatch::Options))
        };
    }
    let o = frame::options(s.options).ok_or_else(|| t.fail(flow, Mismatch::Options))?;
    let Some((tsval, tsecr)) = o.ts else {
        return Err(t.fail(flow, Mismatch::Options));
    };
    if o.sack || o.mss.is_some() || o.wscale.is_some() || o.sack_ok {
        return Err(t.fail(flow, Mismatch::Options));
    }
    if (tsval.wrapping_sub(ts.recent) as i32) < 0 {
        return Err(t.fail(
            flow,
            Mismatch::TsvalBack {
                got: tsval,
                recent: ts.recent,
            },
        ));
    }
    let (echoed, clock) = (tsecr.wrapping_sub(ts.base), now.wrapping_sub(ts.base));
    if echoed > clock.wrapping_add(1) {
        return Err(t.fail(flow, Mismatch::TsecrUnsent { echoed, clock }));
    }
    Ok(tsval)
}

/// The window a forwarded segment must carry: `window` as its sender wrote it (scaled
/// by [`LINUX_WSCALE`] with Linux-like options), rewritten with the scale Splicer
/// announced to its receiver (`to_scale`).
fn forwarded_window(linux: bool, window: u16, to_scale: u8) -> u16 {
    let from = if linux { LINUX_WSCALE } else { 0 };
    ((u32::from(window) << from) >> to_scale).min(65_535) as u16
}

/// The path of a request head (between the method and the version).
fn request_path(payload: &[u8]) -> Option<&[u8]> {
    let line_end = payload.iter().position(|&b| b == b'\r')?;
    payload[..line_end].split(|&b| b == b' ').nth(1)
}

/// The request index at the end of a pipelined request's path (`/r<k>/<slot>/<conns>.<req>`).
fn request_index(payload: &[u8]) -> Option<u32> {
    let path = std::str::from_utf8(request_path(payload)?).ok()?;
    path.rsplit('.').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn farm() -> FarmSpec {
        FarmSpec::all(4, 4, 1024)
    }

    /// A data segment to a client with `options`, parsed as the verifier sees it.
    fn check(ts: &Stamps, now: u32, options: &[u8]) -> bool {
        let t = SpliceTraffic::new(Config {
            mode: Mode::Established,
            flows: 1,
            inflight: 1,
            payload: 6,
            farm: farm(),
            setup_window: 1,
            arp_refresh_ms: ARP_REFRESH_MS,
            linux_options: true,
        });
        let seg = SegOut {
            src_mac: OUTSIDE_MAC,
            dst_mac: GATEWAY_MAC,
            src: VIP,
            dst: client_addr(0),
            seq: 1,
            ack: 1,
            flags: frame::flags::ACK,
            window: 100,
            options,
            payload: [b"abcdef", &[]],
        };
        let mut f = vec![0; seg.frame_len()];
        seg.write(&mut f);
        let FrameIn::Tcp(s) = frame::parse(&f).unwrap() else {
            panic!("not TCP")
        };
        check_later_options(&t, 0, &s, ts, now).is_ok()
    }

    #[test]
    fn timestamps_are_checked_on_every_segment() {
        let ts = Stamps {
            on: true,
            base: 0xffff_fff0,
            recent: 1000,
            peer_wscale: 7,
        };
        let now = 0x10; // the clock wrapped since `base`
        assert!(check(&ts, now, &frame::timestamp_option(1000, 0xffff_fff0)));
        assert!(check(&ts, now, &frame::timestamp_option(1001, 0x10)));
        // TSval going back (PAWS), TSecr not one the client sent (before its first,
        // after its latest), no timestamps, SACK blocks with them.
        assert!(!check(&ts, now, &frame::timestamp_option(999, 0x10)));
        assert!(!check(
            &ts,
            now,
            &frame::timestamp_option(1000, 0xffff_ffef)
        ));
        // (1 ms of slack above the latest: the two clocks' milliseconds.)
        assert!(check(&ts, now, &frame::timestamp_option(1000, 0x11)));
        assert!(!check(&ts, now, &frame::timestamp_option(1000, 0x12)));
        assert!(!check(&ts, now, &[]));
        let mut sack = frame::timestamp_option(1000, 0).to_vec();
        sack.extend_from_slice(&[1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2]);
        assert!(!check(&ts, now, &sack));
        // Without timestamps: no options at all.
        let off = Stamps { on: false, ..ts };
        assert!(check(&off, now, &[]));
        assert!(!check(&off, now, &frame::timestamp_option(1000, 0)));
    }

    #[test]
    fn forwarded_windows_are_rescaled() {
        assert_eq!(forwarded_window(false, SERVER_WINDOW, 0), SERVER_WINDOW);
        assert_eq!(forwarded_window(true, SERVER_WINDOW, 7), SERVER_WINDOW);
        assert_eq!(forwarded_window(true, 100, 9), 25);
        assert_eq!(forwarded_window(true, 1000, 0), 65_535);
    }
}
