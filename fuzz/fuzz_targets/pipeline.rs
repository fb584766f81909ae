//! One worker's whole `Pipeline` fed packet sequences that are mostly valid TCP/HTTP
//! conversations, with mutations (structure-aware, with the `arbitrary` crate).
//!
//! The input decodes into a list of [`Action`]s played against a pipeline with an
//! outside port (a splice virtual on the VIP's port 80, a redirect virtual on port 81)
//! and an inside port (two reals, small pools). The harness plays the clients (on-link
//! and behind the gateway) and the real servers at packet level, keeping each peer's
//! sequence numbers from what it sent and what Splicer sent it: clients connect, send
//! request heads and bodies in arbitrary pieces, ACK, FIN, RST; servers accept the
//! connections Splicer opens, answer with responses of every framing; the clock jumps
//! (timers fire); a real changes state (live reconfiguration); earlier frames are
//! replayed. Any segment may be mutated: flags, sequence or acknowledgement offsets,
//! window, options, truncation, a corrupted byte, a wrong checksum. Raw frames of
//! random bytes are sent too.
//!
//! Invariants, checked after every step: nothing panics (debug assertions and
//! overflow checks on); every frame Splicer transmits parses (Ethernet, IPv4, TCP with
//! its options, ICMP, ARP) with correct IPv4, TCP and ICMP checksums, leaves from its
//! port's MAC to the MAC of the neighbour it is for (the host on-link, the gateway
//! off-link) and from one of Splicer's own addresses; Splicer never acknowledges
//! sequence space a peer has not sent; nothing is handed off (one worker); the flow
//! table and the half-open count stay within their bounds; a real's pool never has
//! more than `maxconns` connections; after shutdown no connection is left.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use splicer_pipeline::balance::Status;
use splicer_pipeline::flow::FlowSettings;
use splicer_pipeline::presence::neighbour::NeighbourSettings;
use splicer_pipeline::{NeighbourUpdate, Pipeline, Settings, WorkerCounters};
use splicer_wire::{arp, ethernet, icmpv4, ipv4, tcp, EthernetAddress};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;

#[path = "pipeline/frames.rs"]
mod frames;
#[path = "pipeline/world.rs"]
mod world;

use frames::{mutate, pick, seq_gt, tcp_end, trace, write};
use world::*;

#[derive(Debug, Arbitrary)]
struct Input {
    /// Clients ACK what they receive by themselves.
    auto_ack_clients: bool,
    /// Servers accept Splicer's SYNs and ACK what they receive by themselves.
    auto_servers: bool,
    actions: Vec<Action>,
}

#[derive(Debug, Arbitrary)]
enum Content {
    Request(u8),
    Response(u8),
    /// Body bytes (a pattern) of this length.
    Body(u16),
    Raw(Vec<u8>),
}

#[derive(Debug, Arbitrary)]
enum Action {
    /// A new client connection: a SYN to the VIP (port 80 or, odd `service`, 81), with
    /// the options `opts` selects (MSS, window scale, SACK-permitted, timestamps).
    Connect {
        client: u8,
        service: u8,
        opts: u8,
        mutation: Mutation,
    },
    /// The handshake's ACK (or a bare ACK later).
    ClientAck {
        conn: u8,
        mutation: Mutation,
    },
    /// Queues bytes to send.
    ClientWrite {
        conn: u8,
        content: Content,
    },
    /// Sends up to `max` + 1 queued bytes in one segment, with FIN if asked.
    ClientPush {
        conn: u8,
        max: u16,
        fin: bool,
        mutation: Mutation,
    },
    ClientRst {
        conn: u8,
        mutation: Mutation,
    },
    /// Writes and pushes at once (a request in one segment, mostly).
    ClientSend {
        conn: u8,
        content: Content,
        mutation: Mutation,
    },
    /// Accepts (SYN-ACK) a connection Splicer opened.
    ServerAccept {
        conn: u8,
        opts: u8,
        mutation: Mutation,
    },
    ServerWrite {
        conn: u8,
        content: Content,
    },
    ServerPush {
        conn: u8,
        max: u16,
        fin: bool,
        mutation: Mutation,
    },
    ServerRst {
        conn: u8,
        mutation: Mutation,
    },
    ServerSend {
        conn: u8,
        content: Content,
        mutation: Mutation,
    },
    /// The clock moves on by `ms` (times 100 if `long`), and timers run.
    Advance {
        ms: u16,
        long: bool,
    },
    /// One of the last frames sent, again.
    Replay {
        back: u8,
        outside: bool,
        mutation: Mutation,
    },
    /// Random bytes after an Ethernet header addressed to Splicer.
    Raw {
        outside: bool,
        ethertype: u16,
        bytes: Vec<u8>,
    },
    /// An ICMP echo request to the VIP or a port address.
    Ping {
        client: u8,
        to_port_addr: bool,
        len: u8,
    },
    /// A real's state changes (live reconfiguration).
    SetReal {
        real: u8,
        status: u8,
    },
}

/// A change made to a frame after it is built. `kind` below 200 (most) leaves the
/// frame alone.
#[derive(Debug, Clone, Copy, Arbitrary)]
struct Mutation {
    kind: u8,
    a: u32,
    b: u16,
}

/// One end of a TCP connection that the harness plays.
#[derive(Debug, Clone)]
struct Peer {
    addr: SocketAddrV4,
    mac: EthernetAddress,
    /// Splicer's end.
    ours: SocketAddrV4,
    port: u16,
    /// Where the harness's next byte goes, and the highest sequence number it ever
    /// sent (SYN and FIN count).
    snd_nxt: u32,
    max_sent: u32,
    isn: u32,
    /// The next sequence number expected from Splicer, once its SYN was seen.
    rcv_nxt: Option<u32>,
    out: Vec<u8>,
    /// When Splicer last sent to it (or it was created): actions pick peers by it.
    last_rx: u64,
    ts: bool,
    ts_recent: u32,
    window_shift: bool,
}

struct Harness {
    p: Pipeline<Vec<u8>>,
    now: u64,
    clients: Vec<Peer>,
    servers: Vec<Peer>,
    /// Frames the harness sent, newest last, per side.
    sent: [Vec<Vec<u8>>; 2],
    /// The ends of the sequence space each address and port pair carried in any frame
    /// the harness sent (the last few per pair), peers or not: a replayed or mutated
    /// SYN can open a connection on a pair before (or after) a peer of the harness
    /// uses it, and Splicer may acknowledge that one.
    carried: Vec<(SocketAddrV4, SocketAddrV4, u32)>,
    /// Frames the peers answer by themselves, delivered after each step.
    queue: Vec<(u16, Vec<u8>)>,
    next_client_port: u16,
    ip_ident: u16,
    status: [Status; 2],
    auto_ack_clients: bool,
    auto_servers: bool,
    /// Counts what Splicer sent, for [`Peer::last_rx`].
    events: u64,
    /// Random ARP was sent: frames may go to other MACs than the harness's hosts'.
    arp_spoofed: bool,
}

impl Harness {
    fn new(input: &Input) -> Harness {
        let topology = Arc::new(topology([Status::InService; 2]));
        let counters = Arc::new(WorkerCounters::with_objects(2, REALS.len(), 2));
        let mut p = Pipeline::new(
            Settings {
                worker: 0,
                workers: 1,
                neighbour: NeighbourSettings {
                    timeout: 60_000 * MS,
                    retry: 1_000 * MS,
                    pending: 4,
                },
                flow: FlowSettings {
                    max_flows: MAX_FLOWS,
                    max_half_open: MAX_HALF_OPEN,
                    ..FlowSettings::defaults(MS)
                },
                seed: 0x5eed,
            },
            topology,
            counters,
        );
        let mut out = Out {
            tx: Vec::new(),
            handoffs: 0,
        };
        // The neighbours are known from the start, as after the first ARP exchange;
        // ARP requests Splicer sends later are answered too.
        let mut hosts = vec![(0, GATEWAY, GATEWAY_MAC)];
        for n in (0..6).step_by(2) {
            let (ip, mac, _) = client_addr(n);
            hosts.push((0, ip, mac));
        }
        for r in REALS {
            hosts.push((1, *r.ip(), server_mac(*r.ip())));
        }
        for (port, ip, mac) in hosts {
            p.apply_neighbour_update(NeighbourUpdate { port, ip, mac }, 0, &mut out);
        }
        let mut h = Harness {
            p,
            now: 1,
            clients: Vec::new(),
            servers: Vec::new(),
            sent: [Vec::new(), Vec::new()],
            carried: Vec::new(),
            queue: Vec::new(),
            next_client_port: 40_000,
            ip_ident: 0,
            status: [Status::InService; 2],
            auto_ack_clients: input.auto_ack_clients,
            auto_servers: input.auto_servers,
            arp_spoofed: false,
            events: 0,
        };
        h.observe(out);
        // The pools open at once (and, with `auto_servers`, are established) so that
        // short inputs already splice.
        let mut out = Out {
            tx: Vec::new(),
            handoffs: 0,
        };
        h.p.poll_timers(h.now, &mut out);
        h.observe(out);
        h.deliver();
        h
    }

    fn step(&mut self, a: &Action) {
        self.now += 10; // every step takes a little time
        let mut out = Out {
            tx: Vec::new(),
            handoffs: 0,
        };
        match a {
            Action::Connect {
                client,
                service,
                opts,
                mutation,
            } => {
                let (ip, mac, _) = client_addr(*client);
                let port = self.next_client_port;
                self.next_client_port = self.next_client_port.wrapping_add(1).max(1024);
                let isn = u32::from(port).wrapping_mul(0x9e37_79b9);
                let peer = Peer {
                    addr: SocketAddrV4::new(ip, port),
                    mac,
                    ours: SocketAddrV4::new(VIP, 80 + u16::from(service & 1)),
                    port: 0,
                    snd_nxt: isn,
                    max_sent: isn,
                    isn,
                    rcv_nxt: None,
                    out: Vec::new(),
                    last_rx: self.events,
                    ts: opts & 8 != 0,
                    ts_recent: 0,
                    window_shift: opts & 2 != 0,
                };
                if self.clients.len() == MAX_PEERS {
                    self.clients.remove(0);
                }
                self.clients.push(peer);
                let i = self.clients.len() - 1;
                let f = self.segment(false, i, tcp::flags::SYN, &[], *opts, true);
                self.send(false, f, *mutation, &mut out);
            }
            Action::ClientAck { conn, mutation } => {
                if let Some(i) = pick(&self.clients, *conn) {
                    let f = self.segment(false, i, tcp::flags::ACK, &[], 0, false);
                    self.send(false, f, *mutation, &mut out);
                }
            }
            Action::ClientWrite { conn, content } => {
                if let Some(i) = pick(&self.clients, *conn) {
                    write(&mut self.clients[i].out, content);
                }
            }
            Action::ClientPush {
                conn,
                max,
                fin,
                mutation,
            } => {
                if let Some(i) = pick(&self.clients, *conn) {
                    self.push(false, i, *max, *fin, *mutation, &mut out);
                }
            }
            Action::ClientRst { conn, mutation } => {
                if let Some(i) = pick(&self.clients, *conn) {
                    let f =
                        self.segment(false, i, tcp::flags::RST | tcp::flags::ACK, &[], 0, false);
                    self.send(false, f, *mutation, &mut out);
                }
            }
            Action::ClientSend {
                conn,
                content,
                mutation,
            } => {
                if let Some(i) = pick(&self.clients, *conn) {
                    write(&mut self.clients[i].out, content);
                    self.push(false, i, u16::MAX, false, *mutation, &mut out);
                }
            }
            Action::ServerSend {
                conn,
                content,
                mutation,
            } => {
                if let Some(i) = pick(&self.servers, *conn) {
                    write(&mut self.servers[i].out, content);
                    self.push(true, i, u16::MAX, false, *mutation, &mut out);
                }
            }
            Action::ServerAccept {
                conn,
                opts,
                mutation,
            } => {
                if let Some(i) = pick(&self.servers, *conn) {
                    let f = self.syn_ack(i, *opts);
                    self.send(true, f, *mutation, &mut out);
                }
            }
            Action::ServerWrite { conn, content } => {
                if let Some(i) = pick(&self.servers, *conn) {
                    write(&mut self.servers[i].out, content);
                }
            }
            Action::ServerPush {
                conn,
                max,
                fin,
                mutation,
            } => {
                if let Some(i) = pick(&self.servers, *conn) {
                    self.push(true, i, *max, *fin, *mutation, &mut out);
                }
            }
            Action::ServerRst { conn, mutation } => {
                if let Some(i) = pick(&self.servers, *conn) {
                    let f = self.segment(true, i, tcp::flags::RST | tcp::flags::ACK, &[], 0, false);
                    self.send(true, f, *mutation, &mut out);
                }
            }
            Action::Advance { ms, long } => {
                let ms = u64::from(*ms) * if *long { 100 } else { 1 };
                self.now += ms * MS;
                self.p.poll_timers(self.now, &mut out);
            }
            Action::Replay {
                back,
                outside,
                mutation,
            } => {
                let side = usize::from(!*outside);
                let sent = &self.sent[side];
                if !sent.is_empty() {
                    let i = sent.len() - 1 - usize::from(*back) % sent.len();
                    let mut f = sent[i].clone();
                    mutate(&mut f, *mutation);
                    self.note(&f);
                    self.p.receive(side as u16, f, self.now, &mut out);
                }
            }
            Action::Raw {
                outside,
                ethertype,
                bytes,
            } => {
                let (port, mac) = if *outside {
                    (0, OUTSIDE_MAC)
                } else {
                    (1, INSIDE_MAC)
                };
                let mut f = Vec::with_capacity(14 + bytes.len());
                f.extend_from_slice(&mac.0);
                f.extend_from_slice(&GATEWAY_MAC.0);
                // Mostly the types Splicer reads.
                let t = match ethertype % 4 {
                    0 | 1 => ethernet::ethertype::IPV4,
                    2 => ethernet::ethertype::ARP,
                    _ => *ethertype,
                };
                f.extend_from_slice(&t.to_be_bytes());
                f.extend_from_slice(bytes);
                // ARP from random bytes may move a neighbour to another MAC.
                self.arp_spoofed |= t == ethernet::ethertype::ARP;
                self.note(&f);
                self.p.receive(port, f, self.now, &mut out);
            }
            Action::Ping {
                client,
                to_port_addr,
                len,
            } => {
                let (ip, mac, _) = client_addr(*client);
                let dst = if *to_port_addr { OUTSIDE_ADDR } else { VIP };
                let mut m = vec![icmpv4::msg_type::ECHO_REQUEST, 0, 0, 0, 0, 1, 0, 1];
                m.extend((0..*len).map(|b| b ^ 0x5a));
                {
                    let mut icmp = icmpv4::Packet::new_unchecked(&mut m[..]);
                    icmp.fill_checksum();
                }
                let f = self.ip_frame(0, mac, ip, dst, ipv4::protocol::ICMP, &m);
                self.p.receive(0, f, self.now, &mut out);
            }
            Action::SetReal { real, status } => {
                let r = usize::from(*real) % REALS.len();
                self.status[r] = status_of(*status);
                let t = Arc::new(topology(self.status));
                self.p.set_topology(t, self.now, &mut out);
            }
        }
        self.observe(out);
        self.deliver();
        self.check_bounds();
    }

    /// Delivers what the peers answer by themselves, and what Splicer answers to that;
    /// a bounded number of rounds (peers never answer a bare ACK, so it converges).
    fn deliver(&mut self) {
        for _ in 0..8 {
            if self.queue.is_empty() {
                break;
            }
            let mut out = Out {
                tx: Vec::new(),
                handoffs: 0,
            };
            for (port, f) in std::mem::take(&mut self.queue) {
                self.p.receive(port, f, self.now, &mut out);
            }
            self.observe(out);
        }
        self.queue.clear();
    }

    fn peers(&mut self, server: bool) -> &mut Vec<Peer> {
        if server {
            &mut self.servers
        } else {
            &mut self.clients
        }
    }

    /// A segment from peer `i` at its `snd_nxt`, acknowledging what it received.
    fn segment(
        &mut self,
        server: bool,
        i: usize,
        flags: u8,
        data: &[u8],
        opts: u8,
        syn: bool,
    ) -> Vec<u8> {
        let now_ms = (self.now / MS) as u32;
        let peer = &self.peers(server)[i];
        let mut options = [0u8; 40];
        let n = if syn {
            tcp::emit_options(
                &mut options,
                (opts & 1 != 0).then_some(536 + u16::from(opts >> 4) * 64),
                opts & 4 != 0,
                (opts & 8 != 0).then_some((now_ms, 0)),
                (opts & 2 != 0).then_some(opts >> 5),
            )
        } else if peer.ts {
            options[..2].copy_from_slice(&[1, 1]);
            tcp::TcpOption::Timestamp {
                tsval: now_ms,
                tsecr: peer.ts_recent,
            }
            .emit(&mut options[2..]);
            12
        } else {
            0
        };
        // ACK only once Splicer's SYN was seen.
        let (flags, ack) = match peer.rcv_nxt {
            Some(a) if flags & tcp::flags::ACK != 0 => (flags, a),
            _ => (flags & !tcp::flags::ACK, 0),
        };
        let seq = peer.snd_nxt;
        let mut seg = vec![0u8; tcp::HEADER_LEN + n + data.len()];
        {
            let mut t = tcp::Packet::new_unchecked(&mut seg[..]);
            t.set_src_port(peer.addr.port());
            t.set_dst_port(peer.ours.port());
            t.set_seq_number(tcp::SeqNumber(seq));
            t.set_ack_number(tcp::SeqNumber(ack));
            t.set_header_len(tcp::HEADER_LEN + n);
            t.set_flags(flags);
            t.set_window_len(if peer.window_shift { 2048 } else { 64_240 });
            t.options_mut().copy_from_slice(&options[..n]);
            t.payload_mut().copy_from_slice(data);
            t.fill_checksum(*peer.addr.ip(), *peer.ours.ip());
        }
        let (port, mac, src, dst) = (peer.port, peer.mac, *peer.addr.ip(), *peer.ours.ip());
        let seg_len = data.len()
            + usize::from(flags & tcp::flags::SYN != 0)
            + usize::from(flags & tcp::flags::FIN != 0);
        let peer = &mut self.peers(server)[i];
        peer.snd_nxt = peer.snd_nxt.wrapping_add(seg_len as u32);
        self.ip_frame(port, mac, src, dst, ipv4::protocol::TCP, &seg)
    }

    /// The SYN-ACK of server `i` (again, if it was sent before: same ISN).
    fn syn_ack(&mut self, i: usize, opts: u8) -> Vec<u8> {
        let peer = &mut self.servers[i];
        // Timestamps only if Splicer offered them.
        peer.ts = opts & 8 != 0 && peer.ts;
        peer.window_shift = opts & 2 != 0;
        let opts = opts & if peer.ts { 0xff } else { !8 };
        let saved = peer.snd_nxt;
        peer.snd_nxt = peer.isn;
        let f = self.segment(
            true,
            i,
            tcp::flags::SYN | tcp::flags::ACK,
            &[],
            opts | 1,
            true,
        );
        let peer = &mut self.servers[i];
        if seq_gt(saved, peer.snd_nxt) {
            peer.snd_nxt = saved;
        }
        f
    }

    fn push(&mut self, server: bool, i: usize, max: u16, fin: bool, m: Mutation, out: &mut Out) {
        let peer = &mut self.peers(server)[i];
        let n = (usize::from(max) + 1).min(peer.out.len()).min(1400);
        let data: Vec<u8> = peer.out.drain(..n).collect();
        let flags = tcp::flags::ACK
            | if fin { tcp::flags::FIN } else { 0 }
            | if n > 0 { tcp::flags::PSH } else { 0 };
        let f = self.segment(server, i, flags, &data, 0, false);
        self.send(server, f, m, out);
    }

    fn ip_frame(
        &mut self,
        port: u16,
        mac: EthernetAddress,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        proto: u8,
        l4: &[u8],
    ) -> Vec<u8> {
        let mut f = vec![0u8; 14 + ipv4::HEADER_LEN + l4.len()];
        {
            let mut eth = ethernet::Frame::new_unchecked(&mut f[..]);
            eth.set_dst_addr(if port == 0 { OUTSIDE_MAC } else { INSIDE_MAC });
            eth.set_src_addr(mac);
            eth.set_ethertype(ethernet::ethertype::IPV4);
        }
        self.ip_ident = self.ip_ident.wrapping_add(1);
        ipv4::emit_header(
            &mut f[14..],
            src,
            dst,
            proto,
            l4.len() as u16,
            64,
            self.ip_ident,
        );
        f[14 + ipv4::HEADER_LEN..].copy_from_slice(l4);
        f
    }

    /// Sends a frame of peer `i`, mutated, remembering the sequence space it covers.
    fn send(&mut self, server: bool, mut f: Vec<u8>, m: Mutation, out: &mut Out) {
        mutate(&mut f, m);
        self.note(&f);
        let side = usize::from(server);
        let sent = &mut self.sent[side];
        if sent.len() == 8 {
            sent.remove(0);
        }
        sent.push(f.clone());
        self.p.receive(side as u16, f, self.now, out);
    }

    /// Checks every frame Splicer transmitted and lets the peers react to it.
    fn observe(&mut self, out: Out) {
        assert_eq!(out.handoffs, 0, "one worker never hands a packet off");
        for (port, f) in out.tx {
            assert!(port <= 1, "transmit on port {port}");
            let our_mac = if port == 0 { OUTSIDE_MAC } else { INSIDE_MAC };
            let eth = ethernet::Frame::new_checked(&f[..]).expect("Ethernet header");
            assert_eq!(eth.src_addr(), our_mac, "source MAC of port {port}");
            match eth.ethertype() {
                ethernet::ethertype::ARP => self.arp_out(port, eth.payload()),
                ethernet::ethertype::IPV4 => self.ip_out(port, eth.dst_addr(), eth.payload()),
                t => panic!("Splicer sent ethertype {t:#06x}"),
            }
        }
    }

    fn arp_out(&mut self, port: u16, payload: &[u8]) {
        let a = arp::Packet::new_checked(payload).expect("ARP parses");
        let our_mac = if port == 0 { OUTSIDE_MAC } else { INSIDE_MAC };
        assert_eq!(a.source_hardware_addr(), our_mac);
        if a.operation() != arp::operation::REQUEST {
            return;
        }
        let target = a.target_protocol_addr();
        let Some(mac) = self.mac_of(port, target) else {
            return;
        };
        let mut f = vec![0u8; 14 + arp::PACKET_LEN];
        {
            let mut eth = ethernet::Frame::new_unchecked(&mut f[..]);
            eth.set_dst_addr(our_mac);
            eth.set_src_addr(mac);
            eth.set_ethertype(ethernet::ethertype::ARP);
        }
        arp::emit(
            &mut f[14..],
            arp::operation::REPLY,
            mac,
            target,
            our_mac,
            a.source_protocol_addr(),
        );
        self.queue.push((port, f));
    }

    /// The MAC of a host the harness plays, on `port`'s link.
    fn mac_of(&self, port: u16, ip: Ipv4Addr) -> Option<EthernetAddress> {
        if port == 0 {
            if ip == GATEWAY {
                return Some(GATEWAY_MAC);
            }
            (0..6u8)
                .map(client_addr)
                .find(|(a, _, via)| *a == ip && via != &GATEWAY_MAC)
                .map(|(_, mac, _)| mac)
        } else {
            REALS
                .iter()
                .find(|r| r.ip() == &ip)
                .map(|r| server_mac(*r.ip()))
        }
    }

    fn ip_out(&mut self, port: u16, dst_mac: EthernetAddress, payload: &[u8]) {
        let ip = ipv4::Packet::new_checked(payload).expect("IPv4 parses");
        assert!(ip.verify_checksum(), "IPv4 header checksum");
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        assert!(
            src == VIP || src == OUTSIDE_ADDR || src == INSIDE_ADDR,
            "Splicer sent from {src}"
        );
        // To the host itself on-link, else to the gateway.
        let next_hop = if self.p.topology().on_link(port, dst) {
            dst
        } else {
            GATEWAY
        };
        if let Some(mac) = self.mac_of(port, next_hop).filter(|_| !self.arp_spoofed) {
            assert_eq!(
                dst_mac, mac,
                "frame to {dst} on port {port} sent to the wrong MAC"
            );
        }
        match ip.protocol() {
            ipv4::protocol::TCP => {}
            ipv4::protocol::ICMP => {
                let m = icmpv4::Packet::new_checked(ip.payload()).expect("ICMP parses");
                assert!(m.verify_checksum(), "ICMP checksum");
                return;
            }
            p => panic!("Splicer sent IP protocol {p}"),
        }
        let t = tcp::Packet::new_checked(ip.payload()).expect("TCP parses");
        assert!(t.verify_checksum(src, dst), "TCP checksum");
        let mut ts = None;
        for o in tcp::options(t.options()) {
            match o.expect("Splicer's TCP options walk") {
                (_, tcp::TcpOption::Timestamp { tsval, .. }) => ts = Some(tsval),
                (_, tcp::TcpOption::SackRange { blocks, count }) => {
                    // A SACK block never covers more than the peer sent.
                    let _ = (blocks, count);
                }
                _ => {}
            }
        }
        let from = SocketAddrV4::new(src, t.src_port());
        let to = SocketAddrV4::new(dst, t.dst_port());
        if trace() {
            eprintln!(
                "splicer -> {to} from {from}: flags {:#04x} seq {} ack {} len {}",
                t.flags(),
                t.seq_number().0,
                t.ack_number().0,
                t.payload().len()
            );
        }
        let server = port == 1;
        let syn_only = t.syn() && !t.ack();
        self.events += 1;
        if server && syn_only {
            // Splicer opens a server connection (or retries its SYN): a new one
            // replaces what the harness knew of that port pair.
            self.servers.retain(|s| !(s.addr == to && s.ours == from));
            if self.servers.len() == MAX_PEERS {
                self.servers.remove(0);
            }
            let isn = t.seq_number().0.rotate_left(13) ^ 0xa5a5_0000;
            self.servers.push(Peer {
                addr: to,
                mac: server_mac(dst),
                ours: from,
                port: 1,
                snd_nxt: isn,
                max_sent: isn,
                isn,
                rcv_nxt: Some(t.seq_number().0.wrapping_add(1)),
                out: Vec::new(),
                last_rx: self.events,
                ts: ts.is_some(),
                ts_recent: ts.unwrap_or(0),
                window_shift: true,
            });
            let i = self.servers.len() - 1;
            if self.auto_servers {
                let f = self.syn_ack(i, 0x0f);
                self.note(&f);
                self.queue.push((1, f));
            }
            return;
        }
        let events = self.events;
        let ack = t.ack_number().0;
        // Up to what the peer sent, or to what some frame of the same address pair
        // carried (another connection on the pair, opened by a replayed frame).
        let carried = self.carried.iter().any(|&(sender, receiver, end)| {
            (sender, receiver) == (to, from) && !seq_gt(ack, end) && end.wrapping_sub(ack) < 1 << 30
        });
        let peers = self.peers(server);
        let Some(i) = peers.iter().position(|p| p.addr == to && p.ours == from) else {
            return;
        };
        let peer = &mut peers[i];
        peer.last_rx = events;
        if t.ack() && !carried {
            assert!(
                !seq_gt(t.ack_number().0, peer.max_sent),
                "Splicer acknowledged {} but {} only sent up to {} (server leg: {server})",
                t.ack_number().0,
                to,
                peer.max_sent
            );
        }
        if t.rst() {
            peers.remove(i);
            return;
        }
        if let Some(v) = ts {
            peer.ts_recent = v;
        }
        let seq = t.seq_number().0;
        let end = seq.wrapping_add(t.segment_len() as u32);
        match peer.rcv_nxt {
            Some(r) if !t.syn() => {
                if seq_gt(end, r) && !seq_gt(seq, r) {
                    peer.rcv_nxt = Some(end);
                }
            }
            _ => peer.rcv_nxt = Some(end),
        }
        let auto = if server {
            self.auto_servers
        } else {
            self.auto_ack_clients
        };
        if auto && t.segment_len() > 0 {
            let f = self.segment(server, i, tcp::flags::ACK, &[], 0, false);
            self.note(&f);
            self.queue.push((u16::from(server), f));
        }
    }

    /// Remembers the sequence space a frame sent to Splicer covers, for the peer whose
    /// connection it belongs to (whoever built it: a peer, a replay, random bytes).
    fn note(&mut self, f: &[u8]) {
        let Some((from, to, end)) = tcp_end(f) else {
            return;
        };
        if self.carried.len() == 256 {
            self.carried.remove(0);
        }
        self.carried.push((from, to, end));
        for p in self.clients.iter_mut().chain(self.servers.iter_mut()) {
            if p.addr == from && p.ours == to && seq_gt(end, p.max_sent) {
                p.max_sent = end;
            }
        }
    }

    fn check_bounds(&self) {
        let flows = self.p.flows();
        assert!(flows.len() <= MAX_FLOWS, "{} flows", flows.len());
        assert!(
            flows.half_open() <= MAX_HALF_OPEN,
            "{} half-open",
            flows.half_open()
        );
        for r in 0..REALS.len() {
            let s = self.p.pool_stats(r as u16, self.now);
            assert!(s.conns <= u32::from(MAXCONNS), "real {r}: {s:?}");
            assert!(s.free + s.busy + s.opening <= s.conns, "real {r}: {s:?}");
        }
    }
}

fuzz_target!(|input: Input| {
    let mut h = Harness::new(&input);
    for a in input.actions.iter().take(MAX_ACTIONS) {
        h.step(a);
    }
    let mut out = Out {
        tx: Vec::new(),
        handoffs: 0,
    };
    h.now += 1;
    h.p.shutdown(h.now, &mut out);
    h.queue.clear();
    h.observe(out);
    assert!(h.p.flows().is_empty(), "connections left after shutdown");
});
