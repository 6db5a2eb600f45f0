// analytics.js plugins and middleware, run by the shim around the core: `before` and
// `enrichment` plugins (and source middleware) see an event before it is queued, then
// `destination` plugins (device mode; destination middleware applies per destination) and
// `after` plugins see it once it is queued. A loop here is over plugins for one event.
// dist/plugins.js, loaded by the core's LazyPipeline (js/chunks.js) on first use; the core
// hands over its Context class (one class for both, so `instanceof` holds).

import { COMMAND_SET_FAILED_INITIALIZATIONS } from './codes.js';

// How long events wait for device mode to start (its Actions scripts, remote middleware).
const HOLD_MS = 10000;

export class ContextCancelation {
  constructor({ retry = true, type = 'plugin Error', reason = '' } = {}) {
    this.retry = retry;
    this.type = type;
    this.reason = reason;
  }
}

const METHODS = ['track', 'page', 'screen', 'identify', 'group', 'alias'];

/** A Facade-like view of an event for middleware: `obj` plus the common getters. */
function facade(event) {
  const obj = JSON.parse(JSON.stringify(event));
  const get = (k) => () => obj[k];
  return {
    obj,
    type: get('type'),
    event: get('event'),
    properties: get('properties'),
    traits: get('traits'),
    userId: get('userId'),
    anonymousId: get('anonymousId'),
    context: get('context'),
    integrations: get('integrations'),
    timestamp: get('timestamp'),
  };
}

// Whether `integrations` lets destination `plugin` have the event.
function enabledFor(integrations, plugin) {
  const i = integrations || {};
  let v = i[plugin.name];
  for (const alt of plugin.alternativeNames || []) v ??= i[alt];
  return (v ?? i.All) !== false;
}

function sourceMiddlewarePlugin(fn, destinations) {
  async function apply(ctx) {
    let nextCalled = false;
    const integrations = {};
    for (const d of destinations()) integrations[d.name] = true;
    await fn({
      payload: facade(ctx.event),
      integrations,
      next(payload) {
        nextCalled = true;
        // next(null) keeps the event as it was, as analytics.js does.
        if (payload) ctx.event = payload.obj;
      },
    });
    if (!nextCalled)
      throw new ContextCancelation({
        retry: false,
        type: 'middleware_cancellation',
        reason: 'Middleware `next` function skipped',
      });
    return ctx;
  }
  const plugin = {
    name: 'Source Middleware ' + fn.name,
    type: 'before',
    version: '0.1.0',
    isLoaded: () => true,
    load: () => Promise.resolve(),
  };
  for (const m of METHODS) plugin[m] = apply;
  return plugin;
}

export class Pipeline {
  constructor(Context) {
    this.C = Context;
    this.plugins = [];
    this.failedInitializations = [];
    this._destinationMiddleware = []; // [name lowercased or '*', fn]
    this._front = 0; // device-mode plugins (js/destinations.js) come first, in their order
    this._held = null; // events wait for this (device mode loading), see hold()
  }

  /** Whether an event must pass through page code before it is queued. */
  get deferring() {
    return !!this._held || this.plugins.some((p) => p.type === 'before' || p.type === 'enrichment');
  }

  /**
   * Device mode: `part` (a promise of dist/destinations.js, null when it could not be
   * loaded) attaches its destinations to this pipeline. Events wait (built, not queued) until
   * it is done, at most HOLD_MS, and not past the page being hidden (`pagehide`), as
   * analytics-next's events wait for its destinations to register; a part that fails lets
   * them go on without device mode.
   */
  hold(analytics, part) {
    const held = (this._held = new Promise((release) => {
      part
        .then((m) => m && m.attach(analytics, this, this.C))
        .catch((err) => analytics._warn('device mode failed to start: ' + (err && err.message), 'chunk_unavailable'))
        .then(release);
      setTimeout(release, HOLD_MS);
      addEventListener('pagehide', release);
    }).then(() => {
      if (this._held === held) this._held = null;
    }));
  }

  _failed(analytics, plugin, err) {
    console.warn('[sieve] plugin "' + plugin.name + '" failed to load', err);
    this.failedInitializations.push(plugin.name);
    analytics._command(COMMAND_SET_FAILED_INITIALIZATIONS, JSON.stringify(this.failedInitializations)); // _metadata on API events
    analytics.emit('error', { code: 'plugin_load_failure', reason: err, plugin: plugin.name });
  }

  /**
   * Device-mode plugins (js/destinations.js), ahead of the page's own: in place at once (a
   * destination buffers what comes before it is ready), removed if their load fails, as
   * analytics-next registers them. Destinations load without being awaited, others are.
   */
  async adopt(analytics, plugins) {
    this.plugins.splice(this._front, 0, ...plugins);
    this._front += plugins.length;
    const ctx = this.C.system();
    await Promise.all(
      plugins.map(async (plugin) => {
        const load = Promise.resolve()
          .then(() => plugin.load(ctx, analytics))
          .catch((err) => {
            this.plugins = this.plugins.filter((p) => p !== plugin);
            this._front--;
            this._failed(analytics, plugin, err);
          });
        if (plugin.type !== 'destination') await load;
      }),
    );
  }

  /** Whether anything runs after the event is queued. */
  get observing() {
    return this.plugins.some((p) => p.type === 'destination' || p.type === 'after');
  }

  async register(analytics, plugins) {
    const ctx = this.C.system();
    await Promise.all(
      plugins.map(async (plugin) => {
        let name, type;
        try {
          if (plugin && typeof plugin === 'object') ({ name, type } = plugin);
        } catch (_) {
          name = undefined; // a proxy or getter that throws when read
        }
        if (!name) {
          console.warn('[sieve] register(): not a plugin', plugin);
          return;
        }
        const load = async () => {
          try {
            await plugin.load?.(ctx, analytics);
            this.plugins.push(plugin);
          } catch (err) {
            this._failed(analytics, plugin, err);
          }
        };
        // Destination plugins load without being awaited (analytics.js), the others are.
        if (type === 'destination') load();
        else await load();
      }),
    );
    return ctx;
  }

  async deregister(analytics, names) {
    const ctx = this.C.system();
    for (const name of names) {
      const plugin = this.plugins.find((p) => p.name === name);
      if (!plugin) continue;
      try {
        await plugin.unload?.(ctx, analytics);
      } catch (err) {
        console.warn('[sieve] plugin "' + name + '" failed to unload', err);
      }
      this.plugins = this.plugins.filter((p) => p !== plugin);
    }
    return ctx;
  }

  /** `front`: remote middleware (device mode), after the device-mode plugins. */
  addSourceMiddleware(fn, front) {
    const plugin = sourceMiddlewarePlugin(fn, () => this.plugins.filter((p) => p.type === 'destination'));
    this.plugins.splice(front ? this._front++ : this.plugins.length, 0, plugin);
  }

  addDestinationMiddleware(name, fns) {
    const key =
      name === '*' ? '*' : typeof name === 'string' || typeof name === 'number' ? String(name).toLowerCase() : null;
    if (key === null) {
      console.warn('[sieve] addDestinationMiddleware(): the integration name must be a string');
      return;
    }
    for (const fn of fns) this._destinationMiddleware.push([key, fn]);
  }

  async ready() {
    await this._held;
    // Resolves even when a plugin's ready() rejects (a blocked vendor script must not hang it).
    return Promise.all(
      this.plugins.map((p) =>
        Promise.resolve()
          .then(() => p.ready?.())
          .catch(() => false),
      ),
    );
  }

  /**
   * Runs `before` (in order; a failure or a non-Context result cancels) and `enrichment`
   * plugins (in order; failures are logged). Returns false when the event was cancelled.
   */
  async prepare(ctx, method) {
    await this._held;
    for (const p of this.plugins.filter((x) => x.type === 'before')) {
      if (typeof p[method] !== 'function') continue;
      try {
        const out = await p[method](ctx);
        if (!(out instanceof this.C))
          throw new ContextCancelation({ reason: 'plugin "' + p.name + '" did not return a context' });
      } catch (err) {
        // ctx.cancel() throws by design; either way the event stops here.
        if (!ctx.isCancelled()) ctx._cancelled = err;
        return false;
      }
    }
    for (const p of this.plugins.filter((x) => x.type === 'enrichment')) {
      if (typeof p[method] !== 'function') continue;
      try {
        await p[method](ctx);
      } catch (err) {
        ctx.log('warn', 'enrichment plugin "' + p.name + '" failed', err);
      }
    }
    return true;
  }

  /** Destination plugins (in parallel, each isolated, with its middleware), then `after`. */
  async deliver(ctx, method) {
    await new Promise((r) => setTimeout(r, 0));
    const destinations = this.plugins.filter((p) => p.type === 'destination' && typeof p[method] === 'function');
    await Promise.all(
      destinations.map(async (p) => {
        if (!enabledFor(ctx.event.integrations, p)) return;
        try {
          // A device-mode destination applies its routing rules, then the middleware.
          if (p._device) return await p[method](ctx, (e) => this._applyDestinationMiddleware(p, e));
          const event = await this._applyDestinationMiddleware(p, ctx.event);
          if (event) await p[method](new this.C(event));
        } catch (err) {
          ctx.log('warn', 'destination "' + p.name + '" failed', err);
        }
      }),
    );
    await Promise.all(
      this.plugins
        .filter((p) => p.type === 'after' && typeof p[method] === 'function')
        .map((p) =>
          Promise.resolve()
            .then(() => p[method](ctx))
            .catch((err) => ctx.log('warn', 'after plugin failed', err)),
        ),
    );
  }

  async _applyDestinationMiddleware(plugin, event) {
    let current = JSON.parse(JSON.stringify(event));
    const name = plugin.name.toLowerCase();
    for (const [target, fn] of this._destinationMiddleware) {
      if (target !== '*' && target !== name) continue;
      let next;
      try {
        await fn({ payload: facade(current), integration: plugin.name, next: (p) => (next = p) });
      } catch (err) {
        console.warn('[sieve] destination middleware failed', err);
        return null;
      }
      // next(null) or no next(): dropped for this destination only.
      if (!next) return null;
      current = next.obj;
    }
    return current;
  }
}
