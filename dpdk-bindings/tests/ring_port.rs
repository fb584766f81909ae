//! The whole safe layer against a real EAL: a net_ring port cross-wired to itself moves mbufs
//! with known bytes from tx queues to rx queues, plus rings, mbuf operations and an lcore
//! launch. The EAL can be initialised once per process, hence one test doing it all in order.
//!
//! Runs without hugepages or PCI access; needs root for /var/run/dpdk (as DPDK does).

use std::path::PathBuf;
use std::sync::Arc;

use dpdk_bindings::mbuf::Mbuf;
use dpdk_bindings::port::{self, PortConfig};
use dpdk_bindings::ring::MbufRing;
use dpdk_bindings::{eal, Eal, Mempool, Port};

/// Removes the EAL's runtime directory when the test ends, passed or failed: DPDK leaves it
/// behind even after a clean rte_eal_cleanup.
struct RuntimeDirGuard(PathBuf);

impl Drop for RuntimeDirGuard {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            if e.kind() != std::io::ErrorKind::NotFound {
                eprintln!("could not remove {}: {e}", self.0.display());
            }
        }
    }
}

/// Enough for a full 1024-slot ring plus the packets that do not fit in it.
const POOL_SIZE: u32 = 2047;

/// A packet whose bytes say which packet it is.
fn pattern(tag: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| tag.wrapping_mul(31).wrapping_add(i as u8))
        .collect()
}

fn filled(pool: &Mempool, bytes: &[u8]) -> Mbuf {
    let mut m = pool.alloc().expect("mempool has mbufs");
    m.append(bytes.len())
        .expect("room for the packet")
        .copy_from_slice(bytes);
    m
}

#[test]
fn eal_ring_port_round_trip() {
    let prefix = format!("dpdkbind-{}", std::process::id());
    let _dir = RuntimeDirGuard(PathBuf::from("/var/run/dpdk").join(&prefix));
    // Lcore 1 shares CPU 0 with the main lcore, so the launch test needs only one CPU.
    let args: Vec<String> = [
        "dpdk-bindings-test",
        "--no-huge",
        "--no-pci",
        "--no-shconf",
        "-m",
        "256",
        "--file-prefix",
        &prefix,
        "--lcores",
        "0@0,1@0",
        "--log-level",
        "lib.eal:notice",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();

    let eal = Eal::init(&args).expect("EAL init");
    assert_eq!(
        Eal::init(&args).unwrap_err().code,
        114,
        "second init must be refused"
    );
    assert_eq!(
        eal.runtime_dir(),
        PathBuf::from("/var/run/dpdk").join(&prefix)
    );
    assert_eq!(eal.lcore_count(), 2);
    assert_eq!(eal.main_lcore(), 0);
    assert_eq!(eal.worker_lcores(), vec![1]);
    assert_eq!(eal::lcore_id(), 0, "the init thread becomes the main lcore");
    assert!(eal.socket_of(1) >= 0);
    assert_eq!(eal.socket_of(100_000), -1);
    assert!(eal::tsc_hz() > 0);

    let pool = Arc::new(
        Mempool::create_pktmbuf(
            "dbt_pool",
            POOL_SIZE,
            32,
            dpdk_bindings::mempool::DEFAULT_DATA_ROOM,
            eal::socket_id(),
        )
        .expect("mempool"),
    );
    assert_eq!(pool.in_use(), 0);
    let err = Mempool::create_pktmbuf("dbt_pool", 63, 0, 2176, -1).unwrap_err();
    assert_eq!(err.call, "rte_pktmbuf_pool_create");
    assert!(err.to_string().contains("rte_pktmbuf_pool_create failed"));

    mbuf_operations(&pool);
    assert_eq!(pool.in_use(), 0, "mbuf tests leaked mbufs");

    ring_operations(&pool);
    assert_eq!(pool.in_use(), 0, "ring tests leaked mbufs");

    launch_on_worker(&eal, &pool);
    assert_eq!(pool.in_use(), 0, "worker leaked mbufs");

    let port_id = port_round_trip(&pool);
    assert!(Port::new(port_id).is_err(), "closed port must be gone");
    assert_eq!(pool.in_use(), 0, "port round trip leaked mbufs");

    // Cleanup refuses while objects are alive and hands the Eal back.
    let (eal, err) = eal.try_cleanup().expect_err("a pool is still alive");
    assert_eq!(err.code, 16, "{err}");

    // A pool dropped while one of its mbufs is out is leaked, not freed under the mbuf.
    let small = Mempool::create_pktmbuf("dbt_small", 63, 0, 256, -1).expect("small pool");
    let mut straggler = small.alloc().expect("alloc");
    drop(small);
    straggler.append(4).unwrap().copy_from_slice(b"live");
    assert_eq!(straggler.data(), b"live");

    let pool = Arc::into_inner(pool).expect("no other pool handle");
    drop(pool);
    let (eal, err) = eal.try_cleanup().expect_err("an mbuf is still out");
    assert!(err.message.contains("mbufs are still out"), "{err}");
    drop(straggler);
    eal.cleanup().expect("EAL cleanup");
    assert!(
        Mempool::create_pktmbuf("dbt_after", 63, 0, 2176, -1).is_err(),
        "nothing may be created after cleanup"
    );
    assert_eq!(port::count_avail(), 0);
}

fn mbuf_operations(pool: &Mempool) {
    let mut m = pool.alloc().expect("alloc");
    assert_eq!((m.pkt_len(), m.data_len(), m.nb_segs()), (0, 0, 1));
    assert_eq!(m.headroom(), 128);
    let room = m.tailroom();
    assert_eq!(room, 2048);
    assert_eq!(m.refcnt(), 1);
    assert!(m.is_writable());

    m.append(10).unwrap().copy_from_slice(b"0123456789");
    m.prepend(2).unwrap().copy_from_slice(b"ab");
    assert_eq!(m.data(), b"ab0123456789");
    assert_eq!((m.pkt_len(), m.data_len()), (12, 12));
    assert_eq!(m.headroom(), 126);
    assert_eq!(m.tailroom(), room - 10);
    assert!(m.adj(3));
    assert!(m.trim(2));
    assert_eq!(m.data(), b"1234567");
    assert!(!m.adj(8), "cannot remove more than there is");
    assert!(!m.trim(8));
    assert!(
        m.append(room).is_none(),
        "tailroom is short by the 10 appended"
    );
    assert!(m.prepend(200).is_none());
    m.data_mut()[0] = b'X';
    assert_eq!(m.data(), b"X234567");
    m.set_port(7);
    assert_eq!(m.port(), 7);
    assert_eq!(m.rss_hash(), None);

    // A second reference makes both read-only until it is gone.
    let kept = m.clone_ref();
    assert_eq!((m.refcnt(), kept.refcnt()), (2, 2));
    assert!(!m.is_writable());
    assert!(m.try_data_mut().is_none());
    assert!(m.append(1).is_none());
    assert!(!m.adj(1));
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        m.data_mut()[0] = 0;
    }));
    assert!(panicked.is_err(), "data_mut on a shared mbuf must panic");
    assert_eq!(kept.data(), b"X234567");
    assert_eq!(pool.in_use(), 1, "a clone is the same mbuf");
    drop(kept);
    assert_eq!(m.refcnt(), 1);
    assert!(m.try_data_mut().is_some());

    // Through raw and back.
    let raw = m.into_raw();
    // SAFETY: raw is the reference into_raw just gave up.
    let m = unsafe { Mbuf::from_raw(raw) };
    assert_eq!(m.data(), b"X234567");
    drop(m);

    let mut v = Vec::new();
    assert!(pool.alloc_bulk(&mut v, 40));
    assert_eq!(v.len(), 40);
    assert_eq!(pool.in_use(), 40);
    assert!(!pool.alloc_bulk(&mut v, 5000), "all or nothing");
    assert_eq!(v.len(), 40);
    dpdk_bindings::mbuf::free_bulk(&mut v);
    assert!(v.is_empty());
    assert_eq!(pool.in_use(), 0);
    assert_eq!(pool.available(), POOL_SIZE);
}

fn ring_operations(pool: &Mempool) {
    assert!(MbufRing::create("dbt_bad", 100, -1, true, true).is_err());
    let ring = MbufRing::create("dbt_ring", 64, eal::socket_id(), true, true).expect("ring");
    let mut pkts: Vec<Mbuf> = (0..70u8).map(|i| filled(pool, &pattern(i, 60))).collect();
    // 64 slots hold 63 mbufs: the last 7 must stay behind, in order.
    assert_eq!(ring.enqueue_burst(&mut pkts), 63);
    assert_eq!(ring.count(), 63);
    assert_eq!(pkts.len(), 7);
    for (k, m) in pkts.iter().enumerate() {
        assert_eq!(m.data(), pattern(63 + k as u8, 60));
    }
    let mut out = Vec::with_capacity(64);
    assert_eq!(ring.dequeue_burst(&mut out, 10), 10);
    assert_eq!(ring.dequeue_burst(&mut out, 100), 53);
    assert_eq!(ring.dequeue_burst(&mut out, 100), 0);
    assert_eq!(out.len(), 63);
    for (i, m) in out.iter().enumerate() {
        assert_eq!(
            m.data(),
            pattern(i as u8, 60),
            "ring kept FIFO order and bytes"
        );
    }
    drop(out);
    // What is left in a ring on drop goes back to the pool.
    assert_eq!(ring.enqueue_burst(&mut pkts), 7);
    assert_eq!(pool.in_use(), 7);
    drop(ring);
    assert_eq!(pool.in_use(), 0);
}

fn launch_on_worker(eal: &Eal, pool: &Arc<Mempool>) {
    let p = Arc::clone(pool);
    eal.launch(1, move || {
        // Runs on lcore 1's thread: the mbuf crosses back through a ring-free path by value.
        let m = p.alloc().expect("alloc on worker");
        drop(m);
        eal::lcore_id() as i32 + 100
    })
    .expect("launch");
    assert_eq!(eal.wait_lcore(1), 101);
    assert!(
        eal.launch(0, || 0).is_err(),
        "main lcore cannot be launched on"
    );
    assert!(eal.launch(5, || 0).is_err(), "lcore 5 is not enabled");
    eal.launch(1, || panic!("expected panic on the worker"))
        .expect("launch");
    assert_eq!(eal.wait_lcore(1), eal::LCORE_PANICKED);
    assert_eq!(
        eal.wait_lcore(1),
        eal::LCORE_PANICKED,
        "an idle lcore keeps its last result"
    );
    assert!(!eal.lcore_running(1));
    let (go, wait) = std::sync::mpsc::channel::<()>();
    eal.launch(1, move || i32::from(wait.recv().is_ok()))
        .expect("launch");
    assert!(eal.lcore_running(1));
    assert!(
        eal.launch(1, || 0).is_err(),
        "a busy lcore refuses a launch"
    );
    go.send(()).unwrap();
    assert_eq!(eal.wait_lcore(1), 1);
}

/// Returns the id of the port, closed.
fn port_round_trip(pool: &Mempool) -> u16 {
    let before = port::count_avail();
    let a = MbufRing::create("dbt_a", 1024, -1, true, true).expect("ring a");
    let b = MbufRing::create("dbt_b", 1024, -1, true, true).expect("ring b");
    // Queue 0 sends into b, which queue 1 receives from, and the other way round.
    let port = port::from_rings("dbt", &[&a, &b], &[&b, &a], -1).expect("from_rings");
    assert_eq!(port::count_avail(), before + 1);
    assert_eq!(Port::new(port.id()).expect("valid id"), port);
    assert_eq!(port.name(), "net_ring_dbt");
    assert_eq!(Port::by_name("net_ring_dbt").unwrap(), port);
    assert!(Port::all().contains(&port));
    assert!(Port::new(31).is_err());

    let info = port.info().expect("info");
    assert_eq!(info.driver_name, "net_ring");
    assert_eq!((info.max_rx_queues, info.max_tx_queues), (2, 2));
    assert_eq!(info.flow_type_rss_offloads, 0, "net_ring has no RSS");
    let mac = port.mac_addr().expect("mac");
    assert_eq!(mac[0] & 1, 0, "unicast MAC");

    let conf = PortConfig {
        rx_queues: 2,
        tx_queues: 2,
        rx_descriptors: 256,
        tx_descriptors: 256,
    };
    let too_many = PortConfig {
        rx_queues: 3,
        ..conf
    };
    assert!(port.configure(&too_many, pool, -1).is_err());
    port.configure(&conf, pool, -1).expect("configure");
    assert_eq!(port.offloads().expect("offloads"), (0, 0));
    assert!(port.rss_conf().is_err(), "net_ring cannot report RSS");
    port.start().expect("start");
    assert!(
        port.configure(&conf, pool, -1).is_err(),
        "a started port cannot be reconfigured"
    );
    port.set_promiscuous(true).expect("promiscuous");
    assert!(port.link_up());

    let mut rx = Vec::with_capacity(64);
    assert_eq!(port.rx_burst(0, &mut rx, 32), 0, "nothing sent yet");
    assert_eq!(port.rx_burst(2, &mut rx, 32), 0, "no queue 2");

    let sizes = [60usize, 64, 128, 512, 1000, 1514, 61, 99];
    let mut tx: Vec<Mbuf> = sizes
        .iter()
        .enumerate()
        .map(|(i, &len)| filled(pool, &pattern(i as u8, len)))
        .collect();
    let mut spare = vec![filled(pool, b"stays")];
    assert_eq!(port.tx_burst(2, &mut spare), 0, "no queue 2");
    assert_eq!(spare.len(), 1);
    drop(spare);

    assert_eq!(port.tx_burst(0, &mut tx), sizes.len());
    assert!(tx.is_empty(), "sent mbufs belong to the driver");
    assert_eq!(
        port.rx_burst(0, &mut rx, 32),
        0,
        "queue 0 receives from ring a"
    );
    assert_eq!(port.rx_burst(1, &mut rx, 32), sizes.len());
    for (i, (m, &len)) in rx.iter().zip(&sizes).enumerate() {
        assert_eq!(m.pkt_len(), len);
        assert_eq!(
            m.data(),
            pattern(i as u8, len),
            "packet {i} came back changed"
        );
        // net_ring hands the mbuf over as it was enqueued: it does not stamp the input port
        // (alloc left RTE_MBUF_PORT_INVALID there).
        assert_eq!(m.port(), u16::MAX);
    }

    // Send the received mbufs back on queue 1; they arrive on queue 0.
    assert_eq!(port.tx_burst(1, &mut rx), sizes.len());
    let mut back = Vec::with_capacity(64);
    assert_eq!(port.rx_burst(0, &mut back, 3), 3, "max is respected");
    assert_eq!(port.rx_burst(0, &mut back, 32), sizes.len() - 3);
    for (i, (m, &len)) in back.iter().zip(&sizes).enumerate() {
        assert_eq!(m.data(), pattern(i as u8, len));
    }
    let total: u64 = sizes.iter().map(|&s| s as u64).sum();
    let st = port.stats().expect("stats");
    assert_eq!(st.opackets, 2 * sizes.len() as u64);
    assert_eq!(st.ipackets, 2 * sizes.len() as u64);
    // net_ring 22.11 counts packets only; ibytes/obytes stay 0 there.
    assert!(st.obytes == 0 || st.obytes == 2 * total);
    assert_eq!((st.oerrors, st.imissed), (0, 0));
    drop(back);

    // A full tx ring keeps the unsent mbufs in the caller's Vec.
    let mut many: Vec<Mbuf> = (0..1100u32)
        .map(|i| filled(pool, &pattern(i as u8, 60)))
        .collect();
    assert_eq!(port.tx_burst(0, &mut many), 1023);
    assert_eq!(many.len(), 77);
    assert_eq!(many[0].data(), pattern((1023u32 % 256) as u8, 60));
    drop(many);
    let mut drained = Vec::with_capacity(1024);
    while port.rx_burst(1, &mut drained, 256) > 0 {}
    assert_eq!(drained.len(), 1023);
    drop(drained);

    port.reset_stats().expect("reset stats");
    assert_eq!(port.stats().unwrap().opackets, 0);
    port.stop().expect("stop");
    port.close().expect("close");
    assert_eq!(
        port.rx_burst(0, &mut rx, 32),
        0,
        "closed port receives nothing"
    );
    drop(a);
    drop(b);
    port.id()
}
