//! docs/segments.md is the language reference: every ```` ```json ```` block in it loads
//! with no error and no warning, and every ```` ```json error <path> ```` block is rejected
//! with an error at that path. The demo's definitions (www/segments.json) load too.
use super::sim::T0;
use sieve::core::time::Millis;
use sieve::json::{self, Value};
use sieve::segments::{Engine, LoadReport};

/// The ```json blocks of a markdown text: (info string after `json`, body), in order.
fn json_blocks(markdown: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in markdown.lines() {
        let t = line.trim();
        match &mut current {
            None => {
                if let Some(info) = t.strip_prefix("```json") {
                    current = Some((info.trim().to_owned(), String::new()));
                }
            }
            Some((_, body)) => {
                if t == "```" {
                    out.extend(current.take());
                } else {
                    body.push_str(line);
                    body.push('\n');
                }
            }
        }
    }
    assert!(current.is_none(), "unclosed ```json block");
    out
}

/// Loads a block: a definition (has "key"), an array of definitions, or a condition.
fn load_block(body: &str) -> LoadReport {
    let v = json::parse(body).unwrap_or_else(|e| panic!("not JSON ({e:?}):\n{body}"));
    let defs = match &v {
        Value::Array(_) => v.clone(),
        Value::Object(m) if m.contains_key("key") => Value::Array(vec![v.clone()]),
        _ => json::parse(&format!(r#"[{{"key": "example", "condition": {body}}}]"#)).unwrap(),
    };
    Engine::new().load(Millis(T0), &defs)
}

#[test]
fn every_example_in_the_reference_loads_and_every_error_example_fails() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/segments.md");
    let markdown = std::fs::read_to_string(path).unwrap();
    let blocks = json_blocks(&markdown);
    let (mut ok, mut failing) = (0, 0);
    for (info, body) in &blocks {
        let report = load_block(body);
        if let Some(at) = info.strip_prefix("error") {
            let at = at.trim();
            assert!(!at.is_empty(), "an error block names its path:\n{body}");
            assert!(
                report.errors.iter().any(|e| e.path == at),
                "expected an error at {at}, got {:?}:\n{body}",
                report.errors
            );
            failing += 1;
        } else {
            assert!(info.is_empty(), "unknown block marker {info:?}");
            assert!(
                report.errors.is_empty() && report.warnings.is_empty(),
                "{:?} {:?}:\n{body}",
                report.errors,
                report.warnings
            );
            assert!(!report.accepted.is_empty(), "{body}");
            ok += 1;
        }
    }
    // One example per construct: the reference cannot lose them unnoticed.
    assert!(
        ok >= 20 && failing >= 3,
        "{ok} examples, {failing} error examples"
    );
    for construct in [
        "\"and\"",
        "\"or\"",
        "\"not\"",
        "\"traits\"",
        "\"on\": \"group\"",
        "\"on\": \"page\"",
        "\"on\": \"context\"",
        "\"missing\"",
        "\"type\": \"page\"",
        "\"where\"",
        "\"count\"",
        "\"exists\"",
        "\"distinct_days\"",
        "\"since_last\"",
        "\"since_first\"",
        "{\"sum\"",
        "{\"max\"",
        "\"rolling\"",
        "\"offset\"",
        "\"calendar\"",
        "\"cycle\"",
        "\"anchored\"",
        "\"lifetime\"",
        "\"coverage\"",
        "\"funnel\"",
        "\"settle\"",
        "\"compare\"",
        "\"baselineMin\"",
        "\"traitChange\"",
        "\"segment\"",
        "\"exitCondition\"",
        "\"membership\"",
        "\"minDwell\"",
        "\"exitGrace\"",
        "\"cooldown\"",
        "\"outputs\"",
        "\"$regexi\"",
        "\"$elemMatch\"",
        "\"$vgte\"",
        "\"$type\"",
        "\"$nor\"",
        "\"$alli\"",
    ] {
        assert!(
            blocks
                .iter()
                .any(|(i, b)| i.is_empty() && b.contains(construct)),
            "no loading example uses {construct}"
        );
    }
}

#[test]
fn the_demo_definitions_load() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/www/segments.json");
    let text = std::fs::read_to_string(path).unwrap();
    let report = load_block(&text);
    assert!(
        report.errors.is_empty() && report.warnings.is_empty(),
        "{:?}",
        report.errors
    );
    assert!(report.accepted.len() >= 3);
}
