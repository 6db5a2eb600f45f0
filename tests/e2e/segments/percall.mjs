// Per-call cost of track() with 50 active segments vs none (engine not loaded), in-page.
// Usage: node tests/e2e/segments/percall.mjs   (after scripts/build.sh)
import { startCollector, startStatic, launch, newPage, snippetPage, waitFor } from '../harness.mjs';

const names = [
  'Core Feature Used',
  'Logged In',
  'Module Used',
  'Report Created',
  'Checkout Started',
  'Shipping Entered',
  'Payment Entered',
  'Order Completed',
];
export function fiftySegments() {
  const defs = [];
  for (let i = 0; i < 50; i++) {
    const name = names[i % names.length];
    const kind = i % 5;
    let condition;
    if (kind === 0)
      condition = {
        event: { name },
        measure: 'count',
        window: { type: 'rolling', duration: 'P' + (7 + i) + 'D' },
        test: { $gte: 3 + (i % 4) },
      };
    else if (kind === 1)
      condition = {
        event: { name, where: { plan: 'pro' } },
        measure: 'count',
        window: { type: 'rolling', duration: 'PT' + (12 + i) + 'H' },
        test: { $gte: 2 },
      };
    else if (kind === 2)
      condition = {
        and: [
          { event: { name }, measure: 'exists', window: { type: 'lifetime' }, test: { $eq: true } },
          { event: { name }, measure: 'since_last', window: { type: 'lifetime' }, test: { $gte: 'P14D' } },
        ],
      };
    else if (kind === 3)
      condition = { traits: { plan: { $in: ['pro', 'enterprise'] }, 'company.employees': { $gte: 50 } }, on: 'user' };
    else
      condition = {
        funnel: {
          steps: [
            { name: 'Checkout Started' },
            { name: 'Shipping Entered' },
            { name: 'Payment Entered' },
            { name: 'Order Completed' },
          ],
          within: 'P1D',
          window: { type: 'rolling', duration: 'P30D' },
        },
        test: { maxStep: { $eq: 3 } },
        settle: true,
      };
    defs.push({ key: 'seg_' + i, version: 1, condition });
  }
  return defs;
}

async function measure(browser, web, collector, definitions) {
  const page = await newPage(browser);
  // Big, slow batches: the measurement is the call, not the network.
  const loadOptions = {
    cdnURL: collector.url,
    integrations: {
      'Segment.io': { deliveryStrategy: { strategy: 'batching', config: { size: 100, timeout: 60000 } } },
    },
  };
  if (definitions) loadOptions.segments = { definitions };
  await page.goto(
    web.page(
      '/percall-' + (definitions ? 'seg' : 'none') + '.html',
      snippetPage({
        snippetOptions: {
          writeKey: 'percall',
          scriptUrl: web.url + '/dist/analytics.min.js',
          loadOptions,
          page: false,
        },
      }),
    ),
  );
  await waitFor(() =>
    page.evaluate(
      () =>
        window.analytics &&
        window.analytics.initialized &&
        (!window.analytics.segments._loading || !!window.analytics.segments._rt),
    ),
  );
  if (definitions) await waitFor(() => page.evaluate(() => !!window.analytics.segments._rt));
  const res = await page.evaluate(async () => {
    const a = window.analytics;
    const rounds = [];
    for (let r = 0; r < 15; r++) {
      const n = 50;
      const t0 = performance.now();
      for (let i = 0; i < n; i++) a.track(i % 3 ? 'Core Feature Used' : 'Other', { plan: 'pro', i });
      rounds.push(((performance.now() - t0) * 1000) / n);
      await new Promise((r) => setTimeout(r, 50));
    }
    rounds.sort((x, y) => x - y);
    const out = { median_us: +rounds[7].toFixed(1), min_us: +rounds[0].toFixed(1) };
    const rt = a.segments._rt;
    if (rt) {
      // The segments share alone: the driver's feed() with one real event JSON.
      const json = (await a.track('Core Feature Used', { plan: 'pro' }))._json;
      const feed = [];
      for (let r = 0; r < 15; r++) {
        const t0 = performance.now();
        for (let i = 0; i < 200; i++) rt.w.feed(json);
        feed.push(((performance.now() - t0) * 1000) / 200);
      }
      feed.sort((x, y) => x - y);
      out.feed_median_us = +feed[7].toFixed(1);
      out.feed_min_us = +feed[0].toFixed(1);
    }
    return out;
  });
  await page.context().close();
  return res;
}

const collector = await startCollector();
const web = await startStatic();
const browser = await launch();
try {
  const none = await measure(browser, web, collector, null);
  const fifty = await measure(browser, web, collector, fiftySegments());
  console.log(JSON.stringify({ none, fifty, ratio: +(fifty.median_us / none.median_us).toFixed(2) }));
} finally {
  await browser.close();
  await web.stop();
  await collector.stop();
}
