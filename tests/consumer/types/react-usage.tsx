// sieve-analytics/react in a typed React app.
import { AnalyticsBrowser } from 'sieve-analytics';
import { SieveProvider, useAnalytics, useSegment } from 'sieve-analytics/react';

const analytics = AnalyticsBrowser.load({ writeKey: 'WRITE_KEY' });

function Banner() {
  const member: boolean | null = useSegment('power_user');
  const a = useAnalytics();
  if (member !== true) return null;
  return <button onClick={() => a.track('Banner Clicked', { at: new Date() })}>Upgrade</button>;
}

export function App() {
  return (
    <SieveProvider analytics={analytics}>
      <Banner />
    </SieveProvider>
  );
}
