// Device mode (issue 16), differential: the same settings (served by a local fake CDN,
// devicemode/cdn.mjs) and the same calls on a page running analytics-next 1.84.3 and on one
// running Sieve; what each destination received, in order per destination and method, with
// which settings, and what reached the collector (with `_metadata`) must be identical after
// normalising ids and timestamps (parity/normalize.mjs; a classic destination's receipts as a
// multiset, since analytics.js flushes its buffer after a random delay; failedInitializations
// sorted). One scenario per numbered item of the issue.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, startCollector, waitFor } from './harness.mjs';
import { startDocServer } from './parity/server.mjs';
import { startCdn } from './devicemode/cdn.mjs';
import { idMapper, normalizeEvent } from './parity/normalize.mjs';
import { POWER_USER } from './segments/defs.mjs';

const require = createRequire(import.meta.url);
const snippet = require('@segment/snippet');
const END = '__dm_end__';
// How long the collector must get nothing new before a side's events are compared.
const QUIET_MS = 1500;
const BATCH = { strategy: 'batching', config: { size: 100, timeout: 100 } };
const SCRIPTS = {
  ajs: '/node_modules/@segment/analytics-next/dist/umd/standalone.js',
  sieve: '/dist/analytics.min.js',
};

let collector, web, cdn, browser;
before(async () => {
  [collector, web, cdn] = await Promise.all([startCollector(), startDocServer(), startCdn()]);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true });
});
after(async () => {
  await browser?.close();
  await Promise.all([web?.stop(), cdn?.stop(), collector?.stop()]);
});

// A classic integration's CDN entry.
const classic = (extra = {}) => ({
  type: 'browser',
  bundlingStatus: 'bundled',
  versionSettings: { version: '1.0.0', componentTypes: ['browser'] },
  ...extra,
});
const FAKE_ACTIONS = (subscriptions, extra = {}) => ({
  name: 'Fake Actions',
  creationName: 'Fake Actions',
  libraryName: 'fakeActionsDestination',
  url: 'https://cdn.segment.com/next-integrations/actions/fake/fake.js',
  settings: { apiKey: 'act-key', subscriptions },
  ...extra,
});
const SUB_TRACK = {
  partnerAction: 'trackEvent',
  name: 'Track',
  enabled: true,
  subscribe: 'type = "track"',
  mapping: { name: { '@path': '$.event' }, props: { '@path': '$.properties' } },
};
const SUB_IDENTIFY = {
  partnerAction: 'identifyUser',
  name: 'Identify',
  enabled: true,
  subscribe: 'type = "identify"',
  mapping: { userId: { '@path': '$.userId' } },
};

let counter = 0;

/** Serves /dm/page in `context` for `sdk` with `sc`'s settings (on the fake CDN) and load
 * options; resolves to the write key. */
async function preparePage(sdk, sc, context) {
  const writeKey = `dm${++counter}-${sdk}`;
  const side = sdk + counter;
  const { integrations = {}, ...rest } = sc.settings;
  cdn.settings[writeKey] = {
    integrations: {
      'Segment.io': {
        apiKey: writeKey,
        apiHost: collector.host + '/v1',
        protocol: 'http',
        deliveryStrategy: BATCH,
        ...(sc.io || {}),
      },
      ...integrations,
    },
    ...rest,
  };
  Object.assign(cdn.classic, sc.classic || {});
  await context.addCookies([{ name: '__parity_side', value: side, url: web.url, httpOnly: true, sameSite: 'Lax' }]);
  const code = snippet
    .min({ apiKey: writeKey, host: 'cdn.example', ajsPath: '/x/analytics.min.js', load: false, page: false })
    .replace('"https://cdn.example/x/analytics.min.js"', JSON.stringify(web.url + SCRIPTS[sdk]));
  web.docs[side] = `<!doctype html><html><head><meta charset="utf-8"><title>Device Mode</title>
<script>${code}</script><script>analytics._cdn = ${JSON.stringify(cdn.url)};</script></head><body>
<script>${sc.pre || ''}
analytics.load(${JSON.stringify(writeKey)}, ${JSON.stringify(sc.loadOptions || {})});</script></body></html>`;
  return writeKey;
}

/** The events of `writeKey` at the collector. */
async function collected(writeKey) {
  const res = await fetch(`${collector.url}/events?writeKey=${encodeURIComponent(writeKey)}`);
  return (await res.json()).events;
}

/** Runs `sc` on one SDK; resolves to {writeKey, dm (destination receipts), events, errors}. */
async function runSide(sdk, sc) {
  const context = await browser.newContext();
  const errors = [];
  try {
    const writeKey = await preparePage(sdk, sc, context);
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(web.url + '/dm/page');
    await waitFor(
      () =>
        page.evaluate(
          () => window.analytics && window.analytics.initialized === true && !Array.isArray(window.analytics),
        ),
      {
        what: sdk + ' initialized',
        timeout: 20_000,
      },
    );
    await page.evaluate(
      async ({ calls, end }) => {
        await new Function('analytics', 'return (async () => {' + calls + '})()')(window.analytics);
        await window.analytics.track(end);
      },
      { calls: sc.calls || '', end: END },
    );
    // The end marker can arrive before earlier batches (two requests in flight arrive in
    // either order): after it, until the collector has had nothing new for QUIET_MS.
    await waitFor(async () => (await collected(writeKey)).some((r) => r.event.event === END), {
      what: sdk + ' end marker at the collector',
      timeout: 20_000,
    });
    let seen = -1;
    let all;
    for (let quietSince = Date.now(); Date.now() - quietSince < QUIET_MS; await page.waitForTimeout(250)) {
      all = await collected(writeKey);
      if (all.length !== seen) [seen, quietSince] = [all.length, Date.now()];
    }
    // In send order: by the request's sentAt, then by position (two batches can be in flight
    // at once, and arrive in either order), as the parity rig orders them.
    const events = all
      .map((r, i) => [Date.parse(r.sentAt) || 0, i, r.event])
      .sort((x, y) => x[0] - y[0] || x[1] - y[1])
      .map((x) => x[2]);
    // Classic destinations flush their buffers after a random 0-5 s delay (analytics.js).
    const expect = sc.expectEnd || [];
    await waitFor(
      () =>
        page.evaluate(
          ({ expect, end }) =>
            expect.every((d) =>
              (window.__dm || []).some(
                (r) => r[0] === d && r[2] && (r[2].name === end || (r[2].obj && r[2].obj.event === end)),
              ),
            ),
          { expect, end: END },
        ),
      { what: sdk + ' end marker at ' + expect.join(', '), timeout: 20_000 },
    ).catch(() => {});
    // Then until nothing more arrives for a while (buffers flush up to ~5 s after ready).
    let last = -1;
    for (let i = 0; i < 40; i++) {
      const n = await page.evaluate(() => (window.__dm || []).length);
      if (n === last) break;
      last = n;
      await page.waitForTimeout(sc.settle ?? 1500);
    }
    const dm = await page.evaluate(() => window.__dm || []);
    const requests = [...cdn.requests];
    return { writeKey, dm, events, errors, requests };
  } finally {
    await context.close();
  }
}

/** Comparable views: API events and destination receipts, ids and times normalised. */
function view(side) {
  const walk = idMapper(side.writeKey);
  const t0 = Date.now();
  const api = side.events.map((e) => {
    const n = normalizeEvent(e, t0);
    // Failures are listed as they happen: two at once come in either order in either SDK.
    n._metadata?.failedInitializations?.sort();
    return n;
  });
  const norm = (p) => {
    if (!p || typeof p !== 'object') return p;
    const out = structuredClone(p);
    if (out.obj) out.obj = normalizeEvent(out.obj, t0);
    // Known difference (README): Sieve's alias events carry the API's previousId fallback
    // (the stored user id) to destinations too; analytics.js adds it for the API only.
    if (out.obj && out.obj.type === 'alias') delete out.obj.previousId;
    return out;
  };
  const byDestination = {};
  for (const [d, method, payload] of side.dm)
    (byDestination[d] ||= {})[method] = [...((byDestination[d] || {})[method] || []), norm(payload)];
  return walk({ api, destinations: byDestination });
}

async function differential(sc) {
  const [ajs, sieve] = await Promise.all([runSide('ajs', sc), runSide('sieve', sc)]);
  assert.deepEqual(ajs.errors, [], 'analytics.js page errors');
  assert.deepEqual(sieve.errors, [], 'sieve page errors');
  const [a, s] = [view(ajs), view(sieve)];
  if (process.env.DM_DUMP) {
    const { writeFileSync } = await import('node:fs');
    const n = SCENARIOS.indexOf(sc) + 1;
    writeFileSync(`${process.env.DM_DUMP}/${n}-ajs.json`, JSON.stringify(a, null, 1));
    writeFileSync(`${process.env.DM_DUMP}/${n}-sieve.json`, JSON.stringify(s, null, 1));
  }
  assert.deepEqual(s.destinations, a.destinations, 'what each destination received');
  assert.deepEqual(s.api, a.api, 'what reached the collector');
  if (sc.check) sc.check({ ajs: a, sieve: s, raw: { ajs, sieve } });
  return { ajs: a, sieve: s };
}

const SCENARIOS = [
  {
    name: '1. classic destinations: which load, script URL and version rules, merged settings, buffering until ready, Facade with dates',
    settings: {
      integrations: {
        'Classic One': classic({ apiKey: 'one', bundlingStatus: 'bundled' }),
        'Fake.Classic  Two': classic({
          apiKey: 'two',
          versionSettings: { version: '1.0.0', override: '2.0.0', componentTypes: [] },
          type: 'browser',
        }),
        'Cloud Only': { type: 'server', bundlingStatus: 'unbundled' },
        'Not Browser': { versionSettings: { componentTypes: ['server'] } },
        'Disabled By Init': classic(),
      },
    },
    classic: { 'classic-one': { readyMs: 400 }, 'fakeclassic-two': { version: '2.0.0', readyMs: 100 } },
    loadOptions: {
      integrations: { 'Classic One': { extra: 'from init', apiKey: 'init-one' }, 'Disabled By Init': false },
    },
    calls: `await analytics.page('Home');
      await analytics.identify('user-1', { email: 'a@b.c' });
      await analytics.track('Clicked', { at: '2024-01-02T03:04:05.000Z' });
      await analytics.group('g1');
      await analytics.alias('user-2');`,
    expectEnd: ['classic-one', 'fakeclassic-two'],
  },
  {
    name: '2. Actions destinations: remotePlugins loaded from the CDN, subscriptions and mappings by the real runtime',
    settings: { remotePlugins: [FAKE_ACTIONS([SUB_TRACK, SUB_IDENTIFY])] },
    calls: `await analytics.identify('u-9');
      await analytics.track('Bought', { price: 5 });
      await analytics.page();`,
    expectEnd: ['Fake Actions'],
  },
  {
    name: '3. per-event routing: load-time and per-call integrations, All:false, creation name vs name',
    settings: {
      integrations: {
        'Classic One': classic(),
        'Fake.Classic  Two': classic({ versionSettings: { version: '1.0.0' } }),
      },
      remotePlugins: [FAKE_ACTIONS([SUB_TRACK])],
    },
    classic: { 'classic-one': { readyMs: 50 }, 'fakeclassic-two': { version: '1.0.0', readyMs: 50 } },
    calls: `await analytics.ready();
      await analytics.track('ToAll');
      await analytics.track('NotOne', {}, { integrations: { 'Classic One': false } });
      await analytics.track('OnlyTwo', {}, { integrations: { All: false, 'Fake.Classic  Two': true } });
      await analytics.track('NoActionsByCreationName', {}, { integrations: { 'Fake Actions': false } });
      await analytics.track('NoActionsByActionName', {}, { integrations: { 'Fake Actions trackEvent': false } });
      await analytics.track('CloudOnly', {}, { integrations: { All: false, 'Segment.io': true } });`,
    expectEnd: ['classic-one', 'fakeclassic-two', 'Fake Actions'],
  },
  {
    name: '4. routing rules: drop, drop_properties, allow_properties, map_properties, sample_event per destination',
    settings: {
      integrations: { 'Classic One': classic() },
      remotePlugins: [FAKE_ACTIONS([SUB_TRACK])],
      middlewareSettings: {
        routingRules: [
          {
            destinationName: 'Classic One',
            matchers: [{ type: 'fql', ir: '["=","event",{"value":"Secret"}]' }],
            transformers: [[{ type: 'drop' }]],
          },
          {
            destinationName: 'Classic One',
            matchers: [{ type: 'fql', ir: '["contains","event",{"value":"Order"}]' }],
            transformers: [
              [
                { type: 'drop_properties', config: { drop: { properties: ['email'] } } },
                {
                  type: 'map_properties',
                  config: { map: { 'properties.total': { copy: 'properties.price', to_string: true } } },
                },
              ],
            ],
          },
          {
            destinationName: 'Fake Actions',
            matchers: [
              { type: 'all', ir: '' },
              { type: 'fql', ir: '["=","event",{"value":"Sampled"}]' },
            ],
            transformers: [
              [{ type: 'allow_properties', config: { allow: { properties: ['price', 'keep'] } } }],
              [{ type: 'sample_event', config: { sample: { percent: 0, path: '' } } }],
            ],
          },
        ],
      },
    },
    classic: { 'classic-one': { readyMs: 50 } },
    calls: `await analytics.ready();
      await analytics.track('Secret', { a: 1 });
      await analytics.track('Order Completed', { email: 'x@y.z', price: 12.5, keep: true, other: 1 });
      await analytics.track('Sampled', { price: 1 });`,
    expectEnd: ['classic-one', 'Fake Actions'],
  },
  {
    name: '5. tracking plan: blocked events reach only the API, per-destination flags, Actions per subscription',
    settings: {
      integrations: {
        'Classic One': classic(),
        'Fake.Classic  Two': classic({ versionSettings: { version: '1.0.0' } }),
      },
      remotePlugins: [FAKE_ACTIONS([SUB_TRACK])],
      plan: {
        track: {
          __default: { enabled: true, integrations: {} },
          Blocked: { enabled: false, integrations: {} },
          NotForOne: { enabled: true, integrations: { 'Classic One': false } },
          NotForActions: { enabled: true, integrations: { 'Fake Actions': false } },
        },
      },
    },
    classic: { 'classic-one': { readyMs: 50 }, 'fakeclassic-two': { version: '1.0.0', readyMs: 50 } },
    calls: `await analytics.ready();
      await analytics.track('Blocked');
      await analytics.track('NotForOne');
      await analytics.track('NotForActions');
      await analytics.track('Unplanned');`,
    expectEnd: ['classic-one', 'fakeclassic-two', 'Fake Actions'],
  },
  {
    name: '6. _metadata: bundled, unbundled, bundledIds and failedInitializations on API events',
    settings: {
      integrations: {
        'Classic One': classic({ bundlingStatus: 'bundled' }),
        Missing: classic({ bundlingStatus: 'bundled' }),
        Amplitude: { type: 'server', bundlingStatus: 'unbundled' },
      },
    },
    io: {
      unbundledIntegrations: ['Cloud X'],
      maybeBundledConfigIds: { 'Classic One': ['cfg-1'], 'Segment.io': ['cfg-s'] },
    },
    classic: { 'classic-one': { readyMs: 50 }, missing: { behaviour: 'missing' } },
    // The failure is reported once the 404 is known: events after it carry it.
    calls: `await new Promise((r) => setTimeout(r, 1500));
      await analytics.track('AfterFailure');`,
    expectEnd: ['classic-one'],
    check: ({ sieve }) => {
      const meta = sieve.api.find((e) => e.event === 'AfterFailure')._metadata;
      assert.deepEqual(meta, {
        failedInitializations: ['Missing'],
        bundled: ['Classic One', 'Missing', 'Segment.io'],
        unbundled: ['Amplitude', 'Cloud X'],
        bundledIds: ['cfg-1', 'cfg-s'],
      });
    },
  },
  {
    name: '7. remote middleware from the CDN changes what the API and the destinations get',
    settings: {
      integrations: { 'Classic One': classic() },
      enabledMiddleware: { '@segment/tagger': true, '@segment/off': false },
    },
    classic: { 'classic-one': { readyMs: 50 } },
    calls: `await analytics.ready();
      await analytics.track('Tagged', { a: 1 });`,
    expectEnd: ['classic-one'],
    check: ({ sieve }) =>
      assert.equal(sieve.api.find((e) => e.event === 'Tagged').properties.remoteMiddleware, 'tagger'),
  },
  {
    name: '8. failures: a 404, a throwing initialize, a ready that never comes, a missing Actions script do not stop the others or delivery',
    settings: {
      integrations: {
        'Classic One': classic(),
        Gone: classic(),
        Thrower: classic(),
        Sleeper: classic(),
      },
      remotePlugins: [
        FAKE_ACTIONS([SUB_TRACK], {
          url: 'https://cdn.segment.com/next-integrations/actions/fake/missing.js',
          name: 'Broken Actions',
          creationName: 'Broken Actions',
          libraryName: 'nothingHere',
        }),
      ],
    },
    classic: {
      'classic-one': { readyMs: 50 },
      gone: { behaviour: 'missing' },
      thrower: { behaviour: 'throw' },
      sleeper: { behaviour: 'never' },
    },
    calls: `await new Promise((r) => setTimeout(r, 1000));
      await analytics.track('StillWorks');`,
    expectEnd: ['classic-one'],
  },
];

describe('device mode, differential against analytics-next', { concurrency: 2 }, () => {
  for (const sc of SCENARIOS) test(sc.name, () => differential(sc));
});

// What device mode costs a page that does not use it, and what happens to the events that
// wait for it (issue 16: held events are released by `pagehide` and after 10 s).
describe('device mode: loading and holding', { concurrency: 1 }, () => {
  /** Opens a Sieve page with `sc`; `stall` (URL glob) requests never get an answer. */
  async function openSieve(sc, stall) {
    const context = await browser.newContext();
    const writeKey = await preparePage('sieve', sc, context);
    const page = await context.newPage();
    const fetched = [];
    page.on('request', (r) => fetched.push(new URL(r.url()).pathname));
    if (stall) await page.route(stall, () => {});
    await page.goto(web.url + '/dm/page');
    await waitFor(() => page.evaluate(() => window.analytics && window.analytics.initialized === true), {
      what: 'sieve initialized',
    });
    return { context, page, writeKey, fetched };
  }
  const PART = ['/dist/destinations.js', '/dist/sieve_destinations_bg.wasm'];
  const RULES = ['/dist/destinations.js', '/dist/sieve_destinations_rules_bg.wasm'];
  const RULE = { destinationName: 'Classic One', matchers: [{ type: 'all', ir: '' }], transformers: [[]] };
  const tracked = async (writeKey, names) =>
    (await collected(writeKey)).filter((r) => names.includes(r.event.event)).map((r) => r.event);

  test('a plain page fetches neither destinations.js nor its wasm; a device-mode page fetches both (the rules build with routing rules)', async () => {
    for (const [settings, io, want] of [
      [{}, {}, []],
      [{}, { unbundledIntegrations: [], maybeBundledConfigIds: {} }, []],
      [{ integrations: { 'Classic One': classic() } }, {}, PART],
      [{}, { unbundledIntegrations: ['Amplitude'] }, PART],
      [{ integrations: { 'Classic One': classic() }, middlewareSettings: { routingRules: [RULE] } }, {}, RULES],
    ]) {
      const { context, page, writeKey, fetched } = await openSieve({ settings, io, classic: { 'classic-one': {} } });
      try {
        await page.evaluate(() => window.analytics.track('Plain'));
        const [event] = await waitFor(() => tracked(writeKey, ['Plain']).then((e) => e.length && e), {
          what: 'the event at the collector',
        });
        await page.waitForTimeout(300);
        assert.deepEqual(
          [...new Set([...PART, ...RULES])].filter((p) => fetched.includes(p)),
          want,
          JSON.stringify({ settings, io }) + ': ' + fetched.join(' '),
        );
        if (!want.length) assert.deepEqual(event._metadata, { bundled: ['Segment.io'], unbundled: [], bundledIds: [] });
        else if (io.unbundledIntegrations)
          assert.deepEqual(event._metadata, { bundled: ['Segment.io'], unbundled: ['Amplitude'], bundledIds: [] });
      } finally {
        await context.close();
      }
    }
  });

  // An Actions destination whose script never arrives holds events (analytics-next waits for
  // it too); the device-mode part itself is in, so the lists are known.
  const STALLED_ACTIONS = { settings: { remotePlugins: [FAKE_ACTIONS([SUB_TRACK])] } };

  test('pagehide releases held events: they reach the collector', async () => {
    for (const [what, stall] of [
      ['an Actions script that never arrives', '**/next-integrations/actions/**'],
      ['the device-mode part that never arrives', '**/dist/destinations.js'],
    ]) {
      const { context, page, writeKey } = await openSieve(STALLED_ACTIONS, stall);
      try {
        await page.evaluate(() => {
          window.analytics.track('Held 1');
          window.analytics.track('Held 2');
        });
        await page.waitForTimeout(1000);
        assert.deepEqual(await tracked(writeKey, ['Held 1', 'Held 2']), [], what + ': held while loading');
        await page.goto('about:blank'); // pagehide
        const events = await waitFor(() => tracked(writeKey, ['Held 1', 'Held 2']).then((e) => e.length === 2 && e), {
          what: what + ': held events at the collector after pagehide',
        });
        if (stall.includes('actions'))
          assert.deepEqual(events[0]._metadata, { bundled: ['Segment.io'], unbundled: [], bundledIds: [] });
        else assert.equal(events[0]._metadata, undefined, what + ': no lists without the part (README)');
      } finally {
        await context.close();
      }
    }
  });

  test('held events leave after 10 s when device mode never finishes loading', async () => {
    const { context, page, writeKey } = await openSieve(STALLED_ACTIONS, '**/dist/destinations.js');
    try {
      const start = Date.now();
      await page.evaluate(() => {
        window.analytics.track('Held'); // its promise waits for the release
      });
      await page.waitForTimeout(8000);
      assert.deepEqual(await tracked(writeKey, ['Held']), [], 'still held before 10 s');
      await waitFor(() => tracked(writeKey, ['Held']).then((e) => e.length === 1), {
        what: 'the held event at the collector',
        timeout: 10_000,
      });
      assert.ok(Date.now() - start >= 10_000, 'not before 10 s');
      // It still works: a later call is not held.
      await page.evaluate(() => window.analytics.track('Later'));
      await waitFor(() => tracked(writeKey, ['Later']).then((e) => e.length === 1), { what: 'a later event' });
    } finally {
      await context.close();
    }
  });
});

// Beyond analytics.js (issue 16): an Actions destination's trigger on a segment the page
// computes (`segments.stampContext`), through the real @segment/browser-destination-runtime.
test('an Actions trigger on an in-browser segment: context.segments.power_user = true', async () => {
  const sub = (name, subscribe, mapping) => ({ partnerAction: 'trackEvent', name, enabled: true, subscribe, mapping });
  const sc = {
    settings: {
      remotePlugins: [
        FAKE_ACTIONS([
          sub('Power users', 'type = "track" and context.segments.power_user = true', {
            name: { '@path': '$.event' },
            segments: { '@path': '$.context.segments' },
          }),
          sub('Everyone else', 'type = "track" and context.segments.power_user = false', {
            props: { '@path': '$.properties' },
          }),
        ]),
      ],
    },
    loadOptions: {
      segments: { definitions: [{ ...POWER_USER, outputs: { track: false, identify: false } }], stampContext: true },
    },
  };
  const context = await browser.newContext();
  try {
    const writeKey = await preparePage('sieve', sc, context);
    const page = await context.newPage();
    await page.goto(web.url + '/dm/page');
    await waitFor(() => page.evaluate(() => window.analytics && window.analytics.initialized === true), {
      what: 'sieve initialized',
    });
    await page.evaluate(async () => {
      const a = window.analytics;
      await a.segments.ready();
      await a.track('Before', { n: 0 });
      for (let n = 1; n <= 3; n++) await a.track('Core Feature Used', { n });
      await a.track('After', { n: 4 });
    });
    const receipts = () =>
      page.evaluate(() => (window.__dm || []).filter((x) => x[1] === 'trackEvent').map((x) => x[2]));
    await waitFor(() => receipts().then((r) => r.some((p) => p.name === 'After')), {
      what: "'After' at the destination",
    });
    await page.waitForTimeout(500);
    // Only 'After' fired a subscription: the third 'Core Feature Used' is what makes a power
    // user, and before it power_user was unknown (strict coverage: a week of history is not
    // there), so absent from context.segments, which `= false` does not match either.
    assert.deepEqual(await receipts(), [{ name: 'After', segments: { power_user: true } }]);
    const api = await waitFor(() => collected(writeKey).then((e) => e.length >= 5 && e), { what: 'API events' });
    assert.deepEqual(
      api.map((r) => [r.event.event, r.event.context.segments]),
      [
        ['Before', {}],
        ['Core Feature Used', {}],
        ['Core Feature Used', {}],
        ['Core Feature Used', {}],
        ['After', { power_user: true }],
      ],
    );
  } finally {
    await context.close();
  }
});
