//! The web driver: the only code that does I/O. It owns the core, the clock, cookies,
//! localStorage, fetch, the timer and page lifecycle listeners, and runs the core's polling
//! protocol after every input. It never calls user JS while the core is borrowed: notices
//! are collected first and handed to the shim's callback afterwards.

// The segments wasm (web-segments without web-core) leaves the core driver unused.
#![cfg_attr(not(feature = "web-core"), allow(dead_code))]

mod alloc;
#[cfg(feature = "web-core")]
mod bindings;
mod clock;
mod env;
mod lifecycle;
#[cfg(feature = "web-segments")]
mod segments;
mod storage;
mod tabs;
mod transport;

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

use crate::core::delivery::{BatchId, Notice};
use crate::core::identity::Store;
use crate::core::persisted::Query;
use crate::core::time::Millis;
use crate::core::Analytics;

// `f(a, b, n)`, a throw ignored: the strings cross as UTF-8 (no JS string objects to make
// and free in the wasm), and it serves both the notices and the lock release.
#[wasm_bindgen(inline_js = "export function sieve_call(f,a,b,n){try{f(a,b,n)}catch(e){}}")]
extern "C" {
    pub(crate) fn sieve_call(f: &JsValue, a: &str, b: &str, n: f64);
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = warn)]
    fn console_warn(message: &str);
    #[wasm_bindgen(js_name = setTimeout)]
    /// The timer id is a number in browsers: kept as `f64`, not as a JS object reference.
    fn set_timeout(handler: &JsValue, ms: u32) -> f64;
    #[wasm_bindgen(js_name = clearTimeout)]
    pub(crate) fn clear_timeout(id: f64);
}

/// What a one-shot callback handed to JS wakes the driver for.
pub(crate) enum Wake {
    /// The I/O task (see [`pump_after_call`]).
    Io,
    /// The timer.
    Timer,
    /// The answer of request `.0` (see `transport::send`).
    Sent(BatchId),
    /// A claim on the lock of tab `.1` (queue prefix `.0`) was answered (see `tabs::claim`).
    Claimed(String, String),
    /// This tab's own lock was granted (see `tabs::hold_own`).
    Held,
    /// A page lifecycle or connectivity change (see `lifecycle::start`); answers the
    /// callback for the next one.
    Lifecycle,
}

// `(value) => wake(token, value)`: the one-shot callbacks JS gets are plain JS functions
// around the exported `wake` (no Rust closures: their invoke shims, drop glue and JS-side
// wrappers cost ~1 KB gzip in the wasm and the glue).
#[wasm_bindgen(inline_js = "export function sieve_cb(w,t){return v=>w(t,v)}")]
extern "C" {
    fn sieve_cb(wake: &JsValue, token: u32) -> JsValue;
}

/// The callbacks handed to JS and not called yet: token → the driver and what it wakes for.
struct Pending {
    /// The exported `wake` function (handed over by the shim with the first instance).
    wake: Option<JsValue>,
    slots: Vec<Option<(Shared, Wake)>>,
}

/// [`Pending`] as a global: the wasm32 build has no threads, so nothing shares it.
struct PendingCell(RefCell<Pending>);
// SAFETY: wasm32-unknown-unknown without the atomics feature runs on one thread.
unsafe impl Sync for PendingCell {}

static PENDING: PendingCell = PendingCell(RefCell::new(Pending {
    wake: None,
    slots: Vec::new(),
}));

/// Keeps the exported `wake` function for [`wake_on`] (the first instance hands it over).
pub(crate) fn set_wake_fn(wake: JsValue) {
    if let Ok(mut pending) = PENDING.0.try_borrow_mut() {
        pending.wake.get_or_insert(wake);
    }
}

/// A one-shot callback `(value) => value` that hands `value` to the driver with `wake`: a
/// token into [`PENDING`], taken by the call ([`take_wake`]); a callback JS may never call
/// (the timer's, when cleared) is given back with [`forget_wake`].
pub(crate) fn wake_on(shared: &Shared, wake: Wake) -> (JsValue, u32) {
    let Ok(mut pending) = PENDING.0.try_borrow_mut() else {
        return (JsValue::UNDEFINED, u32::MAX);
    };
    let entry = Some((*shared, wake));
    let free = pending.slots.iter().position(Option::is_none);
    let token = match free.and_then(|i| Some((i, pending.slots.get_mut(i)?))) {
        Some((i, slot)) => {
            *slot = entry;
            i
        }
        None => {
            pending.slots.push(entry);
            pending.slots.len() - 1
        }
    };
    let token = token as u32;
    let callback = pending
        .wake
        .as_ref()
        .map_or(JsValue::UNDEFINED, |w| sieve_cb(w, token));
    (callback, token)
}

/// The callback of `token` was called: what it wakes (`None` when already taken).
pub(crate) fn take_wake(token: u32) -> Option<(Shared, Wake)> {
    let mut pending = PENDING.0.try_borrow_mut().ok()?;
    pending.slots.get_mut(token as usize)?.take()
}

/// The callback of `token` will not be called (its timer was cleared).
fn forget_wake(token: u32) {
    take_wake(token);
}

/// Runs a [`Wake`]: the core hears about it, then the driver pumps.
pub(crate) fn on_wake(shared: Shared, wake: Wake, value: JsValue) -> JsValue {
    let entries = match &wake {
        Wake::Held => return tabs::held(&shared, value),
        // Null: that tab holds its lock (it is alive).
        Wake::Claimed(..) if value.is_null() => return JsValue::UNDEFINED,
        Wake::Claimed(prefix, _) => tabs::scan(prefix),
        Wake::Lifecycle => {
            lifecycle::changed(&shared, value);
            return wake_on(&shared, Wake::Lifecycle).0;
        }
        Wake::Io => {
            run_io_task(&shared);
            return JsValue::UNDEFINED;
        }
        _ => Vec::new(),
    };
    if let Ok(mut driver) = shared.try_borrow_mut() {
        let now = clock::now();
        match wake {
            Wake::Timer => {
                driver.timer = None;
                driver.core.handle_timeout(now);
            }
            Wake::Sent(id) => match transport::answer(value) {
                transport::Sent::Outcome(outcome) => {
                    driver.core.handle_send_outcome(now, id, &outcome)
                }
                transport::Sent::Beacon => driver.core.handle_beacon_sent(id),
            },
            Wake::Claimed(_, tab) => driver.core.handle_claimed(now, &tab, &entries),
            Wake::Held | Wake::Lifecycle | Wake::Io => {}
        }
    }
    pump(&shared);
    JsValue::UNDEFINED
}

/// The allocator of both wasm modules (the script tag's and the segment engine's).
#[global_allocator]
static ALLOC: alloc::Global = alloc::Global::new();

/// The longest single timer; longer deadlines are re-armed.
const MAX_TIMER_MS: u64 = 86_400_000;

pub(crate) struct Driver {
    core: Analytics,
    cookie_domain: Option<String>,
    /// The armed timer: its deadline, `setTimeout` id and wake token.
    timer: Option<(Millis, f64, u32)>,
    storage_warned: bool,
    on_notice: js_sys::Function,
    /// The I/O task is queued (at most one at a time): see [`pump_after_call`].
    io_task_queued: bool,
    /// The core wants this tab's Web Lock held.
    lock_wanted: bool,
    /// A request for this tab's lock is waiting to be granted.
    lock_requested: bool,
    /// Resolving this lets go of this tab's lock (`Some` while held).
    lock_release: Option<js_sys::Function>,
}

/// The driver of one instance: leaked when it is made (see `AnalyticsWasm::new`).
pub(crate) type Shared = &'static RefCell<Driver>;

impl Driver {
    pub(crate) fn new(core: Analytics, on_notice: js_sys::Function) -> Driver {
        let cookie_domain = if core.config().stores.cookie {
            storage::cookie_domain(&core.config().cookie)
        } else {
            None
        };
        Driver {
            core,
            cookie_domain,
            timer: None,
            storage_warned: false,
            on_notice,
            io_task_queued: false,
            lock_wanted: false,
            lock_requested: false,
            lock_release: None,
        }
    }
}

/// Runs the core's polling protocol: queries (storage scans, locks), storage writes,
/// requests, timer, then notices; and queues the I/O task when the core has events to
/// persist.
pub(crate) fn pump(shared: &Shared) {
    pump_with(shared, false, clock::now());
}

/// [`pump`] after an API call made at `now`: identity's storage writes happen now; requests,
/// the timer, notices and the queue's persistence wait for the I/O task, queued with
/// `setTimeout(0)` so it runs right after the caller's task (one task for a burst of calls,
/// whose notices of one kind become one) and the caller's task stays short. `pagehide` and
/// `visibilitychange` to hidden run it at once (see `lifecycle.rs`), so an unloading page
/// still has its events on disk.
pub(crate) fn pump_after_call(shared: &Shared, now: Millis) {
    pump_with(shared, true, now);
}

/// The I/O task: the end of the turn (events accepted since become one segment write),
/// then a full [`pump`].
pub(crate) fn run_io_task(shared: &Shared) {
    if let Ok(mut driver) = shared.try_borrow_mut() {
        driver.io_task_queued = false;
        if driver.core.needs_turn_end() {
            driver.core.handle_turn_end(clock::now());
        }
    }
    pump(shared);
}

fn pump_with(shared: &Shared, after_call: bool, now: Millis) {
    let (sends, notices, on_notice, claims) = {
        let Ok(mut driver) = shared.try_borrow_mut() else {
            return;
        };
        let driver = &mut *driver;
        let mut claims = Vec::new();
        loop {
            let mut progressed = false;
            while let Some(query) = driver.core.poll_query() {
                progressed = true;
                run_query(driver, shared, now, query, &mut claims);
            }
            while let Some(write) = driver.core.poll_storage_write() {
                progressed = true;
                let ok = storage::apply(
                    &write,
                    &driver.core.config().cookie,
                    driver.cookie_domain.as_deref(),
                );
                if !ok {
                    let queue_key = driver
                        .core
                        .queue_prefix()
                        .is_some_and(|p| write.key.starts_with(p));
                    if write.store == Store::Local && queue_key {
                        driver.core.handle_storage_failed();
                    }
                    if !driver.storage_warned {
                        driver.storage_warned = true;
                        console_warn("[sieve] storage is unavailable (blocked or full); identity and the delivery queue are kept in memory for this page");
                    }
                }
            }
            if !progressed {
                break;
            }
        }
        if (after_call || driver.core.needs_turn_end()) && !driver.io_task_queued {
            driver.io_task_queued = true;
            set_timeout(&wake_on(shared, Wake::Io).0, 0);
        }
        let mut sends = Vec::new();
        if !after_call {
            while let Some(transmit) = driver.core.poll_transmit(now) {
                sends.push(transmit);
            }
            arm_timer(driver, shared, now);
        }
        // Notices wait for the I/O task after a call: drops in a burst of calls become one.
        let mut notices = Vec::new();
        if !after_call {
            while let Some(notice) = driver.core.poll_notice() {
                notices.push(notice);
            }
        }
        // The handler is cloned (an externref table slot) only when there is something to say.
        let on_notice = (!notices.is_empty()).then(|| driver.on_notice.clone());
        (sends, notices, on_notice, claims)
    };
    if let Some(prefix) = claims.first().map(|(p, _)| p.clone()) {
        for (_, tab) in claims {
            tabs::claim(shared, &prefix, tab);
        }
    }
    for transmit in sends {
        transport::send(&transmit, &wake_on(shared, Wake::Sent(transmit.id)).0);
    }
    if let Some(on_notice) = on_notice {
        deliver_notices(&on_notice, notices);
    }
}

/// Runs one core query: scans at once; lock requests as asked (claims are started after the
/// borrow is released, their grants arrive as later tasks).
fn run_query(
    driver: &mut Driver,
    shared: &Shared,
    now: Millis,
    query: Query,
    claims: &mut Vec<(String, String)>,
) {
    let Some(prefix) = driver.core.queue_prefix().map(str::to_owned) else {
        return;
    };
    match query {
        Query::Scan => {
            let entries = tabs::scan(&prefix);
            driver.core.handle_storage_scan(now, &entries);
        }
        Query::Claim(tab) => claims.push((prefix, tab)),
        Query::HoldLock(true) => {
            driver.lock_wanted = true;
            if !driver.lock_requested && driver.lock_release.is_none() {
                driver.lock_requested = true;
                let name =
                    crate::json::concat(&[prefix.as_str(), driver.core.queue_tab().unwrap_or("")]);
                tabs::hold_own(shared, &name);
            }
        }
        Query::HoldLock(false) => {
            driver.lock_wanted = false;
            tabs::release_own(driver.lock_release.take());
        }
    }
}

fn deliver_notices(on_notice: &js_sys::Function, notices: Vec<Notice>) {
    for notice in notices {
        // The shim's handler isolates user callbacks; a throw here is ignored.
        sieve_call(on_notice, notice.code, &notice.reason, notice.count as f64);
    }
}

fn arm_timer(driver: &mut Driver, shared: &Shared, now: Millis) {
    let deadline = driver.core.poll_timeout();
    if driver.timer.as_ref().map(|(d, ..)| *d) == deadline {
        return;
    }
    if let Some((_, old, token)) = driver.timer.take() {
        clear_timeout(old);
        forget_wake(token);
    }
    let Some(deadline) = deadline else { return };
    let delay = deadline.since(now).min(MAX_TIMER_MS);
    let (callback, token) = wake_on(shared, Wake::Timer);
    driver.timer = Some((deadline, set_timeout(&callback, delay as u32), token));
}
