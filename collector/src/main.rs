//! `sieve-collector`: a local Segment-compatible collector for Sieve's demo and tests.
//! This file owns the command line and process start-up (I/O: binds the port, prints the
//! `listening on` line, starts the tokio runtime). See collector/README.md for the endpoints.
//!
//! Module map:
//! - `connection`: TCP connections served by hyper (HTTP/1.1) on tokio: timeouts, resets,
//!   closing idle keep-alive connections (I/O).
//! - `http`: the request and response types between hyper and the routes; body reading under
//!   limits (I/O through hyper's body stream).
//! - `ingest`: what an ingestion request means (pure; uses `sieve::json` + `sieve::core::validate`).
//! - `faults`: fault-injection rules and their FIFO (pure).
//! - `store`: SQLite storage of events (I/O).
//! - `server`: routing, admin endpoints, the request log (I/O: store, clock, segments file).

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod connection;
mod faults;
mod http;
mod ingest;
mod server;
mod store;

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{value_parser, Arg, ArgMatches, Command};

use crate::connection::Timeouts;

/// Parsed command line.
#[derive(Debug)]
struct Args {
    host: String,
    port: u16,
    data_dir: PathBuf,
    segments_file: Option<PathBuf>,
    timeouts: Timeouts,
}

fn command() -> Command {
    let seconds = || value_parser!(u64).range(1..=3600);
    Command::new("sieve-collector")
        .about("A local Segment-compatible collector for Sieve's demo and tests (see collector/README.md)")
        .arg(
            Arg::new("port")
                .long("port")
                .value_name("P")
                .required(true)
                .value_parser(value_parser!(u16))
                .help("TCP port to listen on (0 picks a free one)"),
        )
        .arg(
            Arg::new("data-dir")
                .long("data-dir")
                .value_name("DIR")
                .required(true)
                .value_parser(value_parser!(PathBuf))
                .help("Directory for events.sqlite3 (created if missing)"),
        )
        .arg(
            Arg::new("host")
                .long("host")
                .value_name("ADDR")
                .default_value("127.0.0.1")
                .help("Address to bind"),
        )
        .arg(
            Arg::new("segments-file")
                .long("segments-file")
                .value_name("FILE")
                .value_parser(value_parser!(PathBuf))
                .help("JSON array served as `segments` by GET /v1/projects/<writeKey>/settings (re-read per request)"),
        )
        .arg(
            Arg::new("header-timeout")
                .long("header-timeout")
                .value_name("SECONDS")
                .default_value("30")
                .value_parser(seconds())
                .help("A request head must arrive within this long of the connection opening or of the previous response (also the keep-alive idle timeout)"),
        )
        .arg(
            Arg::new("body-timeout")
                .long("body-timeout")
                .value_name("SECONDS")
                .default_value("30")
                .value_parser(seconds())
                .help("A request body must arrive within this long of its head (else 408)"),
        )
        .arg(
            Arg::new("write-timeout")
                .long("write-timeout")
                .value_name("SECONDS")
                .default_value("30")
                .value_parser(seconds())
                .help("A client that reads nothing of a response for this long is disconnected (reset)"),
        )
}

/// Parses the command line (without the program name).
///
/// # Errors
/// clap's error (usage errors, and `--help` as a "display help" error).
fn parse_args<I: IntoIterator<Item = T>, T: Into<OsString> + Clone>(
    argv: I,
) -> Result<Args, clap::Error> {
    let argv =
        std::iter::once(OsString::from("sieve-collector")).chain(argv.into_iter().map(Into::into));
    let m = command().try_get_matches_from(argv)?;
    // Required or defaulted, so always there; an error rather than a panic all the same.
    fn get<T: Clone + Send + Sync + 'static>(m: &ArgMatches, name: &str) -> Result<T, clap::Error> {
        m.get_one::<T>(name).cloned().ok_or_else(|| {
            clap::Error::raw(
                clap::error::ErrorKind::MissingRequiredArgument,
                format!("--{name} is required\n"),
            )
        })
    }
    Ok(Args {
        port: get(&m, "port")?,
        data_dir: get(&m, "data-dir")?,
        host: get(&m, "host")?,
        segments_file: m.get_one::<PathBuf>("segments-file").cloned(),
        timeouts: Timeouts {
            header: Duration::from_secs(get(&m, "header-timeout")?),
            body: Duration::from_secs(get(&m, "body-timeout")?),
            write: Duration::from_secs(get(&m, "write-timeout")?),
        },
    })
}

fn run(args: Args) -> Result<(), String> {
    if let Some(path) = &args.segments_file {
        // Fail at start-up rather than on the first settings request.
        server::read_segments(path)?;
    }
    let store = store::Store::open(&args.data_dir)?;
    let listener = std::net::TcpListener::bind((args.host.as_str(), args.port))
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| format!("cannot listen on {}:{}: {e}", args.host, args.port))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let listener = {
        let _context = runtime.enter();
        tokio::net::TcpListener::from_std(listener)
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?
    };
    let app = Arc::new(server::App::new(
        store,
        args.segments_file,
        addr.to_string(),
    ));
    let mut stdout = std::io::stdout().lock();
    // Tests and `npm start` wait for exactly this line.
    writeln!(stdout, "listening on http://{addr}")
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("stdout: {e}"))?;
    drop(stdout);
    runtime.block_on(connection::serve(listener, app, args.timeouts));
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args_os().skip(1)) {
        Ok(a) => a,
        // `--help` prints to stdout and exits 0; usage errors go to stderr with exit code 2.
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sieve-collector: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line() {
        let args = parse_args(["--port", "0", "--data-dir", "d"]).unwrap();
        assert_eq!((args.host.as_str(), args.port), ("127.0.0.1", 0));
        assert_eq!(args.data_dir, PathBuf::from("d"));
        assert_eq!(args.segments_file, None);
        assert_eq!(
            (
                args.timeouts.header,
                args.timeouts.body,
                args.timeouts.write
            ),
            (
                Duration::from_secs(30),
                Duration::from_secs(30),
                Duration::from_secs(30)
            )
        );
        let args = parse_args([
            "--port=8081",
            "--data-dir=d",
            "--host",
            "0.0.0.0",
            "--segments-file",
            "s.json",
            "--header-timeout",
            "2",
            "--body-timeout=3",
            "--write-timeout=4",
        ])
        .unwrap();
        assert_eq!((args.host.as_str(), args.port), ("0.0.0.0", 8081));
        assert_eq!(args.segments_file, Some(PathBuf::from("s.json")));
        assert_eq!(
            (
                args.timeouts.header,
                args.timeouts.body,
                args.timeouts.write
            ),
            (
                Duration::from_secs(2),
                Duration::from_secs(3),
                Duration::from_secs(4)
            )
        );
        for bad in [
            &["--data-dir", "d"][..],
            &["--port", "0"],
            &["--port", "70000", "--data-dir", "d"],
            &["--port", "0", "--data-dir", "d", "--header-timeout", "0"],
            &["--port", "0", "--data-dir", "d", "--nope"],
        ] {
            let e = parse_args(bad).unwrap_err();
            assert!(e.use_stderr(), "{bad:?}");
        }
        assert!(!parse_args(["--help"]).unwrap_err().use_stderr());
    }
}
