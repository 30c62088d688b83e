//! `Math.random` as GenieACS gives it: the `seedrandom` npm package's default generator, an
//! ARC4 (RC4) keystream turned into doubles, seeded with a string (the device id unless the
//! script reseeds). Written here from the algorithm's description; `tests` hold vectors taken
//! from the real package so the sequence is the one GenieACS produces for the same device.

/// RC4 works on bytes: a 256-entry permutation.
const WIDTH: usize = 256;
/// Bytes drawn for a double's numerator before it is topped up: 6 (2^48).
const CHUNKS: u32 = 6;
/// 2^52: the numerator is topped up until it has this many significant bits.
const SIGNIFICANCE: f64 = 4_503_599_627_370_496.0;
/// 2^53: above this the numerator is halved so rounding never reaches 1.
const OVERFLOW: f64 = 9_007_199_254_740_992.0;

/// One seeded generator.
#[derive(Clone)]
pub struct Arc4Random {
    i: u8,
    j: u8,
    s: [u8; WIDTH],
}

impl std::fmt::Debug for Arc4Random {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Arc4Random")
    }
}

impl Arc4Random {
    /// A generator seeded as `seedrandom(seed)` seeds one from a string: the key is the string's
    /// UTF-16 code units smeared into at most 256 bytes, RC4's key schedule runs over it, and
    /// the first 256 bytes of the keystream are dropped.
    pub fn new(seed: &str) -> Self {
        let key = mix_key(seed);
        let mut s = [0u8; WIDTH];
        for (i, b) in s.iter_mut().enumerate() {
            *b = i as u8;
        }
        // An empty key is the one-byte key [0].
        let key: &[u8] = if key.is_empty() { &[0] } else { &key };
        let mut j: u8 = 0;
        for i in 0..WIDTH {
            let t = s[i];
            j = j.wrapping_add(key[i % key.len()]).wrapping_add(t);
            s[i] = s[usize::from(j)];
            s[usize::from(j)] = t;
        }
        let mut rng = Self { i: 0, j: 0, s };
        for _ in 0..WIDTH {
            rng.byte();
        }
        rng
    }

    /// The next keystream byte.
    fn byte(&mut self) -> u8 {
        self.i = self.i.wrapping_add(1);
        let t = self.s[usize::from(self.i)];
        self.j = self.j.wrapping_add(t);
        self.s[usize::from(self.i)] = self.s[usize::from(self.j)];
        self.s[usize::from(self.j)] = t;
        self.s[usize::from(self.s[usize::from(self.i)].wrapping_add(t))]
    }

    /// `count` keystream bytes read as one big-endian number.
    fn bytes(&mut self, count: u32) -> f64 {
        let mut r = 0.0;
        for _ in 0..count {
            r = r * WIDTH as f64 + f64::from(self.byte());
        }
        r
    }

    /// The next double in [0, 1), with 52 significant bits, computed exactly as the package
    /// does it in JavaScript doubles.
    pub fn next_f64(&mut self) -> f64 {
        let mut n = self.bytes(CHUNKS);
        let mut d = (WIDTH as f64).powi(CHUNKS as i32);
        let mut x: u32 = 0;
        while n < SIGNIFICANCE {
            n = (n + f64::from(x)) * WIDTH as f64;
            d *= WIDTH as f64;
            x = u32::from(self.byte());
        }
        while n >= OVERFLOW {
            n /= 2.0;
            d /= 2.0;
            x >>= 1;
        }
        (n + f64::from(x)) / d
    }
}

/// The package's key mixing: each UTF-16 code unit is added to a running "smear" of the key
/// byte it lands on (times 19), cycling over at most 256 key bytes.
fn mix_key(seed: &str) -> Vec<u8> {
    let mut key: Vec<u8> = Vec::new();
    let mut smear: u32 = 0;
    for (j, unit) in seed.encode_utf16().enumerate() {
        let slot = j % WIDTH;
        let current = key.get(slot).copied().map_or(0, u32::from);
        smear ^= current * 19;
        let byte = (smear.wrapping_add(u32::from(unit)) & 0xff) as u8;
        if slot < key.len() {
            key[slot] = byte;
        } else {
            key.push(byte);
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    /// First draws of `require("seedrandom")(seed)()` from the npm package, version 3.0.5,
    /// run with Node.js 20 (the package GenieACS 1.2.16 depends on).
    const VECTORS: &[(&str, [f64; 3])] = include!("../testdata/seedrandom-vectors.txt");

    #[test]
    fn sequences_match_the_npm_package() {
        for (seed, expected) in VECTORS {
            let mut rng = Arc4Random::new(seed);
            let got = [rng.next_f64(), rng.next_f64(), rng.next_f64()];
            assert_eq!(&got, expected, "seed {seed:?}");
        }
    }

    #[test]
    fn a_long_seed_wraps_its_key_at_256_bytes() {
        let long = "x".repeat(1000);
        assert_eq!(mix_key(&long).len(), 256);
        // Below 256 units the smear reads only empty slots: the key is the text's low bytes.
        assert_eq!(mix_key("xy"), vec![b'x', b'y']);
    }
}
