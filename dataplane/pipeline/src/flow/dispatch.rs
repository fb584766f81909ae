//! Where a TCP segment addressed to Splicer goes: its connection is looked up by address
//! and the segment handed to that connection's state machine, the client leg
//! (handshake, request head, Splicer's own answers), the splice, or the server leg; a
//! SYN to a virtual opens a client connection (or gets a SYN cookie), a segment of
//! another appliance's connection goes to the cluster's peers (`cluster.rs`), and
//! anything else gets a reset.

use super::client::State;
use super::handshake::CookieAck;
use super::key::{ClientKey, Handle};
use super::segment::{parse_segment, Seg};
use super::table::Conn;
use crate::counters::Counter;
use crate::packet::{PacketBuf, Sink};
use crate::parse::Ipv4Meta;
use crate::pipeline::Pipeline;
use crate::topology::Service;
use splicer_wire::tcp;

impl<P: PacketBuf> Pipeline<P> {
    /// A TCP segment addressed to one of our addresses.
    pub(crate) fn tcp<S: Sink<P>>(
        &mut self,
        port: u16,
        meta: Ipv4Meta,
        pkt: P,
        now: u64,
        sink: &mut S,
    ) {
        let seg = match parse_segment(&meta, pkt.data()) {
            Ok(seg) => seg,
            Err(reason) => return self.drop(port, reason, pkt, sink),
        };
        let key = ClientKey {
            client: meta.src,
            client_port: seg.src_port,
            vip: meta.dst,
            vip_port: seg.dst_port,
        };
        if let Some(h) = self.flows.lookup(&key) {
            if self.syn_replaces_closed(h, &seg) {
                // A new connection on the 4-tuple of one Splicer has finished with (its
                // answer and FIN acknowledged): accepted as a SYN for a TIME-WAIT socket
                // is (RFC 9293 §3.10.7.4, RFC 6191), instead of the challenge ACK that
                // would cost the client a 1 s SYN retransmission.
                self.close(h);
            } else {
                match self.flows.conn_mut(h) {
                    Some(Conn::Server(_)) => {
                        return self.server_segment(port, h, &seg, pkt, now, sink)
                    }
                    Some(Conn::Client(c)) if c.state == State::Spliced => {
                        return self.client_spliced(port, h, &seg, pkt, now, sink)
                    }
                    Some(Conn::Client(c)) if c.state == State::Tunnel => {
                        return self.tunnel_up(port, h, &seg, pkt, now, sink)
                    }
                    Some(Conn::Client(c)) if c.state == State::HandedOff => {
                        return self.handed_off_forward(port, h, &seg, pkt, now, sink)
                    }
                    Some(Conn::Client(c)) if c.state == State::HandingOff => {
                        return self.handing_off_segment(port, h, &seg, pkt, sink)
                    }
                    Some(Conn::Client(c))
                        if matches!(c.state, State::Local | State::LocalReplaying) =>
                    {
                        return self.local_client_segment(port, h, &seg, pkt, now, sink)
                    }
                    _ => {
                        let payload = &pkt.data()[seg.payload.clone()];
                        self.client_segment(port, h, &seg, payload, now, sink);
                        return sink.discard(pkt);
                    }
                }
            }
        }
        let Some(service) = self.topology.service(meta.dst, seg.dst_port).copied() else {
            self.counters.inc(port, Counter::DropTcpClosedPort);
            self.reset_for(port, &meta, &seg, now, sink);
            return sink.discard(pkt);
        };
        if self.probe_answered(port, &key, seg.rst(), seg.syn() && seg.ack.is_none()) {
            return sink.discard(pkt);
        }
        if seg.syn() && seg.ack.is_none() && !seg.rst() {
            if self.stopping {
                // A RST rather than silence: the client (or the load balancer in front)
                // tries another address at once instead of retransmitting its SYN.
                self.counters.inc(port, Counter::DropDraining);
                self.reset_for(port, &meta, &seg, now, sink);
            } else {
                self.accept(port, key, service, &seg, now, sink);
            }
        } else {
            let payload = &pkt.data()[seg.payload.clone()];
            let reason = match self.cookie_ack(port, key, &seg, payload, now, sink) {
                CookieAck::Taken => return sink.discard(pkt),
                CookieAck::Refused => None,
                CookieAck::NotACookie => Some(Counter::DropTcpNoFlow),
            };
            // Another appliance's connection, when there is a cluster (`cluster.rs`).
            let acceptable = (seg.ack.is_some() && !seg.syn()) || seg.rst();
            let Some(pkt) = self.stray(port, pkt, acceptable, now, sink) else {
                return;
            };
            if let Some(reason) = reason {
                self.counters.inc(port, reason);
            }
            self.reset_for(port, &meta, &seg, now, sink);
            return sink.discard(pkt);
        }
        sink.discard(pkt);
    }

    /// Whether `seg` is a SYN that opens a new connection on the 4-tuple of client
    /// connection `h`, which Splicer has answered and closed (its FIN acknowledged): the
    /// new initial sequence number lies beyond everything the old connection used.
    fn syn_replaces_closed(&mut self, h: Handle, seg: &Seg) -> bool {
        if !seg.syn() || seg.ack.is_some() || seg.rst() {
            return false;
        }
        match self.flows.conn_mut(h) {
            Some(Conn::Client(c)) => {
                c.state == State::Responding
                    && c.tcp.snd_una == c.tcp.snd_nxt
                    && seg.seq > c.tcp.rcv_nxt
            }
            _ => false,
        }
    }

    fn accept<S: Sink<P>>(
        &mut self,
        port: u16,
        key: ClientKey,
        service: Service,
        seg: &Seg,
        now: u64,
        sink: &mut S,
    ) {
        let s = self.settings.flow;
        if self.flows.is_full() {
            return self.counters.inc(port, Counter::DropFlowTableFull);
        }
        if self.flows.half_open >= s.syn_cookie_threshold {
            return self.send_cookie(port, key, service, seg, now, sink);
        }
        if self.flows.half_open >= s.max_half_open {
            return self.counters.inc(port, Counter::DropSynFlood);
        }
        let iss = self.next_isn(&key, now);
        let conn = self.new_client_conn(key, service, iss, seg.seq + 1, seg, now);
        let h = self.flows.insert_client(key, conn);
        self.flows.half_open += 1;
        self.counters.inc(port, Counter::TcpSyns);
        self.send_syn_ack(port, h, now, sink);
        self.reschedule(h);
    }

    /// Resets every connection, client and server legs alike, and forgets them: the
    /// worker is stopping, and peers should not wait for timeouts to learn it.
    pub(crate) fn reset_all<S: Sink<P>>(&mut self, now: u64, sink: &mut S) {
        for h in self.flows.handles() {
            let (peer, is_server) = match self.flows.conn_mut(h) {
                Some(Conn::Client(c)) => (c.key.client, false),
                Some(Conn::Server(s)) => (s.key.client, true),
                None => continue,
            };
            let port = self.topology.route(peer).map_or(0, |(p, _)| p);
            if is_server {
                self.send_server_flags(port, h, tcp::flags::RST, now, sink);
                self.server_remove(h);
            } else {
                self.send_flags(port, h, tcp::flags::RST, now, sink);
                self.access_conn_gone(h);
                if let Some(c) = self.flows.remove_client(h) {
                    if c.state == State::SynReceived {
                        self.flows.half_open -= 1;
                    } else {
                        self.counters.inc(port, Counter::StopResets);
                    }
                }
            }
        }
    }
}
