//! Bounded local history per selector (`segments-v1.md` sec. 5) and the measurements taken
//! from it. Pure: no I/O, no clock.
//!
//! Per selector: horizon (when tracking started), first/last timestamps, lifetime count, a
//! ring of the last K exact timestamps (K = largest count threshold, at most 32), one set of
//! time buckets (hours when every window reaching into it is at most 48 h, days otherwise)
//! with counts and per-property aggregates for `sum`/`avg`/`min`/`max`, and lifetime
//! aggregates. Nothing is evicted silently: bucket retention and ring size come from the
//! definitions ([`Needs`]) and the byte bound ([`Needs::bound_bytes`]) is checked at load.
//!
//! Measurements are intervals `[lo, hi]`: exact where the ring or whole buckets decide,
//! wider where a bucket straddles a window edge or data before the horizon is missing. The
//! evaluator turns an interval and a test into TRUE/FALSE/UNKNOWN.

use super::definition::{
    Anchor, Definition, Measure, Metric, Node, SelectorId, SelectorTable, Window, MAX_RING,
};
use super::duration::{DAY_MS, HOUR_MS};
use crate::json::Value;

/// What the definitions need from one selector's history.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Needs {
    /// Ring size (0..=32).
    pub ring: usize,
    /// Bucket width: `HOUR_MS`, `DAY_MS`, or 0 for none.
    pub bucket_ms: i64,
    /// Buckets kept (the longest window reach, in buckets, plus one).
    pub buckets: usize,
    /// Property paths aggregated for value measures.
    pub paths: Vec<String>,
}

const BASE_BYTES: usize = 64;
const BUCKET_BYTES: usize = 12;
const AGG_BYTES: usize = 28;

impl Needs {
    /// Widens to also cover a window reaching `reach_ms` back (`None`: lifetime only).
    pub(crate) fn add_reach(&mut self, reach_ms: Option<i64>) {
        let Some(reach) = reach_ms else { return };
        let reach = reach.max(1);
        if reach <= 48 * HOUR_MS && self.bucket_ms != DAY_MS {
            self.bucket_ms = HOUR_MS;
            self.buckets = self.buckets.max((reach / HOUR_MS) as usize + 2);
        } else {
            if self.bucket_ms == HOUR_MS {
                // Switch to days: convert the hour reach kept so far.
                self.buckets = self.buckets / 24 + 2;
            }
            self.bucket_ms = DAY_MS;
            self.buckets = self.buckets.max((reach / DAY_MS) as usize + 2).min(400);
        }
    }

    /// The most bytes this history can take (the memory bound checked at load).
    pub(crate) fn bound_bytes(&self, canonical_len: usize) -> usize {
        let path_bytes: usize = self.paths.iter().map(|p| p.len() + AGG_BYTES).sum();
        BASE_BYTES
            + canonical_len
            + 8 * self.ring
            + path_bytes
            + self.buckets * (BUCKET_BYTES + AGG_BYTES * self.paths.len())
    }
}

/// Aggregate of a numeric property.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Agg {
    /// Values seen.
    pub n: u32,
    /// Their sum.
    pub sum: f64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
}

impl Default for Agg {
    fn default() -> Agg {
        Agg {
            n: 0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

impl Agg {
    fn add(&mut self, x: f64) {
        self.n = self.n.saturating_add(1);
        self.sum += x;
        self.min = self.min.min(x);
        self.max = self.max.max(x);
    }
    fn merge(&mut self, o: &Agg) {
        self.n = self.n.saturating_add(o.n);
        self.sum += o.sum;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
    }
}

/// One time bucket.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Bucket {
    /// `start / width` (hours or days since the epoch).
    pub idx: i64,
    /// Events in it.
    pub count: u32,
    /// One aggregate per [`Needs::paths`] entry.
    pub aggs: Vec<Agg>,
}

/// A closed interval of possible values; `hi` may be `f64::INFINITY`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Interval {
    /// Smallest possible value.
    pub lo: f64,
    /// Largest possible value.
    pub hi: f64,
}

impl Interval {
    /// A known value.
    pub(crate) fn exact(x: f64) -> Interval {
        Interval { lo: x, hi: x }
    }
    /// Whether the value is known.
    pub(crate) fn is_exact(self) -> bool {
        self.lo == self.hi
    }
}

/// History of one selector.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct History {
    /// What to keep.
    pub needs: Needs,
    /// When this browser started tracking the selector.
    pub horizon: i64,
    /// First matching event seen.
    pub first: Option<i64>,
    /// Last matching event seen.
    pub last: Option<i64>,
    /// Events seen since the horizon.
    pub count: u64,
    /// Invariant: ascending, at most `needs.ring` entries, the most recent events.
    pub ring: Vec<i64>,
    /// Invariant: ascending `idx`, at most `needs.buckets` entries.
    pub buckets: Vec<Bucket>,
    /// Buckets before this index were dropped (retention); events before are not in buckets.
    pub pruned_before: i64,
    /// Lifetime aggregates, one per path.
    pub life: Vec<Agg>,
    /// Distinct UTC days with an event, since the horizon.
    pub life_days: u32,
}

impl History {
    /// An empty history starting at `horizon`.
    pub(crate) fn new(needs: Needs, horizon: i64) -> History {
        let life = vec![Agg::default(); needs.paths.len()];
        History {
            needs,
            horizon,
            first: None,
            last: None,
            count: 0,
            ring: Vec::new(),
            buckets: Vec::new(),
            pruned_before: i64::MIN,
            life,
            life_days: 0,
        }
    }

    /// Adapts to new needs (reload of definitions), keeping what still fits.
    pub(crate) fn reconfigure(&mut self, needs: Needs) {
        if needs == self.needs {
            return;
        }
        let old_paths = std::mem::take(&mut self.needs.paths);
        let remap = |aggs: &[Agg]| -> Vec<Agg> {
            needs
                .paths
                .iter()
                .map(|p| {
                    old_paths
                        .iter()
                        .position(|q| q == p)
                        .and_then(|i| aggs.get(i).copied())
                        .unwrap_or_default()
                })
                .collect()
        };
        self.life = remap(&self.life);
        if needs.bucket_ms != self.needs.bucket_ms {
            self.buckets.clear();
            if let Some(last) = self.last {
                self.pruned_before = last.saturating_add(1);
            }
        } else {
            for b in self.buckets.iter_mut() {
                b.aggs = remap(&b.aggs);
            }
        }
        while self.ring.len() > needs.ring {
            pop_front(&mut self.ring);
        }
        while self.buckets.len() > needs.buckets {
            if let Some(b) = pop_front(&mut self.buckets) {
                self.pruned_before = (b.idx + 1).saturating_mul(needs.bucket_ms.max(1));
            }
        }
        self.needs = needs;
    }

    /// Bytes used now (same accounting as [`Needs::bound_bytes`]).
    pub(crate) fn bytes(&self, canonical_len: usize) -> usize {
        let path_bytes: usize = self.needs.paths.iter().map(|p| p.len() + AGG_BYTES).sum();
        BASE_BYTES
            + canonical_len
            + 8 * self.ring.len()
            + path_bytes
            + self.buckets.len() * (BUCKET_BYTES + AGG_BYTES * self.needs.paths.len())
    }

    /// Records one matching event at `t` with its property values (one per path, `None`
    /// when absent or not numeric).
    pub(crate) fn record(&mut self, t: i64, values: &[Option<f64>]) {
        // Time never runs backwards inside one history.
        let t = self.last.map_or(t, |l| t.max(l));
        if self
            .last
            .is_none_or(|l| t.div_euclid(DAY_MS) != l.div_euclid(DAY_MS))
        {
            self.life_days = self.life_days.saturating_add(1);
        }
        if self.first.is_none() {
            self.first = Some(t);
        }
        self.last = Some(t);
        self.count = self.count.saturating_add(1);
        if self.needs.ring > 0 {
            if self.ring.len() >= self.needs.ring {
                pop_front(&mut self.ring);
            }
            self.ring.push(t);
        }
        for (agg, v) in self.life.iter_mut().zip(values) {
            if let Some(x) = v {
                agg.add(*x);
            }
        }
        if self.needs.bucket_ms > 0 && self.needs.buckets > 0 {
            let idx = t.div_euclid(self.needs.bucket_ms);
            if self.buckets.last().is_none_or(|b| b.idx != idx) {
                self.buckets.push(Bucket {
                    idx,
                    count: 0,
                    aggs: vec![Agg::default(); self.needs.paths.len()],
                });
            }
            if let Some(b) = self.buckets.last_mut() {
                b.count = b.count.saturating_add(1);
                for (agg, v) in b.aggs.iter_mut().zip(values) {
                    if let Some(x) = v {
                        agg.add(*x);
                    }
                }
            }
            self.prune(t);
        }
    }

    /// Drops buckets older than retention allows at `now`.
    pub(crate) fn prune(&mut self, now: i64) {
        let width = self.needs.bucket_ms;
        if width <= 0 {
            return;
        }
        let keep_from = now.div_euclid(width) - self.needs.buckets as i64 + 1;
        while let Some(front) = self.buckets.first() {
            if front.idx >= keep_from && self.buckets.len() <= self.needs.buckets {
                break;
            }
            let idx = front.idx;
            pop_front(&mut self.buckets);
            self.pruned_before = self.pruned_before.max((idx + 1).saturating_mul(width));
        }
    }

    fn ring_complete(&self) -> bool {
        self.count as usize == self.ring.len()
    }

    /// Events in `(start, end]` from the buckets, with the bucket holding `exact_tail`
    /// counted exactly (every event after it is in the ring). `None` when retention does
    /// not reach back to `start`.
    fn bucket_count(&self, start: i64, end: i64, exact_tail: Option<i64>) -> Option<(u64, u64)> {
        let width = self.needs.bucket_ms;
        // Buckets for part of (start, pruned_before) were dropped: the count is not known.
        if width <= 0 || self.pruned_before > start.saturating_add(1) {
            return None;
        }
        let (mut lo, mut hi) = (0u64, 0u64);
        for b in &self.buckets {
            let b_start = b.idx.saturating_mul(width);
            let b_end = b_start.saturating_add(width - 1);
            if b_end <= start || b_start > end {
                continue;
            }
            let n = u64::from(b.count);
            if exact_tail.is_some_and(|t| t.div_euclid(width) == b.idx) && b_start > start {
                let t = exact_tail.unwrap_or(end);
                let after = self.ring.iter().filter(|&&r| r > t && r <= b_end).count() as u64;
                let n = n.saturating_sub(after);
                lo += n;
                hi += n;
            } else if b_start > start && b_end <= end {
                lo += n;
                hi += n;
            } else {
                hi += n;
            }
        }
        Some((lo, hi))
    }

    /// Number of events in `(start, end]` (`start: None` = since the horizon).
    pub(crate) fn count_in(&self, start: Option<i64>, end: i64) -> Interval {
        let in_window = |t: i64| start.is_none_or(|s| t > s) && t <= end;
        let c_ring = self.ring.iter().filter(|&&t| in_window(t)).count() as u64;
        let after_end = self.ring.iter().filter(|&&t| t > end).count() as u64;
        let oldest = self.ring.first().copied();
        if self.ring_complete() {
            return Interval::exact(c_ring as f64);
        }
        let Some(s) = start else {
            // Everything since the horizon up to `end`.
            if self.last.is_none_or(|l| l <= end) {
                return Interval::exact(self.count as f64);
            }
            if oldest.is_some_and(|o| o <= end) {
                return Interval::exact(self.count.saturating_sub(after_end) as f64);
            }
            return Interval {
                lo: 0.0,
                hi: self.count.saturating_sub(after_end) as f64,
            };
        };
        if oldest.is_some_and(|o| o <= s) || self.count == 0 {
            return Interval::exact(c_ring as f64);
        }
        // Every event is after `start`: the total minus those after `end`.
        if self.first.is_some_and(|f| f > s) && oldest.is_some_and(|o| o <= end) {
            return Interval::exact(self.count.saturating_sub(after_end) as f64);
        }
        let oldest = oldest.unwrap_or(end);
        let u = end.min(oldest);
        let tail = (u == oldest).then_some(oldest);
        let ring_in_u = self.ring.iter().filter(|&&t| t > s && t <= u).count() as u64;
        match self.bucket_count(s, u, tail) {
            Some((lo, hi)) => {
                let lo = c_ring + lo.saturating_sub(ring_in_u);
                let hi = c_ring + hi.saturating_sub(ring_in_u);
                let cap = self.count.saturating_sub(after_end);
                Interval {
                    lo: lo.min(cap) as f64,
                    hi: hi.min(cap).max(lo.min(cap)) as f64,
                }
            }
            None => Interval {
                lo: c_ring as f64,
                hi: self.count.saturating_sub(after_end) as f64,
            },
        }
    }

    /// Distinct UTC days with an event in `(start, end]`.
    pub(crate) fn distinct_days(&self, start: Option<i64>, end: i64) -> Interval {
        let Some(s) = start else {
            if self.last.is_none_or(|l| l <= end) {
                return Interval::exact(f64::from(self.life_days));
            }
            return Interval {
                lo: 0.0,
                hi: f64::from(self.life_days),
            };
        };
        let mut certain: Vec<i64> = self
            .ring
            .iter()
            .filter(|&&t| t > s && t <= end)
            .map(|t| t.div_euclid(DAY_MS))
            .collect();
        let mut possible = certain.clone();
        let width = self.needs.bucket_ms;
        let ring_exact = self.ring_complete() || self.ring.first().is_some_and(|&o| o <= s);
        if !ring_exact {
            if width <= 0 || self.pruned_before > s.saturating_add(1) {
                return Interval {
                    lo: certain_len(&mut certain),
                    hi: f64::from(self.life_days),
                };
            }
            for b in &self.buckets {
                let b_start = b.idx * width;
                let b_end = b_start + width - 1;
                if b.count == 0 || b_end <= s || b_start > end {
                    continue;
                }
                let day = b_start.div_euclid(DAY_MS);
                let last_day = b_end.div_euclid(DAY_MS);
                if b_start > s && b_end <= end && day == last_day {
                    certain.push(day);
                }
                for d in day..=last_day {
                    possible.push(d);
                }
            }
        }
        let lo = certain_len(&mut certain);
        let hi = certain_len(&mut possible).max(lo);
        Interval { lo, hi }
    }

    /// The aggregate of path `path_idx` over `(start, end]`: (certain part, uncertain part).
    pub(crate) fn agg_in(
        &self,
        path_idx: usize,
        start: Option<i64>,
        end: i64,
    ) -> Option<(Agg, Agg)> {
        let Some(s) = start else {
            if self.last.is_none_or(|l| l <= end) {
                return Some((
                    self.life.get(path_idx).copied().unwrap_or_default(),
                    Agg::default(),
                ));
            }
            return None;
        };
        let width = self.needs.bucket_ms;
        if width <= 0 || self.pruned_before > s.saturating_add(1) {
            return None;
        }
        let (mut certain, mut partial) = (Agg::default(), Agg::default());
        for b in &self.buckets {
            let b_start = b.idx * width;
            let b_end = b_start + width - 1;
            if b_end <= s || b_start > end {
                continue;
            }
            let Some(agg) = b.aggs.get(path_idx) else {
                continue;
            };
            if b_start > s && b_end <= end {
                certain.merge(agg);
            } else {
                partial.merge(agg);
            }
        }
        Some((certain, partial))
    }
}

/// How many distinct days `days` holds (sorted in place; counted without `dedup`, whose
/// code would be one more instance per element type).
fn certain_len(days: &mut [i64]) -> f64 {
    days.sort_unstable();
    let mut n = 0;
    let mut last = None;
    for &d in days.iter() {
        if last != Some(d) {
            n += 1;
            last = Some(d);
        }
    }
    f64::from(n)
}

/// Removes the oldest entry of a short queue kept in a `Vec` (the ring holds at most 32
/// timestamps, buckets are dropped once per bucket width, the engine's pending transitions
/// are few), so the shift is cheap; a `VecDeque` per element type cost ~1.7 KB of wasm each.
pub(crate) fn pop_front<T>(v: &mut Vec<T>) -> Option<T> {
    (!v.is_empty()).then(|| v.remove(0))
}

// --- What definitions need from the histories ------------------------------------------

/// Ring size a count test needs: the largest threshold it can decide (at most 32).
fn ring_for_test(test: &Value) -> usize {
    let mut consts = Vec::new();
    collect_numbers(test, &mut consts, 0);
    let max = consts
        .iter()
        .filter(|c| c.is_finite() && **c >= 0.0)
        .fold(0.0f64, |a, &c| a.max(c));
    ((max.floor() as usize) + 1).clamp(1, MAX_RING)
}

fn collect_numbers(v: &Value, out: &mut Vec<f64>, depth: usize) {
    if depth > 8 {
        return;
    }
    match v {
        Value::Number(n) => out.extend(n.as_f64()),
        Value::Object(m) => m
            .iter()
            .for_each(|(_, c)| collect_numbers(c, out, depth + 1)),
        Value::Array(items) => items
            .iter()
            .for_each(|c| collect_numbers(c, out, depth + 1)),
        _ => {}
    }
}

fn need_mut(needs: &mut [Option<Needs>], sel: SelectorId) -> Option<&mut Needs> {
    let slot = needs.get_mut(sel.0 as usize)?;
    Some(slot.get_or_insert_with(|| Needs {
        ring: 1,
        ..Needs::default()
    }))
}

fn add_metric_needs(metric: &Metric, ring: usize, needs: &mut [Option<Needs>]) {
    if let Window::Anchored {
        anchor: Anchor::Event(s),
        ..
    } = &metric.window
    {
        need_mut(needs, *s);
    }
    let Some(n) = need_mut(needs, metric.selector) else {
        return;
    };
    n.ring = n.ring.max(ring).min(MAX_RING);
    n.add_reach(metric.window.reach_ms());
    if metric.measure == Measure::DistinctDays {
        if let Some(reach) = metric.window.reach_ms() {
            // Distinct days need day buckets.
            n.add_reach(Some(reach.max(49 * super::duration::HOUR_MS)));
        }
    }
    if let Some(p) = metric.measure.value_path() {
        if !n.paths.iter().any(|q| q == p) && n.paths.len() < 8 {
            n.paths.push(p.to_owned());
        }
    }
}

fn add_needs(node: &Node, needs: &mut [Option<Needs>]) {
    match node {
        Node::And(items) | Node::Or(items) => items.iter().for_each(|n| add_needs(n, needs)),
        Node::Not(inner) => add_needs(inner, needs),
        Node::Event { metric, test, .. } => {
            let ring = match metric.measure {
                Measure::Count => ring_for_test(test),
                _ => 1,
            };
            add_metric_needs(metric, ring, needs);
        }
        Node::Funnel {
            steps,
            within,
            window,
            ..
        } => {
            for s in steps {
                if let Some(n) = need_mut(needs, *s) {
                    n.ring = 16.max(n.ring).min(MAX_RING);
                    n.add_reach(window.reach_ms().map(|r| r + within.max_ms()));
                }
            }
            if let Window::Anchored {
                anchor: Anchor::Event(s),
                ..
            } = window
            {
                need_mut(needs, *s);
            }
        }
        Node::Compare {
            current, baseline, ..
        } => {
            add_metric_needs(current, 1, needs);
            add_metric_needs(baseline, 1, needs);
        }
        Node::TraitChange { selector, window } => {
            let metric = Metric {
                selector: *selector,
                measure: Measure::Exists,
                window: window.clone(),
            };
            add_metric_needs(&metric, 1, needs);
        }
        Node::Traits { .. } | Node::Segment(_) => {}
    }
}

/// Adds what `def`'s conditions need from each selector's history.
pub(crate) fn add_def_needs(def: &Definition, needs: &mut [Option<Needs>]) {
    add_needs(&def.condition, needs);
    if let Some(exit) = &def.exit_condition {
        add_needs(exit, needs);
    }
}

/// The memory bound of histories with these needs (bytes).
pub(crate) fn bound_bytes(table: &SelectorTable, needs: &[Option<Needs>]) -> usize {
    needs
        .iter()
        .enumerate()
        .filter_map(|(s, n)| {
            n.as_ref()
                .map(|n| n.bound_bytes(table.selectors.get(s).map_or(0, |x| x.canonical.len())))
        })
        .sum()
}

#[cfg(test)]
mod tests;
