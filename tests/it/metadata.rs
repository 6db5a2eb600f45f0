//! `_metadata` on API events, member for member as analytics-next 1.84.3's Segment.io plugin
//! (`normalize`) writes it: `failedInitializations`, `retryCount`, then `bundled`,
//! `unbundled` (sorted) and `bundledIds` from the CDN settings, merged into one object.

use crate::sim::Sim;
use sieve::core::delivery::SendOutcome;
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
