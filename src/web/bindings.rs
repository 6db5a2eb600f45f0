//! **API Boundary**: every `#[wasm_bindgen]` export. The JS shim is the only caller.
//! Does I/O through the driver. No export throws: bad input becomes a result string or a
//! notice, and a re-entrant call while the instance is busy is refused quietly.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::{clock, env, pump, storage, Driver, Shared};
use crate::core::args::decode_args;
use crate::core::config::Config;
use crate::core::page::BufferedPageContext;
use crate::core::{Analytics, Method};
use crate::json::{self, Value};

/// The wasm instance behind one `Analytics` object of the shim.
#[wasm_bindgen]
pub struct AnalyticsWasm {
    shared: Shared,
}

impl std::fmt::Debug for AnalyticsWasm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AnalyticsWasm")
    }
}

fn parse_or_empty(text: &str) -> Value {
    json::parse(text).unwrap_or(Value::Object(json::Map::new()))
}

#[wasm_bindgen]
impl AnalyticsWasm {
    /// Reads storage and the environment, restores identity, and starts listening for page
    /// hide/show. `settings` and `options` are JSON texts; `on_notice(code, reason, count)`
    /// receives delivery and validation problems.
    #[wasm_bindgen(constructor)]
    pub fn new(write_key: &str, settings: &str, options: &str, on_notice: js_sys::Function) -> AnalyticsWasm {
        let config = Config::from_settings(write_key, &parse_or_empty(settings), &parse_or_empty(options));
        let snapshot = if config.stores.cookie || config.stores.local { storage::snapshot() } else { Default::default() };
        let core = Analytics::new(config, env::read(), &snapshot, clock::seed());
        let shared: Shared = Rc::new(RefCell::new(Driver::new(core, on_notice)));
        listen_page_lifecycle(&shared);
        pump(&shared);
        AnalyticsWasm { shared }
    }

    /// An event call. `types`/`values` are the shim's argument encoding
    /// (`core::args::decode_args`). Returns the event JSON, or `!` + the rejection message.
    pub fn call(&self, method: &str, types: &str, values: &str) -> String {
        let Some(method) = Method::from_name(method) else {
            return String::from("!unknown method");
        };
        let values = match json::parse(values) {
            Ok(v) => v,
            Err(e) => return ["!", e.message()].concat(),
        };
        let (args, page) = decode_args(types, &values);
        let page = page.unwrap_or_else(BufferedPageContext::default);
        let result = {
            let Ok(mut driver) = self.shared.try_borrow_mut() else {
                return String::from("!busy");
            };
            driver.core.handle_call(clock::now(), method, &args, &page)
        };
        pump(&self.shared);
        match result {
            Ok(json) => json,
            Err(e) => ["!", e.message()].concat(),
        }
    }

    /// `analytics.reset()`.
    pub fn reset(&self) {
        if let Ok(mut driver) = self.shared.try_borrow_mut() {
            driver.core.handle_reset();
        }
        pump(&self.shared);
    }

    /// Sets the anonymous id (`None`: a fresh one) and returns the current one.
    #[wasm_bindgen(js_name = setAnonymousId)]
    pub fn set_anonymous_id(&self, id: Option<String>) -> Option<String> {
        if let Ok(mut driver) = self.shared.try_borrow_mut() {
            driver.core.handle_set_anonymous_id(id);
        }
        pump(&self.shared);
        self.anonymous_id()
    }

    /// Replaces the stored user traits (JSON object text).
    #[wasm_bindgen(js_name = setUserTraits)]
    pub fn set_user_traits(&self, traits: &str) {
        let traits = match json::parse(traits) {
            Ok(Value::Object(m)) => m,
            _ => json::Map::new(),
        };
        if let Ok(mut driver) = self.shared.try_borrow_mut() {
            driver.core.handle_set_user_traits(traits);
        }
        pump(&self.shared);
    }

    /// The user id.
    #[wasm_bindgen(js_name = userId)]
    pub fn user_id(&self) -> Option<String> {
        self.shared.try_borrow().ok()?.core.identity().user_id().map(str::to_owned)
    }

    /// The anonymous id.
    #[wasm_bindgen(js_name = anonymousId)]
    pub fn anonymous_id(&self) -> Option<String> {
        self.shared.try_borrow().ok()?.core.identity().anonymous_id().map(str::to_owned)
    }

    /// The user traits as JSON text.
    #[wasm_bindgen(js_name = userTraits)]
    pub fn user_traits(&self) -> String {
        self.shared
            .try_borrow()
            .map(|d| Value::Object(d.core.identity().user_traits().clone()).to_json())
            .unwrap_or_else(|_| String::from("{}"))
    }

    /// The group id.
    #[wasm_bindgen(js_name = groupId)]
    pub fn group_id(&self) -> Option<String> {
        self.shared.try_borrow().ok()?.core.identity().group_id().map(str::to_owned)
    }

    /// The group traits as JSON text.
    #[wasm_bindgen(js_name = groupTraits)]
    pub fn group_traits(&self) -> String {
        self.shared
            .try_borrow()
            .map(|d| Value::Object(d.core.identity().group_traits().clone()).to_json())
            .unwrap_or_else(|_| String::from("{}"))
    }

    /// Sends what is queued now, without waiting for the batch timer.
    pub fn flush(&self) {
        if let Ok(mut driver) = self.shared.try_borrow_mut() {
            driver.core.handle_flush();
        }
        pump(&self.shared);
    }

    /// Events accepted and not yet confirmed by the API.
    pub fn queued(&self) -> u32 {
        self.shared.try_borrow().map(|d| d.core.queued() as u32).unwrap_or(0)
    }
}

/// `pagehide` and `visibilitychange` → hidden send everything now (keepalive); visible again
/// returns to normal batching. The listeners live as long as the page.
fn listen_page_lifecycle(shared: &Shared) {
    let Some(window) = web_sys::window() else { return };
    let weak = Rc::downgrade(shared);
    let handler = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
        let Some(shared) = weak.upgrade() else { return };
        let hidden = event.type_() == "pagehide"
            || web_sys::window().and_then(|w| w.document()).is_some_and(|d| d.hidden());
        if let Ok(mut driver) = shared.try_borrow_mut() {
            if hidden {
                driver.core.handle_page_hide();
            } else {
                driver.core.handle_page_show();
            }
        }
        pump(&shared);
    });
    let f: &js_sys::Function = handler.as_ref().unchecked_ref();
    let _ = window.add_event_listener_with_callback("pagehide", f);
    if let Some(document) = window.document() {
        let _ = document.add_event_listener_with_callback("visibilitychange", f);
    }
    handler.forget();
}
