//! The web driver: the only code that does I/O. It owns the core, the clock, cookies,
//! localStorage, fetch, the timer and page lifecycle listeners, and runs the core's polling
//! protocol after every input. It never calls user JS while the core is borrowed: notices
//! are collected first and handed to the shim's callback afterwards.

// The segments wasm (web-segments without web-core) leaves the core driver unused.
#![cfg_attr(not(feature = "web-core"), allow(dead_code))]

#[cfg(feature = "web-core")]
mod bindings;
mod clock;
mod env;
#[cfg(feature = "web-segments")]
mod segments;
mod storage;
mod transport;

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use gloo_timers::callback::Timeout;
use wasm_bindgen::prelude::*;

use crate::core::delivery::{BatchId, Notice, SendOutcome};
use crate::core::time::Millis;
use crate::core::Analytics;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = warn)]
    fn console_warn(message: &str);
}

/// The longest single timer; longer deadlines are re-armed.
const MAX_TIMER_MS: u64 = 86_400_000;

pub(crate) struct Driver {
    core: Analytics,
    cookie_domain: Option<String>,
    /// The armed timer and its deadline.
    timer: Option<(Millis, Timeout)>,
    /// A fired timer, kept until the next arm: dropping it inside its own callback is not
    /// allowed by wasm-bindgen.
    retired_timer: Option<Timeout>,
    storage_warned: bool,
    on_notice: js_sys::Function,
}

pub(crate) type Shared = Rc<RefCell<Driver>>;

impl Driver {
    pub(crate) fn new(core: Analytics, on_notice: js_sys::Function) -> Driver {
        let cookie_domain = if core.config().stores.cookie { storage::cookie_domain(&core.config().cookie) } else { None };
        Driver { core, cookie_domain, timer: None, retired_timer: None, storage_warned: false, on_notice }
    }
}

/// Runs the core's polling protocol: storage writes, requests, timer, then notices.
pub(crate) fn pump(shared: &Shared) {
    let now = clock::now();
    let (sends, notices, on_notice) = {
        let Ok(mut driver) = shared.try_borrow_mut() else { return };
        let driver = &mut *driver;
        while let Some(write) = driver.core.poll_storage_write() {
            let ok = storage::apply(&write, &driver.core.config().cookie, driver.cookie_domain.as_deref());
            if !ok && !driver.storage_warned {
                driver.storage_warned = true;
                console_warn("[sieve] storage is unavailable (blocked or full); identity is kept in memory for this page");
            }
        }
        let mut sends = Vec::new();
        while let Some(transmit) = driver.core.poll_transmit(now) {
            sends.push(transmit);
        }
        arm_timer(driver, shared, now);
        let mut notices = Vec::new();
        while let Some(notice) = driver.core.poll_notice() {
            notices.push(notice);
        }
        (sends, notices, driver.on_notice.clone())
    };
    for transmit in sends {
        let weak = Rc::downgrade(shared);
        let id = transmit.id;
        transport::send(&transmit, move |outcome| on_outcome(&weak, id, outcome));
    }
    deliver_notices(&on_notice, notices);
}

fn deliver_notices(on_notice: &js_sys::Function, notices: Vec<Notice>) {
    for notice in notices {
        // The shim's handler isolates user callbacks; a throw here is ignored.
        let _ = on_notice.call3(
            &JsValue::NULL,
            &JsValue::from_str(notice.code),
            &JsValue::from_str(&notice.reason),
            &JsValue::from_f64(notice.count as f64),
        );
    }
}

fn on_outcome(weak: &Weak<RefCell<Driver>>, id: BatchId, outcome: SendOutcome) {
    let Some(shared) = weak.upgrade() else { return };
    if let Ok(mut driver) = shared.try_borrow_mut() {
        driver.core.handle_send_outcome(clock::now(), id, &outcome);
    }
    pump(&shared);
}

fn arm_timer(driver: &mut Driver, shared: &Shared, now: Millis) {
    let deadline = driver.core.poll_timeout();
    if driver.timer.as_ref().map(|(d, _)| *d) == deadline {
        return;
    }
    if let Some((_, old)) = driver.timer.take() {
        old.cancel();
    }
    let Some(deadline) = deadline else { return };
    let delay = deadline.since(now).min(MAX_TIMER_MS);
    let weak = Rc::downgrade(shared);
    let timeout = Timeout::new(delay as u32, move || {
        let Some(shared) = weak.upgrade() else { return };
        if let Ok(mut driver) = shared.try_borrow_mut() {
            driver.retired_timer = driver.timer.take().map(|(_, t)| t);
            driver.core.handle_timeout(clock::now());
        }
        pump(&shared);
    });
    driver.timer = Some((deadline, timeout));
}
