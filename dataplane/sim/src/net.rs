//! The simulated network: hosts on two switched L2 segments, each attached by a pair of
//! impaired links, and a device under test between the segments.
//!
//! ```text
//!  outside hosts ─links─ [switch 0] ── port 0 ┐            ┌ port 1 ── [switch 1] ─links─ inside hosts
//!                                             └─ Middlebox ┘
//! ```
//!
//! Each host has its own link towards its switch and its own link back, so every host
//! sees its own losses. The device's ports are wired to the switches directly: a frame
//! from a client to a server crosses two impaired links, one on each leg.

use crate::host::{AnyApp, App, Host, HostConfig, HostId};
use crate::link::{Impairments, Link, LinkStats};
use crate::pcap;
use crate::time;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::path::Path;

/// A device under test: it receives the frames that reach its ports and emits frames
/// on them.
pub trait Middlebox {
    /// A frame arrived on `port` at pipeline time `now`; frames to send go to `out` as
    /// `(port, frame)`.
    fn receive(&mut self, port: u16, frame: Vec<u8>, now: u64, out: &mut Vec<(u16, Vec<u8>)>);
    /// Called once per tick after the tick's frames were received, for timers.
    fn poll(&mut self, now: u64, out: &mut Vec<(u16, Vec<u8>)>);
}

impl<M: Middlebox + ?Sized> Middlebox for Box<M> {
    fn receive(&mut self, port: u16, frame: Vec<u8>, now: u64, out: &mut Vec<(u16, Vec<u8>)>) {
        (**self).receive(port, frame, now, out)
    }
    fn poll(&mut self, now: u64, out: &mut Vec<(u16, Vec<u8>)>) {
        (**self).poll(now, out)
    }
}

/// One of the two L2 segments, named by the device port it is wired to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    /// Port 0: clients, the internet side.
    Outside,
    /// Port 1: servers.
    Inside,
}

impl Segment {
    /// Both segments, in port order.
    pub const ALL: [Segment; 2] = [Segment::Outside, Segment::Inside];

    /// The device port the segment is wired to.
    pub fn port(self) -> u16 {
        match self {
            Segment::Outside => 0,
            Segment::Inside => 1,
        }
    }

    /// The segment wired to device port `port`.
    pub fn from_port(port: u16) -> Option<Segment> {
        match port {
            0 => Some(Segment::Outside),
            1 => Some(Segment::Inside),
            _ => None,
        }
    }

    fn index(self) -> usize {
        usize::from(self.port())
    }
}

/// A typed handle to an app placed on a host with [`Network::spawn`].
pub struct AppId<T> {
    index: usize,
    _type: PhantomData<fn() -> T>,
}

impl<T> Clone for AppId<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for AppId<T> {}
impl<T> std::fmt::Debug for AppId<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AppId({})", self.index)
    }
}

/// [`Network::run_until`] ran out of ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeout {
    /// Ticks run before giving up.
    pub ticks: u64,
    /// The network's tick when it gave up.
    pub at_tick: u64,
}

impl std::fmt::Display for Timeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "condition not met after {} ticks ({} ms simulated), at tick {}",
            self.ticks,
            time::ms_from_ticks(self.ticks),
            self.at_tick
        )
    }
}

impl std::error::Error for Timeout {}

/// Frame counts of the network itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Frames delivered to the device under test.
    pub dut_rx: u64,
    /// Frames the device under test emitted.
    pub dut_tx: u64,
    /// Frames a switch flooded (broadcast, multicast or unknown destination).
    pub flooded: u64,
    /// Frames a switch dropped: shorter than an Ethernet header, or addressed back to
    /// where they came from.
    pub switch_drops: u64,
}

/// A frame seen at the device's boundary, kept when capture is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    /// Tick it crossed the boundary.
    pub tick: u64,
    /// Device port.
    pub port: u16,
    /// True for frames going into the device, false for frames it emitted.
    pub to_dut: bool,
    /// The frame.
    pub frame: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attachment {
    Host(usize),
    Dut,
}

struct Attached {
    host: Host,
    up: Link,
    down: Link,
}

/// The simulated network around a device under test `M`.
pub struct Network<M = Box<dyn Middlebox>> {
    tick: u64,
    seed: u64,
    dut: M,
    hosts: Vec<Attached>,
    apps: Vec<(HostId, Box<dyn AnyApp>)>,
    fdb: [HashMap<[u8; 6], Attachment>; 2],
    impairments: [Impairments; 2],
    dut_rx: Vec<(u16, Vec<u8>)>,
    dut_out: Vec<(u16, Vec<u8>)>,
    stats: NetStats,
    /// One running hash per port: frames on different ports emitted in one tick may come
    /// out of a hash-ordered table in any order without changing the run.
    digest: [u64; 2],
    capture: Option<Vec<Captured>>,
}

/// Derives independent seeds from one (SplitMix64's finaliser).
fn mix(seed: u64, a: u64, b: u64) -> u64 {
    let mut z = seed
        .wrapping_add(a.wrapping_mul(0x9e37_79b9_7f4a_7c15))
        .wrapping_add(b.wrapping_mul(0xd1b5_4a32_d192_ed03));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

impl<M: Middlebox> Network<M> {
    /// A network around `dut` with no hosts; every random decision follows from `seed`.
    /// Hosts added later get `impairments` on both of their links.
    pub fn new(dut: M, impairments: Impairments, seed: u64) -> Self {
        Network {
            tick: 0,
            seed,
            dut,
            hosts: Vec::new(),
            apps: Vec::new(),
            fdb: [HashMap::new(), HashMap::new()],
            impairments: [impairments; 2],
            dut_rx: Vec::new(),
            dut_out: Vec::new(),
            stats: NetStats::default(),
            digest: [FNV_OFFSET; 2],
            capture: None,
        }
    }

    /// Sets the impairments that hosts added to `segment` from now on get.
    pub fn set_segment_impairments(&mut self, segment: Segment, impairments: Impairments) {
        self.impairments[segment.index()] = impairments;
    }

    /// Adds a host to `segment` with the segment's impairments on its links.
    pub fn add_host(&mut self, segment: Segment, config: HostConfig) -> HostId {
        let imp = self.impairments[segment.index()];
        self.add_host_with(segment, config, imp, imp)
    }

    /// Adds a host to `segment` whose link towards the switch has `up` and whose link
    /// from the switch has `down`.
    pub fn add_host_with(
        &mut self,
        segment: Segment,
        config: HostConfig,
        up: Impairments,
        down: Impairments,
    ) -> HostId {
        let i = self.hosts.len();
        let mac = config.mac.unwrap_or([
            0x02,
            0x53,
            0x00,
            segment.port() as u8,
            (i >> 8) as u8,
            i as u8,
        ]);
        assert!(
            mac[0] & 1 == 0,
            "host {} needs a unicast MAC address",
            config.name
        );
        let fdb = &mut self.fdb[segment.index()];
        assert!(
            !matches!(fdb.get(&mac), Some(Attachment::Host(_))),
            "two hosts with MAC {mac:02x?} on {segment:?}"
        );
        fdb.insert(mac, Attachment::Host(i));
        let i64 = i as u64;
        let mut host = Host::new(&config, mac, segment, mix(self.seed, i64, 0));
        host.set_tick(self.tick);
        self.hosts.push(Attached {
            host,
            up: Link::new(up, mix(self.seed, i64, 1)),
            down: Link::new(down, mix(self.seed, i64, 2)),
        });
        HostId(i)
    }

    /// Places `app` on `host` and starts it.
    pub fn spawn<T: App>(&mut self, host: HostId, mut app: T) -> AppId<T> {
        app.start(&mut self.hosts[host.0].host);
        self.apps.push((host, Box::new(app)));
        AppId {
            index: self.apps.len() - 1,
            _type: PhantomData,
        }
    }

    /// The app `id`.
    pub fn app<T: App>(&self, id: AppId<T>) -> &T {
        self.apps[id.index]
            .1
            .any()
            .downcast_ref()
            .expect("AppId type matches its app")
    }

    /// The app `id`, mutable.
    pub fn app_mut<T: App>(&mut self, id: AppId<T>) -> &mut T {
        self.apps[id.index]
            .1
            .any_mut()
            .downcast_mut()
            .expect("AppId type matches its app")
    }

    /// The host `id`.
    pub fn host(&self, id: HostId) -> &Host {
        &self.hosts[id.0].host
    }

    /// The host `id`, mutable (to open sockets by hand).
    pub fn host_mut(&mut self, id: HostId) -> &mut Host {
        &mut self.hosts[id.0].host
    }

    /// Every host, in the order they were added.
    pub fn hosts(&self) -> impl Iterator<Item = (HostId, &Host)> {
        self.hosts
            .iter()
            .enumerate()
            .map(|(i, a)| (HostId(i), &a.host))
    }

    /// The link from host `id` towards its switch.
    pub fn uplink(&self, id: HostId) -> &Link {
        &self.hosts[id.0].up
    }

    /// The link from host `id` towards its switch, mutable (to change its impairments
    /// or aim a loss).
    pub fn uplink_mut(&mut self, id: HostId) -> &mut Link {
        &mut self.hosts[id.0].up
    }

    /// The link from the switch to host `id`.
    pub fn downlink(&self, id: HostId) -> &Link {
        &self.hosts[id.0].down
    }

    /// The link from the switch to host `id`, mutable.
    pub fn downlink_mut(&mut self, id: HostId) -> &mut Link {
        &mut self.hosts[id.0].down
    }

    /// What all links together did.
    pub fn link_totals(&self) -> LinkStats {
        let mut t = LinkStats::default();
        for a in &self.hosts {
            t += a.up.stats();
            t += a.down.stats();
        }
        t
    }

    /// The device under test.
    pub fn dut(&self) -> &M {
        &self.dut
    }

    /// The device under test, mutable.
    pub fn dut_mut(&mut self) -> &mut M {
        &mut self.dut
    }

    /// Ticks since the network was made.
    pub fn tick(&self) -> u64 {
        self.tick
    }

    /// The network's own counters.
    pub fn stats(&self) -> NetStats {
        self.stats
    }

    /// A hash of every frame that crossed the device's boundary, with its tick, port and
    /// direction: two runs with the same digest saw the same traffic at the same times.
    /// The order of frames is kept per port, not across ports.
    pub fn digest(&self) -> u64 {
        mix(self.digest[0], self.digest[1], 1)
    }

    /// Starts (or stops and discards) keeping a copy of every frame that crosses the
    /// device's boundary.
    pub fn set_capture(&mut self, on: bool) {
        self.capture = on.then(Vec::new);
    }

    /// Frames captured so far.
    pub fn captured(&self) -> &[Captured] {
        self.capture.as_deref().unwrap_or(&[])
    }

    /// Writes the captured frames of device port `port` (both directions) to a pcap
    /// file, for a look with tcpdump or Wireshark when a test fails.
    pub fn write_pcap(&self, path: &Path, port: u16) -> std::io::Result<()> {
        pcap::write(
            path,
            self.captured()
                .iter()
                .filter(|c| c.port == port)
                .map(|c| (c.tick * time::TICK_MICROS, &c.frame[..])),
        )
    }

    fn record(&mut self, port: u16, to_dut: bool, frame: &[u8]) {
        let slot = &mut self.digest[usize::from(port & 1)];
        let mut h = *slot;
        let tag = self.tick << 17 | u64::from(port) << 1 | u64::from(to_dut);
        for b in tag.to_le_bytes().iter().chain(frame) {
            h = (h ^ u64::from(*b)).wrapping_mul(FNV_PRIME);
        }
        *slot = h;
        if let Some(c) = &mut self.capture {
            c.push(Captured {
                tick: self.tick,
                port,
                to_dut,
                frame: frame.to_vec(),
            });
        }
    }

    /// Forwards `frame` that entered the switch of `seg` from `from`, like a learning
    /// switch: host addresses are known from the start, the device's are learned.
    fn switch(&mut self, seg: Segment, from: Attachment, frame: Vec<u8>) {
        if frame.len() < 14 {
            self.stats.switch_drops += 1;
            return;
        }
        let mut dst = [0u8; 6];
        dst.copy_from_slice(&frame[..6]);
        let mut src = [0u8; 6];
        src.copy_from_slice(&frame[6..12]);
        let fdb = &mut self.fdb[seg.index()];
        if src[0] & 1 == 0 && !matches!(fdb.get(&src), Some(Attachment::Host(_))) {
            fdb.insert(src, from);
        }
        let known = if dst[0] & 1 == 0 {
            fdb.get(&dst).copied()
        } else {
            None
        };
        let tick = self.tick;
        match known {
            Some(to) if to == from => self.stats.switch_drops += 1,
            Some(Attachment::Host(j)) => self.hosts[j].down.send(frame, tick),
            Some(Attachment::Dut) => self.dut_rx.push((seg.port(), frame)),
            None => {
                self.stats.flooded += 1;
                for (j, a) in self.hosts.iter_mut().enumerate() {
                    if a.host.segment() == seg && from != Attachment::Host(j) {
                        a.down.send(frame.clone(), tick);
                    }
                }
                if from != Attachment::Dut {
                    self.dut_rx.push((seg.port(), frame));
                }
            }
        }
    }

    /// Advances time by one tick: frames due on the hosts' uplinks reach their switch,
    /// the device receives what reached its ports and runs its timers, frames due on the
    /// downlinks reach their hosts, and every host polls its interface, its apps, and its
    /// interface again (so an app's reply leaves in the same tick).
    pub fn step(&mut self) {
        self.tick += 1;
        let tick = self.tick;
        crate::host::set_tsval_clock(tick);
        for i in 0..self.hosts.len() {
            let seg = self.hosts[i].host.segment();
            while let Some(f) = self.hosts[i].up.recv(tick) {
                self.switch(seg, Attachment::Host(i), f);
            }
        }
        let now = time::pipeline_now(tick);
        let mut rx = std::mem::take(&mut self.dut_rx);
        for (port, f) in rx.drain(..) {
            self.stats.dut_rx += 1;
            self.record(port, true, &f);
            self.dut.receive(port, f, now, &mut self.dut_out);
        }
        self.dut_rx = rx;
        self.dut.poll(now, &mut self.dut_out);
        let mut out = std::mem::take(&mut self.dut_out);
        for (port, f) in out.drain(..) {
            let seg = Segment::from_port(port)
                .unwrap_or_else(|| panic!("device sent on port {port}, which has no segment"));
            self.stats.dut_tx += 1;
            self.record(port, false, &f);
            self.switch(seg, Attachment::Dut, f);
        }
        self.dut_out = out;
        for a in &mut self.hosts {
            while let Some(f) = a.down.recv(tick) {
                a.host.deliver(f);
            }
            a.host.set_tick(tick);
            a.host.poll_iface();
        }
        for (h, app) in &mut self.apps {
            app.app().poll(&mut self.hosts[h.0].host);
        }
        for a in &mut self.hosts {
            a.host.poll_iface();
            for f in a.host.take_tx() {
                a.up.send(f, tick);
            }
        }
    }

    /// Runs `ticks` steps.
    pub fn run_for(&mut self, ticks: u64) {
        for _ in 0..ticks {
            self.step();
        }
    }

    /// Steps until `done` holds (checked before every step) or `max_ticks` steps ran.
    /// Returns the number of steps taken.
    pub fn run_until(
        &mut self,
        mut done: impl FnMut(&mut Self) -> bool,
        max_ticks: u64,
    ) -> Result<u64, Timeout> {
        let start = self.tick;
        loop {
            if done(self) {
                return Ok(self.tick - start);
            }
            if self.tick - start >= max_ticks {
                return Err(Timeout {
                    ticks: max_ticks,
                    at_tick: self.tick,
                });
            }
            self.step();
        }
    }
}

impl<M> std::fmt::Debug for Network<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network")
            .field("tick", &self.tick)
            .field(
                "hosts",
                &self.hosts.iter().map(|a| &a.host).collect::<Vec<_>>(),
            )
            .field("stats", &self.stats)
            .finish()
    }
}
