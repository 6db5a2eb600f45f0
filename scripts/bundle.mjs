// Bundles the JS shim with esbuild: dist/analytics.min.js (script tag, IIFE) and
// dist/index.js (ESM for bundlers), and copies the hand-written types.
import { build } from 'esbuild';
import { copyFileSync } from 'node:fs';

const common = { bundle: true, minify: true, target: ['es2020'], legalComments: 'none', logLevel: 'warning' };

await build({
  ...common,
  entryPoints: ['js/standalone.js'],
  outfile: 'dist/analytics.min.js',
  format: 'iife',
  // The script tag passes its own wasm URL; wasm-bindgen's import.meta default is never used.
  define: { 'import.meta.url': '""' },
});
// The lazily loaded parts (js/chunks.js): dist/index.js imports './<name>.js' at run time
// (the files built below, next to it); the script tag imports them from its own URL.
const CHUNKS = ['plugins', 'autotrack', 'querystring'];
const chunksExternal = {
  name: 'chunks-external',
  setup(b) {
    b.onResolve({ filter: /^\.\/(segments|plugins|autotrack|querystring)\.js$/ }, (args) =>
      args.importer.endsWith('index.js') ? { path: args.path, external: true } : undefined,
    );
  },
};
await build({ ...common, entryPoints: ['js/index.js'], outfile: 'dist/index.js', format: 'esm', minify: false, plugins: [chunksExternal] });
// Each imports nothing: the core hands them what they need (the Context class).
await build({ ...common, entryPoints: CHUNKS.map((n) => 'js/' + n + '.js'), outdir: 'dist', format: 'esm' });
// The segments runtime + its wasm-bindgen glue, loaded with import() only when definitions
// exist; its wasm (dist/sieve_segments_bg.wasm) is found next to it via import.meta.url.
await build({ ...common, entryPoints: ['js/segments.js'], outfile: 'dist/segments.js', format: 'esm' });
copyFileSync('js/index.d.ts', 'dist/index.d.ts');

// Demo only (scripts/build.sh with SIEVE_DEMO_CLOCK=1): the same runtime bound to the
// demo-clock glue, next to its wasm in target/demo/ (served by scripts/serve.mjs).
if (process.env.SIEVE_DEMO_CLOCK === '1') {
  const demoGlue = {
    name: 'demo-glue',
    setup(b) {
      b.onResolve({ filter: /sieve_segments\.js$/ }, () => ({ path: new URL('../target/demo/pkg/sieve_segments.js', import.meta.url).pathname }));
    },
  };
  await build({ ...common, entryPoints: ['js/segments.js'], outfile: 'target/demo/segments.js', format: 'esm', plugins: [demoGlue] });
}
