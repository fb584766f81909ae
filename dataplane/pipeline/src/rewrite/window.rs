//! Window-field rescaling between two legs that negotiated different window scales.
//!
//! A window field means `field << shift` bytes, where `shift` is the scale the
//! *sender* of the segment announced in its SYN (RFC 7323). The client announced its
//! shift to Splicer; Splicer announced its own shift to the server when it opened the
//! pooled connection, long before. A client's window forwarded to the server is
//! therefore read with the client's shift and written with the one Splicer announced
//! on the server leg; a server's window forwarded to the client is read with the
//! server's shift and written with the one Splicer announced to the client. A leg
//! without window scaling has shift 0.

/// Largest shift RFC 7323 allows; a larger announced value is used as 14.
pub const MAX_SHIFT: u8 = 14;

/// The window in bytes that `field` advertises under `shift`.
#[inline]
pub fn bytes(field: u16, shift: u8) -> u32 {
    // 65535 << 14 < 2^30: cannot overflow.
    u32::from(field) << shift.min(MAX_SHIFT)
}

/// Re-expresses a window field sent with scale `from_shift` for a receiver that
/// reads it with `to_shift`.
///
/// The byte count is rounded down, so the receiver is never told it may send more
/// than the real receiver can take, and capped at 65535 (which with a small
/// `to_shift` is all the field can say; the window is then merely smaller than it
/// could be). The one exception is a non-zero window that would round to zero: it
/// becomes 1. A zero window puts the sender into persist mode, probing with one byte
/// at growing intervals, whereas the real receiver had room; over-advertising by less
/// than `2^to_shift` bytes at worst costs a dropped segment that the sender
/// retransmits once the window opens.
#[inline]
pub fn rescale(window_field: u16, from_shift: u8, to_shift: u8) -> u16 {
    if window_field == 0 {
        return 0;
    }
    let scaled = bytes(window_field, from_shift) >> to_shift.min(MAX_SHIFT);
    scaled.clamp(1, u32::from(u16::MAX)) as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    #[test]
    fn equal_shifts_keep_the_field() {
        for shift in 0..=MAX_SHIFT {
            for field in [0, 1, 2, 501, 0x7fff, 0xffff] {
                assert_eq!(rescale(field, shift, shift), field, "shift {shift}");
            }
        }
    }

    #[test]
    fn typical_linux_legs() {
        // Client shift 7, server leg shift 9: 64240 << 7 bytes = 8_222_720 → / 512.
        assert_eq!(rescale(64240, 7, 9), 16060);
        // Downscaling rounds down: 1000 << 9 = 512000 → 512000 >> 7 = 4000 exactly.
        assert_eq!(rescale(1000, 9, 7), 4000);
        assert_eq!(rescale(3, 0, 1), 1, "1.5 rounds down");
        // To a leg without scaling: capped at 65535.
        assert_eq!(rescale(1000, 7, 0), 65535);
        assert_eq!(rescale(511, 7, 0), 65408);
        assert_eq!(rescale(0xffff, MAX_SHIFT, 0), 0xffff);
        // From a leg without scaling to a scaled one.
        assert_eq!(rescale(65535, 0, 7), 511);
    }

    #[test]
    fn nonzero_never_becomes_zero() {
        assert_eq!(rescale(1, 0, MAX_SHIFT), 1);
        assert_eq!(rescale(100, 2, 10), 1);
        assert_eq!(rescale(0, 0, 0), 0);
        assert_eq!(rescale(0, 14, 0), 0, "zero window stays closed");
    }

    #[test]
    fn oversized_shifts_are_treated_as_14() {
        assert_eq!(rescale(1, 15, 0), rescale(1, 14, 0));
        assert_eq!(rescale(0xffff, 0, 255), rescale(0xffff, 0, 14));
        assert_eq!(bytes(0xffff, 255), 0xffff << 14);
    }

    #[test]
    fn random_windows_round_down_within_one_unit() {
        let mut rng = StdRng::seed_from_u64(0x3171_d0e5);
        for _ in 0..20_000 {
            let field = rng.gen::<u16>();
            let from = rng.gen_range(0..15u8);
            let to = rng.gen_range(0..15u8);
            let got = rescale(field, from, to);
            let real = bytes(field, from);
            let said = bytes(got, to);
            if field == 0 {
                assert_eq!(got, 0);
            } else if got == u16::MAX {
                assert!(said <= real, "{field} {from}->{to}: capped, never raised");
            } else if real >> to == 0 {
                assert_eq!(got, 1, "{field} {from}->{to}");
            } else {
                // Never more than the receiver said, less by under one unit.
                assert!(
                    said <= real && real - said < 1 << to,
                    "{field} {from}->{to}"
                );
            }
        }
    }
}
