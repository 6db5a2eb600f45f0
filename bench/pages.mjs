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
    // What the script tag can make a page download, by part: `plain` is what every page
    // fetches before its first event is sent; `definitions` what a page fetches only because
    // segment definitions exist (issue 15's second budget); `lazy` the other parts, each
    // fetched only when a page uses what `trigger` says.
    files: [
      { name: 'analytics.min.js (shim)', path: 'dist/analytics.min.js', part: 'plain' },
      { name: 'sieve_bg.wasm (core)', path: 'dist/sieve_bg.wasm', part: 'plain' },
      {
        name: 'plugins.js',
        path: 'dist/plugins.js',
        part: 'lazy',
        trigger: 'register(), source or destination middleware',
      },
      { name: 'autotrack.js', path: 'dist/autotrack.js', part: 'lazy', trigger: 'trackLink(), trackForm()' },
      { name: 'querystring.js', path: 'dist/querystring.js', part: 'lazy', trigger: 'ajs_* parameters in the URL' },
      { name: 'segments.js (segments runtime)', path: 'dist/segments.js', part: 'definitions', engine: true },
      {
        name: 'sieve_segments_bg.wasm (segment engine)',
        path: 'dist/sieve_segments_bg.wasm',
        part: 'definitions',
        engine: true,
      },
      {
        name: 'sieve_segments_full_bg.wasm (engine + parser)',
        path: 'dist/sieve_segments_full_bg.wasm',
        part: 'alt',
        engine: true,
        trigger: 'instead of sieve_segments_bg.wasm when definitions arrive as JSON',
      },
      {
        name: 'segments-compile.js',
        path: 'dist/segments-compile.js',
        part: 'lazy',
        engine: true,
        trigger: 'JSON definitions given to a page that started with compiled ones',
      },
    ],
    beforeFirstEvent: ['dist/analytics.min.js', 'dist/sieve_bg.wasm'],
  },
  {
    id: 'next',
    label: 'analytics-next ' + NEXT_VERSION,
    scriptPath: '/' + NEXT_DIR + '/dist/umd/standalone.js',
    files: [{ name: 'standalone.js', path: NEXT_DIR + '/dist/umd/standalone.js', part: 'plain' }],
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
