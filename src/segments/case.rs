//! Case mapping for `$ini`/`$nini`/`$alli` and the regex `i` flag. Pure: no I/O.
//!
//! ASCII text is mapped here. Other text is mapped by the host: in the wasm build with the
//! segments driver, by JavaScript's own `toLowerCase`/`toUpperCase` (what GrowthBook runs),
//! so the engine wasm carries no Unicode case tables (std's cost 12.7 KB gzip of it,
//! measured 2026-12-01). The driver defines `sieve_host_case`, declared below and linked in
//! directly: not installed as a function pointer, because an indirect call gives the wasm a
//! function table, which keeps every closure shim of wasm-bindgen and js-sys alive (0.8 KB
//! gzip, measured 2026-12-02). Its `#[no_mangle]` also exports it; `scripts/build.sh`
//! removes that export. Natively std's mapping is used (the same Unicode rules, final
//! sigma included); a wasm32 build without the segments driver leaves non-ASCII text as it is.

/// Which way to map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case {
    /// `toLowerCase`.
    Lower,
    /// `toUpperCase`.
    Upper,
}

fn map_str(s: &str, case: Case, per_char: bool) -> String {
    if s.is_ascii() {
        return match case {
            Case::Lower => s.to_ascii_lowercase(),
            Case::Upper => s.to_ascii_uppercase(),
        };
    }
    host(s, case, per_char)
}

#[cfg(all(target_arch = "wasm32", feature = "web-segments"))]
extern "Rust" {
    /// A case mapping with JavaScript's semantics. With `per_char` false: the string's
    /// `toLowerCase()`/`toUpperCase()` (context rules such as the final sigma, characters
    /// that map to several). With `per_char` true: each character mapped on its own,
    /// keeping the characters whose mapping is not exactly one character (so the result
    /// has the same characters count, position by position). Defined by `web::segments`.
    fn sieve_host_case(s: &str, case: Case, per_char: bool) -> String;
}

#[cfg(all(target_arch = "wasm32", feature = "web-segments"))]
fn host(s: &str, case: Case, per_char: bool) -> String {
    // SAFETY: `web::segments` defines `sieve_host_case` with this signature, in this crate
    // and this build (the feature that compiles this declaration compiles the definition).
    unsafe { sieve_host_case(s, case, per_char) }
}

#[cfg(all(target_arch = "wasm32", not(feature = "web-segments")))]
fn host(s: &str, _: Case, _: bool) -> String {
    s.to_owned()
}

/// std's mapping, with the same `per_char` rule as the host's.
#[cfg(not(target_arch = "wasm32"))]
fn host(s: &str, case: Case, per_char: bool) -> String {
    let one = |c: char| -> char {
        let mut buf = [0; 4];
        let mapped = host(c.encode_utf8(&mut buf), case, false);
        let mut it = mapped.chars();
        match (it.next(), it.next()) {
            (Some(m), None) => m,
            _ => c,
        }
    };
    match (case, per_char) {
        (_, true) => s.chars().map(one).collect(),
        (Case::Lower, false) => s.to_lowercase(),
        (Case::Upper, false) => s.to_uppercase(),
    }
}

/// `s.toLowerCase()`.
pub fn lower_str(s: &str) -> String {
    map_str(s, Case::Lower, false)
}

/// Each character of `s` mapped on its own (see [`map_char`]), in one host call: the result
/// has `s`'s characters count, position by position.
pub fn map_chars(s: &str, case: Case) -> String {
    map_str(s, case, true)
}

/// The character's own mapping when it is one character, else the character itself (the
/// regex `i` flag compares characters one to one).
pub fn map_char(c: char, case: Case) -> char {
    let mut buf = [0; 4];
    map_chars(c.encode_utf8(&mut buf), case)
        .chars()
        .next()
        .unwrap_or(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_like_javascript() {
        // (input, toLowerCase, toUpperCase) as JavaScript answers.
        let table = [
            ("ABC xyz", "abc xyz", "ABC XYZ"),
            ("ÉCOLE", "école", "ÉCOLE"),
            ("ΟΔΟΣ", "οδος", "ΟΔΟΣ"),
            ("Straße", "straße", "STRASSE"),
            ("İ", "i\u{307}", "İ"),
            ("", "", ""),
        ];
        for (s, lo, up) in table {
            assert_eq!(map_str(s, Case::Lower, false), lo, "{s}");
            assert_eq!(map_str(s, Case::Upper, false), up, "{s}");
        }
    }

    #[test]
    fn maps_character_by_character() {
        assert_eq!(map_chars("Straße İx σς", Case::Upper), "STRAßE İX ΣΣ");
        assert_eq!(map_chars("ΟΔΟΣ İ", Case::Lower), "οδοσ İ");
    }

    #[test]
    fn a_character_that_maps_to_several_stays_itself() {
        let table = [
            ('ß', Case::Upper, 'ß'),
            ('İ', Case::Lower, 'İ'),
            ('Σ', Case::Lower, 'σ'),
            ('é', Case::Upper, 'É'),
            ('Q', Case::Lower, 'q'),
        ];
        for (c, case, want) in table {
            assert_eq!(map_char(c, case), want, "{c} {case:?}");
        }
    }
}
