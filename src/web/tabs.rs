//! Sharing the persisted queue between tabs: reading the queue's localStorage keys for a
//! scan, and Web Locks (`navigator.locks`) for holding this tab's lock and claiming the
//! events of closed tabs. Does I/O. Every call is fallible and never throws into wasm.

use std::rc::Rc;

use std::cell::Cell;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::storage::{local_get, local_key};
use super::{clock, pump, Shared, Thenable};

#[wasm_bindgen]
extern "C" {
    /// `navigator.locks`.
    type LockManager;
    #[wasm_bindgen(method, catch, js_name = request)]
    fn request_with(this: &LockManager, name: &str, options: &JsValue, callback: &JsValue) -> Result<Thenable, JsValue>;

    type Globals;
    /// `navigator.locks` (`None` when missing).
    #[wasm_bindgen(catch, static_method_of = Globals, js_class = navigator, getter = locks)]
    fn locks() -> Result<Option<LockManager>, JsValue>;
    /// The global `Boolean`.
    #[wasm_bindgen(static_method_of = Globals, js_class = globalThis, getter = Boolean)]
    fn boolean() -> JsValue;

    /// `new Promise(executor)`.
    #[wasm_bindgen(js_name = Promise)]
    type PromiseCtor;
    #[wasm_bindgen(constructor, js_class = "Promise")]
    fn new_promise(executor: &JsValue) -> PromiseCtor;
}

fn lock_manager() -> Option<LockManager> {
    Globals::locks().ok().flatten()
}

/// Whether Web Locks are available (else the core uses leases in localStorage).
pub(crate) fn locks_available() -> bool {
    lock_manager().is_some()
}

/// Swallows a rejected lock request (opaque origins reject with a SecurityError). The
/// global `Boolean` is a native function that ignores its argument: no closure to leak.
fn ignore_rejection(promise: &Thenable) {
    let _ = promise.then(&JsValue::UNDEFINED, &Globals::boolean());
}

/// Every `(key, value)` of localStorage whose key starts with `prefix`.
pub(crate) fn scan(prefix: &str) -> Vec<(String, String)> {
    let mut entries = Vec::new();
    // `key(i)` is null exactly from `length` on (nothing writes during the scan).
    let mut i = 0;
    while let Some(key) = local_key(i) {
        i += 1;
        if !key.starts_with(prefix) {
            continue;
        }
        if let Some(value) = local_get(&key) {
            entries.push((key, value));
        }
    }
    entries
}

/// Asks for this tab's own lock; once granted it is held until [`release_own`] resolves it
/// (or the tab ends). A lock that is no longer wanted when granted is let go at once.
pub(crate) fn hold_own(shared: &Shared, name: &str) {
    let Some(locks) = lock_manager() else { return };
    let weak = Rc::downgrade(shared);
    let granted = super::once(move |_lock: JsValue| -> JsValue {
        let Some(shared) = weak.upgrade() else { return JsValue::UNDEFINED };
        let Ok(mut driver) = shared.try_borrow_mut() else { return JsValue::UNDEFINED };
        driver.lock_requested = false;
        if !driver.lock_wanted {
            return JsValue::UNDEFINED;
        }
        // The executor runs synchronously inside `new Promise`: it hands `resolve` out.
        let release = Rc::new(Cell::new(None));
        let slot = Rc::clone(&release);
        let held = PromiseCtor::new_promise(&super::once(move |resolve: JsValue| {
            slot.set(Some(resolve.unchecked_into::<js_sys::Function>()));
            JsValue::UNDEFINED
        }));
        driver.lock_release = release.take();
        held.into()
    });
    // No options: `undefined` is the default (empty) options dictionary, and one
    // `request` import serves both calls.
    if let Ok(promise) = locks.request_with(name, &JsValue::UNDEFINED, &granted) {
        ignore_rejection(&promise);
    }
}

/// Lets go of this tab's own lock, if held.
pub(crate) fn release_own(release: Option<js_sys::Function>) {
    if let Some(resolve) = release {
        // resolve(undefined): `call3` is the import the notices already use (one fewer).
        let u = &JsValue::UNDEFINED;
        let _ = resolve.call3(u, u, u, u);
    }
}

/// Tries to take the lock of tab `tab` without waiting. When granted, that tab is gone: its
/// keys are read again and handed to the core, whose writes (adoption) are applied before
/// the lock is let go.
pub(crate) fn claim(shared: &Shared, prefix: &str, tab: String) {
    let Some(locks) = lock_manager() else { return };
    let name = crate::json::concat(&[prefix, tab.as_str()]);
    let weak = Rc::downgrade(shared);
    let prefix = prefix.to_owned();
    let granted = super::once(move |lock: JsValue| {
        // Null: held, that tab is alive.
        if !lock.is_null() {
            if let Some(shared) = weak.upgrade() {
                let entries = scan(&prefix);
                if let Ok(mut driver) = shared.try_borrow_mut() {
                    driver.core.handle_claimed(clock::now(), &tab, &entries);
                }
                pump(&shared);
            }
        }
        JsValue::UNDEFINED
    });
    let options = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&options, &JsValue::from_str("ifAvailable"), &JsValue::TRUE);
    if let Ok(promise) = locks.request_with(&name, &options, &granted) {
        ignore_rejection(&promise);
    }
}
