//! The per-worker table of TCP connections Splicer terminates, client legs and server
//! legs alike: a slab of connection states indexed by a hash table from the connection's
//! addresses (`index`: a cuckoo table whose buckets a burst can prefetch), both sized
//! once from `max_flows`.

use super::client::ClientConn;
use super::index::{Index, KeyHash};
use super::key::{ClientKey, Handle};
use super::server::ServerConn;
use crate::transmit::NextHop;

/// One terminated TCP connection.
pub(crate) enum Conn {
    /// Client ↔ VIP.
    Client(ClientConn),
    /// Splicer ↔ real server.
    Server(ServerConn),
}

impl Conn {
    fn key(&self) -> ClientKey {
        match self {
            Conn::Client(c) => c.key,
            Conn::Server(s) => s.key,
        }
    }
}

struct Slot {
    generation: u32,
    /// Where the connection's segments go, kept from the first one (`transmit`).
    hop: NextHop,
    conn: Option<Conn>,
}

/// The in-memory sizes of one worker's per-connection state, in bytes, for estimates of
/// the memory a number of flows takes (the benchmark prints them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateSizes {
    /// A client connection's state.
    pub client_conn: usize,
    /// A server connection's state.
    pub server_conn: usize,
    /// One splice leg (kept on the heap, in the client connection's leg queue).
    pub leg: usize,
    /// A slot of the table: what every connection takes there, whichever kind it is.
    pub slot: usize,
    /// One index entry: key and slot number (before the table's spare room, which is
    /// 1/7 or more of its size: `flow::index`).
    pub index_entry: usize,
    /// One timer heap entry.
    pub timer_entry: usize,
}

impl StateSizes {
    /// The sizes of this build's state.
    pub fn of_this_build() -> StateSizes {
        use std::mem::size_of;
        StateSizes {
            client_conn: size_of::<super::client::ClientConn>(),
            server_conn: size_of::<super::server::ServerConn>(),
            leg: size_of::<super::leg::Leg>(),
            slot: size_of::<Slot>(),
            index_entry: Index::ENTRY_BYTES,
            timer_entry: size_of::<(u64, u32, u32)>(),
        }
    }
}

/// The terminated connections of one worker.
pub struct FlowTable {
    index: Index,
    slots: Vec<Slot>,
    free: Vec<u32>,
    capacity: usize,
    pub(crate) half_open: usize,
    /// Byte buffers of closed connections, kept for the next ones so that a worker in
    /// steady state does not allocate per connection.
    spare: Vec<Vec<u8>>,
    /// Out-of-line parts of client connections, kept for the next ones (`cold`): the
    /// boxes themselves are what is recycled, so they stay boxed here.
    #[allow(clippy::vec_box)]
    pub(super) spare_pending: Vec<Box<super::client::Pending>>,
}

/// Most spare buffers kept; beyond it a closed connection's buffers are freed.
const MAX_SPARE_BUFFERS: usize = 4096;

impl FlowTable {
    /// A table for at most `capacity` connections, its index hashed with a fixed key
    /// (tests; the pipeline keys it with [`FlowTable::with_seed`]).
    pub fn new(capacity: usize) -> Self {
        FlowTable::with_seed(capacity, 0)
    }

    /// A table for at most `capacity` connections whose index hashes keyed by `seed`, a
    /// secret. The index is allocated up front so that the fast path never rehashes.
    pub fn with_seed(capacity: usize, seed: u64) -> Self {
        FlowTable {
            index: Index::new(capacity, seed),
            slots: Vec::new(),
            free: Vec::new(),
            capacity,
            half_open: 0,
            spare: Vec::new(),
            spare_pending: Vec::new(),
        }
    }

    /// An empty byte buffer, recycled when one is spare.
    pub(crate) fn take_buffer(&mut self) -> Vec<u8> {
        self.spare.pop().unwrap_or_default()
    }

    /// Keeps an emptied buffer for a later connection.
    pub(crate) fn give_buffer(&mut self, mut buf: Vec<u8>) {
        if self.spare.len() < MAX_SPARE_BUFFERS && buf.capacity() > 0 {
            buf.clear();
            self.spare.push(buf);
        }
    }

    /// Number of connections.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when there is no connection.
    pub fn is_empty(&self) -> bool {
        self.index.len() == 0
    }

    /// Number of connections still in SYN-RECEIVED.
    pub fn half_open(&self) -> usize {
        self.half_open
    }

    pub(crate) fn is_full(&self) -> bool {
        self.index.len() >= self.capacity
    }

    #[inline]
    pub(crate) fn lookup(&self, key: &ClientKey) -> Option<Handle> {
        let slot = self.index.get(key)?;
        Some(Handle {
            slot,
            generation: self.slots[slot as usize].generation,
        })
    }

    /// `key`'s hash, for [`FlowTable::index_lines`] and [`FlowTable::slot_of`].
    #[inline]
    pub(crate) fn key_hash(&self, key: &ClientKey) -> KeyHash {
        self.index.hash(key)
    }

    /// The two cache lines of the index a look-up of a key of hash `h` reads (to
    /// prefetch them).
    #[inline]
    pub(crate) fn index_lines(&self, h: KeyHash) -> [*const u8; 2] {
        self.index.buckets_of(h)
    }

    /// Where the slot of `key`'s connection lies in memory and its size, if the key has
    /// one now (to prefetch it: the answer may be stale by the time the packet is
    /// processed, and the processing looks the key up again).
    #[inline]
    pub(crate) fn slot_of(&self, key: &ClientKey, h: KeyHash) -> Option<*const u8> {
        let slot = self.index.get_hashed(key, h)?;
        self.slots
            .get(slot as usize)
            .map(|s| std::ptr::from_ref(s).cast())
    }

    /// The size of a slot, in bytes.
    pub(crate) const SLOT_BYTES: usize = std::mem::size_of::<Slot>();

    pub(crate) fn conn_mut(&mut self, h: Handle) -> Option<&mut Conn> {
        let s = self.slots.get_mut(h.slot as usize)?;
        if s.generation == h.generation {
            s.conn.as_mut()
        } else {
            None
        }
    }

    /// The next hop connection `h` keeps ([`NextHop::NONE`] when none, or when `h` is
    /// stale).
    #[inline]
    pub(crate) fn hop(&self, h: Handle) -> NextHop {
        match self.slots.get(h.slot as usize) {
            Some(s) if s.generation == h.generation => s.hop,
            _ => NextHop::NONE,
        }
    }

    /// Keeps `hop` as connection `h`'s next hop.
    pub(crate) fn set_hop(&mut self, h: Handle, hop: NextHop) {
        if let Some(s) = self.slots.get_mut(h.slot as usize) {
            if s.generation == h.generation {
                s.hop = hop;
            }
        }
    }

    /// The client connection `h`, if it is one and still lives.
    pub(crate) fn get_mut(&mut self, h: Handle) -> Option<&mut ClientConn> {
        match self.conn_mut(h)? {
            Conn::Client(c) => Some(c),
            Conn::Server(_) => None,
        }
    }

    /// The server connection `h`, if it is one and still lives.
    pub(crate) fn server_mut(&mut self, h: Handle) -> Option<&mut ServerConn> {
        match self.conn_mut(h)? {
            Conn::Server(s) => Some(s),
            Conn::Client(_) => None,
        }
    }

    /// A client connection and a server connection at once.
    pub(crate) fn pair_mut(
        &mut self,
        client: Handle,
        server: Handle,
    ) -> Option<(&mut ClientConn, &mut ServerConn)> {
        pair_in(&mut self.slots, client, server)
    }

    /// As [`FlowTable::pair_mut`], with the spare byte buffers beside (`cold`: a
    /// server connection that gave its request-head copy back takes one to send the
    /// next request).
    #[inline]
    pub(crate) fn pair_and_spare(
        &mut self,
        client: Handle,
        server: Handle,
    ) -> Option<(&mut ClientConn, &mut ServerConn, &mut Vec<Vec<u8>>)> {
        let (c, s) = pair_in(&mut self.slots, client, server)?;
        Some((c, s, &mut self.spare))
    }

    /// The server connection `h`, if it is one and still lives.
    /// Whether `h` is a live client connection.
    pub(crate) fn is_client(&self, h: Handle) -> bool {
        self.slots.get(h.slot as usize).is_some_and(|s| {
            s.generation == h.generation && matches!(s.conn, Some(Conn::Client(_)))
        })
    }

    pub(crate) fn server(&self, h: Handle) -> Option<&ServerConn> {
        let slot = self.slots.get(h.slot as usize)?;
        match slot.conn.as_ref()? {
            Conn::Server(s) if slot.generation == h.generation => Some(s),
            _ => None,
        }
    }

    /// Every live connection.
    pub(crate) fn conns(&self) -> impl Iterator<Item = &Conn> {
        self.slots.iter().filter_map(|s| s.conn.as_ref())
    }

    /// Handles of every live connection.
    pub(crate) fn handles(&self) -> Vec<Handle> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.conn.is_some())
            .map(|(i, s)| Handle {
                slot: i as u32,
                generation: s.generation,
            })
            .collect()
    }

    /// Inserts a connection; the caller checked [`FlowTable::is_full`].
    pub(crate) fn insert(&mut self, key: ClientKey, conn: Conn) -> Handle {
        let slot = match self.free.pop() {
            Some(slot) => {
                let s = &mut self.slots[slot as usize];
                s.conn = Some(conn);
                s.hop = NextHop::NONE;
                slot
            }
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    hop: NextHop::NONE,
                    conn: Some(conn),
                });
                (self.slots.len() - 1) as u32
            }
        };
        self.index.insert(key, slot);
        Handle {
            slot,
            generation: self.slots[slot as usize].generation,
        }
    }

    /// Removes a connection and returns it; its handle goes stale.
    pub(crate) fn remove(&mut self, h: Handle) -> Option<Conn> {
        let s = self.slots.get_mut(h.slot as usize)?;
        if s.generation != h.generation {
            return None;
        }
        let conn = s.conn.take()?;
        s.generation = s.generation.wrapping_add(1);
        self.index.remove(&conn.key());
        self.free.push(h.slot);
        Some(conn)
    }

    /// Inserts a client connection; the caller checked [`FlowTable::is_full`].
    pub(crate) fn insert_client(&mut self, key: ClientKey, conn: ClientConn) -> Handle {
        self.insert(key, Conn::Client(conn))
    }

    /// Inserts a server connection; the caller checked [`FlowTable::is_full`].
    pub(crate) fn insert_server(&mut self, key: ClientKey, conn: ServerConn) -> Handle {
        self.insert(key, Conn::Server(conn))
    }

    /// Removes client connection `h` and returns it (nothing if `h` is a server's).
    pub(crate) fn remove_client(&mut self, h: Handle) -> Option<ClientConn> {
        self.get_mut(h)?;
        match self.remove(h)? {
            Conn::Client(c) => Some(c),
            Conn::Server(_) => None,
        }
    }

    /// Removes server connection `h` and returns it (nothing if `h` is a client's).
    pub(crate) fn remove_server(&mut self, h: Handle) -> Option<ServerConn> {
        self.server_mut(h)?;
        match self.remove(h)? {
            Conn::Server(s) => Some(s),
            Conn::Client(_) => None,
        }
    }
}

/// Client connection `client` and server connection `server` of `slots` at once.
#[inline]
fn pair_in(
    slots: &mut [Slot],
    client: Handle,
    server: Handle,
) -> Option<(&mut ClientConn, &mut ServerConn)> {
    let (c, s) = (client.slot as usize, server.slot as usize);
    if c == s || c >= slots.len() || s >= slots.len() {
        return None;
    }
    let (a, b) = if c < s {
        let (lo, hi) = slots.split_at_mut(s);
        (&mut lo[c], &mut hi[0])
    } else {
        let (lo, hi) = slots.split_at_mut(c);
        (&mut hi[0], &mut lo[s])
    };
    if a.generation != client.generation || b.generation != server.generation {
        return None;
    }
    match (a.conn.as_mut()?, b.conn.as_mut()?) {
        (Conn::Client(cc), Conn::Server(sc)) => Some((cc, sc)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::StateSizes;

    /// The layout's budget (issue 12: ≤ 256 B per spliced flow is the goal): what a
    /// connection takes in the table and on the heap may only shrink. Lower these
    /// bounds when a change shrinks the state; raising them needs a reason in the
    /// commit (perf/results/2026-12-07-hotcold2.md has the history).
    #[test]
    fn connection_state_stays_within_its_budget() {
        let s = StateSizes::of_this_build();
        // 280 on branch `hot` before main's `server_close` (c28bb08) gave the response
        // framer its close-token mark (+16 bytes in the server connection).
        assert!(s.slot <= 296, "slot {} > 296: {s:?}", s.slot);
        assert!(s.leg <= 168, "leg {} > 168: {s:?}", s.leg);
        assert!(s.slot >= s.client_conn.max(s.server_conn));
    }
}
