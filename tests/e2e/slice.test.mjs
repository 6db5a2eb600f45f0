// The foundation's vertical slice in Chromium, Firefox and WebKit against the real collector:
// the official snippet queues calls before load, dist/analytics.min.js replays them in call
// order with each call's page context, and the events arrive as a batch with the Segment fields.
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { snippetPage, waitFor, FAST } from './harness.mjs';
import { useEngines, forEachEngine, ENGINE_TZ } from './engines.mjs';

const rig = useEngines();

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

forEachEngine(['chromium', 'firefox', 'webkit'], (engine) => {
  let collector, web;
  beforeEach(() => ({ collector, web } = rig));
  test('snippet calls replay in call order with their buffered page context, as one batch', async () => {
    const writeKey = 'slice-order-' + engine.name;
    const page = await engine.newPage();
    await collector.clear();
    const requests = [];
    page.playwright?.on(
      'request',
      (r) => r.url().startsWith(collector.url) && r.method() === 'POST' && requests.push(r),
    );
    const scriptUrl = web.url + '/dist/analytics.min.js';
    // Calls made before the script loads, interleaved across methods, with the URL and title
    // changing between them. The script tag is only added after all of them.
    const body = `<script>
      analytics.track('First', {n: 1});
      history.replaceState(null, '', '/second?utm_source=news&utm_campaign=spring');
      document.title = 'Second';
      analytics.identify('user-1', {plan: 'pro'});
      history.replaceState(null, '', '/third#frag');
      document.title = 'Third';
      analytics.track('Second', {n: 2});
      analytics.group('g-1', {name: 'Acme'});
    </script>`;
    const url = web.page(
      '/slice.html',
      snippetPage({
        title: 'First',
        snippetOptions: { writeKey, scriptUrl, loadOptions: { cdnURL: collector.url } },
        body,
      }),
    );
    await page.goto(url);
    await waitFor(() => page.evaluate(() => window.analytics && window.analytics.initialized === true), {
      what: 'initialized',
    });
    assert.equal(await page.evaluate(() => Array.isArray(window.analytics)), false, 'the stub array was replaced');

    // 5 events: page (from the snippet), track, identify, track, group. Default batching:
    // size 10, timeout 5000 ms, so they arrive together once the timer fires.
    const events = await waitFor(
      async () => {
        const e = await collector.events(writeKey);
        return e.length >= 5 && e;
      },
      { timeout: 12_000, what: '5 events' },
    );
    assert.deepEqual(
      events.map((e) => e.type + ':' + (e.event || e.userId || '')),
      ['page:', 'track:First', 'identify:user-1', 'track:Second', 'group:user-1'],
    );
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(
      (await collector.requests()).map((q) => [q.path, q.events]),
      [['/v1/batch', 5]],
      'one batch request',
    );
    if (page.playwright) {
      // Playwright may report the request after the collector has answered the poll above.
      await waitFor(() => requests.length > 0, { what: 'the request event' });
      const req = requests[0];
      assert.match(req.headers()['content-type'], /^text\/plain/);
      const body0 = JSON.parse(req.postData());
      assert.equal(body0.writeKey, writeKey);
      assert.match(body0.sentAt, ISO);
      assert.equal(body0.batch.length, 5);
    }

    const [pageEv, first, identify, second, group] = events;
    // Page context as captured when each call was made.
    assert.equal(first.context.page.path, '/slice.html');
    assert.equal(first.context.page.title, 'First');
    assert.equal(identify.context.page.path, '/second');
    assert.equal(identify.context.page.search, '?utm_source=news&utm_campaign=spring');
    assert.deepEqual(identify.context.campaign, { source: 'news', name: 'spring' });
    assert.equal(identify.context.page.title, 'Second');
    assert.equal(second.context.page.path, '/third');
    assert.equal(second.context.page.url, web.url + '/third', 'hash stripped');
    assert.equal(second.context.page.title, 'Third');
    assert.equal(pageEv.properties.path, '/slice.html');
    assert.equal(pageEv.properties.url, url);

    // Segment-spec fields.
    for (const e of events) {
      assert.match(e.messageId, /^sieve-\d+-/);
      assert.match(e.timestamp, ISO);
      assert.match(e.anonymousId, UUID);
      assert.equal(e.anonymousId, first.anonymousId);
      assert.deepEqual(e.context.library, { name: 'sieve-analytics', version: '0.1.0' });
      assert.equal(typeof e.context.userAgent, 'string');
      assert.ok(e.context.locale);
      assert.ok(e.context.timezone);
    }
    assert.equal(first.userId, null, 'anonymous before identify');
    assert.equal(identify.userId, 'user-1');
    assert.deepEqual(identify.traits, { plan: 'pro' });
    assert.equal(second.userId, 'user-1');
    assert.deepEqual(second.properties, { n: 2 });
    assert.equal(group.groupId, 'g-1');
    assert.deepEqual(group.traits, { name: 'Acme' });
    assert.equal(new Set(events.map((e) => e.messageId)).size, 5);

    // Identity persisted: cookie + localStorage, the analytics.js keys and encodings.
    const cookies = await page.context().cookies();
    await page.drain();
    const cookie = (name) => cookies.find((c) => c.name === name);
    assert.equal(cookie('ajs_anonymous_id').value, first.anonymousId);
    assert.equal(cookie('ajs_user_id').value, 'user-1');
    assert.equal(cookie('ajs_anonymous_id').sameSite, 'Lax');
    assert.ok(cookie('ajs_anonymous_id').expires * 1000 > Date.now() + 360 * 86_400_000, '~365 days');
    const ls = await page.evaluate(() => ({ ...localStorage }));
    assert.equal(ls.ajs_anonymous_id, JSON.stringify(first.anonymousId));
    assert.equal(ls.ajs_user_id, JSON.stringify('user-1'));
    assert.deepEqual(JSON.parse(ls.ajs_user_traits), { plan: 'pro' });
    assert.deepEqual(page.errors, []);
    await page.context().close();
  });

  test('a full batch of 10 leaves at once; a reload keeps the identity', async () => {
    const writeKey = 'slice-size-' + engine.name;
    const page = await engine.newPage();
    const url = web.page(
      '/size.html',
      snippetPage({
        snippetOptions: {
          writeKey,
          scriptUrl: web.url + '/dist/analytics.min.js',
          loadOptions: { cdnURL: collector.url },
          page: false,
        },
      }),
    );
    await page.goto(url);
    await waitFor(() => page.evaluate(() => window.analytics.initialized === true));
    const started = Date.now();
    await page.evaluate(() => {
      for (let i = 0; i < 10; i++) analytics.track('Item ' + i, { i });
    });
    const events = await waitFor(
      async () => {
        const e = await collector.events(writeKey);
        return e.length >= 10 && e;
      },
      { what: '10 events' },
    );
    assert.ok(Date.now() - started < 4000, 'size-triggered, not timer-triggered');
    assert.deepEqual(
      events.map((e) => e.properties.i),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    const anonymousId = events[0].anonymousId;
    await page.reload();
    await waitFor(() => page.evaluate(() => window.analytics.initialized === true));
    assert.equal(await page.evaluate(() => analytics.user().anonymousId()), anonymousId);
    await page.context().close();
  });

  test('settings from the CDN give the API host; the write key comes from the snippet', async () => {
    const writeKey = 'slice-settings-' + engine.name;
    const page = await engine.newPage();
    const url = web.page(
      '/settings.html',
      snippetPage({
        snippetOptions: { writeKey, scriptUrl: web.url + '/dist/analytics.min.js', loadOptions: FAST(collector) },
      }),
    );
    await page.goto(url);
    const events = await waitFor(
      async () => {
        const e = await collector.events(writeKey);
        return e.length >= 1 && e;
      },
      { what: 'page event' },
    );
    assert.equal(events[0].type, 'page');
    assert.equal(events[0].writeKey, writeKey);
    await page.context().close();
  });

  test("context.timezone is the host's zone, from Temporal where the browser has it and from Intl where not", async () => {
    const scriptUrl = web.url + '/dist/analytics.min.js';
    // (time zone the browser runs in, whether Temporal is removed before the script loads).
    // Playwright sets a zone per context in Chromium; Firefox and WebKit run in ENGINE_TZ.
    const cases =
      engine.name === 'chromium'
        ? [
            ['Asia/Kolkata', false],
            ['America/Argentina/Buenos_Aires', true],
            ['Europe/Paris', true],
          ]
        : [
            [ENGINE_TZ, false],
            [ENGINE_TZ, true],
          ];
    for (const [timezoneId, noTemporal] of cases) {
      const writeKey = 'slice-tz-' + engine.name + '-' + timezoneId.replace(/\W/g, '-') + (noTemporal ? '-intl' : '');
      const page = await engine.newPage(engine.name === 'chromium' ? { timezoneId } : {});
      const temporal = await (async () => {
        await page.goto(web.url + '/dist/segments.js');
        return page.evaluate(() => typeof globalThis.Temporal);
      })();
      const head = noTemporal ? '<script>delete globalThis.Temporal</script>' : '';
      const url = web.page(
        '/' + writeKey + '.html',
        snippetPage({ head, snippetOptions: { writeKey, scriptUrl, loadOptions: FAST(collector) } }),
      );
      await page.goto(url);
      const events = await waitFor(
        async () => {
          const e = await collector.events(writeKey);
          return e.length >= 1 && e;
        },
        { what: 'the page event' },
      );
      const expected = await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
      assert.equal(
        await page.evaluate(() => typeof globalThis.Temporal),
        noTemporal ? 'undefined' : temporal,
        timezoneId,
      );
      assert.equal(events[0].context.timezone, expected, timezoneId);
      assert.notEqual(expected, 'UTC', timezoneId);
      await page.context().close();
    }
  });
});
