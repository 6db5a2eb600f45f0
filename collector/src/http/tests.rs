//! Unit tests of the wire format, on in-memory buffers (no sockets).

use super::*;

fn read(input: &str) -> Result<Request, ReadError> {
    let mut reader = io::BufReader::new(input.as_bytes());
    read_request(&mut reader, &mut Vec::new(), 100, 1000)
}

#[track_caller]
fn malformed(input: &str, reason: &str) {
    match read(input) {
        Err(ReadError::Malformed(r)) => assert_eq!(r, reason, "{input:?}"),
        other => panic!("{input:?}: expected Malformed({reason}), got {other:?}"),
    }
}

#[test]
fn reads_a_post_with_content_length() {
    let req = read("POST /v1/batch?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloNEXT")
        .unwrap();
    assert_eq!(
        (req.method.as_str(), req.path.as_str(), req.query.as_str()),
        ("POST", "/v1/batch", "x=1")
    );
    assert_eq!(req.header("HOST"), Some("h"));
    assert!(req.keep_alive());
    assert!(matches!(req.body, Body::Complete(ref b) if b == b"hello"));
}

#[test]
fn reads_chunked_bodies() {
    let req = read(
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
    )
    .unwrap();
    assert!(matches!(req.body, Body::Complete(ref b) if b == b"abcde"));
    let req = read("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n").unwrap();
    assert!(matches!(req.body, Body::TooLarge { len: 101 }));
}

#[test]
fn oversized_bodies_are_reported_not_read() {
    // Declared 101 <= drain limit 1000: the body is read and dropped.
    let req = read(&format!(
        "POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n{}",
        "x".repeat(101)
    ))
    .unwrap();
    assert!(matches!(req.body, Body::TooLarge { len: 101 }));
    let req = read("POST / HTTP/1.1\r\nContent-Length: 5000\r\n\r\n").unwrap();
    assert!(matches!(req.body, Body::TooLarge { len: 5000 }));
}

#[test]
fn keep_alive_rules() {
    assert!(!read("GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
        .unwrap()
        .keep_alive());
    assert!(!read("GET / HTTP/1.0\r\n\r\n").unwrap().keep_alive());
    assert!(read("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
        .unwrap()
        .keep_alive());
}

#[test]
fn rejects_malformed_heads() {
    malformed("GARBAGE\r\n\r\n", "malformed request line");
    malformed("GET / HTTP/2.0\r\n\r\n", "unsupported HTTP version");
    malformed("GET nopath HTTP/1.1\r\n\r\n", "malformed request target");
    malformed("G(T / HTTP/1.1\r\n\r\n", "malformed method");
    malformed("GET / HTTP/1.1\r\nno colon\r\n\r\n", "malformed header");
    malformed(
        "GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        "malformed content-length",
    );
    malformed(
        "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "duplicate content-length",
    );
    malformed(
        "POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "both transfer-encoding and content-length",
    );
    malformed(
        "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        "unsupported transfer-encoding",
    );
    malformed(
        &format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_LINE)),
        "header line too long",
    );
    assert!(matches!(read(""), Err(ReadError::Closed)));
}

#[test]
fn helpers() {
    assert_eq!(percent_decode("a%20b+c%zz%4"), "a b c%zz%4");
    // "wk:" and "wk:secret" in base64.
    assert_eq!(basic_auth_user("Basic d2s6").as_deref(), Some("wk"));
    assert_eq!(basic_auth_user("basic d2s6c2VjcmV0").as_deref(), Some("wk"));
    assert_eq!(basic_auth_user("Bearer x"), None);
    assert_eq!(basic_auth_user("Basic !!"), None);
}

#[test]
fn writes_cors_and_framing_headers() {
    let mut out = Vec::new();
    write_response(
        &mut out,
        &Response::text(200, "ok").with_header("Retry-After", "2"),
        true,
        "http://a",
        true,
    )
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    for h in [
        "Access-Control-Allow-Origin: http://a\r\n",
        "Vary: Origin\r\n",
        "Retry-After: 2\r\n",
        "Content-Length: 2\r\n",
        "Connection: keep-alive\r\n",
    ] {
        assert!(text.contains(h), "{h} in {text}");
    }
    assert!(text.ends_with("\r\n\r\nok"));
}

/// A small deterministic generator (no `rand` dependency for one test).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

#[test]
fn never_panics_on_mutated_requests() {
    let seeds: [&[u8]; 3] = [
        b"POST /v1/batch?a=%41 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
        b"GET /events HTTP/1.0\r\nConnection: keep-alive\r\nAuthorization: Basic d2s6\r\n\r\n",
    ];
    let mut rng = Lcg(7);
    for round in 0..20_000 {
        let mut input = seeds[round % seeds.len()].to_vec();
        for _ in 0..(rng.next() % 4 + 1) {
            let i = (rng.next() as usize) % input.len().max(1);
            match rng.next() % 4 {
                0 if !input.is_empty() => input[i] = rng.next() as u8,
                1 if !input.is_empty() => input.truncate(i),
                2 => input.insert(i.min(input.len()), b"\r\n:%0 -;"[(rng.next() % 8) as usize]),
                _ => input.extend_from_slice(b"\r\n"),
            }
        }
        let mut reader = io::BufReader::new(input.as_slice());
        if let Ok(req) = read_request(&mut reader, &mut Vec::new(), 64, 128) {
            let _ = (
                req.keep_alive(),
                req.query_param("a"),
                req.header("authorization").map(basic_auth_user),
            );
        }
    }
}
