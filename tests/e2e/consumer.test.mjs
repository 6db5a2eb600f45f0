// The npm route as a consumer gets it: `npm pack`, the tarball installed into tests/consumer/
// (whose bundlers, React and TypeScript scripts/setup.sh --consumer installs), the fixture
// apps built with Vite, webpack 5 and esbuild (tests/consumer/build.mjs) and loaded in
// Chromium against the real collector; the types checked with `tsc --strict`; the React
// hooks rendered on the server and hydrated; the package imported in Node.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, newPage, useRig, waitFor, eventsOf } from './harness.mjs';

const CONSUMER = join(ROOT, 'tests/consumer');
const OUT = join(ROOT, 'target/consumer');
let rig;
useRig((r) => (rig = r));

// Runs a command to completion, without blocking the event loop (the rig's collector is
// starting meanwhile): {status, stdout, stderr}, or an error with its output unless `ok: false`.
function run(cmd, args, cwd, { ok = true } = {}) {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const status = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      if (ok && err) reject(new Error(`${cmd} ${args.join(' ')} failed (${err.message}):\n${stdout}\n${stderr}`));
      else resolve({ status, stdout, stderr });
    }),
  );
}

let tarball;
before(async () => {
  if (!existsSync(join(CONSUMER, 'node_modules/.sieve-installed')))
    throw new Error("tests/consumer's packages are missing: run `bash scripts/setup.sh --consumer` (npm test does)");
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const name = (await run('npm', ['pack', '--pack-destination', OUT, '--loglevel=error'], ROOT)).stdout.trim();
  tarball = join(OUT, name);
  // Removed first: npm skips a tarball whose integrity matches what is installed.
  rmSync(join(CONSUMER, 'node_modules/sieve-analytics'), { recursive: true, force: true });
  await run('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--loglevel=error', tarball], CONSUMER);
  process.stderr.write((await run(process.execPath, [join(CONSUMER, 'build.mjs')], CONSUMER)).stdout);
});

// A new page that records errors; Chromium asks for a favicon, so there is one (no 404).
async function openPage() {
  rig.web.page('/favicon.ico', '');
  return newPage(rig.browser);
}

const errorsOf = (page) => [
  ...page.errors,
  ...page.logs.filter((l) => l.type === 'error' || l.type === 'warning').map((l) => l.type + ': ' + l.text),
];

test('the tarball holds both entries with their types, the wasm files, README and LICENSE', async () => {
  const files = (await run('tar', ['-tzf', tarball], OUT)).stdout.split('\n');
  for (const f of [
    'LICENSE',
    'README.md',
    'package.json',
    'dist/index.js',
    'dist/index.d.ts',
    'dist/react.js',
    'dist/react.d.ts',
    'dist/sieve_bg.wasm',
    'dist/sieve_segments_bg.wasm',
  ])
    assert.ok(files.includes('package/' + f), f + ' is in the tarball');
  const installed = JSON.parse(readFileSync(join(CONSUMER, 'node_modules/sieve-analytics/package.json'), 'utf8'));
  assert.match(readFileSync(join(CONSUMER, 'node_modules/sieve-analytics/LICENSE'), 'utf8'), /^MIT License/);
  assert.equal(installed.license, 'MIT');
  assert.deepEqual(installed.peerDependenciesMeta, { react: { optional: true } });
});

for (const bundler of ['vite', 'webpack', 'esbuild']) {
  test(`an app built with ${bundler} loads in Chromium: its events reach the collector, the lazy parts and both wasm files load`, async () => {
    const page = await openPage();
    const wasm = [];
    const failed = [];
    page.on('response', (r) => {
      if (r.url().endsWith('.wasm')) wasm.push(r.status());
      if (r.status() >= 400) failed.push(r.status() + ' ' + r.url());
    });
    await page.goto(`${rig.web.url}/target/consumer/${bundler}/index.html?collector=${rig.collector.url}`);
    const [event] = await eventsOf(rig.collector, 'consumer-' + bundler, 1);
    assert.equal(event.event, 'App Loaded');
    assert.equal(event.properties.bundler, bundler, 'the plugin (lazy plugins part) ran');
    await waitFor(() => page.evaluate(() => window.app.segments.isMember('app_loaded') === true), {
      what: 'the segment engine (lazy part + its wasm) answers',
    });
    // trackForm() on the npm wrapper, called before load (autotrack part).
    await page.evaluate(() => window.formBound);
    await page.getByRole('button', { name: 'Sign up' }).click();
    const signedUp = (await eventsOf(rig.collector, 'consumer-' + bundler, 2))[1];
    assert.equal(signedUp.event, 'Signed Up');
    assert.deepEqual(wasm, [200, 200]);
    assert.deepEqual(failed, []);
    assert.deepEqual(errorsOf(page), []);
    await page.context().close();
  });
}

test('types: code written for analytics-next compiles with tsc --strict; misspelt or mistyped options do not', async () => {
  const tsc = join(CONSUMER, 'node_modules/.bin/tsc');
  // Also under moduleResolution "node" (node10, which ignores exports: typesVersions).
  for (const config of ['types/tsconfig.json', 'types/tsconfig.node10.json']) {
    const good = await run(tsc, ['-p', config, '--pretty', 'false'], CONSUMER, { ok: false });
    assert.equal(good.status, 0, config + ': ' + good.stdout);
  }

  // Every line marked `// error: <text>` has an error with that text; no other line has one.
  const source = readFileSync(join(CONSUMER, 'types/invalid-options.ts'), 'utf8').split('\n');
  const expected = new Map();
  source.forEach((line, i) => {
    const m = /\/\/ error: (.*)$/.exec(line);
    if (m && i > 0) expected.set(i + 1, m[1]);
  });
  const bad = await run(tsc, ['-p', 'types/tsconfig.invalid.json', '--pretty', 'false'], CONSUMER, { ok: false });
  assert.notEqual(bad.status, 0);
  const found = new Map();
  for (const m of bad.stdout.matchAll(/invalid-options\.ts\((\d+),\d+\): error TS\d+: (.*)/g))
    found.set(Number(m[1]), (found.get(Number(m[1])) || '') + m[2]);
  assert.deepEqual([...found.keys()].sort(), [...expected.keys()].sort(), bad.stdout);
  for (const [line, text] of expected) assert.ok(found.get(line).includes(text), `line ${line}: ${found.get(line)}`);
});

test('in Node, load() says "browser only" in one line, and every call settles', async () => {
  const script = `
    import { AnalyticsBrowser } from 'sieve-analytics';
    const analytics = AnalyticsBrowser.load({ writeKey: 'K' });
    const settled = await Promise.allSettled([analytics.track('e'), analytics.identify('u'), analytics, analytics.segments.load([])]);
    analytics.page();
    console.log(JSON.stringify(settled.map((s) => s.status)));`;
  const r = await run(process.execPath, ['--input-type=module', '-e', script], CONSUMER, { ok: false });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), ['rejected', 'rejected', 'rejected', 'rejected']);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /^\[sieve\] .*browser only/);
});

test('React: useSegment is null on the server and through hydration (no mismatch), then flips when the visitor enters', async () => {
  // The app module calls AnalyticsBrowser.load() as it is imported.
  const warn = console.warn;
  const warned = [];
  console.warn = (...args) => warned.push(args.join(' '));
  let markup;
  try {
    const { render } = await import(pathToFileURL(join(OUT, 'react/server/server.js')).href);
    markup = render();
  } finally {
    console.warn = warn;
  }
  assert.match(markup, /upgraded: <!-- -->unknown/);
  assert.deepEqual(warned.length, 1);
  assert.match(warned[0], /browser only/, 'the app module loaded on the server');

  const template = readFileSync(join(OUT, 'react/client/index.html'), 'utf8');
  const url = rig.web.page('/target/consumer/react/client/ssr.html', template.replace('<!--app-html-->', markup));
  const page = await openPage();
  const state = () => page.getAttribute('#upgraded', 'data-state');
  await page.goto(url + '?collector=' + rig.collector.url);
  // A new visitor: known not to be a member once the engine has loaded, without any change.
  await waitFor(async () => (await state()) === 'false', { what: 'not a member' });
  await page.getByRole('button', { name: 'Upgrade' }).click();
  await waitFor(async () => (await state()) === 'true', { what: 'the hook flips' });
  assert.equal(await page.textContent('#upgraded'), 'upgraded: member');
  assert.deepEqual(await page.evaluate(() => window.hydrationErrors), []);
  assert.deepEqual(errorsOf(page), []);

  // A returning member, hydrated only once the engine knows it: the hydration render is
  // still the server's (null), then the hook has the member.
  await page.goto(url + '?late&collector=' + rig.collector.url);
  await waitFor(async () => (await state()) === 'true', { what: 'member after hydration' });
  assert.equal(await page.evaluate(() => window.app.segments.isMember('upgraded')), true);
  assert.deepEqual(await page.evaluate(() => window.hydrationErrors), []);
  assert.deepEqual(errorsOf(page), []);
  const events = await eventsOf(rig.collector, 'consumer-react', 1);
  assert.ok(events.some((e) => e.event === 'Upgrade Clicked'));
  await page.context().close();
});
