// The oracle for Sieve's routing-rule evaluator (src/destinations: fql.rs, transform.rs):
// `@segment/tsub` 2.0.1 itself. Runs tsub's own test suite (its TypeScript tests, shipped in
// the npm package, compiled by esbuild and run under a small jest stand-in) with tsub's
// `matches`/`transform` wrapped to record every call, then seeded generated rules and events;
// each case keeps the input and what tsub answered (a result, or that it threw), and the
// Math.random values a transform drew. tests/e2e/tsub.test.mjs replays them against the Rust
// evaluator in the built wasm.
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';

const require = createRequire(import.meta.url);
const TSUB = dirname(require.resolve('@segment/tsub/package.json'));

/** A seeded PRNG (mulberry32): Math.random while the suite runs, so the corpus is stable. */
function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const clone = (v) => (v === undefined ? null : JSON.parse(JSON.stringify(v)));

/** Records calls to tsub into `cases` (events in a shared table, by JSON text). */
function recorder() {
  const tsub = require('@segment/tsub');
  const events = [];
  const index = new Map();
  const ref = (v) => {
    const text = JSON.stringify(v === undefined ? null : v);
    if (!index.has(text)) {
      index.set(text, events.length);
      events.push(JSON.parse(text));
    }
    return index.get(text);
  };
  const cases = [];
  let randoms = null; // Math.random values drawn inside the current transform() call
  const random = seeded(20261207);
  const realRandom = Math.random;
  Math.random = () => {
    const r = random();
    if (randoms) randoms.push(r);
    return r;
  };
  const matches = (event, matcher) => {
    const c = { kind: 'match', event: ref(event), matcher: clone(matcher) };
    cases.push(c);
    try {
      return (c.out = tsub.matches(event, matcher));
    } catch (e) {
      c.threw = true;
      throw e;
    }
  };
  const transform = (payload, transformers) => {
    const c = { kind: 'transform', event: ref(payload), transformers: clone(transformers) }; // out: an event ref
    cases.push(c);
    randoms = [];
    try {
      const out = tsub.transform(payload, transformers);
      c.out = out === null ? null : ref(out);
      return out;
    } catch (e) {
      c.threw = true;
      throw e;
    } finally {
      c.randoms = randoms;
      randoms = null;
    }
  };
  const restore = () => (Math.random = realRandom);
  return { tsub, matches, transform, events, cases, ref, restore };
}

/** A minimal jest: describe/test/beforeEach/expect (assertions are tsub's own business). */
function jestShim() {
  const tests = [];
  const stack = [[]];
  const describe = (_name, fn) => {
    stack.push([...stack[stack.length - 1]]);
    fn();
    stack.pop();
  };
  const test = (name, fn) => tests.push({ name, fn, before: [...stack[stack.length - 1]] });
  const beforeEach = (fn) => stack[stack.length - 1].push(fn);
  const expect = (value) => {
    const m = {
      toThrow() {
        try {
          value();
        } catch (_) {
          /* expected */
        }
      },
    };
    return new Proxy(m, { get: (t, k) => (k in t ? t[k] : k === 'not' ? expect(value) : () => {}) });
  };
  return { tests, globals: { describe, test, it: test, beforeEach, expect } };
}

async function runSuite(rec) {
  const dir = join(TSUB, 'src/__tests__');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.test.ts'))) {
    const redirect = {
      name: 'tsub-recorded',
      setup(b) {
        b.onResolve({ filter: /^\.\.\/(matchers|transformers|index)$/ }, (a) => ({
          path: a.path.slice(3),
          namespace: 'rec',
        }));
        b.onLoad({ filter: /.*/, namespace: 'rec' }, (a) => ({
          contents: {
            matchers: 'export default (...a) => globalThis.__rec.matches(...a);',
            transformers: 'export default (...a) => globalThis.__rec.transform(...a);',
            index:
              'export const matches = (...a) => globalThis.__rec.matches(...a);' +
              'export const transform = (...a) => globalThis.__rec.transform(...a);' +
              'export const Store = globalThis.__rec.tsub.Store;',
          }[a.path],
          loader: 'js',
        }));
      },
    };
    const out = await build({
      entryPoints: [join(dir, file)],
      bundle: true,
      write: false,
      format: 'iife',
      platform: 'node',
      logLevel: 'silent',
      plugins: [redirect],
    });
    const { tests, globals } = jestShim();
    globalThis.__rec = rec;
    new Function(...Object.keys(globals), out.outputFiles[0].text)(...Object.values(globals));
    for (const t of tests) {
      try {
        for (const b of t.before) await b();
        await t.fn();
      } catch (_) {
        // tsub's own assertion outcomes are not what is recorded: its answers are.
      }
    }
  }
}

// ── generated rules and events (seeded) ─────────────────────────────────────────────────
const PATHS = [
  'event',
  'type',
  'userId',
  'properties.price',
  'properties.name',
  'properties.tags',
  'properties.nested.deep',
  'properties.flag',
  'properties.empty',
  'properties.missing',
  'context.page.path',
  'properties.tags.0',
  'properties.tags.length',
  'properties.name.length',
  'properties',
];
const VALUES = [0, 1, -2.5, 10, 100, '', 'a', 'Buy', 'buy', 'Ünïcödé', 'x.y', true, false, null, [1, 2], { a: 1 }];
const OPS = [
  '=',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
  'contains',
  'match',
  'in',
  'and',
  'or',
  '!',
  'lowercase',
  'typeof',
  'length',
];
const GLOBS = ['*', 'B*', '*y', '?uy', '[a-c]*', '[^b]*', '\\*', 'b[u-v]y', '*.*', ''];

function generated(rec, n) {
  const r = seeded(7);
  const pick = (a) => a[Math.floor(r() * a.length)];
  const event = () => {
    const e = {
      type: pick(['track', 'page', 'identify']),
      event: pick(['Buy', 'buy', 'Order Completed', 'x.y']),
      // Never null: the router hands destinations no null userId (analytics.js's events have
      // none before identify), so a null would not reach tsub.
      userId: pick(['u1', 'U1', '']),
      properties: {},
      context: { page: { path: pick(['/a', '/b/c', '']) } },
    };
    for (const k of ['price', 'name', 'tags', 'nested', 'flag', 'empty']) {
      if (r() < 0.7)
        e.properties[k] = {
          price: pick([0, 1, 9.99, 100, -1, '5']),
          name: pick(['Buy', 'ÀB', '', 'semver 1.2']),
          tags: pick([[], ['a', 'b'], 'ab', [1, { a: 1 }]]),
          nested: pick([{ deep: 1 }, { deep: [1, 2] }, null, 'str']),
          flag: pick([true, false, 0, 1, null]),
          empty: pick(['', 0, null, {}, []]),
        }[k];
    }
    return e;
  };
  const operand = (depth) =>
    r() < 0.5 ? pick(PATHS) : r() < 0.8 || depth > 2 ? { value: pick(VALUES) } : ir(depth + 1);
  const ir = (depth = 0) => {
    const op = pick(OPS);
    switch (op) {
      case 'and':
      case 'or':
        return [op, ir(depth + 1), ir(depth + 1), ...(r() < 0.3 ? [ir(depth + 1)] : [])];
      case '!':
        return [op, depth > 2 ? pick(PATHS) : ir(depth + 1)];
      case 'match':
        return [op, pick(PATHS), { value: pick(GLOBS) }];
      case 'in':
        return [op, pick(PATHS), [operand(3), operand(3), { value: pick(VALUES) }]];
      case 'lowercase':
      case 'typeof':
      case 'length':
        return ['=', [op, pick(PATHS)], operand(depth + 1)];
      default:
        return [op, operand(depth), operand(depth)];
    }
  };
  for (let i = 0; i < n; i++) {
    const e = event();
    try {
      rec.matches(e, { type: 'fql', ir: JSON.stringify(ir()) });
    } catch (_) {
      /* recorded */
    }
  }
  const transformer = () => {
    const t = pick(['drop_properties', 'allow_properties', 'map_properties', 'sample_event', 'drop']);
    const keys = () => [pick(['price', 'name', 'tags', 'flag', 'missing']), pick(['price', 'deep', 'a', '0'])];
    const target = () => pick(['', 'properties', 'properties.nested', 'properties.tags', 'context']);
    switch (t) {
      case 'drop_properties':
        return { type: t, config: { drop: { [target()]: keys() } } };
      case 'allow_properties':
        return { type: t, config: { allow: { [target()]: keys() } } };
      case 'sample_event':
        return {
          type: t,
          config: {
            sample: {
              percent: pick([0, 0.1, 0.5, 0.9, 1]),
              path: pick(['', 'userId', 'properties.price', 'properties']),
            },
          },
        };
      case 'map_properties': {
        const action = pick([
          { copy: pick(PATHS) },
          { move: pick(PATHS) },
          { set: pick(VALUES) },
          { to_string: true },
          { copy: pick(PATHS), to_string: true },
          { set: pick(VALUES), to_string: true },
        ]);
        return {
          type: t,
          config: {
            map: {
              [pick(['properties.new', 'properties.price', 'properties.nested.deep', 'newTop', 'properties.tags.1'])]:
                action,
            },
          },
        };
      }
      default:
        return { type: t };
    }
  };
  for (let i = 0; i < n; i++) {
    const list = [transformer(), ...(r() < 0.4 ? [transformer()] : [])];
    try {
      rec.transform(event(), list);
    } catch (_) {
      /* recorded */
    }
  }
}

/** `{tsub, events, cases}`: every recorded case, tsub's own suite first. */
export async function tsubCases() {
  const rec = recorder();
  try {
    await runSuite(rec);
    generated(rec, 400);
  } finally {
    rec.restore();
  }
  return { tsub: require('@segment/tsub/package.json').version, events: rec.events, cases: rec.cases };
}
