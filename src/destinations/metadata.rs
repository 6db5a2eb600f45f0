//! `_metadata`'s bundling lists on API events (`bundled`, `unbundled`, `bundledIds`), as
//! analytics-next 1.84.3's Segment.io plugin writes them from the settings. Pure. Computed by
//! the lazy device-mode part and handed to the core as a pre-written fragment
//! (`Analytics::set_metadata`): a page without device mode has constant lists, which the core
//! writes itself (`core::config`), so the sort and the lookups are not in the core wasm.

use crate::json::{self, Map, Value};

/// Whether `a` sorts after `b` as JavaScript's default `sort()` orders strings: by UTF-16
/// code units. That is UTF-8 byte order, except that characters above U+FFFF (lead bytes
/// 0xF0.., surrogate pairs 0xD800.. in UTF-16) come before U+E000..U+FFFF (0xEE, 0xEF).
fn js_after(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let key = |c: Option<&u8>| c.map(|&c| if c >= 0xF0 { 0x1DB } else { u16::from(c) * 2 });
    let mut i = 0;
    while i < a.len() && a.get(i) == b.get(i) {
        i += 1;
    }
    key(a.get(i)) > key(b.get(i))
}

/// What analytics.js's Segment.io plugin (`normalize`) puts in every API event's `_metadata`
/// after `failedInitializations` and `retryCount`: `bundled` (`Segment.io` and the CDN
/// integrations with `bundlingStatus: 'bundled'`), `unbundled` (those with `'unbundled'`,
/// then the `Segment.io` settings' `unbundledIntegrations` not already listed), both sorted,
/// and `bundledIds` (`maybeBundledConfigIds[name]` in the sorted `bundled` order); nothing
/// with `addBundledMetadata: false`. `io` looks a key up in the merged `Segment.io` settings
/// (nothing when the CDN's integrations do not name it). Segment's servers read it to skip
/// destinations the page already runs in device mode.
pub(crate) fn bundling<'a>(
    integrations: Option<&'a Map>,
    io: impl Fn(&str) -> Option<&'a Value>,
) -> String {
    let mut out = String::new();
    if matches!(io("addBundledMetadata"), Some(Value::Bool(false))) {
        return out;
    }
    // (list, name): list 0 is `bundled`, 1 `unbundled`.
    let mut names: Vec<(u8, &str)> = Vec::new();
    for (name, settings) in integrations.into_iter().flat_map(Map::iter) {
        let status = settings.get("bundlingStatus").and_then(Value::as_str);
        if name == "Segment.io" {
            names.push((0, name));
        }
        if status == Some("bundled") {
            names.push((0, name));
        }
        if status == Some("unbundled") {
            names.push((1, name));
        }
    }
    if let Some(Value::Array(extra)) = io("unbundledIntegrations") {
        for name in extra.iter().filter_map(Value::as_str) {
            if !names.iter().any(|&(l, n)| l == 1 && n == name) {
                names.push((1, name));
            }
        }
    }
    // An insertion sort: the lists are short, and std's sorts cost over 1 KB of wasm.
    for i in 1..names.len() {
        let mut j = i;
        while j > 0 && {
            let ((la, a), (lb, b)) = (names[j - 1], names[j]);
            la > lb || (la == lb && js_after(a, b))
        } {
            names.swap(j - 1, j);
            j -= 1;
        }
    }
    let ids = io("maybeBundledConfigIds");
    let mut ids_out = String::new();
    out.push_str("\"bundled\":[");
    let mut list = 0;
    for &(l, name) in &names {
        if l != list {
            out.push_str("],\"unbundled\":[");
            list = 1;
        } else if !out.ends_with('[') {
            out.push(',');
        }
        json::push_json_str(&mut out, name);
        if l == 0 {
            for id in ids
                .and_then(|m| m.get(name))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if !ids_out.is_empty() {
                    ids_out.push(',');
                }
                id.write_json(&mut ids_out);
            }
        }
    }
    if list == 0 {
        out.push_str("],\"unbundled\":[");
    }
    out.push_str("],\"bundledIds\":[");
    out.push_str(&ids_out);
    out.push(']');
    out
}
