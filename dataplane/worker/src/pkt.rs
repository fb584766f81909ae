//! An mbuf as the packet logic sees it.

use dpdk_bindings::Mbuf;
use splicer_pipeline::PacketBuf;

/// A single-segment mbuf seen as a [`PacketBuf`]. Splicer configures no scatter RX, so
/// every received frame fits one segment.
pub struct Pkt(pub Mbuf);

impl PacketBuf for Pkt {
    #[inline]
    fn data(&self) -> &[u8] {
        self.0.data()
    }

    #[inline]
    fn data_mut(&mut self) -> &mut [u8] {
        self.0.data_mut()
    }

    fn resize(&mut self, len: usize) -> bool {
        let cur = self.0.data_len();
        if len >= cur {
            self.0.append(len - cur).is_some()
        } else {
            self.0.trim(cur - len)
        }
    }

    #[inline]
    fn prefetch(addr: *const u8) {
        dpdk_bindings::prefetch(addr);
    }

    #[inline]
    fn prefetch_frame(&self) {
        self.0.prefetch_data();
    }
}
