//! The browser's own parsers, used by the core (issue 15, decision 2): `decodeURIComponent`,
//! the `URL` parser's `pathname` and number parsing. Pure interface, no I/O. In the script-tag wasm the
//! web driver defines them with JavaScript's own (`web::storage`, linked by name like
//! `segments::case`'s host call: no function pointer), so that wasm carries no percent
//! decoding, UTF-8 validation or URL rules. Natively (tests, the collector) they are the Rust
//! stand-ins below; the browser tests run the real ones against analytics-next (parity).

/// `decodeURIComponent(s)`; `None` where it throws (a malformed escape, invalid UTF-8).
pub(crate) fn decode_uri_component(s: &str) -> Option<String> {
    if crate::json::find_byte(s, b'%').is_none() {
        return Some(s.to_owned());
    }
    imp::parse(imp::DECODE_URI_COMPONENT, s)
}

/// `new URL(url).pathname`; `None` where the constructor throws (not an absolute URL).
pub(crate) fn url_pathname(url: &str) -> Option<String> {
    imp::parse(imp::URL_PATHNAME, url)
}

/// A JSON number literal's value as JavaScript reads it (`parseFloat`: correctly rounded);
/// `None` for text that is not a number.
pub(crate) fn number(text: &str) -> Option<f64> {
    Some(imp::number(text)).filter(|x| !x.is_nan())
}

#[cfg(all(target_arch = "wasm32", feature = "web-core"))]
mod imp {
    pub(super) const DECODE_URI_COMPONENT: u32 = 7;
    pub(super) const URL_PATHNAME: u32 = 8;

    extern "Rust" {
        /// The browser's parser `what` (the numbers above) applied to `s`; `None` when it
        /// throws. Defined by `web::storage` (its `sieve_store` import runs it).
        fn sieve_host_parse(what: u32, s: &str) -> Option<String>;
        /// `parseFloat(text)`. Defined by `web::storage`.
        fn sieve_host_number(text: &str) -> f64;
    }

    pub(super) fn parse(what: u32, s: &str) -> Option<String> {
        // SAFETY: `web::storage` defines `sieve_host_parse` with this signature, in this
        // crate and this build (the cfg that compiles this declaration compiles it).
        unsafe { sieve_host_parse(what, s) }
    }

    pub(super) fn number(text: &str) -> f64 {
        // SAFETY: as `parse` above.
        unsafe { sieve_host_number(text) }
    }
}

/// Rust stand-ins with the browser's rules (the wasm builds without the core driver, such
/// as the segments wasm, do not call these).
#[cfg(not(all(target_arch = "wasm32", feature = "web-core")))]
mod imp {
    use crate::json::find_byte;
    use crate::json::find_sub;

    pub(super) const DECODE_URI_COMPONENT: u32 = 0;
    pub(super) const URL_PATHNAME: u32 = 1;

    /// [`crate::json::parse_f64`] (exact for the numbers settings carry; NaN when not a number).
    pub(super) fn number(text: &str) -> f64 {
        crate::json::parse_f64(text).unwrap_or(f64::NAN)
    }

    pub(super) fn parse(what: u32, s: &str) -> Option<String> {
        if what == DECODE_URI_COMPONENT {
            percent_decode(s)
        } else {
            pathname(s)
        }
    }

    /// Strict percent decoding: `None` on a bad escape or invalid UTF-8.
    fn percent_decode(s: &str) -> Option<String> {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            if b == b'%' {
                let hi = hex_val(*bytes.get(i + 1)?)?;
                let lo = hex_val(*bytes.get(i + 2)?)?;
                out.push(hi * 16 + lo);
                i += 3;
            } else {
                out.push(b);
                i += 1;
            }
        }
        String::from_utf8(out).ok()
    }

    fn hex_val(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }

    /// The path of an absolute URL, roughly as the `URL` parser finds it: a scheme, `://`,
    /// a host the parser accepts; `None` where it would throw.
    fn pathname(url: &str) -> Option<String> {
        let scheme_end = find_sub(url, "://")?;
        let scheme = url.get(..scheme_end).unwrap_or("");
        let valid_scheme = !scheme.is_empty()
            && scheme
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        let rest = url.get(scheme_end + 3..).unwrap_or("");
        let path_start = rest
            .bytes()
            .position(|b| matches!(b, b'/' | b'?' | b'#'))
            .unwrap_or(rest.len());
        let host = rest.get(..path_start).unwrap_or("");
        // Roughly what makes `new URL()` throw: an empty host, an unclosed IPv6 bracket,
        // characters no host may contain.
        let valid_host = !host.is_empty()
            && find_byte(host, b'[').is_some() == find_byte(host, b']').is_some()
            && !host
                .bytes()
                .any(|b| b <= b' ' || matches!(b, b'<' | b'>' | b'^' | b'|' | b'\\' | b'"'));
        if !(valid_scheme && valid_host) {
            return None;
        }
        let after_host = rest.get(path_start..).unwrap_or("");
        let path_end = after_host
            .bytes()
            .position(|b| matches!(b, b'?' | b'#'))
            .unwrap_or(after_host.len());
        let path = after_host.get(..path_end).unwrap_or("");
        Some(if path.is_empty() { "/" } else { path }.to_owned())
    }
}
