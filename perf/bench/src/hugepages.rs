//! `--reserve-hugepages`: reserve 2 MB pages for one run and give them back afterwards.
//!
//! The bench raises `nr_hugepages` of the 2 MB size until [`RESERVE_PAGES`] pages are
//! free (2 GiB: the mempool, rings and EAL heap take a few tens of MB; the rest is room
//! for flow tables should they move to DPDK memory), and restores the value it found
//! when the run ends: on return, after a failure, from a panic (the hook runs before
//! the abort of the release profile) and on SIGINT/SIGTERM. Only `kill -9` leaves the
//! pages reserved; `cat /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages` shows
//! it and writing the old value (usually 0) gives them back.

use crate::bed::HUGEPAGES_2M;
use crate::BenchError;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Free 2 MB pages `--reserve-hugepages` makes sure of: 2 GiB.
pub const RESERVE_PAGES: u64 = 1024;

/// What to restore, for the signal handler and the panic hook.
static RESTORE: Mutex<Option<(PathBuf, u64)>> = Mutex::new(None);

fn read(dir: &Path, name: &str) -> Result<u64, BenchError> {
    let p = dir.join(name);
    std::fs::read_to_string(&p)
        .map_err(|e| BenchError::Setup(format!("{}: {e}", p.display())))?
        .trim()
        .parse()
        .map_err(|e| BenchError::Setup(format!("{}: {e}", p.display())))
}

fn write_pages(file: &Path, pages: u64) -> std::io::Result<()> {
    std::fs::write(file, format!("{pages}\n"))
}

/// Puts back what was found, once (later calls do nothing).
pub fn restore() {
    let taken = RESTORE.lock().ok().and_then(|mut g| g.take());
    if let Some((file, old)) = taken {
        match write_pages(&file, old) {
            Ok(()) => eprintln!(
                "splicer-bench: hugepages: {} restored to {old}",
                file.display()
            ),
            Err(e) => eprintln!(
                "splicer-bench: hugepages: cannot restore {} to {old}: {e}",
                file.display()
            ),
        }
    }
}

/// Reserved pages, given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    /// `nr_hugepages` before.
    pub old: u64,
    /// `nr_hugepages` now.
    pub now: u64,
    /// Free pages now.
    pub free: u64,
}

impl Reservation {
    /// Raises `nr_hugepages` of the 2 MB size in `dir` (the kernel's
    /// [`HUGEPAGES_2M`] in production) until `pages` pages are free. `on_signal` runs in
    /// the SIGINT/SIGTERM handler after the pages are given back (the bed's runtime
    /// folder is removed there), before the process exits with 130.
    pub fn reserve(
        dir: &Path,
        pages: u64,
        on_signal: impl Fn() + Send + 'static,
    ) -> Result<Reservation, BenchError> {
        let old = read(dir, "nr_hugepages")?;
        let free = read(dir, "free_hugepages")?;
        let file = dir.join("nr_hugepages");
        if free >= pages {
            return Ok(Reservation {
                old,
                now: old,
                free,
            });
        }
        *RESTORE
            .lock()
            .map_err(|_| BenchError::Setup("hugepages: lock".into()))? = Some((file.clone(), old));
        install_handlers(on_signal);
        let want = old + (pages - free);
        write_pages(&file, want).map_err(|e| {
            restore();
            BenchError::Setup(format!(
                "--reserve-hugepages: cannot write {want} to {} (root is needed): {e}",
                file.display()
            ))
        })?;
        let now = read(dir, "nr_hugepages")?;
        let free = read(dir, "free_hugepages")?;
        eprintln!(
            "splicer-bench: hugepages: nr_hugepages {old} -> {now} ({free} free, {} MB); restored when the run ends",
            free * 2
        );
        Ok(Reservation { old, now, free })
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        restore();
    }
}

fn install_handlers(on_signal: impl Fn() + Send + 'static) {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
    // Only one handler per process; a second reservation keeps the first handler,
    // which restores whatever RESTORE holds.
    let _ = ctrlc::set_handler(move || {
        restore();
        on_signal();
        std::process::exit(130);
    });
}

/// The kernel's 2 MB hugepage folder.
pub fn kernel_dir() -> PathBuf {
    PathBuf::from(HUGEPAGES_2M)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserves_what_is_missing_and_restores() {
        let dir = std::env::temp_dir().join(format!("splbench-hpr-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("nr_hugepages"), "10\n").unwrap();
        std::fs::write(dir.join("free_hugepages"), "4\n").unwrap();
        {
            let r = Reservation::reserve(&dir, 100, || ()).unwrap();
            assert_eq!(r.old, 10);
            // A fake sysfs file keeps what was written: 10 + (100 - 4).
            assert_eq!(read(&dir, "nr_hugepages").unwrap(), 106);
        }
        assert_eq!(read(&dir, "nr_hugepages").unwrap(), 10);
        // Enough free: nothing written, nothing to restore.
        std::fs::write(dir.join("free_hugepages"), "500\n").unwrap();
        let r = Reservation::reserve(&dir, 100, || ()).unwrap();
        assert_eq!((r.old, r.now), (10, 10));
        drop(r);
        assert_eq!(read(&dir, "nr_hugepages").unwrap(), 10);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
