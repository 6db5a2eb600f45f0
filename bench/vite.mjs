// What the npm route ships: a minimal Vite app that imports `sieve-analytics` (this
// repository's dist/, as a package would resolve it) and loads it, built with Vite's
// defaults for production. Returns every emitted file with its sizes, split into what the
// page loads before its first event (the entry chunk, its static imports and the core wasm
// that `load()` fetches) and the lazily loaded parts (dynamic imports and their assets).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'vite';
import { ROOT } from '../tests/e2e/harness.mjs';
import { fileSizes } from './sizes.mjs';

const APP = `import { AnalyticsBrowser } from 'sieve-analytics';
export const analytics = AnalyticsBrowser.load({ writeKey: 'WRITE_KEY' });
analytics.page();
`;

export async function buildViteApp() {
  const dir = join(ROOT, 'target/bench-vite');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><script type="module" src="/main.js"></script>\n');
  writeFileSync(join(dir, 'main.js'), APP);
  await build({
    root: dir,
    logLevel: 'silent',
    configFile: false,
    // The package as npm would install it: package.json's exports, pointing at dist/.
    resolve: { alias: { 'sieve-analytics': join(ROOT, 'dist/index.js') } },
    build: { outDir: join(dir, 'out'), manifest: true, emptyOutDir: true },
  });
  const manifest = JSON.parse(readFileSync(join(dir, 'out/.vite/manifest.json'), 'utf8'));
  // Eager: the entry and what it imports statically, with their assets (the core wasm is an
  // asset of the chunk holding js/index.js's `new URL('./sieve_bg.wasm', import.meta.url)`).
  const eager = new Set();
  const visit = (key) => {
    const chunk = manifest[key];
    if (!chunk || eager.has(chunk.file)) return;
    eager.add(chunk.file);
    for (const a of chunk.assets || []) eager.add(a);
    for (const k of chunk.imports || []) visit(k);
  };
  visit(Object.keys(manifest).find((k) => manifest[k].isEntry));
  const files = new Set(Object.values(manifest).flatMap((c) => [c.file, ...(c.assets || [])]));
  return [...files].sort().map((file) => ({
    file,
    eager: eager.has(file),
    ...fileSizes(join(dir, 'out', file)),
  }));
}
