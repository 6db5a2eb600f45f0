// Shared rig for browser tests and the bench: the real collector (spawned binary, SQLite in
// a temp dir), a static server for dist/ and test pages on another origin, headless Debian
// Chromium through playwright-core, and the official Segment snippet renderer.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, extname, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';
import { before, after } from 'node:test';

const require = createRequire(import.meta.url);
export const ROOT = resolve(new URL('../..', import.meta.url).pathname);
const snippet = require('@segment/snippet');

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Nothing leaves the machine: every host but loopback fails fast.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
];

/** Starts the collector on a free port with a fresh data dir. */
export async function startCollector({ segmentsFile } = {}) {
  const bin = join(ROOT, 'target/release/sieve-collector');
  if (!existsSync(bin)) throw new Error('collector binary missing: run `cargo build --release -p sieve-collector`');
  const dataDir = mkdtempSync(join(tmpdir(), 'sieve-collector-'));
  const args = ['--port', '0', '--data-dir', dataDir];
  if (segmentsFile) args.push('--segments-file', segmentsFile);
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolveUrl, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('collector did not start')), 10_000);
    proc.stdout.on('data', (chunk) => {
      buf += chunk;
      const m = /listening on (http:\/\/\S+)/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]);
      }
    });
    proc.on('exit', (code) => reject(new Error('collector exited with ' + code)));
  });
  const api = async (path, init) => {
    const res = await fetch(url + path, init);
    const text = await res.text();
    return text ? JSON.parse(text) : null;
  };
  return {
    url,
    host: url.replace(/^http:\/\//, ''),
    events: async (writeKey) =>
      (await api('/events' + (writeKey ? '?writeKey=' + encodeURIComponent(writeKey) : ''))).events.map((e) => e.event),
    rawEvents: async () => (await api('/events')).events,
    stats: () => api('/admin/stats'),
    requests: () => api('/admin/requests'),
    fault: (rule) => api('/admin/faults', { method: 'POST', body: JSON.stringify(rule) }),
    clearFaults: () => api('/admin/faults', { method: 'DELETE' }),
    clear: () => api('/admin/clear', { method: 'POST' }),
    async stop() {
      proc.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const MIME = {
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.html': 'text/html',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.css': 'text/css',
};

/**
 * Serves the repo (dist/, www/, node_modules/) plus pages registered by tests, on its own
 * origin. `wrongWasmMime` serves .wasm as application/octet-stream (fallback path).
 */
export async function startStatic({ wrongWasmMime = false, headers = {} } = {}) {
  const pages = new Map();
  const requested = []; // every path asked for, in order
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    requested.push(path);
    if (path === INIT_PATH) {
      res.writeHead(200, { 'Content-Type': 'text/javascript', 'Cache-Control': 'no-store' });
      res.end(init || '');
      return;
    }
    const page = pages.get(path);
    if (page !== undefined) {
      res.writeHead(200, {
        'Content-Type': 'text/html; charset=utf-8',
        'Cache-Control': 'no-store',
        ...(page.headers || {}),
        ...headers,
      });
      res.end(init === null ? page.html : withInit(page.html));
      return;
    }
    const file = join(ROOT, path);
    if (!file.startsWith(ROOT) || !existsSync(file) || path.endsWith('/')) {
      res.writeHead(404);
      res.end('not found');
      return;
    }
    let type = MIME[extname(file)] || 'application/octet-stream';
    if (wrongWasmMime && type === 'application/wasm') type = 'application/octet-stream';
    res.writeHead(200, { 'Content-Type': type, 'Cache-Control': 'no-store', ...headers });
    res.end(readFileSync(file));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = 'http://localhost:' + server.address().port;
  return {
    url,
    requested,
    page(path, html, pageHeaders) {
      pages.set(path, { html, headers: pageHeaders });
      return url + path;
    },
    /**
     * `code` (or null: none) runs first in every page registered with `page()` of every
     * static server of the process (an external same-origin script, so a strict CSP with
     * 'self' lets it run): tests/e2e/engines.mjs's init scripts, the same way in every engine.
     */
    setInit(code) {
      init = code;
    },
    stop: () => new Promise((r) => server.close(r)),
  };
}

const INIT_PATH = '/__sieve_init.js';
let init = null; // see setInit
// The init script's tag, as the first thing in <head> (or in the document).
function withInit(html) {
  const tag = `<script src="${INIT_PATH}"></script>`;
  const head = /<head[^>]*>/i.exec(html);
  if (head) return html.slice(0, head.index + head[0].length) + tag + html.slice(head.index + head[0].length);
  const doctype = /^\s*<!doctype[^>]*>/i.exec(html);
  return doctype ? doctype[0] + tag + html.slice(doctype[0].length) : tag + html;
}

/** The official snippet, unmodified except the script URL it loads. */
export function renderSnippet({ writeKey = 'WK', scriptUrl, loadOptions, page = true, globalAnalyticsKey }) {
  const code = snippet.min({
    apiKey: writeKey,
    host: 'cdn.example',
    ajsPath: '/sieve/analytics.min.js',
    load: loadOptions || true,
    page,
    globalAnalyticsKey,
  });
  return code.replace('"https://cdn.example/sieve/analytics.min.js"', JSON.stringify(scriptUrl));
}

/** A page: snippet + body script. */
export function snippetPage({ title = 'Test Page', head = '', snippetOptions, body = '', canonical }) {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>
${canonical ? `<link rel="canonical" href="${canonical}">` : ''}
<script>${renderSnippet(snippetOptions)}</script>${head}</head><body>${body}</body></html>`;
}

export async function launch() {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true });
}

/** A new page that records console messages and uncaught page errors. */
export async function newPage(browser, contextOptions) {
  const context = await browser.newContext(contextOptions);
  const page = await context.newPage();
  page.logs = [];
  page.errors = [];
  page.on('console', (m) => page.logs.push({ type: m.type(), text: m.text() }));
  page.on('pageerror', (e) => page.errors.push(e.stack || String(e))); // the stack names the culprit
  return page;
}

/** Polls `fn` until it returns a truthy value (or throws after `timeout` ms). */
export async function waitFor(fn, { timeout = 10_000, interval = 50, what = 'condition' } = {}) {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - start > timeout) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** Load options that make batches leave fast in tests (the default timeout is 5 s). */
export const FAST = (collector, extra = {}) => ({
  cdnURL: collector.url,
  integrations: { 'Segment.io': { deliveryStrategy: { strategy: 'batching', config: { size: 10, timeout: 100 } } } },
  ...extra,
});

/**
 * Starts the collector, a static server and Chromium before a test file's tests and stops
 * them after; `assign` receives `{collector, web, browser}` once they are up.
 * `collectorOptions` (or a function returning them, run first) goes to startCollector.
 */
export function useRig(assign, collectorOptions) {
  let rig = {};
  before(async () => {
    const options = typeof collectorOptions === 'function' ? collectorOptions() : collectorOptions;
    rig = { collector: await startCollector(options), web: await startStatic(), browser: await launch() };
    assign(rig);
  });
  after(async () => {
    await rig.browser?.close();
    await rig.web?.stop();
    await rig.collector?.stop();
  });
}

/** Waits until `collector` holds at least `n` events for `writeKey`, and returns them. */
export function eventsOf(collector, writeKey, n) {
  return waitFor(
    async () => {
      const events = await collector.events(writeKey);
      return events.length >= n && events;
    },
    { what: n + ' events for ' + writeKey },
  );
}
