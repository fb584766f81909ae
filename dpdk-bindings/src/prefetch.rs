//! The CPU's prefetch instruction, safe: a hint that loads a cache line before it is
//! needed (`rte_prefetch0` in DPDK's C API, which is a static inline and so cannot be
//! called through the bindings without a function call per hint).

/// Asks the CPU to bring the cache line holding `addr` into every cache level (the T0
/// hint). Nothing is read into the program and nothing can fault: any address, even one
/// not mapped, is harmless. Does nothing on targets other than x86-64.
#[inline(always)]
pub fn prefetch(addr: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 (SSE, part of the x86-64 baseline) only hints the cache: it does
    // not dereference `addr` architecturally, never faults, and changes no memory.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(addr.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = addr;
}

#[cfg(test)]
mod tests {
    use super::prefetch;

    #[test]
    fn any_address_is_harmless() {
        let x = [1u8; 64];
        prefetch(x.as_ptr());
        prefetch(std::ptr::null());
        prefetch(usize::MAX as *const u8);
        assert_eq!(x[0], 1);
    }
}
