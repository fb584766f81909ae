//! The appliance's own presence on the network: it answers ARP for its port addresses
//! and VIPs on the owning port, resolves its neighbours, and answers ICMP echo.

pub mod arp;
pub mod icmp;
pub mod neighbour;
