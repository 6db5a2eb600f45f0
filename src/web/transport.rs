//! Network: sends a core [`Transmit`] with `fetch` (keepalive on page hide) and maps the
//! response (or the rejection) to a [`SendOutcome`]; falls back to `navigator.sendBeacon`
//! when keepalive fetch is missing or refused. Does I/O.

use wasm_bindgen::{JsCast, JsValue};

use crate::core::delivery::{SendOutcome, Transmit};
use crate::json::push_u64;

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// A promise seen through `then(on_fulfilled, on_rejected)` with plain function values.
    type Thenable;
    #[wasm_bindgen(method, js_name = then)]
    fn then_both(this: &Thenable, on_fulfilled: &JsValue, on_rejected: &JsValue) -> JsValue;

    #[wasm_bindgen(catch, js_namespace = navigator, js_name = sendBeacon)]
    fn send_beacon(url: &str, body: &str) -> Result<bool, JsValue>;
}

/// How a request ended.
pub(crate) enum Sent {
    /// fetch answered (or failed: status 0).
    Outcome(SendOutcome),
    /// Handed to `sendBeacon`: no confirmation will come.
    Beacon,
}

/// Whether `fetch` understands `keepalive` (`'keepalive' in Request.prototype`).
fn keepalive_supported() -> bool {
    js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("Request"))
        .and_then(|request| js_sys::Reflect::get(&request, &JsValue::from_str("prototype")))
        .and_then(|proto| js_sys::Reflect::has(&proto, &JsValue::from_str("keepalive")))
        .unwrap_or(false)
}

fn beacon(url: &str, body: &str) -> bool {
    send_beacon(url, body).unwrap_or(false)
}

const NETWORK_ERROR: SendOutcome = SendOutcome { status: 0, retry_after: None };

/// Sends `transmit`; `on_done` runs exactly once (from a later task, except when the request
/// could not even start).
pub(crate) fn send(transmit: &Transmit, on_done: impl FnOnce(Sent) + 'static) {
    let Some(window) = web_sys::window() else {
        on_done(Sent::Outcome(NETWORK_ERROR));
        return;
    };
    if transmit.keepalive && !keepalive_supported() {
        // No keepalive fetch (older browsers): a beacon survives the page going away.
        on_done(if beacon(&transmit.url, &transmit.body) { Sent::Beacon } else { Sent::Outcome(NETWORK_ERROR) });
        return;
    }
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
    // A refused keepalive fetch (over the browser's keepalive quota, or cancelled by the
    // unload) rejects: the same body then goes out as a beacon.
    let fallback = transmit.keepalive.then(|| (transmit.url.clone(), transmit.body.clone()));
    // One self-freeing closure serves as both the fulfilment and the rejection handler:
    // exactly one of them runs, once.
    let handler = super::once(move |value: JsValue| {
        let sent = match value.dyn_into::<web_sys::Response>() {
            Ok(response) => Sent::Outcome(SendOutcome {
                status: response.status(),
                retry_after: response.headers().get("Retry-After").ok().flatten(),
            }),
            Err(_) => match fallback {
                Some((url, body)) if beacon(&url, &body) => Sent::Beacon,
                _ => Sent::Outcome(NETWORK_ERROR),
            },
        };
        on_done(sent);
        JsValue::UNDEFINED
    });
    let _ = promise.unchecked_ref::<Thenable>().then_both(&handler, &handler);
}
