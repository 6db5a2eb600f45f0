// Bad input never breaks the host page; loading problems are reported, never thrown; the
// npm entry and the wasm MIME-type fallback work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useRig, eventsOf as waitForEvents, startStatic, newPage, snippetPage, waitFor, FAST } from './harness.mjs';

let collector, web, browser;
useRig((rig) => ({ collector, web, browser } = rig));

async function loadSnippetPage(writeKey, extra = {}) {
  const page = await newPage(browser);
  const url = web.page('/' + writeKey + '.html', snippetPage({
    snippetOptions: { writeKey, scriptUrl: web.url + '/dist/analytics.min.js', loadOptions: FAST(collector), page: false, ...extra },
  }));
  await page.goto(url);
  await waitFor(() => page.evaluate(() => window.analytics && window.analytics.initialized === true), { what: 'initialized' });
  return page;
}

const eventsOf = (writeKey, n) => waitForEvents(collector, writeKey, n);

test('bad calls after load warn, emit error, reject without throwing, and later calls work', async () => {
  const writeKey = 'bad-input';
  const page = await loadSnippetPage(writeKey);
  const result = await page.evaluate(async () => {
    const errors = [];
    analytics.on('error', (e) => errors.push(e.code + ':' + (e.reason && e.reason.message)));
    const outcomes = [];
    const attempt = async (label, fn) => {
      try {
        const p = fn();
        try {
          await p;
          outcomes.push(label + ':resolved');
        } catch (err) {
          outcomes.push(label + ':rejected:' + err.message);
        }
      } catch (err) {
        outcomes.push(label + ':THREW:' + err.message);
      }
    };
    const circular = { a: 1 };
    circular.self = circular;
    await attempt('missing', () => analytics.track());
    await attempt('number', () => analytics.track(42));
    await attempt('circular', () => analytics.track('Circular', circular));
    await attempt('bigint', () => analytics.track('Big', { n: 10n }));
    await attempt('dom', () => analytics.track('Dom', { el: document.body, fn() {} }));
    await attempt('throwing getter', () => analytics.track('Getter', { get boom() { throw new Error('boom'); } }));
    await attempt('toJSON', () => analytics.track('ToJSON', { toJSON: () => 5 }));
    await attempt('after', () => analytics.track('After', { ok: true }));
    analytics.flush();
    return { errors, outcomes };
  });
  assert.deepEqual(result.outcomes, [
    'missing:rejected:Event missing',
    'number:rejected:Event missing',
    'circular:resolved',
    'bigint:resolved',
    'dom:resolved',
    'throwing getter:rejected:track(): arguments cannot be serialized; the call was dropped',
    'toJSON:resolved',
    'after:resolved',
  ]);
  assert.equal(result.errors.filter((e) => e.startsWith('invalid_call:Event missing')).length, 2);
  // circular, bigint, dom+function, throwing getter
  assert.equal(result.errors.filter((e) => e.startsWith('invalid_payload')).length, 4);
  const events = await eventsOf(writeKey, 5);
  const byName = Object.fromEntries(events.map((e) => [e.event, e]));
  assert.deepEqual(byName.Circular.properties, { a: 1, self: '[Circular]' });
  assert.deepEqual(byName.Big.properties, { n: '10' });
  assert.deepEqual(byName.Dom.properties, { el: '[BODY]' }, 'DOM node marked, function dropped');
  assert.deepEqual(byName.ToJSON.properties, {}, 'properties whose toJSON is not an object resolve to {} (the collector would refuse 5)');
  assert.deepEqual(byName.After.properties, { ok: true });
  assert.ok(page.logs.some((l) => l.type === 'warning' && l.text.includes('Event missing')));
  assert.deepEqual(page.errors, [], 'nothing uncaught');
  await page.context().close();
});

test('a burst of calls past the queue bound: one warning and one error event with the count, not one per call', async () => {
  const writeKey = 'queue-burst';
  const page = await loadSnippetPage(writeKey);
  const result = await page.evaluate(async () => {
    const errors = [];
    analytics.on('error', (e) => errors.push({ code: e.code, count: e.count }));
    // 3000 events or 2 MB waiting is the bound (docs/delivery.md; with a browser's context an
    // event is ~700 bytes, so bytes bind first); requests start only after this task.
    const calls = 3007;
    for (let i = 0; i < calls; i++) analytics.track('Burst', { i });
    const queued = Number(analytics._w.get(5));
    await new Promise((r) => setTimeout(r, 300));
    return { errors: errors.filter((e) => e.code === 'queue_full'), dropped: calls - queued };
  });
  assert.ok(result.dropped > 0, 'the burst went past the bound');
  assert.deepEqual(result.errors, [{ code: 'queue_full', count: result.dropped }]);
  const warnings = page.logs.filter((l) => l.type === 'warning' && l.text.includes('queue is full'));
  assert.equal(warnings.length, 1, JSON.stringify(warnings));
  assert.ok(warnings[0].text.endsWith('(' + result.dropped + ' events)'), warnings[0].text);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('user().id(value) sets and clears the id without an event; a new user gets a new anonymousId', async () => {
  const page = await loadSnippetPage('user-id');
  const out = await page.evaluate(() => {
    const a0 = analytics.user().anonymousId();
    const set = analytics.user().id('first');
    const a1 = analytics.user().anonymousId();
    analytics.user().id('second');
    const a2 = analytics.user().anonymousId();
    const cleared = analytics.user().id(null);
    return { set, same: a0 === a1, changed: a1 !== a2 && a2.length === 36, cleared, ls: localStorage.getItem('ajs_user_id') };
  });
  assert.deepEqual(out, { set: 'first', same: true, changed: true, cleared: null, ls: 'null' });
  assert.equal((await collector.events('user-id')).length, 0, 'no event sent');
  await page.context().close();
});

test('a missing write key is a console error, not an exception', async () => {
  const page = await newPage(browser);
  const url = web.page('/nokey.html', `<!doctype html><html><head><script>window.analytics = []; analytics.push(['track', 'x']);</script>
    <script src="${web.url}/dist/analytics.min.js"></script></head><body></body></html>`);
  await page.goto(url);
  await waitFor(() => page.logs.some((l) => l.type === 'error' && l.text.includes('no write key')), { what: 'console error' });
  assert.deepEqual(page.errors, []);
  assert.equal(await page.evaluate(() => Array.isArray(window.analytics)), true, 'the stub stays in place');
  await page.context().close();
});

test('unreachable settings: console error, defaults from load options, events still delivered', async () => {
  const writeKey = 'no-settings';
  const page = await newPage(browser);
  const url = web.page('/nosettings.html', snippetPage({
    snippetOptions: {
      writeKey,
      scriptUrl: web.url + '/dist/analytics.min.js',
      loadOptions: {
        cdnURL: 'http://127.0.0.1:9', // nothing listens there
        integrations: { 'Segment.io': { apiHost: collector.host + '/v1', protocol: 'http', deliveryStrategy: { config: { timeout: 100 } } } },
      },
    },
  }));
  await page.goto(url);
  await waitFor(() => page.evaluate(() => window.analytics && window.analytics.initialized === true), { what: 'initialized' });
  assert.ok(page.logs.some((l) => l.type === 'error' && l.text.includes('could not load settings')));
  const events = await eventsOf(writeKey, 1);
  assert.equal(events[0].type, 'page');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('the npm ESM entry buffers calls before load and delivers them', async () => {
  const writeKey = 'npm-entry';
  const page = await newPage(browser);
  const url = web.page('/npm.html', `<!doctype html><html><head><title>NPM</title></head><body><script type="module">
    import { AnalyticsBrowser } from '/dist/index.js';
    const analytics = new AnalyticsBrowser();
    window.results = [];
    analytics.track('Before Load', { n: 1 }).then((ctx) => window.results.push('track:' + ctx.event.event));
    analytics.identify('npm-user', { a: 1 });
    analytics.load({ writeKey, cdnURL: ${JSON.stringify(collector.url)} }, { integrations: { 'Segment.io': { deliveryStrategy: { config: { timeout: 100 } } } } });
    const [instance] = await analytics;
    window.results.push('loaded:' + instance.initialized);
    await analytics.track('After Load');
    window.results.push('user:' + (await analytics.user()).id());
  </script></body></html>`.replace('writeKey, cdnURL', JSON.stringify(writeKey).replace(/^/, 'writeKey: ') + ', cdnURL'));
  await page.goto(url);
  await waitFor(() => page.evaluate(() => window.results && window.results.length === 3), { what: 'results' });
  assert.deepEqual((await page.evaluate(() => window.results)).sort(), ['loaded:true', 'track:Before Load', 'user:npm-user']);
  const events = await eventsOf(writeKey, 3);
  assert.deepEqual(events.map((e) => e.type + ':' + (e.event || e.userId)), ['track:Before Load', 'identify:npm-user', 'track:After Load']);
  assert.equal(events[0].context.page.title, 'NPM');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('importing the npm entry has no side effects and works without window (SSR)', async () => {
  const { execFileSync } = await import('node:child_process');
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', `
    const before = Object.keys(globalThis).sort().join();
    const m = await import(${JSON.stringify(new URL('../../dist/index.js', import.meta.url).href)});
    const after = Object.keys(globalThis).sort().join();
    const a = new m.AnalyticsBrowser();
    console.log(typeof m.AnalyticsBrowser, before === after, typeof window);
  `]).toString().trim();
  assert.equal(out, 'function true undefined');
});

test('a server sending the wasm with the wrong MIME type still works (fallback)', async () => {
  const wrong = await startStatic({ wrongWasmMime: true });
  try {
    const writeKey = 'wrong-mime';
    const page = await newPage(browser);
    const url = wrong.page('/mime.html', snippetPage({
      snippetOptions: { writeKey, scriptUrl: wrong.url + '/dist/analytics.min.js', loadOptions: FAST(collector) },
    }));
    await page.goto(url);
    await waitFor(() => page.evaluate(() => window.analytics && window.analytics.initialized === true), { what: 'initialized' });
    const events = await eventsOf(writeKey, 1);
    assert.equal(events[0].type, 'page');
    assert.ok(page.logs.some((l) => l.type === 'warning' && l.text.includes('is not served as application/wasm')), 'one warning says why');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  } finally {
    await wrong.stop();
  }
});
