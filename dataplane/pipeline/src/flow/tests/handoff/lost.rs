//! Handed-off connections whose agent is lost (`flow::handoff_lost`): both ends reset,
//! the back end's RST owed to an agent that went down and sent again once it is heard
//! again, given up after 15 minutes.

use super::*;

/// The RSTs Splicer sent the back end in the client's name so far: their sequence
/// numbers (layer-2 mode: to the VIP, at the back end's MAC).
fn resets_to_back_end(b: &Bed) -> Vec<u32> {
    b.forwarded
        .iter()
        .filter_map(|f| {
            let (dst, _, s) = parse(f);
            assert_eq!(dst, VIP, "in the client's name, to the VIP");
            assert_eq!(&f[..6], &PEER_MAC.0, "to the back end's MAC");
            (s.flags & RST != 0).then_some(s.seq)
        })
        .collect()
}

/// The client's next sequence number after its request: what the back end expects.
const NEXT: u32 = CLIENT_ISN + 1 + REQUEST.len() as u32;

#[test]
fn an_agent_gone_silent_has_both_ends_reset_and_the_back_ends_rst_owed() {
    let mut b = Bed::handed_off();
    b.advance(3_100);
    assert_eq!(b.count(Counter::AgentDowns), 1);
    assert_eq!(b.count(Counter::HandoffResets), 1, "the client");
    assert_eq!(
        b.count(Counter::HandoffBackEndResets),
        1,
        "and the back end"
    );
    assert_eq!(
        resets_to_back_end(&b),
        vec![NEXT],
        "at the client's next byte"
    );
    probe_answered_with_a_reset(&mut b);
    // Silent on: nothing more goes to the back end.
    b.advance(5_000);
    assert_eq!(resets_to_back_end(&b).len(), 1);
    // Heard again (a new process): the RST goes with each of its first three answers.
    for n in 1..=5u64 {
        b.advance(1_000);
        b.agent_up(EPOCH + 1);
        let sent = n.min(u64::from(crate::flow::handoff_lost::OWED_SENDS));
        assert_eq!(resets_to_back_end(&b), vec![NEXT; 1 + sent as usize]);
        assert_eq!(b.count(Counter::HandoffBackEndResetResends), sent);
    }
    assert_eq!(b.count(Counter::HandoffBackEndResetsGivenUp), 0);
}

#[test]
fn an_agent_restarted_while_up_has_the_back_end_reset_once() {
    let mut b = Bed::handed_off();
    b.advance(1_001);
    b.agent_up(EPOCH + 1);
    assert_eq!(b.count(Counter::AgentRestarts), 1);
    assert_eq!(b.count(Counter::HandoffBackEndResets), 1);
    assert_eq!(resets_to_back_end(&b), vec![NEXT]);
    // A running agent took it: it is not owed.
    for _ in 0..3 {
        b.advance(1_000);
        b.agent_up(EPOCH + 1);
    }
    assert_eq!(resets_to_back_end(&b), vec![NEXT]);
    assert_eq!(b.count(Counter::HandoffBackEndResetResends), 0);
}

#[test]
fn the_rst_follows_the_clients_bytes_forwarded_after_the_handoff() {
    let mut b = Bed::handed_off();
    let iss = b.iss;
    b.client_sends(after_request(
        REQUEST,
        iss + 1 + 9000,
        b"GET /2 HTTP/1.1\r\n\r\n",
    ));
    b.advance(3_100);
    assert_eq!(resets_to_back_end(&b), vec![NEXT + 19]);
}

#[test]
fn an_owed_rst_is_given_up_after_fifteen_minutes() {
    let mut b = Bed::handed_off();
    b.advance(3_100);
    assert_eq!(b.count(Counter::HandoffBackEndResets), 1);
    // Jump near the end of the 15 minutes without polling every millisecond.
    b.now += (crate::flow::handoff_lost::OWED_FOR_MS - 1_000) * MS;
    b.poll();
    assert_eq!(b.count(Counter::HandoffBackEndResetsGivenUp), 0);
    b.advance(1_001);
    assert_eq!(b.count(Counter::HandoffBackEndResetsGivenUp), 1);
    b.agent_up(EPOCH + 1);
    assert_eq!(resets_to_back_end(&b).len(), 1, "no longer sent");
    assert_eq!(b.count(Counter::HandoffBackEndResetResends), 0);
}
