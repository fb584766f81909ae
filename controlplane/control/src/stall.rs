//! The control core's stall watch: a small thread that notices when the control loop has
//! not come round for a while and says where it is, so that a stalled control core (no
//! statistics, no control socket, a graceful stop that does not end) is explained in the
//! log rather than guessed at.
//!
//! The control loop marks each step it enters ([`Progress::enter`]); the watch wakes every
//! [`CHECK_EVERY`] and, once the loop has stayed in one step for [`STALL_AFTER`], logs a
//! warning naming the step, how long, and what the kernel says the control thread is
//! doing (its state, CPU time and kernel stack, from `/proc`): waiting in a system call,
//! runnable but not scheduled, or stopped. When the loop moves on it logs how long the
//! stall lasted; the number of stalls is logged at exit.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the watch looks.
const CHECK_EVERY: Duration = Duration::from_millis(250);
/// How long one step may take before it counts as a stall: a tick is 20 ms, and the
/// slowest step (a `show flows` waiting for every worker) is bounded well below this.
pub(crate) const STALL_AFTER: Duration = Duration::from_secs(2);

/// Where the control loop is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Step {
    Tick = 0,
    Announce,
    StopCheck,
    Reload,
    ControlSocket,
    AccessLog,
    Health,
    Cluster,
    Watch,
    Stats,
}

impl Step {
    const ALL: [Step; 10] = [
        Step::Tick,
        Step::Announce,
        Step::StopCheck,
        Step::Reload,
        Step::ControlSocket,
        Step::AccessLog,
        Step::Health,
        Step::Cluster,
        Step::Watch,
        Step::Stats,
    ];

    fn name(self) -> &'static str {
        match self {
            Step::Tick => "sleeping between ticks (20 ms)",
            Step::Announce => "driving the route announcement",
            Step::StopCheck => "checking the stop",
            Step::Reload => "reloading the configuration",
            Step::ControlSocket => "serving the control socket and metrics",
            Step::AccessLog => "writing the access log",
            Step::Health => "taking health events",
            Step::Cluster => "exchanging cluster heartbeats",
            Step::Watch => "watching the workers",
            Step::Stats => "logging statistics",
        }
    }
}

/// What the control loop shares with the watch.
#[derive(Debug)]
pub(crate) struct Progress {
    start: Instant,
    step: AtomicU8,
    /// Milliseconds since `start` when the current step was entered.
    since_ms: AtomicU64,
    stalls: AtomicU64,
    done: AtomicBool,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            start: Instant::now(),
            step: AtomicU8::new(Step::Tick as u8),
            since_ms: AtomicU64::new(0),
            stalls: AtomicU64::new(0),
            done: AtomicBool::new(false),
        }
    }

    /// The control loop enters `step`.
    pub(crate) fn enter(&self, step: Step) {
        self.since_ms.store(self.now_ms(), Ordering::Relaxed);
        self.step.store(step as u8, Ordering::Relaxed);
    }

    /// Stalls seen so far.
    pub(crate) fn stalls(&self) -> u64 {
        self.stalls.load(Ordering::Relaxed)
    }

    fn now_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn current(&self) -> (Step, u64) {
        let step = Step::ALL
            .get(usize::from(self.step.load(Ordering::Relaxed)))
            .copied()
            .unwrap_or(Step::Tick);
        (step, self.since_ms.load(Ordering::Relaxed))
    }
}

/// The running watch; stops (and joins its thread) when dropped.
pub(crate) struct StallWatch {
    progress: Arc<Progress>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl StallWatch {
    /// Starts watching the calling thread (the control loop's). Without a thread (the
    /// system refused one) the loop runs the same, unwatched.
    pub(crate) fn start() -> StallWatch {
        let progress = Arc::new(Progress::new());
        // The control thread's /proc directory, read by the watch during a stall.
        let task = std::fs::read_link("/proc/thread-self")
            .ok()
            .map(|p| std::path::Path::new("/proc").join(p));
        let shared = progress.clone();
        let thread = std::thread::Builder::new()
            .name("stall-watch".into())
            .spawn(move || watch(&shared, task.as_deref()))
            .map_err(|e| tracing::warn!("cannot start the control core's stall watch: {e}"))
            .ok();
        StallWatch { progress, thread }
    }

    pub(crate) fn progress(&self) -> &Progress {
        &self.progress
    }
}

impl Drop for StallWatch {
    fn drop(&mut self) {
        self.progress.done.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn watch(progress: &Progress, task: Option<&std::path::Path>) {
    // The step and entry time of the stall being reported, if any.
    let mut reported: Option<(Step, u64)> = None;
    while !progress.done.load(Ordering::Relaxed) {
        std::thread::sleep(CHECK_EVERY);
        let (step, since) = progress.current();
        let now = progress.now_ms();
        match reported {
            Some((s, at)) if (s, at) != (step, since) => {
                tracing::warn!(
                    "control core: the stall {} ended after {:.1} s",
                    s.name(),
                    (now.saturating_sub(at)) as f64 / 1000.0
                );
                reported = None;
            }
            Some(_) => {}
            None if now.saturating_sub(since) >= STALL_AFTER.as_millis() as u64 => {
                progress.stalls.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    "control core stalled for {:.1} s {}: statistics, the control socket and a stop wait; the thread: {}",
                    (now - since) as f64 / 1000.0,
                    step.name(),
                    task.map_or_else(|| "unknown (no /proc/thread-self)".into(), describe)
                );
                reported = Some((step, since));
            }
            None => {}
        }
    }
}

/// The kernel's view of a thread: state, CPU time, last CPU, context switches and
/// kernel stack, on one line.
fn describe(task: &std::path::Path) -> String {
    let read = |f: &str| std::fs::read_to_string(task.join(f)).unwrap_or_default();
    let stat = read("stat");
    // Fields after the command name (which is in parentheses and may hold spaces).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let field = |n: usize| fields.get(n).copied().unwrap_or("?");
    let sched = read("sched");
    let switches = sched
        .lines()
        .filter(|l| {
            l.starts_with("nr_voluntary_switches") || l.starts_with("nr_involuntary_switches")
        })
        .filter_map(|l| l.rsplit(' ').next())
        .collect::<Vec<_>>()
        .join("/");
    let stack = read("stack")
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect::<Vec<_>>()
        .join(" < ");
    format!(
        "state {} utime {} stime {} ticks, last on CPU {}, voluntary/involuntary switches {}, kernel stack: {}",
        field(0),
        field(11),
        field(12),
        field(36),
        if switches.is_empty() { "?" } else { &switches },
        if stack.is_empty() { "(unreadable)" } else { &stack }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_held_past_the_limit_is_counted_once_and_its_end_is_seen() {
        let w = StallWatch::start();
        w.progress().enter(Step::Stats);
        std::thread::sleep(STALL_AFTER + CHECK_EVERY * 3);
        assert_eq!(w.progress().stalls(), 1);
        w.progress().enter(Step::Tick);
        std::thread::sleep(CHECK_EVERY * 2);
        assert_eq!(w.progress().stalls(), 1);
    }

    #[test]
    fn steps_that_move_on_are_no_stall() {
        let w = StallWatch::start();
        for i in 0..40 {
            w.progress().enter(Step::ALL[i % Step::ALL.len()]);
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(w.progress().stalls(), 0);
    }

    #[test]
    fn the_kernel_view_of_this_thread_names_its_state() {
        let task =
            std::path::Path::new("/proc").join(std::fs::read_link("/proc/thread-self").unwrap());
        let d = describe(&task);
        assert!(d.starts_with("state R"), "{d}");
    }
}
