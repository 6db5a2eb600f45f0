//! Unit tests of the request and response types and of body reading, on in-memory bodies
//! (no sockets: `collector/tests/` has those).

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::body::{Frame, SizeHint};

use super::*;

/// A body made of scripted frames; `None` is a frame that never comes (a stalled client).
struct Scripted {
    frames: VecDeque<Option<Result<&'static [u8], &'static str>>>,
    declared: Option<u64>,
}

#[derive(Debug)]
struct TestError(&'static str);

impl std::fmt::Display for TestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl Error for TestError {}

impl HttpBody for Scripted {
    type Data = Bytes;
    type Error = TestError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, TestError>>> {
        match self.frames.front() {
            None => Poll::Ready(None),
            Some(None) => Poll::Pending,
            Some(Some(_)) => Poll::Ready(self.frames.pop_front().flatten().map(|f| {
                f.map(|data| Frame::data(Bytes::from_static(data)))
                    .map_err(TestError)
            })),
        }
    }

    fn size_hint(&self) -> SizeHint {
        self.declared
            .map_or_else(SizeHint::default, SizeHint::with_exact)
    }
}

const LIMITS: BodyLimits = BodyLimits {
    max: 10,
    drain: 20,
    timeout: Duration::from_millis(50),
};

fn read(
    frames: &[Option<Result<&'static [u8], &'static str>>],
    declared: Option<u64>,
    expects_continue: bool,
) -> Result<Body, BodyError> {
    let body = Scripted {
        frames: frames.iter().copied().collect(),
        declared,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(read_body(body, expects_continue, LIMITS))
}

fn complete(b: &[u8]) -> Result<Body, BodyError> {
    Ok(Body::Complete(b.to_vec()))
}

#[test]
fn reads_bodies_under_limits() {
    type Case = (
        &'static str,
        Vec<Option<Result<&'static [u8], &'static str>>>,
        Option<u64>,
        bool,
        Result<Body, BodyError>,
    );
    let cases: Vec<Case> = vec![
        ("empty", vec![], Some(0), false, complete(b"")),
        (
            "chunks are joined",
            vec![Some(Ok(b"abc")), Some(Ok(b"de"))],
            None,
            false,
            complete(b"abcde"),
        ),
        (
            "exactly the limit",
            vec![Some(Ok(b"0123456789"))],
            Some(10),
            false,
            complete(b"0123456789"),
        ),
        (
            "over the limit, drained",
            vec![Some(Ok(b"0123456789")), Some(Ok(b"x"))],
            None,
            false,
            Ok(Body::TooLarge { len: 11 }),
        ),
        (
            "over the drain limit: stops reading",
            vec![
                Some(Ok(b"0123456789")),
                Some(Ok(b"0123456789")),
                Some(Ok(b"x")),
                None,
            ],
            None,
            false,
            Ok(Body::TooLarge { len: 21 }),
        ),
        (
            "declared over the drain limit: not read",
            vec![None],
            Some(21),
            false,
            Ok(Body::TooLarge { len: 21 }),
        ),
        (
            "declared too large, client waits for 100 Continue: not read",
            vec![None],
            Some(11),
            true,
            Ok(Body::TooLarge { len: 11 }),
        ),
        (
            "cut short",
            vec![Some(Ok(b"abc")), Some(Err("end of file"))],
            Some(5),
            false,
            Err(BodyError::Broken("end of file".into())),
        ),
        (
            "stalled",
            vec![Some(Ok(b"abc")), None],
            Some(5),
            false,
            Err(BodyError::TimedOut(LIMITS.timeout)),
        ),
    ];
    for (name, frames, declared, expects_continue, expected) in cases {
        let got = read(&frames, declared, expects_continue);
        match (&got, &expected) {
            (Ok(Body::Complete(a)), Ok(Body::Complete(b))) => assert_eq!(a, b, "{name}"),
            (Ok(Body::TooLarge { len: a }), Ok(Body::TooLarge { len: b })) => {
                assert_eq!(a, b, "{name}")
            }
            (Err(a), Err(b)) => assert_eq!(a, b, "{name}"),
            _ => panic!("{name}: got {got:?}, expected {expected:?}"),
        }
    }
}

#[test]
fn body_errors_are_answered_and_close() {
    let resp = BodyError::Broken("bad chunk".into()).response();
    assert_eq!(resp.status, 400);
    assert_eq!(
        resp.body,
        br#"{"success":false,"error":"malformed request body: bad chunk"}"#
    );
    let resp = BodyError::TimedOut(Duration::from_secs(2)).response();
    assert_eq!(resp.status, 408);
    assert_eq!(
        resp.body,
        br#"{"success":false,"error":"request body not received within 2 s"}"#
    );
}

fn head(text: &str) -> Parts {
    // The head as hyper would hand it over.
    let mut lines = text.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let (method, target, version) = (first.next(), first.next(), first.next());
    let mut b = hyper::Request::builder()
        .method(method.unwrap())
        .uri(target.unwrap())
        .version(match version {
            Some("HTTP/1.0") => Version::HTTP_10,
            _ => Version::HTTP_11,
        });
    for line in lines.filter(|l| !l.is_empty()) {
        let (k, v) = line.split_once(':').unwrap();
        b = b.header(k, v.trim());
    }
    b.body(()).unwrap().into_parts().0
}

#[test]
fn request_fields() {
    let req = Request::new(
        head("POST /v1/batch?x=1&writeKey=a%20b+c HTTP/1.1\r\nHost: h"),
        Body::Complete(b"hello".to_vec()),
    );
    assert_eq!(
        (req.method.as_str(), req.path.as_str(), req.query.as_str()),
        ("POST", "/v1/batch", "x=1&writeKey=a%20b+c")
    );
    assert_eq!(req.header("HOST"), Some("h"));
    assert_eq!(req.query_param("writeKey").as_deref(), Some("a b c"));
    assert_eq!(req.query_param("nope"), None);
    assert_eq!(req.body_len(), 5);

    // Keep-alive rules: HTTP/1.1 unless `close`, HTTP/1.0 only with `keep-alive`.
    for (text, keep_alive) in [
        ("GET / HTTP/1.1", true),
        ("GET / HTTP/1.1\r\nConnection: close", false),
        ("GET / HTTP/1.1\r\nConnection: Upgrade, Close", false),
        ("GET / HTTP/1.0", false),
        ("GET / HTTP/1.0\r\nConnection: Keep-Alive", true),
    ] {
        let req = Request::new(head(text), Body::TooLarge { len: 9 });
        assert_eq!(req.keep_alive(), keep_alive, "{text}");
    }

    // A header value that is not visible ASCII reads as absent.
    let mut parts = head("GET / HTTP/1.1");
    parts.headers.insert(
        header::AUTHORIZATION,
        HeaderValue::from_bytes(b"Basic \xff").unwrap(),
    );
    assert_eq!(
        Request::new(parts, Body::Complete(Vec::new())).header("authorization"),
        None
    );
}

#[test]
fn responses_carry_cors_framing_and_connection_headers_in_order() {
    let resp = Response::text(200, "ok")
        .with_header(header::RETRY_AFTER, "2")
        .into_hyper(true, "http://a");
    let names: Vec<&str> = resp.headers().keys().map(|k| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "access-control-allow-origin",
            "vary",
            "access-control-expose-headers",
            "retry-after",
            "content-type",
            "content-length",
            "cache-control",
            "connection",
        ]
    );
    let h = resp.headers();
    assert_eq!(h["access-control-allow-origin"], "http://a");
    assert_eq!(h["content-length"], "2");
    assert_eq!(h["connection"], "keep-alive");

    // An origin hyper could not write becomes `*`; `close` when not kept alive.
    let resp = Response::empty(204).into_hyper(false, "http://a\u{7f}");
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    assert_eq!(resp.headers()["connection"], "close");
    assert!(resp.headers().get("content-type").is_none());
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
