//! The TCP timestamps of a splice (RFC 7323): each peer's clock mapped onto what the
//! other leg has seen, so that each receiver keeps seeing a clock that never goes back
//! (PAWS) across splices, pipelined responses and idle pooled connections.

use super::client::ClientConn;
use super::leg::Leg;
use super::server::ServerConn;
use super::tcp::ts_not_below;
use crate::rewrite::Timestamps;

/// Splicer's timestamp clock (milliseconds) at TSC `now`: a 64-bit division, so the
/// established path computes it only for a segment that carries a timestamp (most
/// flows negotiate none).
pub(super) fn ms_clock(now: u64, ticks_per_ms: u64) -> u32 {
    (now / ticks_per_ms.max(1)) as u32
}

/// Timestamp handling of both directions of a splice that starts sending to the client
/// now: each peer's clock estimated from its latest TSval and how long ago it came (an
/// idle pooled connection's last TSval may be minutes old), and each receiver kept
/// seeing a clock that never goes back: translated values start at Splicer's clock or
/// at the highest value that leg has seen, if later.
///
/// `server_first`: the oldest TSval of the server's response, when some of it was held
/// (pipelining): it is mapped to the client leg's start, so that no held segment reaches
/// the client with a clock older than one it has seen (the client's PAWS would drop it).
pub(super) fn leg_timestamps(
    c: &ClientConn,
    s: &ServerConn,
    ts_now: u32,
    server_first: Option<u32>,
) -> (Timestamps, Timestamps) {
    let client_now = c
        .tcp
        .ts_recent
        .map(|r| r.wrapping_add(ts_now.wrapping_sub(c.tcp.ts_recent_at)));
    let server_now = s
        .tcp
        .ts_recent
        .map(|r| r.wrapping_add(ts_now.wrapping_sub(s.tcp.ts_recent_at)));
    let server_now = match (server_now, server_first) {
        (Some(_), Some(first)) => Some(first),
        (now, _) => now,
    };
    timestamps(
        client_now,
        server_now,
        ts_not_below(ts_now, s.tcp.ts_sent_max),
        ts_not_below(ts_now, c.tcp.ts_sent_max),
    )
}

/// Timestamp handling of both directions of a new splice, from the legs' latest TSvals
/// and Splicer's clock: each peer's clock is mapped onto Splicer's at the moment of the
/// splice, so each receiver keeps seeing a monotonic clock (PAWS) across splices; a
/// leg without timestamps gets them stripped.
fn timestamps(
    client: Option<u32>,
    server: Option<u32>,
    server_leg_start: u32,
    client_leg_start: u32,
) -> (Timestamps, Timestamps) {
    match (client, server) {
        (Some(c), Some(s)) => {
            let up = server_leg_start.wrapping_sub(c);
            let down = client_leg_start.wrapping_sub(s);
            (
                Timestamps::Shift {
                    tsval_add: up,
                    tsecr_sub: down,
                },
                Timestamps::Shift {
                    tsval_add: down,
                    tsecr_sub: up,
                },
            )
        }
        // The server leg has none: strip the client's. The client leg's segments get
        // none from a server that has none.
        (Some(_), None) => (Timestamps::Strip, Timestamps::Keep),
        // The client leg has none: strip the server's. A client segment without the
        // option reaches the server without it (Linux, the BSDs and Windows accept
        // that; RFC 7323 §3.2 only says SHOULD drop).
        (None, Some(_)) => (Timestamps::Keep, Timestamps::Strip),
        (None, None) => (Timestamps::Keep, Timestamps::Keep),
    }
}

/// Fixes a leg's server-to-client shift on the first TSval `tsval` its server sends
/// (data or not), so that it reaches the client as `client_start` (Splicer's clock, or
/// the highest TSval the client has seen if later): the estimate made when the leg
/// started may run a millisecond ahead of the server's real clock, which would put the
/// first segments below what the client has seen when the response follows the one
/// before it at once (pipelining) and have them dropped by the client's PAWS.
pub(super) fn anchor_down(leg: &mut Leg, tsval: u32, client_start: u32) {
    leg.ts_anchor_pending = false;
    let (Timestamps::Shift { tsval_add: up, .. }, Timestamps::Shift { .. }) =
        (leg.ts_up, leg.ts_down)
    else {
        return;
    };
    let down = client_start.wrapping_sub(tsval);
    leg.ts_up = Timestamps::Shift {
        tsval_add: up,
        tsecr_sub: down,
    };
    leg.ts_down = Timestamps::Shift {
        tsval_add: down,
        tsecr_sub: up,
    };
}
