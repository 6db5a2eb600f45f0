// Developer tool (not part of `npm run bench`): A/B of builds on the bench page. Each variant
// is a directory holding analytics.min.js + sieve_bg.wasm; the bench's own per-call rounds
// (bench/percall.mjs: fresh page per sample, interleaved, rotated order) run on each, and the
// medians of main-thread CPU (the loop's task) and wall per track() call are printed. With
// SIEVE_AB_STARTUP=N, N start-up samples per variant follow (bench/startup.mjs: a fresh
// browser each, interleaved): median script start → initialized and first track().
//
//   node bench/ab.mjs [calls=2000] [rounds=9] dirA dirB ...
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { startCollector, startStatic, launch } from '../tests/e2e/harness.mjs';
import { benchPage, registerSettings } from './pages.mjs';
import { runPerCall } from './percall.mjs';
import { runStartup } from './startup.mjs';
import { median } from './stats.mjs';

const [calls, rounds, ...dirs] = [
  Number(process.argv[2] || 2000),
  Number(process.argv[3] || 9),
  ...process.argv.slice(4),
];
const collector = await startCollector();
const web = await startStatic();
const browser = await launch();
web.page('/favicon.ico', '', { 'Content-Type': 'image/x-icon' });
const cases = dirs.map((d, i) => {
  web.page(`/var${i}/analytics.min.js`, readFileSync(d + '/analytics.min.js'), { 'Content-Type': 'text/javascript' });
  web.page(`/var${i}/sieve_bg.wasm`, readFileSync(d + '/sieve_bg.wasm'), { 'Content-Type': 'application/wasm' });
  return {
    id: 'v' + i + '-' + basename(d), // part of the write key: no ':' (Basic auth)
    scriptUrl: `${web.url}/var${i}/analytics.min.js`,
    async prepare(writeKey) {
      await registerSettings(web, collector, writeKey);
      return web.page(
        `/ab/${writeKey}.html`,
        benchPage({ writeKey, scriptUrl: `${web.url}/var${i}/analytics.min.js`, cdn: web.url }),
      );
    },
  };
});
try {
  const out = await runPerCall({
    browser,
    collector,
    cases,
    rounds,
    calls,
    minRounds: rounds,
    log: (m) => console.error(m),
  });
  for (const c of cases) {
    const med = (k) => median(out[c.id].map((r) => r.cold[k])).toFixed(2);
    console.log(
      `${c.id}: median CPU ${med('cpuSyncUs')} µs/call, wall ${med('syncUs')} µs/call (${out[c.id].length} rounds)`,
    );
  }
  const launches = Number(process.env.SIEVE_AB_STARTUP || 0);
  if (launches > 0) {
    const startupCases = [];
    for (const c of cases) startupCases.push({ ...c, url: await c.prepare(c.id + '-startup') });
    const st = await runStartup(startupCases, launches, (m) => console.error(m));
    for (const c of cases) {
      const med = (k) => median(st[c.id].map((s) => s[k])).toFixed(2);
      console.log(
        `${c.id}: start-up median ${med('startToReadyMs')} ms script start → initialized (of which after the last download ${med('lastFetchToReadyMs')} ms), first track() ${med('firstTrackMs')} ms (${launches} launches)`,
      );
    }
  }
} finally {
  await browser.close();
  await web.stop();
  await collector.stop();
}
