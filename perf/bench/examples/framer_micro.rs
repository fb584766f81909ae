//! Runs the response framer over an nginx-like response head N times, for instruction
//! counts under callgrind (`ResponseFramer::feed`, per head = its total / N):
//!
//! ```sh
//! cargo build --release -p splicer-bench --example framer_micro
//! valgrind --tool=callgrind target/release/examples/framer_micro 100000
//! ```
//!
//! The packet scenarios' servers send minimal heads (`HTTP/1.1 200 OK` and a
//! Content-Length); a real server's head is ten times longer, mostly in fields Splicer
//! does not read (Server, Date, Content-Type, Last-Modified, ETag, ...).

#![forbid(unsafe_code)]

use splicer_http::ResponseFramer;
use std::hint::black_box;

/// What nginx 1.22 sends for a static file (263 bytes).
const HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Mon, 23 Nov 2026 19:00:00 GMT\r\nContent-Type: application/octet-stream\r\nContent-Length: 100\r\nLast-Modified: Sat, 01 Jan 2000 00:00:00 GMT\r\nConnection: keep-alive\r\nETag: \"386d4380-64\"\r\nAccept-Ranges: bytes\r\n\r\n";

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let mut framer = ResponseFramer::new(false);
    let mut consumed = 0usize;
    for _ in 0..n {
        framer.reset(false);
        let f = framer.feed(black_box(HEAD)).expect("a valid head");
        assert!(!f.complete, "the body is still to come");
        consumed += f.consumed;
    }
    assert_eq!(consumed as u64, n * HEAD.len() as u64);
    println!("{n} heads of {} bytes framed", HEAD.len());
}
