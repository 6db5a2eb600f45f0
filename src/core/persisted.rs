//! This tab's persisted copy of the delivery queue: which chunk (see [`crate::core::queue`])
//! holds each event, which chunks changed and must be rewritten, and this tab's claim on
//! them (its Web Lock held, or its lease renewed). Another tab's chunks are the business of
//! [`crate::core::recovery`]. Pure: storage writes and lock operations come out as data.

use crate::core::identity::{StorageWrite, Store};
use crate::core::ids::Entropy;
use crate::core::queue;
use crate::core::queue::Queued;
use crate::core::time::Millis;
use crate::json::push_u64;

/// A chunk of the persisted queue holds at most this many bytes of text, unless one event
/// alone is larger (a burst of calls is written as several chunks).
pub const MAX_CHUNK_BYTES: usize = 16 * 1024;
/// How often a tab looks for chunks left by closed or crashed tabs.
pub const SCAN_INTERVAL_MS: u64 = 10_000;
/// Lease length where Web Locks are missing.
pub const LEASE_MS: u64 = 60_000;
/// A lease is renewed this long after it was written (a third of its length).
pub const LEASE_RENEW_MS: u64 = LEASE_MS / 3;

/// How tabs of an origin keep each other from sending the same persisted events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claims {
    /// Web Locks: a tab holds its own lock while it has persisted events; another tab's
    /// events are adopted only after taking that tab's lock (released when it closes or
    /// crashes).
    Locks,
    /// No Web Locks: a lease with expiry in localStorage, renewed by its tab; another tab's
    /// events are adopted once its lease has expired.
    Lease,
}

/// Something only the driver can do: read storage, or take and release Web Locks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Query {
    /// Read every localStorage key starting with the queue prefix and report them with
    /// `handle_storage_scan`.
    Scan,
    /// Try to take the lock of tab `.0` without waiting (`ifAvailable`). When granted: read
    /// the keys again, report them with `handle_claimed` and release the lock afterwards.
    /// When refused: nothing (that tab is alive).
    Claim(String),
    /// Hold (`true`) or release (`false`) this tab's own lock.
    HoldLock(bool),
}

/// One of this tab's chunks.
#[derive(Clone, Copy, Debug)]
struct Chunk {
    n: u32,
    /// Written to storage (a chunk opened this turn is not, yet).
    on_disk: bool,
}

/// The chunk collecting this turn's events.
#[derive(Clone, Copy, Debug)]
struct OpenChunk {
    n: u32,
    /// At most how many bytes of text its events make ([`queue::LINE_OVERHEAD`] per line).
    bytes: usize,
}

/// The chunk texts being rebuilt by [`Persisted::write_chunks`]: one per dirty chunk.
#[derive(Debug)]
pub(crate) struct ChunkTexts {
    texts: Vec<(u32, String)>,
    /// The text the last event went to (a chunk's events are mostly adjacent, so a burst's
    /// many chunks do not make the lookup quadratic).
    at: usize,
}

impl ChunkTexts {
    /// Appends the line of a held event (ignored unless its chunk is dirty).
    #[inline(never)]
    pub(crate) fn add(&mut self, event: &Queued) {
        if self.texts.get(self.at).is_none_or(|t| t.0 != event.chunk) {
            let Some(i) = self.texts.iter().position(|t| t.0 == event.chunk) else {
                return;
            };
            self.at = i;
        }
        if let Some((_, text)) = self.texts.get_mut(self.at) {
            queue::push_line(
                text,
                event.attempts,
                event.queued_at,
                event.kind,
                &event.json,
            );
        }
    }
}

/// This tab's persisted queue (absent in [`crate::core::delivery::Delivery`] when the queue
/// lives in memory only).
#[derive(Debug)]
pub(crate) struct Persisted {
    pub(crate) prefix: String,
    pub(crate) tab: String,
    pub(crate) claims: Claims,
    next_chunk: u32,
    /// Invariant: its chunk is in `chunks` and `dirty`.
    open: Option<OpenChunk>,
    /// (Vecs, not BTree collections: a tab has few chunks, and each BTree instantiation costs
    /// kilobytes of wasm.)
    chunks: Vec<Chunk>,
    /// Chunks whose events changed (added, confirmed, dropped, retried): rewritten or removed
    /// at the next [`Persisted::write_chunks`]. Invariant: no repeats.
    dirty: Vec<u32>,
    /// Keys of adopted tabs, removed once the adopted events are written.
    adopted_keys: Vec<String>,
    /// Lease mode: the expiry of the lease on disk.
    lease_until: Option<Millis>,
    /// Lock mode: whether the driver was told to hold our lock.
    lock_held: bool,
    pub(crate) next_scan: Millis,
    pub(crate) writes: Vec<StorageWrite>,
    pub(crate) queries: Vec<Query>,
}

impl Persisted {
    /// A new tab with a random id under `queue::prefix(write_key)`; its first scan is asked
    /// for at once (events left by earlier pages are adopted).
    pub(crate) fn new(
        now: Millis,
        write_key: &str,
        claims: Claims,
        entropy: &mut Entropy,
    ) -> Persisted {
        let mut tab = String::with_capacity(12);
        let bits = entropy.next_u64();
        for i in 0..12 {
            tab.push(char::from(
                b"0123456789abcdef"[((bits >> (i * 4)) & 15) as usize],
            ));
        }
        Persisted {
            prefix: queue::prefix(write_key),
            tab,
            claims,
            next_chunk: 1,
            open: None,
            chunks: Vec::new(),
            dirty: Vec::new(),
            adopted_keys: Vec::new(),
            lease_until: None,
            lock_held: false,
            next_scan: now.plus(SCAN_INTERVAL_MS),
            writes: Vec::new(),
            queries: vec![Query::Scan],
        }
    }

    fn write(&mut self, key: String, value: Option<String>) {
        self.writes.push(StorageWrite {
            store: Store::Local,
            key,
            value,
        });
    }

    /// The chunk for an event of `json_len` bytes accepted this turn. A burst of calls
    /// becomes several chunks, so that a response confirming one batch rewrites one small
    /// chunk, not the whole burst: a chunk is closed before the event that would take it past
    /// [`MAX_CHUNK_BYTES`] (an event larger than that gets a chunk of its own). Its text is
    /// written at the end of the turn from the events themselves, so a call does not copy its
    /// event a second time.
    pub(crate) fn assign(&mut self, json_len: usize) -> u32 {
        let line = json_len + queue::LINE_OVERHEAD;
        let open = match self.open {
            Some(open) if open.bytes == 0 || open.bytes + line <= MAX_CHUNK_BYTES => open,
            _ => OpenChunk {
                n: self.new_chunk(),
                bytes: 0,
            },
        };
        self.open = Some(OpenChunk {
            n: open.n,
            bytes: open.bytes + line,
        });
        open.n
    }

    /// A new dirty chunk, not on disk yet.
    pub(crate) fn new_chunk(&mut self) -> u32 {
        let n = self.next_chunk;
        self.next_chunk += 1;
        self.chunks.push(Chunk { n, on_disk: false });
        self.dirty.push(n);
        n
    }

    /// Chunk `n`'s events changed: it is rewritten at the next [`Persisted::write_chunks`].
    pub(crate) fn mark(&mut self, n: u32) {
        if n != 0 && !self.dirty.iter().any(|&d| d == n) {
            self.dirty.push(n);
        }
    }

    /// Forgets chunk `n`; returns whether it was on disk.
    fn forget_chunk(&mut self, n: u32) -> bool {
        match self.chunks.iter().position(|c| c.n == n) {
            Some(i) => self.chunks.swap_remove(i).on_disk,
            None => false,
        }
    }

    /// Keys of an adopted tab, removed after the adopted events are written.
    pub(crate) fn remove_after_adoption(&mut self, keys: Vec<String>) {
        for key in keys {
            self.adopted_keys.push(key);
        }
    }

    /// Whether this turn changed what must be written.
    pub(crate) fn has_changes(&self) -> bool {
        // The open chunk is in `dirty` too.
        !self.dirty.is_empty()
    }

    /// Lease mode, after a scan: this tab's chunks that were on disk and are gone (another
    /// tab saw the lease expire, e.g. while this tab was throttled, adopted them and sends
    /// them now). They are forgotten; the caller drops their events.
    pub(crate) fn vanished(&mut self, on_disk: &[u32]) -> Vec<u32> {
        let mut gone = Vec::new();
        for chunk in &self.chunks {
            if chunk.on_disk && !on_disk.iter().any(|&m| m == chunk.n) {
                gone.push(chunk.n);
            }
        }
        for n in &gone {
            self.forget_chunk(*n);
            if let Some(i) = self.dirty.iter().position(|d| d == n) {
                self.dirty.swap_remove(i);
            }
        }
        gone
    }

    /// Starts rewriting the dirty chunks: hand every held event to [`ChunkTexts::add`], then
    /// the texts to [`Persisted::write_chunks`]. `None` when nothing is dirty.
    pub(crate) fn chunk_texts(&mut self) -> Option<ChunkTexts> {
        // This turn's chunk is in `dirty` too: the next event starts a new one.
        self.open = None;
        if self.dirty.is_empty() {
            return None;
        }
        let mut texts = Vec::with_capacity(self.dirty.len());
        for n in std::mem::take(&mut self.dirty) {
            texts.push((n, String::with_capacity(MAX_CHUNK_BYTES)));
        }
        Some(ChunkTexts { texts, at: 0 })
    }

    /// Emits the storage writes for everything that changed: the lease first (no other tab
    /// may see our chunks without it), the chunk texts (an empty one is removed), keys of
    /// adopted tabs, and our lock or lease as the queue fills or empties.
    pub(crate) fn write_chunks(&mut self, now: Millis, texts: Option<ChunkTexts>) {
        if self.claims == Claims::Lease
            && !self.chunks.is_empty()
            && self.renew_at().is_none_or(|t| t <= now)
        {
            let until = now.plus(LEASE_MS);
            self.lease_until = Some(until);
            let mut value = String::new();
            push_u64(&mut value, until.0);
            let key = queue::lease_key(&self.prefix, &self.tab);
            self.write(key, Some(value));
        }
        for (n, text) in texts.map(|t| t.texts).unwrap_or_default() {
            let key = queue::chunk_key(&self.prefix, &self.tab, n);
            if text.is_empty() {
                if self.forget_chunk(n) {
                    self.write(key, None);
                }
            } else {
                self.write(key, Some(text));
                match self.chunks.iter_mut().find(|c| c.n == n) {
                    Some(chunk) => chunk.on_disk = true,
                    None => self.chunks.push(Chunk { n, on_disk: true }),
                }
            }
        }
        for key in std::mem::take(&mut self.adopted_keys) {
            self.write(key, None);
        }
        let has_events = !self.chunks.is_empty();
        match self.claims {
            Claims::Locks => {
                if has_events != self.lock_held {
                    self.lock_held = has_events;
                    self.queries.push(Query::HoldLock(has_events));
                }
            }
            Claims::Lease => {
                if !has_events && self.lease_until.take().is_some() {
                    let key = queue::lease_key(&self.prefix, &self.tab);
                    self.write(key, None);
                }
            }
        }
    }

    /// Lease mode: when the lease is due for renewal.
    pub(crate) fn renew_at(&self) -> Option<Millis> {
        self.lease_until
            .map(|until| Millis(until.0.saturating_sub(LEASE_MS - LEASE_RENEW_MS)))
    }

    /// The timer fired: a scan is asked for when due (the lease is renewed by the next
    /// [`Persisted::write_chunks`]).
    pub(crate) fn handle_timeout(&mut self, now: Millis) {
        if self.next_scan <= now {
            self.next_scan = now.plus(SCAN_INTERVAL_MS);
            self.queries.push(Query::Scan);
        }
    }
}
