//! Unit tests of `duration` (the module's private helpers; integration tests live in tests/it).

use super::*;

#[test]
fn parses_iso_durations() {
    assert_eq!(Duration::parse("P7D").map(|d| d.ms), Some(7 * DAY_MS));
    assert_eq!(Duration::parse("PT24H").map(|d| d.ms), Some(24 * HOUR_MS));
    assert_eq!(Duration::parse("P1M"), Some(Duration { months: 1, ms: 0 }));
    assert_eq!(
        Duration::parse("P1Y2M3DT4H5M6.5S").map(|d| d.months),
        Some(14)
    );
    assert_eq!(Duration::parse("PT0.5S").map(|d| d.ms), Some(500));
    assert_eq!(Duration::parse("P0D").map(|d| d.ms), Some(0));
    for bad in [
        "",
        "P",
        "PT",
        "7D",
        "P7",
        "PD",
        "P1H",
        "PT1D",
        "P1.5D",
        "P99999999999999999999D",
    ] {
        assert_eq!(Duration::parse(bad), None, "{bad}");
    }
}

#[test]
fn month_arithmetic_clamps() {
    let jan31 = days_from_civil(2025, 1, 31) * DAY_MS;
    let feb28 = days_from_civil(2025, 2, 28) * DAY_MS;
    assert_eq!(add_months(jan31, 1), feb28);
    assert_eq!(
        Duration::parse("P1M").map(|d| d.sub_from(feb28)),
        Some(days_from_civil(2025, 1, 28) * DAY_MS)
    );
}
