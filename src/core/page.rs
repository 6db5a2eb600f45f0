//! Page context (`context.page`) from a buffered page context, canonical-link rules, and
//! `utm_*` campaign parsing, exactly as analytics.js computes them. Pure: the driver (or the
//! snippet) captures `location`/`document` values; this module only computes.

use crate::json::{find_byte, find_sub, replace_byte, split_byte, Map, Value};

/// A page context captured at call time (the snippet's `{__t:"bpc", c, p, u, s, t, r}`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct BufferedPageContext {
    /// `<link rel=canonical>` href, if any.
    pub canonical: Option<String>,
    /// `location.pathname`
    pub path: String,
    /// `location.href`
    pub url: String,
    /// `location.search`
    pub search: String,
    /// `document.title`
    pub title: String,
    /// `document.referrer`
    pub referrer: String,
}

impl BufferedPageContext {
    /// From a `bpc` object's JSON text (default when it is not an object).
    pub fn from_json(text: &str) -> BufferedPageContext {
        match crate::json::parse(text) {
            Ok(crate::json::Value::Object(bpc)) => BufferedPageContext::from_bpc(&bpc),
            _ => BufferedPageContext::default(),
        }
    }

    /// Reads a `bpc` object (`{c, p, u, s, t, r}`); missing fields are empty.
    pub fn from_bpc(obj: &Map) -> BufferedPageContext {
        let s = |k: &str| obj.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        BufferedPageContext {
            canonical: obj
                .get("c")
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty())
                .map(str::to_owned),
            path: s("p"),
            url: s("u"),
            search: s("s"),
            title: s("t"),
            referrer: s("r"),
        }
    }

    /// `createPageContext`: `{path, referrer, search, title, url}` with canonical rules.
    pub fn to_page_context(&self) -> Map {
        let (path, url) = match &self.canonical {
            Some(c) => {
                let url = if find_byte(c, b'?').is_some() {
                    c.clone()
                } else {
                    crate::json::concat(&[c.as_str(), &self.search])
                };
                (canonical_path(c), url)
            }
            None => {
                let url = match find_byte(&self.url, b'#') {
                    Some(i) => self.url.get(..i).unwrap_or("").to_owned(),
                    None => self.url.clone(),
                };
                (self.path.clone(), url)
            }
        };
        let mut m = Map::new();
        m.insert("path", Value::String(path));
        m.insert("referrer", Value::str(self.referrer.as_str()));
        m.insert("search", Value::str(self.search.as_str()));
        m.insert("title", Value::str(self.title.as_str()));
        m.insert("url", Value::String(url));
        m
    }
}

/// analytics.js's `parseCanonicalPath`: `new URL(canonical).pathname`, or the raw value
/// with a leading `/` where the `URL` constructor throws (the browser's parser:
/// [`crate::core::host::url_pathname`]).
pub fn canonical_path(canonical: &str) -> String {
    if let Some(path) = crate::core::host::url_pathname(canonical) {
        return path;
    }
    if canonical.starts_with("/") {
        canonical.to_owned()
    } else {
        crate::json::concat(&["/", canonical])
    }
}

/// analytics.js's `gracefulDecodeURIComponent`: `decodeURIComponent(s.replace(/\+/g, ' '))`
/// (the browser's: [`crate::core::host::decode_uri_component`]), or `s` unchanged where it
/// throws.
pub fn graceful_decode(s: &str) -> String {
    let replaced = replace_byte(s, b'+', " ");
    crate::core::host::decode_uri_component(&replaced).unwrap_or_else(|| s.to_owned())
}

/// analytics.js `utm(query)`: `utm_*` parameters to a campaign object (`utm_campaign` →
/// `name`; the key is whatever follows the first four characters; last duplicate wins).
pub fn campaign_from_query(search: &str) -> Map {
    let query = replace_byte(search.strip_prefix("?").unwrap_or(search), b'?', "&");
    let mut campaign = Map::new();
    for part in split_byte(&query, b'&') {
        let mut kv = split_byte(part, b'=');
        let key = kv.next().unwrap_or("");
        let value = kv.next().unwrap_or("");
        // What follows the first four characters (chars, not bytes).
        let name = key.char_indices().nth(4).and_then(|(at, _)| key.get(at..));
        if let (Some(_), Some(name)) = (find_sub(key, "utm_"), name) {
            let name = if name == "campaign" { "name" } else { name };
            campaign.insert(name, Value::String(graceful_decode(value)));
        }
    }
    campaign
}

/// Ad-click ids analytics.js recognises in the query (`btid` → dataxu, `urid` →
/// millennial-media; the first one found wins): `{id, type}` for `context.referrer`.
pub fn ad_referrer_from_query(search: &str) -> Option<Map> {
    let query = replace_byte(search.strip_prefix("?").unwrap_or(search), b'?', "&");
    for part in split_byte(&query, b'&') {
        let mut kv = split_byte(part, b'=');
        let kind = match kv.next() {
            Some("btid") => "dataxu",
            Some("urid") => "millennial-media",
            _ => continue,
        };
        let mut ad = Map::new();
        ad.insert("id", kv.next().map_or(Value::Null, Value::str));
        ad.insert("type", Value::str(kind));
        return Some(ad);
    }
    None
}

#[cfg(test)]
mod tests;
