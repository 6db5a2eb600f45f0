//! Routing-rule matchers: tsub's evaluation of FQL's intermediate representation (the IR
//! Segment compiles a rule's condition to), value for value as `@segment/tsub` 2.0.1 does
//! it, quirks included (a lone `lowercase()` inside `or` counts as true when it gives a
//! non-empty string, `in` compares objects by reference, `match()` works on UTF-16 units).
//! Pure: no I/O.

use std::borrow::Cow;

use super::js::{get_in, lower, utf16_len, Js, Thrown};
use crate::json::find_sub;
use crate::json::{self, Value};

/// `matches(event, matcher)`: `{type: 'all'}` matches everything, `{type: 'fql', ir}`
/// evaluates the IR (JSON text) against the event; anything but a boolean result is false.
///
/// # Errors
/// Where tsub throws: no matcher, an unknown type, IR that does not parse, an unknown token
/// or a missing operand.
pub(crate) fn matches(event: &Value, matcher: &Value) -> Result<bool, Thrown> {
    if !Js::of(Some(matcher)).truthy() {
        return Err(Thrown("no matcher supplied"));
    }
    match matcher.get("type").and_then(Value::as_str) {
        Some("all") => Ok(true),
        Some("fql") => {
            let ir = Js::of(matcher.get("ir"));
            if !ir.truthy() {
                return Ok(false);
            }
            let parsed;
            let ir = match (ir, matcher.get("ir")) {
                (Js::Str(text), _) => {
                    parsed = json::parse(&text).map_err(|_| Thrown("IR is not JSON"))?;
                    &parsed
                }
                (Js::Num(_) | Js::Bool(_), Some(v)) => v,
                _ => return Err(Thrown("IR is not JSON")),
            };
            Ok(matches!(evaluate(ir, event)?, Js::Bool(true)))
        }
        _ => Err(Thrown("unsupported matcher type")),
    }
}

/// The IR's element `i` (JavaScript would throw on `undefined` there).
fn arg(ir: &[Value], i: usize) -> Result<&Value, Thrown> {
    ir.get(i).ok_or(Thrown("missing operand"))
}

/// tsub's `getValue`: an array stays as it is (more IR, or a list), `{value}` is a literal,
/// a string is a path into the event; a number or a boolean reads as the whole event
/// (`dlv` with a key that has no `split`).
fn value<'a>(item: &'a Value, event: &'a Value) -> Result<Js<'a>, Thrown> {
    Ok(match item {
        Value::Array(_) => Js::Ref(item),
        Value::Object(m) => Js::of(m.get("value")),
        Value::Null => return Err(Thrown("cannot read 'value' of null")),
        Value::String(path) => get_in(event, path),
        Value::Number(_) | Value::Bool(_) => Js::Ref(event),
    })
}

/// tsub's `fqlEvaluate`: a boolean, or what a function gives.
fn evaluate<'a>(ir: &'a Value, event: &'a Value) -> Result<Js<'a>, Thrown> {
    let Value::Array(ir) = ir else {
        return Ok(Js::Bool(matches!(value(ir, event)?, Js::Bool(true))));
    };
    let op = ir.first().and_then(Value::as_str).unwrap_or("");
    let operand = |i| value(arg(ir, i)?, event);
    Ok(match op {
        "!" => Js::Bool(!evaluate(arg(ir, 1)?, event)?.truthy()),
        "or" | "and" => {
            let want = op == "or";
            for item in ir.iter().skip(1) {
                if evaluate(item, event)?.truthy() == want {
                    return Ok(Js::Bool(want));
                }
            }
            Js::Bool(!want)
        }
        "=" | "!=" => {
            let first = unwrap_ir(operand(1)?, event)?;
            let second = unwrap_ir(operand(2)?, event)?;
            let same = match (&first, &second) {
                (Js::Null | Js::Ref(_), Js::Null | Js::Ref(_)) => {
                    match (first.to_value(), second.to_value()) {
                        (Some(a), Some(b)) => super::js::same_json(&a, &b),
                        _ => false,
                    }
                }
                _ => first.strict_eq(&second),
            };
            Js::Bool(same == (op == "="))
        }
        "<=" | "<" | ">" | ">=" => {
            let first = unwrap_ir(operand(1)?, event)?;
            let second = unwrap_ir(operand(2)?, event)?;
            Js::Bool(match (first, second) {
                (Js::Num(a), Js::Num(b)) => match op {
                    "<=" => a <= b,
                    ">=" => a >= b,
                    "<" => a < b,
                    _ => a > b,
                },
                _ => false,
            })
        }
        "in" => {
            let item = operand(1)?;
            let Js::Ref(Value::Array(list)) = operand(2)? else {
                return Err(Thrown("'in' needs a list"));
            };
            for candidate in list {
                if value(candidate, event)?.strict_eq(&item) {
                    return Ok(Js::Bool(true));
                }
            }
            Js::Bool(false)
        }
        "contains" => Js::Bool(match (operand(1)?, operand(2)?) {
            (Js::Str(s), Js::Str(part)) => find_sub(&s, &part).is_some(),
            _ => false,
        }),
        "match" => Js::Bool(match (operand(1)?, operand(2)?) {
            (Js::Str(s), Js::Str(glob)) => glob_matches(
                &glob.encode_utf16().collect::<Vec<_>>(),
                &s.encode_utf16().collect::<Vec<_>>(),
            ),
            _ => false,
        }),
        "lowercase" => match operand(1)? {
            Js::Str(s) => Js::Str(Cow::Owned(lower(&s))),
            _ => Js::Null,
        },
        "typeof" => Js::Str(Cow::Borrowed(operand(1)?.type_of())),
        "length" => Js::Num(match operand(1)? {
            Js::Null => 0.0,
            Js::Ref(Value::Array(a)) => a.len() as f64,
            Js::Str(s) => utf16_len(&s) as f64,
            _ => f64::NAN,
        }),
        "semver" => Js::Bool(semver(&operand(1)?, &operand(2)?, &operand(3)?)),
        _ => return Err(Thrown("FQL IR could not evaluate a token")),
    })
}

/// An operand that is itself a function call (`lowercase`, `length`, `typeof` with one
/// argument, `contains`/`match` with two, `semver` with three) is evaluated first.
fn unwrap_ir<'a>(v: Js<'a>, event: &'a Value) -> Result<Js<'a>, Thrown> {
    let Js::Ref(ir @ Value::Array(items)) = &v else {
        return Ok(v);
    };
    let is_call = matches!(
        (items.first().and_then(Value::as_str), items.len()),
        (Some("lowercase" | "length" | "typeof"), 2)
            | (Some("contains" | "match"), 3)
            | (Some("semver"), 4)
    );
    if is_call {
        evaluate(ir, event)
    } else {
        Ok(v)
    }
}

/// `semver(version, operator, version)`: major.minor.patch compared as numbers (missing
/// parts are 0; each part is `parseInt` of the trimmed text).
fn semver(a: &Js<'_>, op: &Js<'_>, b: &Js<'_>) -> bool {
    let (Js::Str(a), Js::Str(op), Js::Str(b)) = (a, op, b) else {
        return false;
    };
    let (Some(a), Some(b)) = (parse_semver(a), parse_semver(b)) else {
        return false;
    };
    let cmp = a.partial_cmp(&b);
    use std::cmp::Ordering::{Equal, Greater, Less};
    match op.as_ref() {
        "=" => cmp == Some(Equal),
        "!=" => cmp != Some(Equal),
        ">" => cmp == Some(Greater),
        ">=" => matches!(cmp, Some(Greater | Equal)),
        "<" => cmp == Some(Less),
        "<=" => matches!(cmp, Some(Less | Equal)),
        _ => false,
    }
}

fn parse_semver(v: &str) -> Option<[f64; 3]> {
    let parts: Vec<&str> = json::split_byte(v, b'.').collect();
    if parts.len() > 3 {
        return None;
    }
    let mut out = [0.0; 3];
    for (slot, part) in out.iter_mut().zip(&parts) {
        *slot = parse_int(part.trim_matches(super::js::is_js_space))?;
    }
    Some(out)
}

/// `parseInt(s, 10)` of trimmed text: an optional sign and the leading digits.
fn parse_int(s: &str) -> Option<f64> {
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let end = digits.bytes().take_while(u8::is_ascii_digit).count();
    if end == 0 {
        return None;
    }
    let n = super::js::number(&digits[..end]);
    Some(if negative { -n } else { n })
}

/// tsub's glob (Segment's Go `glob`, with `/` not special): `*`, `?`, `[a-z]`, `[^…]`,
/// `\` escapes; over UTF-16 code units, as JavaScript strings are indexed.
fn glob_matches(mut pattern: &[u16], mut s: &[u16]) -> bool {
    'pattern: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            return true;
        }
        match match_chunk(chunk, s) {
            Chunk::Err => return false,
            Chunk::Ok(t) if t.is_empty() || !pattern.is_empty() => {
                s = t;
                continue;
            }
            _ => {}
        }
        if star {
            for i in 0..s.len() {
                match match_chunk(chunk, s.get(i + 1..).unwrap_or_default()) {
                    Chunk::Ok(t) => {
                        if pattern.is_empty() && !t.is_empty() {
                            continue;
                        }
                        s = t;
                        continue 'pattern;
                    }
                    Chunk::Err => return false,
                    Chunk::No => {}
                }
            }
        }
        return false;
    }
    s.is_empty()
}

const STAR: u16 = b'*' as u16;
const BACKSLASH: u16 = b'\\' as u16;
const OPEN: u16 = b'[' as u16;
const CLOSE: u16 = b']' as u16;

/// Leading stars, then the chunk up to the next star outside a range.
fn scan_chunk(mut p: &[u16]) -> (bool, &[u16], &[u16]) {
    let mut star = false;
    while p.first() == Some(&STAR) {
        p = &p[1..];
        star = true;
    }
    let mut in_range = false;
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            BACKSLASH if i + 1 < p.len() => i += 1,
            OPEN => in_range = true,
            CLOSE => in_range = false,
            STAR if !in_range => break,
            _ => {}
        }
        i += 1;
    }
    (star, &p[..i], &p[i..])
}

enum Chunk<'a> {
    Ok(&'a [u16]),
    No,
    Err,
}

/// Whether the chunk matches the start of `s` (and what is left of `s`).
fn match_chunk<'a>(mut chunk: &[u16], mut s: &'a [u16]) -> Chunk<'a> {
    while let Some(&c) = chunk.first() {
        let Some(&first) = s.first() else {
            return Chunk::No;
        };
        match c {
            OPEN => {
                s = &s[1..];
                chunk = &chunk[1..];
                let mut negated = false;
                if chunk.first() == Some(&(b'^' as u16)) {
                    negated = true;
                    chunk = &chunk[1..];
                }
                let mut found = false;
                let mut n = 0;
                loop {
                    if chunk.first() == Some(&CLOSE) && n > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    let Some((lo, rest)) = get_esc(chunk) else {
                        return Chunk::No;
                    };
                    chunk = rest;
                    let mut hi = lo;
                    if chunk.first() == Some(&(b'-' as u16)) {
                        let Some((h, rest)) = get_esc(&chunk[1..]) else {
                            return Chunk::No;
                        };
                        hi = h;
                        chunk = rest;
                    }
                    if lo <= first && first <= hi {
                        found = true;
                    }
                    n += 1;
                }
                if found == negated {
                    return Chunk::No;
                }
            }
            0x3F => {
                // '?'
                s = &s[1..];
                chunk = &chunk[1..];
            }
            _ => {
                let mut c = c;
                if c == BACKSLASH {
                    chunk = &chunk[1..];
                    match chunk.first() {
                        Some(&e) => c = e,
                        None => return Chunk::Err,
                    }
                }
                if c != first {
                    return Chunk::No;
                }
                s = &s[1..];
                chunk = &chunk[1..];
            }
        }
    }
    Chunk::Ok(s)
}

/// A possibly escaped character of a range, and the rest (`None`: a bad range, which tsub
/// reports as no match).
fn get_esc(mut chunk: &[u16]) -> Option<(u16, &[u16])> {
    match chunk.first() {
        None => return None,
        Some(&c) if c == b'-' as u16 || c == CLOSE => return None,
        Some(&BACKSLASH) => {
            chunk = &chunk[1..];
            chunk.first()?;
        }
        _ => {}
    }
    let c = *chunk.first()?;
    let rest = &chunk[1..];
    if rest.is_empty() {
        return None;
    }
    Some((c, rest))
}
