//! TCP connections: accepts them and serves each with hyper's HTTP/1.1 on a tokio task; bounds
//! slow clients with timeouts (head, body, and blocked writes); reads each request body under
//! its limit before routing; closes idle keep-alive connections on demand; and resets a
//! connection (`SO_LINGER 0`, then close) when a fault rule says so or a client stops reading. Does I/O: owns the listener and every socket. What a request
//! means is [`crate::server`]'s business; its blocking parts (SQLite) run on tokio's blocking
//! pool, never on the tasks that serve connections.
//!
//! **Invariant:** a reset connection is closed without `shutdown()`: hyper is polled with
//! `poll_without_shutdown` and the socket is taken back with `into_parts`, so no FIN precedes
//! the RST and the client sees a reset, not an early end of stream.

use std::future::{poll_fn, Future};
use std::io;
use std::net::Shutdown;
use std::pin::{pin, Pin};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use socket2::SockRef;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep};

use sieve::core::validate::MAX_BATCH_BYTES;

use crate::http::{self, Body, BodyLimits, Request, Response};
use crate::server::{self, lock, App, ConnState, Outcome};

/// Largest request head (request line and headers); a larger one is answered `431` and closed.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Oversized bodies up to this size are read and dropped so the client can read our 400.
const DRAIN_LIMIT: u64 = 16 * 1024 * 1024;
/// Connections served at once; more are answered 503 and closed.
const MAX_CONNECTIONS: usize = 512;
/// After our last response, how long we wait for the client's next bytes (and in all) before
/// closing: the client reads our answer instead of a reset caused by input we left unread.
const LINGER_READ: Duration = Duration::from_millis(500);
const LINGER_TOTAL: Duration = Duration::from_secs(2);

/// The timeouts that bound slow clients (`--header-timeout`, `--body-timeout`,
/// `--write-timeout`).
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// A request head must be complete this long after the connection opened or after the
    /// previous response was written; else the connection is closed without an answer. This is
    /// also how long an idle keep-alive connection stays open.
    pub header: Duration,
    /// A request body must be complete this long after its head; else `408` and close.
    pub body: Duration,
    /// A response that cannot be written for this long (the client reads nothing) makes the
    /// connection reset.
    pub write: Duration,
}

/// A connection's place in [`crate::server::Connections::live`], given back on drop.
#[derive(Debug)]
struct Registration {
    app: Arc<App>,
    id: u64,
    state: Arc<ConnState>,
}

/// Joins `app`'s live connections: the returned registration leaves them on drop.
fn register(app: &Arc<App>) -> Registration {
    let conns = &app.connections;
    let id = conns.next_id.fetch_add(1, Ordering::Relaxed);
    let state = Arc::new(ConnState::default());
    lock(&conns.live).insert(id, Arc::clone(&state));
    Registration {
        app: Arc::clone(app),
        id,
        state,
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        lock(&self.app.connections.live).remove(&self.id);
        self.app.connections.closed.notify_waiters();
    }
}

/// Marks a connection busy while one of its requests is served.
#[derive(Debug)]
struct Busy(Arc<ConnState>);

impl Busy {
    fn new(state: &Arc<ConnState>) -> Busy {
        state.busy.store(true, Ordering::SeqCst);
        Busy(Arc::clone(state))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.store(false, Ordering::SeqCst);
    }
}

/// The service's "error" that makes the connection task reset the connection.
#[derive(Debug)]
struct ResetConnection;

impl std::fmt::Display for ResetConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection reset by fault injection")
    }
}

impl std::error::Error for ResetConnection {}

/// Serves connections until the process ends.
pub async fn serve(listener: TcpListener, app: Arc<App>, timeouts: Timeouts) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header)
        .max_header_size(MAX_HEAD_BYTES)
        // Answer a client that half-closes after its request, as any HTTP/1.1 server does.
        .half_close(true)
        .title_case_headers(true)
        .auto_date_header(false);
    let builder = Arc::new(builder);
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                eprintln!("sieve-collector: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if app.connections.count() >= MAX_CONNECTIONS {
            // Best effort, without waiting: the socket is new, its send buffer empty.
            let _ = stream.try_write(TOO_MANY_CONNECTIONS);
            continue;
        }
        let registration = register(&app);
        tokio::spawn(serve_connection(
            stream,
            registration,
            Arc::clone(&builder),
            timeouts,
        ));
    }
}

const TOO_MANY_CONNECTIONS: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
Access-Control-Allow-Origin: *\r\nContent-Type: application/json\r\nContent-Length: 48\r\n\
Connection: close\r\n\r\n{\"success\":false,\"error\":\"too many connections\"}";

async fn serve_connection(
    stream: TcpStream,
    registration: Registration,
    builder: Arc<http1::Builder>,
    timeouts: Timeouts,
) {
    let _ = stream.set_nodelay(true);
    let service = {
        let app = Arc::clone(&registration.app);
        let state = Arc::clone(&registration.state);
        service_fn(move |req| {
            Box::pin(serve_request(
                Arc::clone(&app),
                Arc::clone(&state),
                timeouts,
                req,
            ))
        })
    };
    let io = TokioIo::new(WriteDeadline::new(stream, timeouts.write));
    let mut conn = builder.serve_connection(io, service);
    let state = Arc::clone(&registration.state);
    let mut close_asked = pin!(state.close.notified());
    let mut closing = false;
    // The result is not needed: the socket tells what to do next (a header timeout, a parse
    // error hyper already answered, a client gone: all end the same way).
    let _ = poll_fn(|cx| {
        if !closing && close_asked.as_mut().poll(cx).is_ready() {
            closing = true;
            Pin::new(&mut conn).graceful_shutdown();
        }
        conn.poll_without_shutdown(cx)
    })
    .await;
    let io = conn.into_parts().io.into_inner();
    // A reset rule, or a client that stopped reading (its unsent bytes are dropped, not
    // left for the kernel to deliver).
    let reset = state.reset.load(Ordering::SeqCst) || io.timed_out;
    let stream = io.stream;
    if reset {
        // SO_LINGER 0 makes close() send RST instead of FIN.
        let _ = SockRef::from(&stream).set_linger(Some(Duration::ZERO));
        drop(stream);
        drop(registration);
        return;
    }
    // Lingering close: FIN first, then discard what the client still sends for a moment, so
    // that our last response is not destroyed by a reset caused by unread input.
    let _ = SockRef::from(&stream).shutdown(Shutdown::Write);
    drop(registration);
    let deadline = Instant::now() + LINGER_TOTAL;
    let mut buf = [0u8; 16 * 1024];
    loop {
        let wait = deadline.min(Instant::now() + LINGER_READ);
        match tokio::time::timeout_at(wait, stream.readable()).await {
            Ok(Ok(())) => match stream.try_read(&mut buf) {
                Ok(0) => return,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            },
            Ok(Err(_)) | Err(_) => return,
        }
    }
}

/// One request: reads the body, routes it (on the blocking pool), and runs what routing asked
/// for (a delay, closing idle connections, a reset).
async fn serve_request(
    app: Arc<App>,
    state: Arc<ConnState>,
    timeouts: Timeouts,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, ResetConnection> {
    let _busy = Busy::new(&state);
    let (head, body) = req.into_parts();
    let origin = head
        .headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("*")
        .to_string();
    let expects_continue = head
        .headers
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let limits = BodyLimits {
        max: MAX_BATCH_BYTES,
        drain: DRAIN_LIMIT,
        timeout: timeouts.body,
    };
    let body = match http::read_body(body, expects_continue, limits).await {
        Ok(body) => body,
        Err(e) => return Ok(e.response().into_hyper(false, &origin)),
    };
    let req = Request::new(head, body);
    // An oversized body may be partly unread: never reuse that connection.
    let wants_keep_alive = req.keep_alive() && matches!(req.body, Body::Complete(_));
    let mut outcome = blocking(&app, move |app| server::route(&req, app)).await;
    let resp = loop {
        match outcome {
            Outcome::Respond(resp) => break resp,
            Outcome::CloseIdleThenRespond(resp) => {
                app.connections.close_idle().await;
                break resp;
            }
            Outcome::Delay(delay, deferred) => {
                tokio::time::sleep(delay).await;
                outcome = blocking(&app, move |app| server::resume(*deferred, app)).await;
            }
            Outcome::Reset => {
                state.reset.store(true, Ordering::SeqCst);
                return Err(ResetConnection);
            }
        }
    };
    // While a reset rule is pending, no connection is kept alive (see `close_idle`).
    let keep_alive = wants_keep_alive && !app.reset_pending();
    Ok(resp.into_hyper(keep_alive, &origin))
}

/// Runs `f` on tokio's blocking pool (routes lock the store and run SQLite).
async fn blocking(app: &Arc<App>, f: impl FnOnce(&App) -> Outcome + Send + 'static) -> Outcome {
    let app = Arc::clone(app);
    tokio::task::spawn_blocking(move || f(&app))
        .await
        .unwrap_or_else(|e| {
            eprintln!("sieve-collector: a request handler failed: {e}");
            Outcome::Respond(Response::error(500, "internal error"))
        })
}

/// A socket whose writes fail with `TimedOut` once no byte could be written for `limit`: a
/// client that stops reading cannot hold a connection forever (hyper has no write timeout).
#[derive(Debug)]
struct WriteDeadline {
    stream: TcpStream,
    limit: Duration,
    /// Running while a write is blocked.
    stalled: Option<Pin<Box<Sleep>>>,
    timed_out: bool,
}

impl WriteDeadline {
    fn new(stream: TcpStream, limit: Duration) -> WriteDeadline {
        WriteDeadline {
            stream,
            limit,
            stalled: None,
            timed_out: false,
        }
    }

    /// Passes `result` on, timing how long writes stay blocked.
    fn watch<T>(
        &mut self,
        cx: &mut Context<'_>,
        result: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if result.is_ready() {
            self.stalled = None;
            return result;
        }
        let limit = self.limit;
        let stalled = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        if stalled.as_mut().poll(cx).is_ready() {
            self.timed_out = true;
            return Poll::Ready(Err(io::ErrorKind::TimedOut.into()));
        }
        Poll::Pending
    }
}

impl AsyncRead for WriteDeadline {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for WriteDeadline {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.watch(cx, result)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.watch(cx, result)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result = Pin::new(&mut self.stream).poll_flush(cx);
        self.watch(cx, result)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
