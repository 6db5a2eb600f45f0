//! Sharing the persisted queue between tabs: reading the queue's localStorage keys for a
//! scan, and Web Locks (`navigator.locks`) for holding this tab's lock and claiming the
//! events of closed tabs. Does I/O. Every call is fallible and never throws into wasm.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::storage::{local_get, local_key};
use super::{wake_on, LockClaim, Shared, Wake};

// Web Locks in one inline-JS import. `sieve_lock(name, ifAvailable, granted)` requests the
// lock (`ifAvailable`: without waiting) and answers whether `navigator.locks` exists; with
// no `granted` it only answers that. `granted(release)` runs once: `release` is null when
// the lock was not available, else a function that lets go of it; when `granted` answers
// true the lock is held until `release()`, else it is let go at once. A rejected request
// (opaque origins reject with a SecurityError) is swallowed.
#[wasm_bindgen(inline_js = "export function sieve_lock(n,a,g){\
const t=f=>{try{return f()}catch(e){}},l=t(()=>navigator.locks);if(!l||!g)return!!l;\
t(()=>l.request(n,a?{ifAvailable:!0}:{},x=>{let r;const p=new Promise(s=>r=s);return g(x===null?null:r)?p:void 0}).catch(()=>{}));return!0}")]
extern "C" {
    fn sieve_lock(name: &str, if_available: bool, granted: &JsValue) -> bool;
}

/// Whether Web Locks are available (else the core uses leases in localStorage).
pub(crate) fn locks_available() -> bool {
    sieve_lock("", false, &JsValue::NULL)
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

/// Asks for this tab's own lock; once granted ([`held`]) it is held until [`release_own`]
/// resolves it (or the tab ends).
pub(crate) fn hold_own(shared: &Shared, name: &str) {
    sieve_lock(name, false, &wake_on(shared, Wake::Held).0);
}

/// This tab's own lock was granted: kept with its `release` while still wanted (answers
/// true), else let go at once.
pub(crate) fn held(shared: &Shared, release: JsValue) -> JsValue {
    let Ok(mut driver) = shared.try_borrow_mut() else {
        return JsValue::UNDEFINED;
    };
    driver.io.lock_requested = false;
    if !driver.io.lock_wanted {
        return JsValue::UNDEFINED;
    }
    driver.io.lock_release = Some(release.unchecked_into());
    JsValue::TRUE
}

/// Lets go of this tab's own lock, if held.
pub(crate) fn release_own(release: Option<js_sys::Function>) {
    if let Some(resolve) = release {
        // resolve(""): the held promise's value is never read; `sieve_call` is the import
        // the notices already use (one fewer).
        super::sieve_call(&resolve, "", "", 0.0);
    }
}

/// Tries to take another tab's lock without waiting. When granted, that tab is gone: its
/// keys are read again and handed to the core, whose writes (adoption) are applied before
/// the lock is let go.
pub(crate) fn claim(shared: &Shared, claim: LockClaim) {
    let name = crate::json::concat(&[claim.prefix.as_str(), claim.tab.as_str()]);
    sieve_lock(&name, true, &wake_on(shared, Wake::Claimed(claim)).0);
}
