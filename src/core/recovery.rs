//! Recovering what other tabs left in the persisted queue: reading a storage scan into the
//! tabs to claim (Web Locks) or adopt (expired leases), and reading an adopted tab's chunks
//! back into events. Pure: the scan and the locks are the driver's, the writes are
//! [`crate::core::persisted`]'s.
//!
//! The whole module is two functions of plain data ([`plan`] and [`adopt`]), called from one
//! place each (`Delivery::handle_storage_scan`, `Delivery::adopt`), so that it can move into
//! a lazily loaded part: a page only needs it when a scan finds another tab's keys.

use crate::core::persisted::Claims;
use crate::core::queue::{self, KeyKind};
use crate::core::queue::{Queued, MAX_EVENT_AGE_MS};
use crate::core::time::Millis;

/// What a storage scan says about the queue's tabs.
#[derive(Debug, Default)]
pub(crate) struct ScanPlan<'a> {
    /// Other tabs with chunks on disk: their locks to try (lock mode), or those whose lease
    /// is missing or expired, to adopt now (lease mode).
    pub tabs: Vec<&'a str>,
    /// This tab's chunks found on disk.
    pub own: Vec<u32>,
}

/// Reads a scan (`entries`: every `(key, value)` under `prefix`) for tab `own_tab`.
// Inlined into its one caller (-54 B gzip with `adopt`'s); a lazily loaded part drops it.
#[inline(always)]
pub(crate) fn plan<'a>(
    prefix: &str,
    own_tab: &str,
    claims: Claims,
    now: Millis,
    entries: &'a [(String, String)],
) -> ScanPlan<'a> {
    let mut plan = ScanPlan::default();
    let mut leases: Vec<(&str, Millis)> = Vec::new();
    for (key, value) in entries {
        match queue::parse_key(prefix, key) {
            Some(KeyKind::Chunk(tab, n)) if tab == own_tab => plan.own.push(n),
            Some(KeyKind::Chunk(tab, _)) if !plan.tabs.iter().any(|&t| t == tab) => {
                plan.tabs.push(tab)
            }
            Some(KeyKind::Chunk(..)) => {}
            Some(KeyKind::Lease(tab)) => leases.push((
                tab,
                Millis(crate::json::parse_u64(crate::json::trim_ws(value, true)).unwrap_or(0)),
            )),
            None => {}
        }
    }
    if claims == Claims::Lease {
        // A live lease keeps its tab's chunks from being adopted.
        let mut i = 0;
        while let Some(&tab) = plan.tabs.get(i) {
            if leases.iter().any(|l| l.0 == tab && l.1 > now) {
                plan.tabs.swap_remove(i);
            } else {
                i += 1;
            }
        }
    }
    plan
}

/// What tab `tab` left, read back from a scan.
#[derive(Debug, Default)]
pub(crate) struct Adopted {
    /// Its events, oldest first (malformed lines skipped), in the caller's chunk.
    pub events: Vec<Queued>,
    /// Their bytes of JSON.
    pub bytes: usize,
    /// Its keys (chunks and lease), to remove once the events are ours.
    pub keys: Vec<String>,
    /// Events dropped for being older than [`MAX_EVENT_AGE_MS`].
    pub expired: usize,
}

/// Reads the chunks of (gone) tab `tab` from `entries` (every `(key, value)` under `prefix`)
/// into events of this tab's chunk `chunk`.
#[inline(always)]
pub(crate) fn adopt(
    prefix: &str,
    tab: &str,
    now: Millis,
    entries: &[(String, String)],
    chunk: u32,
) -> Adopted {
    let mut adopted = Adopted::default();
    for (key, value) in entries {
        match queue::parse_key(prefix, key) {
            Some(KeyKind::Chunk(t, _)) if t == tab => {}
            Some(KeyKind::Lease(t)) if t == tab => {
                adopted.keys.push(key.clone());
                continue;
            }
            _ => continue,
        }
        adopted.keys.push(key.clone());
        for stored in crate::json::split_byte(value, b'\n').filter_map(queue::decode_line) {
            if now.since(stored.queued_at) > MAX_EVENT_AGE_MS {
                adopted.expired += 1;
                continue;
            }
            adopted.bytes += stored.json.len();
            adopted.events.push(Queued {
                json: stored.json,
                kind: stored.kind,
                attempts: stored.attempts,
                queued_at: stored.queued_at,
                chunk,
            });
        }
    }
    adopted.events.sort_unstable_by_key(|e| e.queued_at.0);
    adopted
}
