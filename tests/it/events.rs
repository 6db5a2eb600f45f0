//! Argument resolution (analytics.js overloads and edge cases) and event payload fields.

use sieve::core::args::{decode_args, resolve_alias, resolve_page, resolve_track, resolve_user};
use sieve::core::page::BufferedPageContext;
use sieve::core::Dispatch;
use sieve::json::{self, Value};

use crate::sim::Sim;

fn args(types: &str, values: &str) -> Vec<sieve::core::args::Arg> {
    decode_args(types, &json::parse(values).unwrap()).0
}

fn obj(v: &sieve::json::Map) -> String {
    Value::Object(v.clone()).to_json()
}

#[test]
fn track_resolution() {
    // (types, values, Ok((name, properties, options)) | Err)
    let table: [(&str, &str, Option<(&str, &str, &str)>); 8] = [
        ("so", r#"["e",{"p":1}]"#, Some(("e", r#"{"p":1}"#, "{}"))),
        (
            "sNo",
            r#"["e",null,{"o":1}]"#,
            Some(("e", "{}", r#"{"o":1}"#)),
        ),
        (
            "oo",
            r#"[{"event":"e","properties":{"p":1}},{"o":1}]"#,
            Some(("e", r#"{"p":1}"#, r#"{"o":1}"#)),
        ),
        ("sf", r#"["e",null]"#, Some(("e", "{}", "{}"))),
        ("s", r#"[""]"#, None),
        ("n", r#"["123"]"#, None),
        ("", "[]", None),
        ("o", r#"[{"properties":{}}]"#, None),
    ];
    for (types, values, want) in table {
        let got = resolve_track(&args(types, values));
        match want {
            Some((name, props, opts)) => {
                let got = got.unwrap();
                assert_eq!(
                    (
                        got.name.as_str(),
                        obj(&got.properties).as_str(),
                        obj(&got.options).as_str()
                    ),
                    (name, props, opts),
                    "{values}"
                );
            }
            None => assert_eq!(got.unwrap_err().message(), "Event missing", "{values}"),
        }
    }
}

#[test]
fn page_resolution() {
    // (types, values, category, name, properties, options) — the reference's probe table.
    let table: [(&str, &str, Option<&str>, Option<&str>, &str, &str); 8] = [
        ("", "[]", None, None, "{}", "{}"),
        ("sss", r#"["a","b","c"]"#, None, None, "{}", "{}"),
        (
            "ooo",
            r#"[{"p":1},{"o":1},{"q":1}]"#,
            None,
            None,
            "{}",
            "{}",
        ),
        (
            "so",
            r#"["name",{"o":1}]"#,
            None,
            Some("name"),
            r#"{"o":1}"#,
            "{}",
        ),
        (
            "os",
            r#"[{"p":1},"name"]"#,
            None,
            Some("name"),
            r#"{"p":1}"#,
            "{}",
        ),
        (
            "sfo",
            r#"["cat",null,{"p":1}]"#,
            None,
            Some("cat"),
            r#"{"p":1}"#,
            "{}",
        ),
        (
            "ss",
            r#"["cat","name"]"#,
            Some("cat"),
            Some("name"),
            "{}",
            "{}",
        ),
        (
            "ssoo",
            r#"["c","n",{"p":1},{"o":1}]"#,
            Some("c"),
            Some("n"),
            r#"{"p":1}"#,
            r#"{"o":1}"#,
        ),
    ];
    for (types, values, category, name, props, opts) in table {
        let got = resolve_page(&args(types, values));
        assert_eq!(got.category.as_deref(), category, "{values}");
        assert_eq!(got.name.as_deref(), name, "{values}");
        assert_eq!(obj(&got.properties), props, "{values}");
        assert_eq!(obj(&got.options), opts, "{values}");
    }
}

#[test]
fn user_and_alias_resolution() {
    // (types, values, id, traits, options)
    let table: [(&str, &str, Option<&str>, &str, &str); 6] = [
        ("no", r#"["123",{"t":1}]"#, Some("123"), r#"{"t":1}"#, "{}"),
        (
            "oof",
            r#"[{"t":1},{"o":1},null]"#,
            None,
            r#"{"t":1}"#,
            r#"{"o":1}"#,
        ),
        (
            "sxo",
            r#"["id",null,{"o":1}]"#,
            Some("id"),
            "{}",
            r#"{"o":1}"#,
        ),
        ("No", r#"[null,{"t":1}]"#, None, r#"{"t":1}"#, "{}"),
        ("sfo", r#"["id",null,{"t":1}]"#, Some("id"), "{}", "{}"),
        ("uo", r#"[null,{"t":2}]"#, None, r#"{"t":2}"#, "{}"),
    ];
    for (types, values, id, traits, opts) in table {
        let got = resolve_user(&args(types, values));
        assert_eq!(got.id.as_deref(), id, "{values}");
        assert_eq!(obj(&got.traits), traits, "{values}");
        assert_eq!(obj(&got.options), opts, "{values}");
    }
    let alias = resolve_alias(&args("nn", r#"["1","2"]"#));
    assert_eq!(
        (alias.to.as_deref(), alias.from.as_deref()),
        (Some("1"), Some("2"))
    );
    let alias = resolve_alias(&args("so", r#"["new",{"o":1}]"#));
    assert_eq!(
        (
            alias.to.as_deref(),
            alias.from.as_deref(),
            obj(&alias.options).as_str()
        ),
        (Some("new"), None, r#"{"o":1}"#)
    );
}

#[test]
fn options_split_into_overrides_and_context_and_integrations_merge() {
    let options =
        r#"{"integrations":{"All":false,"Amplitude":{"x":1},"Segment.io":{"apiHost":"h/v1"}}}"#;
    let mut sim = Sim::new("{}", options);
    let e = sim
        .call_wire(
            "track",
            "soo",
            r#"["Clicked",{"p":1,"d":"2020-01-01"},{"opt":1,"traits":{"t":1},"timestamp":"2021-02-03T04:05:06Z","messageId":"m-1","integrations":{"Mixpanel":{"s":1}},"context":{"ip":"1.2.3.4"}}]"#,
        )
        .unwrap();
    assert_eq!(
        e.get("timestamp").and_then(Value::as_str),
        Some("2021-02-03T04:05:06Z")
    );
    assert_eq!(e.get("messageId").and_then(Value::as_str), Some("m-1"));
    assert_eq!(
        e.get("integrations").unwrap().to_json(),
        r#"{"All":false,"Amplitude":true,"Segment.io":true,"Mixpanel":{"s":1}}"#
    );
    let ctx = e.get("context").unwrap();
    assert_eq!(ctx.get("opt").unwrap().to_json(), "1");
    assert_eq!(ctx.get("traits").unwrap().to_json(), r#"{"t":1}"#);
    assert_eq!(ctx.get("ip").and_then(Value::as_str), Some("1.2.3.4"));
    assert!(ctx.get("integrations").is_none() && ctx.get("messageId").is_none());
    assert_eq!(
        e.get("properties").unwrap().to_json(),
        r#"{"p":1,"d":"2020-01-01"}"#
    );
    assert!(e.get("userId").unwrap().is_null());
}

#[test]
fn page_properties_and_context_page_precedence() {
    let mut sim = Sim::new("{}", "{}");
    let page = BufferedPageContext {
        canonical: None,
        path: "/shop".into(),
        url: "https://www.example.com/shop?utm_source=ads".into(),
        search: "?utm_source=ads".into(),
        title: "Shop".into(),
        referrer: "https://ref.example/".into(),
    };
    let args = args(
        "ssoo",
        r#"["Cat","Home",{"title":"Custom","extra":1},{"context":{"page":{"path":"/explicit"}}}]"#,
    );
    let e = sim.call_args("page", &args, page).unwrap();
    let props = e.get("properties").unwrap();
    assert_eq!(
        props.get("title").and_then(Value::as_str),
        Some("Custom"),
        "properties win over the page context"
    );
    assert_eq!(
        props.get("url").and_then(Value::as_str),
        Some("https://www.example.com/shop?utm_source=ads")
    );
    assert_eq!(props.get("name").and_then(Value::as_str), Some("Home"));
    assert_eq!(props.get("category").and_then(Value::as_str), Some("Cat"));
    let ctx_page = e.get("context").unwrap().get("page").unwrap();
    assert_eq!(
        ctx_page.get("title").and_then(Value::as_str),
        Some("Custom"),
        "page fields of properties reach context.page"
    );
    assert_eq!(
        ctx_page.get("path").and_then(Value::as_str),
        Some("/explicit"),
        "options.context.page wins"
    );
    assert!(ctx_page.get("extra").is_none());
    assert_eq!(
        e.get("context").unwrap().get("campaign").unwrap().to_json(),
        r#"{"source":"ads"}"#
    );
    assert_eq!(e.get("name").and_then(Value::as_str), Some("Home"));
    assert_eq!(e.get("category").and_then(Value::as_str), Some("Cat"));
}

#[test]
fn context_enrichment() {
    let mut sim = Sim::new("{}", "{}");
    let e = sim.track("x");
    let ctx = e.get("context").unwrap();
    assert_eq!(
        ctx.get("userAgent").and_then(Value::as_str),
        Some("SimUA/1.0")
    );
    assert_eq!(ctx.get("locale").and_then(Value::as_str), Some("en-US"));
    assert_eq!(
        ctx.get("timezone").and_then(Value::as_str),
        Some("Europe/Paris")
    );
    assert_eq!(
        ctx.get("library").unwrap().to_json(),
        r#"{"name":"sieve-analytics","version":"0.1.0"}"#
    );
    assert_eq!(
        ctx.get("campaign").unwrap().to_json(),
        "{}",
        "a query without utm gives campaign {{}}"
    );
    assert_eq!(
        ctx.get("page")
            .unwrap()
            .get("search")
            .and_then(Value::as_str),
        Some("?q=1")
    );
    let e = sim
        .call_wire(
            "track",
            "soo",
            r#"["y",{},{"context":{"locale":"fr-FR","library":{"name":"custom"}}}]"#,
        )
        .unwrap();
    let ctx = e.get("context").unwrap();
    assert_eq!(
        ctx.get("locale").and_then(Value::as_str),
        Some("fr-FR"),
        "a given locale is kept"
    );
    assert_eq!(
        ctx.get("library").unwrap().to_json(),
        r#"{"name":"custom"}"#
    );
}

#[test]
fn alias_fix_ups_match_analytics_js() {
    let mut sim = Sim::new("{}", "{}");
    let anon = sim.core.identity().anonymous_id().unwrap().to_owned();
    let e = sim.call_wire("alias", "s", r#"["new"]"#).unwrap();
    assert_eq!(e.get("userId").and_then(Value::as_str), Some("new"));
    assert_eq!(
        e.get("previousId").and_then(Value::as_str),
        Some(anon.as_str()),
        "falls back to the anonymousId"
    );
    sim.call_wire("identify", "s", r#"["user1"]"#).unwrap();
    let e = sim.call_wire("alias", "s", r#"["newId"]"#).unwrap();
    assert_eq!(
        e.get("userId").and_then(Value::as_str),
        Some("user1"),
        "analytics.js quirk: the stored userId wins"
    );
    assert_eq!(e.get("previousId").and_then(Value::as_str), Some("user1"));
    let e = sim.call_wire("alias", "ss", r#"["to","from"]"#).unwrap();
    assert_eq!(e.get("previousId").and_then(Value::as_str), Some("from"));
}

#[test]
fn every_built_event_passes_the_collector_validation() {
    let mut sim = Sim::new("{}", "{}");
    let calls = [
        ("track", "s", r#"["a"]"#),
        ("page", "", "[]"),
        ("screen", "s", r#"["s"]"#),
        ("identify", "s", r#"["u"]"#),
        ("group", "s", r#"["g"]"#),
        ("alias", "s", r#"["n"]"#),
    ];
    for (method, types, values) in calls {
        let e = sim.call_wire(method, types, values).unwrap();
        assert_eq!(sieve::core::validate::validate(&e), Ok(()), "{method}");
    }
}

#[test]
fn calls_that_would_make_an_event_the_api_refuses_are_refused_and_nothing_is_queued() {
    use sieve::core::validate::ValidationError;
    use sieve::core::CallError;
    // (method, types, values, the refusal): a refused event would take its whole batch with it.
    let table = [
        ("group", "u", "[null]", ValidationError::MissingGroupId),
        (
            "group",
            "o",
            r#"[{"plan":"pro"}]"#,
            ValidationError::MissingGroupId,
        ),
        ("alias", "", "[]", ValidationError::BadAlias),
        (
            "alias",
            "No",
            r#"[null,{"o":1}]"#,
            ValidationError::BadAlias,
        ),
    ];
    for (method, types, values, want) in table {
        let mut sim = Sim::new("{}", "{}");
        assert_eq!(
            sim.call_wire(method, types, values).unwrap_err(),
            CallError::Invalid(want),
            "{method} {values}"
        );
        sim.track("after");
        sim.advance(6_000);
        let sent: Vec<Value> = (0..sim.sent.len()).flat_map(|i| sim.batch(i)).collect();
        assert_eq!(
            sent.len(),
            1,
            "{method} {values}: only the next call's event"
        );
    }
    // With a stored group id, group(traits) is a group event.
    let mut sim = Sim::new("{}", "{}");
    sim.call_wire("group", "s", r#"["g1"]"#).unwrap();
    let e = sim.call_wire("group", "o", r#"[{"plan":"pro"}]"#).unwrap();
    assert_eq!(e.get("groupId").and_then(Value::as_str), Some("g1"));
}

#[test]
fn what_the_sdk_accepts_at_any_nesting_the_collector_parses_in_a_batch() {
    // Properties nested `depth` levels, through the text fast path (track(name, props)) and
    // the general path (options make it general; identify traits): accepted calls must reach
    // the API in a body the collector parses (events limited to MAX_DEPTH, plus the batch
    // envelope), deeper ones are refused when called, never sent to be refused with the batch.
    let calls = [
        ("track", "so", "[\"e\",{}]"),
        ("track", "soo", "[\"e\",{},{\"o\":1}]"),
        ("identify", "so", "[\"u\",{}]"),
    ];
    for (method, types, template) in calls {
        let mut accepted = 0;
        for depth in (json::MAX_DEPTH - 6)..(json::MAX_DEPTH + 4) {
            let nested = format!("{}1{}", "{\"d\":".repeat(depth), "}".repeat(depth));
            let values = template.replacen("{}", &nested, 1);
            let mut sim = Sim::new("{}", "{}");
            let res = sim.call_text(method, types, &values);
            sim.advance(6_000);
            match res {
                Ok(_) => {
                    accepted += 1;
                    assert_eq!(sim.sent.len(), 1, "{method} {types} depth {depth}");
                    let body = &sim.sent[0].1.body;
                    assert!(
                        json::parse_enveloped(body, 2).is_ok(),
                        "{method} {types} depth {depth}: the collector would refuse the batch"
                    );
                }
                Err(e) => {
                    assert_eq!(
                        e.message(),
                        "JSON nested too deeply",
                        "{method} {types} depth {depth}"
                    );
                    assert!(sim.sent.is_empty());
                }
            }
        }
        assert!(
            (1..10).contains(&accepted),
            "{method} {types}: {accepted} of 10 depths accepted"
        );
    }
}

#[test]
fn options_the_api_would_refuse_are_dropped_with_a_notice() {
    // (options, the event's timestamp (None: the call's own time), its userId, a notice?)
    let table: [(&str, Option<&str>, Value, bool); 6] = [
        (
            r#"{"timestamp":"2021-02-03T04:05:06Z"}"#,
            Some("2021-02-03T04:05:06Z"),
            Value::Null,
            false,
        ),
        (r#"{"timestamp":"yesterday"}"#, None, Value::Null, true),
        (r#"{"timestamp":{}}"#, None, Value::Null, true),
        (r#"{"timestamp":5}"#, None, Value::Null, true),
        (r#"{"userId":{"a":1}}"#, None, Value::Null, true),
        (r#"{"userId":"u7"}"#, None, Value::str("u7"), false),
    ];
    for (options, timestamp, user_id, notice) in table {
        let mut sim = Sim::new("{}", "{}");
        let e = sim
            .call_wire("track", "soo", &format!(r#"["e",{{}},{options}]"#))
            .unwrap();
        let own = sim.now.to_iso();
        assert_eq!(
            e.get("timestamp").and_then(Value::as_str),
            Some(timestamp.unwrap_or(own.as_str())),
            "{options}"
        );
        assert_eq!(e.get("userId"), Some(&user_id), "{options}");
        assert_eq!(sieve::core::validate::validate(&e), Ok(()), "{options}");
        let codes: Vec<&str> = sim.notices.iter().map(|n| n.code).collect();
        assert_eq!(
            codes,
            if notice {
                vec!["invalid_option"]
            } else {
                vec![]
            },
            "{options}"
        );
    }
}

#[test]
fn integrations_decide_whether_segment_io_gets_the_event() {
    // (init options, per-call options, queued?)
    let table = [
        ("{}", "{}", true),
        ("{}", r#"{"integrations":{"Segment.io":false}}"#, false),
        ("{}", r#"{"integrations":{"All":false}}"#, true),
        (r#"{"integrations":{"All":false}}"#, "{}", false),
        (
            r#"{"integrations":{"All":false,"Segment.io":true}}"#,
            "{}",
            true,
        ),
        (r#"{"integrations":{"Segment.io":false}}"#, "{}", false),
    ];
    for (init, per_call, queued) in table {
        let mut sim = Sim::new("{}", init);
        let res = sim.call_wire("track", "soo", &format!(r#"["E",{{}},{per_call}]"#));
        assert!(res.is_ok(), "the call resolves either way");
        assert_eq!(
            sim.core.queued() == 1,
            queued,
            "init {init}, call {per_call}"
        );
    }
}

#[test]
fn ad_click_ids_become_context_referrer_and_are_remembered() {
    let mut sim = Sim::new("{}", "{}");
    let e = sim
        .call_args(
            "page",
            &[],
            crate::sim::page_at("https://shop.example/?urid=u1&btid=b2"),
        )
        .unwrap();
    assert_eq!(
        e.get("context").unwrap().get("referrer").unwrap().to_json(),
        r#"{"id":"u1","type":"millennial-media"}"#
    );
    assert!(sim.cookies.contains_key("s%3Acontext.referrer"));
    let e = sim.track("Later");
    assert_eq!(
        e.get("context").unwrap().get("referrer").unwrap().to_json(),
        r#"{"id":"u1","type":"millennial-media"}"#,
        "kept for later events"
    );
}

#[test]
fn an_empty_page_name_is_not_copied_into_properties() {
    let mut sim = Sim::new("{}", "{}");
    let e = sim.call_wire("page", "ss", r#"["",""]"#).unwrap();
    assert_eq!(e.get("name").and_then(Value::as_str), Some(""));
    assert_eq!(e.get("category").and_then(Value::as_str), Some(""));
    let props = e.get("properties").unwrap();
    assert_eq!(props.get("category").and_then(Value::as_str), Some(""));
    assert!(props.get("name").is_none());
}

/// The tree-free `track` writer (`handle_track_text`) gives, byte for byte, the event and the
/// storage effects the general path (`handle_call`) gives for the same call.
#[test]
fn plain_track_text_matches_the_general_path() {
    let plain = r#"{"__t":"bpc","p":"/shop","u":"https://www.example.com/shop#top","s":"","t":"Shop","r":""}"#;
    let utm = r#"{"__t":"bpc","p":"/l","u":"https://x.io/l?utm_source=news&utm_medium=mail&btid=B1","s":"?utm_source=news&utm_medium=mail&btid=B1","t":"L","r":"https://ref.example/"}"#;
    let canonical = r#"{"__t":"bpc","c":"https://x.io/canon","p":"/a","u":"https://x.io/a?q=1","s":"?q=1","t":"T \"q\" é","r":""}"#;
    let off = r#"{"integrations":{"Segment.io":false,"Amplitude":true}}"#;
    // (options, setup, properties (None: `track(name)`) as JSON.stringify writes them, page context)
    let table: [(&str, &str, Option<&str>, &str); 7] = [
        (
            "{}",
            "",
            Some(r#"{"i":1,"plan":"pro","revenue":12.5,"tags":["a","b"],"nested":{"k":"v"}}"#),
            plain,
        ),
        ("{}", "", None, plain),
        (
            "{}",
            "",
            Some("{\"s\":\"line\\nbreak \u{2028} \\\"x\\\"\"}"),
            utm,
        ),
        ("{}", "identify", Some("{}"), canonical),
        ("{}", "segments", Some(r#"{"a":[]}"#), utm),
        (off, "", Some(r#"{"a":1}"#), plain),
        (
            r#"{"integrations":{"Mixpanel":false}}"#,
            "identify",
            None,
            canonical,
        ),
    ];
    for (options, setup, properties, page) in table {
        let mut general = Sim::new("{}", options);
        let mut text = Sim::new("{}", options);
        for sim in [&mut general, &mut text] {
            match setup {
                "identify" => drop(
                    sim.call_wire("identify", "so", r#"["u1",{"email":"a@b.c"}]"#)
                        .unwrap(),
                ),
                "segments" => sim
                    .core
                    .set_context_segments(Some(json::parse(r#"[{"key":"vip"}]"#).unwrap())),
                _ => {}
            }
        }
        let (types, values) = match properties {
            Some(p) => ("sob", format!(r#"["Bench \"Event\"",{p},{page}]"#)),
            None => ("sb", format!(r#"["Bench \"Event\"",{page}]"#)),
        };
        let want = general
            .call_wire("track", types, &values)
            .unwrap()
            .to_json();
        let got = text
            .core
            .handle_track_text(
                text.now,
                r#""Bench \"Event\"""#,
                properties.unwrap_or("{}"),
                Some(page),
                Dispatch::Queue,
            )
            .unwrap();
        text.step();
        assert_eq!(got, want, "{options} {setup} {page}");
        if page == utm {
            assert!(
                want.contains(r#""referrer":{"id":"B1","type":"dataxu"}"#)
                    && want.contains(r#""campaign":{"#),
                "{want}"
            );
        }
        assert_eq!(
            (text.core.queued(), &text.cookies, &text.local),
            (general.core.queued(), &general.cookies, &general.local),
            "{options} {setup}"
        );
    }
    let mut sim = Sim::new("{}", "{}");
    assert_eq!(
        sim.core
            .handle_track_text(sim.now, r#""""#, "{}", Some(plain), Dispatch::Queue)
            .unwrap_err()
            .message(),
        "Event missing"
    );
}

/// Calls without a page context of their own (`None`) use the page context now, as set by
/// `handle_page_context`: after it changes, and after a replayed call that carried its own,
/// the next call is written for the page context now again.
#[test]
fn plain_track_without_its_own_page_uses_the_page_context_now() {
    let shop =
        r#"{"__t":"bpc","p":"/shop","u":"https://www.example.com/shop","s":"","t":"Shop","r":""}"#;
    let utm = r#"{"__t":"bpc","p":"/l","u":"https://x.io/l?utm_source=news&btid=B1","s":"?utm_source=news&btid=B1","t":"L","r":""}"#;
    let old = r#"{"__t":"bpc","p":"/old","u":"https://x.io/old","s":"","t":"Old","r":""}"#;
    // (page context now set before the call (None: unchanged), the call's own page context,
    // the page the event must carry)
    let table: [(Option<&str>, Option<&str>, &str); 6] = [
        (Some(shop), None, shop),
        (None, None, shop),
        (Some(utm), None, utm),
        (None, Some(old), old),
        (None, None, utm),
        (Some(shop), None, shop),
    ];
    let mut general = Sim::new("{}", "{}");
    let mut text = Sim::new("{}", "{}");
    for (i, (now, own, want_page)) in table.into_iter().enumerate() {
        if let Some(now) = now {
            text.core.handle_page_context(now.to_owned());
        }
        let got = text
            .core
            .handle_track_text(text.now, r#""E""#, r#"{"i":1}"#, own, Dispatch::Queue)
            .unwrap();
        text.step();
        let want = general
            .call_wire("track", "sob", &format!(r#"["E",{{"i":1}},{want_page}]"#))
            .unwrap()
            .to_json();
        assert_eq!(got, want, "row {i}");
    }
}

#[test]
fn plain_track_takes_only_a_name_and_object_properties() {
    let page = r#"{"__t":"bpc","u":"https://x.io/"}"#;
    // (types, values, Some((name, properties)) | None: the general path)
    let table: [(&str, String, Option<(&str, &str)>); 11] = [
        (
            "sob",
            format!(r#"["E",{{"a":[1,{{"b":"]"}}]}},{page}]"#),
            Some((r#""E""#, r#"{"a":[1,{"b":"]"}]}"#)),
        ),
        ("sb", format!(r#"["E",{page}]"#), Some((r#""E""#, "{}"))),
        (
            "so",
            r#"["E",{"a":1}]"#.to_owned(),
            Some((r#""E""#, r#"{"a":1}"#)),
        ),
        ("s", r#"["E"]"#.to_owned(), Some((r#""E""#, "{}"))),
        ("so", r#"["E",[1]]"#.to_owned(), None),
        ("sob", format!(r#"["E",5,{page}]"#), None),
        ("sob", format!(r#"["E",[1],{page}]"#), None),
        ("sb", r#"["E",null]"#.to_owned(), None),
        ("soob", format!(r#"["E",{{}},{{}},{page}]"#), None),
        ("sob", r#"["E",{}]"#.to_string(), None),
        ("nb", format!(r#"["5",{page}]"#), None),
    ];
    for (types, values, want) in table {
        let got = sieve::core::args::plain_track(types, &values);
        assert_eq!(got.map(|(n, p, _)| (n, p)), want, "{types} {values}");
        if let Some((_, _, got_page)) = got {
            assert_eq!(got_page, types.ends_with('b').then_some(page), "{types}");
        }
    }
    // The general path gives `{}` for such properties.
    let mut sim = Sim::new("{}", "{}");
    let e = sim
        .call_wire(
            "track",
            "sob",
            r#"["E",5,{"__t":"bpc","u":"https://x.io/"}]"#,
        )
        .unwrap();
    assert_eq!(e.get("properties").unwrap().to_json(), "{}");
}
