//! The clock: the one place that reads the time (`Date.now()`). Does I/O (reads the clock).

use wasm_bindgen::prelude::*;

use crate::core::time::Millis;

// `crypto.getRandomValues(buf)`, or `Math.random` bytes where crypto is missing or refuses:
// one inline import with its own `try` (a `catch` import brings wasm-bindgen's exception
// glue into the wasm and the JS).
#[wasm_bindgen(
    inline_js = "export function sieve_seed(b){try{crypto.getRandomValues(b)}\
catch(e){for(let i=0;i<b.length;i++)b[i]=Math.random()*256}}"
)]
extern "C" {
    fn sieve_seed(buf: &mut [u8]);
}

/// Now, as epoch milliseconds.
pub(crate) fn now() -> Millis {
    let ms = js_sys::Date::now();
    Millis(if ms.is_finite() && ms > 0.0 {
        ms as u64
    } else {
        0
    })
}

/// 16 random bytes from `crypto.getRandomValues`, or `Math.random` when crypto is missing.
pub(crate) fn seed() -> [u8; 16] {
    let mut seed = [0u8; 16];
    sieve_seed(&mut seed);
    seed
}
