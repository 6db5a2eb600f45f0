//! Identity restored from analytics.js storage, trait merging, id changes and reset.

use sieve::core::identity::{
    cookie_domain_candidates, decode_cookie_value, encode_cookie_value, StorageSnapshot,
};
use sieve::json::Value;

use crate::sim::Sim;

fn snapshot(cookies: &[(&str, &str)], local: &[(&str, &str)]) -> StorageSnapshot {
    StorageSnapshot {
        cookies: cookies
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        local: local
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

#[test]
fn restores_what_analytics_js_stored() {
    // (cookies, localStorage, expected anonymousId, expected userId)
    let table: [(&[(&str, &str)], &[(&str, &str)], &str, Option<&str>); 11] = [
        (&[("ajs_anonymous_id", "a-cookie")], &[], "a-cookie", None),
        (&[], &[("ajs_anonymous_id", "\"a-local\"")], "a-local", None),
        // The cookie wins a disagreement (subdomain consistency, analytics-next 1.84.3).
        (
            &[("ajs_anonymous_id", "a-cookie")],
            &[("ajs_anonymous_id", "\"a-local\"")],
            "a-cookie",
            None,
        ),
        // Old AJS classic wrote JSON-quoted, URL-encoded cookie values.
        (
            &[("ajs_anonymous_id", "%22a-quoted%22")],
            &[],
            "a-quoted",
            None,
        ),
        // userId: localStorage first, then the cookie.
        (
            &[("ajs_anonymous_id", "a"), ("ajs_user_id", "u-cookie")],
            &[("ajs_user_id", "\"u-local\"")],
            "a",
            Some("u-local"),
        ),
        (
            &[("ajs_anonymous_id", "a"), ("ajs_user_id", "u-cookie")],
            &[],
            "a",
            Some("u-cookie"),
        ),
        // Legacy `_sio` ("anon----user"): analytics.js takes only the anonymousId part.
        (&[("_sio", "a-sio----u-sio")], &[], "a-sio", None),
        // localStorage ids: JSON null, other JSON and "" are none (the cookie is read then),
        // a raw (non-JSON) value is used as is, a JSON number is its text.
        (
            &[("ajs_anonymous_id", "a"), ("ajs_user_id", "u-cookie")],
            &[("ajs_user_id", "null")],
            "a",
            Some("u-cookie"),
        ),
        (
            &[("ajs_anonymous_id", "a"), ("ajs_user_id", "u-cookie")],
            &[("ajs_user_id", "{\"id\":1}")],
            "a",
            Some("u-cookie"),
        ),
        (
            &[("ajs_anonymous_id", "a")],
            &[("ajs_user_id", "raw-id")],
            "a",
            Some("raw-id"),
        ),
        (
            &[("ajs_anonymous_id", "a")],
            &[("ajs_user_id", "42")],
            "a",
            Some("42"),
        ),
    ];
    for (cookies, local, anon, user) in table {
        let sim = Sim::with_storage("{}", "{}", snapshot(cookies, local));
        assert_eq!(
            sim.core.identity().anonymous_id(),
            Some(anon),
            "{cookies:?} {local:?}"
        );
        assert_eq!(sim.core.identity().user_id(), user, "{cookies:?} {local:?}");
        if cookies.iter().any(|(k, _)| *k == "_sio") {
            // The `_sio` fallback is never synced: stores say "nothing found".
            assert_eq!(
                sim.local.get("ajs_anonymous_id").map(String::as_str),
                Some("null")
            );
            assert!(!sim.cookies.contains_key("ajs_anonymous_id"));
        } else {
            // Whatever was found is synced to both stores, in their encodings.
            assert_eq!(
                sim.cookies.get("ajs_anonymous_id").map(String::as_str),
                Some(anon)
            );
            assert_eq!(
                sim.local.get("ajs_anonymous_id").cloned(),
                Some(Value::str(anon).to_json())
            );
        }
    }
    let legacy = Sim::with_storage(
        "{}",
        "{}",
        snapshot(
            &[(
                "ajs_user",
                "%7B%22id%22%3A%22u-old%22%2C%22traits%22%3A%7B%22a%22%3A1%7D%7D",
            )],
            &[],
        ),
    );
    assert_eq!(legacy.core.identity().user_id(), Some("u-old"));
    assert_eq!(
        Value::Object(legacy.core.identity().user_traits().clone()).to_json(),
        r#"{"a":1}"#
    );
    // analytics.js quirk: Group inherits User's legacy cookie key, so the group is adopted too.
    assert_eq!(legacy.core.identity().group_id(), Some("u-old"));
    assert_eq!(
        Value::Object(legacy.core.identity().group_traits().clone()).to_json(),
        r#"{"a":1}"#
    );
    assert_eq!(
        legacy.cookies.get("ajs_group_id").map(String::as_str),
        Some("u-old")
    );
}

#[test]
fn set_anonymous_id_null_clears_and_the_next_event_gets_a_fresh_one() {
    let mut sim = Sim::new("{}", "{}");
    let before = sim.core.identity().anonymous_id().unwrap().to_owned();
    sim.core.handle_set_anonymous_id(None);
    sim.step();
    assert_eq!(sim.core.identity().anonymous_id(), None);
    assert_eq!(
        sim.local.get("ajs_anonymous_id").map(String::as_str),
        Some("null")
    );
    let e = sim.track("Next");
    let fresh = e
        .get("anonymousId")
        .and_then(Value::as_str)
        .unwrap()
        .to_owned();
    assert_ne!(fresh, before);
    assert_eq!(fresh.len(), 36);
    assert_eq!(sim.cookies.get("ajs_anonymous_id"), Some(&fresh));
}

#[test]
fn a_fresh_browser_gets_a_uuid_written_to_cookie_and_local_storage() {
    let sim = Sim::new("{}", "{}");
    let anon = sim.core.identity().anonymous_id().unwrap().to_owned();
    assert_eq!(anon.len(), 36);
    assert_eq!(sim.cookies.get("ajs_anonymous_id"), Some(&anon));
    assert_eq!(
        sim.local.get("ajs_anonymous_id"),
        Some(&format!("\"{anon}\""))
    );
    assert_eq!(
        sim.local.get("ajs_user_id").map(String::as_str),
        Some("null"),
        "an absent userId is JSON null"
    );
    assert!(!sim.cookies.contains_key("ajs_user_id"));
}

#[test]
fn identify_merges_traits_for_the_same_user_and_replaces_them_for_a_new_one() {
    let mut sim = Sim::new("{}", "{}");
    let anon0 = sim.core.identity().anonymous_id().unwrap().to_owned();
    let e = sim.call_wire("identify", "so", r#"["A",{"x":1}]"#).unwrap();
    assert_eq!(e.get("traits").unwrap().to_json(), r#"{"x":1}"#);
    assert_eq!(
        sim.core.identity().anonymous_id(),
        Some(anon0.as_str()),
        "first identify keeps the anonymousId"
    );
    let e = sim.call_wire("identify", "o", r#"[{"y":2}]"#).unwrap();
    assert_eq!(
        e.get("userId").and_then(Value::as_str),
        Some("A"),
        "identify(traits) keeps the id"
    );
    assert_eq!(e.get("traits").unwrap().to_json(), r#"{"x":1,"y":2}"#);
    let e = sim
        .call_wire("identify", "No", r#"[null,{"z":0}]"#)
        .unwrap();
    assert_eq!(
        e.get("userId").and_then(Value::as_str),
        Some("A"),
        "identify(null, traits) keeps the id"
    );
    assert_eq!(e.get("traits").unwrap().to_json(), r#"{"x":1,"y":2,"z":0}"#);
    let e = sim.call_wire("identify", "so", r#"["B",{"z":3}]"#).unwrap();
    assert_eq!(
        e.get("traits").unwrap().to_json(),
        r#"{"z":3}"#,
        "a new user replaces traits"
    );
    let anon1 = sim.core.identity().anonymous_id().unwrap().to_owned();
    assert_ne!(anon1, anon0, "a new userId gets a new anonymousId");
    assert_eq!(
        e.get("anonymousId").and_then(Value::as_str),
        Some(anon1.as_str())
    );
    assert_eq!(
        sim.local.get("ajs_user_id").map(String::as_str),
        Some("\"B\"")
    );
    assert_eq!(
        sim.cookies.get("ajs_user_id").map(String::as_str),
        Some("B")
    );
    assert_eq!(
        sim.local.get("ajs_user_traits").map(String::as_str),
        Some(r#"{"z":3}"#)
    );
}

#[test]
fn reset_clears_user_and_group_and_starts_a_new_anonymous_id() {
    let mut sim = Sim::new("{}", "{}");
    sim.call_wire("identify", "so", r#"["A",{"x":1}]"#).unwrap();
    sim.call_wire("group", "so", r#"["G",{"plan":"pro"}]"#)
        .unwrap();
    let anon = sim.core.identity().anonymous_id().unwrap().to_owned();
    sim.core.handle_reset();
    sim.step();
    assert_eq!(sim.core.identity().user_id(), None);
    assert_eq!(sim.core.identity().group_id(), None);
    assert!(sim.core.identity().user_traits().is_empty());
    assert_ne!(sim.core.identity().anonymous_id(), Some(anon.as_str()));
    for key in ["ajs_user_id", "ajs_group_id"] {
        assert!(!sim.cookies.contains_key(key), "{key} cookie removed");
        assert!(
            !sim.local.contains_key(key),
            "{key} removed from localStorage"
        );
    }
    assert!(!sim.local.contains_key("ajs_user_traits"));
    // analytics.js reads the (absent) user id on the next event and stores JSON null.
    let e = sim.track("Next");
    assert!(e.get("userId").unwrap().is_null());
    assert_eq!(
        sim.local.get("ajs_user_id").map(String::as_str),
        Some("null")
    );
    assert!(!sim.local.contains_key("ajs_group_id"));
    sim.core.handle_group_id_read();
    sim.step();
    assert_eq!(
        sim.local.get("ajs_group_id").map(String::as_str),
        Some("null")
    );
}

#[test]
fn disable_client_persistence_writes_nothing() {
    let sim = Sim::with_storage(
        "{}",
        r#"{"disableClientPersistence":true}"#,
        snapshot(&[("ajs_anonymous_id", "a-cookie")], &[]),
    );
    assert_ne!(
        sim.core.identity().anonymous_id(),
        Some("a-cookie"),
        "storage is not read"
    );
    assert!(sim.cookies.is_empty() && sim.local.is_empty());
}

#[test]
fn cookie_codec_and_domain_candidates() {
    let cases = [
        ("abc-123", "abc-123"),
        ("a b", "a%20b"),
        ("u@x.com", "u@x.com"),
        ("é", "%C3%A9"),
        ("a;b", "a%3Bb"),
    ];
    for (raw, encoded) in cases {
        assert_eq!(encode_cookie_value(raw), encoded);
        assert_eq!(decode_cookie_value(encoded).as_deref(), Some(raw));
    }
    assert_eq!(
        decode_cookie_value("123").as_deref(),
        Some("123"),
        "a JSON number stays its text"
    );
    // Other JSON is the raw text; an empty id is none.
    assert_eq!(decode_cookie_value("null").as_deref(), Some("null"));
    assert_eq!(
        decode_cookie_value("%7B%22a%22%3A1%7D").as_deref(),
        Some(r#"{"a":1}"#)
    );
    assert_eq!(decode_cookie_value("%22%22"), None);
    assert_eq!(decode_cookie_value(""), None);
    let domains = [
        (
            "www.example.co.uk",
            vec!["co.uk", "example.co.uk", "www.example.co.uk"],
        ),
        ("example.com", vec!["example.com"]),
        ("localhost", vec![]),
        ("127.0.0.1", vec![]),
        ("[::1]", vec![]),
        // Not IPv4 (an empty label, a letter, five labels): domains like any other.
        ("1..3.4", vec!["3.4", ".3.4", "1..3.4"]),
        ("1.2.3.a", vec!["3.a", "2.3.a", "1.2.3.a"]),
        ("1.2.3.4.5", vec!["4.5", "3.4.5", "2.3.4.5", "1.2.3.4.5"]),
        ("example.com.", vec!["com.", "example.com."]),
    ];
    for (host, want) in domains {
        assert_eq!(cookie_domain_candidates(host), want, "{host}");
    }
}

#[test]
fn user_id_setter_follows_analytics_js() {
    let mut sim = Sim::new("{}", "{}");
    let anon = sim.core.identity().anonymous_id().unwrap().to_owned();
    sim.core.handle_set_user_id(Some("first".into()));
    sim.step();
    assert_eq!(
        sim.core.identity().anonymous_id(),
        Some(anon.as_str()),
        "anonymous → first user keeps the anonymousId"
    );
    sim.core.handle_set_user_id(Some("second".into()));
    sim.step();
    assert_eq!(
        sim.core.identity().anonymous_id(),
        None,
        "a different user clears it"
    );
    let e = sim.track("x");
    assert_eq!(e.get("userId").and_then(Value::as_str), Some("second"));
    assert_ne!(
        e.get("anonymousId").and_then(Value::as_str),
        Some(anon.as_str())
    );
    sim.core.handle_set_user_id(None);
    sim.step();
    assert_eq!(
        sim.local.get("ajs_user_id").map(String::as_str),
        Some("null")
    );
    assert!(!sim.cookies.contains_key("ajs_user_id"));
}

#[test]
fn custom_storage_keys_from_load_options() {
    let options = r#"{"user":{"cookie":{"key":"custom_uid"},"localStorage":{"key":"custom_traits"}},"group":{"cookie":{"key":"custom_gid"},"localStorage":{"key":"custom_gprops"}}}"#;
    let snapshot = snapshot(
        &[("custom_uid", "u-custom")],
        &[("custom_traits", r#"{"a":1}"#)],
    );
    let mut sim = Sim::with_storage("{}", options, snapshot);
    assert_eq!(sim.core.identity().user_id(), Some("u-custom"));
    assert_eq!(
        Value::Object(sim.core.identity().user_traits().clone()).to_json(),
        r#"{"a":1}"#
    );
    sim.call_wire("identify", "o", r#"[{"b":2}]"#).unwrap();
    sim.call_wire("group", "so", r#"["g1",{"plan":"pro"}]"#)
        .unwrap();
    assert_eq!(
        sim.local.get("custom_traits").map(String::as_str),
        Some(r#"{"a":1,"b":2}"#)
    );
    assert_eq!(
        sim.cookies.get("custom_gid").map(String::as_str),
        Some("g1")
    );
    assert_eq!(
        sim.local.get("custom_gprops").map(String::as_str),
        Some(r#"{"plan":"pro"}"#)
    );
    for default_key in [
        "ajs_user_id",
        "ajs_user_traits",
        "ajs_group_id",
        "ajs_group_properties",
    ] {
        assert!(
            !sim.local.contains_key(default_key) && !sim.cookies.contains_key(default_key),
            "{default_key} unused"
        );
    }
}

#[test]
fn ids_longer_than_the_limit_are_refused_when_set_and_ignored_when_restored() {
    use sieve::core::identity::MAX_ID_BYTES;
    let fits = "i".repeat(MAX_ID_BYTES);
    let long = "i".repeat(MAX_ID_BYTES + 1);
    let quoted = |s: &str| Value::str(s).to_json();
    // Through calls: (method, id, accepted?)
    for (method, id, accepted) in [
        ("identify", &fits, true),
        ("identify", &long, false),
        ("group", &fits, true),
        ("group", &long, false),
    ] {
        let mut sim = Sim::new("{}", "{}");
        let res = sim.call_wire(method, "s", &format!("[{}]", quoted(id)));
        assert_eq!(res.is_ok(), accepted, "{method} of {} bytes", id.len());
        if !accepted {
            assert_eq!(
                res.unwrap_err().message(),
                "the id is longer than 1024 bytes; the call was dropped"
            );
            assert_eq!(
                (
                    sim.core.identity().user_id(),
                    sim.core.identity().group_id()
                ),
                (None, None)
            );
        }
    }
    // Without an event: the id stays as it was, with a notice.
    let mut sim = Sim::new("{}", "{}");
    let anon = sim.core.identity().anonymous_id().map(str::to_owned);
    sim.core.handle_set_anonymous_id(Some(long.clone()));
    sim.core.handle_set_user_id(Some(long.clone()));
    sim.step();
    assert_eq!(sim.core.identity().anonymous_id().map(str::to_owned), anon);
    assert_eq!(sim.core.identity().user_id(), None);
    assert_eq!(
        sim.notices
            .iter()
            .filter(|n| n.code == "invalid_call")
            .count(),
        2
    );
    // options.anonymousId: ignored, the event keeps the stored one.
    let e = sim
        .call_wire(
            "track",
            "soo",
            &format!(r#"["e",{{}},{{"anonymousId":{}}}]"#, quoted(&long)),
        )
        .unwrap();
    assert_eq!(
        e.get("anonymousId").and_then(Value::as_str),
        anon.as_deref()
    );
    assert_eq!(sim.notices.last().map(|n| n.code), Some("invalid_option"));
    // Stored by someone else: as if absent (a fresh anonymousId, no user).
    let stored = Sim::with_storage(
        "{}",
        "{}",
        snapshot(
            &[("ajs_anonymous_id", &long)],
            &[("ajs_user_id", &quoted(&long))],
        ),
    );
    let restored = stored.core.identity().anonymous_id().unwrap_or_default();
    assert_eq!(restored.len(), 36, "a fresh UUID");
    assert_eq!(stored.core.identity().user_id(), None);
}
