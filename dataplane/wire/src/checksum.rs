//! Internet checksum (RFC 1071) arithmetic and RFC 1624 incremental updates.
//!
//! A checksum is computed in two steps so that disjoint pieces (pseudo-header, header,
//! payload) can be summed separately and combined by plain `u32` addition: [`sum`]
//! and [`pseudo_header_v4`] give partial sums, [`finish`] folds and complements the
//! total into the value stored on the wire.
//!
//! Pieces combined this way must each start at an even offset of the checksummed
//! data, because an odd-length piece is padded with a zero byte at its end.

use std::net::Ipv4Addr;

/// Ones-complement sum of `data` taken as big-endian 16-bit words, an odd final byte
/// being the high byte of a zero-padded word. Not complemented.
///
/// The result is a partial sum: combine several with `+` and pass the total to
/// [`fold`] or [`finish`]. It is returned folded to at most `0xffff`, so that adding
/// up to 65 537 partial sums cannot overflow a `u32`; callers must still fold.
#[inline]
pub fn sum(data: &[u8]) -> u32 {
    // 2^16 ≡ 1 (mod 0xffff), so a ones-complement sum of 64-bit words (end-around
    // carry included) is congruent to the sum of their 16-bit halves: four words per
    // addition instead of one.
    let mut acc: u64 = 0;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        acc = add_end_around(acc, w);
    }
    // The last 0 to 7 bytes as a zero-padded big-endian word: zero padding on the
    // right keeps every byte in its position within a 16-bit word, and pads an odd
    // final byte the way RFC 1071 requires. Read in 4-, 2- and 1-byte steps rather
    // than copied into a padded buffer, which costs a call to `memcpy` (its length is
    // not known at compile time) on every header verified.
    let mut rest = chunks.remainder();
    let mut tail: u64 = 0;
    // Where the next byte's lowest bit goes in the word.
    let mut shift = 56;
    if let [a, b, c, d, more @ ..] = rest {
        tail |= u64::from(u32::from_be_bytes([*a, *b, *c, *d])) << 32;
        rest = more;
        shift = 24;
    }
    if let [a, b, more @ ..] = rest {
        tail |= u64::from(u16::from_be_bytes([*a, *b])) << (shift - 8);
        rest = more;
        shift -= 16;
    }
    if let [a] = rest {
        tail |= u64::from(*a) << shift;
    }
    acc = add_end_around(acc, tail);
    // Two rounds: the first can carry into bit 32, the second cannot.
    let acc = (acc >> 32) + (acc & 0xffff_ffff);
    let acc = (acc >> 32) + (acc & 0xffff_ffff);
    u32::from(fold(acc as u32))
}

#[inline(always)]
fn add_end_around(a: u64, b: u64) -> u64 {
    let (s, carry) = a.overflowing_add(b);
    // Cannot overflow: on carry, s <= 2^64 - 2.
    s + u64::from(carry)
}

/// Folds the carries of a partial sum into 16 bits. Not complemented.
#[inline]
pub fn fold(sum: u32) -> u16 {
    let s = (sum & 0xffff) + (sum >> 16);
    let s = (s & 0xffff) + (s >> 16);
    s as u16
}

/// The checksum to store for a partial sum: folded, then complemented.
#[inline]
pub fn finish(sum: u32) -> u16 {
    !fold(sum)
}

/// The checksum of `data` on its own. Over data that includes a correct checksum
/// field the result is 0, which is how headers are verified.
#[inline]
pub fn data(data: &[u8]) -> u16 {
    finish(sum(data))
}

/// Partial sum of the IPv4 pseudo-header that TCP and UDP checksums cover; `len` is
/// the length of the TCP segment or UDP datagram, header included.
#[inline]
pub fn pseudo_header_v4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, len: u16) -> u32 {
    let s = u32::from(src);
    let d = u32::from(dst);
    (s >> 16) + (s & 0xffff) + (d >> 16) + (d & 0xffff) + u32::from(protocol) + u32::from(len)
}

/// Updates checksum `csum` after a 16-bit word of the covered data changed from `old`
/// to `new`.
///
/// Uses RFC 1624 equation 3, `HC' = ~(~HC + ~m + m')`, which unlike the older
/// equation of RFC 1141 never produces `0x0000` for data whose full recomputation gives
/// `0xffff`. The word must sit at an even offset; a byte at an odd offset is the low
/// byte of its word.
#[inline]
pub fn update16(csum: u16, old: u16, new: u16) -> u16 {
    let s = u32::from(!csum) + u32::from(!old) + u32::from(new);
    !fold(s)
}

/// Like [`update16`] for a 32-bit field at an even offset, such as an IPv4 address or
/// a TCP sequence number.
#[inline]
pub fn update32(csum: u16, old: u32, new: u32) -> u16 {
    let s = u32::from(!csum)
        + u32::from(!(old >> 16) as u16)
        + u32::from(!(old as u16))
        + (new >> 16)
        + (new & 0xffff);
    !fold(s)
}

/// Like [`update16`] for a run of bytes at an even offset, such as an address and
/// port rewritten together. `old` and `new` must have the same length. An odd length
/// is only right for a run that ends the checksummed data, because its final byte is
/// summed as the high byte of a zero-padded word.
#[inline]
pub fn update_bytes(csum: u16, old: &[u8], new: &[u8]) -> u16 {
    debug_assert_eq!(
        old.len(),
        new.len(),
        "checksum update over runs of different lengths"
    );
    let s = u32::from(!csum) + u32::from(!fold(sum(old))) + sum(new);
    !fold(s)
}

/// Folds a `u64` partial sum into 16 bits, like [`fold`]: the value modulo `0xffff`
/// is kept, and so is being nonzero (`2^32 ≡ 1`, so 32-bit halves add like 16-bit
/// ones). Not complemented.
#[inline]
pub fn fold64(sum: u64) -> u16 {
    // Halves added with end-around carry: the carry cannot overflow again (on carry
    // the sum is at most `2^n - 2`), and the result is zero only if both halves were.
    let (s, c) = ((sum >> 32) as u32).overflowing_add(sum as u32);
    let s = s + u32::from(c);
    let (s, c) = ((s >> 16) as u16).overflowing_add(s as u16);
    s + u16::from(c)
}

/// Updates checksum `csum` by the change of several fields at once. `change` is the
/// plain sum, over every changed 16- or 32-bit field at an even offset, of
/// `u64::from(!old) + u64::from(new)`: RFC 1624 equation 3,
/// `HC' = ~(~HC + Σ(~m + m'))`, folded once.
///
/// The result is exactly that of the chain of [`update16`] and [`update32`] calls over
/// the same fields, in any order: every fold keeps a sum's value modulo `0xffff` and
/// keeps it nonzero unless it was zero, so folding once at the end picks the same one
/// of the two representations of zero. A term for a field that does not change
/// (`!m + m`) is thus not a no-op, no more than the call of [`update16`] it stands for.
///
/// The arithmetic does not depend on byte order (RFC 1071 section 2 (B)): `csum`, the
/// fields and the result may all be native-order loads of the wire bytes
/// (`from_ne_bytes`), stored back the same way, which saves the byte swaps.
#[inline]
pub fn update_sum(csum: u16, change: u64) -> u16 {
    !fold64(u64::from(!csum) + change)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// Textbook RFC 1071 sum: one 16-bit word at a time, folded at the end.
    fn naive_sum(data: &[u8]) -> u32 {
        let mut s: u64 = 0;
        for w in data.chunks(2) {
            let hi = u64::from(w[0]) << 8;
            let lo = w.get(1).copied().map_or(0, u64::from);
            s += hi | lo;
        }
        while s > 0xffff {
            s = (s & 0xffff) + (s >> 16);
        }
        s as u32
    }

    #[test]
    fn rfc1071_example() {
        // RFC 1071 section 3: words 0001 f203 f4f5 f6f7 sum to 2ddf0, folded ddf2.
        let d = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum(&d)), 0xddf2);
        assert_eq!(data(&d), !0xddf2);
        assert_eq!(fold(0x2ddf0), 0xddf2);
    }

    #[test]
    fn sum_matches_naive_for_every_length_and_alignment() {
        let mut rng = StdRng::seed_from_u64(0x1234_5678_9abc_def1);
        let mut buf = [0u8; 80];
        for _ in 0..50 {
            rng.fill(&mut buf[..]);
            for start in 0..8 {
                for end in start..buf.len() {
                    let d = &buf[start..end];
                    assert_eq!(fold(sum(d)), fold(naive_sum(d)), "{start}..{end}");
                }
            }
        }
    }

    #[test]
    fn sum_of_all_ones_stays_in_range() {
        let d = [0xffu8; 4096];
        let s = sum(&d);
        assert!(s <= 0xffff);
        assert_eq!(fold(s), 0xffff);
        assert_eq!(sum(&[]), 0);
        assert_eq!(sum(&[0; 9]), 0);
        assert_eq!(sum(&[0xab]), 0xab00);
    }

    #[test]
    fn partial_sums_combine() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut buf = [0u8; 300];
        rng.fill(&mut buf[..]);
        for split in (0..buf.len()).step_by(2) {
            let (a, b) = buf.split_at(split);
            assert_eq!(finish(sum(a) + sum(b)), data(&buf));
        }
    }

    #[test]
    fn fold_handles_maximum_carries() {
        assert_eq!(fold(0xffff_ffff), 0xffff);
        assert_eq!(fold(0x0001_fffe), 0xffff);
        assert_eq!(fold(0x0001_0000), 0x0001);
        assert_eq!(fold(0), 0);
        assert_eq!(finish(0), 0xffff);
    }

    #[test]
    fn pseudo_header_sums_its_words() {
        let s = pseudo_header_v4(
            Ipv4Addr::new(0xc0, 0xa8, 0x00, 0x01),
            Ipv4Addr::new(0x0a, 0x00, 0x00, 0x02),
            6,
            0x1234,
        );
        assert_eq!(s, 0xc0a8 + 0x0001 + 0x0a00 + 0x0002 + 6 + 0x1234);
    }

    /// Recomputes the checksum of `buf` whose checksum field is at `at`.
    fn recompute(buf: &mut [u8], at: usize) -> u16 {
        buf[at..at + 2].fill(0);
        let c = data(buf);
        buf[at..at + 2].copy_from_slice(&c.to_be_bytes());
        c
    }

    #[test]
    fn incremental_updates_equal_recomputation() {
        let mut rng = StdRng::seed_from_u64(0xdead_beef_cafe_f00d);
        for round in 0..5000 {
            let len = 6 + 2 * rng.gen_range(0..40);
            let mut buf = vec![0u8; len];
            rng.fill(&mut buf[..]);
            // A nonzero first word mirrors real headers (version/IHL) and keeps the
            // data off the all-zero sum, the one value with two representations.
            buf[0] |= 0x40;
            let mut csum = recompute(&mut buf, 2);

            // Rewrite a random even-aligned run outside the checksum field, by each of
            // the three update flavours.
            let at = 4 + 2 * rng.gen_range(0..(len - 4) / 2);
            let room = len - at;
            match round % 3 {
                0 => {
                    let old = u16::from_be_bytes([buf[at], buf[at + 1]]);
                    let new = rng.gen::<u16>();
                    buf[at..at + 2].copy_from_slice(&new.to_be_bytes());
                    csum = update16(csum, old, new);
                }
                1 if room >= 4 => {
                    let old = u32::from_be_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]]);
                    let new = rng.gen::<u32>();
                    buf[at..at + 4].copy_from_slice(&new.to_be_bytes());
                    csum = update32(csum, old, new);
                }
                _ => {
                    let n = 2 * rng.gen_range(1..=room / 2);
                    let old = buf[at..at + n].to_vec();
                    rng.fill(&mut buf[at..at + n]);
                    csum = update_bytes(csum, &old, &buf[at..at + n]);
                }
            }
            buf[2..4].copy_from_slice(&csum.to_be_bytes());
            assert_eq!(
                data(&buf),
                0,
                "round {round}: updated checksum does not verify"
            );
            assert_eq!(csum, recompute(&mut buf, 2), "round {round}");
        }
    }

    #[test]
    fn update_sum_equals_the_chain_of_updates() {
        let mut rng = StdRng::seed_from_u64(0x5ab1_e5ee_d0f0_1d00);
        // Edge values weigh heavily: the two zeros, all ones, and random words.
        let word = |rng: &mut StdRng| match rng.gen_range(0..5) {
            0 => 0x0000u16,
            1 => 0xffff,
            2 => 0x0001,
            _ => rng.gen(),
        };
        for round in 0..200_000 {
            let csum = word(&mut rng);
            let n = rng.gen_range(0..12);
            let mut chain = csum;
            // The same change summed from big-endian values and from byte-swapped
            // (little-endian loads of the wire bytes) ones.
            let (mut be, mut swapped) = (0u64, 0u64);
            for _ in 0..n {
                if rng.gen() {
                    let (old, new) = (word(&mut rng), word(&mut rng));
                    chain = update16(chain, old, new);
                    be += u64::from(!old) + u64::from(new);
                    swapped += u64::from(!old.swap_bytes()) + u64::from(new.swap_bytes());
                } else {
                    let old = (u32::from(word(&mut rng)) << 16) | u32::from(word(&mut rng));
                    let new = (u32::from(word(&mut rng)) << 16) | u32::from(word(&mut rng));
                    chain = update32(chain, old, new);
                    be += u64::from(!old) + u64::from(new);
                    swapped += u64::from(!old.swap_bytes()) + u64::from(new.swap_bytes());
                }
            }
            assert_eq!(update_sum(csum, be), chain, "round {round}");
            assert_eq!(
                update_sum(csum.swap_bytes(), swapped).swap_bytes(),
                chain,
                "round {round}: byte-swapped"
            );
        }
    }

    #[test]
    fn fold64_handles_maximum_carries() {
        assert_eq!(fold64(u64::MAX), 0xffff);
        assert_eq!(fold64(0x0000_0001_0000_0000), 0x0001);
        assert_eq!(fold64(0x0001_0000_0000_0000), 0x0001);
        assert_eq!(fold64(0x1_ffff_fffe), 0xffff);
        assert_eq!(fold64(0xffff), 0xffff);
        assert_eq!(fold64(0), 0);
    }

    #[test]
    fn update_to_the_same_value_keeps_checksum() {
        for c in [0x0000u16, 0x0001, 0x1234, 0xfffe] {
            assert_eq!(update16(c, 0xabcd, 0xabcd), c);
            assert_eq!(update32(c, 0xabcd_0123, 0xabcd_0123), c);
        }
        // 0xffff is only ever the checksum of all-zero data; the update yields the
        // other representation of the same ones-complement value.
        assert_eq!(update16(0xffff, 0xabcd, 0xabcd), 0x0000);
    }
}
