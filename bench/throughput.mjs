// Throughput (issue 19): the sustained rate each SDK delivers without loss when the API takes
// 50 ms or 300 ms per request, and the time to drain a backlog of 3,000 events, Sieve vs
// analytics-next in batching mode (size 10, timeout 5 s, pages.mjs LOAD_OPTIONS), in headless
// Chromium against the real collector (its `delayMs` fault is the API's latency).
//
// Run by bench/run.mjs after its own phases (its own collector, static server and browser),
// or alone: `node bench/throughput.mjs`. Methods: bench/README.md "Throughput".
import { startCollector, startStatic, launch } from '../tests/e2e/harness.mjs';
import { trackInPage, droppedInPage } from '../tests/e2e/traffic.mjs';
import { SDKS, benchPage, registerChunks, registerSettings, registerSnapshot } from './pages.mjs';

export const LATENCIES_MS = [50, 300];
/** The rate ladder (events/s): each rung for WINDOW_S seconds, stopping at the first miss. */
export const RATES = [100, 200, 400, 800, 1_600, 3_200, 6_400];
export const WINDOW_S = 5;
/** A rung passes when every event is stored within this of the last call (batch timeout 5 s + 2 s). */
export const GRACE_MS = 7_000;
export const BACKLOG = 3_000;
const DRAIN_LIMIT_MS = 90_000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A running count of `track` events named `prefix…` the collector stored for `writeKey`. */
function storedCounter(collector, writeKey, prefix) {
  let after = 0;
  let count = 0;
  return async () => {
    for (;;) {
      const url = `${collector.url}/events?writeKey=${encodeURIComponent(writeKey)}&after=${after}&limit=10000`;
      const { events } = await (await fetch(url)).json();
      for (const e of events) {
        after = Math.max(after, e.seq);
        if (e.event.type === 'track' && String(e.event.event).startsWith(prefix)) count++;
      }
      if (events.length < 10_000) return count;
    }
  };
}

/**
 * One trial: a fresh page of `sdk` makes `n` calls (`perTask` per task, a task every `gapMs`)
 * against an API answering after `latency` ms; waits until all are stored or `limitMs` after
 * the last call. Returns stored, dropped (Sieve's `queue_full` notices), requests, and the time
 * from the last call until the last event was stored (null when not all arrived).
 */
async function trial(rig, sdk, latency, { n, perTask, gapMs, limitMs }) {
  const { collector, web, browser } = rig;
  const writeKey = `tp-${sdk.id}-${latency}-${n}-${perTask}-${gapMs}-${rig.seq++}`;
  await collector.clearFaults();
  await collector.fault({ count: 1_000_000, delayMs: latency });
  await registerSettings(web, collector, writeKey);
  const url = web.page(
    `/tp/${writeKey}.html`,
    benchPage({ writeKey, scriptUrl: web.url + sdk.scriptPath, cdn: web.url }),
  );
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(url);
    await page.evaluate(() => window.__bench.ready);
    const requestsBefore = (await collector.stats()).requests;
    const prefix = 'Throughput ';
    const stored = storedCounter(collector, writeKey, prefix);
    const { lastCallAt } = await trackInPage(page, { n, prefix, perTask, gapMs });
    let got = 0;
    let dropped = 0;
    let drainMs = null;
    // Settled: every call stored, or stored or dropped (Sieve's bound; the page() event of the
    // bench page may be among the dropped, so `stored` can be one short of n - dropped).
    while (Date.now() - lastCallAt < limitMs) {
      [got, dropped] = [await stored(), await droppedInPage(page)];
      if (got + dropped >= n) {
        drainMs = Date.now() - lastCallAt;
        break;
      }
      await sleep(100);
    }
    return {
      n,
      stored: got,
      dropped,
      requests: (await collector.stats()).requests - requestsBefore,
      drainMs,
    };
  } finally {
    await context.close();
    await collector.clearFaults();
  }
}

/** One rung: `rate` events/s for WINDOW_S seconds; passes when all are stored within GRACE_MS. */
async function rung(rig, sdk, latency, rate, log) {
  const r = await trial(rig, sdk, latency, { n: rate * WINDOW_S, perTask: rate / 100, gapMs: 10, limitMs: GRACE_MS });
  const pass = r.drainMs !== null && r.stored === r.n;
  log(
    `throughput ${sdk.id} ${latency} ms ${rate}/s: stored ${r.stored}/${r.n}, dropped ${r.dropped}, ${r.requests} requests, ` +
      (pass ? `drained ${r.drainMs} ms after the last call` : 'MISS'),
  );
  return { rate, ...r, pass };
}

/**
 * Climbs the rate ladder for `sdk` at `latency` until a rung misses, then halves the gap to
 * the last rung that passed twice (rates in steps of 100/s); returns every rung run.
 */
async function ladder(rig, sdk, latency, log) {
  const rungs = [];
  for (const rate of RATES) {
    rungs.push(await rung(rig, sdk, latency, rate, log));
    if (!rungs[rungs.length - 1].pass) break;
  }
  let lo = Math.max(0, ...rungs.filter((r) => r.pass).map((r) => r.rate));
  let hi = Math.min(Infinity, ...rungs.filter((r) => !r.pass).map((r) => r.rate));
  for (let step = 0; step < 2 && lo > 0 && hi < Infinity; step++) {
    const mid = Math.round((lo + hi) / 200) * 100;
    if (mid <= lo || mid >= hi) break;
    const r = await rung(rig, sdk, latency, mid, log);
    rungs.push(r);
    if (r.pass) lo = mid;
    else hi = mid;
  }
  return rungs;
}

/** Runs every measurement; `log` gets progress lines. */
export async function runThroughput({ log = () => {} } = {}) {
  const collector = await startCollector();
  const web = await startStatic();
  const browser = await launch();
  const rig = { collector, web, browser, seq: 0 };
  const out = {
    latenciesMs: LATENCIES_MS,
    rates: RATES,
    windowS: WINDOW_S,
    graceMs: GRACE_MS,
    backlog: BACKLOG,
    sdks: {},
  };
  try {
    registerSnapshot(web);
    registerChunks(web);
    for (const sdk of SDKS) {
      const res = (out.sdks[sdk.id] = { label: sdk.label, sustained: {}, drain: {} });
      for (const latency of LATENCIES_MS) {
        const rungs = await ladder(rig, sdk, latency, log);
        const missed = rungs.filter((r) => !r.pass).sort((a, b) => a.rate - b.rate);
        res.sustained[latency] = {
          rate: Math.max(0, ...rungs.filter((r) => r.pass).map((r) => r.rate)),
          missedAt: missed[0] || null,
          rungs,
        };
        const d = await trial(rig, sdk, latency, { n: BACKLOG, perTask: BACKLOG, gapMs: 0, limitMs: DRAIN_LIMIT_MS });
        res.drain[latency] = d;
        log(
          `drain ${sdk.id} ${latency} ms: ${BACKLOG} in one task: stored ${d.stored}, dropped ${d.dropped}, ` +
            `${d.requests} requests, ${d.drainMs === null ? 'not drained' : d.drainMs + ' ms'}`,
        );
      }
    }
  } finally {
    await browser.close();
    await web.stop();
    await collector.stop();
  }
  return out;
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');

/** The table of `runThroughput`'s results, one column per SDK. */
export function throughputTable(t) {
  const ids = Object.keys(t.sdks);
  const sustainedCell = (s) => {
    const top = RATES[RATES.length - 1];
    if (!s.missedAt) return `≥ ${fmt(top)}/s`;
    const m = s.missedAt;
    const why = m.dropped ? `${fmt(m.dropped)} dropped` : `${fmt(m.n - m.stored)} late`;
    return `${s.rate ? fmt(s.rate) : '< ' + fmt(RATES[0])}/s (${fmt(m.rate)}/s: ${why})`;
  };
  const drainCell = (d) =>
    d.drainMs === null
      ? `> ${DRAIN_LIMIT_MS / 1000} s (${fmt(d.stored)} stored)`
      : `${(d.drainMs / 1000).toFixed(1)} s, ${d.requests} req` + (d.dropped ? `, ${fmt(d.dropped)} dropped` : '');
  const rows = [['', ...ids.map((id) => t.sdks[id].label)]];
  for (const latency of t.latenciesMs) {
    rows.push([
      `  sustained rate without loss, API ${latency} ms`,
      ...ids.map((id) => sustainedCell(t.sdks[id].sustained[latency])),
    ]);
  }
  for (const latency of t.latenciesMs) {
    rows.push([
      `  drain ${fmt(t.backlog)} events queued in one task, API ${latency} ms`,
      ...ids.map((id) => drainCell(t.sdks[id].drain[latency])),
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  const line = (r) =>
    r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('   ');
  return [
    `Throughput (issue 19): batching size 10, timeout 5 s; rates ${t.rates.map(fmt).join(', ')}/s for ${t.windowS} s each until one misses, then 2 halvings,`,
    `a rate passes when every event is stored within ${t.graceMs / 1000} s of the last call and none is dropped`,
    '-'.repeat(widths.reduce((a, b) => a + b + 3, -3)),
    ...rows.map(line),
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const t = await runThroughput({ log: (m) => process.stderr.write('[bench] ' + m + '\n') });
  process.stdout.write(throughputTable(t) + '\n');
}
