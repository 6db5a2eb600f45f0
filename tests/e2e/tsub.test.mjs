// Differential test of the routing-rule evaluator (src/destinations: fql.rs, transform.rs) in
// the shipped wasm (dist/sieve_destinations_rules_bg.wasm, the build with routing rules) against `@segment/tsub` 2.0.1, the
// evaluator analytics-next vendors: every matches()/transform() call of tsub's own test suite,
// then seeded generated rules and events (tsub/oracle.mjs). Each case goes through
// `DestinationsWasm.route` (which leaves out a `writeKey` and a null `userId`, as analytics.js's
// events have neither) as a one-rule routing rule: a matcher with a `drop` transformer
// (dropped = matched), or `{type: 'all'}` with the transformers; the answer must be tsub's,
// including "threw" (the destination gets nothing) and the Math.random values tsub drew.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './harness.mjs';
import { tsubCases } from './tsub/oracle.mjs';

test('routing rules: the Rust evaluator answers as @segment/tsub does', async () => {
  const glue = await import(join(ROOT, 'target/pkg/destinations/sieve_destinations.js'));
  glue.initSync({ module: readFileSync(join(ROOT, 'dist/sieve_destinations_rules_bg.wasm')) });
  const { events, cases } = await tsubCases();
  const realRandom = Math.random;
  const counts = { match: 0, transform: 0, threw: 0 };
  const failures = [];
  try {
    for (const c of cases) {
      const event = events[c.event];
      const rule =
        c.kind === 'match'
          ? { destinationName: 'D', matchers: [c.matcher], transformers: [[{ type: 'drop' }]] }
          : { destinationName: 'D', matchers: [{ type: 'all', ir: '' }], transformers: [c.transformers] };
      const router = new glue.DestinationsWasm(
        JSON.stringify({ middlewareSettings: { routingRules: [rule] } }),
        '{}',
        'https://cdn.test',
      );
      const randoms = [...(c.randoms || [])];
      Math.random = () => (randoms.length ? randoms.shift() : 0.5);
      const out = router.route('D', false, JSON.stringify(event));
      Math.random = realRandom;
      router.free();
      counts[c.kind]++;
      let got, want;
      if (c.threw) {
        counts.threw++;
        [got, want] = [out[0] === '!' ? 'threw' : out, 'threw'];
      } else if (c.kind === 'match') {
        [got, want] = [out === '' ? true : out[0] === '!' ? out : false, c.out];
      } else {
        [got, want] = [
          out === '' ? null : out[0] === '!' ? out : JSON.parse(out),
          c.out === null ? null : events[c.out],
        ];
      }
      try {
        assert.deepEqual(got, want);
      } catch (_) {
        failures.push({ kind: c.kind, matcher: c.matcher, transformers: c.transformers, event, got, want });
      }
    }
  } finally {
    Math.random = realRandom;
  }
  assert.ok(counts.match > 400 && counts.transform > 400, 'cases ran: ' + JSON.stringify(counts));
  if (process.env.TSUB_DUMP)
    for (const f of failures)
      console.log(
        JSON.stringify({
          ...f,
          event: f.kind === 'match' ? f.event : (f.event.propToSampleOffOf ?? f.event.properties ?? '…'),
          got: typeof f.got === 'object' && f.got ? '…' : f.got,
          want: typeof f.want === 'object' && f.want ? '…' : f.want,
        }),
      );
  assert.deepEqual(failures.slice(0, 5), [], failures.length + ' of ' + cases.length + ' cases differ');
});
