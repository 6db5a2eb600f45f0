// A local fake Segment CDN for the device-mode tests (a Node static server, like the harness'
// startStatic): settings per write key, classic integrations in the exact shape analytics.js
// loads (`next-integrations/integrations/<n>/<version>/<n>.dynamic.js.gz` defining
// `window[n + 'Deps']`, `window[n + 'Loader']`, which defines `window[n + 'Integration']`),
// an Actions destination bundled by esbuild from a minimal definition on the real
// `@segment/browser-destination-runtime` (so the real subscription evaluator and mapping kit
// run; `liquidjs`, which `@segment/actions-core` imports without declaring, is stubbed), remote
// middleware, and analytics-next's own lazy chunks. Every destination records what it gets in
// `window.__dm` as `[destination, method, payload]`.
import { createServer } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { ROOT } from '../harness.mjs';

const AJS_UMD = join(ROOT, 'node_modules/@segment/analytics-next/dist/umd');

/** The classic integration `n` (path name). `behaviour`: 'ok' (initialize, then ready after
 * `readyMs`), 'throw' (initialize throws), 'never' (never ready), 'missing' (404). */
export function classicScript(n, { readyMs = 300, behaviour = 'ok' } = {}) {
  return `(function () {
  var rec = function (m, p) { (window.__dm = window.__dm || []).push([${JSON.stringify(n)}, m, p]); };
  window[${JSON.stringify(n + 'Deps')}] = [];
  window[${JSON.stringify(n + 'Loader')}] = function () {
    function Integration(settings) { this.settings = settings; this._l = {}; }
    Integration.prototype.on = function (e, f) { (this._l[e] = this._l[e] || []).push(f); };
    Integration.prototype.once = function (e, f) {
      var self = this;
      var g = function () { self._l[e] = self._l[e].filter(function (x) { return x !== g; }); f(); };
      this.on(e, g);
    };
    Integration.prototype.emit = function (e) { (this._l[e] || []).slice().forEach(function (f) { f(); }); };
    Integration.prototype.initialize = function () {
      rec('initialize', JSON.parse(JSON.stringify(this.settings)));
      ${behaviour === 'throw' ? "throw new Error('initialize failed');" : ''}
      var self = this;
      setTimeout(function () { self.emit('initialize'); ${behaviour === 'never' ? '' : 'self.emit("ready");'} }, ${readyMs});
    };
    Integration.prototype.invoke = function (method, facade) {
      rec(method, { obj: JSON.parse(JSON.stringify(facade.obj)), date: facade.timestamp() instanceof Date,
        event: facade.event ? facade.event() : undefined, userId: facade.userId() });
    };
    window[${JSON.stringify(n + 'Integration')}] = Integration;
  };
})();`;
}

/** A remote middleware that tags the event's properties with its name. */
function middlewareScript(n) {
  return `window[${JSON.stringify(n + 'Middleware')}] = function (ctx) {
  ctx.payload.obj.properties = Object.assign({}, ctx.payload.obj.properties, { remoteMiddleware: ${JSON.stringify(n)} });
  ctx.next(ctx.payload);
};`;
}

// The Actions destination: two actions, fields mapped by the real mapping kit.
const ACTIONS_SOURCE = `
import { browserDestination } from '@segment/browser-destination-runtime/shim';
const rec = (m, p) => (window.__dm = window.__dm || []).push(['Fake Actions', m, p]);
window.fakeActionsDestination = browserDestination({
  name: 'Fake Actions',
  mode: 'device',
  settings: { apiKey: { label: 'API key', type: 'string', required: true } },
  initialize: async ({ settings }) => {
    rec('initialize', { apiKey: settings.apiKey, subscriptions: (settings.subscriptions || []).length });
    return {};
  },
  actions: {
    trackEvent: {
      title: 'Track', description: 'track', platform: 'web', defaultSubscription: 'type = "track"',
      fields: {
        name: { label: 'name', type: 'string', default: { '@path': '$.event' } },
        props: { label: 'props', type: 'object', default: { '@path': '$.properties' } },
        segments: { label: 'segments', type: 'object', default: { '@path': '$.context.segments' } },
      },
      perform: (_client, { payload }) => rec('trackEvent', payload),
    },
    identifyUser: {
      title: 'Identify', description: 'identify', platform: 'web', defaultSubscription: 'type = "identify"',
      fields: { userId: { label: 'userId', type: 'string', default: { '@path': '$.userId' } } },
      perform: (_client, { payload }) => rec('identifyUser', payload),
    },
  },
});
`;

async function actionsBundle() {
  const stub = {
    name: 'liquid-stub',
    setup(b) {
      b.onResolve({ filter: /^liquidjs$/ }, () => ({ path: 'liquidjs', namespace: 'stub' }));
      b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({
        contents:
          'export class Liquid { constructor() {} registerFilter() {} registerTag() {} parseAndRenderSync(t) { return t; } }',
        loader: 'js',
      }));
    },
  };
  const out = await build({
    stdin: { contents: ACTIONS_SOURCE, resolveDir: ROOT, loader: 'js' },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    write: false,
    logLevel: 'error',
    define: { 'process.env.NODE_ENV': '"production"', global: 'window' },
    plugins: [stub],
  });
  return out.outputFiles[0].text;
}

/** Starts the fake CDN. `settings[writeKey]` is served as that key's settings; `classic[n]`
 * configures classic integration `n`; `requests` logs every path asked for. */
export async function startCdn() {
  const actions = await actionsBundle();
  const cdn = { settings: {}, classic: {}, requests: [], middlewareMissing: new Set(), actionsMissing: false };
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    cdn.requests.push(path);
    const send = (status, type, body) => {
      res.writeHead(status, { 'Content-Type': type, 'Access-Control-Allow-Origin': '*', 'Cache-Control': 'no-store' });
      res.end(body);
    };
    let m;
    if ((m = /^\/v1\/projects\/([^/]+)\/settings$/.exec(path))) {
      const s = cdn.settings[m[1]];
      return s ? send(200, 'application/json', JSON.stringify(s)) : send(404, 'text/plain', 'no settings');
    }
    if ((m = /^\/next-integrations\/integrations\/([^/]+)\/([^/]+)\/([^/]+)\.dynamic\.js\.gz$/.exec(path))) {
      const conf = cdn.classic[m[1]] || {};
      if (m[1] !== m[3] || conf.behaviour === 'missing' || (conf.version && conf.version !== m[2]))
        return send(404, 'text/plain', 'not found');
      return send(200, 'text/javascript', classicScript(m[1], conf));
    }
    if (path === '/next-integrations/actions/fake/fake.js')
      return cdn.actionsMissing ? send(404, 'text/plain', 'x') : send(200, 'text/javascript', actions);
    if ((m = /^\/next-integrations\/middleware\/([^/]+)\/latest\/([^/]+)\.js\.gz$/.exec(path)))
      return cdn.middlewareMissing.has(m[1])
        ? send(404, 'text/plain', 'x')
        : send(200, 'text/javascript', middlewareScript(m[1]));
    if (path.startsWith('/analytics-next/bundles/')) {
      const file = join(AJS_UMD, path.split('/').pop());
      return existsSync(file) ? send(200, 'text/javascript', readFileSync(file)) : send(404, 'text/plain', 'x');
    }
    send(404, 'text/plain', 'not found');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  cdn.url = 'http://127.0.0.1:' + server.address().port;
  cdn.stop = () =>
    new Promise((r) => {
      server.closeAllConnections?.();
      server.close(r);
    });
  return cdn;
}
