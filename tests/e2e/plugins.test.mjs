// Page plugins and middleware in headless Chromium against the real collector: before plugins
// edit and cancel, enrichment failures are isolated, destinations get events (filtered by
// integrations, with destination middleware) without being able to break delivery, source
// middleware next() semantics, and ready() despite a failing destination.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useRig, newPage, snippetPage, waitFor, FAST } from './harness.mjs';

let collector, web, browser;
useRig((rig) => ({ collector, web, browser } = rig));

async function loaded(writeKey) {
  const page = await newPage(browser);
  const url = web.page(
    '/' + writeKey + '.html',
    snippetPage({
      snippetOptions: {
        writeKey,
        scriptUrl: web.url + '/dist/analytics.min.js',
        loadOptions: FAST(collector),
        page: false,
      },
    }),
  );
  await page.goto(url);
  await waitFor(() => page.evaluate(() => window.analytics && window.analytics.initialized === true), {
    what: 'initialized',
  });
  return page;
}

test('plugins: before edits and cancels, enrichment is isolated, destinations and after see queued events', async () => {
  const writeKey = 'plugins';
  const page = await loaded(writeKey);
  const out = await page.evaluate(async () => {
    const seen = { dest: [], broken: 0, after: [] };
    await analytics.register(
      {
        name: 'Stamp',
        type: 'before',
        version: '1',
        isLoaded: () => true,
        load: async () => {},
        track(ctx) {
          if (ctx.event.event === 'Secret') ctx.cancel();
          ctx.updateEvent('properties.stamped', true);
          return ctx;
        },
      },
      {
        name: 'Broken Enrichment',
        type: 'enrichment',
        version: '1',
        isLoaded: () => true,
        load: async () => {},
        track() {
          throw new Error('enrichment boom');
        },
      },
      {
        name: 'Context Enrichment',
        type: 'enrichment',
        version: '1',
        isLoaded: () => true,
        load: async () => {},
        track(ctx) {
          ctx.event.context.enriched = 'yes';
          return ctx;
        },
      },
      {
        name: 'Vendor',
        type: 'destination',
        version: '1',
        isLoaded: () => true,
        load: async () => {},
        track(ctx) {
          seen.dest.push(
            ctx.event.event + ':' + ctx.event.properties.stamped + ':' + (ctx.event.properties.masked ?? '-'),
          );
          return ctx;
        },
      },
      {
        name: 'Throwing Vendor',
        type: 'destination',
        version: '1',
        isLoaded: () => true,
        load: async () => {},
        track() {
          seen.broken++;
          throw new Error('vendor boom');
        },
      },
      {
        name: 'Failing Load',
        type: 'destination',
        version: '1',
        isLoaded: () => false,
        load: async () => {
          throw new Error('blocked');
        },
        track() {
          seen.dest.push('never');
        },
      },
      {
        name: 'Audit',
        type: 'after',
        version: '1',
        isLoaded: () => true,
        load: async () => {},
        track(ctx) {
          seen.after.push(ctx.event.event);
          return ctx;
        },
      },
    );
    await analytics.addDestinationMiddleware('vendor', ({ payload, next }) => {
      payload.obj.properties.masked = 'x';
      next(payload);
    });
    const ready = await Promise.race([
      analytics.ready().then(() => 'ready'),
      new Promise((r) => setTimeout(() => r('hung'), 2000)),
    ]);
    const results = [];
    for (const [name, opts] of [
      ['Shown', undefined],
      ['Secret', undefined],
      ['Not For Vendor', { integrations: { Vendor: false } }],
    ]) {
      const ctx = await analytics.track(name, { n: 1 }, opts);
      results.push(name + ':' + ctx.isCancelled());
    }
    analytics.flush();
    return { seen, ready, results };
  });
  assert.equal(out.ready, 'ready', 'ready() resolves although a destination failed to load');
  assert.deepEqual(out.results, ['Shown:false', 'Secret:true', 'Not For Vendor:false']);
  assert.deepEqual(
    out.seen.dest,
    ['Shown:true:x'],
    'destination middleware masked only the vendor copy; Vendor:false skipped it',
  );
  assert.equal(out.seen.broken, 2, 'a throwing destination sees events and breaks nothing');
  assert.deepEqual(out.seen.after, ['Shown', 'Not For Vendor']);
  const events = await waitFor(
    async () => {
      const e = await collector.events(writeKey);
      return e.length >= 2 && e;
    },
    { what: '2 events' },
  );
  assert.deepEqual(
    events.map((e) => e.event),
    ['Shown', 'Not For Vendor'],
  );
  assert.equal(events[0].properties.stamped, true, 'before plugin edits reach the API');
  assert.equal(events[0].properties.masked, undefined, 'destination middleware does not touch the API copy');
  assert.equal(events[0].context.enriched, 'yes');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('source middleware: modify, next(null) keeps the event, no next() drops it', async () => {
  const writeKey = 'source-mw';
  const page = await loaded(writeKey);
  await page.evaluate(async () => {
    await analytics.addSourceMiddleware(({ payload, next }) => {
      const name = payload.obj.event;
      if (name === 'Drop') return; // never calls next
      if (name === 'Keep') return next(null);
      payload.obj.properties.viaMiddleware = true;
      next(payload);
    });
    await analytics.track('Modify', { a: 1 });
    await analytics.track('Keep', { b: 2 });
    await analytics.track('Drop', { c: 3 });
    await analytics.track('After', { d: 4 });
    analytics.flush();
  });
  const events = await waitFor(
    async () => {
      const e = await collector.events(writeKey);
      return e.length >= 3 && e;
    },
    { what: '3 events' },
  );
  await new Promise((r) => setTimeout(r, 300));
  const all = await collector.events(writeKey);
  assert.deepEqual(
    all.map((e) => e.event),
    ['Modify', 'Keep', 'After'],
  );
  assert.deepEqual(events[0].properties, { a: 1, viaMiddleware: true });
  assert.deepEqual(events[1].properties, { b: 2 });
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('misbehaving plugins and middleware never disable the SDK: each event is sent, cleaned, or dropped with a warning', async () => {
  const plugin = (type, track, extra = '') =>
    `analytics.register({ name: 'p', type: '${type}', version: '1', isLoaded: () => true, load: () => Promise.resolve(), track: ${track} ${extra} })`;
  // [what the page does, the events that arrive] (a before plugin that throws or returns no
  // context cancels the event, as in analytics.js; an event that is no longer an object is
  // refused; values JSON cannot carry are cleaned, as for call arguments)
  const cases = [
    [plugin('before', '() => { throw new Error("boom"); }'), []],
    [plugin('before', '() => 5'), []],
    [plugin('enrichment', '(ctx) => { ctx.event = 5; return ctx; }'), []],
    [plugin('enrichment', '(ctx) => { ctx.event = undefined; return ctx; }'), []],
    [plugin('enrichment', '(ctx) => { ctx.event.properties.self = ctx.event; return ctx; }'), ['T1', 'T2']],
    [plugin('enrichment', '(ctx) => { ctx.event.properties.n = 10n; return ctx; }'), ['T1', 'T2']],
    [plugin('destination', '() => { throw new Error("d"); }'), ['T1', 'T2']],
    [plugin('after', '() => { throw new Error("a"); }'), ['T1', 'T2']],
    ['analytics.addSourceMiddleware(({ next }) => next(5))', []],
    [
      'analytics.addSourceMiddleware(({ payload, next }) => { payload.obj.properties.n = 10n; next(payload); })',
      ['T1', 'T2'],
    ],
    ["analytics.addSourceMiddleware(() => { throw new Error('mw'); })", []],
  ];
  for (const [i, [setup, want]] of cases.entries()) {
    const writeKey = 'misbehaving-' + i;
    const page = await loaded(writeKey);
    const out = await page.evaluate(async (setup) => {
      await eval(setup);
      const settle = (p) =>
        p.then(
          () => 'resolved',
          (e) => 'rejected: ' + e.message,
        );
      const r = [await settle(analytics.track('T1', { a: 1 })), await settle(analytics.track('T2'))];
      analytics.flush();
      return [...r, analytics._broken];
    }, setup);
    assert.deepEqual(out, ['resolved', 'resolved', false], setup);
    // What should arrive, or (nothing should) a wait past the 100 ms batch timeout.
    if (want.length)
      await waitFor(async () => (await collector.events(writeKey)).length >= want.length, { what: setup });
    else await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual((await collector.events(writeKey)).map((e) => e.event).sort(), want, setup);
    if (!want.length && !setup.includes('before') && !setup.includes('throw')) {
      assert.ok(
        page.logs.some((l) => l.type === 'warning' && l.text.includes('invalid event')),
        setup + ': a warning says why',
      );
    }
    assert.deepEqual(page.errors, [], setup);
    await page.context().close();
  }
});
