// Delivery that loses nothing, in Chromium, Firefox and WebKit against the real collector and
// its fault injection: a flaky API, an API down across a reload, track() then navigation, two
// tabs with one closed while the API is down, offline/online (where the driver can take an
// engine offline). Every scenario asserts zero lost events and reports duplicates (the
// collector dedupes by messageId and counts them; a duplicate with a different messageId
// would show up as two stored events of one name).
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { snippetPage, waitFor } from './harness.mjs';
import { useEngines, forEachEngine, engine as engineNamed } from './engines.mjs';
import { trackInPage, droppedInPage } from './traffic.mjs';

const rig = useEngines(undefined, { reset: true });
let collector, web;
beforeEach(() => ({ collector, web } = rig));

/** Load options: fast batches, short backoffs (the API comes back within seconds here). */
function options(batchTimeout = 100) {
  return {
    cdnURL: collector.url,
    integrations: {
      'Segment.io': {
        deliveryStrategy: { strategy: 'batching', config: { size: 10, timeout: batchTimeout } },
        httpConfig: {
          backoffConfig: { baseBackoffInterval: 0.2, maxBackoffInterval: 1, maxRetryCount: 50 },
          rateLimitConfig: { maxRetryInterval: 2 },
        },
      },
    },
  };
}

function pageFor(name, writeKey, batchTimeout) {
  return web.page(
    `/${name}.html`,
    snippetPage({
      snippetOptions: {
        writeKey,
        scriptUrl: web.url + '/dist/analytics.min.js',
        loadOptions: options(batchTimeout),
        page: false,
      },
    }),
  );
}

async function ready(page) {
  await waitFor(() => page.evaluate(() => window.analytics && window.analytics.initialized === true), {
    what: 'initialized',
  });
}

/** Waits until every expected track name arrived; returns {lost, duplicates, stored}. */
async function settle(writeKey, names, timeout = 30_000) {
  const want = new Set(names);
  let got = [];
  try {
    await waitFor(
      async () => {
        got = (await collector.events(writeKey)).filter((e) => e.type === 'track' && want.has(e.event));
        return new Set(got.map((e) => e.event)).size === want.size;
      },
      { timeout, interval: 200, what: names.length + ' events' },
    );
  } catch {
    // Reported below as lost.
  }
  const arrived = new Set(got.map((e) => e.event));
  const lost = names.filter((n) => !arrived.has(n));
  const stats = await collector.stats();
  const sameNameTwice = got.length - arrived.size; // stored twice: different messageIds
  return {
    lost,
    duplicates: stats.duplicates,
    sameNameTwice,
    stored: got.length,
    requests: stats.requests,
    faulted: stats.faulted,
  };
}

function report(t, name, r) {
  const line = `${t.fullName ?? name}: lost ${r.lost.length}, duplicates ${r.duplicates} (same messageId), requests ${r.requests}, faulted ${r.faulted}`;
  t.diagnostic(line);
  console.log('[delivery] ' + line);
}

function check(r) {
  assert.deepEqual(r.lost, [], 'zero lost');
  assert.equal(r.sameNameTwice, 0, 'duplicates only ever share their messageId');
}

forEachEngine(['chromium', 'firefox', 'webkit'], (engine) => {
  test('(1) a flaky API mixing 500, 503, resets and 429: all 60 events delivered', async (t) => {
    const writeKey = 'flaky';
    for (const rule of [
      { count: 2, status: 500 },
      { count: 1, reset: true },
      { count: 2, status: 503 },
      { count: 1, status: 429, retryAfter: 1 },
      { count: 1, reset: true },
      { count: 1, status: 500 },
      { count: 1, status: 503 },
      { count: 1, status: 429, retryAfter: 1 },
      { count: 1, reset: true },
    ]) {
      await collector.fault(rule);
    }
    const page = await engine.newPage();
    await page.goto(pageFor('flaky', writeKey));
    await ready(page);
    const names = Array.from({ length: 60 }, (_, i) => 'Flaky ' + i);
    for (let i = 0; i < 60; i += 5) {
      await page.evaluate((batch) => batch.forEach((n) => analytics.track(n, { i: n })), names.slice(i, i + 5));
      await new Promise((r) => setTimeout(r, 60));
    }
    const r = await settle(writeKey, names);
    report(t, 'flaky API', r);
    check(r);
    const log = await collector.requests();
    assert.ok(
      log.some((q) => q.retryCount > 0),
      'retries carry X-Retry-Count',
    );
    assert.ok(r.faulted >= 9, 'every fault was hit');
    await page.drain();
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('(2) API down, page reloaded, API back: all delivered after the reload', async (t) => {
    const writeKey = 'reload';
    await collector.fault({ count: 100_000, status: 503 });
    const page = await engine.newPage();
    const url = pageFor('reload', writeKey);
    await page.goto(url);
    await ready(page);
    const names = Array.from({ length: 20 }, (_, i) => 'Reload ' + i);
    await page.evaluate((ns) => ns.forEach((n) => analytics.track(n)), names);
    await waitFor(async () => (await collector.requests()).length >= 2, { what: 'failed attempts' });
    const persisted = await page.evaluate(
      () => Object.keys(localStorage).filter((k) => k.startsWith('sieve:q1:')).length,
    );
    assert.ok(persisted >= 1, 'the queue is in localStorage');
    await page.reload();
    await ready(page);
    await collector.clearFaults();
    const r = await settle(writeKey, names);
    report(t, 'API down + reload', r);
    check(r);
    await waitFor(
      () =>
        page.evaluate(() => !Object.keys(localStorage).some((k) => k.startsWith('sieve:q1:') && !k.endsWith(':lease'))),
      { what: 'queue emptied' },
    );
    await page.drain();
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('(3) track() immediately followed by navigation: delivered (keepalive)', async (t) => {
    const writeKey = 'navigate';
    const other = web.page(
      '/elsewhere.html',
      '<!doctype html><html><head><title>Elsewhere</title></head><body>no analytics here</body></html>',
    );
    const page = await engine.newPage();
    // The default 5 s batch timer: nothing would leave before the navigation without page hide.
    await page.goto(pageFor('navigate', writeKey, 5_000));
    await ready(page);
    const names = Array.from({ length: 5 }, (_, i) => 'Nav ' + i);
    await page.evaluate(
      ({ ns, to }) => {
        ns.forEach((n) => analytics.track(n, { blob: 'x'.repeat(2000) }));
        location.href = to;
      },
      { ns: names, to: other },
    );
    await waitFor(async () => (await page.url()) === other, { what: 'the navigation' });
    const r = await settle(writeKey, names, 10_000);
    report(t, 'track + navigation', r);
    check(r);
    await page.context().close();
  });

  test('(4) two tabs tracking while the API is down, one closed, API back: all delivered', async (t) => {
    const writeKey = 'tabs';
    await collector.fault({ count: 100_000, status: 503 });
    const context = await engine.newContext();
    const url = pageFor('tabs', writeKey);
    const [a, b] = [await context.newPage(), await context.newPage()];
    await a.goto(url);
    await b.goto(url);
    await ready(a);
    await ready(b);
    const namesA = Array.from({ length: 15 }, (_, i) => 'TabA ' + i);
    const namesB = Array.from({ length: 15 }, (_, i) => 'TabB ' + i);
    for (let i = 0; i < 15; i += 5) {
      await a.evaluate((ns) => ns.forEach((n) => analytics.track(n)), namesA.slice(i, i + 5));
      await b.evaluate((ns) => ns.forEach((n) => analytics.track(n)), namesB.slice(i, i + 5));
    }
    await waitFor(async () => (await collector.requests()).length >= 4, { what: 'failed attempts from both tabs' });
    await a.close();
    await collector.clearFaults();
    // B adopts A's events at its next scan (every 10 s) once A's lock is gone.
    const r = await settle(writeKey, [...namesA, ...namesB], 40_000);
    report(t, 'two tabs, one closed', r);
    check(r);
    await b.drain();
    assert.deepEqual([...a.errors, ...b.errors], []);
    await context.close();
  });

  test(
    '(5) offline pauses, online resumes at once: all delivered',
    { skip: !engine.can.offline && 'no offline emulation' },
    async (t) => {
      const writeKey = 'offline';
      const page = await engine.newPage();
      await page.goto(pageFor('offline', writeKey));
      await ready(page);
      await page.context().setOffline(true);
      await waitFor(() => page.evaluate(() => navigator.onLine === false), { what: 'offline' });
      const names = Array.from({ length: 25 }, (_, i) => 'Offline ' + i);
      await page.evaluate((ns) => ns.forEach((n) => analytics.track(n)), names);
      await new Promise((r) => setTimeout(r, 1_500));
      assert.equal((await collector.requests()).length, 0, 'nothing is attempted while offline');
      const back = Date.now();
      await page.context().setOffline(false);
      const r = await settle(writeKey, names, 10_000);
      report(t, 'offline/online', r);
      check(r);
      assert.ok(Date.now() - back < 5_000, 'resumed at once');
      await page.drain();
      assert.deepEqual(page.errors, []);
      await page.context().close();
    },
  );

  test('(6) a batch the API refuses as a whole (400): sent again in halves, all delivered', async (t) => {
    const writeKey = 'refused-batch';
    const page = await engine.newPage();
    await page.goto(pageFor('refused', writeKey));
    await ready(page);
    await collector.fault({ count: 1, status: 400 });
    const names = Array.from({ length: 10 }, (_, i) => 'Refused ' + i);
    await page.evaluate((ns) => ns.forEach((n) => analytics.track(n)), names);
    const r = await settle(writeKey, names, 10_000);
    report(t, 'batch refused as a whole', r);
    check(r);
    const requests = (await collector.requests()).map((q) => [q.status, q.events]);
    assert.deepEqual(
      requests,
      [
        [400, 10],
        [200, 5],
        [200, 5],
      ],
      'the refused batch, then its two halves',
    );
    await page.drain();
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });
});

/**
 * A page that can really be hidden: Chromium under Playwright keeps its pages visible (focus
 * emulation counts as a capture), so this one lives in a browser context Playwright does not
 * manage, driven over CDP. `hide()` opens another tab in front of it in the same window,
 * `show()` brings it back; `evaluate(fn, arg)` runs `fn(arg)` in the page and returns its
 * (JSON) result. Other engines can provide the same five functions.
 */
async function backgroundablePage(browser) {
  const cdp = await browser.newBrowserCDPSession();
  const { browserContextId } = await cdp.send('Target.createBrowserContext', { disposeOnDetach: true });
  const { targetId } = await cdp.send('Target.createTarget', { url: 'about:blank', browserContextId });
  const { sessionId } = await cdp.send('Target.attachToTarget', { targetId, flatten: false });
  const errors = [];
  const waiting = new Map();
  let next = 0;
  cdp.on('Target.receivedMessageFromTarget', (e) => {
    if (e.sessionId !== sessionId) return;
    const msg = JSON.parse(e.message);
    if (msg.method === 'Runtime.exceptionThrown') errors.push(msg.params.exceptionDetails.exception?.description);
    if (msg.id && waiting.has(msg.id)) waiting.get(msg.id)(msg);
  });
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = ++next;
      waiting.set(
        id,
        (msg) => (waiting.delete(id), msg.error ? reject(new Error(msg.error.message)) : resolve(msg.result)),
      );
      cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) });
    });
  await send('Runtime.enable');
  await send('Page.enable');
  const page = {
    errors,
    async goto(to) {
      await send('Page.navigate', { url: to });
      await waitFor(() => page.evaluate(() => document.readyState === 'complete' && location.href), { what: 'load' });
    },
    async evaluate(fn, arg) {
      const expression = `(${fn})(${arg === undefined ? '' : JSON.stringify(arg)})`;
      const r = await send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
      if (r.exceptionDetails) throw new Error(r.exceptionDetails.exception?.description || 'evaluate failed');
      return r.result.value;
    },
    async hide() {
      await cdp.send('Target.createTarget', { url: 'about:blank', browserContextId, newWindow: false });
      await waitFor(() => page.evaluate(() => document.visibilityState === 'hidden'), { what: 'hidden' });
    },
    async show() {
      await cdp.send('Target.activateTarget', { targetId });
      await waitFor(() => page.evaluate(() => document.visibilityState === 'visible'), { what: 'visible' });
    },
    async close() {
      await cdp.send('Target.disposeBrowserContext', { browserContextId }).catch(() => {});
      await cdp.detach().catch(() => {});
    },
  };
  return page;
}

test('(7) a background (hidden) tab while the API fails, then recovers: all delivered, at most one request per backoff step', async (t) => {
  const writeKey = 'hidden';
  await collector.fault({ count: 100_000, status: 503 });
  // Chromium's Playwright browser, reached through a context of the engine layer's.
  const browser = (await engineNamed('chromium').newContext()).playwright.browser();
  const page = await backgroundablePage(browser);
  // analytics.js's default retry policy (0.5 s doubling, 10 retries): what a real page has.
  const url = web.page(
    '/hidden.html',
    snippetPage({
      snippetOptions: {
        writeKey,
        scriptUrl: web.url + '/dist/analytics.min.js',
        loadOptions: {
          cdnURL: collector.url,
          integrations: {
            'Segment.io': { deliveryStrategy: { strategy: 'batching', config: { size: 10, timeout: 100 } } },
          },
        },
        page: false,
      },
    }),
  );
  await page.goto(url);
  await waitFor(() => page.evaluate(() => window.analytics && window.analytics.initialized === true), {
    what: 'initialized',
  });
  const names = Array.from({ length: 20 }, (_, i) => 'Hidden ' + i);
  await page.evaluate((ns) => ns.forEach((n) => analytics.track(n)), names);
  await waitFor(async () => (await collector.requests()).length >= 1, { what: 'a failed attempt' });
  await page.hide();
  assert.equal(await page.evaluate(() => document.visibilityState), 'hidden');
  const hiddenAt = Date.now();
  await new Promise((r) => setTimeout(r, 3_000));
  const persisted = await page.evaluate(() =>
    Object.keys(localStorage)
      .filter((k) => k.startsWith('sieve:q1:') && !k.endsWith(':lease'))
      .reduce((n, k) => n + localStorage.getItem(k).split('\n').filter(Boolean).length, 0),
  );
  assert.equal(persisted, 20, 'still persisted while hidden and failing');
  const failed = (await collector.requests()).length;
  await collector.clearFaults();
  const r = await settle(writeKey, names, 20_000);
  report(t, 'hidden tab, API down then back', r);
  check(r);
  assert.equal(await page.evaluate(() => document.visibilityState), 'hidden', 'delivered while still hidden');
  // 3 s of 503s: the first attempts, then retries 0.5, 1 and 2 s apart (± 10 %), not a burst.
  assert.ok(failed <= 2 + 4, `${failed} failed requests in ${Date.now() - hiddenAt} ms`);
  await page.show();
  assert.deepEqual(page.errors, []);
  await page.close();
});

/** Events in the page's persisted queue (chunks, lease keys left out). */
const persistedInPage = (page) =>
  page.evaluate(() =>
    Object.keys(localStorage)
      .filter((k) => k.startsWith('sieve:q1:') && !k.endsWith(':lease'))
      .reduce((n, k) => n + localStorage.getItem(k).split('\n').filter(Boolean).length, 0),
  );

/**
 * Waits until the collector stored `want` events and the page's queue is empty; returns
 * when that was (epoch ms, polled every 100 ms) and the collector's stats.
 */
async function drained(page, want, timeout) {
  let stats;
  await waitFor(
    async () => {
      stats = await collector.stats();
      return stats.accepted >= want && (await persistedInPage(page)) === 0;
    },
    { timeout, interval: 100, what: want + ' events stored and an empty queue' },
  );
  return { at: Date.now(), stats };
}

/** A page with analytics.js's default delivery (batches of 10, 5 s timeout, 0.5 s backoff). */
function defaultPageUrl(writeKey) {
  return web.page(
    `/${writeKey}.html`,
    snippetPage({
      snippetOptions: {
        writeKey,
        scriptUrl: web.url + '/dist/analytics.min.js',
        loadOptions: { cdnURL: collector.url },
        page: false,
      },
    }),
  );
}

// Chromium only (the same core runs in every engine; a minute of traffic per engine is too long).
test('(8) 100 events/s for 60 s with the API answering after 300 ms: 0 dropped, the queue empty within 8 s of the last call', async (t) => {
  const writeKey = 'rate';
  await collector.fault({ count: 100_000, delayMs: 300 });
  const page = await engineNamed('chromium').newPage();
  await page.goto(defaultPageUrl(writeKey));
  await ready(page);
  const n = 6_000;
  const { lastCallAt } = await trackInPage(page, { n, prefix: 'Rate ', gapMs: 10 });
  const { at, stats } = await drained(page, n, 60_000);
  const dropped = await droppedInPage(page);
  const line = `100/s for 60 s at 300 ms: stored ${stats.accepted} of ${n}, dropped ${dropped}, duplicates ${stats.duplicates}, ${stats.requests} requests (${(n / stats.requests).toFixed(1)} events each), queue empty ${at - lastCallAt} ms after the last call`;
  t.diagnostic(line);
  console.log('[delivery] ' + line);
  assert.equal(dropped, 0);
  assert.equal(stats.accepted, n);
  // What is left after the last call is under 10 events: it waits for the 5 s batch timeout,
  // then a request or two at 300 ms each.
  assert.ok(at - lastCallAt <= 8_000, `queue empty ${at - lastCallAt} ms after the last call`);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('(9) 30,000 calls in one tight loop: the bound keeps the newest events, delivered; every other call is counted in queue_full notices', async (t) => {
  // One task: the I/O task (the chunk write, the request) cannot run inside it, so only the
  // queue bound (3,000 events / 2 MB per tab) holds the calls, and the oldest are dropped
  // with a notice (docs/delivery.md "Bounds"; the "0 dropped" needs a larger bound).
  const writeKey = 'burst';
  const page = await engineNamed('chromium').newPage();
  await page.goto(defaultPageUrl(writeKey));
  await ready(page);
  await page.evaluate(() => {
    window.__sieveNotices = 0;
    analytics.on('error', (e) => e && e.code === 'queue_full' && window.__sieveNotices++);
  });
  const n = 30_000;
  const { lastCallAt, loopMs } = await trackInPage(page, { n, prefix: 'Burst ', perTask: n });
  await waitFor(async () => (await collector.stats()).accepted + (await droppedInPage(page)) >= n, {
    timeout: 30_000,
    what: 'every call stored or counted as dropped',
  });
  const { at, stats } = await drained(page, 1, 30_000);
  const dropped = await droppedInPage(page);
  const notices = await page.evaluate(() => window.__sieveNotices);
  const line = `30,000 calls in one task (${loopMs.toFixed(0)} ms): stored ${stats.accepted}, dropped ${dropped} (${notices} notice), ${stats.requests} requests, queue empty ${at - lastCallAt} ms after the last call`;
  t.diagnostic(line);
  console.log('[delivery] ' + line);
  assert.equal(stats.accepted + dropped, n, 'each call is delivered or counted as dropped');
  assert.ok(stats.accepted <= 3_000 && stats.accepted >= 2_000, `kept ${stats.accepted}`);
  assert.equal(notices, 1, 'one notice for the burst');
  const stored = await (await fetch(`${collector.url}/events?writeKey=${writeKey}&limit=10000`)).json();
  const names = new Set(stored.events.map((e) => e.event.event));
  const newest = Array.from({ length: stats.accepted }, (_, i) => 'Burst ' + (n - stats.accepted + i));
  assert.deepEqual(
    newest.filter((name) => !names.has(name)),
    [],
    'the newest are the ones kept',
  );
  assert.deepEqual(page.errors, []);
  await page.context().close();
});
