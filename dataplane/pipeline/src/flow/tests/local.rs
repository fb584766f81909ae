//! Local service (`local = true` reals) against hand-made packets: a raw client
//! outside, and inside a raw "kernel" behind the exception port that answers the
//! replayed SYN as the test says; byte-exact checks of the replay, of the translation
//! both ways, of the end, and of what the client gets when the kernel refuses or is
//! silent.

use super::raw_bed::{one_real_pipeline, RawBed, CLIENT_ISN, CLIENT_PORT, INSIDE_MAC};
use super::spliced::{frame, parse, Seg};
use super::*;
use crate::balance::{Predictor, Real, VirtualPolicy};

/// The local real's address: the kernel side of the exception port (port 1).
const KERNEL: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 10);
const KERNEL_ISN: u32 = 500_000;
const KERNEL_TS: u32 = 7000;
const REQUEST: &[u8] = b"GET /local HTTP/1.1\r\nHost: h\r\n\r\n";
const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
const SYN: u8 = tcp::flags::SYN;
const RST: u8 = tcp::flags::RST;
const FIN: u8 = tcp::flags::FIN;

struct Bed {
    p: Pipeline<Vec<u8>>,
    now: u64,
    /// Splicer's ISN towards the client.
    iss: u32,
    to_client: Vec<Seg>,
    /// Segments for the local kernel (to the VIP, from the client's address).
    to_kernel: Vec<Seg>,
    /// Segments to the real's address (a splice's server connection).
    to_server: Vec<Seg>,
}

impl Bed {
    /// A splice virtual binding one local real keeping `pool` connections.
    fn new(pool: u16) -> Bed {
        let v = VirtualPolicy::splice("web", Predictor::RoundRobin, vec![], vec![0]);
        let mut real = Real::new("here", SocketAddrV4::new(KERNEL, 80), 1, pool, 64);
        real.local = true;
        Bed {
            p: one_real_pipeline(v, real),
            now: MS,
            iss: 0,
            to_client: Vec::new(),
            to_kernel: Vec::new(),
            to_server: Vec::new(),
        }
    }

    fn count(&self, c: Counter) -> u64 {
        self.p.counters().snapshot().get(c)
    }

    /// The kernel sends `s` from the VIP to the client, to the exception port's MAC.
    fn kernel_sends(&mut self, s: Seg) {
        let mut f = frame((VIP, 80), (CLIENT, CLIENT_PORT), &s);
        f[..6].copy_from_slice(&INSIDE_MAC);
        self.receive(1, f);
    }

    fn syn_ack(&mut self) {
        self.kernel_sends(Seg {
            seq: KERNEL_ISN,
            ack: Some(CLIENT_ISN + 1),
            flags: SYN,
            ts: Some((KERNEL_TS, 102)),
            ..Seg::default()
        });
    }
}

impl RawBed for Bed {
    fn take(&mut self, out: Out) {
        for f in out.tx {
            if f[12..14] == [0x08, 0x06] {
                continue; // ARP: neighbours expire over long waits
            }
            let (dst, _, s) = parse(&f);
            if dst == VIP {
                let ip = ipv4::Packet::new_checked(&f[L3_OFFSET..]).unwrap();
                assert_eq!(ip.src_addr(), CLIENT, "the client's own address");
                assert_eq!(&f[..6], &PEER_MAC.0, "to the kernel's MAC");
                assert_eq!(&f[6..12], &[2, 0, 0, 0, 0, 2], "out of the exception port");
                self.to_kernel.push(s);
            } else if dst == KERNEL {
                self.to_server.push(s);
            } else {
                assert_eq!(dst, CLIENT);
                if s.flags & SYN != 0 {
                    self.iss = s.seq;
                }
                self.to_client.push(s);
            }
        }
    }

    fn raw(&mut self) -> (&mut Pipeline<Vec<u8>>, &mut u64, u32) {
        (&mut self.p, &mut self.now, self.iss)
    }
}

#[test]
fn a_local_request_is_replayed_translated_both_ways_and_freed_after_the_fins() {
    let mut b = Bed::new(0);
    b.connect_and_request(REQUEST);
    let iss = b.iss;
    let client_seen = b.to_client.len();
    assert_eq!(b.count(Counter::LocalStarted), 1);
    // The client's SYN as Splicer saw it, to the VIP through the exception port.
    assert_eq!(b.to_kernel.len(), 1);
    let syn = &b.to_kernel[0];
    assert_eq!(
        (syn.seq, syn.ack, syn.flags, syn.ts),
        (CLIENT_ISN, None, SYN, Some((102, 0)))
    );
    // The kernel's SYN-ACK is swallowed; the ACK goes with the request.
    b.syn_ack();
    assert_eq!(b.count(Counter::LocalEstablished), 1);
    assert_eq!(
        b.to_client.len(),
        client_seen,
        "the client sees nothing of it"
    );
    assert_eq!(b.to_kernel.len(), 2);
    let ack = &b.to_kernel[1];
    assert_eq!(
        (ack.seq, ack.ack, ack.ts, ack.payload.as_slice()),
        (
            CLIENT_ISN + 1,
            Some(KERNEL_ISN + 1),
            Some((102, KERNEL_TS)),
            REQUEST
        )
    );
    // The response: in Splicer's sequence space, on a clock that continues Splicer's.
    b.kernel_sends(Seg {
        seq: KERNEL_ISN + 1,
        ack: Some(CLIENT_ISN + 1 + REQUEST.len() as u32),
        ts: Some((KERNEL_TS + 10, 102)),
        payload: RESPONSE.to_vec(),
        ..Seg::default()
    });
    let r = b.to_client.last().unwrap().clone();
    assert_eq!((r.seq, r.payload.as_slice()), (iss + 1, RESPONSE));
    assert_eq!(r.ack, Some(CLIENT_ISN + 1 + REQUEST.len() as u32));
    let (tsval, tsecr) = r.ts.unwrap();
    assert_eq!(tsecr, 102);
    let splicer_ts = b.to_client[0].ts.unwrap().0;
    assert!(tsval.wrapping_sub(splicer_ts) as i32 >= 10, "never back");
    // The client's ACK and FIN reach the kernel in its own space.
    let client_next = CLIENT_ISN + 1 + REQUEST.len() as u32;
    b.client_sends(Seg {
        seq: client_next,
        ack: Some(iss + 1 + RESPONSE.len() as u32),
        flags: FIN,
        ts: Some((110, tsval)),
        ..Seg::default()
    });
    let k = b.to_kernel.last().unwrap().clone();
    assert_eq!(
        (k.seq, k.ack, k.flags, k.ts),
        (
            client_next,
            Some(KERNEL_ISN + 1 + RESPONSE.len() as u32),
            FIN,
            Some((110, KERNEL_TS + 10))
        )
    );
    assert_eq!(b.flows(), 1);
    // The kernel's FIN and ACK of the client's; the client's last ACK ends it.
    b.kernel_sends(Seg {
        seq: KERNEL_ISN + 1 + RESPONSE.len() as u32,
        ack: Some(client_next + 1),
        flags: FIN,
        ts: Some((KERNEL_TS + 11, 110)),
        ..Seg::default()
    });
    assert_eq!(b.to_client.last().unwrap().flags, FIN);
    b.client_sends(Seg {
        seq: client_next + 1,
        ack: Some(iss + 2 + RESPONSE.len() as u32),
        ts: Some((111, tsval + 1)),
        ..Seg::default()
    });
    assert_eq!(b.count(Counter::LocalClosed), 1);
    assert_eq!(b.flows(), 0, "state freed");
    assert_eq!(b.count(Counter::LocalToKernel), 2);
    assert_eq!(b.count(Counter::LocalToClient), 2);
    // A straggler of the kernel's is dropped and counted.
    b.kernel_sends(Seg {
        seq: KERNEL_ISN + 2 + RESPONSE.len() as u32,
        ack: Some(client_next + 1),
        ..Seg::default()
    });
    assert_eq!(b.count(Counter::DropLocalNoFlow), 1);
}

#[test]
fn a_kernel_rst_to_the_replayed_syn_gets_the_client_a_503() {
    let mut b = Bed::new(0);
    b.connect_and_request(REQUEST);
    // While the kernel has not answered, the client's segments are dropped unanswered.
    let seen = b.to_client.len();
    b.client_sends(Seg {
        seq: CLIENT_ISN + 1 + REQUEST.len() as u32,
        ack: Some(b.iss + 1),
        ts: Some((103, 0)),
        ..Seg::default()
    });
    assert_eq!(b.to_client.len(), seen);
    assert_eq!(b.count(Counter::LocalClientDropped), 1);
    b.kernel_sends(Seg {
        seq: 0,
        ack: Some(CLIENT_ISN + 1),
        flags: RST,
        ..Seg::default()
    });
    assert_eq!(b.count(Counter::LocalRefused), 1);
    let answer: Vec<u8> = b.to_client.iter().flat_map(|s| s.payload.clone()).collect();
    assert!(answer.starts_with(b"HTTP/1.1 503 "), "{answer:?}");
}

#[test]
fn a_silent_kernel_gets_the_syn_again_then_the_client_a_503() {
    let mut b = Bed::new(0);
    b.connect_and_request(REQUEST);
    b.advance(250);
    assert_eq!(b.count(Counter::LocalSynResends), 1);
    assert!(b
        .to_kernel
        .iter()
        .all(|s| s.flags == SYN && s.seq == CLIENT_ISN));
    assert_eq!(b.to_kernel.len(), 2);
    b.advance(3_000);
    assert_eq!(b.count(Counter::LocalTimeouts), 1);
    let answer: Vec<u8> = b.to_client.iter().flat_map(|s| s.payload.clone()).collect();
    assert!(answer.starts_with(b"HTTP/1.1 503 "), "{answer:?}");
    // A late SYN-ACK finds no local connection.
    b.syn_ack();
    assert_eq!(b.count(Counter::DropLocalNoFlow), 1);
}

#[test]
fn a_local_connection_silent_for_tcp_idle_timeout_is_reset_both_ways() {
    let mut b = Bed::new(0);
    b.connect_and_request(REQUEST);
    b.syn_ack();
    let kernel_before = b.to_kernel.len();
    b.advance(299_000);
    // The neighbours expired on the way: learned again, so both RSTs leave at once.
    for (port, ip) in [(0, CLIENT), (1, KERNEL)] {
        let update = NeighbourUpdate {
            port,
            ip,
            mac: PEER_MAC,
        };
        b.p.apply_neighbour_update(update, b.now, &mut Out::default());
    }
    b.advance(1_001);
    assert_eq!(b.count(Counter::LocalIdleTimeouts), 1);
    assert_eq!(b.flows(), 0);
    let k = &b.to_kernel[kernel_before..];
    assert_eq!(k.len(), 1);
    assert_eq!(
        (k[0].flags, k[0].seq),
        (RST, CLIENT_ISN + 1 + REQUEST.len() as u32)
    );
    assert_eq!(b.to_client.last().unwrap().flags & RST, RST);
}

#[test]
fn a_request_that_cannot_be_replayed_is_spliced_to_the_real_address() {
    let mut b = Bed::new(0);
    let iss = b.client_syn();
    // The request comes with the client's FIN: a half-closed client is not replayed.
    b.client_sends(Seg {
        seq: CLIENT_ISN + 1,
        ack: Some(iss + 1),
        flags: FIN,
        ts: Some((101, 0)),
        payload: REQUEST.to_vec(),
        ..Seg::default()
    });
    assert_eq!(b.count(Counter::LocalNotEligible), 1);
    assert_eq!(b.count(Counter::LocalStarted), 0);
    assert!(b.to_kernel.is_empty(), "no replay");
    assert!(
        b.to_server
            .iter()
            .any(|s| s.flags == SYN && s.ack.is_none()),
        "a server connection opened to the real's address: {:?}",
        b.to_server
    );
}

#[test]
fn a_segment_to_a_client_on_a_port_without_a_local_real_is_not_for_us() {
    let mut b = Bed::new(0);
    let f = frame((VIP, 80), (CLIENT, CLIENT_PORT), &Seg::default());
    let mut out = Out::default();
    // Port 0 leads to no local real.
    b.p.receive(0, f, b.now, &mut out);
    assert!(out.tx.is_empty());
    assert_eq!(b.count(Counter::DropNotForUs), 1);
    assert_eq!(b.count(Counter::DropLocalNoFlow), 0);
}

impl Bed {
    fn flows(&self) -> usize {
        self.p.flows().len()
    }
}

#[test]
fn an_ending_local_connection_is_forgotten_after_two_quiet_seconds() {
    // Both FINs, the client's last ACK lost.
    let mut b = Bed::new(0);
    b.connect_and_request(REQUEST);
    b.syn_ack();
    let client_next = CLIENT_ISN + 1 + REQUEST.len() as u32;
    b.client_sends(Seg {
        seq: client_next,
        ack: Some(b.iss + 1),
        flags: FIN,
        ts: Some((110, 0)),
        ..Seg::default()
    });
    b.kernel_sends(Seg {
        seq: KERNEL_ISN + 1,
        ack: Some(client_next + 1),
        flags: FIN,
        ts: Some((KERNEL_TS + 1, 110)),
        ..Seg::default()
    });
    assert_eq!(b.flows(), 1);
    b.advance(1_900);
    assert_eq!(b.flows(), 1, "not before 2 s");
    b.advance(200);
    assert_eq!(b.flows(), 0);
    assert_eq!(b.count(Counter::LocalClosed), 1);
    assert_eq!(b.count(Counter::LocalIdleTimeouts), 0);

    // A client RST Splicer cannot judge (not at its next byte): forwarded, then the
    // state goes after 2 s of silence.
    let mut b = Bed::new(0);
    b.connect_and_request(REQUEST);
    b.syn_ack();
    let sent = b.to_kernel.len();
    b.client_sends(Seg {
        seq: client_next + 10,
        flags: RST,
        ..Seg::default()
    });
    assert_eq!(b.to_kernel.len(), sent + 1, "forwarded to the kernel");
    assert_eq!(b.flows(), 1);
    b.advance(2_100);
    assert_eq!(b.flows(), 0);
    assert_eq!(b.count(Counter::LocalResets), 1);
}

#[test]
fn a_local_connection_takes_a_slot_of_maxconns_until_it_is_forgotten() {
    let mut b = Bed::new(0);
    b.connect_and_request(REQUEST);
    assert_eq!(b.inflight(), 1, "charged from the replay on");
    b.syn_ack();
    assert_eq!(b.inflight(), 1);
    assert_eq!(b.p.busy_clients(), 1, "a graceful stop waits for it");
    // The client resets at its next byte: forgotten, the slot free.
    let iss = b.iss;
    b.client_sends(Seg {
        seq: CLIENT_ISN + 1 + REQUEST.len() as u32,
        ack: Some(iss + 1),
        flags: RST,
        ..Seg::default()
    });
    assert_eq!(b.flows(), 0);
    assert_eq!(b.inflight(), 0);
}

#[test]
fn a_replay_that_fails_frees_its_slot() {
    let mut b = Bed::new(0);
    b.connect_and_request(REQUEST);
    assert_eq!(b.inflight(), 1);
    b.kernel_sends(Seg {
        seq: 0,
        ack: Some(CLIENT_ISN + 1),
        flags: RST | tcp::flags::ACK,
        ..Seg::default()
    });
    assert_eq!(b.count(Counter::LocalRefused), 1);
    assert_eq!(b.inflight(), 0);
}

#[test]
fn a_real_set_failed_resets_its_local_connections_at_both_ends() {
    let mut b = Bed::new(0);
    b.connect_and_request(REQUEST);
    b.syn_ack();
    let kernel_before = b.to_kernel.len();
    let client_before = b.to_client.len();
    b.reconfigure(|f| f.reals[0].status = crate::balance::Status::Failed);
    assert!(b.count(Counter::ResetFailed) >= 1);
    assert_eq!(b.flows(), 0);
    assert_eq!(b.inflight(), 0);
    let k = &b.to_kernel[kernel_before..];
    assert_eq!(
        k.iter().map(|s| (s.flags, s.seq)).collect::<Vec<_>>(),
        vec![(RST, CLIENT_ISN + 1 + REQUEST.len() as u32)],
        "the kernel: a RST at the client's next byte"
    );
    assert!(
        b.to_client[client_before..]
            .iter()
            .any(|s| s.flags & RST != 0),
        "the client: a RST"
    );
}

#[test]
fn a_real_set_failed_during_the_replay_answers_503() {
    let mut b = Bed::new(0);
    b.connect_and_request(REQUEST);
    let client_before = b.to_client.len();
    b.reconfigure(|f| f.reals[0].status = crate::balance::Status::Failed);
    assert!(b.count(Counter::ResetFailed) >= 1);
    assert_eq!(b.inflight(), 0);
    assert!(
        b.to_client[client_before..]
            .iter()
            .any(|s| s.payload.starts_with(b"HTTP/1.1 503")),
        "a 503 to the client"
    );
    // A late SYN-ACK from the kernel finds nothing to complete.
    b.syn_ack();
    assert_eq!(b.count(Counter::LocalEstablished), 0);
}
