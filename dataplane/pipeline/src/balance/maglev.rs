//! Consistent hashing with Maglev's lookup table (Eisenbud et al., "Maglev: A Fast and
//! Reliable Software Network Load Balancer", NSDI 2016, section 3.4): a request's key
//! (the client address, a header or a cookie) picks a slot of a table in which each
//! real owns a share of the slots given by its weight. When a real leaves, the slots of
//! the others mostly stay theirs, so that few clients move.

use super::RealId;
use splicer_http::RequestHead;
use std::net::Ipv4Addr;

/// What `maglev` hashes (the configuration's `hash`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum HashKey {
    /// `"source"`: the client's IPv4 address.
    #[default]
    Source,
    /// `"header:<Name>"`: the value of that request header (the first, if repeated).
    Header(String),
    /// `"cookie:<name>"`: the value of that cookie in the `Cookie` header.
    Cookie(String),
}

impl HashKey {
    /// The key written as in the configuration (`source`, `header:X-User`,
    /// `cookie:sid`), or `None` with a name that is empty or not an HTTP token.
    pub fn parse(s: &str) -> Option<HashKey> {
        let token = |n: &str| {
            !n.is_empty()
                && n.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        };
        match s.split_once(':') {
            None if s == "source" => Some(HashKey::Source),
            Some(("header", n)) if token(n) => Some(HashKey::Header(n.to_string())),
            Some(("cookie", n)) if token(n) => Some(HashKey::Cookie(n.to_string())),
            _ => None,
        }
    }

    /// The configuration form of the key.
    pub fn to_config(&self) -> String {
        match self {
            HashKey::Source => "source".into(),
            HashKey::Header(n) => format!("header:{n}"),
            HashKey::Cookie(n) => format!("cookie:{n}"),
        }
    }

    /// The 64-bit hash of the key of a request from `client`. A request without the
    /// header or cookie is hashed by its client address, so that it still lands on one
    /// real consistently.
    pub fn hash(&self, head: &RequestHead, client: Ipv4Addr) -> u64 {
        let value = match self {
            HashKey::Source => None,
            HashKey::Header(name) => head.header(name),
            HashKey::Cookie(name) => head.header_values("cookie").find_map(|v| cookie(v, name)),
        };
        match value {
            Some(v) => mix(fnv1a(v)),
            None => self.hash_client(client),
        }
    }

    /// The hash of a request without the header or cookie hashed (or of a connection
    /// without a request): its client's address.
    pub fn hash_client(&self, client: Ipv4Addr) -> u64 {
        mix(u64::from(u32::from(client)))
    }
}

/// The value of cookie `name` in a `Cookie` header value (`a=1; sid=xyz`).
fn cookie<'a>(header: &'a [u8], name: &str) -> Option<&'a [u8]> {
    header.split(|&b| b == b';').find_map(|pair| {
        let pair = pair.trim_ascii();
        let eq = pair.iter().position(|&b| b == b'=')?;
        (pair[..eq].trim_ascii() == name.as_bytes()).then(|| pair[eq + 1..].trim_ascii())
    })
}

/// FNV-1a over `bytes`.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// SplitMix64's finaliser: spreads every input bit over the output.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Table slots per member. Maglev asks for at least 100; with 100, one real of 5 to
/// 20 leaving moved 2 to 3 % of the keys beyond its own share in
/// `one_real_leaving_moves_few_keys`, with 1000 below 1 % (0.2 to 0.7 %). A slot is 2
/// bytes: 2 KB per member per set per worker, built only for sets that use `maglev`.
pub const SLOTS_PER_MEMBER: usize = 1000;

/// The smallest prime at least `n`.
fn prime_at_least(n: usize) -> usize {
    let is_prime = |m: usize| {
        m >= 2
            && (2..)
                .take_while(|d| d * d <= m)
                .all(|d| !m.is_multiple_of(d))
    };
    (n..).find(|&m| is_prime(m)).expect("primes are unbounded")
}

/// A Maglev lookup table built for one set of reals and their weights.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// The `(real, weight)` pairs it was built for, weight 0 for excluded ones.
    built_for: Vec<(RealId, u16)>,
    /// Per slot, the real that owns it.
    slots: Vec<RealId>,
}

impl Table {
    /// Whether the table was built for exactly these members and weights.
    pub fn is_for(&self, members: &[(RealId, u16)]) -> bool {
        self.built_for == members
    }

    /// Builds the table for `members` (`(real, weight)`, weight 0: not a candidate).
    /// Its size is the smallest prime at least [`SLOTS_PER_MEMBER`] × the number of
    /// members (excluded
    /// ones too, so that the size, and with it every real's permutation, stays the same
    /// when one leaves). Each real's preference list is a permutation of the slots from
    /// its own `offset` and `skip`, hashed from its index (stable for the process's
    /// life); the reals take turns claiming their next free preferred slot, a real of
    /// weight `w` taking `w / max weight` turns per round (weighted Maglev).
    pub fn build(&mut self, members: &[(RealId, u16)]) {
        self.built_for.clear();
        self.built_for.extend_from_slice(members);
        let size = prime_at_least((1000 * members.len()).max(101));
        self.slots.clear();
        let live: Vec<(RealId, u64)> = members
            .iter()
            .filter(|&&(_, w)| w > 0)
            .map(|&(r, w)| (r, u64::from(w)))
            .collect();
        let Some(max_w) = live.iter().map(|&(_, w)| w).max() else {
            return;
        };
        let m = size as u64;
        let perm: Vec<(u64, u64)> = live
            .iter()
            .map(|&(r, _)| {
                let offset = mix(u64::from(r) ^ 0x6d61_676c_6576) % m;
                let skip = mix(u64::from(r) ^ 0x736b_6970_0000) % (m - 1) + 1;
                (offset, skip)
            })
            .collect();
        let mut next = vec![0u64; live.len()];
        let mut credit = vec![0u64; live.len()];
        let mut owner: Vec<Option<RealId>> = vec![None; size];
        let mut filled = 0;
        'fill: loop {
            for (i, &(r, w)) in live.iter().enumerate() {
                credit[i] += w;
                while credit[i] >= max_w {
                    credit[i] -= max_w;
                    let (offset, skip) = perm[i];
                    let slot = loop {
                        let c = ((offset + next[i] * skip) % m) as usize;
                        next[i] += 1;
                        if owner[c].is_none() {
                            break c;
                        }
                    };
                    owner[slot] = Some(r);
                    filled += 1;
                    if filled == size {
                        break 'fill;
                    }
                }
            }
        }
        self.slots = owner.into_iter().map(|o| o.expect("filled")).collect();
    }

    /// The real owning `hash`'s slot; `None` when no member is a candidate.
    pub fn lookup(&self, hash: u64) -> Option<RealId> {
        if self.slots.is_empty() {
            return None;
        }
        Some(self.slots[(hash % self.slots.len() as u64) as usize])
    }

    /// Slots in the table (0 before it is built or with no candidate).
    pub fn size(&self) -> usize {
        self.slots.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use splicer_http::{parse_head, HeadStatus};

    fn head(req: &str) -> RequestHead {
        match parse_head(req.as_bytes(), 16384) {
            HeadStatus::Complete(h) => h,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keys_parse_and_print() {
        for s in ["source", "header:X-User", "cookie:sid"] {
            assert_eq!(HashKey::parse(s).unwrap().to_config(), s);
        }
        for s in ["", "src", "header:", "cookie:a b", "header:x:y", "query:q"] {
            assert_eq!(HashKey::parse(s), None, "{s}");
        }
    }

    #[test]
    fn keys_hash_the_right_part_of_a_request() {
        let a = Ipv4Addr::new(198, 18, 0, 1);
        let b = Ipv4Addr::new(198, 18, 0, 2);
        let h1 = head("GET / HTTP/1.1\r\nHost: x\r\nX-User: ann\r\nCookie: a=1; sid=s1\r\n\r\n");
        let h2 = head("GET /o HTTP/1.1\r\nHost: y\r\nx-user: ann\r\nCookie: sid=s1;b=2\r\n\r\n");
        let h3 = head("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        let src = HashKey::Source;
        assert_eq!(src.hash(&h1, a), src.hash(&h3, a));
        assert_ne!(src.hash(&h1, a), src.hash(&h1, b));
        let user = HashKey::parse("header:X-User").unwrap();
        assert_eq!(user.hash(&h1, a), user.hash(&h2, b));
        let sid = HashKey::parse("cookie:sid").unwrap();
        assert_eq!(sid.hash(&h1, a), sid.hash(&h2, b));
        assert_ne!(sid.hash(&h1, a), user.hash(&h1, a));
        // Without the header or cookie: the client address.
        assert_eq!(sid.hash(&h3, a), src.hash(&h3, a));
        assert_eq!(cookie(b"a=1; sid = v ;c", "sid"), Some(&b"v"[..]));
        assert_eq!(cookie(b"sidx=1", "sid"), None);
    }

    #[test]
    fn table_size_is_a_prime_of_1000_per_real() {
        let mut t = Table::default();
        let members: Vec<(RealId, u16)> = (0..7).map(|r| (r, 1)).collect();
        t.build(&members);
        assert_eq!(t.size(), 7001);
        assert!(t.size() >= 100 * members.len());
        assert_eq!(prime_at_least(1000), 1009);
        t.build(&[(0, 0)]);
        assert_eq!(t.lookup(5), None);
    }

    /// Share of slots each of `n` reals owns.
    fn shares(t: &Table, n: usize) -> Vec<f64> {
        let mut c = vec![0usize; n];
        for s in &t.slots {
            c[usize::from(*s)] += 1;
        }
        c.iter().map(|&x| x as f64 / t.size() as f64).collect()
    }

    #[test]
    fn slots_are_shared_by_weight() {
        let mut t = Table::default();
        t.build(&[(0, 1), (1, 1), (2, 1), (3, 1)]);
        for s in shares(&t, 4) {
            assert!((s - 0.25).abs() < 0.01, "{s}");
        }
        t.build(&[(0, 3), (1, 1), (2, 0)]);
        let s = shares(&t, 3);
        assert!((s[0] - 0.75).abs() < 0.01 && s[2] == 0.0, "{s:?}");
    }

    #[test]
    fn one_real_leaving_moves_few_keys() {
        for n in [3usize, 5, 10, 20] {
            let all: Vec<(RealId, u16)> = (0..n as RealId).map(|r| (r, 1)).collect();
            let mut before = Table::default();
            before.build(&all);
            for leaving in [0, n / 2, n - 1] {
                let mut after_members = all.clone();
                after_members[leaving].1 = 0;
                let mut after = Table::default();
                after.build(&after_members);
                let keys = 200_000u64;
                let moved = (0..keys)
                    .map(mix)
                    .filter(|&k| before.lookup(k) != after.lookup(k))
                    .count() as f64
                    / keys as f64;
                let bound = 1.0 / n as f64 + 0.01;
                assert!(
                    moved <= bound,
                    "{n} reals, real {leaving} leaves: {moved:.4} of keys moved > {bound:.4}"
                );
                // And nothing goes to the real that left.
                assert!((0..1000).all(|k| after.lookup(mix(k)) != Some(leaving as RealId)));
            }
        }
    }
}
