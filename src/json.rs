//! JSON values: an order-preserving tree, a parser and a writer. Pure: no I/O.
//!
//! Why not serde: in the wasm build serde + a JSON crate cost about 17–20 KB gzip
//! (`wasm-size-lab.md`), most of it float and `Debug` formatting. This module has none:
//! numbers keep the exact text JavaScript produced (`JSON.stringify`), so writing them back
//! needs no float formatting, and parsing them to `f64` happens only where a comparison
//! needs it.
//!
//! # Untrusted input
//! [`parse`] never panics, whatever the input: nesting is limited to [`MAX_DEPTH`] and every
//! error is a [`ParseError`] value.

use std::fmt;

/// Deepest nesting [`parse`] accepts; deeper input is an error, not a stack overflow.
pub const MAX_DEPTH: usize = 128;

/// A JSON value. Objects keep their keys in insertion order, as JavaScript does.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Value {
    /// `null`
    #[default]
    Null,
    /// `true` / `false`
    Bool(bool),
    /// A number, kept as its JSON text.
    Number(Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object.
    Object(Map),
}

/// A JSON number kept as text (the canonical form JavaScript printed).
///
/// Invariant: the text is a valid JSON number literal.
#[derive(Clone, Debug)]
pub struct Number(Box<str>);

impl Number {
    /// A number from an integer (formatted by hand: no `core::fmt` in the wasm).
    pub fn from_i64(n: i64) -> Number {
        let mut out = String::new();
        push_i64(&mut out, n);
        Number(out.into_boxed_str())
    }

    /// A number from an `f64`. Integers up to 2^53 are exact; other values fall back to
    /// a decimal expansion with up to 9 fractional digits (enough for ratios and sums the
    /// engine produces; user-provided numbers keep their original text).
    pub fn from_f64(x: f64) -> Option<Number> {
        if !x.is_finite() {
            return None;
        }
        if x == x.trunc() && x.abs() < 9.007_199_254_740_992e15 {
            return Some(Number::from_i64(x as i64));
        }
        let mut out = String::new();
        if x < 0.0 {
            out.push('-');
        }
        let abs = x.abs();
        let int_part = abs.trunc();
        if int_part >= 9.007_199_254_740_992e15 {
            return None;
        }
        push_i64(&mut out, int_part as i64);
        let mut frac = ((abs - int_part) * 1e9).round() as i64;
        if frac >= 1_000_000_000 {
            frac = 999_999_999;
        }
        if frac > 0 {
            out.push('.');
            let mut digits = [b'0'; 9];
            let mut f = frac;
            for slot in digits.iter_mut().rev() {
                *slot = b'0' + (f % 10) as u8;
                f /= 10;
            }
            let mut end = 9;
            while end > 0 && digits[end - 1] == b'0' {
                end -= 1;
            }
            for &d in &digits[..end] {
                out.push(d as char);
            }
        }
        Some(Number(out.into_boxed_str()))
    }

    /// The number's JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number as `f64` (always `Some` for text produced by [`parse`]).
    pub fn as_f64(&self) -> Option<f64> {
        parse_f64(&self.0)
    }
}

/// Parses a JSON number literal without `core::num::dec2flt` (whose tables cost ~12 KB of
/// wasm). Exact (correctly rounded) whenever the significant digits fit in 2^53 and the
/// decimal exponent is within ±22 — Clinger's fast path, which covers the numbers analytics
/// payloads carry; other inputs (huge exponents, over 15 significant digits) are
/// approximate, with a relative error below 1e-12.
pub fn parse_f64(text: &str) -> Option<f64> {
    const POW10: [f64; 23] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
        1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];
    let bytes = text.as_bytes();
    let mut i = 0;
    let negative = bytes.first() == Some(&b'-');
    // A leading '+' is not JSON, but JavaScript's Number() accepts it.
    if negative || bytes.first() == Some(&b'+') {
        i += 1;
    }
    let mut mantissa: u64 = 0;
    let mut exp10: i64 = 0;
    let mut seen_digit = false;
    let mut in_fraction = false;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'0'..=b'9' => {
                seen_digit = true;
                if mantissa < 1_000_000_000_000_000_000 {
                    mantissa = mantissa * 10 + u64::from(b - b'0');
                    if in_fraction {
                        exp10 -= 1;
                    }
                } else if !in_fraction {
                    // Digits beyond u64 precision only scale the value.
                    exp10 += 1;
                }
            }
            b'.' if !in_fraction => in_fraction = true,
            b'e' | b'E' => break,
            _ => return None,
        }
        i += 1;
    }
    if !seen_digit {
        return None;
    }
    if let Some(b'e' | b'E') = bytes.get(i) {
        i += 1;
        let exp_negative = bytes.get(i) == Some(&b'-');
        if let Some(b'+' | b'-') = bytes.get(i) {
            i += 1;
        }
        let mut e: i64 = 0;
        let start = i;
        while let Some(&b @ b'0'..=b'9') = bytes.get(i) {
            e = (e * 10 + i64::from(b - b'0')).min(100_000);
            i += 1;
        }
        if i == start {
            return None;
        }
        exp10 += if exp_negative { -e } else { e };
    }
    if i != bytes.len() {
        return None;
    }
    let m = mantissa as f64;
    let value = if mantissa == 0 {
        0.0
    } else if (0..=22).contains(&exp10) && mantissa < (1u64 << 53) {
        m * POW10[exp10 as usize]
    } else if (-22..0).contains(&exp10) && mantissa < (1u64 << 53) {
        m / POW10[(-exp10) as usize]
    } else {
        // Slow path: scale step by step (rare in analytics data).
        let mut v = m;
        let mut e = exp10;
        while e > 22 {
            v *= 1e22;
            e -= 22;
        }
        while e < -22 {
            v /= 1e22;
            e += 22;
        }
        if e >= 0 {
            v * POW10[e as usize]
        } else {
            v / POW10[(-e) as usize]
        }
    };
    Some(if negative { -value } else { value })
}

impl PartialEq for Number {
    fn eq(&self, other: &Number) -> bool {
        self.0 == other.0 || (self.as_f64().is_some() && self.as_f64() == other.as_f64())
    }
}

/// An insertion-ordered JSON object. Lookups are linear: analytics payloads are small.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Map(Vec<(String, Value)>);

impl Map {
    /// An empty object.
    pub fn new() -> Map {
        Map(Vec::new())
    }
    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    /// A mutable reference to the value under `key`.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.0.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v)
    }
    /// Sets `key`, keeping its position when it already exists (as JS assignment does).
    pub fn insert(&mut self, key: impl Into<String>, value: Value) {
        let key = key.into();
        match self.get_mut(&key) {
            Some(slot) => *slot = value,
            None => self.0.push((key, value)),
        }
    }
    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let idx = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(idx).1)
    }
    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
    /// Number of keys.
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Whether the object has no keys.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Keys and values in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }
    /// Appends the object as compact JSON.
    pub fn write_json(&self, out: &mut String) {
        out.push_str(&self.to_json());
    }

    /// The object as compact JSON.
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(1024);
        self.emit(&mut out);
        into_string(out)
    }

    pub(crate) fn emit(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        for (i, (k, v)) in self.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            emit_json_str(out, k);
            out.push(b':');
            v.emit(out);
        }
        out.push(b'}');
    }

    /// Shallow merge: every key of `other` overwrites (`{...self, ...other}`).
    pub fn extend(&mut self, other: Map) {
        for (k, v) in other.0 {
            self.insert(k, v);
        }
    }
}

impl FromIterator<(String, Value)> for Map {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Map {
        let mut map = Map::new();
        for (k, v) in iter {
            map.insert(k, v);
        }
        map
    }
}

impl Value {
    /// A string value.
    pub fn str(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }
    /// An integer value.
    pub fn int(n: i64) -> Value {
        Value::Number(Number::from_i64(n))
    }
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
    /// The object, if this is one.
    pub fn as_object(&self) -> Option<&Map> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }
    /// The mutable object, if this is one.
    pub fn as_object_mut(&mut self) -> Option<&mut Map> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }
    /// The array, if this is one.
    pub fn as_array(&self) -> Option<&Vec<Value>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }
    /// The number as `f64`, if this is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => n.as_f64(),
            _ => None,
        }
    }
    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
    /// `self[key]` for objects, `None` otherwise.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.as_object().and_then(|m| m.get(key))
    }
    /// Follows a dot path (`"company.employees"`) through nested objects.
    pub fn pointer_dot(&self, path: &str) -> Option<&Value> {
        let mut cur = self;
        for part in split_byte(path, b'.') {
            cur = cur.get(part)?;
        }
        Some(cur)
    }

    /// Serializes as compact JSON (the same text `JSON.stringify` gives for the same tree).
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(256);
        self.emit(&mut out);
        into_string(out)
    }

    /// Appends compact JSON to `out`.
    pub fn write_json(&self, out: &mut String) {
        out.push_str(&self.to_json());
    }

    /// The writer behind [`Value::to_json`]: bytes, because pushing ASCII punctuation to a
    /// `Vec<u8>` is a plain store while `String::push(char)` encodes UTF-8 every time.
    pub(crate) fn emit(&self, out: &mut Vec<u8>) {
        match self {
            Value::Null => out.extend_from_slice(b"null"),
            Value::Bool(true) => out.extend_from_slice(b"true"),
            Value::Bool(false) => out.extend_from_slice(b"false"),
            Value::Number(n) => out.extend_from_slice(n.as_str().as_bytes()),
            Value::String(s) => emit_json_str(out, s),
            Value::Array(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    item.emit(out);
                }
                out.push(b']');
            }
            Value::Object(map) => map.emit(out),
        }
    }
}

/// Bytes written by the emitters, as text. They are UTF-8 by construction: copied from
/// `&str`s and ASCII (`emit_json_str` splits only at ASCII bytes, never inside a multi-byte
/// character; numbers, timestamps and ids are ASCII digits and hex). Debug builds (every
/// native test) check it; the wasm does not: `from_utf8`'s validation was the only reason
/// its ~0.6 KB of code was in the script-tag wasm (−474 B gzip with [`ascii_str`],
/// measured 2026-12-07).
pub(crate) fn into_string(bytes: Vec<u8>) -> String {
    debug_assert!(std::str::from_utf8(&bytes).is_ok());
    // SAFETY: UTF-8 by construction (above).
    unsafe { String::from_utf8_unchecked(bytes) }
}

/// ASCII bytes written by hand (digits, timestamps), as text: checked in debug builds, as
/// [`into_string`].
pub(crate) fn ascii_str(bytes: &[u8]) -> &str {
    debug_assert!(bytes.is_ascii());
    // SAFETY: ASCII is UTF-8; the callers write only ASCII.
    unsafe { std::str::from_utf8_unchecked(bytes) }
}

impl From<Map> for Value {
    fn from(m: Map) -> Value {
        Value::Object(m)
    }
}

/// Appends `s` as a JSON string literal, escaped as `JSON.stringify` escapes it.
pub fn push_json_str(out: &mut String, s: &str) {
    let mut bytes = Vec::with_capacity(s.len() + 2);
    emit_json_str(&mut bytes, s);
    out.push_str(&into_string(bytes));
}

/// [`push_json_str`] on bytes. Runs of bytes that need no escape are copied whole (this is
/// the hot path of every event).
pub(crate) fn emit_json_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut run_start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b >= 0x20 && b != b'"' && b != b'\\' {
            continue;
        }
        out.extend_from_slice(bytes.get(run_start..i).unwrap_or_default());
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 15)]);
            }
        }
        run_start = i + 1;
    }
    out.extend_from_slice(bytes.get(run_start..).unwrap_or_default());
    out.push(b'"');
}

/// The top-level items of a JSON array text, as slices of it, found without parsing them:
/// only strings (with their escapes) and bracket depth are followed, nothing is validated.
/// For text `JSON.stringify` wrote (no whitespace). `None` when `text` is not one array, or
/// when it nests deeper than [`parse`] accepts (its callers then parse it, and refuse it).
pub fn array_items(text: &str) -> Option<Vec<&str>> {
    let bytes = text.as_bytes();
    if bytes.first() != Some(&b'[') {
        return None;
    }
    let mut items = Vec::with_capacity(4);
    let (mut depth, mut strings, mut start) = (0u32, Strings::default(), 1);
    for (i, &b) in bytes.iter().enumerate().skip(1) {
        if strings.step(b) {
            continue;
        }
        match b {
            b'[' | b'{' => {
                depth += 1;
                if depth as usize >= MAX_DEPTH {
                    return None;
                }
            }
            b',' | b']' if depth == 0 => {
                let item = text.get(start..i)?;
                if b == b']' {
                    // The closing bracket must end the text; `[]` has no items.
                    if i + 1 != bytes.len() || (item.is_empty() && !items.is_empty()) {
                        return None;
                    }
                    if !item.is_empty() {
                        items.push(item);
                    }
                    return Some(items);
                }
                items.push(item);
                start = i + 1;
            }
            b']' | b'}' => depth = depth.checked_sub(1)?,
            _ => {}
        }
    }
    None
}

/// Follows JSON strings byte by byte (for scanners that skip over values without parsing).
#[derive(Default)]
struct Strings {
    inside: bool,
    escaped: bool,
}

impl Strings {
    /// Takes the next byte; `true` when it belongs to a string, quotes included.
    fn step(&mut self, b: u8) -> bool {
        if self.inside {
            if self.escaped {
                self.escaped = false;
            } else if b == b'\\' {
                self.escaped = true;
            } else if b == b'"' {
                self.inside = false;
            }
            return true;
        }
        self.inside = b == b'"';
        self.inside
    }
}

/// Appends a decimal integer (no `core::fmt`).
pub fn push_i64(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    push_u64(out, n.unsigned_abs());
}

/// `s.find(sep)` for an ASCII `sep`, on bytes. `str`'s char patterns (`split(';')`,
/// `split_once('=')`, `contains('?')`, `replace('+', " ")`) each bring a char searcher and
/// `memchr` (≈ 1.5 KB of wasm together); these byte helpers give the same results for an
/// ASCII separator. For the same reason prefixes and suffixes are `&str` patterns
/// (`strip_prefix("?")`, not `'?'`).
pub fn find_byte(s: &str, sep: u8) -> Option<usize> {
    // A plain loop: `position` gets unrolled into several times this code.
    let bytes = s.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == sep {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Byte offset of `needle` in `haystack` (a plain scan: `str::find` with a `&str` pattern
/// pulls the Two-Way searcher into the wasm, and our needles are a few bytes long).
pub fn find_sub(haystack: &str, needle: &str) -> Option<usize> {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    if n.is_empty() {
        return Some(0);
    }
    h.windows(n.len()).position(|w| w == n)
}

/// `s.trim_end_matches(b)` for an ASCII `b` (no char searcher: see [`find_byte`]).
pub fn trim_end_byte(s: &str, b: u8) -> &str {
    let mut end = s.len();
    while end > 0 && s.as_bytes().get(end - 1) == Some(&b) {
        end -= 1;
    }
    s.get(..end).unwrap_or(s)
}

/// `s.split_once(sep)` for an ASCII `sep` (see [`find_byte`]).
pub fn split_once_byte(s: &str, sep: u8) -> Option<(&str, &str)> {
    let i = find_byte(s, sep)?;
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// `s.split(sep)` for an ASCII `sep` (see [`find_byte`]).
pub fn split_byte(s: &str, sep: u8) -> SplitByte<'_> {
    SplitByte { rest: Some(s), sep }
}

/// The iterator of [`split_byte`].
#[derive(Debug, Clone)]
pub struct SplitByte<'a> {
    rest: Option<&'a str>,
    sep: u8,
}

impl<'a> Iterator for SplitByte<'a> {
    type Item = &'a str;
    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest?;
        match split_once_byte(rest, self.sep) {
            Some((head, tail)) => {
                self.rest = Some(tail);
                Some(head)
            }
            None => {
                self.rest = None;
                Some(rest)
            }
        }
    }
}

/// `s.replace(from, to)` for an ASCII `from` (see [`find_byte`]).
pub fn replace_byte(s: &str, from: u8, to: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, part) in split_byte(s, from).enumerate() {
        if i > 0 {
            out.push_str(to);
        }
        out.push_str(part);
    }
    out
}

/// `s.trim()` (`both`) or `s.trim_start()`: the same `char::is_whitespace` rule in one
/// forward pass, instead of std's two generic searchers.
pub fn trim_ws(s: &str, both: bool) -> &str {
    let (mut start, mut end) = (s.len(), s.len());
    let mut seen = false;
    for (i, c) in s.char_indices() {
        if !c.is_whitespace() {
            if !seen {
                seen = true;
                start = i;
            }
            end = i + c.len_utf8();
        }
    }
    s.get(start..if both { end } else { s.len() }).unwrap_or("")
}

/// `parts.join(sep)` for string slices. `[..].concat()` and `join` go through std's
/// `join_generic_copy` (≈ 0.9 KB of wasm); this loop is a fraction of that.
#[inline(never)]
pub fn join(parts: &[&str], sep: &str) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len() + sep.len()).sum());
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        out.push_str(part);
    }
    out
}

/// `parts.concat()` for string slices (see [`join`]).
pub fn concat(parts: &[&str]) -> String {
    join(parts, "")
}

/// Reads a decimal unsigned integer exactly as `str::parse::<u64>` does (an optional `+`,
/// then digits, no overflow); narrower types go through `try_from`, which keeps their
/// `parse` semantics. One instance of the parser instead of one per integer type.
#[inline(never)]
pub fn parse_u64(text: &str) -> Option<u64> {
    let digits = text.strip_prefix("+").unwrap_or(text);
    if digits.is_empty() {
        return None;
    }
    let mut n: u64 = 0;
    for &b in digits.as_bytes() {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    Some(n)
}

/// Reads a decimal `u32` as `str::parse::<u32>` does (see [`parse_u64`]).
pub fn parse_u32(text: &str) -> Option<u32> {
    u32::try_from(parse_u64(text)?).ok()
}

/// Appends a decimal unsigned integer (no `core::fmt`).
pub fn push_u64(out: &mut String, n: u64) {
    let mut bytes = Vec::with_capacity(20);
    write_u64(&mut bytes, n, 1);
    // ASCII digits: one copy instead of a `String::push` (UTF-8 encode) per digit.
    out.push_str(ascii_str(&bytes));
}

/// Appends `n` in decimal, zero-padded to at least `width` (≤ 20) digits.
pub(crate) fn write_u64(out: &mut Vec<u8>, mut n: u64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(
        buf.get(i.min(buf.len().saturating_sub(width))..)
            .unwrap_or_default(),
    );
}

/// Why a JSON text was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The input ended inside a value.
    UnexpectedEnd,
    /// A character that cannot start or continue a value here.
    UnexpectedChar,
    /// A malformed number literal.
    BadNumber,
    /// A malformed escape sequence.
    BadEscape,
    /// Nesting deeper than [`MAX_DEPTH`].
    TooDeep,
    /// Non-whitespace after the value.
    TrailingCharacters,
}

impl ParseError {
    /// A short, lowercase description.
    pub fn message(self) -> &'static str {
        match self {
            ParseError::UnexpectedEnd => "unexpected end of JSON input",
            ParseError::UnexpectedChar => "unexpected character in JSON",
            ParseError::BadNumber => "malformed number in JSON",
            ParseError::BadEscape => "malformed escape in JSON string",
            ParseError::TooDeep => "JSON nested too deeply",
            ParseError::TrailingCharacters => "trailing characters after JSON value",
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for ParseError {}

/// Parses one JSON text.
///
/// # Errors
/// Any malformed input, nesting deeper than [`MAX_DEPTH`], or trailing characters.
pub fn parse(text: &str) -> Result<Value, ParseError> {
    parse_enveloped(text, 0)
}

/// [`parse`] with room for `levels` more nesting: for a body that wraps values which were
/// limited to [`MAX_DEPTH`] themselves (a batch request: body, `batch` array, event).
///
/// # Errors
/// As [`parse`], with the deeper limit.
pub fn parse_enveloped(text: &str, levels: usize) -> Result<Value, ParseError> {
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        max_depth: MAX_DEPTH + levels,
        #[cfg(feature = "segments")]
        skip: &[],
    };
    p.finish()
}

/// [`parse`], except that the values of the top-level object members named in `skip` are
/// stepped over, not parsed (only strings and bracket depth are followed; nothing inside them
/// is validated), and those members are left out. For a large member the reader does not
/// need, such as an event's `context` in the segment engine.
///
/// Only in builds with the segment engine: the script-tag wasm's parser has no skipping.
///
/// # Errors
/// As [`parse`], for everything outside the skipped values.
#[cfg(feature = "segments")]
pub fn parse_without(text: &str, skip: &[&str]) -> Result<Value, ParseError> {
    Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        max_depth: MAX_DEPTH,
        skip,
    }
    .finish()
}

struct Parser<'a> {
    /// The input; `bytes` is the same text. Slices of it are taken with `str::get` (a char
    /// boundary check), not `from_utf8` (a validation of text that is already a `str`).
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    max_depth: usize,
    /// Top-level member names whose values are skipped ([`parse_without`]).
    #[cfg(feature = "segments")]
    skip: &'a [&'a str],
}

impl Parser<'_> {
    /// The whole text as one value.
    fn finish(&mut self) -> Result<Value, ParseError> {
        self.skip_ws();
        let value = self.value(0)?;
        self.skip_ws();
        if self.pos != self.bytes.len() {
            return Err(ParseError::TrailingCharacters);
        }
        Ok(value)
    }

    /// Whether the value of member `key` at `depth` is stepped over ([`parse_without`]).
    #[cfg(feature = "segments")]
    fn skips(&self, depth: usize, key: &str) -> bool {
        depth == 0 && self.skip.contains(&key)
    }

    #[cfg(not(feature = "segments"))]
    fn skips(&self, _: usize, _: &str) -> bool {
        false
    }

    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.pos += 1;
        }
    }

    fn expect_lit(&mut self, lit: &[u8], value: Value) -> Result<Value, ParseError> {
        let end = self.pos + lit.len();
        match self.bytes.get(self.pos..end) {
            Some(s) if s == lit => {
                self.pos = end;
                Ok(value)
            }
            Some(_) => Err(ParseError::UnexpectedChar),
            None => Err(ParseError::UnexpectedEnd),
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, ParseError> {
        if depth > self.max_depth {
            return Err(ParseError::TooDeep);
        }
        match self.peek() {
            None => Err(ParseError::UnexpectedEnd),
            Some(b'n') => self.expect_lit(b"null", Value::Null),
            Some(b't') => self.expect_lit(b"true", Value::Bool(true)),
            Some(b'f') => self.expect_lit(b"false", Value::Bool(false)),
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b'[') => {
                self.pos += 1;
                let mut items = Vec::new();
                self.skip_ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                loop {
                    self.skip_ws();
                    items.push(self.value(depth + 1)?);
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Value::Array(items));
                        }
                        Some(_) => return Err(ParseError::UnexpectedChar),
                        None => return Err(ParseError::UnexpectedEnd),
                    }
                }
            }
            Some(b'{') => {
                self.pos += 1;
                let mut map = Map::new();
                self.skip_ws();
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                    return Ok(Value::Object(map));
                }
                loop {
                    self.skip_ws();
                    if self.peek() != Some(b'"') {
                        return Err(self.unexpected());
                    }
                    let key = self.string()?;
                    self.skip_ws();
                    if self.peek() != Some(b':') {
                        return Err(self.unexpected());
                    }
                    self.pos += 1;
                    self.skip_ws();
                    if self.skips(depth, &key) {
                        self.skip_value()?;
                    } else {
                        let value = self.value(depth + 1)?;
                        // Duplicate keys: the last one wins, as in JSON.parse.
                        map.insert(key, value);
                    }
                    self.skip_ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(Value::Object(map));
                        }
                        Some(_) => return Err(ParseError::UnexpectedChar),
                        None => return Err(ParseError::UnexpectedEnd),
                    }
                }
            }
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(ParseError::UnexpectedChar),
        }
    }

    /// Steps over one value: to the `,` or closing bracket after it, or past its closing
    /// quote or bracket.
    fn skip_value(&mut self) -> Result<(), ParseError> {
        let (mut depth, mut strings) = (0u32, Strings::default());
        while let Some(b) = self.peek() {
            self.pos += 1;
            if strings.step(b) {
                // Past the closing quote of a string value.
                if depth == 0 && !strings.inside {
                    return Ok(());
                }
                continue;
            }
            match b {
                b'[' | b'{' => depth += 1,
                b']' | b'}' | b',' if depth == 0 => {
                    // The end of a scalar: the separator belongs to the enclosing object.
                    self.pos -= 1;
                    return Ok(());
                }
                b']' | b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                _ => {}
            }
        }
        Err(ParseError::UnexpectedEnd)
    }

    fn unexpected(&self) -> ParseError {
        if self.pos >= self.bytes.len() {
            ParseError::UnexpectedEnd
        } else {
            ParseError::UnexpectedChar
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<Value, ParseError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let int_start = self.pos;
        let n_int = self.digits();
        if n_int == 0 || (n_int > 1 && self.bytes.get(int_start) == Some(&b'0')) {
            return Err(ParseError::BadNumber);
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(ParseError::BadNumber);
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(ParseError::BadNumber);
            }
        }
        // ASCII digits, signs, '.' and 'e' only: char boundaries at both ends.
        let text = self
            .text
            .get(start..self.pos)
            .ok_or(ParseError::BadNumber)?;
        Ok(Value::Number(Number(text.into())))
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let mut n = 0u32;
        for _ in 0..4 {
            let b = self.peek().ok_or(ParseError::UnexpectedEnd)?;
            let d = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ => return Err(ParseError::BadEscape),
            };
            n = n * 16 + u32::from(d);
            self.pos += 1;
        }
        Ok(n)
    }

    fn string(&mut self) -> Result<String, ParseError> {
        // Precondition: at the opening quote.
        self.pos += 1;
        let mut out = String::new();
        loop {
            let run_start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            // Runs start after and stop before ASCII bytes: char boundaries at both ends.
            let run = self
                .text
                .get(run_start..self.pos)
                .ok_or(ParseError::UnexpectedChar)?;
            out.push_str(run);
            match self.peek() {
                None => return Err(ParseError::UnexpectedEnd),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let esc = self.peek().ok_or(ParseError::UnexpectedEnd)?;
                    self.pos += 1;
                    match esc {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let c = if (0xD800..0xDC00).contains(&hi) {
                                // A high surrogate: pair it with a following low one, else U+FFFD.
                                if self.bytes.get(self.pos..self.pos + 2) == Some(b"\\u") {
                                    let save = self.pos;
                                    self.pos += 2;
                                    let lo = self.hex4()?;
                                    if (0xDC00..0xE000).contains(&lo) {
                                        char::from_u32(
                                            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00),
                                        )
                                    } else {
                                        self.pos = save;
                                        None
                                    }
                                } else {
                                    None
                                }
                            } else {
                                char::from_u32(hi)
                            };
                            out.push(c.unwrap_or('\u{FFFD}'));
                        }
                        _ => return Err(ParseError::BadEscape),
                    }
                }
                Some(_) => return Err(ParseError::UnexpectedChar),
            }
        }
    }
}

#[cfg(test)]
mod tests;
