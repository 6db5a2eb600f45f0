// Developer tool (not part of `npm run bench`): CPU profile of `calls` track() calls on the
// bench page in headless Chromium, printed as the top functions by self time.
//
//   node bench/profile.mjs [calls=2000] [top=40] [rounds=3]
//
// Then, unprofiled, `rounds` of the bench's own per-call measurement (bench/percall.mjs) for
// Sieve alone: wall and main-thread CPU per call, synchronous part and until settled.
//
// For wasm function names, build a named wasm first (wasm-opt -g) and serve it as
// dist/sieve_bg.wasm; stripped builds show wasm-function[N].
import { startCollector, startStatic, launch } from '../tests/e2e/harness.mjs';
import { SDKS, benchPage, registerSettings, registerSnapshot } from './pages.mjs';
import { runPerCall } from './percall.mjs';

const calls = Number(process.argv[2] || 2000);
const top = Number(process.argv[3] || 40);
const rounds = Number(process.argv[4] ?? 3);
const collector = await startCollector();
const web = await startStatic();
const browser = await launch();
try {
  registerSnapshot(web);
  const sdk = SDKS.find((s) => s.id === 'sieve');
  const writeKey = 'profile-' + process.pid;
  await registerSettings(web, collector, writeKey);
  const url = web.page(
    `/bench/${writeKey}.html`,
    benchPage({ writeKey, scriptUrl: web.url + sdk.scriptPath, cdn: web.url }),
  );
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('console', (m) => console.error('[page]', m.text()));
  await page.goto(url);
  await page.evaluate(() => window.__bench.ready.then(() => new Promise((r) => setTimeout(r, 300))));
  const cdp = await context.newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 50 });
  // console.profile/profileEnd around the loop: the profile holds the synchronous loop only.
  const finished = new Promise((resolve) => cdp.once('Profiler.consoleProfileFinished', (e) => resolve(e.profile)));
  const ms = await page.evaluate((calls) => {
    const a = window.analytics;
    console.profile('loop');
    const t0 = performance.now();
    for (let i = 0; i < calls; i++)
      a.track('Bench Event', { i, plan: 'pro', revenue: 12.5, tags: ['a', 'b'], nested: { k: 'v' } });
    const ms = performance.now() - t0;
    console.profileEnd('loop');
    return ms;
  }, calls);
  const profile = await finished;
  const self = new Map();
  const dt = new Map();
  for (let i = 0; i < profile.samples.length; i++)
    dt.set(profile.samples[i], (dt.get(profile.samples[i]) || 0) + profile.timeDeltas[i]);
  let total = 0;
  for (const n of profile.nodes) {
    const t = dt.get(n.id) || 0;
    const name =
      (n.callFrame.functionName || '(anon)') + ' ' + n.callFrame.url.split('/').pop() + ':' + n.callFrame.lineNumber;
    self.set(name, (self.get(name) || 0) + t);
    if (n.callFrame.functionName !== '(idle)' && n.callFrame.functionName !== '(program)') total += t;
  }
  console.log(
    `sync loop: ${((ms * 1000) / calls).toFixed(1)} µs/call wall; profiled (non-idle) ${(total / calls).toFixed(1)} µs/call`,
  );
  for (const [name, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log((t / calls).toFixed(2).padStart(8), 'µs', name);
  await context.close();
  const cases = [
    {
      id: 'sieve',
      async prepare(wk) {
        await registerSettings(web, collector, wk);
        return web.page(
          `/bench/${wk}.html`,
          benchPage({ writeKey: wk, scriptUrl: web.url + sdk.scriptPath, cdn: web.url }),
        );
      },
    },
  ];
  const out =
    rounds === 0 ? null : await runPerCall({ browser, collector, cases, rounds, calls, log: (m) => console.log(m) });
  const med = (k) => {
    const sorted = out.sieve.map((r) => r.cold[k]).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)].toFixed(2);
  };
  if (out)
    console.log(
      `median of ${rounds}: sync ${med('syncUs')} µs wall, ${med('cpuSyncUs')} µs CPU; settled ${med('settleUs')} µs wall, ${med('cpuSettleUs')} µs CPU`,
    );
} finally {
  await browser.close();
  await web.close?.();
  await collector.stop?.();
}
