//! Batching, retries, Retry-After, drops and page-hide chunks, through the simulated world.

use sieve::core::delivery::SendOutcome;
use sieve::json::Value;

use crate::sim::{batch_events, status, Sim};

const DEFAULTS: &str = r#"{"integrations":{"Segment.io":{"apiKey":"WK","apiHost":"collector.test/v1","protocol":"http"}}}"#;

#[test]
fn ten_events_make_one_batch_at_once() {
    let mut sim = Sim::new(DEFAULTS, "{}");
    for i in 0..9 {
        sim.track(&format!("E{i}"));
    }
    assert!(
        sim.sent.is_empty(),
        "9 events wait for the 10th or the timer"
    );
    sim.track("E9");
    assert_eq!(sim.sent.len(), 1);
    let t = &sim.sent[0].1;
    assert_eq!(t.url, "http://collector.test/v1/batch");
    assert_eq!(t.n_events, 10);
    assert!(!t.keepalive);
    assert_eq!(t.retry_count, 0);
    let body = sieve::json::parse(&t.body).unwrap();
    assert_eq!(body.get("writeKey").and_then(Value::as_str), Some("WK"));
    assert!(body.get("sentAt").and_then(Value::as_str).is_some());
    let names: Vec<_> = sim
        .batch(0)
        .iter()
        .map(|e| e.get("event").unwrap().as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, (0..10).map(|i| format!("E{i}")).collect::<Vec<_>>());
}

#[test]
fn a_partial_batch_leaves_exactly_at_the_timeout() {
    let mut sim = Sim::new(DEFAULTS, "{}");
    sim.track("Only");
    let start = sim.now;
    sim.advance(4_999);
    assert!(sim.sent.is_empty());
    sim.advance(1);
    assert_eq!(sim.sent.len(), 1);
    assert_eq!(sim.sent[0].0, start.plus(5_000));
}

#[test]
fn timeout_and_size_are_configurable() {
    let options = r#"{"integrations":{"Segment.io":{"deliveryStrategy":{"strategy":"batching","config":{"size":3,"timeout":100}}}}}"#;
    let mut sim = Sim::new(DEFAULTS, options);
    sim.track("a");
    sim.track("b");
    sim.track("c");
    assert_eq!(sim.sent.len(), 1, "size 3");
    sim.answer_all();
    sim.track("d");
    sim.advance(100);
    assert_eq!(sim.sent.len(), 2, "timeout 100 ms");
}

#[test]
fn retryable_statuses_retry_with_backoff_and_the_same_message_ids() {
    // (status, retried?)
    let table = [
        (500, true),
        (502, true),
        (503, true),
        (408, true),
        (410, true),
        (429, true),
        (460, true),
        (0, true),
        (400, false),
        (401, false),
        (413, false),
        (501, false),
        (505, false),
        (511, false),
    ];
    for (code, retried) in table {
        let mut sim = Sim::new(DEFAULTS, "{}");
        sim.track("Order Completed");
        sim.advance(5_000);
        let first_id = sim.batch(0)[0].get("messageId").cloned();
        sim.network.push_back(status(code));
        sim.answer_all();
        sim.drive(120_000);
        if retried {
            assert_eq!(
                sim.sent.len(),
                2,
                "status {code} retries once then succeeds"
            );
            let retry = &sim.sent[1];
            let waited = retry.0.since(sim.sent[0].0);
            assert!(
                (450..=550).contains(&waited),
                "status {code}: first backoff 500 ms ±10 %, got {waited}"
            );
            assert_eq!(retry.1.retry_count, 1, "X-Retry-Count");
            let event = &sim.batch(1)[0];
            assert_eq!(
                event.get("messageId").cloned(),
                first_id,
                "same messageId on every attempt"
            );
            assert_eq!(
                event
                    .get("_metadata")
                    .and_then(|m| m.get("retryCount"))
                    .and_then(Value::as_f64),
                Some(1.0)
            );
            assert!(sim.notices.is_empty());
        } else {
            assert_eq!(sim.sent.len(), 1, "status {code} is dropped");
            assert_eq!(sim.notices.len(), 1);
            assert_eq!(sim.notices[0].code, "delivery_failure");
            assert!(
                sim.notices[0].reason.ends_with(&code.to_string()),
                "names the status: {}",
                sim.notices[0].reason
            );
        }
        assert_eq!(sim.core.queued(), 0);
    }
}

/// Answers every request in flight, and those they lead to, with `api(event names)` until
/// none is left; returns the event names of each request, in the order sent, with its status.
fn answer_until_idle(sim: &mut Sim, api: impl Fn(&[String]) -> u16) -> Vec<(Vec<String>, u16)> {
    let mut log = Vec::new();
    while !sim.in_flight.is_empty() {
        sim.answer_with(|t| {
            let names: Vec<String> = batch_events(t)
                .iter()
                .filter_map(|e| e.get("event").and_then(Value::as_str).map(str::to_owned))
                .collect();
            let code = api(&names);
            log.push((names, code));
            status(code)
        });
    }
    log
}

#[test]
fn a_batch_refused_as_a_whole_is_split_in_halves_until_only_the_refused_event_is_lost() {
    // The API refuses any request holding E3 (400 or 413 say "this body"); other drops
    // (401, 501) say "not you" and drop the batch as it is.
    for (code, isolated) in [(400, true), (413, true), (401, false), (501, false)] {
        let mut sim = Sim::new(DEFAULTS, "{}");
        for i in 0..10 {
            sim.track(&format!("E{i}"));
        }
        assert_eq!(sim.sent.len(), 1);
        let start = sim.now;
        let log = answer_until_idle(&mut sim, |names| {
            if names.iter().any(|n| n == "E3") {
                code
            } else {
                200
            }
        });
        let requests: Vec<(usize, u16)> = log.iter().map(|(n, c)| (n.len(), *c)).collect();
        if isolated {
            assert_eq!(
                requests,
                [
                    (10, code),
                    (5, code),
                    (3, 200),
                    (2, code),
                    (1, code),
                    (1, 200),
                    (5, 200)
                ],
                "status {code}: halves of halves, in order"
            );
            assert!(sim.sent.iter().all(|(at, _)| *at == start), "at once");
            let delivered: Vec<&str> = log
                .iter()
                .filter(|(_, c)| *c == 200)
                .flat_map(|(n, _)| n.iter().map(String::as_str))
                .collect();
            assert_eq!(
                delivered,
                ["E0", "E1", "E2", "E4", "E5", "E6", "E7", "E8", "E9"]
            );
            let dropped: Vec<(&str, usize)> =
                sim.notices.iter().map(|n| (n.code, n.count)).collect();
            assert_eq!(dropped, [("delivery_failure", 1)], "status {code}");
        } else {
            assert_eq!(requests, [(10, code)], "status {code}: dropped as a whole");
            assert_eq!(sim.notices[0].count, 10);
        }
        assert_eq!(sim.core.queued(), 0);
    }
    // A catch-up batch of 300 events with one the API refuses: found in a few requests, not
    // 300 (one at a time, at 300 ms each, would hold the queue for a minute and a half).
    let mut sim = Sim::new(DEFAULTS, "{}");
    sim.core.handle_online(false);
    for i in 0..300 {
        sim.track(&format!("E{i}"));
    }
    sim.core.handle_online(true);
    sim.step();
    assert_eq!(sim.in_flight.len(), 1);
    assert_eq!(sim.in_flight[0].n_events, 300, "one catch-up batch");
    let log = answer_until_idle(&mut sim, |names| {
        if names.iter().any(|n| n == "E123") {
            400
        } else {
            200
        }
    });
    assert!(log.len() <= 2 * 9 + 1, "{} requests", log.len());
    let delivered: usize = log
        .iter()
        .filter(|(_, c)| *c == 200)
        .map(|(n, _)| n.len())
        .sum();
    assert_eq!(delivered, 299);
    assert_eq!(sim.core.queued(), 0);
    // A retry (5xx) of a half stays that half: it is not merged back into a larger batch.
    let mut sim = Sim::new(DEFAULTS, "{}");
    for i in 0..10 {
        sim.track(&format!("E{i}"));
    }
    sim.network.extend([400, 503].map(status));
    sim.drive(10_000);
    let sizes: Vec<usize> = sim.sent.iter().map(|(_, t)| t.n_events).collect();
    assert_eq!(
        sizes,
        [10, 5, 5, 5],
        "refused, a half fails, it is retried alone"
    );
    // Page hidden (everything leaves at once, in keepalive chunks): after a refusal, the
    // halves go as keepalive requests too, not the same chunk again and again.
    let mut sim = Sim::new(DEFAULTS, "{}");
    for i in 0..5 {
        sim.track(&format!("H{i}"));
    }
    sim.core.handle_page_hide();
    sim.step();
    assert_eq!(sim.sent.len(), 1);
    sim.network.push_back(status(400));
    sim.drive(1_000);
    let sizes: Vec<usize> = sim.sent.iter().map(|(_, t)| t.n_events).collect();
    assert_eq!(sizes, [5, 3, 2], "the chunk, then its halves");
    assert!(sim.sent.iter().all(|(_, t)| t.keepalive));
    assert_eq!(sim.core.queued(), 0);
}

#[test]
fn backoff_doubles_up_to_the_cap_and_gives_up_after_max_retries() {
    let options = r#"{"integrations":{"Segment.io":{"httpConfig":{"backoffConfig":{"maxRetryCount":4,"jitterPercent":0}}}}}"#;
    let mut sim = Sim::new(DEFAULTS, options);
    sim.track("x");
    sim.advance(5_000);
    for _ in 0..10 {
        sim.network.push_back(status(503));
    }
    sim.drive(600_000);
    let gaps: Vec<u64> = sim.sent.windows(2).map(|w| w[1].0.since(w[0].0)).collect();
    assert_eq!(gaps, vec![500, 1_000, 2_000, 4_000]);
    assert_eq!(sim.sent.len(), 5, "1 attempt + 4 retries");
    assert_eq!(sim.notices.len(), 1);
    assert_eq!(sim.notices[0].reason, "retry attempts exhausted");
    assert_eq!(sim.core.queued(), 0);
}

#[test]
fn retry_after_on_429_is_honoured_and_pauses_the_queue() {
    let mut sim = Sim::new(DEFAULTS, "{}");
    sim.track("a");
    sim.advance(5_000);
    sim.network.push_back(SendOutcome {
        status: 429,
        retry_after: Some("7".into()),
    });
    sim.answer_all();
    // New events during the pause only queue.
    for i in 0..12 {
        sim.track(&format!("b{i}"));
    }
    assert_eq!(
        sim.sent.len(),
        1,
        "paused: nothing leaves before Retry-After"
    );
    sim.advance(6_999);
    assert_eq!(sim.sent.len(), 1);
    sim.advance(1);
    assert_eq!(sim.sent.len(), 2);
    assert_eq!(
        sim.batch(1)[0].get("event").and_then(Value::as_str),
        Some("a"),
        "the retried event goes first"
    );
    sim.drive(60_000);
    let delivered: usize = sim.sent.iter().skip(1).map(|(_, t)| t.n_events).sum();
    assert_eq!(delivered, 13);
}

#[test]
fn page_hide_sends_everything_in_keepalive_chunks_under_the_in_flight_budget() {
    let mut sim = Sim::new(DEFAULTS, "{}");
    let big = "x".repeat(9_000);
    for i in 0..8 {
        sim.call_wire("track", "so", &format!(r#"["E{i}",{{"blob":"{big}"}}]"#))
            .unwrap();
    }
    assert!(sim.sent.is_empty());
    sim.core.handle_page_hide();
    sim.step();
    // 72 KB of events: more than one chunk, and never more than 60 KB of keepalive bodies
    // in flight at once (browsers refuse keepalive requests beyond 64 KB in flight).
    let in_flight: usize = sim.in_flight.iter().map(|t| t.body.len()).sum();
    assert!(
        in_flight <= 60 * 1024,
        "{in_flight} bytes of keepalive in flight"
    );
    let first_wave: usize = sim.in_flight.iter().map(|t| t.n_events).sum();
    assert!(
        first_wave < 8,
        "the rest waits for room in the keepalive budget"
    );
    while !sim.in_flight.is_empty() {
        sim.answer_all();
        let in_flight: usize = sim.in_flight.iter().map(|t| t.body.len()).sum();
        assert!(in_flight <= 60 * 1024);
    }
    assert!(sim.sent.len() >= 2, "at least two keepalive chunks");
    for (_, t) in &sim.sent {
        assert!(t.keepalive);
        assert!(t.body.len() <= 54 * 1024, "chunk of {} bytes", t.body.len());
    }
    let total: usize = sim.sent.iter().map(|(_, t)| t.n_events).sum();
    assert_eq!(total, 8);
    assert_eq!(sim.core.queued(), 0);
}

#[test]
fn standard_strategy_sends_one_event_per_request_to_the_type_endpoint() {
    let options = r#"{"integrations":{"Segment.io":{"deliveryStrategy":{"strategy":"standard"}}}}"#;
    let mut sim = Sim::new(DEFAULTS, options);
    sim.track("t1");
    sim.answer_all();
    sim.call_wire("identify", "s", r#"["u1"]"#).unwrap();
    sim.answer_all();
    sim.call_wire("page", "", "[]").unwrap();
    let urls: Vec<&str> = sim.sent.iter().map(|(_, t)| t.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "http://collector.test/v1/t",
            "http://collector.test/v1/i",
            "http://collector.test/v1/p"
        ]
    );
    let body = sieve::json::parse(&sim.sent[0].1.body).unwrap();
    assert_eq!(body.get("type").and_then(Value::as_str), Some("track"));
    assert!(body.get("sentAt").is_some());
}

#[test]
fn events_over_32_kb_are_rejected_at_the_call() {
    let mut sim = Sim::new(DEFAULTS, "{}");
    let big = "y".repeat(33 * 1024);
    let res = sim.call_wire("track", "so", &format!(r#"["Huge",{{"blob":"{big}"}}]"#));
    assert!(res.is_err());
    assert_eq!(sim.notices.len(), 1);
    assert_eq!(sim.notices[0].code, "event_too_large");
    assert_eq!(sim.core.queued(), 0);
    sim.track("Small");
    assert_eq!(sim.core.queued(), 1, "later calls still work");
}

#[test]
fn http_config_overrides_default_behaviours_and_total_backoff() {
    // The CDN's overrides are merged over the init options' and analytics.js's defaults.
    let settings = r#"{"integrations":{"Segment.io":{"apiHost":"collector.test/v1","protocol":"http","httpConfig":{"statusCodeOverrides":{"503":"drop"}}}}}"#;
    let options = r#"{"integrations":{"Segment.io":{"httpConfig":{"statusCodeOverrides":{"404":"retry"},"default5xxBehavior":"drop"}}}}"#;
    for (code, retried) in [
        (503, false),
        (404, true),
        (502, false),
        (429, true),
        (400, false),
    ] {
        let mut sim = Sim::new(settings, options);
        sim.track("x");
        sim.advance(5_000);
        sim.network.push_back(status(code));
        sim.answer_all();
        sim.drive(60_000);
        assert_eq!(sim.sent.len(), if retried { 2 } else { 1 }, "status {code}");
    }
    // maxTotalBackoffDuration (clamped to at least 60 s): an event failing for longer is dropped.
    let options = r#"{"integrations":{"Segment.io":{"httpConfig":{"backoffConfig":{"maxTotalBackoffDuration":60,"maxRetryCount":100,"jitterPercent":0}}}}}"#;
    let mut sim = Sim::new(DEFAULTS, options);
    sim.track("x");
    sim.advance(5_000);
    for _ in 0..100 {
        sim.network.push_back(status(503));
    }
    sim.drive(3_600_000);
    assert_eq!(sim.core.queued(), 0);
    assert_eq!(sim.notices.len(), 1);
    let last = sim.sent.last().unwrap().0;
    assert!(
        last.since(sim.sent[0].0) <= 60_000 + 5_000,
        "gave up after about a minute"
    );
}

#[test]
fn a_full_batch_that_fails_is_retried_after_its_backoff_not_at_the_batch_timeout() {
    // Ten events leave at once (size 10, timeout 5 s); the request fails. The retry is due at
    // the end of the backoff or the Retry-After pause, not 5 s after the oldest event (the
    // batch timer of a batch that was never partial).
    // (answer, earliest and latest retry after the failure, ms)
    let table = [
        (status(503), 450, 550),
        (status(0), 450, 550),
        (
            SendOutcome {
                status: 429,
                retry_after: Some("2".into()),
            },
            2_000,
            2_000,
        ),
    ];
    for (outcome, earliest, latest) in table {
        let mut sim = Sim::new(DEFAULTS, "{}");
        for i in 0..10 {
            sim.track(&format!("E{i}"));
        }
        assert_eq!(sim.sent.len(), 1);
        let failed_at = sim.now;
        sim.network.push_back(outcome.clone());
        sim.answer_all();
        sim.advance(10_000);
        assert_eq!(sim.sent.len(), 2, "{outcome:?}: retried");
        let waited = sim.sent[1].0.since(failed_at);
        assert!(
            (earliest..=latest).contains(&waited),
            "{outcome:?}: retried {waited} ms after the failure"
        );
    }
}
