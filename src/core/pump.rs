//! The polling protocol in one place: [`Analytics::pump`] takes the core's outputs in the
//! protocol's order and hands each to a [`Host`], which does the I/O. The web driver is one
//! host, the tests' simulated world another, so both drive the core the same way. Pure: the
//! host does the I/O (static dispatch: no indirect calls in the wasm).

use crate::core::config::CookieConfig;
use crate::core::delivery::{Notice, Transmit};
use crate::core::identity::{StorageWrite, Store};
use crate::core::persisted::Query;
use crate::core::time::Millis;
use crate::core::Analytics;

/// What the core needs done by whoever runs it. Every method is called from
/// [`Analytics::pump`] while the core is borrowed: a host that would call back into the core
/// (or into user code) defers that until the pump returns.
pub trait Host {
    /// Every `(key, value)` of localStorage whose key starts with `prefix`, read now.
    fn scan(&mut self, prefix: &str) -> Vec<(String, String)>;
    /// Applies a storage write (a cookie with `cookie`'s attributes); `false` when it failed
    /// (quota, blocked).
    fn write(&mut self, write: &StorageWrite, cookie: &CookieConfig) -> bool;
    /// Tries to take the lock of tab `tab` (named `prefix + tab`) without waiting. When it is
    /// granted, a later task reads the keys again, hands them to
    /// [`Analytics::handle_claimed`] and lets the lock go; when refused, nothing.
    fn claim(&mut self, prefix: &str, tab: &str);
    /// Holds (`true`) or lets go of this tab's own lock, named `name`.
    fn hold_lock(&mut self, name: &str, hold: bool);
    /// Sends a request; its outcome comes back later through
    /// [`Analytics::handle_send_outcome`] or [`Analytics::handle_beacon_sent`].
    fn send(&mut self, transmit: Transmit);
    /// Tells the page (the `error` emitter event).
    fn notice(&mut self, notice: Notice);
    /// Arms the one timer for `deadline`, replacing the previous one (`None`: none). When it
    /// fires: [`Analytics::handle_timeout`], then [`Analytics::pump`].
    fn set_timer(&mut self, deadline: Option<Millis>);
}

/// How much of the protocol a pump runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Right after an API call, in the caller's task: storage only (identity's writes, and
    /// queries). Requests, the timer, notices and the queue's writes wait for the I/O task.
    Call,
    /// After any other input (a response, the timer, a lock, a `get` or `command`):
    /// everything but the end of the turn.
    Input,
    /// The I/O task, which the host runs right after the caller's task (`setTimeout(0)`), or
    /// at once when the page is hidden: the end of the turn (the events accepted since become
    /// chunk writes), then everything.
    IoTask,
}

impl Analytics {
    /// Runs the polling protocol through `host`: in order, the end of the turn
    /// ([`Stage::IoTask`] only), queries and storage writes until neither has more, then
    /// (not after a [`Stage::Call`]) requests, the timer and notices. Returns whether the
    /// host must queue the I/O task (after a call, or when the turn has writes waiting);
    /// one queued I/O task serves a whole burst of calls.
    pub fn pump(&mut self, now: Millis, host: &mut impl Host, stage: Stage) -> bool {
        if stage == Stage::IoTask && self.needs_turn_end() {
            self.handle_turn_end(now);
        }
        loop {
            let mut progressed = false;
            while let Some(query) = self.poll_query() {
                progressed = true;
                let Some(prefix) = self.queue_prefix().map(str::to_owned) else {
                    continue;
                };
                match query {
                    Query::Scan => {
                        let entries = host.scan(&prefix);
                        self.handle_storage_scan(now, &entries);
                    }
                    Query::Claim(tab) => host.claim(&prefix, &tab),
                    Query::HoldLock(hold) => {
                        let tab = self.queue_tab().unwrap_or("");
                        host.hold_lock(&crate::json::concat(&[prefix.as_str(), tab]), hold);
                    }
                }
            }
            while let Some(write) = self.poll_storage_write() {
                progressed = true;
                if !host.write(&write, &self.config().cookie) {
                    let queue_key = self
                        .queue_prefix()
                        .is_some_and(|p| write.key.starts_with(p));
                    if write.store == Store::Local && queue_key {
                        self.handle_storage_failed();
                    }
                }
            }
            if !progressed {
                break;
            }
        }
        if stage != Stage::Call {
            while let Some(transmit) = self.poll_transmit(now) {
                host.send(transmit);
            }
            host.set_timer(self.poll_timeout());
            while let Some(notice) = self.poll_notice() {
                host.notice(notice);
            }
        }
        stage == Stage::Call || self.needs_turn_end()
    }
}
