//! `$regex` / `$regexi` patterns: JavaScript's own `RegExp`, reached through the host.
//! Pure: no I/O (the host is the driver, as for [`case`](super::case)).
//!
//! GrowthBook's evaluator runs `new RegExp(pattern[, "i"]).test(value)`, so this is its
//! exact semantics (`segments-v1.md`, revised 2026-12-07: the linear-time engine this
//! replaces cost ~7 % of the engine wasm). A pattern is compiled once, when the
//! definitions load ([`GbCondition::new`](super::condition::GbCondition::new)); the host
//! keeps the compiled `RegExp` and answers tests by handle. Definitions belong to the site:
//! a pathological pattern can be slow on long input (docs/segments.md says so).
//!
//! In the engine wasm the driver (`web::segments`) defines `sieve_host_regex_new` and
//! `sieve_host_regex_test`, declared below and linked directly (no function pointer: see
//! ARCHITECTURE.md on indirect calls); their `#[no_mangle]` exports are removed by
//! `scripts/build.sh`. Natively (tests, examples, tools) `regex-lite` stands in: the same
//! answers for the patterns the tests use, not JavaScript's syntax in every corner
//! (lookaround and backreferences are refused there). A wasm32 build without the segments
//! driver refuses every pattern.

/// Why a pattern cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegexError {
    /// The host refuses it (JavaScript's `RegExp` throws a `SyntaxError`).
    Invalid,
}

impl RegexError {
    /// A short, lowercase description.
    pub fn message(self) -> &'static str {
        "invalid regular expression (JavaScript's RegExp refuses it)"
    }
}

/// A compiled pattern.
#[derive(Clone, Debug)]
pub(crate) struct Regex {
    #[cfg(not(target_arch = "wasm32"))]
    inner: regex_lite::Regex,
    /// The host's handle.
    #[cfg(target_arch = "wasm32")]
    id: u32,
}

#[cfg(all(target_arch = "wasm32", feature = "web-segments"))]
extern "Rust" {
    /// Compiles `new RegExp(pattern, insensitive ? "i" : "")` once (the host caches it by
    /// pattern and flag): its handle, or -1 when `RegExp` throws. Defined by `web::segments`.
    fn sieve_host_regex_new(pattern: &str, insensitive: bool) -> i32;
    /// `regexp.test(text)` for a handle from `sieve_host_regex_new`.
    fn sieve_host_regex_test(id: u32, text: &str) -> bool;
}

impl Regex {
    /// Compiles `pattern` (with the `i` flag when `insensitive`).
    ///
    /// # Errors
    /// [`RegexError::Invalid`] when the host refuses the pattern.
    #[cfg(all(target_arch = "wasm32", feature = "web-segments"))]
    pub(crate) fn new(pattern: &str, insensitive: bool) -> Result<Regex, RegexError> {
        // SAFETY: `web::segments` defines this function with this signature, in this crate
        // and this build (the feature that compiles this declaration compiles the definition).
        let id = unsafe { sieve_host_regex_new(pattern, insensitive) };
        u32::try_from(id)
            .map(|id| Regex { id })
            .map_err(|_| RegexError::Invalid)
    }

    /// Whether the pattern matches somewhere in `text`.
    #[cfg(all(target_arch = "wasm32", feature = "web-segments"))]
    pub(crate) fn is_match(&self, text: &str) -> bool {
        // SAFETY: as in `new`.
        unsafe { sieve_host_regex_test(self.id, text) }
    }

    /// Compiles `pattern` (with the `i` flag when `insensitive`).
    ///
    /// # Errors
    /// [`RegexError::Invalid`]: no host to run it in this build.
    #[cfg(all(target_arch = "wasm32", not(feature = "web-segments")))]
    pub(crate) fn new(_: &str, _: bool) -> Result<Regex, RegexError> {
        Err(RegexError::Invalid)
    }

    /// Never reached: no pattern compiles in this build.
    #[cfg(all(target_arch = "wasm32", not(feature = "web-segments")))]
    pub(crate) fn is_match(&self, _: &str) -> bool {
        false
    }

    /// Compiles `pattern` (with the `i` flag when `insensitive`) with `regex-lite`.
    ///
    /// # Errors
    /// [`RegexError::Invalid`] when `regex-lite` refuses the pattern.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn new(pattern: &str, insensitive: bool) -> Result<Regex, RegexError> {
        regex_lite::RegexBuilder::new(pattern)
            .case_insensitive(insensitive)
            .build()
            .map(|inner| Regex { inner })
            .map_err(|_| RegexError::Invalid)
    }

    /// Whether the pattern matches somewhere in `text`.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn is_match(&self, text: &str) -> bool {
        self.inner.is_match(text)
    }
}
