//! JavaScript's semantics where Segment's routing code relies on them: property paths as
//! `dlv` and `dset` walk them, truthiness, strict equality, `typeof`, key order, string
//! lengths in UTF-16 units. Pure: no I/O.

// Most of it serves the routing-rules evaluator (`fql`, `transform`), which only the
// `destinations-rules` build has; the smaller device-mode wasm compiles the rest.
#![cfg_attr(not(feature = "destinations-rules"), allow(dead_code))]

use std::borrow::Cow;

use crate::json::{Map, Number, Value};

/// A JavaScript value as the routing code sees it: JSON values borrowed from an event or a
/// rule (objects and arrays by reference, for `===`), plus what only JavaScript has
/// (`undefined`, `NaN`, computed strings and numbers).
#[derive(Clone, Debug)]
pub(crate) enum Js<'a> {
    /// `undefined`
    Undef,
    /// `null`
    Null,
    /// A boolean.
    Bool(bool),
    /// A number (`NaN` included).
    Num(f64),
    /// A string.
    Str(Cow<'a, str>),
    /// An object or an array, by reference.
    Ref(&'a Value),
}

impl<'a> Js<'a> {
    /// The JavaScript value of a JSON value (`None`: `undefined`).
    pub(crate) fn of(v: Option<&'a Value>) -> Js<'a> {
        match v {
            None => Js::Undef,
            Some(Value::Null) => Js::Null,
            Some(Value::Bool(b)) => Js::Bool(*b),
            Some(Value::Number(n)) => Js::Num(number(n.as_str())),
            Some(Value::String(s)) => Js::Str(Cow::Borrowed(s)),
            Some(v) => Js::Ref(v),
        }
    }

    /// JavaScript's truthiness.
    pub(crate) fn truthy(&self) -> bool {
        match self {
            Js::Undef | Js::Null => false,
            Js::Bool(b) => *b,
            Js::Num(x) => *x != 0.0 && !x.is_nan(),
            Js::Str(s) => !s.is_empty(),
            Js::Ref(_) => true,
        }
    }

    /// `typeof`.
    pub(crate) fn type_of(&self) -> &'static str {
        match self {
            Js::Undef => "undefined",
            Js::Null | Js::Ref(_) => "object",
            Js::Bool(_) => "boolean",
            Js::Num(_) => "number",
            Js::Str(_) => "string",
        }
    }

    /// `===`: primitives by value, objects and arrays by reference.
    pub(crate) fn strict_eq(&self, other: &Js<'_>) -> bool {
        match (self, other) {
            (Js::Undef, Js::Undef) | (Js::Null, Js::Null) => true,
            (Js::Bool(a), Js::Bool(b)) => a == b,
            (Js::Num(a), Js::Num(b)) => a == b,
            (Js::Str(a), Js::Str(b)) => a == b,
            (Js::Ref(a), Js::Ref(b)) => std::ptr::eq(*a, *b),
            _ => false,
        }
    }

    /// `obj[key]` (own properties only: nothing inherited from the prototypes).
    pub(crate) fn prop(&self, key: &str) -> Js<'a> {
        match self {
            Js::Ref(Value::Object(m)) => Js::of(m.get(key)),
            Js::Ref(Value::Array(items)) if key == "length" => Js::Num(items.len() as f64),
            Js::Ref(Value::Array(items)) => Js::of(index(key).and_then(|i| items.get(i))),
            Js::Str(s) if key == "length" => Js::Num(utf16_len(s) as f64),
            Js::Str(s) => match index(key).and_then(|i| s.encode_utf16().nth(i)) {
                Some(unit) => char::from_u32(u32::from(unit))
                    .map_or(Js::Undef, |c| Js::Str(Cow::Owned(String::from(c)))),
                None => Js::Undef,
            },
            _ => Js::Undef,
        }
    }

    /// As a JSON value (`undefined` and `NaN` have none).
    pub(crate) fn to_value(&self) -> Option<Value> {
        Some(match self {
            Js::Undef => return None,
            Js::Null => Value::Null,
            Js::Bool(b) => Value::Bool(*b),
            // `String(x)` of a finite number is a JSON number literal.
            Js::Num(x) if x.is_finite() => crate::json::parse(&number_text(*x)).ok()?,
            Js::Num(_) => return None,
            Js::Str(s) => Value::str(s.as_ref()),
            Js::Ref(v) => (*v).clone(),
        })
    }
}

/// A canonical array index (`"0"`, `"12"`; not `"01"` or `"-1"`).
pub(crate) fn index(key: &str) -> Option<usize> {
    if key.is_empty() || (key.len() > 1 && key.starts_with('0')) {
        return None;
    }
    if !key.bytes().all(|b| b.is_ascii_digit()) || key.len() > 9 {
        return None;
    }
    crate::json::parse_u64(key).map(|n| n as usize)
}

/// An array index as its key text (no `core::fmt` in the wasm).
pub(crate) fn index_key(i: usize) -> String {
    let mut out = String::new();
    crate::json::push_u64(&mut out, i as u64);
    out
}

/// A string's `length`: UTF-16 code units.
pub(crate) fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// `dlv(obj, path)`: follows `a.b.c`, giving `undefined` past a falsy value.
pub(crate) fn get<'a>(obj: Js<'a>, path: &str) -> Js<'a> {
    let mut cur = obj;
    for key in crate::json::split_byte(path, b'.') {
        cur = if cur.truthy() {
            cur.prop(key)
        } else {
            Js::Undef
        };
    }
    cur
}

/// `dlv` on a JSON value.
pub(crate) fn get_in<'a>(obj: &'a Value, path: &str) -> Js<'a> {
    get(Js::Ref(obj), path)
}

/// An error JavaScript would have thrown (a `TypeError` reading a property of `undefined`
/// or `null`, an unsupported matcher or transformer): the routing middleware then fails and
/// the event does not reach that destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thrown(pub(crate) &'static str);

/// JavaScript's whitespace as `trim()` and `\s` know it.
pub(crate) fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

/// Whether `Number(s)` is finite (what `dset` asks with `key * 0 === 0`).
fn numeric(s: &str) -> bool {
    number(s).is_finite()
}

/// `dset(obj, path, value)`: creates what is missing on the way (`[]` before a numeric
/// key, `{}` otherwise) and stops silently at `__proto__`, `constructor` or `prototype`.
///
/// # Errors
/// Where JavaScript throws: a `null` on the way.
pub(crate) fn set(obj: &mut Value, path: &str, value: Value) -> Result<(), Thrown> {
    let keys: Vec<&str> = crate::json::split_byte(path, b'.').collect();
    let mut t = obj;
    for (i, key) in keys.iter().enumerate() {
        if matches!(*key, "__proto__" | "constructor" | "prototype") {
            return Ok(());
        }
        let last = i + 1 == keys.len();
        let fresh = || match keys.get(i + 1) {
            Some(next) if numeric(next) => Value::Array(Vec::new()),
            _ => Value::Object(Map::new()),
        };
        let slot: &mut Value = match t {
            Value::Object(m) => {
                if !m.contains_key(key) {
                    m.insert(*key, Value::Null);
                    if let Some(v) = m.get_mut(key) {
                        *v = fresh();
                    }
                }
                match m.get_mut(key) {
                    Some(v) => v,
                    None => return Ok(()),
                }
            }
            Value::Array(items) => match index(key) {
                Some(n) => {
                    if items.len() <= n {
                        // Holes read as null once serialized.
                        items.resize(n + 1, Value::Null);
                        if let Some(v) = items.get_mut(n) {
                            *v = fresh();
                        }
                    }
                    match items.get_mut(n) {
                        Some(v) => v,
                        None => return Ok(()),
                    }
                }
                // A named property of an array: JSON never shows it.
                None => return Ok(()),
            },
            Value::Null => return Err(Thrown("cannot set a property of null")),
            // Replaced below before anything is read from it.
            _ => return Ok(()),
        };
        if last {
            *slot = value;
            return Ok(());
        }
        if !matches!(slot, Value::Object(_) | Value::Array(_) | Value::Null) {
            *slot = fresh();
        }
        t = slot;
    }
    Ok(())
}

/// tsub's `unset(obj, prop)`: deletes the property when `dlv` finds a truthy value there;
/// `a\.b` in the last segments names a key with a dot.
///
/// # Errors
/// Where JavaScript throws (a missing object on the way).
pub(crate) fn unset(obj: &mut Value, prop: &str) -> Result<(), Thrown> {
    if !get_in(obj, prop).truthy() {
        return Ok(());
    }
    let mut segs: Vec<String> = crate::json::split_byte(prop, b'.')
        .map(str::to_owned)
        .collect();
    let Some(mut last) = segs.pop() else {
        return Ok(());
    };
    while let Some(prev) = segs.last().filter(|s| s.ends_with('\\')) {
        let mut joined = prev[..prev.len() - 1].to_owned();
        joined.push('.');
        joined.push_str(&last);
        last = joined;
        segs.pop();
    }
    let mut t = obj;
    for seg in &segs {
        t = match t {
            Value::Object(m) => m.get_mut(seg),
            Value::Array(items) => index(seg).and_then(|i| items.get_mut(i)),
            _ => None,
        }
        .ok_or(Thrown("cannot delete a property of undefined"))?;
    }
    delete(t, &last)
}

/// `delete obj[key]` in strict mode (tsub's code is): an array keeps a hole, which
/// serializes as null; a string's `length` or characters and an array's `length` cannot be
/// deleted (a `TypeError`).
///
/// # Errors
/// Those `TypeError`s.
pub(crate) fn delete(obj: &mut Value, key: &str) -> Result<(), Thrown> {
    const LOCKED: Thrown = Thrown("cannot delete a non-configurable property");
    match obj {
        Value::Object(m) => {
            m.remove(key);
        }
        Value::Array(_) if key == "length" => return Err(LOCKED),
        Value::Array(items) => {
            if let Some(v) = index(key).and_then(|i| items.get_mut(i)) {
                *v = Value::Null;
            }
        }
        Value::String(s) if key == "length" || index(key).is_some_and(|i| i < utf16_len(s)) => {
            return Err(LOCKED)
        }
        _ => {}
    }
    Ok(())
}

/// An object's keys in JavaScript's order (`Object.keys`, `for … in`): integer keys
/// ascending, then the others in insertion order.
pub(crate) fn keys(m: &Map) -> Vec<&str> {
    let mut ints: Vec<(u64, &str)> = Vec::new();
    let mut rest = Vec::new();
    for (k, _) in m.iter() {
        match index(k) {
            Some(i) => ints.push((i as u64, k)),
            None => rest.push(k),
        }
    }
    ints.sort_unstable();
    ints.into_iter().map(|(_, k)| k).chain(rest).collect()
}

/// `JSON.stringify(a) === JSON.stringify(b)` for JSON values: the same keys in JavaScript's
/// order and the same values (numbers by value, as JavaScript prints them canonically).
pub(crate) fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => number(x.as_str()) == number(y.as_str()),
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_json(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            let (kx, ky) = (keys(x), keys(y));
            kx == ky
                && kx
                    .iter()
                    .all(|k| matches!((x.get(k), y.get(k)), (Some(p), Some(q)) if same_json(p, q)))
        }
        _ => false,
    }
}

/// `JSON.stringify(v)` of a primitive (what tsub's `to_string` writes).
pub(crate) fn stringify_primitive(v: &Value) -> String {
    match v {
        // JavaScript prints integers without a fraction; other texts are kept.
        Value::Number(n) => match number(n.as_str()) {
            x if x == x.trunc() && x.abs() < 9.007_199_254_740_992e15 => {
                Number::from_i64(x as i64).as_str().to_owned()
            }
            _ => n.as_str().to_owned(),
        },
        other => other.to_json(),
    }
}

/// `Number(s)`: JavaScript's own in the wasm (no float parser in it), a Rust stand-in
/// natively.
pub(crate) fn number(s: &str) -> f64 {
    host::number(s)
}

/// `String(x)` of a finite number: JavaScript's own in the wasm (no float formatting in it),
/// a Rust stand-in natively.
pub(crate) fn number_text(x: f64) -> String {
    host::number_text(x)
}

#[cfg(all(target_arch = "wasm32", feature = "web-destinations"))]
mod host {
    extern "Rust" {
        /// JavaScript's `Number(s)` and `String(x)` (defined by `web::destinations`).
        fn sieve_host_js_number(s: &str) -> f64;
        fn sieve_host_js_string(x: f64) -> String;
    }

    pub(super) fn number(s: &str) -> f64 {
        // SAFETY: `web::destinations` defines it with this signature in this build (the
        // feature that compiles this declaration compiles the definition).
        unsafe { sieve_host_js_number(s) }
    }

    pub(super) fn number_text(x: f64) -> String {
        // SAFETY: as `number`.
        unsafe { sieve_host_js_string(x) }
    }
}

#[cfg(not(all(target_arch = "wasm32", feature = "web-destinations")))]
mod host {
    use super::is_js_space;
    use crate::json::{parse_f64, Number};

    /// `Number(s)` for strings: trimmed; empty is 0; `0x`/`0o`/`0b` integers; `Infinity`;
    /// otherwise a decimal literal (no hex letters, no trailing text).
    pub(super) fn number(s: &str) -> f64 {
        let t = s.trim_matches(is_js_space);
        if t.is_empty() {
            return 0.0;
        }
        for (prefix, radix) in [
            ("0x", 16),
            ("0X", 16),
            ("0o", 8),
            ("0O", 8),
            ("0b", 2),
            ("0B", 2),
        ] {
            if let Some(digits) = t.strip_prefix(prefix) {
                if digits.is_empty() {
                    return f64::NAN;
                }
                let mut n = 0.0;
                for c in digits.chars() {
                    let Some(d) = c.to_digit(radix) else {
                        return f64::NAN;
                    };
                    n = n * f64::from(radix) + f64::from(d);
                }
                return n;
            }
        }
        let body = t.strip_prefix(['+', '-']).unwrap_or(t);
        if body == "Infinity" {
            return if t.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            };
        }
        let mantissa_ok = body
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_digit() || b == b'.');
        if !mantissa_ok || body.contains(['x', 'X']) {
            return f64::NAN;
        }
        parse_f64(t).unwrap_or(f64::NAN)
    }

    pub(super) fn number_text(x: f64) -> String {
        Number::from_f64(x).map_or_else(String::new, |n| n.as_str().to_owned())
    }
}

/// `s.toLowerCase()`.
pub(crate) fn lower(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    host_lower(s)
}

#[cfg(all(target_arch = "wasm32", feature = "web-destinations"))]
extern "Rust" {
    /// JavaScript's own `toLowerCase()` (defined by `web::destinations`): the wasm carries no
    /// Unicode case tables.
    fn sieve_host_lower(s: &str) -> String;
}

#[cfg(all(target_arch = "wasm32", feature = "web-destinations"))]
fn host_lower(s: &str) -> String {
    // SAFETY: `web::destinations` defines `sieve_host_lower` with this signature in this
    // build (the feature that compiles this declaration compiles the definition).
    unsafe { sieve_host_lower(s) }
}

#[cfg(all(target_arch = "wasm32", not(feature = "web-destinations")))]
fn host_lower(s: &str) -> String {
    s.to_owned()
}

#[cfg(not(target_arch = "wasm32"))]
fn host_lower(s: &str) -> String {
    s.to_lowercase()
}
