//! The next hop a connection keeps (`transmit::NextHop`): a neighbour's new MAC, and the
//! expiry of its entry, reach the spliced segments at once, as when every segment
//! looked its neighbour up.

use super::*;
use crate::presence::neighbour::NeighbourUpdate;
use splicer_wire::EthernetAddress;

const NEW_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 0x77]);

/// The server sends response bytes at `off`; returns the frames Splicer sent.
fn server_sends_raw(b: &mut Bed, off: u32, bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut f = frame(
        (SERVER, 80),
        (INSIDE, b.local_port),
        &response(b, off, 90, bytes),
    );
    f[..6].copy_from_slice(&[2, 0, 0, 0, 0, 2]);
    let mut out = Out::default();
    b.p.receive(1, f, b.now, &mut out);
    out.tx
}

/// The destination MAC of the one frame Splicer sent the client.
fn mac_to_client(frames: &[Vec<u8>]) -> EthernetAddress {
    let to_client: Vec<_> = frames.iter().filter(|f| parse(f).0 == CLIENT).collect();
    assert_eq!(to_client.len(), 1, "one segment relayed to the client");
    let mut mac = [0; 6];
    mac.copy_from_slice(&to_client[0][..6]);
    EthernetAddress(mac)
}

#[test]
fn a_spliced_connection_follows_its_neighbour() {
    let mut b = Bed::new();
    b.client_sends_head(b"GET /a HTTP/1.1\r\nHost: a\r\n\r\n");
    let head = b"HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n";
    let mut off = 0;
    let sent = server_sends_raw(&mut b, off, head);
    assert_eq!(mac_to_client(&sent), PEER_MAC);
    off += head.len() as u32;
    // Kept: the same MAC again.
    let sent = server_sends_raw(&mut b, off, b"0123456789");
    assert_eq!(mac_to_client(&sent), PEER_MAC);
    off += 10;
    // The client moved to another MAC (learned by another worker): the next segment
    // goes there.
    let update = NeighbourUpdate {
        port: 0,
        ip: CLIENT,
        mac: NEW_MAC,
    };
    b.p.apply_neighbour_update(update, b.now, &mut Out::default());
    let sent = server_sends_raw(&mut b, off, b"0123456789");
    assert_eq!(mac_to_client(&sent), NEW_MAC);
    off += 10;
    // Its entry expires (60 s after it was learned, nothing refreshed it): the next
    // segment waits for a new resolution instead of leaving for the old MAC.
    b.now += 60_001 * MS;
    let sent = server_sends_raw(&mut b, off, b"0123456789");
    let relayed = sent
        .iter()
        .filter(|f| f[12..14] == [0x08, 0x00] && parse(f).0 == CLIENT)
        .count();
    assert_eq!(relayed, 0, "nothing left for the expired MAC");
    assert!(
        sent.iter().any(|f| f[12..14] == [0x08, 0x06]),
        "an ARP request for the client: {sent:?}"
    );
}
