//! Unit tests of `ids` (the module's private helpers; integration tests live in tests/it).

use super::*;

#[test]
fn uuid_v4_shape_and_seeding() {
    let mut a = Entropy::from_seed([7; 16]);
    let mut b = Entropy::from_seed([7; 16]);
    let id = a.uuid_v4();
    assert_eq!(id, b.uuid_v4(), "same seed, same ids");
    assert_eq!(id.len(), 36);
    assert_eq!(id.as_bytes()[14], b'4');
    assert!(matches!(id.as_bytes()[19], b'8' | b'9' | b'a' | b'b'));
    assert_ne!(a.uuid_v4(), id);
    let u = a.next_unit();
    assert!((0.0..1.0).contains(&u));
}
