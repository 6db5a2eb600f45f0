//! End-to-end tests of the `sieve-collector` binary over real TCP. Does I/O: spawns the
//! binary on port 0 with a temporary data dir and talks to it with a tiny std-only HTTP
//! client (no HTTP crate, so the tests see exactly what goes over the wire).

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

// Malformed and adversarial requests (a file of their own; not a test binary of its own).
#[path = "http/adversarial.rs"]
mod adversarial;

// ---------------------------------------------------------------------------------------
// Harness

/// A temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "sieve-collector-test-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running collector process, killed on drop.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(data_dir: &Path) -> Server {
        Server::start_with(data_dir, &[])
    }

    fn start_with(data_dir: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sieve-collector"))
            .args(["--port", "0", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn sieve-collector");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("collector printed no listening line");
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_string();
        assert!(addr.starts_with("127.0.0.1:"), "{addr}");
        Server { child, addr }
    }

    fn get(&self, path: &str) -> Resp {
        self.request("GET", path, &[], b"").expect("GET")
    }

    fn post(&self, path: &str, body: &str) -> Resp {
        self.request(
            "POST",
            path,
            &[("Content-Type", "text/plain")],
            body.as_bytes(),
        )
        .expect("POST")
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<Resp> {
        let stream = TcpStream::connect(&self.addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(20)))?;
        let mut conn = Conn {
            reader: BufReader::new(stream.try_clone()?),
            stream,
        };
        conn.send(method, path, headers, body, &self.addr)?;
        conn.recv()
    }

    fn events(&self) -> String {
        let resp = self.get("/events");
        assert_eq!(resp.status, 200, "{}", resp.body);
        resp.body
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One client connection (keep-alive capable).
struct Conn {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Conn {
    /// A new connection to `addr`, reads time out after 10 s.
    fn open(addr: &str) -> Conn {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("read timeout");
        Conn {
            reader: BufReader::new(stream.try_clone().expect("clone stream")),
            stream,
        }
    }

    fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        host: &str,
    ) -> io::Result<()> {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        self.stream.write_all(&bytes)
    }

    fn recv(&mut self) -> io::Result<Resp> {
        let mut status_line = String::new();
        if self.reader.read_line(&mut status_line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "closed before a response",
            ));
        }
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, status_line.clone()))?;
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        self.reader.read_exact(&mut body)?;
        Ok(Resp {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }
}

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn track(message_id: &str) -> String {
    format!(
        r#"{{"type":"track","event":"Clicked","messageId":"{message_id}","anonymousId":"a-1","timestamp":"2024-05-06T07:08:09.000Z","properties":{{"n":1}}}}"#
    )
}

fn batch(events: &[String]) -> String {
    format!(
        r#"{{"batch":[{}],"sentAt":"2024-05-06T07:08:10.000Z","writeKey":"wk"}}"#,
        events.join(",")
    )
}

/// `n` track events of about 30 KB each (`<prefix>-<i>`): each under the 32 KB event limit,
/// 17 of them over the 500 KB body limit.
fn padded_events(prefix: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            format!(
                r#"{{"type":"track","event":"E","messageId":"{prefix}-{i}","anonymousId":"a","properties":{{"pad":"{}"}}}}"#,
                "y".repeat(30 * 1024)
            )
        })
        .collect()
}

/// Counts `"seq":` occurrences: the number of listed events.
fn count_events(events_json: &str) -> usize {
    events_json.matches(r#""seq":"#).count()
}

// ---------------------------------------------------------------------------------------
// Tests

#[test]
fn preflight_and_cors_headers() {
    let dir = TempDir::new();
    let server = Server::start(&dir.0);
    let resp = server
        .request(
            "OPTIONS",
            "/v1/batch",
            &[
                ("Origin", "http://localhost:8080"),
                ("Access-Control-Request-Method", "POST"),
                ("Access-Control-Request-Headers", "content-type"),
            ],
            b"",
        )
        .unwrap();
    assert_eq!(resp.status, 204);
    assert_eq!(
        resp.header("access-control-allow-origin"),
        Some("http://localhost:8080")
    );
    assert_eq!(resp.header("vary"), Some("Origin"));
    assert_eq!(
        resp.header("access-control-allow-methods"),
        Some("GET, POST, OPTIONS, DELETE")
    );
    assert_eq!(
        resp.header("access-control-allow-headers"),
        Some("Content-Type, Authorization, X-Retry-Count")
    );
    assert_eq!(resp.header("access-control-max-age"), Some("600"));
    assert_eq!(
        resp.header("access-control-expose-headers"),
        Some("Retry-After")
    );

    // Every response carries CORS; without an Origin it is `*`.
    let resp = server.get("/health");
    assert_eq!((resp.status, resp.body.as_str()), (200, "ok"));
    assert_eq!(resp.header("access-control-allow-origin"), Some("*"));
    let resp = server.get("/nope");
    assert_eq!(resp.status, 404);
    assert_eq!(resp.header("access-control-allow-origin"), Some("*"));
}

#[test]
fn batch_is_stored_and_listed_in_arrival_order() {
    let dir = TempDir::new();
    let server = Server::start(&dir.0);
    let resp = server
        .request(
            "POST",
            "/v1/batch",
            &[
                ("Content-Type", "text/plain"),
                ("X-Retry-Count", "1"),
                ("Origin", "http://localhost:8080"),
            ],
            batch(&[track("m-1"), track("m-2")]).as_bytes(),
        )
        .unwrap();
    assert_eq!(
        (resp.status, resp.body.as_str()),
        (200, r#"{"success":true}"#)
    );
    assert_eq!(
        resp.header("access-control-allow-origin"),
        Some("http://localhost:8080")
    );

    // Alias path, single-event paths (type from the path), Basic auth write key.
    assert_eq!(server.post("/v1/b", &batch(&[track("m-3")])).status, 200);
    let single = r#"{"name":"Home","messageId":"m-4","userId":"u-1"}"#;
    let resp = server
        .request(
            "POST",
            "/v1/p",
            &[("Authorization", "Basic b3RoZXI6")],
            single.as_bytes(),
        )
        .unwrap();
    assert_eq!(resp.status, 200, "{}", resp.body);

    let events = server.events();
    assert_eq!(count_events(&events), 4, "{events}");
    let m1 = events.find(r#""messageId":"m-1""#).unwrap();
    let m2 = events.find(r#""messageId":"m-2""#).unwrap();
    let m3 = events.find(r#""messageId":"m-3""#).unwrap();
    assert!(m1 < m2 && m2 < m3, "arrival order: {events}");
    assert!(events.contains(r#"{"seq":1,"receivedAt":""#), "{events}");
    assert!(events.contains(r#""writeKey":"wk","sentAt":"2024-05-06T07:08:10.000Z","retryCount":1,"path":"/v1/batch","event":{"type":"track","event":"Clicked","messageId":"m-1""#), "{events}");
    assert!(events.contains(r#""writeKey":"other""#), "{events}");
    assert!(
        events
            .contains(r#""event":{"name":"Home","messageId":"m-4","userId":"u-1","type":"page"}"#),
        "{events}"
    );
    assert!(
        events.contains(
            r#""stats":{"requests":3,"accepted":4,"duplicates":0,"rejected":0,"faulted":0"#
        ),
        "{events}"
    );

    // Filters: write key, after, limit.
    assert_eq!(count_events(&server.get("/events?writeKey=other").body), 1);
    let after = server.get("/events?after=2&limit=1").body;
    assert_eq!(count_events(&after), 1);
    assert!(after.contains(r#""seq":3"#), "{after}");
    assert_eq!(server.get("/events?limit=abc").status, 400);

    // The request log.
    let log = server.get("/admin/requests").body;
    assert!(
        log.starts_with(r#"[{"path":"/v1/batch","status":200,"retryCount":1,"bytes":"#),
        "{log}"
    );
    assert!(
        log.contains(r#""path":"/v1/p","status":200,"retryCount":null,"#),
        "{log}"
    );
}

#[test]
fn duplicates_are_counted_not_stored() {
    let dir = TempDir::new();
    let server = Server::start(&dir.0);
    assert_eq!(
        server.post("/v1/batch", &batch(&[track("d-1")])).status,
        200
    );
    // A retried batch: same messageIds, plus one repeated within the request.
    let resp = server.post(
        "/v1/batch",
        &batch(&[track("d-1"), track("d-2"), track("d-2")]),
    );
    assert_eq!(
        (resp.status, resp.body.as_str()),
        (200, r#"{"success":true}"#)
    );
    let events = server.events();
    assert_eq!(count_events(&events), 2, "{events}");
    let stats = server.get("/admin/stats").body;
    assert!(
        stats.starts_with(
            r#"{"requests":2,"accepted":2,"duplicates":2,"rejected":0,"faulted":0,"stored":2"#
        ),
        "{stats}"
    );
}

#[test]
fn malformed_event_rejects_the_whole_request() {
    let dir = TempDir::new();
    let server = Server::start(&dir.0);
    let bad = r#"{"type":"track","messageId":"x-2","anonymousId":"a"}"#.to_string();
    let resp = server.post("/v1/batch", &batch(&[track("x-1"), bad]));
    assert_eq!(resp.status, 400);
    assert_eq!(
        resp.body,
        r#"{"success":false,"error":"track events need a non-empty string event","index":1}"#
    );
    assert_eq!(resp.header("access-control-allow-origin"), Some("*"));

    for (path, body) in [
        ("/v1/batch", "not json"),
        ("/v1/batch", r#"{"batch":"nope"}"#),
        (
            "/v1/batch",
            r#"{"batch":[{"type":"bogus","messageId":"x","anonymousId":"a"}]}"#,
        ),
        (
            "/v1/batch",
            r#"{"batch":[{"type":"track","event":"E","messageId":"x"}]}"#,
        ),
        (
            "/v1/t",
            r#"{"type":"page","messageId":"x-3","anonymousId":"a"}"#,
        ),
    ] {
        let resp = server.post(path, body);
        assert_eq!(resp.status, 400, "{path} {body}: {}", resp.body);
        assert!(
            resp.body.starts_with(r#"{"success":false,"error":""#),
            "{}",
            resp.body
        );
    }
    assert_eq!(
        count_events(&server.events()),
        0,
        "nothing of a rejected request is stored"
    );
    assert!(server.get("/admin/stats").body.contains(r#""rejected":6"#));
}

#[test]
fn size_limits() {
    let dir = TempDir::new();
    let server = Server::start(&dir.0);
    let big_event = format!(
        r#"{{"type":"track","event":"Big","messageId":"big-1","anonymousId":"a","properties":{{"pad":"{}"}}}}"#,
        "x".repeat(33 * 1024)
    );
    let resp = server.post("/v1/batch", &batch(&[track("ok-1"), big_event]));
    assert_eq!(resp.status, 400);
    assert_eq!(
        resp.body,
        r#"{"success":false,"error":"event is larger than 32 KB","index":1}"#
    );

    // 20 events of ~30 KB: each is fine, the body (> 500 KB) is not.
    let events = padded_events("bulk", 20);
    let body = batch(&events);
    assert!(body.len() > 500 * 1024);
    let resp = server.post("/v1/batch", &body);
    assert_eq!(resp.status, 400);
    assert_eq!(
        resp.body,
        r#"{"success":false,"error":"request body is larger than 500 KB"}"#
    );

    // Just under the limit is accepted.
    let body = batch(&events[..16]);
    assert!(body.len() < 500 * 1024);
    assert_eq!(server.post("/v1/batch", &body).status, 200);
    assert_eq!(count_events(&server.get("/events?limit=100").body), 16);
}

#[test]
fn fault_status_then_normal() {
    let dir = TempDir::new();
    let server = Server::start(&dir.0);
    let resp = server.post("/admin/faults", r#"{"count":2,"status":503}"#);
    assert_eq!(resp.status, 200, "{}", resp.body);
    assert_eq!(
        resp.body,
        r#"{"success":true,"pending":[{"count":2,"status":503}]}"#
    );
    // Non-ingestion requests do not consume faults.
    assert_eq!(server.get("/health").status, 200);
    assert_eq!(
        server.post("/v1/batch", &batch(&[track("f-1")])).status,
        503
    );
    let resp = server
        .request(
            "POST",
            "/v1/batch",
            &[("X-Retry-Count", "1")],
            batch(&[track("f-1")]).as_bytes(),
        )
        .unwrap();
    assert_eq!(resp.status, 503);
    let resp = server
        .request(
            "POST",
            "/v1/batch",
            &[("X-Retry-Count", "2")],
            batch(&[track("f-1")]).as_bytes(),
        )
        .unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(count_events(&server.events()), 1);
    let log = server.get("/admin/requests").body;
    assert!(
        log.contains(r#"{"path":"/v1/batch","status":503,"retryCount":1,"#),
        "{log}"
    );
    assert!(log.contains(r#""retryCount":2,"#), "{log}");
    assert!(server
        .get("/admin/stats")
        .body
        .contains(r#""requests":3,"accepted":1,"duplicates":0,"rejected":0,"faulted":2"#));

    // Bad rules are rejected; DELETE clears pending rules.
    assert_eq!(
        server
            .post("/admin/faults", r#"{"count":1,"stauts":503}"#)
            .status,
        400
    );
    assert_eq!(
        server
            .post("/admin/faults", r#"{"count":5,"status":500}"#)
            .status,
        200
    );
    assert_eq!(
        server
            .request("DELETE", "/admin/faults", &[], b"")
            .unwrap()
            .status,
        200
    );
    assert_eq!(server.get("/admin/faults").body, "[]");
    assert_eq!(
        server.post("/v1/batch", &batch(&[track("f-2")])).status,
        200
    );
}

#[test]
fn fault_429_with_retry_after() {
    let dir = TempDir::new();
    let server = Server::start(&dir.0);
    assert_eq!(
        server
            .post(
                "/admin/faults",
                r#"{"count":1,"status":429,"retryAfter":2}"#
            )
            .status,
        200
    );
    let resp = server
        .request(
            "POST",
            "/v1/batch",
            &[("Origin", "http://localhost:8080")],
            batch(&[track("r-1")]).as_bytes(),
        )
        .unwrap();
    assert_eq!(resp.status, 429);
    assert_eq!(resp.header("retry-after"), Some("2"));
    assert_eq!(
        resp.header("access-control-expose-headers"),
        Some("Retry-After")
    );
    assert_eq!(
        resp.header("access-control-allow-origin"),
        Some("http://localhost:8080")
    );
    assert_eq!(
        count_events(&server.events()),
        0,
        "a faulted request stores nothing"
    );
    assert_eq!(
        server.post("/v1/batch", &batch(&[track("r-1")])).status,
        200
    );
}

#[test]
fn fault_delay_then_normal_answer() {
    let dir = TempDir::new();
    let server = Server::start(&dir.0);
    assert_eq!(
        server
            .post("/admin/faults", r#"{"count":1,"delayMs":700}"#)
            .status,
        200
    );
    let start = Instant::now();
    let resp = server.post("/v1/batch", &batch(&[track("s-1")]));
    let elapsed = start.elapsed();
    assert_eq!(resp.status, 200);
    assert!(elapsed >= Duration::from_millis(700), "{elapsed:?}");
    assert_eq!(
        count_events(&server.events()),
        1,
        "a delayed request is stored"
    );
    let start = Instant::now();
    assert_eq!(
        server.post("/v1/batch", &batch(&[track("s-2")])).status,
        200
    );
    assert!(start.elapsed() < Duration::from_millis(700));
}

#[test]
fn fault_reset_is_a_connection_error() {
    let dir = TempDir::new();
    let server = Server::start(&dir.0);
    // An idle keep-alive connection...
    let mut idle = Conn::open(&server.addr);
    idle.send("GET", "/health", &[], b"", &server.addr).unwrap();
    assert_eq!(
        idle.recv().unwrap().header("connection"),
        Some("keep-alive")
    );

    let resp = server.post("/admin/faults", r#"{"count":1,"reset":true}"#);
    assert_eq!(resp.status, 200);
    // ...is closed when a reset rule is added (browsers would silently resend a request
    // reset on a reused connection), and no connection is kept alive while one is pending.
    let mut rest = Vec::new();
    assert_eq!(idle.reader.read_to_end(&mut rest).unwrap(), 0);
    assert_eq!(resp.header("connection"), Some("close"));

    let result = server.request("POST", "/v1/batch", &[], batch(&[track("x-1")]).as_bytes());
    match result {
        Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}"),
        Ok(resp) => panic!("expected a reset, got {resp:?}"),
    }
    assert_eq!(count_events(&server.events()), 0);
    let log = server.get("/admin/requests").body;
    assert!(
        log.contains(r#""status":null"#) && log.contains(r#""fault":"reset""#),
        "{log}"
    );
    let resp = server.post("/v1/batch", &batch(&[track("x-1")]));
    assert_eq!(
        (resp.status, resp.header("connection")),
        (200, Some("keep-alive"))
    );
}

#[test]
fn faults_apply_in_fifo_order() {
    let dir = TempDir::new();
    let server = Server::start(&dir.0);
    server.post("/admin/faults", r#"{"count":1,"status":500}"#);
    server.post("/admin/faults", r#"{"count":1,"status":502}"#);
    assert_eq!(server.post("/v1/t", &track("o-1")).status, 500);
    assert_eq!(server.post("/v1/t", &track("o-1")).status, 502);
    assert_eq!(server.post("/v1/t", &track("o-1")).status, 200);
}

#[test]
fn settings_endpoint() {
    let dir = TempDir::new();
    let server = Server::start(&dir.0);
    let resp = server.get("/v1/projects/my-key/settings");
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.body,
        format!(
            r#"{{"integrations":{{"Segment.io":{{"apiKey":"my-key","apiHost":"{}/v1","protocol":"http"}}}},"plan":{{}},"segments":[]}}"#,
            server.addr
        )
    );
    drop(server);

    let segments = dir.0.join("segments.json");
    std::fs::write(&segments, r#"[{"id":"s1","rule":{"event":"Clicked"}}]"#).unwrap();
    let server = Server::start_with(&dir.0, &["--segments-file", segments.to_str().unwrap()]);
    let resp = server.get("/v1/projects/k/settings");
    assert!(
        resp.body
            .ends_with(r#""segments":[{"id":"s1","rule":{"event":"Clicked"}}]}"#),
        "{}",
        resp.body
    );
}

#[test]
fn restart_keeps_stored_events() {
    let dir = TempDir::new();
    let server = Server::start(&dir.0);
    assert_eq!(
        server
            .post("/v1/batch", &batch(&[track("p-1"), track("p-2")]))
            .status,
        200
    );
    drop(server); // SIGKILL: no graceful shutdown.
    let server = Server::start(&dir.0);
    let events = server.events();
    assert_eq!(count_events(&events), 2, "{events}");
    // Dedupe survives the restart too, and seq keeps counting.
    assert_eq!(
        server
            .post("/v1/batch", &batch(&[track("p-2"), track("p-3")]))
            .status,
        200
    );
    let events = server.events();
    assert_eq!(count_events(&events), 3, "{events}");
    assert!(events.contains(r#""seq":3"#), "{events}");

    // Clear empties events and counters but never reuses seq numbers.
    assert_eq!(server.post("/admin/clear", "").status, 200);
    assert_eq!(count_events(&server.events()), 0);
    assert!(server
        .get("/admin/stats")
        .body
        .starts_with(r#"{"requests":0,"accepted":0"#));
    assert_eq!(
        server.post("/v1/batch", &batch(&[track("p-1")])).status,
        200
    );
    assert!(server.events().contains(r#""seq":4"#));
}

#[test]
fn keep_alive_and_malformed_http() {
    let dir = TempDir::new();
    let server = Server::start(&dir.0);

    // Two requests on one connection.
    let mut conn = Conn::open(&server.addr);
    conn.send(
        "POST",
        "/v1/batch",
        &[],
        batch(&[track("k-1")]).as_bytes(),
        &server.addr,
    )
    .unwrap();
    assert_eq!(conn.recv().unwrap().status, 200);
    conn.send("GET", "/health", &[], b"", &server.addr).unwrap();
    let resp = conn.recv().unwrap();
    assert_eq!(
        (resp.status, resp.header("connection")),
        (200, Some("keep-alive"))
    );

    // Garbage gets a 400 and a close.
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(b"HELLO THERE\r\n\r\n").unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{text}");
    assert!(text.contains("Connection: close\r\n"), "{text}");

    // Chunked bodies are accepted.
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let body = batch(&[track("k-2")]);
    let req = format!(
        "POST /v1/batch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
        body.len()
    );
    stream.write_all(req.as_bytes()).unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");

    // Wrong method on an ingestion path.
    assert_eq!(server.get("/v1/batch").status, 405);
    // The server is still fine.
    assert_eq!(count_events(&server.events()), 2);
}

#[test]
fn concurrent_clients_all_get_stored() {
    let dir = TempDir::new();
    let server = Server::start(&dir.0);
    std::thread::scope(|scope| {
        for t in 0..8 {
            let server = &server;
            scope.spawn(move || {
                for i in 0..20 {
                    let resp = server.post(
                        "/v1/batch",
                        &batch(&[track(&format!("c-{t}-{i}")), track("shared")]),
                    );
                    assert_eq!(resp.status, 200, "{}", resp.body);
                }
            });
        }
    });
    let events = server.get("/events?limit=1000").body;
    assert_eq!(count_events(&events), 8 * 20 + 1);
    let stats = server.get("/admin/stats").body;
    assert!(
        stats.starts_with(r#"{"requests":160,"accepted":161,"duplicates":159,"#),
        "{stats}"
    );
    // HEAD answers like GET, without a body.
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"HEAD /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    assert!(
        text.starts_with("HTTP/1.1 200 OK\r\n")
            && text.ends_with(
                "Content-Length: 2\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
            ),
        "{text}"
    );
}
