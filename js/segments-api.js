// `analytics.segments`: the part of the segments API that ships in the core bundle. It
// buffers events until the engine (dist/segments.js + dist/sieve_segments_bg.wasm) is
// loaded, which happens only when definitions exist (settings `segments`, the load option
// `segments: {definitions, url}`, or a `segments.load()` call). Everything else lives in
// js/segments.js, loaded with a dynamic import().
import { importChunk } from './chunks.js';
import { bytesOf, textOf } from './context.js';

// Events kept while the engine loads (or before any definitions exist), oldest first.
const MAX_BUFFERED = 256;

export class Segments {
  constructor(analytics, settings, options) {
    this._a = analytics;
    this._opt = (options && options.segments) || {};
    this._defs = this._opt.definitions || (settings && settings.segments);
    this._rt = null; // the loaded runtime (js/segments.js)
    this._buf = [];
    this._hooks = [];
    this._loading = null;
    // An array of JSON definitions or compiled ones (a string): the engine loads either.
    if (this._defs?.length || this._opt.url) this._start();
  }

  _start() {
    if (!this._loading) {
      this._loading = importChunk('segments')
        .then((mod) => mod.attach(this))
        .then((rt) => (this._rt = rt))
        .catch((err) => {
          console.error('[sieve] could not load the segment engine', err);
          this._a.emit('error', { code: 'segments_unavailable', reason: err });
        });
    }
    return this._loading;
  }

  // Called by the live instance with each event the core built (its JSON as bytes, see
  // js/context.js `textOf`), in call order (`'!reset'` for reset()).
  _feed(event) {
    if (this._rt) this._rt.feed(typeof event === 'string' ? event : bytesOf(event));
    else if (this._buf.length < MAX_BUFFERED) this._buf.push(event);
  }

  /** The buffered events as JSON texts, oldest first; the buffer is emptied. */
  _takeBuffered() {
    return this._buf.splice(0).map((e) => (typeof e === 'string' ? e : textOf(e)));
  }

  /** Replaces the active definitions; resolves to `{accepted, errors}`. */
  load(definitions) {
    this._defs = definitions;
    if (this._rt) return Promise.resolve(this._rt.load(definitions));
    return this._start().then(() => (this._rt ? this._rt.lastReport : { accepted: [], errors: [] }));
  }
  /** Resolves once the engine has loaded the current definitions (at once when none exist;
   * also when the engine failed to load: reads then keep answering "unknown"). */
  ready() {
    return Promise.resolve(this._loading).then(() => {});
  }
  isMember(key) {
    return this._rt ? this._rt.isMember(key) : null;
  }
  list() {
    return this._rt ? this._rt.list() : [];
  }
  explain(key) {
    return this._rt ? this._rt.explain(key) : null;
  }
  on(kind, key, cb) {
    if (typeof key === 'function') [key, cb] = [undefined, key];
    if (typeof cb === 'function') this._hooks.push({ kind, key, cb });
    return this;
  }
  off(kind, key, cb) {
    if (typeof key === 'function') [key, cb] = [undefined, key];
    this._hooks = this._hooks.filter(
      (h) => !(h.kind === kind && (key === undefined || h.key === key) && (!cb || h.cb === cb)),
    );
    return this;
  }
}
