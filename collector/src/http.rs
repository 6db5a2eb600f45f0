//! The collector's view of HTTP, between hyper and the routes: an owned [`Request`] whose body
//! was read under a size limit and a deadline, a [`Response`] turned into hyper's with the CORS,
//! framing and `Connection` headers every answer carries, and the small decoders the routes need
//! (query strings, Basic auth). Reads a request body from hyper (I/O through hyper's body
//! stream); owns no socket and no state. The wire format itself is hyper's.
//!
//! # Untrusted input
//! Nothing here panics on input: a body is never buffered past its limit, a header that is not
//! visible ASCII reads as absent, and a header value we echo is checked before it is written.

use std::error::Error;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Body as HttpBody;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::http::request::Parts;
use hyper::{StatusCode, Version};

/// A request as the routes see it: head fields and the whole body.
#[derive(Debug)]
pub struct Request {
    /// Upper-case method as sent (`GET`, `POST`, ...).
    pub method: String,
    /// Path without the query, still percent-encoded.
    pub path: String,
    /// The raw query string (after `?`), empty when absent.
    pub query: String,
    /// Whether the client wants the connection kept open (HTTP/1.1 without `close`, or
    /// HTTP/1.0 with `keep-alive`).
    keep_alive: bool,
    headers: HeaderMap,
    /// The body, or only its length when it was larger than the limit.
    pub body: Body,
}

/// A request body as read.
#[derive(Debug)]
pub enum Body {
    /// The complete body.
    Complete(Vec<u8>),
    /// The declared or streamed body exceeded the limit; the connection must be closed after
    /// the response (part of the body may still be unread).
    TooLarge {
        /// Bytes known: the declared `Content-Length`, or the bytes seen before stopping.
        len: u64,
    },
}

/// Why a request body could not be read. The request is then answered here, at the HTTP layer
/// ([`BodyError::response`]), and never reaches the routes: nothing of it is counted or stored.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyError {
    /// The client closed early, sent malformed chunked framing, or the connection failed.
    Broken(String),
    /// The body did not arrive within the body timeout.
    TimedOut(Duration),
}

impl BodyError {
    /// The answer (`400` or `408`); the connection is closed after it.
    pub fn response(&self) -> Response {
        match self {
            BodyError::Broken(why) => {
                Response::error(400, &format!("malformed request body: {why}"))
            }
            BodyError::TimedOut(limit) => Response::error(
                408,
                &format!("request body not received within {} s", limit.as_secs_f64()),
            ),
        }
    }
}

/// How much of a body is read, and for how long.
#[derive(Clone, Copy, Debug)]
pub struct BodyLimits {
    /// Larger bodies are [`Body::TooLarge`].
    pub max: usize,
    /// An oversized body of up to this many bytes is still read (and dropped), so that the client
    /// gets to read the answer instead of a reset caused by unread input. Larger ones, and
    /// oversized bodies sent with `Expect: 100-continue`, are left unread.
    pub drain: u64,
    /// The whole body must arrive within this long of the request head.
    pub timeout: Duration,
}

/// Reads `body` whole under `limits`. `expects_continue`: the client waits for `100 Continue`
/// (hyper sends it when the body is first read).
///
/// # Errors
/// [`BodyError`] when the body is cut short, malformed or late.
pub async fn read_body<B>(
    body: B,
    expects_continue: bool,
    limits: BodyLimits,
) -> Result<Body, BodyError>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Error,
{
    let declared = body.size_hint().exact();
    if let Some(len) = declared {
        if len > limits.max as u64 && (len > limits.drain || expects_continue) {
            return Ok(Body::TooLarge { len });
        }
    }
    tokio::time::timeout(limits.timeout, read_frames(body, limits))
        .await
        .unwrap_or(Err(BodyError::TimedOut(limits.timeout)))
}

async fn read_frames<B>(mut body: B, limits: BodyLimits) -> Result<Body, BodyError>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Error,
{
    let mut data = Vec::new();
    let mut seen = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| BodyError::Broken(describe(&e)))?;
        // Trailers (the only other frame) are ignored.
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        seen += chunk.len() as u64;
        if seen > limits.max as u64 {
            // Past the limit: keep counting (and dropping) up to the drain limit.
            data = Vec::new();
            if seen > limits.drain {
                return Ok(Body::TooLarge { len: seen });
            }
        } else {
            data.extend_from_slice(&chunk);
        }
    }
    Ok(if seen > limits.max as u64 {
        Body::TooLarge { len: seen }
    } else {
        Body::Complete(data)
    })
}

/// `e` and its causes, `: `-separated (hyper's own message is generic, its cause says what).
fn describe(e: &dyn Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

impl Request {
    /// The request of `head` with `body`.
    pub fn new(head: Parts, body: Body) -> Request {
        let has = |token: &str| {
            head.headers
                .get_all(header::CONNECTION)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .any(|t| t.trim().eq_ignore_ascii_case(token))
        };
        let keep_alive = if head.version == Version::HTTP_10 {
            has("keep-alive")
        } else {
            !has("close")
        };
        Request {
            method: head.method.as_str().to_string(),
            path: head.uri.path().to_string(),
            query: head.uri.query().unwrap_or("").to_string(),
            keep_alive,
            headers: head.headers,
            body,
        }
    }

    /// The first value of header `name` (case-insensitive); `None` when absent or not visible
    /// ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Whether the client wants the connection kept open after this response.
    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// The percent-decoded value of query parameter `key` (first occurrence).
    pub fn query_param(&self, key: &str) -> Option<String> {
        self.query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k) == key).then(|| percent_decode(v))
        })
    }

    /// Body length in bytes (the known length for a discarded body).
    pub fn body_len(&self) -> u64 {
        match &self.body {
            Body::Complete(b) => b.len() as u64,
            Body::TooLarge { len } => *len,
        }
    }
}

/// A response to write.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Extra headers (CORS, framing and `Connection` headers are added by [`Response::into_hyper`]).
    pub headers: Vec<(HeaderName, String)>,
    /// `Content-Type` of the body, if any.
    pub content_type: &'static str,
    /// The body.
    pub body: Vec<u8>,
}

impl Response {
    /// A JSON response.
    pub fn json(status: u16, body: String) -> Response {
        Response {
            status,
            headers: Vec::new(),
            content_type: "application/json",
            body: body.into_bytes(),
        }
    }

    /// A plain-text response.
    pub fn text(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: Vec::new(),
            content_type: "text/plain; charset=utf-8",
            body: body.as_bytes().to_vec(),
        }
    }

    /// A response without a body.
    pub fn empty(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            content_type: "",
            body: Vec::new(),
        }
    }

    /// `{"success":false,"error":<error>}`.
    pub fn error(status: u16, error: &str) -> Response {
        let mut m = sieve::json::Map::new();
        m.insert("success", sieve::json::Value::Bool(false));
        m.insert("error", sieve::json::Value::str(error));
        Response::json(status, sieve::json::Value::Object(m).to_json())
    }

    /// Adds a header.
    pub fn with_header(mut self, name: HeaderName, value: impl Into<String>) -> Response {
        self.headers.push((name, value.into()));
        self
    }

    /// hyper's response, headers in a fixed order: `Access-Control-Allow-Origin:
    /// <cors_origin>`, `Vary`, `Access-Control-Expose-Headers`, the extra headers,
    /// `Content-Type`, `Content-Length`, `Cache-Control: no-store`, and `Connection:
    /// keep-alive` or `close` (hyper closes the connection after a `close`). hyper leaves the
    /// body out of an answer to `HEAD`.
    pub fn into_hyper(self, keep_alive: bool, cors_origin: &str) -> hyper::Response<Full<Bytes>> {
        let mut resp = hyper::Response::new(Full::new(Bytes::from(self.body)));
        *resp.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let len = resp.body().size_hint().exact().unwrap_or(0);
        let h = resp.headers_mut();
        // The origin is echoed from the request: anything hyper would refuse becomes `*`.
        let origin = HeaderValue::from_str(cors_origin).unwrap_or(HeaderValue::from_static("*"));
        h.append(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.append(header::VARY, HeaderValue::from_static("Origin"));
        h.append(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("Retry-After"),
        );
        for (name, value) in self.headers {
            // Our own values: always valid; one that is not is left out rather than sent broken.
            if let Ok(value) = HeaderValue::from_str(&value) {
                h.append(name, value);
            }
        }
        if !self.content_type.is_empty() {
            h.append(
                header::CONTENT_TYPE,
                HeaderValue::from_static(self.content_type),
            );
        }
        h.append(header::CONTENT_LENGTH, HeaderValue::from(len));
        h.append(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.append(
            header::CONNECTION,
            HeaderValue::from_static(if keep_alive { "keep-alive" } else { "close" }),
        );
        resp
    }
}

/// Decodes `%XX` escapes and `+` (as a space, form-style); invalid escapes stay as they are,
/// invalid UTF-8 becomes U+FFFD.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match b[i] {
            b'%' => {
                match (
                    b.get(i + 1).and_then(|&c| hex(c)),
                    b.get(i + 2).and_then(|&c| hex(c)),
                ) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                    }
                    _ => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The user name of an `Authorization: Basic` header (Segment puts the write key there,
/// with an empty password).
pub fn basic_auth_user(header: &str) -> Option<String> {
    let (scheme, payload) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = sieve::base64::decode(payload.trim())?;
    let text = String::from_utf8(decoded).ok()?;
    let user = text.split_once(':').map_or(text.as_str(), |(u, _)| u);
    (!user.is_empty()).then(|| user.to_string())
}

#[cfg(test)]
mod tests;
