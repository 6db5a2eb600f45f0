//! Segment engine tests (see src/segments): GrowthBook conformance, definitions, behaviour
//! through a simulated clock, persistence, and seeded fuzzing.
mod behaviour;
mod compiled;
mod conformance;
mod definitions;
mod docs;
mod fuzz;
mod sim;
