// One way to write a browser test for every engine: Chromium (playwright-core), Firefox ESR
// (puppeteer-core over WebDriver BiDi) and WebKitGTK (selenium-webdriver → WebKitWebDriver
// under a self-started Xvfb), all Debian packages (scripts/setup.sh). A suite opts in:
//
//   const rig = useEngines();                       // collector + static server per file
//   forEachEngine(['chromium', 'firefox', 'webkit'], (engine) => {
//     test(`${engine.name}: …`, async () => {
//       const page = await engine.newPage();         // a fresh profile (context) per call
//       await page.goto(rig.web.page('/x.html', html));
//       await page.evaluate((n) => analytics.track('T', { n }), 1);
//       …
//       await page.context().close();
//     });
//   });
//
// One browser per engine per test file, launched on first use and closed after the engine's
// tests; contexts a test left open are closed after it. WebKitWebDriver runs one session
// (context) at a time: a WebKit test has one context, with as many tabs as it needs.
// Pages mirror the part of Playwright's Page the suites use: goto, reload, evaluate(fn, arg),
// url, close, context() (newPage for a second tab, cookies, setOffline, close), `logs`
// ({type, text}, types as Playwright names them) and `errors` (uncaught exceptions and
// unhandled rejections); setVisibility() simulates hiding a page. Init scripts (`engine.newPage({init})`) are served by the static
// server as the first script of every HTML page it serves while the context is open, the
// same way in every engine (WebKitWebDriver has no init-script command). In WebKit (no log
// endpoint, no BiDi) a console recorder goes first instead of native capture: it keeps what
// it saw in sessionStorage (so it survives reloads and navigation) and `logs`/`errors` are
// brought up to date by every evaluate() and by `await page.drain()`.
// Chromium-only DevTools features (Playwright's clock, route interception, CDP) stay in the
// Chromium-only suites: `engine.playwright` is the Playwright page where there is one.
import { spawn } from 'node:child_process';
import { before, beforeEach, after, afterEach, describe } from 'node:test';
import { chromium } from 'playwright-core';
import { startCollector, startStatic, waitFor, CHROMIUM_ARGS } from './harness.mjs';

export const ENGINES = ['chromium', 'firefox', 'webkit'];

/** The engines of `names` that `SIEVE_ENGINES` (comma-separated, default all) selects. */
export function selected(names = ENGINES) {
  const only = (process.env.SIEVE_ENGINES || '').split(',').filter(Boolean);
  return only.length ? names.filter((n) => only.includes(n)) : names;
}

// The file's rig: the collector and the static server (module state: node --test runs each
// file in its own process).
const rig = {};
const launched = new Map(); // name → promise of the engine's browser handle

/**
 * Starts the collector and a static server before a file's tests and stops them (and every
 * engine launched meanwhile) after. Returns the rig: `{collector, web}` once started.
 * `collectorOptions` (or a function returning them, run first) goes to startCollector.
 */
export function useEngines(collectorOptions, { reset = false } = {}) {
  before(async () => {
    const options = typeof collectorOptions === 'function' ? collectorOptions() : collectorOptions;
    rig.collector = await startCollector(options);
    rig.web = await startStatic();
  });
  // `reset`: the collector's events, request log and faults cleared before each test (the
  // engines share the file's collector, and often its write keys).
  if (reset)
    beforeEach(async () => {
      await rig.collector.clearFaults();
      await rig.collector.clear();
    });
  after(async () => {
    for (const browser of launched.values()) await (await browser.catch(() => null))?.close();
    launched.clear();
    await rig.web?.stop();
    await rig.collector?.stop();
  });
  return rig;
}

/**
 * Calls `body(engine)` once per selected engine of `names`, inside `describe(name)` (tests are
 * defined inside; an engine's browser is closed once its tests are done).
 */
export function forEachEngine(names, body) {
  for (const name of selected(names)) {
    describe(name, () => {
      body(engine(name));
      // A test that failed before closing its contexts must not fail the next ones.
      afterEach(async () => {
        for (const context of [...open]) await context.close();
      });
      after(async () => {
        const browser = launched.get(name);
        launched.delete(name);
        if (browser) await (await browser.catch(() => null))?.close();
      });
    });
  }
}

/**
 * The time zone Firefox and WebKit run in (their drivers cannot set one per context, as
 * Playwright does for Chromium): not UTC, so that a test can tell the host's zone from a default.
 */
export const ENGINE_TZ = 'Europe/Paris';

/**
 * Makes `page` hidden or visible (`state`: 'hidden' | 'visible') as far as the page can tell:
 * `document.visibilityState`/`hidden` answer `state` and `visibilitychange` fires. Simulated
 * in the page, the same in every engine: none of the three drivers can hide a tab for real
 * (headless Chromium keeps every tab visible; CDP's lifecycle states freeze, which is another
 * thing). Navigation and closing a tab are the real page-hide paths.
 */
export function setVisibility(page, state) {
  return page.evaluate((s) => {
    for (const [key, value] of [
      ['visibilityState', s],
      ['hidden', s === 'hidden'],
    ])
      Object.defineProperty(document, key, { configurable: true, get: () => value });
    document.dispatchEvent(new Event('visibilitychange'));
  }, state);
}

/** The engine `name` (its browser launched on first use). */
export function engine(name) {
  const browser = () => {
    if (!launched.has(name)) launched.set(name, LAUNCH[name]());
    return launched.get(name);
  };
  return {
    name,
    /** What only some engines can do. */
    can: { offline: name !== 'webkit', cookieAttributes: true, playwright: name === 'chromium' },
    /** A new context (fresh cookies and storage) with one page in it. */
    async newPage(options = {}) {
      const context = await (await browser()).newContext(options);
      return context.newPage();
    },
    /** A new context without a page (`context.newPage()` opens tabs in it). */
    async newContext(options = {}) {
      return (await browser()).newContext(options);
    },
  };
}

// --- init scripts, through the static server ------------------------------------------

const open = new Set(); // contexts not closed yet
let initOwner = null;
function setInit(owner, code) {
  open.add(owner);
  if (!code) return;
  if (initOwner && initOwner !== owner) throw new Error('one context with an init script at a time');
  initOwner = owner;
  rig.web.setInit(code);
}
function clearInit(owner) {
  open.delete(owner);
  if (initOwner !== owner) return;
  initOwner = null;
  rig.web.setInit(null);
}
const initCode = (init) => (typeof init === 'function' ? `(${init})();` : init || '');

// Console recorder for WebKit: console.* calls and uncaught errors into sessionStorage.
const RECORDER = `(() => {
  const KEY = '__sieve_console';
  const push = (type, text) => {
    try {
      const all = JSON.parse(sessionStorage.getItem(KEY) || '[]');
      all.push([type, text]);
      sessionStorage.setItem(KEY, JSON.stringify(all));
    } catch (_) {}
  };
  const text = (a) => {
    if (a instanceof Error) return String(a);
    if (a && typeof a === 'object') { try { return JSON.stringify(a); } catch (_) { return String(a); } }
    return String(a);
  };
  for (const [m, type] of [['log', 'log'], ['info', 'info'], ['debug', 'debug'], ['warn', 'warning'], ['error', 'error']]) {
    const original = console[m];
    console[m] = function (...args) { push(type, args.map(text).join(' ')); return original.apply(this, args); };
  }
  addEventListener('error', (e) => push('pageerror', e.error ? (e.error.stack || String(e.error)) : String(e.message)));
  addEventListener('unhandledrejection', (e) => push('pageerror', 'unhandled rejection: ' + ((e.reason && e.reason.stack) || String(e.reason))));
})();`;
const DRAIN = `(() => { try { const k = '__sieve_console', v = JSON.parse(sessionStorage.getItem(k) || '[]'); sessionStorage.removeItem(k); return v; } catch (_) { return []; } })()`;

// A page of a driver with Playwright's page API (puppeteer's is the same for these), whose
// console and errors the driver captures natively.
const pageOf = (engine, page, context, logs, errors) => ({
  engine,
  logs,
  errors,
  goto: (url) => page.goto(url).then(() => {}),
  reload: () => page.reload().then(() => {}),
  evaluate: (fn, arg) => page.evaluate(fn, arg),
  url: () => page.url(),
  drain: async () => {},
  close: () => page.close(),
  context: () => context,
});

// --- Chromium: playwright-core ----------------------------------------------------------

async function launchChromium() {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    headless: true,
    // Playwright turns the back/forward cache off; Chromium users have it.
    ignoreDefaultArgs: ['--disable-back-forward-cache'],
  });
  return {
    close: () => browser.close(),
    async newContext({ init, ...options } = {}) {
      const context = await browser.newContext(options);
      const self = {
        playwright: context,
        async newPage() {
          const page = await context.newPage();
          const logs = [];
          const errors = [];
          page.on('console', (m) => logs.push({ type: m.type(), text: m.text() }));
          page.on('pageerror', (e) => errors.push(e.stack || String(e)));
          return { ...pageOf('chromium', page, self, logs, errors), playwright: page };
        },
        cookies: () => context.cookies(),
        setOffline: (offline) => context.setOffline(offline),
        async close() {
          clearInit(self);
          await context.close();
        },
      };
      setInit(self, initCode(init));
      return self;
    },
  };
}

// --- Firefox: puppeteer-core over WebDriver BiDi ---------------------------------------

async function launchFirefox() {
  const { default: puppeteer } = await import('puppeteer-core');
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: '/usr/bin/firefox-esr',
    headless: true,
    protocol: 'webDriverBiDi',
    env: { ...process.env, TZ: ENGINE_TZ },
    // No background traffic: nothing leaves the machine anyway.
    extraPrefsFirefox: { 'network.dns.disableIPv6': true, 'browser.safebrowsing.malware.enabled': false },
  });
  return {
    close: () => browser.close(),
    async newContext({ init } = {}) {
      const context = await browser.createBrowserContext();
      const pages = [];
      const self = {
        async newPage() {
          const page = await context.newPage();
          pages.push(page);
          const logs = [];
          const errors = [];
          // puppeteer names console.warn 'warn' (Playwright: 'warning').
          page.on('console', (m) => logs.push({ type: m.type() === 'warn' ? 'warning' : m.type(), text: m.text() }));
          // Firefox reports a CSP violation or a failed cross-origin request (e.g. a connection
          // reset) as a JavaScript error entry (puppeteer: pageerror), though nothing was
          // thrown in the page: a console error, as Chromium logs them.
          page.on('pageerror', (e) =>
            /^Error: (Content-Security-Policy|Cross-Origin Request Blocked): /.test(String(e))
              ? logs.push({ type: 'error', text: String(e) })
              : errors.push(e.stack || String(e)),
          );
          return pageOf('firefox', page, self, logs, errors);
        },
        async cookies() {
          return (await context.cookies()).map((c) => ({ ...c, sameSite: c.sameSite }));
        },
        async setOffline(offline) {
          for (const p of pages) if (!p.isClosed()) await p.setOfflineMode(offline);
        },
        async close() {
          clearInit(self);
          await context.close();
        },
      };
      setInit(self, initCode(init));
      return self;
    },
  };
}

// --- WebKit: selenium-webdriver → WebKitWebDriver (MiniBrowser) under Xvfb --------------

const MINIBROWSER = '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';

function spawnUntil(cmd, args, options, ready) {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(cmd + ' did not start: ' + out)), 15_000);
    const onData = (d) => {
      out += d;
      const v = ready(out);
      if (v !== undefined) {
        clearTimeout(timer);
        resolve([proc, v]);
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('exit', (code) => reject(new Error(cmd + ' exited with ' + code + ': ' + out)));
  });
}

// WebKitWebDriver with an explicit free port (it cannot report port 0's choice).
async function startWebKitDriver() {
  const { Builder } = await import('selenium-webdriver');
  const [xvfb, display] = await spawnUntil(
    'Xvfb',
    ['-displayfd', '1', '-nolisten', 'tcp', '-screen', '0', '1280x800x24'],
    {},
    (out) => (/^(\d+)\n/.exec(out) || [])[1],
  );
  const root = new URL('../..', import.meta.url).pathname;
  const env = {
    ...process.env,
    DISPLAY: ':' + display,
    // Under C.UTF-8 WebKitGTK reports navigator.language "C" (setup compiles the locale).
    LOCPATH: root + 'target/locale',
    LC_ALL: 'en_US.UTF-8',
    TZ: ENGINE_TZ,
  };
  const port = await freePort();
  const driverProc = spawn('/usr/bin/WebKitWebDriver', ['--host=127.0.0.1', '--port=' + port], {
    env,
    stdio: 'ignore',
  });
  const server = 'http://127.0.0.1:' + port;
  await waitFor(
    () =>
      fetch(server + '/status').then(
        (r) => r.ok,
        () => false,
      ),
    { what: 'WebKitWebDriver', interval: 100 },
  );
  const capabilities = {
    browserName: 'MiniBrowser',
    'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] },
  };
  return {
    close() {
      driverProc.kill();
      xvfb.kill();
    },
    async newContext({ init } = {}) {
      // One WebDriver session is one browser process with its own (ephemeral) profile.
      const driver = await new Builder().usingServer(server).withCapabilities(capabilities).build();
      await driver.manage().setTimeouts({ script: 60_000, pageLoad: 30_000 });
      let first = await driver.getWindowHandle();
      let current = first;
      let chain = Promise.resolve();
      // Commands of every tab go through one session: serialized, each on its own window.
      const serial = (handle, fn) => {
        const run = chain.then(async () => {
          if (current !== handle) {
            await driver.switchTo().window(handle);
            current = handle;
          }
          return fn();
        });
        chain = run.catch(() => {});
        return run;
      };
      const self = {
        async newPage() {
          let handle = first;
          first = null;
          if (handle === null) {
            handle = await serial(current, async () => {
              await driver.switchTo().newWindow('tab');
              return (current = await driver.getWindowHandle());
            });
          }
          const logs = [];
          const errors = [];
          const take = (entries) => {
            for (const [type, text] of entries || [])
              (type === 'pageerror' ? errors : logs).push(type === 'pageerror' ? text : { type, text });
          };
          const drain = () => serial(handle, async () => take(await driver.executeScript('return ' + DRAIN)));
          return {
            engine: 'webkit',
            logs,
            errors,
            goto: (url) => serial(handle, () => driver.get(url)),
            reload: () => serial(handle, () => driver.navigate().refresh()),
            async evaluate(fn, arg) {
              const out = await serial(handle, () =>
                driver.executeAsyncScript(
                  `const done = arguments[arguments.length - 1];
                   const keep = (k, x) => (x === undefined ? '${UNDEFINED}' : x);
                   Promise.resolve(arguments[0]).then((arg) => (${fn})(arg)).then(
                     (v) => done(JSON.stringify({ v, logs: ${DRAIN} }, keep)),
                     (e) => done(JSON.stringify({ err: String((e && e.stack) || e), logs: ${DRAIN} })));`,
                  arg === undefined ? null : arg,
                ),
              );
              const { v, err, logs: entries } = JSON.parse(out);
              take(entries);
              if (err !== undefined) throw new Error('evaluate: ' + err);
              return revive(v);
            },
            url: () => serial(handle, () => driver.getCurrentUrl()),
            drain,
            close: () =>
              serial(handle, async () => {
                await driver.close();
                const rest = await driver.getAllWindowHandles();
                if (rest.length) {
                  await driver.switchTo().window(rest[0]);
                  current = rest[0];
                }
              }),
            context: () => self,
          };
        },
        async cookies() {
          const all = await serial(current, () => driver.manage().getCookies());
          return all.map((c) => ({ ...c, expires: c.expiry, sameSite: c.sameSite }));
        },
        async setOffline() {
          throw new Error('WebKit: no offline emulation through WebDriver');
        },
        async close() {
          clearInit(self);
          await driver.quit().catch(() => {});
        },
      };
      setInit(self, RECORDER + initCode(init));
      return self;
    },
  };
}

// evaluate() results cross WebDriver as JSON: `undefined` (which Playwright and puppeteer
// keep) travels as this marker and is put back.
const UNDEFINED = '__sieve_undefined__';
function revive(v) {
  if (v === UNDEFINED) return undefined;
  if (v && typeof v === 'object') for (const k of Object.keys(v)) v[k] = revive(v[k]);
  return v;
}

async function freePort() {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const LAUNCH = { chromium: launchChromium, firefox: launchFirefox, webkit: startWebKitDriver };
