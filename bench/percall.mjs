// Cost per track() call: on a freshly loaded page (new browser context = fresh storage and
// renderer), time `calls` synchronous track() calls, then until all returned promises settle;
// with `warm`, the same again on the now-warm instance. Rounds are interleaved with the case
// order rotated every round. Real network, no stubs: events go to the collector; after each
// measurement the bench counts what the collector stored within a short grace period (a
// sanity check that delivery happens, not a loss count: batches still on their timer or in a
// slow dispatcher arrive later).

import { median } from './stats.mjs';

const PROPS_NOTE = "track('Bench Event', {i, plan: 'pro', revenue: 12.5, tags: ['a', 'b'], nested: {k: 'v'}})";
export { PROPS_NOTE };

async function measure(browser, url, calls, warm, segments) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => m.type() === 'error' && errors.push('console.error: ' + m.text()));
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    const segReport = await page.evaluate(async (segments) => {
      const b = window.__bench;
      await Promise.race([
        b.ready,
        new Promise((_, reject) => setTimeout(() => reject(new Error('not initialized after 15 s')), 15_000)),
      ]);
      let report = null;
      if (segments) {
        // Time only with the engine loaded (it loads lazily once definitions exist; list() is
        // empty until then).
        const s = window.analytics.segments;
        const t = performance.now();
        while (s.list().length === 0) {
          if (performance.now() - t > 15_000) throw new Error('segment engine not loaded after 15 s');
          await new Promise((r) => setTimeout(r, 10));
        }
        const r = s._rt && s._rt.lastReport;
        report = r
          ? { accepted: r.accepted.length, errors: r.errors.map((e) => (e.key || '') + ': ' + e.message) }
          : null;
      }
      // Let the load tail (replay of the snippet's page() call, settings, storage) finish.
      await new Promise((r) => setTimeout(r, 200));
      // The timed loop. The settle time is taken in the page when the last promise settles.
      window.__run = (calls) => {
        const a = window.analytics;
        const ps = new Array(calls);
        performance.mark('sieve-bench-loop'); // finds the loop's task in the trace
        const t0 = performance.now();
        for (let i = 0; i < calls; i++)
          ps[i] = a.track('Bench Event', { i, plan: 'pro', revenue: 12.5, tags: ['a', 'b'], nested: { k: 'v' } });
        const t1 = performance.now();
        window.__settled = Promise.allSettled(ps).then((settled) => ({
          syncMs: t1 - t0,
          settleMs: performance.now() - t0,
          rejected: settled.filter((x) => x.status === 'rejected').length,
        }));
      };
      return report;
    }, segments);
    // Main-thread CPU time (CDP Performance "ThreadTime", thread ticks) next to wall time: on
    // a busy machine wall time also counts the time the renderer was not scheduled.
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable', { timeDomain: 'threadTicks' });
    const threadMs = async () =>
      (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'ThreadTime').value * 1000;
    // What one (no-op) evaluate + one getMetrics costs the main thread; subtracted below.
    const cal = [];
    for (let i = 0; i < 5; i++) {
      const c = await threadMs();
      await page.evaluate(() => 0);
      cal.push((await threadMs()) - c);
    }
    const overheadMs = median(cal);
    // The synchronous part's CPU is the thread time of the task that ran the loop, from a
    // trace ("toplevel" tasks carry their thread duration). ThreadTime read over CDP right
    // after the loop also counts any task the SDK queued for right after it (Sieve's I/O task,
    // analytics-next's timers) whenever that runs before the CDP request arrives, as it often
    // does: traced, Sieve's I/O task ran for 27 ms after a 2000-call loop, before the read.
    // That figure is kept as `cpuAfterMs`.
    async function run() {
      const events = [];
      const onData = (e) => events.push(...e.value);
      cdp.on('Tracing.dataCollected', onData);
      const traced = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
      await cdp.send('Tracing.start', { categories: 'toplevel,blink.user_timing', transferMode: 'ReportEvents' });
      const c0 = await threadMs();
      await page.evaluate((calls) => window.__run(calls), calls);
      const c1 = await threadMs();
      const wall = await page.evaluate(() => window.__settled);
      const c2 = await threadMs();
      await cdp.send('Tracing.end');
      await traced;
      cdp.off('Tracing.dataCollected', onData);
      const cpuAfterMs = c1 - c0 - overheadMs;
      return {
        ...wall,
        cpuSyncMs: loopTaskCpuMs(events) ?? cpuAfterMs,
        cpuAfterMs,
        cpuSettleMs: c2 - c0 - 2 * overheadMs,
      };
    }
    const cold = await run();
    let warmRun = null;
    if (warm) {
      await page.waitForTimeout(50);
      warmRun = await run();
    }
    // Issue 6, untimed loop aside: a call that qualifies for a segment, and when its enter hook
    // runs: same task (before a setTimeout(0) queued just before the call) and before the
    // call's promise settles.
    const enter = segments
      ? await page.evaluate(
          ({ key, event }) => {
            const a = window.analytics;
            return new Promise((resolve) => {
              const r = { hookMs: null, sameTask: false, beforePromise: false };
              let inTask = true;
              let hooked = false;
              a.segments.on('enter', key, () => {
                if (hooked) return;
                hooked = true;
                r.hookMs = performance.now() - t0;
                r.sameTask = inTask;
              });
              setTimeout(() => (inTask = false), 0);
              const t0 = performance.now();
              const p = a.track(event, { probe: true });
              p.then(() => (r.beforePromise = hooked));
              setTimeout(() => resolve(r), 500);
            });
          },
          { key: segments.enterKey, event: segments.enterEvent },
        )
      : null;
    return { cold, warm: warmRun, overheadMs, segReport, enter, page, errors };
  } catch (err) {
    await context.close();
    throw err;
  }
}

/** Thread time (ms) of the outermost task around the `sieve-bench-loop` mark; null if not traced. */
function loopTaskCpuMs(events) {
  const mark = events.find((e) => e.name === 'sieve-bench-loop');
  if (!mark) return null;
  let best = null;
  for (const e of events) {
    if (e.ph !== 'X' || e.name !== 'ThreadControllerImpl::RunTask' || e.pid !== mark.pid || e.tid !== mark.tid)
      continue;
    if (e.ts <= mark.ts && mark.ts <= e.ts + e.dur && typeof e.tdur === 'number' && (!best || e.dur > best.dur))
      best = e;
  }
  return best ? best.tdur / 1000 : null;
}

async function countStored(collector, writeKey) {
  const res = await fetch(collector.url + '/events?limit=10000&writeKey=' + encodeURIComponent(writeKey));
  return (await res.json()).events.length;
}

/**
 * `cases`: [{ id, prepare(writeKey) -> url, segments? }] (`segments`: { enterKey, enterEvent }
 * for a case with segment definitions in its settings). Returns { [id]: [round, ...] } where a round is
 * { cold: {syncUs, settleUs, cpuSyncUs, cpuAfterUs, cpuSettleUs, syncMs, settleMs, cpuSyncMs, cpuAfterMs, cpuSettleMs, rejected},
 *   warm: {...} | null, cdpOverheadMs, delivered, expected, errors }.
 */
export async function runPerCall({
  browser,
  collector,
  cases,
  rounds,
  calls,
  warm = false,
  graceMs = 1000,
  deadline = Infinity,
  minRounds = 3,
  log,
}) {
  const out = Object.fromEntries(cases.map((c) => [c.id, []]));
  for (let r = 0; r < rounds; r++) {
    const roundStart = Date.now();
    const order = cases.map((_, i) => cases[(i + r) % cases.length]);
    for (const c of order) {
      const writeKey = `bench-${c.id}-${process.pid}-r${r}`;
      const url = await c.prepare(writeKey);
      const m = await measure(browser, url, calls, warm, c.segments);
      // Delivery sanity check (untimed): the snippet's page() + the tracks.
      const expected = 1 + (warm ? 2 : 1) * calls + (c.segments ? 1 : 0);
      const t0 = Date.now();
      let delivered = 0;
      while (Date.now() - t0 < graceMs) {
        delivered = await countStored(collector, writeKey);
        if (delivered >= expected) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      await m.page.context().close();
      const us = (ms) => (ms * 1000) / calls;
      const per = (x) =>
        x && {
          ...x,
          syncUs: us(x.syncMs),
          settleUs: us(x.settleMs),
          cpuSyncUs: us(x.cpuSyncMs),
          cpuAfterUs: us(x.cpuAfterMs),
          cpuSettleUs: us(x.cpuSettleMs),
        };
      const round = {
        cold: per(m.cold),
        warm: per(m.warm),
        cdpOverheadMs: m.overheadMs,
        segments: m.segReport,
        enter: m.enter,
        delivered,
        expected,
        errors: m.errors,
      };
      out[c.id].push(round);
      log(
        `per-call round ${r + 1}/${rounds} ${c.id}: sync ${round.cold.syncUs.toFixed(2)} µs/call (CPU ${round.cold.cpuSyncUs.toFixed(2)}, with the next tasks ${round.cold.cpuAfterUs.toFixed(2)}),` +
          ` settled ${round.cold.settleUs.toFixed(2)} µs/call (CPU ${round.cold.cpuSettleUs.toFixed(2)})` +
          (round.warm ? `; warm sync ${round.warm.syncUs.toFixed(2)}, settled ${round.warm.settleUs.toFixed(2)}` : '') +
          (round.enter
            ? `; enter hook after ${round.enter.hookMs?.toFixed(2)} ms, same task ${round.enter.sameTask}`
            : '') +
          `; collector has ${delivered}/${expected} after ${graceMs} ms`,
      );
    }
    // Time guard: stop early (never before `minRounds`) when another round would end past the
    // deadline; the report states how many rounds ran.
    if (r + 1 >= minRounds && r + 1 < rounds && Date.now() + (Date.now() - roundStart) > deadline) {
      log(`per-call: stopping after ${r + 1} of ${rounds} rounds (time budget)`);
      break;
    }
  }
  return out;
}

/**
 * Untimed: storage accesses per track() call (issues 3 and 4: track() must not read or write
 * cookies or localStorage per call). On a freshly loaded page (after a long timed loop,
 * analytics-next's backlog makes 100 more calls take tens of seconds), `n` calls run with
 * Storage.prototype.getItem/setItem/removeItem and document.cookie instrumented, counted until
 * their promises settle plus 50 ms (deferred writes). Returns counts per call.
 */
export async function storageOpsPerCall(browser, url, n = 100) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    return await page.evaluate(async (n) => {
      await Promise.race([
        window.__bench.ready,
        new Promise((_, reject) => setTimeout(() => reject(new Error('not initialized after 15 s')), 15_000)),
      ]);
      await new Promise((r) => setTimeout(r, 200));
      const a = window.analytics;
      const c = { localStorageGet: 0, localStorageSet: 0, localStorageRemove: 0, cookieRead: 0, cookieWrite: 0 };
      const P = Storage.prototype;
      const orig = { getItem: P.getItem, setItem: P.setItem, removeItem: P.removeItem };
      const wrap = (name, key) =>
        function (...args) {
          c[key]++;
          return orig[name].apply(this, args);
        };
      P.getItem = wrap('getItem', 'localStorageGet');
      P.setItem = wrap('setItem', 'localStorageSet');
      P.removeItem = wrap('removeItem', 'localStorageRemove');
      const cookie = Object.getOwnPropertyDescriptor(Document.prototype, 'cookie');
      Object.defineProperty(document, 'cookie', {
        configurable: true,
        get() {
          c.cookieRead++;
          return cookie.get.call(this);
        },
        set(v) {
          c.cookieWrite++;
          cookie.set.call(this, v);
        },
      });
      try {
        const ps = [];
        for (let i = 0; i < n; i++) ps.push(a.track('Bench Storage', { i }));
        await Promise.allSettled(ps);
        await new Promise((r) => setTimeout(r, 50));
      } finally {
        Object.assign(P, orig);
        delete document.cookie;
      }
      return Object.fromEntries(Object.entries(c).map(([k, v]) => [k, v / n]));
    }, n);
  } finally {
    await context.close();
  }
}
