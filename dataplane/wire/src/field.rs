//! Big-endian field access shared by the views.
//!
//! Each accessor indexes the slice, so an out-of-range offset panics rather than
//! reading garbage; the views only call them at offsets their `check_len` covers.

use std::net::Ipv4Addr;

#[inline(always)]
pub(crate) fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

#[inline(always)]
pub(crate) fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

#[inline(always)]
pub(crate) fn set_u16_at(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

#[inline(always)]
pub(crate) fn set_u32_at(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

#[inline(always)]
pub(crate) fn ipv4_at(b: &[u8], at: usize) -> Ipv4Addr {
    Ipv4Addr::new(b[at], b[at + 1], b[at + 2], b[at + 3])
}

#[inline(always)]
pub(crate) fn set_ipv4_at(b: &mut [u8], at: usize, a: Ipv4Addr) {
    b[at..at + 4].copy_from_slice(&a.octets());
}

#[inline(always)]
pub(crate) fn mac_at(b: &[u8], at: usize) -> crate::EthernetAddress {
    crate::EthernetAddress([b[at], b[at + 1], b[at + 2], b[at + 3], b[at + 4], b[at + 5]])
}

#[inline(always)]
pub(crate) fn set_mac_at(b: &mut [u8], at: usize, a: crate::EthernetAddress) {
    b[at..at + 6].copy_from_slice(&a.0);
}
