//! The codes of the wasm boundary: what the numbers given to the driver's exports mean
//! (`call`'s method, `get`, `command`). Pure. The shim takes the same numbers from
//! `js/codes.js`; `tests/it/boundary.rs` holds the two tables together.

use crate::core::event::EventType;

/// What `get(what)` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Read {
    /// The user id (absent: `undefined`).
    UserId = 0,
    /// The anonymous id (generated first when it was cleared, as analytics.js reads it).
    AnonymousId = 1,
    /// The user traits, a JSON object text.
    UserTraits = 2,
    /// The group id (an absent one is then stored as JSON `null`, as analytics.js does).
    GroupId = 3,
    /// The group traits, a JSON object text.
    GroupTraits = 4,
    /// How many events are queued and not yet confirmed, in decimal.
    Queued = 5,
    /// `"1"` when the page needs the lazy device-mode part (`Config::device_mode`), else
    /// `undefined`.
    DeviceMode = 6,
}

impl Read {
    /// The code's meaning (`None`: not a code).
    pub fn from_u8(code: u8) -> Option<Read> {
        Some(match code {
            0 => Read::UserId,
            1 => Read::AnonymousId,
            2 => Read::UserTraits,
            3 => Read::GroupId,
            4 => Read::GroupTraits,
            5 => Read::Queued,
            6 => Read::DeviceMode,
            _ => return None,
        })
    }
}

/// What `command(what, arg)` changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Command {
    /// `reset()`.
    Reset = 0,
    /// Set the anonymous id to `arg` (none: clear it; a fresh one comes with the next read).
    SetAnonymousId = 1,
    /// Replace the user traits with `arg`, a JSON object text.
    SetUserTraits = 2,
    /// `flush()`: send what is queued now.
    Flush = 3,
    /// Set `context.segments` to `arg`, a JSON text (the segments runtime's object of segment
    /// keys → membership; none: stop stamping it).
    SetContextSegments = 4,
    /// Queue `arg`, an event page plugins and middleware are done with (JSON); answers `!`
    /// and a reason when it is refused.
    Enqueue = 5,
    /// Set the user id to `arg` (none: clear it).
    SetUserId = 6,
    /// Set the destinations and plugins that failed to load to `arg` (`JSON.stringify` of
    /// an array of names), for `_metadata.failedInitializations` on later API events.
    SetFailedInitializations = 7,
    /// Set `_metadata`'s bundling members to `arg` (`"bundled":[…],"unbundled":[…],
    /// "bundledIds":[…]`, written by the device-mode part; empty: none).
    SetMetadata = 8,
}

impl Command {
    /// The code's meaning (`None`: not a code).
    pub fn from_u8(code: u8) -> Option<Command> {
        Some(match code {
            0 => Command::Reset,
            1 => Command::SetAnonymousId,
            2 => Command::SetUserTraits,
            3 => Command::Flush,
            4 => Command::SetContextSegments,
            5 => Command::Enqueue,
            6 => Command::SetUserId,
            7 => Command::SetFailedInitializations,
            8 => Command::SetMetadata,
            _ => return None,
        })
    }
}

/// The event method `call(method, …)` names: [`EventType`]'s number.
pub fn method_from_u8(code: u8) -> Option<EventType> {
    Some(match code {
        0 => EventType::Track,
        1 => EventType::Page,
        2 => EventType::Screen,
        3 => EventType::Identify,
        4 => EventType::Group,
        5 => EventType::Alias,
        _ => return None,
    })
}
