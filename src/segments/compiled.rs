//! Compiled definitions: the definitions of one load, validated, in a compact versioned
//! binary form (one base64 string). Pure: no I/O.
//!
//! [`compile`] (the `segments-parser` feature: natively — the `sieve-segments` CLI, the
//! collector — and in the browser's full engine wasm) runs the parser and the load checks
//! once and writes what they accepted; [`decode`] reads it back without the parser, which
//! the engine wasm does not carry (issue 15, decision 4). Errors and warnings are the
//! compiler's; decoding only refuses a text that is not a compiled form of this version.
//!
//! **API boundary**: settings, files and the collector carry this text across SDK versions.
//! Layout (v1): `"SD"`, version byte, then (LEB128 varints as in [`codec`](super::codec);
//! strings length-prefixed; GrowthBook conditions and tests as their JSON text) the selector
//! table, then the definitions, each with its condition tree in prefix order. A reader that
//! finds another version refuses it: compile again with the SDK that reads it.

use super::codec::R;
#[cfg(feature = "segments-parser")]
use super::codec::W;
use super::condition::{GbCondition, Missing};
use super::definition::{
    Anchor, CalendarUnit, Coverage, Definition, EventType, LoadError, Measure, MembershipPolicy,
    Metric, Node, OnUnknown, Outputs, Reentry, Scope, SegmentKey, Selector, SelectorId,
    SelectorKind, SelectorTable, Window, MAX_DEPTH, MAX_SEGMENTS,
};
use super::duration::Duration;
use crate::json::{self, Value};

const MAGIC: &[u8; 2] = b"SD";
const VERSION: u8 = 1;

/// Why a text is not compiled definitions this version can load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompiledError {
    /// Not base64, truncated, or inconsistent.
    Malformed,
    /// Written by another format version.
    UnknownVersion,
}

impl CompiledError {
    /// A short, lowercase description.
    pub fn message(self) -> &'static str {
        match self {
            CompiledError::Malformed => "compiled segment definitions are malformed",
            CompiledError::UnknownVersion => {
                "compiled segment definitions of another version: compile them again for this SDK"
            }
        }
    }
}

/// Validates the JSON array `defs` as [`Engine::load`](super::Engine::load) does (same
/// errors and warnings, the default history budget) and writes what it accepted: the
/// compiled text (also when nothing was accepted; `None` when `defs` is not an array, which
/// [`Engine::load`](super::Engine::load) refuses without replacing anything) and the report.
/// The collector's `--segments-file` and the `sieve-segments` CLI call this.
#[cfg(feature = "segments-parser")]
pub fn compile(defs: &Value) -> (Option<String>, super::LoadReport) {
    let (report, valid) = super::parser::validate(defs, super::definition::HISTORY_BUDGET);
    (
        valid.map(|(table, accepted)| encode(&table, &accepted)),
        report,
    )
}

#[cfg(feature = "segments-parser")]
fn encode(table: &SelectorTable, defs: &[Definition]) -> String {
    let mut w = W(Vec::with_capacity(256));
    w.0.extend_from_slice(MAGIC);
    w.0.push(VERSION);
    w.u(table.selectors.len() as u64);
    for sel in &table.selectors {
        w.s(&sel.canonical);
        match &sel.kind {
            SelectorKind::Event {
                names,
                event_type,
                filter,
            } => {
                w.0.push(match event_type {
                    EventType::Track => 0,
                    EventType::Page => 1,
                    EventType::Screen => 2,
                });
                w.u(names.len() as u64);
                for n in names {
                    w.s(n);
                }
                w.s(&filter
                    .as_ref()
                    .map(|f| f.raw().to_json())
                    .unwrap_or_default());
            }
            SelectorKind::TraitChange {
                trait_path,
                from,
                to,
            } => {
                w.0.push(3);
                w.s(trait_path);
                w.s(&from.to_json());
                w.s(&to.to_json());
            }
        }
    }
    w.u(defs.len() as u64);
    for d in defs {
        w.s(d.key.as_str());
        w.u(d.version);
        put_node(&mut w, &d.condition);
        match &d.exit_condition {
            Some(n) => {
                w.0.push(1);
                put_node(&mut w, n);
            }
            None => w.0.push(0),
        }
        let m = &d.membership;
        w.0.push(u8::from(m.on_unknown == OnUnknown::Exit));
        put_duration(&mut w, m.min_dwell);
        put_duration(&mut w, m.exit_grace);
        match m.reentry {
            Reentry::Allow => w.0.push(0),
            Reentry::Once => w.0.push(1),
            Reentry::Cooldown(c) => {
                w.0.push(2);
                put_duration(&mut w, c);
            }
        }
        w.0.push(u8::from(d.outputs.track) | u8::from(d.outputs.identify) << 1);
    }
    crate::base64::encode(&w.0)
}

#[cfg(feature = "segments-parser")]
fn put_duration(w: &mut W, d: Duration) {
    w.u(u64::from(d.months));
    w.i(d.ms);
}

#[cfg(feature = "segments-parser")]
fn put_window(w: &mut W, win: &Window) {
    match win {
        Window::Rolling { duration, offset } => {
            w.0.push(0);
            put_duration(w, *duration);
            put_duration(w, *offset);
        }
        Window::Calendar { unit, utc } => {
            w.0.push(1);
            w.0.push(match unit {
                CalendarUnit::Day => 0,
                CalendarUnit::Week => 1,
                CalendarUnit::Month => 2,
            });
            w.0.push(u8::from(*utc));
        }
        Window::Cycle {
            anchor_trait,
            period,
        } => {
            w.0.push(2);
            w.s(anchor_trait);
            put_duration(w, *period);
        }
        Window::Anchored { anchor, duration } => {
            match anchor {
                Anchor::Event(sel) => {
                    w.0.push(3);
                    w.u(u64::from(sel.0));
                }
                Anchor::Trait(path) => {
                    w.0.push(4);
                    w.s(path);
                }
            }
            put_duration(w, *duration);
        }
        Window::Lifetime => w.0.push(5),
    }
}

#[cfg(feature = "segments-parser")]
fn put_metric(w: &mut W, m: &Metric) {
    w.u(u64::from(m.selector.0));
    let (tag, path) = match &m.measure {
        Measure::Count => (0, None),
        Measure::Exists => (1, None),
        Measure::DistinctDays => (2, None),
        Measure::SinceLast => (3, None),
        Measure::SinceFirst => (4, None),
        Measure::Sum(p) => (5, Some(p)),
        Measure::Avg(p) => (6, Some(p)),
        Measure::Min(p) => (7, Some(p)),
        Measure::Max(p) => (8, Some(p)),
    };
    w.0.push(tag);
    if let Some(p) = path {
        w.s(p);
    }
    put_window(w, &m.window);
}

#[cfg(feature = "segments-parser")]
fn put_node(w: &mut W, node: &Node) {
    match node {
        Node::And(items) | Node::Or(items) => {
            w.0.push(if matches!(node, Node::And(_)) { 0 } else { 1 });
            w.u(items.len() as u64);
            for n in items {
                put_node(w, n);
            }
        }
        Node::Not(inner) => {
            w.0.push(2);
            put_node(w, inner);
        }
        Node::Traits { cond, on, missing } => {
            w.0.push(3);
            w.s(&cond.raw().to_json());
            w.0.push(match on {
                Scope::User => 0,
                Scope::Group => 1,
                Scope::Context => 2,
                Scope::Page => 3,
            });
            w.0.push(match missing {
                Missing::Unknown => 0,
                Missing::Gb => 1,
                Missing::False => 2,
            });
        }
        Node::Event {
            metric,
            test,
            coverage,
        } => {
            w.0.push(4);
            put_metric(w, metric);
            w.s(&test.to_json());
            w.0.push(u8::from(*coverage == Coverage::Observed));
        }
        Node::Funnel {
            steps,
            within,
            window,
            test,
            settle,
        } => {
            w.0.push(5);
            w.u(steps.len() as u64);
            for s in steps {
                w.u(u64::from(s.0));
            }
            put_duration(w, *within);
            put_window(w, window);
            w.s(&test.to_json());
            w.0.push(u8::from(*settle));
        }
        Node::Compare {
            current,
            baseline,
            test,
            baseline_min,
        } => {
            w.0.push(6);
            put_metric(w, current);
            put_metric(w, baseline);
            w.s(&test.to_json());
            w.f(*baseline_min);
        }
        Node::TraitChange { selector, window } => {
            w.0.push(7);
            w.u(u64::from(selector.0));
            put_window(w, window);
        }
        Node::Segment(key) => {
            w.0.push(8);
            w.s(key.as_str());
        }
    }
}

/// Reads compiled definitions: the selector table, the definitions, and a warning for each
/// condition with a pattern this host's `RegExp` refuses (its test is UNKNOWN).
///
/// # Errors
/// [`CompiledError`] for anything but a well-formed compiled form of this version.
#[allow(clippy::type_complexity)]
pub fn decode(
    text: &str,
) -> Result<(SelectorTable, Vec<Definition>, Vec<LoadError>), CompiledError> {
    let bytes = crate::base64::decode(json::trim_ws(text, true)).ok_or(CompiledError::Malformed)?;
    if bytes.get(..2) != Some(&MAGIC[..]) {
        return Err(CompiledError::Malformed);
    }
    if bytes.get(2) != Some(&VERSION) {
        return Err(CompiledError::UnknownVersion);
    }
    let mut d = Decoder {
        r: R::new(&bytes, 3),
        warnings: Vec::new(),
        key: String::new(),
        selectors: 0,
    };
    let (table, defs) = d.all();
    if !d.r.done() {
        return Err(CompiledError::Malformed);
    }
    Ok((table, defs, d.warnings))
}

/// Reads with [`R`]'s sticky errors: whatever it builds from bad input is thrown away.
struct Decoder<'a> {
    r: R<'a>,
    warnings: Vec<LoadError>,
    /// The definition being read (warnings name it).
    key: String,
    /// Selectors in the table: every id read must be below.
    selectors: usize,
}

impl Decoder<'_> {
    fn all(&mut self) -> (SelectorTable, Vec<Definition>) {
        let mut table = SelectorTable::default();
        let n = self.r.len().min(usize::from(u16::MAX));
        for _ in 0..n {
            let canonical = self.r.s();
            let kind = match self.r.tag(4) {
                3 => SelectorKind::TraitChange {
                    trait_path: self.r.s(),
                    from: self.json(),
                    to: self.json(),
                },
                t => SelectorKind::Event {
                    event_type: match t {
                        0 => EventType::Track,
                        1 => EventType::Page,
                        _ => EventType::Screen,
                    },
                    names: (0..self.r.len()).map(|_| self.r.s()).collect(),
                    filter: {
                        let filter = self.r.s();
                        (!filter.is_empty()).then(|| self.gb(&filter))
                    },
                },
            };
            table.selectors.push(Selector { canonical, kind });
        }
        self.selectors = table.selectors.len();
        let n = self.r.len().min(MAX_SEGMENTS);
        let mut defs = Vec::with_capacity(n);
        for _ in 0..n {
            self.key = self.r.s();
            let version = self.r.u();
            let condition = self.node(0);
            let exit_condition = self.r.bool().then(|| self.node(0));
            let on_unknown = if self.r.bool() {
                OnUnknown::Exit
            } else {
                OnUnknown::Hold
            };
            let min_dwell = self.duration();
            let exit_grace = self.duration();
            let reentry = match self.r.tag(3) {
                0 => Reentry::Allow,
                1 => Reentry::Once,
                _ => Reentry::Cooldown(self.duration()),
            };
            let outputs = self.r.tag(4);
            defs.push(Definition {
                key: SegmentKey(std::mem::take(&mut self.key)),
                version,
                condition,
                exit_condition,
                membership: MembershipPolicy {
                    on_unknown,
                    min_dwell,
                    exit_grace,
                    reentry,
                },
                outputs: Outputs {
                    track: outputs & 1 != 0,
                    identify: outputs & 2 != 0,
                },
            });
        }
        (table, defs)
    }

    fn json(&mut self) -> Value {
        let text = self.r.s();
        json::parse(&text).unwrap_or_else(|_| {
            self.r.bad = true;
            Value::Null
        })
    }

    /// A GrowthBook condition, its patterns compiled by the host now.
    fn gb(&mut self, text: &str) -> GbCondition {
        let raw = json::parse(text).unwrap_or_else(|_| {
            self.r.bad = true;
            Value::Null
        });
        let cond = GbCondition::new(raw);
        if cond.regex_problems().next().is_some() {
            self.warnings.push(LoadError {
                key: self.key.clone(),
                path: String::new(),
                message: "regular expression refused by JavaScript's RegExp: its test is UNKNOWN (false where GrowthBook's answer applies)".to_owned(),
            });
        }
        cond
    }

    fn selector(&mut self) -> SelectorId {
        let id = self.r.u();
        if id as usize >= self.selectors {
            self.r.bad = true;
        }
        SelectorId(id as u16)
    }

    fn duration(&mut self) -> Duration {
        Duration {
            months: self.r.u32(),
            ms: self.r.i(),
        }
    }

    fn window(&mut self) -> Window {
        match self.r.tag(6) {
            0 => Window::Rolling {
                duration: self.duration(),
                offset: self.duration(),
            },
            1 => Window::Calendar {
                unit: match self.r.tag(3) {
                    0 => CalendarUnit::Day,
                    1 => CalendarUnit::Week,
                    _ => CalendarUnit::Month,
                },
                utc: self.r.bool(),
            },
            2 => Window::Cycle {
                anchor_trait: self.r.s(),
                period: self.duration(),
            },
            3 => Window::Anchored {
                anchor: Anchor::Event(self.selector()),
                duration: self.duration(),
            },
            4 => Window::Anchored {
                anchor: Anchor::Trait(self.r.s()),
                duration: self.duration(),
            },
            _ => Window::Lifetime,
        }
    }

    fn metric(&mut self) -> Metric {
        let selector = self.selector();
        let measure = match self.r.tag(9) {
            0 => Measure::Count,
            1 => Measure::Exists,
            2 => Measure::DistinctDays,
            3 => Measure::SinceLast,
            4 => Measure::SinceFirst,
            5 => Measure::Sum(self.r.s()),
            6 => Measure::Avg(self.r.s()),
            7 => Measure::Min(self.r.s()),
            _ => Measure::Max(self.r.s()),
        };
        Metric {
            selector,
            measure,
            window: self.window(),
        }
    }

    /// A condition node at nesting `depth` (bounded like the parser's documents: deeper is
    /// bad input, read no further).
    fn node(&mut self, depth: usize) -> Node {
        if depth > MAX_DEPTH {
            self.r.bad = true;
        }
        if self.r.bad {
            return Node::And(Vec::new());
        }
        match self.r.tag(9) {
            tag @ (0 | 1) => {
                let items = (0..self.r.len()).map(|_| self.node(depth + 1)).collect();
                if tag == 0 {
                    Node::And(items)
                } else {
                    Node::Or(items)
                }
            }
            2 => Node::Not(Box::new(self.node(depth + 1))),
            3 => {
                let text = self.r.s();
                Node::Traits {
                    cond: self.gb(&text),
                    on: match self.r.tag(4) {
                        0 => Scope::User,
                        1 => Scope::Group,
                        2 => Scope::Context,
                        _ => Scope::Page,
                    },
                    missing: match self.r.tag(3) {
                        0 => Missing::Unknown,
                        1 => Missing::Gb,
                        _ => Missing::False,
                    },
                }
            }
            4 => Node::Event {
                metric: self.metric(),
                test: self.json(),
                coverage: if self.r.bool() {
                    Coverage::Observed
                } else {
                    Coverage::Strict
                },
            },
            5 => Node::Funnel {
                steps: (0..self.r.len()).map(|_| self.selector()).collect(),
                within: self.duration(),
                window: self.window(),
                test: self.json(),
                settle: self.r.bool(),
            },
            6 => Node::Compare {
                current: self.metric(),
                baseline: self.metric(),
                test: self.json(),
                baseline_min: self.r.f(),
            },
            7 => Node::TraitChange {
                selector: self.selector(),
                window: self.window(),
            },
            _ => Node::Segment(SegmentKey(self.r.s())),
        }
    }
}
