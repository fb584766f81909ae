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
//! | request line or header syntax httparse rejects (bare CR, NUL, invalid name characters, extra spaces); bare LF line ends; obs-fold; whitespace before a colon | 400 | [`Refusal::Malformed`] |
//! | request-target not in origin-form, absolute-form (`http`/`https`) or `*` (for OPTIONS) | 400 | [`Refusal::BadTarget`] |
//! | HTTP/1.1 without `Host` | 400 | [`Refusal::MissingHost`] |
//! | several `Host`, an invalid one, or one that differs from an absolute-form target's authority (port included) | 400 | [`Refusal::BadHost`] |
//! | both `Content-Length` and `Transfer-Encoding` | 400 | [`Refusal::ContentLengthAndTransferEncoding`] |
//! | `Content-Length` not `SP? 1*DIGIT` without leading zeros, or above 2^63 - 1 | 400 | [`Refusal::InvalidContentLength`] |
//! | several `Content-Length` values that differ | 400 | [`Refusal::ConflictingContentLength`] |
//! | several `Content-Length` fields or a list, equal values (`5, 5`) | 400 | [`Refusal::DuplicateContentLength`] |
//! | `Transfer-Encoding` other than exactly `chunked` (`Chunked`, `chunked,`, tab, `xchunked`, two fields), or any in HTTP/1.0 | 400 | [`Refusal::InvalidTransferEncoding`] |
//! | `Content_Length` / `Transfer_Encoding` (underscores) | 400 | [`Refusal::FramingFieldLookalike`] |
//! | `Connection` naming `Content-Length`, `Transfer-Encoding` or `Host` | 400 | [`Refusal::HopByHopFraming`] |
//! | a body on `GET`, `HEAD` or `TRACE` | 400 | [`Refusal::BodyNotAllowed`] |
//! | `Transfer-Encoding` with a coding before `chunked` (`gzip, chunked`) | 501 | [`Refusal::UnsupportedTransferCoding`] |
//! | `CONNECT` | 501 | [`Refusal::Connect`] |
//! | `Upgrade` header or `Connection: upgrade` (websocket, h2c), unless [`ParseOptions::allow_upgrade`] | 501 | [`Refusal::Upgrade`] |
//! | `Expect` other than `100-continue` in HTTP/1.1 | 417 | [`Refusal::UnsupportedExpectation`] |
//! | head longer than the limit | 431 | [`Refusal::HeadTooLarge`] |
//! | more than [`MAX_HEADERS`] header fields | 431 | [`Refusal::TooManyHeaders`] |
//! | the HTTP/2 connection preface `PRI * HTTP/2.0` | 505 | [`Refusal::Http2Preface`] |
//! | any other `HTTP/x.y` than 1.0 and 1.1 | 505 | [`Refusal::UnsupportedVersion`] |
//!
//! The framing fields are judged by their bytes as sent, and only one spelling of each is
//! forwarded (see the `framing` module): Splicer forwards the head unchanged, so
//! normalising a spelling would mean rewriting the head, and refusing costs no real
//! client anything. The whole table of smuggling vectors, with the RFC behind each
//! answer, is in the repository's `docs/SMUGGLING.md`.
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

use framing::TransferEncoding;

mod framing;

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
    /// A `Content-Length` other than one space and a decimal number without leading
    /// zeros, at most 2^63 - 1.
    InvalidContentLength,
    /// Several `Content-Length` values that differ.
    ConflictingContentLength,
    /// Several `Content-Length` fields, or a list in one, even with equal values.
    DuplicateContentLength,
    /// A field name that a gateway would take for a framing field (`Content_Length`).
    FramingFieldLookalike,
    /// A `Connection` option naming `Content-Length`, `Transfer-Encoding` or `Host`.
    HopByHopFraming,
    /// A body (`Content-Length` above 0 or chunked) on `GET`, `HEAD` or `TRACE`.
    BodyNotAllowed,
    /// `Transfer-Encoding` other than exactly `chunked` (or a list ending in it): last
    /// coding not `chunked`, another spelling of it, `chunked` twice, an empty element,
    /// several `Transfer-Encoding` fields, or any `Transfer-Encoding` in an HTTP/1.0
    /// request.
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
            | Refusal::DuplicateContentLength
            | Refusal::FramingFieldLookalike
            | Refusal::HopByHopFraming
            | Refusal::BodyNotAllowed
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
            | Refusal::DuplicateContentLength
            | Refusal::FramingFieldLookalike
            | Refusal::HopByHopFraming
            | Refusal::BodyNotAllowed
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
            Refusal::DuplicateContentLength => "repeated Content-Length",
            Refusal::FramingFieldLookalike => "field name resembling a framing field",
            Refusal::HopByHopFraming => "Connection option naming a framing field",
            Refusal::BodyNotAllowed => "body on GET, HEAD or TRACE",
            Refusal::InvalidTransferEncoding => "Transfer-Encoding other than chunked",
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
    let mut transfer_encoding: Option<Result<TransferEncoding, Refusal>> = None;
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
        // The value as sent, for the framing fields only (a scan to the line end).
        let raw = || framing::raw_value(head, name_start + name.len());
        if framing::framing_lookalike(name) {
            return Err(Refusal::FramingFieldLookalike);
        }
        if name.eq_ignore_ascii_case("host") {
            if host_header.is_some() {
                return Err(Refusal::BadHost);
            }
            host_header = Some(value);
        } else if name.eq_ignore_ascii_case("content-length") {
            // One field, one canonical number (see `framing::content_length`).
            let n = framing::content_length(raw())?;
            match content_length {
                Some(prev) if prev != n => return Err(Refusal::ConflictingContentLength),
                Some(_) => return Err(Refusal::DuplicateContentLength),
                None => content_length = Some(n),
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            // Decided after the loop, so that CL with TE is reported as such whatever
            // the spelling of either.
            transfer_encoding = Some(match transfer_encoding {
                None => framing::transfer_encoding(raw()),
                Some(_) => Err(Refusal::InvalidTransferEncoding),
            });
        } else if name.eq_ignore_ascii_case("connection") {
            connection_header = true;
            for token in list_elements(value) {
                if token.eq_ignore_ascii_case(b"close") {
                    connection_close = true;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    connection_keep_alive = true;
                } else if token.eq_ignore_ascii_case(b"upgrade") {
                    connection_upgrade = true;
                } else if framing::hop_by_hop_framing(token) {
                    return Err(Refusal::HopByHopFraming);
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

    let body = if let Some(te) = transfer_encoding {
        // RFC 9112 §6.1: a sender must not send both; §6.3 lets a server either reject
        // it or drop Content-Length, and servers do both. Refusing is the only answer no
        // server reads differently.
        if content_length.is_some() {
            return Err(Refusal::ContentLengthAndTransferEncoding);
        }
        // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means the framing is faulty.
        if version == 0 {
            return Err(Refusal::InvalidTransferEncoding);
        }
        match te? {
            TransferEncoding::Chunked => BodyLength::Chunked,
            TransferEncoding::CodingsThenChunked => return Err(Refusal::UnsupportedTransferCoding),
        }
    } else {
        match content_length {
            None | Some(0) => BodyLength::None,
            Some(n) => BodyLength::Fixed(n),
        }
    };
    if body != BodyLength::None && framing::forbids_body(method) {
        return Err(Refusal::BodyNotAllowed);
    }

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
            // RFC 9112 §3.2.2 has the server use the target's authority and ignore Host;
            // a server or rule that looks at Host instead must see the same authority,
            // port included.
            if let Some(hh) = host_header {
                if !hh.eq_ignore_ascii_case(auth) {
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
mod tests;

#[cfg(test)]
mod smuggling_tests;
