//! The service: accepts connections (a thread each), routes requests, applies faults, and
//! ties the pure parts ([`crate::ingest`], [`crate::faults`]) to the store. Does I/O: owns
//! the listener, every connection, the clock reads and the `--segments-file` reads.
//!
//! **Invariant:** nothing here panics on input. Locks go through [`lock`], which recovers a
//! poisoned mutex (its data stays consistent: every critical section is a single call into
//! `Store`, `Faults` or a counter).

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sieve::core::time::Millis;
use sieve::core::validate::MAX_BATCH_BYTES;
use sieve::json::{self, push_json_str, Map, Value};

use crate::faults::{self, Action, Faults};
use crate::http::{self, Body, ReadError, Request, Response};
use crate::ingest::{self, Endpoint, ERR_BODY_TOO_LARGE};
use crate::store::{Envelope, Store};

/// An idle keep-alive connection is closed after this long.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Oversized bodies up to this size are read and dropped so the client can read our 400.
const DRAIN_LIMIT: u64 = 16 * 1024 * 1024;
/// Connections served at once; more are answered 503 and closed.
const MAX_CONNECTIONS: usize = 512;
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
    connections: AtomicUsize,
    /// Connections waiting for their next request, by connection id (see [`close_idle`]).
    idle: Mutex<HashMap<u64, TcpStream>>,
    next_connection_id: AtomicU64,
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
            connections: AtomicUsize::new(0),
            idle: Mutex::new(HashMap::new()),
            next_connection_id: AtomicU64::new(0),
        }
    }
}

/// Locks `m`, recovering from poisoning (a panicked holder cannot leave our data half-updated:
/// see the module invariant).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
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

/// Serves connections forever, one thread each.
pub fn serve(listener: TcpListener, app: Arc<App>) {
    for conn in listener.incoming() {
        let stream = match conn {
            Ok(s) => s,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                eprintln!("sieve-collector: accept failed: {e}");
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        if app.connections.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            app.connections.fetch_sub(1, Ordering::SeqCst);
            let mut w = &stream;
            let _ = http::write_response(
                &mut w,
                &error_json(503, "too many connections"),
                false,
                "*",
                true,
            );
            continue;
        }
        let slot = ConnectionSlot(Arc::clone(&app));
        let spawned = std::thread::Builder::new()
            .name("conn".into())
            .spawn(move || handle_connection(&stream, &slot.0));
        if let Err(e) = spawned {
            eprintln!("sieve-collector: cannot spawn a connection thread: {e}");
        }
    }
}

/// One of [`MAX_CONNECTIONS`], given back on drop: when the connection thread ends, panics,
/// or could not be spawned.
#[derive(Debug)]
struct ConnectionSlot(Arc<App>);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What to do with the connection after routing.
#[derive(Debug)]
enum Outcome {
    Respond(Response),
    /// Close with a TCP reset and no response (fault injection).
    Reset,
}

fn handle_connection(stream: &TcpStream, app: &App) {
    let _ = stream.set_read_timeout(Some(IDLE_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IDLE_TIMEOUT));
    let _ = stream.set_nodelay(true);
    let id = app.next_connection_id.fetch_add(1, Ordering::Relaxed);
    let mut reader = BufReader::new(stream);
    let mut writer = stream;
    let mut served = 0u64;
    loop {
        if reader.buffer().is_empty() {
            // Wait for the next request while registered as idle, so that adding a reset rule
            // can close this connection (see `close_idle`).
            if let Ok(clone) = stream.try_clone() {
                lock(&app.idle).insert(id, clone);
            }
            // A reset rule added after this connection's last keep-alive answer but before
            // the insert above missed it in `close_idle`: close here instead. (Checked after
            // the insert, so one of the two always sees the other.)
            if served > 0 && lock(&app.faults).has_reset() {
                lock(&app.idle).remove(&id);
                return;
            }
            let ready = reader.fill_buf().map(|buf| !buf.is_empty());
            lock(&app.idle).remove(&id);
            if !matches!(ready, Ok(true)) {
                return;
            }
        }
        let req = match http::read_request(&mut reader, &mut writer, MAX_BATCH_BYTES, DRAIN_LIMIT) {
            Ok(req) => req,
            Err(ReadError::Closed | ReadError::Io(_)) => return,
            Err(ReadError::Malformed(reason)) => {
                let resp = error_json(400, &format!("malformed HTTP request: {reason}"));
                let _ = http::write_response(&mut writer, &resp, false, "*", true);
                lingering_close(stream);
                return;
            }
        };
        let origin = req.header("origin").unwrap_or("*").to_string();
        let outcome = route(&req, app);
        served += 1;
        // An oversized body may be partly unread: never reuse that connection. While a reset
        // rule is pending, reuse none (see `close_idle`).
        let keep_alive = req.keep_alive()
            && matches!(req.body, Body::Complete(_))
            && !lock(&app.faults).has_reset();
        match outcome {
            Outcome::Respond(resp) => {
                let with_body = req.method != "HEAD";
                if http::write_response(&mut writer, &resp, keep_alive, &origin, with_body).is_err()
                {
                    return;
                }
                if !keep_alive {
                    lingering_close(stream);
                    return;
                }
            }
            Outcome::Reset => {
                // SO_LINGER 0 makes close() send RST instead of FIN.
                let _ = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
                return;
            }
        }
    }
}

/// Closes every idle keep-alive connection.
///
/// Why: a browser that sends a request on a *reused* keep-alive connection and sees it reset
/// before any response byte silently resends the request on a new connection (Chromium's
/// `HttpNetworkTransaction::ShouldResendRequest`), so the page would never see the injected
/// network error. So when a reset rule is added, idle connections are closed, and while one is
/// pending no response keeps its connection alive: every reset then lands on a fresh
/// connection, where it surfaces to the caller as a network error, in browsers and elsewhere.
fn close_idle(app: &App) {
    for (_, conn) in lock(&app.idle).drain() {
        let _ = conn.shutdown(Shutdown::Both);
    }
}

/// Half-closes, then discards what the client still sends for a moment, so that our last
/// response is not destroyed by a reset caused by unread input.
fn lingering_close(stream: &TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut buf = [0u8; 16 * 1024];
    let mut r = stream;
    while Instant::now() < deadline {
        match r.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
}

fn error_json(status: u16, error: &str) -> Response {
    let mut m = Map::new();
    m.insert("success", Value::Bool(false));
    m.insert("error", Value::str(error));
    Response::json(status, Value::Object(m).to_json())
}

fn method_not_allowed(allow: &'static str) -> Outcome {
    Outcome::Respond(error_json(405, "method not allowed").with_header("Allow", allow))
}

fn respond(resp: Response) -> Outcome {
    Outcome::Respond(resp)
}

fn route(req: &Request, app: &App) -> Outcome {
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
    // HEAD is GET without the body (handled when writing).
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
        ("POST", "/admin/faults") => respond(add_fault(req, app)),
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
            None => respond(error_json(404, "not found")),
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
        .with_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS, DELETE")
        .with_header(
            "Access-Control-Allow-Headers",
            "Content-Type, Authorization, X-Retry-Count",
        )
        .with_header("Access-Control-Max-Age", "600");
    // Chrome's Private Network Access preflight (a public page calling localhost).
    if req
        .header("access-control-request-private-network")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        resp = resp.with_header("Access-Control-Allow-Private-Network", "true");
    }
    resp
}

fn ingest_request(req: &Request, app: &App, endpoint: Endpoint) -> Outcome {
    Stats::bump(&app.stats.requests, 1);
    let retry_count = req.header("x-retry-count").map(str::to_string);
    let mut entry = LoggedRequest {
        path: req.path.clone(),
        status: None,
        retry_count: retry_count.clone(),
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

    let fault = lock(&app.faults).take_next();
    if let Some(fault) = fault {
        Stats::bump(&app.stats.faulted, 1);
        entry.fault = Some(fault.kind());
        if fault.delay_ms > 0 {
            std::thread::sleep(Duration::from_millis(
                fault.delay_ms.min(faults::MAX_DELAY_MS),
            ));
        }
        match fault.action {
            Action::Pass => {}
            Action::Reset => {
                entry.error = Some("injected fault: connection reset".into());
                log_request(app, entry);
                return Outcome::Reset;
            }
            Action::Status {
                status,
                retry_after,
            } => {
                let mut resp = error_json(status, "injected fault");
                if let Some(secs) = retry_after {
                    resp = resp.with_header("Retry-After", secs.to_string());
                }
                entry.status = Some(status);
                entry.error = Some("injected fault".into());
                log_request(app, entry);
                return Outcome::Respond(resp);
            }
        }
    }

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
                retry_count: retry_count.as_deref(),
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
                    error_json(500, "storage error")
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
        Err(e) => return error_json(400, &e),
    };
    let limit = match parse_query_int(req, "limit", DEFAULT_EVENTS_LIMIT, MAX_EVENTS_LIMIT) {
        Ok(n) => n,
        Err(e) => return error_json(400, &e),
    };
    let listed = lock(&app.store).list(write_key.as_deref(), after, limit);
    let events = match listed {
        Ok(events) => events,
        Err(e) => {
            eprintln!("sieve-collector: listing events failed: {e}");
            return error_json(500, "storage error");
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

fn add_fault(req: &Request, app: &App) -> Response {
    let Body::Complete(body) = &req.body else {
        return error_json(400, ERR_BODY_TOO_LARGE);
    };
    let Ok(text) = std::str::from_utf8(body) else {
        return error_json(400, "request body is not UTF-8");
    };
    let value = match json::parse(text) {
        Ok(v) => v,
        Err(e) => return error_json(400, &format!("invalid JSON: {}", e.message())),
    };
    match faults::parse_rule(&value) {
        Ok((count, fault)) => {
            let is_reset = fault.action == Action::Reset;
            let pending = {
                let mut faults = lock(&app.faults);
                faults.push(count, fault);
                faults.to_json()
            };
            if is_reset {
                close_idle(app);
            }
            let mut m = Map::new();
            m.insert("success", Value::Bool(true));
            m.insert("pending", pending);
            Response::json(200, Value::Object(m).to_json())
        }
        Err(e) => error_json(400, e),
    }
}

fn clear(app: &App) -> Response {
    let cleared = lock(&app.store).clear();
    if let Err(e) = cleared {
        eprintln!("sieve-collector: clearing events failed: {e}");
        return error_json(500, "storage error");
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
            Err(e) => return error_json(500, &e),
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
