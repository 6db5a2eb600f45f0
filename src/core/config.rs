//! Settings (CDN settings) and load options, parsed once into [`Config`]; every default is
//! named here. Pure: the JSON texts arrive from the driver.

use crate::core::identity::{Keys, Stores};
use crate::core::retry::{Behavior, DEFAULT_OVERRIDES};
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

/// Retry policy knobs (analytics.js `httpConfig.backoffConfig` / `rateLimitConfig`).
#[derive(Clone, Debug, PartialEq)]
pub struct RetryConfig {
    /// Attempts after the first before an event is dropped.
    pub max_retry_count: u32,
    /// First backoff (ms).
    pub base_backoff_ms: u64,
    /// Backoff ceiling (ms).
    pub max_backoff_ms: u64,
    /// Jitter, in percent of the backoff.
    pub jitter_percent: u64,
    /// Ceiling for a `Retry-After` (ms).
    pub max_retry_after_ms: u64,
    /// An event still failing this long after it was accepted is dropped (ms).
    pub max_total_backoff_ms: u64,
    /// `statusCodeOverrides`: per-status retry/drop.
    pub overrides: Vec<(u16, Behavior)>,
    /// `default4xxBehavior` (drop).
    pub default_4xx: Behavior,
    /// `default5xxBehavior` (retry).
    pub default_5xx: Behavior,
}

impl Default for RetryConfig {
    fn default() -> RetryConfig {
        RetryConfig {
            max_retry_count: 10,
            base_backoff_ms: 500,
            max_backoff_ms: 60_000,
            jitter_percent: 10,
            max_retry_after_ms: 300_000,
            max_total_backoff_ms: 43_200_000,
            overrides: DEFAULT_OVERRIDES.to_vec(),
            default_4xx: Behavior::Drop,
            default_5xx: Behavior::Retry,
        }
    }
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
    /// option: the visitor's current segment keys, set by the shim as memberships change).
    pub context_segments: Option<Value>,
}

fn obj<'a>(v: Option<&'a Value>) -> Option<&'a Map> {
    v.and_then(Value::as_object)
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0 && !x.is_nan()),
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

fn num(v: Option<&Value>) -> Option<f64> {
    v.and_then(Value::as_f64).filter(|x| x.is_finite())
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
        let empty = Map::new();
        let cdn_io = obj(settings.get("integrations").and_then(|i| i.get("Segment.io"))).unwrap_or(&empty);
        let init_integrations = obj(options.get("integrations")).unwrap_or(&empty);
        let mut io = cdn_io.clone();
        if let Some(Value::Object(init_io)) = init_integrations.get("Segment.io") {
            io.extend(init_io.clone());
        }
        let s = |m: &Map, k: &str| m.get(k).and_then(Value::as_str).map(str::to_owned);
        let api_host = s(&io, "apiHost").filter(|h| !h.is_empty()).unwrap_or_else(|| DEFAULT_API_HOST.to_owned());
        let protocol = s(&io, "protocol").filter(|p| !p.is_empty()).unwrap_or_else(|| "https".to_owned());

        let delivery = obj(io.get("deliveryStrategy")).unwrap_or(&empty);
        let dconf = obj(delivery.get("config")).unwrap_or(&empty);
        let strategy = match delivery.get("strategy").and_then(Value::as_str) {
            Some("standard") => Strategy::Standard,
            _ => Strategy::Batching {
                size: num(dconf.get("size")).map_or(DEFAULT_BATCH_SIZE, |n| n.clamp(1.0, 1000.0) as usize),
                timeout_ms: num(dconf.get("timeout")).map_or(DEFAULT_BATCH_TIMEOUT_MS, |n| n.clamp(0.0, 3.6e6) as u64),
            },
        };
        let keepalive = dconf.get("keepalive").is_some_and(truthy);

        // httpConfig: defaults ← init ← CDN (CDN wins), clamped as analytics.js clamps.
        let mut http = Map::new();
        let mut status_overrides = Map::new();
        let init_http = init_integrations.get("Segment.io").and_then(|io| io.get("httpConfig"));
        for source in [init_http, cdn_io.get("httpConfig")] {
            if let Some(Value::Object(h)) = source {
                http.extend(h.clone());
                // statusCodeOverrides are deep-merged (the CDN's entries win).
                if let Some(Value::Object(o)) = h.get("statusCodeOverrides") {
                    status_overrides.extend(o.clone());
                }
            }
        }
        let backoff = obj(http.get("backoffConfig")).unwrap_or(&empty);
        let rate = obj(http.get("rateLimitConfig")).unwrap_or(&empty);
        let defaults = RetryConfig::default();
        let mut retry = RetryConfig {
            max_retry_count: num(backoff.get("maxRetryCount")).map_or(defaults.max_retry_count, |n| n.clamp(0.0, 100.0) as u32),
            base_backoff_ms: clamp_ms(backoff.get("baseBackoffInterval"), defaults.base_backoff_ms, 0.1, 300.0),
            max_backoff_ms: clamp_ms(backoff.get("maxBackoffInterval"), defaults.max_backoff_ms, 0.1, 86_400.0),
            jitter_percent: num(backoff.get("jitterPercent")).map_or(defaults.jitter_percent, |n| n.clamp(0.0, 100.0) as u64),
            max_retry_after_ms: clamp_ms(rate.get("maxRetryInterval"), defaults.max_retry_after_ms, 0.1, 86_400.0),
            max_total_backoff_ms: clamp_ms(backoff.get("maxTotalBackoffDuration"), defaults.max_total_backoff_ms, 60.0, 604_800.0),
            default_4xx: behavior(http.get("default4xxBehavior")).unwrap_or(defaults.default_4xx),
            default_5xx: behavior(http.get("default5xxBehavior")).unwrap_or(defaults.default_5xx),
            overrides: defaults.overrides.clone(),
        };
        for (code, value) in status_overrides.iter() {
            let (Some(code), Some(b)) = (json::parse_u64(code).and_then(|n| u16::try_from(n).ok()), behavior(Some(value))) else { continue };
            match retry.overrides.iter_mut().find(|(c, _)| *c == code) {
                Some(slot) => slot.1 = b,
                None => retry.overrides.push((code, b)),
            }
        }
        if let Some(n) = num(dconf.get("maxRetries")) {
            retry.max_retry_count = n.clamp(0.0, 100.0) as u32;
        }

        // Init integrations are copied into events as booleans.
        let integrations: Map = init_integrations.iter().map(|(k, v)| (k.to_owned(), Value::Bool(truthy(v)))).collect();
        let io_setting = init_integrations.get("Segment.io");
        let segment_io = !(matches!(io_setting, Some(Value::Bool(false)))
            || (matches!(init_integrations.get("All"), Some(Value::Bool(false))) && !io_setting.is_some_and(truthy)));

        let disable_persistence = options.get("disableClientPersistence").is_some_and(truthy);
        let stores = if disable_persistence {
            Stores::MEMORY
        } else {
            match options.get("storage").and_then(|s| s.get("stores")).and_then(Value::as_array) {
                Some(list) => {
                    let names: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
                    let pos = |n: &str| names.iter().position(|x| *x == n);
                    Stores {
                        cookie: pos("cookie").is_some(),
                        local: pos("localStorage").is_some(),
                        local_first: match (pos("localStorage"), pos("cookie")) {
                            (Some(l), Some(c)) => l < c,
                            _ => true,
                        },
                    }
                }
                None => Stores::DEFAULT,
            }
        };
        let cookie_opts = obj(options.get("cookie")).unwrap_or(&empty);
        let cookie = CookieConfig {
            maxage_days: num(cookie_opts.get("maxage")).map_or(DEFAULT_COOKIE_MAXAGE_DAYS, |d| d.max(0.0) as u64),
            domain: s(cookie_opts, "domain").filter(|d| !d.is_empty()),
            path: s(cookie_opts, "path").unwrap_or_else(|| "/".to_owned()),
            same_site: s(cookie_opts, "sameSite").unwrap_or_else(|| "Lax".to_owned()),
            secure: cookie_opts.get("secure").is_some_and(truthy),
        };
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
            keys: {
                let key = |who: &str, store: &str| {
                    options.get(who).and_then(|o| o.get(store)).and_then(|o| o.get("key")).and_then(Value::as_str).filter(|k| !k.is_empty())
                };
                let defaults = Keys::default();
                Keys {
                    user_id: key("user", "cookie").map_or(defaults.user_id, str::to_owned),
                    user_traits: key("user", "localStorage").map_or(defaults.user_traits, str::to_owned),
                    group_id: key("group", "cookie").map_or(defaults.group_id, str::to_owned),
                    group_traits: key("group", "localStorage").map_or(defaults.group_traits, str::to_owned),
                }
            },
            context_segments: None,
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
