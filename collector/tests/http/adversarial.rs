//! Malformed and adversarial requests over real TCP: truncated bodies, bad chunk sizes,
//! oversized heads and bodies, slow clients, pipelining, keep-alive reuse, garbage, non-UTF-8
//! JSON, and a seeded batch of mutated requests. For each: the collector answers or closes,
//! serves the next client, and stores nothing of a request it did not accept (checked in
//! `/events` and `/admin/stats`).

use super::*;

/// What came back on one raw connection.
#[derive(Debug)]
struct Reply {
    /// Everything read, lossily decoded.
    text: String,
    /// The server closed the connection (end of stream or reset) within the wait.
    closed: bool,
    /// When the connection was closed (or the wait ended), since the request was sent.
    after: Duration,
}

impl Reply {
    /// The status of the first final (non-1xx) response, if any.
    fn status(&self) -> Option<u16> {
        self.statuses().into_iter().next()
    }

    /// The statuses of the final responses read, in order (`100 Continue` skipped).
    fn statuses(&self) -> Vec<u16> {
        self.text
            .split("HTTP/1.1 ")
            .skip(1)
            .filter_map(|rest| rest.get(..3)?.parse().ok())
            .filter(|status| *status >= 200)
            .collect()
    }
}

/// Reads until the server closes or `wait` passes.
fn read_reply(stream: &mut TcpStream, start: Instant, wait: Duration) -> Reply {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    let deadline = start + wait;
    let closed = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break false;
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => break true,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                break false
            }
            Err(e) => panic!("read: {e}"),
        }
    };
    Reply {
        text: String::from_utf8_lossy(&bytes).into_owned(),
        closed,
        after: start.elapsed(),
    }
}

/// Sends `bytes` on a new connection, then half-closes (the client has nothing more to say)
/// and reads until the server closes.
fn exchange(server: &Server, bytes: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    let start = Instant::now();
    // The server may close (and reset) before reading all of it: that is an answer too.
    let _ = stream.write_all(bytes);
    let _ = stream.shutdown(std::net::Shutdown::Write);
    read_reply(&mut stream, start, Duration::from_secs(10))
}

fn post_head(path: &str, extra: &str) -> String {
    format!("POST {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n")
}

/// The head of `POST /v1/batch` with `body`'s `Content-Length`.
fn sized_head(body: &str) -> String {
    post_head("/v1/batch", &format!("Content-Length: {}\r\n", body.len()))
}

/// The head of a chunked `POST /v1/batch`.
fn chunked_head() -> String {
    post_head("/v1/batch", "Transfer-Encoding: chunked\r\n")
}

/// Sends `sized_head(body)`, then `body` in `pieces` writes `pause` apart, then half-closes and
/// reads the reply (the clock starts after the head).
fn trickle(server: &Server, body: &str, pieces: usize, pause: Duration) -> Reply {
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    stream.write_all(sized_head(body).as_bytes()).unwrap();
    let start = Instant::now();
    for piece in body.as_bytes().chunks(body.len().div_ceil(pieces)) {
        // Stop once the server has answered or closed: it reads no more.
        stream.set_nonblocking(true).unwrap();
        let answered = stream.peek(&mut [0u8; 1]).is_ok();
        stream.set_nonblocking(false).unwrap();
        if answered || stream.write_all(piece).is_err() {
            break;
        }
        std::thread::sleep(pause);
    }
    let _ = stream.shutdown(std::net::Shutdown::Write);
    read_reply(&mut stream, start, Duration::from_secs(8))
}

impl Server {
    /// The process is still running and serves a new client (whose event is stored).
    #[track_caller]
    fn assert_serves(&mut self, message_id: &str) {
        assert!(
            self.child.try_wait().unwrap().is_none(),
            "the collector exited"
        );
        let resp = self.post("/v1/batch", &batch(&[track(message_id)]));
        assert_eq!(resp.status, 200, "{}", resp.body);
        assert!(
            self.events()
                .contains(&format!(r#""messageId":"{message_id}""#)),
            "{message_id} stored"
        );
    }

    /// `/admin/stats` starts with `prefix`, `/events` lists `stored` events, and the collector
    /// still serves a new client.
    #[track_caller]
    fn assert_after(&mut self, prefix: &str, stored: usize, next_id: &str) {
        let stats = self.get("/admin/stats").body;
        assert!(stats.starts_with(prefix), "{stats}");
        assert_eq!(count_events(&self.events()), stored, "{}", self.events());
        self.assert_serves(next_id);
    }
}

#[test]
fn truncated_bodies_store_nothing() {
    let dir = TempDir::new();
    let mut server = Server::start(&dir.0);
    let body = batch(&[track("t-1"), track("t-2")]);
    let cut = &body[..body.len() / 2];
    for (name, bytes) in [
        (
            "content-length larger than what is sent",
            format!("{}{cut}", sized_head(&body)),
        ),
        (
            "chunked, cut inside a chunk",
            format!("{}{:x}\r\n{cut}", chunked_head(), body.len()),
        ),
        (
            "chunked, no last chunk",
            format!("{}{:x}\r\n{body}\r\n", chunked_head(), body.len()),
        ),
    ] {
        let reply = exchange(&server, bytes.as_bytes());
        assert!(reply.closed, "{name}: {reply:?}");
        assert_eq!(reply.status(), Some(400), "{name}: {reply:?}");
        assert!(
            reply.text.contains("malformed request body"),
            "{name}: {reply:?}"
        );
    }
    // A client that vanishes mid-body without half-closing first.
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    let head = sized_head(&body);
    stream.write_all(format!("{head}{cut}").as_bytes()).unwrap();
    drop(stream);
    // Bodies that never arrived whole are not ingestion requests: no counter moves.
    server.assert_after(
        r#"{"requests":0,"accepted":0,"duplicates":0,"rejected":0,"#,
        0,
        "t-ok",
    );
}

#[test]
fn bad_chunk_sizes_are_refused() {
    let dir = TempDir::new();
    let mut server = Server::start(&dir.0);
    let body = batch(&[track("c-1")]);
    let chunked = chunked_head();
    for (name, framing) in [
        ("not hex", format!("zz\r\n{body}\r\n0\r\n\r\n")),
        ("negative", format!("-1\r\n{body}\r\n0\r\n\r\n")),
        (
            "overflows u64",
            format!("1{}\r\n{body}\r\n0\r\n\r\n", "0".repeat(16)),
        ),
        ("empty", format!("\r\n{body}\r\n0\r\n\r\n")),
        (
            "size smaller than the data",
            format!("{:x}\r\n{body}\r\n0\r\n\r\n", body.len() - 5),
        ),
        (
            "size larger than the data",
            format!("{:x}\r\n{body}\r\n0\r\n\r\n", body.len() + 5),
        ),
        ("huge size, then nothing", format!("7fffffffffff\r\n{body}")),
    ] {
        let reply = exchange(&server, format!("{chunked}{framing}").as_bytes());
        assert!(reply.closed, "{name}: {reply:?}");
        assert_eq!(reply.status(), Some(400), "{name}: {reply:?}");
    }
    // A well-formed chunked body in several chunks, with an extension and a trailer.
    let (a, b) = body.split_at(10);
    let reply = exchange(
        &server,
        format!(
            "{chunked}{:x};ext=1\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\nX-Trailer: 1\r\n\r\n",
            a.len(),
            b.len()
        )
        .as_bytes(),
    );
    assert_eq!(reply.status(), Some(200), "{reply:?}");
    server.assert_after(
        r#"{"requests":1,"accepted":1,"duplicates":0,"rejected":0,"#,
        1,
        "c-ok",
    );
}

#[test]
fn oversized_heads_and_bodies() {
    let dir = TempDir::new();
    let mut server = Server::start(&dir.0);
    // Heads: one long header line; too many headers. hyper answers 431 and closes.
    let long = format!(
        "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(70 * 1024)
    );
    let many = format!(
        "GET /health HTTP/1.1\r\nHost: x\r\n{}\r\n",
        (0..120)
            .map(|i| format!("X-{i}: y\r\n"))
            .collect::<String>()
    );
    for (name, bytes) in [("long header", long), ("120 headers", many)] {
        let reply = exchange(&server, bytes.as_bytes());
        assert!(reply.closed, "{name}: {reply:?}");
        assert_eq!(reply.status(), Some(431), "{name}: {reply:?}");
    }

    // Bodies: over 500 KB, with Content-Length and chunked, are refused whole.
    let body = batch(&padded_events("o", 20));
    let too_large = r#"{"success":false,"error":"request body is larger than 500 KB"}"#;
    let chunks: String = body
        .as_bytes()
        .chunks(64 * 1024)
        .map(|c| format!("{:x}\r\n{}\r\n", c.len(), String::from_utf8_lossy(c)))
        .collect();
    for (name, bytes) in [
        ("content-length", format!("{}{body}", sized_head(&body))),
        ("chunked", format!("{}{chunks}0\r\n\r\n", chunked_head())),
    ] {
        let reply = exchange(&server, bytes.as_bytes());
        assert!(reply.closed, "{name}: {reply:?}");
        assert_eq!(reply.status(), Some(400), "{name}: {reply:?}");
        assert!(reply.text.ends_with(too_large), "{name}: {reply:?}");
    }
    // Declared larger than what is worth draining (or waiting for 100 Continue): answered at
    // once, without reading the body.
    for (name, extra) in [
        ("20 MB declared", "Content-Length: 20000000\r\n"),
        (
            "expects 100-continue",
            "Content-Length: 600000\r\nExpect: 100-continue\r\n",
        ),
    ] {
        let mut stream = TcpStream::connect(&server.addr).unwrap();
        let start = Instant::now();
        stream
            .write_all(post_head("/v1/batch", extra).as_bytes())
            .unwrap();
        let reply = read_reply(&mut stream, start, Duration::from_secs(10));
        assert!(reply.closed, "{name}: {reply:?}");
        assert_eq!(reply.status(), Some(400), "{name}: {reply:?}");
        assert!(!reply.text.contains("100 Continue"), "{name}: {reply:?}");
    }
    server.assert_after(
        r#"{"requests":4,"accepted":0,"duplicates":0,"rejected":4,"#,
        0,
        "o-ok",
    );
}

#[test]
fn slow_clients_are_bounded_by_timeouts() {
    let dir = TempDir::new();
    let mut server = Server::start_with(&dir.0, &["--header-timeout", "1", "--body-timeout", "1"]);
    let limit = Duration::from_secs(1);
    // Generous: the machine may be loaded; the point is "closed", not the exact time.
    let at_most = Duration::from_secs(8);

    // A client that connects and sends nothing is closed without an answer...
    let mut silent = TcpStream::connect(&server.addr).unwrap();
    let start = Instant::now();
    // ...and meanwhile others are served.
    server.assert_serves("s-1");
    let reply = read_reply(&mut silent, start, at_most);
    assert!(reply.closed && reply.text.is_empty(), "{reply:?}");
    assert!(reply.after >= limit, "{reply:?}");

    // An idle keep-alive connection is closed the same way after its last answer.
    let mut conn = Conn::open(&server.addr);
    conn.send("GET", "/health", &[], b"", &server.addr).unwrap();
    let resp = conn.recv().unwrap();
    assert_eq!(resp.header("connection"), Some("keep-alive"));
    let start = Instant::now();
    let reply = read_reply(&mut conn.stream, start, at_most);
    assert!(reply.closed && reply.text.is_empty(), "{reply:?}");
    assert!(
        reply.after >= limit - Duration::from_millis(100),
        "{reply:?}"
    );

    // A head trickled a byte at a time never completes: closed.
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    let start = Instant::now();
    let mut closed_early = false;
    for b in b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: "
        .iter()
        .cycle()
        .take(40)
    {
        if stream.write_all(&[*b]).is_err() {
            closed_early = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        if start.elapsed() > at_most {
            break;
        }
    }
    let reply = read_reply(&mut stream, start, at_most);
    assert!(closed_early || reply.closed, "{reply:?}");
    assert_eq!(reply.status(), None, "{reply:?}");

    // A body trickled slower than the body timeout: 408, nothing stored.
    let body = batch(&[track("s-2")]);
    let reply = trickle(&server, &body, 20, Duration::from_millis(200));
    assert!(reply.closed, "{reply:?}");
    assert_eq!(reply.status(), Some(408), "{reply:?}");
    assert!(
        reply
            .text
            .ends_with(r#"{"success":false,"error":"request body not received within 1 s"}"#),
        "{reply:?}"
    );

    // A body that is slow but whole within the timeout is accepted.
    let body = batch(&[track("s-3")]);
    let reply = trickle(&server, &body, 3, Duration::from_millis(100));
    assert_eq!(reply.status(), Some(200), "{reply:?}");

    let events = server.events();
    assert!(!events.contains(r#""messageId":"s-2""#), "{events}");
    server.assert_after(
        r#"{"requests":2,"accepted":2,"duplicates":0,"rejected":0,"#,
        2,
        "s-ok",
    );
}

#[test]
fn a_client_that_stops_reading_is_dropped() {
    let dir = TempDir::new();
    let mut server = Server::start_with(&dir.0, &["--write-timeout", "1"]);
    // About 3.4 MB of events to list: more than the socket buffers hold for a client that
    // reads nothing with a 4 KB receive buffer.
    for round in 0..7 {
        let resp = server.post(
            "/v1/batch",
            &batch(&padded_events(&format!("w{round}"), 16)),
        );
        assert_eq!(resp.status, 200, "{}", resp.body);
    }
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let addr: std::net::SocketAddr = server.addr.parse().unwrap();
    socket.connect(&addr.into()).unwrap();
    let mut stream = TcpStream::from(socket);
    stream
        .write_all(b"GET /events?limit=10000 HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let start = Instant::now();
    // Meanwhile others are served.
    server.assert_serves("w-ok");
    std::thread::sleep(Duration::from_secs(3));
    // Then the reader wakes up: the server gave up on it, it never gets the whole listing.
    let reply = read_reply(&mut stream, start, Duration::from_secs(10));
    assert!(reply.closed, "not closed after {:?}", reply.after);
    let whole = server.get("/events?limit=10000").body.len();
    assert!(
        reply.text.len() < whole,
        "{} of {whole} bytes",
        reply.text.len()
    );
    server.assert_serves("w-ok2");
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let dir = TempDir::new();
    let mut server = Server::start(&dir.0);
    let b1 = batch(&[track("p-1")]);
    let b2 = batch(&[track("p-2"), track("p-3")]);
    let bad = batch(&[r#"{"type":"track","messageId":"p-4","anonymousId":"a"}"#.to_string()]);
    let post = |b: &str| format!("{}{b}", sized_head(b));
    let chunked = format!("{}{:x}\r\n{b2}\r\n0\r\n\r\n", chunked_head(), b2.len());
    // All in one write: a batch, a chunked batch, a rejected batch, a read, then close.
    let all = format!(
        "{}{chunked}{}GET /admin/stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        post(&b1),
        post(&bad)
    );
    let reply = exchange(&server, all.as_bytes());
    assert!(reply.closed, "{reply:?}");
    assert_eq!(reply.statuses(), [200, 200, 400, 200], "{reply:?}");
    assert!(
        reply.text.ends_with(
            r#"{"requests":3,"accepted":3,"duplicates":0,"rejected":1,"faulted":0,"stored":3,"lastSeq":3}"#
        ),
        "{reply:?}"
    );
    // Stored in request order.
    let events = server.events();
    let at = |id: &str| events.find(&format!(r#""messageId":"{id}""#)).unwrap();
    assert!(at("p-1") < at("p-2") && at("p-2") < at("p-3"), "{events}");
    server.assert_serves("p-ok");
}

#[test]
fn keep_alive_connections_are_reused() {
    let dir = TempDir::new();
    let mut server = Server::start(&dir.0);
    let mut conn = Conn::open(&server.addr);
    for i in 0..30 {
        let (method, path, body, status) = match i % 3 {
            0 => ("POST", "/v1/batch", batch(&[track(&format!("k-{i}"))]), 200),
            // A rejected request does not end the connection...
            1 => ("POST", "/v1/batch", "not json".to_string(), 400),
            // ...nor does a 404.
            _ => ("GET", "/nope", String::new(), 404),
        };
        conn.send(method, path, &[], body.as_bytes(), &server.addr)
            .unwrap();
        let resp = conn.recv().unwrap();
        assert_eq!(resp.status, status, "request {i}: {}", resp.body);
        assert_eq!(resp.header("connection"), Some("keep-alive"), "request {i}");
    }
    server.assert_after(
        r#"{"requests":20,"accepted":10,"duplicates":0,"rejected":10,"#,
        10,
        "k-ok",
    );
}

#[test]
fn garbage_is_answered_400_or_closed() {
    let dir = TempDir::new();
    let mut server = Server::start(&dir.0);
    for (name, bytes, answer) in [
        ("words", &b"HELLO THERE\r\n\r\n"[..], Some(400)),
        ("no target", b"GET\r\n\r\n", Some(400)),
        ("bad version", b"GET / HTTP/9.9\r\n\r\n", Some(400)),
        (
            "bad method",
            b"G(T / HTTP/1.1\r\nHost: x\r\n\r\n",
            Some(400),
        ),
        (
            "header without colon",
            b"GET / HTTP/1.1\r\nno colon\r\n\r\n",
            Some(400),
        ),
        (
            "two content-lengths",
            b"POST /v1/batch HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            Some(400),
        ),
        (
            "content-length not a number",
            b"POST /v1/batch HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            Some(400),
        ),
        (
            "unknown transfer-encoding",
            b"POST /v1/batch HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
            Some(400),
        ),
        ("NUL bytes", b"\0\0\0\0\r\n\r\n", Some(400)),
        (
            "TLS ClientHello",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
            Some(400),
        ),
        // Not our protocol: closed without an answer.
        ("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", None),
    ] {
        let reply = exchange(&server, bytes);
        assert!(reply.closed, "{name}: {reply:?}");
        match answer {
            Some(status) => assert_eq!(reply.status(), Some(status), "{name}: {reply:?}"),
            None => assert_eq!(reply.text, "", "{name}"),
        }
    }
    server.assert_after(
        r#"{"requests":0,"accepted":0,"duplicates":0,"rejected":0,"#,
        0,
        "g-ok",
    );
}

#[test]
fn non_utf8_json_is_rejected_whole() {
    let dir = TempDir::new();
    let mut server = Server::start(&dir.0);
    let good = track("u-1");
    let mut inside = batch(&[good.clone(), track("u-2")]).into_bytes();
    // An invalid byte inside the second event's `event` string.
    let at = inside.len() - 60;
    let pos = inside[..at]
        .windows(7)
        .rposition(|w| w == b"Clicked")
        .unwrap();
    inside[pos] = 0xff;
    for (name, body) in [
        (
            "leading bytes",
            [&b"\xff\xfe"[..], good.as_bytes()].concat(),
        ),
        ("inside a string", inside),
        (
            "latin-1 text",
            b"{\"batch\":[],\"writeKey\":\"caf\xe9\"}".to_vec(),
        ),
    ] {
        let resp = server.request("POST", "/v1/batch", &[], &body).unwrap();
        assert_eq!(
            (resp.status, resp.body.as_str()),
            (
                400,
                r#"{"success":false,"error":"request body is not UTF-8"}"#
            ),
            "{name}"
        );
    }
    server.assert_after(
        r#"{"requests":3,"accepted":0,"duplicates":0,"rejected":3,"#,
        0,
        "u-ok",
    );
}

/// A small deterministic generator (no `rand` dependency for one test).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as usize
    }
}

#[test]
fn mutated_requests_never_store_what_was_not_accepted() {
    let dir = TempDir::new();
    let mut server = Server::start(&dir.0);
    let mut rng = Lcg(18);
    let mut accepted = 0;
    for i in 0..150 {
        let id = format!("m-{i}");
        let body = batch(&[track(&id)]);
        let head = match i % 3 {
            0 => sized_head(&body),
            1 => post_head(
                "/v1/batch",
                "Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n",
            ),
            _ => post_head(
                "/v1/b",
                &format!(
                    "Content-Length: {}\r\nAuthorization: Basic d2s6\r\nX-Retry-Count: 2\r\n",
                    body.len()
                ),
            ),
        };
        let framed = if i % 3 == 1 {
            format!("{:x}\r\n{body}\r\n0\r\n\r\n", body.len())
        } else {
            body
        };
        let mut bytes = head.into_bytes();
        let head_len = bytes.len();
        bytes.extend_from_slice(framed.as_bytes());
        // Mutate the head and the framing; the event's JSON only by truncation, so an accepted
        // request can only mean this event.
        for _ in 0..rng.next() % 3 + 1 {
            let len = head_len.min(bytes.len());
            if len == 0 {
                break;
            }
            let at = rng.next() % len;
            match rng.next() % 4 {
                0 => bytes[at] = b"\r\n:; 0-9aZ\x7f\xff"[rng.next() % 12],
                1 => bytes.insert(at, b"\r\n: \t0"[rng.next() % 6]),
                2 => {
                    bytes.remove(at);
                }
                _ => bytes.truncate(rng.next() % bytes.len()),
            }
        }
        let reply = exchange(&server, &bytes);
        assert!(reply.closed, "case {i}: {reply:?}");
        let stored = server.events().contains(&format!(r#""messageId":"{id}""#));
        // A 200 to a request that was not stored (or the reverse) would be a lie.
        assert_eq!(
            stored,
            reply.status() == Some(200),
            "case {i}: {:?} -> {reply:?}",
            String::from_utf8_lossy(&bytes)
        );
        accepted += usize::from(stored);
    }
    // Each case either answered or closed; some were accepted, most were not.
    assert!((1..150).contains(&accepted), "{accepted}");
    assert_eq!(count_events(&server.events()), accepted);
    server.assert_serves("m-ok");
}
