//! HTTP/1.x logic for Splicer, a packet-level content switch.
//!
//! Splicer terminates a client's TCP connection, reads the request head, picks a server
//! by content rules and then splices the client connection onto a pooled server
//! connection by rewriting packets; payload bytes are never copied. What that needs from
//! HTTP is here, free of DPDK and of any packet type, working on byte slices:
//!
//! * [`request`]: strict parsing of a request head, refusing anything two parsers could
//!   read differently (request smuggling);
//! * [`matchers`]: content rules (path prefix or suffix, host, method, header, cookie);
//! * [`response`]: a streaming framer that finds the end of each response across packet
//!   boundaries, so a pooled connection is known to be free again;
//! * [`body`]: the streaming `Content-Length` and chunked body framers both use;
//! * [`rewrite`]: inserting `Connection: Keep-Alive` into HTTP/1.0 requests forwarded on
//!   pooled connections, with the "Bytes Added" the sequence translation needs;
//! * [`server_close`]: a client's `Connection: close` kept off the pooled server
//!   connection, and written into the response instead;
//! * [`reply`]: error and redirect responses Splicer originates, and the `%h %s %d`
//!   redirect URL macros.
//!
//! ```
//! use splicer_http::{first_match, parse_head, HeadStatus, Matcher, ResponseFramer, Rule};
//!
//! let rules = vec![
//!     Rule::new(vec![Matcher::PathPrefix("/api/".into())]),
//!     Rule::default(), // catch-all
//! ];
//! let received = b"GET /api/users?id=7 HTTP/1.1\r\nHost: shop.example\r\n\r\n";
//! let head = match parse_head(received, 8192) {
//!     HeadStatus::Complete(head) => head,
//!     HeadStatus::Partial => return, // wait for more bytes
//!     HeadStatus::Rejected(refusal) => panic!("answer {} and close", refusal.status()),
//! };
//! assert_eq!(first_match(&rules, &head), Some(0));
//!
//! // The server's response arrives in pieces; the framer says where it ends.
//! let mut framer = ResponseFramer::new(false);
//! assert!(!framer.feed(b"HTTP/1.1 200 OK\r\nContent-Le").unwrap().complete);
//! let feed = framer.feed(b"ngth: 2\r\n\r\n{}HTTP/1.1 ...").unwrap();
//! assert!(feed.complete);
//! assert_eq!(feed.consumed, 13); // the rest belongs to the next response
//! assert!(framer.reusable()); // the pooled connection is free again
//! ```
//!
//! Per-packet paths ([`response::ResponseFramer::feed`], [`body::BodyFramer::feed`])
//! neither allocate nor buffer. Parsing a complete request head allocates once (a copy of
//! the head); partial heads do not.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod body;
pub mod forward;
pub mod matchers;
pub mod reply;
pub mod request;
pub mod response;
pub mod rewrite;
pub mod server_close;

pub use body::{BodyFramer, ChunkedParser, Feed, FramingError};
pub use forward::{forwarded_head, write_forwarded, ForwardFor, Incoming};
pub use matchers::{first_match, Matcher, Rule};
pub use reply::{
    busy_response, error_response, expand_url_macros, reason_phrase, redirect_response,
};
pub use request::{
    parse_head, parse_head_with, BodyLength, HeadStatus, Method, ParseOptions, Refusal, RequestHead,
};
pub use response::{ResponseBody, ResponseFramer, StatusClass};
pub use rewrite::{apply, keep_alive_insertion, Insertion};
pub use server_close::{strip_close, strips_close, ServerClose, CLOSE_IN_PLACE};
