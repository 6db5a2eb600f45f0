//! Unit tests of `history` (the module's private helpers; integration tests live in tests/it).

use super::*;

#[test]
fn ring_gives_exact_counts_at_window_edges() {
    let mut needs = Needs {
        ring: 3,
        ..Needs::default()
    };
    needs.add_reach(Some(7 * DAY_MS));
    let mut h = History::new(needs, 0);
    for t in [10 * DAY_MS, 11 * DAY_MS, 12 * DAY_MS, 13 * DAY_MS] {
        h.record(t, &[]);
    }
    // Window (now - 7d, now] at now = 17d + 11d... check the last 3 at several nows.
    let now = 18 * DAY_MS; // window (11d, 18d]: 12d, 13d
    assert_eq!(
        h.count_in(Some(now - 7 * DAY_MS), now),
        Interval::exact(2.0)
    );
    let now = 17 * DAY_MS + 1; // (10d+1, 17d+1]: 11d, 12d, 13d = 3 (ring full, oldest > start)
    let c = h.count_in(Some(now - 7 * DAY_MS), now);
    assert_eq!(c.lo, 3.0);
    assert!(h.bytes(10) <= h.needs.bound_bytes(10));
}
