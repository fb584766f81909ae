//! Lock-free rings of mbufs (`rte_ring`), between lcores or behind a net_ring port.

use std::ffi::c_void;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::ffi;
use crate::mbuf::Mbuf;
use crate::state::{registry, with_eal};
use crate::{Error, Result};

/// An `rte_ring` carrying mbuf references. Shareable between lcores; dropping it frees the
/// mbufs still inside, then the ring.
///
/// A single-producer (single-consumer) ring still accepts enqueues (dequeues) from several
/// threads through `&self`, but one at a time: a flag taken around the burst turns a misuse
/// into waiting instead of corrupting the ring. With one producer it is never contended.
///
/// A ring given to [`crate::port::from_rings`] belongs to that port until the port is closed;
/// dropping it earlier leaks it instead of freeing it under the driver.
#[derive(Debug)]
pub struct MbufRing {
    ptr: NonNull<ffi::rte_ring>,
    single_producer: bool,
    single_consumer: bool,
    producing: AtomicBool,
    consuming: AtomicBool,
}

// SAFETY: the ring is DPDK shared memory; multi-producer/consumer sides are thread-safe by
// design and the single sides are serialised by the `producing`/`consuming` flags.
unsafe impl Send for MbufRing {}
// SAFETY: as above.
unsafe impl Sync for MbufRing {}

/// Held while a single-producer or single-consumer side is in use.
struct Exclusive<'a>(Option<&'a AtomicBool>);

impl<'a> Exclusive<'a> {
    #[inline]
    fn take(flag: &'a AtomicBool, needed: bool) -> Exclusive<'a> {
        if !needed {
            return Exclusive(None);
        }
        while flag
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            std::hint::spin_loop();
        }
        Exclusive(Some(flag))
    }
}

impl Drop for Exclusive<'_> {
    #[inline]
    fn drop(&mut self) {
        if let Some(flag) = self.0 {
            flag.store(false, Ordering::Release);
        }
    }
}

impl MbufRing {
    /// Creates a ring of `count` slots (a power of two; it holds `count - 1` mbufs). `name`
    /// must be unique in the process and shorter than 29 bytes.
    pub fn create(
        name: &str,
        count: u32,
        socket: i32,
        single_producer: bool,
        single_consumer: bool,
    ) -> Result<MbufRing> {
        const CALL: &str = "rte_ring_create";
        let cname = crate::c_string(CALL, name)?;
        if !count.is_power_of_two() {
            return Err(Error::new(
                CALL,
                crate::errnos::EINVAL,
                format!("ring size {count} is not a power of two"),
            ));
        }
        let mut flags = 0;
        if single_producer {
            flags |= ffi::RING_F_SP_ENQ;
        }
        if single_consumer {
            flags |= ffi::RING_F_SC_DEQ;
        }
        with_eal(CALL, || {
            // SAFETY: the EAL is initialised (with_eal); cname is a valid C string that DPDK
            // copies.
            let raw = unsafe { ffi::rte_ring_create(cname.as_ptr(), count, socket, flags) };
            let ptr = NonNull::new(raw).ok_or_else(|| Error::from_errno(CALL))?;
            registry().live_objects += 1;
            Ok(MbufRing {
                ptr,
                single_producer,
                single_consumer,
                producing: AtomicBool::new(false),
                consuming: AtomicBool::new(false),
            })
        })
    }

    /// Moves as many mbufs from the front of `pkts` into the ring as fit; the rest stay in
    /// `pkts`, in order. Returns how many were enqueued.
    #[inline]
    pub fn enqueue_burst(&self, pkts: &mut Vec<Mbuf>) -> usize {
        let len = pkts.len();
        let n = u32::try_from(len).unwrap_or(u32::MAX);
        let _side = Exclusive::take(&self.producing, self.single_producer);
        // SAFETY: the ring is live; Mbuf is repr(transparent) over a non-NULL mbuf pointer, so
        // the Vec's first n elements are the n object pointers DPDK copies; the single-producer
        // side is held exclusively.
        let sent = unsafe {
            ffi::splicer_shim_ring_enqueue_burst(
                self.ptr.as_ptr(),
                pkts.as_ptr().cast::<*mut c_void>(),
                n,
                ptr::null_mut(),
            )
        } as usize;
        // SAFETY: the first `sent` references now belong to the ring; the rest move to the
        // front without being dropped or duplicated.
        unsafe {
            let base = pkts.as_mut_ptr();
            ptr::copy(base.add(sent), base, len - sent);
            pkts.set_len(len - sent);
        }
        sent
    }

    /// Appends up to `max` mbufs from the ring to `out` (reserving room for `max` first, so
    /// no allocation if the caller keeps the capacity). Returns how many.
    #[inline]
    pub fn dequeue_burst(&self, out: &mut Vec<Mbuf>, max: usize) -> usize {
        let max = u32::try_from(max).unwrap_or(u32::MAX);
        out.reserve(max as usize);
        let spare = out.spare_capacity_mut();
        let _side = Exclusive::take(&self.consuming, self.single_consumer);
        // SAFETY: the ring is live and carries only mbuf references (the only producers are
        // enqueue_burst and net_ring ports); spare has room for max pointers; the
        // single-consumer side is held exclusively.
        let got = unsafe {
            ffi::splicer_shim_ring_dequeue_burst(
                self.ptr.as_ptr(),
                spare.as_mut_ptr().cast::<*mut c_void>(),
                max,
                ptr::null_mut(),
            )
        } as usize;
        // SAFETY: DPDK wrote `got` owned mbuf references into the spare capacity.
        unsafe { out.set_len(out.len() + got) };
        got
    }

    /// Mbufs in the ring now.
    #[inline]
    pub fn count(&self) -> u32 {
        // SAFETY: the ring is live; the count is a racy but harmless snapshot.
        unsafe { ffi::splicer_shim_ring_count(self.ptr.as_ptr()) }
    }

    /// The raw ring, still owned by `self`.
    pub fn as_ptr(&self) -> *mut ffi::rte_ring {
        self.ptr.as_ptr()
    }
}

impl Drop for MbufRing {
    fn drop(&mut self) {
        let addr = self.ptr.as_ptr() as usize;
        let mut reg = registry();
        reg.live_objects -= 1;
        if reg.port_uses.iter().any(|&(_, a)| a == addr) {
            // A net_ring port still polls it: leave ring and mbufs to the driver.
            return;
        }
        // The registry stays locked until the ring is freed, so Eal::cleanup cannot run between.
        let mut rest = Vec::with_capacity(64);
        while self.dequeue_burst(&mut rest, 64) > 0 {
            crate::mbuf::free_bulk(&mut rest);
        }
        // SAFETY: the ring came from rte_ring_create, no port uses it, and with &mut self no
        // other handle can reach it; the EAL is still up because live_objects counted it.
        unsafe { ffi::rte_ring_free(self.ptr.as_ptr()) };
    }
}
