//! Streaming message-body framing: find where a body ends in a stream of packet payloads
//! without buffering or allocating.
//!
//! Splicer forwards body bytes untouched; it only needs to know where a message ends, to
//! tell when a pooled server connection is free again and where the next pipelined
//! message starts. The parsers here are fed one payload slice at a time, keep a few words
//! of state between calls, and skip chunk data in bulk rather than byte by byte.

use core::fmt;

use crate::request::BodyLength;

/// The longest chunk-size line (size, extensions, CRLF) accepted. Real extensions are
/// rare and short; without a bound a peer could keep the parser in one line forever.
pub const MAX_CHUNK_LINE: u32 = 4096;

/// The largest trailer section accepted, in bytes.
pub const MAX_TRAILERS: u32 = 16 * 1024;

/// The most hex digits a chunk size may have in strict mode, leading zeros included.
/// Sixteen digits hold any 64-bit size; a parser that stops after a fixed number of
/// digits, or keeps the low bits of a longer number, would read `1` followed by sixteen
/// `0`s and a `5` as some other size than Splicer does.
pub const MAX_CHUNK_SIZE_DIGITS: u32 = 16;

/// The largest chunk size accepted in strict mode: servers keep it in a signed 64-bit
/// `off_t` and refuse larger ones.
pub const MAX_CHUNK_SIZE: u64 = i64::MAX as u64;

/// Trailer fields refused in a request body (strict mode). RFC 9110 §6.5.1: fields that
/// frame or route a message cannot be processed outside the header section, and a server
/// that merges trailers into the headers would frame or route the next bytes by them.
const FORBIDDEN_TRAILERS: [&[u8]; 3] = [b"content-length", b"transfer-encoding", b"host"];

/// Longest name in [`FORBIDDEN_TRAILERS`]: longer trailer names are not recorded.
const TRAILER_NAME_MAX: usize = 17;

/// What one call to a framer's `feed` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Feed {
    /// How many bytes at the start of the payload belong to the current message. Equal to
    /// the payload length unless `complete`; bytes after it belong to the next message.
    pub consumed: usize,
    /// Whether the message ended at `payload[consumed]`.
    pub complete: bool,
}

/// Why a stream cannot be framed. The message boundary is then unknown: the connection
/// must not be reused, and the caller should relay until the peer closes, or reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FramingError {
    /// The response status line is not `HTTP/1.x NNN ...`.
    InvalidStatusLine,
    /// A header line is malformed (bad name, space before the colon, bare CR, a folded
    /// framing header, an empty `Transfer-Encoding`).
    InvalidHeader,
    /// The response head did not end within [`crate::response::MAX_RESPONSE_HEAD`] bytes.
    HeadTooLarge,
    /// `Content-Length` is not a decimal number fitting in `u64`.
    InvalidContentLength,
    /// Several `Content-Length` values differ.
    ConflictingContentLength,
    /// Both `Content-Length` and `Transfer-Encoding` (RFC 9112 §6.3 says to treat it as
    /// an error; Splicer cannot remove one of them without copying).
    ContentLengthAndTransferEncoding,
    /// `Transfer-Encoding` in an HTTP/1.0 message.
    TransferEncodingInHttp10,
    /// A chunk-size line does not start with a hex number.
    InvalidChunkSize,
    /// A chunk size does not fit in 64 bits (strict mode: more than
    /// [`MAX_CHUNK_SIZE_DIGITS`] digits, or above [`MAX_CHUNK_SIZE`]).
    ChunkSizeOverflow,
    /// A chunk extension holds a control character or a bare line feed (strict mode).
    InvalidChunkExtension,
    /// A CRLF was expected (after a chunk-size line, chunk data or a trailer).
    InvalidLineEnd,
    /// A trailer field line is malformed, or (strict mode) names a framing or routing
    /// field (`Content-Length`, `Transfer-Encoding`, `Host`).
    InvalidTrailer,
    /// A chunk-size line longer than [`MAX_CHUNK_LINE`].
    ChunkLineTooLong,
    /// A trailer section larger than [`MAX_TRAILERS`].
    TrailersTooLarge,
    /// The peer closed before the message ended.
    Truncated,
}

impl FramingError {
    /// The name of the counter this error increments. Stable: dashboards depend on it.
    pub fn counter_name(self) -> &'static str {
        match self {
            FramingError::InvalidStatusLine => "framing_invalid_status_line",
            FramingError::InvalidHeader => "framing_invalid_header",
            FramingError::HeadTooLarge => "framing_head_too_large",
            FramingError::InvalidContentLength => "framing_invalid_content_length",
            FramingError::ConflictingContentLength => "framing_conflicting_content_length",
            FramingError::ContentLengthAndTransferEncoding => "framing_cl_and_te",
            FramingError::TransferEncodingInHttp10 => "framing_te_in_http10",
            FramingError::InvalidChunkSize => "framing_invalid_chunk_size",
            FramingError::ChunkSizeOverflow => "framing_chunk_size_overflow",
            FramingError::InvalidChunkExtension => "framing_invalid_chunk_extension",
            FramingError::InvalidLineEnd => "framing_invalid_line_end",
            FramingError::InvalidTrailer => "framing_invalid_trailer",
            FramingError::ChunkLineTooLong => "framing_chunk_line_too_long",
            FramingError::TrailersTooLarge => "framing_trailers_too_large",
            FramingError::Truncated => "framing_truncated",
        }
    }
}

impl fmt::Display for FramingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FramingError::InvalidStatusLine => "invalid status line",
            FramingError::InvalidHeader => "invalid header line",
            FramingError::HeadTooLarge => "response head too large",
            FramingError::InvalidContentLength => "invalid Content-Length",
            FramingError::ConflictingContentLength => "conflicting Content-Length values",
            FramingError::ContentLengthAndTransferEncoding => {
                "both Content-Length and Transfer-Encoding"
            }
            FramingError::TransferEncodingInHttp10 => "Transfer-Encoding in HTTP/1.0",
            FramingError::InvalidChunkSize => "invalid chunk size",
            FramingError::ChunkSizeOverflow => "chunk size overflows 64 bits",
            FramingError::InvalidChunkExtension => "invalid chunk extension",
            FramingError::InvalidLineEnd => "CRLF expected",
            FramingError::InvalidTrailer => "invalid trailer field",
            FramingError::ChunkLineTooLong => "chunk-size line too long",
            FramingError::TrailersTooLarge => "trailer section too large",
            FramingError::Truncated => "connection closed before the message ended",
        })
    }
}

impl std::error::Error for FramingError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChunkState {
    /// In the hex digits of a chunk size.
    Size { digits: u32 },
    /// After the size, in extensions (or, lenient, whitespace before them).
    Ext,
    /// After the CR of a chunk-size line.
    SizeLf,
    /// Inside chunk data, with this many bytes left.
    Data(u64),
    /// After chunk data, expecting CR.
    DataCr,
    /// After chunk data and CR, expecting LF.
    DataLf,
    /// At the start of a trailer line or of the final empty line.
    TrailerStart,
    /// In a trailer field name (strict).
    TrailerName,
    /// In a trailer field value (or, lenient, anywhere in a trailer line).
    TrailerValue,
    /// After the CR of a trailer line.
    TrailerLf,
    /// After the CR of the final empty line.
    FinalLf,
    /// The body has ended.
    Done,
}

/// A streaming parser of the chunked transfer coding (RFC 9112 §7.1), fed byte slices
/// across packet boundaries.
///
/// *Strict* mode (for request bodies, where a disagreement with the server is a smuggling
/// hole) demands CRLF everywhere, no whitespace between the size and `;`, printable
/// extensions and well-formed trailer fields. *Lenient* mode (for response bodies, which
/// clients parse leniently too) also accepts bare LF line ends, whitespace before
/// extensions and any bytes in extensions and trailers. Both reject chunk sizes that are
/// empty, not hexadecimal or overflow 64 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkedParser {
    state: ChunkState,
    strict: bool,
    size: u64,
    line_len: u32,
    trailer_len: u32,
    /// The current trailer field's name, lowercased with `_` as `-`, while it is no
    /// longer than [`TRAILER_NAME_MAX`] (strict mode).
    trailer_name: [u8; TRAILER_NAME_MAX],
    /// Its length; `TRAILER_NAME_MAX + 1` once it is longer.
    trailer_name_len: u8,
}

impl ChunkedParser {
    /// A parser positioned at the first chunk-size line.
    pub fn new(strict: bool) -> Self {
        ChunkedParser {
            state: ChunkState::Size { digits: 0 },
            strict,
            size: 0,
            line_len: 0,
            trailer_len: 0,
            trailer_name: [0; TRAILER_NAME_MAX],
            trailer_name_len: 0,
        }
    }

    /// Whether the last chunk and the trailer section have been read.
    pub fn is_done(&self) -> bool {
        self.state == ChunkState::Done
    }

    /// How many of the next bytes are chunk data, which the parser counts without
    /// reading: whatever they hold, the body ends at the same place. Every other byte
    /// (size lines, extensions, CRLFs, trailers) decides where it ends.
    pub fn data_run(&self) -> u64 {
        match self.state {
            ChunkState::Data(rem) => rem,
            _ => 0,
        }
    }

    /// Counts `n` bytes of chunk data without their content (bytes a splicer forwarded
    /// out of order and no longer has). `n` is capped at [`ChunkedParser::data_run`]:
    /// returns how many were counted.
    pub fn skip(&mut self, n: u64) -> u64 {
        let ChunkState::Data(rem) = self.state else {
            return 0;
        };
        let n = n.min(rem);
        self.state = if n == rem {
            ChunkState::DataCr
        } else {
            ChunkState::Data(rem - n)
        };
        n
    }

    /// Consumes `buf` up to the end of the chunked body. Once done, consumes nothing.
    pub fn feed(&mut self, buf: &[u8]) -> Result<Feed, FramingError> {
        let mut i = 0;
        while i < buf.len() {
            match self.state {
                ChunkState::Done => break,
                ChunkState::Data(rem) => {
                    // Payload is skipped in bulk: this is where almost all bytes go.
                    let avail = (buf.len() - i) as u64;
                    let n = rem.min(avail);
                    i += n as usize;
                    self.state = if n == rem {
                        ChunkState::DataCr
                    } else {
                        ChunkState::Data(rem - n)
                    };
                }
                _ => {
                    let b = buf[i];
                    i += 1;
                    self.step(b)?;
                }
            }
        }
        Ok(Feed {
            consumed: i,
            complete: self.is_done(),
        })
    }

    fn end_size_line(&mut self) {
        self.state = if self.size == 0 {
            ChunkState::TrailerStart
        } else {
            ChunkState::Data(self.size)
        };
    }

    fn start_size_line(&mut self) {
        self.size = 0;
        self.line_len = 0;
        self.state = ChunkState::Size { digits: 0 };
    }

    fn step(&mut self, b: u8) -> Result<(), FramingError> {
        use ChunkState::*;
        match self.state {
            Size { .. } | Ext | SizeLf => {
                self.line_len += 1;
                if self.line_len > MAX_CHUNK_LINE {
                    return Err(FramingError::ChunkLineTooLong);
                }
            }
            TrailerStart | TrailerName | TrailerValue | TrailerLf | FinalLf => {
                self.trailer_len += 1;
                if self.trailer_len > MAX_TRAILERS {
                    return Err(FramingError::TrailersTooLarge);
                }
            }
            _ => {}
        }
        match self.state {
            Size { digits } => {
                if let Some(d) = hex_value(b) {
                    if self.size > u64::MAX >> 4 || (self.strict && digits >= MAX_CHUNK_SIZE_DIGITS)
                    {
                        return Err(FramingError::ChunkSizeOverflow);
                    }
                    self.size = (self.size << 4) | u64::from(d);
                    if self.strict && self.size > MAX_CHUNK_SIZE {
                        return Err(FramingError::ChunkSizeOverflow);
                    }
                    self.state = Size { digits: digits + 1 };
                    return Ok(());
                }
                if digits == 0 {
                    return Err(FramingError::InvalidChunkSize);
                }
                match b {
                    b';' => self.state = Ext,
                    b' ' | b'\t' if !self.strict => self.state = Ext,
                    b'\r' => self.state = SizeLf,
                    b'\n' if !self.strict => self.end_size_line(),
                    _ => return Err(FramingError::InvalidChunkSize),
                }
            }
            Ext => match b {
                b'\r' => self.state = SizeLf,
                b'\n' if !self.strict => self.end_size_line(),
                _ if self.strict && !(b == b'\t' || (0x20..0x7f).contains(&b)) => {
                    return Err(FramingError::InvalidChunkExtension)
                }
                _ => {}
            },
            SizeLf => {
                if b != b'\n' {
                    return Err(FramingError::InvalidLineEnd);
                }
                self.end_size_line();
            }
            Data(_) => unreachable!("chunk data is consumed in bulk"),
            DataCr => match b {
                b'\r' => self.state = DataLf,
                b'\n' if !self.strict => self.start_size_line(),
                _ => return Err(FramingError::InvalidLineEnd),
            },
            DataLf => {
                if b != b'\n' {
                    return Err(FramingError::InvalidLineEnd);
                }
                self.start_size_line();
            }
            TrailerStart => match b {
                b'\r' => self.state = FinalLf,
                b'\n' if !self.strict => self.state = Done,
                _ if self.strict => {
                    if !is_tchar(b) {
                        return Err(FramingError::InvalidTrailer);
                    }
                    self.trailer_name_len = 0;
                    self.push_trailer_name(b);
                    self.state = TrailerName;
                }
                _ => self.state = TrailerValue,
            },
            TrailerName => match b {
                b':' => {
                    let n = usize::from(self.trailer_name_len);
                    if n <= TRAILER_NAME_MAX
                        && FORBIDDEN_TRAILERS.contains(&&self.trailer_name[..n])
                    {
                        return Err(FramingError::InvalidTrailer);
                    }
                    self.state = TrailerValue;
                }
                _ if is_tchar(b) => self.push_trailer_name(b),
                _ => return Err(FramingError::InvalidTrailer),
            },
            TrailerValue => match b {
                b'\r' => self.state = TrailerLf,
                b'\n' if !self.strict => self.state = TrailerStart,
                _ if self.strict && (b < 0x20 && b != b'\t' || b == 0x7f) => {
                    return Err(FramingError::InvalidTrailer)
                }
                _ => {}
            },
            TrailerLf => {
                if b != b'\n' {
                    return Err(FramingError::InvalidLineEnd);
                }
                self.state = TrailerStart;
            }
            FinalLf => {
                if b != b'\n' {
                    return Err(FramingError::InvalidLineEnd);
                }
                self.state = Done;
            }
            Done => unreachable!("feed stops at Done"),
        }
        Ok(())
    }
}

impl ChunkedParser {
    fn push_trailer_name(&mut self, b: u8) {
        let n = usize::from(self.trailer_name_len);
        if n < TRAILER_NAME_MAX {
            self.trailer_name[n] = if b == b'_' {
                b'-'
            } else {
                b.to_ascii_lowercase()
            };
            self.trailer_name_len += 1;
        } else {
            self.trailer_name_len = TRAILER_NAME_MAX as u8 + 1;
        }
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// RFC 9110 §5.6.2 token characters.
#[inline]
pub(crate) fn is_tchar(b: u8) -> bool {
    // A table: heads are scanned a byte at a time, and the chain of comparisons was
    // the largest cost of reading a response head.
    TCHAR[usize::from(b)]
}

const fn tchar_slow(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

static TCHAR: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = tchar_slow(i as u8);
        i += 1;
    }
    t
};

/// Finds the end of one message body in a stream of payload slices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFramer {
    /// A `Content-Length` body with this many bytes still to come.
    Fixed {
        /// Bytes of the body not yet seen.
        remaining: u64,
    },
    /// A chunked body.
    Chunked(ChunkedParser),
    /// A body that ends when the sender closes (responses only).
    UntilClose,
    /// The body has ended (or there was none).
    Done,
}

impl BodyFramer {
    /// The framer for a request body: strict chunked parsing.
    pub fn for_request(body: BodyLength) -> Self {
        match body {
            BodyLength::None | BodyLength::Fixed(0) => BodyFramer::Done,
            BodyLength::Fixed(n) => BodyFramer::Fixed { remaining: n },
            BodyLength::Chunked => BodyFramer::Chunked(ChunkedParser::new(true)),
        }
    }

    /// Whether the body has ended.
    pub fn is_complete(&self) -> bool {
        match self {
            BodyFramer::Done => true,
            BodyFramer::Chunked(p) => p.is_done(),
            BodyFramer::Fixed { .. } | BodyFramer::UntilClose => false,
        }
    }

    /// Whether what the body's bytes hold can move its end: only a chunked body's can (a
    /// `Content-Length` body ends after its count of bytes, whatever they are).
    pub fn reads_content(&self) -> bool {
        matches!(self, BodyFramer::Chunked(_))
    }

    /// How many of the next bytes the framer counts without reading (see
    /// [`ChunkedParser::data_run`]); all of a `Content-Length` or close-delimited body's.
    pub fn data_run(&self) -> u64 {
        match self {
            BodyFramer::Fixed { remaining } => *remaining,
            BodyFramer::UntilClose => u64::MAX,
            BodyFramer::Chunked(p) => p.data_run(),
            BodyFramer::Done => 0,
        }
    }

    /// Counts up to `n` of the next bytes without their content, as far as
    /// [`BodyFramer::data_run`] allows (bytes forwarded out of order, no longer held):
    /// how many were counted and whether the body ended there.
    pub fn skip(&mut self, n: u64) -> Feed {
        let (consumed, complete) = match self {
            BodyFramer::Done => (0, true),
            BodyFramer::UntilClose => (n, false),
            BodyFramer::Fixed { remaining } => {
                let k = (*remaining).min(n);
                *remaining -= k;
                (k, *remaining == 0)
            }
            BodyFramer::Chunked(p) => (p.skip(n), false),
        };
        if complete {
            *self = BodyFramer::Done;
        }
        Feed {
            consumed: usize::try_from(consumed).unwrap_or(usize::MAX),
            complete,
        }
    }

    /// Consumes `buf` up to the end of the body. Once complete, consumes nothing.
    pub fn feed(&mut self, buf: &[u8]) -> Result<Feed, FramingError> {
        let feed = match self {
            BodyFramer::Done => Feed {
                consumed: 0,
                complete: true,
            },
            BodyFramer::UntilClose => Feed {
                consumed: buf.len(),
                complete: false,
            },
            BodyFramer::Fixed { remaining } => {
                let n = (*remaining).min(buf.len() as u64);
                *remaining -= n;
                Feed {
                    consumed: n as usize,
                    complete: *remaining == 0,
                }
            }
            BodyFramer::Chunked(p) => p.feed(buf)?,
        };
        if feed.complete {
            *self = BodyFramer::Done;
        }
        Ok(feed)
    }

    /// The sender closed: `Ok` if that ends the body properly (it was complete, or it is
    /// close-delimited, which is then complete), [`FramingError::Truncated`] otherwise.
    pub fn finish(&mut self) -> Result<(), FramingError> {
        match self {
            BodyFramer::UntilClose => {
                *self = BodyFramer::Done;
                Ok(())
            }
            _ if self.is_complete() => Ok(()),
            _ => Err(FramingError::Truncated),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// Random split points of `len` bytes into pieces of 0..=max_piece (empty pieces
    /// included: a pure ACK has an empty payload).
    pub(crate) fn random_pieces(
        rng: &mut StdRng,
        len: usize,
        max_piece: usize,
    ) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < len {
            let n = rng.gen_range(0..=max_piece).min(len - at);
            out.push((at, at + n));
            at += n;
        }
        out
    }

    /// Feeds `stream` to a chunked parser in the given pieces; returns where the body
    /// ended (offset in `stream`) or the error.
    fn chunked_end(
        strict: bool,
        stream: &[u8],
        pieces: &[(usize, usize)],
    ) -> Result<Option<usize>, FramingError> {
        let mut p = ChunkedParser::new(strict);
        for &(a, b) in pieces {
            let f = p.feed(&stream[a..b])?;
            if f.complete {
                return Ok(Some(a + f.consumed));
            }
            assert_eq!(f.consumed, b - a, "an incomplete feed consumes everything");
        }
        Ok(None)
    }

    fn whole(stream: &[u8]) -> Vec<(usize, usize)> {
        vec![(0, stream.len())]
    }

    fn bytewise(stream: &[u8]) -> Vec<(usize, usize)> {
        (0..stream.len()).map(|i| (i, i + 1)).collect()
    }

    const CHUNKED: &[u8] = b"5;name=value;q=\"a b\"\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n000\r\nExpires: never\r\nX-Sum: 42\r\n\r\n";

    #[test]
    fn chunked_all_splits() {
        let mut stream = CHUNKED.to_vec();
        stream.extend_from_slice(b"NEXT");
        let end = CHUNKED.len();
        for strict in [true, false] {
            assert_eq!(chunked_end(strict, &stream, &whole(&stream)), Ok(Some(end)));
            assert_eq!(
                chunked_end(strict, &stream, &bytewise(&stream)),
                Ok(Some(end))
            );
            // Every single split point.
            for cut in 0..stream.len() {
                let pieces = [(0, cut), (cut, stream.len())];
                assert_eq!(
                    chunked_end(strict, &stream, &pieces),
                    Ok(Some(end)),
                    "cut {cut}"
                );
            }
            let mut rng = StdRng::seed_from_u64(0x5eed_0001);
            for _ in 0..500 {
                let pieces = random_pieces(&mut rng, stream.len(), 9);
                assert_eq!(chunked_end(strict, &stream, &pieces), Ok(Some(end)));
            }
        }
    }

    /// `data_run` marks exactly the chunk payload as bytes that cannot move the end:
    /// rewriting all of them changes nothing, and every other byte is read one by one.
    #[test]
    fn data_runs_are_the_chunk_payload() {
        let mut framer = BodyFramer::for_request(BodyLength::Chunked);
        assert!(framer.reads_content());
        let (mut at, mut data) = (0, Vec::new());
        while !framer.is_complete() {
            let run = framer.data_run() as usize;
            let n = run.max(1).min(CHUNKED.len() - at);
            if run > 0 {
                data.extend(at..at + n);
            }
            assert_eq!(framer.feed(&CHUNKED[at..at + n]).unwrap().consumed, n);
            at += n;
        }
        assert_eq!(at, CHUNKED.len());
        let payload: Vec<u8> = data.iter().map(|&i| CHUNKED[i]).collect();
        assert_eq!(payload, b"helloabcdefghijklmnopqrstuvwxyz");
        let mut other = CHUNKED.to_vec();
        for &i in &data {
            other[i] = b'\n';
        }
        let mut framer = BodyFramer::for_request(BodyLength::Chunked);
        let f = framer.feed(&other).unwrap();
        assert_eq!((f.consumed, f.complete), (CHUNKED.len(), true));
        assert_eq!(BodyFramer::for_request(BodyLength::Fixed(9)).data_run(), 9);
        assert!(!BodyFramer::for_request(BodyLength::Fixed(9)).reads_content());
    }

    #[test]
    fn chunked_minimal_and_leading_zeros() {
        for (body, strict) in [
            (&b"0\r\n\r\n"[..], true),
            (b"000000000000001\r\nx\r\n0\r\n\r\n", true),
            (b"0000000000000000000000000000001\r\nx\r\n0\r\n\r\n", false),
            (b"fF\r\n", true),
        ] {
            let r = chunked_end(strict, body, &whole(body));
            if body.starts_with(b"fF") {
                // 255 bytes of data expected: not done yet.
                assert_eq!(r, Ok(None));
            } else {
                assert_eq!(r, Ok(Some(body.len())));
            }
        }
        // The largest size that fits is accepted (and then awaits its data): 2^64 - 1
        // for responses, 2^63 - 1 for requests.
        let big = b"ffffffffffffffff\r\nabc";
        let mut p = ChunkedParser::new(false);
        assert_eq!(
            p.feed(big),
            Ok(Feed {
                consumed: big.len(),
                complete: false
            })
        );
        let big = b"7fffffffffffffff\r\nabc";
        let mut p = ChunkedParser::new(true);
        assert_eq!(p.feed(big).map(|f| f.complete), Ok(false));
        let mut p = ChunkedParser::new(true);
        assert_eq!(
            p.feed(b"8000000000000000\r\n"),
            Err(FramingError::ChunkSizeOverflow)
        );
    }

    #[test]
    fn chunked_invalid_sizes() {
        let cases: [(&[u8], FramingError); 9] = [
            (b"\r\n", FramingError::InvalidChunkSize),
            (b";ext\r\n", FramingError::InvalidChunkSize),
            (b"g\r\n", FramingError::InvalidChunkSize),
            (b"0x10\r\n", FramingError::InvalidChunkSize),
            (b" 5\r\n", FramingError::InvalidChunkSize),
            (b"-1\r\n", FramingError::InvalidChunkSize),
            (b"+5\r\n", FramingError::InvalidChunkSize),
            (b"10000000000000000\r\n", FramingError::ChunkSizeOverflow),
            (b"fffffffffffffffff0\r\n", FramingError::ChunkSizeOverflow),
        ];
        for (body, want) in cases {
            for strict in [true, false] {
                assert_eq!(
                    chunked_end(strict, body, &whole(body)),
                    Err(want),
                    "{body:?}"
                );
                assert_eq!(
                    chunked_end(strict, body, &bytewise(body)),
                    Err(want),
                    "{body:?}"
                );
            }
        }
        // Errors in later chunks too.
        let body = b"1\r\na\r\nz\r\n";
        assert_eq!(
            chunked_end(true, body, &whole(body)),
            Err(FramingError::InvalidChunkSize)
        );
    }

    #[test]
    fn chunked_line_ends() {
        // Data not followed by CRLF: the size was a lie.
        let body = b"3\r\nabcd\r\n0\r\n\r\n";
        for strict in [true, false] {
            assert_eq!(
                chunked_end(strict, body, &whole(body)),
                Err(FramingError::InvalidLineEnd)
            );
        }
        assert_eq!(
            chunked_end(true, b"3\rx", &whole(b"3\rx")),
            Err(FramingError::InvalidLineEnd)
        );
        assert_eq!(
            chunked_end(true, b"0\r\n\rx", &whole(b"0\r\n\rx")),
            Err(FramingError::InvalidLineEnd)
        );
        // Bare LF: rejected in strict mode, accepted in lenient mode.
        let lf = b"3\nabc\n0\n\n";
        assert!(chunked_end(true, lf, &whole(lf)).is_err());
        assert_eq!(chunked_end(false, lf, &whole(lf)), Ok(Some(lf.len())));
        let lf_trailer = b"0\nA: b\n\n";
        assert_eq!(
            chunked_end(false, lf_trailer, &whole(lf_trailer)),
            Ok(Some(lf_trailer.len()))
        );
        assert!(chunked_end(true, lf_trailer, &whole(lf_trailer)).is_err());
    }

    #[test]
    fn chunked_extensions_and_whitespace() {
        // Whitespace before `;`: a known desync between parsers; only lenient accepts it.
        let ws = b"3 ;x=y\r\nabc\r\n0\r\n\r\n";
        assert_eq!(
            chunked_end(true, ws, &whole(ws)),
            Err(FramingError::InvalidChunkSize)
        );
        assert_eq!(chunked_end(false, ws, &whole(ws)), Ok(Some(ws.len())));
        // A bare LF inside an extension would end the line for some parsers only.
        let ext_lf = b"3;x\ny\r\nabc\r\n0\r\n\r\n";
        assert!(chunked_end(true, ext_lf, &whole(ext_lf)).is_err());
        let ctl = b"3;x\x01\r\nabc\r\n0\r\n\r\n";
        assert_eq!(
            chunked_end(true, ctl, &whole(ctl)),
            Err(FramingError::InvalidChunkExtension)
        );
        assert_eq!(chunked_end(false, ctl, &whole(ctl)), Ok(Some(ctl.len())));
    }

    #[test]
    fn chunked_trailers() {
        let bad_name = b"0\r\nBad Name: x\r\n\r\n";
        assert_eq!(
            chunked_end(true, bad_name, &whole(bad_name)),
            Err(FramingError::InvalidTrailer)
        );
        assert_eq!(
            chunked_end(false, bad_name, &whole(bad_name)),
            Ok(Some(bad_name.len()))
        );
        let no_colon = b"0\r\nName\r\n\r\n";
        assert_eq!(
            chunked_end(true, no_colon, &whole(no_colon)),
            Err(FramingError::InvalidTrailer)
        );
        let mut huge = b"0\r\n".to_vec();
        while huge.len() < MAX_TRAILERS as usize + 10 {
            huge.extend_from_slice(b"X-Pad: 0123456789012345678901234567890123456789\r\n");
        }
        huge.extend_from_slice(b"\r\n");
        assert_eq!(
            chunked_end(false, &huge, &whole(&huge)),
            Err(FramingError::TrailersTooLarge)
        );
    }

    #[test]
    fn framing_trailers_refused_only_in_strict_mode() {
        for body in [
            &b"0\r\nContent-Length: 3\r\n\r\n"[..],
            b"0\r\nTRANSFER-ENCODING: chunked\r\n\r\n",
            b"0\r\nHost: x\r\n\r\n",
        ] {
            assert_eq!(
                chunked_end(true, body, &bytewise(body)),
                Err(FramingError::InvalidTrailer)
            );
            assert_eq!(chunked_end(false, body, &whole(body)), Ok(Some(body.len())));
        }
        // Names that only start like a framing field are ordinary trailers.
        let body = b"0\r\nContent-Length-Sum: 3\r\nHosts: 2\r\nTransfer-Encoding-X: y\r\n\r\n";
        assert_eq!(
            chunked_end(true, body, &bytewise(body)),
            Ok(Some(body.len()))
        );
    }

    #[test]
    fn chunked_line_too_long() {
        let mut line = b"1;".to_vec();
        line.resize(MAX_CHUNK_LINE as usize + 5, b'a');
        assert_eq!(
            chunked_end(false, &line, &whole(&line)),
            Err(FramingError::ChunkLineTooLong)
        );
        let mut zeros = vec![b'0'; MAX_CHUNK_LINE as usize + 1];
        zeros.extend_from_slice(b"1\r\n");
        assert_eq!(
            chunked_end(false, &zeros, &whole(&zeros)),
            Err(FramingError::ChunkLineTooLong)
        );
        // Strict mode stops at the seventeenth digit already.
        assert_eq!(
            chunked_end(true, &zeros, &whole(&zeros)),
            Err(FramingError::ChunkSizeOverflow)
        );
    }

    #[test]
    fn done_consumes_nothing() {
        let mut p = ChunkedParser::new(true);
        assert_eq!(
            p.feed(b"0\r\n\r\nGET"),
            Ok(Feed {
                consumed: 5,
                complete: true
            })
        );
        assert!(p.is_done());
        assert_eq!(
            p.feed(b"more"),
            Ok(Feed {
                consumed: 0,
                complete: true
            })
        );
    }

    #[test]
    fn body_framer_fixed() {
        let mut f = BodyFramer::for_request(BodyLength::Fixed(10));
        assert_eq!(
            f.feed(b"0123"),
            Ok(Feed {
                consumed: 4,
                complete: false
            })
        );
        assert_eq!(
            f.feed(b""),
            Ok(Feed {
                consumed: 0,
                complete: false
            })
        );
        assert_eq!(f.finish(), Err(FramingError::Truncated));
        assert_eq!(
            f.feed(b"456789GET /"),
            Ok(Feed {
                consumed: 6,
                complete: true
            })
        );
        assert!(f.is_complete());
        assert_eq!(
            f.feed(b"x"),
            Ok(Feed {
                consumed: 0,
                complete: true
            })
        );
        assert_eq!(f.finish(), Ok(()));
    }

    #[test]
    fn body_framer_none_and_chunked() {
        let mut f = BodyFramer::for_request(BodyLength::None);
        assert!(f.is_complete());
        assert_eq!(
            f.feed(b"GET"),
            Ok(Feed {
                consumed: 0,
                complete: true
            })
        );
        let mut f = BodyFramer::for_request(BodyLength::Chunked);
        assert_eq!(
            f.feed(b"2\r\nhi\r\n"),
            Ok(Feed {
                consumed: 7,
                complete: false
            })
        );
        assert_eq!(f.finish(), Err(FramingError::Truncated));
        // Strict for requests.
        assert_eq!(f.feed(b"0\n"), Err(FramingError::InvalidChunkSize));
        let mut f = BodyFramer::UntilClose;
        assert_eq!(
            f.feed(b"abc"),
            Ok(Feed {
                consumed: 3,
                complete: false
            })
        );
        assert_eq!(f.finish(), Ok(()));
        assert!(f.is_complete());
    }

    #[test]
    fn counter_names_are_distinct() {
        let all = [
            FramingError::InvalidStatusLine,
            FramingError::InvalidHeader,
            FramingError::HeadTooLarge,
            FramingError::InvalidContentLength,
            FramingError::ConflictingContentLength,
            FramingError::ContentLengthAndTransferEncoding,
            FramingError::TransferEncodingInHttp10,
            FramingError::InvalidChunkSize,
            FramingError::ChunkSizeOverflow,
            FramingError::InvalidChunkExtension,
            FramingError::InvalidLineEnd,
            FramingError::InvalidTrailer,
            FramingError::ChunkLineTooLong,
            FramingError::TrailersTooLarge,
            FramingError::Truncated,
        ];
        let mut names: Vec<&str> = all.iter().map(|e| e.counter_name()).collect();
        assert!(names.iter().all(|n| n.starts_with("framing_")));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
        assert!(all.iter().all(|e| !e.to_string().is_empty()));
    }
}
