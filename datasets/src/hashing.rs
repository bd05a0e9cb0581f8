//! Stable hashing and seeded randomness (independent of any crate's version).

pub use router_core::digest::sha256_hex;

/// 64-bit FNV-1a of `bytes`, mixed with `seed` (stable across platforms and releases).
pub fn stable_hash(seed: u64, bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    splitmix64(h)
}

/// One SplitMix64 finalisation step (a good 64-bit mixer).
pub fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A tiny seeded PRNG (SplitMix64), so generated data never depends on a crate's RNG choice.
#[derive(Debug, Clone)]
pub struct SeededRng {
    state: u64,
}

impl SeededRng {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Self {
        SeededRng { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        splitmix64(self.state)
    }

    /// A uniform integer in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        // Rejection sampling keeps the draw unbiased.
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let x = self.next_u64();
            if x < zone {
                return x % n;
            }
        }
    }

    /// A uniform index into a slice of length `len` (`len > 0`).
    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// A uniform integer in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// A decimal digit character.
    pub fn digit(&mut self) -> char {
        char::from(b'0' + self.below(10) as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_matches_known_vector() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn rng_is_deterministic_and_in_range() {
        let a: Vec<u64> = {
            let mut r = SeededRng::new(7);
            (0..100).map(|_| r.range(3, 9)).collect()
        };
        let mut r = SeededRng::new(7);
        let b: Vec<u64> = (0..100).map(|_| r.range(3, 9)).collect();
        assert_eq!(a, b);
        assert!(a.iter().all(|&x| (3..=9).contains(&x)));
        // every value of the range shows up in 100 draws
        for v in 3..=9 {
            assert!(a.contains(&v), "{v} never drawn");
        }
        assert_ne!(stable_hash(1, b"x"), stable_hash(2, b"x"));
        assert_eq!(stable_hash(1, b"x"), stable_hash(1, b"x"));
    }
}
