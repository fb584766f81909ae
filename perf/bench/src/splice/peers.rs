//! The generator of the splice scenarios: the clients, the gateway they are behind and
//! the real servers, at packet level, verifying every frame the appliance sends.
//!
//! **Clients** (outside, behind the gateway `198.18.0.254`) open TCP connections to the
//! VIP: a SYN with MSS 1460 and nothing else (no window scaling, SACK or timestamps, so
//! segments carry no options after the handshake), then the handshake's ACK carrying the
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

use super::frame::{self, flags, ArpIn, ArpOut, FrameIn, SegIn, SegOut};
use super::{
    real_addr, real_of, server_mac, FarmSpec, GATEWAY, GATEWAY_MAC, INSIDE_ADDR, INSIDE_MAC,
    LOCAL_PORTS, OUTSIDE_ADDR, OUTSIDE_MAC, REAL_ADDRS, VIP,
};
use crate::plan::{CLIENT_BASE, CLIENT_PORT_BASE, PORTS_PER_ADDRESS};
use crate::verify::{Mismatch, VerifyError};
use crate::BenchError;
use std::collections::VecDeque;
use std::io::Write;
use std::net::Ipv4Addr;

/// Window of every client segment.
pub const CLIENT_WINDOW: u16 = 64240;
/// Window of every server segment.
pub const SERVER_WINDOW: u16 = 65160;
/// The MSS option every SYN of the generator carries.
const MSS_OPTION: [u8; 4] = [2, 4, 0x05, 0xb4];
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
}

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
    up_sent: u64,
    down_rcvd: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SState {
    Free,
    SynRcvd,
    Idle,
    Responded,
    Streaming,
    LastAck,
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
    up_rcvd: u64,
    down_sent: u64,
}

const FREE_SERVER: Server = Server {
    real: 0,
    lport: 0,
    state: SState::Free,
    snd_nxt: 0,
    rcv_nxt: 0,
    client: 0,
    up_rcvd: 0,
    down_sent: 0,
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

/// The clients, the gateway and the servers of one splice scenario.
pub struct SpliceTraffic {
    cfg: Config,
    reals: u16,
    img_ok: Vec<bool>,
    bind_ok: Vec<bool>,
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
}

const LOCAL_SPAN: usize = (LOCAL_PORTS.1 - LOCAL_PORTS.0) as usize + 1;

impl SpliceTraffic {
    /// The peers of `cfg`. Every per-flow table is allocated and written here, so that
    /// the memory the generator needs is resident before the appliance's is measured.
    pub fn new(cfg: Config) -> SpliceTraffic {
        let reals = cfg.farm.reals;
        let mut img_ok = vec![false; usize::from(reals)];
        let mut bind_ok = vec![false; usize::from(reals)];
        for &r in &cfg.farm.img {
            img_ok[usize::from(r)] = true;
        }
        for &r in &cfg.farm.bind {
            bind_ok[usize::from(r)] = true;
        }
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
            up_sent: 0,
            down_rcvd: 0,
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
            img_ok,
            bind_ok,
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
            cfg,
        }
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
        let mut servers = [0u32; 6];
        for s in &self.servers {
            servers[s.state as usize] += 1;
        }
        format!(
            "clients idle/syn-sent/requested/fin-sent/streaming {by_state:?}, server connections free/syn-rcvd/idle/responded/streaming/last-ack {servers:?}, {} set up of {}, {} segments in flight, {} ARP requests unanswered, gateway resolved: {}",
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

    // ---- clients ------------------------------------------------------------------------

    fn slot_of(&self, id: u32) -> u32 {
        match self.cfg.mode {
            Mode::Established => id,
            _ => id % self.cfg.flows,
        }
    }

    fn start_conn<O: Emit>(&mut self, slot: u32, out: &mut O) -> Result<(), BenchError> {
        let gens = self.id_generations;
        let flows = self.cfg.flows;
        let established = self.cfg.mode == Mode::Established;
        let c = &mut self.clients[slot as usize];
        c.conns = c.conns.wrapping_add(1);
        c.id = if established {
            slot
        } else {
            (c.conns % gens) * flows + slot
        };
        c.iss = mix(c.id, c.conns.wrapping_mul(0x0101_0101) ^ 0x0c11_e417);
        c.snd_nxt = c.iss.wrapping_add(1);
        c.rcv_nxt = 0;
        c.state = CState::SynSent;
        c.req = 0;
        c.server = 0;
        c.acked = false;
        if !established {
            self.active += 1;
        }
        let c = *c;
        client_send(out, &c, c.iss, 0, flags::SYN, &MSS_OPTION, [&[], &[]])
    }

    /// The request `req` of connection `conns` of client `slot`, into `buf`.
    fn request_into(&self, slot: u32, conns: u32, req: u32, buf: &mut Vec<u8>) {
        buf.clear();
        let _ = match self.cfg.mode {
            Mode::Established => write!(
                buf,
                "POST /e/{slot} HTTP/1.1\r\nHost: bench\r\nContent-Length: {ENDLESS}\r\n\r\n"
            ),
            Mode::Lifecycle => write!(buf, "GET /l/{slot}/{conns} HTTP/1.1\r\nHost: bench\r\n\r\n"),
            Mode::Keepalive { .. } => {
                let kind = if req % 2 == 0 { "img" } else { "api" };
                write!(
                    buf,
                    "GET /{kind}/{slot}/{conns}.{req} HTTP/1.1\r\nHost: bench\r\n\r\n"
                )
            }
        };
    }

    /// The response head to request `req` of connection `conns` of `slot`, into `buf`,
    /// and where its body starts in the pattern.
    fn response_into(&self, slot: u32, conns: u32, req: u32, buf: &mut Vec<u8>) -> usize {
        buf.clear();
        match self.cfg.mode {
            Mode::Established => {
                let _ = write!(buf, "HTTP/1.1 200 OK\r\nContent-Length: {ENDLESS}\r\n\r\n");
                0
            }
            _ => {
                let _ = write!(
                    buf,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                    self.cfg.payload
                );
                mix(slot ^ (req << 20), conns) as usize % PATTERN.len()
            }
        }
    }

    fn response_len(&self, slot: u32, conns: u32, req: u32) -> u32 {
        let mut b = Vec::with_capacity(64);
        self.response_into(slot, conns, req, &mut b);
        let body = match self.cfg.mode {
            Mode::Established => 0,
            _ => self.cfg.payload,
        };
        (b.len() + body) as u32
    }

    fn send_request<O: Emit>(
        &mut self,
        slot: u32,
        extra: u8,
        out: &mut O,
    ) -> Result<(), BenchError> {
        let mut buf = std::mem::take(&mut self.scratch);
        let c = self.clients[slot as usize];
        self.request_into(slot, c.conns, c.req, &mut buf);
        let resp_len = self.response_len(slot, c.conns, c.req);
        let r = client_send(
            out,
            &c,
            c.snd_nxt,
            c.rcv_nxt,
            flags::ACK | flags::PSH | extra,
            &[],
            [&buf, &[]],
        );
        let c = &mut self.clients[slot as usize];
        c.snd_nxt = c.snd_nxt.wrapping_add(buf.len() as u32);
        c.state = CState::Requested;
        c.acked = false;
        c.server = 0;
        c.resp_len = resp_len;
        c.resp_got = 0;
        self.scratch = buf;
        r
    }

    fn client_in<O: Emit>(
        &mut self,
        id: u32,
        s: &SegIn<'_>,
        out: &mut O,
    ) -> Result<(), BenchError> {
        let slot = self.slot_of(id);
        let Some(&c) = self.clients.get(slot as usize) else {
            return Err(self.fail(
                slot,
                Mismatch::Unexpected("a segment to a client address outside the plan"),
            ));
        };
        let fail = |s: &Self, m| Err(s.fail(slot, m));
        if c.id != id || c.state == CState::Idle {
            return fail(
                self,
                Mismatch::Unexpected("a segment for a closed client connection"),
            );
        }
        if s.src != VIP {
            return fail(
                self,
                Mismatch::Addresses {
                    got: (s.src.0, s.dst.0),
                    expected: (VIP.0, s.dst.0),
                },
            );
        }
        if s.src_mac != OUTSIDE_MAC || s.dst_mac != GATEWAY_MAC {
            return fail(self, Mismatch::Ethernet);
        }
        if s.flags & flags::RST != 0 {
            return fail(self, Mismatch::Unexpected("a RST to a client"));
        }
        if c.state == CState::SynSent {
            return self.client_syn_ack(slot, c, s, out);
        }
        if s.seq != c.rcv_nxt {
            return fail(
                self,
                Mismatch::Seq {
                    got: s.seq,
                    expected: c.rcv_nxt,
                },
            );
        }
        if s.ack != c.snd_nxt {
            return fail(
                self,
                Mismatch::Ack {
                    got: s.ack,
                    expected: c.snd_nxt,
                },
            );
        }
        if !s.options.is_empty() {
            return fail(self, Mismatch::Options);
        }
        match c.state {
            CState::Requested if s.payload.is_empty() => {
                check_flags(self, slot, s, flags::ACK)?;
                check_window(self, slot, s, 0)?;
                if c.acked {
                    return fail(self, Mismatch::Unexpected("a duplicate ACK to a client"));
                }
                self.clients[slot as usize].acked = true;
                Ok(())
            }
            CState::Requested => {
                check_flags(self, slot, s, flags::ACK | flags::PSH)?;
                check_window(self, slot, s, SERVER_WINDOW)?;
                if c.server == 0 {
                    return fail(
                        self,
                        Mismatch::Unexpected("response data before the server had the request"),
                    );
                }
                // Splicer acknowledges a request head as it takes it, before any server
                // has seen it: its ACK precedes the response. A response without it means
                // that ACK was lost.
                if !c.acked {
                    return fail(
                        self,
                        Mismatch::Unexpected("response data before Splicer's ACK of the request"),
                    );
                }
                let mut buf = std::mem::take(&mut self.scratch);
                let body_at = self.response_into(slot, c.conns, c.req, &mut buf);
                let head = buf.len();
                let got = c.resp_got as usize;
                let end = got + s.payload.len();
                let ok = end <= c.resp_len as usize && {
                    let body = &self.pattern[body_at..];
                    s.payload.iter().enumerate().all(|(i, &b)| {
                        let at = got + i;
                        b == if at < head { buf[at] } else { body[at - head] }
                    })
                };
                self.scratch = buf;
                if !ok {
                    return fail(self, Mismatch::Payload);
                }
                let c = &mut self.clients[slot as usize];
                c.rcv_nxt = c.rcv_nxt.wrapping_add(s.payload.len() as u32);
                c.resp_got = end as u32;
                if c.resp_got == c.resp_len {
                    return self.response_done(slot, out);
                }
                Ok(())
            }
            CState::FinSent => {
                check_flags(self, slot, s, flags::FIN | flags::ACK)?;
                check_window(self, slot, s, 0)?;
                if !s.payload.is_empty() {
                    return fail(self, Mismatch::Payload);
                }
                let c = &mut self.clients[slot as usize];
                c.rcv_nxt = c.rcv_nxt.wrapping_add(1);
                c.state = CState::Idle;
                let c = *c;
                self.active -= 1;
                client_send(out, &c, c.snd_nxt, c.rcv_nxt, flags::ACK, &[], [&[], &[]])?;
                if !self.stopping {
                    self.start_conn(slot, out)?;
                }
                Ok(())
            }
            CState::Streaming => {
                check_flags(self, slot, s, flags::ACK | flags::PSH)?;
                check_window(self, slot, s, SERVER_WINDOW)?;
                let p = self.cfg.payload;
                if !c.in_flight || !c.next_up {
                    return fail(
                        self,
                        Mismatch::Unexpected(
                            "a server segment of a flow whose server had none in flight",
                        ),
                    );
                }
                if s.payload != self.pattern_at(c.down_rcvd, p) {
                    return fail(self, Mismatch::Payload);
                }
                let c = &mut self.clients[slot as usize];
                c.rcv_nxt = c.rcv_nxt.wrapping_add(p as u32);
                c.down_rcvd += p as u64;
                self.returned_data(slot, out)
            }
            CState::Idle | CState::SynSent => unreachable!("handled above"),
        }
    }

    fn client_syn_ack<O: Emit>(
        &mut self,
        slot: u32,
        c: Client,
        s: &SegIn<'_>,
        out: &mut O,
    ) -> Result<(), BenchError> {
        check_flags(self, slot, s, flags::SYN | flags::ACK)?;
        let want = c.iss.wrapping_add(1);
        if s.ack != want {
            return Err(self.fail(
                slot,
                Mismatch::Ack {
                    got: s.ack,
                    expected: want,
                },
            ));
        }
        check_window(self, slot, s, 0)?;
        let o = frame::options(s.options).ok_or_else(|| self.fail(slot, Mismatch::Options))?;
        if o.mss != Some(1460) || o.wscale.is_some() || o.sack_ok || o.ts || o.sack {
            return Err(self.fail(slot, Mismatch::Options));
        }
        if !s.payload.is_empty() {
            return Err(self.fail(slot, Mismatch::Payload));
        }
        self.clients[slot as usize].rcv_nxt = s.seq.wrapping_add(1);
        self.send_request(slot, 0, out)
    }

    /// The whole response of the current request arrived.
    fn response_done<O: Emit>(&mut self, slot: u32, out: &mut O) -> Result<(), BenchError> {
        match self.cfg.mode {
            Mode::Established => {
                self.clients[slot as usize].state = CState::Streaming;
                self.ready.push_back(slot);
                self.spliced += 1;
                self.setting_up -= 1;
                Ok(())
            }
            Mode::Lifecycle => {
                self.requests += 1;
                self.client_fin(slot, out)
            }
            Mode::Keepalive { requests } => {
                self.requests += 1;
                let c = &mut self.clients[slot as usize];
                c.req += 1;
                if c.req < requests && !self.stopping {
                    // The next request acknowledges the response.
                    self.send_request(slot, 0, out)
                } else {
                    self.client_fin(slot, out)
                }
            }
        }
    }

    fn client_fin<O: Emit>(&mut self, slot: u32, out: &mut O) -> Result<(), BenchError> {
        let c = &mut self.clients[slot as usize];
        let seq = c.snd_nxt;
        c.snd_nxt = c.snd_nxt.wrapping_add(1);
        c.state = CState::FinSent;
        let c = *c;
        client_send(
            out,
            &c,
            seq,
            c.rcv_nxt,
            flags::ACK | flags::FIN,
            &[],
            [&[], &[]],
        )
    }

    fn pattern_at(&self, offset: u64, len: usize) -> &[u8] {
        let at = (offset % PATTERN.len() as u64) as usize;
        &self.pattern[at..at + len]
    }

    /// A data segment of `established` came back verified: the flow may send its next.
    fn returned_data<O: Emit>(&mut self, slot: u32, out: &mut O) -> Result<(), BenchError> {
        self.clients[slot as usize].in_flight = false;
        self.in_flight -= 1;
        self.ready.push_back(slot);
        if !self.stopping {
            self.send_next(out)?;
        }
        Ok(())
    }

    /// Sends the next data segment of the flow first in line: from its client and from
    /// its server in turn.
    fn send_next<O: Emit>(&mut self, out: &mut O) -> Result<(), BenchError> {
        let Some(slot) = self.ready.pop_front() else {
            return Ok(());
        };
        let p = self.cfg.payload;
        let c = self.clients[slot as usize];
        let at = |off: u64| (off % PATTERN.len() as u64) as usize;
        if c.next_up {
            let payload = &self.pattern[at(c.up_sent)..at(c.up_sent) + p];
            client_send(
                out,
                &c,
                c.snd_nxt,
                c.rcv_nxt,
                flags::ACK | flags::PSH,
                &[],
                [payload, &[]],
            )?;
            let c = &mut self.clients[slot as usize];
            c.snd_nxt = c.snd_nxt.wrapping_add(p as u32);
            c.up_sent += p as u64;
        } else {
            let si = c.server as usize - 1;
            let s = self.servers[si];
            let payload = &self.pattern[at(s.down_sent)..at(s.down_sent) + p];
            server_send(
                out,
                &s,
                s.snd_nxt,
                s.rcv_nxt,
                flags::ACK | flags::PSH,
                &[],
                [payload, &[]],
            )?;
            let s = &mut self.servers[si];
            s.snd_nxt = s.snd_nxt.wrapping_add(p as u32);
            s.down_sent += p as u64;
        }
        let c = &mut self.clients[slot as usize];
        c.in_flight = true;
        c.next_up = !c.next_up;
        self.in_flight += 1;
        Ok(())
    }

    // ---- servers ------------------------------------------------------------------------

    fn server_in<O: Emit>(
        &mut self,
        real: u16,
        s: &SegIn<'_>,
        out: &mut O,
    ) -> Result<(), BenchError> {
        let lport = s.src.1;
        let fail = |t: &Self, m| Err(t.fail(u32::from(real), m));
        if s.src.0 != INSIDE_ADDR || !(LOCAL_PORTS.0..=LOCAL_PORTS.1).contains(&lport) {
            return fail(
                self,
                Mismatch::Unexpected(
                    "a server connection from outside the inside address and Splicer's local ports",
                ),
            );
        }
        if s.src_mac != INSIDE_MAC || s.dst_mac != server_mac(s.dst.0) {
            return fail(self, Mismatch::Ethernet);
        }
        if s.flags & flags::RST != 0 {
            return fail(self, Mismatch::Unexpected("a RST to a server"));
        }
        let key = usize::from(real) * LOCAL_SPAN + usize::from(lport - LOCAL_PORTS.0);
        let idx = self.server_index[key];
        if s.flags & flags::SYN != 0 {
            check_flags(self, u32::from(real), s, flags::SYN)?;
            if idx != 0 {
                return fail(
                    self,
                    Mismatch::Unexpected("a SYN for a server connection that is open"),
                );
            }
            let o = frame::options(s.options)
                .ok_or_else(|| self.fail(u32::from(real), Mismatch::Options))?;
            if o.mss != Some(1460) || o.sack {
                return fail(self, Mismatch::Options);
            }
            check_window(self, u32::from(real), s, 0)?;
            if !s.payload.is_empty() {
                return fail(self, Mismatch::Payload);
            }
            let Some(si) = self.free_servers.pop() else {
                return Err(BenchError::Setup(
                    "the generator ran out of server connection slots".into(),
                ));
            };
            self.server_syns += 1;
            let iss = mix(
                u32::from(real) << 16 | u32::from(lport),
                self.server_syns as u32,
            );
            let srv = Server {
                real,
                lport,
                state: SState::SynRcvd,
                snd_nxt: iss.wrapping_add(1),
                rcv_nxt: s.seq.wrapping_add(1),
                client: 0,
                up_rcvd: 0,
                down_sent: 0,
            };
            self.servers[si as usize] = srv;
            self.server_index[key] = si + 1;
            return server_send(
                out,
                &srv,
                iss,
                srv.rcv_nxt,
                flags::SYN | flags::ACK,
                &MSS_OPTION,
                [&[], &[]],
            );
        }
        if idx == 0 {
            return fail(
                self,
                Mismatch::Unexpected("a segment for a server connection that is not open"),
            );
        }
        let si = (idx - 1) as usize;
        let srv = self.servers[si];
        if s.seq != srv.rcv_nxt {
            return fail(
                self,
                Mismatch::Seq {
                    got: s.seq,
                    expected: srv.rcv_nxt,
                },
            );
        }
        if s.ack != srv.snd_nxt {
            return fail(
                self,
                Mismatch::Ack {
                    got: s.ack,
                    expected: srv.snd_nxt,
                },
            );
        }
        if !s.options.is_empty() {
            return fail(self, Mismatch::Options);
        }
        match srv.state {
            SState::SynRcvd | SState::Responded | SState::LastAck if s.payload.is_empty() => {
                check_flags(self, u32::from(real), s, flags::ACK)?;
                check_window(self, u32::from(real), s, 0)?;
                if srv.state == SState::LastAck {
                    self.servers[si] = FREE_SERVER;
                    self.server_index[key] = 0;
                    self.free_servers.push(si as u32);
                } else {
                    let srv = &mut self.servers[si];
                    srv.state = SState::Idle;
                    srv.client = 0;
                }
                Ok(())
            }
            SState::Idle if s.flags & flags::FIN != 0 => {
                // Splicer closes a pooled connection: close ours too.
                check_flags(self, u32::from(real), s, flags::FIN | flags::ACK)?;
                if !s.payload.is_empty() {
                    return fail(self, Mismatch::Payload);
                }
                let srv = &mut self.servers[si];
                srv.rcv_nxt = srv.rcv_nxt.wrapping_add(1);
                srv.state = SState::LastAck;
                let seq = srv.snd_nxt;
                srv.snd_nxt = seq.wrapping_add(1);
                let srv = *srv;
                server_send(
                    out,
                    &srv,
                    seq,
                    srv.rcv_nxt,
                    flags::FIN | flags::ACK,
                    &[],
                    [&[], &[]],
                )
            }
            SState::Responded if !s.payload.is_empty() => fail(
                self,
                // Splicer ACKs a response on its client's behalf before it frees the
                // connection for another request: that ACK was lost.
                Mismatch::Unexpected(
                    "a request on a server connection before the ACK of its last response",
                ),
            ),
            SState::Idle if !s.payload.is_empty() => {
                check_flags(self, u32::from(real), s, flags::ACK | flags::PSH)?;
                check_window(self, u32::from(real), s, 0)?;
                self.request_in(si, s.payload, out)
            }
            SState::Idle => fail(self, Mismatch::Unexpected("a duplicate ACK to a server")),
            SState::Streaming => {
                check_flags(self, u32::from(real), s, flags::ACK | flags::PSH)?;
                check_window(self, u32::from(real), s, CLIENT_WINDOW)?;
                let p = self.cfg.payload;
                let slot = srv.client - 1;
                let c = self.clients[slot as usize];
                // The flow's segment in flight must be its client's (sent, then the
                // direction flipped to the server's).
                if !c.in_flight || c.next_up {
                    return fail(
                        self,
                        Mismatch::Unexpected(
                            "a client segment of a flow whose client had none in flight",
                        ),
                    );
                }
                if s.payload != self.pattern_at(srv.up_rcvd, p) {
                    return Err(self.fail(slot, Mismatch::Payload));
                }
                let srv = &mut self.servers[si];
                srv.rcv_nxt = srv.rcv_nxt.wrapping_add(p as u32);
                srv.up_rcvd += p as u64;
                self.returned_data(slot, out)
            }
            SState::SynRcvd | SState::Responded | SState::LastAck => fail(
                self,
                Mismatch::Unexpected("data on a server connection that expects none"),
            ),
            SState::Free => unreachable!("indexed connections are not free"),
        }
    }

    /// A request head arrived on server connection `si`.
    fn request_in<O: Emit>(
        &mut self,
        si: usize,
        payload: &[u8],
        out: &mut O,
    ) -> Result<(), BenchError> {
        let srv = self.servers[si];
        let real = srv.real;
        let fail = |t: &Self, m| Err(t.fail(u32::from(real), m));
        let Some(slot) = request_slot(payload).filter(|&s| s < self.cfg.flows) else {
            return fail(self, Mismatch::Payload);
        };
        let c = self.clients[slot as usize];
        if c.state != CState::Requested || c.server != 0 {
            return fail(
                self,
                Mismatch::Unexpected("a request its client is not waiting for an answer to"),
            );
        }
        let mut buf = std::mem::take(&mut self.scratch);
        self.request_into(slot, c.conns, c.req, &mut buf);
        let same = buf[..] == *payload;
        let img = buf.starts_with(b"GET /img/");
        self.scratch = buf;
        if !same {
            return Err(self.fail(slot, Mismatch::Payload));
        }
        let allowed = if img { &self.img_ok } else { &self.bind_ok };
        if !allowed[usize::from(real)] {
            return fail(
                self,
                Mismatch::Unexpected("a request routed to a real its rule does not allow"),
            );
        }
        self.per_real[usize::from(real)] += 1;
        self.clients[slot as usize].server = si as u32 + 1;
        let mut head = std::mem::take(&mut self.scratch);
        let body_at = self.response_into(slot, c.conns, c.req, &mut head);
        let body: &[u8] = match self.cfg.mode {
            Mode::Established => &[],
            _ => &self.pattern[body_at..body_at + self.cfg.payload],
        };
        let srv = &mut self.servers[si];
        srv.rcv_nxt = srv.rcv_nxt.wrapping_add(payload.len() as u32);
        srv.client = slot + 1;
        srv.state = if self.cfg.mode == Mode::Established {
            SState::Streaming
        } else {
            SState::Responded
        };
        let seq = srv.snd_nxt;
        srv.snd_nxt = seq.wrapping_add((head.len() + body.len()) as u32);
        let srv = *srv;
        let r = server_send(
            out,
            &srv,
            seq,
            srv.rcv_nxt,
            flags::ACK | flags::PSH,
            &[],
            [&head, body],
        );
        self.scratch = head;
        r
    }
}

/// The client slot named in a request's path (`/e/<slot>`, `/l/<slot>/..`,
/// `/img/<slot>/..`, `/api/<slot>/..`).
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

fn client_send<O: Emit>(
    out: &mut O,
    c: &Client,
    seq: u32,
    ack: u32,
    fl: u8,
    options: &[u8],
    payload: [&[u8]; 2],
) -> Result<(), BenchError> {
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

fn server_send<O: Emit>(
    out: &mut O,
    s: &Server,
    seq: u32,
    ack: u32,
    fl: u8,
    options: &[u8],
    payload: [&[u8]; 2],
) -> Result<(), BenchError> {
    let addr = real_addr(s.real);
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
