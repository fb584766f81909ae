//! The clients' side of the generator: opening connections, sending requests, reading
//! and checking the responses, closing.

use super::super::frame::{self, flags, SegIn};
use super::super::{GATEWAY_MAC, OUTSIDE_MAC, VIP};
use super::{
    check_flags, check_later_options, check_window, client_send, forwarded_window, mix,
    server_send, CState, Client, Emit, Mode, SpliceTraffic, Stamps, ENDLESS, MSS, MSS_OPTION,
    PATTERN, SERVER_WINDOW,
};
use crate::verify::Mismatch;
use crate::BenchError;
use std::io::Write;

impl SpliceTraffic {
    fn slot_of(&self, id: u32) -> u32 {
        match self.cfg.mode {
            Mode::Established => id,
            _ => id % self.cfg.flows,
        }
    }

    pub(super) fn start_conn<O: Emit>(&mut self, slot: u32, out: &mut O) -> Result<(), BenchError> {
        let gens = self.id_generations;
        let flows = self.cfg.flows;
        let established = self.cfg.mode == Mode::Established;
        let c = &mut self.clients[slot as usize];
        c.conns = c.conns.wrapping_add(1);
        c.id = if established {
            slot
        } else {
            (c.conns % gens) * flows + slot
        };
        c.iss = mix(c.id, c.conns.wrapping_mul(0x0101_0101) ^ 0x0c11_e417);
        c.snd_nxt = c.iss.wrapping_add(1);
        c.rcv_nxt = 0;
        c.state = CState::SynSent;
        c.req = 0;
        c.server = 0;
        c.acked = false;
        c.sent = 0;
        c.batch = 0;
        c.at_server = 0;
        c.una = c.snd_nxt;
        // Timestamps are on once the SYN-ACK accepts them.
        c.ts = Stamps {
            base: mix(c.id, c.conns ^ 0x7153_7a3d),
            ..Stamps::default()
        };
        if !established {
            self.active += 1;
        }
        let c = *c;
        if self.cfg.linux_options {
            let syn = frame::linux_syn_options(c.ts.base.wrapping_add(self.clock_ms), 0);
            client_send(
                out,
                self.clock_ms,
                &c,
                c.iss,
                0,
                flags::SYN,
                &syn,
                [&[], &[]],
            )
        } else {
            client_send(
                out,
                self.clock_ms,
                &c,
                c.iss,
                0,
                flags::SYN,
                &MSS_OPTION,
                [&[], &[]],
            )
        }
    }

    /// The request `req` of connection `conns` of client `slot`, into `buf`.
    pub(super) fn request_into(&self, slot: u32, conns: u32, req: u32, buf: &mut Vec<u8>) {
        buf.clear();
        let _ = match self.cfg.mode {
            Mode::Established => write!(
                buf,
                "POST /e/{slot} HTTP/1.1\r\nHost: bench\r\nContent-Length: {ENDLESS}\r\n\r\n"
            ),
            Mode::Lifecycle => write!(buf, "GET /l/{slot}/{conns} HTTP/1.1\r\nHost: bench\r\n\r\n"),
            Mode::Keepalive { .. } => {
                let kind = if req % 2 == 0 { "img" } else { "api" };
                write!(
                    buf,
                    "GET /{kind}/{slot}/{conns}.{req} HTTP/1.1\r\nHost: bench\r\n\r\n"
                )
            }
            Mode::Pipelined { .. } => write!(
                buf,
                "GET /r{}/{slot}/{conns}.{req} HTTP/1.1\r\nHost: bench\r\n\r\n",
                req % 3
            ),
        };
    }

    /// The response head to request `req` of connection `conns` of `slot`, into `buf`,
    /// and where its body starts in the pattern.
    pub(super) fn response_into(
        &self,
        slot: u32,
        conns: u32,
        req: u32,
        buf: &mut Vec<u8>,
    ) -> usize {
        buf.clear();
        match self.cfg.mode {
            Mode::Established => {
                let _ = write!(buf, "HTTP/1.1 200 OK\r\nContent-Length: {ENDLESS}\r\n\r\n");
                0
            }
            Mode::Pipelined { .. } => {
                // The server echoes the request's path: each response names its request.
                let _ = write!(
                    buf,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nX-Path: /r{}/{slot}/{conns}.{req}\r\n\r\n",
                    self.cfg.payload,
                    req % 3
                );
                mix(slot ^ (req << 20), conns) as usize % PATTERN.len()
            }
            _ => {
                let _ = write!(
                    buf,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
                    self.cfg.payload
                );
                mix(slot ^ (req << 20), conns) as usize % PATTERN.len()
            }
        }
    }

    /// Whether `payload`, received `got` bytes into the response (of `len` bytes) to
    /// request `req` of connection `conns` of `slot`, is exactly those bytes of it.
    fn response_bytes_match(
        &mut self,
        slot: u32,
        conns: u32,
        req: u32,
        got: u32,
        len: u32,
        payload: &[u8],
    ) -> bool {
        let mut buf = std::mem::take(&mut self.scratch);
        let body_at = self.response_into(slot, conns, req, &mut buf);
        let head = buf.len();
        let got = got as usize;
        let ok = got + payload.len() <= len as usize && {
            let body = &self.pattern[body_at..];
            payload.iter().enumerate().all(|(i, &b)| {
                let at = got + i;
                b == if at < head { buf[at] } else { body[at - head] }
            })
        };
        self.scratch = buf;
        ok
    }

    fn response_len(&self, slot: u32, conns: u32, req: u32) -> u32 {
        let mut b = Vec::with_capacity(64);
        self.response_into(slot, conns, req, &mut b);
        let body = match self.cfg.mode {
            Mode::Established => 0,
            _ => self.cfg.payload,
        };
        (b.len() + body) as u32
    }

    fn send_request<O: Emit>(
        &mut self,
        slot: u32,
        extra: u8,
        out: &mut O,
    ) -> Result<(), BenchError> {
        let mut buf = std::mem::take(&mut self.scratch);
        let c = self.clients[slot as usize];
        self.request_into(slot, c.conns, c.req, &mut buf);
        let resp_len = self.response_len(slot, c.conns, c.req);
        let r = client_send(
            out,
            self.clock_ms,
            &c,
            c.snd_nxt,
            c.rcv_nxt,
            flags::ACK | flags::PSH | extra,
            &[],
            [&buf, &[]],
        );
        let c = &mut self.clients[slot as usize];
        c.snd_nxt = c.snd_nxt.wrapping_add(buf.len() as u32);
        c.state = CState::Requested;
        c.acked = false;
        c.server = 0;
        c.resp_len = resp_len;
        c.resp_got = 0;
        self.scratch = buf;
        r
    }

    pub(super) fn client_in<O: Emit>(
        &mut self,
        id: u32,
        s: &SegIn<'_>,
        out: &mut O,
    ) -> Result<(), BenchError> {
        let slot = self.slot_of(id);
        let Some(&c) = self.clients.get(slot as usize) else {
            return Err(self.fail(
                slot,
                Mismatch::Unexpected("a segment to a client address outside the plan"),
            ));
        };
        let fail = |s: &Self, m| Err(s.fail(slot, m));
        if c.id != id || c.state == CState::Idle {
            return fail(
                self,
                Mismatch::Unexpected("a segment for a closed client connection"),
            );
        }
        if s.src != VIP {
            return fail(
                self,
                Mismatch::Addresses {
                    got: (s.src.0, s.dst.0),
                    expected: (VIP.0, s.dst.0),
                },
            );
        }
        if s.src_mac != OUTSIDE_MAC || s.dst_mac != GATEWAY_MAC {
            return fail(self, Mismatch::Ethernet);
        }
        if s.flags & flags::RST != 0 {
            return fail(self, Mismatch::Unexpected("a RST to a client"));
        }
        if c.state == CState::SynSent {
            return self.client_syn_ack(slot, c, s, out);
        }
        if s.flags == flags::SYN | flags::ACK
            && s.seq.wrapping_add(1) == c.rcv_nxt
            && s.ack == c.iss.wrapping_add(1)
            && s.payload.is_empty()
        {
            // The SYN-ACK again: the client's ACK (with its request) reached Splicer
            // after its retransmission timer fired. The client's TCP ignores it (the
            // ACK is on its way).
            return self.retransmitted(slot, "a second SYN-ACK to a client");
        }
        if s.seq != c.rcv_nxt {
            return fail(
                self,
                Mismatch::Seq {
                    got: s.seq,
                    expected: c.rcv_nxt,
                },
            );
        }
        let pipelined = matches!(self.cfg.mode, Mode::Pipelined { .. });
        // Pipelined: Splicer acknowledges the requests of a batch as the servers take
        // them, so an ACK may be anywhere from the last one to the end of the batch.
        let ack_ok = if pipelined && c.state == CState::Requested {
            s.ack.wrapping_sub(c.una) <= c.snd_nxt.wrapping_sub(c.una)
        } else {
            s.ack == c.snd_nxt
        };
        if !ack_ok {
            return fail(
                self,
                Mismatch::Ack {
                    got: s.ack,
                    expected: c.snd_nxt,
                },
            );
        }
        let tsval =
            check_later_options(self, slot, s, &c.ts, c.ts.base.wrapping_add(self.clock_ms))?;
        self.clients[slot as usize].ts.recent = tsval;
        let server_window =
            forwarded_window(self.cfg.linux_options, SERVER_WINDOW, c.ts.peer_wscale);
        if pipelined && c.state == CState::Requested {
            return self.pipelined_in(slot, c, s, out);
        }
        match c.state {
            CState::Requested if s.payload.is_empty() => {
                check_flags(self, slot, s, flags::ACK)?;
                check_window(self, slot, s, 0)?;
                if c.acked {
                    return fail(self, Mismatch::Unexpected("a duplicate ACK to a client"));
                }
                self.clients[slot as usize].acked = true;
                Ok(())
            }
            CState::Requested => {
                check_flags(self, slot, s, flags::ACK | flags::PSH)?;
                check_window(self, slot, s, server_window)?;
                if c.server == 0 {
                    return fail(
                        self,
                        Mismatch::Unexpected("response data before the server had the request"),
                    );
                }
                // Splicer acknowledges a request head as it takes it, before any server
                // has seen it: its ACK precedes the response. A response without it means
                // that ACK was lost.
                if !c.acked {
                    return fail(
                        self,
                        Mismatch::Unexpected("response data before Splicer's ACK of the request"),
                    );
                }
                let (conns, req, got, len) = (c.conns, c.req, c.resp_got, c.resp_len);
                if !self.response_bytes_match(slot, conns, req, got, len, s.payload) {
                    return fail(self, Mismatch::Payload);
                }
                let c = &mut self.clients[slot as usize];
                c.rcv_nxt = c.rcv_nxt.wrapping_add(s.payload.len() as u32);
                c.resp_got = got + s.payload.len() as u32;
                if c.resp_got == c.resp_len {
                    return self.response_done(slot, out);
                }
                Ok(())
            }
            CState::FinSent => {
                check_flags(self, slot, s, flags::FIN | flags::ACK)?;
                check_window(self, slot, s, 0)?;
                if !s.payload.is_empty() {
                    return fail(self, Mismatch::Payload);
                }
                let c = &mut self.clients[slot as usize];
                c.rcv_nxt = c.rcv_nxt.wrapping_add(1);
                c.state = CState::Idle;
                let c = *c;
                self.active -= 1;
                client_send(
                    out,
                    self.clock_ms,
                    &c,
                    c.snd_nxt,
                    c.rcv_nxt,
                    flags::ACK,
                    &[],
                    [&[], &[]],
                )?;
                if !self.stopping {
                    self.start_conn(slot, out)?;
                }
                Ok(())
            }
            CState::Streaming => {
                check_flags(self, slot, s, flags::ACK | flags::PSH)?;
                check_window(self, slot, s, server_window)?;
                let p = self.cfg.payload;
                if !c.in_flight || !c.next_up {
                    return fail(
                        self,
                        Mismatch::Unexpected(
                            "a server segment of a flow whose server had none in flight",
                        ),
                    );
                }
                if s.payload != self.pattern_at(c.down_rcvd, p) {
                    return fail(self, Mismatch::Payload);
                }
                let c = &mut self.clients[slot as usize];
                c.rcv_nxt = c.rcv_nxt.wrapping_add(p as u32);
                c.down_rcvd += p as u64;
                self.returned_data(slot, out)
            }
            CState::Idle | CState::SynSent => unreachable!("handled above"),
        }
    }

    fn client_syn_ack<O: Emit>(
        &mut self,
        slot: u32,
        c: Client,
        s: &SegIn<'_>,
        out: &mut O,
    ) -> Result<(), BenchError> {
        check_flags(self, slot, s, flags::SYN | flags::ACK)?;
        let want = c.iss.wrapping_add(1);
        if s.ack != want {
            return Err(self.fail(
                slot,
                Mismatch::Ack {
                    got: s.ack,
                    expected: want,
                },
            ));
        }
        check_window(self, slot, s, 0)?;
        let o = frame::options(s.options).ok_or_else(|| self.fail(slot, Mismatch::Options))?;
        if self.cfg.linux_options {
            // Splicer's SYN-ACK accepts what the client offered: SACK, timestamps (its
            // TSecr the SYN's TSval), a window scale of its own.
            match o.ts {
                Some((tsval, tsecr))
                    if o.mss == Some(1460)
                        && o.sack_ok
                        && !o.sack
                        && tsecr.wrapping_sub(c.ts.base) <= self.clock_ms
                        && o.wscale.is_some_and(|w| w <= 14) =>
                {
                    let ts = &mut self.clients[slot as usize].ts;
                    ts.on = true;
                    ts.recent = tsval;
                    ts.peer_wscale = o.wscale.unwrap_or(0);
                }
                _ => return Err(self.fail(slot, Mismatch::Options)),
            }
        } else if o.mss != Some(1460) || o.wscale.is_some() || o.sack_ok || o.ts.is_some() || o.sack
        {
            return Err(self.fail(slot, Mismatch::Options));
        }
        if !s.payload.is_empty() {
            return Err(self.fail(slot, Mismatch::Payload));
        }
        self.clients[slot as usize].rcv_nxt = s.seq.wrapping_add(1);
        match self.cfg.mode {
            Mode::Pipelined { depth } => self.send_batch(slot, depth, out),
            _ => self.send_request(slot, 0, out),
        }
    }

    /// Writes the next `depth` requests of client `slot`, as many per segment as fit in
    /// an MSS; the first segment acknowledges what the client received.
    fn send_batch<O: Emit>(
        &mut self,
        slot: u32,
        depth: u32,
        out: &mut O,
    ) -> Result<(), BenchError> {
        let mut buf = std::mem::take(&mut self.scratch);
        let mut one = Vec::with_capacity(64);
        let c = self.clients[slot as usize];
        let mut seq = c.snd_nxt;
        buf.clear();
        let mut r = Ok(());
        for req in c.sent..c.sent + depth {
            self.request_into(slot, c.conns, req, &mut one);
            if buf.len() + one.len() > MSS {
                r = r.and(client_send(
                    out,
                    self.clock_ms,
                    &c,
                    seq,
                    c.rcv_nxt,
                    flags::ACK | flags::PSH,
                    &[],
                    [&buf, &[]],
                ));
                seq = seq.wrapping_add(buf.len() as u32);
                buf.clear();
            }
            buf.extend_from_slice(&one);
        }
        r = r.and(client_send(
            out,
            self.clock_ms,
            &c,
            seq,
            c.rcv_nxt,
            flags::ACK | flags::PSH,
            &[],
            [&buf, &[]],
        ));
        seq = seq.wrapping_add(buf.len() as u32);
        self.scratch = buf;
        let resp_len = self.response_len(slot, c.conns, c.sent);
        let c = &mut self.clients[slot as usize];
        c.snd_nxt = seq;
        c.state = CState::Requested;
        c.batch = c.sent;
        c.req = c.sent;
        c.sent += depth;
        c.at_server = 0;
        c.resp_len = resp_len;
        c.resp_got = 0;
        r
    }

    /// A segment to a client of `pipelined` that waits for responses.
    fn pipelined_in<O: Emit>(
        &mut self,
        slot: u32,
        c: Client,
        s: &SegIn<'_>,
        out: &mut O,
    ) -> Result<(), BenchError> {
        let fail = |t: &Self, m| Err(t.fail(slot, m));
        if s.ack.wrapping_sub(c.una) > c.snd_nxt.wrapping_sub(c.una) {
            return fail(
                self,
                Mismatch::Ack {
                    got: s.ack,
                    expected: c.snd_nxt,
                },
            );
        }
        if s.payload.is_empty() {
            check_flags(self, slot, s, flags::ACK)?;
            check_window(self, slot, s, 0)?;
            if s.ack == c.una {
                self.seen.client_window_updates += 1;
            }
            self.clients[slot as usize].una = s.ack;
            return Ok(());
        }
        check_flags(self, slot, s, flags::ACK | flags::PSH)?;
        check_window(self, slot, s, 0)?;
        let i = c.req - c.batch;
        if c.at_server & (1 << i) == 0 {
            return fail(
                self,
                Mismatch::Unexpected("response data before a server had the request"),
            );
        }
        let (conns, req, got, len) = (c.conns, c.req, c.resp_got, c.resp_len);
        if !self.response_bytes_match(slot, conns, req, got, len, s.payload) {
            return fail(self, Mismatch::Payload);
        }
        let c = &mut self.clients[slot as usize];
        c.una = s.ack;
        c.rcv_nxt = c.rcv_nxt.wrapping_add(s.payload.len() as u32);
        c.resp_got = got + s.payload.len() as u32;
        if c.resp_got < c.resp_len {
            return Ok(());
        }
        self.requests += 1;
        c.req += 1;
        let c = *c;
        if c.req < c.sent {
            // The next response is read from here; this one is acknowledged at once
            // (Splicer sends the next only once this one is acknowledged).
            let resp_len = self.response_len(slot, c.conns, c.req);
            let cm = &mut self.clients[slot as usize];
            cm.resp_len = resp_len;
            cm.resp_got = 0;
            return client_send(
                out,
                self.clock_ms,
                &c,
                c.snd_nxt,
                c.rcv_nxt,
                flags::ACK,
                &[],
                [&[], &[]],
            );
        }
        if self.stopping {
            return self.client_fin(slot, out);
        }
        let Mode::Pipelined { depth } = self.cfg.mode else {
            unreachable!("pipelined clients only")
        };
        self.send_batch(slot, depth, out)
    }

    /// The whole response of the current request arrived.
    fn response_done<O: Emit>(&mut self, slot: u32, out: &mut O) -> Result<(), BenchError> {
        match self.cfg.mode {
            Mode::Established => {
                self.clients[slot as usize].state = CState::Streaming;
                self.ready.push_back(slot);
                self.spliced += 1;
                self.setting_up -= 1;
                Ok(())
            }
            Mode::Lifecycle => {
                self.requests += 1;
                self.client_fin(slot, out)
            }
            Mode::Pipelined { .. } => unreachable!("pipelined_in reads the responses"),
            Mode::Keepalive { requests } => {
                self.requests += 1;
                let c = &mut self.clients[slot as usize];
                c.req += 1;
                if c.req < requests && !self.stopping {
                    // The next request acknowledges the response.
                    self.send_request(slot, 0, out)
                } else {
                    self.client_fin(slot, out)
                }
            }
        }
    }

    fn client_fin<O: Emit>(&mut self, slot: u32, out: &mut O) -> Result<(), BenchError> {
        let c = &mut self.clients[slot as usize];
        let seq = c.snd_nxt;
        c.snd_nxt = c.snd_nxt.wrapping_add(1);
        c.state = CState::FinSent;
        let c = *c;
        client_send(
            out,
            self.clock_ms,
            &c,
            seq,
            c.rcv_nxt,
            flags::ACK | flags::FIN,
            &[],
            [&[], &[]],
        )
    }

    pub(super) fn pattern_at(&self, offset: u64, len: usize) -> &[u8] {
        let at = (offset % PATTERN.len() as u64) as usize;
        &self.pattern[at..at + len]
    }

    /// A data segment of `established` came back verified: the flow may send its next.
    pub(super) fn returned_data<O: Emit>(
        &mut self,
        slot: u32,
        out: &mut O,
    ) -> Result<(), BenchError> {
        self.clients[slot as usize].in_flight = false;
        self.in_flight -= 1;
        self.ready.push_back(slot);
        if !self.stopping {
            self.send_next(out)?;
        }
        Ok(())
    }

    /// Sends the next data segment of the flow first in line: from its client and from
    /// its server in turn.
    pub(super) fn send_next<O: Emit>(&mut self, out: &mut O) -> Result<(), BenchError> {
        let Some(slot) = self.ready.pop_front() else {
            return Ok(());
        };
        let p = self.cfg.payload;
        let c = self.clients[slot as usize];
        let at = |off: u64| (off % PATTERN.len() as u64) as usize;
        if c.next_up {
            let payload = &self.pattern[at(c.up_sent)..at(c.up_sent) + p];
            client_send(
                out,
                self.clock_ms,
                &c,
                c.snd_nxt,
                c.rcv_nxt,
                flags::ACK | flags::PSH,
                &[],
                [payload, &[]],
            )?;
            let c = &mut self.clients[slot as usize];
            c.snd_nxt = c.snd_nxt.wrapping_add(p as u32);
            c.up_sent += p as u64;
        } else {
            let si = c.server as usize - 1;
            let s = self.servers[si];
            let payload = &self.pattern[at(s.down_sent)..at(s.down_sent) + p];
            server_send(
                out,
                self.clock_ms,
                &s,
                s.snd_nxt,
                s.rcv_nxt,
                flags::ACK | flags::PSH,
                &[],
                [payload, &[]],
            )?;
            let s = &mut self.servers[si];
            s.snd_nxt = s.snd_nxt.wrapping_add(p as u32);
            s.down_sent += p as u64;
        }
        let c = &mut self.clients[slot as usize];
        c.in_flight = true;
        c.next_up = !c.next_up;
        self.in_flight += 1;
        Ok(())
    }
}
