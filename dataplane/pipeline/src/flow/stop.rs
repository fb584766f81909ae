//! The graceful stop: from the control core's request on, new connections to the
//! virtuals are refused with a RST (`drop_draining`) while the connections with work
//! in flight finish; the control core watches [`Pipeline::busy_clients`] and stops
//! the worker when it reaches 0 or the stop timeout passes. What is left is then reset
//! by [`Pipeline::shutdown`] (`stop_resets`).

use super::client::State;
use super::table::Conn;
use crate::pipeline::Pipeline;
use crate::PacketBuf;

impl<P: PacketBuf> Pipeline<P> {
    /// Refuses new connections from now on: the process is stopping.
    pub fn start_stopping(&mut self) {
        self.stopping = true;
    }

    /// Whether new connections are refused ([`Pipeline::start_stopping`]).
    pub fn is_stopping(&self) -> bool {
        self.stopping
    }

    /// Client connections that still have work: a request routed or spliced (its
    /// response not finished), or bytes (an answer of Splicer's own, its FIN) the
    /// client has not acknowledged. Idle keep-alive connections and requests whose
    /// head is still arriving do not count: the stop resets them. Walks the flow
    /// table: called by the worker's timers while stopping, never per packet.
    pub fn busy_clients(&self) -> u64 {
        self.flows
            .conns()
            .filter(|conn| match conn {
                Conn::Client(c) => {
                    matches!(c.state, State::Waiting | State::Spliced)
                        || !c.legs.is_empty()
                        || (c.state != State::SynReceived && c.tcp.snd_una != c.tcp.snd_nxt)
                }
                Conn::Server(_) => false,
            })
            .count() as u64
    }
}
