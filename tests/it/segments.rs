//! Segment engine tests (see src/segments).
