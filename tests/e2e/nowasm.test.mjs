// A page where the core's wasm cannot run, in every engine: no WebAssembly at all (deleted by
// an init script), WebAssembly refused by a real Content-Security-Policy header without
// 'wasm-unsafe-eval', and an engine without a wasm feature the build enables (simulated: its
// compile functions refuse with a CompileError and validate() says false, as an older engine's
// would). Script tag and npm entry: nothing is thrown into the page, the console gets one
// error from Sieve saying why (naming 'wasm-unsafe-eval' for CSP) and that calls are dropped,
// the snippet's queue is emptied and stays empty, npm calls settle (rejected, pre-handled).
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { snippetPage, waitFor, FAST } from './harness.mjs';
import { useEngines, forEachEngine } from './engines.mjs';

const rig = useEngines();

const NONCE = 'n0nceForTests';
// What a strict page without 'wasm-unsafe-eval' sends (the snippet carries the nonce).
const csp = (collector) =>
  `default-src 'self'; script-src 'self' 'nonce-${NONCE}'; connect-src 'self' ${collector.url}`;

const NO_WASM = () => {
  delete window.WebAssembly;
};
const OLD_ENGINE = () => {
  const W = WebAssembly;
  const original = W.instantiate.bind(W);
  const refuse = () => Promise.reject(new W.CompileError('invalid opcode 0xfc (simulated older engine)'));
  // As an engine without the build's wasm features answers: only a module using none of them
  // (here: the empty module, 8 bytes) compiles.
  W.instantiate = (b, imports) => (b && b.byteLength <= 8 ? original(b, imports) : refuse());
  W.instantiateStreaming = W.compile = W.compileStreaming = refuse;
  W.validate = (b) => b.byteLength <= 8;
};

const CASES = [
  // [name, init script, CSP?, what the console error says]
  ['no WebAssembly', NO_WASM, false, 'this browser has no WebAssembly'],
  ['CSP without wasm-unsafe-eval', null, true, "script-src needs 'wasm-unsafe-eval'"],
  [
    'an engine without the wasm features',
    OLD_ENGINE,
    false,
    'lacks bulk memory, non-trapping float-to-int, sign extension or multivalue',
  ],
];
const DROPPED = 'analytics is off on this page: calls are dropped and ready() callbacks will not run';
const sieveErrors = (page) => page.logs.filter((l) => l.type === 'error' && l.text.includes('[sieve]'));

forEachEngine(['chromium', 'firefox', 'webkit'], (engine) => {
  let collector, web;
  beforeEach(() => ({ collector, web } = rig));

  for (const [name, init, withCsp, says] of CASES) {
    test(`script tag, ${name}: one console error, the snippet's queue dropped and never growing, nothing thrown`, async () => {
      const writeKey = 'nowasm-' + engine.name + '-' + name.replace(/\W+/g, '-');
      const page = await engine.newPage({ init });
      const html = snippetPage({
        snippetOptions: { writeKey, scriptUrl: web.url + '/dist/analytics.min.js', loadOptions: FAST(collector) },
        body: `<script nonce="${NONCE}">
          window.readyCalled = false;
          analytics.ready(() => (window.readyCalled = true));
          analytics.identify('u1');
          analytics.track('Queued');
        </script>`,
      }).replace('<script>', `<script nonce="${NONCE}">`);
      const url = web.page(
        '/' + writeKey + '.html',
        html,
        withCsp ? { 'Content-Security-Policy': csp(collector) } : {},
      );
      const fetched = web.requested.length;
      await page.goto(url);
      await waitFor(
        async () => {
          await page.drain();
          return sieveErrors(page).length > 0;
        },
        { what: "Sieve's console error" },
      );
      const out = await page.evaluate(async () => {
        const stub = window.analytics;
        const before = stub.length;
        for (let i = 0; i < 1000; i++) stub.track('Later', { i });
        stub.ready(() => (window.readyCalled = true));
        await new Promise((r) => setTimeout(r, 300));
        return { isStub: Array.isArray(stub), before, after: stub.length, readyCalled: window.readyCalled };
      });
      assert.deepEqual(out, { isStub: true, before: 0, after: 0, readyCalled: false });
      await page.drain();
      const errors = sieveErrors(page);
      assert.equal(errors.length, 1, JSON.stringify(page.logs));
      assert.ok(errors[0].text.includes(says), errors[0].text);
      assert.ok(errors[0].text.includes(DROPPED), errors[0].text);
      assert.deepEqual(page.errors, [], 'nothing thrown into the page');
      const paths = web.requested.slice(fetched);
      assert.ok(paths.includes('/dist/unavailable.js'), paths.join(' '));
      if (init === NO_WASM) assert.ok(!paths.includes('/dist/sieve_bg.wasm'), 'no download without WebAssembly');
      assert.deepEqual(await collector.events(writeKey), [], 'nothing was sent');
      await page.context().close();
    });
  }

  test('npm entry, CSP without wasm-unsafe-eval and no WebAssembly: buffered, awaited and later calls all settle (rejected, pre-handled), one console error', async () => {
    for (const [name, init, withCsp, says] of CASES.slice(0, 2)) {
      const writeKey = 'nowasm-npm-' + engine.name + '-' + name.replace(/\W+/g, '-');
      const page = await engine.newPage({ init });
      const html = `<!doctype html><html><head><title>NPM</title></head><body><script type="module" nonce="${NONCE}">
        import { AnalyticsBrowser } from '/dist/index.js';
        const settle = (p) => p.then(() => 'resolved', (e) => 'rejected: ' + e.message);
        const analytics = new AnalyticsBrowser();
        const buffered = [settle(analytics.track('Before')), settle(analytics.ready())];
        analytics.load({ writeKey: ${JSON.stringify(writeKey)}, cdnURL: ${JSON.stringify(collector.url)} });
        const loaded = await settle(analytics);
        const later = await settle(analytics.track('After'));
        window.out = { buffered: await Promise.all(buffered), loaded, later };
      </script></body></html>`;
      await page.goto(
        web.page('/' + writeKey + '.html', html, withCsp ? { 'Content-Security-Policy': csp(collector) } : {}),
      );
      const out = await waitFor(() => page.evaluate(() => window.out), { what: 'every call settled' });
      await page.drain();
      const rejected = out.loaded;
      assert.ok(rejected.startsWith('rejected: ') && rejected.includes(says) && rejected.includes(DROPPED), rejected);
      assert.deepEqual(out, { buffered: [rejected, rejected], loaded: rejected, later: rejected }, name);
      assert.equal(sieveErrors(page).length, 1, name + ': ' + JSON.stringify(page.logs));
      assert.deepEqual(page.errors, [], name + ': nothing thrown, no unhandled rejection');
      await page.context().close();
    }
  });
});
