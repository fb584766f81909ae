//! Which worker an agent's datagram belongs to, with more than one worker.
//!
//! Every datagram from one agent has the same addresses and ports (the agent's
//! `listen` to Splicer's port address, both on [`AGENT_PORT`]), so the 5-tuple hash
//! that spreads flows over the workers would send all of them to one worker, and RSS
//! may put them on any queue. But each worker runs its own channel to every agent
//! (`channel`: its own heartbeats, its own HANDOFFs), and an answer must reach the
//! worker that asked:
//!
//! * HEARTBEAT_ACK and HANDOFF_ACK echo the id of what they answer, whose top byte is
//!   the index of the worker that sent it ([`super::channel::Agents::next_id`]);
//! * CLOSED is the agent's own message: it names the client connection, and goes to
//!   the worker that owns that connection (the owner of the client's 4-tuple, as for
//!   the client's own segments).
//!
//! Anything else (not for the agent port, not a well-formed message, an id naming no
//! worker) is left to the usual 5-tuple owner, which drops or answers it as one worker
//! alone would.

use super::channel::AGENT_PORT;
use crate::lookup::FlowKey;
use crate::parse::Ipv4Meta;
use splicer_wire::handoff::{Body, Message};
use splicer_wire::ipv4::protocol;
use splicer_wire::udp;

/// The worker (of `workers`) an agent's datagram in `frame` is for, when it is one
/// that names its worker; `None` otherwise.
pub(crate) fn agent_datagram_owner(meta: &Ipv4Meta, frame: &[u8], workers: usize) -> Option<usize> {
    let u = udp::Packet::new_checked(frame.get(meta.l4_range())?).ok()?;
    if u.dst_port() != AGENT_PORT {
        return None;
    }
    let msg = Message::parse(u.payload()).ok()?;
    let worker = match msg.body {
        Body::HeartbeatAck { .. } | Body::HandoffAck { .. } => (msg.id >> 24) as usize,
        Body::Closed { client, vip, .. } => FlowKey::new(
            protocol::TCP,
            (*client.ip(), client.port()),
            (*vip.ip(), vip.port()),
        )
        .owner(workers),
        _ => return None,
    };
    (worker < workers).then_some(worker)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{classify, Classified};
    use splicer_wire::handoff::{CloseReason, HandoffResult};
    use splicer_wire::EthernetAddress;
    use std::net::{Ipv4Addr, SocketAddrV4};

    const MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);
    const AGENT: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 10);
    const INSIDE: Ipv4Addr = Ipv4Addr::new(198, 19, 0, 1);

    /// An Ethernet frame carrying `msg` from the agent to Splicer, to UDP port `dst`.
    fn datagram(msg: &Message, dst: u16) -> Vec<u8> {
        let udp_len = 8 + msg.buffer_len();
        let mut f = vec![0u8; 14 + 20 + udp_len];
        f[..6].copy_from_slice(&MAC.0);
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        let ip = splicer_wire::ipv4::Ipv4Repr {
            src: AGENT,
            dst: INSIDE,
            protocol: protocol::UDP,
            payload_len: udp_len,
            ttl: 64,
            ident: 1,
        };
        ip.emit(&mut splicer_wire::ipv4::Packet::new_unchecked(&mut f[14..]));
        let d = &mut f[34..];
        msg.emit(&mut d[8..]).unwrap();
        let mut u = udp::Packet::new_unchecked(d);
        u.set_src_port(AGENT_PORT);
        u.set_dst_port(dst);
        u.set_len(udp_len as u16);
        u.fill_checksum(AGENT, INSIDE);
        f
    }

    fn owner(msg: &Message, dst: u16, workers: usize) -> Option<usize> {
        let f = datagram(msg, dst);
        let Ok(Classified::Ipv4(meta)) = classify(&f, MAC) else {
            panic!("not an IPv4 frame");
        };
        agent_datagram_owner(&meta, &f, workers)
    }

    #[test]
    fn acknowledgements_go_to_the_worker_named_by_their_id() {
        let ack = |id| Message {
            id,
            body: Body::HeartbeatAck {
                epoch: 1,
                connections: 0,
            },
        };
        assert_eq!(owner(&ack(0x0100_0007), AGENT_PORT, 2), Some(1));
        assert_eq!(owner(&ack(0x0000_0007), AGENT_PORT, 2), Some(0));
        let handoff_ack = Message {
            id: 0x0200_0001,
            body: Body::HandoffAck {
                result: HandoffResult::Ok,
                kernel_isn: 5,
                epoch: 1,
            },
        };
        assert_eq!(owner(&handoff_ack, AGENT_PORT, 4), Some(2));
        // An id naming no worker: left to the 5-tuple owner.
        assert_eq!(owner(&handoff_ack, AGENT_PORT, 2), None);
        // Not the agent port.
        assert_eq!(owner(&ack(0x0100_0007), 53, 2), None);
    }

    #[test]
    fn closed_goes_to_the_owner_of_the_client_connection() {
        let vip = SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 100), 80);
        let mut seen = [false; 2];
        for port in 40000..40064u16 {
            let client = SocketAddrV4::new(Ipv4Addr::new(198, 18, 1, 2), port);
            let msg = Message {
                id: 0x00AB_CDEF,
                body: Body::Closed {
                    client,
                    vip,
                    reason: CloseReason::Fin,
                },
            };
            let expected = FlowKey::new(
                protocol::TCP,
                (*client.ip(), client.port()),
                (*vip.ip(), vip.port()),
            )
            .owner(2);
            assert_eq!(owner(&msg, AGENT_PORT, 2), Some(expected));
            seen[expected] = true;
        }
        assert_eq!(seen, [true, true], "both workers own some clients");
    }
}
