//! Strict parsing of an HTTP/1.x request head, as received on a client connection.
//!
//! Splicer reads a request head before it has chosen a server (delayed binding), forwards
//! the client's bytes unchanged, and afterwards only counts bytes. Whatever it decides
//! about where the head ends and how long the body is must therefore be exactly what the
//! server will decide; any request two parsers could read differently is refused rather
//! than forwarded (request smuggling is the classic hole of content switches). The
//! policy, request by request:
//!
//! | request | answer | [`Refusal`] |
//! |---|---|---|
//! | request line or header syntax httparse rejects; bare LF line ends; obs-fold; whitespace before a colon | 400 | [`Refusal::Malformed`] |
//! | request-target not in origin-form, absolute-form (`http`/`https`) or `*` (for OPTIONS) | 400 | [`Refusal::BadTarget`] |
//! | HTTP/1.1 without `Host` | 400 | [`Refusal::MissingHost`] |
//! | several `Host`, an invalid one, or one that disagrees with an absolute-form target | 400 | [`Refusal::BadHost`] |
//! | both `Content-Length` and `Transfer-Encoding` | 400 | [`Refusal::ContentLengthAndTransferEncoding`] |
//! | `Content-Length` not 1*DIGIT, or overflowing `u64` | 400 | [`Refusal::InvalidContentLength`] |
//! | several `Content-Length` values that differ | 400 | [`Refusal::ConflictingContentLength`] |
//! | `Transfer-Encoding` whose last coding is not `chunked`, `chunked` twice, an empty one, or any in HTTP/1.0 | 400 | [`Refusal::InvalidTransferEncoding`] |
//! | `Transfer-Encoding` with a coding before `chunked` (`gzip, chunked`) | 501 | [`Refusal::UnsupportedTransferCoding`] |
//! | `CONNECT` | 501 | [`Refusal::Connect`] |
//! | `Upgrade` header or `Connection: upgrade` (websocket, h2c), unless [`ParseOptions::allow_upgrade`] | 501 | [`Refusal::Upgrade`] |
//! | `Expect` other than `100-continue` in HTTP/1.1 | 417 | [`Refusal::UnsupportedExpectation`] |
//! | head longer than the limit | 431 | [`Refusal::HeadTooLarge`] |
//! | more than [`MAX_HEADERS`] header fields | 431 | [`Refusal::TooManyHeaders`] |
//! | the HTTP/2 connection preface `PRI * HTTP/2.0` | 505 | [`Refusal::Http2Preface`] |
//! | any other `HTTP/x.y` than 1.0 and 1.1 | 505 | [`Refusal::UnsupportedVersion`] |
//!
//! `gzip, chunked` is framed unambiguously by its last coding, but few servers behind a
//! load balancer implement request transfer codings; RFC 9112 §6.1 says to answer a coding
//! the server does not understand with 501, so Splicer does that instead of forwarding a
//! body the server would reject halfway. The HTTP/2 preface gets 505 rather than 400
//! because it is a well-formed request for a version Splicer does not speak; a client with
//! prior knowledge sees the connection close either way, and the counter tells an operator
//! that such clients exist. CONNECT and upgrades are 501 because after them the connection
//! stops being HTTP/1.x and Splicer could no longer frame it; a later change may tunnel
//! them.

use core::fmt;
use core::ops::Range;

/// How many header fields a request head may have before it is refused with 431.
pub const MAX_HEADERS: usize = 96;

/// The request method. Methods are case-sensitive (RFC 9110 §9.1): `get` is [`Method::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`
    Get,
    /// `HEAD`: its response never has a body, whatever its headers say.
    Head,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
    /// `OPTIONS`
    Options,
    /// `PATCH`
    Patch,
    /// `TRACE`
    Trace,
    /// `CONNECT` (always refused by the parser, kept so that rules and stats can name it).
    Connect,
    /// Any other token; the raw token is [`RequestHead::method_str`].
    Other,
}

impl Method {
    /// Classifies a method token.
    pub fn from_token(token: &str) -> Method {
        match token {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            "PATCH" => Method::Patch,
            "TRACE" => Method::Trace,
            "CONNECT" => Method::Connect,
            _ => Method::Other,
        }
    }

    /// The canonical token, or `None` for [`Method::Other`].
    pub fn as_str(self) -> Option<&'static str> {
        Some(match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Patch => "PATCH",
            Method::Trace => "TRACE",
            Method::Connect => "CONNECT",
            Method::Other => return None,
        })
    }
}

/// How the request body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BodyLength {
    /// No body: neither `Content-Length` nor `Transfer-Encoding`, or `Content-Length: 0`.
    None,
    /// Exactly this many bytes (never 0) follow the head.
    Fixed(u64),
    /// A chunked body follows; frame it with [`crate::body::BodyFramer::for_request`].
    Chunked,
}

/// Why a request head is refused. Splicer answers with [`Refusal::status`] and closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// Request line or header syntax is invalid (including bare LF, obs-fold, a space
    /// before a colon).
    Malformed,
    /// The request-target form is invalid or not allowed with this method.
    BadTarget,
    /// HTTP/1.1 request without a `Host` header.
    MissingHost,
    /// Several `Host` headers, an empty or invalid one, userinfo in an absolute-form
    /// target, or a `Host` that names another host than an absolute-form target.
    BadHost,
    /// The head did not end within the limit.
    HeadTooLarge,
    /// More than [`MAX_HEADERS`] header fields.
    TooManyHeaders,
    /// Both `Content-Length` and `Transfer-Encoding`.
    ContentLengthAndTransferEncoding,
    /// A `Content-Length` that is not a plain decimal number fitting in `u64`.
    InvalidContentLength,
    /// Several `Content-Length` values that differ.
    ConflictingContentLength,
    /// `Transfer-Encoding` whose body length cannot be determined: last coding not
    /// `chunked`, `chunked` applied twice, an empty list, or any `Transfer-Encoding` in an
    /// HTTP/1.0 request.
    InvalidTransferEncoding,
    /// A transfer coding other than `chunked` before the final `chunked`.
    UnsupportedTransferCoding,
    /// The `CONNECT` method.
    Connect,
    /// A protocol upgrade (`Upgrade` header or `Connection: upgrade`).
    Upgrade,
    /// An `Expect` value other than `100-continue`.
    UnsupportedExpectation,
    /// The HTTP/2 connection preface (`PRI * HTTP/2.0`).
    Http2Preface,
    /// An HTTP version other than 1.0 and 1.1.
    UnsupportedVersion,
}

impl Refusal {
    /// The status code of the response Splicer sends.
    pub fn status(self) -> u16 {
        match self {
            Refusal::Malformed
            | Refusal::BadTarget
            | Refusal::MissingHost
            | Refusal::BadHost
            | Refusal::ContentLengthAndTransferEncoding
            | Refusal::InvalidContentLength
            | Refusal::ConflictingContentLength
            | Refusal::InvalidTransferEncoding => 400,
            Refusal::UnsupportedExpectation => 417,
            Refusal::HeadTooLarge | Refusal::TooManyHeaders => 431,
            Refusal::UnsupportedTransferCoding | Refusal::Connect | Refusal::Upgrade => 501,
            Refusal::Http2Preface | Refusal::UnsupportedVersion => 505,
        }
    }

    /// The reason phrase that goes with [`Refusal::status`].
    pub fn reason(self) -> &'static str {
        crate::reply::reason_phrase(self.status())
    }

    /// The name of the counter this refusal increments. Stable: dashboards depend on it.
    /// Several refusals share a counter; [`Refusal::detail`] tells them apart in logs.
    pub fn counter_name(self) -> &'static str {
        match self {
            Refusal::Malformed | Refusal::BadTarget | Refusal::MissingHost | Refusal::BadHost => {
                "refused_bad_request"
            }
            Refusal::HeadTooLarge | Refusal::TooManyHeaders => "refused_head_too_large",
            Refusal::ContentLengthAndTransferEncoding
            | Refusal::InvalidContentLength
            | Refusal::ConflictingContentLength
            | Refusal::InvalidTransferEncoding => "refused_smuggling",
            Refusal::UnsupportedTransferCoding | Refusal::Connect | Refusal::Upgrade => {
                "refused_not_implemented"
            }
            Refusal::UnsupportedExpectation => "refused_expectation",
            Refusal::Http2Preface | Refusal::UnsupportedVersion => "refused_version",
        }
    }

    /// A short human-readable explanation for logs.
    pub fn detail(self) -> &'static str {
        match self {
            Refusal::Malformed => "malformed request line or header",
            Refusal::BadTarget => "invalid request-target",
            Refusal::MissingHost => "HTTP/1.1 request without Host",
            Refusal::BadHost => "invalid, repeated or contradicting Host",
            Refusal::HeadTooLarge => "request head too large",
            Refusal::TooManyHeaders => "too many header fields",
            Refusal::ContentLengthAndTransferEncoding => {
                "both Content-Length and Transfer-Encoding"
            }
            Refusal::InvalidContentLength => "invalid Content-Length",
            Refusal::ConflictingContentLength => "conflicting Content-Length values",
            Refusal::InvalidTransferEncoding => "Transfer-Encoding without a final chunked",
            Refusal::UnsupportedTransferCoding => "transfer coding other than chunked",
            Refusal::Connect => "CONNECT is not supported",
            Refusal::Upgrade => "protocol upgrade is not supported",
            Refusal::UnsupportedExpectation => "unsupported Expect",
            Refusal::Http2Preface => "HTTP/2 connection preface",
            Refusal::UnsupportedVersion => "unsupported HTTP version",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status(), self.reason(), self.detail())
    }
}

impl std::error::Error for Refusal {}

/// The outcome of [`parse_head`] on the bytes received so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadStatus {
    /// The head has not ended yet and is still within the limit: wait for more bytes.
    Partial,
    /// A valid head; its bytes are `buf[..head.head_len()]`, what follows is body or the
    /// next pipelined request.
    Complete(RequestHead),
    /// The request is refused; answer with the refusal's status and close.
    Rejected(Refusal),
}

/// Parser settings beyond the head size limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseOptions {
    /// The largest head accepted, in bytes, counting the final blank line.
    pub max_head: usize,
    /// Accept `Upgrade` requests (reported by [`RequestHead::upgrade`]) instead of
    /// refusing them with 501. Only for a caller that can tunnel the connection after a
    /// `101 Switching Protocols`.
    pub allow_upgrade: bool,
}

impl ParseOptions {
    /// The strict defaults with the given head limit.
    pub fn new(max_head: usize) -> Self {
        ParseOptions {
            max_head,
            allow_upgrade: false,
        }
    }
}

/// Byte offsets of one header field inside [`RequestHead::raw`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FieldSpan {
    name: (u32, u32),
    value: (u32, u32),
}

/// A parsed, validated request head.
///
/// It owns a copy of the head bytes so that content rules can look at any header after
/// the receive buffer has moved on; a head is parsed once per request, so this one
/// allocation is off the per-packet path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    raw: Box<[u8]>,
    method: Method,
    method_span: Range<usize>,
    target: Range<usize>,
    /// The origin-form part of the target (path and query), also for absolute-form.
    origin: Range<usize>,
    /// Replaces `origin` when an absolute-form target has an empty path.
    synthetic_origin: Option<Box<str>>,
    /// Length of the path inside the path and query (up to `?`).
    path_len: usize,
    host: String,
    version: u8,
    request_line_end: usize,
    body: BodyLength,
    keep_alive: bool,
    connection_close: bool,
    connection_header: bool,
    expect_continue: bool,
    upgrade: bool,
    fields: Vec<FieldSpan>,
}

impl RequestHead {
    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The method token as sent (useful for [`Method::Other`]).
    pub fn method_str(&self) -> &str {
        self.str_at(self.method_span.clone())
    }

    /// The request-target exactly as sent.
    pub fn target(&self) -> &str {
        self.str_at(self.target.clone())
    }

    /// The path and query of the target, as sent (no percent-decoding). For an
    /// absolute-form target `http://h/p?q` this is `/p?q` (`/` when the path is empty);
    /// for `OPTIONS *` it is `*`.
    pub fn path_and_query(&self) -> &str {
        match &self.synthetic_origin {
            Some(s) => s,
            None => self.str_at(self.origin.clone()),
        }
    }

    /// The path without the query string, as sent (no percent-decoding).
    pub fn path(&self) -> &str {
        let pq = self.path_and_query();
        pq.get(..self.path_len).unwrap_or(pq)
    }

    /// The query string without its `?`, if the target has one.
    pub fn query(&self) -> Option<&str> {
        let po = self.path_and_query();
        po.get(self.path_len..)
            .and_then(|rest| rest.strip_prefix('?'))
    }

    /// The host the request is for: the authority of an absolute-form target, else the
    /// `Host` header; lowercased, without port. Empty for an HTTP/1.0 request with neither.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The minor version: 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub fn version(&self) -> u8 {
        self.version
    }

    /// Bytes from the start of the buffer up to and including the blank line that ends
    /// the head.
    pub fn head_len(&self) -> usize {
        self.raw.len()
    }

    /// Bytes from the start of the buffer up to and including the request line's CRLF
    /// (leading empty lines, which RFC 9112 §2.2 lets a server skip, are counted).
    pub fn request_line_len(&self) -> usize {
        self.request_line_end
    }

    /// How the body is delimited.
    pub fn body(&self) -> BodyLength {
        self.body
    }

    /// Whether the client wants the connection kept open after the response: HTTP/1.1
    /// unless `Connection: close`, HTTP/1.0 only with `Connection: keep-alive` (and no
    /// `close`).
    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// Whether a `Connection` header carries the `close` token.
    pub fn connection_close(&self) -> bool {
        self.connection_close
    }

    /// Whether the head has any `Connection` header.
    pub fn has_connection_header(&self) -> bool {
        self.connection_header
    }

    /// `Expect: 100-continue` on an HTTP/1.1 request (RFC 9110 §10.1.1 says to ignore it
    /// in HTTP/1.0).
    pub fn expect_continue(&self) -> bool {
        self.expect_continue
    }

    /// An upgrade was requested; only ever true with [`ParseOptions::allow_upgrade`],
    /// because otherwise such requests are refused.
    pub fn upgrade(&self) -> bool {
        self.upgrade
    }

    /// The head bytes, as received.
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The value of the first header field called `name` (ASCII case-insensitive), with
    /// surrounding whitespace removed.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.header_values(name).next()
    }

    /// The values of every header field called `name`, in order.
    pub fn header_values<'a, 'n>(&'a self, name: &'n str) -> impl Iterator<Item = &'a [u8]> + 'n
    where
        'a: 'n,
    {
        self.headers()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Every header field as (name as sent, value), in order.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> + '_ {
        self.fields.iter().map(move |f| {
            let name = self.str_at(f.name.0 as usize..f.name.1 as usize);
            (name, &self.raw[f.value.0 as usize..f.value.1 as usize])
        })
    }

    fn str_at(&self, r: Range<usize>) -> &str {
        // Every span handed out was a `&str` from httparse (validated UTF-8) when stored.
        core::str::from_utf8(&self.raw[r]).unwrap_or("")
    }
}

/// Parses the bytes received so far on a client connection with the strict defaults and
/// a head limit of `max_head` bytes. See [`parse_head_with`].
pub fn parse_head(buf: &[u8], max_head: usize) -> HeadStatus {
    parse_head_with(buf, &ParseOptions::new(max_head))
}

/// Parses the bytes received so far on a client connection.
///
/// `buf` starts at the first byte of the request and may hold more than the head (body
/// bytes, further pipelined requests). Allocates only for a complete, valid head.
pub fn parse_head_with(buf: &[u8], opts: &ParseOptions) -> HeadStatus {
    // Parsing only up to the limit makes the cost of a hostile client that never ends
    // its head O(max_head) per call, however much it sends.
    let window = &buf[..buf.len().min(opts.max_head)];
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(window) {
        Ok(httparse::Status::Partial) => {
            if let Some(r) = early_version_refusal(window) {
                return HeadStatus::Rejected(r);
            }
            if buf.len() >= opts.max_head {
                HeadStatus::Rejected(Refusal::HeadTooLarge)
            } else {
                HeadStatus::Partial
            }
        }
        Ok(httparse::Status::Complete(len)) => match validate(buf, len, &req, opts) {
            Ok(head) => HeadStatus::Complete(head),
            Err(r) => HeadStatus::Rejected(r),
        },
        Err(httparse::Error::TooManyHeaders) => HeadStatus::Rejected(Refusal::TooManyHeaders),
        Err(httparse::Error::Version) => HeadStatus::Rejected(version_refusal(window)),
        Err(_) => HeadStatus::Rejected(Refusal::Malformed),
    }
}

/// The three space-separated parts of the request line, after skipped empty lines.
fn request_line_parts(buf: &[u8]) -> (&[u8], &[u8], &[u8]) {
    let mut start = 0;
    while buf[start..].starts_with(b"\r\n") {
        start += 2;
    }
    let line = &buf[start..];
    let end = line
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(line.len());
    let line = &line[..end];
    let mut parts = line.splitn(3, |&b| b == b' ');
    let method = parts.next().unwrap_or(b"");
    let target = parts.next().unwrap_or(b"");
    let version = parts.next().unwrap_or(b"");
    (method, target, version)
}

/// httparse rejects every version but 1.0 and 1.1 with the same error; tell a request
/// for another HTTP version (505) from garbage (400).
fn version_refusal(buf: &[u8]) -> Refusal {
    let (method, target, version) = request_line_parts(buf);
    if method == b"PRI" && target == b"*" && version.starts_with(b"HTTP/2") {
        return Refusal::Http2Preface;
    }
    match version {
        [b'H', b'T', b'T', b'P', b'/', d, ..] if d.is_ascii_digit() => Refusal::UnsupportedVersion,
        _ => Refusal::Malformed,
    }
}

/// httparse reports a partial request line such as `GET / HTTP/` as `Partial`; once the
/// version is visibly wrong there is no point in waiting for the rest.
fn early_version_refusal(buf: &[u8]) -> Option<Refusal> {
    let (_, _, version) = request_line_parts(buf);
    match version {
        [b'H', b'T', b'T', b'P', b'/', d, ..] if *d != b'1' => Some(version_refusal(buf)),
        _ => None,
    }
}

/// Where `part`, a subslice of `buf` handed out by httparse, starts in `buf`.
fn offset_in(buf: &[u8], part: &[u8]) -> usize {
    let off = (part.as_ptr() as usize).wrapping_sub(buf.as_ptr() as usize);
    if off <= buf.len() && part.len() <= buf.len() - off {
        off
    } else {
        // Only an empty slice could come from elsewhere (a static ""): any offset
        // gives the same empty span.
        debug_assert!(part.is_empty());
        0
    }
}

fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// Splits a comma-separated header value into trimmed, non-empty elements.
pub(crate) fn list_elements(v: &[u8]) -> impl Iterator<Item = &[u8]> {
    v.split(|&b| b == b',')
        .map(trim_ows)
        .filter(|e| !e.is_empty())
}

fn validate(
    buf: &[u8],
    len: usize,
    req: &httparse::Request<'_, '_>,
    opts: &ParseOptions,
) -> Result<RequestHead, Refusal> {
    let head = &buf[..len];

    // httparse accepts a bare LF as a line end; a server that does not would see one
    // long header where Splicer saw two, which is enough to hide a second request.
    if head
        .iter()
        .enumerate()
        .any(|(i, &b)| b == b'\n' && (i == 0 || head[i - 1] != b'\r'))
    {
        return Err(Refusal::Malformed);
    }

    let method_str = req.method.unwrap_or("");
    let target_str = req.path.unwrap_or("");
    let version = req.version.unwrap_or(1);
    let method = Method::from_token(method_str);
    if method == Method::Connect {
        return Err(Refusal::Connect);
    }
    let method_start = offset_in(buf, method_str.as_bytes());
    let method_span = method_start..method_start + method_str.len();
    let target_start = offset_in(buf, target_str.as_bytes());
    let target = target_start..target_start + target_str.len();
    let request_line_end = head[target.end..]
        .iter()
        .position(|&b| b == b'\n')
        .map(|p| target.end + p + 1)
        .unwrap_or(len);

    // Request-target form (RFC 9112 §3.2).
    let tb = target_str.as_bytes();
    let (origin, authority): (Range<usize>, Option<&[u8]>) = if tb.first() == Some(&b'/') {
        (target.clone(), None)
    } else if tb == b"*" {
        if method != Method::Options {
            return Err(Refusal::BadTarget);
        }
        (target.clone(), None)
    } else if let Some(after_scheme) = strip_scheme(tb) {
        let auth_len = after_scheme
            .iter()
            .position(|&b| b == b'/' || b == b'?' || b == b'#')
            .unwrap_or(after_scheme.len());
        let authority = &after_scheme[..auth_len];
        if authority.is_empty() {
            return Err(Refusal::BadTarget);
        }
        if authority.contains(&b'@') {
            // userinfo is deprecated for http(s) and a classic way to make two parsers
            // disagree about which host is meant.
            return Err(Refusal::BadHost);
        }
        let origin_start = target.start + (tb.len() - after_scheme.len()) + auth_len;
        (origin_start..target.end, Some(authority))
    } else {
        return Err(Refusal::BadTarget);
    };
    let origin_bytes = &buf[origin.clone()];
    if origin_bytes.contains(&b'#') {
        // A fragment is never sent (RFC 9110 §4.2.4); a target with one is not a valid
        // request-target, and rules would see a different path than some servers.
        return Err(Refusal::BadTarget);
    }
    let path_len = origin_bytes
        .iter()
        .position(|&b| b == b'?')
        .unwrap_or(origin_bytes.len());

    let mut host_header: Option<&[u8]> = None;
    let mut content_length: Option<u64> = None;
    let mut te_seen = false;
    let mut te_codings = 0usize;
    let mut te_chunked_count = 0usize;
    let mut te_last_chunked = false;
    let mut connection_header = false;
    let mut connection_close = false;
    let mut connection_keep_alive = false;
    let mut connection_upgrade = false;
    let mut upgrade_header = false;
    let mut expect_continue = false;
    let mut fields = Vec::with_capacity(req.headers.len());

    for h in req.headers.iter() {
        let name_start = offset_in(buf, h.name.as_bytes());
        let value_start = offset_in(buf, h.value);
        fields.push(FieldSpan {
            name: (name_start as u32, (name_start + h.name.len()) as u32),
            value: (value_start as u32, (value_start + h.value.len()) as u32),
        });
        let name = h.name;
        let value = trim_ows(h.value);
        if name.eq_ignore_ascii_case("host") {
            if host_header.is_some() {
                return Err(Refusal::BadHost);
            }
            host_header = Some(value);
        } else if name.eq_ignore_ascii_case("content-length") {
            // RFC 9110 §8.6 lets a recipient accept a list of identical values; anything
            // else is ambiguous.
            if value.is_empty() {
                return Err(Refusal::InvalidContentLength);
            }
            for element in value.split(|&b| b == b',') {
                let n = parse_decimal(trim_ows(element)).ok_or(Refusal::InvalidContentLength)?;
                match content_length {
                    Some(prev) if prev != n => return Err(Refusal::ConflictingContentLength),
                    _ => content_length = Some(n),
                }
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            te_seen = true;
            for coding in value.split(|&b| b == b',') {
                let coding = trim_ows(coding);
                if coding.is_empty() {
                    continue;
                }
                te_codings += 1;
                te_last_chunked = coding.eq_ignore_ascii_case(b"chunked");
                if te_last_chunked {
                    te_chunked_count += 1;
                }
            }
        } else if name.eq_ignore_ascii_case("connection") {
            connection_header = true;
            for token in list_elements(value) {
                if token.eq_ignore_ascii_case(b"close") {
                    connection_close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    connection_keep_alive = true;
                } else if token.eq_ignore_ascii_case(b"upgrade") {
                    connection_upgrade = true;
                }
            }
        } else if name.eq_ignore_ascii_case("upgrade") {
            upgrade_header |= !value.is_empty();
        } else if name.eq_ignore_ascii_case("expect") && version == 1 {
            if value.eq_ignore_ascii_case(b"100-continue") {
                expect_continue = true;
            } else {
                return Err(Refusal::UnsupportedExpectation);
            }
        }
    }

    let body = if te_seen {
        if content_length.is_some() {
            return Err(Refusal::ContentLengthAndTransferEncoding);
        }
        // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means the framing is faulty.
        if version == 0 || te_codings == 0 || !te_last_chunked || te_chunked_count > 1 {
            return Err(Refusal::InvalidTransferEncoding);
        }
        if te_codings > 1 {
            return Err(Refusal::UnsupportedTransferCoding);
        }
        BodyLength::Chunked
    } else {
        match content_length {
            None | Some(0) => BodyLength::None,
            Some(n) => BodyLength::Fixed(n),
        }
    };

    let upgrade = upgrade_header || connection_upgrade;
    if upgrade && !opts.allow_upgrade {
        return Err(Refusal::Upgrade);
    }

    let host_from_header = match host_header {
        Some(h) => Some(parse_host(h).ok_or(Refusal::BadHost)?),
        None => None,
    };
    let host = match authority {
        Some(auth) => {
            let from_target = parse_host(auth).ok_or(Refusal::BadHost)?;
            if let Some(hh) = host_from_header {
                if !hh.eq_ignore_ascii_case(from_target) {
                    return Err(Refusal::BadHost);
                }
            }
            if version == 1 && host_header.is_none() {
                return Err(Refusal::MissingHost);
            }
            from_target
        }
        None => match host_from_header {
            Some(h) => h,
            None if version == 1 => return Err(Refusal::MissingHost),
            None => "",
        },
    };

    let keep_alive = !connection_close && (version == 1 || connection_keep_alive);

    // `http://h` and `http://h?q` have an empty path, which means `/` (RFC 9110 §4.2.1);
    // the head has no such byte to point at.
    let synthetic_origin = (authority.is_some() && path_len == 0)
        .then(|| format!("/{}", String::from_utf8_lossy(origin_bytes)).into_boxed_str());
    let path_len = if synthetic_origin.is_some() {
        1
    } else {
        path_len
    };

    Ok(RequestHead {
        raw: head.to_vec().into_boxed_slice(),
        method,
        method_span,
        target,
        origin,
        synthetic_origin,
        path_len,
        host: host.to_ascii_lowercase(),
        version,
        request_line_end,
        body,
        keep_alive,
        connection_close,
        connection_header,
        expect_continue,
        upgrade,
        fields,
    })
}

fn strip_scheme(t: &[u8]) -> Option<&[u8]> {
    for scheme in [&b"http://"[..], &b"https://"[..]] {
        if t.len() >= scheme.len() && t[..scheme.len()].eq_ignore_ascii_case(scheme) {
            return Some(&t[scheme.len()..]);
        }
    }
    None
}

/// 1*DIGIT, fitting in u64; no sign, no spaces, no hex.
fn parse_decimal(v: &[u8]) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &b in v {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    Some(n)
}

/// Validates `uri-host [ ":" port ]` and returns the host without the port.
fn parse_host(v: &[u8]) -> Option<&str> {
    let (host, port): (&[u8], &[u8]) = if v.first() == Some(&b'[') {
        let close = v.iter().position(|&b| b == b']')?;
        let literal = &v[1..close];
        if literal.is_empty()
            || !literal
                .iter()
                .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return None;
        }
        match &v[close + 1..] {
            [] => (&v[..=close], &[][..]),
            [b':', port @ ..] => (&v[..=close], port),
            _ => return None,
        }
    } else {
        match v.iter().position(|&b| b == b':') {
            Some(c) => (&v[..c], &v[c + 1..]),
            None => (v, &[][..]),
        }
    };
    if host.is_empty() || !port.iter().all(u8::is_ascii_digit) || port.len() > 5 {
        return None;
    }
    if host[0] != b'['
        && !host.iter().all(|&b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'.'
                        | b'_'
                        | b'~'
                        | b'%'
                        | b'!'
                        | b'$'
                        | b'&'
                        | b'\''
                        | b'('
                        | b')'
                        | b'*'
                        | b'+'
                        | b','
                        | b';'
                        | b'='
                )
        })
    {
        return None;
    }
    core::str::from_utf8(host).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = 8192;

    fn complete(req: &[u8]) -> RequestHead {
        match parse_head(req, MAX) {
            HeadStatus::Complete(h) => h,
            other => panic!(
                "expected a complete head for {:?}, got {other:?}",
                show(req)
            ),
        }
    }

    fn refused(req: &[u8]) -> Refusal {
        match parse_head(req, MAX) {
            HeadStatus::Rejected(r) => r,
            other => panic!("expected a refusal for {:?}, got {other:?}", show(req)),
        }
    }

    fn show(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    fn with_headers(version: &str, headers: &str) -> Vec<u8> {
        format!("POST /x HTTP/{version}\r\nHost: a\r\n{headers}\r\n").into_bytes()
    }

    #[test]
    fn simple_get() {
        let req = b"GET /images/logo.gif?size=2&x=1 HTTP/1.1\r\nHost: WWW.Acme.COM:8080\r\nUser-Agent: t\r\n\r\n";
        let h = complete(req);
        assert_eq!(h.method(), Method::Get);
        assert_eq!(h.method_str(), "GET");
        assert_eq!(h.target(), "/images/logo.gif?size=2&x=1");
        assert_eq!(h.path(), "/images/logo.gif");
        assert_eq!(h.path_and_query(), "/images/logo.gif?size=2&x=1");
        assert_eq!(h.query(), Some("size=2&x=1"));
        assert_eq!(h.host(), "www.acme.com");
        assert_eq!(h.version(), 1);
        assert_eq!(h.head_len(), req.len());
        assert_eq!(h.raw(), &req[..]);
        assert_eq!(
            h.request_line_len(),
            "GET /images/logo.gif?size=2&x=1 HTTP/1.1\r\n".len()
        );
        assert_eq!(h.body(), BodyLength::None);
        assert!(h.keep_alive());
        assert!(!h.expect_continue());
        assert!(!h.upgrade());
        assert!(!h.has_connection_header());
    }

    #[test]
    fn path_without_query() {
        let h = complete(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(h.path(), "/");
        assert_eq!(h.query(), None);
        let h = complete(b"GET /p? HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(h.path(), "/p");
        assert_eq!(h.query(), Some(""));
        // No percent-decoding.
        let h = complete(b"GET /%61dmin/../x HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(h.path(), "/%61dmin/../x");
    }

    #[test]
    fn methods() {
        for (token, m) in [
            ("GET", Method::Get),
            ("HEAD", Method::Head),
            ("POST", Method::Post),
            ("PUT", Method::Put),
            ("DELETE", Method::Delete),
            ("OPTIONS", Method::Options),
            ("PATCH", Method::Patch),
            ("TRACE", Method::Trace),
            ("PROPFIND", Method::Other),
            ("get", Method::Other),
        ] {
            let req = format!("{token} / HTTP/1.1\r\nHost: a\r\n\r\n");
            let h = complete(req.as_bytes());
            assert_eq!(h.method(), m, "{token}");
            assert_eq!(h.method_str(), token);
            assert_eq!(Method::from_token(token), m);
            if m != Method::Other {
                assert_eq!(m.as_str(), Some(token));
            }
        }
        assert_eq!(Method::Other.as_str(), None);
    }

    #[test]
    fn pipelined_bytes_after_head() {
        let first = b"POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n";
        let mut buf = first.to_vec();
        buf.extend_from_slice(b"hello");
        buf.extend_from_slice(b"GET /b HTTP/1.1\r\nHost: a\r\n\r\n");
        let h = complete(&buf);
        assert_eq!(h.head_len(), first.len());
        assert_eq!(h.body(), BodyLength::Fixed(5));
        let next = &buf[h.head_len() + 5..];
        let h2 = complete(next);
        assert_eq!(h2.path(), "/b");
        assert_eq!(h2.head_len(), next.len());
    }

    #[test]
    fn every_split_point() {
        let requests: [&[u8]; 4] = [
            b"GET /a/b?c=d HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n",
            b"POST /up HTTP/1.1\r\nHost: h:81\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
            b"GET / HTTP/1.0\r\n\r\n",
            b"\r\nOPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
        ];
        for req in requests {
            let whole = complete(req);
            for cut in 0..req.len() {
                assert_eq!(
                    parse_head(&req[..cut], MAX),
                    HeadStatus::Partial,
                    "cut {cut} of {:?}",
                    show(req)
                );
            }
            // Feeding prefixes until complete, as a connection receiving byte by byte.
            let mut done = None;
            for end in 1..=req.len() {
                if let HeadStatus::Complete(h) = parse_head(&req[..end], MAX) {
                    done = Some((end, h));
                    break;
                }
            }
            let (end, h) = done.expect("completes");
            assert_eq!(end, req.len());
            assert_eq!(h, whole);
        }
    }

    #[test]
    fn refusals_at_every_prefix_never_become_partial_again() {
        // A refusal decided on a prefix must not depend on the split: the full request
        // is refused the same way.
        let req =
            b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(refused(req), Refusal::ContentLengthAndTransferEncoding);
        for cut in 0..req.len() {
            assert_eq!(parse_head(&req[..cut], MAX), HeadStatus::Partial);
        }
    }

    #[test]
    fn malformed() {
        for req in [
            &b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n"[..],
            b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
            b"GET /\r\n\r\n",
            b"GET / http/1.1\r\nHost: a\r\n\r\n",
            b"G@T / HTTP/1.1\r\nHost: a\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\n: empty-name\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nX: \x00\r\n\r\n",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        ] {
            assert_eq!(refused(req), Refusal::Malformed, "{:?}", show(req));
        }
    }

    #[test]
    fn bare_lf_refused() {
        assert_eq!(refused(b"GET / HTTP/1.1\nHost: a\n\n"), Refusal::Malformed);
        assert_eq!(
            refused(b"GET / HTTP/1.1\r\nHost: a\n\r\n"),
            Refusal::Malformed
        );
        assert_eq!(
            refused(b"GET / HTTP/1.1\r\nHost: a\r\n\n"),
            Refusal::Malformed
        );
        assert_eq!(
            refused(b"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
            Refusal::Malformed
        );
    }

    #[test]
    fn obs_fold_refused() {
        assert_eq!(
            refused(b"GET / HTTP/1.1\r\nHost: a\r\nX-Long: one\r\n two\r\n\r\n"),
            Refusal::Malformed
        );
        assert_eq!(
            refused(b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\tchunked\r\n\r\n"),
            Refusal::Malformed
        );
    }

    #[test]
    fn whitespace_before_colon_refused() {
        assert_eq!(
            refused(b"GET / HTTP/1.1\r\nHost : a\r\n\r\n"),
            Refusal::Malformed
        );
        assert_eq!(
            refused(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length\t: 3\r\n\r\nabc"),
            Refusal::Malformed
        );
    }

    #[test]
    fn leading_empty_lines_skipped() {
        let req = b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
        let h = complete(req);
        assert_eq!(h.head_len(), req.len());
        assert_eq!(h.request_line_len(), 4 + "GET / HTTP/1.1\r\n".len());
    }

    #[test]
    fn content_length() {
        assert_eq!(
            complete(&with_headers("1.1", "Content-Length: 42\r\n")).body(),
            BodyLength::Fixed(42)
        );
        assert_eq!(
            complete(&with_headers("1.1", "Content-Length: 0\r\n")).body(),
            BodyLength::None
        );
        assert_eq!(
            complete(&with_headers("1.1", "Content-Length: 007\r\n")).body(),
            BodyLength::Fixed(7)
        );
        assert_eq!(
            complete(&with_headers(
                "1.1",
                "Content-Length: 18446744073709551615\r\n"
            ))
            .body(),
            BodyLength::Fixed(u64::MAX)
        );
        // Identical repeats are one value (RFC 9110 §8.6).
        assert_eq!(
            complete(&with_headers(
                "1.1",
                "Content-Length: 5\r\nContent-Length: 5\r\n"
            ))
            .body(),
            BodyLength::Fixed(5)
        );
        assert_eq!(
            complete(&with_headers("1.1", "content-length: 5, 5\r\n")).body(),
            BodyLength::Fixed(5)
        );
        assert_eq!(
            complete(&with_headers("1.0", "Content-Length: 3\r\n")).body(),
            BodyLength::Fixed(3)
        );
    }

    #[test]
    fn content_length_refusals() {
        for v in [
            "-1",
            "+1",
            "abc",
            "1a",
            "0x10",
            "1 2",
            "1.5",
            "18446744073709551616",
            "99999999999999999999999",
            "5,",
            ",5",
            "5,,5",
        ] {
            let req = with_headers("1.1", &format!("Content-Length: {v}\r\n"));
            assert_eq!(refused(&req), Refusal::InvalidContentLength, "{v:?}");
            assert_eq!(refused(&req).status(), 400);
            assert_eq!(refused(&req).counter_name(), "refused_smuggling");
        }
        assert_eq!(
            refused(&with_headers("1.1", "Content-Length:\r\n")),
            Refusal::InvalidContentLength
        );
        for hs in [
            "Content-Length: 5\r\nContent-Length: 6\r\n",
            "Content-Length: 5, 6\r\n",
            "Content-Length: 0\r\nContent-Length: 00\r\nContent-Length: 1\r\n",
        ] {
            assert_eq!(
                refused(&with_headers("1.1", hs)),
                Refusal::ConflictingContentLength,
                "{hs:?}"
            );
        }
    }

    #[test]
    fn transfer_encoding() {
        for v in ["chunked", "Chunked", "CHUNKED", "chunked ", "chunked,"] {
            let req = with_headers("1.1", &format!("Transfer-Encoding: {v}\r\n"));
            assert_eq!(complete(&req).body(), BodyLength::Chunked, "{v:?}");
        }
    }

    #[test]
    fn transfer_encoding_refusals() {
        let cases: [(&str, Refusal); 10] = [
            (
                "Transfer-Encoding: gzip\r\n",
                Refusal::InvalidTransferEncoding,
            ),
            (
                "Transfer-Encoding: chunked, gzip\r\n",
                Refusal::InvalidTransferEncoding,
            ),
            (
                "Transfer-Encoding: chunked, chunked\r\n",
                Refusal::InvalidTransferEncoding,
            ),
            (
                "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
                Refusal::InvalidTransferEncoding,
            ),
            (
                "Transfer-Encoding: chunked;q=1\r\n",
                Refusal::InvalidTransferEncoding,
            ),
            (
                "Transfer-Encoding: xchunked\r\n",
                Refusal::InvalidTransferEncoding,
            ),
            ("Transfer-Encoding:\r\n", Refusal::InvalidTransferEncoding),
            (
                "Transfer-Encoding: gzip, chunked\r\n",
                Refusal::UnsupportedTransferCoding,
            ),
            (
                "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",
                Refusal::UnsupportedTransferCoding,
            ),
            (
                "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n",
                Refusal::ContentLengthAndTransferEncoding,
            ),
        ];
        for (hs, want) in cases {
            assert_eq!(refused(&with_headers("1.1", hs)), want, "{hs:?}");
        }
        assert_eq!(Refusal::UnsupportedTransferCoding.status(), 501);
        assert_eq!(Refusal::InvalidTransferEncoding.status(), 400);
        // Any Transfer-Encoding in HTTP/1.0 is faulty framing (RFC 9112 §6.1).
        assert_eq!(
            refused(&with_headers("1.0", "Transfer-Encoding: chunked\r\n")),
            Refusal::InvalidTransferEncoding
        );
        // The order of CL and TE does not matter.
        assert_eq!(
            refused(&with_headers(
                "1.1",
                "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n"
            )),
            Refusal::ContentLengthAndTransferEncoding
        );
        assert_eq!(
            refused(&with_headers(
                "1.1",
                "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n"
            )),
            Refusal::ContentLengthAndTransferEncoding
        );
    }

    #[test]
    fn host_rules() {
        assert_eq!(refused(b"GET / HTTP/1.1\r\n\r\n"), Refusal::MissingHost);
        assert_eq!(
            refused(b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"),
            Refusal::BadHost
        );
        assert_eq!(
            refused(b"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"),
            Refusal::BadHost
        );
        for bad in [
            "", "a b", "a/b", "a@b", "a:80x", "a:123456", ":80", "[::1", "[zz]", "[::1]x",
        ] {
            let req = format!("GET / HTTP/1.1\r\nHost: {bad}\r\n\r\n");
            assert_eq!(refused(req.as_bytes()), Refusal::BadHost, "{bad:?}");
        }
        for (good, host) in [
            ("a", "a"),
            ("A.Example.COM", "a.example.com"),
            ("a.example:8080", "a.example"),
            ("a:", "a"),
            ("[::1]:8080", "[::1]"),
            ("[2001:DB8::1]", "[2001:db8::1]"),
            ("198.18.0.1:80", "198.18.0.1"),
        ] {
            let req = format!("GET / HTTP/1.1\r\nHost: {good}\r\n\r\n");
            assert_eq!(complete(req.as_bytes()).host(), host, "{good:?}");
        }
        // HTTP/1.0 needs no Host.
        let h = complete(b"GET / HTTP/1.0\r\n\r\n");
        assert_eq!(h.host(), "");
        assert_eq!(h.version(), 0);
    }

    #[test]
    fn absolute_form() {
        let h = complete(
            b"GET http://Example.com:8080/a/b?q=1 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n",
        );
        assert_eq!(h.host(), "example.com");
        assert_eq!(h.path(), "/a/b");
        assert_eq!(h.query(), Some("q=1"));
        assert_eq!(h.path_and_query(), "/a/b?q=1");
        assert_eq!(h.target(), "http://Example.com:8080/a/b?q=1");

        let h = complete(b"GET HTTPS://h HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(h.path(), "/");
        assert_eq!(h.path_and_query(), "/");
        let h = complete(b"GET http://h?x HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(h.path(), "/");
        assert_eq!(h.query(), Some("x"));
        // HTTP/1.0 may omit Host with an absolute target.
        assert_eq!(complete(b"GET http://h/p HTTP/1.0\r\n\r\n").host(), "h");

        assert_eq!(
            refused(b"GET http://a/ HTTP/1.1\r\nHost: b\r\n\r\n"),
            Refusal::BadHost
        );
        assert_eq!(
            refused(b"GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n"),
            Refusal::BadHost
        );
        assert_eq!(
            refused(b"GET http://a/ HTTP/1.1\r\n\r\n"),
            Refusal::MissingHost
        );
        assert_eq!(
            refused(b"GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n"),
            Refusal::BadTarget
        );
        assert_eq!(
            refused(b"GET ftp://a/x HTTP/1.1\r\nHost: a\r\n\r\n"),
            Refusal::BadTarget
        );
    }

    #[test]
    fn target_forms() {
        let h = complete(b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(h.path(), "*");
        assert_eq!(
            refused(b"GET * HTTP/1.1\r\nHost: a\r\n\r\n"),
            Refusal::BadTarget
        );
        assert_eq!(
            refused(b"GET x/y HTTP/1.1\r\nHost: a\r\n\r\n"),
            Refusal::BadTarget
        );
        assert_eq!(
            refused(b"GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n"),
            Refusal::BadTarget
        );
        assert_eq!(Refusal::BadTarget.status(), 400);
    }

    #[test]
    fn head_too_large() {
        let mut req = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
        while req.len() < 300 {
            req.extend_from_slice(b"X-Pad: aaaaaaaaaaaaaaaaaaaa\r\n");
        }
        // Unfinished and at the limit.
        assert_eq!(
            parse_head(&req, 300),
            HeadStatus::Rejected(Refusal::HeadTooLarge)
        );
        assert_eq!(parse_head(&req[..299], 300), HeadStatus::Partial);
        // Finished, but longer than the limit.
        req.extend_from_slice(b"\r\n");
        assert_eq!(
            parse_head(&req, 300),
            HeadStatus::Rejected(Refusal::HeadTooLarge)
        );
        assert!(matches!(
            parse_head(&req, req.len()),
            HeadStatus::Complete(_)
        ));
        assert_eq!(
            parse_head(&req, req.len() - 1),
            HeadStatus::Rejected(Refusal::HeadTooLarge)
        );
        assert_eq!(Refusal::HeadTooLarge.status(), 431);
        assert_eq!(
            Refusal::HeadTooLarge.counter_name(),
            "refused_head_too_large"
        );
    }

    #[test]
    fn too_many_headers() {
        let mut req = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
        for i in 0..MAX_HEADERS - 1 {
            req.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        let mut ok = req.clone();
        ok.extend_from_slice(b"\r\n");
        assert_eq!(complete(&ok).headers().count(), MAX_HEADERS);
        req.extend_from_slice(b"X-last: v\r\n\r\n");
        assert_eq!(refused(&req), Refusal::TooManyHeaders);
        assert_eq!(Refusal::TooManyHeaders.status(), 431);
    }

    #[test]
    fn connect_and_upgrade() {
        assert_eq!(
            refused(b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n"),
            Refusal::Connect
        );
        let ws = b"GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: x\r\nSec-WebSocket-Version: 13\r\n\r\n";
        assert_eq!(refused(ws), Refusal::Upgrade);
        let h2c = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n";
        assert_eq!(refused(h2c), Refusal::Upgrade);
        assert_eq!(
            refused(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n"),
            Refusal::Upgrade
        );
        assert_eq!(
            refused(b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\n\r\n"),
            Refusal::Upgrade
        );
        for r in [Refusal::Connect, Refusal::Upgrade] {
            assert_eq!(r.status(), 501);
            assert_eq!(r.counter_name(), "refused_not_implemented");
        }
        let opts = ParseOptions {
            max_head: MAX,
            allow_upgrade: true,
        };
        match parse_head_with(ws, &opts) {
            HeadStatus::Complete(h) => assert!(h.upgrade()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn versions() {
        let preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
        assert_eq!(refused(preface), Refusal::Http2Preface);
        // Decided as soon as the version is visible, without waiting for the line end.
        assert_eq!(
            parse_head(&preface[..12], MAX),
            HeadStatus::Rejected(Refusal::Http2Preface)
        );
        assert_eq!(
            refused(b"GET / HTTP/2.0\r\nHost: a\r\n\r\n"),
            Refusal::UnsupportedVersion
        );
        assert_eq!(
            refused(b"GET / HTTP/1.2\r\nHost: a\r\n\r\n"),
            Refusal::UnsupportedVersion
        );
        assert_eq!(refused(b"GET / HTTP/3"), Refusal::UnsupportedVersion);
        assert_eq!(
            refused(b"GET / HTTP/0.9\r\n\r\n"),
            Refusal::UnsupportedVersion
        );
        assert_eq!(refused(b"GET / HTTP/x.1\r\n\r\n"), Refusal::Malformed);
        for r in [Refusal::Http2Preface, Refusal::UnsupportedVersion] {
            assert_eq!(r.status(), 505);
            assert_eq!(r.counter_name(), "refused_version");
            assert_eq!(r.reason(), "HTTP Version Not Supported");
        }
    }

    #[test]
    fn expect() {
        let h = complete(
            b"PUT /f HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\nExpect: 100-Continue\r\n\r\n",
        );
        assert!(h.expect_continue());
        let r = refused(b"PUT /f HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\n\r\n");
        assert_eq!(r, Refusal::UnsupportedExpectation);
        assert_eq!(r.status(), 417);
        assert_eq!(r.counter_name(), "refused_expectation");
        // Ignored in HTTP/1.0 (RFC 9110 §10.1.1).
        let h = complete(b"PUT /f HTTP/1.0\r\nExpect: 100-continue\r\n\r\n");
        assert!(!h.expect_continue());
    }

    fn conn(version: &str, connection: &[&str]) -> RequestHead {
        let mut req = format!("GET / HTTP/{version}\r\nHost: a\r\n");
        for c in connection {
            req.push_str(&format!("Connection: {c}\r\n"));
        }
        req.push_str("\r\n");
        complete(req.as_bytes())
    }

    #[test]
    fn connection_tokens() {
        assert!(conn("1.1", &[]).keep_alive());
        assert!(!conn("1.0", &[]).keep_alive());
        assert!(!conn("1.1", &["close"]).keep_alive());
        assert!(!conn("1.1", &["Close"]).keep_alive());
        assert!(!conn("1.1", &["TE, close"]).keep_alive());
        assert!(!conn("1.1", &["keep-alive", "close"]).keep_alive());
        assert!(!conn("1.1", &["keep-alive, CLOSE"]).keep_alive());
        assert!(conn("1.1", &["closed"]).keep_alive());
        assert!(conn("1.1", &["keep-alive"]).keep_alive());
        assert!(conn("1.0", &["keep-alive"]).keep_alive());
        assert!(conn("1.0", &["Keep-Alive"]).keep_alive());
        assert!(conn("1.0", &["TE,Keep-Alive"]).keep_alive());
        assert!(conn("1.0", &["TE", " keep-alive "]).keep_alive());
        assert!(!conn("1.0", &["keep-alive, close"]).keep_alive());
        assert!(!conn("1.0", &["keepalive"]).keep_alive());
        assert!(!conn("1.0", &["TE"]).keep_alive());
        assert!(conn("1.0", &["close"]).connection_close());
        assert!(!conn("1.0", &["TE"]).connection_close());
        assert!(conn("1.0", &["TE"]).has_connection_header());
    }

    #[test]
    fn header_lookup() {
        let h = complete(
            b"GET / HTTP/1.1\r\nHost: a\r\nX-Tenant:  blue \r\nx-tenant: green\r\nCookie: a=1\r\n\r\n",
        );
        assert_eq!(h.header("x-TENANT"), Some(&b"blue"[..]));
        let all: Vec<&[u8]> = h.header_values("X-Tenant").collect();
        assert_eq!(all, vec![&b"blue"[..], &b"green"[..]]);
        assert_eq!(h.header("cookie"), Some(&b"a=1"[..]));
        assert_eq!(h.header("missing"), None);
        let names: Vec<&str> = h.headers().map(|(n, _)| n).collect();
        assert_eq!(names, ["Host", "X-Tenant", "x-tenant", "Cookie"]);
    }

    #[test]
    fn empty_header_value() {
        let h = complete(b"GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Blank:   \r\n\r\n");
        assert_eq!(h.header("x-empty"), Some(&b""[..]));
        assert_eq!(h.header("x-blank"), Some(&b""[..]));
    }

    #[test]
    fn non_utf8_header_value_kept() {
        let h = complete(b"GET / HTTP/1.1\r\nHost: a\r\nX-Bin: caf\xe9\r\n\r\n");
        assert_eq!(h.header("x-bin"), Some(&b"caf\xe9"[..]));
    }

    #[test]
    fn refusal_table() {
        let all = [
            (Refusal::Malformed, 400, "refused_bad_request"),
            (Refusal::BadTarget, 400, "refused_bad_request"),
            (Refusal::MissingHost, 400, "refused_bad_request"),
            (Refusal::BadHost, 400, "refused_bad_request"),
            (Refusal::HeadTooLarge, 431, "refused_head_too_large"),
            (Refusal::TooManyHeaders, 431, "refused_head_too_large"),
            (
                Refusal::ContentLengthAndTransferEncoding,
                400,
                "refused_smuggling",
            ),
            (Refusal::InvalidContentLength, 400, "refused_smuggling"),
            (Refusal::ConflictingContentLength, 400, "refused_smuggling"),
            (Refusal::InvalidTransferEncoding, 400, "refused_smuggling"),
            (
                Refusal::UnsupportedTransferCoding,
                501,
                "refused_not_implemented",
            ),
            (Refusal::Connect, 501, "refused_not_implemented"),
            (Refusal::Upgrade, 501, "refused_not_implemented"),
            (Refusal::UnsupportedExpectation, 417, "refused_expectation"),
            (Refusal::Http2Preface, 505, "refused_version"),
            (Refusal::UnsupportedVersion, 505, "refused_version"),
        ];
        for (r, status, counter) in all {
            assert_eq!(r.status(), status, "{r:?}");
            assert_eq!(r.counter_name(), counter, "{r:?}");
            assert_ne!(r.reason(), "Unknown", "{r:?}");
            assert!(r.to_string().starts_with(&status.to_string()));
        }
        assert_eq!(Refusal::Malformed.reason(), "Bad Request");
        assert_eq!(
            Refusal::TooManyHeaders.reason(),
            "Request Header Fields Too Large"
        );
        assert_eq!(Refusal::Connect.reason(), "Not Implemented");
    }
}
