//! Unit tests of `codec` (the module's private helpers; integration tests live in tests/it).

use super::*;

#[test]
fn garbage_never_panics() {
    let mut seed = 7u64;
    for len in 0..200 {
        let mut bytes = b"SG\x01".to_vec();
        for _ in 0..len {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            bytes.push((seed >> 33) as u8);
        }
        let _ = decode(&crate::base64::encode(&bytes));
    }
}
