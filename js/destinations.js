// Device mode (dist/destinations.js, loaded lazily by js/analytics.js only when the settings
// name device-mode destinations, remote middleware or a tracking plan): runs the workspace's
// browser destinations as analytics-next 1.84.3 does. What to load, with which settings, and
// what each destination receives (tracking plan, routing rules) is decided by the Rust router
// (src/destinations, in its own wasm, dist/sieve_destinations_bg.wasm, or
// dist/sieve_destinations_rules_bg.wasm with routing rules); this module loads the
// vendor scripts and calls them: classic integrations (`window[n + 'Integration']`, handed a
// Facade from Segment's `@segment/facade`), Actions destinations (`window[libraryName]`),
// remote middleware (`window[name + 'Middleware']`). Loops here are over destinations for one
// event, or over the scripts to load.
import init, { DestinationsWasm } from '../target/pkg/destinations/sieve_destinations.js';
// Segment's Facade classes one by one: the package's index also pulls in Screen and Delete,
// which no destination here is handed.
import { Alias } from '@segment/facade/dist/alias.js';
import { Group } from '@segment/facade/dist/group.js';
import { Identify } from '@segment/facade/dist/identify.js';
import { Page } from '@segment/facade/dist/page.js';
import { Track } from '@segment/facade/dist/track.js';
import { COMMAND_SET_METADATA } from './codes.js';

const warn = (...args) => console.warn('[sieve]', ...args);

// A script, once per URL (two Actions destinations from one bundle share one fetch), as
// analytics-next's loadScript: inserted before the first script of the page.
const scripts = {};
function loadScript(src) {
  return (scripts[src] ||= new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.async = true;
    s.onload = resolve;
    s.onerror = () => {
      delete scripts[src];
      reject(new Error('Failed to load ' + src));
    };
    const first = document.querySelector('script');
    if (first && first.parentElement) first.parentElement.insertBefore(s, first);
    else document.head.appendChild(s);
  }));
}

const offline = () => typeof navigator !== 'undefined' && navigator.onLine === false;

/** The routed event for `name`: an event, null when dropped; throws when the rules failed. */
function routed(router, name, classic, ctx) {
  const out = router.route(name, classic, ctx.json());
  if (out === '') return null;
  if (out[0] === '!') throw new Error('routing rules for ' + name + ': ' + out.slice(1));
  return JSON.parse(out);
}

/** A classic integration (analytics-next's LegacyDestination). */
class Classic {
  constructor(entry, base, router, options) {
    Object.assign(this, { entry, base, router, options });
    this.name = entry.name;
    this.version = entry.version;
    this.type = 'destination';
    this._device = true;
    this._buffer = [];
    this._flushing = false;
    this._initialized = false;
    this._ready = false;
    this._init = new Promise((r) => (this._initDone = r));
    this._onReady = undefined;
  }
  isLoaded() {
    return this._ready;
  }
  ready() {
    return this._init.then(() => this._onReady);
  }
  async load(_ctx, analytics) {
    const { path, url, settings } = this.entry;
    await loadScript(url);
    const deps = window[path + 'Deps'] || [];
    await Promise.all(deps.map((dep) => loadScript(this.base + dep + '.gz')));
    window[path + 'Loader']();
    const source = window[path + 'Integration'];
    let Ctor = source;
    // GA and Appcues take an analytics stub first.
    if (source && 'Integration' in source) {
      source({ user: () => analytics.user(), addIntegration() {} });
      Ctor = source.Integration;
    }
    const integration = (this.integration = new Ctor({ ...settings }));
    integration.analytics = analytics;
    this._onReady = new Promise((resolve) =>
      integration.once('ready', () => {
        this._ready = true;
        resolve(true);
      }),
    );
    integration.on('initialize', () => {
      this._initialized = true;
      this._initDone(true);
    });
    try {
      integration.initialize();
    } catch (err) {
      this._initDone(false);
      throw err;
    }
    this._scheduleFlush();
  }
  // Buffered until the integration is ready and initialized (page events never are);
  // flushed after a random 0-5 s delay, as analytics-next does.
  _scheduleFlush() {
    if (this._flushing) return;
    setTimeout(async () => {
      if (offline() || !this._ready || !this._initialized) return this._scheduleFlush();
      this._flushing = true;
      while (this._buffer.length && !offline()) {
        const [ctx, Facade, method, mw] = this._buffer.shift();
        await this._send(ctx, Facade, method, mw).catch((err) => ctx.log('warn', this.name + ' failed', err));
      }
      this._flushing = false;
      if (this._buffer.length) this._scheduleFlush();
    }, Math.random() * 5000);
  }
  async _send(ctx, Facade, method, mw) {
    if (ctx.event.type !== 'page' && (offline() || !this._ready || !this._initialized)) {
      this._buffer.push([ctx, Facade, method, mw]);
      this._scheduleFlush();
      return;
    }
    // The plan's check for this destination, then its routing rules, then destination
    // middleware.
    let event = routed(this.router, this.name, true, ctx);
    if (event) event = await mw(event);
    if (!event || !this.integration) return;
    await this.integration.invoke(method, new Facade(event, { traverse: !this.options.disableAutoISOConversion }));
  }
  track(ctx, mw) {
    return this._send(ctx, Track, 'track', mw);
  }
  identify(ctx, mw) {
    return this._send(ctx, Identify, 'identify', mw);
  }
  group(ctx, mw) {
    return this._send(ctx, Group, 'group', mw);
  }
  alias(ctx, mw) {
    return this._send(ctx, Alias, 'alias', mw);
  }
  page(ctx, mw) {
    if (this.integration && this.integration._assumesPageview && !this._initialized) this.integration.initialize();
    // Sent once initialized (analytics-next's call promise waits for that; Sieve's does not).
    this._init.then(() => this._send(ctx, Page, 'page', mw)).catch((err) => ctx.log('warn', this.name, err));
  }
}

const ACTION_METHODS = ['track', 'page', 'screen', 'identify', 'group', 'alias'];

/** One plugin of an Actions destination (analytics-next's ActionDestination). */
class Action {
  constructor(name, action, router, C) {
    Object.assign(this, { name, action, router, C });
    this.type = action.type;
    this.version = '1.0.0';
    this.alternativeNames = [action.name];
    this._device = true;
    this._loaded = new Promise((resolve, reject) => ((this._resolve = resolve), (this._reject = reject)));
    this._loaded.catch(() => {});
    for (const m of ACTION_METHODS) this[m] = (ctx, mw) => this._run(m, ctx, mw);
  }
  isLoaded() {
    return this.action.isLoaded();
  }
  ready() {
    return this._loaded.then(
      () => true,
      () => false,
    );
  }
  async load(ctx, analytics) {
    try {
      this._resolve(await this.action.load(ctx, analytics));
    } catch (err) {
      this._reject(err);
      throw err;
    }
  }
  async _run(method, ctx, mw) {
    if (!this.action[method]) return ctx;
    let target = ctx;
    // Routing rules and destination middleware apply to destination-type actions only.
    if (this.type === 'destination') {
      let event = routed(this.router, this.name, false, ctx);
      if (event) event = await mw(event);
      if (!event) return ctx;
      target = new this.C(event);
    }
    if (!(await this.ready())) throw new Error('Something prevented the destination from getting ready');
    await this.action[method](target);
    return ctx;
  }
}

const REQUIRED = ['load', 'isLoaded', 'name', 'version', 'type'];

/** The plugins of one `remotePlugins` entry (none when it fails to load, with a warning). */
async function actionPlugins(entry, router, C) {
  try {
    await loadScript(entry.url);
    const factory = window[entry.libraryName];
    if (typeof factory !== 'function') return [];
    const made = await factory({ ...entry.settings });
    const plugins = Array.isArray(made) ? made : [made];
    for (const p of plugins)
      for (const k of REQUIRED) if (!p || p[k] === undefined) throw new Error('Plugin missing required ' + k);
    return plugins.map((p) => new Action(entry.creationName, p, router, C));
  } catch (err) {
    warn('Failed to load Remote Plugin', entry.name, err);
    return [];
  }
}

/** The tracking plan's Schema Filter (a `before` plugin; screen events pass as they are). */
function schemaFilter(router) {
  const filter = (ctx) => {
    const integrations = router.filter(ctx.json());
    if (integrations !== undefined) ctx.updateEvent('integrations', JSON.parse(integrations));
    return ctx;
  };
  return {
    name: 'Schema Filter',
    type: 'before',
    version: '0.1.0',
    isLoaded: () => true,
    load: () => Promise.resolve(),
    page: filter,
    alias: filter,
    track: filter,
    identify: filter,
    group: filter,
  };
}

/** A remote middleware function (`undefined` when its script fails, as analytics.js skips it). */
async function remoteMiddleware(entry) {
  try {
    await loadScript(entry.url);
    return window[entry.global];
  } catch (err) {
    warn('could not load remote middleware ' + entry.name, err);
  }
}

/**
 * Loads the router and what it says to load, and puts the destinations in `pipeline` (the
 * core's js/plugins.js Pipeline) ahead of the page's own plugins, in analytics-next's order:
 * classic destinations, Actions destinations, the Schema Filter, then remote middleware.
 * Resolves once the Actions scripts and remote middleware are in (classic integrations load
 * on their own, as in analytics-next); events wait for it (js/chunks.js `hold`).
 */
export async function attach(analytics, pipeline, C, assets) {
  const s = analytics.settings;
  // The router with the routing-rules evaluator only when the settings have rules (the
  // smaller build refuses them); `assets`: the npm entry's `assetsURL` setting, when given
  // (bundlers that copy no wasm).
  const rules = ((s.cdnSettings || {}).middlewareSettings || {}).routingRules;
  const wasm = Array.isArray(rules) && rules.length ? 'sieve_destinations_rules_bg.wasm' : 'sieve_destinations_bg.wasm';
  await init({ module_or_path: assets ? new URL(wasm, assets) : new URL(wasm, import.meta.url) });
  const options = analytics.options;
  const router = new DestinationsWasm(JSON.stringify(s.cdnSettings || {}), JSON.stringify(options), s.cdnURL);
  const plan = JSON.parse(router.plan());
  // `_metadata`'s bundling lists, computed here from the settings (the core writes no lists
  // on a page that needs device mode until it has them).
  analytics._command(COMMAND_SET_METADATA, plan.metadata);
  const classic = plan.classic.map((entry) => new Classic(entry, plan.base, router, options));
  const [actions, middleware] = await Promise.all([
    Promise.all(plan.actions.map((entry) => actionPlugins(entry, router, C))),
    Promise.all(plan.middleware.map(remoteMiddleware)),
  ]);
  const plugins = [...classic, ...actions.flat()];
  if (plan.plan) plugins.push(schemaFilter(router));
  await pipeline.adopt(analytics, plugins);
  for (const fn of middleware) if (typeof fn === 'function') pipeline.addSourceMiddleware(fn, true);
  return plan;
}
