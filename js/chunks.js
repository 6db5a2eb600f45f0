// Parts of the shim a page downloads only when it uses them, each a file next to the entry:
// dist/plugins.js (register/deregister, source and destination middleware), dist/destinations.js
// (device mode, only when the settings name device-mode destinations), dist/autotrack.js
// (trackLink/trackForm), dist/querystring.js (`ajs_*` parameters), dist/segments.js (the
// segment engine), dist/unavailable.js (why the wasm cannot run, when it cannot). The entry
// says how to import one: the script tag from its own URL, the npm build with literal
// relative import()s a bundler can follow.
import { Context } from './context.js';

let loader;
/** Set by the entry: `name` → a promise of the module `dist/<name>.js`. */
export const setChunkLoader = (fn) => (loader = fn);
/** The module `dist/<name>.js` (a promise that rejects when it cannot be loaded). */
export const importChunk = (name) => Promise.resolve(name).then((n) => loader(n));

/** A failed load: a console warning and an `error` event, never an exception. */
export function chunkFailed(emitter, name, reason) {
  console.warn('[sieve] could not load ' + name + '.js', reason);
  emitter.emit('error', { code: 'chunk_unavailable', reason, chunk: name });
}

const loaded = {};
/** The module, or null after `chunkFailed` (the next use tries again). */
export function chunk(name, emitter) {
  return (loaded[name] ||= importChunk(name).catch((reason) => {
    delete loaded[name];
    chunkFailed(emitter, name, reason);
    return null;
  }));
}

/**
 * Stands in for js/plugins.js's Pipeline, with its interface, until a page uses plugins or
 * middleware. What is asked of it meanwhile waits for dist/plugins.js and then runs in the
 * order it was asked; events made after `addSourceMiddleware()` wait for it too (deferred:
 * built now, queued once the middleware is done), as they would with the pipeline in place.
 */
export class LazyPipeline {
  constructor(analytics) {
    this._a = analytics;
    this._p = null; // the Pipeline, once loaded
    this._q = null; // what waits for it, in call order
    this._defer = false; // source middleware was added while loading
  }
  get deferring() {
    return this._p ? this._p.deferring : this._defer;
  }
  get observing() {
    return !!this._p && this._p.observing;
  }

  // `fn(pipeline)` now if loaded, else once loaded (in call order); `fallback` if it cannot be.
  _use(fn, fallback) {
    if (this._p) return fn(this._p);
    if (!this._q) {
      const q = (this._q = []);
      chunk('plugins', this._a).then((m) => {
        const p = m && new m.Pipeline(Context);
        for (let i = 0; i < q.length; i++) q[i](p); // uses added meanwhile run in turn
        this._p = p;
        this._q = null;
        this._defer = false;
      });
    }
    return new Promise((resolve) => this._q.push((p) => resolve(p ? fn(p) : fallback)));
  }

  register(analytics, plugins) {
    return this._use((p) => p.register(analytics, plugins), Context.system());
  }
  async deregister(analytics, names) {
    // Nothing registered yet: nothing to unload.
    return this._p || this._q ? this._use((p) => p.deregister(analytics, names), Context.system()) : Context.system();
  }
  addSourceMiddleware(fn) {
    if (!this._p) this._defer = true;
    this._use((p) => p.addSourceMiddleware(fn));
  }
  hold(part) {
    if (!this._p) this._defer = true;
    this._use((p) => p.hold(this._a, part));
  }
  /** Settles once events no longer wait for device mode (js/plugins.js `hold`); null when
   * nothing can hold them. */
  held() {
    return this._p || this._q ? this._use((p) => p._held) : null;
  }
  addDestinationMiddleware(name, fns) {
    this._use((p) => p.addDestinationMiddleware(name, fns));
  }
  ready() {
    return this._p || this._q ? this._use((p) => p.ready(), []) : Promise.all([]);
  }
  prepare(ctx, method) {
    return this._use((p) => p.prepare(ctx, method), true);
  }
  // Only after prepare() or with destination/after plugins: loaded, or failed to (nothing to do).
  deliver(ctx, method) {
    return this._p && this._p.deliver(ctx, method);
  }
}
