//! Retry policy as pure functions: which HTTP statuses retry or drop, and the backoff
//! schedule (analytics.js `httpConfig` semantics; jitter comes from injected entropy).

use crate::core::config::RetryConfig;

/// What to do with the events of a request after its outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behavior {
    /// Delivered (2xx/3xx).
    Success,
    /// Try again later.
    Retry,
    /// The server will never accept them: drop, with an `error` event.
    Drop,
}

/// analytics.js's default `statusCodeOverrides`.
pub const DEFAULT_OVERRIDES: [(u16, Behavior); 7] = [
    (408, Behavior::Retry),
    (410, Behavior::Retry),
    (429, Behavior::Retry),
    (460, Behavior::Retry),
    (501, Behavior::Drop),
    (505, Behavior::Drop),
    (511, Behavior::Drop),
];

/// analytics.js's status matrix: `< 400` success; then `statusCodeOverrides` (by default
/// 408, 410, 429, 460 retry; 501, 505, 511 drop); other 5xx `default5xxBehavior` (retry);
/// other 4xx `default4xxBehavior` (drop). Status 0 (network error) retries.
pub fn status_behavior(config: &RetryConfig, status: u16) -> Behavior {
    match status {
        0 => Behavior::Retry,
        1..=399 => Behavior::Success,
        _ => match config.overrides.iter().find(|(code, _)| *code == status) {
            Some((_, behavior)) => *behavior,
            None if status >= 500 => config.default_5xx,
            None => config.default_4xx,
        },
    }
}

/// Backoff before retry number `attempt` (1-based): `min(base·2^(attempt−1), max)`,
/// then ±`jitter_percent`, where `unit` in [0, 1) is the injected random draw.
pub fn backoff_ms(config: &RetryConfig, attempt: u32, unit: f64) -> u64 {
    let exp = attempt.saturating_sub(1).min(40);
    let raw = config.base_backoff_ms.saturating_mul(1u64 << exp).min(config.max_backoff_ms);
    let jitter = raw as f64 * config.jitter_percent as f64 / 100.0;
    let value = raw as f64 + jitter * (2.0 * unit - 1.0);
    value.max(0.0) as u64
}

/// A `Retry-After` header in whole seconds, capped by the config; `None` when absent or
/// not an integer.
pub fn retry_after_ms(config: &RetryConfig, header: Option<&str>) -> Option<u64> {
    let secs: u64 = header?.trim().parse().ok()?;
    Some(secs.saturating_mul(1000).min(config.max_retry_after_ms))
}

#[cfg(test)]
mod tests {
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
        let cases = [(503, Behavior::Drop), (418, Behavior::Retry), (404, Behavior::Retry), (500, Behavior::Drop), (200, Behavior::Success)];
        for (status, want) in cases {
            assert_eq!(status_behavior(&custom, status), want, "custom {status}");
        }
    }

    #[test]
    fn backoff_schedule() {
        let c = RetryConfig::default();
        // unit 0.5 = no jitter.
        let cases = [(1, 500), (2, 1000), (3, 2000), (7, 32_000), (8, 60_000), (30, 60_000)];
        for (attempt, want) in cases {
            assert_eq!(backoff_ms(&c, attempt, 0.5), want, "attempt {attempt}");
        }
        assert_eq!(backoff_ms(&c, 1, 0.0), 450);
        assert_eq!(backoff_ms(&c, 1, 0.999_999), 549);
        assert_eq!(retry_after_ms(&c, Some("2")), Some(2000));
        assert_eq!(retry_after_ms(&c, Some("100000")), Some(300_000));
        assert_eq!(retry_after_ms(&c, Some("soon")), None);
    }
}
