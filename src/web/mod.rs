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
#[cfg(feature = "web-destinations")]
mod destinations;
mod env;
mod lifecycle;
#[cfg(feature = "web-segments")]
mod segments;
mod storage;
mod tabs;
mod transport;

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

use crate::core::config::CookieConfig;
use crate::core::delivery::{BatchId, Notice, Transmit};
use crate::core::identity::StorageWrite;
use crate::core::pump::{Host, Stage};
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

/// A claim on the lock of tab `tab` of the queue under `prefix` (the lock is `prefix + tab`).
pub(crate) struct LockClaim {
    pub(crate) prefix: String,
    pub(crate) tab: String,
}

/// What a one-shot callback handed to JS wakes the driver for.
pub(crate) enum Wake {
    /// The I/O task (see [`pump_after_call`]).
    Io,
    /// The timer.
    Timer,
    /// The answer of request `.0` (see `transport::send`).
    Sent(BatchId),
    /// A claim on another tab's lock was answered (see `tabs::claim`).
    Claimed(LockClaim),
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
        Wake::Claimed(claim) => tabs::scan(&claim.prefix),
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
                driver.io.timer = None;
                driver.core.handle_timeout(now);
            }
            Wake::Sent(id) => match transport::answer(value) {
                transport::Sent::Outcome(outcome) => {
                    driver.core.handle_send_outcome(now, id, &outcome)
                }
                transport::Sent::Beacon => driver.core.handle_beacon_sent(id),
            },
            Wake::Claimed(claim) => driver.core.handle_claimed(now, &claim.tab, &entries),
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

/// The driver of one instance: the core, and what the driver keeps beside it.
pub(crate) struct Driver {
    pub(crate) core: Analytics,
    pub(crate) io: DriverIo,
}

/// The armed timer.
struct ArmedTimer {
    deadline: Millis,
    /// The `setTimeout` id.
    handle: f64,
    /// Its callback's wake token.
    token: u32,
}

/// The driver's own state (the part the core's [`Host`] reaches while the core is pumped).
pub(crate) struct DriverIo {
    cookie_domain: Option<String>,
    timer: Option<ArmedTimer>,
    storage_warned: bool,
    on_notice: js_sys::Function,
    /// The I/O task is queued (at most one at a time): see [`pump_after_call`].
    io_task_queued: bool,
    /// The core wants this tab's Web Lock held.
    pub(crate) lock_wanted: bool,
    /// A request for this tab's lock is waiting to be granted.
    pub(crate) lock_requested: bool,
    /// Resolving this lets go of this tab's lock (`Some` while held).
    pub(crate) lock_release: Option<js_sys::Function>,
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
            io: DriverIo {
                cookie_domain,
                timer: None,
                storage_warned: false,
                on_notice,
                io_task_queued: false,
                lock_wanted: false,
                lock_requested: false,
                lock_release: None,
            },
        }
    }
}

/// Runs the core's polling protocol after an input that is not an API call (a response, the
/// timer, a lock, a `get` or `command`).
pub(crate) fn pump(shared: &Shared) {
    pump_with(shared, Stage::Input, clock::now());
}

/// [`pump`] after an API call made at `now`: identity's storage writes happen now; requests,
/// the timer, notices and the queue's persistence wait for the I/O task, queued with
/// `setTimeout(0)` so it runs right after the caller's task (one task for a burst of calls,
/// whose notices of one kind become one) and the caller's task stays short. `pagehide` and
/// `visibilitychange` to hidden run it at once (see `lifecycle.rs`), so a page that is going
/// away still has its events on disk.
pub(crate) fn pump_after_call(shared: &Shared, now: Millis) {
    pump_with(shared, Stage::Call, now);
}

/// The I/O task: the end of the turn (events accepted since become chunk writes), then the
/// whole protocol.
pub(crate) fn run_io_task(shared: &Shared) {
    if let Ok(mut driver) = shared.try_borrow_mut() {
        driver.io.io_task_queued = false;
    }
    pump_with(shared, Stage::IoTask, clock::now());
}

/// The web driver as the core's [`Host`]. Lock claims, requests and notices are collected
/// and carried out after the core is released: their callbacks (a synchronous beacon answer,
/// the shim's notice handler) may reach the core again.
struct WebHost<'a> {
    io: &'a mut DriverIo,
    shared: &'a Shared,
    now: Millis,
    claims: Vec<LockClaim>,
    sends: Vec<Transmit>,
    notices: Vec<Notice>,
}

impl Host for WebHost<'_> {
    fn scan(&mut self, prefix: &str) -> Vec<(String, String)> {
        tabs::scan(prefix)
    }

    fn write(&mut self, write: &StorageWrite, cookie: &CookieConfig) -> bool {
        let ok = storage::apply(write, cookie, self.io.cookie_domain.as_deref());
        if !ok && !self.io.storage_warned {
            self.io.storage_warned = true;
            console_warn("[sieve] storage is unavailable (blocked or full); identity and the delivery queue are kept in memory for this page");
        }
        ok
    }

    fn claim(&mut self, prefix: &str, tab: &str) {
        self.claims.push(LockClaim {
            prefix: prefix.to_owned(),
            tab: tab.to_owned(),
        });
    }

    fn hold_lock(&mut self, name: &str, hold: bool) {
        self.io.lock_wanted = hold;
        if !hold {
            tabs::release_own(self.io.lock_release.take());
        } else if !self.io.lock_requested && self.io.lock_release.is_none() {
            self.io.lock_requested = true;
            tabs::hold_own(self.shared, name);
        }
    }

    fn send(&mut self, transmit: Transmit) {
        self.sends.push(transmit);
    }

    fn notice(&mut self, notice: Notice) {
        self.notices.push(notice);
    }

    fn set_timer(&mut self, deadline: Option<Millis>) {
        if self.io.timer.as_ref().map(|t| t.deadline) == deadline {
            return;
        }
        if let Some(old) = self.io.timer.take() {
            clear_timeout(old.handle);
            forget_wake(old.token);
        }
        let Some(deadline) = deadline else { return };
        let delay = deadline.since(self.now).min(MAX_TIMER_MS);
        let (callback, token) = wake_on(self.shared, Wake::Timer);
        self.io.timer = Some(ArmedTimer {
            deadline,
            handle: set_timeout(&callback, delay as u32),
            token,
        });
    }
}

/// Runs the core's polling protocol ([`Analytics::pump`]) with the driver as its host, queues
/// the I/O task when the core asks for it, then (the core released) starts lock claims, sends
/// requests and hands notices to the shim.
fn pump_with(shared: &Shared, stage: Stage, now: Millis) {
    let (claims, sends, notices, on_notice) = {
        let Ok(mut driver) = shared.try_borrow_mut() else {
            return;
        };
        let Driver { core, io } = &mut *driver;
        let mut host = WebHost {
            io,
            shared,
            now,
            claims: Vec::new(),
            sends: Vec::new(),
            notices: Vec::new(),
        };
        if core.pump(now, &mut host, stage) && !host.io.io_task_queued {
            host.io.io_task_queued = true;
            set_timeout(&wake_on(shared, Wake::Io).0, 0);
        }
        // The handler is cloned (an externref table slot) only when there is something to say.
        let on_notice = (!host.notices.is_empty()).then(|| host.io.on_notice.clone());
        (host.claims, host.sends, host.notices, on_notice)
    };
    for claim in claims {
        tabs::claim(shared, claim);
    }
    for transmit in sends {
        transport::send(&transmit, &wake_on(shared, Wake::Sent(transmit.id)).0);
    }
    if let Some(on_notice) = on_notice {
        for notice in notices {
            // The shim's handler isolates user callbacks; a throw here is ignored.
            sieve_call(&on_notice, notice.code, &notice.reason, notice.count as f64);
        }
    }
}
