//! Raw DPDK 22.11 bindings: bindgen's output for the headers in `wrapper.h` plus the
//! `splicer_shim_*` functions from `shim.c`.
//!
//! Everything here is `unsafe` and follows DPDK's C contracts; the rest of Splicer should use
//! the safe modules of this crate instead. It is public so a missing call can be made without
//! forking the crate, not as an invitation.

#![allow(
    non_upper_case_globals,
    non_camel_case_types,
    non_snake_case,
    dead_code,
    improper_ctypes,
    unnecessary_transmutes,
    unsafe_op_in_unsafe_fn,
    clippy::all,
    clippy::pedantic,
    clippy::undocumented_unsafe_blocks,
    missing_docs
)]

include!(concat!(env!("OUT_DIR"), "/dpdk_bindings.rs"));

use core::ffi::{c_char, c_int, c_uint, c_void};

// The `static inline` functions and thread-locals of DPDK, compiled into real symbols by
// src/shim.c (see the comment there).
extern "C" {
    pub fn splicer_shim_eth_rx_burst(
        port_id: u16,
        queue_id: u16,
        rx_pkts: *mut *mut rte_mbuf,
        nb_pkts: u16,
    ) -> u16;
    pub fn splicer_shim_eth_tx_burst(
        port_id: u16,
        queue_id: u16,
        tx_pkts: *mut *mut rte_mbuf,
        nb_pkts: u16,
    ) -> u16;
    pub fn splicer_shim_pktmbuf_alloc(mp: *mut rte_mempool) -> *mut rte_mbuf;
    pub fn splicer_shim_pktmbuf_alloc_bulk(
        mp: *mut rte_mempool,
        mbufs: *mut *mut rte_mbuf,
        count: c_uint,
    ) -> c_int;
    pub fn splicer_shim_pktmbuf_free(m: *mut rte_mbuf);
    pub fn splicer_shim_pktmbuf_free_bulk(mbufs: *mut *mut rte_mbuf, count: c_uint);
    pub fn splicer_shim_pktmbuf_mtod(m: *mut rte_mbuf) -> *mut c_char;
    pub fn splicer_shim_pktmbuf_append(m: *mut rte_mbuf, len: u16) -> *mut c_char;
    pub fn splicer_shim_pktmbuf_prepend(m: *mut rte_mbuf, len: u16) -> *mut c_char;
    pub fn splicer_shim_pktmbuf_adj(m: *mut rte_mbuf, len: u16) -> *mut c_char;
    pub fn splicer_shim_pktmbuf_trim(m: *mut rte_mbuf, len: u16) -> c_int;
    pub fn splicer_shim_pktmbuf_headroom(m: *const rte_mbuf) -> u16;
    pub fn splicer_shim_pktmbuf_tailroom(m: *const rte_mbuf) -> u16;
    pub fn splicer_shim_mbuf_refcnt_read(m: *const rte_mbuf) -> u16;
    pub fn splicer_shim_mbuf_refcnt_update(m: *mut rte_mbuf, value: i16) -> u16;
    pub fn splicer_shim_pktmbuf_refcnt_update(m: *mut rte_mbuf, value: i16);
    pub fn splicer_shim_ring_enqueue_burst(
        r: *mut rte_ring,
        obj_table: *const *mut c_void,
        n: c_uint,
        free_space: *mut c_uint,
    ) -> c_uint;
    pub fn splicer_shim_ring_dequeue_burst(
        r: *mut rte_ring,
        obj_table: *mut *mut c_void,
        n: c_uint,
        available: *mut c_uint,
    ) -> c_uint;
    pub fn splicer_shim_ring_count(r: *const rte_ring) -> c_uint;
    pub fn splicer_shim_lcore_id() -> c_uint;
    pub fn splicer_shim_errno() -> c_int;
    pub fn splicer_shim_set_errno(value: c_int);
    pub fn splicer_shim_rdtsc() -> u64;
    pub fn splicer_shim_get_tsc_hz() -> u64;
    pub fn splicer_shim_pause();
    pub fn splicer_shim_mempool_avail_count(mp: *const rte_mempool) -> c_uint;
    pub fn splicer_shim_mempool_in_use_count(mp: *const rte_mempool) -> c_uint;
}
