//! Unit tests of `page` (the module's private helpers; integration tests live in tests/it).

use super::*;

fn bpc(c: Option<&str>, u: &str, p: &str, s: &str) -> BufferedPageContext {
    BufferedPageContext {
        canonical: c.map(str::to_owned),
        path: p.into(),
        url: u.into(),
        search: s.into(),
        title: "T".into(),
        referrer: "R".into(),
    }
}

#[test]
fn canonical_rules() {
    // (canonical, href, pathname, search) -> (path, url)
    let cases = [
        (
            None,
            "http://a.com/x?q=1#frag",
            "/x",
            "?q=1",
            "/x",
            "http://a.com/x?q=1",
        ),
        (
            Some("http://c.com/canon"),
            "http://a.com/x?q=1",
            "/x",
            "?q=1",
            "/canon",
            "http://c.com/canon?q=1",
        ),
        (
            Some("http://c.com/canon?z=1"),
            "http://a.com/x?q=1",
            "/x",
            "?q=1",
            "/canon",
            "http://c.com/canon?z=1",
        ),
        (
            Some("http://c.com"),
            "http://a.com/",
            "/",
            "",
            "/",
            "http://c.com",
        ),
        (
            Some("relative/path"),
            "http://a.com/",
            "/",
            "",
            "/relative/path",
            "relative/path",
        ),
        (Some("/abs"), "http://a.com/", "/", "?a", "/abs", "/abs?a"),
        (
            Some("http://[bad"),
            "http://a.com/",
            "/",
            "",
            "/http://[bad",
            "http://[bad",
        ),
    ];
    for (c, u, p, s, want_path, want_url) in cases {
        let ctx = bpc(c, u, p, s).to_page_context();
        assert_eq!(
            ctx.get("path").and_then(Value::as_str),
            Some(want_path),
            "{c:?}"
        );
        assert_eq!(
            ctx.get("url").and_then(Value::as_str),
            Some(want_url),
            "{c:?}"
        );
    }
}

#[test]
fn campaign_parsing() {
    let cases: [(&str, &str); 10] = [
        (
            "?utm_source=src&utm_campaign=camp&utm_custom=x&gclid=abc",
            r#"{"source":"src","name":"camp","custom":"x"}"#,
        ),
        // The key only has to contain `utm_`; the name is what follows its first four chars.
        ("?xxutm_k=v", r#"{"m_k":"v"}"#),
        ("?\u{e9}\u{e9}\u{e9}\u{e9}utm_z=1", r#"{"utm_z":"1"}"#),
        ("?utm_=x", "{}"),
        ("?q=1", "{}"),
        ("?utm_term=a+b%20c", r#"{"term":"a b c"}"#),
        ("?utm_term=%E0%A4%A", r#"{"term":"%E0%A4%A"}"#),
        ("?utm_source=a=b", r#"{"source":"a"}"#),
        ("?utm_source=1&utm_source=2", r#"{"source":"2"}"#),
        ("?x=1?utm_medium=m", r#"{"medium":"m"}"#),
    ];
    for (q, want) in cases {
        assert_eq!(Value::Object(campaign_from_query(q)).to_json(), want, "{q}");
    }
}
