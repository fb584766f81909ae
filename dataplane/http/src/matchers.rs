//! Content rules: choose a server pool by what a request head says.
//!
//! Paths are compared as sent, on the path without the query string, with no
//! percent-decoding and no dot-segment removal. The server sees the raw bytes Splicer
//! forwards, so a rule has to match exactly those: decoding here would let `/%61dmin`
//! match a rule for `/admin` while a server that does not decode serves something else,
//! and the reverse (a rule on the decoded form) lets clients walk around a rule by
//! encoding one byte. Write rules in the form the application's URLs use. Matching is
//! byte-wise and case-sensitive for paths (paths are case-sensitive on most servers).
//!
//! A prefix is a plain byte prefix: `/api` also matches `/apix`; write `/api/` to mean
//! the directory.

use crate::request::{Method, RequestHead};

/// One condition on a request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matcher {
    /// The path (without query) starts with this string, byte for byte.
    PathPrefix(String),
    /// The path (without query) ends with this string, byte for byte (`.jpg`).
    PathSuffix(String),
    /// The request's host equals this one, ASCII case-insensitively; a port in either is
    /// ignored (`Example.com:8080` matches a request for `example.com`).
    Host(String),
    /// The method is this one ([`Method::Other`] matches every method without a variant
    /// of its own).
    Method(Method),
    /// Some header field called `name` (ASCII case-insensitive) has exactly `value` (byte
    /// for byte, case-sensitive, after removing surrounding whitespace). Header values
    /// are too varied for a general case rule (tokens are case-insensitive, cookies and
    /// tokens of authentication are not); exact equality never matches more than meant.
    Header {
        /// The field name.
        name: String,
        /// The whole field value.
        value: String,
    },
    /// Some `Cookie` header field carries a cookie called `name` (case-sensitive) with
    /// exactly `value` (byte for byte; a quoted value keeps its quotes, as RFC 6265
    /// §4.1.1 makes them part of it). One cookie, not the whole header: see
    /// [`cookie_values`] for how the header is split.
    Cookie {
        /// The cookie name.
        name: String,
        /// The cookie value.
        value: String,
    },
}

/// The values of every cookie called `name` in a `Cookie` field value, in order.
///
/// The field is split as RFC 6265 §5.4 writes it (`name=value` pairs separated by
/// `"; "`), read leniently the way servers do (§5.2's rules for a pair): pairs split on
/// `;`, whitespace around a pair, its name and its value removed, a pair split at its
/// first `=`, and a pair without `=` or with an empty name ignored. Names compare
/// case-sensitively (cookie names are).
pub fn cookie_values<'a>(field: &'a [u8], name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
    field.split(|&b| b == b';').filter_map(move |pair| {
        let eq = pair.iter().position(|&b| b == b'=')?;
        let (n, v) = (trim_ows(&pair[..eq]), trim_ows(&pair[eq + 1..]));
        (!n.is_empty() && n == name.as_bytes()).then_some(v)
    })
}

/// `bytes` without leading and trailing spaces and tabs.
fn trim_ows(bytes: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes.iter().position(|b| !is_ows(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |e| e + 1);
    &bytes[start..end]
}

/// Strips a `:port` from a host (keeping an IPv6 literal's brackets).
fn without_port(host: &str) -> &str {
    if host.starts_with('[') {
        return match host.find(']') {
            Some(end) => &host[..=end],
            None => host,
        };
    }
    match host.rfind(':') {
        Some(colon) => &host[..colon],
        None => host,
    }
}

impl Matcher {
    /// Whether `head` satisfies this condition.
    pub fn matches(&self, head: &RequestHead) -> bool {
        match self {
            Matcher::PathPrefix(p) => head.path().starts_with(p.as_str()),
            Matcher::PathSuffix(s) => head.path().ends_with(s.as_str()),
            Matcher::Host(h) => without_port(h).eq_ignore_ascii_case(head.host()),
            Matcher::Method(m) => head.method() == *m,
            Matcher::Header { name, value } => {
                head.header_values(name).any(|v| v == value.as_bytes())
            }
            Matcher::Cookie { name, value } => head
                .header_values("cookie")
                .any(|field| cookie_values(field, name).any(|v| v == value.as_bytes())),
        }
    }
}

/// A content rule: it matches when all of its matchers do. A rule with no matchers
/// matches every request (a catch-all, to put last).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rule {
    /// The conditions, all of which must hold.
    pub matchers: Vec<Matcher>,
}

impl Rule {
    /// A rule of these matchers.
    pub fn new(matchers: Vec<Matcher>) -> Self {
        Rule { matchers }
    }

    /// Whether every matcher matches `head`.
    pub fn matches(&self, head: &RequestHead) -> bool {
        self.matchers.iter().all(|m| m.matches(head))
    }
}

/// The index of the first rule that matches `head`, in order; `None` if none does.
pub fn first_match(rules: &[Rule], head: &RequestHead) -> Option<usize> {
    rules.iter().position(|r| r.matches(head))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{parse_head, HeadStatus};

    fn head(req: &str) -> RequestHead {
        match parse_head(req.as_bytes(), 8192) {
            HeadStatus::Complete(h) => h,
            other => panic!("{other:?}"),
        }
    }

    fn get(path: &str, host: &str) -> RequestHead {
        head(&format!(
            "GET {path} HTTP/1.1\r\nHost: {host}\r\nX-Tenant: blue\r\nAccept: text/html\r\n\r\n"
        ))
    }

    #[test]
    fn path_prefix() {
        let m = Matcher::PathPrefix("/api/".into());
        assert!(m.matches(&get("/api/v1/users", "a")));
        assert!(m.matches(&get("/api/", "a")));
        assert!(!m.matches(&get("/api", "a")));
        assert!(!m.matches(&get("/API/v1", "a")));
        // The query string is not part of the path.
        assert!(!Matcher::PathPrefix("/x?a".into()).matches(&get("/x?a=1", "a")));
        // Plain byte prefix.
        assert!(Matcher::PathPrefix("/api".into()).matches(&get("/apix", "a")));
        // No percent-decoding: the rule sees what the server sees.
        assert!(!m.matches(&get("/%61pi/v1", "a")));
        assert!(Matcher::PathPrefix("/%61pi/".into()).matches(&get("/%61pi/v1", "a")));
    }

    #[test]
    fn path_suffix() {
        let m = Matcher::PathSuffix(".jpg".into());
        assert!(m.matches(&get("/img/a.jpg", "a")));
        assert!(m.matches(&get("/img/a.jpg?w=100", "a")));
        assert!(!m.matches(&get("/img/a.JPG", "a")));
        assert!(!m.matches(&get("/img/a.jpg/x", "a")));
        assert!(!m.matches(&get("/x?f=a.jpg", "a")));
    }

    #[test]
    fn host() {
        let m = Matcher::Host("Images.Example.com".into());
        assert!(m.matches(&get("/", "images.example.com")));
        assert!(m.matches(&get("/", "IMAGES.example.COM:8080")));
        assert!(!m.matches(&get("/", "example.com")));
        assert!(!m.matches(&get("/", "images.example.com.evil")));
        assert!(
            Matcher::Host("images.example.com:81".into()).matches(&get("/", "images.example.com"))
        );
        assert!(Matcher::Host("[::1]:80".into()).matches(&get("/", "[::1]")));
        assert!(Matcher::Host("[::1]".into()).matches(&get("/", "[::1]:8080")));
        // The authority of an absolute-form target is the host.
        let abs =
            head("GET http://images.example.com/x HTTP/1.1\r\nHost: images.example.com\r\n\r\n");
        assert!(m.matches(&abs));
    }

    #[test]
    fn method() {
        let post = head("POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\n");
        assert!(Matcher::Method(Method::Post).matches(&post));
        assert!(!Matcher::Method(Method::Get).matches(&post));
        let odd = head("PROPFIND /f HTTP/1.1\r\nHost: a\r\n\r\n");
        assert!(Matcher::Method(Method::Other).matches(&odd));
    }

    #[test]
    fn header() {
        let h = get("/", "a");
        let m = |name: &str, value: &str| Matcher::Header {
            name: name.into(),
            value: value.into(),
        };
        assert!(m("x-tenant", "blue").matches(&h));
        assert!(m("X-TENANT", "blue").matches(&h));
        assert!(!m("x-tenant", "Blue").matches(&h));
        assert!(!m("x-tenant", "blu").matches(&h));
        assert!(!m("x-tenant2", "blue").matches(&h));
        // Any field line of that name may match.
        let two = head("GET / HTTP/1.1\r\nHost: a\r\nX-T: one\r\nX-T:  two \r\n\r\n");
        assert!(m("x-t", "two").matches(&two));
        assert!(m("x-t", "one").matches(&two));
    }

    #[test]
    fn cookie() {
        let m = |name: &str, value: &str| Matcher::Cookie {
            name: name.into(),
            value: value.into(),
        };
        let with = |cookies: &[&str]| {
            let fields: String = cookies.iter().map(|c| format!("Cookie: {c}\r\n")).collect();
            head(&format!("GET / HTTP/1.1\r\nHost: a\r\n{fields}\r\n"))
        };
        let h = with(&["theme=dark; session=blue; lang=en"]);
        assert!(m("session", "blue").matches(&h));
        assert!(m("theme", "dark").matches(&h));
        assert!(m("lang", "en").matches(&h));
        // One cookie's exact value, not a part of the header.
        assert!(!m("session", "blu").matches(&h));
        assert!(!m("session", "blue; lang=en").matches(&h));
        assert!(!m("session", "Blue").matches(&h));
        // Names are case-sensitive and whole.
        assert!(!m("Session", "blue").matches(&h));
        assert!(!m("ession", "blue").matches(&h));
        assert!(!m("session2", "blue").matches(&h));
        // Several Cookie fields: any of them.
        let two = with(&["a=1", "session=blue"]);
        assert!(m("session", "blue").matches(&two));
        assert!(m("a", "1").matches(&two));
        // Lenient spacing, a value with '=' in it, pairs without '=' or a name ignored.
        let odd = with(&["  x = y ;session=blue ;;junk; =v; tok=a=b"]);
        assert!(m("session", "blue").matches(&odd));
        assert!(m("x", "y").matches(&odd));
        assert!(m("tok", "a=b").matches(&odd));
        assert!(!m("junk", "").matches(&odd));
        assert!(!m("", "v").matches(&odd));
        // An empty value is a value.
        assert!(m("e", "").matches(&with(&["e=; f=1"])));
        // Quotes are part of the value (RFC 6265 §4.1.1).
        let quoted = with(&["session=\"blue\""]);
        assert!(m("session", "\"blue\"").matches(&quoted));
        assert!(!m("session", "blue").matches(&quoted));
        // Not another header that happens to look like a cookie.
        let other = head("GET / HTTP/1.1\r\nHost: a\r\nX-Cookie: session=blue\r\n\r\n");
        assert!(!m("session", "blue").matches(&other));
        assert!(!m("session", "blue").matches(&get("/", "a")));
        // A duplicate name: any of its values.
        let dup = with(&["session=red; session=blue"]);
        assert!(m("session", "red").matches(&dup) && m("session", "blue").matches(&dup));
    }

    #[test]
    fn rules_and_first_match() {
        let rules = vec![
            Rule::new(vec![
                Matcher::Host("static.example.com".into()),
                Matcher::PathSuffix(".css".into()),
            ]),
            Rule::new(vec![
                Matcher::PathPrefix("/api/".into()),
                Matcher::Method(Method::Get),
            ]),
            Rule::new(vec![Matcher::PathPrefix("/api/".into())]),
            Rule::default(),
        ];
        assert_eq!(
            first_match(&rules, &get("/s/site.css", "static.example.com")),
            Some(0)
        );
        assert_eq!(
            first_match(&rules, &get("/s/site.css", "www.example.com")),
            Some(3)
        );
        assert_eq!(
            first_match(&rules, &get("/api/x", "www.example.com")),
            Some(1)
        );
        let post = head("POST /api/x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\n");
        assert_eq!(first_match(&rules, &post), Some(2));
        assert_eq!(first_match(&rules[..3], &get("/other", "a")), None);
        assert_eq!(first_match(&[], &get("/other", "a")), None);
        assert!(Rule::default().matches(&get("/", "a")));
    }
}
