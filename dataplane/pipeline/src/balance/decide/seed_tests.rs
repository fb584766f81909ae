//! Decisions of sticky virtuals and of splice virtuals with URLs beside their reals.

use super::super::tests::{farm, head};
use super::super::{sticky, Status, Sticky, StickyClient, StickyOutcome};
use super::tests::{url, view};
use super::*;
use std::net::Ipv4Addr;
use std::sync::Arc;

/// www (splice s1..s3, round robin) made sticky for `timeout` seconds.
fn sticky_farm(timeout: u16) -> Farm {
    let mut f = farm();
    f.virtuals[0].sticky = Some(Sticky::new(timeout, 256));
    f
}

fn client(last: u8, now_s: u16) -> StickyClient {
    StickyClient::new(Ipv4Addr::new(198, 18, 1, last), now_s, false)
}

/// Decides one request of `c` (bind list) and returns the decision and outcome.
fn one(
    f: &Farm,
    choices: &mut Choices,
    mut c: StickyClient,
    usable: impl FnMut(RealId) -> bool,
) -> (Decision, Option<StickyOutcome>) {
    let h = head("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    let d = f.decide_for(
        choices,
        0,
        &h,
        None,
        Some(&mut c),
        usable,
        |_, _| true,
        |_, _| {},
        &view(),
    );
    (d, c.outcome)
}

#[test]
fn a_client_stays_on_its_real_until_the_timer_ends() {
    let f = sticky_farm(10);
    let mut ch = Choices::default();
    let (first, outcome) = one(&f, &mut ch, client(1, 100), |_| true);
    assert_eq!(outcome, Some(StickyOutcome::New { evicted: false }));
    // Other clients move the rotation on; client 1 keeps its real, each request
    // starting the timer again.
    for t in [101, 105, 114, 123] {
        let _ = one(&f, &mut ch, client(2, t), |_| true);
        let _ = one(&f, &mut ch, client(3, t), |_| true);
        assert_eq!(
            one(&f, &mut ch, client(1, t), |_| true),
            (first, Some(StickyOutcome::Hit))
        );
    }
    // Requests without a client address (or of a virtual that is not sticky) do not
    // use the table; this one moves the rotation on.
    let h = head("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(f.decide(&mut ch, 0, &h, None, |_| true, &view()), first);
    // Ten seconds without a request: balanced afresh (another real, as the rotation
    // moved on), and recorded again.
    let (again, outcome) = one(&f, &mut ch, client(1, 133), |_| true);
    assert_eq!(outcome, Some(StickyOutcome::Expired { evicted: false }));
    assert_ne!(again, first);
    assert_eq!(
        one(&f, &mut ch, client(1, 134), |_| true),
        (again, Some(StickyOutcome::Hit))
    );
}

#[test]
fn an_entry_whose_real_cannot_take_the_client_is_dropped() {
    let mut f = sticky_farm(60);
    let mut ch = Choices::default();
    let (Decision::Splice(r), _) = one(&f, &mut ch, client(1, 10), |_| true) else {
        panic!()
    };
    // Failing connections: dropped, rebalanced, recorded on the new real.
    let (d, outcome) = one(&f, &mut ch, client(1, 11), |x| x != r);
    assert_eq!(outcome, Some(StickyOutcome::Dropped { evicted: false }));
    let Decision::Splice(moved) = d else { panic!() };
    assert_ne!(moved, r);
    assert_eq!(
        one(&f, &mut ch, client(1, 12), |_| true),
        (Decision::Splice(moved), Some(StickyOutcome::Hit))
    );
    // Taken out of service: the same.
    f.reals[usize::from(moved)].status = Status::OutOfService;
    let (d, outcome) = one(&f, &mut ch, client(1, 13), |_| true);
    assert_eq!(outcome, Some(StickyOutcome::Dropped { evicted: false }));
    assert!(!matches!(d, Decision::Splice(x) if x == moved));
    // Weight 0 (no new requests): the same.
    let Decision::Splice(before) = d else {
        panic!()
    };
    f.reals[usize::from(before)].weight = 0;
    let (d, outcome) = one(&f, &mut ch, client(1, 13), |_| true);
    assert_eq!(outcome, Some(StickyOutcome::Dropped { evicted: false }));
    assert!(!matches!(d, Decision::Splice(x) if x == before));
    f.reals[usize::from(before)].weight = 1;
    // A pipelined request sent ahead (may wait) whose real has no idle connection
    // waits for its turn instead of moving the client.
    let Decision::Splice(now_on) = d else {
        panic!()
    };
    let mut c = StickyClient::new(Ipv4Addr::new(198, 18, 1, 1), 14, true);
    let h = head("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    let d = f.decide_for(
        &mut ch,
        0,
        &h,
        None,
        Some(&mut c),
        |x| x != now_on,
        |_, _| true,
        |_, _| {},
        &view(),
    );
    assert_eq!((d, c.outcome), (Decision::Refuse, None));
    assert_eq!(
        one(&f, &mut ch, client(1, 15), |_| true),
        (Decision::Splice(now_on), Some(StickyOutcome::Hit))
    );
}

#[test]
fn a_sticky_real_outside_the_request_set_is_kept_for_its_set() {
    let f = sticky_farm(60);
    let mut ch = Choices::default();
    let img = head("GET /img/a HTTP/1.1\r\nHost: x\r\n\r\n");
    // The first request selects rule img (real s2 only): recorded on s2.
    let mut c = client(7, 5);
    let d = f.decide_for(
        &mut ch,
        0,
        &img,
        None,
        Some(&mut c),
        |_| true,
        |_, _| true,
        |_, _| {},
        &view(),
    );
    assert_eq!(d, Decision::Splice(1));
    // A request of the bind list goes to s2 too (it is in the set)...
    assert_eq!(
        one(&f, &mut ch, client(7, 6), |_| true).0,
        Decision::Splice(1)
    );
    // ...and a request of rule api (s3 only) goes to s3 without touching the entry.
    let api = head("GET /a HTTP/1.1\r\nHost: api.example\r\n\r\n");
    let mut c = client(7, 7);
    let d = f.decide_for(
        &mut ch,
        0,
        &api,
        None,
        Some(&mut c),
        |_| true,
        |_, _| true,
        |_, _| {},
        &view(),
    );
    assert_eq!((d, c.outcome), (Decision::Splice(2), None));
    assert_eq!(
        one(&f, &mut ch, client(7, 8), |_| true),
        (Decision::Splice(1), Some(StickyOutcome::Hit))
    );
}

#[test]
fn a_full_table_evicts_and_says_so() {
    let mut f = farm();
    // One set of 8 entries.
    f.virtuals[0].sticky = Some(Sticky::new(60, 8));
    let mut ch = Choices::default();
    for i in 0..8 {
        let (_, o) = one(&f, &mut ch, client(i, 1), |_| true);
        assert_eq!(o, Some(StickyOutcome::New { evicted: false }));
    }
    let (_, o) = one(&f, &mut ch, client(100, 2), |_| true);
    assert_eq!(o, Some(StickyOutcome::New { evicted: true }));
    // Sweeping (every worker, each poll) empties stale entries only.
    let table = Arc::clone(&f.virtuals[0].sticky.as_ref().unwrap().table);
    f.sweep_sticky(&mut ch, 100, 1);
    assert_eq!(table.live_entries(100, u16::MAX), 8);
    f.sweep_sticky(&mut ch, 3 + sticky::STALE_S, 1);
    assert_eq!(table.live_entries(3 + sticky::STALE_S, u16::MAX), 0);
}

/// www with the URL "book" (weight 1) beside s1 and s2 (weight 1 each) in its bind list.
fn shared_farm() -> Farm {
    let mut f = farm();
    f.virtuals[0].bind = vec![0, 1];
    f.virtuals[0].bind_urls = vec![0];
    f.urls = vec![url("book", 1), url("bar", 1)];
    f
}

fn shares(f: &Farm, n: usize) -> (usize, usize, usize) {
    let mut ch = Choices::default();
    let h = head("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    let d: Vec<_> = (0..n)
        .map(|_| f.decide(&mut ch, 0, &h, None, |_| true, &view()))
        .collect();
    let count = |want: Decision| d.iter().filter(|&&x| x == want).count();
    (
        count(Decision::Splice(0)),
        count(Decision::Splice(1)),
        d.iter()
            .filter(|x| matches!(x, Decision::Redirect(_)))
            .count(),
    )
}

#[test]
fn urls_beside_reals_take_their_weight_of_the_requests() {
    // "A third of the traffic to the other site": exactly, and spread smoothly.
    let mut f = shared_farm();
    assert_eq!(shares(&f, 300), (100, 100, 100));
    let mut ch = Choices::default();
    let h = head("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    let d: Vec<_> = (0..9)
        .map(|_| f.decide(&mut ch, 0, &h, None, |_| true, &view()))
        .collect();
    assert!(
        d.chunks(3).all(|w| w.contains(&Decision::Redirect(0))),
        "{d:?}"
    );
    // The weights of the reals count: s1 at 3 makes the URL a fifth.
    f.reals[0].weight = 3;
    assert_eq!(shares(&f, 500), (300, 100, 100));
    // Reals that cannot take requests leave it all to the URL, and the reverse.
    f.reals[0].status = Status::OutOfService;
    f.reals[1].status = Status::OutOfService;
    assert_eq!(shares(&f, 10), (0, 0, 10));
    f.reals[0].status = Status::InService;
    f.reals[1].status = Status::InService;
    f.urls[0].in_service = false;
    assert_eq!(shares(&f, 40), (30, 10, 0));
    // Several URLs share the redirected part by their weights.
    f.urls[0].in_service = true;
    f.reals[0].weight = 1;
    f.virtuals[0].bind_urls = vec![0, 1];
    f.urls[1].weight = 3;
    let mut ch = Choices::default();
    let d: Vec<_> = (0..600)
        .map(|_| f.decide(&mut ch, 0, &h, None, |_| true, &view()))
        .collect();
    let book = d.iter().filter(|&&x| x == Decision::Redirect(0)).count();
    let bar = d.iter().filter(|&&x| x == Decision::Redirect(1)).count();
    assert_eq!((book, bar), (100, 300));
    // Nothing in service on either side: the virtual's backup.
    f.urls[0].in_service = false;
    f.urls[1].in_service = false;
    f.reals[0].status = Status::OutOfService;
    f.reals[1].status = Status::OutOfService;
    assert_eq!(shares(&f, 1), (0, 0, 0));
}

#[test]
fn rule_urls_and_sticky_clients() {
    let mut f = shared_farm();
    // Rule img: s2 and the URL bar, one for one.
    f.virtuals[0].rules[0].urls = vec![1];
    let mut ch = Choices::default();
    let img = head("GET /img/a HTTP/1.1\r\nHost: x\r\n\r\n");
    let d: Vec<_> = (0..4)
        .map(|_| f.decide(&mut ch, 0, &img, None, |_| true, &view()))
        .collect();
    assert_eq!(
        d.iter().filter(|&&x| x == Decision::Redirect(1)).count(),
        2,
        "{d:?}"
    );
    assert_eq!(f.route_urls(0, Route::Rule(1)), &[] as &[UrlId]);
    assert_eq!(f.route_urls(9, Route::Bind), &[] as &[UrlId]);
    // A sticky client keeps its real; redirected requests record nothing.
    f.virtuals[0].sticky = Some(Sticky::new(60, 64));
    let mut ch = Choices::default();
    let mut seen = Vec::new();
    for t in 0..6 {
        seen.push(one(&f, &mut ch, client(1, t), |_| true));
    }
    let spliced: Vec<_> = seen
        .iter()
        .filter_map(|(d, _)| match d {
            Decision::Splice(r) => Some(*r),
            _ => None,
        })
        .collect();
    assert!(
        !spliced.is_empty() && spliced.iter().all(|&r| r == spliced[0]),
        "{seen:?}"
    );
    let first_splice = seen
        .iter()
        .position(|(d, _)| matches!(d, Decision::Splice(_)))
        .unwrap();
    assert!(seen[first_splice + 1..]
        .iter()
        .all(|&(d, o)| d == Decision::Splice(spliced[0]) && o == Some(StickyOutcome::Hit)));
}
