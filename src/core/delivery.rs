//! The delivery queue: batching policy (size, timeout, byte limits), one request in flight,
//! retries with backoff, `Retry-After` pauses, and keepalive chunks on page hide. Pure: the
//! driver performs each [`Transmit`] and reports its [`SendOutcome`].

use std::collections::VecDeque;

use crate::core::config::{Config, Strategy};
use crate::core::event::EventType;
use crate::core::ids::Entropy;
use crate::core::retry::{backoff_ms, retry_after_ms, status_behavior, Behavior};
use crate::core::time::Millis;
use crate::json::{push_json_str, push_u64};

/// A batch body is sent before it reaches this many bytes (Segment's 500 KB limit, minus
/// analytics.js's 50 KB margin).
pub const MAX_BATCH_BODY: usize = 450 * 1024;
/// Keepalive requests share a 64 KB budget in browsers; chunks stay under this.
pub const MAX_KEEPALIVE_BODY: usize = 54 * 1024;

/// Identifies one request handed to the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BatchId(pub u64);

/// An accepted event waiting for delivery.
#[derive(Clone, Debug)]
pub struct Queued {
    /// Its `messageId` (the same on every attempt).
    pub message_id: String,
    /// Its JSON text (an object).
    pub json: String,
    /// Its type (for standard-mode endpoints).
    pub kind: EventType,
    /// Failed attempts so far.
    pub attempts: u32,
    /// When it was accepted (a partial batch leaves `timeout` after its oldest event).
    pub queued_at: Millis,
}

impl Queued {
    /// The event JSON as sent on this attempt: `_metadata.retryCount` is added on retries,
    /// and `extra` (already-encoded `"key":value` pairs, or empty) is appended.
    fn push_wire(&self, out: &mut String, extra: &str) {
        if self.attempts == 0 && extra.is_empty() {
            out.push_str(&self.json);
            return;
        }
        let body = self.json.strip_suffix('}').unwrap_or(&self.json);
        out.push_str(body);
        let mut first = body.len() <= 1;
        if self.attempts > 0 {
            if !first {
                out.push(',');
            }
            out.push_str("\"_metadata\":{\"retryCount\":");
            push_u64(out, u64::from(self.attempts));
            out.push('}');
            first = false;
        }
        if !extra.is_empty() {
            if !first {
                out.push(',');
            }
            out.push_str(extra);
        }
        out.push('}');
    }
}

/// A request for the driver to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// Report the outcome under this id.
    pub id: BatchId,
    /// Full URL.
    pub url: String,
    /// JSON body (sent as `text/plain`).
    pub body: String,
    /// Send with `keepalive: true` (page hide, or configured).
    pub keepalive: bool,
    /// `X-Retry-Count` header value (0 ⇒ no header).
    pub retry_count: u32,
    /// Number of events in the body.
    pub n_events: usize,
}

/// What happened to a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendOutcome {
    /// HTTP status, or 0 for a network error (fetch rejected).
    pub status: u16,
    /// The `Retry-After` header, if any.
    pub retry_after: Option<String>,
}

/// Something the page should hear about (the `error` emitter event).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// A stable code (`delivery_failure`, `event_too_large`, ...).
    pub code: &'static str,
    /// Human-readable reason.
    pub reason: String,
    /// Events concerned.
    pub count: usize,
}

/// The queue state.
#[derive(Debug, Default)]
pub struct Delivery {
    /// Invariant: in acceptance order; never contains an in-flight event.
    pending: VecDeque<Queued>,
    pending_bytes: usize,
    /// Requests handed to the driver and not yet answered.
    in_flight: Vec<(BatchId, Vec<Queued>)>,
    /// `flush()` was called: send what is pending without waiting for the timer.
    flush_requested: bool,
    /// No request before this (backoff or Retry-After).
    paused_until: Option<Millis>,
    /// Page hidden: send everything now, in keepalive chunks.
    unloading: bool,
    next_id: u64,
    notices: VecDeque<Notice>,
}

impl Delivery {
    /// Accepts an event.
    pub fn push(&mut self, event: Queued) {
        self.pending_bytes += event.json.len();
        self.pending.push_back(event);
    }

    /// Number of accepted events not yet confirmed (pending + in flight).
    pub fn len(&self) -> usize {
        self.pending.len() + self.in_flight.iter().map(|(_, e)| e.len()).sum::<usize>()
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The page is being hidden: everything pending goes out now with keepalive.
    pub fn handle_page_hide(&mut self) {
        self.unloading = true;
    }

    /// The page is visible again.
    pub fn handle_page_show(&mut self) {
        self.unloading = false;
    }

    /// Sends what is pending now (e.g. `flush()`), respecting pauses.
    pub fn handle_flush(&mut self) {
        self.flush_requested = !self.pending.is_empty();
    }

    /// When the oldest pending event's batch must leave at the latest.
    fn flush_at(&self, config: &Config) -> Option<Millis> {
        let oldest = self.pending.front()?.queued_at;
        match config.strategy {
            Strategy::Batching { timeout_ms, .. } if !self.flush_requested => Some(oldest.plus(timeout_ms)),
            _ => Some(oldest),
        }
    }

    fn paused(&self, now: Millis) -> bool {
        self.paused_until.is_some_and(|t| t > now)
    }

    /// The next request to send, if one is due.
    pub fn poll_transmit(&mut self, now: Millis, config: &Config) -> Option<Transmit> {
        if self.pending.is_empty() {
            return None;
        }
        if self.unloading {
            // On page hide nothing waits: not the timer, not a backoff, not a request in flight.
            return self.take(now, config, usize::MAX, MAX_KEEPALIVE_BODY, true);
        }
        if self.paused(now) || !self.in_flight.is_empty() {
            return None;
        }
        match config.strategy {
            Strategy::Standard => self.take(now, config, 1, usize::MAX, config.keepalive),
            Strategy::Batching { size, .. } => {
                let limit = if config.keepalive { MAX_KEEPALIVE_BODY } else { MAX_BATCH_BODY };
                let due = self.pending.len() >= size
                    || self.pending_bytes >= limit
                    || self.flush_at(config).is_some_and(|t| t <= now);
                if due {
                    self.take(now, config, size, limit, config.keepalive)
                } else {
                    None
                }
            }
        }
    }

    fn take(&mut self, now: Millis, config: &Config, max_events: usize, max_bytes: usize, keepalive: bool) -> Option<Transmit> {
        let mut events = Vec::new();
        let mut body = String::new();
        let standard = config.strategy == Strategy::Standard;
        if !standard {
            body.push_str("{\"batch\":[");
        }
        let mut retry_count = 0;
        while let Some(next) = self.pending.front() {
            let projected = body.len() + next.json.len() + 64;
            if events.len() >= max_events || (!events.is_empty() && projected > max_bytes) {
                break;
            }
            let Some(event) = self.pending.pop_front() else { break };
            self.pending_bytes = self.pending_bytes.saturating_sub(event.json.len());
            if !events.is_empty() {
                body.push(',');
            }
            if standard {
                // Standard mode: one event per request, carrying its own sentAt.
                let mut sent_at = String::from("\"sentAt\":");
                push_json_str(&mut sent_at, &now.to_iso());
                event.push_wire(&mut body, &sent_at);
            } else {
                event.push_wire(&mut body, "");
            }
            retry_count = retry_count.max(event.attempts);
            events.push(event);
        }
        if events.is_empty() {
            return None;
        }
        let url = if standard {
            let kind = events.first().map_or("t", |e| e.kind.endpoint());
            [config.api_base().as_str(), "/", kind].concat()
        } else {
            body.push_str("],\"sentAt\":");
            push_json_str(&mut body, &now.to_iso());
            body.push_str(",\"writeKey\":");
            push_json_str(&mut body, &config.write_key);
            body.push('}');
            [config.api_base().as_str(), "/batch"].concat()
        };
        self.next_id += 1;
        let id = BatchId(self.next_id);
        let n_events = events.len();
        self.in_flight.push((id, events));
        if self.pending.is_empty() {
            self.flush_requested = false;
        }
        Some(Transmit { id, url, body, keepalive, retry_count, n_events })
    }

    /// Applies the outcome of request `id` (unknown ids are ignored).
    pub fn handle_send_outcome(&mut self, now: Millis, config: &Config, entropy: &mut Entropy, id: BatchId, outcome: &SendOutcome) {
        let Some(idx) = self.in_flight.iter().position(|(b, _)| *b == id) else { return };
        let (_, events) = self.in_flight.swap_remove(idx);
        match status_behavior(outcome.status) {
            Behavior::Success => {
                if self.paused_until.is_some_and(|t| t <= now) {
                    self.paused_until = None;
                }
            }
            Behavior::Drop => {
                let mut reason = String::from("the API rejected the events with status ");
                push_u64(&mut reason, u64::from(outcome.status));
                self.notices.push_back(Notice { code: "delivery_failure", reason, count: events.len() });
            }
            Behavior::Retry => {
                let mut kept = Vec::with_capacity(events.len());
                let mut exhausted = 0;
                for mut event in events {
                    event.attempts += 1;
                    if event.attempts > config.retry.max_retry_count {
                        exhausted += 1;
                    } else {
                        kept.push(event);
                    }
                }
                if exhausted > 0 {
                    self.notices.push_back(Notice {
                        code: "delivery_failure",
                        reason: String::from("retry attempts exhausted"),
                        count: exhausted,
                    });
                }
                let attempt = kept.iter().map(|e| e.attempts).max().unwrap_or(1);
                let wait = match (outcome.status, retry_after_ms(&config.retry, outcome.retry_after.as_deref())) {
                    (429, Some(ms)) => ms,
                    _ => backoff_ms(&config.retry, attempt, entropy.next_unit()),
                };
                // Back in front, in their original order.
                for event in kept.into_iter().rev() {
                    self.pending_bytes += event.json.len();
                    self.pending.push_front(event);
                }
                if !self.pending.is_empty() {
                    self.paused_until = Some(now.plus(wait));
                }
            }
        }
    }

    /// When the driver should call back (`handle_timeout`), if anything waits on time.
    pub fn poll_timeout(&self, config: &Config) -> Option<Millis> {
        if !self.in_flight.is_empty() {
            return None;
        }
        let flush_at = self.flush_at(config)?;
        Some(match self.paused_until {
            Some(p) => p.max(flush_at),
            None => flush_at,
        })
    }

    /// Queues a notice for the page.
    pub fn notify(&mut self, notice: Notice) {
        self.notices.push_back(notice);
    }

    /// The next notice for the page.
    pub fn poll_notice(&mut self) -> Option<Notice> {
        self.notices.pop_front()
    }
}
