//! Unit tests of `regex` (the module's private helpers; integration tests live in tests/it).

use super::*;

/// Checks `(pattern, text, matches)` rows, with the `i` flag when `insensitive`.
fn check(insensitive: bool, cases: &[(&str, &str, bool)]) {
    for &(p, t, want) in cases {
        assert_eq!(
            Regex::new(p, insensitive).unwrap().is_match(t),
            want,
            "/{p}/ (i: {insensitive}) on {t}"
        );
    }
}

#[test]
fn matches_like_javascript() {
    let cases: &[(&str, &str, bool)] = &[
        ("-12-25$", "1980-12-25", true),
        ("-12-25$", "1980-12-250", false),
        ("(Mobile|Tablet)", "Android Mobile Browser", true),
        ("^ping", "pingpong", true),
        ("^ping", "a pingpong", false),
        ("a{2,3}b", "caab", true),
        ("a{2,3}b", "cab", false),
        ("^a{2}$", "aaa", false),
        ("x{", "x{", true),
        ("[a-c]+\\d", "zzb7", true),
        ("[^a-c]", "abc", false),
        ("\\bfoo\\b", "a foo b", true),
        ("\\bfoo\\b", "afoo", false),
        (
            "^(a+)+$",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!",
            false,
        ),
        ("a.c", "a\nc", false),
        ("(?:ab)*c", "ababc", true),
        ("(?<y>\\d{4})-", "2024-", true),
        ("(?<$a_1>x)", "x", true),
        ("(?<année>x)", "x", true),
        ("", "anything", true),
        ("a|", "b", true),
        ("[\\w-]+@", "x-y@", true),
        ("\\u0041", "A", true),
        ("\\s", "a\u{a0}b", true),
    ];
    check(false, cases);
    // Case-insensitive; outside ASCII natively std's mapping, JavaScript's in the browser.
    let insensitive: &[(&str, &str, bool)] = &[
        ("(MOBILE|TABLET)", "android mobile", true),
        ("[A-Z]x", "qX", true),
        ("ÉCOLE", "une école", true),
        ("[à-ÿ]+$", "VOILÀ", true),
        ("straße", "STRASSE", false),
        ("σ", "ΟΔΟΣ", true),
        ("ΟΔΟΣ", "οδος", true),
        ("k", "\u{212a}", false),
        ("[a-z]", "\u{17f}", false),
        ("ä", "b", false),
    ];
    check(true, insensitive);
}

#[test]
fn classifies_errors() {
    for p in [
        "/???***[)",
        "(",
        "a)",
        "[a",
        "*a",
        "a**",
        "[z-a]",
        "a{3,1}",
        "(?x)",
        "(?<1a>x)",
        "(?<a-b>x)",
        "(?<>x)",
    ] {
        assert_eq!(Regex::new(p, false).err(), Some(RegexError::Invalid), "{p}");
    }
    for p in ["(a)\\1", "a(?=b)", "(?<!x)y", "(?<=x)y", "a{1000}{1000}"] {
        assert!(Regex::new(p, false).is_err(), "{p}");
    }
    assert_eq!(
        Regex::new("(a)\\1", false).err(),
        Some(RegexError::Unsupported)
    );
    assert_eq!(
        Regex::new("x{5000}", false).err(),
        Some(RegexError::Unsupported)
    );
}
