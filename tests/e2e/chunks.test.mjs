// The lazily loaded parts of the shim (js/chunks.js) in headless Chromium: a plain page
// fetches none of them; dist/plugins.js, dist/autotrack.js and dist/querystring.js come
// only with the feature that needs them; calls made while one loads keep their order and
// meaning; a chunk that cannot be loaded gives a warning and an `error` event, never an
// exception; the npm entry finds them next to dist/index.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useRig, eventsOf as waitForEvents, newPage, snippetPage, waitFor, FAST } from './harness.mjs';

let collector, web, browser;
useRig((rig) => ({ collector, web, browser } = rig));

const eventsOf = (writeKey, n) => waitForEvents(collector, writeKey, n);
const CHUNK = /\/dist\/(plugins|autotrack|querystring|segments)\.js$/;

async function open(writeKey, { query = '', head = '', body = '', page = false, before } = {}) {
  const p = await newPage(browser);
  p.chunks = [];
  p.on('request', (r) => CHUNK.test(r.url()) && p.chunks.push(CHUNK.exec(r.url())[1]));
  if (before) await before(p);
  const url = web.page(
    '/' + writeKey + '.html',
    snippetPage({
      snippetOptions: { writeKey, scriptUrl: web.url + '/dist/analytics.min.js', loadOptions: FAST(collector), page },
      head,
      body,
    }),
  );
  await p.goto(url + query);
  await waitFor(() => p.evaluate(() => window.analytics && window.analytics.initialized === true), {
    what: 'initialized',
  });
  return p;
}

// A source middleware that marks what it saw (events are `type`s, tracks their name).
const MARKING = `({ payload, next }) => {
  const e = payload.obj;
  window.seen.push(e.event || e.type);
  e.context.mw = true;
  next(payload);
}`;

test('a plain page fetches no chunk; each feature fetches only its own', async () => {
  const page = await open('chunks-plain', { page: true });
  await page.evaluate(() => analytics.track('Plain').then(() => analytics.ready()));
  await eventsOf('chunks-plain', 2);
  assert.deepEqual(page.chunks, [], 'nothing beyond analytics.min.js and the wasm');
  await page.evaluate(() => analytics.trackLink([], 'Nothing'));
  assert.deepEqual(page.chunks, ['autotrack']);
  await page.evaluate(() =>
    analytics.register({ name: 'Noop', type: 'after', version: '1', isLoaded: () => true, load: () => {} }),
  );
  assert.deepEqual(page.chunks, ['autotrack', 'plugins']);
  await page.context().close();

  const q = await open('chunks-query', { query: '?ajs_event=From%20Query' });
  assert.deepEqual(q.chunks, ['querystring']);
  assert.equal((await eventsOf('chunks-query', 1))[0].event, 'From Query');
  await q.context().close();
});

test('snippet-queued middleware and plugins: replayed calls keep their order while dist/plugins.js loads', async () => {
  const writeKey = 'chunks-snippet';
  const page = await open(writeKey, {
    head: `<script>
      window.seen = [];
      analytics.track('Before');
      analytics.addSourceMiddleware(${MARKING});
      analytics.track('A');
      analytics.identify('u1');
      analytics.track('B');
    </script>`,
  });
  const events = await eventsOf(writeKey, 4);
  assert.deepEqual(
    events.map((e) => e.event || e.type),
    ['Before', 'A', 'identify', 'B'],
  );
  assert.deepEqual(
    events.map((e) => e.context.mw ?? false),
    [false, true, true, true],
    'the middleware sees what was called after it',
  );
  assert.deepEqual(
    events.map((e) => e.userId ?? null),
    [null, null, 'u1', 'u1'],
  );
  assert.deepEqual(await page.evaluate(() => window.seen), ['A', 'identify', 'B']);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('calls made while dist/plugins.js loads (delayed 400 ms) keep their order; a plugin registered after it arrives joins in', async () => {
  const writeKey = 'chunks-delayed';
  const page = await open(writeKey, {
    before: (p) =>
      p.route('**/dist/plugins.js', async (route) => {
        await new Promise((r) => setTimeout(r, 400));
        await route.continue();
      }),
  });
  const out = await page.evaluate(async (marking) => {
    window.seen = [];
    const order = [];
    const mw = (0, eval)('(' + marking + ')');
    const loading = [];
    loading.push(analytics.track('T0').then(() => order.push('T0')));
    loading.push(analytics.addSourceMiddleware(mw).then(() => order.push('mw')));
    loading.push(analytics.track('T1').then(() => order.push('T1')));
    loading.push(analytics.identify('u1').then(() => order.push('identify')));
    loading.push(analytics.track('T2').then(() => order.push('T2')));
    const ready = analytics.ready();
    const syncSeen = window.seen.length; // nothing ran yet: the chunk is still loading
    await Promise.all([...loading, ready]);
    // Registered once the chunk is there: a before plugin on top of the middleware.
    await analytics.register({
      name: 'Stamp',
      type: 'before',
      version: '1',
      isLoaded: () => true,
      load: () => {},
      track(ctx) {
        ctx.updateEvent('properties.stamped', true);
        return ctx;
      },
    });
    await analytics.track('T3');
    analytics.flush();
    return { order, syncSeen, seen: window.seen };
  }, MARKING);
  assert.equal(out.syncSeen, 0);
  assert.deepEqual(out.order, ['T0', 'mw', 'T1', 'identify', 'T2']);
  assert.deepEqual(out.seen, ['T1', 'identify', 'T2', 'T3']);
  const events = await eventsOf(writeKey, 5);
  assert.deepEqual(
    events.map((e) => e.event || e.type),
    ['T0', 'T1', 'identify', 'T2', 'T3'],
  );
  assert.deepEqual(
    events.map((e) => e.context.mw ?? false),
    [false, true, true, true, true],
  );
  assert.deepEqual(
    events.map((e) => e.userId ?? null),
    [null, null, 'u1', 'u1', 'u1'],
  );
  assert.equal(events[4].properties.stamped, true);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('a chunk that cannot be loaded: console warning and `error` event, calls still resolve, events still sent', async () => {
  const writeKey = 'chunks-fail';
  const page = await open(writeKey, {
    before: (p) => p.route(/\/dist\/(plugins|autotrack)\.js$/, (route) => route.abort()),
  });
  const out = await page.evaluate(async () => {
    const errors = [];
    analytics.on('error', (e) => errors.push(e.code + ':' + e.chunk));
    const ctx = await analytics.register({
      name: 'Never',
      type: 'before',
      version: '1',
      isLoaded: () => true,
      load: () => {},
      track(c) {
        c.updateEvent('properties.never', true);
        return c;
      },
    });
    await analytics.addSourceMiddleware(({ next }) => next(null));
    const tracked = await analytics.track('Still Sent');
    const linked = await analytics.trackLink(document.body, 'Never Bound');
    const ready = await analytics.ready();
    analytics.flush();
    return {
      errors,
      registered: typeof ctx.isCancelled,
      cancelled: tracked.isCancelled(),
      linked: linked === analytics,
      ready,
    };
  });
  assert.deepEqual(out, {
    // register and addSourceMiddleware each try (the second use retries the load).
    errors: ['chunk_unavailable:plugins', 'chunk_unavailable:plugins', 'chunk_unavailable:autotrack'],
    registered: 'function',
    cancelled: false,
    linked: true,
    ready: [],
  });
  const events = await eventsOf(writeKey, 1);
  assert.equal(events[0].event, 'Still Sent');
  assert.equal(events[0].properties.never, undefined);
  assert.ok(page.logs.some((l) => l.type === 'warning' && l.text.includes('could not load plugins.js')));
  assert.ok(page.logs.some((l) => l.type === 'warning' && l.text.includes('could not load autotrack.js')));
  assert.deepEqual(page.errors, []);
  await page.context().close();

  // ajs_* on a page whose dist/querystring.js is unreachable: the queued calls still replay.
  const q = await open('chunks-fail-query', {
    query: '?ajs_event=Lost',
    page: true,
    before: (p) => p.route('**/dist/querystring.js', (route) => route.abort()),
  });
  const events2 = await eventsOf('chunks-fail-query', 1);
  assert.deepEqual(
    events2.map((e) => e.type),
    ['page'],
  );
  assert.ok(q.logs.some((l) => l.type === 'warning' && l.text.includes('could not load querystring.js')));
  assert.deepEqual(q.errors, []);
  await q.context().close();
});

test('npm entry: plugins, autotrack and ajs_* chunks are found next to dist/index.js; await analytics waits for plugins registered before load', async () => {
  const writeKey = 'chunks-npm';
  const page = await newPage(browser);
  // plugins.js arrives after autotrack.js: the plugin registered before load must still see
  // the first track() made after `await analytics` (analytics-next awaits buffered registers).
  await page.route('**/dist/plugins.js', async (route) => {
    await new Promise((r) => setTimeout(r, 400));
    await route.continue();
  });
  const url = web.page(
    '/chunks-npm.html',
    `<!doctype html><html><head><title>NPM chunks</title></head><body>
    <a id="link" href="#next">go</a><script type="module">
    import { AnalyticsBrowser } from '/dist/index.js';
    const analytics = new AnalyticsBrowser();
    window.seen = [];
    analytics.register({
      name: 'Seen', type: 'enrichment', version: '1', isLoaded: () => true, load: () => {},
      track(ctx) { window.seen.push(ctx.event.event); return ctx; },
    });
    analytics.load({ writeKey: ${JSON.stringify(writeKey)}, cdnURL: ${JSON.stringify(collector.url)} },
      { integrations: { 'Segment.io': { deliveryStrategy: { config: { timeout: 100 } } } } });
    const [a] = await analytics;
    await a.trackLink(document.getElementById('link'), 'Link Clicked');
    await a.track('Plugged');
    window.done = true;
  </script></body></html>`,
  );
  await page.goto(url + '?ajs_uid=npm-user');
  await waitFor(() => page.evaluate(() => window.done === true), { what: 'npm page done' });
  await page.click('#link');
  const events = await eventsOf(writeKey, 3);
  assert.deepEqual(
    events.map((e) => e.event || e.type),
    ['identify', 'Plugged', 'Link Clicked'],
  );
  assert.equal(events[0].userId, 'npm-user');
  assert.deepEqual(await page.evaluate(() => window.seen), ['Plugged', 'Link Clicked']);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});
