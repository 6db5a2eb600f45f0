//! The clock: the one place that reads the time (`Date.now()`). Does I/O (reads the clock).

use wasm_bindgen::prelude::*;

use crate::core::time::Millis;

#[wasm_bindgen]
extern "C" {
    /// `crypto.getRandomValues(buf)`; `Err` when `crypto` is missing or refuses.
    #[wasm_bindgen(catch, js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(buf: &mut [u8]) -> Result<(), JsValue>;
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
    let from_crypto = get_random_values(&mut seed).is_ok();
    if !from_crypto {
        for b in seed.iter_mut() {
            *b = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    seed
}
