//! A streaming HTTP/1.x response framer: where does the response a server is sending end?
//!
//! This decides when a pooled server connection is free for the next request and where
//! the next pipelined response starts. It is fed packet payloads one at a time and never
//! buffers: the head is read by an incremental line scanner, a byte-at-a-time state
//! machine that keeps only what framing needs (status code, version, the
//! `Content-Length` value, whether the last transfer coding is `chunked`, and the
//! `Connection` tokens `close` and `keep-alive`); every other header is skipped as it
//! streams by. A fixed head buffer would have cost 16 KiB per pooled connection for
//! nothing. The framer is about a hundred bytes and can be reused with
//! [`ResponseFramer::reset`].
//!
//! Body rules (RFC 9112 §6.3), in order:
//! 1. 1xx other than 101 is interim: the final response follows on the same stream and
//!    the framer carries on reading heads (100 Continue, 102, 103);
//! 2. `101 Switching Protocols`: the stream is no longer HTTP; everything up to the
//!    server's FIN belongs to this response ([`ResponseFramer::needs_close`]), and the
//!    connection is never reused;
//! 3. a response to HEAD, 204 and 304 have no body, whatever their headers say;
//! 4. `Transfer-Encoding` together with `Content-Length` is an error, as is
//!    `Transfer-Encoding` in HTTP/1.0; otherwise a last coding `chunked` means a chunked
//!    body (parsed leniently, see [`crate::body::ChunkedParser`]), and any other last
//!    coding means the body ends at close;
//! 5. `Content-Length` (several identical values are accepted);
//! 6. otherwise the body ends when the server closes.
//!
//! Line ends may be CRLF or a bare LF (clients accept both from servers); obs-fold is
//! tolerated on headers that do not affect framing and rejected on those that do.

use crate::body::{is_tchar, BodyFramer, ChunkedParser};
pub use crate::body::{Feed, FramingError};
use core::num::NonZeroU32;

/// The largest response head accepted, in bytes (counted per head, so an interim 100
/// Continue does not count against the final response).
pub const MAX_RESPONSE_HEAD: u32 = 64 * 1024;

/// The class of a status code, for statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusClass {
    /// 1xx
    Informational,
    /// 2xx
    Success,
    /// 3xx
    Redirection,
    /// 4xx
    ClientError,
    /// 5xx
    ServerError,
    /// 6xx to 9xx: not defined, but well-formed.
    Other,
}

impl StatusClass {
    /// The class of `status`.
    pub fn of(status: u16) -> StatusClass {
        match status / 100 {
            1 => StatusClass::Informational,
            2 => StatusClass::Success,
            3 => StatusClass::Redirection,
            4 => StatusClass::ClientError,
            5 => StatusClass::ServerError,
            _ => StatusClass::Other,
        }
    }
}

/// How the body of a response is delimited, once its head has been read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResponseBody {
    /// No body (HEAD, 204, 304, or `Content-Length: 0`).
    None,
    /// This many bytes.
    Fixed(u64),
    /// The chunked coding.
    Chunked,
    /// Until the server closes (no length given, a last coding other than chunked, or
    /// 101 Switching Protocols).
    UntilClose,
}

/// Which framing-relevant header the current line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Other,
    ContentLength,
    TransferEncoding,
    Connection,
}

const FIELD_NAMES: [&[u8]; 3] = [b"content-length", b"transfer-encoding", b"connection"];
const FIELDS: [Field; 3] = [
    Field::ContentLength,
    Field::TransferEncoding,
    Field::Connection,
];
const CONNECTION_TOKENS: [&[u8]; 2] = [b"close", b"keep-alive"];
const TE_TOKENS: [&[u8]; 1] = [b"chunked"];

/// Matches a token, byte by byte, against a few lowercase candidates at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TokenMatch {
    len: u16,
    /// Bit i set: candidate i still matches the bytes seen.
    mask: u8,
}

impl TokenMatch {
    fn new(candidates: usize) -> Self {
        TokenMatch {
            len: 0,
            mask: ((1u16 << candidates) - 1) as u8,
        }
    }

    fn push(&mut self, b: u8, candidates: &[&[u8]]) {
        let b = b.to_ascii_lowercase();
        let pos = self.len as usize;
        for (i, c) in candidates.iter().enumerate() {
            if self.mask & (1 << i) != 0 && c.get(pos) != Some(&b) {
                self.mask &= !(1 << i);
            }
        }
        self.len = self.len.saturating_add(1);
    }

    fn matched(&self, candidates: &[&[u8]]) -> Option<usize> {
        (0..candidates.len())
            .find(|&i| self.mask & (1 << i) != 0 && candidates[i].len() == self.len as usize)
    }
}

/// Where the value scanner of a list header (`Connection`, `Transfer-Encoding`) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListPos {
    /// Before a token (start of value, after a comma).
    Gap,
    /// Inside a token.
    Token,
    /// Whitespace after a token, before a comma.
    AfterToken,
    /// In `;` parameters after a token.
    Params,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClPos {
    Gap,
    Digits,
    AfterDigits,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeadState {
    /// Matching `HTTP/1.` at this index.
    Proto(u8),
    /// Expecting the minor version digit.
    Minor,
    /// Expecting the space before the status code.
    SpBeforeCode,
    /// Read this many digits of the status code.
    Code(u8),
    /// After the status code: SP, or the end of the line.
    AfterCode,
    /// In the reason phrase.
    Reason,
    /// After a CR that ends a non-empty line.
    LineLf,
    /// At the start of a header line or the final empty line.
    LineStart,
    /// In a header name.
    Name,
    /// In a header value.
    Value,
    /// After the CR of the final empty line.
    FinalLf,
}

/// What [`HeadScan::step`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Go on with the next byte.
    More,
    /// The bytes up to the next CR or LF only count towards the head's size.
    SkipLine,
    /// The header name is none Splicer reads: the rest of it only needs to be tchars.
    SkipName,
    /// That was the last byte of the head.
    Done,
}

/// Everything kept while reading one response head.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HeadScan {
    state: HeadState,
    bytes: u32,
    minor: u8,
    status: u16,
    /// The current line is a header (its value is finalized at the line end).
    in_header: bool,
    field: Field,
    name: TokenMatch,
    token: TokenMatch,
    list_pos: ListPos,
    list_tokens: u16,
    cl_pos: ClPos,
    cl_elements: u16,
    cl_current: u64,
    content_length: Option<u64>,
    te_seen: bool,
    te_last_chunked: bool,
    conn_close: bool,
    conn_keep_alive: bool,
    /// Bytes of the interim heads (1xx) before this one, since the framer's reset.
    base: u32,
    /// Where the current list token started, in this head.
    token_start: u32,
    /// Where the first `keep-alive` token of a final head's `Connection` field starts,
    /// from the framer's reset ([`ResponseFramer::close_mark`]).
    keep_alive_at: Option<NonZeroU32>,
}

impl HeadScan {
    fn new() -> Self {
        HeadScan {
            state: HeadState::Proto(0),
            bytes: 0,
            minor: 0,
            status: 0,
            in_header: false,
            field: Field::Other,
            name: TokenMatch::new(FIELD_NAMES.len()),
            token: TokenMatch::new(0),
            list_pos: ListPos::Gap,
            list_tokens: 0,
            cl_pos: ClPos::Gap,
            cl_elements: 0,
            cl_current: 0,
            content_length: None,
            te_seen: false,
            te_last_chunked: false,
            conn_close: false,
            conn_keep_alive: false,
            base: 0,
            token_start: 0,
            keep_alive_at: None,
        }
    }

    /// Consumes one byte.
    fn step(&mut self, b: u8) -> Result<Step, FramingError> {
        use HeadState::*;
        self.bytes += 1;
        if self.bytes > MAX_RESPONSE_HEAD {
            return Err(FramingError::HeadTooLarge);
        }
        const PROTO: &[u8] = b"HTTP/1.";
        match self.state {
            Proto(i) => {
                if b != PROTO[i as usize] {
                    return Err(FramingError::InvalidStatusLine);
                }
                self.state = if i as usize + 1 == PROTO.len() {
                    Minor
                } else {
                    Proto(i + 1)
                };
            }
            Minor => {
                if !b.is_ascii_digit() {
                    return Err(FramingError::InvalidStatusLine);
                }
                // HTTP/1.2+ would be compatible with 1.1 (RFC 9110 §2.5).
                self.minor = (b - b'0').min(1);
                self.state = SpBeforeCode;
            }
            SpBeforeCode => {
                if b != b' ' {
                    return Err(FramingError::InvalidStatusLine);
                }
                self.state = Code(0);
            }
            Code(n) => {
                if !b.is_ascii_digit() || (n == 0 && b == b'0') {
                    return Err(FramingError::InvalidStatusLine);
                }
                self.status = self.status * 10 + u16::from(b - b'0');
                self.state = if n == 2 { AfterCode } else { Code(n + 1) };
            }
            AfterCode => match b {
                b' ' => {
                    self.state = Reason;
                    return Ok(Step::SkipLine);
                }
                b'\r' => self.state = LineLf,
                b'\n' => self.end_line()?,
                _ => return Err(FramingError::InvalidStatusLine),
            },
            Reason => match b {
                b'\r' => self.state = LineLf,
                b'\n' => self.end_line()?,
                _ => {}
            },
            LineLf => {
                if b != b'\n' {
                    return Err(FramingError::InvalidHeader);
                }
                self.end_line()?;
            }
            LineStart => match b {
                b'\r' => self.state = FinalLf,
                b'\n' => return Ok(Step::Done),
                b' ' | b'\t' => {
                    // obs-fold: continues the previous header's value.
                    if !self.in_header || self.field != Field::Other {
                        return Err(FramingError::InvalidHeader);
                    }
                    self.state = Value;
                    return Ok(Step::SkipLine);
                }
                _ if is_tchar(b) => {
                    self.in_header = true;
                    self.name = TokenMatch::new(FIELD_NAMES.len());
                    self.name.push(b, &FIELD_NAMES);
                    self.state = Name;
                    if self.name.mask == 0 {
                        return Ok(Step::SkipName);
                    }
                }
                _ => return Err(FramingError::InvalidHeader),
            },
            Name => match b {
                b':' => {
                    self.field = self
                        .name
                        .matched(&FIELD_NAMES)
                        .map_or(Field::Other, |i| FIELDS[i]);
                    self.start_value();
                    self.state = Value;
                    if self.field == Field::Other {
                        return Ok(Step::SkipLine);
                    }
                }
                _ if is_tchar(b) => {
                    self.name.push(b, &FIELD_NAMES);
                    if self.name.mask == 0 {
                        return Ok(Step::SkipName);
                    }
                }
                // Includes whitespace before the colon (RFC 9112 §5.1: reject).
                _ => return Err(FramingError::InvalidHeader),
            },
            Value => match b {
                b'\r' => self.state = LineLf,
                b'\n' => self.end_line()?,
                _ => self.value_byte(b)?,
            },
            FinalLf => {
                if b != b'\n' {
                    return Err(FramingError::InvalidHeader);
                }
                return Ok(Step::Done);
            }
        }
        Ok(Step::More)
    }

    /// Takes `n` bytes that [`HeadScan::step`] would only have counted.
    fn skip(&mut self, n: usize) -> Result<(), FramingError> {
        let total = u64::from(self.bytes) + n as u64;
        if total > u64::from(MAX_RESPONSE_HEAD) {
            return Err(FramingError::HeadTooLarge);
        }
        self.bytes = total as u32;
        Ok(())
    }

    /// Takes `n` name bytes that [`HeadScan::step`] would only have checked and
    /// counted.
    fn skip_name(&mut self, n: usize) -> Result<(), FramingError> {
        self.skip(n)?;
        self.name.len = self
            .name
            .len
            .saturating_add(n.min(usize::from(u16::MAX)) as u16);
        Ok(())
    }

    fn start_value(&mut self) {
        match self.field {
            Field::Connection => self.token = TokenMatch::new(CONNECTION_TOKENS.len()),
            Field::TransferEncoding => self.token = TokenMatch::new(TE_TOKENS.len()),
            _ => {}
        }
        self.list_pos = ListPos::Gap;
        self.list_tokens = 0;
        self.cl_pos = ClPos::Gap;
        self.cl_elements = 0;
    }

    fn candidates(&self) -> &'static [&'static [u8]] {
        match self.field {
            Field::Connection => &CONNECTION_TOKENS,
            _ => &TE_TOKENS,
        }
    }

    fn value_byte(&mut self, b: u8) -> Result<(), FramingError> {
        match self.field {
            Field::Other => {}
            Field::ContentLength => match (b, self.cl_pos) {
                (b'0'..=b'9', ClPos::Gap | ClPos::Digits) => {
                    if self.cl_pos == ClPos::Gap {
                        self.cl_current = 0;
                    }
                    self.cl_current = self
                        .cl_current
                        .checked_mul(10)
                        .and_then(|n| n.checked_add(u64::from(b - b'0')))
                        .ok_or(FramingError::InvalidContentLength)?;
                    self.cl_pos = ClPos::Digits;
                }
                (b' ' | b'\t', ClPos::Gap) => {}
                (b' ' | b'\t', _) => self.cl_pos = ClPos::AfterDigits,
                (b',', ClPos::Digits | ClPos::AfterDigits) => self.end_cl_element()?,
                _ => return Err(FramingError::InvalidContentLength),
            },
            Field::Connection | Field::TransferEncoding => {
                let candidates = self.candidates();
                match (b, self.list_pos) {
                    (b',', ListPos::Gap) => {}
                    (b',', _) => {
                        self.end_token();
                        self.token = TokenMatch::new(candidates.len());
                        self.list_pos = ListPos::Gap;
                    }
                    (_, ListPos::Params) => {}
                    (b' ' | b'\t', ListPos::Token) => self.list_pos = ListPos::AfterToken,
                    (b' ' | b'\t', _) => {}
                    (b';', ListPos::Token | ListPos::AfterToken) => self.list_pos = ListPos::Params,
                    (_, ListPos::AfterToken) => {
                        // `keep alive`: not a token of ours.
                        self.token.mask = 0;
                        self.list_pos = ListPos::Token;
                    }
                    (_, _) => {
                        if self.list_pos == ListPos::Gap {
                            // This byte's offset (`bytes` counts it already).
                            self.token_start = self.bytes - 1;
                        }
                        self.token.push(b, candidates);
                        self.list_pos = ListPos::Token;
                    }
                }
            }
        }
        Ok(())
    }

    fn end_token(&mut self) {
        self.list_tokens += 1;
        let matched = self.token.matched(self.candidates());
        match self.field {
            Field::Connection => match matched {
                Some(0) => self.conn_close = true,
                Some(1) => {
                    self.conn_keep_alive = true;
                    // Only a final head's: an interim one (100 Continue) is not what
                    // the client decides reuse from. Never 0: the status line is first.
                    let interim = (100..200).contains(&self.status) && self.status != 101;
                    if self.keep_alive_at.is_none() && !interim {
                        self.keep_alive_at = NonZeroU32::new(self.base + self.token_start);
                    }
                }
                _ => {}
            },
            Field::TransferEncoding => {
                self.te_seen = true;
                self.te_last_chunked = matched == Some(0);
            }
            _ => {}
        }
    }

    fn end_cl_element(&mut self) -> Result<(), FramingError> {
        self.cl_elements += 1;
        match self.content_length {
            Some(prev) if prev != self.cl_current => {
                return Err(FramingError::ConflictingContentLength)
            }
            _ => self.content_length = Some(self.cl_current),
        }
        self.cl_pos = ClPos::Gap;
        Ok(())
    }

    /// The end of a non-empty line: finish the header value it carried.
    fn end_line(&mut self) -> Result<(), FramingError> {
        if self.in_header {
            match self.field {
                Field::Other => {}
                Field::ContentLength => {
                    if self.cl_pos != ClPos::Gap {
                        self.end_cl_element()?;
                    }
                    if self.cl_elements == 0 {
                        return Err(FramingError::InvalidContentLength);
                    }
                }
                Field::Connection | Field::TransferEncoding => {
                    if self.list_pos != ListPos::Gap {
                        self.end_token();
                    }
                    if self.field == Field::TransferEncoding && self.list_tokens == 0 {
                        return Err(FramingError::InvalidHeader);
                    }
                }
            }
        }
        self.state = HeadState::LineStart;
        Ok(())
    }
}

/// The index of the first CR or LF in `buf`, or its length: eight bytes at a time (a
/// byte equal to CR or LF makes its lane of `x ^ pattern` zero, found by the classic
/// has-zero-byte test).
fn line_end(buf: &[u8]) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let mut chunks = buf.chunks_exact(8);
    let mut offset = 0;
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        let hits = zero(x ^ (ONES * u64::from(b'\r'))) | zero(x ^ (ONES * u64::from(b'\n')));
        if hits != 0 {
            // The lowest flagged lane is exact (borrows only run towards higher lanes).
            return offset + (hits.trailing_zeros() / 8) as usize;
        }
        offset += 8;
    }
    offset
        + chunks
            .remainder()
            .iter()
            .position(|&b| b == b'\r' || b == b'\n')
            .unwrap_or(chunks.remainder().len())
}

/// What a complete response head says about its response.
struct HeadOutcome {
    status: u16,
    minor: u8,
    persistent: bool,
    body: ResponseBody,
}

/// The outcome of the head `scan` read completely; `None` for an interim (1xx, not
/// 101) response, which the final one follows. A function of the scan alone, so that
/// the scan can stay inside the framer's phase while it is read.
fn head_outcome(
    scan: &HeadScan,
    request_was_head: bool,
) -> Result<Option<HeadOutcome>, FramingError> {
    let status = scan.status;
    if (100..200).contains(&status) && status != 101 {
        return Ok(None);
    }
    let mut persistent = if scan.minor >= 1 {
        !scan.conn_close
    } else {
        scan.conn_keep_alive && !scan.conn_close
    };
    let body = if status == 101 {
        ResponseBody::UntilClose
    } else if request_was_head || status == 204 || status == 304 {
        ResponseBody::None
    } else if scan.te_seen {
        if scan.content_length.is_some() {
            return Err(FramingError::ContentLengthAndTransferEncoding);
        }
        if scan.minor == 0 {
            return Err(FramingError::TransferEncodingInHttp10);
        }
        if scan.te_last_chunked {
            ResponseBody::Chunked
        } else {
            ResponseBody::UntilClose
        }
    } else {
        match scan.content_length {
            Some(0) => ResponseBody::None,
            Some(n) => ResponseBody::Fixed(n),
            None => ResponseBody::UntilClose,
        }
    };
    if body == ResponseBody::UntilClose {
        persistent = false;
    }
    Ok(Some(HeadOutcome {
        status,
        minor: scan.minor,
        persistent,
        body,
    }))
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// The head's scanner lives only while the head is read: a server connection in
    /// its response's body (or idle) does not carry it beside the body's framer
    /// (48 bytes less per connection, issue 12's hot/cold split).
    Head(HeadScan),
    Body(BodyFramer),
    Complete,
    Failed(FramingError),
}

/// Finds where one response ends in the stream of payloads a server sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseFramer {
    request_was_head: bool,
    phase: Phase,
    /// Status of the final (non-1xx, or 101) response, once its head is read.
    status: Option<u16>,
    minor: u8,
    body: Option<ResponseBody>,
    persistent: bool,
    /// Its client asked `close` and its server was not told (`server_close`): look for
    /// the `keep-alive` token to write `close` over.
    wants_close_mark: bool,
    /// That token, from the reset, once the final head is read (`None` once
    /// cancelled).
    close_mark: Option<NonZeroU32>,
}

impl ResponseFramer {
    /// A framer for the response to a request; `request_method_was_head` because a
    /// response to HEAD has no body whatever its headers say.
    pub fn new(request_method_was_head: bool) -> Self {
        ResponseFramer {
            request_was_head: request_method_was_head,
            phase: Phase::Head(HeadScan::new()),
            status: None,
            minor: 1,
            body: None,
            persistent: false,
            wants_close_mark: false,
            close_mark: None,
        }
    }

    /// Starts over for the next response on the same connection.
    pub fn reset(&mut self, request_method_was_head: bool) {
        *self = ResponseFramer::new(request_method_was_head);
    }

    /// Consumes the start of `payload` that belongs to this response.
    ///
    /// Returns how many bytes that is and whether the response ended there; bytes after
    /// the end belong to the next response. After completion it consumes nothing and
    /// reports complete again; after an error it repeats the error.
    pub fn feed(&mut self, payload: &[u8]) -> Result<Feed, FramingError> {
        let mut i = 0;
        let request_was_head = self.request_was_head;
        loop {
            match &mut self.phase {
                Phase::Complete => {
                    return Ok(Feed {
                        consumed: i,
                        complete: true,
                    })
                }
                Phase::Failed(e) => return Err(*e),
                Phase::Head(scan) => {
                    let mut head_done = Ok(false);
                    while i < payload.len() {
                        let b = payload[i];
                        i += 1;
                        match scan.step(b) {
                            Ok(Step::More) => {}
                            // Reason phrases and values of fields Splicer does not
                            // read are most of a head, and there only CR and LF
                            // matter: skip to the next line end at once.
                            Ok(Step::SkipLine) => {
                                let n = line_end(&payload[i..]);
                                if let Err(e) = scan.skip(n) {
                                    head_done = Err(e);
                                    break;
                                }
                                i += n;
                            }
                            Ok(Step::SkipName) => {
                                let n = payload[i..].iter().take_while(|&&b| is_tchar(b)).count();
                                if let Err(e) = scan.skip_name(n) {
                                    head_done = Err(e);
                                    break;
                                }
                                i += n;
                            }
                            Ok(Step::Done) => {
                                head_done = Ok(true);
                                break;
                            }
                            Err(e) => {
                                head_done = Err(e);
                                break;
                            }
                        }
                    }
                    match head_done {
                        Err(e) => return Err(self.fail(e)),
                        Ok(false) => {
                            return Ok(Feed {
                                consumed: i,
                                complete: false,
                            })
                        }
                        Ok(true) => {}
                    }
                    match head_outcome(scan, request_was_head) {
                        Err(e) => return Err(self.fail(e)),
                        // Interim response: the real one follows.
                        Ok(None) => {
                            let base = scan.base + scan.bytes;
                            *scan = HeadScan::new();
                            scan.base = base;
                        }
                        Ok(Some(o)) => {
                            let at = scan.keep_alive_at;
                            self.head_done(o, at)
                        }
                    }
                }
                Phase::Body(body) => match body.feed(&payload[i..]) {
                    Ok(f) => {
                        i += f.consumed;
                        if !f.complete {
                            return Ok(Feed {
                                consumed: i,
                                complete: false,
                            });
                        }
                        self.phase = Phase::Complete;
                    }
                    Err(e) => return Err(self.fail(e)),
                },
            }
        }
    }

    fn fail(&mut self, e: FramingError) -> FramingError {
        self.phase = Phase::Failed(e);
        self.persistent = false;
        e
    }

    /// The final response's head was read: the framer moves on to its body.
    fn head_done(&mut self, o: HeadOutcome, keep_alive_at: Option<NonZeroU32>) {
        if self.wants_close_mark {
            self.close_mark = keep_alive_at;
        }
        self.status = Some(o.status);
        self.minor = o.minor;
        self.persistent = o.persistent;
        self.body = Some(o.body);
        self.phase = match o.body {
            ResponseBody::None => Phase::Complete,
            ResponseBody::Fixed(n) => Phase::Body(BodyFramer::Fixed { remaining: n }),
            ResponseBody::Chunked => Phase::Body(BodyFramer::Chunked(ChunkedParser::new(false))),
            ResponseBody::UntilClose => Phase::Body(BodyFramer::UntilClose),
        };
    }

    /// The server closed its side: `Ok` if that ends the response properly (it was
    /// complete, or it is close-delimited, which is then complete), otherwise
    /// [`FramingError::Truncated`].
    pub fn finish(&mut self) -> Result<(), FramingError> {
        match &mut self.phase {
            Phase::Complete => Ok(()),
            Phase::Failed(e) => Err(*e),
            Phase::Body(body) => match body.finish() {
                Ok(()) => {
                    self.phase = Phase::Complete;
                    Ok(())
                }
                Err(e) => Err(self.fail(e)),
            },
            Phase::Head(_) => Err(self.fail(FramingError::Truncated)),
        }
    }

    /// How many of the next bytes the framer would count without reading them: the
    /// rest of a `Content-Length` body, of the current chunk's data, or of a
    /// close-delimited body (`u64::MAX`). 0 in the head, between chunks, after the end
    /// or an error: there every byte can move the response's end.
    pub fn data_run(&self) -> u64 {
        match &self.phase {
            Phase::Body(body) => body.data_run(),
            _ => 0,
        }
    }

    /// Counts up to `n` of the next bytes without their content, no more than
    /// [`ResponseFramer::data_run`]: for bytes a splicer forwarded past a gap and no
    /// longer has when the gap is filled. Returns what `feed` would have for them.
    pub fn skip(&mut self, n: u64) -> Feed {
        match &mut self.phase {
            Phase::Body(body) => {
                let f = body.skip(n.min(body.data_run()));
                if f.complete {
                    self.phase = Phase::Complete;
                }
                f
            }
            Phase::Complete => Feed {
                consumed: 0,
                complete: true,
            },
            _ => Feed {
                consumed: 0,
                complete: false,
            },
        }
    }

    /// Whether the response has ended.
    pub fn is_complete(&self) -> bool {
        self.phase == Phase::Complete
    }

    /// Whether the final response head has been read.
    pub fn head_complete(&self) -> bool {
        self.body.is_some()
    }

    /// The error the framer stopped at, if any.
    pub fn error(&self) -> Option<FramingError> {
        match self.phase {
            Phase::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// The final status code (interim 1xx are skipped; 101 is final), once its head is
    /// read.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// The class of [`ResponseFramer::status`].
    pub fn status_class(&self) -> Option<StatusClass> {
        self.status.map(StatusClass::of)
    }

    /// The minor HTTP version of the final response (0 or 1), once its head is read.
    pub fn version(&self) -> Option<u8> {
        self.body.map(|_| self.minor)
    }

    /// How the body is delimited, once the head is read.
    pub fn body(&self) -> Option<ResponseBody> {
        self.body
    }

    /// The response only ends when the server closes (close-delimited body or 101): the
    /// caller must wait for FIN, then call [`ResponseFramer::finish`].
    pub fn needs_close(&self) -> bool {
        self.body == Some(ResponseBody::UntilClose)
    }

    /// Asks the framer (after a reset) to find the `keep-alive` token of the final
    /// response head's `Connection` field, which Splicer overwrites with
    /// [`crate::CLOSE_IN_PLACE`] because the client asked `close` and its server was
    /// not told (`virtual.server_close`, [`crate::server_close`]).
    pub fn want_close_mark(&mut self) {
        self.wants_close_mark = true;
    }

    /// Whether [`ResponseFramer::want_close_mark`] was asked for this response.
    pub fn wants_close_mark(&self) -> bool {
        self.wants_close_mark
    }

    /// Where the first `keep-alive` token of the final head's `Connection` field
    /// starts, counted in bytes from the start of the response stream (interim 1xx
    /// heads included), as soon as the token has ended: its 10 bytes are the ones to
    /// overwrite. `None` when not wanted, not (yet) found, or cancelled.
    pub fn close_mark(&self) -> Option<u32> {
        if !self.wants_close_mark {
            return None;
        }
        let at = match &self.phase {
            Phase::Head(scan) => scan.keep_alive_at,
            _ => self.close_mark,
        };
        at.map(NonZeroU32::get)
    }

    /// The token cannot be overwritten whole (part of it already went out as it
    /// was): no byte of it is to be.
    pub fn cancel_close_mark(&mut self) {
        self.wants_close_mark = false;
        self.close_mark = None;
    }

    /// Whether the server connection can carry another request after this response: the
    /// head has been read and did not say `Connection: close`, HTTP/1.0 said
    /// `keep-alive`, the body is not close-delimited, and framing has not failed.
    pub fn reusable(&self) -> bool {
        self.persistent && self.body.is_some() && self.error().is_none()
    }
}

#[cfg(test)]
mod tests;
