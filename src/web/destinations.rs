//! **API Boundary**: `DestinationsWasm` (built only with the `web-destinations` feature into
//! its own wasm, `dist/sieve_destinations_bg.wasm`, loaded lazily by `js/destinations.js`
//! only when the settings name device-mode destinations): the device-mode decisions of
//! `destinations::Router` for the shim. No I/O but `Math.random()` (tsub's unseeded
//! sampling) and JavaScript's `toLowerCase`; nothing here throws: bad input comes back as
//! a `!` + reason string.

use wasm_bindgen::prelude::*;

use crate::destinations::{Routed, Router};
use crate::json::{self, Value};

#[wasm_bindgen(
    inline_js = "export function sieve_dest_random(){return Math.random()}\
export function sieve_dest_lower(s){return s.toLowerCase()}\
export function sieve_dest_number(s){return Number(s)}\
export function sieve_dest_string(x){return String(x)}"
)]
extern "C" {
    fn sieve_dest_random() -> f64;
    fn sieve_dest_lower(s: &str) -> String;
    fn sieve_dest_number(s: &str) -> f64;
    fn sieve_dest_string(x: f64) -> String;
}

/// JavaScript's `Number(s)`, which `destinations::js::number` declares and calls directly.
#[no_mangle]
fn sieve_host_js_number(s: &str) -> f64 {
    sieve_dest_number(s)
}

/// JavaScript's `String(x)`, which `destinations::js::number_text` declares and calls directly.
#[no_mangle]
fn sieve_host_js_string(x: f64) -> String {
    sieve_dest_string(x)
}

/// JavaScript's `toLowerCase`, which `destinations::js::lower` declares and calls directly
/// (no function pointer: see the invariant on indirect calls).
#[no_mangle]
fn sieve_host_lower(s: &str) -> String {
    sieve_dest_lower(s)
}

/// The device-mode router of one `Analytics` instance.
#[wasm_bindgen]
pub struct DestinationsWasm {
    router: Router,
}

impl std::fmt::Debug for DestinationsWasm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DestinationsWasm")
    }
}

fn parse_or_empty(text: &str) -> Value {
    json::parse(text).unwrap_or(Value::Object(json::Map::new()))
}

#[wasm_bindgen]
impl DestinationsWasm {
    /// From the CDN settings and load options (JSON texts) and the CDN base URL.
    #[wasm_bindgen(constructor)]
    pub fn new(settings: &str, options: &str, cdn: &str) -> DestinationsWasm {
        DestinationsWasm {
            router: Router::new(parse_or_empty(settings), &parse_or_empty(options), cdn),
        }
    }

    /// What to load (`Router::load_plan`, JSON).
    pub fn plan(&self) -> String {
        self.router.load_plan()
    }

    /// The tracking plan's new `integrations` for an event (JSON), or `None` when they do
    /// not change.
    pub fn filter(&self, event: &str) -> Option<String> {
        let event = json::parse(event).ok()?;
        self.router.schema_filter(&event).map(|m| m.to_json())
    }

    /// What `destination` receives of an event (JSON): its JSON, `""` when the plan or a
    /// routing rule dropped it, `!` + why when the routing middleware failed.
    pub fn route(&self, destination: &str, classic: bool, event: &str) -> String {
        let Ok(event) = json::parse(event) else {
            return String::from("!the event is not JSON");
        };
        match self
            .router
            .route(destination, classic, event, &mut || sieve_dest_random())
        {
            Routed::Deliver(event) => event.to_json(),
            Routed::Dropped => String::new(),
            Routed::Failed(e) => json::concat(&["!", e.0]),
        }
    }
}
