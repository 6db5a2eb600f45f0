//! Lower-casing for `$ini`/`$nini`/`$alli`. Pure: no I/O.
//!
//! ASCII text is mapped here. Other text is mapped by the host: in the wasm build with the
//! segments driver, by JavaScript's own `toLowerCase` (what GrowthBook runs), so the engine
//! wasm carries no Unicode case tables (std's cost 12.7 KB gzip of it, measured 2026-12-01).
//! The driver defines `sieve_host_case`, declared below and linked in directly: not
//! installed as a function pointer, because an indirect call gives the wasm a function table,
//! which keeps every closure shim of wasm-bindgen and js-sys alive (0.8 KB gzip, measured
//! 2026-12-02). Its `#[no_mangle]` also exports it; `scripts/build.sh` removes that export.
//! Natively std's mapping is used (the same Unicode rules, final sigma included); a wasm32
//! build without the segments driver leaves non-ASCII text as it is. (The regex `i` flag is
//! JavaScript's own now, so nothing maps to upper case or character by character.)

/// `s.toLowerCase()`.
pub(crate) fn lower_str(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    host(s)
}

#[cfg(all(target_arch = "wasm32", feature = "web-segments"))]
extern "Rust" {
    /// JavaScript's `s.toLowerCase()` (context rules such as the final sigma, characters
    /// that map to several). Defined by `web::segments`.
    fn sieve_host_case(s: &str) -> String;
}

#[cfg(all(target_arch = "wasm32", feature = "web-segments"))]
fn host(s: &str) -> String {
    // SAFETY: `web::segments` defines `sieve_host_case` with this signature, in this crate
    // and this build (the feature that compiles this declaration compiles the definition).
    unsafe { sieve_host_case(s) }
}

#[cfg(all(target_arch = "wasm32", not(feature = "web-segments")))]
fn host(s: &str) -> String {
    s.to_owned()
}

/// std's mapping.
#[cfg(not(target_arch = "wasm32"))]
fn host(s: &str) -> String {
    s.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowers_like_javascript() {
        // (input, toLowerCase) as JavaScript answers.
        let table = [
            ("ABC xyz", "abc xyz"),
            ("ÉCOLE", "école"),
            ("ΟΔΟΣ", "οδος"),
            ("Straße", "straße"),
            ("İ", "i\u{307}"),
            ("", ""),
        ];
        for (s, lo) in table {
            assert_eq!(lower_str(s), lo, "{s}");
        }
    }
}
