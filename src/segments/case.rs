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

/// A full-string case mapping with JavaScript's semantics (context rules such as the final
/// sigma, and characters that map to several).
pub type MapFn = fn(&str, Case) -> String;

thread_local! {
    static HOST: Cell<Option<MapFn>> = const { Cell::new(None) };
}

/// Installs the mapping used for non-ASCII text (the driver does, before any definition loads).
pub fn install(map: MapFn) {
    HOST.with(|h| h.set(Some(map)));
}

fn map_str(s: &str, case: Case) -> String {
    if s.is_ascii() {
        return match case {
            Case::Lower => s.to_ascii_lowercase(),
            Case::Upper => s.to_ascii_uppercase(),
        };
    }
    match HOST.with(Cell::get) {
        Some(map) => map(s, case),
        None => fallback(s, case),
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn fallback(s: &str, case: Case) -> String {
    match case {
        Case::Lower => s.to_lowercase(),
        Case::Upper => s.to_uppercase(),
    }
}

#[cfg(target_arch = "wasm32")]
fn fallback(s: &str, _: Case) -> String {
    s.to_owned()
}

/// `s.toLowerCase()`.
pub fn lower_str(s: &str) -> String {
    map_str(s, Case::Lower)
}

/// The character's own mapping when it is one character, else the character itself (the
/// regex `i` flag compares characters one to one).
pub fn map_char(c: char, case: Case) -> char {
    if c.is_ascii() {
        return match case {
            Case::Lower => c.to_ascii_lowercase(),
            Case::Upper => c.to_ascii_uppercase(),
        };
    }
    let mut buf = [0; 4];
    let mapped = map_str(c.encode_utf8(&mut buf), case);
    let mut it = mapped.chars();
    match (it.next(), it.next()) {
        (Some(m), None) => m,
        _ => c,
    }
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
            assert_eq!(map_str(s, Case::Lower), lo, "{s}");
            assert_eq!(map_str(s, Case::Upper), up, "{s}");
        }
    }

    #[test]
    fn a_character_that_maps_to_several_stays_itself() {
        let table = [('ß', Case::Upper, 'ß'), ('İ', Case::Lower, 'İ'), ('Σ', Case::Lower, 'σ'), ('é', Case::Upper, 'É'), ('Q', Case::Lower, 'q')];
        for (c, case, want) in table {
            assert_eq!(map_char(c, case), want, "{c} {case:?}");
        }
    }
}
