//! Browser storage: `document.cookie` and `localStorage`, read once into a snapshot and
//! written through on change; cookie-domain probing. Does I/O. Every access is fallible
//! (private mode, sandboxed iframes, quota): failures degrade to memory, never throw.

use wasm_bindgen::JsCast;

use crate::core::config::CookieConfig;
use crate::core::identity::{cookie_domain_candidates, Keys, StorageSnapshot, StorageWrite, Store};
use crate::json::push_u64;

fn document() -> Option<web_sys::HtmlDocument> {
    web_sys::window()?.document()?.dyn_into::<web_sys::HtmlDocument>().ok()
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

fn read_cookies() -> String {
    document().and_then(|d| d.cookie().ok()).unwrap_or_default()
}

fn set_cookie(line: &str) -> bool {
    document().is_some_and(|d| d.set_cookie(line).is_ok())
}

/// Reads what identity needs.
pub(crate) fn snapshot(keys: &Keys) -> StorageSnapshot {
    let cookies = StorageSnapshot::parse_cookie_header(&read_cookies());
    let mut local = Vec::new();
    if let Some(storage) = local_storage() {
        for key in keys.local_keys() {
            if let Ok(Some(value)) = storage.get_item(key) {
                local.push((key.to_owned(), value));
            }
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
    let hostname = web_sys::window()?.location().hostname().ok()?;
    for candidate in cookie_domain_candidates(&hostname) {
        let domain = [".", candidate.as_str()].concat();
        if !set_cookie(&["__tld__=1; path=/; domain=", &domain].concat()) {
            return None;
        }
        let accepted = read_cookies().split(';').any(|c| c.trim_start() == "__tld__=1");
        if accepted {
            set_cookie(&["__tld__=; max-age=0; path=/; domain=", &domain].concat());
            return Some(candidate);
        }
    }
    None
}

/// Applies one write. Returns `false` when the store refused it (blocked or full).
pub(crate) fn apply(write: &StorageWrite, cookie: &CookieConfig, domain: Option<&str>) -> bool {
    match write.store {
        Store::Local => {
            let Some(storage) = local_storage() else { return false };
            match &write.value {
                Some(value) => storage.set_item(&write.key, value).is_ok(),
                None => storage.remove_item(&write.key).is_ok(),
            }
        }
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
