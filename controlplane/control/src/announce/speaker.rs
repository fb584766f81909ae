//! The thread that puts the announced routes into effect: writes the routes file and
//! asks BIRD to `configure`, retrying until BIRD confirms. A thread of its own so that a
//! slow or absent BIRD never holds up the control loop (the control socket, the stop).

use super::bird;
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long one exchange with BIRD may take.
const BIRD_TIMEOUT: Duration = Duration::from_secs(3);
/// The first wait before a failed change is tried again; doubled up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(10);

/// One announced route: the VIP (a /32) and its next hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Route {
    pub(crate) vip: Ipv4Addr,
    pub(crate) next_hop: Ipv4Addr,
}

/// The routes file's text for `routes`: BIRD static routes, for a `protocol static`
/// block that `include`s the file.
pub(crate) fn routes_text(routes: &[Route]) -> String {
    let mut text = String::from(
        "# Written by Splicer ([announce] routes_file): the VIPs it announces now, rewritten\n\
         # at every change. Include it in a `protocol static` block of BIRD's configuration.\n",
    );
    for r in routes {
        let _ = writeln!(text, "route {}/32 via {};", r.vip, r.next_hop);
    }
    text
}

/// What the speaker did last, for `show announce`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Status {
    /// The last set of routes BIRD confirmed, and its generation.
    pub(crate) confirmed: u64,
    /// BIRD's last answer (or why there was none), and when.
    pub(crate) last_answer: String,
    pub(crate) answered_at: Option<Instant>,
    /// Whether the last exchange succeeded.
    pub(crate) ok: bool,
    /// `configure`s BIRD confirmed, and exchanges that failed (each retry counts).
    pub(crate) configures: u64,
    pub(crate) failures: u64,
}

/// The speaker thread and the way to it.
pub(crate) struct Speaker {
    tx: Option<mpsc::Sender<(u64, Vec<Route>)>>,
    status: Arc<Mutex<Status>>,
    thread: Option<JoinHandle<()>>,
}

impl Speaker {
    /// Starts the thread for BIRD at `socket`, writing `routes_file`.
    pub(crate) fn start(socket: PathBuf, routes_file: PathBuf) -> Result<Speaker, String> {
        let (tx, rx) = mpsc::channel();
        let status = Arc::new(Mutex::new(Status::default()));
        let shared = status.clone();
        let thread = std::thread::Builder::new()
            .name("splicer-announce".into())
            .spawn(move || speak(&rx, &socket, &routes_file, &shared))
            .map_err(|e| format!("cannot start the announcement thread: {e}"))?;
        Ok(Speaker {
            tx: Some(tx),
            status,
            thread: Some(thread),
        })
    }

    /// Has `routes` put into effect as generation `generation` (newer than any before).
    pub(crate) fn send(&self, generation: u64, routes: Vec<Route>) {
        if let Some(tx) = &self.tx {
            // The thread only ends when the sender is dropped.
            let _ = tx.send((generation, routes));
        }
    }

    pub(crate) fn status(&self) -> Status {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Ends the thread once it has taken what was sent (it stops retrying).
    pub(crate) fn stop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Speaker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Writes `routes` into `routes_file` and has the BIRD at `socket` configure itself
/// with it: BIRD's confirmation, or why it did not confirm.
pub(crate) fn put_into_effect(
    socket: &std::path::Path,
    routes_file: &std::path::Path,
    routes: &[Route],
) -> Result<String, String> {
    crate::live::write_atomically(routes_file, routes_text(routes).as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", routes_file.display()))
        .and_then(|()| bird::run(socket, "configure", BIRD_TIMEOUT))
        .and_then(|reply| {
            let text = format!("{:04} {}", reply.code, reply.text);
            if reply.configured() {
                Ok(text)
            } else {
                Err(format!("configure refused: {text}"))
            }
        })
}

fn speak(
    rx: &mpsc::Receiver<(u64, Vec<Route>)>,
    socket: &std::path::Path,
    routes_file: &std::path::Path,
    status: &Mutex<Status>,
) {
    let Ok(mut job) = rx.recv() else { return };
    let mut wait = RETRY_FIRST;
    loop {
        // Only the newest set matters.
        while let Ok(newer) = rx.try_recv() {
            job = newer;
        }
        let (generation, routes) = &job;
        let outcome = put_into_effect(socket, routes_file, routes);
        let ok = outcome.is_ok();
        {
            let mut s = status.lock().unwrap_or_else(|p| p.into_inner());
            s.ok = ok;
            s.answered_at = Some(Instant::now());
            match outcome {
                Ok(text) => {
                    s.confirmed = *generation;
                    s.configures += 1;
                    s.last_answer = text;
                    tracing::info!(
                        "announce: BIRD configured with {} route(s): {}",
                        routes.len(),
                        s.last_answer
                    );
                }
                Err(e) => {
                    s.failures += 1;
                    tracing::warn!(
                        "announce: {e} (failure {}); trying again in {wait:?}",
                        s.failures
                    );
                    s.last_answer = e;
                }
            }
        }
        if ok {
            wait = RETRY_FIRST;
            match rx.recv() {
                Ok(next) => job = next,
                Err(_) => return,
            }
        } else {
            match rx.recv_timeout(wait) {
                Ok(next) => job = next,
                // Try the same set again.
                Err(RecvTimeoutError::Timeout) => {}
                // Stopping, and the last set was tried once more: give up.
                Err(RecvTimeoutError::Disconnected) => return,
            }
            wait = (wait * 2).min(RETRY_MAX);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_routes_file_lists_each_vip_with_its_next_hop() {
        let text = routes_text(&[
            Route {
                vip: Ipv4Addr::new(198, 18, 0, 100),
                next_hop: Ipv4Addr::new(198, 18, 0, 1),
            },
            Route {
                vip: Ipv4Addr::new(198, 18, 0, 101),
                next_hop: Ipv4Addr::new(198, 18, 0, 1),
            },
        ]);
        let routes: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            routes,
            [
                "route 198.18.0.100/32 via 198.18.0.1;",
                "route 198.18.0.101/32 via 198.18.0.1;"
            ]
        );
        assert!(routes_text(&[]).lines().all(|l| l.starts_with('#')));
    }
}
