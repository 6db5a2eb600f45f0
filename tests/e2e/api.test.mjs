// The rest of the analytics.js surface in headless Chromium: ajs_* query parameters,
// initialPageview, trackLink/trackForm.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useRig, eventsOf as waitForEvents, newPage, snippetPage, waitFor, FAST } from './harness.mjs';

let collector, web, browser;
useRig((rig) => ({ collector, web, browser } = rig));

const eventsOf = (writeKey, n) => waitForEvents(collector, writeKey, n);

async function open(writeKey, { query = '', loadOptions = {}, body = '', page = false } = {}) {
  const p = await newPage(browser);
  const url = web.page(
    '/' + writeKey + '.html',
    snippetPage({
      snippetOptions: {
        writeKey,
        scriptUrl: web.url + '/dist/analytics.min.js',
        loadOptions: { ...FAST(collector), ...loadOptions },
        page,
      },
      body,
    }),
  );
  await p.goto(url + query);
  await waitFor(() => p.evaluate(() => window.analytics && window.analytics.initialized === true), {
    what: 'initialized',
  });
  return p;
}

test('ajs_* query parameters: aid, uid with traits, event with properties, before queued calls', async () => {
  const writeKey = 'querystring';
  const page = await open(writeKey, {
    query: '?ajs_aid=anon-q&ajs_uid=user-q&ajs_trait_plan=pro&ajs_event=Clicked%20Email&ajs_prop_campaign=spring+sale',
    page: true,
  });
  const events = await eventsOf(writeKey, 3);
  assert.deepEqual(
    events.map((e) => e.type),
    ['identify', 'track', 'page'],
  );
  assert.equal(events[0].userId, 'user-q');
  assert.deepEqual(events[0].traits, { plan: 'pro' });
  assert.equal(events[1].event, 'Clicked Email');
  assert.deepEqual(events[1].properties, { campaign: 'spring sale' });
  assert.equal(await page.evaluate(() => analytics.user().anonymousId()), 'anon-q');
  await page.context().close();

  const off = await open('querystring-off', { query: '?ajs_uid=nobody', loadOptions: { useQueryString: false } });
  await off.evaluate(() => analytics.track('Only'));
  const only = await eventsOf('querystring-off', 1);
  assert.deepEqual(
    only.map((e) => e.type),
    ['track'],
  );
  await off.context().close();
});

test('initialPageview: true sends one page first', async () => {
  const writeKey = 'initial-pageview';
  const page = await open(writeKey, { loadOptions: { initialPageview: true } });
  await page.evaluate(() => analytics.track('After'));
  const events = await eventsOf(writeKey, 2);
  assert.deepEqual(
    events.map((e) => e.type),
    ['page', 'track'],
  );
  assert.equal(events[0].properties.title, 'Test Page');
  await page.context().close();
});

test('trackLink tracks then navigates; trackForm tracks then submits', async () => {
  const writeKey = 'autotrack';
  const target = web.page('/landed.html', '<!doctype html><title>Landed</title><p>landed</p>');
  const page = await open(writeKey, {
    body: `<a id="link" href="${target}">go</a><form id="form" action="${target}" method="get"><input name="q" value="1"><button id="submit">send</button></form>`,
  });
  // Bound once their promises resolve (dist/autotrack.js loads on first use, as analytics.js's
  // auto-track chunk does).
  await page.evaluate(() =>
    Promise.all([
      analytics.trackLink(document.getElementById('link'), 'Link Clicked', (el) => ({ href: el.getAttribute('href') })),
      analytics.trackForm(document.getElementById('form'), 'Form Submitted', { form: 'search' }),
    ]),
  );
  await page.click('#link');
  await page.waitForURL(/landed\.html$/);
  const events = await eventsOf(writeKey, 1);
  assert.equal(events[0].event, 'Link Clicked');
  assert.equal(events[0].properties.href, target);
  await page.goBack();
  await waitFor(() => page.evaluate(() => window.analytics && window.analytics.initialized === true));
  await page.evaluate(() => analytics.trackForm(document.getElementById('form'), 'Form Submitted', { form: 'search' }));
  await page.click('#submit');
  await page.waitForURL(/landed\.html\?q=1$/);
  const after = await eventsOf(writeKey, 2);
  assert.equal(after[1].event, 'Form Submitted');
  assert.deepEqual(after[1].properties, { form: 'search' });
  assert.deepEqual(page.errors, []);
  await page.context().close();
});
