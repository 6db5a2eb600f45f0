//! Browser facts read once at start-up: user agent, client hints, locale, time zone.
//! Does I/O (reads `navigator` and `Intl`).

use wasm_bindgen::JsValue;

use crate::core::event::Env;
use crate::json;

fn get(target: &JsValue, key: &str) -> Option<JsValue> {
    js_sys::Reflect::get(target, &JsValue::from_str(key)).ok().filter(|v| !v.is_undefined() && !v.is_null())
}

/// Reads the environment.
pub(crate) fn read() -> Env {
    let mut env = Env::default();
    let Some(window) = web_sys::window() else { return env };
    let navigator = window.navigator();
    env.user_agent = navigator.user_agent().unwrap_or_default();
    env.locale = navigator.language();
    // navigator.userAgentData.toJSON() → {brands, mobile, platform}, via JSON.
    env.user_agent_data = get(&navigator, "userAgentData")
        .and_then(|data| js_sys::JSON::stringify(&data).ok())
        .and_then(|s| s.as_string())
        .and_then(|s| json::parse(&s).ok())
        .filter(|v| v.as_object().is_some_and(|m| !m.is_empty()));
    let format = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new());
    env.timezone = get(&format.resolved_options(), "timeZone").and_then(|v| v.as_string());
    env
}
