//! Compiled definitions (`segments::compiled`, issue 15 decision 4): the engine wasm loads
//! them without the parser, so they must behave exactly as the JSON they were compiled from,
//! report what the parser reports, and refuse anything else as one error, never a panic.
use super::definitions::all_examples;
use super::sim::{j, DAY, MIN, T0};
use crate::sim::Rng;
use sieve::core::time::Millis;
use sieve::segments::compiled::compile;
use sieve::segments::definition::EventType;
use sieve::segments::{Engine, EventInput, Transition};

fn compiled(defs: &str) -> String {
    let (text, report) = compile(&j(defs));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    text.expect("an array compiles")
}

fn moves(engine: &mut Engine) -> Vec<Transition> {
    std::iter::from_fn(|| engine.poll_transition()).collect()
}

/// Two engines, one loaded with JSON and one with its compiled form, fed the same seeded
/// stream of events, traits, timeouts, restarts and profile switches: the same transitions
/// at every step, the same explain trees and persisted state at the end.
#[test]
fn compiled_definitions_behave_like_their_json() {
    let json = all_examples();
    let text = compiled(&json);
    let names = super::definitions::EVENT_NAMES;
    for seed in 0..4 {
        let mut rng = Rng(seed);
        let mut a = Engine::new();
        let mut b = Engine::new();
        let ra = a.load(Millis(T0), &j(&json));
        let rb = b.load_compiled(Millis(T0), &text);
        assert_eq!(ra.accepted, rb.accepted);
        assert_eq!(ra.history_bound, rb.history_bound);
        assert!(rb.errors.is_empty() && rb.warnings.is_empty());
        assert_eq!(moves(&mut a), moves(&mut b));
        let mut now = T0;
        for step in 0..1500 {
            now += match rng.below(10) {
                0 => rng.below(3 * DAY),
                1..=3 => rng.below(40 * MIN),
                _ => rng.below(MIN),
            };
            let t = Millis(now);
            match rng.below(16) {
                0 => {
                    let user = j(&format!(
                        r#"{{"billing_cycle_anchor": "2024-11-30", "plan": "{}", "company": {{"employees": {}, "industry": "SaaS"}}}}"#,
                        rng.pick(&["pro", "free", "enterprise"]),
                        rng.below(2000)
                    ));
                    let group = j(&format!(r#"{{"mrr": {}}}"#, rng.below(2000)));
                    a.handle_traits(t, Some(&user), Some(&group));
                    b.handle_traits(t, Some(&user), Some(&group));
                }
                1 => {
                    a.handle_timeout(t);
                    b.handle_timeout(t);
                }
                2 if step % 400 == 0 => {
                    a.handle_profile_switch(t);
                    b.handle_profile_switch(t);
                }
                3 if step % 250 == 0 => {
                    // A restart: each restores its own state, then loads its own form.
                    let (sa, sb) = (a.encode_state(), b.encode_state());
                    assert_eq!(sa, sb);
                    a = Engine::new();
                    b = Engine::new();
                    a.restore_state(t, &sa).unwrap();
                    b.restore_state(t, &sb).unwrap();
                    a.load(t, &j(&json));
                    b.load_compiled(t, &text);
                }
                _ => {
                    let props = j(&format!(
                        r#"{{"module": "{}", "revenue": {}}}"#,
                        rng.pick(&["forecasting", "reports"]),
                        rng.below(300)
                    ));
                    let name = names[rng.below(names.len() as u64) as usize];
                    for e in [&mut a, &mut b] {
                        e.handle_event(
                            t,
                            EventInput {
                                kind: EventType::Track,
                                name,
                                properties: &props,
                                context: None,
                            },
                        );
                    }
                }
            }
            assert_eq!(moves(&mut a), moves(&mut b), "seed {seed}, step {step}");
            assert_eq!(a.poll_timeout(), b.poll_timeout());
        }
        for key in ra.accepted {
            assert_eq!(
                a.explain(key.as_str()).map(|v| v.to_json()),
                b.explain(key.as_str()).map(|v| v.to_json())
            );
        }
        assert_eq!(a.encode_state(), b.encode_state());
    }
}

/// `compile` reports exactly what `load` reports (errors, warnings, accepted, bound), and
/// its text loads the accepted definitions; a document that is not an array compiles to
/// nothing, as `load` replaces nothing.
#[test]
fn compile_reports_what_load_reports() {
    let defs = r#"[{"key": "ok", "condition": {"traits": {"plan": "pro"}}},
        {"key": "bad", "condition": {"traits": {"plan": {"$equals": "pro"}}}},
        {"key": "re", "condition": {"traits": {"name": {"$regex": "(unclosed"}}}},
        {"key": "ok", "condition": {"traits": {"plan": "free"}}}]"#;
    let (text, report) = compile(&j(defs));
    let loaded = Engine::new().load(Millis(T0), &j(defs));
    assert_eq!(report.errors, loaded.errors);
    assert_eq!(report.warnings, loaded.warnings);
    assert_eq!(report.accepted, loaded.accepted);
    assert_eq!(report.history_bound, loaded.history_bound);
    assert_eq!(report.errors.len(), 2);
    let mut engine = Engine::new();
    let from_text = engine.load_compiled(Millis(T0), &text.unwrap());
    assert_eq!(from_text.accepted, loaded.accepted);
    // The refused pattern is reported again where it is compiled (natively regex-lite).
    assert_eq!(from_text.warnings.len(), 1);
    assert_eq!(from_text.warnings[0].key, "re");
    let (none, report) = compile(&j(r#"{"key": "x"}"#));
    assert!(none.is_none() && report.errors.len() == 1);
}

/// Anything but a compiled text of this version is one error and leaves the active
/// definitions in place: empty, not base64, the state's format, every truncation, another
/// version, and seeded byte corruptions (which may also decode into other definitions, but
/// never panic).
#[test]
fn malformed_compiled_text_is_one_error_and_never_a_panic() {
    let text = compiled(&all_examples());
    let bytes = sieve::base64::decode(&text).unwrap();
    let mut cases: Vec<(String, &str)> = vec![
        (String::new(), "malformed"),
        ("not base64!".into(), "malformed"),
        (Engine::new().encode_state(), "malformed"),
        (
            sieve::base64::encode(&[b"SD".as_slice(), &[2]].concat()),
            "another version",
        ),
    ];
    for n in 0..bytes.len() {
        cases.push((sieve::base64::encode(&bytes[..n]), ""));
    }
    let mut engine = Engine::new();
    engine.load_compiled(
        Millis(T0),
        &compiled(r#"[{"key": "kept", "condition": {"traits": {"a": 1}}}]"#),
    );
    for (bad, message) in &cases {
        let report = engine.load_compiled(Millis(T0), bad);
        assert_eq!(report.errors.len(), 1, "{bad}");
        assert!(
            report.errors[0].message.contains(message),
            "{:?}",
            report.errors
        );
        assert!(report.accepted.is_empty());
        assert_eq!(engine.list().len(), 1, "the active definitions stay");
    }
    let mut rng = Rng(7);
    for _ in 0..3000 {
        let mut b = bytes.clone();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(b.len() as u64) as usize;
            b[at] = rng.below(256) as u8;
        }
        let mut e = Engine::new();
        let report = e.load_compiled(Millis(T0), &sieve::base64::encode(&b));
        e.handle_timeout(Millis(T0 + 40 * DAY));
        while e.poll_transition().is_some() {}
        assert!(report.errors.len() <= 1);
    }
}

/// The CLI prints what `compile` writes, reports rejections on standard error and exits 1.
#[test]
fn the_cli_compiles_a_file() {
    let dir = std::env::temp_dir().join(format!("sieve-segments-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("defs.json");
    let defs = r#"{"segments": [{"key": "ok", "condition": {"traits": {"plan": "pro"}}},
                              {"key": "bad", "condition": {"traits": {"plan": {"$equals": "pro"}}}}]}"#;
    std::fs::write(&file, defs).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sieve-segments"))
        .arg("compile")
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("rejected: bad at [1].condition.traits.plan.$equals"),
        "{stderr}"
    );
    let mut engine = Engine::new();
    let report = engine.load_compiled(Millis(T0), stdout.trim());
    assert_eq!(report.accepted.len(), 1);
    assert_eq!(report.accepted[0].as_str(), "ok");
    std::fs::remove_dir_all(&dir).unwrap();
}
