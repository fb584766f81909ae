//! The graceful stop: from the control core's request on, new connections to the
//! virtuals are refused with a RST (`drop_draining`) while the connections with work
//! in flight finish. Keep-alive connections are closed (a FIN, as a server closes an
//! idle keep-alive connection) when idle, and after their current response otherwise
//! (`splice_end`), so that a busy keep-alive client does not hold the stop until its
//! timeout. The control core watches [`Pipeline::busy_clients`] and stops the worker
//! when it reaches 0 or the stop timeout passes. What is left is then reset by
//! [`Pipeline::shutdown`] (`stop_resets`).

use super::client::State;
use super::table::Conn;
use crate::pipeline::Pipeline;
use crate::{PacketBuf, Sink};

impl<P: PacketBuf> Pipeline<P> {
    /// Refuses new connections from now on, and closes the idle keep-alive ones: the
    /// process is stopping.
    pub fn start_stopping<S: Sink<P>>(&mut self, now: u64, sink: &mut S) {
        self.stopping = true;
        for h in self.flows.handles() {
            let idle_client = match self.flows.conn_mut(h) {
                Some(Conn::Client(c)) => {
                    c.state == State::ReadingHead
                        && c.head.is_empty()
                        && c.legs.is_empty()
                        && c.pending.is_none()
                        && c.tcp.snd_una == c.tcp.snd_nxt
                }
                _ => false,
            };
            if idle_client {
                let client = self.flows.get_mut(h).map(|c| c.key.client);
                let port = client
                    .and_then(|ip| self.topology.route(ip))
                    .map_or(0, |(p, _)| p);
                self.respond(port, h, 0, now, sink);
                self.reschedule(h);
            }
        }
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
                    // Handed-off and locally served connections too (`handoff_end`).
                    matches!(
                        c.state,
                        State::Waiting
                            | State::Spliced
                            | State::HandingOff
                            | State::HandedOff
                            | State::LocalReplaying
                            | State::Local
                    ) || !c.legs.is_empty()
                        || (c.state != State::SynReceived && c.tcp.snd_una != c.tcp.snd_nxt)
                }
                Conn::Server(_) => false,
            })
            .count() as u64
    }
}
