//! The one native integration-test binary: a simulated world (clock, storage, network as
//! data) driving the pure core and the segment engine. No browser, no mocks of fetch.
mod alloc;
mod config;
mod delivery;
mod events;
mod identity;
mod queue;
#[cfg(feature = "segments")]
mod segments;
mod sim;
mod wire;
