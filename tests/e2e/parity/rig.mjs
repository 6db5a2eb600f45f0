// Differential rig: one headless Chromium, one browser context per SDK (own cookie jar and
// localStorage), both pages on the same origin and URL so page context is comparable. Each
// scenario: serve the scenario document to both contexts (Playwright route on the document
// only; events go to the real loopback collector, never through routes), run the same calls,
// read back what each SDK sent and what it left in storage.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import { ROOT, CHROMIUM_ARGS, startCollector, waitFor } from '../harness.mjs';
import { startDocServer } from './server.mjs';

const require = createRequire(import.meta.url);
const snippet = require('@segment/snippet');
const AJS_UMD = join(ROOT, 'node_modules/@segment/analytics-next/dist/umd');

export const SDKS = ['ajs', 'sieve'];
export const END = '__parity_end__';
export const BATCH = { strategy: 'batching', config: { size: 100, timeout: 100 } };

/** The official snippet with `load: false`: the page calls `analytics.load()` itself, after
 * the scenario's pre-load calls, so those calls are surely buffered by the stub. */
function snippetCode(writeKey, scriptUrl) {
  const code = snippet.min({
    apiKey: writeKey,
    host: 'cdn.example',
    ajsPath: '/x/analytics.min.js',
    load: false,
    page: false,
  });
  return code.replace('"https://cdn.example/x/analytics.min.js"', JSON.stringify(scriptUrl));
}

/**
 * npm mode: `AnalyticsBrowser.load({writeKey, cdnURL}, options)` from each SDK's npm entry
 * (analytics-next bundled by esbuild; Sieve's dist/index.js as an ES module), the buffered
 * wrapper kept in `window.analytics`, `pre` calls made on it before the load resolves.
 */
function npmHead(sdk, writeKey, loadOptions, pre, cdnURL) {
  const settings = JSON.stringify({ writeKey, cdnURL });
  const opts = JSON.stringify(loadOptions);
  const body = `window.analytics = AnalyticsBrowser.load(${settings}, ${opts});
window.analytics.then(() => { window.__npmLoaded = true; }, (e) => console.error('load failed', e));
${pre || ''}`;
  return sdk === 'ajs'
    ? `<script src="/parity/ajs-npm.js"></script></head><body><script>const { AnalyticsBrowser } = window.AJSNext;\n${body}</script>`
    : `</head><body><script type="module">import { AnalyticsBrowser } from '/dist/index.js';\n${body}</script>`;
}

export async function startRig({ lanes = 3 } = {}) {
  const collector = await startCollector();
  const web = await startDocServer();
  // The harness' Chromium flags, plus one loopback name with real domain levels
  // (`*.parity.test` → 127.0.0.1) for cookie-domain (TLD probing) scenarios. Still loopback only.
  const args = CHROMIUM_ARGS.map((a) =>
    a.startsWith('--host-resolver-rules=') ? a.replace('=', '=MAP *.parity.test 127.0.0.1, ') : a,
  );
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args, headless: true });
  const scripts = {
    ajs: '/node_modules/@segment/analytics-next/dist/umd/standalone.js',
    sieve: '/dist/analytics.min.js',
  };
  // Lanes: independent pairs of contexts so a few scenarios run at once (most of a scenario is
  // waiting for batch timers and the collector).
  async function newSide(sdk, key) {
    const context = await browser.newContext();
    const side = { sdk, key, context, page: null, errors: [], logs: [] };
    // analytics-next lazy chunks come from `${cdn}/analytics-next/bundles/` (cdn = the collector).
    await context.route(
      (u) => u.origin === collector.url && u.pathname.startsWith('/analytics-next/bundles/'),
      (route) => {
        const file = join(AJS_UMD, route.request().url().split('/').pop().split('?')[0]);
        return existsSync(file)
          ? route.fulfill({ path: file, contentType: 'text/javascript' })
          : route.fulfill({ status: 404 });
      },
    );
    // Both SDKs get the batching strategy from the (real) settings, not from init options, so
    // init `integrations` (copied into every event) stays empty unless a scenario sets it.
    await context.route(
      (u) => u.origin === collector.url && u.pathname.startsWith('/v1/projects/'),
      async (route) => {
        const res = await route.fetch();
        const json = await res.json();
        json.integrations['Segment.io'].deliveryStrategy = BATCH;
        return route.fulfill({ response: res, json });
      },
    );
    const page = await context.newPage();
    page.on('console', (m) => side.logs.push({ type: m.type(), text: m.text() }));
    page.on('pageerror', (e) => side.errors.push(String(e)));
    side.page = page;
    return side;
  }
  const free = [];
  for (let i = 0; i < lanes; i++)
    free.push({ ajs: await newSide('ajs', 'ajs' + i), sieve: await newSide('sieve', 'sieve' + i) });
  const waiting = [];
  const acquire = () => (free.length ? Promise.resolve(free.pop()) : new Promise((r) => waiting.push(r)));
  const release = (lane) => (waiting.length ? waiting.shift()(lane) : free.push(lane));

  let counter = 0;

  /**
   * Runs one scenario on both SDKs in parallel; resolves to
   * `{ ajs: {writeKey, records, outcomes, callbacks, storage, cookies, errors, logs}, sieve: {...} }`.
   */
  async function run(sc) {
    const n = ++counter;
    const lane = await acquire();
    try {
      const out = {};
      await Promise.all(
        SDKS.map(async (sdk) => {
          out[sdk] = await runSide(lane[sdk], sc, `par${n}-${sdk}`);
        }),
      );
      return out;
    } finally {
      release(lane);
    }
  }

  async function runSide(side, sc, writeKey) {
    const { page, context } = side;
    side.errors.length = 0;
    side.logs.length = 0;
    await context.clearCookies();
    // `host`: serve the scenario from another loopback name (same port) instead of localhost.
    const origin = sc.host ? web.url.replace('localhost', sc.host) : web.url;
    await context.addCookies([
      { name: '__parity_side', value: side.key, url: origin, httpOnly: true, sameSite: 'Lax' },
    ]);
    const path = sc.path || '/parity/page';
    const url = origin + path + (sc.search || '') + (sc.hash || '');
    const loadOptions = sc.loadOptions || {};
    web.docs[side.key] = `<!doctype html><html><head><meta charset="utf-8"><title>${sc.title ?? 'Parity Page'}</title>
${sc.canonical !== undefined ? `<link rel="canonical" href="${sc.canonical}">` : ''}
<script>
try { localStorage.clear(); sessionStorage.clear(); } catch (e) {}
${Object.entries(sc.localStorage || {})
  .map(([k, v]) => `localStorage.setItem(${JSON.stringify(k)}, ${JSON.stringify(v)});`)
  .join('\n')}
${Object.entries(sc.cookies || {})
  .map(([k, v]) => `document.cookie = ${JSON.stringify(k + '=' + v + '; path=/')};`)
  .join('\n')}
</script>
${
  sc.npm
    ? npmHead(side.sdk, writeKey, loadOptions, sc.pre, collector.url)
    : `<script>${snippetCode(writeKey, origin + scripts[side.sdk])}</script>
<script>analytics._cdn = ${JSON.stringify(collector.url)};</script>
</head><body>
<script>
${sc.pre || ''}
analytics.load(${JSON.stringify(writeKey)}, ${JSON.stringify(loadOptions)});
</script>`
}
</body></html>`;
    await page.goto(url, sc.referrer ? { referer: sc.referrer } : {});
    const diag = () =>
      ` (page errors: ${JSON.stringify(side.errors)}; console: ${JSON.stringify(side.logs.slice(-5))})`;
    await waitFor(
      () =>
        page.evaluate(
          () =>
            !!(
              window.analytics &&
              (window.__npmLoaded || (window.analytics.initialized === true && !Array.isArray(window.analytics)))
            ),
        ),
      { what: side.sdk + ' initialized', timeout: 20_000 },
    ).catch(async (e) => {
      const state = await page
        .evaluate(() => ({
          array: Array.isArray(window.analytics),
          scripts: [...document.scripts].map((x) => x.src).filter(Boolean),
        }))
        .catch(() => null);
      throw new Error(e.message + diag() + ' state ' + JSON.stringify(state));
    });
    // With buffered calls, let the replay finish first (analytics.js sets `initialized` before it
    // replays, one task per call), so post-load calls and the end marker come after it.
    if (sc.pre) await page.waitForTimeout(400);
    const result = await page.evaluate(runCalls, { src: sc.calls || '', end: END, writeKey });
    const mineNow = async () =>
      (await (await fetch(`${collector.url}/events?writeKey=${encodeURIComponent(writeKey)}`)).json()).events;
    const all = await waitFor(
      async () => {
        const mine = await mineNow();
        return mine.some((r) => r.event.type === 'track' && r.event.event === END) && mine;
      },
      { what: side.sdk + ' end marker (' + writeKey + ')', timeout: 10_000 },
    ).catch((e) => {
      throw new Error(e.message + diag());
    });
    // Anything sent after the marker (there should be nothing) is caught by a short settle.
    await new Promise((r) => setTimeout(r, 50));
    const settled = await mineNow();
    const storage = await page.evaluate(() => {
      const ls = {};
      for (let i = 0; i < localStorage.length; i++) ls[localStorage.key(i)] = localStorage.getItem(localStorage.key(i));
      return { localStorage: ls, cookie: document.cookie };
    });
    const cookies = await context.cookies();
    // Arrival order is not send order when two batch requests are in flight at once: order by
    // the request's own sentAt (set when the SDK flushed; flushes are >= the batch timeout
    // apart), then by arrival (the position inside one batch is kept).
    const records = (settled.length >= all.length ? settled : all)
      .map((r, i) => [Date.parse(r.sentAt) || 0, i, r])
      .sort((x, y) => x[0] - y[0] || x[1] - y[1])
      .map((x) => x[2]);
    return {
      writeKey,
      records,
      outcomes: result.outcomes,
      callbacks: result.callbacks,
      storage,
      cookies,
      errors: [...side.errors],
      logs: [...side.logs],
    };
  }

  async function stop() {
    await browser.close();
    await web.stop();
    await collector.stop();
  }

  return { collector, web, browser, run, stop };
}

/** In the page: runs the scenario body with `rec(label, () => call)` (records how the call
 * settled) and `cb(label)` (a callback that records its invocation), then the end marker. */
async function runCalls({ src, end, writeKey }) {
  const outcomes = [];
  const callbacks = [];
  // A JSON-able description of a returned/resolved value or callback argument.
  const describe = (v, depth = 0) => {
    if (v === undefined) return 'undefined';
    if (typeof v === 'function') return 'function';
    if (v === null || typeof v !== 'object') return v;
    if (v.event && typeof v.event === 'object' && typeof v.event.type === 'string') {
      const e = v.event;
      return { ctx: true, type: e.type, event: e.event, name: e.name, category: e.category };
    }
    if (depth > 3) return '…';
    if (Array.isArray(v)) return v.map((x) => describe(x, depth + 1));
    if (Object.getPrototypeOf(v) !== Object.prototype) return '[' + (v.constructor && v.constructor.name) + ']';
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, describe(x, depth + 1)]));
  };
  const settle = (p) => Promise.race([p, new Promise((r) => setTimeout(() => r('__pending__'), 3000))]);
  const rec = async (label, fn) => {
    let p;
    try {
      p = fn();
    } catch (e) {
      outcomes.push([label, 'threw', String(e && e.message)]);
      return;
    }
    if (!p || typeof p.then !== 'function') {
      outcomes.push([label, 'returned', describe(p)]);
      return;
    }
    try {
      const v = await settle(p);
      outcomes.push([label, v === '__pending__' ? 'pending' : 'resolved', v === '__pending__' ? null : describe(v)]);
    } catch (e) {
      outcomes.push([label, 'rejected', String(e && e.message)]);
    }
  };
  const cb = (label) =>
    function () {
      callbacks.push([label, Array.prototype.map.call(arguments, (a) => describe(a))]);
    };
  const uniq = (s) => s + '-' + writeKey;
  const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
  try {
    await new AsyncFunction('analytics', 'rec', 'cb', 'describe', 'uniq', src)(
      window.analytics,
      rec,
      cb,
      describe,
      uniq,
    );
  } catch (e) {
    outcomes.push(['<scenario body>', 'threw', String(e && e.message)]);
  }
  await rec('<end>', () => window.analytics.track(end));
  // Callbacks run up to settings.timeout (300 ms) after dispatch in analytics.js.
  await new Promise((r) => setTimeout(r, callbacks.length || /cb\(/.test(src) ? 400 : 0));
  return { outcomes, callbacks };
}
