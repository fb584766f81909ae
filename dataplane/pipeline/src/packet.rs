//! The two seams between the packet logic and whatever carries packets.

use crate::presence::neighbour::NeighbourUpdate;

/// A packet buffer the logic can read, rewrite in place and resize.
///
/// The DPDK worker implements it for a single-segment mbuf; tests use `Vec<u8>`.
pub trait PacketBuf {
    /// The frame, starting with the Ethernet header.
    fn data(&self) -> &[u8];
    /// The frame, mutable, for in-place rewriting.
    fn data_mut(&mut self) -> &mut [u8];
    /// Grows or shrinks the frame to `len` bytes, the new bytes zeroed (they become
    /// Ethernet padding, which must not leak an earlier packet's bytes); false when the
    /// buffer has no room.
    fn resize(&mut self, len: usize) -> bool;

    /// Asks the CPU to start loading the cache line at `addr` (a hint: nothing is read,
    /// any address is harmless). The burst path ([`crate::Pipeline::receive_burst`])
    /// calls it for the memory its packets will need, so that the misses overlap. The
    /// packet logic has no `unsafe` code and so no prefetch instruction of its own: the
    /// buffer type of a real data plane supplies it (the DPDK worker's does, with
    /// `dpdk_bindings::prefetch`); the default does nothing.
    #[inline]
    fn prefetch(addr: *const u8) {
        let _ = addr;
    }

    /// Starts loading the frame's first cache line, as [`PacketBuf::prefetch`] (by
    /// default, nothing).
    #[inline]
    fn prefetch_frame(&self) {}
}

impl PacketBuf for Vec<u8> {
    fn data(&self) -> &[u8] {
        self
    }
    fn data_mut(&mut self) -> &mut [u8] {
        self
    }
    fn resize(&mut self, len: usize) -> bool {
        Vec::resize(self, len, 0);
        true
    }
}

/// Where packets go once the logic has decided their fate.
///
/// Drops have already been counted by the logic when [`Sink::discard`] is called; the
/// sink only releases the buffer. Everything the sink itself cannot do (a full TX queue,
/// a full hand-off ring) it counts on its side.
pub trait Sink<P> {
    /// Queue `pkt` for transmission on `port`.
    fn transmit(&mut self, port: u16, pkt: P);
    /// Pass `pkt` to the worker that owns its flow.
    fn handoff(&mut self, worker: usize, pkt: P);
    /// Release a packet that was dropped (already counted).
    fn discard(&mut self, pkt: P);
    /// A fresh, empty buffer for a packet the appliance originates (an ARP request).
    fn alloc(&mut self) -> Option<P>;
    /// Tell the other workers about a neighbour this worker learned.
    fn publish_neighbour(&mut self, update: NeighbourUpdate);
}
