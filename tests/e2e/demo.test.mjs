// The `npm start` demo in headless Chromium: scripts/serve.mjs's server and collector, the page
// loading the SDK through the official snippet under its strict CSP, buttons reaching the
// collector and showing up in the live list. Also the CLI: URLs printed, Ctrl-C stops the
// collector too, a busy port is a clear error.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, launch, newPage, waitFor } from './harness.mjs';
import { startDemo } from '../../scripts/serve.mjs';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
let demo, browser, dataDir;

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'sieve-demo-'));
  demo = await startDemo({ port: 0, collectorPort: 0, dataDir });
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await demo?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function collected() {
  const res = await fetch(demo.collectorUrl + '/events?writeKey=' + demo.writeKey);
  return (await res.json()).events.map((r) => r.event);
}

const rowNames = (page) => page.$$eval('#events li .name', (els) => els.map((e) => e.textContent));
const errorsOf = (page) => [
  ...page.errors,
  ...page.logs.filter((l) => l.type === 'error').map((l) => 'console: ' + l.text),
];

async function openDemo() {
  const page = await newPage(browser);
  const response = await page.goto(demo.url);
  assert.equal(response.status(), 200);
  assert.match(response.headers()['content-security-policy'], /script-src 'self' 'nonce-[^']+' 'wasm-unsafe-eval'/);
  await waitFor(() => page.evaluate(() => window.analytics && window.analytics.initialized === true), {
    what: 'SDK initialized',
  });
  return page;
}

test('Add to cart + Send now: the event reaches the collector and the live list, well before the 5 s batch timeout', async () => {
  const page = await openDemo();
  // The identity shown is the SDK's.
  const anonymousId = await page.evaluate(() => window.analytics.user().anonymousId());
  assert.match(anonymousId, UUID);
  await waitFor(async () => (await page.textContent('#anonymous-id')) === anonymousId, { what: 'anonymousId shown' });
  assert.equal(await page.textContent('#user-id'), '(not identified)');
  // The snippet's page() is in the list once the 5 s batch has left or a flush happens.

  await page.getByRole('button', { name: 'Add to cart' }).click();
  const clicked = Date.now();
  await page.getByRole('button', { name: 'Send now' }).click();
  // A 3.5 s limit: without the flush the batch would only leave 5 s after the first call.
  await waitFor(async () => (await rowNames(page)).includes('Product Added'), {
    timeout: 3500,
    what: 'Product Added in the live list',
  });
  assert.ok(Date.now() - clicked < 3500);

  const events = await collected();
  const added = events.find((e) => e.type === 'track' && e.event === 'Product Added');
  assert.ok(added, 'the collector stored it');
  assert.equal(added.anonymousId, anonymousId);
  assert.equal(added.properties.product_id, 'fn-3pk');
  assert.ok(
    events.some((e) => e.type === 'page'),
    "the snippet's page() was sent in the same batch",
  );

  // The row's details show the event's JSON.
  const row = page.locator('#events li', { hasText: 'Product Added' });
  assert.equal(await row.locator('.badge').textContent(), 'track');
  await row.locator('summary').click();
  const json = JSON.parse(await row.locator('pre').textContent());
  assert.equal(json.messageId, added.messageId);

  assert.deepEqual(errorsOf(page), []);
  await page.context().close();
});

test('identify form, reset, and page() show up in the identity bar and the list', async () => {
  const page = await openDemo();
  const anon1 = await page.evaluate(() => window.analytics.user().anonymousId());
  await page.fill('#identify-user-id', 'user-42');
  await page.fill('#identify-email', 'ada@example.com');
  await page.getByRole('button', { name: 'Identify', exact: true }).click();
  await waitFor(async () => (await page.textContent('#user-id')) === 'user-42', { what: 'user id shown' });
  await page.getByRole('button', { name: 'analytics.page()' }).click();
  await page.getByRole('button', { name: 'Send now' }).click();
  await waitFor(async () => (await rowNames(page)).includes('traits: ada@example.com'), {
    timeout: 3500,
    what: 'identify in the list',
  });
  const identify = (await collected()).find((e) => e.type === 'identify');
  assert.equal(identify.userId, 'user-42');
  assert.deepEqual(identify.traits, { email: 'ada@example.com' });

  // A segment entry for this user shows in the entry log.
  await waitFor(() => page.evaluate(() => !!window.analytics.segments._rt), { what: 'segment engine loaded' });
  for (let i = 0; i < 3; i++) await coreFeature(page).click();
  await waitFor(async () => /Entered power_user/.test(await page.textContent('#segments-last')), {
    what: 'power_user entry logged',
  });

  await page.getByRole('button', { name: 'analytics.reset()' }).click();
  await waitFor(async () => (await page.textContent('#user-id')) === '(not identified)', { what: 'user id cleared' });
  const anon2 = await page.textContent('#anonymous-id');
  assert.match(anon2, UUID);
  assert.notEqual(anon2, anon1);
  // Nothing on the page still shows the previous user.
  assert.equal(await page.inputValue('#identify-user-id'), '');
  assert.equal(await page.inputValue('#identify-email'), '');
  assert.doesNotMatch(await page.textContent('#segments-last'), /Entered power_user/);
  assert.deepEqual(errorsOf(page), []);
  await page.context().close();
});

const coreFeature = (page) => page.locator('#segments-title ~ .actions button', { hasText: 'Core Feature Used' });
const segmentRow = (page, text) => page.locator('#segments-list li', { hasText: text });

test("the demo's device-mode destination (Demo Offers, named in the settings) is loaded and sees context.segments: its offer appears once an event says power_user", async () => {
  const page = await openDemo();
  await waitFor(async () => /loaded, received/.test(await page.textContent('#offers-received')), {
    what: 'Demo Offers initialized',
  });
  for (let i = 0; i < 2; i++) await coreFeature(page).click();
  await waitFor(async () => /received [2-9]/.test(await page.textContent('#offers-received')), {
    what: 'two events at the destination',
  });
  assert.ok(!(await page.isVisible('#offer')), 'no offer before an event that says power_user');
  await coreFeature(page).click();
  await waitFor(() => segmentRow(page, 'power_user: member').count(), { what: 'power_user entered', timeout: 5000 });
  // The next event carries context.segments.power_user = true (if the entering one did not).
  await coreFeature(page).click();
  await waitFor(() => page.isVisible('#offer'), { what: 'the offer' });
  assert.match(await page.textContent('#offer'), /20 % off the next order, because this event says power_user/);
  const received = Number((await page.textContent('#offers-received')).match(/received (\d+) events/)[1]);
  assert.ok(received >= 4, 'the four Core Feature Used events reached it: ' + received);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('every segment the demo advertises can be reached, the two that take days with the demo clock', async () => {
  const page = await openDemo();
  await waitFor(() => segmentRow(page, 'checkout_abandoner').count(), { what: 'segment list' });
  assert.ok(await page.isVisible('#time-travel'), 'the demo clock is shown');
  assert.ok(!(await page.isVisible('#time-travel-missing')));
  const member = (key) =>
    waitFor(() => segmentRow(page, key + ': member').count(), { what: key + ' entered', timeout: 5000 });
  const click = (name) => page.locator('button', { hasText: name }).first().click();

  // power_user: the core feature 3 times in 7 days; its banner appears.
  assert.ok(!(await page.isVisible('[data-sieve-show="power_user"]')));
  for (let i = 0; i < 3; i++) await coreFeature(page).click();
  await member('power_user');
  await waitFor(() => page.isVisible('[data-sieve-show="power_user"]'), { what: 'power_user banner' });

  // checkout_abandoner: stopped at payment, and a day passed without an order.
  await click('Logged In');
  await page.getByRole('button', { name: 'Checkout', exact: true }).click();
  await click('Shipping Entered');
  await click('Payment Entered');
  assert.equal(await segmentRow(page, 'checkout_abandoner: member').count(), 0);
  await click('+1 day');
  await member('checkout_abandoner');

  // at_risk: logged in before, but not for 14 days.
  assert.equal(await segmentRow(page, 'at_risk: member').count(), 0);
  await click('+14 days');
  await member('at_risk');
  assert.match(await page.textContent('#segments-last'), /Entered at_risk \(time,/);
  assert.deepEqual(errorsOf(page), []);
  await page.context().close();
});

test('without the demo engine the clock is hidden and the page says why', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sieve-demo-'));
  const plain = await startDemo({ port: 0, collectorPort: 0, dataDir: dir, demoClock: false });
  const page = await newPage(browser);
  try {
    await page.goto(plain.url);
    await waitFor(() => segmentRow(page, 'checkout_abandoner').count(), { what: 'segment list' });
    await waitFor(() => page.isVisible('#time-travel-missing'), { what: 'the note on the missing clock' });
    assert.equal(await page.isVisible('#time-travel'), false);
    assert.equal(await page.isVisible('button[data-travel]'), false);
  } finally {
    await page.context().close();
    await plain.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Clear list also clears the counts per segment; the explain() select is styled like the inputs', async () => {
  const page = await openDemo();
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await page.getByRole('button', { name: 'Send now' }).click();
  await waitFor(() => page.locator('#segment-counts tbody tr').count(), { timeout: 3500, what: 'counts' });
  await page.getByRole('button', { name: 'Clear list' }).click();
  assert.equal(await page.locator('#events li').count(), 0);
  assert.equal(await page.locator('#segment-counts tbody tr').count(), 0);

  const style = (sel) =>
    page.$eval(sel, (el) => {
      const cs = getComputedStyle(el);
      return [cs.borderRadius, cs.borderTopColor, cs.fontFamily];
    });
  assert.deepEqual(await style('#explain-key'), await style('#identify-user-id'));
  assert.deepEqual(errorsOf(page), []);
  await page.context().close();
});

test('event data is rendered as text, never as markup', async () => {
  const page = await openDemo();
  const name = '<img src=x id=pwned onerror="window.pwned=1">';
  await page.evaluate((n) => {
    window.analytics.track(n);
    window.analytics.flush();
  }, name);
  await waitFor(async () => (await rowNames(page)).includes(name), {
    timeout: 3500,
    what: 'the odd event in the list',
  });
  assert.equal(await page.$('#pwned'), null);
  assert.equal(await page.evaluate(() => window.pwned), undefined);
  assert.deepEqual(errorsOf(page), []);
  await page.context().close();
});

// --- the CLI ---------------------------------------------------------------------------------

function runCli(env) {
  const proc = spawn(process.execPath, [join(ROOT, 'scripts/serve.mjs')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.out = '';
  proc.err = '';
  proc.stdout.on('data', (c) => (proc.out += c));
  proc.stderr.on('data', (c) => (proc.err += c));
  proc.done = new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal })));
  return proc;
}

async function busyPort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { port: server.address().port, close: () => new Promise((r) => server.close(r)) };
}

test('CLI: prints both URLs, serves the page, and Ctrl-C stops the collector too', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sieve-demo-cli-'));
  const proc = runCli({ PORT: '0', COLLECTOR_PORT: '0', SIEVE_DATA_DIR: dir });
  try {
    const [, web, collector] = await waitFor(
      () => /Sieve demo\s+(http:\/\/\S+)[\s\S]*Collector\s+(http:\/\/\S+)/.exec(proc.out),
      { what: 'URLs printed' },
    );
    const page = await fetch(web + '/');
    assert.equal(page.status, 200);
    assert.match(
      await page.text(),
      new RegExp('<meta name="sieve-collector" content="' + collector.replace(/\./g, '\\.') + '">'),
    );
    const wasm = await fetch(web + '/dist/sieve_bg.wasm');
    assert.equal(wasm.headers.get('content-type'), 'application/wasm');
    assert.equal((await fetch(web + '/%2e%2e/package.json')).status, 404);
    assert.equal((await fetch(collector + '/health')).status, 200);

    proc.kill('SIGINT');
    assert.deepEqual(await proc.done, { code: 0, signal: null });
    await assert.rejects(fetch(collector + '/health'), 'the collector is gone');
    await assert.rejects(fetch(web + '/'), 'the web server is gone');
  } finally {
    proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const [envName, other] of [
  ['PORT', 'COLLECTOR_PORT'],
  ['COLLECTOR_PORT', 'PORT'],
]) {
  test(`CLI: a busy ${envName} is a clear error and a non-zero exit`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sieve-demo-cli-'));
    const busy = await busyPort();
    const proc = runCli({ [envName]: String(busy.port), [other]: '0', SIEVE_DATA_DIR: dir });
    try {
      const { code } = await proc.done;
      assert.equal(code, 1);
      assert.match(proc.err, new RegExp(`port ${busy.port} is already in use.*${envName}=`));
      assert.doesNotMatch(proc.out, /Sieve demo\s+http/);
    } finally {
      proc.kill('SIGKILL');
      await busy.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
