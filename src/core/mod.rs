//! The analytics state machine. Pure: no I/O, no clock, no randomness.
pub mod time;
pub mod validate;
