//! The simulated world for the analytics core: a clock, storage and a network, all plain
//! data. The network answers requests from a script of outcomes (default: 200).

use std::collections::{BTreeMap, VecDeque};

use sieve::core::args::{decode_args, Arg};
use sieve::core::config::Config;
use sieve::core::delivery::{Notice, SendOutcome, Transmit};
use sieve::core::event::Env;
use sieve::core::identity::{StorageSnapshot, Store};
use sieve::core::page::BufferedPageContext;
use sieve::core::time::Millis;
use sieve::core::{Analytics, CallError, Dispatch, EventType};
use sieve::json::{self, Value};

pub const T0: u64 = 1_795_000_000_000;

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

impl Sim {
    pub fn new(settings: &str, options: &str) -> Sim {
        Sim::with_storage(settings, options, StorageSnapshot::default())
    }

    pub fn with_storage(settings: &str, options: &str, snapshot: StorageSnapshot) -> Sim {
        let config = Config::from_settings(
            "WK",
            &json::parse(settings).unwrap(),
            &json::parse(options).unwrap(),
        );
        let core = Analytics::new(config, env(), &snapshot, [42; 16]);
        let mut sim = Sim {
            now: Millis(T0),
            core,
            network: VecDeque::new(),
            in_flight: Vec::new(),
            sent: Vec::new(),
            cookies: BTreeMap::new(),
            local: BTreeMap::new(),
            notices: Vec::new(),
        };
        sim.step();
        sim
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
        self.step();
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
        self.step();
        res.map(|json| json::parse(&json).unwrap())
    }

    pub fn track(&mut self, name: &str) -> Value {
        self.call_wire("track", "s", &format!("[{}]", Value::str(name).to_json()))
            .unwrap()
    }

    /// The driver's polling protocol.
    pub fn step(&mut self) {
        while let Some(write) = self.core.poll_storage_write() {
            let store = match write.store {
                Store::Cookie => &mut self.cookies,
                Store::Local => &mut self.local,
            };
            match write.value {
                Some(v) => store.insert(write.key, v),
                None => store.remove(&write.key),
            };
        }
        while let Some(t) = self.core.poll_transmit(self.now) {
            self.sent.push((self.now, t.clone()));
            self.in_flight.push(t);
        }
        while let Some(n) = self.core.poll_notice() {
            self.notices.push(n);
        }
    }

    /// Answers every request in flight from the network script.
    pub fn answer_all(&mut self) {
        let in_flight = std::mem::take(&mut self.in_flight);
        for t in in_flight {
            let outcome = self.network.pop_front().unwrap_or(SendOutcome {
                status: 200,
                retry_after: None,
            });
            self.core.handle_send_outcome(self.now, t.id, &outcome);
        }
        self.step();
    }

    /// Moves the clock, firing the core's timer if it fell due.
    pub fn advance(&mut self, ms: u64) {
        let target = self.now.plus(ms);
        while let Some(deadline) = self.core.poll_timeout().filter(|d| *d <= target) {
            self.now = deadline.max(self.now);
            self.core.handle_timeout(self.now);
            self.step();
            if !self.in_flight.is_empty() {
                break;
            }
        }
        self.now = target;
        self.core.handle_timeout(self.now);
        self.step();
    }

    /// Advance time and answer requests until nothing is left to do (or `limit_ms` passes).
    pub fn drive(&mut self, limit_ms: u64) {
        let end = self.now.plus(limit_ms);
        loop {
            self.answer_all();
            match self.core.poll_timeout() {
                Some(d) if d <= end => {
                    self.now = d.max(self.now);
                    self.core.handle_timeout(self.now);
                    self.step();
                }
                _ if self.in_flight.is_empty() => break,
                _ => {}
            }
        }
    }

    /// Events of request `i` of `sent`.
    pub fn batch(&self, i: usize) -> Vec<Value> {
        let body = json::parse(&self.sent[i].1.body).unwrap();
        match body.get("batch") {
            Some(Value::Array(events)) => events.clone(),
            _ => vec![body],
        }
    }
}
