//! A simulated host: a smoltcp interface over an in-memory device, its sockets, and the
//! applications that run on it.

use crate::net::Segment;
use crate::time;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::socket::tcp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr, Ipv4Cidr};
use splicer_wire::checksum;
use std::any::Any;
use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};

/// Largest Ethernet frame without FCS: a 1500-byte IP MTU, like the kernel peers of the
/// end-to-end tests.
pub const FRAME_MTU: usize = 1514;

/// Index of a host in its [`Network`](crate::Network).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostId(pub(crate) usize);

impl HostId {
    /// Position of the host in the order it was added.
    pub fn index(self) -> usize {
        self.0
    }
}

/// How to build a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostConfig {
    /// Name, for assertions and failure messages.
    pub name: String,
    /// MAC address; `None` lets the network pick a unique locally administered one.
    pub mac: Option<[u8; 6]>,
    /// The host's address.
    pub ip: Ipv4Addr,
    /// Prefix length of its subnet.
    pub prefix_len: u8,
    /// Default gateway, for destinations off the subnet.
    pub gateway: Option<Ipv4Addr>,
    /// Largest frame the host sends and receives, Ethernet header included (its TCP
    /// MSS follows from it); [`FRAME_MTU`] unless set.
    pub frame_mtu: usize,
}

impl HostConfig {
    /// A host called `name` at `cidr` ("198.18.0.2/24"). Panics on a malformed `cidr`:
    /// test set-up, not input.
    pub fn new(name: &str, cidr: &str) -> Self {
        let (ip, len) = cidr.split_once('/').expect("cidr needs a prefix length");
        HostConfig {
            name: name.to_string(),
            mac: None,
            ip: ip.parse().expect("cidr address"),
            prefix_len: len
                .parse()
                .ok()
                .filter(|&l| l <= 32)
                .expect("prefix length"),
            gateway: None,
            frame_mtu: FRAME_MTU,
        }
    }

    /// Sets the largest frame (a smaller MTU, hence MSS, than the rest of the network).
    pub fn frame_mtu(mut self, frame_mtu: usize) -> Self {
        self.frame_mtu = frame_mtu;
        self
    }

    /// Sets the default gateway.
    pub fn gateway(mut self, gateway: Ipv4Addr) -> Self {
        self.gateway = Some(gateway);
        self
    }

    /// Sets the MAC address.
    pub fn mac(mut self, mac: [u8; 6]) -> Self {
        self.mac = Some(mac);
        self
    }
}

/// How an application's TCP sockets are set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpConfig {
    /// Receive buffer in bytes. Above 64 KiB smoltcp negotiates window scaling.
    pub rx_buffer: usize,
    /// Send buffer in bytes.
    pub tx_buffer: usize,
    /// Send TCP timestamps (RFC 7323), with the simulated clock in milliseconds.
    pub timestamps: bool,
    /// Nagle's algorithm (smoltcp's default is on).
    pub nagle: bool,
    /// Delayed-ACK timeout; `None` acks every segment at once.
    pub ack_delay_ms: Option<u64>,
    /// How long unacknowledged data may make no progress before the app arms a probe
    /// (see [`PersistProbe`]); `None` never probes.
    pub persist_probe_ms: Option<u64>,
}

impl Default for TcpConfig {
    fn default() -> Self {
        TcpConfig {
            rx_buffer: 64 * 1024,
            tx_buffer: 64 * 1024,
            timestamps: false,
            nagle: true,
            ack_delay_ms: Some(10),
            persist_probe_ms: Some(200),
        }
    }
}

thread_local! {
    /// smoltcp takes the TCP timestamp clock as a plain `fn() -> u32`, which cannot
    /// capture a network; each network runs on one thread and sets this before it polls.
    static TSVAL_MS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

fn sim_tsval() -> u32 {
    TSVAL_MS.with(|c| c.get())
}

pub(crate) fn set_tsval_clock(tick: u64) {
    // Timestamps start at 1: smoltcp reads a zero TSval as "none seen yet".
    TSVAL_MS.with(|c| c.set(time::ms_from_ticks(tick) as u32 + 1));
}

/// Stands in for the zero-window probing smoltcp 0.12 lacks.
///
/// A receiver whose buffer filled advertises a zero window and announces the reopened
/// window in one segment; if the link loses that segment, a smoltcp sender waits for ever
/// (RFC 9293 §3.8.6.1 wants it to probe). An app that has data queued which makes no
/// progress for the configured time switches the socket's keep-alive on: smoltcp sends a
/// keep-alive only when nothing is in flight, which is exactly the stalled case, and the
/// receiver answers it with its current window. Once data moves again the keep-alive is
/// switched off, so idle connections (a server pool) carry no probes.
#[derive(Debug, Clone, Copy, Default)]
pub struct PersistProbe {
    written: u64,
    acked: u64,
    since: u64,
    armed: bool,
}

impl PersistProbe {
    /// The app queued `n` more bytes on the socket.
    pub fn wrote(&mut self, n: usize) {
        self.written += n as u64;
    }

    /// Checks progress at `tick`; `after_ms` is [`TcpConfig::persist_probe_ms`].
    pub fn poll(&mut self, socket: &mut tcp::Socket<'_>, tick: u64, after_ms: Option<u64>) {
        let Some(after_ms) = after_ms else { return };
        let acked = self.written - socket.send_queue() as u64;
        if acked != self.acked || socket.send_queue() == 0 {
            self.acked = acked;
            self.since = tick;
            if self.armed {
                socket.set_keep_alive(None);
                self.armed = false;
            }
        } else if !self.armed && tick - self.since >= time::ticks_from_ms(after_ms) {
            socket.set_keep_alive(Some(Duration::from_millis(after_ms)));
            self.armed = true;
        }
    }

    /// True while the probe is armed.
    pub fn is_armed(&self) -> bool {
        self.armed
    }
}

/// Counters of a host's device.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostStats {
    /// Frames handed to the interface.
    pub rx_frames: u64,
    /// Frames the interface sent.
    pub tx_frames: u64,
    /// SYNs whose MSS option was lowered on the way in (see [`clamp_mss_for_timestamps`]).
    pub mss_clamped: u64,
}

/// The in-memory device under a host's interface: two frame queues the network fills
/// and drains.
#[derive(Debug)]
pub(crate) struct QueueDevice {
    rx: VecDeque<Vec<u8>>,
    tx: VecDeque<Vec<u8>>,
    mtu: usize,
}

/// Receive token of [`QueueDevice`].
pub(crate) struct RxToken(Vec<u8>);

impl phy::RxToken for RxToken {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.0)
    }
}

/// Transmit token of [`QueueDevice`].
pub(crate) struct TxToken<'a>(&'a mut VecDeque<Vec<u8>>);

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = vec![0; len];
        let r = f(&mut frame);
        self.0.push_back(frame);
        r
    }
}

impl Device for QueueDevice {
    type RxToken<'a> = RxToken;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(RxToken, TxToken<'_>)> {
        let frame = self.rx.pop_front()?;
        Some((RxToken(frame), TxToken(&mut self.tx)))
    }

    fn transmit(&mut self, _now: Instant) -> Option<TxToken<'_>> {
        Some(TxToken(&mut self.tx))
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = self.mtu;
        // Checksums stay on in both directions (the default): the device under test must
        // produce correct ones, and a peer that ignored them would hide its mistakes.
        caps
    }
}

/// A simulated host.
pub struct Host {
    name: String,
    mac: [u8; 6],
    ip: Ipv4Addr,
    prefix_len: u8,
    gateway: Option<Ipv4Addr>,
    segment: Segment,
    iface: Interface,
    device: QueueDevice,
    sockets: SocketSet<'static>,
    tick: u64,
    rng: StdRng,
    next_port: u16,
    stats: HostStats,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("name", &self.name)
            .field("ip", &self.ip)
            .field("segment", &self.segment)
            .field("stats", &self.stats)
            .finish()
    }
}

const EPHEMERAL_FIRST: u16 = 49152;

impl Host {
    pub(crate) fn new(config: &HostConfig, mac: [u8; 6], segment: Segment, seed: u64) -> Self {
        let mut device = QueueDevice {
            rx: VecDeque::new(),
            tx: VecDeque::new(),
            mtu: config.frame_mtu,
        };
        let mut cfg = Config::new(HardwareAddress::Ethernet(EthernetAddress(mac)));
        // smoltcp draws initial sequence numbers from this seed: fixed, so runs repeat.
        cfg.random_seed = seed;
        let mut iface = Interface::new(cfg, &mut device, time::smoltcp_instant(0));
        iface.update_ip_addrs(|addrs| {
            addrs
                .push(IpCidr::Ipv4(Ipv4Cidr::new(config.ip, config.prefix_len)))
                .expect("one address fits");
        });
        if let Some(gw) = config.gateway {
            iface
                .routes_mut()
                .add_default_ipv4_route(gw)
                .expect("one route fits");
        }
        let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed_0f00_9027);
        let next_port = EPHEMERAL_FIRST + rng.gen_range(0..8192);
        Host {
            name: config.name.clone(),
            mac,
            ip: config.ip,
            prefix_len: config.prefix_len,
            gateway: config.gateway,
            segment,
            iface,
            device,
            sockets: SocketSet::new(Vec::new()),
            tick: 0,
            rng,
            next_port,
            stats: HostStats::default(),
        }
    }

    /// The host's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its MAC address.
    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// Its IPv4 address.
    pub fn ip(&self) -> Ipv4Addr {
        self.ip
    }

    /// Prefix length of its subnet.
    pub fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    /// Its default gateway.
    pub fn gateway(&self) -> Option<Ipv4Addr> {
        self.gateway
    }

    /// The segment it is attached to.
    pub fn segment(&self) -> Segment {
        self.segment
    }

    /// The current tick.
    pub fn tick(&self) -> u64 {
        self.tick
    }

    /// The current smoltcp time.
    pub fn now(&self) -> Instant {
        time::smoltcp_instant(self.tick)
    }

    /// Device counters.
    pub fn stats(&self) -> HostStats {
        self.stats
    }

    /// The smoltcp interface.
    pub fn iface(&mut self) -> &mut Interface {
        &mut self.iface
    }

    /// The host's sockets.
    pub fn sockets(&mut self) -> &mut SocketSet<'static> {
        &mut self.sockets
    }

    /// The host's random generator (seeded from the network's seed).
    pub fn rng(&mut self) -> &mut StdRng {
        &mut self.rng
    }

    /// A new TCP socket set up by `config`.
    pub fn add_tcp_socket(&mut self, config: &TcpConfig) -> SocketHandle {
        let mut s = tcp::Socket::new(
            tcp::SocketBuffer::new(vec![0; config.rx_buffer]),
            tcp::SocketBuffer::new(vec![0; config.tx_buffer]),
        );
        if config.timestamps {
            s.set_tsval_generator(Some(sim_tsval));
        }
        s.set_nagle_enabled(config.nagle);
        s.set_ack_delay(config.ack_delay_ms.map(Duration::from_millis));
        self.sockets.add(s)
    }

    /// The TCP socket `handle`. Panics if it is not a TCP socket of this host.
    pub fn tcp(&mut self, handle: SocketHandle) -> &mut tcp::Socket<'static> {
        self.sockets.get_mut::<tcp::Socket>(handle)
    }

    /// A local port for an outgoing connection. Ports are handed out in sequence from a
    /// seeded start, so they never repeat within a run of 16k connections and differ
    /// between hosts.
    pub fn ephemeral_port(&mut self) -> u16 {
        let p = self.next_port;
        self.next_port = if p == u16::MAX {
            EPHEMERAL_FIRST
        } else {
            p + 1
        };
        p
    }

    /// Opens the TCP socket `handle` towards `remote` from an ephemeral port; returns the
    /// local port.
    pub fn connect(
        &mut self,
        handle: SocketHandle,
        remote: SocketAddrV4,
    ) -> Result<u16, tcp::ConnectError> {
        let port = self.ephemeral_port();
        let socket = self.sockets.get_mut::<tcp::Socket>(handle);
        socket.connect(self.iface.context(), remote, port)?;
        Ok(port)
    }

    pub(crate) fn set_tick(&mut self, tick: u64) {
        self.tick = tick;
    }

    pub(crate) fn deliver(&mut self, mut frame: Vec<u8>) {
        self.stats.rx_frames += 1;
        if clamp_mss_for_timestamps(&mut frame) {
            self.stats.mss_clamped += 1;
        }
        self.device.rx.push_back(frame);
    }

    pub(crate) fn poll_iface(&mut self) {
        let now = self.now();
        self.iface.poll(now, &mut self.device, &mut self.sockets);
    }

    pub(crate) fn take_tx(&mut self) -> impl Iterator<Item = Vec<u8>> + '_ {
        self.stats.tx_frames += self.device.tx.len() as u64;
        self.device.tx.drain(..)
    }
}

/// Something that runs on a host: it opens sockets when it starts and is polled every
/// tick, between two polls of the host's interface.
pub trait App: Any {
    /// Opens the app's sockets; called once, when the app is placed on `host`.
    fn start(&mut self, host: &mut Host);
    /// Moves data between the app and its sockets; called every tick.
    fn poll(&mut self, host: &mut Host);
}

/// Type-erased app, so the network can hand a concrete one back to the test.
pub(crate) trait AnyApp {
    fn app(&mut self) -> &mut dyn App;
    fn any(&self) -> &dyn Any;
    fn any_mut(&mut self) -> &mut dyn Any;
}

impl<T: App> AnyApp for T {
    fn app(&mut self) -> &mut dyn App {
        self
    }
    fn any(&self) -> &dyn Any {
        self
    }
    fn any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// Bytes the TCP timestamp option takes in every segment, padding included.
pub const TIMESTAMP_OPTION_LEN: u16 = 12;

/// Works around a smoltcp 0.12 bug: with timestamps negotiated, it sizes data segments
/// by the MSS alone, forgets the 12 bytes of the timestamp option, and its full-size
/// segments then exceed the MTU and are silently never sent (fixed upstream in
/// smoltcp-rs/smoltcp#1161, after 0.12). A host therefore lowers the MSS option of
/// every SYN and SYN-ACK it receives that also offers timestamps by
/// [`TIMESTAMP_OPTION_LEN`], fixing the checksum, before its stack sees it: it then sends
/// at most MSS − 12 payload bytes, as Linux does. Only the host's own copy changes; the
/// device under test saw the segment as its sender sent it.
///
/// Returns true when the frame was changed.
pub fn clamp_mss_for_timestamps(frame: &mut [u8]) -> bool {
    const ETH: usize = 14;
    if frame.len() < ETH + 20 || frame[12..14] != [0x08, 0x00] || frame[ETH + 9] != 6 {
        return false;
    }
    let tcp = ETH + usize::from(frame[ETH] & 0x0f) * 4;
    let Some(hdr) = frame.get(tcp..tcp + 20) else {
        return false;
    };
    let doff = usize::from(hdr[12] >> 4) * 4;
    if hdr[13] & 0x02 == 0 || doff < 20 || frame.len() < tcp + doff {
        return false;
    }
    let mut mss_at = None;
    let mut has_ts = false;
    let mut i = tcp + 20;
    while i < tcp + doff {
        match frame[i] {
            0 => break,
            1 => i += 1,
            kind => {
                let len = usize::from(*frame.get(i + 1).unwrap_or(&0));
                if len < 2 || i + len > tcp + doff {
                    return false;
                }
                match (kind, len) {
                    (2, 4) => mss_at = Some(i + 2),
                    (8, 10) => has_ts = true,
                    _ => {}
                }
                i += len;
            }
        }
    }
    let (Some(at), true) = (mss_at, has_ts) else {
        return false;
    };
    let old = u16::from_be_bytes([frame[at], frame[at + 1]]);
    let new = old.saturating_sub(TIMESTAMP_OPTION_LEN).max(64);
    if new == old {
        return false;
    }
    frame[at..at + 2].copy_from_slice(&new.to_be_bytes());
    // Recomputed rather than updated: the option may sit at an odd offset.
    let ip_len = usize::from(u16::from_be_bytes([frame[ETH + 2], frame[ETH + 3]]));
    let end = (ETH + ip_len).min(frame.len());
    let ip4 = |o: usize| Ipv4Addr::new(frame[o], frame[o + 1], frame[o + 2], frame[o + 3]);
    let (src, dst) = (ip4(ETH + 12), ip4(ETH + 16));
    frame[tcp + 16..tcp + 18].fill(0);
    let seg = &frame[tcp..end];
    let pseudo = checksum::pseudo_header_v4(src, dst, 6, seg.len() as u16);
    let csum = checksum::finish(pseudo + checksum::sum(seg));
    frame[tcp + 16..tcp + 18].copy_from_slice(&csum.to_be_bytes());
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An Ethernet/IPv4/TCP SYN from 198.18.0.10 to 198.19.0.10 with `options`.
    fn syn(options: &[u8]) -> Vec<u8> {
        let tcp_len = 20 + options.len();
        let mut f = vec![0u8; 14 + 20 + tcp_len];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x45;
        f[16..18].copy_from_slice(&((20 + tcp_len) as u16).to_be_bytes());
        f[14 + 9] = 6;
        f[26..30].copy_from_slice(&[198, 18, 0, 10]);
        f[30..34].copy_from_slice(&[198, 19, 0, 10]);
        let t = 34;
        f[t..t + 2].copy_from_slice(&40000u16.to_be_bytes());
        f[t + 2..t + 4].copy_from_slice(&80u16.to_be_bytes());
        f[t + 12] = ((tcp_len / 4) as u8) << 4;
        f[t + 13] = 0x02;
        f[t + 20..].copy_from_slice(options);
        let pseudo = checksum::pseudo_header_v4(
            Ipv4Addr::new(198, 18, 0, 10),
            Ipv4Addr::new(198, 19, 0, 10),
            6,
            tcp_len as u16,
        );
        let c = checksum::finish(pseudo + checksum::sum(&f[t..]));
        f[t + 16..t + 18].copy_from_slice(&c.to_be_bytes());
        f
    }

    fn tcp_checksum_ok(f: &[u8]) -> bool {
        let pseudo = checksum::pseudo_header_v4(
            Ipv4Addr::new(198, 18, 0, 10),
            Ipv4Addr::new(198, 19, 0, 10),
            6,
            (f.len() - 34) as u16,
        );
        checksum::finish(pseudo + checksum::sum(&f[34..])) == 0
    }

    const TS: [u8; 10] = [8, 10, 0, 0, 0, 1, 0, 0, 0, 0];

    #[test]
    fn mss_is_lowered_only_when_timestamps_are_offered() {
        // MSS at an odd offset (after a NOP), then timestamps.
        let mut opts = vec![1, 2, 4, 0x05, 0xb4];
        opts.extend_from_slice(&TS);
        opts.push(0);
        let mut f = syn(&opts);
        assert!(tcp_checksum_ok(&f));
        assert!(clamp_mss_for_timestamps(&mut f));
        assert_eq!(u16::from_be_bytes([f[34 + 23], f[34 + 24]]), 1448);
        assert!(tcp_checksum_ok(&f));

        let mut no_ts = syn(&[2, 4, 0x05, 0xb4]);
        let before = no_ts.clone();
        assert!(!clamp_mss_for_timestamps(&mut no_ts));
        assert_eq!(no_ts, before);

        // Not a SYN: left alone.
        let mut ack = syn(&opts);
        ack[34 + 13] = 0x10;
        assert!(!clamp_mss_for_timestamps(&mut ack));

        // A malformed option list is left for the stack to judge.
        let mut bad = syn(&[2, 4, 0x05, 0xb4, 8, 40, 0, 0]);
        assert!(!clamp_mss_for_timestamps(&mut bad));
    }
}
