//! The servers' side of the generator: accepting Splicer's connections, checking each
//! request head against the one its client sent, answering.

use super::super::frame::{self, flags, SegIn};
use super::super::{server_mac, INSIDE_ADDR, INSIDE_MAC, LOCAL_PORTS};
use super::{
    check_flags, check_later_options, check_window, client_addr, forwarded_window, mix,
    request_index, request_path, request_slot, server_send, CState, Emit, Mode, SState, Server,
    SpliceTraffic, Stamps, CLIENT_WINDOW, FREE_SERVER, LOCAL_SPAN, MSS_OPTION,
};
use crate::verify::Mismatch;
use crate::BenchError;

impl SpliceTraffic {
    pub(super) fn server_in<O: Emit>(
        &mut self,
        real: u16,
        s: &SegIn<'_>,
        out: &mut O,
    ) -> Result<(), BenchError> {
        let lport = s.src.1;
        let fail = |t: &Self, m| Err(t.fail(u32::from(real), m));
        if s.src.0 != INSIDE_ADDR || !(LOCAL_PORTS.0..=LOCAL_PORTS.1).contains(&lport) {
            return fail(
                self,
                Mismatch::Unexpected(
                    "a server connection from outside the inside address and Splicer's local ports",
                ),
            );
        }
        if s.src_mac != INSIDE_MAC || s.dst_mac != server_mac(s.dst.0) {
            return fail(self, Mismatch::Ethernet);
        }
        if s.flags & flags::RST != 0 {
            return fail(self, Mismatch::Unexpected("a RST to a server"));
        }
        let key = usize::from(real) * LOCAL_SPAN + usize::from(lport - LOCAL_PORTS.0);
        let idx = self.server_index[key];
        if s.flags & flags::SYN != 0 {
            check_flags(self, u32::from(real), s, flags::SYN)?;
            if idx != 0 {
                let srv = self.servers[(idx - 1) as usize];
                if srv.state == SState::SynRcvd && s.seq.wrapping_add(1) == srv.rcv_nxt {
                    // The SYN again: the SYN-ACK reached Splicer after its timer fired.
                    return self.retransmitted(u32::from(real), "a second SYN to a server");
                }
                return fail(
                    self,
                    Mismatch::Unexpected("a SYN for a server connection that is open"),
                );
            }
            let o = frame::options(s.options)
                .ok_or_else(|| self.fail(u32::from(real), Mismatch::Options))?;
            if o.mss != Some(1460) || o.sack {
                return fail(self, Mismatch::Options);
            }
            // With Linux-like options the server accepts what Splicer offers (it must
            // offer them all: SACK, timestamps, a window scale), as Linux does.
            let linux = self.cfg.linux_options;
            if linux
                && (!o.sack_ok
                    || !o.ts.is_some_and(|(_, ecr)| ecr == 0)
                    || !o.wscale.is_some_and(|w| w <= 14))
            {
                return fail(self, Mismatch::Options);
            }
            check_window(self, u32::from(real), s, 0)?;
            if !s.payload.is_empty() {
                return fail(self, Mismatch::Payload);
            }
            let Some(si) = self.free_servers.pop() else {
                return Err(BenchError::Setup(
                    "the generator ran out of server connection slots".into(),
                ));
            };
            self.server_syns += 1;
            let iss = mix(
                u32::from(real) << 16 | u32::from(lport),
                self.server_syns as u32,
            );
            let ts = Stamps {
                on: linux,
                base: mix(iss, 0x5e7e_75a1),
                recent: o.ts.map_or(0, |(val, _)| val),
                peer_wscale: if linux { o.wscale.unwrap_or(0) } else { 0 },
            };
            let srv = Server {
                ts,
                real,
                lport,
                state: SState::SynRcvd,
                snd_nxt: iss.wrapping_add(1),
                rcv_nxt: s.seq.wrapping_add(1),
                client: 0,
                req: 0,
                snd_una: iss,
                wnd: u32::from(s.window),
                wl1: s.seq,
                up_rcvd: 0,
                down_sent: 0,
            };
            self.servers[si as usize] = srv;
            self.server_index[key] = si + 1;
            let syn_ack = frame::linux_syn_options(ts.base.wrapping_add(self.clock_ms), ts.recent);
            return server_send(
                out,
                self.clock_ms,
                &srv,
                iss,
                srv.rcv_nxt,
                flags::SYN | flags::ACK,
                if linux { &syn_ack[..] } else { &MSS_OPTION[..] },
                [&[], &[]],
            );
        }
        if idx == 0 {
            return fail(
                self,
                Mismatch::Unexpected("a segment for a server connection that is not open"),
            );
        }
        let si = (idx - 1) as usize;
        let mut srv = self.servers[si];
        if s.seq != srv.rcv_nxt && self.head_again(&srv, s) {
            // The request head again, already answered: the response reached Splicer
            // after its timer fired.
            return self.retransmitted(u32::from(real), "a request head sent again");
        }
        if s.seq != srv.rcv_nxt {
            return fail(
                self,
                Mismatch::Seq {
                    got: s.seq,
                    expected: srv.rcv_nxt,
                },
            );
        }
        let pipelined = matches!(self.cfg.mode, Mode::Pipelined { .. });
        // Pipelined: a held response stays unacknowledged while Splicer updates the
        // window (a pure ACK of less than the server sent).
        let ack_ok = if pipelined {
            s.ack.wrapping_sub(srv.snd_una) <= srv.snd_nxt.wrapping_sub(srv.snd_una)
        } else {
            s.ack == srv.snd_nxt
        };
        if !ack_ok {
            return fail(
                self,
                Mismatch::Ack {
                    got: s.ack,
                    expected: srv.snd_nxt,
                },
            );
        }
        let now = srv.ts.base.wrapping_add(self.clock_ms);
        let tsval = check_later_options(self, u32::from(real), s, &srv.ts, now)?;
        self.servers[si].ts.recent = tsval;
        srv.ts.recent = tsval;
        self.servers[si].take_window(s);
        if srv.state == SState::Responded && !s.payload.is_empty() && s.ack == srv.snd_nxt {
            // The next request's head carries the ACK of the last response (Splicer
            // delays it for that): the connection is idle from that ACK on.
            let idle = &mut self.servers[si];
            idle.snd_una = s.ack;
            idle.state = SState::Idle;
            idle.client = 0;
            srv = *idle;
        }
        match srv.state {
            SState::Responded if pipelined && s.payload.is_empty() && s.ack != srv.snd_nxt => {
                check_flags(self, u32::from(real), s, flags::ACK)?;
                check_window(self, u32::from(real), s, 0)?;
                self.seen.server_window_updates += 1;
                self.servers[si].snd_una = s.ack;
                Ok(())
            }
            SState::ZeroWindow if s.payload.is_empty() && s.flags & flags::FIN == 0 => {
                check_flags(self, u32::from(real), s, flags::ACK)?;
                check_window(self, u32::from(real), s, 0)?;
                if self.servers[si].wnd == 0 {
                    return fail(
                        self,
                        Mismatch::Unexpected("a window update its server does not take"),
                    );
                }
                if s.ack != srv.snd_nxt {
                    return fail(
                        self,
                        Mismatch::Ack {
                            got: s.ack,
                            expected: srv.snd_nxt,
                        },
                    );
                }
                self.respond(si, out)
            }
            SState::SynRcvd | SState::Responded | SState::LastAck if s.payload.is_empty() => {
                check_flags(self, u32::from(real), s, flags::ACK)?;
                check_window(self, u32::from(real), s, 0)?;
                if s.ack != srv.snd_nxt {
                    return fail(
                        self,
                        Mismatch::Ack {
                            got: s.ack,
                            expected: srv.snd_nxt,
                        },
                    );
                }
                self.servers[si].snd_una = s.ack;
                if srv.state == SState::LastAck {
                    self.servers[si] = FREE_SERVER;
                    self.server_index[key] = 0;
                    self.free_servers.push(si as u32);
                } else {
                    let srv = &mut self.servers[si];
                    srv.state = SState::Idle;
                    srv.client = 0;
                }
                Ok(())
            }
            SState::Idle if s.flags & flags::FIN != 0 => {
                // Splicer closes a pooled connection: close ours too.
                check_flags(self, u32::from(real), s, flags::FIN | flags::ACK)?;
                if !s.payload.is_empty() {
                    return fail(self, Mismatch::Payload);
                }
                let srv = &mut self.servers[si];
                srv.rcv_nxt = srv.rcv_nxt.wrapping_add(1);
                srv.state = SState::LastAck;
                let seq = srv.snd_nxt;
                srv.snd_nxt = seq.wrapping_add(1);
                let srv = *srv;
                server_send(
                    out,
                    self.clock_ms,
                    &srv,
                    seq,
                    srv.rcv_nxt,
                    flags::FIN | flags::ACK,
                    &[],
                    [&[], &[]],
                )
            }
            SState::Responded if !s.payload.is_empty() => fail(
                self,
                // Splicer ACKs a response on its client's behalf before or with the next
                // request on the connection: that ACK was lost.
                Mismatch::Unexpected(
                    "a request on a server connection before the ACK of its last response",
                ),
            ),
            SState::Idle if !s.payload.is_empty() => {
                check_flags(self, u32::from(real), s, flags::ACK | flags::PSH)?;
                if s.ack != srv.snd_nxt {
                    return fail(
                        self,
                        Mismatch::Ack {
                            got: s.ack,
                            expected: srv.snd_nxt,
                        },
                    );
                }
                if pipelined {
                    self.pipelined_request_in(si, s.payload, s.window == 0, out)
                } else {
                    check_window(self, u32::from(real), s, 0)?;
                    self.request_in(si, s.payload, out)
                }
            }
            SState::Idle => fail(self, Mismatch::Unexpected("a duplicate ACK to a server")),
            SState::Streaming => {
                check_flags(self, u32::from(real), s, flags::ACK | flags::PSH)?;
                check_window(
                    self,
                    u32::from(real),
                    s,
                    forwarded_window(self.cfg.linux_options, CLIENT_WINDOW, srv.ts.peer_wscale),
                )?;
                let p = self.cfg.payload;
                let slot = srv.client - 1;
                let c = self.clients[slot as usize];
                // The flow's segment in flight must be its client's (sent, then the
                // direction flipped to the server's).
                if !c.in_flight || c.next_up {
                    return fail(
                        self,
                        Mismatch::Unexpected(
                            "a client segment of a flow whose client had none in flight",
                        ),
                    );
                }
                if s.payload != self.pattern_at(srv.up_rcvd, p) {
                    return Err(self.fail(slot, Mismatch::Payload));
                }
                let srv = &mut self.servers[si];
                srv.rcv_nxt = srv.rcv_nxt.wrapping_add(p as u32);
                srv.up_rcvd += p as u64;
                self.returned_data(slot, out)
            }
            SState::SynRcvd | SState::Responded | SState::LastAck | SState::ZeroWindow => fail(
                self,
                Mismatch::Unexpected("data on a server connection that expects none"),
            ),
            SState::Free => unreachable!("indexed connections are not free"),
        }
    }

    /// Whether `s` is, byte for byte, the request head server connection `srv` received
    /// last and nothing after it.
    fn head_again(&mut self, srv: &Server, s: &SegIn<'_>) -> bool {
        let len = s.payload.len() as u32;
        if len == 0 || srv.client == 0 || s.seq.wrapping_add(len) != srv.rcv_nxt || srv.up_rcvd != 0
        {
            return false;
        }
        let slot = srv.client - 1;
        let c = self.clients[slot as usize];
        let mut buf = std::mem::take(&mut self.scratch);
        self.request_at_server(slot, c.conns, c.req, &mut buf);
        let same = buf[..] == *s.payload;
        self.scratch = buf;
        same
    }

    /// A request head arrived on server connection `si`.
    fn request_in<O: Emit>(
        &mut self,
        si: usize,
        payload: &[u8],
        out: &mut O,
    ) -> Result<(), BenchError> {
        let srv = self.servers[si];
        let real = srv.real;
        let fail = |t: &Self, m| Err(t.fail(u32::from(real), m));
        let Some(slot) = request_slot(payload).filter(|&s| s < self.cfg.flows) else {
            return fail(self, Mismatch::Payload);
        };
        let c = self.clients[slot as usize];
        if c.state != CState::Requested || c.server != 0 {
            return fail(
                self,
                Mismatch::Unexpected("a request its client is not waiting for an answer to"),
            );
        }
        let mut buf = std::mem::take(&mut self.scratch);
        self.request_at_server(slot, c.conns, c.req, &mut buf);
        let same = buf[..] == *payload;
        self.scratch = buf;
        if !same {
            return Err(self.fail(slot, Mismatch::Payload));
        }
        if !self.may_serve(real, payload) {
            return fail(
                self,
                Mismatch::Unexpected("a request routed to a real its rule does not allow"),
            );
        }
        self.per_real[usize::from(real)] += 1;
        self.clients[slot as usize].server = si as u32 + 1;
        let mut head = std::mem::take(&mut self.scratch);
        let body_at = self.response_into(slot, c.conns, c.req, &mut head);
        let body: &[u8] = match self.cfg.mode {
            Mode::Established => &[],
            _ => &self.pattern[body_at..body_at + self.cfg.payload],
        };
        let srv = &mut self.servers[si];
        srv.rcv_nxt = srv.rcv_nxt.wrapping_add(payload.len() as u32);
        srv.client = slot + 1;
        srv.state = if self.cfg.mode == Mode::Established {
            SState::Streaming
        } else {
            SState::Responded
        };
        let seq = srv.snd_nxt;
        srv.snd_nxt = seq.wrapping_add((head.len() + body.len()) as u32);
        let srv = *srv;
        let r = server_send(
            out,
            self.clock_ms,
            &srv,
            seq,
            srv.rcv_nxt,
            flags::ACK | flags::PSH,
            &[],
            [&head, body],
        );
        self.scratch = head;
        r
    }

    /// The request `req` of connection `conns` of client `slot` as its server gets it,
    /// into `buf`: as the client sent it, with `X-Forwarded-For` (the client's address)
    /// and `X-Forwarded-Proto` after the request line when the virtual has
    /// `forward_for` (none of the bench's requests carries its own).
    fn request_at_server(&self, slot: u32, conns: u32, req: u32, buf: &mut Vec<u8>) {
        self.request_into(slot, conns, req, buf);
        if self.cfg.farm.forward_for != splicer_http::ForwardFor::Off {
            let ip = client_addr(self.clients[slot as usize].id).0;
            let at = buf
                .windows(2)
                .position(|w| w == b"\r\n")
                .map_or(0, |i| i + 2);
            let lines = format!("X-Forwarded-For: {ip}\r\nX-Forwarded-Proto: http\r\n");
            buf.splice(at..at, lines.bytes());
        }
    }

    /// Whether `real` may serve the request `payload` (its path's rule, or the bind list).
    fn may_serve(&self, real: u16, payload: &[u8]) -> bool {
        request_path(payload).is_some_and(|p| self.cfg.farm.members(p).contains(&real))
    }

    /// `pipelined`: a request head arrived on server connection `si`; with a zero
    /// window the response waits for Splicer to open it.
    fn pipelined_request_in<O: Emit>(
        &mut self,
        si: usize,
        payload: &[u8],
        zero_window: bool,
        out: &mut O,
    ) -> Result<(), BenchError> {
        let real = self.servers[si].real;
        let fail = |t: &Self, m| Err(t.fail(u32::from(real), m));
        let (Some(slot), Some(req)) = (
            request_slot(payload).filter(|&s| s < self.cfg.flows),
            request_index(payload),
        ) else {
            return fail(self, Mismatch::Payload);
        };
        let c = self.clients[slot as usize];
        let i = req.wrapping_sub(c.batch);
        if c.state != CState::Requested
            || req < c.req
            || req >= c.sent
            || c.at_server & (1u64 << i) != 0
        {
            return fail(
                self,
                Mismatch::Unexpected("a request its client is not waiting for an answer to"),
            );
        }
        let mut buf = std::mem::take(&mut self.scratch);
        self.request_at_server(slot, c.conns, req, &mut buf);
        let same = buf[..] == *payload;
        self.scratch = buf;
        if !same {
            return Err(self.fail(slot, Mismatch::Payload));
        }
        if !self.may_serve(real, payload) {
            return fail(
                self,
                Mismatch::Unexpected("a request routed to a real its rule does not allow"),
            );
        }
        self.per_real[usize::from(real)] += 1;
        if req > c.req {
            self.seen.ahead += 1;
            // Sent ahead: its response is held, and its server must not be able to send
            // more than Splicer holds (it would have to drop the rest).
            if self.servers[si].wnd as usize > self.cfg.farm.max_held {
                return fail(
                    self,
                    Mismatch::Unexpected(
                        "a request sent ahead whose server's window is larger than max_held",
                    ),
                );
            }
        }
        self.clients[slot as usize].at_server |= 1u64 << i;
        let srv = &mut self.servers[si];
        srv.rcv_nxt = srv.rcv_nxt.wrapping_add(payload.len() as u32);
        srv.client = slot + 1;
        srv.req = req;
        if zero_window {
            self.seen.zero_window += 1;
            srv.state = SState::ZeroWindow;
            return Ok(());
        }
        self.respond(si, out)
    }

    /// `pipelined`: server connection `si` answers the request it holds.
    fn respond<O: Emit>(&mut self, si: usize, out: &mut O) -> Result<(), BenchError> {
        let srv = self.servers[si];
        let slot = srv.client - 1;
        let conns = self.clients[slot as usize].conns;
        let mut head = std::mem::take(&mut self.scratch);
        let body_at = self.response_into(slot, conns, srv.req, &mut head);
        let body = &self.pattern[body_at..body_at + self.cfg.payload];
        let srv = &mut self.servers[si];
        srv.state = SState::Responded;
        let seq = srv.snd_nxt;
        srv.snd_nxt = seq.wrapping_add((head.len() + body.len()) as u32);
        let srv = *srv;
        let r = server_send(
            out,
            self.clock_ms,
            &srv,
            seq,
            srv.rcv_nxt,
            flags::ACK | flags::PSH,
            &[],
            [&head, body],
        );
        self.scratch = head;
        r
    }
}

impl Server {
    /// Takes the window of segment `s` as a Linux sender does (`tcp_may_update_window`,
    /// a stricter form of RFC 9293 §3.10.7.4's SND.WL1/SND.WL2 rule): from a segment
    /// that acknowledges new data or comes after the one it took the last from; from
    /// one at the same sequence number only a larger window or a zero one. A smaller
    /// window at the same sequence number is ignored: Splicer cannot shrink a window
    /// that way.
    fn take_window(&mut self, s: &SegIn<'_>) {
        let after = |a: u32, b: u32| (a.wrapping_sub(b) as i32) > 0;
        let win = u32::from(s.window);
        if after(s.ack, self.snd_una)
            || after(s.seq, self.wl1)
            || (s.seq == self.wl1 && (win > self.wnd || win == 0))
        {
            self.wnd = win;
            self.wl1 = s.seq;
        }
    }
}
