//! The analytics state machine ([`Analytics`]) and the modules it is made of. Pure: no I/O,
//! no clock, no randomness.

pub mod args;
pub mod boundary;
pub mod config;
pub mod delivery;
pub mod event;
pub(crate) mod host;
pub mod identity;
pub(crate) mod ids;
pub mod notice;
pub mod page;
pub mod persisted;
pub mod pump;
pub(crate) mod queue;
pub(crate) mod recovery;
pub mod retry;
pub mod time;
pub mod validate;

use args::{resolve_alias, resolve_page, resolve_track, resolve_user, Arg};
use config::Config;
use delivery::{BatchId, Delivery, Notice, Queued, SendOutcome, Transmit};
pub use event::EventType;
use event::{BuildInput, Env, Fragments, Payload, TrackInput};
use identity::{Identity, StorageSnapshot, StorageWrite};
use ids::Entropy;
use notice::NoticeCode;
use page::BufferedPageContext;
use persisted::{Claims, Query};
use time::Millis;

use crate::json::{Map, Value};

/// What `handle_call` does with the event it builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dispatch {
    /// Queue it for delivery now (no page plugins or middleware to run first).
    Queue,
    /// Only return it: the shim runs plugins and middleware, then calls
    /// [`Analytics::handle_enqueue`] with the result (or drops it when they cancel).
    Return,
}

/// Why a call produced no event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallError {
    /// Bad arguments (`Event missing`).
    Args(args::ArgError),
    /// The event's JSON exceeds 32 KB.
    TooLarge,
    /// The call, or a plugin or middleware after it, made something that is not a
    /// well-formed event.
    Invalid(validate::ValidationError),
    /// The call's arguments are not JSON the core takes (nested too deeply).
    Json(crate::json::ParseError),
}

impl CallError {
    /// The rejection message.
    pub fn message(self) -> &'static str {
        match self {
            CallError::Args(e) => e.message(),
            CallError::TooLarge => "event is larger than 32 KB and was not queued",
            CallError::Invalid(e) => e.message(),
            CallError::Json(e) => e.message(),
        }
    }
}

/// The analytics state machine of one page: identity, event building, the delivery queue
/// and its persisted copy.
///
/// It does no I/O. Inputs come in through `handle_*` methods: the page's calls (through the
/// shim), and the driver's answers and the browser's events (storage scans, lock grants,
/// request outcomes, the timer, page lifecycle and connectivity). What must happen comes
/// out, as data, through the `poll_*` methods: storage writes, requests, notices, and one
/// deadline. The methods are in that order: getters, the page's calls, the driver's answers,
/// then the `poll_*` methods.
///
/// # The polling protocol
///
/// After any `handle_*` call the driver polls, in this order ([`Analytics::pump`] does it
/// through any [`pump::Host`]; the web driver and the tests' simulated world both use it):
/// 1. [`Analytics::poll_query`] until `None`: storage scans (answered at once with
///    [`Analytics::handle_storage_scan`]) and Web Locks (a claim's grant comes later, with
///    [`Analytics::handle_claimed`]);
/// 2. [`Analytics::poll_storage_write`] until `None`: cookies and localStorage (a failed
///    write of the queue: [`Analytics::handle_storage_failed`]); then 1 and 2 again until
///    neither has anything;
/// 3. [`Analytics::poll_transmit`] until `None`: send each request, and report its outcome
///    later with [`Analytics::handle_send_outcome`] (or [`Analytics::handle_beacon_sent`]);
/// 4. [`Analytics::poll_timeout`]: arm the one timer; when it fires, call
///    [`Analytics::handle_timeout`] (a call before the deadline is a no-op);
/// 5. [`Analytics::poll_notice`] until `None`: the page's `error` events.
///
/// After an API call only steps 1 and 2 run, in the caller's task. The rest waits for the I/O
/// task the driver runs right after it, which first calls [`Analytics::handle_turn_end`]:
/// the events accepted in that turn are persisted together (see [`pump::Stage`]). Rust never
/// calls user code while the core is borrowed: hosts defer notices and callbacks.
///
/// # Time
///
/// Every `now` is the wall clock in epoch milliseconds (events carry it as their timestamp),
/// and time must not go backwards: each `now` is at least the previous one. (Should the
/// system clock step back anyway, durations saturate at zero: deadlines set before the step
/// come that much later, and nothing is dropped early.)
#[derive(Debug)]
pub struct Analytics {
    config: Config,
    env: Env,
    identity: Identity,
    entropy: Entropy,
    delivery: Delivery,
    /// Pre-written JSON for plain `track` calls ([`Analytics::handle_track_text`]).
    fragments: Fragments,
    /// The page context now (the shim's buffered page context JSON text), for calls that do
    /// not carry their own: see [`Analytics::handle_page_context`].
    page_now: String,
    /// Whether `fragments` were written for `page_now` (false after it changed, or after a
    /// call with its own page context).
    fragments_current: bool,
    /// Invariant: in the order the changes happened.
    writes: Vec<StorageWrite>,
}

impl Analytics {
    /// A new instance from its config, browser facts, a storage snapshot and a random seed.
    pub fn new(config: Config, env: Env, snapshot: &StorageSnapshot, seed: [u8; 16]) -> Analytics {
        let mut entropy = Entropy::from_seed(seed);
        let mut identity =
            Identity::restore(snapshot, config.stores, config.keys.clone(), &mut entropy);
        let writes = identity.take_writes();
        let fragments = Fragments::new(&env);
        Analytics {
            config,
            env,
            identity,
            entropy,
            delivery: Delivery::default(),
            fragments,
            page_now: String::new(),
            fragments_current: false,
            writes,
        }
    }

    // --- Getters -------------------------------------------------------------------

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The identity (user and group).
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// The page context now ([`Analytics::handle_page_context`]), parsed (default: empty).
    pub fn page_context(&self) -> BufferedPageContext {
        BufferedPageContext::from_json(&self.page_now)
    }

    /// Events accepted and not yet confirmed by the API.
    pub fn queued(&self) -> usize {
        self.delivery.len()
    }

    /// The queue's localStorage key prefix (every key a [`Query::Scan`] must read), when
    /// persisting.
    pub fn queue_prefix(&self) -> Option<&str> {
        self.delivery.prefix()
    }

    /// This tab's id in the persisted queue (its lock is `queue_prefix() + tab`).
    pub fn queue_tab(&self) -> Option<&str> {
        self.delivery.tab()
    }

    /// Whether the driver must call [`Analytics::handle_turn_end`] before the task ends.
    pub fn needs_turn_end(&self) -> bool {
        self.delivery.needs_turn_end()
    }

    // --- The page's calls (analytics.js's API, through the shim) -------------------

    /// The page context now, as the shim's buffered page context JSON text (`{"__t":"bpc",
    /// ...}`): what calls without one of their own use. The shim sends it only when it
    /// changed, so a run of calls on one page does not copy and compare it each time.
    pub fn handle_page_context(&mut self, text: String) {
        self.page_now = text;
        self.fragments_current = false;
    }

    /// An event call (`track`, `page`, ...). Returns the event's JSON text.
    ///
    /// # Errors
    /// [`CallError`] when analytics.js would reject the call, or the event is over 32 KB.
    pub fn handle_call(
        &mut self,
        now: Millis,
        method: EventType,
        args: &[Arg],
        page: &BufferedPageContext,
        dispatch: Dispatch,
    ) -> Result<String, CallError> {
        let mut payload = match method {
            EventType::Track => Payload::Track(resolve_track(args).map_err(CallError::Args)?),
            EventType::Page => Payload::Page(EventType::Page, resolve_page(args)),
            EventType::Screen => Payload::Page(EventType::Screen, resolve_page(args)),
            EventType::Identify => Payload::Identify(resolve_user(args)),
            EventType::Group => Payload::Group(resolve_user(args)),
            EventType::Alias => Payload::Alias(resolve_alias(args)),
        };
        if let Payload::Identify(a) | Payload::Group(a) = &payload {
            if !a.id.as_deref().is_none_or(identity::id_fits) {
                return Err(CallError::Args(args::ArgError::IdTooLong));
            }
        }
        // Overrides Segment's API would refuse the event for are dropped (the event keeps its
        // own time and identity), with a notice: analytics.js sends them as they are.
        let options = payload.options_mut();
        let bad_time = options
            .get("timestamp")
            .is_some_and(|t| t.as_str().is_none_or(|t| time::parse_iso(t).is_none()));
        let bad_anonymous = options
            .get("anonymousId")
            .and_then(Value::as_str)
            .is_some_and(|a| !identity::id_fits(a));
        let bad_user = options
            .get("userId")
            .is_some_and(|u| !matches!(u, Value::String(_) | Value::Number(_) | Value::Null));
        for (bad, key, reason) in [
            (
                bad_time,
                "timestamp",
                "options.timestamp is not an ISO 8601 date: the call's own time was used",
            ),
            (
                bad_anonymous,
                "anonymousId",
                "options.anonymousId is longer than 1024 bytes: it was ignored",
            ),
            (
                bad_user,
                "userId",
                "options.userId is not a string or a number: it was ignored",
            ),
        ] {
            if bad {
                options.remove(key);
                self.notify(NoticeCode::InvalidOption.as_str(), reason);
            }
        }
        // options.anonymousId on any call changes the stored anonymousId (analytics.js).
        if let Some(Value::String(anonymous_id)) = payload.options().get("anonymousId") {
            let anonymous_id = anonymous_id.clone();
            self.identity.set_anonymous_id(Some(anonymous_id));
        }
        self.identity.touch_user_id();
        if let Some(ad) = page::ad_referrer_from_query(&page.search) {
            self.identity.set_ad_referrer(&ad);
        }
        match &payload {
            Payload::Identify(a) => {
                self.identity
                    .identify(a.id.clone(), a.traits.clone(), &mut self.entropy)
            }
            Payload::Group(a) => self.identity.group(a.id.clone(), a.traits.clone()),
            _ => {}
        }
        self.identity.ensure_anonymous_id(&mut self.entropy);
        self.collect_writes();
        let kind = method;
        let input = BuildInput {
            now,
            config: &self.config,
            env: &self.env,
            identity: &self.identity,
            page,
        };
        let mut event = event::build(&input, payload, &mut self.entropy);
        // What the API would refuse never enters a batch (a refused batch loses every event
        // in it): `group` without any group id, `alias` without ids.
        validate::validate_map(&event).map_err(CallError::Invalid)?;
        event.insert("writeKey", Value::str(self.config.write_key.as_str()));
        let json = event.to_json();
        match dispatch {
            Dispatch::Queue => self.queue_event(now, kind, &event, json),
            Dispatch::Return => Ok(json),
        }
    }

    /// A call in the shim's wire form (`types` letters and `values`, a JSON array: see
    /// [`args::decode_args`]): `track(name[, properties])` through
    /// [`Analytics::handle_track_text`], any other call parsed and through
    /// [`Analytics::handle_call`] (with the page context now unless the call brought one).
    ///
    /// # Errors
    /// As [`Analytics::handle_call`], or [`CallError::Json`].
    pub fn handle_wire_call(
        &mut self,
        now: Millis,
        method: EventType,
        types: &str,
        values: &str,
        dispatch: Dispatch,
    ) -> Result<String, CallError> {
        if method == EventType::Track {
            if let Some((name, properties, page)) = args::plain_track(types, values) {
                return self.handle_track_text(now, name, properties, page, dispatch);
            }
        }
        let values = crate::json::parse(values).map_err(CallError::Json)?;
        let (args, page) = args::decode_args(types, &values);
        let page = page.unwrap_or_else(|| self.page_context());
        self.handle_call(now, method, &args, &page, dispatch)
    }

    /// `track(name)` / `track(name, properties)` without options or callback-only extras:
    /// the same effects and the same event as [`Analytics::handle_call`], written straight
    /// from the call's JSON texts (`name` a JSON string literal, `properties` a JSON object,
    /// `page` the call's own buffered page context object, or `None` for the page context
    /// now) without building a tree. The shim's JSON
    /// texts come from `JSON.stringify`, so they are copied verbatim.
    ///
    /// # Errors
    /// As [`Analytics::handle_call`].
    pub fn handle_track_text(
        &mut self,
        now: Millis,
        name: &str,
        properties: &str,
        page: Option<&str>,
        dispatch: Dispatch,
    ) -> Result<String, CallError> {
        if name == "\"\"" {
            return Err(CallError::Args(args::ArgError::EventMissing));
        }
        self.identity.touch_user_id();
        match page {
            Some(own) => {
                self.fragments_current = false;
                self.fragments.set_page(own);
            }
            None if !self.fragments_current => {
                self.fragments_current = true;
                self.fragments.set_page(&self.page_now);
            }
            None => {}
        }
        if let Some(ad) = self.fragments.ad_referrer() {
            self.identity.set_ad_referrer(ad);
        }
        self.identity.ensure_anonymous_id(&mut self.entropy);
        self.collect_writes();
        let input = TrackInput {
            now,
            config: &self.config,
            identity: &self.identity,
        };
        let json = event::write_track(&input, &self.fragments, name, properties, &mut self.entropy);
        match dispatch {
            Dispatch::Queue => {
                let to_api = self.to_api(&self.config.integrations);
                self.push_event(now, EventType::Track, json, to_api)
            }
            Dispatch::Return => Ok(json),
        }
    }

    /// Queues an event that page plugins or middleware have finished with (built earlier by
    /// [`Analytics::handle_call`] with [`Dispatch::Return`], then possibly changed). Returns
    /// the JSON as queued.
    ///
    /// # Errors
    /// [`CallError::Invalid`] when it is no longer a well-formed event, or
    /// [`CallError::TooLarge`].
    pub fn handle_enqueue(&mut self, now: Millis, json: &str) -> Result<String, CallError> {
        let event = match crate::json::parse(json) {
            Ok(Value::Object(event)) => event,
            _ => return Err(CallError::Invalid(validate::ValidationError::NotAnObject)),
        };
        validate::validate_map(&event).map_err(CallError::Invalid)?;
        // validate_map() guarantees one of the six types.
        let kind = event
            .get("type")
            .and_then(Value::as_str)
            .and_then(EventType::from_name)
            .unwrap_or(EventType::Track);
        let json = event.to_json();
        self.queue_event(now, kind, &event, json)
    }

    /// `flush()`: send what is pending without waiting for the batch timer.
    pub fn handle_flush(&mut self) {
        self.delivery.handle_flush();
    }

    /// `analytics.reset()`.
    pub fn handle_reset(&mut self) {
        self.identity.reset(&mut self.entropy);
        self.collect_writes();
    }

    /// `setAnonymousId(id)` / `user().anonymousId(id)`; `None` clears it.
    pub fn handle_set_anonymous_id(&mut self, id: Option<String>) {
        if !self.id_accepted(id.as_deref()) {
            return;
        }
        self.identity.set_anonymous_id(id);
        self.collect_writes();
    }

    /// `user().id(id)`: sets or (with `None`) clears the user id without an event.
    pub fn handle_set_user_id(&mut self, id: Option<String>) {
        if !self.id_accepted(id.as_deref()) {
            return;
        }
        self.identity.set_user_id(id);
        self.collect_writes();
    }

    /// `user().traits(traits)`: replaces the stored user traits.
    pub fn handle_set_user_traits(&mut self, traits: Map) {
        self.identity.replace_user_traits(traits);
        self.collect_writes();
    }

    /// The anonymous id is read (`user().anonymousId()`): generated first if it was cleared.
    pub fn handle_anonymous_id_read(&mut self) {
        self.identity.ensure_anonymous_id(&mut self.entropy);
        self.collect_writes();
    }

    /// `group().id()` was read (analytics.js then writes an absent id back as JSON `null`).
    pub fn handle_group_id_read(&mut self) {
        self.identity.touch_group_id();
        self.collect_writes();
    }

    /// Sets `context.segments` for the events built from now on (`None`: none).
    pub fn set_context_segments(&mut self, segments: Option<Value>) {
        self.config.context_segments = segments;
    }

    /// The destinations and plugins that failed to load so far (a JSON array the shim wrote
    /// with `JSON.stringify`; empty: none), for `_metadata` on the events sent from now on
    /// (analytics.js's `failedInitializations`).
    pub fn set_failed_initializations(&mut self, names: &str) {
        let failed = &mut self.config.failed_initializations;
        failed.clear();
        if names.len() > 2 {
            failed.push_str("\"failedInitializations\":");
            failed.push_str(names);
        }
    }

    /// `_metadata`'s bundling members for the events sent from now on: what the device-mode
    /// part computed from the settings (`destinations::Router::metadata`; empty: none).
    pub fn set_metadata(&mut self, members: &str) {
        members.clone_into(&mut self.config.metadata);
    }

    /// Whether the page needs the lazy device-mode part (`Config::device_mode`).
    pub fn device_mode(&self) -> bool {
        self.config.device_mode
    }

    // --- The driver's answers and the browser's events -----------------------------

    /// Starts persisting the delivery queue in localStorage (unless persistence is disabled),
    /// with `claims` telling how tabs keep out of each other's events. Events left by earlier
    /// pages are adopted after the first [`Query::Scan`].
    pub fn handle_queue_open(&mut self, now: Millis, claims: Claims) {
        if self.config.stores.local || self.config.stores.cookie {
            self.delivery
                .open(now, &self.config.write_key, claims, &mut self.entropy);
        }
    }

    /// The end of the current turn: the events accepted in it are persisted (one write).
    pub fn handle_turn_end(&mut self, now: Millis) {
        self.delivery.handle_turn_end(now);
    }

    /// The outcome of a request from [`Analytics::poll_transmit`].
    pub fn handle_send_outcome(&mut self, now: Millis, id: BatchId, outcome: &SendOutcome) {
        self.delivery
            .handle_send_outcome(now, &self.config, &mut self.entropy, id, outcome);
    }

    /// Request `id` went out with `navigator.sendBeacon` (no outcome will follow).
    pub fn handle_beacon_sent(&mut self, id: BatchId) {
        self.delivery.handle_beacon_sent(id);
    }

    /// The timer from [`Analytics::poll_timeout`] fired (spurious calls are no-ops).
    pub fn handle_timeout(&mut self, now: Millis) {
        self.delivery.handle_timeout(now);
    }

    /// The answer to [`Query::Scan`]: every `(key, value)` under [`Analytics::queue_prefix`].
    pub fn handle_storage_scan(&mut self, now: Millis, entries: &[(String, String)]) {
        self.delivery.handle_storage_scan(now, entries);
    }

    /// The lock asked for by [`Query::Claim`] was granted; `entries` were read after.
    pub fn handle_claimed(&mut self, now: Millis, tab: &str, entries: &[(String, String)]) {
        self.delivery.handle_claimed(now, tab, entries);
    }

    /// A localStorage write of the queue failed: the queue carries on in memory.
    pub fn handle_storage_failed(&mut self) {
        self.delivery.handle_storage_failed();
    }

    /// `navigator.onLine` changed (offline pauses sending; online resumes at once).
    pub fn handle_online(&mut self, online: bool) {
        self.delivery.handle_online(online);
    }

    /// `pagehide` / `visibilitychange` to hidden: everything pending leaves now (keepalive).
    pub fn handle_page_hide(&mut self) {
        self.delivery.handle_page_hide();
    }

    /// The page is visible again.
    pub fn handle_page_show(&mut self) {
        self.delivery.handle_page_show();
    }

    // --- What the driver must do (in this order; see `pump`) -----------------------

    /// The next storage scan or lock operation for the driver.
    pub fn poll_query(&mut self) -> Option<Query> {
        self.delivery.poll_query()
    }

    /// The next storage change to apply.
    pub fn poll_storage_write(&mut self) -> Option<StorageWrite> {
        pop_front(&mut self.writes).or_else(|| self.delivery.poll_storage_write())
    }

    /// The next request to send.
    pub fn poll_transmit(&mut self, now: Millis) -> Option<Transmit> {
        self.delivery.poll_transmit(now, &self.config)
    }

    /// The next notice (`error` event) for the page.
    pub fn poll_notice(&mut self) -> Option<Notice> {
        self.delivery.poll_notice()
    }

    /// When to call [`Analytics::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Millis> {
        self.delivery.poll_timeout(&self.config)
    }

    // --- Internals -----------------------------------------------------------------

    fn collect_writes(&mut self) {
        self.writes.extend(self.identity.take_writes());
    }

    /// Whether an event with these `integrations` goes to the API.
    fn to_api(&self, integrations: &Map) -> bool {
        self.config.segment_io
            && !matches!(integrations.get("Segment.io"), Some(Value::Bool(false)))
    }

    /// Puts a built event in the delivery queue unless `integrations` keep it from the API.
    fn queue_event(
        &mut self,
        now: Millis,
        kind: EventType,
        event: &Map,
        json: String,
    ) -> Result<String, CallError> {
        let empty = Map::new();
        let integrations = event
            .get("integrations")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let to_api = self.to_api(integrations);
        self.push_event(now, kind, json, to_api)
    }

    /// Queues an event's JSON for delivery (when `to_api`), enforcing the size limit.
    fn push_event(
        &mut self,
        now: Millis,
        kind: EventType,
        json: String,
        to_api: bool,
    ) -> Result<String, CallError> {
        if !to_api {
            // `integrations: {'Segment.io': false}`: the event is built (and resolves) but
            // is not sent, as analytics.js filters destinations.
            return Ok(json);
        }
        // Room for what an attempt adds on the wire (`_metadata` with the bundling lists and
        // `retryCount`, standard mode's `sentAt`): the API counts it.
        let wire = delivery::WIRE_EXTRA
            + self.config.metadata.len()
            + self.config.failed_initializations.len();
        if json.len() + wire > validate::MAX_EVENT_BYTES {
            self.notify(
                NoticeCode::EventTooLarge.as_str(),
                CallError::TooLarge.message(),
            );
            return Err(CallError::TooLarge);
        }
        self.delivery.push(Queued {
            json: json.clone(),
            kind,
            attempts: 0,
            queued_at: now,
            chunk: 0,
        });
        Ok(json)
    }

    /// Whether an id given without an event fits ([`identity::id_fits`]); a notice if not.
    fn id_accepted(&mut self, id: Option<&str>) -> bool {
        let fits = id.is_none_or(identity::id_fits);
        if !fits {
            self.notify(
                NoticeCode::InvalidCall.as_str(),
                args::ArgError::IdTooLong.message(),
            );
        }
        fits
    }

    /// A notice (`error` event) about one call.
    /// (`code` is a [`NoticeCode`]'s name: the call sites name the code, so no table of
    /// names is looked up at run time; measured +26 B of core wasm with one.)
    fn notify(&mut self, code: &'static str, reason: &str) {
        self.delivery.notify(Notice {
            code,
            reason: String::from(reason),
            count: 1,
        });
    }
}

/// Takes the oldest item of a small FIFO. These hold a handful of items per pump, and a
/// `Vec` costs less wasm per element type than a `VecDeque`.
pub(crate) fn pop_front<T>(items: &mut Vec<T>) -> Option<T> {
    (!items.is_empty()).then(|| items.remove(0))
}
