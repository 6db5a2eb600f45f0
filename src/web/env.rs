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
    /// `None` when missing (undefined or null).
    #[wasm_bindgen(catch, static_method_of = Globals, js_class = navigator, getter = userAgentData)]
    fn user_agent_data() -> Result<Option<UaData>, JsValue>;
    type UaData;
    /// `JSON.stringify(value)` (`None`: undefined).
    #[wasm_bindgen(catch, js_namespace = JSON, js_name = stringify)]
    fn stringify(value: &UaData) -> Result<Option<String>, JsValue>;

    type DateTimeFormat;
    /// `Intl.DateTimeFormat()`: the default locale and options.
    #[wasm_bindgen(catch, js_namespace = Intl, js_name = DateTimeFormat)]
    fn date_time_format() -> Result<DateTimeFormat, JsValue>;
    #[wasm_bindgen(method, js_name = resolvedOptions)]
    fn resolved_options(this: &DateTimeFormat) -> ResolvedOptions;
    type ResolvedOptions;
    /// `timeZone` (`None` when missing).
    #[wasm_bindgen(method, getter = timeZone)]
    fn time_zone(this: &ResolvedOptions) -> Option<String>;
}

/// Reads the environment.
pub(crate) fn read() -> Env {
    let mut env = Env::default();
    env.user_agent = Globals::user_agent().unwrap_or_default();
    env.locale = Globals::language().ok().flatten();
    // navigator.userAgentData.toJSON() → {brands, mobile, platform}, via JSON.
    env.user_agent_data = Globals::user_agent_data()
        .ok()
        .flatten()
        .and_then(|data| stringify(&data).ok().flatten())
        .and_then(|s| json::parse(&s).ok())
        .filter(|v| v.as_object().is_some_and(|m| !m.is_empty()));
    env.timezone = date_time_format().ok().and_then(|f| f.resolved_options().time_zone());
    env
}
