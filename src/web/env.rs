//! Browser facts read once at start-up: user agent, client hints, locale, time zone.
//! Does I/O (reads `navigator` and `Intl`).

use wasm_bindgen::prelude::*;

use crate::core::event::Env;
use crate::json::{self, Value};

// One import reads every fact, each in its own `try` (a missing or throwing global is
// `undefined`), and hands them over as one JSON array text: a single import instead of one
// per fact, each with its own catch and string glue.
// The time zone comes from `Temporal.Now.timeZoneId()` where the browser has it: the same id
// as `Intl.DateTimeFormat().resolvedOptions().timeZone` (the host's zone), but the first
// DateTimeFormat of a page builds ICU's date patterns, measured at 14-38 ms on a fresh page
// here, which was the largest single cost of start-up; Temporal's read is under 0.1 ms.
#[wasm_bindgen(
    inline_js = "export function sieve_env(){const t=f=>{try{return f()}catch(e){}},n=()=>navigator;\
return JSON.stringify([t(()=>n().userAgent),t(()=>n().language),t(()=>JSON.stringify(n().userAgentData)),\
t(()=>Temporal.Now.timeZoneId())||t(()=>Intl.DateTimeFormat().resolvedOptions().timeZone)])}"
)]
extern "C" {
    /// `[userAgent, language, JSON of userAgentData, time zone]` (each `null` when missing).
    fn sieve_env() -> String;
}

/// Reads the environment.
pub(crate) fn read() -> Env {
    let facts = json::parse(&sieve_env()).ok();
    let fact = |i: usize| {
        facts
            .as_ref()
            .and_then(Value::as_array)
            .and_then(|a| a.get(i))
            .and_then(Value::as_str)
    };
    Env {
        user_agent: fact(0).unwrap_or_default().to_owned(),
        locale: fact(1).map(str::to_owned),
        // navigator.userAgentData.toJSON() → {brands, mobile, platform}.
        user_agent_data: fact(2)
            .and_then(|s| json::parse(s).ok())
            .filter(|v| v.as_object().is_some_and(|m| !m.is_empty())),
        timezone: fact(3).map(str::to_owned),
    }
}
