//! The codes of the wasm boundary, Rust and JavaScript: `core::boundary` and
//! `core::notice::NoticeCode` against the shim's `js/codes.js`, which the shim reads them from.

use sieve::core::boundary::{method_from_u8, Command, Read};
use sieve::core::event::EventType;
use sieve::core::notice::NoticeCode;

const CODES_JS: &str = include_str!("../../js/codes.js");

/// `export const NAME = <number>;` of js/codes.js.
fn js_number(name: &str) -> Option<u8> {
    let head = format!("export const {name} = ");
    let line = CODES_JS.lines().find(|l| l.starts_with(&head))?;
    line.strip_prefix(&head)?.strip_suffix(';')?.parse().ok()
}

/// How many `export const <prefix>…` lines js/codes.js has.
fn js_count(prefix: &str) -> usize {
    let head = format!("export const {prefix}");
    CODES_JS.lines().filter(|l| l.starts_with(&head)).count()
}

/// The strings of `export const NAME = ['…', …];` of js/codes.js (over one or more lines).
fn js_strings(name: &str) -> Vec<String> {
    let head = format!("export const {name} = [");
    let at = CODES_JS.find(&head).expect("array in js/codes.js") + head.len();
    let body = &CODES_JS[at..at + CODES_JS[at..].find("];").expect("closing ];")];
    body.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_matches('\'').to_owned())
        .collect()
}

/// Every value a `from_u8` gives, with its number.
fn all<T>(from_u8: impl Fn(u8) -> Option<T>) -> Vec<(u8, T)> {
    (0..=u8::MAX)
        .filter_map(|n| from_u8(n).map(|t| (n, t)))
        .collect()
}

#[test]
fn read_codes_match_the_shim() {
    let reads = all(Read::from_u8);
    for &(n, read) in &reads {
        // Exhaustive: a new variant must be named here, and in js/codes.js.
        let name = match read {
            Read::UserId => "READ_USER_ID",
            Read::AnonymousId => "READ_ANONYMOUS_ID",
            Read::UserTraits => "READ_USER_TRAITS",
            Read::GroupId => "READ_GROUP_ID",
            Read::GroupTraits => "READ_GROUP_TRAITS",
            Read::Queued => "READ_QUEUED",
            Read::DeviceMode => "READ_DEVICE_MODE",
        };
        assert_eq!(
            read as u8, n,
            "{name}: from_u8 and the discriminant disagree"
        );
        assert_eq!(js_number(name), Some(n), "{name} in js/codes.js");
    }
    assert_eq!(
        js_count("READ_"),
        reads.len(),
        "READ_ constants in js/codes.js"
    );
}

#[test]
fn command_codes_match_the_shim() {
    let commands = all(Command::from_u8);
    for &(n, command) in &commands {
        let name = match command {
            Command::Reset => "COMMAND_RESET",
            Command::SetAnonymousId => "COMMAND_SET_ANONYMOUS_ID",
            Command::SetUserTraits => "COMMAND_SET_USER_TRAITS",
            Command::Flush => "COMMAND_FLUSH",
            Command::SetContextSegments => "COMMAND_SET_CONTEXT_SEGMENTS",
            Command::Enqueue => "COMMAND_ENQUEUE",
            Command::SetUserId => "COMMAND_SET_USER_ID",
            Command::SetFailedInitializations => "COMMAND_SET_FAILED_INITIALIZATIONS",
            Command::SetMetadata => "COMMAND_SET_METADATA",
        };
        assert_eq!(
            command as u8, n,
            "{name}: from_u8 and the discriminant disagree"
        );
        assert_eq!(js_number(name), Some(n), "{name} in js/codes.js");
    }
    assert_eq!(
        js_count("COMMAND_"),
        commands.len(),
        "COMMAND_ constants in js/codes.js"
    );
}

#[test]
fn method_codes_match_the_shim() {
    let methods: Vec<(u8, EventType)> = all(method_from_u8);
    let js = js_strings("METHODS");
    assert_eq!(js.len(), methods.len(), "METHODS in js/codes.js");
    for (n, kind) in methods {
        assert_eq!(kind as u8, n);
        assert_eq!(
            js[usize::from(n)],
            kind.as_str(),
            "METHODS[{n}] in js/codes.js"
        );
    }
}

#[test]
fn notice_codes_match_the_shim() {
    let codes = all(NoticeCode::from_u8);
    let js = js_strings("NOTICES");
    assert_eq!(js.len(), codes.len(), "NOTICES in js/codes.js");
    for (n, code) in codes {
        assert_eq!(code as u8, n);
        assert_eq!(
            js[usize::from(n)],
            code.as_str(),
            "NOTICES[{n}] in js/codes.js"
        );
    }
}

#[test]
fn the_checks_above_can_fail() {
    // The parsers find what is there and nothing else.
    assert_eq!(js_number("READ_QUEUED"), Some(5));
    assert_eq!(js_number("READ_NOTHING"), None);
    assert_eq!(
        js_strings("METHODS").first().map(String::as_str),
        Some("track")
    );
}
