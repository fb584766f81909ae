//! What the process asks of the running appliance outside the control socket: the
//! binary's signal thread sets these flags, the control loop reads them every tick
//! (within 20 ms). Also what the service manager (systemd) is told about it.

use sd_notify::NotifyState;
use std::sync::atomic::{AtomicBool, Ordering};

/// Requests from the process's signal handling to the control core.
#[derive(Debug, Default)]
pub struct Requests {
    stop: AtomicBool,
    stop_now: AtomicBool,
    reload: AtomicBool,
}

impl Requests {
    /// Asks for a graceful stop (SIGTERM, a first SIGINT): new connections refused,
    /// requests in flight finished up to `stop_timeout`. Returns whether a stop had
    /// already been asked for.
    pub fn stop(&self) -> bool {
        self.stop.swap(true, Ordering::Relaxed)
    }

    /// Asks for an immediate stop (a second SIGINT or SIGTERM): every connection reset.
    pub fn stop_now(&self) {
        self.stop.store(true, Ordering::Relaxed);
        self.stop_now.store(true, Ordering::Relaxed);
    }

    /// Asks for the configuration file to be read again and applied (SIGHUP).
    pub fn reload(&self) {
        self.reload.store(true, Ordering::Relaxed);
    }

    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    pub(crate) fn stopping_now(&self) -> bool {
        self.stop_now.load(Ordering::Relaxed)
    }

    /// Whether a reload was asked for since the last call.
    pub(crate) fn take_reload(&self) -> bool {
        self.reload.swap(false, Ordering::Relaxed)
    }
}

/// Tells the service manager (systemd's `Type=notify`, through `$NOTIFY_SOCKET`)
/// `states`; nothing without a manager. A failure is logged, never fatal: the
/// appliance runs the same either way.
pub(crate) fn notify(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(false, states) {
        tracing::warn!("cannot notify the service manager (NOTIFY_SOCKET): {e}");
    }
}

/// `RELOADING=1` with the monotonic time systemd 253 and later ask for.
pub(crate) fn notify_reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => notify(&[NotifyState::Reloading, now]),
        Err(_) => notify(&[NotifyState::Reloading]),
    }
}
