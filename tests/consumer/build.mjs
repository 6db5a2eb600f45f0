// Builds the consumer fixture apps (apps/) into target/consumer/<app>/, each with its
// bundler's own JavaScript API, against the sieve-analytics installed here (the packed
// tarball, installed by tests/e2e/consumer.test.mjs):
//   node tests/consumer/build.mjs [vite] [webpack] [esbuild] [react]   (default: all)
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const HERE = dirname(fileURLToPath(import.meta.url));
const APPS = join(HERE, 'apps');
const OUT = resolve(HERE, '../../target/consumer');
const require = createRequire(import.meta.url);

const fresh = (dir) => {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
};

// The page of a bundle that is a classic script (webpack, esbuild): Vite's apps/vite/index.html
// with that script tag and the bundler's name.
function writePage(bundler, out) {
  const html = readFileSync(join(APPS, 'vite/index.html'), 'utf8')
    .replaceAll('vite', bundler)
    .replace('<script type="module" src="./main.js"></script>', '<script src="./main.js" defer></script>');
  if (!html.includes('defer')) throw new Error('apps/vite/index.html: no module script tag to replace');
  writeFileSync(join(out, 'index.html'), html);
}

const builders = {
  async vite() {
    const { build } = await import('vite');
    await build({
      configFile: false,
      root: join(APPS, 'vite'),
      base: './',
      logLevel: 'warn',
      build: { outDir: fresh(join(OUT, 'vite')), emptyOutDir: true },
    });
  },

  async webpack() {
    const { default: webpack } = await import('webpack');
    const out = fresh(join(OUT, 'webpack'));
    const stats = await new Promise((res, rej) =>
      webpack(
        { mode: 'production', context: APPS, entry: './webpack/main.js', output: { path: out, filename: 'main.js' } },
        (err, s) => (err ? rej(err) : res(s)),
      ),
    );
    if (stats.hasErrors()) throw new Error(stats.toString('errors-only'));
    writePage('webpack', out);
  },

  async esbuild() {
    const esbuild = await import('esbuild');
    const out = fresh(join(OUT, 'esbuild'));
    await esbuild.build({
      entryPoints: [join(APPS, 'esbuild/main.js')],
      bundle: true,
      minify: true,
      outfile: join(out, 'main.js'),
      logLevel: 'error',
    });
    writePage('esbuild', out);
    // The step README documents for esbuild: the wasm files, where assetsURL says.
    const dist = join(dirname(require.resolve('sieve-analytics/package.json')), 'dist');
    mkdirSync(join(out, 'sieve'));
    for (const f of readdirSync(dist).filter((n) => n.endsWith('.wasm'))) cpSync(join(dist, f), join(out, 'sieve', f));
  },

  // Client bundle (with index.html) and an SSR bundle exporting render().
  async react() {
    const { build } = await import('vite');
    const common = { configFile: false, root: join(APPS, 'react'), base: './', logLevel: 'warn' };
    await build({ ...common, build: { outDir: fresh(join(OUT, 'react/client')), emptyOutDir: true } });
    await build({
      ...common,
      // Everything in the bundle: it runs from target/, where no node_modules is.
      ssr: { noExternal: true },
      build: { ssr: 'server.jsx', outDir: fresh(join(OUT, 'react/server')), emptyOutDir: true },
    });
  },
};

const names = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(builders);
for (const name of names) {
  if (!builders[name]) throw new Error('unknown app ' + name + ' (' + Object.keys(builders).join(', ') + ')');
  const t = Date.now();
  await builders[name]();
  console.log('built ' + name + ' in ' + (Date.now() - t) + ' ms');
}
