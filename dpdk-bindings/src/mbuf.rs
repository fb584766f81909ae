//! Packet buffers.
//!
//! An [`Mbuf`] owns one reference to an `rte_mbuf` (chain). Reading is always allowed;
//! writing the data or the header needs the buffer to be unshared: a [`Mbuf::clone_ref`] copy,
//! a copy given to a driver for transmission, or an indirect/external buffer make it
//! read-only until the other references are gone.

use std::ptr::{addr_of, addr_of_mut, NonNull};
use std::slice;
use std::sync::atomic::{AtomicU16, Ordering};

use crate::ffi::{self, rte_mbuf};

const SHARED_BUFFER: u64 = ffi::RTE_MBUF_F_INDIRECT | ffi::RTE_MBUF_F_EXTERNAL;

/// One reference to a packet buffer; dropping it is `rte_pktmbuf_free`.
#[repr(transparent)]
#[derive(Debug)]
pub struct Mbuf(NonNull<rte_mbuf>);

// SAFETY: an Mbuf is one counted reference to DPDK shared memory; reference counting is
// atomic, and mutation is only done through &mut self on an unshared buffer (checked), so
// moving the handle to another lcore is fine.
unsafe impl Send for Mbuf {}

impl Mbuf {
    #[inline]
    fn ptr(&self) -> *mut rte_mbuf {
        self.0.as_ptr()
    }

    /// The first segment's data (`data_len` bytes from `mtod`).
    #[inline]
    pub fn data(&self) -> &[u8] {
        let m = self.ptr();
        // SAFETY: m is a live mbuf we hold a reference to; buf_addr + data_off .. + data_len
        // lies inside its buffer (DPDK invariant). Nobody writes it while we can read it:
        // writers need &mut self and an unshared buffer.
        unsafe {
            let base = (*m).buf_addr.cast::<u8>().add(usize::from((*m).data_off));
            slice::from_raw_parts(base, usize::from((*m).data_len))
        }
    }

    /// Starts loading the first cache line of the data ([`crate::prefetch`]); reads the
    /// mbuf's header to find it.
    #[inline]
    pub fn prefetch_data(&self) {
        crate::prefetch(self.data().as_ptr());
    }

    /// The first segment's data, writable. Panics if the buffer is shared (see
    /// [`Mbuf::is_writable`]); [`Mbuf::try_data_mut`] does not.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        match self.try_data_mut() {
            Some(d) => d,
            None => panic!("Mbuf::data_mut on a shared buffer (refcnt > 1, indirect or external)"),
        }
    }

    /// The first segment's data, writable, or `None` if the buffer is shared.
    #[inline]
    pub fn try_data_mut(&mut self) -> Option<&mut [u8]> {
        if !self.is_writable() {
            return None;
        }
        let m = self.ptr();
        // SAFETY: as in data(); and the buffer is referenced by this Mbuf alone
        // (is_writable), which is borrowed mutably, so the slice is exclusive.
        unsafe {
            let base = (*m).buf_addr.cast::<u8>().add(usize::from((*m).data_off));
            Some(slice::from_raw_parts_mut(base, usize::from((*m).data_len)))
        }
    }

    /// True when this is the only reference to the mbuf and its buffer is its own, so its data
    /// and header may be changed.
    #[inline]
    pub fn is_writable(&self) -> bool {
        // SAFETY: reading ol_flags of a live mbuf; only an owner with a unique reference
        // writes it.
        let flags = unsafe { (*self.ptr()).ol_flags };
        if flags & SHARED_BUFFER == 0 {
            return self.refcnt() == 1;
        }
        if flags & ffi::RTE_MBUF_F_INDIRECT != 0 || self.refcnt() != 1 {
            return false;
        }
        // An external buffer may be attached to other mbufs too; its own count says.
        // SAFETY: an mbuf with RTE_MBUF_F_EXTERNAL has a valid shinfo whose refcnt is only
        // changed atomically.
        unsafe {
            let shinfo = (*self.ptr()).shinfo;
            AtomicU16::from_ptr(addr_of_mut!((*shinfo).refcnt)).load(Ordering::Acquire) == 1
        }
    }

    /// Total length of the packet over all segments.
    #[inline]
    pub fn pkt_len(&self) -> usize {
        // SAFETY: reading a header field of a live mbuf (see data()).
        unsafe { (*self.ptr()).pkt_len as usize }
    }

    /// Length of the first segment's data.
    #[inline]
    pub fn data_len(&self) -> usize {
        // SAFETY: reading a header field of a live mbuf (see data()).
        usize::from(unsafe { (*self.ptr()).data_len })
    }

    /// Number of segments in the chain.
    #[inline]
    pub fn nb_segs(&self) -> u16 {
        // SAFETY: reading a header field of a live mbuf (see data()).
        unsafe { (*self.ptr()).nb_segs }
    }

    /// Extends the data at the end of the last segment by `n` bytes and returns them,
    /// zeroed; `None` if there is not enough tailroom or the buffer is shared.
    ///
    /// Zeroed because a recycled buffer still holds an earlier packet: a frame padded to
    /// the Ethernet minimum must not carry another connection's bytes onto the wire.
    pub fn append(&mut self, n: usize) -> Option<&mut [u8]> {
        let len = u16::try_from(n).ok()?;
        if !self.is_writable() {
            return None;
        }
        // SAFETY: unshared live mbuf; the shim checks the tailroom and returns NULL if short.
        let p = unsafe { ffi::splicer_shim_pktmbuf_append(self.ptr(), len) };
        // SAFETY: a non-NULL result points to n bytes inside the last segment's buffer that
        // now belong to the packet, reachable only through this exclusive borrow.
        let bytes =
            (!p.is_null()).then(|| unsafe { slice::from_raw_parts_mut(p.cast::<u8>(), n) })?;
        bytes.fill(0);
        Some(bytes)
    }

    /// Extends the data at the front by `n` bytes and returns them (uninitialised contents);
    /// `None` if there is not enough headroom or the buffer is shared.
    pub fn prepend(&mut self, n: usize) -> Option<&mut [u8]> {
        let len = u16::try_from(n).ok()?;
        if !self.is_writable() {
            return None;
        }
        // SAFETY: unshared live mbuf; the shim checks the headroom and returns NULL if short.
        let p = unsafe { ffi::splicer_shim_pktmbuf_prepend(self.ptr(), len) };
        // SAFETY: a non-NULL result points to the n new first bytes of the data, inside the
        // buffer, reachable only through this exclusive borrow.
        (!p.is_null()).then(|| unsafe { slice::from_raw_parts_mut(p.cast::<u8>(), n) })
    }

    /// Removes `n` bytes from the front of the first segment; `false` (nothing changed) if it
    /// holds fewer or the mbuf is shared.
    pub fn adj(&mut self, n: usize) -> bool {
        let Ok(len) = u16::try_from(n) else {
            return false;
        };
        if self.refcnt() != 1 {
            return false;
        }
        // SAFETY: unshared live mbuf (only its header changes); the shim refuses lengths
        // beyond the first segment's data with NULL.
        !unsafe { ffi::splicer_shim_pktmbuf_adj(self.ptr(), len) }.is_null()
    }

    /// Removes `n` bytes from the end of the last segment; `false` (nothing changed) if it
    /// holds fewer or the mbuf is shared.
    pub fn trim(&mut self, n: usize) -> bool {
        let Ok(len) = u16::try_from(n) else {
            return false;
        };
        if self.refcnt() != 1 {
            return false;
        }
        // SAFETY: unshared live mbuf (only headers change); the shim refuses lengths beyond
        // the last segment's data with -1.
        unsafe { ffi::splicer_shim_pktmbuf_trim(self.ptr(), len) == 0 }
    }

    /// Free bytes before the data in the first segment.
    #[inline]
    pub fn headroom(&self) -> usize {
        // SAFETY: reading a header field of a live mbuf (see data()).
        usize::from(unsafe { (*self.ptr()).data_off })
    }

    /// Free bytes after the data in the first segment.
    #[inline]
    pub fn tailroom(&self) -> usize {
        // SAFETY: live mbuf; same computation as rte_pktmbuf_tailroom, without the call.
        let (buf_len, off, len) = unsafe {
            (
                (*self.ptr()).buf_len,
                (*self.ptr()).data_off,
                (*self.ptr()).data_len,
            )
        };
        usize::from(buf_len).saturating_sub(usize::from(off) + usize::from(len))
    }

    /// Input port, as set by the driver on receive.
    #[inline]
    pub fn port(&self) -> u16 {
        // SAFETY: reading a header field of a live mbuf (see data()).
        unsafe { (*self.ptr()).port }
    }

    /// Sets the port field. Panics if the mbuf is shared (its header is then read-only).
    #[inline]
    pub fn set_port(&mut self, port: u16) {
        assert!(
            self.refcnt() == 1,
            "Mbuf::set_port on a shared mbuf (refcnt > 1)"
        );
        // SAFETY: unshared live mbuf borrowed mutably: nobody else reads its header.
        unsafe { (*self.ptr()).port = port };
    }

    /// The RSS hash computed by the NIC, if it delivered one (`RTE_MBUF_F_RX_RSS_HASH`).
    #[inline]
    pub fn rss_hash(&self) -> Option<u32> {
        // SAFETY: reading header fields of a live mbuf; hash.rss is plain u32 data whichever
        // member of the union the driver wrote.
        unsafe {
            let m = self.ptr();
            ((*m).ol_flags & u64::from(ffi::RTE_MBUF_F_RX_RSS_HASH) != 0)
                .then(|| (*m).__bindgen_anon_2.hash.rss)
        }
    }

    /// Offload flags (`RTE_MBUF_F_*`): receive results such as checksum status, or transmit
    /// requests.
    #[inline]
    pub fn ol_flags(&self) -> u64 {
        // SAFETY: reading a header field of a live mbuf (see data()).
        unsafe { (*self.ptr()).ol_flags }
    }

    /// The packet type the driver recognised (`RTE_PTYPE_*`), 0 if it did not.
    #[inline]
    pub fn packet_type(&self) -> u32 {
        // SAFETY: reading a header field of a live mbuf; the union member is plain u32 data.
        unsafe { (*self.ptr()).__bindgen_anon_1.packet_type }
    }

    /// Requests transmit offloads: ORs `flags` (`RTE_MBUF_F_TX_*`, e.g. IPv4 and TCP
    /// checksums) into `ol_flags` and sets the header lengths the NIC needs for them. Panics if
    /// the mbuf is shared. The port must have the offload enabled
    /// ([`crate::Port::offloads`]).
    pub fn request_tx_offload(&mut self, flags: u64, l2_len: u8, l3_len: u16, l4_len: u8) {
        assert!(
            self.refcnt() == 1,
            "Mbuf::request_tx_offload on a shared mbuf (refcnt > 1)"
        );
        // tx_offload bit layout (rte_mbuf_core.h): l2_len:7, l3_len:9, l4_len:8, ...
        let lens =
            u64::from(l2_len & 0x7f) | (u64::from(l3_len & 0x1ff) << 7) | (u64::from(l4_len) << 16);
        // SAFETY: unshared live mbuf borrowed mutably: nobody else reads its header.
        unsafe {
            let m = self.ptr();
            (*m).ol_flags |= flags;
            (*m).__bindgen_anon_3.tx_offload = lens;
        }
    }

    /// References held on this mbuf, this one included.
    #[inline]
    pub fn refcnt(&self) -> u16 {
        // SAFETY: refcnt of a live mbuf; other holders change it only atomically (or when
        // they are the sole holder, in which case this Mbuf does not exist).
        unsafe { AtomicU16::from_ptr(addr_of!((*self.ptr()).refcnt).cast_mut()) }
            .load(Ordering::Relaxed)
    }

    /// A second reference to the same mbuf chain (refcnt + 1 on every segment), e.g. to keep
    /// a packet for retransmission while a copy is sent. Both become read-only until one is
    /// dropped.
    pub fn clone_ref(&self) -> Mbuf {
        // Far below u16::MAX so that concurrent clones on other threads cannot wrap it either.
        assert!(self.refcnt() < 0x7fff, "mbuf reference count overflow");
        // SAFETY: live mbuf; the shim adds a reference to each segment atomically, so
        // rte_pktmbuf_free of either handle leaves the chain intact for the other.
        unsafe { ffi::splicer_shim_pktmbuf_refcnt_update(self.ptr(), 1) };
        Mbuf(self.0)
    }

    /// Gives the reference up to the caller (e.g. to hand it to a C API that frees it).
    #[inline]
    pub fn into_raw(self) -> *mut rte_mbuf {
        let p = self.ptr();
        std::mem::forget(self);
        p
    }

    /// Takes over one reference to `p`.
    ///
    /// # Safety
    /// `p` must be a valid, non-NULL mbuf from a pktmbuf pool, the caller must own the
    /// reference it transfers, and segments after the first must not be referenced by any
    /// other chain.
    #[inline]
    pub unsafe fn from_raw(p: *mut rte_mbuf) -> Mbuf {
        debug_assert!(!p.is_null());
        // SAFETY: the caller guarantees p is non-NULL.
        Mbuf(unsafe { NonNull::new_unchecked(p) })
    }

    /// The raw mbuf, still owned by `self`.
    #[inline]
    pub fn as_ptr(&self) -> *mut rte_mbuf {
        self.ptr()
    }
}

impl Drop for Mbuf {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: we own one reference; the shim drops it (freeing each segment whose count
        // reaches zero back to its pool).
        unsafe { ffi::splicer_shim_pktmbuf_free(self.ptr()) };
    }
}

/// Frees every mbuf in `pkts` with one `rte_pktmbuf_free_bulk` call and empties it.
pub fn free_bulk(pkts: &mut Vec<Mbuf>) {
    let Ok(n) = u32::try_from(pkts.len()) else {
        pkts.clear();
        return;
    };
    // SAFETY: Mbuf is repr(transparent) over a non-NULL mbuf pointer, so the Vec's buffer is
    // an array of n owned references; the length is set to 0 first so none is dropped twice.
    unsafe {
        pkts.set_len(0);
        ffi::rte_pktmbuf_free_bulk(pkts.as_mut_ptr().cast(), n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mbuf_is_a_bare_pointer() {
        assert_eq!(
            std::mem::size_of::<Mbuf>(),
            std::mem::size_of::<*mut rte_mbuf>()
        );
        assert_eq!(
            std::mem::size_of::<Option<Mbuf>>(),
            std::mem::size_of::<*mut rte_mbuf>()
        );
    }

    #[test]
    fn tx_offload_layout_matches_the_bitfield() {
        let mut u = ffi::rte_mbuf__bindgen_ty_3 { tx_offload: 0 };
        // SAFETY: test-only; both union members are plain integers.
        unsafe {
            u.__bindgen_anon_1.set_l2_len(14);
            u.__bindgen_anon_1.set_l3_len(20);
            u.__bindgen_anon_1.set_l4_len(32);
            assert_eq!(u.tx_offload, 14 | (20 << 7) | (32 << 16));
        }
    }
}
