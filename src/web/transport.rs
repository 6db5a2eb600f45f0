//! Network: sends a core [`Transmit`] with `fetch` and maps the response (or the rejection)
//! to a [`SendOutcome`]. Does I/O.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};


use crate::core::delivery::{SendOutcome, Transmit};
use crate::json::push_u64;

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// A promise seen through `then(on_fulfilled, on_rejected)` with plain function values.
    type Thenable;
    #[wasm_bindgen(method, js_name = then)]
    fn then_both(this: &Thenable, on_fulfilled: &JsValue, on_rejected: &JsValue) -> JsValue;
}

/// Sends `transmit`; `on_done` runs exactly once, from a later task.
pub(crate) fn send(transmit: &Transmit, on_done: impl FnOnce(SendOutcome) + 'static) {
    let Some(window) = web_sys::window() else {
        on_done(SendOutcome { status: 0, retry_after: None });
        return;
    };
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(&transmit.body));
    if transmit.keepalive {
        // web-sys has no setter for `keepalive`.
        let _ = js_sys::Reflect::set(&init, &JsValue::from_str("keepalive"), &JsValue::TRUE);
    }
    if let Ok(headers) = web_sys::Headers::new() {
        // text/plain keeps first attempts free of a CORS preflight.
        let _ = headers.set("Content-Type", "text/plain");
        if transmit.retry_count > 0 {
            let mut n = String::new();
            push_u64(&mut n, u64::from(transmit.retry_count));
            let _ = headers.set("X-Retry-Count", &n);
        }
        init.set_headers(&headers);
    }
    let promise = window.fetch_with_str_and_init(&transmit.url, &init);
    // One self-freeing closure serves as both the fulfilment and the rejection handler:
    // exactly one of them runs, once.
    let handler = Closure::once_into_js(move |value: JsValue| {
        let outcome = match value.dyn_into::<web_sys::Response>() {
            Ok(response) => SendOutcome {
                status: response.status(),
                retry_after: response.headers().get("Retry-After").ok().flatten(),
            },
            Err(_) => SendOutcome { status: 0, retry_after: None },
        };
        on_done(outcome);
    });
    let _ = promise.unchecked_ref::<Thenable>().then_both(&handler, &handler);
}
