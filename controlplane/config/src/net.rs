//! Addresses and names.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

/// An interface address with its prefix length, written `"a.b.c.d/len"`: the port's
/// own address (`addr`) and the subnet it is directly connected to.
///
/// The type accepts any `prefix_len` from 0 to 32; a `[[port]]` address must have
/// 1..=31 and be a host address of its subnet ([`crate::Config::validate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PortAddress {
    /// The port's own address.
    pub addr: Ipv4Addr,
    /// The subnet's prefix length.
    pub prefix_len: u8,
}

impl PortAddress {
    /// The subnet mask (`255.255.255.0` for /24). A `prefix_len` above 32 counts as 32.
    pub fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from(mask(self.prefix_len))
    }

    /// The subnet's network address (`198.18.0.0` for `198.18.0.1/24`).
    pub fn network(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) & mask(self.prefix_len))
    }

    /// The subnet's broadcast address (`198.18.0.255` for `198.18.0.1/24`).
    pub fn broadcast(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) | !mask(self.prefix_len))
    }

    /// Whether `ip` is inside the subnet.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        let m = mask(self.prefix_len);
        u32::from(ip) & m == u32::from(self.addr) & m
    }

    /// Whether the two subnets share any address.
    pub fn overlaps(&self, other: &PortAddress) -> bool {
        self.contains(other.network()) || other.contains(self.network())
    }

    /// The subnet in `network/len` form (`198.18.0.0/24`).
    pub fn subnet(&self) -> String {
        format!("{}/{}", self.network(), self.prefix_len)
    }
}

fn mask(prefix_len: u8) -> u32 {
    match prefix_len {
        0 => 0,
        n if n >= 32 => u32::MAX,
        n => u32::MAX << (32 - u32::from(n)),
    }
}

impl fmt::Display for PortAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

/// A string that is not `"a.b.c.d/len"` with len 0..=32.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortAddressError(String);

impl fmt::Display for PortAddressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let example = self
            .0
            .split('/')
            .next()
            .and_then(|a| a.trim().parse::<Ipv4Addr>().ok())
            .unwrap_or(Ipv4Addr::new(198, 18, 0, 1));
        write!(
            f,
            "{:?} is not an IPv4 address with a prefix length (like {example}/24)",
            self.0
        )
    }
}

impl std::error::Error for PortAddressError {}

impl FromStr for PortAddress {
    type Err = PortAddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || PortAddressError(s.to_string());
        let (addr, len) = s.split_once('/').ok_or_else(err)?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| err())?;
        let digits = len.bytes().all(|b| b.is_ascii_digit());
        if !digits || len.is_empty() || len.len() > 2 || (len.len() > 1 && len.starts_with('0')) {
            return Err(err());
        }
        let prefix_len: u8 = len.parse().map_err(|_| err())?;
        if prefix_len > 32 {
            return Err(err());
        }
        Ok(PortAddress { addr, prefix_len })
    }
}

impl Serialize for PortAddress {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PortAddress {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Longest port or virtual name.
pub(crate) const NAME_MAX: usize = 32;

/// Whether `name` is 1 to 32 of `a-z 0-9 _ -`.
pub(crate) fn valid_name(name: &str) -> bool {
    (1..=NAME_MAX).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Whether `name` is 1 to 32 of `A-Z a-z 0-9 _ . -` (real and rule names).
pub(crate) fn valid_real_name(name: &str) -> bool {
    (1..=NAME_MAX).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

/// Why `ip` can be no port's, gateway's or VIP's address, if it cannot.
pub(crate) fn unusable(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    if o[0] == 0 {
        Some("in 0.0.0.0/8 (\"this network\")")
    } else if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else if ip.is_broadcast() {
        Some("the limited broadcast address")
    } else if o[0] >= 240 {
        Some("in the reserved range 240.0.0.0/4")
    } else {
        None
    }
}

/// Why `ip` cannot be a host on `subnet`, if it cannot: the network or broadcast
/// address (a /31 has neither, RFC 3021; a /32 is its single address).
pub(crate) fn not_a_host(ip: Ipv4Addr, subnet: &PortAddress) -> Option<&'static str> {
    if subnet.prefix_len >= 31 || !subnet.contains(ip) {
        None
    } else if ip == subnet.network() {
        Some("network")
    } else if ip == subnet.broadcast() {
        Some("broadcast")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pa(s: &str) -> PortAddress {
        s.parse().unwrap()
    }

    #[test]
    fn parses_and_displays() {
        let a = pa("198.18.0.1/24");
        assert_eq!(a.addr, Ipv4Addr::new(198, 18, 0, 1));
        assert_eq!(a.prefix_len, 24);
        assert_eq!(a.to_string(), "198.18.0.1/24");
        assert_eq!(pa("10.0.0.1/0").prefix_len, 0);
        assert_eq!(pa("10.0.0.1/32").prefix_len, 32);
    }

    #[test]
    fn rejects_malformed() {
        for s in [
            "198.19.0.1",
            "198.19.0.1/",
            "198.19.0.1/33",
            "198.19.0.1/+4",
            "198.19.0.1/024",
            "198.19.0.1/08",
            "198.19.0/24",
            "198.19.0.1/24/1",
            "host/24",
            "",
        ] {
            assert!(s.parse::<PortAddress>().is_err(), "{s}");
        }
        assert_eq!(
            "198.19.0.1".parse::<PortAddress>().unwrap_err().to_string(),
            "\"198.19.0.1\" is not an IPv4 address with a prefix length (like 198.19.0.1/24)"
        );
    }

    #[test]
    fn subnet_arithmetic() {
        let a = pa("198.18.0.1/24");
        assert_eq!(a.network(), Ipv4Addr::new(198, 18, 0, 0));
        assert_eq!(a.broadcast(), Ipv4Addr::new(198, 18, 0, 255));
        assert_eq!(a.netmask(), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(a.subnet(), "198.18.0.0/24");
        assert!(a.contains(Ipv4Addr::new(198, 18, 0, 100)));
        assert!(!a.contains(Ipv4Addr::new(198, 18, 1, 1)));
        let b = pa("10.1.2.3/1");
        assert_eq!(b.network(), Ipv4Addr::new(0, 0, 0, 0));
        assert!(b.contains(Ipv4Addr::new(127, 0, 0, 1)));
        assert!(!b.contains(Ipv4Addr::new(128, 0, 0, 1)));
        let any = pa("10.1.2.3/0");
        assert!(any.contains(Ipv4Addr::new(255, 255, 255, 255)));
        assert_eq!(any.netmask(), Ipv4Addr::UNSPECIFIED);
        let host = pa("10.1.2.3/32");
        assert!(host.contains(Ipv4Addr::new(10, 1, 2, 3)));
        assert!(!host.contains(Ipv4Addr::new(10, 1, 2, 4)));
    }

    #[test]
    fn overlap() {
        assert!(pa("198.18.0.1/24").overlaps(&pa("198.18.0.2/24")));
        assert!(pa("198.18.0.1/24").overlaps(&pa("198.18.200.1/16")));
        assert!(pa("198.18.200.1/16").overlaps(&pa("198.18.0.1/24")));
        assert!(!pa("198.18.0.1/24").overlaps(&pa("198.19.0.1/24")));
    }

    #[test]
    fn host_rules() {
        let s = pa("198.18.0.1/24");
        assert_eq!(
            not_a_host(Ipv4Addr::new(198, 18, 0, 0), &s),
            Some("network")
        );
        assert_eq!(
            not_a_host(Ipv4Addr::new(198, 18, 0, 255), &s),
            Some("broadcast")
        );
        assert_eq!(not_a_host(Ipv4Addr::new(198, 18, 0, 7), &s), None);
        let p2p = pa("10.0.0.0/31");
        assert_eq!(not_a_host(Ipv4Addr::new(10, 0, 0, 0), &p2p), None);
        assert_eq!(not_a_host(Ipv4Addr::new(10, 0, 0, 1), &p2p), None);
        assert!(unusable(Ipv4Addr::new(127, 0, 0, 1)).is_some());
        assert!(unusable(Ipv4Addr::new(224, 0, 0, 1)).is_some());
        assert!(unusable(Ipv4Addr::new(0, 1, 2, 3)).is_some());
        assert!(unusable(Ipv4Addr::new(250, 1, 2, 3)).is_some());
        assert!(unusable(Ipv4Addr::new(198, 18, 0, 1)).is_none());
    }

    #[test]
    fn names() {
        for ok in ["outside", "a", "web-1", "db_2", &"x".repeat(32)] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "Outside", "a b", "café", "dot.name", &"x".repeat(33)] {
            assert!(!valid_name(bad), "{bad}");
        }
        for ok in ["s1", "S1", "web-1.dc_2", ".", &"x".repeat(32)] {
            assert!(valid_real_name(ok), "{ok}");
        }
        for bad in ["", "a b", "café", "s/1", "s:1", &"x".repeat(33)] {
            assert!(!valid_real_name(bad), "{bad}");
        }
    }

    #[test]
    fn serde_as_string() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct T {
            a: PortAddress,
        }
        let t = T {
            a: pa("198.18.0.1/24"),
        };
        let s = toml::to_string(&t).unwrap();
        assert_eq!(s.trim(), "a = \"198.18.0.1/24\"");
        assert_eq!(toml::from_str::<T>(&s).unwrap(), t);
        assert!(toml::from_str::<T>("a = \"198.18.0.1\"").is_err());
    }
}
