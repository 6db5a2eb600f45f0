//! Loading definitions: limits, unknown fields, references; bad documents never take the
//! others down; every example of the spec's section 3 loads.
use super::sim::{j, T0};
use sieve::core::time::Millis;
use sieve::segments::Engine;

fn load(defs: &str) -> sieve::segments::LoadReport {
    Engine::new().load(Millis(T0), &j(defs))
}

pub const EXAMPLES: &[(&str, &str)] = &[
    (
        "company_fit",
        r#"{"traits": {"company.employees": {"$gte": 50, "$lt": 1000}, "company.industry": {"$ini": ["saas","fintech"]}, "plan": {"$in": ["pro","enterprise"]}}, "on": "user"}"#,
    ),
    (
        "activated",
        r#"{"event": {"name": "Report Created"}, "measure": "count", "window": {"type": "anchored", "anchor": {"event": {"name": "Signed Up"}}, "duration": "PT24H"}, "test": {"$gte": 1}}"#,
    ),
    (
        "lapsed",
        r#"{"and": [{"event": {"name": "Logged In"}, "measure": "exists", "window": {"type": "lifetime"}, "test": {"$eq": true}}, {"event": {"name": "Logged In"}, "measure": "since_last", "window": {"type": "lifetime"}, "test": {"$gte": "P14D"}}]}"#,
    ),
    (
        "checkout_abandoned",
        r#"{"funnel": {"steps": [{"name": "Checkout Started"}, {"name": "Shipping Entered"}, {"name": "Payment Entered"}, {"name": "Order Completed"}], "within": "P1D", "window": {"type": "rolling", "duration": "P30D"}}, "test": {"maxStep": {"$eq": 3}}, "settle": true}"#,
    ),
    (
        "forecasting_power",
        r#"{"event": {"name": "Module Used", "where": {"module": "forecasting"}}, "measure": "count", "window": {"type": "cycle", "anchor": {"trait": "billing_cycle_anchor"}, "period": "P1M"}, "test": {"$gt": 5}}"#,
    ),
    (
        "core_3_in_7",
        r#"{"event": {"name": "Core Feature Used"}, "measure": "count", "window": {"type": "rolling", "duration": "P7D"}, "test": {"$gte": 3}}"#,
    ),
    (
        "core_dormant",
        r#"{"event": {"name": "Core Feature Used"}, "measure": "count", "window": {"type": "rolling", "duration": "P21D"}, "test": {"$eq": 0}}"#,
    ),
    (
        "sessions_down",
        r#"{"compare": {"current": {"event": {"name": "$session_start"}, "measure": "count", "window": {"type": "rolling", "duration": "P14D"}}, "baseline": {"event": {"name": "$session_start"}, "measure": "count", "window": {"type": "rolling", "duration": "P14D", "offset": "P14D"}}}, "test": {"ratio": {"$lte": 0.5}}, "baselineMin": 4}"#,
    ),
];

pub fn all_examples() -> String {
    let mut out = String::from("[");
    for (key, cond) in EXAMPLES {
        out.push_str(&format!(
            r#"{{"key": "{key}", "version": 1, "condition": {cond}}},"#
        ));
    }
    out.push_str(r#"{"key": "high_mrr", "condition": {"traits": {"mrr": {"$gte": 1000}}, "on": "group"}, "exitCondition": {"traits": {"mrr": {"$lt": 900}}, "on": "group"}},"#);
    out.push_str(r#"{"key": "churn_risk", "condition": {"segment": "core_dormant"}},"#);
    out.push_str(r#"{"key": "healthy_big", "condition": {"and": [{"segment": "high_mrr"}, {"not": {"segment": "churn_risk"}}]}, "membership": {"onUnknown": "hold", "minDwell": "PT0S", "exitGrace": "PT0S", "reentry": "allow"}, "outputs": {"track": true, "identify": false}}]"#);
    out
}

#[test]
fn every_section_3_example_loads() {
    let report = load(&all_examples());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_eq!(report.accepted.len(), EXAMPLES.len() + 3);
    assert!(
        report.history_bound > 0 && report.history_bound <= 64 * 1024,
        "{}",
        report.history_bound
    );
}

/// (definitions, expected (key, path, message fragment)) — the valid neighbour still loads.
#[test]
fn bad_documents_are_reported_with_key_path_and_limit() {
    let deep = {
        let mut c = String::from(r#"{"traits": {"a": 1}}"#);
        for _ in 0..16 {
            c = format!(r#"{{"not": {c}}}"#);
        }
        c
    };
    let wide = {
        let items: Vec<String> = (0..300)
            .map(|i| format!(r#"{{"traits": {{"a": {i}}}}}"#))
            .collect();
        format!(r#"{{"or": [{}]}}"#, items.join(","))
    };
    let long_regex = format!(
        r#"{{"traits": {{"ua": {{"$regex": "{}"}}}}}}"#,
        "a".repeat(257)
    );
    let cases: Vec<(String, &str, &str, &str)> = vec![
        (r#"{"traits": {"a": 1}, "bogus": 1}"#.into(), "bad", "[0].condition.bogus", "unknown field"),
        (r#"{"event": {"name": "X", "colour": "red"}, "measure": "count", "test": {"$gt": 1}}"#.into(), "bad", "[0].condition.event.colour", "unknown field"),
        (r#"{"event": {"name": "X"}, "measure": "count", "window": {"type": "rolling", "duration": "7 days"}, "test": {"$gt": 1}}"#.into(), "bad", "[0].condition.window.duration", "ISO 8601"),
        (r#"{"event": {"name": "X"}, "measure": "median", "test": {"$gt": 1}}"#.into(), "bad", "[0].condition.measure", "unexpected value"),
        (deep, "bad", "[0].condition", "limit of 16"),
        (wide, "bad", "[0].condition", "limit of 256"),
        (long_regex, "bad", "[0].condition.traits", "256 characters"),
        (r#"{"segment": "nope"}"#.into(), "bad", "[0].condition", "unknown"),
        (r#"{"and": []}"#.into(), "bad", "[0].condition.and", "at least one"),
    ];
    for (cond, key, path, msg) in cases {
        let defs = format!(
            r#"[{{"key": "bad", "condition": {cond}}}, {{"key": "good", "condition": {{"traits": {{"a": 1}}}}}}]"#
        );
        let report = load(&defs);
        assert_eq!(
            report
                .accepted
                .iter()
                .map(|k| k.0.as_str())
                .collect::<Vec<_>>(),
            ["good"],
            "{defs}"
        );
        assert!(
            report
                .errors
                .iter()
                .any(|e| e.key == key && e.path == path && e.message.contains(msg)),
            "{path}: {:?}",
            report.errors
        );
    }
}

#[test]
fn top_level_problems() {
    let report = load(
        r#"[{"key": "Bad-Key", "condition": {"traits": {}}}, {"key": "a", "condition": {"traits": {}}, "extra": true}, {"key": "a2", "condition": {"traits": {}}}, {"key": "a2", "condition": {"traits": {}}}]"#,
    );
    let paths: Vec<&str> = report.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["[0].key", "[1].extra", "[3].key"]);
    assert_eq!(report.accepted.len(), 1);
    let report = load(r#"{"key": "x"}"#);
    assert_eq!(report.errors.len(), 1);
}

#[test]
fn cycles_and_references() {
    let report = load(
        r#"[{"key": "a", "condition": {"segment": "b"}}, {"key": "b", "condition": {"segment": "a"}}, {"key": "c", "condition": {"segment": "c"}}, {"key": "d", "condition": {"segment": "e"}}, {"key": "e", "condition": {"traits": {"x": 1}}}]"#,
    );
    let keys: Vec<&str> = report.accepted.iter().map(|k| k.0.as_str()).collect();
    assert_eq!(keys, ["d", "e"]);
    assert!(
        report
            .errors
            .iter()
            .filter(|e| e.message.contains("cycle"))
            .count()
            == 3,
        "{:?}",
        report.errors
    );
}

#[test]
fn limit_of_64_segments() {
    let items: Vec<String> = (0..70)
        .map(|i| format!(r#"{{"key": "s{i}", "condition": {{"traits": {{"a": 1}}}}}}"#))
        .collect();
    let report = load(&format!("[{}]", items.join(",")));
    assert_eq!(report.accepted.len(), 64);
    assert_eq!(report.errors.len(), 6);
    assert!(
        report.errors[0].message.contains("64")
            && report.errors[0].path == "[64]"
            && report.errors[0].key == "s64"
    );
}

#[test]
fn history_budget_is_a_load_error() {
    let mut engine = Engine::new();
    engine.set_history_budget(2_000);
    let defs = r#"[{"key": "small", "condition": {"event": {"name": "A"}, "measure": "count", "window": {"type": "rolling", "duration": "P1D"}, "test": {"$gte": 3}}},
                  {"key": "big", "condition": {"event": {"name": "B"}, "measure": {"sum": "amount"}, "window": {"type": "rolling", "duration": "P365D"}, "test": {"$gte": 3}}}]"#;
    let report = engine.load(Millis(T0), &j(defs));
    assert_eq!(
        report
            .accepted
            .iter()
            .map(|k| k.0.as_str())
            .collect::<Vec<_>>(),
        ["small"]
    );
    assert!(report.errors[0].key == "big" && report.errors[0].message.contains("128 KB"));
    assert!(report.history_bound <= 2_000);
}

/// A pattern `RegExp` refuses (natively regex-lite stands in) is reported as a warning; the
/// definition loads and the test is UNKNOWN, or GrowthBook's `false` with `"missing": "gb"`.
#[test]
fn refused_regex_is_a_warning_and_the_test_is_unknown() {
    for (missing, member) in [("unknown", None), ("gb", Some(false))] {
        let mut engine = Engine::new();
        let defs = format!(
            r#"[{{"key": "s", "condition": {{"traits": {{"name": {{"$regex": "(unclosed"}}}}, "missing": "{missing}"}}}}]"#
        );
        let report = engine.load(Millis(T0), &j(&defs));
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        assert_eq!(report.warnings.len(), 1);
        assert_eq!(report.warnings[0].path, "[0].condition.traits");
        assert!(report.warnings[0].message.contains("RegExp"));
        engine.handle_traits(Millis(T0), Some(&j(r#"{"name": "(unclosed"}"#)), None);
        assert_eq!(engine.is_member("s"), member, "missing: {missing}");
    }
}
