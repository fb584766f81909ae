//! The cold parts of a connection's state, out of line and recycled (issue 12's hot/cold
//! split): what a connection holds only for a moment of its life is boxed, so that
//! every slot of the flow table does not carry it, and the boxes are kept for the next
//! connections, so that a worker in steady state does not allocate per request.
//!
//! A `Box` per part, recycled through a free list, rather than a slab indexed by `u32`:
//! the part is reached from its one owner only (no other connection names it), so an
//! index would buy nothing over the pointer but a bounds check, and the free list keeps
//! malloc off the path of every request as a slab would (it only allocates when more
//! requests wait at once than ever before, up to [`MAX_SPARE_COLD`] kept).

use super::client::Pending;
use super::table::FlowTable;

/// Most boxes of each kind kept for later connections; beyond it they are freed.
pub(super) const MAX_SPARE_COLD: usize = 4096;

impl FlowTable {
    /// `p`, boxed in a recycled box when one is spare.
    #[inline]
    pub(super) fn boxed_pending(&mut self, p: Pending) -> Box<Pending> {
        match self.spare_pending.pop() {
            Some(mut b) => {
                *b = p;
                b
            }
            None => Box::new(p),
        }
    }

    /// Keeps a box whose request was spliced for a later one.
    #[inline]
    pub(super) fn recycle_pending(&mut self, b: Box<Pending>) {
        if self.spare_pending.len() < MAX_SPARE_COLD {
            self.spare_pending.push(b);
        }
    }
}
