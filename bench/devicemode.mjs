// Device-mode bench (issue 16): a page whose settings name two classic integrations and one
// Actions destination, loaded once with Sieve and once with analytics-next 1.84.3 on the same
// settings (the fake CDN of tests/e2e/devicemode/cdn.mjs); prints the SDK code each fetched
// (gzip bytes of every file of the SDK the page requested, the destinations' own scripts and
// the settings excluded). Run by `npm run bench` after bench/run.mjs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { ROOT, startCollector, launch, waitFor } from '../tests/e2e/harness.mjs';
import { startDocServer } from '../tests/e2e/parity/server.mjs';
import { startCdn } from '../tests/e2e/devicemode/cdn.mjs';
import { fileSizes } from './sizes.mjs';

const require = createRequire(import.meta.url);
const snippet = require('@segment/snippet');
const AJS = join(ROOT, 'node_modules/@segment/analytics-next/dist/umd');
const classic = {
  type: 'browser',
  bundlingStatus: 'bundled',
  versionSettings: { version: '1.0.0', componentTypes: ['browser'] },
};

const [collector, web, cdn] = await Promise.all([startCollector(), startDocServer(), startCdn()]);
const browser = await launch();
const rows = {};
try {
  for (const sdk of ['sieve', 'ajs']) {
    const writeKey = 'benchdm' + sdk;
    cdn.settings[writeKey] = {
      integrations: {
        'Segment.io': { apiKey: writeKey, apiHost: collector.host + '/v1', protocol: 'http' },
        'Classic One': classic,
        'Classic Two': classic,
      },
      remotePlugins: [
        {
          name: 'Fake Actions',
          creationName: 'Fake Actions',
          libraryName: 'fakeActionsDestination',
          url: 'https://cdn.segment.com/next-integrations/actions/fake/fake.js',
          settings: {
            apiKey: 'k',
            subscriptions: [{ partnerAction: 'trackEvent', enabled: true, subscribe: 'type = "track"', mapping: {} }],
          },
        },
      ],
    };
    const script =
      sdk === 'sieve' ? '/dist/analytics.min.js' : '/node_modules/@segment/analytics-next/dist/umd/standalone.js';
    const code = snippet
      .min({ apiKey: writeKey, host: 'cdn.example', ajsPath: '/x/analytics.min.js', load: false, page: false })
      .replace('"https://cdn.example/x/analytics.min.js"', JSON.stringify(web.url + script));
    const context = await browser.newContext();
    await context.addCookies([{ name: '__parity_side', value: writeKey, url: web.url, httpOnly: true }]);
    web.docs[writeKey] =
      `<!doctype html><html><head><script>${code}</script><script>analytics._cdn = ${JSON.stringify(cdn.url)};</script></head><body><script>analytics.load(${JSON.stringify(writeKey)}); analytics.track('Bench');</script></body></html>`;
    const page = await context.newPage();
    const fetched = [];
    page.on('request', (r) => fetched.push(new URL(r.url()).pathname));
    await page.goto(web.url + '/bench/dm');
    await waitFor(() => page.evaluate(() => (window.__dm || []).some((r) => r[1] === 'trackEvent')), {
      what: sdk + ' Actions destination got the event',
      timeout: 20_000,
    });
    await page.waitForTimeout(500);
    const files = [...new Set(fetched)]
      .map((p) =>
        p.startsWith('/dist/')
          ? join(ROOT, p)
          : p.startsWith('/analytics-next/bundles/')
            ? join(AJS, p.split('/').pop())
            : p.startsWith('/node_modules/')
              ? join(ROOT, p)
              : null,
      )
      .filter(Boolean);
    rows[sdk] = files.map((f) => [f.split('/').pop(), fileSizes(readFileSync(f)).gzip]);
    await context.close();
  }
} finally {
  await browser.close();
  await Promise.all([web.stop(), cdn.stop(), collector.stop()]);
}
console.log('\nDevice mode: SDK code fetched by a page with two classic and one Actions destination (gzip)');
for (const [sdk, label] of [
  ['sieve', 'Sieve'],
  ['ajs', 'analytics-next 1.84.3'],
]) {
  const total = rows[sdk].reduce((a, [, n]) => a + n, 0);
  console.log(
    `  ${label}: ${total.toLocaleString('en-US')} B (${rows[sdk].map(([f, n]) => f + ' ' + n.toLocaleString('en-US')).join(', ')})`,
  );
}
