use super::*;

fn owner(slot: u32) -> Handle {
    Handle {
        slot,
        generation: 0,
    }
}

#[test]
fn request_line_is_kept_and_cut() {
    let mut r = AccessRecord::default();
    r.set_line(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(r.line(), b"GET /a HTTP/1.1");
    assert!(!r.truncated);
    let long = format!("GET /{} HTTP/1.1\r\n", "x".repeat(200));
    r.set_line(long.as_bytes());
    assert_eq!(r.line().len(), LINE_MAX);
    assert!(r.truncated);
    assert_eq!(&r.line()[..5], b"GET /");
    // A head with no line end at all (a refused, unterminated one).
    r.set_line(b"GARBAGE");
    assert_eq!(r.line(), b"GARBAGE");
    r.set_line(b"");
    assert_eq!(r.line(), b"");
}

#[test]
fn termination_codes_are_distinct_two_letters() {
    let mut seen = std::collections::HashSet::new();
    for t in Term::ALL {
        assert_eq!(t.code().len(), 2);
        assert!(seen.insert(t.code()), "{} twice", t.code());
    }
    assert_eq!(Term::of_answer(302, false), Term::Redirect);
    assert_eq!(Term::of_answer(400, false), Term::Refused);
    assert_eq!(Term::of_answer(503, true), Term::QueueTimeout);
    assert_eq!(Term::of_answer(503, false), Term::NoServer);
    assert_eq!(Term::of_answer(0, false), Term::ClientClosedHead);
    assert_eq!(Term::of_answer(408, false), Term::ClientTimeoutHead);
}

#[test]
fn a_full_ring_drops_and_counts() {
    let counters = WorkerCounters::new(1);
    let ring = AccessRing::new(2);
    let mut log = AccessLog::new(ring.clone(), 3, 1, 8);
    // Two fill the ring; then (over the fill threshold) one in 16 is kept, and that
    // one finds the ring full.
    for n in 0..2 + OVERLOAD_ONE_IN {
        let i = log.begin(owner(n), &counters);
        if let Some(r) = log.get(i) {
            r.status = 200 + n as u16;
        }
        log.finish(i, &counters);
    }
    assert_eq!(counters.get(0, Counter::AccessLogDropped), 1);
    assert_eq!(
        counters.get(0, Counter::AccessLogSampled),
        u64::from(OVERLOAD_ONE_IN) - 1
    );
    assert_eq!(ring.pop().map(|r| (r.status, r.worker)), Some((200, 3)));
    assert_eq!(ring.pop().map(|r| r.status), Some(201));
    assert!(ring.pop().is_none());
    // Every slot came back, the dropped record's included.
    assert_eq!(log.in_use(), 0);
}

#[test]
fn no_free_slot_drops_and_counts() {
    let counters = WorkerCounters::new(1);
    let mut log = AccessLog::new(AccessRing::new(16), 0, 1, 2);
    let a = log.begin(owner(1), &counters);
    let b = log.begin(owner(2), &counters);
    assert_eq!(log.begin(owner(3), &counters), NO_LOG);
    assert_eq!(counters.get(0, Counter::AccessLogDropped), 1);
    assert!(log.get(NO_LOG).is_none());
    log.finish(a, &counters);
    // Finishing twice (a stale copy of a leg) does nothing.
    log.finish(a, &counters);
    assert_ne!(log.begin(owner(4), &counters), NO_LOG);
    log.finish(b, &counters);
    assert_eq!(log.in_use(), 1);
}

#[test]
fn sampling_keeps_one_in_n_and_counts_the_rest() {
    let counters = WorkerCounters::new(1);
    let ring = AccessRing::new(1024);
    let mut log = AccessLog::new(ring.clone(), 0, 4, 64);
    for n in 0..40 {
        let i = log.begin(owner(n), &counters);
        log.finish(i, &counters);
    }
    assert_eq!(ring.len(), 10);
    assert_eq!(counters.get(0, Counter::AccessLogSampled), 30);
    assert_eq!(counters.get(0, Counter::AccessLogDropped), 0);
}

#[test]
fn a_filling_ring_thins_the_log_before_it_drops() {
    let counters = WorkerCounters::new(1);
    let ring = AccessRing::new(8);
    let mut log = AccessLog::new(ring.clone(), 0, 1, 64);
    // Nobody empties the ring: from 6 of 8 on, one request in 16 is kept.
    for n in 0..6 + 32 {
        let i = log.begin(owner(n), &counters);
        log.finish(i, &counters);
    }
    assert_eq!(ring.len(), 8);
    assert_eq!(counters.get(0, Counter::AccessLogSampled), 30);
    assert_eq!(counters.get(0, Counter::AccessLogDropped), 0);
}

#[test]
fn sweep_ends_records_of_connections_gone() {
    let counters = WorkerCounters::new(1);
    let ring = AccessRing::new(16);
    let mut log = AccessLog::new(ring.clone(), 0, 1, 16);
    let live = log.begin(owner(1), &counters);
    let gone = log.begin(owner(2), &counters);
    log.get(gone).expect("slot").status = 200;
    log.sweep(16, 99, |h| h.slot == 1, &counters);
    let r = ring.pop().expect("the lost one is logged");
    assert_eq!((r.status, r.term, r.end), (200, Term::Killed, 99));
    assert!(ring.pop().is_none());
    assert!(log.get(live).is_some());
    assert!(log.get(gone).is_none());
}
