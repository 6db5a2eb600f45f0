// The SDKs under test and the one page both are measured on.
//
// Setup, identical for both SDKs except the script URL:
// - The page is the official Segment snippet (harness `renderSnippet`), served by the harness
//   static server, which also stands in for the CDN: it serves the script, Sieve's wasm next
//   to it, the settings at /v1/projects/<writeKey>/settings and analytics-next's lazy chunks
//   at /analytics-next/bundles/ (standalone.js derives its chunk URL from the CDN URL). The
//   settings are the collector's own Segment-shaped response, fetched once per write key, so
//   events go to the local collector (`apiHost` = collector host + /v1).
// - Both SDKs take the CDN URL from the stub's `_cdn` (standalone.js only reads `_cdn`; the
//   `cdnURL` load option is not read by its script-tag entry). Set before the snippet runs.
// - Load options, the same for both: delivery strategy "batching", size 10, timeout 5000 ms
//   (Sieve's default; analytics-next's default is one request per event).
// - A setter on `window.analytics` records performance.now() when the live instance
//   (`initialized === true`) replaces the stub, so no polling runs during startup.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, renderSnippet } from '../tests/e2e/harness.mjs';

const NEXT_DIR = 'node_modules/@segment/analytics-next';
export const NEXT_VERSION = JSON.parse(readFileSync(join(ROOT, NEXT_DIR, 'package.json'), 'utf8')).version;

export const SDKS = [
  {
    id: 'sieve',
    label: 'Sieve',
    scriptPath: '/dist/analytics.min.js',
    // What the script tag makes the page download, and what must load before the first event.
    files: [
      { name: 'analytics.min.js (shim)', path: 'dist/analytics.min.js' },
      { name: 'sieve_bg.wasm (core)', path: 'dist/sieve_bg.wasm' },
      // The segment engine: imported by the shim only when definitions exist (issue 6).
      { name: 'segments.js (engine, lazy)', path: 'dist/segments.js', engine: true },
      { name: 'sieve_segments_bg.wasm (engine, lazy)', path: 'dist/sieve_segments_bg.wasm', engine: true },
      // Alternatives (issue 15), served but not counted in the totals: a page with JSON
      // definitions fetches the full engine instead of the one above; segments-compile.js only
      // when JSON arrives later on a page that started with compiled definitions.
      {
        name: 'sieve_segments_full_bg.wasm (engine + parser, lazy, instead for JSON definitions)',
        path: 'dist/sieve_segments_full_bg.wasm',
        engine: true,
        alt: true,
      },
      {
        name: 'segments-compile.js (lazy, JSON after compiled)',
        path: 'dist/segments-compile.js',
        engine: true,
        alt: true,
      },
    ],
    beforeFirstEvent: ['dist/analytics.min.js', 'dist/sieve_bg.wasm'],
  },
  {
    id: 'next',
    label: 'analytics-next ' + NEXT_VERSION,
    scriptPath: '/' + NEXT_DIR + '/dist/umd/standalone.js',
    files: [{ name: 'standalone.js', path: NEXT_DIR + '/dist/umd/standalone.js' }],
    beforeFirstEvent: [NEXT_DIR + '/dist/umd/standalone.js'],
  },
];

export const LOAD_OPTIONS = {
  integrations: { 'Segment.io': { deliveryStrategy: { strategy: 'batching', config: { size: 10, timeout: 5000 } } } },
};

const MIME = { '.js': 'text/javascript', '.wasm': 'application/wasm' };

/**
 * Serves a snapshot of each SDK's files (taken now), so a concurrent `npm run build` cannot
 * change what the bench loads half-way through; returns the snapshot's bytes by path.
 */
export function registerSnapshot(web) {
  const snap = {};
  for (const sdk of SDKS) {
    for (const f of presentFiles(sdk)) {
      const buf = readFileSync(join(ROOT, f.path));
      snap[f.path] = buf;
      web.page('/' + f.path, buf, {
        'Content-Type': MIME[f.path.slice(f.path.lastIndexOf('.'))] || 'application/octet-stream',
      });
    }
  }
  // No 404 noise in the console from the browser's favicon request.
  web.page('/favicon.ico', '', { 'Content-Type': 'image/x-icon' });
  return snap;
}

/** Drops engine files a build does not have (builds before the engine had its own artefact). */
export function presentFiles(sdk) {
  return sdk.files.filter((f) => !f.engine || existsSync(join(ROOT, f.path)));
}

/** Serves analytics-next's lazily loaded chunks where standalone.js looks for them. */
export function registerChunks(web) {
  const dir = join(ROOT, NEXT_DIR, 'dist/umd');
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.js') || f === 'standalone.js') continue;
    web.page('/analytics-next/bundles/' + f, readFileSync(join(dir, f), 'utf8'), { 'Content-Type': 'text/javascript' });
  }
}

/** Registers the collector's settings for `writeKey` on the CDN stand-in. */
export async function registerSettings(web, collector, writeKey, extra = {}) {
  const res = await fetch(collector.url + '/v1/projects/' + encodeURIComponent(writeKey) + '/settings');
  if (!res.ok) throw new Error('collector settings: HTTP ' + res.status);
  const settings = { ...(await res.json()), ...extra };
  web.page('/v1/projects/' + encodeURIComponent(writeKey) + '/settings', JSON.stringify(settings), {
    'Content-Type': 'application/json',
  });
  return settings;
}

export function benchPage({ writeKey, scriptUrl, cdn, loadOptions = LOAD_OPTIONS }) {
  const hook = `(function () {
  var b = (window.__bench = { snippetAt: performance.now(), readyAt: null, via: null });
  b.ready = new Promise(function (resolve) { b.resolve = resolve; });
  function mark(v, via) {
    if (b.readyAt === null && v && v.initialized === true) { b.readyAt = performance.now(); b.via = via; b.resolve(); return true; }
    return false;
  }
  var stub = [];
  stub._cdn = ${JSON.stringify(cdn)};
  var current = stub;
  Object.defineProperty(window, 'analytics', {
    configurable: true,
    enumerable: true,
    get: function () { return current; },
    set: function (v) {
      current = v;
      // An instance that flips 'initialized' only after replacing the stub: poll every 1 ms.
      if (!mark(v, 'setter') && v && !Array.isArray(v)) {
        var t = setInterval(function () { if (current !== v || mark(v, 'poll')) clearInterval(t); }, 1);
      }
    },
  });
})();`;
  return `<!doctype html><html><head><meta charset="utf-8"><title>Sieve bench</title>
<script>${hook}</script>
<script>${renderSnippet({ writeKey, scriptUrl, loadOptions, page: true })}</script>
</head><body><p>bench page</p></body></html>`;
}
