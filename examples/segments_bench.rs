//! Native micro-benchmark of the segment engine: 50 segments of mixed kinds, cost per
//! incoming event and history size. Run: `cargo run --release --example segments_bench`.
use sieve::core::time::Millis;
use sieve::json::{self, Value};
use sieve::segments::definition::EventType;
use sieve::segments::{Engine, EventInput};
use std::time::Instant;

fn definitions() -> String {
    let mut defs = Vec::new();
    for i in 0..50 {
        let ev = format!("Event {}", i % 20);
        let cond = match i % 10 {
            0 => format!(r#"{{"event": {{"name": "{ev}"}}, "measure": "count", "window": {{"type": "rolling", "duration": "P7D"}}, "test": {{"$gte": 3}}}}"#),
            1 => format!(r#"{{"event": {{"name": "{ev}"}}, "measure": "since_last", "test": {{"$gte": "P14D"}}}}"#),
            2 => format!(r#"{{"event": {{"name": "{ev}", "where": {{"plan": "pro"}}}}, "measure": {{"sum": "amount"}}, "window": {{"type": "rolling", "duration": "P30D"}}, "test": {{"$gte": 100}}}}"#),
            3 => format!(r#"{{"event": {{"name": "{ev}"}}, "measure": "count", "window": {{"type": "calendar", "unit": "week"}}, "test": {{"$gt": 5}}}}"#),
            4 => format!(r#"{{"funnel": {{"steps": [{{"name": "{ev}"}}, {{"name": "Event 1"}}, {{"name": "Event 2"}}], "within": "P1D", "window": {{"type": "rolling", "duration": "P30D"}}}}, "test": {{"maxStep": {{"$eq": 2}}}}, "settle": true}}"#),
            5 => r#"{"compare": {"current": {"event": {"name": "$session_start"}, "measure": "count", "window": {"type": "rolling", "duration": "P14D"}}, "baseline": {"event": {"name": "$session_start"}, "measure": "count", "window": {"type": "rolling", "duration": "P14D", "offset": "P14D"}}}, "test": {"ratio": {"$lte": 0.5}}, "baselineMin": 4}"#.to_string(),
            6 => format!(r#"{{"and": [{{"traits": {{"plan": {{"$in": ["pro", "enterprise"]}}}}}}, {{"event": {{"name": "{ev}"}}, "measure": "exists", "window": {{"type": "rolling", "duration": "PT24H"}}, "test": {{"$eq": true}}}}]}}"#),
            7 => format!(r#"{{"event": {{"name": "{ev}"}}, "measure": "distinct_days", "window": {{"type": "rolling", "duration": "P14D"}}, "test": {{"$gte": 4}}}}"#),
            8 => r#"{"traits": {"email": {"$regex": "@(example|test)\\.com$"}, "age": {"$gte": 18}}}"#.to_string(),
            _ => format!(r#"{{"event": {{"name": "{ev}"}}, "measure": "count", "window": {{"type": "rolling", "duration": "P21D"}}, "test": {{"$eq": 0}}}}"#),
        };
        defs.push(format!(r#"{{"key": "s{i}", "condition": {cond}}}"#));
    }
    format!("[{}]", defs.join(","))
}

fn main() {
    let mut engine = Engine::new();
    let t0: u64 = 1_736_121_600_000;
    let report = engine.load(Millis(t0), &json::parse(&definitions()).unwrap());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    engine.handle_traits(
        Millis(t0),
        Some(&json::parse(r#"{"plan": "pro", "email": "a@example.com", "age": 30}"#).unwrap()),
        None,
    );
    let props: Vec<Value> = (0..16)
        .map(|i| json::parse(&format!(r#"{{"plan": "pro", "amount": {i}}}"#)).unwrap())
        .collect();
    let names: Vec<String> = (0..25).map(|i| format!("Event {i}")).collect();
    let n = 200_000u64;
    let mut now = t0;
    let mut seed = 1u64;
    let mut transitions = 0usize;
    let start = Instant::now();
    for i in 0..n {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        now += 1 + (seed >> 40) % 60_000; // up to a minute apart: ~140 days in all
        let name = &names[(seed >> 20) as usize % names.len()];
        let p = &props[i as usize % props.len()];
        engine.handle_event(
            Millis(now),
            EventInput {
                kind: EventType::Track,
                name,
                properties: p,
                context: None,
            },
        );
        while engine.poll_transition().is_some() {
            transitions += 1;
        }
    }
    let per_event = start.elapsed().as_secs_f64() * 1e6 / n as f64;
    println!(
        "segments: {}, events: {n}, simulated days: {}",
        report.accepted.len(),
        (now - t0) / 86_400_000
    );
    println!(
        "cost per event: {per_event:.2} µs (incl. deadline processing), transitions: {transitions}"
    );
    println!(
        "history bound: {} B, history used: {} B, encoded state: {} B",
        engine.history_bound(),
        engine.history_bytes(),
        engine.encode_state().len()
    );
}
