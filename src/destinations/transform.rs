//! Routing-rule transformers, as `@segment/tsub` 2.0.1 applies them to one event: `drop`,
//! `drop_properties`, `allow_properties`, `map_properties` (`copy`, `move`, `set`,
//! `to_string`), `sample_event` (by a field's MD5, or at random), `hash_properties`
//! (ignored, as tsub ignores it). Pure: no I/O; randomness comes in as a closure.

use super::js::{self, get_in, Js, Thrown};
use super::md5::md5_hex;
use crate::json::Value;

/// Applies `transformers` (a rule's list for one matcher) to `payload` in place. `Ok(false)`:
/// the event is dropped. `random` stands for `Math.random()`.
///
/// # Errors
/// Where tsub throws: an unknown transformer, a missing `config`, a `null` on a `set` path.
pub fn transform(
    payload: &mut Value,
    transformers: &Value,
    random: &mut impl FnMut() -> f64,
) -> Result<bool, Thrown> {
    let list = match transformers {
        Value::Array(list) => list,
        Value::String(s) if s.is_empty() => return Ok(true),
        _ => return Err(Thrown("transformers are not a list")),
    };
    for t in list {
        if t.is_null() {
            return Err(Thrown("cannot read 'type' of null"));
        }
        let config = || t.get("config").ok_or(Thrown("transformer without config"));
        match t.get("type").and_then(Value::as_str) {
            Some("drop") => return Ok(false),
            Some("drop_properties") => filter(payload, config()?.get("drop"), false)?,
            Some("allow_properties") => filter(payload, config()?.get("allow"), true)?,
            Some("sample_event") => {
                if !sample(payload, config()?.get("sample"), random)? {
                    return Ok(false);
                }
            }
            Some("map_properties") => map_properties(payload, config()?.get("map"))?,
            Some("hash_properties") => {}
            _ => return Err(Thrown("unsupported transformer")),
        }
    }
    Ok(true)
}

/// `drop_properties` (`allow` false) / `allow_properties`: for each `path: [keys]`, the
/// object at the path (each element when it is an array; `""` is the event) loses the
/// listed keys, or keeps only them.
fn filter(payload: &mut Value, rules: Option<&Value>, allow: bool) -> Result<(), Thrown> {
    let Some(Value::Object(rules)) = rules else {
        return Err(Thrown("properties filter without rules"));
    };
    for path in js::keys(rules) {
        let Some(targets) = rules.get(path) else {
            continue;
        };
        let found = if path.is_empty() {
            Some(&mut *payload)
        } else {
            get_mut(payload, path)
        };
        let Some(found) = found else {
            continue;
        };
        let objects: Vec<&mut Value> = match found {
            Value::Array(items) => items.iter_mut().collect(),
            other => vec![other],
        };
        for obj in objects {
            if !matches!(obj, Value::Object(_) | Value::Array(_)) {
                continue;
            }
            let keys: Vec<String> = match &*obj {
                Value::Object(m) => js::keys(m).into_iter().map(str::to_owned).collect(),
                Value::Array(a) => (0..a.len()).map(js::index_key).collect(),
                _ => Vec::new(),
            };
            let listed = |key: &str| -> Result<bool, Thrown> {
                match targets {
                    Value::Array(list) => {
                        Ok(list.iter().any(|t| key_of(t).as_deref() == Some(key)))
                    }
                    // `"abc".includes(key)`: a substring test.
                    Value::String(s) if allow => Ok(s.contains(key)),
                    _ => Err(Thrown("filter targets are not a list")),
                }
            };
            if allow {
                for key in keys {
                    if !listed(&key)? {
                        js::delete(obj, &key);
                    }
                }
            } else {
                let Value::Array(list) = targets else {
                    return Err(Thrown("filter targets are not a list"));
                };
                for target in list.iter().filter_map(key_of) {
                    js::delete(obj, &target);
                }
            }
        }
    }
    Ok(())
}

/// A property key as JavaScript makes one from a list element.
fn key_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(_) | Value::Bool(_) | Value::Null => Some(js::stringify_primitive(v)),
        _ => None,
    }
}

/// `dlv` for writing: the value at a path, when every step exists.
fn get_mut<'a>(v: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    let mut cur = v;
    for key in path.split('.') {
        cur = match cur {
            Value::Object(m) => m.get_mut(key)?,
            Value::Array(items) => items.get_mut(js::index(key)?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// `sample_event`: kept when `percent >= 1`, dropped when `<= 0`; otherwise by the MD5 of
/// the JSON of the field at `path` (the same answer for the same value), or at random.
fn sample(
    payload: &Value,
    config: Option<&Value>,
    random: &mut impl FnMut() -> f64,
) -> Result<bool, Thrown> {
    let Some(config @ Value::Object(_)) = config else {
        return Err(Thrown("sample_event without sample"));
    };
    let percent = match Js::of(config.get("percent")) {
        Js::Num(x) => x,
        Js::Null => 0.0,
        Js::Bool(b) => f64::from(u8::from(b)),
        Js::Str(s) => {
            let t = s.trim_matches(js::is_js_space);
            if t.is_empty() {
                0.0
            } else {
                crate::json::parse_f64(t).unwrap_or(f64::NAN)
            }
        }
        _ => f64::NAN,
    };
    if percent <= 0.0 {
        return Ok(false);
    }
    if percent >= 1.0 {
        return Ok(true);
    }
    match Js::of(config.get("path")) {
        path if path.truthy() => {
            let path = match &path {
                Js::Str(s) => String::from(s.as_ref()),
                _ => return Ok(consistent(&Js::Ref(payload), percent)),
            };
            Ok(consistent(&get_in(payload, &path), percent))
        }
        _ => Ok(random() <= percent),
    }
}

/// tsub's `sampleConsistentPercent`, faithfully: the digest is MD5's hex *text*, whose
/// characters go through a bit loop that reads a digit as its value and a letter as 0
/// (JavaScript's `"a" - 128` is NaN), 8 bits a character; the rest follows Segment's
/// sampler (a significand of 64 bits, its leading zeros shifted away, the last bit flipped,
/// scaled by 2^exponent).
fn consistent(field: &Js<'_>, percent: f64) -> bool {
    let text = match field.to_value() {
        Some(v) => js::stringify(&v),
        // JSON.stringify(undefined) is undefined, which the hash reads as "undefined".
        None => String::from("undefined"),
    };
    let digest = md5_hex(text.as_bytes());
    let bits = |chars: &[u8], out: &mut Vec<u8>| {
        for i in 0..8 {
            let v = chars
                .get(i)
                .and_then(|c| (*c as char).to_digit(10))
                .unwrap_or(0);
            for shift in (0..8).rev() {
                out.push(((v >> shift) & 1) as u8);
            }
        }
    };
    let d = digest.as_bytes();
    let mut significand = Vec::with_capacity(64);
    bits(&d[..8], &mut significand);
    let mut exponent: i32 = -64;
    let leading = significand.iter().take_while(|b| **b == 0).count();
    if leading != 0 {
        let mut val = Vec::with_capacity(64);
        bits(&d[9..16], &mut val);
        exponent -= leading as i32;
        significand.drain(..leading);
        val.truncate(64 - leading);
        significand.extend(val);
    }
    // `significand[63]` flipped: on an array shorter than 64 this sets a 1 after holes,
    // which join('') turns into nothing.
    let mut n: u64 = 0;
    if significand.len() < 64 {
        n = 1;
    } else {
        for (i, b) in significand.iter().enumerate() {
            let b = if i == 63 { 1 - b } else { *b };
            n = (n << 1) | u64::from(b);
        }
    }
    // parseInt(binary, 2) rounds to the nearest double (ties to even), as `as f64` does.
    (n as f64) * pow2(exponent) < percent
}

/// 2^e for the sampler's exponents (-128..=-64), exactly.
fn pow2(e: i32) -> f64 {
    let mut x = 1.0;
    for _ in 0..e.unsigned_abs() {
        x *= if e < 0 { 0.5 } else { 2.0 };
    }
    x
}

/// `map_properties`: for each `path: {copy | move | set, to_string}`, reading values as
/// they were before any change (tsub copies the event first).
fn map_properties(payload: &mut Value, map: Option<&Value>) -> Result<(), Thrown> {
    let initial = payload.clone();
    let entries: Vec<(String, &Value)> = match map {
        Some(Value::Object(m)) => js::keys(m)
            .into_iter()
            .filter_map(|k| Some((k.to_owned(), m.get(k)?)))
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (js::index_key(i), v))
            .collect(),
        _ => Vec::new(),
    };
    for (key, action) in entries {
        if action.is_null() {
            return Err(Thrown("cannot read a map action of null"));
        }
        let parent = match key.rsplit_once('.') {
            Some((head, _)) => get_in(&initial, head),
            None => Js::Ref(payload),
        };
        if !matches!(parent, Js::Null | Js::Ref(_)) {
            continue;
        }
        let from = |name: &str| -> Option<Js<'_>> {
            let v = Js::of(action.get(name));
            v.truthy().then_some(v)
        };
        if let Some(copy) = from("copy") {
            if let Some(v) = path_in(&initial, &copy).to_value() {
                js::set(payload, &key, v)?;
            }
        } else if let Some(mv) = from("move") {
            if let Some(v) = path_in(&initial, &mv).to_value() {
                js::set(payload, &key, v)?;
            }
            // A non-string path names the whole event, which `unset` cannot delete.
            if let Js::Str(p) = &mv {
                js::unset(payload, p)?;
            }
        } else if let Some(v) = action.get("set") {
            js::set(payload, &key, v.clone())?;
        }
        if Js::of(action.get("to_string")).truthy() {
            let current = get_in(payload, &key);
            let text = match current {
                Js::Str(_) | Js::Ref(_) => continue,
                Js::Undef => String::from("undefined"),
                other => match other.to_value() {
                    Some(v) => js::stringify_primitive(&v),
                    None => String::from("null"),
                },
            };
            js::set(payload, &key, Value::String(text))?;
        }
    }
    Ok(())
}

/// `dlv(obj, key)` with a key that may not be a string (then it names `obj` itself).
fn path_in<'a>(obj: &'a Value, key: &Js<'_>) -> Js<'a> {
    match key {
        Js::Str(p) => get_in(obj, p),
        _ => Js::Ref(obj),
    }
}
