// The live analytics.js-compatible instance: a thin wrapper over the wasm driver. It encodes
// arguments, wraps results in promises, runs callbacks and emitter listeners after the wasm
// call has returned, and never lets an exception reach the caller.
import { create, call, get, command, wake } from '../target/pkg/sieve.js';
import { encodeArgs, pageJson, toJson } from './args.js';
import { Emitter } from './emitter.js';
import { Segments } from './segments-api.js';
import { Context, textOf } from './context.js';
import { LazyPipeline, chunk } from './chunks.js';
import {
  METHODS,
  READ_USER_ID,
  READ_ANONYMOUS_ID,
  READ_USER_TRAITS,
  READ_GROUP_ID,
  READ_GROUP_TRAITS,
  READ_DEVICE_MODE,
  COMMAND_RESET,
  COMMAND_SET_ANONYMOUS_ID,
  COMMAND_SET_USER_TRAITS,
  COMMAND_FLUSH,
  COMMAND_ENQUEUE,
  COMMAND_SET_USER_ID,
} from './codes.js';

export { Context };

export const VERSION = '0.1.0';
const noop = () => {};
// `p`, marked handled: rejected for callers that await it, never an unhandled rejection.
export const handled = (p) => (p.catch(noop), p);

export class Analytics extends Emitter {
  constructor(writeKey, settings, options, cdnURL) {
    super();
    this.VERSION = VERSION;
    this.settings = { writeKey, cdnSettings: settings, cdnURL, timeout: 300 };
    this.options = options || {};
    this.initialized = false;
    this._broken = false;
    this._page = undefined; // the page context JSON the core has (js/args.js pageJson)
    this._pipe = new LazyPipeline(this); // dist/plugins.js, loaded on first use
    // The core instance's number, for the wasm's exports.
    this._w = create(
      writeKey,
      JSON.stringify(settings || {}),
      JSON.stringify(this.options),
      (code, reason, count) => this._notice(code, reason, count),
      wake,
    );
    this.segments = new Segments(this, settings, this.options);
    this.initialized = true;
    // Device mode (dist/destinations.js): only when the core says the settings need it
    // (device-mode destinations, remote middleware, a plan, or `_metadata` lists that depend on
    // the settings); events wait for it (js/plugins.js `hold`).
    if (this._get(READ_DEVICE_MODE)) this._pipe.hold(chunk('destinations', this));
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
      this._disable(err);
      return fallback;
    }
  }

  _disable(err) {
    this._broken = true;
    console.error('[sieve] internal error; analytics is disabled for this page', err);
  }

  // A console warning and the `error` emitter event; returns the Error.
  _warn(message, code) {
    const err = new Error(message);
    console.warn('[sieve] ' + message);
    this.emit('error', { code, reason: err });
    return err;
  }

  _reject(message, code) {
    return handled(Promise.reject(this._warn(message, code)));
  }

  _call(method, args) {
    const [types, json, cleaned] = encodeArgs(args);
    if (json === null)
      return this._reject(method + '(): arguments cannot be serialized; the call was dropped', 'invalid_payload');
    if (cleaned)
      this._reject(
        method + '(): circular or non-JSON values (functions, BigInts, DOM nodes) were replaced or dropped',
        'invalid_payload',
      );
    // The page context now goes to the core only when it changed since the last call.
    const page = pageJson();
    const changed = page !== this._page ? page : undefined;
    this._page = page;
    // With before/enrichment plugins or source middleware, the core only builds the event;
    // it is queued once they are done with it.
    const deferring = this._pipe.deferring;
    // `_wasm` inlined: no closure per call on this path.
    let res = '!analytics is disabled';
    if (!this._broken) {
      try {
        res = call(this._w, METHODS.indexOf(method), types + json, changed, !deferring); // the wasm takes the method's number
      } catch (err) {
        this._disable(err);
      }
    }
    // The event's JSON as bytes (js/context.js), or `!` + why the call was refused.
    if (typeof res !== 'string' && res.b[res.o] === 33) res = textOf(res);
    if (typeof res === 'string') {
      this._page = undefined; // the core may not have taken the page context
      return this._reject(res.slice(1), 'invalid_call');
    }
    const ctx = new Context(undefined, res);
    this.segments._feed(res); // in call order; membership is current when this call returns
    let callback;
    for (let i = 0; i < args.length && !callback; i++) if (typeof args[i] === 'function') callback = args[i];
    if (!deferring && !this._pipe.observing) return this._settle(method, ctx, args, callback);
    return this._runPipeline(method, ctx, deferring).then(() => this._settle(method, ctx, args, callback));
  }

  async _runPipeline(method, ctx, deferring) {
    if (deferring) {
      if (!(await this._pipe.prepare(ctx, method))) return; // cancelled: resolves, is not sent
      // Plugins may leave values JSON cannot carry: cleaned as call arguments are, with a
      // warning; what cannot be serialized at all is dropped. Never a throw inside the wasm
      // call below, which would disable the SDK.
      let json, cleaned;
      try {
        json = ctx.json();
      } catch (_) {
        [json, cleaned] = toJson(ctx.event);
      }
      if (cleaned && typeof json === 'string') {
        this._warn(
          method + '(): a plugin left circular or non-JSON values in the event; they were replaced or dropped',
          'invalid_payload',
        );
      }
      const refused =
        typeof json === 'string' ? this._wasm((w) => command(w, COMMAND_ENQUEUE, json), null) : '!event is not JSON';
      if (refused) {
        this._reject(
          method + '(): a plugin left an invalid event (' + refused.slice(1) + '); it was dropped',
          'invalid_payload',
        );
        return;
      }
    }
    await this._pipe.deliver(ctx, method);
  }

  // Emitter event, then the callback after `timeout` (analytics.js); resolves with ctx.
  _settle(method, ctx, args, callback) {
    if (this.listens(method) && !ctx.isCancelled()) this._emitEvent(method, ctx.event, args);
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
    if (!e || typeof e !== 'object') return; // a plugin replaced the event with something else
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
    return handled(this.page({ path: url }).then(() => this));
  }

  // Identity reads and commands go through two multiplexed exports (see web/bindings.rs).
  _get(what, fallback) {
    return this._wasm((w) => get(w, what), fallback) ?? fallback;
  }
  _command(what, arg) {
    return this._wasm((w) => command(w, what, arg));
  }

  reset() {
    this._command(COMMAND_RESET);
    this.segments._feed('!reset');
    this.emit('reset');
  }

  setAnonymousId(id) {
    if (id === undefined) return this._get(READ_ANONYMOUS_ID, null);
    // null clears it (a fresh one comes with the next event or read), as in analytics.js.
    if (id === null) {
      this._command(COMMAND_SET_ANONYMOUS_ID);
      return null;
    }
    const s = this._id('setAnonymousId', id);
    if (s !== undefined) this._command(COMMAND_SET_ANONYMOUS_ID, s);
    return this._get(READ_ANONYMOUS_ID, null);
  }

  // An id as the core takes it: a string, or a finite number as its decimal text; anything
  // else is refused with a warning (undefined returned, nothing changes).
  _id(method, value) {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' && isFinite(value)) return String(value);
    this._warn(method + '(): an id must be a string or a number; it was not changed', 'invalid_call');
  }

  user() {
    const self = this;
    return {
      id(value) {
        if (value === null) self._command(COMMAND_SET_USER_ID);
        else if (value !== undefined) {
          const s = self._id('user().id', value);
          if (s !== undefined) self._command(COMMAND_SET_USER_ID, s);
        }
        return self._get(READ_USER_ID, null);
      },
      anonymousId(value) {
        return self.setAnonymousId(value);
      },
      traits(value) {
        if (value !== undefined) {
          const [json, cleaned] = toJson(value ?? {});
          if (typeof json !== 'string')
            self._warn('user().traits(): the traits cannot be serialized; they were not changed', 'invalid_payload');
          else {
            if (cleaned)
              self._warn(
                'user().traits(): circular or non-JSON values (functions, BigInts, DOM nodes) were replaced or dropped',
                'invalid_payload',
              );
            self._command(COMMAND_SET_USER_TRAITS, json);
          }
        }
        return JSON.parse(self._get(READ_USER_TRAITS, '{}'));
      },
    };
  }

  _groupStore() {
    const self = this;
    return {
      id() {
        return self._get(READ_GROUP_ID, null);
      },
      traits() {
        return JSON.parse(self._get(READ_GROUP_TRAITS, '{}'));
      },
    };
  }

  ready(callback) {
    return this._pipe.ready().then((res) => {
      if (typeof callback === 'function') {
        try {
          callback(res);
        } catch (err) {
          console.error('[sieve] ready callback error', err);
        }
      }
      return res;
    });
  }

  // Rejections of the promises below reach callers that await them, never the page as
  // unhandled.
  register(...plugins) {
    return handled(this._pipe.register(this, plugins));
  }

  deregister(...names) {
    return handled(this._pipe.deregister(this, names));
  }

  addSourceMiddleware(fn) {
    if (typeof fn === 'function') this._pipe.addSourceMiddleware(fn);
    return Promise.resolve(this);
  }

  // dist/autotrack.js, loaded on first use; resolves with the instance.
  _autotrack(fn, args) {
    return handled(
      chunk('autotrack', this).then((m) => {
        try {
          if (m) m[fn](this, ...args);
        } catch (err) {
          this._warn(fn + '(): ' + (err && err.message), 'invalid_call');
        }
        return this;
      }),
    );
  }
  trackLink(...args) {
    return this._autotrack('trackLink', args);
  }
  trackClick(...args) {
    return this.trackLink(...args);
  }
  trackForm(...args) {
    return this._autotrack('trackForm', args);
  }
  trackSubmit(...args) {
    return this.trackForm(...args);
  }

  addDestinationMiddleware(integrationName, ...fns) {
    this._pipe.addDestinationMiddleware(
      integrationName,
      fns.filter((f) => typeof f === 'function'),
    );
    return Promise.resolve(this);
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
    this._command(COMMAND_FLUSH);
    // Events that wait for device mode to start (js/plugins.js `hold`) are queued later, in
    // the tasks that follow its release: flush them then too.
    const held = this._pipe.held();
    if (held) held.then(() => setTimeout(() => this._command(COMMAND_FLUSH)));
  }

  push(args) {
    if (!Array.isArray(args)) return;
    const [method, ...rest] = args;
    if (PUBLIC_METHODS.has(method)) this[method](...rest);
  }
}

// What `push([method, ...args])` and the snippet's queue may call: the public API (never an
// internal `_` method, `constructor` or anything inherited from Object).
const PUBLIC_METHODS = new Set(
  [Emitter.prototype, Analytics.prototype]
    .flatMap((p) => Object.getOwnPropertyNames(p))
    .filter((n) => n[0] !== '_' && n !== 'constructor'),
);

export { PUBLIC_METHODS };
