//! Segment documents (`segments-v1.md` sec. 1–2): the typed tree the engine evaluates.
//! Pure: no I/O. It is built by the validating parser ([`parser`](super::parser), JSON
//! definitions) or decoded from compiled definitions ([`compiled`](super::compiled)).

use super::condition::{GbCondition, Missing};
use super::duration::Duration;
use crate::json::Value;

/// Deepest condition nesting (JSON objects/arrays inside `condition`).
pub const MAX_DEPTH: usize = 16;
/// Most condition nodes (JSON objects) in `condition` + `exitCondition`.
pub const MAX_NODES: usize = 256;
/// Longest regular expression pattern, in characters.
pub const MAX_REGEX_LEN: usize = 256;
/// Most segments in one `load`.
pub const MAX_SEGMENTS: usize = 64;
/// Default history budget (sec. 5).
pub const HISTORY_BUDGET: usize = 128 * 1024;
/// Largest ring of exact timestamps kept per selector.
pub const MAX_RING: usize = 32;

/// A segment key (`snake_case`, unique, becomes `audience_key`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SegmentKey(pub(crate) String);

impl SegmentKey {
    /// The key text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One problem found while loading definitions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    /// The segment's key (empty when the document has none).
    pub key: String,
    /// JSON path of the offending value, e.g. `[2].condition.and[0].window.duration`.
    pub path: String,
    /// What is wrong (lowercase; names the limit when one is exceeded, lists what is
    /// allowed for an unknown field, operator or value).
    pub message: String,
}

/// Index of a selector in the engine's selector table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SelectorId(pub(crate) u16);

/// Which calls a selector matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    /// `track(name, properties)`.
    Track,
    /// `page(category, name, properties)`.
    Page,
    /// `screen(name, properties)`.
    Screen,
}

/// What a selector counts.
#[derive(Clone, Debug)]
pub enum SelectorKind {
    /// Matching events.
    Event {
        /// Event names; empty matches every name.
        names: Vec<String>,
        /// Call type.
        event_type: EventType,
        /// Property condition (GrowthBook, `missing: "gb"`).
        filter: Option<GbCondition>,
    },
    /// Changes of a user trait from one value to another (`traitChange`).
    TraitChange {
        /// Dot path of the trait.
        trait_path: String,
        /// Test on the old value.
        from: Value,
        /// Test on the new value.
        to: Value,
    },
}

/// A selector: what to record, identified by its canonical JSON text.
#[derive(Clone, Debug)]
pub struct Selector {
    /// Canonical form; the persisted history is keyed by it.
    pub canonical: String,
    /// What it matches.
    pub kind: SelectorKind,
}

/// Selectors shared by all definitions of one load, deduplicated by canonical form.
#[derive(Clone, Debug, Default)]
pub struct SelectorTable {
    /// Invariant: canonical forms are unique.
    pub selectors: Vec<Selector>,
}

impl SelectorTable {
    /// The id of `selector`, added unless a selector with its canonical form is there;
    /// `None` past `u16::MAX` selectors.
    #[cfg(feature = "segments-parser")]
    pub(crate) fn intern(&mut self, selector: Selector) -> Option<SelectorId> {
        if let Some(idx) = self
            .selectors
            .iter()
            .position(|s| s.canonical == selector.canonical)
        {
            return Some(SelectorId(idx as u16));
        }
        if self.selectors.len() >= u16::MAX as usize {
            return None;
        }
        self.selectors.push(selector);
        Some(SelectorId((self.selectors.len() - 1) as u16))
    }
}

/// What a behavioural leaf measures.
#[derive(Clone, Debug, PartialEq)]
pub enum Measure {
    /// Number of matching events in the window.
    Count,
    /// Whether there was one.
    Exists,
    /// Number of distinct (UTC) days with one.
    DistinctDays,
    /// Milliseconds since the last one.
    SinceLast,
    /// Milliseconds since the first one.
    SinceFirst,
    /// Sum of a numeric property.
    Sum(String),
    /// Average of a numeric property.
    Avg(String),
    /// Minimum of a numeric property.
    Min(String),
    /// Maximum of a numeric property.
    Max(String),
}

impl Measure {
    /// The property path a value measure reads.
    pub fn value_path(&self) -> Option<&str> {
        match self {
            Measure::Sum(p) | Measure::Avg(p) | Measure::Min(p) | Measure::Max(p) => Some(p),
            _ => None,
        }
    }
    fn name(&self) -> &'static str {
        match self {
            Measure::Count => "count",
            Measure::Exists => "exists",
            Measure::DistinctDays => "distinct_days",
            Measure::SinceLast => "since_last",
            Measure::SinceFirst => "since_first",
            Measure::Sum(_) => "sum",
            Measure::Avg(_) => "avg",
            Measure::Min(_) => "min",
            Measure::Max(_) => "max",
        }
    }
    /// Name used in explain output.
    pub fn as_str(&self) -> &'static str {
        self.name()
    }
}

/// Calendar unit of a calendar window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CalendarUnit {
    /// The current day.
    Day,
    /// The current ISO week (from Monday).
    Week,
    /// The current month.
    Month,
}

/// What an anchored window starts at.
#[derive(Clone, Debug)]
pub enum Anchor {
    /// The first matching event.
    Event(SelectorId),
    /// A user trait holding a date (ISO 8601 text or epoch ms).
    Trait(String),
}

/// A time window.
#[derive(Clone, Debug)]
pub enum Window {
    /// `(now - offset - duration, now - offset]`.
    Rolling {
        /// Length.
        duration: Duration,
        /// How far the end lies before now.
        offset: Duration,
    },
    /// The current calendar unit, in local time (driver's UTC offset) or UTC.
    Calendar {
        /// Day, week or month.
        unit: CalendarUnit,
        /// UTC rather than local.
        utc: bool,
    },
    /// The current billing-style cycle starting at a trait date.
    Cycle {
        /// Trait path of the anchor date.
        anchor_trait: String,
        /// Cycle length.
        period: Duration,
    },
    /// `[anchor, anchor + duration]`.
    Anchored {
        /// The anchor.
        anchor: Anchor,
        /// Length.
        duration: Duration,
    },
    /// Everything this browser saw.
    Lifetime,
}

impl Window {
    /// The longest span of past time the window can reach back from `now` (for history
    /// retention); `None` for lifetime or anchored windows, which retention cannot bound.
    pub fn reach_ms(&self) -> Option<i64> {
        match self {
            Window::Rolling { duration, offset } => Some(duration.max_ms() + offset.max_ms()),
            Window::Calendar { unit, .. } => Some(match unit {
                CalendarUnit::Day => super::duration::DAY_MS + super::duration::HOUR_MS * 14,
                CalendarUnit::Week => 8 * super::duration::DAY_MS,
                CalendarUnit::Month => 32 * super::duration::DAY_MS,
            }),
            Window::Cycle { period, .. } => Some(period.max_ms()),
            Window::Anchored { duration, .. } => Some(duration.max_ms()),
            Window::Lifetime => None,
        }
    }
}

/// Whether a window reaching before the selector's horizon is UNKNOWN (`Strict`) or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coverage {
    /// UNKNOWN unless the answer is already certain.
    Strict,
    /// What was seen is complete.
    Observed,
}

/// A measurement: selector, measure, window.
#[derive(Clone, Debug)]
pub struct Metric {
    /// What is counted.
    pub selector: SelectorId,
    /// How.
    pub measure: Measure,
    /// Over which time.
    pub window: Window,
}

/// Where a traits leaf reads its attributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// User traits.
    User,
    /// Group traits.
    Group,
    /// The event context.
    Context,
    /// Page properties.
    Page,
}

/// A condition node (sec. 2).
#[derive(Clone, Debug)]
pub enum Node {
    /// All children.
    And(Vec<Node>),
    /// Any child.
    Or(Vec<Node>),
    /// Negation.
    Not(Box<Node>),
    /// GrowthBook condition on attributes.
    Traits {
        /// The condition.
        cond: GbCondition,
        /// Which attributes.
        on: Scope,
        /// Absent-path policy.
        missing: Missing,
    },
    /// A behavioural leaf.
    Event {
        /// What is measured.
        metric: Metric,
        /// GrowthBook test on the measured value (durations already in ms).
        test: Value,
        /// Horizon rule.
        coverage: Coverage,
    },
    /// A funnel.
    Funnel {
        /// Ordered steps.
        steps: Vec<SelectorId>,
        /// Each step within this of the first.
        within: Duration,
        /// Attempts must start inside this window.
        window: Window,
        /// Test on `maxStep`.
        test: Value,
        /// Count an unfinished attempt only once `within` has passed.
        settle: bool,
    },
    /// `current / baseline`.
    Compare {
        /// Numerator.
        current: Metric,
        /// Denominator.
        baseline: Metric,
        /// Test on the ratio.
        test: Value,
        /// UNKNOWN below this baseline.
        baseline_min: f64,
    },
    /// A trait changed from one value to another inside the window.
    TraitChange {
        /// The pseudo-selector recording matching changes.
        selector: SelectorId,
        /// Window.
        window: Window,
    },
    /// Another segment's current membership.
    Segment(SegmentKey),
}

/// What UNKNOWN does to membership.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnUnknown {
    /// UNKNOWN never moves a user (default).
    Hold,
    /// A member whose condition becomes UNKNOWN leaves (as if FALSE); UNKNOWN never enters.
    Exit,
}

/// Whether a user may enter again after leaving.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reentry {
    /// Any number of times.
    Allow,
    /// Only the first time.
    Once,
    /// Not before this long after the last exit.
    Cooldown(Duration),
}

/// Membership rules (sec. 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MembershipPolicy {
    /// UNKNOWN handling.
    pub on_unknown: OnUnknown,
    /// The condition must hold this long before entering.
    pub min_dwell: Duration,
    /// The exit must hold this long before leaving.
    pub exit_grace: Duration,
    /// Re-entry rule.
    pub reentry: Reentry,
}

/// Which analytics calls a transition asks the driver to make.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Outputs {
    /// `track("Audience Entered" | "Audience Exited")`.
    pub track: bool,
    /// `identify({[key]: bool})`.
    pub identify: bool,
}

/// A validated segment definition.
#[derive(Clone, Debug)]
pub struct Definition {
    /// Unique key.
    pub key: SegmentKey,
    /// Version (bumping it re-baselines silently).
    pub version: u64,
    /// Entry condition.
    pub condition: Node,
    /// Optional exit condition (hysteresis).
    pub exit_condition: Option<Node>,
    /// Membership rules.
    pub membership: MembershipPolicy,
    /// Outputs.
    pub outputs: Outputs,
}

impl Definition {
    /// Keys of the segments this definition references.
    pub fn references(&self) -> Vec<&SegmentKey> {
        let mut out = Vec::new();
        collect_refs(&self.condition, &mut out);
        if let Some(exit) = &self.exit_condition {
            collect_refs(exit, &mut out);
        }
        out
    }
}

fn collect_refs<'a>(node: &'a Node, out: &mut Vec<&'a SegmentKey>) {
    match node {
        Node::And(items) | Node::Or(items) => items.iter().for_each(|n| collect_refs(n, out)),
        Node::Not(inner) => collect_refs(inner, out),
        Node::Segment(key) => out.push(key),
        _ => {}
    }
}

/// The outcome of loading definitions ([`crate::segments::Engine::load`]).
#[derive(Clone, Debug, Default)]
pub struct LoadReport {
    /// Keys of the definitions now active, in document order.
    pub accepted: Vec<SegmentKey>,
    /// Rejected definitions: one entry per problem.
    pub errors: Vec<LoadError>,
    /// Accepted definitions with a leaf that will be UNKNOWN (a regex `RegExp` refuses).
    pub warnings: Vec<LoadError>,
    /// The history memory bound computed from the accepted definitions (bytes).
    pub history_bound: usize,
}
