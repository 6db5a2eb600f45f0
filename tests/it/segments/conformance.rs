//! GrowthBook `evalCondition` conformance, run from the vendored case files.
use sieve::json::{self, Value};
use sieve::segments::condition::{GbCondition, Missing};
use sieve::segments::Tri;

fn load(path: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    let doc = json::parse(&text).unwrap();
    doc.get("evalCondition")
        .and_then(Value::as_array)
        .unwrap()
        .clone()
}

/// Runs every case without saved groups; returns (passed, failures).
fn run(cases: &[Value]) -> (usize, Vec<String>) {
    let mut passed = 0;
    let mut failures = Vec::new();
    for case in cases {
        let parts = case.as_array().unwrap();
        if parts.len() > 4 {
            continue; // saved-group cases ($inGroup / $notInGroup)
        }
        let name = parts[0].as_str().unwrap();
        let cond = GbCondition::new(parts[1].clone());
        let want = if parts[3].as_bool().unwrap() {
            Tri::True
        } else {
            Tri::False
        };
        let got = cond.eval(&parts[2], Missing::Gb);
        if got == want {
            passed += 1;
        } else {
            failures.push(format!("{name}: want {want:?} got {got:?}"));
        }
    }
    (passed, failures)
}

#[test]
fn growthbook_eval_condition_240_cases() {
    let cases = load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/growthbook-evalCondition.json"
    ));
    assert_eq!(cases.len(), 248);
    let (passed, failures) = run(&cases);
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(passed, 240);
}

#[test]
fn growthbook_rust_extra_cases() {
    let cases = load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/growthbook-rust/evalCondition-extras.json"
    ));
    let (passed, failures) = run(&cases);
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(passed, 11);
}
