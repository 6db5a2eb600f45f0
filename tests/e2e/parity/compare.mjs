// Turns both SDK runs of a scenario into comparable views (after the per-SDK invariants that
// normalisation hides have been checked).
import { normalizeEvent, idMapper, eventsOf, storageOf, LIBRARY } from './normalize.mjs';

// Endpoint: analytics.js batches to `/b`; Sieve's batching endpoint is `/v1/batch`
// (intentional, issue 3 "Where we differ on purpose").
const PATHS = { ajs: '/v1/b', sieve: '/v1/batch' };

export function views(res, sc, assert) {
  const t0 = Date.now();
  const view = {};
  for (const sdk of ['ajs', 'sieve']) {
    const side = res[sdk];
    const walk = idMapper(side.writeKey);
    // Pre-load calls: analytics.js replays them grouped by method, Sieve in call order
    // (intentional, issue 3): compare them stably sorted by type.
    const raw = eventsOf(side, { sortByType: !!sc.pre });
    for (const r of side.records) {
      assert.equal(r.path, PATHS[sdk], `${sdk}: endpoint`);
      assert.equal(r.event.writeKey ?? r.writeKey, side.writeKey, `${sdk}: write key`);
      // (A scenario that sets context.library itself checks it in its own `check`.)
      if (!sc.callerLibrary)
        assert.ok(
          LIBRARY[sdk](r.event.context && r.event.context.library),
          `${sdk}: context.library ${JSON.stringify(r.event.context && r.event.context.library)}`,
        );
    }
    view[sdk] = {
      wire: {
        outcomes: side.outcomes,
        callbacks: [...side.callbacks].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)),
        events: raw.map((e) => normalizeEvent(e, t0)),
      },
      errors: side.errors,
      raw,
    };
    view[sdk].wire = walk(view[sdk].wire);
    view[sdk].storage = storageOf(side, walk, t0);
  }
  return view;
}
