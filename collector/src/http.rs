//! HTTP/1.1 wire format: reads one request head and body from a connection and writes one
//! response. Does I/O on the reader/writer it is handed, but owns no socket and no state.
//!
//! Scope, on purpose: what browsers, `fetch(..., {keepalive})`, curl and our tests send.
//! `Content-Length` bodies and `Transfer-Encoding: chunked` bodies, keep-alive,
//! `Expect: 100-continue`. No pipelining guarantees beyond reading requests in order, no
//! trailers, no HTTP/2.
//!
//! # Untrusted input
//! Nothing here panics on input: every limit ([`MAX_LINE`], [`MAX_HEADERS`], the body limit
//! passed in) is checked before allocation, and every malformed head is a [`ReadError`].

use std::io::{self, BufRead, Read, Write};

/// Longest request line or header line, in bytes.
pub const MAX_LINE: usize = 8 * 1024;
/// Most header lines in one request.
pub const MAX_HEADERS: usize = 100;

/// A parsed request.
#[derive(Debug)]
pub struct Request {
    /// Upper-case method as sent (`GET`, `POST`, ...).
    pub method: String,
    /// Path without the query, still percent-encoded.
    pub path: String,
    /// The raw query string (after `?`), empty when absent.
    pub query: String,
    /// `true` for HTTP/1.1, `false` for HTTP/1.0.
    http11: bool,
    /// Header names are lower-cased; values trimmed.
    headers: Vec<(String, String)>,
    /// The body, or `None` when it was larger than the limit (and was discarded).
    pub body: Body,
}

/// A request body as read.
#[derive(Debug)]
pub enum Body {
    /// The complete body.
    Complete(Vec<u8>),
    /// The declared or streamed body exceeded the limit; `len` bytes were seen before
    /// stopping. The connection must be closed after the response.
    TooLarge {
        /// Bytes known so far (declared Content-Length, or bytes read for chunked bodies).
        len: u64,
    },
}

impl Request {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the client wants the connection kept open after this response.
    pub fn keep_alive(&self) -> bool {
        let conn = self.header("connection").unwrap_or("").to_ascii_lowercase();
        let has = |token: &str| conn.split(',').any(|t| t.trim() == token);
        if self.http11 {
            !has("close")
        } else {
            has("keep-alive")
        }
    }

    /// The percent-decoded value of query parameter `key` (first occurrence).
    pub fn query_param(&self, key: &str) -> Option<String> {
        self.query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k) == key).then(|| percent_decode(v))
        })
    }

    /// Body length in bytes (the declared length for a discarded body).
    pub fn body_len(&self) -> u64 {
        match &self.body {
            Body::Complete(b) => b.len() as u64,
            Body::TooLarge { len } => *len,
        }
    }
}

/// Why no request could be read.
#[derive(Debug)]
pub enum ReadError {
    /// The peer closed (or the idle timeout hit) before the first byte of a request.
    Closed,
    /// An I/O error mid-request.
    Io(io::Error),
    /// Not HTTP/1.x as we accept it; the reason is for the 400 body.
    Malformed(&'static str),
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> ReadError {
        ReadError::Io(e)
    }
}

/// Reads one line ending in LF (CR LF accepted), without the line ending.
/// `Ok(None)` on EOF before any byte.
fn read_line<R: BufRead>(r: &mut R) -> Result<Option<String>, ReadError> {
    let mut buf = Vec::new();
    let n = r
        .by_ref()
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', &mut buf)?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() != Some(&b'\n') {
        return Err(if buf.len() > MAX_LINE {
            ReadError::Malformed("header line too long")
        } else {
            ReadError::Io(io::ErrorKind::UnexpectedEof.into())
        });
    }
    buf.pop();
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    String::from_utf8(buf)
        .map(Some)
        .map_err(|_| ReadError::Malformed("header is not UTF-8"))
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Reads one request. `writer` is only used for `100 Continue`.
///
/// Bodies longer than `body_limit` are discarded and reported as [`Body::TooLarge`]:
/// a declared `Content-Length` up to `drain_limit` is read and dropped (so the client gets
/// to read our answer instead of a reset), anything larger is left unread.
///
/// # Errors
/// [`ReadError::Closed`] on a clean EOF before a request, [`ReadError::Malformed`] for
/// anything that is not a request we accept, [`ReadError::Io`] otherwise.
pub fn read_request<R: BufRead, W: Write>(
    r: &mut R,
    writer: &mut W,
    body_limit: usize,
    drain_limit: u64,
) -> Result<Request, ReadError> {
    // Tolerate empty lines before a request line (RFC 9112 §2.2).
    let line = loop {
        match read_line(r) {
            Ok(None) => return Err(ReadError::Closed),
            Ok(Some(l)) if l.is_empty() => continue,
            Ok(Some(l)) => break l,
            Err(ReadError::Io(e))
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(ReadError::Closed)
            }
            Err(e) => return Err(e),
        }
    };
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Malformed("malformed request line"));
    };
    if !is_token(method) {
        return Err(ReadError::Malformed("malformed method"));
    }
    let http11 = match version {
        "HTTP/1.1" => true,
        "HTTP/1.0" => false,
        _ => return Err(ReadError::Malformed("unsupported HTTP version")),
    };
    // Absolute-form (`http://host/path`) is allowed by RFC 9112; keep only the path.
    let origin_form = if let Some(rest) = target
        .strip_prefix("http://")
        .or_else(|| target.strip_prefix("https://"))
    {
        // OK: `i` is the index of an ASCII '/', a char boundary.
        rest.find('/').map_or("/", |i| &rest[i..])
    } else {
        target
    };
    if !(origin_form.starts_with('/') || origin_form == "*") {
        return Err(ReadError::Malformed("malformed request target"));
    }
    let (path, query) = origin_form.split_once('?').unwrap_or((origin_form, ""));

    let mut headers = Vec::new();
    loop {
        let line = read_line(r)?.ok_or(ReadError::Io(io::ErrorKind::UnexpectedEof.into()))?;
        if line.is_empty() {
            break;
        }
        if headers.len() >= MAX_HEADERS {
            return Err(ReadError::Malformed("too many headers"));
        }
        let (name, value) = line
            .split_once(':')
            .ok_or(ReadError::Malformed("malformed header"))?;
        if !is_token(name) {
            return Err(ReadError::Malformed("malformed header name"));
        }
        headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
    }
    let mut req = Request {
        method: method.to_string(),
        path: path.to_string(),
        query: query.to_string(),
        http11,
        headers,
        body: Body::Complete(Vec::new()),
    };

    let chunked = match req.header("transfer-encoding") {
        None => false,
        Some(te) if te.eq_ignore_ascii_case("chunked") => true,
        Some(_) => return Err(ReadError::Malformed("unsupported transfer-encoding")),
    };
    let mut lengths = req
        .headers
        .iter()
        .filter(|(k, _)| k == "content-length")
        .map(|(_, v)| v);
    let content_length = match (lengths.next(), lengths.next()) {
        (None, _) => None,
        (Some(v), None) => {
            if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ReadError::Malformed("malformed content-length"));
            }
            Some(
                v.parse::<u64>()
                    .map_err(|_| ReadError::Malformed("malformed content-length"))?,
            )
        }
        (Some(_), Some(_)) => return Err(ReadError::Malformed("duplicate content-length")),
    };
    if chunked && content_length.is_some() {
        // Both at once is the request-smuggling shape; RFC 9112 §6.3 allows rejecting it.
        return Err(ReadError::Malformed(
            "both transfer-encoding and content-length",
        ));
    }
    let wants_continue = req
        .header("expect")
        .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"));

    if chunked {
        if wants_continue && http11 {
            writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
            writer.flush()?;
        }
        req.body = read_chunked(r, body_limit)?;
    } else if let Some(len) = content_length {
        if len > body_limit as u64 {
            if len <= drain_limit && !wants_continue {
                io::copy(&mut r.by_ref().take(len), &mut io::sink())?;
            }
            req.body = Body::TooLarge { len };
        } else {
            if wants_continue && http11 && len > 0 {
                writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
                writer.flush()?;
            }
            // `len <= body_limit`, so this allocation is bounded.
            let mut body = vec![0u8; len as usize];
            r.read_exact(&mut body)?;
            req.body = Body::Complete(body);
        }
    }
    Ok(req)
}

/// Reads a chunked body (RFC 9112 §7.1), stopping at `limit` bytes.
fn read_chunked<R: BufRead>(r: &mut R, limit: usize) -> Result<Body, ReadError> {
    let mut body = Vec::new();
    loop {
        let line = read_line(r)?.ok_or(ReadError::Io(io::ErrorKind::UnexpectedEof.into()))?;
        let size_text = line.split(';').next().unwrap_or("").trim();
        if size_text.is_empty() || size_text.len() > 15 {
            return Err(ReadError::Malformed("malformed chunk size"));
        }
        let size = u64::from_str_radix(size_text, 16)
            .map_err(|_| ReadError::Malformed("malformed chunk size"))?;
        if size == 0 {
            // Trailers (ignored) up to the empty line.
            loop {
                let t = read_line(r)?.ok_or(ReadError::Io(io::ErrorKind::UnexpectedEof.into()))?;
                if t.is_empty() {
                    return Ok(Body::Complete(body));
                }
            }
        }
        let total = body.len() as u64 + size;
        if total > limit as u64 {
            return Ok(Body::TooLarge { len: total });
        }
        let start = body.len();
        // `total <= limit`, so this allocation is bounded.
        body.resize(total as usize, 0);
        r.read_exact(&mut body[start..])?;
        if read_line(r)?.as_deref() != Some("") {
            return Err(ReadError::Malformed("malformed chunk"));
        }
    }
}

/// A response to write.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Extra headers (CORS and framing headers are added by [`write_response`]).
    pub headers: Vec<(&'static str, String)>,
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

    /// Adds a header.
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Response {
        self.headers.push((name, value.into()));
        self
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// Writes `resp` with `Content-Length`, `Connection` and the given CORS origin; the body
/// only when `with_body` (false answers a `HEAD`).
///
/// # Errors
/// Any write error.
pub fn write_response<W: Write>(
    w: &mut W,
    resp: &Response,
    keep_alive: bool,
    cors_origin: &str,
    with_body: bool,
) -> io::Result<()> {
    let mut head = String::with_capacity(512);
    head.push_str("HTTP/1.1 ");
    head.push_str(&resp.status.to_string());
    head.push(' ');
    head.push_str(reason(resp.status));
    head.push_str("\r\n");
    let mut header = |name: &str, value: &str| {
        head.push_str(name);
        head.push_str(": ");
        // Header values we write never contain CR/LF; strip them anyway (they may echo input).
        head.extend(value.chars().filter(|c| *c != '\r' && *c != '\n'));
        head.push_str("\r\n");
    };
    header("Access-Control-Allow-Origin", cors_origin);
    header("Vary", "Origin");
    header("Access-Control-Expose-Headers", "Retry-After");
    for (name, value) in &resp.headers {
        header(name, value);
    }
    if !resp.content_type.is_empty() {
        header("Content-Type", resp.content_type);
    }
    header("Content-Length", &resp.body.len().to_string());
    header("Cache-Control", "no-store");
    header(
        "Connection",
        if keep_alive { "keep-alive" } else { "close" },
    );
    head.push_str("\r\n");
    if with_body {
        head.reserve(resp.body.len());
    }
    let mut bytes = head.into_bytes();
    if with_body {
        bytes.extend_from_slice(&resp.body);
    }
    // One write: the head and body leave in one segment when they fit.
    w.write_all(&bytes)?;
    w.flush()
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
