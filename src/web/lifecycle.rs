//! Page lifecycle and connectivity for delivery: `pagehide` / `visibilitychange` (send what
//! is queued with keepalive) and `online` / `offline` (pause and resume), plus the driver's
//! start-up (open the persisted queue, read `navigator.onLine`). Does I/O.

use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;

use super::{clock, pump, tabs, Shared};
use crate::core::delivery::Claims;

// The listeners and the event → change mapping in one inline-JS import: `on(change)` gets
// 0 online, 1 offline, 2 hidden (`pagehide`, or `visibilitychange` to hidden), 3 visible.
// Answers `navigator.onLine` (true when unknown).
#[wasm_bindgen(inline_js = "export function sieve_listen(on){\
const t=g=>{try{return g()}catch(e){}},h=e=>{const k=e.type;\
on(k=='online'?0:k=='offline'?1:k=='pagehide'||t(()=>document.hidden)?2:3)};\
for(const k of['pagehide','online','offline'])t(()=>addEventListener(k,h));\
t(()=>document.addEventListener('visibilitychange',h));return t(()=>navigator.onLine)!==!1}")]
extern "C" {
    fn sieve_listen(on_change: &JsValue) -> bool;
}

/// Opens the persisted queue (Web Locks when available, else leases), reads the online
/// state, listens for lifecycle events and runs the first pump (which scans for events left
/// by earlier pages).
pub(crate) fn start(shared: &Shared) {
    let claims = if tabs::locks_available() { Claims::Locks } else { Claims::Lease };
    let online = listen(shared);
    if let Ok(mut driver) = shared.try_borrow_mut() {
        driver.core.handle_queue_open(clock::now(), claims);
        if !online {
            driver.core.handle_online(false);
        }
    }
    pump(shared);
}

/// `pagehide` and `visibilitychange` → hidden send everything now (keepalive); visible again
/// returns to normal batching. `offline` pauses sending, `online` resumes it at once. The
/// listeners live as long as the page. Returns `navigator.onLine`.
fn listen(shared: &Shared) -> bool {
    let weak = Rc::downgrade(shared);
    // The one closure signature of `super::once`, kept for the page's lifetime.
    let handler = Closure::<dyn FnMut(JsValue) -> JsValue>::new(move |change: JsValue| {
        let Some(shared) = weak.upgrade() else { return JsValue::UNDEFINED };
        if let Ok(mut driver) = shared.try_borrow_mut() {
            match change.as_f64().map_or(3, |n| n as u8) {
                0 => driver.core.handle_online(true),
                1 => driver.core.handle_online(false),
                2 => driver.core.handle_page_hide(),
                _ => driver.core.handle_page_show(),
            }
        }
        pump(&shared);
        JsValue::UNDEFINED
    });
    let online = sieve_listen(handler.as_ref());
    handler.forget();
    online
}
