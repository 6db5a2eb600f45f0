//! A simulated clock around the segment engine, acting like the web driver: one timer armed
//! from `poll_timeout`, transitions drained after every call.
use sieve::core::time::Millis;
use sieve::json::{self, Value};
use sieve::segments::definition::EventType;
use sieve::segments::{Engine, EventInput, LoadReport, Reason, Transition};

pub const MIN: u64 = 60_000;
pub const HOUR: u64 = 3_600_000;
pub const DAY: u64 = 86_400_000;
/// 2025-01-06T00:00:00Z, a Monday.
pub const T0: u64 = 1_736_121_600_000;

pub struct Sim {
    pub engine: Engine,
    pub now: u64,
    pub log: Vec<Transition>,
}

pub fn j(text: &str) -> Value {
    json::parse(text).unwrap_or_else(|e| panic!("bad JSON in test: {e}: {text}"))
}

/// A definitions array with one segment `s` and the given condition.
pub fn one(cond: &str) -> String {
    format!(r#"[{{"key": "s", "condition": {cond}}}]"#)
}

impl Sim {
    pub fn new(defs: &str) -> Sim {
        let mut sim = Sim {
            engine: Engine::new(),
            now: T0,
            log: Vec::new(),
        };
        let report = sim.load(defs);
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        sim
    }

    pub fn load(&mut self, defs: &str) -> LoadReport {
        let report = self.engine.load(Millis(self.now), &j(defs));
        self.drain();
        report
    }

    pub fn drain(&mut self) {
        while let Some(t) = self.engine.poll_transition() {
            self.log.push(t);
        }
    }

    /// Advances to `to`, firing the timer at every deadline on the way (as the driver does).
    pub fn advance_to(&mut self, to: u64) {
        for _ in 0..10_000 {
            match self.engine.poll_timeout() {
                Some(Millis(t)) if t <= to => {
                    self.now = self.now.max(t);
                    self.engine.handle_timeout(Millis(self.now));
                    self.drain();
                }
                _ => break,
            }
        }
        self.now = to;
    }

    pub fn advance(&mut self, ms: u64) {
        self.advance_to(self.now + ms);
    }

    pub fn track(&mut self, name: &str, props: &str) {
        let props = j(props);
        self.engine.handle_event(
            Millis(self.now),
            EventInput {
                kind: EventType::Track,
                name,
                properties: &props,
                context: None,
            },
        );
        self.drain();
    }

    pub fn user(&mut self, traits: &str) {
        self.engine
            .handle_traits(Millis(self.now), Some(&j(traits)), None);
        self.drain();
    }

    pub fn group(&mut self, traits: &str) {
        self.engine
            .handle_traits(Millis(self.now), None, Some(&j(traits)));
        self.drain();
    }

    pub fn member(&self, key: &str) -> Option<bool> {
        self.engine.is_member(key)
    }

    /// Transitions logged so far as (key, entered, reason, at - T0).
    pub fn moves(&self) -> Vec<(String, bool, Reason, u64)> {
        self.log
            .iter()
            .map(|t| (t.key.as_str().to_owned(), t.entered, t.reason, t.at.0 - T0))
            .collect()
    }
}
