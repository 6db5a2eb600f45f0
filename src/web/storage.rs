//! Browser storage: `document.cookie` and `localStorage`, read once into a snapshot and
//! written through on change; cookie-domain probing. Does I/O. Every access is fallible
//! (private mode, sandboxed iframes, quota): failures degrade to memory, never throw.

use wasm_bindgen::prelude::*;

use crate::core::config::CookieConfig;
use crate::core::identity::{cookie_domain_candidates, Keys, StorageSnapshot, StorageWrite, Store};
use crate::json::push_u64;

// One import for every storage operation, and (in the core's wasm) for the browser's parsers
// the core uses (`core::host`): each runs in a `try`, so a missing global (ReferenceError), a
// blocked store (SecurityError), a null `localStorage` (TypeError) or input a parser refuses
// (URIError, TypeError) is `None`, never a throw into wasm. Writes answer `""` when done. (One
// import instead of up to nine catch imports, each with its own glue.) The segments wasm's
// copy has no parsers (its glue would carry them for nothing).
#[cfg(feature = "web-core")]
#[wasm_bindgen(inline_js = "export function sieve_store(o,k,v){try{switch(o){\
case 0:return document.cookie;case 1:document.cookie=k;return'';case 2:return location.hostname;\
case 3:return localStorage.getItem(k);case 4:localStorage.setItem(k,v);return'';\
case 5:localStorage.removeItem(k);return'';case 6:return localStorage.key(+k);\
case 7:return decodeURIComponent(k);default:return new URL(k).pathname}}catch(e){return null}}")]
extern "C" {
    fn sieve_store(op: u32, key: &str, value: &str) -> Option<String>;
}
#[cfg(not(feature = "web-core"))]
#[wasm_bindgen(inline_js = "export function sieve_store(o,k,v){try{switch(o){\
case 0:return document.cookie;case 1:document.cookie=k;return'';case 2:return location.hostname;\
case 3:return localStorage.getItem(k);case 4:localStorage.setItem(k,v);return'';\
case 5:localStorage.removeItem(k);return'';default:return localStorage.key(+k)}}catch(e){return null}}")]
extern "C" {
    fn sieve_store(op: u32, key: &str, value: &str) -> Option<String>;
}

/// The operations of `sieve_store`.
#[derive(Clone, Copy)]
enum Op {
    /// `document.cookie`
    Cookies = 0,
    /// `document.cookie = key`
    SetCookie = 1,
    /// `location.hostname`
    Hostname = 2,
    /// `localStorage.getItem(key)`
    Get = 3,
    /// `localStorage.setItem(key, value)`
    Set = 4,
    /// `localStorage.removeItem(key)`
    Remove = 5,
    /// `localStorage.key(key)` (`key` is the decimal index)
    Key = 6,
}

/// `core::host`'s parsers, by their numbers there: `7` `decodeURIComponent(s)`, `8`
/// `new URL(s).pathname`; `None` where they throw.
#[cfg(feature = "web-core")]
#[no_mangle]
fn sieve_host_parse(what: u32, s: &str) -> Option<String> {
    sieve_store(what, s, "")
}

/// `core::host::number`: `parseFloat(text)`.
#[cfg(feature = "web-core")]
#[no_mangle]
fn sieve_host_number(text: &str) -> f64 {
    js_sys::parse_float(text)
}

fn store(op: Op, key: &str, value: &str) -> Option<String> {
    sieve_store(op as u32, key, value)
}

/// localStorage's value under `key` (`None`: missing, or the store is unavailable).
pub(crate) fn local_get(key: &str) -> Option<String> {
    store(Op::Get, key, "")
}

/// Sets localStorage's `key` to `value`; `false` when the store refused (blocked, full).
pub(crate) fn local_set(key: &str, value: &str) -> bool {
    store(Op::Set, key, value).is_some()
}

/// localStorage's `index`-th key (`None` past the end, or the store is unavailable).
pub(crate) fn local_key(index: u32) -> Option<String> {
    let mut i = String::new();
    push_u64(&mut i, u64::from(index));
    store(Op::Key, &i, "")
}

fn read_cookies() -> String {
    store(Op::Cookies, "", "").unwrap_or_default()
}

fn set_cookie(line: &str) -> bool {
    store(Op::SetCookie, line, "").is_some()
}

/// Reads what identity needs.
pub(crate) fn snapshot(keys: &Keys) -> StorageSnapshot {
    let cookies = StorageSnapshot::parse_cookie_header(&read_cookies());
    let mut local = Vec::new();
    for key in keys.local_keys() {
        if let Some(value) = local_get(key) {
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
    let hostname = store(Op::Hostname, "", "")?;
    for candidate in cookie_domain_candidates(&hostname) {
        let domain = crate::json::concat(&[".", candidate]);
        if !set_cookie(&crate::json::concat(&[
            "__tld__=1; path=/; domain=",
            &domain,
        ])) {
            return None;
        }
        let accepted = crate::json::split_byte(&read_cookies(), b';')
            .any(|c| crate::json::trim_ws(c, false) == "__tld__=1");
        if accepted {
            set_cookie(&crate::json::concat(&[
                "__tld__=; max-age=0; path=/; domain=",
                &domain,
            ]));
            return Some(candidate.to_owned());
        }
    }
    None
}

/// Applies one write. Returns `false` when the store refused it (blocked or full).
pub(crate) fn apply(write: &StorageWrite, cookie: &CookieConfig, domain: Option<&str>) -> bool {
    match write.store {
        Store::Local => match &write.value {
            Some(value) => local_set(&write.key, value),
            None => store(Op::Remove, &write.key, "").is_some(),
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
