// A React app personalized with `sieve-analytics/react`, rendered on the server
// (server.jsx, react-dom/server) and hydrated in the browser (client.jsx).
import { AnalyticsBrowser } from 'sieve-analytics';
import { SieveProvider, useAnalytics, useSegment } from 'sieve-analytics/react';
import { loadOptions } from '../shared.js';

const collector = typeof location === 'undefined' ? undefined : new URLSearchParams(location.search).get('collector');

// Made at import, as apps do: on the server (Node) this prints one "browser only" line.
export const analytics = AnalyticsBrowser.load(
  { writeKey: 'consumer-react', cdnURL: collector },
  loadOptions('upgraded', 'Upgrade Clicked'),
);

function Offer() {
  const upgraded = useSegment('upgraded');
  const text = upgraded === null ? 'unknown' : upgraded ? 'member' : 'not a member';
  return (
    <p id="upgraded" data-state={String(upgraded)}>
      upgraded: {text}
    </p>
  );
}

function UpgradeButton() {
  const analytics = useAnalytics();
  return (
    <button type="button" onClick={() => analytics.track('Upgrade Clicked', { plan: 'pro' })}>
      Upgrade
    </button>
  );
}

export function App() {
  return (
    <SieveProvider analytics={analytics}>
      <Offer />
      <UpgradeButton />
    </SieveProvider>
  );
}
