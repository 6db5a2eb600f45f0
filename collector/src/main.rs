//! `sieve-collector`: a local Segment-compatible collector for Sieve's demo and tests.
//! This file owns the command line and process start-up (I/O: binds the port, prints the
//! `listening on` line). See collector/README.md for the endpoints.
//!
//! Module map:
//! - `http`: HTTP/1.1 wire format (request reading, response writing).
//! - `ingest`: what an ingestion request means (pure; uses `sieve::json` + `sieve::core::validate`).
//! - `faults`: fault-injection rules and their FIFO (pure).
//! - `store`: SQLite storage of events (I/O).
//! - `server`: connections, routing, admin endpoints (I/O).

mod faults;
mod http;
mod ingest;
mod server;
mod store;

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

const USAGE: &str = "usage: sieve-collector --port <P> --data-dir <DIR> [--host 127.0.0.1] [--segments-file <json file>]
  --port           TCP port to listen on (0 picks a free one)
  --data-dir       directory for events.sqlite3 (created if missing)
  --host           address to bind (default 127.0.0.1)
  --segments-file  JSON array served as `segments` by GET /v1/projects/<writeKey>/settings";

/// Parsed command line.
#[derive(Debug)]
struct Args {
    host: String,
    port: u16,
    data_dir: PathBuf,
    segments_file: Option<PathBuf>,
}

fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut host = "127.0.0.1".to_string();
    let mut port = None;
    let mut data_dir = None;
    let mut segments_file = None;
    while let Some(arg) = argv.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg, None),
        };
        if flag == "--help" || flag == "-h" {
            return Err(String::new());
        }
        let mut value = || {
            inline
                .clone()
                .or_else(|| argv.next())
                .ok_or(format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--port" => {
                let v = value()?;
                port = Some(
                    v.parse::<u16>()
                        .map_err(|_| format!("--port: not a port number: {v}"))?,
                );
            }
            "--data-dir" => data_dir = Some(PathBuf::from(value()?)),
            "--host" => host = value()?,
            "--segments-file" => segments_file = Some(PathBuf::from(value()?)),
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    Ok(Args {
        host,
        port: port.ok_or("--port is required")?,
        data_dir: data_dir.ok_or("--data-dir is required")?,
        segments_file,
    })
}

fn run(args: Args) -> Result<(), String> {
    if let Some(path) = &args.segments_file {
        // Fail at start-up rather than on the first settings request.
        server::read_segments(path)?;
    }
    let store = store::Store::open(&args.data_dir)?;
    let listener = TcpListener::bind((args.host.as_str(), args.port))
        .map_err(|e| format!("cannot listen on {}:{}: {e}", args.host, args.port))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
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
    server::serve(listener, app);
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("sieve-collector: {e}\n{USAGE}");
            return ExitCode::from(2);
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
