//! The one native integration-test binary: a simulated world (clock, storage, network as
//! data) driving the pure core and the segment engine. No browser, no mocks of fetch.

// Table-driven tests spell their rows as tuples, which reads better than a named type per table.
#![allow(clippy::type_complexity)]
mod alloc;
mod boundary;
mod config;
mod delivery;
mod events;
mod identity;
mod metadata;
mod queue;
mod routing;
#[cfg(feature = "segments")]
mod segments;
mod sim;
mod wire;
