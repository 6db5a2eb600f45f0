//! The delivery queue: batching policy (size, timeout, byte limits), one request in flight,
//! retries with backoff, `Retry-After` pauses, offline pauses, keepalive chunks on page hide,
//! queue bounds, and the persisted copy of the queue (segments in localStorage, see
//! [`crate::core::queue`]) shared safely between tabs. Pure: the driver performs each
//! [`Transmit`], [`Query`] and storage write, and reports outcomes back.

use std::collections::VecDeque;

use crate::core::config::{Config, Strategy};
use crate::core::event::EventType;
use crate::core::identity::{StorageWrite, Store};
use crate::core::ids::Entropy;
use crate::core::queue::{self, KeyKind};
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
/// A segment of the persisted queue holds at most this many bytes of text, unless one event
/// alone is larger (a burst of calls is written as several segments).
pub const MAX_SEGMENT_BYTES: usize = 16 * 1024;
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
/// Events older than this are dropped instead of sent (Segment rejects very old timestamps).
pub const MAX_EVENT_AGE_MS: u64 = 7 * 86_400_000;
/// How often a tab looks for queue segments left by closed or crashed tabs.
pub const SCAN_INTERVAL_MS: u64 = 10_000;
/// Lease length where Web Locks are missing; renewed every third of it.
pub const LEASE_MS: u64 = 60_000;

/// Identifies one request handed to the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BatchId(pub u64);

/// An accepted event waiting for delivery.
#[derive(Clone, Debug)]
pub struct Queued {
    /// Its JSON text (an object; its `messageId` is the same on every attempt).
    pub json: String,
    /// Its type (for standard-mode endpoints).
    pub kind: EventType,
    /// Failed attempts so far.
    pub attempts: u32,
    /// When it was accepted (a partial batch leaves `timeout` after its oldest event).
    pub queued_at: Millis,
    /// The persisted segment of this tab holding it (0: not persisted).
    pub seg: u32,
}

impl Queued {
    /// The event JSON as sent on this attempt: `_metadata.retryCount` is added on retries,
    /// and `extra` (already-encoded `"key":value` pairs, or empty) is appended.
    fn push_wire(&self, out: &mut String, extra: &str) {
        if self.attempts == 0 && extra.is_empty() {
            out.push_str(&self.json);
            return;
        }
        let body = self.json.strip_suffix("}").unwrap_or(&self.json);
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

/// How tabs of an origin keep each other from sending the same persisted events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claims {
    /// Web Locks: a tab holds its own lock while it has persisted events; another tab's
    /// events are adopted only after taking that tab's lock (released when it closes or
    /// crashes).
    Locks,
    /// No Web Locks: a lease with expiry in localStorage, renewed by its tab; another tab's
    /// events are adopted once its lease has expired.
    Lease,
}

/// Something only the driver can do: read storage, or take and release Web Locks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Query {
    /// Read every localStorage key starting with the queue prefix and report them with
    /// `handle_storage_scan`.
    Scan,
    /// Try to take the lock of tab `.0` without waiting (`ifAvailable`). When granted: read
    /// the keys again, report them with `handle_claimed` and release the lock afterwards.
    /// When refused: nothing (that tab is alive).
    Claim(String),
    /// Hold (`true`) or release (`false`) this tab's own lock.
    HoldLock(bool),
}

/// The persisted side of the queue (absent: memory only).
#[derive(Debug)]
struct Persist {
    prefix: String,
    tab: String,
    claims: Claims,
    next_seg: u32,
    /// The segment collecting this turn's events, and at most how many bytes of text they
    /// make ([`queue::LINE_OVERHEAD`] per line). Invariant: its id is in `segs` and `dirty`.
    open: Option<(u32, usize)>,
    /// Own segments, with whether they are on disk. (Vecs, not BTree collections: a tab has
    /// few segments, and each BTree instantiation costs kilobytes of wasm.)
    segs: Vec<(u32, bool)>,
    /// Own segments whose events changed (confirmed, dropped, retried): rewritten or removed
    /// at the next persist. Invariant: no repeats.
    dirty: Vec<u32>,
    /// Foreign keys to remove once the adopted events are written.
    adopted_keys: Vec<String>,
    /// Lease mode: the expiry of the lease on disk.
    lease_until: Option<Millis>,
    /// Lock mode: whether the driver was told to hold our lock.
    lock_held: bool,
    next_scan: Millis,
    writes: Vec<StorageWrite>,
    queries: Vec<Query>,
}

/// Takes the oldest item of a small FIFO. These hold a handful of items per pump, and a
/// `Vec` costs less wasm per element type than a `VecDeque`.
pub(crate) fn pop_front<T>(items: &mut Vec<T>) -> Option<T> {
    (!items.is_empty()).then(|| items.remove(0))
}

impl Persist {
    fn write(&mut self, key: String, value: Option<String>) {
        self.writes.push(StorageWrite {
            store: Store::Local,
            key,
            value,
        });
    }

    fn mark(&mut self, seg: u32) {
        if seg != 0 && !self.dirty.iter().any(|&d| d == seg) {
            self.dirty.push(seg);
        }
    }

    fn set_seg(&mut self, seg: u32, on_disk: bool) {
        match self.segs.iter_mut().find(|s| s.0 == seg) {
            Some(s) => s.1 = on_disk,
            None => self.segs.push((seg, on_disk)),
        }
    }

    /// Forgets segment `seg`; returns whether it was on disk.
    fn remove_seg(&mut self, seg: u32) -> bool {
        match self.segs.iter().position(|s| s.0 == seg) {
            Some(i) => self.segs.swap_remove(i).1,
            None => false,
        }
    }
}

/// The queue state.
#[derive(Debug)]
pub struct Delivery {
    /// Invariant: in acceptance order (retried and adopted events first); never contains an
    /// in-flight event.
    pending: VecDeque<Queued>,
    pending_bytes: usize,
    /// JSON bytes of every event held (pending, in flight, beaconed).
    held_bytes: usize,
    /// Requests handed to the driver and not yet answered: id, events, body bytes, keepalive,
    /// fenced (a group of a refused batch).
    in_flight: Vec<(BatchId, Vec<Queued>, usize, bool, bool)>,
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
    /// The page is hidden (`pagehide`, or `visibilitychange` to hidden): it may be discarded
    /// without another task, so requests go with keepalive and nothing waits for the batch
    /// timer. Backoffs and pauses hold as on a visible page.
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
    persist: Option<Persist>,
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
    /// Starts persisting the queue under `queue::prefix(write_key)`, as a new tab with a
    /// random id, and asks for a first scan (events left by earlier pages are adopted).
    pub fn open(&mut self, now: Millis, write_key: &str, claims: Claims, entropy: &mut Entropy) {
        if self.persist.is_some() {
            return;
        }
        let mut tab = String::with_capacity(12);
        let bits = entropy.next_u64();
        for i in 0..12 {
            tab.push(char::from(
                b"0123456789abcdef"[((bits >> (i * 4)) & 15) as usize],
            ));
        }
        let queries = vec![Query::Scan];
        self.persist = Some(Persist {
            prefix: queue::prefix(write_key),
            tab,
            claims,
            next_seg: 1,
            open: None,
            segs: Vec::new(),
            dirty: Vec::new(),
            adopted_keys: Vec::new(),
            lease_until: None,
            lock_held: false,
            next_scan: now.plus(SCAN_INTERVAL_MS),
            writes: Vec::new(),
            queries,
        });
    }

    /// The queue's key prefix, when persisting.
    pub fn prefix(&self) -> Option<&str> {
        self.persist.as_ref().map(|p| p.prefix.as_str())
    }

    /// This tab's id, when persisting (lock names are `prefix + tab`).
    pub fn tab(&self) -> Option<&str> {
        self.persist.as_ref().map(|p| p.tab.as_str())
    }

    /// Accepts an event (persisted at the end of the turn), then applies the bounds.
    pub fn push(&mut self, mut event: Queued) {
        if let Some(p) = &mut self.persist {
            // A burst of calls becomes several segments, so that a response confirming one
            // batch rewrites one small segment, not the whole burst. A segment is closed
            // before the event that would take it past its size (an event larger than that
            // gets a segment of its own). Its text is written at the end of the turn from the
            // events themselves, so a call does not copy its event a second time.
            let line = event.json.len() + queue::LINE_OVERHEAD;
            if p.open
                .is_none_or(|(_, bytes)| bytes > 0 && bytes + line > MAX_SEGMENT_BYTES)
            {
                let seg = p.next_seg;
                p.next_seg += 1;
                p.segs.push((seg, false));
                p.mark(seg);
                p.open = Some((seg, 0));
            }
            if let Some((seg, bytes)) = &mut p.open {
                *bytes += line;
                event.seg = *seg;
            }
        }
        self.pending_bytes += event.json.len();
        self.held_bytes += event.json.len();
        self.pending.push_back(event);
        self.enforce_bounds();
    }

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
            p.mark(event.seg);
        }
    }

    /// Number of accepted events not yet confirmed (pending, in flight, beaconed).
    pub fn len(&self) -> usize {
        let mut n = self.pending.len() + self.beaconed.len();
        for flight in &self.in_flight {
            n += flight.1.len();
        }
        n
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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

    /// Puts `events` back in front of `pending`, in their order.
    fn prepend(&mut self, events: Vec<Queued>) {
        for event in events.into_iter().rev() {
            self.pending_bytes += event.json.len();
            self.pending.push_front(event);
        }
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

    /// Sends what is pending now (e.g. `flush()`), respecting pauses.
    pub fn handle_flush(&mut self) {
        self.flush_requested = !self.pending.is_empty();
    }

    /// When the oldest pending event's batch must leave at the latest.
    fn flush_at(&self, config: &Config) -> Option<Millis> {
        let oldest = self.pending.front()?.queued_at;
        match config.strategy {
            Strategy::Batching { timeout_ms, .. } if !self.flush_requested && !self.hidden => {
                Some(oldest.plus(timeout_ms))
            }
            _ => Some(oldest),
        }
    }

    fn paused(&self, now: Millis) -> bool {
        self.paused_until.is_some_and(|t| t > now)
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
        if self.pending.is_empty() || !self.online || self.paused(now) {
            self.hide_flush = false;
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
            if first + REQUEST_MARGIN + config.write_key.len() <= room {
                if let Some(t) = self.take(now, config, room, true) {
                    return Some(t);
                }
            }
            self.hide_flush = false;
        }
        let keepalive = config.keepalive || self.hidden;
        let limit = if keepalive {
            MAX_KEEPALIVE_BODY
        } else {
            MAX_BATCH_BODY
        };
        if !self.in_flight.is_empty() {
            return None;
        }
        let due = match config.strategy {
            Strategy::Standard => true,
            Strategy::Batching { size, .. } => {
                !self.fences.is_empty()
                    || self.pending.len() >= size
                    || self.pending_bytes >= limit
                    || self.flush_at(config).is_some_and(|t| t <= now)
            }
        };
        if due {
            self.take(now, config, limit, keepalive)
        } else {
            None
        }
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
        // Room for the closing `],"sentAt":…,"writeKey":…}`.
        let margin = REQUEST_MARGIN + config.write_key.len();
        let mut retry_count = 0;
        let mut expired = 0;
        let mut taken = 0;
        while let Some(next) = self.pending.front() {
            let projected = body.len() + next.json.len() + WIRE_EXTRA + margin;
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
                event.push_wire(&mut body, &sent_at);
            } else {
                event.push_wire(&mut body, "");
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
        self.in_flight.push((id, events, body.len(), keepalive, fenced));
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

    /// Takes request `id` out of `in_flight`: its events, and whether it was a fenced group.
    fn take_in_flight(&mut self, id: BatchId) -> Option<(Vec<Queued>, bool)> {
        let idx = self.in_flight.iter().position(|f| f.0 == id)?;
        let (_, events, bytes, keepalive, fenced) = self.in_flight.swap_remove(idx);
        if keepalive {
            self.keepalive_in_flight = self.keepalive_in_flight.saturating_sub(bytes);
        }
        Some((events, fenced))
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
        let Some((events, fenced)) = self.take_in_flight(id) else {
            return;
        };
        let behavior = status_behavior(&config.retry, outcome.status);
        // A batch refused as a whole (malformed, too large): its events go again one per
        // request, at once, and only one the API refuses alone is dropped.
        let isolate =
            behavior == Behavior::Drop && matches!(outcome.status, 400 | 413) && events.len() > 1;
        for event in &events {
            if let Some(p) = &mut self.persist {
                p.mark(event.seg);
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
                    event.attempts += 1;
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
                if !self.pending.is_empty() {
                    // A pause is never shortened by a later, shorter one (another request's
                    // failure, or a Retry-After followed by a backoff).
                    let until = now.plus(wait);
                    if self.paused_until.is_none_or(|t| t <= until) {
                        self.paused_until = Some(until);
                        self.rate_limited = rate_limited;
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
        if let Some((events, _)) = self.take_in_flight(id) {
            self.beaconed.extend(events);
        }
    }

    /// The timer fired: scans and lease renewals that fell due (spurious calls are no-ops).
    pub fn handle_timeout(&mut self, now: Millis) {
        if let Some(p) = &mut self.persist {
            if p.next_scan <= now {
                p.next_scan = now.plus(SCAN_INTERVAL_MS);
                p.queries.push(Query::Scan);
            }
        }
        self.persist_changes(now);
    }

    /// When the driver should call back (`handle_timeout`), if anything waits on time.
    pub fn poll_timeout(&self, config: &Config) -> Option<Millis> {
        let flush = if !self.in_flight.is_empty() || !self.online {
            None
        } else {
            self.flush_at(config)
                .map(|flush_at| match self.paused_until {
                    Some(p) => p.max(flush_at),
                    None => flush_at,
                })
        };
        let (scan, renew) = match &self.persist {
            Some(p) => (
                Some(p.next_scan),
                p.lease_until
                    .map(|t| Millis(t.0.saturating_sub(LEASE_MS * 2 / 3))),
            ),
            None => (None, None),
        };
        let mut next = flush;
        for t in [scan, renew] {
            if let Some(t) = t {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        }
        next
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

    /// The next notice for the page.
    pub fn poll_notice(&mut self) -> Option<Notice> {
        pop_front(&mut self.notices)
    }

    /// The next storage write of the persisted queue.
    pub fn poll_storage_write(&mut self) -> Option<StorageWrite> {
        pop_front(&mut self.persist.as_mut()?.writes)
    }

    /// The next thing only the driver can do.
    pub fn poll_query(&mut self) -> Option<Query> {
        pop_front(&mut self.persist.as_mut()?.queries)
    }

    /// Whether this turn changed what must be persisted (the driver then calls
    /// `handle_turn_end` once before the task ends, e.g. from a queued microtask).
    pub fn needs_turn_end(&self) -> bool {
        // The open segment is in `dirty` too.
        self.persist.as_ref().is_some_and(|p| !p.dirty.is_empty())
    }

    /// The end of a turn: this turn's events become one segment write.
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
                event.seg = 0;
            }
            for event in &mut self.beaconed {
                event.seg = 0;
            }
            for (_, events, ..) in &mut self.in_flight {
                for event in events {
                    event.seg = 0;
                }
            }
        }
    }

    /// The keys read for a [`Query::Scan`]: segments of tabs that are gone are adopted
    /// (lease mode), or their locks are tried ([`Query::Claim`], lock mode).
    pub fn handle_storage_scan(&mut self, now: Millis, entries: &[(String, String)]) {
        let Some(p) = &mut self.persist else { return };
        p.next_scan = now.plus(SCAN_INTERVAL_MS);
        let mut foreign: Vec<&str> = Vec::new();
        let mut leases: Vec<(&str, Millis)> = Vec::new();
        let mut own_on_disk: Vec<u32> = Vec::new();
        for (key, value) in entries {
            match queue::parse_key(&p.prefix, key) {
                Some(KeyKind::Segment(tab, n)) if tab == p.tab => own_on_disk.push(n),
                Some(KeyKind::Segment(tab, _)) if !foreign.iter().any(|&t| t == tab) => {
                    foreign.push(tab)
                }
                Some(KeyKind::Segment(..)) => {}
                Some(KeyKind::Lease(tab)) => leases.push((
                    tab,
                    Millis(crate::json::parse_u64(crate::json::trim_ws(value, true)).unwrap_or(0)),
                )),
                None => {}
            }
        }
        match p.claims {
            Claims::Locks => {
                for tab in foreign {
                    p.queries.push(Query::Claim(tab.to_owned()));
                }
            }
            Claims::Lease => {
                // Our own segments that vanished were adopted by another tab that saw our
                // lease expire (e.g. while this tab was throttled): it sends them now.
                let mut vanished: Vec<u32> = Vec::new();
                for &(n, on_disk) in &p.segs {
                    if on_disk && !own_on_disk.iter().any(|&m| m == n) {
                        vanished.push(n);
                    }
                }
                if !vanished.is_empty() {
                    for n in &vanished {
                        p.remove_seg(*n);
                        p.dirty.retain(|d| d != n);
                    }
                    let mut kept = VecDeque::with_capacity(self.pending.len());
                    for event in std::mem::take(&mut self.pending) {
                        if vanished.iter().any(|&n| n == event.seg) {
                            self.pending_bytes =
                                self.pending_bytes.saturating_sub(event.json.len());
                            self.held_bytes = self.held_bytes.saturating_sub(event.json.len());
                        } else {
                            kept.push_back(event);
                        }
                    }
                    self.pending = kept;
                }
                for tab in foreign {
                    let lease = leases.iter().find(|l| l.0 == tab).map(|l| l.1);
                    if lease.is_none_or(|until| until <= now) {
                        self.adopt(now, tab, entries);
                    }
                }
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

    /// Moves the persisted events of (gone) tab `tab` into this tab's queue: one new own
    /// segment, then the old keys are removed.
    fn adopt(&mut self, now: Millis, tab: &str, entries: &[(String, String)]) {
        let Some(p) = &mut self.persist else { return };
        if tab == p.tab {
            return;
        }
        let seg = p.next_seg;
        let mut adopted: Vec<Queued> = Vec::new();
        let mut expired = 0;
        for (key, value) in entries {
            match queue::parse_key(&p.prefix, key) {
                Some(KeyKind::Segment(t, _)) if t == tab => {}
                Some(KeyKind::Lease(t)) if t == tab => {
                    p.adopted_keys.push(key.clone());
                    continue;
                }
                _ => continue,
            }
            p.adopted_keys.push(key.clone());
            for stored in crate::json::split_byte(value, b'\n').filter_map(queue::decode_line) {
                if now.since(stored.queued_at) > MAX_EVENT_AGE_MS {
                    expired += 1;
                    continue;
                }
                adopted.push(Queued {
                    json: stored.json,
                    kind: stored.kind,
                    attempts: stored.attempts,
                    queued_at: stored.queued_at,
                    seg,
                });
            }
        }
        if !adopted.is_empty() {
            p.next_seg += 1;
            p.segs.push((seg, false));
            p.dirty.push(seg);
        }
        self.notify_dropped(
            "event_expired",
            "events older than 7 days were dropped",
            expired,
        );
        // Older than anything accepted on this page: in front, oldest first.
        adopted.sort_unstable_by_key(|e| e.queued_at.0);
        for event in &adopted {
            self.held_bytes += event.json.len();
        }
        self.prepend(adopted);
        self.enforce_bounds();
    }

    /// Emits the storage writes for everything that changed: this turn's segments (one write
    /// each), rewritten or removed dirty segments, keys of adopted tabs, the lease or lock.
    fn persist_changes(&mut self, now: Millis) {
        let Some(p) = &mut self.persist else { return };
        let has_events = !p.segs.is_empty();
        if p.claims == Claims::Lease && has_events {
            // The lease goes first, so no other tab ever sees our segments without it.
            let due = p
                .lease_until
                .is_none_or(|until| until.since(now) <= LEASE_MS * 2 / 3);
            if due {
                let until = now.plus(LEASE_MS);
                p.lease_until = Some(until);
                let mut value = String::new();
                push_u64(&mut value, until.0);
                let key = queue::lease_key(&p.prefix, &p.tab);
                p.write(key, Some(value));
            }
        }
        // This turn's segments are in `dirty` too: the next event starts a new one.
        p.open = None;
        if !p.dirty.is_empty() {
            let mut texts: Vec<(u32, String)> = Vec::with_capacity(p.dirty.len());
            for seg in std::mem::take(&mut p.dirty) {
                texts.push((seg, String::with_capacity(MAX_SEGMENT_BYTES)));
            }
            // Pending, then beaconed, then in-flight events (plain loops: a chained
            // iterator costs more code).
            // `at`: the text the last event went to (a segment's events are mostly adjacent,
            // so a burst's many segments do not make this quadratic).
            #[inline(never)]
            fn add(texts: &mut [(u32, String)], at: &mut usize, event: &Queued) {
                if texts.get(*at).is_none_or(|t| t.0 != event.seg) {
                    let Some(i) = texts.iter().position(|t| t.0 == event.seg) else {
                        return;
                    };
                    *at = i;
                }
                if let Some((_, text)) = texts.get_mut(*at) {
                    queue::push_line(
                        text,
                        event.attempts,
                        event.queued_at,
                        event.kind,
                        &event.json,
                    );
                }
            }
            let mut at = 0;
            for event in &self.pending {
                add(&mut texts, &mut at, event);
            }
            for event in &self.beaconed {
                add(&mut texts, &mut at, event);
            }
            for flight in &self.in_flight {
                for event in &flight.1 {
                    add(&mut texts, &mut at, event);
                }
            }
            for (seg, text) in texts {
                let key = queue::segment_key(&p.prefix, &p.tab, seg);
                if text.is_empty() {
                    if p.remove_seg(seg) {
                        p.write(key, None);
                    }
                } else {
                    p.write(key, Some(text));
                    p.set_seg(seg, true);
                }
            }
        }
        for key in std::mem::take(&mut p.adopted_keys) {
            p.write(key, None);
        }
        let has_events = !p.segs.is_empty();
        match p.claims {
            Claims::Locks => {
                if has_events != p.lock_held {
                    p.lock_held = has_events;
                    p.queries.push(Query::HoldLock(has_events));
                }
            }
            Claims::Lease => {
                if !has_events && p.lease_until.take().is_some() {
                    let key = queue::lease_key(&p.prefix, &p.tab);
                    p.write(key, None);
                }
            }
        }
    }
}
