//! Segment engine: definitions, three-valued evaluation, bounded history, membership.
//! Pure: no I/O, no clock; time arrives as milliseconds.
