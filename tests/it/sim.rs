//! The simulated world for the analytics core: a clock, storage, Web Locks and a network, all
//! plain data. It drives the core exactly as the web driver does: through the core's own
//! polling loop (`Analytics::pump`) with a [`Host`] that records what the core asked for, the
//! I/O task after calls, the one timer the core armed, lock grants as later tasks.
//!
//! [`Sim`] is one page with cookies and localStorage (identity, events, delivery); [`World`]
//! is a browser profile with several tabs sharing storage and locks, and an API with a
//! latency (the persisted queue, throughput).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use sieve::core::args::{decode_args, Arg};
use sieve::core::config::{Config, CookieConfig};
use sieve::core::delivery::{BatchId, Notice, SendOutcome, Transmit};
use sieve::core::event::Env;
use sieve::core::identity::{StorageSnapshot, StorageWrite, Store};
use sieve::core::page::BufferedPageContext;
use sieve::core::persisted::Claims;
use sieve::core::pump::{Host, Stage};
use sieve::core::time::Millis;
use sieve::core::{Analytics, CallError, Dispatch, EventType};
use sieve::json::{self, Value};

pub const T0: u64 = 1_795_000_000_000;
/// The persisted queue's keys for the write key the worlds use.
pub const PREFIX: &str = "sieve:q1:WK:";
/// Steps at one instant after which a drive decides the core never goes idle.
const MAX_STEPS_AT_ONE_INSTANT: usize = 10_000;

/// Fails a drive whose core never goes idle: more than [`MAX_STEPS_AT_ONE_INSTANT`] steps
/// without the clock moving.
struct IdleGuard {
    steps: usize,
    at: Millis,
}

impl IdleGuard {
    fn new(now: Millis) -> IdleGuard {
        IdleGuard { steps: 0, at: now }
    }

    /// One step of a drive, at `now`.
    fn step(&mut self, now: Millis) {
        if now == self.at {
            self.steps += 1;
            assert!(
                self.steps < MAX_STEPS_AT_ONE_INSTANT,
                "the core never went idle at {}",
                now.0
            );
        } else {
            (self.steps, self.at) = (0, now);
        }
    }
}

/// A seeded generator for property tests (an LCG: the same seed gives the same run).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

pub fn env() -> Env {
    Env {
        user_agent: "SimUA/1.0".into(),
        locale: Some("en-US".into()),
        timezone: Some("Europe/Paris".into()),
        user_agent_data: None,
    }
}

pub fn page_at(url: &str) -> BufferedPageContext {
    let (path_and_query, _) = url.split_once('#').unwrap_or((url, ""));
    let after_host = path_and_query.splitn(4, '/').nth(3).unwrap_or("");
    let (path, search) = match after_host.split_once('?') {
        Some((p, q)) => (format!("/{p}"), format!("?{q}")),
        None => (format!("/{after_host}"), String::new()),
    };
    BufferedPageContext {
        canonical: None,
        path,
        url: url.to_owned(),
        search,
        title: "Sim Page".into(),
        referrer: "https://ref.example/".into(),
    }
}

pub fn ok() -> SendOutcome {
    status(200)
}

pub fn status(code: u16) -> SendOutcome {
    SendOutcome {
        status: code,
        retry_after: None,
    }
}

/// The events of a request body (a batch, or one standard-mode event).
pub fn batch_events(t: &Transmit) -> Vec<Value> {
    let body = json::parse(&t.body).unwrap();
    match body.get("batch") {
        Some(Value::Array(events)) => events.clone(),
        _ => vec![body],
    }
}

pub fn message_id(e: &Value) -> String {
    e.get("messageId")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned()
}

/// What one pump asked of the browser, besides storage (applied at once).
#[derive(Default)]
struct Asked {
    sends: Vec<Transmit>,
    notices: Vec<Notice>,
    /// The timer as last set (`Some(None)`: cleared).
    timer: Option<Option<Millis>>,
    /// Other tabs' locks to try (a later task).
    claims: Vec<String>,
    /// This tab's own lock: held or let go.
    locks: Vec<(String, bool)>,
}

/// The one [`Host`] of the tests: storage is applied at once, everything else recorded.
struct SimHost<'a> {
    cookies: &'a mut BTreeMap<String, String>,
    local: &'a mut BTreeMap<String, String>,
    /// localStorage refuses every write (quota, blocked).
    storage_broken: bool,
    /// localStorage writes of queue keys applied so far.
    queue_writes: &'a mut usize,
    asked: Asked,
}

impl Host for SimHost<'_> {
    fn scan(&mut self, prefix: &str) -> Vec<(String, String)> {
        self.local
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    fn write(&mut self, write: &StorageWrite, _cookie: &CookieConfig) -> bool {
        let store = match write.store {
            Store::Cookie => &mut *self.cookies,
            Store::Local if self.storage_broken => return false,
            Store::Local => {
                if write.key.starts_with(PREFIX) {
                    *self.queue_writes += 1;
                }
                &mut *self.local
            }
        };
        match &write.value {
            Some(v) => store.insert(write.key.clone(), v.clone()),
            None => store.remove(&write.key),
        };
        true
    }

    fn claim(&mut self, _prefix: &str, tab: &str) {
        self.asked.claims.push(tab.to_owned());
    }

    fn hold_lock(&mut self, name: &str, hold: bool) {
        self.asked.locks.push((name.to_owned(), hold));
    }

    fn send(&mut self, transmit: Transmit) {
        self.asked.sends.push(transmit);
    }

    fn notice(&mut self, notice: Notice) {
        self.asked.notices.push(notice);
    }

    fn set_timer(&mut self, deadline: Option<Millis>) {
        self.asked.timer = Some(deadline);
    }
}

fn config(settings: &str, options: &str) -> Config {
    Config::from_settings(
        "WK",
        &json::parse(settings).unwrap(),
        &json::parse(options).unwrap(),
    )
}

// -----------------------------------------------------------------------------------------
// One page

pub struct Sim {
    pub now: Millis,
    pub core: Analytics,
    /// What the next requests get back (front first); empty ⇒ 200.
    pub network: VecDeque<SendOutcome>,
    /// Requests handed out, not yet answered.
    pub in_flight: Vec<Transmit>,
    /// Every request handed out, in order, with the time it left.
    pub sent: Vec<(Millis, Transmit)>,
    pub cookies: BTreeMap<String, String>,
    pub local: BTreeMap<String, String>,
    pub notices: Vec<Notice>,
    /// The timer the core armed.
    timer: Option<Millis>,
    queue_writes: usize,
}

impl Sim {
    pub fn new(settings: &str, options: &str) -> Sim {
        Sim::with_storage(settings, options, StorageSnapshot::default())
    }

    pub fn with_storage(settings: &str, options: &str, snapshot: StorageSnapshot) -> Sim {
        let core = Analytics::new(config(settings, options), env(), &snapshot, [42; 16]);
        let mut sim = Sim {
            now: Millis(T0),
            core,
            network: VecDeque::new(),
            in_flight: Vec::new(),
            sent: Vec::new(),
            cookies: BTreeMap::new(),
            local: BTreeMap::new(),
            notices: Vec::new(),
            timer: None,
            queue_writes: 0,
        };
        sim.pump(Stage::Input);
        sim
    }

    /// Runs the core's polling loop with this page as its host.
    fn pump(&mut self, stage: Stage) {
        let mut host = SimHost {
            cookies: &mut self.cookies,
            local: &mut self.local,
            storage_broken: false,
            queue_writes: &mut self.queue_writes,
            asked: Asked::default(),
        };
        self.core.pump(self.now, &mut host, stage);
        let asked = host.asked;
        for t in asked.sends {
            self.sent.push((self.now, t.clone()));
            self.in_flight.push(t);
        }
        self.notices.extend(asked.notices);
        if let Some(timer) = asked.timer {
            self.timer = timer;
        }
    }

    /// A call in the shim's wire form: `types` letters and a JSON array of values.
    pub fn call_wire(
        &mut self,
        method: &str,
        types: &str,
        values: &str,
    ) -> Result<Value, CallError> {
        let (args, page) = decode_args(types, &json::parse(values).unwrap());
        self.call_args(
            method,
            &args,
            page.unwrap_or_else(|| page_at("https://www.example.com/shop?q=1")),
        )
    }

    /// A call as the web driver makes it: `track(name[, properties])` through the text fast
    /// path, anything else parsed (the page context: the core's own).
    pub fn call_text(
        &mut self,
        method: &str,
        types: &str,
        values: &str,
    ) -> Result<String, CallError> {
        let method = EventType::from_name(method).unwrap();
        let res = self
            .core
            .handle_wire_call(self.now, method, types, values, Dispatch::Queue);
        self.after_call();
        res
    }

    pub fn call_args(
        &mut self,
        method: &str,
        args: &[Arg],
        page: BufferedPageContext,
    ) -> Result<Value, CallError> {
        let method = EventType::from_name(method).unwrap();
        let res = self
            .core
            .handle_call(self.now, method, args, &page, Dispatch::Queue);
        self.after_call();
        res.map(|json| json::parse(&json).unwrap())
    }

    pub fn track(&mut self, name: &str) -> Value {
        self.call_wire("track", "s", &format!("[{}]", Value::str(name).to_json()))
            .unwrap()
    }

    /// After an API call: storage now, then the I/O task (it runs right after the caller's
    /// task).
    fn after_call(&mut self) {
        self.pump(Stage::Call);
        self.step();
    }

    /// The I/O task (also what the driver runs after a lifecycle change): the end of the
    /// turn, then the whole protocol. Tests call it after handing the core an input directly.
    pub fn step(&mut self) {
        self.pump(Stage::IoTask);
    }

    /// Answers every request in flight from the network script.
    pub fn answer_all(&mut self) {
        for t in std::mem::take(&mut self.in_flight) {
            let outcome = self.network.pop_front().unwrap_or_else(ok);
            self.core.handle_send_outcome(self.now, t.id, &outcome);
            self.pump(Stage::Input);
        }
    }

    /// Answers every request in flight with `api(request)` (not those they lead to).
    pub fn answer_with(&mut self, mut api: impl FnMut(&Transmit) -> SendOutcome) {
        for t in std::mem::take(&mut self.in_flight) {
            let outcome = api(&t);
            self.core.handle_send_outcome(self.now, t.id, &outcome);
            self.pump(Stage::Input);
        }
    }

    /// The timer fired at its deadline.
    fn fire_timer(&mut self) {
        if let Some(deadline) = self.timer.take() {
            self.now = deadline.max(self.now);
            self.core.handle_timeout(self.now);
            self.pump(Stage::Input);
        }
    }

    /// Moves the clock, firing the timer when it falls due, until a request is in flight (its
    /// answer is the test's to give) or `ms` have passed.
    pub fn advance(&mut self, ms: u64) {
        let target = self.now.plus(ms);
        let mut steps = 0;
        while self.timer.is_some_and(|d| d <= target) {
            self.fire_timer();
            steps += 1;
            assert!(steps < MAX_STEPS_AT_ONE_INSTANT, "the core never went idle");
            if !self.in_flight.is_empty() {
                break;
            }
        }
        self.now = target.max(self.now);
    }

    /// Answers requests and fires timers until nothing is left to do within `limit_ms`;
    /// panics when the core never goes idle (requests without end at one instant).
    pub fn drive(&mut self, limit_ms: u64) {
        let end = self.now.plus(limit_ms);
        let mut idle = IdleGuard::new(self.now);
        loop {
            self.answer_all();
            match self.timer {
                Some(d) if d <= end => self.fire_timer(),
                _ if self.in_flight.is_empty() => break,
                _ => {}
            }
            idle.step(self.now);
        }
    }

    /// Events of request `i` of `sent`.
    pub fn batch(&self, i: usize) -> Vec<Value> {
        batch_events(&self.sent[i].1)
    }
}

// -----------------------------------------------------------------------------------------
// A browser profile: tabs sharing storage and locks, and an API with a latency

pub struct Tab {
    pub core: Analytics,
    /// Requests handed out, not yet answered.
    pub in_flight: Vec<Transmit>,
    /// When each request (by id) gets its answer.
    answer_at: BTreeMap<BatchId, Millis>,
    pub notices: Vec<Notice>,
    /// False once closed, crashed, or frozen: it runs nothing.
    pub open: bool,
    timer: Option<Millis>,
    /// The I/O task is queued.
    io_task: bool,
    /// Lock claims waiting for their grant (a later task).
    claims: Vec<String>,
}

/// One browser profile: shared storage and locks, tabs, a clock and the API.
pub struct World {
    pub now: Millis,
    pub local: BTreeMap<String, String>,
    pub cookies: BTreeMap<String, String>,
    /// Held Web Locks (names).
    pub locks: BTreeSet<String>,
    /// Lock names held per tab index (released when the tab closes or crashes).
    held_by: BTreeMap<usize, String>,
    pub tabs: Vec<Tab>,
    claims: Claims,
    /// What the API answers next (front first); empty ⇒ `api_default`.
    pub network: VecDeque<SendOutcome>,
    pub api_default: SendOutcome,
    /// How long the API takes to answer.
    pub latency_ms: u64,
    /// Every request sent: (tab, time, request).
    pub sent: Vec<(usize, Millis, Transmit)>,
    /// messageIds the API accepted, with multiplicity.
    pub delivered: BTreeMap<String, usize>,
    /// localStorage writes of queue keys applied so far.
    pub queue_writes: usize,
    pub storage_broken: bool,
}

impl World {
    pub fn new(claims: Claims) -> World {
        World {
            now: Millis(T0),
            local: BTreeMap::new(),
            cookies: BTreeMap::new(),
            locks: BTreeSet::new(),
            held_by: BTreeMap::new(),
            tabs: Vec::new(),
            claims,
            network: VecDeque::new(),
            api_default: ok(),
            latency_ms: 0,
            sent: Vec::new(),
            delivered: BTreeMap::new(),
            queue_writes: 0,
            storage_broken: false,
        }
    }

    /// Opens a tab (a page load) and runs its start-up.
    pub fn open_tab(&mut self, options: &str) -> usize {
        let settings = r#"{"integrations":{"Segment.io":{"apiKey":"WK","apiHost":"collector.test/v1","protocol":"http"}}}"#;
        let mut seed = [7; 16];
        seed[0] = self.tabs.len() as u8 + 1;
        let mut core = Analytics::new(
            config(settings, options),
            env(),
            &StorageSnapshot::default(),
            seed,
        );
        core.handle_queue_open(self.now, self.claims);
        self.tabs.push(Tab {
            core,
            in_flight: Vec::new(),
            answer_at: BTreeMap::new(),
            notices: Vec::new(),
            open: true,
            timer: None,
            io_task: false,
            claims: Vec::new(),
        });
        let i = self.tabs.len() - 1;
        self.pump(i, Stage::Input);
        self.settle(i);
        i
    }

    /// Closes (or crashes) a tab: no pagehide work, its locks are released by the browser,
    /// its requests in flight are lost.
    pub fn close_tab(&mut self, i: usize) {
        self.tabs[i].open = false;
        self.tabs[i].in_flight.clear();
        self.tabs[i].answer_at.clear();
        if let Some(name) = self.held_by.remove(&i) {
            self.locks.remove(&name);
        }
    }

    /// Runs tab `i`'s core through its polling loop with the profile as host.
    fn pump(&mut self, i: usize, stage: Stage) {
        if !self.tabs[i].open {
            return;
        }
        let mut host = SimHost {
            cookies: &mut self.cookies,
            local: &mut self.local,
            storage_broken: self.storage_broken,
            queue_writes: &mut self.queue_writes,
            asked: Asked::default(),
        };
        let io_task = self.tabs[i].core.pump(self.now, &mut host, stage);
        let asked = host.asked;
        let tab = &mut self.tabs[i];
        tab.io_task |= io_task;
        for t in asked.sends {
            self.sent.push((i, self.now, t.clone()));
            tab.answer_at.insert(t.id, self.now.plus(self.latency_ms));
            tab.in_flight.push(t);
        }
        tab.notices.extend(asked.notices);
        if let Some(timer) = asked.timer {
            tab.timer = timer;
        }
        tab.claims.extend(asked.claims);
        for (name, hold) in asked.locks {
            if hold {
                assert!(self.locks.insert(name.clone()), "a tab's own lock is free");
                self.held_by.insert(i, name);
            } else {
                self.locks.remove(&name);
                self.held_by.remove(&i);
            }
        }
    }

    /// The tasks that run at once: the I/O task, lock grants.
    fn settle(&mut self, i: usize) {
        if !self.tabs[i].open {
            return;
        }
        if std::mem::take(&mut self.tabs[i].io_task) {
            self.pump(i, Stage::IoTask);
        }
        for tab in std::mem::take(&mut self.tabs[i].claims) {
            let name = [PREFIX, tab.as_str()].concat();
            if !self.locks.contains(&name) {
                let entries = self.entries();
                self.tabs[i].core.handle_claimed(self.now, &tab, &entries);
                // The lock is let go only after the adoption is written.
                self.pump(i, Stage::Input);
            }
        }
    }

    pub fn entries(&self) -> Vec<(String, String)> {
        self.local
            .iter()
            .filter(|(k, _)| k.starts_with(PREFIX))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// A `track` and the I/O task after it.
    pub fn track(&mut self, i: usize, name: &str) -> String {
        let id = self.call(i, name);
        self.step(i);
        id
    }

    /// A `track` in the caller's task (the I/O task is queued, not run); returns its messageId.
    pub fn call(&mut self, i: usize, name: &str) -> String {
        let args = decode_args(
            "s",
            &json::parse(&format!("[{}]", Value::str(name).to_json())).unwrap(),
        )
        .0;
        self.call_args(i, &args)
    }

    /// Any `track` call in the caller's task; returns its messageId.
    pub fn call_args(&mut self, i: usize, args: &[Arg]) -> String {
        let json = self.tabs[i]
            .core
            .handle_call(
                self.now,
                EventType::Track,
                args,
                &page_at("https://www.example.com/"),
                Dispatch::Queue,
            )
            .unwrap();
        self.pump(i, Stage::Call);
        message_id(&json::parse(&json).unwrap())
    }

    /// The I/O task and what else runs at once. Tests call it after handing the core an input
    /// directly.
    pub fn step(&mut self, i: usize) {
        self.tabs[i].io_task = true;
        self.settle(i);
    }

    /// The page is hidden (`visibilitychange`): the driver runs the I/O task at once.
    pub fn hide(&mut self, i: usize) {
        self.tabs[i].core.handle_page_hide();
        self.step(i);
    }

    /// The page is visible again.
    pub fn show(&mut self, i: usize) {
        self.tabs[i].core.handle_page_show();
        self.step(i);
    }

    /// When request `t` of tab `i` gets its answer.
    fn answer_time(&self, i: usize, t: &Transmit) -> Millis {
        self.tabs[i]
            .answer_at
            .get(&t.id)
            .copied()
            .unwrap_or(self.now)
    }

    /// Answers tab `i`'s requests that are due by now (not those they lead to), from the
    /// network script.
    fn answer_due(&mut self, i: usize) {
        let due: Vec<BatchId> = (self.tabs[i].in_flight.iter())
            .filter(|t| self.answer_time(i, t) <= self.now)
            .map(|t| t.id)
            .collect();
        for id in due {
            let Some(k) = self.tabs[i].in_flight.iter().position(|t| t.id == id) else {
                continue;
            };
            let t = self.tabs[i].in_flight.remove(k);
            self.tabs[i].answer_at.remove(&id);
            let outcome = self
                .network
                .pop_front()
                .unwrap_or_else(|| self.api_default.clone());
            if (200..300).contains(&outcome.status) {
                for e in batch_events(&t) {
                    *self.delivered.entry(message_id(&e)).or_default() += 1;
                }
            }
            self.tabs[i]
                .core
                .handle_send_outcome(self.now, t.id, &outcome);
            self.pump(i, Stage::Input);
            self.settle(i);
        }
    }

    /// Answers every request of tab `i` now, whatever the latency.
    pub fn answer(&mut self, i: usize) {
        for at in self.tabs[i].answer_at.values_mut() {
            *at = self.now;
        }
        self.answer_due(i);
    }

    /// The next instant something happens in an open tab: a timer, an answer.
    fn next_event(&self) -> Option<Millis> {
        let mut next: Option<Millis> = None;
        for (i, tab) in self.tabs.iter().enumerate().filter(|(_, t)| t.open) {
            let answers = tab.in_flight.iter().map(|t| self.answer_time(i, t));
            for t in tab.timer.into_iter().chain(answers) {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        }
        next
    }

    /// Runs every open tab (answers, timers) until `ms` have passed; panics when the core
    /// never goes idle (events without end at one instant).
    pub fn run(&mut self, ms: u64) {
        let end = self.now.plus(ms);
        let mut idle = IdleGuard::new(self.now);
        for i in 0..self.tabs.len() {
            self.settle(i);
        }
        while let Some(next) = self.next_event().filter(|t| *t <= end) {
            self.now = next.max(self.now);
            idle.step(self.now);
            for i in 0..self.tabs.len() {
                if !self.tabs[i].open {
                    continue;
                }
                self.answer_due(i);
                if self.tabs[i].timer.is_some_and(|t| t <= self.now) {
                    self.tabs[i].timer = None;
                    self.tabs[i].core.handle_timeout(self.now);
                    self.pump(i, Stage::Input);
                    self.settle(i);
                }
            }
        }
        self.now = end;
    }

    pub fn queue_keys(&self) -> Vec<String> {
        self.local
            .keys()
            .filter(|k| k.starts_with(PREFIX))
            .cloned()
            .collect()
    }

    /// Events stored in chunks (lease keys left out).
    pub fn events_on_disk(&self) -> usize {
        self.queue_keys()
            .iter()
            .filter(|k| !k.ends_with(":lease"))
            .map(|k| self.local[k].lines().count())
            .sum()
    }
}

pub fn assert_all_delivered(world: &World, ids: &[String]) {
    let missing: Vec<_> = ids
        .iter()
        .filter(|id| !world.delivered.contains_key(*id))
        .collect();
    assert!(missing.is_empty(), "lost {}: {missing:?}", missing.len());
}
