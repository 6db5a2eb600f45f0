//! GrowthBook's condition language (`evalCondition`), with its JavaScript comparison
//! semantics, evaluated in three-valued logic. Pure: no I/O.
//!
//! With [`Missing::Gb`] the answer is exactly GrowthBook's (`getPath` turns an absent path
//! into `null`, `value + "" === condition`, `actual < expected` with JS coercions, …;
//! `$regex` is JavaScript's own `RegExp`, see [`regex`](super::regex)). With the other
//! policies a pattern `RegExp` refuses makes its test UNKNOWN. With [`Missing::Unknown`] a field test that reads an absent path is UNKNOWN (Kleene logic
//! then decides the rest: `{"$or": [T, U]}` is still TRUE); `$exists` is the one operator
//! that answers an absent path definitively. With [`Missing::False`] a leaf whose answer
//! depends on an absent path is FALSE.

use super::case::lower_str;
use super::regex::{Regex, RegexError};
use super::Tri;
use crate::json::{
    find_byte, push_i64, split_byte, split_once_byte, trim_end_byte, trim_ws, Map, Value,
};

/// What an absent attribute path means (`"missing"` in a traits leaf).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    /// The leaf is UNKNOWN when the answer depends on an absent path (the default).
    Unknown,
    /// GrowthBook's own answer (absent is `null`).
    Gb,
    /// The leaf is FALSE when the answer depends on an absent path.
    False,
}

/// A parsed GrowthBook condition with its regular expressions compiled once (at load).
#[derive(Clone, Debug)]
pub struct GbCondition {
    raw: Value,
    /// Invariant: one entry per distinct (pattern, insensitive) found in `raw`.
    regexes: Vec<(String, bool, Result<Regex, RegexError>)>,
}

impl GbCondition {
    /// Wraps a condition object and compiles every `$regex`/`$regexi` pattern in it.
    pub fn new(raw: Value) -> GbCondition {
        let mut regexes = Vec::new();
        collect_regexes(&raw, &mut regexes, 0);
        GbCondition { raw, regexes }
    }

    /// The condition as given.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// Patterns in this condition that did not compile, with the reason.
    pub fn regex_problems(&self) -> impl Iterator<Item = (&str, RegexError)> {
        self.regexes
            .iter()
            .filter_map(|(p, _, r)| r.as_ref().err().map(|e| (p.as_str(), *e)))
    }

    /// Evaluates against `obj` under the `missing` policy.
    pub fn eval(&self, obj: &Value, missing: Missing) -> Tri {
        let mut ctx = Ctx {
            regexes: &self.regexes,
            missing,
            saw_missing: false,
        };
        let res = ctx.condition(obj, &self.raw, 0);
        if missing == Missing::False && res == Tri::Unknown && ctx.saw_missing {
            return Tri::False;
        }
        res
    }
}

/// Evaluates a GrowthBook test (`{"$gte": 3}` or a literal) against one value, as
/// `evalConditionValue` does. Used for behavioural `test`s; a regex compiles at first use
/// (the host keeps it).
pub fn eval_value_test(test: &Value, actual: &Value) -> Tri {
    let mut ctx = Ctx {
        regexes: &[],
        missing: Missing::Gb,
        saw_missing: false,
    };
    ctx.value(test, Some(actual), 0)
}

fn collect_regexes(
    v: &Value,
    out: &mut Vec<(String, bool, Result<Regex, RegexError>)>,
    depth: usize,
) {
    if depth > 64 {
        return;
    }
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter() {
                let insensitive = matches!(k, "$regexi" | "$notRegexi");
                if matches!(k, "$regex" | "$regexi" | "$notRegex" | "$notRegexi") {
                    if let Some(p) = child.as_str() {
                        if !out.iter().any(|(q, i, _)| q == p && *i == insensitive) {
                            out.push((p.to_owned(), insensitive, Regex::new(p, insensitive)));
                        }
                    }
                }
                collect_regexes(child, out, depth + 1);
            }
        }
        Value::Array(items) => {
            for child in items {
                collect_regexes(child, out, depth + 1);
            }
        }
        _ => {}
    }
}

/// Depth beyond which evaluation gives UNKNOWN instead of recursing (definitions are
/// limited to less at load; this guards direct callers).
const MAX_EVAL_DEPTH: usize = 64;

struct Ctx<'a> {
    regexes: &'a [(String, bool, Result<Regex, RegexError>)],
    missing: Missing,
    saw_missing: bool,
}

fn tri(b: bool) -> Tri {
    if b {
        Tri::True
    } else {
        Tri::False
    }
}

/// `getPath`: dot path through objects (and arrays, as JS `in` does for indices).
fn get_path<'v>(obj: &'v Value, path: &str) -> Option<&'v Value> {
    let mut cur = obj;
    for part in split_byte(path, b'.') {
        cur = match cur {
            Value::Object(m) => m.get(part)?,
            Value::Array(items) => {
                if part.is_empty() || (part.len() > 1 && part.starts_with('0')) {
                    return None;
                }
                let idx: usize = part.parse().ok()?;
                items.get(idx)?
            }
            _ => return None,
        };
    }
    Some(cur)
}

fn is_operator_object(map: &Map) -> bool {
    !map.is_empty() && map.iter().all(|(k, _)| k.starts_with('$'))
}

impl Ctx<'_> {
    fn condition(&mut self, obj: &Value, cond: &Value, depth: usize) -> Tri {
        if depth > MAX_EVAL_DEPTH {
            return Tri::Unknown;
        }
        let Some(map) = cond.as_object() else {
            // `Object.entries` of a non-object has no entries.
            return Tri::True;
        };
        let mut res = Tri::True;
        for (k, v) in map.iter() {
            let r = match k {
                "$or" => self.or(obj, v, depth),
                "$nor" => self.or(obj, v, depth).not(),
                "$and" => self.and(obj, v, depth),
                "$not" => self.condition(obj, v, depth + 1).not(),
                _ => {
                    let actual = get_path(obj, k);
                    if actual.is_none() && self.missing != Missing::Gb {
                        self.saw_missing = true;
                        if exists_test(v).is_some() {
                            self.value(v, None, depth + 1)
                        } else {
                            Tri::Unknown
                        }
                    } else {
                        self.value(v, actual, depth + 1)
                    }
                }
            };
            res = res.and(r);
            if res == Tri::False {
                return res;
            }
        }
        res
    }

    fn or(&mut self, obj: &Value, conds: &Value, depth: usize) -> Tri {
        let Some(items) = conds.as_array() else {
            return Tri::True;
        };
        if items.is_empty() {
            return Tri::True;
        }
        let mut res = Tri::False;
        for c in items {
            res = res.or(self.condition(obj, c, depth + 1));
            if res == Tri::True {
                break;
            }
        }
        res
    }

    fn and(&mut self, obj: &Value, conds: &Value, depth: usize) -> Tri {
        let Some(items) = conds.as_array() else {
            return Tri::True;
        };
        let mut res = Tri::True;
        for c in items {
            res = res.and(self.condition(obj, c, depth + 1));
            if res == Tri::False {
                break;
            }
        }
        res
    }

    /// `evalConditionValue(condition, value)`; `None` is an absent path (`null` to GB).
    fn value(&mut self, cond: &Value, actual: Option<&Value>, depth: usize) -> Tri {
        if depth > MAX_EVAL_DEPTH {
            return Tri::Unknown;
        }
        let null = Value::Null;
        let act = actual.unwrap_or(&null);
        match cond {
            Value::String(s) => tri(js_to_string(act) == *s),
            Value::Number(n) => tri(js_to_number(act) == n.as_f64().unwrap_or(f64::NAN)),
            Value::Bool(b) => tri(!act.is_null() && js_truthy(act) == *b),
            Value::Null => tri(act.is_null()),
            Value::Array(_) => tri(json_stringify(act) == json_stringify(cond)),
            Value::Object(map) => {
                if !is_operator_object(map) {
                    return tri(json_stringify(act) == json_stringify(cond));
                }
                let mut res = Tri::True;
                for (op, expected) in map.iter() {
                    res = res.and(self.operator(op, act, actual.is_none(), expected, depth));
                    if res == Tri::False {
                        break;
                    }
                }
                res
            }
        }
    }

    fn regex_test(&self, pattern: &Value, insensitive: bool, actual: &Value) -> Tri {
        // `new RegExp(x)` stringifies a non-string pattern.
        let text;
        let p = match pattern.as_str() {
            Some(p) => p,
            None => {
                text = js_to_string(pattern);
                &text
            }
        };
        let owned;
        let compiled = match self
            .regexes
            .iter()
            .find(|(q, i, _)| q == p && *i == insensitive)
        {
            Some((_, _, r)) => r,
            None => {
                owned = Regex::new(p, insensitive);
                &owned
            }
        };
        match compiled {
            Ok(re) => tri(re.is_match(&js_to_string(actual))),
            // GrowthBook catches the SyntaxError and answers false; a leaf of ours cannot
            // tell, so it is UNKNOWN (and the load reported the pattern).
            Err(RegexError::Invalid) if self.missing == Missing::Gb => Tri::False,
            Err(RegexError::Invalid) => Tri::Unknown,
        }
    }

    fn operator(
        &mut self,
        op: &str,
        act: &Value,
        absent: bool,
        expected: &Value,
        depth: usize,
    ) -> Tri {
        match op {
            "$veq" | "$vne" | "$vgt" | "$vgte" | "$vlt" | "$vlte" => {
                let a = padded_version(act);
                let e = padded_version(expected);
                tri(match op {
                    "$veq" => a == e,
                    "$vne" => a != e,
                    "$vgt" => a > e,
                    "$vgte" => a >= e,
                    "$vlt" => a < e,
                    _ => a <= e,
                })
            }
            "$eq" => tri(strict_eq(act, expected)),
            "$ne" => tri(!strict_eq(act, expected)),
            "$lt" => tri(js_less(act, expected) == Some(true)),
            "$gt" => tri(js_less(expected, act) == Some(true)),
            // `a <= b` is `!(b < a)` unless the comparison is undefined (NaN).
            "$lte" => tri(js_less(expected, act) == Some(false)),
            "$gte" => tri(js_less(act, expected) == Some(false)),
            "$exists" => {
                let present = !absent && !act.is_null();
                tri(if js_truthy(expected) {
                    present
                } else {
                    !present
                })
            }
            "$in" | "$nin" | "$ini" | "$nini" => {
                let Some(list) = expected.as_array() else {
                    return Tri::False;
                };
                let insensitive = matches!(op, "$ini" | "$nini");
                let found = is_in(act, list, insensitive);
                tri(if op.starts_with("$n") { !found } else { found })
            }
            "$not" => self
                .value(expected, if absent { None } else { Some(act) }, depth + 1)
                .not(),
            "$size" => match act.as_array() {
                Some(items) => {
                    self.value(expected, Some(&Value::int(items.len() as i64)), depth + 1)
                }
                None => Tri::False,
            },
            "$elemMatch" => {
                let Some(items) = act.as_array() else {
                    return Tri::False;
                };
                let operator_form = expected.as_object().is_some_and(is_operator_object);
                let mut res = Tri::False;
                for item in items {
                    if !js_truthy(item) {
                        continue;
                    }
                    let r = if operator_form {
                        self.value(expected, Some(item), depth + 1)
                    } else {
                        self.condition(item, expected, depth + 1)
                    };
                    res = res.or(r);
                    if res == Tri::True {
                        break;
                    }
                }
                res
            }
            "$all" | "$alli" => {
                let Some(items) = act.as_array() else {
                    return Tri::False;
                };
                let Some(wanted) = expected.as_array() else {
                    return Tri::True;
                };
                let insensitive = op == "$alli";
                let folded_items = if insensitive {
                    fold_all(items)
                } else {
                    Vec::new()
                };
                let mut res = Tri::True;
                for want in wanted {
                    let folded_want = if insensitive { fold(want) } else { None };
                    let mut passed = Tri::False;
                    for (i, item) in items.iter().enumerate() {
                        let r = if insensitive {
                            tri(folded_eq(
                                item,
                                folded_items.get(i).and_then(Option::as_deref),
                                want,
                                folded_want.as_deref(),
                            ))
                        } else {
                            self.value(want, Some(item), depth + 1)
                        };
                        passed = passed.or(r);
                        if passed == Tri::True {
                            break;
                        }
                    }
                    res = res.and(passed);
                    if res == Tri::False {
                        break;
                    }
                }
                res
            }
            "$regex" | "$regexi" => self.regex_test(expected, op == "$regexi", act),
            "$notRegex" | "$notRegexi" => self.regex_test(expected, op == "$notRegexi", act).not(),
            "$type" => tri(expected.as_str() == Some(js_type(act))),
            // `$inGroup` / `$notInGroup` need GrowthBook's saved groups; v1 has segment
            // references instead. Unknown operators are false, as in GrowthBook.
            _ => Tri::False,
        }
    }
}

fn exists_test(v: &Value) -> Option<&Value> {
    v.as_object()
        .filter(|m| m.len() == 1)
        .and_then(|m| m.get("$exists"))
}

fn js_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "boolean",
        Value::Object(_) => "object",
    }
}

/// JavaScript truthiness.
pub(crate) fn js_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0 && !x.is_nan()),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// `String(v)` for JSON values (arrays join with `,`, objects are `[object Object]`).
pub(crate) fn js_to_string(v: &Value) -> String {
    let mut out = String::new();
    push_js_string(&mut out, v, 0);
    out
}

fn push_js_string(out: &mut String, v: &Value, depth: usize) {
    match v {
        Value::Null => out.push_str(if depth == 0 { "null" } else { "" }),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => push_js_number(out, n.as_str()),
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            if depth > 32 {
                return;
            }
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_js_string(out, item, depth + 1);
            }
        }
        Value::Object(_) => out.push_str("[object Object]"),
    }
}

/// The JavaScript `Number.prototype.toString` of a JSON number literal: canonical text is
/// kept; integers written with a fraction or exponent (`1.0`, `1e3`) are normalised.
fn push_js_number(out: &mut String, text: &str) {
    let simple = {
        let t = text.strip_prefix('-').unwrap_or(text);
        let (int, frac) = match split_once_byte(t, b'.') {
            Some((i, f)) => (i, Some(f)),
            None => (t, None),
        };
        !int.is_empty()
            && int.bytes().all(|b| b.is_ascii_digit())
            && (int == "0" || !int.starts_with('0'))
            && int.len() <= 21
            && frac.is_none_or(|f| {
                !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) && !f.ends_with('0')
            })
            && text != "-0"
    };
    if simple {
        out.push_str(text);
        return;
    }
    if find_byte(text, b'e').is_none()
        && find_byte(text, b'E').is_none()
        && find_byte(text, b'.').is_some()
    {
        let trimmed = trim_end_byte(trim_end_byte(text, b'0'), b'.');
        if trimmed != text && !trimmed.is_empty() && trimmed != "-" && trimmed != "-0" {
            push_js_number(out, trimmed);
            return;
        }
    }
    match crate::json::parse_f64(text) {
        Some(0.0) => out.push('0'),
        Some(x) if x == x.trunc() && x.abs() < 9.007_199_254_740_992e15 => push_i64(out, x as i64),
        _ => out.push_str(text),
    }
}

/// `JSON.stringify(v)` with JavaScript's canonical number text.
fn json_stringify(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(&mut out, v, 0);
    out
}

fn write_canonical(out: &mut String, v: &Value, depth: usize) {
    match v {
        Value::Number(n) => push_js_number(out, n.as_str()),
        Value::Array(items) if depth < 64 => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(out, item, depth + 1);
            }
            out.push(']');
        }
        Value::Object(map) if depth < 64 => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                crate::json::push_json_str(out, k);
                out.push(':');
                write_canonical(out, item, depth + 1);
            }
            out.push('}');
        }
        other => other.write_json(out),
    }
}

/// `ToNumber(v)`.
pub(crate) fn js_to_number(v: &Value) -> f64 {
    match v {
        Value::Null => 0.0,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        Value::String(s) => string_to_number(s),
        Value::Array(_) => string_to_number(&js_to_string(v)),
        Value::Object(_) => f64::NAN,
    }
}

/// `ToNumber(string)`: trimmed; empty is 0; decimal, `Infinity`, `0x`/`0o`/`0b` literals.
fn string_to_number(s: &str) -> f64 {
    // `trim_matches(|c| c.is_whitespace() || c == '\u{feff}')` without a predicate searcher.
    let mut t = s;
    loop {
        let u = trim_ws(t, true);
        let u = u.strip_prefix("\u{feff}").unwrap_or(u);
        let u = u.strip_suffix("\u{feff}").unwrap_or(u);
        if u.len() == t.len() {
            break;
        }
        t = u;
    }
    if t.is_empty() {
        return 0.0;
    }
    let radix = |prefix: [&str; 2], radix: u32| -> Option<f64> {
        let digits = t
            .strip_prefix(prefix[0])
            .or_else(|| t.strip_prefix(prefix[1]))?;
        if digits.is_empty() {
            return Some(f64::NAN);
        }
        let mut x = 0f64;
        for c in digits.chars() {
            let Some(d) = c.to_digit(radix) else {
                return Some(f64::NAN);
            };
            x = x * f64::from(radix) + f64::from(d);
        }
        Some(x)
    };
    if let Some(x) = radix(["0x", "0X"], 16)
        .or_else(|| radix(["0o", "0O"], 8))
        .or_else(|| radix(["0b", "0B"], 2))
    {
        return x;
    }
    let unsigned = t
        .strip_prefix("+")
        .or_else(|| t.strip_prefix("-"))
        .unwrap_or(t);
    if unsigned == "Infinity" {
        return if t.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
    }
    // Rust accepts "inf", "nan" and "infinity"; JavaScript only digits, '.', 'e' and signs.
    if !unsigned
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return f64::NAN;
    }
    crate::json::parse_f64(t).unwrap_or(f64::NAN)
}

/// The JavaScript abstract relational comparison `a < b`: `None` when undefined (NaN).
fn js_less(a: &Value, b: &Value) -> Option<bool> {
    // ToPrimitive: arrays become their string form, objects "[object Object]".
    let prim = |v: &Value| -> Value {
        match v {
            Value::Array(_) | Value::Object(_) => Value::String(js_to_string(v)),
            other => other.clone(),
        }
    };
    let (pa, pb) = (prim(a), prim(b));
    if let (Value::String(x), Value::String(y)) = (&pa, &pb) {
        // JavaScript compares UTF-16 code units.
        return Some(x.encode_utf16().lt(y.encode_utf16()));
    }
    let (x, y) = (js_to_number(&pa), js_to_number(&pb));
    if x.is_nan() || y.is_nan() {
        None
    } else {
        Some(x < y)
    }
}

/// `a === b` for values parsed from JSON: objects and arrays are never identical.
fn strict_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::String(x), Value::String(y)) => x == y,
        _ => false,
    }
}

/// A string's `toLowerCase()` (`$ini`, `$nini`, `$alli`); `None` for other values. Each side
/// of a comparison is folded once per operator: outside ASCII, folding asks the host.
fn fold(v: &Value) -> Option<String> {
    v.as_str().map(lower_str)
}

fn fold_all(values: &[Value]) -> Vec<Option<String>> {
    values.iter().map(fold).collect()
}

/// Case-insensitive equality of `a` and `b` given their [`fold`]s: strings by their lower
/// case, anything else strictly.
fn folded_eq(a: &Value, fa: Option<&str>, b: &Value, fb: Option<&str>) -> bool {
    match (fa, fb) {
        (Some(x), Some(y)) => x == y,
        _ => strict_eq(a, b),
    }
}

fn is_in(actual: &Value, list: &[Value], insensitive: bool) -> bool {
    if insensitive {
        let folded = fold_all(list);
        let hit = |x: &Value| {
            let fx = fold(x);
            list.iter()
                .zip(&folded)
                .any(|(y, fy)| folded_eq(x, fx.as_deref(), y, fy.as_deref()))
        };
        return match actual {
            Value::Array(items) => items.iter().any(hit),
            _ => hit(actual),
        };
    }
    match actual {
        Value::Array(items) => items
            .iter()
            .any(|el| list.iter().any(|exp| same_value_zero(el, exp))),
        _ => list.iter().any(|exp| same_value_zero(actual, exp)),
    }
}

/// `Array.prototype.includes` equality.
fn same_value_zero(a: &Value, b: &Value) -> bool {
    strict_eq(a, b)
}

/// GrowthBook's `paddedVersionString`.
fn padded_version(v: &Value) -> String {
    let text = match v {
        Value::Number(_) => js_to_string(v),
        Value::String(s) if !s.is_empty() => s.clone(),
        _ => "0".to_owned(),
    };
    // Remove a leading `v` and any build metadata after `+`.
    let mut s: &str = &text;
    if let Some(rest) = s.strip_prefix('v') {
        s = rest;
    }
    if let Some(idx) = find_byte(s, b'+') {
        s = s.get(..idx).unwrap_or(s);
    }
    // `s.split(['-', '.'])` on bytes (see `json::find_byte`).
    let mut parts: Vec<&str> = split_byte(s, b'-')
        .flat_map(|p| split_byte(p, b'.'))
        .collect();
    if parts.len() == 3 {
        parts.push("~");
    }
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push('-');
        }
        if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
            for _ in part.len()..5 {
                out.push(' ');
            }
        }
        out.push_str(part);
    }
    out
}

#[cfg(test)]
mod tests;
