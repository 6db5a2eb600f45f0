//! Fault injection rules: parsing `POST /admin/faults` bodies and the FIFO that decides what
//! happens to the next ingestion request. Pure: no I/O (the server sleeps, answers or resets).

use std::collections::VecDeque;

use sieve::json::{Map, Value};

/// Longest accepted `delayMs` (one minute): a typo must not hang a test run for hours.
pub const MAX_DELAY_MS: u64 = 60_000;
/// Largest accepted `count`.
pub const MAX_COUNT: u64 = 1_000_000;

/// What a rule does to the request after its optional delay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Answer normally (a pure delay rule).
    Pass,
    /// Answer with this status (and `Retry-After` seconds, if given) without storing anything.
    Status {
        /// HTTP status, 200..=599.
        status: u16,
        /// `Retry-After` header value in seconds.
        retry_after: Option<u64>,
    },
    /// Reset the TCP connection (`SO_LINGER 0` then close): the client sees a network error.
    Reset,
}

/// What to do to one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// Wait this long before acting (0 = no delay).
    pub delay_ms: u64,
    /// Then do this.
    pub action: Action,
}

impl Fault {
    /// A short name for logs and `/admin/requests`: `status`, `reset` or `delay`.
    pub fn kind(&self) -> &'static str {
        match self.action {
            Action::Status { .. } => "status",
            Action::Reset => "reset",
            Action::Pass => "delay",
        }
    }
}

/// A fault applied to the next `remaining` ingestion requests.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Rule {
    remaining: u64,
    fault: Fault,
}

/// Why a rule body was rejected (for the 400 response).
pub type RuleError = &'static str;

/// Parses one rule: `{"count":N, "status":S, "retryAfter":R, "reset":true, "delayMs":D}`.
///
/// `count` defaults to 1. `retryAfter` without `status` means 429. A rule must do something
/// (a status, a reset, or a delay); `reset` cannot be combined with `status`. Unknown keys
/// are rejected so that a typo does not silently become a no-op rule.
///
/// # Errors
/// A message naming the offending field.
pub fn parse_rule(value: &Value) -> Result<(u64, Fault), RuleError> {
    let map = value
        .as_object()
        .ok_or("fault rule must be a JSON object")?;
    for (key, _) in map.iter() {
        if !matches!(key, "count" | "status" | "retryAfter" | "reset" | "delayMs") {
            return Err(
                "unknown key in fault rule (expected count, status, retryAfter, reset, delayMs)",
            );
        }
    }
    let count = match map.get("count") {
        None => 1,
        Some(v) => uint(v)
            .filter(|n| (1..=MAX_COUNT).contains(n))
            .ok_or("count must be an integer from 1 to 1000000")?,
    };
    let delay_ms = match map.get("delayMs") {
        None => 0,
        Some(v) => uint(v)
            .filter(|n| *n <= MAX_DELAY_MS)
            .ok_or("delayMs must be an integer from 0 to 60000")?,
    };
    let reset = match map.get("reset") {
        None => false,
        Some(v) => v.as_bool().ok_or("reset must be a boolean")?,
    };
    let retry_after = match map.get("retryAfter") {
        None => None,
        Some(v) => Some(
            uint(v)
                .filter(|n| *n <= 86_400)
                .ok_or("retryAfter must be an integer number of seconds (0 to 86400)")?,
        ),
    };
    let status = match map.get("status") {
        None => None,
        Some(v) => Some(
            uint(v)
                .filter(|n| (200..=599).contains(n))
                .map(|n| n as u16)
                .ok_or("status must be an integer from 200 to 599")?,
        ),
    };
    let action = match (reset, status, retry_after) {
        (true, None, None) => Action::Reset,
        (true, _, _) => return Err("reset cannot be combined with status or retryAfter"),
        (false, Some(status), retry_after) => Action::Status {
            status,
            retry_after,
        },
        (false, None, Some(secs)) => Action::Status {
            status: 429,
            retry_after: Some(secs),
        },
        (false, None, None) if delay_ms > 0 => Action::Pass,
        (false, None, None) => return Err("fault rule needs status, reset or delayMs"),
    };
    Ok((count, Fault { delay_ms, action }))
}

/// A non-negative integer given as a JSON number (`2`, not `2.5` or `"2"`).
fn uint(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_str().parse::<u64>().ok(),
        _ => None,
    }
}

/// The FIFO of pending rules.
#[derive(Debug, Default)]
pub struct Faults {
    rules: VecDeque<Rule>,
}

impl Faults {
    /// Appends a rule that applies to the next `count` requests after the ones already queued.
    pub fn push(&mut self, count: u64, fault: Fault) {
        self.rules.push_back(Rule {
            remaining: count,
            fault,
        });
    }

    /// Removes every pending rule.
    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// Whether a reset rule is pending (the server then stops keeping connections alive).
    pub fn has_reset(&self) -> bool {
        self.rules.iter().any(|r| r.fault.action == Action::Reset)
    }

    /// The fault for the next ingestion request, if any, consuming one use of the front rule.
    pub fn take_next(&mut self) -> Option<Fault> {
        let front = self.rules.front_mut()?;
        let fault = front.fault.clone();
        front.remaining = front.remaining.saturating_sub(1);
        if front.remaining == 0 {
            self.rules.pop_front();
        }
        Some(fault)
    }

    /// The pending rules as JSON (`[{"count":..,"status":..},...]`), in application order.
    pub fn to_json(&self) -> Value {
        Value::Array(
            self.rules
                .iter()
                .map(|rule| {
                    let mut m = Map::new();
                    m.insert("count", Value::int(rule.remaining as i64));
                    match rule.fault.action {
                        Action::Pass => {}
                        Action::Reset => m.insert("reset", Value::Bool(true)),
                        Action::Status {
                            status,
                            retry_after,
                        } => {
                            m.insert("status", Value::int(i64::from(status)));
                            if let Some(secs) = retry_after {
                                m.insert("retryAfter", Value::int(secs as i64));
                            }
                        }
                    }
                    if rule.fault.delay_ms > 0 {
                        m.insert("delayMs", Value::int(rule.fault.delay_ms as i64));
                    }
                    Value::Object(m)
                })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(body: &str, expected: Result<(u64, Fault), RuleError>) {
        let value = sieve::json::parse(body).expect("test body is JSON");
        assert_eq!(parse_rule(&value), expected, "{body}");
    }

    fn status(status: u16, retry_after: Option<u64>) -> Fault {
        Fault {
            delay_ms: 0,
            action: Action::Status {
                status,
                retry_after,
            },
        }
    }

    #[test]
    fn parses_each_mode() {
        check(r#"{"count":2,"status":503}"#, Ok((2, status(503, None))));
        check(
            r#"{"count":1,"reset":true}"#,
            Ok((
                1,
                Fault {
                    delay_ms: 0,
                    action: Action::Reset,
                },
            )),
        );
        check(
            r#"{"count":3,"delayMs":1500}"#,
            Ok((
                3,
                Fault {
                    delay_ms: 1500,
                    action: Action::Pass,
                },
            )),
        );
        check(
            r#"{"count":1,"status":429,"retryAfter":2}"#,
            Ok((1, status(429, Some(2)))),
        );
        check(r#"{"retryAfter":5}"#, Ok((1, status(429, Some(5)))));
        check(
            r#"{"delayMs":10,"status":500}"#,
            Ok((
                1,
                Fault {
                    delay_ms: 10,
                    action: Action::Status {
                        status: 500,
                        retry_after: None,
                    },
                },
            )),
        );
    }

    #[test]
    fn rejects_bad_rules() {
        check("[]", Err("fault rule must be a JSON object"));
        check("{}", Err("fault rule needs status, reset or delayMs"));
        check(
            r#"{"count":0,"status":503}"#,
            Err("count must be an integer from 1 to 1000000"),
        );
        check(
            r#"{"count":1.5,"status":503}"#,
            Err("count must be an integer from 1 to 1000000"),
        );
        check(
            r#"{"status":99}"#,
            Err("status must be an integer from 200 to 599"),
        );
        check(
            r#"{"status":"503"}"#,
            Err("status must be an integer from 200 to 599"),
        );
        check(
            r#"{"reset":true,"status":503}"#,
            Err("reset cannot be combined with status or retryAfter"),
        );
        check(
            r#"{"delayMs":600000}"#,
            Err("delayMs must be an integer from 0 to 60000"),
        );
        check(
            r#"{"stauts":503}"#,
            Err("unknown key in fault rule (expected count, status, retryAfter, reset, delayMs)"),
        );
    }

    #[test]
    fn rules_apply_in_fifo_order_and_expire() {
        let mut faults = Faults::default();
        faults.push(2, status(503, None));
        faults.push(
            1,
            Fault {
                delay_ms: 0,
                action: Action::Reset,
            },
        );
        assert_eq!(
            faults.to_json().to_json(),
            r#"[{"count":2,"status":503},{"count":1,"reset":true}]"#
        );
        assert_eq!(
            faults.take_next().map(|f| f.action),
            Some(status(503, None).action)
        );
        assert_eq!(
            faults.take_next().map(|f| f.action),
            Some(status(503, None).action)
        );
        assert!(faults.has_reset());
        assert_eq!(faults.take_next().map(|f| f.action), Some(Action::Reset));
        assert!(!faults.has_reset());
        assert_eq!(faults.take_next(), None);
        faults.push(5, status(500, None));
        faults.clear();
        assert_eq!(faults.take_next(), None);
    }
}
