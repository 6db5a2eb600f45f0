//! Page lifecycle and connectivity for delivery: `pagehide` / `visibilitychange` (send what
//! is queued with keepalive) and `online` / `offline` (pause and resume), plus the driver's
//! start-up (open the persisted queue, read `navigator.onLine`). Each of these events runs
//! the driver's I/O task at once (the queue is on disk before a hidden page can be
//! discarded). Does I/O.

use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::{clock, pump, run_io_task, tabs, Shared};
use crate::core::delivery::Claims;

#[wasm_bindgen]
extern "C" {
    type Globals;
    #[wasm_bindgen(catch, static_method_of = Globals, js_class = navigator, getter = onLine)]
    fn on_line() -> Result<bool, JsValue>;
    #[wasm_bindgen(catch, static_method_of = Globals, js_class = document, getter = hidden)]
    fn hidden() -> Result<bool, JsValue>;
    /// `addEventListener` of the global scope (the window).
    #[wasm_bindgen(catch, js_name = addEventListener)]
    fn listen_window(kind: &str, listener: &JsValue) -> Result<(), JsValue>;
    #[wasm_bindgen(catch, js_namespace = document, js_name = addEventListener)]
    fn listen_document(kind: &str, listener: &JsValue) -> Result<(), JsValue>;
}

/// Opens the persisted queue (Web Locks when available, else leases), reads the online
/// state, listens for lifecycle events and runs the first pump (which scans for events left
/// by earlier pages).
pub(crate) fn start(shared: &Shared) {
    let claims = if tabs::locks_available() { Claims::Locks } else { Claims::Lease };
    let online = Globals::on_line().unwrap_or(true);
    if let Ok(mut driver) = shared.try_borrow_mut() {
        driver.core.handle_queue_open(clock::now(), claims);
        if !online {
            driver.core.handle_online(false);
        }
    }
    listen(shared);
    pump(shared);
}

/// `pagehide` and `visibilitychange` → hidden send everything now (keepalive); visible again
/// returns to normal batching. `offline` pauses sending, `online` resumes it at once. The
/// listeners live as long as the page.
fn listen(shared: &Shared) {
    let weak = Rc::downgrade(shared);
    // The one closure signature of `super::once`, kept for the page's lifetime.
    let handler = Closure::<dyn FnMut(JsValue) -> JsValue>::new(move |event: JsValue| {
        let Some(shared) = weak.upgrade() else { return JsValue::UNDEFINED };
        let kind = event.unchecked_ref::<web_sys::Event>().type_();
        if let Ok(mut driver) = shared.try_borrow_mut() {
            match kind.as_str() {
                "online" => driver.core.handle_online(true),
                "offline" => driver.core.handle_online(false),
                _ => {
                    let hidden = kind == "pagehide" || Globals::hidden().unwrap_or(false);
                    if hidden {
                        driver.core.handle_page_hide();
                    } else {
                        driver.core.handle_page_show();
                    }
                }
            }
        }
        // Not waiting for a queued I/O task: a hidden page may never run another task.
        run_io_task(&shared);
        JsValue::UNDEFINED
    });
    let f: &JsValue = handler.as_ref();
    for kind in ["pagehide", "online", "offline"] {
        let _ = listen_window(kind, f);
    }
    let _ = listen_document("visibilitychange", f);
    handler.forget();
}
