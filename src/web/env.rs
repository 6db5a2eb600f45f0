//! Browser facts read once at start-up: user agent, client hints, locale, time zone.
//! Does I/O (reads `navigator` and `Intl`).

use wasm_bindgen::prelude::*;

use crate::core::event::Env;
use crate::json;

// Direct bindings to the globals instead of web-sys objects: fewer imports, less glue.
#[wasm_bindgen]
extern "C" {
    type Globals;
    #[wasm_bindgen(catch, static_method_of = Globals, js_class = navigator, getter = userAgent)]
    fn user_agent() -> Result<String, JsValue>;
    #[wasm_bindgen(catch, static_method_of = Globals, js_class = navigator, getter = language)]
    fn language() -> Result<Option<String>, JsValue>;
    #[wasm_bindgen(catch, static_method_of = Globals, js_class = navigator, getter = userAgentData)]
    fn user_agent_data() -> Result<JsValue, JsValue>;

    type DateTimeFormat;
    /// `Intl.DateTimeFormat()`: the default locale and options.
    #[wasm_bindgen(catch, js_namespace = Intl, js_name = DateTimeFormat)]
    fn date_time_format() -> Result<DateTimeFormat, JsValue>;
    #[wasm_bindgen(method, js_name = resolvedOptions)]
    fn resolved_options(this: &DateTimeFormat) -> JsValue;
}

fn get(target: &JsValue, key: &str) -> Option<JsValue> {
    js_sys::Reflect::get(target, &JsValue::from_str(key)).ok().filter(|v| !v.is_undefined() && !v.is_null())
}

/// Reads the environment.
pub(crate) fn read() -> Env {
    let mut env = Env::default();
    env.user_agent = Globals::user_agent().unwrap_or_default();
    env.locale = Globals::language().ok().flatten();
    // navigator.userAgentData.toJSON() → {brands, mobile, platform}, via JSON.
    env.user_agent_data = Globals::user_agent_data()
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
        .and_then(|data| js_sys::JSON::stringify(&data).ok())
        .and_then(|s| s.as_string())
        .and_then(|s| json::parse(&s).ok())
        .filter(|v| v.as_object().is_some_and(|m| !m.is_empty()));
    env.timezone = date_time_format().ok().and_then(|f| get(&f.resolved_options(), "timeZone")).and_then(|v| v.as_string());
    env
}
