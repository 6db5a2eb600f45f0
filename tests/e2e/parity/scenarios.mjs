// The scenario table. Each: name, optional page setup (path, search, hash, title, referrer,
// canonical, cookies, localStorage presets, loadOptions), `pre` (calls on the snippet stub
// before load, plain JS) and `calls` (async JS body run after load with `analytics`,
// `rec(label, () => call)` and `cb(label)` in scope). `todo` marks a known Sieve difference.
export const SCENARIOS = [
  {
    name: 'track: name + properties',
    calls: `await rec('t', () => analytics.track('Clicked', { a: 1, nested: { b: [1, 'x', null] } }));`,
  },
  {
    name: 'page: no arguments',
    calls: `await rec('p', () => analytics.page());`,
  },
  {
    name: 'identify: id + traits, then track',
    calls: `await rec('i', () => analytics.identify('u1', { plan: 'pro' }));
            await rec('t', () => analytics.track('After'));`,
  },
];
