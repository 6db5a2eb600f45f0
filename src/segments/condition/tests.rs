//! Unit tests of `condition` (the module's private helpers; integration tests live in tests/it).

use super::*;
use crate::json::parse;

#[test]
fn js_coercions() {
    assert_eq!(string_to_number(" 12 "), 12.0);
    assert_eq!(string_to_number(""), 0.0);
    assert!(string_to_number("abc").is_nan());
    assert!(string_to_number("inf").is_nan());
    assert_eq!(string_to_number("0x10"), 16.0);
    // JavaScript's trim: White_Space and U+FEFF, in any mix, at both ends.
    for (text, n) in [
        ("\u{feff}7", 7.0),
        (" \u{feff}\t7\u{a0}\u{feff} \n", 7.0),
        ("\u{feff}", 0.0),
        ("\u{2003}-2\u{feff}", -2.0),
        ("+3", 3.0),
    ] {
        assert_eq!(string_to_number(text), n, "{text:?}");
    }
    assert!(string_to_number("7\u{feff}8").is_nan());
    assert_eq!(
        padded_version(&Value::str("1.2-rc.1")),
        "    1-    2-rc-    1"
    );
    assert_eq!(
        js_to_string(&parse("[1,[2,null],\"a\"]").unwrap()),
        "1,2,,a"
    );
    assert_eq!(js_to_string(&parse("1.50").unwrap()), "1.5");
    assert_eq!(
        padded_version(&Value::str("v1.2.3+build")),
        "    1-    2-    3-~"
    );
}

#[test]
fn missing_policies() {
    let cond = GbCondition::new(parse(r#"{"plan": "pro"}"#).unwrap());
    let obj = parse("{}").unwrap();
    assert_eq!(cond.eval(&obj, Missing::Unknown), Tri::Unknown);
    assert_eq!(cond.eval(&obj, Missing::Gb), Tri::False);
    assert_eq!(cond.eval(&obj, Missing::False), Tri::False);
    let not = GbCondition::new(parse(r#"{"$not": {"plan": "pro"}}"#).unwrap());
    assert_eq!(not.eval(&obj, Missing::Unknown), Tri::Unknown);
    assert_eq!(not.eval(&obj, Missing::Gb), Tri::True);
    assert_eq!(not.eval(&obj, Missing::False), Tri::False);
    let or = GbCondition::new(parse(r#"{"$or": [{"a": 1}, {"plan": "pro"}]}"#).unwrap());
    assert_eq!(
        or.eval(&parse(r#"{"a": 1}"#).unwrap(), Missing::Unknown),
        Tri::True
    );
    let exists = GbCondition::new(parse(r#"{"plan": {"$exists": false}}"#).unwrap());
    assert_eq!(exists.eval(&obj, Missing::Unknown), Tri::True);
}
