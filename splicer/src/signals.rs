//! The process's signals, in one place: a dedicated thread reads them (signal-hook's
//! iterator, so no work happens inside a signal handler) and turns each into a request
//! to the control core ([`Requests`]), which acts on it within one control tick.
//!
//! * `SIGHUP`: reload the configuration file (as `splicer ctl reload`).
//! * `SIGTERM`, `SIGINT`: a graceful stop (new connections refused, requests in flight
//!   finished up to `dataplane.stop_timeout`); a second one of either: stop at once.
//! * `SIGUSR1`: reopen the access log's file ([`access_log_reopen`]).

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use splicer_control::Requests;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Starts the thread that turns signals into `requests`.
pub fn install(requests: Arc<Requests>) -> std::io::Result<()> {
    let mut signals = Signals::new([SIGHUP, SIGINT, SIGTERM])?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            // net_tap's per-frame signals belong to the workers, not to this thread.
            if let Err(e) = splicer_control::keep_packet_signals_off_this_thread() {
                tracing::warn!("signals thread: {e}");
            }
            for signal in signals.forever() {
                let name = match signal {
                    SIGHUP => "SIGHUP",
                    SIGINT => "SIGINT",
                    _ => "SIGTERM",
                };
                match signal {
                    SIGHUP => {
                        // The reload's outcome is the line logged (once) by the control core.
                        tracing::debug!("{name} received: reloading the configuration file");
                        requests.reload();
                    }
                    _ if requests.stop() => {
                        tracing::warn!("{name} received again: stopping at once");
                        requests.stop_now();
                    }
                    _ => tracing::info!("{name} received: stopping gracefully"),
                }
            }
        })?;
    Ok(())
}

/// The flag `SIGUSR1` sets for the control core, which reopens the access log's file
/// (logrotate's `postrotate`) at its next tick and clears it: signal-hook's flag handler
/// does nothing but the store, so it needs no thread.
pub fn access_log_reopen() -> std::io::Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGUSR1, flag.clone())?;
    Ok(flag)
}
