//! The Environment Abstraction Layer: process start-up, lcores, time, errors.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::ffi;
use crate::state;
use crate::{errnos, Error, Result};

/// What [`Eal::wait_lcore`] returns for a function launched with [`Eal::launch`] that
/// panicked. The panic itself is reported by the panic hook on that lcore's thread. Only with
/// `panic = "unwind"`: under `panic = "abort"` (Splicer's release profile) the process ends.
pub const LCORE_PANICKED: i32 = i32::MIN;

/// Set once `rte_eal_init` has been attempted successfully; DPDK cannot run it twice, not even
/// after `rte_eal_cleanup`.
static INITIALISED: AtomicBool = AtomicBool::new(false);

/// `rte_eal_remote_launch` is a check-then-write on the target lcore's state: two concurrent
/// launches on one lcore could both pass the check and run one closure twice.
static LAUNCH: Mutex<()> = Mutex::new(());

type LcoreFn = Box<dyn FnOnce() -> i32 + Send>;

/// Proof that the EAL is initialised. At most one exists per process, ever. Dropping it does
/// not clean the EAL up (DPDK programs usually just exit); [`Eal::cleanup`] does.
#[derive(Debug)]
pub struct Eal {
    _private: (),
}

impl Eal {
    /// Runs `rte_eal_init` with `args` as its argv (`args[0]` is the program name).
    ///
    /// Fails with `EALREADY` if the EAL was initialised before in this process (DPDK cannot be
    /// initialised twice, not even after [`Eal::cleanup`]).
    pub fn init(args: &[String]) -> Result<Eal> {
        const CALL: &str = "rte_eal_init";
        if args.is_empty() {
            return Err(Error::new(
                CALL,
                errnos::EINVAL,
                "argv is empty: args[0] must be the program name",
            ));
        }
        let owned = args
            .iter()
            .map(|a| crate::c_string(CALL, a))
            .collect::<Result<Vec<CString>>>()?;
        let argc = c_int::try_from(args.len())
            .map_err(|_| Error::new(CALL, errnos::EINVAL, "too many arguments"))?;
        if INITIALISED.swap(true, Ordering::AcqRel) {
            return Err(Error::new(
                CALL,
                errnos::EALREADY,
                "the EAL was already initialised in this process",
            ));
        }
        // rte_eal_init permutes argv and keeps pointers into it (e.g. for the program name in
        // logs), so both the strings and the array are leaked for the life of the process.
        let mut argv: Vec<*mut c_char> = owned.into_iter().map(CString::into_raw).collect();
        argv.push(std::ptr::null_mut());
        let argv: &'static mut [*mut c_char] = argv.leak();
        // SAFETY: argv holds argc valid NUL-terminated strings followed by NULL, all leaked so
        // they outlive the EAL; INITIALISED guarantees this is the only call in the process.
        let ret = unsafe { ffi::rte_eal_init(argc, argv.as_mut_ptr()) };
        if ret < 0 {
            let err = Error::from_errno(CALL);
            // Some failures leave DPDK re-initialisable; let DPDK itself answer a retry.
            INITIALISED.store(false, Ordering::Release);
            return Err(err);
        }
        state::set_ready();
        Ok(Eal { _private: () })
    }

    /// Lets the calling thread run on any of `cpus` instead of the one CPU `init` pinned
    /// it to (the main lcore's).
    ///
    /// The main lcore is Splicer's control loop, which sleeps 20 ms between ticks. Pinned,
    /// it cannot leave a CPU that the kernel keeps busy with packet processing (softirqs
    /// of a flood, a loaded TAP): it was seen runnable yet not run for 2 to 20 seconds,
    /// with statistics, the control socket and a graceful stop waiting meanwhile. With
    /// the CPUs the process was started with (`CpuSet::of_this_thread` before `init`:
    /// taskset, cgroups and `isolcpus` respected), the scheduler moves it to another.
    pub fn run_this_thread_on(&self, cpus: &CpuSet) -> Result<()> {
        const CALL: &str = "sched_setaffinity";
        // SAFETY: pid 0 names the calling thread; the set is an initialised cpu_set_t of
        // the size given.
        let ret =
            unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &cpus.0) };
        if ret != 0 {
            return Err(Error::from_errno(CALL));
        }
        Ok(())
    }

    /// Keeps the packet-arrival signals of DPDK's `net_tap` off the calling thread (see
    /// [`keep_packet_signals_off_this_thread`]).
    pub fn keep_packet_signals_off_this_thread(&self) -> Result<()> {
        keep_packet_signals_off_this_thread()
    }

    /// Number of enabled lcores, the main one included.
    pub fn lcore_count(&self) -> u32 {
        // SAFETY: the EAL is initialised (self exists); this reads its configuration.
        unsafe { ffi::rte_lcore_count() }
    }

    /// The lcore that called [`Eal::init`].
    pub fn main_lcore(&self) -> u32 {
        // SAFETY: the EAL is initialised (self exists); this reads its configuration.
        unsafe { ffi::rte_get_main_lcore() }
    }

    /// The enabled lcores other than the main one, ascending.
    pub fn worker_lcores(&self) -> Vec<u32> {
        let mut out = Vec::new();
        // rte_get_next_lcore starts after its argument; u32::MAX wraps to lcore 0.
        let mut i = u32::MAX;
        loop {
            // SAFETY: the EAL is initialised; rte_get_next_lcore checks its argument's bounds
            // and returns RTE_MAX_LCORE when there is no next lcore.
            i = unsafe { ffi::rte_get_next_lcore(i, 1, 0) };
            if i >= ffi::RTE_MAX_LCORE {
                return out;
            }
            out.push(i);
        }
    }

    /// NUMA socket of `lcore`, or -1 (`SOCKET_ID_ANY`) for an lcore id out of range.
    pub fn socket_of(&self, lcore: u32) -> i32 {
        if lcore >= ffi::RTE_MAX_LCORE {
            return ffi::SOCKET_ID_ANY;
        }
        // SAFETY: lcore is inside lcore_config[], which rte_lcore_to_socket_id indexes
        // without checking.
        let socket = unsafe { ffi::rte_lcore_to_socket_id(lcore) };
        i32::try_from(socket).unwrap_or(ffi::SOCKET_ID_ANY)
    }

    /// Runs `f` on worker `lcore` (`rte_eal_remote_launch`). The lcore must be an enabled
    /// worker that is idle (launched functions are collected with [`Eal::wait_lcore`]).
    pub fn launch<F: FnOnce() -> i32 + Send + 'static>(&self, lcore: u32, f: F) -> Result<()> {
        const CALL: &str = "rte_eal_remote_launch";
        if !self.is_worker(lcore) {
            return Err(Error::new(
                CALL,
                errnos::EINVAL,
                format!("lcore {lcore} is not an enabled worker lcore"),
            ));
        }
        let arg = Box::into_raw(Box::new(Box::new(f) as LcoreFn)).cast::<c_void>();
        let _one_at_a_time = LAUNCH.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: lcore is an enabled worker (checked above, so inside lcore_config[]); arg is
        // a leaked Box<LcoreFn> that `trampoline` takes back exactly once, and only if the
        // launch succeeds; LAUNCH serialises launches so the state check in DPDK holds.
        let ret = unsafe { ffi::rte_eal_remote_launch(Some(trampoline), arg, lcore) };
        if ret != 0 {
            // SAFETY: the launch failed, so DPDK never passed arg to the trampoline and this
            // is the only owner of the box.
            drop(unsafe { Box::from_raw(arg.cast::<LcoreFn>()) });
            return Err(Error::from_code(CALL, ret));
        }
        Ok(())
    }

    /// Waits until `lcore` is idle and returns the result of the last function launched on it
    /// ([`LCORE_PANICKED`] if it panicked). As in DPDK 22.11, an lcore that already finished
    /// keeps reporting its last result; 0 if nothing ever ran there, or for an lcore that is
    /// not an enabled worker.
    pub fn wait_lcore(&self, lcore: u32) -> i32 {
        if !self.is_worker(lcore) {
            return 0;
        }
        // SAFETY: lcore is an enabled worker, so inside lcore_config[] which this indexes
        // without checking.
        unsafe { ffi::rte_eal_wait_lcore(lcore) }
    }

    /// Whether a function launched on `lcore` is still running (false for an lcore that is
    /// not an enabled worker).
    pub fn lcore_running(&self, lcore: u32) -> bool {
        // SAFETY: lcore is an enabled worker, so inside lcore_config[].
        self.is_worker(lcore) && unsafe { ffi::rte_eal_get_lcore_state(lcore) } == ffi::RUNNING
    }

    /// The runtime directory (`/var/run/dpdk/<file-prefix>` for root), which outlives even a
    /// clean exit: remove it after [`Eal::cleanup`] if the process should leave nothing behind.
    pub fn runtime_dir(&self) -> PathBuf {
        // SAFETY: the EAL is initialised; the result points to a static buffer filled in at
        // init and never changed afterwards.
        let dir = unsafe { CStr::from_ptr(ffi::rte_eal_get_runtime_dir()) };
        PathBuf::from(dir.to_string_lossy().into_owned())
    }

    /// Waits for every launched lcore function to return, then runs `rte_eal_cleanup`.
    ///
    /// Refuses (`EBUSY`) while a [`crate::Mempool`] or [`crate::ring::MbufRing`] is alive, a
    /// port set up through this crate is not closed, or mbufs are still out of their pools;
    /// DPDK then stays usable but this handle is gone ([`Eal::try_cleanup`] gives it back).
    /// [`crate::Port`] handles, being plain ids, may outlive the EAL; every call on them fails
    /// or does nothing afterwards.
    pub fn cleanup(self) -> Result<()> {
        self.try_cleanup().map_err(|(_, e)| e)
    }

    /// [`Eal::cleanup`] that hands the `Eal` back when it refuses.
    pub fn try_cleanup(self) -> std::result::Result<(), (Eal, Error)> {
        const CALL: &str = "rte_eal_cleanup";
        // Before taking the registry: a worker may still be creating or dropping a pool.
        // Nothing can be launched afterwards, as that needs the Eal this call consumes.
        // SAFETY: the EAL is initialised; waiting is what DPDK asks before cleanup.
        unsafe { ffi::rte_eal_mp_wait_lcore() };
        state::tear_down(|reg| {
            if reg.live_objects > 0 {
                return Err(Error::new(
                    CALL,
                    errnos::EBUSY,
                    format!(
                        "{} mempools/rings are still alive; drop them first",
                        reg.live_objects
                    ),
                ));
            }
            if let Some((port, _)) = reg.port_uses.first() {
                return Err(Error::new(
                    CALL,
                    errnos::EBUSY,
                    format!("port {port} is not closed; close it first"),
                ));
            }
            for &pool in &reg.leaked_pools {
                // SAFETY: leaked pools are never freed, so the pointer is still a mempool.
                let in_use =
                    unsafe { ffi::rte_mempool_in_use_count(pool as *const ffi::rte_mempool) };
                if in_use > 0 {
                    return Err(Error::new(
                        CALL,
                        errnos::EBUSY,
                        format!("{in_use} mbufs are still out of a dropped mempool"),
                    ));
                }
            }
            // SAFETY: nothing created through this crate is alive any more (checked above),
            // and with LIFE held exclusively no control call runs concurrently.
            let ret = unsafe { ffi::rte_eal_cleanup() };
            if ret != 0 {
                return Err(Error::from_code(CALL, ret));
            }
            reg.leaked_pools.clear();
            Ok(())
        })
        .map_err(|e| (self, e))
    }

    fn is_worker(&self, lcore: u32) -> bool {
        // SAFETY: rte_lcore_is_enabled checks lcore against RTE_MAX_LCORE itself.
        lcore != self.main_lcore() && unsafe { ffi::rte_lcore_is_enabled(lcore) } != 0
    }
}

unsafe extern "C" fn trampoline(arg: *mut c_void) -> c_int {
    // SAFETY: arg is the Box<LcoreFn> leaked by Eal::launch, handed to exactly one
    // trampoline call by DPDK.
    let f = unsafe { Box::from_raw(arg.cast::<LcoreFn>()) };
    // Unwinding into DPDK's C thread loop would abort the process.
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(LCORE_PANICKED)
}

/// The calling thread's lcore id, or `u32::MAX` (`LCORE_ID_ANY`) on a non-EAL thread.
#[inline]
pub fn lcore_id() -> u32 {
    // SAFETY: reads a thread-local; valid on any thread, before or after init.
    unsafe { ffi::splicer_shim_lcore_id() }
}

/// NUMA socket of the calling thread (`SOCKET_ID_ANY` on a non-EAL thread).
pub fn socket_id() -> i32 {
    // SAFETY: reads a thread-local; valid on any thread.
    let socket = unsafe { ffi::rte_socket_id() };
    i32::try_from(socket).unwrap_or(ffi::SOCKET_ID_ANY)
}

/// The time-stamp counter, as `rte_rdtsc` (a plain `rdtsc`, not serialising).
#[inline]
pub fn rdtsc() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: rdtsc exists on every x86_64 CPU; inlined here to save the shim's call.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        // SAFETY: reads the CPU's cycle counter; no memory is touched.
        unsafe { ffi::splicer_shim_rdtsc() }
    }
}

/// TSC ticks per second (0 before [`Eal::init`] has measured it).
pub fn tsc_hz() -> u64 {
    // SAFETY: reads a value the EAL set at init (0 before).
    unsafe { ffi::rte_get_tsc_hz() }
}

/// A spin-wait hint, as `rte_pause` (the `pause` instruction on x86).
#[inline]
pub fn pause() {
    std::hint::spin_loop();
}

/// The calling thread's `rte_errno`.
pub fn errno() -> i32 {
    // SAFETY: reads a thread-local; valid on any thread.
    unsafe { ffi::splicer_shim_errno() }
}

/// `rte_strerror(code)`: DPDK's own codes as well as errno values. The sign is ignored.
pub fn strerror(code: i32) -> String {
    // SAFETY: rte_strerror accepts any value and returns a NUL-terminated string that stays
    // valid until the next call on this thread; it is copied out at once.
    unsafe { CStr::from_ptr(ffi::rte_strerror(code.saturating_abs())) }
        .to_string_lossy()
        .into_owned()
}

/// Blocks, in the calling thread, the signals DPDK's `net_tap` raises for every frame
/// written to a TAP: SIGIO, and every real-time signal (the driver sets its queues'
/// descriptors to raise one, `F_SETSIG`; this DPDK uses SIGRTMIN + 1, signal 35).
///
/// Its receive burst reads nothing until its handler has run, so some thread must take
/// them; but the kernel offers a process-directed signal to the main thread first, which
/// is Splicer's control loop. Real-time signals queue one per frame: under a flood the
/// control loop was measured taking thousands a second, most of its time in the kernel,
/// runnable yet not coming round for 2 to 20 seconds (statistics, the control socket and
/// a graceful stop waiting). Blocked in the control loop and the signal-handling thread,
/// they go to a thread that polls anyway (a worker) or waits anyway (DPDK's interrupt
/// thread), which were started by the EAL before this is called. Threads the caller
/// starts afterwards inherit the mask. glibc's own signals (32, 33) are below SIGRTMIN
/// and stay open; Splicer's are the classic SIGHUP, SIGINT, SIGTERM and SIGUSR1.
pub fn keep_packet_signals_off_this_thread() -> Result<()> {
    const CALL: &str = "pthread_sigmask";
    let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initialises the set it is given; sigaddset and pthread_sigmask
    // get that initialised set and valid signal numbers (SIGRTMIN..=SIGRTMAX as glibc
    // reports them), and a null old-mask pointer, which pthread_sigmask allows.
    let ret = unsafe {
        libc::sigemptyset(set.as_mut_ptr());
        libc::sigaddset(set.as_mut_ptr(), libc::SIGIO);
        for sig in libc::SIGRTMIN()..=libc::SIGRTMAX() {
            libc::sigaddset(set.as_mut_ptr(), sig);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, set.as_ptr(), std::ptr::null_mut())
    };
    if ret != 0 {
        return Err(Error::new(
            CALL,
            ret,
            "cannot block SIGIO and the real-time signals",
        ));
    }
    Ok(())
}

/// A set of CPUs a thread may run on.
#[derive(Clone, Copy)]
pub struct CpuSet(libc::cpu_set_t);

impl CpuSet {
    /// The CPUs the calling thread may run on now; before [`Eal::init`], the process's
    /// own as it was started.
    pub fn of_this_thread() -> Result<CpuSet> {
        const CALL: &str = "sched_getaffinity";
        let mut set = std::mem::MaybeUninit::<libc::cpu_set_t>::zeroed();
        // SAFETY: pid 0 names the calling thread; set is a zeroed cpu_set_t of the size
        // given, which the call fills.
        let ret = unsafe {
            libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), set.as_mut_ptr())
        };
        if ret != 0 {
            return Err(Error::from_errno(CALL));
        }
        // SAFETY: zeroed is a valid cpu_set_t (the empty set), and the call succeeded.
        Ok(CpuSet(unsafe { set.assume_init() }))
    }

    /// The CPUs in the set, ascending.
    pub fn cpus(&self) -> Vec<usize> {
        (0..libc::CPU_SETSIZE as usize)
            // SAFETY: c is below CPU_SETSIZE, within the set's bits.
            .filter(|&c| unsafe { libc::CPU_ISSET(c, &self.0) })
            .collect()
    }
}

impl std::fmt::Debug for CpuSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("CpuSet").field(&self.cpus()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strerror_knows_errno_and_dpdk_codes() {
        assert_eq!(strerror(22), "Invalid argument");
        assert_eq!(strerror(-22), "Invalid argument");
        // RTE_MIN_ERRNO + 1 = E_RTE_SECONDARY.
        assert!(!strerror(1001).is_empty());
    }

    #[test]
    fn non_eal_thread_has_no_lcore() {
        assert_eq!(lcore_id(), ffi::LCORE_ID_ANY);
        assert_eq!(socket_id(), ffi::SOCKET_ID_ANY);
    }

    #[test]
    fn rdtsc_moves_forward() {
        let a = rdtsc();
        pause();
        let b = rdtsc();
        assert!(b > a);
        // SAFETY: test-only comparison with the shim's version of the same instruction.
        let c = unsafe { ffi::splicer_shim_rdtsc() };
        assert!(c >= b);
    }

    #[test]
    fn eal_init_rejects_empty_argv() {
        assert_eq!(Eal::init(&[]).unwrap_err().code, errnos::EINVAL);
        assert_eq!(
            Eal::init(&["x\0y".to_string()]).unwrap_err().code,
            errnos::EINVAL
        );
    }
}
