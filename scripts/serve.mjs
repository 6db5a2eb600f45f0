// The demo behind `npm start`: starts the local collector (building it if the binary is
// missing) and serves www/ and dist/ on http://localhost:8080. index.html is rendered per
// request: the official Segment snippet (pointing at /dist/analytics.min.js, with the
// collector as cdnURL) and the collector URL are put in, and the page is sent with a strict
// Content-Security-Policy (the snippet is the only inline script, allowed by a nonce).
//
// The segment engine it serves is the demo build (`bash scripts/build.sh --demo`, which
// `npm start` runs: target/demo/), with a clock the page can move forward so that segments
// that take days can be shown; without it the page hides the clock and says so.
//
//   node scripts/serve.mjs        PORT (default 8080), COLLECTOR_PORT (default 8081),
//                                 SIEVE_DATA_DIR (default .data/collector); 0 = any free port
//
// Also importable: `startDemo({ port, collectorPort, dataDir, demoClock })` for tests.
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, resolve, sep } from 'node:path';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const WWW = join(ROOT, 'www');
const DIST = join(ROOT, 'dist');
const COLLECTOR_BIN = join(ROOT, 'target/release/sieve-collector');
export const WRITE_KEY = 'sieve-demo';

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json',
  '.ts': 'text/plain; charset=utf-8',
};

/** A startup failure with a message meant for the user (no stack trace needed). */
class DemoError extends Error {}

const progress = (text) => console.error('[start] ' + text);

/** The official @segment/snippet output, unmodified except the URL of the script it loads. */
function renderSnippet(scriptUrl, loadOptions) {
  const snippet = require('@segment/snippet');
  const code = snippet.min({
    apiKey: WRITE_KEY,
    host: 'cdn.example',
    ajsPath: '/sieve/analytics.min.js',
    load: loadOptions,
    page: true,
  });
  const placeholder = '"https://cdn.example/sieve/analytics.min.js"';
  if (!code.includes(placeholder)) throw new Error('unexpected @segment/snippet output: script URL not found');
  return code.replace(placeholder, JSON.stringify(scriptUrl));
}

const escapeAttr = (s) =>
  String(s).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** index.html with the snippet and the collector URL filled in, and its CSP header. The
 * settings come through this server (`webOrigin`), which adds the demo's device-mode
 * destination to the collector's (see `demoSettings`). */
function renderIndex(collectorUrl, webOrigin) {
  const nonce = randomBytes(16).toString('base64');
  const template = readFileSync(join(WWW, 'index.html'), 'utf8');
  // The URL goes into an inline script and a CSP header: only a plain http origin is accepted.
  for (const url of [collectorUrl, webOrigin])
    if (!/^http:\/\/[\w.:[\]-]+$/.test(url)) throw new Error('unexpected URL: ' + url);
  // stampContext: every event carries the visitor's current segments (context.segments), so the
  // feed can count events per segment.
  const snippet = renderSnippet('/dist/analytics.min.js', { cdnURL: webOrigin, segments: { stampContext: true } });
  const head =
    `<meta name="sieve-collector" content="${escapeAttr(collectorUrl)}">\n` +
    `  <meta name="sieve-write-key" content="${escapeAttr(WRITE_KEY)}">\n` +
    `  <!-- The official Segment snippet (@segment/snippet), unmodified except the script URL. -->\n` +
    `  <script nonce="${nonce}">${snippet}</script>`;
  if (!template.includes('<!-- sieve:head -->')) throw new Error('www/index.html has no <!-- sieve:head --> marker');
  const html = template.replace('<!-- sieve:head -->', () => head);
  const csp = [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'wasm-unsafe-eval'`,
    `connect-src 'self' ${collectorUrl}`,
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, csp };
}

// The demo's device-mode destination: a classic integration named in the settings, whose
// script is served where analytics.js (and Sieve) load classic integrations from the CDN
// (the name lowercased, spaces to '-'; version 'latest').
const DEMO_DESTINATION = 'Demo Offers';
const DEMO_DESTINATION_PATH = '/next-integrations/integrations/demo-offers/latest/demo-offers.dynamic.js.gz';

/** The collector's settings (segment definitions, Segment.io) plus the demo's destination. */
async function demoSettings(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error('the collector answered ' + r.status);
  const settings = await r.json();
  settings.integrations[DEMO_DESTINATION] = {
    type: 'browser',
    versionSettings: { componentTypes: ['browser'] },
    offer: '20 % off the next order',
  };
  return settings;
}

const DEMO_ENGINE = ['segments.js', 'segments-compile.js', 'sieve_segments_bg.wasm', 'sieve_segments_full_bg.wasm'].map(
  (f) => join(ROOT, 'target/demo', f),
);

/**
 * Maps a URL path to a file under www/ or dist/, or null (never outside those dirs). With
 * `demoClock`, the segment engine (runtime, both wasms, the compile part) is the demo build in
 * target/demo/ (never shipped).
 */
function fileFor(pathname, demoClock) {
  if (demoClock && /^\/dist\/(segments(-compile)?\.js|sieve_segments(_full)?_bg\.wasm)$/.test(pathname)) {
    return join(ROOT, 'target/demo', pathname.slice('/dist/'.length));
  }
  const [base, rel] = pathname.startsWith('/dist/')
    ? [DIST, pathname.slice('/dist/'.length)]
    : [WWW, pathname.slice(1)];
  const file = resolve(base, rel);
  if (!file.startsWith(base + sep)) return null;
  try {
    return statSync(file).isFile() ? file : null;
  } catch {
    return null;
  }
}

function handler(getCollectorUrl, demoClock) {
  return (req, res) => {
    const send = (status, type, body, headers = {}) => {
      res.writeHead(status, {
        'Content-Type': type,
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
        ...headers,
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return send(405, 'text/plain', 'method not allowed\n', { Allow: 'GET, HEAD' });
    let pathname;
    try {
      pathname = decodeURIComponent(new URL(req.url, 'http://localhost').pathname);
    } catch {
      return send(400, 'text/plain', 'bad request\n');
    }
    if (pathname.includes('\0')) return send(400, 'text/plain', 'bad request\n');
    try {
      if (pathname === '/' || pathname === '/index.html') {
        const collectorUrl = getCollectorUrl();
        if (!collectorUrl) return send(503, 'text/plain', 'starting, try again in a moment\n', { 'Retry-After': '1' });
        const { html, csp } = renderIndex(collectorUrl, 'http://' + (req.headers.host || 'localhost'));
        return send(200, MIME['.html'], html, { 'Content-Security-Policy': csp });
      }
      if (/^\/v1\/projects\/[^/]+\/settings$/.test(pathname)) {
        const collectorUrl = getCollectorUrl();
        if (!collectorUrl) return send(503, 'text/plain', 'starting, try again in a moment\n', { 'Retry-After': '1' });
        return demoSettings(collectorUrl + pathname).then(
          (settings) => send(200, 'application/json', JSON.stringify(settings), { 'Access-Control-Allow-Origin': '*' }),
          (err) => send(502, 'text/plain', 'settings: ' + err.message + '\n'),
        );
      }
      if (pathname === DEMO_DESTINATION_PATH) return send(200, MIME['.js'], readFileSync(join(WWW, 'demo-offers.js')));
      const file = fileFor(pathname, demoClock);
      if (!file) return send(404, 'text/plain', 'not found\n');
      return send(200, MIME[extname(file)] || 'application/octet-stream', readFileSync(file));
    } catch (err) {
      console.error('serve: ' + req.method + ' ' + req.url + ': ' + err.message);
      return send(500, 'text/plain', 'internal error\n');
    }
  };
}

function ensureCollectorBinary() {
  // Always (a no-op when fresh): a stale binary would validate with old core rules. The
  // collector is native, so it uses the host toolchain, never the wasm one.
  if (!existsSync(COLLECTOR_BIN)) progress('building the collector (cargo, a minute or two the first time)');
  const r = spawnSync('cargo', ['build', '--quiet', '--release', '-p', 'sieve-collector'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (r.error || r.status !== 0 || !existsSync(COLLECTOR_BIN)) {
    throw new DemoError(
      'could not build the collector: cargo build --release -p sieve-collector ' +
        (r.error ? 'failed: ' + r.error.message : 'exited with ' + r.status),
    );
  }
}

function listen(server, port, host) {
  return new Promise((resolveListen, reject) => {
    const onError = (err) => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolveListen(server.address().port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

function portError(err, port, what, envName) {
  if (err.code === 'EADDRINUSE')
    return new DemoError(
      `port ${port} is already in use (${what}); stop whatever uses it or set ${envName}=<another port>`,
    );
  if (err.code === 'EACCES')
    return new DemoError(`not allowed to listen on port ${port} (${what}); set ${envName}=<another port>`);
  return err;
}

/** Fails early, with a clear message, when the collector's port is taken. */
async function checkPortFree(port, what, envName) {
  if (port === 0) return;
  const probe = createServer();
  try {
    await listen(probe, port, '127.0.0.1');
  } catch (err) {
    throw portError(err, port, what, envName);
  }
  await new Promise((r) => probe.close(r));
}

function startCollectorProcess(port, dataDir, segmentsFile) {
  mkdirSync(dataDir, { recursive: true });
  const args = ['--port', String(port), '--data-dir', dataDir];
  if (segmentsFile) args.push('--segments-file', segmentsFile);
  const proc = spawn(COLLECTOR_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (chunk) => {
    stderr += chunk;
    process.stderr.write(chunk);
  });
  const ready = new Promise((resolveUrl, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new DemoError('the collector did not start within 10 s')), 10_000);
    const onData = (chunk) => {
      buf += chunk;
      const m = /listening on (http:\/\/\S+)/.exec(buf);
      if (m) {
        clearTimeout(timer);
        proc.stdout.off('data', onData);
        proc.stdout.resume(); // keep draining whatever it prints later
        resolveUrl(m[1]);
      }
    };
    proc.stdout.on('data', onData);
    proc.once('error', (err) => {
      clearTimeout(timer);
      reject(new DemoError('could not start the collector: ' + err.message));
    });
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      const why = /already in use/i.test(stderr)
        ? `port ${port} is already in use (collector); set COLLECTOR_PORT=<another port>`
        : `the collector exited (${signal || 'code ' + code}) before listening`;
      reject(new DemoError(why));
    });
  });
  return { proc, ready };
}

/**
 * Starts the collector and the static server. Resolves to { url, collectorUrl, writeKey,
 * collector (child process), exited (promise: the collector's exit), stop() }.
 * `segmentsFile` is passed to the collector (`--segments-file`, served in the settings).
 */
export async function startDemo({
  port = 8080,
  collectorPort = 8081,
  dataDir = join(ROOT, '.data/collector'),
  segmentsFile = join(WWW, 'segments.json'),
  demoClock = true,
} = {}) {
  if (!existsSync(join(DIST, 'analytics.min.js')) || !existsSync(join(DIST, 'sieve_bg.wasm'))) {
    throw new DemoError('dist/ is not built: run `npm run build` (or `npm start`, which builds)');
  }
  if (demoClock && !DEMO_ENGINE.every((f) => existsSync(f))) {
    progress('no demo clock (target/demo/ is built by `npm start`): the segments that take days cannot be shown');
    demoClock = false;
  }
  ensureCollectorBinary();
  let collectorUrl = null;
  const server = createServer(handler(() => collectorUrl, demoClock));
  let webPort;
  try {
    webPort = await listen(server, port, '127.0.0.1');
  } catch (err) {
    throw portError(err, port, 'demo web server', 'PORT');
  }
  let collector;
  try {
    await checkPortFree(collectorPort, 'collector', 'COLLECTOR_PORT');
    progress('starting the collector');
    collector = startCollectorProcess(collectorPort, dataDir, segmentsFile);
    collectorUrl = await collector.ready;
  } catch (err) {
    collector?.proc.kill('SIGKILL');
    await new Promise((r) => server.close(r));
    throw err;
  }
  const exited = new Promise((r) => collector.proc.once('exit', (code, signal) => r({ code, signal })));
  let stopping;
  return {
    url: 'http://localhost:' + webPort,
    collectorUrl,
    writeKey: WRITE_KEY,
    collector: collector.proc,
    exited,
    stop() {
      return (stopping ||= (async () => {
        if (collector.proc.exitCode === null && collector.proc.signalCode === null) collector.proc.kill('SIGTERM');
        server.closeAllConnections?.();
        await Promise.all([new Promise((r) => server.close(r)), exited]);
      })());
    },
  };
}

function envPort(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new DemoError(`${name}=${raw} is not a port number`);
  return n;
}

async function main() {
  let demo;
  try {
    demo = await startDemo({
      port: envPort('PORT', 8080),
      collectorPort: envPort('COLLECTOR_PORT', 8081),
      dataDir: process.env.SIEVE_DATA_DIR || undefined,
    });
  } catch (err) {
    console.error('sieve demo: ' + (err instanceof DemoError ? err.message : err.stack || err));
    process.exit(1);
  }
  console.log(
    `\n  Sieve demo       ${demo.url}\n  Collector        ${demo.collectorUrl}   (GET /events lists what it received)\n\n  Ctrl-C stops both.\n`,
  );
  let shuttingDown = false;
  const shutdown = async (signal) => {
    if (shuttingDown) return;
    shuttingDown = true;
    console.log(`\n${signal}: stopping the demo and the collector`);
    await demo.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('exit', () => demo.collector.exitCode === null && demo.collector.kill('SIGKILL'));
  demo.exited.then(({ code, signal }) => {
    if (shuttingDown) return;
    // Ctrl-C in a terminal signals the whole process group: the collector may see it first.
    if (signal === 'SIGINT' || signal === 'SIGTERM') return shutdown(signal);
    console.error(`sieve demo: the collector stopped unexpectedly (${signal || 'code ' + code})`);
    process.exit(1);
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
