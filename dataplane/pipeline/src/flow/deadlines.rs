//! Deadlines of client connections and the timer that acts on them: the handshake,
//! the request head (`request_timeout`), the wait for a server connection
//! (`queue_timeout`), the request body (`body_timeout`, `body_min_rate`), a reader that
//! does not read (`send_timeout`, `send_min_rate`), silence (`client_idle_timeout`),
//! the lingering close after Splicer's answer, and Splicer's own retransmissions.
//!
//! One heap entry per connection: a deadline that moves later is found when its entry
//! fires early; one that moves earlier pushes a new entry.

use super::client::{ClientConn, State, LINGER_IDLE_MS, LINGER_MAX_MS};
use super::key::Handle;
use super::table::Conn;
use super::tcp::MAX_RETRIES;
use crate::counters::Counter;
use crate::packet::{PacketBuf, Sink};
use crate::pipeline::Pipeline;
use splicer_wire::tcp;

impl ClientConn {
    pub(super) fn deadline(&self, s: &super::FlowSettings) -> u64 {
        let by_state = match self.state {
            State::SynReceived => self.opened_at + s.handshake_timeout,
            State::ReadingHead => {
                (self.head_since + s.request_timeout).min(self.tcp.last_activity + s.idle_timeout)
            }
            // The server connection's own `connect_timeout` ends the wait first (the
            // client is then routed again or reset); this is a backstop.
            State::Waiting if self.tunnel => self.wait_since + 2 * s.connect_timeout,
            State::Waiting => self.wait_since + s.queue_timeout,
            State::Tunnel | State::HandedOff => self.tcp.last_activity + s.tcp_idle_timeout,
            State::HandingOff => self.wait_since + s.handoff_timeout,
            State::LocalReplaying => self.wait_since + s.connect_timeout,
            State::Local => self.local_deadline(s),
            State::Spliced => {
                let idle = self.tcp.last_activity + s.idle_timeout;
                let body = self.body_deadline(s).unwrap_or(u64::MAX);
                let send = self.send_deadline(s).unwrap_or(u64::MAX);
                idle.min(body).min(send)
            }
            State::Responding if self.tcp.snd_una == self.tcp.snd_nxt => (self.tcp.last_activity
                + LINGER_IDLE_MS * s.ticks_per_ms)
                .min(self.wait_since + LINGER_MAX_MS * s.ticks_per_ms),
            State::Responding => self.tcp.last_activity + s.idle_timeout,
        };
        self.tcp.deadline(by_state)
    }

    /// When the current request's body must have arrived (while it has not): from the
    /// head's arrival, `body_timeout` plus a second per `body_min_rate` bytes received
    /// (the slow-body rule of Apache's mod_reqtimeout), or `body_timeout` after the
    /// latest progress when no rate is set.
    pub(super) fn body_deadline(&self, s: &super::FlowSettings) -> Option<u64> {
        let leg = self.legs.front()?;
        if leg.body.is_complete() {
            return None;
        }
        if s.body_min_rate == 0 {
            return Some(self.tcp.last_activity + s.body_timeout);
        }
        let received = u64::try_from(leg.up_next - leg.up_from).unwrap_or(0);
        let grace = received * 1000 * s.ticks_per_ms / s.body_min_rate;
        Some(self.wait_since + s.body_timeout + grace)
    }

    /// When a client that does not read its response is given up: only while response
    /// bytes are outstanding or its window is below one segment (a server that is slow
    /// to answer is not the client's fault). `send_timeout` after its latest progress,
    /// and no later than `send_timeout` after its request plus a second per
    /// `send_min_rate` bytes it acknowledged (slow-read attacks).
    pub(super) fn send_deadline(&self, s: &super::FlowSettings) -> Option<u64> {
        let leg = self.legs.front()?;
        let stalled = self.tcp.snd_nxt > self.tcp.snd_una || self.window_low();
        let started = leg.down_next != leg.down_from;
        if !stalled || !started {
            return None;
        }
        let progress = self.tcp.last_activity + s.send_timeout;
        if s.send_min_rate == 0 {
            return Some(progress);
        }
        let acked = u64::try_from(self.tcp.snd_una - leg.down_start()).unwrap_or(0);
        let grace = acked * 1000 * s.ticks_per_ms / s.send_min_rate;
        Some(progress.min(self.wait_since + s.send_timeout + grace))
    }
}

impl<P: PacketBuf> Pipeline<P> {
    /// Runs due connection timers.
    pub(crate) fn flow_timers<S: Sink<P>>(&mut self, now: u64, sink: &mut S) {
        while let Some((at, h)) = self.timers.pop_due(now) {
            let s = self.settings.flow;
            let is_server = match self.flows.conn_mut(h) {
                None => continue,
                Some(Conn::Client(c)) if c.tcp.scheduled != at => continue,
                Some(Conn::Server(sc)) if sc.tcp.scheduled != at => continue,
                Some(Conn::Client(c)) => {
                    c.tcp.scheduled = 0;
                    if c.deadline(&s) > now {
                        self.reschedule(h);
                        continue;
                    }
                    false
                }
                Some(Conn::Server(sc)) => {
                    sc.tcp.scheduled = 0;
                    if sc.deadline(&s) > now {
                        self.reschedule_any(h);
                        continue;
                    }
                    true
                }
            };
            if is_server {
                self.server_timer(h, now, sink);
            } else {
                self.client_timer(h, now, sink);
            }
        }
    }

    /// Runs a due timer of a client connection.
    pub(super) fn client_timer<S: Sink<P>>(&mut self, h: Handle, now: u64, sink: &mut S) {
        let s = self.settings.flow;
        let Some(conn) = self.flows.get_mut(h) else {
            return;
        };
        let port = self.topology.route(conn.key.client).map_or(0, |(p, _)| p);
        match conn.state {
            State::SynReceived if now >= conn.opened_at + s.handshake_timeout => {
                self.counters.inc(port, Counter::HandshakeTimeouts);
                self.close(h);
                return;
            }
            State::SynReceived => {
                conn.tcp.back_off(now, s.ticks_per_ms);
                self.counters.inc(port, Counter::TcpRetransmits);
                self.send_syn_ack(port, h, now, sink);
            }
            State::ReadingHead if now >= conn.tcp.last_activity + s.idle_timeout => {
                self.counters.inc(port, Counter::ClientIdleTimeouts);
                self.send_flags(port, h, tcp::flags::RST, now, sink);
                self.close(h);
                return;
            }
            State::ReadingHead => {
                self.counters.inc(port, Counter::RequestTimeouts);
                self.respond(port, h, 408, now, sink);
            }
            State::Waiting if conn.tunnel => {
                return self.tunnel_reset(port, h, Counter::TunnelConnectTimeouts, now, sink);
            }
            State::Waiting => self.queue_timed_out(port, h, now, sink),
            State::Tunnel => {
                return self.tunnel_reset(port, h, Counter::TunnelIdleTimeouts, now, sink);
            }
            State::HandingOff => return self.handoff_timer(port, h, now, sink),
            State::HandedOff => return self.handed_off_idle(port, h, now, sink),
            State::LocalReplaying | State::Local => return self.local_timer(port, h, now, sink),
            State::Spliced => {
                if conn.body_deadline(&s).is_some_and(|d| d <= now) {
                    conn.abort = Some(crate::access::Term::ClientTimeoutData);
                    self.counters.inc(port, Counter::BodyTimeouts);
                    return self.splice_abort(port, h, 408, false, now, sink);
                }
                if conn.send_deadline(&s).is_some_and(|d| d <= now) {
                    conn.abort = Some(crate::access::Term::ClientTimeoutData);
                    // A reader that stalls is how slow-read attacks look: its server
                    // connection is reset rather than drained (draining would have the
                    // server send the rest of a response nobody reads, at full speed).
                    self.counters.inc(port, Counter::SendTimeouts);
                    return self.splice_reset(port, h, now, sink);
                }
                self.counters.inc(port, Counter::ClientIdleTimeouts);
                conn.abort = Some(crate::access::Term::ClientTimeoutData);
                // The server connection drains the rest of the response (or is reset
                // when the request never fully reached it).
                self.send_flags(port, h, tcp::flags::RST, now, sink);
                self.close(h);
                return;
            }
            State::Responding if conn.tcp.retransmit_at.is_some_and(|r| r <= now) => {
                if conn.tcp.tries >= MAX_RETRIES {
                    self.counters.inc(port, Counter::RetransmitTimeouts);
                    self.send_flags(port, h, tcp::flags::RST, now, sink);
                    self.close(h);
                    return;
                }
                // Probes of a closed window go on for as long as the client answers
                // them, a minute apart at most.
                conn.tcp.back_off(now, s.ticks_per_ms);
                self.counters.inc(port, Counter::TcpRetransmits);
                self.send_response(port, h, now, sink);
            }
            State::Responding => {
                // Everything acknowledged, the client never sent its FIN.
                self.counters.inc(port, Counter::LingerTimeouts);
                self.send_flags(port, h, tcp::flags::RST, now, sink);
                self.close(h);
                return;
            }
        }
        self.reschedule(h);
    }

    /// Makes sure a timer entry fires no later than the connection's deadline. A deadline
    /// that moved later (activity on the connection) pushes nothing: the pending entry
    /// fires early, finds the deadline in the future and schedules it then, so a busy
    /// connection costs one heap entry, not one per segment.
    pub(super) fn reschedule(&mut self, h: Handle) {
        self.reschedule_any(h)
    }

    /// [`Pipeline::reschedule`] for a connection of either leg.
    pub(super) fn reschedule_any(&mut self, h: Handle) {
        // Borrowed, not copied (some 150 bytes): this runs for most segments.
        let s = &self.settings.flow;
        let (at, scheduled) = match self.flows.conn_mut(h) {
            Some(Conn::Client(c)) => {
                let at = c.deadline(s);
                (at, &mut c.tcp.scheduled)
            }
            Some(Conn::Server(sc)) => {
                let at = sc.deadline(s);
                (at, &mut sc.tcp.scheduled)
            }
            None => return,
        };
        if *scheduled == 0 || at < *scheduled {
            *scheduled = at;
            self.timers.schedule(at, h);
        }
    }
}
