//! TCP flag bits: the bare `u8` constants the header view and existing callers use,
//! and [`TcpFlags`], a typed set of them for [`TcpRepr`](super::TcpRepr).
//!
//! The typed set exists so that a flags argument cannot be confused with the other
//! small integers beside it (a window scale, a TTL), and so that a logged segment
//! reads `SYN | ACK` rather than `18`. The `u8` constants stay because the header view
//! ([`Packet::flags`](super::Packet::flags)) and its callers work in raw bits;
//! [`TcpFlags::from`] and [`TcpFlags::bits`] convert both ways for free.

use core::fmt;
use core::ops::{BitAnd, BitAndAssign, BitOr, BitOrAssign, Not, Sub, SubAssign};

/// No more data from sender.
pub const FIN: u8 = 0x01;
/// Synchronise sequence numbers.
pub const SYN: u8 = 0x02;
/// Reset the connection.
pub const RST: u8 = 0x04;
/// Push.
pub const PSH: u8 = 0x08;
/// The acknowledgement number is significant.
pub const ACK: u8 = 0x10;
/// The urgent pointer is significant.
pub const URG: u8 = 0x20;
/// ECN echo.
pub const ECE: u8 = 0x40;
/// Congestion window reduced.
pub const CWR: u8 = 0x80;

/// A set of the eight TCP flag bits (the experimental NS bit is not included).
///
/// Combine with `|`, test with [`TcpFlags::contains`] or [`TcpFlags::intersects`];
/// `Debug` names the bits set, in wire order from FIN up: `TcpFlags(SYN | ACK)`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(u8);

impl TcpFlags {
    /// No more data from sender.
    pub const FIN: TcpFlags = TcpFlags(FIN);
    /// Synchronise sequence numbers.
    pub const SYN: TcpFlags = TcpFlags(SYN);
    /// Reset the connection.
    pub const RST: TcpFlags = TcpFlags(RST);
    /// Push.
    pub const PSH: TcpFlags = TcpFlags(PSH);
    /// The acknowledgement number is significant.
    pub const ACK: TcpFlags = TcpFlags(ACK);
    /// The urgent pointer is significant.
    pub const URG: TcpFlags = TcpFlags(URG);
    /// ECN echo.
    pub const ECE: TcpFlags = TcpFlags(ECE);
    /// Congestion window reduced.
    pub const CWR: TcpFlags = TcpFlags(CWR);

    const NAMES: [(TcpFlags, &'static str); 8] = [
        (TcpFlags::FIN, "FIN"),
        (TcpFlags::SYN, "SYN"),
        (TcpFlags::RST, "RST"),
        (TcpFlags::PSH, "PSH"),
        (TcpFlags::ACK, "ACK"),
        (TcpFlags::URG, "URG"),
        (TcpFlags::ECE, "ECE"),
        (TcpFlags::CWR, "CWR"),
    ];

    /// No flag set.
    #[inline]
    pub const fn empty() -> TcpFlags {
        TcpFlags(0)
    }

    /// The flags of a raw flags byte; every bit is a flag, so none is lost.
    #[inline]
    pub const fn from_bits(bits: u8) -> TcpFlags {
        TcpFlags(bits)
    }

    /// The raw flags byte, as [`Packet::set_flags`](super::Packet::set_flags) takes it.
    #[inline]
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether no flag is set.
    #[inline]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every flag of `other` is set in `self` (true for an empty `other`).
    #[inline]
    pub const fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any flag of `other` is set in `self`.
    #[inline]
    pub const fn intersects(self, other: TcpFlags) -> bool {
        self.0 & other.0 != 0
    }

    /// Sets the flags of `other`.
    #[inline]
    pub fn insert(&mut self, other: TcpFlags) {
        self.0 |= other.0;
    }

    /// Clears the flags of `other`.
    #[inline]
    pub fn remove(&mut self, other: TcpFlags) {
        self.0 &= !other.0;
    }

    /// Sets or clears the flags of `other`.
    #[inline]
    pub fn set(&mut self, other: TcpFlags, on: bool) {
        if on {
            self.insert(other);
        } else {
            self.remove(other);
        }
    }

    /// `self` with the flags of `other` set or cleared.
    #[inline]
    #[must_use]
    pub const fn with(self, other: TcpFlags, on: bool) -> TcpFlags {
        if on {
            TcpFlags(self.0 | other.0)
        } else {
            TcpFlags(self.0 & !other.0)
        }
    }
}

impl From<u8> for TcpFlags {
    #[inline]
    fn from(bits: u8) -> TcpFlags {
        TcpFlags(bits)
    }
}

impl From<TcpFlags> for u8 {
    #[inline]
    fn from(f: TcpFlags) -> u8 {
        f.0
    }
}

impl BitOr for TcpFlags {
    type Output = TcpFlags;
    #[inline]
    fn bitor(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | rhs.0)
    }
}

impl BitOrAssign for TcpFlags {
    #[inline]
    fn bitor_assign(&mut self, rhs: TcpFlags) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for TcpFlags {
    type Output = TcpFlags;
    #[inline]
    fn bitand(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 & rhs.0)
    }
}

impl BitAndAssign for TcpFlags {
    #[inline]
    fn bitand_assign(&mut self, rhs: TcpFlags) {
        self.0 &= rhs.0;
    }
}

impl Sub for TcpFlags {
    type Output = TcpFlags;
    /// The flags of `self` that are not in `rhs`.
    #[inline]
    fn sub(self, rhs: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 & !rhs.0)
    }
}

impl SubAssign for TcpFlags {
    #[inline]
    fn sub_assign(&mut self, rhs: TcpFlags) {
        self.0 &= !rhs.0;
    }
}

impl Not for TcpFlags {
    type Output = TcpFlags;
    #[inline]
    fn not(self) -> TcpFlags {
        TcpFlags(!self.0)
    }
}

impl fmt::Debug for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TcpFlags(")?;
        fmt::Display::fmt(self, f)?;
        f.write_str(")")
    }
}

impl fmt::Display for TcpFlags {
    /// The names of the flags set, joined by ` | ` (`SYN | ACK`), or `empty`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("empty");
        }
        let mut first = true;
        for (flag, name) in TcpFlags::NAMES {
            if self.contains(flag) {
                if !first {
                    f.write_str(" | ")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_and_raw_constants_agree() {
        let pairs = [
            (TcpFlags::FIN, FIN),
            (TcpFlags::SYN, SYN),
            (TcpFlags::RST, RST),
            (TcpFlags::PSH, PSH),
            (TcpFlags::ACK, ACK),
            (TcpFlags::URG, URG),
            (TcpFlags::ECE, ECE),
            (TcpFlags::CWR, CWR),
        ];
        let mut all = TcpFlags::empty();
        for (typed, raw) in pairs {
            assert_eq!(typed.bits(), raw);
            assert_eq!(TcpFlags::from(raw), typed);
            assert_eq!(u8::from(typed), raw);
            assert_eq!(raw.count_ones(), 1);
            assert!(!all.intersects(typed), "each bit is distinct");
            all |= typed;
        }
        assert_eq!(all.bits(), 0xff);
        for b in 0..=u8::MAX {
            assert_eq!(TcpFlags::from_bits(b).bits(), b, "no bit is lost");
        }
    }

    #[test]
    fn set_operations() {
        let sa = TcpFlags::SYN | TcpFlags::ACK;
        assert!(sa.contains(TcpFlags::SYN) && sa.contains(TcpFlags::ACK));
        assert!(sa.contains(sa) && sa.contains(TcpFlags::empty()));
        assert!(!sa.contains(TcpFlags::SYN | TcpFlags::FIN));
        assert!(sa.intersects(TcpFlags::SYN | TcpFlags::FIN));
        assert!(!sa.intersects(TcpFlags::FIN | TcpFlags::RST));
        assert_eq!(sa & TcpFlags::ACK, TcpFlags::ACK);
        assert_eq!(sa - TcpFlags::ACK, TcpFlags::SYN);
        assert_eq!(!sa & sa, TcpFlags::empty());
        assert_eq!(sa.with(TcpFlags::FIN, true).bits(), SYN | ACK | FIN);
        assert_eq!(sa.with(TcpFlags::SYN, false), TcpFlags::ACK);

        let mut f = TcpFlags::default();
        assert!(f.is_empty());
        f.insert(TcpFlags::FIN | TcpFlags::PSH);
        f.set(TcpFlags::ACK, true);
        f.set(TcpFlags::PSH, false);
        assert_eq!(f.bits(), FIN | ACK);
        f.remove(TcpFlags::FIN);
        f -= TcpFlags::CWR;
        f &= TcpFlags::ACK | TcpFlags::RST;
        assert_eq!(f, TcpFlags::ACK);
    }

    #[test]
    fn debug_and_display_name_the_flags() {
        assert_eq!(
            format!("{:?}", TcpFlags::SYN | TcpFlags::ACK),
            "TcpFlags(SYN | ACK)"
        );
        assert_eq!(format!("{:?}", TcpFlags::empty()), "TcpFlags(empty)");
        assert_eq!(
            TcpFlags::from(0xff).to_string(),
            "FIN | SYN | RST | PSH | ACK | URG | ECE | CWR"
        );
        assert_eq!(TcpFlags::RST.to_string(), "RST");
    }
}
