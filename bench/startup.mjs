// Time from script start to initialized, one freshly launched Chromium per sample (no HTTP
// cache, no code cache, fresh storage), SDKs interleaved with the order alternating.
// No Playwright request interception: external hosts are blocked by the harness's
// --host-resolver-rules.
import { launch } from '../tests/e2e/harness.mjs';

const READY_TIMEOUT_MS = 15_000;

async function sample(url, scriptUrl) {
  const browser = await launch();
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => m.type() === 'error' && errors.push('console.error: ' + m.text()));
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    const r = await page.evaluate(
      async ({ scriptUrl, timeout }) => {
        const b = window.__bench;
        await Promise.race([
          b.ready,
          new Promise((_, reject) =>
            setTimeout(() => reject(new Error('not initialized after ' + timeout + ' ms')), timeout),
          ),
        ]);
        // First call on a cold instance (lazy compilation of the call path included).
        const t0 = performance.now();
        window.analytics.track('Startup First Track', { n: 1 });
        const firstTrackMs = performance.now() - t0;
        const script = performance.getEntriesByName(scriptUrl, 'resource')[0];
        const resources = performance.getEntriesByType('resource').map((e) => ({
          url: e.name,
          startTime: e.startTime,
          responseEnd: e.responseEnd,
          encodedBodySize: e.encodedBodySize,
          status: e.responseStatus,
        }));
        return {
          snippetAt: b.snippetAt,
          scriptStart: script ? script.startTime : NaN,
          scriptEnd: script ? script.responseEnd : NaN,
          readyAt: b.readyAt,
          via: b.via,
          initialized: window.analytics.initialized === true,
          firstTrackMs,
          resources,
        };
      },
      { scriptUrl, timeout: READY_TIMEOUT_MS },
    );
    // What was fetched before the instance was live (favicon aside), times relative to script start.
    const before = r.resources.filter((e) => e.startTime <= r.readyAt && !e.url.endsWith('/favicon.ico'));
    const lastFetchEnd = Math.max(...before.map((e) => e.responseEnd));
    return {
      ...r,
      startToReadyMs: r.readyAt - r.scriptStart,
      navToReadyMs: r.readyAt,
      scriptDownloadMs: r.scriptEnd - r.scriptStart,
      // CPU-bound tail: from the end of the last download (script, settings, wasm) to live.
      lastFetchToReadyMs: r.readyAt - lastFetchEnd,
      loadedBeforeReady: before.map((e) => ({
        url: e.url,
        bytes: e.encodedBodySize,
        status: e.status,
        start: +(e.startTime - r.scriptStart).toFixed(1),
        end: +(e.responseEnd - r.scriptStart).toFixed(1),
      })),
      errors,
    };
  } finally {
    await browser.close();
  }
}

/** `cases`: [{ id, url, scriptUrl }]. Returns { [id]: [sample, ...] }. */
export async function runStartup(cases, launches, log) {
  const out = Object.fromEntries(cases.map((c) => [c.id, []]));
  for (let i = 0; i < launches; i++) {
    const order = i % 2 === 0 ? cases : [...cases].reverse();
    for (const c of order) {
      const s = await sample(c.url, c.scriptUrl);
      out[c.id].push(s);
      log(
        `startup ${i + 1}/${launches} ${c.id}: ${s.startToReadyMs.toFixed(1)} ms (first track ${s.firstTrackMs.toFixed(2)} ms)`,
      );
    }
  }
  return out;
}
