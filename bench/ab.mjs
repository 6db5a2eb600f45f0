// Developer tool (not part of `npm run bench`): A/B of builds on the bench page. Each variant
// is a directory holding analytics.min.js + sieve_bg.wasm; rounds interleave the variants,
// each sample on a fresh browser context, timing `calls` track() calls (main-thread CPU via
// CDP ThreadTime, and wall).
//
//   node bench/ab.mjs [calls=2000] [rounds=9] dirA dirB ...
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { startCollector, startStatic, launch } from '../tests/e2e/harness.mjs';
import { benchPage, registerSettings } from './pages.mjs';
import { median } from './stats.mjs';

const [calls, rounds, ...dirs] = [Number(process.argv[2] || 2000), Number(process.argv[3] || 9), ...process.argv.slice(4)];
const collector = await startCollector();
const web = await startStatic();
const browser = await launch();
const names = dirs.map((d, i) => i + ':' + basename(d));
for (const [i, d] of dirs.entries()) {
  web.page(`/var${i}/analytics.min.js`, readFileSync(d + '/analytics.min.js'), { 'Content-Type': 'text/javascript' });
  web.page(`/var${i}/sieve_bg.wasm`, readFileSync(d + '/sieve_bg.wasm'), { 'Content-Type': 'application/wasm' });
}
web.page('/favicon.ico', '', { 'Content-Type': 'image/x-icon' });
const out = dirs.map(() => ({ cpu: [], wall: [] }));
try {
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < dirs.length; k++) {
      const i = (k + r) % dirs.length;
      const writeKey = `ab-${process.pid}-${r}-${i}`;
      await registerSettings(web, collector, writeKey);
      const url = web.page(`/ab/${writeKey}.html`, benchPage({ writeKey, scriptUrl: `${web.url}/var${i}/analytics.min.js`, cdn: web.url }));
      const context = await browser.newContext();
      const page = await context.newPage();
      page.on('pageerror', (e) => console.error('[page]', String(e)));
      await page.goto(url, { waitUntil: 'domcontentloaded' });
      await page.evaluate(() => window.__bench.ready.then(() => new Promise((res) => setTimeout(res, 200))));
      const cdp = await context.newCDPSession(page);
      await cdp.send('Performance.enable', { timeDomain: 'threadTicks' });
      const thread = async () => (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'ThreadTime').value * 1000;
      const c0 = await thread();
      const wall = await page.evaluate((calls) => {
        const a = window.analytics;
        const ps = new Array(calls);
        const t0 = performance.now();
        for (let i = 0; i < calls; i++) ps[i] = a.track('Bench Event', { i, plan: 'pro', revenue: 12.5, tags: ['a', 'b'], nested: { k: 'v' } });
        window.__ps = ps;
        return performance.now() - t0;
      }, calls);
      const c1 = await thread();
      out[i].cpu.push(((c1 - c0) * 1000) / calls);
      out[i].wall.push((wall * 1000) / calls);
      await context.close();
      // Let the collector take the burst before the next sample (it shares the 2 cores).
      await new Promise((res) => setTimeout(res, 1500));
    }
    console.error(`round ${r + 1}: ` + names.map((n, i) => `${n} cpu ${out[i].cpu.at(-1).toFixed(2)} wall ${out[i].wall.at(-1).toFixed(2)}`).join(' | '));
  }
  for (const [i, n] of names.entries()) console.log(`${n}: median CPU ${median(out[i].cpu).toFixed(2)} µs/call, wall ${median(out[i].wall).toFixed(2)} µs/call (${rounds} rounds)`);
} finally {
  await browser.close();
  web.close?.();
  collector.stop?.();
}
process.exit(0);
