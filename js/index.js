// npm entry: `AnalyticsBrowser`, analytics-next's buffered wrapper. Importing this module has
// no side effects and does not touch `window` (safe under SSR); `load()` does the work.
import { createAnalytics } from './load.js';
import { boot, initialPageview } from './boot.js';
import { pageContext } from './args.js';
import { Analytics, Context, VERSION, handled } from './analytics.js';
import { setChunkLoader } from './chunks.js';

// The `assetsURL` load setting (a directory URL), where the wasm files are served when the
// bundler does not emit them (esbuild); otherwise they are found next to this module.
let assets;

// Lazily loaded parts (js/chunks.js), next to this file. Literal paths, so that bundlers
// (Vite, webpack, esbuild) find them and emit them as their own chunks.
const CHUNKS = {
  plugins: () => import('./plugins.js'),
  autotrack: () => import('./autotrack.js'),
  querystring: () => import('./querystring.js'),
  segments: () => import('./segments.js').then((m) => (assets ? { attach: (api) => m.attach(api, assets) } : m)),
  destinations: () =>
    import('./destinations.js').then((m) =>
      assets ? { attach: (analytics, pipe, C) => m.attach(analytics, pipe, C, assets) } : m,
    ),
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
  'trackForm',
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
    settings ||= {};
    if (typeof window === 'undefined' || typeof document === 'undefined') {
      // Server-side rendering, tests in Node: one line, and every call settles.
      console.warn('[sieve] sieve-analytics runs in the browser only: load() did nothing here (no window)');
      this._fail(new Error('sieve-analytics runs in the browser only'));
      return this;
    }
    let wasmUrl;
    try {
      if (settings.assetsURL != null) assets = new URL(String(settings.assetsURL).replace(/\/?$/, '/'), location.href);
      // Vite and webpack emit the file this literal names; esbuild does not (see assetsURL).
      wasmUrl = assets ? new URL('sieve_bg.wasm', assets) : new URL('./sieve_bg.wasm', import.meta.url);
    } catch (err) {
      const why = settings.assetsURL != null ? 'assetsURL is not a URL' : 'import.meta.url is not available here';
      console.error('[sieve] Failed to load: cannot locate sieve_bg.wasm (' + why + '); see assetsURL in the README');
      this._fail(err);
      return this;
    }
    const early = initialPageview(options);
    createAnalytics(settings, options, wasmUrl).then(
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
        console.error('[sieve] Failed to load: ' + (err && err.message), err);
        this._fail(err);
      },
    );
    return this;
  }

  // Buffered calls and later ones reject (pre-handled) instead of waiting forever.
  _fail(err) {
    this._failed = err;
    for (const call of this._calls.splice(0)) call.reject(err);
    this._reject(err);
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
