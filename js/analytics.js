// The live analytics.js-compatible instance: a thin wrapper over the wasm driver. It encodes
// arguments, wraps results in promises, runs callbacks and emitter listeners after the wasm
// call has returned, and never lets an exception reach the caller.
import { AnalyticsWasm } from '../target/pkg/sieve.js';
import { encodeArgs } from './args.js';
import { Emitter } from './emitter.js';
import { Segments } from './segments-api.js';

export const VERSION = '0.1.0';
const noop = () => {};
const warned = new Set();
const warnOnce = (what, message) => {
  if (!warned.has(what)) {
    warned.add(what);
    console.warn('[sieve] ' + message);
  }
};

/** What event methods resolve to: analytics.js's Context, with `.event` parsed on demand. */
export class Context {
  constructor(json) {
    this._json = json;
    this._event = undefined;
  }
  get event() {
    return (this._event ||= JSON.parse(this._json));
  }
  get id() {
    return this.event.messageId;
  }
  isCancelled() {
    return false;
  }
  failedDelivery() {
    return undefined;
  }
  toJSON() {
    return { id: this.id, event: this.event };
  }
}

const EVENT_METHODS = ['track', 'page', 'screen', 'identify', 'group', 'alias'];

export class Analytics extends Emitter {
  constructor(writeKey, settings, options) {
    super();
    this.VERSION = VERSION;
    this.settings = { writeKey, cdnSettings: settings, timeout: 300 };
    this.options = options || {};
    this.initialized = false;
    this._broken = false;
    this._w = new AnalyticsWasm(writeKey, JSON.stringify(settings || {}), JSON.stringify(this.options), (code, reason, count) =>
      this._notice(code, reason, count),
    );
    this.segments = new Segments(this, settings, this.options);
    this.initialized = true;
  }

  _notice(code, reason, count) {
    console.warn('[sieve] ' + reason + (count > 1 ? ' (' + count + ' events)' : ''));
    this.emit('error', { code, reason: new Error(reason), count });
  }

  // Runs a wasm call; a trap puts the instance into a logged no-op mode instead of throwing.
  _wasm(fn, fallback) {
    if (this._broken) return fallback;
    try {
      return fn(this._w);
    } catch (err) {
      this._broken = true;
      console.error('[sieve] internal error; analytics is disabled for this page', err);
      return fallback;
    }
  }

  _reject(message, code) {
    const err = new Error(message);
    console.warn('[sieve] ' + message);
    this.emit('error', { code, reason: err });
    const p = Promise.reject(err);
    p.catch(noop); // rejected for callers that await it, never an unhandled rejection
    return p;
  }

  _call(method, args) {
    const [types, json, cleaned] = encodeArgs(args, true);
    if (json === null) return this._reject(method + '(): arguments cannot be serialized; the call was dropped', 'invalid_payload');
    if (cleaned) this._reject(method + '(): circular or non-JSON values (functions, BigInts, DOM nodes) were replaced or dropped', 'invalid_payload');
    const res = this._wasm((w) => w.call(method, types, json), '!analytics is disabled');
    if (res[0] === '!') return this._reject(res.slice(1), 'invalid_call');
    const ctx = new Context(res);
    this.segments._feed(res); // in call order; membership is current when this call returns
    if (this.listens(method)) this._emitEvent(method, ctx.event, args);
    const callback = args.find((a) => typeof a === 'function');
    if (!callback) return Promise.resolve(ctx);
    return new Promise((resolve) => {
      setTimeout(() => {
        try {
          callback(ctx);
        } catch (err) {
          console.error('[sieve] callback error', err);
        }
        resolve(ctx);
      }, this.settings.timeout);
    });
  }

  _emitEvent(method, e, callArgs) {
    // alias emits its resolved (to, from), like analytics.js; the event's userId may differ.
    const ids = callArgs
      .slice(0, 4)
      .map((a, i) => (i < 2 && typeof a === 'number' ? String(a) : a))
      .filter((a) => typeof a === 'string');
    const args = {
      track: [e.event, e.properties],
      page: [e.category ?? null, e.name ?? null, e.properties],
      screen: [e.category ?? null, e.name ?? null, e.properties],
      identify: [e.userId, e.traits],
      group: [e.groupId, e.traits],
      alias: [ids.length ? ids[0] : callArgs[0], ids.length > 1 ? ids[1] : null],
    }[method];
    this.emit(method, ...args, undefined);
  }

  track(...args) {
    return this._call('track', args);
  }
  page(...args) {
    return this._call('page', args);
  }
  screen(...args) {
    return this._call('screen', args);
  }
  identify(...args) {
    return this._call('identify', args);
  }
  group(...args) {
    if (args.length === 0) return this._groupStore();
    return this._call('group', args);
  }
  alias(...args) {
    return this._call('alias', args);
  }
  pageview(url) {
    return this.page({ path: url }).then(() => this);
  }

  // Identity reads and commands go through two multiplexed exports (see web/bindings.rs).
  _get(what, fallback) {
    return this._wasm((w) => w.get(what), fallback) ?? fallback;
  }
  _command(what, arg) {
    this._wasm((w) => w.command(what, arg));
  }

  reset() {
    this._command(0);
    this.segments._feed('!reset');
    this.emit('reset');
  }

  setAnonymousId(id) {
    if (id !== undefined) this._command(1, id == null ? undefined : String(id));
    return this._get(1, null);
  }

  user() {
    const self = this;
    return {
      id(value) {
        if (value !== undefined) warnOnce('user.id', 'user().id(value) is not supported yet; use identify()');
        return self._get(0, null);
      },
      anonymousId(value) {
        return self.setAnonymousId(value);
      },
      traits(value) {
        if (value !== undefined) self._command(2, JSON.stringify(value ?? {}));
        return JSON.parse(self._get(2, '{}'));
      },
    };
  }

  _groupStore() {
    const self = this;
    return {
      id() {
        return self._get(3, null);
      },
      traits() {
        return JSON.parse(self._get(4, '{}'));
      },
    };
  }

  ready(callback) {
    return Promise.resolve().then(() => {
      if (typeof callback === 'function') {
        try {
          callback([]);
        } catch (err) {
          console.error('[sieve] ready callback error', err);
        }
      }
      return [];
    });
  }

  timeout(ms) {
    this.settings.timeout = ms;
  }

  debug(on) {
    this._debug = !!on;
    return this;
  }

  /** Sends queued events now (Sieve addition). */
  flush() {
    this._command(3);
  }

  push(args) {
    if (!Array.isArray(args)) return;
    const [method, ...rest] = args;
    if (typeof this[method] === 'function') this[method](...rest);
  }
}

// Parts of the analytics.js API not implemented yet: they warn once and resolve, never throw.
for (const [name, result] of [
  ['register', 'ctx'],
  ['deregister', 'ctx'],
  ['addSourceMiddleware', 'self'],
  ['addDestinationMiddleware', 'self'],
  ['trackLink', 'self'],
  ['trackClick', 'self'],
  ['trackForm', 'self'],
  ['trackSubmit', 'self'],
]) {
  Analytics.prototype[name] = function () {
    warnOnce(name, name + '() is not implemented in this version of Sieve; the call was ignored');
    return Promise.resolve(result === 'self' ? this : undefined);
  };
}

export { EVENT_METHODS };
