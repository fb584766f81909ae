//! Connection deadlines of one worker.
//!
//! Each connection has one next deadline. Changing it pushes a new entry; an entry whose
//! deadline no longer matches its connection is discarded when it comes up, so nothing
//! is ever searched or removed from the middle.

use super::key::Handle;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

#[derive(Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(u64, u32, u32)>>,
}

impl Timers {
    pub(crate) fn with_capacity(n: usize) -> Self {
        Timers {
            heap: BinaryHeap::with_capacity(n),
        }
    }

    pub(crate) fn schedule(&mut self, at: u64, h: Handle) {
        self.heap.push(Reverse((at, h.slot, h.generation)));
    }

    /// The next entry due at `now` or earlier.
    pub(crate) fn pop_due(&mut self, now: u64) -> Option<(u64, Handle)> {
        match self.heap.peek() {
            Some(Reverse((at, _, _))) if *at <= now => {
                let Reverse((at, slot, generation)) = self.heap.pop()?;
                Some((at, Handle { slot, generation }))
            }
            _ => None,
        }
    }

    /// Entries pending, stale ones included.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}
