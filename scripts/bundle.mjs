// Bundles the JS shim with esbuild: dist/analytics.min.js (script tag, IIFE) and
// dist/index.js (ESM for bundlers), and copies the hand-written types.
import { build } from 'esbuild';
import { copyFileSync, readFileSync } from 'node:fs';

// wasm-bindgen's glue (target/pkg/sieve.js for the core, segments/sieve_segments.js for the segment
// engine) carries code Sieve never runs. Each edit below must apply (the build fails
// otherwise: re-check them when wasm-bindgen or the exports change); together they take
// ~500 B off analytics.min.js (gzip).
const CORE_GLUE = /[\\/]pkg[\\/]sieve\.js$/;
const SEGMENTS_GLUE = /[\\/]pkg[\\/]segments[\\/]sieve_segments\.js$/;
const GLUE_EDITS = [
  // free() and Symbol.dispose of the segments glue's class: the instance lives as long as the
  // page. (The core's exports are functions taking the instance's number: no class.)
  [/\n    __destroy_into_raw\(\) \{.*?\n    \}\n    free\(\) \{.*?\n    \}\n/s, '\n', SEGMENTS_GLUE],
  [/if \(Symbol\.dispose\)[^\n]*\n/, '', SEGMENTS_GLUE],
  // Freeing the arguments already copied when copying the next one fails: that failure is a
  // wasm trap (malloc out of memory), after which the core instance is disabled
  // (js/analytics.js `_wasm`) and a few leaked bytes do not matter.
  [
    /\n( *)try \{\n((?: *(?:ptr|len)\d+ = [^\n]*\n)+) *\} catch \(e\) \{\n(?: *if \(ptr\d+\) \{ wasm\.__wbindgen_free\([^\n]*\n)+ *throw e;\n *\}\n/g,
    '\n$2',
  ],
  // wasm-bindgen re-creates its TextDecoder after 2 GB decoded (a Safari limit). Through the
  // core's glue only notices and identity reads are decoded (events cross as bytes, decoded
  // by js/context.js), never near that.
  [
    /\nlet cachedTextDecoder = [^\n]*\ncachedTextDecoder\.decode\(\);\n.*?\nfunction decodeText\(bytes\) \{.*?\n\}\n/s,
    "\nconst cachedTextDecoder = new TextDecoder('utf-8', { ignoreBOM: true });\nconst decodeText = (bytes) => cachedTextDecoder.decode(bytes);\n",
    CORE_GLUE,
  ],
  // TextEncoder.encodeInto is in every browser that runs es2020.
  [/\nif \(!\('encodeInto' in cachedTextEncoder\)\) \{.*?\n\}\n/s, '\n'],
  // passStringToWasm0 is always given wasm's malloc and realloc: its other branch is dead.
  [/passStringToWasm0\(([a-z_0-9]+), wasm\.__wbindgen_malloc, wasm\.__wbindgen_realloc\)/g, 'passStringToWasm0($1)'],
  // Strings are copied in by TextEncoder.encodeInto (native) instead of wasm-bindgen's
  // charCodeAt loop, which on a freshly loaded page runs interpreted: measured on the bench
  // page, the loop over a track() call's ~400-character argument was the largest part of the
  // call's cost before the JIT warmed up. Short strings keep the loop (no call overhead).
  [
    /function passStringToWasm0\(arg, malloc, realloc\) \{\n.*?\n\}\n/s,
    `function passStringToWasm0(arg) {
    const malloc = wasm.__wbindgen_malloc, realloc = wasm.__wbindgen_realloc;
    let len = arg.length;
    let ptr = malloc(len, 1) >>> 0;
    let offset = 0;
    if (len < 32) {
        const mem = getUint8ArrayMemory0();
        for (; offset < len; offset++) {
            const code = arg.charCodeAt(offset);
            if (code > 0x7F) break;
            mem[ptr + offset] = code;
        }
    } else {
        const ret = cachedTextEncoder.encodeInto(arg, getUint8ArrayMemory0().subarray(ptr, ptr + len));
        if (ret.read === len) offset = len;
    }
    if (offset !== len) {
        // Not all ASCII: encoded again, with room for 3 bytes per UTF-16 unit, from where the
        // loop's ASCII prefix ended (from the start after encodeInto).
        if (offset !== 0) arg = arg.slice(offset);
        ptr = realloc(ptr, len, len = offset + arg.length * 3, 1) >>> 0;
        offset += cachedTextEncoder.encodeInto(arg, getUint8ArrayMemory0().subarray(ptr + offset, ptr + len)).written;
        ptr = realloc(ptr, len, offset, 1) >>> 0;
    }
    WASM_VECTOR_LEN = offset;
    return ptr;
}
`,
  ],
  // The core's `call` returns the event's bytes, copied into a shared JS arena, instead of a
  // string: js/context.js decodes them only when the event is read (plugins, listeners,
  // `ctx.event`). Measured on the bench page, decoding every call's event cost 3.3 µs of
  // the ~17 µs of main-thread CPU per track(). Arena slices are never written again (a full
  // arena is replaced, and kept alive by the handles into it).
  [
    /(\nexport function call\([^)]*\) \{(?:(?!\n\}).)*?)return getStringFromWasm0\(ret\[0\], ret\[1\]\);/s,
    '$1return takeBytes(ret[0], ret[1]);',
    CORE_GLUE,
  ],
  [
    /\nfunction getStringFromWasm0\(/,
    `
let arena = new Uint8Array(0);
let arenaAt = 0;
function takeBytes(ptr, len) {
    if (arenaAt + len > arena.length) {
        arena = new Uint8Array(Math.max(len, 65536));
        arenaAt = 0;
    }
    ptr = ptr >>> 0;
    arena.set(getUint8ArrayMemory0().subarray(ptr, ptr + len), arenaAt);
    arenaAt += len;
    return { b: arena, o: arenaAt - len, n: len };
}
function getStringFromWasm0(`,
    CORE_GLUE,
  ],
  // Loading: js/load.js and js/segments.js call `init({module_or_path: url})` once, so
  // initSync, deprecated call shapes, defaults and non-URL inputs go. What stays: streaming
  // instantiation, and the arrayBuffer() fallback (with a warning) when the server sends
  // the wasm with another MIME type.
  [
    /\nasync function __wbg_load\(.*$/s,
    `
export default async function ({ module_or_path: url }) {
    const imports = __wbg_get_imports();
    const res = await fetch(url);
    if (!res.ok) throw new Error('HTTP ' + res.status + ' fetching ' + res.url);
    let r;
    try {
        r = await WebAssembly.instantiateStreaming(res, imports);
    } catch (e) {
        if (res.headers.get('Content-Type') == 'application/wasm') throw e;
        console.warn('[sieve] ' + res.url + ' is not served as application/wasm: instantiating it without streaming (slower)');
        r = await WebAssembly.instantiate(await res.arrayBuffer(), imports);
    }
    return __wbg_finalize_init(r.instance, r.module);
}
`,
  ],
];
// The wasm's imports are named `__wbg_<name>_<16 hex digits>`: ~300 B of gzip that cannot be
// compressed. The glue's import object gets short keys (`<name>_` + the fewest hex digits
// that keep them apart), and a Proxy maps the wasm's names to them as it is instantiated
// (the wasm is untouched).
function shortImportNames(code, path) {
  const HEAD = /\n        __wbg_([A-Za-z0-9_]*_)([0-9a-f]{16}): /g;
  const names = [...code.matchAll(HEAD)];
  let n = 0;
  while (new Set(names.map((m) => m[1] + m[2].slice(0, n))).size < names.length) n++;
  const proxy =
    'new Proxy(import0, { get: (o, k) => o[k.replace(/^__wbg_(.*_[0-9a-f]{' +
    n +
    '})[0-9a-f]{' +
    (16 - n) +
    '}$/, "$1")] }),';
  const next = code
    .replace(HEAD, (_, name, hash) => '\n        ' + name + hash.slice(0, n) + ': ')
    .replace(/("\.\/sieve(_segments|_destinations)?_bg\.js": )import0,/, (_, key) => key + proxy);
  if (!names.length || !next.includes(proxy))
    throw new Error('scripts/bundle.mjs: the import object of ' + path + ' no longer looks as expected');
  return next;
}

const trimGlue = {
  name: 'trim-glue',
  setup(b) {
    b.onLoad({ filter: /[\\/]pkg[\\/]((segments|destinations)[\\/])?sieve(_segments|_destinations)?\.js$/ }, (args) => {
      let code = readFileSync(args.path, 'utf8');
      for (const [pattern, replacement, only] of GLUE_EDITS) {
        if (only && !only.test(args.path)) continue;
        const next = code.replace(pattern, replacement);
        if (next === code)
          throw new Error('scripts/bundle.mjs: a GLUE_EDITS pattern no longer matches ' + args.path + ': ' + pattern);
        code = next;
      }
      return { contents: shortImportNames(code, args.path), loader: 'js' };
    });
  },
};

const common = { bundle: true, minify: true, target: ['es2020'], legalComments: 'none', logLevel: 'warning' };

const compileExternal = {
  name: 'compile-external',
  setup(b) {
    b.onResolve({ filter: /^\.\/segments-compile\.js$/ }, (args) => ({ path: args.path, external: true }));
  },
};
/** dist/segments.js and dist/segments-compile.js (in `outdir`, with extra `plugins`). */
async function buildSegments(outdir, plugins) {
  for (const name of ['segments', 'segments-compile'])
    await build({
      ...common,
      entryPoints: ['js/' + name + '.js'],
      outfile: outdir + '/' + name + '.js',
      format: 'esm',
      plugins: [compileExternal, ...plugins, trimGlue],
    });
}
// `--demo` (scripts/build.sh --demo): only the demo's engine, the same runtime bound to the
// demo-clock glue, next to its wasm in target/demo/ (served by scripts/serve.mjs).
if (process.argv.includes('--demo')) {
  const demoGlue = {
    name: 'demo-glue',
    setup(b) {
      b.onResolve({ filter: /sieve_segments\.js$/ }, () => ({
        path: new URL('../target/demo/pkg/sieve_segments.js', import.meta.url).pathname,
      }));
    },
  };
  await buildSegments('target/demo', [demoGlue]);
  process.exit(0);
}

await build({
  ...common,
  entryPoints: ['js/standalone.js'],
  outfile: 'dist/analytics.min.js',
  format: 'iife',
  // The script tag passes its own wasm URL; wasm-bindgen's import.meta default is never used.
  define: { 'import.meta.url': '""' },
  plugins: [trimGlue],
});
// The lazily loaded parts (js/chunks.js): dist/index.js imports './<name>.js' at run time
// (the files built below, next to it); the script tag imports them from its own URL.
const CHUNKS = ['plugins', 'autotrack', 'querystring', 'unavailable'];
const chunksExternal = {
  name: 'chunks-external',
  setup(b) {
    b.onResolve({ filter: /^\.\/(segments|destinations|plugins|autotrack|querystring|unavailable)\.js$/ }, (args) =>
      args.importer.endsWith('index.js') ? { path: args.path, external: true } : undefined,
    );
  },
};
await build({
  ...common,
  entryPoints: ['js/index.js'],
  outfile: 'dist/index.js',
  format: 'esm',
  minify: false,
  plugins: [chunksExternal, trimGlue],
});
// Each imports nothing: the core hands them what they need (the Context class).
await build({ ...common, entryPoints: CHUNKS.map((n) => 'js/' + n + '.js'), outdir: 'dist', format: 'esm' });
// The segments runtime + its wasm-bindgen glue, loaded with import() only when definitions
// exist; its wasm (dist/sieve_segments_bg.wasm, or dist/sieve_segments_full_bg.wasm for JSON
// definitions) is found next to it via import.meta.url. It imports dist/segments-compile.js
// (the same glue again, for a second instance that compiles JSON definitions) with a literal
// relative import(), left for the browser or the app's bundler.
await buildSegments('dist', []);
// Device mode + its wasm-bindgen glue and Segment's @segment/facade, loaded with import() only
// when the settings name device-mode destinations; its wasm (dist/sieve_destinations_bg.wasm,
// or dist/sieve_destinations_rules_bg.wasm with routing rules) is found next to it via
// import.meta.url.
await build({
  ...common,
  entryPoints: ['js/destinations.js'],
  outfile: 'dist/destinations.js',
  format: 'esm',
  plugins: [trimGlue],
});
copyFileSync('js/index.d.ts', 'dist/index.d.ts');
// `sieve-analytics/react`: plain ESM that imports only React (the app's copy), shipped as written.
copyFileSync('js/react.js', 'dist/react.js');
copyFileSync('js/react.d.ts', 'dist/react.d.ts');

// Neither wasm may have a function table (ARCHITECTURE.md, the invariant on indirect calls):
// one indirect call keeps every closure shim of wasm-bindgen and js-sys in the module.
for (const path of [
  'dist/sieve_bg.wasm',
  'dist/sieve_segments_bg.wasm',
  'dist/sieve_segments_full_bg.wasm',
  'dist/sieve_destinations_bg.wasm',
  'dist/sieve_destinations_rules_bg.wasm',
]) {
  const bytes = readFileSync(path);
  const leb = (at) => {
    let n = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[at++];
      n += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return [n, at];
    }
  };
  for (let at = 8; at < bytes.length;) {
    const id = bytes[at];
    const [size, body] = leb(at + 1);
    if (id === 9)
      throw new Error(
        'scripts/bundle.mjs: ' +
          path +
          ' has an element section (an indirect call: a fn pointer, dyn Trait or Rust closure)',
      );
    at = body + size;
  }
}
