//! The segments driver (`SegmentsWasm`, built only with the `web-segments` feature into its
//! own lazily loaded wasm). Does I/O: the clock, one timer, localStorage, a
//! BroadcastChannel, Web Locks and page-lifecycle listeners, around the pure
//! [`Engine`](crate::segments::Engine).
//!
//! The shim feeds it the JSON of every event the core built, in call order, and gets back the
//! transitions as a compact JSON array (hooks, DOM events and Audience outputs run in the shim
//! after the call returns). Transitions caused by time alone (timer, `visibilitychange`,
//! `pageshow`, `online`) and those broadcast by other tabs reach the shim through the callback
//! given at construction, always after the driver's borrow has ended.
//!
//! **API Boundary**: the persisted state `sieve:segments:v1` (a JSON array
//! `[userId|null, anonymousId|null, engineState]`, engine state = `Engine::encode_state`) and
//! `sieve:segments:members:v1` (a JSON array of the current member keys, read synchronously
//! by the script-tag entry to apply personalization before first paint).

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

use super::storage::{local_get, local_set};
use super::{clear_timeout, clock};
use crate::core::ids::fnv1a;
use crate::core::time::Millis;
use crate::json::{self, push_json_str, push_u64, Value};
use crate::segments::definition::EventType;
use crate::segments::{Engine, EventInput, LoadError, LoadReport, Reason, Transition};

/// Engine state and profile (see the module docs).
const STATE_KEY: &str = "sieve:segments:v1";
/// Current member keys, for personalization before first paint.
const MEMBERS_KEY: &str = "sieve:segments:members:v1";
/// The BroadcastChannel and the Web Lock shared by the tabs of one origin.
const CHANNEL: &str = "sieve:segments:v1";
/// Without BroadcastChannel, the last broadcast message (state + transitions) goes through
/// this localStorage key and the other tabs' `storage` events.
const MESSAGE_KEY: &str = "sieve:segments:msg:v1";
/// The longest single timer; later deadlines are re-armed (at least daily).
const MAX_TIMER_MS: u64 = 86_400_000;
/// How many delivered transitions a tab remembers (to run hooks once per transition).
const RECENT: usize = 64;

struct SegDriver {
    engine: Engine,
    /// The profile the engine's state belongs to: userId when set, else anonymousId.
    user_id: Option<String>,
    anonymous_id: Option<String>,
    /// Whether any definition reads `"on": "context"`: only then do events carry their
    /// context to the engine (a context makes the engine re-evaluate every segment).
    reads_context: bool,
    /// Whether definitions were loaded at least once (before that, nothing is persisted).
    loaded: bool,
    /// The armed timer: its deadline and `setTimeout` id.
    timer: Option<(Millis, f64)>,
    /// The shim's `(kind, data) => …` that calls [`SegmentsWasm::wake`] (see `sieve_seg_later`).
    wake: JsValue,
    /// Invariant: comma-separated transition objects (without outputs) of this turn that the
    /// other tabs have not been told about yet.
    turn: String,
    /// A persist is queued for the end of this turn (microtask).
    persist_queued: bool,
    /// What was last written to / read from `STATE_KEY` and `MEMBERS_KEY`.
    saved_state: String,
    saved_members: String,
    /// The BroadcastChannel (null without one: messages then go through localStorage).
    channel: JsValue,
    /// Transitions this tab already ran hooks for (key, entered, at), newest last: a
    /// transition reaches a tab once even when it both committed it and heard it from
    /// another tab (timers of two tabs racing for the lock).
    recent: Vec<(String, bool, u64)>,
    #[cfg(feature = "demo-clock")]
    clock_offset: u64,
}

/// The driver: leaked when it is made (it lives as long as the page, and a driver never
/// dropped carries no drop code in the wasm).
type Shared = &'static RefCell<SegDriver>;

// The engine's lower-casing of non-ASCII text (`segments::case`): JavaScript's own, as
// GrowthBook runs it.
#[wasm_bindgen(inline_js = "export function sieve_case(s){return s.toLowerCase()}")]
extern "C" {
    fn sieve_case(s: &str) -> String;
}

/// The engine's case mapping (declared in `segments::case`, which calls it directly).
#[no_mangle]
fn sieve_host_case(s: &str) -> String {
    sieve_case(s)
}

// The engine's regular expressions (`segments::regex`): JavaScript's `RegExp`, compiled once
// per pattern and flag (definitions reloaded every 5 minutes reuse them), by handle.
#[wasm_bindgen(
    inline_js = "const R=[],M=new Map;export function sieve_re_new(p,i){const k=(i?'i/':'/')+p;let n=M.get(k);\
if(n===undefined){try{n=R.push(new RegExp(p,i?'i':''))-1}catch(e){n=-1}M.set(k,n)}return n}\
export function sieve_re_test(n,s){return R[n].test(s)}"
)]
extern "C" {
    fn sieve_re_new(pattern: &str, insensitive: bool) -> i32;
    fn sieve_re_test(id: u32, text: &str) -> bool;
}

/// Declared in `segments::regex`, which calls it directly.
#[no_mangle]
fn sieve_host_regex_new(pattern: &str, insensitive: bool) -> i32 {
    sieve_re_new(pattern, insensitive)
}

/// Declared in `segments::regex`, which calls it directly.
#[no_mangle]
fn sieve_host_regex_test(id: u32, text: &str) -> bool {
    sieve_re_test(id, text)
}

// The driver's browser APIs as a few small imports (like the core's, see `web/mod.rs`):
// cheaper in wasm and glue than web-sys objects, each call in its own `try`. localStorage
// goes through the core's `storage` module. Every callback is `w(kind[, data])`, the shim's
// function that calls [`SegmentsWasm::wake`] (no Rust closures: their invoke shims, drop
// glue and JS wrappers cost more than this):
// - `sieve_seg_listen(name, key, w)`: `w(3)` on `pageshow`, `online` and
//   `visibilitychange` to visible; `w(4, text)` for each message of the BroadcastChannel
//   `name` (returned), or, without BroadcastChannel (null returned), for each `storage` event
//   that sets `key`.
// - `sieve_seg_post(channel, text)`: `channel.postMessage(text)`.
// - `sieve_seg_later(w, kind, ms)`: `w(kind)` in a microtask (`ms` < 0, answers 0) or
//   after a `setTimeout` of `ms` (answers its id).
// - `sieve_seg_locked(w, name)`: `w(2)` under the Web Lock `name`; at once without Web
//   Locks, or when the lock request fails.
#[wasm_bindgen(
    inline_js = "export function sieve_seg_listen(n,k,w){const on=(t,e,f)=>{try{t.addEventListener(e,f)}catch(_){}};\
on(window,'pageshow',()=>w(3));on(window,'online',()=>w(3));on(document,'visibilitychange',()=>document.hidden||w(3));\
try{const c=new BroadcastChannel(n);c.onmessage=e=>typeof e.data=='string'&&w(4,e.data);return c}\
catch(_){on(window,'storage',e=>e.key===k&&e.newValue!==null&&w(4,e.newValue));return null}}\
export function sieve_seg_post(c,m){try{c.postMessage(m)}catch(e){}}\
export function sieve_seg_later(w,k,ms){const f=()=>w(k);return ms<0?(queueMicrotask(f),0):setTimeout(f,ms)}\
export function sieve_seg_locked(w,n){let ran=0;const g=()=>{ran=1;w(2)};\
try{navigator.locks.request(n,g).catch(()=>ran||g());return}catch(e){}g()}"
)]
extern "C" {
    fn sieve_seg_listen(name: &str, key: &str, wake: &JsValue) -> JsValue;
    fn sieve_seg_post(channel: &JsValue, message: &str);
    fn sieve_seg_later(wake: &JsValue, kind: u8, ms: f64) -> f64;
    fn sieve_seg_locked(wake: &JsValue, name: &str);
}

/// What [`SegmentsWasm::wake`] is called for (the `kind` the callbacks above pass).
mod wake_kind {
    /// The end-of-turn persist (microtask).
    pub(super) const PERSIST: u8 = 0;
    /// The timer.
    pub(super) const TIMER: u8 = 1;
    /// The Web Lock for committing time-driven transitions was granted.
    pub(super) const COMMIT: u8 = 2;
    /// The page came back (pageshow, online, visible): time may have moved.
    pub(super) const LIFECYCLE: u8 = 3;
    /// A message from another tab.
    pub(super) const MESSAGE: u8 = 4;
}

fn opt_str(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn push_opt_str(out: &mut String, s: Option<&str>) {
    match s {
        Some(s) => push_json_str(out, s),
        None => out.push_str("null"),
    }
}

/// `sieve-aud-` + 32 hex digits derived from the transition and the profile: the same in
/// every tab and on every retry, so the collector counts one transition once.
fn audience_message_id(t: &Transition, profile: &str) -> String {
    let mut data = String::with_capacity(64);
    data.push_str(t.key.as_str());
    data.push('\n');
    push_u64(&mut data, t.version);
    data.push_str(if t.entered { "\nin\n" } else { "\nout\n" });
    push_u64(&mut data, t.at.0);
    data.push('\n');
    data.push_str(profile);
    let a = fnv1a(data.as_bytes());
    data.push('#');
    let b = fnv1a(data.as_bytes());
    let mut id = String::from("sieve-aud-");
    for word in [a, b] {
        for shift in (0..16).rev() {
            let digit = ((word >> (shift * 4)) & 0xf) as u8;
            id.push(char::from(if digit < 10 {
                b'0' + digit
            } else {
                b'a' + digit - 10
            }));
        }
    }
    id
}

fn push_transition(out: &mut String, t: &Transition, profile: Option<&str>) {
    if out.len() > 1 {
        out.push(',');
    }
    out.push_str("{\"key\":");
    push_json_str(out, t.key.as_str());
    out.push_str(if t.entered {
        ",\"entered\":true"
    } else {
        ",\"entered\":false"
    });
    out.push_str(",\"reason\":\"");
    out.push_str(t.reason.as_str());
    out.push_str("\",\"at\":");
    push_u64(out, t.at.0);
    // Outputs only for moves this device observed, and only in the tab that made them.
    if let Some(profile) = profile.filter(|_| t.reason != Reason::Baseline) {
        if t.outputs.track {
            out.push_str(",\"messageId\":\"");
            out.push_str(&audience_message_id(t, profile));
            out.push('"');
        }
        if t.outputs.identify {
            out.push_str(",\"identify\":true");
        }
    }
    out.push('}');
}

/// Whether `text` is JSON definitions (an array, or any JSON object), not compiled ones.
fn is_json(text: &str) -> bool {
    matches!(
        text.bytes().find(|b| !b.is_ascii_whitespace()),
        Some(b'[' | b'{')
    )
}

/// JSON definitions: parsed and validated here (the full engine only).
#[cfg(feature = "segments-parser")]
fn load_json(engine: &mut Engine, now: Millis, text: &str) -> Result<LoadReport, &'static str> {
    let defs = json::parse(text).map_err(|e| e.message())?;
    Ok(engine.load(now, &defs))
}

/// The engine wasm has no parser: the shim compiles JSON definitions with the full engine
/// first (js/segments.js).
#[cfg(not(feature = "segments-parser"))]
fn load_json(_: &mut Engine, _: Millis, _: &str) -> Result<LoadReport, &'static str> {
    Err(NO_PARSER)
}

#[cfg(not(feature = "segments-parser"))]
const NO_PARSER: &str =
    "JSON definitions need the full segment engine (sieve_segments_full_bg.wasm)";

/// `"accepted":[…],"errors":[…],"warnings":[…]` (without braces).
fn push_report(out: &mut String, report: &LoadReport) {
    out.push_str("\"accepted\":[");
    for (i, key) in report.accepted.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_str(out, key.as_str());
    }
    out.push_str("],\"errors\":");
    push_errors(out, &report.errors);
    out.push_str(",\"warnings\":");
    push_errors(out, &report.warnings);
}

/// Compiles JSON definitions (the text of a JSON array) for [`SegmentsWasm::load`] of an
/// engine without the parser: `{"compiled": text ("" when there is nothing to load),
/// "accepted", "errors", "warnings"}`. In the engine wasm, which has no parser, it answers
/// an error: one glue serves both wasms, so both have every export.
#[wasm_bindgen]
#[allow(unreachable_pub)] // exported to JavaScript by wasm_bindgen
pub fn compile(definitions: &str) -> String {
    #[cfg(feature = "segments-parser")]
    {
        let (compiled, report) = match json::parse(definitions) {
            Ok(defs) => crate::segments::compiled::compile(&defs),
            Err(e) => {
                let mut report = LoadReport::default();
                report.errors.push(LoadError {
                    key: String::new(),
                    path: String::new(),
                    message: e.message().to_owned(),
                });
                (None, report)
            }
        };
        // "" when nothing is to be loaded (not JSON, not an array).
        let mut out = String::from("{\"compiled\":");
        push_json_str(&mut out, compiled.as_deref().unwrap_or(""));
        out.push(',');
        push_report(&mut out, &report);
        out.push('}');
        out
    }
    #[cfg(not(feature = "segments-parser"))]
    {
        let _ = definitions;
        let mut out = String::from("{\"compiled\":\"\",\"accepted\":[],\"errors\":[{\"key\":\"\",\"path\":\"\",\"message\":");
        push_json_str(&mut out, NO_PARSER);
        out.push_str("}],\"warnings\":[]}");
        out
    }
}

fn push_errors(out: &mut String, errors: &[LoadError]) {
    out.push('[');
    for (i, e) in errors.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"key\":");
        push_json_str(out, &e.key);
        out.push_str(",\"path\":");
        push_json_str(out, &e.path);
        out.push_str(",\"message\":");
        push_json_str(out, &e.message);
        out.push('}');
    }
    out.push(']');
}

impl SegDriver {
    fn now(&self) -> Millis {
        #[cfg(feature = "demo-clock")]
        return Millis(clock::now().0.saturating_add(self.clock_offset));
        #[cfg(not(feature = "demo-clock"))]
        clock::now()
    }

    /// Records a transition as delivered; `false` when it already was.
    fn first_delivery(&mut self, key: &str, entered: bool, at: u64) -> bool {
        if self
            .recent
            .iter()
            .any(|(k, e, a)| k == key && *e == entered && *a == at)
        {
            return false;
        }
        if self.recent.len() >= RECENT {
            self.recent.remove(0);
        }
        self.recent.push((key.to_owned(), entered, at));
        true
    }

    fn profile(&self) -> Option<&str> {
        self.user_id.as_deref().or(self.anonymous_id.as_deref())
    }

    /// Drains the engine's transitions into a JSON array (with outputs) and into this turn's
    /// broadcast list (without).
    fn drain(&mut self) -> String {
        let mut local = String::from("[");
        while let Some(t) = self.engine.poll_transition() {
            if !self.first_delivery(t.key.as_str(), t.entered, t.at.0) {
                continue;
            }
            let profile = self.profile().unwrap_or("").to_owned();
            push_transition(&mut local, &t, Some(&profile));
            if self.turn.is_empty() {
                self.turn.push('[');
            }
            push_transition(&mut self.turn, &t, None);
        }
        local.push(']');
        local
    }

    /// Applies the identity of one event: a new non-null userId replacing another, or a
    /// different anonymous visitor, switches to a fresh profile; an anonymous visitor's first
    /// userId keeps the profile.
    fn adopt_identity(
        &mut self,
        now: Millis,
        user_id: Option<String>,
        anonymous_id: Option<String>,
    ) {
        let switch = match (&self.user_id, &user_id) {
            (Some(old), Some(new)) => old != new,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => {
                self.anonymous_id.is_some()
                    && anonymous_id.is_some()
                    && self.anonymous_id != anonymous_id
            }
        };
        if switch {
            self.engine.handle_profile_switch(now);
        }
        self.user_id = user_id;
        if anonymous_id.is_some() {
            self.anonymous_id = anonymous_id;
        }
    }

    /// One event built by the core (its JSON text).
    fn feed_one(&mut self, now: Millis, text: &str) {
        if text == "!reset" {
            self.engine.handle_profile_switch(now);
            self.user_id = None;
            self.anonymous_id = None;
            return;
        }
        // The engine reads type, name, ids, properties and traits; an event's context (most
        // of its bytes) only when a definition reads it.
        let skip: &[&str] = if self.reads_context {
            &["integrations", "messageId", "timestamp"]
        } else {
            &["context", "integrations", "messageId", "timestamp"]
        };
        let Ok(event) = json::parse_without(text, skip) else {
            return;
        };
        self.adopt_identity(
            now,
            opt_str(event.get("userId")),
            opt_str(event.get("anonymousId")),
        );
        let empty = Value::Object(json::Map::new());
        let properties = event.get("properties").unwrap_or(&empty);
        let context = if self.reads_context {
            event.get("context")
        } else {
            None
        };
        let kind = match event.get("type").and_then(Value::as_str) {
            Some("track") => EventType::Track,
            Some("page") => EventType::Page,
            Some("screen") => EventType::Screen,
            Some("identify") => {
                self.engine.handle_traits(now, event.get("traits"), None);
                return;
            }
            Some("group") => {
                self.engine.handle_traits(now, None, event.get("traits"));
                return;
            }
            _ => return,
        };
        let name = match kind {
            EventType::Track => event.get("event"),
            _ => event.get("name"),
        }
        .and_then(Value::as_str)
        .unwrap_or("");
        self.engine.handle_event(
            now,
            EventInput {
                kind,
                name,
                properties,
                context,
            },
        );
    }

    /// The persisted state value.
    fn state_value(&self) -> String {
        let mut out = String::from("[");
        push_opt_str(&mut out, self.user_id.as_deref());
        out.push(',');
        push_opt_str(&mut out, self.anonymous_id.as_deref());
        out.push(',');
        push_json_str(&mut out, &self.engine.encode_state());
        out.push(']');
        out
    }

    fn members_value(&self) -> String {
        self.members_json(false)
    }

    /// The keys of the segments the visitor is in: an array (`members_value`), or an object
    /// of key → membership for every segment whose state is known (`context.segments`, which
    /// Actions triggers read: `context.segments.power_user = true` or `= false`).
    fn members_json(&self, object: bool) -> String {
        let mut out = String::from(if object { "{" } else { "[" });
        for status in self.engine.list() {
            let Some(member) = status.state else { continue };
            if member || object {
                if out.len() > 1 {
                    out.push(',');
                }
                push_json_str(&mut out, status.key.as_str());
                if object {
                    out.push_str(if member { ":true" } else { ":false" });
                }
            }
        }
        out.push(if object { '}' } else { ']' });
        out
    }

    /// Writes what changed and tells the other tabs (state + this turn's transitions).
    fn persist(&mut self) {
        self.persist_queued = false;
        if !self.loaded {
            return;
        }
        let state = self.state_value();
        if state != self.saved_state {
            local_set(STATE_KEY, &state);
            let members = self.members_value();
            if members != self.saved_members {
                local_set(MEMBERS_KEY, &members);
                self.saved_members = members;
            }
            let mut message = String::from("{\"state\":");
            push_json_str(&mut message, &state);
            message.push_str(",\"transitions\":");
            message.push_str(if self.turn.is_empty() {
                "["
            } else {
                &self.turn
            });
            message.push_str("]}");
            if self.channel.is_null() {
                local_set(MESSAGE_KEY, &message);
            } else {
                sieve_seg_post(&self.channel, &message);
            }
            self.saved_state = state;
        }
        self.turn.clear();
    }

    /// Restores a state another tab wrote (same profile or not: the origin shares one).
    /// Returns whether it was different from ours.
    fn adopt_stored(&mut self, now: Millis, value: &str) -> bool {
        if value == self.saved_state {
            return false;
        }
        let Ok(Value::Array(items)) = json::parse(value) else {
            return false;
        };
        let Some(state) = items.get(2).and_then(Value::as_str) else {
            return false;
        };
        let user_id = opt_str(items.first());
        let anonymous_id = opt_str(items.get(1));
        if self.engine.restore_state(now, state).is_err() {
            return false;
        }
        self.user_id = user_id;
        self.anonymous_id = anonymous_id;
        self.saved_state = value.to_owned();
        true
    }
}

/// Schedules the end-of-turn persist (one write per task, however many calls it made).
fn queue_persist(driver: &mut SegDriver) {
    if driver.persist_queued {
        return;
    }
    driver.persist_queued = true;
    sieve_seg_later(&driver.wake, wake_kind::PERSIST, -1.0);
}

fn arm_timer(driver: &mut SegDriver, now: Millis) {
    let deadline = driver.engine.poll_timeout();
    if driver.timer.as_ref().map(|(d, _)| *d) == deadline {
        return;
    }
    if let Some((_, old)) = driver.timer.take() {
        clear_timeout(old);
    }
    let Some(deadline) = deadline else { return };
    // +1 ms: a deadline is due at `now >= deadline`; timers may fire a little early.
    let delay = deadline.since(now).saturating_add(1).min(MAX_TIMER_MS);
    driver.timer = Some((
        deadline,
        sieve_seg_later(&driver.wake, wake_kind::TIMER, delay as f64),
    ));
}

/// Time may have moved: commit what fell due, once for all tabs (under a Web Lock when the
/// browser has them; otherwise each tab commits and the deterministic messageIds dedupe).
fn reevaluate(shared: &Shared) {
    let Some(wake) = shared.try_borrow().ok().map(|d| d.wake.clone()) else {
        return;
    };
    sieve_seg_locked(&wake, CHANNEL);
}

/// Under the lock (see [`reevaluate`]): the transitions that fell due (a JSON array), if any.
fn commit(shared: &Shared) -> Option<String> {
    let mut driver = shared.try_borrow_mut().ok()?;
    let driver = &mut *driver;
    let now = driver.now();
    // Another tab may have committed these already: start from the shared state. What its
    // writer committed is in it as memberships (and was broadcast by the writer); what moves
    // when it is brought to `now` fell due since it was written, and this tab, under the
    // lock, is the first to commit it: those transitions are delivered here, not dropped.
    if let Some(stored) = local_get(STATE_KEY) {
        driver.adopt_stored(now, &stored);
    }
    driver.engine.handle_timeout(now);
    let json = driver.drain();
    // Written before the lock is released, so the next tab sees it.
    driver.persist();
    arm_timer(driver, now);
    (json.len() > 2).then_some(json)
}

/// A message from another tab: adopt its state and run this tab's hooks for its
/// transitions (no outputs: the tab that made them sent them). Returns those (a JSON array),
/// if any.
fn on_broadcast(shared: &Shared, data: &str) -> Option<String> {
    let transitions = {
        let mut driver = shared.try_borrow_mut().ok()?;
        let driver = &mut *driver;
        let message = json::parse(data).ok()?;
        let state = message.get("state").and_then(Value::as_str)?;
        let now = driver.now();
        // Already adopted when this tab committed after the sender, under the lock.
        if driver.adopt_stored(now, state) {
            while driver.engine.poll_transition().is_some() {}
            driver.saved_members = driver.members_value();
            arm_timer(driver, now);
        }
        let mut fresh = Vec::new();
        for t in message
            .get("transitions")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            let key = t.get("key").and_then(Value::as_str).unwrap_or("");
            let entered = t.get("entered").and_then(Value::as_bool).unwrap_or(false);
            let at = t.get("at").and_then(Value::as_f64).unwrap_or(0.0) as u64;
            if driver.first_delivery(key, entered, at) {
                fresh.push(t.clone());
            }
        }
        Value::Array(fresh).to_json()
    };
    (transitions.len() > 2).then_some(transitions)
}

fn listen(shared: &Shared) {
    if let Ok(mut driver) = shared.try_borrow_mut() {
        // Listeners for the page's lifetime.
        driver.channel = sieve_seg_listen(CHANNEL, MESSAGE_KEY, &driver.wake);
    }
}

/// The wasm instance behind `analytics.segments` (one per page).
#[wasm_bindgen]
pub struct SegmentsWasm {
    shared: Shared,
}

impl std::fmt::Debug for SegmentsWasm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SegmentsWasm")
    }
}

#[wasm_bindgen]
impl SegmentsWasm {
    /// Restores the stored state when it belongs to the current visitor (`user_id`, else
    /// `anonymous_id`), applies the current traits (JSON objects), and starts listening for
    /// time and other tabs. `utc_offset` is the host's offset from UTC in minutes (east
    /// positive: `-new Date().getTimezoneOffset()`). `wake(kind, data)` must call
    /// [`SegmentsWasm::wake`] with its arguments and hand transitions it returns to the hooks.
    #[wasm_bindgen(constructor)]
    pub fn new(
        user_id: Option<String>,
        anonymous_id: Option<String>,
        user_traits: &str,
        group_traits: &str,
        utc_offset: f64,
        wake: JsValue,
    ) -> SegmentsWasm {
        let mut engine = Engine::new();
        engine.set_utc_offset(if utc_offset.is_finite() {
            utc_offset as i32
        } else {
            0
        });
        let mut driver = SegDriver {
            engine,
            user_id: None,
            anonymous_id: None,
            reads_context: false,
            loaded: false,
            timer: None,
            wake,
            turn: String::new(),
            persist_queued: false,
            saved_state: String::new(),
            saved_members: local_get(MEMBERS_KEY).unwrap_or_default(),
            channel: JsValue::NULL,
            recent: Vec::new(),
            #[cfg(feature = "demo-clock")]
            clock_offset: 0,
        };
        let now = driver.now();
        if let Some(stored) = local_get(STATE_KEY) {
            driver.adopt_stored(now, &stored);
        }
        // A stored state of another visitor (cleared cookies, another login) is not ours.
        driver.adopt_identity(now, user_id, anonymous_id);
        let user = json::parse(user_traits)
            .ok()
            .filter(|v| v.as_object().is_some());
        let group = json::parse(group_traits)
            .ok()
            .filter(|v| v.as_object().is_some());
        driver
            .engine
            .handle_traits(now, user.as_ref(), group.as_ref());
        let shared: Shared = Box::leak(Box::new(RefCell::new(driver)));
        listen(&shared);
        SegmentsWasm { shared }
    }

    /// Replaces the definitions: compiled definitions (`segments::compiled`), or, in the full
    /// engine (feature `segments-parser`), a JSON array text. Returns
    /// `{"accepted":[keys],"errors":[{key,path,message}],"warnings":[...],"transitions":[...]}`.
    pub fn load(&self, definitions: &str) -> String {
        let Ok(mut driver) = self.shared.try_borrow_mut() else {
            return String::from("{\"errors\":[],\"busy\":true}");
        };
        let driver = &mut *driver;
        let now = driver.now();
        let report = if is_json(definitions) {
            match load_json(&mut driver.engine, now, definitions) {
                Ok(report) => report,
                Err(message) => {
                    let mut out = String::from(
                        "{\"accepted\":[],\"errors\":[{\"key\":\"\",\"path\":\"\",\"message\":",
                    );
                    push_json_str(&mut out, message);
                    out.push_str("}],\"warnings\":[],\"transitions\":[]}");
                    return out;
                }
            }
        } else {
            driver.engine.load_compiled(now, definitions)
        };
        driver.reads_context = driver.engine.reads_context();
        driver.loaded = true;
        let mut out = String::from("{");
        push_report(&mut out, &report);
        out.push_str(",\"transitions\":");
        out.push_str(&driver.drain());
        out.push('}');
        arm_timer(driver, now);
        queue_persist(driver);
        out
    }

    /// Feeds events built by the core, in call order: one event JSON per line (`!reset` for
    /// `reset()`), as UTF-8 bytes (the shim passes the bytes the core returned, undecoded).
    /// Returns the transitions they caused (a JSON array), or `undefined` when none: the
    /// common case then crosses back without a string to copy and decode.
    pub fn feed(&self, events: &[u8]) -> Option<String> {
        let events = std::str::from_utf8(events).ok()?;
        let mut driver = self.shared.try_borrow_mut().ok()?;
        let driver = &mut *driver;
        let now = driver.now();
        for line in crate::json::split_byte(events, b'\n') {
            driver.feed_one(now, line);
        }
        let json = driver.drain();
        arm_timer(driver, now);
        queue_persist(driver);
        (json.len() > 2).then_some(json)
    }

    /// A callback of the driver ran (`kind`: see `wake_kind`; `data`: a message's text).
    /// Returns the transitions it caused that no SDK call did (time, other tabs) as a JSON
    /// array, or `undefined`.
    pub fn wake(&self, kind: u8, data: Option<String>) -> Option<String> {
        match kind {
            wake_kind::PERSIST => {
                if let Ok(mut driver) = self.shared.try_borrow_mut() {
                    driver.persist();
                }
                None
            }
            wake_kind::TIMER | wake_kind::LIFECYCLE => {
                if kind == wake_kind::TIMER {
                    if let Ok(mut driver) = self.shared.try_borrow_mut() {
                        driver.timer = None;
                    }
                }
                reevaluate(&self.shared);
                None
            }
            wake_kind::COMMIT => commit(&self.shared),
            wake_kind::MESSAGE => on_broadcast(&self.shared, data.as_deref().unwrap_or("")),
            _ => None,
        }
    }

    /// `true` member, `false` not, `undefined` unknown or no such segment.
    #[wasm_bindgen(js_name = isMember)]
    pub fn is_member(&self, key: &str) -> Option<bool> {
        self.shared.try_borrow().ok()?.engine.is_member(key)
    }

    /// Reads the engine's state as JSON: `0` the keys of the segments the visitor is in now
    /// (an array), `1` `[{key, state, since}]` for every active definition, `2` the evaluated
    /// condition tree of segment `key` (`undefined` when there is none), `3` the membership of
    /// every segment whose state is known, as an object of key → `true`/`false`
    /// (`context.segments`). One multiplexed
    /// export instead of three: each export costs glue in the wasm and the JS.
    pub fn read(&self, what: u8, key: &str) -> Option<String> {
        let driver = self.shared.try_borrow().ok()?;
        match what {
            0 => Some(driver.members_value()),
            3 => Some(driver.members_json(true)),
            1 => {
                let mut out = String::from("[");
                for (i, status) in driver.engine.list().iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str("{\"key\":");
                    push_json_str(&mut out, status.key.as_str());
                    out.push_str(",\"state\":");
                    out.push_str(match status.state {
                        Some(true) => "true",
                        Some(false) => "false",
                        None => "null",
                    });
                    out.push_str(",\"since\":");
                    match status.since {
                        Some(t) => push_u64(&mut out, t.0),
                        None => out.push_str("null"),
                    }
                    out.push('}');
                }
                out.push(']');
                Some(out)
            }
            _ => Some(driver.engine.explain(key)?.to_json()),
        }
    }

    /// Demo builds only (`demo-clock` feature): moves this module's clock forward by `ms`
    /// and re-evaluates, as if that much time had passed.
    #[cfg(feature = "demo-clock")]
    #[wasm_bindgen(js_name = travel)]
    pub fn travel(&self, ms: f64) {
        if let Ok(mut driver) = self.shared.try_borrow_mut() {
            if ms.is_finite() && ms > 0.0 {
                driver.clock_offset = driver.clock_offset.saturating_add(ms as u64);
            }
        }
        reevaluate(&self.shared);
    }
}
