//! The segment [`Engine`]: owns definitions, histories, traits and memberships, and turns
//! inputs into membership transitions. Pure and sans-IO: no clock, no storage, no timers.

use super::codec::{self, Snapshot, StateError};
use super::condition::{eval_value_test, Missing};
use super::definition::{
    Anchor, Definition, EventType, LoadError, LoadReport, Node, Outputs, Scope, SegmentKey,
    SelectorId, SelectorKind, SelectorTable, Window, HISTORY_BUDGET,
};
use super::eval::{self, property_values, Ctx, Members};
use super::history::{add_def_needs, bound_bytes, pop_front, History, Needs};
use super::membership::{Member, Reason};
use super::Tri;
use crate::core::time::Millis;
use crate::json::{Map, Value};

/// A session starts after this long without activity (`$session_start`).
pub const SESSION_GAP_MS: i64 = 30 * 60 * 1000;
/// The internal event counting sessions; never sent.
pub const SESSION_START: &str = "$session_start";
/// Upper bound on time steps in one catch-up pass (guards against pathological inputs).
const MAX_TIME_STEPS: usize = 10_000;

/// One analytics call, as the engine needs it.
#[derive(Clone, Copy, Debug)]
pub struct EventInput<'a> {
    /// `track`, `page` or `screen`.
    pub kind: EventType,
    /// Event name (track) or page/screen name.
    pub name: &'a str,
    /// The call's properties.
    pub properties: &'a Value,
    /// The call's context (read by `"on": "context"` leaves), when the driver has it.
    pub context: Option<&'a Value>,
}

/// A membership change, for hooks, DOM events and (unless a baseline) Audience events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    /// The segment.
    pub key: SegmentKey,
    /// Entered (true) or exited.
    pub entered: bool,
    /// Why: baseline, event or time.
    pub reason: Reason,
    /// When it took effect.
    pub at: Millis,
    /// Definition version (with `key`, `entered` and `at` it makes a deterministic id).
    pub version: u64,
    /// Which analytics calls the definition asks for.
    pub outputs: Outputs,
}

/// One row of [`Engine::list`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentStatus {
    /// The segment.
    pub key: SegmentKey,
    /// `Some(true)` member, `Some(false)` not, `None` not known yet.
    pub state: Option<bool>,
    /// When the state was last set.
    pub since: Option<Millis>,
}

/// The segment engine: a sans-IO state machine in the style of `quinn-proto`.
///
/// # Inputs (`handle_*`) and outputs (`poll_*`)
/// - [`load`](Engine::load) replaces the active definitions; invalid ones are reported in
///   the [`LoadReport`] and the valid ones still load.
/// - [`handle_event`](Engine::handle_event) for every track/page/screen call,
///   [`handle_traits`](Engine::handle_traits) after identify/group (and once at startup),
///   [`handle_timeout`](Engine::handle_timeout) when the timer set from
///   [`poll_timeout`](Engine::poll_timeout) fires (spurious calls are no-ops; the driver
///   also calls it on `visibilitychange`, `pageshow` and `online`),
///   [`handle_profile_switch`](Engine::handle_profile_switch) on `reset()` or a new userId.
/// - After every `handle_*`/`load`/`restore_state`: drain
///   [`poll_transition`](Engine::poll_transition) until `None` (hooks run after the call
///   returns), re-arm the timer from [`poll_timeout`](Engine::poll_timeout), and persist
///   [`encode_state`](Engine::encode_state).
///
/// # Startup order
/// `Engine::new()`, [`set_utc_offset`](Engine::set_utc_offset),
/// [`restore_state`](Engine::restore_state) with the stored string (kept until
/// definitions arrive), [`handle_traits`](Engine::handle_traits) with the stored traits,
/// then [`load`](Engine::load): the restored profile is matched to the definitions,
/// transitions that fell due while no tab was open are applied in time order (an enter and
/// an exit that both fell due cancel out), and new definitions get a baseline.
///
/// Every `now` must come from the driver's clock; the engine never reads one.
#[derive(Debug, Default)]
pub struct Engine {
    defs: Vec<Definition>,
    /// Invariant: every segment appears after the segments it references.
    order: Vec<usize>,
    table: SelectorTable,
    /// Indexed by `SelectorId`; `None` for selectors no accepted definition uses.
    histories: Vec<Option<History>>,
    /// Event name to track/page/screen selectors with that name.
    /// Event name → selectors, sorted by name (binary search; a HashMap would add its
    /// hasher and table code to the wasm).
    by_name: Vec<(String, Vec<u16>)>,
    /// Event selectors without a name (match every event of their type).
    any_name: Vec<u16>,
    /// Selector to the segments reading it.
    sel_segments: Vec<Vec<usize>>,
    /// Segment to the segments referencing it.
    dependents: Vec<Vec<usize>>,
    /// Parallel to `defs`.
    members: Vec<Member>,
    /// Parallel to `defs`: next instant a segment could change without input.
    deadlines: Vec<Option<i64>>,
    user: Value,
    group: Value,
    context: Value,
    page: Value,
    utc_offset_min: i32,
    /// Oldest first; few at a time (a `Vec`: `VecDeque`'s wrap-around copies cost 0.6 KB of wasm).
    transitions: Vec<Transition>,
    /// The last `now` seen.
    last_now: i64,
    last_activity: Option<i64>,
    /// No history or state exists yet: first determinations are real, not baselines.
    fresh: bool,
    /// A restored snapshot waiting for definitions.
    pending: Option<Snapshot>,
    budget: usize,
}

impl Engine {
    /// An empty engine for a brand-new profile, with the default history budget (128 KB).
    pub fn new() -> Engine {
        Engine {
            fresh: true,
            budget: HISTORY_BUDGET,
            user: empty(),
            group: empty(),
            context: empty(),
            page: empty(),
            ..Engine::default()
        }
    }

    /// Sets the history budget (bytes) checked at the next load.
    pub fn set_history_budget(&mut self, bytes: usize) {
        self.budget = bytes;
    }

    /// Sets the local UTC offset in minutes (east positive) used by local calendar windows.
    pub fn set_utc_offset(&mut self, minutes: i32) {
        self.utc_offset_min = minutes.clamp(-18 * 60, 18 * 60);
    }

    /// Replaces the active definitions with the JSON array `defs`, validated here (the
    /// `segments-parser` feature; see [`parser::validate`](super::parser::validate)).
    ///
    /// Invalid definitions are rejected with one [`LoadError`] per problem; the others load.
    /// Histories of selectors still referenced are kept; the others are dropped.
    #[cfg(feature = "segments-parser")]
    pub fn load(&mut self, now: Millis, defs: &Value) -> LoadReport {
        let (mut report, valid) = super::parser::validate(defs, self.budget);
        if let Some((table, accepted)) = valid {
            report.history_bound = self.install_defs(now, table, accepted);
        }
        report
    }

    /// Replaces the active definitions with compiled ones (the text of
    /// [`compiled::compile`](super::compiled::compile)), which need no parser: they were
    /// validated when compiled. A text that is not a compiled form this version reads is one
    /// error, and the active definitions stay; patterns `RegExp` refuses are warnings.
    pub fn load_compiled(&mut self, now: Millis, text: &str) -> LoadReport {
        let mut report = LoadReport::default();
        match super::compiled::decode(text) {
            Ok((table, defs, warnings)) => {
                report.accepted = defs.iter().map(|d| d.key.clone()).collect();
                report.warnings = warnings;
                report.history_bound = self.install_defs(now, table, defs);
            }
            Err(e) => report.errors.push(LoadError {
                key: String::new(),
                path: String::new(),
                message: e.message().to_owned(),
            }),
        }
        report
    }

    /// Installs validated definitions: histories kept or made for what they need, the
    /// restored profile matched to them, catch-up, baselines. Returns the history bound.
    fn install_defs(&mut self, now: Millis, table: SelectorTable, defs: Vec<Definition>) -> usize {
        let now = self.clock(now);
        let mut needs: Vec<Option<Needs>> = vec![None; table.selectors.len()];
        for def in &defs {
            add_def_needs(def, &mut needs);
        }
        let bound = bound_bytes(&table, &needs);
        self.install(now, table, needs, defs);
        if let Some(snapshot) = self.pending.take() {
            self.apply_snapshot(now, snapshot);
        }
        self.evaluate_all(now, Reason::Event);
        // From now on, definitions added by a later load find an existing profile: baselines.
        self.fresh = false;
        bound
    }

    /// Records a track/page/screen call and re-evaluates the segments that read it.
    pub fn handle_event(&mut self, now: Millis, event: EventInput<'_>) {
        let now = self.clock(now);
        self.run_due(now, false);
        if matches!(event.name, "Audience Entered" | "Audience Exited")
            && event.kind == EventType::Track
        {
            // Our own outputs never feed back into any segment's history.
            return;
        }
        self.fresh = false;
        if let Some(ctx) = event.context {
            self.context = ctx.clone();
        }
        if event.kind == EventType::Page {
            self.page = event.properties.clone();
        }
        let mut dirty = vec![false; self.defs.len()];
        if self
            .last_activity
            .is_none_or(|t| now.saturating_sub(t) >= SESSION_GAP_MS)
        {
            let empty = empty();
            self.record(now, EventType::Track, SESSION_START, &empty, &mut dirty);
        }
        self.last_activity = Some(now);
        if event.name != SESSION_START {
            self.record(now, event.kind, event.name, event.properties, &mut dirty);
        }
        if matches!(event.kind, EventType::Page) || event.context.is_some() {
            // Page and context leaves may read what this call carried.
            dirty.iter_mut().for_each(|d| *d = true);
        }
        self.evaluate(now, &mut dirty, Reason::Event);
    }

    /// Replaces user traits and/or group traits (after identify/group or at startup).
    pub fn handle_traits(&mut self, now: Millis, user: Option<&Value>, group: Option<&Value>) {
        let now = self.clock(now);
        self.run_due(now, false);
        if let Some(user) = user {
            let mut changed = Vec::new();
            for (i, sel) in self.table.selectors.iter().enumerate() {
                if let SelectorKind::TraitChange {
                    trait_path,
                    from,
                    to,
                } = &sel.kind
                {
                    let old = self
                        .user
                        .pointer_dot(trait_path)
                        .cloned()
                        .unwrap_or(Value::Null);
                    let new = user.pointer_dot(trait_path).cloned().unwrap_or(Value::Null);
                    if old != new
                        && eval_value_test(from, &old) == Tri::True
                        && eval_value_test(to, &new) == Tri::True
                    {
                        changed.push(i);
                    }
                }
            }
            for i in changed {
                if let Some(Some(h)) = self.histories.get_mut(i) {
                    h.record(now, &[]);
                }
            }
            self.user = user.clone();
        }
        if let Some(group) = group {
            self.group = group.clone();
        }
        self.evaluate_all(now, Reason::Event);
    }

    /// Applies every change that time alone caused up to `now`, in time order.
    pub fn handle_timeout(&mut self, now: Millis) {
        let now = self.clock(now);
        self.run_due(now, false);
    }

    /// Switches to a fresh profile (`reset()` or a new userId): history, traits and
    /// memberships are cleared without exit transitions.
    pub fn handle_profile_switch(&mut self, now: Millis) {
        let now = self.clock(now);
        for h in self.histories.iter_mut().flatten() {
            *h = History::new(h.needs.clone(), now);
        }
        for (m, d) in self.members.iter_mut().zip(&self.defs) {
            *m = Member {
                version: d.version,
                ..Member::default()
            };
        }
        self.user = empty();
        self.group = empty();
        self.context = empty();
        self.page = empty();
        self.last_activity = None;
        self.fresh = true;
        self.pending = None;
        self.evaluate_all(now, Reason::Event);
    }

    /// The next membership change, oldest first.
    pub fn poll_transition(&mut self) -> Option<Transition> {
        pop_front(&mut self.transitions)
    }

    /// When the driver should call [`handle_timeout`](Engine::handle_timeout) next.
    pub fn poll_timeout(&self) -> Option<Millis> {
        self.deadlines
            .iter()
            .flatten()
            .min()
            .map(|&t| Millis(u64::try_from(t).unwrap_or(0)))
    }

    /// Whether an active definition reads the event context (`"on": "context"`): only then
    /// does the driver hand the engine events' contexts.
    pub fn reads_context(&self) -> bool {
        fn reads(n: &Node) -> bool {
            match n {
                Node::And(items) | Node::Or(items) => items.iter().any(reads),
                Node::Not(inner) => reads(inner),
                Node::Traits { on, .. } => *on == Scope::Context,
                _ => false,
            }
        }
        self.defs
            .iter()
            .any(|d| reads(&d.condition) || d.exit_condition.as_ref().is_some_and(reads))
    }

    /// `Some(true)` member, `Some(false)` not, `None` unknown or no such segment.
    pub fn is_member(&self, key: &str) -> Option<bool> {
        let idx = self.defs.iter().position(|d| d.key.0 == key)?;
        self.members.get(idx)?.state
    }

    /// Every active definition with its state.
    pub fn list(&self) -> Vec<SegmentStatus> {
        self.defs
            .iter()
            .zip(&self.members)
            .map(|(d, m)| SegmentStatus {
                key: d.key.clone(),
                state: m.state,
                since: m.state.map(|_| Millis(u64::try_from(m.since).unwrap_or(0))),
            })
            .collect()
    }

    /// The condition tree of `key` evaluated at the last `now`: each node's value (T/F/U)
    /// and, for behavioural leaves, the measured value, window and horizon.
    pub fn explain(&self, key: &str) -> Option<Value> {
        let idx = self.defs.iter().position(|d| d.key.0 == key)?;
        let def = self.defs.get(idx)?;
        let ctx = self.ctx(self.last_now, true);
        let mut out = Map::new();
        out.insert("key", Value::str(def.key.as_str()));
        let state = self.members.get(idx).and_then(|m| m.state);
        out.insert("state", state.map_or(Value::Null, Value::Bool));
        out.insert(
            "condition",
            eval::eval(&def.condition, &ctx).explain.unwrap_or_default(),
        );
        if let Some(exit) = &def.exit_condition {
            out.insert(
                "exitCondition",
                eval::eval(exit, &ctx).explain.unwrap_or_default(),
            );
        }
        Some(Value::Object(out))
    }

    /// Bytes the histories use now (same accounting as the load-time bound).
    pub fn history_bytes(&self) -> usize {
        self.histories
            .iter()
            .enumerate()
            .filter_map(|(i, h)| {
                let len = self.table.selectors.get(i).map_or(0, |s| s.canonical.len());
                h.as_ref().map(|h| h.bytes(len))
            })
            .sum()
    }

    /// The memory bound computed from the active definitions (bytes).
    pub fn history_bound(&self) -> usize {
        self.histories
            .iter()
            .enumerate()
            .filter_map(|(i, h)| {
                let len = self.table.selectors.get(i).map_or(0, |s| s.canonical.len());
                h.as_ref().map(|h| h.needs.bound_bytes(len))
            })
            .sum()
    }

    /// The persisted state (versioned binary, base64) for one localStorage value.
    pub fn encode_state(&self) -> String {
        let mut snap = Snapshot {
            last_now: self.last_now,
            last_activity: self.last_activity,
            ..Snapshot::default()
        };
        for (i, h) in self.histories.iter().enumerate() {
            if let (Some(h), Some(sel)) = (h, self.table.selectors.get(i)) {
                snap.histories.push((sel.canonical.clone(), h.clone()));
            }
        }
        for (d, m) in self.defs.iter().zip(&self.members) {
            snap.members.push((d.key.0.clone(), *m));
        }
        if let Some(p) = &self.pending {
            // Definitions never arrived: keep what was restored.
            if self.defs.is_empty() {
                return codec::encode(p);
            }
        }
        codec::encode(&snap)
    }

    /// Restores a state written by [`encode_state`](Engine::encode_state). Before
    /// definitions are loaded it is kept and applied by the next [`load`](Engine::load);
    /// after, it is applied now, followed by the catch-up pass.
    ///
    /// # Errors
    /// [`StateError`] when the text is not a state this version can read; the engine is
    /// then unchanged (a fresh profile).
    pub fn restore_state(&mut self, now: Millis, text: &str) -> Result<(), StateError> {
        let now = self.clock(now);
        let snap = codec::decode(text)?;
        self.fresh = false;
        if self.defs.is_empty() {
            self.pending = Some(snap);
        } else {
            self.apply_snapshot(now, snap);
            self.evaluate_all(now, Reason::Event);
        }
        Ok(())
    }

    fn clock(&mut self, now: Millis) -> i64 {
        let now = i64::try_from(now.0).unwrap_or(i64::MAX / 2);
        // Time never runs backwards for the engine.
        let now = now.max(self.last_now);
        self.last_now = now;
        now
    }

    fn ctx(&self, now: i64, explain: bool) -> Ctx<'_> {
        Ctx {
            now,
            utc_offset_min: self.utc_offset_min,
            histories: &self.histories,
            user: &self.user,
            group: &self.group,
            context: &self.context,
            page: &self.page,
            members: Members {
                defs: &self.defs,
                states: &self.members,
            },
            explain,
        }
    }

    fn install(
        &mut self,
        now: i64,
        table: SelectorTable,
        needs: Vec<Option<Needs>>,
        defs: Vec<Definition>,
    ) {
        let mut old: Vec<(String, History)> = Vec::new();
        for (i, h) in std::mem::take(&mut self.histories).into_iter().enumerate() {
            if let (Some(h), Some(sel)) = (h, self.table.selectors.get(i)) {
                old.push((sel.canonical.clone(), h));
            }
        }
        let mut histories = Vec::with_capacity(table.selectors.len());
        for (sel, need) in table.selectors.iter().zip(needs) {
            let kept = old
                .iter()
                .position(|(c, _)| *c == sel.canonical)
                .map(|at| old.swap_remove(at).1);
            histories.push(need.map(|need| match kept {
                Some(mut h) => {
                    h.reconfigure(need);
                    h
                }
                None => History::new(need, now),
            }));
        }
        // Indexes.
        self.by_name.clear();
        self.any_name.clear();
        let mut sel_segments = vec![Vec::new(); table.selectors.len()];
        for (d_idx, def) in defs.iter().enumerate() {
            let mut sels = Vec::new();
            selectors_of(&def.condition, &mut sels);
            if let Some(exit) = &def.exit_condition {
                selectors_of(exit, &mut sels);
            }
            for s in sels {
                if let Some(list) = sel_segments.get_mut(s.0 as usize) {
                    if !list.contains(&d_idx) {
                        list.push(d_idx);
                    }
                }
            }
        }
        for (i, sel) in table.selectors.iter().enumerate() {
            if histories.get(i).is_none_or(Option::is_none) {
                continue;
            }
            if let SelectorKind::Event { names, .. } = &sel.kind {
                if names.is_empty() {
                    self.any_name.push(i as u16);
                }
                for n in names {
                    match self
                        .by_name
                        .binary_search_by(|(k, _)| k.as_str().cmp(n.as_str()))
                    {
                        Ok(at) => {
                            if let Some((_, ids)) = self.by_name.get_mut(at) {
                                ids.push(i as u16);
                            }
                        }
                        Err(at) => self.by_name.insert(at, (n.clone(), vec![i as u16])),
                    }
                }
            }
        }
        // Members: keep the state of unchanged versions; re-baseline the others.
        let old_defs = std::mem::take(&mut self.defs);
        let old_members = std::mem::take(&mut self.members);
        let fresh = self.fresh;
        self.members = defs
            .iter()
            .map(|d| {
                match old_defs
                    .iter()
                    .position(|o| o.key == d.key)
                    .and_then(|i| old_members.get(i))
                {
                    Some(m) if m.version == d.version => *m,
                    Some(m) => Member {
                        version: d.version,
                        baseline: true,
                        ..*m
                    },
                    None => Member {
                        version: d.version,
                        baseline: !fresh,
                        ..Member::default()
                    },
                }
            })
            .collect();
        self.dependents = vec![Vec::new(); defs.len()];
        for (i, d) in defs.iter().enumerate() {
            for r in d.references() {
                if let Some(j) = defs.iter().position(|x| x.key == *r) {
                    if let Some(list) = self.dependents.get_mut(j) {
                        list.push(i);
                    }
                }
            }
        }
        self.order = topo_order(&defs);
        self.deadlines = vec![None; defs.len()];
        self.defs = defs;
        self.table = table;
        self.histories = histories;
        self.sel_segments = sel_segments;
    }

    fn apply_snapshot(&mut self, now: i64, snap: Snapshot) {
        for (canonical, stored) in snap.histories {
            let Some(i) = self
                .table
                .selectors
                .iter()
                .position(|s| s.canonical == canonical)
            else {
                continue;
            };
            if let Some(Some(h)) = self.histories.get_mut(i) {
                let needs = h.needs.clone();
                *h = stored;
                h.reconfigure(needs);
            }
        }
        for (i, def) in self.defs.iter().enumerate() {
            let Some(slot) = self.members.get_mut(i) else {
                continue;
            };
            match snap.members.iter().find(|(k, _)| *k == def.key.0) {
                Some((_, m)) if m.version == def.version => *slot = *m,
                Some((_, m)) => {
                    *slot = Member {
                        version: def.version,
                        baseline: true,
                        ..*m
                    }
                }
                None => {
                    *slot = Member {
                        version: def.version,
                        baseline: true,
                        ..Member::default()
                    }
                }
            }
        }
        self.last_activity = snap.last_activity;
        self.fresh = false;
        // Catch up from when the state was written: deadlines are recomputed at that time.
        let from = snap.last_now.min(now);
        self.evaluate_at_silently(from);
        self.run_due(now, true);
    }

    /// Computes deadlines at `t` without moving anyone (the state already reflects `t`).
    fn evaluate_at_silently(&mut self, t: i64) {
        for idx in 0..self.defs.len() {
            let Some((c, e)) = self.eval_segment(idx, t, false) else {
                continue;
            };
            if let Some(slot) = self.deadlines.get_mut(idx) {
                *slot = earliest(c.next, e.and_then(|e| e.next));
            }
        }
    }

    fn record(&mut self, now: i64, kind: EventType, name: &str, props: &Value, dirty: &mut [bool]) {
        // Disjoint field borrows: the id lists are read while histories change (no copy of them).
        let Engine {
            by_name,
            any_name,
            table,
            histories,
            sel_segments,
            ..
        } = self;
        let named = match by_name.binary_search_by(|(k, _)| k.as_str().cmp(name)) {
            Ok(at) => by_name.get(at).map_or(&[][..], |(_, ids)| ids.as_slice()),
            Err(_) => &[],
        };
        for &id in named.iter().chain(any_name.iter()) {
            let Some(sel) = table.selectors.get(id as usize) else {
                continue;
            };
            let SelectorKind::Event {
                event_type, filter, ..
            } = &sel.kind
            else {
                continue;
            };
            if *event_type != kind {
                continue;
            }
            if let Some(f) = filter {
                if f.eval(props, Missing::Gb) != Tri::True {
                    continue;
                }
            }
            if let Some(Some(h)) = histories.get_mut(id as usize) {
                let values = property_values(props, &h.needs.paths);
                h.record(now, &values);
            }
            if let Some(segs) = sel_segments.get(id as usize) {
                for &s in segs {
                    if let Some(d) = dirty.get_mut(s) {
                        *d = true;
                    }
                }
            }
        }
    }

    fn eval_segment(
        &self,
        idx: usize,
        now: i64,
        explain: bool,
    ) -> Option<(eval::Out, Option<eval::Out>)> {
        let ctx = self.ctx(now, explain);
        let def = self.defs.get(idx)?;
        let c = eval::eval(&def.condition, &ctx);
        let e = def.exit_condition.as_ref().map(|x| eval::eval(x, &ctx));
        Some((c, e))
    }

    fn evaluate_all(&mut self, now: i64, cause: Reason) {
        let mut dirty = vec![true; self.defs.len()];
        self.evaluate(now, &mut dirty, cause);
    }

    /// Re-evaluates the dirty segments (and those referencing them) in dependency order.
    fn evaluate(&mut self, now: i64, dirty: &mut [bool], cause: Reason) {
        let order = self.order.clone();
        for idx in order {
            if !dirty.get(idx).copied().unwrap_or(false) {
                continue;
            }
            let Some((c, e)) = self.eval_segment(idx, now, false) else {
                continue;
            };
            let Some(def) = self.defs.get(idx) else {
                continue;
            };
            let policy = def.membership;
            let Some(member) = self.members.get_mut(idx) else {
                continue;
            };
            let before = member.state;
            let (mv, timer) =
                member.step(&policy, c.value, e.as_ref().map(|e| e.value), now, cause);
            let deadline = earliest(earliest(c.next, e.and_then(|e| e.next)), timer);
            if let Some(slot) = self.deadlines.get_mut(idx) {
                *slot = deadline;
            }
            if let Some(mv) = mv {
                self.transitions.push(Transition {
                    key: def.key.clone(),
                    entered: mv.entered,
                    reason: mv.reason,
                    at: Millis(u64::try_from(mv.at).unwrap_or(0)),
                    version: def.version,
                    outputs: def.outputs,
                });
            }
            if self.members.get(idx).map(|m| m.state) != Some(before) {
                for &d in self.dependents.get(idx).map(Vec::as_slice).unwrap_or(&[]) {
                    if let Some(slot) = dirty.get_mut(d) {
                        *slot = true;
                    }
                }
            }
        }
    }

    /// Applies, in time order, every deadline that fell due up to `now`. With `cancel`,
    /// the transitions of one segment that net out (enter then exit) are dropped.
    fn run_due(&mut self, now: i64, cancel: bool) {
        let start_len = self.transitions.len();
        let before: Vec<Option<bool>> = self.members.iter().map(|m| m.state).collect();
        for _ in 0..MAX_TIME_STEPS {
            let Some(t) = self
                .deadlines
                .iter()
                .flatten()
                .copied()
                .filter(|&t| t <= now)
                .min()
            else {
                break;
            };
            let mut dirty: Vec<bool> = self
                .deadlines
                .iter()
                .map(|d| d.is_some_and(|d| d <= t))
                .collect();
            self.evaluate(t, &mut dirty, Reason::Time);
            // A deadline that did not move would loop: drop it.
            for d in self.deadlines.iter_mut() {
                if d.is_some_and(|d| d <= t) {
                    *d = None;
                }
            }
        }
        // Segments evaluated at a deadline `t < now` are current at `now` as well: by
        // definition nothing changes them before their next deadline.
        if cancel {
            let new: Vec<Transition> = self.transitions.drain(start_len..).collect();
            for (idx, def) in self.defs.iter().enumerate() {
                let after = self.members.get(idx).and_then(|m| m.state);
                if before.get(idx).copied().flatten() == after {
                    continue;
                }
                if let Some(last) = new.iter().rev().find(|t| t.key == def.key) {
                    self.transitions.push(last.clone());
                }
            }
            // In time order: a stable insertion sort (a few transitions; std's stable sort of
            // `Transition`s was ~0.9 KB of wasm).
            let tail = self.transitions.get_mut(start_len..).unwrap_or_default();
            for i in 1..tail.len() {
                let mut j = i;
                while j > 0 && tail.get(j - 1).map(|t| t.at) > tail.get(j).map(|t| t.at) {
                    tail.swap(j - 1, j);
                    j -= 1;
                }
            }
        }
    }
}

fn empty() -> Value {
    Value::Object(Map::new())
}

fn earliest(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// Dependency order: referenced segments first.
fn topo_order(defs: &[Definition]) -> Vec<usize> {
    let mut order = Vec::with_capacity(defs.len());
    let mut placed = vec![false; defs.len()];
    // Indexing is in bounds: `placed` has one slot per definition and every index comes
    // from `defs`.
    for _ in 0..=defs.len() {
        for (i, d) in defs.iter().enumerate() {
            if placed[i] {
                continue;
            }
            let ready = d.references().iter().all(|r| {
                defs.iter()
                    .position(|x| x.key == **r)
                    .is_none_or(|j| placed[j])
            });
            if ready {
                placed[i] = true;
                order.push(i);
            }
        }
    }
    order
}

fn selectors_of(node: &Node, out: &mut Vec<SelectorId>) {
    let window_sel = |w: &Window, out: &mut Vec<SelectorId>| {
        if let Window::Anchored {
            anchor: Anchor::Event(s),
            ..
        } = w
        {
            out.push(*s);
        }
    };
    match node {
        Node::And(items) | Node::Or(items) => items.iter().for_each(|n| selectors_of(n, out)),
        Node::Not(inner) => selectors_of(inner, out),
        Node::Event { metric, .. } => {
            out.push(metric.selector);
            window_sel(&metric.window, out);
        }
        Node::Funnel { steps, window, .. } => {
            out.extend_from_slice(steps);
            window_sel(window, out);
        }
        Node::Compare {
            current, baseline, ..
        } => {
            for m in [current, baseline] {
                out.push(m.selector);
                window_sel(&m.window, out);
            }
        }
        Node::TraitChange { selector, window } => {
            out.push(*selector);
            window_sel(window, out);
        }
        Node::Traits { .. } | Node::Segment(_) => {}
    }
}
