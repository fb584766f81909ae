//! DPDK 22.11 for Splicer: raw bindings ([`ffi`]) and the thin safe layer that is the only
//! place the rest of the project meets DPDK.
//!
//! The safe layer keeps DPDK's model (EAL once per process, mempools of mbufs, ports with
//! rx/tx queues polled in bursts, rings of mbuf pointers) and adds only what is needed to make
//! the calls sound from Rust:
//!
//! * objects cannot be created before [`Eal::init`] or after [`Eal::cleanup`];
//! * [`Eal::cleanup`] refuses while mempools, rings, configured ports or mbufs are alive;
//! * a [`Mempool`] or [`ring::MbufRing`] dropped while a port still uses it is leaked rather
//!   than freed under the driver;
//! * bursts check the queue index against what [`Port::configure`] set up;
//! * an [`Mbuf`] can be written only while it is the sole reference to its buffer.
//!
//! One DPDK rule is left to the caller because enforcing it would cost the fast path:
//! [`Port::stop`], [`Port::close`] and [`Port::configure`] must not run while another lcore is
//! still bursting on that port (stop the workers first, as every DPDK application does).

#![warn(clippy::undocumented_unsafe_blocks)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod eal;
pub mod ffi;
pub mod mbuf;
pub mod mempool;
pub mod port;
pub mod prefetch;
pub mod ring;

pub use eal::Eal;
pub use mbuf::Mbuf;
pub use mempool::Mempool;
pub use port::Port;
pub use prefetch::prefetch;

use std::fmt;

/// A failed DPDK call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The DPDK function that failed (or the safe-layer check that refused the call).
    pub call: &'static str,
    /// A positive errno value (DPDK's negative returns are negated).
    pub code: i32,
    /// `rte_strerror(code)`, or the safe layer's own explanation.
    pub message: String,
}

impl Error {
    /// An error whose message is `rte_strerror(code)`. `code` may be negative, as ethdev
    /// functions return it.
    pub fn from_code(call: &'static str, code: i32) -> Error {
        let code = code.saturating_abs();
        Error {
            call,
            code,
            message: eal::strerror(code),
        }
    }

    /// An error from the calling thread's `rte_errno`, for the DPDK calls that return NULL or
    /// -1 and set it.
    pub fn from_errno(call: &'static str) -> Error {
        Error::from_code(call, eal::errno())
    }

    /// An error with the safe layer's own message.
    pub fn new(call: &'static str, code: i32, message: impl Into<String>) -> Error {
        Error {
            call,
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed: {} ({})", self.call, self.message, self.code)
    }
}

impl std::error::Error for Error {}

/// Result of a DPDK call.
pub type Result<T> = std::result::Result<T, Error>;

/// Turns a C string argument into a `CString`, refusing interior NULs the way DPDK would
/// refuse a bad name.
pub(crate) fn c_string(call: &'static str, s: &str) -> Result<std::ffi::CString> {
    std::ffi::CString::new(s)
        .map_err(|_| Error::new(call, errnos::EINVAL, "name contains a NUL byte"))
}

/// errno values the safe layer reports itself. Linux values; DPDK only runs on Linux here.
pub(crate) mod errnos {
    pub const ENOENT: i32 = 2;
    pub const EBUSY: i32 = 16;
    pub const ENODEV: i32 = 19;
    pub const EINVAL: i32 = 22;
    pub const EALREADY: i32 = 114;
}

/// Process-wide bookkeeping that lets the safe layer refuse the calls that would otherwise
/// use freed DPDK memory. Lock order: `LIFE` before `REGISTRY`.
pub(crate) mod state {
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use std::sync::{Mutex, MutexGuard, RwLock};

    use crate::{errnos, Error, Result};

    /// True between a successful `rte_eal_init` and `rte_eal_cleanup`.
    static EAL_READY: AtomicBool = AtomicBool::new(false);

    /// Control-path calls hold it shared so `Eal::cleanup` (exclusive) cannot tear DPDK down
    /// under them.
    static LIFE: RwLock<()> = RwLock::new(());

    pub(crate) struct Registry {
        /// `Mempool`s and `MbufRing`s not yet dropped.
        pub live_objects: usize,
        /// Pools dropped while mbufs were out or a port used them; never freed.
        pub leaked_pools: Vec<usize>,
        /// (port id, address of a mempool or ring that port uses), until the port is closed.
        pub port_uses: Vec<(u16, usize)>,
    }

    static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
        live_objects: 0,
        leaked_pools: Vec::new(),
        port_uses: Vec::new(),
    });

    /// Per port: configured rx queues << 16 | tx queues, 0 when not configured. Bursts read it
    /// to keep the queue index inside the arrays ethdev indexes without checking.
    pub(crate) static QUEUES: [AtomicU32; crate::ffi::RTE_MAX_ETHPORTS as usize] =
        [const { AtomicU32::new(0) }; crate::ffi::RTE_MAX_ETHPORTS as usize];

    pub(crate) fn registry() -> MutexGuard<'static, Registry> {
        // The registry stays consistent even if a holder panicked: every update is one push,
        // retain or counter step.
        REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` with the EAL guaranteed initialised and not being cleaned up.
    pub(crate) fn with_eal<T>(call: &'static str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let _life = LIFE.read().unwrap_or_else(|e| e.into_inner());
        if !EAL_READY.load(Ordering::Acquire) {
            return Err(Error::new(
                call,
                errnos::ENODEV,
                "the DPDK EAL is not initialised (call Eal::init first)",
            ));
        }
        f()
    }

    pub(crate) fn set_ready() {
        EAL_READY.store(true, Ordering::Release);
    }

    /// Runs `f` (the teardown) exclusively, after which the EAL counts as gone; `f` may refuse.
    pub(crate) fn tear_down(f: impl FnOnce(&mut Registry) -> Result<()>) -> Result<()> {
        let _life = LIFE.write().unwrap_or_else(|e| e.into_inner());
        let mut reg = registry();
        f(&mut reg)?;
        EAL_READY.store(false, Ordering::Release);
        for q in &QUEUES {
            q.store(0, Ordering::Release);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_display_names_call_message_and_code() {
        let e = Error::from_code("rte_eth_dev_start", -22);
        assert_eq!(e.code, 22);
        assert_eq!(
            e.to_string(),
            "rte_eth_dev_start failed: Invalid argument (22)"
        );
        let boxed: Box<dyn std::error::Error> = Box::new(e);
        assert!(boxed.to_string().starts_with("rte_eth_dev_start failed"));
    }

    #[test]
    fn nothing_is_created_before_eal_init() {
        let e = Mempool::create_pktmbuf("unit_pool", 63, 0, 2176, -1).unwrap_err();
        assert_eq!(e.code, errnos::ENODEV);
        assert!(Port::new(0).is_err());
        assert!(ring::MbufRing::create("unit_ring", 64, -1, true, true).is_err());
        assert_eq!(port::count_avail(), 0);
    }

    #[test]
    fn c_string_refuses_interior_nul() {
        assert_eq!(c_string("x", "a\0b").unwrap_err().code, errnos::EINVAL);
        assert_eq!(c_string("x", "ab").unwrap().as_bytes(), b"ab");
    }
}
