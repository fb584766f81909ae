use super::*;
use crate::presence::neighbour::NeighbourUpdate;

/// A sink that hands out buffers (or refuses to) and counts discards.
#[derive(Default)]
struct Pool {
    no_alloc: bool,
    discarded: usize,
}

impl Sink<Vec<u8>> for Pool {
    fn transmit(&mut self, _: u16, _: Vec<u8>) {
        unreachable!("the impairment stage never transmits")
    }
    fn handoff(&mut self, _: usize, _: Vec<u8>) {
        unreachable!("the impairment stage never hands off")
    }
    fn discard(&mut self, _: Vec<u8>) {
        self.discarded += 1;
    }
    fn alloc(&mut self) -> Option<Vec<u8>> {
        (!self.no_alloc).then(Vec::new)
    }
    fn publish_neighbour(&mut self, _: NeighbourUpdate) {}
}

const PORT: u16 = 1;

fn settings() -> ImpairSettings {
    ImpairSettings {
        queue: 4096,
        seed: 42,
        ..ImpairSettings::default()
    }
}

fn pct(p: u32) -> u32 {
    p * PPM / 100
}

/// Frame `i`: its number in the first 4 bytes, so that order and copies can be told.
fn frame(i: u32) -> Vec<u8> {
    let mut f = i.to_be_bytes().to_vec();
    f.extend_from_slice(&[0xab; 60]);
    f
}

fn number(f: &[u8]) -> u32 {
    u32::from_be_bytes([f[0], f[1], f[2], f[3]])
}

/// Runs `n` frames through `imp`, one per tick starting at tick 0, releasing due frames
/// after each arrival and everything at the end; returns the frame numbers in delivery
/// order and the counters.
fn run(imp: &mut Impairment<Vec<u8>>, n: u32, sink: &mut Pool) -> (Vec<u32>, WorkerCounters) {
    let counters = WorkerCounters::new(2);
    let mut out = Vec::new();
    for i in 0..n {
        let now = u64::from(i);
        imp.admit(frame(i), now, &counters, sink, |f, _| out.push(number(&f)));
        while let Some(f) = imp.release(now, &counters) {
            out.push(number(&f));
        }
    }
    while let Some(f) = imp.release_all(&counters) {
        out.push(number(&f));
    }
    (out, counters)
}

fn get(c: &WorkerCounters, counter: Counter) -> u64 {
    c.get(PORT, counter)
}

#[test]
fn all_zero_passes_everything_in_order() {
    let mut imp = Impairment::new(PORT, 0, settings());
    let mut sink = Pool::default();
    let (out, c) = run(&mut imp, 1000, &mut sink);
    assert_eq!(out, (0..1000).collect::<Vec<_>>());
    assert_eq!(get(&c, Counter::ImpairPackets), 1000);
    for k in [
        Counter::ImpairDropped,
        Counter::ImpairDuplicated,
        Counter::ImpairDelayed,
        Counter::ImpairReordered,
        Counter::ImpairReleased,
    ] {
        assert_eq!(get(&c, k), 0, "{}", k.name());
    }
    assert_eq!(sink.discarded, 0);
}

#[test]
fn same_seed_same_decisions_other_seed_other_decisions() {
    let s = ImpairSettings {
        loss: pct(5),
        duplicate: pct(5),
        reorder: pct(5),
        reorder_delay: 10,
        jitter: 3,
        ..settings()
    };
    let decisions = |s: ImpairSettings, worker| {
        let mut imp: Impairment<Vec<u8>> = Impairment::new(PORT, worker, s);
        (0..2000).map(|_| imp.decide()).collect::<Vec<_>>()
    };
    assert_eq!(decisions(s, 0), decisions(s, 0));
    assert_ne!(
        decisions(s, 0),
        decisions(ImpairSettings { seed: 43, ..s }, 0)
    );
    // Each worker draws its own stream from the same seed.
    assert_ne!(decisions(s, 0), decisions(s, 1));
}

/// 200,000 frames at 1 % loss, 1 % duplication, 1 % reordering: each count within four
/// standard deviations of its expectation (sd of a 1 % binomial over 200,000 is 44.5).
#[test]
fn rates_match_the_settings() {
    let n = 200_000u32;
    let s = ImpairSettings {
        loss: pct(1),
        duplicate: pct(1),
        reorder: pct(1),
        reorder_delay: 5,
        ..settings()
    };
    let mut imp = Impairment::new(PORT, 0, s);
    let mut sink = Pool::default();
    let (out, c) = run(&mut imp, n, &mut sink);
    let near = |got: u64, want: f64| (got as f64 - want).abs() < 4.0 * (want * 0.99).sqrt();
    let dropped = get(&c, Counter::ImpairDropped);
    let passed = f64::from(n) - dropped as f64;
    let dup = get(&c, Counter::ImpairDuplicated);
    let reordered = get(&c, Counter::ImpairReordered);
    assert!(near(dropped, f64::from(n) * 0.01), "dropped {dropped}");
    assert!(near(dup, passed * 0.01), "duplicated {dup}");
    assert!(
        near(reordered, (passed + dup as f64) * 0.01),
        "reordered {reordered}"
    );
    // Every frame is accounted for.
    assert_eq!(get(&c, Counter::ImpairPackets), u64::from(n));
    assert_eq!(out.len() as u64, u64::from(n) - dropped + dup);
    assert_eq!(sink.discarded as u64, dropped);
    assert_eq!(get(&c, Counter::ImpairDelayed), 0);
    assert_eq!(reordered, get(&c, Counter::ImpairReleased));
    // Only dropped frames are missing; duplicated ones appear twice.
    let mut seen = vec![0u8; n as usize];
    for &i in &out {
        seen[i as usize] += 1;
    }
    assert_eq!(seen.iter().filter(|&&k| k == 0).count() as u64, dropped);
    assert_eq!(seen.iter().filter(|&&k| k == 2).count() as u64, dup);
    assert!(seen.iter().all(|&k| k <= 2));
}

#[test]
fn a_reordered_frame_is_overtaken_by_the_frames_behind_it() {
    let s = ImpairSettings {
        reorder: pct(2),
        reorder_delay: 5,
        ..settings()
    };
    let mut imp = Impairment::new(PORT, 0, s);
    let mut sink = Pool::default();
    let (out, c) = run(&mut imp, 10_000, &mut sink);
    assert!(get(&c, Counter::ImpairReordered) > 100);
    // Sorted, the delivery is every frame once; as delivered, some frame comes after a
    // later one and never more than the reorder delay (5 frames at one per tick) late.
    let mut sorted = out.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..10_000).collect::<Vec<_>>());
    let late = out.windows(2).filter(|w| w[0] > w[1]).count() as u64;
    assert!(late > 0 && late <= get(&c, Counter::ImpairReordered));
    for (pos, &i) in out.iter().enumerate() {
        assert!(pos as u32 <= i + 5 + 5, "frame {i} delivered at {pos}");
    }
}

#[test]
fn delay_holds_every_frame_until_due_and_keeps_order_without_jitter() {
    let s = ImpairSettings {
        delay: 100,
        ..settings()
    };
    let mut imp = Impairment::new(PORT, 0, s);
    let counters = WorkerCounters::new(2);
    let mut sink = Pool::default();
    let mut out = Vec::new();
    for i in 0..50u32 {
        imp.admit(frame(i), u64::from(i), &counters, &mut sink, |f, _| {
            out.push(f)
        });
    }
    assert!(out.is_empty(), "nothing before its delay");
    assert_eq!(imp.held(), 50);
    assert!(imp.release(99, &counters).is_none());
    let mut got = Vec::new();
    while let Some(f) = imp.release(120, &counters) {
        got.push(number(&f));
    }
    assert_eq!(got, (0..=20).collect::<Vec<_>>(), "frames due by tick 120");
    assert_eq!(get(&counters, Counter::ImpairDelayed), 50);
    assert_eq!(get(&counters, Counter::ImpairReleased), 21);
}

#[test]
fn jitter_stays_within_its_bound() {
    let s = ImpairSettings {
        delay: 10,
        jitter: 20,
        ..settings()
    };
    let mut imp: Impairment<Vec<u8>> = Impairment::new(PORT, 0, s);
    let holds: Vec<u64> = (0..10_000).map(|_| imp.decide().hold.0).collect();
    assert!(holds.iter().all(|&h| (10..=30).contains(&h)));
    assert_eq!(*holds.iter().min().unwrap(), 10);
    assert_eq!(*holds.iter().max().unwrap(), 30);
}

#[test]
fn a_full_queue_passes_frames_through_and_counts_them() {
    let s = ImpairSettings {
        delay: 1000,
        queue: 8,
        ..settings()
    };
    let mut imp = Impairment::new(PORT, 0, s);
    let counters = WorkerCounters::new(2);
    let mut sink = Pool::default();
    let mut out = Vec::new();
    for i in 0..20u32 {
        imp.admit(frame(i), 0, &counters, &mut sink, |f, _| {
            out.push(number(&f))
        });
    }
    assert_eq!(imp.held(), 8);
    assert_eq!(out, (8..20).collect::<Vec<_>>());
    assert_eq!(get(&counters, Counter::ImpairQueueFull), 12);
    assert_eq!(get(&counters, Counter::ImpairDelayed), 8);
}

#[test]
fn a_duplicate_is_an_exact_copy_and_a_failed_copy_is_counted() {
    let s = ImpairSettings {
        duplicate: PPM,
        ..settings()
    };
    let mut imp = Impairment::new(PORT, 0, s);
    let counters = WorkerCounters::new(2);
    let mut sink = Pool::default();
    let mut out = Vec::new();
    imp.admit(frame(7), 0, &counters, &mut sink, |f, _| out.push(f));
    assert_eq!(out, vec![frame(7), frame(7)]);
    assert_eq!(get(&counters, Counter::ImpairDuplicated), 1);

    let mut dry = Pool {
        no_alloc: true,
        ..Pool::default()
    };
    out.clear();
    imp.admit(frame(8), 0, &counters, &mut dry, |f, _| out.push(f));
    assert_eq!(out, vec![frame(8)], "the original still goes on");
    assert_eq!(get(&counters, Counter::ImpairDuplicated), 1);
    assert_eq!(get(&counters, Counter::DropAllocFailed), 1);
}

#[test]
fn full_loss_drops_everything() {
    let s = ImpairSettings {
        loss: PPM,
        ..settings()
    };
    let mut imp = Impairment::new(PORT, 0, s);
    let mut sink = Pool::default();
    let (out, c) = run(&mut imp, 100, &mut sink);
    assert!(out.is_empty());
    assert_eq!(get(&c, Counter::ImpairDropped), 100);
    assert_eq!(sink.discarded, 100);
}
