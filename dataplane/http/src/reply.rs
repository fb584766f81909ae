//! Responses Splicer originates itself: refusals and errors, and HTTP redirects (Cisco's
//! "Server load balancing method and system", US 7,099,915), written into a caller's
//! buffer without allocating.
//!
//! Every such response says `Connection: close`: Splicer sends it and closes, so the
//! client never has to frame a second message on the connection. The body is a few
//! lines of HTML with an exact `Content-Length`. A response to a HEAD request carries the
//! body too; that is harmless here because the connection closes right after it, and it
//! keeps these functions free of a method argument.

/// The reason phrase of a status code Splicer may send, or `"Unknown"`.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        414 => "URI Too Long",
        417 => "Expectation Failed",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

/// A byte sink that either counts or writes; lets the body be measured for
/// `Content-Length` without a scratch buffer.
trait Out {
    fn put(&mut self, bytes: &[u8]);
}

struct Counter(usize);

impl Out for Counter {
    fn put(&mut self, bytes: &[u8]) {
        self.0 += bytes.len();
    }
}

struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
    overflow: bool,
}

impl Out for Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        if self.overflow || self.buf.len() - self.pos < bytes.len() {
            self.overflow = true;
            return;
        }
        self.buf[self.pos..self.pos + bytes.len()].copy_from_slice(bytes);
        self.pos += bytes.len();
    }
}

fn put_decimal(out: &mut dyn Out, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.put(&digits[i..]);
}

/// Text for an HTML body: markup characters escaped, control characters dropped.
fn put_html(out: &mut dyn Out, text: &str) {
    for &b in text.as_bytes() {
        match b {
            b'&' => out.put(b"&amp;"),
            b'<' => out.put(b"&lt;"),
            b'>' => out.put(b"&gt;"),
            b'"' => out.put(b"&quot;"),
            b'\'' => out.put(b"&#39;"),
            _ if b < 0x20 || b == 0x7f => {}
            _ => out.put(&[b]),
        }
    }
}

/// A reason phrase for the status line: only HTAB, SP and visible ASCII
/// (RFC 9112 §4), anything else becomes a space, so no caller string can end the line.
fn put_reason(out: &mut dyn Out, reason: &str) {
    for &b in reason.as_bytes() {
        if b == b'\t' || (0x20..0x7f).contains(&b) {
            out.put(&[b]);
        } else {
            out.put(b" ");
        }
    }
}

fn put_title(out: &mut dyn Out, status: u16, reason: &str) {
    put_decimal(out, u64::from(status));
    out.put(b" ");
    put_html(out, reason);
}

fn error_body(out: &mut dyn Out, status: u16, reason: &str) {
    out.put(b"<html><head><title>");
    put_title(out, status, reason);
    out.put(b"</title></head><body><h1>");
    put_title(out, status, reason);
    out.put(b"</h1><hr><p>Splicer</p></body></html>\n");
}

fn redirect_body(out: &mut dyn Out, status: u16, location: &str) {
    let reason = reason_phrase(status);
    out.put(b"<html><head><title>");
    put_title(out, status, reason);
    out.put(b"</title></head><body><h1>");
    put_title(out, status, reason);
    out.put(b"</h1><p>The document has moved <a href=\"");
    put_html(out, location);
    out.put(b"\">here</a>.</p></body></html>\n");
}

fn write_response(
    buf: &mut [u8],
    status: u16,
    reason: &str,
    location: Option<&str>,
    retry_after: Option<u32>,
    body: impl Fn(&mut dyn Out),
) -> usize {
    let mut len = Counter(0);
    body(&mut len);

    let mut w = Writer {
        buf,
        pos: 0,
        overflow: false,
    };
    w.put(b"HTTP/1.1 ");
    put_decimal(&mut w, u64::from(status));
    w.put(b" ");
    put_reason(&mut w, reason);
    w.put(b"\r\nServer: Splicer\r\n");
    if let Some(loc) = location {
        w.put(b"Location: ");
        w.put(loc.as_bytes());
        w.put(b"\r\n");
    }
    if let Some(secs) = retry_after {
        w.put(b"Retry-After: ");
        put_decimal(&mut w, u64::from(secs));
        w.put(b"\r\n");
    }
    w.put(b"Content-Type: text/html\r\nContent-Length: ");
    put_decimal(&mut w, len.0 as u64);
    w.put(b"\r\nConnection: close\r\n\r\n");
    body(&mut w);
    if w.overflow {
        0
    } else {
        w.pos
    }
}

/// Writes an error response (`status` with `reason` in the status line and an HTML
/// body, `Content-Length`, `Connection: close`, `Content-Type: text/html`,
/// `Server: Splicer`) into `buf` and returns its length, or 0 when it does not fit
/// (a 512-byte buffer fits any standard reason phrase). A status outside 100..=599 is
/// sent as 500; characters that could end the status line are replaced by spaces.
pub fn error_response(status: u16, reason: &str, buf: &mut [u8]) -> usize {
    let status = if (100..=599).contains(&status) {
        status
    } else {
        500
    };
    write_response(buf, status, reason, None, None, |out| {
        error_body(out, status, reason)
    })
}

/// Writes `503 Service Unavailable` with `Retry-After: retry_after` (seconds, RFC 9110
/// §10.2.3) into `buf`, as [`error_response`] does: the answer to a request that found
/// every server of its set at its high-water mark and the queue full, or that waited
/// in the queue too long. Returns its length, or 0 when it does not fit.
pub fn busy_response(retry_after: u32, buf: &mut [u8]) -> usize {
    let reason = reason_phrase(503);
    write_response(buf, 503, reason, None, Some(retry_after), |out| {
        error_body(out, 503, reason)
    })
}

/// Writes a redirect to `location` with status `code` into `buf` and returns its length,
/// or 0 when it does not fit or `location` holds a byte that cannot appear in a header
/// (control characters, space, DEL: a CR or LF there would let a request inject
/// headers). Codes other than 301, 302, 303, 307 and 308 are sent as 302, the default of
/// US 7,099,915.
pub fn redirect_response(code: u16, location: &str, buf: &mut [u8]) -> usize {
    let code = match code {
        301 | 302 | 303 | 307 | 308 => code,
        _ => 302,
    };
    if location.is_empty() || location.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return 0;
    }
    write_response(
        buf,
        code,
        reason_phrase(code),
        Some(location),
        None,
        |out| redirect_body(out, code, location),
    )
}

/// Expands the macros of US 7,099,915 (Cisco's "Server load balancing method and
/// system") in a redirect URL template.
///
/// * `%h`: the host the client asked for (the request's `Host`, without port);
/// * `%s`: `port`, the port the client connected to;
/// * `%d`: the document the client asked for: `path` (pass
///   [`crate::request::RequestHead::path_and_query`]) without its leading `/`;
/// * `%%`: a literal `%`.
///
/// Any other `%x`, and a `%` at the end, is copied unchanged, so a percent-encoded URL
/// (`%20`) in the template survives.
///
/// The patent calls `%d` "directory" and gives `http://%h/new/%d` as its example. Its
/// purpose is to "retain portions of the original request", so that the client, sent to
/// another server, asks that server for the same document: the whole path and query,
/// not just the directory part, or the redirect would lose the page asked for. The
/// leading `/` is dropped because the example puts its own `/` before `%d`: with
/// `GET /a/b.html`, `http://%h/new/%d` gives `http://host/new/a/b.html`, and with
/// `GET /` it gives `http://host/new/`.
pub fn expand_url_macros(template: &str, host: &str, port: u16, path: &str) -> String {
    let document = path.strip_prefix('/').unwrap_or(path);
    let mut out = String::with_capacity(template.len() + host.len() + document.len());
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some('h') => out.push_str(host),
            Some('s') => out.push_str(&port.to_string()),
            Some('d') => out.push_str(document),
            Some('%') => out.push('%'),
            _ => {
                out.push('%');
                continue;
            }
        }
        chars.next();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Parsed {
        code: u16,
        reason: String,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    }

    fn parse(resp: &[u8]) -> Parsed {
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut r = httparse::Response::new(&mut headers);
        let len = match r.parse(resp).expect("parses") {
            httparse::Status::Complete(n) => n,
            httparse::Status::Partial => panic!("partial"),
        };
        let parsed = Parsed {
            code: r.code.unwrap(),
            reason: r.reason.unwrap().to_string(),
            headers: r
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_string(),
                        String::from_utf8(h.value.to_vec()).unwrap(),
                    )
                })
                .collect(),
            body: resp[len..].to_vec(),
        };
        let cl: usize = parsed.header("Content-Length").parse().unwrap();
        assert_eq!(cl, parsed.body.len(), "Content-Length is exact");
        assert_eq!(parsed.header("Connection"), "close");
        assert_eq!(parsed.header("Server"), "Splicer");
        assert_eq!(parsed.header("Content-Type"), "text/html");
        parsed
    }

    impl Parsed {
        fn header(&self, name: &str) -> &str {
            &self
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .unwrap_or_else(|| panic!("no {name}"))
                .1
        }
    }

    #[test]
    fn error_responses_parse() {
        for status in [400u16, 417, 431, 501, 502, 503, 504, 505] {
            let mut buf = [0u8; 512];
            let n = error_response(status, reason_phrase(status), &mut buf);
            assert!(n > 0);
            let p = parse(&buf[..n]);
            assert_eq!(p.code, status);
            assert_eq!(p.reason, reason_phrase(status));
            let body = String::from_utf8(p.body).unwrap();
            assert!(body.contains(&format!("<h1>{status} {}</h1>", reason_phrase(status))));
        }
    }

    #[test]
    fn busy_response_says_when_to_retry() {
        let mut buf = [0u8; 512];
        let n = busy_response(7, &mut buf);
        let p = parse(&buf[..n]);
        assert_eq!((p.code, p.reason.as_str()), (503, "Service Unavailable"));
        assert_eq!(p.header("Retry-After"), "7");
        assert_eq!(p.header("Connection"), "close");
        assert!(String::from_utf8(p.body).unwrap().contains("<h1>503 "));
        // An error response has no Retry-After.
        let n = error_response(503, reason_phrase(503), &mut buf);
        assert!(!String::from_utf8_lossy(&buf[..n]).contains("Retry-After"));
        assert_eq!(busy_response(1, &mut [0u8; 16]), 0);
    }

    #[test]
    fn error_response_for_a_refusal() {
        use crate::request::Refusal;
        let r = Refusal::TooManyHeaders;
        let mut buf = [0u8; 512];
        let n = error_response(r.status(), r.reason(), &mut buf);
        let p = parse(&buf[..n]);
        assert_eq!(p.code, 431);
        assert_eq!(p.reason, "Request Header Fields Too Large");
    }

    #[test]
    fn error_response_sanitizes() {
        let mut buf = [0u8; 1024];
        let n = error_response(400, "Bad\r\nSet-Cookie: x=1\r\n\r\n<script>", &mut buf);
        let p = parse(&buf[..n]);
        assert!(p.headers.iter().all(|(k, _)| k != "Set-Cookie"));
        let body = String::from_utf8(p.body).unwrap();
        assert!(!body.contains("<script>"));
        assert!(body.contains("&lt;script&gt;"));
        // A status that cannot be sent becomes 500.
        let n = error_response(42, "Odd", &mut buf);
        assert_eq!(parse(&buf[..n]).code, 500);
        let n = error_response(1000, "Odd", &mut buf);
        assert_eq!(parse(&buf[..n]).code, 500);
    }

    #[test]
    fn error_response_does_not_fit() {
        let mut full = [0u8; 512];
        let n = error_response(400, "Bad Request", &mut full);
        let mut small = vec![0u8; n - 1];
        assert_eq!(error_response(400, "Bad Request", &mut small), 0);
        let mut exact = vec![0u8; n];
        assert_eq!(error_response(400, "Bad Request", &mut exact), n);
        assert_eq!(exact, &full[..n]);
        assert_eq!(error_response(400, "Bad Request", &mut []), 0);
    }

    #[test]
    fn redirects_parse() {
        for code in [301u16, 302, 303, 307, 308] {
            let mut buf = [0u8; 1024];
            let loc = "http://coyote.acme.com/new/a/b.html?x=1&y=2";
            let n = redirect_response(code, loc, &mut buf);
            assert!(n > 0);
            let p = parse(&buf[..n]);
            assert_eq!(p.code, code);
            assert_eq!(p.reason, reason_phrase(code));
            assert_eq!(p.header("Location"), loc);
            let body = String::from_utf8(p.body).unwrap();
            assert!(body.contains("<a href=\"http://coyote.acme.com/new/a/b.html?x=1&amp;y=2\">"));
        }
        let mut buf = [0u8; 1024];
        let n = redirect_response(200, "http://a/", &mut buf);
        assert_eq!(parse(&buf[..n]).code, 302);
    }

    #[test]
    fn redirect_location_injection_refused() {
        let mut buf = [0u8; 1024];
        for loc in [
            "http://a/\r\nSet-Cookie: x",
            "http://a/ b",
            "http://a/\x7f",
            "",
        ] {
            assert_eq!(redirect_response(302, loc, &mut buf), 0, "{loc:?}");
        }
        let quote = "http://a/\"onmouseover=\"x";
        let n = redirect_response(302, quote, &mut buf);
        let body = String::from_utf8(parse(&buf[..n]).body).unwrap();
        assert!(body.contains("&quot;onmouseover=&quot;"));
        let mut small = [0u8; 64];
        assert_eq!(redirect_response(302, "http://a/", &mut small), 0);
    }

    #[test]
    fn seed_macro_example() {
        // US 7,099,915: `GET / HTTP/1.0` with `Host: www.acme.com`, template
        // http://%h/new/%d.
        assert_eq!(
            expand_url_macros("http://%h/new/%d", "www.acme.com", 80, "/"),
            "http://www.acme.com/new/"
        );
        assert_eq!(
            expand_url_macros("http://%h/new/%d", "www.acme.com", 80, "/cart.html"),
            "http://www.acme.com/new/cart.html"
        );
        // The real server's URL keeps the document asked for.
        assert_eq!(
            expand_url_macros(
                "http://coyote.acme.com/%d",
                "www.acme.com",
                80,
                "/images/logo.gif?v=2"
            ),
            "http://coyote.acme.com/images/logo.gif?v=2"
        );
    }

    #[test]
    fn macro_port_and_escapes() {
        assert_eq!(
            expand_url_macros("https://%h:%s/%d", "shop.acme.com", 8443, "/checkout.html"),
            "https://shop.acme.com:8443/checkout.html"
        );
        assert_eq!(
            expand_url_macros("http://a/100%%", "h", 1, "/"),
            "http://a/100%"
        );
        assert_eq!(
            expand_url_macros("http://a/%x%20%", "h", 1, "/"),
            "http://a/%x%20%"
        );
        assert_eq!(expand_url_macros("%h%h%s%d%d", "h", 7, "/p"), "hh7pp");
        assert_eq!(expand_url_macros("%%h", "h", 1, "/"), "%h");
        assert_eq!(
            expand_url_macros("http://a/é/%d", "h", 1, "/ü"),
            "http://a/é/ü"
        );
        assert_eq!(expand_url_macros("", "h", 1, "/"), "");
        // A path without a leading slash (`*`) is inserted as is.
        assert_eq!(expand_url_macros("http://%h/%d", "h", 1, "*"), "http://h/*");
    }

    #[test]
    fn macros_from_a_parsed_request() {
        use crate::request::{parse_head, HeadStatus};
        let req = b"GET /new/x.html?q=1 HTTP/1.0\r\nUser-Agent: Mozilla/4.5 [en] (WinNT;U)\r\nHost: WWW.acme.com:8080\r\n\r\n";
        let HeadStatus::Complete(h) = parse_head(req, 1024) else {
            panic!()
        };
        let url = expand_url_macros(
            "http://coyote.acme.com:%s/%d",
            h.host(),
            8080,
            h.path_and_query(),
        );
        assert_eq!(url, "http://coyote.acme.com:8080/new/x.html?q=1");
        let mut buf = [0u8; 1024];
        let n = redirect_response(302, &url, &mut buf);
        assert_eq!(parse(&buf[..n]).header("Location"), url);
    }
}
