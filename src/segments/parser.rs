//! The definitions parser/validator: segment documents (JSON) to the typed tree of
//! [`definition`](super::definition), with every problem reported as a [`LoadError`] naming
//! the segment key, the JSON path and what is allowed (or the limit broken); one bad document
//! never stops the others from loading. Pure: no I/O. The parser never panics: input depth
//! is checked before recursion.
//!
//! Built only with the `segments-parser` feature: natively, and in the browser only in the
//! full engine wasm, fetched when definitions arrive as JSON (compiled definitions, see
//! [`compiled`](super::compiled), need no parser).

use super::condition::GbCondition;
use super::condition::Missing;
use super::definition::LoadReport;
use super::definition::*;
use super::duration::Duration;
use super::history::Needs;
use super::history::{add_def_needs, bound_bytes};
use crate::json::{push_u64, Map, Number, Value};

const E_NOT_OBJECT: &str = "expected an object";
const E_MISSING: &str = "required field is missing";
const E_DURATION: &str = "expected an ISO 8601 duration such as \"P7D\" or \"PT24H\"";
const E_STRING: &str = "expected a string";
const E_MEASURE: &str = "expected \"count\", \"exists\", \"distinct_days\", \"since_last\", \"since_first\" or {\"sum\" | \"avg\" | \"min\" | \"max\": \"<property path>\"}";
/// The GrowthBook operators a condition may use (`$inGroup`/`$notInGroup` have their own
/// message: v1 has segment references instead of saved groups).
const GB_OPERATORS: &[&str] = &[
    "$eq",
    "$ne",
    "$lt",
    "$lte",
    "$gt",
    "$gte",
    "$in",
    "$nin",
    "$ini",
    "$nini",
    "$all",
    "$alli",
    "$elemMatch",
    "$size",
    "$exists",
    "$type",
    "$regex",
    "$regexi",
    "$notRegex",
    "$notRegexi",
    "$not",
    "$veq",
    "$vne",
    "$vgt",
    "$vgte",
    "$vlt",
    "$vlte",
];
/// The operators a measured value's `test` may use.
const TEST_OPERATORS: &[&str] = &[
    "$eq", "$ne", "$lt", "$lte", "$gt", "$gte", "$in", "$nin", "$not", "$exists",
];
/// `$type`'s operands (GrowthBook's `getType`).
const GB_TYPES: &[&str] = &[
    "string",
    "number",
    "boolean",
    "array",
    "object",
    "null",
    "undefined",
];

/// `prefix` followed by the allowed names: `unknown field: expected one of a, b, c`.
fn expected_one_of(prefix: &str, allowed: &[&str]) -> String {
    let mut m = String::from(prefix);
    m.push_str(": expected one of ");
    for (i, a) in allowed.iter().enumerate() {
        if i > 0 {
            m.push_str(", ");
        }
        m.push_str(a);
    }
    m
}

/// `expected "a", "b" or "c"`.
fn expected_names(names: &[&str]) -> String {
    let mut m = String::from("expected ");
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            m.push_str(if i + 1 == names.len() { " or " } else { ", " });
        }
        m.push('"');
        m.push_str(n);
        m.push('"');
    }
    m
}

/// What a measured value is, for its `test`'s operands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum TestKind {
    /// A number (`count`, `distinct_days`, sums, funnel `maxStep`, compare `ratio`).
    Number,
    /// Milliseconds, also written as an ISO 8601 duration (`since_last`, `since_first`).
    Duration,
    /// A boolean (`exists`).
    Bool,
}

impl TestKind {
    fn of(measure: &Measure) -> TestKind {
        match measure {
            Measure::Exists => TestKind::Bool,
            Measure::SinceLast | Measure::SinceFirst => TestKind::Duration,
            _ => TestKind::Number,
        }
    }
    /// Whether `v` is an operand of this kind.
    fn accepts(self, v: &Value) -> bool {
        match (self, v) {
            (TestKind::Bool, Value::Bool(_)) => true,
            (TestKind::Number | TestKind::Duration, Value::Number(_)) => true,
            (TestKind::Duration, Value::String(s)) => Duration::parse(s).is_some(),
            _ => false,
        }
    }
    fn message(self) -> &'static str {
        match self {
            TestKind::Number => "expected a number: this measure is a number",
            TestKind::Duration => {
                "expected a number of milliseconds or an ISO 8601 duration such as \"P14D\""
            }
            TestKind::Bool => "expected true or false: exists measures a boolean",
        }
    }
}

/// Parser state for one document.
struct Ctx<'a> {
    key: String,
    errors: &'a mut Vec<LoadError>,
    warnings: &'a mut Vec<LoadError>,
    table: &'a mut SelectorTable,
}

fn child(path: &str, field: &str) -> String {
    let mut p = String::with_capacity(path.len() + field.len() + 1);
    p.push_str(path);
    if !p.is_empty() {
        p.push('.');
    }
    p.push_str(field);
    p
}

fn index(path: &str, idx: usize) -> String {
    let mut p = String::with_capacity(path.len() + 4);
    p.push_str(path);
    p.push('[');
    push_u64(&mut p, idx as u64);
    p.push(']');
    p
}

/// JSON nesting depth of `v` (a scalar is 0), stopping once past `limit`.
fn depth(v: &Value, limit: usize) -> usize {
    if limit == 0 {
        return 1;
    }
    match v {
        Value::Array(items) => 1 + items.iter().map(|c| depth(c, limit - 1)).max().unwrap_or(0),
        Value::Object(map) => {
            1 + map
                .iter()
                .map(|(_, c)| depth(c, limit - 1))
                .max()
                .unwrap_or(0)
        }
        _ => 0,
    }
}

fn count_objects(v: &Value) -> usize {
    match v {
        Value::Array(items) => items.iter().map(count_objects).sum(),
        Value::Object(map) => 1 + map.iter().map(|(_, c)| count_objects(c)).sum::<usize>(),
        _ => 0,
    }
}

impl Ctx<'_> {
    fn err(&mut self, path: &str, message: &str) {
        self.errors.push(LoadError {
            key: self.key.clone(),
            path: path.to_owned(),
            message: message.to_owned(),
        });
    }

    fn object<'v>(&mut self, v: &'v Value, path: &str) -> Option<&'v Map> {
        let map = v.as_object();
        if map.is_none() {
            self.err(path, E_NOT_OBJECT);
        }
        map
    }

    /// Reports every field of `map` not in `allowed`; returns whether all were allowed.
    fn fields(&mut self, map: &Map, allowed: &[&str], path: &str) -> bool {
        let mut ok = true;
        for (k, _) in map.iter() {
            if !allowed.contains(&k) {
                self.err(&child(path, k), &expected_one_of("unknown field", allowed));
                ok = false;
            }
        }
        ok
    }

    fn required<'v>(&mut self, map: &'v Map, field: &str, path: &str) -> Option<&'v Value> {
        let v = map.get(field);
        if v.is_none() {
            self.err(&child(path, field), E_MISSING);
        }
        v
    }

    fn duration(&mut self, v: &Value, path: &str) -> Option<Duration> {
        let d = v.as_str().and_then(Duration::parse);
        if d.is_none() {
            self.err(path, E_DURATION);
        }
        d
    }

    fn opt_duration(&mut self, map: &Map, field: &str, path: &str) -> Option<Duration> {
        match map.get(field) {
            None => Some(Duration::default()),
            Some(v) => self.duration(v, &child(path, field)),
        }
    }

    fn string(&mut self, v: &Value, path: &str) -> Option<String> {
        match v.as_str() {
            Some(s) if !s.is_empty() => Some(s.to_owned()),
            _ => {
                self.err(path, E_STRING);
                None
            }
        }
    }

    /// A GrowthBook condition object; checks regex patterns (length is an error,
    /// unsupported syntax a warning: the leaf will be UNKNOWN).
    fn gb(&mut self, v: &Value, path: &str) -> Option<GbCondition> {
        if !self.check_condition(v, path) {
            return None;
        }
        if let Some(p) = long_regex(v, 0) {
            let _ = p;
            self.err(
                path,
                "regex pattern longer than the limit of 256 characters",
            );
            return None;
        }
        let cond = GbCondition::new(v.clone());
        if cond.regex_problems().next().is_some() {
            self.warnings.push(LoadError {
                key: self.key.clone(),
                path: path.to_owned(),
                message: "regular expression refused by JavaScript's RegExp: its test is UNKNOWN (false where GrowthBook's answer applies)".to_owned(),
            });
        }
        Some(cond)
    }

    /// A string field taking one of `names`: its index. Absent, it is the first (the
    /// default) when `optional`, else an error; another value is an error listing them.
    fn choice(
        &mut self,
        map: &Map,
        field: &str,
        path: &str,
        names: &[&str],
        optional: bool,
    ) -> Option<usize> {
        let found = match map.get(field) {
            None if optional => return Some(0),
            None => {
                self.err(&child(path, field), E_MISSING);
                return None;
            }
            Some(v) => v.as_str().and_then(|s| names.iter().position(|n| *n == s)),
        };
        if found.is_none() {
            self.err(&child(path, field), &expected_names(names));
        }
        found
    }

    /// Reports `message` at `path` unless `ok`; returns `ok`.
    fn expect(&mut self, ok: bool, path: &str, message: &str) -> bool {
        if !ok {
            self.err(path, message);
        }
        ok
    }

    /// Checks a GrowthBook condition (`traits`, `where`, `$elemMatch`'s condition form):
    /// its keys are attribute paths or `$and`/`$or`/`$nor`/`$not`. The evaluator keeps
    /// GrowthBook's answers for anything else (conformance); the loader refuses it, as the
    /// spec refuses unknown fields. Depth is bounded by the document's depth check.
    fn check_condition(&mut self, v: &Value, path: &str) -> bool {
        let Some(map) = v.as_object() else {
            self.err(path, E_NOT_OBJECT);
            return false;
        };
        let mut ok = true;
        for (k, c) in map.iter() {
            let p = child(path, k);
            ok &= match k {
                "$or" | "$nor" | "$and" => match c.as_array() {
                    Some(items) => {
                        let mut all = true;
                        for (i, item) in items.iter().enumerate() {
                            all &= self.check_condition(item, &index(&p, i));
                        }
                        all
                    }
                    None => self.expect(false, &p, "expected an array of conditions"),
                },
                "$not" => self.check_condition(c, &p),
                _ if k.starts_with('$') => self.expect(
                    false,
                    &p,
                    "unknown operator: a condition's keys are attribute paths or $and, $or, $nor, $not",
                ),
                _ => self.check_value(c, &p),
            };
        }
        ok
    }

    /// Checks a condition value: a literal, or an operator object whose operators exist
    /// and whose operands have the right shape.
    fn check_value(&mut self, v: &Value, path: &str) -> bool {
        let Some(map) = v.as_object() else {
            return true;
        };
        let operators = map.iter().filter(|(k, _)| k.starts_with('$')).count();
        if operators == 0 {
            // A literal object: deep equality.
            return true;
        }
        if operators != map.len() {
            self.err(
                path,
                "mixes operators ($...) with fields: use only operators, or a literal object without them",
            );
            return false;
        }
        let mut ok = true;
        for (op, operand) in map.iter() {
            let p = child(path, op);
            ok &= match op {
                "$inGroup" | "$notInGroup" => self.expect(
                    false,
                    &p,
                    "saved groups are not supported: use a segment reference ({\"segment\": \"<key>\"})",
                ),
                _ if !GB_OPERATORS.contains(&op) => {
                    self.expect(false, &p, &expected_one_of("unknown operator", GB_OPERATORS))
                }
                "$in" | "$nin" | "$ini" | "$nini" | "$all" | "$alli" => {
                    self.expect(operand.as_array().is_some(), &p, "expected an array")
                }
                "$not" | "$size" => self.check_value(operand, &p),
                "$elemMatch" => {
                    let operator_form = operand
                        .as_object()
                        .is_some_and(|m| !m.is_empty() && m.iter().all(|(k, _)| k.starts_with('$')));
                    if operator_form {
                        self.check_value(operand, &p)
                    } else {
                        self.check_condition(operand, &p)
                    }
                }
                "$type" => self.expect(
                    operand.as_str().is_some_and(|t| GB_TYPES.contains(&t)),
                    &p,
                    &expected_one_of("unknown type", GB_TYPES),
                ),
                "$regex" | "$regexi" | "$notRegex" | "$notRegexi" => {
                    self.expect(operand.as_str().is_some(), &p, E_STRING)
                }
                _ => true,
            };
        }
        ok
    }

    /// Checks a measured value's test: a literal or operators of [`TEST_OPERATORS`] with
    /// operands of `kind`.
    fn check_test(&mut self, v: &Value, path: &str, kind: TestKind) -> bool {
        let Some(map) = v.as_object() else {
            return self.expect(kind.accepts(v), path, kind.message());
        };
        if map.is_empty() {
            return self.expect(false, path, "expected a test such as {\"$gte\": 3}");
        }
        let mut ok = true;
        for (op, operand) in map.iter() {
            let p = child(path, op);
            ok &= match op {
                _ if !TEST_OPERATORS.contains(&op) => self.expect(
                    false,
                    &p,
                    &expected_one_of("unknown operator for a measured value", TEST_OPERATORS),
                ),
                "$in" | "$nin" => match operand.as_array() {
                    Some(items) => {
                        let good = items.iter().all(|x| kind.accepts(x));
                        self.expect(good, &p, kind.message())
                    }
                    None => self.expect(false, &p, "expected an array"),
                },
                "$not" => self.check_test(operand, &p, kind),
                "$exists" => self.expect(
                    matches!(operand, Value::Bool(_)),
                    &p,
                    "expected true or false",
                ),
                "$lt" | "$lte" | "$gt" | "$gte" if kind == TestKind::Bool => self.expect(
                    false,
                    &p,
                    "exists measures a boolean: use $eq or $ne with true or false",
                ),
                _ => self.expect(kind.accepts(operand), &p, kind.message()),
            };
        }
        ok
    }

    fn node(&mut self, v: &Value, path: &str) -> Option<Node> {
        let map = self.object(v, path)?;
        let head = [
            "and",
            "or",
            "not",
            "traits",
            "event",
            "funnel",
            "compare",
            "traitChange",
            "segment",
        ]
        .into_iter()
        .find(|k| map.contains_key(k));
        let Some(head) = head else {
            self.err(path, "expected a condition: and, or, not, traits, event, funnel, compare, traitChange or segment");
            return None;
        };
        match head {
            "and" | "or" => {
                self.fields(map, &[head], path);
                let p = child(path, head);
                let Some(items) = map.get(head).and_then(Value::as_array) else {
                    self.err(&p, "expected an array of conditions");
                    return None;
                };
                if items.is_empty() {
                    self.err(&p, "expected at least one condition");
                    return None;
                }
                let mut out = Vec::with_capacity(items.len());
                let mut ok = true;
                for (i, item) in items.iter().enumerate() {
                    match self.node(item, &index(&p, i)) {
                        Some(n) => out.push(n),
                        None => ok = false,
                    }
                }
                let fields_ok = map.len() == 1;
                (ok && fields_ok).then(|| {
                    if head == "and" {
                        Node::And(out)
                    } else {
                        Node::Or(out)
                    }
                })
            }
            "not" => {
                let fields_ok = self.fields(map, &["not"], path);
                let inner = self.node(map.get("not")?, &child(path, "not"))?;
                fields_ok.then(|| Node::Not(Box::new(inner)))
            }
            "segment" => {
                let fields_ok = self.fields(map, &["segment"], path);
                let key = self.string(map.get("segment")?, &child(path, "segment"))?;
                fields_ok.then_some(Node::Segment(SegmentKey(key)))
            }
            "traits" => {
                let fields_ok = self.fields(map, &["traits", "on", "missing"], path);
                let cond = self.gb(map.get("traits")?, &child(path, "traits"));
                let on = self
                    .choice(map, "on", path, &["user", "group", "context", "page"], true)
                    .and_then(|i| {
                        [Scope::User, Scope::Group, Scope::Context, Scope::Page]
                            .get(i)
                            .copied()
                    });
                let missing = self
                    .choice(map, "missing", path, &["unknown", "gb", "false"], true)
                    .and_then(|i| {
                        [Missing::Unknown, Missing::Gb, Missing::False]
                            .get(i)
                            .copied()
                    });
                if !fields_ok {
                    return None;
                }
                Some(Node::Traits {
                    cond: cond?,
                    on: on?,
                    missing: missing?,
                })
            }
            "event" => {
                let fields_ok = self.fields(
                    map,
                    &["event", "measure", "window", "test", "coverage"],
                    path,
                );
                let metric = self.metric_fields(map, path);
                let kind = metric.as_ref().map(|m| TestKind::of(&m.measure));
                let test = self.test(map, "test", path, kind);
                let coverage = self
                    .choice(map, "coverage", path, &["strict", "observed"], true)
                    .map(|i| {
                        if i == 0 {
                            Coverage::Strict
                        } else {
                            Coverage::Observed
                        }
                    });
                if !fields_ok {
                    return None;
                }
                Some(Node::Event {
                    metric: metric?,
                    test: test?,
                    coverage: coverage?,
                })
            }
            "funnel" => {
                let fields_ok = self.fields(map, &["funnel", "test", "settle"], path);
                let fp = child(path, "funnel");
                let fmap = self.object(map.get("funnel")?, &fp)?;
                let inner_ok = self.fields(fmap, &["steps", "within", "window"], &fp);
                let sp = child(&fp, "steps");
                let steps = match self.required(fmap, "steps", &fp).map(Value::as_array) {
                    Some(Some(items)) if items.len() >= 2 && items.len() <= 16 => {
                        let mut out = Vec::new();
                        let mut ok = true;
                        for (i, item) in items.iter().enumerate() {
                            match self.selector(item, &index(&sp, i)) {
                                Some(id) => out.push(id),
                                None => ok = false,
                            }
                        }
                        ok.then_some(out)
                    }
                    Some(_) => {
                        self.err(&sp, "expected an array of 2 to 16 selectors");
                        None
                    }
                    None => None,
                };
                let within = self
                    .required(fmap, "within", &fp)
                    .and_then(|v| self.duration(v, &child(&fp, "within")));
                let window = self
                    .required(fmap, "window", &fp)
                    .and_then(|v| self.window(v, &child(&fp, "window")));
                let test = self.wrapped_test(map, "maxStep", path);
                let settle = match map.get("settle") {
                    None => Some(false),
                    Some(Value::Bool(b)) => Some(*b),
                    Some(_) => {
                        self.err(&child(path, "settle"), "expected true or false");
                        None
                    }
                };
                if !(fields_ok && inner_ok) {
                    return None;
                }
                Some(Node::Funnel {
                    steps: steps?,
                    within: within?,
                    window: window?,
                    test: test?,
                    settle: settle?,
                })
            }
            "compare" => {
                let fields_ok = self.fields(map, &["compare", "test", "baselineMin"], path);
                let cp = child(path, "compare");
                let cmap = self.object(map.get("compare")?, &cp)?;
                let inner_ok = self.fields(cmap, &["current", "baseline"], &cp);
                let current = self
                    .required(cmap, "current", &cp)
                    .and_then(|v| self.metric(v, &child(&cp, "current")));
                let baseline = self
                    .required(cmap, "baseline", &cp)
                    .and_then(|v| self.metric(v, &child(&cp, "baseline")));
                let test = self.wrapped_test(map, "ratio", path);
                let baseline_min = match map.get("baselineMin") {
                    None => Some(0.0),
                    Some(v) => match v.as_f64() {
                        Some(x) if x >= 0.0 => Some(x),
                        _ => {
                            self.err(
                                &child(path, "baselineMin"),
                                "expected a non-negative number",
                            );
                            None
                        }
                    },
                };
                if !(fields_ok && inner_ok) {
                    return None;
                }
                Some(Node::Compare {
                    current: current?,
                    baseline: baseline?,
                    test: test?,
                    baseline_min: baseline_min?,
                })
            }
            _ => {
                // traitChange
                let fields_ok = self.fields(map, &["traitChange", "window"], path);
                let tp = child(path, "traitChange");
                let tmap = self.object(map.get("traitChange")?, &tp)?;
                let inner_ok = self.fields(tmap, &["trait", "from", "to"], &tp);
                let trait_path = self
                    .required(tmap, "trait", &tp)
                    .and_then(|v| self.string(v, &child(&tp, "trait")));
                let from = tmap
                    .get("from")
                    .cloned()
                    .unwrap_or_else(|| Value::Object(Map::new()));
                let to = tmap
                    .get("to")
                    .cloned()
                    .unwrap_or_else(|| Value::Object(Map::new()));
                if long_regex(&from, 0).is_some() || long_regex(&to, 0).is_some() {
                    self.err(&tp, "regex pattern longer than the limit of 256 characters");
                    return None;
                }
                let values_ok = self.check_value(&from, &child(&tp, "from"))
                    & self.check_value(&to, &child(&tp, "to"));
                let window = match map.get("window") {
                    None => Some(Window::Lifetime),
                    Some(v) => self.window(v, &child(path, "window")),
                };
                if !(fields_ok && inner_ok && values_ok) {
                    return None;
                }
                let trait_path = trait_path?;
                let mut canonical = String::from("{\"traitChange\":");
                let mut spec = Map::new();
                spec.insert("trait", Value::str(trait_path.clone()));
                spec.insert("from", from.clone());
                spec.insert("to", to.clone());
                Value::Object(spec).write_json(&mut canonical);
                canonical.push('}');
                let selector = Selector {
                    canonical,
                    kind: SelectorKind::TraitChange {
                        trait_path,
                        from,
                        to,
                    },
                };
                let Some(id) = self.table.intern(selector) else {
                    self.err(&tp, "too many selectors");
                    return None;
                };
                Some(Node::TraitChange {
                    selector: id,
                    window: window?,
                })
            }
        }
    }

    /// `{"<inner>": GBOp}` as used by funnel (`maxStep`) and compare (`ratio`).
    fn wrapped_test(&mut self, map: &Map, inner: &str, path: &str) -> Option<Value> {
        let tp = child(path, "test");
        let tmap = self.object(self_required(map, "test").unwrap_or(&Value::Null), &tp)?;
        if !self.fields(tmap, &[inner], &tp) {
            return None;
        }
        self.test(tmap, inner, &tp, Some(TestKind::Number))
    }

    /// A GrowthBook test for a measured value of `kind` (unchecked when the measure itself
    /// was invalid); duration strings become milliseconds.
    fn test(
        &mut self,
        map: &Map,
        field: &str,
        path: &str,
        kind: Option<TestKind>,
    ) -> Option<Value> {
        let p = child(path, field);
        let v = self.required(map, field, path)?;
        if depth(v, 8) > 6 {
            self.err(&p, "test nested deeper than the limit of 6");
            return None;
        }
        if let Some(kind) = kind {
            if !self.check_test(v, &p, kind) {
                return None;
            }
        }
        Some(durations_to_ms(v, false))
    }

    fn metric_fields(&mut self, map: &Map, path: &str) -> Option<Metric> {
        let selector = self
            .required(map, "event", path)
            .and_then(|v| self.selector(v, &child(path, "event")));
        let measure = self
            .required(map, "measure", path)
            .and_then(|v| self.measure(v, &child(path, "measure")));
        let window = match map.get("window") {
            None => Some(Window::Lifetime),
            Some(v) => self.window(v, &child(path, "window")),
        };
        Some(Metric {
            selector: selector?,
            measure: measure?,
            window: window?,
        })
    }

    fn metric(&mut self, v: &Value, path: &str) -> Option<Metric> {
        let map = self.object(v, path)?;
        let ok = self.fields(map, &["event", "measure", "window"], path);
        let m = self.metric_fields(map, path);
        if ok {
            m
        } else {
            None
        }
    }

    fn measure(&mut self, v: &Value, path: &str) -> Option<Measure> {
        if let Some(s) = v.as_str() {
            return match s {
                "count" => Some(Measure::Count),
                "exists" => Some(Measure::Exists),
                "distinct_days" => Some(Measure::DistinctDays),
                "since_last" => Some(Measure::SinceLast),
                "since_first" => Some(Measure::SinceFirst),
                _ => {
                    self.err(path, E_MEASURE);
                    None
                }
            };
        }
        let Some(map) = v.as_object().filter(|m| m.len() == 1) else {
            self.err(path, E_MEASURE);
            return None;
        };
        let (k, pv) = map.iter().next()?;
        let prop = self.string(pv, &child(path, k))?;
        match k {
            "sum" => Some(Measure::Sum(prop)),
            "avg" => Some(Measure::Avg(prop)),
            "min" => Some(Measure::Min(prop)),
            "max" => Some(Measure::Max(prop)),
            _ => {
                self.err(&child(path, k), E_MEASURE);
                None
            }
        }
    }

    fn selector(&mut self, v: &Value, path: &str) -> Option<SelectorId> {
        let map = self.object(v, path)?;
        let ok = self.fields(map, &["name", "type", "where"], path);
        let np = child(path, "name");
        let names = match map.get("name") {
            None => Some(Vec::new()),
            Some(Value::String(s)) if !s.is_empty() => Some(vec![s.clone()]),
            Some(Value::Array(items)) if !items.is_empty() && items.len() <= 32 => {
                // Sorted and without duplicates as they are read (the canonical form).
                let mut names: Vec<String> = Vec::new();
                let mut valid = true;
                for item in items {
                    match item.as_str() {
                        Some(n) if !n.is_empty() => {
                            if let Err(at) = names.binary_search_by(|x| x.as_str().cmp(n)) {
                                names.insert(at, n.to_owned());
                            }
                        }
                        _ => valid = false,
                    }
                }
                if valid {
                    Some(names)
                } else {
                    self.err(&np, "expected a name or an array of 1 to 32 names");
                    None
                }
            }
            Some(_) => {
                self.err(&np, "expected a name or an array of 1 to 32 names");
                None
            }
        };
        let event_type = self
            .choice(map, "type", path, &["track", "page", "screen"], true)
            .and_then(|i| {
                [EventType::Track, EventType::Page, EventType::Screen]
                    .get(i)
                    .copied()
            });
        let filter = match map.get("where") {
            None => Some(None),
            Some(w) => self.gb(w, &child(path, "where")).map(Some),
        };
        if !ok {
            return None;
        }
        let names = names?;
        let event_type = event_type?;
        let filter = filter?;
        // Canonical form: sorted names, type, where as given.
        let mut canonical = String::from("{\"name\":");
        Value::Array(names.iter().map(|n| Value::str(n.as_str())).collect())
            .write_json(&mut canonical);
        canonical.push_str(",\"type\":");
        canonical.push_str(match event_type {
            EventType::Track => "\"track\"",
            EventType::Page => "\"page\"",
            EventType::Screen => "\"screen\"",
        });
        if let Some(f) = &filter {
            canonical.push_str(",\"where\":");
            f.raw().write_json(&mut canonical);
        }
        canonical.push('}');
        let id = self.table.intern(Selector {
            canonical,
            kind: SelectorKind::Event {
                names,
                event_type,
                filter,
            },
        });
        if id.is_none() {
            self.err(path, "too many selectors");
        }
        id
    }

    fn window(&mut self, v: &Value, path: &str) -> Option<Window> {
        let map = self.object(v, path)?;
        let tp = child(path, "type");
        let kind = match self.required(map, "type", path)?.as_str() {
            Some(k) => k,
            None => {
                self.err(&tp, E_STRING);
                return None;
            }
        };
        match kind {
            "rolling" => {
                let ok = self.fields(map, &["type", "duration", "offset"], path);
                let duration = self
                    .required(map, "duration", path)
                    .and_then(|d| self.duration(d, &child(path, "duration")));
                let offset = self.opt_duration(map, "offset", path);
                if let Some(d) = duration {
                    if d.is_zero() {
                        self.err(
                            &child(path, "duration"),
                            "a rolling window needs a positive duration",
                        );
                        return None;
                    }
                }
                ok.then_some(Window::Rolling {
                    duration: duration?,
                    offset: offset?,
                })
            }
            "calendar" => {
                let ok = self.fields(map, &["type", "unit", "timezone"], path);
                let unit = self
                    .choice(map, "unit", path, &["day", "week", "month"], false)
                    .and_then(|i| {
                        [CalendarUnit::Day, CalendarUnit::Week, CalendarUnit::Month]
                            .get(i)
                            .copied()
                    });
                let utc = self
                    .choice(map, "timezone", path, &["local", "UTC"], true)
                    .map(|i| i == 1);
                ok.then_some(Window::Calendar {
                    unit: unit?,
                    utc: utc?,
                })
            }
            "cycle" => {
                let ok = self.fields(map, &["type", "anchor", "period"], path);
                let ap = child(path, "anchor");
                let anchor = self
                    .required(map, "anchor", path)
                    .and_then(|a| self.object(a, &ap))
                    .and_then(|am| {
                        let ok = self.fields(am, &["trait"], &ap);
                        let t = self
                            .required(am, "trait", &ap)
                            .and_then(|t| self.string(t, &child(&ap, "trait")));
                        if ok {
                            t
                        } else {
                            None
                        }
                    });
                let period = self
                    .required(map, "period", path)
                    .and_then(|d| self.duration(d, &child(path, "period")));
                if period.is_some_and(Duration::is_zero) {
                    self.err(&child(path, "period"), "a cycle needs a positive period");
                    return None;
                }
                ok.then_some(Window::Cycle {
                    anchor_trait: anchor?,
                    period: period?,
                })
            }
            "anchored" => {
                let ok = self.fields(map, &["type", "anchor", "duration"], path);
                let ap = child(path, "anchor");
                let anchor = self
                    .required(map, "anchor", path)
                    .and_then(|a| self.object(a, &ap))
                    .and_then(|am| {
                        let ok = self.fields(am, &["event", "trait"], &ap);
                        let a = match (am.get("event"), am.get("trait")) {
                            (Some(e), None) => {
                                self.selector(e, &child(&ap, "event")).map(Anchor::Event)
                            }
                            (None, Some(t)) => {
                                self.string(t, &child(&ap, "trait")).map(Anchor::Trait)
                            }
                            _ => {
                                self.err(&ap, "expected exactly one of event, trait");
                                None
                            }
                        };
                        if ok {
                            a
                        } else {
                            None
                        }
                    });
                let duration = self
                    .required(map, "duration", path)
                    .and_then(|d| self.duration(d, &child(path, "duration")));
                ok.then_some(Window::Anchored {
                    anchor: anchor?,
                    duration: duration?,
                })
            }
            "lifetime" => self
                .fields(map, &["type"], path)
                .then_some(Window::Lifetime),
            _ => {
                self.err(
                    &tp,
                    "expected \"rolling\", \"calendar\", \"cycle\", \"anchored\" or \"lifetime\"",
                );
                None
            }
        }
    }
}

fn self_required<'v>(map: &'v Map, field: &str) -> Option<&'v Value> {
    map.get(field)
}

/// The first `$regex`-family pattern longer than [`MAX_REGEX_LEN`] characters.
fn long_regex(v: &Value, depth: usize) -> Option<&str> {
    if depth > 40 {
        return None;
    }
    match v {
        Value::Object(map) => map.iter().find_map(|(k, c)| {
            let own = if k.as_bytes().windows(4).any(|w| w == b"egex") {
                c.as_str().filter(|p| p.chars().count() > MAX_REGEX_LEN)
            } else {
                None
            };
            own.or_else(|| long_regex(c, depth + 1))
        }),
        Value::Array(items) => items.iter().find_map(|c| long_regex(c, depth + 1)),
        _ => None,
    }
}

/// Replaces ISO duration strings used as operands by their length in ms (`"P14D"` →
/// `1209600000`), so `since_*` tests compare numbers.
fn durations_to_ms(v: &Value, in_operand: bool) -> Value {
    match v {
        Value::String(s) => match Duration::parse(s) {
            Some(d) => Value::Number(Number::from_i64(d.approx_ms())),
            None => v.clone(),
        },
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, c)| (k.to_owned(), durations_to_ms(c, true)))
                .collect(),
        ),
        Value::Array(items) if in_operand => {
            Value::Array(items.iter().map(|c| durations_to_ms(c, true)).collect())
        }
        other => other.clone(),
    }
}

/// Parses one segment document. Errors go to `errors`, warnings (accepted, but a leaf will
/// be UNKNOWN) to `warnings`; `path` is the document's own path (e.g. `[3]`).
pub(crate) fn parse_definition(
    doc: &Value,
    path: &str,
    table: &mut SelectorTable,
    errors: &mut Vec<LoadError>,
    warnings: &mut Vec<LoadError>,
) -> Option<Definition> {
    let key_text = doc
        .get("key")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let mut ctx = Ctx {
        key: key_text.clone(),
        errors,
        warnings,
        table,
    };
    let map = ctx.object(doc, path)?;
    let fields_ok = ctx.fields(
        map,
        &[
            "key",
            "version",
            "condition",
            "exitCondition",
            "membership",
            "outputs",
        ],
        path,
    );
    let key_ok = !key_text.is_empty()
        && key_text.len() <= 64
        && key_text
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase())
        && key_text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if doc.get("key").is_none() {
        ctx.err(&child(path, "key"), E_MISSING);
    } else if !key_ok {
        ctx.err(
            &child(path, "key"),
            "key must be snake_case (a-z, 0-9, _), start with a letter, at most 64 chars",
        );
    }
    let version = match map.get("version") {
        None => Some(1),
        Some(v) => match v.as_f64() {
            Some(x) if x >= 0.0 && x == x.trunc() && x < 9.0e15 => Some(x as u64),
            _ => {
                ctx.err(&child(path, "version"), "expected a non-negative integer");
                None
            }
        },
    };
    let cond_path = child(path, "condition");
    let exit_path = child(path, "exitCondition");
    let cond_v = ctx.required(map, "condition", path);
    let exit_v = map.get("exitCondition").filter(|v| !v.is_null());
    let mut limits_ok = true;
    for (v, p) in [(cond_v, &cond_path), (exit_v, &exit_path)] {
        if let Some(v) = v {
            if depth(v, MAX_DEPTH + 1) > MAX_DEPTH {
                ctx.err(p, "condition nesting deeper than the limit of 16");
                limits_ok = false;
            }
        }
    }
    let nodes = cond_v.map(count_objects).unwrap_or(0) + exit_v.map(count_objects).unwrap_or(0);
    if nodes > MAX_NODES {
        ctx.err(&cond_path, "condition has more than the limit of 256 nodes");
        limits_ok = false;
    }
    if !limits_ok {
        return None;
    }
    let condition = cond_v.and_then(|v| ctx.node(v, &cond_path));
    let exit_condition = match exit_v {
        None => Some(None),
        Some(v) => ctx.node(v, &exit_path).map(Some),
    };
    let membership = ctx.membership(map.get("membership"), &child(path, "membership"));
    let outputs = ctx.outputs(map.get("outputs"), &child(path, "outputs"));
    if !(fields_ok && key_ok) {
        return None;
    }
    Some(Definition {
        key: SegmentKey(key_text),
        version: version?,
        condition: condition?,
        exit_condition: exit_condition?,
        membership: membership?,
        outputs: outputs?,
    })
}

impl Ctx<'_> {
    fn membership(&mut self, v: Option<&Value>, path: &str) -> Option<MembershipPolicy> {
        let mut policy = MembershipPolicy {
            on_unknown: OnUnknown::Hold,
            min_dwell: Duration::default(),
            exit_grace: Duration::default(),
            reentry: Reentry::Allow,
        };
        let Some(v) = v.filter(|v| !v.is_null()) else {
            return Some(policy);
        };
        let map = self.object(v, path)?;
        let mut ok = self.fields(
            map,
            &["onUnknown", "minDwell", "exitGrace", "reentry"],
            path,
        );
        match self.choice(map, "onUnknown", path, &["hold", "exit"], true) {
            Some(0) => {}
            Some(_) => policy.on_unknown = OnUnknown::Exit,
            None => ok = false,
        }
        match self.opt_duration(map, "minDwell", path) {
            Some(d) => policy.min_dwell = d,
            None => ok = false,
        }
        match self.opt_duration(map, "exitGrace", path) {
            Some(d) => policy.exit_grace = d,
            None => ok = false,
        }
        let rp = child(path, "reentry");
        match map.get("reentry") {
            None => {}
            Some(Value::String(s)) if s == "allow" => {}
            Some(Value::String(s)) if s == "once" => policy.reentry = Reentry::Once,
            Some(Value::Object(rm)) if rm.len() == 1 && rm.contains_key("cooldown") => {
                match rm
                    .get("cooldown")
                    .and_then(|c| self.duration(c, &child(&rp, "cooldown")))
                {
                    Some(d) => policy.reentry = Reentry::Cooldown(d),
                    None => ok = false,
                }
            }
            Some(_) => {
                self.err(
                    &rp,
                    "expected \"allow\", \"once\" or {\"cooldown\": duration}",
                );
                ok = false;
            }
        }
        ok.then_some(policy)
    }

    fn outputs(&mut self, v: Option<&Value>, path: &str) -> Option<Outputs> {
        let mut out = Outputs::default();
        let Some(v) = v.filter(|v| !v.is_null()) else {
            return Some(out);
        };
        let map = self.object(v, path)?;
        let mut ok = self.fields(map, &["track", "identify"], path);
        for (field, slot) in [("track", &mut out.track), ("identify", &mut out.identify)] {
            match map.get(field) {
                None => {}
                Some(Value::Bool(b)) => *slot = *b,
                Some(_) => {
                    self.errors.push(LoadError {
                        key: self.key.clone(),
                        path: child(path, field),
                        message: "expected true or false".to_owned(),
                    });
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }
}

/// Pushes `text` onto a path (helper for callers building `[i]` paths).
pub(crate) fn index_path(idx: usize) -> String {
    index("", idx)
}

/// Validates the JSON array `defs` (documents, limits, unique keys, references, the history
/// `budget`): the report (accepted keys, errors, warnings) and, unless `defs` is not an
/// array at all, the selector table and the accepted definitions in document order.
#[allow(clippy::type_complexity)]
pub(crate) fn validate(
    defs: &Value,
    budget: usize,
) -> (LoadReport, Option<(SelectorTable, Vec<Definition>)>) {
    let mut report = LoadReport::default();
    let Some(items) = defs.as_array() else {
        report.errors.push(LoadError {
            key: String::new(),
            path: String::new(),
            message: "expected an array of segment definitions".to_owned(),
        });
        return (report, None);
    };
    let mut table = SelectorTable::default();
    let mut parsed: Vec<(usize, Definition)> = Vec::new();
    for (i, doc) in items.iter().enumerate() {
        let path = index_path(i);
        if i >= MAX_SEGMENTS {
            report.errors.push(LoadError {
                key: doc
                    .get("key")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
                path,
                message: "more than the limit of 64 segments per load".to_owned(),
            });
            continue;
        }
        let Some(def) = parse_definition(
            doc,
            &path,
            &mut table,
            &mut report.errors,
            &mut report.warnings,
        ) else {
            continue;
        };
        if parsed.iter().any(|(_, d)| d.key == def.key) {
            report.errors.push(LoadError {
                key: def.key.0.clone(),
                path: path + ".key",
                message: "duplicate segment key".to_owned(),
            });
            continue;
        }
        parsed.push((i, def));
    }
    resolve_references(&mut parsed, &mut report.errors);
    // History needs, definition by definition, within the budget.
    let mut needs: Vec<Option<Needs>> = vec![None; table.selectors.len()];
    let mut accepted: Vec<Definition> = Vec::new();
    for (i, def) in parsed {
        let mut trial = needs.clone();
        add_def_needs(&def, &mut trial);
        if bound_bytes(&table, &trial) > budget {
            report.errors.push(LoadError {
                key: def.key.0.clone(),
                path: index_path(i),
                message: "history budget of 128 KB exceeded by this definition".to_owned(),
            });
            continue;
        }
        needs = trial;
        accepted.push(def);
    }
    report.history_bound = bound_bytes(&table, &needs);
    report.accepted = accepted.iter().map(|d| d.key.clone()).collect();
    (report, Some((table, accepted)))
}

/// Drops definitions referencing unknown (or rejected) keys, and those in cycles.
fn resolve_references(parsed: &mut Vec<(usize, Definition)>, errors: &mut Vec<LoadError>) {
    loop {
        let keys: Vec<SegmentKey> = parsed.iter().map(|(_, d)| d.key.clone()).collect();
        let bad = parsed
            .iter()
            .position(|(_, d)| d.references().iter().any(|r| !keys.contains(r)));
        if let Some(pos) = bad {
            let (i, d) = parsed.remove(pos);
            errors.push(LoadError {
                key: d.key.0.clone(),
                path: index_path(i) + ".condition",
                message: "references an unknown or rejected segment".to_owned(),
            });
            continue;
        }
        // Cycles: a definition that can reach itself.
        let reach = |start: usize| -> bool {
            let mut stack = vec![start];
            let mut seen = vec![false; parsed.len()];
            while let Some(cur) = stack.pop() {
                let Some((_, d)) = parsed.get(cur) else {
                    continue;
                };
                for r in d.references() {
                    if let Some(j) = parsed.iter().position(|(_, x)| x.key == *r) {
                        if j == start {
                            return true;
                        }
                        // OK because `j` indexes `parsed`, and `seen` has its length.
                        if !seen[j] {
                            seen[j] = true;
                            stack.push(j);
                        }
                    }
                }
            }
            false
        };
        let cyclic: Vec<usize> = (0..parsed.len()).filter(|&i| reach(i)).collect();
        if cyclic.is_empty() {
            return;
        }
        for &pos in cyclic.iter().rev() {
            let (i, d) = parsed.remove(pos);
            errors.push(LoadError {
                key: d.key.0.clone(),
                path: index_path(i) + ".condition",
                message: "segment reference cycle".to_owned(),
            });
        }
    }
}
