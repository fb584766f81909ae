//! Pools of packet buffers (`rte_pktmbuf_pool_create`).

use std::ptr::NonNull;

use crate::ffi;
use crate::mbuf::Mbuf;
use crate::state::{registry, with_eal};
use crate::{Error, Result};

/// Data room that holds a standard 1500-byte-MTU frame plus DPDK's headroom
/// (`RTE_MBUF_DEFAULT_BUF_SIZE` = 2048 + `RTE_PKTMBUF_HEADROOM`).
pub const DEFAULT_DATA_ROOM: u16 = ffi::RTE_MBUF_DEFAULT_BUF_SIZE as u16;

/// A pool of mbufs. Safe to share between lcores: the default pool ops are multi-producer /
/// multi-consumer, and each EAL lcore has its own cache.
///
/// Drop it only after the ports that use it are closed and its mbufs are back. If it is
/// dropped earlier the pool is leaked instead of freed (the driver may still be using it), and
/// [`crate::Eal::cleanup`] refuses until those mbufs are back.
#[derive(Debug)]
pub struct Mempool {
    ptr: NonNull<ffi::rte_mempool>,
}

// SAFETY: the pool is DPDK shared memory whose ops are thread-safe (ring_mp_mc by default);
// the handle is only a pointer to it.
unsafe impl Send for Mempool {}
// SAFETY: as above: alloc and the counters are safe to call concurrently.
unsafe impl Sync for Mempool {}

impl Mempool {
    /// Creates a pool of `n` mbufs (best `2^k - 1`) with a per-lcore cache of `cache` and
    /// `data_room` bytes of buffer each, headroom included (see [`DEFAULT_DATA_ROOM`]).
    /// `name` must be unique in the process and shorter than 26 bytes.
    pub fn create_pktmbuf(
        name: &str,
        n: u32,
        cache: u32,
        data_room: u16,
        socket: i32,
    ) -> Result<Mempool> {
        const CALL: &str = "rte_pktmbuf_pool_create";
        let cname = crate::c_string(CALL, name)?;
        with_eal(CALL, || {
            // SAFETY: the EAL is initialised (with_eal); cname is a valid C string that DPDK
            // copies into the pool.
            let raw = unsafe {
                ffi::rte_pktmbuf_pool_create(cname.as_ptr(), n, cache, 0, data_room, socket)
            };
            let ptr = NonNull::new(raw).ok_or_else(|| Error::from_errno(CALL))?;
            registry().live_objects += 1;
            Ok(Mempool { ptr })
        })
    }

    /// One mbuf with a reset header and an empty data area, or `None` if the pool is empty.
    #[inline]
    pub fn alloc(&self) -> Option<Mbuf> {
        // SAFETY: self.ptr is a live pktmbuf pool; the shim returns NULL or a fresh mbuf whose
        // single reference is handed to the new Mbuf.
        let m = unsafe { ffi::splicer_shim_pktmbuf_alloc(self.ptr.as_ptr()) };
        // SAFETY: m is NULL or a fresh mbuf owned by nobody else.
        NonNull::new(m).map(|m| unsafe { Mbuf::from_raw(m.as_ptr()) })
    }

    /// Appends `n` fresh mbufs to `out`, all or nothing (`false` if the pool has fewer).
    pub fn alloc_bulk(&self, out: &mut Vec<Mbuf>, n: usize) -> bool {
        let Ok(count) = u32::try_from(n) else {
            return false;
        };
        out.reserve(n);
        let spare = out.spare_capacity_mut();
        // SAFETY: spare has room for n pointers; Mbuf is repr(transparent) over a non-null
        // mbuf pointer, so the array DPDK fills is an array of Mbuf once it returns 0.
        let ret = unsafe {
            ffi::splicer_shim_pktmbuf_alloc_bulk(
                self.ptr.as_ptr(),
                spare.as_mut_ptr().cast(),
                count,
            )
        };
        if ret != 0 {
            return false;
        }
        // SAFETY: DPDK wrote n valid mbuf pointers, each a reference now owned by `out`.
        unsafe { out.set_len(out.len() + n) };
        true
    }

    /// Mbufs in the pool (its ring and all lcore caches).
    pub fn available(&self) -> u32 {
        // SAFETY: self.ptr is a live pool.
        unsafe { ffi::rte_mempool_avail_count(self.ptr.as_ptr()) }
    }

    /// Mbufs taken out of the pool and not yet freed.
    pub fn in_use(&self) -> u32 {
        // SAFETY: self.ptr is a live pool.
        unsafe { ffi::rte_mempool_in_use_count(self.ptr.as_ptr()) }
    }

    /// The raw pool, for calls this layer does not wrap. It stays owned by `self`.
    pub fn as_ptr(&self) -> *mut ffi::rte_mempool {
        self.ptr.as_ptr()
    }
}

impl Drop for Mempool {
    fn drop(&mut self) {
        let addr = self.ptr.as_ptr() as usize;
        let mut reg = registry();
        reg.live_objects -= 1;
        let used_by_port = reg.port_uses.iter().any(|&(_, a)| a == addr);
        if used_by_port || self.in_use() > 0 {
            // Freeing now would pull memory from under the driver or live Mbufs.
            reg.leaked_pools.push(addr);
            return;
        }
        // SAFETY: no port uses the pool and no mbuf is out of it, so nothing refers to it;
        // live_objects > 0 until now kept the EAL from being cleaned up.
        unsafe { ffi::rte_mempool_free(self.ptr.as_ptr()) };
    }
}
