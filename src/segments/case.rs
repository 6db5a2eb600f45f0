//! Case mapping for `$ini`/`$nini`/`$alli` and the regex `i` flag. Pure: no I/O.
//!
//! ASCII text is mapped here. Other text is mapped by the function the driver installs with
//! [`install`]: in the browser that is JavaScript's own `toLowerCase`/`toUpperCase`, which is
//! what GrowthBook runs, so the engine wasm carries no Unicode case tables (std's cost
//! 12.7 KB gzip of it, measured 2026-12-01). Until one is installed, natively std's mapping
//! is used (the same Unicode rules, final sigma included), and on wasm32 non-ASCII text is
//! left as it is.

use std::cell::Cell;

/// Which way to map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Case {
    /// `toLowerCase`.
    Lower,
    /// `toUpperCase`.
    Upper,
}

/// A case mapping with JavaScript's semantics. With `per_char` false: the string's
/// `toLowerCase()`/`toUpperCase()` (context rules such as the final sigma, characters that
/// map to several). With `per_char` true: each character mapped on its own, keeping the
/// characters whose mapping is not exactly one character (so the result has the same
/// characters count, position by position).
pub type MapFn = fn(&str, Case, bool) -> String;

thread_local! {
    static HOST: Cell<Option<MapFn>> = const { Cell::new(None) };
}

/// Installs the mapping used for non-ASCII text (the driver does, before any definition loads).
pub fn install(map: MapFn) {
    HOST.with(|h| h.set(Some(map)));
}

fn map_str(s: &str, case: Case, per_char: bool) -> String {
    if s.is_ascii() {
        return match case {
            Case::Lower => s.to_ascii_lowercase(),
            Case::Upper => s.to_ascii_uppercase(),
        };
    }
    match HOST.with(Cell::get) {
        Some(map) => map(s, case, per_char),
        None => fallback(s, case, per_char),
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn fallback(s: &str, case: Case, per_char: bool) -> String {
    let one = |c: char| -> char {
        let mut buf = [0; 4];
        let mapped = fallback(c.encode_utf8(&mut buf), case, false);
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

#[cfg(target_arch = "wasm32")]
fn fallback(s: &str, _: Case, _: bool) -> String {
    s.to_owned()
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
    map_chars(c.encode_utf8(&mut buf), case).chars().next().unwrap_or(c)
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
        let table = [('ß', Case::Upper, 'ß'), ('İ', Case::Lower, 'İ'), ('Σ', Case::Lower, 'σ'), ('é', Case::Upper, 'É'), ('Q', Case::Lower, 'q')];
        for (c, case, want) in table {
            assert_eq!(map_char(c, case), want, "{c} {case:?}");
        }
    }
}
