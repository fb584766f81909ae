//! HTTP/1.1 over smoltcp TCP sockets: a client that sends requests one after another on
//! one connection (or pipelines them, in bursts ahead of their responses), and a server
//! whose answers are a function of its name and the request target, so a test can tell
//! byte for byte whether a body arrived intact and from which server.
//!
//! Framing is `Content-Length` or, for responses without one, the end of the
//! connection. Chunked transfer coding is refused on both sides for now: the splice
//! engine's chunk parser will need its own peers when it comes.
//!
//! The server understands four query parameters on any target:
//!
//! * `bytes=N`: the body is `N` bytes of [`body`] (default: one line);
//! * `status=N`: the status code (204 and 304 have no body);
//! * `close=1`: the server closes the connection after the response;
//! * `delay_ms=N`: the server answers `N` ms (simulated) after it read the request, a
//!   slow backend (requests after it on the same connection wait their turn).

mod client;
mod server;

pub use client::{ClientError, ClientState, HttpClient};
pub use server::{Connection, HttpServer, ReceivedRequest};

/// Most headers either side parses in one message.
pub const MAX_HEADERS: usize = 64;

/// Longest message head either side waits for before calling the message invalid.
pub const MAX_HEAD: usize = 64 * 1024;

/// The body [`HttpServer`] `server` answers for `target` when the request asks for
/// `len` bytes (`None`: no `bytes=` parameter).
///
/// A sized body is made of lines that carry the server's name, the target and the
/// line's own offset in the body, so no two stretches of it are alike: a segment that
/// arrives at the wrong place, twice or from the wrong server shows in a comparison.
pub fn body(server: &str, target: &str, len: Option<usize>) -> Vec<u8> {
    let Some(len) = len else {
        return format!("{server} {target}\n").into_bytes();
    };
    let mut v = Vec::with_capacity(len + 128);
    while v.len() < len {
        let line = format!("{server} {target} @{:010}\n", v.len());
        v.extend_from_slice(line.as_bytes());
    }
    v.truncate(len);
    v
}

/// The body [`HttpServer`] `server` answers for a GET of `target`, reading `bytes=`
/// from the target as the server does.
pub fn expected_body(server: &str, target: &str) -> Vec<u8> {
    body(server, target, query_param(target, "bytes"))
}

/// The value of query parameter `name` in `target`, if present and a number.
pub(crate) fn query_param(target: &str, name: &str) -> Option<usize> {
    let (_, query) = target.split_once('?')?;
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| v.parse().ok()).flatten()
    })
}

/// An HTTP request for [`HttpClient`] to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    method: String,
    target: String,
    http10: bool,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    raw: Option<Vec<u8>>,
}

impl Request {
    fn new(method: &str, target: &str, body: Vec<u8>) -> Self {
        Request {
            method: method.to_string(),
            target: target.to_string(),
            http10: false,
            headers: vec![("Host".into(), "splicer.test".into())],
            body,
            raw: None,
        }
    }

    /// `GET target`.
    pub fn get(target: &str) -> Self {
        Request::new("GET", target, Vec::new())
    }

    /// `HEAD target`: the response has headers only.
    pub fn head(target: &str) -> Self {
        Request::new("HEAD", target, Vec::new())
    }

    /// `POST target` with `body`, framed by `Content-Length`.
    pub fn post(target: &str, body: Vec<u8>) -> Self {
        Request::new("POST", target, body)
    }

    /// Bytes sent exactly as given, for malformed or hostile requests. The client
    /// expects a response with a body unless the bytes start with `HEAD `.
    pub fn raw(bytes: Vec<u8>) -> Self {
        let mut r = Request::new("", "", Vec::new());
        r.method = if bytes.starts_with(b"HEAD ") {
            "HEAD".into()
        } else {
            String::new()
        };
        r.raw = Some(bytes);
        r
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Adds `Connection: close`.
    pub fn close(self) -> Self {
        self.header("Connection", "close")
    }

    /// Sends the request as HTTP/1.0 (which closes unless it says `Connection:
    /// keep-alive`).
    pub fn http10(mut self) -> Self {
        self.http10 = true;
        self
    }

    /// The method.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The request target.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The bytes on the wire.
    pub fn encode(&self) -> Vec<u8> {
        if let Some(raw) = &self.raw {
            return raw.clone();
        }
        let version = if self.http10 { "1.0" } else { "1.1" };
        let mut head = format!("{} {} HTTP/{version}\r\n", self.method, self.target);
        for (k, v) in &self.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        if !self.body.is_empty() || self.method == "POST" || self.method == "PUT" {
            head.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        out.extend_from_slice(&self.body);
        out
    }

    fn is_head(&self) -> bool {
        self.method == "HEAD"
    }
}

/// A response as [`HttpClient`] received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Minor version of the status line (`HTTP/1.x`).
    pub version: u8,
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// Headers in order; values that are not UTF-8 are converted lossily.
    pub headers: Vec<(String, String)>,
    /// The body, exactly as framed.
    pub body: Vec<u8>,
    /// The body was delimited by the end of the connection.
    pub close_delimited: bool,
}

impl Response {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// The connection cannot carry another request after this response.
    pub fn closes_connection(&self) -> bool {
        self.close_delimited || !keeps_alive(self.version, &self.headers)
    }
}

pub(crate) fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// HTTP/1.1 keeps a connection open unless it says `close`; HTTP/1.0 closes unless it
/// says `keep-alive`.
pub(crate) fn keeps_alive(version: u8, headers: &[(String, String)]) -> bool {
    let tokens = |want: &str| {
        headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("connection"))
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(want))
    };
    if version == 0 {
        tokens("keep-alive")
    } else {
        !tokens("close")
    }
}

/// The one `Content-Length` of a message: `Ok(None)` when absent, an error when it is
/// malformed, repeated with different values, or accompanied by `Transfer-Encoding`.
pub(crate) fn content_length(headers: &[(String, String)]) -> Result<Option<usize>, String> {
    if header(headers, "transfer-encoding").is_some() {
        return Err("Transfer-Encoding is not supported".into());
    }
    let mut found: Option<usize> = None;
    for (_, v) in headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
    {
        let n: usize = v
            .trim()
            .parse()
            .map_err(|_| format!("bad Content-Length {v:?}"))?;
        if found.is_some_and(|f| f != n) {
            return Err("conflicting Content-Length".into());
        }
        found = Some(n);
    }
    Ok(found)
}

pub(crate) fn collect_headers(raw: &[httparse::Header<'_>]) -> Vec<(String, String)> {
    raw.iter()
        .map(|h| {
            (
                h.name.to_string(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect()
}

/// Result of trying to parse one message from the front of a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed<T> {
    /// More bytes are needed.
    Incomplete,
    /// A whole message, and how many bytes of the buffer it took.
    Complete(T, usize),
    /// The bytes cannot be a valid message.
    Invalid(String),
}

/// Parses one response from the front of `buf`. `head_request` says the request was
/// HEAD (no body whatever the headers say); `eof` that the peer closed, which completes a
/// response that has no `Content-Length`. Interim (1xx) responses are skipped.
pub fn parse_response(buf: &[u8], head_request: bool, eof: bool) -> Parsed<Response> {
    let mut start = 0;
    loop {
        let mut raw = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut r = httparse::Response::new(&mut raw);
        let head_len = match r.parse(&buf[start..]) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) if eof => {
                return Parsed::Invalid("connection closed inside a response head".into())
            }
            Ok(httparse::Status::Partial) if buf.len() - start > MAX_HEAD => {
                return Parsed::Invalid("response head too long".into())
            }
            Ok(httparse::Status::Partial) => return Parsed::Incomplete,
            Err(e) => return Parsed::Invalid(format!("bad response head: {e}")),
        };
        let status = r.code.unwrap_or(0);
        let headers = collect_headers(r.headers);
        let mut resp = Response {
            version: r.version.unwrap_or(1),
            status,
            reason: r.reason.unwrap_or("").to_string(),
            headers,
            body: Vec::new(),
            close_delimited: false,
        };
        let body_start = start + head_len;
        if (100..200).contains(&status) {
            start = body_start;
            continue;
        }
        if head_request || status == 204 || status == 304 {
            return Parsed::Complete(resp, body_start);
        }
        match content_length(&resp.headers) {
            Err(e) => return Parsed::Invalid(e),
            Ok(Some(n)) => {
                if buf.len() - body_start < n {
                    return if eof {
                        Parsed::Invalid(format!(
                            "connection closed after {} of {n} body bytes",
                            buf.len() - body_start
                        ))
                    } else {
                        Parsed::Incomplete
                    };
                }
                resp.body = buf[body_start..body_start + n].to_vec();
                return Parsed::Complete(resp, body_start + n);
            }
            Ok(None) if eof => {
                resp.body = buf[body_start..].to_vec();
                resp.close_delimited = true;
                return Parsed::Complete(resp, buf.len());
            }
            Ok(None) => return Parsed::Incomplete,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sized_bodies_are_exact_and_never_repeat() {
        let b = body("s1", "/x?bytes=100000", Some(100_000));
        assert_eq!(b.len(), 100_000);
        assert!(b.starts_with(b"s1 /x?bytes=100000 @0000000000\n"));
        // Any 64-byte window occurs once: a misplaced copy of a segment is visible.
        let mut seen = std::collections::HashSet::new();
        for w in b.chunks(64) {
            assert!(seen.insert(w));
        }
        assert_eq!(expected_body("s1", "/x?bytes=100000"), b);
        assert_eq!(expected_body("s2", "/y"), b"s2 /y\n");
        assert_eq!(query_param("/a?close=1&bytes=7", "bytes"), Some(7));
        assert_eq!(query_param("/a?bytes=x", "bytes"), None);
    }

    #[test]
    fn requests_encode_with_framing() {
        let r = Request::post("/up", b"abc".to_vec()).close().encode();
        assert_eq!(
            r,
            b"POST /up HTTP/1.1\r\nHost: splicer.test\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc"
        );
        let r = Request::get("/").http10().encode();
        assert!(r.starts_with(b"GET / HTTP/1.0\r\n"));
        assert!(Request::raw(b"HEAD / HTTP/1.1\r\n\r\n".to_vec()).is_head());
    }

    #[test]
    fn responses_are_framed_by_length_or_close() {
        let msg = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1";
        match parse_response(msg, false, false) {
            Parsed::Complete(r, used) => {
                assert_eq!((r.status, &r.body[..], used), (200, &b"abc"[..], 41));
                assert!(!r.closes_connection());
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(parse_response(&msg[..40], false, false), Parsed::Incomplete);
        assert!(matches!(
            parse_response(&msg[..40], false, true),
            Parsed::Invalid(_)
        ));
        let close = b"HTTP/1.0 200 OK\r\n\r\nto the end";
        assert_eq!(parse_response(close, false, false), Parsed::Incomplete);
        match parse_response(close, false, true) {
            Parsed::Complete(r, _) => {
                assert_eq!(r.body, b"to the end");
                assert!(r.closes_connection());
            }
            other => panic!("{other:?}"),
        }
        let interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n";
        match parse_response(interim, false, false) {
            Parsed::Complete(r, used) => assert_eq!((r.status, used), (204, interim.len())),
            other => panic!("{other:?}"),
        }
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n";
        assert!(matches!(
            parse_response(head, true, false),
            Parsed::Complete(_, n) if n == head.len()
        ));
        let smuggle = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab";
        assert!(matches!(
            parse_response(smuggle, false, false),
            Parsed::Invalid(_)
        ));
    }

    #[test]
    fn keep_alive_rules() {
        let h = |v: &str| vec![("Connection".to_string(), v.to_string())];
        assert!(keeps_alive(1, &[]));
        assert!(!keeps_alive(1, &h("close")));
        assert!(!keeps_alive(0, &[]));
        assert!(keeps_alive(0, &h("Keep-Alive")));
        assert!(!keeps_alive(1, &h("foo, close")));
    }
}
