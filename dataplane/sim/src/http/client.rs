//! HTTP client: one connection, requests sent one after another (keep-alive), or
//! pipelined in bursts ahead of their responses.

use super::{parse_response, Parsed, Request, Response};
use crate::host::{App, Host, PersistProbe, TcpConfig};
use smoltcp::iface::SocketHandle;
use smoltcp::socket::tcp::State;
use std::net::SocketAddrV4;

/// Where an [`HttpClient`] is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientState {
    /// Not placed on a host yet.
    Idle,
    /// Handshake under way.
    Connecting,
    /// Writing request number `responses().len()` (pipelined: writing requests ahead).
    Sending,
    /// Waiting for the response to the request just sent (pipelined: every request
    /// queued so far is written).
    Receiving,
    /// Every response arrived.
    Done,
    /// Something went wrong; see [`HttpClient::error`].
    Failed,
}

/// Why an [`HttpClient`] failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// The connection could not be opened (smoltcp refused or it was reset).
    Connect(String),
    /// The connection ended before response `index` was complete.
    Closed {
        /// Index of the request whose response was cut.
        index: usize,
        /// TCP state when it was noticed.
        state: String,
        /// Bytes of that response received.
        partial: usize,
    },
    /// A response was malformed or framed in a way the client does not support.
    BadResponse {
        /// Index of the request.
        index: usize,
        /// What was wrong.
        reason: String,
    },
    /// A response closed the connection while requests were left to send.
    ClosedByResponse {
        /// Index of the request whose response closed the connection.
        index: usize,
    },
}

/// An HTTP/1.1 client that opens one connection to `remote` and sends its requests on
/// it one at a time, each after the previous response is complete, or, with
/// [`HttpClient::pipelined`], in bursts written ahead of their responses.
#[derive(Debug)]
pub struct HttpClient {
    remote: SocketAddrV4,
    tcp: TcpConfig,
    requests: Vec<Request>,
    close_when_done: bool,
    handle: Option<SocketHandle>,
    local_port: Option<u16>,
    state: ClientState,
    error: Option<ClientError>,
    out: Vec<u8>,
    out_off: usize,
    rx: Vec<u8>,
    responses: Vec<Response>,
    started: u64,
    finished: Option<u64>,
    closed: bool,
    probe: PersistProbe,
    abort_after: Option<usize>,
    /// Pipelining: the sizes of the bursts of requests written ahead (the last one
    /// repeats); `None` sends one request per response.
    bursts: Option<Vec<usize>>,
    /// Pipelining: requests whose bytes were queued in `out`.
    queued: usize,
    /// Pipelining: the first request of the latest burst.
    burst_start: usize,
    /// Pipelining: bursts queued.
    bursts_queued: usize,
}

impl HttpClient {
    /// A client that will send `requests` to `remote`.
    pub fn new(remote: SocketAddrV4, requests: Vec<Request>) -> Self {
        assert!(!requests.is_empty(), "a client needs a request");
        HttpClient {
            remote,
            tcp: TcpConfig::default(),
            requests,
            close_when_done: true,
            handle: None,
            local_port: None,
            state: ClientState::Idle,
            error: None,
            out: Vec::new(),
            out_off: 0,
            rx: Vec::new(),
            responses: Vec::new(),
            started: 0,
            finished: None,
            closed: false,
            probe: PersistProbe::default(),
            abort_after: None,
            bursts: None,
            queued: 0,
            burst_start: 0,
            bursts_queued: 0,
        }
    }

    /// Pipelines the requests (HTTP/1.1 pipelining, RFC 9112 §9.3.2): once connected the
    /// client writes the first `bursts[0]` requests at once, then each next burst (sizes
    /// from `bursts` in turn, the last one repeated) as soon as the response to the
    /// first request of the burst before it has arrived, so that every burst joins
    /// requests still in flight. Responses are read as they come and matched to the
    /// requests in order; one that arrives before its request was written is an error.
    pub fn pipelined(mut self, bursts: &[usize]) -> Self {
        assert!(
            !bursts.is_empty() && bursts.iter().all(|&n| n > 0),
            "bursts of at least one request"
        );
        assert!(self.abort_after.is_none(), "abort_after is not pipelined");
        self.bursts = Some(bursts.to_vec());
        self
    }

    /// Resets the connection (RST) once `bytes` of the first response have arrived,
    /// like a browser whose user navigated away: the client then counts as done, with
    /// no response recorded.
    pub fn abort_after(mut self, bytes: usize) -> Self {
        assert!(self.bursts.is_none(), "abort_after is not pipelined");
        self.abort_after = Some(bytes);
        self
    }

    /// Whether the client reset its connection on purpose ([`HttpClient::abort_after`]).
    pub fn aborted(&self) -> bool {
        self.abort_after.is_some_and(|n| self.rx.len() >= n) && self.state == ClientState::Done
    }

    /// Uses `tcp` for the connection's socket.
    pub fn with_tcp(mut self, tcp: TcpConfig) -> Self {
        self.tcp = tcp;
        self
    }

    /// Leaves the connection open after the last response instead of closing it.
    pub fn keep_open(mut self) -> Self {
        self.close_when_done = false;
        self
    }

    /// Current state.
    pub fn state(&self) -> ClientState {
        self.state
    }

    /// True once every response arrived.
    pub fn is_done(&self) -> bool {
        self.state == ClientState::Done
    }

    /// True once the client is done or failed.
    pub fn is_finished(&self) -> bool {
        matches!(self.state, ClientState::Done | ClientState::Failed)
    }

    /// Why it failed, if it did.
    pub fn error(&self) -> Option<&ClientError> {
        self.error.as_ref()
    }

    /// Responses received so far, in request order.
    pub fn responses(&self) -> &[Response] {
        &self.responses
    }

    /// The requests, in order.
    pub fn requests(&self) -> &[Request] {
        &self.requests
    }

    /// The local port of the connection, once it was opened.
    pub fn local_port(&self) -> Option<u16> {
        self.local_port
    }

    /// Ticks from start to the last response, once done.
    pub fn elapsed_ticks(&self) -> Option<u64> {
        self.finished.map(|f| f - self.started)
    }

    /// True once the connection is fully closed (after a close the client started).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    fn fail(&mut self, e: ClientError, host: &mut Host) {
        self.state = ClientState::Failed;
        self.error = Some(e);
        self.finished = Some(host.tick());
        if let Some(h) = self.handle {
            host.tcp(h).abort();
        }
    }

    fn load_request(&mut self) {
        self.out = self.requests[self.responses.len()].encode();
        self.out_off = 0;
        self.state = ClientState::Sending;
    }

    /// Pipelining: queues the next burst of requests behind what is being written.
    fn queue_burst(&mut self) {
        let Some(bursts) = &self.bursts else { return };
        let size = bursts[self.bursts_queued.min(bursts.len() - 1)];
        let end = (self.queued + size).min(self.requests.len());
        if self.out_off == self.out.len() {
            self.out.clear();
            self.out_off = 0;
        }
        for r in &self.requests[self.queued..end] {
            self.out.extend_from_slice(&r.encode());
        }
        self.burst_start = self.queued;
        self.queued = end;
        self.bursts_queued += 1;
        self.state = ClientState::Sending;
    }

    /// One poll of a pipelining client with its connection established.
    fn poll_pipelined(&mut self, h: SocketHandle, host: &mut Host) {
        let tick = host.tick();
        let s = host.tcp(h);
        self.probe.poll(s, tick, self.tcp.persist_probe_ms);
        while s.can_recv() {
            let rx = &mut self.rx;
            let _ = s.recv(|buf| {
                rx.extend_from_slice(buf);
                (buf.len(), ())
            });
        }
        let eof = !s.may_recv();
        let tcp_state = s.state();
        loop {
            let index = self.responses.len();
            if index >= self.queued {
                if !self.rx.is_empty() {
                    let reason =
                        format!("{} bytes before request {index} was written", self.rx.len());
                    return self.fail(ClientError::BadResponse { index, reason }, host);
                }
                break;
            }
            let head = self.requests[index].is_head();
            match parse_response(&self.rx, head, eof) {
                Parsed::Incomplete if eof => {
                    let e = ClientError::Closed {
                        index,
                        state: tcp_state.to_string(),
                        partial: self.rx.len(),
                    };
                    return self.fail(e, host);
                }
                Parsed::Incomplete => break,
                Parsed::Invalid(reason) => {
                    return self.fail(ClientError::BadResponse { index, reason }, host)
                }
                Parsed::Complete(resp, used) => {
                    self.rx.drain(..used);
                    let closes = resp.closes_connection();
                    self.responses.push(resp);
                    if self.responses.len() == self.requests.len() {
                        self.state = ClientState::Done;
                        self.finished = Some(tick);
                        if self.close_when_done || closes {
                            host.tcp(h).close();
                        }
                        return;
                    }
                    if closes {
                        return self.fail(ClientError::ClosedByResponse { index }, host);
                    }
                    if index == self.burst_start && self.queued < self.requests.len() {
                        self.queue_burst();
                    }
                }
            }
        }
        let s = host.tcp(h);
        if self.out_off < self.out.len() && s.can_send() {
            let n = s.send_slice(&self.out[self.out_off..]).unwrap_or(0);
            self.out_off += n;
            self.probe.wrote(n);
        }
        if self.out_off == self.out.len() {
            self.out.clear();
            self.out_off = 0;
            self.state = ClientState::Receiving;
        } else if !s.may_send() {
            // The server closed its side with requests unwritten: what it answered
            // still counts, then the connection's end fails the rest.
            self.state = ClientState::Receiving;
        }
    }
}

impl App for HttpClient {
    fn start(&mut self, host: &mut Host) {
        let h = host.add_tcp_socket(&self.tcp);
        self.handle = Some(h);
        self.started = host.tick();
        match host.connect(h, self.remote) {
            Ok(port) => {
                self.local_port = Some(port);
                self.state = ClientState::Connecting;
            }
            Err(e) => self.fail(ClientError::Connect(e.to_string()), host),
        }
    }

    fn poll(&mut self, host: &mut Host) {
        let Some(h) = self.handle else { return };
        if self.state == ClientState::Connecting {
            let s = host.tcp(h);
            match s.state() {
                State::SynSent | State::SynReceived => return,
                State::Closed => {
                    return self.fail(ClientError::Connect("connection refused".into()), host)
                }
                _ if self.bursts.is_some() => self.queue_burst(),
                _ => self.load_request(),
            }
        }
        if matches!(self.state, ClientState::Done | ClientState::Failed) {
            if !self.closed && matches!(host.tcp(h).state(), State::Closed | State::TimeWait) {
                self.closed = true;
            }
            return;
        }
        if self.bursts.is_some() {
            return self.poll_pipelined(h, host);
        }
        let tick = host.tick();
        let s = host.tcp(h);
        self.probe.poll(s, tick, self.tcp.persist_probe_ms);
        while s.can_recv() {
            let rx = &mut self.rx;
            let _ = s.recv(|buf| {
                rx.extend_from_slice(buf);
                (buf.len(), ())
            });
        }
        if self.state == ClientState::Sending {
            if self.out_off < self.out.len() && s.can_send() {
                let n = s.send_slice(&self.out[self.out_off..]).unwrap_or(0);
                self.out_off += n;
                self.probe.wrote(n);
            }
            // A server may answer (and close) before reading the whole request, e.g.
            // with a 400; then the rest cannot be sent and the answer is what counts.
            if self.out_off == self.out.len() || !s.may_send() {
                self.state = ClientState::Receiving;
            }
        }
        if self.state != ClientState::Receiving {
            return;
        }
        if self.abort_after.is_some_and(|n| self.rx.len() >= n) {
            s.abort();
            self.state = ClientState::Done;
            self.finished = Some(tick);
            return;
        }
        let eof = !s.may_recv();
        let tcp_state = s.state();
        let index = self.responses.len();
        let head = self.requests[index].is_head();
        match parse_response(&self.rx, head, eof) {
            Parsed::Incomplete if eof => {
                let e = ClientError::Closed {
                    index,
                    state: tcp_state.to_string(),
                    partial: self.rx.len(),
                };
                self.fail(e, host);
            }
            Parsed::Incomplete => {}
            Parsed::Invalid(reason) => self.fail(ClientError::BadResponse { index, reason }, host),
            Parsed::Complete(resp, used) => {
                self.rx.drain(..used);
                let closes = resp.closes_connection();
                self.responses.push(resp);
                if self.responses.len() == self.requests.len() {
                    self.state = ClientState::Done;
                    self.finished = Some(host.tick());
                    if self.close_when_done || closes {
                        host.tcp(h).close();
                    }
                } else if closes {
                    self.fail(ClientError::ClosedByResponse { index }, host);
                } else {
                    // Bytes already received past this response belong to the next
                    // one and wait for it.
                    self.load_request();
                }
            }
        }
    }
}
