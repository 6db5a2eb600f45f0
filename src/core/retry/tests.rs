//! Unit tests of `retry` (the module's private helpers; integration tests live in tests/it).

use super::*;

#[test]
fn status_matrix() {
    let cases = [
        (200, Behavior::Success),
        (204, Behavior::Success),
        (302, Behavior::Success),
        (400, Behavior::Drop),
        (401, Behavior::Drop),
        (404, Behavior::Drop),
        (408, Behavior::Retry),
        (410, Behavior::Retry),
        (413, Behavior::Drop),
        (429, Behavior::Retry),
        (460, Behavior::Retry),
        (500, Behavior::Retry),
        (501, Behavior::Drop),
        (502, Behavior::Retry),
        (503, Behavior::Retry),
        (505, Behavior::Drop),
        (511, Behavior::Drop),
        (0, Behavior::Retry),
    ];
    let defaults = RetryConfig::default();
    for (status, want) in cases {
        assert_eq!(status_behavior(&defaults, status), want, "{status}");
    }
    // httpConfig: overrides and default behaviours.
    let custom = RetryConfig {
        overrides: vec![(503, Behavior::Drop), (418, Behavior::Retry)],
        default_4xx: Behavior::Retry,
        default_5xx: Behavior::Drop,
        ..RetryConfig::default()
    };
    let cases = [
        (503, Behavior::Drop),
        (418, Behavior::Retry),
        (404, Behavior::Retry),
        (500, Behavior::Drop),
        (200, Behavior::Success),
    ];
    for (status, want) in cases {
        assert_eq!(status_behavior(&custom, status), want, "custom {status}");
    }
}

#[test]
fn backoff_schedule() {
    let c = RetryConfig::default();
    // unit 0.5 = no jitter.
    let cases = [
        (1, 500),
        (2, 1000),
        (3, 2000),
        (7, 32_000),
        (8, 60_000),
        (30, 60_000),
    ];
    for (attempt, want) in cases {
        assert_eq!(backoff_ms(&c, attempt, 0.5), want, "attempt {attempt}");
    }
    assert_eq!(backoff_ms(&c, 1, 0.0), 450);
    assert_eq!(backoff_ms(&c, 1, 0.999_999), 549);
    assert_eq!(retry_after_ms(&c, Some("2")), Some(2000));
    assert_eq!(retry_after_ms(&c, Some("100000")), Some(300_000));
    assert_eq!(retry_after_ms(&c, Some("soon")), None);
}
