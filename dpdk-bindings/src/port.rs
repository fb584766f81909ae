//! Ethernet ports (`rte_ethdev`): set-up, control, statistics and the rx/tx bursts.

use std::ffi::{c_char, CStr};
use std::sync::atomic::Ordering;

use crate::ffi;
use crate::mbuf::Mbuf;
use crate::mempool::Mempool;
use crate::ring::MbufRing;
use crate::state::{registry, with_eal, QUEUES};
use crate::{errnos, Error, Result};

/// The RSS key [`Port::configure`] programs when the port takes a 40-byte key: the well-known
/// default Toeplitz key from Microsoft's RSS specification, so software can compute the same
/// hash (e.g. to pick a local port whose return traffic lands on a chosen queue).
pub const RSS_KEY: [u8; 40] = [
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
    0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
    0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
];

/// Kept in a static because drivers read the key through the pointer in the stored
/// configuration, some only at `rte_eth_dev_start`.
static RSS_KEY_STATIC: [u8; 40] = RSS_KEY;

/// Hash functions asked for when RSS is enabled (masked by what the port supports).
pub const RSS_HASH_FUNCTIONS: u64 =
    (ffi::RTE_ETH_RSS_IP | ffi::RTE_ETH_RSS_TCP | ffi::RTE_ETH_RSS_UDP) as u64;

/// Number of ports DPDK has available (probed and not owned by another entity); 0 before
/// [`crate::Eal::init`].
pub fn count_avail() -> u16 {
    with_eal("rte_eth_dev_count_avail", || {
        // SAFETY: the EAL is initialised (with_eal); this walks the ethdev table.
        let ret = unsafe { ffi::rte_eth_dev_count_avail() };
        Ok(ret)
    })
    .unwrap_or(0)
}

/// What a port's driver can do (`rte_eth_dev_info_get`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortInfo {
    pub driver_name: String,
    pub max_rx_queues: u16,
    pub max_tx_queues: u16,
    /// `RTE_ETH_RSS_*` hash functions the port supports; 0 means no RSS.
    pub flow_type_rss_offloads: u64,
    pub rx_offload_capa: u64,
    pub tx_offload_capa: u64,
}

/// Port counters (`rte_eth_stats_get`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortStats {
    pub ipackets: u64,
    pub opackets: u64,
    pub ibytes: u64,
    pub obytes: u64,
    /// Dropped by the hardware because the rx queue was full.
    pub imissed: u64,
    pub ierrors: u64,
    pub oerrors: u64,
    /// Receive failures for lack of mbufs in the pool.
    pub rx_nombuf: u64,
}

/// How [`Port::configure`] sets a port up.
///
/// RSS (over IP, TCP and UDP, as far as the port supports them) is enabled only when
/// `rx_queues > 1` and the port supports it. Descriptor counts are adjusted to the driver's
/// limits. The checksum offloads the port supports are enabled as well ([`Port::offloads`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortConfig {
    pub rx_queues: u16,
    pub tx_queues: u16,
    pub rx_descriptors: u16,
    pub tx_descriptors: u16,
}

impl Default for PortConfig {
    fn default() -> Self {
        PortConfig {
            rx_queues: 1,
            tx_queues: 1,
            rx_descriptors: 1024,
            tx_descriptors: 1024,
        }
    }
}

/// The RSS configuration a port actually uses (`rte_eth_dev_rss_hash_conf_get`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RssConf {
    pub key: Vec<u8>,
    /// `RTE_ETH_RSS_*` hash functions enabled.
    pub hash_functions: u64,
}

/// A DPDK port id, checked when made. Copy it freely to the lcores that poll it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Port {
    id: u16,
}

/// Turns an ethdev return value into a Result.
fn check(call: &'static str, ret: i32) -> Result<()> {
    if ret < 0 {
        Err(Error::from_code(call, ret))
    } else {
        Ok(())
    }
}

impl Port {
    /// The port with id `id`, if DPDK has one.
    pub fn new(id: u16) -> Result<Port> {
        const CALL: &str = "rte_eth_dev_is_valid_port";
        with_eal(CALL, || {
            // SAFETY: the EAL is initialised; the function checks the id's range itself.
            let valid = u32::from(id) < ffi::RTE_MAX_ETHPORTS
                && unsafe { ffi::rte_eth_dev_is_valid_port(id) } != 0;
            if valid {
                Ok(Port { id })
            } else {
                Err(Error::new(CALL, errnos::ENODEV, format!("no port {id}")))
            }
        })
    }

    /// The port DPDK knows by `name` (a vdev name such as `net_tap0`, or a PCI address).
    pub fn by_name(name: &str) -> Result<Port> {
        const CALL: &str = "rte_eth_dev_get_port_by_name";
        let cname = crate::c_string(CALL, name)?;
        with_eal(CALL, || {
            let mut id = 0u16;
            // SAFETY: the EAL is initialised; cname is a C string and id a valid out pointer.
            check(CALL, unsafe {
                ffi::rte_eth_dev_get_port_by_name(cname.as_ptr(), &mut id)
            })?;
            Ok(Port { id })
        })
    }

    /// Every valid port, by ascending id.
    pub fn all() -> Vec<Port> {
        with_eal("rte_eth_find_next", || {
            let mut out = Vec::new();
            let mut id = 0u16;
            loop {
                // SAFETY: the EAL is initialised; rte_eth_find_next accepts any id and returns
                // RTE_MAX_ETHPORTS when there are no more ports.
                id = unsafe { ffi::rte_eth_find_next(id) };
                if u32::from(id) >= ffi::RTE_MAX_ETHPORTS {
                    return Ok(out);
                }
                out.push(Port { id });
                id += 1;
            }
        })
        .unwrap_or_default()
    }

    /// The port id.
    #[inline]
    pub fn id(&self) -> u16 {
        self.id
    }

    /// The device name (e.g. `net_tap0`, `net_ring_bench`); `port<id>` if DPDK cannot say.
    pub fn name(&self) -> String {
        const CALL: &str = "rte_eth_dev_get_name_by_port";
        with_eal(CALL, || {
            let mut buf = [0 as c_char; ffi::RTE_ETH_NAME_MAX_LEN as usize];
            // SAFETY: the EAL is initialised; buf has the RTE_ETH_NAME_MAX_LEN bytes the
            // function may write, NUL included.
            check(CALL, unsafe {
                ffi::rte_eth_dev_get_name_by_port(self.id, buf.as_mut_ptr())
            })?;
            // SAFETY: on success buf holds a NUL-terminated name.
            Ok(unsafe { CStr::from_ptr(buf.as_ptr()) }
                .to_string_lossy()
                .into_owned())
        })
        .unwrap_or_else(|_| format!("port{}", self.id))
    }

    /// NUMA socket the port is attached to (-1 if unknown).
    pub fn socket(&self) -> i32 {
        with_eal("rte_eth_dev_socket_id", || {
            // SAFETY: the EAL is initialised; the function validates the id.
            let ret = unsafe { ffi::rte_eth_dev_socket_id(self.id) };
            Ok(ret)
        })
        .unwrap_or(ffi::SOCKET_ID_ANY)
    }

    fn raw_info(&self) -> Result<ffi::rte_eth_dev_info> {
        const CALL: &str = "rte_eth_dev_info_get";
        let mut info = ffi::rte_eth_dev_info::default();
        // SAFETY: the caller holds with_eal; info is a valid out struct.
        check(CALL, unsafe {
            ffi::rte_eth_dev_info_get(self.id, &mut info)
        })?;
        Ok(info)
    }

    /// The driver's capabilities.
    pub fn info(&self) -> Result<PortInfo> {
        with_eal("rte_eth_dev_info_get", || {
            let info = self.raw_info()?;
            let driver_name = if info.driver_name.is_null() {
                String::new()
            } else {
                // SAFETY: a non-NULL driver_name is the driver's static C string.
                unsafe { CStr::from_ptr(info.driver_name) }
                    .to_string_lossy()
                    .into_owned()
            };
            Ok(PortInfo {
                driver_name,
                max_rx_queues: info.max_rx_queues,
                max_tx_queues: info.max_tx_queues,
                flow_type_rss_offloads: info.flow_type_rss_offloads,
                rx_offload_capa: info.rx_offload_capa,
                tx_offload_capa: info.tx_offload_capa,
            })
        })
    }

    /// The port's MAC address.
    pub fn mac_addr(&self) -> Result<[u8; 6]> {
        const CALL: &str = "rte_eth_macaddr_get";
        with_eal(CALL, || {
            let mut mac = ffi::rte_ether_addr::default();
            // SAFETY: the EAL is initialised; mac is a valid out struct.
            check(CALL, unsafe { ffi::rte_eth_macaddr_get(self.id, &mut mac) })?;
            Ok(mac.addr_bytes)
        })
    }

    /// `rte_eth_dev_configure` plus the setup of every rx queue (filled from `pool`) and tx
    /// queue on `socket`. The port must be stopped, and no lcore may be bursting on it.
    pub fn configure(&self, conf: &PortConfig, pool: &Mempool, socket: i32) -> Result<()> {
        const CALL: &str = "rte_eth_dev_configure";
        with_eal(CALL, || {
            if conf.rx_queues == 0 || conf.tx_queues == 0 {
                return Err(Error::new(
                    CALL,
                    errnos::EINVAL,
                    "a port needs at least one rx and one tx queue",
                ));
            }
            let info = self.raw_info()?;
            if conf.rx_queues > info.max_rx_queues || conf.tx_queues > info.max_tx_queues {
                return Err(Error::new(
                    CALL,
                    errnos::EINVAL,
                    format!(
                        "port {} supports at most {} rx / {} tx queues, {} / {} asked",
                        self.id,
                        info.max_rx_queues,
                        info.max_tx_queues,
                        conf.rx_queues,
                        conf.tx_queues
                    ),
                ));
            }
            let eth_conf = eth_conf_for(conf, &info);

            // Reconfiguring frees the old queues: keep bursts away from them from now on,
            // unless DPDK refuses (e.g. a started port), which leaves the old ones in place.
            let slot = &QUEUES[usize::from(self.id)];
            let previous = slot.swap(0, Ordering::AcqRel);
            // SAFETY: the EAL is initialised; eth_conf is fully initialised and its RSS key
            // pointer (if any) is a static that outlives the port.
            let ret = unsafe {
                ffi::rte_eth_dev_configure(self.id, conf.rx_queues, conf.tx_queues, &eth_conf)
            };
            if ret < 0 {
                slot.store(previous, Ordering::Release);
                return Err(Error::from_code(CALL, ret));
            }

            let (mut nb_rxd, mut nb_txd) = (conf.rx_descriptors, conf.tx_descriptors);
            // SAFETY: configured port; both out pointers are valid.
            check("rte_eth_dev_adjust_nb_rx_tx_desc", unsafe {
                ffi::rte_eth_dev_adjust_nb_rx_tx_desc(self.id, &mut nb_rxd, &mut nb_txd)
            })?;

            // The port will take mbufs from the pool until closed: record it so the pool is
            // not freed under it.
            let pool_addr = pool.as_ptr() as usize;
            {
                let mut reg = registry();
                if !reg.port_uses.contains(&(self.id, pool_addr)) {
                    reg.port_uses.push((self.id, pool_addr));
                }
            }
            // SOCKET_ID_ANY (-1) is passed as the unsigned value DPDK expects for it.
            let socket = socket as u32;
            for q in 0..conf.rx_queues {
                // SAFETY: configured port, q < rx_queues; NULL rx_conf means the driver's
                // defaults plus the port-level offloads; pool is a live pktmbuf pool that
                // stays allocated while the port uses it (registry above).
                check("rte_eth_rx_queue_setup", unsafe {
                    ffi::rte_eth_rx_queue_setup(
                        self.id,
                        q,
                        nb_rxd,
                        socket,
                        std::ptr::null(),
                        pool.as_ptr(),
                    )
                })?;
            }
            for q in 0..conf.tx_queues {
                // SAFETY: configured port, q < tx_queues; NULL tx_conf means the driver's
                // defaults plus the port-level offloads.
                check("rte_eth_tx_queue_setup", unsafe {
                    ffi::rte_eth_tx_queue_setup(self.id, q, nb_txd, socket, std::ptr::null())
                })?;
            }
            slot.store(
                (u32::from(conf.rx_queues) << 16) | u32::from(conf.tx_queues),
                Ordering::Release,
            );
            Ok(())
        })
    }

    /// The rx and tx offloads (`RTE_ETH_RX_OFFLOAD_*`, `RTE_ETH_TX_OFFLOAD_*`) enabled by
    /// [`Port::configure`].
    pub fn offloads(&self) -> Result<(u64, u64)> {
        const CALL: &str = "rte_eth_dev_conf_get";
        with_eal(CALL, || {
            let mut conf = ffi::rte_eth_conf::default();
            // SAFETY: the EAL is initialised; conf is a valid out struct.
            check(CALL, unsafe {
                ffi::rte_eth_dev_conf_get(self.id, &mut conf)
            })?;
            Ok((conf.rxmode.offloads, conf.txmode.offloads))
        })
    }

    /// The RSS key and hash functions in use. Fails (ENOTSUP) on ports without RSS such as
    /// net_ring and net_tap.
    pub fn rss_conf(&self) -> Result<RssConf> {
        const CALL: &str = "rte_eth_dev_rss_hash_conf_get";
        with_eal(CALL, || {
            let info = self.raw_info()?;
            let mut key = vec![0u8; usize::from(info.hash_key_size).max(RSS_KEY.len())];
            let mut conf = ffi::rte_eth_rss_conf {
                rss_key: key.as_mut_ptr(),
                rss_key_len: info.hash_key_size,
                rss_hf: 0,
            };
            // SAFETY: the EAL is initialised; the key buffer holds at least hash_key_size
            // bytes, which is what drivers write.
            check(CALL, unsafe {
                ffi::rte_eth_dev_rss_hash_conf_get(self.id, &mut conf)
            })?;
            key.truncate(usize::from(conf.rss_key_len));
            Ok(RssConf {
                key,
                hash_functions: conf.rss_hf,
            })
        })
    }

    /// `rte_eth_dev_start`.
    pub fn start(&self) -> Result<()> {
        const CALL: &str = "rte_eth_dev_start";
        with_eal(CALL, || {
            // SAFETY: the EAL is initialised; ethdev validates the id and the port state.
            let ret = unsafe { ffi::rte_eth_dev_start(self.id) };
            check(CALL, ret)
        })
    }

    /// `rte_eth_dev_stop`. Stop the lcores bursting on the port first.
    pub fn stop(&self) -> Result<()> {
        const CALL: &str = "rte_eth_dev_stop";
        with_eal(CALL, || {
            // SAFETY: the EAL is initialised; ethdev validates the id and the port state.
            let ret = unsafe { ffi::rte_eth_dev_stop(self.id) };
            check(CALL, ret)
        })
    }

    /// `rte_eth_dev_close`: releases the port's queues and the port id, and the mempool and
    /// rings it used may then be dropped. Stop it first.
    pub fn close(&self) -> Result<()> {
        const CALL: &str = "rte_eth_dev_close";
        with_eal(CALL, || {
            let slot = &QUEUES[usize::from(self.id)];
            let queues = slot.swap(0, Ordering::AcqRel);
            // SAFETY: the EAL is initialised; ethdev validates the id; bursts through this
            // crate no longer reach the queues (QUEUES cleared above).
            let ret = unsafe { ffi::rte_eth_dev_close(self.id) };
            if ret < 0 {
                slot.store(queues, Ordering::Release);
                return Err(Error::from_code(CALL, ret));
            }
            registry().port_uses.retain(|&(p, _)| p != self.id);
            Ok(())
        })
    }

    /// Turns promiscuous mode on or off.
    pub fn set_promiscuous(&self, on: bool) -> Result<()> {
        with_eal("rte_eth_promiscuous_enable", || {
            // SAFETY: the EAL is initialised; ethdev validates the id.
            unsafe {
                if on {
                    check(
                        "rte_eth_promiscuous_enable",
                        ffi::rte_eth_promiscuous_enable(self.id),
                    )
                } else {
                    check(
                        "rte_eth_promiscuous_disable",
                        ffi::rte_eth_promiscuous_disable(self.id),
                    )
                }
            }
        })
    }

    /// Whether the link is up, without waiting for the driver to find out.
    pub fn link_up(&self) -> bool {
        with_eal("rte_eth_link_get_nowait", || {
            let mut link = ffi::rte_eth_link::default();
            // SAFETY: the EAL is initialised; link is a valid out struct.
            check("rte_eth_link_get_nowait", unsafe {
                ffi::rte_eth_link_get_nowait(self.id, &mut link)
            })?;
            Ok(link.link_status() != 0)
        })
        .unwrap_or(false)
    }

    /// The port's counters.
    pub fn stats(&self) -> Result<PortStats> {
        const CALL: &str = "rte_eth_stats_get";
        with_eal(CALL, || {
            let mut s = ffi::rte_eth_stats::default();
            // SAFETY: the EAL is initialised; s is a valid out struct.
            check(CALL, unsafe { ffi::rte_eth_stats_get(self.id, &mut s) })?;
            Ok(PortStats {
                ipackets: s.ipackets,
                opackets: s.opackets,
                ibytes: s.ibytes,
                obytes: s.obytes,
                imissed: s.imissed,
                ierrors: s.ierrors,
                oerrors: s.oerrors,
                rx_nombuf: s.rx_nombuf,
            })
        })
    }

    /// Resets the port's counters.
    pub fn reset_stats(&self) -> Result<()> {
        const CALL: &str = "rte_eth_stats_reset";
        with_eal(CALL, || {
            // SAFETY: the EAL is initialised; ethdev validates the id.
            let ret = unsafe { ffi::rte_eth_stats_reset(self.id) };
            check(CALL, ret)
        })
    }

    /// Receives up to `max` packets from rx `queue` and appends them to `out`. Room for `max`
    /// is reserved first, so a caller that keeps the Vec's capacity never allocates here.
    /// Returns 0 for a queue the port was not configured with, or a stopped port.
    #[inline]
    pub fn rx_burst(&self, queue: u16, out: &mut Vec<Mbuf>, max: usize) -> usize {
        let queues = QUEUES[usize::from(self.id)].load(Ordering::Acquire);
        if u32::from(queue) >= queues >> 16 {
            return 0;
        }
        let max = u16::try_from(max).unwrap_or(u16::MAX);
        out.reserve(usize::from(max));
        let spare = out.spare_capacity_mut();
        // SAFETY: the port id is in range (Port::new) and the queue was set up (QUEUES);
        // spare has room for max pointers; Mbuf is repr(transparent) over a non-NULL mbuf
        // pointer, which is what the driver writes.
        let n = unsafe {
            ffi::splicer_shim_eth_rx_burst(self.id, queue, spare.as_mut_ptr().cast(), max)
        };
        // SAFETY: the driver wrote n owned mbuf references into the spare capacity.
        unsafe { out.set_len(out.len() + usize::from(n)) };
        usize::from(n)
    }

    /// Transmits from the front of `pkts` on tx `queue`. The packets sent belong to the
    /// driver and are removed; the others stay in `pkts`, in order. Returns how many were
    /// sent (0 for a queue the port was not configured with, or a stopped port).
    #[inline]
    pub fn tx_burst(&self, queue: u16, pkts: &mut Vec<Mbuf>) -> usize {
        let queues = QUEUES[usize::from(self.id)].load(Ordering::Acquire);
        if u32::from(queue) >= queues & 0xffff {
            return 0;
        }
        let len = pkts.len();
        let n = u16::try_from(len).unwrap_or(u16::MAX);
        // SAFETY: the port id is in range and the queue set up (as in rx_burst); the first n
        // elements are owned mbuf references laid out as the pointer array DPDK reads.
        let sent = usize::from(unsafe {
            ffi::splicer_shim_eth_tx_burst(self.id, queue, pkts.as_mut_ptr().cast(), n)
        });
        // SAFETY: the first `sent` references now belong to the driver; the rest move to the
        // front without being dropped or duplicated.
        unsafe {
            let base = pkts.as_mut_ptr();
            std::ptr::copy(base.add(sent), base, len - sent);
            pkts.set_len(len - sent);
        }
        sent
    }
}

/// The ethdev configuration for `conf` on a port with capabilities `info`.
fn eth_conf_for(conf: &PortConfig, info: &ffi::rte_eth_dev_info) -> ffi::rte_eth_conf {
    let mut eth = ffi::rte_eth_conf::default();
    let rss_hf = RSS_HASH_FUNCTIONS & info.flow_type_rss_offloads;
    if conf.rx_queues > 1 && rss_hf != 0 {
        eth.rxmode.mq_mode = ffi::RTE_ETH_MQ_RX_RSS;
        eth.rx_adv_conf.rss_conf.rss_hf = rss_hf;
        // Other key sizes (e.g. 52 bytes on i40e) keep the driver's own key; rss_conf() says
        // which one is in use.
        if usize::from(info.hash_key_size) == RSS_KEY.len() {
            eth.rx_adv_conf.rss_conf.rss_key = RSS_KEY_STATIC.as_ptr().cast_mut();
            eth.rx_adv_conf.rss_conf.rss_key_len = info.hash_key_size;
        }
        // Without it some drivers leave the hash out of the mbuf.
        eth.rxmode.offloads |= u64::from(ffi::RTE_ETH_RX_OFFLOAD_RSS_HASH) & info.rx_offload_capa;
    }
    eth.rxmode.offloads |= u64::from(ffi::RTE_ETH_RX_OFFLOAD_CHECKSUM) & info.rx_offload_capa;
    eth.txmode.offloads = u64::from(
        ffi::RTE_ETH_TX_OFFLOAD_IPV4_CKSUM
            | ffi::RTE_ETH_TX_OFFLOAD_TCP_CKSUM
            | ffi::RTE_ETH_TX_OFFLOAD_UDP_CKSUM,
    ) & info.tx_offload_capa;
    eth
}

/// A net_ring port over `rx` and `tx` (one queue per ring; `rte_eth_from_rings`), named
/// `net_ring_<name>`; `name` at most 19 bytes. For benchmarks and tests: a ring used as both
/// an rx and a tx queue loops packets back. The rings must stay alive until the port is
/// closed (dropped earlier, they are leaked rather than freed).
pub fn from_rings(name: &str, rx: &[&MbufRing], tx: &[&MbufRing], socket: i32) -> Result<Port> {
    const CALL: &str = "rte_eth_from_rings";
    let cname = crate::c_string(CALL, name)?;
    if rx.is_empty() || tx.is_empty() {
        return Err(Error::new(
            CALL,
            errnos::EINVAL,
            "a ring port needs at least one rx and one tx ring",
        ));
    }
    let rx_rings: Vec<*mut ffi::rte_ring> = rx.iter().map(|r| r.as_ptr()).collect();
    let tx_rings: Vec<*mut ffi::rte_ring> = tx.iter().map(|r| r.as_ptr()).collect();
    // DPDK itself allows at most 16 of each; this only keeps the cast honest.
    let too_many = |_| Error::new(CALL, errnos::EINVAL, "too many rings");
    let nb_rx = u32::try_from(rx_rings.len()).map_err(too_many)?;
    let nb_tx = u32::try_from(tx_rings.len()).map_err(too_many)?;
    with_eal(CALL, || {
        // SAFETY: the EAL is initialised; the arrays hold live rings (the registry below keeps
        // them from being freed while the port exists); name is a C string DPDK copies.
        let ret = unsafe {
            ffi::rte_eth_from_rings(
                cname.as_ptr(),
                rx_rings.as_ptr(),
                nb_rx,
                tx_rings.as_ptr(),
                nb_tx,
                socket as u32,
            )
        };
        if ret < 0 {
            return Err(Error::from_errno(CALL));
        }
        let id = u16::try_from(ret)
            .map_err(|_| Error::new(CALL, errnos::ENOENT, "port id out of range"))?;
        let mut reg = registry();
        for r in rx_rings.iter().chain(&tx_rings) {
            reg.port_uses.push((id, *r as usize));
        }
        Ok(Port { id })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(rss: u64, key: u8, rx_capa: u64, tx_capa: u64) -> ffi::rte_eth_dev_info {
        ffi::rte_eth_dev_info {
            flow_type_rss_offloads: rss,
            hash_key_size: key,
            rx_offload_capa: rx_capa,
            tx_offload_capa: tx_capa,
            ..Default::default()
        }
    }

    #[test]
    fn rss_only_with_several_queues_and_support() {
        let one = PortConfig::default();
        let four = PortConfig {
            rx_queues: 4,
            ..one
        };
        let rss = u64::from(ffi::RTE_ETH_RSS_NONFRAG_IPV4_TCP);
        assert_eq!(eth_conf_for(&four, &info(0, 40, 0, 0)).rxmode.mq_mode, 0);
        assert_eq!(eth_conf_for(&one, &info(rss, 40, 0, 0)).rxmode.mq_mode, 0);

        let c = eth_conf_for(&four, &info(rss, 40, 0, 0));
        assert_eq!(c.rxmode.mq_mode, ffi::RTE_ETH_MQ_RX_RSS);
        assert_eq!(c.rx_adv_conf.rss_conf.rss_hf, rss);
        assert_eq!(c.rx_adv_conf.rss_conf.rss_key_len, 40);
        // SAFETY: test-only read of the static key the config points to.
        let key = unsafe { std::slice::from_raw_parts(c.rx_adv_conf.rss_conf.rss_key, 40) };
        assert_eq!(key, RSS_KEY);

        let c = eth_conf_for(&four, &info(rss, 52, 0, 0));
        assert!(c.rx_adv_conf.rss_conf.rss_key.is_null());
    }

    #[test]
    fn offloads_are_masked_by_capabilities() {
        let tcp = u64::from(ffi::RTE_ETH_TX_OFFLOAD_TCP_CKSUM);
        let vlan = u64::from(ffi::RTE_ETH_TX_OFFLOAD_VLAN_INSERT);
        let c = eth_conf_for(&PortConfig::default(), &info(0, 0, 0, tcp | vlan));
        assert_eq!(c.txmode.offloads, tcp);
        assert_eq!(c.rxmode.offloads, 0);
    }

    #[test]
    fn bursts_on_unconfigured_ports_do_nothing() {
        // Port ids are normally checked by Port::new; the queue table alone must already keep
        // a burst away from DPDK.
        let p = Port { id: 3 };
        let mut v = Vec::new();
        assert_eq!(p.rx_burst(0, &mut v, 32), 0);
        assert_eq!(p.tx_burst(0, &mut v), 0);
        assert!(v.is_empty());
    }
}
