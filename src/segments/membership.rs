//! The membership state machine of one segment (`segments-v1.md` sec. 6): dwell, grace,
//! exit-condition hysteresis, UNKNOWN handling, re-entry rules and baselines.
//! Pure: no I/O, no clock.

use super::definition::{MembershipPolicy, OnUnknown, Reentry};
use super::Tri;

/// Why a membership changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Found while loading (new definition, new version, restored profile): hooks run, no
    /// Audience events are sent.
    Baseline,
    /// Caused by a call this device observed (track, page, identify, group, …).
    Event,
    /// Caused by time passing (a window boundary, a dwell or grace expiring, catch-up).
    Time,
}

impl Reason {
    /// `"baseline"`, `"event"` or `"time"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Baseline => "baseline",
            Reason::Event => "event",
            Reason::Time => "time",
        }
    }
}

/// Membership state of one segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Member {
    /// `None` until first determined.
    pub state: Option<bool>,
    /// When `state` last changed (ms).
    pub since: i64,
    /// Since when the move away from `state` has been wanted (dwell / grace timer).
    pub pending_since: Option<i64>,
    /// Entered at least once (for `reentry: "once"`).
    pub entered_once: bool,
    /// Last exit (for cooldown).
    pub last_exit: Option<i64>,
    /// The next determination is a baseline.
    pub baseline: bool,
    /// Definition version this state belongs to.
    pub version: u64,
}

/// A move decided by [`Member::step`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Move {
    /// Entered (true) or exited.
    pub entered: bool,
    /// Why.
    pub reason: Reason,
    /// When it took effect.
    pub at: i64,
}

impl Member {
    /// Applies the condition values at `now`. Returns the move, if any, and the next
    /// instant a timer (dwell, grace, cooldown) could move it without new input.
    pub(crate) fn step(
        &mut self,
        policy: &MembershipPolicy,
        cond: Tri,
        exit: Option<Tri>,
        now: i64,
        cause: Reason,
    ) -> (Option<Move>, Option<i64>) {
        if self.baseline {
            let value = match cond {
                Tri::Unknown => return (None, None),
                v => v == Tri::True,
            };
            self.baseline = false;
            self.pending_since = None;
            let changed = self.state != Some(value);
            let was = self.state;
            self.state = Some(value);
            if changed {
                self.since = now;
            }
            if value {
                self.entered_once = true;
            }
            // A first determination of FALSE is silent; so is an unchanged state.
            if changed && (value || was == Some(true)) {
                return (
                    Some(Move {
                        entered: value,
                        reason: Reason::Baseline,
                        at: now,
                    }),
                    None,
                );
            }
            return (None, None);
        }
        let inside = match self.state {
            Some(s) => s,
            None => match cond {
                Tri::Unknown => return (None, None),
                _ => {
                    self.state = Some(false);
                    self.since = now;
                    false
                }
            },
        };
        let (wanted, hold) = if inside {
            let wants_out = match exit {
                Some(e) => {
                    e == Tri::True || (policy.on_unknown == OnUnknown::Exit && e == Tri::Unknown)
                }
                None => {
                    cond == Tri::False
                        || (policy.on_unknown == OnUnknown::Exit && cond == Tri::Unknown)
                }
            };
            (wants_out, policy.exit_grace)
        } else {
            (cond == Tri::True, policy.min_dwell)
        };
        if !wanted {
            self.pending_since = None;
            return (None, None);
        }
        let since = *self.pending_since.get_or_insert(now);
        let mut due = hold.add_to(since);
        if !inside {
            match policy.reentry {
                Reentry::Allow => {}
                Reentry::Once if self.entered_once => return (None, None),
                Reentry::Once => {}
                Reentry::Cooldown(d) => {
                    if let Some(exit_at) = self.last_exit {
                        due = due.max(d.add_to(exit_at));
                    }
                }
            }
        }
        if now < due {
            return (None, Some(due));
        }
        // A timer that ran out between two evaluations takes effect when it ran out.
        let (at, reason) = if due > since && due < now {
            (due, Reason::Time)
        } else if due > since {
            (now, Reason::Time)
        } else {
            (now, cause)
        };
        self.state = Some(!inside);
        self.since = at;
        self.pending_since = None;
        if inside {
            self.last_exit = Some(at);
        } else {
            self.entered_once = true;
        }
        (
            Some(Move {
                entered: !inside,
                reason,
                at,
            }),
            None,
        )
    }
}
