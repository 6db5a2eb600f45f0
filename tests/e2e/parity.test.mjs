// Differential test (issue 3): the same scripted calls on a page running analytics-next
// 1.84.3 (its script-tag bundle, loaded by the official snippet) and on a page running Sieve
// (dist/analytics.min.js, same snippet), same URL/title/referrer/canonical, each with its own
// write key; what each sends to the real loopback collector and what each leaves in storage
// must be identical after normalising only what has to differ (parity/normalize.mjs).
// Where Sieve differs, the test keeps its honest assertion and is marked `todo`.
//
// Per scenario: "<name>" compares how each call settled (resolve / rejection message),
// callbacks and the events on the wire; scenarios with `storage: true` add
// "<name> [storage]" comparing cookies (names, values, attributes) and ajs_* localStorage.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startRig } from './parity/rig.mjs';
import { SCENARIOS } from './parity/scenarios.mjs';
import { views } from './parity/compare.mjs';
import { mkdirSync, writeFileSync } from 'node:fs';

// PARITY_DUMP=<dir> writes both normalised views of every scenario there (for diagnosis).
const DUMP = process.env.PARITY_DUMP;
if (DUMP) mkdirSync(DUMP, { recursive: true });

// Scenario pairs running at once (each lane = one context per SDK).
const LANES = 3;
let rig;
before(async () => {
  rig = await startRig({ lanes: LANES });
});
after(async () => {
  await rig?.stop();
});

// PARITY_ONLY=<regex> runs only the matching scenarios.
const ONLY = process.env.PARITY_ONLY ? new RegExp(process.env.PARITY_ONLY) : null;

describe('analytics.js parity', { concurrency: LANES }, () => {
  for (const sc of SCENARIOS.filter((x) => !ONLY || ONLY.test(x.name))) {
    let settle;
    const result = new Promise((r) => (settle = r));
    test(sc.name, sc.todo ? { todo: sc.todo } : {}, async () => {
      let v;
      try {
        v = views(await rig.run(sc), sc, assert);
      } finally {
        settle(v);
      }
      if (DUMP) writeFileSync(`${DUMP}/${SCENARIOS.indexOf(sc) + 1}.json`, JSON.stringify({ name: sc.name, ...v }, null, 1));
      const { ajs, sieve } = v;
      assert.deepEqual(ajs.errors, [], 'analytics.js page errors');
      assert.deepEqual(sieve.errors, [], 'sieve page errors');
      assert.deepEqual(sieve.wire, ajs.wire);
      if (sc.check) sc.check(v, assert);
    });
    if (sc.storage) {
      test(sc.name + ' [storage]', sc.storageTodo ? { todo: sc.storageTodo } : {}, async () => {
        const v = await result;
        assert.ok(v, 'scenario ran');
        assert.deepEqual(v.sieve.storage, v.ajs.storage);
      });
    }
  }
});
