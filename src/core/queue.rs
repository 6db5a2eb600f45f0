//! **API Boundary** (persisted format, v1): how the delivery queue lives in localStorage.
//! Key names, the compact chunk encoding, and parsing keys. Pure: no I/O; the driver reads
//! keys and the core emits writes as data.
//!
//! Keys, all under `sieve:q1:<writeKey>:` (the `q1` is the format version):
//! - `<tab>:<n>` — chunk `n` of tab `<tab>`: the events one tab accepted in one turn
//!   (append-only; rewritten only when some of its events are confirmed, dropped or retried);
//! - `<tab>:lease` — the tab's lease expiry (epoch ms, decimal), only where Web Locks are
//!   missing.
//!
//! A chunk is one line per event, `<attempts>,<queued_at>,<kind letter><event JSON>`,
//! separated by `\n` (event JSON never contains a raw newline). (Versions before 2026-12
//! called chunks "segments" in code and docs; the keys and lines were the same.)

use crate::core::event::EventType;
use crate::core::time::Millis;
use crate::json::{self, push_u64};

/// Events older than this are dropped instead of sent (Segment rejects very old timestamps).
pub const MAX_EVENT_AGE_MS: u64 = 7 * 86_400_000;

/// An accepted event waiting for delivery.
#[derive(Clone, Debug)]
pub struct Queued {
    /// Its JSON text (an object; its `messageId` is the same on every attempt).
    pub json: String,
    /// Its type (for standard-mode endpoints).
    pub kind: EventType,
    /// Failed attempts so far.
    pub attempts: u32,
    /// When it was accepted (a partial batch leaves `timeout` after its oldest event).
    pub queued_at: Millis,
    /// The persisted chunk of this tab holding it (0: not persisted).
    pub chunk: u32,
}

/// The key prefix of every queue key of this write key.
pub(crate) fn prefix(write_key: &str) -> String {
    crate::json::concat(&["sieve:q1:", write_key, ":"])
}

/// The lease key suffix.
pub(crate) const LEASE: &str = "lease";

/// The kind letter of an event type (the standard-mode endpoint letter).
pub(crate) fn kind_letter(kind: EventType) -> char {
    match kind {
        EventType::Track => 't',
        EventType::Page => 'p',
        EventType::Screen => 's',
        EventType::Identify => 'i',
        EventType::Group => 'g',
        EventType::Alias => 'a',
    }
}

fn kind_from_letter(c: u8) -> Option<EventType> {
    Some(match c {
        b't' => EventType::Track,
        b'p' => EventType::Page,
        b's' => EventType::Screen,
        b'i' => EventType::Identify,
        b'g' => EventType::Group,
        b'a' => EventType::Alias,
        _ => return None,
    })
}

/// The most bytes [`push_line`] adds besides the event's JSON: two decimal u32/u64 fields,
/// two commas, the type letter and the newline.
pub(crate) const LINE_OVERHEAD: usize = 10 + 20 + 4;

/// Appends one event line (with its trailing newline).
pub(crate) fn push_line(
    out: &mut String,
    attempts: u32,
    queued_at: Millis,
    kind: EventType,
    json: &str,
) {
    push_u64(out, u64::from(attempts));
    out.push(',');
    push_u64(out, queued_at.0);
    out.push(',');
    out.push(kind_letter(kind));
    out.push_str(json);
    out.push('\n');
}

/// One event read back from a chunk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Stored {
    /// Failed attempts when it was written.
    pub attempts: u32,
    /// When it was accepted.
    pub queued_at: Millis,
    /// Its type.
    pub kind: EventType,
    /// Its JSON text.
    pub json: String,
}

/// Decodes one line of a chunk (a chunk is split at `\n`); `None` for a malformed line
/// (skipped by the reader, never a panic).
pub(crate) fn decode_line(line: &str) -> Option<Stored> {
    let (attempts, rest) = json::split_once_byte(line, b',')?;
    let (queued_at, rest) = json::split_once_byte(rest, b',')?;
    let kind = kind_from_letter(*rest.as_bytes().first()?)?;
    let json = rest.get(1..)?;
    json::parse(json).ok()?.as_object()?;
    Some(Stored {
        attempts: json::parse_u32(attempts)?,
        queued_at: Millis(json::parse_u64(queued_at)?),
        kind,
        json: json.to_owned(),
    })
}

/// What a key under the prefix names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyKind<'a> {
    /// Chunk `n` of `tab`.
    Chunk(&'a str, u32),
    /// The lease of `tab`.
    Lease(&'a str),
}

/// Parses a full key; `None` for keys of other write keys or formats.
pub(crate) fn parse_key<'a>(prefix: &str, key: &'a str) -> Option<KeyKind<'a>> {
    let rest = key.strip_prefix(prefix)?;
    // `rsplit_once(':')` on bytes (':' is ASCII): a smaller search than the char one.
    let colon = rest.bytes().rposition(|b| b == b':')?;
    let (tab, what) = (rest.get(..colon)?, rest.get(colon + 1..)?);
    if tab.is_empty() {
        return None;
    }
    if what == LEASE {
        return Some(KeyKind::Lease(tab));
    }
    Some(KeyKind::Chunk(tab, json::parse_u32(what)?))
}

/// The key of chunk `n` of `tab`.
pub(crate) fn chunk_key(prefix: &str, tab: &str, n: u32) -> String {
    let mut key = String::with_capacity(prefix.len() + tab.len() + 12);
    key.push_str(prefix);
    key.push_str(tab);
    key.push(':');
    push_u64(&mut key, u64::from(n));
    key
}

/// The lease key of `tab`.
pub(crate) fn lease_key(prefix: &str, tab: &str) -> String {
    crate::json::concat(&[prefix, tab, ":", LEASE])
}
