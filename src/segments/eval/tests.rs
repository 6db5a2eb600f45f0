//! Unit tests of `eval` (its private helpers; behaviour through the engine lives in tests/it).

use super::*;
use crate::json::parse;

/// The fast path answers exactly what the general (GrowthBook) path answers, wherever
/// it answers at all.
#[test]
fn direct_tests_agree_with_the_general_path() {
    let tests = [
        r#"{"$gte": 3}"#,
        r#"{"$gt": 2.5}"#,
        r#"{"$lt": 0}"#,
        r#"{"$lte": -1}"#,
        r#"{"$eq": 2}"#,
        r#"{"$ne": 2}"#,
        r#"{"$eq": 2.0}"#,
        r#"{"$gte": 1e1}"#,
        r#"{"$gt": 1, "$lt": 4}"#,
        r#"{"$gte": 9e15}"#,
        r#"{"$eq": true}"#,
        r#"{"$ne": true}"#,
        r#"{"$eq": false}"#,
        r#"{"$in": [1, 2]}"#,
        r#"{"$gt": "2"}"#,
        r#"{"$eq": 1}"#,
        "{}",
    ];
    let mut answered = 0;
    for test in tests {
        let test = parse(test).unwrap();
        for x in [0.0, 1.0, 2.0, 2.5, 3.0, 10.0, -1.0, f64::INFINITY] {
            for as_bool in [false, true] {
                let general = if as_bool {
                    Value::Bool(x > 0.0)
                } else if x.is_infinite() {
                    num(9.0e15)
                } else {
                    num(x)
                };
                let fast = direct_test(&test, if x.is_infinite() { 9.0e15 } else { x }, as_bool);
                if let Some(fast) = fast {
                    answered += 1;
                    assert_eq!(
                        fast,
                        eval_value_test(&test, &general),
                        "{test:?} on {x} (as_bool {as_bool})"
                    );
                }
            }
        }
    }
    assert!(
        answered > 100,
        "the fast path answered only {answered} cases"
    );
}
