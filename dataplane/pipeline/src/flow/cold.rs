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
use super::key::Handle;
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

    /// Gives server connection `sh`'s copy of the request head it sent back to the
    /// spare buffers, once its response has started and the server has acknowledged
    /// the whole head: the request can no longer be sent to another real
    /// (`redispatch` takes back only a request without a byte of response) and nothing
    /// of it is sent again, so a flow streaming its response holds no head buffer
    /// (issue 12: state per spliced flow). A head not acknowledged yet stays until the
    /// connection goes back to its pool. The next request takes a spare buffer
    /// (`start_splice`).
    pub(super) fn release_head_copy(&mut self, sh: Handle) {
        let Some(s) = self.server_mut(sh) else {
            return;
        };
        if s.out.capacity() == 0 || s.tcp.snd_una < s.out_start + s.out.len() {
            return;
        }
        let buf = std::mem::take(&mut s.out);
        self.give_buffer(buf);
    }
}
