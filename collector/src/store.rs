//! Event storage in SQLite (`<data-dir>/events.sqlite3`). Does I/O: owns the database file.
//!
//! **Invariants:** `message_id` is UNIQUE, so a duplicate is counted, never stored twice
//! (Segment de-duplicates on `messageId`). A request's events go in one transaction: all of
//! them or none. `seq` is AUTOINCREMENT, so it never goes back, not even after
//! [`Store::clear`]: a page polling `GET /events?after=<seq>` never misses new events.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

use crate::ingest::Accepted;

/// Schema version, kept in `PRAGMA user_version`. Bump it with a migration in [`Store::open`].
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id   TEXT NOT NULL UNIQUE,
    received_at  TEXT NOT NULL,
    write_key    TEXT,
    type         TEXT NOT NULL,
    path         TEXT NOT NULL,
    sent_at      TEXT,
    retry_count  TEXT,
    event_json   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_write_key ON events (write_key, seq);
";

/// The event store.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
}

/// Where a stored request came from (the columns that are not in the event itself).
#[derive(Debug)]
pub struct Envelope<'a> {
    /// Arrival time, ISO 8601.
    pub received_at: &'a str,
    /// Request path (`/v1/batch`, ...).
    pub path: &'a str,
    /// The `X-Retry-Count` header, verbatim.
    pub retry_count: Option<&'a str>,
}

/// One stored event, as `GET /events` lists it.
#[derive(Debug)]
pub struct StoredEvent {
    /// Arrival order, starting at 1.
    pub seq: i64,
    /// Arrival time, ISO 8601.
    pub received_at: String,
    /// The request's write key.
    pub write_key: Option<String>,
    /// The request's `sentAt`.
    pub sent_at: Option<String>,
    /// The request's `X-Retry-Count` header.
    pub retry_count: Option<String>,
    /// The request path.
    pub path: String,
    /// The event's JSON text, as validated.
    pub json: String,
}

/// Counts from one [`Store::insert`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Inserted {
    /// New events stored.
    pub stored: u64,
    /// Events whose `messageId` was already stored (or repeated within the request).
    pub duplicates: u64,
}

impl Store {
    /// Opens (creating if needed) `<dir>/events.sqlite3`.
    ///
    /// # Errors
    /// The directory cannot be created, the file cannot be opened, or its schema is newer
    /// than this binary knows.
    pub fn open(dir: &Path) -> Result<Store, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create data dir {}: {e}", dir.display()))?;
        let path = dir.join("events.sqlite3");
        let conn =
            Connection::open(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let setup = || -> rusqlite::Result<i64> {
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            // WAL: readers (GET /events) do not block the writer.
            conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
            conn.execute_batch("PRAGMA synchronous = NORMAL;")?;
            conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        };
        let version = setup().map_err(|e| format!("cannot set up {}: {e}", path.display()))?;
        if version > SCHEMA_VERSION {
            return Err(format!(
                "{} has schema version {version}, this collector knows {SCHEMA_VERSION}",
                path.display()
            ));
        }
        conn.execute_batch(SCHEMA)
            .and_then(|()| conn.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION};")))
            .map_err(|e| format!("cannot create schema in {}: {e}", path.display()))?;
        Ok(Store { conn })
    }

    /// Stores a request's events in one transaction, skipping known `messageId`s.
    ///
    /// # Errors
    /// Any SQLite error; then nothing of the request is stored.
    pub fn insert(&mut self, req: &Accepted, env: &Envelope<'_>) -> rusqlite::Result<Inserted> {
        let tx = self.conn.transaction()?;
        let mut counts = Inserted::default();
        {
            let mut stmt = tx.prepare_cached(
                "INSERT OR IGNORE INTO events
                 (message_id, received_at, write_key, type, path, sent_at, retry_count, event_json)
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8
                 WHERE NOT EXISTS (SELECT 1 FROM events WHERE message_id = ?1)",
            )?;
            // The NOT EXISTS keeps `seq` dense: a bare INSERT OR IGNORE would burn a
            // sequence number on every duplicate.
            for event in &req.events {
                let changed = stmt.execute(params![
                    event.message_id,
                    env.received_at,
                    req.write_key,
                    event.kind,
                    env.path,
                    req.sent_at,
                    env.retry_count,
                    event.json,
                ])?;
                if changed == 0 {
                    counts.duplicates += 1;
                } else {
                    counts.stored += 1;
                }
            }
        }
        tx.commit()?;
        Ok(counts)
    }

    /// Events with `seq > after`, optionally for one write key, oldest first, at most `limit`.
    ///
    /// # Errors
    /// Any SQLite error.
    pub fn list(
        &self,
        write_key: Option<&str>,
        after: i64,
        limit: i64,
    ) -> rusqlite::Result<Vec<StoredEvent>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, received_at, write_key, sent_at, retry_count, path, event_json FROM events
             WHERE seq > ?1 AND (?2 IS NULL OR write_key = ?2)
             ORDER BY seq LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![after, write_key, limit], |r| {
            Ok(StoredEvent {
                seq: r.get(0)?,
                received_at: r.get(1)?,
                write_key: r.get(2)?,
                sent_at: r.get(3)?,
                retry_count: r.get(4)?,
                path: r.get(5)?,
                json: r.get(6)?,
            })
        })?;
        rows.collect()
    }

    /// Number of stored events.
    ///
    /// # Errors
    /// Any SQLite error.
    pub fn count(&self) -> rusqlite::Result<i64> {
        self.conn
            .query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))
    }

    /// The highest `seq` ever assigned (0 when none).
    ///
    /// # Errors
    /// Any SQLite error.
    pub fn last_seq(&self) -> rusqlite::Result<i64> {
        let seq: Option<i64> = self
            .conn
            .query_row(
                "SELECT seq FROM sqlite_sequence WHERE name = 'events'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        Ok(seq.unwrap_or(0))
    }

    /// Deletes every stored event (`seq` keeps counting up).
    ///
    /// # Errors
    /// Any SQLite error.
    pub fn clear(&mut self) -> rusqlite::Result<()> {
        self.conn.execute("DELETE FROM events", []).map(|_| ())
    }
}
