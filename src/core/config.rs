//! Settings (CDN settings) and load options, parsed once into [`Config`]; every default is
//! named here. Pure: the JSON texts arrive from the driver.

use crate::core::identity::{
    Keys, Stores, GROUP_ID_KEY, GROUP_TRAITS_KEY, USER_ID_KEY, USER_TRAITS_KEY,
};
use crate::core::retry::{Behavior, RetryConfig};
use crate::json::{self, Map, Value};

/// The library name in `context.library`.
pub const LIBRARY_NAME: &str = "sieve-analytics";
/// The library version in `context.library` (the crate version).
pub const LIBRARY_VERSION: &str = env!("CARGO_PKG_VERSION");
/// analytics.js's default API host.
pub const DEFAULT_API_HOST: &str = "api.segment.io/v1";
/// Default batch size (events).
pub const DEFAULT_BATCH_SIZE: usize = 10;
/// Default batch timeout (ms).
pub const DEFAULT_BATCH_TIMEOUT_MS: u64 = 5_000;
/// Default cookie lifetime (days).
pub const DEFAULT_COOKIE_MAXAGE_DAYS: u64 = 365;

/// How events reach the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// `POST /batch` with up to `size` events, at the latest `timeout_ms` after the first.
    Batching {
        /// Events per batch.
        size: usize,
        /// Longest wait before a partial batch is sent.
        timeout_ms: u64,
    },
    /// One request per event to `/t`, `/p`, `/i`, `/g`, `/a`, `/s`.
    Standard,
}

/// Cookie attributes (analytics.js `cookie` option).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CookieConfig {
    /// Lifetime in days.
    pub maxage_days: u64,
    /// Explicit domain; `None` ⇒ probed by the driver.
    pub domain: Option<String>,
    /// Path.
    pub path: String,
    /// SameSite value.
    pub same_site: String,
    /// `secure` attribute.
    pub secure: bool,
}

/// Everything the core needs to know about this instance, parsed once.
#[derive(Clone, Debug)]
pub struct Config {
    /// The source write key.
    pub write_key: String,
    /// API host, possibly with a scheme.
    pub api_host: String,
    /// `https` unless configured.
    pub protocol: String,
    /// Delivery strategy.
    pub strategy: Strategy,
    /// Send with `keepalive: true` always (not only on page hide).
    pub keepalive: bool,
    /// Retry policy.
    pub retry: RetryConfig,
    /// Init `integrations`, coerced to booleans (copied into every event).
    pub integrations: Map,
    /// Whether events go to the API at all: analytics.js skips its Segment.io destination
    /// when init `integrations` has `'Segment.io': false`, or `All: false` without a truthy
    /// `'Segment.io'`.
    pub segment_io: bool,
    /// Identity stores.
    pub stores: Stores,
    /// Cookie attributes.
    pub cookie: CookieConfig,
    /// Storage key names (`user`/`group` load options).
    pub keys: Keys,
    /// `context.segments` for every event built (the `segments: {stampContext: true}` load
    /// option: an object of segment key → membership, set by the shim as memberships change).
    pub context_segments: Option<Value>,
    /// The bundling members of every API event's `_metadata` (`"bundled":[…],"unbundled":[…],
    /// "bundledIds":[…]`), or empty: none. On a page without device mode they are constant
    /// ([`plain_metadata`]); with it, the lazy device-mode part computes them from the settings
    /// (`destinations::Router::metadata`) and sets them; until then (and for good when the part
    /// cannot be loaded) events carry no bundling lists.
    pub metadata: String,
    /// Whether the page needs device mode ([`needs_device_mode`]): the shim then loads the
    /// lazy destinations part.
    pub device_mode: bool,
    /// `"failedInitializations":[…]` while some destination or plugin failed to load (set
    /// by the shim), else empty: the first member of `_metadata`, as analytics.js writes it.
    pub failed_initializations: String,
}

/// Whether a page with these settings and load options needs the lazy device-mode part: the
/// CDN's integrations name more than `Segment.io` (classic or cloud destinations, whose
/// `_metadata` lists the part writes), `remotePlugins` (Actions destinations),
/// `enabledMiddleware` (remote middleware), the `plan` load option, or `Segment.io` settings
/// that make `_metadata`'s lists depend on the settings (`bundlingStatus`,
/// `unbundledIntegrations`, `maybeBundledConfigIds`). A superset is harmless (the part's router
/// decides what loads, and writes the lists); everything else is a plain page, whose lists
/// are [`plain_metadata`].
fn needs_device_mode(options: &Value, named: &[Option<&Value>; 6]) -> bool {
    options.get("plan").is_some() || named.iter().any(|v| filled(*v))
}

/// A non-empty object or array.
fn filled(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Object(m)) => !m.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(v) => !v.is_null(),
        None => false,
    }
}

/// `_metadata`'s lists on a plain page (see [`needs_device_mode`]), as analytics.js's
/// Segment.io plugin writes them: `Segment.io` bundled when the CDN's integrations name it,
/// nothing else; no lists with `addBundledMetadata: false`.
fn plain_metadata(named: bool, io: Option<&Value>) -> &'static str {
    if matches!(io, Some(Value::Bool(false))) {
        ""
    } else if named {
        r#""bundled":["Segment.io"],"unbundled":[],"bundledIds":[]"#
    } else {
        r#""bundled":[],"unbundled":[],"bundledIds":[]"#
    }
}

fn obj(v: Option<&Value>) -> Option<&Map> {
    v.and_then(Value::as_object)
}

/// `key` in `first`, else in `second` (a lookup in `{...second, ...first}`).
fn pick<'a>(first: Option<&'a Map>, second: Option<&'a Map>, key: &str) -> Option<&'a Value> {
    first
        .and_then(|m| m.get(key))
        .or_else(|| second.and_then(|m| m.get(key)))
}

/// A non-empty string value.
fn nonempty(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => number(n).is_some_and(|x| x != 0.0),
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

/// A number's value, parsed by the browser ([`crate::core::host::number`]).
fn number(n: &crate::json::Number) -> Option<f64> {
    crate::core::host::number(n.as_str())
}

fn num(v: Option<&Value>) -> Option<f64> {
    match v {
        Some(Value::Number(n)) => number(n).filter(|x| x.is_finite()),
        _ => None,
    }
}

fn behavior(v: Option<&Value>) -> Option<Behavior> {
    match v.and_then(Value::as_str) {
        Some("retry") => Some(Behavior::Retry),
        Some("drop") => Some(Behavior::Drop),
        _ => None,
    }
}

fn clamp_ms(v: Option<&Value>, default_ms: u64, lo_s: f64, hi_s: f64) -> u64 {
    num(v).map_or(default_ms, |s| (s.clamp(lo_s, hi_s) * 1000.0) as u64)
}

impl Config {
    /// Builds the config from CDN settings and load options (both JSON objects; anything
    /// else counts as `{}`). Init-option values for `Segment.io` are merged over the CDN's,
    /// as analytics.js `mergedOptions` does; the CDN's `httpConfig` wins, as in analytics.js.
    pub fn from_settings(write_key: &str, settings: &Value, options: &Value) -> Config {
        let cdn_integrations = obj(settings.get("integrations"));
        let cdn_io = obj(cdn_integrations.and_then(|i| i.get("Segment.io")));
        let init_integrations = obj(options.get("integrations"));
        let init_io_value = init_integrations.and_then(|m| m.get("Segment.io"));
        let init_io = obj(init_io_value);
        // Lookups in the merged `Segment.io` settings ({...cdn, ...init}: init wins) without
        // building the merged map.
        let io = |k: &str| pick(init_io, cdn_io, k);
        let api_host = nonempty(io("apiHost"))
            .unwrap_or(DEFAULT_API_HOST)
            .to_owned();
        let protocol = nonempty(io("protocol")).unwrap_or("https").to_owned();

        let delivery = obj(io("deliveryStrategy"));
        let dconf = obj(delivery.and_then(|d| d.get("config")));
        let dget = |k: &str| dconf.and_then(|m| m.get(k));
        let strategy = match delivery
            .and_then(|d| d.get("strategy"))
            .and_then(Value::as_str)
        {
            Some("standard") => Strategy::Standard,
            _ => Strategy::Batching {
                size: num(dget("size"))
                    .map_or(DEFAULT_BATCH_SIZE, |n| n.clamp(1.0, 1000.0) as usize),
                timeout_ms: num(dget("timeout"))
                    .map_or(DEFAULT_BATCH_TIMEOUT_MS, |n| n.clamp(0.0, 3.6e6) as u64),
            },
        };
        let keepalive = dget("keepalive").is_some_and(truthy);

        // httpConfig: defaults ← init ← CDN (CDN wins, shallowly), clamped as analytics.js
        // clamps.
        let init_http = obj(init_io_value.and_then(|io| io.get("httpConfig")));
        let cdn_http = obj(cdn_io.and_then(|io| io.get("httpConfig")));
        let http = |k: &str| pick(cdn_http, init_http, k);
        let backoff = obj(http("backoffConfig"));
        let rate = obj(http("rateLimitConfig"));
        let bget = |k: &str| backoff.and_then(|m| m.get(k));
        let defaults = RetryConfig::default();
        let mut retry = RetryConfig {
            max_retry_count: num(bget("maxRetryCount"))
                .map_or(defaults.max_retry_count, |n| n.clamp(0.0, 100.0) as u32),
            base_backoff_ms: clamp_ms(
                bget("baseBackoffInterval"),
                defaults.base_backoff_ms,
                0.1,
                300.0,
            ),
            max_backoff_ms: clamp_ms(
                bget("maxBackoffInterval"),
                defaults.max_backoff_ms,
                0.1,
                86_400.0,
            ),
            jitter_percent: num(bget("jitterPercent"))
                .map_or(defaults.jitter_percent, |n| n.clamp(0.0, 100.0) as u64),
            max_retry_after_ms: clamp_ms(
                rate.and_then(|m| m.get("maxRetryInterval")),
                defaults.max_retry_after_ms,
                0.1,
                86_400.0,
            ),
            max_total_backoff_ms: clamp_ms(
                bget("maxTotalBackoffDuration"),
                defaults.max_total_backoff_ms,
                60.0,
                604_800.0,
            ),
            default_4xx: behavior(http("default4xxBehavior")).unwrap_or(defaults.default_4xx),
            default_5xx: behavior(http("default5xxBehavior")).unwrap_or(defaults.default_5xx),
            ..defaults
        };
        // statusCodeOverrides are deep-merged (the CDN's entries win), in the merged map's
        // order: init's keys first (with the CDN's value where it has one), then the CDN's own.
        let init_overrides = obj(init_http.and_then(|h| h.get("statusCodeOverrides")));
        let cdn_overrides = obj(cdn_http.and_then(|h| h.get("statusCodeOverrides")));
        let mut apply = |code: &str, value: &Value| {
            let (Some(code), Some(b)) = (
                json::parse_u64(code).and_then(|n| u16::try_from(n).ok()),
                behavior(Some(value)),
            ) else {
                return;
            };
            match retry.overrides.iter_mut().find(|(c, _)| *c == code) {
                Some(slot) => slot.1 = b,
                None => retry.overrides.push((code, b)),
            }
        };
        if let Some(init) = init_overrides {
            for (code, value) in init.iter() {
                apply(
                    code,
                    cdn_overrides.and_then(|m| m.get(code)).unwrap_or(value),
                );
            }
        }
        if let Some(cdn) = cdn_overrides {
            for (code, value) in cdn.iter() {
                if !init_overrides.is_some_and(|m| m.contains_key(code)) {
                    apply(code, value);
                }
            }
        }
        if let Some(n) = num(dget("maxRetries")) {
            retry.max_retry_count = n.clamp(0.0, 100.0) as u32;
        }

        // Init integrations are copied into events as booleans.
        let mut integrations = Map::new();
        if let Some(init) = init_integrations {
            for (k, v) in init.iter() {
                integrations.insert(k, Value::Bool(truthy(v)));
            }
        }
        let all_off = matches!(
            init_integrations.and_then(|m| m.get("All")),
            Some(Value::Bool(false))
        );
        let segment_io = !(matches!(init_io_value, Some(Value::Bool(false)))
            || (all_off && !init_io_value.is_some_and(truthy)));

        let disable_persistence = options.get("disableClientPersistence").is_some_and(truthy);
        let stores = if disable_persistence {
            Stores::MEMORY
        } else {
            match options
                .get("storage")
                .and_then(|s| s.get("stores"))
                .and_then(Value::as_array)
            {
                Some(list) => {
                    // Where each store is first listed.
                    let (mut cookie, mut local) = (None, None);
                    for (i, name) in list.iter().enumerate() {
                        match name.as_str() {
                            Some("cookie") if cookie.is_none() => cookie = Some(i),
                            Some("localStorage") if local.is_none() => local = Some(i),
                            _ => {}
                        }
                    }
                    Stores {
                        cookie: cookie.is_some(),
                        local: local.is_some(),
                        local_first: match (local, cookie) {
                            (Some(l), Some(c)) => l < c,
                            _ => true,
                        },
                    }
                }
                None => Stores::DEFAULT,
            }
        };
        let cookie_opts = obj(options.get("cookie"));
        let cget = |k: &str| cookie_opts.and_then(|m| m.get(k));
        let cs = |k: &str| cget(k).and_then(Value::as_str);
        let cookie = CookieConfig {
            maxage_days: num(cget("maxage"))
                .map_or(DEFAULT_COOKIE_MAXAGE_DAYS, |d| d.max(0.0) as u64),
            domain: nonempty(cget("domain")).map(str::to_owned),
            path: cs("path").unwrap_or("/").to_owned(),
            same_site: cs("sameSite").unwrap_or("Lax").to_owned(),
            secure: cget("secure").is_some_and(truthy),
        };
        let key = |who: &str, store: &str, default: &str| {
            nonempty(
                options
                    .get(who)
                    .and_then(|o| o.get(store))
                    .and_then(|o| o.get("key")),
            )
            .unwrap_or(default)
            .to_owned()
        };
        // The merged `Segment.io` settings exist only when the CDN's integrations name it.
        let named = cdn_integrations.is_some_and(|i| i.contains_key("Segment.io"));
        let merged_io = |k: &str| io(k).filter(|_| named);
        let device_mode = needs_device_mode(
            options,
            &[
                // More integrations than `Segment.io`.
                cdn_integrations
                    .filter(|i| i.len() > usize::from(named))
                    .map(|_| &Value::Bool(true)),
                settings.get("remotePlugins"),
                settings.get("enabledMiddleware"),
                cdn_io.and_then(|m| m.get("bundlingStatus")),
                io("unbundledIntegrations"),
                io("maybeBundledConfigIds").and_then(|ids| ids.get("Segment.io")),
            ],
        );
        Config {
            write_key: write_key.to_owned(),
            api_host,
            protocol,
            strategy,
            keepalive,
            retry,
            integrations,
            segment_io,
            stores,
            cookie,
            keys: Keys {
                user_id: key("user", "cookie", USER_ID_KEY),
                user_traits: key("user", "localStorage", USER_TRAITS_KEY),
                group_id: key("group", "cookie", GROUP_ID_KEY),
                group_traits: key("group", "localStorage", GROUP_TRAITS_KEY),
            },
            context_segments: None,
            metadata: if device_mode {
                String::new()
            } else {
                plain_metadata(named, merged_io("addBundledMetadata")).to_owned()
            },
            device_mode,
            failed_initializations: String::new(),
        }
    }

    /// `scheme://host/path` base for the API (no trailing slash).
    pub fn api_base(&self) -> String {
        let mut host = self.api_host.as_str();
        while let Some(h) = host.strip_suffix("/") {
            host = h;
        }
        if host.starts_with("http://") || host.starts_with("https://") {
            host.to_owned()
        } else {
            crate::json::concat(&[self.protocol.as_str(), "://", host])
        }
    }
}
