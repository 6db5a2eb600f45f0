//! Network: sends a core [`Transmit`] with `fetch` (keepalive on page hide) and maps the
//! response (or the rejection) to a [`SendOutcome`]; falls back to `navigator.sendBeacon`
//! when keepalive fetch is missing or refused. Does I/O.

use wasm_bindgen::{JsCast, JsValue};

use crate::core::delivery::{SendOutcome, Transmit};
use crate::json::push_u64;
use super::Thenable;

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = navigator, js_name = sendBeacon)]
    fn send_beacon(url: &str, body: &str) -> Result<bool, JsValue>;

    /// The global `fetch(url, init)`.
    #[wasm_bindgen(js_name = fetch)]
    fn fetch(url: &str, init: &JsValue) -> Thenable;

    type Globals;
    #[wasm_bindgen(catch, static_method_of = Globals, js_class = Request, getter = prototype)]
    fn request_prototype() -> Result<JsValue, JsValue>;
}

fn set(target: &JsValue, key: &str, value: &JsValue) {
    let _ = js_sys::Reflect::set(target, &JsValue::from_str(key), value);
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
    Globals::request_prototype()
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
    if transmit.keepalive && !keepalive_supported() {
        // No keepalive fetch (older browsers): a beacon survives the page going away.
        on_done(if beacon(&transmit.url, &transmit.body) { Sent::Beacon } else { Sent::Outcome(NETWORK_ERROR) });
        return;
    }
    // The init and its headers as plain objects (what `fetch` accepts).
    let init: JsValue = js_sys::Object::new().into();
    set(&init, "method", &JsValue::from_str("POST"));
    set(&init, "body", &JsValue::from_str(&transmit.body));
    if transmit.keepalive {
        set(&init, "keepalive", &JsValue::TRUE);
    }
    let headers: JsValue = js_sys::Object::new().into();
    // text/plain keeps first attempts free of a CORS preflight.
    set(&headers, "Content-Type", &JsValue::from_str("text/plain"));
    if transmit.retry_count > 0 {
        let mut n = String::new();
        push_u64(&mut n, u64::from(transmit.retry_count));
        set(&headers, "X-Retry-Count", &JsValue::from_str(&n));
    }
    set(&init, "headers", &headers);
    let promise = fetch(&transmit.url, &init);
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
    let _ = promise.then(&handler, &handler);
}
