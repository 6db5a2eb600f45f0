//! **API Boundary**: every `#[wasm_bindgen]` export. The JS shim is the only caller.
//! Does I/O through the driver. No export throws: bad input becomes a result string or a
//! notice, and a re-entrant call while the instance is busy is refused quietly.

// The exports are `pub` for JS, not for Rust crates.
#![allow(unreachable_pub)]

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

use super::{
    clock, env, on_wake, pump, pump_after_call, set_wake_fn, storage, take_wake, Driver, Shared,
};
use crate::core::boundary::{method_from_u8, Command, Read};
use crate::core::config::Config;
use crate::core::time::Millis;
use crate::core::{Analytics, Dispatch};
use crate::json::{self, Value};

/// The instances [`create`] made, by the number the shim holds for each. Exports taking that
/// number instead of methods of a `#[wasm_bindgen]` struct: no class, finalizer and borrow
/// flags in the glue and the wasm (the drivers are leaked anyway).
struct Instances(RefCell<Vec<Shared>>);
// SAFETY: wasm32-unknown-unknown without the atomics feature runs on one thread.
unsafe impl Sync for Instances {}

static INSTANCES: Instances = Instances(RefCell::new(Vec::new()));

/// The instance numbered `id` (`None` for a number [`create`] never gave).
fn instance(id: u32) -> Option<Shared> {
    INSTANCES.0.try_borrow().ok()?.get(id as usize).copied()
}

fn parse_or_empty(text: &str) -> Value {
    json::parse(text).unwrap_or(Value::Object(json::Map::new()))
}

/// Runs `f` on the core of `shared` with the time now (one clock read for the call and its
/// pump), then [`pump_after_call`]; `None` when the instance is busy (a re-entrant call).
fn with_core<T>(shared: Shared, f: impl FnOnce(&mut Analytics, Millis) -> T) -> Option<T> {
    let now = clock::now();
    let result = {
        let mut driver = shared.try_borrow_mut().ok()?;
        f(&mut driver.core, now)
    };
    pump_after_call(&shared, now);
    Some(result)
}

/// A callback the driver handed to JS was called: `token` says which (see `super::wake_on`),
/// `value` is what JS answered. A token already used is ignored.
#[wasm_bindgen]
pub fn wake(token: u32, value: JsValue) -> JsValue {
    match take_wake(token) {
        Some((shared, what)) => on_wake(shared, what, value),
        None => JsValue::UNDEFINED,
    }
}

/// A new instance: reads storage and the environment, restores identity, and starts
/// listening for page hide/show; answers its number for the other exports. `settings` and
/// `options` are JSON texts; `on_notice(code, reason, count)` receives delivery and
/// validation problems; `wake` is this module's exported [`wake`] (the driver's callbacks to
/// JS call it).
#[wasm_bindgen]
pub fn create(
    write_key: &str,
    settings: &str,
    options: &str,
    on_notice: js_sys::Function,
    wake: JsValue,
) -> u32 {
    set_wake_fn(wake);
    let config = Config::from_settings(
        write_key,
        &parse_or_empty(settings),
        &parse_or_empty(options),
    );
    let snapshot = if config.stores.cookie || config.stores.local {
        storage::snapshot(&config.keys)
    } else {
        Default::default()
    };
    let core = Analytics::new(config, env::read(), &snapshot, clock::seed());
    // Leaked: an instance lives as long as its page, and a driver never dropped carries no
    // drop code in the wasm.
    let shared: Shared = Box::leak(Box::new(RefCell::new(Driver::new(core, on_notice))));
    super::lifecycle::start(&shared);
    let Ok(mut instances) = INSTANCES.0.try_borrow_mut() else {
        return u32::MAX;
    };
    instances.push(shared);
    (instances.len() - 1) as u32
}

/// An event call on instance `id`. `method` is the event type's code ([`method_from_u8`]);
/// `input` is the shim's argument encoding: the type letters, then the JSON array of the
/// values (`core::args::decode_args`), one string so that one crosses the boundary;
/// `page` is the page context now (buffered page context JSON), sent only when it changed
/// since the last call (`None`: unchanged). Returns the event JSON, or `!` + the rejection
/// message (the shim then sends the page context again with the next call). With `queue`
/// false the event is only built: the shim runs page plugins and middleware on it, then
/// hands it back with [`Command::Enqueue`].
#[wasm_bindgen]
pub fn call(id: u32, method: u8, input: &str, page: Option<String>, queue: bool) -> String {
    let (Some(shared), Some(method), Some(split)) = (
        instance(id),
        method_from_u8(method),
        json::find_byte(input, b'['),
    ) else {
        return String::from("!malformed call");
    };
    if let Some(page) = page {
        if let Ok(mut driver) = shared.try_borrow_mut() {
            driver.core.handle_page_context(page);
        }
    }
    let (types, values) = input.split_at(split);
    let dispatch = if queue {
        Dispatch::Queue
    } else {
        Dispatch::Return
    };
    let result = with_core(shared, |core, now| {
        core.handle_wire_call(now, method, types, values, dispatch)
    });
    match result {
        Some(Ok(json)) => json,
        Some(Err(e)) => crate::json::concat(&["!", e.message()]),
        None => String::from("!busy"),
    }
}

/// Reads identity state: `what` is a [`Read`] code (`None` for any other number).
/// One multiplexed export instead of six: each export costs glue in the wasm and the JS.
#[wasm_bindgen]
pub fn get(id: u32, what: u8) -> Option<String> {
    let (shared, what) = (instance(id)?, Read::from_u8(what)?);
    // Reads analytics.js turns into writes: an absent group id is stored as JSON null, a
    // cleared anonymous id is generated.
    if matches!(what, Read::AnonymousId | Read::GroupId) {
        if let Ok(mut driver) = shared.try_borrow_mut() {
            if what == Read::AnonymousId {
                driver.core.handle_anonymous_id_read();
            } else {
                driver.core.handle_group_id_read();
            }
        }
        pump(&shared);
    }
    let driver = shared.try_borrow().ok()?;
    let identity = driver.core.identity();
    match what {
        Read::UserId => identity.user_id().map(str::to_owned),
        Read::AnonymousId => identity.anonymous_id().map(str::to_owned),
        Read::UserTraits => Some(identity.user_traits().to_json()),
        Read::GroupId => identity.group_id().map(str::to_owned),
        Read::GroupTraits => Some(identity.group_traits().to_json()),
        Read::DeviceMode => driver.core.device_mode().then(|| String::from("1")),
        Read::Queued => {
            let mut n = String::new();
            json::push_u64(&mut n, driver.core.queued() as u64);
            Some(n)
        }
    }
}

/// Changes state: `what` is a [`Command`] code (any other number does nothing), `arg` its
/// argument. Returns `!` + a reason when [`Command::Enqueue`] refuses the event.
#[wasm_bindgen]
pub fn command(id: u32, what: u8, arg: Option<String>) -> Option<String> {
    let shared = instance(id)?;
    let mut refused = None;
    if let Ok(mut driver) = shared.try_borrow_mut() {
        match Command::from_u8(what) {
            None => {}
            Some(Command::Enqueue) => {
                if let Err(e) = driver
                    .core
                    .handle_enqueue(clock::now(), arg.as_deref().unwrap_or(""))
                {
                    refused = Some(crate::json::concat(&["!", e.message()]));
                }
            }
            Some(Command::Reset) => driver.core.handle_reset(),
            Some(Command::SetAnonymousId) => driver.core.handle_set_anonymous_id(arg),
            Some(Command::SetUserTraits) => {
                let traits = match arg.as_deref().map(json::parse) {
                    Some(Ok(Value::Object(m))) => m,
                    _ => json::Map::new(),
                };
                driver.core.handle_set_user_traits(traits);
            }
            Some(Command::Flush) => driver.core.handle_flush(),
            Some(Command::SetUserId) => driver.core.handle_set_user_id(arg),
            Some(Command::SetContextSegments) => driver
                .core
                .set_context_segments(arg.as_deref().and_then(|a| json::parse(a).ok())),
            Some(Command::SetMetadata) => driver.core.set_metadata(arg.as_deref().unwrap_or("")),
            Some(Command::SetFailedInitializations) => driver
                .core
                .set_failed_initializations(arg.as_deref().unwrap_or("")),
        }
    }
    pump(&shared);
    refused
}
