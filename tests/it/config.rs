//! `Config::from_settings`: how CDN settings and load options merge (init over CDN for
//! `Segment.io`, CDN over init for `httpConfig`, deep merge of `statusCodeOverrides`).

use sieve::core::config::{Config, Strategy};
use sieve::core::identity::Keys;
use sieve::core::retry::{Behavior, DEFAULT_OVERRIDES};
use sieve::json::{self, Value};

fn config(settings: &str, options: &str) -> Config {
    Config::from_settings(
        "WK",
        &json::parse(settings).unwrap(),
        &json::parse(options).unwrap(),
    )
}

#[test]
fn segment_io_settings_merge_init_over_cdn_and_http_config_cdn_over_init() {
    let settings = r#"{"integrations":{"Segment.io":{"apiHost":"cdn.test/v1","protocol":"http",
        "deliveryStrategy":{"config":{"size":5,"keepalive":1}},
        "httpConfig":{"statusCodeOverrides":{"500":"bogus","503":"drop","599":"retry"},"backoffConfig":{"maxRetryCount":3}}}}}"#;
    let options = r#"{"integrations":{"Segment.io":{"apiHost":"init.test/v1","protocol":"",
        "httpConfig":{"statusCodeOverrides":{"500":"retry","404":"retry"},"backoffConfig":{"maxRetryCount":7,"jitterPercent":0},"default5xxBehavior":"drop"}},
        "All":false,"Foo":1},
        "cookie":{"domain":"","path":"","maxage":2,"secure":true},"user":{"cookie":{"key":"uid"},"localStorage":{"key":""}}}"#;
    let c = config(settings, options);
    assert_eq!(c.api_host, "init.test/v1");
    assert_eq!(
        c.protocol, "https",
        "an empty init protocol wins the merge, then means the default"
    );
    assert_eq!(
        c.strategy,
        Strategy::Batching {
            size: 5,
            timeout_ms: 5_000
        }
    );
    assert!(c.keepalive);
    // The CDN's backoffConfig replaces init's as a whole.
    assert_eq!(c.retry.max_retry_count, 3);
    assert_eq!(c.retry.jitter_percent, 10);
    assert_eq!(c.retry.default_5xx, Behavior::Drop);
    // Init's keys first (the CDN's "bogus" 500 wins and is ignored), then the CDN's own.
    let mut overrides = DEFAULT_OVERRIDES.to_vec();
    overrides.extend([
        (404, Behavior::Retry),
        (503, Behavior::Drop),
        (599, Behavior::Retry),
    ]);
    assert_eq!(c.retry.overrides, overrides);
    let names: Vec<(&str, &Value)> = c.integrations.iter().collect();
    assert_eq!(
        names,
        [
            ("Segment.io", &Value::Bool(true)),
            ("All", &Value::Bool(false)),
            ("Foo", &Value::Bool(true))
        ]
    );
    assert!(c.segment_io);
    assert_eq!(c.cookie.domain, None);
    assert_eq!(c.cookie.path, "");
    assert_eq!(c.cookie.same_site, "Lax");
    assert_eq!(c.cookie.maxage_days, 2);
    assert!(c.cookie.secure);
    assert_eq!(
        c.keys,
        Keys {
            user_id: "uid".into(),
            ..Keys::default()
        }
    );
}

#[test]
fn defaults_and_segment_io_switches() {
    let c = config("{}", "{}");
    assert_eq!(c.api_host, "api.segment.io/v1");
    assert_eq!(c.protocol, "https");
    assert_eq!(c.retry.overrides, DEFAULT_OVERRIDES.to_vec());
    assert_eq!(c.api_base(), "https://api.segment.io/v1");
    assert!(c.segment_io);
    assert!(!config("{}", r#"{"integrations":{"Segment.io":false}}"#).segment_io);
    assert!(!config("{}", r#"{"integrations":{"All":false}}"#).segment_io);
    assert!(config("{}", r#"{"integrations":{"All":false,"Segment.io":true}}"#).segment_io);
    let standard =
        r#"{"integrations":{"Segment.io":{"deliveryStrategy":{"strategy":"standard"}}}}"#;
    assert_eq!(config(standard, "{}").strategy, Strategy::Standard);
    let stores = config(
        "{}",
        r#"{"storage":{"stores":["cookie","memory","localStorage"]}}"#,
    )
    .stores;
    assert!(stores.cookie && stores.local && !stores.local_first);
}
