//! Retry policy as pure functions: which HTTP statuses retry or drop, and the backoff
//! schedule (analytics.js `httpConfig` semantics; jitter comes from injected entropy).

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
    let raw = config
        .base_backoff_ms
        .saturating_mul(1u64 << exp)
        .min(config.max_backoff_ms);
    let jitter = raw as f64 * config.jitter_percent as f64 / 100.0;
    let value = raw as f64 + jitter * (2.0 * unit - 1.0);
    value.max(0.0) as u64
}

/// A `Retry-After` header in whole seconds, capped by the config; `None` when absent or
/// not an integer.
pub fn retry_after_ms(config: &RetryConfig, header: Option<&str>) -> Option<u64> {
    let secs = crate::json::parse_u64(crate::json::trim_ws(header?, true))?;
    Some(secs.saturating_mul(1000).min(config.max_retry_after_ms))
}

/// Retry policy knobs (analytics.js `httpConfig.backoffConfig` / `rateLimitConfig`).
#[derive(Clone, Debug, PartialEq)]
pub struct RetryConfig {
    /// Attempts after the first before an event is dropped.
    pub max_retry_count: u32,
    /// First backoff (ms).
    pub base_backoff_ms: u64,
    /// Backoff ceiling (ms).
    pub max_backoff_ms: u64,
    /// Jitter, in percent of the backoff.
    pub jitter_percent: u64,
    /// Ceiling for a `Retry-After` (ms).
    pub max_retry_after_ms: u64,
    /// An event still failing this long after it was accepted is dropped (ms).
    pub max_total_backoff_ms: u64,
    /// `statusCodeOverrides`: per-status retry/drop.
    pub overrides: Vec<(u16, Behavior)>,
    /// `default4xxBehavior` (drop).
    pub default_4xx: Behavior,
    /// `default5xxBehavior` (retry).
    pub default_5xx: Behavior,
}

impl Default for RetryConfig {
    fn default() -> RetryConfig {
        RetryConfig {
            max_retry_count: 10,
            base_backoff_ms: 500,
            max_backoff_ms: 60_000,
            jitter_percent: 10,
            max_retry_after_ms: 300_000,
            max_total_backoff_ms: 43_200_000,
            overrides: DEFAULT_OVERRIDES.to_vec(),
            default_4xx: Behavior::Drop,
            default_5xx: Behavior::Retry,
        }
    }
}

#[cfg(test)]
mod tests;
