//! What requests mean: routing, the ingestion path with its faults, the admin endpoints, the
//! request log and the registry of live connections ([`Connections`], whose idle ones a new
//! reset rule closes); ties the pure parts ([`crate::ingest`], [`crate::faults`]) to the store.
//! Does I/O: the store, the clock reads and the `--segments-file` reads. Called on tokio's
//! blocking pool by [`crate::connection`], which owns the sockets and runs what a route asks
//! for ([`Outcome`]: a delay, closing idle connections, a reset).
//!
//! **Invariant:** nothing here panics on input. Locks go through [`lock`], which recovers a
//! poisoned mutex (its data stays consistent: every critical section is a single call into
//! `Store`, `Faults` or a counter).

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hyper::header;
use sieve::core::time::Millis;
use sieve::json::{self, push_json_str, Map, Value};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::faults::{self, Action, Faults};
use crate::http::{self, Body, Request, Response};
use crate::ingest::{self, Endpoint, ERR_BODY_TOO_LARGE};
use crate::store::{Envelope, Store};

/// How many ingestion requests `GET /admin/requests` remembers.
const REQUEST_LOG_LEN: usize = 1000;
/// Default and largest `limit` of `GET /events`.
const DEFAULT_EVENTS_LIMIT: i64 = 1000;
const MAX_EVENTS_LIMIT: i64 = 10_000;

/// Counters behind `GET /admin/stats` (in memory: they restart at 0 with the process).
#[derive(Debug, Default)]
struct Stats {
    /// Ingestion requests received (faulted and rejected ones included).
    requests: AtomicU64,
    /// Events stored.
    accepted: AtomicU64,
    /// Events not stored because their `messageId` was already stored.
    duplicates: AtomicU64,
    /// Ingestion requests answered 400 (malformed, too large, wrong type).
    rejected: AtomicU64,
    /// Ingestion requests a fault rule applied to (status, reset or delay).
    faulted: AtomicU64,
}

impl Stats {
    fn bump(counter: &AtomicU64, by: u64) {
        counter.fetch_add(by, Ordering::Relaxed);
    }

    fn reset(&self) {
        for c in [
            &self.requests,
            &self.accepted,
            &self.duplicates,
            &self.rejected,
            &self.faulted,
        ] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

/// One line of `GET /admin/requests`.
#[derive(Debug)]
struct LoggedRequest {
    path: String,
    /// `None` when the connection was reset.
    status: Option<u16>,
    retry_count: Option<String>,
    bytes: u64,
    events: usize,
    at: String,
    fault: Option<&'static str>,
    error: Option<String>,
}

/// Shared state of the running service.
#[derive(Debug)]
pub struct App {
    store: Mutex<Store>,
    faults: Mutex<Faults>,
    stats: Stats,
    log: Mutex<VecDeque<LoggedRequest>>,
    segments_file: Option<PathBuf>,
    /// `host:port` we listen on, for settings when a request has no `Host` header.
    fallback_host: String,
    /// The live connections (owned by [`crate::connection`]).
    pub connections: Connections,
}

impl App {
    /// State over an opened store.
    pub fn new(store: Store, segments_file: Option<PathBuf>, fallback_host: String) -> App {
        App {
            store: Mutex::new(store),
            faults: Mutex::new(Faults::default()),
            stats: Stats::default(),
            log: Mutex::new(VecDeque::new()),
            segments_file,
            fallback_host,
            connections: Connections::default(),
        }
    }

    /// Whether a reset rule is pending (no connection is then kept alive).
    pub fn reset_pending(&self) -> bool {
        lock(&self.faults).has_reset()
    }
}

/// How long adding a reset rule waits for idle connections to close before answering.
const CLOSE_IDLE_WAIT: Duration = Duration::from_secs(2);

/// The live connections, so that adding a reset rule can close the idle ones. Each
/// connection's task joins and leaves it (`crate::connection`).
#[derive(Debug, Default)]
pub struct Connections {
    pub(crate) next_id: AtomicU64,
    pub(crate) live: Mutex<HashMap<u64, Arc<ConnState>>>,
    /// Notified (all waiters) whenever a connection leaves `live`.
    pub(crate) closed: Notify,
}

/// What the service of one connection shares with the task that drives it.
#[derive(Debug, Default)]
pub(crate) struct ConnState {
    /// A request of this connection is being served.
    pub(crate) busy: AtomicBool,
    /// Asks the connection to close once its current response (if any) is written.
    pub(crate) close: Notify,
    /// The service asks for a reset instead of a response.
    pub(crate) reset: AtomicBool,
}

impl Connections {
    pub(crate) fn count(&self) -> usize {
        lock(&self.live).len()
    }

    /// Closes every idle keep-alive connection and returns once they are closed (at most
    /// [`CLOSE_IDLE_WAIT`]); busy ones close after their current response.
    ///
    /// Why: a browser that sends a request on a *reused* keep-alive connection and sees it reset
    /// before any response byte silently resends the request on a new connection (Chromium's
    /// `HttpNetworkTransaction::ShouldResendRequest`), so the page would never see the injected
    /// network error. So when a reset rule is added, idle connections are closed before the rule
    /// is confirmed, and while one is pending no response keeps its connection alive: every
    /// reset then lands on a fresh connection, where it surfaces to the caller as a network
    /// error, in browsers and elsewhere.
    pub async fn close_idle(&self) {
        let idle: Vec<u64> = {
            let live = lock(&self.live);
            live.values().for_each(|state| state.close.notify_one());
            live.iter()
                .filter(|(_, state)| !state.busy.load(Ordering::SeqCst))
                .map(|(id, _)| *id)
                .collect()
        };
        let deadline = Instant::now() + CLOSE_IDLE_WAIT;
        loop {
            // Registered before the check, so a close between the two is not missed.
            let mut closed = pin!(self.closed.notified());
            closed.as_mut().enable();
            if idle.iter().all(|id| !lock(&self.live).contains_key(id)) {
                return;
            }
            if tokio::time::timeout_at(deadline, closed).await.is_err() {
                return;
            }
        }
    }
}

/// Locks `m`, recovering from poisoning (a panicked holder cannot leave our data half-updated:
/// see the module invariant).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn now_iso() -> String {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    Millis(ms).to_iso()
}

/// Reads the segments file: a JSON array.
///
/// # Errors
/// The file cannot be read or is not a JSON array.
pub fn read_segments(path: &std::path::Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    match json::parse(&text) {
        Ok(v @ Value::Array(_)) => Ok(v),
        Ok(_) => Err(format!(
            "{} must contain a JSON array of segments",
            path.display()
        )),
        Err(e) => Err(format!("{} is not JSON: {}", path.display(), e.message())),
    }
}

/// What the connection does with a request after routing.
#[derive(Debug)]
pub enum Outcome {
    /// Answer.
    Respond(Response),
    /// Close idle keep-alive connections, then answer (a reset rule was added).
    CloseIdleThenRespond(Response),
    /// Wait, then [`resume`] (a delay rule).
    Delay(Duration, Box<Deferred>),
    /// Close with a TCP reset and no response (fault injection).
    Reset,
}

/// An ingestion request held by a delay rule: what is left to do after the wait.
#[derive(Debug)]
pub struct Deferred {
    ingest: Ingest,
    action: Action,
}

fn method_not_allowed(allow: &'static str) -> Outcome {
    Outcome::Respond(Response::error(405, "method not allowed").with_header(header::ALLOW, allow))
}

fn respond(resp: Response) -> Outcome {
    Outcome::Respond(resp)
}

/// What to do with `req`.
pub fn route(req: &Request, app: &App) -> Outcome {
    let path = req.path.as_str();
    if req.method == "OPTIONS" {
        return respond(preflight(req));
    }
    if let Some(endpoint) = ingest::endpoint_for(path) {
        if req.method != "POST" {
            return method_not_allowed("POST, OPTIONS");
        }
        return ingest_request(req, app, endpoint);
    }
    // HEAD is GET without the body (hyper leaves it out).
    let method = if req.method == "HEAD" {
        "GET"
    } else {
        req.method.as_str()
    };
    match (method, path) {
        ("GET", "/health") => respond(Response::text(200, "ok")),
        ("GET", "/") => respond(Response::text(200, INDEX)),
        ("GET", "/events") => respond(list_events(req, app)),
        ("GET", "/admin/stats") => respond(Response::json(200, stats_json(app))),
        ("GET", "/admin/requests") => respond(Response::json(200, requests_json(app))),
        ("GET", "/admin/faults") => {
            respond(Response::json(200, lock(&app.faults).to_json().to_json()))
        }
        ("POST", "/admin/faults") => add_fault(req, app),
        ("DELETE", "/admin/faults") => {
            lock(&app.faults).clear();
            respond(Response::json(
                200,
                r#"{"success":true,"pending":[]}"#.to_string(),
            ))
        }
        ("POST", "/admin/clear") => respond(clear(app)),
        (_, "/health" | "/" | "/events" | "/admin/stats" | "/admin/requests") => {
            method_not_allowed("GET, HEAD, OPTIONS")
        }
        (_, "/admin/faults") => method_not_allowed("GET, POST, DELETE, OPTIONS"),
        (_, "/admin/clear") => method_not_allowed("POST, OPTIONS"),
        _ => match settings_write_key(path) {
            Some(write_key) if method == "GET" => respond(settings(req, app, &write_key)),
            Some(_) => method_not_allowed("GET, HEAD, OPTIONS"),
            None => respond(Response::error(404, "not found")),
        },
    }
}

const INDEX: &str = "sieve-collector: a local Segment-compatible collector.\n\
POST /v1/batch | /v1/b | /v1/{t,p,i,g,a,s} | /v1/{track,page,identify,group,alias,screen}\n\
GET /events?writeKey=&after=&limit=   GET /v1/projects/<writeKey>/settings   GET /health\n\
POST|DELETE|GET /admin/faults   POST /admin/clear   GET /admin/stats   GET /admin/requests\n\
See collector/README.md.\n";

fn preflight(req: &Request) -> Response {
    let mut resp = Response::empty(204)
        .with_header(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            "GET, POST, OPTIONS, DELETE",
        )
        .with_header(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            "Content-Type, Authorization, X-Retry-Count",
        )
        .with_header(header::ACCESS_CONTROL_MAX_AGE, "600");
    // Chrome's Private Network Access preflight (a public page calling localhost).
    if req
        .header("access-control-request-private-network")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        resp = resp.with_header(
            header::HeaderName::from_static("access-control-allow-private-network"),
            "true",
        );
    }
    resp
}

/// An ingestion request, parsed, on its way to the store.
#[derive(Debug)]
struct Ingest {
    entry: LoggedRequest,
    parsed: Result<ingest::Accepted, ingest::Rejection>,
}

fn ingest_request(req: &Request, app: &App, endpoint: Endpoint) -> Outcome {
    Stats::bump(&app.stats.requests, 1);
    let mut entry = LoggedRequest {
        path: req.path.clone(),
        status: None,
        retry_count: req.header("x-retry-count").map(str::to_string),
        bytes: req.body_len(),
        events: 0,
        at: now_iso(),
        fault: None,
        error: None,
    };
    // Parsing is pure, so doing it before the fault changes nothing but lets the request log
    // count the events of faulted requests too.
    let parsed = match &req.body {
        Body::Complete(body) => {
            let auth_user = req.header("authorization").and_then(http::basic_auth_user);
            ingest::parse_request(endpoint, body, auth_user.as_deref())
        }
        Body::TooLarge { .. } => Err(ingest::Rejection {
            error: ERR_BODY_TOO_LARGE.to_string(),
            index: None,
            events: 0,
        }),
    };
    entry.events = match &parsed {
        Ok(accepted) => accepted.events.len(),
        Err(rejection) => rejection.events,
    };
    let ingest = Ingest { entry, parsed };

    let fault = lock(&app.faults).take_next();
    let Some(fault) = fault else {
        return finish_ingest(ingest, app);
    };
    Stats::bump(&app.stats.faulted, 1);
    let mut ingest = ingest;
    ingest.entry.fault = Some(fault.kind());
    if fault.delay_ms > 0 {
        let delay = Duration::from_millis(fault.delay_ms.min(faults::MAX_DELAY_MS));
        return Outcome::Delay(
            delay,
            Box::new(Deferred {
                ingest,
                action: fault.action,
            }),
        );
    }
    apply_fault(ingest, fault.action, app)
}

/// The rest of an ingestion request held by a delay rule, once the delay is over.
pub fn resume(deferred: Deferred, app: &App) -> Outcome {
    apply_fault(deferred.ingest, deferred.action, app)
}

fn apply_fault(mut ingest: Ingest, action: Action, app: &App) -> Outcome {
    let entry = &mut ingest.entry;
    match action {
        Action::Pass => finish_ingest(ingest, app),
        Action::Reset => {
            entry.error = Some("injected fault: connection reset".into());
            log_request(app, ingest.entry);
            Outcome::Reset
        }
        Action::Status {
            status,
            retry_after,
        } => {
            let mut resp = Response::error(status, "injected fault");
            if let Some(secs) = retry_after {
                resp = resp.with_header(header::RETRY_AFTER, secs.to_string());
            }
            entry.status = Some(status);
            entry.error = Some("injected fault".into());
            log_request(app, ingest.entry);
            Outcome::Respond(resp)
        }
    }
}

/// Stores an accepted request (one transaction, committed before the answer) or rejects it.
fn finish_ingest(ingest: Ingest, app: &App) -> Outcome {
    let Ingest { mut entry, parsed } = ingest;
    let resp = match parsed {
        Err(rejection) => {
            Stats::bump(&app.stats.rejected, 1);
            entry.error = Some(rejection.error.clone());
            Response::json(400, rejection.to_json())
        }
        Ok(accepted) => {
            let env = Envelope {
                received_at: &entry.at,
                path: &entry.path,
                retry_count: entry.retry_count.as_deref(),
            };
            let result = lock(&app.store).insert(&accepted, &env);
            match result {
                Ok(counts) => {
                    Stats::bump(&app.stats.accepted, counts.stored);
                    Stats::bump(&app.stats.duplicates, counts.duplicates);
                    Response::json(200, r#"{"success":true}"#.to_string())
                }
                Err(e) => {
                    eprintln!("sieve-collector: storing events failed: {e}");
                    entry.error = Some(format!("storage error: {e}"));
                    Response::error(500, "storage error")
                }
            }
        }
    };
    entry.status = Some(resp.status);
    log_request(app, entry);
    Outcome::Respond(resp)
}

fn log_request(app: &App, entry: LoggedRequest) {
    let mut log = lock(&app.log);
    if log.len() >= REQUEST_LOG_LEN {
        log.pop_front();
    }
    log.push_back(entry);
}

fn push_opt_str(out: &mut String, v: Option<&str>) {
    match v {
        Some(s) => push_json_str(out, s),
        None => out.push_str("null"),
    }
}

/// `X-Retry-Count` as a number when it is one, else as the string sent.
fn push_retry_count(out: &mut String, v: Option<&str>) {
    match v {
        Some(s) if !s.is_empty() && s.len() < 16 && s.bytes().all(|b| b.is_ascii_digit()) => {
            out.push_str(s.trim_start_matches('0'));
            if s.bytes().all(|b| b == b'0') {
                out.push('0');
            }
        }
        other => push_opt_str(out, other),
    }
}

fn stats_json(app: &App) -> String {
    let s = &app.stats;
    let store = lock(&app.store);
    let stored = store.count().unwrap_or(-1);
    let last_seq = store.last_seq().unwrap_or(-1);
    drop(store);
    let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
    format!(
        r#"{{"requests":{},"accepted":{},"duplicates":{},"rejected":{},"faulted":{},"stored":{stored},"lastSeq":{last_seq}}}"#,
        get(&s.requests),
        get(&s.accepted),
        get(&s.duplicates),
        get(&s.rejected),
        get(&s.faulted),
    )
}

fn requests_json(app: &App) -> String {
    let log = lock(&app.log);
    let mut out = String::from("[");
    for (i, r) in log.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(r#"{"path":"#);
        push_json_str(&mut out, &r.path);
        out.push_str(r#","status":"#);
        match r.status {
            Some(s) => out.push_str(&s.to_string()),
            None => out.push_str("null"),
        }
        out.push_str(r#","retryCount":"#);
        push_retry_count(&mut out, r.retry_count.as_deref());
        out.push_str(&format!(
            r#","bytes":{},"events":{},"at":"#,
            r.bytes, r.events
        ));
        push_json_str(&mut out, &r.at);
        out.push_str(r#","fault":"#);
        push_opt_str(&mut out, r.fault);
        out.push_str(r#","error":"#);
        push_opt_str(&mut out, r.error.as_deref());
        out.push('}');
    }
    out.push(']');
    out
}

fn parse_query_int(req: &Request, key: &str, default: i64, max: i64) -> Result<i64, String> {
    match req.query_param(key) {
        None => Ok(default),
        Some(v) if v.is_empty() => Ok(default),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| (0..=max).contains(n))
            .ok_or_else(|| format!("{key} must be an integer from 0 to {max}")),
    }
}

fn list_events(req: &Request, app: &App) -> Response {
    let write_key = req.query_param("writeKey").filter(|k| !k.is_empty());
    let after = match parse_query_int(req, "after", 0, i64::MAX) {
        Ok(n) => n,
        Err(e) => return Response::error(400, &e),
    };
    let limit = match parse_query_int(req, "limit", DEFAULT_EVENTS_LIMIT, MAX_EVENTS_LIMIT) {
        Ok(n) => n,
        Err(e) => return Response::error(400, &e),
    };
    let listed = lock(&app.store).list(write_key.as_deref(), after, limit);
    let events = match listed {
        Ok(events) => events,
        Err(e) => {
            eprintln!("sieve-collector: listing events failed: {e}");
            return Response::error(500, "storage error");
        }
    };
    let mut out = String::from(r#"{"events":["#);
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&format!(r#"{{"seq":{},"receivedAt":"#, e.seq));
        push_json_str(&mut out, &e.received_at);
        out.push_str(r#","writeKey":"#);
        push_opt_str(&mut out, e.write_key.as_deref());
        out.push_str(r#","sentAt":"#);
        push_opt_str(&mut out, e.sent_at.as_deref());
        out.push_str(r#","retryCount":"#);
        push_retry_count(&mut out, e.retry_count.as_deref());
        out.push_str(r#","path":"#);
        push_json_str(&mut out, &e.path);
        // The stored text was produced by `Value::to_json` after validation: valid JSON.
        out.push_str(r#","event":"#);
        out.push_str(&e.json);
        out.push('}');
    }
    out.push_str(r#"],"stats":"#);
    out.push_str(&stats_json(app));
    out.push('}');
    Response::json(200, out)
}

fn add_fault(req: &Request, app: &App) -> Outcome {
    let error = |e: &str| Outcome::Respond(Response::error(400, e));
    let Body::Complete(body) = &req.body else {
        return error(ERR_BODY_TOO_LARGE);
    };
    let Ok(text) = std::str::from_utf8(body) else {
        return error("request body is not UTF-8");
    };
    let value = match json::parse(text) {
        Ok(v) => v,
        Err(e) => return error(&format!("invalid JSON: {}", e.message())),
    };
    match faults::parse_rule(&value) {
        Ok((count, fault)) => {
            let is_reset = fault.action == Action::Reset;
            let pending = {
                let mut faults = lock(&app.faults);
                faults.push(count, fault);
                faults.to_json()
            };
            let mut m = Map::new();
            m.insert("success", Value::Bool(true));
            m.insert("pending", pending);
            let resp = Response::json(200, Value::Object(m).to_json());
            if is_reset {
                Outcome::CloseIdleThenRespond(resp)
            } else {
                Outcome::Respond(resp)
            }
        }
        Err(e) => error(e),
    }
}

fn clear(app: &App) -> Response {
    let cleared = lock(&app.store).clear();
    if let Err(e) = cleared {
        eprintln!("sieve-collector: clearing events failed: {e}");
        return Response::error(500, "storage error");
    }
    app.stats.reset();
    lock(&app.log).clear();
    Response::json(200, r#"{"success":true}"#.to_string())
}

/// `<writeKey>` of `/v1/projects/<writeKey>/settings`, percent-decoded.
fn settings_write_key(path: &str) -> Option<String> {
    let key = path
        .strip_prefix("/v1/projects/")?
        .strip_suffix("/settings")?;
    (!key.is_empty() && !key.contains('/')).then(|| http::percent_decode(key))
}

fn settings(req: &Request, app: &App, write_key: &str) -> Response {
    let segments = match &app.segments_file {
        None => Value::Array(Vec::new()),
        Some(path) => match read_segments(path) {
            Ok(v) => v,
            Err(e) => return Response::error(500, &e),
        },
    };
    let host = req
        .header("host")
        .filter(|h| !h.is_empty())
        .unwrap_or(&app.fallback_host);
    let mut seg_io = Map::new();
    seg_io.insert("apiKey", Value::str(write_key));
    seg_io.insert("apiHost", Value::str(format!("{host}/v1")));
    seg_io.insert("protocol", Value::str("http"));
    let mut integrations = Map::new();
    integrations.insert("Segment.io", Value::Object(seg_io));
    let mut m = Map::new();
    m.insert("integrations", Value::Object(integrations));
    m.insert("plan", Value::Object(Map::new()));
    m.insert("segments", segments);
    Response::json(200, Value::Object(m).to_json())
}
