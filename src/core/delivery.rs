//! Sending the delivery queue: when a batch is due (size, timeout, byte limits), catch-up
//! batches, one request in flight, retries with backoff, `Retry-After` and offline pauses,
//! hidden pages (keepalive chunks), refused batches split in halves, queue bounds and the
//! notices about drops. The queue's persisted copy is `persisted.rs`'s, and what other tabs
//! left is [`crate::core::recovery`]'s. Pure: the driver performs each [`Transmit`], query
//! and storage write, and reports outcomes back.

pub use crate::core::queue::{Queued, MAX_EVENT_AGE_MS};
use std::collections::VecDeque;

use crate::core::config::{Config, Strategy};
use crate::core::identity::StorageWrite;
use crate::core::ids::Entropy;
use crate::core::persisted::{Claims, Persisted, Query, SCAN_INTERVAL_MS};
use crate::core::pop_front;
use crate::core::recovery;
use crate::core::retry::{backoff_ms, retry_after_ms, status_behavior, Behavior};
use crate::core::time::Millis;
use crate::json::{push_json_str, push_u64};

/// A batch body is sent before it reaches this many bytes (Segment's 500 KB limit, minus
/// analytics.js's 50 KB margin).
pub const MAX_BATCH_BODY: usize = 450 * 1024;
/// One keepalive request body stays under this (analytics.js's 54 KB).
pub const MAX_KEEPALIVE_BODY: usize = 54 * 1024;
/// Browsers refuse keepalive requests once 64 KB of keepalive bodies are in flight; Sieve
/// keeps the total of its own in-flight keepalive bodies under this.
pub const MAX_KEEPALIVE_IN_FLIGHT: usize = 60 * 1024;
/// What a request body needs besides its events: `{"batch":[`, the closing
/// `],"sentAt":"<ISO 8601>","writeKey":` and braces (the write key's own length is added).
const REQUEST_MARGIN: usize = 64;
/// The most bytes an event grows by on the wire: `,"_metadata":{"retryCount":<n>}` on a
/// retry, `,"sentAt":"<ISO 8601>"` in standard mode. Events are refused at the call when they
/// would pass Segment's 32 KB per event with it.
pub const WIRE_EXTRA: usize = 80;
/// Queue bound in events (per tab); the oldest waiting events are dropped beyond it.
pub const MAX_QUEUE_EVENTS: usize = 3_000;
/// Queue bound in bytes of event JSON (per tab); the oldest waiting events are dropped beyond it.
pub const MAX_QUEUE_BYTES: usize = 2 * 1024 * 1024;

/// Identifies one request handed to the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BatchId(u64);

impl Queued {
    /// The event JSON as sent on this attempt, with one `_metadata` member as analytics.js
    /// writes it: `failedInitializations` (when some destination failed to load),
    /// `retryCount` (on retries), then the bundling lists ([`Config::metadata`]); `extra`
    /// (already-encoded `"key":value` pairs, or empty) is appended.
    fn push_wire(&self, out: &mut String, extra: &str, config: &Config) {
        let mut meta = config.failed_initializations.clone();
        if self.attempts > 0 {
            if !meta.is_empty() {
                meta.push(',');
            }
            meta.push_str("\"retryCount\":");
            push_u64(&mut meta, u64::from(self.attempts));
        }
        if !config.metadata.is_empty() {
            if !meta.is_empty() {
                meta.push(',');
            }
            meta.push_str(&config.metadata);
        }
        if meta.is_empty() && extra.is_empty() {
            out.push_str(&self.json);
            return;
        }
        let body = self.json.strip_suffix("}").unwrap_or(&self.json);
        out.push_str(body);
        let mut first = body.len() <= 1;
        if !meta.is_empty() {
            if !first {
                out.push(',');
            }
            out.push_str("\"_metadata\":{");
            out.push_str(&meta);
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

/// The core's timers. The driver arms one timer, for the earliest
/// ([`Delivery::poll_timeout`]); when it fires, [`Delivery::handle_timeout`] does what fell
/// due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// The oldest waiting batch is due: its `timeout`, or the end of a backoff or pause.
    Flush,
    /// Look for chunks left by closed or crashed tabs (every [`SCAN_INTERVAL_MS`]).
    Scan,
    /// Renew this tab's lease (where Web Locks are missing).
    LeaseRenew,
}

impl Timer {
    /// Every timer.
    pub const ALL: [Timer; 3] = [Timer::Flush, Timer::Scan, Timer::LeaseRenew];
}

/// A request handed to the driver and not answered yet.
#[derive(Debug)]
struct InFlight {
    id: BatchId,
    events: Vec<Queued>,
    body_bytes: usize,
    keepalive: bool,
    /// A group at the front of the queue (see `Delivery::fences`): if retried, it stays one.
    fenced: bool,
}

/// The delivery queue.
#[derive(Debug)]
pub struct Delivery {
    /// Invariant: in acceptance order (retried and adopted events first); never contains an
    /// in-flight event.
    pending: VecDeque<Queued>,
    pending_bytes: usize,
    /// JSON bytes of every event held (pending, in flight, beaconed).
    held_bytes: usize,
    in_flight: Vec<InFlight>,
    /// Handed to `sendBeacon` (no confirmation): kept (and persisted) until the page shows
    /// again or the next page load.
    beaconed: Vec<Queued>,
    /// Body bytes of keepalive requests in flight.
    keepalive_in_flight: usize,
    /// `flush()` was called: send what is pending without waiting for the timer.
    flush_requested: bool,
    /// No request before this (backoff or Retry-After).
    paused_until: Option<Millis>,
    /// The pause comes from a `Retry-After` (coming back online does not lift it).
    rate_limited: bool,
    /// The pause follows a request that got no answer at all (status 0), and no page hide
    /// has gone through it yet. Such a request may have been aborted by the browser because
    /// the page is navigating away (every engine aborts a page's fetches then, Firefox and
    /// WebKit before `pagehide`), so the hide sends once anyway; an answer the API gave (5xx,
    /// 429) holds the queue through a hide.
    pause_unanswered: bool,
    /// The page is hidden (`pagehide`, or `visibilitychange` to hidden): it may be discarded
    /// without another task, so requests go with keepalive and nothing waits for the batch
    /// timer. Backoffs and pauses hold as on a visible page (except a network error's pause,
    /// once: `pause_unanswered`).
    hidden: bool,
    /// The page was just hidden: what is queued leaves once, now, in keepalive chunks, without
    /// waiting for a request in flight (cleared once nothing more fits).
    hide_flush: bool,
    /// `navigator.onLine`.
    online: bool,
    /// Request boundaries at the front of `pending`: the first `fences[0]` events leave in a
    /// request of their own, then the next `fences[1]`, and so on. A batch the API refused as
    /// a whole (400, 413) goes again as two halves, each halved again if refused, so that one
    /// bad event (or a body too large for a proxy) does not take the others with it and is
    /// found in a few requests. (Adopted events put in front shift the boundaries: harmless,
    /// they only group requests differently.)
    fences: Vec<usize>,
    next_id: u64,
    notices: Vec<Notice>,
    /// The persisted copy (absent: memory only).
    persist: Option<Persisted>,
}

impl Default for Delivery {
    fn default() -> Delivery {
        Delivery {
            pending: VecDeque::new(),
            pending_bytes: 0,
            held_bytes: 0,
            in_flight: Vec::new(),
            beaconed: Vec::new(),
            keepalive_in_flight: 0,
            flush_requested: false,
            paused_until: None,
            rate_limited: false,
            pause_unanswered: false,
            hidden: false,
            hide_flush: false,
            online: true,
            fences: Vec::new(),
            next_id: 0,
            notices: Vec::new(),
            persist: None,
        }
    }
}

impl Delivery {
    // --- Getters ----------------------------------------------------------------------

    /// The queue's key prefix, when persisting.
    pub fn prefix(&self) -> Option<&str> {
        self.persist.as_ref().map(|p| p.prefix.as_str())
    }

    /// This tab's id, when persisting (lock names are `prefix + tab`).
    pub fn tab(&self) -> Option<&str> {
        self.persist.as_ref().map(|p| p.tab.as_str())
    }

    /// Number of accepted events not yet confirmed (pending, in flight, beaconed).
    pub fn len(&self) -> usize {
        let mut n = self.pending.len() + self.beaconed.len();
        for flight in &self.in_flight {
            n += flight.events.len();
        }
        n
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether this turn changed what must be persisted (the driver then calls
    /// `handle_turn_end` once before the task ends).
    pub fn needs_turn_end(&self) -> bool {
        self.persist.as_ref().is_some_and(Persisted::has_changes)
    }

    // --- The page's calls ---------------------------------------------------------------

    /// Accepts an event (persisted at the end of the turn), then applies the bounds.
    pub fn push(&mut self, mut event: Queued) {
        if let Some(p) = &mut self.persist {
            event.chunk = p.assign(event.json.len());
        }
        self.pending_bytes += event.json.len();
        self.held_bytes += event.json.len();
        self.pending.push_back(event);
        self.enforce_bounds();
    }

    /// Sends what is pending now (e.g. `flush()`), respecting pauses.
    pub fn handle_flush(&mut self) {
        self.flush_requested = !self.pending.is_empty();
    }

    // --- The driver's answers -----------------------------------------------------------

    /// Starts persisting the queue under `queue::prefix(write_key)`, as a new tab with a
    /// random id, and asks for a first scan (events left by earlier pages are adopted).
    pub fn open(&mut self, now: Millis, write_key: &str, claims: Claims, entropy: &mut Entropy) {
        if self.persist.is_none() {
            self.persist = Some(Persisted::new(now, write_key, claims, entropy));
        }
    }

    /// The page is being hidden: what is queued leaves once, now, with keepalive (unless a
    /// backoff or a pause holds the queue); from then on requests go with keepalive.
    pub fn handle_page_hide(&mut self) {
        self.hidden = true;
        self.hide_flush = true;
    }

    /// The page is visible again: beaconed events (unconfirmed) are queued again.
    pub fn handle_page_show(&mut self) {
        self.hidden = false;
        self.hide_flush = false;
        let beaconed = std::mem::take(&mut self.beaconed);
        self.prepend(beaconed);
    }

    /// `navigator.onLine` changed. Offline pauses sending; online resumes at once (a backoff
    /// is lifted, a `Retry-After` pause is not) and sends what queued up meanwhile.
    pub fn handle_online(&mut self, online: bool) {
        self.online = online;
        if online {
            if !self.rate_limited {
                self.paused_until = None;
            }
            self.flush_requested = !self.pending.is_empty();
        }
    }

    /// Applies the outcome of request `id` (unknown ids are ignored).
    pub fn handle_send_outcome(
        &mut self,
        now: Millis,
        config: &Config,
        entropy: &mut Entropy,
        id: BatchId,
        outcome: &SendOutcome,
    ) {
        let Some(InFlight { events, fenced, .. }) = self.take_in_flight(id) else {
            return;
        };
        let behavior = status_behavior(&config.retry, outcome.status);
        // No answer while a pause already holds the queue: a page hide's try through a
        // network error's pause (see `pause_unanswered`), or a chunk sent with it. It counts
        // no attempt and leaves the pause as it was.
        let extra = outcome.status == 0 && self.paused(now);
        // A batch refused as a whole (malformed, too large): its events go again in halves,
        // at once, and only one the API refuses alone is dropped.
        let isolate =
            behavior == Behavior::Drop && matches!(outcome.status, 400 | 413) && events.len() > 1;
        for event in &events {
            if let Some(p) = &mut self.persist {
                p.mark(event.chunk);
            }
            // Delivered or dropped: no longer held (retried and isolated events are).
            if behavior != Behavior::Retry && !isolate {
                self.held_bytes = self.held_bytes.saturating_sub(event.json.len());
            }
        }
        if isolate {
            // Two halves, at once, each in a request of its own.
            let first = events.len().div_ceil(2);
            self.fences.insert(0, events.len() - first);
            self.fences.insert(0, first);
            self.prepend(events);
            self.persist_changes(now);
            return;
        }
        match behavior {
            Behavior::Success => {
                if self.paused_until.is_some_and(|t| t <= now) {
                    self.paused_until = None;
                    self.rate_limited = false;
                }
            }
            Behavior::Drop => {
                let mut reason = String::from("the API rejected the events with status ");
                push_u64(&mut reason, u64::from(outcome.status));
                self.notices.push(Notice {
                    code: "delivery_failure",
                    reason,
                    count: events.len(),
                });
            }
            Behavior::Retry => {
                let mut kept = Vec::with_capacity(events.len());
                let mut exhausted = 0;
                for mut event in events {
                    event.attempts += u32::from(!extra);
                    let retrying_too_long =
                        now.since(event.queued_at) > config.retry.max_total_backoff_ms;
                    if event.attempts > config.retry.max_retry_count || retrying_too_long {
                        self.held_bytes = self.held_bytes.saturating_sub(event.json.len());
                        exhausted += 1;
                    } else {
                        kept.push(event);
                    }
                }
                self.notify_dropped("delivery_failure", "retry attempts exhausted", exhausted);
                // Kept events have failed at least once (attempts >= 1).
                let mut attempt = 1;
                for event in &kept {
                    attempt = attempt.max(event.attempts);
                }
                let (wait, rate_limited) = match (
                    outcome.status,
                    retry_after_ms(&config.retry, outcome.retry_after.as_deref()),
                ) {
                    (429, Some(ms)) => (ms, true),
                    _ => (
                        backoff_ms(&config.retry, attempt, entropy.next_unit()),
                        false,
                    ),
                };
                // Back in front, in their original order; a group being split stays one.
                if fenced && !kept.is_empty() {
                    self.fences.insert(0, kept.len());
                }
                self.prepend(kept);
                if !extra && !self.pending.is_empty() {
                    // A pause is never shortened by a later, shorter one (another request's
                    // failure, or a Retry-After followed by a backoff).
                    let until = now.plus(wait);
                    if self.paused_until.is_none_or(|t| t <= until) {
                        self.paused_until = Some(until);
                        self.rate_limited = rate_limited;
                        self.pause_unanswered = outcome.status == 0;
                    }
                }
            }
        }
        self.persist_changes(now);
    }

    /// Request `id` was handed to `navigator.sendBeacon` instead (keepalive fetch missing
    /// or refused): no confirmation will come, so its events stay persisted and are sent
    /// again when the page shows again or on the next page load.
    pub fn handle_beacon_sent(&mut self, id: BatchId) {
        if let Some(flight) = self.take_in_flight(id) {
            self.beaconed.extend(flight.events);
        }
    }

    /// The timer fired: what fell due (spurious calls are no-ops).
    pub fn handle_timeout(&mut self, now: Millis) {
        if let Some(p) = &mut self.persist {
            p.handle_timeout(now);
        }
        self.persist_changes(now);
    }

    /// The end of a turn: this turn's events become chunk writes.
    pub fn handle_turn_end(&mut self, now: Millis) {
        self.persist_changes(now);
    }

    /// A localStorage write of the queue failed (quota, blocked): the queue carries on in
    /// memory only. What is already on disk stays (re-sent by a later page: possible
    /// duplicates with the same messageId, never a loss).
    pub fn handle_storage_failed(&mut self) {
        // Our lock (if held) stays held until the page ends, so no other tab adopts what
        // this tab still sends from memory.
        if self.persist.take().is_some() {
            for event in self.pending.iter_mut() {
                event.chunk = 0;
            }
            for event in &mut self.beaconed {
                event.chunk = 0;
            }
            for flight in &mut self.in_flight {
                for event in &mut flight.events {
                    event.chunk = 0;
                }
            }
        }
    }

    /// The keys read for a [`Query::Scan`]: chunks of tabs that are gone are adopted (lease
    /// mode), or their locks are tried ([`Query::Claim`], lock mode).
    pub fn handle_storage_scan(&mut self, now: Millis, entries: &[(String, String)]) {
        let Some(p) = &mut self.persist else { return };
        p.next_scan = now.plus(SCAN_INTERVAL_MS);
        let plan = recovery::plan(&p.prefix, &p.tab, p.claims, now, entries);
        if p.claims == Claims::Locks {
            for tab in plan.tabs {
                p.queries.push(Query::Claim(tab.to_owned()));
            }
        } else {
            let vanished = p.vanished(&plan.own);
            if !vanished.is_empty() {
                let mut kept = VecDeque::with_capacity(self.pending.len());
                for event in std::mem::take(&mut self.pending) {
                    if vanished.iter().any(|&n| n == event.chunk) {
                        self.pending_bytes = self.pending_bytes.saturating_sub(event.json.len());
                        self.held_bytes = self.held_bytes.saturating_sub(event.json.len());
                    } else {
                        kept.push_back(event);
                    }
                }
                self.pending = kept;
            }
            for tab in plan.tabs {
                self.adopt(now, tab, entries);
            }
        }
        self.persist_changes(now);
    }

    /// The lock of tab `tab` was granted ([`Query::Claim`]) and `entries` were read after:
    /// that tab is gone, its events become ours.
    pub fn handle_claimed(&mut self, now: Millis, tab: &str, entries: &[(String, String)]) {
        self.adopt(now, tab, entries);
        self.persist_changes(now);
    }

    // --- Outputs ------------------------------------------------------------------------

    /// The next thing only the driver can do (a scan, a lock).
    pub fn poll_query(&mut self) -> Option<Query> {
        pop_front(&mut self.persist.as_mut()?.queries)
    }

    /// The next storage write of the persisted queue.
    pub fn poll_storage_write(&mut self) -> Option<StorageWrite> {
        pop_front(&mut self.persist.as_mut()?.writes)
    }

    /// When the oldest pending event's batch must leave at the latest: at once when a batch
    /// is full (`size` events or the body limit, or a refused batch's halves), else
    /// `timeout` after its oldest event.
    fn flush_at(&self, config: &Config) -> Option<Millis> {
        let oldest = self.pending.front()?.queued_at;
        match config.strategy {
            Strategy::Batching { timeout_ms, size }
                if !self.flush_requested
                    && !self.hidden
                    && self.fences.is_empty()
                    && self.pending.len() < size
                    && self.pending_bytes < self.body_limit(config) =>
            {
                Some(oldest.plus(timeout_ms))
            }
            _ => Some(oldest),
        }
    }

    /// The most bytes of one request body (keepalive: configured, or a hidden page).
    fn body_limit(&self, config: &Config) -> usize {
        if config.keepalive || self.hidden {
            MAX_KEEPALIVE_BODY
        } else {
            MAX_BATCH_BODY
        }
    }

    /// The next request to send, if one is due.
    ///
    /// Throughput: `size` (and `timeout`) decide when a batch is due; a due request then
    /// carries every waiting event that fits the API's limits (a catch-up batch), so a backlog
    /// drains at up to [`MAX_BATCH_BODY`] per round trip, not `size` events per round trip. A
    /// retry carries what queued up meanwhile too.
    pub fn poll_transmit(&mut self, now: Millis, config: &Config) -> Option<Transmit> {
        // A backoff or a `Retry-After` holds the queue whether the page is visible or not: a
        // hidden page that retried at once would spend its whole retry budget in a moment.
        // Except once per network error's pause: the page hide goes through it (see
        // `pause_unanswered`).
        let paused = self.paused(now);
        let through_pause = paused && self.hide_flush && self.pause_unanswered;
        if self.pending.is_empty() || !self.online || (paused && !through_pause) {
            self.hide_flush = false;
            self.pause_unanswered &= !through_pause;
            return None;
        }
        if self.hide_flush {
            // The page was just hidden and may never run another task: what is queued leaves
            // now, without waiting for a request in flight, as far as the browser's keepalive
            // budget allows; the rest stays persisted and follows the rules below.
            let room = MAX_KEEPALIVE_IN_FLIGHT
                .saturating_sub(self.keepalive_in_flight)
                .min(MAX_KEEPALIVE_BODY);
            let first = self.pending.front().map_or(0, |e| e.json.len());
            if first + REQUEST_MARGIN + config.write_key.len() + config.metadata.len() <= room {
                if let Some(t) = self.take(now, config, room, true) {
                    return Some(t);
                }
            }
            self.hide_flush = false;
            self.pause_unanswered = false;
            if paused {
                return None;
            }
        }
        if !self.in_flight.is_empty() || self.flush_at(config).is_none_or(|t| t > now) {
            return None;
        }
        let keepalive = config.keepalive || self.hidden;
        self.take(now, config, self.body_limit(config), keepalive)
    }

    /// Takes the next request from the front of `pending`: one event in standard mode, the
    /// next fenced group, or else every event that fits `max_bytes`.
    fn take(
        &mut self,
        now: Millis,
        config: &Config,
        max_bytes: usize,
        keepalive: bool,
    ) -> Option<Transmit> {
        let standard = config.strategy == Strategy::Standard;
        let fenced = !standard && !self.fences.is_empty();
        let max_events = if standard {
            1
        } else if fenced {
            self.fences.remove(0)
        } else {
            usize::MAX
        };
        let mut events = Vec::new();
        let mut body = String::new();
        if !standard {
            body.push_str("{\"batch\":[");
        }
        // Room for the closing `],"sentAt":…,"writeKey":…}`; each event's `_metadata` lists.
        let margin = REQUEST_MARGIN + config.write_key.len();
        let per_event = WIRE_EXTRA + config.metadata.len() + config.failed_initializations.len();
        let mut retry_count = 0;
        let mut expired = 0;
        let mut taken = 0;
        while let Some(next) = self.pending.front() {
            let projected = body.len() + next.json.len() + per_event + margin;
            if taken >= max_events || (!events.is_empty() && projected > max_bytes) {
                break;
            }
            let Some(event) = self.pending.pop_front() else {
                break;
            };
            taken += 1;
            if now.since(event.queued_at) > MAX_EVENT_AGE_MS {
                self.forget(&event);
                expired += 1;
                continue;
            }
            self.pending_bytes = self.pending_bytes.saturating_sub(event.json.len());
            if !events.is_empty() {
                body.push(',');
            }
            if standard {
                // Standard mode: one event per request, carrying its own sentAt.
                let mut sent_at = String::from("\"sentAt\":\"");
                now.push_iso(&mut sent_at);
                sent_at.push('"');
                event.push_wire(&mut body, &sent_at, config);
            } else {
                event.push_wire(&mut body, "", config);
            }
            retry_count = retry_count.max(event.attempts);
            events.push(event);
        }
        if fenced && taken < max_events {
            // The group was cut by the byte limit: the rest stays a group of its own.
            self.fences.insert(0, max_events - taken);
        }
        self.notify_dropped(
            "event_expired",
            "events older than 7 days were dropped",
            expired,
        );
        if events.is_empty() {
            return None;
        }
        let endpoint = if standard {
            events.first().map_or("t", |e| e.kind.endpoint())
        } else {
            body.push_str("],\"sentAt\":\"");
            now.push_iso(&mut body);
            body.push_str("\",\"writeKey\":");
            push_json_str(&mut body, &config.write_key);
            body.push('}');
            "batch"
        };
        let url = crate::json::concat(&[config.api_base().as_str(), "/", endpoint]);
        self.next_id += 1;
        let id = BatchId(self.next_id);
        let n_events = events.len();
        if keepalive {
            self.keepalive_in_flight += body.len();
        }
        self.in_flight.push(InFlight {
            id,
            events,
            body_bytes: body.len(),
            keepalive,
            fenced,
        });
        if self.pending.is_empty() {
            self.flush_requested = false;
        }
        Some(Transmit {
            id,
            url,
            body,
            keepalive,
            retry_count,
            n_events,
        })
    }

    /// When `timer` falls due, if it is armed.
    pub fn deadline(&self, timer: Timer, config: &Config) -> Option<Millis> {
        match timer {
            Timer::Flush if self.in_flight.is_empty() && self.online => {
                let flush_at = self.flush_at(config)?;
                Some(self.paused_until.map_or(flush_at, |p| p.max(flush_at)))
            }
            Timer::Flush => None,
            Timer::Scan => Some(self.persist.as_ref()?.next_scan),
            Timer::LeaseRenew => self.persist.as_ref()?.renew_at(),
        }
    }

    /// When the driver should call back ([`Delivery::handle_timeout`]): the earliest timer.
    pub fn poll_timeout(&self, config: &Config) -> Option<Millis> {
        let mut next: Option<Millis> = None;
        for timer in Timer::ALL {
            if let Some(t) = self.deadline(timer, config) {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        }
        next
    }

    /// The next notice for the page.
    pub fn poll_notice(&mut self) -> Option<Notice> {
        pop_front(&mut self.notices)
    }

    /// Queues a notice for the page.
    pub fn notify(&mut self, notice: Notice) {
        self.notices.push(notice);
    }

    /// An `error` notice for `count` dropped events (none when nothing was dropped). Drops
    /// of one kind until the driver polls again make one notice with the total: a page that
    /// calls `track` in a loop past a bound gets one warning per task, not one per call.
    fn notify_dropped(&mut self, code: &'static str, reason: &str, count: usize) {
        if count == 0 {
            return;
        }
        match self.notices.iter_mut().find(|n| n.code == code) {
            Some(pending) => pending.count += count,
            None => self.notices.push(Notice {
                code,
                reason: String::from(reason),
                count,
            }),
        }
    }

    // --- Internals ----------------------------------------------------------------------

    /// Drops the oldest waiting events beyond [`MAX_QUEUE_EVENTS`] / [`MAX_QUEUE_BYTES`].
    fn enforce_bounds(&mut self) {
        let mut dropped = 0;
        while self.len() > MAX_QUEUE_EVENTS || self.held_bytes > MAX_QUEUE_BYTES {
            let Some(event) = self.pending.pop_front() else {
                break;
            };
            self.forget(&event);
            self.unfence_one();
            dropped += 1;
        }
        self.notify_dropped(
            "queue_full",
            "the delivery queue is full; the oldest events were dropped",
            dropped,
        );
    }

    /// The front event of `pending` left it: the first fence shrinks.
    fn unfence_one(&mut self) {
        if let Some(first) = self.fences.first_mut() {
            *first -= 1;
            if *first == 0 {
                self.fences.remove(0);
            }
        }
    }

    /// Bookkeeping for an event taken out of `pending` for good.
    fn forget(&mut self, event: &Queued) {
        self.pending_bytes = self.pending_bytes.saturating_sub(event.json.len());
        self.held_bytes = self.held_bytes.saturating_sub(event.json.len());
        if let Some(p) = &mut self.persist {
            p.mark(event.chunk);
        }
    }

    /// Puts `events` back in front of `pending`, in their order.
    fn prepend(&mut self, events: Vec<Queued>) {
        for event in events.into_iter().rev() {
            self.pending_bytes += event.json.len();
            self.pending.push_front(event);
        }
    }

    fn paused(&self, now: Millis) -> bool {
        self.paused_until.is_some_and(|t| t > now)
    }

    /// Takes request `id` out of `in_flight`.
    fn take_in_flight(&mut self, id: BatchId) -> Option<InFlight> {
        let idx = self.in_flight.iter().position(|f| f.id == id)?;
        let flight = self.in_flight.swap_remove(idx);
        if flight.keepalive {
            self.keepalive_in_flight = self.keepalive_in_flight.saturating_sub(flight.body_bytes);
        }
        Some(flight)
    }

    /// Moves the persisted events of (gone) tab `tab` into this tab's queue: one new own
    /// chunk, then the old keys are removed.
    fn adopt(&mut self, now: Millis, tab: &str, entries: &[(String, String)]) {
        let Some(p) = &mut self.persist else { return };
        if tab == p.tab {
            return;
        }
        // A chunk of its own (left empty, it is forgotten without a write).
        let chunk = p.new_chunk();
        let adopted = recovery::adopt(&p.prefix, tab, now, entries, chunk);
        p.remove_after_adoption(adopted.keys);
        self.held_bytes += adopted.bytes;
        self.notify_dropped(
            "event_expired",
            "events older than 7 days were dropped",
            adopted.expired,
        );
        // Older than anything accepted on this page: in front, oldest first.
        let events = adopted.events;
        self.prepend(events);
        self.enforce_bounds();
    }

    /// Emits the storage writes for everything that changed: this turn's chunks (one write
    /// each), rewritten or removed dirty chunks, keys of adopted tabs, the lease or lock.
    fn persist_changes(&mut self, now: Millis) {
        let Some(p) = &mut self.persist else { return };
        let mut texts = p.chunk_texts();
        if let Some(texts) = &mut texts {
            // Pending, then beaconed, then in-flight events (plain loops: a chained iterator
            // costs more code).
            for event in &self.pending {
                texts.add(event);
            }
            for event in &self.beaconed {
                texts.add(event);
            }
            for flight in &self.in_flight {
                for event in &flight.events {
                    texts.add(event);
                }
            }
        }
        p.write_chunks(now, texts);
    }
}
