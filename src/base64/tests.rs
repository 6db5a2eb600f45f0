//! Unit tests of `base64` (the module's private helpers; integration tests live in tests/it).

use super::*;

#[test]
fn round_trip_and_alphabets() {
    for data in [
        &b""[..],
        b"f",
        b"fo",
        b"foo",
        b"foob",
        b"fooba",
        b"foobar",
        &[0, 255, 128, 7],
    ] {
        assert_eq!(decode(&encode(data)).as_deref(), Some(data));
    }
    assert_eq!(encode(b"foobar"), "Zm9vYmFy");
    assert_eq!(encode(b"fo"), "Zm8=");
    assert_eq!(decode("!!"), None);
    assert_eq!(decode("-_8"), decode("+/8"), "URL-safe alphabet");
}
