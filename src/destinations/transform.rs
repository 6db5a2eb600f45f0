//! Routing-rule transformers, as `@segment/tsub` 2.0.1 applies them to one event: `drop`,
//! `drop_properties`, `allow_properties`, `map_properties` (`copy`, `move`, `set`,
//! `to_string`), `sample_event` (at random, or "consistently" by a field: see [`sample`]),
//! `hash_properties` (ignored, as tsub ignores it). Pure: no I/O; randomness comes in as a
//! closure.

use super::js::{self, get_in, Js, Thrown};
use crate::json::Value;

/// Applies `transformers` (a rule's list for one matcher) to `payload` in place. `Ok(false)`:
/// the event is dropped. `random` stands for `Math.random()`.
///
/// # Errors
/// Where tsub throws: an unknown transformer, a missing `config`, a `null` on a `set` path.
pub(crate) fn transform(
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
                if !sample(config()?.get("sample"), random)? {
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
                    Value::String(s) if allow => Ok(crate::json::find_sub(s, key).is_some()),
                    _ => Err(Thrown("filter targets are not a list")),
                }
            };
            if allow {
                for key in keys {
                    if !listed(&key)? {
                        js::delete(obj, &key)?;
                    }
                }
            } else {
                let Value::Array(list) = targets else {
                    return Err(Thrown("filter targets are not a list"));
                };
                for target in list.iter().filter_map(key_of) {
                    js::delete(obj, &target)?;
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
    for key in crate::json::split_byte(path, b'.') {
        cur = match cur {
            Value::Object(m) => m.get_mut(key)?,
            Value::Array(items) => items.get_mut(js::index(key)?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// `sample_event`: kept when `percent >= 1`, dropped when `<= 0`; otherwise at random
/// (`Math.random() <= percent`) without a `path`. With a `path`, tsub hashes the field's
/// JSON (MD5) into a number in [0, 1) and keeps the event below `percent`, but the `ldexp`
/// it scales that number with (`@stdlib/math-base-special-ldexp` 0.0.5, with the helpers
/// npm resolves for it, and the copy bundled in analytics-next 1.84.3) returns 0 for every
/// input: every event is kept. Sieve keeps them too (tests/e2e/tsub.test.mjs holds it to
/// both), which loses nothing.
fn sample(config: Option<&Value>, random: &mut impl FnMut() -> f64) -> Result<bool, Thrown> {
    let Some(config @ Value::Object(_)) = config else {
        return Err(Thrown("sample_event without sample"));
    };
    let percent = match Js::of(config.get("percent")) {
        Js::Num(x) => x,
        Js::Null => 0.0,
        Js::Bool(b) => f64::from(u8::from(b)),
        Js::Str(s) => js::number(&s),
        _ => f64::NAN,
    };
    if percent <= 0.0 {
        return Ok(false);
    }
    if percent >= 1.0 {
        return Ok(true);
    }
    if Js::of(config.get("path")).truthy() {
        // 0 < percent: see above (NaN percents are dropped by the comparisons before).
        return Ok(percent > 0.0);
    }
    Ok(random() <= percent)
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
        // `key.rsplit_once('.')` on bytes (no char searcher in the wasm).
        let parent = match key.bytes().rposition(|b| b == b'.') {
            Some(dot) => get_in(&initial, &key[..dot]),
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
