//! Behaviour through a simulated clock: every section-3 example, window edges, exits by
//! time alone, funnel settling, hysteresis, coverage, persistence, identity switches.
use super::definitions::all_examples;
use super::sim::{j, one, Sim, DAY, HOUR, MIN, T0};
use sieve::core::time::Millis;
use sieve::segments::definition::EventType;
use sieve::segments::{Engine, EventInput, Reason};

#[test]
fn company_traits_with_missing_policies() {
    let cond = r#"{"traits": {"company.employees": {"$gte": 50, "$lt": 1000}, "company.industry": {"$ini": ["saas","fintech"]}, "plan": {"$in": ["pro","enterprise"]}}, "on": "user"}"#;
    let mut sim = Sim::new(&one(cond));
    assert_eq!(sim.member("s"), None);
    sim.user(r#"{"plan": "pro", "company": {"employees": 120}}"#);
    assert_eq!(sim.member("s"), None, "industry missing: UNKNOWN holds");
    sim.user(r#"{"plan": "pro", "company": {"employees": 120, "industry": "SaaS"}}"#);
    assert_eq!(sim.member("s"), Some(true));
    sim.user(r#"{"plan": "free", "company": {"employees": 120, "industry": "SaaS"}}"#);
    assert_eq!(sim.member("s"), Some(false));
    assert_eq!(
        sim.moves(),
        [
            ("s".into(), true, Reason::Event, 0),
            ("s".into(), false, Reason::Event, 0)
        ]
    );

    for (missing, want) in [
        ("gb", Some(false)),
        ("false", Some(false)),
        ("unknown", None),
    ] {
        let cond = format!(r#"{{"traits": {{"plan": "pro"}}, "missing": "{missing}"}}"#);
        let mut sim = Sim::new(&one(&cond));
        sim.user("{}");
        assert_eq!(sim.member("s"), want, "{missing}");
    }
}

#[test]
fn key_action_within_24h_of_signup() {
    let cond = r#"{"event": {"name": "Report Created"}, "measure": "count", "window": {"type": "anchored", "anchor": {"event": {"name": "Signed Up"}}, "duration": "PT24H"}, "test": {"$gte": 1}}"#;
    // Report 23 h after signup: in.
    let mut sim = Sim::new(&one(cond));
    sim.advance(HOUR);
    sim.track("Signed Up", "{}");
    sim.advance(23 * HOUR);
    sim.track("Report Created", "{}");
    assert_eq!(sim.member("s"), Some(true));
    // Report exactly 24 h after signup: still inside [anchor, anchor + 24h].
    let mut sim = Sim::new(&one(cond));
    sim.track("Signed Up", "{}");
    sim.advance_to(T0 + 24 * HOUR);
    sim.track("Report Created", "{}");
    assert_eq!(sim.member("s"), Some(true));
    // One millisecond later: out.
    let mut sim = Sim::new(&one(cond));
    sim.track("Signed Up", "{}");
    sim.advance_to(T0 + 24 * HOUR + 1);
    sim.track("Report Created", "{}");
    assert_eq!(sim.member("s"), Some(false));
}

#[test]
fn logged_in_before_but_not_for_14_days() {
    let cond = r#"{"and": [{"event": {"name": "Logged In"}, "measure": "exists", "window": {"type": "lifetime"}, "test": {"$eq": true}}, {"event": {"name": "Logged In"}, "measure": "since_last", "window": {"type": "lifetime"}, "test": {"$gte": "P14D"}}]}"#;
    let mut sim = Sim::new(&one(cond));
    assert_eq!(
        sim.member("s"),
        None,
        "brand-new browser: UNKNOWN (strict coverage)"
    );
    sim.advance(HOUR);
    sim.track("Logged In", "{}");
    assert_eq!(sim.member("s"), Some(false));
    sim.advance_to(T0 + HOUR + 14 * DAY - 1);
    assert_eq!(sim.member("s"), Some(false));
    // No event: time alone moves the user in, exactly 14 days after the last login.
    sim.advance_to(T0 + HOUR + 14 * DAY);
    assert_eq!(sim.member("s"), Some(true));
    assert_eq!(
        sim.moves(),
        [("s".into(), true, Reason::Time, HOUR + 14 * DAY)]
    );
    sim.track("Logged In", "{}");
    assert_eq!(sim.member("s"), Some(false));
}

#[test]
fn funnel_settles_before_counting_a_stop() {
    let cond = r#"{"funnel": {"steps": [{"name": "Checkout Started"}, {"name": "Shipping Entered"}, {"name": "Payment Entered"}, {"name": "Order Completed"}], "within": "P1D", "window": {"type": "rolling", "duration": "P30D"}}, "test": {"maxStep": {"$eq": 3}}, "settle": true}"#;
    let mut sim = Sim::new(&one(cond));
    sim.track("Checkout Started", "{}");
    sim.advance(10 * MIN);
    sim.track("Shipping Entered", "{}");
    sim.advance(10 * MIN);
    sim.track("Payment Entered", "{}");
    assert_eq!(sim.member("s"), Some(false), "not settled yet: held");
    sim.advance_to(T0 + DAY - 1);
    assert_eq!(sim.member("s"), Some(false));
    sim.advance_to(T0 + DAY + 1);
    assert_eq!(sim.member("s"), Some(true));
    assert_eq!(sim.moves(), [("s".into(), true, Reason::Time, DAY)]);
    // The attempt leaves the 30-day window: out again, by time.
    sim.advance_to(T0 + 31 * DAY);
    assert_eq!(sim.member("s"), Some(false));
    assert_eq!(sim.moves()[1], ("s".into(), false, Reason::Time, 30 * DAY));

    // Ordering within the day: never in.
    let mut sim = Sim::new(&one(cond));
    for name in [
        "Checkout Started",
        "Shipping Entered",
        "Payment Entered",
        "Order Completed",
    ] {
        sim.track(name, "{}");
        sim.advance(MIN);
    }
    sim.advance(2 * DAY);
    assert_eq!(sim.member("s"), Some(false));
    assert!(sim.moves().is_empty());

    // Without settle, stopping at step 3 counts at once.
    let unsettled = cond.replace(r#""settle": true"#, r#""settle": false"#);
    let mut sim = Sim::new(&one(&unsettled));
    for name in ["Checkout Started", "Shipping Entered", "Payment Entered"] {
        sim.track(name, "{}");
        sim.advance(1);
    }
    assert_eq!(sim.member("s"), Some(true));

    // Steps tracked in the same millisecond (one synchronous block) still count in order.
    let mut sim = Sim::new(&one(&unsettled));
    for name in ["Checkout Started", "Shipping Entered", "Payment Entered"] {
        sim.track(name, "{}");
    }
    assert_eq!(sim.member("s"), Some(true));
    // A repeated step needs a later occurrence: two steps of the same event at one instant
    // are one step.
    let repeated = r#"{"funnel": {"steps": [{"name": "A"}, {"name": "A"}], "within": "P1D", "window": {"type": "rolling", "duration": "P30D"}}, "test": {"maxStep": {"$eq": 2}}, "settle": false}"#;
    let mut sim = Sim::new(&one(repeated));
    sim.track("A", "{}");
    assert_eq!(sim.member("s"), Some(false));
    sim.advance(1);
    sim.track("A", "{}");
    assert_eq!(sim.member("s"), Some(true));
}

#[test]
fn module_used_more_than_5_times_in_the_billing_cycle() {
    let cond = r#"{"event": {"name": "Module Used", "where": {"module": "forecasting"}}, "measure": "count", "window": {"type": "cycle", "anchor": {"trait": "billing_cycle_anchor"}, "period": "P1M"}, "test": {"$gt": 5}}"#;
    let mut sim = Sim::new(&one(cond));
    // Cycle anchored on the 15th: the current cycle is Dec 15 – Jan 15.
    sim.user(r#"{"billing_cycle_anchor": "2024-10-15T00:00:00Z"}"#);
    for i in 0..5 {
        sim.track("Module Used", r#"{"module": "forecasting"}"#);
        sim.track("Module Used", r#"{"module": "reports"}"#);
        sim.advance(HOUR + i);
    }
    assert_ne!(sim.member("s"), Some(true));
    sim.track("Module Used", r#"{"module": "forecasting"}"#);
    assert_eq!(sim.member("s"), Some(true));
    // The cycle ends on Jan 15: out by time, at the boundary.
    sim.advance_to(T0 + 10 * DAY);
    assert_eq!(sim.member("s"), Some(false));
    assert_eq!(
        sim.moves().last().map(|m| (m.1, m.2, m.3)),
        Some((false, Reason::Time, 9 * DAY))
    );
}

#[test]
fn core_feature_3_times_in_7_days_window_edges() {
    let cond = r#"{"event": {"name": "Core Feature Used"}, "measure": "count", "window": {"type": "rolling", "duration": "P7D"}, "test": {"$gte": 3}}"#;
    let mut sim = Sim::new(&one(cond));
    assert_eq!(
        sim.member("s"),
        None,
        "brand-new browser: the window reaches before the horizon"
    );
    for _ in 0..3 {
        sim.advance(DAY);
        sim.track("Core Feature Used", "{}");
    }
    assert_eq!(sim.member("s"), Some(true), "3 seen already meets $gte 3");
    // The first use (T0 + 1 day) leaves the window exactly 7 days later.
    sim.advance_to(T0 + 8 * DAY - 1);
    assert_eq!(sim.member("s"), Some(true));
    sim.advance_to(T0 + 8 * DAY);
    assert_eq!(sim.member("s"), Some(false));
    assert_eq!(
        sim.moves(),
        [
            ("s".into(), true, Reason::Event, 3 * DAY),
            ("s".into(), false, Reason::Time, 8 * DAY)
        ]
    );
}

#[test]
fn core_feature_not_used_in_21_days() {
    let cond = r#"{"event": {"name": "Core Feature Used"}, "measure": "count", "window": {"type": "rolling", "duration": "P21D"}, "test": {"$eq": 0}}"#;
    let mut sim = Sim::new(&one(cond));
    assert_eq!(sim.member("s"), None);
    sim.advance(20 * DAY);
    assert_eq!(
        sim.member("s"),
        None,
        "still unknown: seen for less than 21 days"
    );
    sim.advance_to(T0 + 22 * DAY);
    assert_eq!(sim.member("s"), Some(true));
    sim.track("Core Feature Used", "{}");
    assert_eq!(sim.member("s"), Some(false));
    sim.advance_to(T0 + 43 * DAY);
    assert_eq!(sim.member("s"), Some(true));
    assert_eq!(
        sim.moves().last().map(|m| (m.1, m.2, m.3)),
        Some((true, Reason::Time, 43 * DAY))
    );
}

#[test]
fn sessions_down_half_against_the_prior_14_days() {
    let cond = r#"{"compare": {"current": {"event": {"name": "$session_start"}, "measure": "count", "window": {"type": "rolling", "duration": "P14D"}}, "baseline": {"event": {"name": "$session_start"}, "measure": "count", "window": {"type": "rolling", "duration": "P14D", "offset": "P14D"}}}, "test": {"ratio": {"$lte": 0.5}}, "baselineMin": 4}"#;
    let mut sim = Sim::new(&one(cond));
    // Days 0-13: 6 sessions (activity more than 30 minutes apart), some with several events.
    for d in 0..6 {
        sim.advance_to(T0 + d * 2 * DAY + HOUR);
        sim.track("Page Viewed", "{}");
        sim.advance(5 * MIN);
        sim.track("Clicked", "{}");
    }
    assert_eq!(sim.member("s"), None, "baseline below baselineMin: UNKNOWN");
    // Days 14-27: 2 sessions.
    sim.advance_to(T0 + 15 * DAY);
    sim.track("Page Viewed", "{}");
    sim.advance_to(T0 + 20 * DAY);
    sim.track("Page Viewed", "{}");
    sim.advance_to(T0 + 27 * DAY);
    sim.engine.handle_timeout(Millis(sim.now));
    sim.drain();
    assert_eq!(sim.member("s"), Some(true), "2 / 6 <= 0.5");
    let explain = sim.engine.explain("s").unwrap().to_json();
    assert!(
        explain.contains(r#""node":"compare""#) && explain.contains(r#""value":"T""#),
        "{explain}"
    );
}

#[test]
fn high_mrr_hysteresis_and_combinations() {
    let mut sim = Sim::new(&all_examples());
    sim.group(r#"{"mrr": 1200}"#);
    assert_eq!(sim.member("high_mrr"), Some(true));
    sim.group(r#"{"mrr": 950}"#);
    assert_eq!(sim.member("high_mrr"), Some(true), "inside the band: stays");
    sim.group(r#"{"mrr": 899}"#);
    assert_eq!(sim.member("high_mrr"), Some(false));
    sim.group(r#"{"mrr": 950}"#);
    assert_eq!(
        sim.member("high_mrr"),
        Some(false),
        "inside the band: stays out"
    );
    // healthy_big = high_mrr and not churn_risk (churn_risk = core_dormant, UNKNOWN for 21 days).
    sim.group(r#"{"mrr": 5000}"#);
    assert_eq!(
        sim.member("healthy_big"),
        Some(false),
        "UNKNOWN holds the earlier FALSE"
    );
    sim.track("Core Feature Used", "{}");
    assert_eq!(sim.member("core_dormant"), Some(false));
    assert_eq!(sim.member("churn_risk"), Some(false));
    assert_eq!(sim.member("healthy_big"), Some(true));
    let t = sim
        .log
        .iter()
        .find(|t| t.key.as_str() == "healthy_big")
        .unwrap();
    assert!(t.entered && t.outputs.track && t.reason == Reason::Event);
}

#[test]
fn dwell_grace_and_reentry() {
    let defs = r#"[{"key": "s", "condition": {"traits": {"vip": true}}, "membership": {"minDwell": "PT1H", "exitGrace": "PT30M", "reentry": {"cooldown": "P1D"}}},
                   {"key": "once", "condition": {"traits": {"vip": true}}, "membership": {"reentry": "once"}}]"#;
    let mut sim = Sim::new(defs);
    sim.user(r#"{"vip": true}"#);
    assert_eq!(sim.member("s"), Some(false), "dwell not yet held");
    sim.advance(2 * HOUR);
    assert_eq!(sim.member("s"), Some(true));
    sim.user(r#"{"vip": false}"#);
    sim.advance(10 * MIN);
    sim.user(r#"{"vip": true}"#);
    sim.advance(HOUR);
    assert_eq!(sim.member("s"), Some(true), "grace not exhausted: no exit");
    sim.user(r#"{"vip": false}"#);
    sim.advance(HOUR);
    assert_eq!(sim.member("s"), Some(false));
    sim.user(r#"{"vip": true}"#);
    sim.advance(2 * HOUR);
    assert_eq!(sim.member("s"), Some(false), "cooldown");
    sim.advance(DAY);
    assert_eq!(sim.member("s"), Some(true));
    let s_moves: Vec<_> = sim
        .moves()
        .into_iter()
        .filter(|m| m.0 == "s")
        .map(|m| (m.1, m.2, m.3))
        .collect();
    assert_eq!(
        s_moves,
        [
            (true, Reason::Time, HOUR),
            (false, Reason::Time, 3 * HOUR + 10 * MIN + 30 * MIN),
            (true, Reason::Time, 3 * HOUR + 40 * MIN + DAY)
        ]
    );
    let once: Vec<_> = sim
        .moves()
        .into_iter()
        .filter(|m| m.0 == "once")
        .map(|m| m.1)
        .collect();
    assert_eq!(once, [true, false]);
}

#[test]
fn persistence_round_trip_gives_the_same_answers() {
    let mut sim = Sim::new(&all_examples());
    sim.user(r#"{"plan": "pro", "billing_cycle_anchor": "2024-12-20", "company": {"employees": 60, "industry": "fintech"}}"#);
    sim.group(r#"{"mrr": 2000}"#);
    for i in 0..40u64 {
        sim.advance(7 * HOUR + i * MIN);
        let name = [
            "Core Feature Used",
            "Module Used",
            "Logged In",
            "Checkout Started",
            "Signed Up",
        ][(i % 5) as usize];
        sim.track(name, r#"{"module": "forecasting"}"#);
    }
    let state = sim.engine.encode_state();
    let mut restored = Engine::new();
    restored.restore_state(Millis(sim.now), &state).unwrap();
    restored.handle_traits(Millis(sim.now), Some(&j(r#"{"plan": "pro", "billing_cycle_anchor": "2024-12-20", "company": {"employees": 60, "industry": "fintech"}}"#)), Some(&j(r#"{"mrr": 2000}"#)));
    restored.load(Millis(sim.now), &j(&all_examples()));
    let mut moved = Vec::new();
    while let Some(t) = restored.poll_transition() {
        moved.push(t);
    }
    assert!(moved.is_empty(), "{moved:?}");
    assert_eq!(restored.list(), sim.engine.list());
    for (key, _) in super::definitions::EXAMPLES {
        assert_eq!(restored.explain(key), sim.engine.explain(key), "{key}");
    }
    assert_eq!(restored.encode_state(), state);
    assert_eq!(restored.poll_timeout(), sim.engine.poll_timeout());
    assert!(Engine::new()
        .restore_state(Millis(0), "not base64!")
        .is_err());
}

#[test]
fn catch_up_applies_what_fell_due_while_away_in_time_order() {
    let defs = r#"[{"key": "core_3_in_7", "condition": {"event": {"name": "Core Feature Used"}, "measure": "count", "window": {"type": "rolling", "duration": "P7D"}, "test": {"$gte": 3}}},
                   {"key": "lapsed", "condition": {"event": {"name": "Core Feature Used"}, "measure": "since_last", "test": {"$gte": "P3D"}, "coverage": "observed"}},
                   {"key": "blip", "condition": {"event": {"name": "Core Feature Used"}, "measure": "count", "window": {"type": "rolling", "duration": "PT1H"}, "test": {"$gte": 1}, "coverage": "observed"}}]"#;
    let mut sim = Sim::new(defs);
    for _ in 0..3 {
        sim.advance(HOUR + 1);
        sim.track("Core Feature Used", "{}");
    }
    assert_eq!(sim.member("core_3_in_7"), Some(true));
    let state = sim.engine.encode_state();
    // The tab closes; 30 days later a new one opens.
    let later = sim.now + 30 * DAY;
    let mut engine = Engine::new();
    engine.restore_state(Millis(later), &state).unwrap();
    engine.load(Millis(later), &j(defs));
    let mut moves = Vec::new();
    while let Some(t) = engine.poll_transition() {
        moves.push((t.key.as_str().to_owned(), t.entered, t.reason, t.at.0 - T0));
    }
    // In time order: blip's exit (1 h after the last use), lapsed's entry, core's exit.
    let expected: Vec<(String, bool, Reason, u64)> = vec![
        ("blip".into(), false, Reason::Time, 3 * HOUR + 3 + HOUR),
        ("lapsed".into(), true, Reason::Time, 3 * HOUR + 3 + 3 * DAY),
        (
            "core_3_in_7".into(),
            false,
            Reason::Time,
            HOUR + 1 + 7 * DAY,
        ),
    ];
    assert_eq!(moves, expected);
}

#[test]
fn an_enter_and_exit_that_both_fell_due_while_away_cancel_out() {
    let defs = r#"[{"key": "dormant_day", "condition": {"event": {"name": "X"}, "measure": "since_last", "test": {"$gte": "P1D", "$lt": "P2D"}, "coverage": "observed"}}]"#;
    let mut sim = Sim::new(defs);
    sim.track("X", "{}");
    let state = sim.engine.encode_state();
    let mut engine = Engine::new();
    engine
        .restore_state(Millis(sim.now + 5 * DAY), &state)
        .unwrap();
    engine.load(Millis(sim.now + 5 * DAY), &j(defs));
    assert_eq!(engine.poll_transition(), None);
    assert_eq!(engine.is_member("dormant_day"), Some(false));
}

#[test]
fn identity_switch_is_a_fresh_profile_without_exits() {
    let cond =
        r#"{"event": {"name": "Core Feature Used"}, "measure": "count", "test": {"$gte": 1}}"#;
    let mut sim = Sim::new(&one(cond));
    sim.track("Core Feature Used", "{}");
    assert_eq!(sim.member("s"), Some(true));
    let before = sim.log.len();
    sim.engine.handle_profile_switch(Millis(sim.now + 1));
    sim.drain();
    assert_eq!(sim.log.len(), before, "no exit for the previous user");
    assert_eq!(sim.member("s"), None);
    sim.now += 2;
    sim.track("Core Feature Used", "{}");
    assert_eq!(sim.member("s"), Some(true));
    assert_eq!(sim.log.last().map(|t| t.reason), Some(Reason::Event));
}

#[test]
fn new_definitions_and_versions_are_baselines() {
    let mut sim = Sim::new(&one(r#"{"traits": {"plan": "pro"}}"#));
    sim.user(r#"{"plan": "pro"}"#);
    assert_eq!(sim.moves(), [("s".into(), true, Reason::Event, 0)]);
    // Same key, new version whose condition is false now: silent re-baseline.
    sim.load(r#"[{"key": "s", "version": 2, "condition": {"traits": {"plan": "free"}}}, {"key": "t", "condition": {"traits": {"plan": "pro"}}}]"#);
    let moves = sim.moves();
    assert_eq!(
        moves[1..],
        [
            ("s".into(), false, Reason::Baseline, 0),
            ("t".into(), true, Reason::Baseline, 0)
        ]
    );
    // Reload of the same definitions: nothing moves.
    sim.load(r#"[{"key": "s", "version": 2, "condition": {"traits": {"plan": "free"}}}, {"key": "t", "condition": {"traits": {"plan": "pro"}}}]"#);
    assert_eq!(sim.moves().len(), 3);
}

#[test]
fn selectors_no_longer_referenced_are_dropped_on_reload() {
    let a = r#"[{"key": "a", "condition": {"event": {"name": "A"}, "measure": "count", "window": {"type": "rolling", "duration": "P7D"}, "test": {"$gte": 3}}}]"#;
    let b = r#"[{"key": "b", "condition": {"event": {"name": "B"}, "measure": "count", "test": {"$gte": 1}}}]"#;
    let mut sim = Sim::new(a);
    sim.track("A", "{}");
    let with_a = sim.engine.encode_state();
    sim.load(b);
    let only_b = sim.engine.encode_state();
    assert!(only_b.len() < with_a.len());
    // Back to A: its history was dropped, so it starts again at the horizon.
    sim.load(a);
    let explain = sim.engine.explain("a").unwrap().to_json();
    assert!(
        explain.contains(r#""measured":{"min":0,"max":null}"#),
        "{explain}"
    );
}

#[test]
fn explain_reports_values_windows_and_coverage() {
    let cond = r#"{"and": [{"event": {"name": "Core Feature Used"}, "measure": "count", "window": {"type": "rolling", "duration": "P7D"}, "test": {"$gte": 3}}, {"not": {"traits": {"plan": "free"}}}]}"#;
    let mut sim = Sim::new(&one(cond));
    sim.user(r#"{"plan": "pro"}"#);
    sim.track("Core Feature Used", "{}");
    let e = sim.engine.explain("s").unwrap();
    let text = e.to_json();
    assert!(text.starts_with(r#"{"key":"s","state":null,"condition":{"node":"and","children":[{"node":"event","measure":"count","measured":{"min":1,"max":null},"window":{"start":"2024-12-30T00:00:00.001Z","end":"2025-01-06T00:00:00.000Z"},"horizon":"2025-01-06T00:00:00.000Z","#), "{text}");
    assert!(
        text.contains(r#""coverage":"strict","value":"U"}"#),
        "{text}"
    );
    assert!(text.contains(r#"{"node":"not","children":[{"node":"traits","traits":{"plan":"free"},"on":"user","value":"F"}],"value":"T"}"#), "{text}");
    assert_eq!(sim.engine.explain("nope"), None);
}

#[test]
fn page_and_screen_selectors_and_session_start_is_internal() {
    let defs = r#"[{"key": "pricing", "condition": {"event": {"name": "Pricing", "type": "page"}, "measure": "count", "test": {"$gte": 2}}},
                   {"key": "sessions", "condition": {"event": {"name": "$session_start"}, "measure": "count", "test": {"$gte": 2}}}]"#;
    let mut sim = Sim::new(defs);
    let props = j("{}");
    for i in 0..2u64 {
        sim.engine.handle_event(
            Millis(T0 + i * HOUR),
            EventInput {
                kind: EventType::Page,
                name: "Pricing",
                properties: &props,
                context: None,
            },
        );
        sim.engine.handle_event(
            Millis(T0 + i * HOUR),
            EventInput {
                kind: EventType::Track,
                name: "Pricing",
                properties: &props,
                context: None,
            },
        );
    }
    sim.drain();
    assert_eq!(sim.member("pricing"), Some(true));
    assert_eq!(sim.member("sessions"), Some(true));
    // A driver passing `$session_start` itself does not double count.
    sim.engine.handle_event(
        Millis(T0 + HOUR + 1),
        EventInput {
            kind: EventType::Track,
            name: "$session_start",
            properties: &props,
            context: None,
        },
    );
    let text = sim.engine.explain("sessions").unwrap().to_json();
    assert!(
        text.contains(r#""measured":{"min":2,"max":null}"#),
        "{text}"
    );
}

#[test]
fn a_list_of_names_counts_each_name_once_in_any_order() {
    // Duplicates and order in the list do not matter: ["B","A","A"] selects A and B.
    let cond = r#"{"event": {"name": ["Upgraded", "Signed Up", "Signed Up"]}, "measure": "count", "window": {"type": "lifetime"}, "test": {"$gte": 2}}"#;
    let mut sim = Sim::new(&one(cond));
    sim.track("Signed Up", "{}");
    sim.track("Logged In", "{}");
    assert_ne!(
        sim.member("s"),
        Some(true),
        "a name listed twice matches its event once"
    );
    sim.track("Upgraded", "{}");
    assert_eq!(sim.member("s"), Some(true));
    // An empty name in the list is a load error.
    let bad = r#"{"event": {"name": ["Upgraded", ""]}, "measure": "count", "test": {"$gte": 1}}"#;
    let report = Engine::new().load(
        Millis(T0),
        &j(&format!(r#"[{{"key": "s", "condition": {bad}}}]"#)),
    );
    assert!(report.accepted.is_empty(), "{report:?}");
}
