//! Seeded calls in the shim's wire form with arbitrary arguments, mixed with the other inputs
//! a page can cause (identity commands, plugin re-entry, time, failed requests): the core
//! never panics (in the wasm a panic is a trap that disables the SDK), and every request it
//! sends is one the collector takes: the body parses with the batch envelope and each event
//! passes the collector's validation.

use sieve::core::delivery::SendOutcome;
use sieve::core::validate::validate_sized;
use sieve::json::{self, Map, Number, Value};

use crate::sim::{Rng, Sim};

const STRINGS: &[&str] = &[
    "",
    "e",
    "Order Completed",
    "Audience Entered",
    "__proto__",
    "constructor",
    "é😀\u{2028}\"\\",
    "\u{fffd}",
    "2021-02-03T04:05:06Z",
    "yesterday",
    "u1",
    "g1",
    "bpc",
    "NaN",
    "Infinity",
    "1e21",
    "-0",
    "0x10",
];
const KEYS: &[&str] = &[
    "event",
    "properties",
    "timestamp",
    "userId",
    "anonymousId",
    "messageId",
    "context",
    "integrations",
    "traits",
    "groupId",
    "name",
    "category",
    "page",
    "Segment.io",
    "All",
    "__t",
    "p",
    "u",
    "s",
    "t",
    "r",
    "c",
    "",
    "a",
];

fn arbitrary(rng: &mut Rng, depth: u32) -> Value {
    match if depth > 4 {
        rng.below(5)
    } else {
        rng.below(8)
    } {
        0 => Value::Null,
        1 => Value::Bool(rng.below(2) == 0),
        2 => Value::Number(Number::from_i64(rng.below(2000) as i64 - 1000)),
        3 => Value::str(rng.pick(STRINGS)),
        4 => Value::String("x".repeat(rng.below(3) as usize * 20_000)),
        5 | 6 => {
            let mut m = Map::new();
            for _ in 0..rng.below(5) {
                m.insert(rng.pick(KEYS), arbitrary(rng, depth + 1));
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

/// A call's wire form: type letters and a JSON array, usually consistent with each other
/// (as the shim writes them), sometimes not.
fn wire_call(rng: &mut Rng) -> (String, String) {
    let mut types = String::new();
    let mut values = Vec::new();
    for _ in 0..rng.below(5) {
        let t = b"snoNufxb"[rng.below(8) as usize];
        types.push(char::from(t));
        let consistent = rng.below(8) != 0;
        values.push(match (t, consistent) {
            (b's', true) => Value::str(rng.pick(STRINGS)),
            (b'n', true) => Value::str(rng.pick(&["1", "-1.5", "NaN", "Infinity", "1e+21", "0"])),
            (b'o' | b'b', true) => {
                let mut m = arbitrary(rng, 1);
                if !matches!(m, Value::Object(_)) {
                    m = Value::Object(Map::new());
                }
                m
            }
            (_, true) => Value::Null,
            (_, false) => arbitrary(rng, 1),
        });
    }
    (types, Value::Array(values).to_json())
}

#[test]
fn arbitrary_calls_never_panic_and_every_request_is_one_the_collector_takes() {
    const METHODS: [&str; 6] = ["track", "page", "screen", "identify", "group", "alias"];
    let seeds: u64 = std::env::var("SIEVE_WIRE_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    let (mut requests, mut events_sent) = (0, 0);
    for seed in 0..seeds {
        let mut rng = Rng(seed);
        let mut sim = Sim::new("{}", "{}");
        for _ in 0..150 {
            match rng.below(12) {
                0 => sim
                    .core
                    .handle_set_anonymous_id(arbitrary(&mut rng, 4).as_str().map(str::to_owned)),
                1 => sim
                    .core
                    .handle_set_user_id(arbitrary(&mut rng, 4).as_str().map(str::to_owned)),
                2 => {
                    if let Value::Object(traits) = arbitrary(&mut rng, 1) {
                        sim.core.handle_set_user_traits(traits);
                    }
                }
                3 => {
                    // A plugin hands an event back (possibly broken by it).
                    let _ = sim
                        .core
                        .handle_enqueue(sim.now, &arbitrary(&mut rng, 0).to_json());
                }
                4 => sim.core.handle_reset(),
                5 => {
                    sim.network.push_back(SendOutcome {
                        status: [200, 400, 429, 500, 0][rng.below(5) as usize],
                        retry_after: None,
                    });
                    sim.advance(rng.below(8_000));
                    sim.answer_all();
                }
                _ => {
                    let (types, values) = wire_call(&mut rng);
                    let _ = sim.call_text(METHODS[rng.below(6) as usize], &types, &values);
                }
            }
            sim.step();
        }
        sim.advance(60_000);
        sim.answer_all();
        requests += sim.sent.len();
        for (_, t) in &sim.sent {
            let body = json::parse_enveloped(&t.body, 2)
                .unwrap_or_else(|e| panic!("seed {seed}: body does not parse: {e}"));
            let events = match body.get("batch") {
                Some(Value::Array(events)) => events.clone(),
                _ => vec![body],
            };
            events_sent += events.len();
            for e in &events {
                assert_eq!(
                    validate_sized(e, e.to_json().len()),
                    Ok(()),
                    "seed {seed}: {}",
                    e.to_json().chars().take(300).collect::<String>()
                );
            }
        }
    }
    // Not vacuous: most calls made events that went out.
    assert!(
        requests > seeds as usize && events_sent > 20 * seeds as usize,
        "{requests} requests, {events_sent} events"
    );
}
