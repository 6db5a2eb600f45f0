//! Device mode's decisions (`sieve::destinations`), natively: which destinations load from
//! where with which settings, the tracking plan, per-destination routing. The routing rules'
//! evaluator is also held to `@segment/tsub` itself by tests/e2e/tsub.test.mjs, and the whole
//! to analytics-next by tests/e2e/devicemode.test.mjs.

use sieve::destinations::{path_name, Routed, Router};
use sieve::json::{self, Value};

fn router(settings: &str, options: &str) -> Router {
    Router::new(
        json::parse(settings).unwrap(),
        &json::parse(options).unwrap(),
        "https://cdn.test/",
    )
}

fn plan(settings: &str, options: &str) -> Value {
    json::parse(&router(settings, options).load_plan()).unwrap()
}

#[test]
fn integration_path_names() {
    for (name, want) in [
        ("Google Analytics 4", "google-analytics-4"),
        ("Fake.Classic  Two", "fakeclassic-two"),
        ("A.B.C", "ab.c"),
        ("Tab\tSep", "tab-sep"),
        ("ÀBC", "àbc"),
    ] {
        assert_eq!(path_name(name), want, "{name}");
    }
}

#[test]
fn which_classic_integrations_load() {
    let settings = r#"{"integrations":{
        "Segment.io":{"type":"browser"},
        "Segment Profiles":{"type":"browser"},
        "Iterable":{"type":"browser"},
        "Browser":{"type":"browser","apiKey":"b","bundlingStatus":"bundled"},
        "Component":{"versionSettings":{"componentTypes":["browser"],"version":"3.1.0"}},
        "Override":{"type":"browser","versionSettings":{"version":"1.0.0","override":"2.0.0"}},
        "Unbundled":{"type":"browser","bundlingStatus":"unbundled"},
        "Server":{"type":"server"},
        "Off":{"type":"browser"},
        "Null":null}}"#;
    let table: &[(&str, &str, &[&str])] = &[
        (
            "no load-time integrations",
            "{}",
            &["Browser", "Component", "Override", "Off"],
        ),
        (
            "false disables one",
            r#"{"integrations":{"Off":false}}"#,
            &["Browser", "Component", "Override"],
        ),
        (
            "All:false keeps only the ones named (even with an object)",
            r#"{"integrations":{"All":false,"Browser":{"apiKey":"init"},"Override":true}}"#,
            &["Browser", "Override"],
        ),
    ];
    for (what, options, want) in table {
        let p = plan(settings, options);
        let names: Vec<&str> = p
            .get("classic")
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.get("name").unwrap().as_str().unwrap())
            .collect();
        assert_eq!(&names, want, "{what}");
    }
    let p = plan(
        settings,
        r#"{"integrations":{"Browser":{"apiKey":"init","extra":1}}}"#,
    );
    let classic = p.get("classic").unwrap().as_array().unwrap();
    let browser = &classic[0];
    assert_eq!(
        browser.get("settings").unwrap().to_json(),
        r#"{"apiKey":"init","bundlingStatus":"bundled","extra":1}"#,
        "init object merged over the CDN's, type 'browser' removed"
    );
    assert_eq!(
        classic[1].get("url").unwrap().as_str(),
        Some("https://cdn.test/next-integrations/integrations/component/3.1.0/component.dynamic.js.gz")
    );
    assert_eq!(classic[2].get("version").unwrap().as_str(), Some("2.0.0"));
    assert_eq!(classic[3].get("version").unwrap().as_str(), Some("latest"));
    assert_eq!(
        p.get("base").unwrap().as_str(),
        Some("https://cdn.test/next-integrations")
    );
}

#[test]
fn which_actions_destinations_load() {
    let settings = r#"{"integrations":{"Segment.io":{},"Fullstory (Actions)":{"extra":"cdn"}},
        "remotePlugins":[
          {"name":"Fullstory (Actions)","creationName":"Fullstory","libraryName":"fs","url":"https://cdn.segment.com/next-integrations/actions/fs/a.js","settings":{"orgId":"o"}},
          {"name":"Other","creationName":"Other","libraryName":"o","url":"https://cdn.segment.build/x/o.js","settings":{}},
          {"name":"Third","creationName":"Third","libraryName":"t","url":"https://elsewhere.test/t.js","settings":{}}]}"#;
    let table: &[(&str, &str, &[&str])] = &[
        ("all", "{}", &["Fullstory", "Other", "Third"]),
        (
            "by creation name",
            r#"{"integrations":{"Fullstory":false}}"#,
            &["Other", "Third"],
        ),
        (
            "by name",
            r#"{"integrations":{"Fullstory (Actions)":false}}"#,
            &["Other", "Third"],
        ),
        (
            "All:false needs a truthy name or creation name",
            r#"{"integrations":{"All":false,"Other":true,"Third":0}}"#,
            &["Other"],
        ),
    ];
    for (what, options, want) in table {
        let p = plan(settings, options);
        let names: Vec<&str> = p
            .get("actions")
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.get("creationName").unwrap().as_str().unwrap())
            .collect();
        assert_eq!(&names, want, "{what}");
    }
    let p = plan(settings, "{}");
    let actions = p.get("actions").unwrap().as_array().unwrap();
    assert_eq!(
        actions[0].get("url").unwrap().as_str(),
        Some("https://cdn.test/next-integrations/actions/fs/a.js")
    );
    assert_eq!(
        actions[1].get("url").unwrap().as_str(),
        Some("https://cdn.test/x/o.js")
    );
    assert_eq!(
        actions[2].get("url").unwrap().as_str(),
        Some("https://elsewhere.test/t.js")
    );
    assert_eq!(
        actions[0].get("settings").unwrap().to_json(),
        r#"{"orgId":"o","extra":"cdn"}"#,
        "settings.integrations[name] merged over the plugin's settings"
    );
}

#[test]
fn remote_middleware_urls() {
    let p = plan(
        r#"{"enabledMiddleware":{"@segment/tagger":true,"off":false,"plain":1}}"#,
        "{}",
    );
    assert_eq!(
        p.get("middleware").unwrap().to_json(),
        r#"[{"name":"@segment/tagger","global":"taggerMiddleware","url":"https://cdn.test/next-integrations/middleware/tagger/latest/tagger.js.gz"},{"name":"plain","global":"plainMiddleware","url":"https://cdn.test/next-integrations/middleware/plain/latest/plain.js.gz"}]"#
    );
}

const PLAN_SETTINGS: &str = r#"{"integrations":{"Segment.io":{},"GA":{"type":"browser"}},
  "remotePlugins":[{"name":"Fake Actions","creationName":"Fake","settings":{"subscriptions":[{"partnerAction":"a"},{"partnerAction":"b"}]}}],
  "plan":{"track":{"__default":{"enabled":true},"Blocked":{"enabled":false},"NotGA":{"enabled":true,"integrations":{"GA":false}},
    "NotFake":{"enabled":true,"integrations":{"Fake":false}},"NoList":{"enabled":true}}}}"#;

#[test]
fn tracking_plan_schema_filter() {
    let r = router(PLAN_SETTINGS, "{}");
    let event = |name: &str| {
        json::parse(&format!(
            r#"{{"type":"track","event":"{name}","integrations":{{"X":true}}}}"#
        ))
        .unwrap()
    };
    let table: &[(&str, Option<&str>)] = &[
        (
            "Blocked",
            Some(r#"{"X":true,"All":false,"Segment.io":true}"#),
        ),
        ("NotGA", Some(r#"{"X":true,"GA":false}"#)),
        (
            "NotFake",
            Some(r#"{"X":true,"Fake":false,"Fake Actions a":false,"Fake Actions b":false}"#),
        ),
        ("Unplanned", Some(r#"{"X":true}"#)),
    ];
    for (name, want) in table {
        assert_eq!(
            r.schema_filter(&event(name))
                .map(|m| m.to_json())
                .as_deref(),
            *want,
            "{name}"
        );
    }
    let page = json::parse(r#"{"type":"page","name":"Blocked"}"#).unwrap();
    assert_eq!(
        r.schema_filter(&page),
        None,
        "only track events have an event name"
    );
    // The plan applies only with more integrations than Segment.io (analytics-next copies it
    // onto the options only when it loads classic destinations), or as a load option.
    let actions_only =
        r#"{"integrations":{"Segment.io":{}},"plan":{"track":{"Blocked":{"enabled":false}}}}"#;
    assert_eq!(
        router(actions_only, "{}").schema_filter(&event("Blocked")),
        None
    );
    assert!(router(
        actions_only,
        r#"{"plan":{"track":{"Blocked":{"enabled":false}}}}"#
    )
    .schema_filter(&event("Blocked"))
    .is_some());
}

#[test]
fn what_one_destination_receives() {
    let settings = r#"{"integrations":{"Segment.io":{},"GA":{"type":"browser"}},
      "plan":{"track":{"__default":{"enabled":true},"Blocked":{"enabled":false},"NotGA":{"enabled":true,"integrations":{"GA":false}},"NoList":{"enabled":true}}},
      "middlewareSettings":{"routingRules":[
        {"destinationName":"GA","matchers":[{"type":"fql","ir":"[\"=\",\"event\",{\"value\":\"Drop me\"}]"}],"transformers":[[{"type":"drop"}]]},
        {"matchers":[{"type":"all","ir":""}],"transformers":[[{"type":"drop_properties","config":{"drop":{"properties":["secret"]}}}]]},
        {"destinationName":"Bad","matchers":[{"type":"fql","ir":"[\"nope\"]"}],"transformers":[[]]}]}}"#;
    let r = router(settings, "{}");
    let mut random = || 0.5;
    let event = |name: &str| {
        json::parse(&format!(r#"{{"type":"track","event":"{name}","userId":null,"writeKey":"k","properties":{{"secret":1,"ok":2}}}}"#)).unwrap()
    };
    let delivered = |r: Routed| match r {
        Routed::Deliver(e) => Some(e.to_json()),
        _ => None,
    };
    let ga = |name: &str, random: &mut dyn FnMut() -> f64| {
        delivered(r.route("GA", true, event(name), &mut || random()))
    };
    assert_eq!(
        ga("Keep", &mut random).as_deref(),
        Some(r#"{"type":"track","event":"Keep","properties":{"ok":2}}"#),
        "writeKey and a null userId go; the global rule applies to a destination with a rule"
    );
    assert_eq!(ga("Drop me", &mut random), None);
    assert_eq!(
        ga("Blocked", &mut random),
        None,
        "the plan blocks it for classic destinations"
    );
    assert_eq!(ga("NotGA", &mut random), None);
    assert_eq!(
        ga("NoList", &mut random),
        None,
        "enabled without integrations: analytics.js throws"
    );
    // Not classic: the plan's per-destination check is the Schema Filter's (integrations flags).
    assert!(delivered(r.route("GA", false, event("NotGA"), &mut random)).is_some());
    // A destination no rule names: no routing middleware at all, so the global rule does not apply.
    assert_eq!(
        delivered(r.route("Other", false, event("Keep"), &mut random)).as_deref(),
        Some(r#"{"type":"track","event":"Keep","properties":{"secret":1,"ok":2}}"#)
    );
    assert!(matches!(
        r.route("Bad", false, event("Keep"), &mut random),
        Routed::Failed(_)
    ));
}
