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
