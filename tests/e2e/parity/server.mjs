// A loopback document server for the differential test. Both SDK pages must have the very same
// URL (page context is compared), yet different HTML (script URL, write key). Each browser
// context carries an httpOnly cookie `__parity_side=<sdk>` (invisible to page scripts, and
// filtered out of storage comparisons) that picks the document. Files under /dist/ and
// /node_modules/ are served from the repo. (Documents fulfilled by Playwright routes are not
// usable: Chromium treats them as public and blocks their requests to the loopback collector.)
import { createServer } from 'node:http';
import { readFileSync, existsSync, statSync } from 'node:fs';
import { join, extname } from 'node:path';
import { ROOT } from '../harness.mjs';

const MIME = {
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.map': 'application/json',
};

// The Sieve build under test (and analytics-next's bundle) is read once at start (others may rebuild dist/ while the suite
// runs; a half-written wasm must not turn into a flaky failure). A wasm that does not validate
// yet is re-read for a few seconds.
async function snapshotDist() {
  const files = new Map();
  for (const name of ['analytics.min.js', 'index.js', 'sieve_bg.wasm']) {
    const file = join(ROOT, 'dist', name);
    if (!existsSync(file)) continue;
    let bytes = readFileSync(file);
    for (let i = 0; name.endsWith('.wasm') && !WebAssembly.validate(bytes) && i < 50; i++) {
      await new Promise((r) => setTimeout(r, 200));
      bytes = readFileSync(file);
    }
    files.set('/dist/' + name, bytes);
  }
  // analytics-next's bundle too (a concurrent `npm ci` may swap node_modules under us).
  const ajs = '/node_modules/@segment/analytics-next/dist/umd/standalone.js';
  if (existsSync(join(ROOT, ajs))) files.set(ajs, readFileSync(join(ROOT, ajs)));
  return files;
}

/** analytics-next's npm entry (what `import { AnalyticsBrowser } from '@segment/analytics-next'`
 * gives a bundler user), bundled by esbuild into a classic script exposing
 * `window.AJSNext.AnalyticsBrowser`; its lazy chunks are inlined. */
async function bundleAnalyticsNextNpm() {
  const { build } = await import('esbuild');
  const out = await build({
    stdin: { contents: "export { AnalyticsBrowser } from '@segment/analytics-next';", resolveDir: ROOT, loader: 'js' },
    bundle: true,
    format: 'iife',
    globalName: 'AJSNext',
    platform: 'browser',
    write: false,
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'error',
  });
  return Buffer.from(out.outputFiles[0].contents);
}

export async function startDocServer() {
  const docs = {};
  const dist = await snapshotDist();
  dist.set('/parity/ajs-npm.js', await bundleAnalyticsNextNpm());
  const server = createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    const path = decodeURIComponent(u.pathname);
    if (dist.has(path)) {
      res.writeHead(200, { 'Content-Type': MIME[extname(path)], 'Cache-Control': 'no-store' });
      res.end(dist.get(path));
      return;
    }
    if (path.startsWith('/dist/') || path.startsWith('/node_modules/')) {
      const file = join(ROOT, path);
      if (!file.startsWith(ROOT + '/') || !existsSync(file) || !statSync(file).isFile()) {
        res.writeHead(404);
        res.end();
        return;
      }
      res.writeHead(200, {
        'Content-Type': MIME[extname(file)] || 'application/octet-stream',
        'Cache-Control': 'no-store',
      });
      res.end(readFileSync(file));
      return;
    }
    if (path === '/favicon.ico') {
      res.writeHead(204);
      res.end();
      return;
    }
    const side = /(?:^|;\s*)__parity_side=(\w+)/.exec(req.headers.cookie || '');
    const html = side && docs[side[1]];
    if (req.method !== 'GET' || html === undefined) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(html);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = 'http://localhost:' + server.address().port;
  return {
    url,
    docs,
    stop: () =>
      new Promise((r) => {
        server.closeAllConnections?.();
        server.close(r);
      }),
  };
}
