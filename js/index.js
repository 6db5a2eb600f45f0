// npm entry: `AnalyticsBrowser`, analytics-next's buffered wrapper. Importing this module has
// no side effects and does not touch `window` (safe under SSR); `load()` does the work.
import { createAnalytics } from './load.js';
import { boot, initialPageview } from './boot.js';
import { pageContext } from './args.js';
import { Analytics, Context, VERSION, handled } from './analytics.js';
import { setChunkLoader } from './chunks.js';

// Lazily loaded parts (js/chunks.js), next to this file. Literal paths, so that bundlers
// (Vite, webpack, esbuild) find them and emit them as their own chunks.
const CHUNKS = {
  plugins: () => import('./plugins.js'),
  autotrack: () => import('./autotrack.js'),
  querystring: () => import('./querystring.js'),
  segments: () => import('./segments.js'),
  destinations: () => import('./destinations.js'),
  unavailable: () => import('./unavailable.js'),
};
setChunkLoader((name) => CHUNKS[name]());

const PROMISED = [
  'track',
  'page',
  'screen',
  'identify',
  'group',
  'alias',
  'reset',
  'ready',
  'user',
  'register',
  'deregister',
  'addSourceMiddleware',
  'addDestinationMiddleware',
  'setAnonymousId',
  'trackLink',
  'trackClick',
  'trackSubmit',
];
const CHAINED = ['on', 'once', 'off', 'debug'];
const WITH_PAGE = new Set(['track', 'page', 'screen', 'identify', 'group', 'alias']);

export class AnalyticsBrowser {
  constructor() {
    this.VERSION = VERSION;
    this.instance = undefined;
    this.ctx = undefined;
    this._calls = [];
    this._loading = false;
    // A failed load rejects for callers who await the wrapper, never as an unhandled rejection.
    this._promise = handled(
      new Promise((resolve, reject) => {
        this._resolve = resolve;
        this._reject = reject;
      }),
    );
  }

  static load(settings, options) {
    return new AnalyticsBrowser().load(settings, options);
  }

  static standalone(writeKey, options) {
    return AnalyticsBrowser.load({ writeKey }, options).then((res) => res[0]);
  }

  load(settings, options = {}) {
    if (this._loading) return this;
    this._loading = true;
    const wasmUrl = new URL('./sieve_bg.wasm', import.meta.url);
    const early = initialPageview(options);
    createAnalytics(settings || {}, options, wasmUrl).then(
      ([analytics, query]) => {
        this.instance = analytics;
        this.ctx = new Context({});
        const calls = this._calls.splice(0);
        boot(analytics, options, [...early, ...calls], query);
        // As analytics-next does (flushRegister), plugins registered before load are in place
        // when the wrapper resolves: with dist/plugins.js loaded lazily, that takes a fetch.
        const registered = calls.filter((c) => c.method === 'register').map((c) => c.promise.catch(() => {}));
        Promise.all(registered).then(() => this._resolve([analytics, this.ctx]));
      },
      (err) => {
        // Buffered calls and later ones reject (pre-handled) instead of waiting forever.
        console.error('[sieve] Failed to load: ' + (err && err.message), err);
        this._failed = err;
        for (const call of this._calls.splice(0)) call.reject(err);
        this._reject(err);
      },
    );
    return this;
  }

  then(...args) {
    return this._promise.then(...args);
  }
  catch(fn) {
    return this._promise.catch(fn);
  }
  finally(fn) {
    return this._promise.finally(fn);
  }

  _buffer(method, args) {
    if (this.instance) return Promise.resolve(this.instance[method](...args));
    if (this._failed) return handled(Promise.reject(this._failed));
    // Capture the page context now, as analytics-next does for buffered calls.
    if (WITH_PAGE.has(method) && typeof window !== 'undefined') args = [...args, pageContext()];
    const call = { method, args };
    // A rejection (e.g. 'Event missing') is for callers who await it.
    call.promise = handled(new Promise((resolve, reject) => Object.assign(call, { resolve, reject })));
    this._calls.push(call);
    return call.promise;
  }
}

for (const method of PROMISED) {
  AnalyticsBrowser.prototype[method] = function (...args) {
    return this._buffer(method, args);
  };
}
for (const method of CHAINED) {
  AnalyticsBrowser.prototype[method] = function (...args) {
    this._buffer(method, args);
    return this;
  };
}
AnalyticsBrowser.prototype.pageView = function (url) {
  return this._buffer('pageview', [url]);
};
// Sieve addition: `segments`, buffered until the instance exists (reads answer "unknown").
Object.defineProperty(AnalyticsBrowser.prototype, 'segments', {
  get() {
    if (this.instance) return this.instance.segments;
    const self = this;
    return (this._segments ||= {
      load: (defs) => handled(self._promise.then(([a]) => a.segments.load(defs))), // rejects after a failed load
      ready: () => handled(self._promise.then(([a]) => a.segments.ready())),
      isMember: () => null,
      list: () => [],
      explain: () => null,
      on(...args) {
        self._promise.then(
          ([a]) => a.segments.on(...args),
          () => {},
        );
        return this;
      },
      off(...args) {
        self._promise.then(
          ([a]) => a.segments.off(...args),
          () => {},
        );
        return this;
      },
    });
  },
});

export { Analytics, Context };
