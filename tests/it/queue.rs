//! The persisted delivery queue through a simulated browser profile: one shared
//! localStorage and lock table, several tabs (each its own core and network script), a
//! clock, and faults as data (closed/crashed tabs, broken storage, offline). No browser.

use std::collections::BTreeMap;

use sieve::core::args::decode_args;
use sieve::core::delivery::{SendOutcome, Transmit, MAX_BATCH_BODY, MAX_QUEUE_EVENTS};
use sieve::core::persisted::{Claims, MAX_CHUNK_BYTES};
use sieve::core::time::Millis;
use sieve::json;

use crate::sim::{assert_all_delivered, batch_events, message_id, ok, status, World, PREFIX};

const FAST: &str = r#"{"integrations":{"Segment.io":{"deliveryStrategy":{"strategy":"batching","config":{"size":10,"timeout":100}}}}}"#;

#[test]
fn one_turn_is_one_storage_write_below_a_chunks_size() {
    let mut w = World::new(Claims::Locks);
    let t = w.open_tab("{}");
    let before = w.queue_writes;
    for i in 0..7 {
        w.call(t, &format!("E{i}"));
    }
    assert_eq!(w.queue_writes, before, "nothing is written inside the turn");
    w.step(t);
    assert_eq!(
        w.queue_writes,
        before + 1,
        "one chunk for the 7 events of the turn"
    );
    let keys = w.queue_keys();
    assert_eq!(keys.len(), 1);
    assert_eq!(w.local[&keys[0]].lines().count(), 7);
    assert!(
        w.locks.len() == 1,
        "the tab holds its lock while it has persisted events"
    );
    // The next turn appends a new chunk; the first one is not rewritten.
    w.track(t, "E7");
    assert_eq!(w.queue_writes, before + 2);
    assert_eq!(w.queue_keys().len(), 2);
    assert_eq!(w.local[&keys[0]].lines().count(), 7);
}

#[test]
fn a_burst_is_split_into_chunks_and_a_confirmation_rewrites_only_its_own() {
    let mut w = World::new(Claims::Locks);
    let t = w.open_tab(FAST);
    // A first batch in flight, then a burst of 200 calls in one turn.
    let mut ids: Vec<String> = (0..10).map(|i| w.call(t, &format!("F{i}"))).collect();
    w.step(t);
    assert_eq!(w.tabs[t].in_flight.len(), 1);
    let first_key = w.queue_keys();
    assert_eq!(first_key.len(), 1);
    let before = w.queue_writes;
    ids.extend((0..200).map(|i| w.call(t, &format!("E{i}"))));
    w.step(t);
    let keys: Vec<String> = w
        .queue_keys()
        .into_iter()
        .filter(|k| !first_key.contains(k))
        .collect();
    assert!(keys.len() >= 4, "{} chunks", keys.len());
    assert_eq!(
        w.queue_writes,
        before + keys.len(),
        "written at the end of the turn, once each"
    );
    let lines: usize = keys.iter().map(|k| w.local[k].lines().count()).sum();
    assert_eq!(lines, 200);
    let biggest = keys.iter().map(|k| w.local[k].len()).max().unwrap_or(0);
    assert!(
        biggest <= MAX_CHUNK_BYTES,
        "a chunk holds at most {MAX_CHUNK_BYTES} bytes: {biggest}"
    );
    // Filled before the next one opens: each but the last misses less than one line.
    let total: usize = keys.iter().map(|k| w.local[k].len()).sum();
    let longest_line = keys
        .iter()
        .flat_map(|k| w.local[k].lines())
        .map(|l| l.len() + 1)
        .max()
        .unwrap_or(0);
    assert!(
        keys.len() <= total.div_ceil(MAX_CHUNK_BYTES - longest_line),
        "{} chunks for {total} bytes",
        keys.len()
    );
    // The first batch is confirmed: only the chunk holding it is removed; the burst then
    // leaves as one catch-up batch.
    let before = w.queue_writes;
    w.answer(t);
    assert_eq!(w.queue_writes, before + 1);
    assert!(!w.local.contains_key(&first_key[0]));
    assert_eq!(w.tabs[t].in_flight.len(), 1);
    assert_eq!(w.tabs[t].in_flight[0].n_events, 200);
    w.run(60_000);
    assert_all_delivered(&w, &ids);
    assert!(w.queue_keys().is_empty());
}

#[test]
fn confirmed_events_leave_storage_and_the_lock_is_released() {
    let mut w = World::new(Claims::Locks);
    let t = w.open_tab(FAST);
    let ids: Vec<String> = (0..15).map(|i| w.track(t, &format!("E{i}"))).collect();
    assert_eq!(w.queue_keys().len(), 15);
    w.run(10_000);
    assert_all_delivered(&w, &ids);
    assert!(w.queue_keys().is_empty(), "left: {:?}", w.queue_keys());
    assert!(
        w.locks.is_empty(),
        "an empty queue holds no lock (keeps the page bfcache-eligible)"
    );
}

#[test]
fn a_partly_confirmed_chunk_is_rewritten_with_what_is_left() {
    // Standard mode sends one event per request: a turn's chunk is confirmed piece by piece.
    let mut w = World::new(Claims::Locks);
    let t = w.open_tab(
        r#"{"integrations":{"Segment.io":{"deliveryStrategy":{"strategy":"standard"}}}}"#,
    );
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(w.call(t, &format!("E{i}")));
    }
    w.step(t);
    assert_eq!(w.tabs[t].in_flight.len(), 1, "one event in flight");
    w.answer(t);
    let keys = w.queue_keys();
    assert_eq!(keys.len(), 1);
    assert_eq!(
        w.local[&keys[0]].lines().count(),
        4,
        "the confirmed one is gone from disk"
    );
    w.run(10_000);
    assert_all_delivered(&w, &ids);
    assert!(w.queue_keys().is_empty());
}

#[test]
fn events_survive_a_reload_and_are_resent_with_the_same_message_ids() {
    let mut w = World::new(Claims::Locks);
    w.api_default = status(503);
    let a = w.open_tab(FAST);
    let ids: Vec<String> = (0..12).map(|i| w.track(a, &format!("E{i}"))).collect();
    w.run(3_000);
    assert!(w.delivered.is_empty());
    let retried = w.sent.len();
    assert!(retried >= 2, "retried while the API is down");
    // Reload: the old page goes away (its lock with it), a new page loads.
    w.close_tab(a);
    w.api_default = ok();
    let b = w.open_tab(FAST);
    w.run(10_000);
    assert_all_delivered(&w, &ids);
    let after: Vec<&Transmit> = w.sent.iter().filter(|s| s.0 == b).map(|s| &s.2).collect();
    assert!(!after.is_empty());
    assert!(
        after[0].retry_count >= 1,
        "attempts survive the reload (X-Retry-Count)"
    );
    let first = &batch_events(after[0])[0];
    assert!(first
        .get("_metadata")
        .and_then(|m| m.get("retryCount"))
        .is_some());
    assert!(w.queue_keys().is_empty());
    assert!(
        w.delivered.values().all(|n| *n == 1),
        "no duplicates: {:?}",
        w.delivered
    );
}

#[test]
fn a_live_tab_keeps_its_events_and_a_closed_tabs_events_are_adopted() {
    let mut w = World::new(Claims::Locks);
    w.api_default = status(500);
    let a = w.open_tab(FAST);
    let b = w.open_tab(FAST);
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(w.track(if i % 2 == 0 { a } else { b }, &format!("E{i}")));
    }
    w.run(30_000);
    // While both are alive, no tab ever sends the other's events.
    for (tab, _, t) in &w.sent {
        for e in batch_events(t) {
            let n: usize = e.get("event").unwrap().as_str().unwrap()[1..]
                .parse()
                .unwrap();
            assert_eq!(n % 2, *tab, "tab {tab} sent another tab's event E{n}");
        }
    }
    w.close_tab(b);
    w.api_default = ok();
    w.run(30_000);
    assert_all_delivered(&w, &ids);
    assert!(w.queue_keys().is_empty(), "left: {:?}", w.queue_keys());
    assert!(w.delivered.values().all(|n| *n == 1));
}

#[test]
fn without_web_locks_a_crashed_tabs_events_are_adopted_once_its_lease_expires() {
    let mut w = World::new(Claims::Lease);
    w.api_default = status(503);
    let a = w.open_tab(FAST);
    let ids: Vec<String> = (0..5).map(|i| w.track(a, &format!("A{i}"))).collect();
    let lease_key = format!("{PREFIX}{}:lease", w.tabs[a].core.queue_tab().unwrap());
    let lease: u64 = w.local[&lease_key].parse().unwrap();
    assert_eq!(
        lease,
        w.now.0 + 60_000,
        "a 60 s lease, written with the first chunk"
    );
    // A stays alive for two minutes: it renews its lease, B never adopts.
    let b = w.open_tab(FAST);
    w.run(120_000);
    assert!(
        w.sent.iter().all(|s| s.0 == a),
        "B sent nothing of A's while A was alive"
    );
    let renewed: u64 = w.local[&lease_key].parse().unwrap();
    assert!(renewed > lease, "the lease was renewed");
    // A crashes: no more renewals. Nothing moves before the lease expires.
    w.close_tab(a);
    let crashed_at = w.now;
    w.api_default = ok();
    let expiry = Millis(w.local[&lease_key].parse().unwrap());
    w.run(expiry.since(crashed_at) - 1);
    assert!(w.delivered.is_empty(), "adopted before the lease expired");
    w.run(11_000);
    assert_all_delivered(&w, &ids);
    assert!(w.sent.iter().any(|s| s.0 == b));
    assert!(w.queue_keys().is_empty(), "left: {:?}", w.queue_keys());
}

#[test]
fn a_tab_whose_lease_lapsed_forgets_what_another_tab_adopted() {
    let mut w = World::new(Claims::Lease);
    w.api_default = status(503);
    let a = w.open_tab(FAST);
    let ids: Vec<String> = (0..3).map(|i| w.track(a, &format!("A{i}"))).collect();
    // A is frozen (throttled) for 2 minutes; B adopts after the lease expires.
    w.tabs[a].open = false;
    let b = w.open_tab(FAST);
    w.api_default = ok();
    w.run(120_000);
    assert_all_delivered(&w, &ids);
    // A wakes up: its next scan finds its chunks gone and it stops holding them.
    w.tabs[a].open = true;
    w.tabs[a].in_flight.clear();
    let sent_before = w.sent.len();
    w.tabs[a].core.handle_timeout(w.now.plus(10_000));
    w.step(a);
    w.run(60_000);
    let resent = w.sent[sent_before..].iter().filter(|s| s.0 == a).count();
    assert!(
        resent <= 1,
        "at most the batch that was already due goes twice (same messageIds)"
    );
    assert_eq!(w.tabs[a].core.queued(), 0);
    let _ = b;
}

#[test]
fn the_queue_is_bounded_in_events_with_an_error_counting_the_dropped() {
    let mut w = World::new(Claims::Locks);
    w.api_default = status(503);
    let t = w.open_tab(r#"{"integrations":{"Segment.io":{"deliveryStrategy":{"strategy":"batching","config":{"size":100000,"timeout":3600000}}}}}"#);
    for i in 0..MAX_QUEUE_EVENTS + 5 {
        w.call(t, &format!("E{i}"));
    }
    w.step(t);
    assert_eq!(w.tabs[t].core.queued(), MAX_QUEUE_EVENTS);
    let full: Vec<usize> = w.tabs[t]
        .notices
        .iter()
        .filter(|n| n.code == "queue_full")
        .map(|n| n.count)
        .collect();
    assert_eq!(
        full,
        [5],
        "the 5 oldest were dropped, told once for the burst"
    );
    let on_disk: usize = w
        .queue_keys()
        .iter()
        .map(|k| w.local[k].lines().count())
        .sum();
    assert_eq!(on_disk, MAX_QUEUE_EVENTS);
    assert!(
        !w.local.values().any(|v| v.contains("\"E0\"")),
        "the oldest is gone from disk too"
    );
}

#[test]
fn the_queue_is_bounded_in_bytes() {
    let mut w = World::new(Claims::Locks);
    w.api_default = status(503);
    let t = w.open_tab(r#"{"integrations":{"Segment.io":{"deliveryStrategy":{"strategy":"batching","config":{"size":100000,"timeout":3600000}}}}}"#);
    let blob = "z".repeat(30_000);
    for i in 0..80 {
        let args = decode_args(
            "so",
            &json::parse(&format!(r#"["B{i}",{{"blob":"{blob}"}}]"#)).unwrap(),
        )
        .0;
        w.call_args(t, &args);
        w.step(t);
    }
    let bytes: usize = w.queue_keys().iter().map(|k| w.local[k].len()).sum();
    assert!(bytes <= 2 * 1024 * 1024 + 80 * 64, "{bytes} bytes on disk");
    let dropped: usize = w.tabs[t]
        .notices
        .iter()
        .filter(|n| n.code == "queue_full")
        .map(|n| n.count)
        .sum();
    assert_eq!(dropped + w.tabs[t].core.queued(), 80);
    assert!(dropped >= 10);
}

#[test]
fn events_older_than_seven_days_are_dropped_on_restore() {
    let mut w = World::new(Claims::Locks);
    w.api_default = status(503);
    let a = w.open_tab(FAST);
    w.track(a, "Old");
    w.close_tab(a);
    w.now = w.now.plus(8 * 86_400_000);
    w.api_default = ok();
    let b = w.open_tab(FAST);
    let fresh = w.track(b, "Fresh");
    w.run(5_000);
    assert_eq!(w.delivered.keys().cloned().collect::<Vec<_>>(), vec![fresh]);
    assert!(w.tabs[b]
        .notices
        .iter()
        .any(|n| n.code == "event_expired" && n.count == 1));
    assert!(w.queue_keys().is_empty());
}

#[test]
fn broken_storage_falls_back_to_memory_and_still_delivers() {
    let mut w = World::new(Claims::Locks);
    w.storage_broken = true;
    let t = w.open_tab(FAST);
    let ids: Vec<String> = (0..4).map(|i| w.track(t, &format!("E{i}"))).collect();
    let writes_after_failure = w.queue_writes;
    w.track(t, "later");
    assert_eq!(w.queue_writes, writes_after_failure);
    assert!(w.tabs[t].core.queue_prefix().is_none(), "memory queue");
    w.run(5_000);
    assert_all_delivered(&w, &ids);
}

#[test]
fn malformed_chunks_are_skipped_without_panicking() {
    let mut w = World::new(Claims::Locks);
    for (k, v) in [
        ("deadbeef:1", "garbage"),
        ("deadbeef:2", "1,2,x{}\n,,\n9999999999999999999999,1,t{}\n0,abc,t{}\n0,1,t[1]\n0,1,t{\"messageId\":\"m\""),
        ("deadbeef:lease", "not a number"),
        ("nota:number", "0,1,t{}"),
        (":7", "0,1,t{}"),
    ] {
        w.local.insert(format!("{PREFIX}{k}"), v.into());
    }
    let good = format!("0,{},t{{\"type\":\"track\",\"event\":\"ok\",\"messageId\":\"good-1\",\"anonymousId\":\"a\"}}\n", w.now.0);
    w.local.insert(format!("{PREFIX}deadbeef:3"), good);
    let t = w.open_tab(FAST);
    w.run(5_000);
    assert_eq!(
        w.delivered.keys().cloned().collect::<Vec<_>>(),
        vec!["good-1".to_owned()]
    );
    assert_eq!(w.tabs[t].core.queued(), 0);
}

#[test]
fn offline_pauses_and_online_resumes_at_once() {
    let mut w = World::new(Claims::Locks);
    let t = w.open_tab(FAST);
    w.tabs[t].core.handle_online(false);
    let ids: Vec<String> = (0..25).map(|i| w.track(t, &format!("E{i}"))).collect();
    w.run(60_000);
    assert!(w.sent.is_empty(), "nothing leaves while offline");
    assert_eq!(w.queue_keys().len(), 25, "but everything is persisted");
    // A failure, then going offline and back: the backoff is lifted at once.
    w.network.push_back(status(0));
    w.tabs[t].core.handle_online(true);
    w.step(t);
    assert_eq!(w.sent.len(), 1);
    w.answer(t);
    w.tabs[t].core.handle_online(false);
    w.tabs[t].core.handle_online(true);
    w.step(t);
    assert_eq!(
        w.sent.len(),
        2,
        "online resumes without waiting for the backoff"
    );
    w.run(10_000);
    assert_all_delivered(&w, &ids);
}

#[test]
fn retry_after_is_capped_and_not_shortened_by_later_backoffs() {
    let mut w = World::new(Claims::Locks);
    let t = w.open_tab(FAST);
    w.track(t, "a");
    w.network.push_back(SendOutcome {
        status: 429,
        retry_after: Some("100000".into()),
    });
    w.run(1_000);
    assert_eq!(w.sent.len(), 1);
    let at = w.sent[0].1;
    // Online again does not lift a Retry-After pause.
    w.tabs[t].core.handle_online(false);
    w.tabs[t].core.handle_online(true);
    w.step(t);
    w.run(299_000);
    assert_eq!(w.sent.len(), 1, "paused for the capped 300 s");
    w.run(2_000);
    assert_eq!(w.sent.len(), 2);
    assert_eq!(
        w.sent[1].1.since(at),
        300_000,
        "Retry-After capped at 300 s"
    );
}

#[test]
fn beaconed_events_stay_persisted_and_are_resent_when_the_page_shows_again() {
    let mut w = World::new(Claims::Locks);
    let t = w.open_tab(r#"{"integrations":{"Segment.io":{"deliveryStrategy":{"strategy":"batching","config":{"size":10,"timeout":5000}}}}}"#);
    let ids: Vec<String> = (0..3).map(|i| w.track(t, &format!("E{i}"))).collect();
    w.tabs[t].core.handle_page_hide();
    w.step(t);
    assert_eq!(w.tabs[t].in_flight.len(), 1);
    assert!(w.tabs[t].in_flight[0].keepalive);
    // The driver found keepalive fetch refused and used sendBeacon.
    let id = w.tabs[t].in_flight.remove(0).id;
    w.tabs[t].core.handle_beacon_sent(id);
    w.step(t);
    assert_eq!(w.tabs[t].core.queued(), 3, "unconfirmed: still queued");
    assert_eq!(w.queue_keys().len(), 3, "and persisted");
    w.tabs[t].core.handle_page_show();
    w.tabs[t].core.handle_flush();
    w.step(t);
    w.run(5_000);
    assert_all_delivered(&w, &ids);
    assert!(w.queue_keys().is_empty());
}

#[test]
fn track_then_page_hide_sends_with_keepalive_and_unconfirmed_events_reach_the_next_page() {
    let mut w = World::new(Claims::Locks);
    let a = w.open_tab(r#"{"integrations":{"Segment.io":{"deliveryStrategy":{"strategy":"batching","config":{"size":10,"timeout":5000}}}}}"#);
    let blob = "k".repeat(20_000);
    let mut ids = Vec::new();
    for i in 0..6 {
        let args = decode_args(
            "so",
            &json::parse(&format!(r#"["K{i}",{{"blob":"{blob}"}}]"#)).unwrap(),
        )
        .0;
        ids.push(w.call_args(a, &args));
    }
    w.hide(a);
    let chunks: Vec<&Transmit> = w.tabs[a].in_flight.iter().collect();
    assert!(chunks
        .iter()
        .all(|t| t.keepalive && t.body.len() <= 54 * 1024));
    assert!(chunks.iter().map(|t| t.body.len()).sum::<usize>() <= 60 * 1024);
    let sent_now: usize = chunks.iter().map(|t| t.n_events).sum();
    assert!(
        sent_now < 6,
        "120 KB do not fit the keepalive budget at once"
    );
    // The page is gone before any answer: everything is still on disk for the next load.
    let on_disk: usize = w
        .queue_keys()
        .iter()
        .map(|k| w.local[k].lines().count())
        .sum();
    assert_eq!(on_disk, 6);
    w.close_tab(a);
    let b = w.open_tab(FAST);
    w.run(10_000);
    assert_all_delivered(&w, &ids);
    assert!(w.queue_keys().is_empty());
    let _ = b;
}

/// Send times of each messageId, in order.
fn sends_by_id(w: &World) -> BTreeMap<String, Vec<Millis>> {
    let mut by_id: BTreeMap<String, Vec<Millis>> = BTreeMap::new();
    for (_, at, t) in &w.sent {
        for e in batch_events(t) {
            by_id.entry(message_id(&e)).or_default().push(*at);
        }
    }
    by_id
}

/// The default retry policy's backoff before retry `n` (1-based), without jitter.
fn backoff(n: u32) -> u64 {
    (500u64 << (n - 1).min(20)).min(60_000)
}

/// Asserts that no event went out again before the backoff of its last attempt (−10 % jitter)
/// had passed: a hidden page does not retry faster than a visible one.
fn assert_backoff_respected(w: &World) {
    for (id, times) in sends_by_id(w) {
        for (k, pair) in times.windows(2).enumerate() {
            let gap = pair[1].since(pair[0]);
            let want = backoff(k as u32 + 1) * 9 / 10;
            assert!(
                gap >= want,
                "{id}: attempt {} went {gap} ms after the previous one (backoff {want} ms)",
                k + 2
            );
        }
    }
}

#[test]
fn a_hidden_page_follows_the_retry_policy_while_the_api_fails_and_drops_nothing_early() {
    // The default policy: 10 retries, 0.5 s doubling to 60 s, ±10 %: it gives up after
    // Σ backoff(1..=10) = 243.5 s (at least 219 s with jitter), hidden or not.
    let span: u64 = (1..=10).map(backoff).sum();
    // (outage, hidden): the API fails for `outage` ms from the first call, then recovers.
    for (outage, hidden) in [
        (1_000, false),
        (1_000, true),
        (10_000, false),
        (10_000, true),
        (600_000, false),
        (600_000, true),
    ] {
        let mut w = World::new(Claims::Locks);
        w.api_default = status(503);
        let t = w.open_tab(FAST);
        let start = w.now;
        let ids: Vec<String> = (0..20).map(|i| w.track(t, &format!("E{i}"))).collect();
        if hidden {
            w.hide(t);
        }
        w.run(outage);
        let case = format!("outage {outage} ms, hidden {hidden}");
        if outage < span * 9 / 10 {
            assert_eq!(
                w.events_on_disk(),
                20,
                "{case}: everything unconfirmed stays persisted"
            );
            assert!(
                w.tabs[t].notices.is_empty(),
                "{case}: nothing dropped: {:?}",
                w.tabs[t].notices
            );
        }
        w.api_default = ok();
        if hidden {
            w.show(t);
        }
        w.run(600_000);
        assert_backoff_respected(&w);
        let failures: usize = w.tabs[t]
            .notices
            .iter()
            .filter(|n| n.code == "delivery_failure")
            .map(|n| n.count)
            .sum();
        if outage < span * 9 / 10 {
            assert_all_delivered(&w, &ids);
            assert_eq!(failures, 0, "{case}");
        } else {
            // Past the policy's span: dropped as a visible page drops them, not before.
            assert_eq!(failures + w.delivered.len(), 20, "{case}");
            let sends = sends_by_id(&w);
            for id in &ids {
                if w.delivered.contains_key(id) {
                    continue;
                }
                let last = *sends[id].last().unwrap();
                assert!(
                    last.since(start) >= span * 9 / 10 - backoff(10),
                    "{case}: {id} given up {} ms after the first call",
                    last.since(start)
                );
                assert_eq!(sends[id].len(), 11, "{case}: 1 attempt + 10 retries");
            }
        }
        assert!(
            w.queue_keys().is_empty(),
            "{case}: left {:?}",
            w.queue_keys()
        );
    }
}

#[test]
fn hide_and_show_many_times_while_the_api_fails_sends_once_per_backoff_step() {
    // (API answer, API latency in ms, most requests in 20 s). With a latency, hides also come
    // while a request is in flight. 0.5 + 1 + 2 + 4 + 8 s = 15.5 s: the first attempt and at
    // most 5 retries; with no answer at all (status 0), at most one page-hide try more through
    // each of their pauses, which counts no attempt.
    for (api, latency, most) in [(503, 0, 6), (503, 50, 6), (503, 300, 6), (0, 50, 12)] {
        let mut w = World::new(Claims::Locks);
        w.api_default = status(api);
        w.latency_ms = latency;
        let t = w.open_tab(FAST);
        let ids: Vec<String> = (0..5).map(|i| w.track(t, &format!("E{i}"))).collect();
        // Hidden and shown again every 50 ms for 20 s.
        for _ in 0..200 {
            w.hide(t);
            w.run(25);
            w.show(t);
            w.run(25);
        }
        if api != 0 {
            assert_backoff_respected(&w);
        }
        assert!(
            w.sent.len() <= most,
            "status {api}, latency {latency}: {} requests in 20 s of hide/show",
            w.sent.len()
        );
        assert!(w.tabs[t].notices.is_empty(), "{:?}", w.tabs[t].notices);
        assert_eq!(w.events_on_disk(), 5);
        w.api_default = ok();
        w.run(120_000);
        assert_all_delivered(&w, &ids);
        assert!(w.delivered.values().all(|n| *n == 1));
    }
}

#[test]
fn hide_and_show_many_times_with_the_api_up_sends_each_event_once() {
    // API latency (ms): with a latency, hides also come while a request is in flight.
    for latency in [0, 50, 300] {
        let mut w = World::new(Claims::Locks);
        w.latency_ms = latency;
        let t = w.open_tab(r#"{"integrations":{"Segment.io":{"deliveryStrategy":{"strategy":"batching","config":{"size":10,"timeout":5000}}}}}"#);
        let mut ids = Vec::new();
        for i in 0..100 {
            ids.push(w.track(t, &format!("E{i}")));
            w.hide(t);
            w.run(10);
            w.show(t);
            w.run(10);
        }
        w.run(10_000);
        assert_all_delivered(&w, &ids);
        assert!(
            w.delivered.values().all(|n| *n == 1),
            "latency {latency}: sent once each: {:?}",
            w.delivered.values().filter(|n| **n > 1).count()
        );
        // At most one request per hide (what was queued since the last one) and per batch.
        assert!(
            w.sent.len() <= 100,
            "latency {latency}: {} requests",
            w.sent.len()
        );
    }
}

#[test]
fn a_request_the_navigation_aborts_does_not_hold_back_the_page_hide() {
    // Browsers abort a page's fetches as it navigates away (Firefox and WebKit before
    // `pagehide`): the request ends as a network error (status 0) and its backoff would hold
    // the queue through the hide. The hide goes through such a pause once, with keepalive;
    // that try counts no attempt. (A status the API gave, e.g. 503, still holds it: the
    // hide-and-show test above.)
    let batching = r#"{"integrations":{"Segment.io":{"deliveryStrategy":{"strategy":"batching","config":{"size":10,"timeout":5000}}}}}"#;
    let mut w = World::new(Claims::Locks);
    w.latency_ms = 50;
    let a = w.open_tab(batching);
    let ids: Vec<String> = (0..25).map(|i| w.track(a, &format!("N{i}"))).collect();
    assert_eq!(
        w.sent.len(),
        1,
        "the first full batch left as a plain request"
    );
    assert!(!w.sent[0].2.keepalive);
    // The navigation aborts it.
    w.network.push_back(status(0));
    w.answer(a);
    assert!(w.tabs[a].in_flight.is_empty(), "held by the backoff");
    w.hide(a);
    let at_hide: Vec<&Transmit> = w.tabs[a].in_flight.iter().collect();
    assert!(
        !at_hide.is_empty(),
        "the page hide sends through the network error's backoff"
    );
    assert!(at_hide.iter().all(|t| t.keepalive));
    assert_eq!(at_hide.iter().map(|t| t.n_events).sum::<usize>(), 25);
    assert_eq!(
        at_hide[0].retry_count, 1,
        "the aborted request counted one attempt"
    );
    // That try fails too (the page is gone, or the API is unreachable): no attempt counted,
    // the pause kept, and hiding again within it sends nothing more.
    let extra = w.sent.len();
    w.network.push_back(status(0));
    w.answer(a);
    w.show(a);
    w.hide(a);
    assert_eq!(w.sent.len(), extra, "once per pause");
    w.run(10_000);
    assert_all_delivered(&w, &ids);
    let retries: Vec<u32> = w.sent[extra..].iter().map(|s| s.2.retry_count).collect();
    assert!(
        retries.iter().all(|&r| r == 1),
        "the extra try counted nothing: {retries:?}"
    );
}

#[test]
fn a_hidden_tab_closed_while_the_api_fails_leaves_its_events_to_another_tab() {
    let mut w = World::new(Claims::Locks);
    w.api_default = status(503);
    let a = w.open_tab(FAST);
    let ids: Vec<String> = (0..20).map(|i| w.track(a, &format!("A{i}"))).collect();
    w.hide(a);
    w.run(10_000);
    assert_eq!(w.events_on_disk(), 20);
    w.close_tab(a);
    w.api_default = ok();
    let b = w.open_tab(FAST);
    w.run(30_000);
    assert_all_delivered(&w, &ids);
    assert!(w.sent.iter().any(|s| s.0 == b));
    assert!(w.queue_keys().is_empty());
}

// -----------------------------------------------------------------------------------------
// Throughput: catch-up batches under a sustained rate, bursts, Retry-After

/// Tracks `rate` events per second for `seconds` on tab `t` (one call per task, the world
/// running in between); returns the messageIds and the time of the last call.
fn track_at_rate(w: &mut World, t: usize, rate: u64, seconds: u64) -> (Vec<String>, Millis) {
    let gap = 1_000 / rate;
    let mut ids = Vec::new();
    let mut last = w.now;
    for i in 0..rate * seconds {
        last = w.now;
        ids.push(w.track(t, &format!("R{i}")));
        w.run(gap);
    }
    (ids, last)
}

/// Runs the world in 10 ms steps until tab `t` holds nothing; returns when (panics after
/// `limit_ms`).
fn run_until_empty(w: &mut World, t: usize, limit_ms: u64) -> Millis {
    let end = w.now.plus(limit_ms);
    while w.tabs[t].core.queued() > 0 {
        assert!(
            w.now < end,
            "{} events still queued after {limit_ms} ms",
            w.tabs[t].core.queued()
        );
        w.run(10);
    }
    w.now
}

/// Asserts that a request left only once the one before it was answered (`latency` later):
/// one request in flight at a time.
fn assert_one_in_flight(w: &World, latency: u64, case: &str) {
    for pair in w.sent.windows(2) {
        assert!(
            pair[1].1.since(pair[0].1) >= latency,
            "{case}: a request left {} ms after the previous one, before its answer",
            pair[1].1.since(pair[0].1)
        );
    }
}

#[test]
fn a_sustained_rate_drains_through_catch_up_batches_without_loss() {
    // (events/s, API latency ms, seconds): analytics.js's default batching (size 10,
    // timeout 5 s). Without catch-up batches (10 events per round trip) the first row drains
    // 33 events/s and drops the oldest at the 3,000-event bound after about 45 s.
    for (rate, latency, seconds) in [
        (100, 300, 60),
        (100, 50, 60),
        (1_000, 300, 10),
        (5, 300, 60),
    ] {
        let case = format!("{rate}/s for {seconds} s at {latency} ms");
        let mut w = World::new(Claims::Locks);
        w.latency_ms = latency;
        let t = w.open_tab("{}");
        let (ids, last_call) = track_at_rate(&mut w, t, rate, seconds);
        let empty_at = run_until_empty(&mut w, t, 60_000);
        assert!(
            w.tabs[t].notices.is_empty(),
            "{case}: {:?}",
            w.tabs[t].notices
        );
        assert_all_delivered(&w, &ids);
        assert!(
            w.delivered.values().all(|n| *n == 1),
            "{case}: each event sent once"
        );
        assert_one_in_flight(&w, latency, &case);
        // What is left after the last call is under `size` events: it waits for the batch
        // timeout (5 s after its oldest event), plus the request in flight and its own.
        let drain = empty_at.since(last_call);
        assert!(
            drain <= 5_000 + 2 * latency + 10,
            "{case}: queue empty {drain} ms after the last call"
        );
        assert!(w.queue_keys().is_empty(), "{case}: nothing left on disk");
        let events: usize = w.sent.iter().map(|s| s.2.n_events).sum();
        println!(
            "{case}: {} requests, {:.1} events per request, empty {drain} ms after the last call",
            w.sent.len(),
            events as f64 / w.sent.len() as f64
        );
    }
}

#[test]
fn thirty_thousand_calls_at_one_instant_keep_what_the_bound_allows() {
    // (calls per task, API latency ms): 30,000 `track` calls at one instant. The I/O task
    // (the chunk write, the request) runs between tasks, never inside one: a tight loop of
    // 30,000 calls is one task, so only the bound (3,000 events per tab) holds them, and the
    // oldest 27,000 are dropped with one `queue_full` notice. A page that yields between
    // slices of calls lets catch-up batches drain the queue in between (with the API
    // answering at once, as the loopback collector does without a delay fault).
    for (per_task, latency, dropped) in [(30_000, 0, 27_000), (3_000, 0, 0), (500, 0, 0)] {
        let case = format!("30,000 calls, {per_task} per task, latency {latency} ms");
        let mut w = World::new(Claims::Locks);
        w.latency_ms = latency;
        let t = w.open_tab("{}");
        let mut ids = Vec::new();
        let start = w.now;
        while ids.len() < 30_000 {
            for _ in 0..per_task {
                let i = ids.len();
                ids.push(w.call(t, &format!("B{i}")));
            }
            w.step(t);
            w.run(0);
        }
        assert_eq!(w.now, start, "{case}: at one instant");
        run_until_empty(&mut w, t, 60_000);
        let full: usize = (w.tabs[t].notices.iter())
            .filter(|n| n.code == "queue_full")
            .map(|n| n.count)
            .sum();
        assert_eq!(full, dropped, "{case}: dropped at the bound");
        assert_eq!(
            w.delivered.len() + full,
            30_000,
            "{case}: every event is delivered or counted as dropped"
        );
        assert_all_delivered(&w, &ids[dropped..]);
        assert!(w.delivered.values().all(|n| *n == 1), "{case}: once each");
        println!("{case}: {} requests, {full} dropped", w.sent.len());
    }
}

#[test]
fn a_retry_after_pause_ends_with_one_catch_up_batch_of_everything_queued_meanwhile() {
    // (Retry-After s, events/s during the pause): the page keeps tracking while the API
    // rate-limits; nothing leaves during the pause, and when it ends the retried events leave
    // first, in a request filled with what queued up meanwhile (analytics.js merges pending
    // events into its retry batch), up to the body limit.
    for (retry_after, rate) in [(2, 100), (10, 100), (7, 10)] {
        let case = format!("Retry-After {retry_after} s at {rate}/s");
        let mut w = World::new(Claims::Locks);
        w.latency_ms = 50;
        let t = w.open_tab("{}");
        let first: Vec<String> = (0..10).map(|i| w.track(t, &format!("F{i}"))).collect();
        assert_eq!(w.sent.len(), 1);
        w.network.push_back(SendOutcome {
            status: 429,
            retry_after: Some(retry_after.to_string()),
        });
        w.run(50);
        let limited_at = w.now;
        let (ids, _) = track_at_rate(&mut w, t, rate, retry_after);
        w.run(1);
        let pause_end = limited_at.plus(retry_after * 1_000);
        let at: Vec<Millis> = w.sent.iter().skip(1).map(|s| s.1).collect();
        assert_eq!(at, [pause_end], "{case}: one request, at the pause's end");
        let retry = &w.sent[1].2;
        let names: Vec<String> = batch_events(retry).iter().map(message_id).collect();
        assert_eq!(
            names[..10],
            first[..],
            "{case}: the retried events go first"
        );
        assert_eq!(retry.retry_count, 1, "{case}: X-Retry-Count");
        let all = 10 + ids.len();
        assert!(
            names.len() == all || retry.body.len() > MAX_BATCH_BODY - 32 * 1024,
            "{case}: {} of {all} events in {} bytes",
            names.len(),
            retry.body.len()
        );
        let bytes: usize = ids.len() * retry.body.len() / names.len();
        run_until_empty(&mut w, t, 10_000);
        assert!(w.tabs[t].notices.is_empty(), "{case}");
        assert_all_delivered(&w, &ids);
        assert_all_delivered(&w, &first);
        let full_bodies = bytes.div_ceil(MAX_BATCH_BODY - 32 * 1024);
        assert!(
            w.sent.len() <= 2 + full_bodies,
            "{case}: {} requests for {bytes} bytes",
            w.sent.len()
        );
        println!(
            "{case}: {} events, {} requests, the first retry carries {}",
            all,
            w.sent.len(),
            names.len()
        );
    }
}
