//! The probes that reset a handed-off client (`flow::handoff_probe`): sent again until
//! the client's kernel confirms, at most five times.

use super::*;
use crate::flow::handoff_probe::{PROBE_EVERY_MS, PROBE_SENDS};

/// The probes the client got so far (acknowledgements at Splicer's ISN, no SYN, no RST).
fn probes(b: &Bed) -> usize {
    b.to_client
        .iter()
        .filter(|s| s.seq == b.iss && s.flags & (RST | SYN) == 0 && s.payload.is_empty())
        .count()
}

/// A bed whose agent went silent: its handed-off client was reset, the first probe sent.
fn reset_by_a_silent_agent() -> Bed {
    let mut b = Bed::handed_off();
    while b.count(Counter::HandoffResets) == 0 {
        assert!(b.now < 10_000 * MS, "the agent never went down");
        b.advance(1);
    }
    assert_eq!(probes(&b), 1);
    b
}

#[test]
fn an_unanswered_probe_goes_again_until_the_client_confirms() {
    let mut b = reset_by_a_silent_agent();
    // The client's kernel ignored it (rate-limited): it goes again.
    b.advance(PROBE_EVERY_MS - 10);
    assert_eq!(probes(&b), 1, "not before {PROBE_EVERY_MS} ms");
    b.advance(20);
    assert_eq!(probes(&b), 2);
    assert_eq!(b.count(Counter::HandoffClientProbesResent), 1);
    // Now it answers: its duplicate ACK draws the RST at its next byte.
    probe_answered_with_a_reset(&mut b);
    // The next probe finds it gone: its kernel's RST confirms, and the probes end.
    b.advance(PROBE_EVERY_MS);
    assert_eq!(probes(&b), 3);
    b.client_sends(Seg {
        seq: b.iss + 1,
        flags: RST,
        ..Seg::default()
    });
    assert_eq!(b.count(Counter::HandoffClientProbesConfirmed), 1);
    let sent = b.to_client.len();
    b.advance(10 * PROBE_EVERY_MS);
    assert_eq!(b.to_client.len(), sent, "nothing more to the client");
    assert_eq!(b.count(Counter::HandoffClientProbesUnconfirmed), 0);
}

#[test]
fn a_client_that_never_answers_gets_five_probes() {
    let mut b = reset_by_a_silent_agent();
    b.advance(20 * PROBE_EVERY_MS);
    assert_eq!(probes(&b), usize::from(PROBE_SENDS));
    assert_eq!(
        b.count(Counter::HandoffClientProbesResent),
        u64::from(PROBE_SENDS) - 1
    );
    assert_eq!(b.count(Counter::HandoffClientProbesUnconfirmed), 1);
    assert_eq!(b.count(Counter::HandoffClientProbesConfirmed), 0);
}

#[test]
fn a_new_syn_on_the_same_ports_ends_the_probes() {
    let mut b = reset_by_a_silent_agent();
    b.client_sends(Seg {
        seq: CLIENT_ISN + 100_000,
        flags: SYN,
        ..Seg::default()
    });
    assert_eq!(b.count(Counter::HandoffClientProbesConfirmed), 1);
    let before = probes(&b);
    b.advance(10 * PROBE_EVERY_MS);
    assert_eq!(probes(&b), before, "no probe into the new connection");
}
