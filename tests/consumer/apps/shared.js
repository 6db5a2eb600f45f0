// The app the Vite, webpack and esbuild fixtures build (each has its own main.js): it imports
// `sieve-analytics` as an app would (the packed tarball, installed in tests/consumer/), sends
// one event through a plugin to the collector named in the page URL (`?collector=`), and
// evaluates a segment, so the entry, the lazy parts (plugins, segments) and both wasm files
// have to be where the bundle looks for them. The React app uses its load options too.
import { AnalyticsBrowser } from 'sieve-analytics';

/** Load options: fast batches, and one segment: `key`, entered on the first `eventName`. */
export const loadOptions = (key, eventName) => ({
  integrations: { 'Segment.io': { deliveryStrategy: { strategy: 'batching', config: { size: 10, timeout: 100 } } } },
  segments: {
    definitions: [
      {
        key,
        condition: {
          event: { name: eventName },
          measure: 'count',
          window: { type: 'lifetime' },
          coverage: 'observed',
          test: { $gte: 1 },
        },
      },
    ],
  },
});

export function start(bundler, settings = {}) {
  const collector = new URLSearchParams(location.search).get('collector');
  const analytics = AnalyticsBrowser.load(
    { writeKey: 'consumer-' + bundler, cdnURL: collector, ...settings },
    loadOptions('app_loaded', 'App Loaded'),
  );
  // A plugin (the lazy plugins part) stamps the event; it applies to calls made once
  // register() has resolved.
  const registered = analytics.register({
    name: 'Bundler Stamp',
    type: 'enrichment',
    version: '1.0.0',
    isLoaded: () => true,
    load: () => Promise.resolve(),
    track: (ctx) => {
      ctx.updateEvent('properties.bundler', bundler);
      return ctx;
    },
  });
  registered.then(() => analytics.track('App Loaded', { app: 'consumer' }));
  window.formBound = analytics.trackForm(document.getElementById('signup'), 'Signed Up', { form: 'signup' });
  window.app = analytics;
  return analytics;
}
