//! Page lifecycle and connectivity for delivery: `pagehide` / `visibilitychange` (send what
//! is queued with keepalive) and `online` / `offline` (pause and resume), plus the driver's
//! start-up (open the persisted queue, read `navigator.onLine`). Each of these events runs
//! the driver's I/O task at once (the queue is on disk before a hidden page can be
//! discarded). Does I/O.

use wasm_bindgen::prelude::*;

use super::{clock, pump, run_io_task, tabs, wake_on, Shared, Wake};
use crate::core::persisted::Claims;

// The listeners and the event → change mapping in one inline-JS import: the callback gets
// 0 online, 1 offline, 2 hidden (`pagehide`, or `visibilitychange` to hidden), 3 visible,
// and answers the callback for the next change (one-shot callbacks, see `super::wake_on`).
// Answers `navigator.onLine` (true when unknown).
#[wasm_bindgen(inline_js = "export function sieve_listen(on){\
const t=g=>{try{return g()}catch(e){}},h=e=>{const k=e.type;\
on=on&&on(k=='online'?0:k=='offline'?1:k=='pagehide'||t(()=>document.hidden)?2:3)};\
for(const k of['pagehide','online','offline'])t(()=>addEventListener(k,h));\
t(()=>document.addEventListener('visibilitychange',h));return t(()=>navigator.onLine)!==!1}")]
extern "C" {
    fn sieve_listen(on_change: &JsValue) -> bool;
}

/// Opens the persisted queue (Web Locks when available, else leases), reads the online
/// state, listens for lifecycle events and runs the first pump (which scans for events left
/// by earlier pages).
pub(crate) fn start(shared: &Shared) {
    let claims = if tabs::locks_available() {
        Claims::Locks
    } else {
        Claims::Lease
    };
    // `pagehide` and `visibilitychange` → hidden send everything now (keepalive); visible
    // again returns to normal batching. `offline` pauses sending, `online` resumes it at
    // once. The listeners live as long as the page.
    let online = sieve_listen(&wake_on(shared, Wake::Lifecycle).0);
    if let Ok(mut driver) = shared.try_borrow_mut() {
        driver.core.handle_queue_open(clock::now(), claims);
        if !online {
            driver.core.handle_online(false);
        }
    }
    pump(shared);
}

/// A lifecycle change (the code `sieve_listen` hands its callback) reaches the core, then
/// the driver runs its I/O task.
pub(crate) fn changed(shared: &Shared, change: JsValue) {
    if let Ok(mut driver) = shared.try_borrow_mut() {
        match change.as_f64().map_or(3, |n| n as u8) {
            0 => driver.core.handle_online(true),
            1 => driver.core.handle_online(false),
            2 => driver.core.handle_page_hide(),
            _ => driver.core.handle_page_show(),
        }
    }
    // Not waiting for a queued I/O task: a hidden page may never run another task.
    run_io_task(shared);
}
