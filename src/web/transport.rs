//! Network: sends a core [`Transmit`] with `fetch` (keepalive on page hide) and maps the
//! response (or the rejection) to a [`SendOutcome`]; falls back to `navigator.sendBeacon`
//! when keepalive fetch is missing or refused, and to a plain `fetch` when the beacon is
//! refused. Does I/O.

use wasm_bindgen::prelude::*;

use crate::core::delivery::{SendOutcome, Transmit};
use crate::json;

// The request in one inline-JS import (fewer imports and less glue than building the init
// object through `Reflect` and reading the `Response` through web-sys). It answers `done`
// exactly once with:
// - `"<status>"` or `"<status>,<Retry-After>"` when fetch answered;
// - `"b"` when the body went to `sendBeacon` instead: keepalive fetch is missing
//   (`'keepalive' in Request.prototype` is false: older browsers, Firefox before 133), or a
//   keepalive fetch was refused (over the browser's keepalive quota, or cancelled by the
//   unload);
// - `null` on a network error (fetch rejected).
// A beacon the browser refuses (`sendBeacon` answers false: over its 64 KB quota in Chromium
// and WebKit) goes as a plain fetch, whose answer comes from a later task. Answering `null`
// at once instead made the core retry at once, and at page hide (no backoff) that burned
// every event's retry budget in one synchronous loop and dropped what did not fit
// (tests/e2e/engines.test.mjs, "page hide (sendBeacon)"); a fetch the unload cancels leaves
// its events on disk for the next page.
// The init and its headers are plain objects (what `fetch` accepts); `text/plain` keeps
// first attempts free of a CORS preflight.
#[wasm_bindgen(inline_js = "export function sieve_send(u,b,k,r,done){\
const t=g=>{try{return g()}catch(e){}},h={'Content-Type':'text/plain'},i={method:'POST',body:b,headers:h},\
go=o=>fetch(u,o).then(x=>{const a=x.headers.get('Retry-After');done(x.status+(a==null?'':','+a))},()=>o.keepalive?beacon():done(null)),\
beacon=()=>t(()=>navigator.sendBeacon(u,b))?done('b'):go(i);if(r)h['X-Retry-Count']=''+r;\
if(k&&!t(()=>'keepalive'in Request.prototype))return beacon();go(k?{...i,keepalive:!0}:i)}")]
extern "C" {
    fn sieve_send(url: &str, body: &str, keepalive: bool, retry_count: u32, done: &JsValue);
}

/// How a request ended.
pub(crate) enum Sent {
    /// fetch answered (or failed: status 0).
    Outcome(SendOutcome),
    /// Handed to `sendBeacon`: no confirmation will come.
    Beacon,
}

const NETWORK_ERROR: SendOutcome = SendOutcome {
    status: 0,
    retry_after: None,
};

/// Sends `transmit`; `done` (a [`super::wake_on`] callback) is called exactly once with the
/// answer for [`answer`] (from a later task, except when the request could not even start).
pub(crate) fn send(transmit: &Transmit, done: &JsValue) {
    sieve_send(
        &transmit.url,
        &transmit.body,
        transmit.keepalive,
        transmit.retry_count,
        done,
    );
}

/// How the request ended, from the answer `sieve_send` gave `done`.
pub(crate) fn answer(answer: JsValue) -> Sent {
    match answer.as_string() {
        Some(b) if b == "b" => Sent::Beacon,
        Some(text) => {
            let (status, retry_after) = match json::split_once_byte(&text, b',') {
                Some((status, retry_after)) => (status, Some(retry_after.to_owned())),
                None => (text.as_str(), None),
            };
            let status = json::parse_u64(status)
                .and_then(|n| u16::try_from(n).ok())
                .unwrap_or(0);
            Sent::Outcome(SendOutcome {
                status,
                retry_after,
            })
        }
        None => Sent::Outcome(NETWORK_ERROR),
    }
}
