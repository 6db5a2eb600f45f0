//! Evaluation of a condition tree at an instant: windows resolved against `now`, behavioural
//! leaves measured from history as intervals, tests applied in three-valued logic, the
//! earliest instant each leaf could change without an event (`next_change_at`), and the
//! explain tree. Pure: no I/O, no clock.

use super::condition::{eval_value_test, js_to_number, Missing};
use super::definition::{
    Anchor, CalendarUnit, Coverage, Definition, Measure, Metric, Node, Scope, SelectorId, Window,
};
use super::duration::{add_months, Duration, DAY_MS};
use super::history::{History, Interval};
use super::membership::Member;
use super::Tri;
use crate::core::time::{civil_from_days, days_from_civil, parse_iso, Millis};
use crate::json::{Map, Number, Value};

/// Everything a condition can read at one instant.
pub(crate) struct Ctx<'a> {
    pub now: i64,
    pub utc_offset_min: i32,
    pub histories: &'a [Option<History>],
    pub user: &'a Value,
    pub group: &'a Value,
    pub context: &'a Value,
    pub page: &'a Value,
    /// Current membership of other segments by key.
    pub members: Members<'a>,
    pub explain: bool,
}

/// The segments' current membership, by key: the engine's definitions and, parallel to
/// them, their states. A plain struct rather than a closure: a `dyn Fn` is an indirect
/// call, and the engine wasm without indirect calls carries no function table.
#[derive(Clone, Copy)]
pub(crate) struct Members<'a> {
    pub defs: &'a [Definition],
    pub states: &'a [Member],
}

impl Members<'_> {
    /// The membership of segment `key` (unknown when there is no such segment).
    pub(crate) fn tri(self, key: &str) -> Tri {
        match self
            .defs
            .iter()
            .position(|d| d.key.0 == key)
            .and_then(|i| self.states.get(i))
            .and_then(|m| m.state)
        {
            Some(true) => Tri::True,
            Some(false) => Tri::False,
            None => Tri::Unknown,
        }
    }
}

/// The result of evaluating a node.
pub(crate) struct Out {
    pub value: Tri,
    /// Earliest instant after `now` at which the value could change with no new input.
    pub next: Option<i64>,
    pub explain: Option<Value>,
}

fn earliest(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

fn cand(next: &mut Option<i64>, t: i64, now: i64) {
    if t > now {
        *next = earliest(*next, Some(t));
    }
}

fn num(x: f64) -> Value {
    match Number::from_f64(x) {
        Some(n) => Value::Number(n),
        None => Value::Null,
    }
}

fn iso(t: i64) -> Value {
    Value::String(Millis(u64::try_from(t).unwrap_or(0)).to_iso())
}

/// A window resolved at `now`: events in `(start, end]`.
struct Resolved {
    start: Option<i64>,
    end: i64,
    /// When the window itself next moves by a step (calendar, cycle, anchored end).
    next: Option<i64>,
    /// Why the window could not be resolved (missing anchor).
    unknown: bool,
}

/// Reads a date held in a trait: ISO 8601 text or epoch milliseconds.
fn trait_date(user: &Value, path: &str) -> Option<i64> {
    match user.pointer_dot(path)? {
        Value::String(s) => parse_iso(s).and_then(|m| i64::try_from(m.0).ok()),
        Value::Number(n) => n
            .as_f64()
            .filter(|x| x.is_finite() && *x >= 0.0)
            .map(|x| x as i64),
        _ => None,
    }
}

fn resolve(window: &Window, ctx: &Ctx<'_>) -> Resolved {
    let now = ctx.now;
    let plain = |start: Option<i64>, end: i64, next: Option<i64>| Resolved {
        start,
        end,
        next,
        unknown: false,
    };
    match window {
        Window::Lifetime => plain(None, now, None),
        Window::Rolling { duration, offset } => {
            let end = offset.sub_from(now);
            plain(Some(duration.sub_from(end)), end, None)
        }
        Window::Calendar { unit, utc } => {
            let shift = if *utc {
                0
            } else {
                i64::from(ctx.utc_offset_min) * 60_000
            };
            let local = now + shift;
            let day = local.div_euclid(DAY_MS);
            let (start_local, next_local) = match unit {
                CalendarUnit::Day => (day * DAY_MS, (day + 1) * DAY_MS),
                CalendarUnit::Week => {
                    // 1970-01-01 was a Thursday; ISO weeks start on Monday.
                    let monday = day - (day + 3).rem_euclid(7);
                    (monday * DAY_MS, (monday + 7) * DAY_MS)
                }
                CalendarUnit::Month => {
                    let (y, m, _) = civil_from_days(day);
                    let first = days_from_civil(y, m, 1) * DAY_MS;
                    (first, add_months(first, 1))
                }
            };
            plain(Some(start_local - shift - 1), now, Some(next_local - shift))
        }
        Window::Cycle {
            anchor_trait,
            period,
        } => {
            let Some(anchor) = trait_date(ctx.user, anchor_trait) else {
                return Resolved {
                    start: None,
                    end: now,
                    next: None,
                    unknown: true,
                };
            };
            if anchor > now {
                return plain(Some(now), now, Some(anchor));
            }
            let step = |k: i64| -> i64 {
                let months = i64::from(period.months).saturating_mul(k);
                add_months(anchor, months).saturating_add(period.ms.saturating_mul(k))
            };
            let approx = period.approx_ms().max(1);
            let mut k = (now - anchor) / approx;
            let mut guard = 0;
            while k > 0 && step(k) > now && guard < 64 {
                k -= 1;
                guard += 1;
            }
            while step(k + 1) <= now && guard < 128 {
                k += 1;
                guard += 1;
            }
            plain(Some(step(k) - 1), now, Some(step(k + 1)))
        }
        Window::Anchored { anchor, duration } => {
            let at = match anchor {
                Anchor::Trait(path) => trait_date(ctx.user, path),
                Anchor::Event(sel) => ctx
                    .histories
                    .get(sel.0 as usize)
                    .and_then(Option::as_ref)
                    .and_then(|h| h.first),
            };
            let Some(at) = at else {
                return Resolved {
                    start: None,
                    end: now,
                    next: None,
                    unknown: true,
                };
            };
            let close = duration.add_to(at);
            if at > now {
                return plain(Some(now), now, Some(at));
            }
            plain(Some(at - 1), close.min(now), (close > now).then_some(close))
        }
    }
}

/// The test applied to an interval: exact values go through GrowthBook's semantics;
/// ranges through interval logic for comparison operators, else UNKNOWN.
fn test_interval(test: &Value, iv: Interval, as_bool: bool) -> Tri {
    let value_of = |x: f64| -> Value {
        if as_bool {
            Value::Bool(x > 0.0)
        } else if x.is_infinite() {
            // JSON has no Infinity; a "never" measure compares above every number.
            num(9.0e15)
        } else {
            num(x)
        }
    };
    if iv.is_exact() {
        // The common tests (`$gt`… with number operands on a number, `$eq`/`$ne` with
        // booleans on a boolean) compare directly: the same answers as the general path,
        // without writing the measure as a JSON number and reading both back.
        let x = if iv.lo.is_infinite() { 9.0e15 } else { iv.lo };
        if let Some(t) = direct_test(test, x, as_bool) {
            return t;
        }
        return eval_value_test(test, &value_of(iv.lo));
    }
    let Some(map) = test.as_object() else {
        // A literal: equality.
        return match test {
            Value::Number(n) => range_eq(iv, n.as_f64().unwrap_or(f64::NAN)),
            Value::Bool(b) if as_bool => range_eq(iv, if *b { 1.0 } else { 0.0 }),
            _ => Tri::Unknown,
        };
    };
    let mut res = Tri::True;
    for (op, operand) in map.iter() {
        let c = match operand {
            Value::Bool(b) if as_bool => {
                if *b {
                    1.0
                } else {
                    0.0
                }
            }
            Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
            _ => return Tri::Unknown,
        };
        if c.is_nan() {
            return Tri::Unknown;
        }
        // For a boolean "exists", `$eq: true` means "at least one".
        let r = match op {
            "$gt" => tri3(iv.lo > c, iv.hi <= c),
            "$gte" => tri3(iv.lo >= c, iv.hi < c),
            "$lt" => tri3(iv.hi < c, iv.lo >= c),
            "$lte" => tri3(iv.hi <= c, iv.lo > c),
            "$eq" if as_bool => tri3(
                if c > 0.0 { iv.lo > 0.0 } else { iv.hi <= 0.0 },
                if c > 0.0 { iv.hi <= 0.0 } else { iv.lo > 0.0 },
            ),
            "$ne" if as_bool => tri3(
                if c > 0.0 { iv.hi <= 0.0 } else { iv.lo > 0.0 },
                if c > 0.0 { iv.lo > 0.0 } else { iv.hi <= 0.0 },
            ),
            "$eq" => range_eq(iv, c),
            "$ne" => range_eq(iv, c).not(),
            _ => Tri::Unknown,
        };
        res = res.and(r);
    }
    res
}

/// [`test_interval`]'s fast path for an exact measure `x`: `None` when `test` has anything
/// else than number comparisons (a number measure) or boolean `$eq`/`$ne` (a boolean one).
fn direct_test(test: &Value, x: f64, as_bool: bool) -> Option<Tri> {
    let map = test.as_object()?;
    if map.is_empty() {
        return None;
    }
    let mut res = true;
    for (op, operand) in map.iter() {
        let r = match (operand, as_bool) {
            (Value::Bool(b), true) => match op {
                "$eq" => (x > 0.0) == *b,
                "$ne" => (x > 0.0) != *b,
                _ => return None,
            },
            (Value::Number(n), false) => {
                let c = n.as_f64()?;
                match op {
                    "$gt" => x > c,
                    "$gte" => x >= c,
                    "$lt" => x < c,
                    "$lte" => x <= c,
                    "$eq" => x == c,
                    "$ne" => x != c,
                    _ => return None,
                }
            }
            _ => return None,
        };
        res &= r;
    }
    Some(if res { Tri::True } else { Tri::False })
}

fn tri3(certainly_true: bool, certainly_false: bool) -> Tri {
    if certainly_true {
        Tri::True
    } else if certainly_false {
        Tri::False
    } else {
        Tri::Unknown
    }
}

fn range_eq(iv: Interval, c: f64) -> Tri {
    tri3(iv.lo == c && iv.hi == c, c < iv.lo || c > iv.hi)
}

/// Numeric constants in a test (thresholds for `since_*` deadlines).
fn constants(test: &Value, out: &mut Vec<f64>, depth: usize) {
    if depth > 8 {
        return;
    }
    match test {
        Value::Number(n) => out.extend(n.as_f64()),
        Value::Object(map) => map.iter().for_each(|(_, v)| constants(v, out, depth + 1)),
        Value::Array(items) => items.iter().for_each(|v| constants(v, out, depth + 1)),
        _ => {}
    }
}

/// A measured value: an interval, or no value at all (avg/min/max of nothing).
enum Measured {
    Range(Interval),
    Absent,
}

struct MetricOut {
    measured: Measured,
    next: Option<i64>,
    window: Resolved,
    horizon: Option<i64>,
}

fn history<'a>(ctx: &Ctx<'a>, sel: SelectorId) -> Option<&'a History> {
    ctx.histories.get(sel.0 as usize).and_then(Option::as_ref)
}

fn measure_metric(
    metric: &Metric,
    coverage: Coverage,
    ctx: &Ctx<'_>,
    test: Option<&Value>,
) -> MetricOut {
    let now = ctx.now;
    let win = resolve(&metric.window, ctx);
    let Some(h) = history(ctx, metric.selector) else {
        return MetricOut {
            measured: Measured::Range(Interval {
                lo: 0.0,
                hi: f64::INFINITY,
            }),
            next: None,
            window: win,
            horizon: None,
        };
    };
    let mut next = win.next;
    if win.unknown {
        let measured = match (&metric.window, coverage) {
            // The anchor event was never seen: the window never opened.
            (
                Window::Anchored {
                    anchor: Anchor::Event(_),
                    ..
                },
                Coverage::Observed,
            ) => Measured::Range(Interval::exact(0.0)),
            _ => Measured::Range(Interval {
                lo: f64::NEG_INFINITY,
                hi: f64::INFINITY,
            }),
        };
        let measured = match (&metric.measure, measured) {
            (Measure::Avg(_) | Measure::Min(_) | Measure::Max(_), Measured::Range(iv))
                if iv.is_exact() =>
            {
                Measured::Absent
            }
            (_, m) => m,
        };
        return MetricOut {
            measured,
            next,
            window: win,
            horizon: Some(h.horizon),
        };
    }
    let (start, end) = (win.start, win.end);
    // Does the window reach before this browser started tracking the selector?
    let before_horizon =
        coverage == Coverage::Strict && start.is_none_or(|s| s.saturating_add(1) < h.horizon);
    // Moments when an event enters or leaves a moving window.
    if let Window::Rolling { duration, offset } = &metric.window {
        let span = |t: i64| duration.add_to(offset.add_to(t));
        // Without months both moments grow with `t`, and the ring is ascending: the first
        // entry past `now` gives the earliest of each, and the rest cannot be earlier.
        let monotonic = duration.months == 0 && offset.months == 0;
        let (mut span_found, mut offset_found) = (false, false);
        for &t in &h.ring {
            // `t` is inside while `now - offset - duration < t <= now - offset`.
            let (s, o) = (span(t), offset.add_to(t));
            span_found |= s > now;
            offset_found |= o > now;
            cand(&mut next, s, now);
            cand(&mut next, o, now);
            if monotonic && span_found && offset_found {
                break;
            }
        }
        // Bucketed events enter (offset) and leave (span) the window bucket by bucket.
        let width = h.needs.bucket_ms;
        for b in &h.buckets {
            for edge in [b.idx * width, (b.idx + 1) * width] {
                cand(&mut next, span(edge), now);
                if !offset.is_zero() {
                    cand(&mut next, offset.add_to(edge), now);
                }
            }
        }
        if coverage == Coverage::Strict {
            cand(&mut next, span(h.horizon) - 1, now);
        }
    }
    let measured = match &metric.measure {
        Measure::Count | Measure::Exists => {
            let mut iv = h.count_in(start, end);
            if before_horizon {
                iv.hi = f64::INFINITY;
            }
            if metric.measure == Measure::Exists {
                iv = Interval {
                    lo: iv.lo.min(1.0),
                    hi: iv.hi.min(1.0),
                };
            }
            Measured::Range(iv)
        }
        Measure::DistinctDays => {
            let mut iv = h.distinct_days(start, end);
            if before_horizon {
                iv.hi = f64::INFINITY;
            }
            Measured::Range(iv)
        }
        Measure::SinceLast | Measure::SinceFirst => {
            let in_window = |t: i64| start.is_none_or(|s| t > s) && t <= end;
            let exact_ring = h.count as usize == h.ring.len();
            let t = if metric.measure == Measure::SinceLast {
                match h.ring.iter().rev().find(|&&t| in_window(t)) {
                    Some(&t) => Some(t),
                    None if h.last.is_some_and(in_window) => h.last,
                    None => None,
                }
            } else {
                match h.first {
                    Some(f) if in_window(f) => Some(f),
                    _ => h
                        .ring
                        .iter()
                        .find(|&&t| in_window(t))
                        .copied()
                        .filter(|_| exact_ring),
                }
            };
            let mut consts = Vec::new();
            if let Some(test) = test {
                constants(test, &mut consts, 0);
            }
            let base = match t {
                Some(t) => t,
                None => start.map_or(h.horizon, |s| s.max(h.horizon)),
            };
            for c in &consts {
                if c.is_finite() && c.abs() < 1.0e15 {
                    cand(&mut next, base + *c as i64, now);
                    cand(&mut next, base + *c as i64 + 1, now);
                }
            }
            match t {
                Some(t) => {
                    let v = (now - t) as f64;
                    if metric.measure == Measure::SinceFirst && before_horizon {
                        Measured::Range(Interval {
                            lo: v,
                            hi: f64::INFINITY,
                        })
                    } else {
                        Measured::Range(Interval::exact(v))
                    }
                }
                None if before_horizon => Measured::Range(Interval {
                    lo: (now - base) as f64,
                    hi: f64::INFINITY,
                }),
                // Never happened in the window: longer ago than anything.
                None => Measured::Range(Interval::exact(f64::INFINITY)),
            }
        }
        Measure::Sum(p) | Measure::Avg(p) | Measure::Min(p) | Measure::Max(p) => {
            let idx = h.needs.paths.iter().position(|q| q == p);
            match idx.and_then(|i| h.agg_in(i, start, end)) {
                None => Measured::Range(Interval {
                    lo: f64::NEG_INFINITY,
                    hi: f64::INFINITY,
                }),
                Some((certain, partial)) => {
                    let uncertain = before_horizon || partial.n > 0;
                    let total_n = certain.n + partial.n;
                    match &metric.measure {
                        Measure::Sum(_) => {
                            let mut iv = Interval::exact(certain.sum);
                            if partial.n > 0 {
                                iv.lo += (f64::from(partial.n) * partial.min).min(0.0);
                                iv.hi += (f64::from(partial.n) * partial.max).max(0.0);
                            }
                            if before_horizon {
                                iv = Interval {
                                    lo: f64::NEG_INFINITY,
                                    hi: f64::INFINITY,
                                };
                            }
                            Measured::Range(iv)
                        }
                        _ if total_n == 0 && !before_horizon => Measured::Absent,
                        _ if before_horizon => Measured::Range(Interval {
                            lo: f64::NEG_INFINITY,
                            hi: f64::INFINITY,
                        }),
                        Measure::Avg(_) => {
                            if !uncertain {
                                Measured::Range(Interval::exact(
                                    certain.sum / f64::from(certain.n.max(1)),
                                ))
                            } else {
                                let mut lo = partial.min;
                                let mut hi = partial.max;
                                if certain.n > 0 {
                                    let a = certain.sum / f64::from(certain.n);
                                    lo = lo.min(a);
                                    hi = hi.max(a);
                                }
                                Measured::Range(Interval { lo, hi })
                            }
                        }
                        Measure::Min(_) => Measured::Range(if uncertain {
                            Interval {
                                lo: certain.min.min(partial.min),
                                hi: certain.min,
                            }
                        } else {
                            Interval::exact(certain.min)
                        }),
                        _ => Measured::Range(if uncertain {
                            Interval {
                                lo: certain.max,
                                hi: certain.max.max(partial.max),
                            }
                        } else {
                            Interval::exact(certain.max)
                        }),
                    }
                }
            }
        }
    };
    MetricOut {
        measured,
        next,
        window: win,
        horizon: Some(h.horizon),
    }
}

fn apply_test(test: &Value, measured: &Measured, as_bool: bool) -> Tri {
    match measured {
        Measured::Absent => eval_value_test(test, &Value::Null),
        Measured::Range(iv) if iv.lo.is_infinite() && iv.lo < 0.0 && iv.hi.is_infinite() => {
            Tri::Unknown
        }
        Measured::Range(iv) => test_interval(test, *iv, as_bool),
    }
}

fn explain_metric(m: &mut Map, out: &MetricOut, measure: &Measure) {
    let measured = match &out.measured {
        Measured::Absent => Value::Null,
        Measured::Range(iv) if iv.is_exact() => num(iv.lo),
        Measured::Range(iv) => {
            let mut r = Map::new();
            r.insert(
                "min",
                if iv.lo.is_finite() {
                    num(iv.lo)
                } else {
                    Value::Null
                },
            );
            r.insert(
                "max",
                if iv.hi.is_finite() {
                    num(iv.hi)
                } else {
                    Value::Null
                },
            );
            Value::Object(r)
        }
    };
    m.insert("measure", Value::str(measure.as_str()));
    m.insert("measured", measured);
    let mut w = Map::new();
    if out.window.unknown {
        w.insert("unknown", Value::Bool(true));
    } else {
        w.insert(
            "start",
            out.window.start.map_or(Value::Null, |s| iso(s + 1)),
        );
        w.insert("end", iso(out.window.end));
    }
    m.insert("window", Value::Object(w));
    if let Some(h) = out.horizon {
        m.insert("horizon", iso(h));
    }
}

/// Evaluates `node` at `ctx.now`.
pub(crate) fn eval(node: &Node, ctx: &Ctx<'_>) -> Out {
    let mut ex = ctx.explain.then(Map::new);
    let (value, next) = match node {
        Node::And(items) | Node::Or(items) => {
            let is_and = matches!(node, Node::And(_));
            let mut acc = if is_and { Tri::True } else { Tri::False };
            let mut next = None;
            let mut children = Vec::new();
            for item in items {
                let o = eval(item, ctx);
                acc = if is_and {
                    acc.and(o.value)
                } else {
                    acc.or(o.value)
                };
                next = earliest(next, o.next);
                children.extend(o.explain);
            }
            if let Some(m) = ex.as_mut() {
                m.insert("node", Value::str(if is_and { "and" } else { "or" }));
                m.insert("children", Value::Array(children));
            }
            (acc, next)
        }
        Node::Not(inner) => {
            let o = eval(inner, ctx);
            if let Some(m) = ex.as_mut() {
                m.insert("node", Value::str("not"));
                m.insert("children", Value::Array(o.explain.into_iter().collect()));
            }
            (o.value.not(), o.next)
        }
        Node::Traits { cond, on, missing } => {
            let obj = match on {
                Scope::User => ctx.user,
                Scope::Group => ctx.group,
                Scope::Context => ctx.context,
                Scope::Page => ctx.page,
            };
            let v = cond.eval(obj, *missing);
            if let Some(m) = ex.as_mut() {
                m.insert("node", Value::str("traits"));
                m.insert("traits", cond.raw().clone());
                m.insert(
                    "on",
                    Value::str(match on {
                        Scope::User => "user",
                        Scope::Group => "group",
                        Scope::Context => "context",
                        Scope::Page => "page",
                    }),
                );
                if *missing != Missing::Unknown {
                    m.insert(
                        "missing",
                        Value::str(if *missing == Missing::Gb {
                            "gb"
                        } else {
                            "false"
                        }),
                    );
                }
            }
            (v, None)
        }
        Node::Segment(key) => {
            if let Some(m) = ex.as_mut() {
                m.insert("node", Value::str("segment"));
                m.insert("segment", Value::str(key.as_str()));
            }
            (ctx.members.tri(key.as_str()), None)
        }
        Node::Event {
            metric,
            test,
            coverage,
        } => {
            let out = measure_metric(metric, *coverage, ctx, Some(test));
            let v = apply_test(test, &out.measured, metric.measure == Measure::Exists);
            if let Some(m) = ex.as_mut() {
                m.insert("node", Value::str("event"));
                explain_metric(m, &out, &metric.measure);
                m.insert("test", test.clone());
                m.insert(
                    "coverage",
                    Value::str(if *coverage == Coverage::Strict {
                        "strict"
                    } else {
                        "observed"
                    }),
                );
            }
            (v, out.next)
        }
        Node::Compare {
            current,
            baseline,
            test,
            baseline_min,
        } => {
            let cur = measure_metric(current, Coverage::Observed, ctx, None);
            let base = measure_metric(baseline, Coverage::Observed, ctx, None);
            let ratio = match (&cur.measured, &base.measured) {
                (Measured::Range(c), Measured::Range(b)) if b.lo >= *baseline_min && b.lo > 0.0 => {
                    Some(Interval {
                        lo: c.lo / b.hi,
                        hi: c.hi / b.lo,
                    })
                }
                _ => None,
            };
            let v = match ratio {
                Some(r) if !r.lo.is_nan() && !r.hi.is_nan() => test_interval(test, r, false),
                _ => Tri::Unknown,
            };
            if let Some(m) = ex.as_mut() {
                m.insert("node", Value::str("compare"));
                let mut c = Map::new();
                explain_metric(&mut c, &cur, &current.measure);
                let mut b = Map::new();
                explain_metric(&mut b, &base, &baseline.measure);
                m.insert("current", Value::Object(c));
                m.insert("baseline", Value::Object(b));
                m.insert(
                    "ratio",
                    ratio.map_or(Value::Null, |r| {
                        if r.is_exact() {
                            num(r.lo)
                        } else {
                            Value::Null
                        }
                    }),
                );
                m.insert("test", test.clone());
            }
            (v, earliest(cur.next, base.next))
        }
        Node::TraitChange { selector, window } => {
            let metric = Metric {
                selector: *selector,
                measure: Measure::Exists,
                window: window.clone(),
            };
            let out = measure_metric(&metric, Coverage::Observed, ctx, None);
            let v = apply_test(&Value::Bool(true), &out.measured, true);
            if let Some(m) = ex.as_mut() {
                m.insert("node", Value::str("traitChange"));
                explain_metric(m, &out, &Measure::Exists);
            }
            (v, out.next)
        }
        Node::Funnel {
            steps,
            within,
            window,
            test,
            settle,
        } => {
            let (iv, next, win) = funnel(steps, *within, window, *settle, ctx);
            let v = test_interval(test, iv, false);
            if let Some(m) = ex.as_mut() {
                m.insert("node", Value::str("funnel"));
                let out = MetricOut {
                    measured: Measured::Range(iv),
                    next,
                    window: win,
                    horizon: None,
                };
                explain_metric(m, &out, &Measure::Count);
                m.insert("measure", Value::str("maxStep"));
                m.insert("test", test.clone());
            }
            (v, next)
        }
    };
    if let Some(m) = ex.as_mut() {
        m.insert("value", Value::str(value.as_str()));
    }
    Out {
        value,
        next,
        explain: ex.map(Value::Object),
    }
}

/// `maxStep` of a funnel as an interval, its next change, and the resolved window.
fn funnel(
    steps: &[SelectorId],
    within: Duration,
    window: &Window,
    settle: bool,
    ctx: &Ctx<'_>,
) -> (Interval, Option<i64>, Resolved) {
    let now = ctx.now;
    let win = resolve(window, ctx);
    let n = steps.len() as f64;
    let mut next = win.next;
    let hs: Vec<Option<&History>> = steps.iter().map(|s| history(ctx, *s)).collect();
    let Some(Some(first)) = hs.first() else {
        return (Interval::exact(0.0), next, win);
    };
    if win.unknown {
        return (Interval { lo: 0.0, hi: n }, next, win);
    }
    let in_window = |t: i64| win.start.is_none_or(|s| t > s) && t <= win.end;
    let (mut lo, mut hi) = (0.0f64, 0.0f64);
    // Older attempts may have been evicted from the first step's ring.
    let first_complete = first.count as usize == first.ring.len();
    if !first_complete
        && first
            .ring
            .first()
            .is_none_or(|&o| win.start.is_none_or(|s| o > s))
    {
        hi = n;
    }
    if let Window::Rolling { duration, offset } = window {
        for &t in &first.ring {
            cand(&mut next, duration.add_to(offset.add_to(t)), now);
        }
    }
    for &a0 in first.ring.iter().filter(|&&t| in_window(t)) {
        let deadline = within.add_to(a0);
        let mut reached = 1usize;
        let mut t = a0;
        let mut maybe_more = false;
        for (i, h) in hs.iter().enumerate().skip(1) {
            let Some(h) = h else { break };
            // Steps tracked in the same millisecond count in order (calls made in one
            // synchronous block share a timestamp); a step that repeats the previous
            // selector needs a later occurrence.
            let same_selector = steps.get(i) == steps.get(i - 1);
            let found = h
                .ring
                .iter()
                .find(|&&x| (x > t || (x == t && !same_selector)) && x <= deadline && x <= now)
                .copied();
            match found {
                Some(x) => {
                    reached += 1;
                    t = x;
                }
                None => {
                    // An evicted event could sit between `t` and the ring's oldest entry.
                    if h.count as usize != h.ring.len() && h.ring.first().is_none_or(|&o| o > t) {
                        maybe_more = true;
                    }
                    break;
                }
            }
        }
        let r = reached as f64;
        let in_progress = reached < steps.len() && now < deadline;
        let attempt_hi = if (settle && in_progress) || maybe_more {
            n
        } else {
            r
        };
        if in_progress {
            cand(&mut next, deadline, now);
        }
        lo = lo.max(r);
        hi = hi.max(attempt_hi);
    }
    (Interval { lo, hi: hi.max(lo) }, next, win)
}

/// Numeric property values for history aggregates (`None`: absent or not a number).
pub(crate) fn property_values(props: &Value, paths: &[String]) -> Vec<Option<f64>> {
    paths
        .iter()
        .map(|p| match props.pointer_dot(p) {
            Some(v @ (Value::Number(_) | Value::String(_))) => {
                Some(js_to_number(v)).filter(|x| x.is_finite())
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests;
