//! Browser storage: `document.cookie` and `localStorage`, read once into a snapshot and
//! written through on change; cookie-domain probing. Does I/O. Every access is fallible
//! (private mode, sandboxed iframes, quota): failures degrade to memory, never throw.

use wasm_bindgen::prelude::*;

use crate::core::config::CookieConfig;
use crate::core::identity::{cookie_domain_candidates, Keys, StorageSnapshot, StorageWrite, Store};
use crate::json::push_u64;

// Direct bindings to the globals (`document.cookie`, `localStorage.*`, `location.hostname`)
// instead of web-sys objects: fewer imports and less glue. Every one catches, so a missing
// global (ReferenceError), a blocked store (SecurityError) or a null `localStorage`
// (TypeError) is an `Err`, never a throw into wasm.
#[wasm_bindgen]
extern "C" {
    type Globals;
    #[wasm_bindgen(catch, static_method_of = Globals, js_class = document, getter = cookie)]
    fn cookie() -> Result<String, JsValue>;
    #[wasm_bindgen(catch, static_method_of = Globals, js_class = document, setter = cookie)]
    fn set_cookie_line(line: &str) -> Result<(), JsValue>;
    #[wasm_bindgen(catch, static_method_of = Globals, js_class = location, getter = hostname)]
    fn hostname() -> Result<String, JsValue>;
    #[wasm_bindgen(catch, js_namespace = localStorage, js_name = getItem)]
    pub(crate) fn local_get(key: &str) -> Result<Option<String>, JsValue>;
    #[wasm_bindgen(catch, js_namespace = localStorage, js_name = setItem)]
    fn local_set(key: &str, value: &str) -> Result<(), JsValue>;
    #[wasm_bindgen(catch, js_namespace = localStorage, js_name = removeItem)]
    fn local_remove(key: &str) -> Result<(), JsValue>;
    /// The `index`-th key, `None` past the end.
    #[wasm_bindgen(catch, js_namespace = localStorage, js_name = key)]
    pub(crate) fn local_key(index: u32) -> Result<Option<String>, JsValue>;
}

fn read_cookies() -> String {
    Globals::cookie().unwrap_or_default()
}

fn set_cookie(line: &str) -> bool {
    Globals::set_cookie_line(line).is_ok()
}

/// Reads what identity needs.
pub(crate) fn snapshot(keys: &Keys) -> StorageSnapshot {
    let cookies = StorageSnapshot::parse_cookie_header(&read_cookies());
    let mut local = Vec::new();
    for key in keys.local_keys() {
        if let Ok(Some(value)) = local_get(key) {
            local.push((key.to_owned(), value));
        }
    }
    StorageSnapshot { cookies, local }
}

/// The cookie domain: the configured one, else the most general domain the browser
/// accepts (probed with a throwaway `__tld__` cookie), else host-only.
pub(crate) fn cookie_domain(config: &CookieConfig) -> Option<String> {
    if config.domain.is_some() {
        return config.domain.clone();
    }
    let hostname = Globals::hostname().ok()?;
    for candidate in cookie_domain_candidates(&hostname) {
        let domain = crate::json::concat(&[".", candidate.as_str()]);
        if !set_cookie(&crate::json::concat(&["__tld__=1; path=/; domain=", &domain])) {
            return None;
        }
        let accepted = crate::json::split_byte(&read_cookies(), b';').any(|c| crate::json::trim_ws(c, false) == "__tld__=1");
        if accepted {
            set_cookie(&crate::json::concat(&["__tld__=; max-age=0; path=/; domain=", &domain]));
            return Some(candidate);
        }
    }
    None
}

/// Applies one write. Returns `false` when the store refused it (blocked or full).
pub(crate) fn apply(write: &StorageWrite, cookie: &CookieConfig, domain: Option<&str>) -> bool {
    match write.store {
        Store::Local => match &write.value {
            Some(value) => local_set(&write.key, value).is_ok(),
            None => local_remove(&write.key).is_ok(),
        },
        Store::Cookie => {
            let mut line = String::with_capacity(160);
            line.push_str(&write.key);
            line.push('=');
            match &write.value {
                Some(value) => {
                    line.push_str(value);
                    line.push_str("; max-age=");
                    push_u64(&mut line, cookie.maxage_days.saturating_mul(86_400));
                }
                None => line.push_str("; max-age=0"),
            }
            line.push_str("; path=");
            line.push_str(&cookie.path);
            if let Some(domain) = domain {
                line.push_str("; domain=");
                line.push_str(domain);
            }
            line.push_str("; SameSite=");
            line.push_str(&cookie.same_site);
            if cookie.secure {
                line.push_str("; secure");
            }
            set_cookie(&line)
        }
    }
}
