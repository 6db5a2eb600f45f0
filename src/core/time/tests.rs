//! Unit tests of `time` (the module's private helpers; integration tests live in tests/it).

use super::*;

#[test]
fn iso_format_and_parse() {
    let cases = [
        (0, "1970-01-01T00:00:00.000Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"),
        (1_795_869_255_291, "2026-11-28T12:34:15.291Z"),
        (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
    ];
    for (ms, iso) in cases {
        assert_eq!(Millis(ms).to_iso(), iso);
        assert_eq!(parse_iso(iso), Some(Millis(ms)), "{iso}");
    }
    assert_eq!(
        parse_iso("2021-02-03T04:05:06Z"),
        Some(Millis(1_612_325_106_000))
    );
    assert_eq!(
        parse_iso("2021-02-03T05:05:06+01:00"),
        Some(Millis(1_612_325_106_000))
    );
    assert_eq!(parse_iso("2021-02-03"), Some(Millis(1_612_310_400_000)));
    for bad in ["", "2021-13-01", "yesterday", "2021-02-03T04:05:06Zjunk"] {
        assert_eq!(parse_iso(bad), None, "{bad}");
    }
}
