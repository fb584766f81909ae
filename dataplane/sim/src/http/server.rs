//! HTTP server: several listening sockets on one port, keep-alive, deterministic bodies,
//! and a record of every connection and request for the test to check.

use super::{
    body, collect_headers, content_length, keeps_alive, query_param, Parsed, MAX_HEAD, MAX_HEADERS,
};
use crate::host::{App, Host, PersistProbe, TcpConfig};
use crate::time;
use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp::State;
use smoltcp::wire::IpAddress;
use std::net::{Ipv4Addr, SocketAddrV4};

/// One connection the server accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// The peer as the server saw it.
    pub remote: SocketAddrV4,
    /// Tick at which it was noticed established.
    pub accepted_tick: u64,
    /// Requests answered on it.
    pub requests: usize,
    /// Bytes received on it.
    pub bytes_in: usize,
    /// It ended (closed or reset).
    pub closed: bool,
}

/// A request as the server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedRequest {
    /// Index of its connection in [`HttpServer::connections`].
    pub conn: usize,
    /// Its position on that connection, from 0.
    pub index_on_conn: usize,
    /// Method.
    pub method: String,
    /// Request target.
    pub target: String,
    /// Minor version (`HTTP/1.x`).
    pub version: u8,
    /// Headers in order.
    pub headers: Vec<(String, String)>,
    /// Body, exactly as framed by `Content-Length`.
    pub body: Vec<u8>,
}

impl ReceivedRequest {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        super::header(&self.headers, name)
    }
}

#[derive(Debug)]
struct Slot {
    handle: SocketHandle,
    conn: Option<usize>,
    /// The connection ended but the socket still holds it (TIME-WAIT).
    draining: bool,
    rx: Vec<u8>,
    tx: Vec<u8>,
    tx_off: usize,
    /// Tick before which the response in `tx` is not written (`delay_ms=`).
    ready_at: u64,
    close_after: bool,
    closing: bool,
    probe: PersistProbe,
}

impl Slot {
    fn reset(&mut self) {
        self.conn = None;
        self.probe = PersistProbe::default();
        self.rx.clear();
        self.tx.clear();
        self.tx_off = 0;
        self.ready_at = 0;
        self.close_after = false;
        self.closing = false;
    }
}

/// An HTTP/1.1 server called `name` on `port`.
///
/// It keeps at least `backlog` sockets listening: a socket that accepts a connection is
/// replaced by a new listener, so any number of connections can be open at once, and a
/// socket whose connection ended listens again.
#[derive(Debug)]
pub struct HttpServer {
    name: String,
    port: u16,
    backlog: usize,
    tcp: TcpConfig,
    slots: Vec<Slot>,
    connections: Vec<Connection>,
    requests: Vec<ReceivedRequest>,
    errors: Vec<String>,
}

impl HttpServer {
    /// A server called `name` that listens on `port` with `backlog` sockets.
    pub fn new(name: &str, port: u16, backlog: usize) -> Self {
        assert!(backlog > 0, "a server needs a listening socket");
        HttpServer {
            name: name.to_string(),
            port,
            backlog,
            tcp: TcpConfig::default(),
            slots: Vec::new(),
            connections: Vec::new(),
            requests: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// Uses `tcp` for the server's sockets.
    pub fn with_tcp(mut self, tcp: TcpConfig) -> Self {
        self.tcp = tcp;
        self
    }

    /// The server's name, which its bodies carry.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Every connection accepted so far.
    pub fn connections(&self) -> &[Connection] {
        &self.connections
    }

    /// Every request answered so far, in the order they were read.
    pub fn requests(&self) -> &[ReceivedRequest] {
        &self.requests
    }

    /// Protocol errors seen (malformed requests, truncated requests).
    pub fn errors(&self) -> &[String] {
        &self.errors
    }

    /// Connections currently open.
    pub fn open_connections(&self) -> usize {
        self.connections.iter().filter(|c| !c.closed).count()
    }

    fn add_listener(&mut self, host: &mut Host) {
        let handle = host.add_tcp_socket(&self.tcp);
        host.tcp(handle)
            .listen(self.port)
            .expect("listen on a fresh socket");
        self.slots.push(Slot {
            handle,
            conn: None,
            draining: false,
            rx: Vec::new(),
            tx: Vec::new(),
            tx_off: 0,
            ready_at: 0,
            close_after: false,
            closing: false,
            probe: PersistProbe::default(),
        });
    }

    /// The response to `req` and whether the connection closes after it.
    fn respond(&self, req: &ReceivedRequest) -> (Vec<u8>, bool) {
        let status = query_param(&req.target, "status").unwrap_or(200) as u16;
        let close =
            !keeps_alive(req.version, &req.headers) || query_param(&req.target, "close") == Some(1);
        let no_body = status == 204 || status == 304;
        let body = if no_body {
            Vec::new()
        } else {
            body(&self.name, &req.target, query_param(&req.target, "bytes"))
        };
        let mut head = format!(
            "HTTP/1.1 {status} {}\r\nServer: splicer-sim\r\nX-Server: {}\r\nX-Connection: {}\r\nX-Request: {}\r\n",
            reason(status),
            self.name,
            req.conn,
            req.index_on_conn,
        );
        if !no_body {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        if close {
            head.push_str("Connection: close\r\n");
        } else if req.version == 0 {
            head.push_str("Connection: keep-alive\r\n");
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        if req.method != "HEAD" {
            out.extend_from_slice(&body);
        }
        (out, close)
    }

    fn poll_slot(&mut self, i: usize, host: &mut Host) {
        let handle = self.slots[i].handle;
        let state = host.tcp(handle).state();
        if self.slots[i].draining {
            if state == State::Closed {
                self.slots[i].draining = false;
            }
            return;
        }
        let conn = match self.slots[i].conn {
            Some(c) => c,
            None => match state {
                State::Closed | State::Listen | State::SynReceived => return,
                _ => {
                    let remote = host
                        .tcp(handle)
                        .remote_endpoint()
                        .map(|e| match e.addr {
                            IpAddress::Ipv4(a) => SocketAddrV4::new(a, e.port),
                        })
                        .unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0));
                    self.connections.push(Connection {
                        remote,
                        accepted_tick: host.tick(),
                        requests: 0,
                        bytes_in: 0,
                        closed: false,
                    });
                    let c = self.connections.len() - 1;
                    self.slots[i].conn = Some(c);
                    c
                }
            },
        };
        let tick = host.tick();
        let s = host.tcp(handle);
        self.slots[i].probe.poll(s, tick, self.tcp.persist_probe_ms);
        while s.can_recv() {
            let rx = &mut self.slots[i].rx;
            let n = s
                .recv(|buf| {
                    rx.extend_from_slice(buf);
                    (buf.len(), buf.len())
                })
                .unwrap_or(0);
            self.connections[conn].bytes_in += n;
        }
        loop {
            let slot = &mut self.slots[i];
            let s = host.tcp(handle);
            if slot.tx_off < slot.tx.len() {
                if tick < slot.ready_at {
                    break;
                }
                if s.can_send() {
                    let n = s.send_slice(&slot.tx[slot.tx_off..]).unwrap_or(0);
                    slot.tx_off += n;
                    slot.probe.wrote(n);
                }
                if slot.tx_off < slot.tx.len() {
                    break;
                }
            }
            if slot.closing {
                break;
            }
            if slot.close_after {
                s.close();
                slot.closing = true;
                break;
            }
            match parse_request(&slot.rx) {
                Parsed::Complete((method, target, version, headers, body), used) => {
                    slot.rx.drain(..used);
                    let req = ReceivedRequest {
                        conn,
                        index_on_conn: self.connections[conn].requests,
                        method,
                        target,
                        version,
                        headers,
                        body,
                    };
                    self.connections[conn].requests += 1;
                    let (out, close) = self.respond(&req);
                    let delay = query_param(&req.target, "delay_ms").unwrap_or(0) as u64;
                    self.requests.push(req);
                    let slot = &mut self.slots[i];
                    slot.tx = out;
                    slot.tx_off = 0;
                    slot.ready_at = tick + time::ticks_from_ms(delay);
                    slot.close_after = close;
                }
                Parsed::Incomplete => {
                    if !s.may_recv() {
                        // The client finished sending; what is left cannot become a
                        // request any more.
                        if !slot.rx.is_empty() {
                            self.errors
                                .push(format!("conn {conn}: truncated request at close"));
                        }
                        s.close();
                        self.slots[i].closing = true;
                    }
                    break;
                }
                Parsed::Invalid(reason) => {
                    self.errors.push(format!("conn {conn}: {reason}"));
                    let msg = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                    slot.rx.clear();
                    slot.tx = msg.to_vec();
                    slot.tx_off = 0;
                    slot.close_after = true;
                }
            }
        }
        let state = host.tcp(handle).state();
        if matches!(state, State::Closed | State::TimeWait) {
            self.connections[conn].closed = true;
            let slot = &mut self.slots[i];
            slot.reset();
            slot.draining = state == State::TimeWait;
        }
    }
}

/// Parses one request from the front of `buf`.
#[allow(clippy::type_complexity)]
fn parse_request(buf: &[u8]) -> Parsed<(String, String, u8, Vec<(String, String)>, Vec<u8>)> {
    let mut raw = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut r = httparse::Request::new(&mut raw);
    let head_len = match r.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
            return Parsed::Invalid("request head too long".into())
        }
        Ok(httparse::Status::Partial) => return Parsed::Incomplete,
        Err(e) => return Parsed::Invalid(format!("bad request head: {e}")),
    };
    let headers = collect_headers(r.headers);
    let len = match content_length(&headers) {
        Ok(n) => n.unwrap_or(0),
        Err(e) => return Parsed::Invalid(e),
    };
    // `early=1`: a server that answers from the head alone and never reads the body,
    // taking whatever follows the head for its next request (a static-file server
    // answering a POST, at its worst): what a balancer must never let reach another
    // client's request.
    let len = if r.path.is_some_and(|p| p.contains("early=1")) {
        0
    } else {
        len
    };
    if buf.len() - head_len < len {
        return Parsed::Incomplete;
    }
    let body = buf[head_len..head_len + len].to_vec();
    let method = r.method.unwrap_or("").to_string();
    let target = r.path.unwrap_or("").to_string();
    let version = r.version.unwrap_or(1);
    Parsed::Complete((method, target, version, headers, body), head_len + len)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        404 => "Not Found",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

impl App for HttpServer {
    fn start(&mut self, host: &mut Host) {
        for _ in 0..self.backlog {
            self.add_listener(host);
        }
    }

    fn poll(&mut self, host: &mut Host) {
        for i in 0..self.slots.len() {
            self.poll_slot(i, host);
        }
        let mut listening = 0;
        for slot in &self.slots {
            if matches!(
                host.tcp(slot.handle).state(),
                State::Listen | State::SynReceived
            ) {
                listening += 1;
            }
        }
        // Re-arm idle sockets before making new ones, so a long run with many short
        // connections does not grow the socket set without bound.
        for slot in &self.slots {
            if listening >= self.backlog {
                break;
            }
            let s = host.tcp(slot.handle);
            if slot.conn.is_none() && !slot.draining && s.state() == State::Closed {
                s.listen(self.port).expect("listen on a closed socket");
                listening += 1;
            }
        }
        while listening < self.backlog {
            self.add_listener(host);
            listening += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_framed_by_content_length() {
        let buf = b"POST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\nxyGET";
        match parse_request(buf) {
            Parsed::Complete((m, t, v, _, b), used) => {
                assert_eq!(
                    (m.as_str(), t.as_str(), v, &b[..]),
                    ("POST", "/a", 1, &b"xy"[..])
                );
                assert_eq!(used, buf.len() - 3);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(parse_request(&buf[..40]), Parsed::Incomplete);
        assert!(matches!(
            parse_request(b"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Parsed::Invalid(_)
        ));
        assert!(matches!(
            parse_request(b"\x01\x02 / HTTP/1.1\r\n\r\n"),
            Parsed::Invalid(_)
        ));
    }

    fn req(target: &str, version: u8, headers: &[(&str, &str)]) -> ReceivedRequest {
        ReceivedRequest {
            conn: 3,
            index_on_conn: 1,
            method: "GET".into(),
            target: target.into(),
            version,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: vec![],
        }
    }

    #[test]
    fn responses_follow_the_query_and_connection_rules() {
        let s = HttpServer::new("s9", 80, 1);
        let (out, close) = s.respond(&req("/p?bytes=5", 1, &[]));
        assert!(!close);
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.contains("X-Server: s9\r\nX-Connection: 3\r\nX-Request: 1\r\n"));
        assert!(text.ends_with("Content-Length: 5\r\n\r\ns9 /p"), "{text}");

        let (out, close) = s.respond(&req("/p?status=204", 1, &[]));
        assert!(!close);
        assert!(!String::from_utf8(out).unwrap().contains("Content-Length"));

        assert!(s.respond(&req("/p?close=1", 1, &[])).1);
        assert!(s.respond(&req("/p", 1, &[("Connection", "close")])).1);
        assert!(s.respond(&req("/p", 0, &[])).1);
        let (out, close) = s.respond(&req("/p", 0, &[("Connection", "keep-alive")]));
        assert!(!close);
        assert!(String::from_utf8(out)
            .unwrap()
            .contains("Connection: keep-alive\r\n"));
    }
}
