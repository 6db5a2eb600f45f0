// Page traffic for the throughput tests and bench: `track` calls at a rate or in bursts, made
// inside the page, through `page.evaluate(fn, arg)` only (a Playwright page, the hidden-tab
// driver of delivery.test.mjs, another engine's driver), and the drops the page was told of.

/**
 * Makes `n` `analytics.track(prefix + i, {i})` calls in `page`: `perTask` calls per task, a
 * task every `gapMs` ms (a late timer catches up, so the average rate holds; 0: tasks back
 * to back). Counts the `queue_full` drops the page hears of (see `droppedInPage`). Resolves
 * after the last call with `{lastCallAt}` (epoch ms) and `{loopMs}` (the longest task).
 */
export async function trackInPage(page, { n, prefix, perTask = 1, gapMs = 0 }) {
  return page.evaluate(
    ({ n, prefix, perTask, gapMs }) =>
      new Promise((resolve) => {
        const drops = (window.__sieveDrops = window.__sieveDrops || { n: 0 });
        analytics.on('error', (e) => {
          if (e && e.code === 'queue_full') drops.n += e.count || 1;
        });
        const t0 = performance.now();
        let i = 0;
        let loopMs = 0;
        const task = () => {
          const start = performance.now();
          const due = gapMs ? (Math.floor((start - t0) / gapMs) + 1) * perTask : i + perTask;
          for (const end = Math.min(n, due); i < end; i++) analytics.track(prefix + i, { i });
          loopMs = Math.max(loopMs, performance.now() - start);
          if (i < n) setTimeout(task, gapMs);
          else resolve({ lastCallAt: Date.now(), loopMs });
        };
        task();
      }),
    { n, prefix, perTask, gapMs },
  );
}

/** The `queue_full` drops `page` heard of since `trackInPage` started counting. */
export const droppedInPage = (page) => page.evaluate(() => (window.__sieveDrops ? window.__sieveDrops.n : 0));
