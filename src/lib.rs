//! Sieve: an analytics.js-compatible browser analytics SDK with in-browser segments.
//!
//! The crate has three layers (see ARCHITECTURE.md):
//! - [`core`]: the analytics state machine (identity, event building, queue, batching,
//!   retry policy). **Pure**: no I/O, no clock, no randomness; time, entropy, storage
//!   snapshots and HTTP outcomes come in as arguments, and batches to send, storage writes
//!   and the next deadline come out as data (`handle_*` in, `poll_*` out).
//! - [`segments`]: the segment engine (definitions, three-valued evaluation, bounded
//!   history, membership). Pure as well.
//! - `web` (wasm32 only): the one driver that owns cookies, localStorage, fetch, timers,
//!   the clock, and every `#[wasm_bindgen]` export.
//!
//! [`json`] is the value tree both pure layers share; the native collector service uses
//! [`core::validate::validate`] so that the SDK and the collector agree on what an event is.
#![deny(missing_docs, missing_debug_implementations)]
#![warn(unreachable_pub)]
// `slice.contains(&x)` and `flatten()` over options cost wasm bytes here (measured: the core
// wasm +125 B gzip for five `iter().any()` loops in delivery.rs written as `contains`), so
// the hand-written forms stay.
#![allow(clippy::manual_contains, clippy::manual_flatten)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod base64;
pub mod core;
#[cfg(feature = "destinations")]
pub mod destinations;
pub mod json;
#[cfg(feature = "segments")]
pub mod segments;

#[cfg(target_arch = "wasm32")]
mod web;
