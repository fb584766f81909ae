//! Splicer's own answers on a client connection: error statuses, redirects (Cisco
//! LocalDirector, "Server load balancing method and system", US 7,099,915) and the bare
//! close, each followed by a FIN; sent as far as the client's window admits, probed when
//! it is closed, retransmitted from the first unacknowledged byte.

use super::client::{State, MAX_RESPONSE};
use super::due::Due;
use super::key::Handle;
use crate::balance::UrlId;
use crate::counters::{Counter, VirtualCounter};
use crate::packet::{PacketBuf, Sink};
use crate::pipeline::Pipeline;
use splicer_http::{reply, RequestHead};
use splicer_wire::tcp::{SeqNumber, TcpFlags};

impl<P: PacketBuf> Pipeline<P> {
    /// Answers the request with `status` (0: no response, just close) and a FIN.
    pub(super) fn respond<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        status: u16,
        now: u64,
        sink: &mut S,
    ) {
        // A bare close never touches the 4 KiB buffer (which would otherwise be zeroed
        // for every connection closed: most of them, as clients close after their
        // responses).
        if status == 0 {
            return self.respond_with(port, h, &[], now, sink);
        }
        let mut buf = [0u8; MAX_RESPONSE];
        let n = reply::error_response(status, reply::reason_phrase(status), &mut buf);
        self.respond_with(port, h, &buf[..n], now, sink);
    }

    /// Answers a request to a redirect virtual (Cisco LocalDirector, "Server load
    /// balancing method and system", US 7,099,915): a redirect to URL `url` with its
    /// macros expanded from the request, `Connection: close`, then a FIN.
    pub(super) fn redirect<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        head: &RequestHead,
        url: UrlId,
        now: u64,
        sink: &mut S,
    ) {
        let Some(conn) = self.flows.get_mut(h) else {
            return;
        };
        let service = std::net::SocketAddrV4::new(conn.key.vip, conn.key.vip_port);
        let virtual_index = conn.service.virtual_index;
        let topology = self.topology.clone();
        let Some(u) = topology.farm().urls.get(usize::from(url)) else {
            self.counters.inc(port, Counter::HttpNoServer);
            self.counters
                .inc_virtual(virtual_index, VirtualCounter::NoServer);
            return self.respond(port, h, 503, now, sink);
        };
        // A request without a host (HTTP/1.0 without Host) was sent to the VIP.
        let ip;
        let host = if head.host().is_empty() {
            ip = service.ip().to_string();
            &ip
        } else {
            head.host()
        };
        let location =
            reply::expand_url_macros(&u.template, host, service.port(), head.path_and_query());
        let mut buf = [0u8; MAX_RESPONSE];
        let n = reply::redirect_response(u.code, &location, &mut buf);
        if n == 0 {
            // Too long for one response, or the request put a byte into it that cannot
            // be in a header.
            self.counters.inc(port, Counter::RefusedRedirectLocation);
            self.counters
                .inc_virtual(virtual_index, VirtualCounter::Refused);
            return self.respond(port, h, 414, now, sink);
        }
        self.counters.inc(port, Counter::Redirects);
        self.counters
            .inc_virtual(virtual_index, VirtualCounter::Redirects);
        self.respond_with(port, h, &buf[..n], now, sink);
    }

    /// Sends `response` (possibly empty) and a FIN, and closes the connection when the
    /// client has acknowledged them.
    pub(super) fn respond_with<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        response: &[u8],
        now: u64,
        sink: &mut S,
    ) {
        if self.access.is_some() {
            self.access_answer(h, response, now);
        }
        let Some(conn) = self.flows.get_mut(h) else {
            return;
        };
        match &mut conn.response {
            Some(r) => {
                r.clear();
                r.extend_from_slice(response);
            }
            // A bare FIN: nothing to box.
            None if response.is_empty() => {}
            None => conn.response = Some(Box::new(response.to_vec())),
        }
        conn.state = State::Responding;
        conn.wait_since = now;
        conn.response_start = conn.tcp.snd_nxt;
        conn.tcp.snd_nxt = conn.tcp.snd_nxt + response.len() + 1;
        conn.tcp.retransmit_at = Due::at(now + conn.tcp.rto);
        self.send_response(port, h, now, sink);
    }

    /// Sends the unacknowledged part of the response and the FIN.
    /// Sends Splicer's answer from the first unacknowledged byte (a retransmission).
    pub(super) fn send_response<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        now: u64,
        sink: &mut S,
    ) {
        let Some(una) = self.flows.get_mut(h).map(|c| c.tcp.snd_una) else {
            return;
        };
        self.send_response_from(port, h, una, now, sink);
    }

    /// Sends Splicer's answer from `from` as far as the client's window admits, and
    /// its FIN with the last byte. A closed window gets one byte, the window probe of
    /// RFC 9293 §3.8.6.1, repeated by the retransmission timer with its backoff (the
    /// persist timer).
    pub(super) fn send_response_from<S: Sink<P>>(
        &mut self,
        port: u16,
        h: Handle,
        from: SeqNumber,
        now: u64,
        sink: &mut S,
    ) {
        let ts_now = self.ts_now(now);
        let Some(conn) = self.flows.get_mut(h) else {
            return;
        };
        let opts_len = if conn.tcp.ts_recent.is_some() { 12 } else { 0 };
        let mss = usize::from(conn.tcp.peer_mss)
            .saturating_sub(opts_len)
            .max(1);
        let total = conn.response.as_ref().map_or(0, |r| r.len());
        let mut offset = (from - conn.response_start).clamp(0, total as i32) as usize;
        let window_end = (conn.tcp.send_limit() - conn.response_start).max(0) as usize;
        // Up to the window's end; a closed window still gets one byte (the probe).
        let len = total.min(window_end.max(offset + 1));
        let fin_fits = len == total;
        // Taken out (and put back below) so that segments can be sent while the table is
        // borrowed mutably: neither copied nor zeroed, as a 4 KiB stack buffer was for
        // every response, the bare FIN of each closed connection included (about 4,000
        // instructions per connection in the `lifecycle` scenario).
        let body = conn.response.take();
        let template = conn.outgoing(conn.response_start, 0, ts_now);
        let start = conn.response_start;
        loop {
            let chunk = (len - offset).min(mss);
            let last = offset + chunk == len && fin_fits;
            let mut o = template.clone();
            o.tcp.seq = start + offset;
            o.tcp.flags = TcpFlags::empty()
                .with(TcpFlags::PSH, chunk > 0)
                .with(TcpFlags::FIN, last);
            let bytes = body
                .as_deref()
                .map_or(&[][..], |b| &b[offset..offset + chunk]);
            self.emit(port, &o, bytes, now, sink);
            offset += chunk;
            if offset == len {
                break;
            }
        }
        match (self.flows.get_mut(h), body) {
            (Some(conn), body) => conn.response = body,
            (None, Some(body)) => self.flows.give_buffer(*body),
            (None, None) => {}
        }
    }
}
