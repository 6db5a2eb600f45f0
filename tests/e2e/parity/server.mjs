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

const MIME = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.map': 'application/json' };

export async function startDocServer() {
  const docs = {};
  const server = createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    const path = decodeURIComponent(u.pathname);
    if (path.startsWith('/dist/') || path.startsWith('/node_modules/')) {
      const file = join(ROOT, path);
      if (!file.startsWith(ROOT + '/') || !existsSync(file) || !statSync(file).isFile()) {
        res.writeHead(404);
        res.end();
        return;
      }
      res.writeHead(200, { 'Content-Type': MIME[extname(file)] || 'application/octet-stream', 'Cache-Control': 'no-store' });
      res.end(readFileSync(file));
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
    stop: () => new Promise((r) => {
      server.closeAllConnections?.();
      server.close(r);
    }),
  };
}
