//! What a routing decision is made for (`Farm::decide_for`): a request head, or a
//! `tcp` virtual's connection, which has none.

use splicer_http::RequestHead;

/// What a routing decision is made for: a request head, or a `tcp` virtual's
/// connection ([`Connection`]). Generic rather than an `Option`, so that the request
/// path is compiled as if the other did not exist.
pub trait Routed {
    /// Whether it opens a server connection of its own (never a pooled one).
    const FRESH: bool;
    /// The request head, if there is one.
    fn head(&self) -> Option<&RequestHead>;
}

impl Routed for RequestHead {
    const FRESH: bool = false;
    #[inline(always)]
    fn head(&self) -> Option<&RequestHead> {
        Some(self)
    }
}

/// A `tcp` virtual's connection: routed without a request, when its handshake
/// completes.
pub struct Connection;

impl Routed for Connection {
    const FRESH: bool = true;
    #[inline(always)]
    fn head(&self) -> Option<&RequestHead> {
        None
    }
}
