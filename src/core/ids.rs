//! Identifier generation (UUID v4, message ids) from injected entropy. Pure: the driver seeds
//! [`Entropy`] once from `crypto.getRandomValues`; tests seed it with constants.

/// A seeded pseudo-random generator (xoshiro128++-style over two u64 lanes; splitmix seeding).
///
/// Not cryptographic: ids need uniqueness, not secrecy (analytics.js uses `Math.random`).
#[derive(Clone, Debug)]
pub struct Entropy {
    s0: u64,
    s1: u64,
}

impl Entropy {
    /// A generator from a 16-byte seed.
    pub fn from_seed(seed: [u8; 16]) -> Entropy {
        let mut lo = [0u8; 8];
        let mut hi = [0u8; 8];
        lo.copy_from_slice(&seed[..8]);
        hi.copy_from_slice(&seed[8..]);
        let mut sm = u64::from_le_bytes(lo) ^ u64::from_le_bytes(hi).rotate_left(32);
        let s0 = splitmix(&mut sm);
        let s1 = splitmix(&mut sm) | 1;
        Entropy { s0, s1 }
    }

    /// The next 64 random bits (xoroshiro128++).
    pub fn next_u64(&mut self) -> u64 {
        let (s0, mut s1) = (self.s0, self.s1);
        let result = s0.wrapping_add(s1).rotate_left(17).wrapping_add(s0);
        s1 ^= s0;
        self.s0 = s0.rotate_left(49) ^ s1 ^ (s1 << 21);
        self.s1 = s1.rotate_left(28);
        result
    }

    /// A float in [0, 1) (for jitter).
    pub fn next_unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A random UUID v4, lowercase, hyphenated.
    pub fn uuid_v4(&mut self) -> String {
        crate::json::into_string(self.uuid_v4_text().to_vec())
    }

    /// [`Entropy::uuid_v4`] as ASCII bytes.
    pub fn uuid_v4_text(&mut self) -> [u8; 36] {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        uuid_text(&bytes)
    }
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The hyphenated lowercase text of 16 bytes, in place (no per-character pushes).
pub(crate) fn uuid_text(bytes: &[u8; 16]) -> [u8; 36] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [b'-'; 36];
    let mut at = 0;
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            at += 1;
        }
        out[at] = HEX[usize::from(b >> 4)];
        out[at + 1] = HEX[usize::from(b & 15)];
        at += 2;
    }
    out
}

/// A 64-bit FNV-1a hash (deterministic ids derived from content, e.g. per-transition
/// message ids). Used by the segments driver (wasm32 only).
#[cfg_attr(
    not(all(target_arch = "wasm32", feature = "web-segments")),
    allow(dead_code)
)]
pub(crate) fn fnv1a(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests;
