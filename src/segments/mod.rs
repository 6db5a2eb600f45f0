//! Segment engine: definitions, three-valued evaluation, bounded history, membership.
//! Pure: no I/O, no clock; time arrives as milliseconds.
//!
//! Start at [`Engine`]: the web driver feeds it definitions, calls, traits and time
//! (`load`, `handle_*`) and drains what it decided (`poll_*`). Module map:
//! - [`definition`]: the typed segment document; [`parser`] (feature `segments-parser`):
//!   its validating parser for JSON definitions (limits, paths, messages); [`compiled`]: the
//!   compact pre-validated form the engine loads without the parser.
//! - [`condition`]: GrowthBook conditions with JavaScript semantics; [`regex`]: their
//!   regular expressions (JavaScript's `RegExp` through the host); [`case`]: their case
//!   mapping.
//! - [`history`]: bounded per-selector history and interval measurements.
//! - `eval`: windows, behavioural leaves, tests, `next_change_at`, explain.
//! - [`membership`]: the per-segment state machine.
//! - [`codec`]: the versioned binary persistence format (base64).

mod case;
pub mod condition;
mod regex;

/// A three-valued truth value (Kleene logic).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tri {
    /// Certainly false.
    False,
    /// Certainly true.
    True,
    /// Not known from what this browser saw.
    Unknown,
}

impl Tri {
    /// Kleene `and`: FALSE if either is FALSE, else UNKNOWN if either is UNKNOWN.
    pub fn and(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::False, _) | (_, Tri::False) => Tri::False,
            (Tri::True, Tri::True) => Tri::True,
            _ => Tri::Unknown,
        }
    }
    /// Kleene `or`: TRUE if either is TRUE, else UNKNOWN if either is UNKNOWN.
    pub fn or(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::True, _) | (_, Tri::True) => Tri::True,
            (Tri::False, Tri::False) => Tri::False,
            _ => Tri::Unknown,
        }
    }
    /// Kleene `not`: UNKNOWN stays UNKNOWN.
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Tri {
        match self {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            Tri::Unknown => Tri::Unknown,
        }
    }
    /// `Some(bool)` when known.
    pub fn to_bool(self) -> Option<bool> {
        match self {
            Tri::True => Some(true),
            Tri::False => Some(false),
            Tri::Unknown => None,
        }
    }
    /// `"T"`, `"F"` or `"U"` (explain output).
    pub fn as_str(self) -> &'static str {
        match self {
            Tri::True => "T",
            Tri::False => "F",
            Tri::Unknown => "U",
        }
    }
}

mod codec;
pub mod compiled;
pub mod definition;
mod duration;
mod engine;
mod eval;
mod history;
mod membership;
#[cfg(feature = "segments-parser")]
mod parser;

pub use codec::StateError;
pub use definition::{LoadError, LoadReport, Outputs, SegmentKey};
pub use engine::{Engine, EventInput, SegmentStatus, Transition, SESSION_GAP_MS, SESSION_START};
pub use membership::Reason;
