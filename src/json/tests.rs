//! Unit tests of `json` (the module's private helpers; integration tests live in tests/it).

use super::*;

#[test]
fn round_trips_keep_text_and_order() {
    let cases = [
        r#"{"b":1,"a":[true,false,null],"c":{"d":"x\ny"}}"#,
        r#"[1.5,-0,1e+21,0.1,"\u0001"]"#,
        r#""é😀""#,
        r#"{}"#,
        r#"[]"#,
    ];
    for text in cases {
        let value = parse(text).unwrap();
        assert_eq!(value.to_json(), text, "{text}");
    }
}

#[test]
fn rejects_malformed_input_without_panicking() {
    let cases = [
        ("", ParseError::UnexpectedEnd),
        ("{", ParseError::UnexpectedEnd),
        ("[1,]", ParseError::UnexpectedChar),
        ("01", ParseError::BadNumber),
        ("1.", ParseError::BadNumber),
        ("\"\\x\"", ParseError::BadEscape),
        ("nul", ParseError::UnexpectedEnd),
        ("1 2", ParseError::TrailingCharacters),
        ("{\"a\" 1}", ParseError::UnexpectedChar),
    ];
    for (text, err) in cases {
        assert_eq!(parse(text), Err(err), "{text:?}");
    }
    let deep = "[".repeat(MAX_DEPTH + 2);
    assert_eq!(parse(&deep), Err(ParseError::TooDeep));
}

#[test]
fn surrogate_escapes() {
    assert_eq!(parse(r#""\ud83d\ude00""#).unwrap(), Value::str("😀"));
    assert_eq!(parse(r#""\ud800x""#).unwrap(), Value::str("\u{FFFD}x"));
}

#[test]
fn parses_numbers_like_javascript() {
    let cases = [
        "0",
        "-0",
        "1",
        "-12.5",
        "0.1",
        "0.3",
        "1e21",
        "1E-7",
        "123456789.123456789",
        "9007199254740993",
        "2.5e-300",
        "1.7976931348623157e308",
    ];
    for text in cases {
        let want: f64 = text.parse().unwrap();
        let got = parse_f64(text).unwrap();
        let relative = if want == 0.0 {
            got.abs()
        } else {
            ((got - want) / want).abs()
        };
        assert!(relative < 1e-12, "{text}: {got} vs {want}");
    }
    for exact in ["0.1", "0.3", "12.34", "-7.25e3", "99.99", "1e-5"] {
        assert_eq!(
            parse_f64(exact),
            exact.parse().ok(),
            "{exact} must be exact"
        );
    }
    for bad in ["", "-", "1e", "1.2.3", "abc"] {
        assert_eq!(parse_f64(bad), None, "{bad}");
    }
}

#[test]
fn numbers_from_floats() {
    let cases = [
        (3.0, "3"),
        (-2.5, "-2.5"),
        (0.125, "0.125"),
        (1.0 / 3.0, "0.333333333"),
    ];
    for (x, text) in cases {
        assert_eq!(Number::from_f64(x).unwrap().as_str(), text);
    }
    assert!(Number::from_f64(f64::NAN).is_none());
}

#[test]
fn integer_parsers_match_str_parse() {
    let mut cases: Vec<String> = [
        "",
        "+",
        "-",
        "-0",
        "0",
        "+0",
        "00",
        "007",
        "1",
        "+1",
        "++1",
        " 1",
        "1 ",
        "1a",
        "a1",
        "1.0",
        "1e3",
        "4294967295",
        "4294967296",
        "+4294967296",
        "65535",
        "65536",
        "18446744073709551615",
        "18446744073709551616",
        "99999999999999999999",
        "0000000000000000000000018446744073709551615",
        "١",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..2000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = (x % 22) as usize;
        let s: String = (0..len)
            .map(|i| b"0123456789+-9a "[((x >> (i * 2)) % 15) as usize] as char)
            .collect();
        cases.push(s);
        cases.push((x >> (x % 64)).to_string());
    }
    for s in &cases {
        assert_eq!(parse_u64(s), s.parse::<u64>().ok(), "{s:?}");
        assert_eq!(parse_u32(s), s.parse::<u32>().ok(), "{s:?}");
        assert_eq!(
            parse_u64(s).and_then(|n| u16::try_from(n).ok()),
            s.parse::<u16>().ok(),
            "{s:?}"
        );
    }
}

#[test]
fn join_and_concat_match_std() {
    let cases: [&[&str]; 5] = [&[], &[""], &["a"], &["a", "", "bc"], &["é", "😀", "x y"]];
    for parts in cases {
        assert_eq!(concat(parts), parts.concat());
        assert_eq!(join(parts, "."), parts.join("."));
        assert_eq!(join(parts, "::"), parts.join("::"));
    }
}

#[test]
fn emitted_text_is_always_valid_utf8() {
    // Escapes sit next to multi-byte characters: the runs must never split one (the
    // writer's UTF-8 check would then fall back to an empty string).
    let pieces = [
        "é", "😀", "\"", "\\", "\n", "\u{1}", "a", "\u{7f}", "中", "\u{2028}", "\t",
    ];
    let mut x: u32 = 12345;
    for _ in 0..500 {
        let mut s = String::new();
        for _ in 0..(x % 9) {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            s.push_str(pieces[(x >> 16) as usize % pieces.len()]);
        }
        let text = Value::String(s.clone()).to_json();
        assert_eq!(parse(&text).ok(), Some(Value::String(s)), "{text:?}");
    }
}

#[test]
fn byte_helpers_match_str_char_patterns() {
    let pieces = [
        "a", ";", "=", "é", "😀", "", "&", "?", "+", "中", ".", ":", "\n", ",", "#",
    ];
    let mut x: u32 = 777;
    for _ in 0..3000 {
        let mut s = String::new();
        for _ in 0..(x % 8) {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            s.push_str(pieces[(x >> 16) as usize % pieces.len()]);
        }
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        for sep in [';', '=', '&', '?', '+', '.', ':', '\n', ',', '#'] {
            let b = sep as u8;
            assert_eq!(find_byte(&s, b), s.find(sep), "{s:?} {sep:?}");
            assert_eq!(split_once_byte(&s, b), s.split_once(sep), "{s:?} {sep:?}");
            assert_eq!(
                split_byte(&s, b).collect::<Vec<_>>(),
                s.split(sep).collect::<Vec<_>>(),
                "{s:?} {sep:?}"
            );
            assert_eq!(
                replace_byte(&s, b, "&"),
                s.replace(sep, "&"),
                "{s:?} {sep:?}"
            );
            assert_eq!(
                replace_byte(&s, b, " "),
                s.replace(sep, " "),
                "{s:?} {sep:?}"
            );
        }
    }
}

#[test]
fn trim_ws_matches_std() {
    let cases = [
        "",
        " ",
        "  a ",
        "a",
        "\t\n x y \r\n",
        "\u{a0}é\u{2003}",
        "\u{3000}",
        " 😀 ",
        "x\u{85}",
        "\u{feff}a",
    ];
    for s in cases {
        assert_eq!(trim_ws(s, true), s.trim(), "{s:?}");
        assert_eq!(trim_ws(s, false), s.trim_start(), "{s:?}");
    }
}

#[test]
fn array_items_splits_top_level_items_without_parsing() {
    let table: [(&str, Option<&[&str]>); 9] = [
        ("[]", Some(&[])),
        (r#"["a"]"#, Some(&[r#""a""#])),
        (
            r#"["a,]\"",{"k":[1,{"x":"}"}]},null]"#,
            Some(&[r#""a,]\"""#, r#"{"k":[1,{"x":"}"}]}"#, "null"]),
        ),
        (r#"["\\",1]"#, Some(&[r#""\\""#, "1"])),
        ("", None),
        ("{}", None),
        ("[1,2", None),
        ("[1]]", None),
        ("[1,]", None),
    ];
    for (text, want) in table {
        assert_eq!(array_items(text).as_deref(), want, "{text}");
    }
}

#[cfg(feature = "segments")]
#[test]
fn parse_without_leaves_out_the_skipped_members() {
    // (text, skipped keys, the JSON of the result)
    let cases: &[(&str, &[&str], &str)] = &[
        (
            r#"{"a":1,"context":{"b":"}]\"{","c":[1,{"d":[]}]},"e":"x"}"#,
            &["context"],
            r#"{"a":1,"e":"x"}"#,
        ),
        (
            r#"{"context":"a\\\"b","e":[true]}"#,
            &["context"],
            r#"{"e":[true]}"#,
        ),
        (r#"{ "n" : -1.5e3 , "s" : "q" }"#, &["n"], r#"{"s":"q"}"#),
        (r#"{"a":null,"b":true}"#, &["a", "b"], r#"{}"#),
        (
            r#"{"a":{"context":1}}"#,
            &["context"],
            r#"{"a":{"context":1}}"#,
        ),
        (r#"[{"context":1}]"#, &["context"], r#"[{"context":1}]"#),
    ];
    for &(text, skip, want) in cases {
        assert_eq!(
            parse_without(text, skip).map(|v| v.to_json()),
            Ok(want.to_owned()),
            "{text}"
        );
    }
    for text in [
        r#"{"context":{"a":1}"#,
        r#"{"context":"abc"#,
        r#"{"context":[1,2}"#,
        r#"{"a":1} x"#,
    ] {
        assert!(parse_without(text, &["context"]).is_err(), "{text}");
    }
}
