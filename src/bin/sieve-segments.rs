//! `sieve-segments compile [FILE]`: compiles JSON segment definitions (a JSON array, or an
//! object with a `segments` array; from FILE or standard input) into the compiled form the
//! engine wasm loads without the definitions parser (`sieve::segments::compiled`), printed
//! on standard output. Serve it as settings `segments` (a string), the `segments.definitions`
//! load option, `analytics.segments.load(text)` or a `segments.url` file. Each rejected
//! definition and each warning goes to standard error; the exit status is 1 when a definition
//! was rejected (what was accepted is still printed), 2 on a usage or input error.

use std::io::Read;
use std::process::ExitCode;

use sieve::json::{self, Value};
use sieve::segments::compiled::compile;

const USAGE: &str =
    "usage: sieve-segments compile [FILE]   (JSON definitions from FILE or standard input)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = match args.as_slice() {
        [cmd] if cmd == "compile" => None,
        [cmd, path] if cmd == "compile" => Some(path.as_str()),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let mut text = String::new();
    let read = match path {
        Some(p) => std::fs::read_to_string(p).map(|t| text = t),
        None => std::io::stdin().read_to_string(&mut text).map(|_| ()),
    };
    if let Err(e) = read {
        eprintln!(
            "sieve-segments: cannot read {}: {e}",
            path.unwrap_or("standard input")
        );
        return ExitCode::from(2);
    }
    let doc = match json::parse(&text) {
        Ok(doc) => doc,
        Err(e) => {
            eprintln!("sieve-segments: not JSON: {}", e.message());
            return ExitCode::from(2);
        }
    };
    let defs = match doc.get("segments") {
        Some(inner @ Value::Array(_)) => inner.clone(),
        _ => doc,
    };
    let (compiled, report) = compile(&defs);
    for (kind, list) in [("rejected", &report.errors), ("warning", &report.warnings)] {
        for e in list {
            eprintln!("{kind}: {} at {}: {}", e.key, e.path, e.message);
        }
    }
    let Some(compiled) = compiled else {
        return ExitCode::from(2);
    };
    println!("{compiled}");
    eprintln!(
        "compiled {} definition(s): {}",
        report.accepted.len(),
        report
            .accepted
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if report.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
