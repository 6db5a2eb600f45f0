//! Seeded property tests: arbitrary documents and event streams never panic, and history
//! never exceeds the bound computed at load.
use super::definitions::all_examples;
use super::sim::{j, DAY, MIN, T0};
use sieve::core::time::Millis;
use sieve::json::{Map, Number, Value};
use sieve::segments::definition::EventType;
use sieve::segments::{Engine, EventInput};

use crate::sim::Rng;

const WORDS: &[&str] = &[
    "and",
    "or",
    "not",
    "traits",
    "event",
    "funnel",
    "compare",
    "traitChange",
    "segment",
    "name",
    "type",
    "where",
    "measure",
    "window",
    "test",
    "coverage",
    "count",
    "exists",
    "since_last",
    "rolling",
    "calendar",
    "cycle",
    "anchored",
    "lifetime",
    "duration",
    "offset",
    "P7D",
    "PT1H",
    "P1M",
    "$gte",
    "$eq",
    "$regex",
    "$in",
    "steps",
    "within",
    "maxStep",
    "ratio",
    "current",
    "baseline",
    "sum",
    "avg",
    "key",
    "condition",
    "a",
    "s",
    "unit",
    "day",
    "anchor",
    "trait",
    "period",
    "strict",
    "observed",
    "settle",
    "(a|b)*c",
    "(?=x)",
    "[",
    "from",
    "to",
    "on",
    "user",
];

fn arbitrary(rng: &mut Rng, depth: u32) -> Value {
    match if depth > 6 {
        rng.below(4)
    } else {
        rng.below(7)
    } {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 0),
        2 => Value::Number(Number::from_i64(rng.below(10) as i64 - 2)),
        3 => Value::str(rng.pick(WORDS)),
        4 | 5 => {
            let mut m = Map::new();
            for _ in 0..rng.below(4) {
                m.insert(rng.pick(WORDS), arbitrary(rng, depth + 1));
            }
            Value::Object(m)
        }
        _ => Value::Array(
            (0..rng.below(4))
                .map(|_| arbitrary(rng, depth + 1))
                .collect(),
        ),
    }
}

/// Mutates a valid document: replaces one random subtree.
fn mutate(rng: &mut Rng, v: &mut Value, depth: u32) {
    let here = rng.below(4) == 0 || depth > 8;
    match v {
        Value::Object(m) if !here && !m.is_empty() => {
            let keys: Vec<String> = m.iter().map(|(k, _)| k.to_owned()).collect();
            let k = &keys[rng.below(keys.len() as u64) as usize];
            if let Some(child) = m.get_mut(k) {
                mutate(rng, child, depth + 1);
            }
        }
        Value::Array(items) if !here && !items.is_empty() => {
            let i = rng.below(items.len() as u64) as usize;
            mutate(rng, &mut items[i], depth + 1);
        }
        _ => *v = arbitrary(rng, depth),
    }
}

#[test]
fn arbitrary_documents_never_panic() {
    let mut rng = Rng(42);
    let valid = j(&all_examples());
    for _ in 0..1500 {
        let mut doc = valid.clone();
        for _ in 0..1 + rng.below(3) {
            mutate(&mut rng, &mut doc, 0);
        }
        let mut engine = Engine::new();
        let report = engine.load(Millis(T0), &doc);
        assert!(report.history_bound <= 128 * 1024);
        let props = arbitrary(&mut rng, 3);
        engine.handle_event(
            Millis(T0 + 1),
            EventInput {
                kind: EventType::Track,
                name: "Core Feature Used",
                properties: &props,
                context: None,
            },
        );
        engine.handle_traits(
            Millis(T0 + 2),
            Some(&arbitrary(&mut rng, 2)),
            Some(&arbitrary(&mut rng, 2)),
        );
        engine.handle_timeout(Millis(T0 + 40 * DAY));
        for (key, _) in super::definitions::EXAMPLES {
            let _ = engine.explain(key);
        }
        while engine.poll_transition().is_some() {}
    }
    for _ in 0..500 {
        let doc = Value::Array(vec![arbitrary(&mut rng, 0)]);
        let _ = Engine::new().load(Millis(T0), &doc);
    }
}

#[test]
fn arbitrary_event_streams_never_panic_and_stay_within_the_bound() {
    let names = super::definitions::EVENT_NAMES;
    for seed in 0..6 {
        let mut rng = Rng(seed);
        let mut engine = Engine::new();
        engine.set_utc_offset(rng.below(1000) as i32 - 500);
        let report = engine.load(Millis(T0), &j(&all_examples()));
        assert!(report.errors.is_empty());
        let bound = engine.history_bound();
        assert_eq!(bound, report.history_bound);
        let mut now = T0;
        for step in 0..3000 {
            now += match rng.below(10) {
                0 => rng.below(3 * DAY),
                1..=3 => rng.below(40 * MIN),
                _ => rng.below(MIN),
            };
            match rng.below(20) {
                0 => engine.handle_traits(
                    Millis(now),
                    Some(&j(
                        r#"{"billing_cycle_anchor": "2024-11-30", "plan": "pro"}"#,
                    )),
                    Some(&arbitrary(&mut rng, 2)),
                ),
                1 => engine.handle_timeout(Millis(now)),
                2 if step % 500 == 0 => engine.handle_profile_switch(Millis(now)),
                3 if step % 300 == 0 => {
                    let state = engine.encode_state();
                    let mut fresh = Engine::new();
                    fresh.restore_state(Millis(now), &state).unwrap();
                    fresh.load(Millis(now), &j(&all_examples()));
                    engine = fresh;
                }
                _ => {
                    let props = arbitrary(&mut rng, 3);
                    let name = names[rng.below(names.len() as u64) as usize];
                    engine.handle_event(
                        Millis(now),
                        EventInput {
                            kind: EventType::Track,
                            name,
                            properties: &props,
                            context: None,
                        },
                    );
                }
            }
            while engine.poll_transition().is_some() {}
            assert!(
                engine.history_bytes() <= bound,
                "{} > {bound}",
                engine.history_bytes()
            );
            if let Some(Millis(t)) = engine.poll_timeout() {
                assert!(t + 1 >= now.min(t + 1));
            }
        }
    }
}
