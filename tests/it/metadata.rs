//! `_metadata` on API events, member for member as analytics-next 1.84.3's Segment.io plugin
//! (`normalize`) writes it: `failedInitializations`, `retryCount`, then `bundled`,
//! `unbundled` (sorted) and `bundledIds` from the CDN settings, merged into one object.
//! The lists are the device-mode part's (`destinations::Router::metadata`), handed to the
//! core as the shim does (`set_metadata`); a plain page's are the core's own constant.

use crate::sim::Sim;
use sieve::core::delivery::SendOutcome;
use sieve::destinations::Router;
use sieve::json::{self, Value};

const BATCH: &str = r#""deliveryStrategy":{"strategy":"batching","config":{"size":1}}"#;

/// The `_metadata` of the first event sent with these CDN integrations (JSON object text
/// without the batching strategy, which is added) and load options.
fn metadata_of(integrations: &str, options: &str) -> Option<Value> {
    let mut settings = json::parse(&format!(r#"{{"integrations":{integrations}}}"#)).unwrap();
    if let Some(Value::Object(io)) = settings
        .as_object_mut()
        .and_then(|s| s.get_mut("integrations"))
        .and_then(|i| i.as_object_mut())
        .and_then(|i| i.get_mut("Segment.io"))
    {
        let strategy = json::parse(&format!("{{{BATCH}}}")).unwrap();
        io.extend(strategy.as_object().unwrap().clone());
    }
    let mut sim = Sim::new(&settings.to_json(), options);
    // As js/destinations.js does once the part is in (before held events are queued).
    if sim.core.device_mode() {
        let router = Router::new(settings.clone(), &json::parse(options).unwrap(), "");
        sim.core.set_metadata(&router.metadata());
    }
    sim.track("Metadata");
    sim.advance(6_000);
    sim.batch(0)[0].get("_metadata").cloned()
}

#[test]
fn bundling_lists_follow_analytics_next() {
    let table: &[(&str, &str, &str, Option<&str>)] = &[
        (
            "Segment.io alone: bundled lists it (also when no destination loads)",
            r#"{"Segment.io":{"apiKey":"k"}}"#,
            "{}",
            Some(r#"{"bundled":["Segment.io"],"unbundled":[],"bundledIds":[]}"#),
        ),
        (
            "bundlingStatus sorts names into the lists, sorted as JavaScript sorts (UTF-16)",
            r#"{"Segment.io":{},"b":{"bundlingStatus":"bundled"},"Zeta":{"bundlingStatus":"bundled"},
                "Amp":{"bundlingStatus":"unbundled"},"x":{"type":"browser"},"\u00e9":{"bundlingStatus":"bundled"},
                "\ud83d\ude00":{"bundlingStatus":"bundled"},"\uff5e":{"bundlingStatus":"bundled"}}"#,
            "{}",
            Some(
                r#"{"bundled":["Segment.io","Zeta","b","é","😀","～"],"unbundled":["Amp"],"bundledIds":[]}"#,
            ),
        ),
        (
            "unbundledIntegrations are added once; maybeBundledConfigIds in bundled order",
            r#"{"Segment.io":{"unbundledIntegrations":["Amp","Cloud","Cloud"],
                "maybeBundledConfigIds":{"GA":["id-ga"],"Segment.io":["id-s",2],"Amp":["id-a"],"Bad":"x"}},
                "GA":{"bundlingStatus":"bundled"},"Amp":{"bundlingStatus":"unbundled"},"Bad":{"bundlingStatus":"bundled"}}"#,
            "{}",
            Some(
                r#"{"bundled":["Bad","GA","Segment.io"],"unbundled":["Amp","Cloud"],"bundledIds":["id-ga","id-s",2]}"#,
            ),
        ),
        (
            "Segment.io with bundlingStatus bundled is listed twice, as analytics.js does",
            r#"{"Segment.io":{"bundlingStatus":"bundled"}}"#,
            "{}",
            Some(r#"{"bundled":["Segment.io","Segment.io"],"unbundled":[],"bundledIds":[]}"#),
        ),
        (
            "addBundledMetadata false: no _metadata at all on a first attempt",
            r#"{"Segment.io":{"addBundledMetadata":false},"GA":{"bundlingStatus":"bundled"}}"#,
            "{}",
            None,
        ),
        (
            "init options for Segment.io merge over the CDN's",
            r#"{"Segment.io":{"addBundledMetadata":false}}"#,
            r#"{"integrations":{"Segment.io":{"addBundledMetadata":true,"unbundledIntegrations":["Init"]}}}"#,
            Some(r#"{"bundled":["Segment.io"],"unbundled":["Init"],"bundledIds":[]}"#),
        ),
    ];
    for (what, integrations, options, want) in table {
        let got = metadata_of(integrations, options);
        let want = want.map(|w| json::parse(w).unwrap());
        assert_eq!(got, want, "{what}");
        if let (Some(got), Some(want)) = (&got, &want) {
            // Same members in the same order, as analytics.js builds the object.
            assert_eq!(got.to_json(), want.to_json(), "{what}: member order");
        }
    }
}

#[test]
fn failed_initializations_and_retry_count_merge_into_one_object() {
    let settings = format!(r#"{{"integrations":{{"Segment.io":{{{BATCH}}}}}}}"#);
    let mut sim = Sim::new(&settings, "{}");
    sim.core
        .set_failed_initializations(r#"["GA","Broken \"one\""]"#);
    sim.track("First");
    sim.advance(10);
    sim.network.push_back(SendOutcome {
        status: 500,
        retry_after: None,
    });
    sim.answer_all();
    // Until the retry leaves (advance stops once a request is in flight).
    sim.advance(60_000);
    let body = &sim.sent[1].1.body;
    assert_eq!(
        body.matches("\"_metadata\"").count(),
        1,
        "one _metadata member: {body}"
    );
    assert_eq!(
        sim.batch(1)[0].get("_metadata").unwrap().to_json(),
        r#"{"failedInitializations":["GA","Broken \"one\""],"retryCount":1,"bundled":["Segment.io"],"unbundled":[],"bundledIds":[]}"#
    );
    // Cleared: later events no longer carry it.
    sim.core.set_failed_initializations("[]");
    sim.answer_all();
    sim.track("Second");
    sim.advance(10);
    let last = sim.batch(sim.sent.len() - 1);
    assert_eq!(
        last[0].get("_metadata").unwrap().to_json(),
        r#"{"bundled":["Segment.io"],"unbundled":[],"bundledIds":[]}"#
    );
}

/// Which settings need the device-mode part, and what a plain page (or a device-mode page
/// before the part has set the lists, or without it) sends.
#[test]
fn plain_pages_have_constant_lists_and_others_wait_for_the_part() {
    let table: &[(&str, &str, &str, bool, Option<&str>)] = &[
        (
            "Segment.io alone is a plain page",
            r#"{"integrations":{"Segment.io":{"apiKey":"k","unbundledIntegrations":[],"maybeBundledConfigIds":{}}},"remotePlugins":[],"enabledMiddleware":{}}"#,
            "{}",
            false,
            Some(r#"{"bundled":["Segment.io"],"unbundled":[],"bundledIds":[]}"#),
        ),
        (
            "no integrations at all: nothing bundled",
            "{}",
            "{}",
            false,
            Some(r#"{"bundled":[],"unbundled":[],"bundledIds":[]}"#),
        ),
        (
            "addBundledMetadata false: no lists",
            r#"{"integrations":{"Segment.io":{"addBundledMetadata":false}}}"#,
            "{}",
            false,
            None,
        ),
        (
            "another integration (classic or cloud) needs the part; no lists until it is in",
            r#"{"integrations":{"Segment.io":{},"GA":{"bundlingStatus":"bundled"}}}"#,
            "{}",
            true,
            None,
        ),
        (
            "one integration that is not Segment.io",
            r#"{"integrations":{"GA":{"type":"browser"}}}"#,
            "{}",
            true,
            None,
        ),
        (
            "Actions destinations",
            r#"{"remotePlugins":[{"name":"x"}]}"#,
            "{}",
            true,
            None,
        ),
        (
            "remote middleware",
            r#"{"enabledMiddleware":{"@segment/m":true}}"#,
            "{}",
            true,
            None,
        ),
        (
            "a tracking plan option",
            "{}",
            r#"{"plan":{"track":{}}}"#,
            true,
            None,
        ),
        (
            "Segment.io's own bundlingStatus changes the lists",
            r#"{"integrations":{"Segment.io":{"bundlingStatus":"bundled"}}}"#,
            "{}",
            true,
            None,
        ),
        (
            "unbundledIntegrations (also from the load options) change the lists",
            r#"{"integrations":{"Segment.io":{}}}"#,
            r#"{"integrations":{"Segment.io":{"unbundledIntegrations":["Amp"]}}}"#,
            true,
            None,
        ),
        (
            "maybeBundledConfigIds for Segment.io change the lists",
            r#"{"integrations":{"Segment.io":{"maybeBundledConfigIds":{"Segment.io":["id"]}}}}"#,
            "{}",
            true,
            None,
        ),
    ];
    for (what, settings, options, device, want) in table {
        // The default batch timeout (5 s) sends the first event.
        let mut sim = Sim::new(settings, options);
        assert_eq!(sim.core.device_mode(), *device, "{what}: device mode");
        sim.track("Metadata");
        sim.advance(6_000);
        let got = sim.batch(0)[0].get("_metadata").cloned();
        assert_eq!(
            got.map(|m| m.to_json()),
            want.map(str::to_owned),
            "{what}: _metadata"
        );
    }
}
