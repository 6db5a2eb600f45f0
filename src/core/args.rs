//! analytics.js argument resolution (track / page / screen / identify / group / alias
//! overloads), reproduced rule for rule from `@segment/analytics-next`'s resolvers.
//! Pure: the JS shim classifies each argument by its JS type ([`Arg`]); the rules live here.

use crate::json::Map;

/// One call argument, as classified by the shim.
#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    /// `typeof a === 'string'`
    Str(String),
    /// `typeof a === 'number'`, carried as `String(a)`.
    Num(String),
    /// A plain object (`Object.prototype.toString.call(a) === '[object Object]'`), as JSON.
    Obj(Map),
    /// `null`
    Null,
    /// `undefined` (also a missing trailing argument)
    Undefined,
    /// A function (the callback; the shim keeps the function itself).
    Func,
    /// Anything else: arrays, booleans, Dates, bigints...
    Other,
}

impl Arg {
    fn as_str(&self) -> Option<&str> {
        match self {
            Arg::Str(s) => Some(s),
            _ => None,
        }
    }
    fn as_obj(&self) -> Option<&Map> {
        match self {
            Arg::Obj(m) => Some(m),
            _ => None,
        }
    }
    fn is_nullish(&self) -> bool {
        matches!(self, Arg::Null | Arg::Undefined)
    }
}

/// Why a call was rejected (the promise rejects with this message, as in analytics.js).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgError {
    /// `track` without a non-empty string event name.
    EventMissing,
    /// A user or group id longer than [`crate::core::identity::MAX_ID_BYTES`].
    IdTooLong,
}

impl ArgError {
    /// The message analytics.js uses.
    pub fn message(self) -> &'static str {
        match self {
            ArgError::EventMissing => "Event missing",
            ArgError::IdTooLong => "the id is longer than 1024 bytes; the call was dropped",
        }
    }
}

/// `track(name | {event, properties}, properties?, options?, callback?)`.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackArgs {
    /// Event name.
    pub name: String,
    /// Properties.
    pub properties: Map,
    /// Options (split later into overrides and context).
    pub options: Map,
}

/// `page` / `screen` resolved arguments.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct PageArgs {
    /// Category, when two strings were given.
    pub category: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// Properties.
    pub properties: Map,
    /// Options.
    pub options: Map,
}

/// `identify` / `group` resolved arguments. `id: None` means "keep the current id".
#[derive(Clone, Debug, PartialEq, Default)]
pub struct UserArgs {
    /// The id given (numbers stringified), if any.
    pub id: Option<String>,
    /// Traits (`{}` when none).
    pub traits: Map,
    /// Options.
    pub options: Map,
}

/// `alias(to, from?, options?, callback?)`.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct AliasArgs {
    /// The new id.
    pub to: Option<String>,
    /// The previous id, when given.
    pub from: Option<String>,
    /// Options.
    pub options: Map,
}

fn arg(args: &[Arg], i: usize) -> &Arg {
    args.get(i).unwrap_or(&Arg::Undefined)
}

/// `resolveArguments` for track.
///
/// # Errors
/// [`ArgError::EventMissing`] when no non-empty string name can be found.
pub fn resolve_track(args: &[Arg]) -> Result<TrackArgs, ArgError> {
    let first = arg(args, 0);
    let (name, properties, options) = match first {
        Arg::Obj(obj) => {
            let name = obj.get("event").and_then(|v| v.as_str()).unwrap_or("");
            let properties = obj
                .get("properties")
                .and_then(|v| v.as_object())
                .cloned()
                .unwrap_or_default();
            // With an event object, the second argument is the options (unless a function).
            let options = arg(args, 1).as_obj().cloned().unwrap_or_default();
            (name.to_owned(), properties, options)
        }
        Arg::Str(s) => {
            let properties = arg(args, 1).as_obj().cloned().unwrap_or_default();
            let options = arg(args, 2).as_obj().cloned().unwrap_or_default();
            (s.clone(), properties, options)
        }
        _ => return Err(ArgError::EventMissing),
    };
    if name.is_empty() {
        return Err(ArgError::EventMissing);
    }
    Ok(TrackArgs {
        name,
        properties,
        options,
    })
}

/// `resolvePageArguments` for page and screen (position-insensitive legacy rules; only the
/// first five arguments count).
pub fn resolve_page(args: &[Arg]) -> PageArgs {
    let args: [&Arg; 5] = std::array::from_fn(|i| arg(args, i));
    // How many strings and objects there are, with the first string and first two objects
    // (no collected Vecs: less code).
    let (mut n_strings, mut first_string) = (0, "");
    let (mut n_objects, mut objects) = (0, [None::<&Map>; 2]);
    for a in args {
        if let Some(s) = a.as_str() {
            if n_strings == 0 {
                first_string = s;
            }
            n_strings += 1;
        }
        if let Some(m) = a.as_obj() {
            if let Some(slot) = objects.get_mut(n_objects) {
                *slot = Some(m);
            }
            n_objects += 1;
        }
    }
    let mut out = PageArgs::default();
    match n_strings {
        1 => {
            out.name = Some(args[1].as_str().unwrap_or(first_string).to_owned());
        }
        2 => {
            out.category = args[0].as_str().map(str::to_owned);
            out.name = args[1].as_str().map(str::to_owned);
        }
        _ => {}
    }
    let clone = |m: Option<&Map>| m.cloned().unwrap_or_default();
    match n_objects {
        1 => {
            if let Some(p) = args[2].as_obj() {
                out.properties = p.clone();
            } else if let Some(o) = args[3].as_obj() {
                out.options = o.clone();
            } else {
                out.properties = clone(objects[0]);
            }
        }
        2 => {
            out.properties = clone(objects[0]);
            out.options = clone(objects[1]);
        }
        _ => {}
    }
    out
}

/// `resolveUserArguments` for identify and group: slots `id → traits → options → callback`.
pub fn resolve_user(args: &[Arg]) -> UserArgs {
    #[derive(PartialEq)]
    enum Slot {
        Id,
        Traits,
        Options,
        Callback,
        Done,
    }
    let mut out = UserArgs::default();
    let mut traits: Option<Map> = None;
    let mut options: Option<Map> = None;
    let mut slot = Slot::Id;
    let next = |s: &Slot| match s {
        Slot::Id => Slot::Traits,
        Slot::Traits => Slot::Options,
        Slot::Options => Slot::Callback,
        _ => Slot::Done,
    };
    for a in args {
        let mut current = slot;
        slot = next(&current);
        if current == Slot::Id {
            match a {
                Arg::Str(s) | Arg::Num(s) => {
                    out.id = Some(s.clone());
                    continue;
                }
                Arg::Null | Arg::Undefined => continue,
                _ => {
                    current = slot;
                    slot = next(&current);
                }
            }
        }
        if (current == Slot::Traits || current == Slot::Options)
            && (a.is_nullish() || a.as_obj().is_some())
        {
            let value = a.as_obj().cloned();
            if current == Slot::Traits {
                traits = value;
            } else {
                options = value;
            }
        }
        if *a == Arg::Func {
            break;
        }
    }
    out.traits = traits.unwrap_or_default();
    out.options = options.unwrap_or_default();
    out
}

/// `resolveAliasArguments`.
pub fn resolve_alias(args: &[Arg]) -> AliasArgs {
    let args: [&Arg; 4] = std::array::from_fn(|i| arg(args, i));
    let promote = |a: &Arg| match a {
        Arg::Str(s) | Arg::Num(s) => Some(s.clone()),
        _ => None,
    };
    // Positions 0 and 1 promote numbers; strings elsewhere still count, in order.
    let mut ordered: Vec<String> = Vec::new();
    for (i, a) in args.iter().enumerate() {
        if i < 2 {
            if let Some(s) = promote(a) {
                ordered.push(s);
            }
        } else if let Arg::Str(s) = a {
            ordered.push(s.clone());
        }
    }
    let mut it = ordered.into_iter();
    AliasArgs {
        to: it.next(),
        from: it.next(),
        options: args
            .iter()
            .find_map(|a| a.as_obj())
            .cloned()
            .unwrap_or_default(),
    }
}

/// Decodes the shim's wire form of a call: one type letter per argument (`s` string, `n`
/// number, `o` plain object, `N` null, `u` undefined, `f` function, `x` other, `b` buffered
/// page context) and a JSON array holding the value of each `s`/`n`/`o`/`b` argument at the
/// same index (`null` elsewhere). Returns the arguments and the page context, if one came.
pub fn decode_args(
    types: &str,
    values: &crate::json::Value,
) -> (Vec<Arg>, Option<crate::core::page::BufferedPageContext>) {
    use crate::json::Value;
    let empty = Vec::new();
    let values = values.as_array().unwrap_or(&empty);
    let mut args = Vec::with_capacity(types.len());
    let mut page = None;
    for (i, t) in types.bytes().enumerate() {
        let v = values.get(i);
        let arg = match (t, v) {
            (b's', Some(Value::String(s))) => Arg::Str(s.clone()),
            (b'n', Some(Value::String(s))) => Arg::Num(s.clone()),
            (b'o', Some(Value::Object(m))) => Arg::Obj(m.clone()),
            (b'b', Some(Value::Object(m))) => {
                page = Some(crate::core::page::BufferedPageContext::from_bpc(m));
                continue;
            }
            (b'N', _) => Arg::Null,
            (b'u', _) => Arg::Undefined,
            (b'f', _) => Arg::Func,
            _ => Arg::Other,
        };
        args.push(arg);
    }
    (args, page)
}

/// The name, properties and (if the call carries its own) page context JSON texts of a
/// `track(name)` / `track(name, properties)` call in the wire form (types `s` / `so`, or `sb`
/// / `sob` with a buffered page context), for
/// [`crate::core::Analytics::handle_track_text`]; `None` sends the call the general way. The
/// properties must be a JSON object: an object whose `toJSON` returns something else (it is
/// typed `o` by the shim) resolves to `{}` in the general way.
pub fn plain_track<'a>(
    types: &str,
    values: &'a str,
) -> Option<(&'a str, &'a str, Option<&'a str>)> {
    let (name, properties, page) = match (types, crate::json::array_items(values)?.as_slice()) {
        ("s", [name]) => (*name, "{}", None),
        ("so", [name, properties]) => (*name, *properties, None),
        ("sb", [name, page]) => (*name, "{}", Some(*page)),
        ("sob", [name, properties, page]) => (*name, *properties, Some(*page)),
        _ => return None,
    };
    let object = |text: &str| text.starts_with('{');
    (name.starts_with('"') && object(properties) && page.is_none_or(object))
        .then_some((name, properties, page))
}
